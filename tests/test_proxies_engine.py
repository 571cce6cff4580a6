"""The shared pass: per-sample gradient statistics, features pass, score_network."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from _data import require_data
from scipy.stats import spearmanr
from torch import nn

from libranas.proxies._engine import (
    NetworkPass,
    batch_norm_fixed_to_batch_statistics,
    score_network,
)

torch.set_num_threads(1)
CIFAR10 = "images/cifar10_960_uint8.npz"  # under the real-data folder (tests/_data.py)


def bn_net(width: int = 4) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, width, 3, padding=1, bias=False),
        nn.BatchNorm2d(width),
        nn.ReLU(),
        nn.Conv2d(width, width, 3, padding=1),
        nn.BatchNorm2d(width),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(width, 3),
    )


def plain_net(width: int = 4) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, width, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(width, width, 3, stride=2),
        nn.GELU(),
        nn.Flatten(),
        nn.Linear(width * 9, 3),
    )


def batch(n: int = 6, dtype: torch.dtype = torch.float64, size: int = 8, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, size, size, generator=g, dtype=dtype)
    return x, torch.arange(n) % 3


def reference_grads(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> list[torch.Tensor]:
    """Per-sample gradients by a loop of single-sample backward passes, written independently.

    Train-mode BatchNorm is reproduced by putting a copy in eval mode with running
    statistics set to the whole batch's mean and biased variance.
    """
    ref = copy.deepcopy(model)
    bns = [m for m in ref.modules() if isinstance(m, nn.BatchNorm2d)]
    if bns and model.training:
        recorded = {}

        def record(module, inp):
            recorded[module] = (inp[0].mean((0, 2, 3)), inp[0].var((0, 2, 3), unbiased=False))

        hooks = [m.register_forward_pre_hook(record) for m in bns]
        with torch.no_grad():
            ref(x)
        for h in hooks:
            h.remove()
        for m in bns:
            mu, var = recorded[m]
            m.running_mean.copy_(mu)
            m.running_var.copy_(var)
            m.eval()
    weights = [m.weight for m in ref.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    per_sample = []
    for i in range(x.shape[0]):
        loss = nn.functional.cross_entropy(ref(x[i : i + 1]), y[i : i + 1])
        per_sample.append(torch.autograd.grad(loss, weights))
    return [torch.stack([g[k] for g in per_sample]) for k in range(len(weights))]


def assert_stats_match(stats, grads, rtol=1e-9, atol=1e-15):
    assert len(stats) == len(grads)
    for s, g in zip(stats, grads, strict=True):
        g = g.to(torch.float64)
        assert s.count == g.shape[0]
        torch.testing.assert_close(s.mean, g.mean(0), rtol=rtol, atol=atol)
        torch.testing.assert_close(s.mean_abs, g.abs().mean(0), rtol=rtol, atol=atol)
        torch.testing.assert_close(s.var, g.var(0), rtol=rtol, atol=atol)
        torch.testing.assert_close(s.var_abs, g.abs().var(0), rtol=rtol, atol=atol)


@pytest.mark.parametrize(
    "options",
    [
        {"per_sample": "exact", "per_sample_impl": "hooks"},
        {"per_sample": "exact", "per_sample_impl": "vmap", "per_sample_chunk": 4},
        {"per_sample": "loop"},
    ],
)
def test_per_sample_stats_equal_single_sample_backward_loop_with_batchnorm(options):
    torch.manual_seed(0)
    net = bn_net().double().train()
    x, y = batch()
    npass = NetworkPass(net, x, y, options=options)
    assert_stats_match(npass.per_sample_grads, reference_grads(net, x, y))


def darts_like_net(width: int = 6) -> nn.Module:
    """Strided, dilated, depthwise (grouped) and 1x1 convs, as in DARTS cells."""
    return nn.Sequential(
        nn.Conv2d(3, width, 3, padding=1, bias=False),
        nn.BatchNorm2d(width),
        nn.ReLU(),
        nn.Conv2d(width, width, 3, stride=2, padding=2, dilation=2, groups=width, bias=False),
        nn.Conv2d(width, width, 1, bias=False),
        nn.BatchNorm2d(width),
        nn.ReLU(),
        nn.Conv2d(width, 2 * width, (3, 1), padding=(1, 0), groups=2, bias=False),
        nn.BatchNorm2d(2 * width),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(2 * width, 3),
    )


def test_hooks_per_sample_handles_strided_dilated_and_grouped_convs(monkeypatch):
    from libranas.proxies import _per_sample

    torch.manual_seed(2)
    net = darts_like_net().double().train()
    x, y = batch(n=5, size=9)
    npass = NetworkPass(net, x, y, options={"per_sample_impl": "hooks"})
    stats = npass.per_sample_grads
    assert npass.cache["per_sample_impl"] == "hooks"
    assert_stats_match(stats, reference_grads(net, x, y))
    # "auto" keeps vmap for CNNs with overlapping receptive fields (no faster by hooks)
    auto = NetworkPass(net, x, y)
    assert_stats_match(auto.per_sample_grads, reference_grads(net, x, y))
    assert auto.cache["per_sample_impl"] == "vmap"
    # slicing the output channels (across group boundaries) gives the same statistics
    monkeypatch.setattr(_per_sample, "_HOOKS_SLICE_ELEMENTS", 1)
    sliced = NetworkPass(net, x, y, options={"per_sample_impl": "hooks"}).per_sample_grads
    assert_stats_match(sliced, reference_grads(net, x, y))


def test_exact_per_sample_stats_without_batchnorm_match_plain_backward():
    torch.manual_seed(1)
    net = plain_net().double()
    x, y = batch(n=5)
    stats = NetworkPass(net, x, y).per_sample_grads
    assert [s.name for s in stats] == ["0", "2", "5"]
    assert_stats_match(stats, reference_grads(net, x, y))


def test_chunk_size_does_not_change_statistics():
    torch.manual_seed(2)
    net = bn_net().double()
    x, y = batch(n=11)
    a = NetworkPass(net, x, y, options={"per_sample_chunk": 3}).per_sample_grads
    b = NetworkPass(net, x, y, options={"per_sample_chunk": 64}).per_sample_grads
    for sa, sb in zip(a, b, strict=True):
        torch.testing.assert_close(sa.var_abs, sb.var_abs, rtol=1e-10, atol=1e-18)
        torch.testing.assert_close(sa.mean, sb.mean, rtol=1e-10, atol=1e-18)


def test_chunks_mode_is_statistics_over_train_mode_parts():
    torch.manual_seed(3)
    net = bn_net().double().train()
    x, y = batch(n=9)
    stats = NetworkPass(net, x, y, options={"per_sample": "chunks", "per_sample_splits": 3})
    ref = copy.deepcopy(net)
    weights = [m.weight for m in ref.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    parts = []
    for s in range(3):
        xs, ys = x[3 * s : 3 * s + 3], y[3 * s : 3 * s + 3]
        parts.append(torch.autograd.grad(nn.functional.cross_entropy(ref(xs), ys), weights))
    grads = [torch.stack([p[k] for p in parts]) for k in range(len(weights))]
    assert_stats_match(stats.per_sample_grads, grads)


def test_per_sample_pass_leaves_model_untouched():
    torch.manual_seed(4)
    net = bn_net().train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    x, y = batch(dtype=torch.float32)
    for mode in ("exact", "loop", "chunks"):
        _ = NetworkPass(net, x, y, options={"per_sample": mode}).per_sample_grads
        _ = NetworkPass(net, x, y).features
    after = net.state_dict()
    for k, v in before.items():
        assert torch.equal(v, after[k]), k
    assert net.training and all(m.training for m in net.modules())
    assert all("forward" not in vars(m) for m in net.modules())
    assert all(p.grad is None for p in net.parameters())


def test_fixed_batch_statistics_reproduce_the_batched_forward():
    torch.manual_seed(5)
    net = bn_net().double().train()
    x, _ = batch(n=7)
    with torch.no_grad():
        full = net(x)
        with batch_norm_fixed_to_batch_statistics(net, x):
            rows = torch.cat([net(x[i : i + 1]) for i in range(7)])
        single = net(x[:1])  # back to real train-mode BN: one sample's own statistics
    torch.testing.assert_close(rows, full, rtol=1e-12, atol=1e-12)
    assert not torch.allclose(single, full[:1])


def test_shared_batchnorm_is_rejected_with_a_clear_error():
    bn = nn.BatchNorm2d(3)
    net = nn.Sequential(bn, nn.ReLU(), bn, nn.Flatten(), nn.Linear(3 * 16, 2))
    x = torch.randn(4, 3, 4, 4)
    with pytest.raises(ValueError, match="shared"):
        _ = NetworkPass(net, x, torch.zeros(4, dtype=torch.long)).per_sample_grads
    # the ZiCo estimate does not need per-sample normalisation and works
    stats = NetworkPass(
        net, x, torch.zeros(4, dtype=torch.long), options={"per_sample": "chunks"}
    ).per_sample_grads
    assert stats[0].count == 2


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"per_sample": "vmap"}, "per_sample"),
        ({"per_sample": "chunks", "per_sample_splits": 1}, "per_sample_splits"),
        ({"per_sample": "chunks", "per_sample_splits": 7}, "per_sample_splits"),
        ({"per_sample_chunk": 0}, "per_sample_chunk"),
    ],
)
def test_bad_per_sample_options_raise(options, match):
    x, y = batch(dtype=torch.float32)
    with pytest.raises(ValueError, match=match):
        _ = NetworkPass(plain_net(), x, y, options=options).per_sample_grads


def test_single_sample_batch_and_weightless_model_raise():
    x, y = batch(n=1, dtype=torch.float32)
    with pytest.raises(ValueError, match="at least 2 samples"):
        _ = NetworkPass(plain_net(), x, y).per_sample_grads
    x, y = batch(dtype=torch.float32)
    with pytest.raises(ValueError, match="no weight layer"):
        _ = NetworkPass(nn.Sequential(nn.Flatten()), x, y).per_sample_grads


def test_features_pass_records_maps_of_the_first_samples():
    torch.manual_seed(6)
    net = bn_net()
    x, y = batch(dtype=torch.float32)
    feats = NetworkPass(net, x, y).features
    # conv, bn, relu, conv, bn, relu, pool (4-D); Flatten/Linear outputs are 2-D; root not hooked
    assert [name for name, _ in feats] == ["0", "1", "2", "3", "4", "5", "6"]
    assert all(f.shape[0] == 1 for _, f in feats)
    feats3 = NetworkPass(net, x, y, options={"features_samples": 3}).features
    assert feats3[0][1].shape == (3, 4, 8, 8)
    with pytest.raises(ValueError, match="features_samples"):
        _ = NetworkPass(net, x, y, options={"features_samples": 0}).features


def test_score_network_collects_scores_and_per_proxy_errors():
    torch.manual_seed(7)
    x, y = batch(n=8, dtype=torch.float32)
    scores, errors = score_network(plain_net(), x, y, ["swap", "zico", "nwot"])
    assert errors == {} and all(math.isfinite(v) for v in scores.values())
    # no activation module: the activation proxies fail, zico still scores
    linear = nn.Sequential(nn.Flatten(), nn.Linear(3 * 64, 3))
    scores, errors = score_network(linear, x, y, ["swap", "zico", "nwot"])
    assert math.isnan(scores["swap"]) and math.isnan(scores["nwot"])
    assert "no activation module" in errors["swap"] and errors["swap"].startswith("ValueError")
    assert math.isfinite(scores["zico"]) and "zico" not in errors
    assert list(scores) == ["swap", "zico", "nwot"]


def test_score_network_validates_its_input():
    x, y = batch(n=4, dtype=torch.float32)
    with pytest.raises(ValueError, match="unknown proxy"):
        score_network(plain_net(), x, y, ["swap", "not_a_proxy"])
    with pytest.raises(TypeError, match="sequence of proxy names"):
        score_network(plain_net(), x, y, "swap")
    with pytest.raises(ValueError, match="targets have 3"):
        score_network(plain_net(), x, y[:3], ["swap"])


def test_score_network_is_deterministic():
    x, y = batch(n=8, dtype=torch.float32)
    names = ["lswag", "zico", "swap", "meco", "nwot"]
    torch.manual_seed(8)
    net = nn.Sequential(plain_net(), nn.Dropout(0.3))  # dropout masks follow the seed
    first = score_network(net, x, y, names, seed=3)
    second = score_network(net, x, y, names, seed=3)
    assert first == second and first[1] == {}


def _small_nb201_nets(n):
    nb201 = pytest.importorskip("libranas.spaces.nb201")
    space = nb201.NB201Space(channels=8, cells_per_stage=1)
    nets = []
    for arch in space.sample(n, random_state=1):
        torch.manual_seed(0)
        nets.append(space.build(arch))
    return nets


def _cifar_batch(n):
    d = np.load(require_data(CIFAR10))
    x = torch.tensor(d["x"][:n]).float() / 255
    mean = torch.tensor([0.4914, 0.4822, 0.4465]).view(1, 3, 1, 1)
    std = torch.tensor([0.2470, 0.2435, 0.2616]).view(1, 3, 1, 1)
    return (x - mean) / std, torch.tensor(d["y"][:n])


def test_exact_and_chunk_estimates_agree_on_ranking_of_nb201_cells():
    x, y = _cifar_batch(32)
    x = nn.functional.avg_pool2d(x, 2)  # 16x16 keeps the test fast
    exact, chunks = [], []
    for net in _small_nb201_nets(8):
        s_exact, e1 = score_network(net, x, y, ["zico", "lswag_lambda"])
        s_chunks, e2 = score_network(
            net, x, y, ["zico", "lswag_lambda"], options={"per_sample": "chunks"}
        )
        assert e1 == {} and e2 == {}
        exact.append([s_exact["zico"], s_exact["lswag_lambda"]])
        chunks.append([s_chunks["zico"], s_chunks["lswag_lambda"]])
    exact, chunks = np.array(exact), np.array(chunks)
    for k in range(2):
        rho = spearmanr(exact[:, k], chunks[:, k])[0]
        assert rho > 0.8, rho
    # but they are different estimates, not the same numbers
    assert not np.allclose(exact, chunks)


def test_exact_per_sample_matches_loop_on_a_built_nb201_cell_in_float64():
    g = torch.Generator().manual_seed(0)  # an identity of gradients: any batch will do
    x, y = torch.randn(4, 3, 32, 32, generator=g), torch.randint(0, 10, (4,), generator=g)
    net = _small_nb201_nets(1)[0].double().train()
    x = nn.functional.avg_pool2d(x, 4).double()
    stats = NetworkPass(net, x, y).per_sample_grads
    assert_stats_match(stats, reference_grads(net, x, y), rtol=1e-7, atol=1e-14)


# -- the fused batch-loss pass ----------------------------------------------------------

FUSED = ["activations", "input_jacobian", "weight_grads", "hessian_grad"]


def _fused_values(npass: NetworkPass) -> dict:
    jac, logits = npass.input_jacobian
    return {
        "codes": [c.clone() for c in npass.activations],
        "jac": jac,
        "logits": logits,
        "grads": npass.loss_grads["grads"],
        "terms": [torch.cat(t) for t in npass.loss_grads["channel_terms"]],
        "hg": npass.hessian_grad["hg"],
    }


def test_planned_fused_pass_equals_each_pass_on_its_own():
    torch.manual_seed(3)
    net = bn_net().double().train()
    x, y = batch()
    before = copy.deepcopy(net.state_dict())
    fused = NetworkPass(net, x, y, plan=FUSED)
    a = _fused_values(fused)
    # one forward served all four items
    assert set(fused.cache["fused"]) == set(FUSED)
    b = _fused_values(NetworkPass(net, x, y))  # no plan: four separate forwards
    for key in a:
        for u, v in zip(a[key], b[key], strict=True):
            if u is None or v is None:
                assert u is None and v is None
            else:
                torch.testing.assert_close(u, v, rtol=1e-12, atol=1e-15)
    # the model (weights, running statistics) is left as it was
    for k, v in net.state_dict().items():
        torch.testing.assert_close(v, before[k], rtol=0, atol=0)


def test_fused_pass_values_match_direct_autograd():
    torch.manual_seed(4)
    net = plain_net().double()
    x, y = batch()
    npass = NetworkPass(net, x, y, plan=FUSED)
    weights = [m.weight for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    loss = nn.functional.cross_entropy(net(x), y)
    g = torch.autograd.grad(loss, weights, create_graph=True)
    hg = torch.autograd.grad(sum((gi.detach() * gi).sum() for gi in g), weights)
    for mine, ref in zip(npass.loss_grads["grads"], g, strict=True):
        torch.testing.assert_close(mine, ref.detach(), rtol=1e-12, atol=1e-15)
    for mine, ref in zip(npass.hessian_grad["hg"], hg, strict=True):
        torch.testing.assert_close(mine, ref, rtol=1e-12, atol=1e-15)
    xr = x.clone().requires_grad_(True)
    (jac,) = torch.autograd.grad(net(xr).sum(), xr)
    torch.testing.assert_close(npass.input_jacobian[0], jac.reshape(len(x), -1))


def test_fused_pass_failure_is_raised_to_every_planned_item_and_score_goes_on():
    class Broken(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3 * 8 * 8, 3)

        def forward(self, x):
            raise RuntimeError("forward exploded")

    x, y = batch(dtype=torch.float32)
    npass = NetworkPass(Broken(), x, y, plan=FUSED)
    for item in FUSED:
        with pytest.raises(RuntimeError, match="forward exploded"):
            npass.fused(item)
    with pytest.raises(ValueError, match="unknown pass item"):
        npass.fused("weights")
    scores, errors = score_network(Broken(), x, y, ["params", "snip", "grasp", "jacov"])
    assert math.isfinite(scores["params"])
    assert set(errors) == {"snip", "grasp", "jacov"}
    assert all("forward exploded" in e for e in errors.values())


def test_plan_for_collects_fusable_requirements():
    from libranas.proxies._engine import plan_for

    assert plan_for(["params", "synflow", "zen"]) == frozenset()
    assert plan_for(["epe_nas", "fisher", "nwot"]) == {
        "input_jacobian",
        "weight_grads",
        "activations",
    }
    assert plan_for(["grasp"]) == {"hessian_grad"}


def test_planned_per_sample_pass_reuses_the_fused_forward_batch_statistics():
    torch.manual_seed(5)
    net = bn_net().double().train()
    x, y = batch()
    calls = []
    net.register_forward_pre_hook(lambda module, inp: calls.append(inp[0].shape[0]))
    planned = NetworkPass(net, x, y, plan=[*FUSED, "per_sample_grads"])
    stats = planned.per_sample_grads  # runs the fused forward first, then per-sample
    assert set(planned.cache["fused"]) == set(FUSED)
    assert planned.cache["bn_batch_stats"] is not None
    n_planned = len(calls)
    calls.clear()
    alone = NetworkPass(net, x, y)
    ref = alone.per_sample_grads
    _ = alone.activations  # the same work, unplanned: one more full-batch forward
    assert len(calls) == n_planned + 1
    for s, r in zip(stats, ref, strict=True):
        for f in ("mean", "mean_abs", "var", "var_abs"):
            torch.testing.assert_close(getattr(s, f), getattr(r, f), rtol=1e-12, atol=1e-15)
    assert_stats_match(stats, reference_grads(net, x, y))


def test_shared_batchnorm_still_raises_when_planned():
    bn = nn.BatchNorm2d(3)
    net = nn.Sequential(bn, nn.ReLU(), bn, nn.Flatten(), nn.Linear(3 * 8 * 8, 3)).double()
    x, y = batch()
    npass = NetworkPass(net, x, y, plan=["activations", "per_sample_grads"])
    with pytest.raises(ValueError, match="shared BatchNorm"):
        _ = npass.per_sample_grads
    assert len(npass.activations) == 1  # the fused forward itself worked
