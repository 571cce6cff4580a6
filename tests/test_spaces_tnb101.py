"""Tests of the TransNAS-Bench-101 micro and macro spaces against the bundled tables."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import libranas
from libranas.proxies.size import count_macs
from libranas.spaces import get_space, list_spaces
from libranas.spaces.tnb101 import OPS, TASKS, TNB101MacroSpace, TNB101MicroSpace


@pytest.fixture(scope="module")
def micro() -> TNB101MicroSpace:
    return get_space("tnb101-micro")


@pytest.fixture(scope="module")
def macro() -> TNB101MacroSpace:
    return get_space("tnb101-macro")


@pytest.fixture(scope="module")
def tables() -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tables' missing epe_nas / jacov / zen values
        return {
            name: libranas.load_benchmark(name)
            for name in libranas.list_benchmarks()
            if name.startswith("tnb101")
        }


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _n_params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def test_registered(micro, macro):
    assert {"tnb101-micro", "tnb101-macro"} <= set(list_spaces())
    assert repr(micro) == "TNB101MicroSpace(channels=64, cells_per_module=2)"
    assert repr(macro) == "TNB101MacroSpace(channels=64, blocks_per_module=2)"
    assert OPS == ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3")


def test_every_bundled_benchmark_space_is_known():
    """Every bundled table names a registered space, every one of its keys is an
    architecture of that space, and no two rows are the same architecture."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in libranas.list_benchmarks():
            bench = libranas.load_benchmark(name)
            assert bench.space in list_spaces(), f"{name}: unknown space {bench.space!r}"
            space = get_space(bench.space)
            canonical = [str(space.validate(key)) for key in bench.X.index]  # raises if unknown
            assert len(set(canonical)) == len(canonical) == len(bench.X), (
                f"{name}: rows that are one architecture"
            )


# ----------------------------------------------------------------------------- the tables


def test_table_keys_round_trip(micro, tables):
    assert len(tables) == 7
    for bench in tables.values():
        assert bench.space == "tnb101-micro"
        for key in bench.X.index:
            assert str(micro.validate(key)) == key


def test_op_convention_from_table_params(micro, tables):
    """The key's ids are the benchmark's (0=none 1=skip 2=conv1x1 3=conv3x3, string edge
    order): the analytic parameter count with the task's head equals the table's, key by key."""
    for task in ("class_object", "class_scene", "room_layout"):
        params = tables[f"tnb101-micro-{task}"].X["params"]
        classes = micro.task_setting(task)["num_classes"]
        ours = np.array([micro.param_count(k, num_classes=classes) for k in params.index])
        np.testing.assert_array_equal(ours, np.round(params.to_numpy() * 1e6))


def test_flops_at_benchmark_resolution(micro, tables):
    flops = tables["tnb101-micro-class_object"].X["flops"]
    ours = np.array([micro.flops(k, num_classes=100) for k in flops.index])
    ratio = flops.to_numpy() / ours  # the table's counter also charges BN and activations
    assert 1.0 < ratio.min() and ratio.max() < 1.035
    spearman = np.corrcoef(np.argsort(np.argsort(ours)), np.argsort(np.argsort(flops)))[0, 1]
    assert spearman > 0.99


# ----------------------------------------------------------------------------- micro forms


def test_micro_forms(micro):
    key = (1, 0, 0, 2, 1, 0)
    for form in (
        key,
        list(key),
        np.array(key),
        "(1, 0, 0, 2, 1, 0)",
        "[1, 0, 0, 2, 1, 0]",
        "64-41414-1_00_210",
        " 1_00_210 ",
    ):
        assert micro.validate(form) == key, form
    assert micro.to_string(key) == "64-41414-1_00_210"
    assert micro.to_ops(key) == (
        "skip_connect",
        "none",
        "none",
        "nor_conv_1x1",
        "skip_connect",
        "none",
    )
    archs = micro.all_archs()
    assert len(archs) == 4096 == len(set(archs))
    assert all(micro.validate(micro.to_string(a)) == a for a in archs[::97])


