"""VKDNW (Týbl & Neumann, "Training-free Neural Architecture Search through Variance of
Knowledge of Deep Network Weights", CVPR 2025): the spectrum of the Fisher information
matrix of the network weights at initialisation.

**Fisher information.** For a classifier with logits ``z(x; theta)`` and predictive
distribution ``p = softmax(z)``, the Fisher information of the weights is
``F = E_x E_{c ~ p(.|x)} [grad log p_c grad log p_c^T] = E_x [J^T (diag(p) - p p^T) J]``
with ``J = dz / dtheta`` (the expectation over the class uses the model's own distribution,
not the labels). On the batch ``x_1..x_N``:

    F = 1/N sum_n J_n^T (diag(p_n) - p_n p_n^T) J_n

**Weights.** The full ``F`` is far too large; as the paper, ``theta`` is a subset of one
weight per trainable parameter tensor: the first element (flat index 0) of every
parameter of the Conv2d, Linear, BatchNorm, LayerNorm and GroupNorm modules (registration
order, shared parameters once), so ``F`` is ``P x P`` with ``P`` the number of trainable
parameter tensors (NAS-Bench-201: up to 291). Parameters of other modules (e.g. a ViT's
class token and position embedding) are left out. ``J_n`` is computed exactly per sample
(one backward of the batch per class, with per-sample reductions for the selected
elements; samples must not interact, see BatchNorm below).

**Score.** With ``lambda_(1) .. lambda_(9)`` the deciles (quantiles 0.1, ..., 0.9, linear
interpolation) of the eigenvalues of ``F`` and ``w_k = lambda_(k) / sum_j lambda_(j)``:

    vkdnw = -sum_{k=1}^{9} w_k log w_k          (in [0, log 9]; 0 when all deciles are 0)

A high entropy means eigenvalues of similar size: the weights are equally hard to
estimate in every direction (the Cramér-Rao bound is isotropic), which the paper links to
trainability. Bigger is better. VKDNW is invariant to the scale of ``F`` and to the order
of the samples and of the parameters.

The paper ranks architectures first by their size and then by VKDNW ("VKDNW_single"):
``vkdnw_single = P + vkdnw / log 9`` orders architectures exactly as that lexicographic
ranking by (``P``, ``vkdnw``) whenever ``vkdnw < log 9`` (always, unless all deciles are
equal). Its aggregation with other proxies, ``VKDNW_agg``, is a rank aggregation over a
table of architectures: :func:`vkdnw_aggregate`.

**BatchNorm** (option ``vkdnw_bn``). ``"batch"`` (default): BatchNorm in training mode
normalises every sample with the mean and variance of the whole batch, held fixed
(:func:`~libranas.proxies._engine.batch_norm_fixed_to_batch_statistics`), so ``J_n`` is
the Jacobian of sample n's logits inside the train-mode batch forward (the statistics
treated as constants, as the per-sample gradients of ZiCo / L-SWAG here). ``"running"``:
the network is put in eval mode for the pass (BatchNorm uses its running statistics,
mean 0 and variance 1 at initialisation, so it is nearly the identity), as the authors'
code does. Option ``vkdnw_smoothing`` (default 0): ``p`` is replaced by
``(1 - a) p + a / C`` (the authors' code uses ``a = 0.05``, which keeps ``F`` away from 0
when the softmax saturates).

Raises ``ValueError`` when no supported module has a trainable parameter, when the logits
are not ``(N, C)``, or for shared BatchNorm modules (per-sample Jacobians are undefined).

Examples
--------
``z = W x + b`` with ``W = b = 0`` (``p = (1/2, 1/2)``) on ``x = 1, -1, 2, -2``: the subset
is ``W[0, 0]`` and ``b[0]``, ``J_n = [[x_n, 1], [0, 0]]``, ``diag(p) - p p^T = 1/4 [[1, -1],
[-1, 1]]``, so ``F = 1/4 mean [[x^2, x], [x, 1]] = diag(0.625, 0.25)``. Its deciles are
``0.25 + 0.375 k / 10`` for ``k = 1..9``:

>>> import numpy as np
>>> import torch
>>> from torch import nn
>>> from libranas.proxies._engine import NetworkPass
>>> from libranas.proxies.vkdnw import fisher_spectrum, vkdnw, vkdnw_single
>>> net = nn.Linear(1, 2)
>>> with torch.no_grad():
...     _ = net.weight.zero_(), net.bias.zero_()
>>> npass = NetworkPass(net, torch.tensor([[1.0], [-1.0], [2.0], [-2.0]]), torch.zeros(4).long())
>>> fisher_spectrum(npass).round(6).tolist()
[0.25, 0.625]
>>> d = 0.25 + 0.375 * np.arange(1, 10) / 10
>>> w = d / d.sum()
>>> round(vkdnw(npass), 6), round(float(-(w * np.log(w)).sum()), 6)
(2.172366, 2.172366)
>>> round(vkdnw_single(npass), 6)  # P = 2 tensors, plus vkdnw / log 9
2.988686
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import torch
from torch import nn

from libranas.proxies._engine import (
    NetworkPass,
    _batch_statistics_modules,
    _record_batch_statistics,
    batch_norm_fixed_to_batch_statistics,
    preserved_buffers,
)
from libranas.proxies._registry import register_proxy

__all__ = [
    "VKDNW_AGG_PROXIES",
    "FisherJacobian",
    "decile_entropy",
    "fisher_information",
    "fisher_jacobian",
    "fisher_parameters",
    "fisher_spectrum",
    "vkdnw",
    "vkdnw_aggregate",
    "vkdnw_single",
]

_REFERENCE = (
    "Týbl & Neumann, Training-free Neural Architecture Search through Variance of Knowledge "
    "of Deep Network Weights, CVPR 2025"
)
#: accepted values of ``options["vkdnw_bn"]``
VKDNW_BN_MODES = ("batch", "running")
#: the columns VKDNW_agg aggregates (see :func:`vkdnw_aggregate`)
VKDNW_AGG_PROXIES = ("vkdnw_single", "jacov", "az_expressivity", "az_trainability", "flops")
#: modules whose parameters' first elements form the Fisher subset
_SUPPORTED = (
    nn.Conv2d,
    nn.Linear,
    nn.modules.batchnorm._BatchNorm,
    nn.LayerNorm,
    nn.GroupNorm,
)
_DECILES = np.arange(1, 10) / 10
#: the options vkdnw and vkdnw_single read (declared at registration)
_OPTIONS = {
    "vkdnw_bn": "BatchNorm during the Fisher Jacobian: 'batch' (default, batch statistics held "
    "fixed) or 'running' (eval mode, as the authors' code)",
    "vkdnw_smoothing": "softmax smoothing a in [0, 1): p -> (1 - a) p + a / C (default 0; the "
    "authors' code uses 0.05)",
}


@dataclass(frozen=True)
class FisherJacobian:
    """Per-sample Jacobians of the logits w.r.t. the Fisher subset of weights.

    Attributes
    ----------
    jacobian : ndarray of shape (N, C, P)
        ``d z_c(x_n) / d theta_k``, float64.
    logits : ndarray of shape (N, C)
        The logits of the same forward, float64.
    names : list of str
        The parameter each column's element is the first element of.
    """

    jacobian: np.ndarray
    logits: np.ndarray
    names: list[str]


def fisher_parameters(model: nn.Module) -> list[tuple[str, nn.Module, nn.Parameter]]:
    """The parameters whose first element is in the Fisher subset, in registration order.

    Trainable (``requires_grad``) parameters of Conv2d, Linear, BatchNorm, LayerNorm and
    GroupNorm modules; a parameter shared by several modules appears once.

    Examples
    --------
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4), nn.ReLU())
    >>> [name for name, _, _ in fisher_parameters(net)]
    ['0.weight', '1.weight', '1.bias']
    """
    out: list[tuple[str, nn.Module, nn.Parameter]] = []
    seen: set[int] = set()
    for mname, module in model.named_modules():
        if not isinstance(module, _SUPPORTED):
            continue
        for pname, p in module.named_parameters(recurse=False):
            if p.requires_grad and id(p) not in seen:
                seen.add(id(p))
                out.append((f"{mname}.{pname}" if mname else pname, module, p))
    return out


def _conv_patch(m: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """What multiplies ``weight[0, 0, 0, 0]`` at every output position of channel 0:
    the (padded, strided, dilated) input channel 0, shape ``(N, H_out, W_out)``."""
    x0 = x[:, :1]
    delta = x0.new_zeros((1, 1, *m.kernel_size))
    delta[0, 0, 0, 0] = 1.0
    padding: Any = m.padding
    if m.padding_mode != "zeros":
        x0 = nn.functional.pad(x0, m._reversed_padding_repeated_twice, mode=m.padding_mode)
        padding = 0
    return nn.functional.conv2d(x0, delta, None, m.stride, padding, m.dilation)[:, 0]


def _normalised(
    m: nn.Module, x: torch.Tensor, stats: dict[nn.Module, Any]
) -> tuple[torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]:
    """``(x_hat at the first element, selector of that element)`` of a normalisation layer:
    what multiplies ``weight[0]`` (``x_hat``) and where ``bias[0]`` acts."""
    if isinstance(m, nn.modules.batchnorm._BatchNorm):
        if m in stats:
            mean, var = stats[m]
        else:  # eval mode with running statistics
            mean, var = m.running_mean, m.running_var
        xhat = (x[:, 0] - mean[0]) / torch.sqrt(var[0] + m.eps)
        return xhat, lambda g: g[:, 0]
    if isinstance(m, nn.GroupNorm):
        xhat = nn.functional.group_norm(x, m.num_groups, None, None, m.eps)[:, 0]
        return xhat, lambda g: g[:, 0]
    # LayerNorm: the first element of the normalised (trailing) dimensions
    idx = (Ellipsis,) + (0,) * len(m.normalized_shape)
    xhat = nn.functional.layer_norm(x, m.normalized_shape, None, None, m.eps)[idx]
    return xhat, lambda g: g[idx]


def _fixed_statistics(npass: NetworkPass, mode: str) -> dict[nn.Module, Any]:
    """Whole-batch mean / variance of the BatchNorm modules that would use batch statistics
    (reused from the fused forward when it recorded them, in ``"batch"`` mode)."""
    model = npass.model
    bns = _batch_statistics_modules(model)
    if not bns:
        return {}
    cached = npass.cache.get("bn_batch_stats") if mode == "batch" else None
    if cached and set(cached) == set(bns):
        return cached
    stats: dict[nn.Module, Any] = {}
    handles = [m.register_forward_pre_hook(partial(_record_batch_statistics, stats)) for m in bns]
    try:
        with torch.no_grad(), preserved_buffers(model), npass.seeded():
            model(npass.inputs)
    finally:
        for h in handles:
            h.remove()
    if any(v is None for v in stats.values()):
        raise ValueError(
            "vkdnw: a BatchNorm module is called more than once per forward (shared "
            "BatchNorm); per-sample Jacobians with fixed batch statistics are undefined"
        )
    if mode == "batch" and "bn_batch_stats" not in npass.cache:
        npass.cache["bn_batch_stats"] = stats  # the per-sample gradient pass may reuse them
    return stats


def _compute_jacobian(npass: NetworkPass) -> FisherJacobian:
    mode = npass.options.get("vkdnw_bn", "batch")
    if mode not in VKDNW_BN_MODES:
        raise ValueError(f"options['vkdnw_bn'] must be one of {VKDNW_BN_MODES}, got {mode!r}")
    model = npass.model
    params = fisher_parameters(model)
    if not params:
        raise ValueError(
            "vkdnw: the network has no trainable parameter in a Conv2d, Linear, BatchNorm, "
            "LayerNorm or GroupNorm module"
        )
    column = {id(p): j for j, (_, _, p) in enumerate(params)}
    training = {m: m.training for m in model.modules()}
    state: dict[str, Any] = {"c": 0, "jac": None}
    handles = []
    try:
        if mode == "running":
            model.eval()
        stats = _fixed_statistics(npass, mode)
        hook = partial(
            _jacobian_forward_hook, column=column, n=npass.batch_size, stats=stats, state=state
        )
        owners = [  # every module owning a selected parameter (shared ones included)
            m
            for m in model.modules()
            if isinstance(m, _SUPPORTED)
            and any(id(p) in column for p in m.parameters(recurse=False))
        ]
        handles = [m.register_forward_hook(hook) for m in owners]
        logits = _per_class_backwards(npass, stats, handles, state, len(params))
    finally:
        for h in handles:
            h.remove()
        for m, flag in training.items():
            m.training = flag
    return FisherJacobian(
        state["jac"].cpu().numpy(),
        logits.detach().double().cpu().numpy(),
        [name for name, _, _ in params],
    )


def _jacobian_forward_hook(
    m: nn.Module,
    inp: tuple[torch.Tensor, ...],
    out: Any,
    *,
    column: dict[int, int],
    n: int,
    stats: Any,
    state: dict[str, Any],
) -> None:
    """On a parameter-owning module's output, a tensor hook that adds, in the backward of
    class ``state["c"]``, each sample's derivative w.r.t. the module's weight and bias (one
    scalar per tensor) into ``state["jac"]``."""
    if not isinstance(out, torch.Tensor) or not out.requires_grad:
        return
    x = inp[0].detach()
    cols = {
        pname: column[id(p)] for pname, p in m.named_parameters(recurse=False) if id(p) in column
    }
    if isinstance(m, nn.Conv2d):
        factor, select = _conv_patch(m, x), (lambda g: g[:, 0])
    elif isinstance(m, nn.Linear):
        factor, select = x[..., 0], (lambda g: g[..., 0])
    else:
        factor, select = _normalised(m, x, stats)
    factor = factor.reshape(n, -1)

    def tensor_hook(g: torch.Tensor) -> None:
        gs = select(g.detach()).reshape(n, -1)
        jac, c = state["jac"], state["c"]
        if "weight" in cols:
            jac[:, c, cols["weight"]] += (gs * factor).sum(1).to(jac.dtype)
        if "bias" in cols:
            jac[:, c, cols["bias"]] += gs.sum(1).to(jac.dtype)

    out.register_hook(tensor_hook)


def _per_class_backwards(
    npass: NetworkPass, stats: Any, handles: list[Any], state: dict[str, Any], n_params: int
) -> torch.Tensor:
    """One forward (BatchNorm fixed to ``stats``), then one backward per class of the
    summed logit, each filling ``state["jac"][:, c]`` through the tensor hooks; the logits."""
    model, n = npass.model, npass.batch_size
    x = npass.inputs.detach().clone().requires_grad_(True)
    with (
        npass.seeded(),
        preserved_buffers(model),
        batch_norm_fixed_to_batch_statistics(model, x, stats),
        torch.enable_grad(),
    ):
        logits = model(x)
        for h in handles:
            h.remove()
        if logits.dim() != 2 or logits.shape[0] != n:
            raise ValueError(
                f"vkdnw: the network returned {tuple(logits.shape)}, expected (N, C) logits"
            )
        n_classes = int(logits.shape[1])
        state["jac"] = torch.zeros(
            (n, n_classes, n_params), dtype=torch.float64, device=logits.device
        )
        for c in range(n_classes):
            state["c"] = c
            torch.autograd.grad(
                logits[:, c].sum(), x, retain_graph=c < n_classes - 1, allow_unused=True
            )
    return logits


def fisher_jacobian(network_pass: NetworkPass) -> FisherJacobian:
    """The per-sample logit Jacobians of the Fisher subset (cached as ``cache["vkdnw_jac"]``).

    Parameters
    ----------
    network_pass : NetworkPass
        The shared pass; options ``vkdnw_bn`` (``"batch"`` | ``"running"``) are read.

    Returns
    -------
    FisherJacobian
    """
    return network_pass.shared("vkdnw_jac", _compute_jacobian)


def fisher_information(
    jacobian: np.ndarray, logits: np.ndarray, smoothing: float = 0.0
) -> np.ndarray:
    """``F = 1/N sum_n J_n^T (diag(p_n) - p_n p_n^T) J_n`` with ``p_n = softmax(logits_n)``.

    Parameters
    ----------
    jacobian : ndarray of shape (N, C, P)
    logits : ndarray of shape (N, C)
    smoothing : float, default=0.0
        ``p`` becomes ``(1 - smoothing) p + smoothing / C``; in ``[0, 1)``.

    Returns
    -------
    ndarray of shape (P, P)
        Symmetric, positive semi-definite, float64.

    Examples
    --------
    >>> import numpy as np
    >>> J = np.array([[[1.0, 1.0], [0.0, 0.0]]])  # one sample, 2 classes, 2 weights
    >>> fisher_information(J, np.zeros((1, 2)))  # p = (1/2, 1/2): 1/4 [[1, 1], [1, 1]]
    array([[0.25, 0.25],
           [0.25, 0.25]])
    """
    if not 0.0 <= smoothing < 1.0:
        raise ValueError(f"vkdnw_smoothing must be in [0, 1), got {smoothing!r}")
    jac = np.asarray(jacobian, dtype=np.float64)
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    p = (1.0 - smoothing) * p + smoothing / p.shape[1]
    n = jac.shape[0]
    jtp = np.einsum("ncp,nc->np", jac, p)
    fisher = np.einsum("ncp,nc,ncq->pq", jac, p, jac) / n - jtp.T @ jtp / n
    return (fisher + fisher.T) / 2


def fisher_spectrum(network_pass: NetworkPass) -> np.ndarray:
    """Eigenvalues of the Fisher information of the subset, ascending, clipped at 0.

    Cached as ``cache["vkdnw_spectrum"]``; option ``vkdnw_smoothing`` (default 0).
    """

    def compute(npass: NetworkPass) -> np.ndarray:
        smoothing = npass.options.get("vkdnw_smoothing", 0.0)
        if isinstance(smoothing, bool) or not isinstance(smoothing, (int, float)):
            raise TypeError(f"option vkdnw_smoothing must be a float, got {smoothing!r}")
        fj = fisher_jacobian(npass)
        fisher = fisher_information(fj.jacobian, fj.logits, float(smoothing))
        return np.clip(np.linalg.eigvalsh(fisher), 0.0, None)

    return network_pass.shared("vkdnw_spectrum", compute)


def decile_entropy(eigenvalues: Sequence[float] | np.ndarray) -> float:
    """``-sum_k w_k log w_k`` over the normalised deciles ``w`` of a spectrum (0 if all are 0).

    Parameters
    ----------
    eigenvalues : array-like of float
        Non-negative eigenvalues, any order.

    Returns
    -------
    float
        In ``[0, log 9]``; ``log 9`` for a flat spectrum.

    Examples
    --------
    >>> round(decile_entropy([2.0, 2.0, 2.0]), 6) == round(float(np.log(9)), 6)
    True
    >>> round(decile_entropy([0.0, 0.0, 1.0]), 6)  # deciles 0 (x5), 0.2, 0.4, 0.6, 0.8
    1.279854
    """
    lam = np.asarray(eigenvalues, dtype=np.float64)
    if lam.size == 0:
        raise ValueError("vkdnw: empty spectrum")
    q = np.quantile(lam, _DECILES)
    total = float(q.sum())
    if not total > 0:
        return 0.0
    w = q[q > 0] / total
    return float(-(w * np.log(w)).sum())


@register_proxy(
    "vkdnw",
    requires=("own_pass",),
    reference=_REFERENCE,
    description="entropy of the deciles of the Fisher-information spectrum (one weight per tensor)",
    options=_OPTIONS,
)
def vkdnw(network_pass: NetworkPass) -> float:
    """VKDNW: entropy of the normalised deciles of the Fisher spectrum (bigger is better)."""
    return decile_entropy(fisher_spectrum(network_pass))


@register_proxy(
    "vkdnw_single",
    requires=("own_pass",),
    reference=_REFERENCE,
    description="number of trainable parameter tensors + vkdnw / log 9 (size first, then VKDNW)",
    options=_OPTIONS,
)
def vkdnw_single(network_pass: NetworkPass) -> float:
    """VKDNW_single: ``P + vkdnw / log 9``, ``P`` the number of trainable parameter tensors
    in the Fisher subset (bigger is better; see the module docstring)."""
    size = len(fisher_jacobian(network_pass).names)
    return float(size + vkdnw(network_pass) / math.log(9.0))


def vkdnw_aggregate(table: Any, columns: Sequence[str] = VKDNW_AGG_PROXIES) -> np.ndarray:
    """VKDNW_agg of every architecture of a score table: ``sum_m log(rank_m / n)``.

    The paper aggregates VKDNW_single with other training-free scores as AZ-NAS does (ranks
    over the architectures, logarithm, sum): here ``vkdnw_single``, ``jacov``,
    ``az_expressivity``, ``az_trainability`` and ``flops``, the combination of the authors'
    evaluation code (the paper's text lists the components only loosely). Missing values
    rank last (:func:`libranas.proxies.aznas.log_rank_sum`).

    Parameters
    ----------
    table : pandas.DataFrame
        Proxy scores with (at least) the ``columns``.
    columns : sequence of str, default=VKDNW_AGG_PROXIES
        The columns to aggregate.

    Returns
    -------
    ndarray of shape (n_architectures,)
        Bigger = predicted better.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({c: [1.0, 2.0] for c in VKDNW_AGG_PROXIES})
    >>> vkdnw_aggregate(t).round(4)  # row 0 is last on all five
    array([-3.4657,  0.    ])
    """
    from libranas.proxies.aznas import log_rank_sum

    return log_rank_sum(table, list(columns))
