"""The AutoFormer Vision-Transformer search space (Chen et al., ICCV 2021).

A ViT whose embedding dimension and depth are chosen per model and whose number of attention
heads and MLP ratio are chosen per layer. Each head has dimension 64, so a layer with ``h``
heads has a ``3 * h * 64``-wide qkv projection and a ``h * 64 -> embed_dim`` output projection.

Registered names
----------------
``"autoformer-tiny"``, ``"autoformer-small"``, ``"autoformer-base"`` and ``"autoformer"``
(``variant="tiny"`` by default). The variants are configuration (:data:`VARIANTS`), the ranges
of the official AutoFormer supernet configs (microsoft/Cream, MIT licence):

======  =================  ============  ============  ==================
variant embed_dim          depth         num_heads     mlp_ratio
======  =================  ============  ============  ==================
tiny    192, 216, 240      12, 13, 14    3, 4          3.5, 4.0
small   320, 384, 448      12, 13, 14    5, 6, 7       3.0, 3.5, 4.0
base    528, 576, 624      14, 15, 16    9, 10         3.0, 3.5, 4.0
======  =================  ============  ============  ==================

Architecture forms
------------------
:meth:`AutoFormerSpace.validate` accepts

- a mapping ``{"embed_dim", "depth", "mlp_ratio": [per layer], "num_heads": [per layer]}``;
- the Auto-Prox ``gt_autoformer.json`` record form, with ``"hidden_dim"`` for ``"embed_dim"``;
- the AutoFormer YAML ``RETRAIN`` form (``EMBED_DIM``, ``DEPTH``, ``MLP_RATIO``,
  ``NUM_HEADS``): keys are matched case-insensitively;
- a :class:`ViTArch`.

The **canonical form** is a :class:`ViTArch`: a frozen (hashable, picklable, ordered)
dataclass with ``embed_dim: int``, ``depth: int``, ``mlp_ratio: tuple[float, ...]`` and
``num_heads: tuple[int, ...]`` (plain Python numbers, so its ``repr`` is stable across
processes and numpy versions; per-architecture seeds are derived from it).
:meth:`ViTArch.to_dict` gives the plain mapping back.

Published subnets
-----------------
:data:`PUBLISHED_SUBNETS` holds the three searched AutoFormer subnets (``RETRAIN`` sections of
``experiments/subnet/AutoFormer-{T,S,B}.yaml`` in microsoft/Cream, MIT licence). As published,
AutoFormer-T uses MLP ratio 3.0 in three layers although the Tiny space lists {3.5, 4.0}: it
validates only in a space built with ``strict=False``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from types import MappingProxyType
from typing import Any

import numpy as np

from libranas._validation import is_int as _is_int
from libranas.spaces._registry import register_space
from libranas.spaces.base import SearchSpace, check_num_classes
from libranas.spaces.nb201 import _as_generator

#: dimension of every attention head (fixed in AutoFormer)
HEAD_DIM = 64

#: the four decisions, in encoding order of the per-model part then the per-layer part
DECISIONS: tuple[str, ...] = ("embed_dim", "depth", "num_heads", "mlp_ratio")

#: choices of each variant (AutoFormer supernet-{T,S,B}.yaml SEARCH_SPACE)
VARIANTS: Mapping[str, Mapping[str, tuple[Any, ...]]] = MappingProxyType(
    {
        "tiny": MappingProxyType(
            {
                "embed_dim": (192, 216, 240),
                "depth": (12, 13, 14),
                "num_heads": (3, 4),
                "mlp_ratio": (3.5, 4.0),
            }
        ),
        "small": MappingProxyType(
            {
                "embed_dim": (320, 384, 448),
                "depth": (12, 13, 14),
                "num_heads": (5, 6, 7),
                "mlp_ratio": (3.0, 3.5, 4.0),
            }
        ),
        "base": MappingProxyType(
            {
                "embed_dim": (528, 576, 624),
                "depth": (14, 15, 16),
                "num_heads": (9, 10),
                "mlp_ratio": (3.0, 3.5, 4.0),
            }
        ),
    }
)

#: the searched AutoFormer subnets as published (Cream ``experiments/subnet/*.yaml``, MIT);
#: ImageNet top-1 75.3 / 81.7 / 82.4 %, reported as 5.8M / 22.9M / 53.7M parameters
PUBLISHED_SUBNETS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        "tiny": MappingProxyType(
            {
                "embed_dim": 192,
                "depth": 13,
                "mlp_ratio": (3.5, 3.5, 3.0, 3.5, 3.0, 3.0, 4.0, 4.0, 3.5, 4.0, 3.5, 4.0, 3.5),
                "num_heads": (3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 3, 3),
            }
        ),
        "small": MappingProxyType(
            {
                "embed_dim": 384,
                "depth": 13,
                "mlp_ratio": (3.0, 3.5, 3.0, 3.5, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 3.5, 4.0),
                "num_heads": (6, 6, 5, 7, 5, 5, 5, 6, 6, 7, 7, 6, 7),
            }
        ),
        "base": MappingProxyType(
            {
                "embed_dim": 576,
                "depth": 14,
                "mlp_ratio": (
                    3.5,
                    3.5,
                    4.0,
                    3.5,
                    4.0,
                    3.5,
                    3.5,
                    3.0,
                    4.0,
                    4.0,
                    3.0,
                    4.0,
                    3.0,
                    3.5,
                ),  # fmt: skip
                "num_heads": (9, 9, 9, 9, 9, 10, 9, 9, 10, 9, 10, 9, 9, 10),
            }
        ),
    }
)

# accepted spellings of the keys of a mapping architecture (matched case-insensitively)
_KEY_ALIASES = {
    "embed_dim": "embed_dim",
    "hidden_dim": "embed_dim",
    "depth": "depth",
    "mlp_ratio": "mlp_ratio",
    "num_heads": "num_heads",
}


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def _as_sequence(value: Any, key: str) -> list[Any]:
    if isinstance(value, np.ndarray):
        if value.ndim != 1:
            raise ValueError(
                f"{key} must be a 1-D list (one value per layer), got shape {value.shape}"
            )
        return value.tolist()
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(
            f"{key} must be a list with one value per layer, got {type(value).__name__} {value!r}"
        )
    return list(value)


@dataclass(frozen=True, order=True)
class ViTArch:
    """Canonical AutoFormer architecture: per-model embed dim and depth, per-layer heads and MLP
    ratios.

    Construction checks types and lengths only (not the ranges of a space) and normalises the
    values to plain Python ``int`` / ``float`` tuples, so equal architectures compare, hash and
    ``repr`` equal whatever numeric types they were given with.

    Parameters
    ----------
    embed_dim : int
        Embedding (token) dimension, positive.
    depth : int
        Number of transformer blocks, positive.
    mlp_ratio : sequence of float
        ``depth`` positive, finite MLP ratios (hidden width ``int(mlp_ratio * embed_dim)``).
    num_heads : sequence of int
        ``depth`` positive head counts (each head of dimension 64).

    Examples
    --------
    >>> a = ViTArch(192, 2, [4, 3.5], (3, 4))
    >>> a
    ViTArch(embed_dim=192, depth=2, mlp_ratio=(4.0, 3.5), num_heads=(3, 4))
    >>> a.to_dict()
    {'embed_dim': 192, 'depth': 2, 'mlp_ratio': [4.0, 3.5], 'num_heads': [3, 4]}
    >>> ViTArch(192, 2, [4.0], [3, 4])
    Traceback (most recent call last):
    ...
    ValueError: mlp_ratio has 1 values but depth is 2: give one value per layer
    """

    embed_dim: int
    depth: int
    mlp_ratio: tuple[float, ...]
    num_heads: tuple[int, ...]

    def __post_init__(self) -> None:
        for key in ("embed_dim", "depth"):
            value = getattr(self, key)
            if not _is_int(value):
                raise TypeError(f"{key} must be an int, got {type(value).__name__} {value!r}")
            if value < 1:
                raise ValueError(f"{key} must be positive, got {int(value)}")
            object.__setattr__(self, key, int(value))
        depth = self.depth
        ratios = _as_sequence(self.mlp_ratio, "mlp_ratio")
        heads = _as_sequence(self.num_heads, "num_heads")
        for key, values in (("mlp_ratio", ratios), ("num_heads", heads)):
            if len(values) != depth:
                raise ValueError(
                    f"{key} has {len(values)} values but depth is {depth}: give one value per layer"
                )
        for i, r in enumerate(ratios):
            if not _is_real(r):
                raise TypeError(f"mlp_ratio of layer {i} must be a number, got {r!r}")
            if not (math.isfinite(r) and r > 0):
                raise ValueError(f"mlp_ratio of layer {i} must be positive and finite, got {r!r}")
            if int(float(r) * self.embed_dim) < 1:
                raise ValueError(
                    f"mlp_ratio {float(r)} of layer {i} gives an MLP of 0 hidden units at "
                    f"embed_dim {self.embed_dim}"
                )
        for i, h in enumerate(heads):
            if not _is_int(h):
                raise TypeError(f"num_heads of layer {i} must be an int, got {h!r}")
            if h < 1:
                raise ValueError(f"num_heads of layer {i} must be positive, got {int(h)}")
        object.__setattr__(self, "mlp_ratio", tuple(float(r) for r in ratios))
        object.__setattr__(self, "num_heads", tuple(int(h) for h in heads))

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping ``{"embed_dim", "depth", "mlp_ratio": list, "num_heads": list}``."""
        return {
            "embed_dim": self.embed_dim,
            "depth": self.depth,
            "mlp_ratio": list(self.mlp_ratio),
            "num_heads": list(self.num_heads),
        }


