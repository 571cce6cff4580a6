"""VKDNW and AZ-NAS (libranas re-implementations) on NAS-Bench-201 CIFAR-10 against their
papers' numbers, with the ablations that explain the gap, and the ``n_inits`` study.

Cells: the NAS-Bench-Suite-Zero CIFAR-10 table (``load_benchmark("nb201-cifar10")``) in a
fixed random order (:func:`_common.cell_order`, so any prefix is a random subset). Each cell
is built at initialisation exactly as :class:`libranas.ProxyFeaturizer` builds it (seed
``arch_seed(canonical, 0)``) and scored on 64 real CIFAR-10 images
(``load_image_batch(n=64, random_state=0)``) with one torch thread.

Variants (one cached row per cell and variant):

- ``default``: libranas defaults: PyTorch's default initialisation, ``vkdnw_bn="batch"``
  (train-mode BatchNorm fixed to the batch statistics), no smoothing. Proxies ``vkdnw``,
  ``vkdnw_single``, the four ``az_*``, ``jacov`` and ``flops``, each group timed alone.
- ``running``: as ``default`` but ``vkdnw_bn="running"`` (BatchNorm on running statistics,
  the network in eval mode, as the authors' VKDNW code).
- ``refinit``: the authors' initialisation (Kaiming-normal fan-in weights, zero biases,
  BatchNorm weight 1 / bias 0) applied to the same network, then VKDNW in ``running`` mode
  (three Fisher variants from one Jacobian: the paper's formula; with the code's softmax
  smoothing 0.05; with smoothing and the code's ``J^T L^T L J`` where ``L L^T`` is the
  Cholesky factorisation of ``diag(p) - p p^T``) and the four ``az_*``.
- ``noise`` / ``noise_refinit``: the four ``az_*`` and ``jacov`` on a batch of 64 standard
  Gaussian images (drawn per cell from its seed) instead of CIFAR-10 images, with PyTorch's
  / the authors' initialisation: AZ-NAS's NB201 notebook (and the VKDNW authors' re-run of
  AZ-NAS) feed random inputs to every proxy not in their ``real_input_metrics`` list, which
  excludes AZ-NAS.

    nice -n 5 python benchmarks/zero_label_proxies.py score --n-cells 200 --variants default
    nice -n 5 python benchmarks/zero_label_proxies.py inits --n-cells 50 --k 3
    python benchmarks/zero_label_proxies.py report      # writes results/new_proxies.md
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
IMAGES = DATA / "images" / "cifar10_960_uint8.npz"
ACCURACIES = DATA / "nb201" / "nb201_accuracies.csv"
AZ = ["az_expressivity", "az_progressivity", "az_trainability", "az_complexity"]
VARIANTS = ("default", "running", "refinit", "noise", "noise_refinit")
CELL_COLS = [
    "arch",
    "idx",
    "variant",
    "seed",
    "n_params",
    "vkdnw",
    "vkdnw_single",
    "vkdnw_a05",
    "vkdnw_ltl",
    *AZ,
    "jacov",
    "flops",
    "t_vkdnw",
    "t_az",
    "t_jacov",
    "load",
    "errors",
]
#: proxies of the n_inits study (one fused pass + vkdnw's own pass per initialisation)
INIT_PROXIES = [*AZ[:3], "jacov", "nwot", "snip", "grad_norm", "synflow", "vkdnw"]
INIT_COLS = ["arch", "idx", "init", "seed", *INIT_PROXIES, "seconds", "load", "errors"]
PAPERS = {
    "vkdnw_agg": ("VKDNW_agg, VKDNW paper Table 1 (all NB201 cells, 5 runs)", 0.919, 0.750),
    "aznas_agg": ("AZ-NAS, its own notebook / as re-run in the VKDNW paper", 0.913, None),
}


DEFINITIONS = """## Definitions as implemented

**VKDNW** (`libranas/proxies/vkdnw.py`). Weights: the first element (flat index 0) of every
trainable parameter tensor of the Conv2d / Linear / BatchNorm / LayerNorm / GroupNorm modules
(P tensors; NB201: P = 21 + 45 x the number of conv edges of the cell, 21..291). Per sample,
J_n = d logits / d those weights (exact; one backward of the batch per class with per-sample
reductions; train-mode BatchNorm held at the whole-batch statistics so that samples do not
interact). Fisher information with the model's own predictive distribution,
F = 1/N sum_n J_n^T (diag(p_n) - p_n p_n^T) J_n, p_n = softmax(logits_n). Eigenvalues of F
(float64), deciles q_1..q_9 (quantiles 0.1..0.9, linear interpolation), w = q / sum(q),
`vkdnw` = -sum w log w (0 when all deciles are 0). `vkdnw_single` = P + vkdnw / log 9, which
orders cells exactly as the paper's ranking by the number of trainable parameter tensors first
and VKDNW second. `vkdnw_aggregate(table)` (VKDNW_agg) = sum of log(rank/n) of `vkdnw_single`,
`jacov`, `az_expressivity`, `az_trainability`, `flops`: a function of a score table (ranks
across architectures), not a registered proxy.

**AZ-NAS** (`libranas/proxies/aznas.py`), one train-mode forward of the batch, fused with the
other batch-loss passes (`NetworkPass.block_features`), blocks = NB201's stem and its 17
cells / reduction blocks: `az_expressivity` = sum over blocks of the entropy of the normalised
eigenvalues of the channel covariance of the block output (every pixel of every sample one
vector); `az_progressivity` = the smallest increase of that entropy from one block to the next;
`az_trainability` = mean over blocks of -s - 1/(s + 1e-6) + 2, s the largest singular value of
G^T R / n (R a Rademacher probe of the block output, G its vector-Jacobian product to the block
input, pixel-unshuffled across a reduction); `az_complexity` = FLOPs. `aznas_aggregate(table)`
= sum of log(rank/n) of the four; `ZCRanker("log-rank")` orders cells the same way (it takes
the mean instead of the sum) when nothing is missing, but skips a missing value where AZ-NAS
ranks it last.

