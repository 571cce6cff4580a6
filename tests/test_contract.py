"""The input contract, by property tests (hypothesis).

Every public function given arbitrary input either returns a *valid* result or raises
``ValueError`` / ``TypeError`` with a message: never another exception type, never a silent
wrong result. Covered: the search spaces (validate, encode, mutate, sample, build) on random
strings, tuples, ints and near-valid architectures of NB201, DARTS and AutoFormer; and
LibraSelector, ZCRanker (every method) and libranas.metrics on proxy matrices with NaN, inf,
constant and duplicated columns. Example counts are small so the file stays fast.
"""

from __future__ import annotations

import math
import os
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, RegressorMixin

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from libranas import metrics  # noqa: E402
from libranas.ranker import ZCRanker  # noqa: E402
from libranas.selector import LibraSelector  # noqa: E402
from libranas.spaces import get_space  # noqa: E402
from libranas.spaces.darts import OPS as DARTS_OPS  # noqa: E402
from libranas.spaces.nb201 import OPS as NB201_OPS  # noqa: E402

FAST = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,  # the same examples every run: a failure is reproducible
)
SLOW = settings(FAST, max_examples=12)

NB201 = get_space("nb201")
DARTS = get_space("darts")
TINY = get_space("autoformer-tiny")


_ACCEPTED = [0]


def accepted() -> None:
    """Record that the running property test's input was accepted (its property checked)."""
    _ACCEPTED[0] += 1


def must_accept(minimum: int):
    """Fail a property test when fewer than ``minimum`` of its generated inputs were accepted.

    Each test below returns early on an input its function refuses; without this check it
    would pass even if every input were refused and the property never checked.
    """

    def decorate(test):
        def wrapper():
            _ACCEPTED[0] = 0
            test()
            count = _ACCEPTED[0]
            if os.environ.get("LIBRANAS_REPORT_ACCEPTED"):
                print(f"\n{test.__name__}: {count} accepted")
            assert count >= minimum, (
                f"{test.__name__}: only {count} generated inputs were accepted ({minimum} "
                "needed), so the property was barely checked"
            )

        wrapper.__name__ = wrapper.__qualname__ = test.__name__
        wrapper.__doc__ = test.__doc__
        return wrapper

    return decorate


