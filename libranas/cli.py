"""The ``libranas`` command line.

Every argument, input file and output path is checked before anything is computed; a user
error is one line on standard error (``error: ...``) and exit status 2. Results are printed
(or, with ``-o``, written) before anything else can fail, and files are written atomically
(a temporary file in the same folder, then renamed), so an interrupted or failed run never
leaves a half-written file.

Exit status: 0 success; 2 invalid arguments, input files or output paths (nothing was
computed); 1 the results were computed and printed or written, but the score store (or an
output file) could not be written; 130 interrupted (Ctrl-C; one line says how to resume);
141 standard output closed by its reader (``| head``), ended quietly. ``--n-jobs`` is capped
at the cores and at the work (splits, architectures).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from libranas import __version__
from libranas._resources import (  # issue 25
    DEFAULT_TORCH_THREADS,
    cap_n_jobs,
    check_random_count,
    set_torch_threads,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
_EXIT_STATUS = (
    "exit status: 0 success; 2 invalid arguments, input files or output paths (nothing "
    "computed); 1 results computed and printed/written, but the score store or an output file "
    "could not be written; 130 interrupted (Ctrl-C); 141 output pipe closed"
)


class UsageError(Exception):
    """A problem with the command line: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (``error: ...``) naming the problem."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"error: {message} (see `{self.prog} --help`)\n")
        raise SystemExit(EXIT_USAGE)


# ---------------------------------------------------------------------------- argument types


