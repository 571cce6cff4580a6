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
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

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

CLASSIC = (  # NAS-Bench-Suite-Zero's 12 proxies (the bundled tables' columns)
    "epe_nas",
    "fisher",
    "flops",
    "grad_norm",
    "grasp",
    "jacov",
    "l2_norm",
    "nwot",
    "params",
    "plain",
    "snip",
    "synflow",
)
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
            "seed": _seed(feat, arch),
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


def _seed(feat, arch: str) -> int:
    from libranas.featurizer import arch_seed

    return arch_seed(feat.space_.validate(arch), feat.seed_)


# ------------------------------------------------------------------------ cost


COST_COLS = ["setting", "benchmark", "arch", "what", "proxies", "seconds", "cpu_seconds"]
COST_COLS += ["threads", "load", "commit"]


def cost_cache() -> C.CellCache:
    return C.CellCache(CACHE / "cost.csv", COST_COLS, ["setting", "benchmark", "arch", "what"])


TABLE_PROXIES = (  # the 20 proxies registered when the tables were started (libranas 0.1.0)
    *CLASSIC,
    "lswag",
    "lswag_lambda",
    "lswag_psi",
    "meco",
    "reg_swap",
    "swap",
    "zen",
    "zico",
)
WARMUP = ("zico", "nwot", "meco", "synflow", "jacov", "snip")  # first-call overheads


def cost_plan() -> dict[str, list[str]]:
    """What is timed, in this order: each table proxy alone, groups sharing one pass, then
    proxies registered later (alone; informative, not in the tables yet).

    The cheaper settings are timed by ``--agreement`` (their caches record CPU seconds).
    """
    from libranas.proxies import list_proxies

    plan = {p: [p] for p in sorted(TABLE_PROXIES)}
    plan["ALL"] = sorted(TABLE_PROXIES)
    plan["GROUP meco+zico+nwot+params"] = ["meco", "zico", "nwot", "params"]
    plan["GROUP all but grasp and per-sample"] = [
        p for p in sorted(TABLE_PROXIES) if p not in ("grasp", "zico", "lswag", "lswag_lambda")
    ]
    plan.update({p: [p] for p in list_proxies() if p not in TABLE_PROXIES})
    return plan


def run_cost(args: argparse.Namespace) -> None:
    """Seconds per network of each proxy alone and of proxy groups (one shared pass)."""
    cc = cost_cache()
    done = cc.done()
    prov = provenance()
    for bname in args.cost_benchmarks:
        b = BENCHES[bname]
        bench = load_bench(b.name)
        cells = cell_order(bench)[: args.cost]
        warm = cell_order(bench)[-1]  # a cell outside the timed ones: first-call overheads
        for setting in args.cost_settings:
            warmed = False
            for what, proxies in cost_plan().items():
                if setting != "full" and not what.startswith(("ALL", "GROUP")):
                    continue  # single proxies are timed at the full setting only
                todo = [a for a in cells if (setting, b.name, a, what) not in done]
                if not todo:
                    continue
                if not warmed:
                    score_cell(featurizer(b, list(WARMUP), setting, args.threads), warm)
                    warmed = True
                feat = featurizer(b, proxies, setting, args.threads)
                for arch in todo:
                    _, errors, seconds, cpu_s = score_cell(feat, arch)
                    cc.append(
                        {
                            "setting": setting,
                            "benchmark": b.name,
                            "arch": arch,
                            "what": what,
                            "proxies": ";".join(proxies),
                            "seconds": round(seconds, 3),
                            "cpu_seconds": round(cpu_s, 3),
                            "threads": args.threads,
                            "load": round(os.getloadavg()[0], 2),
                            "commit": prov["commit"],
                        }
                    )
                    print(
                        f"[cost {b.name} {setting}] {what}: {seconds:.1f}s (cpu {cpu_s:.1f}s)",
                        flush=True,
                    )


# ------------------------------------------------------------------------ imports


def lswag_import(task: str) -> pd.DataFrame:
    """lswag_cells.csv of one NB201 task as proxy columns (band None = all layers)."""
    import lswag_nb201 as L

    df = L.cells_cache().load()
    df = df[df["task"] == task].set_index("arch")
    ls = [C.parse_vec(v) for v in df["logsig"]]
    nps = [C.parse_vec(v) for v in df["newpat"]]
    out = pd.DataFrame(index=df.index)
    for p in ("zico", "swap", "reg_swap", "meco", "nwot"):
        out[p] = df[p].astype(float)
    out["lswag"] = df["lib_lswag_all"].astype(float)
    out["lswag_lambda"] = [L.lam(v, None) for v in ls]
    out["lswag_psi"] = [L.psi(v, None) for v in nps]
    out["seed"] = df["seed"]
    return out


