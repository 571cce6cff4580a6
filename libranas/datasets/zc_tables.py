"""Reading NAS-Bench-Suite-Zero zero-cost tables into a :class:`Benchmark`."""

from __future__ import annotations

import gzip
import json
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from libranas._warnings import user_stacklevel

# file-name fragment -> search-space name, for files that do not say their space
_SPACE_FROM_FILENAME = {
    "nasbench201": "nb201",
    "nasbench301": "nb301",
    "nasbench101": "nb101",
    "transbench101_micro": "tnb101-micro",
    "transbench101_macro": "tnb101-macro",
}
_SPACE_ALIASES = {
    "nasbench201": "nb201",
    "nasbench301": "nb301",
    "nasbench101": "nb101",
    "transbench101_micro": "tnb101-micro",
    "transbench101_macro": "tnb101-macro",
}


class NonFiniteValuesWarning(UserWarning):
    """Non-finite values in a table were kept as NaN (filter it like any warning)."""


_NON_PROXY_KEYS = {"idx", "arch", "val_accuracy", "test_accuracy", "train_time"}


@dataclass
class Benchmark:
    """A benchmark table: zero-cost proxy scores and accuracies of architectures.

    Attributes
    ----------
    name : str
        Registry name (``"nb201-cifar10"``) or the file it was read from.
    space : str
        Search space of the architectures (``"nb201"``, ``"nb301"``, ``"tnb101-micro"``).
    task : str
        Dataset / task the accuracies belong to.
    X : pandas.DataFrame
        One float64 column per proxy, one row per architecture, index = architecture
        keys exactly as in the source. Non-finite source values are NaN (never replaced).
    y : pandas.Series
        The target (see ``target``), same index as ``X``.
    target : str
        What ``y`` is (which accuracy, how many seeds, which split).
    meta : pandas.DataFrame
        Extra per-architecture columns that are not proxies (test accuracies, hardware
        latency, NB201 index, ...); may have no columns.
    source : str
        Where the data comes from (paper, repository, license).
    """

    name: str
    space: str
    task: str
    X: pd.DataFrame
    y: pd.Series
    target: str = "val_accuracy"
    meta: pd.DataFrame = field(default_factory=pd.DataFrame)
    source: str = ""

    def __post_init__(self) -> None:
        if len(self.meta.columns) == 0 and len(self.meta.index) == 0:
            self.meta = pd.DataFrame(index=self.X.index)
        if not self.X.index.equals(self.y.index):
            raise ValueError(f"{self.name}: X and y must have the same index (architectures)")

    @property
    def archs(self) -> list[Any]:
        """Architecture keys, in row order."""
        return list(self.X.index)

    @property
    def proxies(self) -> list[str]:
        """Proxy (column) names."""
        return list(self.X.columns)

    def non_finite(self) -> pd.Series:
        """Number of NaN proxy values per column (non-finite source values are NaN)."""
        return self.X.isna().sum()

    def __len__(self) -> int:
        return len(self.X)

    def __repr__(self) -> str:
        return (
            f"Benchmark(name={self.name!r}, space={self.space!r}, task={self.task!r}, "
            f"n_archs={len(self)}, proxies={self.proxies})"
        )


def _open_json(path: str | os.PathLike) -> Any:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"zero-cost table {str(path)!r} does not exist")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            return json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as exc:
        raise ValueError(f"{str(path)!r} is not a JSON zero-cost table: {exc}") from exc


def _is_record(value: Any) -> bool:
    return isinstance(value, dict) and "val_accuracy" in value


def _layout(data: Any, path: str) -> str:
    """'task' for {task: {arch: record}}, 'space' for {space: {task: {arch: record}}}."""
    if not isinstance(data, dict) or not data:
        raise ValueError(f"{path!r}: unknown layout (top level is not a non-empty object)")
    first = next(iter(data.values()))
    if isinstance(first, dict) and first:
        second = next(iter(first.values()))
        if _is_record(second):
            return "task"
        if isinstance(second, dict) and second and _is_record(next(iter(second.values()))):
            return "space"
    raise ValueError(
        f"{path!r}: unknown layout; expected NAS-Bench-Suite-Zero "
        "{task: {arch: {'val_accuracy': ..., proxy: {'score': ...}}}} or "
        "{space: {task: {arch: {proxy: score, 'val_accuracy': ...}}}}"
    )


