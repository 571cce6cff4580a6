"""Repeated-block features: one copy of each repeated cell / block of any PyTorch network.

The whole-network features (:mod:`libranas.network_features`) sum the 8-15 copies of a cell
into one count per operation type, so *which* operation sits at *which* place of the cell is
lost. This module finds the repeated blocks in the module tree and describes one copy of
each distinct block variant, position by position. It reads nothing but the built network
(no space-specific code), so it works for any network: ``ArchFeaturizer(space,
features=("network", "blocks"))``.

How blocks are found
--------------------
1. **Repeated block classes**: module classes (not ``Sequential`` / ``ModuleList`` /
   ``ModuleDict``) with at least two *outermost* instances that each contain at least two
   leaf modules; an instance is outermost when no ancestor is an instance of another
   repeated block class (found by a fixed point: a class left with fewer than two outermost
   instances is no block, and its descendants are looked at again).
2. **Variants**: one forward pass of a batch-1 ``meta`` input (CPU when the network cannot
   run on ``meta``) records each block's input and output resolution; a block whose output
   has fewer positions (``H*W`` or tokens) than its smallest input is a ``<Class>/reduce``
   variant, the others ``<Class>``, so normal and reduction cells are described apart.
3. **Positions**: inside a block, the children of its ``ModuleList`` / ``ModuleDict``
   containers (recursively) and its other direct children, named by their path in the block
   (``edges.2``, ``ops.5``, ``preprocess0``, ``attn``).
4. **Operation identity** of a position: a leaf module's kind with its kernel, dilation,
   groups and stride (``conv3x3``, ``conv5x5_d2_dw``, ``maxpool3_s2``, ``identity``, or the
   class name, e.g. ``zero``); a composite module's class with its leaves in order
   (``ReLUConvBN(relu,conv3x3,batchnorm2d)``). Widths are left out, so blocks at different
   stages compare.
5. **Wiring** (when the forward pass tells it): which block inputs (``in0``, ``in1``) or
   other positions' outputs reach a position's input through non-position operations
   (additions, concatenations), e.g. ``ops.4<-ops.0+ops.1`` -- a DARTS genotype's input
   nodes.

Columns (``blocks:`` prefix in :class:`~libranas.ArchFeaturizer`), per variant ``v``
------------------------------------------------------------------------------------
- ``v:n`` -- number of instances; ``stage<k>:v:n`` -- instances whose output is at the k-th
  largest block output resolution of the network.
- ``v:count:<kind>`` -- mean number of leaf modules of each kind per instance
  (:data:`~libranas.network_features.OP_TYPES` kinds and ``other``).
- ``v:<position>=<op>`` -- the fraction of the variant's instances with that operation at
  that position (1 or 0 when every copy is the same: a one-hot of the majority genotype;
  fractions when copies differ, e.g. an AutoFormer's per-block choices);
  ``v:<position>=absent`` for instances without the position.
- ``v:<position><-<sources>`` -- the same fractions for the position's wiring.
- ``v:<position>:log2_params`` -- mean ``log2(1 + parameters)`` of the position (widths,
  head counts and MLP ratios show here).
- GRAF's cell-graph features on the block's position graph (positions linked by the
  wiring; a position that multiplies its input by 0 -- a cell's ``none`` -- is dead and cuts
  its edges; the block's inputs are the sources, the positions reaching its output the
  sinks), means over the variant's instances: ``v:paths:n``, ``v:paths:min_len``,
  ``v:paths:max_len`` (input-output paths, lengths in positions), ``v:dead:n``, and per
  operation ``o``: ``v:op:<o>:count`` (live positions), ``v:op:<o>:paths`` (paths through
  at least one), ``v:op:<o>:min_len``, ``v:op:<o>:max_len``, ``v:op:<o>:only_paths``
  (paths through nothing else); ``v:param_free:paths`` / ``min_len`` / ``max_len`` (paths
  through parameter-free positions only).

- GRAF's whole feature set (:func:`libranas.spaces._graph.path_features`, the function the
  hand-made graph features of the spaces use) on the block's **cell graph**
  (``_cell_graph``): nodes are the block's states -- its inputs, the tensors its
  positions read, the sums / concatenations of their outputs, its output --, edges its live
  positions labelled by their operation signature, plus ``~wire`` links where a state is
  summed or concatenated into a later one (no operation, no length). Rebuilt from the tensors
  of one forward pass, nothing space-specific. Means over the variant's instances:
  ``v:graph:n_edges``, ``n_paths``, ``min_len`` / ``max_len``, ``param_free_paths`` and their
  lengths; per operation ``o``: ``op_count:o``, ``op_on_path:o``, ``n_paths_with:o`` /
  ``without`` / ``only``, ``min_len_without:o`` / ``max_len_without:o``, ``min_len_only:o`` /
  ``max_len_only:o``; per node ``k`` (in the order the tensors were made):
  ``in_degree:k``, ``out_degree:k``, ``depth:k``. A block with several inputs also has the
  same set over the paths from its ``i``-th input alone (``v:graph:from<i>:...``, DARTS'
  "paths from the previous cell"). On NAS-Bench-201 these equal the hand-made graph
  features exactly (tested, names mapped). In a block with two or more inputs, a position
  that is the only reader of an input and reads nothing else (DARTS' ``preprocess0`` /
  ``preprocess1``) is that input's preprocessing: the cell graph starts at its output, as
  GRAF's does (otherwise every path would pass through one, and none could be
  parameter-free or run through one operation only); on DARTS the graph is then exactly the
  hand-made cell, every GRAF quantity equal (tested). Node identity comes from tensor identity: a
  tensor given for two of a block's inputs (DARTS' first cell) is split into one alias per
  input; a position that returns its input object unchanged (other than the identity
  modules, which return an alias) would merge two nodes, and blocks whose parts exchange
  tensors outside their forward pass are not seen.

Which of these columns exist depends on the architectures: :func:`block_vocabulary` fixes
them on the architectures an :class:`~libranas.ArchFeaturizer` is fitted on (every
position's ``=absent`` and ``=unseen`` included), :func:`block_matrix` writes any
architecture into them: an operation or wiring not seen in the fit counts in the position's
``=unseen`` column, a variant not seen in the fit in ``unseen_variants:n`` -- nothing is
dropped silently.
"""

