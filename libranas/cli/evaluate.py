"""``libranas evaluate``: how well proxies, LIBRA and the rankers rank bundled benchmarks.

Without arguments a quick default (under a minute on 2 cores): the 724-cell NB201 tables and
NB301, four methods, 10 splits. ``--full`` is the whole study: every bundled table, every
method, 30 splits.
"""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
import time
import warnings
from typing import Any

import libranas.cli._common as _common
from libranas._evaluate_defaults import (
    FULL_SEEDS,
    QUICK_BENCHMARKS,
    QUICK_METHODS,
    QUICK_SEEDS,
)
from libranas._resources import cap_n_jobs
from libranas.cli._common import EXIT_STATUS, UsageError, check_output_path, int_at_least

#: measured on this project's shared 2-core machine (see docs/results.rst)
FULL_TIME = "about 20-25 minutes on a busy 2-core machine"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register ``libranas evaluate`` on the command line's subparsers ``sub``."""
    ev = sub.add_parser(
        "evaluate",
        help="how well proxies, LIBRA and the rankers rank the architectures of bundled "
        "benchmarks (quick default; --full for the whole study)",
        description=_description(),
        epilog=EXIT_STATUS,
    )
    # the order of these calls is the order of the options in --help
    _add_study_arguments(ev)
    _add_transfer_arguments(ev)
    _add_output_arguments(ev)
    ev.set_defaults(func=run)
    return ev


def _description() -> str:
    """The ``--help`` description: the protocol, the quick default and ``--full``."""
    return (
        "Spearman rho between each method's scores and the table's validation accuracy: "
        "per split, --n-labelled architectures are drawn to fit on and every other one "
        f"is ranked. Default: {', '.join(QUICK_BENCHMARKS)} with "
        f"{', '.join(QUICK_METHODS)}, {QUICK_SEEDS} splits (under a minute on 2 cores). "
        f"--full: every bundled table, every method, {FULL_SEEDS} splits ({FULL_TIME})."
    )


def _add_study_arguments(ev: argparse.ArgumentParser) -> None:
    """The study's options: benchmarks, labelled count, splits, parallel jobs, methods."""
    ev.add_argument(
        "benchmarks", nargs="*", help="bundled benchmark names (`libranas list benchmarks`)"
    )
    ev.add_argument(
        "--full",
        action="store_true",
        help=f"the whole study: every table, every method, {FULL_SEEDS} splits ({FULL_TIME})",
    )
    ev.add_argument(
        "--n-labelled",
        type=int,
        default=100,
        help="labelled architectures for selection/fitting (default 100; at least 7 for the "
        "LIBRA methods, 4 for xgboost-all, and 2 fewer than the benchmark's architectures)",
    )
    ev.add_argument(
        "--seeds",
        type=int_at_least(1),
        default=None,
        help=f"number of splits (default {QUICK_SEEDS}; {FULL_SEEDS} with --full)",
    )
    ev.add_argument("--seed", type=int_at_least(0), default=0, help="first seed (default 0)")
    ev.add_argument(
        "--n-jobs",
        type=_common.n_jobs,
        default=-1,
        help="splits evaluated in parallel (joblib; default -1: every core); the results do "
        "not depend on it. --transfer runs in one process",
    )
    ev.add_argument(
        "--methods",
        default=None,
        help="comma-separated subset of: best-proxy, libra+rank-mean, libra+xgboost, "
        "xgboost-all, xgboost-all+encoding, ranker-all, ranker-all+graph, "
        "training-free-default (default: the four above; every one with --full)",
    )


def _add_transfer_arguments(ev: argparse.ArgumentParser) -> None:
    """The transfer protocol's options: ``--transfer``, ``--k``, ``--transfer-columns``."""
    ev.add_argument(
        "--transfer",
        nargs="+",
        metavar="SOURCE:TARGET | TABLE",
        default=None,
        help="transfer protocol instead. SOURCE:TARGET pairs: LIBRA's selection with "
        "--n-labelled labels of SOURCE (--seeds splits), TARGET ranked by a log-rank fusion of "
        "the selected proxies with none of its labels (e.g. nb201-cifar10:nb301-cifar10). "
        "Plain table names (two spaces at least): leave one space out -- each table in turn "
        "ranked by a TransferRanker fitted on the tables of the other spaces (see "
        "--transfer-columns; rank-normalised within each table) with zero of its labels, and "
        "with --k labels as a feature of the within-space ZCRanker on the proxies every table "
        "has + network features (e.g. nb201-cifar10 nb301-cifar10 tnb101-micro-normal); "
        "builds every architecture's network (seconds to minutes per table) unless --k is 0 "
        "alone with --transfer-columns proxies (the default)",
    )
    ev.add_argument(
        "--k",
        default=None,
        metavar="K,K,...",
        help="leave-one-space-out --transfer: labelled architectures of the held-out table, "
        "comma-separated (default 0,10,20,50; 0 = the transfer prediction alone)",
    )
    ev.add_argument(
        "--transfer-columns",
        choices=["proxies", "all"],
        default=None,
        help="leave-one-space-out --transfer: the TransferRanker's columns and model. proxies "
        "(default): the proxy columns every table has, Ridge(alpha=1.0), the transfer "
        "benchmarks/transfer_columns.py chose (mean zero-label rho 0.588 vs 0.559); all: "
        "proxies + network features, gradient boosting",
    )


