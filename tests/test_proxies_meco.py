"""MeCo: minimum eigenvalue of channel correlation matrices of one sample's feature maps."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from libranas.proxies._engine import NetworkPass
from libranas.proxies.meco import meco, min_correlation_eigenvalue

torch.set_num_threads(1)


def test_min_eigenvalue_of_channel_correlation_matches_numpy():
    torch.manual_seed(0)
    f = torch.randn(5, 6, 7)  # (C, H, W)
    corr = np.corrcoef(f.reshape(5, -1).double().numpy())
    assert min_correlation_eigenvalue(f) == pytest.approx(np.linalg.eigvalsh(corr).min())
    tokens = torch.randn(50, 4)  # (T, C): channels are the variables
    corr = np.corrcoef(tokens.double().numpy().T)
    assert min_correlation_eigenvalue(tokens) == pytest.approx(np.linalg.eigvalsh(corr).min())


def test_hand_values_and_constant_channels():
    a = torch.tensor([1.0, 2.0, 3.0, 4.0])
    # two perfectly correlated channels: eigenvalues 0 and 2
    assert min_correlation_eigenvalue(torch.stack([a, 2 * a]).view(2, 2, 2)) == pytest.approx(0.0)
    # two uncorrelated channels: identity, eigenvalue 1
    b = torch.tensor([1.0, -1.0, -1.0, 1.0])
    c = torch.tensor([1.0, 1.0, -1.0, -1.0])
    assert min_correlation_eigenvalue(torch.stack([b, c]).view(2, 2, 2)) == pytest.approx(1.0)
    # a constant channel has zero correlation with everything: the layer gives 0
    const = torch.stack([b, c, torch.full((4,), 3.0)]).view(3, 2, 2)
    assert min_correlation_eigenvalue(const) == pytest.approx(0.0)


def test_meco_sums_over_all_feature_maps_of_the_first_sample():
    torch.manual_seed(1)
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 6, 3), nn.Flatten(), nn.Linear(96, 3)
    )
    x = torch.randn(5, 3, 8, 8)
    npass = NetworkPass(net, x, torch.zeros(5, dtype=torch.long))
    with torch.no_grad():
        h1 = net[0](x[:1])
        maps = [h1[0], net[1](h1)[0], net[2](net[1](h1))[0]]
    expected = sum(min_correlation_eigenvalue(m) for m in maps)
    assert meco(npass) == pytest.approx(expected)
    # only the first sample matters
    x2 = x.clone()
    x2[1:] = torch.randn(4, 3, 8, 8)
    assert meco(NetworkPass(net, x2, torch.zeros(5, dtype=torch.long))) == pytest.approx(expected)


def test_meco_without_feature_maps_raises():
    npass = NetworkPass(
        nn.Sequential(nn.Linear(3, 2)), torch.randn(4, 3), torch.zeros(4, dtype=torch.long)
    )
    with pytest.raises(ValueError, match="no submodule produced a feature map"):
        meco(npass)


def test_batch_norm_on_a_one_by_one_map_gives_its_bias():
    """One sample whose last map is 1x1 (a ResNet's last stage at 32 px): training-mode
    BatchNorm has undefined statistics there; its output is its bias, a constant map."""
    torch.manual_seed(2)
    bn = nn.BatchNorm2d(4)
    with torch.no_grad():
        bn.bias.copy_(torch.tensor([0.5, -1.0, 2.0, 0.0]))
    net = nn.Sequential(nn.Conv2d(3, 4, 4, stride=4), bn, nn.ReLU(), nn.Flatten(), nn.Linear(4, 2))
    net.train()
    x = torch.randn(3, 3, 4, 4)
    npass = NetworkPass(net, x, torch.zeros(3, dtype=torch.long))
    feats = dict(npass.features)
    torch.testing.assert_close(feats["1"][0, :, 0, 0], bn.bias.detach())
    # the conv map has one position: no correlation, lambda_min 0 like every map here
    assert meco(npass) == pytest.approx(0.0)
    assert "forward" not in vars(bn)  # the layer's own forward is back
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(torch.randn(1, 4, 1, 1))  # outside the features pass PyTorch still raises
