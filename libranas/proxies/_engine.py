"""The shared pass: one network, one batch, every requested proxy.

:class:`NetworkPass` computes each kind of pass at most once, on first request, and
caches it, so proxies that need the same forward/backward share it. Proxies read from
it; they never run the network themselves unless they declare ``own_pass``.

With a ``plan`` (the requirements of all the proxies about to be scored, see
:func:`plan_for`), the batch-loss passes are fused: ONE train-mode forward of the batch
records the activation codes, feeds the input Jacobian, the weight (and layer-output)
gradients of the loss and GraSP's Hessian-gradient product, instead of one forward per
kind. Without a plan each kind runs alone, as a tool that scores one proxy would.

The parts live in their own modules, each with its own reason to change:
:mod:`~libranas.proxies._layers` (activations, weight layers, BatchNorm state),
:mod:`~libranas.proxies._fused` (the fused batch-loss pass, AZ-NAS's feature blocks) and
:mod:`~libranas.proxies._per_sample` (per-sample gradient statistics). This module holds
the pass object, the plan and :func:`score_network`, and re-exports the parts' public names.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property, partial
from typing import Any

import torch
from torch import nn

from libranas.proxies._fused import (  # noqa: F401  (re-exported)
    FUSED_ITEMS,
    _block_hook,
    _block_probes,
    _fused_pass,
    channel_terms,
    feature_blocks,
)
from libranas.proxies._layers import (  # noqa: F401  (re-exported)
    ACTIVATION_TYPES,
    WEIGHT_LAYER_TYPES,
    _batch_norm_one_value,
    _batch_statistics_modules,
    _fixed_bn_forward,
    _record_batch_statistics,
    batch_norm_fixed_to_batch_statistics,
    is_activation,
    preserved_buffers,
    weight_layers,
)
from libranas.proxies._per_sample import (  # noqa: F401  (re-exported)
    PER_SAMPLE_IMPLS,
    PER_SAMPLE_MODES,
    LayerGradStats,
    _per_sample_grad_stats,
)


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
