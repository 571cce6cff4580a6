"""Name -> proxy registry. Adding a proxy is one module with one decorated function."""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Mapping
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

#: options read by the shared pass itself (see :class:`libranas.proxies.NetworkPass`), not by
#: one proxy: key -> what it sets. Proxy-specific options are declared with
#: ``register_proxy(..., options=...)``; :func:`check_options` accepts the union of both.
_PASS_OPTIONS: dict[str, str] = {
    "per_sample": "per-sample gradients: 'exact' (default), 'loop' or 'chunks' (ZiCo's estimate)",
    "per_sample_impl": "exact per-sample gradients by 'auto' (default), 'vmap' or 'hooks'",
    "per_sample_chunk": "samples per vmap chunk (default 32)",
    "per_sample_splits": "parts of the batch for per_sample='chunks' (default 2)",
    "features_samples": "samples whose feature maps are kept (default 1, MeCo)",
    "az_blocks": "names of the blocks whose outputs the block-feature pass reads (AZ-NAS)",
}

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
    options : mapping of str to str, or None
        The keys of ``network_pass.options`` the proxy reads, with what each one sets
        (declared at registration; :func:`check_options` rejects any other key). None: not
        declared (see :func:`register_proxy`).
    """

    name: str
    func: Callable[[Any], float]
    requires: frozenset[str]
    reference: str = ""
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    options: Mapping[str, str] | None = None


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
    options: Mapping[str, str] | None = None,
    **extra: Any,
) -> Callable[[Callable[[Any], float]], Callable[[Any], float]]:
    """Decorator registering ``func(network_pass) -> float`` as proxy ``name``.

    Parameters
    ----------
    name : str
        Registry name (the column name in a proxy matrix).
    requires : iterable of str
        What the proxy reads from the shared pass (:data:`KNOWN_REQUIREMENTS`).
    reference, description : str
        The paper, and one line on what the proxy computes.
    options : mapping of str to str, optional
        The keys of ``network_pass.options`` the proxy reads, each with a one-line
        description (e.g. ``{"zen_alpha": "input perturbation scale (default 0.01)"}``);
        ``{}`` for a proxy that reads none. ``ProxyFeaturizer(options=...)`` accepts only
        declared keys (of any proxy, or of the shared pass), so a misspelled key is an
        error instead of being silently ignored. Omitted (None): not declared; for
        compatibility, any key starting with ``"<name>_"`` is then accepted for this proxy
        (the naming convention of every built-in option), unchecked. Declare to be checked.
    **extra
        Stored in :attr:`ProxyInfo.extra`.
    """
    req = frozenset(requires)
    unknown = req - KNOWN_REQUIREMENTS
    if unknown:
        raise ValueError(f"proxy {name!r}: unknown requirements {sorted(unknown)}")
    declared = None if options is None else dict(options)
    bad = [
        k for k, v in (declared or {}).items() if not isinstance(k, str) or not isinstance(v, str)
    ]
    if bad:
        raise TypeError(f"proxy {name!r}: options must map str keys to str descriptions: {bad}")

    def decorator(func: Callable[[Any], float]) -> Callable[[Any], float]:
        if name in _PROXIES and _PROXIES[name].func is not func:
            raise ValueError(f"proxy {name!r} is already registered")
        _PROXIES[name] = ProxyInfo(
            name, func, req, reference, description, dict(extra), options=declared
        )
        return func

    return decorator


def register_pass_options(options: Mapping[str, str]) -> None:
    """Declare options read by the shared pass itself (``{key: description}``)."""
    for key, text in options.items():
        if not isinstance(key, str) or not isinstance(text, str):
            raise TypeError(f"pass options must map str keys to str descriptions, got {key!r}")
        _PASS_OPTIONS[key] = text


def list_options() -> dict[str, str]:
    """Every accepted option key -> who reads it and what it sets, sorted by key.

    The shared pass's options and those each registered proxy declared.

    Examples
    --------
    >>> "zen_alpha" in list_options() and "per_sample" in list_options()
    True
    """
    _load_builtin()
    owners: dict[str, list[str]] = {}
    text: dict[str, str] = {}
    for key, what in _PASS_OPTIONS.items():
        owners.setdefault(key, []).append("shared pass")
        text.setdefault(key, what)
    for info in _PROXIES.values():
        for key, what in (info.options or {}).items():
            owners.setdefault(key, []).append(info.name)
            text.setdefault(key, what)
    return {k: f"{text[k]} [{', '.join(owners[k])}]" for k in sorted(owners)}


def check_options(options: Mapping[str, Any] | None) -> None:
    """Raise a ``ValueError`` naming every key of ``options`` nobody declared.

    The message lists the valid keys and suggests the closest one to a misspelling.

    Examples
    --------
    >>> check_options({"zen_alpha": 0.1})
    >>> check_options({"zen_alfa": 0.1})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: unknown option 'zen_alfa' (did you mean 'zen_alpha'?); valid options: ...
    """
    if not options:
        return
    valid = list_options()
    # proxies registered without options=: their "<name>_*" keys pass unchecked
    prefixes = sorted(f"{info.name}_" for info in _PROXIES.values() if info.options is None)
    unknown = [
        k for k in options if k not in valid and not any(str(k).startswith(p) for p in prefixes)
    ]
    if not unknown:
        return
    hints = []
    for key in unknown:
        close = difflib.get_close_matches(str(key), list(valid), n=1)
        hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    noun = "option" if len(unknown) == 1 else "options"
    message = f"unknown {noun} {', '.join(hints)}; valid options: {list(valid)}"
    if prefixes:
        message += f" (and any key starting with {[p + '*' for p in prefixes]})"
    raise ValueError(message)


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
