"""NWOT / NASWOT (Mellor et al., "Neural Architecture Search without Training", ICML 2021),
as NAS-Bench-Suite-Zero computes it.

Every sample i of the batch gets a binary code c_i: ``1[pre-activation > 0]`` over all
units of all activation calls of one forward (ReLU/GeLU modules, see
:func:`libranas.proxies._engine.is_activation`). With N_A the total number of units,

    K_H[i, j] = N_A - Hamming(c_i, c_j) = <c_i, c_j> + <1 - c_i, 1 - c_j>,

and ``nwot = log |det K_H|`` (``slogdet``; K_H is a sum of Gram matrices, positive
semi-definite). Bigger is better. The counts are accumulated per activation call with
float32 products (exact while a call has fewer than 2**24 units) into float64.

Raises ``ValueError`` when no activation module ran or K_H is singular (two samples
with identical codes, or a code that is a copy of others'), where log det is -inf.

Examples
--------
>>> import torch
>>> from torch import nn
>>> from libranas.proxies._engine import NetworkPass
>>> from libranas.proxies.nwot import nwot
>>> net = nn.Sequential(nn.Flatten(), nn.Linear(2, 2, bias=False), nn.ReLU())
>>> with torch.no_grad():
...     _ = net[1].weight.copy_(torch.eye(2))
>>> x = torch.tensor([[1.0, 1.0], [1.0, -1.0]])  # codes (1, 1), (1, 0): K = [[2, 1], [1, 2]]
>>> round(nwot(NetworkPass(net, x, torch.zeros(2, dtype=torch.long))), 6)  # log 3
1.098612
"""

from __future__ import annotations

import numpy as np
import torch

from libranas.proxies._engine import NetworkPass
from libranas.proxies._registry import register_proxy


def hamming_kernel(network_pass: NetworkPass) -> np.ndarray:
    """K_H as an ``(N, N)`` float64 array (cached as ``cache["nwot_kernel"]``)."""

    def compute(npass: NetworkPass) -> np.ndarray:
        codes = npass.activations
        if not codes:
            raise ValueError("nwot: no activation module (ReLU/GeLU) was called in the forward")
        n = npass.batch_size
        kernel = torch.zeros(n, n, dtype=torch.float64)
        for c in codes:
            on = c.to(torch.float32)
            off = 1.0 - on
            kernel += (on @ on.T + off @ off.T).to(torch.float64).cpu()
        return kernel.numpy()

    return network_pass.shared("nwot_kernel", compute)


@register_proxy(
    "nwot",
    requires=("activations",),
    reference="Mellor et al., Neural Architecture Search without Training, ICML 2021",
    description="log|det K_H|, K_H = units minus Hamming distance of binary activation codes",
    options={},  # reads no option of its own
)
def nwot(network_pass: NetworkPass) -> float:
    """NASWOT score ``log |det K_H|`` (bigger is better)."""
    sign, logdet = np.linalg.slogdet(hamming_kernel(network_pass))
    if sign <= 0 or not np.isfinite(logdet):
        raise ValueError(
            "nwot: K_H is singular (samples with identical or linearly dependent "
            "activation codes); log det is -inf"
        )
    return float(logdet)
