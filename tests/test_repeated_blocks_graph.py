"""GRAF's cell-graph features on the block graph the network gives (repeated_blocks.cell_graph)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from libranas import ArchFeaturizer  # noqa: E402
from libranas import repeated_blocks as bf  # noqa: E402
from libranas.network_features import build_network  # noqa: E402
from libranas.spaces import ModelSpace, get_space  # noqa: E402

#: the NB201 operations as the network gives them (the block graph's edge labels)
NB201_SIGNATURES = {
    "skip_connect": "identity",
    "nor_conv_1x1": "ReLUConvBN(relu,conv1x1,batchnorm2d)",
    "nor_conv_3x3": "ReLUConvBN(relu,conv3x3,batchnorm2d)",
    "avg_pool_3x3": "avgpool3",
}


def _block_name(graf: str) -> str:
    """``graph:<stat>[:<op>]`` of the hand-made features -> the NB201 cell's block column."""
    parts = graf.split(":")
    if len(parts) == 3 and parts[2] in NB201_SIGNATURES:
        parts[2] = NB201_SIGNATURES[parts[2]]
    return "blocks:NB201Cell:graph:" + ":".join(parts[1:])


def test_nb201_block_graph_equals_the_hand_made_graph_features_exactly():
    space = get_space("nb201")
    cells = [
        # none edges: node 1 reads nothing (1<-0 none) and feeds nothing (2<-1, 3<-1 none)
        "|none~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|none~1|avg_pool_3x3~2|",
        # the output unreachable: every edge into node 3 is none
        "|nor_conv_1x1~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|none~1|none~2|",
        # node 2 reads nothing but feeds the output; a dead skip
        "|skip_connect~0|+|none~0|none~1|+|nor_conv_3x3~0|avg_pool_3x3~1|skip_connect~2|",
        "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",  # no edge at all
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|"
        "avg_pool_3x3~2|",
        *space.sample(12, random_state=5),
    ]
    graph = ArchFeaturizer(space, features=("graph",)).fit(cells)
    G = dict(zip(graph.get_feature_names_out(), graph.transform(cells).T, strict=True))
    blocks = ArchFeaturizer(space, features=("blocks",)).fit(cells)
    B = dict(zip(blocks.get_feature_names_out(), blocks.transform(cells).T, strict=True))
    assert len(G) == 55  # every GRAF quantity: edges, paths, per op, per node
    for name, hand_made in G.items():
        np.testing.assert_array_equal(B[_block_name(name)], hand_made, err_msg=name)
    # a cell lacking an operation gets GRAF's values for it through the fitted columns
    X = blocks.transform(["|none~0|+|skip_connect~0|none~1|+|none~0|none~1|skip_connect~2|"])
    row = dict(zip(blocks.get_feature_names_out(), X[0], strict=True))
    conv = NB201_SIGNATURES["nor_conv_3x3"]
    assert row["blocks:NB201Cell:graph:n_paths"] == 1.0
    assert row[f"blocks:NB201Cell:graph:n_paths_without:{conv}"] == 1.0
    assert row[f"blocks:NB201Cell:graph:min_len_only:{conv}"] == -1.0


