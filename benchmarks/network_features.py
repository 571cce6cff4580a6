"""Network features (read from the built PyTorch network) vs the hand-made graph features.

Protocol (every number in ``results/network_features.md``):

- ``features``: :func:`libranas.network_features.network_features` of every architecture of
  the bundled NAS-Bench-Suite-Zero tables (NB201 -- the three tasks share their 724-725
  cells --, NB301, TransNAS-Bench-101-micro) and of the 100 AutoFormer-Tiny subnets of
  Auto-Prox (``../shared/data/autoformer/autoprox/gt_autoformer.json``, built as
  ``benchmarks/lswag_autoformer.py`` builds them: 32 px, patch 4, 100 classes), each built on
  the ``meta`` device with the space's default input shape and classes. Cached in
  ``benchmarks/data/network_features/<space>.csv`` (one row per architecture with its seconds
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
  ``benchmarks/data/network_features_runs.csv`` and resume.
- ``blocks``: :func:`libranas.repeated_blocks.block_description` of the same architectures
  (one JSON line each, ``benchmarks/data/network_features/<space>-blocks.jsonl``); the
  ``blocks`` columns of a table are fixed on all of its architectures (label-free, as
  ``ArchFeaturizer(space, features=("blocks",)).fit`` on the table), constant ones dropped.
  Feature sets ``proxies+network+blocks`` and ``proxies+network+blocks+graph+onehot`` in
  ``runs``.
- ``dev``: seeds 1000-1009 on 4 tables, ``proxies+network+blocks`` vs ``proxies+blocks``;
  the declared rule picks the study's candidate (see the report).
- ``dev`` (session 22, the block cell graph): the blocks now also carry GRAF's whole feature
  set on each block's cell graph (``<variant>:graph:...`` columns of
  :mod:`libranas.repeated_blocks`, the study's group ``blockgraph``). Two ways to use them,
  each against the session-21 candidate ``proxies+network+blocks`` (``blocks`` = the block
  columns without ``:graph:``, exactly the session-21 columns):
  *join* ``proxies+network+blocks+blockgraph`` (every block column) and *replace*
  ``proxies+network+blockpos+blockgraph`` (``blockpos`` = ``blocks`` without its old path
  summaries ``:paths:`` / ``:op:`` / ``:dead:`` / ``:param_free:``, which the cell graph
  recomputes; per-position operations, wiring, parameters and counts kept). **Rule,
  declared before these runs**: on the development benchmarks ``DEV_BENCHMARKS`` x seeds
  1000-1009 (never reported), of the three the one with the highest mean rho (mean over the
  40 runs) is the study's "network features" candidate (``chosen_block_set``); the reported
  100-label runs (seeds 0-29) are then made for it and for it + graph + one-hot ("all"),
  on every table, and the AutoFormer-Tiny rows for ``network+<it>`` and
  ``proxies+network+<it>`` (block columns of the 100 subnets, label-free). If the
  session-21 candidate wins, nothing new is run and the report says so.
- ``dev`` (session 23, the inputs' preprocessing): :mod:`libranas.repeated_blocks` now
  starts a block's cell graph at its inputs' preprocessed states when the block has two or
  more inputs and a position is the only reader of one (DARTS' ``preprocess0`` / ``1``), as
  GRAF's cell graph does; before, every path ran through a preprocessing convolution, so no
  NB301 path was parameter-free or through one operation only. Only NB301's ``blockgraph``
  columns change (the other spaces' block caches were recomputed: identical values). **Rule,
  declared before these runs**: on NB301 x seeds 1000-1009 (the one development table whose
  columns change), the change is kept when ``proxies+network+blocks+blockgraph`` has a mean
  rho at least that of its session-22 rows (archived in
  ``network_features_dev_runs_s22.csv``), else reverted. NB301's rows of every feature set
  with ``blockgraph`` made before it (development, 100-label runs, the transfer's
  ``within+own`` rows) are archived in ``*_s22.csv`` next to their caches and recomputed.
- ``autoformer``: the 100 AutoFormer-Tiny subnets as a user's space (network features only,
  nothing space-specific): 10 / 20 / 50 labelled (30 splits, seeds 0..29), rho on the
  others, proxies only (the registered proxies of ``results/lswag_autoformer.csv``), network
  features only, both; every target of Auto-Prox. Paired interval (proxies+network minus
  proxies, 20 labelled, c100_kd_acc) over the 30 splits: mean difference +- 1.96 sd/sqrt(30)
  and a sign count.
- ``transfer``: see :mod:`libranas.transfer` and ``benchmarks/results/network_features.md``.

ZCRanker's defaults (chosen by ``benchmarks/predictors.py --dev`` on seeds 1000-1009) are used
as they are; the one choice of this study (which block feature set) is made on its ``dev``
splits, never reported as results.

    nohup python benchmarks/network_features.py features > nf.log &
    nohup python benchmarks/network_features.py blocks >> nf.log &
    python benchmarks/network_features.py dev
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

BENCHMARKS = ["nb301-cifar10", *C.NB201_TABLES, *C.TNB101_MICRO_TABLES]
FEATURE_SETS = [
    "proxies+graph+onehot",
    "proxies+network",
    "proxies+network+graph+onehot",
    "proxies+network+blocks",
    "proxies+network+blocks+graph+onehot",
    # session 22: the block cell graph joined to / replacing the old block path columns
    "proxies+network+blocks+blockgraph",
    "proxies+network+blocks+blockgraph+graph+onehot",
    "proxies+network+blockpos+blockgraph",
    "proxies+network+blockpos+blockgraph+graph+onehot",
]
#: the session-21 feature sets (always in the report)
BASE_SETS = FEATURE_SETS[:5]
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
    return C.quiet_benchmark(name)  # the tables' NaN cells are reported by the loader


# --------------------------------------------------------------------------- features


def _feature_file(space_name: str) -> Path:
    return FEAT_DIR / f"{space_name}.csv"


def compute_features(space_name: str, space, archs: list, keys: list[str]) -> pd.DataFrame:
    """Network features of ``archs`` (cached by ``keys``), appended to the space's file."""
    from libranas import network_features as nf

    path = _feature_file(space_name)
    done = pd.read_csv(path, index_col="arch", dtype={"arch": str}) if path.exists() else None
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
        done = pd.read_csv(path, index_col="arch", dtype={"arch": str})
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


def _block_file(space_name: str) -> Path:
    return FEAT_DIR / f"{space_name}-blocks.jsonl"


def compute_blocks(space_name: str, space, archs: list, keys: list[str]) -> dict[str, dict]:
    """Repeated-block descriptions of ``archs`` (cached by ``keys``, one JSON line each)."""
    from libranas import repeated_blocks as bf

    path = _block_file(space_name)
    done = {}
    if path.exists():
        for line in path.read_text().splitlines():
            rec = json.loads(line)
            done[rec["arch"]] = rec
    todo = [(k, a) for k, a in zip(keys, archs, strict=True) if k not in done]
    if todo:
        FEAT_DIR.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        with path.open("a") as fh:
            for i, (key, arch) in enumerate(todo):
                t = time.perf_counter()
                values = bf.block_description(space, arch)
                rec = {"arch": key, "seconds": round(time.perf_counter() - t, 4), "values": values}
                fh.write(json.dumps(rec, sort_keys=True) + "\n")
                done[key] = rec
                if (i + 1) % 100 == 0 or i + 1 == len(todo):
                    fh.flush()
                    print(f"{space_name} blocks: {i + 1}/{len(todo)} archs, "
                          f"{time.perf_counter() - start:.0f} s", flush=True)  # fmt: skip
        with MANIFEST.open("a") as fh:
            fh.write(
                f"{path.name}: +{len(todo)} archs by `python benchmarks/network_features.py "
                f"blocks` at git {C.code_version()}, {time.strftime('%Y-%m-%d %H:%M')} UTC, "
                f"{platform.processor() or platform.machine()}, torch 1 thread; "
                "libranas.repeated_blocks.block_description(space, arch) with the space's "
                "default input shape and classes\n"
            )
    return {k: done[k] for k in keys}


def blocks_stage() -> None:
    _torch_one_thread()
    from libranas.spaces import get_space

    archs_of: dict[str, dict[str, object]] = {}  # space -> every table's architectures
    for name in BENCHMARKS:
        bench = _bench(name)
        archs_of.setdefault(bench.space, {}).update({str(a): a for a in bench.X.index})
    for space_name, archs in archs_of.items():
        space = get_space(space_name)
        compute_blocks(space_name, space, space.validate_many(list(archs.values())), list(archs))
    records = json.loads(AF_GT.read_text())
    sp = autoformer_space()
    archs = [sp.validate(r["arch"]) for r in records]
    compute_blocks("autoformer-tiny-32px", sp, archs, [str(i) for i in range(len(archs))])