def outcome(func, *args, **kwargs):
    """Call ``func``: return ``(True, result)``, or ``(False, exc)`` for a clear error.

    Any other exception type, or an error without a message, fails the test.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return True, func(*args, **kwargs)
    except (ValueError, TypeError) as exc:
        assert str(exc).strip(), f"{type(exc).__name__} without a message"
        return False, exc


def test_must_accept_fails_a_property_that_refuses_every_input():
    @must_accept(1)
    @settings(FAST, max_examples=5)
    @given(st.integers())
    def refuses_everything(v):
        ok, _ = outcome(int, "not a number")
        if not ok:
            return
        accepted()

    with pytest.raises(AssertionError, match="only 0 generated inputs were accepted"):
        refuses_everything()


# ============================================================================ strategies
junk = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.binary(max_size=10),
    st.integers(-(2**70), 2**70),
    st.lists(st.integers(-3, 8), max_size=8),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)

nb201_op = st.one_of(st.sampled_from(NB201_OPS), st.sampled_from(["conv", "", "None", "~"]))


@st.composite
def nb201_strings(draw):
    """NB201-like strings: right shape with random ops / indices / separators, or mangled."""
    ops = [draw(nb201_op) for _ in range(6)]
    idx = [draw(st.sampled_from([0, 0, 0, 1, 2, 3, -1])) for _ in range(6)]
    natural = [0, 0, 1, 0, 1, 2]
    use = [i if draw(st.booleans()) else n for i, n in zip(idx, natural, strict=True)]
    nodes = [
        "|".join(f"{o}~{i}" for o, i in zip(ops[a:b], use[a:b], strict=True))
        for a, b in ((0, 1), (1, 3), (3, 6))
    ]
    text = "+".join(f"|{n}|" for n in nodes)
    cut = draw(st.integers(0, len(text)))
    return draw(st.sampled_from([text, text[:cut], text + "|", " " + text, text.upper()]))


nb201_seqs = st.lists(
    st.one_of(st.integers(-2, 6), st.sampled_from([np.int64(2), 1.0, True, "1"])),
    min_size=0,
    max_size=8,
)
nb201_any = st.one_of(
    junk,
    nb201_strings(),
    nb201_seqs.map(tuple),
    nb201_seqs,
    nb201_seqs.map(lambda v: str(tuple(v))),
    st.integers(-5, 15_630),
    st.lists(st.integers(0, 4), min_size=6, max_size=6).map(np.array),
)


# ============================================================================ NB201
def check_nb201_valid(canonical, original):
    assert isinstance(canonical, str)
    assert NB201.validate(canonical) == canonical  # idempotent
    t = NB201.to_tuple(canonical)
    assert len(t) == 6 and all(0 <= v < 5 for v in t)
    assert NB201.validate(t) == canonical and NB201.validate(NB201.to_index(canonical)) == canonical
    enc = NB201.encode(canonical)
    assert enc.shape == (30,) and set(np.unique(enc)) <= {0.0, 1.0} and enc.sum() == 6
    # never a silent reinterpretation: what was given is what is returned
    if isinstance(original, int) and not isinstance(original, bool):
        assert NB201.to_index(canonical) == original
    if isinstance(original, (tuple, list)) and len(original) == 6:
        assert list(t) == [int(v) for v in original]


# valid NB201 cells in each accepted form, so that the property is checked on many of them
nb201_valid = st.integers(0, 15_624).flatmap(
    lambda i: st.sampled_from([i, NB201.validate(i), NB201.to_tuple(i), list(NB201.to_tuple(i))])
)


@must_accept(3)
@FAST
@given(st.one_of(nb201_any, nb201_valid))
def test_nb201_validate_encode(arch):
    ok, res = outcome(NB201.validate, arch)
    if ok:
        accepted()
        check_nb201_valid(res, arch)
        assert not isinstance(arch, (bool, float, bytes)) and arch is not None
    else:
        # every other public function refuses the same input the same way
        for func in (NB201.encode, NB201.to_tuple, NB201.to_index):
            ok2, _ = outcome(func, arch)
            assert not ok2, f"{func.__name__} accepted {arch!r}, which validate refuses"


@must_accept(5)
@FAST
@given(st.integers(0, 15_624), st.one_of(st.none(), st.integers(0, 2**32 - 1), junk))
def test_nb201_mutate(index, random_state):
    arch = NB201.validate(index)
    ok, res = outcome(NB201.mutate, arch, random_state=random_state)
    if ok:
        accepted()
        diff = sum(a != b for a, b in zip(NB201.to_tuple(arch), NB201.to_tuple(res), strict=True))
        assert NB201.validate(res) == res and diff == 1


@must_accept(5)
@FAST
@given(
    st.one_of(
        # valid requests, so that the property is checked on many of them
        st.tuples(st.integers(0, 5), st.one_of(st.none(), st.integers(0, 100))),
        st.tuples(
            st.one_of(
                st.integers(-3, 5), junk.filter(lambda v: not isinstance(v, int) or abs(v) < 100)
            ),
            st.one_of(st.none(), st.integers(0, 100), junk),
        ),
    )
)
def test_nb201_sample(case):
    n, random_state = case
    ok, res = outcome(NB201.sample, n, random_state=random_state)
    if ok:
        accepted()
        assert isinstance(n, (int, np.integer)) and not isinstance(n, bool) and len(res) == n
        assert all(NB201.validate(a) == a for a in res)


@must_accept(2)
@SLOW
@given(st.one_of(nb201_any, st.integers(0, 15_624)))
def test_nb201_build(arch):
    torch = pytest.importorskip("torch")
    space = get_space("nb201", cells_per_stage=1)
    ok, model = outcome(space.build, arch, num_classes=3)
    valid, _ = outcome(space.validate, arch)
    assert ok == valid
    if ok:
        accepted()
        with torch.no_grad():
            out = model(torch.zeros(2, 3, 32, 32))
        assert out.shape == (2, 3)


# ============================================================================ DARTS
darts_op = st.one_of(
    st.integers(-1, 8), st.sampled_from([*DARTS_OPS, "none", "conv", True, 2.0, None])
)
darts_pair = st.one_of(
    st.tuples(st.integers(-1, 6), darts_op),
    st.tuples(st.integers(0, 5), st.integers(0, 6)),  # plausible
    st.lists(st.integers(0, 3), min_size=1, max_size=3),
    junk,
)
darts_cell = st.lists(darts_pair, min_size=6, max_size=9)


@st.composite
def darts_archs(draw):
    """Valid genotypes with 0-2 random corruptions, or random structures."""
    arch = [list(c) for c in DARTS.sample(1, random_state=draw(st.integers(0, 10**6)))[0]]
    for _ in range(draw(st.integers(0, 2))):
        cell = draw(st.integers(0, 1))
        arch[cell][draw(st.integers(0, 7))] = draw(darts_pair)
    form = draw(st.sampled_from(["list", "str", "tuple", "raw"]))
    if form == "raw":
        return draw(st.one_of(junk, st.lists(darts_cell, min_size=0, max_size=3)))
    if form == "str":
        return str(arch)
    return tuple(tuple(c) for c in arch) if form == "tuple" else arch


@must_accept(5)
@FAST
@given(darts_archs())
def test_darts_validate_encode_mutate(arch):
    ok, res = outcome(DARTS.validate, arch)
    if not ok:
        assert not outcome(DARTS.encode, arch)[0]
        return
    accepted()
    assert DARTS.validate(res) == res and DARTS.validate(DARTS.to_string(res)) == res
    for cell in res:
        assert len(cell) == 8
        for k, (node, op) in enumerate(cell):
            assert 0 <= node < 2 + k // 2 and 0 <= op < len(DARTS_OPS)
            assert type(node) is int and type(op) is int
    enc = DARTS.encode(res)
    assert enc.ndim == 1 and np.isfinite(enc).all()
    np.testing.assert_array_equal(enc, DARTS.encode(arch))
    child = DARTS.mutate(res, random_state=0)
    assert DARTS.validate(child) == child and child != res


# ============================================================================ AutoFormer
af_value = st.one_of(
    st.integers(-2, 300),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([192, 216, 240, 12, 13, 14, 3.5, 4.0, 3, 4, "4", True, None]),
)
af_layers = st.one_of(
    st.lists(af_value, min_size=0, max_size=15),
    st.lists(st.sampled_from([3, 4]), min_size=12, max_size=14),
    st.lists(st.sampled_from([3.5, 4.0]), min_size=12, max_size=14),
    junk,
)


@st.composite
def autoformer_archs(draw):
    arch = TINY.sample(1, random_state=draw(st.integers(0, 10**6)))[0].to_dict()
    for _ in range(draw(st.integers(0, 2))):
        key = draw(st.sampled_from(["embed_dim", "depth", "mlp_ratio", "num_heads", "x"]))
        action = draw(st.sampled_from(["value", "layers", "drop", "alias", "upper"]))
        if action == "drop":
            arch.pop(key, None)
        elif action == "alias" and "embed_dim" in arch:
            arch["hidden_dim"] = arch.pop("embed_dim")
        elif action == "upper":
            arch = {k.upper() if k == key else k: v for k, v in arch.items()}
        else:
            arch[key] = draw(af_value if action == "value" else af_layers)
    return draw(st.sampled_from([arch, arch, str(arch)])) if draw(st.booleans()) else arch


@must_accept(3)
@FAST
@given(st.one_of(autoformer_archs(), autoformer_archs(), autoformer_archs(), junk))
def test_autoformer_validate_encode_mutate(arch):
    ok, res = outcome(TINY.validate, arch)
    if not ok:
        assert not outcome(TINY.encode, arch)[0]
        return
    accepted()
    c = TINY.choices
    assert TINY.validate(res) == res and TINY.validate(res.to_dict()) == res
    assert res.embed_dim in c["embed_dim"] and res.depth in c["depth"]
    assert len(res.num_heads) == len(res.mlp_ratio) == res.depth
    assert set(res.num_heads) <= set(c["num_heads"]) and set(res.mlp_ratio) <= set(c["mlp_ratio"])
    enc = TINY.encode(res)
    assert enc.ndim == 1 and np.isfinite(enc).all()
    child = TINY.mutate(res, random_state=1)
    assert TINY.validate(child) == child and child != res


# ============================================================================ proxy matrices
@st.composite
def proxy_matrices(draw, min_rows=2, max_rows=40):
    """(X, y): random proxies, some correlated with y, plus NaN / inf / constant / duplicates."""
    n = draw(st.integers(min_rows, max_rows))
    p = draw(st.integers(1, 6))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    y = rng.normal(size=n)
    X = rng.normal(size=(n, p)) + y[:, None] * rng.uniform(0, 2, size=p)
    for j in range(p):
        kind = draw(st.sampled_from(["ok", "ok", "nan", "inf", "const", "dup", "allnan", "int"]))
        if kind == "nan":
            X[rng.random(n) < 0.3, j] = np.nan
        elif kind == "inf":
            X[rng.integers(n), j] = draw(st.sampled_from([np.inf, -np.inf]))
        elif kind == "const":
            X[:, j] = 1.5
        elif kind == "dup" and j > 0:
            X[:, j] = X[:, rng.integers(j)]
        elif kind == "allnan":
            X[:, j] = np.nan
        elif kind == "int":
            X[:, j] = np.round(X[:, j])
    ykind = draw(st.sampled_from(["ok", "ok", "ok", "ties", "const", "nan"]))
    if ykind == "ties":
        y = np.round(y)
    elif ykind == "const":
        y = np.zeros(n)
    elif ykind == "nan":
        y[0] = np.nan
    cols = [f"p{j}" for j in range(p)]
    if p > 1 and draw(st.booleans()):
        cols[-1] = "params"
    return pd.DataFrame(X, columns=cols), y


@must_accept(5)
@FAST
@given(proxy_matrices(), st.sampled_from(["params", None]))
def test_libra_selector(Xy, bias):
    X, y = Xy
    bias = bias if bias in X.columns or bias is None else None
    ok, sel = outcome(LibraSelector(bias=bias).fit, X, y)
    if not ok:
        return
    accepted()
    assert np.isfinite(y).all() and np.ptp(y) > 0  # refused otherwise
    assert 1 <= len(sel.selected_) <= 3 and len(set(sel.selected_)) == len(sel.selected_)
    assert set(sel.selected_) <= set(X.columns)
    rho = sel.correlations_
    z1 = sel.selected_[0]
    assert np.isfinite(rho[z1]) and rho[z1] == rho.max()  # z1: best usable proxy
    for name in sel.selected_[1:]:
        assert name in sel.window_ and name not in sel.excluded_
    for name in sel.selected_:
        col = X[name].to_numpy()
        assert np.isfinite(col).sum() >= 2 and np.ptp(col[np.isfinite(col)]) > 0
    Z = sel.transform(X)
    assert Z.shape == (len(X), len(sel.selected_))
    np.testing.assert_array_equal(Z, X[sel.selected_].to_numpy())  # nothing imputed


METHODS = ["rank-mean", "log-rank", "xgboost", "xgboost-pairwise", "estimator", "auto"]


@pytest.mark.parametrize("method", METHODS)
def test_zc_ranker(method):
    if method.startswith("xgboost") or method == "auto":
        pytest.importorskip("xgboost")
    learned = method not in ("rank-mean", "log-rank")
    kwargs = {"n_estimators": 20, "random_state": 0} if learned else {}
    if method == "estimator":
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import Ridge
        from sklearn.pipeline import make_pipeline

        # NaN-tolerant, so that the property is checked on matrices with missing values too
        kwargs = {"estimator": make_pipeline(SimpleImputer(keep_empty_features=True), Ridge())}

    @settings(FAST, max_examples=15 if learned else 40)
    @given(proxy_matrices(min_rows=1), st.booleans())
    def run(Xy, as_array):
        X, y = Xy
        Xin = X.to_numpy() if as_array else X
        ok, ranker = outcome(ZCRanker(method, **kwargs).fit, Xin, y)
        if not ok:
            return
        accepted()
        assert np.isfinite(y).all()
        ok, pred = outcome(ranker.predict, Xin)
        assert ok, f"fit accepted the data but predict refused it: {pred}"
        pred = np.asarray(pred)
        assert pred.shape == (len(X),) and pred.dtype.kind == "f"
        assert not np.isinf(pred).any()
        values = X.to_numpy()
        if method in ("rank-mean", "log-rank"):
            # NaN exactly where the row has no finite proxy value; never a made-up number
            np.testing.assert_array_equal(np.isnan(pred), np.isnan(values).all(axis=1))
        elif method.startswith("xgboost"):
            assert np.isfinite(pred).all()

    # the rank fusions accept most matrices; the learned methods refuse constant or tiny y
    must_accept(2 if learned else 10)(run)()


@st.composite
def metric_pairs(draw):
    """(y_true, y_score): mostly finite and of one length, sometimes not."""
    n = draw(st.integers(0, 25))
    finite = st.one_of(st.floats(-1e6, 1e6), st.sampled_from([0.0, 1.0]))
    special = st.one_of(finite, st.sampled_from([np.nan, np.inf, -np.inf]))
    t = draw(st.lists(draw(st.sampled_from([finite, finite, special])), min_size=n, max_size=n))
    m = n if draw(st.integers(0, 4)) else draw(st.integers(0, 25))
    s = draw(st.lists(draw(st.sampled_from([finite, finite, special])), min_size=m, max_size=m))
    form = draw(st.sampled_from(["list", "array", "column", "text"]))
    if form == "array":
        return np.array(t), np.array(s)
    if form == "column":
        return np.array(t).reshape(-1, 1), np.array(s)
    if form == "text":
        return [str(v) for v in t], s
    return t, s


METRICS = [
    metrics.spearman,
    metrics.kendall,
    metrics.weighted_tau,
    metrics.regret,
    metrics.top_k_precision,
    metrics.ndcg_at_k,
]


@must_accept(3)
@FAST
@given(metric_pairs(), st.sampled_from(METRICS), st.sampled_from([0.1, 3, 0.5, 0, 1.5, True]))
def test_metrics(pair, metric, k):
    args = pair
    kw = {"k": k} if metric in (metrics.top_k_precision, metrics.ndcg_at_k) else {}
    ok, value = outcome(metric, *args, **kw)
    if not ok:
        return
    accepted()
    t, s = (np.asarray(a, dtype=float).ravel() for a in args)
    assert len(t) == len(s) >= 2 and np.isfinite(t).all() and np.isfinite(s).all()
    assert isinstance(value, float)
    if metric in (metrics.spearman, metrics.kendall, metrics.weighted_tau):
        constant = np.ptp(t) == 0 or np.ptp(s) == 0
        assert math.isnan(value) if constant else -1 - 1e-9 <= value <= 1 + 1e-9
    elif metric is metrics.regret:
        assert value >= 0 and math.isfinite(value)
    else:
        assert 0 <= value <= 1 + 1e-9


class _FixedScores(RegressorMixin, BaseEstimator):
    """An estimator whose predictions are given scores (a scorer calls ``predict``)."""

    def __init__(self, scores: np.ndarray | None = None) -> None:
        self.scores = scores

    def predict(self, X) -> np.ndarray:
        return self.scores


#: name -> (the metric it must compute, its keyword arguments, the sign: regret is a loss)
SCORER_METRICS = {
    "spearman": (metrics.spearman, {}, 1),
    "kendall": (metrics.kendall, {}, 1),
    "weighted_tau": (metrics.weighted_tau, {}, 1),
    "top10_precision": (metrics.top_k_precision, {"k": 0.1}, 1),
    "regret": (metrics.regret, {}, -1),
    "ndcg@10": (metrics.ndcg_at_k, {"k": 0.1}, 1),
}


@must_accept(2)
@FAST
@given(st.one_of(junk, st.sampled_from(list(metrics.SCORERS))))
def test_get_scorer(name):
    """A name of SCORERS gives a scorer that computes that metric (sign: higher is better);
    anything else is a scikit-learn scorer name, or refused with an error naming it."""
    from sklearn.metrics import get_scorer_names

    ok, scorer = outcome(metrics.get_scorer, name)
    if not ok:
        assert not isinstance(name, str) or repr(name) in str(scorer)
        return
    accepted()
    assert name in SCORER_METRICS or name in get_scorer_names()
    if name in SCORER_METRICS:
        rng = np.random.default_rng(0)
        y = rng.normal(size=40)
        s = y + rng.normal(size=40)  # an imperfect ranking: every metric strictly inside
        metric, kwargs, sign = SCORER_METRICS[name]
        expected = sign * metric(y, s, **kwargs)
        assert scorer(_FixedScores(s), None, y) == pytest.approx(expected, rel=1e-12)
        assert scorer(_FixedScores(-s), None, y) != pytest.approx(expected)


# ============================================================================ regressions
# bugs the properties above found in other modules, pinned as plain tests


def test_selector_bins_a_range_that_overflows_float64():
    rng = np.random.default_rng(0)
    y = rng.normal(size=40)
    X = pd.DataFrame({"a": y + rng.normal(size=40) * 0.1, "b": y + rng.normal(size=40) * 0.2})
    X["b"] = X["b"] / X["b"].abs().max() * 1.7e308  # finite, but max - min overflows
    assert np.isfinite(X.to_numpy()).all()
    sel = LibraSelector(bias=None).fit(X, y)
    assert sel.selected_ == ["a", "b"] and np.isfinite(sel.information_gain_["b"])


def test_selector_bins_values_a_few_ulps_apart():
    rng = np.random.default_rng(0)
    y = rng.normal(size=40)
    X = pd.DataFrame({"a": (y > 0) + rng.normal(size=40) * 0.01})
    X["b"] = 1.0 + np.spacing(1.0) * (y > 0)  # two values 1 ulp apart: 13 bins do not fit
    sel = LibraSelector(bias=None).fit(X, y)
    assert sel.selected_ == ["b", "a"] and np.isfinite(sel.information_gain_["a"])


def test_learned_ranker_refuses_non_numeric_y():
    pytest.importorskip("xgboost")
    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(ValueError, match="y must hold numbers"):
        ZCRanker("xgboost", n_estimators=5).fit(X, np.array(["good", "bad"] * 10))
