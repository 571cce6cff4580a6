"""A user's own space with few labels: which ranker, and do network features help it?

Issue 22 treats the 100 AutoFormer-Tiny subnets of Auto-Prox as a user's space (no
space-specific code: the registered proxies and the network features read from the PyTorch
network) and asks that, with 20 labelled subnets and the target ``c100_kd_acc``, network
features + proxies rank above proxies alone. With ``ZCRanker()`` they do not
(``results/network_features.md``: 0.868 and 0.868): on this table a boosted model fitted on
20 rows ranks below a single proxy (L-SWAG alone, zero labels, about 0.90), so the learner,
not the columns, sets the level. This study asks the question a user would: for each set of
columns, the few-label ranker a development split picks, and then whether the columns help.

Protocol (every number in ``results/autoformer_rankers.md``):

- Table: ``network_features.autoformer_table()`` -- the 100 subnets built at 32 px, patch 4,
  100 classes; ``proxies``: the registered proxies of ``results/lswag_autoformer.csv`` (one
  CIFAR-100 batch of 32, one initialisation); ``network``: the network features (columns
  constant over the 100 subnets dropped, label-free), exactly ``network_features.py``'s
  ``autoformer`` stage. Feature sets: ``proxies``, ``network``, ``proxies+network``.
- Per split (seed) ``k`` subnets drawn uniformly as the labelled set
  (``numpy.random.default_rng(seed).choice``, as ``network_features.py``); rho / tau on the
  other ``100 - k``. Targets: the seven Auto-Prox accuracies; k = 10 / 20 / 50.
- Rankers (:data:`RANKERS`, declared before the development runs, each fitted on the
  labelled rows only, except the semi-supervised one, which also sees the unlabelled rows'
  features, never their labels):

  1. ``ZCRanker()``: libranas' few-label default (boosted trees), ``random_state=seed``;
  2. ``SemiSupervisedRanker``: issue 23's ranker, its declared defaults, the network columns
     as its architecture view (``passthrough``); only on sets with network columns;
  3. ``LIBRA + log-rank``: ``LibraSelector(bias=None)`` then ``ZCRanker("log-rank",
     signs="auto")`` (the paper's selection and a training-free fusion; no bias column,
     since the ``network`` set has no ``params`` proxy);
  4. ``LIBRA + ZCRanker()``: the README's pipeline, ``LibraSelector(bias=None)`` then
     ``ZCRanker(random_state=seed)``;
  5. ``log-rank, signs from labels``: ``ZCRanker("log-rank", signs="auto")`` on every
     column (each column's direction from its sign of correlation on the labelled rows,
     then AZ-NAS's log-rank fusion).

- References (zero labels, no choice): ``L-SWAG alone`` (the ``lswag`` proxy column) and
  the training-free default (log-rank of ``TRAINING_FREE_DEFAULT``, as
  ``network_features.py``'s transfer table), both on the same unlabelled rows.

The one choice, **declared before the development runs**: per feature set, the ranker with
the highest mean rho on the development splits (seeds 1000-1029, ``c100_kd_acc``, k = 20;
a tie goes to the earlier ranker in the list). The reported runs (seeds 0-29, every target
and k) are made for every ranker; the report's comparison uses each set's chosen ranker,
paired on the same splits (mean difference and a 95% t-interval), and shows every ranker.
Disclosure: before this rule was written, scratch runs on the development seeds (not kept)
printed the mean rho of ``ZCRanker()``, ``SemiSupervisedRanker``, LIBRA (``bias=None``)
with log-rank / with ``ZCRanker()``, and the log-rank fusion with signs from labels, on the
three sets; no reported split (seeds 0-29) of any ranker but ``ZCRanker()`` had been seen
(``ZCRanker()``'s are in ``results/network_features.md``).

    python benchmarks/autoformer_rankers.py dev      # development splits (resumable)
    python benchmarks/autoformer_rankers.py runs     # seeds 0-29 (resumable)
    python benchmarks/autoformer_rankers.py report
    python benchmarks/autoformer_rankers.py --quick  # 2 splits, nothing kept

Runs are cached per (target, k, seed, feature set, ranker) in
``benchmarks/data/autoformer_rankers_runs.csv`` / ``autoformer_rankers_dev_runs.csv``, each
row naming the code version that made it.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402
import network_features as NF  # noqa: E402

RUNS = C.CACHE / "autoformer_rankers_runs.csv"
DEV_RUNS = C.CACHE / "autoformer_rankers_dev_runs.csv"
REPORT = C.RESULTS / "autoformer_rankers.md"
SEEDS = range(30)
DEV_SEEDS = range(1000, 1030)
DEV_TARGET, DEV_K = "c100_kd_acc", 20
TARGETS = NF.AF_TARGETS
SIZES = NF.AF_SIZES
SETS = ("proxies", "network", "proxies+network")
RANKERS = (
    "ZCRanker()",
    "SemiSupervisedRanker",
    "LIBRA + log-rank",
    "LIBRA + ZCRanker()",
    "log-rank, signs from labels",
)
REFERENCES = ("L-SWAG alone", "training-free default")
KEY = ["target", "k", "seed", "features", "ranker"]


def make_ranker(name: str, seed: int, network_columns: list[str]) -> Any:
    """The ranker ``name`` of :data:`RANKERS` (module docstring); None where it does not
    apply (the semi-supervised ranker without network columns)."""
    from sklearn.pipeline import make_pipeline

    from libranas import LibraSelector, ZCRanker
    from libranas.semi_supervised import SemiSupervisedRanker

    if name == "ZCRanker()":
        return ZCRanker(random_state=seed)
    if name == "SemiSupervisedRanker":
        if not network_columns:
            return None
        return SemiSupervisedRanker(random_state=seed, passthrough=network_columns)
    if name == "LIBRA + log-rank":
        return make_pipeline(LibraSelector(bias=None), ZCRanker("log-rank", signs="auto"))
    if name == "LIBRA + ZCRanker()":
        return make_pipeline(LibraSelector(bias=None), ZCRanker(random_state=seed))
    if name == "log-rank, signs from labels":
        return ZCRanker("log-rank", signs="auto")
    raise ValueError(f"unknown ranker {name!r}; known: {list(RANKERS)}")


def tables() -> tuple[pd.DataFrame, pd.DataFrame, dict[str, list[str]], dict[str, np.ndarray]]:
    """Columns, targets, feature groups and the zero-label reference scores."""
    X, Y, groups = NF.autoformer_table()
    groups = {g: [c for c in groups[g] if g == "proxies" or X[c].nunique() > 1]
              for g in ("proxies", "network")}  # fmt: skip
    references = {
        "L-SWAG alone": X["proxy:lswag"].to_numpy(float),
        "training-free default": np.asarray(NF.autoformer_training_free(), dtype=float),
    }
    return X, Y, groups, references


def one_split(data: tuple, target: str, k: int, seed: int, rankers=RANKERS) -> list[dict]:
    """Every ranker on every feature set, and the references, on one split."""
    from libranas.metrics import kendall, spearman

    X, Y, groups, references = data
    y = Y[target].to_numpy(dtype=float)
    rng = np.random.default_rng(seed)
    labelled = np.zeros(len(y), dtype=bool)
    labelled[rng.choice(len(y), size=k, replace=False)] = True
    held = ~labelled
    base = {"target": target, "k": k, "seed": seed, "n_evaluated": int(held.sum())}
    rows = []
    for name, scores in references.items():
        rows.append({**base, "features": "-", "ranker": name, "cpu_s": 0.0,
                     "rho": spearman(y[held], scores[held]),
                     "tau": kendall(y[held], scores[held]), "code": C.code_version()})  # fmt: skip
    for features in SETS:
        cols = [c for part in features.split("+") for c in groups[part]]
        network = [c for c in cols if c.startswith("network:")]
        for name in rankers:
            model = make_ranker(name, seed, network)
            if model is None:
                continue
            t0 = time.process_time()
            with warnings.catch_warnings():
                # LIBRA's notes on columns it cannot use on so few rows (constant, too few
                # rows shared); any other warning is shown
                for note in (r"proxy column .* skipped", r"window member .* shares only"):
                    warnings.filterwarnings("ignore", message=note, category=UserWarning)
                if name == "SemiSupervisedRanker":
                    model.fit(X[cols], np.where(labelled, y, np.nan))
                else:
                    model.fit(X.loc[labelled, cols], y[labelled])
                scores = np.asarray(model.predict(X.loc[held, cols]), dtype=float)
            rows.append({**base, "features": features, "ranker": name,
                         "cpu_s": round(time.process_time() - t0, 3),
                         "rho": spearman(y[held], scores), "tau": kendall(y[held], scores),
                         "code": C.code_version()})  # fmt: skip
    return rows


def run(plan: list[tuple[str, int]], seeds: range, path: Path, n_jobs: int = 1) -> None:
    """The splits of ``plan`` (target, k) x ``seeds`` not yet in ``path``, appended per split."""
    from joblib import Parallel, delayed

    have = set(zip(*(C.load_runs(path, KEY)[c] for c in ("target", "k", "seed")), strict=True))
    todo = [(t, k, s) for t, k in plan for s in seeds if (t, k, s) not in have]
    if not todo:
        return
    data = tables()
    for start in range(0, len(todo), 2 * max(n_jobs, 1)):
        chunk = todo[start : start + 2 * max(n_jobs, 1)]
        results = Parallel(n_jobs=n_jobs)(delayed(one_split)(data, *job) for job in chunk)
        rows = [r for split in results for r in split]
        pd.DataFrame(rows).to_csv(path, mode="a", header=not path.exists(), index=False)
        print(f"{path.name}: {start + len(chunk)}/{len(todo)} splits", flush=True)


def chosen(dev: pd.DataFrame | None = None, seeds: range = DEV_SEEDS) -> dict[str, str] | None:
    """Per feature set, the ranker the declared rule picks; None until the development
    runs (``seeds``) are complete."""
    dev = C.load_runs(DEV_RUNS, KEY) if dev is None else dev
    dev = dev[(dev.target == DEV_TARGET) & (dev.k == DEV_K) & dev.seed.isin(seeds)]
    picks = {}
    for features in SETS:
        means = dev[dev.features == features].groupby("ranker").rho.agg(["mean", "count"])
        means = means.reindex([r for r in RANKERS if r in means.index])
        if means.empty or (means["count"] < len(seeds)).any():
            return None
        picks[features] = means["mean"].idxmax()  # first maximum: the earlier ranker
    return picks


def _dev_section(dev: pd.DataFrame, picks: dict[str, str] | None, seeds: range) -> list[str]:
    d = dev[(dev.target == DEV_TARGET) & (dev.k == DEV_K) & dev.seed.isin(seeds)]
    lines = [
        "## Development splits (the one choice; not results)",
        "",
        f"Seeds {seeds.start}-{seeds.stop - 1}, `{DEV_TARGET}`, {DEV_K} labelled; "
        "mean rho on the other subnets (splits). Rule (module docstring, declared before "
        "these runs): per feature set, the ranker with the highest mean.",
        "",
        "| ranker | " + " | ".join(SETS) + " |",
        "|---|" + "---|" * len(SETS),
    ]
    for name in RANKERS:
        cells = []
        for features in SETS:
            r = d[(d.ranker == name) & (d.features == features)].rho
            cell = "—" if r.empty else f"{r.mean():.3f} ({len(r)})"
            cells.append(f"**{cell}**" if picks and picks.get(features) == name else cell)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for name in REFERENCES:  # zero labels: one score whatever the set
        r = d[d.ranker == name].rho
        cell = "—" if r.empty else f"{r.mean():.3f} ({len(r)}), zero labels"
        lines.append(f"| {name} | {cell} |" + " |" * (len(SETS) - 1))
    if picks:
        lines += ["", "Chosen: " + "; ".join(f"`{f}`: {r}" for f, r in picks.items()) + "."]
    return lines


def _chosen_table(runs: pd.DataFrame, picks: dict[str, str], targets: list[str]) -> list[str]:
    """Each set with its chosen ranker, the paired gain of network features, references."""
    lines = [
        "| target | k | splits | proxies | network | proxies+network | proxies+network - "
        "proxies | ZCRanker(): proxies / proxies+network | L-SWAG alone | training-free default |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for target in targets:
        for k in SIZES:
            r = runs[(runs.target == target) & (runs.k == k)]
            if r.empty:
                continue
            rho = r.pivot_table(index="seed", columns=["features", "ranker"], values="rho")
            sel = {f: rho.get((f, picks[f]), pd.Series(dtype=float)) for f in SETS}
            zc = [rho.get((f, "ZCRanker()"), pd.Series(dtype=float)) for f in SETS[::2]]
            refs = [rho.get(("-", n), pd.Series(dtype=float)) for n in REFERENCES]
            lines.append(
                f"| {target} | {k} | {len(sel['proxies+network'])} | "
                + " | ".join(C.mean_sd(sel[f]) for f in SETS)
                + f" | {C.paired_interval(sel['proxies+network'], sel['proxies'])} | "
                + " / ".join(C.fmt(z.mean()) for z in zc)
                + " | "
                + " | ".join(C.fmt(v.mean()) for v in refs)
                + " |"
            )
    return lines


def _every_ranker(runs: pd.DataFrame, target: str, k: int) -> list[str]:
    r = runs[(runs.target == target) & (runs.k == k)]
    lines = ["| ranker | " + " | ".join(SETS) + " | proxies+network - proxies |",
             "|---|" + "---|" * (len(SETS) + 1)]  # fmt: skip
    rho = r.pivot_table(index="seed", columns=["features", "ranker"], values="rho")
    for name in RANKERS:
        cols = [rho.get((f, name)) for f in SETS]
        cells = ["—" if c is None else C.mean_sd(c) for c in cols]
        gain = "—" if cols[0] is None or cols[2] is None else C.paired_interval(cols[2], cols[0])
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {gain} |")
    return lines


def _findings(runs: pd.DataFrame, picks: dict[str, str]) -> list[str]:
    """What the tables say, computed: the must-show, how the choice carries to the other
    targets, and the zero-label L-SWAG against the labelled rankers."""
    rho = runs.pivot_table(index=["target", "k", "seed"], columns=["features", "ranker"],
                           values="rho")  # fmt: skip
    with_net = rho[("proxies+network", picks["proxies+network"])]
    without = rho[("proxies", picks["proxies"])]
    zc_gain = rho[("proxies+network", "ZCRanker()")] - rho[("proxies", "ZCRanker()")]
    at = (DEV_TARGET, DEV_K)
    _, lo, hi = C.t_interval((with_net - without).xs(at, level=["target", "k"]))
    interval = C.paired_interval(with_net.xs(at, level=["target", "k"]),
                                 without.xs(at, level=["target", "k"]))  # fmt: skip
    others = (with_net - without).drop(index=DEV_TARGET, level="target")
    below = int((others.groupby(["target", "k"]).mean() < 0).sum())
    zc_below = int((zc_gain.drop(index=DEV_TARGET, level="target")
                    .groupby(["target", "k"]).mean() < 0).sum())  # fmt: skip
    n_rows = others.groupby(["target", "k"]).ngroups
    vs_zc = int(((with_net - rho[("proxies+network", "ZCRanker()")])
                 .drop(index=DEV_TARGET, level="target").groupby(["target", "k"]).mean() < 0)
                .sum())  # fmt: skip
    here = rho.xs(at, level=["target", "k"])
    lswag_other = (rho[("-", "L-SWAG alone")].drop(index=DEV_TARGET, level="target")
                   .groupby("target").mean())  # fmt: skip
    best = here.drop(columns="-", level="features").mean().max()
    return [
        "## Findings (computed from the tables above)",
        "",
        f"- `{DEV_TARGET}`, {DEV_K} labelled, proxies+network - proxies with each set's chosen "
        f"ranker: {interval}; the interval {'includes' if lo <= 0 <= hi else 'excludes'} 0.",
        f"- The other targets with the rankers chosen on `{DEV_TARGET}`: proxies+network below "
        f"proxies on {below} of {n_rows} (target, k) rows; with `ZCRanker()` on both sets on "
        f"{zc_below} of {n_rows}.",
        f"- The other targets: the ranker chosen for proxies+network below `ZCRanker()` on the "
        f"same columns on {vs_zc} of {n_rows} (target, k) rows.",
        f"- `{DEV_TARGET}`, {DEV_K} labelled: L-SWAG alone (zero labels) "
        f"{here[('-', 'L-SWAG alone')].mean():.3f}; the best labelled ranker and set {best:.3f} (on "
        "the other targets L-SWAG alone ranges "
        f"{lswag_other.min():+.3f} to {lswag_other.max():+.3f}: see the tables).",
    ]


def _cross_check(runs: pd.DataFrame) -> list[str]:
    """``ZCRanker()`` rows against ``network_features.py``'s cache (same splits, same model)."""
    if not NF.AF_RUNS.exists():
        return []
    old = pd.read_csv(NF.AF_RUNS).rename(columns={"n_labelled": "k"})
    mine = runs[runs.ranker == "ZCRanker()"]
    both = mine.merge(old, on=["target", "k", "seed", "features"], suffixes=("", "_nf"))
    if both.empty:
        return []
    diff = (both.rho - both.rho_nf).abs().max()
    return ["", f"Cross-check: `ZCRanker()` here against `{NF.AF_RUNS.name}` (made by "
            f"`network_features.py`, the same splits and columns), {len(both)} runs: largest "
            f"|rho difference| {diff:.1e}."]  # fmt: skip