def block_table(space_name: str, keys: list[str], index) -> pd.DataFrame:
    """``blocks:<name>`` columns of the architectures ``keys`` of a space's cache.

    The columns are fixed on all of the table's architectures (label-free, as
    ``ArchFeaturizer(space, features=("blocks",)).fit(archs)`` on the whole table would)."""
    from libranas import repeated_blocks as bf

    path = _block_file(space_name)
    recs = {}
    for line in path.read_text().splitlines():
        rec = json.loads(line)
        recs[rec["arch"]] = rec["values"]
    missing = [k for k in keys if k not in recs]
    if missing:
        raise SystemExit(f"{path} lacks {len(missing)} archs; run the `blocks` stage first")
    desc = [recs[k] for k in keys]
    names = bf.block_vocabulary(desc)
    return pd.DataFrame(bf.block_matrix(desc, names), index=index,
                        columns=[f"blocks:{n}" for n in names])  # fmt: skip


#: the old block columns' path summaries, recomputed by the cell graph (``blockpos`` drops them)
OLD_PATH_TAGS = (":paths:", ":op:", ":dead:", ":param_free:")


def block_groups(columns: list[str]) -> dict[str, list[str]]:
    """``blocks`` (the session-21 block columns: everything but the cell graph),
    ``blockpos`` (those without their path summaries) and ``blockgraph`` (GRAF on the
    block cell graph, ``:graph:``)."""
    graph = [c for c in columns if ":graph:" in c]
    old = [c for c in columns if ":graph:" not in c]
    return {"blocks": old, "blockgraph": graph,
            "blockpos": [c for c in old if not any(t in c for t in OLD_PATH_TAGS)]}  # fmt: skip


def network_table(name: str) -> pd.DataFrame:
    """Network feature columns (``network:<name>``) of a benchmark's architectures."""
    bench = _bench(name)
    feats = pd.read_csv(_feature_file(bench.space), index_col="arch", dtype={"arch": str})
    feats = feats.loc[[str(a) for a in bench.X.index]].drop(columns=["seconds", "tracer", "device"])
    feats.index = bench.X.index
    feats.columns = [f"network:{c}" for c in feats.columns]
    return feats


# --------------------------------------------------------------------------- runs

_TABLES: dict[str, tuple[pd.DataFrame, np.ndarray, dict[str, list[str]]]] = {}


def table(name: str) -> tuple[pd.DataFrame, np.ndarray, dict[str, list[str]]]:
    if name not in _TABLES:
        X, y, groups = C.table_with_arch_features(name, ("graph", "onehot"))
        parts = [X]
        net = network_table(name)
        # columns constant over the whole table (e.g. attention columns of a CNN space) say
        # nothing about any architecture: dropped without looking at a label
        net = net.loc[:, net.nunique(dropna=True) > 1]
        parts.append(net)
        groups["network"] = list(net.columns)
        bench = _bench(name)
        blocks = block_table(bench.space, [str(a) for a in bench.X.index], bench.X.index)
        blocks = blocks.loc[:, blocks.nunique(dropna=True) > 1]  # label-free, as above
        parts.append(blocks)
        groups.update(block_groups(list(blocks.columns)))
        _TABLES[name] = (pd.concat(parts, axis=1), y, groups)
    return _TABLES[name]


def fit_predict(X: pd.DataFrame, y: np.ndarray, labelled: np.ndarray, seed: int) -> np.ndarray:
    """``ZCRanker(random_state=seed)`` on the labelled rows, scores of the others (exactly
    ``benchmarks/predictors.py``'s run)."""
    from libranas import ZCRanker

    model = ZCRanker(random_state=seed).fit(X[labelled], y[labelled])
    return model.predict(X[~labelled])


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
        "source": "run",
    }


#: proxies+graph+onehot at 100 labels is exactly benchmarks/predictors.py's default run; its
#: cached rows are reused for seeds >= REPRODUCE once seeds < REPRODUCE reproduce them here
REPRODUCE = 2
#: largest |rho difference| that counts as reproduced (xgboost's float sums differ by ~1e-7)
REPRODUCE_TOL = 1e-6
PREDICTOR_RUNS = C.CACHE / "predictors_runs.csv"


def _cached_predictor_run(name: str, seed: int) -> dict | None:
    if not PREDICTOR_RUNS.exists():
        return None
    old = pd.read_csv(PREDICTOR_RUNS)
    hit = old[(old.benchmark == name) & (old.features == "proxies+graph+onehot")
              & (old.predictor == "ensemble (default)") & (old.n_labelled == N_LABELLED)
              & (old.seed == seed)]  # fmt: skip
    return None if hit.empty else hit.iloc[0].to_dict()


def _append(path: Path, row: dict) -> None:
    pd.DataFrame([row]).to_csv(path, mode="a", header=not path.exists(), index=False)


def runs_stage(benchmarks: list[str], seeds: range, feature_sets: list[str] | None = None) -> None:
    """The reported runs (``reported_sets()`` unless ``feature_sets`` names others)."""
    _torch_one_thread()
    if feature_sets is None:
        feature_sets = reported_sets()
    done = set()
    if RUNS.exists():
        old = pd.read_csv(RUNS)
        done = set(zip(old.benchmark, old.features, old.seed, strict=True))
    old_runs = pd.read_csv(RUNS) if RUNS.exists() else None
    for name in benchmarks:
        reproduced = True
        if old_runs is not None:  # the reproduction check of a resumed benchmark
            mine = old_runs[(old_runs.benchmark == name)
                            & old_runs.source.astype(str).str.startswith("run (")]  # fmt: skip
            for src, rho in zip(mine.source, mine.rho, strict=True):
                reproduced &= abs(float(src.split(": ")[1].rstrip(")")) - rho) < REPRODUCE_TOL
        for seed in seeds:
            for features in feature_sets:
                if (name, features, seed) in done:
                    continue
                cached = None
                if features == "proxies+graph+onehot":
                    cached = _cached_predictor_run(name, seed)
                if cached is not None and seed >= REPRODUCE and reproduced:
                    row = {k: cached[k] for k in ("benchmark", "features", "n_labelled", "seed",
                                                  "n_evaluated", "rho", "tau")}  # fmt: skip
                    row.update(seconds=float("nan"), code=C.code_version(),
                               source="predictors_runs.csv")  # fmt: skip
                    _append(RUNS, row)
                    continue
                row = one_run(name, features, seed)
                if cached is not None and seed < REPRODUCE:
                    same = abs(row["rho"] - cached["rho"]) < REPRODUCE_TOL
                    reproduced = reproduced and same
                    row["source"] = f"run (predictors_runs.csv: {cached['rho']:.6f})"
                _append(RUNS, row)
                print(f"{name} {features} seed {seed}: rho {row['rho']:.3f} "
                      f"({row['seconds']} s)", flush=True)  # fmt: skip


# --------------------------------------------------------------------------- development

DEV_RUNS = C.CACHE / "network_features_dev_runs.csv"
#: development splits (never reported as results): the selection rule, declared before the
#: runs -- of the two block feature sets, the one with the higher mean rho over these seeds
#: and the development benchmarks is the study's "network features" candidate
DEV_SEEDS = range(1000, 1010)
DEV_BENCHMARKS = ["nb301-cifar10", "nb201-cifar10", "nb201-imagenet16-120",
                  "tnb101-micro-class_scene"]  # fmt: skip
DEV_SETS = ["proxies+network+blocks", "proxies+blocks"]
#: session 22: the three candidates of the declared rule (module docstring)
BLOCK_CANDIDATES = ["proxies+network+blocks", "proxies+network+blocks+blockgraph",
                    "proxies+network+blockpos+blockgraph"]  # fmt: skip


def chosen_block_set(dev: pd.DataFrame | None = None) -> str | None:
    """The declared rule on the development runs: of :data:`BLOCK_CANDIDATES`, the highest
    mean rho over :data:`DEV_BENCHMARKS` x :data:`DEV_SEEDS`; None until all are run."""
    if dev is None:
        if not DEV_RUNS.exists():
            return None
        dev = session22_dev(pd.read_csv(DEV_RUNS))
    dev = dev[dev.benchmark.isin(DEV_BENCHMARKS) & dev.seed.isin(DEV_SEEDS)]
    dev = dev.drop_duplicates(["benchmark", "features", "seed"])
    counts = dev.groupby("features").size()
    if any(counts.get(f, 0) < len(DEV_BENCHMARKS) * len(DEV_SEEDS) for f in BLOCK_CANDIDATES):
        return None
    means = dev[dev.features.isin(BLOCK_CANDIDATES)].groupby("features").rho.mean()
    return str(means.idxmax())


DEV_RUNS_S22 = C.CACHE / "network_features_dev_runs_s22.csv"