from __future__ import annotations

import math
import re
import weakref
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "SUMMARY_SLOTS",
    "block_description",
    "block_descriptions",
    "block_matrix",
    "block_summary",
    "block_summary_names",
    "block_vocabulary",
    "find_blocks",
]

#: block variants given summary columns (:func:`block_summary`), most instances first
SUMMARY_SLOTS = 2
_SLOT_STATS = ("n", "reduce", "positions", "dead:n", "paths:n", "paths:min_len", "paths:max_len",
               "param_free:paths", "param_free:min_len", "param_free:max_len")  # fmt: skip

_CONTAINERS = ("Sequential", "ModuleList", "ModuleDict")
_UNSEEN_VARIANTS = "unseen_variants:n"


def _is_container(module: Any) -> bool:
    from torch import nn

    return isinstance(module, (nn.Sequential, nn.ModuleList, nn.ModuleDict))


def _is_list(module: Any) -> bool:
    from torch import nn

    return isinstance(module, (nn.ModuleList, nn.ModuleDict))


def _n_leaves(module: Any) -> int:
    return sum(1 for m in module.modules() if not any(True for _ in m.children()))


def find_blocks(model: Any) -> dict[str, Any]:
    """The outermost instances of the repeated block classes of ``model``, by module path.

    Parameters
    ----------
    model : torch.nn.Module

    Returns
    -------
    dict
        Module path -> module, in the network's module order.

    Examples
    --------
    >>> from torch import nn
    >>> class Block(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.conv, self.act = nn.Conv2d(4, 4, 3, padding=1), nn.ReLU()
    ...     def forward(self, x):
    ...         return x + self.act(self.conv(x))
    >>> net = nn.Sequential(nn.Conv2d(3, 4, 1), Block(), Block(), Block())
    >>> list(find_blocks(net))
    ['1', '2', '3']
    """
    named = [(p, m) for p, m in model.named_modules() if p]
    candidates = {
        type(m) for p, m in named if not _is_container(m) and _n_leaves(m) >= 2
    }  # classes that contain operations
    while True:
        outer: dict[str, Any] = {}
        for path, module in named:
            if type(module) not in candidates:
                continue
            if any(path.startswith(q + ".") for q in outer):
                continue  # inside an outermost block already
            outer[path] = module
        counts = Counter(type(m) for m in outer.values())
        keep = {c for c in candidates if counts[c] >= 2}
        if keep == candidates:
            return outer
        candidates = keep


def _positions(block: Any) -> list[tuple[str, Any]]:
    """(path in the block, module) of each position, in module order."""
    out: list[tuple[str, Any]] = []

    def walk(module: Any, prefix: str) -> None:
        for name, child in module.named_children():
            path = f"{prefix}{name}"
            if _is_list(child):
                walk(child, path + ".")
            else:
                out.append((path, child))

    walk(block, "")
    return out


def _leaf_signature(module: Any) -> str:
    from torch import nn

    if isinstance(module, nn.modules.conv._ConvNd):
        k = "x".join(str(s) for s in module.kernel_size)
        sig = ("convT" if module.transposed else "conv") + k
        if any(d > 1 for d in module.dilation):
            sig += f"_d{max(module.dilation)}"
        if module.groups > 1:
            sig += "_dw" if module.groups == module.in_channels else f"_g{module.groups}"
        if any(s > 1 for s in module.stride):
            sig += f"_s{max(module.stride)}"
        return sig
    if isinstance(module, (nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd)):
        kind = "maxpool" if isinstance(module, nn.modules.pooling._MaxPoolNd) else "avgpool"
        k = module.kernel_size if isinstance(module.kernel_size, int) else max(module.kernel_size)
        s = module.stride if isinstance(module.stride, int) else max(module.stride or (k,))
        return f"{kind}{k}" + (f"_s{s}" if s and s > 1 else "")
    return type(module).__name__.lower()


def _signature(module: Any) -> str:
    leaves = [m for m in module.modules() if not any(True for _ in m.children())]
    if leaves == [module]:
        return _leaf_signature(module)
    return f"{type(module).__name__}({','.join(_leaf_signature(m) for m in leaves)})"


def _leaf_kind(module: Any) -> str:
    from libranas.network_features import _classify_module

    kind = _classify_module(module, None).kind
    return "other" if kind == "structural" else kind


def _positions_of(shape: Any) -> int:
    if not shape or len(shape) < 3:
        return 1
    return int(np.prod(shape[2:])) if len(shape) == 4 else int(shape[1])


