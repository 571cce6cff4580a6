"""Network features (read from the built PyTorch network) vs the hand-made graph features.

Protocol (every number in ``results/network_features.md``):

- ``features``: :func:`libranas.network_features.network_features` of every architecture of
  the bundled NAS-Bench-Suite-Zero tables (NB201 -- the three tasks share their 724-725
  cells --, NB301, TransNAS-Bench-101-micro) and of the 100 AutoFormer-Tiny subnets of
  Auto-Prox (``../shared/data/autoformer/autoprox/gt_autoformer.json``, built as
  ``benchmarks/lswag_autoformer.py`` builds them: 32 px, patch 4, 100 classes), each built on
  the ``meta`` device with the space's default input shape and classes. Cached in
  ``results/cache/network_features/<space>.csv`` (one row per architecture with its seconds
  and tracer) with a manifest line (``manifest.txt``) saying how it was made.
- ``runs``: 100 labelled architectures drawn uniformly per split (seed = split, seeds 0..29),
  ``ZCRanker(random_state=seed)`` with its defaults fitted on them only, Spearman rho /
  Kendall tau on all other architectures of the table; target = the table's validation
  accuracy. Feature sets: ``proxies+graph+onehot`` (the table's proxy columns plus the
  space's hand-made GRAF-style graph features and one-hot encoding, as
  ``benchmarks/predictors.py``), ``proxies+network`` (proxy columns plus the network
  features), ``proxies+network+graph+onehot`` (both). Columns constant on the labelled rows
  are dropped before the fit (they carry nothing and slow the ensemble down). Order:
  benchmark by benchmark (NB301 first), every split of a benchmark before the next, so a
  stopped run has whole benchmarks; runs are appended to
  ``results/cache/network_features_runs.csv`` and resume.
- ``autoformer``: the 100 AutoFormer-Tiny subnets as a user's space (network features only,
  nothing space-specific): 10 / 20 / 50 labelled (30 splits, seeds 0..29), rho on the
  others, proxies only (the registered proxies of ``results/lswag_autoformer.csv``), network
  features only, both; every target of Auto-Prox. Paired interval (proxies+network minus
  proxies, 20 labelled, c100_kd_acc) over the 30 splits: mean difference +- 1.96 sd/sqrt(30)
  and a sign count.
- ``transfer``: see :mod:`libranas.transfer` and ``benchmarks/results/network_features.md``.

Nothing was tuned: ZCRanker's defaults (chosen by ``benchmarks/predictors.py --dev`` on seeds
1000-1009) are used as they are; no development splits of this study are reported because
none were used for a choice.

    nohup python benchmarks/network_features.py features > nf.log &
    nohup python benchmarks/network_features.py runs >> nf.log &
    python benchmarks/network_features.py autoformer
    python benchmarks/network_features.py transfer
    python benchmarks/network_features.py report
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

FEAT_DIR = C.CACHE / "network_features"
MANIFEST = FEAT_DIR / "manifest.txt"
RUNS = C.CACHE / "network_features_runs.csv"
AF_RUNS = C.CACHE / "network_features_autoformer_runs.csv"
TRANSFER_RUNS = C.CACHE / "network_features_transfer_runs.csv"
REPORT = C.RESULTS / "network_features.md"
AF_GT = C.DATA / "autoformer" / "autoprox" / "gt_autoformer.json"
AF_PROXIES = C.RESULTS / "lswag_autoformer.csv"

BENCHMARKS = [
    "nb301-cifar10",
    "nb201-cifar10",
    "nb201-cifar100",
    "nb201-imagenet16-120",
    "tnb101-micro-autoencoder",
    "tnb101-micro-class_object",
    "tnb101-micro-class_scene",
    "tnb101-micro-jigsaw",
    "tnb101-micro-normal",
    "tnb101-micro-room_layout",
    "tnb101-micro-segmentsemantic",
]
FEATURE_SETS = ["proxies+graph+onehot", "proxies+network", "proxies+network+graph+onehot"]
SEEDS = range(30)
N_LABELLED = 100
AF_TARGETS = [
    "c100_kd_acc",
    "c100_base_acc",
    "flower_base_acc",
    "flower_kd_acc",
    "chaoyang_base_acc",
    "chaoyang_kd_acc",
    "imagenet_super_acc",
]
AF_SIZES = [10, 20, 50]
AF_SETS = ["proxies", "network", "proxies+network"]


def _torch_one_thread() -> None:
    import torch

    torch.set_num_threads(1)


def autoformer_space():
    from libranas.spaces import get_space

    return get_space("autoformer-tiny", img_size=32, patch_size=4, num_classes=100)


def _bench(name: str):
    from libranas import load_benchmark

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tables' NaN cells are reported by the loader
        return load_benchmark(name, libranas_proxies=False)


# --------------------------------------------------------------------------- features


def _feature_file(space_name: str) -> Path:
    return FEAT_DIR / f"{space_name}.csv"


def compute_features(space_name: str, space, archs: list, keys: list[str]) -> pd.DataFrame:
    """Network features of ``archs`` (cached by ``keys``), appended to the space's file."""
    from libranas import network_features as nf

    path = _feature_file(space_name)
    done = pd.read_csv(path, index_col="arch") if path.exists() else None
    have = set() if done is None else set(done.index)
    names = nf.network_feature_names()
    todo = [(k, a) for k, a in zip(keys, archs, strict=True) if k not in have]
    if todo:
        FEAT_DIR.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        rows = []
        for i, (key, arch) in enumerate(todo):
            row = nf.network_features(space, arch)
            info = nf.trace_info(space, arch)
            rows.append({"arch": key, "seconds": info["seconds"], "tracer": info["tracer"],
                         "device": info["device"], **dict(zip(names, row, strict=True))})  # fmt: skip
            if (i + 1) % 100 == 0 or i + 1 == len(todo):
                new = pd.DataFrame(rows).set_index("arch")
                header = not path.exists()
                new.to_csv(path, mode="a", header=header)
                rows = []
                print(f"{space_name}: {i + 1}/{len(todo)} archs, "
                      f"{time.perf_counter() - start:.0f} s", flush=True)  # fmt: skip
        with MANIFEST.open("a") as fh:
            fh.write(
                f"{space_name}.csv: +{len(todo)} archs by `python benchmarks/network_features.py "
                f"features` at git {C.code_version()}, {time.strftime('%Y-%m-%d %H:%M')} UTC, "
                f"{platform.processor() or platform.machine()}, torch 1 thread; "
                "libranas.network_features.network_features(space, arch) with the space's "
                "default input shape and classes\n"
            )
        done = pd.read_csv(path, index_col="arch")
    return done.loc[keys]


