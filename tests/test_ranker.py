"""Tests of libranas.ranker.ZCRanker."""

from __future__ import annotations

import pickle
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kendalltau, rankdata, spearmanr
from sklearn.base import clone
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.model_selection import cross_val_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from libranas.ranker import ZCRanker

# --------------------------------------------------------------------------- sklearn checks

CHECKED = [
    # every method with its default parameters ("estimator" needs its regressor)
    ZCRanker(),
    ZCRanker(method="rank-mean"),
    ZCRanker(method="log-rank"),
    ZCRanker(method="xgboost"),
    ZCRanker(method="xgboost-pairwise"),
    ZCRanker(method="estimator", estimator=Ridge()),
    ZCRanker(estimator=Ridge()),
    ZCRanker(
        method="xgboost",
        rank_transform=True,
        monotone="auto",
        target="rank",
        n_estimators_bag=2,
        n_estimators=20,
        n_jobs=1,
    ),
    ZCRanker(method="rank-mean", rank_reference="predict"),
]


def _expected_failures(est: ZCRanker) -> dict[str, str]:
    if est.rank_reference == "predict":
        return {
            "check_methods_subset_invariance": (
                "by design: rank_reference='predict' ranks within the predict batch, so a row's "
                "score depends on the rows predicted with it (the default 'fit' does not)"
            )
        }
    return {}


@parametrize_with_checks(CHECKED, expected_failed_checks=_expected_failures)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# --------------------------------------------------------------------------- helpers


