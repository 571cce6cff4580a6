"""AZ-NAS: expressivity, progressivity, trainability, complexity and the log-rank aggregation."""

from __future__ import annotations

import math
import warnings
from collections import OrderedDict

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from libranas.featurizer import ProxyFailedWarning, ProxyFeaturizer
from libranas.proxies import get_proxy, list_proxies
from libranas.proxies._engine import NetworkPass, feature_blocks, plan_for, score_network
from libranas.proxies.aznas import (
    AZNAS_PROXIES,
    az_expressivity,
    az_progressivity,
    az_trainability,
    aznas_aggregate,
    feature_entropy,
    log_rank_sum,
)
from libranas.ranker import ZCRanker
from libranas.spaces import get_space

torch.set_num_threads(1)


def small_cnn() -> nn.Module:
    """stem -> 3 blocks (one halves the resolution and doubles the channels) -> head."""
    torch.manual_seed(0)
    net = nn.Sequential(
        OrderedDict(
            stem=nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4)),
            cells=nn.Sequential(
                nn.Sequential(nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4)),
                nn.Sequential(nn.ReLU(), nn.Conv2d(4, 8, 3, 2, padding=1), nn.BatchNorm2d(8)),
                nn.Sequential(nn.ReLU(), nn.Conv2d(8, 8, 1), nn.BatchNorm2d(8)),
            ),
            pool=nn.AdaptiveAvgPool2d(1),
            flat=nn.Flatten(),
            head=nn.Linear(8, 5),
        )
    )
    return net.double()


def entropy_numpy(feature: np.ndarray) -> float:
    """The paper's formula, written independently (numpy, channel vectors per position)."""
    v = np.moveaxis(feature, 1, -1).reshape(-1, feature.shape[1])
    v = v - v.mean(0)
    lam = np.clip(np.linalg.eigvalsh(v.T @ v / v.shape[0]), 0, None)
    p = lam[lam > 0] / lam.sum()
    return float(-(p * np.log(p)).sum())


def test_expressivity_and_progressivity_match_an_independent_computation():
    net = small_cnn()
    x = torch.randn(6, 3, 8, 8, dtype=torch.float64)
    npass = NetworkPass(net, x, torch.zeros(6, dtype=torch.long))
    with torch.no_grad():  # the blocks' outputs, by running them one after the other
        feats = [net.stem(x)]
        for block in net.cells:
            feats.append(block(feats[-1]))
    h = [entropy_numpy(f.numpy()) for f in feats]
    assert az_expressivity(npass) == pytest.approx(sum(h), rel=1e-12)
    assert az_progressivity(npass) == pytest.approx(min(np.diff(h)), rel=1e-12)
    assert npass.block_features["names"] == ["stem", "cells.0", "cells.1", "cells.2"]


def test_trainability_matches_explicit_jacobians_and_the_straightforward_estimate():
    net = small_cnn()
    x = torch.randn(4, 3, 8, 8, dtype=torch.float64)
    npass = NetworkPass(net, x, torch.zeros(4, dtype=torch.long))
    feats = npass.block_features
    with torch.no_grad():
        ins = [net.stem(x)]
        for block in net.cells:
            ins.append(block(ins[-1]))
    scores = []
    for i, block in enumerate(net.cells, start=1):
        r, g = feats["probes"][i - 1]
        assert set(r.unique().tolist()) <= {-1.0, 1.0}
        # g = J^T r with the explicit Jacobian of the (train-mode) block
        jac = torch.autograd.functional.jacobian(block, ins[i - 1])  # (out..., in...)
        expected_g = torch.einsum("abcd,abcdefgh->efgh", r, jac)
        torch.testing.assert_close(g, expected_g, rtol=1e-10, atol=1e-12)
        # M = mean over positions of the outer products g_in r_out^T (pixel-unshuffled g)
        stride = g.shape[2] // r.shape[2]
        gu = nn.functional.pixel_unshuffle(g, stride) if stride > 1 else g
        gv = gu.permute(0, 2, 3, 1).reshape(-1, gu.shape[1], 1)
        rv = r.permute(0, 2, 3, 1).reshape(-1, 1, r.shape[1])
        sigma = float(torch.linalg.svdvals(torch.bmm(gv, rv).mean(0)).max())
        scores.append(-sigma - 1 / (sigma + 1e-6) + 2)
    assert az_trainability(npass) == pytest.approx(float(np.mean(scores)), rel=1e-10)