_WIRE = "~wire"  # label of the block graph's edges that are no position (GRAF's wires)
_MERGE_KINDS = {"__add__": "add", "__radd__": "add", "__iadd__": "add", "add": "add",
                "add_": "add", "sum": "add", "cat": "cat", "concat": "cat",
                "concatenate": "cat", "stack": "cat"}  # fmt: skip


def _merge_kind(func_name: str) -> str:
    return "merge:" + _MERGE_KINDS.get(func_name, func_name)


class _BlockGraph:
    """The tensors of one block instance's first call and what links them.

    Vertices are numbered in the order the tensors were made (so every link goes from a
    lower to a higher number): the block's inputs, each live position's output, each
    function outside the positions that combines two or more vertices (``merge:add``,
    ``merge:cat``, ...), each ``dead`` position's output (zeros: a ``none``) and ``orphan``
    tensors a position reads that come from no vertex (a constant). ``edges`` are the
    positions ``(name, input vertices, output vertex or None when the position multiplied
    by 0)``; ``wires`` link the operands of a merge to it.
    """

    def __init__(self) -> None:
        self.kinds: list[str] = []
        self.input_index: dict[int, int] = {}
        self.edges: list[tuple[str, list[int], int | None]] = []
        self.wires: list[tuple[int, int]] = []
        self.output: int | None = None
        self.closed = False

    def new(self, kind: str) -> int:
        self.kinds.append(kind)
        return len(self.kinds) - 1


