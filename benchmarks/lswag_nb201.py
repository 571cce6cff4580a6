"""L-SWAG on NAS-Bench-201 against the paper (rho 0.79 / 0.83 / 0.80), its ablation, the
other new proxies, and what the new proxies do to LIBRA's combinations.

Per task (CIFAR-10, CIFAR-100, ImageNet16-120) and per cell of the NAS-Bench-Suite-Zero
table, in a fixed random order (any prefix is a random subset), the cell is built at
initialisation (seed from the architecture, as ProxyFeaturizer does) and run once through
one shared NetworkPass on the task's real batch of 64. Raw per-cell quantities are cached:

- ``logsig``: L-SWAG's per-weight-layer log sum_w 1/std_i|g_w| (exact per-sample gradients),
- ``newpat``: for every activation call j (forward order), how many activation patterns
  first appear in call j, so that Psi of any band end is a prefix sum,
- zico, swap, reg_swap, meco, nwot (library proxies on the same pass),
- the library's own lswag for band None and (90, 100), to check the derivation.

Every band variant (Lambda, Psi, Lambda x Psi) is then derived from the cached vectors.
The band is calibrated per METHOD.md on random architectures of the space (cached too).

    python benchmarks/lswag_nb201.py --tasks cifar10 --n-cells 724   # score (resumable)
    python benchmarks/lswag_nb201.py --report-only                  # write the results
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

NEW_PROXIES = ("zico", "swap", "reg_swap", "meco", "nwot")
CELL_COLS = [
    "task",
    "arch",
    "seed",
    "logsig",
    "newpat",
    *NEW_PROXIES,
    "lib_lswag_all",
    "lib_lswag_b90",
    "errors",
    "seconds",
]
CAL_COLS = ["task", "arch", "seed", "logsig", "error", "seconds"]
PAPER = {"cifar10": 0.79, "cifar100": 0.83, "imagenet16-120": 0.80}
FIXED_BANDS = [(90.0, 100.0), (80.0, 100.0), (50.0, 100.0), (0.0, 50.0)]
THRESHOLD = 0.9  # choose_band's default


def cells_cache() -> C.CellCache:
    return C.CellCache(C.CACHE / "lswag_cells.csv", CELL_COLS, ["task", "arch"])


def cal_cache() -> C.CellCache:
    return C.CellCache(C.CACHE / "lswag_calibration.csv", CAL_COLS, ["task", "arch"])


# ------------------------------------------------------------------------ raw quantities


def new_patterns_per_call(npass) -> np.ndarray:
    """Number of activation patterns that first appear in each activation call.

    ``cumsum(result)[c - 1]`` is the number of distinct patterns over calls ``0..c-1``,
    i.e. the library's ``distinct_patterns`` for any upper end selecting those calls.
    """
    from libranas.proxies.swap import unit_patterns

    packed = unit_patterns(npass)
    if not packed:
        return np.zeros(0)
    rows = np.concatenate(packed, axis=0)
    pad = (-rows.shape[1]) % 8
    if pad:
        rows = np.pad(rows, ((0, 0), (0, pad)))
    words = np.ascontiguousarray(rows).view(np.uint64)
    call = np.repeat(np.arange(len(packed)), [p.shape[0] for p in packed])
    if words.shape[1] == 1:
        _, first = np.unique(words[:, 0], return_index=True)
    else:
        _, first = np.unique(words, axis=0, return_index=True)
    return np.bincount(call[first], minlength=len(packed)).astype(float)


def score_cell(arch: str, task: C.Task, x, y, chunk: int) -> dict:
    import torch

    from libranas.proxies import get_proxy
    from libranas.proxies._engine import NetworkPass
    from libranas.proxies.lswag import layer_log_sigma, lswag

    seed = C.init_seed(arch)
    start = time.perf_counter()
    model = C.build(arch, task.num_classes, seed)
    # vmap pinned: the cache was started with it (the hooks path gives the same values)
    npass = NetworkPass(
        model, x, y, seed=seed, options={"per_sample_chunk": chunk, "per_sample_impl": "vmap"}
    )
    row: dict = {"task": task.name, "arch": arch, "seed": seed}
    errors = []

    def attempt(key, func):
        try:
            value = func()
        except Exception as exc:  # noqa: BLE001 - recorded per cell
            errors.append(f"{key}: {type(exc).__name__}: {exc}")
            return float("nan")
        if isinstance(value, float) and not math.isfinite(value):
            errors.append(f"{key}: non-finite {value}")
            return float("nan")
        return value

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        row["logsig"] = attempt("logsig", lambda: np.asarray(layer_log_sigma(npass)))
        row["newpat"] = attempt("newpat", lambda: new_patterns_per_call(npass))
        for name in NEW_PROXIES:
            row[name] = attempt(name, lambda n=name: float(get_proxy(n).func(npass)))
        npass.options["lswag_band"] = None
        row["lib_lswag_all"] = attempt("lib_lswag_all", lambda: float(lswag(npass)))
        npass.options["lswag_band"] = (90.0, 100.0)
        row["lib_lswag_b90"] = attempt("lib_lswag_b90", lambda: float(lswag(npass)))
    row["errors"] = " | ".join(errors)
    row["seconds"] = round(time.perf_counter() - start, 3)
    return row


def calibrate_cell(arch: str, task: C.Task, x, y, chunk: int) -> dict:
    import torch

    from libranas.proxies._engine import NetworkPass
    from libranas.proxies.lswag import layer_log_sigma

    seed = C.init_seed(arch)
    start = time.perf_counter()
    model = C.build(arch, task.num_classes, seed)
    # vmap pinned: the cache was started with it (the hooks path gives the same values)
    npass = NetworkPass(
        model, x, y, seed=seed, options={"per_sample_chunk": chunk, "per_sample_impl": "vmap"}
    )
    row = {"task": task.name, "arch": arch, "seed": seed, "error": ""}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        try:
            row["logsig"] = np.asarray(layer_log_sigma(npass))
        except Exception as exc:  # noqa: BLE001
            row["logsig"], row["error"] = "", f"{type(exc).__name__}: {exc}"
    row["seconds"] = round(time.perf_counter() - start, 3)
    return row


def calibration_archs(n: int) -> list[str]:
    """The random architectures ProxyFeaturizer(random_state=0) calibrates on."""
    from libranas.spaces import get_space

    space = get_space("nb201")
    rng = np.random.default_rng([C.INIT_SEED, 1])
    return [space.validate(a) for a in space.sample(n, rng)]


def run(args: argparse.Namespace) -> None:
    C.setup_torch(args.threads)
    cache, cal = cells_cache(), cal_cache()
    deadline = time.time() + 60 * args.max_minutes if args.max_minutes else None
    for task in C.parse_tasks(args.tasks):
        x, y = C.load_batch(task)
        done = cal.done()
        archs = calibration_archs(args.n_calibration)
        for i, arch in enumerate(archs):
            if (task.name, arch) in done:
                continue
            row = calibrate_cell(arch, task, x, y, args.per_sample_chunk)
            cal.append(row)
            print(f"[cal {task.name}] {i + 1}/{len(archs)} {row['seconds']:.1f}s", flush=True)
        bench = C.load_table(task)
        order = C.cell_order(bench.X.index)[: args.n_cells]
        done = cache.done()
        todo = [a for a in order if (task.name, a) not in done]
        print(f"[{task.name}] {len(order) - len(todo)} cached, {len(todo)} to score", flush=True)
        for i, arch in enumerate(todo):
            if deadline and time.time() > deadline:
                print("deadline reached; stopping (resume later)", flush=True)
                return
            row = score_cell(arch, task, x, y, args.per_sample_chunk)
            cache.append(row)
            err = f" ERR {row['errors']}" if row["errors"] else ""
            print(f"[{task.name}] {i + 1}/{len(todo)} {row['seconds']:.1f}s{err}", flush=True)


# ------------------------------------------------------------------------ derived variants


def lam(logsig: np.ndarray, band) -> float:
    """Lambda of a band, with the library's rule for an empty band (nearest layer)."""
    from libranas.proxies.lswag import band_layers

    if logsig.size == 0:
        return float("nan")
    v = logsig[band_layers(logsig.size, band)]
    v = v[~np.isnan(v)]
    return float(v.sum()) if v.size else float("nan")


