"""Every zero-cost proxy on two ViT spaces: AutoFormer-Tiny (100 trained subnets) and PiT.

AutoFormer-Tiny: the 100 Auto-Prox subnets of ``gt_autoformer.json`` with their 7 targets.
The proxies that ``benchmarks/lswag_autoformer.py`` already scored (its cache
``results/lswag_autoformer.csv``: same batch, seed, band and settings) are reused; only the
proxies registered since (AZ-NAS, VKDNW) are computed here, under the same settings
(``benchmarks/data/lswag_vit_autoformer.csv``, resumable). ``reg_swap`` is reported twice: with
NAS-Bench-201's prior (mu = sigma = 1.5 M, the cached column) and with the space's own prior
(``AutoFormerSpace.size_prior()``), recomputed exactly from the cached ``swap`` and
``params`` (reg_swap = swap * exp(-(params_M - mu)^2 / sigma)).

PiT (the Auto-Prox PiT space, ``get_space("pit", img_size=32, num_classes=100)``): no ground
truth is available here, so the report gives the cost per network, how many networks each
proxy scores finitely, and each proxy's agreement (Spearman) with parameters and FLOPs.
Before scoring, the space's L-SWAG band is calibrated once (``ProxyFeaturizer(lswag_band=
"auto")`` on random PiTs) and stored in ``libranas/spaces/data/pit_band.json``.

Both spaces are scored at 32 px on ONE CIFAR-100 batch of 32 images
(``load_image_batch(..., random_state=0)``), seed 0, one torch thread.

    nohup nice .venv/bin/python benchmarks/lswag_vit.py all > /tmp/lswag_vit.log 2>&1 &

Steps: ``calibrate-pit``, ``score-pit``, ``score-autoformer``, ``report`` (``all``: in order;
each resumes from its outputs).
"""

from __future__ import annotations

import csv
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = C.RESULTS
CACHE = C.CACHE
AF_CACHE = OUT / "lswag_autoformer.csv"
AF_EXTRA = CACHE / "lswag_vit_autoformer.csv"
PIT_CSV = CACHE / "lswag_vit_pit.csv"


def _shown(path: Path) -> str:
    """A cache path as the report names it: relative to the repository when inside it
    (``--scratch`` and ``$LIBRANAS_BENCH_CACHE`` may point elsewhere)."""
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


REPORT = OUT / "lswag_vit.md"
PIT_BAND = ROOT / "libranas" / "spaces" / "data" / "pit_band.json"
GT = C.AUTOFORMER_GT
IMAGES = C.DATA / "images" / "cifar100_960_uint8.npz"

IMG, CLASSES, BATCH, SEED = 32, 100, 32, 0
N_PIT, N_CALIBRATION = 100, 20
#: proxies not computed on AutoFormer: one network took 292 s (vkdnw + vkdnw_single together,
#: batch 32, one thread, shared CPU) against 9 s for the four AZ-NAS proxies; 100 networks
#: would take about 8 hours here
AF_SKIP = ("vkdnw", "vkdnw_single")
AF_SKIP_NOTE = "292 s per network on this shared CPU, about 8 h for the 100"
TARGETS = C.AUTOFORMER_TARGETS


def batch() -> tuple[np.ndarray, np.ndarray]:
    from libranas.datasets import load_image_batch

    return load_image_batch(IMAGES, n=BATCH, random_state=SEED)


def pit_space():
    from libranas.spaces import get_space

    return get_space("pit", img_size=IMG, num_classes=CLASSES)


def af_space():
    from libranas.spaces import get_space

    return get_space("autoformer-tiny", img_size=IMG, patch_size=4, num_classes=CLASSES)


def _append(path: Path, row: dict) -> None:
    new = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(row))
        if new:
            writer.writeheader()
        writer.writerow(row)


def _done(path: Path) -> set[int]:
    return set(pd.read_csv(path)["index"].tolist()) if path.exists() else set()