@pytest.mark.parametrize(
    ("arch", "error", "match"),
    [
        ((1, 0, 0, 2, 1), ValueError, "6 edges, got 5"),
        ((1, 0, 0, 2, 1, 0, 0), ValueError, "6 edges, got 7"),
        ((1, 0, 0, 2, 1, 4), ValueError, "unknown TNB101-micro op id 4 on edge 3<-2"),
        ((1, 0, -1, 2, 1, 0), ValueError, "op id -1 on edge 2<-1"),
        ((1, 0, 0, 2.0, 1, 0), TypeError, "must be ints"),
        ((True, 0, 0, 2, 1, 0), TypeError, "must be ints"),
        ("64-41413-1_00_210", ValueError, "64-41414-<cell>"),
        ("1_00_21", ValueError, "unrecognised TNB101-micro"),
        ("(1, 0, 0", ValueError, "malformed"),
        (7, TypeError, "tuple of ints"),
        (np.zeros((2, 3), dtype=int), ValueError, "1-D"),
    ],
)
def test_micro_malformed(micro, arch, error, match):
    with pytest.raises(error, match=match):
        micro.validate(arch)


# ----------------------------------------------------------------------------- macro forms


def test_macro_forms(macro):
    key = (1, 2, 4, 2, 0, 0)
    for form in (
        key,
        [1, 2, 4, 2],
        np.array(key),
        "(1, 2, 4, 2, 0, 0)",
        "64-1242-basic",
        (1, 2, 4, 2, 0),
    ):
        assert macro.validate(form) == key, form
    assert macro.to_string(key) == "64-1242-basic" and macro.modules(key) == (1, 2, 4, 2)
    archs = macro.all_archs()
    assert len(archs) == 3256 == len(set(archs))  # the benchmark's macro space
    assert all(macro.validate(macro.to_string(a)) == a for a in archs)


@pytest.mark.parametrize(
    ("arch", "match"),
    [
        ((1, 2, 4, 2, 0, 0, 0), "6 module codes .* got 7"),
        ((1, 2, 4), "got 3"),
        ((1, 2, 5, 2, 0, 0), "unknown TNB101-macro module code 5 at position 2"),
        ((1, 2, 0, 2, 4, 0), "absent modules .* must come last"),
        ((1, 4, 2, 0, 0, 0), "4 to 6 modules, got 3"),
        ((1, 1, 2, 2, 0, 0), "downsamples .* got 0"),
        ((3, 3, 3, 3, 4, 0), "downsamples .* got 5"),
        ((1, 1, 3, 3, 0, 0), "doubles its channels .* got 0"),
        ((2, 2, 2, 4, 0, 0), "doubles its channels .* got 4"),
        ("64-1202-basic", "no code 0"),
        ("32-1242-basic", "start with '64-'"),
        ("1242", "unrecognised TNB101-macro"),
    ],
)
def test_macro_malformed(macro, arch, match):
    with pytest.raises(ValueError, match=match):
        macro.validate(arch)


# ----------------------------------------------------------------------------- sampling


@pytest.mark.parametrize("name", ["tnb101-micro", "tnb101-macro"])
def test_sample_and_mutate(name):
    space = get_space(name)
    archs = space.sample(40, random_state=0)
    assert archs == space.sample(40, random_state=0)
    assert archs != space.sample(40, random_state=1)
    assert all(space.validate(a) == a and type(a[0]) is int for a in archs)
    assert space.sample(0) == []
    with pytest.raises(ValueError, match="non-negative"):
        space.sample(-2)
    for arch in archs[:15]:
        child = space.mutate(arch, random_state=3)
        assert child == space.mutate(arch, random_state=3)
        assert child != arch and space.validate(child) == child
    if name == "tnb101-micro":
        child = space.mutate((1, 0, 0, 2, 1, 0), random_state=0)
        assert sum(a != b for a, b in zip(child, (1, 0, 0, 2, 1, 0), strict=True)) == 1