def psi(newpat: np.ndarray, band) -> float:
    if newpat.size == 0:
        return float("nan")
    hi = 100.0 if band is None else float(band[1])
    n_calls = newpat.size
    keep = 100 * np.arange(n_calls) < hi * n_calls
    return float(newpat[keep].sum()) if keep.any() else float("nan")


def band_name(band) -> str:
    return "all layers" if band is None else f"[{band[0]:g}, {band[1]:g})"


def derive(df: pd.DataFrame, bands: list) -> pd.DataFrame:
    """Columns lambda|psi|lswag @ band for every band, one row per cell."""
    ls = [C.parse_vec(v) for v in df["logsig"]]
    nps = [C.parse_vec(v) for v in df["newpat"]]
    out = {}
    for band in bands:
        b = band_name(band)
        la = np.array([lam(v, band) for v in ls])
        ps = np.array([psi(v, band) for v in nps])
        out[f"lambda {b}"] = la
        out[f"psi {b}"] = ps
        out[f"lswag {b}"] = la * ps
    return pd.DataFrame(out, index=df.index)


def calibration(task: str, n_max: int | None):
    from libranas.proxies.lswag import choose_band, depth_profile

    df = cal_cache().load()
    df = df[df["task"] == task]
    if n_max:
        order = calibration_archs(n_max)
        df = df[df["arch"].isin(order)]
    vals = [
        C.parse_vec(v)
        for v, e in zip(
            df["logsig"], df["error"].astype(object).where(df["error"].notna(), ""), strict=False
        )
        if not e
    ]
    vals = [v for v in vals if v.size]
    if not vals:
        return None, None, 0
    prof = depth_profile(vals)
    return prof, choose_band(prof, THRESHOLD), len(vals)


