"""Streaming :class:`~libranas.featurizer.ProxyFeaturizer`'s scores through a score store
(:mod:`libranas.store`): the key of a fitted featurizer's scores, reading the stored ones,
writing each computed chunk.

Plain functions called by :meth:`ProxyFeaturizer.transform`'s helpers; their warnings name
the user's line (:func:`libranas._warnings.user_stacklevel`).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from libranas._warnings import user_stacklevel


def read_stored(
    out: np.ndarray,
    store: Any,
    context: Any,
    first: dict[str, int],
    proxies: list[str],
) -> tuple[dict[tuple[int, ...], list[int]], list[tuple[int, str, str]]]:
    """Fill ``out`` with the stored scores (``store`` None: none).

    Returns the architectures left to compute, grouped by their missing columns, and the
    stored failures as ``(row, proxy, reason)``, in the order they were read.
    """
    stored = store.get(context, list(first), proxies) if store is not None else {}
    todo: dict[tuple[int, ...], list[int]] = {}  # missing columns -> architectures
    failed: list[tuple[int, str, str]] = []
    for key, i in first.items():
        missing = []
        for col, proxy in enumerate(proxies):
            hit = stored.get((key, proxy))
            if hit is None:
                missing.append(col)
                continue
            out[i, col] = hit[0]
            if hit[1] is not None:
                failed.append((i, proxy, hit[1]))
        if missing:
            todo.setdefault(tuple(missing), []).append(i)
    return todo, failed


def store_put(store: Any, context: Any, records: list[Any], descriptions: Any) -> bool:
    """Write one chunk's scores; on a store error warn once and return False.

    A store that cannot be written (read-only file, full disk, locked past the timeout)
    must not cost the scores being computed: they are still returned by
    :meth:`~libranas.featurizer.ProxyFeaturizer.transform`, with a
    :class:`~libranas.store.ScoreStoreWarning`.
    """
    import sqlite3

    from libranas.store import ScoreStoreWarning

    try:
        store.put(context, records, descriptions)
    except (sqlite3.Error, OSError, ValueError) as exc:
        warnings.warn(
            f"score store {store.path!r} could not be written ({type(exc).__name__}: "
            f"{exc}); the scores of this call are computed and returned but not stored",
            ScoreStoreWarning,
            stacklevel=user_stacklevel(),
        )
        return False
    return True


def score_context(
    space: Any,
    data: tuple[np.ndarray, np.ndarray],
    seed: int,
    lswag_band: Any,
    options: dict[str, Any] | None,
    dtype: str,
    num_classes: int,
    device: str,
    size_prior: tuple[float, float] | None,
    n_inits: int,
) -> tuple[Any, dict[str, tuple[str, Any]]]:
    """Store key of a fitted featurizer's scores, and what its fingerprints stand for."""
    import torch

    from libranas import __version__
    from libranas.store import ScoreContext, data_fingerprint, options_fingerprint

    x, y = data
    values = {  # everything but the batch and the seed that changes a score
        "lswag_band": None if lswag_band is None else list(lswag_band),
        "options": options or {},
        "dtype": dtype,
        "num_classes": int(num_classes),
        "device": torch.device(device).type,
    }
    if size_prior is not None and tuple(size_prior) != (1.5, 1.5):  # absent for NB201's prior
        values["reg_swap_prior"] = [float(size_prior[0]), float(size_prior[1])]
    if n_inits != 1:  # absent for one init: stores written before n_inits still match
        values["n_inits"] = int(n_inits)
    context = ScoreContext(
        space=repr(space),
        data_fp=data_fingerprint(x, y),
        seed=int(seed),
        version=__version__,
        options_fp=options_fingerprint(values),
    )
    data_desc = {"x_shape": list(x.shape), "x_dtype": str(x.dtype), "y_shape": list(y.shape)}
    return context, {context.options_fp: ("options", values), context.data_fp: ("data", data_desc)}
