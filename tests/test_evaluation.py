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


# ----------------------------------------------------------------------- zero labels


#: transfer rho reported in benchmarks/results/zero_label.md ("Transfer"): LIBRA fitted on 100
#: labelled source architectures, 30 splits, mean and std over the splits. A split's rho stays
#: within 3.5 std of the mean (the 30 splits span 0.846-0.902 and 0.860-0.915), so a test
#: split outside that band means the protocol changed, not bad luck.
TRANSFER_REPORTED = {
    ("nb201-cifar10", "nb201-imagenet16-120"): (0.870, 0.017),
    ("nb201-cifar10", "nb201-cifar100"): (0.885, 0.015),
}


def test_transfer_uses_no_target_label():
    from libranas.evaluation import evaluate_transfer

    src, tgt = load_benchmark("nb201-cifar10"), load_benchmark("nb201-imagenet16-120")
    res = evaluate_transfer(src, tgt, n_labelled=100, seeds=range(3))
    assert list(res["seed"]) == [0, 1, 2] and (res["n_evaluated"] == len(tgt)).all()
    # shuffling the target's labels leaves the selection and the ranking as they were: the
    # new rho is that of the same scores against the shuffled labels
    shuffled = load_benchmark("nb201-imagenet16-120")
    shuffled.y = pd.Series(
        np.random.default_rng(0).permutation(tgt.y.to_numpy()), index=tgt.y.index
    )
    again = evaluate_transfer(src, shuffled, n_labelled=100, seeds=range(3))
    assert list(again["selected"]) == list(res["selected"])
    mean, std = TRANSFER_REPORTED[("nb201-cifar10", "nb201-imagenet16-120")]
    assert (res["rho"] - mean).abs().max() <= 3.5 * std, list(res["rho"])
    assert (again["rho"].abs() < 0.15).all()


def test_transfer_errors_name_the_problem():
    from libranas.evaluation import evaluate_transfer

    src, tgt = load_benchmark("nb201-cifar10"), load_benchmark("nb301-cifar10")
    with pytest.raises(ValueError, match="training-free fusion"):
        evaluate_transfer(src, tgt, ranker="xgboost")
    tgt.X = tgt.X.drop(columns=["lib_meco"])  # a column the source has and the target lacks
    with pytest.raises(ValueError, match=r"\['lib_meco'\] of nb201-cifar10 are not columns of"):
        evaluate_transfer(src, tgt, columns=["nwot", "lib_meco"])
    with pytest.raises(ValueError, match="n_labelled=5000 exceeds"):
        evaluate_transfer(src, tgt, n_labelled=5000)


