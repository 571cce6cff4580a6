"""Tests for libranas.metrics: rank metrics and scikit-learn scorers."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from scipy import stats
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import LinearRegression
from sklearn.metrics import get_scorer as sk_get_scorer
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score, cross_validate
from sklearn.utils.validation import check_is_fitted, validate_data

from libranas.metrics import (
    SCORERS,
    get_scorer,
    get_scorers,
    kendall,
    ndcg_at_k,
    regret,
    spearman,
    top_k_precision,
    weighted_tau,
)

METRICS = [spearman, kendall, weighted_tau, top_k_precision, regret, ndcg_at_k]


def _monotone_data(n=120, seed=0):
    """Accuracy-like target that increases with feature 0; feature 1 is noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = 80.0 + 5.0 * np.tanh(X[:, 0]) + 0.2 * rng.normal(size=n)
    return X, y


class ColumnScorer(RegressorMixin, BaseEstimator):
    """predict returns exp(X[:, column]): a score (bigger = better), not an accuracy."""

    def __init__(self, column=0):
        self.column = column

    def fit(self, X, y):
        validate_data(self, X, y)
        return self

    def predict(self, X):
        check_is_fitted(self, "n_features_in_")
        X = validate_data(self, X, reset=False)
        return np.exp(X[:, self.column])


# ---------------------------------------------------------------- metric values


def test_correlations_by_hand_and_extremes():
    # 5 items, no ties: rho = 1 - 6 sum d^2 / (n (n^2 - 1)); ranks of s are 2, 1, 4, 3, 5
    t, s = [1.0, 2.0, 3.0, 4.0, 5.0], [0.2, 0.1, 0.9, 0.5, 1.7]
    assert spearman(t, s) == pytest.approx(1 - 6 * 4 / (5 * 24))  # d = -1, 1, -1, 1, 0: 0.8
    # pairs: 10, discordant (1,2) and (3,4): tau = (8 - 2) / 10
    assert kendall(t, s) == pytest.approx(0.6)
    # with ties, rho is Pearson's r of the average ranks: ranks of t are 1.5, 1.5, 3, 4
    t2, s2 = [1.0, 1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0]
    rt, rs = np.array([1.5, 1.5, 3.0, 4.0]), np.array([1.0, 2.0, 3.0, 4.0])
    r = ((rt - rt.mean()) * (rs - rs.mean())).sum() / math.sqrt(
        ((rt - rt.mean()) ** 2).sum() * ((rs - rs.mean()) ** 2).sum()
    )
    assert spearman(t2, s2) == pytest.approx(r) and r == pytest.approx(0.9486833)
    rng = np.random.default_rng(1)
    t, s = rng.normal(size=50), rng.normal(size=50)
    for metric in (spearman, kendall, weighted_tau):
        assert metric(t, t) == pytest.approx(1.0)
        assert metric(t, -t) == pytest.approx(-1.0)
        assert metric(t, np.exp(t)) == pytest.approx(1.0)  # ranks only