class _Recorder:
    """Forward hooks on blocks and positions, and a TorchFunctionMode carrying labels."""

    def __init__(self, blocks: dict[str, Any]) -> None:
        self.blocks = blocks
        self.labels: dict[int, frozenset[str]] = {}  # id(tensor) -> sources
        self.alive: list[Any] = []
        self.in_shapes: dict[str, list[tuple[int, ...]]] = {}
        self.out_shape: dict[str, tuple[int, ...] | None] = {}
        self.sources: dict[str, dict[str, frozenset[str]]] = defaultdict(dict)
        self.out_sources: dict[str, frozenset[str]] = {}
        self.dead: dict[str, set[str]] = defaultdict(set)  # positions multiplying by 0
        self.zeroed: set[int] = set()  # id(tensor) of outputs of a multiplication by 0
        self.active: list[str] = []  # the block being run (outermost only)
        # the block graph (see _BlockGraph): tensors -> vertices of the running block, the
        # positions running (with their input vertices and whether they multiplied by 0)
        self.graphs: dict[str, _BlockGraph] = {}
        self.vertex: dict[int, int] = {}
        self.running: list[tuple[str, list[int], list[bool]]] = []

    def label(self, out: Any, value: frozenset[str]) -> None:
        from libranas.network_features import _flat_args, _is_tensor

        for t in _flat_args(out if isinstance(out, (tuple, list)) else (out,)):
            if _is_tensor(t):
                self.labels[id(t)] = value
                self.alive.append(t)

    def of(self, args: Any) -> frozenset[str]:
        from libranas.network_features import _flat_args, _is_tensor

        found: set[str] = set()
        for t in _flat_args(args):
            if _is_tensor(t):
                found |= self.labels.get(id(t), frozenset())
        return frozenset(found)

    def hooks(self) -> list[Any]:
        from libranas.network_features import _flat_args, _is_tensor, _shape

        handles = []
        for path, block in self.blocks.items():

            def pre(module: Any, args: Any, path: str = path) -> Any:
                tensors = [t for t in _flat_args(args) if _is_tensor(t)]
                self.in_shapes.setdefault(path, [_shape(t) for t in tensors])
                self.active.append(path)
                for i, t in enumerate(tensors):
                    self.label(t, frozenset([f"in{i}"]))
                if path in self.graphs:
                    return None
                # the first call of a block is described; a tensor given for two inputs
                # (DARTS' first cell: s0 is s1) becomes an alias per place, so each input
                # is a node of its own (the wiring labels stay those of its last place)
                graph = self.graphs[path] = _BlockGraph()
                self.vertex = {}
                new_args, seen = list(args), set()
                for k, a in enumerate(args):
                    if _is_tensor(a):
                        if id(a) in seen:
                            new_args[k] = a.detach()
                            self.label(new_args[k], self.labels[id(a)])
                        seen.add(id(a))
                tensors = [t for t in _flat_args(tuple(new_args)) if _is_tensor(t)]
                for i, t in enumerate(tensors):
                    v = self.vertex.get(id(t))
                    if v is None:
                        v = self.vertex[id(t)] = graph.new("input")
                        self.alive.append(t)
                    graph.input_index[v] = i
                return tuple(new_args) if len(seen) < sum(map(_is_tensor, args)) else None

            def post(module: Any, args: Any, out: Any, path: str = path) -> None:
                self.active.pop()
                self.out_sources.setdefault(path, self.of((out,)))
                self.out_shape.setdefault(path, _shape(out))
                graph = self.graphs.get(path)
                if graph is not None and not graph.closed:
                    tensors = [t for t in _flat_args((out,)) if _is_tensor(t)]
                    if tensors:
                        graph.output = self.vertex_of(graph, tensors[0])
                    graph.closed = True

            handles.append(block.register_forward_pre_hook(pre))
            handles.append(block.register_forward_hook(post))
            for pos, module in _positions(block):

                def ppre(m: Any, args: Any, path: str = path, pos: str = pos) -> None:
                    if self.active and self.active[-1] == path:
                        self.sources[path].setdefault(pos, self.of(args))
                        graph = self.graphs[path]
                        if not graph.closed:
                            ins = [self.vertex_of(graph, t) for t in _flat_args(args)
                                   if _is_tensor(t)]  # fmt: skip
                            self.running.append((pos, list(dict.fromkeys(ins)), [False]))

                def ppost(m: Any, args: Any, out: Any, path: str = path, pos: str = pos) -> None:
                    if self.active and self.active[-1] == path:
                        if id(out) in self.zeroed:  # a "none" operation: nothing flows
                            self.dead[path].add(pos)
                            self.label(out, frozenset())
                        else:
                            self.label(out, frozenset([pos]))
                        self.end_position(path, pos, out)

                handles.append(module.register_forward_pre_hook(ppre))
                handles.append(module.register_forward_hook(ppost))
        return handles

    def vertex_of(self, graph: _BlockGraph, t: Any) -> int:
        """The vertex of tensor ``t``; a tensor the block did not compute from its inputs
        (the output of a ``none``, a constant) gets a vertex of its own when first used."""
        v = self.vertex.get(id(t))
        if v is None:
            v = self.vertex[id(t)] = graph.new("orphan")
            self.alive.append(t)
        return v

    def end_position(self, path: str, pos: str, out: Any) -> None:
        from libranas.network_features import _flat_args, _is_tensor

        if not self.running or self.running[-1][0] != pos:
            return
        _pos, ins, zero = self.running.pop()
        graph = self.graphs[path]
        tensors = [t for t in _flat_args((out,)) if _is_tensor(t)]
        # multiplied by 0 (a cell's "none"): no edge; its output (zeros) is a vertex that
        # nothing reaches, made here so vertices keep the order the tensors were made in
        v = graph.new("dead" if zero[0] else "position")
        graph.edges.append((pos, ins, None if zero[0] else v))
        for t in tensors:
            self.vertex[id(t)] = v
            self.alive.append(t)

    def merge(self, func: Any, flat: list[Any], out: Any) -> None:
        """A function outside the positions: one operand vertex passes through (reshapes,
        activations of the block's own), several meet in a new vertex (sums, concatenations)."""
        from libranas.network_features import _flat_args, _func_name, _is_tensor

        graph = self.graphs.get(self.active[-1])
        if graph is None or graph.closed:
            return
        operands = list(
            dict.fromkeys(
                self.vertex[id(t)] for t in flat if _is_tensor(t) and id(t) in self.vertex
            )
        )
        if not operands:
            return
        if len(operands) == 1:
            v = operands[0]
        else:
            v = graph.new(_merge_kind(_func_name(func)))
            graph.wires.extend((u, v) for u in operands)
        for t in _flat_args(out if isinstance(out, (tuple, list)) else (out,)):
            if _is_tensor(t):
                self.vertex[id(t)] = v
                self.alive.append(t)

    def mode(self) -> Any:
        from torch.overrides import TorchFunctionMode

        from libranas.network_features import _MUL_FUNCS, _flat_args, _func_name, _is_tensor

        recorder = self

        class _Mode(TorchFunctionMode):
            def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
                kwargs = kwargs or {}
                out = func(*args, **kwargs)
                if recorder.active:
                    flat = _flat_args(tuple(args) + tuple(kwargs.values()))
                    src = recorder.of(flat)
                    if src:
                        recorder.label(out, src)
                    tensors = [t for t in flat if _is_tensor(t)]
                    zero = _func_name(func) in _MUL_FUNCS and any(
                        isinstance(a, (int, float)) and not isinstance(a, bool) and a == 0
                        for a in flat
                    )
                    if (
                        _is_tensor(out)
                        and tensors
                        and (zero or all(id(t) in recorder.zeroed for t in tensors))
                    ):
                        recorder.zeroed.add(id(out))
                        recorder.alive.append(out)
                    if recorder.running:
                        if zero:
                            recorder.running[-1][2][0] = True
                    elif tensors:
                        recorder.merge(func, flat, out)
                return out

        return _Mode()


def _run(model: Any, blocks: dict[str, Any], shape: tuple[int, ...], device: str) -> _Recorder:
    import torch

    from libranas.network_features import _SkipShapePreserving

    recorder = _Recorder(blocks)
    handles = recorder.hooks()
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), _SkipShapePreserving(model), recorder.mode():
            model(torch.zeros((1, *shape), device=device))
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return recorder


