"""Few-label performance predictors: libranas' ranker next to the published ones.

Protocol (every number in the report): a bundled NAS-Bench-Suite-Zero table (its 12-13
proxy columns, ``load_benchmark(name, libranas_proxies=False)``), target = the table's
validation accuracy (``bench.y``); per split (seed) ``n`` architectures are drawn uniformly
as the labelled set, the predictor is fitted on them only and Spearman's rho / Kendall's tau
are computed on ALL the other architectures of the table. Feature sets:

- ``proxies``: the table's zero-cost proxy columns;
- ``proxies+onehot``: plus the space's one-hot encoding;
- ``proxies+graph+onehot``: plus :class:`libranas.ArchFeaturizer` graph features (GRAF-style)
  and one-hot -- the libranas default pipeline;
- ``graph+onehot``: the architecture alone, no proxies.

The predictor is ``ZCRanker()`` with its defaults (method ``"ensemble"``). Its
hyper-parameters were chosen with ``--dev`` on development splits (seeds 1000-1009) that are
not reported; the report uses seeds 0..29.

    python benchmarks/predictors.py --dev        # candidates on dev splits -> predictors_dev.md
    python benchmarks/predictors.py              # report splits -> predictors.md (resumable)
    python benchmarks/predictors.py --report-only

Runs are cached per (benchmark, feature set, n, seed, predictor) in
``benchmarks/data/predictors_runs.csv``; a stopped run resumes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

RUNS = C.CACHE / "predictors_runs.csv"
REPORT = C.RESULTS / "predictors.md"
DEV_REPORT = C.RESULTS / "predictors_dev.md"
RUN_COLS = [
    "benchmark", "features", "predictor", "n_labelled", "seed", "n_evaluated", "rho", "tau",
    "code",
]  # fmt: skip
#: the ``code`` of the rows made before the cache named its commits (at or before 3ce32bc).
#: Session 24 recomputed the rows ZCRanker's missing-value rule changes (code 4674f25); of
#: the others a random 60 reproduced at HEAD exactly (tests/test_benchmark_caches.py checks)
UNSTAMPED = "3ce32bc or earlier"

BENCHMARKS = [
    *C.NB201_TABLES,
    "nb301-cifar10",
    *C.TNB101_MICRO_TABLES,
]
FEATURE_SETS = ["proxies", "proxies+onehot", "proxies+graph+onehot", "graph+onehot"]
REPORT_SEEDS = range(30)
DEV_SEEDS = range(1000, 1010)
DEV_BENCHMARKS = [
    "nb201-cifar10",
    "nb301-cifar10",
    "tnb101-micro-jigsaw",
    "tnb101-micro-class_object",
]
#: sample sizes of the published comparisons (FLAN: 32/64/128), plus larger where the table is
SIZES = [32, 64, 100, 128, 256]
SIZE_BENCHMARKS = [
    "nb201-cifar10",
    "nb201-cifar100",
    "nb201-imagenet16-120",
    "nb301-cifar10",
    "tnb101-micro-class_scene",
]
#: graph-feature groups for the ablation (cell spaces), by feature-name rule
GRAPH_GROUPS = {
    "op counts": ("op_count", "op_on_path", "n_edges"),
    "path counts": ("n_paths", "param_free_paths"),
    "path lengths": ("min_len", "max_len", "param_free_min_len", "param_free_max_len"),
    "degrees": ("in_degree", "out_degree"),
    "depths": ("depth",),
}
_CELL_PARTS = ("graph", "normal", "reduce", "from1")
ABLATION_BENCHMARKS = ["nb201-cifar10", "nb301-cifar10", "tnb101-micro-jigsaw"]
ABLATION_SEEDS = range(10)
SIDE_SEEDS = range(10)  # side comparisons: other feature sets, n >= 256
if C.QUICK:  # `python -m benchmarks run predictors --quick`: one table, two sizes
    BENCHMARKS = SIZE_BENCHMARKS = ABLATION_BENCHMARKS = ["nb201-cifar10"]
    SIZES = [32, 100]
    GRAPH_GROUPS = dict(list(GRAPH_GROUPS.items())[:1])

# Published few-label predictors (Spearman, their own protocols: see ../shared/notes/ANCHORS.md)
PUBLISHED = [
    ("FLAN (GIN + ZC encodings, pretrained on unlabelled archs)", 128, {
        "nb201-cifar10": 0.953, "nb301-cifar10": 0.955, "tnb101-micro-class_scene": 0.926}),
    ("FLAN", 64, {"nb301-cifar10": 0.936, "tnb101-micro-class_scene": 0.892}),
    ("GRAF (graph features + ZC proxies, RF/XGB)", 1024, {
        "nb201-cifar10": 0.953, "nb201-cifar100": 0.948, "nb201-imagenet16-120": 0.941}),
    ("NB-Suite-Zero XGBoost, 13 proxies", 100, {"nb201-cifar10": 0.905}),
    ("NB-Suite-Zero XGBoost, 13 proxies + encoding", 1000, {
        "nb201-cifar10": 0.961, "nb301-cifar10": 0.705}),
]  # fmt: skip


def candidates() -> dict[str, dict]:
    """Predictors compared on the dev splits: name -> ZCRanker keyword arguments."""
    from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor

    return {
        "xgboost, previous defaults (300 rounds, depth 4, colsample 0.7)": dict(
            method="xgboost", n_estimators=300, max_depth=4, colsample_bytree=0.7
        ),
        "xgboost": dict(method="xgboost"),
        "xgboost-pairwise": dict(method="xgboost-pairwise"),
        "xgboost + monotone='auto'": dict(method="xgboost", monotone="auto"),
        "extra trees (300, max_features 0.3)": dict(
            estimator=ExtraTreesRegressor(n_estimators=300, max_features=0.3, random_state=0)
        ),
        "random forest (300, max_features 0.3)": dict(
            estimator=RandomForestRegressor(n_estimators=300, max_features=0.3, random_state=0)
        ),
        "ensemble (default)": dict(),
        "ensemble + monotone='auto'": dict(monotone="auto"),
    }


# --------------------------------------------------------------------------- data


_TABLES: dict[str, tuple[pd.DataFrame, np.ndarray, dict[str, list[str]]]] = {}


def table(name: str) -> tuple[pd.DataFrame, np.ndarray, dict[str, list[str]]]:
    """All columns of a benchmark (proxies, graph, onehot) and its column groups."""
    if name not in _TABLES:
        _TABLES[name] = C.table_with_arch_features(name, ("graph", "onehot"))
    return _TABLES[name]


def columns(name: str, features: str) -> list[str]:
    """Columns of a feature set; ``"...-<group>"`` drops a graph-feature group."""
    _X, _y, groups = table(name)
    base, _, dropped = features.partition("-")
    cols = [c for part in base.split("+") for c in groups[part]]
    if dropped:
        prefixes = GRAPH_GROUPS[dropped.replace("_", " ")]
        cols = [c for c in cols if not _in_group(c, prefixes)]
    return cols


def _in_group(column: str, prefixes: tuple[str, ...]) -> bool:
    """Is ``column`` a graph feature whose statistic (e.g. ``normal:from1:min_len``) is in
    the group?"""
    if not column.startswith("graph:"):
        return False
    stat = next((p for p in column.split(":") if p not in _CELL_PARTS), "")
    return stat.startswith(prefixes)


# --------------------------------------------------------------------------- runs


def one_run(name: str, features: str, predictor: str, n: int, seed: int, kwargs: dict) -> dict:
    from libranas import ZCRanker
    from libranas.metrics import kendall, spearman

    X, y, _groups = table(name)
    X = X[columns(name, features)]
    rng = np.random.default_rng(seed)
    labelled = np.zeros(len(y), dtype=bool)
    labelled[rng.choice(len(y), size=n, replace=False)] = True
    model = ZCRanker(random_state=seed, **kwargs).fit(X[labelled], y[labelled])
    scores = model.predict(X[~labelled])
    return {
        "benchmark": name,
        "features": features,
        "predictor": predictor,
        "n_labelled": n,
        "seed": seed,
        "n_evaluated": int((~labelled).sum()),
        "rho": spearman(y[~labelled], scores),
        "tau": kendall(y[~labelled], scores),
        "code": C.code_version(),
    }


def load_runs() -> pd.DataFrame:
    if RUNS.exists():
        return pd.read_csv(RUNS)
    return pd.DataFrame(columns=RUN_COLS)


def run_all(jobs: list[tuple], n_jobs: int) -> None:
    """Run the (benchmark, features, predictor, n, seed, kwargs) jobs not cached yet."""
    done = load_runs()
    have = set(
        zip(done.benchmark, done.features, done.predictor, done.n_labelled, done.seed, strict=True)
    )
    todo = [j for j in jobs if j[:5] not in have]
    print(f"{len(jobs) - len(todo)} of {len(jobs)} runs cached; running {len(todo)}", flush=True)
    start = time.perf_counter()
    for k in range(0, len(todo), 20):  # append every 20 runs: a stop loses little
        batch = todo[k : k + 20]
        rows = Parallel(n_jobs=n_jobs)(delayed(one_run)(*j) for j in batch)
        pd.DataFrame(rows, columns=RUN_COLS).to_csv(
            RUNS, mode="a", header=not RUNS.exists(), index=False
        )
        print(f"  {k + len(batch)}/{len(todo)} ({time.perf_counter() - start:.0f} s)", flush=True)


def report_jobs(quick: bool) -> list[tuple]:
    """30 splits for the claims (proxies alone and the default pipeline, n = 32/64/100/128),
    10 for the side comparisons (other feature sets, n = 256/512, the ablation)."""
    seeds = range(3) if quick else REPORT_SEEDS
    side = range(3) if quick else SIDE_SEEDS
    default = "ensemble (default)"
    jobs = []
    for b in BENCHMARKS:
        for f in FEATURE_SETS:
            use = seeds if f in ("proxies", "proxies+graph+onehot") else side
            jobs += [(b, f, default, 100, s, {}) for s in use]
    for b in SIZE_BENCHMARKS:
        n_rows = len(table(b)[1])
        for n in SIZES + ([512] if n_rows > 600 and b.startswith("nb201") else []):
            if n == 100:
                continue
            use = seeds if n <= 128 else side
            jobs += [(b, "proxies+graph+onehot", default, n, s, {}) for s in use]
    for b in ABLATION_BENCHMARKS:
        for g in GRAPH_GROUPS:
            key = "proxies+graph+onehot-" + g.replace(" ", "_")
            jobs += [(b, key, default, 100, s, {}) for s in side]
    return jobs


def dev_jobs() -> list[tuple]:
    return [
        (b, "proxies+graph+onehot", name, 100, s, kwargs)
        for b in DEV_BENCHMARKS
        for name, kwargs in candidates().items()
        for s in DEV_SEEDS
    ]


# --------------------------------------------------------------------------- reports


def _agg(runs: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return (
        runs.groupby(keys, sort=False)
        .agg(
            rho=("rho", "mean"),
            rho_sd=("rho", "std"),
            tau=("tau", "mean"),
            tau_sd=("tau", "std"),
            splits=("seed", "nunique"),
            n_evaluated=("n_evaluated", "first"),
        )
        .reset_index()
    )


def _cell(r: pd.Series) -> str:
    return f"{r.rho:.3f} ± {r.rho_sd:.3f} / {r.tau:.3f} ± {r.tau_sd:.3f}"


def header(title: str, protocol: str) -> list[str]:
    made = load_runs()["code"].fillna(UNSTAMPED).value_counts()
    return [
        f"# {title}",
        "",
        f"Generated by `python benchmarks/{Path(__file__).name}` at commit `{C.git_commit()}` "
        f"({C.code_version()}); machine: {C.cpu_name()}. Cache rows made at: "
        + ", ".join(f"{code} ({n})" for code, n in made.items())
        + ".",
        "",
        protocol,
        "",
    ]


def write_dev() -> None:
    runs = load_runs()
    runs = runs[runs.seed.isin(DEV_SEEDS) & runs.benchmark.isin(DEV_BENCHMARKS)]
    s = _agg(runs, ["benchmark", "predictor"])
    lines = header(
        "Predictor selection on development splits (not reported elsewhere)",
        "Benchmarks: " + ", ".join(DEV_BENCHMARKS) + ". Features: the table's proxies + "
        "ArchFeaturizer graph features + one-hot. 100 labelled architectures, all others "
        f"evaluated; splits = seeds {DEV_SEEDS.start}-{DEV_SEEDS.stop - 1} (the report uses "
        "0-29). Target: the table's validation accuracy. Cells: Spearman rho ± sd / "
        "Kendall tau ± sd over the splits. The default was chosen as the candidate with the "
        "best worst case over these benchmarks.",
    )
    preds = list(dict.fromkeys(s.predictor))
    lines += ["| predictor | " + " | ".join(DEV_BENCHMARKS) + " | mean rho | min rho |"]
    lines += ["|---|" + "---|" * (len(DEV_BENCHMARKS) + 2)]
    for p in preds:
        part = s[s.predictor == p].set_index("benchmark")
        cells = [_cell(part.loc[b]) if b in part.index else "" for b in DEV_BENCHMARKS]
        lines.append(
            f"| {p} | " + " | ".join(cells) + f" | {part.rho.mean():.3f} | {part.rho.min():.3f} |"
        )
    C.write_results(DEV_REPORT, "\n".join(lines) + "\n")


def write_report() -> None:
    runs = load_runs()
    runs = runs[runs.seed.isin(REPORT_SEEDS) & (runs.predictor == "ensemble (default)")]
    s = _agg(runs, ["benchmark", "features", "n_labelled"])
    lines = header(
        "Few-label predictors: proxies + architecture graph features",
        "Protocol: bundled NAS-Bench-Suite-Zero tables (their proxy columns only: "
        "`load_benchmark(name, libranas_proxies=False)`), target = the table's validation "
        "accuracy; per split `n` labelled architectures drawn uniformly (seed = split), "
        "`ZCRanker()` defaults (method `ensemble`) fitted on them only, Spearman rho / Kendall "
        "tau on all the other architectures. Cells: mean ± sd over the splits. Feature sets: "
        "`proxies` (the table's columns), `+onehot` (the space's encoding), `+graph` "
        "(`ArchFeaturizer` graph features, GRAF-style: op counts, input-output path counts and "
        "lengths per op type, degrees, depths). Hyper-parameters were chosen on other splits "
        "(predictors_dev.md).",
    )
    main = s[s.n_labelled == 100]
    lines += ["## 100 labelled architectures, 30 splits", ""]
    lines += ["| benchmark | evaluated | " + " | ".join(FEATURE_SETS) + " |"]
    lines += ["|---|---|" + "---|" * len(FEATURE_SETS)]
    full = "proxies+graph+onehot"
    for b in BENCHMARKS:
        part = main[main.benchmark == b].set_index("features")
        if part.empty:
            continue
        cells = [
            (f"**{_cell(part.loc[f])}**" if f == full else _cell(part.loc[f]))
            + ("" if part.loc[f].splits >= 30 else f" ({int(part.loc[f].splits)} splits)")
            if f in part.index
            else ""
            for f in FEATURE_SETS
        ]
        n_eval = int(part.n_evaluated.iloc[0])
        lines.append(f"| {b} | {n_eval} | " + " | ".join(cells) + " |")
    tnb = main[(main.features == full) & main.benchmark.str.startswith("tnb101-micro")]
    if len(tnb):
        lines += [
            "",
            f"TransNAS-Bench-101-micro, {full}: mean rho over the {len(tnb)} tasks "
            f"{tnb.rho.mean():.3f}, lowest {tnb.rho.min():.3f} "
            f"({tnb.loc[tnb.rho.idxmin(), 'benchmark']}).",
        ]

    lines += ["", "## Side by side with published few-label predictors", ""]
    lines += [
        "Published numbers are from the papers' own protocols and splits (ANCHORS.md); ours "
        f"are `{full}`, 30 splits, evaluated on all other architectures of the bundled "
        "table (724/725 NB201 cells, 725 NB301, 711 TNB101-micro: smaller pools than the "
        "papers').",
        "",
        "| predictor | labelled | benchmark | published rho | libranas rho / tau (same n) |",
        "|---|---|---|---|---|",
    ]
    sized = s[s.features == full].set_index(["benchmark", "n_labelled"])
    for label, n, values in PUBLISHED:
        for b, rho in values.items():
            ours_n = (
                n
                if (b, n) in sized.index
                else max((k for bb, k in sized.index if bb == b), default=None)
            )
            ours = "" if ours_n is None else _cell(sized.loc[(b, ours_n)])
            if ours and ours_n != n:
                ours += f" (n = {ours_n}: the table is too small for {n})"
            lines.append(f"| {label} | {n} | {b} | {rho:.3f} | {ours} |")

    lines += ["", "## Sample size (proxies + graph + onehot)", ""]
    sizes = sorted(set(s.n_labelled))
    lines += ["| benchmark | " + " | ".join(f"n = {n}" for n in sizes) + " |"]
    lines += ["|---|" + "---|" * len(sizes)]
    for b in SIZE_BENCHMARKS:
        part = sized.loc[b] if b in sized.index.get_level_values(0) else None
        if part is None:
            continue
        cells = [_cell(part.loc[n]) if n in part.index else "" for n in sizes]
        lines.append(f"| {b} | " + " | ".join(cells) + " |")

    lines += ["", "## Which graph-feature groups carry the signal (100 labelled)", ""]
    lines += [
        f"Each column drops one group of graph features from `{full}` "
        f"({len(ABLATION_SEEDS)} splits, seeds 0-{len(ABLATION_SEEDS) - 1}; the full set on "
        "the same splits for reference). A drop that lowers rho means the group carried "
        "signal that the others do not.",
        "",
    ]
    abl = runs[runs.seed.isin(ABLATION_SEEDS) & (runs.n_labelled == 100)]
    a = _agg(abl, ["benchmark", "features"]).set_index(["benchmark", "features"])
    keys = [full, "proxies+onehot"] + [full + "-" + g.replace(" ", "_") for g in GRAPH_GROUPS]
    labels = ["all", "no graph at all"] + [f"without {g}" for g in GRAPH_GROUPS]
    lines += ["| benchmark | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
    for b in ABLATION_BENCHMARKS:
        cells = [f"{a.loc[(b, k)].rho:.3f}" if (b, k) in a.index else "" for k in keys]
        lines.append(f"| {b} | " + " | ".join(cells) + " |")
    lines += ["", "## What else was tried (development splits, predictors_dev.md)", ""]
    dev = load_runs()
    dev = dev[dev.seed.isin(DEV_SEEDS) & dev.benchmark.isin(DEV_BENCHMARKS)]
    if len(dev):
        d = _agg(dev, ["benchmark", "predictor"]).pivot(
            index="predictor", columns="benchmark", values="rho"
        )
        base = d.loc["ensemble (default)"]
        lines += [
            "Mean Spearman rho of each candidate minus the default's, on the dev splits "
            f"(seeds {DEV_SEEDS.start}-{DEV_SEEDS.stop - 1}, 100 labelled, proxies + graph + "
            "one-hot). Negative = worse than the default.",
            "",
            "| candidate | " + " | ".join(DEV_BENCHMARKS) + " |",
            "|---|" + "---|" * len(DEV_BENCHMARKS),
        ]
        for cand in d.index:
            if cand == "ensemble (default)":
                continue
            diffs = [f"{d.loc[cand, b] - base[b]:+.3f}" for b in DEV_BENCHMARKS]
            lines.append(f"| {cand} | " + " | ".join(diffs) + " |")
    lines += [
        "",
        "Not tried: semi-supervised use of unlabelled architectures and a small graph network "
        "(FLAN's pretraining on unlabelled architectures).",
    ]
    C.write_results(REPORT, "\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dev", action="store_true", help="candidates on the development splits")
    ap.add_argument("--report-only", action="store_true", help="write the report from the cache")
    ap.add_argument("--quick", action="store_true", help="3 splits (smoke test)")
    ap.add_argument("--n-jobs", type=int, default=1, help="parallel runs (joblib)")
    args = ap.parse_args()
    if args.dev:
        if not args.report_only:
            run_all(dev_jobs(), args.n_jobs)
        write_dev()
        return
    if not args.report_only:
        run_all(report_jobs(args.quick), args.n_jobs)
    write_report()


if __name__ == "__main__":
    main()
