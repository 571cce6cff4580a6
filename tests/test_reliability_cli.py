"""Issue 25 (CLI-wide): broken pipe and Ctrl-C end quietly, resources are bounded."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from libranas import cli
from libranas._cli_safety import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED
from libranas._resources import DEFAULT_TORCH_THREADS, available_cores, cap_n_jobs
from libranas.featurizer import ProxyFeaturizer

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=str(ROOT))


def _cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    return code, out.getvalue(), err.getvalue()


def test_broken_pipe_ends_quietly():
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before anything is written (`| head` that quit)
    proc = subprocess.run(
        [sys.executable, "-m", "libranas.cli", "list", "proxies"],
        stdout=write_end,
        stderr=subprocess.PIPE,
        env=ENV,
        text=True,
        timeout=120,
    )
    os.close(write_end)
    assert proc.returncode == EXIT_BROKEN_PIPE
    assert proc.stderr == ""


def test_head_pipeline_has_no_traceback():
    proc = subprocess.run(
        f"{sys.executable} -m libranas.cli list proxies | head -1",
        shell=True,
        capture_output=True,
        env=ENV,
        text=True,
        timeout=120,
    )
    assert proc.stdout.count("\n") == 1 and proc.stderr == ""


def test_ctrl_c_says_how_to_resume_and_the_storage_resumes(tmp_path):
    args = ["search", "--method", "random", "--budget", "4000", "--labelled", "0",
            "--batch-size", "2", "--seed", "2"]  # fmt: skip
    storage = tmp_path / "c.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "libranas.cli", *args, "--storage", str(storage)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
        text=True,
    )
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if storage.exists() and storage.read_text().count("\n") >= 5:
            break
        time.sleep(0.05)
    if proc.poll() is not None:
        pytest.skip("the search ended before it could be interrupted")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip("the search ended before the signal arrived")
    assert proc.returncode == EXIT_INTERRUPTED
    assert "Traceback" not in err
    assert err.strip().splitlines() == [
        f"interrupted: nothing was half-written; rerun the same command to resume from "
        f"--storage {storage}"
    ]
    resumed = _cli([*args, "--storage", str(storage)])
    fresh = _cli([*args, "--storage", str(tmp_path / "fresh.jsonl")])
    assert resumed[0] == fresh[0] == 0

    def stable(text: str) -> list[str]:
        return [ln for ln in text.splitlines() if "s scoring)" not in ln]

    assert stable(resumed[1]) == stable(fresh[1])
    for line in storage.read_text().splitlines():
        json.loads(line)  # every record complete


def test_ctrl_c_without_storage_says_it_was_not_stored(monkeypatch):
    import libranas.search.protocol as protocol

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(protocol, "search", interrupted)
    code, _, err = _cli(["search", "--budget", "50", "--labelled", "0"])
    assert code == EXIT_INTERRUPTED
    assert "pass --storage FILE to make it resumable" in err and "Traceback" not in err


@pytest.fixture
def spy_featurizer(monkeypatch):
    seen = {}
    original = ProxyFeaturizer.fit

    def fit(self, *args, **kwargs):
        seen.update(n_jobs=self.n_jobs, n_threads=self.n_threads)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ProxyFeaturizer, "fit", fit)
    return seen


def test_score_n_jobs_is_capped_at_cores_and_work(spy_featurizer):
    code, out, _ = _cli(["score", "--random", "3", "--proxies", "params", "--n-jobs", "100000"])
    assert code == 0 and len(out.splitlines()) == 4
    assert spy_featurizer["n_jobs"] == min(3, available_cores())
    assert spy_featurizer["n_threads"] == DEFAULT_TORCH_THREADS
    code, _, _ = _cli(["score", "--random", "2", "--proxies", "params", "--torch-threads", "2"])
    assert code == 0 and spy_featurizer["n_threads"] == 2


def test_cap_n_jobs_rules():
    assert cap_n_jobs(64, 2, cores=16) == 2  # `evaluate --seeds 2 --n-jobs 64`
    assert cap_n_jobs(100_000, 1000, cores=2) == 2
    assert cap_n_jobs(-1, 1000, cores=8) == 8
    assert cap_n_jobs(-2, 1000, cores=8) == 7
    assert cap_n_jobs(1, 0, cores=8) == 1


def test_random_beyond_the_space_is_refused_at_once():
    start = time.perf_counter()
    code, out, err = _cli(["score", "--random", "100000000", "--proxies", "params"])
    assert code == 2 and out == ""
    assert "15625" in err and err.count("\n") == 1
    assert time.perf_counter() - start < 5


def test_evaluate_names_a_requested_method_that_cannot_run():
    code, out, err = _cli(
        ["evaluate", "tnb101-micro-jigsaw", "--methods", "training-free-default,best-proxy",
         "--seeds", "1", "--n-labelled", "20", "--n-jobs", "1"]
    )  # fmt: skip
    assert code == 0
    assert "methods ['training-free-default'] cannot run on tnb101-micro-jigsaw" in err
    assert "training-free-default" not in out
