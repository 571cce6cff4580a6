"""The NAS-Bench-201 search space (Dong & Yang, ICLR 2020).

One cell of 4 nodes and 6 edges, each edge one of 5 operations: 5**6 = 15,625 cells.
The cell is repeated in the fixed NAS-Bench-201 skeleton (see :meth:`NB201Space.build`).

Architecture forms
------------------
:meth:`NB201Space.validate` accepts three forms and returns the canonical one:

- the NAS-Bench-201 string ``"|op~0|+|op~0|op~1|+|op~0|op~1|op~2|"`` (**canonical form**);
  the edges appear in the order 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2;
- the NASLib tuple ``(e0, ..., e5)`` of op ids, as a tuple/list of ints or as its string
  ``"(0, 2, 3, 2, 3, 1)"`` (the keys of the NAS-Bench-Suite-Zero JSON tables). Its edge order is
  NASLib's (1<-0, 2<-0, 3<-0, 2<-1, 3<-1, 3<-2), which differs from the string's, and its op ids
  are 0=skip_connect 1=none 2=nor_conv_3x3 3=nor_conv_1x1 4=avg_pool_3x3;
- the NAS-Bench-201 integer index 0..15,624 (the index of the NAS-Bench-201 / NATS-Bench
  topology tables; the ordering is bundled in ``libranas/spaces/data/nb201_index.txt.gz``).
"""

from __future__ import annotations

import ast
import gzip
import re
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from libranas._validation import as_generator
from libranas.spaces._registry import register_space
from libranas.spaces.base import SearchSpace, check_num_classes

#: operation names in NAS-Bench-201 order (the order of the one-hot encoding)
OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: operation names indexed by NASLib op id
NASLIB_OPS: tuple[str, ...] = (
    "skip_connect",
    "none",
    "nor_conv_3x3",
    "nor_conv_1x1",
    "avg_pool_3x3",
)
#: edges (to_node, from_node) in NB201-string order
EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
#: position in the NB201 string of NASLib tuple entry k (NASLib order 1<-0, 2<-0, 3<-0, ...)
_NASLIB_TO_STRING = (0, 1, 3, 2, 4, 5)
N_ARCHS = 5**6

_EDGE_RE = re.compile(r"^([A-Za-z0-9_]+)~(\d+)$")


def _as_generator(random_state: Any) -> np.random.Generator:
    """Turn ``random_state`` into a :class:`numpy.random.Generator`: the one contract of
    :func:`libranas._validation.as_generator` (None, a non-negative int, a ``Generator``
    used as is, or a legacy ``RandomState`` a seed is drawn from)."""
    return as_generator(random_state)


@lru_cache(maxsize=1)
def _index_table() -> tuple[tuple[int, ...], ...]:
    """NB201 index -> tuple of 6 :data:`OPS` ids in string edge order (bundled data)."""
    path = resources.files("libranas.spaces").joinpath("data", "nb201_index.txt.gz")
    with path.open("rb") as raw, gzip.open(raw, "rt", encoding="ascii") as fh:
        rows = [line.strip() for line in fh if line.strip() and not line.startswith("#")]
    if len(rows) != N_ARCHS:
        raise RuntimeError(f"corrupt NB201 index table: {len(rows)} rows instead of {N_ARCHS}")
    return tuple(tuple(int(ch) for ch in row) for row in rows)


@lru_cache(maxsize=1)
def _index_lookup() -> dict[tuple[int, ...], int]:
    return {ops: i for i, ops in enumerate(_index_table())}


def _ids_to_string(ids: Sequence[int]) -> str:
    o = [OPS[i] for i in ids]
    return f"|{o[0]}~0|+|{o[1]}~0|{o[2]}~1|+|{o[3]}~0|{o[4]}~1|{o[5]}~2|"


