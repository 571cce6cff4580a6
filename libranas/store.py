"""A resumable on-disk store of proxy scores (SQLite).

One row per score: the search space, the architecture (canonical form), the proxy, the data
batch it was computed on, the seed, the libranas version and the options that change values
(band, per-sample mode, dtype, classes, ...). The row holds the value (``NaN`` allowed) and,
when the proxy failed, the error text. :class:`ProxyFeaturizer` with ``store=`` looks scores
up there first, computes only the missing (architecture, proxy) cells and commits every
computed chunk of architectures at once, so a featurization that is killed (even with
``SIGKILL``) resumes where it stopped, and a later run, in this process or another one,
reuses every score already computed.

The file is opened in SQLite's write-ahead-log mode with a busy timeout; every write is one
short ``INSERT OR IGNORE`` transaction, so several processes may read and write one store at
the same time (on a local file system; SQLite's locking is not reliable on network file
systems such as NFS). A row is never overwritten: the first value written for a key wins, and
writing the same key again is a no-op.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "ScoreContext",
    "ScoreStore",
    "ScoreStoreError",
    "ScoreStoreWarning",
    "arch_key",
    "data_fingerprint",
    "options_fingerprint",
]


class ScoreStoreWarning(UserWarning):
    """The score store could not be written; the scores were computed and returned anyway."""


class ScoreStoreError(ValueError):
    """The score store file is damaged or is not a libranas store (checked when opened)."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS scores (
    space TEXT NOT NULL,
    arch TEXT NOT NULL,
    proxy TEXT NOT NULL,
    data_fp TEXT NOT NULL,
    seed INTEGER NOT NULL,
    version TEXT NOT NULL,
    options_fp TEXT NOT NULL,
    value REAL,
    error TEXT,
    created REAL NOT NULL,
    PRIMARY KEY (space, arch, proxy, data_fp, seed, version, options_fp)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS fingerprints (
    fp TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    description TEXT NOT NULL
) WITHOUT ROWID;
"""
_COLUMNS = (
    "space",
    "arch",
    "proxy",
    "data_fp",
    "seed",
    "version",
    "options_fp",
    "value",
    "error",
    "created",
)
#: seconds a write waits for another process's write (``ScoreStore(timeout=None)``)
DEFAULT_TIMEOUT = 60.0
_FP_COLUMNS = ("fp", "kind", "description")
_CONTEXT_WHERE = "space = ? AND data_fp = ? AND seed = ? AND version = ? AND options_fp = ?"
#: architectures per SELECT (SQLite's default limit on host parameters is 32766)
_LOOKUP_CHUNK = 500


def arch_key(canonical: Any) -> str:
    """Text key of a canonical architecture: the string itself, else its ``repr``.

    ``repr`` is also what :func:`libranas.featurizer.arch_seed` hashes, so one key is one
    initialisation.

    Examples
    --------
    >>> arch_key("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|'
    >>> arch_key((1, 2))
    '(1, 2)'
    """
    return canonical if isinstance(canonical, str) else repr(canonical)


def data_fingerprint(x: Any, y: Any = None) -> str:
    """SHA-256 of a batch: the bytes, shape and dtype of ``x`` (and of ``y`` if given).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros((2, 3), np.float32)
    >>> data_fingerprint(x) == data_fingerprint(x.copy())
    True
    >>> data_fingerprint(x) == data_fingerprint(x.astype(np.float64))
    False
    >>> data_fingerprint(x) == data_fingerprint(x.reshape(3, 2))
    False
    """
    h = hashlib.sha256()
    for part in (x, y):
        if part is None:
            h.update(b"none;")
            continue
        arr = np.ascontiguousarray(part)
        h.update(f"{arr.dtype.str}{arr.shape};".encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def _canonical_json(options: dict[str, Any]) -> str:
    def default(value: Any) -> Any:
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, np.ndarray):
            return value.tolist()
        return repr(value)

    return json.dumps(options, sort_keys=True, default=default, separators=(",", ":"))


def options_fingerprint(options: dict[str, Any]) -> str:
    """SHA-256 of a dict of options (JSON with sorted keys; tuples and lists hash alike).

    Examples
    --------
    >>> options_fingerprint({"a": 1, "b": (1, 2)}) == options_fingerprint({"b": [1, 2], "a": 1})
    True
    >>> options_fingerprint({"a": 1}) == options_fingerprint({"a": 2})
    False
    """
    if not isinstance(options, dict):
        raise TypeError(f"options must be a dict, got {type(options).__name__}")
    return hashlib.sha256(_canonical_json(options).encode()).hexdigest()


@dataclass(frozen=True)
class ScoreContext:
    """Everything but the architecture and the proxy that identifies a score.

    Parameters
    ----------
    space : str
        Identity of the search space (``repr`` of the space object, which names its options).
    data_fp : str
        :func:`data_fingerprint` of the batch.
    seed : int
        The seed the initialisations derive from.
    version : str
        The libranas version that computed the scores.
    options_fp : str
        :func:`options_fingerprint` of the options that change values.

    Examples
    --------
    >>> ScoreContext("NB201Space()", "d", 0, "0.1.0", "o").seed
    0
    """

    space: str
    data_fp: str
    seed: int
    version: str
    options_fp: str

    def __post_init__(self) -> None:
        for name in ("space", "data_fp", "version", "options_fp"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise TypeError(f"ScoreContext.{name} must be a non-empty str")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)):
            raise TypeError(f"ScoreContext.seed must be an int, got {self.seed!r}")
        if not 0 <= int(self.seed) < 2**63:
            raise ValueError(f"ScoreContext.seed must lie in [0, 2**63), got {self.seed}")
        object.__setattr__(self, "seed", int(self.seed))

    def _key(self) -> tuple[str, str, int, str, str]:
        return (self.space, self.data_fp, self.seed, self.version, self.options_fp)


class ScoreStore:
    """Proxy scores in an SQLite file, shared by runs and processes.

    Parameters
    ----------
    path : str or path-like
        The database file (created with its parent folder if missing).
    timeout : float or None, default=None
        Seconds a write waits for another process's write to finish (SQLite busy timeout);
        None: :data:`DEFAULT_TIMEOUT` (60 s).

    Notes
    -----
    The connection is opened lazily, once per process and thread, and is not pickled: a
    store pickles as its path, so it can be handed to worker processes or kept on an
    estimator. Values are stored as SQLite REAL; ``NaN`` is stored as NULL and read back as
    ``NaN``.

    Checked when opened: an existing file must pass SQLite's ``PRAGMA quick_check`` and hold
    libranas's tables (or none). A damaged file or a foreign database raises
    :class:`ScoreStoreError` (a ``ValueError``) naming the file and what to do: give another
    file, or rebuild it keeping its readable rows with
    ``sqlite3 damaged.db .recover | sqlite3 rebuilt.db``.

    Locking: one write transaction at a time (SQLite's own lock; writers queue for up to
    ``timeout`` seconds). Reads never wait for a writer (write-ahead log), so a store locked
    by another process is still read; a write that cannot get the lock within ``timeout``
    raises ``sqlite3.OperationalError``, which :class:`~libranas.ProxyFeaturizer` turns into
    a :class:`ScoreStoreWarning` after computing (and returning) the scores, and the
    ``libranas score`` command into exit status 1 after printing them.

    Examples
    --------
    >>> import math, tempfile, os
    >>> tmp = tempfile.mkdtemp()
    >>> store = ScoreStore(os.path.join(tmp, "scores.db"))
    >>> ctx = ScoreContext("NB201Space()", "data", 0, "0.1.0", "opts")
    >>> store.put(ctx, [("a1", "params", 1.5, None), ("a1", "nwot", float("nan"), "boom")])
    2
    >>> store.put(ctx, [("a1", "params", 9.9, None)])  # first write wins
    0
    >>> got = store.get(ctx, ["a1", "a2"], ["params", "nwot"])
    >>> got[("a1", "params")], math.isnan(got[("a1", "nwot")][0]), ("a2", "params") in got
    ((1.5, None), True, False)
    >>> len(store)
    2
    >>> store.close()
    """

    def __init__(self, path: str | os.PathLike, timeout: float | None = None) -> None:
        if isinstance(path, ScoreStore):
            path = path.path
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"store path must be a str or path-like, got {type(path).__name__}")
        if not str(path):
            raise ValueError("store path is empty")
        if timeout is None:
            timeout = DEFAULT_TIMEOUT
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0:
            raise ValueError(f"timeout must be a number >= 0, got {timeout!r}")
        self.path = str(Path(path))
        self.timeout = float(timeout)
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"ScoreStore({self.path!r})"

    # ------------------------------------------------------------------ connection
    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "timeout": self.timeout}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.path = state["path"]
        self.timeout = state["timeout"]
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        self._local.conn = None  # a connection inherited through fork is not used
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        existed = Path(self.path).exists() and Path(self.path).stat().st_size > 0
        conn = None
        try:
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            if existed:
                self._check_file(conn)
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            conn.execute("PRAGMA synchronous = NORMAL")  # WAL: commits survive a killed process
            # the schema is created only when missing: creating it takes the write lock, and a
            # store locked by another writer must stay readable (reads never wait in WAL mode)
            if not self._has_schema(conn):
                with _transaction(conn):
                    for statement in _SCHEMA.strip().split(";"):
                        if statement.strip():
                            conn.execute(statement)
        except ScoreStoreError:
            if conn is not None:
                conn.close()
            raise
        except sqlite3.DatabaseError as exc:
            if conn is not None:
                conn.close()
            raise self._damaged(str(exc)) from exc
        if str(mode).lower() != "wal":
            conn.close()
            raise ValueError(
                f"{self.path}: SQLite could not switch to write-ahead logging (journal_mode "
                f"{mode!r}); put the store on a local file system"
            )
        self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    @staticmethod
    def _has_schema(conn: sqlite3.Connection) -> bool:
        names = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        return {"scores", "fingerprints"} <= names

    def _check_file(self, conn: sqlite3.Connection) -> None:
        """An existing file must be an intact SQLite database holding a libranas store (or
        an empty database): integrity (``PRAGMA quick_check``) and the tables' columns."""
        problems = [row[0] for row in conn.execute("PRAGMA quick_check").fetchall()]
        if problems != ["ok"]:
            raise self._damaged(f"integrity check: {problems[0]}")
        for table, wanted in (("scores", _COLUMNS), ("fingerprints", _FP_COLUMNS)):
            columns = tuple(row[1] for row in conn.execute(f"PRAGMA table_info({table})"))
            if columns and set(columns) != set(wanted):
                raise ScoreStoreError(
                    f"{self.path} is not a libranas score store (its table {table!r} has "
                    f"columns {list(columns)}); give another file (--store / --proxy-store) "
                    "or move this one away"
                )

    def _damaged(self, detail: str) -> ScoreStoreError:
        return ScoreStoreError(
            f"{self.path} is not a usable score store ({detail}); give another file (--store / "
            f"--proxy-store), or rebuild it keeping its readable rows: "
            f"`sqlite3 {self.path} .recover | sqlite3 rebuilt.db`"
        )

    def close(self) -> None:
        """Close this thread's connection (it reopens on the next use)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            conn.close()
        self._local.conn = None

    def __enter__(self) -> ScoreStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ reads
    def get(
        self, context: ScoreContext, archs: Sequence[str], proxies: Sequence[str]
    ) -> dict[tuple[str, str], tuple[float, str | None]]:
        """Stored ``(value, error)`` of every (architecture key, proxy) pair present.

        Parameters
        ----------
        context : ScoreContext
        archs : sequence of str
            Architecture keys (:func:`arch_key`).
        proxies : sequence of str

        Returns
        -------
        dict
            ``{(arch, proxy): (value, error)}`` for the pairs found; ``value`` is NaN for a
            failed proxy, ``error`` is None for a successful one.
        """
        _check_context(context)
        archs = _check_strs(archs, "archs")
        proxies = _check_strs(proxies, "proxies")
        if not archs or not proxies:
            return {}
        conn = self._connection()
        wanted = set(proxies)
        out: dict[tuple[str, str], tuple[float, str | None]] = {}
        unique = list(dict.fromkeys(archs))
        for start in range(0, len(unique), _LOOKUP_CHUNK):
            part = unique[start : start + _LOOKUP_CHUNK]
            marks = ",".join("?" * len(part))
            try:
                rows = conn.execute(
                    "SELECT arch, proxy, value, error FROM scores WHERE space = ? AND "
                    f"data_fp = ? AND seed = ? AND version = ? AND options_fp = ? AND arch IN "
                    f"({marks})",
                    (*context._key(), *part),
                ).fetchall()
            except sqlite3.OperationalError:
                raise  # locked or busy: not damage
            except sqlite3.DatabaseError as exc:  # damage the quick check did not reach
                raise self._damaged(str(exc)) from exc
            for arch, proxy, value, error in rows:
                if proxy in wanted:
                    out[(arch, proxy)] = (math.nan if value is None else float(value), error)
        return out

    def __len__(self) -> int:
        return int(self._connection().execute("SELECT COUNT(*) FROM scores").fetchone()[0])

    def count(self, context: ScoreContext | None = None) -> int:
        """Number of rows (of one context, or all)."""
        if context is None:
            return len(self)
        _check_context(context)
        return int(
            self._connection()
            .execute(
                "SELECT COUNT(*) FROM scores WHERE space = ? AND data_fp = ? AND seed = ? "
                "AND version = ? AND options_fp = ?",
                context._key(),
            )
            .fetchone()[0]
        )

    def to_frame(self, context: ScoreContext | None = None) -> Any:
        """The rows as a pandas DataFrame (one row per score, the key columns first).

        Pivot it to one row per architecture with
        ``df.pivot(index="arch", columns="proxy", values="value")`` (one context).
        """
        import pandas as pd

        sql = f"SELECT {', '.join(_COLUMNS)} FROM scores"
        params: tuple[Any, ...] = ()
        if context is not None:
            _check_context(context)
            sql += f" WHERE {_CONTEXT_WHERE}"
            params = context._key()
        rows = self._connection().execute(sql + " ORDER BY created, arch, proxy", params)
        df = pd.DataFrame(rows.fetchall(), columns=list(_COLUMNS))
        df["value"] = df["value"].astype(np.float64)  # NULL -> NaN
        return df

    def describe(self, fp: str) -> Any:
        """The options or data description recorded for a fingerprint (None if unknown)."""
        row = (
            self._connection()
            .execute("SELECT description FROM fingerprints WHERE fp = ?", (fp,))
            .fetchone()
        )
        return None if row is None else json.loads(row[0])

    # ------------------------------------------------------------------ writes
    def put(
        self,
        context: ScoreContext,
        records: Iterable[tuple[str, str, float, str | None]],
        descriptions: dict[str, tuple[str, Any]] | None = None,
    ) -> int:
        """Insert ``(arch, proxy, value, error)`` records in one transaction.

        Parameters
        ----------
        context : ScoreContext
        records : iterable of (str, str, float, str or None)
            ``value`` may be NaN (stored as NULL); ``error`` is the failure text or None.
        descriptions : dict, optional
            ``{fingerprint: (kind, jsonable description)}`` recorded alongside (first write
            wins), so a fingerprint can be explained later with :meth:`describe`.

        Returns
        -------
        int
            Rows inserted (keys already present are left unchanged and not counted).
        """
        _check_context(context)
        now = time.time()
        rows = []
        for rec in records:
            if not isinstance(rec, (tuple, list)) or len(rec) != 4:
                raise ValueError(f"a record must be (arch, proxy, value, error), got {rec!r}")
            arch, proxy, value, error = rec
            if not isinstance(arch, str) or not isinstance(proxy, str):
                raise TypeError(f"arch and proxy must be str, got {arch!r}, {proxy!r}")
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                raise TypeError(f"value must be a real number, got {value!r}")
            if error is not None and not isinstance(error, str):
                raise TypeError(f"error must be None or a str, got {error!r}")
            value = float(value)
            rows.append(
                (*_row_key(context, arch, proxy), None if math.isnan(value) else value, error, now)
            )
        if not rows and not descriptions:
            return 0
        conn = self._connection()
        with _transaction(conn):
            for fp, (kind, description) in (descriptions or {}).items():
                conn.execute(
                    "INSERT OR IGNORE INTO fingerprints (fp, kind, description) VALUES (?, ?, ?)",
                    (fp, kind, _canonical_json(description)),
                )
            before = conn.total_changes
            conn.executemany(
                f"INSERT OR IGNORE INTO scores ({', '.join(_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(_COLUMNS))})",
                rows,
            )
            return conn.total_changes - before

    def delete_failures(self, context: ScoreContext | None = None) -> int:
        """Delete the rows of failed proxies (so the next run computes them again).

        Returns the number of rows deleted.
        """
        sql = "DELETE FROM scores WHERE error IS NOT NULL"
        params: tuple[Any, ...] = ()
        if context is not None:
            _check_context(context)
            sql += f" AND {_CONTEXT_WHERE}"
            params = context._key()
        conn = self._connection()
        with _transaction(conn):
            return conn.execute(sql, params).rowcount


class _transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error) on an autocommit connection.

    IMMEDIATE takes the write lock at the start, so concurrent writers queue on the busy
    timeout instead of failing on a read-to-write lock upgrade.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: Any, *rest: Any) -> None:
        self.conn.execute("ROLLBACK" if exc_type is not None else "COMMIT")


def _row_key(context: ScoreContext, arch: str, proxy: str) -> tuple[Any, ...]:
    return (context.space, arch, proxy, context.data_fp, context.seed, context.version,
            context.options_fp)  # fmt: skip


def _check_context(context: Any) -> None:
    if not isinstance(context, ScoreContext):
        raise TypeError(f"context must be a ScoreContext, got {type(context).__name__}")


def _check_strs(values: Any, what: str) -> list[str]:
    if isinstance(values, str):
        raise TypeError(f"{what} must be a sequence of str, got a single str {values!r}")
    values = list(values)
    bad = [v for v in values if not isinstance(v, str)]
    if bad:
        raise TypeError(f"{what} must hold str keys, got {bad[:3]!r}")
    return values


def resolve_store(store: Any) -> ScoreStore | None:
    """``None`` -> None, a path -> a new :class:`ScoreStore`, a ScoreStore -> itself."""
    if store is None or isinstance(store, ScoreStore):
        return store
    if isinstance(store, (str, os.PathLike)):
        return ScoreStore(store)
    raise TypeError(f"store must be None, a path or a ScoreStore, got {type(store).__name__}")
