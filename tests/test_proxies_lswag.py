"""L-SWAG: Lambda, Psi, their product, the band and its calibration."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from _data import require_data
from torch import nn

from libranas.proxies import get_proxy
from libranas.proxies._engine import NetworkPass, score_network
from libranas.proxies.lswag import (
    band_mask,
    calibrate_band,
    check_band,
    choose_band,
    depth_profile,
    layer_log_sigma,
    lswag,
    lswag_lambda,
    lswag_psi,
)
from libranas.proxies.swap import swap

torch.set_num_threads(1)
CIFAR10 = "images/cifar10_960_uint8.npz"  # under the real-data folder (tests/_data.py)


def net4() -> nn.Module:
    """4 weight layers, 3 activation calls."""
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, stride=2),
        nn.GELU(),
        nn.Flatten(),
        nn.Linear(4 * 9, 3),
    )


def batch(n: int = 8, dtype: torch.dtype = torch.float64):
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, 3, 8, 8, generator=g, dtype=dtype), torch.arange(n) % 3


def loop_grads(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> list[torch.Tensor]:
    weights = [m.weight for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    per = [
        torch.autograd.grad(nn.functional.cross_entropy(model(x[i : i + 1]), y[i : i + 1]), weights)
        for i in range(x.shape[0])
    ]
    return [torch.stack([p[k] for p in per]) for k in range(len(weights))]


def test_lambda_is_the_papers_formula_on_single_sample_gradients():
    torch.manual_seed(0)
    net = net4().double()
    x, y = batch()
    expected = []
    for g in loop_grads(net, x, y):
        var = g.abs().var(0)  # variance over samples of |dL/dw|, per weight
        expected.append(math.log(float((1 / var[var > 0].sqrt()).sum())))
    npass = NetworkPass(net, x, y)
    np.testing.assert_allclose(layer_log_sigma(npass), expected, rtol=1e-10)
    assert lswag_lambda(npass) == pytest.approx(sum(expected), rel=1e-10)
    band = NetworkPass(net, x, y, options={"lswag_band": (50, 100)})
    assert lswag_lambda(band) == pytest.approx(sum(expected[2:]), rel=1e-10)


def test_lswag_is_lambda_times_psi_and_registered():
    torch.manual_seed(1)
    x, y = batch(dtype=torch.float32)
    npass = NetworkPass(net4(), x, y)
    assert lswag(npass) == lswag_lambda(npass) * lswag_psi(npass)
    assert lswag_psi(npass) == swap(npass)  # no band: all activation calls
    for name in ("lswag", "lswag_lambda", "lswag_psi"):
        assert get_proxy(name).reference.startswith("Casarin")
    assert get_proxy("lswag").requires == {"per_sample_grads", "activations"}


def test_psi_band_uses_the_first_activation_calls_only():
    torch.manual_seed(2)
    x, y = batch(dtype=torch.float32)
    net = net4()
    full = NetworkPass(net, x, y)
    # 3 activation calls: hi=50 keeps calls 0, 1 (100*j < 50*3); hi=30 keeps call 0
    for hi, kept in ((50, 2), (30, 1)):
        npass = NetworkPass(net, x, y, options={"lswag_band": (0, hi)})
        codes = torch.cat(full.activations[:kept], dim=1).T  # (units, samples)
        expected = len({tuple(row.tolist()) for row in codes})
        assert lswag_psi(npass) == expected
        assert lswag_psi(npass) <= lswag_psi(full)


def test_band_mask_follows_the_depth_percentile_bins():
    # bin of layer l of depth D is floor(10 l / D); band (lo, hi) keeps bins lo/10 .. hi/10 - 1
    for depth in (1, 3, 7, 10, 13, 31):
        bins = np.array([int((k / depth) * 100 // 10) for k in range(depth)])
        for lo, hi in ((0, 100), (90, 100), (30, 70), (0, 10)):
            expected = (bins >= lo // 10) & (bins < hi // 10)
            np.testing.assert_array_equal(band_mask(depth, (lo, hi)), expected)
    assert band_mask(5, None).all()


@pytest.mark.parametrize("bad", [(50, 50), (-1, 10), (10, 101), (70, 20), "ab", (1, 2, 3), 5])
def test_invalid_bands_raise(bad):
    with pytest.raises(ValueError, match="lswag_band"):
        check_band(bad)


def test_an_empty_band_falls_back_to_the_nearest_layer_or_raises_when_asked():
    from libranas.proxies.lswag import band_layers, layer_log_sigma

    x, y = batch(dtype=torch.float32)
    net = nn.Sequential(nn.Flatten(), nn.Linear(192, 8), nn.ReLU(), nn.Linear(8, 3))
    # layers at depths 0 % and 50 %: (10, 40) holds none; 50 is 10 away, 0 is 10 away too
    np.testing.assert_array_equal(band_layers(2, (10, 40)), [True, True])
    np.testing.assert_array_equal(band_layers(2, (10, 35)), [True, False])
    np.testing.assert_array_equal(band_layers(2, (20, 45)), [False, True])
    npass = NetworkPass(net, x, y, options={"lswag_band": (20, 45)})
    assert lswag_lambda(npass) == pytest.approx(float(layer_log_sigma(npass)[1]))
    strict = {"lswag_band": (20, 45), "lswag_empty_band": "error"}
    with pytest.raises(ValueError, match="no weight layer .* band"):
        lswag_lambda(NetworkPass(net, x, y, options=strict))
    scores, errors = score_network(net, x, y, ["lswag", "swap"], options=strict)
    assert math.isnan(scores["lswag"]) and "band" in errors["lswag"]
    assert math.isfinite(scores["swap"])
    with pytest.raises(ValueError, match="lswag_empty_band"):
        band_layers(2, (20, 45), empty="drop")


def test_band_90_100_on_an_8_layer_network_uses_its_deepest_layer():
    from libranas.proxies.lswag import band_layers

    assert band_layers(8, (90, 100)).nonzero()[0].tolist() == [7]
    assert band_layers(9, (90, 100)).nonzero()[0].tolist() == [8]  # 88.9 %: also nearest
    assert band_layers(11, (90, 100)).nonzero()[0].tolist() == [10]  # 90.9 %: in the band


def test_layers_without_gradient_variance_are_skipped():
    torch.manual_seed(3)
    net = net4()
    with torch.no_grad():  # a dead first layer: no gradient reaches it
        net[0].weight.zero_()
        net[0].bias.fill_(-1.0)
        net[2].weight.zero_()
        net[2].bias.fill_(-1.0)
    x, y = batch(dtype=torch.float32)
    values = layer_log_sigma(NetworkPass(net, x, y))
    assert np.isnan(values[0]) and np.isfinite(values[-1])
    assert lswag_lambda(NetworkPass(net, x, y)) == pytest.approx(np.nansum(values))
    # a band holding only the dead layer: the nearest layers that vary (noted), or an error
    dead_band = NetworkPass(net, x, y, options={"lswag_band": (0, 25)})
    assert np.isfinite(lswag_lambda(dead_band)) and "nearest" in dead_band.cache["notes"]["lswag"]
    strict = {"lswag_band": (0, 25), "lswag_empty_band": "error"}
    with pytest.raises(ValueError, match="varies"):
        lswag_lambda(NetworkPass(net, x, y, options=strict))


def test_depth_profile_averages_per_network_bins():
    a = np.array([1.0, 2.0, 3.0, 4.0, 5.0])  # D=5, 10 bins: layer l -> bin 2 l
    b = np.array([10.0, np.nan])  # D=2: bins 0 and 5; the nan is ignored
    prof = depth_profile([a, b])
    assert prof.shape == (10,)
    np.testing.assert_allclose(prof[[0, 2, 4, 6, 8]], [5.5, 2.0, 3.0, 4.0, 5.0])
    assert np.isnan(prof[[1, 3, 5, 7, 9]]).all()
    # several layers of one network in a bin count once (their mean)
    np.testing.assert_allclose(depth_profile([np.arange(20.0)], n_bins=10), np.arange(10) * 2 + 0.5)
    with pytest.raises(ValueError, match="at least one"):
        depth_profile([])
    with pytest.raises(ValueError, match="non-empty 1-D"):
        depth_profile([np.array([])])
    with pytest.raises(ValueError, match="n_bins"):
        depth_profile([a], n_bins=0)


def test_choose_band_finds_the_spike():
    prof = np.array([1.0, 1.2, 1.1, 5.0, 9.8, 10.0, 9.5, 2.0, 1.0, 1.0])
    assert choose_band(prof) == (40.0, 70.0)
    assert choose_band(prof, threshold=1.0) == (50.0, 60.0)
    assert choose_band(prof, threshold=0.0) == (0.0, 100.0)
    with_gap = np.array([0.0, 10.0, np.nan, 9.9, 0.0])
    assert choose_band(with_gap, threshold=0.5) == (20.0, 40.0)  # nan bins stop the run
    assert choose_band(np.array([np.nan, 3.0, 3.0, np.nan])) == (25.0, 75.0)  # flat
    with pytest.raises(ValueError, match="finite"):
        choose_band(np.array([np.nan, np.nan]))
    with pytest.raises(ValueError, match="threshold"):
        choose_band(prof, threshold=1.5)


def test_calibrated_band_can_be_used_by_the_proxies():
    x, y = batch(dtype=torch.float32)
    per_layer = []
    for seed in range(3):
        torch.manual_seed(seed)
        per_layer.append(layer_log_sigma(NetworkPass(net4(), x, y)))
    band = calibrate_band(per_layer)
    lo, hi = band
    assert 0 <= lo < hi <= 100 and lo % 10 == 0 and hi % 10 == 0
    torch.manual_seed(0)
    scores, errors = score_network(net4(), x, y, ["lswag"], options={"lswag_band": band})
    assert errors == {} and math.isfinite(scores["lswag"])


def test_lswag_on_built_nb201_cells_with_real_images():
    nb201 = pytest.importorskip("libranas.spaces.nb201")
    d = np.load(require_data(CIFAR10))
    x = torch.tensor(d["x"][:16]).float() / 255
    mean = torch.tensor([0.4914, 0.4822, 0.4465]).view(1, 3, 1, 1)
    std = torch.tensor([0.2470, 0.2435, 0.2616]).view(1, 3, 1, 1)
    x, y = nn.functional.avg_pool2d((x - mean) / std, 2), torch.tensor(d["y"][:16])
    space = nb201.NB201Space(channels=8, cells_per_stage=1)
    archs = [
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
        "|nor_conv_1x1~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|nor_conv_3x3~1|skip_connect~2|",
        "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
        "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    ]
    names = ["lswag", "lswag_lambda", "lswag_psi"]
    results = []
    for arch in archs:
        torch.manual_seed(0)
        results.append(score_network(space.build(arch), x, y, names))
    for scores, errors in results[:3]:
        assert errors == {}, errors
        assert all(math.isfinite(v) for v in scores.values())
        assert scores["lswag"] == pytest.approx(scores["lswag_lambda"] * scores["lswag_psi"])
    # the all-"none" cell cuts the input from the output: no weight gets a varying
    # gradient, Lambda is log(0) and both Lambda and L-SWAG fail with a clear reason
    scores, errors = results[3]
    assert set(errors) == {"lswag", "lswag_lambda"} and "varies" in errors["lswag"]
    assert math.isnan(scores["lswag"]) and math.isfinite(scores["lswag_psi"])
    psi = [r[0]["lswag_psi"] for r in results]
    assert psi[0] > psi[2] > psi[3]  # more nonlinear paths, more distinct patterns


def test_lswag_on_a_tiny_vision_transformer_exact_equals_loop():
    timm = pytest.importorskip("timm")
    torch.manual_seed(0)
    vit = timm.models.vision_transformer.VisionTransformer(
        img_size=16, patch_size=8, embed_dim=16, depth=2, num_heads=2, num_classes=3
    ).double()
    x, y = torch.randn(6, 3, 16, 16, dtype=torch.float64), torch.arange(6) % 3
    exact = NetworkPass(vit, x, y)
    loop = NetworkPass(vit, x, y, options={"per_sample": "loop"})
    # patch embedding, qkv, proj, fc1, fc2 per block, head: the paper's ViT layers
    assert [s.name for s in exact.per_sample_grads][:5] == [
        "patch_embed.proj",
        "blocks.0.attn.qkv",
        "blocks.0.attn.proj",
        "blocks.0.mlp.fc1",
        "blocks.0.mlp.fc2",
    ]
    np.testing.assert_allclose(layer_log_sigma(exact), layer_log_sigma(loop), rtol=1e-9)
    # timm's GELU outputs of the 5 tokens x 64 hidden units of each block are the units
    assert [c.shape for c in exact.activations] == [(6, 5 * 64), (6, 5 * 64)]
    assert math.isfinite(lswag(exact))
