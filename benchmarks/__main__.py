"""``python -m benchmarks list`` / ``python -m benchmarks run STUDY [--quick]``.

``run`` executes the study's steps (``benchmarks/studies.py``) as ``python
benchmarks/<module>.py ARGS``, one process per step, from the repository root. A full run
writes ``benchmarks/results`` and resumes from ``benchmarks/data``; it refuses to write a
results file while ``libranas/`` or ``benchmarks/`` have uncommitted changes (see
``_common.write_results``). ``--quick`` points results and caches at a scratch folder
(``benchmarks/_quick/<study>``, or ``--scratch``), so it touches neither; each quick study has a
scratch folder of its own, so ``--quick --jobs N`` runs N of them at once (each study's output is
printed as one block when it ends). Full runs stay one at a time: a study may read what an
earlier one wrote.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from studies import STUDIES, Study  # noqa: E402


def _data_dir() -> Path:
    return Path(os.environ.get("LIBRANAS_DATA") or HERE.parents[1] / "shared" / "data")


def list_studies() -> int:
    for s in STUDIES.values():
        note = f" ({s.quick_note})" if s.quick_note else ""
        quick = f"yes{note}" if s.quick is not None else f"no{note}"
        print(f"{s.name}\n    {s.measures}")
        print(f"    results: {', '.join(s.results) or '(caches only)'}")
        print(f"    caches:  {', '.join(s.caches) or '-'} (benchmarks/data)")
        print(f"    time:    with the caches {s.time_cached}; without them {s.time_uncached}")
        print(f"    quick:   {quick}; real data: {'needed' if s.needs_data else 'not needed'}")
        steps = "; ".join(" ".join([f"benchmarks/{s.module}.py", *a]) for a in s.steps)
        print(f"    run:     {steps}")
        if s.recompute:
            print(f"    recompute caches: {s.recompute}")
    return 0


def _producer(rel: str) -> Study | None:
    for s in STUDIES.values():
        for c in s.caches:
            if rel == c or (c.endswith("/") and rel.startswith(c)):
                return s
    return None


def write_manifest() -> int:
    """benchmarks/data/MANIFEST.md: every cache file, the study and command that produce it,
    and the last commit that changed it (from git)."""
    data = HERE / "data"
    lines = [
        "# benchmarks/data: the caches of the benchmark studies",
        "",
        "Written by `python -m benchmarks manifest` (do not edit by hand). Each file is a",
        "resumable cache of one study (`python -m benchmarks list`): optional, a study without",
        "it recomputes (the time `list` gives). `$LIBRANAS_BENCH_CACHE` points the studies",
        "at another folder holding the same files.",
        "",
        "| file | produced by | command | last changed in commit |",
        "|---|---|---|---|",
    ]
    unclaimed = []
    for path in sorted(p for p in data.rglob("*") if p.is_file()):
        rel = path.relative_to(data).as_posix()
        if rel == "MANIFEST.md" or path.suffix in (".log", ".db") or ".db-" in path.name:
            continue
        study = _producer(rel)
        if study is None:
            unclaimed.append(rel)
            continue
        commit = subprocess.run(
            [
                "git",
                "log",
                "-1",
                # files merged in from a branch count at their merge commit (first parent)
                "--diff-merges=first-parent",
                "--diff-filter=AM",
                "--no-patch",
                "--format=%h %cs",
                "--",
                str(path),
            ],
            capture_output=True,
            text=True,
            cwd=HERE,
        ).stdout.strip()
        command = study.recompute or f"python benchmarks/{study.module}.py"
        lines.append(
            f"| `{rel}` | {study.name} | `{command.strip()}` | {commit or 'not committed'} |"
        )
    if unclaimed:
        raise SystemExit(f"cache files no study claims (add them to studies.py): {unclaimed}")
    (data / "MANIFEST.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {data / 'MANIFEST.md'}")
    return 0


def _copy_inputs(study: Study, scratch: Path) -> None:
    """Copy the caches a quick run reads (another study's) into its scratch folders."""
    cache = Path(os.environ.get("LIBRANAS_BENCH_CACHE") or HERE / "data")
    for item in study.quick_inputs:
        if item == "*":
            shutil.copytree(cache, scratch / "data", dirs_exist_ok=True)
            continue
        src_root, dst_root = cache, scratch / "data"
        if item.startswith("results:"):
            item, src_root, dst_root = item.split(":", 1)[1], HERE / "results", scratch / "results"
        src = src_root / item
        if not src.exists():
            raise SystemExit(f"{study.name} --quick reads {src}, which is missing")
        if src.is_dir():
            shutil.copytree(src, dst_root / item, dirs_exist_ok=True)
        else:
            (dst_root / src.relative_to(src_root)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst_root / item)


def run_study(
    study: Study,
    quick: bool,
    scratch_root: Path | None,
    emit: Callable[[str], None] | None = None,
) -> int:
    """Run a study's steps; their output goes to this process's stdout, or, with ``emit``,
    line by line to ``emit`` (a study run beside others)."""
    say = emit or (lambda line: print(line, flush=True))
    if study.needs_data and not _data_dir().is_dir():
        say(f"[{study.name}] skipped: needs the real data in {_data_dir()} (LIBRANAS_DATA)")
        return 0
    env = dict(os.environ)
    steps = study.steps
    if not quick and os.environ.get("LIBRANAS_BENCH_ALLOW_DIRTY") != "1":
        from _common import uncommitted_code

        changed = uncommitted_code()
        if changed:  # refuse before hours of work, not only when the report is written
            print(
                f"[{study.name}] refused: uncommitted changes in libranas/ or benchmarks/ "
                f"({', '.join(c.split()[-1] for c in changed[:5])}); commit them first "
                "(a results file names the clean commit it was made at)",
                file=sys.stderr,
            )
            return 1
    if quick:
        if study.quick is None:
            say(f"[{study.name}] no --quick run: {study.quick_note}")
            return 0
        scratch = (scratch_root or HERE / "_quick") / study.name
        shutil.rmtree(scratch, ignore_errors=True)
        (scratch / "data").mkdir(parents=True)
        (scratch / "results").mkdir(parents=True)
        _copy_inputs(study, scratch)
        env.update(
            LIBRANAS_BENCH_QUICK="1",
            LIBRANAS_BENCH_CACHE=str(scratch / "data"),
            LIBRANAS_BENCH_RESULTS=str(scratch / "results"),
            OMP_NUM_THREADS=env.get("OMP_NUM_THREADS", "1"),
        )
        steps = study.quick
    for args in steps:
        cmd = [sys.executable, str(HERE / f"{study.module}.py"), *args]
        say(f"[{study.name}] $ {' '.join(cmd[1:])}")
        start = time.perf_counter()
        if emit is None:
            rc = subprocess.run(cmd, env=env, cwd=HERE.parent).returncode
        else:
            done = subprocess.run(cmd, env=env, cwd=HERE.parent, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)  # fmt: skip
            for line in done.stdout.splitlines():
                emit(line)
            rc = done.returncode
        say(f"[{study.name}] exit {rc} in {time.perf_counter() - start:.1f} s")
        if rc:
            return rc
    return 0


def run_quick_parallel(names: list[str], scratch_root: Path | None, jobs: int) -> list[str]:
    """Quick runs of ``names``, ``jobs`` at a time; each one's output printed as one block
    when it ends. Returns the names of those that failed."""

    def one(name: str) -> tuple[str, int, list[str]]:
        lines: list[str] = []
        rc = run_study(STUDIES[name], True, scratch_root, emit=lines.append)
        return name, rc, lines

    failed = []
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for name, rc, lines in pool.map(one, names):
            print("\n".join(lines), flush=True)
            if rc:
                failed.append(name)
    return failed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="every study: what it measures, results, time")
    sub.add_parser("manifest", help="write benchmarks/data/MANIFEST.md")
    r = sub.add_parser("run", help="regenerate one study (or --all)")
    r.add_argument("study", nargs="?", choices=sorted(STUDIES))
    r.add_argument("--all", action="store_true", help="every study, in the registry's order")
    r.add_argument("--quick", action="store_true", help="tiny subset into a scratch folder")
    r.add_argument("--scratch", type=Path, default=None, help="scratch folder of --quick")
    r.add_argument(
        "--jobs", type=int, default=1, help="--quick only: run this many studies at once"
    )
    args = p.parse_args(argv)
    if args.cmd == "list":
        return list_studies()
    if args.cmd == "manifest":
        return write_manifest()
    if bool(args.study) == bool(args.all):
        p.error("name one study or pass --all")
    if args.jobs < 1:
        p.error(f"--jobs must be at least 1, got {args.jobs}")
    if args.jobs > 1 and not args.quick:
        p.error("--jobs needs --quick (full runs may read what an earlier study wrote)")
    names = list(STUDIES) if args.all else [args.study]
    if args.jobs > 1:
        failed = run_quick_parallel(names, args.scratch, args.jobs)
    else:
        failed = [n for n in names if run_study(STUDIES[n], args.quick, args.scratch) != 0]
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
