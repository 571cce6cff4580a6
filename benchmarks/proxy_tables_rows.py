"""What ``proxy_tables.py`` computes and how: the benchmarks, the settings, the proxy groups
and jobs, the provenance of a row, and the scoring of one cell into the per-cell caches.

The protocol is in ``proxy_tables.py``'s docstring (which also runs these functions).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import _common as C
import numpy as np

REPO = Path(__file__).resolve().parents[1]
CACHE = C.CACHE / "proxy_tables"
IMAGES = Path(
    os.environ.get("LIBRANAS_IMAGES", Path(__file__).resolve().parents[2] / "shared/data/images")
)
EXPORT_DIR = REPO / "libranas" / "datasets" / "data"
REPORT = C.RESULTS / "proxy_tables.md"
BATCH_SEED = 0  # load_image_batch(random_state=0): which 64 of the 960 images
INIT_SEED = 0  # ProxyFeaturizer(random_state=0): seed arch_seed(cell, 0) per architecture
ORDER_SEED = 0  # the fixed random order of the cells
SNAPSHOT_MARK = "SNAPSHOT_COMMIT"


@dataclass(frozen=True)
class Bench:
    name: str  # load_benchmark name
    space: str  # libranas space name
    images: str  # .npz file under IMAGES
    num_classes: int
    fold_labels: bool  # 1000-class downsampled-ImageNet labels folded to y % 120


BENCHES = {
    "nb201-cifar10": Bench("nb201-cifar10", "nb201", "cifar10_960_uint8.npz", 10, False),
    "nb201-cifar100": Bench("nb201-cifar100", "nb201", "cifar100_960_uint8.npz", 100, False),
    "nb201-imagenet16-120": Bench(
        "nb201-imagenet16-120", "nb201", "imagenet16_960_uint8.npz", 120, True
    ),
    "nb301-cifar10": Bench("nb301-cifar10", "nb301", "cifar10_960_uint8.npz", 10, False),
}

# Settings: how the networks are built and which batch they see. "full" is the table's
# setting (the DARTS defaults reproduce NAS-Bench-Suite-Zero's NB301 network and its params
# column exactly); the others are cheaper candidates measured against it (--agreement).
SETTINGS = {
    "full": {"space_options": {}, "batch": 64},
    "b32": {"space_options": {}, "batch": 32},
    "c16": {"space_options": {"channels": 16}, "batch": 64},
    "c16l5": {"space_options": {"channels": 16, "layers": 5}, "batch": 64},
    "c16l5b32": {"space_options": {"channels": 16, "layers": 5}, "batch": 32},
    # AZ-NAS's own NB201 protocol scores it on a standard Gaussian batch, not on images
    # (new_proxies.md): its column for the comparison with the paper, never exported
    "gauss": {"space_options": {}, "batch": 64, "options": {"az_input": "gaussian"}},
}

CLASSIC = C.SUITE_ZERO_PROXIES  # NAS-Bench-Suite-Zero's 12 (the bundled tables' columns)
AZ_PROXIES = ("az_expressivity", "az_progressivity", "az_trainability", "az_complexity")
# Proxy groups: one cache file per (benchmark, group, setting). A group's proxies share one
# pass per network. New proxies get a new group (a cache's columns never change).
GROUPS: dict[str, tuple[str, ...]] = {
    # NB301: chosen by cost and strength on a subset (benchmarks/results/proxy_tables.md)
    "nb301": (
        "meco",
        "zico",
        "lswag",
        "lswag_lambda",
        "lswag_psi",
        "swap",
        "reg_swap",
        "nwot",
        "params",
        "flops",
        "l2_norm",
        "synflow",
        "jacov",
        "epe_nas",
        "snip",
        "grad_norm",
        "fisher",
        "plain",
        "zen",
    ),
    # NB201 CIFAR-100 / ImageNet16-120: what the reused caches lack
    "nb201-rest": tuple(p for p in CLASSIC if p != "nwot") + ("zen",),
    # NB201 CIFAR-10: what the reused caches lack
    "nb201-c10-rest": ("zen",),
    # NB301: the training-free default's proxies first (libranas.proxies.TRAINING_FREE_DEFAULT,
    # chosen on NB201 CIFAR-10 + AutoFormer by benchmarks/zero_label.py; params and flops are
    # free), so that the zero-label result on NB301 does not wait for the 19-proxy group; the
    # cells both groups computed must agree (assemble checks), the union is exported
    "nb301-tf": ("meco", "zico", "jacov", "flops", "params"),
    # NB201 CIFAR-100 / ImageNet16-120: the default's proxies the reused caches lack, first
    "nb201-tf": ("jacov", "flops", "params"),
    # NB301: the cheap proxies (under 4 CPU s each per network, ~7 s together) that the
    # 19-proxy group could not bring to every cell: nwot, zen and l2_norm were among the
    # strongest on its first 38 cells; synflow costs 0.4 s
    "nb301-cheap": ("nwot", "zen", "l2_norm", "synflow"),
    # NB301: the L-SWAG family (the paper's proxy; ~12 CPU s per network, one shared pass)
    "nb301-lswag": ("lswag", "lswag_lambda", "lswag_psi"),
    # AZ-NAS's four proxies (one shared pass; ~3 s per NB201 cell, ~10 s per NB301 network
    # each alone): the strongest published training-free score next to VKDNW, which costs
    # 25 CPU s per NB301 network (too slow for 725 networks on CPU)
    "nb301-az": AZ_PROXIES,
    "nb201-az": AZ_PROXIES,
    # VKDNW (one Fisher pass gives both; its cost grows with the classes, one backward per
    # class: measured 6 / 45 / 18 s per NB201 cell on CIFAR-10 / CIFAR-100 / ImageNet16-120,
    # one core): run on a prefix of the random cell order (a uniform subset); not exported
    # (NOT_EXPORTED: a partial column would make a complete shipped table partial)
    "nb201-vkdnw": ("vkdnw", "vkdnw_single"),
    # NB301: SWAP and its size-regularised form (one forward pass; ~5 CPU s per network),
    # on 38 cells only in the 19-proxy group, where reg_swap was the strongest column
    "nb301-swap": ("swap", "reg_swap"),
}
#: groups kept in the benchmark cache only (zero_label.py reads them there)
NOT_EXPORTED = {"nb201-vkdnw"}
DEFAULT_JOBS = [
    "nb201-cifar100:nb201-tf",
    "nb201-imagenet16-120:nb201-tf",
    "nb301-cifar10:nb301-tf",
    "nb301-cifar10:nb301-cheap",
    "nb301-cifar10:nb301-lswag",
    "nb301-cifar10:nb301-az",
    "nb201-cifar10:nb201-az",
    "nb201-cifar100:nb201-az",
    "nb201-imagenet16-120:nb201-az",
    "nb301-cifar10:nb301",
    "nb201-cifar100:nb201-rest",
    "nb201-imagenet16-120:nb201-rest",
    "nb201-cifar10:nb201-c10-rest",
]

# ------------------------------------------------------------------------ provenance


def provenance() -> dict[str, str]:
    """Version and commit of the libranas code that is imported (snapshot or working tree)."""
    import libranas

    pkg = Path(libranas.__file__).resolve().parent
    mark = pkg.parent / SNAPSHOT_MARK
    if mark.exists():
        commit = mark.read_text().strip()
    else:
        commit = C.git_commit() or "unknown"
        status = subprocess.run(
            ["git", "status", "--porcelain", "--", "libranas"],
            capture_output=True,
            text=True,
            check=False,
            cwd=REPO,
        ).stdout.strip()
        if status:
            commit += "+dirty"
    return {"version": libranas.__version__, "commit": commit}


# ------------------------------------------------------------------------ scoring


def load_bench(name: str):
    import inspect

    from libranas.datasets import NonFiniteValuesWarning, load_benchmark

    # the NAS-Bench-Suite-Zero table alone (the libranas columns are what is computed here)
    kw = {"libranas_proxies": False}
    if "libranas_proxies" not in inspect.signature(load_benchmark).parameters:
        kw = {}  # a library from before the option
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonFiniteValuesWarning)
        return load_benchmark(name, **kw)


def cell_order(bench) -> list[str]:
    return C.cell_order(bench.X.index, ORDER_SEED)


def batch_of(b: Bench, n: int = 64) -> tuple[np.ndarray, np.ndarray]:
    from libranas.datasets import load_image_batch

    return load_image_batch(
        IMAGES / b.images,
        n=n,
        num_classes=b.num_classes,
        fold_labels=b.fold_labels,
        random_state=BATCH_SEED,
    )


def featurizer(b: Bench, proxies: list[str], setting: str, threads: int):
    """A fitted ProxyFeaturizer of the table's setting (batch of 64 drawn once, then cut)."""
    from libranas import ProxyFeaturizer
    from libranas.spaces import get_space

    s = SETTINGS[setting]
    x, y = batch_of(b)
    feat = ProxyFeaturizer(
        space=get_space(b.space, **s["space_options"]),
        proxies=list(proxies),
        data=(x, y),
        batch_size=s["batch"],  # the first `batch` images of the 64
        options=s.get("options"),
        device="cpu",
        lswag_band=None,
        num_classes=b.num_classes,
        n_threads=threads,
        random_state=INIT_SEED,
    )
    return feat.fit()


