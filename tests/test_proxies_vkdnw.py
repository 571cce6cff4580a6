"""VKDNW: per-sample Fisher Jacobians, the decile entropy, VKDNW_single and VKDNW_agg."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from libranas.featurizer import ProxyFeaturizer
from libranas.proxies import get_proxy, list_proxies
from libranas.proxies._engine import NetworkPass, score_network
from libranas.proxies.vkdnw import (
    VKDNW_AGG_PROXIES,
    decile_entropy,
    fisher_information,
    fisher_jacobian,
    fisher_parameters,
    fisher_spectrum,
    vkdnw,
    vkdnw_aggregate,
    vkdnw_single,
)
from libranas.spaces import get_space

torch.set_num_threads(1)


class TinyNet(nn.Module):
    """Every supported module type, stride / padding modes / groups / dilation, an in-place
    ReLU after BatchNorm and a Linear called twice (shared parameters)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, stride=2, padding=1, bias=True)
        self.bn = nn.BatchNorm2d(4)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(
            4, 4, 3, padding=2, dilation=2, groups=2, bias=False, padding_mode="reflect"
        )
        self.gn = nn.GroupNorm(2, 4)
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.ln = nn.LayerNorm(16)
        self.shared = nn.Linear(16, 16)
        self.head = nn.Linear(16, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn(self.conv1(x)))
        x = torch.relu(self.gn(self.conv2(x)))
        x = self.ln(torch.flatten(self.pool(x), 1))
        x = torch.tanh(self.shared(torch.tanh(self.shared(x))))
        return self.head(x)


def _perturbed(net: nn.Module) -> nn.Module:
    """Non-trivial affine parameters (BatchNorm / norms start at weight 1, bias 0)."""
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    return net


def brute_force_jacobian(net: nn.Module, x: torch.Tensor, mode: str) -> np.ndarray:
    """J[n, c, k] = d z_c(x_n) / d (first element of parameter k), one sample and one class
    at a time with full parameter gradients. ``"batch"``: BatchNorm normalises with the whole
    batch's (biased) statistics, done by copying them into the running statistics and
    running in eval mode; ``"running"``: eval mode as it is."""
    net = net.eval() if mode == "running" else net
    if mode == "batch":
        stats = {}

        def record(m: nn.Module, inp: tuple[torch.Tensor, ...]) -> None:
            stats[m] = (inp[0].mean((0, 2, 3)), inp[0].var((0, 2, 3), unbiased=False))

        hooks = [
            m.register_forward_pre_hook(record)
            for m in net.modules()
            if isinstance(m, nn.BatchNorm2d)
        ]
        with torch.no_grad():
            net(x)
        for h in hooks:
            h.remove()
        net.eval()
        for m, (mean, var) in stats.items():
            m.running_mean.copy_(mean)
            m.running_var.copy_(var)
    params = [p for p in net.parameters() if p.requires_grad]
    n, c = x.shape[0], net(x[:1]).shape[1]
    out = np.zeros((n, c, len(params)))
    for i in range(n):
        z = net(x[i : i + 1])[0]
        for k in range(c):
            grads = torch.autograd.grad(z[k], params, retain_graph=True, allow_unused=True)
            out[i, k] = [0.0 if g is None else float(g.reshape(-1)[0]) for g in grads]
    return out


@pytest.mark.parametrize("mode", ["batch", "running"])
def test_jacobian_equals_single_sample_autograd_in_float64(mode):
    torch.manual_seed(0)
    net = _perturbed(TinyNet().double())
    x = torch.randn(6, 3, 8, 8, dtype=torch.float64)
    y = torch.zeros(6, dtype=torch.long)
    npass = NetworkPass(net, x, y, options={"vkdnw_bn": mode})
    fj = fisher_jacobian(npass)
    assert fj.names == [name for name, _ in net.named_parameters()]
    ref = brute_force_jacobian(net, x, mode)
    np.testing.assert_allclose(fj.jacobian, ref, rtol=1e-9, atol=1e-12)
    assert np.abs(ref).max() > 0
    # the spectrum and the score follow from it
    z = net(x).detach().numpy()  # net is in eval mode now, with the statistics used above
    np.testing.assert_allclose(fj.logits, z, rtol=1e-10, atol=1e-12)
    fisher = fisher_information(ref, z)
    expected = decile_entropy(np.clip(np.linalg.eigvalsh(fisher), 0, None))
    assert vkdnw(npass) == pytest.approx(expected, rel=1e-9)


