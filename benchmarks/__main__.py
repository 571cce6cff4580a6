"""``python -m benchmarks list`` / ``python -m benchmarks run STUDY [--quick]``.

``run`` executes the study's steps (``benchmarks/studies.py``) as ``python
benchmarks/<module>.py ARGS``, one process per step, from the repository root. A full run
writes ``benchmarks/results`` and resumes from ``benchmarks/data``; it refuses to write a
results file while ``libranas/`` or ``benchmarks/`` have uncommitted changes (see
``_common.write_results``). ``--quick`` points results and caches at a scratch folder
(``benchmarks/_quick/<study>``, or ``--scratch``), so it touches neither.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from studies import STUDIES, Study  # noqa: E402


def _data_dir() -> Path:
    return Path(os.environ.get("LIBRANAS_DATA") or HERE.parents[1] / "shared" / "data")


def list_studies() -> int:
    for s in STUDIES.values():
        quick = "yes" if s.quick is not None else f"no ({s.quick_note})"
        print(f"{s.name}\n    {s.measures}")
        print(f"    results: {', '.join(s.results) or '(caches only)'}")
        print(f"    caches:  {', '.join(s.caches) or '-'} (benchmarks/data)")
        print(f"    time:    with the caches {s.time_cached}; without them {s.time_uncached}")
        print(f"    quick:   {quick}; real data: {'needed' if s.needs_data else 'not needed'}")
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


def run_study(study: Study, quick: bool, scratch_root: Path | None) -> int:
    if study.needs_data and not _data_dir().is_dir():
        print(f"[{study.name}] skipped: needs the real data in {_data_dir()} (LIBRANAS_DATA)")
        return 0
    env = dict(os.environ)
    steps = study.steps
    if quick:
        if study.quick is None:
            print(f"[{study.name}] no --quick run: {study.quick_note}")
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
        print(f"[{study.name}] $ {' '.join(cmd[1:])}", flush=True)
        start = time.perf_counter()
        rc = subprocess.run(cmd, env=env, cwd=HERE.parent).returncode
        print(f"[{study.name}] exit {rc} in {time.perf_counter() - start:.1f} s", flush=True)
        if rc:
            return rc
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="every study: what it measures, results, time")
    r = sub.add_parser("run", help="regenerate one study (or --all)")
    r.add_argument("study", nargs="?", choices=sorted(STUDIES))
    r.add_argument("--all", action="store_true", help="every study, in the registry's order")
    r.add_argument("--quick", action="store_true", help="tiny subset into a scratch folder")
    r.add_argument("--scratch", type=Path, default=None, help="scratch folder of --quick")
    args = p.parse_args(argv)
    if args.cmd == "list":
        return list_studies()
    if bool(args.study) == bool(args.all):
        p.error("name one study or pass --all")
    names = list(STUDIES) if args.all else [args.study]
    failed = [n for n in names if run_study(STUDIES[n], args.quick, args.scratch) != 0]
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
