"""The checks of ``proxy_tables.py``: the cost of every proxy alone and together
(``--cost``), cheaper NB301 settings against the full one (``--agreement``), and the reused
caches recomputed on their first cells (``--verify-imports``; ``--verify-again`` redoes the
check at the present commit).
"""

from __future__ import annotations

import argparse
import csv
import os

import _common as C
import numpy as np
import pandas as pd
from proxy_tables_rows import (
    BENCHES,
    CACHE,
    CLASSIC,
    arch_seed_of,
    cell_order,
    featurizer,
    load_bench,
    provenance,
    run_job,
    score_cell,
)

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
    """Recompute the first ``args.verify_imports`` cells of every reused cache with
    ProxyFeaturizer and compare (the report's "Reused caches" section reads the result).

    Resumable: a cell already checked is skipped, unless ``args.verify_again`` is set; then
    only the cells checked by the present library commit count as done (an earlier commit's
    check is redone, and the file keeps the latest row of each cell and proxy).
    """
    vc = verify_cache()
    prov = provenance()
    again = getattr(args, "verify_again", False)
    if again and prov["commit"].endswith("+dirty"):
        raise SystemExit(
            "--verify-again records the check's commit: commit libranas/ first, or run it on "
            "a committed snapshot (--snapshot)"
        )
    checked = vc.load()
    if again:
        checked = checked[checked["commit"].astype(str) == prov["commit"]]
    done = set(map(tuple, checked[["source", "benchmark", "arch"]].astype(str).to_numpy()))
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
                seed = arch_seed_of(feat, arch)
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
    if again:
        _keep_latest(vc)


def _keep_latest(cache: C.CellCache) -> None:
    """Rewrite a cache with only the last row of each key (the rows ``load`` keeps), byte for
    byte as appended."""
    with cache.path.open(newline="") as fh:
        rows = [r for r in csv.reader(fh)]
    header, body = rows[0], [r for r in rows[1:] if len(r) == len(cache.columns)]
    idx = [header.index(c) for c in cache.key_cols]
    last = {tuple(r[i] for i in idx): r for r in body}
    with cache.path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(last.values())


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