### Ambiguities and how they were resolved

| question | paper / authors' code | libranas |
|---|---|---|
| which weights enter F | one weight per trainable tensor: the code takes flat index 0 of every `named_parameters()` entry | same, for Conv/Linear/norm modules (a ViT's class token and position embedding are left out) |
| F itself | paper: the Fisher information of the weights, the expected outer product of the score under the model's own class distribution, i.e. J^T (diag p - p p^T) J (only the abstract and third-party summaries of the paper were retrievable here; the formula is the standard one they state); code: (L J)^T (L J) = J^T L^T L J with L L^T = diag p - p p^T, which is not the same matrix | the Fisher information; the code's variant is measured below |
| softmax smoothing | code: p -> 0.95 p + 0.05 / C (not in the paper's formula) | option `vkdnw_smoothing`, default 0; measured below |
| BatchNorm during the Jacobian | code: `model.eval()`, i.e. running statistics (mean 0, var 1 at init: BN is nearly the identity) | default `vkdnw_bn="batch"` (train mode, batch statistics held fixed, as every per-sample pass in libranas); `"running"` reproduces the code; both measured |
| initialisation | both authors' codes re-initialise: Kaiming-normal fan-in weights, zero biases, BN 1/0 | PyTorch defaults (the featurizer's convention for every proxy); the authors' init is measured below |
| VKDNW_single | lexicographic rank by (number of trainable tensors, VKDNW) | P + vkdnw / log 9 (same order) |
| VKDNW_agg components | the paper's text was not retrievable here (the stored corpus holds only its abstract); the authors' evaluation code combines log ranks of VKDNW_single, jacov, expressivity, trainability and FLOPs | that combination, as a table function; a variant with progressivity added is shown for comparison |
| AZ-NAS input | the authors' NB201 code feeds a batch of standard Gaussian noise to AZ-NAS (`az_nas` is not in its `real_input_metrics`; VKDNW's code does the same for its AZ-NAS and jacov terms) | default: the featurizer's batch, in the shared forward; option `az_input="gaussian"` reproduces the code (a separate forward); both measured |
| identity blocks (AZ-NAS) | code: trainability -inf | `az_trainability` raises (NaN + `ProxyFailedWarning`); the aggregation ranks NaN last, i.e. the same order |
| constant block outputs (AZ-NAS) | code: entropy NaN, network ranked last on expressivity and progressivity | entropy 0 (a constant map spans no direction) |
| target | the VKDNW code reads the 200-epoch NATS-Bench `cifar10` test accuracy | three targets reported |
"""


def cells_cache() -> C.CellCache:
    return C.CellCache(C.CACHE / "zero_label_cells.csv", CELL_COLS, ["arch", "variant"])


def inits_cache() -> C.CellCache:
    return C.CellCache(C.CACHE / "zero_label_inits.csv", INIT_COLS, ["arch", "init"])


def load_batch() -> tuple[Any, Any]:
    import torch

    from libranas.datasets import load_image_batch

    x, y = load_image_batch(IMAGES, n=C.BATCH, random_state=C.BATCH_SEED)
    return torch.as_tensor(x), torch.as_tensor(y)


def table() -> Any:
    return C.load_table(C.TASKS["cifar10"])


def reference_init(model: Any) -> Any:
    """The initialisation of the authors' code (both AZ-NAS and VKDNW): Kaiming-normal
    fan-in (ReLU gain) conv / linear weights, zero biases, BatchNorm / GroupNorm 1 and 0."""
    from torch import nn

    with_affine = (nn.modules.batchnorm._BatchNorm, nn.GroupNorm)
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, with_affine) and m.weight is not None:
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return model


def cholesky_psd(s: np.ndarray) -> np.ndarray:
    """Lower-triangular ``L`` with ``L L^T = s`` for a positive semi-definite ``s`` (a zero
    pivot gives a zero column: ``diag(p) - p p^T`` is singular)."""
    n = s.shape[0]
    low = np.zeros_like(s)
    tol = 1e-14 * max(float(np.trace(s)), 1e-300)
    for j in range(n):
        d = s[j, j] - low[j, :j] @ low[j, :j]
        if d <= tol:
            continue
        low[j, j] = math.sqrt(d)
        low[j + 1 :, j] = (s[j + 1 :, j] - low[j + 1 :, :j] @ low[j, :j]) / low[j, j]
    return low


def code_variant_fisher(jac: np.ndarray, logits: np.ndarray, smoothing: float) -> np.ndarray:
    """The authors' code's matrix: ``mean_n (L_n J_n)^T (L_n J_n) = J^T L^T L J`` (not the
    Fisher ``J^T L L^T J``), ``L_n`` the Cholesky factor of ``diag(p_n) - p_n p_n^T``."""
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    p = (1 - smoothing) * p + smoothing / p.shape[1]
    out = np.zeros((jac.shape[2], jac.shape[2]))
    for n in range(jac.shape[0]):
        low = cholesky_psd(np.diag(p[n]) - np.outer(p[n], p[n]))
        lj = low @ jac[n]
        out += lj.T @ lj
    return out / jac.shape[0]


def _spectrum_entropy(fisher: np.ndarray) -> float:
    from libranas.proxies.vkdnw import decile_entropy

    return decile_entropy(np.clip(np.linalg.eigvalsh((fisher + fisher.T) / 2), 0, None))


def _timed(net: Any, x: Any, y: Any, names: list[str], seed: int, options: dict) -> tuple:
    from libranas.proxies._engine import score_network

    start = time.perf_counter()
    scores, errors = score_network(net, x, y, names, seed=seed, options=options)
    return scores, errors, time.perf_counter() - start


def score_cell(arch: str, idx: int, variant: str, x: Any, y: Any) -> dict[str, Any]:
    from libranas.proxies._engine import NetworkPass
    from libranas.proxies.vkdnw import fisher_information, fisher_jacobian

    seed = C.init_seed(arch)
    net = C.build(arch, 10, seed)
    row: dict[str, Any] = {"arch": arch, "idx": idx, "variant": variant, "seed": seed}
    errors: dict[str, str] = {}
    if variant == "default":
        s, e, row["t_vkdnw"] = _timed(net, x, y, ["vkdnw", "vkdnw_single"], seed, {})
        row.update(s)
        errors.update(e)
        s, e, row["t_az"] = _timed(net, x, y, AZ, seed, {})
        row.update(s)
        errors.update(e)
        s, e, row["t_jacov"] = _timed(net, x, y, ["jacov", "flops"], seed, {})
        row.update(s)
        errors.update(e)
        row["n_params"] = int(row["vkdnw_single"]) if math.isfinite(row["vkdnw_single"]) else ""
    elif variant == "running":
        s, e, row["t_vkdnw"] = _timed(net, x, y, ["vkdnw"], seed, {"vkdnw_bn": "running"})
        row.update(s)
        errors.update(e)
    elif variant in ("noise", "noise_refinit"):
        import torch

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            if variant == "noise_refinit":
                reference_init(net)
            noise = torch.randn(x.shape, dtype=x.dtype)
        zeros = torch.zeros_like(y)
        s, e, row["t_az"] = _timed(net, noise, zeros, AZ, seed, {})
        row.update(s)
        errors.update(e)
        s, e, row["t_jacov"] = _timed(net, noise, zeros, ["jacov"], seed, {})
        row.update(s)
        errors.update(e)
    elif variant == "refinit":
        import torch

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            reference_init(net)
        start = time.perf_counter()
        try:
            npass = NetworkPass(net, x, y, seed=seed, options={"vkdnw_bn": "running"})
            fj = fisher_jacobian(npass)
            row["vkdnw"] = _spectrum_entropy(fisher_information(fj.jacobian, fj.logits, 0.0))
            row["vkdnw_a05"] = _spectrum_entropy(fisher_information(fj.jacobian, fj.logits, 0.05))
            row["vkdnw_ltl"] = _spectrum_entropy(code_variant_fisher(fj.jacobian, fj.logits, 0.05))
            row["n_params"] = fj.jacobian.shape[2]
        except Exception as exc:  # noqa: BLE001 - recorded with the row
            errors["vkdnw"] = f"{type(exc).__name__}: {exc}"
        row["t_vkdnw"] = time.perf_counter() - start
        s, e, row["t_az"] = _timed(net, x, y, AZ, seed, {})
        row.update(s)
        errors.update(e)
    else:
        raise SystemExit(f"unknown variant {variant!r}; known: {VARIANTS}")
    row["load"] = os.getloadavg()[0]
    row["errors"] = "; ".join(f"{k}: {v}" for k, v in errors.items())
    return row


def run_score(args: argparse.Namespace) -> None:
    C.setup_torch(args.threads)
    warnings.simplefilter("ignore")
    bench = table()
    order = C.cell_order(bench.X.index)[: args.n_cells]
    idx = bench.meta["idx"]
    cache = cells_cache()
    done = cache.done()
    x, y = load_batch()
    start = time.perf_counter()
    for variant in args.variants:
        for i, arch in enumerate(order):
            if (arch, variant) in done:
                continue
            if args.max_minutes and time.perf_counter() - start > 60 * args.max_minutes:
                print("time budget reached", flush=True)
                return
            row = score_cell(arch, int(idx[arch]), variant, x, y)
            cache.append(row)
            print(
                f"[{variant} {i + 1}/{len(order)}] {arch} vkdnw={row.get('vkdnw')} "
                f"t_vkdnw={row.get('t_vkdnw', 0):.1f}s t_az={row.get('t_az', 0) or 0:.1f}s "
                f"{row['errors'][:120]}",
                flush=True,
            )


def run_inits(args: argparse.Namespace) -> None:
    from libranas.featurizer import _score_archs, arch_seed
    from libranas.spaces import get_space

    C.setup_torch(args.threads)
    warnings.simplefilter("ignore")
    bench = table()
    order = C.cell_order(bench.X.index)[: args.n_cells]
    idx = bench.meta["idx"]
    space = get_space("nb201")
    cache = inits_cache()
    done = cache.done()
    x, y = (t.numpy() for t in load_batch())
    for init in range(args.k):
        for i, arch in enumerate(order):
            if (arch, str(init)) in done:
                continue
            canonical = space.validate(arch)
            seed = arch_seed(canonical, C.INIT_SEED, init)
            start = time.perf_counter()
            # the featurizer's own per-chunk scorer, one initialisation at a time
            scores, failures = _score_archs(
                space, [canonical], [(seed,)], x, y, INIT_PROXIES, {}, "cpu", "float32", 10,
                args.threads, os.getpid(),
            )  # fmt: skip
            row = {
                "arch": arch,
                "idx": int(idx[arch]),
                "init": init,
                "seed": seed,
                **dict(zip(INIT_PROXIES, scores[0].tolist(), strict=True)),
                "seconds": time.perf_counter() - start,
                "load": os.getloadavg()[0],
                "errors": "; ".join(f"{p}: {r}" for _, p, r in failures),
            }
            cache.append(row)
            print(f"[init {init} {i + 1}/{len(order)}] {arch} {row['seconds']:.1f}s", flush=True)


# ------------------------------------------------------------------------------ report


def targets(bench: Any) -> pd.DataFrame:
    """Per table cell: NB-Suite-Zero's validation accuracy, and from the 15,625-row file
    (joined by the NB201 string) the seed-averaged 200-epoch cifar10-valid validation and
    'cifar10' test accuracies."""
    from libranas.spaces import get_space

    space = get_space("nb201")
    acc = pd.read_csv(ACCURACIES).set_index("arch_str")
    strings = [space.to_string(a) for a in bench.X.index]
    return pd.DataFrame(
        {
            "val_nbsz": bench.y,
            "valid_200": acc.loc[strings, "cifar10_valid_acc_200ep"].to_numpy(),
            "test_200": acc.loc[strings, "cifar10_test_acc_200ep"].to_numpy(),
        },
        index=bench.X.index,
    )


TARGET_NAMES = {
    "val_nbsz": "NB-Suite-Zero val (1 seed)",
    "valid_200": "cifar10-valid x-valid (seed mean)",
    "test_200": "cifar10 test (200 ep)",
}


def _rho_cell(score: Any, target: Any) -> str:
    rho, n = C.spearman(score, target)
    return f"{C.fmt(rho)}"


def report(args: argparse.Namespace) -> None:
    from libranas.proxies.aznas import aznas_aggregate, log_rank_sum

    warnings.simplefilter("ignore")
    bench = table()
    tg = targets(bench)
    cells = cells_cache().load()
    lines: list[str] = []
    out = lines.append
    out("# VKDNW and AZ-NAS on NAS-Bench-201 CIFAR-10, and n_inits\n")
    out(
        f"Written by `benchmarks/zero_label_proxies.py report` at git commit `{C.git_commit()}`; "
        f"CPU: {C.cpu_name()}, one torch thread, `nice -n 5`, on a machine shared with other jobs "
        "(the 1-minute load average at scoring time is given with the timings).\n"
    )
    out("## Protocol\n")
    out(
        "- Cells: a fixed random order of the 724 NB201 cells of the NAS-Bench-Suite-Zero "
        "CIFAR-10 table (`_common.cell_order`, seed 0); the first N of that order are scored, "
        "so every N is a random subset. No labels are used by any score.\n"
        "- Each cell is built at initialisation as `ProxyFeaturizer` builds it (seed "
        "`arch_seed(canonical, 0)`, PyTorch's default initialisation, training mode) and scored "
        "on one batch of 64 real CIFAR-10 training images "
        "(`load_image_batch('cifar10_960_uint8.npz', n=64, random_state=0)`).\n"
        "- Targets: NAS-Bench-Suite-Zero's single-seed validation accuracy (the table's `y`), "
        "and, joined by the NB201 cell string from `shared/data/nb201/nb201_accuracies.csv`, the "
        "seed-averaged 200-epoch `cifar10-valid` validation accuracy and the 200-epoch "
        "`cifar10` test accuracy. The VKDNW authors' evaluation code reads the latter "
        "(NATS-Bench `cifar10`, `ori-test`).\n"
        "- Aggregations are over the scored cells only (ranks among N cells, not among all "
        "15,625 as in the papers): `aznas_aggregate` = sum of log(rank/N) of the four `az_*`; "
        "`vkdnw_aggregate` = sum of log(rank/N) of `vkdnw_single`, `jacov`, `az_expressivity`, "
        "`az_trainability`, `flops`. Missing values rank last.\n"
        "- Spearman rho; Kendall tau; 95% interval from 1,000 bootstrap resamples of the cells.\n"
    )
    out(DEFINITIONS)
    if cells.empty:
        out("No cells scored yet.\n")
    else:
        _report_variants(out, cells, tg, aznas_aggregate, log_rank_sum)
    _report_inits(out, tg)
    if not cells.empty:
        _findings(out, cells, tg, aznas_aggregate, log_rank_sum)
    path = C.RESULTS / "new_proxies.md"
    C.write_results(path, "\n".join(lines) + "\n")


def _report_variants(
    out: Any, cells: pd.DataFrame, tg: pd.DataFrame, az_agg: Any, lrs: Any
) -> None:
    from libranas.proxies.vkdnw import VKDNW_AGG_PROXIES

    by = {v: g.set_index("arch") for v, g in cells.groupby("variant")}
    if "default" not in by:
        out("No `default` rows yet.\n")
        return
    d = by["default"]
    t = tg.loc[d.index]
    n = len(d)
    out(f"## Results: libranas defaults, {n} cells\n")
    rows: list[tuple[str, Any]] = [
        ("vkdnw", d["vkdnw"]),
        ("vkdnw_single (P + vkdnw/log 9)", d["vkdnw_single"]),
        ("P alone (trainable parameter tensors)", d["n_params"]),
    ]
    rows += [(name, d[name]) for name in AZ]
    rows += [("jacov", d["jacov"]), ("flops", d["flops"])]
    rows.append(("**AZ-NAS aggregate** (4 az_*)", pd.Series(az_agg(d), index=d.index)))
    rows.append(("**VKDNW_agg**", pd.Series(lrs(d, list(VKDNW_AGG_PROXIES)), index=d.index)))
    rows.append(
        (
            "VKDNW_agg with progressivity added (not in the paper)",
            pd.Series(lrs(d, [*VKDNW_AGG_PROXIES, "az_progressivity"]), index=d.index),
        )
    )
    gauss_rows = []
    for variant, label in [
        ("noise", "AZ-NAS aggregate, `az_input='gaussian'` (Gaussian batch, PyTorch init)"),
        ("noise_refinit", "AZ-NAS aggregate, authors' protocol (Gaussian batch, Kaiming init)"),
    ]:
        if variant in by and set(d.index) <= set(by[variant].index):
            f = by[variant].loc[d.index].copy()
            f["az_complexity"] = d["az_complexity"]
            gauss_rows.append((label, pd.Series(az_agg(f), index=d.index)))
    rows += gauss_rows
    ref = _reference_rows(d.index)
    rows += ref
    _table(out, rows, t)
    for label, series in gauss_rows:
        diff, lo, hi = paired_rho_difference(
            pd.Series(az_agg(d), index=d.index), series, t["test_200"]
        )
        out(f"- {label} minus the default AZ-NAS aggregate: rho {diff:+.3f} "
            f"(paired bootstrap 95% [{lo:+.3f}, {hi:+.3f}], test target).")  # fmt: skip
    if gauss_rows:
        out("")
    if ref:
        out("MeCo and ZiCo rows: the same cells, seeds and batch, read from the L-SWAG study's "
            "cache (`cache/lswag_cells.csv`, `benchmarks/lswag_nb201.py`), for reference.\n")  # fmt: skip
    fails = d["errors"].fillna("").astype(str)
    nfail = {p: int(fails.str.contains(f"{p}:").sum()) for p in ["vkdnw", *AZ, "jacov"]}
    out(f"Failures (NaN, ranked last by the aggregations): {nfail}.\n")
    out("Papers (NB201 CIFAR-10, all 15,625 cells, their own targets and seeds): VKDNW_agg "
        "rho 0.919 (tau 0.750); AZ-NAS 0.913 in its own notebook, 0.892 as re-run in the VKDNW "
        "paper (whose Table 1 also lists VKDNW_single).\n")  # fmt: skip
    times = d[["t_vkdnw", "t_az", "t_jacov"]].astype(float)
    out("### Cost per cell (1 torch thread, wall seconds, median [p10, p90])\n")
    out("| what | median | p10 | p90 |")
    out("|---|---|---|---|")
    for col, what in [
        ("t_vkdnw", "vkdnw + vkdnw_single (own pass: 10 backward passes, one per class)"),
        ("t_az", "the four az_* (one fused forward + 17 block VJPs)"),
        ("t_jacov", "jacov + flops"),
    ]:
        q = times[col].quantile([0.5, 0.1, 0.9])
        out(f"| {what} | {q[0.5]:.2f} | {q[0.1]:.2f} | {q[0.9]:.2f} |")
    out(f"\nLoad average while scoring: median {d['load'].astype(float).median():.1f} on 2 cores "
        "(timings are inflated by the other jobs; relative costs are what carries over).\n")  # fmt: skip

    present = [v for v in VARIANTS if v in by]
    common = d.index
    for v in present:
        common = common.intersection(by[v].index)
    if len(common) < 10:
        return
    out(f"## Ablations on the {len(common)} cells scored in every variant ({', '.join(present)})\n")
    dd, tc = d.loc[common], tg.loc[common]
    agg = lambda frame, cols: pd.Series(lrs(frame, cols), index=common)  # noqa: E731
    out("### VKDNW: BatchNorm mode, initialisation, the authors' code variants\n")
    abl: list[tuple[str, Any]] = [
        ("vkdnw, defaults (batch-statistics BN, PyTorch init)", dd["vkdnw"]),
    ]
    if "running" in by:
        abl.append(
            ("vkdnw, BN on running statistics (eval mode)", by["running"].loc[common, "vkdnw"])
        )
    if "refinit" in by:
        r = by["refinit"].loc[common]
        p = r["n_params"].astype(float)
        abl += [
            ("vkdnw, authors' init + running BN (paper's Fisher)", r["vkdnw"]),
            ("  + softmax smoothing 0.05", r["vkdnw_a05"]),
            ("  + smoothing + J^T L^T L J (authors' code)", r["vkdnw_ltl"]),
            ("vkdnw_single, defaults", dd["vkdnw_single"]),
            ("vkdnw_single, authors' code configuration", p + r["vkdnw_ltl"] / math.log(9)),
        ]
    _table(out, abl, tc)

    out("### AZ-NAS: input batch and initialisation\n")
    out("Rows: which batch (64 CIFAR-10 images, or 64 standard Gaussian images as AZ-NAS's "
        "notebook) and which initialisation (PyTorch's default, or the authors' Kaiming-normal "
        "fan-in). Columns: rho against the 200-epoch cifar10 test accuracy (NB-Suite-Zero "
        "validation accuracy in parentheses). The aggregate always uses the FLOPs of "
        "`az_complexity`.\n")  # fmt: skip
    configs = [("images, PyTorch init", dd), ("images, authors' init", by.get("refinit")),
               ("Gaussian, PyTorch init", by.get("noise")),
               ("Gaussian, authors' init (AZ-NAS's protocol)", by.get("noise_refinit"))]  # fmt: skip
    out("| batch, init | az_expressivity | az_progressivity | az_trainability | jacov | "
        "**AZ-NAS aggregate** | tau of the aggregate (test) |")  # fmt: skip
    out("|---|---|---|---|---|---|---|")
    for label, frame in configs:
        if frame is None:
            continue
        f = frame.loc[common].copy()
        f["az_complexity"] = dd["az_complexity"]
        cells_ = []
        for col in [*AZ[:3], "jacov", None]:
            s = agg(f, AZ) if col is None else pd.to_numeric(f[col], errors="coerce")
            if col == "jacov" and s.isna().all():
                cells_.append("")
                continue
            r1, _ = C.spearman(s, tc["test_200"])
            r2, _ = C.spearman(s, tc["val_nbsz"])
            cells_.append(f"{C.fmt(r1)} ({C.fmt(r2)})")
        tau = C.kendall(agg(f, AZ), tc["test_200"])
        out(f"| {label} | " + " | ".join(cells_) + f" | {C.fmt(tau)} |")
    out("")

    out("### VKDNW_agg: libranas defaults vs the authors' configuration\n")
    rows_ = [("VKDNW_agg, defaults", agg(dd, list(VKDNW_AGG_PROXIES)))]
    if {"refinit", "noise_refinit"} <= set(by):
        r, nr = by["refinit"].loc[common], by["noise_refinit"].loc[common]
        mixed = pd.DataFrame(index=common)
        mixed["vkdnw_single"] = r["n_params"].astype(float) + r["vkdnw_ltl"] / math.log(9)
        mixed["az_expressivity"] = nr["az_expressivity"]
        mixed["az_trainability"] = nr["az_trainability"]
        mixed["flops"] = dd["flops"]
        for label, jac in [("Gaussian batch", nr["jacov"]), ("CIFAR-10 images", dd["jacov"])]:
            m = mixed.assign(jacov=jac)
            rows_.append(
                (f"VKDNW_agg, authors' configuration (jacov on {label})",
                 agg(m, list(VKDNW_AGG_PROXIES)))
            )  # fmt: skip
        m = dd.copy()
        m["az_expressivity"], m["az_trainability"] = nr["az_expressivity"], nr["az_trainability"]
        rows_.append(("VKDNW_agg, defaults but AZ-NAS terms on the Gaussian batch (authors' init)",
                      agg(m, list(VKDNW_AGG_PROXIES))))  # fmt: skip
    rows_.append(("AZ-NAS aggregate, defaults", agg(dd, AZ)))
    _table(out, rows_, tc)


def _findings(out: Any, cells: pd.DataFrame, tg: pd.DataFrame, az_agg: Any, lrs: Any) -> None:
    """The summary: each paper number next to ours, with the explanation of any gap."""
    from libranas.proxies.vkdnw import VKDNW_AGG_PROXIES

    by = {v: g.set_index("arch") for v, g in cells.groupby("variant")}
    d = by["default"]
    t = tg.loc[d.index]

    def rho(s: Any, target: str = "test_200") -> float:
        return C.spearman(pd.to_numeric(pd.Series(s, index=d.index), errors="coerce"), t[target])[0]

    def az_variant(v: str) -> Any:
        if v not in by or not set(d.index) <= set(by[v].index):
            return None
        f = by[v].loc[d.index].copy()
        f["az_complexity"] = d["az_complexity"]
        return az_agg(f)

    vk, az = lrs(d, list(VKDNW_AGG_PROXIES)), az_agg(d)
    ref = dict(_reference_rows(d.index))
    meco = "n/a"
    if "meco (reference)" in ref:
        m = ref["meco (reference)"]
        meco = f"{C.fmt(rho(m))} (test), {C.fmt(rho(m, 'val_nbsz'))} (val)"
    azg, aza = az_variant("noise"), az_variant("noise_refinit")
    n = len(d)
    out("## Summary: the papers' NB201 CIFAR-10 numbers next to ours\n")
    out("| score | paper | ours, test target | ours, NB-Suite-Zero val | cells |")
    out("|---|---|---|---|---|")
    out(f"| VKDNW_agg | 0.919 (tau 0.750) | {C.fmt(rho(vk))} (tau {C.fmt(C.kendall(vk, t['test_200']))}) "
        f"| {C.fmt(rho(vk, 'val_nbsz'))} | {n} |")  # fmt: skip
    out(f"| AZ-NAS, libranas defaults (CIFAR-10 batch) | 0.913 / 0.892 | {C.fmt(rho(az))} "
        f"| {C.fmt(rho(az, 'val_nbsz'))} | {n} |")  # fmt: skip
    if azg is not None:
        out(f"| AZ-NAS, `az_input='gaussian'` | 0.913 / 0.892 | {C.fmt(rho(azg))} "
            f"| {C.fmt(rho(azg, 'val_nbsz'))} | {n} |")  # fmt: skip
    if aza is not None:
        out(f"| AZ-NAS, authors' protocol (Gaussian batch + Kaiming init) | 0.913 (tau 0.741) "
            f"| {C.fmt(rho(aza))} (tau {C.fmt(C.kendall(aza, t['test_200']))}) "
            f"| {C.fmt(rho(aza, 'val_nbsz'))} | {n} |")  # fmt: skip
    out("")
    out("Paper numbers: VKDNW paper Table 1 (VKDNW_agg; AZ-NAS as the VKDNW authors re-ran it: "
        "0.892) and AZ-NAS's own NB201 notebook (0.913, Kendall 0.741, against the 200-epoch "
        "`cifar10` test accuracy of all 15,625 cells).\n")  # fmt: skip
    out("### Findings\n")
    out(f"1. **VKDNW_agg reproduces**: {C.fmt(rho(vk))} against the test accuracy the authors "
        f"use ({C.fmt(rho(vk, 'val_nbsz'))} against NB-Suite-Zero's validation accuracy) vs the "
        "paper's 0.919, with libranas' defaults; the authors' configuration of every component "
        "(see the ablation) gives the same within the bootstrap interval. It is the best score "
        f"here; MeCo on the same cells: {meco}.")  # fmt: skip
    out(f"2. **VKDNW alone is a weak ranker on NB201** ({C.fmt(rho(d['vkdnw']))}); the size "
        f"term carries VKDNW_single: the number of trainable tensors P alone gives "
        f"{C.fmt(rho(d['n_params']))}, P then VKDNW {C.fmt(rho(d['vkdnw_single']))}. With "
        "BatchNorm on its running statistics (the authors' `model.eval()`), nothing normalises "
        "the signal at initialisation: with the authors' Kaiming init the logits explode "
        "(standard deviation about 1e4 on two cells checked), the softmax saturates and F is "
        "numerically 0 unless the code's smoothing (p -> 0.95 p + 0.005) is applied; with "
        "PyTorch's init the activations shrink with depth and a large share of the spectrum "
        "collapses to 0 (40% of the eigenvalues below 1e-12 of the largest on one cell). VKDNW "
        "alone then ranks worse (see the ablation). The libranas default "
        "(`vkdnw_bn='batch'`) is kept: it is the better single proxy and gives the same "
        "aggregate.")  # fmt: skip
    gap = (
        ""
        if azg is None
        else (
            f" On a Gaussian batch (`options={{'az_input': 'gaussian'}}`) the aggregate is "
            f"{C.fmt(rho(azg))}"
            + ("" if aza is None else f", and {C.fmt(rho(aza))} with the authors' Kaiming init too")
            + ", within 0.02 of 0.913 (paired difference to the default "
            + "{:+.3f}, 95% [{:+.3f}, {:+.3f}]".format(
                *paired_rho_difference(az, azg, t["test_200"])
            )
            + "): progressivity is the component that gains from noise inputs (0.47 -> 0.67-0.73 "
            "on the ablation cells)."
        )
    )
    out(f"3. **AZ-NAS: the input batch explains most of the gap.** On the featurizer's CIFAR-10 batch "
        f"the aggregate is {C.fmt(rho(az))} (test target; {C.fmt(rho(az, 'val_nbsz'))} against "
        "the validation accuracy), 0.03-0.04 below AZ-NAS's own 0.913 and within 0.02 of the "
        "VKDNW authors' re-run (0.892). The authors' NB201 code scores AZ-NAS on standard "
        "Gaussian inputs, not images (`az_nas` is not in its `real_input_metrics`)." + gap
        + " With real images, the Kaiming init lowers progressivity further.")  # fmt: skip
    out(
        f"4. **Remaining protocol differences** (not corrected): ranks among {n} random cells "
        "of the NB-Suite-Zero table instead of all 15,625 (sampling error: the 95% bootstrap "
        "intervals above are about +-0.03), one batch and one initialisation per cell (the "
        "VKDNW paper reports the mean of 5 runs), FLOPs counted by libranas instead of read "
        "from the API (about 2% lower on NB201, same ranking up to ties)."
    )
    out(
        "5. **n_inits**: averaging k=3 initialisations moves single proxies by -0.02 to +0.05 "
        "(only grad_norm's gain excludes 0 on 50 cells) and the aggregates by about +0.01, at "
        "3x the cost; `n_inits=1` stays the default, k>1 is worth it for the noisy proxies "
        "(grad_norm, vkdnw, az_progressivity)."
    )
    out(
        "6. **Cost** (table above): VKDNW needs one backward pass of the batch per class (10 for "
        "CIFAR-10, 100 for CIFAR-100), about 4x the AZ-NAS pass, which itself costs about a "
        "forward and a backward. Every registered proxy is in `ProxyFeaturizer`'s default set, "
        "so the default featurization of a cell got slower by about the VKDNW time.\n"
    )


def _reference_rows(index: pd.Index) -> list[tuple[str, Any]]:
    """MeCo / ZiCo of the same cells (same seed and batch) from the L-SWAG study's cache."""
    path = C.CACHE / "lswag_cells.csv"
    if not path.exists():
        return []
    lc = pd.read_csv(path)
    lc = lc[lc["task"] == "cifar10"].drop_duplicates("arch", keep="last").set_index("arch")
    if not set(index) <= set(lc.index):
        return []
    return [
        (f"{name} (reference)", pd.to_numeric(lc.loc[index, name])) for name in ("meco", "zico")
    ]


