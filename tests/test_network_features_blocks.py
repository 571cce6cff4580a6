"""Repeated-block features (libranas.repeated_blocks, ArchFeaturizer features=("blocks",))."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from libranas import ArchFeaturizer  # noqa: E402
from libranas import repeated_blocks as bf  # noqa: E402
from libranas.spaces import ModelSpace, get_space  # noqa: E402


class Zero(nn.Module):
    """A cell's "none" operation."""

    def forward(self, x):
        return x.mul(0.0)


OPS = {"c3": lambda: nn.Conv2d(8, 8, 3, padding=1), "c1": lambda: nn.Conv2d(8, 8, 1),
       "id": nn.Identity, "mp": lambda: nn.MaxPool2d(3, 1, 1), "none": Zero}  # fmt: skip


class Block(nn.Module):
    """Two positions: ``ops.0`` then ``ops.1``; a stride-2 pool at the end when reducing."""

    def __init__(self, a: str, b: str, reduce: bool = False) -> None:
        super().__init__()
        self.ops = nn.ModuleList([OPS[a](), OPS[b]()])
        self.down = nn.AvgPool2d(2) if reduce else nn.Identity()

    def forward(self, x):
        return self.down(x + self.ops[1](self.ops[0](x)))


def build(arch, num_classes=10):  # a user's family in five lines
    a, b, c, d = arch
    blocks = [Block(a, b), Block(a, b), Block(c, d, reduce=True), Block(a, b), Block(c, d, True)]
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), *blocks, nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(8, num_classes))  # fmt: skip


def family() -> ModelSpace:
    archs = [("c3", "id", "c1", "mp"), ("c1", "c3", "id", "c3"), ("id", "mp", "c3", "c1")]
    return ModelSpace(build, sample=archs, name="blocks-family")


def test_model_space_blocks_normal_and_reduce_are_separate_variants():
    space = family()
    d = bf.block_description(space, ("c3", "id", "c1", "mp"))
    assert d["Block:n"] == 3.0 and d["Block/reduce:n"] == 2.0
    assert d["Block:ops.0=conv3x3"] == 1.0 and d["Block:ops.1=identity"] == 1.0
    assert d["Block/reduce:ops.0=conv1x1"] == 1.0 and d["Block/reduce:ops.1=maxpool3"] == 1.0
    # wiring: ops.1 is fed by ops.0, ops.0 by the block's input
    assert d["Block:ops.1<-ops.0"] == 1.0 and d["Block:ops.0<-in0"] == 1.0
    # stages: the first two normal blocks at the input resolution, one after the reduction
    assert d["stage0:Block:n"] == 2.0 and d["stage1:Block:n"] == 1.0
    assert d["Block:count:conv3x3"] == 1.0 and d["Block/reduce:count:pool_avg"] == 1.0
    # the block's graph: in0 -> down (the residual) and in0 -> ops.0 -> ops.1 -> down
    assert (d["Block:paths:n"], d["Block:paths:min_len"], d["Block:paths:max_len"]) == (2, 1, 3)
    assert d["Block:op:conv3x3:paths"] == 1.0 and d["Block:op:conv3x3:only_paths"] == 0.0


def test_a_none_position_is_dead_and_cuts_its_paths():
    d = bf.block_description(family(), ("c3", "none", "c1", "mp"))
    assert d["Block:ops.1=zero"] == 1.0
    assert d["Block:dead:n"] == 1.0
    assert (d["Block:paths:n"], d["Block:paths:max_len"]) == (1.0, 1.0)  # the residual only
    assert d["Block:op:conv3x3:paths"] == 0.0 and d["Block:op:conv3x3:count"] == 1.0
    assert d["Block/reduce:dead:n"] == 0.0 and d["Block/reduce:paths:n"] == 2.0


def test_featurizer_blocks_fixed_columns_absent_and_unseen():
    space = family()
    fitted = [("c3", "id", "c1", "mp"), ("c1", "c3", "id", "c3")]
    feats = ArchFeaturizer(space, features=("network", "blocks")).fit(fitted)
    names = [str(n) for n in feats.get_feature_names_out()]
    n_network = sum(n.startswith("network:") for n in names)
    assert n_network == 260 and names[n_network].startswith("blocks:")
    assert "blocks:Block:ops.0=absent" in names and "blocks:Block:ops.0=unseen" in names
    # an architecture with an op no fitted one had at a position: =unseen, not dropped
    X = feats.transform([("mp", "id", "c1", "mp")])
    row = dict(zip(names, X[0], strict=True))
    assert row["blocks:Block:ops.0=unseen"] == 1.0
    assert row["blocks:Block:ops.0=conv3x3"] == 0.0 and row["blocks:Block:ops.0=conv1x1"] == 0.0
    assert row["blocks:Block:ops.0=absent"] == 0.0
    assert X.shape == (1, len(names))  # the fitted width, whatever the architecture


