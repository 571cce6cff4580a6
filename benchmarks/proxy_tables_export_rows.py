"""The tables of ``proxy_tables.py`` assembled from the per-cell caches and the reused ones,
and their export into ``libranas/datasets/data`` (``--export``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import subprocess
from pathlib import Path

import _common as C
import numpy as np
import pandas as pd
from proxy_tables_check_rows import IMPORTS, VERIFY_RTOL, verified_proxies, verify_cache
from proxy_tables_rows import (
    BATCH_SEED,
    BENCHES,
    CACHE,
    DEFAULT_JOBS,
    GROUPS,
    INIT_SEED,
    NOT_EXPORTED,
    REPO,
    load_bench,
    parse_job,
    provenance,
)

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
