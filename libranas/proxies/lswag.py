"""L-SWAG (Casarin, Escalera, Lanz, "L-SWAG: Layer-Sample Wise Activation with Gradients
information for Zero-Shot NAS on Vision Transformers", CVPR 2025), re-derived from the
paper (no official code exists).

    lswag = Lambda * Psi

**Lambda** (trainability, ``lswag_lambda``)::

    Lambda = sum over weight layers l in the band of
                 log( sum over weights w of l with Var_i|g_w| > 0 of 1 / sqrt(Var_i |g_w|) )

with g_w = d loss(x_i, y_i) / d w for each sample i of the batch, the variance over the
samples (``ddof=1``) taken separately for every weight. Weights with zero variance are
skipped; a layer with no weight left has an undefined term (:func:`layer_log_sigma`
gives ``nan``) and is left out of the sum. Layers are Conv2d/Linear modules in
registration order. The per-sample statistics come from
:attr:`libranas.proxies._engine.NetworkPass.per_sample_grads` (exact per-sample
gradients by default; see there for the BatchNorm semantics and the ``"chunks"`` option).

**Psi** (expressivity, ``lswag_psi``): SWAP's count of distinct sample-wise activation
patterns (:mod:`libranas.proxies.swap`): for every post-activation unit u the binary
S-vector ``(1[a_u(x_1) > 0], ..., 1[a_u(x_S) > 0])`` over the batch, Psi = number of
distinct such vectors over the units of the activation calls up to the band's upper end.

**Band** (option ``lswag_band``): ``None`` (default) uses all layers; otherwise a pair
``(lo, hi)`` of depth percentiles, ``0 <= lo < hi <= 100``. Weight layer l (0-based) of
a network with D weight layers is in the band when ``lo <= 100 * l / D < hi``, i.e. its
depth bin ``floor(10 * l / D)`` (METHOD's ``int((l / D) * 100 // 10)`` in exact
arithmetic) lies in ``[lo / 10, hi / 10)`` for percentiles that are multiples of 10. Psi
uses activation call j of J when ``100 * j < hi * J`` (layers 1..L_hat of the paper).

A narrow band can miss every layer of a shallow network: with 8 weight layers the
depths are 0, 12.5, ..., 87.5, so ``(90, 100)`` holds none. Then Lambda uses the
layer(s) whose depth ``100 * l / D`` is nearest to the band (here the last layer, at
87.5), so that every network of a space gets a score on the same footing (option
``lswag_empty_band="nearest"``, the default; ``"error"`` raises ValueError instead,
which the featurizer reports as NaN). See :func:`band_layers`.
Choose the band once per search space with :func:`layer_log_sigma`,
:func:`depth_profile` and :func:`choose_band` (or :func:`calibrate_band`).

**ViTs.** The weight layers of an AutoFormer ViT are, in order, ``patch_embed.proj``
(a patchify conv), per block ``attn.qkv``, ``attn.proj``, ``mlp.fc1``, ``mlp.fc2``, and
``head`` (``D = 4 * depth + 2``); Psi's units are the token-channel positions of every
GeLU input ``(N, T, C)`` (one activation call per block). Exact per-sample gradients of
such models take the engine's ``hooks`` path (one batched backward). A band calibrated
for AutoFormer-Tiny at 32 px / patch 4 is stored with the package:
:func:`libranas.proxies._vit_calibration.autoformer_band`.

Signs: bigger is better for all three. Psi >= 1, and Lambda is positive in practice
(1 / sigma of gradients is large), so the product grows with both; if Lambda were
negative the product would reward *fewer* patterns, so ``lswag_lambda`` and
``lswag_psi`` are also registered as separate columns.

**No varying gradient in the band** (documented fallback): a band whose layers all have a
constant per-sample gradient (a network whose deep layers see 1 x 1 feature maps) would
leave Lambda undefined; Lambda then sums the layers nearest to the band that do have a
varying gradient, and the pass records a note (see :func:`lswag_lambda`), which the
featurizer keeps per architecture (``ProxyFeaturizer.notes_``) and reports with a
``ProxyNoteWarning``.

Errors (``ValueError``): no layer of the network with a varying gradient, no activation
module ran, an invalid band, or (with ``lswag_empty_band="error"``) no weight layer in
the band (or none with a varying gradient).

Examples
--------
>>> import torch
>>> from torch import nn
>>> from libranas.proxies._engine import NetworkPass
>>> from libranas.proxies.lswag import lswag, lswag_lambda, lswag_psi
>>> torch.manual_seed(0)  # doctest: +ELLIPSIS
<torch._C.Generator object at ...>
>>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(144, 3))
>>> x, y = torch.randn(8, 3, 8, 8), torch.arange(8) % 3
>>> npass = NetworkPass(net, x, y, options={"lswag_band": (50, 100)})
>>> lswag(npass) == lswag_lambda(npass) * lswag_psi(npass)
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from libranas.proxies._engine import NetworkPass
from libranas.proxies._registry import register_proxy
from libranas.proxies.swap import distinct_patterns

_REFERENCE = (
    "Casarin, Escalera, Lanz, L-SWAG: Layer-Sample Wise Activation with Gradients "
    "information for Zero-Shot NAS on Vision Transformers, CVPR 2025"
)


def check_band(band: Any) -> tuple[float, float] | None:
    """Validate a band: ``None`` or ``(lo, hi)`` percentiles with ``0 <= lo < hi <= 100``."""
    if band is None:
        return None
    try:
        lo, hi = (float(v) for v in band)
    except (TypeError, ValueError):
        raise ValueError(f"lswag_band must be None or a pair (lo, hi), got {band!r}") from None
    if not 0 <= lo < hi <= 100:
        raise ValueError(f"lswag_band must satisfy 0 <= lo < hi <= 100, got {band!r}")
    return lo, hi


def band_mask(n_layers: int, band: tuple[float, float] | None) -> np.ndarray:
    """Boolean mask over ``n_layers`` layers: ``lo <= 100 * l / n_layers < hi``.

    Examples
    --------
    >>> band_mask(10, (90, 100)).nonzero()[0].tolist()
    [9]
    >>> band_mask(4, (50, 100)).tolist()
    [False, False, True, True]
    """
    band = check_band(band)
    if band is None:
        return np.ones(n_layers, dtype=bool)
    lo, hi = band
    pos = 100 * np.arange(n_layers)  # 100 * l, compared to lo * D without division
    return (lo * n_layers <= pos) & (pos < hi * n_layers)


#: accepted values of the ``lswag_empty_band`` option
EMPTY_BAND_RULES = ("nearest", "error")


def band_layers(
    n_layers: int, band: tuple[float, float] | None, empty: str = "nearest"
) -> np.ndarray:
    """Boolean mask of the layers Lambda sums: :func:`band_mask`, or, when no layer falls
    in the band, the layer(s) at the depth ``100 * l / n_layers`` nearest to it.

    Parameters
    ----------
    n_layers : int
        Number of weight layers ``D`` of the network.
    band : (lo, hi) or None
        Depth percentiles; None selects every layer.
    empty : {"nearest", "error"}, default="nearest"
        What an empty band gives: the nearest layer(s), or a ValueError.

    Examples
    --------
    >>> band_layers(8, (90, 100)).nonzero()[0].tolist()  # depths 0, 12.5, ..., 87.5
    [7]
    >>> band_layers(8, (10, 12)).nonzero()[0].tolist()  # 12.5 is nearer than 0
    [1]
    >>> band_layers(10, (90, 100)).nonzero()[0].tolist()  # not empty: the band itself
    [9]
    """
    if empty not in EMPTY_BAND_RULES:
        raise ValueError(f"lswag_empty_band must be one of {EMPTY_BAND_RULES}, got {empty!r}")
    mask = band_mask(n_layers, band)
    if mask.any() or n_layers == 0:
        return mask
    if empty == "error":
        raise ValueError(
            f"lswag: no weight layer of this {n_layers}-layer network falls in band {band}"
        )
    lo, hi = check_band(band)
    depth = 100 * np.arange(n_layers) / n_layers
    dist = np.maximum(lo - depth, depth - hi)  # > 0 for every layer: the band is empty
    return np.isclose(dist, dist.min(), rtol=0, atol=1e-9)


def layer_log_sigma(network_pass: NetworkPass) -> np.ndarray:
    """Per weight layer: ``log(sum_w 1 / sqrt(Var_i |g_w|))`` over weights of nonzero variance.

    ``nan`` for a layer with no such weight (the term is undefined; Lambda skips it).
    These per-layer values feed both Lambda and the band calibration.
    """

    def compute(npass: NetworkPass) -> np.ndarray:
        out = np.empty(len(npass.per_sample_grads))
        for k, stats in enumerate(npass.per_sample_grads):
            var = stats.var_abs[stats.var_abs > 0]
            total = float(var.rsqrt().sum()) if var.numel() else 0.0
            out[k] = math.log(total) if total > 0 else math.nan
        return out

    return network_pass.shared("lswag_layer_log_sigma", compute)


#: the options of the L-SWAG family (ProxyFeaturizer sets lswag_band from its parameter)
_BAND_OPTIONS = {
    "lswag_band": "(lo, hi) depth percentiles of the layers used, or None for all layers",
    "lswag_empty_band": "a band with no layer: 'nearest' layer (default) or 'error'",
}


def _band(network_pass: NetworkPass) -> tuple[float, float] | None:
    return check_band(network_pass.options.get("lswag_band"))


@register_proxy(
    "lswag_lambda",
    requires=("per_sample_grads",),
    reference=_REFERENCE,
    description="L-SWAG trainability term: sum over band layers of log sum_w 1/std_i|g_w|",
    options=_BAND_OPTIONS,
)
def lswag_lambda(network_pass: NetworkPass) -> float:
    """Lambda: sum over the band's layers of :func:`layer_log_sigma` (bigger is better).

    When no layer of the band has a gradient that varies across samples (e.g. timm's
    ``resnet18`` at 32 px: its deepest blocks see 1 x 1 feature maps, whose per-sample
    BatchNorm output is constant), Lambda sums the layers *with* a varying gradient whose
    depth is nearest to the band (:func:`nearest_varying_layers`) and records that on the
    pass (``network_pass.cache["notes"]["lswag"]``; :class:`~libranas.ProxyFeaturizer`
    reports it per architecture in ``notes_``). With ``lswag_empty_band="error"`` it raises
    instead, as it does when no layer of the network has a varying gradient.
    """
    values = layer_log_sigma(network_pass)
    empty = network_pass.options.get("lswag_empty_band", "nearest")
    band = _band(network_pass)
    in_band = values[band_layers(values.size, band, empty)]
    finite = in_band[~np.isnan(in_band)]
    if finite.size:
        return float(finite.sum())
    use = nearest_varying_layers(values, band)
    if empty == "error" or not use.any():
        raise ValueError("lswag: no layer in the band has a gradient that varies across samples")
    depths = ", ".join(f"{100 * k / values.size:.0f}%" for k in np.flatnonzero(use))
    notes = network_pass.cache.setdefault("notes", {})
    notes["lswag"] = (
        f"L-SWAG band {band}: no layer has a gradient that varies across samples; Lambda "
        f"used the nearest layer(s) that have one (depth {depths} of {values.size} layers)"
    )
    return float(values[use].sum())


def nearest_varying_layers(values: np.ndarray, band: tuple[float, float] | None) -> np.ndarray:
    """Mask of the layers with a finite :func:`layer_log_sigma` whose depth
    ``100 * l / D`` is nearest to ``band`` (ties: all of them; no band: every such layer).

    Examples
    --------
    >>> v = np.array([1.0, 2.0, np.nan, np.nan])  # depths 0, 25, 50, 75
    >>> nearest_varying_layers(v, (60, 80)).nonzero()[0].tolist()
    [1]
    """
    ok = ~np.isnan(values)
    if band is None or not ok.any():
        return ok
    lo, hi = band
    depth = 100 * np.arange(values.size) / values.size
    dist = np.where(ok, np.maximum(np.maximum(lo - depth, depth - hi), 0.0), np.inf)
    return ok & np.isclose(dist, dist.min(), rtol=0, atol=1e-9)


@register_proxy(
    "lswag_psi",
    requires=("activations",),
    reference=_REFERENCE,
    description="L-SWAG expressivity term: distinct activation patterns up to the band's end",
    options={"lswag_band": _BAND_OPTIONS["lswag_band"]},
)
def lswag_psi(network_pass: NetworkPass) -> float:
    """Psi: distinct sample-wise activation patterns of activation calls up to the band's end."""
    band = _band(network_pass)
    return float(distinct_patterns(network_pass, 100.0 if band is None else band[1]))


