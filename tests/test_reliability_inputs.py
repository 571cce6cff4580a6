"""Issue 25, bullet 5: inputs checked the same way on every path."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from libranas._batch_checks import BatchNoteWarning
from libranas.datasets import load_image_batch
from libranas.featurizer import ProxyFeaturizer


def _arrays(n=8, size=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3, size, size)).astype(np.float32), rng.integers(0, 10, n)


def test_batch_size_is_bounded():
    with pytest.raises(ValueError, match=r"batch_size must be an int in \[2, 4096\]"):
        ProxyFeaturizer("nb201", proxies=["params"], batch_size=10**9).fit()


def test_bad_option_value_is_refused_at_fit():
    x, y = _arrays()
    with pytest.raises(ValueError, match=r"options\['per_sample'\] must be one of"):
        ProxyFeaturizer(
            "nb201", proxies=["zico"], data=(x, y), batch_size=8, options={"per_sample": "nope"}
        ).fit()


def test_short_batch_is_noted():
    x, y = _arrays(n=6)
    with pytest.warns(BatchNoteWarning, match="6 samples, fewer than batch_size=64"):
        ProxyFeaturizer("nb201", proxies=["nwot"], data=(x, y)).fit()


def test_float_labels_refused_for_arrays_and_npz(tmp_path):
    x, y = _arrays()
    bad = y.astype(float)
    bad[0] = 3.5
    with pytest.raises(TypeError, match="integer class labels, got dtype float64"):
        ProxyFeaturizer("nb201", proxies=["nwot"], data=(x, bad), batch_size=8).fit()
    images = np.zeros((8, 3, 32, 32), np.uint8)
    np.savez(tmp_path / "cifar10_f.npz", x=images, y=bad)
    with pytest.raises(ValueError, match="integer class labels, got dtype float64"):
        load_image_batch(tmp_path / "cifar10_f.npz", n=8)
    with pytest.raises(ValueError, match="integer class labels"):
        ProxyFeaturizer(
            "nb201", proxies=["nwot"], data=str(tmp_path / "cifar10_f.npz"), batch_size=8
        ).fit()


def test_image_size_rule_for_arrays():
    x, y = _arrays(size=8)
    with pytest.warns(BatchNoteWarning, match="images are 8x8.*used at 8x8"):
        feat = ProxyFeaturizer("nb201", proxies=["nwot"], data=(x, y), batch_size=8).fit()
    assert feat.data_[0].shape[-2:] == (8, 8)
    with pytest.warns(BatchNoteWarning, match="resized from 8x8 to 32x32"):
        feat = ProxyFeaturizer(
            "nb201", proxies=["nwot"], data=(x, y), batch_size=8, input_shape=(3, 32, 32)
        ).fit()
    assert feat.data_[0].shape[-2:] == (32, 32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", BatchNoteWarning)  # the default size: no note
        ProxyFeaturizer("nb201", proxies=["nwot"], data=_arrays(), batch_size=8).fit()
