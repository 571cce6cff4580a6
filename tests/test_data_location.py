"""Where the tests find real data, strict mode, and no machine-specific path in the repo."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import _data

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent

PROBE = """
from _data import needs_data, require_data

@needs_data("images/nothing_here.npz")
def test_marked():
    pass

def test_required():
    require_data("tables/nothing_here.json")

def test_plain():
    pass
"""


def _run_probe(tmp_path, strict):
    for name in ("conftest.py", "_data.py"):
        shutil.copy(TESTS / name, tmp_path / name)
    (tmp_path / "test_probe.py").write_text(PROBE)
    env = {k: v for k, v in os.environ.items() if k != "LIBRANAS_STRICT_DATA"}
    env["LIBRANAS_DATA"] = str(tmp_path / "no-data-here")
    if strict:
        env["LIBRANAS_STRICT_DATA"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-o", "addopts=",
         "test_probe.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True,
    )  # fmt: skip


def test_missing_data_skips_by_default(tmp_path):
    run = _run_probe(tmp_path, strict=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed, 2 skipped" in run.stdout
    assert "real data not available" in run.stdout and "LIBRANAS_DATA" in run.stdout


def test_strict_mode_turns_a_data_skip_into_a_failure(tmp_path):
    run = _run_probe(tmp_path, strict=True)
    assert run.returncode == 1, run.stdout + run.stderr
    # the marked test fails in its setup (an error), the one calling require_data fails
    assert "1 failed, 1 passed, 1 error" in run.stdout
    assert "LIBRANAS_STRICT_DATA is set" in run.stdout


def test_data_folder_is_found_relative_to_the_repository(monkeypatch):
    if os.environ.get("LIBRANAS_DATA"):
        assert Path(os.environ["LIBRANAS_DATA"]) == _data.DATA_DIR
    else:
        assert REPO.parent / "shared" / "data" == _data.DATA_DIR


def test_no_absolute_machine_path_in_the_repository():
    try:
        files = subprocess.run(
            ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: walk the tree
        files = [
            str(p.relative_to(REPO))
            for p in REPO.rglob("*")
            if p.is_file() and not {".git", ".venv", "_build"} & set(p.parts)
        ]
    # assembled so that this file does not contain them itself
    prefixes = ["/" + d + "/" for d in ("work", "root", "home")]
    offenders = []
    for name in files:
        path = REPO / name
        if not path.is_file() or path.stat().st_size > 5_000_000:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary
        for prefix in prefixes:
            if prefix in text:
                offenders.append(f"{name}: {prefix}")
    assert not offenders, offenders
