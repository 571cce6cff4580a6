"""The committed benchmark caches reproduce at HEAD.

The results files are written from resumable caches (``benchmarks/data``) whose rows were
made at earlier commits. A change of the library that moves a number without the cache
being recomputed would leave results files that no commit can reproduce (session 24 found
611 rows of ``predictors_runs.csv`` made before ZCRanker's missing-value rule). Each test
recomputes a sampled row of a cache with today's code and asserts the cached value; a
failure names the cache to recompute.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _data import needs_data

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
TOL = 1e-6  # xgboost's float sums differ by ~1e-7 between builds


@pytest.fixture(scope="module")
def bench_modules():
    pytest.importorskip("xgboost")
    sys.path.insert(0, str(BENCH))
    try:
        import network_features
        import predictors

        yield predictors, network_features
    finally:
        sys.path.remove(str(BENCH))


def _cached(path: Path, **key) -> pd.Series:
    df = pd.read_csv(path)
    for column, value in key.items():
        df = df[df[column] == value]
    assert len(df) == 1, f"{path.name}: {len(df)} rows for {key}"
    return df.iloc[0]


@pytest.mark.parametrize(
    ("benchmark", "features", "seed"),
    [
        # a split where a column with missing values is complete on the labelled rows only:
        # ZCRanker's missing-value rule decides the evaluated rows' scores
        ("nb201-imagenet16-120", "proxies+graph+onehot", 2),
        ("tnb101-micro-class_scene", "proxies", 0),
    ],
)
def test_predictors_runs_reproduce(bench_modules, benchmark, features, seed):
    predictors, _ = bench_modules
    predictor = "ensemble (default)"
    row = _cached(predictors.RUNS, benchmark=benchmark, features=features,
                  predictor=predictor, n_labelled=100, seed=seed)  # fmt: skip
    new = predictors.one_run(benchmark, features, predictor, 100, seed, {})
    assert abs(new["rho"] - row.rho) < TOL, (
        f"predictors_runs.csv no longer reproduces ({benchmark}, {features}, seed {seed}: "
        f"cached {row.rho:.6f}, now {new['rho']:.6f}): recompute it (benchmarks/predictors.py)"
    )


def test_network_features_runs_reproduce(bench_modules):
    _, nf = bench_modules
    features = "proxies+network+blocks+blockgraph"
    row = _cached(nf.RUNS, benchmark="nb201-cifar10", features=features, seed=0)
    new = nf.one_run("nb201-cifar10", features, 0)
    assert abs(new["rho"] - row.rho) < TOL, (
        f"network_features_runs.csv no longer reproduces (nb201-cifar10, {features}, seed 0: "
        f"cached {row.rho:.6f}, now {new['rho']:.6f}): recompute it"
    )
    assert np.isfinite(new["tau"])


@needs_data("autoformer/autoprox/gt_autoformer.json")
def test_autoformer_rankers_runs_reproduce(bench_modules):
    sys.path.insert(0, str(BENCH))
    try:
        import autoformer_rankers as ar
    finally:
        sys.path.remove(str(BENCH))
    cached = pd.read_csv(ar.RUNS)
    cached = cached[(cached.target == "c100_kd_acc") & (cached.k == 20) & (cached.seed == 0)]
    rows = pd.DataFrame(ar.one_split(ar.tables(), "c100_kd_acc", 20, 0))
    both = rows.merge(cached, on=["features", "ranker"], suffixes=("", "_cached"))
    assert len(both) == len(rows) == len(cached) > 0
    worst = (both.rho - both.rho_cached).abs().max()
    assert worst < TOL, f"autoformer_rankers_runs.csv no longer reproduces: |diff| {worst:.1e}"
