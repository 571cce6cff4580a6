"""The ``libranas`` command line."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import sys
import time
import warnings
from collections.abc import Sequence
from typing import Any

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


def _parse_arch(text: str) -> Any:
    """One architecture from the command line or a file line: JSON when it parses to a
    number, list or object (NB201 index, NASLib tuple, DARTS/AutoFormer encodings), else
    the string itself (NB201 string)."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, (int, list, dict)) else text


def _format_arch(arch: Any) -> str:
    """A canonical architecture as text that :func:`_parse_arch` reads back: NB201 strings
    as they are, dataclasses (AutoFormer ``ViTArch``) and tuples (DARTS) as JSON."""
    if isinstance(arch, str):
        return arch
    if dataclasses.is_dataclass(arch) and not isinstance(arch, type):
        arch = dataclasses.asdict(arch)
    try:
        return json.dumps(arch)
    except TypeError:
        return str(arch)


def _parse_band(text: str) -> Any:
    if text in ("auto", "stored"):
        return text
    if text == "none":
        return None
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(
            f"--band must be auto, stored, none or LO,HI (depth percentiles), got {text!r}"
        ) from None
    return (lo, hi)


def _score(args: argparse.Namespace) -> int:
    from libranas.featurizer import ProxyFeaturizer
    from libranas.spaces import get_space

    def fail(message: str) -> int:
        print(f"error: {message}", file=sys.stderr)
        return 2

    try:
        options = {}
        for item in args.space_option:
            key, sep, value = item.partition("=")
            if not sep:
                return fail(f"--space-option must be KEY=VALUE, got {item!r}")
            options[key] = _parse_arch(value)
        space = get_space(args.space, **options)
        band = _parse_band(args.band)
    except (ValueError, TypeError, KeyError) as exc:
        return fail(str(exc))
    archs = [_parse_arch(a) for a in args.archs]
    if args.archs_file:
        with open(args.archs_file, encoding="utf-8") as fh:
            archs += [_parse_arch(line.strip()) for line in fh if line.strip()]
    if args.random:
        archs += space.sample(args.random, random_state=args.seed)
    if not archs:
        return fail("no architectures: pass them as arguments, --archs-file or --random N")
    proxies = args.proxies.split(",") if args.proxies else None
    data: Any = args.data
    if args.dataset is not None:
        if data is None:
            return fail("--dataset needs --data")
        from libranas.datasets import load_image_batch

        try:
            data = load_image_batch(
                data, n=args.batch_size, dataset=args.dataset, random_state=args.seed
            )
        except (ValueError, OSError) as exc:
            return fail(str(exc))
    feat = ProxyFeaturizer(
        space,
        proxies=proxies,
        data=data,
        batch_size=args.batch_size,
        device=args.device,
        lswag_band=band,
        n_jobs=args.n_jobs,
        random_state=args.seed,
        verbose=1,
        store=args.store,
    )
    start = time.perf_counter()
    # the featurizer's messages go to stderr: stdout may carry the CSV
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(sys.stderr):
        warnings.simplefilter("always")
        try:
            feat.fit()
            table = feat.set_output(transform="pandas").transform(archs)
        except (ValueError, TypeError) as exc:
            return fail(str(exc))
    for message in dict.fromkeys(str(w.message) for w in caught):
        print(f"warning: {message}", file=sys.stderr)
    table.insert(0, "arch", [_format_arch(space.validate(a)) for a in archs])
    if args.output:
        table.to_csv(args.output, index=False)
    else:
        table.to_csv(sys.stdout, index=False)
        sys.stdout.flush()
    print(
        f"scored {len(archs)} architectures x {table.shape[1] - 1} proxies on "
        f"{feat.device_} in {time.perf_counter() - start:.1f} s"
        + (f" (L-SWAG band {feat.lswag_band_})" if feat.lswag_band_ is not None else ""),
        file=sys.stderr,
    )
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

    sc = sub.add_parser(
        "score",
        help="zero-cost proxy scores of architectures (ProxyFeaturizer) as CSV",
        description=(
            "Build every architecture at initialisation and score it with the requested "
            "proxies from one shared pass per network. Writes CSV: the canonical architecture, "
            "then one column per proxy (NaN where a proxy failed, with a warning)."
        ),
    )
    sc.add_argument(
        "archs", nargs="*", help="architectures (NB201 string or index, or JSON encodings)"
    )
    sc.add_argument("--archs-file", default=None, help="one architecture per line")
    sc.add_argument("--random", type=int, default=0, help="also score N random architectures")
    sc.add_argument("--space", default="nb201", help="search space (see `libranas list spaces`)")
    sc.add_argument(
        "--space-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="option of the space, e.g. img_size=32 (repeatable)",
    )
    sc.add_argument(
        "--proxies", default=None, help="comma-separated proxy names (default: all registered)"
    )
    sc.add_argument(
        "--data",
        default=None,
        help=".npz file of uint8 images x (N, 3, H, W) and labels y (needed by every proxy "
        "except params / flops / l2_norm); normalisation from the file name (e.g. "
        "cifar10_960_uint8.npz) or --dataset",
    )
    sc.add_argument(
        "--dataset",
        default=None,
        help="normalisation of --data: cifar10, cifar100 or imagenet16 (default: from its name)",
    )
    sc.add_argument("--batch-size", type=int, default=64)
    sc.add_argument("--band", default="auto", help="L-SWAG band: auto, stored, none or LO,HI")
    sc.add_argument("--device", default="auto", help="auto, cpu or cuda")
    sc.add_argument("--n-jobs", type=int, default=None)
    sc.add_argument("--seed", type=int, default=0, help="initialisation and sampling seed")
    sc.add_argument("--store", default=None, help="SQLite score store (resumable, cached)")
    sc.add_argument("--output", "-o", default=None, help="CSV file (default: standard output)")
    sc.set_defaults(func=_score)

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
