"""Tests for libranas.selector.LibraSelector."""

from __future__ import annotations

import json
import math
import pickle
import warnings
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.base import clone
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from libranas.metrics import get_scorer
from libranas.selector import TARGET_KEY, LibraSelector, sturges_bins

# ---------------------------------------------------------------- independent reference code


def _hand_codes(values, n_bins):
    """Equal-width bin of each value over [min, max], last bin closed (plain Python)."""
    lo, hi = min(values), max(values)
    width = (hi - lo) / n_bins
    return [min(int((v - lo) / width), n_bins - 1) for v in values]


def _hand_entropy(*columns):
    counts = Counter(zip(*columns, strict=True))
    n = len(columns[0])
    return -sum(c / n * math.log(c / n) for c in counts.values())


def _hand_ig(y, z1, h, n_bins):
    cy, cz, ch = (_hand_codes(list(v), n_bins) for v in (y, z1, h))
    return (_hand_entropy(cy, cz) - _hand_entropy(cz)) - (
        _hand_entropy(cy, cz, ch) - _hand_entropy(cz, ch)
    )


def _histdd_entropy(*columns, n_bins):
    counts, _ = np.histogramdd(np.column_stack(columns), bins=n_bins)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def _hand_matrix(seed=10, n=40):
    """c, a, b, d correlate with y; b is a noisy copy of a; d leans on the size factor."""
    rng = np.random.default_rng(seed)
    y = rng.normal(size=n)
    size = rng.normal(size=n)
    params = 0.5 * y + size
    a = y + 0.3 * rng.normal(size=n)
    X = pd.DataFrame(
        {
            "c": y + 0.45 * rng.normal(size=n),
            "a": a,
            "b": 2 * a + 0.15 * rng.normal(size=n),
            "d": y + 0.3 * size + 0.3 * rng.normal(size=n),
            "e": rng.normal(size=n),
            "params": params,
        }
    )
    return X, y


# ---------------------------------------------------------------- the algorithm


def test_sturges_bins():
    assert sturges_bins(1000) == 24
    assert sturges_bins(40) == round(1 + 3.322 * math.log(40)) == 13
    with pytest.raises(ValueError, match="positive integer"):
        sturges_bins(0)


def test_hand_matrix_matches_independent_recomputation():
    X, y = _hand_matrix()
    n = len(y)
    n_bins = round(1 + 3.322 * math.log(n))
    rho = {c: spearmanr(X[c], y).statistic for c in X.columns}
    z1 = max(X.columns, key=lambda c: rho[c])
    window = [c for c in X.columns if c != z1 and rho[z1] - 0.1 < rho[c] <= rho[z1]]
    ig = {c: _hand_ig(y, X[z1], X[c], n_bins) for c in window}
    z2 = min(window, key=lambda c: ig[c])
    b_val = spearmanr(y, X["params"]).statistic
    b = {c: spearmanr(X[c], X["params"]).statistic for c in window}
    z3 = min((c for c in window if c != z2), key=lambda c: abs(b_val - b[c]))

    # the matrix is built so that every step matters
    assert (z1, window, z2, z3) == ("a", ["c", "b", "d"], "b", "c")
    assert max(window, key=lambda c: rho[c]) != z2  # min-IG is not "second best rho"
    next_ig = min((c for c in window if c != z2), key=lambda c: ig[c])
    assert next_ig != z3  # the bias step changes the third pick

    sel = LibraSelector().fit(X, y)
    assert sel.selected_ == [z1, z2, z3]
    assert sel.window_ == window
    assert sel.n_bins_ == n_bins
    for c in X.columns:
        assert sel.correlations_[c] == pytest.approx(rho[c], abs=1e-12)
    assert list(sel.information_gain_.index) == window
    for c in window:
        assert sel.information_gain_[c] == pytest.approx(ig[c], abs=1e-12)
        # same numbers from numpy's own multi-dimensional histogram
        yz1h = (y, X[z1].to_numpy(), X[c].to_numpy())
        ig_dd = (
            _histdd_entropy(yz1h[0], yz1h[1], n_bins=n_bins)
            - _histdd_entropy(yz1h[1], n_bins=n_bins)
            - _histdd_entropy(*yz1h, n_bins=n_bins)
            + _histdd_entropy(yz1h[1], yz1h[2], n_bins=n_bins)
        )
        assert sel.information_gain_[c] == pytest.approx(ig_dd, abs=1e-12)
        assert sel.bias_[c] == pytest.approx(b[c], abs=1e-12)
    assert sel.bias_[TARGET_KEY] == pytest.approx(b_val, abs=1e-12)
    assert sel.excluded_ == {}

    # bias=None: the third pick is the next-lowest information gain
    assert LibraSelector(bias=None).fit(X, y).selected_ == [z1, z2, next_ig]
    assert LibraSelector(bias=None).fit(X, y).bias_ is None


