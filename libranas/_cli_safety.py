"""How a command ends when its reader goes away or the user presses Ctrl-C.

- Broken pipe (``libranas list proxies | head -1``): the reader has what it wanted; the
  command ends quietly with exit status 141 (128 + SIGPIPE, what a shell reports for a
  command killed by the signal), no traceback.
- Ctrl-C: one line on stderr saying what was kept and how to resume, exit status 130
  (128 + SIGINT). Nothing is half-written: storage records and score-store chunks are
  complete or absent, output files are written atomically.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence

__all__ = ["EXIT_BROKEN_PIPE", "EXIT_INTERRUPTED", "guarded", "interrupted_message"]

EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141


def _option(argv: Sequence[str], name: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def interrupted_message(argv: Sequence[str]) -> str:
    """The line printed on Ctrl-C: what was kept, and how to resume.

    Examples
    --------
    >>> interrupted_message(["search", "--storage", "c.jsonl"])  # doctest: +ELLIPSIS
    'interrupted: ... rerun the same command to resume from --storage c.jsonl'
    >>> interrupted_message(["score", "--random", "5"])  # doctest: +ELLIPSIS
    'interrupted: ... pass --store scores.db to keep computed scores across runs'
    """
    argv = list(argv)
    head = "interrupted: nothing was half-written;"
    command = argv[0] if argv else ""
    if command == "search":
        storage = _option(argv, "--storage")
        if storage:
            return f"{head} rerun the same command to resume from --storage {storage}"
        return f"{head} the search was not stored; pass --storage FILE to make it resumable"
    store = _option(argv, "--store")
    if store:
        return f"{head} rerun the same command: the scores already in --store {store} are reused"
    if command == "score":
        return f"{head} pass --store scores.db to keep computed scores across runs"
    return f"{head} rerun the command"


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not raise again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # pragma: no cover - no real stdout
        pass


def guarded(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None) -> int:
    """Run ``main(argv)``; a broken pipe or Ctrl-C becomes a quiet exit status.

    Examples
    --------
    >>> def interrupted(argv):
    ...     raise KeyboardInterrupt
    >>> guarded(interrupted, ["list"])
    130
    """
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        code = main(argv)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
        return code
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        try:
            sys.stdout.flush()
        except (BrokenPipeError, OSError, ValueError):
            _silence_stdout()
        print(f"\n{interrupted_message(args)}", file=sys.stderr)
        return EXIT_INTERRUPTED