def _synthetic(n: int = 80, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(seed)
    y = rng.uniform(size=n)
    noise = rng.normal(scale=0.3, size=n)
    X = np.column_stack([y + noise, np.exp(2 * y), -(y**3) + 0.5 * noise, rng.normal(size=n)])
    return X, y


@pytest.fixture(scope="module")
def nb201():
    from libranas.datasets import load_benchmark

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the table's one -inf nwot value is reported as NaN
        bench = load_benchmark("nb201-cifar10")
    perm = np.random.RandomState(0).permutation(len(bench.y))
    return bench.X, bench.y.to_numpy(), perm[:100], perm[100:]


# --------------------------------------------------------------------------- real data


def test_xgboost_on_nb201_beats_nas_bench_suite_zero(nb201):
    X, y, tr, te = nb201
    assert X.isna().to_numpy().any()  # the -inf nwot arch: NaN handled natively
    ranker = ZCRanker(random_state=0, n_jobs=1).fit(X.iloc[tr], y[tr])
    assert ranker.method_ == "ensemble"
    rho = spearmanr(ranker.predict(X.iloc[te]), y[te]).statistic
    # study: 0.93 +- 0.01 over 10 seeds; NAS-Bench-Suite-Zero's XGBoost: 0.905
    assert rho > 0.91
    assert ranker.score(X.iloc[te], y[te]) == pytest.approx(
        kendalltau(ranker.predict(X.iloc[te]), y[te]).statistic
    )


def test_rank_fusion_on_nb201_learns_signs(nb201):
    X, y, tr, te = nb201
    fused = ZCRanker(method="rank-mean", signs="auto").fit(X.iloc[tr], y[tr])
    signs = dict(zip(fused.feature_names_in_, fused.signs_, strict=True))
    assert signs["plain"] == -1.0  # the one proxy anti-correlated with accuracy on NB201
    assert signs["nwot"] == signs["synflow"] == 1.0
    rho = spearmanr(fused.predict(X.iloc[te]), y[te]).statistic
    unsigned = ZCRanker(method="rank-mean").fit(X.iloc[tr], y[tr])
    rho_unsigned = spearmanr(unsigned.predict(X.iloc[te]), y[te]).statistic
    assert rho > 0.8
    assert rho > rho_unsigned


def test_pairwise_on_nb201(nb201):
    X, y, tr, te = nb201
    ranker = ZCRanker(method="xgboost-pairwise", random_state=0, n_jobs=1)
    ranker.fit(X.iloc[tr], y[tr])
    assert spearmanr(ranker.predict(X.iloc[te]), y[te]).statistic > 0.9


# --------------------------------------------------------------------------- fusions


@pytest.mark.parametrize("method", ["rank-mean", "log-rank"])
def test_monotone_perfect_columns_give_tau_one(method):
    rng = np.random.RandomState(1)
    y = rng.normal(size=60)
    X = np.column_stack([np.exp(y), y**3 + 5])
    ranker = ZCRanker(method=method).fit(X, y)
    assert ranker.score(X, y) == pytest.approx(1.0)
    X_new = np.column_stack([np.exp(-y), -(y**3)])  # both columns reversed
    assert ZCRanker(method=method).fit(X_new).score(X_new, y) == pytest.approx(-1.0)


def test_rank_mean_is_mean_of_normalised_ranks():
    X, _ = _synthetic(30)
    expected = np.mean([rankdata(X[:, j]) / 30 for j in range(X.shape[1])], axis=0)
    assert np.allclose(ZCRanker(method="rank-mean").fit(X).predict(X), expected)


def test_log_rank_orders_like_az_nas_sum():
    X, _ = _synthetic(40)
    az_nas = np.sum([np.log(rankdata(X[:, j]) / 40) for j in range(X.shape[1])], axis=0)
    scores = ZCRanker(method="log-rank").fit(X).predict(X)
    assert np.allclose(scores * X.shape[1], az_nas)


def test_signs_auto_explicit_and_dict():
    X, y = _synthetic()
    auto = ZCRanker(method="rank-mean", signs="auto").fit(X, y)
    assert auto.signs_.tolist() == [1.0, 1.0, -1.0, np.sign(spearmanr(X[:, 3], y).statistic)]
    explicit = ZCRanker(method="rank-mean", signs=auto.signs_).fit(X)
    assert np.allclose(explicit.predict(X), auto.predict(X))
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    by_name = ZCRanker(method="rank-mean", signs={"c": -1}, passthrough=["d"]).fit(df)
    assert by_name.signs_.tolist() == [1.0, 1.0, -1.0, 1.0]
    # a flipped column ranks in reverse: rank-mean of [-c] alone is the reverse order of c
    only_c = ZCRanker(method="rank-mean", signs=[1, 1, -1, 1], passthrough=[0, 1, 3]).fit(X)
    assert np.allclose(only_c.predict(X), rankdata(-X[:, 2]) / len(X))


def test_passthrough_columns_are_ignored_by_fusions():
    X, y = _synthetic()
    df = pd.DataFrame(X, columns=["a", "b", "c", "enc"])
    with_enc = ZCRanker(method="rank-mean", passthrough=["enc"]).fit(df, y)
    without = ZCRanker(method="rank-mean").fit(df[["a", "b", "c"]], y)
    assert with_enc.proxy_mask_.tolist() == [True, True, True, False]
    assert np.allclose(with_enc.predict(df), without.predict(df[["a", "b", "c"]]))


def test_fit_reference_is_batch_independent_and_matches_batch_on_fit_data():
    X, y = _synthetic(50)
    ref = ZCRanker(method="rank-mean").fit(X)
    batch = ZCRanker(method="rank-mean", rank_reference="predict").fit(X)
    assert np.allclose(ref.predict(X), batch.predict(X))
    one_by_one = np.array([ref.predict(X[i : i + 1])[0] for i in range(5)])
    assert np.allclose(one_by_one, ref.predict(X)[:5])
    # a single-row batch is always "rank 1" under rank_reference="predict"
    assert batch.predict(X[:1])[0] == 1.0
    # unseen values are interpolated between fitted ones and clipped outside their range
    col = np.array([[0.0], [1.0], [2.0], [3.0]])
    r = ZCRanker(method="rank-mean").fit(col)
    assert np.allclose(r.predict([[0.5], [-10.0], [10.0]]), [0.375, 0.25, 1.0])


# --------------------------------------------------------------------------- NaN and inf


def test_fusion_nan_averages_finite_columns_and_all_nan_row_is_nan():
    X = np.array([[1.0, 10.0], [2.0, np.nan], [3.0, 30.0], [np.nan, np.nan]])
    scores = ZCRanker(method="rank-mean").fit(X).predict(X)
    # column 0 ranks among 3 finite values, column 1 among 2
    assert np.allclose(scores[:3], [(1 / 3 + 1 / 2) / 2, 2 / 3, (1 + 1) / 2])
    assert np.isnan(scores[3])
    ranker = ZCRanker(method="rank-mean").fit(X)
    with pytest.raises(ValueError, match="NaN score"):
        ranker.score(X, [1.0, 2.0, 3.0, 4.0])


def test_fusion_orders_infinities_as_extremes():
    X = np.array([[-np.inf, 1.0], [0.0, 2.0], [np.inf, 3.0]])
    scores = ZCRanker(method="rank-mean").fit(X).predict(X)
    assert np.all(np.diff(scores) > 0)


def test_xgboost_nan_native_and_inf_needs_rank_transform():
    X, y = _synthetic(60)
    X[::7, 0] = np.nan
    ranker = ZCRanker(n_estimators=30, random_state=0, n_jobs=1).fit(X, y)
    assert np.all(np.isfinite(ranker.predict(X)))
    df = pd.DataFrame(X, columns=["a", "nwot", "c", "d"])
    df.iloc[3, 1] = -np.inf
    with pytest.raises(ValueError, match=r"infinity in column\(s\) \['nwot'\].*rank_transform"):
        ZCRanker(n_estimators=30, n_jobs=1).fit(df, y)
    ranked = ZCRanker(n_estimators=30, rank_transform=True, random_state=0, n_jobs=1).fit(df, y)
    assert np.all(np.isfinite(ranked.predict(df)))
    fitted = ZCRanker(n_estimators=30, n_jobs=1).fit(df.iloc[4:], y[4:])
    with pytest.raises(ValueError, match="infinity"):
        fitted.predict(df)


def test_estimator_method_leaves_nan_to_the_estimator():
    X, y = _synthetic(40)
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ZCRanker(estimator=Ridge()).fit(X, y)


@pytest.mark.parametrize("method", ["rank-mean", "xgboost"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_y_is_rejected(method, bad):
    X, y = _synthetic(20)
    y[3] = bad
    with pytest.raises(ValueError, match="Input y contains"):
        ZCRanker(method=method, n_estimators=5).fit(X, y)


@pytest.mark.parametrize("method", ["rank-mean", "xgboost"])
def test_length_mismatch_is_rejected(method):
    X, y = _synthetic(20)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        ZCRanker(method=method, n_estimators=5).fit(X, y[:-1])


# --------------------------------------------------------------------------- learned options


def test_same_seed_same_scores_and_seeds_matter():
    X, y = _synthetic(60)
    a = ZCRanker(n_estimators=50, random_state=3, n_jobs=1).fit(X, y).predict(X)
    b = ZCRanker(n_estimators=50, random_state=3, n_jobs=1).fit(X, y).predict(X)
    c = ZCRanker(n_estimators=50, random_state=4, n_jobs=1).fit(X, y).predict(X)
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)  # subsample < 1: the seed changes the trees


def test_bagging_averages_members():
    X, y = _synthetic(60)
    bag = ZCRanker("xgboost", n_estimators=40, n_estimators_bag=3, random_state=0, n_jobs=1).fit(
        X, y
    )
    assert len(bag.models_) == 3 and bag.model_ is bag.models_[0]
    # members see the model input (signed log1p of the proxies, see ZCRanker._model_input)
    members = np.array([m.predict(bag._model_input(X)) for m in bag.models_])
    assert not np.allclose(members[0], members[1])
    assert np.allclose(bag.predict(X), members.mean(axis=0))
    deterministic_bag = ZCRanker(estimator=LinearRegression(), n_estimators_bag=2)
    with pytest.raises(ValueError, match="random_state"):
        deterministic_bag.fit(X, y)


def test_monotone_auto_constraints_and_monotone_predictions():
    X, y = _synthetic(80)
    df = pd.DataFrame(X, columns=["a", "b", "c", "enc"])
    ranker = ZCRanker(monotone="auto", passthrough=["enc"], n_estimators=50, random_state=0)
    ranker.fit(df, y)
    assert ranker.monotone_constraints_ == (1, 1, -1, 0)
    grid = np.tile(df.iloc[[0]].to_numpy(), (50, 1))
    grid[:, 2] = np.linspace(df["c"].min(), df["c"].max(), 50)
    pred = ranker.predict(pd.DataFrame(grid, columns=df.columns))
    assert np.all(np.diff(pred) <= 1e-7)  # decreasing in the anti-correlated column


def test_target_rank_is_invariant_to_monotone_transforms_of_y():
    X, y = _synthetic(60)
    a = ZCRanker(target="rank", n_estimators=30, random_state=0).fit(X, y).predict(X)
    b = ZCRanker(target="rank", n_estimators=30, random_state=0).fit(X, np.exp(5 * y)).predict(X)
    assert np.allclose(a, b)


def test_rank_transform_makes_linear_models_scale_free():
    X, y = _synthetic(60)
    X_scaled = X.copy()
    X_scaled[:, 1] = np.log(X_scaled[:, 1])  # monotone transform of a proxy
    a = ZCRanker(estimator=Ridge(), rank_transform=True).fit(X, y).predict(X)
    b = ZCRanker(estimator=Ridge(), rank_transform=True).fit(X_scaled, y).predict(X_scaled)
    assert np.allclose(a, b)
    raw = ZCRanker(estimator=Ridge()).fit(X, y).predict(X)
    assert not np.allclose(a, raw)


def test_estimator_is_cloned_and_works_in_cross_val_score():
    X, y = _synthetic(60)
    ridge = Ridge()
    ranker = ZCRanker(estimator=ridge).fit(X, y)
    assert ranker.method_ == "estimator" and ranker.model_ is not ridge
    assert not hasattr(ridge, "coef_")
    taus = cross_val_score(ZCRanker(estimator=Ridge()), X, y, cv=3)
    assert np.all(taus > 0.3)  # default scorer = ZCRanker.score = Kendall tau


def test_pickle_roundtrip_keeps_scores():
    X, y = _synthetic(40)
    ranker = ZCRanker(method="xgboost-pairwise", n_estimators=20, random_state=0).fit(X, y)
    again = pickle.loads(pickle.dumps(ranker))
    assert np.array_equal(again.predict(X), ranker.predict(X))
    assert clone(ranker).get_params() == ranker.get_params()


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(method="borda"), "method must be one of"),
        (dict(method="xgboost", estimator=Ridge()), "only used with method='estimator'"),
        (dict(method="estimator"), "needs a scikit-learn regressor"),
        (dict(method="rank-mean", target="rank"), "only apply to the learned methods"),
        (dict(method="log-rank", n_estimators_bag=3), "only apply to the learned methods"),
        (dict(estimator=Ridge(), monotone="auto"), "monotone constraints need an XGBoost"),
        (dict(xgb_params={"random_state": 1}), "xgb_params may not set"),
        (dict(target="ranks"), "target must be"),
        (dict(rank_reference="batch"), "rank_reference must be"),
        (dict(n_estimators_bag=0), "n_estimators_bag"),
        (dict(method="rank-mean", signs=[1, 1]), "signs has shape"),
        (dict(method="rank-mean", signs=[1, 2, 1, 1]), "must be \\+1 or -1"),
        (dict(method="rank-mean", passthrough=["x"]), "no column names"),
        (dict(method="rank-mean", passthrough=[7]), "out of range"),
        (dict(method="rank-mean", passthrough=[0, 1, 2, 3]), "every column is in passthrough"),
        (dict(monotone=[1, 0]), "monotone must hold"),
    ],
)
def test_bad_parameters_raise_clear_errors(params, match):
    X, y = _synthetic(20)
    with pytest.raises(ValueError, match=match):
        ZCRanker(n_estimators=5, **params).fit(X, y)