def _parse_nb201_string(text: str) -> tuple[int, ...]:
    groups = text.split("+")
    if len(groups) != 3:
        raise ValueError(
            f"malformed NB201 string {text!r}: expected 3 node groups separated by '+', "
            f"got {len(groups)}"
        )
    ids: list[int] = []
    for node, group in enumerate(groups, start=1):
        if not (group.startswith("|") and group.endswith("|")) or len(group) < 2:
            raise ValueError(f"malformed NB201 string {text!r}: group {group!r} must be '|...|'")
        parts = group[1:-1].split("|")
        if len(parts) != node:
            raise ValueError(
                f"malformed NB201 string {text!r}: node {node} needs {node} incoming edges, "
                f"got {len(parts)}"
            )
        for source, part in enumerate(parts):
            match = _EDGE_RE.match(part)
            if match is None:
                raise ValueError(f"malformed NB201 string {text!r}: bad edge {part!r}")
            name, src = match.group(1), int(match.group(2))
            if src != source:
                raise ValueError(
                    f"malformed NB201 string {text!r}: edge {part!r} of node {node} must come "
                    f"from node {source}"
                )
            if name not in OPS:
                raise ValueError(f"unknown NB201 operation {name!r}; known: {list(OPS)}")
            ids.append(OPS.index(name))
    return tuple(ids)


def _parse_naslib_tuple(values: Sequence[Any], original: Any) -> tuple[int, ...]:
    if len(values) != 6:
        raise ValueError(f"an NB201 cell has 6 edges, got {len(values)} in {original!r}")
    ids: list[int] = [0] * 6
    for k, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(
                f"NASLib op ids must be ints, got {type(value).__name__} {value!r} in {original!r}"
            )
        if not 0 <= value < len(NASLIB_OPS):
            raise ValueError(
                f"unknown NASLib op id {int(value)} in {original!r}; valid ids are 0..4 "
                "(0=skip_connect 1=none 2=nor_conv_3x3 3=nor_conv_1x1 4=avg_pool_3x3)"
            )
        ids[_NASLIB_TO_STRING[k]] = OPS.index(NASLIB_OPS[int(value)])
    return tuple(ids)


def _op_ids(arch: Any) -> tuple[int, ...]:
    """The 6 :data:`OPS` ids (string edge order) of ``arch`` in any accepted form."""
    if isinstance(arch, bool):
        raise TypeError("an NB201 architecture cannot be a bool")
    if isinstance(arch, (int, np.integer)):
        if not 0 <= arch < N_ARCHS:
            raise ValueError(f"NB201 index must be in 0..{N_ARCHS - 1}, got {int(arch)}")
        return _index_table()[int(arch)]
    if isinstance(arch, str):
        text = arch.strip()
        if text.startswith("|"):
            return _parse_nb201_string(text)
        if text.startswith(("(", "[")):
            try:
                values = ast.literal_eval(text)
            except (ValueError, SyntaxError) as exc:
                raise ValueError(f"malformed NASLib tuple string {arch!r}") from exc
            if not isinstance(values, (tuple, list)):
                raise ValueError(f"malformed NASLib tuple string {arch!r}")
            return _parse_naslib_tuple(values, arch)
        raise ValueError(
            f"unrecognised NB201 architecture string {arch!r}: expected "
            "'|op~0|+|op~0|op~1|+|op~0|op~1|op~2|' or a NASLib tuple like '(0, 2, 3, 2, 3, 1)'"
        )
    if isinstance(arch, np.ndarray):
        if arch.ndim != 1:
            raise ValueError(f"a NASLib tuple array must be 1-D, got shape {arch.shape}")
        if not np.issubdtype(arch.dtype, np.integer):
            raise TypeError(f"NASLib op ids must be ints, got dtype {arch.dtype}")
        return _parse_naslib_tuple(list(arch), arch)
    if isinstance(arch, (tuple, list)):
        return _parse_naslib_tuple(arch, arch)
    raise TypeError(
        "an NB201 architecture is an NB201 string, a NASLib tuple (or its string) or an "
        f"index, got {type(arch).__name__}"
    )


