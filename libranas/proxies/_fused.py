"""The fused batch-loss pass: one forward of the batch serving several kinds of pass.

ONE train-mode forward records the activation codes, the feature-block outputs (AZ-NAS),
then on the same graph the input Jacobian, the weight (and layer-output) gradients of the
loss and GraSP's Hessian-gradient product, instead of one forward per kind. Each result
equals what its own pass computes alone. :class:`libranas.proxies._engine.NetworkPass`
calls :func:`_fused_pass` for every planned item at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import torch
from torch import nn

from libranas.proxies._layers import (
    _batch_statistics_modules,
    _record_batch_statistics,
    is_activation,
    preserved_buffers,
    weight_layers,
)

#: what one fused forward can serve (requirement names of the registry, see ``plan_for``)
FUSED_ITEMS = frozenset(
    {"activations", "input_jacobian", "weight_grads", "hessian_grad", "block_features"}
)


def channel_terms(module: nn.Module, act: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """``sum over positions of a * dL/da`` per sample and channel, shape ``(N, K)``.

    Conv2d: channel = dim 1, positions = spatial dims; Linear: channel = last dim,
    positions = any token dims in the middle.
    """
    prod = act * grad
    if isinstance(module, nn.Linear):
        return prod.reshape(prod.shape[0], -1, prod.shape[-1]).sum(dim=1)
    return prod.reshape(prod.shape[0], prod.shape[1], -1).sum(dim=2)


def _fused_pass(npass: Any, items: frozenset[str]) -> dict[str, Any]:
    """One forward of the batch serving ``items`` (a subset of ``FUSED_ITEMS``).

    The forward runs in the model's own mode (NAS-Bench-Suite-Zero scores in training
    mode), seeded, with running statistics restored afterwards. Then, on the same graph:
    the input Jacobian of ``sum(logits)``; the loss gradients w.r.t. the weights (with
    tensor hooks on the weight-layer outputs, registered only for this backward, giving
    the Fisher channel terms); with ``hessian_grad`` that backward keeps its graph and a
    second backward of ``<stop_grad(g), g>`` gives ``H g``. Each of these equals what
    its pass alone computes (same forward values, same backward formulas).
    """
    model = npass.model
    want_jac = "input_jacobian" in items
    want_blocks = "block_features" in items
    need_loss = "weight_grads" in items or "hessian_grad" in items
    layers = [(n, m) for n, m in weight_layers(model) if m.weight.requires_grad]
    if need_loss and not layers:
        raise ValueError(
            "the network has no trainable Conv2d/Linear weight: gradient proxies are undefined"
        )
    hooks = _ForwardRecords(npass, items, layers)
    result: dict[str, Any] = {}
    # the blocks' VJPs need every block output in the graph: the input requires grad then
    x = (
        npass.inputs.detach().clone().requires_grad_(True)
        if want_jac or want_blocks
        else npass.inputs
    )
    grad_enabled = want_jac or need_loss or want_blocks
    try:
        with preserved_buffers(model), npass.seeded(), torch.set_grad_enabled(grad_enabled):
            logits = model(x)
            hooks.remove()
            if hooks.bn_stats is not None:  # None in the cache: recorded nothing usable
                npass.cache["bn_batch_stats"] = (
                    hooks.bn_stats if all(hooks.bn_stats.values()) else None
                )
            if "activations" in items:
                result["activations"] = hooks.codes
            if want_blocks:  # before any backward that frees the graph
                result["block_features"] = _block_probes(npass, hooks.block_outs)
                hooks.block_outs.clear()
            if want_jac:
                (jac,) = torch.autograd.grad(logits.sum(), x, retain_graph=need_loss)
                result["input_jacobian"] = (jac.reshape(jac.shape[0], -1).detach(), logits.detach())
            if need_loss:
                result.update(_loss_backward(npass, items, logits, layers, hooks))
    finally:
        hooks.remove()
    return result


class _ForwardRecords:
    """The forward hooks of one fused pass and what they record: activation codes,
    feature-block outputs, weight-layer outputs (for the Fisher channel terms) and, when
    per-sample gradients are planned too, BatchNorm's batch statistics."""

    def __init__(self, npass: Any, items: frozenset[str], layers: list) -> None:
        model = npass.model
        self.codes: list[torch.Tensor] = []
        self.outputs: list[tuple[int, nn.Module, torch.Tensor]] = []
        self.block_outs: list[tuple[str, torch.Tensor]] = []
        self.bn_stats: dict[nn.Module, tuple[torch.Tensor, torch.Tensor]] | None = None
        self.handles: list[Any] = []
        if "activations" in items:
            self.handles += [
                m.register_forward_hook(self._code_hook)
                for m in model.modules()
                if is_activation(m)
            ]
        if "block_features" in items:
            self.handles += [
                m.register_forward_hook(partial(_block_hook, self.block_outs, name))
                for name, m in feature_blocks(model, npass.options.get("az_blocks"))
            ]
        if "weight_grads" in items:
            self.handles += [
                m.register_forward_hook(partial(self._output_hook, i))
                for i, (_, m) in enumerate(layers)
            ]
        if "per_sample_grads" in npass.plan and "bn_batch_stats" not in npass.cache:
            self.bn_stats = {}
            self.handles += [
                m.register_forward_pre_hook(partial(_record_batch_statistics, self.bn_stats))
                for m in _batch_statistics_modules(model)
            ]

    def _code_hook(self, module: nn.Module, inp: tuple[torch.Tensor, ...], out: Any) -> None:
        self.codes.append((inp[0].detach() > 0).reshape(inp[0].shape[0], -1))

    def _output_hook(self, idx: int, module: nn.Module, inp: Any, out: Any) -> None:
        if isinstance(out, torch.Tensor) and out.requires_grad:
            self.outputs.append((idx, module, out))

    def remove(self) -> None:
        for h in self.handles:
            h.remove()