def test_unseen_variant_is_counted_and_absent_positions_are_explicit():
    names = bf.block_vocabulary([{"Cell:n": 2.0, "Cell:op.0=conv3x3": 1.0}])
    X = bf.block_matrix([{"Other:n": 3.0, "Other:op.0=x": 1.0}, {}], names)
    row = dict(zip(names, X[0], strict=True))
    assert row["unseen_variants:n"] == 3.0 and row["Cell:op.0=absent"] == 1.0
    assert X[1].tolist() == [0.0, 1.0, 0.0, 0.0, 0.0]  # no Cell at all: its position is absent


def test_nb201_blocks_recover_the_hand_made_one_hot():
    space = get_space("nb201")
    archs = space.sample(40, random_state=0)
    onehot = ArchFeaturizer(space, features=("onehot",)).fit(archs).transform(archs)
    feats = ArchFeaturizer(space, features=("blocks",)).fit(archs)
    blocks = feats.transform(archs)
    names = [str(n) for n in feats.get_feature_names_out()]
    cell_ops = [j for j, n in enumerate(names) if n.startswith("blocks:NB201Cell:edges.")
                and "=" in n and not n.endswith(("=absent", "=unseen"))]  # fmt: skip
    assert len(cell_ops) == 30  # 6 edges x 5 operations
    # every one-hot column is exactly one per-position operation column, and back
    for j in range(onehot.shape[1]):
        same = [c for c in cell_ops if np.array_equal(blocks[:, c], onehot[:, j])]
        assert len(same) == 1, j
    assert len({tuple(blocks[:, c]) for c in cell_ops}) == 30
    # and the cell's path features are the hand-made GRAF ones (none edges cut)
    graph = ArchFeaturizer(space, features=("graph",)).fit(archs)
    G = dict(zip(graph.get_feature_names_out(), graph.transform(archs).T, strict=True))
    B = dict(zip(names, blocks.T, strict=True))
    for mine, theirs in (("paths:n", "n_paths"), ("paths:min_len", "min_len"),
                         ("paths:max_len", "max_len")):  # fmt: skip
        np.testing.assert_array_equal(B[f"blocks:NB201Cell:{mine}"], G[f"graph:{theirs}"])


def test_darts_blocks_read_the_normal_and_reduce_genotype():
    space = get_space("darts")
    sigs: dict[tuple[str, int], set[str]] = {}
    for arch in space.sample(6, random_state=1):
        d = bf.block_description(space, arch)
        assert d["DartsCell/reduce:n"] == 2.0 and d["DartsCell:n"] == 6.0
        for variant, cell in (("DartsCell", arch[0]), ("DartsCell/reduce", arch[1])):
            for k, (node, op) in enumerate(cell):
                ops = [n for n in d if n.startswith(f"{variant}:ops.{k}=")]
                assert len(ops) == 1 and d[ops[0]] == 1.0  # all copies of a variant agree
                # reductions carry stride 2 on their input edges: compare op identity only
                sigs.setdefault((variant, op), set()).add(ops[0].split("=", 1)[1])
                src = "preprocess0" if node == 0 else "preprocess1" if node == 1 else (
                    f"ops.{2 * (node - 2)}+ops.{2 * (node - 2) + 1}")  # fmt: skip
                assert d[f"{variant}:ops.{k}<-{src}"] == 1.0
    normal = {op: s for (v, op), s in sigs.items() if v == "DartsCell"}
    assert all(len(s) == 1 for s in normal.values())  # one signature per genotype op
    assert len({next(iter(s)) for s in normal.values()}) == len(normal)  # and distinct


def test_block_features_are_deterministic_on_a_fresh_space():
    arch = get_space("darts").sample(1, random_state=3)[0]
    a = bf.block_description(get_space("darts"), arch)
    b = bf.block_description(get_space("darts"), arch)  # another space object: no cache hit
    assert a == b
    feats = ArchFeaturizer("nb201", features=("blocks",))
    archs = get_space("nb201").sample(5, random_state=2)
    X1 = feats.fit(archs).transform(archs)
    X2 = feats.fit(archs[::-1]).transform(archs)
    np.testing.assert_array_equal(X1, X2)  # columns do not depend on the fit order


def test_block_summary_has_the_same_columns_for_every_network():
    names = bf.block_summary_names()
    fam = bf.block_summary(bf.block_description(family(), ("c3", "none", "c1", "mp")))
    vit = bf.block_summary({"ViTBlock:n": 12.0, "ViTBlock:attn=a": 1.0, "ViTBlock:paths:n": 4.0})
    assert fam.shape == vit.shape == (len(names),) and np.isfinite(fam).all()
    row = dict(zip(names, fam, strict=True))
    # slot 0 is the variant with the most instances: the 3 normal blocks
    assert (row["n_variants"], row["n_blocks"], row["slot0:n"], row["slot0:reduce"]) == (2, 5, 3, 0)
    assert (row["slot1:n"], row["slot1:reduce"], row["slot0:dead:n"]) == (2, 1, 1)
    assert row["slot0:positions"] == 3  # ops.0, ops.1, down
    other = dict(zip(names, vit, strict=True))
    assert other["slot0:paths:n"] == 4 and other["slot1:n"] == 0  # an absent slot is 0
