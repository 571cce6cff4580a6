"""Network features read from the built PyTorch network (libranas.network_features)."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from libranas import ArchFeaturizer  # noqa: E402
from libranas import network_features as nf  # noqa: E402
from libranas.spaces import ModelSpace, get_space, list_spaces  # noqa: E402

NAMES = nf.network_feature_names()


def feats(row: np.ndarray) -> dict[str, float]:
    return dict(zip(NAMES, row, strict=True))


def space_of(module_factory, name: str) -> ModelSpace:
    return ModelSpace(lambda arch: module_factory(), sample=[0], name=name)


class TwoConv(nn.Module):
    """conv3x3 (3->4) -> ReLU -> conv1x1 (4->4) -> global pool -> linear (4->2)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv_a = nn.Conv2d(3, 4, 3, padding=1)
        self.act = nn.ReLU()
        self.conv_b = nn.Conv2d(4, 4, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        x = self.pool(self.conv_b(self.act(self.conv_a(x))))
        return self.head(torch.flatten(x, 1))


class Residual(nn.Module):
    """x + conv3x3(x), then global pool and linear: 2 input-output paths."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1, bias=False)
        self.head = nn.Linear(3, 2)

    def forward(self, x):
        x = x + self.conv(x)
        return self.head(x.mean(dim=(2, 3)))


class ZeroEdge(nn.Module):
    """conv(x) + x * 0: the zero edge is cut, so no merge and a single path."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x):
        return self.conv(x) + x.mul(0.0)


class TwoBranchCat(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 2, 3, padding=1)
        self.b = nn.Conv2d(3, 2, 5, padding=2)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        return self.pool(torch.cat([self.a(x), self.b(x)], dim=1))


class ShapeBranch(nn.Module):
    """Python control flow on a shape: fx cannot trace it, the hooks can (on meta)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.act = nn.ReLU()

    def forward(self, x):
        if x.shape[-1] > 8:
            x = self.act(x)
        return self.conv(x) + x


class ValueBranch(nn.Module):
    """Control flow on a tensor value: neither fx nor a meta tensor can run it."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x):
        if float(x.sum()) >= 0:
            x = self.conv(x)
        return x


def test_two_conv_counts_paths_and_shares_exact():
    f = feats(nf.network_features(space_of(TwoConv, "two-conv"), 0))
    assert f["conv3x3:count"] == 1 and f["conv1x1:count"] == 1
    assert f["act_relu:count"] == 1 and f["pool_global:count"] == 1 and f["linear:count"] == 1
    assert f["n_ops"] == 5 and f["n_merges"] == 0
    assert f["log10_paths"] == pytest.approx(math.log10(2))  # exactly one path
    assert f["depth"] == f["min_len"] == f["max_len"] == 5
    assert f["depth_weighted"] == 3  # conv, conv, linear
    total = 112 + 20 + 10  # 3*4*9 + 4, 4*4 + 4, 4*2 + 2
    assert f["log10_params"] == pytest.approx(math.log10(1 + total))
    assert f["conv3x3:param_share"] == pytest.approx(112 / total)
    assert f["conv1x1:param_share"] == pytest.approx(20 / total)
    assert f["linear:param_share"] == pytest.approx(10 / total)
    macs = {"conv3x3": 4 * 32 * 32 * 27, "conv1x1": 4 * 32 * 32 * 4, "linear": 2 * 4}
    for op, m in macs.items():
        assert f[f"{op}:flop_share"] == pytest.approx(m / sum(macs.values()))
    assert f["log10_flops"] == pytest.approx(math.log10(1 + sum(macs.values())))
    # every path runs through each op: path share 1, lengths = the path's
    assert f["conv1x1:path_share"] == 1 and f["conv1x1:max_len"] == 5
    assert f["pool_max:count"] == 0 and f["pool_max:log10_paths"] == 0
    # two resolutions: 32x32 (conv, relu, conv) then 1 (pool, linear)
    assert f["n_resolutions"] == 2
    assert f["stage0:log2_side"] == 5 and f["stage0:log2_width"] == 2
    assert f["stage0:op_share"] == pytest.approx(3 / 5)
    assert f["stage1:log2_side"] == 0 and f["stage1:start"] > f["stage0:start"]
    assert f["stage2:op_share"] == 0


def test_residual_paths_through_op_types():
    f = feats(nf.network_features(space_of(Residual, "residual"), 0))
    assert f["add:count"] == 1 and f["n_merges"] == 1
    assert f["log10_paths"] == pytest.approx(math.log10(3))  # 2 paths
    assert f["conv3x3:path_share"] == pytest.approx(0.5)
    assert f["conv3x3:log10_paths"] == pytest.approx(math.log10(2))
    assert f["min_len"] == 3 and f["max_len"] == 4  # add-pool-linear, conv-add-pool-linear
    assert f["conv3x3:min_len"] == 4 and f["add:min_len"] == 3
    assert f["pool_global:count"] == 1  # the spatial mean


def test_zero_edge_is_cut_and_concat_merges():
    z = feats(nf.network_features(space_of(ZeroEdge, "zero-edge"), 0))
    assert z["add:count"] == 0 and z["log10_paths"] == pytest.approx(math.log10(2))
    c = feats(nf.network_features(space_of(TwoBranchCat, "cat"), 0))
    assert c["concat:count"] == 1 and c["log10_paths"] == pytest.approx(math.log10(3))
    assert c["conv3x3:count"] == 1 and c["conv5x5:count"] == 1 and c["pool_max:count"] == 1
    assert c["conv5x5:path_share"] == pytest.approx(0.5)


def test_nb201_cell_features_match_the_cell():
    space = get_space("nb201")
    # a chain per cell: conv 1<-0, skip 2<-1, skip 3<-2; 5 cells x 3 stages give 15 cell
    # convs, plus the stem and 2 x 2 reduction-block 3x3 convs
    arch = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|"
    f = feats(nf.network_features(space, arch))
    assert f["conv3x3:count"] == 1 + 15 + 4 and f["conv1x1:count"] == 2
    assert f["identity:count"] == 30
    assert f["add:count"] == 2  # only the reduction blocks merge; cells are chains
    assert f["log10_paths"] == pytest.approx(math.log10(1 + 4))  # 2 x 2 through the blocks
    all_none = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    g = feats(nf.network_features(space, all_none))
    assert g["log10_paths"] == 0 and g["max_len"] == 0  # the input never reaches the output


def test_fx_and_hooks_tracers_agree():
    for space, arch in [
        (space_of(Residual, "residual"), 0),
        (space_of(TwoBranchCat, "cat"), 0),
        (get_space("nb201"), "|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+"
         "|none~0|nor_conv_1x1~1|skip_connect~2|"),
        (get_space("autoformer-tiny", img_size=32, patch_size=4), None),
    ]:  # fmt: skip
        arch = space.sample(1, random_state=0)[0] if arch is None else arch
        a = nf.network_features(space, arch, tracer="fx")
        b = nf.network_features(space, arch, tracer="hooks")
        np.testing.assert_allclose(a, b, err_msg=repr(space))


def test_fallback_to_hooks_then_cpu():
    shape = space_of(ShapeBranch, "shape-branch")
    assert nf.trace_info(shape, 0) == {
        **nf.trace_info(shape, 0),
        "tracer": "hooks",
        "device": "meta",
    }
    f = feats(nf.network_features(shape, 0))
    assert f["act_relu:count"] == 1 and f["add:count"] == 1
    value = space_of(ValueBranch, "value-branch")
    info = nf.trace_info(value, 0)
    assert (info["tracer"], info["device"]) == ("hooks", "cpu")
    assert feats(nf.network_features(value, 0))["conv3x3:count"] == 1
    with pytest.raises(Exception):  # noqa: B017 - fx's own TraceError
        nf.network_features(shape, 0, tracer="fx")


def test_meta_build_allocates_no_parameters():
    model, device = nf.build_network(get_space("nb201"), 0)
    assert device == "meta"
    assert all(p.is_meta for p in model.parameters())
    assert (
        nf.trace_info(get_space("darts"), get_space("darts").sample(1, random_state=0)[0])["device"]
        == "meta"
    )


def test_deterministic_and_cached():
    arch = get_space("nb301").sample(1, random_state=3)[0]
    a = nf.network_features(get_space("nb301"), arch)  # a new space object: no shared cache
    b = nf.network_features(get_space("nb301"), arch)
    np.testing.assert_array_equal(a, b)
    space = get_space("nb301")
    nf.network_features(space, arch)
    first = nf.trace_info(space, arch)["seconds"]
    assert nf.trace_info(space, arch)["seconds"] == first  # read from the cache


def test_attention_heads_embedding_and_mlp_ratio():
    space = get_space("autoformer-tiny", img_size=32, patch_size=4)
    arch = space.sample(1, random_state=1)[0]
    f = feats(nf.network_features(space, arch))
    assert f["attn:count"] == arch.depth
    assert f["attn:heads_mean"] == pytest.approx(np.mean(arch.num_heads))
    assert f["attn:heads_max"] == max(arch.num_heads)
    assert f["attn:log2_embed_mean"] == pytest.approx(math.log2(arch.embed_dim))
    assert f["mlp:count"] == arch.depth
    assert f["mlp:ratio_mean"] == pytest.approx(np.mean(arch.mlp_ratio), abs=0.01)
    assert f["stage1:log2_width"] == pytest.approx(math.log2(arch.embed_dim))


@pytest.mark.parametrize("name", list_spaces())
def test_every_registered_space_gives_finite_fixed_width_rows(name):
    space = get_space(name)
    archs = space.sample(2, random_state=0)
    rows = nf.network_features_many(space, archs)
    assert rows.shape == (2, len(NAMES)) and np.isfinite(rows).all()
    assert feats(rows[0])["n_ops"] > 0 and feats(rows[0])["log10_paths"] > 0


def test_five_line_model_space_through_arch_featurizer():
    def build(arch):
        w, d = arch["width"], arch["depth"]
        convs = [nn.Sequential(nn.Conv2d(3 if i == 0 else w, w, 3, padding=1), nn.ReLU())
                 for i in range(d)]  # fmt: skip
        return nn.Sequential(*convs, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(w, 10))

    family = [{"width": w, "depth": d} for w in (8, 16) for d in (1, 3)]
    space = ModelSpace(build, sample=family, name="tiny-cnns")
    feat = ArchFeaturizer(space, features=("network",)).fit(family)
    X = feat.transform(family)
    names = [str(n) for n in feat.get_feature_names_out()]
    assert X.shape == (4, len(NAMES)) and names[0] == "network:log10_params"
    col = dict(zip(names, X.T, strict=True))
    np.testing.assert_array_equal(col["network:conv3x3:count"], [1, 3, 1, 3])
    np.testing.assert_array_equal(col["network:stage0:log2_width"], [3, 3, 4, 4])
    dropped = ArchFeaturizer(space, features=("network",), drop_constant=True).fit(family)
    assert 0 < dropped.n_features_out_ < len(NAMES)


def test_arch_featurizer_network_and_graph_together():
    space = get_space("nb201")
    archs = space.sample(3, random_state=0)
    feat = ArchFeaturizer(space, features=("network", "graph")).fit(archs)
    names = [str(n) for n in feat.get_feature_names_out()]
    assert names[0].startswith("network:") and names[-1].startswith("graph:")
    assert feat.transform(archs).shape == (3, len(names))
    with pytest.raises(ValueError, match="unknown feature group"):
        ArchFeaturizer(space, features=("netwrok",)).fit(archs)


def test_pit_and_timm_resnet():
    pit = get_space("pit")
    f = feats(nf.network_features(pit, pit.sample(1, random_state=0)[0]))
    assert f["attn:count"] > 0 and f["n_resolutions"] >= 3
    timm = get_space("timm", models=["resnet18"])
    arch = timm.sample(1, random_state=0)[0]
    g = feats(nf.network_features(timm, arch))
    assert g["conv3x3:count"] >= 16 and g["conv7x7:count"] == 1 and g["add:count"] == 8
    assert g["attn:count"] == 0