def _loss_backward(
    npass: Any, items: frozenset[str], logits: torch.Tensor, layers: list, hooks: _ForwardRecords
) -> dict[str, Any]:
    """On the fused forward's graph: the loss gradients w.r.t. the weights, with the Fisher
    channel terms from tensor hooks on the recorded layer outputs; with ``hessian_grad``
    that backward keeps its graph and a second backward of ``<stop_grad(g), g>`` gives
    ``H g``."""
    want_hg = "hessian_grad" in items
    result: dict[str, Any] = {}
    weights = [m.weight for _, m in layers]
    terms: list[list[torch.Tensor]] = [[] for _ in layers]
    for idx, module, out in hooks.outputs:
        act = out.detach()

        def grad_hook(g: torch.Tensor, idx=idx, module=module, act=act) -> None:
            terms[idx].append(channel_terms(module, act, g.detach()))

        hooks.handles.append(out.register_hook(grad_hook))
    loss = npass.loss_fn(logits, npass.targets)
    grads = torch.autograd.grad(loss, weights, create_graph=want_hg, allow_unused=True)
    hooks.remove()
    hooks.outputs.clear()
    plain = [
        torch.zeros_like(w) if g is None else g.detach()
        for w, g in zip(weights, grads, strict=True)
    ]
    if "weight_grads" in items:
        result["weight_grads"] = {"layers": layers, "grads": plain, "channel_terms": terms}
    if want_hg:
        try:
            hg = _hessian_grad(weights, grads)
        except RuntimeError as exc:
            # an op with no double derivative (hardsigmoid in MobileNetV3): a central
            # difference of the gradient along g instead, noted per architecture
            try:
                hg = _hessian_grad_difference(npass, weights, plain)
            except RuntimeError as exc2:  # only H g's consumers (GraSP) fail then
                result["hessian_grad"] = RuntimeError(
                    f"Hessian-gradient product failed: {exc}; by differences: {exc2}"
                )
                return result
            npass.cache.setdefault("notes", {})["grasp"] = (
                f"H g by a central difference of the gradient (double backward failed: {exc})"
            )
        result["hessian_grad"] = {"layers": layers, "grads": plain, "hg": hg}
    return result


def _hessian_grad_difference(
    npass: Any, weights: list, grads: list[torch.Tensor], step: float = 1e-3
) -> list[torch.Tensor | None]:
    """``H g ~ (grad L(w + e g) - grad L(w - e g)) / (2 e)``, ``e = step / |g|``.

    The fallback for networks whose ops have no double derivative: two more forward and
    backward passes in the model's own mode, seeded, buffers restored, weights put back.
    """
    norm = torch.sqrt(sum((g.double() ** 2).sum() for g in grads)).item()
    if not norm > 0:
        return [torch.zeros_like(w) for w in weights]
    eps = step / norm
    originals = [w.detach().clone() for w in weights]

    def grads_at(sign: float) -> tuple[torch.Tensor | None, ...]:
        with torch.no_grad():
            for w, w0, g in zip(weights, originals, grads, strict=True):
                w.copy_(w0 + sign * eps * g)
        with preserved_buffers(npass.model), npass.seeded(), torch.enable_grad():
            loss = npass.loss_fn(npass.model(npass.inputs), npass.targets)
            return torch.autograd.grad(loss, weights, allow_unused=True)

    try:
        plus, minus = grads_at(1.0), grads_at(-1.0)
    finally:
        with torch.no_grad():
            for w, w0 in zip(weights, originals, strict=True):
                w.copy_(w0)
    return [
        None if a is None or b is None else ((a - b) / (2 * eps)).detach()
        for a, b in zip(plus, minus, strict=True)
    ]