def test_kendall_is_tau_b_by_hand():
    # pairs: 5 concordant, 0 discordant, 1 tied in y_true only, of 6
    assert kendall([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(5 / math.sqrt(5 * 6))


def test_weighted_tau_weights_the_predicted_top():
    t = np.arange(10.0)
    top_swapped = t.copy()
    top_swapped[[9, 8]] = top_swapped[[8, 9]]
    bottom_swapped = t.copy()
    bottom_swapped[[0, 1]] = bottom_swapped[[1, 0]]
    # the same single exchange costs more among the predicted best
    assert weighted_tau(t, top_swapped) < weighted_tau(t, bottom_swapped) < 1.0
    # Kendall does not see the difference
    assert kendall(t, top_swapped) == pytest.approx(kendall(t, bottom_swapped))


def test_weighted_tau_does_not_break_score_ties_with_true_values():
    t = np.array([1.0, 10.0, 5.0, 4.0, 3.0, 2.0])
    s = np.array([5.0, 5.0, 3.0, 2.0, 1.0, 0.0])  # the two top scores tie
    optimistic = s.copy()
    optimistic[1] += 0.1  # tie broken in favour of the truly better one
    pessimistic = s.copy()
    pessimistic[0] += 0.1
    tied = weighted_tau(t, s)
    assert weighted_tau(t, pessimistic) < tied < weighted_tau(t, optimistic)
    # scipy's rank=None would break the tie by the true values
    assert tied != pytest.approx(stats.weightedtau(s, t, rank=None).statistic)


def test_top_k_precision():
    t = np.arange(10.0)
    assert top_k_precision(t, t, k=3) == 1.0
    assert top_k_precision(t, -t, k=3) == 0.0
    s = t.copy()
    s[9] = -1.0  # the best one is predicted worst
    assert top_k_precision(t, s, k=2) == 0.5  # predicted top-2 = {8, 7}, true = {9, 8}
    assert top_k_precision(t, s, k=0.2) == 0.5  # 20 % of 10 = 2
    # fraction of n: 10 % of 30 is exactly 3 (not 4 from 3.0000000000000004)
    t30 = np.arange(30.0)
    s30 = t30.copy()
    s30[[29, 26]] = s30[[26, 29]]  # true #1 pushed to 4th, true #4 promoted to 1st
    assert top_k_precision(t30, s30, k=0.1) == pytest.approx(2 / 3)
    assert top_k_precision(t30, s30, k=0.01) == 0.0  # at least one architecture
    for bad in (0, 0.0, 1.5, 31, -2):
        with pytest.raises(ValueError, match="k"):
            top_k_precision(t30, s30, k=bad)
    with pytest.raises(TypeError, match="k"):
        top_k_precision(t30, s30, k="10%")


def test_regret():
    assert regret([90.0, 93.5, 91.0], [0.2, 0.1, 0.9]) == pytest.approx(2.5)
    assert regret([90.0, 93.5, 91.0], [0.2, 0.8, 0.1]) == 0.0
    # tied top scores: expected regret of a random pick among them
    assert regret([90.0, 93.5, 91.0], [0.5, 0.5, 0.1]) == pytest.approx(1.75)


def test_ndcg_by_hand():
    rng = np.random.default_rng(3)
    t = rng.normal(size=40)
    s = t + rng.normal(size=40)
    n, k = len(t), 4  # 10 % of 40
    rel = (stats.rankdata(t) - 1) / (n - 1)
    order = np.argsort(-s)
    ideal = np.sort(rel)[::-1]
    disc = 1 / np.log2(np.arange(2, k + 2))
    expected = (rel[order[:k]] * disc).sum() / (ideal[:k] * disc).sum()
    assert ndcg_at_k(t, s) == pytest.approx(expected)
    assert ndcg_at_k(t, s, k=k) == pytest.approx(expected)
    assert ndcg_at_k(t, t, k=5) == pytest.approx(1.0)
    # relevance is rank-normalised: a monotone transform of y_true changes nothing
    assert ndcg_at_k(np.exp(3 * t), s) == pytest.approx(expected)


@pytest.mark.parametrize("metric", METRICS)
def test_validation(metric):
    with pytest.raises(ValueError, match="different lengths"):
        metric([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="y_true contains 1 NaN"):
        metric([1.0, np.nan, 3.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="y_score contains 1 NaN or infinite"):
        metric([1.0, 2.0, 3.0], [1.0, np.inf, 3.0])
    with pytest.raises(ValueError, match="at least 2"):
        metric([1.0], [1.0])
    with pytest.raises(ValueError, match="1-D"):
        metric(np.ones((3, 2)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="numeric"):
        metric(["a", "b"], [1.0, 2.0])
    # a column vector is one value per architecture
    assert np.isfinite(metric(np.arange(4.0)[:, None], np.arange(4.0)))


def test_constant_scores_give_nan_correlation_not_a_number_made_up():
    with pytest.warns(stats.ConstantInputWarning):
        assert math.isnan(spearman([1.0, 2.0, 3.0], [5.0, 5.0, 5.0]))


# ---------------------------------------------------------------- scorers


def test_scorer_registry_and_lookup():
    assert set(SCORERS) == {
        "spearman",
        "kendall",
        "weighted_tau",
        "top10_precision",
        "regret",
        "ndcg@10",
    }
    assert get_scorer("kendall") is SCORERS["kendall"]
    assert get_scorer("r2") is not None  # falls back to scikit-learn's names
    my = SCORERS["spearman"]
    assert get_scorer(my) is my
    with pytest.raises(ValueError, match="not a valid scorer name.*spearman"):
        get_scorer("spearmann")
    with pytest.raises(TypeError):
        get_scorer(3)
    assert list(get_scorers(["regret", "spearman"])) == ["regret", "spearman"]
    with pytest.raises(TypeError, match="list"):
        get_scorers("spearman")
    with pytest.raises(ValueError, match="duplicate"):
        get_scorers(["spearman", "spearman"])
    # scikit-learn itself does not know these names (hence get_scorer)
    with pytest.raises(ValueError):
        sk_get_scorer("spearman")


def test_scorers_equal_metrics_on_predictions_and_regret_sign():
    X, y = _monotone_data()
    est = ColumnScorer(column=0).fit(X, y)
    pred = est.predict(X)
    assert SCORERS["spearman"](est, X, y) == pytest.approx(spearman(y, pred))
    assert SCORERS["weighted_tau"](est, X, y) == pytest.approx(weighted_tau(y, pred))
    assert SCORERS["top10_precision"](est, X, y) == pytest.approx(top_k_precision(y, pred, k=0.1))
    assert SCORERS["ndcg@10"](est, X, y) == pytest.approx(ndcg_at_k(y, pred, k=0.1))
    assert regret(y, pred) > 0
    assert SCORERS["regret"](est, X, y) == pytest.approx(-regret(y, pred))
    restored = pickle.loads(pickle.dumps(SCORERS["regret"]))
    assert restored(est, X, y) == pytest.approx(-regret(y, pred))


@pytest.mark.parametrize("name", sorted(SCORERS))
def test_cross_val_score_by_name(name):
    X, y = _monotone_data()
    cv = KFold(4, shuffle=True, random_state=0)
    good = cross_val_score(LinearRegression(), X, y, cv=cv, scoring=get_scorer(name))
    bad = cross_val_score(LinearRegression(), X[:, [1]], y, cv=cv, scoring=get_scorer(name))
    assert good.shape == (4,) and np.isfinite(good).all()
    if name == "regret":
        assert (good <= 0).all() and (bad <= 0).all()  # neg regret, 0 is perfect
        assert bad.mean() < good.mean()  # higher is better
    else:
        assert ((-1 <= good) & (good <= 1)).all()
        assert good.mean() > bad.mean()
    if name in ("spearman", "kendall", "weighted_tau"):
        assert good.min() > 0.7


def test_cross_validate_multi_metric_and_grid_search_with_score_predictor():
    X, y = _monotone_data()
    cv = KFold(3, shuffle=True, random_state=0)
    scoring = get_scorers(["spearman", "kendall", "regret", "ndcg@10"])
    res = cross_validate(ColumnScorer(0), X, y, cv=cv, scoring=scoring)
    # exp(feature 0) ranks exactly like the tanh target up to noise
    assert res["test_spearman"].min() > 0.9
    assert (res["test_regret"] <= 0).all()

    grid = GridSearchCV(ColumnScorer(), {"column": [1, 0]}, scoring=scoring, refit="regret", cv=cv)
    grid.fit(X, y)
    assert grid.best_params_ == {"column": 0}
    means = grid.cv_results_
    assert means["mean_test_spearman"][1] > means["mean_test_spearman"][0]
    assert means["mean_test_regret"][1] > means["mean_test_regret"][0]

    single = GridSearchCV(ColumnScorer(), {"column": [1, 0]}, scoring=SCORERS["kendall"], cv=cv)
    assert single.fit(X, y).best_params_ == {"column": 0}