def fidelity_import(task: str) -> pd.DataFrame:
    import fidelity as F

    df = F.cache().load()
    df = df[(df["task"] == task) & (df["variant"] == "main")].set_index("arch")
    out = df[list(F.PROXIES)].astype(float)
    out["seed"] = df["seed"]
    return out


IMPORTS = {  # source -> (benchmark -> task of that source's cache), loader
    "lswag_cells.csv": (
        {
            "nb201-cifar10": "cifar10",
            "nb201-cifar100": "cifar100",
            "nb201-imagenet16-120": "imagenet16-120",
        },
        lswag_import,
    ),
    "fidelity_cells.csv": ({"nb201-cifar10": "cifar10"}, fidelity_import),
}
VERIFY_COLS = ["source", "benchmark", "arch", "proxy", "cached", "recomputed", "commit"]
VERIFY_RTOL = 1e-4


def verify_cache() -> C.CellCache:
    return C.CellCache(
        CACHE / "verify_imports.csv", VERIFY_COLS, ["source", "benchmark", "arch", "proxy"]
    )


def run_verify(args: argparse.Namespace) -> None:
    """Recompute the first cells of every reused cache with ProxyFeaturizer and compare."""
    vc = verify_cache()
    done = {(s, b, a) for s, b, a, _ in vc.done()}
    prov = provenance()
    for source, (tasks, loader) in IMPORTS.items():
        for bname, task in tasks.items():
            b = BENCHES[bname]
            imp = loader(task)
            proxies = [c for c in imp.columns if c != "seed"]
            bench = load_bench(bname)
            cells = [a for a in cell_order(bench) if a in imp.index][: args.verify_imports]
            todo = [a for a in cells if (source, bname, a) not in done]
            if not todo:
                continue
            feat = featurizer(b, proxies, "full", args.threads)
            for arch in todo:
                seed = _seed(feat, arch)
                if int(imp.loc[arch, "seed"]) != seed:
                    raise SystemExit(
                        f"{source} {bname} {arch}: seed {imp.loc[arch, 'seed']} != {seed}"
                    )
                z, _, seconds, _ = score_cell(feat, arch)
                for p, v in zip(proxies, z, strict=True):
                    vc.append(
                        {
                            "source": source,
                            "benchmark": bname,
                            "arch": arch,
                            "proxy": p,
                            "cached": float(imp.loc[arch, p]),
                            "recomputed": float(v),
                            "commit": prov["commit"],
                        }
                    )
                print(f"[verify {source} {bname}] {arch} {seconds:.1f}s", flush=True)


def verified_proxies() -> dict[tuple[str, str], dict]:
    """(source, benchmark) -> {proxy: (n_checked, max relative difference, max difference in
    units of the proxy's standard deviation over the cached cells, reused?)}.

    A proxy is reused when every checked cell agrees (both NaN, or finite and within
    VERIFY_RTOL relative difference, or within VERIFY_RTOL standard deviations: a sum with
    cancellations such as GraSP differs in float32 rounding by more than 1e-4 of its own
    value on a cell near 0, which moves no rank).
    """
    df = verify_cache().load()
    out: dict[tuple[str, str], dict] = {}
    spread: dict[tuple[str, str], pd.DataFrame] = {}
    for (source, bname, proxy), part in df.groupby(["source", "benchmark", "proxy"]):
        if (source, bname) not in spread:
            tasks, loader = IMPORTS[source]
            spread[(source, bname)] = loader(tasks[bname])
        sd = float(np.nanstd(spread[(source, bname)][proxy].to_numpy(float)))
        a, r = part["cached"].to_numpy(float), part["recomputed"].to_numpy(float)
        both_nan = np.isnan(a) & np.isnan(r)
        ok = np.isfinite(a) & np.isfinite(r)
        diff = np.abs(a[ok] - r[ok])
        rel = diff / np.maximum(np.abs(r[ok]), 1e-12)
        scaled = diff / sd if sd > 0 else np.where(diff == 0, 0.0, np.inf)
        close = (rel <= VERIFY_RTOL) | (scaled <= VERIFY_RTOL)
        mx = float(rel.max()) if ok.any() else float("nan")
        mxs = float(scaled.max()) if ok.any() else float("nan")
        good = bool((ok | both_nan).all() and ok.any() and close.all())
        out.setdefault((source, bname), {})[proxy] = (len(part), mx, mxs, good)
    return out


