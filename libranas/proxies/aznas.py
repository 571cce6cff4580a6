"""AZ-NAS (Lee & Ham, "AZ-NAS: Assembling Zero-Cost Proxies for Network Architecture
Search", CVPR 2024): expressivity, progressivity, trainability and complexity, and their
rank aggregation.

All four read one train-mode forward of a batch through the network's *blocks*
(:func:`libranas.proxies._engine.feature_blocks`: the stem and the cells of a cell-based
network, the blocks of a ViT; option ``az_blocks`` names them explicitly). With
``f_0, ..., f_{L-1}`` the block outputs (:attr:`NetworkPass.block_features`, fused with the
other batch-loss passes):

- **expressivity**: every position of every sample of ``f_l`` is one feature vector (a
  ``(N, C, H, W)`` map gives ``N*H*W`` vectors of ``C`` channels, a ``(N, T, C)`` token
  tensor ``N*T`` vectors). ``Sigma_l`` is their covariance (centred, divided by the number
  of vectors), ``lambda`` its eigenvalues, ``p = lambda / sum(lambda)`` and
  ``H_l = -sum_i p_i log p_i`` (isotropy of the features).
  ``az_expressivity = sum_l H_l``.
- **progressivity**: ``az_progressivity = min_{l >= 1} (H_l - H_{l-1})`` (the expressivity
  should grow with depth; the worst step counts).
- **trainability**: for each block ``l >= 1``, ``J_l = d f_l / d f_{l-1}``; with a Rademacher
  probe ``r`` (entries +-1) and ``g = J_l^T r`` (one vector-Jacobian product),
  ``M_l = G^T R / n`` (``G``, ``R`` the vectors of ``g`` and ``r`` per position, ``n`` of them;
  when block ``l`` halves the resolution ``g`` is pixel-unshuffled first) estimates
  ``J_l^T`` (``E[r r^T] = I``). With ``sigma_l`` its largest singular value,
  ``az_trainability = mean_l ( -sigma_l - 1 / (sigma_l + 1e-6) + 2 )``, maximal (0) at
  ``sigma_l = 1``: blocks that neither shrink nor amplify gradients. A block with two inputs
  (a DARTS cell also reads the block before the previous one) is differentiated w.r.t. the
  previous block's output only.
- **complexity**: ``az_complexity`` = FLOPs of the network (millions of multiply-accumulates
  of one image, as :func:`libranas.proxies.size.flops`).

**Input** (option ``az_input``). ``"batch"`` (default): the pass's own batch, in the forward
shared with the other batch-loss proxies. ``"gaussian"``: a batch of standard Gaussian images
of the same shape (seeded by the pass's seed), in a forward of its own, which is what the
authors' NAS-Bench-201 code feeds to AZ-NAS; measured in
``benchmarks/results/new_proxies.md`` (progressivity in particular ranks NB201 cells much
better on Gaussian inputs).

Bigger is better for all four. The paper's score of a set of architectures is the rank
aggregation :func:`aznas_aggregate`, ``sum_m log(rank_m / n)`` over the four proxies
(ranks 1..n ascending, ties averaged): it needs the whole table, so it is a function of a
score table, not a registered proxy. :class:`libranas.ZCRanker` ``("log-rank")`` fitted and
applied on the same table orders architectures the same way (it averages instead of summing)
when no value is missing; :func:`aznas_aggregate` puts missing values last (AZ-NAS's ``-inf``).

Edge cases, resolved as the authors' code does unless stated:

- a block that is exactly the identity map (``g == r``, e.g. a NAS-Bench-201 cell whose only
  non-``none`` edge is a skip from the input) makes AZ-NAS's trainability ``-inf``; here
  ``az_trainability`` raises ``ValueError`` (NaN in a proxy matrix, ranked last by
  :func:`aznas_aggregate`);
- a block that blocks the gradient (``sigma = 0``) scores ``-1e6`` through the ``1e-6``;
- a feature map with zero variance (all-``none`` cells output zeros) has ``H_l = 0`` here
  (a constant map spans no direction); the authors' code gets NaN there and ranks the
  network last on expressivity and progressivity;
- eigenvalues are computed in float64 and clipped at 0 (``0 log 0 = 0``), without the
  authors' ``+1e-8`` inside the logarithm.

Examples
--------
Hand-checked on a network whose blocks are linear maps of 2-D points: the identity stem
sees ``x`` with covariance ``diag(0.5, 2)``, the first block ``diag(2, 1) x`` with
covariance ``diag(2, 2)``, the second keeps the first coordinate only (``diag(2, 0)``):

>>> from collections import OrderedDict
>>> import torch
>>> from torch import nn
>>> from libranas.proxies._engine import NetworkPass
>>> from libranas.proxies.aznas import az_expressivity, az_progressivity
>>> l1, l2 = nn.Linear(2, 2, bias=False), nn.Linear(2, 2, bias=False)
>>> with torch.no_grad():
...     _ = l1.weight.copy_(torch.diag(torch.tensor([2.0, 1.0])))
...     _ = l2.weight.copy_(torch.diag(torch.tensor([1.0, 0.0])))
>>> net = nn.Sequential(OrderedDict(stem=nn.Identity(), cells=nn.Sequential(l1, l2)))
>>> x = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 2.0], [0.0, -2.0]])
>>> npass = NetworkPass(net, x, torch.zeros(4, dtype=torch.long))
>>> round(az_expressivity(npass), 6)  # H(0.2, 0.8) + log 2 + 0
1.19355
>>> round(az_progressivity(npass), 6)  # min(log 2 - H(0.2, 0.8), 0 - log 2)
-0.693147

With one channel, ``M = mean(g r) = w mean(r^2) = w`` exactly, so blocks ``y = 2 x`` and
``y = x / 2`` have ``sigma = 2`` and ``sigma = 1/2``, both scoring ``-1/2`` (up to the
``1e-6``):

>>> from libranas.proxies.aznas import az_trainability
>>> up, down = nn.Linear(1, 1, bias=False), nn.Linear(1, 1, bias=False)
>>> with torch.no_grad():
...     _ = up.weight.fill_(2.0)
...     _ = down.weight.fill_(0.5)
>>> net = nn.Sequential(OrderedDict(stem=nn.Identity(), cells=nn.Sequential(up, down)))
>>> npass = NetworkPass(net, torch.randn(8, 1), torch.zeros(8, dtype=torch.long))
>>> round(az_trainability(npass), 5)  # mean of (-2 - 1/2 + 2) and (-1/2 - 2 + 2)
-0.5
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from libranas.proxies._engine import NetworkPass
from libranas.proxies._registry import register_proxy
from libranas.proxies.size import count_macs

__all__ = [
    "AZNAS_PROXIES",
    "AZ_INPUTS",
    "az_complexity",
    "az_expressivity",
    "az_progressivity",
    "az_trainability",
    "aznas_aggregate",
    "block_features",
    "feature_entropy",
    "log_rank_sum",
]

_REFERENCE = (
    "Lee & Ham, AZ-NAS: Assembling Zero-Cost Proxies for Network Architecture Search, CVPR 2024"
)
#: the four AZ-NAS proxies, in the paper's order (the columns of :func:`aznas_aggregate`)
AZNAS_PROXIES = ("az_expressivity", "az_progressivity", "az_trainability", "az_complexity")
#: guard of the trainability term, as in the authors' code
_SIGMA_EPS = 1e-6
#: the option the block-feature proxies read (``az_blocks`` is an option of the shared pass)
_OPTIONS = {
    "az_input": "AZ-NAS input: 'batch' (default, the shared forward) or 'gaussian' (a seeded "
    "standard-Gaussian batch in its own forward, as the authors' NB201 code)",
}


def _vectors(feature: torch.Tensor) -> torch.Tensor:
    """Feature vectors of a block output as ``(n, C)`` float64 rows (channel last)."""
    if feature.dim() == 4:  # (N, C, H, W): one vector per sample and pixel
        return feature.permute(0, 2, 3, 1).reshape(-1, feature.shape[1]).double()
    if feature.dim() in (2, 3):  # (N, C) or (N, T, C) tokens
        return feature.reshape(-1, feature.shape[-1]).double()
    raise ValueError(
        f"block output of shape {tuple(feature.shape)}: expected (N, C), (N, T, C) or (N, C, H, W)"
    )


def feature_entropy(feature: torch.Tensor) -> float:
    """Entropy of the normalised eigenvalues of the feature covariance of one block output.

    ``-sum_i p_i log p_i`` with ``p = lambda / sum(lambda)``, ``lambda`` the eigenvalues of the
    (biased) covariance of the feature vectors (see the module docstring); 0 for a map with
    zero variance.

    Parameters
    ----------
    feature : torch.Tensor
        ``(N, C, H, W)``, ``(N, T, C)`` or ``(N, C)``.

    Returns
    -------
    float
        In ``[0, log C]``.

    Examples
    --------
    >>> import torch
    >>> round(feature_entropy(torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])), 6)
    0.693147
    """
    v = _vectors(feature)
    v = v - v.mean(0, keepdim=True)
    cov = v.T @ v / v.shape[0]
    lam = torch.linalg.eigvalsh(cov).clamp_min(0.0)
    total = float(lam.sum())
    if not total > 0:
        return 0.0
    p = lam[lam > 0] / total
    return float(-(p * p.log()).sum())


#: accepted values of ``options["az_input"]``
AZ_INPUTS = ("batch", "gaussian")


def block_features(network_pass: NetworkPass) -> dict[str, Any]:
    """The block outputs and probes AZ-NAS reads (option ``az_input``).

    ``"batch"`` (default): :attr:`NetworkPass.block_features` of the pass's own batch, fused
    with the other batch-loss passes. ``"gaussian"``: the same quantities on a batch of
    standard Gaussian images of the batch's shape, drawn (on the CPU) from a generator
    seeded with the pass's seed, in a separate forward (cached as
    ``cache["az_gaussian_blocks"]``): the input AZ-NAS's NAS-Bench-201 code feeds.
    """
    mode = network_pass.options.get("az_input", "batch")
    if mode == "batch":
        return network_pass.block_features
    if mode != "gaussian":
        raise ValueError(f"options['az_input'] must be one of {AZ_INPUTS}, got {mode!r}")

    def compute(npass: NetworkPass) -> dict[str, Any]:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(npass.seed)
            noise = torch.randn(tuple(npass.inputs.shape), dtype=npass.inputs.dtype)
        options = {**npass.options, "az_input": "batch"}
        sub = NetworkPass(
            npass.model, noise.to(npass.device), npass.targets, seed=npass.seed, options=options
        )
        return sub.block_features

    return network_pass.shared("az_gaussian_blocks", compute)


def block_entropies(network_pass: NetworkPass) -> list[float]:
    """``H_l`` of every block output, in forward order (cached as ``cache["az_entropies"]``)."""

    def compute(npass: NetworkPass) -> list[float]:
        return [feature_entropy(f) for f in block_features(npass)["features"]]

    return network_pass.shared("az_entropies", compute)


def _sigma_max(r: torch.Tensor, g: torch.Tensor) -> float | None:
    """Largest singular value of ``G^T R / n`` (probe ``r`` of block output, VJP ``g``).

    None when the block's input and output positions cannot be paired (a grid that is not an
    integer multiple of the other, or a different number of tokens: PiT's token pooling).
    """
    if r.dim() == 4 and g.dim() == 4 and g.shape[2:] != r.shape[2:]:
        stride = g.shape[2] // r.shape[2]
        if stride < 1 or g.shape[2:] != (stride * r.shape[2], stride * r.shape[3]):
            return None
        g = nn.functional.pixel_unshuffle(g, stride)
    rv, gv = _vectors(r), _vectors(g)
    if rv.shape[0] != gv.shape[0]:
        return None
    m = gv.T @ rv / rv.shape[0]
    return float(torch.linalg.svdvals(m).max())


@register_proxy(
    "az_expressivity",
    requires=("block_features",),
    reference=_REFERENCE,
    description="sum over blocks of the entropy of the feature-covariance eigenvalues",
    options=_OPTIONS,
)
def az_expressivity(network_pass: NetworkPass) -> float:
    """AZ-NAS expressivity ``sum_l H_l`` (bigger is better; see the module docstring)."""
    return float(sum(block_entropies(network_pass)))


@register_proxy(
    "az_progressivity",
    requires=("block_features",),
    reference=_REFERENCE,
    description="smallest increase of the feature entropy from one block to the next",
    options=_OPTIONS,
)
def az_progressivity(network_pass: NetworkPass) -> float:
    """AZ-NAS progressivity ``min_l (H_l - H_{l-1})`` (bigger is better).

    Raises ``ValueError`` when the network has fewer than 2 blocks.
    """
    h = block_entropies(network_pass)
    if len(h) < 2:
        raise ValueError(f"az_progressivity needs at least 2 blocks, the network has {len(h)}")
    return float(min(b - a for a, b in zip(h[:-1], h[1:], strict=True)))


@register_proxy(
    "az_trainability",
    requires=("block_features",),
    reference=_REFERENCE,
    description="mean over blocks of -sigma - 1/sigma + 2, sigma the block Jacobian's norm",
    options=_OPTIONS,
)
def az_trainability(network_pass: NetworkPass) -> float:
    """AZ-NAS trainability ``mean_l (-sigma_l - 1/(sigma_l + 1e-6) + 2)`` (bigger is better).

    Blocks whose input and output positions cannot be paired (grids that are neither equal
    nor an integer down-sampling, or a changed number of tokens, as in PiT's pooling stages)
    have no per-position estimate and are left out of the mean. Raises ``ValueError`` when
    the network has fewer than 2 blocks, when a block is exactly the identity map (AZ-NAS
    scores it ``-inf``) or when no block can be estimated.
    """
    feats = block_features(network_pass)
    names, probes = feats["names"], feats["probes"]
    if not probes:
        raise ValueError(f"az_trainability needs at least 2 blocks, the network has {len(names)}")
    scores = []
    for i, (r, g) in enumerate(probes, start=1):
        pair = f"block {names[i]!r} (after {names[i - 1]!r})"
        if g.shape == r.shape and torch.equal(g, r):
            raise ValueError(
                f"az_trainability: {pair} is the identity map; AZ-NAS scores such a network -inf"
            )
        sigma = _sigma_max(r, g)
        if sigma is not None:
            scores.append(-sigma - 1.0 / (sigma + _SIGMA_EPS) + 2.0)
    if not scores:
        shapes = [(tuple(g.shape), tuple(r.shape)) for r, g in probes]
        raise ValueError(
            "az_trainability: no block's input and output positions can be paired (input, "
            f"output shapes per block: {shapes}); the Jacobian has no per-position estimate"
        )
    return float(np.mean(scores))


@register_proxy(
    "az_complexity",
    requires=("model",),
    reference=_REFERENCE,
    description="MFLOPs of one image (AZ-NAS's complexity term)",
    options={},  # reads no option of its own
)
def az_complexity(network_pass: NetworkPass) -> float:
    """AZ-NAS complexity: millions of multiply-accumulates of one image (bigger is better).

    The same count as :func:`libranas.proxies.size.flops` (Conv2d and Linear, no biases).
    """
    return count_macs(network_pass.model, network_pass.inputs[:1], bias=False) / 1e6


# ==================================================================================
# rank aggregation over a table of architectures
# ==================================================================================


def _columns(table: Any, columns: Sequence[str] | None) -> tuple[np.ndarray, list[str]]:
    """``(n, k)`` float array of ``columns`` of a DataFrame (or of a 2-D array, all columns)."""
    if hasattr(table, "columns"):
        names = list(table.columns) if columns is None else list(columns)
        missing = [c for c in names if c not in table.columns]
        if missing:
            raise ValueError(
                f"the score table has no column(s) {missing}; it has {list(table.columns)}"
            )
        return np.asarray(table[names], dtype=float), names
    arr = np.asarray(table, dtype=float)
    if arr.ndim != 2:
        raise ValueError(f"the score table must be 2-D (architectures x proxies), got {arr.shape}")
    if columns is not None and len(columns) != arr.shape[1]:
        raise ValueError(f"{len(columns)} column names for a table of {arr.shape[1]} columns")
    return arr, list(columns) if columns is not None else [str(j) for j in range(arr.shape[1])]


def log_rank_sum(table: Any, columns: Sequence[str] | None = None) -> np.ndarray:
    """``sum_m log(rank_m / n)``: AZ-NAS's non-linear rank aggregation of score columns.

    Each column is ranked ascending over the ``n`` rows (1 = worst, ``n`` = best, ties
    averaged as ``scipy.stats.rankdata``); a missing value (NaN, a failed proxy) ranks below
    every finite value, as AZ-NAS's ``-inf``. The logarithm punishes a low rank on any single
    proxy more than a mean of ranks would.

    Parameters
    ----------
    table : pandas.DataFrame or array-like of shape (n_architectures, n_columns)
        Scores, bigger = better in every column.
    columns : sequence of str, optional
        Columns of a DataFrame to aggregate (default: all of them).

    Returns
    -------
    ndarray of shape (n_architectures,)
        At most 0; bigger = predicted better.

    Examples
    --------
    >>> log_rank_sum([[1.0, 10.0], [2.0, 30.0], [3.0, 20.0]]).round(4)  # ranks (1,1) (2,3) (3,2)
    array([-2.1972, -0.4055, -0.4055])
    """
    from scipy.stats import rankdata

    arr, names = _columns(table, columns)
    n = arr.shape[0]
    if n == 0:
        return np.zeros(0)
    total = np.zeros(n)
    for j in range(arr.shape[1]):
        col = np.where(np.isnan(arr[:, j]), -np.inf, arr[:, j])
        if np.isposinf(col).any():
            raise ValueError(f"column {names[j]!r} holds +inf; scores must be finite or NaN")
        total += np.log(rankdata(col) / n)
    return total


def aznas_aggregate(table: Any, columns: Sequence[str] = AZNAS_PROXIES) -> np.ndarray:
    """AZ-NAS's score of every architecture of a table: :func:`log_rank_sum` of its 4 proxies.

    Parameters
    ----------
    table : pandas.DataFrame
        Proxy scores with (at least) the columns ``az_expressivity``, ``az_progressivity``,
        ``az_trainability`` and ``az_complexity`` (e.g. a :class:`libranas.ProxyFeaturizer`
        output wrapped in a DataFrame).
    columns : sequence of str, default=AZNAS_PROXIES
        The columns to aggregate (e.g. ``flops`` in place of ``az_complexity``).

    Returns
    -------
    ndarray of shape (n_architectures,)
        Bigger = predicted better.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"az_expressivity": [1.0, 2.0], "az_progressivity": [0.1, 0.2],
    ...                   "az_trainability": [-1.0, -2.0], "az_complexity": [5.0, 6.0]})
    >>> aznas_aggregate(t).round(4)  # row 1 is last on trainability only
    array([-2.0794, -0.6931])
    """
    return log_rank_sum(table, list(columns))
