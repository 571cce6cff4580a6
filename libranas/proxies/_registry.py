"""Name -> proxy registry. Adding a proxy is one module with one decorated function."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: what a proxy may read from the shared pass (see :class:`libranas.proxies.NetworkPass`)
KNOWN_REQUIREMENTS = frozenset(
    {
        "model",  # the network only (params, flops, l2_norm)
        "activations",  # one forward with activation hooks (nwot, swap, psi)
        "features",  # outputs of weight layers / blocks during that forward (meco)
        "weight_grads",  # one cross-entropy backward over the batch (snip, grad_norm, ...)
        "per_sample_grads",  # per-sample gradient statistics per layer (zico, lswag)
        "input_jacobian",  # d output / d input per sample (jacov, epe_nas)
        "hessian_grad",  # Hessian-gradient product of the batch loss (grasp)
        "block_features",  # block outputs + random-probe VJPs between blocks (az_*)
        "own_pass",  # the proxy runs its own special pass (synflow, zen)
    }
)

_PROXIES: dict[str, ProxyInfo] = {}

# modules that register proxies at import time (one per proxy family)
_PROXY_MODULES = (
    "libranas.proxies.size",
    "libranas.proxies.lswag",
    "libranas.proxies.zico",
    "libranas.proxies.swap",
    "libranas.proxies.meco",
    "libranas.proxies.nwot",
    "libranas.proxies.saliency",
    "libranas.proxies.synflow",
    "libranas.proxies.grasp",
    "libranas.proxies.jacobian",
    "libranas.proxies.zen",
    "libranas.proxies.aznas",
    "libranas.proxies.vkdnw",
)
_loaded = False


@dataclass(frozen=True)
class ProxyInfo:
    """A registered zero-cost proxy.

    Attributes
    ----------
    name : str
        Registry name (the column name in a proxy matrix).
    func : callable
        ``func(network_pass) -> float``; bigger means predicted better.
    requires : frozenset of str
        What the proxy reads from the shared pass; the featurizer plans passes from it.
    reference : str
        The paper the proxy is re-implemented from.
    """

    name: str
    func: Callable[[Any], float]
    requires: frozenset[str]
    reference: str = ""
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _load_builtin() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in _PROXY_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:  # family module not written yet
            if exc.name != module:
                raise


def register_proxy(
    name: str,
    *,
    requires: tuple[str, ...] | frozenset[str],
    reference: str = "",
    description: str = "",
    **extra: Any,
) -> Callable[[Callable[[Any], float]], Callable[[Any], float]]:
    """Decorator registering ``func(network_pass) -> float`` as proxy ``name``."""
    req = frozenset(requires)
    unknown = req - KNOWN_REQUIREMENTS
    if unknown:
        raise ValueError(f"proxy {name!r}: unknown requirements {sorted(unknown)}")

    def decorator(func: Callable[[Any], float]) -> Callable[[Any], float]:
        if name in _PROXIES and _PROXIES[name].func is not func:
            raise ValueError(f"proxy {name!r} is already registered")
        _PROXIES[name] = ProxyInfo(name, func, req, reference, description, dict(extra))
        return func

    return decorator


def list_proxies() -> list[str]:
    """Names of all registered proxies, sorted."""
    _load_builtin()
    return sorted(_PROXIES)


def get_proxy(name: str) -> ProxyInfo:
    """The :class:`ProxyInfo` registered as ``name``; a clear error lists the known ones."""
    _load_builtin()
    if name not in _PROXIES:
        raise ValueError(f"unknown proxy {name!r}; known proxies: {sorted(_PROXIES)}")
    return _PROXIES[name]
