"""The ``libranas`` command line."""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Sequence

from libranas import __version__


def _evaluate(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from libranas.datasets import NonFiniteValuesWarning, list_benchmarks, load_benchmark
    from libranas.evaluation import METHODS, evaluate_benchmark, format_table, summarize

    names = args.benchmarks or list_benchmarks()
    known = set(list_benchmarks())
    unknown = [n for n in names if n not in known]
    if unknown:
        print(f"error: unknown benchmarks {unknown}; bundled: {sorted(known)}", file=sys.stderr)
        return 2
    methods = args.methods.split(",") if args.methods else list(METHODS)
    bad = [m for m in methods if m not in METHODS]
    if bad:
        print(f"error: unknown methods {bad}; known: {sorted(METHODS)}", file=sys.stderr)
        return 2
    seeds = range(args.seed, args.seed + args.seeds)
    start = time.perf_counter()
    results = []
    # disable=None: a bar on a terminal, silent when stderr is not a TTY
    with tqdm(
        total=len(names) * args.seeds, desc="evaluate", unit="seed", disable=None, file=sys.stderr
    ) as bar:
        for name in names:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", NonFiniteValuesWarning)
                bench = load_benchmark(name)
            for w in caught:
                bar.write(f"note: {w.message}", file=sys.stderr)
            bar.set_postfix_str(name)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                results.append(
                    evaluate_benchmark(
                        bench,
                        n_labelled=args.n_labelled,
                        seeds=seeds,
                        methods=methods,
                        progress=bar.update,
                    )
                )
            # e.g. a proxy constant on some labelled sets: report each message once
            for message in dict.fromkeys(str(w.message) for w in caught):
                bar.write(f"note: {name}: {message}", file=sys.stderr)
    import pandas as pd

    summary = summarize(pd.concat(results, ignore_index=True))
    text = format_table(summary, args.format)
    if args.format == "markdown":
        text = (
            f"Spearman rho / Kendall tau (mean ± std over {args.seeds} seeds); fit on "
            f"{args.n_labelled} labelled architectures, evaluated on all the others. "
            "paper-in-sample: LIBRA selection with every label, evaluated on the same "
            "architectures.\n\n" + text
        )
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    print(text, end="")
    print(f"done in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return 0


def _list(args: argparse.Namespace) -> int:
    if args.what == "benchmarks":
        from libranas.datasets import describe_benchmark, list_benchmarks

        for name in list_benchmarks():
            print(f"{name}\t{describe_benchmark(name)['target']}")
    elif args.what == "proxies":
        from libranas.proxies import list_proxies

        print("\n".join(list_proxies()))
    else:
        from libranas.spaces import list_spaces

        print("\n".join(list_spaces()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="libranas", description=__doc__)
    parser.add_argument("--version", action="version", version=f"libranas {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    ev = sub.add_parser(
        "evaluate",
        help="rank correlation of proxies and their LIBRA combinations on bundled benchmarks",
    )
    ev.add_argument("benchmarks", nargs="*", help="bundled benchmark names (default: all)")
    ev.add_argument(
        "--n-labelled",
        type=int,
        default=100,
        help="labelled architectures for selection/fitting (default 100)",
    )
    ev.add_argument("--seeds", type=int, default=10, help="number of seeds (default 10)")
    ev.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    ev.add_argument(
        "--methods",
        default=None,
        help="comma-separated subset of: best-proxy, libra+rank-mean, libra+xgboost, xgboost-all",
    )
    ev.add_argument("--format", choices=["markdown", "csv", "json"], default="markdown")
    ev.add_argument("--output", "-o", default=None, help="also write the table to this file")
    ev.set_defaults(func=_evaluate)

    from libranas.search.cli import add_search_parser

    add_search_parser(sub)

    ls = sub.add_parser("list", help="list bundled benchmarks, proxies or search spaces")
    ls.add_argument("what", choices=["benchmarks", "proxies", "spaces"])
    ls.set_defaults(func=_list)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
