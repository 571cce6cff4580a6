"""The shared pass: one network, one batch, every requested proxy.

:class:`NetworkPass` computes each kind of pass at most once, on first request, and
caches it, so proxies that need the same forward/backward share it. Proxies read from
it; they never run the network themselves unless they declare ``own_pass``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property, partial
from typing import Any

import torch
from torch import nn

#: activation modules whose outputs are binarised (pre-activation > 0); timm's GELU
#: classes are not nn.GELU subclasses, so they are matched by name in ``is_activation``
ACTIVATION_TYPES: tuple[type[nn.Module], ...] = (nn.ReLU, nn.ReLU6, nn.GELU, nn.LeakyReLU)
_ACTIVATION_NAMES = {"GELU", "GELUTanh", "QuickGELU", "ReLU", "ReLU6"}

#: modules with a weight matrix: the "layers" of L-SWAG / ZiCo, in registration order
WEIGHT_LAYER_TYPES: tuple[type[nn.Module], ...] = (nn.Conv2d, nn.Linear)


def is_activation(module: nn.Module) -> bool:
    return isinstance(module, ACTIVATION_TYPES) or type(module).__name__ in _ACTIVATION_NAMES


def weight_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Weight layers (Conv2d, Linear) in registration order."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, WEIGHT_LAYER_TYPES)]


class NetworkPass:
    """Lazily computed, cached passes of one network over one batch.

    Parameters
    ----------
    model : torch.nn.Module
        The untrained network, already on ``inputs.device``.
    inputs : torch.Tensor
        Image batch ``(N, C, H, W)``.
    targets : torch.Tensor
        Integer class labels ``(N,)``.
    seed : int
        Seed for anything random inside a pass (random inputs of synflow/zen).
    options : dict
        Per-proxy options (e.g. ``lswag_band``, ``per_sample_chunk``). Read by the
        passes here: ``per_sample`` ("exact" | "loop" | "chunks"), ``per_sample_chunk``
        (16), ``per_sample_splits`` (2), ``per_sample_impl`` ("auto" | "vmap" | "hooks"),
        ``features_samples`` (1); by proxies:
        ``lswag_band`` (None or (lo, hi) depth percentiles), ``reg_swap_mu`` and
        ``reg_swap_sigma`` (1.5, 1.5, millions of parameters).
    """

    def __init__(
        self,
        model: nn.Module,
        inputs: torch.Tensor,
        targets: torch.Tensor,
        *,
        seed: int = 0,
        options: dict[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.inputs = inputs
        self.targets = targets
        self.seed = seed
        self.options = dict(options or {})
        #: memo for intermediate results shared by several proxies of one family
        #: (e.g. one backward with activation-gradient hooks feeding snip, fisher, ...)
        self.cache: dict[str, Any] = {}

    def shared(self, key: str, compute: Any) -> Any:
        """Return ``cache[key]``, computing it once with ``compute(self)``."""
        if key not in self.cache:
            self.cache[key] = compute(self)
        return self.cache[key]

    @contextmanager
    def seeded(self) -> Iterator[None]:
        """Run a pass with torch's CPU generator seeded by ``self.seed`` (dropout masks,
        random inputs); the caller's random state is restored afterwards."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            yield

    @property
    def device(self) -> torch.device:
        return self.inputs.device

    @property
    def batch_size(self) -> int:
        return int(self.inputs.shape[0])

    def loss_fn(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return nn.functional.cross_entropy(logits, targets)

    # -- forward with activation hooks -----------------------------------------------
    @cached_property
    def activations(self) -> list[torch.Tensor]:
        """Binary activation codes, one ``(N, units)`` bool tensor per activation module.

        ``1[pre-activation > 0]`` for ReLU and GeLU alike (same sign pattern). 3-D token
        tensors of ViTs are flattened so that each token-channel position is a unit.
        """
        codes: list[torch.Tensor] = []

        def hook(module: nn.Module, inp: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
            codes.append((inp[0].detach() > 0).reshape(inp[0].shape[0], -1))

        handles = [m.register_forward_hook(hook) for m in self.model.modules() if is_activation(m)]
        try:
            with torch.no_grad(), self.seeded():
                self.model(self.inputs)
        finally:
            for h in handles:
                h.remove()
        return codes

    # -- one backward of the loss over the batch ---------------------------------------
    @cached_property
    def weight_grads(self) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
        """``(layer name, weight, d loss / d weight)`` for every weight layer."""
        self.model.zero_grad(set_to_none=True)
        logits = self.model(self.inputs)
        self.loss_fn(logits, self.targets).backward()
        out = []
        for name, layer in weight_layers(self.model):
            w = layer.weight
            g = w.grad.detach().clone() if w.grad is not None else torch.zeros_like(w)
            out.append((name, w.detach(), g))
        self.model.zero_grad(set_to_none=True)
        return out

    # -- input jacobian ----------------------------------------------------------------
    @cached_property
    def input_jacobian(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(J, logits)``: J = d sum_k logits_k / d x, shape ``(N, C*H*W)``."""
        x = self.inputs.detach().clone().requires_grad_(True)
        logits = self.model(x)
        (jac,) = torch.autograd.grad(logits.sum(), x)
        return jac.reshape(jac.shape[0], -1).detach(), logits.detach()

    # -- per-sample gradient statistics (zico, lswag) -----------------------------------
    @cached_property
    def per_sample_grads(self) -> list[LayerGradStats]:
        """Per-weight statistics of per-sample gradients, one entry per weight layer.

        Never holds a (batch x params) matrix: gradients are reduced chunk by chunk
        into running mean / variance (Chan-Welford merge, float64 accumulators).

        Options (``self.options``):

        - ``per_sample``: ``"exact"`` (default; ``torch.func`` ``vmap(grad)`` over chunks
          of ``per_sample_chunk`` samples, default 16), ``"loop"`` (same quantity, one
          backward per sample; for models that ``vmap`` cannot batch) or ``"chunks"``
          (ZiCo's estimate: the batch is split into ``per_sample_splits`` parts, default
          2, and the statistics are taken over the parts' mean-loss gradients).
        - ``per_sample_impl`` (``"exact"`` mode only): how the exact per-sample gradients
          are computed. ``"vmap"``: ``torch.func`` as above. ``"hooks"``: ONE batched
          forward and backward of ``sum_i loss(x_i, y_i)`` with hooks on the weight
          layers; sample i's weight gradient is ``sum over positions of
          outer(d loss_i / d out_i, in_i)`` (tokens of a ViT, patches of a patchify conv),
          reduced per layer in slices, so no ``(batch x params)`` matrix is held. It is
          exact only when samples do not interact in the forward (true for ViTs: LayerNorm
          and attention act within a sample) and needs every weight layer to be a Linear or
          a patchify Conv2d (kernel == stride, no padding, dilation 1, groups 1) and no
          BatchNorm. ``"auto"`` (default) uses ``"hooks"`` when those structural conditions
          hold and otherwise ``"vmap"`` (so CNNs with 3x3 convs or BatchNorm, e.g.
          NAS-Bench-201 and DARTS cells, always take the ``vmap`` path); after a ``hooks``
          pass it checks sample 0 against a separate single-sample backward (relative
          error per layer at most 1e-3) and falls back to ``"vmap"`` if they differ (samples
          that interact, random layers). On a ViT-Tiny at 32 px, batch 32, this is about
          5-10x faster than ``vmap``. ``cache["per_sample_impl"]`` records the path taken.
        - BatchNorm: with ``"exact"``/``"loop"``, a BatchNorm module in training mode
          normalises every sample with the mean and (biased) variance of the *whole
          batch*, computed by one forward and then held fixed. Each sample's forward is
          then exactly its forward inside the batched train-mode pass, and its gradient
          is d loss_i / d w with the batch statistics treated as constants (the
          stats-path terms, which couple samples, are dropped). With ``"chunks"``,
          BatchNorm uses each part's own statistics, as ZiCo does. Running statistics
          are restored afterwards either way.

        Raises
        ------
        ValueError
            Unknown mode, fewer than 2 samples/parts, no weight layer, or a BatchNorm
            module called more than once in one forward (shared BatchNorm).
        """
        return _per_sample_grad_stats(self)

    # -- intermediate feature maps (meco) -----------------------------------------------
    @cached_property
    def features(self) -> list[tuple[str, torch.Tensor]]:
        """Outputs of every submodule, in forward-call order, for the first samples.

        One forward (no grad) of the first ``features_samples`` samples (option,
        default 1: MeCo uses a single image). Only tensor outputs with at least 3
        dimensions are kept (``(n, C, H, W)`` feature maps, ``(n, T, C)`` token
        tensors); the root module is not hooked. Running statistics are restored.
        """
        n = int(self.options.get("features_samples", 1))
        if not 1 <= n <= self.batch_size:
            raise ValueError(
                f"features_samples must be in [1, batch size {self.batch_size}], got {n}"
            )
        feats: list[tuple[str, torch.Tensor]] = []

        def hook(name: str, module: nn.Module, inp: Any, out: Any) -> None:
            if isinstance(out, torch.Tensor) and out.dim() >= 3:
                feats.append((name, out.detach()))

        handles = [
            m.register_forward_hook(partial(hook, name))
            for name, m in self.model.named_modules()
            if name
        ]
        try:
            with torch.no_grad(), _preserved_buffers(self.model), self.seeded():
                self.model(self.inputs[:n])
        finally:
            for h in handles:
                h.remove()
        return feats


# ==================================================================================
# per-sample gradient machinery
# ==================================================================================

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


@contextmanager
def _preserved_buffers(model: nn.Module) -> Iterator[None]:
    """Restore every buffer (BatchNorm running statistics, ...) on exit."""
    saved = [(b, b.detach().clone()) for b in model.buffers()]
    try:
        yield
    finally:
        with torch.no_grad():
            for b, value in saved:
                b.copy_(value)


def _fixed_bn_forward(
    module: nn.modules.batchnorm._BatchNorm, mean: torch.Tensor, var: torch.Tensor, x: torch.Tensor
) -> torch.Tensor:
    return nn.functional.batch_norm(
        x, mean, var, module.weight, module.bias, training=False, momentum=0.0, eps=module.eps
    )


@contextmanager
def batch_norm_fixed_to_batch_statistics(model: nn.Module, inputs: torch.Tensor) -> Iterator[None]:
    """Inside the block, train-mode BatchNorm normalises with fixed whole-batch statistics.

    One forward of ``inputs`` records each training-mode BatchNorm module's input mean
    and biased variance (what the batched train-mode forward normalises with); inside
    the block those modules normalise any input with these constants, so a single
    sample's forward equals its forward inside the batch. Running statistics are left
    as they were. BatchNorm modules in eval mode (running statistics) are untouched.
    """
    bns = [
        m
        for m in model.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm)
        and (m.training or not m.track_running_stats)
    ]
    if not bns:  # nothing to fix (e.g. ViTs): skip the recording forward
        yield
        return
    stats: dict[nn.Module, tuple[torch.Tensor, torch.Tensor]] = {}

    def capture(module: nn.Module, inp: tuple[torch.Tensor, ...]) -> None:
        if module in stats:
            raise ValueError(
                "a BatchNorm module is called more than once per forward (shared "
                "BatchNorm); per-sample statistics with fixed batch statistics are "
                "undefined for it: use options['per_sample']='chunks'"
            )
        x = inp[0].detach()
        dims = [d for d in range(x.dim()) if d != 1]
        stats[module] = (x.mean(dims), x.var(dims, unbiased=False))

    handles = [m.register_forward_pre_hook(capture) for m in bns]
    try:
        with torch.no_grad(), _preserved_buffers(model):
            model(inputs)
    finally:
        for h in handles:
            h.remove()
    patched = []
    try:
        for m, (mean, var) in stats.items():
            m.forward = partial(_fixed_bn_forward, m, mean, var)
            patched.append(m)
        yield
    finally:
        for m in patched:
            del m.forward


def _per_sample_grad_stats(npass: NetworkPass) -> list[LayerGradStats]:
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
    with npass.seeded(), _preserved_buffers(model):
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
            with batch_norm_fixed_to_batch_statistics(model, x):
                if mode == "exact":
                    chunk = int(npass.options.get("per_sample_chunk", 16))
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

#: float64 elements of one slice of per-sample gradients in the hooks path (2 MB)
_HOOKS_SLICE_ELEMENTS = 1 << 18


def _is_patchify(m: nn.Module) -> bool:
    return (
        isinstance(m, nn.Conv2d)
        and m.groups == 1
        and m.padding_mode == "zeros"
        and tuple(m.kernel_size) == tuple(m.stride)
        and tuple(m.dilation) == (1, 1)
        and m.padding in ((0, 0), "valid")
    )


def _hooks_ineligible(model: nn.Module, layers: list[tuple[str, nn.Module]]) -> str | None:
    """Why the hooks path cannot compute exact per-sample gradients (None if it can)."""
    if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()):
        return "the model has BatchNorm (samples interact)"
    seen: set[int] = set()
    for name, m in layers:
        if not (isinstance(m, nn.Linear) or _is_patchify(m)):
            return f"layer {name!r} is neither Linear nor a patchify Conv2d"
        if not m.weight.requires_grad:
            return f"the weight of layer {name!r} does not require grad"
        if id(m.weight) in seen:
            return f"the weight of layer {name!r} is shared with another layer"
        seen.add(id(m.weight))
    return None


def _patches(m: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """Non-overlapping patches of ``x`` as ``(N, L, C * kh * kw)`` in weight order."""
    kh, kw = m.kernel_size
    n, c, h, w = x.shape
    hp, wp = h // kh, w // kw
    x = x[:, :, : hp * kh, : wp * kw].reshape(n, c, hp, kh, wp, kw)
    return x.permute(0, 2, 4, 1, 3, 5).reshape(n, hp * wp, c * kh * kw)


def _hooks_per_sample(
    npass: NetworkPass, layers: list[tuple[str, nn.Module]], *, check: bool
) -> list[LayerGradStats] | None:
    """Exact per-sample statistics from one batched backward (see ``per_sample_grads``).

    Returns None when ``check`` is set and sample 0 disagrees with a single-sample
    backward (the caller then falls back to ``vmap``).
    """
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
                g = g.reshape(n, -1, g.shape[-1])
            else:
                a = _patches(m, inp)
                g = g.reshape(n, g.shape[1], -1).transpose(1, 2)
            pairs.append((g.transpose(1, 2).contiguous(), a))  # (n, out, L), (n, L, fan_in)
        terms[name] = pairs
    calls.clear()
    del outs, grads, logits, loss

    reference = None
    if check:
        weights = [m.weight for _, m in layers]
        with torch.enable_grad():
            ref = torch.autograd.grad(
                npass.loss_fn(model(x[:1]), y[:1]), weights, allow_unused=True
            )
        reference = [
            torch.zeros_like(w) if r is None else r.detach()
            for w, r in zip(weights, ref, strict=True)
        ]

    out_stats = []
    for idx, (name, m) in enumerate(layers):
        w = m.weight
        rows, fan_in = w.shape[0], w[0].numel()
        stats = [
            torch.zeros((rows, fan_in), dtype=torch.float64, device=w.device) for _ in range(4)
        ]
        first = torch.zeros((rows, fan_in), dtype=w.dtype, device=w.device)
        step = max(1, _HOOKS_SLICE_ELEMENTS // max(1, n * fan_in))
        for r0 in range(0, rows, step):
            r1 = min(rows, r0 + step)
            g = None
            for go, a in terms[name]:
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
        if reference is not None:
            r = reference[idx].reshape(rows, fan_in)
            err = float((first - r).double().norm())
            if err > 1e-3 * float(r.double().norm()) + 1e-12:
                return None
        shape = w.shape
        mean, mean_abs, var, var_abs = (t.reshape(shape) for t in stats)
        out_stats.append(LayerGradStats(name, n, mean, mean_abs, var, var_abs))
    return out_stats


def _exact_per_sample(
    npass: NetworkPass,
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


# ==================================================================================
# scoring one network
# ==================================================================================


def score_network(
    model: nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    proxies: Sequence[str],
    *,
    seed: int = 0,
    options: dict[str, Any] | None = None,
) -> tuple[dict[str, float], dict[str, str]]:
    """Score one network with several registered proxies sharing one :class:`NetworkPass`.

    Parameters
    ----------
    model : torch.nn.Module
        The untrained network on ``inputs.device``, in the mode it should be scored in
        (NAS-Bench-Suite-Zero scores in training mode).
    inputs : torch.Tensor
        Batch ``(N, ...)``.
    targets : torch.Tensor
        Integer labels ``(N,)``.
    proxies : sequence of str
        Registered proxy names, run in this order.
    seed : int, default=0
        Seed of the pass (random inputs, dropout masks); same seed, same scores.
    options : dict, optional
        Options read by the passes and proxies (``per_sample``, ``lswag_band``, ...).

    Returns
    -------
    scores : dict of str to float
        One float per proxy; ``nan`` where the proxy failed.
    errors : dict of str to str
        ``"ExceptionType: message"`` for every proxy that raised or returned a
        non-finite value; empty when all succeeded.

    Raises
    ------
    TypeError
        ``proxies`` is a string or not a sequence of strings.
    ValueError
        An unknown proxy name, or inputs/targets of mismatched batch size
        (checked before anything runs).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from libranas.proxies._engine import score_network
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(144, 3))
    >>> x, y = torch.randn(8, 3, 8, 8), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    >>> scores, errors = score_network(net, x, y, ["swap", "zico"])
    >>> sorted(scores), errors
    (['swap', 'zico'], {})
    """
    from libranas.proxies._registry import get_proxy

    if isinstance(proxies, str) or not all(isinstance(p, str) for p in proxies):
        raise TypeError(f"proxies must be a sequence of proxy names, got {proxies!r}")
    if not isinstance(inputs, torch.Tensor) or not isinstance(targets, torch.Tensor):
        raise TypeError("inputs and targets must be torch tensors")
    if inputs.shape[0] != targets.shape[0]:
        raise ValueError(
            f"inputs have {inputs.shape[0]} samples but targets have {targets.shape[0]}"
        )
    infos = [get_proxy(name) for name in proxies]
    npass = NetworkPass(model, inputs, targets, seed=seed, options=options)
    scores: dict[str, float] = {}
    errors: dict[str, str] = {}
    for info in infos:
        try:
            value = float(info.func(npass))
        except Exception as exc:  # noqa: BLE001 - one proxy failing must not stop the others
            scores[info.name] = math.nan
            errors[info.name] = f"{type(exc).__name__}: {exc}"
            continue
        if not math.isfinite(value):
            errors[info.name] = f"non-finite score {value}"
            value = math.nan
        scores[info.name] = value
    return scores, errors
