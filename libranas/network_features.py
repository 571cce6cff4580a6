"""Architecture features read from the PyTorch network itself, for any search space.

:class:`~libranas.ArchFeaturizer` with ``features=("network",)`` calls these functions. They
need nothing from a space but :meth:`~libranas.spaces.SearchSpace.build`, so a user's
:class:`~libranas.spaces.ModelSpace`, a timm model list and every registered space get the
same, fixed set of named columns (:func:`network_feature_names`).

How a network is read
---------------------
1. **Build without weights**: the network is built under ``torch.device("meta")``: parameters
   have shapes but no storage, initialisation costs nothing. A build that fails on ``meta``
   (e.g. one that reads a tensor value) is built on the CPU instead (``trace_info()`` says so).
2. **Trace**: ``torch.fx.symbolic_trace`` gives the computation graph; an interpreter runs it
   on a ``meta`` tensor of the input shape (batch 1) to record every node's output shape.
   *Fallback* for networks fx cannot trace (data-dependent Python control flow, asserts on
   shapes, e.g. timm's ViTs): one forward pass of a batch-1 ``meta`` input (CPU when the
   network cannot run on ``meta``) with forward hooks on the leaf modules and a
   ``TorchFunctionMode`` recording the functional operations between them (additions,
   concatenations, matmuls, softmaxes); tensors are linked to the node that produced them.
   Both tracers give the same raw graph, so both give the same features for networks both can
   read (tested).
3. **Contract**: every node gets an operation type (:data:`OP_TYPES`); shape plumbing (view,
   reshape, permute, getitem, flatten, dropout, scaling by a constant) is contracted away, a
   multiplication by the constant 0 (the cell spaces' ``none`` operation) cuts its edge, an
   addition or concatenation is a merge only when two or more distinct inputs reach it.
   Nodes not reached from the input (parameters such as a class token) are dropped.

Columns (fixed for every network)
---------------------------------
- global: ``log10_params``, ``log10_flops`` (multiply-accumulates of a batch-1 forward pass:
  convolutions, linear maps, matmuls, attention), ``n_ops`` (typed nodes), ``n_merges``,
  ``depth`` (longest input-output path, in operations), ``depth_weighted`` (longest path
  counting only parametric operations: conv and linear), ``log10_paths`` (number of
  input-output paths, counted by dynamic programming on the DAG), ``min_len``, ``max_len``
  (shortest / longest input-output path), ``n_resolutions``.
- per operation type ``t`` in :data:`OP_TYPES`: ``t:count``, ``t:param_share``,
  ``t:flop_share``, ``t:log10_paths`` (input-output paths through at least one ``t``),
  ``t:path_share`` (their fraction of all paths), ``t:min_len``, ``t:max_len`` (shortest and
  longest such path) -- GRAF's cell-graph features generalised to the whole network's graph.
- :data:`N_STAGE_SLOTS` stage slots: the network's nodes grouped by resolution (spatial
  positions ``H*W`` of a feature map, tokens of a sequence), slots in decreasing resolution
  (groups past the last slot are merged into it; absent slots are 0): ``stage<k>:log2_side``
  (``log2 sqrt(positions)``), ``stage<k>:log2_width`` (widest channel / embedding),
  ``stage<k>:op_share``, ``stage<k>:flop_share``, ``stage<k>:param_share``,
  ``stage<k>:start`` (where the stage starts along the longest path, 0..1: the downsampling
  positions).
- attention: ``attn:count``, heads, embedding width (input width of the attention's first
  linear maps) and MLP ratio (hidden / input width of a linear-activation-linear pair) per
  block, each as ``_mean``, ``_min``, ``_max``; ``mlp:count``.

Columns that do not apply (no attention, no path through an operation type) are 0, so every
value is finite. Features of one architecture are deterministic (no weights are read).
"""

from __future__ import annotations

import math
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "N_STAGE_SLOTS",
    "OP_TYPES",
    "RawGraph",
    "build_network",
    "features_from_graph",
    "network_feature_names",
    "network_features",
    "network_features_many",
    "trace_info",
    "trace_network",
]

#: operation types, in column order
OP_TYPES: tuple[str, ...] = (
    "conv1x1",
    "conv3x3",
    "conv5x5",
    "conv7x7",
    "conv_other",  # other kernel sizes, 1-D / 3-D convs, functional convs
    "conv_dilated",
    "conv_grouped",  # 1 < groups < in_channels
    "conv_depthwise3x3",
    "conv_depthwise5x5",
    "conv_depthwise_other",
    "conv_transpose",
    "pool_avg",
    "pool_max",
    "pool_global",  # adaptive / global pooling, spatial means
    "norm_batch",
    "norm_layer",
    "norm_other",
    "act_relu",
    "act_gelu",
    "act_other",
    "linear",
    "attention",  # softmax over a (heads, tokens, tokens) map, SDPA, nn.MultiheadAttention
    "matmul",
    "identity",
    "add",
    "concat",
    "mul",  # elementwise product of two computed tensors (gating)
    "upsample",
    "other",
)
#: resolution groups given their own columns
N_STAGE_SLOTS = 6
_PARAMETRIC = ("conv", "linear")
_GLOBAL = (
    "log10_params",
    "log10_flops",
    "n_ops",
    "n_merges",
    "depth",
    "depth_weighted",
    "log10_paths",
    "min_len",
    "max_len",
    "n_resolutions",
)
_PER_TYPE = (
    "count",
    "param_share",
    "flop_share",
    "log10_paths",
    "path_share",
    "min_len",
    "max_len",
)
_PER_STAGE = ("log2_side", "log2_width", "op_share", "flop_share", "param_share", "start")
_ATTN = (
    "attn:count",
    "attn:heads_mean",
    "attn:heads_min",
    "attn:heads_max",
    "attn:log2_embed_mean",
    "attn:log2_embed_min",
    "attn:log2_embed_max",
    "mlp:count",
    "mlp:ratio_mean",
    "mlp:ratio_min",
    "mlp:ratio_max",
)
# node kinds that are not operations: contracted away
_STRUCTURAL = "structural"
_ZERO = "zero"
_INPUT = "input"
_OUTPUT = "output"


