"""A search space around a user's own function ``arch -> torch.nn.Module``.

:class:`ModelSpace` turns any network builder into a :class:`~libranas.spaces.SearchSpace`, so
:class:`~libranas.ProxyFeaturizer`, :class:`~libranas.ArchFeaturizer` (when an ``encode``
function is given) and the search loops of :mod:`libranas.search` accept it without a
subclass. Architectures are plain picklable values (numbers, strings, tuples, mappings);
they are canonicalised to hashable values with a stable ``repr`` (lists become tuples,
mappings become :class:`ArchDict`), which is what the featurizer seeds each network's
initialisation from and what the search loops de-duplicate on.
"""

from __future__ import annotations

import inspect
import pickle
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from libranas.spaces.base import SearchSpace, check_num_classes
from libranas.spaces.nb201 import _as_generator


class ArchDict(Mapping):
    """An immutable, hashable mapping: the canonical form of a mapping architecture.

    Keys are kept sorted, so equal mappings compare, hash and ``repr`` equal whatever order
    they were written in. :meth:`to_dict` gives a plain ``dict`` back (what
    :func:`libranas.search.result.jsonable` stores).

    Examples
    --------
    >>> a = ArchDict({"width": 32, "depth": 2})
    >>> a
    ArchDict({'depth': 2, 'width': 32})
    >>> a == ArchDict(depth=2, width=32), a["width"], dict(a)
    (True, 32, {'depth': 2, 'width': 32})
    """

    __slots__ = ("_items",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        data = dict(*args, **kwargs)
        bad = [k for k in data if not isinstance(k, str)]
        if bad:
            raise TypeError(f"architecture mapping keys must be strings, got {bad}")
        object.__setattr__(self, "_items", tuple(sorted(data.items())))

    def __getitem__(self, key: str) -> Any:
        for k, v in self._items:
            if k == key:
                return v
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return (k for k, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ArchDict):
            return self._items == other._items
        return isinstance(other, Mapping) and dict(self._items) == dict(other)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("ArchDict is immutable")

    def __reduce__(self) -> tuple[Any, ...]:
        return (ArchDict, (dict(self._items),))

    def __repr__(self) -> str:
        return f"ArchDict({dict(self._items)!r})"

    def to_dict(self) -> dict[str, Any]:
        """Plain (nested) ``dict`` / ``list`` form, for JSON."""
        return {k: _plain(v) for k, v in self._items}


def _plain(value: Any) -> Any:
    if isinstance(value, ArchDict):
        return value.to_dict()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def canonical_value(value: Any) -> Any:
    """Hashable canonical form of a plain architecture value.

    numpy scalars become Python numbers, lists / tuples / 1-D arrays become tuples, mappings
    become :class:`ArchDict` (recursively); strings, numbers, booleans and None are kept.
    Anything else must be hashable and picklable.

    Raises
    ------
    TypeError
        An unhashable or unpicklable value, named.

    Examples
    --------
    >>> canonical_value({"widths": [16, 32], "act": "relu"})
    ArchDict({'act': 'relu', 'widths': (16, 32)})
    >>> canonical_value(np.int64(3))
    3
    """
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return tuple(canonical_value(v) for v in value.tolist())
    if isinstance(value, Mapping):
        return ArchDict({k: canonical_value(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(canonical_value(v) for v in value)
    try:
        hash(value)
        pickle.dumps(value)
    except Exception as exc:  # noqa: BLE001 - any reason it cannot travel or be keyed
        raise TypeError(
            f"architectures must be hashable, picklable values (numbers, strings, tuples, "
            f"mappings); got {type(value).__name__} {value!r}: {exc}"
        ) from None
    return value


def _accepts(func: Callable[..., Any], name: str) -> bool:
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


class ModelSpace(SearchSpace):
    """A search space from a user function ``arch -> torch.nn.Module``.

    Parameters
    ----------
    build : callable
        ``build(arch)`` (or ``build(arch, num_classes=...)`` if it takes ``num_classes``)
        returns the untrained network of ``arch``, mapping ``(N, C, H, W)`` images to
        ``(N, classes)`` logits.
    sample : callable or sequence, optional
        ``sample(rng)`` returns one random architecture given a ``numpy.random.Generator``;
        or a list of architectures drawn from uniformly. Needed by :meth:`sample` (random and
        evolutionary search, the L-SWAG band calibration ``lswag_band="auto"``).
    mutate : callable, optional
        ``mutate(arch, rng)`` returns a changed architecture. Default: none (an error), or
        another member of the list when ``sample`` is a list. Needed by evolutionary search.
    encode : callable, optional
        ``encode(arch)`` returns a fixed-length 1-D float vector (for
        :class:`~libranas.ArchFeaturizer`'s ``"onehot"`` group and learned rankers).
    validate : callable, optional
        ``validate(arch)`` returns the architecture (possibly normalised) or raises
        ``ValueError``; applied before canonicalisation.
    name : str, default="model-space"
        Shown in errors, reprs and score stores (give each distinct space its own name: the
        score store tells spaces apart by their repr).
    input_shape : tuple of int, default=(3, 32, 32)
        ``(C, H, W)`` the networks take (:attr:`default_input_shape`; sets the size that
        named datasets and image folders are resized to in
        :class:`~libranas.ProxyFeaturizer`).
    num_classes : int, default=None
        Classes passed to ``build`` when it takes ``num_classes`` and the caller gives none.

    Examples
    --------
    >>> from torch import nn
    >>> def build(arch):
    ...     w, d = arch["width"], arch["depth"]
    ...     convs = [nn.Sequential(nn.Conv2d(3 if i == 0 else w, w, 3, padding=1), nn.ReLU())
    ...              for i in range(d)]
    ...     return nn.Sequential(*convs, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(w, 10))
    >>> family = [{"width": w, "depth": d} for w in (8, 16) for d in (1, 2)]
    >>> space = ModelSpace(build, sample=family, name="tiny-cnns")
    >>> space.sample(2, random_state=0)
    [ArchDict({'depth': 2, 'width': 16}), ArchDict({'depth': 1, 'width': 16})]
    >>> space.param_count({"width": 8, "depth": 1})
    314
    >>> ModelSpace(build).mutate({"width": 8, "depth": 1})
    Traceback (most recent call last):
    ...
    NotImplementedError: ModelSpace 'model-space' cannot mutate: pass mutate= or sample=[archs]
    """

    def __init__(
        self,
        build: Callable[..., Any],
        sample: Callable[[np.random.Generator], Any] | Sequence[Any] | None = None,
        mutate: Callable[[Any, np.random.Generator], Any] | None = None,
        encode: Callable[[Any], Any] | None = None,
        validate: Callable[[Any], Any] | None = None,
        name: str = "model-space",
        input_shape: Sequence[int] = (3, 32, 32),
        num_classes: int | None = None,
    ) -> None:
        if not callable(build):
            raise TypeError(f"build must be a callable arch -> nn.Module, got {build!r}")
        for key, func in (("mutate", mutate), ("encode", encode), ("validate", validate)):
            if func is not None and not callable(func):
                raise TypeError(f"{key} must be a callable or None, got {func!r}")
        if not isinstance(name, str) or not name:
            raise TypeError(f"name must be a non-empty string, got {name!r}")
        shape = tuple(input_shape)
        if not shape or not all(isinstance(s, (int, np.integer)) and s > 0 for s in shape):
            raise ValueError(f"input_shape must be a tuple of positive ints, got {input_shape!r}")
        self.build_fn = build
        self.validate_fn = validate
        self.mutate_fn = mutate
        self.encode_fn = encode
        self.name = name
        self.input_shape = tuple(int(s) for s in shape)
        self.num_classes = None if num_classes is None else check_num_classes(num_classes, 1)
        self.sample_fn: Callable[[np.random.Generator], Any] | None
        self.archs: tuple[Any, ...] | None
        if sample is None or callable(sample):
            self.sample_fn, self.archs = sample, None
        else:
            if isinstance(sample, (str, bytes, Mapping)):
                raise TypeError(
                    "sample must be a callable rng -> arch or a list of architectures, got "
                    f"{type(sample).__name__}"
                )
            archs = [self.validate(a) for a in sample]
            if not archs:
                raise ValueError("sample is an empty list of architectures")
            self.sample_fn, self.archs = None, tuple(dict.fromkeys(archs))

    def __repr__(self) -> str:
        return f"ModelSpace(name={self.name!r})"

    @property
    def default_input_shape(self) -> tuple[int, ...]:  # type: ignore[override]
        """``input_shape``."""
        return self.input_shape

    # ------------------------------------------------------------------ conversions
    def validate(self, arch: Any) -> Any:
        """The user's ``validate`` (if any), then :func:`canonical_value`."""
        if self.validate_fn is not None:
            arch = self.validate_fn(arch)
        return canonical_value(arch)

    def sample(self, n: int, random_state: Any = None) -> list[Any]:
        """``n`` architectures from ``sample(rng)`` or drawn uniformly (with replacement)
        from the list.

        Raises
        ------
        NotImplementedError
            No ``sample`` was given.
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"n must be a non-negative int, got {n!r}")
        rng = _as_generator(random_state)
        if self.archs is not None:
            return [self.archs[int(rng.integers(len(self.archs)))] for _ in range(int(n))]
        if self.sample_fn is None:
            raise NotImplementedError(
                f"ModelSpace {self.name!r} cannot sample: pass sample=lambda rng: ... (one "
                "random architecture) or sample=[a list of architectures]"
            )
        return [self.validate(self.sample_fn(rng)) for _ in range(int(n))]

    def mutate(self, arch: Any, random_state: Any = None) -> Any:
        """``mutate(arch, rng)``, or another member of the ``sample`` list.

        Raises
        ------
        NotImplementedError
            Neither a ``mutate`` function nor a list of architectures was given.
        """
        a = self.validate(arch)
        rng = _as_generator(random_state)
        if self.mutate_fn is not None:
            return self.validate(self.mutate_fn(a, rng))
        if self.archs is not None:
            others = [b for b in self.archs if b != a]
            if not others:
                raise ValueError(f"ModelSpace {self.name!r} holds a single architecture")
            return others[int(rng.integers(len(others)))]
        raise NotImplementedError(
            f"ModelSpace {self.name!r} cannot mutate: pass mutate= or sample=[archs]"
        )

    def encode(self, arch: Any) -> np.ndarray:
        """``encode(arch)`` as a 1-D float array.

        Raises
        ------
        NotImplementedError
            No ``encode`` was given.
        """
        if self.encode_fn is None:
            raise NotImplementedError(
                f"ModelSpace {self.name!r} has no encoding: pass encode=lambda arch: [...] (a "
                "fixed-length vector) to use ArchFeaturizer(features=['onehot']) or learned rankers"
            )
        out = np.asarray(self.encode_fn(self.validate(arch)), dtype=np.float64)
        if out.ndim != 1:
            raise ValueError(f"encode must return a 1-D vector, got shape {out.shape}")
        return out

    def encoding_names(self) -> list[str]:
        """``enc_0``, ... over the width of :meth:`encode` of a sampled (or listed)
        architecture."""
        if self.encode_fn is None:
            self.encode(None)  # raises the NotImplementedError above
        return super().encoding_names()

    # ------------------------------------------------------------------ Optuna
    def _require_list(self) -> tuple[Any, ...]:
        if self.archs is None:
            raise NotImplementedError(
                f"ModelSpace {self.name!r} can be searched with Optuna only over a list: "
                "pass sample=[a list of architectures]"
            )
        return self.archs

    def trial_choices(self) -> dict[str, tuple[Any, ...]]:
        """``{"arch": indices of the listed architectures}`` (needs ``sample=[...]``)."""
        return {"arch": tuple(range(len(self._require_list())))}

    def suggest(self, trial: Any) -> Any:
        """A listed architecture drawn through an Optuna ``trial``."""
        archs = self._require_list()
        return archs[trial.suggest_categorical("arch", list(range(len(archs))))]

    def trial_params(self, arch: Any) -> dict[str, Any]:
        """``{"arch": index}`` of a listed architecture (inverse of :meth:`suggest`)."""
        a, archs = self.validate(arch), self._require_list()
        if a not in archs:
            raise ValueError(f"{a!r} is not among the listed architectures")
        return {"arch": archs.index(a)}

    # ------------------------------------------------------------------ networks
    def build(self, arch: Any, num_classes: int | None = None) -> Any:
        """The user's ``build(arch)``; ``num_classes`` is passed on when ``build`` takes it.

        Raises
        ------
        TypeError
            ``build`` did not return a ``torch.nn.Module``.
        """
        from torch import nn

        a = self.validate(arch)
        classes = num_classes if num_classes is not None else self.num_classes
        if classes is not None and _accepts(self.build_fn, "num_classes"):
            model = self.build_fn(a, num_classes=check_num_classes(classes, 1))
        else:
            model = self.build_fn(a)
        if not isinstance(model, nn.Module):
            raise TypeError(
                f"ModelSpace {self.name!r}: build({a!r}) returned {type(model).__name__}, not a "
                "torch.nn.Module"
            )
        return model

    def size_prior(self) -> tuple[float, float]:
        """reg-SWAP's prior from the parameter counts of the listed architectures (when
        ``sample`` is a list of at least 2 of different sizes), else the default."""
        from libranas.spaces.base import size_prior_from_counts

        if self.archs is not None and len(self.archs) >= 2:
            counts = [self.param_count(a) for a in self.archs]
            if len(set(counts)) >= 2:
                return size_prior_from_counts(counts)
        return super().size_prior()


__all__ = ["ArchDict", "ModelSpace", "canonical_value"]
