"""Issue 25, bullet 1 (ranker side) and bullet 5 (pandas y): a network on which every proxy
failed is ranked last by every learned method, and pandas y is paired with X by index."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LinearRegression

from libranas.ranker import ZCRanker

PROXIES = ["nwot", "synflow", "params", "flops", "snip", "jacov"]


@pytest.fixture(scope="module")
def nb201_six():
    from libranas.datasets import load_benchmark

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bench = load_benchmark("nb201-cifar10")
    X = bench.X[PROXIES].astype(float)
    y = pd.Series(bench.y.to_numpy(), index=X.index)
    return X, y


@pytest.mark.parametrize(
    "kwargs",
    [
        {},  # "auto" = ensemble
        {"method": "xgboost"},
        {"method": "xgboost-pairwise"},
        {"method": "estimator", "estimator": HistGradientBoostingRegressor(max_iter=50)},
    ],
    ids=["ensemble", "xgboost", "xgboost-pairwise", "estimator"],
)
def test_all_nan_row_is_ranked_last(nb201_six, kwargs):
    X, y = nb201_six
    # the split: the first 100 cells labelled, the rest scored
    train = X.iloc[:100].dropna()
    ranker = ZCRanker(random_state=0, n_estimators=100, **kwargs).fit(
        train, y[train.index].to_numpy()
    )
    rest = X.iloc[100:].dropna()
    broken = pd.DataFrame([[np.nan] * len(PROXIES)], columns=PROXIES)
    scores = ranker.predict(pd.concat([rest, broken], ignore_index=True))
    assert scores[-1] == -np.inf
    assert np.isfinite(scores[:-1]).all()


def test_estimator_without_nan_support_refuses_the_all_nan_row(nb201_six):
    X, y = nb201_six
    train = X.iloc[:100].dropna()
    ranker = ZCRanker(estimator=LinearRegression()).fit(train, y[train.index].to_numpy())
    broken = pd.DataFrame([[np.nan] * len(PROXIES)], columns=PROXIES)
    with pytest.raises(ValueError, match="NaN"):
        ranker.predict(pd.concat([train.iloc[:3], broken], ignore_index=True))


def test_missing_value_in_a_never_missing_column_is_its_worst_value(nb201_six):
    X, y = nb201_six
    train = X.iloc[:100].dropna()
    ranker = ZCRanker(method="xgboost", random_state=0, n_estimators=100).fit(
        train, y[train.index].to_numpy()
    )
    assert np.isnan(train.to_numpy()).sum() == 0
    row = X.iloc[[200]].copy()
    worst = row.copy()
    row["nwot"] = np.nan
    worst["nwot"] = train["nwot"].min()
    assert ranker.predict(row)[0] == ranker.predict(worst)[0]
    np.testing.assert_array_equal(ranker.missing_fill_, train.to_numpy().min(axis=0))


@pytest.mark.parametrize(
    "kwargs", [{"method": "xgboost", "n_estimators": 50}, {"method": "rank-mean", "signs": "auto"}]
)
def test_pandas_y_is_aligned_on_x_index(nb201_six, kwargs):
    X, y = nb201_six
    X = X.iloc[:60].dropna()
    y = y[X.index]
    forward = ZCRanker(random_state=0, **kwargs).fit(X, y).predict(X)
    reversed_y = y.iloc[::-1]
    backward = ZCRanker(random_state=0, **kwargs).fit(X, reversed_y).predict(X)
    np.testing.assert_array_equal(forward, backward)
    other = pd.Series(y.to_numpy(), index=[f"other{i}" for i in range(len(y))])
    with pytest.raises(ValueError, match="index does not match"):
        ZCRanker(random_state=0, **kwargs).fit(X, other)


def test_libra_selector_aligns_pandas_y_on_x_index(nb201_six):
    from libranas.selector import LibraSelector

    X, y = nb201_six
    X = X.iloc[:80].dropna()
    y = y[X.index]
    forward = LibraSelector().fit(X, y)
    backward = LibraSelector().fit(X, y.iloc[::-1])
    pd.testing.assert_series_equal(forward.correlations_, backward.correlations_)
    assert forward.selected_ == backward.selected_
    with pytest.raises(ValueError, match="index does not match"):
        LibraSelector().fit(X, pd.Series(y.to_numpy()))
