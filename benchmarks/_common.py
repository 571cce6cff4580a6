"""Shared helpers of every benchmark study (``python -m benchmarks list`` names them).

- where results and caches live: results files in ``benchmarks/results`` (or
  ``$LIBRANAS_BENCH_RESULTS``), resumable caches in ``benchmarks/data`` (or
  ``$LIBRANAS_BENCH_CACHE``; ``benchmarks/data/MANIFEST.md`` says what produced each file);
  a ``--quick`` run points both at a scratch folder, so it never touches either;
- :func:`write_results`, the one writer of a results file: it stamps the commit and refuses
  (or, when allowed, marks loudly) a full results file made with uncommitted code;

- the three NAS-Bench-201 tasks of NAS-Bench-Suite-Zero with their real image batches;
- a fixed random order of the table's cells, so that any prefix is a random subset (a run
  stopped early still measures a random sample of the table);
- building a cell at initialisation exactly as :class:`libranas.ProxyFeaturizer` does
  (seed derived from the architecture, :func:`libranas.featurizer.arch_seed`);
- an append-only per-cell CSV cache, so that every script can be stopped and resumed.
"""

from __future__ import annotations

import csv
import math
import os
import platform
import subprocess
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

ROOT = Path(__file__).resolve().parent
#: results files (markdown / CSV / JSON reports) of full runs
RESULTS = Path(os.environ.get("LIBRANAS_BENCH_RESULTS") or ROOT / "results")
#: resumable caches (per-cell scores, per-run records): optional, a study without them
#: recomputes; see data/MANIFEST.md
CACHE = Path(os.environ.get("LIBRANAS_BENCH_CACHE") or ROOT / "data")
#: set by ``python -m benchmarks run STUDY --quick``: a tiny subset, written to scratch
QUICK = os.environ.get("LIBRANAS_BENCH_QUICK") == "1"
#: the real data that is not bundled (image batches, source tables): the folder named by the
#: environment variable LIBRANAS_DATA, else shared/data next to the repository (the same
#: rule as tests/_data.py)
DATA = Path(os.environ.get("LIBRANAS_DATA") or ROOT.parents[1] / "shared" / "data")
IMAGES = DATA / "images"
BATCH = 64
BATCH_SEED = 0  # which 64 of the 960 images (load_image_batch random_state)
INIT_SEED = 0  # random_state of arch_seed: one init per cell, seed from the architecture
ORDER_SEED = 0  # the random order in which cells are scored


@dataclass(frozen=True)
class Task:
    name: str  # "cifar10", "cifar100", "imagenet16-120"
    benchmark: str  # libranas.datasets benchmark name
    images: str  # .npz file under IMAGES
    num_classes: int
    fold_labels: bool  # ImageNet16 file has 1000-class labels: y % 120

    def describe_batch(self) -> str:
        text = (
            f"{BATCH} real images drawn from `{self.images}` "
            f"(`load_image_batch(n={BATCH}, random_state={BATCH_SEED})`, NB201 normalisation)"
        )
        if self.fold_labels:
            text += (
                "; the file's labels are 1000-class downsampled-ImageNet labels, folded to "
                f"`y % {self.num_classes}` (`fold_labels=True`), so they are not the "
                "ImageNet16-120 classes"
            )
        return text


TASKS: dict[str, Task] = {
    "cifar10": Task("cifar10", "nb201-cifar10", "cifar10_960_uint8.npz", 10, False),
    "cifar100": Task("cifar100", "nb201-cifar100", "cifar100_960_uint8.npz", 100, False),
    "imagenet16-120": Task(
        "imagenet16-120", "nb201-imagenet16-120", "imagenet16_960_uint8.npz", 120, True
    ),
}


def parse_tasks(names: Sequence[str]) -> list[Task]:
    out = []
    for n in names:
        if n not in TASKS:
            raise SystemExit(f"unknown task {n!r}; known: {sorted(TASKS)}")
        out.append(TASKS[n])
    return out


