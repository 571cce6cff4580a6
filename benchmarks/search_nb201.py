"""Zero-shot search on NAS-Bench-201 from the bundled tables -> results/search_nb201.md.

For CIFAR-10, CIFAR-100 and ImageNet16-120, 10 seeds, budgets of 100 / 300 / 1000 evaluated
architectures (the labelled ones included), three search methods with the same scorer (a
LIBRA pipeline: LibraSelector + XGBoost ZCRanker on the selected proxies and the one-hot cell
encoding, calibrated in two rounds on <= 100 labelled architectures, see
``libranas.search.protocol``):

(a) random: score ``budget`` random architectures, return the top;
(b) evolution: aging evolution (population 50, tournament 10, 10 children per generation);
(c) tpe: Optuna TPE (multivariate, constant liar, batches of 10).

Plus one-round calibration (all labels random) for (b) at budget 1000, to show what the second
round adds. Reported: true 200-epoch TEST accuracy of the returned architecture (never seen by
the search; labels are validation accuracies), mean ± std over seeds, and the wall time of our
scoring (tabular: table look-ups + pipeline predictions, not the GPU time the proxies cost).

Run: ``python benchmarks/search_nb201.py [--seeds 10] [--out benchmarks/results/search_nb201.md]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budgets", default="100,300,1000")
    parser.add_argument("--tasks", default="cifar10,cifar100,imagenet16-120")
    parser.add_argument("--out", default=str(C.RESULTS / "search_nb201.md"))
    parser.add_argument(
        "--from-json", action="store_true", help="only re-render the table from <out>.json"
    )
    args = parser.parse_args()

    import optuna
    import torch

    from libranas.search.protocol import search

    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore")
    budgets = [int(b) for b in args.budgets.split(",")]
    tasks = args.tasks.split(",")
    runs = []
    start = time.perf_counter()
    configs = [(m, b, True) for b in budgets for m in ("random", "evolution", "tpe")]
    configs.append(("evolution", max(budgets), False))
    out = Path(args.out)
    if args.from_json:
        runs = json.loads(out.with_suffix(".json").read_text())
        tasks = list(dict.fromkeys(r["task"] for r in runs))
    for task in tasks if not args.from_json else []:
        for method, budget, refine in configs:
            for seed in range(args.seeds):
                r = search(
                    "nb201",
                    task,
                    budget=budget,
                    labelled=min(100, budget // 2),
                    method=method,
                    refine=refine,
                    random_state=seed,
                )
                runs.append({k: v for k, v in r.items() if k not in ("trajectory", "labelled")})
            last = runs[-args.seeds :]
            print(
                f"{task:15s} {method:9s} refine={refine!s:5s} N={budget:5d} "
                f"test {np.mean([x['test_acc'] for x in last]):.2f} "
                f"± {np.std([x['test_acc'] for x in last]):.2f}  "
                f"({time.perf_counter() - start:.0f} s)",
                flush=True,
            )

    out.parent.mkdir(parents=True, exist_ok=True)
    if not args.from_json:
        C.write_results(out.with_suffix(".json"), json.dumps(runs, indent=1))
    total = sum(r["seconds"] for r in runs)
    lines = [
        "# Zero-shot search on NAS-Bench-201 (tabular mode)",
        "",
        f"Command: `python benchmarks/search_nb201.py --seeds {args.seeds}` "
        f"(sum of the searches' wall times {total:.0f} s on 2 shared CPU cores; per-run "
        "records in `search_nb201.json`).",
        "",
        "**Protocol.** N = distinct architectures evaluated (proxies looked up), *including* the",
        "labelled ones (labelled = min(100, N/2); their validation accuracy is read from the",
        "table, so they count as evaluated and trained). Scorer: LIBRA pipeline",
        "(LibraSelector -> XGBoost ZCRanker on the 3 selected proxies + the 30-column one-hot",
        "cell encoding, `rank_transform=True`). Two-round calibration: half of the labels on",
        "random cells, the other half on the best-scored cells after half of the budget, then",
        "the pipeline is re-fitted and the search continues; the returned architecture is the",
        "final pipeline's top among all evaluated ones. Labels: CIFAR-10",
        "`cifar10_valid_acc_200ep` (NB201 x-valid), ImageNet16-120 200-epoch validation",
        "accuracy (9,445-cell table; functional duplicates take their pruned form's value),",
        "CIFAR-100 NAS-Bench-Suite-Zero single-seed validation accuracy, which exists for only",
        "~725 cells (labelled cells are drawn from those, and the second round can only label",
        "the few evaluated cells that have one). The reported accuracy is the 200-epoch TEST",
        "accuracy of the returned cell (NATS-Bench), never read by the search.",
        "",
        "**Proxies (tabular).** FreeREA synflow/logsynflow/naswot/nregions of the cell itself",
        "(nregions missing on ImageNet16-120), NATS params and analytic FLOPs of the cell, and",
        "on CIFAR-10 / ImageNet16-120 11 NAS-Bench-Suite-Zero proxies of the 9k tables",
        "(computed on that dataset). The 9k tables cover 9,445 cells: exactly the cells without",
        "dead edges (edges off every input-output path). The other 6,180 are functional",
        "duplicates (dead edges add parameters, not function) and take the 9k proxies of their",
        "pruned form (`nb201_pruned`). CIFAR-100 has no 9k table: FreeREA + size only.",
        "",
        "Optimum (best test accuracy in the space): CIFAR-10 94.37, CIFAR-100 73.51,",
        "ImageNet16-120 47.31. Published training-free searches (ANCHORS.md): about 93.5-93.8 on",
        "CIFAR-10 (AZ-NAS 93.49, APD 93.76), with no labels at all.",
        "",
    ]
    optimum = {r["task"]: r["optimum_test_acc"] for r in runs}  # the table's best test accuracy
    for task in tasks:
        lines += [
            f"## {task} (optimum {optimum[task]:.2f})",
            "",
            "| method | N evaluated | labelled | test acc of returned arch (mean ± std) | min | "
            "returned = labelled | scoring wall time per search (s) |",
            "|---|---|---|---|---|---|---|",
        ]
        for method, budget, refine in configs:
            sel = [
                r
                for r in runs
                if r["task"] == task
                and r["method"] == method
                and r["budget"] == budget
                and r["refine"] == refine
            ]
            acc = np.array([r["test_acc"] for r in sel])
            name = {"random": "(a) random + proxy ranking", "evolution": "(b) evolution",
                    "tpe": "(c) Optuna TPE"}[method]  # fmt: skip
            if not refine:
                name += ", one-round calibration"
            lines.append(
                f"| {name} | {budget} | {int(np.mean([r['n_labelled'] for r in sel]))} | "
                f"{acc.mean():.2f} ± "
                f"{acc.std():.2f} | {acc.min():.2f} | "
                f"{sum(r['best_is_labelled'] for r in sel)}/{len(sel)} | "
                f"{np.mean([r['score_seconds'] for r in sel]):.2f} |"
            )
        lines.append("")
    c10 = [
        r
        for r in runs
        if r["task"] == "cifar10" and r["method"] == "evolution" and r["budget"] == 1000
        and r["refine"]
    ]  # fmt: skip
    if c10:
        m = np.mean([r["test_acc"] for r in c10])
        lines += [
            "## Check",
            "",
            f"CIFAR-10, tabular, 1000 evaluated, 100 labelled, evolution: mean test accuracy "
            f"{m:.2f} over {len(c10)} seeds (required >= 93.9: "
            f"{'met' if m >= 93.9 else 'NOT met'}).",
            "",
            "## Reading",
            "",
            "- Where the gain comes from: with all 100 labels on random cells (one-round",
            "  calibration) evolution returns "
            f"{np.mean([r['test_acc'] for r in runs if r['task'] == 'cifar10' and not r['refine']]):.2f}"
            " on CIFAR-10, below 93.9: a search seeks out the",
            "  predictor's false positives. Spending half of the labels on the best-scored",
            "  candidates (a quarter mid-search, a quarter at the end) corrects them, and the",
            "  returned cell is then nearly always one of the labelled ones (column 'returned =",
            "  labelled'): the re-fitted pipeline, having seen their validation accuracies, ranks",
            "  one of them first, so in effect the final choice among the top candidates the",
            "  zero-cost pipeline proposes is made by validation accuracy. This is within the",
            "  <= 100 labels budget",
            "  but it is *not* a label-free search; the published training-free results",
            "  (93.5-93.8) use no labels at all.",
            "- The labels are validation accuracies; the test accuracy is only read for this table.",
            "- CIFAR-100: validation labels exist for ~725 cells only, so fewer than 100 cells get",
            "  labelled (column 'labelled', mean over seeds rounded down) and the returned cell is",
            "  often an unlabelled one; results are noisier.",
            "- Scoring time is the tabular look-up + XGBoost prediction wall time per search, not",
            "  the cost of computing the proxies (not bundled; see ANCHORS.md for GPU costs).",
            "",
        ]
    C.write_results(out, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
