"""The ``libranas`` command line; each command is a module of this package.

Every argument, input file and output path is checked before anything is computed; a user
error, or an optional dependency that is not installed, is one line on standard error
(``error: ...``; for a missing dependency it names the extra, e.g. ``pip install
"libranas[torch]"``) and exit status 2. Results are printed (or, with ``-o``, written) before
anything else can fail, and files are written atomically (a temporary file in the same
folder, then renamed), so an interrupted or failed run never leaves a half-written file.

Exit status: 0 success; 2 invalid arguments, input files or output paths, or a missing
optional dependency (nothing was computed); 1 the results were computed and printed or
written, but the score store (or an output file) could not be written; 130 interrupted
(Ctrl-C; one line says how to resume); 141 standard output closed by its reader
(``| head``), ended quietly. ``--n-jobs`` is capped at the cores and at the work (splits,
architectures).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from libranas import __version__
from libranas.cli._common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_STATUS,
    EXIT_USAGE,
    Parser,
    UsageError,
    check_output_path,
    write_atomic,
)

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "UsageError",
    "build_parser",
    "check_output_path",
    "main",
    "write_atomic",
]


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command (each module adds its own sub-parser)."""
    from libranas.cli import data, evaluate, listing, score
    from libranas.search.cli import add_search_parser

    parser = Parser(
        prog="libranas",
        description="Zero-shot NAS: proxy scores, LIBRA selection and rankers.",
        epilog=EXIT_STATUS,
    )
    parser.add_argument("--version", action="version", version=f"libranas {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    evaluate.add_parser(sub)
    score.add_parser(sub)
    add_search_parser(sub)
    listing.add_parser(sub)
    data.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (see the module docstring)."""
    from libranas._cli_safety import guarded  # a broken pipe and Ctrl-C end quietly

    return guarded(_main, argv)


def _main(argv: Sequence[str] | None = None) -> int:
    from libranas._optional import as_missing_extra

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
    except ImportError as exc:  # an optional dependency that a command reached unguarded
        missing = as_missing_extra(exc, f"libranas {args.command}")
        if missing is None:
            raise
        print(f"error: {missing}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
