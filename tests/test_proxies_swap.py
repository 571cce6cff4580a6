"""SWAP and reg-SWAP: distinct sample-wise activation patterns."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from libranas.proxies._engine import NetworkPass
from libranas.proxies.swap import (
    count_distinct_rows,
    distinct_patterns,
    n_params_millions,
    reg_swap,
    size_factor,
    swap,
)

torch.set_num_threads(1)


def naive_swap(codes: list[torch.Tensor]) -> int:
    """Distinct per-unit sample vectors, by Python sets."""
    units = torch.cat(codes, dim=1).T
    return len({tuple(u.tolist()) for u in units})


@pytest.mark.parametrize("n_samples", [1, 5, 8, 64, 70, 130])
def test_packed_counting_equals_a_set_of_tuples(n_samples):
    rng = np.random.default_rng(n_samples)
    # few distinct patterns repeated many times, plus random rows
    base = rng.random((7, n_samples)) > 0.5
    rows = np.concatenate([base[rng.integers(0, 7, 300)], rng.random((40, n_samples)) > 0.3])
    packed = [np.packbits(rows[:150], axis=1), np.packbits(rows[150:], axis=1)]
    assert count_distinct_rows(packed) == len({tuple(r) for r in rows})


def test_swap_counts_unit_patterns_over_samples_not_sample_codes():
    net = nn.Sequential(nn.Flatten(), nn.Linear(2, 3, bias=False), nn.ReLU())
    with torch.no_grad():
        net[1].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]))
    x = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, -1.0], [1.0, 1.0]])
    npass = NetworkPass(net, x, torch.zeros(4, dtype=torch.long))
    # unit patterns over the 4 samples: (1,1,0,1), (1,0,0,1), (1,1,0,1): 2 distinct
    # (the samples' codes would give 3 distinct: (1,1,1), (1,0,1), (0,0,0))
    assert swap(npass) == 2.0


def test_swap_covers_gelu_and_token_tensors_and_matches_naive_count():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 5), nn.GELU(), nn.Linear(5, 4), nn.ReLU(), nn.Flatten())
    x = torch.randn(9, 3, 6)  # (batch, tokens, channels): each token-channel is a unit
    npass = NetworkPass(net, x, torch.zeros(9, dtype=torch.long))
    assert [c.shape for c in npass.activations] == [(9, 15), (9, 12)]
    assert swap(npass) == naive_swap(npass.activations)
    assert distinct_patterns(npass, 50) == naive_swap(npass.activations[:1])


def test_swap_errors():
    x = torch.randn(4, 3)
    linear = NetworkPass(nn.Linear(3, 2), x, torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="no activation module"):
        swap(linear)
    relu = NetworkPass(
        nn.Sequential(nn.Linear(3, 2), nn.ReLU()), x, torch.zeros(4, dtype=torch.long)
    )
    with pytest.raises(ValueError, match="upper_percentile"):
        distinct_patterns(relu, 0)


def test_reg_swap_is_swap_times_the_papers_size_factor():
    torch.manual_seed(1)
    net = nn.Sequential(nn.Flatten(), nn.Linear(12, 1000), nn.ReLU(), nn.Linear(1000, 3))
    x = torch.randn(8, 3, 2, 2)
    npass = NetworkPass(net, x, torch.zeros(8, dtype=torch.long))
    theta = (12 * 1000 + 1000 + 1000 * 3 + 3) / 1e6
    assert n_params_millions(net) == pytest.approx(theta)
    assert reg_swap(npass) == pytest.approx(swap(npass) * math.exp(-((theta - 1.5) ** 2) / 1.5))
    opts = {"reg_swap_mu": theta, "reg_swap_sigma": 0.1}
    at_target = NetworkPass(net, x, torch.zeros(8, dtype=torch.long), options=opts)
    assert reg_swap(at_target) == pytest.approx(swap(at_target))
    # frozen parameters do not count
    net[1].weight.requires_grad_(False)
    assert n_params_millions(net) == pytest.approx(theta - 0.012)


def test_size_factor_shape_and_validation():
    assert size_factor(1.0, 1.0, 2.0) == 1.0
    assert size_factor(0.0, 1.0, 2.0) == pytest.approx(math.exp(-0.5))
    assert size_factor(0.5, 1.0, 2.0) == size_factor(1.5, 1.0, 2.0)
    for mu, sigma in ((1.0, 0.0), (1.0, -1.0), (math.nan, 1.0)):
        with pytest.raises(ValueError, match="sigma"):
            size_factor(1.0, mu, sigma)