def _rank_row(score, acc, boot: bool) -> dict:
    rho, n = C.spearman(score, acc)
    row = {"n": n, "rho": rho, "tau": C.kendall(score, acc)}
    if boot:
        sd, lo, hi = C.bootstrap_rho(score, acc)
        row.update(boot_sd=sd, ci_lo=lo, ci_hi=hi)
    return row


def libra_side_by_side(task: C.Task, joined: pd.DataFrame, acc: pd.Series, new_cols: list[str]):
    from libranas.datasets import Benchmark
    from libranas.evaluation import evaluate_benchmark, summarize

    table_cols = [c for c in joined.columns if c not in new_cols]
    methods = ["best-proxy", "libra+rank-mean", "libra+xgboost", "xgboost-all"]
    res = {}
    for label, cols in (("table (12)", table_cols), ("table + new (19)", table_cols + new_cols)):
        bench = Benchmark(f"nb201-{task.name}-scored", "nb201", task.name, joined[cols], acc)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            raw = evaluate_benchmark(bench, n_labelled=100, seeds=range(10), methods=methods)
        res[label] = summarize(raw).set_index("method")
    return res


def report(args: argparse.Namespace) -> None:
    df = cells_cache().load()
    tasks = [t for t in C.TASKS.values() if (df["task"] == t.name).any()]
    lines = [
        "# L-SWAG on NAS-Bench-201: correlation, ablation, other new proxies, LIBRA",
        "",
        f"Generated by `python benchmarks/lswag_nb201.py --report-only` (git {C.code_version()}) "
        f"from the per-cell cache `benchmarks/data/lswag_cells.csv`; "
        f"CPU: {C.cpu_name()}.",
        "",
        "## Protocol",
        "- Benchmark: NAS-Bench-Suite-Zero NB201 tables (`load_benchmark('nb201-<task>')`), "
        "target = the table's validation accuracy. Cells: the table's cells in a fixed random "
        f"order (seed {C.ORDER_SEED}); the first n of that order were scored (n per task below), "
        "so the scored cells are a uniform random subset of the table.",
        f"- One initialisation per cell: seed `arch_seed(cell, {C.INIT_SEED})` "
        "(ProxyFeaturizer's rule), PyTorch default init, network in training mode (BatchNorm "
        "with batch statistics).",
        "- Batch: " + "; ".join(f"{t.name}: {t.describe_batch()}" for t in tasks) + ".",
        "- Lambda: exact per-sample gradients (torch.func vmap, chunks of "
        f"{args.per_sample_chunk} samples; the chunk size does not change the values), "
        "BatchNorm fixed to the whole-batch statistics (libranas' per-sample semantics). "
        "Psi: distinct binary patterns over the batch of all ReLU units of the activation "
        "calls up to the band's end. L-SWAG = Lambda x Psi. Variants are derived from the "
        "cached per-layer / per-call vectors; the derivation is checked against the library's "
        "`lswag` for two bands (below).",
        "- Band calibration (METHOD.md): per task, random NB201 architectures (the ones "
        "ProxyFeaturizer(random_state=0) draws, not the evaluated cells), per-layer log sigma, "
        f"10 depth bins, mean over networks, band = `choose_band(profile, threshold={THRESHOLD})` "
        "(the largest run of bins around the peak with min-max-scaled value >= 0.9).",
        "- Numbers: Spearman rho and Kendall tau with validation accuracy over the n cells; "
        "spread = standard deviation of rho over 1000 bootstrap resamples of the cells "
        "(and its 95% percentile interval). One init seed per cell (no seed spread).",
        "- Cells on which a proxy fails (e.g. a cell whose output is disconnected from its "
        "input: every gradient is 0, Lambda and ZiCo are undefined) are left out of that "
        "proxy's row; the main comparison uses the cells where every compared score is "
        "finite (counts given).",
        "",
    ]
    summary_rows = []
    for task in tasks:
        bench = C.load_table(task)
        d = df[df["task"] == task.name].set_index("arch")
        d = d.loc[[a for a in C.cell_order(bench.X.index) if a in d.index]]
        acc = bench.y.loc[d.index]
        prof, cal_band, n_cal = calibration(task.name, args.n_calibration)
        # profile of the evaluated cells themselves (cross-check, free)
        from libranas.proxies.lswag import choose_band, depth_profile

        own = [C.parse_vec(v) for v in d["logsig"]]
        own = [v for v in own if v.size]
        own_prof = depth_profile(own) if own else None
        bands = [None] + ([cal_band] if cal_band is not None else []) + FIXED_BANDS
        bands += [(10.0 * k, 10.0 * k + 10) for k in range(10)]
        bands = list(dict.fromkeys(bands))
        der = derive(d, bands)
        # check the derivation against the library on the cached cells
        chk = []
        for col, lib in (
            ("lswag all layers", "lib_lswag_all"),
            ("lswag [90, 100)", "lib_lswag_b90"),
        ):
            a, b = der[col].to_numpy(), d[lib].to_numpy(dtype=float)
            ok = np.isfinite(a) & np.isfinite(b)
            rel = np.abs(a[ok] - b[ok]) / np.maximum(np.abs(b[ok]), 1e-300)
            chk.append((col, int(ok.sum()), float(rel.max()) if ok.any() else float("nan")))
        cb = band_name(cal_band) if cal_band is not None else None
        main = {
            f"L-SWAG, calibrated band {cb}" if cb else None: der.get(f"lswag {cb}") if cb else None,
            "L-SWAG, all layers": der["lswag all layers"],
            "ZiCo (per-sample)": d["zico"],
            "SWAP (= Psi, all layers)": d["swap"],
            "reg-SWAP": d["reg_swap"],
            "MeCo": d["meco"],
            "NWOT (ours)": d["nwot"],
            "NWOT (table)": bench.X.loc[d.index, "nwot"],
            "params (table)": bench.X.loc[d.index, "params"],
        }
        main = {k: v for k, v in main.items() if k is not None}
        common = np.ones(len(d), bool)
        for v in main.values():
            common &= np.isfinite(np.asarray(v, dtype=float))
        n_fail = int((d["errors"].astype(object).where(d["errors"].notna(), "") != "").sum())
        lines += [
            f"## {task.name} ({task.benchmark})",
            "",
            f"Scored cells: {len(d)} of {len(bench)}; cells with a failed proxy: {n_fail}; "
            f"cells where every score of the main table is finite: {int(common.sum())}. "
            f"Median seconds per cell (all quantities, one shared pass, "
            f"{args.threads_note}): {d['seconds'].median():.1f}.",
            "",
            "### Band calibration",
            f"Profile (mean per-layer log sigma by depth decile, {n_cal} random architectures): "
            + (", ".join(C.fmt(v, 2) for v in prof) if prof is not None else "n/a")
            + f" -> band **{band_name(cal_band) if cal_band is not None else 'n/a'}**."
            + (
                " The profile rises monotonically with depth: there is no interior spike, so "
                "the band is the deepest bins above the threshold (the per-layer term sums "
                "1/sigma over the layer's weights, so wider, deeper layers weigh more)."
                if prof is not None and np.all(np.diff(prof[np.isfinite(prof)]) > 0)
                else ""
            ),
            "",
            f"Same profile over the {len(own)} evaluated cells (cross-check): "
            + (", ".join(C.fmt(v, 2) for v in own_prof) if own_prof is not None else "n/a")
            + (
                f" -> band {band_name(choose_band(own_prof, THRESHOLD))}."
                if own_prof is not None
                else "."
            ),
            "",
            "### Main comparison (same cells for every row)",
            "",
            "| score | n | rho | tau | bootstrap sd | 95% interval | paper |",
            "|---|---|---|---|---|---|---|",
        ]
        for label, score in main.items():
            s = np.asarray(score, float)[common]
            r = _rank_row(s, acc.to_numpy()[common], boot=True)
            paper = f"{PAPER[task.name]:.2f}" if label.startswith("L-SWAG, calibrated") else ""
            lines.append(
                f"| {label} | {r['n']} | {C.fmt(r['rho'])} | {C.fmt(r['tau'])} | "
                f"{C.fmt(r['boot_sd'])} | [{C.fmt(r['ci_lo'])}, {C.fmt(r['ci_hi'])}] | {paper} |"
            )
            summary_rows.append({"task": task.name, "score": label, **r})
        if cb:
            d_rho, d_sd, d_lo, d_hi = paired_rho_difference(
                np.asarray(main["L-SWAG, all layers"], float)[common],
                np.asarray(main[f"L-SWAG, calibrated band {cb}"], float)[common],
                acc.to_numpy()[common],
            )
            lines += [
                "",
                f"All layers minus calibrated band {cb}: rho difference {d_rho:+.3f}, paired "
                f"bootstrap sd {d_sd:.3f}, 95% interval [{d_lo:+.3f}, {d_hi:+.3f}] (1000 "
                "resamples of the cells, both scores on the same resample).",
            ]
            summary_rows.append(
                {
                    "task": task.name,
                    "score": "paired all-minus-calibrated",
                    "n": int(common.sum()),
                    "rho": d_rho,
                    "boot_sd": d_sd,
                    "ci_lo": d_lo,
                    "ci_hi": d_hi,
                }
            )
        lines += [
            "",
            "### Ablation (Lambda only, Psi only, Lambda x Psi per band)",
            "",
            "Cells: those of the main comparison. A band can hold no weight layer of a shallow "
            "cell (a cell without convolutions has 8 weight layers, and 100 * 7 / 8 = 87.5 < 90, "
            "so the last decile is empty); Lambda then uses the nearest layer, as the library "
            "does by default (`lswag_empty_band='nearest'`). The cached `lib_lswag_b90` values "
            "were computed before that rule (NaN there), so the derivation check skips them.",
            "",
            "| band | n | Lambda rho | Psi rho | L-SWAG rho | L-SWAG tau |",
            "|---|---|---|---|---|---|",
        ]
        for band in bands:
            b = band_name(band)
            la, ps, lw = der[f"lambda {b}"], der[f"psi {b}"], der[f"lswag {b}"]
            ok = common & np.isfinite(la) & np.isfinite(ps)
            tag = " (calibrated)" if band == cal_band else ""
            ra = C.spearman(la[ok], acc[ok])[0]
            rp = C.spearman(ps[ok], acc[ok])[0]
            rl, n = C.spearman(lw[ok], acc[ok])
            tl = C.kendall(lw[ok], acc[ok])
            lines.append(
                f"| {b}{tag} | {n} | {C.fmt(ra)} | {C.fmt(rp)} | {C.fmt(rl)} | {C.fmt(tl)} |"
            )
            summary_rows.append(
                {
                    "task": task.name,
                    "score": f"ablation {b}",
                    "n": n,
                    "rho": rl,
                    "tau": tl,
                    "lambda_rho": ra,
                    "psi_rho": rp,
                }
            )
        lines += [
            "",
            "Derivation check (derived vs the library's `lswag` on the same cells): "
            + "; ".join(f"{c}: {n} cells, max relative difference {m:.1e}" for c, n, m in chk)
            + ".",
            "",
        ]
        # ---------------------------------------------------------------- LIBRA
        if cal_band is not None and len(d) >= 150:
            new = pd.DataFrame(
                {
                    "lswag": der[f"lswag {cb}"],
                    "lswag_lambda": der[f"lambda {cb}"],
                    "lswag_psi": der[f"psi {cb}"],
                    "zico": d["zico"],
                    "swap": d["swap"],
                    "reg_swap": d["reg_swap"],
                    "meco": d["meco"],
                },
                index=d.index,
            )
            joined = pd.concat([bench.X.loc[d.index], new], axis=1)
            res = libra_side_by_side(task, joined, acc, list(new.columns))
            a, b = res["table (12)"], res["table + new (19)"]
            lines += [
                "### LIBRA with and without the new proxies",
                "",
                f"`evaluate_benchmark` protocol on the {len(d)} scored cells: 10 seeds, 100 "
                f"labelled cells per seed (selection / fitting), rho and tau on the other "
                f"{len(d) - 100}; paper-in-sample = LIBRA selection with all {len(d)} labels, "
                "rank-mean, evaluated in sample. New columns: lswag, lswag_lambda, lswag_psi "
                f"(band {cb}), zico, swap, reg_swap, meco. A failed proxy is NaN in its cell.",
                "",
                "| method | 12 table proxies: rho / tau | + 7 new: rho / tau | selected "
                "(most frequent, 12 -> 19) |",
                "|---|---|---|---|",
            ]
            for m in a.index:
                ca = _cell(a.loc[m], m)
                cn = _cell(b.loc[m], m)
                lines.append(
                    f"| {m} | {ca} | {cn} | {a.loc[m, 'selected']} -> {b.loc[m, 'selected']} |"
                )
                for lab, r in (("table", a.loc[m]), ("table+new", b.loc[m])):
                    summary_rows.append(
                        {
                            "task": task.name,
                            "score": f"libra {lab} {m}",
                            "n": len(d),
                            "rho": r["rho_mean"],
                            "tau": r["tau_mean"],
                            "boot_sd": r["rho_std"],
                        }
                    )
            lines.append("")
        elif len(d) < 150:
            lines += ["LIBRA comparison skipped: fewer than 150 scored cells.", ""]
    C.write_results(C.RESULTS / "lswag_nb201.csv", pd.DataFrame(summary_rows).to_csv(index=False))
    lines += reading(pd.DataFrame(summary_rows))
    C.write_results(C.RESULTS / "lswag_nb201.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


def _cell(r: pd.Series, method: str) -> str:
    if method == "paper-in-sample":
        return f"{r['rho_mean']:.3f} / {r['tau_mean']:.3f}"
    return f"{r['rho_mean']:.3f}±{r['rho_std']:.3f} / {r['tau_mean']:.3f}±{r['tau_std']:.3f}"


def paired_rho_difference(
    a: np.ndarray, b: np.ndarray, y: np.ndarray, n_boot: int = 1000, seed: int = 0
) -> tuple[float, float, float, float]:
    """rho(a, y) - rho(b, y), and its sd / 95% interval over paired bootstrap resamples."""
    from scipy.stats import spearmanr

    diff = spearmanr(a, y).statistic - spearmanr(b, y).statistic
    rng = np.random.default_rng(seed)
    out = np.empty(n_boot)
    for k in range(n_boot):
        idx = rng.integers(0, y.size, y.size)
        out[k] = spearmanr(a[idx], y[idx]).statistic - spearmanr(b[idx], y[idx]).statistic
    return (
        float(diff),
        float(np.std(out)),
        float(np.percentile(out, 2.5)),
        float(np.percentile(out, 97.5)),
    )


def reading(s: pd.DataFrame) -> list[str]:
    """Reading generated from the numbers (every sentence is conditioned on them)."""
    out = ["## Reading (generated from the numbers above)", ""]
    for task, part in s.groupby("task", sort=False):
        part = part.set_index("score")
        cal = [k for k in part.index if k.startswith("L-SWAG, calibrated")]
        if not cal:
            continue
        r = part.loc[cal[0]]
        paper = PAPER[task]
        gap = r["rho"] - paper
        within = abs(gap) <= 2 * r["boot_sd"]
        out.append(
            f"- {task}: L-SWAG with the calibrated band gives rho {r['rho']:.3f} "
            f"(bootstrap sd {r['boot_sd']:.3f}) on {int(r['n'])} cells vs the paper's {paper:.2f}: "
            + (
                "within two bootstrap sd of it."
                if within
                else f"{gap:+.3f}, outside two bootstrap sd."
            )
        )
        alls = part.loc["L-SWAG, all layers", "rho"]
        out.append(
            f"  The band {'helps' if r['rho'] > alls + 0.005 else 'does not help' if r['rho'] < alls - 0.005 else 'changes little'} "
            f"(all layers: {alls:.3f})"
            + (
                f"; paired difference all - calibrated {part.loc['paired all-minus-calibrated', 'rho']:+.3f}, "
                f"95% interval [{part.loc['paired all-minus-calibrated', 'ci_lo']:+.3f}, "
                f"{part.loc['paired all-minus-calibrated', 'ci_hi']:+.3f}]."
                if "paired all-minus-calibrated" in part.index
                else "."
            )
        )
        others = {
            k: part.loc[k, "rho"]
            for k in part.index
            if not k.startswith(("L-SWAG", "ablation", "libra", "paired"))
        }
        best = max(others, key=others.get)
        out.append(
            f"  Best other single score on the same cells: {best} ({others[best]:.3f}); "
            + (
                "L-SWAG beats it."
                if r["rho"] > others[best]
                else "it is at least as good as L-SWAG here."
            )
        )
        abl = part[part.index.str.startswith("ablation")]
        if len(abl):
            b = abl["rho"].idxmax()
            out.append(
                f"  Best band in the ablation: {b[len('ablation ') :]} (rho {abl.loc[b, 'rho']:.3f}); "
                f"Psi alone over all layers {part.loc['ablation all layers', 'psi_rho']:.3f}, "
                f"Lambda alone over all layers {part.loc['ablation all layers', 'lambda_rho']:.3f}."
            )
        lt = [k for k in part.index if k.startswith("libra table ") and "paper" not in k]
        for k in lt:
            m = k[len("libra table ") :]
            a, b = part.loc[k, "rho"], part.loc[f"libra table+new {m}", "rho"]
            sd = max(part.loc[k, "boot_sd"], part.loc[f"libra table+new {m}", "boot_sd"])
            verdict = (
                "up"
                if b - a > sd
                else "down"
                if a - b > sd
                else "about the same (within one seed sd)"
            )
            out.append(f"  LIBRA {m}: {a:.3f} -> {b:.3f} with the new proxies: {verdict}.")
        k = "libra table paper-in-sample"
        if k in part.index:
            out.append(
                f"  paper-in-sample: {part.loc[k, 'rho']:.3f} -> "
                f"{part.loc['libra table+new paper-in-sample', 'rho']:.3f}."
            )
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--tasks", nargs="+", default=["cifar10", "cifar100", "imagenet16-120"])
    p.add_argument("--n-cells", type=int, default=None, help="cells per task (default: all)")
    p.add_argument("--n-calibration", type=int, default=30, help="random archs for the band")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--per-sample-chunk", type=int, default=32)
    p.add_argument("--max-minutes", type=float, default=None, help="stop scoring after this")
    p.add_argument("--report-only", action="store_true")
    p.add_argument("--no-report", action="store_true")
    args = p.parse_args()
    args.threads_note = f"{args.threads} torch thread(s)"
    if not args.report_only:
        run(args)
    if not args.no_report:
        report(args)


if __name__ == "__main__":
    main()
