"""The NAS-Bench-101 search space (Ying et al., ICML 2019).

A cell is a DAG of at most 7 vertices and at most 9 edges: vertex 0 is the input, the last
vertex the output, every other vertex one of three operations (``conv3x3-bn-relu``,
``conv1x1-bn-relu``, ``maxpool3x3``). The cell is repeated in the fixed NAS-Bench-101
skeleton (see :meth:`NB101Space.build`). NAS-Bench-101 holds 423,624 distinct cells.

Architecture forms
------------------
:meth:`NB101Space.validate` accepts

- **NASLib's key**, the key format of the NAS-Bench-Suite-Zero NB101 table: a tuple of
  ``n * n + n`` ints, the ``n x n`` adjacency matrix row-major followed by the ``n`` op
  codes (``n = 7``: 56 ints), as a tuple, list or 1-D array, or as its string
  ``"(0, 1, 1, ...)"`` (the table's JSON keys). NASLib's op codes are
  0=input 1=output 2=maxpool3x3 3=conv1x1-bn-relu 4=conv3x3-bn-relu
  (``all_ops`` of ``naslib/search_spaces/nasbench101/conversions.py``);
- a **spec** ``(matrix, ops)`` with op names (as NAS-Bench-101's ``ModelSpec``), or codes,
  as a pair, a mapping ``{"matrix": ..., "ops": ...}`` or an object with ``matrix`` and
  ``ops`` attributes.

Entry ``(i, j)`` of the matrix is 1 when vertex ``i`` feeds vertex ``j``; only ``i < j`` is
allowed (vertices in topological order).

Pruning and canonical form
--------------------------
As in NAS-Bench-101, vertices that lie on no input -> output path are removed ("module spec
pruning"): they do not change the network's function. A cell is valid when, after pruning,
a path from input to output exists and at most 9 edges remain. The **canonical form** is
NASLib's key of the pruned spec: a tuple of ``n * n + n`` Python ints, ``n`` being the
number of vertices left (2 to 7). A key whose vertices all lie on some input -> output path
is its own canonical form; ``str(canonical)`` is then the table key.

Two specs that are the same graph up to a renumbering of the intermediate vertices are
the same NAS-Bench-101 cell but have different keys here (no isomorphism hashing).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any

import numpy as np

from libranas._validation import is_int
from libranas.spaces._registry import register_space
from libranas.spaces.base import SearchSpace, check_num_classes
from libranas.spaces.nb201 import _as_generator

#: operations of the intermediate vertices (the order of the one-hot encoding)
OPS: tuple[str, ...] = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
#: vertex labels indexed by NASLib op code
NASLIB_OPS: tuple[str, ...] = (
    "input",
    "output",
    "maxpool3x3",
    "conv1x1-bn-relu",
    "conv3x3-bn-relu",
)
#: the parameter-free operations (their paths carry no weights)
PARAM_FREE: tuple[str, ...] = ("maxpool3x3",)
#: most vertices and edges of a NAS-Bench-101 cell
MAX_VERTICES = 7
MAX_EDGES = 9
#: label of the edges into the output vertex (a concatenation, not an operation)
WIRE = "wire"

_KEY_LENGTHS = {n * n + n: n for n in range(2, MAX_VERTICES + 1)}
#: the 21 candidate edges (i, j), i < j, of a 7-vertex cell in row-major order
_PAIRS: tuple[tuple[int, int], ...] = tuple(combinations(range(MAX_VERTICES), 2))

Spec = tuple[np.ndarray, list[str]]


# ============================================================================ parsing


def _op_name(op: Any, vertex: int, original: Any) -> str:
    """NASLib code or name of vertex ``vertex`` -> name (checked against NASLIB_OPS)."""
    if isinstance(op, str):
        if op not in NASLIB_OPS:
            raise ValueError(
                f"unknown NB101 operation {op!r} at vertex {vertex} of {original!r}; "
                f"known: {list(NASLIB_OPS)}"
            )
        return op
    if not is_int(op):
        raise TypeError(
            f"NB101 op at vertex {vertex} must be a name or a NASLib code, got "
            f"{type(op).__name__} {op!r}"
        )
    if not 0 <= op < len(NASLIB_OPS):
        codes = " ".join(f"{k}={name}" for k, name in enumerate(NASLIB_OPS))
        raise ValueError(
            f"unknown NASLib NB101 op code {int(op)} at vertex {vertex} of {original!r}; "
            f"valid codes are 0..{len(NASLIB_OPS) - 1} ({codes})"
        )
    return NASLIB_OPS[int(op)]


def _check_spec(matrix: Any, ops: Any, original: Any) -> Spec:
    """Adjacency matrix (n x n, 0/1, strictly upper triangular) and op names, checked."""
    if isinstance(matrix, (str, bytes)):
        raise TypeError(f"an NB101 adjacency matrix must be a nested sequence, got {matrix!r}")
    try:
        array = np.asarray(matrix)
    except ValueError as exc:  # ragged rows
        raise ValueError(f"the NB101 adjacency matrix of {original!r} is not square") from exc
    if array.ndim != 2 or array.shape[0] != array.shape[1]:
        raise ValueError(
            f"the NB101 adjacency matrix must be square (n x n), got shape {array.shape}"
        )
    n = array.shape[0]
    if not 2 <= n <= MAX_VERTICES:
        raise ValueError(
            f"an NB101 cell has 2 to {MAX_VERTICES} vertices, got a {n} x {n} adjacency matrix"
        )
    if array.dtype == bool:
        array = array.astype(np.int64)
    if not (np.issubdtype(array.dtype, np.integer) or array.dtype == object):
        raise TypeError(f"NB101 adjacency entries must be 0/1 ints, got dtype {array.dtype}")
    out = np.zeros((n, n), dtype=np.int64)
    for i in range(n):
        for j in range(n):
            value = array[i, j]
            value = value.item() if isinstance(value, np.generic) else value
            if not (is_int(value) or isinstance(value, (bool, np.bool_))) or value not in (0, 1):
                raise ValueError(
                    f"NB101 adjacency entries must be 0 or 1, got {value!r} at ({i}, {j})"
                )
            if value and i >= j:
                raise ValueError(
                    f"NB101 adjacency entry ({i}, {j}) is 1 but only entries above the diagonal "
                    "(i < j) may be: the cell must be a DAG with its vertices in topological "
                    "order"
                )
            out[i, j] = int(value)
    if isinstance(ops, (str, bytes)) or not isinstance(ops, (Sequence, np.ndarray)):
        raise TypeError(f"NB101 ops must be a sequence of {n} names or codes, got {ops!r}")
    if len(ops) != n:
        raise ValueError(f"an NB101 spec with {n} vertices needs {n} ops, got {len(ops)}")
    names = [_op_name(op, v, original) for v, op in enumerate(ops)]
    if names[0] != "input":
        raise ValueError(f"vertex 0 of an NB101 cell must be the input, got {names[0]!r}")
    if names[-1] != "output":
        raise ValueError(
            f"the last vertex ({n - 1}) of an NB101 cell must be the output, got {names[-1]!r}"
        )
    for v in range(1, n - 1):
        if names[v] not in OPS:
            raise ValueError(
                f"intermediate vertex {v} of an NB101 cell has op {names[v]!r}; it must be one "
                f"of {list(OPS)}"
            )
    return out, names


def _parse_key(values: Sequence[Any], original: Any) -> Spec:
    if len(values) not in _KEY_LENGTHS:
        raise ValueError(
            "a NASLib NB101 key holds n * n + n ints (the n x n adjacency matrix row-major, "
            f"then n op codes; 56 for 7 vertices), got {len(values)} in {original!r}"
        )
    n = _KEY_LENGTHS[len(values)]
    for k, value in enumerate(values):
        if not is_int(value):
            raise TypeError(
                f"NASLib NB101 key entries must be ints, got {type(value).__name__} {value!r} "
                f"at position {k} of {original!r}"
            )
    matrix = np.asarray([int(v) for v in values[: n * n]], dtype=np.int64).reshape(n, n)
    return _check_spec(matrix, list(values[n * n :]), original)


def _is_spec_pair(values: Sequence[Any]) -> bool:
    first = values[0]
    return not isinstance(first, (str, bytes)) and isinstance(first, (Sequence, np.ndarray))


def _parse(arch: Any) -> Spec:
    """Raw (unpruned) adjacency matrix and op names of ``arch`` in any accepted form."""
    if isinstance(arch, (bool, np.bool_)):
        raise TypeError("an NB101 architecture cannot be a bool")
    if isinstance(arch, str):
        text = arch.strip()
        if not text.startswith(("(", "[", "{")):
            raise ValueError(
                f"unrecognised NB101 architecture string {arch!r}: expected a NASLib key like "
                "'(0, 1, 0, ..., 0, 2, 4, 1)'"
            )
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError) as exc:
            raise ValueError(f"malformed NB101 architecture string {arch!r}") from exc
        if isinstance(value, str):
            raise ValueError(f"malformed NB101 architecture string {arch!r}")
        return _parse(value)
    if isinstance(arch, Mapping):
        if "matrix" not in arch or "ops" not in arch:
            raise ValueError(
                f"an NB101 spec mapping needs the keys 'matrix' and 'ops', got {sorted(arch)}"
            )
        return _check_spec(arch["matrix"], arch["ops"], arch)
    if hasattr(arch, "matrix") and hasattr(arch, "ops"):  # NAS-Bench-101 ModelSpec and alike
        return _check_spec(arch.matrix, arch.ops, arch)
    if isinstance(arch, np.ndarray):
        if arch.ndim != 1:
            raise ValueError(f"a NASLib NB101 key array must be 1-D, got shape {arch.shape}")
        if not np.issubdtype(arch.dtype, np.integer):
            raise TypeError(f"NASLib NB101 key entries must be ints, got dtype {arch.dtype}")
        return _parse_key([int(v) for v in arch], arch)
    if isinstance(arch, (tuple, list)):
        if len(arch) == 2 and _is_spec_pair(arch):
            return _check_spec(arch[0], arch[1], arch)
        return _parse_key(arch, arch)
    raise TypeError(
        "an NB101 architecture is a NASLib key (tuple of ints or its string) or a spec "
        f"(matrix, ops), got {type(arch).__name__}"
    )


# ============================================================================ pruning


def _live_vertices(matrix: np.ndarray) -> list[int]:
    """Vertices on some input -> output path (empty when the output is unreachable)."""
    n = len(matrix)
    forward = [False] * n
    forward[0] = True
    for j in range(1, n):
        forward[j] = any(forward[i] and matrix[i, j] for i in range(j))
    if not forward[n - 1]:
        return []
    backward = [False] * n
    backward[n - 1] = True
    for i in range(n - 2, -1, -1):
        backward[i] = any(matrix[i, j] and backward[j] for j in range(i + 1, n))
    return [v for v in range(n) if forward[v] and backward[v]]


def _prune(matrix: np.ndarray, names: list[str]) -> Spec | None:
    """The pruned spec, or None when no input -> output path exists."""
    keep = _live_vertices(matrix)
    if not keep:
        return None
    return matrix[np.ix_(keep, keep)].copy(), [names[v] for v in keep]


def _key(matrix: np.ndarray, names: list[str]) -> tuple[int, ...]:
    return tuple(int(v) for v in matrix.ravel()) + tuple(NASLIB_OPS.index(o) for o in names)


def _canonical(matrix: np.ndarray, names: list[str]) -> tuple[int, ...]:
    """Canonical key of a checked raw spec; ValueError when it is not a valid cell."""
    pruned = _prune(matrix, names)
    if pruned is None:
        raise ValueError(
            f"no path from the input (vertex 0) to the output (vertex {len(matrix) - 1}) in "
            "the NB101 cell: it would compute nothing"
        )
    edges = int(pruned[0].sum())
    if edges > MAX_EDGES:
        raise ValueError(
            f"the NB101 cell has {edges} edges after pruning (vertices on no input -> output "
            f"path removed); NAS-Bench-101 allows at most {MAX_EDGES}"
        )
    return _key(*pruned)


def _try_canonical(matrix: np.ndarray, names: list[str]) -> tuple[int, ...] | None:
    pruned = _prune(matrix, names)
    if pruned is None or int(pruned[0].sum()) > MAX_EDGES:
        return None
    return _key(*pruned)


def _spec(arch: Any) -> Spec:
    """The pruned spec of ``arch`` (validated)."""
    key = _canonical(*_parse(arch))
    n = _KEY_LENGTHS[len(key)]
    matrix = np.asarray(key[: n * n], dtype=np.int64).reshape(n, n)
    return matrix, [NASLIB_OPS[c] for c in key[n * n :]]


def _padded(matrix: np.ndarray, names: list[str]) -> tuple[np.ndarray, list[str | None]]:
    """A pruned spec on 7 vertices: its vertices keep their rank, the output moves to vertex 6.

    Padding vertices (between the last intermediate vertex and the output) have no edges and
    op ``None``.
    """
    n = len(matrix)
    index = list(range(n - 1)) + [MAX_VERTICES - 1]
    out = np.zeros((MAX_VERTICES, MAX_VERTICES), dtype=np.int64)
    out[np.ix_(index, index)] = matrix
    ops: list[str | None] = [None] * MAX_VERTICES
    for v, name in zip(index, names, strict=True):
        ops[v] = name
    return out, ops


# ============================================================================ channels and size


def vertex_channels(matrix: np.ndarray, c_in: int, c_out: int) -> list[int]:
    """Channels of every vertex of a pruned cell turning ``c_in`` into ``c_out`` channels.

    NAS-Bench-101's rule: the output concatenates the vertices that feed it, so ``c_out`` is
    split evenly among them (the first ``c_out mod k`` of the ``k`` vertices get one channel
    more); a vertex that does not feed the output takes the largest width among the vertices
    it feeds. Inputs wider than a vertex are truncated to its width (first channels); the
    cell input reaches a vertex through a 1x1 projection.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.array([[0, 1, 1, 0], [0, 0, 1, 1], [0, 0, 0, 1], [0, 0, 0, 0]])
    >>> vertex_channels(m, 128, 257)
    [128, 129, 128, 257]
    """
    n = len(matrix)
    channels = [0] * n
    channels[0], channels[n - 1] = int(c_in), int(c_out)
    if n == 2:
        return channels
    feeding = [v for v in range(1, n - 1) if matrix[v, n - 1]]
    base, extra = divmod(int(c_out), len(feeding))
    for rank, v in enumerate(feeding):
        channels[v] = base + (1 if rank < extra else 0)
    for v in range(n - 3, 0, -1):
        if not matrix[v, n - 1]:
            for dst in range(v + 1, n - 1):
                if matrix[v, dst]:
                    channels[v] = max(channels[v], channels[dst])
    return channels


def _cell_counts(matrix: np.ndarray, names: list[str], c_in: int, c_out: int) -> tuple[int, int]:
    """(parameters, multiply-accumulates per output position) of one cell."""
    n = len(matrix)
    ch = vertex_channels(matrix, c_in, c_out)
    params = macs = 0
    for v in range(1, n - 1):
        if matrix[0, v]:  # 1x1 projection of the input: conv + BN
            params += c_in * ch[v] + 2 * ch[v]
            macs += c_in * ch[v]
        k = {"conv3x3-bn-relu": 9, "conv1x1-bn-relu": 1}.get(names[v], 0)
        if k:
            params += k * ch[v] * ch[v] + 2 * ch[v]
            macs += k * ch[v] * ch[v]
    if matrix[0, n - 1]:
        params += c_in * c_out + 2 * c_out
        macs += c_in * c_out
    return params, macs


def _check_positive(name: str, value: Any) -> int:
    if not is_int(value) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _check_input_shape(input_shape: Any) -> tuple[int, int, int]:
    shape = tuple(input_shape)
    if len(shape) != 3 or not all(is_int(s) and s > 0 for s in shape):
        raise ValueError(f"input_shape must be (C, H, W) positive ints, got {input_shape!r}")
    if shape[0] != 3:
        raise ValueError(f"the networks take 3-channel images, got input_shape {input_shape!r}")
    return int(shape[0]), int(shape[1]), int(shape[2])


# ============================================================================ the space


@register_space("nb101")
class NB101Space(SearchSpace):
    """NAS-Bench-101: cells of at most 7 vertices and 9 edges, 3 operations.

    Parameters
    ----------
    channels : int, default=128
        Output channels of the stem and of the cells of the first stack (then doubled at
        each stack). 128 is NAS-Bench-101's setting.
    stacks : int, default=3
        Stacks of cells, separated by 2x2 max pooling (NAS-Bench-101: 3).
    cells_per_stack : int, default=3
        Cells per stack (NAS-Bench-101: 3, i.e. 9 cells in all).

    Notes
    -----
    The canonical architecture is NASLib's key of the pruned spec (see the module
    docstring). ``random_state`` arguments accept None, an int seed, a
    :class:`numpy.random.Generator` (advanced in place) or a legacy ``RandomState``.

    Examples
    --------
    >>> from libranas.spaces import get_space
    >>> space = get_space("nb101")
    >>> key = (0, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1,
    ...        0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 4, 4,
    ...        4, 1)
    >>> space.param_count(key)  # NAS-Bench-Suite-Zero's table: 4.095778 M
    4095778
    >>> matrix, ops = space.to_spec(key)  # vertex 5 feeds nothing: pruned
    >>> ops
    ['input', 'maxpool3x3', 'maxpool3x3', 'conv3x3-bn-relu', 'conv3x3-bn-relu', 'output']
    >>> len(space.validate(key))  # 6 vertices left: 6 * 6 + 6 ints
    42
    >>> space.sample(2, random_state=0) == space.sample(2, random_state=0)
    True
    """

    name = "nb101"
    default_input_shape = (3, 32, 32)  # CIFAR-10 images
    ops = OPS

    def __init__(self, channels: int = 128, stacks: int = 3, cells_per_stack: int = 3) -> None:
        self.channels = _check_positive("channels", channels)
        self.stacks = _check_positive("stacks", stacks)
        self.cells_per_stack = _check_positive("cells_per_stack", cells_per_stack)

    def __repr__(self) -> str:
        return (
            f"NB101Space(channels={self.channels}, stacks={self.stacks}, "
            f"cells_per_stack={self.cells_per_stack})"
        )

    # ------------------------------------------------------------------ conversions
    def validate(self, arch: Any) -> tuple[int, ...]:
        """Return the canonical key (NASLib key of the pruned spec) of ``arch``.

        Parameters
        ----------
        arch : tuple, list, ndarray, str, mapping or spec
            NASLib key (or its string form) or a ``(matrix, ops)`` spec.

        Returns
        -------
        tuple of int
            ``n * n + n`` ints: the pruned ``n x n`` adjacency matrix row-major, then the
            ``n`` NASLib op codes.

        Raises
        ------
        ValueError
            Wrong key length, entries other than 0/1 in the matrix, an edge that is not
            ``i -> j`` with ``i < j``, unknown op code or name, input/output misplaced, no
            input -> output path, more than 9 edges after pruning, malformed string.
        TypeError
            ``arch`` or one of its entries of an unsupported type.

        Examples
        --------
        >>> space = NB101Space()
        >>> m = [[0, 1, 1], [0, 0, 1], [0, 0, 0]]
        >>> space.validate((m, ["input", "conv1x1-bn-relu", "output"]))
        (0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 3, 1)
        >>> space.validate("(0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 3, 1)")
        (0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 3, 1)
        >>> space.validate((m, ["input", "conv5x5-bn-relu", "output"]))
        Traceback (most recent call last):
        ...
        ValueError: unknown NB101 operation 'conv5x5-bn-relu' at vertex 1 of ([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ['input', 'conv5x5-bn-relu', 'output']); known: ['input', 'output', 'maxpool3x3', 'conv1x1-bn-relu', 'conv3x3-bn-relu']
        """  # noqa: E501
        return _canonical(*_parse(arch))

    def to_spec(self, arch: Any) -> tuple[np.ndarray, list[str]]:
        """The pruned ``(matrix, ops)`` spec of ``arch`` (matrix a new int array)."""
        return _spec(arch)

    def to_string(self, arch: Any) -> str:
        """``str`` of the canonical key (the table key format for unpruned cells)."""
        return str(self.validate(arch))

    # ------------------------------------------------------------------ sampling
    def _random_raw(self, rng: np.random.Generator) -> Spec:
        bits = rng.integers(0, 2, size=len(_PAIRS))
        matrix = np.zeros((MAX_VERTICES, MAX_VERTICES), dtype=np.int64)
        for (i, j), bit in zip(_PAIRS, bits, strict=True):
            matrix[i, j] = bit
        ops = [OPS[k] for k in rng.integers(0, len(OPS), size=MAX_VERTICES - 2)]
        return matrix, ["input", *ops, "output"]

    def sample(self, n: int, random_state: Any = None) -> list[tuple[int, ...]]:
        """Draw ``n`` cells as NAS-Bench-101 draws them: each of the 21 candidate edges of a
        7-vertex cell present with probability 1/2, each intermediate op uniform, redrawn
        until valid; returned pruned (canonical).

        This is uniform over valid 7-vertex specs, not over the 423,624 distinct graphs.

        Examples
        --------
        >>> archs = NB101Space().sample(3, random_state=0)
        >>> all(NB101Space().validate(a) == a for a in archs)
        True
        """
        if not is_int(n) or n < 0:
            raise ValueError(f"n must be a non-negative int, got {n!r}")
        rng = _as_generator(random_state)
        out: list[tuple[int, ...]] = []
        while len(out) < n:
            key = _try_canonical(*self._random_raw(rng))
            if key is not None:
                out.append(key)
        return out

    def neighbours(self, arch: Any) -> list[tuple[int, ...]]:
        """Distinct valid cells one decision away from ``arch``.

        A decision is one of the 21 candidate edges of the 7-vertex form (flipped) or the op
        of one of the 5 intermediate vertices (changed). The cell is taken in its padded
        7-vertex form (pruned vertices first, unused vertices before the output, with no
        edges), so an unused vertex joins only when both an edge into it and one out of it
        are added: that takes two decisions and is reached by :meth:`mutate` only when no
        one-decision neighbour exists. Cells equal to ``arch`` after pruning are left out.
        """
        return sorted(self._neighbours(self.validate(arch), None))

    def _neighbours(self, key: tuple[int, ...], pad_ops: list[str] | None) -> set[tuple[int, ...]]:
        matrix, names = _padded(*_spec(key))
        ops = [
            name if name is not None else (pad_ops[v] if pad_ops else OPS[0])
            for v, name in enumerate(names)
        ]
        found: set[tuple[int, ...]] = set()
        for i, j in _PAIRS:
            changed = matrix.copy()
            changed[i, j] ^= 1
            found.add(_try_canonical(changed, ops))  # type: ignore[arg-type]
        for v in range(1, MAX_VERTICES - 1):
            for op in OPS:
                if op != ops[v]:
                    found.add(_try_canonical(matrix, [*ops[:v], op, *ops[v + 1 :]]))
        found.discard(None)  # type: ignore[arg-type]
        found.discard(key)
        return found

    def mutate(self, arch: Any, random_state: Any = None) -> tuple[int, ...]:
        """Change one decision (an edge or an op), uniformly over :meth:`neighbours`.

        Unused vertices get random ops first (so a vertex that joins has a random op). A
        cell without one-decision neighbours (the single input -> output edge) changes two
        decisions: adding a vertex on a new path.

        Examples
        --------
        >>> space = NB101Space()
        >>> a = space.sample(1, random_state=0)[0]
        >>> b = space.mutate(a, random_state=0)
        >>> a != b and space.validate(b) == b
        True
        """
        key = self.validate(arch)
        rng = _as_generator(random_state)
        pad_ops = [OPS[k] for k in rng.integers(0, len(OPS), size=MAX_VERTICES)]
        options = sorted(self._neighbours(key, pad_ops))
        if not options:  # two decisions: first all one-decision raw changes, then their
            matrix, names = _padded(*_spec(key))
            ops = [n if n is not None else pad_ops[v] for v, n in enumerate(names)]
            found: set[tuple[int, ...]] = set()
            for (i, j), (k, m) in combinations(_PAIRS, 2):
                changed = matrix.copy()
                changed[i, j] ^= 1
                changed[k, m] ^= 1
                found.add(_try_canonical(changed, ops))  # type: ignore[arg-type]
            found.discard(None)  # type: ignore[arg-type]
            found.discard(key)
            options = sorted(found)
        return options[int(rng.integers(len(options)))]

    # ------------------------------------------------------------------ encodings
    def encode(self, arch: Any) -> np.ndarray:
        """Adjacency + op one-hot of the padded 7-vertex form: 21 edges + 5 x 3 ops = 36.

        The pruned cell keeps its vertex order, its output moves to vertex 6 and unused
        vertices (between) have no edges and an all-zero op row.

        Examples
        --------
        >>> x = NB101Space().encode("(0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 3, 1)")
        >>> x[:6], x[21:24]
        (array([1., 0., 0., 0., 0., 1.]), array([0., 1., 0.]))
        """
        matrix, names = _padded(*_spec(arch))
        edges = np.array([matrix[i, j] for i, j in _PAIRS], dtype=np.float64)
        ops = np.zeros((MAX_VERTICES - 2, len(OPS)), dtype=np.float64)
        for v in range(1, MAX_VERTICES - 1):
            if names[v] is not None:
                ops[v - 1, OPS.index(names[v])] = 1.0  # type: ignore[arg-type]
        return np.concatenate([edges, ops.ravel()])

    def encoding_names(self) -> list[str]:
        """Names of the 36 encoding columns: ``'edge:0->1'``, ..., ``'op1:conv3x3-bn-relu'``."""
        names = [f"edge:{i}->{j}" for i, j in _PAIRS]
        return names + [f"op{v}:{op}" for v in range(1, MAX_VERTICES - 1) for op in OPS]

    def graph_feature_names(self) -> list[str]:
        """Names of :meth:`graph_features`: ``n_vertices``, then the path features.

        The path features are those of :func:`libranas.spaces._graph.path_feature_names`
        over :data:`OPS` on the 7 vertices of the padded form.
        """
        from libranas.spaces._graph import path_feature_names

        return ["n_vertices", *path_feature_names(OPS, MAX_VERTICES)]

    def graph_features(self, arch: Any) -> np.ndarray:
        """Graph features of the pruned cell (op counts, paths, degrees, depths).

        The node-labelled cell becomes edge-labelled: an edge ``i -> j`` carries the op of
        vertex ``j`` and the edges into the output are wires (a concatenation, no
        operation, so no length). The cell is taken in its padded 7-vertex form (see
        :meth:`encode`); unused vertices have degree 0 and depth -1.

        Examples
        --------
        >>> space = NB101Space()
        >>> m = [[0, 1, 1], [0, 0, 1], [0, 0, 0]]  # input -> conv1x1 -> output, input -> output
        >>> x = space.graph_features((m, ["input", "conv1x1-bn-relu", "output"])).tolist()
        >>> f = dict(zip(space.graph_feature_names(), x))
        >>> f["n_vertices"], f["n_paths"], f["min_len"], f["max_len"], f["depth:6"]
        (3.0, 2.0, 0.0, 1.0, 1.0)
        """
        from libranas.spaces._graph import path_features

        matrix, names = _padded(*_spec(arch))
        last = MAX_VERTICES - 1
        edges = [(i, j, WIRE if j == last else str(names[j])) for i, j in _PAIRS if matrix[i, j]]
        values = path_features(
            MAX_VERTICES, edges, OPS, inputs=(0,), output=last, param_free=PARAM_FREE, wire=WIRE
        )
        n_vertices = sum(name is not None for name in names)
        return np.array([float(n_vertices), *values.values()], dtype=np.float64)

    # ------------------------------------------------------------------ Optuna
    def trial_choices(self) -> dict[str, tuple[Any, ...]]:
        """One categorical per candidate edge, ``"edge_<i>-><j>"`` over (0, 1), and per
        intermediate vertex, ``"op_<v>"`` over :data:`OPS` (21 + 5 parameters)."""
        choices: dict[str, tuple[Any, ...]] = {f"edge_{i}->{j}": (0, 1) for i, j in _PAIRS}
        choices.update({f"op_{v}": OPS for v in range(1, MAX_VERTICES - 1)})
        return choices

    def suggest(self, trial: Any) -> tuple[int, ...]:
        """Draw a cell through an Optuna ``trial`` (26 categoricals), repaired when invalid.

        Most random 7-vertex specs are not valid NB101 cells, and a trial cannot redraw a
        parameter, so an invalid draw is repaired deterministically: pruned; when no input
        -> output path exists the edge input -> output is added; while more than 9 edges
        remain, the last edge in row-major order whose removal keeps an input -> output
        path is removed (and the cell pruned again). Valid draws are left as they are, so
        :meth:`trial_params` is an exact inverse on the architectures it returns.

        Examples
        --------
        >>> import optuna
        >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
        >>> study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        >>> space = NB101Space()
        >>> arch = space.suggest(study.ask())
        >>> space.validate(arch) == arch
        True
        """
        params = {k: trial.suggest_categorical(k, list(v)) for k, v in self.trial_choices().items()}
        return self._from_params(params)

    def _from_params(self, params: Mapping[str, Any]) -> tuple[int, ...]:
        matrix = np.zeros((MAX_VERTICES, MAX_VERTICES), dtype=np.int64)
        for i, j in _PAIRS:
            matrix[i, j] = int(params[f"edge_{i}->{j}"])
        names = ["input", *(params[f"op_{v}"] for v in range(1, MAX_VERTICES - 1)), "output"]
        return _repair(matrix, names)

    def trial_params(self, arch: Any) -> dict[str, Any]:
        """The trial parameters of ``arch``: its padded 7-vertex form (unused vertices get
        op ``conv3x3-bn-relu``); :meth:`suggest` with them returns ``arch``."""
        matrix, names = _padded(*_spec(arch))
        params: dict[str, Any] = {f"edge_{i}->{j}": int(matrix[i, j]) for i, j in _PAIRS}
        for v in range(1, MAX_VERTICES - 1):
            params[f"op_{v}"] = names[v] if names[v] is not None else OPS[0]
        return params

    # ------------------------------------------------------------------ networks
    def param_count(self, arch: Any, num_classes: int | None = None) -> int:
        """Parameters of :meth:`build` ``(arch, num_classes)``, computed analytically.

        Convolutions (no bias), BatchNorm scales and shifts, the classifier's weights and
        biases.

        Examples
        --------
        >>> NB101Space().param_count("(0, 1, 0, 0, 0, 1)")  # input -> 1x1 projection -> output
        882570
        """
        classes = check_num_classes(num_classes, default=10)
        matrix, names = _spec(arch)
        c = self.channels
        total = 27 * c + 2 * c  # stem conv 3x3 + BN
        c_in = c
        for stack in range(self.stacks):
            if stack > 0:
                c *= 2
            for _ in range(self.cells_per_stack):
                total += _cell_counts(matrix, names, c_in, c)[0]
                c_in = c
        return total + c * classes + classes

    def flops(
        self,
        arch: Any,
        input_shape: tuple[int, ...] | None = None,
        num_classes: int | None = None,
    ) -> float:
        """MFLOPs (multiply-accumulates of convolutions and the classifier, millions) of one
        image, computed analytically (the ``flops`` proxy's rule).

        ``input_shape`` ``(3, H, W)`` defaults to :attr:`default_input_shape` (32x32).

        Examples
        --------
        >>> round(NB101Space().flops("(0, 1, 0, 0, 0, 1)"), 3)
        137.762
        """
        _, h, w = _check_input_shape(
            self.default_input_shape if input_shape is None else input_shape
        )
        classes = check_num_classes(num_classes, default=10)
        matrix, names = _spec(arch)
        c = self.channels
        total = 27 * c * h * w
        c_in = c
        for stack in range(self.stacks):
            if stack > 0:  # 2x2 max pooling, stride 2 (ceil mode)
                c, h, w = 2 * c, -(-h // 2), -(-w // 2)
            for _ in range(self.cells_per_stack):
                total += _cell_counts(matrix, names, c_in, c)[1] * h * w
                c_in = c
        return (total + c * classes) / 1e6

    def build(self, arch: Any, num_classes: int | None = None) -> Any:
        """Build the untrained NAS-Bench-101 network of ``arch``.

        Stem 3x3 conv (3 -> C, no bias) + BN + ReLU; ``stacks`` stacks of
        ``cells_per_stack`` cells at C, 2C, 4C channels, a 2x2 max pooling (stride 2) before
        every stack but the first; global average pooling; linear classifier. Inside a
        cell: each intermediate vertex sums its inputs (the cell input through a 1x1
        conv-BN-ReLU projection, earlier vertices truncated to its width, see
        :func:`vertex_channels`) and applies its op (conv3x3 / conv1x1 + BN + ReLU, or 3x3
        max pooling with stride 1); the output concatenates the vertices that feed it, plus
        a projection of the cell input when the input feeds the output directly. Weights
        keep PyTorch's default initialisation.

        The network accepts any input resolution (32x32 CIFAR-10 by default).

        Parameters
        ----------
        arch : any accepted form
        num_classes : int, default=10

        Returns
        -------
        torch.nn.Module

        Examples
        --------
        >>> import torch
        >>> net = NB101Space(channels=8).build("(0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 2, 1)")
        >>> net(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 10])
        """
        from libranas.spaces._ops_nb101 import NB101Network

        classes = check_num_classes(num_classes, default=10)
        matrix, names = _spec(arch)
        return NB101Network(
            matrix,
            names,
            classes,
            self.channels,
            self.stacks,
            self.cells_per_stack,
            channel_rule=vertex_channels,
        )


def _repair(matrix: np.ndarray, names: list[str]) -> tuple[int, ...]:
    """A valid canonical key from a checked raw 7-vertex spec (see :meth:`NB101Space.suggest`)."""
    pruned = _prune(matrix, names)
    if pruned is None:
        matrix = matrix.copy()
        matrix[0, len(matrix) - 1] = 1
        pruned = _prune(matrix, names)
    assert pruned is not None
    m, ops = pruned
    while int(m.sum()) > MAX_EDGES:
        edges = [(i, j) for i in range(len(m)) for j in range(i + 1, len(m)) if m[i, j]]
        for i, j in reversed(edges):
            trial = m.copy()
            trial[i, j] = 0
            smaller = _prune(trial, ops)
            if smaller is not None:
                m, ops = smaller
                break
        else:  # pragma: no cover - a path has at most 6 edges, so one is always removable
            raise RuntimeError("could not repair the NB101 cell")
    return _key(m, ops)