def session22_dev(dev: pd.DataFrame) -> pd.DataFrame:
    """The development rows session 22's choice was made on: today's rows with the archived
    ones (NB301's, before session 23 contracted the inputs' preprocessing) in place of theirs.
    That choice stands as made; session 23's rows decide only the contraction."""
    if not DEV_RUNS_S22.exists():
        return dev
    old = pd.read_csv(DEV_RUNS_S22)
    replaced = set(zip(old.benchmark, old.features, strict=True))
    keep = [(b, f) not in replaced for b, f in zip(dev.benchmark, dev.features, strict=True)]
    return pd.concat([dev[keep], old], ignore_index=True)


#: session 23's rule (module docstring): the set and table whose development rows decide
PREPROCESSING_SET, PREPROCESSING_TABLE = "proxies+network+blocks+blockgraph", "nb301-cifar10"


def preprocessing_rule(dev: pd.DataFrame | None = None) -> tuple[float, float] | None:
    """Session 23's declared rule: the mean development rho of :data:`PREPROCESSING_SET` on
    :data:`PREPROCESSING_TABLE` with the session-22 cell graph (archived rows) and with the
    inputs' preprocessing contracted (today's rows); None until both have every seed."""
    if dev is None:
        dev = pd.read_csv(DEV_RUNS) if DEV_RUNS.exists() else pd.DataFrame()
    if dev.empty or not DEV_RUNS_S22.exists():
        return None
    means = []
    for frame in (pd.read_csv(DEV_RUNS_S22), dev):
        r = frame[(frame.benchmark == PREPROCESSING_TABLE) & (frame.features == PREPROCESSING_SET)
                  & frame.seed.isin(DEV_SEEDS)].drop_duplicates("seed")  # fmt: skip
        if len(r) < len(DEV_SEEDS):
            return None
        means.append(float(r.rho.mean()))
    return means[0], means[1]


def reported_sets() -> list[str]:
    """The feature sets of the reported runs: the session-21 ones, and the candidate the
    rule chose (with graph + one-hot) when it is a new one."""
    chosen = chosen_block_set()
    if chosen is None or chosen in BASE_SETS:
        return list(BASE_SETS)
    return [*BASE_SETS, chosen, f"{chosen}+graph+onehot"]


def dev_stage() -> None:
    _torch_one_thread()
    done = set()
    if DEV_RUNS.exists():
        old = pd.read_csv(DEV_RUNS)
        done = set(zip(old.benchmark, old.features, old.seed, strict=True))
    for name in DEV_BENCHMARKS:
        for seed in DEV_SEEDS:
            for features in dict.fromkeys(DEV_SETS + BLOCK_CANDIDATES):
                if (name, features, seed) not in done:
                    row = one_run(name, features, seed)
                    _append(DEV_RUNS, row)
                    print(f"dev {name} {features} seed {seed}: rho {row['rho']:.3f}", flush=True)
        print(f"dev {name} done", flush=True)
    print(f"chosen by the declared rule: {chosen_block_set()}", flush=True)


# --------------------------------------------------------------------------- AutoFormer


def autoformer_table() -> tuple[pd.DataFrame, pd.DataFrame, dict[str, list[str]]]:
    from libranas.proxies import list_proxies

    df = pd.read_csv(AF_PROXIES).sort_values("index").reset_index(drop=True)
    proxies = [p for p in list_proxies() if p in df.columns]
    Z = df[proxies].astype(float)
    Z.columns = [f"proxy:{c}" for c in proxies]
    feats = pd.read_csv(
        _feature_file("autoformer-tiny-32px"), index_col="arch", dtype={"arch": str}
    )
    feats = feats.loc[df["index"].astype(str).to_numpy()].drop(
        columns=["seconds", "tracer", "device"]
    )
    feats.columns = [f"network:{c}" for c in feats.columns]
    feats.index = Z.index
    gt = json.loads(AF_GT.read_text())
    Y = pd.DataFrame([{t: r[t] for t in AF_TARGETS} for r in gt]).iloc[df["index"].to_numpy()]
    Y.index = Z.index
    keys = df["index"].astype(str).tolist()
    blocks = block_table("autoformer-tiny-32px", keys, Z.index)
    X = pd.concat([Z, feats, blocks], axis=1)
    groups = {"proxies": list(Z.columns), "network": list(feats.columns)}
    return X, Y, {**groups, **block_groups(list(blocks.columns))}


def af_sets() -> list[str]:
    """AutoFormer feature sets: proxies, network, both, and network (+ proxies) + the block
    columns of the development rule's candidate (session 21's ``blocks`` until it has run)."""
    chosen = chosen_block_set() or "proxies+network+blocks"
    blocks = chosen.removeprefix("proxies+network+")
    return [*AF_SETS, f"network+{blocks}", f"proxies+network+{blocks}"]


def autoformer_stage(seeds: range) -> None:
    from libranas.metrics import kendall, spearman

    _torch_one_thread()
    X, Y, groups = autoformer_table()
    # columns constant over the 100 networks (convolution types, ...): dropped, label-free
    groups = {g: cols if g == "proxies" else [c for c in cols if X[c].nunique() > 1]
              for g, cols in groups.items()}  # fmt: skip
    sets = af_sets()
    done = set()
    if AF_RUNS.exists():
        old = pd.read_csv(AF_RUNS)
        done = set(zip(old.target, old.features, old.n_labelled, old.seed, strict=True))
    # c100_kd_acc at 20, 10, 50 labels first, then the other targets at 20, then at 10 and 50
    plan = [("c100_kd_acc", n) for n in (20, 10, 50)]
    plan += [(t, n) for n in (20, 10, 50) for t in AF_TARGETS if t != "c100_kd_acc"]
    for target, n in plan:
        y = Y[target].to_numpy(dtype=float)
        for seed in seeds:
            rng = np.random.default_rng(seed)
            labelled = np.zeros(len(y), dtype=bool)
            labelled[rng.choice(len(y), size=n, replace=False)] = True
            for features in sets:
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


# --------------------------------------------------------------------------- transfer

#: proxy columns every table of the transfer study has (NB-Suite-Zero tables and the
#: AutoFormer proxy cache; synflow is missing from TNB101-micro, zen from NB201 / NB301)
TRANSFER_PROXIES = ["epe_nas", "fisher", "flops", "grad_norm", "grasp", "jacov", "l2_norm",
                    "nwot", "params", "plain", "snip"]  # fmt: skip
TRANSFER_ORDER = [
    "nb301-cifar10",
    "autoformer-tiny",
    "nb201-cifar10",
    "tnb101-micro-class_scene",
    "nb201-cifar100",
    "nb201-imagenet16-120",
    "tnb101-micro-jigsaw",
    "tnb101-micro-autoencoder",
    "tnb101-micro-class_object",
    "tnb101-micro-normal",
    "tnb101-micro-room_layout",
    "tnb101-micro-segmentsemantic",
]
AF_AZ = C.CACHE / "lswag_vit_autoformer.csv"


def autoformer_training_free() -> np.ndarray:
    """Log-rank of ``TRAINING_FREE_DEFAULT`` on the 100 AutoFormer-Tiny subnets, in the
    order of :func:`autoformer_table` (AZ-NAS scores from ``lswag_vit_autoformer.csv``)."""
    from libranas.proxies import TRAINING_FREE_DEFAULT
    from libranas.proxies.aznas import log_rank_sum

    df = pd.read_csv(AF_PROXIES).sort_values("index").reset_index(drop=True)
    az = pd.read_csv(AF_AZ).set_index("index").loc[df["index"]]
    parts = pd.DataFrame({"az_expressivity": az["az_expressivity"].to_numpy(),
                          "az_trainability": az["az_trainability"].to_numpy(),
                          "params": df["params"].to_numpy(), "zico": df["zico"].to_numpy()})  # fmt: skip
    return log_rank_sum(parts[list(TRAINING_FREE_DEFAULT)])


