"""SWAP and regularised SWAP (Peng et al., "SWAP-NAS: Sample-Wise Activation Patterns
for Ultra-fast NAS", ICLR 2024).

SWAP counts the distinct *sample-wise activation patterns* of a network over a batch of
S samples. For every post-activation unit u (every channel-position of every output of
an activation module: ReLU, GeLU and timm's GeLU variants, see
:func:`libranas.proxies._engine.is_activation`) the pattern of u is the binary S-vector

    p_u = ( 1[a_u(x_1) > 0], ..., 1[a_u(x_S) > 0] ),

and ``swap`` is the number of distinct vectors among all p_u (units of all activation
modules together, forward-call order). An activation module called several times counts
each call's outputs as separate units. For GeLU the sign of the pre-activation is used,
which is the sign of the output. Bigger is better (more expressive), as in the paper.

Patterns are stored packed, one row of ``ceil(S / 8)`` bytes per unit, and counted by
sorting 64-bit words, so a ViT's millions of units stay cheap.

``reg_swap`` multiplies SWAP by a Gaussian-shaped size factor (the paper's
regularisation, which steers the search towards a target model size):

    reg_swap = swap * exp( -(Theta - mu)^2 / sigma ),

with Theta the number of trainable parameters in **millions**; ``mu`` and ``sigma``
(options ``reg_swap_mu`` / ``reg_swap_sigma``, both in millions, defaults 1.5 and 1.5)
are targets: the defaults favour the largest NAS-Bench-201 cells (0.07-1.5 M
parameters). Note the paper's sigma is not squared and not doubled. For AutoFormer-Tiny
(5-10 M parameters) the defaults give factors below 1e-3 and order the networks by inverted
size alone, so :class:`~libranas.ProxyFeaturizer` passes the space's own prior
(:meth:`libranas.spaces.SearchSpace.size_prior`: derived from the parameter distribution
for the ViT, timm and listed-model spaces, NB201's (1.5, 1.5) elsewhere) unless the options
set ``reg_swap_mu`` / ``reg_swap_sigma``. ViTs: every token-channel position of a GeLU
input is one unit (the 3-D ``(N, T, C)`` tensor is flattened per sample).

Examples
--------
>>> import torch
>>> from torch import nn
>>> from libranas.proxies._engine import NetworkPass
>>> from libranas.proxies.swap import swap
>>> net = nn.Sequential(nn.Flatten(), nn.Linear(2, 2, bias=False), nn.ReLU())
>>> with torch.no_grad():
...     _ = net[1].weight.copy_(torch.eye(2))
>>> x = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, -1.0]])
>>> npass = NetworkPass(net, x, torch.zeros(3, dtype=torch.long))
>>> swap(npass)  # unit 1: (1, 1, 0), unit 2: (1, 0, 0): two distinct patterns
2.0
"""

from __future__ import annotations

import math

import numpy as np
import torch

from libranas.proxies._engine import NetworkPass
from libranas.proxies._registry import register_proxy

_REFERENCE = "Peng et al., SWAP-NAS: Sample-Wise Activation Patterns for Ultra-fast NAS, ICLR 2024"


def unit_patterns(network_pass: NetworkPass) -> list[np.ndarray]:
    """Packed activation patterns, one ``(units, ceil(S / 8))`` uint8 array per activation call.

    Row u holds ``numpy.packbits`` of unit u's binary S-vector over the batch. Cached on
    the pass (``network_pass.cache["unit_patterns"]``).
    """

    def compute(npass: NetworkPass) -> list[np.ndarray]:
        out = []
        for codes in npass.activations:
            bits = codes.detach().cpu().numpy().T  # (units, S) bool
            out.append(np.packbits(bits, axis=1))
        return out

    return network_pass.shared("unit_patterns", compute)


def count_distinct_rows(packed: list[np.ndarray]) -> int:
    """Number of distinct rows over the concatenation of packed ``(rows, bytes)`` arrays."""
    rows = np.concatenate(packed, axis=0)
    pad = (-rows.shape[1]) % 8
    if pad:
        rows = np.pad(rows, ((0, 0), (0, pad)))
    words = np.ascontiguousarray(rows).view(np.uint64)
    if words.shape[1] == 1:
        return int(np.unique(words[:, 0]).size)
    return int(np.unique(words, axis=0).shape[0])


def distinct_patterns(network_pass: NetworkPass, upper_percentile: float = 100.0) -> int:
    """Distinct unit patterns over the activation calls in the first ``upper_percentile`` %.

    Activation call j of J (0-based, forward order) is used when ``100 * j < upper * J``;
    ``upper_percentile=100`` uses all of them (SWAP).

    Raises
    ------
    ValueError
        No activation module ran in the forward, or the percentile selects none.
    """
    patterns = unit_patterns(network_pass)
    n_calls = len(patterns)
    if n_calls == 0:
        raise ValueError(
            "no activation module (ReLU/GeLU) was called in the forward; "
            "activation-pattern proxies are undefined"
        )
    if not 0 < upper_percentile <= 100:
        raise ValueError(f"upper_percentile must be in (0, 100], got {upper_percentile}")
    chosen = [p for j, p in enumerate(patterns) if 100 * j < upper_percentile * n_calls]
    return count_distinct_rows(chosen)


def n_params_millions(model: torch.nn.Module) -> float:
    """Trainable parameters (``requires_grad``), shared tensors counted once, in millions."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad) / 1e6


def size_factor(n_params: float, mu: float, sigma: float) -> float:
    """SWAP's regularisation factor ``exp(-(n_params - mu)^2 / sigma)`` (all in millions)."""
    if not (math.isfinite(mu) and math.isfinite(sigma)) or sigma <= 0:
        raise ValueError(f"reg_swap needs finite mu and sigma > 0, got mu={mu}, sigma={sigma}")
    return math.exp(-((n_params - mu) ** 2) / sigma)


@register_proxy(
    "swap",
    requires=("activations",),
    reference=_REFERENCE,
    description="number of distinct sample-wise activation patterns over all activation units",
    options={},  # reads no option of its own
)
def swap(network_pass: NetworkPass) -> float:
    """SWAP score: distinct binary S-vectors over all activation units (bigger is better)."""
    return float(distinct_patterns(network_pass))


@register_proxy(
    "reg_swap",
    requires=("activations", "model"),
    reference=_REFERENCE,
    description="SWAP times exp(-(params_M - mu)^2 / sigma), options reg_swap_mu/reg_swap_sigma",
    options={
        "reg_swap_mu": "target size mu in millions of parameters (default 1.5)",
        "reg_swap_sigma": "width sigma in millions of parameters (default 1.5)",
    },
)
def reg_swap(network_pass: NetworkPass) -> float:
    """Regularised SWAP: ``swap * exp(-(params_M - mu)^2 / sigma)`` (bigger is better)."""
    mu = float(network_pass.options.get("reg_swap_mu", 1.5))
    sigma = float(network_pass.options.get("reg_swap_sigma", 1.5))
    factor = size_factor(n_params_millions(network_pass.model), mu, sigma)
    return float(distinct_patterns(network_pass)) * factor
