"""L-SWAG and the other zero-cost proxies on 100 trained AutoFormer-Tiny ViTs.

Data: the 100 AutoFormer-Tiny subnets of Auto-Prox (``gt_autoformer.json``: CIFAR-100,
Flowers-102 and Chaoyang accuracies trained from scratch and with distillation, plus
ImageNet accuracy with supernet weights). Every network is scored at initialisation
on ONE CIFAR-100 batch (32 images, ``load_image_batch(..., random_state=0)``), at 32 px
with patch 4 and a 100-class head, whatever the target task: the Flowers, Chaoyang and
ImageNet columns are ranked by proxies computed on CIFAR-100 images.

Steps (subcommands; ``all`` runs them in order, each resumes from its outputs):

- ``calibrate``: the L-SWAG band of the space (METHOD: N random autoformer-tiny networks
  at this resolution, per-layer log sigma, depth-decile profile, spike) ->
  ``libranas/spaces/data/autoformer_band.json``.
- ``profile``: seconds per proxy and peak memory of the full proxy set on one ViT.
- ``score``: the 100 networks with :class:`libranas.ProxyFeaturizer` (every registered
  proxy, the calibrated band), plus one extra :class:`NetworkPass` per network for the
  ablation (per-layer log sigma, Psi up to every depth decile); one CSV row per network,
  appended as it is done (``results/lswag_autoformer.csv``), so the run resumes.
- ``report``: Spearman / Kendall of every proxy vs every target, bootstrap CIs, the
  L-SWAG ablation, LIBRA and ZCRanker cross-validated -> ``results/lswag_autoformer.md``.

    nohup .venv/bin/python benchmarks/lswag_autoformer.py all > /tmp/lswag_autoformer.log &

``score --n-nets N --proxies P ... --csv NAME`` scores the first N networks with some proxies
into another file of the results folder (``python -m benchmarks run lswag_autoformer
--quick``: 2 networks, the L-SWAG family, zico and params, then the report on a copy of the
committed scores with fewer bootstrap resamples and splits).
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import resource
import subprocess
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
CSV = OUT / "lswag_autoformer.csv"
PROFILE = OUT / "lswag_autoformer_profile.json"
REPORT = OUT / "lswag_autoformer.md"
BAND_FILE = ROOT / "libranas" / "spaces" / "data" / "autoformer_band.json"
GT = C.AUTOFORMER_GT
IMAGES = C.DATA / "images" / "cifar100_960_uint8.npz"

IMG, PATCH, CLASSES, BATCH, SEED = 32, 4, 100, 32, 0
N_CALIBRATION = 30
TARGETS = C.AUTOFORMER_TARGETS
DECILES = list(range(10, 101, 10))
N_BOOT = 100 if C.QUICK else 1000  # bootstrap resamples of the networks (--quick: fewer)
CV_SEEDS = 2 if C.QUICK else 10  # random 50/50 splits of the cross-validation


def space():
    from libranas.spaces import get_space

    return get_space("autoformer-tiny", img_size=IMG, patch_size=PATCH, num_classes=CLASSES)


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    from libranas.datasets import load_image_batch

    x, y = load_image_batch(IMAGES, n=BATCH, random_state=SEED)
    return torch.as_tensor(x), torch.as_tensor(y)


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown CPU"
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    name = fields.get("Model name", "unknown").strip()
    return f"{name}, {fields.get('CPU(s)', '?').strip()} logical CPUs (lscpu)"


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------------- calibration
def calibrate() -> tuple[float, float]:
    from libranas.proxies._vit_calibration import calibrate_autoformer_band

    if BAND_FILE.exists():
        data = json.loads(BAND_FILE.read_text())
        for r in data["records"]:
            if (r["variant"], r["img_size"], r["patch_size"]) == ("tiny", IMG, PATCH):
                print(f"calibration: stored band {r['band']}", flush=True)
                return tuple(r["band"])
    x, y = batch()
    rec = calibrate_autoformer_band(
        "tiny",
        x,
        y,
        img_size=IMG,
        patch_size=PATCH,
        num_classes=CLASSES,
        n_archs=N_CALIBRATION,
        seed=SEED,
    )
    rec["data"] = f"{IMAGES.name}, load_image_batch(n={BATCH}, random_state={SEED})"
    data = {
        "description": (
            "L-SWAG layer band per AutoFormer setting: mean per-layer log sigma of gradients "
            "(layer_log_sigma) of n_archs random networks at initialisation, averaged per "
            "depth decile (depth_profile); band = choose_band(profile, threshold). Written by "
            "benchmarks/lswag_autoformer.py; load with "
            "libranas.proxies._vit_calibration.autoformer_band."
        ),
        "records": [rec],
    }
    BAND_FILE.write_text(json.dumps(data, indent=1) + "\n")
    print(f"calibration: band {rec['band']} in {rec['seconds']} s; profile {rec['profile']}")
    return tuple(rec["band"])


# ------------------------------------------------------------------------- profiling
def profile() -> None:
    """Seconds per proxy in one shared pass, peak RSS; per-sample impl A/B."""
    from libranas.proxies import get_proxy, list_proxies
    from libranas.proxies._engine import NetworkPass

    if PROFILE.exists():
        return
    torch.set_num_threads(1)
    x, y = batch()
    sp = space()
    arch = sp.sample(1, random_state=SEED)[0]
    torch.manual_seed(0)
    model = sp.build(arch)
    rss_model = maxrss_mb()
    npass = NetworkPass(model, x, y, seed=0, options={"lswag_band": None})
    seconds = {}
    t0 = time.perf_counter()
    for name in list_proxies():
        t = time.perf_counter()
        try:
            get_proxy(name).func(npass)
        except Exception as exc:  # noqa: BLE001 - reported
            seconds[f"error:{name}"] = f"{type(exc).__name__}: {exc}"
        seconds[name] = round(time.perf_counter() - t, 3)
    total = time.perf_counter() - t0
    rss_all = maxrss_mb()
    ab = {"vmap": [], "hooks": []}
    for _ in range(2):
        for impl in ab:
            c = time.process_time()
            _ = NetworkPass(model, x, y, options={"per_sample_impl": impl}).per_sample_grads
            ab[impl].append(round(time.process_time() - c, 2))
    res = {
        "cpu": cpu_name(),
        "torch_threads": torch.get_num_threads(),
        "arch": arch.to_dict(),
        "params_M": sum(p.numel() for p in model.parameters()) / 1e6,
        "batch": BATCH,
        "seconds_in_shared_pass_order": seconds,
        "total_seconds": round(total, 2),
        "maxrss_MB_after_build": round(rss_model, 1),
        "maxrss_MB_after_all_proxies": round(rss_all, 1),
        "per_sample_grads_cpu_seconds": ab,
    }
    PROFILE.write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps(res), flush=True)


# ------------------------------------------------------------------------- scoring
def _extra_pass(sp, arch, seed: int, x, y, band) -> dict:
    """Per-layer log sigma and Psi up to every depth decile (same weights as the featurizer)."""
    from libranas.proxies._engine import NetworkPass
    from libranas.proxies.lswag import layer_log_sigma
    from libranas.proxies.swap import distinct_patterns

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = sp.build(arch)
        npass = NetworkPass(model, x, y, seed=seed, options={"lswag_band": band})
        sig = layer_log_sigma(npass)
        psi = [distinct_patterns(npass, hi) for hi in DECILES]
    return {
        "layer_log_sigma": json.dumps([round(float(v), 8) for v in sig]),
        "psi_upto": json.dumps(psi),
        "per_sample_impl": npass.cache.get("per_sample_impl", ""),
    }


def score(
    band: tuple[float, float],
    n_nets: int | None = None,
    csv_path: Path = CSV,
    proxies: list[str] | None = None,
) -> None:
    """Score the first ``n_nets`` networks (all by default) with ``proxies`` (every registered
    one by default) into ``csv_path``, resuming."""
    from libranas.featurizer import ProxyFeaturizer, arch_seed
    from libranas.proxies import list_proxies

    torch.set_num_threads(1)
    records = json.loads(GT.read_text())[:n_nets]
    sp = space()
    x, y = batch()
    proxies = list(proxies) if proxies else list_proxies()
    feat = ProxyFeaturizer(
        sp,
        proxies=proxies,
        data=(x, y),
        batch_size=BATCH,
        device="cpu",
        lswag_band=band,
        random_state=SEED,
        n_threads=1,
    ).fit()
    header = ["index", "arch", "seconds", "extra_seconds", *proxies, "errors"]
    header += ["layer_log_sigma", "psi_upto", "per_sample_impl", "maxrss_MB"]
    done = set()
    if csv_path.exists():
        done = set(pd.read_csv(csv_path)["index"].astype(int))
    new_file = not csv_path.exists()
    with csv_path.open("a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        if new_file:
            writer.writeheader()
        for i, rec in enumerate(records):
            if i in done:
                continue
            arch = sp.validate(rec["arch"])
            t = time.perf_counter()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                row = feat.transform([arch])[0]
            seconds = time.perf_counter() - t
            t = time.perf_counter()
            extra = _extra_pass(sp, arch, arch_seed(arch, SEED), x, y, band)
            out = {
                "index": i,
                "arch": json.dumps(arch.to_dict()),
                "seconds": round(seconds, 2),
                "extra_seconds": round(time.perf_counter() - t, 2),
                **{p: repr(float(v)) for p, v in zip(proxies, row, strict=True)},
                "errors": " | ".join(str(w.message) for w in caught),
                **extra,
                "maxrss_MB": round(maxrss_mb(), 1),
            }
            writer.writerow(out)
            fh.flush()
            print(f"net {i}: {seconds:.1f} s + {out['extra_seconds']} s", flush=True)


# ------------------------------------------------------------------------- report
def _rho_tau(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    from libranas.metrics import kendall, spearman

    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or np.ptp(a[ok]) == 0:
        return np.nan, np.nan
    return spearman(b[ok], a[ok]), kendall(b[ok], a[ok])


def _boot_rho(cols: dict[str, np.ndarray], y: np.ndarray, n_boot: int = 1000, seed: int = 0):
    """Bootstrap (resampling networks) rho of each column; returns {name: array}."""
    from scipy.stats import spearmanr

    rng = np.random.default_rng(seed)
    out = {k: np.empty(n_boot) for k in cols}
    n = y.size
    for b in range(n_boot):
        idx = rng.integers(0, n, n)
        for k, v in cols.items():
            out[k][b] = spearmanr(v[idx], y[idx]).statistic
    return out


def _lambda_band(sig: list[np.ndarray], lo: float, hi: float) -> np.ndarray:
    from libranas.proxies.lswag import band_mask

    return np.array([np.nansum(s[band_mask(s.size, (lo, hi))]) for s in sig])


def _cv(Z: pd.DataFrame, y: np.ndarray, seeds: range, n_lab: int = 50) -> pd.DataFrame:
    """Labelled n_lab / evaluated rest, per seed: params, lswag, LIBRA, ZCRanker."""
    from libranas.metrics import kendall, spearman
    from libranas.ranker import ZCRanker
    from libranas.selector import LibraSelector

    rows = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        perm = rng.permutation(len(y))
        lab, ev = perm[:n_lab], perm[n_lab:]
        Zl, Ze, yl, ye = Z.iloc[lab], Z.iloc[ev], y[lab], y[ev]
        preds = {"params": Ze["params"].to_numpy(), "flops": Ze["flops"].to_numpy()}
        preds["lswag"] = Ze["lswag"].to_numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sel = LibraSelector().fit(Zl, yl)
            cols = sel.selected_
            r = ZCRanker("rank-mean").fit(Zl[cols], yl)
            preds["LIBRA rank-mean"] = r.predict(Ze[cols])
            r = ZCRanker("log-rank").fit(Zl[cols], yl)
            preds["LIBRA log-rank"] = r.predict(Ze[cols])
            r = ZCRanker("xgboost", random_state=seed, n_jobs=1).fit(Zl[cols], yl)
            preds["LIBRA + XGBoost"] = r.predict(Ze[cols])
            r = ZCRanker("xgboost", random_state=seed, n_jobs=1).fit(Zl, yl)
            preds["XGBoost, all proxies"] = r.predict(Ze)
            r = ZCRanker("xgboost", random_state=seed, n_jobs=1).fit(Zl[["params"]], yl)
            preds["XGBoost, params only"] = r.predict(Ze[["params"]])
        for k, p in preds.items():
            ok = np.isfinite(p)
            rows.append(
                {
                    "seed": seed,
                    "method": k,
                    "rho": spearman(ye[ok], p[ok]),
                    "tau": kendall(ye[ok], p[ok]),
                    "selected": "+".join(cols) if k.startswith("LIBRA") else "",
                }
            )
    return pd.DataFrame(rows)


def report() -> None:
    df = pd.read_csv(CSV).sort_values("index").reset_index(drop=True)
    gt = json.loads(GT.read_text())
    Y = pd.DataFrame([{t: r[t] for t in TARGETS} for r in gt]).iloc[df["index"].to_numpy()]
    Y = Y.reset_index(drop=True)
    prof = json.loads(PROFILE.read_text()) if PROFILE.exists() else None
    cal = json.loads(BAND_FILE.read_text())["records"][0]
    band = tuple(cal["band"])
    from libranas.proxies import list_proxies

    proxies = [p for p in list_proxies() if p in df.columns]
    n_registered = len(proxies)
    Z = df[proxies].astype(float)
    # the flops proxy counts Conv2d/Linear MACs only; at a fixed token count that is an
    # affine function of the linear weights. flops_attn adds the attention products
    # (q k^T and attn v: 2 * heads * 64 * T^2 MACs per block), analytically.
    tokens = (IMG // PATCH) ** 2 + 1
    heads = [sum(json.loads(a)["num_heads"]) for a in df["arch"]]
    Z["flops_attn"] = Z["flops"] + np.array(heads) * 2 * 64 * tokens**2 / 1e6
    proxies = [*proxies, "flops_attn"]
    sig = [np.array(json.loads(s), dtype=float) for s in df["layer_log_sigma"]]
    psi = np.array([json.loads(s) for s in df["psi_upto"]], dtype=float)  # (n, 10)
    lam_all = _lambda_band(sig, 0, 100)
    lo, hi = band
    lam_band = _lambda_band(sig, lo, hi)
    psi_all = psi[:, -1]
    psi_band = psi[:, DECILES.index(int(hi))]
    abl = {
        "Lambda, all layers": lam_all,
        "Psi, all layers": psi_all,
        "Lambda x Psi, all layers": lam_all * psi_all,
        f"Lambda, band {band}": lam_band,
        f"Psi up to {hi:g}%": psi_band,
        f"L-SWAG = Lambda x Psi, band {band}": lam_band * psi_band,
        "ZiCo (per-sample, all layers)": Z["zico"].to_numpy(),
        "params": Z["params"].to_numpy(),
        "flops": Z["flops"].to_numpy(),
        "flops_attn": Z["flops_attn"].to_numpy(),
    }
    check = np.allclose(lam_band, Z["lswag_lambda"], rtol=1e-9) and np.allclose(
        psi_band, Z["lswag_psi"]
    )
    lines = [
        "# L-SWAG and zero-cost proxies on 100 AutoFormer-Tiny ViTs",
        "",
        f"Written by `benchmarks/lswag_autoformer.py` (git {C.code_version()}) on "
        f"{time.strftime('%Y-%m-%d %H:%M')}.",
        "",
        "## Protocol",
        "",
        f"- Networks: the {len(df)} AutoFormer-Tiny subnets of Auto-Prox `gt_autoformer.json` "
        "(Auto-Prox, Wei et al. AAAI 2024), built by `get_space('autoformer-tiny', "
        f"img_size={IMG}, patch_size={PATCH}, num_classes={CLASSES})` at random initialisation "
        f"(per-network seed `arch_seed(arch, {SEED})` of the featurizer).",
        f"- Input: ONE CIFAR-100 batch of {BATCH} real images "
        f"(`load_image_batch('{IMAGES.name}', n={BATCH}, random_state={SEED})`), for every "
        "target: the Flowers, Chaoyang and ImageNet columns are ranked with proxies "
        "computed on CIFAR-100 images and a 100-class head.",
        "- Scores: `ProxyFeaturizer(space, proxies=list_proxies(), data=(x, y), "
        f"lswag_band={band}, random_state={SEED}, n_threads=1)`, one `transform` per "
        "network (cached). Per-sample gradients: exact (hooks path, checked against a "
        "single-sample backward). reg_swap uses its default mu = sigma = 1.5 M parameters "
        "(NAS-Bench-201 defaults; for 5-10 M-parameter ViTs its factor just orders by size).",
        "- Ablation values come from a second pass per network with the same weights; "
        f"its band-restricted Lambda and Psi equal the featurizer's columns: {check}.",
        f"- Machine: {prof['cpu'] if prof else cpu_name()}, torch threads 1, shared with "
        "other jobs (timings are indicative).",
        "",
        "## Cost per network",
        "",
        f"- Full proxy set ({n_registered} registered proxies) through the featurizer: median "
        f"{df['seconds'].median():.1f} s per network (min {df['seconds'].min():.1f}, max "
        f"{df['seconds'].max():.1f}); the ablation pass adds a median "
        f"{df['extra_seconds'].median():.1f} s. Peak RSS of the scoring process (it also "
        f"ran the calibration): {df['maxrss_MB'].max():.0f} MB.",
    ]
    if prof:
        sec = {k: v for k, v in prof["seconds_in_shared_pass_order"].items() if ":" not in k}
        lines += [
            f"- One net ({prof['params_M']:.1f} M params, embed {prof['arch']['embed_dim']}, "
            f"depth {prof['arch']['depth']}), batch {prof['batch']}, all proxies on one "
            f"shared pass: {prof['total_seconds']} s; peak RSS {prof['maxrss_MB_after_all_proxies']}"
            f" MB ({prof['maxrss_MB_after_build']} MB after imports and build). Seconds per "
            "proxy in pass order (the first proxy needing a pass pays for it): "
            + ", ".join(f"{k} {v}" for k, v in sec.items())
            + ".",
            "- Per-sample gradient statistics, CPU seconds (2 repeats): vmap "
            f"{prof['per_sample_grads_cpu_seconds']['vmap']}, hooks "
            f"{prof['per_sample_grads_cpu_seconds']['hooks']}.",
        ]
    # ---- correlations
    lines += ["", "## Spearman rho (Kendall tau) of every proxy with every target", ""]
    lines += ["Input batch: CIFAR-100 for every column. Bold: best per column.", ""]
    table = {}
    for p in proxies:
        table[p] = {t: _rho_tau(Z[p].to_numpy(), Y[t].to_numpy()) for t in TARGETS}
    best = {t: max(np.nan_to_num(table[p][t][0], nan=-9) for p in proxies) for t in TARGETS}
    lines.append("| proxy | " + " | ".join(TARGETS) + " |")
    lines.append("|---" * (len(TARGETS) + 1) + "|")
    for p in proxies:
        cells = []
        for t in TARGETS:
            r, k = table[p][t]
            s = f"{r:.3f} ({k:.3f})" if np.isfinite(r) else "nan"
            cells.append(f"**{s}**" if np.isfinite(r) and r == best[t] else s)
        lines.append(f"| {p} | " + " | ".join(cells) + " |")
    fails = df["errors"].fillna("").astype(str)
    n_fail = int((fails != "").sum())
    lines += ["", f"Networks with a proxy failure: {n_fail}."]
    if n_fail:
        lines.append("First message: " + fails[fails != ""].iloc[0][:300])
    # ---- lswag vs params vs flops with CIs
    lines += [
        "",
        "## Claim: L-SWAG matches or beats #params and FLOPs on ViTs",
        "",
        f"Spearman rho with 95% bootstrap intervals ({N_BOOT} resamples of the networks), and "
        "the paired bootstrap intervals of the differences. `flops` (the registered proxy: "
        "Conv2d/Linear MACs) ranks these networks exactly as `params` does at a fixed token "
        "count; `flops_attn` adds the attention products (2 x heads x 64 x T^2 MACs per "
        "block, T = 65 tokens; computed in this script, not a registered proxy).",
        "",
        "| target | L-SWAG | params | flops | flops_attn | L-SWAG - params | L-SWAG - flops_attn |",
        "|---|---|---|---|---|---|---|",
    ]
    claims = []
    for t in TARGETS:
        yv = Y[t].to_numpy()
        cols = {k: Z[k].to_numpy() for k in ("lswag", "params", "flops", "flops_attn")}
        bt = _boot_rho(cols, yv, N_BOOT)
        point = {k: _rho_tau(v, yv)[0] for k, v in cols.items()}

        def ci(a: np.ndarray) -> str:
            return f"[{np.nanpercentile(a, 2.5):.2f}, {np.nanpercentile(a, 97.5):.2f}]"

        d1, d2 = bt["lswag"] - bt["params"], bt["lswag"] - bt["flops_attn"]
        claims.append((t, point["lswag"] - point["params"], ci(d1)))
        lines.append(
            f"| {t} | {point['lswag']:.3f} {ci(bt['lswag'])} | {point['params']:.3f} "
            f"{ci(bt['params'])} | {point['flops']:.3f} | {point['flops_attn']:.3f} "
            f"{ci(bt['flops_attn'])} | {point['lswag'] - point['params']:+.3f} {ci(d1)} | "
            f"{point['lswag'] - point['flops_attn']:+.3f} {ci(d2)} |"
        )
    # ---- ablation
    lines += [
        "",
        "## L-SWAG ablation (the paper's: Lambda, Psi, all layers vs band)",
        "",
        f"Band {band} from the calibration below (not tuned on these targets).",
        "",
        "| variant | " + " | ".join(TARGETS) + " |",
        "|---" * (len(TARGETS) + 1) + "|",
    ]
    for name, v in abl.items():
        lines.append(
            f"| {name} | "
            + " | ".join(f"{_rho_tau(v, Y[t].to_numpy())[0]:.3f}" for t in TARGETS)
            + " |"
        )
    lines += [
        "",
        "Single-decile bands in hindsight (Lambda over layers of that decile x Psi up to its "
        "upper end), rho with c100_base_acc / c100_kd_acc; the calibrated band is chosen "
        "without labels, this table is for reading only:",
        "",
        "| band | Lambda | Lambda x Psi |",
        "|---|---|---|",
    ]
    for b in range(10):
        lam = _lambda_band(sig, 10 * b, 10 * b + 10)
        prod = lam * psi[:, b]
        r1 = [_rho_tau(lam, Y[t].to_numpy())[0] for t in TARGETS[:2]]
        r2 = [_rho_tau(prod, Y[t].to_numpy())[0] for t in TARGETS[:2]]
        lines.append(
            f"| [{10 * b}, {10 * b + 10}) | {r1[0]:.3f} / {r1[1]:.3f} | {r2[0]:.3f} / {r2[1]:.3f} |"
        )
    # ---- calibration
    lines += [
        "",
        "## Band calibration (autoformer-tiny, 32 px, patch 4)",
        "",
        f"{cal['n_archs']} random autoformer-tiny networks (seed {cal['seed']}), batch "
        f"{cal['batch_size']} ({cal['data']}), mean per-layer log sigma by depth decile "
        f"(std over networks in brackets); band = bins within {cal['threshold']} of the "
        f"min-max scaled peak: **{band}**. Stored in `libranas/spaces/data/autoformer_band.json`, "
        "loaded by `libranas.proxies._vit_calibration.autoformer_band('tiny', img_size=32, "
        f"patch_size=4)`. Took {cal['seconds']} s.",
        "",
        "| decile | " + " | ".join(str(b) for b in range(10)) + " |",
        "|---" * 11 + "|",
        "| log sigma | "
        + " | ".join(
            f"{m:.2f} ({s:.2f})" for m, s in zip(cal["profile"], cal["profile_std"], strict=True)
        )
        + " |",
    ]
    # ---- LIBRA / ZCRanker
    lines += [
        "",
        "## LIBRA and ZCRanker, cross-validated",
        "",
        "Protocol: 50 networks labelled (selection / fitting) and the other 50 evaluated, "
        f"{CV_SEEDS} random splits (seeds 0-{CV_SEEDS - 1}); mean (std) of Spearman rho and Kendall tau on the "
        "evaluated half. LIBRA selects on the labelled half (window 0.1, Sturges bins, bias "
        "= params) and fuses by mean normalised rank, AZ-NAS log-rank or XGBoost "
        "(`ZCRanker`); 'XGBoost, all proxies' learns on every proxy column.",
        "",
    ]
    cv_means = {}
    for t in ("c100_base_acc", "c100_kd_acc", "imagenet_super_acc"):
        cv = _cv(Z.drop(columns="flops_attn"), Y[t].to_numpy(), range(CV_SEEDS))
        agg = cv.groupby("method", sort=False).agg(
            rho=("rho", "mean"), rho_sd=("rho", "std"), tau=("tau", "mean"), tau_sd=("tau", "std")
        )
        cv_means[t] = agg["rho"]
        sel = cv[cv["selected"] != ""]["selected"].value_counts().head(3)
        lines += [f"**{t}**", "", "| method | rho | tau |", "|---|---|---|"]
        for m, r in agg.iterrows():
            lines.append(
                f"| {m} | {r['rho']:.3f} ({r['rho_sd']:.3f}) | {r['tau']:.3f} ({r['tau_sd']:.3f}) |"
            )
        lines += [
            "",
            "Most frequent LIBRA selections: "
            + ", ".join(f"{k} ({v // 3}/{CV_SEEDS})" for k, v in sel.items()),
            "",
        ]
    # ---- reading
    lines += ["## Reading (numbers computed from the tables above)", ""]
    size_rho = {t: table["params"][t][0] for t in TARGETS}
    neg = [t for t in TARGETS if size_rho[t] < 0]
    best_p = {
        t: max(proxies, key=lambda p, t=t: np.nan_to_num(table[p][t][0], nan=-9)) for t in TARGETS
    }
    lines += [
        "- L-SWAG minus params (rho, paired 95% CI): "
        + "; ".join(f"{t} {d:+.3f} {c}" for t, d, c in claims)
        + ".",
        f"- Size is anti-correlated with accuracy on {neg} (params rho "
        + ", ".join(f"{size_rho[t]:.2f}" for t in neg)
        + "): there every size-like proxy has the wrong sign, and 'beating params' only "
        "means being less wrong. A proxy with a positive rho on those targets is one that "
        "decreases with size (e.g. reg_swap with its NB201 size prior).",
        "- Best single proxy per target: "
        + "; ".join(f"{t}: {best_p[t]} ({table[best_p[t]][t][0]:.3f})" for t in TARGETS)
        + ".",
        f"- Cross-validated (50/50 x {CV_SEEDS}) on c100_kd_acc: "
        + ", ".join(f"{m} {v:.3f}" for m, v in cv_means["c100_kd_acc"].items())
        + ".",
    ]
    C.write_results(REPORT, "\n".join(lines) + "\n")
    print(REPORT.read_text())


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "step", nargs="?", default="all", choices=["calibrate", "profile", "score", "report", "all"]
    )
    p.add_argument("--n-nets", type=int, default=None, help="score: the first N networks only")
    p.add_argument("--csv", default=CSV.name, help="score: file name in the results folder")
    p.add_argument("--proxies", nargs="+", default=None, help="score: these proxies only")
    args = p.parse_args(argv)
    step = args.step
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    if step in ("calibrate", "all", "score"):
        band = calibrate()
    if step in ("profile", "all"):
        profile()
    if step in ("score", "all"):
        score(band, args.n_nets, OUT / args.csv, args.proxies)
    if step in ("report", "all"):
        report()


if __name__ == "__main__":
    main()