# ------------------------------------------------------------------------ agreement


def run_agreement(args: argparse.Namespace) -> None:
    """The first N cells of the NB301 order under each cheaper setting (cached like a run)."""
    for setting in args.agreement_settings:
        run_job(BENCHES["nb301-cifar10"], "nb301", setting, args, limit=args.agreement)


# ------------------------------------------------------------------------ tables


def job_table(bname: str, group: str, setting: str = "full") -> pd.DataFrame:
    """The cached rows of one job, indexed by arch (proxy columns + provenance)."""
    path = CACHE / f"{bname}__{group}__{setting}.csv"
    if not path.exists():
        return pd.DataFrame()
    with open(path) as fh:
        header = fh.readline().strip().split(",")
    cache = C.CellCache(path, header, ["arch"])
    df = cache.load().set_index("arch")
    return df


def assemble(bname: str) -> tuple[pd.DataFrame, dict[str, dict]]:
    """The libranas table of a benchmark: one row per arch key, one column per proxy.

    Rows are the benchmark's arch keys; a value that was not computed is NaN and the
    proxy's ``computed`` set says which rows are; returns (values, per-proxy provenance).
    """
    bench = load_bench(bname)
    index = bench.X.index
    values: dict[str, pd.Series] = {}
    info: dict[str, dict] = {}
    ver = verified_proxies()
    for source, (tasks, loader) in IMPORTS.items():
        if bname not in tasks:
            continue
        imp = loader(tasks[bname])
        unknown = sorted(set(imp.index) - set(index))
        if unknown:
            raise SystemExit(f"{source}: {len(unknown)} archs not in {bname}, e.g. {unknown[:2]}")
        checks = ver.get((source, bname), {})
        for p in imp.columns:
            if p == "seed" or p in values:
                continue
            n_chk, mx, mxs, good = checks.get(p, (0, float("nan"), float("nan"), False))
            if not good:
                print(f"[export {bname}] {p} from {source} not verified; not used", flush=True)
                continue
            values[p] = imp[p].reindex(index)
            info[p] = {
                "source": f"benchmarks/data/{source} (reused after recomputing "
                f"{n_chk} cells with ProxyFeaturizer: max relative difference {mx:.1e}, "
                f"{mxs:.1e} standard deviations)",
                "computed": set(imp.index),
                "failed": int(imp[p].isna().sum()),
                "commits": [f"cache as committed in {_last_commit(C.CACHE / source)}"]
                + [f"verified at {c}" for c in verify_commits(source, bname)],
            }
    for group, proxies in GROUPS.items():
        if group in NOT_EXPORTED:
            continue
        df = job_table(bname, group)
        if df.empty:
            continue
        side = json.loads((CACHE / f"{bname}__{group}__full.json").read_text())
        for p in proxies:
            if p in values:
                _merge_group(bname, p, group, df, values, info, index)
                continue
            values[p] = df[p].astype(float).reindex(index)
            info[p] = {
                "source": f"benchmarks/proxy_tables.py group {group!r} "
                f"(cache benchmarks/data/proxy_tables/{bname}__{group}__full.csv)",
                "computed": set(df.index),
                "failed": int(df[p].astype(float).isna().sum()),
                "versions": sorted(set(df["version"].astype(str))),
                "commits": sorted(set(df["commit"].astype(str))),
                "setting": side,
            }
    for p in planned_proxies(bname):  # planned but not computed yet: empty columns
        if p not in values:
            values[p] = pd.Series(np.nan, index=index)
            info[p] = {"source": "not computed yet", "computed": set(), "failed": 0}
    cols = sorted(values)
    return pd.DataFrame({p: values[p] for p in cols}, index=index), info


