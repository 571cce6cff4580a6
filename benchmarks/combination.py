"""LIBRA proxy combinations on every bundled benchmark, against the paper's Table 1.

Protocol: for each bundled benchmark and each of 30 seeds, 100 architectures are drawn
as the labelled set; proxy selection (LIBRA) and any learned model are fitted on them
only, and Spearman's rho / Kendall's tau are computed on all the other architectures.
"paper-in-sample" repeats the paper's protocol: LIBRA's selection uses the labels of all
architectures of the table and the fused score is evaluated on the same architectures.

    python benchmarks/combination.py            # writes benchmarks/results/combination.md
"""

from __future__ import annotations

import platform
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

from libranas.datasets import (
    NonFiniteValuesWarning,
    list_benchmarks,
    load_benchmark,
)
from libranas.evaluation import evaluate_benchmark, format_table, summarize

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

N_LABELLED = 100
SEEDS = range(30)
OUT = C.RESULTS
N_JOBS = 2  # splits in parallel; results do not depend on it
#: `--quick` (python -m benchmarks): two seeds on the two tables the report's text names
QUICK_BENCHMARKS = ["nb201-cifar10", "nb301-cifar10"] if C.QUICK else None
if C.QUICK:
    SEEDS = range(2)

# LIBRA, paper Table 1 (Spearman, selection with the benchmark's own labelled archs)
PAPER_LIBRA = {
    "nb201-cifar10": 0.89,
    "nb201-cifar100": 0.90,
    "nb201-imagenet16-120": 0.87,
    "nb301-cifar10": 0.74,
    "tnb101-micro-autoencoder": 0.45,
    "tnb101-micro-room_layout": 0.57,
    "tnb101-micro-class_object": 0.61,
    "tnb101-micro-class_scene": 0.79,
    "tnb101-micro-jigsaw": 0.60,
    "tnb101-micro-normal": 0.76,
    "tnb101-micro-segmentsemantic": 0.87,
}
if QUICK_BENCHMARKS:
    PAPER_LIBRA = {k: v for k, v in PAPER_LIBRA.items() if k in QUICK_BENCHMARKS}