def _describe(model: Any, recorder: _Recorder) -> dict[str, float]:
    """The named values of one architecture (columns present in it only)."""
    per_variant: dict[str, list[str]] = defaultdict(list)
    for path, block in recorder.blocks.items():
        ins = [_positions_of(s) for s in recorder.in_shapes.get(path, []) if s]
        out = recorder.out_shape.get(path)
        reduces = bool(ins) and out is not None and _positions_of(out) < min(ins)
        per_variant[type(block).__name__ + ("/reduce" if reduces else "")].append(path)
    resolutions = sorted(
        {_positions_of(recorder.out_shape.get(p)) for p in recorder.blocks}, reverse=True
    )
    values: dict[str, float] = {}
    for variant, paths in per_variant.items():
        n = len(paths)
        values[f"{variant}:n"] = float(n)
        kinds: Counter[str] = Counter()
        ops: Counter[str] = Counter()
        params: dict[str, float] = defaultdict(float)
        for path in paths:
            block = recorder.blocks[path]
            stage = resolutions.index(_positions_of(recorder.out_shape.get(path)))
            key = f"stage{stage}:{variant}:n"
            values[key] = values.get(key, 0.0) + 1.0
            kinds.update(
                _leaf_kind(m) for m in block.modules() if not any(True for _ in m.children())
            )
            for pos, module in _positions(block):
                ops[f"{variant}:{pos}={_signature(module)}"] += 1
                src = recorder.sources.get(path, {}).get(pos)
                if src is not None:
                    ops[f"{variant}:{pos}<-{'+'.join(sorted(src)) or 'const'}"] += 1
                size = sum(p.numel() for p in module.parameters())
                params[f"{variant}:{pos}:log2_params"] += math.log2(1.0 + size)
            for name, value in _cell_paths(block, recorder, path).items():
                params[f"{variant}:{name}"] += value
        values.update(_variant_graph(recorder, paths, variant))
        values.update({f"{variant}:count:{k}": c / n for k, c in kinds.items()})
        values.update({k: c / n for k, c in ops.items()})
        values.update({k: s / n for k, s in params.items()})
    return values


def _variant_graph(recorder: _Recorder, paths: list[str], variant: str) -> dict[str, float]:
    """``<variant>:graph:...`` -- GRAF's features of each instance's cell graph, means over
    the instances (an instance lacking an operation or node counts GRAF's absent value)."""
    sigs: dict[str, dict[str, str]] = {}
    ops: set[str] = set()
    free: set[str] = set()
    for path in paths:
        graph = recorder.graphs.get(path)
        if graph is None:
            continue
        modules = dict(_positions(recorder.blocks[path]))
        sigs[path] = {pos: _signature(m) for pos, m in modules.items()}
        skipped = _input_preprocessing(graph)
        for k, (name, _ins, out) in enumerate(graph.edges):
            if out is not None and k not in skipped:
                ops.add(sigs[path][name])
                if not any(True for _ in modules[name].parameters()):
                    free.add(sigs[path][name])
    per = [
        {f"{variant}:{k}": v for k, v in _graph_values(recorder.graphs[p], sigs[p], sorted(ops),
                                                        free).items()}
        for p in sigs
    ]  # fmt: skip
    names = sorted({k for d in per for k in d})
    return {k: sum(d[k] if k in d else _graph_default(k, d) for d in per) / len(per) for k in names}


def _cell_graph(
    graph: _BlockGraph, signatures: dict[str, str]
) -> tuple[int, list[tuple[int, int, str]], dict[int, list[int]], int | None]:
    """One block instance as GRAF's edge-labelled cell DAG.

    Nodes are the block's states -- its inputs, the tensors the positions read, its output
    and the sums / concatenations between them --, edges its live positions (labelled by
    their operation signature) and ``~wire`` links (a state summed or concatenated into a
    later one: no operation, no length). A position's output (or a ``none``'s zeros) that
    only flows into one merge is that merge's node (the positions summed into a DARTS /
    NB201 node are its incoming edges), and a merge that only flows into a merge of the same
    function joins it (``a + b + c`` is one node). Positions that multiply by 0 (``none``)
    are no edge, and their zeros no link; the states they read and write stay nodes (with
    no edge when nothing else reaches them), so a cell keeps its nodes whatever its
    ``none`` edges.

    Parameters
    ----------
    graph : _BlockGraph
        What the recorder saw of the block instance.
    signatures : dict
        Position name -> operation signature.

    Returns
    -------
    n_nodes, edges, inputs, output
        Nodes ``0..n_nodes-1`` in the order the tensors were made (topological); edges
        ``(source, target, label)``; the input nodes by the block argument they come from (an
        input with preprocessing is the node of its preprocessed state, numbered where that
        tensor was made, so input nodes need not come first);
        the output node (None when the block output was not seen).
    """
    consumers: dict[int, list[tuple[str, Any]]] = defaultdict(list)
    for name, ins, _out in graph.edges:
        for u in ins:
            consumers[u].append(("position", name))
    for u, m in graph.wires:
        consumers[u].append(("wire", m))
    dead = {v for v, kind in enumerate(graph.kinds) if kind == "dead"}
    if graph.output is not None:
        consumers[graph.output].append(("output", None))
    parent: dict[int, int] = {}
    for v, kind in enumerate(graph.kinds):
        use = consumers.get(v, [])
        if len(use) == 1 and use[0][0] == "wire":
            m = use[0][1]
            if kind in ("position", "dead") or (
                kind.startswith("merge:") and graph.kinds[m] == kind
            ):
                parent[v] = m

    preprocessing = _input_preprocessing(graph)
    for k in preprocessing:
        _name, ins, out = graph.edges[k]
        parent.pop(out, None)  # the preprocessed state stays a node of its own
        parent[ins[0]] = out  # the input's state is the preprocessed one

    def rep(v: int) -> int:
        while v in parent:
            v = parent[v]
        return v

    used = {rep(v) for v in range(len(graph.kinds))}
    index = {v: k for k, v in enumerate(sorted(used))}
    edges: list[tuple[int, int, str]] = []
    for k, (name, ins, out) in enumerate(graph.edges):
        if out is not None and k not in preprocessing:
            edges += [(index[rep(u)], index[rep(out)], signatures[name]) for u in ins]
    for u, m in graph.wires:
        if u not in dead and rep(u) != rep(m):  # zeros carry nothing: no link
            edges.append((index[rep(u)], index[rep(m)], _WIRE))
    inputs: dict[int, list[int]] = defaultdict(list)
    for v, i in graph.input_index.items():
        inputs[i].append(index[rep(v)])
    output = None if graph.output is None else index[rep(graph.output)]
    return len(index), edges, dict(inputs), output