def nb201_param_count(
    arch: Any, num_classes: int = 10, channels: int = 16, cells_per_stage: int = 5
) -> int:
    """Number of parameters of the NAS-Bench-201 network of ``arch``, without building it.

    Counts every weight of the module :meth:`NB201Space.build` returns (BatchNorm affine
    weights and biases included, running statistics excluded). Only the 3x3 and 1x1
    convolutions of the cell carry parameters; ``none``, skip and pooling have none.

    Examples
    --------
    >>> nb201_param_count("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    73306
    >>> nb201_param_count(1)  # NB201 index 1: 0.802426 M parameters on CIFAR-10
    802426
    """
    ids = _op_ids(arch)
    n3 = ids.count(OPS.index("nor_conv_3x3"))
    n1 = ids.count(OPS.index("nor_conv_1x1"))
    c = channels
    total = 3 * 9 * c + 2 * c  # stem conv + BN
    for stage in range(3):
        if stage > 0:  # ResNet reduction block c -> 2c
            total += 9 * c * 2 * c + 2 * (2 * c)  # conv_a + BN
            total += 9 * (2 * c) ** 2 + 2 * (2 * c)  # conv_b + BN
            total += c * 2 * c  # shortcut 1x1 conv
            c *= 2
        per_cell = n3 * (9 * c * c + 2 * c) + n1 * (c * c + 2 * c)
        total += cells_per_stage * per_cell
    total += 2 * c  # last BN
    total += c * num_classes + num_classes  # classifier
    return total


#: NB201 task -> (classes, input resolution) of its networks
TASKS: dict[str, tuple[int, int]] = {
    "cifar10": (10, 32),
    "cifar100": (100, 32),
    "imagenet16-120": (120, 16),
}
#: the parameter-free operations (their paths carry no weights)
PARAM_FREE: tuple[str, ...] = ("skip_connect", "avg_pool_3x3")
_GRAPH_OPS: tuple[str, ...] = ("skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")


def nb201_task(task: str) -> tuple[int, int]:
    """``(num_classes, resolution)`` of an NB201 task name (clear error when unknown)."""
    key = task.lower() if isinstance(task, str) else task
    if key not in TASKS:
        raise ValueError(f"unknown NB201 task {task!r}; known: {sorted(TASKS)}")
    return TASKS[key]


def nb201_pruned(arch: Any) -> str:
    """The NB201 cell computing the same function as ``arch``, with dead edges set to ``none``.

    An edge is dead when no path of non-``none`` edges from the input through it reaches the
    output: its result is discarded (or it reads zeros). Setting it to ``none`` changes the
    parameter count but not the function. The 9,445 cells of the NAS-Bench-Suite-Zero
    ``nb201-9k-*`` tables are exactly the cells without dead edges; every other cell is a
    functional duplicate of its pruned form.

    Examples
    --------
    >>> nb201_pruned("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|")
    '|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|'
    """
    ops = [OPS[i] for i in _op_ids(arch)]
    labelled = list(zip(ops, EDGES, strict=True))
    forward = {0}
    for node in (1, 2, 3):
        if any(t == node and s in forward and o != "none" for o, (t, s) in labelled):
            forward.add(node)
    backward = {3}
    for node in (2, 1, 0):
        if any(s == node and t in backward and o != "none" for o, (t, s) in labelled):
            backward.add(node)
    kept = [o if (s in forward and t in backward) else "none" for o, (t, s) in labelled]
    return f"|{kept[0]}~0|+|{kept[1]}~0|{kept[2]}~1|+|{kept[3]}~0|{kept[4]}~1|{kept[5]}~2|"