def features_stage() -> None:
    _torch_one_thread()
    seen: set[str] = set()
    for name in BENCHMARKS:
        bench = _bench(name)
        from libranas.spaces import get_space

        space = get_space(bench.space)
        archs = list(bench.X.index)
        key = bench.space
        keys = [str(a) for a in archs]
        compute_features(key, space, space.validate_many(archs), keys)
        seen.add(key)
    records = json.loads(AF_GT.read_text())
    sp = autoformer_space()
    archs = [sp.validate(r["arch"]) for r in records]
    compute_features("autoformer-tiny-32px", sp, archs, [str(i) for i in range(len(archs))])


def network_table(name: str) -> pd.DataFrame:
    """Network feature columns (``network:<name>``) of a benchmark's architectures."""
    bench = _bench(name)
    feats = pd.read_csv(_feature_file(bench.space), index_col="arch")
    feats = feats.loc[[str(a) for a in bench.X.index]].drop(columns=["seconds", "tracer", "device"])
    feats.index = bench.X.index
    feats.columns = [f"network:{c}" for c in feats.columns]
    return feats


# --------------------------------------------------------------------------- runs

_TABLES: dict[str, tuple[pd.DataFrame, np.ndarray, dict[str, list[str]]]] = {}


def table(name: str) -> tuple[pd.DataFrame, np.ndarray, dict[str, list[str]]]:
    if name not in _TABLES:
        from libranas import ArchFeaturizer

        bench = _bench(name)
        parts, groups = [bench.X], {"proxies": list(bench.X.columns)}
        for group in ("graph", "onehot"):
            feats = ArchFeaturizer(bench.space, features=[group]).fit(bench.X.index)
            cols = [str(c) for c in feats.get_feature_names_out()]
            parts.append(pd.DataFrame(feats.transform(bench.X.index), bench.X.index, cols))
            groups[group] = cols
        net = network_table(name)
        parts.append(net)
        groups["network"] = list(net.columns)
        _TABLES[name] = (pd.concat(parts, axis=1), bench.y.to_numpy(dtype=float), groups)
    return _TABLES[name]


def fit_predict(X: pd.DataFrame, y: np.ndarray, labelled: np.ndarray, seed: int) -> np.ndarray:
    """ZCRanker() on the labelled rows (columns constant there dropped), scores of the rest."""
    from libranas import ZCRanker

    Xl = X[labelled]
    keep = [c for c in X.columns if Xl[c].nunique(dropna=True) > 1]
    model = ZCRanker(random_state=seed).fit(Xl[keep], y[labelled])
    return model.predict(X.loc[~labelled, keep])


