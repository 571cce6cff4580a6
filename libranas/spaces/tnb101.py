"""The TransNAS-Bench-101 search spaces (Duan et al., CVPR 2021): micro and macro.

Both spaces share one encoder skeleton: a stem (3x3 conv, stride 2, to C/2 channels + BN,
then ReLU-Conv3x3-BN, stride 2, to C = 64 channels) followed by a sequence of modules, each
of two blocks; a module is coded 1 (plain), 2 (channels doubled), 3 (stride 2) or
4 (both), and its first block applies the change.

- ``"tnb101-micro"``: the module sequence is fixed to ``4 1 4 1 4`` (total stride 32, 512
  final channels) and the block is a searched **cell**: 4 nodes, 6 edges, each edge one of
  ``none`` / ``skip_connect`` / ``nor_conv_1x1`` / ``nor_conv_3x3`` (ReLU-Conv-BN); node
  ``j`` sums the edges from nodes ``i < j``; the edges out of the cell input carry the
  stride and width change (``skip_connect`` there is a factorized reduction). 4^6 = 4,096
  cells.
- ``"tnb101-macro"``: the block is a fixed residual block (two ReLU-Conv3x3-BN plus a
  shortcut) and the **module sequence** is searched: 4 to 6 modules, 1 to 4 of them
  downsampling (codes 3, 4) and 1 to 3 doubling the channels (codes 2, 4): 3,256 networks.

The benchmark trains these encoders with task-specific decoders. For zero-cost proxies the
networks here end with a **classification head** (global average pooling + linear), as the
benchmark's classification tasks do (``class_object``: 100 classes, ``class_scene``: 63);
dense-task decoders are not built. :meth:`TNB101MicroSpace.task_setting` gives the head
width and input shape of each task.

Resolution: the benchmark's images are 256x256 (``default_input_shape``); the networks
accept any resolution, exactly halved at every stride-2 layer when it is divisible by the
total stride (micro: 32; macro: 4 x 2^downsamplings), e.g. CIFAR-size 32x32 batches for
proxies.

Architecture forms
------------------
Micro (:class:`TNB101MicroSpace`): NASLib's tuple of 6 op ids, the key format of the
NAS-Bench-Suite-Zero TNB101-micro tables (``"(1, 0, 0, 2, 1, 0)"``), as a tuple, list,
1-D array or its string, or the benchmark's architecture string ``"64-41414-1_00_210"``
(or its cell part ``"1_00_210"``). Op ids are TransNAS-Bench-101's own: 0=none
1=skip_connect 2=nor_conv_1x1 3=nor_conv_3x3, in the edge order of the benchmark string,
1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2. (NASLib's key is formatted straight into the benchmark
string by ``convert_op_indices_micro_to_str`` in ``naslib/search_spaces/transbench101/
conversions.py``; its ``OP_NAMES``/``EDGE_LIST`` describe NASLib's own one-shot graph, not the
keys.) The parameter counts of the bundled tables confirm it: ``param_count(key, 100)``
equals the ``class_object`` table's ``params`` for every key. **Canonical form**: the
tuple of 6 Python ints.

Macro (:class:`TNB101MacroSpace`): NASLib's tuple of 6 module codes, absent modules as
trailing zeros (``(1, 2, 4, 2, 0, 0)``), as a tuple, list, 1-D array or its string (4 or 5
codes are padded with zeros), or the benchmark string ``"64-1242-basic"``. **Canonical
form**: the tuple of 6 Python ints.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from itertools import product
from typing import Any

import numpy as np

from libranas._validation import is_int
from libranas.spaces._registry import register_space
from libranas.spaces.base import SearchSpace, check_num_classes
from libranas.spaces.nb201 import _as_generator

#: micro-cell operation names indexed by TransNAS-Bench-101 / NASLib op id
OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3")
#: micro-cell edges (to_node, from_node) in key / benchmark-string order
EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
#: the fixed module sequence of the micro space's skeleton
MICRO_SKELETON: tuple[int, ...] = (4, 1, 4, 1, 4)
#: macro module code -> name (0 = no module)
MODULE_CODES: tuple[str, ...] = ("absent", "plain", "double", "down", "down+double")
#: the parameter-free micro operations (their paths carry no weights)
PARAM_FREE: tuple[str, ...] = ("skip_connect",)
#: TransNAS-Bench-101 task -> width of the head used here (classes; regression outputs or
#: per-pixel channels for the tasks whose benchmark decoder is not a classifier)
TASKS: dict[str, int] = {
    "class_object": 100,
    "class_scene": 63,
    "jigsaw": 1000,
    "room_layout": 9,
    "segmentsemantic": 17,
    "autoencoder": 3,
    "normal": 3,
}
#: the benchmark's input resolution
RESOLUTION = 256

_GRAPH_OPS: tuple[str, ...] = ("skip_connect", "nor_conv_1x1", "nor_conv_3x3")
_N_CELLS = len(OPS) ** len(EDGES)
_MICRO_STRING = re.compile(r"^(?:(\d+)-(\d+)-)?([0-3])_([0-3]{2})_([0-3]{3})$")
_MACRO_STRING = re.compile(r"^(\d+)-([0-9]+)-basic$")
_MIN_MODULES, _MAX_MODULES = 4, 6
_DOWN_RANGE, _DOUBLE_RANGE = (1, 4), (1, 3)


def _check_n(n: Any) -> int:
    if not is_int(n) or n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    return int(n)


def _int_sequence(arch: Any, what: str) -> list[Any] | None:
    """The entries of a tuple/list/1-D int array/tuple string, or None for other strings."""
    if isinstance(arch, str):
        text = arch.strip()
        if not text.startswith(("(", "[")):
            return None
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError) as exc:
            raise ValueError(f"malformed {what} string {arch!r}") from exc
        if not isinstance(value, (tuple, list)):
            raise ValueError(f"malformed {what} string {arch!r}")
        return list(value)
    if isinstance(arch, np.ndarray):
        if arch.ndim != 1:
            raise ValueError(f"a {what} array must be 1-D, got shape {arch.shape}")
        if not np.issubdtype(arch.dtype, np.integer):
            raise TypeError(f"{what} entries must be ints, got dtype {arch.dtype}")
        return [int(v) for v in arch]
    if isinstance(arch, (tuple, list)):
        return list(arch)
    raise TypeError(
        f"a {what} is a tuple of ints, its string or a benchmark string, got {type(arch).__name__}"
    )


def _check_ints(values: Sequence[Any], original: Any, what: str) -> list[int]:
    for k, value in enumerate(values):
        if not is_int(value):
            raise TypeError(
                f"{what} entries must be ints, got {type(value).__name__} {value!r} at "
                f"position {k} of {original!r}"
            )
    return [int(v) for v in values]


def _check_input_shape(input_shape: Any) -> tuple[int, int]:
    shape = tuple(input_shape)
    if len(shape) != 3 or not all(is_int(s) and s > 0 for s in shape):
        raise ValueError(f"input_shape must be (C, H, W) positive ints, got {input_shape!r}")
    if shape[0] != 3:
        raise ValueError(f"the networks take 3-channel images, got input_shape {input_shape!r}")
    return int(shape[1]), int(shape[2])


def _check_channels(channels: Any) -> int:
    if not is_int(channels) or channels < 2 or channels % 2:
        raise ValueError(
            f"channels must be an even int >= 2 (the stem's first conv has channels // 2), "
            f"got {channels!r}"
        )
    return int(channels)


def _check_blocks(name: str, value: Any) -> int:
    if not is_int(value) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


# ============================================================================ micro parsing


def _micro_ids(arch: Any) -> tuple[int, ...]:
    """The 6 op ids (key order) of a micro architecture in any accepted form."""
    if isinstance(arch, (bool, np.bool_)):
        raise TypeError("a TNB101-micro architecture cannot be a bool")
    values = _int_sequence(arch, "TNB101-micro key")
    if values is None:  # a benchmark string
        match = _MICRO_STRING.match(arch.strip())
        if match is None:
            raise ValueError(
                f"unrecognised TNB101-micro architecture string {arch!r}: expected a NASLib "
                "key like '(1, 0, 0, 2, 1, 0)' or a benchmark string like '64-41414-1_00_210'"
            )
        base, macro = match.group(1), match.group(2)
        if base is not None and (base != "64" or macro != "41414"):
            raise ValueError(f"TNB101-micro benchmark strings read '64-41414-<cell>', got {arch!r}")
        return tuple(int(ch) for ch in "".join(match.group(3, 4, 5)))
    if len(values) != len(EDGES):
        raise ValueError(
            f"a TNB101-micro cell has {len(EDGES)} edges, got {len(values)} in {arch!r}"
        )
    ids = _check_ints(values, arch, "TNB101-micro op id")
    for k, value in enumerate(ids):
        if not 0 <= value < len(OPS):
            raise ValueError(
                f"unknown TNB101-micro op id {value} on edge {EDGES[k][0]}<-{EDGES[k][1]} of "
                f"{arch!r}; valid ids are 0..3 (0=none 1=skip_connect 2=nor_conv_1x1 "
                "3=nor_conv_3x3)"
            )
    return tuple(ids)


# ============================================================================ macro parsing


def _macro_codes(arch: Any) -> tuple[int, ...]:
    """The 6 module codes (zeros trailing) of a macro architecture in any accepted form."""
    if isinstance(arch, (bool, np.bool_)):
        raise TypeError("a TNB101-macro architecture cannot be a bool")
    values = _int_sequence(arch, "TNB101-macro key")
    if values is None:
        match = _MACRO_STRING.match(arch.strip())
        if match is None:
            raise ValueError(
                f"unrecognised TNB101-macro architecture string {arch!r}: expected a NASLib "
                "key like '(1, 2, 4, 2, 0, 0)' or a benchmark string like '64-1242-basic'"
            )
        if match.group(1) != "64":
            raise ValueError(f"TNB101-macro benchmark strings start with '64-', got {arch!r}")
        values = [int(ch) for ch in match.group(2)]
        if 0 in values:
            raise ValueError(f"a TNB101-macro benchmark string has no code 0, got {arch!r}")
    codes = _check_ints(values, arch, "TNB101-macro module code")
    if not _MIN_MODULES <= len(codes) <= _MAX_MODULES:
        raise ValueError(
            f"a TNB101-macro key holds {_MAX_MODULES} module codes (4 to 6 modules, absent "
            f"ones as trailing zeros), got {len(codes)} in {arch!r}"
        )
    for k, code in enumerate(codes):
        if not 0 <= code < len(MODULE_CODES):
            raise ValueError(
                f"unknown TNB101-macro module code {code} at position {k} of {arch!r}; valid "
                "codes are 0..4 (0=absent 1=plain 2=double channels 3=stride 2 4=both)"
            )
    codes += [0] * (_MAX_MODULES - len(codes))
    n = codes.index(0) if 0 in codes else _MAX_MODULES
    if any(codes[n:]):
        raise ValueError(
            f"absent modules (code 0) must come last, got {tuple(codes)} from {arch!r}"
        )
    if n < _MIN_MODULES:
        raise ValueError(
            f"a TNB101-macro network has {_MIN_MODULES} to {_MAX_MODULES} modules, got {n} "
            f"in {arch!r}"
        )
    down = sum(c in (3, 4) for c in codes)
    double = sum(c in (2, 4) for c in codes)
    if not _DOWN_RANGE[0] <= down <= _DOWN_RANGE[1]:
        raise ValueError(
            f"a TNB101-macro network downsamples (codes 3, 4) {_DOWN_RANGE[0]} to "
            f"{_DOWN_RANGE[1]} times, got {down} in {arch!r}"
        )
    if not _DOUBLE_RANGE[0] <= double <= _DOUBLE_RANGE[1]:
        raise ValueError(
            f"a TNB101-macro network doubles its channels (codes 2, 4) {_DOUBLE_RANGE[0]} to "
            f"{_DOUBLE_RANGE[1]} times, got {double} in {arch!r}"
        )
    return tuple(codes)


def _try_macro(codes: Sequence[int]) -> tuple[int, ...] | None:
    try:
        return _macro_codes(tuple(codes))
    except ValueError:
        return None


@lru_cache(maxsize=1)
def _all_macro() -> tuple[tuple[int, ...], ...]:
    found = []
    for n in range(_MIN_MODULES, _MAX_MODULES + 1):
        for codes in product(range(1, 5), repeat=n):
            key = _try_macro(codes)
            if key is not None:
                found.append(key)
    return tuple(sorted(found))


# ============================================================================ sizes


def _spatial(h: int, stride: int) -> int:
    return -(-h // stride)  # stride-2 convs with padding round up


def _network_counts(
    module_codes: Sequence[int],
    block: Callable[[int, int, int], tuple[int, int]],
    channels: int,
    blocks_per_module: int,
    num_classes: int,
    h: int,
    w: int,
) -> tuple[int, int]:
    """(parameters, MACs of one h x w image) of the encoder + head.

    ``block(c_in, c_out, stride)`` gives (parameters, MACs per output position) of a block.
    """
    half = channels // 2
    h, w = _spatial(h, 2), _spatial(w, 2)
    params = 27 * half + 2 * half
    macs = 27 * half * h * w
    h, w = _spatial(h, 2), _spatial(w, 2)
    params += 9 * half * channels + 2 * channels
    macs += 9 * half * channels * h * w
    c = channels
    for code in module_codes:
        c_out = 2 * c if code in (2, 4) else c
        stride = 2 if code in (3, 4) else 1
        h, w = _spatial(h, stride), _spatial(w, stride)
        for k in range(blocks_per_module):
            p, m = block(c, c_out, stride) if k == 0 else block(c_out, c_out, 1)
            params += p
            macs += m * h * w
        c = c_out
    return params + c * num_classes + num_classes, macs + c * num_classes


def _micro_block(ids: Sequence[int]) -> Callable[[int, int, int], tuple[int, int]]:
    def counts(c_in: int, c_out: int, stride: int) -> tuple[int, int]:
        params = macs = 0
        for op, (_to, src) in zip(ids, EDGES, strict=True):
            a = c_in if src == 0 else c_out
            changes = src == 0 and (stride != 1 or c_in != c_out)
            name = OPS[op]
            if name == "nor_conv_3x3":
                params, macs = params + 9 * a * c_out + 2 * c_out, macs + 9 * a * c_out
            elif name == "nor_conv_1x1" or (name == "skip_connect" and changes):
                params, macs = params + a * c_out + 2 * c_out, macs + a * c_out
        return params, macs

    return counts


def _basic_block(c_in: int, c_out: int, stride: int) -> tuple[int, int]:
    params = 9 * c_in * c_out + 2 * c_out + 9 * c_out * c_out + 2 * c_out
    macs = 9 * c_in * c_out + 9 * c_out * c_out
    if stride != 1 or c_in != c_out:
        params, macs = params + c_in * c_out + 2 * c_out, macs + c_in * c_out
    return params, macs


def _task_setting(task: str) -> dict[str, Any]:
    key = task.lower() if isinstance(task, str) else task
    if key not in TASKS:
        raise ValueError(f"unknown TransNAS-Bench-101 task {task!r}; known: {sorted(TASKS)}")
    return {"num_classes": TASKS[key], "input_shape": (3, RESOLUTION, RESOLUTION)}


# ============================================================================ micro space


@register_space("tnb101-micro")
class TNB101MicroSpace(SearchSpace):
    """TransNAS-Bench-101 micro: 4,096 cells of 6 edges x 4 operations in a fixed encoder.

    Parameters
    ----------
    channels : int, default=64
        Channels after the stem (the benchmark's 64); the three code-4 modules double it
        to 8x. Must be even.
    cells_per_module : int, default=2
        Cells per module (the benchmark: 2, i.e. 10 cells).

    Notes
    -----
    The canonical architecture is NASLib's 6-tuple of op ids (see the module docstring).
    ``random_state`` arguments accept None, an int seed, a :class:`numpy.random.Generator`
    (advanced in place) or a legacy ``RandomState``.

    Examples
    --------
    >>> from libranas.spaces import get_space
    >>> space = get_space("tnb101-micro")
    >>> space.validate("64-41414-1_00_210")
    (1, 0, 0, 2, 1, 0)
    >>> space.to_ops((1, 0, 0, 2, 1, 0))
    ('skip_connect', 'none', 'none', 'nor_conv_1x1', 'skip_connect', 'none')
    >>> space.param_count((1, 0, 0, 2, 1, 0), num_classes=100)  # class_object table: 0.929668 M
    929668
    """

    name = "tnb101-micro"
    default_input_shape = (3, RESOLUTION, RESOLUTION)  # the benchmark's images
    ops = OPS
    edges = EDGES
    n_archs = _N_CELLS

    def __init__(self, channels: int = 64, cells_per_module: int = 2) -> None:
        self.channels = _check_channels(channels)
        self.cells_per_module = _check_blocks("cells_per_module", cells_per_module)

    def __repr__(self) -> str:
        return (
            f"TNB101MicroSpace(channels={self.channels}, cells_per_module={self.cells_per_module})"
        )

    # ------------------------------------------------------------------ conversions
    def validate(self, arch: Any) -> tuple[int, ...]:
        """Return the canonical 6-tuple of op ids of ``arch``.

        Raises
        ------
        ValueError
            Wrong number of edges, unknown op id, malformed string.
        TypeError
            ``arch`` or an entry of an unsupported type.

        Examples
        --------
        >>> TNB101MicroSpace().validate([3, 3, 3, 3, 3, 3])
        (3, 3, 3, 3, 3, 3)
        >>> TNB101MicroSpace().validate((1, 0, 0, 2, 1, 4))
        Traceback (most recent call last):
        ...
        ValueError: unknown TNB101-micro op id 4 on edge 3<-2 of (1, 0, 0, 2, 1, 4); valid ids are 0..3 (0=none 1=skip_connect 2=nor_conv_1x1 3=nor_conv_3x3)
        """  # noqa: E501
        return _micro_ids(arch)

    def to_ops(self, arch: Any) -> tuple[str, ...]:
        """The 6 operation names of ``arch`` in :data:`EDGES` order."""
        return tuple(OPS[i] for i in _micro_ids(arch))

    def to_string(self, arch: Any) -> str:
        """The benchmark's architecture string, e.g. ``'64-41414-1_00_210'``."""
        d = "".join(str(i) for i in _micro_ids(arch))
        return f"64-41414-{d[0]}_{d[1:3]}_{d[3:]}"

    def all_archs(self) -> list[tuple[int, ...]]:
        """All 4,096 cells (itertools.product order over the 6 edges)."""
        return [tuple(ids) for ids in product(range(len(OPS)), repeat=len(EDGES))]

    def task_setting(self, task: str) -> dict[str, Any]:
        """``{"num_classes", "input_shape"}`` of a TransNAS-Bench-101 task (:data:`TASKS`).

        ``num_classes`` is the width of the classification head used here: the classes of
        ``class_object`` / ``class_scene`` / ``jigsaw`` (whose benchmark decoder reads the 9
        tiles of a jigsaw at once), the 9 outputs of ``room_layout``, the per-pixel channels
        of the dense tasks.
        """
        return _task_setting(task)

    # ------------------------------------------------------------------ sampling
    def sample(self, n: int, random_state: Any = None) -> list[tuple[int, ...]]:
        """Draw ``n`` cells uniformly (with replacement) from the 4,096.

        Examples
        --------
        >>> s = TNB101MicroSpace()
        >>> s.sample(2, random_state=0) == s.sample(2, random_state=0)
        True
        """
        n = _check_n(n)
        rng = _as_generator(random_state)
        draws = rng.integers(0, len(OPS), size=(n, len(EDGES)))
        return [tuple(int(v) for v in row) for row in draws]

    def mutate(self, arch: Any, random_state: Any = None) -> tuple[int, ...]:
        """Change the operation of exactly one edge (uniform over the 18 neighbours).

        Examples
        --------
        >>> a, b = (1, 0, 0, 2, 1, 0), TNB101MicroSpace().mutate((1, 0, 0, 2, 1, 0), 0)
        >>> sum(x != y for x, y in zip(a, b))
        1
        """
        ids = list(_micro_ids(arch))
        rng = _as_generator(random_state)
        edge = int(rng.integers(len(EDGES)))
        ids[edge] = (ids[edge] + int(rng.integers(1, len(OPS)))) % len(OPS)
        return tuple(ids)

    # ------------------------------------------------------------------ encodings
    def encode(self, arch: Any) -> np.ndarray:
        """One-hot encoding: 6 edges (:data:`EDGES` order) x 4 ops (:data:`OPS`), 24 floats."""
        out = np.zeros((len(EDGES), len(OPS)), dtype=np.float64)
        out[np.arange(len(EDGES)), _micro_ids(arch)] = 1.0
        return out.ravel()

    def encoding_names(self) -> list[str]:
        """Names of the 24 encoding columns, e.g. ``'2<-1:nor_conv_3x3'``."""
        return [f"{j}<-{i}:{op}" for j, i in EDGES for op in OPS]

    def graph_feature_names(self) -> list[str]:
        """Names of :meth:`graph_features` (see :func:`libranas.spaces._graph.path_features`)."""
        from libranas.spaces._graph import path_feature_names

        return path_feature_names(_GRAPH_OPS, 4)

    def graph_features(self, arch: Any) -> np.ndarray:
        """Graph features of the cell: op counts, input -> output paths, degrees, depths.

        The cell's nodes 0..3 are its feature maps, each non-``none`` edge an operation
        (``none`` is no connection).

        Examples
        --------
        >>> space = TNB101MicroSpace()
        >>> x = space.graph_features((1, 0, 0, 2, 1, 0)).tolist()
        >>> f = dict(zip(space.graph_feature_names(), x))
        >>> f["n_paths"], f["min_len"], f["max_len"], f["param_free_paths"]
        (2.0, 1.0, 2.0, 1.0)
        """
        from libranas.spaces._graph import edge_cell_features

        edge_ops = list(zip(EDGES, self.to_ops(arch), strict=True))
        return edge_cell_features(4, edge_ops, _GRAPH_OPS, PARAM_FREE)

    # ------------------------------------------------------------------ Optuna
    def trial_choices(self) -> dict[str, tuple[str, ...]]:
        """One categorical parameter per edge, ``"edge_<to><-<from>"``, over the 4 :data:`OPS`."""
        return {f"edge_{to}<-{src}": OPS for to, src in EDGES}

    def suggest(self, trial: Any) -> tuple[int, ...]:
        """Draw a cell through an Optuna ``trial`` (one categorical per edge).

        Examples
        --------
        >>> import optuna
        >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
        >>> study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        >>> len(TNB101MicroSpace().suggest(study.ask()))
        6
        """
        ops = [trial.suggest_categorical(k, list(v)) for k, v in self.trial_choices().items()]
        return tuple(OPS.index(op) for op in ops)

    def trial_params(self, arch: Any) -> dict[str, str]:
        """The trial parameters :meth:`suggest` gives ``arch`` (its inverse)."""
        return dict(zip(self.trial_choices(), self.to_ops(arch), strict=True))

    # ------------------------------------------------------------------ networks
    def _counts(self, arch: Any, num_classes: int | None, h: int, w: int) -> tuple[int, int]:
        classes = check_num_classes(num_classes, default=10)
        block = _micro_block(_micro_ids(arch))
        return _network_counts(
            MICRO_SKELETON, block, self.channels, self.cells_per_module, classes, h, w
        )

    def param_count(self, arch: Any, num_classes: int | None = None) -> int:
        """Parameters of :meth:`build` ``(arch, num_classes)``, computed analytically.

        With ``num_classes=100`` this is the ``params`` column (in millions) of the
        NAS-Bench-Suite-Zero ``class_object`` table; ``63``: ``class_scene``.
        """
        return self._counts(arch, num_classes, RESOLUTION, RESOLUTION)[0]

    def flops(
        self,
        arch: Any,
        input_shape: tuple[int, ...] | None = None,
        num_classes: int | None = None,
    ) -> float:
        """MFLOPs (multiply-accumulates of convolutions and the head, millions) of one image.

        Computed analytically (the ``flops`` proxy's rule), at ``input_shape`` ``(3, H, W)``
        (default 256x256, the benchmark's). The NAS-Bench-Suite-Zero tables, counted at
        256x256 with a counter that also charges normalisation and activations, are about
        2% higher.

        Examples
        --------
        >>> round(TNB101MicroSpace().flops((1, 0, 0, 2, 1, 0), num_classes=100), 2)
        257.48
        """
        shape = self.default_input_shape if input_shape is None else input_shape
        return self._counts(arch, num_classes, *_check_input_shape(shape))[1] / 1e6

    def build(self, arch: Any, num_classes: int | None = None) -> Any:
        """Build the untrained TransNAS-Bench-101 micro encoder of ``arch`` with a
        classification head.

        Stem (3x3 conv stride 2 to C/2 + BN; ReLU-Conv3x3-BN stride 2 to C); modules
        ``4 1 4 1 4`` of ``cells_per_module`` cells (the first cell of a code-4 module
        halves the resolution and doubles the width on its edges out of the input, a
        ``skip_connect`` there being a factorized reduction, ``none`` zeros of the new
        shape); global average pooling; linear. Kaiming-normal (fan-out) convolutions, as
        the benchmark initialises them.

        Parameters
        ----------
        arch : any accepted form
        num_classes : int, default=10
            Width of the head (see :meth:`task_setting` for the benchmark's tasks).

        Returns
        -------
        torch.nn.Module

        Examples
        --------
        >>> import torch
        >>> net = TNB101MicroSpace(channels=8).build("64-41414-3_33_333")
        >>> net(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 10])
        """
        from libranas.spaces._ops_tnb101 import TNB101Network

        classes = check_num_classes(num_classes, default=10)
        return TNB101Network(
            MICRO_SKELETON, self.to_ops(arch), classes, self.channels, self.cells_per_module
        )


# ============================================================================ macro space


@register_space("tnb101-macro")
class TNB101MacroSpace(SearchSpace):
    """TransNAS-Bench-101 macro: 3,256 module sequences of residual blocks.

    Parameters
    ----------
    channels : int, default=64
        Channels after the stem (the benchmark's 64). Must be even.
    blocks_per_module : int, default=2
        Residual blocks per module (the benchmark: 2).

    Notes
    -----
    The canonical architecture is NASLib's 6-tuple of module codes, zeros trailing (see
    the module docstring).

    Examples
    --------
    >>> from libranas.spaces import get_space
    >>> space = get_space("tnb101-macro")
    >>> space.validate("64-1242-basic")
    (1, 2, 4, 2, 0, 0)
    >>> space.to_string((1, 2, 4, 2, 0, 0))
    '64-1242-basic'
    >>> len(space.all_archs())
    3256
    >>> space.validate((1, 1, 1, 2, 0, 0))
    Traceback (most recent call last):
    ...
    ValueError: a TNB101-macro network downsamples (codes 3, 4) 1 to 4 times, got 0 in (1, 1, 1, 2, 0, 0)
    """  # noqa: E501

    name = "tnb101-macro"
    default_input_shape = (3, RESOLUTION, RESOLUTION)  # the benchmark's images
    module_codes = MODULE_CODES
    n_archs = 3256

    def __init__(self, channels: int = 64, blocks_per_module: int = 2) -> None:
        self.channels = _check_channels(channels)
        self.blocks_per_module = _check_blocks("blocks_per_module", blocks_per_module)

    def __repr__(self) -> str:
        return (
            f"TNB101MacroSpace(channels={self.channels}, "
            f"blocks_per_module={self.blocks_per_module})"
        )

    # ------------------------------------------------------------------ conversions
    def validate(self, arch: Any) -> tuple[int, ...]:
        """Return the canonical 6-tuple of module codes of ``arch``.

        Raises
        ------
        ValueError
            More than 6 or fewer than 4 codes, an unknown code, a code 0 before a module,
            fewer than 4 modules, downsampling count outside 1..4, doubling count outside
            1..3, malformed string.
        TypeError
            ``arch`` or an entry of an unsupported type.

        Examples
        --------
        >>> TNB101MacroSpace().validate([1, 2, 4, 2])
        (1, 2, 4, 2, 0, 0)
        >>> TNB101MacroSpace().validate((1, 2, 0, 2, 4, 0))
        Traceback (most recent call last):
        ...
        ValueError: absent modules (code 0) must come last, got (1, 2, 0, 2, 4, 0) from (1, 2, 0, 2, 4, 0)
        """  # noqa: E501
        return _macro_codes(arch)

    def modules(self, arch: Any) -> tuple[int, ...]:
        """The codes of the modules present (zeros dropped)."""
        return tuple(c for c in _macro_codes(arch) if c)

    def to_string(self, arch: Any) -> str:
        """The benchmark's architecture string, e.g. ``'64-1242-basic'``."""
        return "64-" + "".join(str(c) for c in self.modules(arch)) + "-basic"

    def all_archs(self) -> list[tuple[int, ...]]:
        """All 3,256 networks, sorted."""
        return list(_all_macro())

    def task_setting(self, task: str) -> dict[str, Any]:
        """``{"num_classes", "input_shape"}`` of a TransNAS-Bench-101 task (:data:`TASKS`);
        see :meth:`TNB101MicroSpace.task_setting`."""
        return _task_setting(task)

    # ------------------------------------------------------------------ sampling
    def sample(self, n: int, random_state: Any = None) -> list[tuple[int, ...]]:
        """Draw ``n`` networks uniformly (with replacement) from the 3,256.

        (NASLib's sampler draws the number of modules, downsamplings and doublings
        uniformly first, which is not uniform over networks.)

        Examples
        --------
        >>> s = TNB101MacroSpace()
        >>> s.sample(2, random_state=0) == s.sample(2, random_state=0)
        True
        """
        n = _check_n(n)
        rng = _as_generator(random_state)
        archs = _all_macro()
        return [archs[int(i)] for i in rng.integers(0, len(archs), size=n)]

    def neighbours(self, arch: Any) -> list[tuple[int, ...]]:
        """Valid networks one decision away: one module's code changed, one module removed
        or one module inserted (anywhere, any code).

        Examples
        --------
        >>> (1, 2, 4, 2, 1, 0) in TNB101MacroSpace().neighbours((1, 2, 4, 2, 0, 0))
        True
        """
        key = _macro_codes(arch)
        mods = [c for c in key if c]
        candidates: list[list[int]] = []
        for i, code in enumerate(mods):
            candidates += [[*mods[:i], c, *mods[i + 1 :]] for c in range(1, 5) if c != code]
            candidates.append(mods[:i] + mods[i + 1 :])
        for i in range(len(mods) + 1):
            candidates += [[*mods[:i], c, *mods[i:]] for c in range(1, 5)]
        found = {
            k
            for k in (_try_macro(c) for c in candidates if len(c) <= _MAX_MODULES)
            if k is not None
        }
        found.discard(key)
        return sorted(found)

    def mutate(self, arch: Any, random_state: Any = None) -> tuple[int, ...]:
        """Change one decision, uniformly over :meth:`neighbours`.

        Examples
        --------
        >>> s = TNB101MacroSpace()
        >>> s.mutate((1, 2, 4, 2, 0, 0), random_state=0) in s.neighbours((1, 2, 4, 2, 0, 0))
        True
        """
        options = self.neighbours(arch)
        rng = _as_generator(random_state)
        return options[int(rng.integers(len(options)))]

    # ------------------------------------------------------------------ encodings
    def encode(self, arch: Any) -> np.ndarray:
        """One-hot of the code at each of the 6 positions (:data:`MODULE_CODES`): 30 floats."""
        out = np.zeros((_MAX_MODULES, len(MODULE_CODES)), dtype=np.float64)
        out[np.arange(_MAX_MODULES), _macro_codes(arch)] = 1.0
        return out.ravel()

    def encoding_names(self) -> list[str]:
        """Names of the 30 encoding columns, e.g. ``'module2:down+double'``."""
        return [f"module{i}:{name}" for i in range(_MAX_MODULES) for name in MODULE_CODES]

    def graph_feature_names(self) -> list[str]:
        """Names of :meth:`graph_features` (see there)."""
        names = ["n_modules", "n_down", "n_double", "n_projection"]
        names += ["first_down", "last_down", "first_double", "last_double"]
        names += ["final_width", "final_stride", "conv_layers", "rel_params", "rel_macs"]
        names += [f"modules_at_res:{k}" for k in range(_DOWN_RANGE[1] + 1)]
        names += [f"modules_at_width:{2**k}" for k in range(_DOUBLE_RANGE[1] + 1)]
        names += [f"width:{i}" for i in range(_MAX_MODULES)]
        names += [f"res:{i}" for i in range(_MAX_MODULES)]
        return names

    def graph_features(self, arch: Any) -> np.ndarray:
        """Depth, width and downsampling layout of the network, 34 floats.

        - ``n_modules``, ``n_down`` (codes 3, 4), ``n_double`` (codes 2, 4),
          ``n_projection`` (modules whose first block has a projection shortcut);
        - positions (0-based) of the first / last downsampling and doubling module;
        - ``final_width`` (channel multiplier, 2^n_double), ``final_stride``
          (4 x 2^n_down), ``conv_layers`` (3x3 convolutions on the main path, stem
          included), ``rel_params`` (sum over modules of width^2, proportional to their
          weights) and ``rel_macs`` (sum of width^2 / 4^downsamplings so far, proportional to
          their compute);
        - modules at each resolution level (0..4 downsamplings so far) and at each width
          (1, 2, 4, 8);
        - per position: ``width:i`` (multiplier after module i, 0 when absent) and
          ``res:i`` (downsamplings so far, -1 when absent).

        Examples
        --------
        >>> s = TNB101MacroSpace()
        >>> f = dict(zip(s.graph_feature_names(), s.graph_features((1, 2, 4, 2, 0, 0)).tolist()))
        >>> f["n_down"], f["first_double"], f["final_width"], f["final_stride"], f["width:2"]
        (1.0, 1.0, 8.0, 8.0, 4.0)
        """
        mods = self.modules(arch)
        down = [i for i, c in enumerate(mods) if c in (3, 4)]
        double = [i for i, c in enumerate(mods) if c in (2, 4)]
        widths: list[int] = []
        levels: list[int] = []
        width = level = 0
        for c in mods:
            width += c in (2, 4)
            level += c in (3, 4)
            widths.append(2**width)
            levels.append(level)
        f = [float(len(mods)), float(len(down)), float(len(double))]
        f.append(float(sum(c != 1 for c in mods)))
        f += [float(down[0]), float(down[-1]), float(double[0]), float(double[-1])]
        f += [float(2 ** len(double)), float(4 * 2 ** len(down))]
        f.append(float(2 + 2 * self.blocks_per_module * len(mods)))
        f.append(float(sum(w * w for w in widths)))
        f.append(float(sum(w * w / 4**r for w, r in zip(widths, levels, strict=True))))
        f += [float(levels.count(k)) for k in range(_DOWN_RANGE[1] + 1)]
        f += [float(widths.count(2**k)) for k in range(_DOUBLE_RANGE[1] + 1)]
        pad = _MAX_MODULES - len(mods)
        f += [float(w) for w in widths] + [0.0] * pad
        f += [float(r) for r in levels] + [-1.0] * pad
        return np.array(f, dtype=np.float64)

    # ------------------------------------------------------------------ Optuna
    def trial_choices(self) -> dict[str, tuple[int, ...]]:
        """``"n_modules"`` over (4, 5, 6) and ``"module_<i>"`` over the codes 1..4."""
        choices: dict[str, tuple[int, ...]] = {"n_modules": (4, 5, 6)}
        choices.update({f"module_{i}": (1, 2, 3, 4) for i in range(_MAX_MODULES)})
        return choices

    def suggest(self, trial: Any) -> tuple[int, ...]:
        """Draw a network through an Optuna ``trial``, repaired when invalid.

        ``n_modules`` first, then ``module_<i>`` for the ``i < n_modules`` present
        (define-by-run). A draw outside the benchmark's limits is repaired
        deterministically: without downsampling the last module also downsamples; with more
        than 4, the last ones stop downsampling; the same for channel doubling (at least 1,
        at most 3). Valid draws are kept, so :meth:`trial_params` is an exact inverse.

        Examples
        --------
        >>> import optuna
        >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
        >>> study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        >>> s = TNB101MacroSpace()
        >>> arch = s.suggest(study.ask())
        >>> s.validate(arch) == arch
        True
        """
        choices = self.trial_choices()
        n = int(trial.suggest_categorical("n_modules", list(choices["n_modules"])))
        codes = [
            int(trial.suggest_categorical(f"module_{i}", list(choices[f"module_{i}"])))
            for i in range(n)
        ]
        return _repair_macro(codes)

    def trial_params(self, arch: Any) -> dict[str, int]:
        """The trial parameters of ``arch`` (inverse of :meth:`suggest`)."""
        mods = self.modules(arch)
        params = {"n_modules": len(mods)}
        params.update({f"module_{i}": c for i, c in enumerate(mods)})
        return params

    # ------------------------------------------------------------------ networks
    def _counts(self, arch: Any, num_classes: int | None, h: int, w: int) -> tuple[int, int]:
        classes = check_num_classes(num_classes, default=10)
        return _network_counts(
            self.modules(arch), _basic_block, self.channels, self.blocks_per_module, classes, h, w
        )

    def param_count(self, arch: Any, num_classes: int | None = None) -> int:
        """Parameters of :meth:`build` ``(arch, num_classes)``, computed analytically.

        Examples
        --------
        >>> TNB101MacroSpace().param_count((1, 2, 4, 2, 0, 0), num_classes=100)
        11237764
        """
        return self._counts(arch, num_classes, RESOLUTION, RESOLUTION)[0]

    def flops(
        self,
        arch: Any,
        input_shape: tuple[int, ...] | None = None,
        num_classes: int | None = None,
    ) -> float:
        """MFLOPs (multiply-accumulates of convolutions and the head, millions) of one image,
        computed analytically at ``input_shape`` ``(3, H, W)`` (default 256x256)."""
        shape = self.default_input_shape if input_shape is None else input_shape
        return self._counts(arch, num_classes, *_check_input_shape(shape))[1] / 1e6

    def build(self, arch: Any, num_classes: int | None = None) -> Any:
        """Build the untrained TransNAS-Bench-101 macro encoder of ``arch`` with a
        classification head.

        Stem (3x3 conv stride 2 to C/2 + BN; ReLU-Conv3x3-BN stride 2 to C); one module of
        ``blocks_per_module`` residual blocks per code (the first block of a module applies
        its stride and width change, with a 1x1 conv + BN shortcut); global average pooling;
        linear. Kaiming-normal (fan-out) convolutions, as the benchmark initialises them.

        Examples
        --------
        >>> import torch
        >>> net = TNB101MacroSpace(channels=8).build((1, 2, 4, 2, 0, 0), num_classes=3)
        >>> net(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 3])
        """
        from libranas.spaces._ops_tnb101 import TNB101Network

        classes = check_num_classes(num_classes, default=10)
        return TNB101Network(
            self.modules(arch), None, classes, self.channels, self.blocks_per_module
        )


def _repair_macro(codes: Sequence[int]) -> tuple[int, ...]:
    """A valid canonical key from 4-6 codes in 1..4 (see :meth:`TNB101MacroSpace.suggest`)."""
    mods = list(codes)
    for bit, (low, high) in ((2, _DOWN_RANGE), (1, _DOUBLE_RANGE)):
        has = [((c - 1) & bit) != 0 for c in mods]  # bit 2: downsampling, bit 1: doubling
        if sum(has) < low:
            mods[-1] += bit
        for i in reversed(range(len(mods))):
            if sum(((c - 1) & bit) != 0 for c in mods) <= high:
                break
            if has[i]:
                mods[i] -= bit
    return _macro_codes(mods)