def _merge_group(
    bname: str,
    proxy: str,
    group: str,
    df: pd.DataFrame,
    values: dict[str, pd.Series],
    info: dict[str, dict],
    index: pd.Index,
) -> None:
    """Add a second group's cells of ``proxy`` (same seed, batch and setting): the cells both
    computed must agree, else the export stops; the union of the computed cells is kept."""
    prev = info[proxy]
    if "versions" not in prev:
        raise SystemExit(f"{bname}: proxy {proxy} comes from a reused cache and group {group}")
    new = df[proxy].astype(float).reindex(index)
    both = sorted(set(df.index) & prev["computed"])
    a, b = values[proxy].loc[both].to_numpy(), new.loc[both].to_numpy()
    ok = (np.isnan(a) & np.isnan(b)) | np.isclose(a, b, rtol=VERIFY_RTOL, atol=0.0)
    if not ok.all():
        raise SystemExit(
            f"{bname}: {proxy} differs between {prev['source']} and group {group!r} on "
            f"{int((~ok).sum())} of {len(both)} cells computed by both"
        )
    only_new = sorted(set(df.index) - prev["computed"])
    values[proxy].loc[only_new] = new.loc[only_new]
    prev["source"] += f" + group {group!r} ({len(both)} common cells agree)"
    prev["computed"] = prev["computed"] | set(df.index)
    prev["failed"] = int(values[proxy].loc[sorted(prev["computed"])].isna().sum())
    prev["versions"] = sorted(set(prev["versions"]) | set(df["version"].astype(str)))
    prev["commits"] = sorted(set(prev["commits"]) | set(df["commit"].astype(str)))