def transfer_tables() -> tuple[dict, dict, dict]:
    """name -> (X, y, space), training-free baseline scores, and what each baseline is."""
    from libranas import load_benchmark
    from libranas.proxies import TRAINING_FREE_DEFAULT
    from libranas.proxies.aznas import log_rank_sum

    tables, baselines, what = {}, {}, {}
    for name in BENCHMARKS:
        bench = _bench(name)
        Z = bench.X[TRANSFER_PROXIES].astype(float)
        Z.columns = [f"proxy:{c}" for c in TRANSFER_PROXIES]
        tables[name] = (pd.concat([Z, network_table(name)], axis=1), bench.y.to_numpy(float),
                        bench.space)  # fmt: skip
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                lib = load_benchmark(name, libranas_proxies=list(TRAINING_FREE_DEFAULT))
            cols = [f"lib_{p}" for p in TRAINING_FREE_DEFAULT]
            baselines[name] = log_rank_sum(lib.X.loc[bench.X.index, cols])
            what[name] = "log-rank of TRAINING_FREE_DEFAULT (libranas table)"
        except ValueError:  # no libranas proxy table for this benchmark: params only
            baselines[name] = log_rank_sum(bench.X[["params"]])
            what[name] = "params only (no AZ-NAS / ZiCo scores for this table)"
    X, Y, groups = autoformer_table()
    Xaf = X[[f"proxy:{p}" for p in TRANSFER_PROXIES] + groups["network"]]
    tables["autoformer-tiny"] = (Xaf, Y["c100_kd_acc"].to_numpy(float), "autoformer")
    baselines["autoformer-tiny"] = autoformer_training_free()
    what["autoformer-tiny"] = (
        "log-rank of TRAINING_FREE_DEFAULT (benchmarks/data/lswag_vit_autoformer.csv + lswag_autoformer.csv)"
    )
    return tables, baselines, what


TRANSFER_COLUMNS = ["held_out", "space", "n_evaluated", "seed", "k", "method", "rho", "tau", "code"]
TRANSFER_METHODS = ["within", "within+transfer"]
#: the within-space ranker with the held-out table's repeated-block columns (their names
#: differ between spaces, so they cannot enter the transfer model itself): at these k
OWN_K = [20]
OWN_METHODS = ["within+own", "within+own+transfer"]


def _transfer_keys(name: str) -> tuple[str, list[str]]:
    """(block cache name, cache keys of the table's rows) of a transfer table."""
    if name == "autoformer-tiny":
        df = pd.read_csv(AF_PROXIES).sort_values("index").reset_index(drop=True)
        return "autoformer-tiny-32px", df["index"].astype(str).tolist()
    bench = _bench(name)
    return bench.space, [str(a) for a in bench.X.index]


def _own_blocks(name: str, index) -> pd.DataFrame:
    """Repeated-block columns of a transfer table (constant ones dropped, label-free)."""
    blocks = block_table(*_transfer_keys(name), index)
    blocks = blocks[block_groups(list(blocks.columns))["blocks"]]  # session 21's columns
    return blocks.loc[:, blocks.nunique(dropna=True) > 1]


def _block_summaries(name: str, index) -> pd.DataFrame:
    """:func:`libranas.repeated_blocks.block_summary` columns (the same in every space)."""
    from libranas import repeated_blocks as bf

    space_name, keys = _transfer_keys(name)
    recs = {}
    for line in _block_file(space_name).read_text().splitlines():
        rec = json.loads(line)
        recs[rec["arch"]] = rec["values"]
    rows = np.stack([bf.block_summary(recs[k]) for k in keys])
    return pd.DataFrame(
        rows, index=index, columns=[f"blocksum:{n}" for n in bf.block_summary_names()]
    )


def transfer_stage(seeds: range, held_out: list[str], k_values: list[int] = AF_SIZES,
                   own_k: list[int] = OWN_K) -> None:  # fmt: skip
    """Leave one space out; resumes per (held-out table, k, method, seed), rows appended as
    they are made."""
    from libranas.transfer import leave_one_space_out

    _torch_one_thread()
    tables, baselines, _what = transfer_tables()
    cols = ["held_out", "k", "method", "seed"]
    # every held-out table without the block columns first, then the runs with them
    for ks, methods, name in [([0, *k_values], TRANSFER_METHODS, n) for n in held_out] + [
        (own_k, OWN_METHODS, n) for n in held_out
    ]:
        old = pd.read_csv(TRANSFER_RUNS) if TRANSFER_RUNS.exists() else pd.DataFrame(columns=cols)
        done = set(map(tuple, old[cols].astype(str).to_numpy()))
        n_done = old[old.held_out == name].groupby(["k", "method"]).size().to_dict()
        need = [k for k in ks if any(n_done.get((k, m), 0) < (1 if k == 0 else len(seeds))
                                     for m in (["transfer"] if k == 0 else methods))]  # fmt: skip
        if not need:
            continue
        own = None
        if methods == OWN_METHODS:
            own = {name: _own_blocks(name, tables[name][0].index)}
        start = time.perf_counter()

        def keep(row: dict, done: set = done) -> None:
            if tuple(str(row[c]) for c in cols) in done:
                return
            row = dict(row, code=C.code_version())
            # the file's column order, whatever the row's
            pd.DataFrame([row])[TRANSFER_COLUMNS].to_csv(
                TRANSFER_RUNS, mode="a", header=not TRANSFER_RUNS.exists(), index=False
            )

        rows = leave_one_space_out(tables, k_values=need, n_splits=len(seeds), held_out=[name],
                                   baselines=baselines, random_state=0, progress=keep,
                                   own_columns=own, methods=methods)  # fmt: skip
        summary = rows.groupby(["k", "method"]).rho.mean().round(3).to_dict()
        print(f"transfer {name} k={need}: {summary} ({time.perf_counter() - start:.0f} s)",
              flush=True)  # fmt: skip
    _transfer_blocks_zero(tables, held_out, cols)


def _transfer_blocks_zero(tables: dict, held_out: list[str], cols: list[str]) -> None:
    """k = 0 with the block summaries (the same columns in every space) added to every
    table: method ``transfer+blocks``."""
    from libranas.transfer import leave_one_space_out

    with_blocks = {
        n: (pd.concat([X, _block_summaries(n, X.index)], axis=1), y, sp)
        for n, (X, y, sp) in tables.items()
    }
    for name in held_out:
        old = pd.read_csv(TRANSFER_RUNS)
        if ((old.held_out == name) & (old.method == "transfer+blocks")).any():
            continue

        def keep(row: dict) -> None:
            if row["method"] == "transfer":
                row = dict(row, method="transfer+blocks", code=C.code_version())
                pd.DataFrame([row])[TRANSFER_COLUMNS].to_csv(
                    TRANSFER_RUNS, mode="a", header=False, index=False
                )

        rows = leave_one_space_out(with_blocks, k_values=(0,), n_splits=1, held_out=[name],
                                   random_state=0, progress=keep, methods=[])  # fmt: skip
        print(f"transfer+blocks {name}: {rows.rho.iloc[0]:.3f}", flush=True)


# --------------------------------------------------------------------------- cost

COST = C.CACHE / "network_features_cost.csv"


def cost_stage(n: int = 3) -> None:
    """Seconds per architecture (build on meta + trace + features, fresh cache), side by side."""
    from libranas import network_features as nf
    from libranas.spaces import get_space

    _torch_one_thread()
    cases = [("nb201", {}), ("darts", {}), ("tnb101-micro", {}),
             ("autoformer-tiny", {"img_size": 32, "patch_size": 4}), ("autoformer-tiny", {}),
             ("pit", {}), ("timm", {"models": ["resnet18"]}), ("timm", {"models": ["resnet50"]}),
             ("timm", {"models": ["vit_tiny_patch16_224"]})]  # fmt: skip
    rows = []
    for name, opts in cases:
        space = get_space(name, **opts)
        archs = list({str(a): a for a in space.sample(n, random_state=0)}.values())  # distinct
        for arch in archs:
            cpu, wall = time.process_time(), time.perf_counter()
            nf.network_features(space, arch)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            info = dict(nf.trace_info(space, arch), seconds=wall)
            rows.append({"space": name, "options": json.dumps(opts), "arch": str(arch)[:60],
                         "input_shape": str(space.default_input_shape), "cpu_seconds": cpu,
                         **info})  # fmt: skip
        print(name, opts, f"{np.median([r['cpu_seconds'] for r in rows[-len(archs):]]):.2f} s",
              flush=True)  # fmt: skip
    out = pd.DataFrame(rows)
    out["code"] = C.code_version()
    out.to_csv(COST, index=False)


# --------------------------------------------------------------------------- report


def _ms(v: pd.Series) -> str:
    return (
        f"{v.mean():.3f} ± {v.std(ddof=1):.3f}"
        if len(v) > 1
        else (f"{v.mean():.3f}" if len(v) else "n/a")
    )


def _paired(a: pd.Series, b: pd.Series) -> tuple[float, float, int, int]:
    """mean of a - b over the shared seeds, its 95% half-width, wins, splits."""
    d = (a - b).dropna()
    if len(d) < 2:
        return float("nan"), float("nan"), int((d > 0).sum()), len(d)
    return (
        float(d.mean()),
        float(1.96 * d.std(ddof=1) / np.sqrt(len(d))),
        int((d > 0).sum()),
        len(d),
    )