def test_macro_neighbours(macro):
    key = (1, 2, 4, 2, 0, 0)
    near = macro.neighbours(key)
    assert key not in near and all(macro.validate(n) == n for n in near)
    assert (3, 2, 4, 2, 0, 0) in near  # a code changed
    assert (1, 1, 2, 4, 2, 0) in near  # a module inserted
    assert (2, 4, 2, 1, 0, 0) in macro.neighbours((2, 4, 2, 1, 1, 0))  # a module removed


# ----------------------------------------------------------------------------- encodings


def test_micro_encoding_and_graph_features(micro):
    names = micro.encoding_names()
    assert len(names) == 24 == len(micro.encode((1, 0, 0, 2, 1, 0)))
    x = dict(zip(names, micro.encode((1, 0, 0, 2, 1, 0)), strict=True))
    assert x["1<-0:skip_connect"] == x["3<-0:nor_conv_1x1"] == x["2<-1:none"] == 1.0
    # 1 = skip(0); 2 = nothing; 3 = conv1x1(0) + skip(1)
    gnames = micro.graph_feature_names()
    f = dict(zip(gnames, micro.graph_features((1, 0, 0, 2, 1, 0)).tolist(), strict=True))
    assert len(gnames) == len(set(gnames))
    assert (f["n_edges"], f["n_paths"], f["min_len"], f["max_len"]) == (3, 2, 1, 2)
    assert (f["param_free_paths"], f["param_free_min_len"]) == (1, 2)
    assert f["op_count:skip_connect"] == 2 and f["n_paths_with:nor_conv_1x1"] == 1
    assert f["depth:3"] == 2 and f["depth:2"] == -1 and f["in_degree:3"] == 2
    assert micro.graph_features_many(micro.sample(5, random_state=0)).shape == (5, len(gnames))


def test_macro_encoding_and_graph_features(macro):
    names = macro.encoding_names()
    x = dict(zip(names, macro.encode((1, 2, 4, 2, 0, 0)), strict=True))
    assert len(names) == 30
    assert x["module0:plain"] == x["module2:down+double"] == x["module5:absent"] == 1.0
    assert sum(x.values()) == 6
    gnames = macro.graph_feature_names()
    f = dict(zip(gnames, macro.graph_features((1, 2, 4, 2, 0, 0)).tolist(), strict=True))
    assert len(gnames) == len(set(gnames)) == 34
    expected = {
        "n_modules": 4, "n_down": 1, "n_double": 3, "n_projection": 3,
        "first_down": 2, "last_down": 2, "first_double": 1, "last_double": 3,
        "final_width": 8, "final_stride": 8, "conv_layers": 18,
        "rel_params": 1 + 4 + 16 + 64, "rel_macs": 1 + 4 + 16 / 4 + 64 / 4,
        "modules_at_res:0": 2, "modules_at_res:1": 2, "modules_at_res:2": 0,
        "modules_at_width:1": 1, "modules_at_width:8": 1,
        "width:0": 1, "width:3": 8, "width:4": 0, "res:3": 1, "res:5": -1,
    }  # fmt: skip
    assert {k: f[k] for k in expected} == expected
    many = macro.graph_features_many(macro.all_archs())
    assert many.shape == (3256, 34) and len(np.unique(many, axis=0)) == 3256


# ----------------------------------------------------------------------------- networks


@pytest.mark.parametrize("cls", [TNB101MicroSpace, TNB101MacroSpace])
def test_param_count_and_flops_match_built(cls):
    space = cls(channels=8)
    for arch in space.sample(6, random_state=2):
        for classes in (10, 3):
            net = space.build(arch, num_classes=classes)
            assert space.param_count(arch, num_classes=classes) == _n_params(net), arch
        for res in (32, 64, 40):  # 40: odd sizes round up at stride-2 layers
            macs = count_macs(net, torch.zeros(1, 3, res, res), bias=False) / 1e6
            assert space.flops(arch, (3, res, res), num_classes=3) == pytest.approx(macs, abs=1e-9)
        out = net(torch.randn(2, 3, 32, 32))
        assert out.shape == (2, 3) and torch.isfinite(out).all()


