"""The DARTS search space (Liu et al., ICLR 2019), as used by NAS-Bench-301.

Registered as ``"darts"`` and as ``"nb301"``.

Architecture form
-----------------
NASLib's compact genotype, the key format of the NAS-Bench-Suite-Zero NB301 table::

    "[[(0, 0), (1, 5), (1, 1), (0, 1), (1, 3), (0, 3), (1, 3), (3, 2)], [(1, 0), ...]]"

i.e. ``(normal, reduce)``, each 8 ``(input_node, op_id)`` pairs, two per intermediate node
2, 3, 4, 5 (pairs 0-1 feed node 2, pairs 2-3 node 3, ...). Nodes 0 and 1 are the outputs of
the two previous cells. Op ids (NASLib / NAS-Bench-301 order, DARTS primitives without
``none``): 0=max_pool_3x3 1=avg_pool_3x3 2=skip_connect 3=sep_conv_3x3 4=sep_conv_5x5
5=dil_conv_3x3 6=dil_conv_5x5.

The **canonical form** is a tuple of two tuples of 8 ``(int, int)`` pairs, pairs kept in the
given order. :meth:`DartsSpace.to_string` gives the NASLib key string back. An op may also be
given by name, e.g. ``(1, "sep_conv_3x3")``.
"""

from __future__ import annotations

import ast
import hashlib
import json
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from libranas.spaces._registry import register_space
from libranas.spaces.base import SearchSpace, check_num_classes
from libranas.spaces.nb201 import _as_generator

#: operation names indexed by op id (NASLib compact / NAS-Bench-301 order)
OPS: tuple[str, ...] = (
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)
#: candidate edges (to_node, from_node) of a cell, in NAS-Bench-301 edge numbering 0..13
EDGES: tuple[tuple[int, int], ...] = tuple((j, i) for j in range(2, 6) for i in range(j))
_EDGE_INDEX = {edge: k for k, edge in enumerate(EDGES)}
_CELLS = ("normal", "reduce")
_PARAM_FREE = ("max_pool_3x3", "avg_pool_3x3", "skip_connect")
_N_GRAPH_NODES = 7  # inputs 0, 1; intermediate 2..5; output 6 (concatenation)
_WIRE = "concat"

Arch = tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]


#: seed of the NAS-Bench-301 development / held-out split (:func:`nb301_split`), drawn once
#: (issue 23) and never changed: the DARTS training-free default is chosen on the
#: development half only and reported on the held-out half (``benchmarks/darts_default.py``)
NB301_SPLIT_SEED = 2301


