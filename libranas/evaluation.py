"""The evaluation protocol behind ``libranas evaluate`` and ``benchmarks/combination.py``.

Per benchmark and seed: draw ``n_labelled`` architectures, fit each method (proxy
selection and any learned model) on them only, and score the ranking of all the other
architectures with Spearman's rho and Kendall's tau. The paper's protocol (LIBRA's
selection made with the labels of every architecture, evaluated on the same ones) is
reported separately as ``paper-in-sample``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from libranas._evaluate_defaults import (  # noqa: F401 - re-exported
    FULL_SEEDS,
    QUICK_BENCHMARKS,
    QUICK_METHODS,
    QUICK_SEEDS,
)
from libranas._validation import check_int, rank_correlation
from libranas._warnings import user_stacklevel
from libranas.datasets import Benchmark
from libranas.ranker import ZCRanker
from libranas.selector import LibraSelector

#: method name -> factory(random_state, encoding columns) of an unfitted pipeline
METHODS: dict[str, Callable[[int, list[str]], Any]] = {
    "best-proxy": lambda seed, enc: Pipeline(
        [("select", LibraSelector(max_proxies=1, bias=None)), ("rank", ZCRanker("rank-mean"))]
    ),
    "libra+rank-mean": lambda seed, enc: Pipeline(
        [("select", LibraSelector()), ("rank", ZCRanker("rank-mean"))]
    ),
    "libra+xgboost": lambda seed, enc: Pipeline(
        [("select", LibraSelector()), ("rank", ZCRanker("xgboost", random_state=seed))]
    ),
    "xgboost-all": lambda seed, enc: ZCRanker("xgboost", random_state=seed),
    # beyond the paper: the learned ranker also sees the architecture's one-hot encoding
    "xgboost-all+encoding": lambda seed, enc: ZCRanker(
        "xgboost", passthrough=enc, random_state=seed
    ),
    # libranas' default ranker (ensemble) on the proxies, then also on the architecture's
    # graph features and one-hot (ArchFeaturizer)
    "ranker-all": lambda seed, enc: ZCRanker(random_state=seed),
    "ranker-all+graph": lambda seed, enc: ZCRanker(passthrough=enc, random_state=seed),
    # zero labels: the libranas-computed columns of the training-free default, fused by
    # log-rank; the labelled rows serve as the rank reference only (their y is not read)
    "training-free-default": lambda seed, enc: Pipeline(
        [
            ("columns", FunctionTransformer(training_free_columns)),
            ("rank", ZCRanker("log-rank")),
        ]
    ),
}
DEFAULT_METHODS = tuple(METHODS)
#: one line per method: what it is (the legend of ``libranas evaluate``)
METHOD_DESCRIPTIONS: dict[str, str] = {
    "best-proxy": "the one proxy best correlated on the labelled split (LIBRA's first pick)",
    "libra+rank-mean": "LIBRA's selection (up to 3 proxies, labelled split), mean of ranks",
    "libra+xgboost": "LIBRA's selection, then ZCRanker('xgboost') fitted on the labelled split",
    "xgboost-all": "ZCRanker('xgboost') on every proxy column",
    "xgboost-all+encoding": "ZCRanker('xgboost') on every proxy + the architecture's one-hot",
    "ranker-all": "ZCRanker() (default ensemble) on every proxy column",
    "ranker-all+graph": "ZCRanker() on every proxy + ArchFeaturizer graph features and one-hot",
    "training-free-default": "zero labels: log-rank fusion of the TRAINING_FREE_DEFAULT "
    "proxies (lib_* columns)",
    "paper-in-sample": "the paper's protocol: LIBRA selects with EVERY label, scored on the "
    "same architectures (in-sample, not comparable)",
}

#: methods that read the libranas-computed columns (skipped where a benchmark lacks them)
LIBRANAS_METHODS = ("training-free-default",)


def training_free_columns(X: pd.DataFrame) -> pd.DataFrame:
    """The ``lib_<proxy>`` columns of :data:`libranas.proxies.TRAINING_FREE_DEFAULT`.

    Raises
    ------
    ValueError
        ``X`` is not a DataFrame or lacks some of them (load the benchmark with
        ``libranas_proxies=TRAINING_FREE_DEFAULT`` where its table holds them).
    """
    from libranas.proxies import TRAINING_FREE_DEFAULT

    names = [f"lib_{p}" for p in TRAINING_FREE_DEFAULT]
    missing = [c for c in names if not hasattr(X, "columns") or c not in X.columns]
    if missing:
        raise ValueError(
            f"the training-free default needs the libranas columns {missing}; load the "
            "benchmark with load_benchmark(name, libranas_proxies=TRAINING_FREE_DEFAULT)"
        )
    return X[names]


#: method-name suffix -> ArchFeaturizer feature groups appended to the proxies
ARCH_SUFFIXES = {"+encoding": ("onehot",), "+graph": ("graph", "onehot")}


def with_arch_features(
    bench: Benchmark, features: tuple[str, ...] = ("onehot",)
) -> tuple[pd.DataFrame, list[str]] | None:
    """``bench.X`` with :class:`~libranas.ArchFeaturizer` columns appended, or None.

    Columns are named ``"<group>:<name>"`` (e.g. ``"onehot:1<-0:none"``,
    ``"graph:n_paths"``). None when the benchmark's space is not a registered
    :mod:`libranas.spaces` space or does not define the feature groups.
    """
    from libranas.arch_featurizer import ArchFeaturizer
    from libranas.spaces import list_spaces

    if bench.space not in list_spaces():
        return None
    try:
        feats = ArchFeaturizer(bench.space, features=features).fit(bench.archs)
    except ValueError:  # the space lacks a feature group
        return None
    names = [str(n) for n in feats.get_feature_names_out()]
    extra = pd.DataFrame(feats.transform(bench.archs), index=bench.X.index, columns=names)
    return pd.concat([bench.X, extra], axis=1), names


def _suffix(method: str) -> str | None:
    return next((s for s in ARCH_SUFFIXES if method.endswith(s)), None)


def _rank_scores(y_true: np.ndarray, y_score: np.ndarray) -> tuple[float, float, int]:
    """rho, tau over the architectures that got a finite score, and how many did not.

    A training-free fusion gives NaN to an architecture whose selected proxies are all
    missing; such rows are counted in ``n_unscored`` (reported), not silently dropped.
    """
    finite = np.isfinite(y_score)
    n_unscored = int((~finite).sum())
    if finite.sum() < 2:
        return float("nan"), float("nan"), n_unscored
    rho = rank_correlation(y_true[finite], y_score[finite], method="spearman")
    tau = rank_correlation(y_true[finite], y_score[finite], method="kendall")
    return rho, tau, n_unscored


def min_labelled(methods: Iterable[str] = DEFAULT_METHODS) -> int:
    """Fewest labelled architectures every method in ``methods`` can be fitted on.

    LibraSelector needs as many rows as its histogram bins (7 with Sturges' rule); the
    learned rankers need :data:`libranas.ranker.MIN_LEARNED_ROWS`.

    Examples
    --------
    >>> min_labelled(["xgboost-all"]), min_labelled()
    (4, 7)
    """
    from libranas.ranker import LEARNED_METHODS, MIN_LEARNED_ROWS

    need = 2
    for method in methods:
        if method not in METHODS:
            raise ValueError(f"unknown methods {[method]}; known: {sorted(METHODS)}")
        model = METHODS[method](0, [])
        steps = [s for _, s in model.steps] if isinstance(model, Pipeline) else [model]
        for step in steps:
            if isinstance(step, LibraSelector):
                need = max(need, step._min_rows())
            elif isinstance(step, ZCRanker) and step._resolved_method() in LEARNED_METHODS:
                need = max(need, MIN_LEARNED_ROWS)
    return need


def evaluate_benchmark(
    bench: Benchmark,
    *,
    n_labelled: int = 100,
    seeds: Iterable[int] = range(10),
    methods: Iterable[str] = DEFAULT_METHODS,
    in_sample: bool = True,
    progress: Callable[[], None] | None = None,
    n_jobs: int | None = None,
) -> pd.DataFrame:
    """Run the protocol on one benchmark.

    Methods ending in ``+encoding`` (proxies + one-hot) or ``+graph`` (proxies + graph
    features + one-hot) are skipped for benchmarks whose search space does not define those
    features in :mod:`libranas.spaces`; ``training-free-default`` (zero labels: the log-rank
    of :data:`libranas.proxies.TRAINING_FREE_DEFAULT`, the labelled rows used only as the
    rank reference) for benchmarks without those ``lib_*`` columns.

    Parameters
    ----------
    bench : Benchmark
    n_labelled : int, default=100
        Architectures drawn as the labelled set of each split.
    seeds : iterable of int, default=range(10)
        One split per seed (``numpy.random.default_rng(seed)`` draws the labelled set).
    methods : iterable of str
        Names in :data:`METHODS`.
    in_sample : bool, default=True
        Add the paper's in-sample protocol (``paper-in-sample``).
    progress : callable, optional
        Called after each split.
    n_jobs : int or None, default=None
        Splits run in parallel (joblib; None = 1). Every split is seeded, so the results
        do not depend on it.

    Returns
    -------
    pandas.DataFrame
        One row per (method, seed): ``benchmark, method, seed, n_labelled, n_evaluated,
        rho, tau, n_unscored, selected`` (``n_unscored``: evaluated architectures whose
        score was NaN, left out of rho and tau). ``paper-in-sample`` has seed -1 and
        evaluates on all rows.
    """
    methods = list(methods)
    _check_benchmark_args(bench, methods, n_labelled)
    extended = {
        suffix: with_arch_features(bench, groups)
        for suffix, groups in ARCH_SUFFIXES.items()
        if any(_suffix(m) == suffix for m in methods)
    }
    methods = _runnable_methods(bench, methods, extended)
    X, y = bench.X, bench.y.to_numpy()
    rows = _run_splits(bench.name, X, y, seeds, n_labelled, methods, extended, progress, n_jobs)
    if in_sample:
        rows.append(_in_sample_row(bench.name, X, y))
    return pd.DataFrame(rows)


def _check_benchmark_args(bench: Benchmark, methods: list[str], n_labelled: int) -> None:
    """The methods are known and ``n_labelled`` suits them and the benchmark's size."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown methods {unknown}; known: {sorted(METHODS)}")
    n = len(bench)
    check_int(n_labelled, "n_labelled")
    low = min_labelled(methods)
    if n_labelled < low:
        raise ValueError(
            f"n_labelled={n_labelled} is too few: the methods {methods} need at least {low} "
            "labelled architectures"
        )
    if n_labelled > n - 2:
        raise ValueError(
            f"n_labelled={n_labelled} must leave at least 2 of the {n} architectures of "
            f"{bench.name} for evaluation"
        )


def _runnable_methods(bench: Benchmark, methods: list[str], extended: dict[str, Any]) -> list[str]:
    """The methods that can run on ``bench``; a warning names the others."""
    asked = list(methods)
    # no such features for this space: those methods are not run
    methods = [m for m in methods if _suffix(m) is None or extended[_suffix(m)] is not None]
    # nor the zero-label method where the benchmark lacks the libranas columns it reads
    try:
        training_free_columns(bench.X)
    except ValueError:
        methods = [m for m in methods if m not in LIBRANAS_METHODS]
    skipped = [m for m in asked if m not in methods]
    if skipped:  # issue 25: a requested method that cannot run is named, not dropped silently
        warnings.warn(
            f"methods {skipped} cannot run on {bench.name} (its space has no such "
            "architecture features, or its table lacks the libranas columns they read); "
            "their column is absent",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    return methods


def _run_splits(
    name: str,
    X: pd.DataFrame,
    y: np.ndarray,
    seeds: Iterable[int],
    n_labelled: int,
    methods: list[str],
    extended: dict[str, Any],
    progress: Callable[[], None] | None,
    n_jobs: int | None,
) -> list[dict[str, Any]]:
    """One row per (method, seed), the seeds' splits run in parallel."""
    from joblib import Parallel, delayed

    jobs = (delayed(_one_seed)(name, X, y, seed, n_labelled, methods, extended) for seed in seeds)
    rows = []
    # seeds are independent and each is seeded, so results do not depend on n_jobs
    for seed_rows, messages in Parallel(n_jobs=n_jobs, return_as="generator")(jobs):
        rows.extend(seed_rows)
        for message in messages:  # warnings raised in a worker, re-raised here
            warnings.warn(message, UserWarning, stacklevel=user_stacklevel())
        if progress is not None:
            progress()
    return rows


def _in_sample_row(name: str, X: pd.DataFrame, y: np.ndarray) -> dict[str, Any]:
    """The paper's in-sample protocol: fitted and evaluated on every row."""
    n = len(X)  # len(bench)
    model = METHODS["libra+rank-mean"](0, []).fit(X, y)
    rho, tau, n_unscored = _rank_scores(y, model.predict(X))
    return {
        "benchmark": name,
        "method": "paper-in-sample",
        "seed": -1,
        "n_labelled": n,
        "n_evaluated": n,
        "rho": rho,
        "tau": tau,
        "n_unscored": n_unscored,
        "selected": _selected(model),
    }


def evaluate_transfer(
    source: Benchmark,
    target: Benchmark,
    *,
    ranker: str = "log-rank",
    n_labelled: int | None = None,
    seeds: Iterable[int] = (0,),
    columns: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Select proxies with the labels of ``source``, rank ``target`` with none of its labels.

    LIBRA's selection (:class:`~libranas.LibraSelector`) is fitted on the source's proxies
    and validation accuracies; the target is then ranked by a training-free fusion
    (``ZCRanker(ranker)``, fitted on the target's proxies without ``y``) of the selected
    proxies, each oriented by the sign of its correlation on the source, read from the
    target's columns of the same names. The target's labels are used only to score the
    ranking (Spearman's rho and Kendall's tau over all of its architectures).

    Parameters
    ----------
    source, target : Benchmark
        Both must hold the selected proxies under the same column names (for example the
        ``lib_<proxy>`` columns of ``load_benchmark(name, libranas_proxies=[...])``).
    ranker : {"log-rank", "rank-mean"}, default="log-rank"
    n_labelled : int or None, default=None
        Source architectures labelled per seed (drawn with
        ``numpy.random.default_rng(seed)``); None: every source architecture (one
        selection, seeds ignored).
    seeds : iterable of int, default=(0,)
    columns : iterable of str, optional
        The candidate columns of the source (default: every column that the target also
        has); the selection is made among them.

    Returns
    -------
    pandas.DataFrame
        One row per seed: ``source, target, seed, n_labelled, n_evaluated, selected, rho,
        tau, n_unscored``.

    Examples
    --------
    >>> from libranas.datasets import load_benchmark
    >>> src, tgt = load_benchmark("nb201-cifar10"), load_benchmark("nb201-cifar100")
    >>> r = evaluate_transfer(src, tgt)
    >>> int(r.loc[0, "n_evaluated"]), bool(r.loc[0, "rho"] > 0.5)
    (725, True)
    """
    from libranas.ranker import TRAINING_FREE_METHODS

    if ranker not in TRAINING_FREE_METHODS:
        raise ValueError(
            f"ranker must be a training-free fusion {TRAINING_FREE_METHODS} (the target's "
            f"labels are not used), got {ranker!r}"
        )
    candidates = _transfer_candidates(source, target, columns)
    n = len(source)
    if n_labelled is not None:
        check_int(n_labelled, "n_labelled", low=2)
        if n_labelled > n:
            raise ValueError(f"n_labelled={n_labelled} exceeds the {n} rows of {source.name}")
    X_src, y_src = source.X[candidates], source.y.to_numpy()
    rows = []
    for seed in [0] if n_labelled is None else list(seeds):
        rng = np.random.default_rng(seed)
        idx = np.arange(n) if n_labelled is None else rng.choice(n, n_labelled, replace=False)
        chosen, rho, tau, n_unscored = _transfer_split(X_src.iloc[idx], y_src[idx], target, ranker)
        rows.append(
            {
                "source": source.name,
                "target": target.name,
                "seed": seed if n_labelled is not None else -1,
                "n_labelled": n if n_labelled is None else n_labelled,
                "n_evaluated": len(target.y),
                "selected": "+".join(map(str, chosen)),
                "rho": rho,
                "tau": tau,
                "n_unscored": n_unscored,
            }
        )
    return pd.DataFrame(rows)


def _transfer_candidates(
    source: Benchmark, target: Benchmark, columns: Iterable[str] | None
) -> list[str]:
    """The source's candidate columns, each also a column of the target."""
    candidates = list(source.X.columns if columns is None else columns)
    missing = [c for c in candidates if c not in source.X.columns]
    if missing:
        raise ValueError(f"columns {missing} are not columns of {source.name}")
    if columns is None:
        candidates = [c for c in candidates if c in target.X.columns]
    else:
        absent = [c for c in candidates if c not in target.X.columns]
        if absent:
            raise ValueError(
                f"columns {absent} of {source.name} are not columns of {target.name}; "
                "the transfer reads the selected proxies from the target by name"
            )
    if not candidates:
        raise ValueError(
            f"{source.name} and {target.name} share no proxy column; load both with the "
            "same libranas_proxies, or pass columns"
        )
    return candidates


def _transfer_split(
    X_src: pd.DataFrame, y_src: np.ndarray, target: Benchmark, ranker: str
) -> tuple[list[Any], float, float, int]:
    """LIBRA's selection on the labelled source rows; the target ranked by the training-free
    fusion of the selected proxies: the selection, rho, tau and the unscored count."""
    selector = LibraSelector().fit(X_src, y_src)
    chosen = list(selector.selected_)
    # each proxy oriented as it correlates with the source's accuracy
    signs = [-1.0 if selector.correlations_[c] < 0 else 1.0 for c in chosen]
    fused = ZCRanker(ranker, signs=signs).fit(target.X[chosen])
    rho, tau, n_unscored = _rank_scores(target.y.to_numpy(), fused.predict(target.X[chosen]))
    return chosen, rho, tau, n_unscored


def summarize_transfer(results: pd.DataFrame) -> pd.DataFrame:
    """One row per (source, target) of :func:`evaluate_transfer` results: the most frequent
    selection, mean and std of rho and tau over the seeds, and the counts."""
    return _aggregate(results, ["source", "target"])


def _one_seed(
    name: str,
    X: pd.DataFrame,
    y: np.ndarray,
    seed: int,
    n_labelled: int,
    methods: list[str],
    extended: dict[str, Any],
) -> tuple[list[dict[str, Any]], list[str]]:
    """Every method on one split; the rows and the messages of the warnings raised."""
    n = len(y)
    rng = np.random.default_rng(seed)
    labelled = np.zeros(n, dtype=bool)
    labelled[rng.choice(n, size=n_labelled, replace=False)] = True
    rows = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for method in methods:
            suffix = _suffix(method)
            Xm, enc = extended[suffix] if suffix is not None else (X, [])
            model = METHODS[method](seed, enc).fit(Xm[labelled], y[labelled])
            rho, tau, n_unscored = _rank_scores(y[~labelled], model.predict(Xm[~labelled]))
            rows.append(
                {
                    "benchmark": name,
                    "method": method,
                    "seed": seed,
                    "n_labelled": n_labelled,
                    "n_evaluated": int((~labelled).sum()),
                    "rho": rho,
                    "tau": tau,
                    "n_unscored": n_unscored,
                    "selected": _selected(model),
                }
            )
    return rows, list(dict.fromkeys(str(w.message) for w in caught))


def _selected(model: Any) -> str:
    if isinstance(model, Pipeline) and "select" in model.named_steps:
        return "+".join(model.named_steps["select"].selected_)
    return "all"


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation of rho and tau per benchmark and method (wide table)."""
    return _aggregate(results, ["benchmark", "method"])


def _aggregate(results: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per group of ``keys``: mean and std of rho and tau over the seeds, the counts and the
    most frequent selection."""
    g = results.groupby(keys, sort=False)
    out = g.agg(
        rho_mean=("rho", "mean"),
        rho_std=("rho", "std"),
        tau_mean=("tau", "mean"),
        tau_std=("tau", "std"),
        n_seeds=("seed", "nunique"),
        n_labelled=("n_labelled", "first"),
        n_evaluated=("n_evaluated", "first"),
        n_unscored=("n_unscored", "max"),
        selected=("selected", lambda s: s.mode().iat[0]),
    )
    return out.reset_index()


def best_methods(summary: pd.DataFrame) -> pd.DataFrame:
    """Per benchmark, the method of :func:`summarize` output with the highest mean rho
    (``paper-in-sample`` left out: another protocol)."""
    same = summary[(summary["method"] != "paper-in-sample") & summary["rho_mean"].notna()]
    idx = same.groupby("benchmark", sort=False)["rho_mean"].idxmax()
    return same.loc[idx, ["benchmark", "method", "rho_mean", "rho_std"]].reset_index(drop=True)


def format_table(summary: pd.DataFrame, fmt: str = "markdown", *, spreads: bool = True) -> str:
    """Render :func:`summarize` output as markdown (one row per benchmark), csv or json.

    ``spreads=False`` (markdown only): mean rho alone in each cell; otherwise
    ``rho±std / tau±std``. A cell's ``(k unscored)``: evaluated architectures the method
    gave no finite score (left out of rho and tau).
    """
    if fmt == "csv":
        return summary.to_csv(index=False)
    if fmt == "json":
        return summary.to_json(orient="records", indent=2)
    if fmt != "markdown":
        raise ValueError(f"unknown format {fmt!r}; use 'markdown', 'csv' or 'json'")

    def cell(r: pd.Series) -> str:
        if not spreads:
            text = f"{r.rho_mean:.3f}"
        elif r["method"] == "paper-in-sample":
            text = f"{r.rho_mean:.3f} / {r.tau_mean:.3f}"
        else:
            text = f"{r.rho_mean:.3f}±{r.rho_std:.3f} / {r.tau_mean:.3f}±{r.tau_std:.3f}"
        if r.get("n_unscored", 0):
            text += f" ({int(r.n_unscored)} unscored)"
        return text

    methods = list(dict.fromkeys(summary["method"]))
    lines = [
        "| benchmark | " + " | ".join(methods) + " |",
        "|---|" + "---|" * len(methods),
    ]
    for bench, part in summary.groupby("benchmark", sort=False):
        by = {r["method"]: cell(r) for _, r in part.iterrows()}
        lines.append(f"| {bench} | " + " | ".join(by.get(m, "") for m in methods) + " |")
    return "\n".join(lines) + "\n"