def test_build_default_width(micro, macro):
    for space, arch in ((micro, (3, 1, 2, 0, 3, 1)), (macro, (1, 4, 2, 3, 3, 4))):
        net = space.build(arch)
        assert _n_params(net) == space.param_count(arch)
        assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    # all-none cell: the encoder outputs zeros, the head its bias
    out = TNB101MicroSpace(channels=8).build((0,) * 6)(torch.randn(2, 3, 32, 32))
    assert torch.allclose(out[0], out[1])


def test_task_setting(micro, macro):
    assert micro.task_setting("class_object") == {"num_classes": 100, "input_shape": (3, 256, 256)}
    assert macro.task_setting("class_scene")["num_classes"] == 63
    assert set(TASKS) == {
        n.removeprefix("tnb101-micro-")
        for n in libranas.list_benchmarks()
        if n.startswith("tnb101-micro-")
    }
    with pytest.raises(ValueError, match="unknown TransNAS-Bench-101 task"):
        micro.task_setting("cifar10")


def test_constructor_checks():
    with pytest.raises(ValueError, match="even"):
        TNB101MicroSpace(channels=7)
    with pytest.raises(ValueError, match="blocks_per_module"):
        TNB101MacroSpace(blocks_per_module=0)


# ----------------------------------------------------------------------------- Optuna


@pytest.mark.parametrize("name", ["tnb101-micro", "tnb101-macro"])
def test_optuna_suggest_and_round_trip(name):
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = get_space(name)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(40):
        trial = study.ask()
        arch = space.suggest(trial)
        assert space.validate(arch) == arch
        assert set(trial.params) <= set(space.trial_choices())
        study.tell(trial, 0.0)
    for arch in space.sample(10, random_state=4):
        params = space.trial_params(arch)
        study.add_trial(
            optuna.trial.create_trial(
                params=params, distributions=space.trial_distributions(arch), value=0.0
            )
        )
        study.enqueue_trial(params)
        trial = study.ask()
        assert space.suggest(trial) == arch
        study.tell(trial, 1.0)


def test_macro_repair():
    from libranas.spaces.tnb101 import _repair_macro

    assert _repair_macro([1, 1, 1, 1]) == (1, 1, 1, 4, 0, 0)  # no down, no double: last both
    assert _repair_macro([4, 4, 4, 4, 4, 4]) == (
        4,
        4,
        4,
        3,
        1,
        1,
    )  # 4 downs, 3 doubles kept
    assert _repair_macro([1, 2, 4, 2]) == (1, 2, 4, 2, 0, 0)


# ----------------------------------------------------------------------------- proxies


@pytest.mark.parametrize("cls", [TNB101MicroSpace, TNB101MacroSpace])
def test_featurizer_end_to_end(cls):
    from libranas import ArchFeaturizer, ProxyFeaturizer

    space = cls(channels=8)
    archs = space.sample(3, random_state=0)
    x = torch.randn(8, 3, 32, 32)
    y = torch.randint(0, 10, (8,))
    feat = ProxyFeaturizer(space=space, proxies=["nwot", "params", "zico"], data=(x, y))
    scores = np.asarray(feat.fit(None).transform(archs), dtype=float)
    assert scores.shape == (3, 3) and np.isfinite(scores).all()
    assert scores[:, 1] == pytest.approx([space.param_count(a) / 1e6 for a in archs])
    graph = ArchFeaturizer(space).fit(archs).transform([space.to_string(a) for a in archs])
    assert np.asarray(graph).shape[0] == 3