def setup_torch(threads: int) -> None:
    import torch

    if threads < 1:
        raise SystemExit(f"--threads must be >= 1, got {threads}")
    torch.set_num_threads(threads)
    warnings.filterwarnings("ignore", message=".*non-finite proxy values.*")


def load_table(task: Task):
    """The task's NAS-Bench-Suite-Zero table alone: its own proxy columns, without the
    libranas columns ``load_benchmark`` merges by default (the studies compare with it)."""
    from libranas.datasets import NonFiniteValuesWarning, load_benchmark

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonFiniteValuesWarning)
        return load_benchmark(task.benchmark, libranas_proxies=False)


def load_batch(task: Task):
    """The fixed real batch of the task as torch tensors ``(x, y)``."""
    import torch

    from libranas.datasets import load_image_batch

    x, y = load_image_batch(
        IMAGES / task.images,
        n=BATCH,
        num_classes=task.num_classes,
        fold_labels=task.fold_labels,
        random_state=BATCH_SEED,
    )
    return torch.as_tensor(x), torch.as_tensor(y)


def cell_order(keys: Iterable[str], seed: int = ORDER_SEED) -> list[str]:
    """The table's keys in a fixed random order (sorted first: independent of file order)."""
    keys = sorted(keys)
    perm = np.random.default_rng(seed).permutation(len(keys))
    return [keys[i] for i in perm]


def init_seed(arch: Any, random_state: int = INIT_SEED) -> int:
    """The featurizer's per-architecture seed (a function of the canonical cell only)."""
    from libranas.featurizer import arch_seed
    from libranas.spaces import get_space

    return arch_seed(get_space("nb201").validate(arch), random_state)


def build(arch: Any, num_classes: int, seed: int):
    """The untrained NB201 network of ``arch`` under ``seed`` (as ProxyFeaturizer builds it)."""
    import torch

    from libranas.spaces import get_space

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return get_space("nb201").build(arch, num_classes=num_classes)


# ------------------------------------------------------------------------ per-cell cache


class CellCache:
    """Append-only CSV of per-cell results keyed by ``key_cols`` (resumable runs).

    Rows are appended and flushed one at a time; a run killed mid-write leaves at most a
    truncated last line, which :meth:`load` drops (it would have a wrong field count).
    """

    def __init__(self, path: Path, columns: Sequence[str], key_cols: Sequence[str]) -> None:
        self.path = Path(path)
        self.columns = list(columns)
        self.key_cols = list(key_cols)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            with self.path.open() as fh:
                header = next(csv.reader(fh), None)
            if header is not None and header != self.columns:
                raise SystemExit(
                    f"{self.path}: cached columns {header} differ from {self.columns}; "
                    "move the file away to recompute"
                )

    def load(self) -> pd.DataFrame:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return pd.DataFrame(columns=self.columns)
        rows = []
        with self.path.open(newline="") as fh:
            reader = csv.reader(fh)
            next(reader, None)
            for row in reader:
                if len(row) == len(self.columns):
                    rows.append(row)
        df = pd.DataFrame(rows, columns=self.columns)
        for c in df.columns:
            conv = pd.to_numeric(df[c], errors="coerce")
            if conv.notna().sum() == df[c].replace("", np.nan).notna().sum():
                df[c] = conv
        return df.drop_duplicates(self.key_cols, keep="last").reset_index(drop=True)

    def done(self) -> set[tuple]:
        df = self.load()
        return set(map(tuple, df[self.key_cols].astype(str).to_numpy().tolist()))

    def append(self, row: dict[str, Any]) -> None:
        new = not self.path.exists() or self.path.stat().st_size == 0
        with self.path.open("a", newline="") as fh:
            w = csv.writer(fh)
            if new:
                w.writerow(self.columns)
            w.writerow([_fmt(row.get(c, "")) for c in self.columns])
            fh.flush()


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "nan" if math.isnan(v) else repr(v)
    if isinstance(v, np.ndarray):
        return " ".join(repr(float(x)) for x in v)
    return str(v)