#: reading of the numbers above, written when they were made (2026-12-07); the tables are
#: regenerated from the caches, this text is not
NOTES = """
## Notes (what worked, what did not, what is not done)

Written 2026-12-07 (session 21) from the numbers above; the tables and check lines are
regenerated from the caches, this text is not.

Session 21's reading (its numbers were the session-21 block columns, `blocks` below):

- **Repeated-block features** (`features=("network", "blocks")`,
  `libranas.repeated_blocks`, no space-specific code): the repeated cells are found in the
  module tree, normal and reduction variants told apart by resolution, one copy described
  position by position (operation, wiring, parameters) plus GRAF's cell-graph paths on the
  block's own graph. On NB201 the cell columns equal the hand-made one-hot and the hand-made
  `n_paths` / `min_len` / `max_len` exactly (tested); on DARTS they read both genotypes,
  operations and input nodes (tested).
- **Must-show "within 0.01 of hand-made": met on TransNAS-Bench-101-micro, missed on NB201
  and NB301.** Proxies + network + blocks: TNB101-micro mean of 7 tasks 0.890 vs 0.881
  (every task at or above hand-made, 6 of 7 paired intervals above 0); NB201 0.947 / 0.942 /
  0.933 vs 0.958 / 0.954 / 0.951 (-0.0105 / -0.012 / -0.018; the network features alone were
  -0.024 / -0.023 / -0.032); NB301 0.803 vs 0.833 (-0.030; network alone -0.058). A first
  version without the cell-graph paths (30 splits, seeds 0-29, not kept) gave NB301 0.780
  and NB201 CIFAR-10 0.937: the paths gave +0.023 / +0.010, so they were added before any
  other table was run with blocks -- a choice seen on reported splits of those two tables,
  stated here. What the hand-made features still had then: on NB201 34 of the 52 varying
  graph columns had no identical block column (paths *without* an operation, min / max
  length without / only through it, node degrees and depths); session 22 added them (the
  block cell graph, below).
- **Development choice** (the only one): `proxies+network+blocks` over `proxies+blocks`,
  by the declared rule on seeds 1000-1009 (table above). ZCRanker's defaults as they are.
- **NB301 >= 0.87: not reached** (best 0.834, network + hand-made). The combination with
  blocks (`all`) is 0.830 on NB301, 0.002 below hand-made alone (paired -0.002 +- 0.004,
  higher on 13 of 30 splits): the blocks add nothing the hand-made features lack there.
- **Transfer (leave one space out, k = 0 / 10 / 20 / 50, 30 splits, all 12 tables)**: with
  zero labels the transfer prediction (proxies + network features) is below the
  training-free default wherever that default exists -- NB301 0.243 vs 0.553, NB201
  0.61-0.65 vs 0.92-0.93, AutoFormer 0.773 vs 0.779 -- and above params alone on the
  TNB101-micro tasks (a weak baseline). **NB301 >= 0.60 with zero NB301 labels is missed by
  0.35**: whole-network ranks and block summaries do not order DARTS cells the way they
  order NB201 / TNB101 cells or ViTs (a space learnt from the others says little about a
  space of a different design). The block summaries (`transfer+blocks`, the only block
  columns that mean the same in every space) lift AutoFormer to 0.823 (above its
  training-free default, the one table where transfer with zero labels wins), change NB301
  (+0.002) and TNB101 segmentsemantic (+0.012) little and lower the 9 others by 0.007-0.084. With k labels the transfer prediction as a ZCRanker
  feature changes rho by +0.001 to +0.002 on average (at most +0.013, NB201, k = 10):
  within-space labels dominate quickly. On NB301 the within-space ranker needs about 20
  labels to pass the training-free default (k = 10: 0.511, k = 20: 0.597, default 0.553).
  The within-space ranker with the held-out table's own block columns (k = 20): see the
  transfer check lines (computed from the runs).
- **Repaired cache rows**: 137 transfer rows (NB301, k = 10 / 20 / 50) were first appended
  in the row's column order instead of the file's; they were re-mapped (method, k, seed,
  n_evaluated) and the writer now uses the file's order.

Session 22 (the block cell graph, `blockgraph`): GRAF's whole feature set
(`libranas.spaces._graph.path_features`, the function of the hand-made graph features) on
each block's cell graph rebuilt from the tensors of the forward pass (states = inputs,
position inputs, sums / concatenations, output; edges = live positions by operation
signature, wires for state-to-state sums / concatenations). Tested: on NB201 every GRAF
column equals the hand-made one exactly (names mapped, `none` edges included); on DARTS
the cell graph is the hand-made cell with the two preprocessing positions in front of its
inputs (same edges, paths and degrees; lengths and depths one longer; paths made only of
one operation or of parameter-free ones never occur, since each starts with a
preprocessing convolution); in the reduction cell the operations on the cell's inputs
carry stride 2 and are operation types of their own in the cell graph (the hand-made
features count them with their stride-1 kin), so its per-operation columns differ. The
section above counts what matches on every table architecture; the development choice
and the runs are in the tables and check lines.

Session 23 (the inputs' preprocessing): a block with two or more inputs whose input is read
by one position only (DARTS' `preprocess0` / `preprocess1`) now has its cell graph start at
that position's output, as GRAF's does. On DARTS the cell graph is then exactly the
hand-made cell: every GRAF quantity equal, the paths made only of one operation or of
parameter-free ones included (tested); the reduction cell's stride-2 operations on its
inputs remain types of their own. The preprocessing positions are no operation type of the
cell graph either (a review found 81 constant or duplicate NB301 columns they had added;
removed at aad2bea, every other value unchanged, and the NB301 rows recomputed once more).
A position counts as an input's preprocessing only when it runs once, reads that input alone
and is not the block's output (tested on hand-made two-input blocks). No other space's block
columns change (one-input blocks; their caches were recomputed and compared at 5af7825).
NB301's rows that read the cell graph were recomputed (the session-22 rows are archived in
`*_s22.csv`).
"""


#: one table per space for the comparison of the block cell graph with the hand-made graph
GRAPH_MATCH = ["nb201-cifar10", "nb301-cifar10", "tnb101-micro-class_scene"]


def _graph_match_lines() -> list[str]:
    """How many of the hand-made graph columns the block cell graph reproduces, per space:
    a varying hand-made column with an identical block ``:graph:`` column, one equal to it
    plus 1 where it is not -1 (DARTS: paths one position longer), or neither -- on every
    table architecture."""
    from libranas import repeated_blocks as bf
    from libranas.spaces import get_space

    lines = []
    for name in GRAPH_MATCH:
        bench = _bench(name)
        path = _block_file(bench.space)
        if not path.exists():
            continue
        recs = {}
        for line in path.read_text().splitlines():
            rec = json.loads(line)
            recs[rec["arch"]] = rec["values"]
        keys = [str(a) for a in bench.X.index]
        if any(k not in recs for k in keys):
            continue
        desc = [recs[k] for k in keys]
        names = bf.block_vocabulary(desc)
        cols = [j for j, n in enumerate(names) if ":graph:" in n]
        found = {tuple(c) for c in bf.block_matrix(desc, names)[:, cols].T}
        space = get_space(bench.space)
        G = space.graph_features_many(space.validate_many(list(bench.X.index)))
        vary = [G[:, j] for j in range(G.shape[1]) if np.unique(G[:, j]).size > 1]
        same = sum(tuple(g) in found for g in vary)
        # lengths / depths one longer; -1 (no such path, unreachable) stays -1
        plus = sum(tuple(g) not in found and tuple(np.where(g >= 0, g + 1, g)) in found
                   for g in vary)  # fmt: skip
        lines.append(f"- {bench.space} ({len(keys)} archs): of {len(vary)} varying hand-made graph "
                     f"columns, {same} have an identical block cell-graph column, {plus} one "
                     f"equal to them + 1 (-1, no path, kept), {len(vary) - same - plus} neither "
                     f"({len(cols)} block cell-graph columns)")  # fmt: skip
    return lines


def _counts(col: pd.Series) -> str:
    return ", ".join(f"{k} {int(v)}" for k, v in col.value_counts().items())


#: short names of FEATURE_SETS in the report
SET_LABELS = {
    "proxies+graph+onehot": "hand-made",
    "proxies+network": "network",
    "proxies+network+graph+onehot": "network+hand-made",
    "proxies+network+blocks": "network+blocks",
    "proxies+network+blocks+graph+onehot": "all",
    "proxies+network+blocks+blockgraph": "network+blocks+cellgraph",
    "proxies+network+blocks+blockgraph+graph+onehot": "all+cellgraph",
    "proxies+network+blockpos+blockgraph": "network+positions+cellgraph",
    "proxies+network+blockpos+blockgraph+graph+onehot": "all (positions+cellgraph)",
}


