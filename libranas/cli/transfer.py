"""``libranas evaluate --transfer``: ``SOURCE:TARGET`` pairs select with the source's labels
and rank the target with none of its labels; plain table names run leave one space out
(:func:`libranas.transfer.evaluate_transfer`)."""

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
    if args.k is not None:
        raise UsageError("--k applies to leave-one-space-out --transfer (table names, no ':')")
    if args.transfer_columns is not None:
        raise UsageError(
            "--transfer-columns applies to leave-one-space-out --transfer (table names, no ':')"
        )
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
    with_colon = [t for t in args.transfer if ":" in t]
    if with_colon and len(with_colon) < len(args.transfer):
        raise UsageError(
            "--transfer takes either SOURCE:TARGET pairs or plain table names (leave one space "
            f"out), not both: {args.transfer}"
        )
    if not with_colon:
        return run_leave_one_space_out(args, output)
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


def _k_values(text: str | None) -> list[int]:
    if text is None:
        return [0, 10, 20, 50]
    items = [v.strip() for v in text.split(",")]
    if "" in items:
        raise UsageError(f"--k {text!r}: an empty item; expected comma-separated integers, "
                         "e.g. 0,10,20")  # fmt: skip
    try:
        ks = [int(v) for v in items]
    except ValueError:
        raise UsageError(f"--k {text!r}: expected comma-separated integers, e.g. 0,10,20") from None
    if not ks or any(k < 0 for k in ks) or len(set(ks)) != len(ks):
        raise UsageError(f"--k {text!r}: expected distinct integers >= 0, e.g. 0,10,20")
    return ks


def _loso_tables(args: argparse.Namespace, known: list[str]) -> list[str]:
    if args.benchmarks:
        raise UsageError(
            f"--transfer names its tables itself; drop the positional benchmarks {args.benchmarks}"
        )
    if args.methods:
        raise UsageError("--methods does not apply to --transfer (TransferRanker + ZCRanker)")
    if args.full:
        raise UsageError("--full does not apply to --transfer")
    names = list(args.transfer)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(f"unknown benchmarks {unknown}; bundled: {sorted(known)}")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UsageError(f"--transfer lists {twice} twice")
    return names


#: what the TransferRanker of each --transfer-columns choice uses, for the report
TRANSFER_WHAT = {
    "proxies": "the shared proxy columns, Ridge(alpha=1.0)",
    "all": "the shared proxy columns + network features, gradient boosting",
}


def _loso_markdown(rows: Any, ks: list[int], n_splits: int, columns: str) -> str:
    import numpy as np

    head = ["held out", "space"] + (["k=0 transfer"] if 0 in ks else [])
    for k in (k for k in ks if k > 0):
        head += [f"k={k} within", f"k={k} within+transfer"]
    lines = [
        "Leave one space out: a TransferRanker fitted on the tables of every other space "
        f"({TRANSFER_WHAT[columns]}; --transfer-columns {columns}; rank-normalised within each "
        "table) ranks the held-out table with zero of its labels (k=0: rho on all of it)"
        + (
            f"; with k labels ({n_splits} splits) ZCRanker on the table's columns (the shared "
            "proxy columns + network features: within) vs the same plus the transfer "
            "prediction. Spearman rho, mean ± std over the splits."
            if any(k > 0 for k in ks)
            else ". Spearman rho."
        ),
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for name, r in rows.groupby("held_out", sort=False):
        cells = [name, str(r.space.iloc[0])]
        if 0 in ks:
            cells.append(f"{r[(r.k == 0) & (r.method == 'transfer')].rho.mean():.3f}")
        for k in (k for k in ks if k > 0):
            for m in ("within", "within+transfer"):
                v = r[(r.k == k) & (r.method == m)].rho.to_numpy()
                sd = f"±{np.std(v, ddof=1):.3f}" if len(v) > 1 else ""
                cells.append(f"{v.mean():.3f}{sd}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def run_leave_one_space_out(args: argparse.Namespace, output: Path | None) -> int:
    """``--transfer TABLE TABLE ...``: :func:`libranas.transfer.evaluate_transfer`."""
    from libranas.datasets import list_benchmarks, load_benchmark
    from libranas.evaluation import QUICK_SEEDS
    from libranas.transfer import _needs_network_features, evaluate_transfer

    names = _loso_tables(args, list_benchmarks())
    ks = _k_values(args.k)
    spaces = {}
    for name in names:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tables' non-finite notes: see evaluate
            bench = load_benchmark(name, libranas_proxies=False)
        spaces[name] = bench.space
        too_many = [k for k in ks if k > len(bench.y) - 2]
        if too_many:
            raise UsageError(
                f"--k {too_many}: {name} has {len(bench.y)} architectures and k labelled ones "
                f"must leave 2 to rank (k <= {len(bench.y) - 2})"
            )
    if len(set(spaces.values())) < 2:
        raise UsageError(
            f"--transfer {' '.join(names)}: leave one space out needs tables of two spaces at "
            f"least; these are all {next(iter(spaces.values()))!r}"
        )
    n_splits = args.seeds or QUICK_SEEDS
    start = time.perf_counter()
    columns = args.transfer_columns or "proxies"
    building = (
        "building every architecture's network for its network features first (about "
        "0.1-0.2 s each), then "
        if _needs_network_features(columns, ks)
        else ""
    )
    print(
        f"leave one space out over {len(names)} tables: {building}one line per finished "
        "held-out table and k",
        file=sys.stderr,
        flush=True,
    )

    def progress(row: dict[str, Any]) -> None:  # the last split of a (table, k, method)
        if row["k"] == 0 or row["seed"] == args.seed + n_splits - 1:
            print(
                f"  {row['held_out']}: k={row['k']} {row['method']} done "
                f"({time.perf_counter() - start:.0f} s)",
                file=sys.stderr,
                flush=True,
            )

    rows = evaluate_transfer(
        names,
        k_values=ks,
        n_splits=n_splits,
        random_state=args.seed,
        progress=progress,
        columns=columns,
    )
    if args.format == "csv":
        text = rows.to_csv(index=False)
    elif args.format == "json":
        text = rows.to_json(orient="records", indent=2)
    else:
        text = _loso_markdown(rows, ks, n_splits, columns)
    print(f"done in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return _common.emit(text, output)