def test_transform_outputs_libra_order_not_input_order():
    X, y = _hand_matrix()
    sel = LibraSelector().fit(X, y)
    assert sel.selected_ == ["a", "b", "c"]  # c comes first in X
    out = sel.transform(X)
    np.testing.assert_array_equal(out, X[["a", "b", "c"]].to_numpy())
    assert list(sel.get_feature_names_out()) == ["a", "b", "c"]
    np.testing.assert_array_equal(sel.get_support(), [True, True, True, False, False, False])
    df = clone(sel).set_output(transform="pandas").fit_transform(X, y)
    assert list(df.columns) == ["a", "b", "c"]
    pd.testing.assert_frame_equal(df, X[["a", "b", "c"]])
    back = sel.inverse_transform(out)
    np.testing.assert_array_equal(back[:, [1, 2, 0]], out)
    np.testing.assert_array_equal(back[:, 3:], 0.0)
    with pytest.raises(ValueError, match="columns"):
        sel.inverse_transform(out[:, :2])


def test_max_proxies_truncates():
    X, y = _hand_matrix()
    assert LibraSelector(max_proxies=1).fit(X, y).selected_ == ["a"]
    assert LibraSelector(max_proxies=2).fit(X, y).selected_ == ["a", "b"]


def test_window_width_controls_selection_size():
    X, y = _hand_matrix()
    rho = X.apply(lambda col: spearmanr(col, y).statistic)
    # empty window: only the best proxy
    tiny = LibraSelector(window=(rho["a"] - rho["d"]) / 2).fit(X, y)
    assert tiny.selected_ == ["a"]
    assert tiny.window_ == []
    assert tiny.information_gain_.empty
    # one-member window (only d within reach): [z1, z2]
    one = LibraSelector(window=(rho["a"] - rho["b"]) / 2 + (rho["a"] - rho["d"])).fit(X, y)
    assert one.window_ == ["d"]
    assert one.selected_ == ["a", "d"]
    # a huge window takes everything except z1 into W
    wide = LibraSelector(window=10.0).fit(X, y)
    assert wide.window_ == ["c", "b", "d", "e", "params"]


def test_ties_go_to_first_column():
    X, y = _hand_matrix()
    X2 = X.copy()
    X2.insert(0, "a_copy", X["a"] * 3.0 + 1.0)  # same ranks as a -> same rho
    sel = LibraSelector().fit(X2, y)
    assert sel.correlations_["a_copy"] == sel.correlations_["a"]
    assert sel.selected_[0] == "a_copy"
    # a (identical ranks and identical bins) has IG 0 -> z2
    assert sel.selected_[1] == "a"
    assert sel.information_gain_["a"] == pytest.approx(0.0, abs=1e-12)
    # reverse column order: the other twin wins
    rev = LibraSelector().fit(X2[X2.columns[::-1]], y)
    assert rev.selected_[:2] == ["a", "a_copy"]
    # two identical window members tie on IG and bias: the first one in X is taken
    X3 = X.copy()
    X3["b_twin"] = X["b"]
    X3 = X3[["c", "a", "b_twin", "b", "d", "e", "params"]]
    assert LibraSelector().fit(X3, y).selected_[1] == "b_twin"


