"""``libranas score``: zero-cost proxy scores of architectures (ProxyFeaturizer) as CSV."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import libranas.cli._common as _common
from libranas._resources import (
    DEFAULT_TORCH_THREADS,
    cap_n_jobs,
    check_random_count,
    set_torch_threads,
)
from libranas.cli._common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_STATUS,
    UsageError,
    check_input_file,
    check_output_path,
    check_store_path,
    int_at_least,
)


def add_parser(sub: Any) -> argparse.ArgumentParser:
    sc = sub.add_parser(
        "score",
        help="zero-cost proxy scores of architectures (ProxyFeaturizer) as CSV",
        description=(
            "Build every architecture at initialisation and score it with the requested "
            "proxies from one shared pass per network. Writes CSV: the canonical architecture, "
            "then one column per proxy (NaN where a proxy failed, with a warning). Needs the "
            'torch extra: pip install "libranas[torch]".'
        ),
        epilog=EXIT_STATUS,
    )
    sc.add_argument(
        "archs", nargs="*", help="architectures (NB201 string or index, or JSON encodings)"
    )
    sc.add_argument("--archs-file", default=None, help="one architecture per line")
    sc.add_argument(
        "--random", type=int_at_least(0), default=0, help="also score N random architectures"
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
        "labels y, e.g. written by `libranas data export-batch cifar10 -o "
        "cifar10_64_uint8.npz` (normalisation from the file name, or --dataset)",
    )
    sc.add_argument(
        "--dataset",
        default=None,
        help="normalisation of --data: cifar10, cifar100 or imagenet16 (default: from its name)",
    )
    sc.add_argument("--batch-size", type=int_at_least(2), default=64)
    sc.add_argument("--band", default="auto", help="L-SWAG band: auto, stored, none or LO,HI")
    sc.add_argument("--device", default="auto", help="auto, cpu or cuda")
    sc.add_argument(
        "--n-jobs",
        type=_common.n_jobs,
        default=None,
        help="worker processes (default 1; -1: every core); capped at the cores and at the "
        "architectures to score",
    )
    sc.add_argument(
        "--torch-threads",
        type=int_at_least(1),
        default=None,
        help=f"torch threads per process, workers included (default {DEFAULT_TORCH_THREADS}: "
        "measured fastest with joblib workers, benchmarks/results/torch_threads.md)",
    )
    sc.add_argument(
        "--seed", type=int_at_least(0), default=0, help="initialisation and sampling seed"
    )
    sc.add_argument(
        "--n-inits",
        type=int_at_least(1),
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
    sc.set_defaults(func=run)
    return sc


# ---------------------------------------------------------------------------- parsing


def parse_arch(text: str) -> Any:
    """One architecture from the command line or a file line: JSON when it parses to a
    number, list or object (NB201 index, NASLib tuple, DARTS/AutoFormer encodings), else
    the string itself (NB201 string)."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, (int, list, dict)) else text


