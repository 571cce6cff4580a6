"""Per-sample gradients: statistics over the samples of d loss_i / d w for every weight.

Three implementations with the same result (``options["per_sample_impl"]``): ``vmap`` of
``torch.func.grad`` over samples (exact), forward/backward hooks that form each sample's
weight gradient from the layer's input and output gradient (``hooks``: cheaper on
convolutional networks), and, with ``options["per_sample"]``, loops or chunks of samples.
Train-mode BatchNorm is fixed to the whole batch's statistics so that one sample's forward
equals its forward inside the batch
(:func:`~libranas.proxies._layers.batch_norm_fixed_to_batch_statistics`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import torch
from torch import nn

from libranas.proxies._fused import FUSED_ITEMS
from libranas.proxies._layers import (
    batch_norm_fixed_to_batch_statistics,
    preserved_buffers,
    weight_layers,
)

#: accepted values of ``options["per_sample"]``
PER_SAMPLE_MODES = ("exact", "loop", "chunks")


@dataclass(frozen=True)
class LayerGradStats:
    """Statistics over samples of d loss_i / d w, for every weight w of one layer.

    All tensors are float64 and shaped like the layer's weight; variances use
    ``ddof=1`` (unbiased, as ZiCo's ``torch.std``).

    Attributes
    ----------
    name : str
        Module name of the weight layer.
    count : int
        Number of gradient samples (batch size, or number of parts in ``"chunks"`` mode).
    mean, mean_abs : torch.Tensor
        Mean of g and of |g| over samples.
    var, var_abs : torch.Tensor
        Variance of g and of |g| over samples.
    """

    name: str
    count: int
    mean: torch.Tensor
    mean_abs: torch.Tensor
    var: torch.Tensor
    var_abs: torch.Tensor


class _RunningMoments:
    """Running mean and sum of squared deviations of g and |g| (Chan et al. merge)."""

    def __init__(self, shape: torch.Size, device: torch.device) -> None:
        self.n = 0
        self.shape, self.device = shape, device  # accumulators allocated on first update

    def update(self, g: torch.Tensor) -> None:
        """Merge a chunk ``g`` of shape ``(m, *weight.shape)``."""
        if self.n == 0:
            zeros = partial(torch.zeros, self.shape, dtype=torch.float64, device=self.device)
            self.mean, self.m2, self.mean_abs, self.m2_abs = zeros(), zeros(), zeros(), zeros()
        g = g.detach().to(torch.float64)
        m = int(g.shape[0])
        total = self.n + m
        for x, mean, m2 in ((g, self.mean, self.m2), (g.abs(), self.mean_abs, self.m2_abs)):
            chunk_mean = x.mean(0)
            chunk_m2 = (x - chunk_mean).square_().sum(0)
            delta = chunk_mean - mean
            mean.add_(delta * (m / total))
            m2.add_(chunk_m2 + delta.square_() * (self.n * m / total))
        self.n = total

    def finish(self, name: str) -> LayerGradStats:
        return LayerGradStats(
            name,
            self.n,
            self.mean,
            self.mean_abs,
            self.m2 / (self.n - 1),
            self.m2_abs / (self.n - 1),
        )


def _per_sample_grad_stats(npass: Any) -> list[LayerGradStats]:
    mode = npass.options.get("per_sample", "exact")
    if mode not in PER_SAMPLE_MODES:
        raise ValueError(f"options['per_sample'] must be one of {PER_SAMPLE_MODES}, got {mode!r}")
    model, x, y = npass.model, npass.inputs, npass.targets
    layers = weight_layers(model)
    if not layers:
        raise ValueError("the model has no weight layer (Conv2d or Linear)")
    weights = [m.weight for _, m in layers]
    acc = [_RunningMoments(w.shape, w.device) for w in weights]
    n = npass.batch_size
    with npass.seeded(), preserved_buffers(model):
        if mode == "chunks":
            k = int(npass.options.get("per_sample_splits", 2))
            if not 2 <= k <= n:
                raise ValueError(f"per_sample_splits must be in [2, batch size {n}], got {k}")
            for xs, ys in zip(torch.tensor_split(x, k), torch.tensor_split(y, k), strict=True):
                grads = torch.autograd.grad(
                    npass.loss_fn(model(xs), ys), weights, allow_unused=True
                )
                for a, w, g in zip(acc, weights, grads, strict=True):
                    a.update((torch.zeros_like(w) if g is None else g).unsqueeze(0))
        else:
            if n < 2:
                raise ValueError(f"per-sample statistics need at least 2 samples, got {n}")
            if "per_sample_grads" in npass.plan and npass.plan & FUSED_ITEMS:
                # run the planned fused forward first: it records the batch statistics
                try:
                    npass.fused(min(npass.plan & FUSED_ITEMS))
                except Exception:  # noqa: BLE001 - raised again to the proxies that need it
                    pass
            with batch_norm_fixed_to_batch_statistics(model, x, npass.cache.get("bn_batch_stats")):
                if mode == "exact":
                    chunk = int(npass.options.get("per_sample_chunk", 32))
                    if chunk < 1:
                        raise ValueError(f"per_sample_chunk must be >= 1, got {chunk}")
                    impl = npass.options.get("per_sample_impl", "auto")
                    if impl not in PER_SAMPLE_IMPLS:
                        raise ValueError(
                            f"options['per_sample_impl'] must be one of {PER_SAMPLE_IMPLS}, "
                            f"got {impl!r}"
                        )
                    if impl != "vmap":
                        reason = _hooks_ineligible(model, layers)
                        if reason is not None and impl == "hooks":
                            raise ValueError(f"per_sample_impl='hooks' is not possible: {reason}")
                        if reason is None and impl == "auto" and not _hooks_pays_off(layers):
                            reason = "convolutions with overlapping receptive fields"
                        if reason is None:
                            stats = _hooks_per_sample(npass, layers, check=impl == "auto")
                            if stats is not None:
                                npass.cache["per_sample_impl"] = "hooks"
                                return stats
                            npass.cache["per_sample_impl"] = "vmap (hooks check failed)"
                    npass.cache.setdefault("per_sample_impl", "vmap")
                    _exact_per_sample(npass, layers, acc, chunk)
                else:
                    for i in range(n):
                        loss = npass.loss_fn(model(x[i : i + 1]), y[i : i + 1])
                        grads = torch.autograd.grad(loss, weights, allow_unused=True)
                        for a, w, g in zip(acc, weights, grads, strict=True):
                            a.update((torch.zeros_like(w) if g is None else g).unsqueeze(0))
    return [a.finish(name) for a, (name, _) in zip(acc, layers, strict=True)]


#: accepted values of ``options["per_sample_impl"]``
PER_SAMPLE_IMPLS = ("auto", "vmap", "hooks")

#: elements of one slice of per-sample gradients in the hooks path (16 MB in float32)
_HOOKS_SLICE_ELEMENTS = 1 << 22


def _is_patchify(m: nn.Module) -> bool:
    return (
        isinstance(m, nn.Conv2d)
        and m.groups == 1
        and m.padding_mode == "zeros"
        and tuple(m.kernel_size) == tuple(m.stride)
        and tuple(m.dilation) == (1, 1)
        and m.padding in ((0, 0), "valid")
    )


def _unfoldable(m: nn.Module) -> bool:
    """A Conv2d whose per-sample gradient the hooks path computes by ``unfold``."""
    return (
        isinstance(m, nn.Conv2d)
        and m.padding_mode == "zeros"
        and (m.padding == "valid" or not isinstance(m.padding, str))
    )


def _hooks_ineligible(model: nn.Module, layers: list[tuple[str, nn.Module]]) -> str | None:
    """Why the hooks path cannot compute exact per-sample gradients (None if it can).

    Called inside :func:`batch_norm_fixed_to_batch_statistics`, where BatchNorm acts on
    each sample on its own, so BatchNorm does not disqualify a model.
    """
    seen: set[int] = set()
    for name, m in layers:
        if not (isinstance(m, nn.Linear) or _unfoldable(m)):
            return (
                f"layer {name!r} is neither Linear nor a zero-padded Conv2d "
                "(padding_mode 'zeros', numeric padding)"
            )
        if not m.weight.requires_grad:
            return f"the weight of layer {name!r} does not require grad"
        if id(m.weight) in seen:
            return f"the weight of layer {name!r} is shared with another layer"
        seen.add(id(m.weight))
    return None


def _hooks_pays_off(layers: list[tuple[str, nn.Module]]) -> bool:
    """Whether ``"auto"`` takes the hooks path: every weight layer Linear or patchify.

    Measured on CPU: 5-10x faster than ``vmap`` on ViTs, but no faster on NAS-Bench-201
    CNNs (about 5% slower over 8 cells at batch 64: unfolding 3x3 receptive fields costs
    what the single backward saves) and slower on DARTS cells (depthwise 5x5 convs).
    """
    return all(isinstance(m, nn.Linear) or _is_patchify(m) for _, m in layers)


def _patches(m: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """Receptive fields of ``x`` as ``(N, L, C * kh * kw)`` in weight order (groups=1)."""
    if _is_patchify(m):  # non-overlapping patches: a reshape, no copy by unfold
        kh, kw = m.kernel_size
        n, c, h, w = x.shape
        hp, wp = h // kh, w // kw
        x = x[:, :, : hp * kh, : wp * kw].reshape(n, c, hp, kh, wp, kw)
        return x.permute(0, 2, 4, 1, 3, 5).reshape(n, hp * wp, c * kh * kw)
    padding = (0, 0) if m.padding == "valid" else m.padding
    cols = nn.functional.unfold(x, m.kernel_size, m.dilation, padding, m.stride)
    return cols.transpose(1, 2)


def _conv_layer_grads(
    m: nn.Conv2d, terms: list[tuple[torch.Tensor, torch.Tensor]], rows: slice
) -> torch.Tensor | None:
    """Per-sample weight gradients ``(N, rows, fan_in)`` of a Conv2d, summed over calls.

    ``terms`` holds ``(d loss / d out, receptive fields)`` per call, as ``(N, C_out, L)``
    and ``(N, L, C_in * kh * kw)`` (:func:`_patches`). Grouped convs: output channel
    ``o`` of group ``o // (C_out / groups)`` sees the input channels of that group only.
    """
    g = None
    groups = m.groups
    out_per_group = m.out_channels // groups
    for go, cols in terms:
        if groups == 1:
            part = torch.bmm(go[:, rows], cols)
        else:
            n, length, _ = cols.shape
            fan_in = cols.shape[2] // groups
            g0, g1 = rows.start // out_per_group, (rows.stop - 1) // out_per_group + 1
            a = cols[:, :, g0 * fan_in : g1 * fan_in].reshape(n, length, g1 - g0, fan_in)
            b = go[:, g0 * out_per_group : g1 * out_per_group]
            b = b.reshape(n, g1 - g0, out_per_group, length)
            full = torch.einsum("ngol,nlgf->ngof", b, a).reshape(n, -1, fan_in)
            lo = rows.start - g0 * out_per_group
            part = full[:, lo : lo + (rows.stop - rows.start)]
        g = part if g is None else g + part
    return g


def _hooks_per_sample(
    npass: Any, layers: list[tuple[str, nn.Module]], *, check: bool
) -> list[LayerGradStats] | None:
    """Exact per-sample statistics from one batched backward (see ``per_sample_grads``).

    Returns None when ``check`` is set and sample 0 disagrees with a single-sample
    backward (the caller then falls back to ``vmap``).
    """
    n = npass.batch_size
    terms = _layer_output_grads(npass, layers)
    reference = _first_sample_grads(npass, layers) if check else None
    out_stats = []
    for idx, (name, m) in enumerate(layers):
        w = m.weight
        rows, fan_in = w.shape[0], w[0].numel()
        if isinstance(m, nn.Conv2d):  # unfold each call's input once per layer
            terms[name] = [(go, _patches(m, inp)) for go, inp in terms[name]]
        stats, first = _sliced_moments(m, terms[name], n)
        if reference is not None:
            r = reference[idx].reshape(rows, fan_in)
            err = float((first - r).double().norm())
            if err > 1e-3 * float(r.double().norm()) + 1e-12:
                return None
        terms[name] = []  # release this layer's receptive fields
        mean, mean_abs, var, var_abs = (t.reshape(w.shape) for t in stats)
        out_stats.append(LayerGradStats(name, n, mean, mean_abs, var, var_abs))
    return out_stats


def _layer_output_grads(
    npass: Any, layers: list[tuple[str, nn.Module]]
) -> dict[str, list[tuple[torch.Tensor, torch.Tensor]]]:
    """One forward with hooks on the weight layers and one backward of the summed
    per-sample losses: per layer and call, the output gradient and the input, shaped for
    the per-sample weight gradient (Linear: ``(n, out, L)`` and ``(n, L, fan_in)``; Conv2d:
    ``(n, out, L)`` and the input, unfolded later)."""
    model, x, y = npass.model, npass.inputs, npass.targets
    n = npass.batch_size
    calls: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {name: [] for name, _ in layers}

    def hook(name: str, module: nn.Module, inp: tuple[torch.Tensor, ...], out: torch.Tensor):
        if isinstance(out, torch.Tensor) and out.requires_grad:
            calls[name].append((inp[0].detach(), out))

    handles = [m.register_forward_hook(partial(hook, name)) for name, m in layers]
    try:
        with torch.enable_grad():
            logits = model(x)
            loss = sum(npass.loss_fn(logits[i : i + 1], y[i : i + 1]) for i in range(n))
            outs = [out for name, _ in layers for _, out in calls[name]]
            grads = torch.autograd.grad(loss, outs, allow_unused=True) if outs else []
    finally:
        for h in handles:
            h.remove()
    k = 0
    terms: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {}
    for name, m in layers:
        pairs = []
        for inp, _out in calls[name]:
            g = grads[k]
            k += 1
            if g is None:
                continue
            g = g.detach()
            if isinstance(m, nn.Linear):
                a = inp.reshape(n, -1, inp.shape[-1])
                g = g.reshape(n, -1, g.shape[-1]).transpose(1, 2).contiguous()
                pairs.append((g, a))  # (n, out, L), (n, L, fan_in)
            else:  # conv: receptive fields are unfolded per slice, when reduced
                pairs.append((g.reshape(n, g.shape[1], -1), inp))  # (n, out, L), input
        terms[name] = pairs
    return terms


def _first_sample_grads(npass: Any, layers: list[tuple[str, nn.Module]]) -> list[torch.Tensor]:
    """The weight gradients of sample 0 alone (a single-sample backward): the check."""
    model, x, y = npass.model, npass.inputs, npass.targets
    weights = [m.weight for _, m in layers]
    with torch.enable_grad():
        ref = torch.autograd.grad(npass.loss_fn(model(x[:1]), y[:1]), weights, allow_unused=True)
    return [
        torch.zeros_like(w) if r is None else r.detach() for w, r in zip(weights, ref, strict=True)
    ]


def _sliced_moments(
    m: nn.Module, pairs: list[tuple[torch.Tensor, torch.Tensor]], n: int
) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Mean and variance over samples of the per-sample weight gradient and of its absolute
    value (``[mean, mean_abs, var, var_abs]``, float64, ``(rows, fan_in)``) and sample 0's
    gradient, formed a slice of output rows at a time (``_HOOKS_SLICE_ELEMENTS``)."""
    w = m.weight
    rows, fan_in = w.shape[0], w[0].numel()
    stats = [torch.zeros((rows, fan_in), dtype=torch.float64, device=w.device) for _ in range(4)]
    first = torch.zeros((rows, fan_in), dtype=w.dtype, device=w.device)
    step = max(1, _HOOKS_SLICE_ELEMENTS // max(1, n * fan_in))
    for r0 in range(0, rows, step):
        r1 = min(rows, r0 + step)
        if isinstance(m, nn.Conv2d):
            g = _conv_layer_grads(m, pairs, slice(r0, r1))
        else:
            g = None
            for go, a in pairs:
                part = torch.bmm(go[:, r0:r1], a)
                g = part if g is None else g + part
        if g is None:
            continue  # layer never reached by the loss: zero gradient
        first[r0:r1] = g[0]
        # two-pass mean / variance in the gradients' own dtype (float32 centring is as
        # accurate as float32 per-sample gradients themselves; float64 nets: float64)
        for xs, (mean, var) in ((g, (0, 2)), (g.abs(), (1, 3))):
            chunk_mean = xs.mean(0)
            stats[mean][r0:r1] = chunk_mean
            stats[var][r0:r1] = (xs - chunk_mean).square_().sum(0).to(torch.float64) / (n - 1)
    return stats, first


def _exact_per_sample(
    npass: Any,
    layers: list[tuple[str, nn.Module]],
    acc: list[_RunningMoments],
    chunk: int,
) -> None:
    from torch.func import functional_call, grad, vmap

    model = npass.model
    keys = [f"{name}.weight" for name, _ in layers]
    params = {k: m.weight.detach() for k, (_, m) in zip(keys, layers, strict=True)}

    def sample_loss(p: dict[str, torch.Tensor], xi: torch.Tensor, yi: torch.Tensor) -> torch.Tensor:
        return npass.loss_fn(functional_call(model, p, (xi.unsqueeze(0),)), yi.unsqueeze(0))

    per_sample = vmap(grad(sample_loss), in_dims=(None, 0, 0), randomness="different")
    with torch.no_grad():  # torch.func.grad ignores it; it stops graphs for other params
        for start in range(0, npass.batch_size, chunk):
            grads = per_sample(
                params,
                npass.inputs[start : start + chunk],
                npass.targets[start : start + chunk],
            )
            for a, k in zip(acc, keys, strict=True):
                a.update(grads[k])