def parse_vec(text: Any) -> np.ndarray:
    if isinstance(text, float) and math.isnan(text):
        return np.array([])
    return np.array([float(t) for t in str(text).split()], dtype=float)


# ------------------------------------------------------------------------ statistics


def spearman(a: Any, b: Any) -> tuple[float, int]:
    """Spearman rho over the pairs where both are finite, and that count."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3:
        return float("nan"), int(ok.sum())
    return float(stats.spearmanr(a[ok], b[ok]).statistic), int(ok.sum())


def kendall(a: Any, b: Any) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3:
        return float("nan")
    return float(stats.kendalltau(a[ok], b[ok]).statistic)


def bootstrap_rho(a: Any, b: Any, n_boot: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    """Std and the 2.5 / 97.5 percentiles of Spearman rho over bootstrap resamples of cells."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    if a.size < 3:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    out = np.empty(n_boot)
    for k in range(n_boot):
        idx = rng.integers(0, a.size, a.size)
        out[k] = stats.spearmanr(a[idx], b[idx]).statistic
    return (
        float(np.nanstd(out)),
        float(np.nanpercentile(out, 2.5)),
        float(np.nanpercentile(out, 97.5)),
    )


def evaluated_archs(storage: Any) -> list[str]:
    """The distinct architectures a search scored, in order (read back from its storage)."""
    seen: dict[str, None] = {}
    for study in storage.studies():
        for record in storage.read(study):
            for ev in record.get("evaluations", []):
                if ev.get("status") == "new" and ev.get("score") is not None:
                    seen.setdefault(ev["arch"], None)
    return list(seen)


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            if line.startswith("Model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], capture_output=True, text=True, check=False, cwd=ROOT
        ).stdout.strip()
    except OSError:
        return ""


def git_commit() -> str:
    """Short hash of HEAD ("" outside a git checkout)."""
    return _git("rev-parse", "--short", "HEAD")


def code_version() -> str:
    """The code a result comes from, for a results file: the short hash of HEAD, with
    ``+dirty`` when ``libranas/`` or ``benchmarks/`` (results aside) have uncommitted
    changes; ``unknown`` outside a git checkout."""
    head = git_commit()
    if not head:
        return "unknown"
    return head + ("+dirty" if uncommitted_code() else "")


def uncommitted_code() -> list[str]:
    """The files of ``libranas/`` and ``benchmarks/`` (results and caches aside) that differ
    from HEAD, as ``git status --porcelain`` lines."""
    excluded = [f":(exclude){d}" for d in ("results", "data", "_quick")]
    proc = subprocess.run(
        ["git", "status", "--porcelain", "--", "../libranas", ".", *excluded],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if proc.returncode != 0:  # a failing check must not pass for a clean tree
        raise SystemExit(f"cannot tell whether the code is committed: {proc.stderr.strip()}")
    return [line for line in proc.stdout.splitlines() if line.strip()]


#: marks a results file written from uncommitted code (only with LIBRANAS_BENCH_ALLOW_DIRTY=1)
DIRTY_BANNER = (
    "> **WARNING: made with UNCOMMITTED code** (`{version}`); these numbers cannot be traced "
    "to a commit. Regenerate from a clean checkout before citing them.\n\n"
)


def write_results(path: Path, text: str) -> Path:
    """Write a results file; the one place every study writes its report through.

    A full run (not ``--quick``) must be made at a clean commit: with uncommitted changes
    to ``libranas/`` or ``benchmarks/`` it stops with an error naming them, unless
    ``LIBRANAS_BENCH_ALLOW_DIRTY=1``, and then the file opens with a loud warning. Every
    file gets a last line naming the commit (``<!-- made at commit ... -->`` for markdown).
    """
    path = Path(path)
    version = code_version()
    dirty = version.endswith("+dirty")
    if dirty and not QUICK:
        if os.environ.get("LIBRANAS_BENCH_ALLOW_DIRTY") != "1":
            changed = "\n  ".join(uncommitted_code()[:20])
            raise SystemExit(
                f"refusing to write {path.name}: libranas/ or benchmarks/ has uncommitted "
                f"changes (a results file must name the commit it was made at):\n  {changed}\n"
                "commit them first, or set LIBRANAS_BENCH_ALLOW_DIRTY=1 to write a file "
                "marked as made from uncommitted code"
            )
        if path.suffix == ".md":
            text = DIRTY_BANNER.format(version=version) + text
    stamp = f"made at commit {version}" + (" (--quick run: tiny subset)" if QUICK else "")
    if path.suffix == ".md":
        text = text.rstrip("\n") + f"\n\n<!-- {stamp} -->\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path} ({stamp})", flush=True)
    return path