def _runs_section(runs: pd.DataFrame) -> list[str]:
    """The 100-labelled table and its must-show checks."""
    # two resumable processes may both have run a split: identical rows, keep one
    runs = runs.drop_duplicates(["benchmark", "features", "seed"])
    shown = [f for f in FEATURE_SETS if f in set(runs.features) or f in reported_sets()]
    old_nb = "proxies+network+blocks"
    hand, net = "proxies+graph+onehot", "proxies+network"
    nb = chosen_block_set() or old_nb  # the development rule's candidate (session 22)
    all_ = f"{nb}+graph+onehot"
    lines = [
        "## 100 labelled, 30 splits: proxies + network (+ repeated-block) features vs proxies + hand-made graph features",
        "",
        "Protocol: the bundled NAS-Bench-Suite-Zero table (its proxy columns, "
        "`load_benchmark(name, libranas_proxies=False)`), target = the table's validation "
        "accuracy; per split (seed 0..29) 100 architectures drawn uniformly as the labelled "
        "set, `ZCRanker(random_state=seed)` (defaults) fitted on them only, Spearman rho / "
        "Kendall tau on all the others. `hand-made` = proxies + the space's graph features "
        "+ one-hot (exactly `benchmarks/predictors.py`'s default run: seeds 0-1 recomputed "
        "here and compared with `predictors_runs.csv`, seeds 2-29 taken from it when both "
        "reproduce to 1e-6; the `hand-made source` line says per benchmark how many runs were "
        "recomputed and how many reused); `network` = proxies + the 260 network features; "
        "`network+hand-made` = proxies + network + graph + one-hot; `network+blocks` = proxies + "
        "network + repeated-block features (`ArchFeaturizer(space, features=('network', "
        "'blocks'))`, block columns fixed on all of the table's architectures, label-free); "
        "`all` = proxies + network + blocks + graph + one-hot. Columns constant on the whole "
        "table are dropped (label-free). Session 22: `cellgraph` = GRAF's whole feature set "
        "on each block's cell graph (`<variant>:graph:` columns); `network+blocks+cellgraph` "
        "joins them to the session-21 block columns, `network+positions+cellgraph` replaces "
        "the session-21 path summaries of the blocks with them; the development rule "
        f"(below) chose `{SET_LABELS[nb]}`, the candidate of the paired columns and checks. "
        "Cells: rho mean ± sd / tau mean over the splits; "
        "paired columns: mean difference of rho ± 95% half-width (1.96 sd / sqrt(splits)), "
        "splits higher.",
        "",
        "| benchmark | evaluated | "
        + " | ".join(SET_LABELS[f] for f in shown)
        + f" | {SET_LABELS[nb]} - hand-made | {SET_LABELS[all_]} - best of hand-made, "
        f"{SET_LABELS[nb]} |",
        "|---|---|" + "---|" * (len(shown) + 2),
    ]
    means: dict[str, pd.Series] = {}
    for name in BENCHMARKS:
        r = runs[runs.benchmark == name]
        if r.empty:
            continue
        piv = r.pivot_table(index="seed", columns="features", values="rho")
        tpiv = r.pivot_table(index="seed", columns="features", values="tau")
        cells = [
            f"{_ms(piv[f].dropna())} / {tpiv[f].mean():.3f} ({piv[f].notna().sum()})"
            if f in piv
            else "n/a"
            for f in shown
        ]
        paired = []
        if {hand, nb} <= set(piv.columns):
            full = piv[[hand, nb]].dropna()
            d = _paired(full[nb], full[hand])
            paired.append(f"{d[0]:+.3f} ± {d[1]:.3f} ({d[2]}/{d[3]})")
        else:
            paired.append("n/a")
        if {hand, nb, all_} <= set(piv.columns):
            full = piv[[hand, nb, all_]].dropna()
            best = full[[hand, nb]].mean().idxmax()
            d = _paired(full[all_], full[best])
            paired.append(f"{d[0]:+.3f} ± {d[1]:.3f} vs {SET_LABELS[best]} ({d[2]}/{d[3]})")
        else:
            paired.append("n/a")
        means[name] = piv.mean()
        lines.append(
            f"| {name} | {int(r.n_evaluated.iloc[0])} | " + " | ".join(cells + paired) + " |"
        )
    lines += ["", "Cells: rho mean ± sd / tau mean (splits)."]
    src = runs[runs.features == hand]
    rep = src[src.source.astype(str).str.startswith("run (")]
    if len(rep):
        diffs = [
            abs(float(s.split(": ")[1].rstrip(")")) - rho)
            for s, rho in zip(rep.source, rep.rho, strict=True)
        ]
        lines += ["", f"Reproduction of `predictors_runs.csv` (hand-made, seeds 0-1): {len(rep)} runs, "
                  f"largest |rho difference| {max(diffs):.2e}."]  # fmt: skip
    srcs = src.assign(reused=src.source.astype(str).eq("predictors_runs.csv")).groupby(
        "benchmark").reused.agg(["sum", "count"])  # fmt: skip
    lines += ["", "Hand-made source: " + "; ".join(
        f"{b} {int(r['count'] - r['sum'])} recomputed, {int(r['sum'])} reused"
        for b, r in srcs.iterrows()) + "."]  # fmt: skip
    tnb = [n for n in BENCHMARKS if n.startswith("tnb101") and n in means]
    lines += ["", f"Must-show checks (rho means over the splits; {SET_LABELS[nb]} is the "
              f"candidate for 'network features', {SET_LABELS[all_]} for 'the combination'"
              + ("; session 21's network+blocks in brackets" if nb != old_nb else "")
              + "):", ""]  # fmt: skip
    for group, names in (("nb301-cifar10", ["nb301-cifar10"]), ("nb201-cifar10", ["nb201-cifar10"]),
                         ("nb201-cifar100", ["nb201-cifar100"]),
                         ("nb201-imagenet16-120", ["nb201-imagenet16-120"]),
                         (f"TNB101-micro, mean of {len(tnb)} tasks", tnb)):  # fmt: skip
        ms = [means[n] for n in names if n in means]
        if not ms or any(f not in m.index or pd.isna(m[f]) for m in ms for f in (hand, net, nb)):
            lines.append(f"- {group}: not complete")
            continue
        if any(r_count(runs, n, f) < len(SEEDS) for n in names for f in (hand, net, nb)):
            lines.append(f"- {group}: fewer than {len(SEEDS)} splits so far (partial)")
        m = pd.concat(ms, axis=1).mean(axis=1)
        ok = m[nb] >= m[hand] - 0.01
        text = (f"- {group}: hand-made {m[hand]:.3f}, network {m[net]:.3f}, {SET_LABELS[nb]} "
                f"{m[nb]:.3f} ({'within 0.01 or above: yes' if ok else 'NOT within 0.01'}"
                f"{f'; network+blocks {m[old_nb]:.3f}' if nb != old_nb and old_nb in m else ''}), ")  # fmt: skip
        if all(all_ in x.index and pd.notna(x[all_]) for x in ms):
            above = m[all_] >= max(m[hand], m[nb])
            text += (f"{SET_LABELS[all_]} {m[all_]:.3f} "
                     f"({'>= either: yes' if above else 'below the better of the two'})")  # fmt: skip
        else:
            text += f"{SET_LABELS[all_]}: not run (yet)"
        lines.append(text)
    if "nb301-cifar10" in means:
        m = means["nb301-cifar10"].dropna()
        lines.append(f"- NB301 >= 0.87: best feature set {SET_LABELS[m.idxmax()]} {m.max():.3f} "
                     f"({'yes' if m.max() >= 0.87 else 'no'})")  # fmt: skip
    missing = [n for n in BENCHMARKS if n not in means]
    if missing:
        lines.append(f"- not run (time): {', '.join(missing)}")
    short = [f"{n} {SET_LABELS[f]} ({r_count(runs, n, f)})" for n in BENCHMARKS
             for f in reported_sets() if r_count(runs, n, f) < len(SEEDS)]  # fmt: skip
    if short:
        lines.append(f"- runs with fewer than {len(SEEDS)} splits (still running or not run): "
                     + ", ".join(short))  # fmt: skip
    return lines + [""]


def r_count(runs: pd.DataFrame, name: str, features: str) -> int:
    """Splits (seeds 0..29) of one benchmark and feature set in the runs."""
    r = runs[(runs.benchmark == name) & (runs.features == features) & runs.seed.isin(SEEDS)]
    return int(r.seed.nunique())


