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

#: The training-free default: the proxies libranas fuses when there are no labels
#: (``ZCRanker("log-rank")``, ``libranas search --labelled 0``). Chosen by
#: ``benchmarks/zero_label.py`` on development data only -- NAS-Bench-201 CIFAR-10 (724
#: cells) and AutoFormer-Tiny (100 subnets) -- among every registered proxy computed on
#: both: the sets whose log-rank rho on NB201 CIFAR-10 is within 0.01 of the best set's, then
#: the best on AutoFormer, ties (0.005) to the cheapest per network. AZ-NAS's proxies joined
#: the pool once computed for every NB201 cell (the earlier pool of 20 gave jacov, meco,
#: params, zico); results on NB201 CIFAR-100 / ImageNet16-120 and NB301 in
#: ``benchmarks/results/zero_label.md``. About 1.8 CPU s per NB201 cell on one core (one
#: shared pass).
TRAINING_FREE_DEFAULT: tuple[str, ...] = ("az_expressivity", "az_trainability", "params", "zico")

__all__ = [
    "TRAINING_FREE_DEFAULT",
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