@register_proxy(
    "lswag",
    requires=("per_sample_grads", "activations"),
    reference=_REFERENCE,
    description="L-SWAG = Lambda * Psi (option lswag_band = (lo, hi) depth percentiles)",
    options=_BAND_OPTIONS,
)
def lswag(network_pass: NetworkPass) -> float:
    """L-SWAG score ``Lambda * Psi`` (bigger is better)."""
    return lswag_lambda(network_pass) * lswag_psi(network_pass)


# ----------------------------------------------------------------------------- calibration


def depth_profile(per_layer: Sequence[np.ndarray], n_bins: int = 10) -> np.ndarray:
    """Average per-layer values over networks by relative-depth bin.

    Layer l (0-based) of a network with D layers falls in bin ``floor(n_bins * l / D)``
    (METHOD's ``int((l / D) * 100 // (100 / n_bins))``, computed exactly in integers).
    Each network contributes the mean of its finite values in a bin; the profile is the
    mean over the networks that have such a value. Bins no network reaches are ``nan``.

    Parameters
    ----------
    per_layer : sequence of 1-D arrays
        One array per network, e.g. :func:`layer_log_sigma` of random networks.
    n_bins : int, default=10

    Returns
    -------
    numpy.ndarray of shape (n_bins,)

    Examples
    --------
    >>> import numpy as np
    >>> depth_profile([np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0, 6.0])], n_bins=2)
    array([2.25, 3.75])
    """
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    if len(per_layer) == 0:
        raise ValueError("depth_profile needs at least one network's per-layer values")
    sums = np.zeros(n_bins)
    counts = np.zeros(n_bins)
    for k, values in enumerate(per_layer):
        values = np.asarray(values, dtype=float)
        if values.ndim != 1 or values.size == 0:
            raise ValueError(f"network {k}: per-layer values must be a non-empty 1-D array")
        bins = (n_bins * np.arange(values.size)) // values.size
        ok = ~np.isnan(values)
        per_bin_sum = np.bincount(bins[ok], weights=values[ok], minlength=n_bins)
        per_bin_n = np.bincount(bins[ok], minlength=n_bins)
        has = per_bin_n > 0
        sums[has] += per_bin_sum[has] / per_bin_n[has]
        counts[has] += 1
    profile = np.full(n_bins, np.nan)
    np.divide(sums, counts, out=profile, where=counts > 0)
    return profile


