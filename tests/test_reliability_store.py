"""Issue 25, bullets 2-3 (score store side): a damaged or foreign store file is answered in
one line naming the file and what to do; a store locked by another writer keeps the
documented promise (scores computed and printed, exit status 1)."""

from __future__ import annotations

import contextlib
import io
import sqlite3
import warnings

import pytest

from libranas import cli
from libranas import store as store_module
from libranas.featurizer import ProxyFeaturizer
from libranas.store import ScoreContext, ScoreStore, ScoreStoreError, ScoreStoreWarning

CTX = ScoreContext("NB201Space()", "data", 0, "0.1.0", "opts")


def _filled_store(path) -> None:
    with ScoreStore(path) as s:
        s.put(CTX, [(f"arch{i:05d}", "params", float(i), None) for i in range(3000)])
        s._connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    return code, out.getvalue(), err.getvalue()


def test_damaged_store_is_refused_when_opened(tmp_path):
    path = tmp_path / "scores.db"
    _filled_store(path)
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 6 * page
    data[3 * page : 5 * page] = b"\xa5" * (2 * page)  # two b-tree pages overwritten
    path.write_bytes(bytes(data))
    with pytest.raises(ScoreStoreError, match=r"scores\.db.*\.recover"):
        ScoreStore(path).get(CTX, ["arch00001"], ["params"])
    code, out, err = _run_cli(["score", "--random", "2", "--proxies", "params", "--store",
                               str(path)])  # fmt: skip
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert str(path) in err and "--store" in err


def test_foreign_sqlite_file_is_refused(tmp_path):
    path = tmp_path / "other.db"
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE scores (id INTEGER PRIMARY KEY, points REAL)")
        conn.execute("INSERT INTO scores (points) VALUES (1.5)")
        conn.commit()
    with pytest.raises(ScoreStoreError, match="not a libranas score store"):
        ScoreStore(path).get(CTX, ["a"], ["params"])
    code, out, err = _run_cli(["score", "--random", "2", "--proxies", "params", "--store",
                               str(path)])  # fmt: skip
    assert code == 2 and err.count("\n") == 1 and "other.db" in err


@pytest.fixture
def locked_store(tmp_path):
    path = tmp_path / "scores.db"
    with ScoreStore(path) as s:
        s.put(CTX, [("x", "params", 1.0, None)])
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    holder.execute("INSERT INTO fingerprints VALUES ('held', 'k', '{}')")
    yield path
    holder.execute("ROLLBACK")
    holder.close()


def test_locked_store_still_returns_the_scores(locked_store):
    feat = ProxyFeaturizer(
        "nb201", proxies=["params"], store=ScoreStore(locked_store, timeout=0.2)
    ).fit()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        X = feat.transform(feat.space_.sample(3, random_state=0))
    assert X.shape == (3, 1) and (X > 0).all()
    assert any(issubclass(w.category, ScoreStoreWarning) for w in caught)


def test_locked_store_cli_prints_scores_and_exits_1(locked_store, monkeypatch):
    monkeypatch.setattr(store_module, "DEFAULT_TIMEOUT", 0.2)
    code, out, err = _run_cli(
        ["score", "--random", "3", "--proxies", "params", "--store", str(locked_store)]
    )
    assert code == 1
    assert out.splitlines()[0] == "arch,params" and len(out.splitlines()) == 4
    assert "could not be written" in err and "Traceback" not in err
