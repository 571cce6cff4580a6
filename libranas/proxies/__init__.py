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

#: The training-free default: the proxies libranas fuses to rank architectures when there
#: are no labels (``ZCRanker("log-rank")``, ``libranas evaluate``). Chosen by
#: ``benchmarks/zero_label.py`` on development data only -- NAS-Bench-201 CIFAR-10 (724
#: cells) and AutoFormer-Tiny (100 subnets) -- among every registered proxy computed on
#: both: the sets whose log-rank rho on NB201 CIFAR-10 is within 0.01 of the best set's, then
#: the best on AutoFormer, ties (0.005) to the cheapest per network. AZ-NAS's proxies joined
#: the pool once computed for every NB201 cell (the earlier pool of 20 gave jacov, meco,
#: params, zico); results on NB201 CIFAR-100 / ImageNet16-120 and NB301 in
#: ``benchmarks/results/zero_label.md``. About 1.8 CPU s per NB201 cell on one core (one
#: shared pass).
TRAINING_FREE_DEFAULT: tuple[str, ...] = ("az_expressivity", "az_trainability", "params", "zico")

#: The training-free search default: what a label-free live search (``libranas search
#: --mode live --labelled 0``) computes and fuses by log-rank when no proxies are named:
#: AZ-NAS's four proxies (Lee & Ham, CVPR 2024; their log-rank fusion orders architectures
#: as AZ-NAS's aggregate), one shared pass, about 0.8 CPU s per NB201 cell. A search returns
#: the top of its ranking, where :data:`TRAINING_FREE_DEFAULT` (chosen for rho) ranks good
#: cells little better than chance. AZ-NAS was first seen winning NB201 CIFAR-10 searches
#: (93.99 vs 93.65, 5 seeds x 1000 cells), then checked on held-out NB201 CIFAR-100 by a
#: rule declared before those runs (3 seeds, mean test accuracy at least the ranking
#: default's: 71.43 vs 71.06; ImageNet16-120, one seed, reported and not deciding: 45.06 vs
#: 45.33); ``benchmarks/results/zero_label.md``.
TRAINING_FREE_SEARCH_DEFAULT: tuple[str, ...] = (
    "az_expressivity",
    "az_progressivity",
    "az_trainability",
    "az_complexity",
)


def training_free_default(space: Any = None) -> tuple[str, ...]:
    """The training-free default of ``space``: its own where it stores one, else the generic.

    A search space may store a default chosen on its own development data by the rule of
    :data:`TRAINING_FREE_DEFAULT` (:meth:`~libranas.spaces.SearchSpace.training_free_default`;
    DARTS / NAS-Bench-301 does: ``benchmarks/results/darts_default.md``). ``ZCRanker(
    "log-rank", space=...)`` and :func:`training_free_columns` read it.

    Parameters
    ----------
    space : str, SearchSpace or None, default=None
        A registered space name (e.g. a benchmark's ``bench.space``), a space instance, or
        None for the generic default.

    Returns
    -------
    tuple of str
        Proxy names.

    Examples
    --------
    >>> training_free_default() == TRAINING_FREE_DEFAULT
    True
    >>> training_free_default("nb201") == TRAINING_FREE_DEFAULT  # NB201 stores none
    True
    >>> training_free_default("nb301") != TRAINING_FREE_DEFAULT
    True
    """
    stored = _stored_default(space)
    return TRAINING_FREE_DEFAULT if stored is None else stored


def _stored_default(space: Any) -> tuple[str, ...] | None:
    """The default ``space`` stores (None for None or a space that stores none)."""
    if space is None:
        return None
    if isinstance(space, str):
        from libranas.spaces import get_space

        space = get_space(space)
    own = getattr(space, "training_free_default", None)
    if own is None:
        raise TypeError(f"space must be a space name or a SearchSpace, got {space!r}")
    stored = own()
    return None if stored is None else tuple(stored)


def training_free_search_default(space: Any = None) -> tuple[str, ...]:
    """The proxies a label-free live search of ``space`` computes and fuses by log-rank.

    The space's own training-free default where it stores one (DARTS: chosen on the
    NAS-Bench-301 development half, ``benchmarks/results/darts_default.md``), else the
    generic :data:`TRAINING_FREE_SEARCH_DEFAULT` (AZ-NAS's four, chosen by NB201 searches).
    ``libranas search --mode live --labelled 0`` calls this where it used the generic
    search default (``libranas.search.protocol``).

    Examples
    --------
    >>> training_free_search_default("nb201") == TRAINING_FREE_SEARCH_DEFAULT
    True
    >>> training_free_search_default("darts") == training_free_default("darts")
    True
    """
    stored = _stored_default(space)
    return TRAINING_FREE_SEARCH_DEFAULT if stored is None else stored


def training_free_options(space: Any = None) -> dict[str, Any]:
    """ProxyFeaturizer settings that go with :func:`training_free_default` of ``space``.

    A stored default was measured with particular featurizer settings (DARTS: the L-SWAG
    proxies over all layers, ``{"lswag_band": None}``, as its NB301 table); a live search
    that computes the default should use them (as ``setdefault``: explicit settings win).
    Empty for the generic default.

    Examples
    --------
    >>> training_free_options("nb201"), training_free_options("darts")
    ({}, {'lswag_band': None})
    """
    if _stored_default(space) is None:
        return {}
    if isinstance(space, str):
        from libranas.spaces import get_space

        space = get_space(space)
    return dict(space.training_free_options())


def training_free_columns(columns: Any, space: Any = None) -> list[str]:
    """The columns of ``columns`` that hold ``space``'s training-free default proxies.

    A proxy ``p`` is found as a column named ``p`` or ``lib_<p>`` (the libranas columns of a
    bundled benchmark, ``load_benchmark(name, libranas_proxies=...)``); the bare name wins
    where both exist.

    Raises
    ------
    ValueError
        A default proxy has no column (the message names it and how to load it).

    Examples
    --------
    >>> training_free_columns(["lib_zico", "lib_params", "nwot", "az_expressivity",
    ...                        "lib_az_trainability"])
    ['az_expressivity', 'lib_az_trainability', 'lib_params', 'lib_zico']
    """
    names = [str(c) for c in columns]
    proxies = training_free_default(space)
    found, missing = [], []
    for p in proxies:
        if p in names:
            found.append(p)
        elif f"lib_{p}" in names:
            found.append(f"lib_{p}")
        else:
            missing.append(p)
    if missing:
        where = "the generic default" if space is None else f"the default of space {space!r}"
        raise ValueError(
            f"{where} fuses {list(proxies)}, but X has no column for {missing} (named "
            "'<proxy>' or 'lib_<proxy>'); compute them (ProxyFeaturizer(proxies=...)) or "
            "load the benchmark with load_benchmark(name, libranas_proxies=[...])"
        )
    return found


__all__ = [
    "TRAINING_FREE_DEFAULT",
    "TRAINING_FREE_SEARCH_DEFAULT",
    "training_free_columns",
    "training_free_default",
    "training_free_options",
    "training_free_search_default",
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
