"""Zen-score (Lin et al., "Zen-NAS: A zero-shot NAS for high-performance image
recognition", ICCV 2021), as used by NAS-Bench-Suite-Zero.

Data-free: only the batch's shape is used. On a deep copy of the network (the shared
model is never touched), in train mode (BatchNorm uses batch statistics):

1. re-initialise every Conv2d/Linear weight from N(0, 1) with zero biases and every
   BatchNorm to weight 1, bias 0 (the paper's Gaussian initialisation);
2. draw ``x ~ N(0, 1)`` and ``eps ~ N(0, 1)`` of the batch's shape and let ``f`` be the
   pre-GAP feature map (see below);
3. ``Delta = mean over samples of ||f(x) - f(x + alpha * eps)||`` with ``alpha = 0.01``;
4. for every BatchNorm layer ``i`` with ``m`` channels and per-channel batch variances
   ``sigma_ij^2`` of its input during the forward of ``x``:
   ``s_i = sqrt(sum_j sigma_ij^2 / m)``; a BatchNorm whose input is identically zero
   (a dead branch, e.g. fed only by NAS-Bench-201 "none" edges) scales no signal and is
   left out (its ``log s_i`` would be ``-inf``);
5. ``zen = log(Delta) + sum_i log(s_i)``.

The norm of step 3 is the Frobenius norm of the paper (option ``zen_norm="fro"``, the
default); ``zen_norm="l1"`` uses the sum of absolute differences, as the authors' code.
``zen_repeat`` (default 1) averages the score over independent draws of weights and
inputs; ``zen_alpha`` (default 0.01) sets ``alpha``. Randomness comes from a generator
seeded with the pass's ``seed``: same seed, same score. Bigger is predicted better. A
network whose output does not depend on its input gives ``Delta = 0`` and ``-inf``
(not replaced).

Which feature map is "pre-GAP" (the rule, applied to any network):

- if the model has a ``forward_pre_gap(x)`` method (Zen-NAS's own model API), its output;
- otherwise the output of the LAST leaf module (a module without children), in execution
  order, whose output is still a map: a 4-D tensor ``(N, C, H, W)`` with ``H * W > 1``, or a
  3-D token tensor ``(N, T, D)`` with ``T > 1``. For a CNN this is the module just before
  global pooling collapses the map to ``1 x 1`` (NAS-Bench-201: the final ReLU); for a ViT
  it is the final token sequence before token pooling / the class-token read-out.
A ``ValueError`` is raised when no module produces such a map.

**Networks without BatchNorm (ViTs).** Zen-NAS defines the score for BN networks; the
BN term is a sum over BatchNorm layers, which is empty for a ViT (LayerNorm only), so
libranas computes ``zen = log(Delta)`` alone there (the expressivity term, at the
paper's N(0, 1) initialisation of every Linear/Conv2d weight). This is a deliberate,
documented choice, not a fallback: LayerNorm is not rescaled and not counted, as it is
not a BatchNorm. For an AutoFormer ViT the pre-GAP map is the final LayerNorm's token
sequence ``(N, T, D)`` (the class-token read-out follows it).

Examples
--------
>>> import torch
>>> from torch import nn
>>> from libranas.proxies._engine import NetworkPass
>>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
...                     nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))
>>> npass = NetworkPass(net, torch.zeros(4, 3, 8, 8), torch.zeros(4).long(), seed=1)
>>> zen(npass) == zen(npass)
True
"""

from __future__ import annotations

import copy
import math
from typing import Any

import torch
from torch import nn

from libranas.proxies._engine import NetworkPass
from libranas.proxies._registry import register_proxy

_BN = nn.modules.batchnorm._BatchNorm


def _is_map(t: Any) -> bool:
    if not isinstance(t, torch.Tensor):
        return False
    if t.dim() == 4:
        return t.shape[2] * t.shape[3] > 1
    if t.dim() == 3:
        return t.shape[1] > 1
    return False


def _gaussian_init(model: nn.Module, gen: torch.Generator) -> None:
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                w = torch.randn(m.weight.shape, generator=gen, dtype=torch.float64)
                m.weight.copy_(w.to(m.weight))
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, _BN) and m.affine:
                m.weight.fill_(1.0)
                m.bias.zero_()


def _forward_pre_gap(
    model: nn.Module, x: torch.Tensor, bn_vars: list[torch.Tensor] | None
) -> torch.Tensor:
    """Pre-GAP map of ``model(x)``; appends BN input channel variances to ``bn_vars``."""
    handles = []
    last: list[torch.Tensor] = []

    def bn_hook(module: nn.Module, inp: tuple[torch.Tensor, ...]) -> None:
        a = inp[0]
        dims = [d for d in range(a.dim()) if d != 1]
        bn_vars.append(a.double().var(dim=dims, unbiased=False))

    def map_hook(module: nn.Module, inp: tuple[torch.Tensor, ...], out: Any) -> None:
        if _is_map(out):
            last[:] = [out]

    try:
        if bn_vars is not None:
            handles += [
                m.register_forward_pre_hook(bn_hook) for m in model.modules() if isinstance(m, _BN)
            ]
        custom = getattr(model, "forward_pre_gap", None)
        if callable(custom):
            return custom(x)
        handles += [
            m.register_forward_hook(map_hook)
            for m in model.modules()
            if next(iter(m.children()), None) is None
        ]
        model(x)
    finally:
        for h in handles:
            h.remove()
    if not last:
        raise ValueError(
            "zen: no module of the network outputs a feature map (4-D with H*W > 1 or 3-D "
            "with more than one token); define model.forward_pre_gap(x) to say which one"
        )
    return last[0]


