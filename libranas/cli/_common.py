"""What every ``libranas`` command shares: the one-line usage error, argument types, the
checks of input and output files, atomic writes."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_STATUS = (
    "exit status: 0 success; 2 invalid arguments, input files or output paths, or a missing "
    "optional dependency (nothing computed; the line names the extra, e.g. pip install "
    '"libranas[torch]"); 1 results computed and printed/written, but the score store or an '
    "output file could not be written; 130 interrupted (Ctrl-C); 141 output pipe closed"
)


class UsageError(Exception):
    """A problem with the command line: reported as one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (``error: ...``) naming the problem."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"error: {message} (see `{self.prog} --help`)\n")
        raise SystemExit(EXIT_USAGE)


# ---------------------------------------------------------------------------- argument types


def int_at_least(low: int) -> Callable[[str], int]:
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


def n_jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value == 0:
        raise argparse.ArgumentTypeError("must not be 0 (use 1 for one job, -1 for all cores)")
    return value


def name_list(option: str, text: str | None) -> list[str] | None:
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


def require(module: str, feature: str) -> None:
    """The optional ``module`` is importable, or a :class:`UsageError` naming its extra."""
    from libranas._optional import MissingExtraError
    from libranas._optional import require as _require

    try:
        _require(module, feature)
    except MissingExtraError as exc:
        raise UsageError(str(exc)) from None


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
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder + rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
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


def emit(text: str, output: Path | None, file_text: str | None = None) -> int:
    """``text`` on standard output first, then ``file_text`` (default ``text``) to
    ``output``: a failed write loses nothing."""
    print(text, end="")
    sys.stdout.flush()
    if output is None:
        return EXIT_OK
    try:
        write_atomic(output, text if file_text is None else file_text)
    except OSError as exc:
        print(
            f"error: could not write --output {str(output)!r} ({exc}); the table is on "
            "standard output above",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return EXIT_OK


def _batch_geometry(data: str | None) -> tuple[Any, Any]:
    """Image side and number of classes of ``--data`` where they can be told cheaply: the
    classes from the dataset its name says, else from the file's largest label."""
    import numpy as np

    from libranas.datasets.images import named_dataset

    known = {"cifar10": 10, "cifar100": 100}.get(named_dataset(data) or "")
    size, classes = 32 if known and not Path(data).is_file() else "H", known or "N"
    if data is not None and Path(data).is_file():
        try:
            with np.load(data) as f:
                size = int(f["x"].shape[-1])
                classes = known or int(f["y"].max()) + 1
        except (OSError, ValueError, KeyError, EOFError, IndexError):
            pass
    return size, classes


def input_size_hint(space: str, options: list[str], data: str | None) -> str:
    """For a batch that does not fit the networks of ``--space``: the ``--space-option``s
    that build them for it, where the space takes ``img_size`` / ``num_classes``."""
    import inspect

    from libranas.spaces import get_space, list_spaces

    if space not in list_spaces():
        return ""
    # the options the space's class takes (a registered factory may pass **options on)
    params = inspect.signature(type(get_space(space)).__init__).parameters
    given = {item.partition("=")[0] for item in options}
    wanted = [k for k in ("img_size", "num_classes") if k in params and k not in given]
    if not wanted:
        return ""
    size, classes = _batch_geometry(data)
    value = {"img_size": size, "num_classes": classes}
    flags = " ".join(f"--space-option {k}={value[k]}" for k in wanted)
    return f"; build the networks for this batch: {flags}"
