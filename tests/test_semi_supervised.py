"""SemiSupervisedRanker: unlabelled markers, sklearn contract, determinism, unlabelled rows,
pre-training, the inner cross-validation of the blend weight."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.utils.estimator_checks import parametrize_with_checks

from libranas import ZCRanker
from libranas.semi_supervised import SemiSupervisedRanker, choose_blend, unlabelled_mask

N, N_LAB = 200, 30


def _problem(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, 5))
    acc = X[:, 0] + 0.5 * np.sin(3 * X[:, 1]) + 0.1 * rng.normal(size=N)
    return X, acc


def _marked(acc: np.ndarray, marker: float = np.nan) -> np.ndarray:
    y = np.full(acc.shape, marker, dtype=float)
    y[:N_LAB] = acc[:N_LAB]
    return y


def _light(**kw) -> SemiSupervisedRanker:
    """A fast supervised view keeps the tests quick; the default view is tested once."""
    return SemiSupervisedRanker(ranker=Ridge(alpha=1.0), **kw)


def test_nan_marks_unlabelled_rows_by_default_and_minus_one_on_request():
    X, acc = _problem()
    # the same seed: the same inner folds (random_state=None draws them afresh each fit)
    model = _light(random_state=0).fit(X, _marked(acc))
    assert (model.n_labelled_, model.n_unlabelled_) == (N_LAB, N - N_LAB)
    minus = _light(unlabelled_value=-1, random_state=0).fit(X, _marked(acc, -1.0))
    assert (minus.n_labelled_, minus.n_unlabelled_) == (N_LAB, N - N_LAB)
    np.testing.assert_allclose(minus.predict(X), model.predict(X))
    # with the default marker, -1 is an ordinary (labelled) value
    assert _light().fit(X, _marked(acc, -1.0)).n_labelled_ == N
    assert unlabelled_mask([1.0, np.nan, -1.0]).tolist() == [False, True, False]


def test_default_supervised_view_is_zcranker_with_the_same_seed():
    X, acc = _problem()
    X = pd.DataFrame(X, columns=[f"p{j}" for j in range(5)])
    y = _marked(acc)
    model = SemiSupervisedRanker(random_state=3).fit(X, y)
    plain = ZCRanker(random_state=3).fit(X[:N_LAB], acc[:N_LAB])
    np.testing.assert_allclose(model.ranker_.predict(X), plain.predict(X))
    # blend=0: the supervised view alone (standardised: same order)
    alone = SemiSupervisedRanker(random_state=3, blend=0.0).fit(X, y)
    np.testing.assert_allclose(np.argsort(alone.predict(X)), np.argsort(plain.predict(X)))


def test_get_params_and_clone_keep_parameters_unchanged():
    model = SemiSupervisedRanker(blend=0.3, pretrain_weight=2.0, cv=4, random_state=5)
    params = model.get_params()
    assert params["blend"] == 0.3 and params["pretrain_weight"] == 2.0 and params["cv"] == 4
    assert params["random_state"] == 5
    twin = clone(model)
    assert twin.get_params() == params and twin is not model


def test_deterministic_and_independent_of_n_jobs():
    X, acc = _problem()
    y = _marked(acc)
    a = SemiSupervisedRanker(random_state=0, n_jobs=1).fit(X, y).predict(X)
    b = SemiSupervisedRanker(random_state=0, n_jobs=2).fit(X, y).predict(X)
    again = SemiSupervisedRanker(random_state=0, n_jobs=1).fit(X, y).predict(X)
    np.testing.assert_array_equal(a, again)
    # XGBoost's threads may change the last bit of a sum, never the order
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(np.argsort(a), np.argsort(b))


def test_unlabelled_rows_change_the_model():
    X, acc = _problem()
    y = _marked(acc)
    probe = X[:N_LAB]
    base = _light(blend=0.5).fit(X, y).predict(probe)
    # the same labelled rows with other unlabelled architectures
    X_other, _ = _problem(seed=1)
    X2 = np.vstack([X[:N_LAB], X_other[N_LAB:]])
    other = _light(blend=0.5).fit(X2, y).predict(probe)
    assert not np.allclose(base, other)
    # no unlabelled rows at all differs too
    only_labelled = _light(blend=0.5).fit(X[:N_LAB], acc[:N_LAB]).predict(probe)
    assert not np.allclose(base, only_labelled)


def test_pretraining_reads_the_architecture_columns_of_every_row():
    X, acc = _problem()
    y = _marked(acc)
    model = _light(blend=0.5, passthrough=[3, 4]).fit(X, y)
    # two architecture columns -> three proxies' ranks, fitted on all N rows
    assert model.pretrain_coef_.shape == (2, 3)
    assert model._representation(X).shape == (N, 5 + 3)
    without = _light(blend=0.5, passthrough=[3, 4], pretrain_weight=0.0).fit(X, y)
    assert without.pretrain_coef_ is None
    assert not np.allclose(model.predict(X), without.predict(X))
    # no passthrough column: nothing to pre-train from
    assert _light(blend=0.5).fit(X, y).pretrain_coef_ is None


def _views_problem(arch_is_right: bool) -> tuple[pd.DataFrame, np.ndarray]:
    """Column "proxy" and three architecture columns; accuracy follows one or the other."""
    rng = np.random.default_rng(7)
    arch = rng.normal(size=(N, 3))
    proxy = rng.normal(size=N)
    # the proxy alone orders the accuracies exactly, or the architecture columns (nearly) do
    acc = arch @ np.array([1.0, -0.5, 0.3]) + 0.05 * rng.normal(size=N) if arch_is_right else proxy
    X = pd.DataFrame(np.column_stack([proxy, arch]), columns=["proxy", "a0", "a1", "a2"])
    return X, acc


@pytest.mark.parametrize("arch_is_right", [True, False])
def test_inner_cross_validation_weights_the_view_that_ranks_the_labelled_rows(arch_is_right):
    X, acc = _views_problem(arch_is_right)
    y = np.full(N, np.nan)
    y[:60] = acc[:60]
    # supervised view: the proxy column alone (a training-free fusion that ignores the rest)
    proxy_only = ZCRanker("rank-mean", passthrough=["a0", "a1", "a2"])
    model = SemiSupervisedRanker(proxy_only, passthrough=["a*"], random_state=0).fit(X, y)
    assert model.cv_scores_.shape == (5,)
    if arch_is_right:
        assert model.blend_ >= 0.75
    else:
        assert model.blend_ == 0.0  # the safeguard: the supervised view alone
    assert model.score(X[60:], acc[60:]) > 0.8


def test_the_safeguard_keeps_the_fallback_unless_the_gain_is_consistent_over_folds():
    grid = np.array([0.0, 0.5, 1.0])
    consistent = np.array([[0.50, 0.55, 0.52], [0.40, 0.46, 0.41], [0.60, 0.64, 0.61]])
    assert choose_blend(consistent, grid, 2.0) == 1
    # a larger mean gain carried by one fold only: not eligible, the fallback stays
    noisy = np.array([[0.50, 0.95, 0.40], [0.40, 0.35, 0.30], [0.60, 0.58, 0.50]])
    assert choose_blend(noisy, grid, 2.0) == 0
    assert choose_blend(noisy, grid, 0.0) == 1  # no safeguard: the best mean


def test_too_few_labelled_rows_for_the_inner_folds_use_the_smallest_weight():
    X, acc = _problem()
    y = np.full(N, np.nan)
    y[:14] = acc[:14]  # fewer than 5 rows per fold for cv=3
    model = _light().fit(X, y)
    assert model.cv_scores_ is None and model.blend_ == 0.0
    assert _light(blend_grid=(0.5, 1.0)).fit(X, y).blend_ == 0.5
    assert _light(cv=2).fit(X, y).cv_scores_ is not None  # 7 rows per fold


def test_ranks_unlabelled_rows_well_on_a_learnable_problem():
    X, acc = _problem()
    model = _light().fit(X, _marked(acc))
    assert model.score(X[N_LAB:], acc[N_LAB:]) > 0.6


def test_predict_of_new_rows_matches_rows_seen_in_fit():
    X, acc = _problem()
    model = _light().fit(X, _marked(acc))
    np.testing.assert_allclose(model.predict(X[50:60]), model.predict(X)[50:60])


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda X, y: (X, np.where(np.arange(N) < 3, y, np.nan)), "at least 4 labelled"),
        (lambda X, y: (X, np.where(np.arange(N) < N_LAB, 0.5, np.nan)), "constant"),
        (lambda X, y: (np.where(np.eye(N, 5) > 0, np.inf, X), y), "infinity"),
        (lambda X, y: (X, np.where(np.arange(N) == 0, np.inf, y)), "non-finite"),
        (lambda X, y: (X, y[:-1]), "shape"),
        (lambda X, y: (X, np.array(["a"] * N)), "numbers"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error(change, match):
    X, acc = _problem()
    Xb, yb = change(X, _marked(acc))
    with pytest.raises(ValueError, match=match):
        _light().fit(Xb, yb)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"blend": 1.5}, "blend"),
        ({"blend": "auto"}, "blend"),
        ({"blend_grid": (0.0, 2.0)}, "blend_grid"),
        ({"blend_grid": ()}, "blend_grid"),
        ({"min_gain_se": -1.0}, "min_gain_se"),
        ({"cv": 1}, "cv"),
        ({"cv": 2.5}, "cv"),
        ({"pretrain_weight": -1.0}, "pretrain_weight"),
        ({"pretrain_alpha": 0.0}, "pretrain_alpha"),
        ({"pretrain_alpha": float("nan")}, "pretrain_alpha"),
        ({"arch_model": "gp"}, "arch_model"),
        ({"kernel_gamma": 0.0}, "kernel_gamma"),
        ({"kernel_alpha": -1.0}, "kernel_alpha"),
        ({"view_gate": "yes"}, "view_gate"),
    ],
)
def test_bad_parameters_are_refused(params, match):
    X, acc = _problem()
    with pytest.raises(ValueError, match=match):
        _light(**params).fit(X, _marked(acc))


def test_ranker_without_fit_is_refused():
    X, acc = _problem()
    with pytest.raises(TypeError, match="fit and predict"):
        SemiSupervisedRanker(ranker=object()).fit(X, _marked(acc))


def test_exported_lazily():
    import libranas

    assert libranas.SemiSupervisedRanker is SemiSupervisedRanker


@parametrize_with_checks([SemiSupervisedRanker(), SemiSupervisedRanker(ranker=Ridge())])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_the_architecture_view_is_a_kernel_ridge_on_the_standardised_accuracies():
    X, acc = _problem()
    y = _marked(acc)
    model = _light(blend=1.0).fit(X, y)
    assert isinstance(model.arch_model_, KernelRidge)
    assert model.arch_model_.gamma == pytest.approx(0.1 / X.shape[1])
    # the target is the accuracies standardised: an affine change of y changes nothing
    shifted = _light(blend=1.0).fit(X, np.where(np.isnan(y), np.nan, 3.0 * y + 7.0))
    np.testing.assert_allclose(shifted.predict(X), model.predict(X), atol=1e-10)
    # the kernel follows a non-linear accuracy the linear view misses
    linear = _light(blend=1.0, arch_model="ridge").fit(X, y)
    assert isinstance(linear.arch_model_, RidgeCV)
    assert model.score(X[N_LAB:], acc[N_LAB:]) > linear.score(X[N_LAB:], acc[N_LAB:])


def test_pretrain_only_columns_feed_pretraining_not_the_view():
    X, acc = _problem()
    y = _marked(acc)
    both = _light(blend=1.0, passthrough=[3, 4]).fit(X, y)
    split = _light(blend=1.0, passthrough=[3], pretrain_only=[4]).fit(X, y)
    # the same architecture columns (3, 4) and proxies (0-2): the same pre-training
    np.testing.assert_array_equal(split.ranked_mask_, both.ranked_mask_)
    np.testing.assert_allclose(split.pretrain_coef_, both.pretrain_coef_)
    # but the view leaves column 4 out (5 columns + 3 pre-trained, less one)
    assert split.view_mask_.tolist() == [True] * 4 + [False] + [True] * 3
    assert both.view_mask_.all()
    assert not np.allclose(split.predict(X), both.predict(X))
    # listed in pretrain_only alone, a column is an architecture column (not ranked)
    only = _light(blend=1.0, pretrain_only=[3, 4]).fit(X, y)
    np.testing.assert_array_equal(only.ranked_mask_, both.ranked_mask_)
    with pytest.raises(TypeError, match="pretrain_only"):
        _light(pretrain_only="onehot:*").fit(pd.DataFrame(X), y)


def test_view_gate_falls_back_when_the_view_alone_ranks_worse():
    grid = np.array([0.0, 0.5, 1.0])
    # the blend 0.5 gains consistently, the view alone (weight 1) loses to the fallback
    folds = np.array([[0.80, 0.84, 0.70], [0.78, 0.82, 0.72], [0.81, 0.85, 0.74]])
    assert choose_blend(folds, grid, 2.0) == 1
    assert choose_blend(folds, grid, 2.0, view_gate=True) == 0
    # the view alone as good as the fallback: the gate lets the blend through
    folds[:, 2] = folds[:, 0] + 0.01
    assert choose_blend(folds, grid, 2.0, view_gate=True) == 1


def test_network_feature_roles_by_pattern():
    """The user guide's recipe for features read from the network: the block positions
    (``=`` operation and ``<-`` wiring columns) feed the pre-training only, the other network
    and block columns the architecture view, the proxies are ranked."""
    pytest.importorskip("torch")
    from libranas import ArchFeaturizer
    from libranas.spaces import get_space

    space = get_space("nb201")
    archs = space.sample(40, random_state=0)
    feats = ArchFeaturizer(space, features=("network", "blocks"), drop_constant=True).fit(archs)
    names = [str(n) for n in feats.get_feature_names_out()]
    rng = np.random.default_rng(0)
    X = pd.DataFrame(feats.transform(archs), columns=names)
    X.insert(0, "proxy", X["network:log10_params"] + rng.normal(0, 0.1, len(X)))
    y = np.where(np.arange(len(X)) < 20, X["network:log10_params"] + rng.normal(0, 0.1, len(X)),
                 np.nan)  # fmt: skip
    model = _light(
        passthrough=["network:*", "blocks:*"], pretrain_only=["blocks:*=*", "blocks:*<-*"]
    ).fit(X, y)
    positions = [n.startswith("blocks:") and ("=" in n or "<-" in n) for n in names]
    assert any(positions) and any(":graph:" in n for n in names)
    assert model.ranked_mask_.tolist() == [True] + [False] * len(names)
    # the view: the proxy, every non-position column, and the pre-trained columns
    view = model.view_mask_[: X.shape[1]]
    assert view.tolist() == [True] + [not p for p in positions]
    assert model.pretrain_coef_ is not None and model.view_mask_[X.shape[1] :].all()
    assert np.isfinite(model.predict(X)).all()