def _parse(arch: Any) -> ViTArch:
    """Structural parse of any accepted form (no range checks)."""
    if isinstance(arch, ViTArch):
        return arch
    if not isinstance(arch, Mapping):
        raise TypeError(
            "an AutoFormer architecture is a mapping {'embed_dim', 'depth', 'mlp_ratio', "
            "'num_heads'} (or 'hidden_dim' for 'embed_dim') or a ViTArch, got "
            f"{type(arch).__name__}"
        )
    fields: dict[str, Any] = {}
    unknown = []
    for key, value in arch.items():
        name = _KEY_ALIASES.get(key.lower()) if isinstance(key, str) else None
        if name is None:
            unknown.append(key)
            continue
        if name in fields:
            raise ValueError(
                f"the architecture gives {name} twice (as 'embed_dim' and 'hidden_dim' or in "
                f"two spellings): {sorted(map(str, arch))}"
            )
        fields[name] = value
    if unknown:
        raise ValueError(
            f"unknown architecture key(s) {unknown}; expected embed_dim (or hidden_dim), depth, "
            "mlp_ratio, num_heads"
        )
    missing = [k for k in ("embed_dim", "depth", "mlp_ratio", "num_heads") if k not in fields]
    if missing:
        raise ValueError(f"the architecture lacks {missing}; got keys {list(arch)}")
    return ViTArch(**fields)