_FAIL = re.compile(r"proxy '([^']+)' failed on architecture \d+ .*?: (.*); its score is NaN", re.S)


def score_cell(feat, arch: str) -> tuple[np.ndarray, str, float, float]:
    """Scores of one architecture, the failures as text, wall and CPU seconds.

    CPU seconds (this process, all its threads) are what the computation costs; on a shared
    machine the wall time also counts the time other processes held the cores.
    """
    from libranas.featurizer import ProxyFailedWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ProxyFailedWarning)
        start, cpu0 = time.perf_counter(), time.process_time()
        z = feat.transform([arch])[0]
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu0
    errors = []
    for w in caught:
        if issubclass(w.category, ProxyFailedWarning):
            m = _FAIL.match(str(w.message))
            errors.append(f"{m.group(1)}: {m.group(2)}" if m else str(w.message))
    return z, " | ".join(errors).replace("\n", " "), seconds, cpu


def setting_record(b: Bench, group: str, setting: str, proxies: list[str]) -> dict:
    s = SETTINGS[setting]
    return {
        "benchmark": b.name,
        "group": group,
        "setting": setting,
        "proxies": list(proxies),
        "space": b.space,
        "space_options": s["space_options"],
        "batch": s["batch"],
        "images": f"{b.images}: load_image_batch(n=64, random_state={BATCH_SEED}"
        + (f", num_classes={b.num_classes}, fold_labels=True)" if b.fold_labels else ")")
        + (f", first {s['batch']} of them" if s["batch"] != 64 else ""),
        "init": f"ProxyFeaturizer(random_state={INIT_SEED}): seed arch_seed(canonical cell, "
        f"{INIT_SEED}), one initialisation per cell",
        "lswag_band": None,
        "dtype": "float32",
        "device": "cpu",
        "order": f"benchmarks/_common.cell_order(seed={ORDER_SEED})",
        # only where a setting sets proxy options: the earlier caches' records stay as written
        **({"options": s["options"]} if "options" in s else {}),
    }


