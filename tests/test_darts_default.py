"""The NB301 development split, DARTS's stored training-free default and its use by ZCRanker."""

from __future__ import annotations

import json
import warnings
from importlib import resources

import numpy as np
import pandas as pd
import pytest

from libranas import ZCRanker
from libranas.proxies import (
    TRAINING_FREE_DEFAULT,
    training_free_columns,
    training_free_default,
)
from libranas.spaces import get_space
from libranas.spaces.darts import NB301_SPLIT_SEED, nb301_split, nb301_split_digest


def _record() -> dict:
    path = resources.files("libranas.spaces").joinpath("data", "darts_default.json")
    return json.loads(path.read_text())


def test_split_is_half_deterministic_and_order_free():
    cells = get_space("nb301").sample(41, random_state=3)
    mask = nb301_split(cells)
    assert mask.sum() == 20
    assert np.array_equal(nb301_split(cells), mask)
    perm = np.random.default_rng(0).permutation(41)
    assert np.array_equal(nb301_split([cells[i] for i in perm]), mask[perm])
    assert not np.array_equal(nb301_split(cells, seed=NB301_SPLIT_SEED + 1), mask)


def test_split_refuses_repeated_cells():
    cells = get_space("nb301").sample(4, random_state=0)
    with pytest.raises(ValueError, match="distinct"):
        nb301_split([*cells, cells[0]])


def test_stored_default_was_chosen_on_this_split_of_the_bundled_table():
    from libranas.datasets import load_benchmark

    rec = _record()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bench = load_benchmark("nb301-cifar10", libranas_proxies=False)
    mask = nb301_split(bench.archs, seed=rec["split_seed"])
    assert rec["split_seed"] == NB301_SPLIT_SEED
    assert nb301_split_digest(bench.archs, mask) == rec["dev_digest"]
    assert get_space("nb301").training_free_default() == tuple(rec["proxies"])
    assert set(rec["proxies"]) <= set(rec["pool"])


def test_training_free_default_per_space():
    assert training_free_default() == TRAINING_FREE_DEFAULT
    assert training_free_default("nb201") == TRAINING_FREE_DEFAULT
    darts = training_free_default("nb301")
    assert darts == tuple(_record()["proxies"]) != TRAINING_FREE_DEFAULT
    assert training_free_default(get_space("darts")) == darts
    with pytest.raises(TypeError, match="space name or a SearchSpace"):
        training_free_default(3.5)


def test_training_free_columns_finds_bare_and_lib_names_and_names_what_is_missing():
    names = [
        "lib_zico",
        "lib_params",
        "az_expressivity",
        "lib_az_expressivity",
        "lib_az_trainability",
    ]
    assert training_free_columns(names) == [
        "az_expressivity",
        "lib_az_trainability",
        "lib_params",
        "lib_zico",
    ]
    with pytest.raises(ValueError, match=r"\['az_trainability'\]"):
        training_free_columns(["zico", "params", "az_expressivity"])


def _table(columns: list[str], n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.normal(size=(n, len(columns))), columns=columns)


def test_log_rank_with_space_fuses_only_the_space_default():
    darts = [f"lib_{p}" for p in training_free_default("nb301")]
    X = _table([*darts, "lib_params", "nwot"])
    got = ZCRanker("log-rank", space="nb301").fit(X).predict(X)
    want = ZCRanker("log-rank").fit(X[darts]).predict(X[darts])
    np.testing.assert_allclose(got, want)
    everything = ZCRanker("log-rank").fit(X).predict(X)  # space=None: unchanged behaviour
    assert not np.allclose(got, everything)


def test_space_errors_are_clear():
    X = _table([f"lib_{p}" for p in TRAINING_FREE_DEFAULT])
    with pytest.raises(ValueError, match="no column for"):
        ZCRanker("log-rank", space="nb301").fit(X)
    with pytest.raises(ValueError, match="no column for"):
        ZCRanker("log-rank", space="nb301").fit(X.to_numpy())
    with pytest.raises(ValueError, match="training-free default"):
        ZCRanker("xgboost", space="nb301").fit(X, np.arange(len(X), dtype=float))


def test_search_default_is_the_space_default_where_one_is_stored():
    from libranas.proxies import TRAINING_FREE_SEARCH_DEFAULT, training_free_search_default

    assert training_free_search_default() == TRAINING_FREE_SEARCH_DEFAULT
    assert training_free_search_default("nb201") == TRAINING_FREE_SEARCH_DEFAULT
    assert training_free_search_default("nb301") == training_free_default("nb301")


def test_featurizer_options_go_with_the_stored_default_only():
    from libranas.proxies import training_free_options

    assert training_free_options() == {} and training_free_options("nb201") == {}
    assert training_free_options("nb301") == {"lswag_band": None}


def test_label_free_live_search_computes_the_space_default():
    """The search's live scorer: DARTS's stored default with its settings, NB201 the generic."""
    from libranas.proxies import TRAINING_FREE_SEARCH_DEFAULT
    from libranas.search.protocol import _live_scorer
    from libranas.spaces import get_space

    batch = (np.zeros((4, 3, 32, 32), dtype=np.float32), np.zeros(4, dtype=np.int64))
    darts = _live_scorer(get_space("darts"), None, "log-rank", 0, 0, {"data": batch})
    features = darts.pipeline.named_steps["features"]
    assert tuple(features.proxies) == training_free_default("darts")
    assert features.lswag_band is None
    explicit = _live_scorer(
        get_space("darts"), None, "log-rank", 0, 0, {"data": batch, "lswag_band": "auto"}
    )
    assert explicit.pipeline.named_steps["features"].lswag_band == "auto"  # explicit wins
    nb201 = _live_scorer(get_space("nb201"), None, "log-rank", 0, 0, {"data": batch})
    assert tuple(nb201.pipeline.named_steps["features"].proxies) == TRAINING_FREE_SEARCH_DEFAULT