def test_training_free_needs_no_y_unless_signs_auto():
    X, _ = _synthetic(20)
    assert ZCRanker(method="rank-mean").fit(X).predict(X).shape == (20,)
    with pytest.raises(ValueError, match="requires y"):
        ZCRanker(method="rank-mean", signs="auto").fit(X)
    with pytest.raises(ValueError, match="requires y"):
        ZCRanker(method="xgboost").fit(X)


def test_missing_xgboost_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "xgboost", None)  # makes `import xgboost` fail
    X, y = _synthetic(20)
    with pytest.raises(ImportError, match="pip install xgboost"):
        ZCRanker(n_estimators=5).fit(X, y)
    ZCRanker(method="rank-mean").fit(X, y)  # the fusions do not need it


def test_a_dataframe_without_columns_gets_a_clear_error():
    import pandas as pd

    X = pd.DataFrame(index=range(10))
    with pytest.raises(ValueError, match="ZCRanker: X has no columns"):
        ZCRanker(method="rank-mean").fit(X, np.arange(10.0))


# --------------------------------------------------------------------------- too little to learn


@pytest.mark.parametrize("method", ["xgboost", "xgboost-pairwise", "estimator"])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_learned_methods_refuse_too_few_rows(method, n):
    X, y = _synthetic(n)
    params = {"estimator": Ridge()} if method == "estimator" else {"n_estimators": 5}
    with pytest.raises(ValueError, match=rf"needs at least 4, got {n} sample"):
        ZCRanker(method, **params).fit(X, y)


