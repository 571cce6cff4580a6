"""ZiCo from per-sample gradient statistics."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from libranas.proxies._engine import NetworkPass
from libranas.proxies.zico import layer_zico_terms, zico

torch.set_num_threads(1)


def test_zico_is_the_papers_formula_on_single_sample_gradients():
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * 36, 6),
        nn.ReLU(),
        nn.Linear(6, 3),
    ).double()
    x = torch.randn(7, 3, 8, 8, dtype=torch.float64)
    y = torch.arange(7) % 3
    weights = [net[0].weight, net[3].weight, net[5].weight]
    per = [
        torch.autograd.grad(nn.functional.cross_entropy(net(x[i : i + 1]), y[i : i + 1]), weights)
        for i in range(7)
    ]
    expected = 0.0
    for k in range(3):
        g = torch.stack([p[k] for p in per])
        std = g.std(0)  # unbiased, over samples
        keep = std > 0
        expected += math.log(float((g.abs().mean(0)[keep] / std[keep]).sum()))
    assert zico(NetworkPass(net, x, y)) == pytest.approx(expected, rel=1e-10)


def test_zico_skips_dead_layers_and_fails_when_all_are_dead():
    net = nn.Sequential(nn.Flatten(), nn.Linear(12, 4), nn.ReLU(), nn.Linear(4, 3))
    with torch.no_grad():
        net[1].weight.zero_()
        net[1].bias.fill_(-1.0)  # ReLU dead: no gradient reaches layer 1, layer 3 sees zeros
    x, y = torch.randn(6, 3, 2, 2), torch.arange(6) % 3
    terms = layer_zico_terms(NetworkPass(net, x, y))
    assert all(math.isnan(t) for t in terms)
    with pytest.raises(ValueError, match="varies"):
        zico(NetworkPass(net, x, y))