def report(
    runs_path: Path = RUNS,
    dev_path: Path = DEV_RUNS,
    out: Path = REPORT,
    dev_seeds: range = DEV_SEEDS,
) -> None:
    runs, dev = C.load_runs(runs_path, KEY), C.load_runs(dev_path, KEY)
    picks = chosen(dev, dev_seeds)
    made = sorted(set(runs.get("code", [])) | set(dev.get("code", [])))
    lines = [
        "# A user's own space with few labels: the ranker, and the network features",
        "",
        f"Written by `python benchmarks/autoformer_rankers.py report` at git {C.git_commit()}; "
        "machine: AMD EPYC, 2 shared cores, one thread per process. Cache rows made at: "
        + ", ".join(made)
        + ".",
        "",
        "Protocol: see the docstring of `benchmarks/autoformer_rankers.py`. The 100 "
        "AutoFormer-Tiny subnets of Auto-Prox as a user's space (proxies and network "
        "features, nothing space-specific); per split (seeds 0-29) k labelled drawn "
        "uniformly, rho / tau on the other 100 - k. Each feature set is ranked by the ranker "
        "the development splits chose for it (last section); differences are paired (same "
        "split): mean [95% t-interval] (splits). Cells: rho mean ± sd over the splits.",
        "",
        "Read with care: the development and the reported splits draw from the same 100 "
        "subnets, so the choice guards against split noise, not against fitting this table; "
        "the 30 splits overlap, so the t-intervals are optimistic; each table holds many "
        "comparisons, so one interval that excludes 0 is weak evidence alone. Scratch runs "
        "on the development seeds printed every ranker's mean before the rule was written "
        "(docstring); no reported split of a ranker other than `ZCRanker()` had been seen.",
        "",
    ]
    if picks is None:
        lines += ["The development runs are incomplete: no ranker is chosen yet.", ""]
    elif runs.empty:
        lines += ["No reported split has been run yet (`runs` stage).", ""]
    else:
        lines += [f"## `{DEV_TARGET}` (issue 22's target)", "",
                  *_chosen_table(runs, picks, [DEV_TARGET]), "",
                  f"### Every ranker, `{DEV_TARGET}`, {DEV_K} labelled", "",
                  *_every_ranker(runs, DEV_TARGET, DEV_K), "",
                  "## The other targets (the same chosen rankers)", "",
                  *_chosen_table(runs, picks, [t for t in TARGETS if t != DEV_TARGET])]  # fmt: skip
        lines += ["", *_findings(runs, picks)]
        lines += _cross_check(runs)
        cpu = runs[runs.ranker.isin(RANKERS)].groupby("ranker").cpu_s.median()
        lines += ["", "CPU seconds per fit (median, one thread): "
                  + "; ".join(f"{n} {cpu[n]:.2f}" for n in RANKERS if n in cpu) + ".", ""]  # fmt: skip
    lines += _dev_section(dev, picks, dev_seeds)
    C.write_results(out, "\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("stage", nargs="?", choices=["dev", "runs", "report"], default="report")
    p.add_argument("--n-jobs", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="2 splits, nothing kept")
    args = p.parse_args(argv)
    import threadpoolctl

    with threadpoolctl.threadpool_limits(1):
        if args.quick:
            import tempfile

            tmp = Path(tempfile.mkdtemp())
            run([(DEV_TARGET, DEV_K)], range(1000, 1002), tmp / "dev.csv")
            run([(DEV_TARGET, DEV_K)], range(2), tmp / "runs.csv")
            report(tmp / "runs.csv", tmp / "dev.csv", tmp / "report.md", range(1000, 1002))
            return 0
        if args.stage == "dev":
            run([(DEV_TARGET, DEV_K)], DEV_SEEDS, DEV_RUNS, args.n_jobs)
        elif args.stage == "runs":
            if chosen() is None:
                raise SystemExit("the development runs are incomplete: run the `dev` stage first")
            plan = [(DEV_TARGET, k) for k in (20, 10, 50)]
            plan += [(t, k) for k in (20, 10, 50) for t in TARGETS if t != DEV_TARGET]
            run(plan, SEEDS, RUNS, args.n_jobs)
        report()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