def test_nan_rows_ignored_per_column_and_kept_in_output():
    X, y = _hand_matrix()
    Xn = X.copy()
    Xn.loc[[0, 5, 7], "c"] = np.nan
    sel = LibraSelector().fit(Xn, y)
    m = Xn["c"].notna().to_numpy()
    assert sel.correlations_["c"] == pytest.approx(spearmanr(X["c"][m], y[m]).statistic)
    # other columns use all rows
    assert sel.correlations_["a"] == pytest.approx(spearmanr(X["a"], y).statistic)
    # IG of c uses only the rows where c is finite, with bins for that many rows
    n_bins = round(1 + 3.322 * math.log(int(m.sum())))
    expected = _hand_ig(y[m], X["a"][m], X["c"][m], n_bins)
    assert sel.information_gain_["c"] == pytest.approx(expected, abs=1e-12)
    out = sel.transform(Xn)
    col = sel.selected_.index("c")
    assert np.isnan(out[[0, 5, 7], col]).all()  # never imputed


def test_inf_in_x_warns_and_is_ignored_like_nan():
    X, y = _hand_matrix()
    Xi = X.copy()
    Xi.loc[3, "d"] = -np.inf
    with pytest.warns(UserWarning, match=r"\['d'\] contain \+-inf"):
        sel = LibraSelector().fit(Xi, y)
    m = np.isfinite(Xi["d"].to_numpy())
    assert sel.correlations_["d"] == pytest.approx(spearmanr(X["d"][m], y[m]).statistic)


def test_column_with_too_few_finite_rows_is_skipped_with_warning():
    X, y = _hand_matrix()
    Xn = X.copy()
    Xn.loc[6:, "c"] = np.nan  # 6 finite rows < 7 needed for Sturges
    with pytest.warns(UserWarning, match="'c' skipped: only 6 finite rows"):
        sel = LibraSelector().fit(Xn, y)
    assert "c" in sel.excluded_
    assert np.isnan(sel.correlations_["c"])
    assert "c" not in sel.window_
    assert "c" not in sel.selected_


def test_constant_column_is_skipped_with_warning():
    X, y = _hand_matrix()
    X["const"] = 1.0
    with pytest.warns(UserWarning, match="'const' skipped: constant"):
        sel = LibraSelector().fit(X, y)
    assert "const" in sel.excluded_
    assert sel.selected_ == ["a", "b", "c"]


def test_only_unusable_columns_raise():
    X, y = _hand_matrix()
    with pytest.warns(UserWarning, match="constant"), pytest.raises(ValueError, match="usable"):
        LibraSelector(bias=None).fit(pd.DataFrame({"k": np.ones(len(y))}), y)


def test_passthrough_columns_are_kept_after_selected_and_never_selected():
    X, y = _hand_matrix()
    X = X.copy()
    X.insert(0, "enc0", y * 10.0)  # perfectly correlated, but an encoding, not a proxy
    X["enc1"] = np.arange(len(y), dtype=float)
    sel = LibraSelector(passthrough=["enc1", "enc0", "params"]).fit(X, y)
    assert sel.selected_ == ["a", "b", "c"]
    assert sel.passthrough_ == ["enc0", "params", "enc1"]  # input order
    assert "enc0" not in sel.correlations_.index
    # the bias column is still used for b although it is passthrough
    assert sel.bias_[TARGET_KEY] == pytest.approx(spearmanr(y, X["params"]).statistic)
    assert list(sel.get_feature_names_out()) == ["a", "b", "c", "enc0", "params", "enc1"]
    np.testing.assert_array_equal(
        sel.transform(X), X[["a", "b", "c", "enc0", "params", "enc1"]].to_numpy()
    )
    with pytest.raises(ValueError, match="every column"):
        LibraSelector(bias=None, passthrough=list(X.columns)).fit(X, y)
    with pytest.raises(ValueError, match="twice"):
        LibraSelector(passthrough=["enc0", 0]).fit(X, y)