def _add_output_arguments(ev: argparse.ArgumentParser) -> None:
    """The output's options: ``--format``, ``--verbose``, ``--output``."""
    ev.add_argument("--format", choices=["markdown", "csv", "json"], default="markdown")
    ev.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        help="Kendall's tau and the spreads in the table, and every data note",
    )
    ev.add_argument(
        "--output",
        "-o",
        default=None,
        help="also write the table to this file (atomically; with tau and the spreads)",
    )


def _choose(args: argparse.Namespace) -> tuple[list[str], list[str], int]:
    """Benchmarks, methods and number of splits: the quick default or ``--full``, each
    overridden by an explicit option."""
    from libranas.datasets import list_benchmarks
    from libranas.evaluation import METHODS

    known = list_benchmarks()
    names = list(dict.fromkeys(args.benchmarks)) or list(known if args.full else QUICK_BENCHMARKS)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(f"unknown benchmarks {unknown}; bundled: {sorted(known)}")
    methods = _common.name_list("--methods", args.methods) or list(
        METHODS if args.full else QUICK_METHODS
    )
    bad = [m for m in methods if m not in METHODS]
    if bad:
        raise UsageError(f"unknown methods {bad}; known: {sorted(METHODS)}")
    seeds = args.seeds or (FULL_SEEDS if args.full else QUICK_SEEDS)
    return names, methods, seeds


def _require_extras(methods: list[str]) -> None:
    """The learned methods need xgboost: say so before anything runs."""
    from sklearn.pipeline import Pipeline

    from libranas.evaluation import METHODS
    from libranas.ranker import XGBOOST_METHODS, ZCRanker

    for method in methods:
        model = METHODS[method](0, [])
        steps = [s for _, s in model.steps] if isinstance(model, Pipeline) else [model]
        if any(isinstance(s, ZCRanker) and s._resolved_method() in XGBOOST_METHODS for s in steps):
            _common.require("xgboost", f"libranas evaluate's method {method}")


def _count_missing(message: str) -> int:
    """Values a data note says are missing: the sum of ``name: k`` in ``(... of N
    architectures)``; 0 when the note has no such count."""
    total = 0
    for group in re.findall(r"\(([^()]*) of \d+ architectures\)", message):
        total += sum(int(k) for k in re.findall(r": (\d+)", group))
    return total


def _load(names: list[str], n_labelled: int) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The benchmarks, and the data notes their loading raised (per benchmark)."""
    from libranas.datasets import load_benchmark

    benches, notes = {}, {}
    for name in names:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            bench = load_benchmark(name)
        notes[name] = [str(w.message) for w in caught]
        if n_labelled > len(bench) - 2:
            raise UsageError(
                f"--n-labelled {n_labelled} leaves fewer than 2 of the {len(bench)} "
                f"architectures of {name} for evaluation (use at most {len(bench) - 2})"
            )
        benches[name] = bench
    return benches, notes


def _note_line(name: str, messages: list[str]) -> str:
    """All of a benchmark's data notes as one line."""
    missing = sum(_count_missing(m) for m in messages)
    what = (
        f"{missing} proxy values missing or failed in the table, kept as NaN"
        if missing
        else f"{len(messages)} note(s)"
    )
    return f"note: {name}: {what} (-v for details)"


def _run(
    args: argparse.Namespace, benches: dict[str, Any], methods: list[str], n_seeds: int
) -> tuple[Any, dict[str, list[str]]]:
    """Every benchmark in turn; one progress line per finished benchmark on stderr (and a
    bar on a terminal). Returns the per-split results and the per-benchmark notes."""
    import pandas as pd
    from tqdm.auto import tqdm

    from libranas.evaluation import evaluate_benchmark

    seeds = range(args.seed, args.seed + n_seeds)
    results, notes = [], {}
    tty = sys.stderr.isatty()
    with tqdm(total=len(benches) * n_seeds, unit="split", disable=not tty, file=sys.stderr) as bar:
        for k, (name, bench) in enumerate(benches.items(), 1):
            bar.set_description(name)
            start = time.perf_counter()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                results.append(
                    evaluate_benchmark(
                        bench,
                        n_labelled=args.n_labelled,
                        seeds=seeds,
                        methods=methods,
                        progress=bar.update,
                        n_jobs=cap_n_jobs(args.n_jobs, len(seeds)),  # bounded by the work
                    )
                )
            # e.g. a proxy constant on some labelled sets: each message once
            notes[name] = list(dict.fromkeys(str(w.message) for w in caught))
            line = (
                f"[{k}/{len(benches)}] {name}: {n_seeds} splits in "
                f"{time.perf_counter() - start:.1f} s"
            )
            bar.write(line, file=sys.stderr) if tty else print(line, file=sys.stderr)
    return pd.concat(results, ignore_index=True), notes