def test_fisher_information_is_the_papers_formula():
    rng = np.random.default_rng(0)
    jac, z = rng.normal(size=(5, 4, 3)), rng.normal(size=(5, 4))
    for a in (0.0, 0.05):
        fisher = np.zeros((3, 3))
        for n in range(5):
            p = np.exp(z[n]) / np.exp(z[n]).sum()
            p = (1 - a) * p + a / 4
            # expectation over the model's own class distribution of grad log p_c grad log p_c^T
            for c in range(4):
                score = jac[n].T @ (np.eye(4)[c] - p)
                fisher += p[c] * np.outer(score, score) / 5
        np.testing.assert_allclose(fisher_information(jac, z, a), fisher, rtol=1e-12)
    with pytest.raises(ValueError, match="vkdnw_smoothing"):
        fisher_information(jac, z, 1.0)


def test_hand_computed_value_on_a_linear_model():
    # z = W x + b, W = b = 0 (p = 1/2, 1/2), x = 1, -1, 2, -2: F = diag(0.625, 0.25)
    net = nn.Linear(1, 2).double()
    with torch.no_grad():
        net.weight.zero_()
        net.bias.zero_()
    x = torch.tensor([[1.0], [-1.0], [2.0], [-2.0]], dtype=torch.float64)
    npass = NetworkPass(net, x, torch.zeros(4, dtype=torch.long))
    np.testing.assert_allclose(fisher_spectrum(npass), [0.25, 0.625], rtol=1e-12)
    deciles = [0.25 + 0.375 * k / 10 for k in range(1, 10)]
    w = [d / sum(deciles) for d in deciles]
    expected = -sum(v * math.log(v) for v in w)
    assert vkdnw(npass) == pytest.approx(expected, rel=1e-12)
    assert vkdnw_single(npass) == pytest.approx(2 + expected / math.log(9), rel=1e-12)


def test_decile_entropy_edges_and_scale_invariance():
    assert decile_entropy([3.0] * 7) == pytest.approx(math.log(9))
    assert decile_entropy([0.0, 0.0, 0.0]) == 0.0
    lam = np.random.default_rng(1).exponential(size=50)
    assert decile_entropy(lam) == pytest.approx(decile_entropy(1e-7 * lam), rel=1e-12)
    assert decile_entropy(lam) == pytest.approx(decile_entropy(lam[::-1]), rel=1e-12)
    assert 0 < decile_entropy(lam) < math.log(9)
    with pytest.raises(ValueError, match="empty"):
        decile_entropy([])


def test_invariant_to_the_order_of_the_batch():
    torch.manual_seed(0)
    net = _perturbed(TinyNet().double())
    x = torch.randn(8, 3, 8, 8, dtype=torch.float64)
    y = torch.arange(8) % 5
    perm = torch.randperm(8)
    a = vkdnw(NetworkPass(net, x, y))
    b = vkdnw(NetworkPass(net, x[perm], y[perm]))
    assert a == pytest.approx(b, rel=1e-10)


def test_running_statistics_and_smoothing_change_the_score():
    torch.manual_seed(0)
    net = _perturbed(TinyNet().double())
    x, y = torch.randn(8, 3, 8, 8, dtype=torch.float64), torch.zeros(8, dtype=torch.long)
    base = vkdnw(NetworkPass(net, x, y))
    assert vkdnw(NetworkPass(net, x, y, options={"vkdnw_bn": "running"})) != base
    assert vkdnw(NetworkPass(net, x, y, options={"vkdnw_smoothing": 0.5})) != base
    assert all(m.training for m in net.modules())  # the mode is restored after "running"
    assert float(net.bn.running_mean.abs().sum()) == 0.0  # buffers untouched


def test_fused_pass_and_standalone_agree_in_float64():
    """vkdnw reuses the BatchNorm statistics the fused forward records for per-sample passes."""
    space = get_space("nb201")
    torch.manual_seed(0)
    net = space.build("|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|"
                      "nor_conv_3x3~1|none~2|").double()  # fmt: skip
    x = torch.randn(6, 3, 16, 16, dtype=torch.float64)
    y = torch.arange(6) % 10
    alone, err = score_network(net, x, y, ["vkdnw", "vkdnw_single"])
    fused, err2 = score_network(net, x, y, ["swap", "zico", "vkdnw", "vkdnw_single", "snip"])
    assert err == {} and err2 == {}
    for name in ("vkdnw", "vkdnw_single"):
        assert fused[name] == pytest.approx(alone[name], rel=1e-10)


