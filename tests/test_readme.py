"""Every code block of README.md and docs/getting_started.rst runs, so neither can drift.

How each block is run:

- ``python`` blocks: in a fresh interpreter (``PYTHONPATH`` = this checkout), one after the
  other in one scratch folder per document, in document order;
- ``bash`` blocks: each command line (``\\``-continued lines joined, ``#`` comments dropped)
  that starts with ``libranas`` runs as ``python -m libranas.cli ...`` in that folder. A
  command that downloads (``libranas data export-batch cifar10``) reads the CIFAR-10 batch of
  ``../shared/data`` instead (:data:`OFFLINE`);
- set-up lines (``python3 -m venv ... pip install ...``) are not run (they install); the test
  command must be the one ``.ci/run`` runs, and the main job that ends the set-up line
  (``libranas evaluate``) is run;
- ``.venv/bin/python -m pytest`` / ``sphinx`` lines are this test suite and the docs build.

A ``scratch`` folder starts with ``cifar10_64_uint8.npz`` only where a document uses the file
before the block that writes it (getting_started).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from _data import needs_data, require_data

ROOT = Path(__file__).resolve().parents[1]
CIFAR10 = "images/cifar10_960_uint8.npz"
#: a download -> the same command on the shared data (offline)
OFFLINE = {"export-batch cifar10": "export-batch {cifar10}"}

#: the blocks that run score networks (torch) on the shared CIFAR-10 batch; the extraction
#: and the method-list checks below need neither
_runs_blocks = [
    pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs torch"),
    needs_data(CIFAR10),
]


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """``(language, code)`` of every fenced block of a markdown text."""
    return [(m[1], m[2]) for m in re.finditer(r"^```(\w+)\n(.*?)^```$", text, re.S | re.M)]


def rst_blocks(text: str) -> list[tuple[str, str]]:
    """``(language, code)`` of every ``.. code-block::`` of a reST text."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        m = re.fullmatch(r"\.\. code-block:: (\w+)", lines[i].strip())
        i += 1
        if m is None:
            continue
        body = []
        i += 1  # the blank line after the directive
        while i < len(lines) and (not lines[i].strip() or lines[i].startswith("   ")):
            body.append(lines[i][3:])
            i += 1
        blocks.append((m[1], "\n".join(body).strip() + "\n"))
    return blocks


def command_lines(code: str) -> list[str]:
    """The commands of a bash block: continuations joined, comments dropped."""
    joined = code.replace("\\\n", " ")
    out = []
    for line in joined.splitlines():
        line = line.split(" #")[0].strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore"}


def _run_python(code: str, cwd: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=_env(), capture_output=True, text=True
    )
    assert run.returncode == 0, f"{code}\n---\n{run.stderr[-3000:]}"


def _run_cli(line: str, cwd: Path) -> None:
    cifar10 = str(require_data(CIFAR10))
    for online, offline in OFFLINE.items():
        line = line.replace(online, offline.format(cifar10=cifar10))
    argv = shlex.split(line)
    assert argv[0] == "libranas", line
    run = subprocess.run(
        [sys.executable, "-m", "libranas.cli", *argv[1:]],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, f"{line}\n---\n{run.stderr[-3000:]}"
    assert "Traceback" not in run.stderr, run.stderr


def _ci_test_command() -> str:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    return next(line for line in ci.splitlines() if "pytest" in line and "venv" in line)


def _run_bash(code: str, cwd: Path) -> None:
    for line in command_lines(code):
        if re.match(r"python3? -m venv", line):  # set-up: not run here
            if "&&" not in line:  # creating the venv alone
                continue
            if "pytest" in line:
                assert line == _ci_test_command(), "README's test command != .ci/run's"
            else:
                main_job = line.split("&&")[-1].strip()
                assert main_job == ".venv/bin/libranas evaluate", main_job
                _run_cli("libranas evaluate", cwd)
        elif line.startswith(".venv/bin/"):  # the install, this test suite, the docs build
            assert re.match(r"\.venv/bin/(pip install|python -m (pytest|sphinx))", line), line
        else:
            _run_cli(line, cwd)


def _run_document(blocks: list[tuple[str, str]], cwd: Path) -> None:
    assert blocks
    for language, code in blocks:
        if language == "python":
            _run_python(code, cwd)
        elif language == "bash":
            _run_bash(code, cwd)
        else:  # a listing (e.g. ``text``) is not code
            assert language in ("text",), language


@_runs_blocks[0]
@_runs_blocks[1]
def test_readme_code_blocks_run_as_written(tmp_path):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = fenced_blocks(text)
    assert [lang for lang, _ in blocks].count("python") >= 2
    _run_document(blocks, tmp_path)


@_runs_blocks[0]
@_runs_blocks[1]
def test_getting_started_code_blocks_run_as_written(tmp_path):
    text = (ROOT / "docs" / "getting_started.rst").read_text(encoding="utf-8")
    # its featurizer block reads the batch that its command-line section writes later
    _run_cli("libranas data export-batch cifar10 -n 64 -o cifar10_64_uint8.npz", tmp_path)
    _run_document(rst_blocks(text), tmp_path)


def test_block_extraction():
    md = "x\n```bash\nlibranas a \\\n  --b 1  # note\n# skip\n```\n```python\nprint(1)\n```\n"
    blocks = fenced_blocks(md)
    assert blocks == [
        ("bash", "libranas a \\\n  --b 1  # note\n# skip\n"),
        ("python", "print(1)\n"),
    ]
    assert command_lines(blocks[0][1]) == ["libranas a    --b 1"]
    rst = "T\n\n.. code-block:: python\n\n   a = 1\n   b = 2\n\nafter\n"
    assert rst_blocks(rst) == [("python", "a = 1\nb = 2\n")]


def test_getting_started_names_every_method_and_the_defaults():
    from libranas.evaluation import FULL_SEEDS, METHODS, QUICK_SEEDS

    text = " ".join((ROOT / "docs" / "getting_started.rst").read_text(encoding="utf-8").split())
    for method in [*METHODS, "paper-in-sample"]:
        assert f"``{method}``" in text, method
    assert f"(default {QUICK_SEEDS}; {FULL_SEEDS} with ``--full``)" in text