def test_ndarray_input_uses_positional_names():
    X, y = _hand_matrix()
    A = X.to_numpy()
    with pytest.raises(ValueError, match="no column names"):
        LibraSelector(bias="params").fit(A, y)  # a name cannot be looked up in an ndarray
    # the default bias="auto" has no 'params' column to use here: no bias step, recorded
    auto = LibraSelector().fit(A, y)
    assert auto.bias_column_ is None and auto.bias_ is None
    assert auto.selected_ == LibraSelector(bias=None).fit(A, y).selected_
    sel = LibraSelector(bias=5).fit(A, y)
    assert sel.bias_column_ == "x5"
    assert sel.selected_ == ["x1", "x2", "x0"]
    assert not hasattr(sel, "feature_names_in_")
    assert list(sel.get_feature_names_out()) == ["x1", "x2", "x0"]
    np.testing.assert_array_equal(sel.transform(A), A[:, [1, 2, 0]])
    assert LibraSelector(bias=-1).fit(A, y).selected_ == sel.selected_
    sel_pt = LibraSelector(bias=5, passthrough=[4]).fit(A, y)
    assert list(sel_pt.get_feature_names_out()) == ["x1", "x2", "x0", "x4"]


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"window": 0}, ValueError, "window"),
        ({"window": float("nan")}, ValueError, "window"),
        ({"bins": "fd"}, ValueError, "bins"),
        ({"bins": 1}, ValueError, "bins"),
        ({"max_proxies": 4}, ValueError, "max_proxies"),
        ({"bias": 1.5}, TypeError, "bias"),
        ({"passthrough": "enc"}, TypeError, "passthrough"),
        ({"passthrough": [1.0]}, TypeError, "passthrough"),
    ],
)
def test_invalid_parameters(kwargs, exc, match):
    X, y = _hand_matrix()
    with pytest.raises(exc, match=match):
        LibraSelector(**kwargs).fit(X, y)


def test_bad_inputs_raise_clear_errors():
    X, y = _hand_matrix()
    with pytest.raises(ValueError, match=r"bias: no column named 'n_params' in X.*'params'"):
        LibraSelector(bias="n_params").fit(X, y)
    with pytest.raises(ValueError, match="out of range"):
        LibraSelector(bias=17).fit(X, y)
    y_nan = y.copy()
    y_nan[3] = np.nan
    with pytest.raises(ValueError, match="y contains NaN"):
        LibraSelector().fit(X, y_nan)
    y_inf = y.copy()
    y_inf[3] = np.inf
    with pytest.raises(ValueError, match="y contains infinity"):
        LibraSelector().fit(X, y_inf)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        LibraSelector().fit(X, y[:-1])
    with pytest.raises(ValueError, match="y is constant"):
        LibraSelector().fit(X, np.ones(len(y)))
    Xc = X.copy()
    Xc["params"] = 2.0
    with pytest.warns(UserWarning, match="constant"), pytest.raises(ValueError, match="bias"):
        LibraSelector(bias="params").fit(Xc, y)
    # bias="auto" skips an unusable params column, with a warning, and records it
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        auto = LibraSelector().fit(Xc, y)
    messages = " | ".join(str(w.message) for w in caught)
    assert "bias step is skipped" in messages and "'params' skipped: constant" in messages
    assert auto.bias_column_ is None and auto.bias_ is None


def test_auto_bias_uses_the_params_column_exactly_as_naming_it():
    X, y = _hand_matrix()
    auto, named = LibraSelector().fit(X, y), LibraSelector(bias="params").fit(X, y)
    assert auto.bias_column_ == named.bias_column_ == "params"
    assert auto.selected_ == named.selected_
    pd.testing.assert_series_equal(auto.bias_, named.bias_)


def test_too_few_architectures_for_binning():
    X, y = _hand_matrix()
    with pytest.raises(ValueError, match=r"at least 7 architectures for 'sturges' binning.*got 6"):
        LibraSelector().fit(X.iloc[:6], y[:6])
    assert LibraSelector().fit(X.iloc[:7], y[:7]).n_bins_ == 7
    with pytest.raises(ValueError, match=r"at least 50 architectures for bins=50.*got 40"):
        LibraSelector(bins=50).fit(X, y)
    with pytest.raises(ValueError, match="1 sample"):
        LibraSelector().fit(X.iloc[:1], y[:1])


def test_fixed_bins_changes_information_gain():
    X, y = _hand_matrix()
    sel = LibraSelector(bins=5).fit(X, y)
    assert sel.n_bins_ == 5
    for c in sel.window_:
        assert sel.information_gain_[c] == pytest.approx(_hand_ig(y, X["a"], X[c], 5))