def _header(n_labelled: int, n_seeds: int, verbose: bool) -> str:
    """The line above the table: what a cell is and the protocol in one sentence."""
    what = "rho±std / Kendall tau±std" if verbose else "mean rho"
    return (
        "Spearman rho between each method's scores and the table's validation accuracy "
        f"(1 = the same order), {what} over {n_seeds} splits: each split draws {n_labelled} "
        "labelled architectures to fit on and ranks all the others.\n\n"
    )


def _legend(summary: Any) -> str:
    """One wrapped line per method of the table, and what a blank or marked cell means."""
    from libranas.evaluation import METHOD_DESCRIPTIONS

    methods = list(dict.fromkeys(summary["method"]))
    width = max(len(m) for m in methods)
    lines = ["", "Methods:"]
    indent = " " * (width + 4)
    for m in methods:
        text = f"  {m:<{width}}  {METHOD_DESCRIPTIONS.get(m, '')}"
        lines += textwrap.wrap(text, 96, subsequent_indent=indent)
    note = (
        "A blank cell: the method does not apply there (no libranas lib_* columns, or no "
        "graph features for that space). (k unscored): evaluated architectures with no finite "
        "score, left out of rho."
    )
    lines += textwrap.wrap(note, 96, initial_indent="  ", subsequent_indent="  ")
    return "\n".join(lines) + "\n"


def _summary(summary: Any, seconds: float, args: argparse.Namespace) -> str:
    """The best method per benchmark and the time taken."""
    from libranas.evaluation import best_methods

    best = best_methods(summary)
    lines = ["", "Best method per benchmark (same protocol; paper-in-sample left out):"]
    lines += [f"  {r.benchmark}: {r.method} {r.rho_mean:.3f}" for r in best.itertuples()]
    more = "" if args.full else " `libranas evaluate --full` runs the whole study."
    lines.append(f"Took {seconds:.1f} s.{more}")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    """``libranas evaluate``: the study (or ``--transfer``), printed or written; exit status."""
    # the output path first: a bad one fails at once, before any heavy import
    output = check_output_path(args.output) if args.output else None
    if args.k is not None and not args.transfer:
        raise UsageError("--k applies only to --transfer with table names (leave one space out)")
    if args.transfer_columns is not None and not args.transfer:
        raise UsageError(
            "--transfer-columns applies only to --transfer with table names (leave one space out)"
        )
    if args.transfer:
        from libranas.cli.transfer import run_transfer

        return run_transfer(args, output)
    from libranas.evaluation import format_table, min_labelled, summarize

    names, methods, n_seeds = _choose(args)
    need = min_labelled(methods)
    if args.n_labelled < need:
        raise UsageError(
            f"--n-labelled {args.n_labelled} is too few: the methods {methods} need at least "
            f"{need} labelled architectures"
        )
    _require_extras(methods)
    benches, load_notes = _load(names, args.n_labelled)
    start = time.perf_counter()
    results, run_notes = _run(args, benches, methods, n_seeds)
    seconds = time.perf_counter() - start
    for name in benches:
        messages = load_notes[name] + [f"{name}: {m}" for m in run_notes[name]]
        # a requested method that could not run is about the request, not the data: in full
        for message in [m for m in messages if "cannot run on" in m]:
            print(f"note: {message}", file=sys.stderr)
        messages = [m for m in messages if "cannot run on" not in m]
        if args.verbose:
            for message in messages:
                print(f"note: {message}", file=sys.stderr)
        elif messages:
            print(_note_line(name, messages), file=sys.stderr)

    summary = summarize(results)
    if args.format != "markdown":
        text = format_table(summary, args.format)
        print(f"done in {seconds:.1f} s", file=sys.stderr)
        return _common.emit(text, output)
    header = _header(args.n_labelled, n_seeds, args.verbose)
    table = format_table(summary, spreads=args.verbose)
    tail = _legend(summary) + _summary(summary, seconds, args)
    full = header.replace("mean rho", "rho±std / Kendall tau±std") + format_table(summary)
    return _common.emit(header + table + tail, output, file_text=full + tail)