def network_feature_names() -> list[str]:
    """Names of the :func:`network_features` columns (the same for every network).

    Examples
    --------
    >>> names = network_feature_names()
    >>> names[:3], "conv3x3:count" in names, len(names) == len(set(names))
    (['log10_params', 'log10_flops', 'n_ops'], True, True)
    """
    names = list(_GLOBAL)
    names += [f"{t}:{s}" for t in OP_TYPES for s in _PER_TYPE]
    names += [f"stage{k}:{s}" for k in range(N_STAGE_SLOTS) for s in _PER_STAGE]
    names += list(_ATTN)
    return names


# ----------------------------------------------------------------------------- raw graph


@dataclass
class RawNode:
    """One traced operation: its kind, producers, output shape, parameters and MACs."""

    kind: str
    inputs: list[int]
    shape: tuple[int, ...] | None = None
    params: int = 0
    flops: float = 0.0
    heads: int = 0  # attention heads (attention nodes)
    in_width: int = 0  # input features (linear nodes)
    out_width: int = 0


@dataclass
class RawGraph:
    """Nodes in topological order; node 0 is the input, the last node the output."""

    nodes: list[RawNode] = field(default_factory=list)
    n_params: int = 0
    tracer: str = ""  # "fx" or "hooks"
    device: str = ""  # "meta" or "cpu"

    def add(self, node: RawNode) -> int:
        self.nodes.append(node)
        return len(self.nodes) - 1


def _is_tensor(x: Any) -> bool:
    import torch

    return isinstance(x, torch.Tensor)


def _shape(x: Any) -> tuple[int, ...] | None:
    if _is_tensor(x):
        return tuple(int(s) for s in x.shape)
    if isinstance(x, (tuple, list)) and x and _is_tensor(x[0]):
        return tuple(int(s) for s in x[0].shape)
    return None


def _per_sample(shape: tuple[int, ...] | None) -> int:
    """Elements of one sample of an output (the batch is 1, so all of them)."""
    return int(np.prod(shape)) if shape else 0