def _input_preprocessing(graph: _BlockGraph) -> set[int]:
    """Indices (in ``graph.edges``) of the positions that preprocess a block input: in a block
    with two or more inputs, a live position, run once, that is the only reader of an input,
    reads nothing else and is not the block's output (DARTS' ``preprocess0`` /
    ``preprocess1``, which align the previous cells' widths and resolutions). GRAF's cell
    graph starts at the preprocessed states: were these positions edges, every path would
    pass one, so no path could run through parameter-free or through one operation only. A
    one-input block keeps its first position (in a chain it is the block's first operation,
    not an alignment)."""
    if len(set(graph.input_index.values())) < 2:
        return set()
    calls = Counter(name for name, _ins, _out in graph.edges)
    readers: dict[int, list[int]] = defaultdict(list)  # vertex -> edges and wires reading it
    for k, (_name, ins, _out) in enumerate(graph.edges):
        for u in ins:
            readers[u].append(k)
    for u, _m in graph.wires:
        readers[u].append(-1)
    found = set()
    for v in graph.input_index:
        if len(readers[v]) != 1 or readers[v][0] < 0:
            continue
        k = readers[v][0]
        name, ins, out = graph.edges[k]
        if (calls[name] == 1 and ins == [v] and out is not None
                and graph.output not in (v, out)):  # fmt: skip
            found.add(k)
    return found


def _graph_values(
    graph: _BlockGraph, signatures: dict[str, str], ops: list[str], free: set[str]
) -> dict[str, float]:
    """GRAF's features (:func:`libranas.spaces._graph.path_features`) of one block instance:
    ``graph:<name>`` over the paths from every input, and ``graph:from<i>:<name>`` from the
    block's i-th input alone when it has several."""
    from libranas.spaces._graph import path_features

    n_nodes, edges, inputs, output = _cell_graph(graph, signatures)
    every = sorted({v for vs in inputs.values() for v in vs})
    views = [("", every)]
    n_inputs = max(inputs, default=-1) + 1
    if n_inputs > 1:
        views += [(f"from{i}:", inputs.get(i, [])) for i in range(n_inputs)]
    out: dict[str, float] = {}
    for prefix, starts in views:
        if output is None:  # no output seen: no paths, nothing is a sink
            starts, target = [], n_nodes
            values = path_features(n_nodes + 1, edges, ops, starts, target, free, wire=_WIRE)
        else:
            values = path_features(n_nodes, edges, ops, starts, output, free, wire=_WIRE)
        out.update({f"graph:{prefix}{k}": v for k, v in values.items()})
    return out


#: GRAF values of an operation or node a block instance lacks, by statistic
_GRAPH_ABSENT = {"n_paths_without": "n_paths", "min_len_without": "min_len",
                 "max_len_without": "max_len"}  # fmt: skip
_GRAPH_NONE = ("min_len_only", "max_len_only", "depth")  # -1: no such path / unreachable


def _graph_default(name: str, values: dict[str, float]) -> float:
    """The value of GRAF column ``name`` (``...:graph:[from<i>:]<stat>[:<op or node>]``) in
    an instance that lacks it: paths without an absent operation are all paths, lengths of
    paths only through it and depths of absent nodes -1 (as GRAF's), counts 0."""
    head, _, rest = name.partition(":graph:")
    prefix = f"{head}:graph:"
    view, _, tail = rest.partition(":")
    if re.fullmatch(r"from\d+", view):
        prefix, rest = prefix + view + ":", tail
    stat = rest.split(":")[0]
    if stat in _GRAPH_ABSENT:
        return values.get(prefix + _GRAPH_ABSENT[stat], 0.0)
    return -1.0 if stat in _GRAPH_NONE else 0.0


def _path_stats(
    preds: dict[str, frozenset[str]], order: list[str], sinks: frozenset[str], through: set[str]
) -> tuple[float, float, float]:
    """Number, shortest and longest length (in positions) of the input-to-output paths of a
    block's position graph that visit a position of ``through`` (every path when empty)."""
    need = 1 if through else 0
    # per node and "visited through yet": (paths, min length, max length)
    state: dict[tuple[str, int], tuple[float, float, float]] = {}
    for node in {q for p in order for q in preds[p] if q.startswith("in")} | {
        q for q in sinks if q.startswith("in")
    }:
        state[(node, 0)] = (1.0, 0.0, 0.0)
    for p in order:
        hit = p in through
        for q in preds[p]:
            for flag in (0, 1):
                if (q, flag) not in state:
                    continue
                n, lo, hi = state[(q, flag)]
                key = (p, 1 if (flag or hit) else 0)
                m, lo2, hi2 = state.get(key, (0.0, math.inf, -math.inf))
                state[key] = (m + n, min(lo2, lo + 1), max(hi2, hi + 1))
    total, lo, hi = 0.0, math.inf, -math.inf
    for q in sinks:
        for flag in (0, 1) if need == 0 else (1,):
            if (q, flag) in state:
                n, a, b = state[(q, flag)]
                total, lo, hi = total + n, min(lo, a), max(hi, b)
    return (total, lo, hi) if total else (0.0, 0.0, 0.0)