def test_hand_computed_values():
    # expressivity: covariances diag(0.5, 2) -> diag(2, 2) -> diag(2, 0)
    l1, l2 = nn.Linear(2, 2, bias=False), nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        l1.weight.copy_(torch.diag(torch.tensor([2.0, 1.0])))
        l2.weight.copy_(torch.diag(torch.tensor([1.0, 0.0])))
    net = nn.Sequential(OrderedDict(stem=nn.Identity(), cells=nn.Sequential(l1, l2)))
    x = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 2.0], [0.0, -2.0]])
    npass = NetworkPass(net, x, torch.zeros(4, dtype=torch.long))
    h0 = -(0.2 * math.log(0.2) + 0.8 * math.log(0.8))
    assert az_expressivity(npass) == pytest.approx(h0 + math.log(2), rel=1e-6)
    assert az_progressivity(npass) == pytest.approx(-math.log(2), rel=1e-6)
    # trainability: one channel, M = w exactly
    up = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        up.weight.fill_(3.0)
    net = nn.Sequential(OrderedDict(stem=nn.Identity(), cells=nn.Sequential(up, nn.Tanh())))
    x = torch.zeros(5, 1)  # tanh'(0) = 1 but tanh is not the identity function: g == r only
    npass = NetworkPass(net, x + 1e-3, torch.zeros(5, dtype=torch.long))
    sig_tanh = 1 - math.tanh(3e-3) ** 2
    expected = ((-3 - 1 / (3 + 1e-6) + 2) + (-sig_tanh - 1 / (sig_tanh + 1e-6) + 2)) / 2
    assert az_trainability(npass) == pytest.approx(expected, rel=1e-5)


def test_entropy_invariances_stated_by_the_paper():
    """Isotropy of the features: invariant to their scale and to an orthogonal channel mix."""
    f = torch.randn(5, 6, 4, 4, dtype=torch.float64)
    q, _ = torch.linalg.qr(torch.randn(6, 6, dtype=torch.float64))
    rotated = torch.einsum("oc,nchw->nohw", q, f)
    assert feature_entropy(f) == pytest.approx(feature_entropy(7.5 * f), rel=1e-12)
    assert feature_entropy(f) == pytest.approx(feature_entropy(rotated), rel=1e-10)
    assert feature_entropy(torch.zeros(3, 4, 2, 2)) == 0.0
    assert feature_entropy(f) <= math.log(6)


def test_fused_pass_equals_standalone_and_runs_one_forward():
    space = get_space("nb201")
    torch.manual_seed(0)
    net = space.build("|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|"
                      "nor_conv_3x3~1|none~2|").double()  # fmt: skip
    x, y = torch.randn(6, 3, 16, 16, dtype=torch.float64), torch.arange(6) % 10
    az = list(AZNAS_PROXIES)
    alone, err = score_network(net, x, y, az)
    others = ["snip", "swap", "jacov", "grasp", "nwot"]
    calls = []
    handle = net.register_forward_hook(lambda m, i, o: calls.append(1))
    fused, err2 = score_network(net, x, y, az + others)
    handle.remove()
    assert err == {} and err2 == {}
    for name in az:
        assert fused[name] == pytest.approx(alone[name], rel=1e-12), name
    for name in others:  # the other proxies are unchanged by the fused block recording
        assert fused[name] == pytest.approx(score_network(net, x, y, [name])[0][name], rel=1e-9)
    assert "block_features" in plan_for(az + others)
    assert len(calls) == 2  # the fused forward, and the single-image forward of the FLOPs count


def test_same_seed_same_probes_other_seed_other_probes():
    net = small_cnn()
    x, y = torch.randn(4, 3, 8, 8, dtype=torch.float64), torch.zeros(4, dtype=torch.long)
    a = az_trainability(NetworkPass(net, x, y, seed=3))
    assert az_trainability(NetworkPass(net, x, y, seed=3)) == a
    assert az_trainability(NetworkPass(net, x, y, seed=4)) != a


