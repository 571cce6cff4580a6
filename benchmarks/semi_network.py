"""Network features with the unlabelled architectures: SemiSupervisedRanker on features read
from the PyTorch network, next to the same ranker on the hand-made graph features.

Issue 22 asks proxies + network features to rank as well as proxies + the hand-made graph
features at 100 labels (NB301 >= 0.87); issue 23's ``SemiSupervisedRanker`` reached 0.877 on
NB301 with the hand-made features (``results/semi_supervised.md``). This study runs that
ranker, unchanged, on the network features of ``benchmarks/network_features.py``.

Protocol (every number in ``results/semi_network.md``):

- Tables: ``network_features.table(name)`` -- the NAS-Bench-Suite-Zero proxy columns of the
  bundled table, the space's hand-made ``graph`` / ``onehot`` columns, the ``network``
  features and the repeated-block columns (``blocks``: per-position operations, wiring,
  parameters, counts; ``blockgraph``: GRAF on each block's cell graph), constant columns
  dropped label-free; target = the table's validation accuracy.
- Per split (seed) 100 architectures drawn uniformly as the labelled set
  (``numpy.random.default_rng(seed).choice``, as ``network_features.py``); rho / tau on ALL
  the other architectures. The rankers are fitted on every row with the unlabelled ones
  marked ``y = NaN`` (they see those rows' features, never their labels).
- ``network``: ``SemiSupervisedRanker(random_state=seed, **roles)`` on the columns of the
  network-features candidate of ``network_features.py`` (``proxies+network+blocks+blockgraph``,
  0.832 on NB301 with ``ZCRanker()``); its supervised view ``ranker_`` is ``ZCRanker()`` on
  the same columns (``ZCRanker(network)`` in the report, the same split: paired).
- ``hand-made``: ``SemiSupervisedRanker(random_state=seed, passthrough=["graph:*"],
  pretrain_only=["onehot:*"])`` on ``proxies+graph+onehot`` of the same table (issue 23's
  declared configuration; here with the table's NAS-Bench-Suite-Zero proxies only, as every
  ``network_features.py`` feature set), and its ``ZCRanker()`` view.
- ``SemiSupervisedRanker``'s hyper-parameters are its defaults, declared in
  ``benchmarks/semi_supervised.py`` on that study's development splits; nothing is tuned
  here except the one choice below.

The one choice, **declared before the development runs**: which columns play which role.
The hand-made configuration has graph columns in the architecture view and the one-hot
positions read by the pre-training only; the network features have no such split by name, so
two mappings are candidates (``block positions`` = the block columns that name a position's
operation or wiring, ``=`` / ``<-`` in the name):

- ``A``: ``passthrough`` = block cell graph + network + the other block columns,
  ``pretrain_only`` = block positions;
- ``B``: ``passthrough`` = block cell graph, ``pretrain_only`` = block positions
  (the closest analogue of the hand-made roles; the network and other block columns reach
  the supervised view only).

``all`` (a third configuration, declared before its runs; nothing is chosen on it, so it has
no development runs): ``SemiSupervisedRanker`` on both sets of columns together
(``proxies+network+blocks+blockgraph+graph+onehot``), the roles the union of the two:
``passthrough`` = the chosen candidate's view columns + ``graph``, ``pretrain_only`` = block
positions + ``onehot``. Issue 23 asks the semi-supervised ranker to reach NB301 >= 0.88 and
stay at or above today's ``ZCRanker()`` (``ZCRanker(hand-made)`` here) on every NB201 and
TransNAS-Bench-101-micro table; the hand-made columns carry NB201, the network ones NB301 and
TransNAS-Bench-101-micro. Runs: ``python benchmarks/semi_network.py all`` (cache
``semi_network_all_runs.csv``), the same splits.

Rule: on ``DEV_BENCHMARKS`` (``network_features.DEV_BENCHMARKS``: NB301, NB201 CIFAR-10 and
ImageNet16-120, TNB101-micro class_scene) x seeds 1000-1009 (never reported as results),
the candidate with the higher mean ``SemiSupervisedRanker`` rho is the study's; a tie goes to
``A``. The reported runs (seeds 0-29, all eleven tables) are then made for it only.

    python benchmarks/semi_network.py dev       # development splits (resumable)
    python benchmarks/semi_network.py runs      # 30 splits x 11 tables (resumable)
    python benchmarks/semi_network.py report
    python benchmarks/semi_network.py --quick   # 2 splits of NB301, nothing kept

NB301's rows made before :mod:`libranas.repeated_blocks` started a block's cell graph at its
inputs' preprocessed states (session 23, ``benchmarks/network_features.py``) are archived in
``semi_network_dev_runs_old_cellgraph.csv`` / ``semi_network_runs_old_cellgraph.csv``
(development on NB301: A 0.833, B 0.833; runs: Semi(network) 0.842, ZCRanker(network) 0.808,
Semi(hand-made) 0.871) and were recomputed with the new columns; the rule above is applied to
the recomputed development rows.

Runs are cached per (benchmark, candidate, seed) in ``benchmarks/data/semi_network_runs.csv``
and ``semi_network_dev_runs.csv``, each row naming the code version that made it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402
import network_features as NF  # noqa: E402

RUNS = C.CACHE / "semi_network_runs.csv"
ALL_RUNS = C.CACHE / "semi_network_all_runs.csv"
DEV_RUNS = C.CACHE / "semi_network_dev_runs.csv"
REPORT = C.RESULTS / "semi_network.md"
SEMI_RUNS = C.CACHE / "semi_supervised_runs.csv"
#: NB301 first (the must-show), then NB201, then TNB101-micro
BENCHMARKS = ["nb301-cifar10", *C.NB201_TABLES, *C.TNB101_MICRO_TABLES]
DEV_BENCHMARKS = NF.DEV_BENCHMARKS
DEV_SEEDS = range(1000, 1010)
SEEDS = range(30)
N_LABELLED = 100
NETWORK_SET = "proxies+network+blocks+blockgraph"
HAND_SET = "proxies+graph+onehot"
ALL_SET = "proxies+network+blocks+blockgraph+graph+onehot"
CANDIDATES = ("A", "B")


def _is_position(column: str) -> bool:
    return "=" in column or "<-" in column


def roles(candidate: str, groups: dict[str, list[str]]) -> dict[str, list[str]]:
    """``passthrough`` / ``pretrain_only`` columns of a candidate (module docstring)."""
    positions = [c for c in groups["blocks"] if _is_position(c)]
    other_blocks = [c for c in groups["blocks"] if not _is_position(c)]
    if candidate == "A":
        view = groups["blockgraph"] + groups["network"] + other_blocks
    elif candidate == "B":
        view = list(groups["blockgraph"])
    else:
        raise ValueError(f"unknown candidate {candidate!r}; known: {list(CANDIDATES)}")
    return {"passthrough": view, "pretrain_only": positions}


def _columns(feature_set: str, groups: dict[str, list[str]]) -> list[str]:
    return [c for part in feature_set.split("+") for c in groups[part]]


def one_split(
    name: str,
    candidate: str,
    seed: int,
    n: int = N_LABELLED,
    features: tuple[str, ...] = ("network", "hand-made"),
) -> list[dict]:
    """The rankers of ``features`` (network: ``candidate``'s roles; hand-made; all: both) on
    one split: two rows per feature set (``ZCRanker`` and ``SemiSupervisedRanker``)."""
    from libranas.metrics import kendall, spearman
    from libranas.semi_supervised import SemiSupervisedRanker

    X, y, groups = NF.table(name)
    rng = np.random.default_rng(seed)
    labelled = np.zeros(len(y), dtype=bool)
    labelled[rng.choice(len(y), size=n, replace=False)] = True
    marked = np.where(labelled, y, np.nan)
    net = roles(candidate, groups)
    configs = {
        "network": (NETWORK_SET, net),
        "hand-made": (HAND_SET, {"passthrough": ["graph:*"], "pretrain_only": ["onehot:*"]}),
        "all": (ALL_SET, {"passthrough": net["passthrough"] + groups["graph"],
                          "pretrain_only": net["pretrain_only"] + groups["onehot"]}),
    }  # fmt: skip
    rows = []
    for feature in features:
        feature_set, kw = configs[feature]
        Xs = X[_columns(feature_set, groups)]
        t0 = time.process_time()
        model = SemiSupervisedRanker(random_state=seed, **kw).fit(Xs, marked)
        held = Xs[~labelled]
        scores = {"ZCRanker()": model.ranker_.predict(held),
                  "SemiSupervisedRanker()": model.predict(held)}  # fmt: skip
        cpu = round(time.process_time() - t0, 2)
        for method, s in scores.items():
            rows.append({
                "benchmark": name, "candidate": candidate, "features": feature,
                "method": method, "n_labelled": n, "seed": seed,
                "n_evaluated": int((~labelled).sum()), "n_features": Xs.shape[1],
                "rho": spearman(y[~labelled], s), "tau": kendall(y[~labelled], s),
                "blend": model.blend_, "cpu_s_both": cpu, "code": C.code_version(),
            })  # fmt: skip
    return rows


#: one row per (table, configuration, split, feature set, method): a cache must never hold two
KEY = ["benchmark", "candidate", "seed", "features", "method"]


def run(
    benchmarks: list[str],
    candidates: list[str],
    seeds: range,
    path: Path,
    features: tuple[str, ...] = ("network", "hand-made"),
) -> None:
    done = C.load_runs(path, KEY)
    have = set()
    if not done.empty:
        have = set(zip(done.benchmark, done.candidate, done.seed, strict=True))
    for name in benchmarks:
        for candidate in candidates:
            for seed in seeds:
                if (name, candidate, seed) in have:
                    continue
                rows = one_split(name, candidate, seed, features=features)
                pd.DataFrame(rows).to_csv(path, mode="a", header=not path.exists(), index=False)
                r = {(row["features"], row["method"]): row["rho"] for row in rows}
                if features != ("network", "hand-made"):
                    print(f"{name} {candidate} seed={seed}: " + ", ".join(
                        f"{f} {m} {v:.3f}" for (f, m), v in r.items()), flush=True)  # fmt: skip
                    continue
                print(f"{name} {candidate} seed={seed}: network ZC {r['network', 'ZCRanker()']:.3f} "
                      f"semi {r['network', 'SemiSupervisedRanker()']:.3f} | hand-made ZC "
                      f"{r['hand-made', 'ZCRanker()']:.3f} semi "
                      f"{r['hand-made', 'SemiSupervisedRanker()']:.3f}", flush=True)  # fmt: skip


def chosen(dev: pd.DataFrame | None = None) -> str | None:
    """The declared rule: the candidate with the higher mean network SemiSupervisedRanker
    rho over DEV_BENCHMARKS x DEV_SEEDS (a tie: ``A``); None until every run is done."""
    dev = C.load_runs(DEV_RUNS, KEY) if dev is None else dev
    if dev.empty:
        return None
    d = dev[(dev.features == "network") & (dev.method == "SemiSupervisedRanker()")
            & dev.benchmark.isin(DEV_BENCHMARKS) & dev.seed.isin(DEV_SEEDS)]  # fmt: skip
    d = d.drop_duplicates(["benchmark", "candidate", "seed"])
    counts = d.groupby("candidate").size()
    if any(counts.get(c, 0) < len(DEV_BENCHMARKS) * len(DEV_SEEDS) for c in CANDIDATES):
        return None
    means = d.groupby("candidate").rho.mean()
    best = means.max()
    return next(c for c in CANDIDATES if means[c] == best)


def _per_seed(runs: pd.DataFrame, values: str = "rho") -> pd.DataFrame:
    """``values`` of the runs, a row per split (seed), a column per (features, method)."""
    return runs.pivot_table(index="seed", columns=["features", "method"], values=values)


def _table_row(cells: list[str], blend: pd.Series) -> str:
    """A report table row: ``cells``, then the ranker's blend weight: mean (splits at 0)."""
    weight = f"{blend.mean():.2f} ({int((blend == 0).sum())}/{len(blend)})"
    return "| " + " | ".join([*cells, weight]) + " |"


def report(
    runs_path: Path = RUNS, dev_path: Path = DEV_RUNS, out: Path = REPORT, all_path: Path = ALL_RUNS
) -> None:
    runs, dev, both = (
        C.load_runs(runs_path, KEY),
        C.load_runs(dev_path, KEY),
        C.load_runs(all_path, KEY),
    )
    pick = chosen(dev) if dev_path == DEV_RUNS else (CANDIDATES[0] if not runs.empty else None)
    lines = [
        "# Network features with the unlabelled architectures (SemiSupervisedRanker)",
        "",
        f"Written by `python benchmarks/semi_network.py report` at git {C.code_version()}; "
        "machine: AMD EPYC, 2 shared cores, one thread per process.",
        "",
        "Protocol: see the docstring of `benchmarks/semi_network.py`. 100 labelled "
        "architectures per split drawn uniformly (seed = split), the rankers fitted on every "
        "row with the others marked unlabelled, rho / tau on all the others; target = the "
        "table's validation accuracy. `network`: columns "
        f"`{NETWORK_SET}` (nothing space-specific); `hand-made`: `{HAND_SET}`. Both with the "
        "table's NAS-Bench-Suite-Zero proxies. Differences are paired (same split): mean "
        "[95% t-interval].",
        "",
    ]
    if not runs.empty and pick is not None:
        r = runs[runs.candidate == pick]
        made = ", ".join(sorted(set(r.code.astype(str))))
        lines += [
            f"## 100 labelled, seeds 0-29, candidate `{pick}`",
            "",
            f"Cache rows made at: {made}.",
            "",
            "| benchmark | evaluated | splits | ZCRanker(network) | Semi(network) | "
            "Semi(network) - ZCRanker(network) | ZCRanker(hand-made) | Semi(hand-made) | "
            "Semi(network) - Semi(hand-made) | weight chosen (network): mean (splits at 0) |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for name in BENCHMARKS:
            b = r[r.benchmark == name]
            if b.empty:
                continue
            piv, tau = _per_seed(b), _per_seed(b, "tau")
            blend = b[(b.features == "network") & (b.method == "ZCRanker()")].blend

            def cell(f: str, m: str, piv: pd.DataFrame = piv, tau: pd.DataFrame = tau) -> str:
                return f"{C.mean_sd(piv[f, m])} / {C.mean_sd(tau[f, m])}"

            semi = piv["network", "SemiSupervisedRanker()"]
            cells = [name, str(int(b.n_evaluated.iloc[0])), str(len(piv)),
                     cell("network", "ZCRanker()"), cell("network", "SemiSupervisedRanker()"),
                     C.paired_interval(semi, piv["network", "ZCRanker()"]),
                     cell("hand-made", "ZCRanker()"), cell("hand-made", "SemiSupervisedRanker()"),
                     C.paired_interval(semi, piv["hand-made", "SemiSupervisedRanker()"])]  # fmt: skip
            lines.append(_table_row(cells, blend))
        lines += ["", "Cells: rho mean ± sd / tau mean ± sd over the splits.", ""]
        lines += _cross_check(r)
        if not both.empty:
            lines += _all_section(r, both[both.candidate == pick])
    if not dev.empty:
        d = dev[(dev.features == "network") & (dev.method == "SemiSupervisedRanker()")]
        piv = d.pivot_table(index="benchmark", columns="candidate", values="rho")
        n = d.groupby("benchmark").seed.nunique()
        zc = dev[(dev.features == "network") & (dev.method == "ZCRanker()")]
        zc = zc.groupby("benchmark").rho.mean()
        lines += [
            "## Development splits (the one choice; not results)",
            "",
            f"Seeds {DEV_SEEDS.start}-{DEV_SEEDS.stop - 1}, 100 labelled, rule declared before "
            "these runs (docstring): the candidate with the higher mean Semi(network) rho.",
            "",
            "| benchmark | splits | ZCRanker(network) | " + " | ".join(CANDIDATES) + " |",
            "|---|---|---|" + "---|" * len(CANDIDATES),
            *[
                f"| {b} | {n[b]} | {zc[b]:.3f} | "
                + " | ".join(f"{piv.loc[b, c]:.3f}" if c in piv else "n/a" for c in CANDIDATES)
                + " |"
                for b in piv.index
            ],  # fmt: skip
            "| mean | | | "
            + " | ".join(f"{piv[c].mean():.3f}" if c in piv else "n/a" for c in CANDIDATES)
            + " |",  # fmt: skip
            "",
            f"Chosen: `{pick}`." if pick else "Chosen: none yet (development runs incomplete).",
            "",
        ]
    C.write_results(out, "\n".join(lines) + "\n")
    print(f"wrote {out}")


def _all_section(r: pd.DataFrame, both: pd.DataFrame) -> list[str]:
    """``all``: both sets of columns together, next to ZCRanker(hand-made) and Semi(network)
    of the same splits."""
    lines = [
        "## Both sets of columns together (`all`)",
        "",
        f"`{ALL_SET}`, the roles the union of the two (docstring; declared before these runs, "
        "no development choice). Paired with the same splits of the table above. Cache rows "
        f"made at: {', '.join(sorted(set(both.code.astype(str))))}.",
        "",
        "| benchmark | splits | ZCRanker(hand-made) | ZCRanker(all) | Semi(all) | "
        "Semi(all) - ZCRanker(hand-made) | Semi(all) - Semi(network) | weight chosen (all): "
        "mean (splits at 0) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in BENCHMARKS:
        a = both[both.benchmark == name]
        if a.empty:
            continue
        piv = _per_seed(pd.concat([r[r.benchmark == name], a]))
        piv = piv[piv["all", "SemiSupervisedRanker()"].notna()]  # the splits `all` has
        semi = piv["all", "SemiSupervisedRanker()"]
        blend = a[a.method == "ZCRanker()"].blend
        cells = [name, str(int(semi.notna().sum())), C.mean_sd(piv["hand-made", "ZCRanker()"]),
                 C.mean_sd(piv["all", "ZCRanker()"].dropna()), C.mean_sd(semi.dropna()),
                 C.paired_interval(semi, piv["hand-made", "ZCRanker()"]),
                 C.paired_interval(semi, piv["network", "SemiSupervisedRanker()"])]  # fmt: skip
        lines.append(_table_row(cells, blend))
    return [*lines, "", "Cells: rho mean ± sd over the splits.", ""]


def _cross_check(r: pd.DataFrame) -> list[str]:
    """ZCRanker(network) must equal network_features.py's runs of the same set and seeds."""
    if not NF.RUNS.exists():
        return []
    nf = pd.read_csv(NF.RUNS)
    nf = nf[(nf.features == NETWORK_SET) & (nf.n_labelled == N_LABELLED)]
    ours = r[(r.features == "network") & (r.method == "ZCRanker()")]
    m = ours.merge(nf, on=["benchmark", "seed"], suffixes=("", "_nf"))
    if m.empty:
        return []
    gap = (m.rho - m.rho_nf).abs().max()
    return [f"Cross-check: ZCRanker(network) against `network_features_runs.csv` "
            f"(`{NETWORK_SET}`, same seeds), {len(m)} splits: largest |rho difference| "
            f"{gap:.1e}.", ""]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("stage", nargs="?", choices=["dev", "runs", "all", "report"], default="report")
    p.add_argument("--benchmarks", nargs="*", default=None)
    p.add_argument("--quick", action="store_true", help="2 splits of NB301, nothing kept")
    args = p.parse_args(argv)
    import threadpoolctl

    with threadpoolctl.threadpool_limits(1):
        if args.quick:
            import tempfile

            tmp = Path(tempfile.mkdtemp())
            run(["nb301-cifar10"], ["A"], range(2), tmp / "runs.csv")
            run(["nb301-cifar10"], ["A"], range(1), tmp / "all.csv", features=("all",))
            report(tmp / "runs.csv", tmp / "dev.csv", tmp / "report.md", tmp / "all.csv")
            return 0
        if args.stage == "dev":
            run(args.benchmarks or DEV_BENCHMARKS, list(CANDIDATES), DEV_SEEDS, DEV_RUNS)
        elif args.stage == "runs":
            pick = chosen()
            if pick is None:
                raise SystemExit("the development runs are incomplete: run the `dev` stage first")
            run(args.benchmarks or BENCHMARKS, [pick], SEEDS, RUNS)
        elif args.stage == "all":
            pick = chosen()
            if pick is None:
                raise SystemExit("the development runs are incomplete: run the `dev` stage first")
            run(args.benchmarks or BENCHMARKS, [pick], SEEDS, ALL_RUNS, features=("all",))
        report()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
