"""The evaluation protocol behind ``libranas evaluate``: architecture-feature methods, n_jobs."""

import warnings

import numpy as np
import pandas as pd
import pytest

from libranas.datasets import load_benchmark
from libranas.evaluation import evaluate_benchmark, with_arch_features


def _bench(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_benchmark(name)


def test_graph_methods_run_on_every_space_and_beat_proxies_alone_on_nb301():
    bench = _bench("nb301-cifar10")
    res = evaluate_benchmark(
        bench, seeds=range(2), methods=["ranker-all", "ranker-all+graph"], in_sample=False
    )
    rho = res.groupby("method").rho.mean()
    assert set(rho.index) == {"ranker-all", "ranker-all+graph"}
    assert rho["ranker-all+graph"] > rho["ranker-all"] + 0.1  # NB301: the graph carries it
    assert (res.n_evaluated == len(bench) - 100).all()


def test_arch_features_are_appended_with_group_names():
    bench = _bench("tnb101-micro-jigsaw")
    X, names = with_arch_features(bench, ("graph", "onehot"))
    assert list(X.columns[: bench.X.shape[1]]) == list(bench.X.columns)
    assert names == list(X.columns[bench.X.shape[1] :])
    assert names[0].startswith("graph:") and names[-1].startswith("onehot:")
    assert np.isfinite(X[names].to_numpy()).all()


def test_results_do_not_depend_on_n_jobs():
    bench = _bench("nb201-cifar10")
    kwargs = dict(seeds=range(3), methods=["best-proxy", "ranker-all+graph"], in_sample=False)
    one = evaluate_benchmark(bench, n_jobs=1, **kwargs)
    two = evaluate_benchmark(bench, n_jobs=2, **kwargs)
    pd.testing.assert_frame_equal(one, two)


def test_unknown_method_is_named():
    with pytest.raises(ValueError, match="unknown methods \\['ranker-all\\+paths'\\]"):
        evaluate_benchmark(_bench("nb201-cifar10"), methods=["ranker-all+paths"])