def nb201_mflops(
    arch: Any, num_classes: int = 10, resolution: int = 32, channels: int = 16, cells: int = 5
) -> float:
    """Millions of multiply-accumulates of the NB201 network of ``arch`` on one image.

    Conv2d and Linear layers only, no bias additions (the ``flops`` proxy's rule): the stem
    3x3 convolution, every ``nor_conv_3x3`` / ``nor_conv_1x1`` of the 3 x ``cells`` cells, the
    two residual reduction blocks and the classifier. Pooling, skip and ``none`` edges cost
    nothing.

    Examples
    --------
    >>> round(nb201_mflops("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"), 4)
    7.783
    >>> a = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    >>> round(nb201_mflops(a), 2)
    220.12
    """  # noqa: E501
    ids = _op_ids(arch)
    n3, n1 = ids.count(OPS.index("nor_conv_3x3")), ids.count(OPS.index("nor_conv_1x1"))
    c, h = channels, resolution
    total = 9 * 3 * c * h * h  # stem
    for stage in range(3):
        if stage > 0:  # reduction: 3x3 stride 2, 3x3, 1x1 shortcut at the halved resolution
            h //= 2
            total += 9 * c * 2 * c * h * h + 9 * (2 * c) ** 2 * h * h + c * 2 * c * h * h
            c *= 2
        total += cells * (n3 * 9 + n1) * c * c * h * h
    total += c * num_classes
    return total / 1e6


#: HW-NAS-Bench devices with a latency column in the bundled NB201 table
HW_DEVICES: tuple[str, ...] = ("edgegpu", "raspi4", "edgetpu", "pixel3", "eyeriss", "fpga")
#: NB201 classes -> the task key of the HW-NAS-Bench columns of the bundled table
_HW_TASK_KEYS = {10: "cifar10", 100: "cifar100", 120: "ImageNet16-120"}


@lru_cache(maxsize=18)
def _latency_column(name: str) -> np.ndarray:
    from libranas.datasets.bundled import load_nb201_table

    return load_nb201_table()[name].to_numpy(dtype=float)


@lru_cache(maxsize=1)
def _band_record() -> dict[str, Any]:
    import json

    path = resources.files("libranas.spaces").joinpath("data", "nb201_band.json")
    return json.loads(path.read_text())