def t_interval(d: pd.Series) -> tuple[float, float, float]:
    """Mean of ``d`` (NaN dropped) and its 95% t-interval; NaNs with fewer than two values."""
    from scipy import stats

    d = d.dropna()
    if len(d) < 2:
        return float("nan"), float("nan"), float("nan")
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    return float(d.mean()), float(d.mean() - half), float(d.mean() + half)


def paired_interval(a: pd.Series, b: pd.Series) -> str:
    """``mean(a - b) [95% t-interval] (pairs)`` over the index both have (splits, seeds);
    ``n/a`` with fewer than two pairs."""
    d = (a - b).dropna()
    if len(d) < 2:
        return "n/a"
    mean, lo, hi = t_interval(d)
    return f"{mean:+.3f} [{lo:+.3f}, {hi:+.3f}] ({len(d)})"


def mean_sd(v: pd.Series) -> str:
    """``mean ± sd`` (3 decimals); the mean alone for a single value."""
    return f"{v.mean():.3f} ± {v.std(ddof=1):.3f}" if len(v) > 1 else f"{v.mean():.3f}"


def load_runs(path: Path, key: Sequence[str]) -> pd.DataFrame:
    """A cache of runs (empty with the ``key`` columns when there is none yet), refused when
    it holds a run twice: a mean of two would hide it."""
    if not Path(path).exists():
        return pd.DataFrame(columns=list(key))
    df = pd.read_csv(path)
    twice = df[df.duplicated(list(key), keep=False)]
    if not twice.empty:
        raise SystemExit(
            f"{Path(path).name} holds {len(twice)} rows of the same runs twice, e.g. "
            f"{twice.iloc[0][list(key)].to_dict()}: remove one of each"
        )
    return df


def fmt(v: float, digits: int = 3) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


# ------------------------------------------- zero-label helpers shared by several studies
# (zero_label.py and nb301_inits.py both use them; here so neither imports the other)

#: AZ-NAS's four proxies as ``--proxies`` lists them (libranas.proxies.aznas.AZNAS_PROXIES
#: and TRAINING_FREE_SEARCH_DEFAULT, not imported here to keep torch out of this script)
AZNAS_SET = ("az_expressivity", "az_progressivity", "az_trainability", "az_complexity")

#: what select_search picks (checked in the report): the ranking default plus az_progressivity
SEARCH_RULE_SET = ("az_expressivity", "az_progressivity", "az_trainability", "params", "zico")


def log_ranks(table: pd.DataFrame) -> pd.DataFrame:
    """Per column, the log-rank score of that column alone (``ZCRanker("log-rank")`` on one
    column); the log-rank of a set is the NaN-mean of its columns' (what ZCRanker computes)."""
    from libranas import ZCRanker

    out = {}
    for c in table.columns:
        col = table[[c]]
        out[c] = ZCRanker("log-rank").fit(col).predict(col)
    return pd.DataFrame(out, index=table.index)


def rho_last(score: np.ndarray, y: np.ndarray) -> float:
    """Spearman rho with an unscored architecture (every proxy failed) ranked last."""
    from scipy.stats import spearmanr

    s = np.where(np.isnan(score), -np.inf, score)
    return float(spearmanr(s, y).statistic)


