"""Seconds per evaluated cell of the live zero-label NB201 search, before and after, side by side.

The search is exactly the one ``zero_label_search.py`` runs (``libranas search --space nb201
--task cifar10 --mode live --labelled 0``: the training-free search default, evolution,
64 CIFAR-10 images, CPU, one torch thread), cut to ``--cells`` evaluated cells, with no
score store (every cell computed). Arms, each a fresh process, alternated within every
repetition (the first arm rotates), on the same cells:

- ``before``: the library at ``--before`` (default ``main``), extracted with ``git archive``;
- ``after``: this checkout;
- ``after-2jobs``: this checkout with ``--n-jobs 2`` (two worker processes; the scores are
  the same bit for bit whatever the number of jobs).

Every arm must return the same search (returned cell, its proxy scores and the trajectory,
compared exactly): a cost cut that changed a score would stop the study. Reported: seconds
per evaluated cell of the search call (``seconds / n_evaluated``; the process start and
imports aside), wall and CPU of the search's process, per repetition and as the median, the
ratios to ``before``, the machine and its load (``uptime`` before and after). The profile of where the time goes is
``--profile``: cProfile of one ``after`` search, grouped by stage.

    python benchmarks/search_cost.py --cells 60 --reps 3
    python benchmarks/search_cost.py --profile --cells 60
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import _common as C
import numpy as np

OUT = C.RESULTS / "search_cost.md"
REPO = C.ROOT.parent
ARMS = ("before", "after", "after-2jobs")

#: one search in a fresh process: its result as JSON on the last line of stdout
CHILD = r"""
import json, sys, time
import torch
torch.set_num_threads(1)
from libranas.search.protocol import search
cells, seed, images, n_jobs = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
options = {"data": images, "batch_size": 64, "device": "cpu", "n_threads": 1}
if n_jobs > 1:
    options["n_jobs"] = n_jobs