def test_vkdnw_single_counts_parameter_tensors_on_nb201():
    space = get_space("nb201")
    # stem 3 + 2 reduction blocks x 7 + lastact 2 + classifier 2, and 3 per conv edge x 15 cells
    for arch, convs in [
        ("|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|", 0),
        ("|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|none~2|", 2),
    ]:
        net = space.build(arch)
        assert len(fisher_parameters(net)) == 21 + 45 * convs
    torch.manual_seed(0)
    net = space.build("|nor_conv_1x1~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|")
    npass = NetworkPass(net, torch.randn(4, 3, 16, 16), torch.arange(4))
    value = vkdnw_single(npass)
    assert math.floor(value) == 21 + 45 * 2
    assert value - math.floor(value) == pytest.approx(vkdnw(npass) / math.log(9))


def test_registered_bigger_is_better_and_documented():
    assert {"vkdnw", "vkdnw_single"} <= set(list_proxies())
    for name in ("vkdnw", "vkdnw_single"):
        info = get_proxy(name)
        assert info.requires == frozenset({"own_pass"})
        assert "CVPR 2025" in info.reference


def test_failures_are_nan_with_a_warning_naming_the_cause():
    class OnlyRawParameter(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.ones(3, 4))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.flatten(x, 1)[:, :3] @ self.w

    x, y = torch.randn(4, 3, 2, 2), torch.zeros(4, dtype=torch.long)
    scores, errors = score_network(OnlyRawParameter(), x, y, ["vkdnw", "params"])
    assert math.isnan(scores["vkdnw"]) and scores["params"] > 0
    assert "no trainable parameter in a Conv2d" in errors["vkdnw"]

    # a bad option value is refused when the featurizer is fitted, before any network is
    # scored (it used to turn every cell NaN, one warning each)
    imgs = torch.randn(4, 3, 32, 32)
    feat = ProxyFeaturizer(
        "nb201", proxies=["vkdnw", "params"], data=(imgs, torch.arange(4)),
        options={"vkdnw_bn": "eval"},
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"options\['vkdnw_bn'\] must be one of"):
        feat.fit(["|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"])


def test_vkdnw_aggregate_is_a_sum_of_log_ranks_with_missing_values_last():
    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.normal(size=(7, 5)), columns=list(VKDNW_AGG_PROXIES))
    ranks = table.rank()  # ascending, ties averaged
    expected = np.log(ranks / 7).sum(axis=1).to_numpy()
    np.testing.assert_allclose(vkdnw_aggregate(table), expected, rtol=1e-12)
    table.loc[3, "jacov"] = np.nan
    agg = vkdnw_aggregate(table)
    ranks.loc[:, "jacov"] = table["jacov"].fillna(-np.inf).rank()
    assert ranks.loc[3, "jacov"] == 1.0
    np.testing.assert_allclose(agg, np.log(ranks / 7).sum(axis=1).to_numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="no column"):
        vkdnw_aggregate(table.drop(columns="flops"))


def test_options_are_declared_so_the_featurizer_checks_them():
    from libranas.proxies._registry import list_options

    opts = list_options()
    assert "vkdnw" in opts["vkdnw_bn"] and "vkdnw_single" in opts["vkdnw_smoothing"]
    imgs = torch.randn(4, 3, 32, 32)
    arch = ["|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"]
    ok = ProxyFeaturizer("nb201", proxies=["vkdnw"], data=(imgs, torch.arange(4)),
                         options={"vkdnw_bn": "running", "vkdnw_smoothing": 0.05})  # fmt: skip
    assert np.isfinite(ok.fit_transform(arch)).all()
    bad = ProxyFeaturizer("nb201", proxies=["vkdnw"], data=(imgs, torch.arange(4)),
                          options={"vkdnw_smooting": 0.05})  # fmt: skip
    with pytest.raises(ValueError, match="vkdnw_smoothing"):
        bad.fit_transform(arch)