def _cell_paths(block: Any, recorder: _Recorder, path: str) -> dict[str, float]:
    """GRAF's cell-graph features on one block's position graph: input-output paths overall
    and through each operation (number, shortest, longest), live positions per operation;
    positions that multiply by 0 (a cell's ``none``) cut their edges."""
    dead = recorder.dead.get(path, set())
    sigs = {pos: _signature(m) for pos, m in _positions(block) if pos not in dead}
    preds = {
        pos: frozenset(q for q in recorder.sources.get(path, {}).get(pos, ()) if q not in dead)
        for pos in sigs
    }
    order: list[str] = []  # topological (Kahn); a position in a cycle is left out
    left = dict(preds)
    while True:
        ready = [p for p, q in left.items() if all(x.startswith("in") or x in order for x in q)]
        if not ready:
            break
        for p in ready:
            order.append(p)
            del left[p]
    sinks = frozenset(q for q in recorder.out_sources.get(path, ()) if q not in dead)
    n, lo, hi = _path_stats(preds, order, sinks, set())
    out = {"paths:n": n, "paths:min_len": lo, "paths:max_len": hi, "dead:n": float(len(dead))}
    modules = dict(_positions(block))
    free = {p for p in sigs if not any(True for _ in modules[p].parameters())}
    n, lo, hi = _path_stats(*_only(preds, order, sinks, free), set())
    out.update({"param_free:paths": n, "param_free:min_len": lo, "param_free:max_len": hi})
    for sig in sorted(set(sigs.values())):
        through = {p for p, s in sigs.items() if s == sig}
        n, lo, hi = _path_stats(preds, order, sinks, through)
        only = _path_stats(*_only(preds, order, sinks, through), set())[0]
        out.update({f"op:{sig}:count": float(len(through)), f"op:{sig}:paths": n,
                    f"op:{sig}:min_len": lo, f"op:{sig}:max_len": hi,
                    f"op:{sig}:only_paths": only})  # fmt: skip
    return out


def _only(
    preds: dict[str, frozenset[str]], order: list[str], sinks: frozenset[str], keep: set[str]
) -> tuple[dict[str, frozenset[str]], list[str], frozenset[str]]:
    """The position graph restricted to the positions ``keep`` (and the block's inputs)."""
    kept = {p: frozenset(q for q in preds[p] if q in keep or q.startswith("in")) for p in keep}
    return (
        kept,
        [p for p in order if p in keep],
        frozenset(q for q in sinks if q in keep or q.startswith("in")),
    )


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def block_description(
    space: Any,
    arch: Any,
    input_shape: Sequence[int] | None = None,
    num_classes: int | None = None,
) -> dict[str, float]:
    """The repeated-block values of one architecture: column name -> value.

    Only the columns that apply to this architecture are present (see the module's
    docstring); :func:`block_matrix` aligns several architectures to fixed columns. Built on
    the ``meta`` device, cached per (space, architecture, input shape, classes).

    Examples
    --------
    >>> from libranas.spaces import get_space
    >>> d = block_description(get_space("nb201"), "|nor_conv_3x3~0|+|none~0|skip_connect~1|+"
    ...                       "|none~0|none~1|skip_connect~2|")
    >>> d["NB201Cell:n"], d["NB201Cell:edges.0=ReLUConvBN(relu,conv3x3,batchnorm2d)"]
    (15.0, 1.0)
    """
    from libranas.network_features import _arch_key, build_network

    shape = input_shape if input_shape is not None else getattr(space, "default_input_shape", None)
    shape = tuple(int(s) for s in (shape or (3, 32, 32)))
    key = (_arch_key(arch), shape, num_classes)
    try:
        store = _CACHE.setdefault(space, {})
    except TypeError:  # not weak-referenceable: no cache
        store = {}
    if key not in store:
        model, device = build_network(space, arch, num_classes=num_classes)
        blocks = find_blocks(model)
        try:
            recorder = _run(model, blocks, shape, device)
        except Exception:  # noqa: BLE001 - a network that cannot run on meta: on the CPU
            if device != "meta":
                raise
            model = space.build(arch, num_classes=num_classes)
            blocks = find_blocks(model)
            recorder = _run(model, blocks, shape, "cpu")
        store[key] = _describe(model, recorder)
    return dict(store[key])


def block_descriptions(
    space: Any,
    archs: Sequence[Any],
    input_shape: Sequence[int] | None = None,
    num_classes: int | None = None,
) -> list[dict[str, float]]:
    """:func:`block_description` of each architecture."""
    return [block_description(space, a, input_shape, num_classes) for a in archs]


def _position_key(name: str) -> str | None:
    """``variant:position`` of a ``=op`` / ``<-src`` column, else None."""
    m = re.match(r"^(.*?:[^:=<]+?)(=|<-)", name)
    return m.group(1) if m and not name.startswith("stage") else None