@register_space("nb201")
class NB201Space(SearchSpace):
    """NAS-Bench-201: 15,625 cells of 6 edges x 5 operations.

    Parameters
    ----------
    channels : int, default=16
        Channels of the first stage (then doubled twice). 16 is NAS-Bench-201's setting.
    cells_per_stage : int, default=5
        Cells per stage (NAS-Bench-201: 5, i.e. 15 cells in all).

    Notes
    -----
    The canonical architecture is the NAS-Bench-201 string. ``random_state`` arguments accept
    None, an int seed, a :class:`numpy.random.Generator` (advanced in place) or a legacy
    ``RandomState``; the same int gives the same result.

    Examples
    --------
    >>> from libranas.spaces import get_space
    >>> space = get_space("nb201")
    >>> space.validate((0, 2, 3, 2, 3, 1))
    '|skip_connect~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|nor_conv_1x1~1|none~2|'
    >>> space.to_tuple("|skip_connect~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|nor_conv_1x1~1|none~2|")
    (0, 2, 3, 2, 3, 1)
    >>> space.to_index(space.validate(0))
    0
    >>> space.encode(0).shape
    (30,)
    >>> space.sample(2, random_state=0) == space.sample(2, random_state=0)
    True
    """  # noqa: E501

    name = "nb201"
    default_input_shape = (3, 32, 32)  # CIFAR-size images
    ops = OPS
    edges = EDGES
    n_archs = N_ARCHS

    def __init__(self, channels: int = 16, cells_per_stage: int = 5) -> None:
        for key, value in (("channels", channels), ("cells_per_stage", cells_per_stage)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{key} must be a positive int, got {value!r}")
        self.channels = channels
        self.cells_per_stage = cells_per_stage

    def __repr__(self) -> str:
        return f"NB201Space(channels={self.channels}, cells_per_stage={self.cells_per_stage})"

    # ------------------------------------------------------------------ conversions
    def validate(self, arch: Any) -> str:
        """Return the canonical NB201 string of ``arch``.

        Parameters
        ----------
        arch : str, tuple, list, ndarray or int
            NB201 string, NASLib tuple (or its string form) or NB201 index.

        Returns
        -------
        str
            ``"|op~0|+|op~0|op~1|+|op~0|op~1|op~2|"``.

        Raises
        ------
        ValueError
            Unknown operation name or id, wrong number of edges, index out of range,
            malformed string.
        TypeError
            ``arch`` of an unsupported type.

        Examples
        --------
        >>> space = NB201Space()
        >>> space.validate("(1, 1, 1, 1, 1, 0)")
        '|none~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|'
        >>> space.validate("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|")
        Traceback (most recent call last):
        ...
        ValueError: unknown NB201 operation 'conv'; known: ['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3']
        """  # noqa: E501
        return _ids_to_string(_op_ids(arch))

    def to_string(self, arch: Any) -> str:
        """NB201 string of ``arch`` (same as :meth:`validate`)."""
        return self.validate(arch)

    def to_tuple(self, arch: Any) -> tuple[int, ...]:
        """NASLib tuple of ``arch``: NASLib op ids in NASLib edge order.

        ``str(space.to_tuple(arch))`` is the key of the NAS-Bench-Suite-Zero JSON tables.
        """
        ids = _op_ids(arch)
        return tuple(NASLIB_OPS.index(OPS[ids[pos]]) for pos in _NASLIB_TO_STRING)

    def to_index(self, arch: Any) -> int:
        """NAS-Bench-201 index (0..15,624) of ``arch``."""
        return _index_lookup()[_op_ids(arch)]

    def to_ops(self, arch: Any) -> tuple[str, ...]:
        """The 6 operation names of ``arch`` in NB201-string edge order (see ``edges``)."""
        return tuple(OPS[i] for i in _op_ids(arch))

    def all_archs(self) -> list[str]:
        """All 15,625 canonical strings, element ``i`` being NB201 index ``i``."""
        return [_ids_to_string(ids) for ids in _index_table()]

    # ------------------------------------------------------------------ sampling
    def sample(self, n: int, random_state: Any = None) -> list[str]:
        """Draw ``n`` cells uniformly (with replacement) from the 15,625.

        Examples
        --------
        >>> NB201Space().sample(1, random_state=0)
        ['|avg_pool_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|skip_connect~1|none~2|']
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"n must be a non-negative int, got {n!r}")
        rng = _as_generator(random_state)
        draws = rng.integers(0, len(OPS), size=(int(n), 6))
        return [_ids_to_string(row) for row in draws]

    def mutate(self, arch: Any, random_state: Any = None) -> str:
        """Change the operation of exactly one edge (uniform over the 24 neighbours).

        Examples
        --------
        >>> space = NB201Space()
        >>> a = space.validate(0)
        >>> b = space.mutate(a, random_state=0)
        >>> sum(x != y for x, y in zip(space.to_ops(a), space.to_ops(b)))
        1
        """
        ids = list(_op_ids(arch))
        rng = _as_generator(random_state)
        edge = int(rng.integers(6))
        shift = int(rng.integers(1, len(OPS)))  # 1..4: never the current op
        ids[edge] = (ids[edge] + shift) % len(OPS)
        return _ids_to_string(ids)

    def encode(self, arch: Any) -> np.ndarray:
        """One-hot encoding: 6 edges (string order) x 5 ops (:data:`OPS` order), 30 floats.

        Examples
        --------
        >>> NB201Space().encode("(1, 1, 1, 1, 1, 0)").reshape(6, 5)[:, :2]
        array([[1., 0.],
               [1., 0.],
               [1., 0.],
               [1., 0.],
               [1., 0.],
               [0., 1.]])
        """
        out = np.zeros((6, len(OPS)), dtype=np.float64)
        out[np.arange(6), _op_ids(arch)] = 1.0
        return out.ravel()

    def encode_many(self, archs: list[Any]) -> np.ndarray:
        """Stack :meth:`encode` over ``archs`` into an ``(n, 30)`` array."""
        out = np.zeros((len(archs), 6 * len(OPS)), dtype=np.float64)
        for row, arch in enumerate(archs):
            out[row] = self.encode(arch)
        return out

    def encoding_names(self) -> list[str]:
        """Names of the 30 encoding columns, e.g. ``'2<-1:nor_conv_3x3'``."""
        return [f"{j}<-{i}:{op}" for j, i in EDGES for op in OPS]

    def pruned(self, arch: Any) -> str:
        """:func:`nb201_pruned`: ``arch`` with its dead edges set to ``none``."""
        return nb201_pruned(arch)

    # ------------------------------------------------------------------ graph features
    def graph_feature_names(self) -> list[str]:
        """Names of :meth:`graph_features` (see :func:`libranas.spaces._graph.path_features`)."""
        from libranas.spaces._graph import path_feature_names

        return path_feature_names(_GRAPH_OPS, 4)

    def graph_features(self, arch: Any) -> np.ndarray:
        """Graph features of the cell: op counts, input -> output paths, degrees, depths.

        The cell's nodes 0..3 are its feature maps, each non-``none`` edge an operation
        (``none`` is no connection); see :func:`libranas.spaces._graph.path_features`.

        Examples
        --------
        >>> space = NB201Space()
        >>> names = space.graph_feature_names()
        >>> cell = "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|nor_conv_1x1~2|"
        >>> f = dict(zip(names, space.graph_features(cell).tolist()))
        >>> f["n_paths"], f["max_len"], f["op_on_path:nor_conv_3x3"], f["depth:3"]
        (1.0, 2.0, 0.0, 2.0)
        """
        from libranas.spaces._graph import edge_cell_features

        edge_ops = list(zip(EDGES, self.to_ops(arch), strict=True))
        return edge_cell_features(4, edge_ops, _GRAPH_OPS, PARAM_FREE)

    # ------------------------------------------------------------------ Optuna
    def trial_choices(self) -> dict[str, tuple[str, ...]]:
        """One categorical parameter per edge, ``"edge_<to><-<from>"``, over the 5 :data:`OPS`."""
        return {f"edge_{to}<-{src}": OPS for to, src in EDGES}

    def suggest(self, trial: Any) -> str:
        """Draw a cell through an Optuna ``trial`` (one categorical per edge).

        Examples
        --------
        >>> import optuna
        >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
        >>> study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        >>> NB201Space().suggest(study.ask()).count("~")
        6
        """
        ops = [trial.suggest_categorical(k, list(v)) for k, v in self.trial_choices().items()]
        return _ids_to_string([OPS.index(op) for op in ops])

    def trial_params(self, arch: Any) -> dict[str, str]:
        """The trial parameters :meth:`suggest` gives ``arch`` (its inverse)."""
        return dict(zip(self.trial_choices(), self.to_ops(arch), strict=True))

    # ------------------------------------------------------------------ networks
    def param_count(self, arch: Any, num_classes: int | None = 10) -> int:
        """Parameters of :meth:`build` ``(arch, num_classes)`` computed analytically."""
        classes = check_num_classes(num_classes, default=10)
        return nb201_param_count(arch, classes, self.channels, self.cells_per_stage)

    def flops(
        self,
        arch: Any,
        input_shape: tuple[int, ...] | None = None,
        num_classes: int | None = None,
    ) -> float:
        """MFLOPs (multiply-accumulates, millions) of one image, computed analytically.

        ``input_shape`` ``(3, H, W)`` defaults to 32x32; see :func:`nb201_mflops`.
        """
        shape = self.default_input_shape if input_shape is None else tuple(input_shape)
        classes = check_num_classes(num_classes, default=10)
        return nb201_mflops(arch, classes, int(shape[-1]), self.channels, self.cells_per_stage)

    def task_setting(self, task: str) -> dict[str, Any]:
        """``{"num_classes", "input_shape"}`` of an NB201 task (see :data:`TASKS`)."""
        classes, res = nb201_task(task)
        return {"num_classes": classes, "input_shape": (3, res, res)}

    def second_stage_proxy(self) -> str | None:
        """SynFlow: a label-free live NB201 search returns the best of its top 20 by SynFlow.

        Chosen by ``benchmarks/zero_label_search.py`` (K on development seeds, the proxy from
        a look at the bundled tables, both declared before the held-out searches), then made
        the default by a rule declared before four new searches
        (``benchmarks/results/zero_label_search_independent.md``). Only where the search
        computes NB201's training-free search default (AZ-NAS's four proxies).

        Examples
        --------
        >>> NB201Space().second_stage_proxy()
        'synflow'
        """
        return "synflow"

    def lswag_band(self) -> tuple[float, float] | None:
        """The L-SWAG band NAS-Bench-201 stores: ``(0, 70)``, chosen by
        ``benchmarks/lswag_band.py`` on CIFAR-10 and better than all layers and than the
        paper's calibration on the held-out CIFAR-100 and ImageNet16-120, against validation
        and test accuracy (``benchmarks/results/lswag_band.md``); recorded with its
        provenance in ``libranas/spaces/data/nb201_band.json``. Only for NAS-Bench-201's own
        setting (16 channels, 5 cells per stage); None otherwise.

        Examples
        --------
        >>> NB201Space().lswag_band()
        (0.0, 70.0)
        >>> NB201Space(channels=8).lswag_band() is None
        True
        """
        if (self.channels, self.cells_per_stage) != (16, 5):
            return None
        rec = _band_record()
        return float(rec["band"][0]), float(rec["band"][1])

    def latency(self, archs: list[Any], device: str, task: str | None = None) -> np.ndarray:
        """HW-NAS-Bench latency (ms) of ``archs`` on ``device`` for ``task``'s network (default
        CIFAR-10), from the bundled NB201 table (:func:`libranas.datasets.load_nb201_table`).

        Examples
        --------
        >>> [round(float(v), 2) for v in NB201Space().latency([1], "edgegpu")]
        [6.55]
        """
        if device is None:
            raise ValueError(f"latency needs a HW-NAS-Bench device (one of {HW_DEVICES})")
        if device not in HW_DEVICES:
            raise ValueError(f"unknown HW-NAS-Bench device {device!r}; known: {HW_DEVICES}")
        key = _HW_TASK_KEYS[nb201_task("cifar10" if task is None else task)[0]]
        column = _latency_column(f"hw_{key}_{device}_latency")
        return column[[self.to_index(a) for a in archs]]

    def build(self, arch: Any, num_classes: int | None = None) -> Any:
        """Build the untrained NAS-Bench-201 network of ``arch``.

        Stem 3x3 conv (3 -> C) + BN; 3 stages of ``cells_per_stage`` cells at C, 2C, 4C
        channels separated by two residual reduction blocks (ReLU-Conv-BN 3x3 stride 2,
        ReLU-Conv-BN 3x3, shortcut 2x2 avg-pool + 1x1 conv); BN + ReLU; global average
        pooling; linear classifier. Cell edges: ``nor_conv_kxk`` = ReLU-Conv-BN (affine BN),
        ``avg_pool_3x3`` = 3x3 average pooling (stride 1, padding 1, padding excluded from
        the average), ``skip_connect`` = identity, ``none`` = zeros. Node j sums the edges
        from all nodes i < j; the cell outputs node 3.

        The network accepts any input resolution divisible by 4 (32x32 CIFAR, 16x16
        ImageNet16-120). A cell in which no path of non-``none`` edges links input to
        output still builds: it outputs zeros (the next block then sees only zeros).

        Parameters
        ----------
        arch : any accepted form
        num_classes : int, default=10
            10 (CIFAR-10), 100 (CIFAR-100) or 120 (ImageNet16-120), or any positive int.

        Returns
        -------
        torch.nn.Module

        Examples
        --------
        >>> import torch
        >>> net = NB201Space().build(0, num_classes=120)
        >>> net(torch.zeros(2, 3, 16, 16)).shape
        torch.Size([2, 120])
        """
        from libranas.spaces._ops import NB201Network

        num_classes = check_num_classes(num_classes, default=10)
        ops = self.to_ops(arch)
        return NB201Network(ops, int(num_classes), int(self.channels), int(self.cells_per_stage))