def main() -> None:
    start = time.perf_counter()
    results = []
    for name in QUICK_BENCHMARKS or list_benchmarks():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NonFiniteValuesWarning)
            bench = load_benchmark(name)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            results.append(
                evaluate_benchmark(bench, n_labelled=N_LABELLED, seeds=SEEDS, n_jobs=N_JOBS)
            )
        for message in dict.fromkeys(str(w.message) for w in caught):
            print(f"note: {name}: {message}", flush=True)
        print(f"{name}: done ({time.perf_counter() - start:.0f} s)", flush=True)
    raw = pd.concat(results, ignore_index=True)
    OUT.mkdir(exist_ok=True)
    C.write_results(OUT / "combination_raw.csv", raw.to_csv(index=False))
    summary = summarize(raw)

    rho = summary.pivot(index="benchmark", columns="method", values="rho_mean")
    best_method = rho.drop(columns=["paper-in-sample"]).idxmax(axis=1)
    side = []
    for bench, paper in PAPER_LIBRA.items():
        side.append(
            f"| {bench} | {paper:.2f} | {rho.loc[bench, 'paper-in-sample']:.3f} | "
            f"{rho.loc[bench, 'libra+rank-mean']:.3f} | {rho.loc[bench].drop('paper-in-sample').max():.3f} "
            f"({best_method[bench]}) | "
            f"{rho.loc[bench].drop('paper-in-sample').max() - paper:+.3f} |"
        )
    best = rho.drop(columns=["paper-in-sample"]).max(axis=1)
    beaten = [b for b in PAPER_LIBRA if best[b] >= PAPER_LIBRA[b]]
    below = [b for b in PAPER_LIBRA if best[b] < PAPER_LIBRA[b]]
    free_beaten = [b for b in PAPER_LIBRA if rho.loc[b, "paper-in-sample"] >= PAPER_LIBRA[b]]
    reading = "\n".join(
        [
            f"- With {N_LABELLED} labelled architectures, the best libranas pipeline matches or beats "
            f"the paper's LIBRA on {len(beaten)} of {len(PAPER_LIBRA)} benchmarks with a paper number"
            + (f"; below it on: {', '.join(below)}." if below else "."),
            f"- The training-free LIBRA fusion under the paper's own protocol reaches the paper's number "
            f"on {len(free_beaten)} of {len(PAPER_LIBRA)}. The NB201 and NB301 tables hold the "
            "libranas-computed columns (`lib_*`: L-SWAG, ZiCo, SWAP, MeCo, AZ-NAS, ... wherever "
            "computed for every architecture) next to NAS-Bench-Suite-Zero's 11-13 classic "
            "proxies; the TransNAS-Bench-101 tables hold the classic ones only, while the paper's "
            "LIBRA chose among its own L-SWAG, ZiCo, SWAP, MeCo and others there too.",
            (
                "- NB301: every proxy of the table is weak (best single proxy on 100 labels: "
                f"rho {rho.loc['nb301-cifar10', 'best-proxy']:.2f}); "
                "NAS-Bench-Suite-Zero's own XGBoost needed 1,000 labelled architectures plus an "
                "encoding for 0.705, and the paper's 0.74 is an in-sample number that includes "
                "proxies this table lacks. With 100 labelled architectures we reach the number "
                "shown above."
                if "nb301-cifar10" in below
                else ""
            ),
            "- The learned rankers see only the labelled architectures and are evaluated on held-out "
            "ones, a stricter protocol than the paper's in-sample selection; the architecture's own "
            "features (`+encoding`: one-hot, `+graph`: graph features and one-hot) add most on "
            "NB301 and TransNAS-Bench-101, whose proxies are weak (benchmarks/results/"
            "predictors.md has the ablation).",
        ]
    )
    selected = summary[summary.method == "paper-in-sample"][["benchmark", "selected"]]
    elapsed = time.perf_counter() - start
    text = f"""# LIBRA combinations on the bundled benchmarks

Generated by `python benchmarks/combination.py` (git {C.code_version()}) in {elapsed:.0f} s on {platform.machine()}
({platform.processor() or "cpu"}, 2 cores).

## Protocol
- Benchmarks: every bundled table (`libranas list benchmarks`); targets as described by
  `libranas.datasets.describe_benchmark` (NAS-Bench-Suite-Zero validation accuracies for the
  ~700-cell tables; all-cell tables use the accuracies named there).
- Per seed (seeds {SEEDS.start}..{SEEDS.stop - 1}): {N_LABELLED} labelled architectures drawn
  uniformly; selection and fitting on them only; rho and tau on all the remaining ones.
- Methods: `best-proxy` = the single proxy with the highest rho on the labelled set;
  `libra+rank-mean` = LibraSelector (window 0.1, min information gain, bias re-alignment with
  params) then the mean of normalised ranks; `libra+xgboost` = the same selection then ZCRanker's
  XGBoost; `xgboost-all` = ZCRanker's XGBoost on every proxy of the table;
  `xgboost-all+encoding` = the same plus the space's one-hot; `ranker-all` = `ZCRanker()`
  defaults (the ensemble) on every proxy; `ranker-all+graph` = the same plus
  `ArchFeaturizer` graph features and one-hot.
- `paper-in-sample` = the paper's protocol: LIBRA selection with the labels of ALL architectures,
  rank-mean fusion, evaluated on the same architectures (one number, no seeds).
- Cells: rho mean±std / tau mean±std over the seeds.

## Results
{format_table(summary)}
## Side by side with the paper's LIBRA (Table 1, Spearman)
| benchmark | paper LIBRA | ours, paper protocol | ours, libra+rank-mean, 100 labelled | ours, best with 100 labelled | best - paper |
|---|---|---|---|---|---|
{chr(10).join(side)}

Selections under the paper protocol:
{chr(10).join(f"- {r.benchmark}: {r.selected}" for r in selected.itertuples())}

## Reading
{reading}
"""
    C.write_results(OUT / "combination.md", text)
    print(text)


if __name__ == "__main__":
    main()