def zen_score(
    model: nn.Module,
    input_shape: tuple[int, ...],
    *,
    seed: int = 0,
    alpha: float = 0.01,
    norm: str = "fro",
    repeat: int = 1,
) -> float:
    """Zen-score of a deep copy of ``model`` (see the module docstring).

    Parameters
    ----------
    model : torch.nn.Module
        The network; never modified.
    input_shape : tuple of int
        ``(N, C, H, W)`` of the Gaussian input batch (``N >= 2`` for BatchNorm).
    seed : int, default=0
    alpha : float, default=0.01
        Perturbation scale.
    norm : {"fro", "l1"}, default="fro"
    repeat : int, default=1
        Number of independent draws averaged.

    Returns
    -------
    float

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Conv2d(1, 2, 1, bias=False)
    >>> # linear, no BN: f(x) - f(x + a*eps) = -a * W eps, so Delta is proportional to a
    >>> s1 = zen_score(net, (3, 1, 4, 4), alpha=0.01)
    >>> s2 = zen_score(net, (3, 1, 4, 4), alpha=0.02)
    >>> round(s2 - s1, 6) == round(math.log(2), 6)
    True
    """
    if norm not in ("fro", "l1"):
        raise ValueError(f"zen norm must be 'fro' or 'l1', got {norm!r}")
    if not (isinstance(repeat, int) and repeat >= 1):
        raise ValueError(f"zen repeat must be a positive int, got {repeat!r}")
    if not (isinstance(alpha, (int, float)) and alpha > 0):
        raise ValueError(f"zen alpha must be a positive number, got {alpha!r}")
    net = copy.deepcopy(model).train()
    param = next(net.parameters(), None)
    if param is None:
        raise ValueError("zen: the network has no parameters")
    device, dtype = param.device, param.dtype
    gen = torch.Generator().manual_seed(int(seed))
    scores = []
    with torch.no_grad():
        for _ in range(repeat):
            _gaussian_init(net, gen)
            x = torch.randn(input_shape, generator=gen, dtype=torch.float64)
            eps = torch.randn(input_shape, generator=gen, dtype=torch.float64)
            x_pert = (x + alpha * eps).to(device=device, dtype=dtype)
            x = x.to(device=device, dtype=dtype)
            bn_vars: list[torch.Tensor] = []
            f = _forward_pre_gap(net, x, bn_vars).double()
            f_pert = _forward_pre_gap(net, x_pert, None).double()
            diff = (f - f_pert).reshape(f.shape[0], -1)
            per_sample = diff.norm(dim=1) if norm == "fro" else diff.abs().sum(dim=1)
            delta = float(per_sample.mean())
            log_delta = math.log(delta) if delta > 0 else -math.inf
            # a BatchNorm whose input is identically zero (a dead branch, e.g. fed only by
            # NB201 "none" edges) rescales no signal: it is left out of the sum
            log_bn = sum(0.5 * math.log(float(v.mean())) for v in bn_vars if float(v.mean()) > 0)
            scores.append(log_delta + log_bn)
    return float(sum(scores) / len(scores))


@register_proxy(
    "zen",
    requires=("own_pass",),
    reference="Lin et al., Zen-NAS, ICCV 2021",
    description="log E||f(x) - f(x + a eps)|| on the pre-GAP map + sum log sqrt(BN variance)",
    options={
        "zen_alpha": "input perturbation scale a (default 0.01)",
        "zen_norm": "norm of the output difference, 'fro' (default) or 'l1'",
        "zen_repeat": "random perturbations averaged (default 1)",
    },
)
def zen(network_pass: NetworkPass) -> float:
    """Zen-score (see the module docstring for the formula and the pre-GAP rule).

    Parameters
    ----------
    network_pass : NetworkPass
        The shared pass; reads ``model``, the shape of ``inputs``, ``seed`` and the options
        ``zen_alpha`` (0.01), ``zen_norm`` ("fro") and ``zen_repeat`` (1).

    Returns
    -------
    float

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from libranas.proxies._engine import NetworkPass
    >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 4, 3),
    ...                     nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
    ...                     nn.Linear(4, 2))
    >>> a = zen(NetworkPass(net, torch.zeros(4, 3, 8, 8), torch.zeros(4).long(), seed=0))
    >>> b = zen(NetworkPass(net, torch.zeros(4, 3, 8, 8), torch.zeros(4).long(), seed=1))
    >>> math.isfinite(a) and a != b
    True
    """
    opts = network_pass.options
    return zen_score(
        network_pass.model,
        tuple(network_pass.inputs.shape),
        seed=network_pass.seed,
        alpha=opts.get("zen_alpha", 0.01),
        norm=opts.get("zen_norm", "fro"),
        repeat=opts.get("zen_repeat", 1),
    )