def _space_from_filename(path: str) -> str:
    name = Path(path).name
    for fragment, space in _SPACE_FROM_FILENAME.items():
        if fragment in name:
            return space
    return "unknown"


def list_tasks(path: str | os.PathLike) -> list[str]:
    """Tasks in a NAS-Bench-Suite-Zero JSON file (either layout).

    For the ``{space: {task: ...}}`` layout the tasks are returned as ``"space/task"``
    only when the file holds several spaces; otherwise as plain task names.

    Examples
    --------
    >>> from libranas.datasets import bundled_path, list_tasks
    >>> list_tasks(bundled_path("zc_nasbench201.json.gz"))
    ['ImageNet16-120', 'cifar10', 'cifar100']
    """
    data = _open_json(path)
    if _layout(data, str(path)) == "task":
        return sorted(data)
    if len(data) == 1:
        return sorted(next(iter(data.values())))
    return sorted(f"{space}/{task}" for space, tasks in data.items() for task in tasks)


#: the score NASLib (NAS-Bench-Suite-Zero) writes when a proxy failed on an architecture
FAILURE_SENTINEL = -1e8


def _score(value: Any, arch: str, key: str, path: str) -> float:
    """One proxy score as a float; None is missing (NaN); anything but a number is an error.

    JSON ``true`` / ``false`` and strings (even ``"1.5"``) are refused: ``float()`` would
    turn them into numbers that no proxy computed.
    """
    if isinstance(value, dict):
        if "score" not in value:
            raise ValueError(f"{path!r}: proxy {key!r} of {arch!r} has no 'score' field")
        value = value["score"]
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(
            f"{path!r}: proxy {key!r} of architecture {arch!r} is not a number: "
            f"{value!r} ({type(value).__name__})"
        )
    return float(value)


def load_zc_table(
    path: str | os.PathLike, task: str, *, space: str | None = None, name: str | None = None
) -> Benchmark:
    """Read one task of a NAS-Bench-Suite-Zero zero-cost JSON file (``.json`` or ``.json.gz``).

    Both published layouts are understood:
    ``{task: {arch: {"idx", "arch", "val_accuracy", <proxy>: {"score", "time"}}}}`` and the
    older ``{space: {task: {arch: {<proxy>: score, "val_accuracy": a}}}}``.

    Parameters
    ----------
    path : path-like
        The JSON file.
    task : str
        Task name (see :func:`list_tasks`); ``"space/task"`` selects a space in old-layout
        files holding several.
    space : str, optional
        Search-space name to record; inferred from the file (name or layout) by default.
    name : str, optional
        Name to give the benchmark; defaults to the file name and task.

    Returns
    -------
    Benchmark
        ``X`` holds every proxy present for all architectures of the task (float64,
        non-finite values as NaN, counted by :meth:`Benchmark.non_finite` and reported with
        a warning), ``y`` the ``val_accuracy`` values, ``meta`` the NB index when present.
        NASLib's failure value ``-1e8`` (:data:`FAILURE_SENTINEL`, written where a proxy
        raised, e.g. epe_nas on most TransNAS-Bench-101 tasks) is read as missing (NaN);
        the warning says how many per proxy.

    Raises
    ------
    ValueError
        Unknown layout, unknown task (the known ones are listed), missing or non-finite
        ``val_accuracy``, non-numeric scores (JSON booleans and strings included; the
        message names the architecture and the proxy), or proxies present for only some
        architectures.

    Examples
    --------
    >>> from libranas.datasets import bundled_path, load_zc_table
    >>> b = load_zc_table(bundled_path("zc_nasbench201.json.gz"), "cifar10")
    >>> b.X.shape, b.space
    ((724, 12), 'nb201')
    """
    spath = str(path)
    records, task, inferred_space = _task_records(_open_json(path), task, spath)
    archs = list(records)
    rows, proxy_names, y, idx, failed = _read_records(records, task, spath)
    X = pd.DataFrame(rows, index=pd.Index(archs, name="arch"), columns=proxy_names, dtype=float)
    X = X.where(np.isfinite(X.to_numpy()))  # +-inf -> NaN, reported below
    bench = Benchmark(
        name=name or f"{Path(spath).name}:{task}",
        space=space or inferred_space,
        task=task,
        X=X,
        y=pd.Series(y, index=X.index, name="val_accuracy"),
        target="val_accuracy as stored in the NAS-Bench-Suite-Zero table",
        meta=pd.DataFrame({"idx": idx}, index=X.index)
        if any(i is not None for i in idx)
        else pd.DataFrame(index=X.index),
        source=spath,
    )
    _warn_non_finite(bench, failed)
    return bench