def _natural(name: str) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def block_vocabulary(descriptions: Sequence[dict[str, float]]) -> list[str]:
    """The fixed columns for ``descriptions`` (the architectures a featurizer is fitted on).

    Every column any description has, plus ``<variant>:<position>=absent`` and
    ``=unseen`` for every position and ``unseen_variants:n``, in a stable (natural) order.

    Examples
    --------
    >>> block_vocabulary([{"Cell:n": 2.0, "Cell:op.0=conv3x3": 1.0}])
    ['Cell:n', 'Cell:op.0=absent', 'Cell:op.0=conv3x3', 'Cell:op.0=unseen', 'unseen_variants:n']
    """
    names: set[str] = set()
    for d in descriptions:
        names.update(d)
    for name in list(names):
        pos = _position_key(name)
        if pos is not None:
            names.update({f"{pos}=absent", f"{pos}=unseen"})
    names.add(_UNSEEN_VARIANTS)
    return sorted(names, key=_natural)


def block_matrix(descriptions: Sequence[dict[str, float]], names: Sequence[str]) -> np.ndarray:
    """``descriptions`` written into the columns ``names`` (from :func:`block_vocabulary`).

    A column an architecture lacks is 0; a position a variant has in ``names`` but an
    architecture lacks is counted in its ``=absent`` column (1 - the fractions present); an
    operation or wiring not among ``names`` goes to the position's ``=unseen`` column, a
    variant not among ``names`` to ``unseen_variants:n``.

    Returns
    -------
    ndarray of float64, shape (len(descriptions), len(names))
    """
    index = {n: j for j, n in enumerate(names)}
    variants = {n[: -len(":n")] for n in names if n.endswith(":n") and not n.startswith("stage")}
    ops_of: dict[str, list[int]] = defaultdict(list)
    for n, j in index.items():
        if n.endswith(("=absent", "=unseen")):
            continue
        pos = _position_key(n)
        if pos is not None and "=" in n[len(pos) : len(pos) + 1]:
            ops_of[pos].append(j)
    graph_cols = [(j, n, n.split(":")[0]) for n, j in index.items() if ":graph:" in n]
    out = np.zeros((len(descriptions), len(names)), dtype=np.float64)
    for i, d in enumerate(descriptions):
        for j, n, variant in graph_cols:  # GRAF's value of an operation / node it lacks
            if n not in d and d.get(f"{variant}:n"):
                out[i, j] = _graph_default(n, d)
        for name, value in d.items():
            if name in index:
                out[i, index[name]] += value
                continue
            variant = name.split(":")[1] if name.startswith("stage") else name.split(":")[0]
            if variant not in variants:
                if name.endswith(":n") and not name.startswith("stage"):
                    out[i, index[_UNSEEN_VARIANTS]] += value
                continue
            pos = _position_key(name)
            if pos is not None and f"{pos}=unseen" in index:
                out[i, index[f"{pos}=unseen"]] += value
            elif name.endswith(":log2_params") or any(
                tag in name
                for tag in (":count:", ":op:", ":paths:", ":dead:", ":param_free:", ":graph:")
            ):
                continue  # a size, kind or path count of an operation the fit never saw:
                # its position's =unseen column carries the change
            else:
                raise ValueError(f"block column {name!r} has no place among the fitted columns")
        for pos, cols in ops_of.items():
            absent = index.get(f"{pos}=absent")
            if absent is not None:
                present = out[i, cols].sum() + out[i, index[f"{pos}=unseen"]]
                out[i, absent] = max(0.0, 1.0 - present) if d.get(f"{pos.split(':')[0]}:n") else 1.0
    return out


def block_summary_names() -> list[str]:
    """Names of :func:`block_summary`'s columns (the same for every network).

    Examples
    --------
    >>> block_summary_names()[:4]
    ['n_variants', 'n_blocks', 'slot0:n', 'slot0:reduce']
    """
    return ["n_variants", "n_blocks"] + [
        f"slot{k}:{stat}" for k in range(SUMMARY_SLOTS) for stat in _SLOT_STATS
    ]


def block_summary(description: dict[str, float]) -> np.ndarray:
    """Fixed columns of one :func:`block_description`, the same for every network.

    The per-position columns are named by each space's modules and operations, so they mean
    nothing in another space; these do: the number of variants and blocks, and for the
    :data:`SUMMARY_SLOTS` variants with the most instances (ties by name) their instances,
    whether they reduce, their positions, dead positions, and their cell-graph paths
    (number, shortest, longest; overall and through parameter-free positions only). Absent
    slots are 0. For transfer between spaces (:class:`libranas.transfer.TransferRanker`).

    Returns
    -------
    ndarray of float64, shape (len(block_summary_names()),)
    """
    variants = {
        n[: -len(":n")]: v
        for n, v in description.items()
        if n.endswith(":n") and not n.startswith("stage") and n.count(":") == 1
    }
    slots = sorted(variants, key=lambda v: (-variants[v], v))[:SUMMARY_SLOTS]
    out = [float(len(variants)), float(sum(variants.values()))]
    for k in range(SUMMARY_SLOTS):
        if k >= len(slots):
            out += [0.0] * len(_SLOT_STATS)
            continue
        v = slots[k]
        positions = {_position_key(n) for n in description if n.startswith(f"{v}:")} - {None}
        extra = {"reduce": float(v.endswith("/reduce")), "positions": float(len(positions))}
        out += [extra[s] if s in extra else description.get(f"{v}:{s}", 0.0) for s in _SLOT_STATS]
    return np.asarray(out, dtype=np.float64)
