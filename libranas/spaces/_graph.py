"""Neural graph features of a cell: counts, paths and degrees of its operation DAG.

Re-derived from the idea of GRAF (Kadlecova et al., "Surprisingly Strong Performance
Prediction with Neural Graph Features", ICML 2024): simple, interpretable functions of the
cell graph -- how many operations of each kind, how long the paths from input to output
are when only some operations may be used, how many such paths there are, node degrees and
depths -- carry most of what a few-label predictor needs, on spaces where the zero-cost
proxies are weak.

A cell is given in **edge-labelled** form: nodes ``0..n_nodes-1`` in topological order,
edges ``(source, target, op)``. Spaces whose operations sit on nodes (NAS-Bench-101) label
each edge with the operation of its target and the edges into the output node with
``wire`` (a connection that is not an operation, so it adds no length). ``none`` edges
must be left out by the caller (they are no connection).

Feature names are fixed by ``ops`` and ``n_nodes``, so every cell of a space gives a vector
of the same length; :func:`path_feature_names` lists them.

Examples
--------
The NAS-Bench-201 cell ``|nor_conv_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|nor_conv_1x1~2|``
(node 1 = conv3x3(node 0), node 2 = skip(node 0), node 3 = conv1x1(node 2)):

>>> edges = [(0, 1, "conv3"), (0, 2, "skip"), (2, 3, "conv1")]
>>> f = path_features(4, edges, ops=("conv1", "conv3", "skip"), inputs=(0,), output=3,
...                   param_free=("skip",))
>>> f["n_paths"], f["min_len"], f["max_len"], f["op_count:conv3"], f["op_on_path:conv3"]
(1.0, 2.0, 2.0, 1.0, 0.0)
>>> f["n_paths_without:conv1"], f["n_paths_with:skip"], f["param_free_paths"]
(0.0, 1.0, 0.0)
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

__all__ = ["edge_cell_features", "path_feature_names", "path_features"]

_ABSENT = -1.0  # length of a path that does not exist (lengths are >= 0 otherwise)


def path_feature_names(ops: Sequence[str], n_nodes: int) -> list[str]:
    """Names of :func:`path_features` for cells of ``n_nodes`` nodes over ``ops``, in order."""
    names = ["n_edges", "n_paths", "min_len", "max_len", "param_free_paths"]
    names += ["param_free_min_len", "param_free_max_len"]
    for op in ops:
        names += [f"op_count:{op}", f"op_on_path:{op}"]
        names += [f"n_paths_with:{op}", f"n_paths_without:{op}", f"n_paths_only:{op}"]
        names += [f"min_len_without:{op}", f"max_len_without:{op}"]
        names += [f"min_len_only:{op}", f"max_len_only:{op}"]
    names += [f"in_degree:{v}" for v in range(n_nodes)]
    names += [f"out_degree:{v}" for v in range(n_nodes)]
    names += [f"depth:{v}" for v in range(n_nodes)]
    return names


def _check(
    n_nodes: int, edges: Sequence[tuple[int, int, str]], ops: Sequence[str], wire: str | None
) -> None:
    known = set(ops) | ({wire} if wire is not None else set())
    for edge in edges:
        if len(edge) != 3:
            raise ValueError(f"an edge is (source, target, op), got {edge!r}")
        source, target, op = edge
        if not 0 <= source < target < n_nodes:
            raise ValueError(
                f"edge {edge!r}: nodes must satisfy 0 <= source < target < {n_nodes} "
                "(topological order)"
            )
        if op not in known:
            raise ValueError(f"edge {edge!r}: unknown operation {op!r}; known: {sorted(known)}")


def _paths(
    n_nodes: int, edges: Sequence[tuple[int, int, str]], inputs: Sequence[int], output: int
) -> list[list[int]]:
    """Every input -> output path as a list of edge indices (cells are small: enumerate)."""
    outgoing: list[list[int]] = [[] for _ in range(n_nodes)]
    for k, (source, _target, _op) in enumerate(edges):
        outgoing[source].append(k)
    paths: list[list[int]] = []

    def walk(node: int, prefix: list[int]) -> None:
        if node == output:
            paths.append(prefix)
            return
        for k in outgoing[node]:
            walk(edges[k][1], [*prefix, k])

    for start in inputs:
        walk(start, [])
    return paths


def path_features(
    n_nodes: int,
    edges: Sequence[tuple[int, int, str]],
    ops: Sequence[str],
    inputs: Sequence[int],
    output: int,
    param_free: Collection[str] = (),
    wire: str | None = None,
) -> dict[str, float]:
    """Graph features of one cell (see the module docstring), as ``{name: value}``.

    Parameters
    ----------
    n_nodes : int
        Nodes of the cell, ``0..n_nodes-1`` in topological order.
    edges : sequence of (int, int, str)
        ``(source, target, op)``; ``op`` in ``ops`` or equal to ``wire``.
    ops : sequence of str
        The operation vocabulary of the space (fixes the feature names).
    inputs : sequence of int
        Input node(s); paths start there.
    output : int
        Output node; paths end there.
    param_free : collection of str
        Operations without weights (skip, pooling); ``param_free_paths`` counts the paths
        made of them only.
    wire : str or None
        Label of edges that are connections, not operations (zero length, no op type).

    Returns
    -------
    dict
        In the order of :func:`path_feature_names`:

        - ``n_edges``: edges that are operations; ``n_paths``: input -> output paths;
          ``min_len`` / ``max_len``: shortest / longest path in operations
          (-1 when there is no path);
        - ``param_free_paths`` and their min / max length;
        - per op: ``op_count`` (edges of that op), ``op_on_path`` (those on some
          input -> output path, i.e. not dead), paths with / without / made only of that op
          and the min / max length of paths without it and of paths made only of it;
        - per node: in-degree, out-degree and depth (longest path from an input, in
          operations; -1 when unreachable).
    """
    _check(n_nodes, edges, ops, wire)
    paths = _paths(n_nodes, edges, inputs, output)
    labels = [op for _s, _t, op in edges]

    def lengths(keep: list[list[int]]) -> tuple[float, float]:
        if not keep:
            return _ABSENT, _ABSENT
        sizes = [sum(labels[k] != wire for k in p) for p in keep]
        return float(min(sizes)), float(max(sizes))

    def path_ops(p: list[int]) -> set[str]:
        return {labels[k] for k in p if labels[k] != wire}

    on_path = {k for p in paths for k in p}
    out: dict[str, float] = {
        "n_edges": float(sum(op != wire for op in labels)),
        "n_paths": float(len(paths)),
    }
    out["min_len"], out["max_len"] = lengths(paths)
    free = [p for p in paths if path_ops(p) <= set(param_free)]
    out["param_free_paths"] = float(len(free))
    out["param_free_min_len"], out["param_free_max_len"] = lengths(free)
    for op in ops:
        with_op = [p for p in paths if op in path_ops(p)]
        without = [p for p in paths if op not in path_ops(p)]
        only = [p for p in paths if path_ops(p) == {op}]
        out[f"op_count:{op}"] = float(labels.count(op))
        out[f"op_on_path:{op}"] = float(sum(labels[k] == op for k in on_path))
        out[f"n_paths_with:{op}"] = float(len(with_op))
        out[f"n_paths_without:{op}"] = float(len(without))
        out[f"n_paths_only:{op}"] = float(len(only))
        out[f"min_len_without:{op}"], out[f"max_len_without:{op}"] = lengths(without)
        out[f"min_len_only:{op}"], out[f"max_len_only:{op}"] = lengths(only)
    in_degree = np.zeros(n_nodes)
    out_degree = np.zeros(n_nodes)
    depth = np.full(n_nodes, _ABSENT)
    for v in inputs:
        depth[v] = 0.0
    for source, target, op in sorted(edges, key=lambda e: e[0]):
        in_degree[target] += 1
        out_degree[source] += 1
        if depth[source] >= 0:
            depth[target] = max(depth[target], depth[source] + (op != wire))
    for v in range(n_nodes):
        out[f"in_degree:{v}"] = float(in_degree[v])
    for v in range(n_nodes):
        out[f"out_degree:{v}"] = float(out_degree[v])
    for v in range(n_nodes):
        out[f"depth:{v}"] = float(depth[v])
    return out


def edge_cell_features(
    n_nodes: int,
    edge_ops: Sequence[tuple[tuple[int, int], str]],
    ops: Sequence[str],
    param_free: Collection[str] = (),
    none: str = "none",
) -> np.ndarray:
    """:func:`path_features` of a single-input cell whose edges carry the operations.

    The NAS-Bench-201 / TransNAS-Bench-101-micro form: nodes ``0..n_nodes-1``, input 0,
    output ``n_nodes - 1``, ``edge_ops`` = ``((to, from), op)`` per edge; ``none`` edges are no
    connection and are left out.

    Examples
    --------
    >>> edge_cell_features(3, [((1, 0), "conv"), ((2, 0), "none"), ((2, 1), "skip")],
    ...                    ops=("conv", "skip"))[:4].tolist()
    [2.0, 1.0, 2.0, 2.0]
    """
    edges = [(src, to, op) for (to, src), op in edge_ops if op != none]
    values = path_features(
        n_nodes, edges, ops, inputs=(0,), output=n_nodes - 1, param_free=param_free
    )
    return np.fromiter(values.values(), dtype=np.float64, count=len(values))
