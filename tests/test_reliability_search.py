"""Issue 25 (search side): one writer per storage, budgets bounded by the space, damaged
storage lines answered in one line, proxy failures shown, never a failed network on top."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from libranas import cli
from libranas.search import RandomSampler, SearchLoop
from libranas.search.storage import JSONLStorage, StorageLockedError

ROOT = Path(__file__).resolve().parents[1]
SEARCH = ["search", "--budget", "120", "--labelled", "30", "--seed", "3"]


def _cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    return code, out.getvalue(), err.getvalue()


def _spawn(argv: list[str], cwd: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "libranas.cli", *argv],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_second_search_on_a_held_storage_is_refused_in_one_line(tmp_path):
    path = tmp_path / "c.jsonl"
    with JSONLStorage(path).writer():
        proc = _spawn([*SEARCH, "--storage", str(path)], tmp_path)
        out, err = proc.communicate(timeout=300)
    assert proc.returncode == 2
    assert err.count("\n") == 1 and "being written by another search" in err
    assert str(os.getpid()) in err
    assert not path.exists() or path.read_text() == ""


def test_two_concurrent_searches_leave_a_storage_that_resumes_like_one_run(tmp_path):
    shared = tmp_path / "same.jsonl"
    procs = [_spawn([*SEARCH, "--storage", str(shared)], tmp_path) for _ in range(2)]
    results = [p.communicate(timeout=600) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes[0] == 0 and codes[1] in (0, 2), results
    for proc, (_, err) in zip(procs, results, strict=True):
        if proc.returncode == 2:
            assert "being written by another search" in err and err.count("\n") == 1
    resumed = _spawn([*SEARCH, "--storage", str(shared)], tmp_path).communicate(timeout=300)
    fresh = _spawn([*SEARCH, "--storage", str(tmp_path / "fresh.jsonl")], tmp_path)
    fresh_out, _ = fresh.communicate(timeout=300)

    def best_and_trajectory(text: str) -> list[str]:
        return [ln for ln in text.splitlines() if "s scoring)" not in ln]

    assert best_and_trajectory(resumed[0]) == best_and_trajectory(fresh_out)
    # no duplicate batch: the shared file holds exactly what the fresh one holds
    strip = [
        [json.loads(ln) for ln in p.read_text().splitlines()]
        for p in (shared, tmp_path / "fresh.jsonl")
    ]
    for records in strip:
        for r in records:
            r["record"].pop("score_seconds", None)
    assert strip[0] == strip[1]


def test_budget_beyond_the_space_is_refused_within_seconds():
    start = time.perf_counter()
    code, out, err = _cli(["search", "--budget", "100000000"])
    assert code == 2 and out == ""
    assert "15625" in err and err.count("\n") == 1
    code, _, err = _cli(["search", "--budget", "800", "--max-params", "0.08"])
    assert code == 2 and "729 of the space's 15625" in err
    assert time.perf_counter() - start < 5 * 2  # two commands, 5 s each


def test_loop_refuses_n_trials_beyond_the_space():
    loop = SearchLoop("nb201", lambda a: [1.0] * len(a), RandomSampler(), n_trials=16_000)
    with pytest.raises(ValueError, match="15625"):
        loop.run()


def _loop(storage, n_trials=20, scorer=None):
    scorer = scorer or (lambda archs: [a.count("conv_3x3") for a in archs])
    return SearchLoop(
        "nb201", scorer, RandomSampler(), n_trials=n_trials, storage=storage, random_state=0
    )


def test_storage_record_without_evaluations_is_named(tmp_path):
    path = tmp_path / "s.jsonl"
    _loop(path).run()
    lines = path.read_text().splitlines()
    broken = json.loads(lines[1])
    del broken["record"]["evaluations"]
    lines[1] = json.dumps(broken)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"record 1 lacks its generation or evaluations"):
        _loop(path, n_trials=30).run()


def test_unfinished_last_line_with_invalid_utf8_is_ignored(tmp_path):
    path = tmp_path / "s.jsonl"
    expected = _loop(tmp_path / "ref.jsonl", n_trials=30).run()
    _loop(path, n_trials=20).run()
    with open(path, "ab") as fh:
        fh.write(b'{"study": "search", "record": {"kind": "batch", "arch": "\xe2\x82')
    resumed = _loop(path, n_trials=30).run()
    assert resumed.best_arch == expected.best_arch
    assert resumed.history["arch"].tolist() == expected.history["arch"].tolist()


def test_storage_lock_is_released_and_reentrant(tmp_path):
    storage = JSONLStorage(tmp_path / "s.jsonl")
    with storage.writer(), storage.writer():
        pass
    with storage.writer():
        pass
    code = (
        "import sys; from libranas.search.storage import JSONLStorage\n"
        f"with JSONLStorage({str(storage.path)!r}).writer(): print('held')"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with storage.writer():
        proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                              text=True)  # fmt: skip
        assert proc.returncode != 0 and "StorageLockedError" in proc.stderr
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert proc.stdout.strip() == "held"
    assert StorageLockedError.__mro__[1] is ValueError


def test_all_failed_scores_never_the_best():
    def scorer(archs):
        return [-np.inf if "none" in a else float(a.count("conv_3x3")) for a in archs]

    res = SearchLoop("nb201", scorer, RandomSampler(), n_trials=40, random_state=0).run()
    assert "none" not in res.best_arch
    with pytest.raises(ValueError, match="NaN or -inf"):
        SearchLoop(
            "nb201", lambda a: [-np.inf] * len(a), RandomSampler(), n_trials=5, random_state=0
        ).run()


def test_live_search_with_a_proxy_failing_everywhere_exits_1_with_a_line(tmp_path):
    x = np.full((8, 3, 32, 32), 7, np.uint8)  # identical images: nwot's kernel is singular
    np.savez(tmp_path / "cifar10_same.npz", x=x, y=np.arange(8) % 10)
    code, out, err = _cli(
        ["search", "--mode", "live", "--labelled", "0", "--budget", "2", "--batch-size", "2",
         "--population", "2", "--proxies", "params,nwot", "--live-batch", "8", "--task",
         "cifar10", "--data", str(tmp_path / "cifar10_same.npz")]
    )  # fmt: skip
    assert code == 1
    assert "best architecture:" in out  # the results are printed, not lost
    assert "warning: proxy 'nwot' failed on 2 of 2 architectures" in err
    assert "failed on every architecture" in err and "Traceback" not in err


def test_resume_with_other_seeds_is_refused_before_computing(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, (8, 3, 32, 32), dtype=np.uint8)
    data = tmp_path / "cifar10_rand.npz"
    np.savez(data, x=x, y=np.arange(8) % 10)
    storage = tmp_path / "live.jsonl"
    args = ["search", "--mode", "live", "--labelled", "0", "--budget", "2", "--batch-size",
            "2", "--population", "2", "--proxies", "params,synflow", "--live-batch", "8",
            "--task", "cifar10", "--data", str(data), "--storage", str(storage)]  # fmt: skip
    code, _, err = _cli([*args, "--seed", "0"])
    assert code == 0, err
    store = Path(f"{storage}.proxies.sqlite")
    before = (storage.read_bytes(), store.stat().st_mtime_ns, store.stat().st_size)
    code, out, err = _cli([*args, "--seed", "1"])
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "--seed 0" in err and "nothing was computed" in err
    code, _, err = _cli([*args, "--seed", "0", "--init-seed", "5"])
    assert code == 2 and "--init-seed 0" in err
    assert (storage.read_bytes(), store.stat().st_mtime_ns, store.stat().st_size) == before
