"""ZiCo (Li et al., "ZiCo: Zero-shot NAS via Inverse Coefficient of Variation on
Gradients", ICLR 2023).

    zico = sum over weight layers l of log( sum over weights w of l with std_i(g_w) > 0
                                            of  mean_i |g_w| / std_i(g_w) )

where g_w = d loss(x_i, y_i) / d w and the statistics run over the samples i of the
batch (``ddof=1``). Layers are the Conv2d/Linear modules in registration order.

Statistics come from :attr:`NetworkPass.per_sample_grads`: by default *exact*
per-sample gradients (``options["per_sample"] = "exact"``); the paper's own estimate,
statistics over the gradients of ``per_sample_splits`` parts of the batch, is
``options["per_sample"] = "chunks"`` (see the engine for the BatchNorm semantics of each).
Weights whose gradient has zero variance are skipped, and a layer whose sum is 0 (all
its weights skipped) is left out of the outer sum, as the paper's method does. Bigger is
better.

Raises ``ValueError`` when every layer is left out (no weight has a varying gradient).

Examples
--------
>>> import torch
>>> from torch import nn
>>> from libranas.proxies._engine import NetworkPass
>>> from libranas.proxies.zico import zico
>>> torch.manual_seed(0)  # doctest: +ELLIPSIS
<torch._C.Generator object at ...>
>>> net = nn.Sequential(nn.Flatten(), nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 3))
>>> x, y = torch.randn(16, 3, 2, 2), torch.arange(16) % 3
>>> score = zico(NetworkPass(net, x, y))
>>> isinstance(score, float) and score == zico(NetworkPass(net, x, y))
True
"""

from __future__ import annotations

import math

import torch

from libranas.proxies._engine import NetworkPass
from libranas.proxies._registry import register_proxy


def layer_zico_terms(network_pass: NetworkPass) -> list[float]:
    """Per weight layer: ``log(sum_w mean|g| / std g)``, ``nan`` where the sum is 0."""
    terms = []
    for stats in network_pass.per_sample_grads:
        std = stats.var.sqrt()
        keep = std > 0
        total = float(torch.sum(stats.mean_abs[keep] / std[keep]))
        terms.append(math.log(total) if total > 0 else math.nan)
    return terms


@register_proxy(
    "zico",
    requires=("per_sample_grads",),
    reference="Li et al., ZiCo: Zero-shot NAS via Inverse Coefficient of Variation on "
    "Gradients, ICLR 2023",
    description="sum over layers of log(sum_w mean|g| / std g), per-sample gradient statistics",
    options={},  # reads no option of its own
)
def zico(network_pass: NetworkPass) -> float:
    """ZiCo score (bigger is better)."""
    terms = [t for t in layer_zico_terms(network_pass) if not math.isnan(t)]
    if not terms:
        raise ValueError("zico: no weight layer has a gradient that varies across samples")
    return float(sum(terms))
