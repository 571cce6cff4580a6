"""The PiT (pooling-based Vision Transformer) search space of the Auto-Prox benchmark.

PiT (Heo et al., *Rethinking Spatial Dimensions of Vision Transformers*, ICCV 2021) is a
three-stage ViT: a convolutional patch embedding, then stages of transformer blocks whose
token grid is halved and whose width grows between stages by a *pooling* layer (a strided
depthwise convolution on the spatial tokens and a linear map on the class token). The
Auto-Prox benchmark (Wei et al., *Auto-Prox: Training-Free Vision Transformer Architecture
Search via Automatic Proxy Discovery*, AAAI 2024) searches PiT-Ti-like networks with:

=============  ===================================  =========================================
decision       choices                              meaning
=============  ===================================  =========================================
base_dim       16, 24, 32, 40                       width of one attention head (all stages)
mlp_ratio      2, 4, 6, 8                           MLP hidden width / stage width (all stages)
depth          stage 1: 1, 2, 3; stage 2: 4, 6, 8;  transformer blocks per stage
               stage 3: 2, 4, 6
num_heads      2, 4, 8 per stage, non-decreasing    heads per stage; stage width =
                                                    ``base_dim * num_heads``
=============  ===================================  =========================================

so an architecture is a record like
``{"base_dim": 16, "mlp_ratio": 6, "depth": [2, 8, 4], "num_heads": [2, 4, 4]}``. Heads never
decrease from one stage to the next, and the pooling convolution is depthwise (one group per
input channel), so each stage's width is a multiple of the previous one's: with heads in
{2, 4, 8} that holds for every non-decreasing triple (10 of the 27).

The canonical form is a :class:`PiTArch` (frozen, hashable, picklable dataclass).
:meth:`PiTSpace.build` builds the network on timm layers (``timm.models.pit.ConvEmbedding``
and ``Pooling``, ``timm.layers.Mlp``) with explicit-softmax attention (the AutoFormer space's
attention module, head dimension ``base_dim``) so activation and attention hooks see
everything; :meth:`PiTSpace.param_count` counts analytically.

Image size and patches
----------------------
Auto-Prox's PiT configuration uses a 16-pixel patch convolution with stride 8 (PiT-Ti at
224 px: a 27 x 27 token grid). ``PiTSpace(img_size=224)`` does the same. For small images
(``img_size < 128``, e.g. CIFAR at 32 px) the default is an 8-pixel patch with stride 4, a
7 x 7 grid (pooled to 4 x 4 and 2 x 2): both are parameters.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from libranas._validation import is_int as _is_int
from libranas.spaces._registry import register_space
from libranas.spaces.base import SearchSpace, check_num_classes, size_prior_from_counts
from libranas.spaces.nb201 import _as_generator

#: the Auto-Prox PiT search space (configs/auto/pit/*.yaml, PIT_SEARCH_SPACE)
CHOICES: Mapping[str, Any] = {
    "base_dim": (16, 24, 32, 40),
    "mlp_ratio": (2, 4, 6, 8),
    "depth": ((1, 2, 3), (4, 6, 8), (2, 4, 6)),
    "num_heads": (2, 4, 8),
}

#: LayerNorm epsilon of PiT
LN_EPS = 1e-6


def _int_tuple(value: Any, key: str) -> tuple[int, ...]:
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"{key} must be a list with one int per stage, got {value!r}")
    out = []
    for s, v in enumerate(value):
        if not _is_int(v):
            raise TypeError(f"{key} of stage {s} must be an int, got {v!r}")
        if v < 1:
            raise ValueError(f"{key} of stage {s} must be positive, got {int(v)}")
        out.append(int(v))
    return tuple(out)


@dataclass(frozen=True, order=True)
class PiTArch:
    """Canonical PiT architecture: head width and MLP ratio shared by all stages, depth and
    heads per stage.

    Construction checks types, lengths and the pooling constraint (each stage's heads a
    multiple of the previous stage's), not the ranges of a space.

    Parameters
    ----------
    base_dim : int
        Width of one attention head; stage ``s`` is ``base_dim * num_heads[s]`` wide.
    mlp_ratio : int
        MLP hidden width = ``mlp_ratio * stage width`` (an int, as in the Auto-Prox space).
    depth : sequence of int
        Transformer blocks per stage.
    num_heads : sequence of int
        Heads per stage, same length as ``depth``; each a multiple of the previous one
        (the pooling convolution is depthwise).

    Examples
    --------
    >>> a = PiTArch(16, 6, [2, 8, 4], (2, 4, 4))
    >>> a.widths
    (32, 64, 64)
    >>> a.to_dict()
    {'base_dim': 16, 'mlp_ratio': 6, 'depth': [2, 8, 4], 'num_heads': [2, 4, 4]}
    >>> PiTArch(16, 6, [2, 8, 4], [4, 2, 2])
    Traceback (most recent call last):
    ...
    ValueError: num_heads [4, 2, 2]: stage 1's heads (2) are not a multiple of stage 0's (4)
    """

    base_dim: int
    mlp_ratio: int
    depth: tuple[int, ...]
    num_heads: tuple[int, ...]

    def __post_init__(self) -> None:
        for key in ("base_dim", "mlp_ratio"):
            value = getattr(self, key)
            if isinstance(value, (float, np.floating)) and float(value).is_integer():
                value = int(value)
            if not _is_int(value):
                raise TypeError(f"{key} must be an int, got {type(value).__name__} {value!r}")
            if value < 1:
                raise ValueError(f"{key} must be positive, got {int(value)}")
            object.__setattr__(self, key, int(value))
        depth = _int_tuple(self.depth, "depth")
        heads = _int_tuple(self.num_heads, "num_heads")
        if not depth:
            raise ValueError("depth must list at least one stage")
        if len(heads) != len(depth):
            raise ValueError(
                f"num_heads has {len(heads)} stages but depth has {len(depth)}: give one value "
                "per stage"
            )
        for s in range(1, len(heads)):
            if heads[s] % heads[s - 1]:
                raise ValueError(
                    f"num_heads {list(heads)}: stage {s}'s heads ({heads[s]}) are not a "
                    f"multiple of stage {s - 1}'s ({heads[s - 1]})"
                )
        object.__setattr__(self, "depth", depth)
        object.__setattr__(self, "num_heads", heads)

    @property
    def widths(self) -> tuple[int, ...]:
        """Embedding width of each stage, ``base_dim * num_heads[s]``."""
        return tuple(self.base_dim * h for h in self.num_heads)

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping in the Auto-Prox record form."""
        return {
            "base_dim": self.base_dim,
            "mlp_ratio": self.mlp_ratio,
            "depth": list(self.depth),
            "num_heads": list(self.num_heads),
        }


_KEYS = ("base_dim", "mlp_ratio", "depth", "num_heads")


def _parse(arch: Any) -> PiTArch:
    if isinstance(arch, PiTArch):
        return arch
    if not isinstance(arch, Mapping):
        raise TypeError(
            "a PiT architecture is a mapping {'base_dim', 'mlp_ratio', 'depth', 'num_heads'} "
            f"or a PiTArch, got {type(arch).__name__}"
        )
    fields = {}
    unknown = []
    for key, value in arch.items():
        name = key.lower() if isinstance(key, str) else None
        if name not in _KEYS:
            unknown.append(key)
            continue
        fields[name] = value
    if unknown:
        raise ValueError(f"unknown architecture key(s) {unknown}; expected {list(_KEYS)}")
    missing = [k for k in _KEYS if k not in fields]
    if missing:
        raise ValueError(f"the architecture lacks {missing}; got keys {list(arch)}")
    return PiTArch(**fields)


def _grid(img_size: int, patch_size: int, stride: int) -> int:
    """Side of the token grid after the patch convolution (no padding)."""
    return (img_size - patch_size) // stride + 1


def pit_param_count(
    arch: Any, num_classes: int = 100, img_size: int = 32, patch_size: int = 8, stride: int = 4
) -> int:
    """Parameters of the PiT network of ``arch`` (as :meth:`PiTSpace.build` builds it).

    With stage widths ``d_s = base_dim * num_heads[s]``, MLP widths ``m_s = mlp_ratio * d_s``
    and a ``T x T`` token grid after the patch convolution (``T = (img_size - patch_size)
    // stride + 1``):

    - patch convolution ``3 * patch_size**2 * d_0 + d_0``, position embedding
      ``d_0 * T * T``, class token ``d_0``;
    - per block of stage ``s``: two LayerNorms ``4 d``, qkv ``3 d^2 + 3 d``, projection
      ``d^2 + d``, MLP ``2 d m + m + d``;
    - per pooling ``s -> s + 1``: depthwise 3 x 3 convolution ``9 d_{s+1} + d_{s+1}`` and the
      class-token linear ``d_s d_{s+1} + d_{s+1}``;
    - final LayerNorm ``2 d_L`` and head ``d_L * num_classes + num_classes``.

    Examples
    --------
    >>> arch = {"base_dim": 16, "mlp_ratio": 2, "depth": [1, 1], "num_heads": [2, 4]}
    >>> pit_param_count(arch, num_classes=10, img_size=32, patch_size=8, stride=4)
    53322
    """
    a = _parse(arch)
    d = a.widths
    grid = _grid(img_size, patch_size, stride)
    total = 3 * patch_size * patch_size * d[0] + d[0]  # patch convolution
    total += d[0] * grid * grid + d[0]  # position embedding, class token
    for s, (width, blocks) in enumerate(zip(d, a.depth, strict=True)):
        m = a.mlp_ratio * width
        block = 4 * width + 3 * width * width + 3 * width + width * width + width
        block += 2 * width * m + m + width
        total += blocks * block
        if s + 1 < len(d):
            nxt = d[s + 1]
            total += 9 * nxt + nxt + width * nxt + nxt
    total += 2 * d[-1] + d[-1] * num_classes + num_classes
    return total


def _head_triples(heads: Sequence[int], n_stages: int) -> list[tuple[int, ...]]:
    """Non-decreasing head tuples over ``heads`` whose consecutive values divide."""
    out = []
    for combo in itertools.combinations_with_replacement(sorted(heads), n_stages):
        if all(combo[s] % combo[s - 1] == 0 for s in range(1, n_stages)):
            out.append(tuple(combo))
    return out


@register_space("pit")
class PiTSpace(SearchSpace):
    """The Auto-Prox PiT search space (three-stage pooling ViTs; see the module docstring).

    Parameters
    ----------
    img_size : int, default=32
        Input resolution (square images).
    num_classes : int, default=100
        Classes of the head (Auto-Prox trains PiT on CIFAR-100).
    patch_size, stride : int, optional
        Kernel and stride of the patch convolution. Default: 16 and 8 (Auto-Prox, PiT-Ti)
        when ``img_size >= 128``, else 8 and 4 (a 7 x 7 token grid at 32 px).
    strict : bool, default=True
        If True, values outside the Auto-Prox choices (or decreasing heads) are rejected; if
        False, any structurally valid record is accepted (any number of stages, any positive
        widths whose heads divide from stage to stage); :meth:`encode` still needs values
        among the choices.

    Attributes
    ----------
    choices : dict
        ``{"base_dim", "mlp_ratio", "depth": per-stage choices, "num_heads"}``.
    head_options : list of tuple
        The 10 valid per-stage head tuples, sorted.

    Examples
    --------
    >>> from libranas.spaces import get_space
    >>> space = get_space("pit", img_size=32, num_classes=100)
    >>> arch = space.sample(1, random_state=0)[0]
    >>> space.validate(arch.to_dict()) == arch
    True
    >>> space.param_count({"base_dim": 16, "mlp_ratio": 6, "depth": [2, 8, 4],
    ...                    "num_heads": [2, 4, 4]})
    853636
    >>> space.encode(arch).shape
    (26,)
    """

    name = "pit"

    def __init__(
        self,
        img_size: int = 32,
        num_classes: int = 100,
        patch_size: int | None = None,
        stride: int | None = None,
        strict: bool = True,
    ) -> None:
        if not _is_int(img_size) or img_size < 1:
            raise ValueError(f"img_size must be a positive int, got {img_size!r}")
        num_classes = check_num_classes(num_classes, default=100)
        big = img_size >= 128
        patch_size = (16 if big else 8) if patch_size is None else patch_size
        stride = (8 if big else 4) if stride is None else stride
        for key, value in (("patch_size", patch_size), ("stride", stride)):
            if not _is_int(value) or value < 1:
                raise ValueError(f"{key} must be a positive int, got {value!r}")
        if patch_size > img_size:
            raise ValueError(f"patch_size {patch_size} is larger than img_size {img_size}")
        if not isinstance(strict, (bool, np.bool_)):
            raise TypeError(f"strict must be a bool, got {strict!r}")
        self.img_size = int(img_size)
        self.num_classes = num_classes
        self.patch_size = int(patch_size)
        self.stride = int(stride)
        self.strict = bool(strict)
        self.choices = {
            "base_dim": CHOICES["base_dim"],
            "mlp_ratio": CHOICES["mlp_ratio"],
            "depth": CHOICES["depth"],
            "num_heads": CHOICES["num_heads"],
        }
        self.head_options = _head_triples(CHOICES["num_heads"], len(CHOICES["depth"]))

    def __repr__(self) -> str:
        return (
            f"PiTSpace(img_size={self.img_size}, num_classes={self.num_classes}, "
            f"patch_size={self.patch_size}, stride={self.stride}, strict={self.strict})"
        )

    @property
    def default_input_shape(self) -> tuple[int, int, int]:  # type: ignore[override]
        """``(3, img_size, img_size)``."""
        return (3, self.img_size, self.img_size)

    @property
    def n_stages(self) -> int:
        """Stages of the space (3)."""
        return len(self.choices["depth"])

    # ------------------------------------------------------------------ conversions
    def validate(self, arch: Any) -> PiTArch:
        """Return the canonical :class:`PiTArch` of ``arch``.

        Raises
        ------
        ValueError
            Missing / unknown keys, stage lists of different lengths, heads that do not
            divide, and (``strict=True``) a value outside the choices or a number of stages
            other than 3, named with the allowed set.
        TypeError
            ``arch`` not a mapping, values of the wrong type.

        Examples
        --------
        >>> PiTSpace().validate({"base_dim": 16, "mlp_ratio": 6, "depth": [2, 5, 4],
        ...                      "num_heads": [2, 4, 4]})
        Traceback (most recent call last):
        ...
        ValueError: depth 5 of stage 1 is not in the pit space; allowed: [4, 6, 8]
        """
        a = _parse(arch)
        if not self.strict:
            return a
        c = self.choices
        for key in ("base_dim", "mlp_ratio"):
            if getattr(a, key) not in c[key]:
                raise ValueError(
                    f"{key} {getattr(a, key)} is not in the pit space; allowed: {list(c[key])}"
                )
        if len(a.depth) != self.n_stages:
            raise ValueError(f"the pit space has {self.n_stages} stages, got {len(a.depth)}")
        for s, (d, h) in enumerate(zip(a.depth, a.num_heads, strict=True)):
            if d not in c["depth"][s]:
                raise ValueError(
                    f"depth {d} of stage {s} is not in the pit space; allowed: "
                    f"{list(c['depth'][s])}"
                )
            if h not in c["num_heads"]:
                raise ValueError(
                    f"num_heads {h} of stage {s} is not in the pit space; allowed: "
                    f"{list(c['num_heads'])}"
                )
        return a

    # ------------------------------------------------------------------ sampling
    def sample(self, n: int, random_state: Any = None) -> list[PiTArch]:
        """Draw ``n`` architectures: base dim, MLP ratio and each stage's depth uniformly,
        the heads uniformly among the 10 valid non-decreasing tuples.

        Examples
        --------
        >>> [a.num_heads for a in PiTSpace().sample(2, random_state=0)]
        [(2, 2, 2), (8, 8, 8)]
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"n must be a non-negative int, got {n!r}")
        rng = _as_generator(random_state)
        c = self.choices
        out = []
        for _ in range(int(n)):
            base = c["base_dim"][int(rng.integers(len(c["base_dim"])))]
            ratio = c["mlp_ratio"][int(rng.integers(len(c["mlp_ratio"])))]
            depth = [opts[int(rng.integers(len(opts)))] for opts in c["depth"]]
            heads = self.head_options[int(rng.integers(len(self.head_options)))]
            out.append(PiTArch(base, ratio, depth, heads))
        return out

    def mutate(self, arch: Any, random_state: Any = None) -> PiTArch:
        """Change one decision: the base dim, the MLP ratio, one stage's depth, or one
        stage's heads (to another value that keeps the heads valid), chosen uniformly among
        the decisions that have another valid value.

        Examples
        --------
        >>> space = PiTSpace()
        >>> a = space.sample(1, random_state=0)[0]
        >>> b = space.mutate(a, random_state=1)
        >>> a != b and space.validate(b) == b
        True
        """
        a = self.validate(arch)
        rng = _as_generator(random_state)
        c = self.choices
        moves: list[tuple[str, int, list[Any]]] = []
        for key in ("base_dim", "mlp_ratio"):
            others = [v for v in c[key] if v != getattr(a, key)]
            if others:
                moves.append((key, -1, others))
        for s in range(len(a.depth)):
            opts = c["depth"][s] if s < len(c["depth"]) else ()
            others = [v for v in opts if v != a.depth[s]]
            if others:
                moves.append(("depth", s, others))
        for s in range(len(a.num_heads)):
            others = []
            for h in c["num_heads"]:
                heads = list(a.num_heads)
                heads[s] = h
                if h != a.num_heads[s] and tuple(heads) in self.head_options:
                    others.append(h)
            if others:
                moves.append(("num_heads", s, others))
        if not moves:
            raise ValueError(f"no decision of {a!r} has another valid value in the pit space")
        key, stage, others = moves[int(rng.integers(len(moves)))]
        new = others[int(rng.integers(len(others)))]
        fields = a.to_dict()
        if stage < 0:
            fields[key] = new
        else:
            fields[key][stage] = new
        return PiTArch(**fields)

    # ------------------------------------------------------------------ encoding
    def encoding_names(self) -> list[str]:
        """``base_dim=16`` ..., ``mlp_ratio=2`` ..., ``stage0:depth=1`` ...,
        ``stage0:num_heads=2`` ... (26 columns)."""
        c = self.choices
        names = [f"base_dim={v}" for v in c["base_dim"]]
        names += [f"mlp_ratio={v}" for v in c["mlp_ratio"]]
        for s, opts in enumerate(c["depth"]):
            names += [f"stage{s}:depth={v}" for v in opts]
        for s in range(self.n_stages):
            names += [f"stage{s}:num_heads={v}" for v in c["num_heads"]]
        return names

    def encode(self, arch: Any) -> np.ndarray:
        """One-hot of every decision (see :meth:`encoding_names`).

        Raises
        ------
        ValueError
            A value outside the choices (possible only with ``strict=False``).
        """
        a = self.validate(arch)
        c = self.choices
        if len(a.depth) != self.n_stages:
            raise ValueError(f"cannot encode {len(a.depth)} stages: the encoding has 3")
        parts: list[tuple[Sequence[Any], Any, str]] = [
            (c["base_dim"], a.base_dim, "base_dim"),
            (c["mlp_ratio"], a.mlp_ratio, "mlp_ratio"),
        ]
        parts += [(c["depth"][s], a.depth[s], f"depth of stage {s}") for s in range(3)]
        parts += [(c["num_heads"], a.num_heads[s], f"num_heads of stage {s}") for s in range(3)]
        out = []
        for opts, value, what in parts:
            if value not in opts:
                raise ValueError(f"cannot encode {what} {value}: not among {list(opts)}")
            one = np.zeros(len(opts))
            one[list(opts).index(value)] = 1.0
            out.append(one)
        return np.concatenate(out)

    # ------------------------------------------------------------------ graph features
    def graph_feature_names(self) -> list[str]:
        """Names of :meth:`graph_features`."""
        names = ["base_dim", "mlp_ratio", "depth", "params_M"]
        for s in range(self.n_stages):
            names += [
                f"stage{s}:depth",
                f"stage{s}:num_heads",
                f"stage{s}:width",
                f"stage{s}:tokens",
            ]
        names += ["width:mean", "width:first", "width:last", "mlp_dim:sum", "attn_dim:sum"]
        names += ["tokens_x_blocks", "depth:first_stage_share"]
        return names

    def _token_grids(self, n_stages: int) -> list[int]:
        grid = _grid(self.img_size, self.patch_size, self.stride)
        out = [grid]
        for _ in range(n_stages - 1):
            grid = (grid - 1) // 2 + 1  # kernel 3, stride 2, padding 1
            out.append(grid)
        return out

    def graph_features(self, arch: Any) -> np.ndarray:
        """Summaries of the stages of ``arch`` (a PiT's "graph" is a chain of three stages).

        Head width, MLP ratio, total depth, parameters (millions); per stage its depth,
        heads, width and tokens (``grid**2 + 1``); the mean width over all blocks, first and
        last widths, the summed MLP and attention widths over all blocks, the tokens summed
        over all blocks and the share of blocks in the first stage.

        Examples
        --------
        >>> space = PiTSpace()
        >>> a = {"base_dim": 16, "mlp_ratio": 6, "depth": [2, 8, 4], "num_heads": [2, 4, 4]}
        >>> f = dict(zip(space.graph_feature_names(), space.graph_features(a).tolist()))
        >>> f["stage1:width"], f["stage0:tokens"], f["width:mean"]
        (64.0, 50.0, 59.42857142857143)
        """
        a = self.validate(arch)
        widths = np.asarray(a.widths, dtype=np.float64)
        depth = np.asarray(a.depth, dtype=np.float64)
        tokens = np.asarray([g * g + 1 for g in self._token_grids(len(a.depth))], np.float64)
        block_widths = np.repeat(widths, a.depth)
        out = [float(a.base_dim), float(a.mlp_ratio), float(depth.sum()), self.param_count(a) / 1e6]
        for s in range(len(a.depth)):
            out += [depth[s], float(a.num_heads[s]), widths[s], tokens[s]]
        out += [float(block_widths.mean()), widths[0], widths[-1]]
        out += [float((block_widths * a.mlp_ratio).sum()), float(block_widths.sum())]
        out += [float((tokens * depth).sum()), float(depth[0] / depth.sum())]
        return np.asarray(out, dtype=np.float64)

    # ------------------------------------------------------------------ Optuna
    def trial_choices(self) -> dict[str, tuple[Any, ...]]:
        """``base_dim``, ``mlp_ratio``, ``depth_<s>`` per stage, and ``num_heads`` (the index
        of the heads tuple among :attr:`head_options`, a categorical over 10 values)."""
        c = self.choices
        out: dict[str, tuple[Any, ...]] = {
            "base_dim": c["base_dim"],
            "mlp_ratio": c["mlp_ratio"],
        }
        for s, opts in enumerate(c["depth"]):
            out[f"depth_{s}"] = opts
        out["num_heads"] = tuple(range(len(self.head_options)))
        return out

    def suggest(self, trial: Any) -> PiTArch:
        """Draw a PiT through an Optuna ``trial`` (every decision one categorical).

        Examples
        --------
        >>> import optuna
        >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
        >>> study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        >>> space = PiTSpace()
        >>> trial = study.ask()
        >>> arch = space.suggest(trial)
        >>> space.trial_params(arch) == trial.params
        True
        """
        params = {k: trial.suggest_categorical(k, list(v)) for k, v in self.trial_choices().items()}
        return self._from_params(params)

    def _from_params(self, params: Mapping[str, Any]) -> PiTArch:
        heads = self.head_options[int(params["num_heads"])]
        depth = [params[f"depth_{s}"] for s in range(self.n_stages)]
        return self.validate(
            {
                "base_dim": params["base_dim"],
                "mlp_ratio": params["mlp_ratio"],
                "depth": depth,
                "num_heads": list(heads),
            }
        )

    def trial_params(self, arch: Any) -> dict[str, Any]:
        """The trial parameters of ``arch`` (inverse of :meth:`suggest`)."""
        a = self.validate(arch)
        if a.num_heads not in self.head_options:
            raise ValueError(f"num_heads {list(a.num_heads)} is not a pit head option")
        params: dict[str, Any] = {"base_dim": a.base_dim, "mlp_ratio": a.mlp_ratio}
        for s, d in enumerate(a.depth):
            params[f"depth_{s}"] = d
        params["num_heads"] = self.head_options.index(a.num_heads)
        return params

    # ------------------------------------------------------------------ size
    def param_count(self, arch: Any, num_classes: int | None = None) -> int:
        """Parameters of :meth:`build` ``(arch, num_classes)``, analytically
        (:func:`pit_param_count`)."""
        a = self.validate(arch)
        return pit_param_count(
            a,
            check_num_classes(num_classes, default=self.num_classes),
            self.img_size,
            self.patch_size,
            self.stride,
        )

    def size_prior(self) -> tuple[float, float]:
        """reg-SWAP's ``(mu, sigma)`` (millions) derived from 200 sampled PiTs
        (:func:`~libranas.spaces.base.size_prior_from_counts`).

        Examples
        --------
        >>> mu, sigma = PiTSpace().size_prior()
        >>> 10 < mu < 40 and sigma > 1
        True
        """
        return _cached_prior(self.img_size, self.num_classes, self.patch_size, self.stride)

    # ------------------------------------------------------------------ L-SWAG
    def _band_record(self) -> dict[str, Any] | None:
        for rec in _band_records():
            if (rec["img_size"], rec["patch_size"], rec["stride"]) == (
                self.img_size,
                self.patch_size,
                self.stride,
            ):
                return rec
        return None

    def lswag_band(self) -> tuple[float, float] | None:
        """The L-SWAG band stored for this image size, patch size and stride (None if none
        is): calibrated by ``benchmarks/lswag_vit.py`` on random PiTs at initialisation
        (``libranas/spaces/data/pit_band.json``, which records the protocol)."""
        rec = self._band_record()
        return None if rec is None else (float(rec["band"][0]), float(rec["band"][1]))

    def lswag_profile(self) -> np.ndarray | None:
        """The stored calibration profile (10 depth bins) the band was chosen from, or None."""
        rec = self._band_record()
        return None if rec is None else np.asarray(rec["profile"], dtype=np.float64)

    # ------------------------------------------------------------------ networks
    def build(self, arch: Any, num_classes: int | None = None) -> Any:
        """Build the untrained PiT of ``arch``.

        ``timm.models.pit.ConvEmbedding`` (a ``patch_size`` convolution with stride
        ``stride``, no padding) to the first stage's width, plus a learned position
        embedding on the token grid and a class token; per stage, pre-norm transformer
        blocks ``x + Attn(LN(x))``, ``x + MLP(LN(x))`` over the class token and the grid's
        tokens (attention: ``num_heads`` heads of dimension ``base_dim``, qkv with bias,
        explicit softmax, attention maps on ``stages.<s>.blocks.<i>.attn.attn_map``; MLP:
        ``timm.layers.Mlp`` with ``nn.GELU``); between stages ``timm.models.pit.Pooling`` (a
        depthwise 3 x 3 convolution with stride 2 from width ``d_s`` to ``d_{s+1}`` on the
        grid, a linear map on the class token); a final LayerNorm and a linear head on the
        class token. Initialisation as PiT: position embedding and class token from a
        truncated normal (std 0.02), LayerNorms 1 and 0, convolutions and linears at torch's
        default. Modules are registered in forward order (``patch_embed``, then
        ``stages.<s>.blocks``, ``stages.<s>.pool``, ..., ``norm``, ``head``). Each stage maps
        the token tensor ``(N, 1 + grid**2, width)`` to the next stage's tokens, so
        block-feature proxies (AZ-NAS) see the three stages as blocks.

        Examples
        --------
        >>> import torch
        >>> space = PiTSpace(img_size=32, num_classes=10)
        >>> net = space.build(space.sample(1, random_state=0)[0])
        >>> net(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 10])
        """
        a = self.validate(arch)
        cls = _torch_classes()["PiTNet"]
        return cls(
            a,
            num_classes=check_num_classes(num_classes, default=self.num_classes),
            img_size=self.img_size,
            patch_size=self.patch_size,
            stride=self.stride,
        )


@lru_cache(maxsize=1)
def _band_records() -> tuple[dict[str, Any], ...]:
    path = resources.files("libranas.spaces") / "data" / "pit_band.json"
    if not path.is_file():
        return ()
    with path.open("r", encoding="utf-8") as fh:
        return tuple(json.load(fh)["records"])


@lru_cache(maxsize=32)
def _cached_prior(img_size: int, num_classes: int, patch_size: int, stride: int) -> tuple:
    space = PiTSpace(img_size, num_classes, patch_size, stride)
    counts = [space.param_count(a) for a in space.sample(200, random_state=0)]
    return size_prior_from_counts(counts)


# ---------------------------------------------------------------------------------- torch
_TORCH_CLASSES = ("PiTBlock", "PiTStage", "PiTNet")


def _publish(classes: dict[str, type]) -> dict[str, type]:
    """Name the classes as module attributes of this module (for pickling and imports)."""
    for name, cls in classes.items():
        cls.__qualname__ = name
        cls.__module__ = __name__
        globals()[name] = cls
    return classes


@lru_cache(maxsize=1)
def _block_classes() -> dict[str, type]:
    """A PiT transformer block and a stage of blocks (then pooling) over one token grid."""
    import torch
    from timm.layers import Mlp
    from torch import nn

    from libranas.spaces.autoformer import _torch_classes as _vit_classes

    ViTAttention = _vit_classes()["ViTAttention"]

    class PiTBlock(nn.Module):
        """Pre-norm transformer block of width ``dim`` with ``num_heads`` heads of dimension
        ``head_dim`` and an MLP of ``mlp_ratio * dim`` hidden units."""

        def __init__(self, dim: int, num_heads: int, head_dim: int, mlp_ratio: int) -> None:
            super().__init__()
            self.norm1 = nn.LayerNorm(dim, eps=LN_EPS)
            self.attn = ViTAttention(dim, num_heads, head_dim=head_dim)
            self.norm2 = nn.LayerNorm(dim, eps=LN_EPS)
            self.mlp = Mlp(dim, hidden_features=mlp_ratio * dim, act_layer=nn.GELU)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = x + self.attn(self.norm1(x))
            return x + self.mlp(self.norm2(x))

    class PiTStage(nn.Module):
        """Blocks over the tokens ``[class token, grid tokens]`` of a ``grid`` x ``grid``
        map, then the pooling to the next stage; tokens in, tokens out (a tensor, so the
        block-feature proxies see every stage)."""

        def __init__(self, blocks: list[nn.Module], pool: nn.Module | None, grid: int) -> None:
            super().__init__()
            self.grid = grid
            self.blocks = nn.ModuleList(blocks)
            self.pool = pool

        def forward(self, tokens: torch.Tensor) -> torch.Tensor:
            for block in self.blocks:
                tokens = block(tokens)
            if self.pool is None:
                return tokens
            b, _, c = tokens.shape
            x = tokens[:, 1:].transpose(1, 2).reshape(b, c, self.grid, self.grid)
            x, cls_token = self.pool(x, tokens[:, :1])
            return torch.cat((cls_token, x.flatten(2).transpose(1, 2)), dim=1)

    return _publish({"PiTBlock": PiTBlock, "PiTStage": PiTStage})


@lru_cache(maxsize=1)
def _torch_classes() -> dict[str, type]:
    """Every network class of the space: the blocks and the PiT of one architecture."""
    import torch
    from timm.layers import trunc_normal_
    from timm.models.pit import ConvEmbedding, Pooling
    from torch import nn

    blocks = _block_classes()
    PiTBlock, PiTStage = blocks["PiTBlock"], blocks["PiTStage"]

    class PiTNet(nn.Module):
        """The PiT of one architecture (see :meth:`PiTSpace.build`)."""

        def __init__(
            self, arch: PiTArch, num_classes: int, img_size: int, patch_size: int, stride: int
        ) -> None:
            super().__init__()
            self.arch = arch
            d = arch.widths
            self.patch_embed = ConvEmbedding(3, d[0], img_size, patch_size, stride, padding=0)
            grid = self.patch_embed.grid_size[0]
            self.pos_embed = nn.Parameter(torch.zeros(1, d[0], grid, grid))
            self.cls_token = nn.Parameter(torch.zeros(1, 1, d[0]))
            stages = []
            for s, (width, heads, depth) in enumerate(
                zip(d, arch.num_heads, arch.depth, strict=True)
            ):
                blocks = [
                    PiTBlock(width, heads, arch.base_dim, arch.mlp_ratio) for _ in range(depth)
                ]
                pool = Pooling(width, d[s + 1], stride=2) if s + 1 < len(d) else None
                stages.append(PiTStage(blocks, pool, grid))
                grid = (grid - 1) // 2 + 1  # kernel 3, stride 2, padding 1
            self.stages = nn.ModuleList(stages)
            self.norm = nn.LayerNorm(d[-1], eps=LN_EPS)
            self.head = nn.Linear(d[-1], num_classes)
            trunc_normal_(self.pos_embed, std=0.02)
            trunc_normal_(self.cls_token, std=0.02)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.patch_embed(x) + self.pos_embed
            cls_token = self.cls_token.expand(x.shape[0], -1, -1)
            tokens = torch.cat((cls_token, x.flatten(2).transpose(1, 2)), dim=1)
            for stage in self.stages:
                tokens = stage(tokens)
            return self.head(self.norm(tokens[:, 0]))

    return {**blocks, **_publish({"PiTNet": PiTNet})}


def __getattr__(name: str) -> Any:
    if name in _TORCH_CLASSES:
        return _torch_classes()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["CHOICES", "PiTArch", "PiTSpace", "pit_param_count"]