def format_arch(arch: Any) -> str:
    """A canonical architecture as text that :func:`parse_arch` reads back: NB201 strings
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
    return [parse_arch(line.strip()) for line in lines if line.strip()]


def named_dataset(data: str) -> bool:
    """``--data cifar10`` / ``cifar100`` (and no file or folder of that name here)."""
    from libranas.datasets.sources import DATASET_NAMES

    return data.lower() in DATASET_NAMES and not os.path.exists(data)


def space_from_args(args: argparse.Namespace) -> Any:
    """``--space`` with its ``--space-option``s."""
    from libranas.spaces import get_space

    options = {}
    for item in args.space_option:
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"--space-option must be KEY=VALUE, got {item!r}")
        options[key] = parse_arch(value)
    try:
        return get_space(args.space, **options)
    except (ValueError, TypeError, KeyError) as exc:
        raise UsageError(str(exc)) from None


# ---------------------------------------------------------------------------- checks


def _check_data(args: argparse.Namespace) -> Any:
    """``--data`` (and ``--dataset``) as the featurizer's ``data``; the batch is loaded once
    here so that a missing or malformed file is reported before any computation."""
    import zipfile

    if args.data is None:
        if args.dataset is not None:
            raise UsageError("--dataset needs --data")
        return None
    if named_dataset(args.data) or os.path.isdir(args.data):
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


def _architectures(args: argparse.Namespace, space: Any) -> list[Any]:
    """The canonical architectures of the arguments, ``--archs-file`` and ``--random``."""
    archs = [parse_arch(a) for a in args.archs]
    if args.archs_file:
        archs += _read_archs_file(args.archs_file)
    if args.random:
        try:  # bounded by the space before anything is drawn
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
    return canonical


def offline_message(data: str, exc: Exception) -> str:
    """A failed download of ``--data NAME``, with what works from the shell instead."""
    reason = str(exc).split(". Without a network")[0]
    return (
        f"--data {data}: {reason}. Without a network: copy torchvision's files there (or set "
        "LIBRANAS_CACHE), or pass --data an .npz of uint8 images x (N, 3, H, W) and labels y "
        f"(`libranas data export-batch {data} -o {data}_64_uint8.npz` writes one where "
        "there is a network) or an image folder (one sub-folder per class)"
    )


# ---------------------------------------------------------------------------- run


def _compute(feat: Any, canonical: list[Any], args: argparse.Namespace) -> tuple[Any, list[Any]]:
    """The scores as a DataFrame, and the warnings raised while computing them."""
    # the featurizer's messages go to stderr: stdout may carry the CSV
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(sys.stderr):
        warnings.simplefilter("always")
        try:
            feat.fit()
            table = feat.set_output(transform="pandas").transform(canonical)
        except OSError as exc:
            if args.data is not None and named_dataset(args.data):
                raise UsageError(offline_message(args.data, exc)) from None
            raise UsageError(str(exc)) from None
        except (ValueError, TypeError) as exc:
            hint = ""
            if "does not fit space" in str(exc):
                hint = _common.input_size_hint(args.space, args.space_option, args.data)
            raise UsageError(f"{str(exc).rstrip('.')}{hint}") from None
    return table, list(caught)


def _write(csv_text: str, output: Path | None) -> tuple[int, str]:
    """The CSV to ``output`` (or stdout, also when the write fails); status and where."""
    if output is not None:
        try:
            _common.write_atomic(output, csv_text)
            return EXIT_OK, repr(str(output))
        except OSError as exc:
            sys.stdout.write(csv_text)
            sys.stdout.flush()
            print(
                f"error: could not write --output {str(output)!r} ({exc}); the scores are on "
                "standard output above",
                file=sys.stderr,
            )
            return EXIT_FAILED, "standard output"
    sys.stdout.write(csv_text)
    sys.stdout.flush()
    return EXIT_OK, "standard output"


def _report(feat: Any, caught: list[Any], n: int, n_cols: int, seconds: float) -> list[str]:
    """Warnings on stderr, then the one-line account; returns the score store's errors."""
    from libranas.store import ScoreStoreWarning

    store_errors = [str(w.message) for w in caught if issubclass(w.category, ScoreStoreWarning)]
    for message in dict.fromkeys(str(w.message) for w in caught):
        if message not in store_errors:
            print(f"warning: {message}", file=sys.stderr)
    band = f" (L-SWAG band {feat.lswag_band_})" if feat.lswag_band_ is not None else ""
    print(
        f"scored {n} architectures x {n_cols} proxies on {feat.device_} in {seconds:.1f} s" + band,
        file=sys.stderr,
    )
    return store_errors


def run(args: argparse.Namespace) -> int:
    # --- every check before any computation; files first, before any heavy import
    output = check_output_path(args.output) if args.output else None
    if args.store is not None:
        check_store_path(args.store)
    if args.archs_file:
        check_input_file(args.archs_file, "--archs-file")
    if args.data is not None and not (named_dataset(args.data) or os.path.isdir(args.data)):
        check_input_file(args.data, "--data")
    proxies = _common.name_list("--proxies", args.proxies)
    _common.require("torch", "libranas score")

    from libranas.featurizer import ProxyFeaturizer
    from libranas.proxies import list_proxies

    space = space_from_args(args)
    band = _parse_band(args.band)
    if proxies is not None:
        unknown = [p for p in proxies if p not in list_proxies()]
        if unknown:
            raise UsageError(f"unknown proxies {unknown}; known: {list_proxies()}")
    canonical = _architectures(args, space)
    data = _check_data(args)

    # --- computation
    feat = ProxyFeaturizer(
        space,
        proxies=proxies,
        data=data,
        batch_size=args.batch_size,
        device=args.device,
        lswag_band=band,
        n_jobs=cap_n_jobs(args.n_jobs, len(canonical)),  # bounded by cores and work
        n_threads=set_torch_threads(args.torch_threads),
        random_state=args.seed,
        n_inits=args.n_inits,
        verbose=1,
        store=args.store,
    )
    start = time.perf_counter()
    table, caught = _compute(feat, canonical, args)
    table.insert(0, "arch", [format_arch(a) for a in canonical])
    buffer = io.StringIO()
    table.to_csv(buffer, index=False)

    # --- results first, then the problems
    status, where = _write(buffer.getvalue(), output)
    seconds = time.perf_counter() - start
    store_errors = _report(feat, caught, len(canonical), table.shape[1] - 1, seconds)
    if store_errors:
        print(f"error: {store_errors[0]}; they are in {where}", file=sys.stderr)
        status = EXIT_FAILED
    return status
