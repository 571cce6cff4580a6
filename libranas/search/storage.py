"""Where a search keeps its state: in memory or in a JSON-lines file.

A storage holds any number of named searches ("studies"). Each search appends one record per
generation; reading a study back replays its records in order. The JSON-lines file is
append-only and every record is flushed and ``fsync``-ed before the search goes on, so a
search killed at any moment (even ``SIGKILL``) can be resumed from its last complete
generation: a final line cut off in the middle of a write is ignored. Appends take an
exclusive ``flock`` on POSIX systems, so several processes may write different studies to one
file.

One search per file: a search holds an exclusive ``fcntl.flock`` on ``<file>.lock`` (a file
next to the storage, holding the owner's process id) for as long as it runs
(:meth:`JSONLStorage.writer`). A second search on the same file is refused at once with
:class:`StorageLockedError`, a ``ValueError`` naming the file and the process holding it, before
it reads or computes anything; the first one finishes undisturbed, and the file resumes as one
uninterrupted run would. The lock dies with its process (even ``SIGKILL``), so a killed search
never leaves the file locked. On systems without ``fcntl`` (Windows) there is no lock.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = [
    "BaseStorage",
    "InMemoryStorage",
    "JSONLStorage",
    "StorageFormatError",
    "StorageLockedError",
    "get_storage",
]


class StorageLockedError(ValueError):
    """Another search is writing the storage file."""


class StorageFormatError(ValueError):
    """The storage file holds a line that is not a libranas search record."""


#: per lock file: [open file, nesting depth] (the lock is re-entrant within a process)
_HELD: dict[str, list[Any]] = {}


class BaseStorage:
    """Interface of a search storage: ``append`` records, ``read`` them back in order."""

    def read(self, study: str) -> list[dict[str, Any]]:
        """All records of ``study``, oldest first (empty list for an unknown study)."""
        raise NotImplementedError

    def append(self, study: str, record: dict[str, Any]) -> None:
        """Persist ``record`` as the next record of ``study``."""
        raise NotImplementedError

    def studies(self) -> list[str]:
        """Names of the studies held, in order of first appearance."""
        raise NotImplementedError

    @contextmanager
    def writer(self) -> Iterator[None]:
        """Hold the storage for one search (no-op here; a file storage locks the file)."""
        yield


def _check_study(study: Any) -> str:
    if not isinstance(study, str) or not study:
        raise ValueError(f"study name must be a non-empty string, got {study!r}")
    return study


class InMemoryStorage(BaseStorage):
    """Records kept in a dict (lost with the process; for tests and notebooks).

    Examples
    --------
    >>> s = InMemoryStorage()
    >>> s.append("a", {"generation": 0})
    >>> s.read("a"), s.read("b")
    ([{'generation': 0}], [])
    """

    def __init__(self) -> None:
        self._records: dict[str, list[str]] = {}

    def read(self, study: str) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self._records.get(_check_study(study), [])]

    def append(self, study: str, record: dict[str, Any]) -> None:
        # serialised like the file storage, so both behave the same (tuples -> lists, floats exact)
        line = json.dumps(record)
        self._records.setdefault(_check_study(study), []).append(line)

    def studies(self) -> list[str]:
        return list(self._records)

    def __repr__(self) -> str:
        return "InMemoryStorage()"


class JSONLStorage(BaseStorage):
    """Append-only JSON-lines file; one line per record: ``{"study": name, "record": {...}}``.

    Parameters
    ----------
    path : str or path-like
        The file (created with its parent folders on the first append).

    Notes
    -----
    Floats round-trip exactly (``json`` writes ``repr``); NaN and infinities are written as
    ``NaN`` / ``Infinity`` (Python's JSON dialect). A last line without its newline (a write
    interrupted by a crash, even cut in the middle of a UTF-8 character) is ignored on
    reading; any other line that is not valid JSON is an error (``ValueError`` naming the file
    and the line number).

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "search.jsonl")
    >>> s = JSONLStorage(path)
    >>> s.append("evo", {"generation": 0, "score": 0.5})
    >>> JSONLStorage(path).read("evo")
    [{'generation': 0, 'score': 0.5}]
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"JSONLStorage({str(self.path)!r})"

    @contextmanager
    def _locked(self, fh: Any) -> Iterator[None]:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no advisory locks
            yield
            return
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    @property
    def lock_path(self) -> Path:
        """The lock file held by the search writing this storage."""
        return self.path.with_name(self.path.name + ".lock")

    @contextmanager
    def writer(self) -> Iterator[None]:
        """Hold the storage for one search: an exclusive ``flock`` on :attr:`lock_path`.

        Raises :class:`StorageLockedError` at once when another process holds it. Re-entrant
        within a process (a search holds it around its phases, each loop again).
        """
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no advisory locks
            yield
            return
        key = str(self.lock_path.resolve())
        held = _HELD.get(key)
        if held is not None:
            held[1] += 1
            try:
                yield
            finally:
                held[1] -= 1
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.lock_path, "a+")  # noqa: SIM115 - held across the yield
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            owner = fh.read().strip() or "unknown"
            fh.close()
            raise StorageLockedError(
                f"{self.path} is being written by another search (process {owner}); wait for "
                "it to finish and rerun this command to resume from it, or give another "
                "--storage"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        _HELD[key] = [fh, 1]
        try:
            yield
        finally:
            del _HELD[key]
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
            fh.close()

    def _lines(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        lines = self.path.read_bytes().split(b"\n")
        # tail: b"" when the file ends with a newline; otherwise a write cut short by a
        # crash (possibly mid-character, so not valid UTF-8): ignored, never decoded
        complete = lines[:-1]
        out = []
        for number, raw in enumerate(complete, start=1):
            if not raw.strip():
                continue
            try:
                entry = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise StorageFormatError(
                    f"{self.path}: line {number} is not valid JSON ({exc}); the file is damaged "
                    "or not a libranas search storage: give another --storage, or delete that "
                    "line and the ones after it to resume from the records before"
                ) from exc
            if not isinstance(entry, dict) or "study" not in entry or "record" not in entry:
                raise StorageFormatError(
                    f"{self.path}: line {number} is not a libranas search record "
                    "(expected an object with 'study' and 'record'); give another --storage"
                )
            out.append(entry)
        return out

    def read(self, study: str) -> list[dict[str, Any]]:
        _check_study(study)
        return [e["record"] for e in self._lines() if e["study"] == study]

    def studies(self) -> list[str]:
        seen: dict[str, None] = {}
        for e in self._lines():
            seen.setdefault(e["study"], None)
        return list(seen)

    def append(self, study: str, record: dict[str, Any]) -> None:
        line = json.dumps({"study": _check_study(study), "record": record}) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+b") as fh, self._locked(fh):
            # a writer killed mid-line left an unterminated tail: cut it off before appending
            size = fh.seek(0, os.SEEK_END)
            if size > 0:
                fh.seek(size - 1)
                if fh.read(1) != b"\n":
                    fh.seek(0)
                    fh.truncate(fh.read().rfind(b"\n") + 1)
            fh.write(line.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())


def get_storage(storage: Any) -> BaseStorage | None:
    """Resolve ``storage``: None, a :class:`BaseStorage`, or a path of a JSON-lines file.

    Examples
    --------
    >>> get_storage(None) is None
    True
    >>> get_storage("runs/search.jsonl")
    JSONLStorage('runs/search.jsonl')
    """
    if storage is None or isinstance(storage, BaseStorage):
        return storage
    if isinstance(storage, (str, os.PathLike)):
        return JSONLStorage(storage)
    raise TypeError(
        "storage must be None, a BaseStorage or a path to a JSON-lines file, "
        f"got {type(storage).__name__}"
    )