def one_run(name: str, features: str, seed: int, n: int = N_LABELLED) -> dict:
    from libranas.metrics import kendall, spearman

    X, y, groups = table(name)
    cols = [c for part in features.split("+") for c in groups[part]]
    rng = np.random.default_rng(seed)
    labelled = np.zeros(len(y), dtype=bool)
    labelled[rng.choice(len(y), size=n, replace=False)] = True
    t = time.perf_counter()
    scores = fit_predict(X[cols], y, labelled, seed)
    return {
        "benchmark": name,
        "features": features,
        "n_labelled": n,
        "seed": seed,
        "n_evaluated": int((~labelled).sum()),
        "rho": spearman(y[~labelled], scores),
        "tau": kendall(y[~labelled], scores),
        "seconds": round(time.perf_counter() - t, 2),
        "code": C.code_version(),
    }


def _append(path: Path, row: dict) -> None:
    pd.DataFrame([row]).to_csv(path, mode="a", header=not path.exists(), index=False)


def runs_stage(benchmarks: list[str], seeds: range) -> None:
    _torch_one_thread()
    done = set()
    if RUNS.exists():
        old = pd.read_csv(RUNS)
        done = set(zip(old.benchmark, old.features, old.seed, strict=True))
    for name in benchmarks:
        for seed in seeds:
            for features in FEATURE_SETS:
                if (name, features, seed) in done:
                    continue
                row = one_run(name, features, seed)
                _append(RUNS, row)
                print(f"{name} {features} seed {seed}: rho {row['rho']:.3f} "
                      f"({row['seconds']} s)", flush=True)  # fmt: skip


# --------------------------------------------------------------------------- AutoFormer


def autoformer_table() -> tuple[pd.DataFrame, pd.DataFrame, dict[str, list[str]]]:
    from libranas.proxies import list_proxies

    df = pd.read_csv(AF_PROXIES).sort_values("index").reset_index(drop=True)
    proxies = [p for p in list_proxies() if p in df.columns]
    Z = df[proxies].astype(float)
    Z.columns = [f"proxy:{c}" for c in proxies]
    feats = pd.read_csv(_feature_file("autoformer-tiny-32px"), index_col="arch")
    feats = feats.loc[df["index"].to_numpy()].drop(columns=["seconds", "tracer", "device"])
    feats.columns = [f"network:{c}" for c in feats.columns]
    feats.index = Z.index
    gt = json.loads(AF_GT.read_text())
    Y = pd.DataFrame([{t: r[t] for t in AF_TARGETS} for r in gt]).iloc[df["index"].to_numpy()]
    Y.index = Z.index
    X = pd.concat([Z, feats], axis=1)
    return X, Y, {"proxies": list(Z.columns), "network": list(feats.columns)}


def autoformer_stage(seeds: range) -> None:
    from libranas.metrics import kendall, spearman

    _torch_one_thread()
    X, Y, groups = autoformer_table()
    done = set()
    if AF_RUNS.exists():
        old = pd.read_csv(AF_RUNS)
        done = set(zip(old.target, old.features, old.n_labelled, old.seed, strict=True))
    for target in AF_TARGETS:
        y = Y[target].to_numpy(dtype=float)
        for n in AF_SIZES:
            for seed in seeds:
                rng = np.random.default_rng(seed)
                labelled = np.zeros(len(y), dtype=bool)
                labelled[rng.choice(len(y), size=n, replace=False)] = True
                for features in AF_SETS:
                    if (target, features, n, seed) in done:
                        continue
                    cols = [c for part in features.split("+") for c in groups[part]]
                    scores = fit_predict(X[cols], y, labelled, seed)
                    row = {
                        "target": target,
                        "features": features,
                        "n_labelled": n,
                        "seed": seed,
                        "n_evaluated": int((~labelled).sum()),
                        "rho": spearman(y[~labelled], scores),
                        "tau": kendall(y[~labelled], scores),
                        "code": C.code_version(),
                    }
                    _append(AF_RUNS, row)
            print(f"autoformer {target} n={n} done", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("stage", choices=["features", "runs", "autoformer", "transfer", "report"])
    parser.add_argument("--benchmarks", nargs="*", default=BENCHMARKS)
    parser.add_argument("--seeds", type=int, default=len(SEEDS))
    args = parser.parse_args()
    if args.stage == "features":
        features_stage()
    elif args.stage == "runs":
        runs_stage(args.benchmarks, range(args.seeds))
    elif args.stage == "autoformer":
        autoformer_stage(range(args.seeds))
    elif args.stage == "transfer":
        from libranas.transfer import leave_one_space_out  # noqa: F401

        transfer_stage()
    else:
        report()


if __name__ == "__main__":
    main()