def _hessian_grad(weights: list, grads: Sequence[Any]) -> list[torch.Tensor | None]:
    """``H g`` per weight, by a second backward of ``<stop_grad(g), g>``."""
    hg: list[torch.Tensor | None] = [None] * len(weights)
    live = [i for i, g in enumerate(grads) if g is not None and g.requires_grad]
    if live:
        z = sum((grads[i].detach() * grads[i]).sum() for i in live)
        out_hg = torch.autograd.grad(z, [weights[i] for i in live], allow_unused=True)
        for i, h in zip(live, out_hg, strict=True):
            hg[i] = None if h is None else h.detach()
    return hg


def feature_blocks(
    model: nn.Module, names: Sequence[str] | None = None
) -> list[tuple[str, nn.Module]]:
    """The blocks whose outputs :attr:`NetworkPass.block_features` records, in order.

    ``names`` (option ``az_blocks``): module names (``model.get_submodule``). Default: the
    child named ``stem`` if there is one, then every child of the longest ``nn.Sequential``
    or ``nn.ModuleList`` child of ``model`` (the cell stack: NAS-Bench-201's 17 cells and
    reduction blocks, DARTS cells, ViT blocks); ties go to the first.

    Examples
    --------
    >>> from torch import nn
    >>> net = nn.Sequential()
    >>> net.stem = nn.Conv2d(3, 4, 3)
    >>> net.cells = nn.Sequential(nn.ReLU(), nn.Conv2d(4, 4, 3))
    >>> [name for name, _ in feature_blocks(net)]
    ['stem', 'cells.0', 'cells.1']
    """
    if names is not None:
        if isinstance(names, str) or not all(isinstance(n, str) for n in names):
            raise TypeError(f"option az_blocks must be a list of module names, got {names!r}")
        out = []
        for name in names:
            try:
                out.append((name, model.get_submodule(name)))
            except AttributeError:
                raise ValueError(f"option az_blocks: the model has no submodule {name!r}") from None
        return out
    children = dict(model.named_children())
    stacks = [
        (n, m)
        for n, m in children.items()
        if isinstance(m, (nn.Sequential, nn.ModuleList)) and len(m) >= 2
    ]
    if not stacks:
        raise ValueError(
            f"{type(model).__name__} has no stack of blocks (an nn.Sequential or nn.ModuleList "
            "child with at least 2 modules); name the blocks with options['az_blocks']"
        )
    name, stack = max(stacks, key=lambda item: len(item[1]))
    blocks = [(f"{name}.{i}", m) for i, m in stack.named_children()]
    stem = children.get("stem")
    return ([("stem", stem)] if stem is not None and stem is not stack else []) + blocks


def _block_hook(
    outs: list[tuple[str, torch.Tensor]], name: str, module: nn.Module, inp: Any, out: Any
) -> None:
    if not isinstance(out, torch.Tensor):
        raise ValueError(f"block {name!r} returned {type(out).__name__}, not a tensor")
    outs.append((name, out))


def _block_probes(npass: Any, outs: list[tuple[str, torch.Tensor]]) -> dict[str, Any]:
    """Detached block outputs and Rademacher VJPs between consecutive ones (same graph)."""
    if not outs:
        raise ValueError("no block was called in the forward")
    feats = [out for _, out in outs]
    gen = torch.Generator(device=feats[0].device)
    gen.manual_seed(int(npass.seed))
    probes: list[tuple[torch.Tensor, torch.Tensor]] = []
    for i in range(len(feats) - 1, 0, -1):  # last pair first, as AZ-NAS
        f_out, f_in = feats[i], feats[i - 1]
        r = torch.randint(0, 2, f_out.shape, generator=gen, device=f_out.device)
        r = r.to(f_out.dtype).mul_(2).sub_(1)
        g = None
        if f_out.requires_grad and f_in.requires_grad:
            (g,) = torch.autograd.grad(f_out, f_in, r, retain_graph=True, allow_unused=True)
        probes.append((r, torch.zeros_like(f_in) if g is None else g.detach()))
    probes.reverse()
    return {
        "names": [name for name, _ in outs],
        "features": [f.detach() for f in feats],
        "probes": probes,
    }