def test_nb201_blocks_identity_cells_and_featurizer_warning():
    net = get_space("nb201").build(0)
    names = [name for name, _ in feature_blocks(net)]
    assert names[0] == "stem" and len(names) == 18  # stem + 15 cells + 2 reduction blocks
    identity = "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"
    imgs = torch.randn(4, 3, 32, 32)
    feat = ProxyFeaturizer("nb201", proxies=list(AZNAS_PROXIES), data=(imgs, torch.arange(4)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        z = feat.fit_transform([identity, "(0, 2, 3, 2, 3, 1)"])
    assert math.isnan(z[0, 2]) and np.isfinite(np.delete(z, [2], axis=1)).all()
    assert np.isfinite(z[1]).all()
    msgs = [str(w.message) for w in caught if issubclass(w.category, ProxyFailedWarning)]
    assert any("identity map" in m and "az_trainability" in m for m in msgs)
    assert z[1, 3] == pytest.approx(score_network(get_space("nb201").build(
        "(0, 2, 3, 2, 3, 1)"), imgs, torch.arange(4), ["flops"])[0]["flops"])  # fmt: skip


def test_explicit_blocks_and_clear_errors():
    net = small_cnn()
    x, y = torch.randn(4, 3, 8, 8, dtype=torch.float64), torch.zeros(4, dtype=torch.long)
    npass = NetworkPass(net, x, y, options={"az_blocks": ["stem", "cells.2"]})
    assert npass.block_features["names"] == ["stem", "cells.2"]
    scores, errors = score_network(net, x, y, ["az_expressivity"], options={"az_blocks": ["nope"]})
    assert math.isnan(scores["az_expressivity"])
    assert "no submodule 'nope'" in errors["az_expressivity"]
    flat = nn.Sequential(nn.Flatten(), nn.Linear(3 * 64, 5)).double()
    _, errors = score_network(flat, x, y, ["az_trainability"])
    assert "no stack of blocks" in errors["az_trainability"]


def test_registered_and_documented():
    assert set(AZNAS_PROXIES) <= set(list_proxies())
    for name in AZNAS_PROXIES[:3]:
        assert get_proxy(name).requires == frozenset({"block_features"})
        assert "CVPR 2024" in get_proxy(name).reference
    assert get_proxy("az_complexity").requires == frozenset({"model"})


def test_aggregation_is_azs_sum_of_log_ranks_and_orders_like_zcranker_log_rank():
    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.normal(size=(30, 4)), columns=list(AZNAS_PROXIES))
    table.iloc[3:6, 1] = 0.5  # ties are averaged
    agg = aznas_aggregate(table)
    expected = np.log(table.rank() / 30).sum(axis=1).to_numpy()
    np.testing.assert_allclose(agg, expected, rtol=1e-12)
    fused = ZCRanker("log-rank").fit(table.to_numpy()).predict(table.to_numpy())
    np.testing.assert_allclose(fused * 4, agg, rtol=1e-10)  # the mean instead of the sum
    # a failed proxy ranks last (AZ-NAS's -inf), not skipped
    table.iloc[0, 2] = np.nan
    worst = log_rank_sum(table[["az_trainability"]])
    assert worst[0] == pytest.approx(np.log(1 / 30))
    with pytest.raises(ValueError, match=r"\+inf"):
        log_rank_sum(np.array([[1.0], [np.inf]]))


def test_trainability_leaves_out_blocks_whose_positions_cannot_be_paired():
    """A token-pooling block (PiT) has no per-position Jacobian estimate: it is skipped, and
    only when no block is left is the proxy undefined."""
    from libranas.proxies.aznas import _sigma_max

    gen = torch.Generator().manual_seed(0)
    r_same, g_same = torch.randn(4, 5, 8, generator=gen), torch.randn(4, 5, 8, generator=gen)
    assert _sigma_max(r_same, g_same) is not None
    assert (
        _sigma_max(torch.randn(4, 5, 8, generator=gen), torch.randn(4, 17, 8, generator=gen))
        is None
    )
    assert (
        _sigma_max(torch.randn(2, 3, 3, 3, generator=gen), torch.randn(2, 3, 7, 7, generator=gen))
        is None
    )


def test_gaussian_input_option_is_a_seeded_gaussian_batch_in_its_own_forward():
    space = get_space("nb201")
    torch.manual_seed(0)
    net = space.build("(0, 2, 3, 2, 3, 1)").double()
    x, y = torch.randn(6, 3, 16, 16, dtype=torch.float64), torch.arange(6) % 10
    az = list(AZNAS_PROXIES[:3])
    opts = {"az_input": "gaussian"}
    gauss, err = score_network(net, x, y, az, seed=5, options=opts)
    assert err == {}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        noise = torch.randn(x.shape, dtype=x.dtype)
    on_noise, _ = score_network(net, noise, y, az, seed=5)
    on_batch, _ = score_network(net, x, y, az, seed=5)
    for name in az:
        assert gauss[name] == pytest.approx(on_noise[name], rel=1e-12), name
        assert gauss[name] != on_batch[name]
    # with other batch-loss proxies: the shared forward no longer records the blocks
    calls = []
    handle = net.register_forward_hook(lambda m, i, o: calls.append(o.shape[0]))
    fused, err = score_network(net, x, y, [*az, "snip", "swap"], seed=5, options=opts)
    handle.remove()
    assert err == {} and calls == [6, 6]  # the shared batch forward, the Gaussian forward
    assert "block_features" not in NetworkPass(net, x, y, options=opts, plan=plan_for(az)).plan
    for name in az:
        assert fused[name] == pytest.approx(gauss[name], rel=1e-12)
    _, err = score_network(net, x, y, ["az_expressivity"], options={"az_input": "noise"})
    assert "az_input" in err["az_expressivity"]


def test_az_input_is_a_declared_option_of_the_featurizer():
    from libranas.proxies._registry import list_options

    assert "az_trainability" in list_options()["az_input"]
    imgs = torch.randn(4, 3, 32, 32)
    archs = ["(0, 2, 3, 2, 3, 1)"]
    feat = ProxyFeaturizer("nb201", proxies=list(AZNAS_PROXIES), data=(imgs, torch.arange(4)),
                           options={"az_input": "gaussian"})  # fmt: skip
    z = feat.fit_transform(archs)
    assert np.isfinite(z).all()
    plain = ProxyFeaturizer("nb201", proxies=list(AZNAS_PROXIES), data=(imgs, torch.arange(4)))
    assert not np.allclose(plain.fit_transform(archs)[0, :3], z[0, :3])