def cell_cache(bench: str, group: str, setting: str, proxies: list[str]) -> C.CellCache:
    cols = ["arch", "seed", *proxies, "errors", "seconds", "cpu_seconds", "threads"]
    cols += ["load", "version", "commit", "cpu"]
    return C.CellCache(CACHE / f"{bench}__{group}__{setting}.csv", cols, ["arch"])


def check_setting_file(path: Path, record: dict) -> None:
    side = path.with_suffix(".json")
    if side.exists():
        old = json.loads(side.read_text())
        if old != record:
            raise SystemExit(
                f"{side}: the cache was computed with another setting ({old}) than this run's "
                f"({record}); move the cache away or use another group/setting name"
            )
    else:
        side.parent.mkdir(parents=True, exist_ok=True)
        side.write_text(json.dumps(record, indent=1) + "\n")


def parse_job(text: str) -> tuple[Bench, str, str]:
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise SystemExit(f"job {text!r}: expected <benchmark>:<group>[:<setting>]")
    bench, group = parts[0], parts[1]
    setting = parts[2] if len(parts) == 3 else "full"
    if bench not in BENCHES:
        raise SystemExit(f"unknown benchmark {bench!r}; known: {sorted(BENCHES)}")
    if group not in GROUPS:
        raise SystemExit(f"unknown group {group!r}; known: {sorted(GROUPS)}")
    if setting not in SETTINGS:
        raise SystemExit(f"unknown setting {setting!r}; known: {sorted(SETTINGS)}")
    return BENCHES[bench], group, setting


def run_job(b: Bench, group: str, setting: str, args: argparse.Namespace, limit=None) -> bool:
    """Score the job's cells not in its cache yet; False when the deadline stopped it."""
    proxies = list(GROUPS[group])
    cache = cell_cache(b.name, group, setting, proxies)
    check_setting_file(cache.path, setting_record(b, group, setting, proxies))
    bench = load_bench(b.name)
    order = cell_order(bench)
    if limit is not None:
        order = order[:limit]
    done = {k[0] for k in cache.done()}
    todo = [a for a in order if a not in done]
    tag = f"{b.name}:{group}:{setting}"
    print(f"[{tag}] {len(order) - len(todo)} cached, {len(todo)} to score", flush=True)
    if not todo:
        return True
    feat = featurizer(b, proxies, setting, args.threads)
    prov = provenance()
    cpu = C.cpu_name()
    deadline = time.time() + 60 * args.max_minutes if args.max_minutes else None
    for i, arch in enumerate(todo):
        if deadline and time.time() > deadline:
            print(f"[{tag}] deadline reached; stopping (resume later)", flush=True)
            return False
        z, errors, seconds, cpu_s = score_cell(feat, arch)
        row = {
            "arch": arch,
            "seed": arch_seed_of(feat, arch),
            **dict(zip(proxies, map(float, z), strict=True)),
            "errors": errors,
            "seconds": round(seconds, 3),
            "cpu_seconds": round(cpu_s, 3),
            "threads": args.threads,
            "load": round(os.getloadavg()[0], 2),
            **prov,
            "cpu": cpu,
        }
        cache.append(row)
        err = f" ERR {errors}" if errors else ""
        print(f"[{tag}] {i + 1}/{len(todo)} {seconds:.1f}s (cpu {cpu_s:.1f}s){err}", flush=True)
    return True


def arch_seed_of(feat, arch: str) -> int:
    from libranas.featurizer import arch_seed

    return arch_seed(feat.space_.validate(arch), feat.seed_)
