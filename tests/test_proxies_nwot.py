"""NWOT: log |det K_H| of the binary activation codes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from libranas.proxies._engine import NetworkPass
from libranas.proxies.nwot import hamming_kernel, nwot

torch.set_num_threads(1)


def test_kernel_is_units_minus_hamming_distance():
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3), nn.GELU(), nn.Flatten(), nn.Linear(64, 3)
    )
    x = torch.randn(6, 3, 8, 8)
    npass = NetworkPass(net, x, torch.zeros(6, dtype=torch.long))
    codes = torch.cat(npass.activations, dim=1).numpy()  # (samples, all units)
    n_units = codes.shape[1]
    assert n_units == 4 * 36 + 4 * 16
    hamming = (codes[:, None, :] != codes[None, :, :]).sum(-1)
    np.testing.assert_array_equal(hamming_kernel(npass), n_units - hamming)
    sign, logdet = np.linalg.slogdet((n_units - hamming).astype(float))
    assert sign > 0 and nwot(npass) == pytest.approx(logdet, rel=1e-12)


def test_identical_samples_make_the_kernel_singular():
    net = nn.Sequential(nn.Flatten(), nn.Linear(4, 8), nn.ReLU())
    x = torch.randn(3, 4).repeat(2, 1)  # every sample twice
    npass = NetworkPass(net, x, torch.zeros(6, dtype=torch.long))
    with pytest.raises(ValueError, match="singular"):
        nwot(npass)


def test_more_distinct_codes_give_a_larger_score():
    torch.manual_seed(1)
    x = torch.randn(8, 16)
    narrow = nn.Sequential(nn.Linear(16, 8), nn.ReLU())
    wide = nn.Sequential(nn.Linear(16, 512), nn.ReLU())
    y = torch.zeros(8, dtype=torch.long)
    assert nwot(NetworkPass(wide, x, y)) > nwot(NetworkPass(narrow, x, y))