cpu = time.process_time()
r = search("nb201", "cifar10", budget=cells, labelled=0, mode="live",
           population=min(50, cells // 2), live_options=options, random_state=seed)
cpu = time.process_time() - cpu
keep = ("best_arch", "proxy_scores", "trajectory", "seconds", "score_seconds", "n_evaluated")
print(json.dumps({**{k: r[k] for k in keep}, "cpu_seconds": cpu}))
"""


def _before_tree(ref: str, scratch: Path) -> Path:
    """The library at ``ref``, extracted into ``scratch`` (``git archive``)."""
    archive = subprocess.run(
        ["git", "archive", ref, "libranas"], cwd=REPO, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(scratch)], input=archive, check=True)
    return scratch


def _run_arm(root: Path, cells: int, seed: int, n_jobs: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    images = str(C.IMAGES / "cifar10_960_uint8.npz")
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(cells), str(seed), images, str(n_jobs)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"search failed in {root}:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "unknown"


def measure(cells: int, reps: int, seed: int, ref: str, arms: tuple[str, ...]) -> str:
    load0 = _uptime()
    per_cell: dict[str, list[float]] = {a: [] for a in arms}
    cpu_cell: dict[str, list[float]] = {a: [] for a in arms}
    reference = None
    with tempfile.TemporaryDirectory() as tmp:
        roots = {"before": _before_tree(ref, Path(tmp)), "after": REPO, "after-2jobs": REPO}
        for rep in range(reps):
            order = arms[rep % len(arms) :] + arms[: rep % len(arms)]
            for arm in order:
                r = _run_arm(roots[arm], cells, seed, 2 if arm == "after-2jobs" else 1)
                same = {k: r[k] for k in ("best_arch", "proxy_scores", "trajectory")}
                if reference is None:
                    reference = same
                elif same != reference:
                    raise SystemExit(f"arm {arm} returned another search: scores changed")
                per_cell[arm].append(r["seconds"] / r["n_evaluated"])
                cpu_cell[arm].append(r["cpu_seconds"] / r["n_evaluated"])
                print(
                    f"rep {rep} {arm}: {per_cell[arm][-1]:.3f} s per cell "
                    f"({cpu_cell[arm][-1]:.3f} CPU s in the search's process)",
                    flush=True,
                )
    load1 = _uptime()
    med = {a: float(np.median(v)) for a, v in per_cell.items()}
    cpu_med = {a: float(np.median(v)) for a, v in cpu_cell.items()}
    lines = [
        "# Live zero-label NB201 search: seconds per evaluated cell, before and after",
        "",
        f"Made at {C.code_version()} by `python benchmarks/search_cost.py --cells {cells} "
        f"--reps {reps}`. Machine: {C.cpu_name()}, {os.cpu_count()} cores, shared with other "
        "jobs (load below); one torch thread per process. Search: `libranas search --space "
        f"nb201 --task cifar10 --mode live --labelled 0` (the training-free search default), "
        f"{cells} cells, seed {seed}, 64 CIFAR-10 images, no score store. `before` = "
        f"`{ref}` ({C._git('rev-parse', '--short', ref)}), `after` = this commit; arms "
        "alternated within each repetition, every arm returned the same search (cell, "
        "proxy scores, trajectory: equal exactly).",
        "",
        f"Load before: `{load0}`",
        f"Load after: `{load1}`",
        "",
        "Wall seconds per cell (the search call) move with the other jobs' load; CPU "
        "seconds of the search's own process do much less (with `--n-jobs 2` the work is in "
        "the workers, so that arm's CPU column is the parent's share only).",
        "",
        "| arm | wall s per cell, per repetition | median | ratio before / arm | "
        "CPU s per cell, per repetition | median | ratio before / arm |",
        "|---|---|---|---|---|---|---|",
    ]
    for a in arms:
        reps_text = " / ".join(f"{v:.3f}" for v in per_cell[a])
        cpu_text = " / ".join(f"{v:.3f}" for v in cpu_cell[a])
        ratio = med["before"] / med[a]
        # the workers' CPU is not in the parent's: no ratio for that arm
        cpu_ratio = "—" if a == "after-2jobs" else f"{cpu_med['before'] / cpu_med[a]:.2f}"
        lines.append(
            f"| {a} | {reps_text} | {med[a]:.3f} | {ratio:.2f} | {cpu_text} | "
            f"{cpu_med[a]:.3f} | {cpu_ratio} |"
        )
    return "\n".join(lines) + "\n"


#: stages of the profile: (label, the function whose cumulative time it is)
STAGES = (
    ("whole search call", "protocol.py", "search"),
    ("featurizer (building, data, passes, proxies)", "_featurizer_workers.py", "_score_archs"),
    ("building the networks", "_featurizer_workers.py", "_build"),
    ("the fused forward + block VJPs (AZ-NAS block features)", "_fused.py", "_fused_pass"),
    ("  of which the block VJPs", "_fused.py", "_block_probes"),
    ("feature entropies (az_expressivity / progressivity)", "aznas.py", "feature_entropy"),
    ("block Jacobian sigma (az_trainability)", "aznas.py", "_sigma_max"),
    ("FLOPs count (az_complexity)", "size.py", "count_macs"),
    ("score store reads and writes", "_featurizer_store.py", "store_put"),
    ("ranker fits and predictions", "ranker.py", "predict"),
    ("search loop bookkeeping (its own time)", "loop.py", "_run"),
)


def profile(cells: int, seed: int) -> str:
    import cProfile
    import pstats

    import torch

    from libranas.search.protocol import search

    torch.set_num_threads(1)
    options = {"data": str(C.IMAGES / "cifar10_960_uint8.npz"), "batch_size": 64}
    options.update(device="cpu", n_threads=1)
    prof = cProfile.Profile()
    prof.enable()
    r = search("nb201", "cifar10", budget=cells, labelled=0, mode="live",
               population=min(50, cells // 2), live_options=options, random_state=seed)  # fmt: skip
    prof.disable()
    stats = pstats.Stats(prof).stats
    total = r["seconds"]
    lines = [
        f"## Where the time goes (cProfile, {cells} cells, seed {seed}, load `{_uptime()}`)",
        "",
        "| stage | s | % of the search | s per cell |",
        "|---|---|---|---|",
    ]
    for label, file, func in STAGES:
        cum = sum(
            v[3] if func != "_run" else v[2]
            for (f, _, name), v in stats.items()
            if f.endswith(file) and name == func
        )
        lines.append(f"| {label} | {cum:.1f} | {100 * cum / total:.1f} | {cum / cells:.3f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cells", type=int, default=60)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--before", default="main", help="git ref of the 'before' library")
    p.add_argument("--arms", nargs="+", default=list(ARMS), choices=ARMS)
    p.add_argument("--profile", action="store_true", help="also profile one 'after' search")
    p.add_argument("--quick", action="store_true", help="6 cells, 1 repetition")
    args = p.parse_args(argv)
    if args.quick:
        args.cells, args.reps = 6, 1
    if "before" not in args.arms:
        p.error("--arms must include 'before' (the ratios are to it)")
    text = measure(args.cells, args.reps, args.seed, args.before, tuple(args.arms))
    if args.profile:
        text += "\n" + profile(args.cells, args.seed)
    print(text)
    C.write_results(OUT, text)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    raise SystemExit(main())