def _table(out: Any, rows: list[tuple[str, Any]], t: pd.DataFrame) -> None:
    out("| score | " + " | ".join(f"rho vs {TARGET_NAMES[c]}" for c in t.columns)
        + " | tau (test) | 95% CI rho (test) | n |")  # fmt: skip
    out("|---|" + "---|" * (len(t.columns) + 3))
    for name, s in rows:
        s = pd.to_numeric(pd.Series(s), errors="coerce").reindex(t.index)
        rhos = [_rho_cell(s, t[c]) for c in t.columns]
        tau = C.kendall(s, t["test_200"])
        _, lo, hi = C.bootstrap_rho(s, t["test_200"])
        n = int(np.isfinite(s.to_numpy(float)).sum())
        out(
            f"| {name} | "
            + " | ".join(rhos)
            + f" | {C.fmt(tau)} | [{C.fmt(lo)}, {C.fmt(hi)}] | {n} |"
        )
    out("")


def paired_rho_difference(
    a: Any, b: Any, target: Any, n_boot: int = 1000, seed: int = 0
) -> tuple[float, float, float]:
    """rho(b) - rho(a) on the same cells, and its 95% interval over paired bootstrap resamples."""
    from scipy import stats

    a, b, t = (np.asarray(v, float) for v in (a, b, target))
    ok = np.isfinite(a) & np.isfinite(b) & np.isfinite(t)
    a, b, t = a[ok], b[ok], t[ok]
    diff = stats.spearmanr(b, t).statistic - stats.spearmanr(a, t).statistic
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        i = rng.integers(0, a.size, a.size)
        boots.append(stats.spearmanr(b[i], t[i]).statistic - stats.spearmanr(a[i], t[i]).statistic)
    return float(diff), float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))


