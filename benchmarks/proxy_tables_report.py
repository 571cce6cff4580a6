"""``benchmarks/results/proxy_tables.md`` (``proxy_tables.py --report``): progress, cost,
the cheaper settings, the NB301 choice, the reused caches' check and every proxy's
correlation, written in one place from the caches.
"""

from __future__ import annotations

import argparse
import os
import platform

import _common as C
import numpy as np
import pandas as pd
from proxy_tables_check_rows import (
    TABLE_PROXIES,
    VERIFY_RTOL,
    cost_cache,
    verified_proxies,
    verify_cache,
)
from proxy_tables_export_rows import assemble, job_table
from proxy_tables_rows import (
    BATCH_SEED,
    BENCHES,
    GROUPS,
    INIT_SEED,
    ORDER_SEED,
    REPORT,
    SETTINGS,
    load_bench,
    provenance,
)

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
    commits = sorted(set(verify_cache().load()["commit"].astype(str)))
    dirty = any(c.endswith("+dirty") for c in commits)
    out = [
        "Each reused cache was checked by recomputing its first cells (fixed order) with "
        "ProxyFeaturizer at the table's setting; a proxy is reused when every checked cell "
        f"agrees within a relative difference of {VERIFY_RTOL:g} or within {VERIFY_RTOL:g} of "
        "the proxy's standard deviation over the benchmark's cells (else it is recomputed). "
        "Library at the check (the commit each row of "
        "`benchmarks/data/proxy_tables/verify_imports.csv` records; `python "
        "benchmarks/proxy_tables.py --verify-imports 4 --verify-again` redoes it at the present "
        "commit): "
        + ", ".join(commits)
        + (" (+dirty: the shared working tree had uncommitted edits elsewhere)." if dirty else "."),
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
