"""Zero-cost proxies, one module per family, registered by name.

    >>> from libranas.proxies import list_proxies
    >>> "lswag" in list_proxies()
    True

``score_network`` and ``NetworkPass`` (the shared pass) import torch, so they are loaded
on first access.
"""

from __future__ import annotations

from typing import Any

from libranas.proxies._registry import (
    ProxyInfo,
    check_options,
    get_proxy,
    list_options,
    list_proxies,
    register_pass_options,
    register_proxy,
)

__all__ = [
    "NetworkPass",
    "ProxyInfo",
    "check_options",
    "get_proxy",
    "list_options",
    "list_proxies",
    "register_pass_options",
    "register_proxy",
    "score_network",
]


def __getattr__(name: str) -> Any:
    if name in ("score_network", "NetworkPass"):
        from libranas.proxies import _engine

        return getattr(_engine, name)
    raise AttributeError(f"module 'libranas.proxies' has no attribute {name!r}")
