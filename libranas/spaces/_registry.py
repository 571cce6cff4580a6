"""Name -> factory registry for search spaces."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

_FACTORIES: dict[str, Callable[..., Any]] = {}

# modules that register spaces when imported; imported on first lookup so that
# ``import libranas.spaces`` does not pull in torch
_SPACE_MODULES = (
    "libranas.spaces.nb201",
    "libranas.spaces.darts",
    "libranas.spaces.autoformer",
    "libranas.spaces.nb101",
    "libranas.spaces.tnb101",
    "libranas.spaces.pit",
    "libranas.spaces.timm_space",
)
_loaded = False


def _load_builtin() -> None:
    global _loaded
    if _loaded:
        return
    for module in _SPACE_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:  # a space module not written yet / optional
            if exc.name != module:
                raise
    _loaded = True


def register_space(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a search-space factory under ``name`` (a class or a function returning a space)."""

    def decorator(factory: Callable[..., Any]) -> Callable[..., Any]:
        if name in _FACTORIES and _FACTORIES[name] is not factory:
            raise ValueError(f"search space {name!r} is already registered")
        _FACTORIES[name] = factory
        return factory

    return decorator


def list_spaces() -> list[str]:
    """Names of the registered search spaces, sorted."""
    _load_builtin()
    return sorted(_FACTORIES)


def get_space(name: Any, **options: Any) -> Any:
    """Return the search space called ``name`` built with ``options``.

    A :class:`~libranas.spaces.SearchSpace` instance is returned unchanged (options must
    then be empty), so estimators can accept either a name or a space object.
    """
    from libranas.spaces.base import SearchSpace

    if isinstance(name, SearchSpace):
        if options:
            raise ValueError("options cannot be applied to an already built search space")
        return name
    if not isinstance(name, str):
        raise TypeError(f"space must be a name or a SearchSpace, got {type(name).__name__}")
    _load_builtin()
    if name not in _FACTORIES:
        raise ValueError(f"unknown search space {name!r}; known spaces: {sorted(_FACTORIES)}")
    return _FACTORIES[name](**options)
