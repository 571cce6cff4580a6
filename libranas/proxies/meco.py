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

**ViTs (token tensors).** A ``(T, C)`` token tensor has C variables observed at T tokens,
so its centred data have rank at most ``T - 1`` and its correlation matrix is singular
whenever ``C > T - 1``: lambda_min is then exactly 0 (and, likewise, whenever a channel is
constant). For token tensors this is returned directly instead of an eigendecomposition
whose result would be rounding noise around 0 (and which dominated the run time: C up to
~1000 for MLP hidden layers). At 32 px with patch 4 (T = 65) every AutoFormer token
tensor (C >= 192) is degenerate, as is the ``(C, 8, 8)`` patch-embedding map, so meco on
such ViTs is carried by the submodule outputs with few channels: the attention maps
``blocks.<i>.attn.attn_map``, ``(heads, T, T)`` per sample, i.e. a ``heads x heads``
correlation over the ``T * T`` query-key positions. This is the definition applied
as is (MeCo was proposed and evaluated on CNNs); it is not altered for ViTs. The
``(C, H, W)`` maps of CNNs always take the eigendecomposition path (their values are
unchanged).

The single forward runs in the model's mode on a batch of one sample (option
``features_samples``, default 1), so training-mode BatchNorm uses that sample's
statistics, as in the paper's one-data setting. Where a BatchNorm sees one value per
channel (the sample's map is 1x1, e.g. the last stage of a ResNet or MobileNet at 32 px),
its statistics are undefined: its output is taken as the limit ``x - mean = 0``, i.e. its
bias, a constant map that adds lambda_min 0 (a degenerate layer, as above).

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
    tokens = feature.dim() == 2
    if tokens:
        variables = feature.T  # (C, T): tokens are the observations
        if variables.shape[0] > variables.shape[1] - 1:
            return 0.0  # rank <= T - 1 < C: singular correlation, lambda_min = 0 exactly
    else:
        variables = feature.reshape(feature.shape[0], -1)
    m = variables.detach().to(torch.float64).cpu().numpy()
    centred = m - m.mean(axis=1, keepdims=True)
    norms = np.sqrt(np.einsum("ij,ij->i", centred, centred))
    ok = norms > 0
    if tokens and not ok.all():
        return 0.0  # a constant channel has a zero row: lambda_min = 0 exactly
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
    options={},  # reads no option of its own
)
def meco(network_pass: NetworkPass) -> float:
    """MeCo score (bigger is better)."""
    values = [min_correlation_eigenvalue(f[0]) for _, f in network_pass.features]
    values = [v for v in values if v is not None]
    if not values:
        raise ValueError("meco: no submodule produced a feature map with positions")
    return float(sum(values))
