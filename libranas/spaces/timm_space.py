"""A search space of timm architectures: rank named timm models, untrained.

Architectures are timm model names (``"resnet18"``) or ``(name, kwargs)`` pairs
(``("vit_tiny_patch16_224", {"depth": 6})``), built with ``timm.create_model(name,
pretrained=False, num_classes=..., img_size=..., **kwargs)``; ``img_size`` is passed only to
models that take it (ViTs and the like), so a 224-px ViT is adapted to 32-px images. Random and
evolutionary search draw from a user-given list of models (mutation = another model of the
list).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from libranas._validation import is_int as _is_int
from libranas.spaces._registry import register_space
from libranas.spaces.base import SearchSpace, check_num_classes, size_prior_from_counts
from libranas.spaces.model_space import ArchDict, canonical_value
from libranas.spaces.nb201 import _as_generator

#: the models sampled when no list is given: small ImageNet classifiers of several families
DEFAULT_MODELS: tuple[str, ...] = (
    "resnet18",
    "resnet34",
    "resnet50",
    "mobilenetv3_small_100",
    "mobilenetv3_large_100",
    "efficientnet_b0",
    "regnety_008",
    "convnext_atto",
    "vit_tiny_patch16_224",
    "deit_small_patch16_224",
)


@lru_cache(maxsize=1)
def _timm_names() -> frozenset[str]:
    from libranas._optional import require

    timm = require("timm", 'get_space("timm")')

    return frozenset(timm.list_models())


@register_space("timm")
class TimmSpace(SearchSpace):
    """Untrained timm models as a search space.

    Parameters
    ----------
    models : list, optional
        Architectures to sample and mutate among: names or ``(name, kwargs)`` pairs.
        Default: :data:`DEFAULT_MODELS` (ten small ImageNet classifiers). Any timm
        architecture can be scored and validated without being listed; :meth:`sample`,
        :meth:`mutate`, :meth:`encode` and :meth:`suggest` work over the list.
    num_classes : int, default=1000
        Classes of the heads built.
    img_size : int, default=224
        Square input resolution; passed as ``img_size=`` to the models that accept it.
    in_chans : int, default=3
        Input channels.

    Examples
    --------
    >>> from libranas.spaces import get_space
    >>> space = get_space("timm", num_classes=10, img_size=32,
    ...                   models=["resnet18", ("vit_tiny_patch16_224", {"depth": 2})])
    >>> space.validate(["vit_tiny_patch16_224", {"depth": 2}])
    ('vit_tiny_patch16_224', ArchDict({'depth': 2}))
    >>> space.param_count("resnet18")
    11181642
    >>> space.validate("resnet_18")
    Traceback (most recent call last):
    ...
    ValueError: 'resnet_18' is not a timm model; close names: ['resnet18', 'resnetv2_18']
    """

    name = "timm"

    def __init__(
        self,
        models: Sequence[Any] | None = None,
        num_classes: int = 1000,
        img_size: int = 224,
        in_chans: int = 3,
    ) -> None:
        self.num_classes = check_num_classes(num_classes, default=1000)
        for key, value in (("img_size", img_size), ("in_chans", in_chans)):
            if not _is_int(value) or value < 1:
                raise ValueError(f"{key} must be a positive int, got {value!r}")
        self.img_size = int(img_size)
        self.in_chans = int(in_chans)
        if models is None:
            models = DEFAULT_MODELS
        if isinstance(models, (str, bytes)) or not isinstance(models, Sequence):
            raise TypeError(f"models must be a list of timm model names, got {models!r}")
        listed = [self.validate(m) for m in models]
        if not listed:
            raise ValueError("models is empty")
        self.models: tuple[Any, ...] = tuple(dict.fromkeys(listed))
        self._takes_img_size: dict[str, bool] = {}

    def __repr__(self) -> str:
        models = None if self.models is None else list(self.models)
        return (
            f"TimmSpace(models={models!r}, num_classes={self.num_classes}, "
            f"img_size={self.img_size}, in_chans={self.in_chans})"
        )

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_takes_img_size": {}}

    @property
    def default_input_shape(self) -> tuple[int, int, int]:  # type: ignore[override]
        """``(in_chans, img_size, img_size)``."""
        return (self.in_chans, self.img_size, self.img_size)

    # ------------------------------------------------------------------ conversions
    def validate(self, arch: Any) -> Any:
        """Canonical form: the name (a ``str``) or ``(name, ArchDict(kwargs))``.

        Raises
        ------
        ValueError
            Not a timm model name (with close names), kwargs naming ``pretrained`` /
            ``num_classes`` (set by the space).
        TypeError
            Neither a name nor a ``(name, kwargs)`` pair.
        """
        if isinstance(arch, str):
            name, kwargs = arch, None
        elif isinstance(arch, (tuple, list)) and len(arch) == 2 and isinstance(arch[0], str):
            name, kwargs = arch[0], arch[1]
            if not isinstance(kwargs, Mapping):
                raise TypeError(f"the kwargs of {name!r} must be a mapping, got {kwargs!r}")
        else:
            raise TypeError(
                f"a timm architecture is a model name or a (name, kwargs) pair, got {arch!r}"
            )
        if name not in _timm_names():
            import difflib

            close = difflib.get_close_matches(name, sorted(_timm_names()), n=2, cutoff=0.6)
            raise ValueError(f"{name!r} is not a timm model; close names: {close}")
        if not kwargs:
            return name
        fixed = sorted({"pretrained", "num_classes"} & set(kwargs))
        if fixed:
            raise ValueError(f"kwargs of {name!r} may not set {fixed}: the space sets them")
        return (name, ArchDict({k: canonical_value(v) for k, v in kwargs.items()}))

    def _split(self, arch: Any) -> tuple[str, dict[str, Any]]:
        a = self.validate(arch)
        return (a, {}) if isinstance(a, str) else (a[0], a[1].to_dict())

    # ------------------------------------------------------------------ sampling
    def sample(self, n: int, random_state: Any = None) -> list[Any]:
        """``n`` models drawn uniformly (with replacement) from ``models``."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"n must be a non-negative int, got {n!r}")
        models = self.models
        rng = _as_generator(random_state)
        return [models[int(rng.integers(len(models)))] for _ in range(int(n))]

    def mutate(self, arch: Any, random_state: Any = None) -> Any:
        """Another model of ``models``, uniformly."""
        a = self.validate(arch)
        others = [m for m in self.models if m != a]
        if not others:
            raise ValueError("the timm space lists a single model: nothing to mutate to")
        return others[int(_as_generator(random_state).integers(len(others)))]

    def encoding_names(self) -> list[str]:
        """``model=<arch>`` for each listed model."""
        return [f"model={m!r}" for m in self.models]

    def encode(self, arch: Any) -> np.ndarray:
        """One-hot of the model among ``models``."""
        a = self.validate(arch)
        models = self.models
        if a not in models:
            raise ValueError(f"cannot encode {a!r}: not among the listed models")
        out = np.zeros(len(models))
        out[models.index(a)] = 1.0
        return out

    # ------------------------------------------------------------------ networks
    def build(self, arch: Any, num_classes: int | None = None) -> Any:
        """``timm.create_model(name, pretrained=False, num_classes=..., **kwargs)``, with
        ``img_size`` (and ``in_chans``) added when the model takes them.

        Examples
        --------
        >>> import torch
        >>> space = TimmSpace(num_classes=10, img_size=32)
        >>> space.build(("vit_tiny_patch16_224", {"depth": 1}))(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 10])
        """
        import timm

        name, kwargs = self._split(arch)
        classes = check_num_classes(num_classes, default=self.num_classes)
        base = {"pretrained": False, "num_classes": classes, "in_chans": self.in_chans}
        base.update(kwargs)
        if "img_size" not in kwargs and self._takes_img_size.get(name, True):
            try:
                model = timm.create_model(name, img_size=self.img_size, **base)
                self._takes_img_size[name] = True
                return model
            except TypeError as exc:
                if "img_size" not in str(exc):
                    raise
                self._takes_img_size[name] = False
        return timm.create_model(name, **base)

    # ------------------------------------------------------------------ Optuna
    def trial_choices(self) -> dict[str, tuple[Any, ...]]:
        """``{"model": indices of the listed models}`` (one categorical)."""
        return {"model": tuple(range(len(self.models)))}

    def suggest(self, trial: Any) -> Any:
        """A listed model drawn through an Optuna ``trial``."""
        return self.models[trial.suggest_categorical("model", list(range(len(self.models))))]

    def trial_params(self, arch: Any) -> dict[str, Any]:
        """``{"model": index}`` of a listed model (inverse of :meth:`suggest`)."""
        a = self.validate(arch)
        if a not in self.models:
            raise ValueError(f"{a!r} is not among the listed models")
        return {"model": self.models.index(a)}

    def size_prior(self) -> tuple[float, float]:
        """reg-SWAP's prior from the parameter counts of the listed models (at least 2 of
        different sizes), else the default."""
        if len(self.models) >= 2:
            counts = [self.param_count(m) for m in self.models]
            if len(set(counts)) >= 2:
                return size_prior_from_counts(counts)
        return super().size_prior()


__all__ = ["TimmSpace"]
