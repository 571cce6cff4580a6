"""Which L-SWAG layer band generalises on NAS-Bench-201, and the band NB201 stores.

The paper calibrates the band per search space: mean per-layer log sigma of Lambda over
random architectures, by depth decile; the band is the spike of that profile
(``choose_band(profile, 0.9)``). On NB201 its band lost to all layers on all three tasks
(``lswag_nb201.md``). Here every candidate *rule* is scored from the per-cell, per-layer
cache of ``lswag_nb201.py`` (``cache/lswag_cells.csv``: all 2,173 cells of the three
NAS-Bench-Suite-Zero NB201 tables, each scored on 64 images of its own task, i.e. three
different batches; ``cache/lswag_calibration.csv``: 30 random architectures per task for the
calibration profile), so no network is built:

- ``all layers``;
- the paper's calibration with ``threshold`` 0.9, and looser 0.7 / 0.5 (the band then widens
  around the spike), calibrated per task on that task's batch;
- every fixed decile band ``[lo, hi)`` (55 bands).

The rule is chosen on CIFAR-10 alone (development) against the NAS-Bench-Suite-Zero
validation accuracy: the rule with the best rho, where a band within 0.01 of the best keeps
its place only if it is also the widest such (a narrow band's edge is noise on 724 cells).
It is then reported on CIFAR-100 and ImageNet16-120 (held out), against both the validation
accuracy and the 200-epoch test accuracy (NATS-Bench) of the same cells.

    python benchmarks/lswag_band.py            # benchmarks/results/lswag_band.md
    python benchmarks/lswag_band.py --store    # + write libranas/spaces/data/nb201_band.json
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import _common as C
import lswag_nb201 as L
import numpy as np
import pandas as pd

REPORT = C.RESULTS / "lswag_band.md"
STORE = C.ROOT.parent / "libranas" / "spaces" / "data" / "nb201_band.json"
DEV = "cifar10"
HELD_OUT = ("cifar100", "imagenet16-120")
TASKS = (DEV, *HELD_OUT)
BENCH = {t: f"nb201-{t}" for t in TASKS}
TEST = {
    "cifar10": ("nb201-15k-cifar10", "cifar10_test_acc_200ep"),
    "cifar100": ("nb201-15k-cifar100", "cifar100_test_acc_200ep"),
    "imagenet16-120": ("nb201-15k-imagenet16-120", "imagenet16_test_acc_200ep"),
}
THRESHOLDS = (0.9, 0.7, 0.5)
MARGIN = 0.01
FIXED = [(lo, hi) for lo in range(0, 100, 10) for hi in range(lo + 10, 101, 10)]


def targets(task: str, index: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    from libranas.datasets import load_benchmark
    from libranas.spaces import get_space

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bench = load_benchmark(BENCH[task], libranas_proxies=False)
        big, col = TEST[task]
        meta = load_benchmark(big).meta
    space = get_space("nb201")
    val = bench.y.loc[index].to_numpy(float)
    test = meta.loc[[space.to_string(a) for a in index], col].to_numpy(float)
    return val, test


def task_cells(task: str) -> pd.DataFrame:
    df = L.cells_cache().load()
    df = df[df["task"] == task].drop_duplicates("arch").set_index("arch")
    return df.iloc[:100] if C.QUICK else df  # --quick: the first 100 cells (a random subset)


def scores(df: pd.DataFrame, band: tuple[float, float] | None) -> np.ndarray:
    ls = [C.parse_vec(v) for v in df["logsig"]]
    nps = [C.parse_vec(v) for v in df["newpat"]]
    return np.array([L.lam(a, band) * L.psi(b, band) for a, b in zip(ls, nps, strict=True)])


def rules(task: str) -> dict[str, tuple[float, float] | None]:
    """Every candidate rule's band on ``task`` (the calibrated ones from its own profile)."""
    from libranas.proxies.lswag import choose_band

    out: dict[str, tuple[float, float] | None] = {"all layers": None}
    prof, _, n_cal = L.calibration(task, None)
    for t in THRESHOLDS:
        band = choose_band(prof, t)
        out[f"paper calibration t={t}"] = (float(band[0]), float(band[1]))
    for lo, hi in FIXED:
        out[f"fixed [{lo}, {hi})"] = (float(lo), float(hi))
    return out


def evaluate() -> pd.DataFrame:
    rows = []
    for task in TASKS:
        df = task_cells(task)
        val, test = targets(task, df.index)
        for rule, band in rules(task).items():
            s = scores(df, band)
            rho_v, n = C.spearman(s, val)
            rows.append(
                {
                    "task": task,
                    "rule": rule,
                    "band": "all" if band is None else f"[{band[0]:g}, {band[1]:g})",
                    "width": 100.0 if band is None else band[1] - band[0],
                    "n": n,
                    "rho_val": rho_v,
                    "tau_val": C.kendall(s, val),
                    "rho_test": C.spearman(s, test)[0],
                    "sd_val": C.bootstrap_rho(s, val, n_boot=200)[0],
                }
            )
    return pd.DataFrame(rows)


def choose(res: pd.DataFrame) -> str:
    dev = res[res["task"] == DEV]
    best = dev["rho_val"].max()
    near = dev[dev["rho_val"] >= best - MARGIN]
    return str(near.sort_values(["width", "rho_val"], ascending=[False, False]).iloc[0]["rule"])