# ------------------------------------------------ the tables and features studies share

#: NAS-Bench-Suite-Zero's 12 proxies (the bundled tables' own columns)
SUITE_ZERO_PROXIES = (
    "epe_nas",
    "fisher",
    "flops",
    "grad_norm",
    "grasp",
    "jacov",
    "l2_norm",
    "nwot",
    "params",
    "plain",
    "snip",
    "synflow",
)
NB201_TABLES = ("nb201-cifar10", "nb201-cifar100", "nb201-imagenet16-120")
TNB101_MICRO_TABLES = (
    "tnb101-micro-autoencoder",
    "tnb101-micro-class_object",
    "tnb101-micro-class_scene",
    "tnb101-micro-jigsaw",
    "tnb101-micro-normal",
    "tnb101-micro-room_layout",
    "tnb101-micro-segmentsemantic",
)
#: the 100 trained AutoFormer-Tiny subnets of Auto-Prox and their targets
AUTOFORMER_GT = DATA / "autoformer" / "autoprox" / "gt_autoformer.json"
AUTOFORMER_TARGETS = [
    "c100_base_acc",
    "c100_kd_acc",
    "flower_base_acc",
    "flower_kd_acc",
    "chaoyang_base_acc",
    "chaoyang_kd_acc",
    "imagenet_super_acc",
]


def quiet_benchmark(name: str, libranas_proxies: Any = False) -> Any:
    """``load_benchmark(name, libranas_proxies=...)`` without the loader's warnings (the
    tables' NaN cells, reported where they matter)."""
    from libranas.datasets import load_benchmark

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_benchmark(name, libranas_proxies=libranas_proxies)


def table_with_arch_features(
    name: str, groups: Sequence[str] = ("graph", "onehot")
) -> tuple[pd.DataFrame, np.ndarray, dict[str, list[str]]]:
    """A bundled table's NAS-Bench-Suite-Zero proxies next to ``ArchFeaturizer`` columns of
    every group in ``groups``: ``(X, y, columns of each group)`` (``"proxies"`` first)."""
    from libranas import ArchFeaturizer

    bench = quiet_benchmark(name)
    parts, columns = [bench.X], {"proxies": list(bench.X.columns)}
    for group in groups:
        feats = ArchFeaturizer(bench.space, features=[group]).fit(bench.X.index)
        cols = [str(c) for c in feats.get_feature_names_out()]
        parts.append(pd.DataFrame(feats.transform(bench.X.index), bench.X.index, cols))
        columns[group] = cols
    return pd.concat(parts, axis=1), bench.y.to_numpy(dtype=float), columns


def autoformer_proxies(target: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Every proxy computed on the 100 AutoFormer-Tiny subnets (``lswag_autoformer.csv`` of
    the results, joined with ``lswag_vit_autoformer.csv`` of the caches) and ``target``."""
    import json

    from libranas.proxies import list_proxies

    main = pd.read_csv(RESULTS / "lswag_autoformer.csv").set_index("index")
    extra = pd.read_csv(CACHE / "lswag_vit_autoformer.csv").set_index("index")
    names = [p for p in list_proxies() if p in main.columns or p in extra.columns]
    table = main.join(extra.drop(columns=["arch", "seconds", "errors"]), how="inner")[names]
    gt = json.loads(AUTOFORMER_GT.read_text())
    y = np.array([g[target] for g in gt], dtype=float)[table.index.to_numpy()]
    return table.astype(float), y


def nb201_proxy_costs() -> pd.Series:
    """Median CPU seconds per NB201 CIFAR-10 cell of every proxy alone (one thread), from
    ``proxy_tables.py --cost``."""
    df = pd.read_csv(CACHE / "proxy_tables" / "cost.csv")
    df = df[
        (df["benchmark"] == "nb201-cifar10")
        & (df["setting"] == "full")
        & (df["what"] == df["proxies"])
    ]
    return df.groupby("what")["cpu_seconds"].median()