def choose_band(profile: np.ndarray, threshold: float = 0.9) -> tuple[float, float]:
    """The spike of a depth profile, as ``(lo, hi)`` percentiles.

    The profile is min-max scaled to [0, 1] over its finite bins; the band is the
    largest run of adjacent bins containing the maximum whose scaled value is at least
    ``threshold`` (``threshold=1`` keeps the peak bin alone). A flat profile gives the
    whole finite range. Bin b of n spans percentiles ``[100 b / n, 100 (b + 1) / n)``.

    Examples
    --------
    >>> import numpy as np
    >>> choose_band(np.array([0.0, 1, 2, 3, 4, 5, 6, 7, 9.5, 10]))
    (80.0, 100.0)
    >>> choose_band(np.array([0.0, 10, 1, 0, 0]), threshold=0.5)
    (20.0, 40.0)
    """
    p = np.asarray(profile, dtype=float)
    if p.ndim != 1 or p.size == 0:
        raise ValueError("profile must be a non-empty 1-D array")
    if not 0 <= threshold <= 1:
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")
    finite = np.isfinite(p)
    if not finite.any():
        raise ValueError("profile has no finite bin")
    lo_v, hi_v = p[finite].min(), p[finite].max()
    n = p.size
    if hi_v == lo_v:
        idx = np.flatnonzero(finite)
        return 100.0 * idx[0] / n, 100.0 * (idx[-1] + 1) / n
    scaled = np.where(finite, (p - lo_v) / (hi_v - lo_v), -np.inf)
    peak = int(np.argmax(scaled))
    start = end = peak
    while start > 0 and scaled[start - 1] >= threshold:
        start -= 1
    while end < n - 1 and scaled[end + 1] >= threshold:
        end += 1
    return 100.0 * start / n, 100.0 * (end + 1) / n


def calibrate_band(
    per_layer: Sequence[np.ndarray], n_bins: int = 10, threshold: float = 0.9
) -> tuple[float, float]:
    """``choose_band(depth_profile(per_layer, n_bins), threshold)``."""
    return choose_band(depth_profile(per_layer, n_bins), threshold)