def report(res: pd.DataFrame, chosen: str) -> None:
    wide = res.pivot_table(index="rule", columns="task", values=["rho_val", "rho_test"])
    dev = res[res["task"] == DEV].set_index("rule")
    order = dev.sort_values("rho_val", ascending=False).index
    head = [r for r in ("all layers", *[f"paper calibration t={t}" for t in THRESHOLDS])]
    top = [r for r in order if r not in head][:10]
    lines = [
        "# L-SWAG's layer band on NAS-Bench-201: which rule generalises",
        "",
        f"Generated by `python benchmarks/lswag_band.py` (code {C.code_version()}) from the "
        "per-cell, per-layer cache of `lswag_nb201.py` (`cache/lswag_cells.csv`: every cell of "
        "the three NAS-Bench-Suite-Zero NB201 tables, one initialisation `arch_seed(cell, 0)`, "
        "64 images of the task: three different batches) and its calibration cache (30 random "
        "architectures per task). L-SWAG = Lambda (sum of per-layer log sigma in the band) x Psi "
        "(distinct ReLU patterns of the activation calls up to the band's end).",
        "",
        "Rule chosen on CIFAR-10 only (validation accuracy of NAS-Bench-Suite-Zero): the best "
        f"rho, a band within {MARGIN} of it kept only as the widest such. Held out: CIFAR-100 "
        "and ImageNet16-120, against validation and 200-epoch test accuracy.",
        "",
        f"**Chosen rule: {chosen}** (band on CIFAR-10: {dev.loc[chosen, 'band']}).",
        "",
        "| rule | band (C10) | C10 val (dev) | C10 test | C100 val | C100 test | IN16 val | "
        "IN16 test |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for rule in [*head, *top]:
        bands = res[res["rule"] == rule].set_index("task")["band"]
        cells = []
        for task in TASKS:
            for what in ("rho_val", "rho_test"):
                cells.append(f"{wide.loc[rule, (what, task)]:.3f}")
        name = f"**{rule}**" if rule == chosen else rule
        if rule.startswith("paper"):
            name += " (bands: " + ", ".join(f"{t} {bands[t]}" for t in TASKS) + ")"
        lines.append(f"| {name} | {bands[DEV]} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Paired differences of the chosen rule against all layers and against the paper's "
        "calibration (rho difference, 95% interval over 1000 paired bootstrap resamples of the "
        "cells where all three are finite):",
        "",
        "| task | target | chosen - all layers | chosen - paper calibration (t=0.9) |",
        "|---|---|---|---|",
    ]
    for task in TASKS:
        df = task_cells(task)
        val, test = targets(task, df.index)
        rl = rules(task)
        a = scores(df, rl[chosen])
        b = scores(df, None)
        c = scores(df, rl["paper calibration t=0.9"])
        ok = np.isfinite(a) & np.isfinite(b) & np.isfinite(c)
        for name, y in (("val", val), ("test", test)):
            cells = []
            for other in (b, c):
                d, _, lo, hi = L.paired_rho_difference(a[ok], other[ok], y[ok])
                cells.append(f"{d:+.3f} [{lo:+.3f}, {hi:+.3f}]")
            lines.append(f"| {task} | {name} | " + " | ".join(cells) + " |")
    n = res.groupby("task")["n"].max().to_dict()
    sd = res[res["rule"] == "all layers"].set_index("task")["sd_val"].to_dict()
    lines += [
        "",
        f"Cells with a finite score: {n}. Bootstrap sd of the all-layers rho (200 "
        f"resamples): { {k: round(v, 3) for k, v in sd.items()} }; differences between rules "
        "are paired (same cells), so smaller differences than that are still systematic when "
        "they hold on every task.",
        "",
        "Best fixed band per task (validation), for reference (chosen with that task's labels, "
        "so not a result):",
        "",
        "| task | band | rho val | rho test | all layers val |",
        "|---|---|---|---|---|",
    ]
    for task in TASKS:
        part = res[(res["task"] == task) & res["rule"].str.startswith("fixed")]
        b = part.sort_values("rho_val", ascending=False).iloc[0]
        allv = res[(res["task"] == task) & (res["rule"] == "all layers")]["rho_val"].iat[0]
        lines.append(
            f"| {task} | {b['band']} | {b['rho_val']:.3f} | {b['rho_test']:.3f} | {allv:.3f} |"
        )
    lines += [
        "",
        "What is not covered: other initialisations of the same cells (the per-layer cache has "
        "one per cell), and other spaces (AutoFormer-Tiny stores its own calibrated band, "
        "lswag_autoformer.md; PiT stores one, lswag_vit.md).",
        "",
    ]
    C.write_results(REPORT, "\n".join(lines) + "\n")


def store(res: pd.DataFrame, chosen: str) -> None:
    """Write the band NB201 ships (``NB201Space.lswag_band()``) with its provenance."""
    band = rules(DEV)[chosen]
    lo, hi = (0.0, 100.0) if band is None else band
    dev = res[(res["task"] == DEV) & (res["rule"] == chosen)].iloc[0]
    record = {
        "band": [lo, hi],
        "rule": chosen,
        "chosen_on": "NAS-Bench-201 CIFAR-10, 724 NAS-Bench-Suite-Zero cells, validation "
        "accuracy; benchmarks/lswag_band.py",
        "rho_dev": round(float(dev["rho_val"]), 4),
        "report": "benchmarks/results/lswag_band.md",
        "commit": C.code_version(),
    }
    STORE.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {STORE}: {record}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--store", action="store_true", help="write the chosen band for NB201")
    args = p.parse_args(argv)
    res = evaluate()
    chosen = choose(res)
    report(res, chosen)
    if args.store:
        store(res, chosen)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    raise SystemExit(main())