def _transfer_checks(tr: pd.DataFrame) -> list[str]:
    """Must-show lines of the transfer table, computed from the runs."""
    lines = ["Checks (computed from the table's runs):", ""]
    zero = tr[tr.k == 0].pivot_table(index="held_out", columns="method", values="rho")
    if {"transfer", "baseline"} <= set(zero.columns):
        z = zero.reindex([n for n in TRANSFER_ORDER if n in zero.index])
        for method in [m for m in ("transfer", "transfer+blocks") if m in z.columns]:
            wins = [n for n in z.index if z.loc[n, method] > z.loc[n, "baseline"]]
            lines.append(f"- zero labels, {method} above the training-free default on {len(wins)} of "
                         f"{len(z)} tables: {', '.join(wins) or 'none'} (TNB101 defaults are params only)")  # fmt: skip
        if "transfer+blocks" in z.columns:
            d = z["transfer+blocks"] - z["transfer"]
            lines.append(f"- zero labels, transfer+blocks minus transfer: mean {d.mean():+.3f}, higher on "
                         f"{(d > 0).sum()} of {len(d)} tables (range {d.min():+.3f} .. {d.max():+.3f})")  # fmt: skip
        if "nb301-cifar10" in z.index:
            best = z.loc["nb301-cifar10"].drop("baseline").max()
            lines.append(f"- NB301 with zero NB301 labels >= 0.60 by transfer: best {best:.3f} "
                         f"({'yes' if best >= 0.60 else f'no, {0.60 - best:.2f} short'})")  # fmt: skip
    for k in sorted(tr.k[tr.k > 0].unique()):
        for base, plus in (("within", "within+transfer"), ("within", "within+own"),
                           ("within+own", "within+own+transfer")):  # fmt: skip
            r = tr[(tr.k == k) & tr.method.isin([base, plus])]
            piv = r.pivot_table(index=["held_out", "seed"], columns="method", values="rho").dropna()
            if piv.empty or base not in piv or plus not in piv:
                continue
            per = (piv[plus] - piv[base]).groupby(level=0).mean()
            lines.append(f"- k={k}: {plus} minus {base}, mean over {len(per)} tables "
                         f"{per.mean():+.3f} (higher on {(per > 0).sum()} of {len(per)}; "
                         f"range {per.min():+.3f} .. {per.max():+.3f})")  # fmt: skip
    return lines


