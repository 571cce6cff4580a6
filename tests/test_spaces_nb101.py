"""Tests of the NAS-Bench-101 search space (NASLib keys, pruning, network, Optuna)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from libranas.proxies.size import count_macs
from libranas.spaces import get_space, list_spaces
from libranas.spaces.nb101 import NASLIB_OPS, OPS, NB101Space, vertex_channels

# the NAS-Bench-Suite-Zero NB101 key whose table row lists 4.095778 M parameters
KEY = (
    (0, 1, 1, 1, 1, 0, 1)
    + (0, 0, 0, 0, 0, 1, 1)
    + (0, 0, 0, 0, 0, 0, 1)
    + (0, 0, 0, 0, 1, 1, 0)
    + (0, 0, 0, 0, 0, 1, 1)
    + (0,) * 14
    + (0, 2, 2, 4, 4, 4, 1)
)
# a 7-vertex cell where every vertex lies on an input -> output path (its own canonical form)
FULL = np.array(
    [
        [0, 1, 0, 0, 0, 0, 1],
        [0, 0, 1, 0, 0, 0, 0],
        [0, 0, 0, 1, 0, 0, 0],
        [0, 0, 0, 0, 1, 0, 0],
        [0, 0, 0, 0, 0, 1, 0],
        [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0, 0],
    ]
)
FULL_OPS = [
    "input",
    "conv3x3-bn-relu",
    "conv1x1-bn-relu",
    "maxpool3x3",
    "conv3x3-bn-relu",
    "conv1x1-bn-relu",
    "output",
]
FULL_KEY = tuple(int(v) for v in FULL.ravel()) + (0, 4, 3, 2, 4, 3, 1)


@pytest.fixture(scope="module")
def space() -> NB101Space:
    return get_space("nb101")


@pytest.fixture(scope="module")
def small() -> NB101Space:
    return NB101Space(channels=16)


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _n_params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def test_registered(space):
    assert "nb101" in list_spaces()
    assert isinstance(space, NB101Space)
    assert repr(space) == "NB101Space(channels=128, stacks=3, cells_per_stack=3)"
    assert NASLIB_OPS.index("maxpool3x3") == 2 and NASLIB_OPS.index("conv3x3-bn-relu") == 4


# ----------------------------------------------------------------------------- the table key


def test_example_key_param_count(space):
    assert space.param_count(KEY) == 4_095_778
    assert space.param_count(str(KEY)) == 4_095_778
    net = space.build(KEY)
    assert _n_params(net) == 4_095_778
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_example_key_is_pruned(space):
    matrix, ops = space.to_spec(KEY)
    # vertex 5 (conv3x3) feeds nothing: removed
    assert ops == [
        "input",
        "maxpool3x3",
        "maxpool3x3",
        "conv3x3-bn-relu",
        "conv3x3-bn-relu",
        "output",
    ]
    assert matrix.shape == (6, 6) and int(matrix.sum()) == 9
    canonical = space.validate(KEY)
    assert len(canonical) == 42 and space.validate(canonical) == canonical
    assert all(type(v) is int for v in canonical)


# ----------------------------------------------------------------------------- forms


def test_forms_agree(space):
    expected = FULL_KEY
    forms = [
        FULL_KEY,
        list(FULL_KEY),
        np.array(FULL_KEY),
        str(FULL_KEY),
        str(list(FULL_KEY)),
        (FULL, FULL_OPS),
        (FULL.tolist(), FULL_OPS),
        (FULL.astype(bool), FULL_OPS),
        (FULL, [0, 4, 3, 2, 4, 3, 1]),
        {"matrix": FULL, "ops": FULL_OPS},
        SimpleNamespace(matrix=FULL, ops=FULL_OPS),  # like nasbench's ModelSpec
    ]
    for form in forms:
        assert space.validate(form) == expected, form
    assert space.to_string(FULL_KEY) == str(FULL_KEY)


def test_spec_round_trip(space):
    for arch in space.sample(20, random_state=3):
        matrix, ops = space.to_spec(arch)
        assert space.validate((matrix, ops)) == arch
        assert space.validate(str(arch)) == arch


@pytest.mark.parametrize(
    ("arch", "error", "match"),
    [
        (KEY[:-1], ValueError, r"n \* n \+ n ints"),
        (KEY + (1,), ValueError, r"n \* n \+ n ints"),
        (KEY[:-1] + (5,), ValueError, "unknown NASLib NB101 op code 5"),
        (KEY[:49] + (0, 2, 2, 0, 4, 4, 1), ValueError, "intermediate vertex 3"),
        (KEY[:49] + (2, 2, 2, 4, 4, 4, 1), ValueError, "vertex 0 .* must be the input"),
        (KEY[:49] + (0, 2, 2, 4, 4, 4, 4), ValueError, "must be the output"),
        (KEY[:7] + (1,) + KEY[8:], ValueError, "only entries above the diagonal"),
        (KEY[:1] + (2,) + KEY[2:], ValueError, "0 or 1, got 2"),
        (KEY[:1] + (1.0,) + KEY[2:], TypeError, "must be ints"),
        ((0, 0, 0, 0, 0, 1), ValueError, "no path from the input"),
        ("(0, 1, 0, 0", ValueError, "malformed NB101 architecture string"),
        ("0110", ValueError, "unrecognised NB101 architecture string"),
        (True, TypeError, "bool"),
        (3.5, TypeError, "NASLib key"),
        (([[0, 1], [0, 0], [0, 0]], ["input", "output"]), ValueError, "square"),
        (([[0, 1], [0, 0]], ["input", "conv5x5", "output"]), ValueError, "needs 2 ops"),
        (([[0, 1], [0, 0]], ["input", "conv5x5"]), ValueError, "unknown NB101 operation"),
        ({"matrix": [[0, 1], [0, 0]]}, ValueError, "'matrix' and 'ops'"),
        (np.zeros((2, 6), dtype=int), ValueError, "1-D"),
    ],
)
def test_malformed(space, arch, error, match):
    with pytest.raises(error, match=match):
        space.validate(arch)


def test_too_many_edges(space):
    # all 21 edges: every vertex live after pruning, 21 > 9 edges
    full = np.triu(np.ones((7, 7), dtype=int), 1)
    with pytest.raises(ValueError, match="21 edges after pruning.*at most 9"):
        space.validate((full, FULL_OPS))
    # 10 live edges
    m = FULL.copy()
    m[0, 2] = m[0, 3] = m[0, 4] = m[0, 5] = 1
    assert int(m.sum()) == 11
    with pytest.raises(ValueError, match="11 edges after pruning"):
        space.validate((m, FULL_OPS))
    # dead edges do not count: 10 raw edges, vertex 5 feeds nothing, 9 left after pruning
    m = np.zeros((7, 7), dtype=int)
    m[0, 1:5] = 1
    m[1:5, 6] = 1
    m[1, 2] = m[3, 5] = 1
    assert int(m.sum()) == 10
    key = space.validate((m, FULL_OPS))
    assert len(key) == 42 and sum(key[:36]) == 9


def test_constructor_checks():
    with pytest.raises(ValueError, match="channels must be a positive int"):
        NB101Space(channels=0)
    with pytest.raises(ValueError, match="stacks"):
        NB101Space(stacks=True)


# ----------------------------------------------------------------------------- sampling


def test_sample_valid_and_seeded(space):
    a = space.sample(30, random_state=0)
    assert a == space.sample(30, random_state=0)
    assert a != space.sample(30, random_state=1)
    assert all(space.validate(x) == x for x in a)
    assert len(set(a)) > 25
    rng = np.random.default_rng(0)
    assert space.sample(2, rng) != space.sample(2, rng)  # the generator advances
    assert space.sample(0) == []
    with pytest.raises(ValueError, match="non-negative"):
        space.sample(-1)


def test_mutate(space):
    for arch in space.sample(20, random_state=5):
        child = space.mutate(arch, random_state=0)
        assert child == space.mutate(arch, random_state=0)
        assert child != arch and space.validate(child) == child
    neighbours = space.neighbours(FULL_KEY)
    assert neighbours and FULL_KEY not in neighbours
    assert all(space.validate(n) == n for n in neighbours)
    # one decision: changing the op of vertex 1 is a neighbour
    assert space.validate((FULL, ["input", "maxpool3x3", *FULL_OPS[2:]])) in neighbours


def test_mutate_trivial_cell(space):
    trivial = (0, 1, 0, 0, 0, 1)  # input -> output only: no one-decision neighbour
    assert space.neighbours(trivial) == []
    child = space.mutate(trivial, random_state=0)
    assert child != trivial and space.validate(child) == child
    assert len(child) == 12  # one vertex joined


# ----------------------------------------------------------------------------- encodings


def test_encode(space):
    names = space.encoding_names()
    assert len(names) == 36 == len(space.encode(KEY))
    # 3 vertices: input -> conv1x1 -> output, input -> output: padded, the output is vertex 6
    cell = (np.array([[0, 1, 1], [0, 0, 1], [0, 0, 0]]), ["input", "conv1x1-bn-relu", "output"])
    x = dict(zip(names, space.encode(cell), strict=True))
    assert x["edge:0->1"] == x["edge:0->6"] == x["edge:1->6"] == 1.0
    assert sum(v for k, v in x.items() if k.startswith("edge")) == 3
    assert x["op1:conv1x1-bn-relu"] == 1.0
    assert sum(v for k, v in x.items() if k.startswith("op")) == 1
    assert space.encode_many(space.sample(4, random_state=0)).shape == (4, 36)


def test_graph_features_hand_checked(space):
    # input -> conv3x3 (1) -> output; input -> maxpool (2) -> conv1x1 (3) -> output
    m = np.zeros((5, 5), dtype=int)
    m[0, 1] = m[0, 2] = m[1, 4] = m[2, 3] = m[3, 4] = 1
    ops = ["input", "conv3x3-bn-relu", "maxpool3x3", "conv1x1-bn-relu", "output"]
    names = space.graph_feature_names()
    values = space.graph_features((m, ops))
    assert len(names) == len(values) == len(set(names))
    f = dict(zip(names, values.tolist(), strict=True))
    assert f["n_vertices"] == 5
    assert f["n_edges"] == 3  # edges into the output are wires
    assert (f["n_paths"], f["min_len"], f["max_len"]) == (2, 1, 2)
    assert f["op_count:maxpool3x3"] == 1 and f["n_paths_with:maxpool3x3"] == 1
    assert f["n_paths_only:conv3x3-bn-relu"] == 1 and f["param_free_paths"] == 0
    assert f["min_len_without:conv3x3-bn-relu"] == 2
    assert f["in_degree:6"] == 2 and f["out_degree:0"] == 2
    assert f["depth:3"] == 2 and f["depth:6"] == 2
    assert f["depth:4"] == f["depth:5"] == -1  # padding vertices
    many = space.graph_features_many(space.sample(5, random_state=1))
    assert many.shape == (5, len(names)) and np.isfinite(many).all()


def test_vertex_channels():
    # two vertices feed the output: 257 channels split 129 + 128; vertex 1 feeds both
    m = np.array([[0, 1, 1, 0], [0, 0, 1, 1], [0, 0, 0, 1], [0, 0, 0, 0]])
    assert vertex_channels(m, 128, 257) == [128, 129, 128, 257]
    # vertex 1 feeds only vertex 2: it takes vertex 2's width
    m = np.array([[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]])
    assert vertex_channels(m, 64, 256) == [64, 256, 256, 256]


# ----------------------------------------------------------------------------- networks


def test_param_count_and_flops_match_built(small):
    archs = small.sample(8, random_state=2) + [FULL_KEY, (0, 1, 0, 0, 0, 1), KEY]
    for arch in archs:
        for classes in (10, 7):
            net = small.build(arch, num_classes=classes)
            assert small.param_count(arch, num_classes=classes) == _n_params(net), arch
        macs = count_macs(net, torch.zeros(1, 3, 32, 32), bias=False) / 1e6
        assert small.flops(arch, num_classes=7) == pytest.approx(macs, abs=1e-9)
        out = net(torch.randn(2, 3, 32, 32))
        assert out.shape == (2, 7) and torch.isfinite(out).all()


def test_build_options():
    space = NB101Space(channels=8, stacks=2, cells_per_stack=1)
    net = space.build(FULL_KEY, num_classes=3)
    assert space.param_count(FULL_KEY, 3) == _n_params(net)
    assert net(torch.randn(2, 3, 16, 16)).shape == (2, 3)
    assert space.flops(FULL_KEY, input_shape=(3, 16, 16), num_classes=3) == pytest.approx(
        count_macs(net, torch.zeros(1, 3, 16, 16), bias=False) / 1e6
    )
    with pytest.raises(ValueError, match="3-channel"):
        space.flops(FULL_KEY, input_shape=(1, 32, 32))
    with pytest.raises(ValueError, match="num_classes must be positive"):
        space.build(FULL_KEY, num_classes=0)


# ----------------------------------------------------------------------------- Optuna


def test_optuna_suggest_and_round_trip(space):
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    choices = space.trial_choices()
    assert len(choices) == 26 and choices["op_3"] == OPS
    for _ in range(40):
        trial = study.ask()
        arch = space.suggest(trial)
        assert space.validate(arch) == arch
        assert set(trial.params) == set(choices)
        study.tell(trial, 0.0)
    for arch in space.sample(10, random_state=4) + [KEY, (0, 1, 0, 0, 0, 1)]:
        params = space.trial_params(arch)
        frozen = optuna.trial.create_trial(
            params=params, distributions=space.trial_distributions(arch), value=0.0
        )
        study.add_trial(frozen)
        # suggest with these parameters returns the architecture
        study.enqueue_trial(params)
        trial = study.ask()
        assert space.suggest(trial) == space.validate(arch)
        study.tell(trial, 1.0)


def test_optuna_repair(space):
    params = {k: v[0] for k, v in space.trial_choices().items()}
    assert space._from_params(params) == (0, 1, 0, 0, 0, 1)  # no edge: input -> output added
    params.update({k: 1 for k in params if k.startswith("edge")})
    arch = space._from_params(params)  # all 21 edges: trimmed to at most 9
    assert space.validate(arch) == arch


# ----------------------------------------------------------------------------- proxies


def test_featurizer_end_to_end():
    from libranas import ProxyFeaturizer

    space = NB101Space(channels=16)
    archs = [KEY, *space.sample(2, random_state=0)]
    x = torch.randn(8, 3, 32, 32)
    y = torch.randint(0, 10, (8,))
    feat = ProxyFeaturizer(space=space, proxies=["nwot", "params", "zico"], data=(x, y))
    scores = np.asarray(feat.fit(None).transform(archs), dtype=float)
    assert scores.shape == (3, 3) and np.isfinite(scores).all()
    assert scores[:, 1] == pytest.approx([space.param_count(a) / 1e6 for a in archs])


def test_zc_table_keys_accepted(tmp_path, space):
    """The NB101 file of NAS-Bench-Suite-Zero has the older {space: {task: {arch: ...}}}
    layout; its keys are accepted as they come and the table's params are reproduced."""
    import json

    from libranas.datasets import load_zc_table

    rows = {
        str(KEY): {"params": 4.095778, "nwot": 1.0, "val_accuracy": 92.0},
        str(FULL_KEY): {"params": space.param_count(FULL_KEY) / 1e6, "nwot": 2.0,
                        "val_accuracy": 91.0},
    }  # fmt: skip
    path = tmp_path / "zc_nasbench101.json"
    path.write_text(json.dumps({"nasbench101": {"cifar10": rows}}))
    bench = load_zc_table(path, "cifar10")
    assert bench.space == "nb101"
    table_space = get_space(bench.space)
    for key in bench.X.index:
        assert table_space.param_count(key) / 1e6 == pytest.approx(bench.X.loc[key, "params"])
    assert table_space.validate(bench.X.index[1]) == FULL_KEY