@pytest.mark.parametrize("method", ["xgboost", "xgboost-pairwise", "estimator"])
def test_learned_methods_refuse_a_constant_target(method):
    X, _ = _synthetic(30)
    params = {"estimator": Ridge()} if method == "estimator" else {"n_estimators": 5}
    with pytest.raises(ValueError, match="y is constant"):
        ZCRanker(method, **params).fit(X, np.full(30, 0.7))
    # four rows with a varying target are enough to learn an order
    X4, y4 = _synthetic(4)
    assert ZCRanker(method, **params).fit(X4, y4).predict(X4).shape == (4,)


@pytest.mark.parametrize("method", ["rank-mean", "log-rank"])
def test_training_free_methods_need_no_usable_labels(method):
    X, y = _synthetic(3)
    pred = ZCRanker(method).fit(X, np.zeros(3)).predict(X)
    np.testing.assert_array_equal(pred, ZCRanker(method).fit(X, y).predict(X))


def _slog(df):
    return np.sign(df) * np.log1p(np.abs(df))


def test_ensemble_standardises_each_model_and_averages(nb201):
    from sklearn.ensemble import ExtraTreesRegressor

    X, y, tr, te = nb201
    blend = ZCRanker("ensemble", random_state=0).fit(X.iloc[tr], y[tr])
    assert len(blend.models_) == 3 and len(blend.blend_scales_) == 3
    seed = int(blend.models_[2].random_state)
    reg = ZCRanker("xgboost", random_state=0).fit(X.iloc[tr], y[tr])
    pair = ZCRanker("xgboost-pairwise", random_state=0).fit(X.iloc[tr], y[tr])
    trees = ZCRanker(
        estimator=ExtraTreesRegressor(n_estimators=300, max_features=0.3, random_state=seed)
    ).fit(_slog(X.iloc[tr]), y[tr])
    Z = X.iloc[te]
    by_hand = []
    for model in (reg, pair, trees):
        # the trees see the ensemble's model input (signed log1p), not the raw proxies
        Zm, Xm = (Z, X.iloc[tr]) if model is not trees else (_slog(Z), _slog(X.iloc[tr]))
        fitted = model.predict(Xm)
        by_hand.append((model.predict(Zm) - fitted.mean()) / fitted.std())
    np.testing.assert_allclose(blend.predict(Z), np.mean(by_hand, axis=0), rtol=1e-5, atol=1e-6)
    # one row scored alone gets the score it gets among others
    np.testing.assert_allclose(blend.predict(Z.iloc[:1]), blend.predict(Z)[:1], rtol=1e-6)