# ------------------------------------------------------------------------- PiT band
def calibrate_pit() -> None:
    from libranas import ProxyFeaturizer

    space = pit_space()
    if space.lswag_band() is not None:
        print(f"pit band stored: {space.lswag_band()}")
        return
    x, y = batch()
    feat = ProxyFeaturizer(
        space=space,
        proxies=["lswag"],
        data=(x, y),
        batch_size=BATCH,
        lswag_band="auto",
        n_calibration=N_CALIBRATION,
        random_state=SEED,
        device="cpu",
    ).fit()
    record = {
        "img_size": space.img_size,
        "patch_size": space.patch_size,
        "stride": space.stride,
        "num_classes": CLASSES,
        "batch_size": BATCH,
        "data": IMAGES.name,
        "n_archs": N_CALIBRATION,
        "seed": SEED,
        "profile": [round(float(v), 6) for v in feat.lswag_profile_],
        "band": [float(v) for v in feat.lswag_band_],
        "seconds": round(float(feat.calibration_seconds_), 1),
    }
    PIT_BAND.write_text(
        json.dumps(
            {
                "description": (
                    "L-SWAG layer band per PiT setting: ProxyFeaturizer(lswag_band='auto', "
                    "n_calibration=n_archs, random_state=seed) on random PiTs at "
                    "initialisation (mean per-layer log sigma by depth decile, band = the "
                    "spike). Written by benchmarks/lswag_vit.py."
                ),
                "records": [record],
            },
            indent=1,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"pit band {record['band']} in {record['seconds']} s")
    from libranas.spaces import pit

    pit._band_records.cache_clear()  # read the file just written


# ------------------------------------------------------------------------- scoring
def _score_rows(space, archs, indices, proxies, band, path: Path) -> None:
    from libranas import ProxyFeaturizer

    x, y = batch()
    feat = ProxyFeaturizer(
        space=space,
        proxies=proxies,
        data=(x, y),
        batch_size=BATCH,
        lswag_band=band,
        random_state=SEED,
        device="cpu",
    ).fit()
    done = _done(path)
    for i in indices:
        if i in done:
            continue
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            row = feat.transform([archs[i]])[0]
        seconds = time.perf_counter() - start
        arch = archs[i]
        record = {
            "index": i,
            "arch": json.dumps(arch.to_dict()),
            "seconds": round(seconds, 2),
            **{p: float(v) for p, v in zip(proxies, row, strict=True)},
            "errors": " | ".join(str(w.message)[:200] for w in caught),
        }
        _append(path, record)
        print(f"{path.name} {i}: {seconds:.1f} s", flush=True)


def score_pit() -> None:
    from libranas.proxies import list_proxies

    space = pit_space()
    archs = space.sample(N_PIT, random_state=SEED)
    band = space.lswag_band()
    if band is None:
        raise SystemExit("run calibrate-pit first (no stored PiT band)")
    _score_rows(space, archs, range(N_PIT), list_proxies(), band, PIT_CSV)


AZ_PROXIES = ("az_expressivity", "az_progressivity", "az_trainability", "az_complexity")


def rescore_pit_az() -> None:
    """Recompute the AZ-NAS columns of every cached PiT row with the current library.

    The first 59 rows were scored before az_trainability learnt to skip the blocks it cannot
    pair (PiT's pooling changes the width), so their az_trainability failed; the four az_*
    columns are recomputed for all rows (same batch, seed and band), the other columns are
    kept, and the number of changed values is printed.
    """
    from libranas import ProxyFeaturizer

    space = pit_space()
    archs = space.sample(N_PIT, random_state=SEED)
    df = pd.read_csv(PIT_CSV)
    x, y = batch()
    feat = ProxyFeaturizer(
        space=space,
        proxies=list(AZ_PROXIES),
        data=(x, y),
        batch_size=BATCH,
        lswag_band=space.lswag_band(),
        random_state=SEED,
        device="cpu",
    ).fit()
    new = np.full((len(df), len(AZ_PROXIES)), np.nan)
    for k, i in enumerate(df["index"]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            new[k] = feat.transform([archs[int(i)]])[0]
        print(f"az {i}: {new[k].round(4).tolist()}", flush=True)
    for j, p in enumerate(AZ_PROXIES):
        old = df[p].to_numpy(float)
        same = np.isclose(old, new[:, j], rtol=1e-5) | (np.isnan(old) & np.isnan(new[:, j]))
        print(f"{p}: {int((~same).sum())} of {len(df)} values changed", flush=True)
        df[p] = new[:, j]
    # the az_trainability failure messages of the old rows no longer apply
    df["errors"] = [
        " | ".join(m for m in str(e).split(" | ") if "az_trainability" not in m)
        if isinstance(e, str)
        else e
        for e in df["errors"]
    ]
    tmp = PIT_CSV.with_suffix(".tmp")
    df.to_csv(tmp, index=False)
    tmp.replace(PIT_CSV)


def score_autoformer() -> None:
    from libranas.proxies import list_proxies

    cached = pd.read_csv(AF_CACHE)
    missing = [p for p in list_proxies() if p not in cached.columns and p not in AF_SKIP]
    space = af_space()
    gt = json.loads(GT.read_text())
    archs = [space.validate(r["arch"]) for r in gt]
    print(f"autoformer: computing {missing} (cached: the others)")
    _score_rows(space, archs, cached["index"].tolist(), missing, space.lswag_band(), AF_EXTRA)


# ------------------------------------------------------------------------- report
def _rho(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    from libranas.metrics import kendall, spearman

    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or np.ptp(a[ok]) == 0:
        return float("nan"), float("nan")
    return float(spearman(b[ok], a[ok])), float(kendall(b[ok], a[ok]))


def report() -> None:
    from libranas.proxies import list_proxies

    proxies = list_proxies()
    lines = [
        "# Every zero-cost proxy on ViT spaces: AutoFormer-Tiny and PiT",
        "",
        f"Written by `benchmarks/lswag_vit.py report` (code version {C.code_version()}). "
        f"Batch: {BATCH} CIFAR-100 images (`{IMAGES.name}`, random_state={SEED}), 32 px, "
        "100-class heads, seed 0, one torch thread on a shared 2-core CPU.",
        "",
    ]
    # ---------------------------------------------------------------- AutoFormer
    af = pd.read_csv(AF_CACHE)
    cached_cols = set(af.columns)
    missing = [p for p in proxies if p not in cached_cols and p not in AF_SKIP]
    extra_note = ""
    if AF_EXTRA.exists():
        extra = pd.read_csv(AF_EXTRA)
        if set(af["index"]) <= set(extra["index"]):
            af = af.merge(extra.drop(columns=["arch", "seconds", "errors"]), on="index", how="left")
            extra_note = f", computed here ({_shown(AF_EXTRA)})"
        else:
            extra_note = (
                f": **not reported**, only {len(extra)} of {len(af)} networks scored "
                f"(median {extra['seconds'].median():.0f} s per network for these proxies on "
                "this shared CPU; `score-autoformer` resumes from "
                f"{_shown(AF_EXTRA)})"
            )
    space = af_space()
    mu, sigma = space.size_prior()
    af["reg_swap_space"] = af["swap"] * np.exp(-((af["params"] - mu) ** 2) / sigma)
    gt = json.loads(GT.read_text())
    Y = pd.DataFrame([{t: r[t] for t in TARGETS} for r in gt]).iloc[af["index"].to_numpy()]
    cols = [p for p in proxies if p in af.columns] + ["reg_swap_space"]
    lines += [
        f"## AutoFormer-Tiny: {len(af)} trained subnets (Auto-Prox `gt_autoformer.json`)",
        "",
        "Spearman rho of each proxy with each target (Kendall tau of the best per target in "
        "the last row). Reused from `results/lswag_autoformer.csv` (same batch and settings): "
        "every proxy but "
        + ", ".join(f"`{p}`" for p in missing)
        + f"{extra_note}. Not computed: "
        + ", ".join(f"`{p}`" for p in AF_SKIP)
        + f" ({AF_SKIP_NOTE}). `reg_swap` uses NAS-Bench-201's "
        f"prior (mu = sigma = 1.5 M); `reg_swap_space` the space's own prior "
        f"(`AutoFormerSpace.size_prior()` = ({mu:.2f}, {sigma:.2f}) M), recomputed from the "
        "cached `swap` and `params`. Targets: from-scratch (`base`) and distilled (`kd`) "
        "accuracy on CIFAR-100, Flowers-102, Chaoyang; ImageNet accuracy with supernet "
        "weights. All proxies are computed on CIFAR-100 images whatever the target.",
        "",
        "| proxy | " + " | ".join(TARGETS) + " | finite |",
        "|---" * (len(TARGETS) + 2) + "|",
    ]
    table = {}
    for p in cols:
        if p not in af.columns:
            continue
        z = af[p].to_numpy(dtype=float)
        table[p] = {t: _rho(z, Y[t].to_numpy(dtype=float)) for t in TARGETS}
        lines.append(
            f"| {p} | "
            + " | ".join(f"{table[p][t][0]:.3f}" for t in TARGETS)
            + f" | {int(np.isfinite(z).sum())} |"
        )
    best = {
        t: max(table, key=lambda p, t=t: np.nan_to_num(table[p][t][0], nan=-9)) for t in TARGETS
    }
    lines.append(
        "| best (tau) | "
        + " | ".join(f"{best[t]} ({table[best[t]][t][1]:.3f})" for t in TARGETS)
        + " | |"
    )
    lines.append("")
    # ---------------------------------------------------------------- PiT
    if PIT_CSV.exists():
        pit = pd.read_csv(PIT_CSV)
        ps = pit_space()
        band = ps.lswag_band()
        rec = json.loads(PIT_BAND.read_text())["records"][0] if PIT_BAND.exists() else {}
        secs = pit["seconds"].to_numpy()
        lines += [
            f"## PiT: {len(pit)} random architectures (no ground truth here)",
            "",
            *(
                [
                    f"Partial run: {len(pit)} of the {N_PIT} planned networks are scored "
                    f"(`score-pit` resumes from {_shown(PIT_CSV)}).",
                    "",
                ]
                if len(pit) < N_PIT
                else []
            ),
            f"`get_space('pit', img_size=32, num_classes=100)`: patch 8, stride 4 (a 7 x 7 "
            f"token grid, pooled to 4 x 4 and 2 x 2), {len(pit)} architectures of "
            f"`space.sample({N_PIT}, random_state={SEED})`, parameters "
            f"{pit['params'].min():.2f}-{pit['params'].max():.2f} M. L-SWAG band {band} "
            f"(stored in `libranas/spaces/data/pit_band.json`: calibrated on "
            f"{rec.get('n_archs', '?')} random PiTs in {rec.get('seconds', '?')} s). "
            f"reg-SWAP's prior: the space's (`PiTSpace.size_prior()` = "
            f"({ps.size_prior()[0]:.2f}, {ps.size_prior()[1]:.1f}) M).",
            "",
            f"Cost of every registered proxy together (one shared pass) per network: median "
            f"{np.median(secs):.1f} s, mean {secs.mean():.1f} s, max {secs.max():.1f} s "
            f"(total {secs.sum() / 60:.1f} min), wall time on a shared CPU.",
            "",
            "Spearman rho of each proxy with the parameter count and the FLOPs (both "
            "counted by the `params` / `flops` proxies), and the networks it scored finitely:",
            "",
            "| proxy | rho vs params | rho vs FLOPs | finite |",
            "|---|---|---|---|",
        ]
        for p in proxies:
            if p not in pit.columns:
                continue
            z = pit[p].to_numpy(dtype=float)
            rp = _rho(z, pit["params"].to_numpy(dtype=float))[0]
            rf = _rho(z, pit["flops"].to_numpy(dtype=float))[0]
            lines.append(f"| {p} | {rp:.3f} | {rf:.3f} | {int(np.isfinite(z).sum())}/{len(z)} |")
        errors = pit["errors"].dropna()
        if len(errors):
            lines += ["", f"Warnings on {len(errors)} networks, e.g.: `{errors.iloc[0][:300]}`"]
        lines.append("")
    C.write_results(REPORT, "\n".join(lines) + "\n")


def main() -> None:
    torch.set_num_threads(1)
    steps = {
        "calibrate-pit": calibrate_pit,
        "score-pit": score_pit,
        "rescore-pit-az": rescore_pit_az,
        "score-autoformer": score_autoformer,
        "report": report,
    }
    which = sys.argv[1] if len(sys.argv) > 1 else "all"
    if which == "all":
        for step in steps.values():
            step()
    elif which in steps:
        steps[which]()
    else:
        raise SystemExit(f"unknown step {which!r}; steps: all, {', '.join(steps)}")


if __name__ == "__main__":
    main()
