"""``libranas evaluate --transfer SOURCE:TARGET``: select with the source's labels, rank the
target with none of its labels."""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import libranas.cli._common as _common
from libranas.cli._common import UsageError


def _pairs(args: argparse.Namespace, known: list[str]) -> list[tuple[str, str]]:
    if args.benchmarks:
        raise UsageError(
            "--transfer names its benchmarks itself (SOURCE:TARGET); drop the positional "
            f"benchmarks {args.benchmarks}"
        )
    if args.methods:
        raise UsageError("--methods does not apply to --transfer (LIBRA selection + log-rank)")
    if args.full:
        raise UsageError("--full does not apply to --transfer")
    pairs = []
    for text in args.transfer:
        parts = text.split(":")
        if len(parts) != 2 or not all(parts):
            raise UsageError(
                f"--transfer {text!r}: expected SOURCE:TARGET, e.g. nb201-cifar10:nb301-cifar10"
            )
        unknown = [n for n in parts if n not in known]
        if unknown:
            raise UsageError(f"unknown benchmarks {unknown}; bundled: {sorted(known)}")
        if parts[0] == parts[1]:
            raise UsageError(f"--transfer {text!r}: source and target are the same benchmark")
        pairs.append((parts[0], parts[1]))
    return pairs


def _markdown(table: Any, n_labelled: int, n_seeds: int) -> str:
    return (
        f"Transfer: LIBRA's selection on {n_labelled} labelled architectures of the "
        f"source ({n_seeds} seeds), the target ranked by log-rank of the selected "
        "proxies without any of its labels; Spearman rho / Kendall tau over all of the "
        "target's architectures (mean ± std).\n\n"
        "| source | target | selected (most frequent) | rho | tau |\n|---|---|---|---|---|\n"
        + "".join(
            f"| {r.source} | {r.target} | {r.selected} | {r.rho_mean:.3f}±"
            f"{r.rho_std:.3f} | {r.tau_mean:.3f}±{r.tau_std:.3f} |\n"
            for r in table.itertuples()
        )
    )


def run_transfer(args: argparse.Namespace, output: Path | None) -> int:
    import pandas as pd

    from libranas.datasets import list_benchmarks, load_benchmark
    from libranas.evaluation import QUICK_SEEDS, evaluate_transfer, summarize_transfer

    pairs = _pairs(args, list_benchmarks())
    benches = {}
    for name in dict.fromkeys(n for pair in pairs for n in pair):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tables' non-finite notes: see evaluate
            benches[name] = load_benchmark(name)
    for src, _ in pairs:
        if not 7 <= args.n_labelled <= len(benches[src]):
            raise UsageError(
                f"--n-labelled {args.n_labelled}: LIBRA's selection needs 7 to "
                f"{len(benches[src])} labelled architectures of {src}"
            )
    n_seeds = args.seeds or QUICK_SEEDS
    seeds = range(args.seed, args.seed + n_seeds)
    start = time.perf_counter()
    results = []
    for src, tgt in pairs:
        try:
            results.append(
                evaluate_transfer(
                    benches[src], benches[tgt], n_labelled=args.n_labelled, seeds=seeds
                )
            )
        except ValueError as exc:
            raise UsageError(f"--transfer {src}:{tgt}: {exc}") from None
    table = summarize_transfer(pd.concat(results, ignore_index=True))
    if args.format == "csv":
        text = table.to_csv(index=False)
    elif args.format == "json":
        text = table.to_json(orient="records", indent=2)
    else:
        text = _markdown(table, args.n_labelled, n_seeds)
    print(f"done in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return _common.emit(text, output)