def report() -> None:
    lines = [
        "# Network features: architecture features read from the PyTorch network itself",
        "",
        f"Written by `python benchmarks/network_features.py report` at git {C.code_version()} "
        f"({time.strftime('%Y-%m-%d %H:%M')} UTC); machine: "
        f"{platform.processor() or platform.machine()}, 2 shared cores, torch 1 thread.",
        "",
        "Regenerate (in this order; every stage resumes from its cache):",
        "",
        "    python benchmarks/network_features.py features    # network features of every table arch",
        "    python benchmarks/network_features.py blocks      # repeated-block descriptions, likewise",
        "    python benchmarks/network_features.py cost",
        "    python benchmarks/network_features.py dev         # development splits (seeds 1000-1009)",
        "    python benchmarks/network_features.py runs        # 100 labelled x 30 splits",
        "    python benchmarks/network_features.py autoformer",
        "    python benchmarks/network_features.py transfer",
        "    python benchmarks/network_features.py report",
        "",
        "Features: `ArchFeaturizer(space, features=('network',))` = "
        "`libranas.network_features.network_features`: the network built on the `meta` "
        "device, traced by torch.fx (module hooks + TorchFunctionMode as the fallback), "
        f"{len(__import__('libranas.network_features', fromlist=['x']).network_feature_names())} "
        "named columns, the same for every network; `features=('blocks',)` = "
        "`libranas.repeated_blocks`: one copy of each repeated block variant. ZCRanker's "
        "defaults as they are; the one choice (which block feature set) was made on the "
        "development splits below.",
        "",
    ]
    # ---------------------------------------------------------------- cost
    lines += ["## Cost per architecture", ""]
    if COST.exists():
        cost = pd.read_csv(COST)
        lines += ["`python benchmarks/network_features.py cost`: 3 sampled architectures per "
                  "space (1 for a one-model timm list), "
                  "space, fresh cache, one process, side by side: build on `meta` + trace + "
                  "features, CPU seconds of the process (one torch thread) and wall seconds "
                  "(the 2 cores were shared with ~10 other jobs, load ~12: wall >> CPU).", "",
                  "| space | options | input | median CPU s | median wall s | max wall s | tracer | device |",
                  "|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for (sp, opts), g in cost.groupby(["space", "options"], sort=False):
            lines.append(f"| {sp} | {opts} | {g.input_shape.iloc[0]} | {g.cpu_seconds.median():.2f} | "
                         f"{g.seconds.median():.2f} | "
                         f"{g.seconds.max():.2f} | {'/'.join(sorted(set(g.tracer)))} | "
                         f"{'/'.join(sorted(set(g.device)))} |")  # fmt: skip
        lines.append("")
    tab = []
    for path in sorted(FEAT_DIR.glob("*.csv")):
        f = pd.read_csv(path, usecols=["arch", "seconds", "tracer", "device"])
        tab.append(f"| {path.stem} | {len(f)} | {f.seconds.median():.2f} | {f.seconds.sum() / 60:.1f} | "
                   f"{_counts(f.tracer)} | {_counts(f.device)} |")  # fmt: skip
    for path in sorted(FEAT_DIR.glob("*-blocks.jsonl")):
        secs = pd.Series([json.loads(line)["seconds"] for line in path.read_text().splitlines()])
        tab.append(f"| {path.name} (repeated blocks: build on meta + one forward with hooks) | "
                   f"{len(secs)} | {secs.median():.2f} | {secs.sum() / 60:.1f} | hooks | meta |")  # fmt: skip
    if tab:
        lines += ["All architectures of the study (`features` stage, while other jobs shared the "
                  "2 cores):", "", "| features of | archs | median s / arch | total min | tracer | device |",
                  "|---|---|---|---|---|---|", *tab, ""]  # fmt: skip
        if MANIFEST.exists():
            lines += ["Cache: `benchmarks/data/network_features/` (manifest.txt):", "",
                      *[f"    {m}" for m in MANIFEST.read_text().splitlines()], ""]  # fmt: skip
    # ---------------------------------------------------------------- 100 labelled
    if RUNS.exists():
        lines += _runs_section(pd.read_csv(RUNS))
    if DEV_RUNS.exists():
        dev = pd.read_csv(DEV_RUNS)
        piv = dev.pivot_table(index="benchmark", columns="features", values="rho")
        n = dev.groupby("benchmark").seed.nunique()
        lines += [
            "### Development splits (the one choice made; not results)",
            "",
            f"Seeds {DEV_SEEDS.start}-{DEV_SEEDS.stop - 1} (never reported above), same protocol; "
            "rule declared before the runs: of `proxies+network+blocks` and `proxies+blocks`, "
            "the one with the higher mean rho over these benchmarks is the study's candidate "
            "for 'network features'.",
            "",
            "| benchmark | splits | " + " | ".join(DEV_SETS) + " |",
            "|---|---|" + "---|" * len(DEV_SETS),
            *[
                f"| {b} | {n[b]} | " + " | ".join(f"{piv.loc[b, f]:.3f}" for f in DEV_SETS) + " |"
                for b in piv.index
            ],  # fmt: skip
            "| mean | | " + " | ".join(f"{piv[f].mean():.3f}" for f in DEV_SETS) + " |",
            "",
            f"Chosen: `{piv[DEV_SETS].mean().idxmax()}`.",
            "",
        ]
        dev22 = session22_dev(dev)
        piv = dev22.pivot_table(index="benchmark", columns="features", values="rho")
        if all(f in piv.columns for f in BLOCK_CANDIDATES):
            sub = piv.loc[[b for b in DEV_BENCHMARKS if b in piv.index], BLOCK_CANDIDATES]
            chosen = chosen_block_set(dev22)
            lines += [
                "Session 22 (the block cell graph), same seeds, rule declared before these "
                "runs (module docstring): of session 21's `proxies+network+blocks`, *join* "
                "(`+blockgraph`) and *replace* (`blockpos+blockgraph`), the highest mean rho "
                "over the development runs is the candidate.",
                "",
                "| benchmark | " + " | ".join(SET_LABELS[f] for f in BLOCK_CANDIDATES) + " |",
                "|---|" + "---|" * len(BLOCK_CANDIDATES),
                *[
                    f"| {b} | "
                    + " | ".join(f"{sub.loc[b, f]:.3f}" for f in BLOCK_CANDIDATES)
                    + " |"
                    for b in sub.index
                ],  # fmt: skip
                "| mean | " + " | ".join(f"{sub[f].mean():.3f}" for f in BLOCK_CANDIDATES) + " |",
                "",
                f"Chosen: `{chosen}`"
                + (
                    " (all 40 runs of each candidate done)."
                    if chosen
                    else " -- not yet: the runs are incomplete."
                ),
                "",
            ]
        rule = preprocessing_rule(dev)
        piv_now = dev.pivot_table(index="benchmark", columns="features", values="rho")
        if rule is not None:
            old, new = rule
            lines += [
                "Session 23 (the inputs' preprocessing contracted in the block cell graph), "
                "rule declared before these runs (module docstring): on NB301, seeds "
                f"{DEV_SEEDS.start}-{DEV_SEEDS.stop - 1}, `{PREPROCESSING_SET}` had mean rho "
                f"{old:.3f} with the session-22 cell graph (`network_features_dev_runs_s22.csv`) "
                f"and {new:.3f} with the preprocessing contracted: "
                + ("kept (not below)." if new >= old else "below: the rule says revert."),
                "Session 22's choice among the block sets stands as it was made (the table "
                "above: NB301's session-22 rows); with today's NB301 rows the candidates' "
                "NB301 development means are "
                + ", ".join(
                    f"`{SET_LABELS[f]}` {piv_now.loc[PREPROCESSING_TABLE, f]:.3f}"
                    for f in BLOCK_CANDIDATES
                    if f in piv_now.columns
                )
                + ".",
                "",
            ]
    # ---------------------------------------------------------------- AutoFormer
    if AF_RUNS.exists():
        af = pd.read_csv(AF_RUNS)
        AF_COLS = [f for f in af_sets() if f in set(af.features)]  # noqa: N806
        lines += [
            "## AutoFormer-Tiny as a user's space (100 subnets, 10 / 20 / 50 labelled)",
            "",
            "The 100 Auto-Prox AutoFormer-Tiny subnets (`gt_autoformer.json`), built at 32 px, "
            "patch 4, 100 classes. `proxies`: the registered proxies of "
            "`results/lswag_autoformer.csv` (one CIFAR-100 batch of 32, one init); `network`: "
            "network features only (nothing space-specific); `proxies+network`: both; "
            "`network+<blocks>` / `proxies+network+<blocks>` (session 22): the same plus the "
            "block columns of the development rule's candidate (`blocks+blockgraph`: session "
            "21's block columns and the block cell graph of the 100 subnets, constant ones "
            "dropped, label-free). Per split "
            "(seeds 0..29) k labelled drawn uniformly, `ZCRanker(random_state=seed)`, rho on the "
            "other 100 - k. Cells: rho mean ± sd; (n) where fewer splits than the row's. "
            "With `ZCRanker()` as the one ranker; `autoformer_rankers.md` gives each column "
            "set the few-label ranker its development splits chose (the same splits).",
            "",
            "| target | k | splits | " + " | ".join(AF_COLS) + " |",
            "|---|---|---|" + "---|" * len(AF_COLS),
        ]
        for target in AF_TARGETS:
            for k in AF_SIZES:
                r = af[(af.target == target) & (af.n_labelled == k)]
                if r.empty:
                    continue
                piv = r.pivot_table(index="seed", columns="features", values="rho")
                lines.append(f"| {target} | {k} | {len(piv)} | " + " | ".join(
                    _ms(piv[f].dropna()) + (f" ({piv[f].notna().sum()})"
                                             if piv[f].notna().sum() < len(piv) else "")
                    if f in piv else "n/a" for f in AF_COLS) + " |")  # fmt: skip
        r = af[(af.target == "c100_kd_acc") & (af.n_labelled == 20)]
        if not r.empty:
            piv = r.pivot_table(index="seed", columns="features", values="rho")
            lines.append("")
            for plus in [f for f in AF_COLS if f.startswith("proxies+network")]:
                if {"proxies", plus} <= set(piv.columns):
                    d = _paired(piv[plus], piv["proxies"])
                    lines += [f"Paired, c100_kd_acc, 20 labelled: {plus} minus proxies = "
                              f"{d[0]:+.3f} ± {d[1]:.3f} (95%, {d[3]} splits; higher on {d[2]} "
                              f"of {d[3]}).", ""]  # fmt: skip
        lines.append("")
    # ---------------------------------------------------------------- transfer
    if TRANSFER_RUNS.exists():
        tr = pd.read_csv(TRANSFER_RUNS).drop_duplicates(["held_out", "method", "k", "seed"])
        lines += [
            "## Transfer between spaces (leave one space out)",
            "",
            "`libranas.transfer.TransferRanker` (HistGradientBoostingRegressor, defaults of the "
            "module, not tuned) fitted on the tables of every *other* space (NB201's three "
            "tasks, NB301, the 7 TNB101-micro tasks, AutoFormer-Tiny c100_kd_acc; a held-out "
            "NB201 / TNB101 task never has a task of its own space in training), every column "
            "(11 proxies every table has + the 260 network features) and the target "
            "rank-normalised within each table, tables weighted equally. k = 0: rho of its "
            "prediction on all of the held-out table. `training-free`: log-rank of "
            "`TRAINING_FREE_DEFAULT` (AZ-NAS expressivity + trainability, params, ZiCo) where "
            "those scores exist (NB201, NB301, AutoFormer); TNB101-micro has none of them "
            "computed, so its row uses params alone (marked). k = 10 / 20 / 50: 30 splits; "
            "`within` = ZCRanker on the held-out table's columns, `+transfer` = the same plus "
            "the transfer prediction as a feature (methods `within`, `within+transfer` in "
            "the cache); `transfer+blocks` (k = 0): the same TransferRanker with the block "
            "summaries added (`libranas.repeated_blocks.block_summary`: variants, blocks, and "
            "per most frequent variant its instances, reduction, positions, dead positions and "
            "cell-graph paths -- columns that mean the same in every space); "
            "`within+blocks` / `within+blocks+transfer` (k = "
            + ", ".join(str(k) for k in OWN_K)
            + "): the same with the held-out table's repeated-block columns added to the "
            "within-space ranker (`within+own`, `within+own+transfer` in the cache; block "
            "columns are named per space, so they cannot enter the transfer model itself).",
            "",
        ]
        head = ["held out", "k=0 transfer", "k=0 transfer+blocks", "k=0 training-free"]
        for k in AF_SIZES:
            head += [f"k={k} within", f"k={k} +transfer"]
        for k in OWN_K:
            head += [f"k={k} within+blocks", f"k={k} within+blocks+transfer"]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for name in TRANSFER_ORDER:
            r = tr[tr.held_out == name]
            if r.empty:
                continue
            z = r[r.k == 0].set_index("method").rho
            cells = [f"{z.get('transfer', np.nan):.3f}", f"{z.get('transfer+blocks', np.nan):.3f}",
                     f"{z.get('baseline', np.nan):.3f}" + (" (params only)" if name.startswith("tnb101") else "")]  # fmt: skip
            wanted = [(k, m) for k in AF_SIZES for m in TRANSFER_METHODS]
            wanted += [(k, m) for k in OWN_K for m in OWN_METHODS]
            for k, m in wanted:
                v = r[(r.k == k) & (r.method == m)].rho
                cells.append(
                    f"{_ms(v)}" + (f" ({len(v)})" if 0 < len(v) < 30 else "") if len(v) else "n/a"
                )
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines += [
            "",
            "Cells: rho mean ± sd over the splits; (n) where fewer than 30 splits finished.",
        ]
        lines += _transfer_checks(tr) + [""]
    match = _graph_match_lines()
    if match:
        lines += ["## The block cell graph vs the hand-made graph features", "",
                  "Computed from the caches at report time (`libranas.repeated_blocks`, "
                  "`<variant>:graph:` columns fixed on all of the table's architectures; "
                  "the hand-made columns are the space's `graph_features`):", "", *match, ""]  # fmt: skip
    lines += NOTES.strip("\n").splitlines() + [""]
    C.write_results(REPORT, "\n".join(lines) + "\n")
    print(f"wrote {REPORT}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "stage",
        choices=["features", "blocks", "dev", "cost", "runs", "autoformer", "transfer", "report"],
    )
    parser.add_argument("--benchmarks", nargs="*", default=BENCHMARKS)
    parser.add_argument("--seeds", type=int, default=len(SEEDS))
    parser.add_argument("--features", nargs="*", default=None, choices=FEATURE_SETS,
                        help="runs: feature sets (default: the session-21 sets and the "
                        "development rule's candidate with and without graph + one-hot)")  # fmt: skip
    parser.add_argument("--held-out", nargs="*", default=TRANSFER_ORDER)
    parser.add_argument("--k", nargs="*", type=int, default=AF_SIZES, help="transfer: k > 0")
    parser.add_argument("--own-k", nargs="*", type=int, default=OWN_K,
                        help="transfer: k of the within-space runs with the block columns")  # fmt: skip
    args = parser.parse_args()
    if args.stage == "features":
        features_stage()
    elif args.stage == "blocks":
        blocks_stage()
    elif args.stage == "dev":
        dev_stage()
    elif args.stage == "cost":
        cost_stage()
    elif args.stage == "runs":
        runs_stage(args.benchmarks, range(args.seeds), args.features)
    elif args.stage == "autoformer":
        autoformer_stage(range(args.seeds))
    elif args.stage == "transfer":
        transfer_stage(range(args.seeds), args.held_out, args.k, args.own_k)
    else:
        report()


if __name__ == "__main__":
    main()