def _check_choices(choices: Any) -> dict[str, tuple[Any, ...]]:
    """Validate a custom variant (mapping of the four decisions to their choices)."""
    if not isinstance(choices, Mapping):
        raise TypeError(f"variant must be a name or a mapping of choices, got {choices!r}")
    keys = set(choices)
    if keys != set(DECISIONS):
        raise ValueError(
            f"a custom variant maps exactly {list(DECISIONS)} to their choices, got keys "
            f"{sorted(map(str, keys))}"
        )
    out: dict[str, tuple[Any, ...]] = {}
    for key in DECISIONS:
        values = _as_sequence(choices[key], f"choices of {key}")
        if not values:
            raise ValueError(f"choices of {key} must not be empty")
        if key == "mlp_ratio":
            for v in values:
                if not _is_real(v) or not (math.isfinite(v) and v > 0):
                    raise ValueError(f"mlp_ratio choice {v!r} must be a positive finite number")
            clean: tuple[Any, ...] = tuple(sorted({float(v) for v in values}))
        else:
            for v in values:
                if not _is_int(v) or v < 1:
                    raise ValueError(f"{key} choice {v!r} must be a positive int")
            clean = tuple(sorted({int(v) for v in values}))
        if len(clean) != len(values):
            raise ValueError(f"choices of {key} contain duplicates: {values}")
        out[key] = clean
    for r in out["mlp_ratio"]:
        if int(r * min(out["embed_dim"])) < 1:
            raise ValueError(
                f"mlp_ratio choice {r} gives 0 hidden units at embed_dim {min(out['embed_dim'])}"
            )
    return out


