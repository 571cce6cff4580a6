"""Scaling ProxyFeaturizer beyond one process: Dask throughput, memory, the score store.

Two measurements, each written to JSON under ``benchmarks/data/`` and rendered to
``benchmarks/results/scale.md`` by ``report``:

``throughput``
    The same NB201 architectures (full NB201 networks, 5 cells per stage) scored with the
    same cheap proxy set twice in one run: sequentially in this process, then on a local
    Dask cluster of 2 worker processes (1 thread each) through
    ``joblib.parallel_config(backend="dask")``. Architectures per second of each, their
    ratio, the cluster start-up time, the peak RSS of the process tree (this process and all
    its children: the Dask scheduler's nanny and workers) sampled every 0.2 s, and a check
    that both give identical scores. torch is pinned to 1 thread (``n_threads=1``)
    everywhere. One warm-up architecture runs first on each side (not timed).

``full``
    All 15,625 NB201 cells in ONE ``transform`` call, sequentially, with a score store
    (``store=``), while a sampler thread logs elapsed time, RSS of the process tree and the
    number of rows committed to the store every few seconds. Killed and restarted, it
    resumes from the store; every segment's throughput is recorded.

    python benchmarks/scale.py throughput --n-archs 48
    nohup python benchmarks/scale.py full > /tmp/scale_full.log 2>&1 &
    python benchmarks/scale.py report
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

ROOT = Path(__file__).resolve().parent
RESULTS = C.RESULTS
CACHE = C.CACHE
IMAGES = C.DATA / "images" / "cifar10_960_uint8.npz"
THROUGHPUT_JSON = CACHE / "scale_throughput.json"
FULL_JSONL = CACHE / "scale_full.jsonl"
FULL_STORE = CACHE / "scale_full.db"
CHEAP = ["params", "flops", "nwot", "snip", "synflow"]
FULL_PROXIES = ["params", "flops"]


def tree_rss() -> int:
    """Resident set size of this process and all its descendants, in bytes."""
    import psutil

    me = psutil.Process()
    total = 0
    for proc in [me, *me.children(recursive=True)]:
        try:
            total += proc.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


class Sampler(threading.Thread):
    """Samples :func:`tree_rss` (and an optional callback) every ``every`` seconds."""

    def __init__(self, every: float, extra: Any = None, log: Any = None) -> None:
        super().__init__(daemon=True)
        self.every, self.extra, self.log = every, extra, log
        self.peak = 0
        self.samples: list[dict[str, Any]] = []
        self._halt = threading.Event()
        self.start_time = time.perf_counter()

    def run(self) -> None:
        while not self._halt.is_set():
            rss = tree_rss()
            self.peak = max(self.peak, rss)
            if self.log is not None:
                rec = {"t": round(time.perf_counter() - self.start_time, 1), "rss_mb": rss / 2**20}
                if self.extra is not None:
                    rec.update(self.extra())
                self.log(rec)
            self._halt.wait(self.every)

    def stop(self) -> int:
        self._halt.set()
        self.join()
        self.peak = max(self.peak, tree_rss())
        return self.peak


def featurizer(proxies: list[str], batch: int | None, **kw: Any) -> Any:
    from libranas.datasets import load_image_batch
    from libranas.featurizer import ProxyFeaturizer

    data = None if batch is None else load_image_batch(IMAGES, n=batch, random_state=0)
    return ProxyFeaturizer(
        "nb201",
        proxies=proxies,
        data=data,
        batch_size=batch or 64,
        device="cpu",
        n_threads=1,
        lswag_band=None,
        **kw,
    ).fit()


def run_throughput(n_archs: int, batch: int, rounds: int) -> dict[str, Any]:
    import joblib
    import torch
    from distributed import Client, LocalCluster

    from libranas.spaces import get_space

    torch.set_num_threads(1)
    archs = get_space("nb201").sample(n_archs + 1, random_state=123)
    warm, archs = archs[:1], archs[1:]
    feat = featurizer(CHEAP, batch)
    feat.transform(warm)

    load_start = list(os.getloadavg())
    t0 = time.perf_counter()
    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    )
    client = Client(cluster)
    startup_s = time.perf_counter() - t0
    seq_s: list[float] = []
    dask_s: list[float] = []
    seq_peak = dask_peak = 0
    same = True
    try:
        with joblib.parallel_config(backend="dask"):
            feat.transform(warm)  # each worker imports torch/libranas and builds a network
            feat.transform(archs[:2])
        # alternate the two runs, so that both see the same (shared, varying) machine load
        for _ in range(rounds):
            sampler = Sampler(0.2)
            sampler.start()
            t0 = time.perf_counter()
            z_seq = feat.transform(archs)
            seq_s.append(time.perf_counter() - t0)
            seq_peak = max(seq_peak, sampler.stop())

            sampler = Sampler(0.2)
            sampler.start()
            t0 = time.perf_counter()
            with joblib.parallel_config(backend="dask"):
                z_dask = feat.transform(archs)
            dask_s.append(time.perf_counter() - t0)
            dask_peak = max(dask_peak, sampler.stop())
            same &= bool(np.array_equal(z_seq, z_dask, equal_nan=True))
    finally:
        client.close()
        cluster.close()
    seq, dsk = float(np.median(seq_s)), float(np.median(dask_s))
    return {
        "n_archs": n_archs,
        "batch": batch,
        "proxies": CHEAP,
        "rounds": rounds,
        "sequential_s_each": seq_s,
        "dask_s_each": dask_s,
        "sequential_s": seq,
        "dask_s": dsk,
        "sequential_archs_per_s": n_archs / seq,
        "dask_archs_per_s": n_archs / dsk,
        "speedup": seq / dsk,
        "speedup_each": [a / b for a, b in zip(seq_s, dask_s, strict=True)],
        "cluster_startup_s": startup_s,
        "sequential_peak_rss_mb": seq_peak / 2**20,
        "dask_peak_rss_mb": dask_peak / 2**20,
        "identical": same,
        "cpu_count": os.cpu_count(),
        "load_avg_start": load_start,
        "load_avg_end": list(os.getloadavg()),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "git": C.code_version(),
    }


def run_full(store_path: Path, every: float, limit: int | None, log_path: Path) -> None:
    import torch

    from libranas.spaces import get_space
    from libranas.store import ScoreStore

    torch.set_num_threads(1)
    space = get_space("nb201")
    archs = space.all_archs()[:limit]
    feat = featurizer(FULL_PROXIES, None, store=ScoreStore(store_path))
    context, _ = feat._score_context()

    reader = ScoreStore(store_path)

    def rows() -> dict[str, Any]:
        return {"rows": reader.count(context)}

    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_file = log_path.open("a")
    segment = int(time.time())

    def log(rec: dict[str, Any]) -> None:
        log_file.write(json.dumps({"segment": segment, "kind": "sample", **rec}) + "\n")
        log_file.flush()

    start_rows = rows()["rows"]
    log(
        {
            "event": "start",
            "rows": start_rows,
            "n_archs": len(archs),
            "proxies": FULL_PROXIES,
            "git": C.code_version(),
        }
    )
    sampler = Sampler(every, extra=rows, log=log)
    sampler.start()
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z = feat.transform(archs)
    wall = time.perf_counter() - t0
    peak = sampler.stop()
    end_rows = rows()["rows"]
    log_file.write(
        json.dumps(
            {
                "segment": segment,
                "kind": "end",
                "wall_s": wall,
                "rows_before": start_rows,
                "rows_after": end_rows,
                "peak_rss_mb": peak / 2**20,
                "shape": list(z.shape),
                "nan_cells": int(np.isnan(z).sum()),
                "load_avg_end": list(os.getloadavg()),
            }
        )
        + "\n"
    )
    log_file.close()


def render() -> str:
    lines = ["# Scaling: Dask throughput, memory over all 15,625 NB201 cells, score store", ""]
    lines += [
        f"Produced by `benchmarks/scale.py` (`throughput`, `full`, `report`; report written at "
        f"git {C.code_version()}, each run's commit below). Machine: 2 CPU "
        "cores shared with other jobs (the load average is recorded), no GPU; torch pinned "
        "to 1 thread per process. Timings on this machine vary 30-50% from run to run: the "
        "ratio of two runs made back to back in one process is the number to read.",
        "",
    ]
    if THROUGHPUT_JSON.exists():
        t = json.loads(THROUGHPUT_JSON.read_text())
        lines += [
            "## Sequential vs a 2-worker Dask LocalCluster",
            "",
            f"{t['n_archs']} random NB201 cells (full networks), proxies "
            f"{', '.join(t['proxies'])}, batch of {t['batch']} CIFAR-10 images; the same "
            "featurizer and architectures, in this process and through "
            "`joblib.parallel_config(backend='dask')` on "
            "`LocalCluster(n_workers=2, threads_per_worker=1, processes=True)`. "
            f"Load average at start: {', '.join(f'{v:.1f}' for v in t['load_avg_start'])} "
            f"on {t['cpu_count']} cores. Run at git {t.get('git', 'not recorded (older run)')}.",
            "",
            f"The two runs alternate {t['rounds']} times on one warm cluster (medians below; the "
            "RSS of both rows includes the cluster's worker processes, idle in the sequential "
            "rounds); "
            "the load average at the end was "
            f"{', '.join(f'{v:.1f}' for v in t['load_avg_end'])}.",
            "",
            "| run | wall, median (s) | each round (s) | archs / s | peak RSS of the process tree (MB) |",
            "|---|---|---|---|---|",
            f"| sequential (1 process) | {t['sequential_s']:.1f} | "
            f"{', '.join(f'{v:.1f}' for v in t['sequential_s_each'])} | "
            f"{t['sequential_archs_per_s']:.2f} | {t['sequential_peak_rss_mb']:.0f} |",
            f"| Dask, 2 workers | {t['dask_s']:.1f} | "
            f"{', '.join(f'{v:.1f}' for v in t['dask_s_each'])} | {t['dask_archs_per_s']:.2f} | "
            f"{t['dask_peak_rss_mb']:.0f} |",
            "",
            f"Speed-up (sequential time / Dask time, medians): **{t['speedup']:.2f}x** (per round: "
            f"{', '.join(f'{v:.2f}' for v in t['speedup_each'])}). Cluster start-up "
            f"(scheduler + 2 worker processes): {t['cluster_startup_s']:.1f} s, plus the "
            "workers' first import of torch and libranas (in the untimed warm-up). Scores "
            f"identical to the sequential run, bit for bit: **{t['identical']}**.",
            "",
        ]
    if FULL_JSONL.exists():
        recs = [json.loads(line) for line in FULL_JSONL.read_text().splitlines() if line.strip()]
        ends = [r for r in recs if r["kind"] == "end"]
        samples = [r for r in recs if r["kind"] == "sample" and "event" not in r]
        starts = [r for r in recs if r.get("event") == "start"]
        lines += ["## All 15,625 NB201 cells in one `transform` call, with a store", ""]
        proxies = starts[0]["proxies"] if starts else FULL_PROXIES
        lines += [
            f"Proxies {', '.join(proxies)} (no data batch: the networks see a zero batch of "
            "shape (2, 3, 32, 32)); sequential, one torch thread; `store=` an SQLite file. "
            "Every segment is one process; a killed segment resumes from the store. Commit "
            "of each segment: "
            + ", ".join(f"{s['segment']}: {s.get('git', 'not recorded')}" for s in starts)
            + ".",
            "",
            "| segment | rows at start | rows at end | wall (s) | archs / s | peak RSS (MB) |",
            "|---|---|---|---|---|---|",
        ]
        by_segment: dict[int, list[dict[str, Any]]] = {}
        for r in samples:
            by_segment.setdefault(r["segment"], []).append(r)
        for s in starts:
            seg = s["segment"]
            end = next((e for e in ends if e["segment"] == seg), None)
            smp = by_segment.get(seg, [])
            if end is not None:
                done = (end["rows_after"] - end["rows_before"]) / len(proxies)
                lines.append(
                    f"| {seg} | {end['rows_before']} | {end['rows_after']} | "
                    f"{end['wall_s']:.0f} | {done / end['wall_s']:.1f} | "
                    f"{end['peak_rss_mb']:.0f} |"
                )
            elif smp:
                last = smp[-1]
                done = (last["rows"] - s["rows"]) / len(proxies)
                lines.append(
                    f"| {seg} (killed or running) | {s['rows']} | {last['rows']} | "
                    f"{last['t']:.0f} | {done / max(last['t'], 1e-9):.1f} | "
                    f"{max(x['rss_mb'] for x in smp):.0f} |"
                )
        if samples:
            lines += [
                "",
                "RSS of the process tree against progress (samples of all segments, "
                "architectures scored = stored rows / proxies):",
                "",
                "| segment | elapsed (s) | architectures in the store | RSS (MB) |",
                "|---|---|---|---|",
            ]
            for seg, smp in by_segment.items():
                step = max(1, len(smp) // 12)
                for r in smp[::step] + ([smp[-1]] if (len(smp) - 1) % step else []):
                    lines.append(
                        f"| {seg} | {r['t']:.0f} | {r['rows'] // len(proxies)} | "
                        f"{r['rss_mb']:.0f} |"
                    )
        lines.append("")
    lines += [
        "## What the cluster path needs",
        "",
        "- `pip install libranas[distributed]` (dask, distributed) on the client and every "
        "worker, plus libranas and torch at the same versions everywhere (workers unpickle "
        "the space object and the scoring function by reference).",
        "- Nothing else moves: the client sends each task a chunk of canonical architectures "
        "(plain strings / tuples), their seeds and the batch (a numpy array, scattered once "
        "per `transform` by joblib's Dask backend); workers build and score the networks and "
        "return a small float array. No model crosses the network.",
        "- At most 2 chunks per worker are in flight (`pre_dispatch`) and chunks come back "
        "in order through joblib's `return_as='generator'`, so the client's memory is the "
        "output array plus a few chunks, whatever the number of architectures.",
        "- The store stays on the client: it writes each chunk as it returns, so the store "
        "file needs no shared file system, and a killed client resumes from it.",
        "- A cluster only pays where there are idle cores (or GPUs) to give it: on this "
        "2-core machine shared with other jobs, two worker processes compete with those jobs "
        "and with each other, and each architecture costs more CPU time inside a Dask worker "
        "than in the client process (a likely contributor, not isolated here: distributed "
        "starts its workers with `MALLOC_TRIM_THRESHOLD_=65536`, which makes torch's many "
        "small allocations dearer), so the ratio above is below 1 here.",
        "- Set `n_threads` (e.g. 1 per worker process on CPUs) so that every worker runs "
        "torch with the same thread count: scores are then identical bit for bit to a "
        "sequential run with the same `n_threads`.",
        "- Multi-GPU: one worker per GPU (`CUDA_VISIBLE_DEVICES=i dask worker ...`) and "
        "`device='cuda'`; see docs/user_guide/scaling.rst.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("throughput")
    p.add_argument("--n-archs", type=int, default=48)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--rounds", type=int, default=3)
    p = sub.add_parser("full")
    p.add_argument("--store", type=Path, default=FULL_STORE)
    p.add_argument("--every", type=float, default=10.0)
    p.add_argument("--limit", type=int, default=None, help="first N cells only (a smoke test)")
    p.add_argument("--log", type=Path, default=FULL_JSONL)
    sub.add_parser("report")
    args = parser.parse_args(argv)
    if args.cmd == "throughput":
        res = run_throughput(args.n_archs, args.batch, args.rounds)
        CACHE.mkdir(parents=True, exist_ok=True)
        THROUGHPUT_JSON.write_text(json.dumps(res, indent=1))
        print(json.dumps(res, indent=1))
    elif args.cmd == "full":
        run_full(args.store, args.every, args.limit, args.log)
        if args.log != FULL_JSONL:
            return 0
    C.write_results(RESULTS / "scale.md", render())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