def nb301_split(archs: Sequence[Any], seed: int = NB301_SPLIT_SEED) -> np.ndarray:
    """Development (True) / held-out (False) mask of NAS-Bench-301 cells.

    The cells' canonical strings (:meth:`DartsSpace.to_string`) are sorted, permuted by
    ``numpy.random.default_rng(seed)`` and the first ``len(archs) // 2`` of that order form
    the development half. The mask therefore depends on the set of cells only, not on the
    order they are given in; for the 725 cells of the NAS-Bench-Suite-Zero NB301 table it is
    the split of ``benchmarks/darts_default.py`` (362 development, 363 held-out cells, whose
    digest :func:`nb301_split_digest` the stored default records).

    Examples
    --------
    >>> from libranas.spaces import get_space
    >>> cells = get_space("nb301").sample(10, random_state=0)
    >>> mask = nb301_split(cells)
    >>> int(mask.sum()), bool((nb301_split(cells[::-1]) == mask[::-1]).all())
    (5, True)
    """
    space = DartsSpace()
    keys = [space.to_string(a) for a in archs]
    if len(set(keys)) != len(keys):
        raise ValueError("nb301_split needs distinct cells; some are given more than once")
    order = sorted(range(len(keys)), key=keys.__getitem__)
    perm = np.random.default_rng(seed).permutation(len(keys))
    mask = np.zeros(len(keys), dtype=bool)
    mask[np.asarray(order, dtype=int)[perm[: len(keys) // 2]]] = True
    return mask


def nb301_split_digest(archs: Sequence[Any], mask: np.ndarray) -> str:
    """SHA-256 of the sorted canonical strings of the cells where ``mask`` is True."""
    space = DartsSpace()
    keys = sorted(space.to_string(a) for a, m in zip(archs, mask, strict=True) if m)
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()


@lru_cache(maxsize=1)
def _default_record() -> dict[str, Any] | None:
    path = resources.files("libranas.spaces").joinpath("data", "darts_default.json")
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def _parse_op(op: Any, where: str) -> int:
    if isinstance(op, str):
        if op not in OPS:
            raise ValueError(f"unknown DARTS operation {op!r} at {where}; known: {list(OPS)}")
        return OPS.index(op)
    if isinstance(op, bool) or not isinstance(op, (int, np.integer)):
        raise TypeError(f"DARTS op at {where} must be an int id or a name, got {op!r}")
    if not 0 <= op < len(OPS):
        raise ValueError(
            f"unknown DARTS op id {int(op)} at {where}; valid ids are 0..{len(OPS) - 1} "
            f"({', '.join(f'{k}={name}' for k, name in enumerate(OPS))})"
        )
    return int(op)


def _parse_cell(cell: Any, name: str) -> tuple[tuple[int, int], ...]:
    if isinstance(cell, (str, bytes)) or not isinstance(cell, Sequence | np.ndarray):
        raise TypeError(f"the {name} cell must be a sequence of 8 (node, op) pairs, got {cell!r}")
    if len(cell) != 8:
        raise ValueError(
            f"the {name} cell needs 8 (input_node, op) pairs (2 per intermediate node), "
            f"got {len(cell)}"
        )
    pairs: list[tuple[int, int]] = []
    for k, pair in enumerate(cell):
        where = f"{name} pair {k}"
        if isinstance(pair, (str, bytes)) or not isinstance(pair, Sequence | np.ndarray):
            raise TypeError(f"{where} must be an (input_node, op) pair, got {pair!r}")
        if len(pair) != 2:
            raise ValueError(f"{where} must be an (input_node, op) pair, got {pair!r}")
        node, op = pair[0], pair[1]
        if isinstance(node, str):
            raise TypeError(
                f"{where} is {tuple(pair)!r}: pairs are (input_node, op), not DARTS's "
                "(op_name, node); use DartsSpace.from_genotype for the latter"
            )
        if isinstance(node, bool) or not isinstance(node, (int, np.integer)):
            raise TypeError(f"input node of {where} must be an int, got {node!r}")
        target = 2 + k // 2
        if not 0 <= node < target:
            raise ValueError(
                f"{where} feeds node {target}, so its input node must be in 0..{target - 1}, "
                f"got {int(node)}"
            )
        pairs.append((int(node), _parse_op(op, where)))
    for j in range(4):
        if pairs[2 * j][0] == pairs[2 * j + 1][0]:
            raise ValueError(
                f"node {j + 2} of the {name} cell takes both inputs from node {pairs[2 * j][0]}; "
                "the two inputs of a node must differ"
            )
    return tuple(pairs)


def _parse(arch: Any) -> Arch:
    original = arch
    if isinstance(arch, str):
        try:
            arch = ast.literal_eval(arch.strip())
        except (ValueError, SyntaxError) as exc:
            raise ValueError(f"malformed DARTS architecture string {original!r}") from exc
    if isinstance(arch, np.ndarray):
        if arch.shape != (2, 8, 2):
            raise ValueError(
                f"a DARTS architecture array must have shape (2, 8, 2), got {arch.shape}"
            )
        arch = arch.tolist()
    if isinstance(arch, (str, bytes)) or not isinstance(arch, Sequence):
        raise TypeError(
            "a DARTS architecture is (normal, reduce) lists of (node, op) pairs or their string, "
            f"got {type(original).__name__}"
        )
    if len(arch) != 2:
        raise ValueError(f"a DARTS architecture has 2 cells (normal, reduce), got {len(arch)}")
    return (_parse_cell(arch[0], "normal"), _parse_cell(arch[1], "reduce"))


def _op_params(name: str, c: int, stride: int, affine: bool) -> int:
    bn = 2 * c if affine else 0
    if name in ("max_pool_3x3", "avg_pool_3x3"):
        return 0
    if name == "skip_connect":
        return 0 if stride == 1 else 2 * c * (c // 2) + bn
    k = int(name[-1])
    if name.startswith("sep_conv"):
        return 2 * (c * k * k + c * c + bn)
    return c * k * k + c * c + bn  # dil_conv


def darts_param_count(
    arch: Any,
    num_classes: int = 10,
    channels: int = 32,
    layers: int = 8,
    stem_multiplier: int = 3,
    op_affine: bool = False,
) -> int:
    """Number of parameters of the DARTS network of ``arch``, without building it.

    Counts every weight of :meth:`DartsSpace.build` (BatchNorm affine parameters included).

    Examples
    --------
    >>> pools = [(0, 0), (1, 1)] * 4
    >>> darts_param_count([pools, pools])  # pooling only: stem + preprocessing + classifier
    392426
    """
    normal, reduce = _parse(arch)
    c3 = stem_multiplier * channels
    total = 3 * 9 * c3 + 2 * c3  # stem conv + BN
    c_pp, c_p, c = c3, c3, channels
    reduction_prev = False
    for i in range(layers):
        reduction = i in (layers // 3, 2 * layers // 3)
        if reduction:
            c *= 2
        if reduction_prev:
            total += 2 * c_pp * (c // 2) + 2 * c  # FactorizedReduce
        else:
            total += c_pp * c + 2 * c  # ReLU-Conv1x1-BN
        total += c_p * c + 2 * c
        for node, op in reduce if reduction else normal:
            stride = 2 if reduction and node < 2 else 1
            total += _op_params(OPS[op], c, stride, op_affine)
        reduction_prev = reduction
        c_pp, c_p = c_p, 4 * c
    return total + c_p * num_classes + num_classes


@register_space("nb301")
@register_space("darts")
class DartsSpace(SearchSpace):
    """DARTS / NAS-Bench-301 cells (normal + reduction), network as in NAS-Bench-Suite-Zero.

    Parameters
    ----------
    channels : int, default=32
        Initial channels C of the cells (doubled at each reduction cell).
    layers : int, default=8
        Number of cells; reduction cells sit at ``layers // 3`` and ``2 * layers // 3``.
    stem_multiplier : int, default=3
        The stem outputs ``stem_multiplier * channels`` channels.
    op_affine : bool, default=False
        Whether the BatchNorms inside the cell operations have affine parameters. The
        stem and the cell-input preprocessing always do.

    Notes
    -----
    The defaults (C=32, 8 cells, stem multiplier 3, no auxiliary head, non-affine BN in the
    cell operations) reproduce the ``params`` column of the NAS-Bench-Suite-Zero NB301 table
    exactly. DARTS's own evaluation network (C=36, 20 cells, affine BN) is
    ``DartsSpace(channels=36, layers=20, op_affine=True)`` (without its auxiliary head).

    Canonical architectures are ``(normal, reduce)`` tuples of 8 ``(input_node, op_id)``
    pairs. ``random_state`` follows :class:`~libranas.spaces.nb201.NB201Space`: None, an int,
    a numpy ``Generator`` (advanced in place) or a ``RandomState``.

    Examples
    --------
    >>> from libranas.spaces import get_space
    >>> space = get_space("nb301")
    >>> arch = space.sample(1, random_state=0)[0]
    >>> space.validate(space.to_string(arch)) == arch
    True
    >>> space.encode(arch).shape
    (196,)
    """

    name = "darts"
    default_input_shape = (3, 32, 32)  # CIFAR-size images
    ops = OPS
    edges = EDGES

    def __init__(
        self,
        channels: int = 32,
        layers: int = 8,
        stem_multiplier: int = 3,
        op_affine: bool = False,
    ) -> None:
        for key, value in (
            ("channels", channels),
            ("layers", layers),
            ("stem_multiplier", stem_multiplier),
        ):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{key} must be a positive int, got {value!r}")
        if channels % 2:
            raise ValueError(
                f"channels must be even (factorized reductions halve it), got {channels}"
            )
        if not isinstance(op_affine, (bool, np.bool_)):
            raise TypeError(f"op_affine must be a bool, got {op_affine!r}")
        self.channels = channels
        self.layers = layers
        self.stem_multiplier = stem_multiplier
        self.op_affine = op_affine

    def __repr__(self) -> str:
        return (
            f"DartsSpace(channels={self.channels}, layers={self.layers}, "
            f"stem_multiplier={self.stem_multiplier}, op_affine={self.op_affine})"
        )

    # ------------------------------------------------------------------ conversions
    def validate(self, arch: Any) -> Arch:
        """Return the canonical ``(normal, reduce)`` tuple of ``arch``.

        Raises
        ------
        ValueError
            Wrong number of cells or pairs, an input node not earlier than the node it feeds,
            both inputs of a node equal, unknown op id or name, malformed string.
        TypeError
            Values of the wrong type.

        Examples
        --------
        >>> space = DartsSpace()
        >>> space.validate([[(0, 3), (1, 3)] * 4, [(0, 0), (1, "skip_connect")] * 4])[1][:2]
        ((0, 0), (1, 2))
        >>> space.validate([[(0, 3), (0, 3)] * 4, [(0, 0), (1, 0)] * 4])
        Traceback (most recent call last):
        ...
        ValueError: node 2 of the normal cell takes both inputs from node 0; the two inputs of a node must differ
        """  # noqa: E501
        return _parse(arch)

    def to_string(self, arch: Any) -> str:
        """NASLib compact string of ``arch`` (the NAS-Bench-Suite-Zero NB301 key format)."""
        normal, reduce = _parse(arch)
        return str([list(normal), list(reduce)])

    def to_genotype(self, arch: Any) -> dict[str, list[tuple[str, int]]]:
        """DARTS genotype lists ``{"normal": [(op_name, node), ...], "reduce": [...]}``."""
        cells = _parse(arch)
        return {
            name: [(OPS[op], node) for node, op in cell]
            for name, cell in zip(_CELLS, cells, strict=True)
        }

    def from_genotype(
        self, normal: Sequence[tuple[str, int]], reduce: Sequence[tuple[str, int]]
    ) -> Arch:
        """Canonical architecture from DARTS genotype lists of ``(op_name, input_node)``.

        Examples
        --------
        >>> DartsSpace().from_genotype([("sep_conv_3x3", 0), ("skip_connect", 1)] * 4,
        ...                            [("max_pool_3x3", 0), ("max_pool_3x3", 1)] * 4)[0][:2]
        ((0, 3), (1, 2))
        """
        cells = []
        for name, cell in zip(_CELLS, (normal, reduce), strict=True):
            try:
                cells.append([(node, op) for op, node in cell])
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"the {name} genotype must be a list of (op_name, input_node)"
                ) from exc
        return _parse(cells)

    # ------------------------------------------------------------------ sampling
    def sample(self, n: int, random_state: Any = None) -> list[Arch]:
        """Draw ``n`` architectures uniformly: for each intermediate node, 2 distinct inputs
        (listed in increasing order) and 2 ops, independently for both cells."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"n must be a non-negative int, got {n!r}")
        rng = _as_generator(random_state)
        out: list[Arch] = []
        for _ in range(int(n)):
            cells = []
            for _cell in _CELLS:
                pairs: list[tuple[int, int]] = []
                for j in range(2, 6):
                    inputs = np.sort(rng.choice(j, size=2, replace=False))
                    ops = rng.integers(0, len(OPS), size=2)
                    pairs.extend((int(i), int(o)) for i, o in zip(inputs, ops, strict=True))
                cells.append(tuple(pairs))
            out.append((cells[0], cells[1]))
        return out

    def neighbours(self, arch: Any) -> list[Arch]:
        """All architectures one decision away: one pair's op or one pair's input changed."""
        cells = [list(c) for c in _parse(arch)]
        result: list[Arch] = []
        for c in range(2):
            for k, (node, op) in enumerate(cells[c]):
                sibling = cells[c][k ^ 1][0]
                options = [(node, o) for o in range(len(OPS)) if o != op]
                options += [(i, op) for i in range(2 + k // 2) if i not in (node, sibling)]
                for new in options:
                    changed = [list(cells[0]), list(cells[1])]
                    changed[c][k] = new
                    result.append((tuple(changed[0]), tuple(changed[1])))
        return result

    def mutate(self, arch: Any, random_state: Any = None) -> Arch:
        """Change one decision, uniformly over :meth:`neighbours`.

        Examples
        --------
        >>> space = DartsSpace()
        >>> a = space.sample(1, random_state=0)[0]
        >>> b = space.mutate(a, random_state=0)
        >>> sum(p != q for x, y in zip(a, b) for p, q in zip(x, y))
        1
        """
        options = self.neighbours(arch)
        rng = _as_generator(random_state)
        return options[int(rng.integers(len(options)))]

    def encode(self, arch: Any) -> np.ndarray:
        """One-hot of the op on each of the 14 candidate edges of each cell: 2 x 14 x 7 = 196.

        Edges follow NAS-Bench-301 numbering (:data:`EDGES`); an unused edge is all zeros.
        Two architectures that list a node's two pairs in swapped order (the same network)
        get the same encoding.

        Examples
        --------
        >>> space = DartsSpace()
        >>> x = space.encode([[(0, 3), (1, 3)] * 4, [(0, 0), (1, 0)] * 4])
        >>> x.reshape(2, 14, 7).sum(axis=(1, 2))
        array([8., 8.])
        """
        out = np.zeros((2, len(EDGES), len(OPS)), dtype=np.float64)
        for c, cell in enumerate(_parse(arch)):
            for k, (node, op) in enumerate(cell):
                out[c, _EDGE_INDEX[(2 + k // 2, node)], op] = 1.0
        return out.ravel()

    def encode_many(self, archs: list[Any]) -> np.ndarray:
        """Stack :meth:`encode` over ``archs`` into an ``(n, 196)`` array."""
        out = np.zeros((len(archs), 2 * len(EDGES) * len(OPS)), dtype=np.float64)
        for row, arch in enumerate(archs):
            out[row] = self.encode(arch)
        return out

    def encoding_names(self) -> list[str]:
        """Names of the 196 encoding columns, e.g. ``'normal:3<-1:sep_conv_3x3'``."""
        return [f"{c}:{j}<-{i}:{op}" for c in _CELLS for j, i in EDGES for op in OPS]

    # ------------------------------------------------------------------ graph features
    def graph_feature_names(self) -> list[str]:
        """Names of :meth:`graph_features`: per cell, paths from both inputs and from input 1.

        ``normal:...`` / ``reduce:...`` are the features of all input -> output paths of
        that cell (inputs: nodes 0 and 1, the two previous cells); ``normal:from1:...`` /
        ``reduce:from1:...`` those of the paths from the previous cell only (node 1).
        """
        from libranas.spaces._graph import path_feature_names

        base = path_feature_names(OPS, _N_GRAPH_NODES)
        return [f"{cell}:{view}{n}" for cell in _CELLS for view in ("", "from1:") for n in base]

    def graph_features(self, arch: Any) -> np.ndarray:
        """Graph features of both cells (see :func:`libranas.spaces._graph.path_features`).

        A cell is a DAG on nodes 0..6: inputs 0 and 1 (the outputs of the two previous
        cells), intermediate nodes 2..5 (each the sum of its two operations) and the output
        node 6, the concatenation of nodes 2..5 (edges into it are wires: no operation).

        Examples
        --------
        >>> space = DartsSpace()
        >>> arch = [[(0, 3), (1, 3)] * 4, [(0, 0), (1, 0)] * 4]
        >>> f = dict(zip(space.graph_feature_names(), space.graph_features(arch).tolist()))
        >>> f["normal:n_paths"], f["normal:from1:n_paths"], f["reduce:op_count:max_pool_3x3"]
        (8.0, 4.0, 8.0)
        """
        from libranas.spaces._graph import path_features

        out: list[float] = []
        for cell in _parse(arch):
            edges = [(node, 2 + k // 2, OPS[op]) for k, (node, op) in enumerate(cell)]
            edges += [(j, 6, _WIRE) for j in range(2, 6)]
            for inputs in ((0, 1), (1,)):
                values = path_features(
                    _N_GRAPH_NODES, edges, OPS, inputs, 6, _PARAM_FREE, wire=_WIRE
                )
                out.extend(values.values())
        return np.asarray(out, dtype=np.float64)

    # ------------------------------------------------------------------ Optuna
    def trial_choices(self) -> dict[str, tuple[Any, ...]]:
        """Per cell and intermediate node j: its input pair ``"i,k"`` (i < k < j) and two ops."""
        choices: dict[str, tuple[Any, ...]] = {}
        for cell in _CELLS:
            for j in range(2, 6):
                pairs = tuple(f"{i},{k}" for i in range(j) for k in range(i + 1, j))
                choices[f"{cell}_node{j}_inputs"] = pairs
                choices[f"{cell}_node{j}_op0"] = OPS
                choices[f"{cell}_node{j}_op1"] = OPS
        return choices

    def suggest(self, trial: Any) -> Arch:
        """Draw an architecture through an Optuna ``trial`` (3 categoricals per node and cell).

        The two inputs of a node are one categorical over the pairs ``i < k``, so every
        suggestion is valid; inputs come out in increasing order (as :meth:`sample`).

        Examples
        --------
        >>> import optuna
        >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
        >>> study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        >>> arch = DartsSpace().suggest(study.ask())
        >>> DartsSpace().validate(arch) == arch
        True
        """
        params = {k: trial.suggest_categorical(k, list(v)) for k, v in self.trial_choices().items()}
        return self._from_params(params)

    def _from_params(self, params: dict[str, Any]) -> Arch:
        cells = []
        for cell in _CELLS:
            pairs: list[tuple[int, int]] = []
            for j in range(2, 6):
                first, second = (int(v) for v in params[f"{cell}_node{j}_inputs"].split(","))
                pairs.append((first, OPS.index(params[f"{cell}_node{j}_op0"])))
                pairs.append((second, OPS.index(params[f"{cell}_node{j}_op1"])))
            cells.append(tuple(pairs))
        return (cells[0], cells[1])

    def trial_params(self, arch: Any) -> dict[str, Any]:
        """The trial parameters of ``arch`` (inverse of :meth:`suggest`).

        A node whose pairs list the larger input first is the same network with the pairs
        swapped; its parameters describe it with inputs in increasing order.
        """
        params: dict[str, Any] = {}
        for cell, pairs in zip(_CELLS, _parse(arch), strict=True):
            for j in range(2, 6):
                a, b = sorted(pairs[2 * (j - 2) : 2 * (j - 2) + 2])
                params[f"{cell}_node{j}_inputs"] = f"{a[0]},{b[0]}"
                params[f"{cell}_node{j}_op0"] = OPS[a[1]]
                params[f"{cell}_node{j}_op1"] = OPS[b[1]]
        return params

    # ------------------------------------------------------------------ zero labels
    def training_free_default(self) -> tuple[str, ...] | None:
        """The proxies DARTS stores as its training-free default (or None if none is stored).

        Chosen by ``benchmarks/darts_default.py`` with the rule of the generic
        :data:`libranas.proxies.TRAINING_FREE_DEFAULT`, its NAS-Bench-201 CIFAR-10 step read
        on the development half of the NAS-Bench-301 cells (:func:`nb301_split`) instead;
        recorded with its provenance (rule commit, split digest, rho on both halves) in
        ``libranas/spaces/data/darts_default.json``. The evidence is NAS-Bench-301's
        network (32 channels, 8 cells), but a proxy set, unlike a layer band, does not
        depend on the depth, so every setting of the space returns it.
        """
        rec = _default_record()
        return None if rec is None else tuple(rec["proxies"])

    def training_free_options(self) -> dict[str, Any]:
        """ProxyFeaturizer settings of the stored default: ``{"lswag_band": None}`` (all
        layers), as the NAS-Bench-301 proxy table it was chosen on was computed.

        Examples
        --------
        >>> DartsSpace().training_free_options()
        {'lswag_band': None}
        """
        rec = _default_record()
        return {} if rec is None else dict(rec.get("featurizer_options", {}))

    # ------------------------------------------------------------------ networks
    def param_count(self, arch: Any, num_classes: int = 10) -> int:
        """Parameters of :meth:`build` ``(arch, num_classes)`` computed analytically."""
        return darts_param_count(
            arch, num_classes, self.channels, self.layers, self.stem_multiplier, self.op_affine
        )

    def build(self, arch: Any, num_classes: int | None = None) -> Any:
        """Build the untrained DARTS network of ``arch``.

        Stem 3x3 conv to ``stem_multiplier * C`` channels + BN; ``layers`` cells, the ones at
        ``layers // 3`` and ``2 * layers // 3`` reduction cells (channels doubled, stride 2
        on the edges from the cell inputs, ``skip_connect`` there a factorized reduction);
        each cell preprocesses its two inputs with ReLU-Conv1x1-BN (a factorized reduction
        for the older input after a reduction cell), its nodes sum two edge operations and
        its output concatenates the 4 intermediate nodes; global average pooling; linear.
        No auxiliary head, no drop-path. Edge ops: 3x3 max / avg pooling (padding excluded
        from the average), identity, separable convs (ReLU-dw-pw-BN twice), dilated convs
        (ReLU-dw dilation 2-pw-BN).

        Examples
        --------
        >>> import torch
        >>> space = DartsSpace(channels=8, layers=3)
        >>> net = space.build(space.sample(1, random_state=0)[0], num_classes=5)
        >>> net(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 5])
        """
        from libranas.spaces._ops import DartsNetwork

        num_classes = check_num_classes(num_classes, default=10)
        genotype = self.to_genotype(arch)
        normal = [(node, name) for name, node in genotype["normal"]]
        reduce = [(node, name) for name, node in genotype["reduce"]]
        return DartsNetwork(
            normal,
            reduce,
            num_classes=int(num_classes),
            channels=int(self.channels),
            layers=int(self.layers),
            stem_multiplier=int(self.stem_multiplier),
            op_affine=bool(self.op_affine),
        )
