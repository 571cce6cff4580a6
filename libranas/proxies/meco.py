"""MeCo (Jiang, Wang, Bie, "MeCo: Zero-Shot NAS with One Data and Single Forward Pass via
Minimum Eigenvalue of Correlation", NeurIPS 2023).

    meco = sum over feature maps f of  lambda_min( P(f) )

where f is the output of a layer for **one** input sample (the first of the batch), P(f)
is the Pearson correlation matrix between its channels (each channel's values over the
spatial positions are one variable, so P is ``C x C``), and lambda_min its smallest
eigenvalue. Bigger is better.

Which outputs (from :attr:`NetworkPass.features`): the output of every submodule, in
forward-call order, that is a tensor with a channel axis and positions: ``(C, H, W)``
maps (variables = C channels) and ``(T, C)`` token tensors (variables = C channels,
observations = T tokens). As in the authors' evaluation every submodule is hooked,
containers included, so a block whose output equals its last layer's is counted for
both. Outputs without positions (``(n, F)`` vectors) have no correlation matrix and are
not used.

A channel with zero variance (e.g. the ``none`` operation, a dead ReLU channel) has no
defined correlation; following the authors' evaluation it is given zero correlation
with every channel, itself included, so such a layer's smallest eigenvalue is 0 (a
degenerate layer contributes nothing). Eigenvalues are computed in float64 with
``numpy.linalg.eigvalsh``.

The single forward runs in the model's mode on a batch of one sample (option
``features_samples``, default 1), so training-mode BatchNorm uses that sample's
statistics, as in the paper's one-data setting.

Raises ``ValueError`` when no submodule produced a feature map.

Examples
--------
>>> import torch
>>> from torch import nn
>>> from libranas.proxies._engine import NetworkPass
>>> from libranas.proxies.meco import meco
>>> torch.manual_seed(0)  # doctest: +ELLIPSIS
<torch._C.Generator object at ...>
>>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
>>> npass = NetworkPass(net, torch.randn(2, 3, 8, 8), torch.zeros(2, dtype=torch.long))
>>> 0 < meco(npass) < 2  # two maps (conv, relu), each lambda_min in [0, 1]
True
"""

from __future__ import annotations

import numpy as np
import torch

from libranas.proxies._engine import NetworkPass
from libranas.proxies._registry import register_proxy


def min_correlation_eigenvalue(feature: torch.Tensor) -> float | None:
    """lambda_min of the channel correlation matrix of one sample's feature map.

    ``feature`` is ``(C, H, W)`` (or ``(C, ...)``, positions flattened) or ``(T, C)``
    tokens; ``None`` for a 1-D feature (no positions).
    """
    if feature.dim() < 2:
        return None
    if feature.dim() == 2:
        variables = feature.T  # (C, T): tokens are the observations
    else:
        variables = feature.reshape(feature.shape[0], -1)
    m = variables.detach().to(torch.float64).cpu().numpy()
    centred = m - m.mean(axis=1, keepdims=True)
    norms = np.sqrt(np.einsum("ij,ij->i", centred, centred))
    ok = norms > 0
    corr = np.zeros((m.shape[0], m.shape[0]))
    z = centred[ok] / norms[ok, None]
    corr[np.ix_(ok, ok)] = z @ z.T
    return float(np.linalg.eigvalsh(corr)[0])


@register_proxy(
    "meco",
    requires=("features",),
    reference="Jiang, Wang, Bie, MeCo: Zero-Shot NAS with One Data and Single Forward Pass "
    "via Minimum Eigenvalue of Correlation, NeurIPS 2023",
    description="sum over layers of the minimum eigenvalue of the channel correlation "
    "matrix of one sample's feature map",
)
def meco(network_pass: NetworkPass) -> float:
    """MeCo score (bigger is better)."""
    values = [min_correlation_eigenvalue(f[0]) for _, f in network_pass.features]
    values = [v for v in values if v is not None]
    if not values:
        raise ValueError("meco: no submodule produced a feature map with positions")
    return float(sum(values))