def _task_records(data: Any, task: str, spath: str) -> tuple[dict[str, Any], str, str | None]:
    """The records of ``task`` in either layout, the bare task name and the space inferred
    from the file (its name, or the old layout's space key)."""
    layout = _layout(data, spath)
    if layout == "task":
        tasks = data
        inferred_space = _space_from_filename(spath)
    else:
        if "/" in task:
            space_key, task = task.split("/", 1)
        elif len(data) == 1:
            space_key = next(iter(data))
        else:
            raise ValueError(
                f"{spath!r} holds several spaces {sorted(data)}; pass task as 'space/task'"
            )
        if space_key not in data:
            raise ValueError(f"{spath!r}: unknown space {space_key!r}; known: {sorted(data)}")
        tasks = data[space_key]
        inferred_space = _SPACE_ALIASES.get(space_key, space_key)
    if task not in tasks:
        raise ValueError(f"{spath!r}: unknown task {task!r}; known tasks: {sorted(tasks)}")
    records = tasks[task]
    if not isinstance(records, dict) or not records:
        raise ValueError(f"{spath!r}: task {task!r} holds no architectures")
    return records, task, inferred_space


def _read_records(
    records: dict[str, Any], task: str, spath: str
) -> tuple[list[list[float]], list[str] | None, np.ndarray, list[Any], dict[str, int]]:
    """Proxy rows (failure sentinels as NaN), proxy names, accuracies, NB indices and the
    count of failure sentinels per proxy; every architecture must have the same proxies."""
    proxy_names: list[str] | None = None
    rows: list[list[float]] = []
    failed: dict[str, int] = {}  # proxy -> architectures with the failure sentinel
    y = np.empty(len(records))
    idx: list[Any] = []
    for i, arch in enumerate(records):
        rec = records[arch]
        if not _is_record(rec):
            raise ValueError(f"{spath!r}: record of {arch!r} in {task!r} has no 'val_accuracy'")
        names = sorted(k for k in rec if k not in _NON_PROXY_KEYS)
        if proxy_names is None:
            proxy_names = names
        elif names != proxy_names:
            missing = sorted(set(proxy_names) ^ set(names))
            raise ValueError(
                f"{spath!r}: architecture {arch!r} in {task!r} does not have the same proxies "
                f"as the others (differs in {missing})"
            )
        row = [_score(rec[k], arch, k, spath) for k in names]
        for k, value in zip(names, row, strict=True):
            if value == FAILURE_SENTINEL:  # NASLib's "this proxy failed": missing, not a score
                failed[k] = failed.get(k, 0) + 1
        rows.append([math.nan if v == FAILURE_SENTINEL else v for v in row])
        acc = rec["val_accuracy"]
        if acc is None or not math.isfinite(float(acc)):
            raise ValueError(f"{spath!r}: val_accuracy of {arch!r} in {task!r} is {acc!r}")
        y[i] = float(acc)
        idx.append(rec.get("idx"))
    return rows, proxy_names, y, idx, failed


def _warn_non_finite(bench: Benchmark, failed: dict[str, int] | None = None) -> None:
    """One warning: the NaN count of each column, and how many were failure sentinels."""
    counts = bench.non_finite()
    counts = counts[counts > 0]
    if len(counts):
        detail = ", ".join(f"{k}: {v}" for k, v in counts.items())
        message = (
            f"{bench.name}: missing or non-finite proxy values kept as NaN ({detail} of "
            f"{len(bench)} architectures)"
        )
        if failed:
            total = sum(failed.values())
            which = ", ".join(f"{k}: {v}" for k, v in sorted(failed.items()))
            message += (
                f"; {total} of them were NASLib's failure value -1e8 ({which}), read as missing"
            )
        warnings.warn(message, NonFiniteValuesWarning, stacklevel=user_stacklevel())