def test_darts_block_graph_equals_the_hand_made_cell_exactly():
    """The DARTS cell as the network gives it is GRAF's cell (nodes 0..6): the two
    preprocessing positions (each the only reader of one of the cell's two inputs) are
    contracted into the input states, so every GRAF quantity of the hand-made features --
    paths only through one operation and parameter-free paths included -- is the same."""
    from libranas.spaces._graph import path_features

    space = get_space("darts")
    from libranas.spaces.darts import OPS

    for arch in space.sample(3, random_state=4):
        model, device = build_network(space, arch)
        blocks = bf.find_blocks(model)
        recorder = bf._run(model, blocks, (3, 32, 32), device)
        # the first cell reads the stem twice (s0 is s1): one alias per input, so its graph
        # has the same nodes as the others
        first = list(blocks)[0]
        sigs0 = {p: bf._signature(m) for p, m in bf._positions(blocks[first])}
        assert bf._cell_graph(recorder.graphs[first], sigs0)[0] == 7
        path = list(blocks)[1]  # a normal cell with two distinct inputs
        assert not blocks[path].reduction
        modules = dict(bf._positions(blocks[path]))
        sigs = {p: bf._signature(m) for p, m in modules.items()}
        n, edges, inputs, out = bf._cell_graph(recorder.graphs[path], sigs)
        assert (n, inputs, out) == (7, {0: [0], 1: [1]}, 6)
        op_of = {sigs[f"ops.{k}"]: OPS[op] for k, (_node, op) in enumerate(arch[0])}
        mine = {(s, t, op_of.get(label, label)) for s, t, label in edges}
        hand = {(node, 2 + k // 2, OPS[op]) for k, (node, op) in enumerate(arch[0])}
        hand |= {(j, 6, "~wire") for j in range(2, 6)}
        assert mine == hand
        # GRAF's features: all of them, with the operations named as the space names them
        theirs = dict(zip(space.graph_feature_names(), space.graph_features(arch), strict=True))
        name_of = {sigs[f"ops.{k}"]: OPS[op] for k, (_node, op) in enumerate(arch[0])}
        ops = sorted(name_of)
        free = {sigs[p] for p, m in modules.items() if not any(True for _ in m.parameters())}
        compared = set()
        for view, starts in (("", [0, 1]), ("from1:", [1])):
            f = path_features(n, edges, ops, starts, out, free, wire="~wire")
            for key, value in f.items():
                stat, _, op = key.partition(":")
                hand_key = f"normal:{view}{stat}" + (f":{name_of.get(op, op)}" if op else "")
                if hand_key in theirs:
                    assert value == theirs[hand_key], (view, key)
                    compared.add(stat)
        # paths, lengths, degrees and depths, per operation the paths with, without and only
        # through it, and the parameter-free paths: none of these can tell the two apart
        assert {"n_paths", "max_len", "depth", "n_paths_only", "min_len_only", "n_paths_without",
                "param_free_paths", "param_free_max_len"} <= compared  # fmt: skip


class Zero(nn.Module):
    def forward(self, x):
        return x.mul(0.0)


class Residual(nn.Module):
    """A transformer-like block: x + b(a(x)), then x + c(x); the second residual's input is
    the first sum (a node of its own), the output the second sum."""

    def __init__(self, dead: bool = False) -> None:
        super().__init__()
        self.a, self.b = nn.Conv2d(4, 4, 3, padding=1), Zero() if dead else nn.ReLU()
        self.c = nn.Conv2d(4, 4, 1)

    def forward(self, x):
        x = x + self.b(self.a(x))
        return x + self.c(x)


class Concat(nn.Module):
    """Two branches concatenated, then a 1x1 conv: a ``cat`` merge node."""

    def __init__(self) -> None:
        super().__init__()
        self.p, self.q = nn.Conv2d(4, 2, 3, padding=1), nn.MaxPool2d(3, 1, 1)
        self.mix = nn.Conv2d(6, 4, 1)

    def forward(self, x):
        return self.mix(torch.cat([self.p(x), self.q(x)], dim=1))


def _family(dead: bool) -> ModelSpace:
    def build(arch, num_classes=10):
        return nn.Sequential(nn.Conv2d(3, 4, 1), Residual(dead), Residual(dead), Concat(),
                             Concat(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                             nn.Linear(4, num_classes))  # fmt: skip

    return ModelSpace(build, sample=[0], name=f"graph-family-{dead}")


def test_residual_and_concat_blocks_give_wires_and_merge_nodes():
    d = bf.block_description(_family(False), 0)
    # Residual: in0 -a-> s -b-> x1 (the first sum), in0 ~> x1, x1 -c-> out, x1 ~> out
    assert d["Residual:graph:n_paths"] == 4.0
    assert (d["Residual:graph:min_len"], d["Residual:graph:max_len"]) == (0.0, 3.0)  # wires
    assert d["Residual:graph:n_edges"] == 3.0  # positions only
    assert [d[f"Residual:graph:in_degree:{v}"] for v in range(4)] == [0.0, 1.0, 2.0, 2.0]
    assert d["Residual:graph:n_paths_only:relu"] == 0.0
    # the one path of wires only (in0 ~> x1 ~> out) is free of parameters, length 0
    assert (d["Residual:graph:param_free_paths"], d["Residual:graph:param_free_max_len"]) == (1, 0)
    # Concat: in0 -p-> cat, in0 -q-> cat, cat -mix-> out: the branches meet in one node
    assert d["Concat:graph:n_paths"] == 2.0 and d["Concat:graph:n_edges"] == 3.0
    assert d["Concat:graph:max_len"] == 2.0 and d["Concat:graph:depth:2"] == 2.0


def test_a_none_position_is_no_edge_but_its_nodes_stay():
    d = bf.block_description(_family(True), 0)
    # b multiplies by 0: the path through a and b is gone, a's output is still a node
    assert d["Residual:graph:n_edges"] == 2.0 and d["Residual:graph:n_paths"] == 2.0
    assert d["Residual:graph:op_count:conv3x3"] == 1.0
    assert d["Residual:graph:op_on_path:conv3x3"] == 0.0
    assert d["Residual:graph:out_degree:1"] == 0.0  # a's output: read by the none only


def test_block_summary_and_the_session_21_columns_ignore_the_cell_graph():
    """The transfer model's block summaries read the old path columns only: adding the cell
    graph changes none of them."""
    d = bf.block_description(_family(False), 0)
    without = {k: v for k, v in d.items() if ":graph:" not in k}
    assert len(without) < len(d)
    np.testing.assert_array_equal(bf.block_summary(d), bf.block_summary(without))
    names = bf.block_vocabulary([d])
    old = [j for j, n in enumerate(names) if ":graph:" not in n]
    np.testing.assert_array_equal(
        bf.block_matrix([d], names)[:, old],
        bf.block_matrix([without], [names[j] for j in old]),
    )


class TwoInputs(nn.Module):
    """A two-input block in one of three wirings (the preprocessing rule's edge cases)."""

    def __init__(self, wiring: str) -> None:
        super().__init__()
        self.wiring = wiring
        self.p, self.q = nn.Conv2d(4, 4, 1), nn.Conv2d(4, 4, 3, padding=1)
        self.r = nn.Conv2d(4, 4, 5, padding=2)

    def forward(self, a, b):
        if self.wiring == "shared":  # p runs twice: on q(a) and on b
            return self.p(self.q(a)) + self.p(b)
        if self.wiring == "into_sum":  # p(a) flows only into the sum
            return self.p(a) + self.r(self.q(b))
        return self.p(a)  # "output": the preprocessed state is the block's output


class TwoInputNet(nn.Module):
    def __init__(self, wiring: str) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 1)
        self.cells = nn.ModuleList([TwoInputs(wiring) for _ in range(3)])

    def forward(self, x):
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return s1.mean()


def _second_cell_graph(wiring: str):
    model = TwoInputNet(wiring)
    blocks = bf.find_blocks(model)
    recorder = bf._run(model, blocks, (3, 8, 8), "cpu")
    path = list(blocks)[1]
    sigs = {p: bf._signature(m) for p, m in bf._positions(blocks[path])}
    return bf._cell_graph(recorder.graphs[path], sigs), sigs


def test_preprocessing_is_only_a_single_call_that_is_not_the_output():
    # p runs twice: never an input's preprocessing; q (the only reader of a) is
    (n, edges, inputs, out), sigs = _second_cell_graph("shared")
    labels = [label for _s, _t, label in edges]
    assert labels.count(sigs["p"]) == 2 and sigs["q"] not in labels
    assert out not in {v for vs in inputs.values() for v in vs}
    # p(a) flows only into the sum: contracted, its state stays a node wired into the sum
    (n, edges, inputs, out), sigs = _second_cell_graph("into_sum")
    assert inputs[0] != [out] and (inputs[0][0], out, "~wire") in edges
    assert sigs["p"] not in {label for _s, _t, label in edges}
    assert sigs["q"] not in {label for _s, _t, label in edges}  # the only reader of b
    # the preprocessed state would be the output: p stays an edge
    (n, edges, inputs, out), sigs = _second_cell_graph("output")
    assert (inputs[0][0], out, sigs["p"]) in edges