def test_cli_transfer(capsys):
    from libranas.cli import main

    argv = ["evaluate", "--transfer", "nb201-cifar10:nb201-cifar100", "--seeds", "2"]
    assert main([*argv, "--format", "csv"]) == 0
    table = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    assert list(table[["source", "target", "n_seeds"]].iloc[0]) == [
        "nb201-cifar10",
        "nb201-cifar100",
        2,
    ]
    # the mean of 2 splits: within 3 split std of the reported mean of 30
    mean, std = TRANSFER_REPORTED[("nb201-cifar10", "nb201-cifar100")]
    assert abs(table["rho_mean"].iat[0] - mean) <= 3 * std
    assert table["n_labelled"].iat[0] == 100 and table["n_evaluated"].iat[0] == 725
    for bad, message in (
        # a plain table name is leave-one-space-out, which needs a table of another space
        (["--transfer", "nb201-cifar10"], "needs tables of two spaces at least"),
        (["--transfer", "nb201-cifar10:nb999"], "unknown benchmarks ['nb999']"),
        (["--transfer", "nb201-cifar10:nb201-cifar10"], "the same benchmark"),
        (["nb301-cifar10", "--transfer", "nb201-cifar10:nb301-cifar10"], "drop the positional"),
    ):
        assert main(["evaluate", *bad]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err


#: the zero-label results the default must reach on the shipped tables (issue 11). NB301's
#: 0.60 is not reached (0.553 on the 725 cells: on DARTS networks the default's proxies but
#: az_expressivity mostly measure size, zero_label.md): a strict xfail states it and fails the
#: day a change reaches it; the 0.50 floor guards what is reached.
ZERO_LABEL_FLOOR = [
    ("nb201-cifar10", 0.91),
    ("nb201-cifar100", 0.90),
    ("nb201-imagenet16-120", 0.89),
    pytest.param("nb301-cifar10", 0.50, id="nb301-cifar10-reached"),
    pytest.param(
        "nb301-cifar10",
        0.60,
        id="nb301-cifar10-target",
        marks=pytest.mark.xfail(strict=True, reason="NB301 zero-label target 0.60 not reached"),
    ),
]


@pytest.mark.parametrize(("name", "floor"), ZERO_LABEL_FLOOR)
def test_training_free_default_ranks_the_bundled_tables_without_labels(name, floor):
    from scipy.stats import spearmanr

    from libranas import ZCRanker
    from libranas.datasets import load_libranas_table
    from libranas.proxies import TRAINING_FREE_DEFAULT, list_proxies

    assert set(TRAINING_FREE_DEFAULT) <= set(list_proxies())
    table = load_libranas_table(name)  # shipped in the package: missing is a failure
    lacking = table.computed[list(TRAINING_FREE_DEFAULT)].all()
    assert lacking.all(), f"the shipped {name} table lacks {list(lacking.index[~lacking])}"
    bench = load_benchmark(name, libranas_proxies=list(TRAINING_FREE_DEFAULT))
    X = bench.X[[f"lib_{p}" for p in TRAINING_FREE_DEFAULT]]
    score = ZCRanker("log-rank").fit(X).predict(X)  # no labels
    assert spearmanr(score, bench.y, nan_policy="omit").statistic >= floor


def test_search_default_fusion_is_aznas_aggregate_on_the_development_table():
    # TRAINING_FREE_SEARCH_DEFAULT is AZ-NAS's score: the log-rank fusion a label-free search
    # uses orders NB201 CIFAR-10's cells as AZ-NAS's own aggregate (the sum of log ranks)
    # but for the identity cells where az_trainability fails (log-rank averages the others,
    # AZ-NAS ranks the missing value last)
    from scipy.stats import spearmanr

    from libranas import ZCRanker
    from libranas.proxies import TRAINING_FREE_SEARCH_DEFAULT, list_proxies
    from libranas.proxies.aznas import AZNAS_PROXIES, aznas_aggregate

    assert set(TRAINING_FREE_SEARCH_DEFAULT) == set(AZNAS_PROXIES) <= set(list_proxies())
    cols = list(TRAINING_FREE_SEARCH_DEFAULT)
    X = load_benchmark("nb201-cifar10", libranas_proxies=cols).X[[f"lib_{p}" for p in cols]]
    fused = ZCRanker("log-rank").fit(X).predict(X)
    aznas = aznas_aggregate(X.set_axis(cols, axis=1))
    ok = X.notna().all(axis=1).to_numpy()
    assert 0 < (~ok).sum() < 30
    assert spearmanr(fused[ok], aznas[ok]).statistic > 0.999


def test_training_free_default_method_reads_no_label():
    bench = load_benchmark("nb201-cifar10")
    res = evaluate_benchmark(
        bench, n_labelled=50, seeds=range(2), methods=["training-free-default"], in_sample=False
    )
    assert list(res["method"]) == ["training-free-default"] * 2
    assert (res["rho"] > 0.85).all()
    # shuffled labels: the same scores, so the rho is that of noise (the fit never reads y)
    noisy = load_benchmark("nb201-cifar10")
    noisy.y = pd.Series(np.random.default_rng(1).permutation(bench.y.to_numpy()), bench.y.index)
    again = evaluate_benchmark(
        noisy, n_labelled=50, seeds=range(2), methods=["training-free-default"], in_sample=False
    )
    assert (again["rho"].abs() < 0.15).all()
    # a benchmark without the libranas columns: the method is skipped, not an error
    tnb = load_benchmark("tnb101-micro-jigsaw")
    out = evaluate_benchmark(
        tnb,
        n_labelled=50,
        seeds=[0],
        methods=["best-proxy", "training-free-default"],
        in_sample=False,
    )
    assert list(out["method"]) == ["best-proxy"]
