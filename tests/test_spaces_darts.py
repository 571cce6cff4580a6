"""Tests of the DARTS / NAS-Bench-301 search space against the NAS-Bench-Suite-Zero table."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from _data import data_path, needs_data

from libranas.spaces import get_space, list_spaces
from libranas.spaces.darts import OPS, DartsSpace, darts_param_count

_NB301 = "nas-bench-suite-zero/zc_nasbench301.json"
NB301_JSON = data_path(_NB301)

needs_data = needs_data(_NB301)

POOLS = ((0, 0), (1, 1)) * 4
KEY = (
    "[[(0, 0), (1, 5), (1, 1), (0, 1), (1, 3), (0, 3), (1, 3), (3, 2)], "
    "[(1, 0), (0, 2), (1, 3), (0, 3), (3, 0), (0, 1), (2, 0), (3, 6)]]"
)


@pytest.fixture(scope="module")
def space() -> DartsSpace:
    return get_space("darts")


@pytest.fixture(scope="module")
def table() -> dict:
    return json.loads(NB301_JSON.read_text())["cifar10"]


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _n_params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def test_registered_under_both_names(space):
    assert {"darts", "nb301"} <= set(list_spaces())
    assert isinstance(get_space("nb301"), DartsSpace)
    assert repr(space) == "DartsSpace(channels=32, layers=8, stem_multiplier=3, op_affine=False)"


# ----------------------------------------------------------------------------- forms


def test_validate_forms(space):
    arch = space.validate(KEY)
    assert arch[0][:3] == ((0, 0), (1, 5), (1, 1))
    assert isinstance(arch, tuple) and all(isinstance(c, tuple) for c in arch)
    assert space.to_string(arch) == KEY
    as_lists = [[list(p) for p in cell] for cell in arch]
    assert space.validate(as_lists) == arch
    assert space.validate(np.array(as_lists)) == arch
    named = [[(node, OPS[op]) for node, op in cell] for cell in arch]
    assert space.validate(named) == arch
    genotype = space.to_genotype(arch)
    assert genotype["normal"][1] == ("dil_conv_3x3", 1)
    assert space.from_genotype(genotype["normal"], genotype["reduce"]) == arch


@needs_data
def test_all_table_keys_round_trip(space, table):
    assert len(table) == 725
    for key, record in table.items():
        assert space.to_string(key) == key == record["arch"]


def _cell(pairs):
    return [pairs, list(POOLS)]


@pytest.mark.parametrize(
    ("arch", "error", "match"),
    [
        ([list(POOLS)], ValueError, "2 cells"),
        (_cell(list(POOLS)[:7]), ValueError, "8 .input_node, op. pairs"),
        (_cell([(0, 0), (2, 1)] + list(POOLS)[2:]), ValueError, r"input node must be in 0\.\.1"),
        (_cell(list(POOLS)[:6] + [(5, 0), (1, 0)]), ValueError, r"0\.\.4, got 5"),
        (_cell(list(POOLS)[:6] + [(-1, 0), (1, 0)]), ValueError, r"0\.\.4, got -1"),
        (_cell([(0, 0), (0, 1)] + list(POOLS)[2:]), ValueError, "inputs of a node must differ"),
        (_cell([(0, 7), (1, 1)] + list(POOLS)[2:]), ValueError, "unknown DARTS op id 7"),
        (_cell([(0, "conv"), (1, 1)] + list(POOLS)[2:]), ValueError, "unknown DARTS operation"),
        (_cell([(0, 1.0), (1, 1)] + list(POOLS)[2:]), TypeError, "int id or a name"),
        (_cell([("max_pool_3x3", 0), (1, 1)] + list(POOLS)[2:]), TypeError, "from_genotype"),
        (_cell([(0, 0, 0), (1, 1)] + list(POOLS)[2:]), ValueError, "pair"),
        (_cell([0, (1, 1)] + list(POOLS)[2:]), TypeError, "pair"),
        ("[[(0, 0), (1, 5)", ValueError, "malformed DARTS"),
        (42, TypeError, "DARTS architecture"),
        (np.zeros((2, 8, 3), dtype=int), ValueError, "shape"),
    ],
)
def test_validate_errors(space, arch, error, match):
    with pytest.raises(error, match=match):
        space.validate(arch)


def test_bad_options():
    with pytest.raises(ValueError, match="channels"):
        DartsSpace(channels=0)
    with pytest.raises(ValueError, match="even"):
        DartsSpace(channels=15)
    with pytest.raises(ValueError, match="layers"):
        get_space("darts", layers=-1)
    with pytest.raises(TypeError, match="op_affine"):
        DartsSpace(op_affine="yes")


# ------------------------------------------------------------- sample / mutate / encode


def test_sample(space):
    a = space.sample(300, random_state=0)
    assert a == space.sample(300, random_state=0)
    assert a != space.sample(300, random_state=1)
    gen = np.random.default_rng(4)
    assert space.sample(2, gen) + space.sample(2, gen) == space.sample(4, np.random.default_rng(4))
    assert all(space.validate(x) == x for x in a)
    assert len(set(a)) == 300
    x = space.encode_many(a).reshape(300, 2, 14, 7)
    # every op used, every candidate edge used, ops roughly uniform
    op_freq = x.sum(axis=(0, 1, 2)) / x.sum()
    assert np.abs(op_freq - 1 / 7).max() < 0.03
    assert (x.sum(axis=(0, 3)) > 0).all()
    assert space.sample(0) == []
    with pytest.raises(ValueError, match="n must be"):
        space.sample(2.5)


def test_mutate(space):
    arch = space.validate(KEY)
    neighbours = space.neighbours(arch)
    # per pair: 6 other ops + (node inputs - 2) other inputs; nodes 2..5 have 2..5 inputs
    assert len(neighbours) == 2 * (8 * 6 + 2 * (0 + 1 + 2 + 3))
    assert len(set(neighbours)) == len(neighbours)
    rng = np.random.default_rng(0)
    for _ in range(50):
        child = space.mutate(arch, rng)
        assert child in neighbours
        changed = [
            p != q for a, b in zip(arch, child, strict=True) for p, q in zip(a, b, strict=True)
        ]
        assert sum(changed) == 1
        assert space.validate(child) == child
    assert space.mutate(arch, random_state=3) == space.mutate(arch, random_state=3)


def test_encode(space):
    arch = space.validate(KEY)
    x = space.encode(arch)
    assert x.shape == (196,) and x.dtype == np.float64
    grid = x.reshape(2, 14, 7)
    assert grid.sum() == 16
    # normal pair (1, 5) feeds node 2 from node 1: edge (2, 1) = index 1, op 5
    assert grid[0, 1, 5] == 1
    # normal pair (3, 2) feeds node 5 from node 3: edge index 9 + 3 = 12, op 2
    assert grid[0, 12, 2] == 1
    names = space.encoding_names()
    assert len(names) == 196 and names[1 * 7 + 5] == "normal:2<-1:dil_conv_3x3"
    # swapping a node's two pairs is the same network and the same encoding
    normal = list(arch[0])
    normal[0], normal[1] = normal[1], normal[0]
    assert np.array_equal(space.encode([normal, arch[1]]), x)
    assert space.encode_many([arch, arch]).shape == (2, 196)


# ----------------------------------------------------------------------------- networks


@needs_data
def test_param_counts_match_all_725(space, table):
    for key, record in table.items():
        assert round(space.param_count(key) / 1e6, 6) == record["params"]["score"], key


@needs_data
def test_analytic_count_equals_built_modules(space, table):
    keys = list(table)[::60]  # 13 real cells
    for key in keys:
        assert _n_params(space.build(key)) == space.param_count(key)
    assert _n_params(space.build([POOLS, POOLS])) == 392426
    other = DartsSpace(channels=8, layers=5, stem_multiplier=2, op_affine=True)
    for arch in other.sample(3, random_state=0):
        assert _n_params(other.build(arch, 7)) == other.param_count(arch, 7)
        assert other.param_count(arch, 7) == darts_param_count(arch, 7, 8, 5, 2, True)


def test_network_structure(space):
    net = space.build(KEY)
    assert len(net.cells) == 8
    assert [c.reduction for c in net.cells] == [
        False,
        False,
        True,
        False,
        False,
        True,
        False,
        False,
    ]
    assert net.classifier.in_features == 4 * 128
    ops_bn = [m for c in net.cells for m in c.ops.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert ops_bn and not any(m.affine for m in ops_bn)
    assert all(m.affine for m in net.stem.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert not any(getattr(m, "inplace", False) for m in net.modules())


def test_forward(space):
    torch.manual_seed(0)
    net = space.build(KEY)
    out = net(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 10) and torch.isfinite(out).all()
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    small = DartsSpace(channels=8, layers=3)
    assert small.build(KEY, num_classes=100)(torch.randn(2, 3, 16, 16)).shape == (2, 100)


def test_build_errors(space):
    with pytest.raises(ValueError, match="num_classes"):
        space.build(KEY, num_classes=0)
    with pytest.raises(ValueError, match="inputs of a node must differ"):
        space.build(_cell([(0, 0), (0, 1)] + list(POOLS)[2:]))


def test_per_sample_gradients_with_torch_func():
    from torch.func import functional_call, grad, vmap

    space = DartsSpace(channels=4, layers=3)
    arch = space.sample(1, random_state=2)[0]
    torch.manual_seed(0)
    net = space.build(arch, num_classes=3).double().eval()
    params = {k: v.detach() for k, v in net.named_parameters()}
    buffers = {k: v.detach() for k, v in net.named_buffers()}
    x = torch.randn(3, 3, 8, 8, dtype=torch.float64)
    y = torch.tensor([0, 1, 2])

    def loss(p, xi, yi):
        out = functional_call(net, (p, buffers), (xi.unsqueeze(0),))
        return torch.nn.functional.cross_entropy(out, yi.unsqueeze(0))

    per_sample = vmap(grad(loss), in_dims=(None, 0, 0))(params, x, y)
    for i in range(3):
        net.zero_grad()
        torch.nn.functional.cross_entropy(net(x[i : i + 1]), y[i : i + 1]).backward()
        for key, p in net.named_parameters():
            torch.testing.assert_close(per_sample[key][i], p.grad)
