"""TransferRanker and the leave-one-space-out evaluation (libranas.transfer)."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from libranas.metrics import spearman
from libranas.transfer import TransferRanker, leave_one_space_out, rank_within


def synthetic_spaces(seed: int = 0) -> dict[str, tuple[pd.DataFrame, np.ndarray, str]]:
    """Three spaces on different scales; in each, accuracy rises with column "a" and falls
    with "b" -- a within-space rule a transfer model can learn from ranks alone."""
    rng = np.random.default_rng(seed)
    tables = {}
    for k, (name, scale) in enumerate([("s1", 1.0), ("s2", 1e3), ("s3", 1e-2)]):
        n = 80 + 10 * k
        X = pd.DataFrame(rng.normal(size=(n, 3)) * scale + 5 * scale, columns=["a", "b", "c"])
        y = X["a"] / scale - 0.5 * X["b"] / scale + 0.2 * rng.normal(size=n)
        tables[name] = (X, y.to_numpy(), name)
    return tables


def test_rank_within_groups_constants_and_nan():
    out = rank_within([[1.0, 5.0], [3.0, 5.0], [2.0, np.nan], [7.0, 1.0], [9.0, 2.0]],
                      groups=[0, 0, 0, 1, 1])  # fmt: skip
    np.testing.assert_allclose(out[:3, 0], [0.0, 1.0, 0.5])
    np.testing.assert_allclose(out[:3, 1], [0.5, 0.5, 0.5])  # constant among finite, NaN
    np.testing.assert_allclose(out[3:, 1], [0.0, 1.0])
    with pytest.raises(ValueError, match="groups has 2 entries for 5 rows"):
        rank_within(np.zeros((5, 1)), groups=[0, 1])


def test_transfer_ranks_an_unseen_space_on_another_scale():
    tables = synthetic_spaces()
    train = ["s1", "s2"]
    X = pd.concat([tables[n][0] for n in train])
    y = np.concatenate([tables[n][1] for n in train])
    groups = np.concatenate([[n] * len(tables[n][0]) for n in train])
    model = TransferRanker(random_state=0).fit(X, y, groups=groups)
    Xn, yn, _ = tables["s3"]
    assert spearman(yn, model.predict(Xn)) > 0.8
    # columns are matched by name, not position
    np.testing.assert_allclose(model.predict(Xn[["c", "b", "a"]]), model.predict(Xn))
    with pytest.raises(ValueError, match="lacks 1 fitted columns"):
        model.predict(Xn[["a", "b"]])


def test_transfer_ranker_api_and_errors():
    tables = synthetic_spaces()
    X, y, _ = tables["s1"]
    groups = np.repeat([0, 1], [40, len(X) - 40])
    model = TransferRanker(random_state=0)
    assert clone(model).get_params() == model.get_params()
    with pytest.raises(ValueError, match="needs groups"):
        model.fit(X, y)
    with pytest.raises(ValueError, match="at least 2 rows"):
        model.fit(X, y, groups=[0] * (len(X) - 1) + [1])
    fitted = model.fit(X, y, groups=groups)
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.predict(X), fitted.predict(X))
    a = TransferRanker(random_state=0).fit(X, y, groups=groups).predict(X)
    np.testing.assert_array_equal(a, fitted.predict(X))  # deterministic


def test_leave_one_space_out_never_trains_on_the_held_out_space():
    tables = synthetic_spaces()
    # a second "task" of space s1: must not be in training when s1 is held out
    X1, y1, _ = tables["s1"]
    tables["s1-task2"] = (X1, -y1, "s1")
    res = leave_one_space_out(tables, k_values=(0, 10), n_splits=2, held_out=["s1", "s3"],
                              baselines={"s3": tables["s3"][0]["a"].to_numpy()})  # fmt: skip
    zero = res[res.k == 0].set_index(["held_out", "method"]).rho
    # trained on s2, s3 (+ not s1-task2, whose target is reversed): s1 ranked well
    assert zero[("s1", "transfer")] > 0.8
    assert ("s3", "baseline") in zero.index
    k10 = res[res.k == 10]
    assert set(k10.method) == {"within", "within+transfer"} and len(k10) == 2 * 2 * 2
    assert (k10.n_evaluated == len(X1) - 10).sum() == 4
    with pytest.raises(ValueError, match="other columns"):
        bad = dict(tables, s4=(tables["s3"][0][["a", "b"]], tables["s3"][1], "s4"))
        leave_one_space_out(bad, k_values=(0,))