def _report_inits(out: Any, tg: pd.DataFrame) -> None:
    from libranas.proxies.aznas import log_rank_sum
    from libranas.proxies.vkdnw import VKDNW_AGG_PROXIES

    inits = inits_cache().load()
    if inits.empty:
        return
    k = int(inits["init"].max()) + 1
    wide = {i: g.set_index("arch") for i, g in inits.groupby("init")}
    common = wide[0].index
    for i in range(k):
        common = common.intersection(wide[i].index)
    if len(common) < 10:
        return
    t, tv = tg.loc[common, "test_200"], tg.loc[common, "val_nbsz"]
    out(f"## n_inits: one vs {k} initialisations, {len(common)} cells\n")
    out(
        "`ProxyFeaturizer(n_inits=k)` scores each architecture with k networks initialised "
        "from `arch_seed(arch, 0, i)`, i = 0..k-1 (i = 0 is the single-init seed), on the same "
        "batch, and averages each proxy's raw value (decided: the mean of the raw values, "
        "each on the scale its proxy defines; a mean of ranks would need the whole population "
        "and could not be computed per architecture). Values per initialisation come from the "
        "featurizer's own per-chunk scorer (`_score_archs`, the code path of `n_inits`) and are "
        "averaged here; the test `test_one_init_is_the_default_and_k_inits_are_the_mean_of_"
        "single_inits` checks that `ProxyFeaturizer(n_inits=3)` returns exactly this mean. rho "
        "against the 200-epoch cifar10 test accuracy (against the NB-Suite-Zero validation "
        "accuracy in parentheses); the last column is the paired bootstrap 95% interval of "
        f"rho(k={k}) - rho(k=1) (test target).\n"
    )
    out(
        f"| score | k=1 (init 0) | k=1, inits 0..{k - 1}: mean [min, max] | k={k} (mean of "
        f"values) | rho(k={k}) - rho(k=1) [95%] |"
    )
    out("|---|---|---|---|---|")
    means = pd.DataFrame(
        {p: np.nanmean(np.stack([wide[i].loc[common, p].to_numpy(float) for i in range(k)]), 0)
         for p in INIT_PROXIES}, index=common,
    )  # fmt: skip
    rows = [(p, wide[0].loc[common, p], means[p], [wide[i].loc[common, p] for i in range(k)])
            for p in INIT_PROXIES]  # fmt: skip
    cells = cells_cache().load()
    d = cells[cells["variant"] == "default"].set_index("arch")
    if set(common) <= set(d.index):
        flops = d.loc[common, "flops"].astype(float)
        size = d.loc[common, "n_params"].astype(float)

        def az_agg(frame: pd.DataFrame) -> pd.Series:
            f = frame[AZ[:3]].assign(az_complexity=flops)
            return pd.Series(log_rank_sum(f, AZ), index=common)

        def vk_agg(frame: pd.DataFrame) -> pd.Series:
            f = frame.assign(vkdnw_single=size + frame["vkdnw"] / math.log(9), flops=flops)
            return pd.Series(log_rank_sum(f, list(VKDNW_AGG_PROXIES)), index=common)

        per_init = [wide[i].loc[common] for i in range(k)]
        rows.append(("**AZ-NAS aggregate**", az_agg(per_init[0]), az_agg(means),
                     [az_agg(f) for f in per_init]))  # fmt: skip
        rows.append(("**VKDNW_agg**", vk_agg(per_init[0]), vk_agg(means),
                     [vk_agg(f) for f in per_init]))  # fmt: skip
    for name, first, mean_k, singles in rows:
        single = [C.spearman(s, t)[0] for s in singles]
        r1, rk = C.spearman(first, t)[0], C.spearman(mean_k, t)[0]
        v1, vk = C.spearman(first, tv)[0], C.spearman(mean_k, tv)[0]
        diff, lo, hi = paired_rho_difference(first, mean_k, t)
        out(f"| {name} | {C.fmt(r1)} ({C.fmt(v1)}) | {C.fmt(np.mean(single))} "
            f"[{C.fmt(min(single))}, {C.fmt(max(single))}] | {C.fmt(rk)} ({C.fmt(vk)}) | "
            f"{diff:+.3f} [{lo:+.3f}, {hi:+.3f}] |")  # fmt: skip
    secs = inits.pivot_table(index="arch", columns="init", values="seconds").loc[common]
    out(
        f"\nCost: median {secs[0].median():.1f} s per cell for one initialisation of these "
        f"{len(INIT_PROXIES)} proxies (one fused pass + vkdnw's own pass), "
        f"{secs.sum(axis=1).median():.1f} s for k={k} (k times the work; the later "
        f"initialisations ran at a lower machine load); load average "
        f"{inits['load'].astype(float).median():.1f}.\n"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("score")
    s.add_argument("--n-cells", type=int, default=200)
    s.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    s.add_argument("--threads", type=int, default=1)
    s.add_argument("--max-minutes", type=float, default=None)
    i = sub.add_parser("inits")
    i.add_argument("--n-cells", type=int, default=50)
    i.add_argument("--k", type=int, default=3)
    i.add_argument("--threads", type=int, default=1)
    sub.add_parser("report")
    args = p.parse_args()
    {"score": run_score, "inits": run_inits, "report": report}[args.cmd](args)


if __name__ == "__main__":
    main()