def _int_at_least(low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
        return value

    parse.__name__ = f"int >= {low}"
    return parse


def _n_jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value == 0:
        raise argparse.ArgumentTypeError("must not be 0 (use 1 for one job, -1 for all cores)")
    return value


def _name_list(option: str, text: str | None) -> list[str] | None:
    """A comma-separated list of names; None when the option was not given."""
    if text is None:
        return None
    names = [n.strip() for n in text.split(",")]
    if not text.strip() or not all(names):
        raise UsageError(
            f"{option} {text!r} has an empty name; give comma-separated names (omit the "
            "option for the default)"
        )
    return names


# ---------------------------------------------------------------------------- files


def check_output_path(path: str, option: str = "--output") -> Path:
    """An output file that can be written: its folder exists and accepts a new file.

    Checked by creating (and removing) a temporary file in that folder, the way the result
    will be written, so a bad path fails here, before any computation.
    """
    out = Path(path)
    if not str(path).strip():
        raise UsageError(f"{option} is empty")
    if out.is_dir():
        raise UsageError(f"{option} {path!r} is a directory; give a file name")
    parent = out.parent
    if not parent.is_dir():
        what = "is not a directory" if parent.exists() else "does not exist"
        raise UsageError(f"{option} {path!r}: folder {str(parent)!r} {what}")
    if out.exists() and not os.access(out, os.W_OK):
        raise UsageError(f"{option} {path!r} exists and is not writable")
    try:
        with tempfile.NamedTemporaryFile(dir=parent, prefix=f".{out.name}.", suffix=".tmp"):
            pass
    except OSError as exc:
        raise UsageError(
            f"{option} {path!r}: cannot create a file in {str(parent)!r} ({exc.strerror})"
        ) from None
    return out


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder + rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp creates the file 0600; give it the mode a plain open() would have
        if path.exists():
            mode = path.stat().st_mode & 0o777
        else:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def check_input_file(path: str, option: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise UsageError(f"{option} {path!r} does not exist")
    if not p.is_file():
        raise UsageError(f"{option} {path!r} is not a file")
    if not os.access(p, os.R_OK):
        raise UsageError(f"{option} {path!r} is not readable")
    return p


def check_store_path(path: str) -> Path:
    """A score store that can be opened and written (checked without creating it)."""
    import sqlite3

    p = Path(path)
    if p.is_dir():
        raise UsageError(f"--store {path!r} is a directory; give a file name (e.g. scores.db)")
    if p.exists():
        if not os.access(p, os.R_OK | os.W_OK) or not os.access(p.parent, os.W_OK):
            raise UsageError(
                f"--store {path!r} is read-only (the file or its folder): scores could not be "
                "saved; give a writable store or omit --store"
            )
        try:
            uri = f"{p.resolve().as_uri()}?mode=ro"
            with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
                conn.execute("PRAGMA schema_version").fetchone()
        except sqlite3.DatabaseError as exc:
            raise UsageError(f"--store {path!r} is not a SQLite score store ({exc})") from None
        return p
    ancestor = p.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir() or not os.access(ancestor, os.W_OK):
        raise UsageError(f"--store {path!r}: cannot create it under {str(ancestor)!r}")
    return p


# ---------------------------------------------------------------------------- evaluate


def _evaluate(args: argparse.Namespace) -> int:
    # the output path first: a bad one fails at once, before any heavy import
    output = check_output_path(args.output) if args.output else None
    from tqdm.auto import tqdm

    from libranas.datasets import list_benchmarks, load_benchmark
    from libranas.evaluation import (
        METHODS,
        evaluate_benchmark,
        format_table,
        min_labelled,
        summarize,
    )

    # --- every check before any computation
    known = list_benchmarks()
    if args.transfer:
        return _evaluate_transfer(args, known, output)
    names = args.benchmarks or known
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(f"unknown benchmarks {unknown}; bundled: {sorted(known)}")
    methods = _name_list("--methods", args.methods) or list(METHODS)
    bad = [m for m in methods if m not in METHODS]
    if bad:
        raise UsageError(f"unknown methods {bad}; known: {sorted(METHODS)}")
    need = min_labelled(methods)
    if args.n_labelled < need:
        raise UsageError(
            f"--n-labelled {args.n_labelled} is too few: the methods {methods} need at least "
            f"{need} labelled architectures"
        )
    benches, notes = {}, []
    for name in dict.fromkeys(names):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            bench = load_benchmark(name)
        notes += [f"note: {w.message}" for w in caught]
        if args.n_labelled > len(bench) - 2:
            raise UsageError(
                f"--n-labelled {args.n_labelled} leaves fewer than 2 of the {len(bench)} "
                f"architectures of {name} for evaluation (use at most {len(bench) - 2})"
            )
        benches[name] = bench
    for note in notes:
        print(note, file=sys.stderr)

    # --- computation
    import pandas as pd

    seeds = range(args.seed, args.seed + args.seeds)
    start = time.perf_counter()
    results = []
    # disable=None: a bar on a terminal, silent when stderr is not a TTY
    with tqdm(
        total=len(names) * args.seeds, desc="evaluate", unit="seed", disable=None, file=sys.stderr
    ) as bar:
        for name in names:
            bar.set_postfix_str(name)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                results.append(
                    evaluate_benchmark(
                        benches[name],
                        n_labelled=args.n_labelled,
                        seeds=seeds,
                        methods=methods,
                        progress=bar.update,
                        n_jobs=cap_n_jobs(args.n_jobs, len(seeds)),  # issue 25: bounded
                    )
                )
            # e.g. a proxy constant on some labelled sets: report each message once
            for message in dict.fromkeys(str(w.message) for w in caught):
                bar.write(f"note: {name}: {message}", file=sys.stderr)

    summary = summarize(pd.concat(results, ignore_index=True))
    text = format_table(summary, args.format)
    if args.format == "markdown":
        text = (
            f"Spearman rho / Kendall tau (mean ± std over {args.seeds} seeds); fit on "
            f"{args.n_labelled} labelled architectures, evaluated on all the others. "
            "paper-in-sample: LIBRA selection with every label, evaluated on the same "
            "architectures.\n\n" + text
        )
    return _emit_table(text, output, start)


def _emit_table(text: str, output: Any, start: float) -> int:
    """The table on standard output first, then ``--output`` (a failed write loses nothing)."""
    print(text, end="")
    sys.stdout.flush()
    print(f"done in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    if output is not None:
        try:
            write_atomic(output, text)
        except OSError as exc:
            print(
                f"error: could not write --output {str(output)!r} ({exc}); the table is on "
                "standard output above",
                file=sys.stderr,
            )
            return EXIT_FAILED
    return EXIT_OK


def _evaluate_transfer(args: argparse.Namespace, known: list[str], output: Any) -> int:
    """``libranas evaluate --transfer SOURCE:TARGET ...``: select with the source's labels,
    rank the target with none of its labels."""
    from libranas.datasets import load_benchmark
    from libranas.evaluation import evaluate_transfer, summarize_transfer

    if args.benchmarks:
        raise UsageError(
            "--transfer names its benchmarks itself (SOURCE:TARGET); drop the positional "
            f"benchmarks {args.benchmarks}"
        )
    if args.methods:
        raise UsageError("--methods does not apply to --transfer (LIBRA selection + log-rank)")
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
    import pandas as pd

    seeds = range(args.seed, args.seed + args.seeds)
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
        text = (
            f"Transfer: LIBRA's selection on {args.n_labelled} labelled architectures of the "
            f"source ({args.seeds} seeds), the target ranked by log-rank of the selected "
            "proxies without any of its labels; Spearman rho / Kendall tau over all of the "
            "target's architectures (mean ± std).\n\n"
            "| source | target | selected (most frequent) | rho | tau |\n|---|---|---|---|---|\n"
            + "".join(
                f"| {r.source} | {r.target} | {r.selected} | {r.rho_mean:.3f}±"
                f"{r.rho_std:.3f} | {r.tau_mean:.3f}±{r.tau_std:.3f} |\n"
                for r in table.itertuples()
            )
        )
    return _emit_table(text, output, start)


# ---------------------------------------------------------------------------- score


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
        raise UsageError(
            f"--band must be auto, stored, none or LO,HI (depth percentiles), got {text!r}"
        ) from None
    return (lo, hi)


def _read_archs_file(path: str) -> list[Any]:
    p = check_input_file(path, "--archs-file")
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--archs-file {path!r} cannot be read as text ({exc})") from None
    return [_parse_arch(line.strip()) for line in lines if line.strip()]


def _named_dataset(data: str) -> bool:
    """``--data cifar10`` / ``cifar100`` (and no file or folder of that name here)."""
    from libranas.datasets.sources import DATASET_NAMES

    return data.lower() in DATASET_NAMES and not os.path.exists(data)


def _check_data(args: argparse.Namespace) -> Any:
    """``--data`` (and ``--dataset``) as the featurizer's ``data``; the batch is loaded once
    here so that a missing or malformed file is reported before any computation."""
    import zipfile

    if args.data is None:
        if args.dataset is not None:
            raise UsageError("--dataset needs --data")
        return None
    if _named_dataset(args.data) or os.path.isdir(args.data):
        # a dataset name (downloaded once, cached) or an image folder: the featurizer reads
        # it with the space's input size and normalisation
        if args.dataset is not None:
            raise UsageError(
                "--dataset sets the normalisation of an .npz batch; a dataset name or an "
                "image folder brings its own"
            )
        return args.data
    from libranas.datasets import load_image_batch

    try:
        batch = load_image_batch(
            args.data, n=args.batch_size, dataset=args.dataset, random_state=args.seed
        )
    except (ValueError, OSError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise UsageError(f"--data {args.data!r}: {exc}") from None
    # without --dataset the featurizer reads the file itself (and checks the labels
    # against the network's classes); with it, the batch normalised as asked
    return args.data if args.dataset is None else batch


def _score(args: argparse.Namespace) -> int:
    # --- every check before any computation; files first, before any heavy import
    output = check_output_path(args.output) if args.output else None
    if args.store is not None:
        check_store_path(args.store)
    if args.archs_file:
        check_input_file(args.archs_file, "--archs-file")
    if args.data is not None and not (_named_dataset(args.data) or os.path.isdir(args.data)):
        check_input_file(args.data, "--data")
    proxies = _name_list("--proxies", args.proxies)

    from libranas.proxies import list_proxies
    from libranas.spaces import get_space
    from libranas.store import ScoreStoreWarning

    options = {}
    for item in args.space_option:
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"--space-option must be KEY=VALUE, got {item!r}")
        options[key] = _parse_arch(value)
    try:
        space = get_space(args.space, **options)
    except (ValueError, TypeError, KeyError) as exc:
        raise UsageError(str(exc)) from None
    band = _parse_band(args.band)
    if proxies is not None:
        unknown = [p for p in proxies if p not in list_proxies()]
        if unknown:
            raise UsageError(f"unknown proxies {unknown}; known: {list_proxies()}")
    archs = [_parse_arch(a) for a in args.archs]
    if args.archs_file:
        archs += _read_archs_file(args.archs_file)
    if args.random:
        try:  # issue 25: bounded by the space before anything is drawn
            check_random_count(args.random, space)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        archs += space.sample(args.random, random_state=args.seed)
    if not archs:
        raise UsageError("no architectures: pass them as arguments, --archs-file or --random N")
    canonical = []
    for i, arch in enumerate(archs):
        try:
            canonical.append(space.validate(arch))
        except (ValueError, TypeError) as exc:
            raise UsageError(f"invalid architecture at position {i} ({arch!r}): {exc}") from None
    data = _check_data(args)

    # --- computation
    from libranas.featurizer import ProxyFeaturizer  # issue 25: torch only after the checks

    feat = ProxyFeaturizer(
        space,
        proxies=proxies,
        data=data,
        batch_size=args.batch_size,
        device=args.device,
        lswag_band=band,
        n_jobs=cap_n_jobs(args.n_jobs, len(canonical)),  # issue 25: bounded
        n_threads=set_torch_threads(args.torch_threads),  # issue 25
        random_state=args.seed,
        n_inits=args.n_inits,
        verbose=1,
        store=args.store,
    )
    start = time.perf_counter()
    # the featurizer's messages go to stderr: stdout may carry the CSV
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(sys.stderr):
        warnings.simplefilter("always")
        try:
            feat.fit()
            table = feat.set_output(transform="pandas").transform(canonical)
        except (ValueError, TypeError, OSError) as exc:
            raise UsageError(str(exc)) from None
    table.insert(0, "arch", [_format_arch(a) for a in canonical])
    buffer = io.StringIO()
    table.to_csv(buffer, index=False)
    csv_text = buffer.getvalue()

    # --- results first, then the problems
    status = EXIT_OK
    where = "standard output"
    if output is None:
        sys.stdout.write(csv_text)
        sys.stdout.flush()
    else:
        try:
            write_atomic(output, csv_text)
            where = repr(str(output))
        except OSError as exc:
            sys.stdout.write(csv_text)
            sys.stdout.flush()
            print(
                f"error: could not write --output {str(output)!r} ({exc}); the scores are on "
                "standard output above",
                file=sys.stderr,
            )
            status = EXIT_FAILED
    store_errors = []
    for w in caught:
        if issubclass(w.category, ScoreStoreWarning):
            store_errors.append(str(w.message))
    for message in dict.fromkeys(str(w.message) for w in caught):
        if message not in store_errors:
            print(f"warning: {message}", file=sys.stderr)
    print(
        f"scored {len(canonical)} architectures x {table.shape[1] - 1} proxies on "
        f"{feat.device_} in {time.perf_counter() - start:.1f} s"
        + (f" (L-SWAG band {feat.lswag_band_})" if feat.lswag_band_ is not None else ""),
        file=sys.stderr,
    )
    if store_errors:
        print(f"error: {store_errors[0]}; they are in {where}", file=sys.stderr)
        status = EXIT_FAILED
    return status


# ---------------------------------------------------------------------------- list


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
    return EXIT_OK


# ---------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="libranas",
        description="Zero-shot NAS: proxy scores, LIBRA selection and rankers.",
        epilog=_EXIT_STATUS,
    )
    parser.add_argument("--version", action="version", version=f"libranas {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    ev = sub.add_parser(
        "evaluate",
        help="rank correlation of proxies and their LIBRA combinations on bundled benchmarks",
        epilog=_EXIT_STATUS,
    )
    ev.add_argument("benchmarks", nargs="*", help="bundled benchmark names (default: all)")
    ev.add_argument(
        "--n-labelled",
        type=int,
        default=100,
        help="labelled architectures for selection/fitting (default 100; at least 7 for the "
        "LIBRA methods, 4 for xgboost-all, and 2 fewer than the benchmark's architectures)",
    )
    ev.add_argument(
        "--seeds", type=_int_at_least(1), default=30, help="number of splits (seeds; default 30)"
    )
    ev.add_argument("--seed", type=_int_at_least(0), default=0, help="first seed (default 0)")
    ev.add_argument(
        "--n-jobs",
        type=_n_jobs,
        default=-1,
        help="splits evaluated in parallel (joblib; default -1: every core); the results do "
        "not depend on it. --transfer runs its splits in one process (seconds)",
    )
    ev.add_argument(
        "--methods",
        default=None,
        help="comma-separated subset of: best-proxy, libra+rank-mean, libra+xgboost, "
        "xgboost-all, xgboost-all+encoding, ranker-all, ranker-all+graph, "
        "training-free-default (default: all; +encoding adds the space's one-hot, +graph its "
        "graph features and one-hot; training-free-default uses no label, on the "
        "benchmarks whose libranas table holds the default's proxies)",
    )
    ev.add_argument(
        "--transfer",
        nargs="+",
        metavar="SOURCE:TARGET",
        default=None,
        help="transfer protocol instead: LIBRA's selection with --n-labelled labels of SOURCE "
        "(--seeds splits), TARGET ranked by a log-rank fusion of the selected proxies with "
        "none of its labels (e.g. nb201-cifar10:nb301-cifar10)",
    )
    ev.add_argument("--format", choices=["markdown", "csv", "json"], default="markdown")
    ev.add_argument(
        "--output", "-o", default=None, help="also write the table to this file (atomically)"
    )
    ev.set_defaults(func=_evaluate)

    sc = sub.add_parser(
        "score",
        help="zero-cost proxy scores of architectures (ProxyFeaturizer) as CSV",
        description=(
            "Build every architecture at initialisation and score it with the requested "
            "proxies from one shared pass per network. Writes CSV: the canonical architecture, "
            "then one column per proxy (NaN where a proxy failed, with a warning)."
        ),
        epilog=_EXIT_STATUS,
    )
    sc.add_argument(
        "archs", nargs="*", help="architectures (NB201 string or index, or JSON encodings)"
    )
    sc.add_argument("--archs-file", default=None, help="one architecture per line")
    sc.add_argument(
        "--random", type=_int_at_least(0), default=0, help="also score N random architectures"
    )
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
        help="the images (needed by every proxy except params / flops / l2_norm): cifar10 or "
        "cifar100 (downloaded once through torchvision, cached in $LIBRANAS_CACHE), an "
        "ImageFolder-style directory, or an .npz file of uint8 images x (N, 3, H, W) and "
        "labels y (normalisation from the file name, e.g. cifar10_960_uint8.npz, or --dataset)",
    )
    sc.add_argument(
        "--dataset",
        default=None,
        help="normalisation of --data: cifar10, cifar100 or imagenet16 (default: from its name)",
    )
    sc.add_argument("--batch-size", type=_int_at_least(2), default=64)
    sc.add_argument("--band", default="auto", help="L-SWAG band: auto, stored, none or LO,HI")
    sc.add_argument("--device", default="auto", help="auto, cpu or cuda")
    sc.add_argument(
        "--n-jobs",
        type=_n_jobs,
        default=None,
        help="worker processes (default 1; -1: every core); capped at the cores and at the "
        "architectures to score",
    )
    sc.add_argument(  # issue 25
        "--torch-threads",
        type=_int_at_least(1),
        default=None,
        help=f"torch threads per process, workers included (default {DEFAULT_TORCH_THREADS}: "
        "measured fastest with joblib workers, benchmarks/results/torch_threads.md)",
    )
    sc.add_argument(
        "--seed", type=_int_at_least(0), default=0, help="initialisation and sampling seed"
    )
    sc.add_argument(
        "--n-inits",
        type=_int_at_least(1),
        default=1,
        help="average every proxy over this many initialisations of each network (noise "
        "control; the cost grows linearly)",
    )
    sc.add_argument(
        "--store",
        default=None,
        help="SQLite score store (resumable, cached); if it cannot be written the scores are "
        "still output, and the exit status is 1",
    )
    sc.add_argument(
        "--output", "-o", default=None, help="CSV file, written atomically (default: stdout)"
    )
    sc.set_defaults(func=_score)

    from libranas.search.cli import add_search_parser

    add_search_parser(sub)

    ls = sub.add_parser("list", help="list bundled benchmarks, proxies or search spaces")
    ls.add_argument("what", choices=["benchmarks", "proxies", "spaces"])
    ls.set_defaults(func=_list)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (see the module docstring)."""
    from libranas._cli_safety import guarded  # issue 25: broken pipe and Ctrl-C end quietly

    return guarded(_main, argv)


def _main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a one-line usage error
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return int(args.func(args))
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