def _last_commit(path: Path) -> str:
    out = subprocess.run(
        ["git", "log", "-1", "--format=%h", "--", str(path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    ).stdout.strip()
    return out or "uncommitted"


def verify_commits(source: str, bname: str) -> list[str]:
    df = verify_cache().load()
    part = df[(df["source"] == source) & (df["benchmark"] == bname)]
    return sorted(set(part["commit"].astype(str)))


def planned_proxies(bname: str) -> list[str]:
    """The proxies a benchmark's table is meant to hold: its reused caches' and its jobs'.

    A table is complete (and merged into ``load_benchmark``'s X by default) only once every
    planned proxy is computed for every architecture.
    """
    out: list[str] = []
    for tasks, loader in IMPORTS.values():
        if bname in tasks:
            out += [c for c in loader(tasks[bname]).columns if c != "seed"]
    for job in DEFAULT_JOBS:
        b, group, _ = parse_job(job)
        if b.name == bname:
            out += list(GROUPS[group])
    return sorted(set(out))


def export(args: argparse.Namespace) -> None:
    """Write libranas/datasets/data/libranas_<benchmark>.csv.gz (+ .json) for every benchmark."""
    from libranas.datasets import libranas_table_path
    from libranas.proxies import list_proxies

    prov = provenance()
    for bname in BENCHES:
        table, info = assemble(bname)
        if not any(info[p]["computed"] for p in table.columns):
            print(f"[export] {bname}: nothing computed yet; no table written", flush=True)
            continue
        csv_path = libranas_table_path(bname)
        text = io_csv(table, info)
        with gzip.GzipFile(csv_path, "wb", mtime=0) as fh:  # mtime 0: same bytes, same file
            fh.write(text.encode())
        n = len(table)
        meta = {
            "benchmark": bname,
            "rows": n,
            "key": "architecture key exactly as in load_benchmark(benchmark).X.index",
            "cells": "empty = not computed yet; nan = computed, the proxy failed on that cell",
            "proxies": {
                p: {
                    "computed": len(info[p]["computed"]),
                    "failed": info[p]["failed"],
                    "complete": len(info[p]["computed"]) == n,
                    "source": info[p]["source"],
                    **{k: info[p][k] for k in ("versions", "commits") if k in info[p]},
                }
                for p in table.columns
            },
            "complete": all(len(info[p]["computed"]) == n for p in table.columns),
            "registered_not_included": sorted(set(list_proxies()) - set(table.columns)),
            "batch": "64 real images of the task, load_image_batch(<file>, n=64, random_state="
            f"{BATCH_SEED}) from {BENCHES[bname].images} (CIFAR-10/100: the CIFAR training "
            "images kept in shared/data/images, see its PROVENANCE.txt; ImageNet16: "
            "downsampled-ImageNet 16x16 with the 1000-class labels folded to y % 120)",
            "seed": f"ProxyFeaturizer(random_state={INIT_SEED}): one initialisation per "
            f"architecture, seed arch_seed(canonical architecture, {INIT_SEED})",
            "setting": "network in training mode, float32, CPU, 1 torch thread, "
            "lswag_band=None (all layers), per-sample gradients exact (vmap)"
            + (
                ", DARTS network C=32, 8 cells (NAS-Bench-Suite-Zero's)" if "nb301" in bname else ""
            ),
            "exported_by": "benchmarks/proxy_tables.py --export",
            "exported_with": prov,
            "date": dt.date.today().isoformat(),
        }
        csv_path.with_name(csv_path.name.replace(".csv.gz", ".json")).write_text(
            json.dumps(meta, indent=1) + "\n"
        )
        print(
            f"[export] {csv_path.relative_to(REPO)}: {n} rows, "
            + ", ".join(f"{p} {len(info[p]['computed'])}" for p in table.columns),
            flush=True,
        )


def io_csv(table: pd.DataFrame, info: dict[str, dict]) -> str:
    """CSV text: 'arch' then one column per proxy; '' = not computed, 'nan' = failed."""
    cols = list(table.columns)
    lines = [",".join(["arch", *cols])]
    for arch, row in table.iterrows():
        cells = []
        for p in cols:
            if arch not in info[p]["computed"]:
                cells.append("")
            else:
                v = row[p]
                cells.append("nan" if not np.isfinite(v) else repr(float(v)))
        lines.append(",".join([f'"{arch}"', *cells]))
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------ report


def _rank(score, acc) -> tuple[float, float, int]:
    rho, n = C.spearman(score, acc)
    return rho, C.kendall(score, acc), n


def cost_section() -> list[str]:
    df = cost_cache().load()
    if df.empty:
        return ["No cost measurement yet (`--cost N`).", ""]
    out = [
        "CPU seconds of the scoring process per network (one torch thread: what a network "
        "costs on one idle core) and wall seconds (inflated by the other work sharing the "
        "2 cores; the 1-minute load average is given), medians over the cells.",
        "",
    ]
    for bname, part in df.groupby("benchmark", sort=False):
        n_cells = part["arch"].nunique()
        full = part[part["setting"] == "full"]
        singles = full[~full["what"].str.startswith(("ALL", "GROUP"))]
        stats = singles.groupby("what").agg(
            cpu=("cpu_seconds", "median"),
            cpu_min=("cpu_seconds", "min"),
            cpu_max=("cpu_seconds", "max"),
            wall=("seconds", "median"),
            load=("load", "median"),
            n=("arch", "nunique"),
        )
        stats = stats.sort_values("cpu")
        out += [
            f"### {bname}: {n_cells} cells (the first of the fixed order), "
            f"{int(part['threads'].iloc[0])} torch thread",
            "",
            "Each proxy alone (its own pass, as when it is the only proxy asked for), full "
            "setting:",
            "",
            "| proxy | CPU s / network | min | max | wall s | load | cells |",
            "|---|---|---|---|---|---|---|",
        ]
        for what, r in stats.iterrows():
            out.append(
                f"| {what} | {r.cpu:.1f} | {r.cpu_min:.1f} | {r.cpu_max:.1f} | {r.wall:.1f} | "
                f"{r.load:.1f} | {int(r.n)} |"
            )
        groups = part[part["what"].str.startswith(("ALL", "GROUP"))]
        if len(groups):
            tab = groups.pivot_table(
                index="what", columns="setting", values="cpu_seconds", aggfunc="median"
            )
            wall = groups.pivot_table(
                index="what", columns="setting", values="seconds", aggfunc="median"
            )
            settings = [s for s in SETTINGS if s in tab.columns]
            out += [
                "",
                "Proxy groups (one shared pass per network), CPU s (wall s) per network, by "
                "setting (" + "; ".join(f"{s}: {_setting_text(s)}" for s in settings) + "):",
                "",
                "| group | proxies | " + " | ".join(settings) + " |",
                "|---|---|" + "---|" * len(settings),
            ]
            for what in tab.index:
                n_p = len(groups.loc[groups["what"] == what, "proxies"].iloc[0].split(";"))
                cells = " | ".join(
                    f"{C.fmt(tab.loc[what, s], 1)} ({C.fmt(wall.loc[what, s], 1)})"
                    for s in settings
                )
                out.append(f"| {what} | {n_p} | {cells} |")
            all_names = groups.loc[groups["what"] == "ALL", "proxies"]
            names = set(all_names.iloc[0].split(";")) if len(all_names) else set()
            alone = stats.loc[stats.index.isin(names), "cpu"]
            if "ALL" in tab.index and "full" in tab.columns and len(alone) == len(names):
                total = alone.sum()
                out += [
                    "",
                    f"Sum of the single-proxy CPU times of the {len(names)} proxies of ALL: "
                    f"{total:.1f} s; the same proxies in one shared pass: "
                    f"{tab.loc['ALL', 'full']:.1f} s (the shared pass saves "
                    f"{100 * (1 - tab.loc['ALL', 'full'] / total):.0f}%). Proxies registered "
                    "after the tables were started (vkdnw, vkdnw_single, az_*) are timed alone "
                    "only; they are not in the tables yet.",
                ]
        out.append("")
    return out


def _setting_text(setting: str) -> str:
    s = SETTINGS[setting]
    opts = ", ".join(f"{k}={v}" for k, v in s["space_options"].items()) or "C=32, 8 cells"
    return f"{opts}, batch {s['batch']}"


AGREE_MIN = 0.95  # a cheaper setting replaces the full one only if every proxy agrees this well
SPEEDUP_MIN = 1.5  # ... and it is at least this much cheaper


def agreement_rows(acc: pd.Series) -> pd.DataFrame:
    """Per cheap setting and proxy: rho(cheap, full) on the common cells, rho with acc."""
    full = job_table("nb301-cifar10", "nb301", "full")
    rows = []
    for setting in SETTINGS:
        if setting == "full":
            continue
        cheap = job_table("nb301-cifar10", "nb301", setting)
        if cheap.empty or full.empty:
            continue
        common = cheap.index.intersection(full.index)
        if len(common) < 5:
            continue
        t_full = full.loc[common, "cpu_seconds"].median()
        t_cheap = cheap.loc[common, "cpu_seconds"].median()
        for p in GROUPS["nb301"]:
            a = full.loc[common, p].astype(float)
            b = cheap.loc[common, p].astype(float)
            agree, n = C.spearman(a, b)
            rows.append(
                {
                    "setting": setting,
                    "proxy": p,
                    "n": n,
                    "agreement": agree,
                    "rho_full": C.spearman(a, acc[common])[0],
                    "rho_cheap": C.spearman(b, acc[common])[0],
                    "speedup": t_full / t_cheap,
                }
            )
    return pd.DataFrame(rows)


def agreement_section(df: pd.DataFrame) -> list[str]:
    if df.empty:
        return ["No cheap-setting measurement yet (`--agreement N`).", ""]
    out = [
        "Spearman rho across cells between each proxy under a cheaper setting and under the "
        "full setting (same cells, same seeds; the full values are the table's first cells), "
        "and each one's rho with validation accuracy on those few cells (indicative only). "
        "Speed-up: median CPU seconds per network of the whole group, full / cheap.",
        "",
    ]
    for setting, part in df.groupby("setting", sort=False):
        out += [
            f"**{setting}** ({_setting_text(setting)}; {int(part['n'].max())} cells; "
            f"speed-up {part['speedup'].iloc[0]:.2f}x): median agreement "
            f"{part['agreement'].median():.3f}, min {part['agreement'].min():.3f} "
            f"({part.loc[part['agreement'].idxmin(), 'proxy']}).",
            "",
            "| proxy | agreement with full | rho full | rho cheap |",
            "|---|---|---|---|",
        ]
        for r in part.itertuples():
            out.append(
                f"| {r.proxy} | {C.fmt(r.agreement)} | {C.fmt(r.rho_full)} | {C.fmt(r.rho_cheap)} |"
            )
        out.append("")
    return out


def choice_section(agree: pd.DataFrame) -> list[str]:
    """Why the NB301 table holds GROUPS['nb301'] at its setting, from the measured numbers."""
    cost = cost_cache().load()
    cost = cost[(cost["benchmark"] == "nb301-cifar10") & (cost["setting"] == "full")]
    run = job_table("nb301-cifar10", "nb301", "full")
    if cost.empty or run.empty:
        return ["Not enough measurements yet.", ""]
    med = cost.groupby("what")["cpu_seconds"].median()
    group_s = float(run["cpu_seconds"].median())
    left_out = sorted(set(TABLE_PROXIES) - set(GROUPS["nb301"]))
    out = [
        f"- Proxies: `{', '.join(GROUPS['nb301'])}` ({len(GROUPS['nb301'])} of the "
        f"{len(TABLE_PROXIES)} table proxies), one shared pass: median {group_s:.1f} CPU s per "
        f"network over the {len(run)} cells computed so far (one thread)."
    ]
    if "ALL" in med.index:
        extra = med["ALL"] - group_s
        out.append(
            f"- Left out: {', '.join(left_out)}. All {len(TABLE_PROXIES)} in one pass cost "
            f"{med['ALL']:.1f} CPU s (median over {int((cost['what'] == 'ALL').sum())} cells), "
            f"so the left-out proxies would add {extra:.1f} s ({100 * extra / group_s:.0f}%) to "
            "every network"
            + "; ".join(f" ({p} alone: {med[p]:.1f} s)" for p in left_out if p in med.index)
            + ". NAS-Bench-Suite-Zero's table already holds a value of "
            + ", ".join(left_out)
            + " for every NB301 cell (its column of the same name)."
        )
    per_sample = ("zico", "lswag", "lswag_lambda")
    key = "GROUP all but grasp and per-sample"
    if key in med.index:
        out.append(
            f"- The per-sample-gradient proxies ({', '.join(per_sample)}) are the costly part: "
            f"without them (and grasp) one pass costs {med[key]:.1f} s. They are kept: ZiCo "
            "and L-SWAG are among the strongest proxies on the three NB201 tables (below), and "
            "the zero-label ranking and LIBRA's full pool need them on NB301."
        )
    if agree.empty:
        out.append("- Setting: full (no cheaper setting measured yet).")
    else:
        verdicts = []
        adopt = None
        for setting, part in agree.groupby("setting", sort=False):
            worst = part["agreement"].min()
            speed = part["speedup"].iloc[0]
            ok = worst >= AGREE_MIN and speed >= SPEEDUP_MIN
            verdicts.append(
                f"{setting}: {speed:.2f}x cheaper, worst agreement {worst:.3f} "
                f"({part.loc[part['agreement'].idxmin(), 'proxy']}) -> "
                + ("qualifies" if ok else "rejected")
            )
            if ok and adopt is None:
                adopt = setting
        out.append(
            f"- Setting: a cheaper setting replaces the full one only if every proxy agrees "
            f"with full at rho >= {AGREE_MIN} and it is >= {SPEEDUP_MIN}x cheaper. "
            + "; ".join(verdicts)
            + ". "
            + (
                "The table keeps the full setting (batch 64, NAS-Bench-Suite-Zero's network)."
                if adopt is None
                else f"Setting {adopt} qualifies; the table is still computed at the full "
                "setting unless the run is switched (GROUPS/DEFAULT_JOBS)."
            )
        )
    out.append("")
    return out


def verify_section() -> list[str]:
    ver = verified_proxies()
    if not ver:
        return ["No check of the reused caches yet (`--verify-imports N`).", ""]
    out = [
        "Each reused cache was checked by recomputing its first cells (fixed order) with "
        "ProxyFeaturizer at the table's setting; a proxy is reused when every checked cell "
        f"agrees within a relative difference of {VERIFY_RTOL:g} or within {VERIFY_RTOL:g} of "
        "the proxy's standard deviation over the benchmark's cells (else it is recomputed). "
        "Library at the check: "
        + ", ".join(sorted(set(verify_cache().load()["commit"])))
        + " (+dirty: the shared working tree had uncommitted edits elsewhere).",
        "",
        "| source | benchmark | proxy | cells checked | max relative difference | "
        "max difference / sd | reused |",
        "|---|---|---|---|---|---|---|",
    ]
    for (source, bname), proxies in ver.items():
        for p, (n, mx, mxs, good) in sorted(proxies.items()):
            out.append(
                f"| {source} | {bname} | {p} | {n} | {mx:.1e} | {mxs:.1e} | "
                f"{'yes' if good else 'NO'} |"
            )
    out.append("")
    return out


def run_rates() -> pd.DataFrame:
    rows = []
    for bname in BENCHES:
        for group in GROUPS:
            df = job_table(bname, group)
            if df.empty:
                continue
            n_total = len(load_bench(bname))
            rows.append(
                {
                    "benchmark": bname,
                    "group": group,
                    "done": len(df),
                    "total": n_total,
                    "median_s": float(df["seconds"].median()),
                    "recent_s": float(df["seconds"].tail(20).mean()),
                    "median_cpu": float(df["cpu_seconds"].median()),
                    "commits": ", ".join(sorted(set(df["commit"].astype(str)))),
                    "cpu": ", ".join(sorted(set(df["cpu"].astype(str)))),
                }
            )
    return pd.DataFrame(rows)


def report(args: argparse.Namespace) -> None:
    prov = provenance()
    lines = [
        "# libranas-computed proxy tables (NB201 x 3, NB301)",
        "",
        f"Generated by `python benchmarks/proxy_tables.py --report` (git {prov['commit']}, "
        f"libranas {prov['version']}) from the per-cell caches in "
        "`benchmarks/data/proxy_tables/` and the reused caches `lswag_cells.csv`, "
        f"`fidelity_cells.csv`; machine: {C.cpu_name()}, {os.cpu_count()}-core "
        f"{platform.machine()} CPU, no GPU, shared with other work (every computation: one "
        "torch thread at nice 10; costs are given as CPU seconds of the scoring process, "
        "which the sharing does not inflate, and as wall seconds, which it does).",
        "",
        "## Protocol",
        "- Architectures: every row of `load_benchmark(b)` for b in nb201-cifar10 (724), "
        "nb201-cifar100 (725), nb201-imagenet16-120 (724), nb301-cifar10 (725), keyed by "
        "`bench.X.index`, scored in a fixed random order (seed "
        f"{ORDER_SEED}): a partial table is a uniform random subset.",
        "- Scores: `ProxyFeaturizer(space, proxies, data=(x, y), batch_size=64, "
        f"lswag_band=None, random_state={INIT_SEED}, n_threads=1, device='cpu')`, one "
        "network per architecture (seed `arch_seed(cell, 0)`), one shared pass per network; "
        "x, y = `load_image_batch(<task file>, n=64, random_state="
        f"{BATCH_SEED})` (CIFAR-10 for NB301; ImageNet16 labels folded to y % 120). NB301 "
        "networks: `get_space('nb301')` defaults (C=32, 8 cells, NAS-Bench-Suite-Zero's).",
        "- Correlations: Spearman rho and Kendall tau of each proxy with the table's target "
        "(`bench.y`: NAS-Bench-Suite-Zero validation accuracy) over the cells computed so far "
        "(failed cells left out; n given). NAS-Bench-Suite-Zero's own column of the same "
        "proxy on the same cells is given for comparison.",
        "",
        "## Progress",
        "",
    ]
    rates = run_rates()
    if len(rates):
        lines += [
            "| benchmark | group | cells done | median CPU s / cell | median wall s / cell | "
            "left | cells / hour (last 20) | ETA at that rate | ETA on an idle core | commits "
            "| CPU |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in rates.itertuples():
            left = r.total - r.done
            per_hour = 3600 / r.recent_s
            lines.append(
                f"| {r.benchmark} | {r.group} | {r.done} of {r.total} | {r.median_cpu:.1f} | "
                f"{r.median_s:.1f} | {left} | {per_hour:.0f} | {left / per_hour:.1f} h | "
                f"{left * r.median_cpu / 3600:.1f} h | {r.commits} | {r.cpu} |"
            )
        lines += [
            "",
            "Wall rates are those of the shared machine while the report was written (other "
            "work held most of the 2 cores); 'idle core' is the CPU-time estimate.",
        ]
        lines.append("")
    lines += ["## Cost per proxy (NB301 subset)", ""] + cost_section()
    bench301 = load_bench("nb301-cifar10")
    agree = agreement_rows(bench301.y)
    lines += ["## Cheaper NB301 settings vs the full one", ""]
    lines += agreement_section(agree)
    lines += ["## NB301: the chosen proxies and setting (generated from the numbers above)", ""]
    lines += choice_section(agree)
    lines += ["## Reused caches", ""] + verify_section()
    lines += ["## Correlation with validation accuracy, per benchmark", ""]
    for bname in BENCHES:
        table, info = assemble(bname)
        if table.empty:
            continue
        bench = load_bench(bname)
        n_all = len(bench)
        lines += [
            f"### {bname}",
            "",
            "| proxy | cells computed | failed | rho | tau | NB-Suite-Zero rho (same cells) "
            "| source |",
            "|---|---|---|---|---|---|---|",
        ]
        for p in sorted(
            table.columns, key=lambda c: -np.nan_to_num(C.spearman(table[c], bench.y)[0], nan=-2)
        ):
            done = sorted(info[p]["computed"])
            rho, tau, n = _rank(table.loc[done, p], bench.y[done])
            count = (
                f"{len(done)} of {n_all}"
                if len(done) == n_all
                else (f"partial: {len(done)} of {n_all}")
            )
            ref = (
                C.fmt(C.spearman(bench.X.loc[done, p], bench.y[done])[0])
                if p in bench.X.columns
                else ""
            )
            src = "reused cache" if "reused" in info[p]["source"] else "proxy_tables.py"
            lines.append(
                f"| {p} | {count} | {info[p]['failed']} | "
                f"{C.fmt(rho)} | {C.fmt(tau)} | {ref} | {src} |"
            )
        lines.append("")
    C.write_results(REPORT, "\n".join(lines) + "\n")
    print("\n".join(lines))


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
