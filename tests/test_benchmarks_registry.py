"""The benchmark studies stay registered, circle-free and runnable by ``python -m benchmarks``.

Static checks (no study is run to completion here; CI runs every study with ``--quick``).
"""

import ast
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
#: modules of benchmarks/ that are not studies
NOT_STUDIES = {"__init__", "__main__", "_common", "studies"}


def _registry():
    sys.path.insert(0, str(BENCH))
    try:
        from studies import STUDIES
    finally:
        sys.path.remove(str(BENCH))
    return STUDIES


def test_every_study_module_is_registered_with_its_results():
    studies = _registry()
    modules = {p.stem for p in BENCH.glob("*.py")} - NOT_STUDIES
    registered = {s.module for s in studies.values()}
    # a helper module of a study (imported by it, never run) is not a study of its own
    helpers = {m for m in modules - registered if m.endswith(("_rows", "_report", "_sections"))}
    assert modules - helpers == registered, (
        f"unregistered: {sorted(modules - helpers - registered)}; "
        f"registered without a module: {sorted(registered - modules)}"
    )
    for s in studies.values():
        assert s.steps and s.measures and s.time_cached and s.time_uncached, s.name
        assert s.quick is not None or s.quick_note, f"{s.name}: no --quick run and no reason"
        for args in s.steps + (s.quick or ()):
            assert all(isinstance(a, str) for a in args), s.name


def test_no_import_circle_between_benchmark_modules():
    modules = {p.stem: p for p in BENCH.glob("*.py")}
    graph = {m: set() for m in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):  # function-level imports too
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                targets = [node.module]
            else:
                continue
            graph[name] |= {t for t in targets if t in modules and t != name}

    def reaches(start, goal, seen=()):
        return any(
            n == goal or (n not in seen and reaches(n, goal, (*seen, n))) for n in graph[start]
        )

    circles = sorted(m for m in graph if reaches(m, m))
    assert circles == [], f"modules on an import circle: {circles}"


def test_list_names_every_study():
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks", "list"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for name in _registry():
        assert f"\n{name}\n" in f"\n{out}", name


def test_torch_threads_refuses_when_torch_default_is_one_thread(tmp_path):
    # with OMP_NUM_THREADS=1 torch's default is 1 thread: the study has nothing to compare
    # and must say so instead of writing a table of 1-thread rows only
    env = {k: v for k, v in os.environ.items() if k != "LIBRANAS_BENCH_QUICK"}
    env["OMP_NUM_THREADS"] = "1"
    out = tmp_path / "torch_threads.md"
    proc = subprocess.run(
        [sys.executable, str(BENCH / "torch_threads.py"), "--n-cells", "1", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 2, proc.stderr
    assert "OMP_NUM_THREADS" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()


def test_quick_runs_side_by_side_print_each_study_as_one_block(tmp_path, monkeypatch, capsys):
    # two quick studies at once (--jobs 2): a study's output is one block (no interleaving),
    # in the order the studies were named, and a failed one is named
    import benchmarks.__main__ as runner

    def fake_run(study, quick, scratch_root, emit):
        assert quick and scratch_root == tmp_path
        for i in range(3):
            emit(f"[{study.name}] line {i}")
            time.sleep(0.01)  # lets the other thread run in between
        return 1 if study.name == "b" else 0

    monkeypatch.setattr(runner, "run_study", fake_run)
    monkeypatch.setattr(runner, "STUDIES", {n: SimpleNamespace(name=n) for n in "ab"})
    assert runner.run_quick_parallel(["a", "b"], tmp_path, jobs=2) == ["b"]
    expected = "".join(f"[{n}] line {i}\n" for n in "ab" for i in range(3))
    assert capsys.readouterr().out == expected


def test_jobs_needs_quick():
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "run", "--all", "--jobs", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "--jobs needs --quick" in proc.stderr and "Traceback" not in proc.stderr
