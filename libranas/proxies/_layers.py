"""What the engine needs to know about a network's anatomy and state.

Which modules are activations and weight layers, and BatchNorm: restoring buffers after a
train-mode forward, normalising with fixed whole-batch statistics (per-sample passes), and
the one-value-per-channel case of a training-mode BatchNorm. Separate from the passes
(:mod:`libranas.proxies._engine`) because it changes with the networks supported, not with
how proxies are computed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
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


@contextmanager
def preserved_buffers(model: nn.Module) -> Iterator[None]:
    """Restore every buffer of ``model`` (BatchNorm running stats, counters) on exit.

    A train-mode forward updates BatchNorm running statistics in place; proxies that
    run such a forward on the shared model wrap it in this context so that the model
    is unchanged for the proxies that follow.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> bn = nn.BatchNorm1d(2)
    >>> with preserved_buffers(bn):
    ...     _ = bn(torch.randn(4, 2) + 5)
    >>> bn.running_mean.tolist(), int(bn.num_batches_tracked)
    ([0.0, 0.0], 0)
    """
    saved = [(b, b.detach().clone()) for b in model.buffers()]
    try:
        yield
    finally:
        with torch.no_grad():
            for buf, value in saved:
                buf.copy_(value)


def _fixed_bn_forward(
    module: nn.modules.batchnorm._BatchNorm, mean: torch.Tensor, var: torch.Tensor, x: torch.Tensor
) -> torch.Tensor:
    return nn.functional.batch_norm(
        x, mean, var, module.weight, module.bias, training=False, momentum=0.0, eps=module.eps
    )


def _batch_statistics_modules(model: nn.Module) -> list[nn.Module]:
    """BatchNorm modules that normalise with the statistics of the batch they see."""
    return [
        m
        for m in model.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm)
        and (m.training or not m.track_running_stats)
    ]


def _record_batch_statistics(
    stats: dict[nn.Module, Any], module: nn.Module, inp: tuple[torch.Tensor, ...]
) -> None:
    """Forward pre-hook: the input's per-channel mean and biased variance (what train-mode
    BatchNorm normalises with); a module called twice is marked ``None`` (shared)."""
    if module in stats:
        stats[module] = None
        return
    x = inp[0].detach()
    dims = [d for d in range(x.dim()) if d != 1]
    stats[module] = (x.mean(dims), x.var(dims, unbiased=False))


@contextmanager
def batch_norm_fixed_to_batch_statistics(
    model: nn.Module,
    inputs: torch.Tensor,
    stats: dict[nn.Module, tuple[torch.Tensor, torch.Tensor]] | None = None,
) -> Iterator[None]:
    """Inside the block, train-mode BatchNorm normalises with fixed whole-batch statistics.

    One forward of ``inputs`` records each training-mode BatchNorm module's input mean
    and biased variance (what the batched train-mode forward normalises with); inside
    the block those modules normalise any input with these constants, so a single
    sample's forward equals its forward inside the batch. Running statistics are left
    as they were. BatchNorm modules in eval mode (running statistics) are untouched.
    ``stats`` (recorded by an earlier forward of the same batch, e.g. the fused pass)
    skips the recording forward.
    """
    bns = _batch_statistics_modules(model)
    if not bns:  # nothing to fix (e.g. ViTs): skip the recording forward
        yield
        return
    if stats is None or set(stats) != set(bns):
        stats = {}
        handles = [
            m.register_forward_pre_hook(partial(_record_batch_statistics, stats)) for m in bns
        ]
        try:
            with torch.no_grad(), preserved_buffers(model):
                model(inputs)
        finally:
            for h in handles:
                h.remove()
    if any(v is None for v in stats.values()):
        raise ValueError(
            "a BatchNorm module is called more than once per forward (shared "
            "BatchNorm); per-sample statistics with fixed batch statistics are "
            "undefined for it: use options['per_sample']='chunks'"
        )
    patched = []
    try:
        for m, (mean, var) in stats.items():
            m.forward = partial(_fixed_bn_forward, m, mean, var)
            patched.append(m)
        yield
    finally:
        for m in patched:
            del m.forward


def _batch_norm_one_value(module: nn.Module, forward: Any, x: torch.Tensor) -> torch.Tensor:
    """Training-mode BatchNorm on one value per channel (one sample's 1x1 map, e.g. the last
    stage of a ResNet at 32 px): the batch statistics are undefined (PyTorch raises), and
    ``x - mean`` is 0 in the limit, so the output is the bias ``beta`` (0 without one), a
    constant map; any other input goes to the layer's own forward."""
    if module.training and x.dim() >= 2 and x.numel() == x.shape[1]:
        out = torch.zeros_like(x)
        if getattr(module, "bias", None) is not None:
            out = out + module.bias.reshape(1, -1, *([1] * (x.dim() - 2)))
        return out
    return forward(x)
