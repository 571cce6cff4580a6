"""libranas-computed proxy tables for the bundled NAS-Bench-Suite-Zero benchmarks.

For every architecture of ``load_benchmark(b)`` (``b`` in ``nb201-cifar10``,
``nb201-cifar100``, ``nb201-imagenet16-120``: 724 / 725 / 724 NB201 cells;
``nb301-cifar10``: 725 DARTS cells) the registered libranas proxies are computed with
:class:`libranas.ProxyFeaturizer` exactly as a user would: one untrained network per
architecture (seed ``arch_seed(cell, 0)``, i.e. ``random_state=0``), one shared pass over
one fixed batch of real images (``load_image_batch(<task file>, n=64, random_state=0)``),
``lswag_band=None`` (all layers), float32, one torch thread, CPU.

Cells are scored in a fixed random order (seed 0, so any prefix is a random subset) and
every scored cell is appended at once to a per-cell CSV cache
(``benchmarks/data/proxy_tables/<benchmark>__<group>__<setting>.csv``, next to a
JSON file stating the setting): a run that is stopped or killed resumes where it stopped.
Each row records the libranas version and git commit that computed it.

Scores that earlier scripts already computed for the same cells with the same seed, batch
and library code are reused, not recomputed, after a check on a few cells
(``--verify-imports``): ``lswag_cells.csv`` (lswag_nb201.py; all three NB201 tasks) and
``fidelity_cells.csv`` (fidelity.py; CIFAR-10, the 12 NAS-Bench-Suite-Zero proxies).

    python benchmarks/proxy_tables.py --cost 4                # time every proxy on 4 NB301 cells
    python benchmarks/proxy_tables.py --agreement 24          # cheaper NB301 settings vs full
    python benchmarks/proxy_tables.py --verify-imports 4      # reused caches vs ProxyFeaturizer
    python benchmarks/proxy_tables.py --verify-imports 4 --verify-again  # again, at this commit
    python benchmarks/proxy_tables.py --run nb301-cifar10:nb301 nb201-cifar100:nb201-rest
    python benchmarks/proxy_tables.py --export                # tables -> libranas/datasets/data
    python benchmarks/proxy_tables.py --report                # benchmarks/results/proxy_tables.md

``--snapshot [REV]`` runs the computation with the library as committed at REV (default
HEAD; copied outside the working tree), so that uncommitted edits in a shared checkout never
leak into the tables and the recorded commit is exactly the code that ran; resume a job with
the commit its rows record to keep one library version per table. Background use (1 thread,
low priority)::

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 nohup nice -n 10 .venv/bin/python \\
        benchmarks/proxy_tables.py --snapshot --run nb301-cifar10:nb301 \\
        > benchmarks/data/proxy_tables/run_nb301.log 2>&1 &

The code, by what it does: this file is the command line (and ``--snapshot``);
``proxy_tables_rows.py`` the benchmarks, settings, proxy groups, jobs and the scoring of a
cell; ``proxy_tables_check_rows.py`` ``--cost``, ``--agreement`` and ``--verify-imports``;
``proxy_tables_export_rows.py`` the tables assembled from the caches and ``--export``;
``proxy_tables_report.py`` the report (``--report``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402
from proxy_tables_check_rows import run_agreement, run_cost, run_verify  # noqa: E402
from proxy_tables_export_rows import export  # noqa: E402
from proxy_tables_report import report  # noqa: E402
from proxy_tables_rows import (  # noqa: E402
    DEFAULT_JOBS,
    REPO,
    REPORT,
    SETTINGS,
    SNAPSHOT_MARK,
    parse_job,
    provenance,
    run_job,
)


def reexec_from_snapshot(argv: list[str], rev: str) -> None:
    """Copy libranas as committed at ``rev`` outside the tree and re-run this script on it.

    Resume a run with the commit its cache rows record (``--snapshot <commit>``) to keep one
    library version per table.
    """
    if os.environ.get("LIBRANAS_SNAPSHOT_DIR"):
        return  # already running on a snapshot
    commit = subprocess.run(
        ["git", "rev-parse", "--short", f"{rev}^{{commit}}"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    ).stdout.strip()
    if not commit:
        raise SystemExit(f"--snapshot: {rev!r} is not a commit of this git checkout")
    dest = Path(tempfile.gettempdir()) / "libranas-snapshots" / commit
    if not (dest / SNAPSHOT_MARK).exists():
        dest.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "archive", commit, "libranas"], capture_output=True, check=True, cwd=REPO
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
        (dest / SNAPSHOT_MARK).write_text(commit + "\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(dest), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["LIBRANAS_SNAPSHOT_DIR"] = str(dest)
    args, skip = [], False
    for a in argv:  # drop --snapshot [REV] / --snapshot=REV
        if skip:
            skip = False
            if not a.startswith("-"):
                continue
        if a == "--snapshot":
            skip = True
            continue
        if not a.startswith("--snapshot="):
            args.append(a)
    print(f"[snapshot] libranas at {commit} from {dest}", flush=True)
    os.execve(sys.executable, [sys.executable, str(Path(__file__).resolve()), *args], env)


# ------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--run", nargs="*", metavar="BENCH:GROUP[:SETTING]", help="score (resumable)")
    p.add_argument("--cost", type=int, default=0, help="time every proxy on the first N cells")
    p.add_argument("--cost-benchmarks", nargs="+", default=["nb301-cifar10"])
    p.add_argument("--cost-settings", nargs="+", default=["full"], choices=sorted(SETTINGS))
    p.add_argument("--agreement", type=int, default=0, help="cheap settings on the first N cells")
    p.add_argument("--agreement-settings", nargs="+", default=["b32", "c16l5"])
    p.add_argument("--verify-imports", type=int, default=0, help="recompute N cached cells")
    p.add_argument(
        "--verify-again",
        action="store_true",
        help="with --verify-imports: redo the cells an earlier commit checked",
    )
    p.add_argument("--export", action="store_true", help="write the tables into the package")
    p.add_argument("--report", action="store_true", help=f"write {REPORT.name}")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--max-minutes", type=float, default=None, help="stop scoring after this")
    p.add_argument(
        "--snapshot",
        nargs="?",
        const="HEAD",
        default=None,
        metavar="REV",
        help="run on libranas as committed at REV (default HEAD), copied outside the tree",
    )
    args = p.parse_args(argv)
    if args.snapshot:
        reexec_from_snapshot(argv, args.snapshot)
    C.setup_torch(args.threads)
    print(f"[start] {dt.datetime.now().isoformat(timespec='seconds')} {provenance()}", flush=True)
    if args.cost:
        run_cost(args)
    if args.verify_imports:
        run_verify(args)
    if args.agreement:
        run_agreement(args)
    if args.run is not None:
        for job in args.run or DEFAULT_JOBS:
            if not run_job(*parse_job(job), args):
                break
    if args.export:
        export(args)
    if args.report:
        report(args)


if __name__ == "__main__":
    main()
