"""Torch threads per joblib worker: the default of ``--torch-threads``.

``ProxyFeaturizer(n_jobs=J, n_threads=T).transform`` on the same NB201 cells (sampled with
seed 0) and the same real CIFAR-10 batch (``images/cifar10_960_uint8.npz``, 64 images), for
J in (1, 2) workers and T in (1, torch's default on this machine). Each setting runs
``--repeats`` times, the settings interleaved, one untimed warm-up first; the median is
reported, with the ratio to T=1 at the same J. Scores are checked to be equal across J at the
same T (determinism across n_jobs).

    python benchmarks/torch_threads.py --n-cells 8 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))
from _data import data_path  # noqa: E402

from benchmarks._common import QUICK, RESULTS, write_results  # noqa: E402

PROXIES = ["nwot", "synflow", "snip", "grad_norm", "jacov", "params"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n-cells", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=RESULTS / "torch_threads.md")
    args = ap.parse_args()

    import os

    import torch

    from libranas.featurizer import ProxyFeaturizer
    from libranas.spaces import get_space

    commit = subprocess.run(  # the code being measured: the commit at the start
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    default_threads = torch.get_num_threads()
    if default_threads == 1 and not QUICK:
        # the study compares torch's default with 1 thread: with a default of 1 there is
        # nothing to compare, and the table would silently lose its point
        pinned = [v for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS") if v in os.environ]
        why = f"{' and '.join(pinned)} set" if pinned else "one core visible to this process"
        print(
            f"torch_threads: torch's default here is already 1 thread ({why}), so there is no "
            "default to compare with 1 thread; unset the variable or run on a machine with "
            "more cores",
            file=sys.stderr,
        )
        sys.exit(2)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    space = get_space("nb201")
    cells = space.sample(args.n_cells, random_state=0)
    data = str(data_path("images/cifar10_960_uint8.npz"))
    settings = [(j, t) for j in (1, 2) for t in sorted({1, default_threads})]
    times: dict[tuple[int, int], list[float]] = {s: [] for s in settings}
    scores: dict[tuple[int, int], np.ndarray] = {}

    def run(j: int, t: int) -> float:
        feat = ProxyFeaturizer(
            space, proxies=PROXIES, data=data, batch_size=64, n_jobs=j, n_threads=t,
            lswag_band=None, random_state=0,
        ).fit()  # fmt: skip
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = feat.transform(cells)
        scores[(j, t)] = out
        return time.perf_counter() - start

    run(1, 1)  # warm-up
    for _ in range(args.repeats):
        for s in settings:
            times[s].append(run(*s))
    for t in sorted({1, default_threads}):
        np.testing.assert_array_equal(scores[(1, t)], scores[(2, t)])
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        "# Torch threads per joblib worker (ProxyFeaturizer.transform)",
        "",
        f"- commit {commit}; `python benchmarks/torch_threads.py --n-cells {args.n_cells} "
        f"--repeats {args.repeats}`",
        f"- machine: {cores} cores (shared with other jobs; 1-min load {load:.1f} at the end); "
        f"torch {torch.__version__}, default threads {default_threads}",
        f"- {args.n_cells} NB201 cells (sampled, seed 0), CIFAR-10 batch of 64, proxies "
        f"{', '.join(PROXIES)}; median of {args.repeats} interleaved runs after one warm-up",
        "- scores identical across n_jobs at the same thread count (checked)",
        "",
        "| n_jobs | torch threads | median s | runs (s) | ratio to 1 thread |",
        "|---:|---:|---:|---|---:|",
    ]
    for j, t in settings:
        med = statistics.median(times[(j, t)])
        base = statistics.median(times[(j, 1)])
        runs = ", ".join(f"{v:.1f}" for v in times[(j, t)])
        lines.append(f"| {j} | {t} | {med:.1f} | {runs} | {med / base:.2f} |")
    write_results(args.out, "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