def _classify_module(module: Any, out_shape: tuple[int, ...] | None) -> RawNode:
    """Kind, parameters and MACs of a leaf module's call."""
    from torch import nn

    params = sum(p.numel() for p in module.parameters(recurse=True))
    name = type(module).__name__.lower()
    node = RawNode(kind="other", inputs=[], shape=out_shape, params=int(params))
    if isinstance(module, nn.modules.conv._ConvNd):
        k = module.kernel_size
        groups, c_in = module.groups, module.in_channels
        node.flops = _per_sample(out_shape) * (c_in // groups) * int(np.prod(k))
        if module.transposed:
            node.kind = "conv_transpose"
            node.flops = _per_sample(out_shape) * (module.out_channels // groups) * int(np.prod(k))
        elif any(d > 1 for d in module.dilation):
            node.kind = "conv_dilated"
        elif groups > 1 and groups == c_in:
            square = len(k) == 2 and k[0] == k[1]
            node.kind = (
                f"conv_depthwise{k[0]}x{k[0]}"
                if square and k[0] in (3, 5)
                else "conv_depthwise_other"
            )
        elif groups > 1:
            node.kind = "conv_grouped"
        elif len(k) == 2 and k[0] == k[1] and k[0] in (1, 3, 5, 7):
            node.kind = f"conv{k[0]}x{k[0]}"
        else:
            node.kind = "conv_other"
    elif isinstance(module, nn.Linear):
        node.kind = "linear"
        node.in_width, node.out_width = module.in_features, module.out_features
        node.flops = _per_sample(out_shape) * module.in_features
    elif isinstance(module, nn.MultiheadAttention):
        node.kind = "attention"
        node.heads = module.num_heads
        tokens = out_shape[-2] if out_shape and len(out_shape) >= 2 else 1
        e = module.embed_dim
        node.in_width = e
        node.flops = 4 * tokens * e * e + 2 * tokens * tokens * e
    elif isinstance(module, (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)):
        node.kind = "pool_global"
    elif isinstance(module, (nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d)):
        node.kind = "pool_global"
    elif isinstance(module, (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)):
        node.kind = "pool_avg"
    elif isinstance(module, (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)):
        node.kind = "pool_max"
    elif isinstance(module, nn.modules.batchnorm._BatchNorm):
        node.kind = "norm_batch"
    elif isinstance(module, nn.LayerNorm) or "layernorm" in name:
        node.kind = "norm_layer"
    elif (
        isinstance(module, (nn.GroupNorm, nn.modules.instancenorm._InstanceNorm)) or "norm" in name
    ):
        node.kind = "norm_other"
    elif isinstance(module, nn.Identity):
        node.kind = "identity"
    elif isinstance(module, (nn.Dropout, nn.Flatten, nn.Unflatten)) or "dropout" in name:
        node.kind = _STRUCTURAL
    elif isinstance(module, (nn.Upsample,)):
        node.kind = "upsample"
    elif isinstance(module, nn.Softmax):
        node.kind = _softmax_kind(out_shape)
        node.heads = out_shape[1] if node.kind == "attention" else 0
    elif "gelu" in name:
        node.kind = "act_gelu"
    elif "relu" in name and "leaky" not in name and "prelu" not in name:
        node.kind = "act_relu"
    elif any(a in name for a in ("silu", "swish", "sigmoid", "tanh", "mish", "elu", "hardswish",
                                  "hardsigmoid", "leaky", "prelu", "softplus", "glu")):  # fmt: skip
        node.kind = "act_other"
    return node


def _softmax_kind(shape: tuple[int, ...] | None) -> str:
    """A softmax over a ``(batch, heads, tokens, tokens)`` map is attention; others are not."""
    if shape and len(shape) == 4 and shape[-1] == shape[-2]:
        return "attention"
    return "act_other"


_MERGE_FUNCS = {"add", "__add__", "__radd__", "iadd", "__iadd__", "add_"}
_CAT_FUNCS = {"cat", "concat", "concatenate", "stack", "hstack", "vstack"}
_MUL_FUNCS = {"mul", "__mul__", "__rmul__", "mul_", "imul", "__imul__", "multiply"}
_MATMUL_FUNCS = {"matmul", "__matmul__", "__rmatmul__", "bmm", "mm", "einsum", "baddbmm"}
_ACT_FUNCS = {
    "relu": "act_relu",
    "relu_": "act_relu",
    "relu6": "act_relu",
    "gelu": "act_gelu",
    "silu": "act_other",
    "sigmoid": "act_other",
    "tanh": "act_other",
    "hardswish": "act_other",
    "mish": "act_other",
    "leaky_relu": "act_other",
    "elu": "act_other",
    "softplus": "act_other",
}
_POOL_FUNCS = {
    "avg_pool1d": "pool_avg",
    "avg_pool2d": "pool_avg",
    "max_pool1d": "pool_max",
    "max_pool2d": "pool_max",
    "adaptive_avg_pool1d": "pool_global",
    "adaptive_avg_pool2d": "pool_global",
    "adaptive_max_pool2d": "pool_global",
    "mean": "pool_global",
    "amax": "pool_global",
}
_NORM_FUNCS = {"layer_norm": "norm_layer", "batch_norm": "norm_batch", "group_norm": "norm_other"}


def _func_name(target: Any) -> str:
    if isinstance(target, str):
        return target
    return str(getattr(target, "__name__", type(target).__name__))


def _classify_function(
    name: str, args: Sequence[Any], n_computed: int, shapes: list[Any], out_shape: Any
) -> RawNode:
    """Kind and MACs of a functional call; ``n_computed`` of its tensor inputs come from the
    input (the others are parameters or constants) and ``shapes`` are their shapes."""
    node = RawNode(kind=_STRUCTURAL, inputs=[], shape=out_shape)
    if name in _MERGE_FUNCS or name in ("sub", "__sub__"):
        node.kind = "add" if n_computed >= 2 else _STRUCTURAL
    elif name in _CAT_FUNCS:
        node.kind = "concat" if n_computed >= 2 else _STRUCTURAL
    elif name in _MUL_FUNCS:
        if any(isinstance(a, (int, float)) and not isinstance(a, bool) and a == 0 for a in args):
            node.kind = _ZERO
        elif n_computed >= 2:
            node.kind = "mul"
    elif name in ("zeros_like",):
        node.kind = _ZERO
    elif name in _MATMUL_FUNCS and n_computed >= 1:
        node.kind = "matmul"
        inner = shapes[0][-1] if shapes and shapes[0] else 1
        node.flops = _per_sample(out_shape) * int(inner)
    elif name == "scaled_dot_product_attention":
        node.kind = "attention"
        if out_shape and len(out_shape) == 4:
            _b, h, n, d = out_shape
            node.heads = int(h)
            node.flops = 2 * h * n * n * d
    elif name in ("softmax", "_softmax"):
        node.kind = _softmax_kind(out_shape)
        node.heads = int(out_shape[1]) if node.kind == "attention" else 0
    elif name in _ACT_FUNCS:
        node.kind = _ACT_FUNCS[name]
    elif name in _POOL_FUNCS:
        node.kind = _POOL_FUNCS[name]
    elif name in _NORM_FUNCS:
        node.kind = _NORM_FUNCS[name]
    elif name in ("conv1d", "conv2d", "conv3d"):
        node.kind = "conv_other"
        if len(shapes) >= 2 and shapes[1]:
            node.flops = _per_sample(out_shape) * int(np.prod(shapes[1][1:]))
    elif name == "linear":
        node.kind = "linear"
        if len(shapes) >= 2 and shapes[1]:
            node.in_width, node.out_width = int(shapes[1][1]), int(shapes[1][0])
            node.flops = _per_sample(out_shape) * node.in_width
    elif name in ("interpolate", "upsample", "pixel_shuffle"):
        node.kind = "upsample"
    return node


# ----------------------------------------------------------------------------- build


def build_network(space: Any, arch: Any, num_classes: int | None = None) -> tuple[Any, str]:
    """``space.build(arch)`` without weights: on the ``meta`` device, else on the CPU.

    Returns
    -------
    (torch.nn.Module, str)
        The network and the device it was built on (``"meta"`` or ``"cpu"``).
    """
    import torch

    try:
        with torch.device("meta"):
            model = space.build(arch, num_classes=num_classes)
        return model, "meta"
    except Exception:  # noqa: BLE001 - any failure on meta: build the ordinary way
        return space.build(arch, num_classes=num_classes), "cpu"


# ----------------------------------------------------------------------------- tracers


def _trace_fx(model: Any, example: Any) -> RawGraph:
    import torch
    from torch import fx

    gm = fx.symbolic_trace(model)
    outputs: dict[fx.Node, Any] = {}

    class _Recorder(fx.Interpreter):
        def run_node(self, n: fx.Node) -> Any:
            out = super().run_node(n)
            outputs[n] = out
            return out

    with torch.no_grad():
        _Recorder(gm).run(example)
    graph = RawGraph(tracer="fx")
    index: dict[fx.Node, int] = {}
    seen_modules: set[int] = set()
    for n in gm.graph.nodes:
        producers = [index[a] for a in n.all_input_nodes if a in index]
        out = outputs.get(n)
        shape = _shape(out)
        if n.op == "placeholder":
            if index:  # only the first input feeds the network
                continue
            node = RawNode(kind=_INPUT, inputs=[], shape=shape)
        elif n.op == "output":
            node = RawNode(kind=_OUTPUT, inputs=producers, shape=shape)
        elif n.op == "get_attr":
            continue  # a parameter or buffer: not computed from the input
        elif shape is None:
            continue  # sizes and other non-tensors: a shape is not a data dependence
        elif n.op == "call_module":
            module = gm.get_submodule(n.target)
            node = _classify_module(module, shape)
            if id(module) in seen_modules:  # a shared module's parameters count once
                node.params = 0
            seen_modules.add(id(module))
        else:
            flat = _flat_args(n.args) + _flat_args(tuple(n.kwargs.values()))
            values = [outputs.get(a) if isinstance(a, fx.Node) else a for a in flat]
            node_args = [a for a in flat if isinstance(a, fx.Node)]
            shapes = [_shape(outputs.get(a)) for a in node_args]
            n_computed = len({a for a in node_args if a in index})
            node = _classify_function(_func_name(n.target), values, n_computed, shapes, shape)
        if n.op != "placeholder":
            node.inputs = producers
        if not producers and node.kind not in (_INPUT,):
            continue  # built from parameters / constants only
        index[n] = graph.add(node)
    graph.n_params = int(sum(p.numel() for p in model.parameters()))
    return graph


def _flat_args(args: Any) -> list[Any]:
    out: list[Any] = []
    for a in args:
        if isinstance(a, (tuple, list)):
            out.extend(_flat_args(a))
        elif isinstance(a, dict):
            out.extend(_flat_args(tuple(a.values())))
        else:
            out.append(a)
    return out


def _trace_hooks(model: Any, example: Any) -> RawGraph:
    """Forward hooks on leaf modules + a TorchFunctionMode for the functions between them."""
    import torch

    graph = RawGraph(tracer="hooks")
    producers = _TensorProducers()
    depth = [0]  # > 0 inside a hooked module: its own function calls are not nodes
    handles = _hook_leaf_modules(model, graph, producers, depth)
    graph.add(RawNode(kind=_INPUT, inputs=[], shape=_shape(example)))
    producers.register(example, 0)
    try:
        with torch.no_grad(), _function_mode(graph, producers, depth):
            out = model(example)
    finally:
        for h in handles:
            h.remove()
    graph.add(RawNode(kind=_OUTPUT, inputs=producers.of((out,)), shape=_shape(out)))
    graph.n_params = int(sum(p.numel() for p in model.parameters()))
    return graph


class _TensorProducers:
    """The node that produced each tensor, by the tensor's identity."""

    def __init__(self) -> None:
        self.producer: dict[int, int] = {}  # id(tensor) -> node
        self.keep_alive: list[Any] = []  # ids stay unique while tensors live

    def register(self, out: Any, node_id: int) -> None:
        for t in _flat_args(out if isinstance(out, (tuple, list)) else (out,)):
            if _is_tensor(t):
                self.producer[id(t)] = node_id
                self.keep_alive.append(t)

    def of(self, args: Any) -> list[int]:
        """The nodes that produced the tensors in ``args``, in order, without repeats."""
        found = []
        for t in _flat_args(args):
            if _is_tensor(t) and id(t) in self.producer and self.producer[id(t)] not in found:
                found.append(self.producer[id(t)])
        return found


def _function_mode(graph: RawGraph, producers: _TensorProducers, depth: list[int]) -> Any:
    """A TorchFunctionMode adding a node for each function called outside hooked modules."""
    from torch.overrides import TorchFunctionMode

    class _Mode(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            if depth[0] == 0:
                flat = _flat_args(args) + _flat_args(tuple(kwargs.values()))
                tensors = [t for t in flat if _is_tensor(t)]
                inputs = producers.of(flat)
                if inputs and _shape(out) is not None:
                    node = _classify_function(
                        _func_name(func),
                        flat,
                        len(inputs),
                        [_shape(t) for t in tensors],
                        _shape(out),
                    )
                    node.inputs = inputs
                    producers.register(out, graph.add(node))
            return out

    return _Mode()


def _hook_leaf_modules(
    model: Any, graph: RawGraph, producers: _TensorProducers, depth: list[int]
) -> list[Any]:
    """Hooks adding a node for each outermost torch.nn leaf module called; their handles."""
    import torch

    seen: set[int] = set()

    def pre_hook(module: Any, args: Any) -> None:
        depth[0] += 1

    def post_hook(module: Any, args: Any, out: Any) -> None:
        depth[0] -= 1
        if depth[0] != 0:
            return
        inputs = producers.of(args)
        if not inputs:
            return
        node = _classify_module(module, _shape(out))
        if id(module) in seen:  # a shared module's parameters count once
            node.params = 0
        seen.add(id(module))
        node.inputs = inputs
        producers.register(out, graph.add(node))

    handles = []
    containers = (torch.nn.Sequential, torch.nn.ModuleList, torch.nn.ModuleDict)
    for module in model.modules():
        # torch.nn's own modules are the leaves, as for torch.fx; a user's module (even one
        # without children, e.g. a "zero" op) is read through the functions it calls
        if type(module).__module__.startswith("torch.nn") and not isinstance(module, containers):
            handles.append(module.register_forward_pre_hook(pre_hook))
            handles.append(module.register_forward_hook(post_hook))
    return handles


def _shape_preserving(module: Any) -> bool:
    """torch.nn modules whose output has their input's shape (norms, activations, identity,
    dropout): the tracers skip computing them, which on ``meta`` tensors is most of the cost
    (batch norm there runs a Python decomposition)."""
    from torch import nn

    kinds = (
        nn.modules.batchnorm._BatchNorm,
        nn.LayerNorm,
        nn.GroupNorm,
        nn.modules.instancenorm._InstanceNorm,
        nn.ReLU,
        nn.ReLU6,
        nn.GELU,
        nn.SiLU,
        nn.Sigmoid,
        nn.Tanh,
        nn.Hardswish,
        nn.LeakyReLU,
        nn.ELU,
        nn.Identity,
        nn.modules.dropout._DropoutNd,
    )
    return isinstance(module, kinds)


class _SkipShapePreserving:
    """Within the block, shape-preserving modules return their input unchanged."""

    def __init__(self, model: Any) -> None:
        self.modules = [m for m in model.modules() if _shape_preserving(m)]

    def __enter__(self) -> None:
        for m in self.modules:
            m.forward = _passthrough

    def __exit__(self, *exc: Any) -> None:
        for m in self.modules:
            del m.forward


def _passthrough(x: Any, *args: Any, **kwargs: Any) -> Any:
    # a new tensor object (an alias): the hook tracer links tensors by identity
    return x.detach() if _is_tensor(x) else x


def trace_network(
    model: Any, input_shape: Sequence[int], device: str = "meta", tracer: str = "auto"
) -> RawGraph:
    """The raw computation graph of ``model`` on a batch-1 input of ``input_shape``.

    Parameters
    ----------
    model : torch.nn.Module
    input_shape : tuple of int
        ``(C, H, W)`` of one input.
    device : {"meta", "cpu"}
        Where the input lives (the network's device).
    tracer : {"auto", "fx", "hooks"}
        ``"auto"``: torch.fx, and the hook tracer when fx fails.

    Returns
    -------
    RawGraph
    """
    import torch

    if tracer not in ("auto", "fx", "hooks"):
        raise ValueError(f"tracer must be 'auto', 'fx' or 'hooks', got {tracer!r}")
    example = torch.zeros((1, *tuple(int(s) for s in input_shape)), device=device)
    was_training = model.training
    model.eval()
    with _SkipShapePreserving(model):
        return _trace(model, example, tracer, device, was_training)


def _trace(model: Any, example: Any, tracer: str, device: str, was_training: bool) -> RawGraph:
    try:
        if tracer in ("auto", "fx"):
            try:
                graph = _trace_fx(model, example)
                graph.device = device
                return graph
            except Exception:  # noqa: BLE001 - fx cannot trace every network: use hooks
                if tracer == "fx":
                    raise
        graph = _trace_hooks(model, example)
        graph.device = device
        return graph
    finally:
        model.train(was_training)


# ----------------------------------------------------------------------------- features


def _contract(graph: RawGraph) -> tuple[list[RawNode], list[list[int]]]:
    """Typed nodes (input first, output last) and their typed producers."""
    nodes = graph.nodes
    eff: list[list[int]] = [[] for _ in nodes]  # typed producers (indices into nodes)
    kept: list[bool] = [False] * len(nodes)
    for i, node in enumerate(nodes):
        if node.kind == _INPUT:
            kept[i] = True
            continue
        sources: list[int] = []
        for j in node.inputs:
            for s in [j] if kept[j] else eff[j]:
                if s not in sources:
                    sources.append(s)
        if node.kind == _ZERO or not sources:
            eff[i] = []  # cut: nothing flows through a multiplication by 0
            continue
        if node.kind in ("add", "concat", "mul") and len(sources) < 2:
            node = RawNode(**{**node.__dict__, "kind": _STRUCTURAL})
            nodes[i] = node
        if node.kind == _STRUCTURAL:
            eff[i] = sources
        else:
            kept[i] = True
            eff[i] = sources
    order = [i for i, k in enumerate(kept) if k]
    if nodes[-1].kind != _OUTPUT:
        raise RuntimeError("traced graph does not end with its output")
    if not kept[-1]:  # the output is reached by nothing: keep it as an isolated node
        order.append(len(nodes) - 1)
    pos = {i: p for p, i in enumerate(order)}
    typed = [nodes[i] for i in order]
    preds = [[pos[s] for s in eff[i] if s in pos] for i in order]
    return typed, preds


def features_from_graph(graph: RawGraph) -> np.ndarray:
    """The :func:`network_feature_names` row of a traced graph."""
    nodes, preds = _contract(graph)
    kinds = [nd.kind for nd in nodes]
    ops = [i for i, k in enumerate(kinds) if k in _T_INDEX]  # operations (not input/output)
    is_t = np.zeros((len(nodes), len(OP_TYPES)), dtype=bool)
    for i in ops:
        is_t[i, _T_INDEX[kinds[i]]] = True
    dp = _path_lengths(kinds, preds, is_t)
    cost = _Costs.of(graph, nodes)
    row = _global_features(graph, kinds, ops, dp, cost)
    row.update(_op_type_features(is_t, dp, cost))
    row.update(_stage_features(nodes, preds, ops, dp, cost))
    row.update(_attention_features(nodes, preds, ops))
    return np.array([row[name] for name in network_feature_names()], dtype=np.float64)


_T_INDEX = {t: k for k, t in enumerate(OP_TYPES)}


@dataclass
class _Paths:
    """Path counts and shortest / longest path lengths from the input to each node, overall
    (``paths``, ``lo``, ``hi``; ``hi_w`` counting parametric operations only) and through each
    operation type (``paths_t``, ``lo_t``, ``hi_t``, one column per type)."""

    paths: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    hi_w: np.ndarray
    paths_t: np.ndarray
    lo_t: np.ndarray
    hi_t: np.ndarray

    @property
    def out(self) -> int:
        return len(self.paths) - 1

    @property
    def reached(self) -> bool:
        return bool(self.paths[self.out] > 0)

    @property
    def depth_pos(self) -> np.ndarray:
        """The longest path to each node (0 where none)."""
        return np.where(np.isfinite(self.hi), self.hi, 0.0)


def _path_lengths(kinds: list[str], preds: list[list[int]], is_t: np.ndarray) -> _Paths:
    """Dynamic programming over the DAG (topological order)."""
    n, n_t = is_t.shape
    weight = np.array([1.0 if k in _T_INDEX else 0.0 for k in kinds])
    w_param = np.array([1.0 if k.startswith(_PARAMETRIC) else 0.0 for k in kinds])
    inf = math.inf
    dp = _Paths(
        paths=np.zeros(n),
        lo=np.full(n, inf),
        hi=np.full(n, -inf),
        hi_w=np.full(n, -inf),
        paths_t=np.zeros((n, n_t)),
        lo_t=np.full((n, n_t), inf),
        hi_t=np.full((n, n_t), -inf),
    )
    for i in range(n):
        if kinds[i] == _INPUT:
            dp.paths[i], dp.lo[i], dp.hi[i], dp.hi_w[i] = 1.0, 0.0, 0.0, 0.0
            continue
        p = preds[i]
        if not p:
            continue
        dp.paths[i] = dp.paths[p].sum()
        dp.lo[i] = dp.lo[p].min() + weight[i]
        dp.hi[i] = dp.hi[p].max() + weight[i]
        dp.hi_w[i] = dp.hi_w[p].max() + w_param[i]
        dp.paths_t[i] = dp.paths_t[p].sum(axis=0)
        dp.lo_t[i] = dp.lo_t[p].min(axis=0) + weight[i]
        dp.hi_t[i] = dp.hi_t[p].max(axis=0) + weight[i]
        own = is_t[i]
        dp.paths_t[i, own] = dp.paths[i]
        dp.lo_t[i, own] = dp.lo[i]
        dp.hi_t[i, own] = dp.hi[i]
    return dp


@dataclass
class _Costs:
    """Parameters and FLOPs per node, and the totals that shares divide by (at least 1)."""

    params: np.ndarray
    flops: np.ndarray
    total_params: float
    total_flops: float

    @classmethod
    def of(cls, graph: RawGraph, nodes: list[RawNode]) -> _Costs:
        flops = np.array([nd.flops for nd in nodes], dtype=float)
        return cls(
            params=np.array([nd.params for nd in nodes], dtype=float),
            flops=flops,
            total_params=max(float(graph.n_params), 1.0),
            total_flops=max(float(flops.sum()), 1.0),
        )


def _global_features(
    graph: RawGraph, kinds: list[str], ops: list[int], dp: _Paths, cost: _Costs
) -> dict[str, float]:
    """Size, depth and path features of the whole network."""
    out, reached = dp.out, dp.reached
    return {
        "log10_params": math.log10(1.0 + graph.n_params),
        "log10_flops": math.log10(1.0 + cost.flops.sum()),
        "n_ops": float(len(ops)),
        "n_merges": float(sum(k in ("add", "concat") for k in kinds)),
        "depth": float(dp.hi[out]) if reached else 0.0,
        "depth_weighted": float(dp.hi_w[out]) if reached else 0.0,
        "log10_paths": math.log10(1.0 + dp.paths[out]),
        "min_len": float(dp.lo[out]) if reached else 0.0,
        "max_len": float(dp.hi[out]) if reached else 0.0,
    }


def _op_type_features(is_t: np.ndarray, dp: _Paths, cost: _Costs) -> dict[str, float]:
    """Count, cost shares and paths through each operation type."""
    out = dp.out
    total_paths = dp.paths[out]
    row: dict[str, float] = {}
    for t, k in _T_INDEX.items():
        mask = is_t[:, k]
        through = dp.paths_t[out, k]
        row[f"{t}:count"] = float(mask.sum())
        row[f"{t}:param_share"] = float(cost.params[mask].sum() / cost.total_params)
        row[f"{t}:flop_share"] = float(cost.flops[mask].sum() / cost.total_flops)
        row[f"{t}:log10_paths"] = math.log10(1.0 + through)
        row[f"{t}:path_share"] = float(through / total_paths) if total_paths > 0 else 0.0
        row[f"{t}:min_len"] = float(dp.lo_t[out, k]) if through > 0 else 0.0
        row[f"{t}:max_len"] = float(dp.hi_t[out, k]) if through > 0 else 0.0
    return row


def _positions(shape: tuple[int, ...] | None) -> int:
    """Positions of a feature map / sequence (its resolution)."""
    if not shape or len(shape) <= 2:
        return 1
    if len(shape) == 3:
        return int(shape[1])  # (batch, tokens, width)
    return int(np.prod(shape[2:]))  # (batch, channels, *spatial)


def _width(shape: tuple[int, ...] | None) -> int:
    """Channels of a feature map / width of a sequence."""
    if not shape or len(shape) < 2:
        return 1
    return int(shape[-1]) if len(shape) == 3 else int(shape[1])


def _staged_ops(nodes: list[RawNode], preds: list[list[int]], ops: list[int]) -> list[int]:
    """The operations that define resolutions: nodes inside an attention (score maps, their
    softmax, attention x values) are not feature maps."""
    internal = np.zeros(len(nodes), dtype=bool)
    for i in ops:
        if nodes[i].kind in ("attention", "matmul"):
            internal[i] = True
        elif nodes[i].kind in ("identity", "act_other", "other") and preds[i]:
            internal[i] = all(internal[p] for p in preds[i])
    return [i for i in ops if not internal[i]]


def _stage_features(
    nodes: list[RawNode], preds: list[list[int]], ops: list[int], dp: _Paths, cost: _Costs
) -> dict[str, float]:
    """Stages: operations grouped by resolution, largest first (the last slot takes the rest)."""
    staged = _staged_ops(nodes, preds, ops)
    res = np.array([_positions(nodes[i].shape) for i in staged], dtype=float)
    groups = sorted(set(res.tolist()), reverse=True)
    depth_pos = dp.depth_pos
    max_depth = max(float(depth_pos.max()), 1.0)
    row: dict[str, float] = {"n_resolutions": float(len(groups))}
    for k in range(N_STAGE_SLOTS):
        members = [g for j, g in enumerate(groups) if min(j, N_STAGE_SLOTS - 1) == k]
        sel = [staged[j] for j in range(len(staged)) if res[j] in members]
        if not sel:
            for s in _PER_STAGE:
                row[f"stage{k}:{s}"] = 0.0
            continue
        row[f"stage{k}:log2_side"] = 0.5 * math.log2(max(members))
        row[f"stage{k}:log2_width"] = math.log2(max(_width(nodes[i].shape) for i in sel))
        row[f"stage{k}:op_share"] = len(sel) / len(staged)
        row[f"stage{k}:flop_share"] = float(cost.flops[sel].sum() / cost.total_flops)
        row[f"stage{k}:param_share"] = float(cost.params[sel].sum() / cost.total_params)
        row[f"stage{k}:start"] = float(min(depth_pos[i] for i in sel) / max_depth)
    return row


def _attention_features(
    nodes: list[RawNode], preds: list[list[int]], ops: list[int]
) -> dict[str, float]:
    """Attention blocks (heads; embedding = input width of the linear maps feeding the
    attention) and MLP expansion ratios."""
    attn = [i for i in ops if nodes[i].kind == "attention"]
    heads, embeds = [], []
    for i in attn:
        heads.append(nodes[i].heads)
        widths = (
            nodes[i].in_width and [nodes[i].in_width] or _linear_ancestor_widths(i, preds, nodes)
        )
        embeds.append(max(widths) if widths else 0)
    ratios = _mlp_ratios(ops, preds, nodes)
    row: dict[str, float] = {"attn:count": float(len(attn))}
    for key, vals in (("heads", heads), ("log2_embed", [math.log2(e) for e in embeds if e > 0])):
        for stat, f in (("mean", np.mean), ("min", np.min), ("max", np.max)):
            row[f"attn:{key}_{stat}"] = float(f(vals)) if vals else 0.0
    row["mlp:count"] = float(len(ratios))
    for stat, f in (("mean", np.mean), ("min", np.min), ("max", np.max)):
        row[f"mlp:ratio_{stat}"] = float(f(ratios)) if ratios else 0.0
    return row


def _linear_ancestor_widths(i: int, preds: list[list[int]], nodes: list[RawNode]) -> list[int]:
    """Input widths of the nearest linear maps upstream of node ``i``."""
    found, stack, seen = [], list(preds[i]), set()
    while stack:
        j = stack.pop()
        if j in seen:
            continue
        seen.add(j)
        if nodes[j].kind == "linear":
            found.append(nodes[j].in_width)
        elif nodes[j].kind in ("matmul", "attention", "mul", "act_other"):
            stack.extend(preds[j])
    return found


def _mlp_ratios(ops: list[int], preds: list[list[int]], nodes: list[RawNode]) -> list[float]:
    """hidden / input width of every linear -> activation -> linear chain (an MLP block)."""

    def upstream(i: int) -> list[int]:
        # producers of node i, looking through placeholder identities (e.g. a timm Mlp's
        # nn.Identity norm)
        found, stack = [], list(preds[i])
        while stack:
            j = stack.pop()
            if nodes[j].kind == "identity":
                stack.extend(preds[j])
            elif j not in found:
                found.append(j)
        return found

    ratios = []
    for i in ops:
        if nodes[i].kind != "linear":
            continue
        for a in upstream(i):
            if not nodes[a].kind.startswith("act_"):
                continue
            for first in upstream(a):
                f = nodes[first]
                if f.kind == "linear" and f.in_width > 0 and f.out_width == nodes[i].in_width:
                    ratios.append(f.out_width / f.in_width)
    return ratios


# ----------------------------------------------------------------------------- per architecture

#: space object -> {(arch key, input shape, num_classes, tracer): (row, info)}
_CACHE: weakref.WeakKeyDictionary[Any, dict[Any, tuple[np.ndarray, dict[str, Any]]]] = (
    weakref.WeakKeyDictionary()
)


def _arch_key(arch: Any) -> Any:
    try:
        hash(arch)
        return arch
    except TypeError:
        return repr(arch)


def network_features(
    space: Any,
    arch: Any,
    input_shape: Sequence[int] | None = None,
    num_classes: int | None = None,
    tracer: str = "auto",
) -> np.ndarray:
    """The :func:`network_feature_names` row of one architecture of ``space``.

    Built on the ``meta`` device (no weights), traced with torch.fx (hooks when fx fails),
    cached per (space object, architecture, input shape, classes, tracer).

    Parameters
    ----------
    space : SearchSpace
        Any space with :meth:`build` (a registered space, ``ModelSpace``, ``TimmSpace``).
    arch : architecture
        In the space's canonical form.
    input_shape : tuple of int, optional
        ``(C, H, W)``; default the space's ``default_input_shape`` (else ``(3, 32, 32)``).
    num_classes : int, optional
        Passed to ``build``.
    tracer : {"auto", "fx", "hooks"}, default="auto"

    Returns
    -------
    ndarray of float64, shape (len(network_feature_names()),)

    Examples
    --------
    >>> from libranas.spaces import get_space
    >>> row = network_features(get_space("nb201"), "|nor_conv_3x3~0|+|none~0|skip_connect~1|+"
    ...                        "|none~0|none~1|skip_connect~2|")
    >>> names = network_feature_names()
    >>> int(row[names.index("add:count")]), int(row[names.index("conv3x3:count")])
    (2, 20)
    """
    return _cached(space, arch, input_shape, num_classes, tracer)[0].copy()


def trace_info(
    space: Any,
    arch: Any,
    input_shape: Sequence[int] | None = None,
    num_classes: int | None = None,
    tracer: str = "auto",
) -> dict[str, Any]:
    """How :func:`network_features` read ``arch``: ``{"tracer", "device", "seconds"}``."""
    return dict(_cached(space, arch, input_shape, num_classes, tracer)[1])


def _cached(
    space: Any, arch: Any, input_shape: Any, num_classes: Any, tracer: str
) -> tuple[np.ndarray, dict[str, Any]]:
    shape = input_shape if input_shape is not None else getattr(space, "default_input_shape", None)
    shape = tuple(int(s) for s in (shape or (3, 32, 32)))
    key = (_arch_key(arch), shape, num_classes, tracer)
    try:
        store = _CACHE.setdefault(space, {})
    except TypeError:  # not weak-referenceable: no cache
        store = {}
    if key not in store:
        start = time.perf_counter()
        model, device = build_network(space, arch, num_classes=num_classes)
        try:
            graph = trace_network(model, shape, device=device, tracer=tracer)
        except Exception:  # noqa: BLE001 - a network that cannot run on meta: run it on the CPU
            if device != "meta":
                raise
            model, device = space.build(arch, num_classes=num_classes), "cpu"
            graph = trace_network(model, shape, device="cpu", tracer=tracer)
        row = features_from_graph(graph)
        info = {
            "tracer": graph.tracer,
            "device": graph.device,
            "seconds": time.perf_counter() - start,
        }
        store[key] = (row, info)
    return store[key]


def network_features_many(
    space: Any,
    archs: Sequence[Any],
    input_shape: Sequence[int] | None = None,
    num_classes: int | None = None,
    tracer: str = "auto",
) -> np.ndarray:
    """Stack :func:`network_features` over ``archs`` into an ``(n, d)`` array."""
    width = len(network_feature_names())
    out = np.zeros((len(archs), width), dtype=np.float64)
    for i, arch in enumerate(archs):
        out[i] = _cached(space, arch, input_shape, num_classes, tracer)[0]
    return out
