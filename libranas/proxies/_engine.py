"""The shared pass: one network, one batch, every requested proxy.

:class:`NetworkPass` computes each kind of pass at most once, on first request, and
caches it, so proxies that need the same forward/backward share it. Proxies read from
it; they never run the network themselves unless they declare ``own_pass``.

With a ``plan`` (the requirements of all the proxies about to be scored, see
:func:`plan_for`), the batch-loss passes are fused: ONE train-mode forward of the batch
records the activation codes, feeds the input Jacobian, the weight (and layer-output)
gradients of the loss and GraSP's Hessian-gradient product, instead of one forward per
kind. Without a plan each kind runs alone, as a tool that scores one proxy would.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property, partial
from typing import Any

import torch
from torch import nn

#: activation modules whose outputs are binarised (pre-activation > 0); timm's GELU
#: classes are not nn.GELU subclasses, so they are matched by name in ``is_activation``
ACTIVATION_TYPES: tuple[type[nn.Module], ...] = (nn.ReLU, nn.ReLU6, nn.GELU, nn.LeakyReLU)
_ACTIVATION_NAMES = {"GELU", "GELUTanh", "QuickGELU", "ReLU", "ReLU6"}

#: modules with a weight matrix: the "layers" of L-SWAG / ZiCo, in registration order
WEIGHT_LAYER_TYPES: tuple[type[nn.Module], ...] = (nn.Conv2d, nn.Linear)


def is_activation(module: nn.Module) -> bool:
    return isinstance(module, ACTIVATION_TYPES) or type(module).__name__ in _ACTIVATION_NAMES


def weight_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Weight layers (Conv2d, Linear) in registration order."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, WEIGHT_LAYER_TYPES)]


class NetworkPass:
    """Lazily computed, cached passes of one network over one batch.

    Parameters
    ----------
    model : torch.nn.Module
        The untrained network, already on ``inputs.device``.
    inputs : torch.Tensor
        Image batch ``(N, C, H, W)``.
    targets : torch.Tensor
        Integer class labels ``(N,)``.
    seed : int
        Seed for anything random inside a pass (random inputs of synflow/zen).
    options : dict
        Per-proxy options (e.g. ``lswag_band``, ``per_sample_chunk``). Read by the
        passes here: ``per_sample`` ("exact" | "loop" | "chunks"), ``per_sample_chunk``
        (32), ``per_sample_splits`` (2), ``per_sample_impl`` ("auto" | "vmap" | "hooks"),
        ``features_samples`` (1); by proxies:
        ``lswag_band`` (None or (lo, hi) depth percentiles), ``lswag_empty_band``
        ("nearest" | "error"), ``reg_swap_mu`` and
        ``reg_swap_sigma`` (1.5, 1.5, millions of parameters), ``az_blocks`` (module
        names, see :func:`feature_blocks`) and ``az_input`` ("batch" | "gaussian", see
        :mod:`libranas.proxies.aznas`; "gaussian" takes ``block_features`` out of the
        plan), ``vkdnw_bn`` and ``vkdnw_smoothing`` (:mod:`libranas.proxies.vkdnw`).
    plan : iterable of str, optional
        Requirements to compute together in one fused forward when the first of them is
        requested (``activations``, ``input_jacobian``, ``weight_grads``,
        ``hessian_grad``, ``block_features``; others are ignored). Usually
        ``plan_for(proxy names)``.
        Empty (default): each is computed on its own when requested.
    """

    def __init__(
        self,
        model: nn.Module,
        inputs: torch.Tensor,
        targets: torch.Tensor,
        *,
        seed: int = 0,
        options: dict[str, Any] | None = None,
        plan: Iterable[str] = (),
    ) -> None:
        self.model = model
        self.inputs = inputs
        self.targets = targets
        self.seed = seed
        self.options = dict(options or {})
        #: requirements planned for this pass (see ``plan_for``): the fused batch-loss pass
        #: computes its items together, and records the BatchNorm batch statistics that the
        #: per-sample pass fixes when ``per_sample_grads`` is planned too
        self.plan = frozenset(plan) & PLAN_ITEMS
        if self.options.get("az_input", "batch") != "batch":  # AZ-NAS reads its own pass then
            self.plan -= {"block_features"}
        #: memo for intermediate results shared by several proxies of one family
        #: (e.g. one backward with activation-gradient hooks feeding snip, fisher, ...)
        self.cache: dict[str, Any] = {}

    def shared(self, key: str, compute: Any) -> Any:
        """Return ``cache[key]``, computing it once with ``compute(self)``."""
        if key not in self.cache:
            self.cache[key] = compute(self)
        return self.cache[key]

    @contextmanager
    def seeded(self) -> Iterator[None]:
        """Run a pass with torch's CPU generator seeded by ``self.seed`` (dropout masks,
        random inputs); the caller's random state is restored afterwards."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            yield

    @property
    def device(self) -> torch.device:
        return self.inputs.device

    @property
    def batch_size(self) -> int:
        return int(self.inputs.shape[0])

    def loss_fn(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return nn.functional.cross_entropy(logits, targets)

    # -- the batch-loss passes (fused when planned) ------------------------------------
    def fused(self, item: str) -> Any:
        """The result of one batch-loss pass item (``FUSED_ITEMS``), computed on demand.

        The first request computes ``item`` together with every planned item not yet
        computed, in one forward (:func:`_fused_pass`). A failure of that pass is raised
        to each item that needed it.
        """
        if item not in FUSED_ITEMS:
            raise ValueError(f"unknown pass item {item!r}; known: {sorted(FUSED_ITEMS)}")
        done: dict[str, Any] = self.cache.setdefault("fused", {})
        if item not in done:
            todo = {item} | ((self.plan & FUSED_ITEMS) - set(done))
            try:
                done.update(_fused_pass(self, frozenset(todo)))
            except Exception as exc:  # noqa: BLE001 - re-raised to every item it concerns
                done.update(dict.fromkeys(todo, exc))
        value = done[item]
        if isinstance(value, Exception):
            raise value
        return value

    @property
    def activations(self) -> list[torch.Tensor]:
        """Binary activation codes, one ``(N, units)`` bool tensor per activation module.

        ``1[pre-activation > 0]`` for ReLU and GeLU alike (same sign pattern). 3-D token
        tensors of ViTs are flattened so that each token-channel position is a unit.
        """
        return self.fused("activations")

    @property
    def input_jacobian(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(J, logits)``: J = d sum_k logits_k / d x, shape ``(N, C*H*W)``."""
        return self.fused("input_jacobian")

    @property
    def loss_grads(self) -> dict[str, Any]:
        """One backward of the mean batch loss (train mode, running statistics restored).

        ``{"layers": [(name, module)], "grads": [dL/dW], "channel_terms": [[(N, K)]]}``
        over the weight layers whose weight requires grad, in registration order;
        ``channel_terms`` holds, per layer and per call of the layer in the forward,
        ``sum over positions of a * dL/da`` for its output ``a`` (Fisher pruning's
        per-sample channel terms). Raises ValueError when no weight requires grad.
        """
        return self.fused("weight_grads")

    @property
    def hessian_grad(self) -> dict[str, Any]:
        """GraSP's Hessian-gradient product of the mean batch loss.

        ``{"layers": [...], "grads": [g], "hg": [H g or None]}`` with ``g = dL/dW`` and
        ``H g = d <stop_grad(g), g> / dW`` (double back-propagation), same layers as
        :attr:`loss_grads`; ``hg`` entries are None where ``g`` does not depend on the
        weights (H = 0 there).
        """
        return self.fused("hessian_grad")

    @property
    def block_features(self) -> dict[str, Any]:
        """Outputs of the network's blocks and random-probe VJPs between consecutive blocks.

        ``{"names": [str], "features": [f_0, ..., f_{L-1}], "probes": [(r_i, g_i)]}`` from
        the train-mode forward of the batch (fused with the other batch-loss items when
        planned). ``f_l`` is the (detached) output of block ``l`` (:func:`feature_blocks`:
        option ``az_blocks``, a list of module names, or by default the ``stem`` child
        followed by the children of the longest ``nn.Sequential`` / ``nn.ModuleList``
        child; a block called twice gives two entries). For ``i = 1 .. L-1``, ``r_i`` is a
        Rademacher tensor shaped like ``f_i`` (entries +-1, drawn from a generator seeded
        with ``seed``) and ``g_i = (d f_i / d f_{i-1})^T r_i``, the vector-Jacobian
        product of block ``i`` (zeros where ``f_i`` does not depend on ``f_{i-1}``).
        """
        return self.fused("block_features")

    # -- per-sample gradient statistics (zico, lswag) -----------------------------------
    @cached_property
    def per_sample_grads(self) -> list[LayerGradStats]:
        """Per-weight statistics of per-sample gradients, one entry per weight layer.

        Never holds a (batch x params) matrix: gradients are reduced chunk by chunk
        into running mean / variance (Chan-Welford merge, float64 accumulators).

        Options (``self.options``):

        - ``per_sample``: ``"exact"`` (default; ``torch.func`` ``vmap(grad)`` over chunks
          of ``per_sample_chunk`` samples, default 32), ``"loop"`` (same quantity, one
          backward per sample; for models that ``vmap`` cannot batch) or ``"chunks"``
          (ZiCo's estimate: the batch is split into ``per_sample_splits`` parts, default
          2, and the statistics are taken over the parts' mean-loss gradients).
        - ``per_sample_impl`` (``"exact"`` mode only): how the exact per-sample gradients
          are computed. ``"vmap"``: ``torch.func`` as above. ``"hooks"``: ONE batched
          forward and backward of ``sum_i loss(x_i, y_i)`` with hooks on the weight
          layers; sample i's weight gradient is ``sum over positions of
          outer(d loss_i / d out_i, in_i)`` (tokens of a Linear layer; for a Conv2d the
          positions are the output pixels and ``in_i`` the unfolded receptive fields,
          ``torch.nn.functional.unfold``, per group for grouped/depthwise convs),
          reduced per layer in slices, so no ``(batch x params)`` matrix is held. It is
          exact when samples do not interact in the forward: true for ViTs (LayerNorm and
          attention act within a sample) and for CNNs here, because train-mode BatchNorm
          is fixed to the batch statistics during this pass (see below). It needs every
          weight layer to be a Linear or a zero-padded Conv2d with numeric padding, and
          no weight shared between layers. ``"auto"`` (default) uses ``"hooks"`` when every
          weight layer is a Linear or a patchify Conv2d (kernel == stride, no padding: ViTs)
          and otherwise ``"vmap"``: on CPU the hooks path is 5-10x faster than ``vmap`` on a
          ViT-Tiny at 32 px but no faster on NAS-Bench-201 cells and slower on DARTS cells
          (unfolding overlapping receptive fields costs what the single backward saves), so
          for CNNs it is opt-in (``per_sample_impl="hooks"``, exact as well). After an
          ``"auto"`` hooks pass, sample 0 is checked against a separate single-sample
          backward (relative error per layer at most 1e-3), falling back to ``"vmap"`` if
          they differ (samples that interact, random layers). ``cache["per_sample_impl"]``
          records the path taken.
        - BatchNorm: with ``"exact"``/``"loop"``, a BatchNorm module in training mode
          normalises every sample with the mean and (biased) variance of the *whole
          batch*, computed by one forward and then held fixed. Each sample's forward is
          then exactly its forward inside the batched train-mode pass, and its gradient
          is d loss_i / d w with the batch statistics treated as constants (the
          stats-path terms, which couple samples, are dropped). With ``"chunks"``,
          BatchNorm uses each part's own statistics, as ZiCo does. Running statistics
          are restored afterwards either way.

        Raises
        ------
        ValueError
            Unknown mode, fewer than 2 samples/parts, no weight layer, or a BatchNorm
            module called more than once in one forward (shared BatchNorm).
        """
        return _per_sample_grad_stats(self)

    # -- intermediate feature maps (meco) -----------------------------------------------
    @cached_property
    def features(self) -> list[tuple[str, torch.Tensor]]:
        """Outputs of every submodule, in forward-call order, for the first samples.

        One forward (no grad) of the first ``features_samples`` samples (option,
        default 1: MeCo uses a single image). Only tensor outputs with at least 3
        dimensions are kept (``(n, C, H, W)`` feature maps, ``(n, T, C)`` token
        tensors); the root module is not hooked. Running statistics are restored. A
        training-mode BatchNorm that sees one value per channel outputs its bias
        (:func:`_batch_norm_one_value`) instead of raising.
        """
        n = int(self.options.get("features_samples", 1))
        if not 1 <= n <= self.batch_size:
            raise ValueError(
                f"features_samples must be in [1, batch size {self.batch_size}], got {n}"
            )
        feats: list[tuple[str, torch.Tensor]] = []

        def hook(name: str, module: nn.Module, inp: Any, out: Any) -> None:
            if isinstance(out, torch.Tensor) and out.dim() >= 3:
                feats.append((name, out.detach()))

        handles = [
            m.register_forward_hook(partial(hook, name))
            for name, m in self.model.named_modules()
            if name
        ]
        norms = [m for m in self.model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        for m in norms:
            m.forward = partial(_batch_norm_one_value, m, m.forward)
        try:
            with torch.no_grad(), preserved_buffers(self.model), self.seeded():
                self.model(self.inputs[:n])
        finally:
            for h in handles:
                h.remove()
            for m in norms:
                del m.forward  # back to the class's forward
        return feats


def _batch_norm_one_value(module: nn.Module, forward: Any, x: torch.Tensor) -> torch.Tensor:
    """Training-mode BatchNorm on one value per channel (one sample's 1x1 map, e.g. the last
    stage of a ResNet at 32 px): the batch statistics are undefined (PyTorch raises), and
    ``x - mean`` is 0 in the limit, so the output is the bias ``beta`` (0 without one), a
    constant map; any other input goes to the layer's own forward."""
    if module.training and x.dim() >= 2 and x.numel() == x.shape[1]:
        out = torch.zeros_like(x)
        if getattr(module, "bias", None) is not None:
            out = out + module.bias.reshape(1, -1, *([1] * (x.dim() - 2)))
        return out
    return forward(x)


# ==================================================================================
# the fused batch-loss pass
# ==================================================================================

#: what one fused forward can serve (requirement names of the registry, see ``plan_for``)
FUSED_ITEMS = frozenset(
    {"activations", "input_jacobian", "weight_grads", "hessian_grad", "block_features"}
)
#: what a plan may hold: the fused items, and per-sample gradients (whose fixed BatchNorm
#: statistics the fused forward records, saving the per-sample pass its recording forward)
PLAN_ITEMS = FUSED_ITEMS | {"per_sample_grads"}


def plan_for(proxies: Iterable[str]) -> frozenset[str]:
    """The plan of a set of registered proxies: their requirements that one forward of the
    batch can serve together (``FUSED_ITEMS``), plus ``per_sample_grads`` if needed.

    Examples
    --------
    >>> sorted(plan_for(["snip", "swap", "grasp", "params"]))
    ['activations', 'hessian_grad', 'weight_grads']
    >>> sorted(plan_for(["lswag"]))
    ['activations', 'per_sample_grads']
    """
    from libranas.proxies._registry import get_proxy

    return frozenset().union(*(get_proxy(p).requires for p in proxies)) & PLAN_ITEMS


def channel_terms(module: nn.Module, act: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """``sum over positions of a * dL/da`` per sample and channel, shape ``(N, K)``.

    Conv2d: channel = dim 1, positions = spatial dims; Linear: channel = last dim,
    positions = any token dims in the middle.
    """
    prod = act * grad
    if isinstance(module, nn.Linear):
        return prod.reshape(prod.shape[0], -1, prod.shape[-1]).sum(dim=1)
    return prod.reshape(prod.shape[0], prod.shape[1], -1).sum(dim=2)


def _fused_pass(npass: NetworkPass, items: frozenset[str]) -> dict[str, Any]:
    """One forward of the batch serving ``items`` (a subset of ``FUSED_ITEMS``).

    The forward runs in the model's own mode (NAS-Bench-Suite-Zero scores in training
    mode), seeded, with running statistics restored afterwards. Then, on the same graph:
    the input Jacobian of ``sum(logits)``; the loss gradients w.r.t. the weights (with
    tensor hooks on the weight-layer outputs, registered only for this backward, giving
    the Fisher channel terms); with ``hessian_grad`` that backward keeps its graph and a
    second backward of ``<stop_grad(g), g>`` gives ``H g``. Each of these equals what
    its pass alone computes (same forward values, same backward formulas).
    """
    model = npass.model
    want_jac = "input_jacobian" in items
    want_grads = "weight_grads" in items
    want_hg = "hessian_grad" in items
    want_blocks = "block_features" in items
    need_loss = want_grads or want_hg
    layers = [(n, m) for n, m in weight_layers(model) if m.weight.requires_grad]
    if need_loss and not layers:
        raise ValueError(
            "the network has no trainable Conv2d/Linear weight: gradient proxies are undefined"
        )
    codes: list[torch.Tensor] = []
    outputs: list[tuple[int, nn.Module, torch.Tensor]] = []
    handles = []

    def code_hook(module: nn.Module, inp: tuple[torch.Tensor, ...], out: Any) -> None:
        codes.append((inp[0].detach() > 0).reshape(inp[0].shape[0], -1))

    def output_hook(idx: int, module: nn.Module, inp: Any, out: Any) -> None:
        if isinstance(out, torch.Tensor) and out.requires_grad:
            outputs.append((idx, module, out))

    if "activations" in items:
        handles += [m.register_forward_hook(code_hook) for m in model.modules() if is_activation(m)]
    block_outs: list[tuple[str, torch.Tensor]] = []
    if want_blocks:
        handles += [
            m.register_forward_hook(partial(_block_hook, block_outs, name))
            for name, m in feature_blocks(model, npass.options.get("az_blocks"))
        ]
    if want_grads:
        handles += [
            m.register_forward_hook(partial(output_hook, i)) for i, (_, m) in enumerate(layers)
        ]
    bn_stats: dict[nn.Module, tuple[torch.Tensor, torch.Tensor]] | None = None
    if "per_sample_grads" in npass.plan and "bn_batch_stats" not in npass.cache:
        bn_stats = {}
        handles += [
            m.register_forward_pre_hook(partial(_record_batch_statistics, bn_stats))
            for m in _batch_statistics_modules(model)
        ]
    result: dict[str, Any] = {}
    # the blocks' VJPs need every block output in the graph: the input requires grad then
    x = (
        npass.inputs.detach().clone().requires_grad_(True)
        if want_jac or want_blocks
        else npass.inputs
    )
    grad_enabled = want_jac or need_loss or want_blocks
    try:
        with preserved_buffers(model), npass.seeded(), torch.set_grad_enabled(grad_enabled):
            logits = model(x)
            for h in handles:
                h.remove()
            if bn_stats is not None:  # None in the cache: recorded nothing usable
                npass.cache["bn_batch_stats"] = bn_stats if all(bn_stats.values()) else None
            if "activations" in items:
                result["activations"] = codes
            if want_blocks:  # before any backward that frees the graph
                result["block_features"] = _block_probes(npass, block_outs)
                block_outs.clear()
            if want_jac:
                (jac,) = torch.autograd.grad(logits.sum(), x, retain_graph=need_loss)
                result["input_jacobian"] = (jac.reshape(jac.shape[0], -1).detach(), logits.detach())
            if need_loss:
                weights = [m.weight for _, m in layers]
                terms: list[list[torch.Tensor]] = [[] for _ in layers]
                for idx, module, out in outputs:
                    act = out.detach()

                    def grad_hook(g: torch.Tensor, idx=idx, module=module, act=act) -> None:
                        terms[idx].append(channel_terms(module, act, g.detach()))

                    handles.append(out.register_hook(grad_hook))
                loss = npass.loss_fn(logits, npass.targets)
                grads = torch.autograd.grad(loss, weights, create_graph=want_hg, allow_unused=True)
                for h in handles:
                    h.remove()
                outputs.clear()
                plain = [
                    torch.zeros_like(w) if g is None else g.detach()
                    for w, g in zip(weights, grads, strict=True)
                ]
                if want_grads:
                    result["weight_grads"] = {
                        "layers": layers,
                        "grads": plain,
                        "channel_terms": terms,
                    }
                if want_hg:
                    hg: list[torch.Tensor | None] = [None] * len(layers)
                    live = [i for i, g in enumerate(grads) if g is not None and g.requires_grad]
                    if live:
                        z = sum((grads[i].detach() * grads[i]).sum() for i in live)
                        out_hg = torch.autograd.grad(
                            z, [weights[i] for i in live], allow_unused=True
                        )
                        for i, h in zip(live, out_hg, strict=True):
                            hg[i] = None if h is None else h.detach()
                    result["hessian_grad"] = {"layers": layers, "grads": plain, "hg": hg}
    finally:
        for h in handles:
            h.remove()
    return result


def feature_blocks(
    model: nn.Module, names: Sequence[str] | None = None
) -> list[tuple[str, nn.Module]]:
    """The blocks whose outputs :attr:`NetworkPass.block_features` records, in order.

    ``names`` (option ``az_blocks``): module names (``model.get_submodule``). Default: the
    child named ``stem`` if there is one, then every child of the longest ``nn.Sequential``
    or ``nn.ModuleList`` child of ``model`` (the cell stack: NAS-Bench-201's 17 cells and
    reduction blocks, DARTS cells, ViT blocks); ties go to the first.

    Examples
    --------
    >>> from torch import nn
    >>> net = nn.Sequential()
    >>> net.stem = nn.Conv2d(3, 4, 3)
    >>> net.cells = nn.Sequential(nn.ReLU(), nn.Conv2d(4, 4, 3))
    >>> [name for name, _ in feature_blocks(net)]
    ['stem', 'cells.0', 'cells.1']
    """
    if names is not None:
        if isinstance(names, str) or not all(isinstance(n, str) for n in names):
            raise TypeError(f"option az_blocks must be a list of module names, got {names!r}")
        out = []
        for name in names:
            try:
                out.append((name, model.get_submodule(name)))
            except AttributeError:
                raise ValueError(f"option az_blocks: the model has no submodule {name!r}") from None
        return out
    children = dict(model.named_children())
    stacks = [
        (n, m)
        for n, m in children.items()
        if isinstance(m, (nn.Sequential, nn.ModuleList)) and len(m) >= 2
    ]
    if not stacks:
        raise ValueError(
            f"{type(model).__name__} has no stack of blocks (an nn.Sequential or nn.ModuleList "
            "child with at least 2 modules); name the blocks with options['az_blocks']"
        )
    name, stack = max(stacks, key=lambda item: len(item[1]))
    blocks = [(f"{name}.{i}", m) for i, m in stack.named_children()]
    stem = children.get("stem")
    return ([("stem", stem)] if stem is not None and stem is not stack else []) + blocks


def _block_hook(
    outs: list[tuple[str, torch.Tensor]], name: str, module: nn.Module, inp: Any, out: Any
) -> None:
    if not isinstance(out, torch.Tensor):
        raise ValueError(f"block {name!r} returned {type(out).__name__}, not a tensor")
    outs.append((name, out))


def _block_probes(npass: NetworkPass, outs: list[tuple[str, torch.Tensor]]) -> dict[str, Any]:
    """Detached block outputs and Rademacher VJPs between consecutive ones (same graph)."""
    if not outs:
        raise ValueError("no block was called in the forward")
    feats = [out for _, out in outs]
    gen = torch.Generator(device=feats[0].device)
    gen.manual_seed(int(npass.seed))
    probes: list[tuple[torch.Tensor, torch.Tensor]] = []
    for i in range(len(feats) - 1, 0, -1):  # last pair first, as AZ-NAS
        f_out, f_in = feats[i], feats[i - 1]
        r = torch.randint(0, 2, f_out.shape, generator=gen, device=f_out.device)
        r = r.to(f_out.dtype).mul_(2).sub_(1)
        g = None
        if f_out.requires_grad and f_in.requires_grad:
            (g,) = torch.autograd.grad(f_out, f_in, r, retain_graph=True, allow_unused=True)
        probes.append((r, torch.zeros_like(f_in) if g is None else g.detach()))
    probes.reverse()
    return {
        "names": [name for name, _ in outs],
        "features": [f.detach() for f in feats],
        "probes": probes,
    }


# ==================================================================================
# per-sample gradient machinery
# ==================================================================================

#: accepted values of ``options["per_sample"]``
PER_SAMPLE_MODES = ("exact", "loop", "chunks")


@dataclass(frozen=True)
class LayerGradStats:
    """Statistics over samples of d loss_i / d w, for every weight w of one layer.

    All tensors are float64 and shaped like the layer's weight; variances use
    ``ddof=1`` (unbiased, as ZiCo's ``torch.std``).

    Attributes
    ----------
    name : str
        Module name of the weight layer.
    count : int
        Number of gradient samples (batch size, or number of parts in ``"chunks"`` mode).
    mean, mean_abs : torch.Tensor
        Mean of g and of |g| over samples.
    var, var_abs : torch.Tensor
        Variance of g and of |g| over samples.
    """

    name: str
    count: int
    mean: torch.Tensor
    mean_abs: torch.Tensor
    var: torch.Tensor
    var_abs: torch.Tensor


class _RunningMoments:
    """Running mean and sum of squared deviations of g and |g| (Chan et al. merge)."""

    def __init__(self, shape: torch.Size, device: torch.device) -> None:
        self.n = 0
        self.shape, self.device = shape, device  # accumulators allocated on first update

    def update(self, g: torch.Tensor) -> None:
        """Merge a chunk ``g`` of shape ``(m, *weight.shape)``."""
        if self.n == 0:
            zeros = partial(torch.zeros, self.shape, dtype=torch.float64, device=self.device)
            self.mean, self.m2, self.mean_abs, self.m2_abs = zeros(), zeros(), zeros(), zeros()
        g = g.detach().to(torch.float64)
        m = int(g.shape[0])
        total = self.n + m
        for x, mean, m2 in ((g, self.mean, self.m2), (g.abs(), self.mean_abs, self.m2_abs)):
            chunk_mean = x.mean(0)
            chunk_m2 = (x - chunk_mean).square_().sum(0)
            delta = chunk_mean - mean
            mean.add_(delta * (m / total))
            m2.add_(chunk_m2 + delta.square_() * (self.n * m / total))
        self.n = total

    def finish(self, name: str) -> LayerGradStats:
        return LayerGradStats(
            name,
            self.n,
            self.mean,
            self.mean_abs,
            self.m2 / (self.n - 1),
            self.m2_abs / (self.n - 1),
        )


@contextmanager
def preserved_buffers(model: nn.Module) -> Iterator[None]:
    """Restore every buffer of ``model`` (BatchNorm running stats, counters) on exit.

    A train-mode forward updates BatchNorm running statistics in place; proxies that
    run such a forward on the shared model wrap it in this context so that the model
    is unchanged for the proxies that follow.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> bn = nn.BatchNorm1d(2)
    >>> with preserved_buffers(bn):
    ...     _ = bn(torch.randn(4, 2) + 5)
    >>> bn.running_mean.tolist(), int(bn.num_batches_tracked)
    ([0.0, 0.0], 0)
    """
    saved = [(b, b.detach().clone()) for b in model.buffers()]
    try:
        yield
    finally:
        with torch.no_grad():
            for buf, value in saved:
                buf.copy_(value)


def _fixed_bn_forward(
    module: nn.modules.batchnorm._BatchNorm, mean: torch.Tensor, var: torch.Tensor, x: torch.Tensor
) -> torch.Tensor:
    return nn.functional.batch_norm(
        x, mean, var, module.weight, module.bias, training=False, momentum=0.0, eps=module.eps
    )


def _batch_statistics_modules(model: nn.Module) -> list[nn.Module]:
    """BatchNorm modules that normalise with the statistics of the batch they see."""
    return [
        m
        for m in model.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm)
        and (m.training or not m.track_running_stats)
    ]


def _record_batch_statistics(
    stats: dict[nn.Module, Any], module: nn.Module, inp: tuple[torch.Tensor, ...]
) -> None:
    """Forward pre-hook: the input's per-channel mean and biased variance (what train-mode
    BatchNorm normalises with); a module called twice is marked ``None`` (shared)."""
    if module in stats:
        stats[module] = None
        return
    x = inp[0].detach()
    dims = [d for d in range(x.dim()) if d != 1]
    stats[module] = (x.mean(dims), x.var(dims, unbiased=False))


@contextmanager
def batch_norm_fixed_to_batch_statistics(
    model: nn.Module,
    inputs: torch.Tensor,
    stats: dict[nn.Module, tuple[torch.Tensor, torch.Tensor]] | None = None,
) -> Iterator[None]:
    """Inside the block, train-mode BatchNorm normalises with fixed whole-batch statistics.

    One forward of ``inputs`` records each training-mode BatchNorm module's input mean
    and biased variance (what the batched train-mode forward normalises with); inside
    the block those modules normalise any input with these constants, so a single
    sample's forward equals its forward inside the batch. Running statistics are left
    as they were. BatchNorm modules in eval mode (running statistics) are untouched.
    ``stats`` (recorded by an earlier forward of the same batch, e.g. the fused pass)
    skips the recording forward.
    """
    bns = _batch_statistics_modules(model)
    if not bns:  # nothing to fix (e.g. ViTs): skip the recording forward
        yield
        return
    if stats is None or set(stats) != set(bns):
        stats = {}
        handles = [
            m.register_forward_pre_hook(partial(_record_batch_statistics, stats)) for m in bns
        ]
        try:
            with torch.no_grad(), preserved_buffers(model):
                model(inputs)
        finally:
            for h in handles:
                h.remove()
    if any(v is None for v in stats.values()):
        raise ValueError(
            "a BatchNorm module is called more than once per forward (shared "
            "BatchNorm); per-sample statistics with fixed batch statistics are "
            "undefined for it: use options['per_sample']='chunks'"
        )
    patched = []
    try:
        for m, (mean, var) in stats.items():
            m.forward = partial(_fixed_bn_forward, m, mean, var)
            patched.append(m)
        yield
    finally:
        for m in patched:
            del m.forward


def _per_sample_grad_stats(npass: NetworkPass) -> list[LayerGradStats]:
    mode = npass.options.get("per_sample", "exact")
    if mode not in PER_SAMPLE_MODES:
        raise ValueError(f"options['per_sample'] must be one of {PER_SAMPLE_MODES}, got {mode!r}")
    model, x, y = npass.model, npass.inputs, npass.targets
    layers = weight_layers(model)
    if not layers:
        raise ValueError("the model has no weight layer (Conv2d or Linear)")
    weights = [m.weight for _, m in layers]
    acc = [_RunningMoments(w.shape, w.device) for w in weights]
    n = npass.batch_size
    with npass.seeded(), preserved_buffers(model):
        if mode == "chunks":
            k = int(npass.options.get("per_sample_splits", 2))
            if not 2 <= k <= n:
                raise ValueError(f"per_sample_splits must be in [2, batch size {n}], got {k}")
            for xs, ys in zip(torch.tensor_split(x, k), torch.tensor_split(y, k), strict=True):
                grads = torch.autograd.grad(
                    npass.loss_fn(model(xs), ys), weights, allow_unused=True
                )
                for a, w, g in zip(acc, weights, grads, strict=True):
                    a.update((torch.zeros_like(w) if g is None else g).unsqueeze(0))
        else:
            if n < 2:
                raise ValueError(f"per-sample statistics need at least 2 samples, got {n}")
            if "per_sample_grads" in npass.plan and npass.plan & FUSED_ITEMS:
                # run the planned fused forward first: it records the batch statistics
                try:
                    npass.fused(min(npass.plan & FUSED_ITEMS))
                except Exception:  # noqa: BLE001 - raised again to the proxies that need it
                    pass
            with batch_norm_fixed_to_batch_statistics(model, x, npass.cache.get("bn_batch_stats")):
                if mode == "exact":
                    chunk = int(npass.options.get("per_sample_chunk", 32))
                    if chunk < 1:
                        raise ValueError(f"per_sample_chunk must be >= 1, got {chunk}")
                    impl = npass.options.get("per_sample_impl", "auto")
                    if impl not in PER_SAMPLE_IMPLS:
                        raise ValueError(
                            f"options['per_sample_impl'] must be one of {PER_SAMPLE_IMPLS}, "
                            f"got {impl!r}"
                        )
                    if impl != "vmap":
                        reason = _hooks_ineligible(model, layers)
                        if reason is not None and impl == "hooks":
                            raise ValueError(f"per_sample_impl='hooks' is not possible: {reason}")
                        if reason is None and impl == "auto" and not _hooks_pays_off(layers):
                            reason = "convolutions with overlapping receptive fields"
                        if reason is None:
                            stats = _hooks_per_sample(npass, layers, check=impl == "auto")
                            if stats is not None:
                                npass.cache["per_sample_impl"] = "hooks"
                                return stats
                            npass.cache["per_sample_impl"] = "vmap (hooks check failed)"
                    npass.cache.setdefault("per_sample_impl", "vmap")
                    _exact_per_sample(npass, layers, acc, chunk)
                else:
                    for i in range(n):
                        loss = npass.loss_fn(model(x[i : i + 1]), y[i : i + 1])
                        grads = torch.autograd.grad(loss, weights, allow_unused=True)
                        for a, w, g in zip(acc, weights, grads, strict=True):
                            a.update((torch.zeros_like(w) if g is None else g).unsqueeze(0))
    return [a.finish(name) for a, (name, _) in zip(acc, layers, strict=True)]


#: accepted values of ``options["per_sample_impl"]``
PER_SAMPLE_IMPLS = ("auto", "vmap", "hooks")

#: elements of one slice of per-sample gradients in the hooks path (16 MB in float32)
_HOOKS_SLICE_ELEMENTS = 1 << 22


def _is_patchify(m: nn.Module) -> bool:
    return (
        isinstance(m, nn.Conv2d)
        and m.groups == 1
        and m.padding_mode == "zeros"
        and tuple(m.kernel_size) == tuple(m.stride)
        and tuple(m.dilation) == (1, 1)
        and m.padding in ((0, 0), "valid")
    )


def _unfoldable(m: nn.Module) -> bool:
    """A Conv2d whose per-sample gradient the hooks path computes by ``unfold``."""
    return (
        isinstance(m, nn.Conv2d)
        and m.padding_mode == "zeros"
        and (m.padding == "valid" or not isinstance(m.padding, str))
    )


def _hooks_ineligible(model: nn.Module, layers: list[tuple[str, nn.Module]]) -> str | None:
    """Why the hooks path cannot compute exact per-sample gradients (None if it can).

    Called inside :func:`batch_norm_fixed_to_batch_statistics`, where BatchNorm acts on
    each sample on its own, so BatchNorm does not disqualify a model.
    """
    seen: set[int] = set()
    for name, m in layers:
        if not (isinstance(m, nn.Linear) or _unfoldable(m)):
            return (
                f"layer {name!r} is neither Linear nor a zero-padded Conv2d "
                "(padding_mode 'zeros', numeric padding)"
            )
        if not m.weight.requires_grad:
            return f"the weight of layer {name!r} does not require grad"
        if id(m.weight) in seen:
            return f"the weight of layer {name!r} is shared with another layer"
        seen.add(id(m.weight))
    return None


def _hooks_pays_off(layers: list[tuple[str, nn.Module]]) -> bool:
    """Whether ``"auto"`` takes the hooks path: every weight layer Linear or patchify.

    Measured on CPU: 5-10x faster than ``vmap`` on ViTs, but no faster on NAS-Bench-201
    CNNs (about 5% slower over 8 cells at batch 64: unfolding 3x3 receptive fields costs
    what the single backward saves) and slower on DARTS cells (depthwise 5x5 convs).
    """
    return all(isinstance(m, nn.Linear) or _is_patchify(m) for _, m in layers)


def _patches(m: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """Receptive fields of ``x`` as ``(N, L, C * kh * kw)`` in weight order (groups=1)."""
    if _is_patchify(m):  # non-overlapping patches: a reshape, no copy by unfold
        kh, kw = m.kernel_size
        n, c, h, w = x.shape
        hp, wp = h // kh, w // kw
        x = x[:, :, : hp * kh, : wp * kw].reshape(n, c, hp, kh, wp, kw)
        return x.permute(0, 2, 4, 1, 3, 5).reshape(n, hp * wp, c * kh * kw)
    padding = (0, 0) if m.padding == "valid" else m.padding
    cols = nn.functional.unfold(x, m.kernel_size, m.dilation, padding, m.stride)
    return cols.transpose(1, 2)


def _conv_layer_grads(
    m: nn.Conv2d, terms: list[tuple[torch.Tensor, torch.Tensor]], rows: slice
) -> torch.Tensor | None:
    """Per-sample weight gradients ``(N, rows, fan_in)`` of a Conv2d, summed over calls.

    ``terms`` holds ``(d loss / d out, receptive fields)`` per call, as ``(N, C_out, L)``
    and ``(N, L, C_in * kh * kw)`` (:func:`_patches`). Grouped convs: output channel
    ``o`` of group ``o // (C_out / groups)`` sees the input channels of that group only.
    """
    g = None
    groups = m.groups
    out_per_group = m.out_channels // groups
    for go, cols in terms:
        if groups == 1:
            part = torch.bmm(go[:, rows], cols)
        else:
            n, length, _ = cols.shape
            fan_in = cols.shape[2] // groups
            g0, g1 = rows.start // out_per_group, (rows.stop - 1) // out_per_group + 1
            a = cols[:, :, g0 * fan_in : g1 * fan_in].reshape(n, length, g1 - g0, fan_in)
            b = go[:, g0 * out_per_group : g1 * out_per_group]
            b = b.reshape(n, g1 - g0, out_per_group, length)
            full = torch.einsum("ngol,nlgf->ngof", b, a).reshape(n, -1, fan_in)
            lo = rows.start - g0 * out_per_group
            part = full[:, lo : lo + (rows.stop - rows.start)]
        g = part if g is None else g + part
    return g


def _hooks_per_sample(
    npass: NetworkPass, layers: list[tuple[str, nn.Module]], *, check: bool
) -> list[LayerGradStats] | None:
    """Exact per-sample statistics from one batched backward (see ``per_sample_grads``).

    Returns None when ``check`` is set and sample 0 disagrees with a single-sample
    backward (the caller then falls back to ``vmap``).
    """
    model, x, y = npass.model, npass.inputs, npass.targets
    n = npass.batch_size
    calls: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {name: [] for name, _ in layers}

    def hook(name: str, module: nn.Module, inp: tuple[torch.Tensor, ...], out: torch.Tensor):
        if isinstance(out, torch.Tensor) and out.requires_grad:
            calls[name].append((inp[0].detach(), out))

    handles = [m.register_forward_hook(partial(hook, name)) for name, m in layers]
    try:
        with torch.enable_grad():
            logits = model(x)
            loss = sum(npass.loss_fn(logits[i : i + 1], y[i : i + 1]) for i in range(n))
            outs = [out for name, _ in layers for _, out in calls[name]]
            grads = torch.autograd.grad(loss, outs, allow_unused=True) if outs else []
    finally:
        for h in handles:
            h.remove()
    k = 0
    terms: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {}
    for name, m in layers:
        pairs = []
        for inp, _out in calls[name]:
            g = grads[k]
            k += 1
            if g is None:
                continue
            g = g.detach()
            if isinstance(m, nn.Linear):
                a = inp.reshape(n, -1, inp.shape[-1])
                g = g.reshape(n, -1, g.shape[-1]).transpose(1, 2).contiguous()
                pairs.append((g, a))  # (n, out, L), (n, L, fan_in)
            else:  # conv: receptive fields are unfolded per slice, when reduced
                pairs.append((g.reshape(n, g.shape[1], -1), inp))  # (n, out, L), input
        terms[name] = pairs
    calls.clear()
    del outs, grads, logits, loss

    reference = None
    if check:
        weights = [m.weight for _, m in layers]
        with torch.enable_grad():
            ref = torch.autograd.grad(
                npass.loss_fn(model(x[:1]), y[:1]), weights, allow_unused=True
            )
        reference = [
            torch.zeros_like(w) if r is None else r.detach()
            for w, r in zip(weights, ref, strict=True)
        ]

    out_stats = []
    for idx, (name, m) in enumerate(layers):
        w = m.weight
        rows, fan_in = w.shape[0], w[0].numel()
        stats = [
            torch.zeros((rows, fan_in), dtype=torch.float64, device=w.device) for _ in range(4)
        ]
        first = torch.zeros((rows, fan_in), dtype=w.dtype, device=w.device)
        step = max(1, _HOOKS_SLICE_ELEMENTS // max(1, n * fan_in))
        if isinstance(m, nn.Conv2d):  # unfold each call's input once per layer
            terms[name] = [(go, _patches(m, inp)) for go, inp in terms[name]]
        for r0 in range(0, rows, step):
            r1 = min(rows, r0 + step)
            if isinstance(m, nn.Conv2d):
                g = _conv_layer_grads(m, terms[name], slice(r0, r1))
            else:
                g = None
                for go, a in terms[name]:
                    part = torch.bmm(go[:, r0:r1], a)
                    g = part if g is None else g + part
            if g is None:
                continue  # layer never reached by the loss: zero gradient
            first[r0:r1] = g[0]
            # two-pass mean / variance in the gradients' own dtype (float32 centring is as
            # accurate as float32 per-sample gradients themselves; float64 nets: float64)
            for xs, (mean, var) in ((g, (0, 2)), (g.abs(), (1, 3))):
                chunk_mean = xs.mean(0)
                stats[mean][r0:r1] = chunk_mean
                stats[var][r0:r1] = (xs - chunk_mean).square_().sum(0).to(torch.float64) / (n - 1)
        if reference is not None:
            r = reference[idx].reshape(rows, fan_in)
            err = float((first - r).double().norm())
            if err > 1e-3 * float(r.double().norm()) + 1e-12:
                return None
        terms[name] = []  # release this layer's receptive fields
        shape = w.shape
        mean, mean_abs, var, var_abs = (t.reshape(shape) for t in stats)
        out_stats.append(LayerGradStats(name, n, mean, mean_abs, var, var_abs))
    return out_stats


def _exact_per_sample(
    npass: NetworkPass,
    layers: list[tuple[str, nn.Module]],
    acc: list[_RunningMoments],
    chunk: int,
) -> None:
    from torch.func import functional_call, grad, vmap

    model = npass.model
    keys = [f"{name}.weight" for name, _ in layers]
    params = {k: m.weight.detach() for k, (_, m) in zip(keys, layers, strict=True)}

    def sample_loss(p: dict[str, torch.Tensor], xi: torch.Tensor, yi: torch.Tensor) -> torch.Tensor:
        return npass.loss_fn(functional_call(model, p, (xi.unsqueeze(0),)), yi.unsqueeze(0))

    per_sample = vmap(grad(sample_loss), in_dims=(None, 0, 0), randomness="different")
    with torch.no_grad():  # torch.func.grad ignores it; it stops graphs for other params
        for start in range(0, npass.batch_size, chunk):
            grads = per_sample(
                params,
                npass.inputs[start : start + chunk],
                npass.targets[start : start + chunk],
            )
            for a, k in zip(acc, keys, strict=True):
                a.update(grads[k])


# ==================================================================================
# scoring one network
# ==================================================================================


def score_network(
    model: nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    proxies: Sequence[str],
    *,
    seed: int = 0,
    options: dict[str, Any] | None = None,
) -> tuple[dict[str, float], dict[str, str]]:
    """Score one network with several registered proxies sharing one :class:`NetworkPass`.

    Parameters
    ----------
    model : torch.nn.Module
        The untrained network on ``inputs.device``, in the mode it should be scored in
        (NAS-Bench-Suite-Zero scores in training mode).
    inputs : torch.Tensor
        Batch ``(N, ...)``.
    targets : torch.Tensor
        Integer labels ``(N,)``.
    proxies : sequence of str
        Registered proxy names, run in this order.
    seed : int, default=0
        Seed of the pass (random inputs, dropout masks); same seed, same scores.
    options : dict, optional
        Options read by the passes and proxies (``per_sample``, ``lswag_band``, ...).

    Returns
    -------
    scores : dict of str to float
        One float per proxy; ``nan`` where the proxy failed.
    errors : dict of str to str
        ``"ExceptionType: message"`` for every proxy that raised or returned a
        non-finite value; empty when all succeeded.

    Raises
    ------
    TypeError
        ``proxies`` is a string or not a sequence of strings.
    ValueError
        An unknown proxy name, or inputs/targets of mismatched batch size
        (checked before anything runs).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from libranas.proxies._engine import score_network
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(144, 3))
    >>> x, y = torch.randn(8, 3, 8, 8), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    >>> scores, errors = score_network(net, x, y, ["swap", "zico"])
    >>> sorted(scores), errors
    (['swap', 'zico'], {})
    """
    from libranas.proxies._registry import get_proxy

    if isinstance(proxies, str) or not all(isinstance(p, str) for p in proxies):
        raise TypeError(f"proxies must be a sequence of proxy names, got {proxies!r}")
    if not isinstance(inputs, torch.Tensor) or not isinstance(targets, torch.Tensor):
        raise TypeError("inputs and targets must be torch tensors")
    if inputs.shape[0] != targets.shape[0]:
        raise ValueError(
            f"inputs have {inputs.shape[0]} samples but targets have {targets.shape[0]}"
        )
    infos = [get_proxy(name) for name in proxies]
    npass = NetworkPass(model, inputs, targets, seed=seed, options=options, plan=plan_for(proxies))
    scores: dict[str, float] = {}
    errors: dict[str, str] = {}
    for info in infos:
        try:
            value = float(info.func(npass))
        except Exception as exc:  # noqa: BLE001 - one proxy failing must not stop the others
            scores[info.name] = math.nan
            errors[info.name] = f"{type(exc).__name__}: {exc}"
            continue
        if not math.isfinite(value):
            errors[info.name] = f"non-finite score {value}"
            value = math.nan
        scores[info.name] = value
    return scores, errors
