"""Warnings name the user's line, whichever path raised them (direct call, ``fit_transform``,
a ``Pipeline``): :func:`libranas._warnings.user_stacklevel` replaces fixed stack levels, which
pointed into libranas or scikit-learn whenever the call depth changed."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from libranas._batch_checks import BatchNoteWarning
from libranas._warnings import user_stacklevel, warn_user
from libranas.featurizer import ProxyFailedWarning, ProxyFeaturizer
from libranas.proxies import get_proxy
from libranas.proxies._registry import _PROXIES, ProxyInfo
from libranas.selector import LibraSelector

ARCHS = ["|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|"]


def _caught(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return caught


def _batch(n=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3, 32, 32)).astype(np.float32), rng.integers(0, 10, n)


def test_user_stacklevel_skips_library_frames_only():
    def outside():  # this file is outside libranas: its own frame is the user's
        return user_stacklevel()

    assert outside() == 1
    caught = _caught(lambda: warn_user("a note"))
    assert caught[0].filename == __file__


def test_failed_proxy_warning_names_the_callers_line(monkeypatch):
    nwot = get_proxy("nwot")

    def fails(npass):
        raise RuntimeError("boom")

    monkeypatch.setitem(_PROXIES, "nwot", ProxyInfo("nwot", fails, nwot.requires))
    featurizer = ProxyFeaturizer("nb201", proxies=["nwot"], data=_batch(), batch_size=8)
    for call in (
        lambda: featurizer.fit().transform(ARCHS),
        lambda: featurizer.fit_transform(ARCHS),
    ):
        caught = [w for w in _caught(call) if issubclass(w.category, ProxyFailedWarning)]
        assert caught, "the failing proxy was not reported"
        assert {w.filename for w in caught} == {__file__}


def test_batch_note_names_the_callers_line():
    def fit():
        ProxyFeaturizer("nb201", proxies=["nwot"], data=_batch(n=6)).fit()

    caught = [w for w in _caught(fit) if issubclass(w.category, BatchNoteWarning)]
    assert [w.filename for w in caught] == [__file__]


@pytest.mark.parametrize("through_pipeline", [False, True])
def test_selector_warning_names_the_callers_line(through_pipeline):
    from sklearn.pipeline import Pipeline

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    X[0, 1] = np.inf
    y = X[:, 0] + 0.1 * rng.normal(size=40)
    est = Pipeline([("select", LibraSelector())]) if through_pipeline else LibraSelector()
    caught = [w for w in _caught(lambda: est.fit(X, y)) if "inf" in str(w.message)]
    assert caught and {w.filename for w in caught} == {__file__}