def autoformer_param_count(
    arch: Any, num_classes: int = 1000, img_size: int = 224, patch_size: int = 16
) -> int:
    """Parameters of the AutoFormer ViT of ``arch`` (as :meth:`AutoFormerSpace.build` builds it).

    Patch-embedding conv (with bias), class token, learned position embedding over
    ``(img_size / patch_size) ** 2 + 1`` tokens, per block two LayerNorms, qkv (with bias, width
    ``3 * heads * 64``), output projection, two MLP linears (hidden ``int(mlp_ratio *
    embed_dim)``), final LayerNorm and the linear head. No range check: any structurally valid
    architecture is counted.

    Examples
    --------
    >>> arch = {"embed_dim": 192, "depth": 1, "mlp_ratio": [4.0], "num_heads": [3]}
    >>> autoformer_param_count(arch, num_classes=10, img_size=32, patch_size=4)
    469258
    """
    a = _parse(arch)
    e = a.embed_dim
    tokens = (img_size // patch_size) ** 2 + 1
    total = 3 * patch_size * patch_size * e + e  # patch-embed conv
    total += e + tokens * e  # class token + position embedding
    for heads, ratio in zip(a.num_heads, a.mlp_ratio, strict=True):
        q = heads * HEAD_DIM
        hidden = int(ratio * e)
        total += 2 * e  # norm1
        total += e * 3 * q + 3 * q  # qkv
        total += q * e + e  # proj
        total += 2 * e  # norm2
        total += e * hidden + hidden + hidden * e + e  # fc1, fc2
    total += 2 * e  # final norm
    total += e * num_classes + num_classes  # head
    return total


# ---------------------------------------------------------------- stored L-SWAG bands
_FILE = "autoformer_band.json"


@lru_cache(maxsize=1)
def _records() -> tuple[dict[str, Any], ...]:
    path = resources.files("libranas.spaces") / "data" / _FILE
    with path.open("r", encoding="utf-8") as fh:
        data = json.load(fh)
    return tuple(data["records"])


def load_autoformer_calibration() -> list[dict[str, Any]]:
    """All stored AutoFormer calibration records (copies).

    Each record has ``variant``, ``img_size``, ``patch_size``, ``batch_size``,
    ``num_classes``, ``data`` (the image batch used), ``n_archs``, ``seed``, ``threshold``,
    ``profile`` (10 mean log sigma values by depth decile), ``profile_std`` (their spread
    over networks), ``band`` ``[lo, hi]`` and ``seconds``.

    Returns
    -------
    list of dict
    """
    return [json.loads(json.dumps(r)) for r in _records()]


def autoformer_record(
    variant: str = "tiny", *, img_size: int = 32, patch_size: int = 4
) -> dict[str, Any]:
    """The stored calibration record of one AutoFormer setting (a copy).

    Parameters
    ----------
    variant : {"tiny", "small", "base"}, default="tiny"
    img_size, patch_size : int
        The resolution and patch size the band was calibrated at (the number of tokens
        changes the gradient profile, so a record is only returned for a stored setting).

    Returns
    -------
    dict
        See :func:`load_autoformer_calibration`.

    Raises
    ------
    ValueError
        No record for that setting; the message lists the stored ones.
    """
    for r in _records():
        if (r["variant"], r["img_size"], r["patch_size"]) == (variant, img_size, patch_size):
            return json.loads(json.dumps(r))
    have = sorted({(r["variant"], r["img_size"], r["patch_size"]) for r in _records()})
    raise ValueError(
        f"no stored L-SWAG band for autoformer-{variant} at img_size={img_size}, "
        f"patch_size={patch_size}; stored (variant, img_size, patch_size): {have}. "
        "Calibrate with libranas.proxies._vit_calibration.calibrate_autoformer_band or "
        "ProxyFeaturizer(lswag_band='auto')"
    )


def autoformer_band(
    variant: str = "tiny", *, img_size: int = 32, patch_size: int = 4
) -> tuple[float, float]:
    """The stored L-SWAG band ``(lo, hi)`` (depth percentiles) of one AutoFormer setting
    (:func:`autoformer_record`'s ``band``; same parameters and errors).

    Returns
    -------
    (float, float)
    """
    lo, hi = autoformer_record(variant, img_size=img_size, patch_size=patch_size)["band"]
    return float(lo), float(hi)


@register_space("autoformer")
class AutoFormerSpace(SearchSpace):
    """AutoFormer ViT search space: embed dim and depth per model, heads and MLP ratio per layer.

    Parameters
    ----------
    variant : {"tiny", "small", "base"} or mapping, default="tiny"
        Ranges of :data:`VARIANTS`, or a custom mapping of ``embed_dim``, ``depth``,
        ``num_heads`` and ``mlp_ratio`` to their choices (e.g. a small space for quick tests).
    img_size : int, default=224
        Input resolution (square images). Must be divisible by ``patch_size``.
    patch_size : int, default=16
        Side of the patches of the patch-embedding convolution (its kernel and stride).
        224/16 for ImageNet; e.g. ``img_size=32, patch_size=4`` for CIFAR.
    num_classes : int, default=1000
        Classes of the head built by :meth:`build` and counted by :meth:`param_count` when
        they are not given there.
    strict : bool, default=True
        If True, :meth:`validate` (and so every method taking an architecture) rejects values
        outside the variant's choices. If False it only checks types and lengths (positive
        ints, positive finite ratios, one head count and one ratio per layer), so e.g. the
        published AutoFormer-T subnet (MLP ratio 3.0 in a Tiny space of {3.5, 4.0}) or tiny
        test networks can be built and counted; :meth:`encode` still needs values among the
        choices (a one-hot has no slot for others) and raises ``ValueError`` otherwise.

    Attributes
    ----------
    choices : dict
        The variant's choices, ``{"embed_dim": (...), "depth": (...), "num_heads": (...),
        "mlp_ratio": (...)}``, each sorted.
    name : str
        ``"autoformer-<variant>"`` (``"autoformer-custom"`` for a mapping).

    Notes
    -----
    Architectures are canonicalised to :class:`ViTArch` (see the module docstring for the
    accepted forms). ``random_state`` follows :class:`~libranas.spaces.nb201.NB201Space`: None,
    an int, a numpy ``Generator`` (advanced in place) or a ``RandomState``.

    Examples
    --------
    >>> from libranas.spaces import get_space
    >>> space = get_space("autoformer-tiny", img_size=32, patch_size=4, num_classes=100)
    >>> arch = space.sample(1, random_state=0)[0]
    >>> space.validate(arch.to_dict()) == arch
    True
    >>> space.encode(arch).shape
    (62,)
    >>> space.validate({"hidden_dim": 200, "depth": 12, "mlp_ratio": [4.0] * 12,
    ...                 "num_heads": [3] * 12})
    Traceback (most recent call last):
    ...
    ValueError: embed_dim 200 is not in the autoformer-tiny space; allowed: [192, 216, 240]
    """

    def __init__(
        self,
        variant: str | Mapping[str, Sequence[Any]] = "tiny",
        img_size: int = 224,
        patch_size: int = 16,
        num_classes: int = 1000,
        strict: bool = True,
    ) -> None:
        if isinstance(variant, str):
            if variant not in VARIANTS:
                raise ValueError(
                    f"unknown AutoFormer variant {variant!r}; known: {list(VARIANTS)} "
                    "(or a mapping of choices)"
                )
            choices = {k: tuple(VARIANTS[variant][k]) for k in DECISIONS}
        else:
            choices = _check_choices(variant)
        for key, value in (
            ("img_size", img_size),
            ("patch_size", patch_size),
            ("num_classes", num_classes),
        ):
            if not _is_int(value):
                raise TypeError(f"{key} must be an int, got {type(value).__name__} {value!r}")
            if value < 1:
                raise ValueError(f"{key} must be positive, got {value}")
        if img_size % patch_size:
            raise ValueError(
                f"img_size {img_size} is not divisible by patch_size {patch_size}: the patch "
                "embedding would drop pixels"
            )
        if not isinstance(strict, (bool, np.bool_)):
            raise TypeError(f"strict must be a bool, got {strict!r}")
        self.variant = variant
        self.img_size = img_size
        self.patch_size = patch_size
        self.num_classes = num_classes
        self.strict = strict
        self.choices = choices

    @property
    def name(self) -> str:  # type: ignore[override]
        """Registry-style name, ``"autoformer-<variant>"``."""
        return (
            f"autoformer-{self.variant}" if isinstance(self.variant, str) else "autoformer-custom"
        )

    @property
    def default_input_shape(self) -> tuple[int, int, int]:  # type: ignore[override]
        """``(3, img_size, img_size)``: the resolution the space was configured for."""
        return (3, int(self.img_size), int(self.img_size))

    @property
    def max_depth(self) -> int:
        """Largest depth of the space (number of per-layer slots of the encoding)."""
        return max(self.choices["depth"])

    def __repr__(self) -> str:
        return (
            f"AutoFormerSpace(variant={self.variant!r}, img_size={self.img_size}, "
            f"patch_size={self.patch_size}, num_classes={self.num_classes}, "
            f"strict={self.strict})"
        )

    # ------------------------------------------------------------------ conversions
    def validate(self, arch: Any) -> ViTArch:
        """Return the canonical :class:`ViTArch` of ``arch``.

        Parameters
        ----------
        arch : mapping or ViTArch
            ``{"embed_dim" | "hidden_dim", "depth", "mlp_ratio", "num_heads"}`` (keys matched
            case-insensitively), per-layer lists of length ``depth``.

        Returns
        -------
        ViTArch

        Raises
        ------
        ValueError
            Missing or unknown keys, per-layer lists whose length differs from ``depth``,
            non-positive values, and (``strict=True``) a value outside the variant's choices,
            named with the allowed set.
        TypeError
            ``arch`` not a mapping, values of the wrong type (e.g. a float depth, a string
            instead of a list).

        Examples
        --------
        >>> space = AutoFormerSpace("tiny")
        >>> arch = {"hidden_dim": 192, "depth": 12, "mlp_ratio": [4] * 12, "num_heads": [3] * 12}
        >>> space.validate(arch).mlp_ratio[:2]
        (4.0, 4.0)
        >>> space.validate({**arch, "num_heads": [3] * 11 + [6]})
        Traceback (most recent call last):
        ...
        ValueError: num_heads 6 of layer 11 is not in the autoformer-tiny space; allowed: [3, 4]
        """
        a = _parse(arch)
        if self.strict:
            c = self.choices
            for key in ("embed_dim", "depth"):
                value = getattr(a, key)
                if value not in c[key]:
                    raise ValueError(
                        f"{key} {value} is not in the {self.name} space; allowed: {list(c[key])}"
                    )
            for key in ("num_heads", "mlp_ratio"):
                for i, value in enumerate(getattr(a, key)):
                    if value not in c[key]:
                        raise ValueError(
                            f"{key} {value} of layer {i} is not in the {self.name} space; "
                            f"allowed: {list(c[key])}"
                        )
        return a

    # ------------------------------------------------------------------ sampling
    def _random_layers(self, rng: np.random.Generator, n: int) -> tuple[list[int], list[float]]:
        c = self.choices
        heads = rng.integers(0, len(c["num_heads"]), size=n)
        ratios = rng.integers(0, len(c["mlp_ratio"]), size=n)
        return [c["num_heads"][i] for i in heads], [c["mlp_ratio"][i] for i in ratios]

    def sample(self, n: int, random_state: Any = None) -> list[ViTArch]:
        """Draw ``n`` architectures uniformly: embed dim, depth, then each layer's heads and
        MLP ratio independently (as AutoFormer samples subnets).

        Examples
        --------
        >>> AutoFormerSpace("tiny").sample(3, random_state=0)[0].depth in (12, 13, 14)
        True
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"n must be a non-negative int, got {n!r}")
        rng = _as_generator(random_state)
        c = self.choices
        out = []
        for _ in range(int(n)):
            embed = c["embed_dim"][int(rng.integers(len(c["embed_dim"])))]
            depth = c["depth"][int(rng.integers(len(c["depth"])))]
            heads, ratios = self._random_layers(rng, depth)
            out.append(ViTArch(embed, depth, ratios, heads))
        return out

    def mutate(self, arch: Any, random_state: Any = None) -> ViTArch:
        """Change exactly one decision, chosen uniformly among those that have another choice.

        The decisions are the embed dim, the depth and each layer's heads and MLP ratio
        (``2 + 2 * depth`` in all); the new value is drawn uniformly from the other choices.
        A deeper depth appends layers with uniformly drawn heads and MLP ratios; a shallower one
        drops the last layers.

        Examples
        --------
        >>> space = AutoFormerSpace("small")
        >>> a = space.sample(1, random_state=0)[0]
        >>> b = space.mutate(a, random_state=1)
        >>> a != b
        True
        """
        a = self.validate(arch)
        rng = _as_generator(random_state)
        c = self.choices
        options: list[tuple[str, int]] = []
        for key in ("embed_dim", "depth"):
            if [v for v in c[key] if v != getattr(a, key)]:
                options.append((key, -1))
        for key in ("num_heads", "mlp_ratio"):
            for i, value in enumerate(getattr(a, key)):
                if [v for v in c[key] if v != value]:
                    options.append((key, i))
        if not options:
            raise ValueError(f"{self.name} holds a single architecture: nothing to mutate")
        key, layer = options[int(rng.integers(len(options)))]
        current = getattr(a, key) if layer < 0 else getattr(a, key)[layer]
        others = [v for v in c[key] if v != current]
        new = others[int(rng.integers(len(others)))]
        fields = a.to_dict()
        if key == "embed_dim":
            fields["embed_dim"] = new
        elif key == "depth":
            fields["depth"] = new
            if new > a.depth:
                heads, ratios = self._random_layers(rng, new - a.depth)
                fields["num_heads"] += heads
                fields["mlp_ratio"] += ratios
            else:
                fields["num_heads"] = fields["num_heads"][:new]
                fields["mlp_ratio"] = fields["mlp_ratio"][:new]
        else:
            fields[key][layer] = new
        return ViTArch(**fields)

    # ------------------------------------------------------------------ encoding
    def encoding_names(self) -> list[str]:
        """Names of the encoding columns: ``'embed_dim=192'``, ``'depth=13'``, then per layer
        slot ``'layer0:num_heads=3'`` ... ``'layer0:mlp_ratio=4.0'`` up to :attr:`max_depth`."""
        c = self.choices
        names = [f"embed_dim={v}" for v in c["embed_dim"]]
        names += [f"depth={v}" for v in c["depth"]]
        for i in range(self.max_depth):
            names += [f"layer{i}:num_heads={v}" for v in c["num_heads"]]
            names += [f"layer{i}:mlp_ratio={v}" for v in c["mlp_ratio"]]
        return names

    def encode(self, arch: Any) -> np.ndarray:
        """Fixed-length one-hot encoding (see :meth:`encoding_names`).

        Embed-dim one-hot, depth one-hot, then for each of the :attr:`max_depth` layer slots a
        heads one-hot and an MLP-ratio one-hot; the slots of absent layers are all zeros.
        Length ``|E| + |D| + max_depth * (|H| + |R|)``: 62 (tiny), 90 (small), 86 (base).

        Raises
        ------
        ValueError
            A value outside the choices (possible only with ``strict=False``).

        Examples
        --------
        >>> space = AutoFormerSpace("tiny")
        >>> x = space.encode({"embed_dim": 216, "depth": 12, "mlp_ratio": [4.0] * 12,
        ...                   "num_heads": [3] * 12})
        >>> x[:6]
        array([0., 1., 0., 1., 0., 0.])
        >>> int(x.sum()), x[6 + 12 * 4:].any()
        (26, np.False_)
        """
        a = self.validate(arch)
        c = self.choices
        width = len(c["num_heads"]) + len(c["mlp_ratio"])
        base = len(c["embed_dim"]) + len(c["depth"])
        out = np.zeros(base + self.max_depth * width, dtype=np.float64)

        def index(key: str, value: Any, where: str) -> int:
            if value not in c[key]:
                raise ValueError(
                    f"cannot encode {key} {value}{where}: not among the {self.name} choices "
                    f"{list(c[key])}"
                )
            return c[key].index(value)

        out[index("embed_dim", a.embed_dim, "")] = 1.0
        out[len(c["embed_dim"]) + index("depth", a.depth, "")] = 1.0
        for i, (h, r) in enumerate(zip(a.num_heads, a.mlp_ratio, strict=True)):
            start = base + i * width
            out[start + index("num_heads", h, f" of layer {i}")] = 1.0
            out[start + len(c["num_heads"]) + index("mlp_ratio", r, f" of layer {i}")] = 1.0
        return out

    def encode_many(self, archs: list[Any]) -> np.ndarray:
        """Stack :meth:`encode` over ``archs`` into an ``(n, len(encoding_names()))`` array."""
        out = np.zeros((len(archs), len(self.encoding_names())), dtype=np.float64)
        for row, arch in enumerate(archs):
            out[row] = self.encode(arch)
        return out

    # ------------------------------------------------------------------ graph features
    def graph_feature_names(self) -> list[str]:
        """Names of :meth:`graph_features`: summaries of the per-layer dimensions."""
        names = ["embed_dim", "depth", "params_M"]
        for key in ("num_heads", "mlp_ratio", "attn_dim", "mlp_dim"):
            names += [f"{key}:{stat}" for stat in ("mean", "min", "max", "std", "first", "last")]
            names += [f"{key}:mean_first_half", f"{key}:mean_second_half"]
        names += ["attn_dim:sum", "mlp_dim:sum"]
        return names

    def graph_features(self, arch: Any) -> np.ndarray:
        """Summaries of the layers of ``arch``: a ViT's "graph" is a chain of blocks.

        Embedding width, depth, parameters (millions, :meth:`param_count`), and for each
        per-layer dimension (heads, MLP ratio, attention width ``heads * 64``, MLP hidden
        width ``embed_dim * mlp_ratio``) its mean, min, max, std, first and last value and its
        means over the first and the second half of the blocks; total attention and MLP widths.

        Examples
        --------
        >>> space = AutoFormerSpace("tiny")
        >>> a = {"embed_dim": 192, "depth": 12, "num_heads": [3] * 6 + [4] * 6,
        ...      "mlp_ratio": [4.0] * 12}
        >>> f = dict(zip(space.graph_feature_names(), space.graph_features(a).tolist()))
        >>> f["num_heads:mean_first_half"], f["num_heads:mean_second_half"], f["attn_dim:sum"]
        (3.0, 4.0, 2688.0)
        """
        a = self.validate(arch)
        heads = np.asarray(a.num_heads, dtype=np.float64)
        ratios = np.asarray(a.mlp_ratio, dtype=np.float64)
        per_layer = {
            "num_heads": heads,
            "mlp_ratio": ratios,
            "attn_dim": heads * HEAD_DIM,
            "mlp_dim": np.floor(a.embed_dim * ratios),
        }
        half = a.depth // 2
        out = [float(a.embed_dim), float(a.depth), self.param_count(a) / 1e6]
        for v in per_layer.values():
            out += [v.mean(), v.min(), v.max(), v.std(), v[0], v[-1]]
            out += [v[:half].mean() if half else v.mean(), v[half:].mean()]
        out += [per_layer["attn_dim"].sum(), per_layer["mlp_dim"].sum()]
        return np.asarray(out, dtype=np.float64)

    # ------------------------------------------------------------------ Optuna
    def trial_choices(self) -> dict[str, tuple[Any, ...]]:
        """``embed_dim``, ``depth``, then ``num_heads_<l>`` / ``mlp_ratio_<l>`` per layer slot."""
        c = self.choices
        out: dict[str, tuple[Any, ...]] = {"embed_dim": c["embed_dim"], "depth": c["depth"]}
        for i in range(self.max_depth):
            out[f"num_heads_{i}"] = c["num_heads"]
            out[f"mlp_ratio_{i}"] = c["mlp_ratio"]
        return out

    def suggest(self, trial: Any) -> ViTArch:
        """Draw a ViT through an Optuna ``trial`` (define-by-run: per-layer decisions only for
        the layers the suggested depth has).

        Examples
        --------
        >>> import optuna
        >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
        >>> study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        >>> arch = AutoFormerSpace("tiny").suggest(study.ask())
        >>> len(arch.num_heads) == arch.depth
        True
        """
        c = self.choices
        embed = trial.suggest_categorical("embed_dim", list(c["embed_dim"]))
        depth = trial.suggest_categorical("depth", list(c["depth"]))
        heads = [
            trial.suggest_categorical(f"num_heads_{i}", list(c["num_heads"])) for i in range(depth)
        ]
        mlp = [
            trial.suggest_categorical(f"mlp_ratio_{i}", list(c["mlp_ratio"])) for i in range(depth)
        ]
        return self.validate(
            {"embed_dim": embed, "depth": depth, "num_heads": heads, "mlp_ratio": mlp}
        )

    def trial_params(self, arch: Any) -> dict[str, Any]:
        """The trial parameters of ``arch`` (inverse of :meth:`suggest`)."""
        a = self.validate(arch)
        params: dict[str, Any] = {"embed_dim": a.embed_dim, "depth": a.depth}
        for i in range(a.depth):
            params[f"num_heads_{i}"] = a.num_heads[i]
            params[f"mlp_ratio_{i}"] = a.mlp_ratio[i]
        return params

    # ------------------------------------------------------------------ L-SWAG
    def _band_record(self) -> dict[str, Any] | None:
        if not isinstance(self.variant, str):
            return None
        try:
            return autoformer_record(
                self.variant, img_size=self.img_size, patch_size=self.patch_size
            )
        except ValueError:
            return None

    def lswag_band(self) -> tuple[float, float] | None:
        """The L-SWAG band stored for this variant, image and patch size (None if none is).

        Examples
        --------
        >>> AutoFormerSpace("tiny", img_size=32, patch_size=4).lswag_band()
        (50.0, 90.0)
        >>> AutoFormerSpace("tiny").lswag_band() is None  # 224 px: not calibrated yet
        True
        """
        rec = self._band_record()
        return None if rec is None else (float(rec["band"][0]), float(rec["band"][1]))

    def lswag_profile(self) -> np.ndarray | None:
        """The stored calibration profile (10 depth bins) the band was chosen from, or None."""
        rec = self._band_record()
        return None if rec is None else np.asarray(rec["profile"], dtype=np.float64)

    def size_prior(self) -> tuple[float, float]:
        """reg-SWAP's ``(mu, sigma)`` (millions) from 200 networks sampled with seed 0
        (:func:`~libranas.spaces.base.size_prior_from_counts`): the NAS-Bench-201 prior
        (1.5, 1.5) would order 5-10 M-parameter ViTs by inverted size alone.

        Examples
        --------
        >>> space = AutoFormerSpace("tiny", img_size=32, patch_size=4, num_classes=100)
        >>> mu, sigma = space.size_prior()
        >>> round(mu, 2), round(sigma, 2)
        (9.39, 12.55)
        """
        return self._sampled_size_prior()

    # ------------------------------------------------------------------ networks
    def _num_classes(self, num_classes: Any) -> int:
        return check_num_classes(num_classes, default=self.num_classes)

    def param_count(self, arch: Any, num_classes: int | None = None) -> int:
        """Parameters of :meth:`build` ``(arch, num_classes)`` computed analytically.

        Examples
        --------
        >>> space = AutoFormerSpace("tiny", strict=False)
        >>> space.param_count(PUBLISHED_SUBNETS["tiny"])  # AutoFormer-T, published as 5.8M
        5768104
        """
        a = self.validate(arch)
        return autoformer_param_count(
            a, self._num_classes(num_classes), int(self.img_size), int(self.patch_size)
        )

    def build(self, arch: Any, num_classes: int | None = None) -> Any:
        """Build the untrained AutoFormer ViT of ``arch``.

        Patch embedding (``timm.layers.PatchEmbed``: a ``patch_size`` conv with stride
        ``patch_size``), a class token and a learned position embedding, ``depth`` pre-norm
        blocks ``x + Attn(LN(x))``, ``x + MLP(LN(x))``, a final LayerNorm and a linear head on
        the class token. Attention: qkv linear with bias to ``3 * heads * 64``, explicit
        softmax attention (no fused kernel, so it works under ``torch.func.vmap`` on CPU and
        the attention maps are visible to forward hooks on ``blocks.<i>.attn.attn_map``, an
        ``nn.Identity``), projection back to ``embed_dim``. MLP: ``timm.layers.Mlp`` with
        ``nn.GELU``. Weights as in AutoFormer: linear weights, class token and position
        embedding from ``timm.layers.trunc_normal_(std=0.02)`` (whose cut-off is at +-2 in
        absolute value, so in effect a normal), biases 0, LayerNorms 1 and 0, the patch conv
        at torch's default.

        Weight layers in registration (= forward) order: ``patch_embed.proj``, then per block
        ``attn.qkv``, ``attn.proj``, ``mlp.fc1``, ``mlp.fc2``, then ``head``. No dropout, no
        drop-path, no relative position embeddings.

        Parameters
        ----------
        arch : any accepted form
        num_classes : int, optional
            Defaults to the space's ``num_classes``.

        Returns
        -------
        torch.nn.Module
            Maps ``(N, 3, img_size, img_size)`` images to ``(N, num_classes)`` logits.

        Examples
        --------
        >>> import torch
        >>> space = AutoFormerSpace("tiny", img_size=32, patch_size=8, num_classes=10)
        >>> net = space.build(space.sample(1, random_state=0)[0])
        >>> net(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 10])
        """
        a = self.validate(arch)
        cls = _torch_classes()["AutoFormerViT"]
        return cls(
            a,
            num_classes=self._num_classes(num_classes),
            img_size=int(self.img_size),
            patch_size=int(self.patch_size),
        )


def _variant_factory(variant: str) -> Callable[..., AutoFormerSpace]:
    def factory(**options: Any) -> AutoFormerSpace:
        if "variant" in options:
            raise ValueError(
                f"'autoformer-{variant}' fixes variant={variant!r}; use "
                "get_space('autoformer', variant=...) to choose the variant"
            )
        return AutoFormerSpace(variant=variant, **options)

    factory.__name__ = factory.__qualname__ = f"autoformer_{variant}"
    factory.__doc__ = f"The AutoFormer-{variant.capitalize()} space (see AutoFormerSpace)."
    return factory


for _variant in VARIANTS:
    register_space(f"autoformer-{_variant}")(_variant_factory(_variant))


# ---------------------------------------------------------------------------------- torch
# The network classes need torch, which ``import libranas.spaces.autoformer`` must not pull in
# (validate/sample/encode are torch-free). They are defined on first use and then published as
# module attributes (``__getattr__`` below), so built networks pickle as
# ``libranas.spaces.autoformer.AutoFormerViT``.
_TORCH_CLASSES = ("ViTAttention", "ViTBlock", "AutoFormerViT")


def _publish(classes: dict[str, type]) -> dict[str, type]:
    """Name the classes as module attributes of this module (for pickling and imports)."""
    for name, cls in classes.items():
        cls.__qualname__ = name
        cls.__module__ = __name__
        globals()[name] = cls
    return classes


@lru_cache(maxsize=1)
def _block_classes() -> dict[str, type]:
    """The transformer block and its attention (shared with the PiT space)."""
    import torch
    from timm.layers import Mlp
    from torch import nn

    class ViTAttention(nn.Module):
        """Multi-head self-attention with ``num_heads`` heads of dimension ``head_dim``
        (qkv width ``3 * num_heads * head_dim``, projected back to ``dim``).

        Explicit softmax attention; ``attn_map`` (an ``nn.Identity``) receives the
        ``(N, heads, tokens, tokens)`` attention probabilities, for forward hooks.
        """

        def __init__(self, dim: int, num_heads: int, head_dim: int = HEAD_DIM) -> None:
            super().__init__()
            self.num_heads = num_heads
            self.head_dim = head_dim
            self.scale = head_dim**-0.5
            self.qkv = nn.Linear(dim, 3 * num_heads * head_dim, bias=True)
            self.attn_map = nn.Identity()
            self.proj = nn.Linear(num_heads * head_dim, dim)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            b, n, _ = x.shape
            qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, self.head_dim)
            q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
            attn = torch.matmul(q * self.scale, k.transpose(-2, -1)).softmax(dim=-1)
            attn = self.attn_map(attn)
            out = torch.matmul(attn, v).transpose(1, 2).reshape(b, n, -1)
            return self.proj(out)

    class ViTBlock(nn.Module):
        """Pre-norm transformer block: ``x + attn(norm1(x))``, then ``x + mlp(norm2(x))``."""

        def __init__(self, dim: int, num_heads: int, mlp_ratio: float) -> None:
            super().__init__()
            self.norm1 = nn.LayerNorm(dim)
            self.attn = ViTAttention(dim, num_heads)
            self.norm2 = nn.LayerNorm(dim)
            self.mlp = Mlp(dim, hidden_features=int(mlp_ratio * dim), act_layer=nn.GELU)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = x + self.attn(self.norm1(x))
            return x + self.mlp(self.norm2(x))

    return _publish({"ViTAttention": ViTAttention, "ViTBlock": ViTBlock})


@lru_cache(maxsize=1)
def _torch_classes() -> dict[str, type]:
    """Every network class of the space: the blocks and the ViT of one architecture."""
    import torch
    from timm.layers import PatchEmbed, trunc_normal_
    from torch import nn

    blocks = _block_classes()
    ViTBlock = blocks["ViTBlock"]

    class AutoFormerViT(nn.Module):
        """The ViT of one AutoFormer architecture (see :meth:`AutoFormerSpace.build`)."""

        def __init__(self, arch: ViTArch, num_classes: int, img_size: int, patch_size: int) -> None:
            super().__init__()
            e = arch.embed_dim
            self.arch = arch
            self.patch_embed = PatchEmbed(
                img_size=img_size, patch_size=patch_size, in_chans=3, embed_dim=e
            )
            tokens = self.patch_embed.num_patches + 1
            self.cls_token = nn.Parameter(torch.zeros(1, 1, e))
            self.pos_embed = nn.Parameter(torch.zeros(1, tokens, e))
            self.blocks = nn.ModuleList(
                ViTBlock(e, h, r) for h, r in zip(arch.num_heads, arch.mlp_ratio, strict=True)
            )
            self.norm = nn.LayerNorm(e)
            self.head = nn.Linear(e, num_classes)
            trunc_normal_(self.pos_embed, std=0.02)
            trunc_normal_(self.cls_token, std=0.02)
            for module in self.modules():
                if isinstance(module, nn.Linear):
                    trunc_normal_(module.weight, std=0.02)
                    nn.init.zeros_(module.bias)
                elif isinstance(module, nn.LayerNorm):
                    nn.init.ones_(module.weight)
                    nn.init.zeros_(module.bias)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.patch_embed(x)
            cls = self.cls_token.expand(x.shape[0], -1, -1)
            x = torch.cat((cls, x), dim=1) + self.pos_embed
            for block in self.blocks:
                x = block(x)
            return self.head(self.norm(x)[:, 0])

    return {**blocks, **_publish({"AutoFormerViT": AutoFormerViT})}


def __getattr__(name: str) -> Any:
    if name in _TORCH_CLASSES:
        return _torch_classes()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