def test_params_stored_unchanged_clone_and_pickle():
    pt = ["enc0"]
    sel = LibraSelector(window=0.2, bias=None, bins=8, max_proxies=2, passthrough=pt)
    assert sel.get_params()["passthrough"] is pt
    assert clone(sel).get_params() == sel.get_params()
    X, y = _hand_matrix()
    fitted = LibraSelector().fit(X, y)
    restored = pickle.loads(pickle.dumps(fitted))
    assert restored.selected_ == fitted.selected_
    np.testing.assert_array_equal(restored.transform(X), fitted.transform(X))


def test_in_pipeline_with_grid_search_over_window():
    X, y = _hand_matrix(n=80)
    pipe = make_pipeline(LibraSelector(), LinearRegression())
    grid = GridSearchCV(
        pipe,
        {"libraselector__max_proxies": [1, 3], "libraselector__window": [0.05, 0.1]},
        scoring=get_scorer("spearman"),
        cv=KFold(3, shuffle=True, random_state=0),
    )
    grid.fit(X, y)
    assert 0.5 < grid.best_score_ <= 1.0
    assert grid.best_estimator_[0].selected_[0] == "a"


# ---------------------------------------------------------------- real benchmark table


def _nb201_cifar10(shared_data):
    path = shared_data / "nas-bench-suite-zero" / "zc_nasbench201.json"
    with open(path) as fh:
        table = json.load(fh)["cifar10"]
    rows = {
        arch: {k: v["score"] for k, v in rec.items() if isinstance(v, dict)}
        for arch, rec in table.items()
    }
    X = pd.DataFrame.from_dict(rows, orient="index")
    y = pd.Series({arch: rec["val_accuracy"] for arch, rec in table.items()})
    return X, y


def test_nb201_cifar10_selection_is_sensible(shared_data):
    X, y = _nb201_cifar10(shared_data)
    assert X.shape == (724, 12)
    # nwot has one -inf in the source table
    with pytest.warns(UserWarning, match="nwot"):
        sel = LibraSelector().fit(X, y)
    rho = {}
    for c in X.columns:
        m = np.isfinite(X[c].to_numpy())
        rho[c] = spearmanr(X[c][m], y[m]).statistic
    best = max(rho, key=rho.get)
    assert sel.selected_[0] == best == "nwot"
    assert len(sel.selected_) == 3 == len(set(sel.selected_))
    for c in sel.selected_[1:]:
        assert rho[best] - 0.1 < rho[c] <= rho[best]
        assert c in sel.window_
    assert sel.n_bins_ == 23
    # z2 is the minimum-gain window member
    assert sel.selected_[1] == sel.information_gain_.idxmin()
    # z3 is the remaining member whose params-correlation is closest to the target's
    rest = [c for c in sel.window_ if c != sel.selected_[1]]
    dist = (sel.bias_[rest] - sel.bias_[TARGET_KEY]).abs()
    assert sel.selected_[2] == dist.idxmin()


def test_nb201_cifar10_agrees_with_bundled_loader(shared_data):
    load_benchmark = pytest.importorskip("libranas.datasets").load_benchmark
    X, y = _nb201_cifar10(shared_data)
    # the loader reads NASLib's failure value -1e8 (epe_nas and jacov, one cell each) as
    # missing; the reference must too
    assert (X == -1e8).sum().sum() == 2
    X = X.replace(-1e8, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bench = load_benchmark("nb201-cifar10", libranas_proxies=False)
        ref = LibraSelector().fit(X, y)
    # the loader stores the -inf as NaN; both are ignored for that column's statistics
    sel = LibraSelector().fit(bench.X, bench.y)
    assert sel.selected_ == ref.selected_
    pd.testing.assert_series_equal(
        sel.correlations_.sort_index(), ref.correlations_.sort_index(), atol=1e-12
    )


# ---------------------------------------------------------------- scikit-learn common checks


@parametrize_with_checks([LibraSelector()])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_a_dataframe_without_columns_gets_a_clear_error():
    import pandas as pd

    X = pd.DataFrame(index=range(10))
    with pytest.raises(ValueError, match="LibraSelector: X has no columns"):
        LibraSelector().fit(X, np.arange(10.0))
