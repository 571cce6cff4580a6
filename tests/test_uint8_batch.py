"""uint8 image arrays as ``data=(x, y)``: normalised with the documented ImageNet statistic."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from libranas import ProxyFeaturizer  # noqa: E402
from libranas.datasets.images import normalize_uint8  # noqa: E402
from libranas.datasets.sources import IMAGENET_NORMALIZATION  # noqa: E402


def test_uint8_arrays_are_normalised_with_the_imagenet_statistic():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (8, 3, 32, 32), dtype=np.uint8)
    y = np.arange(8) % 10
    feat = ProxyFeaturizer("nb201", proxies=["nwot"], data=(x, y), batch_size=8).fit()
    batch = feat.data_[0]
    assert batch.dtype == np.float32
    mean, std = (np.asarray(v).reshape(1, 3, 1, 1) for v in IMAGENET_NORMALIZATION)
    np.testing.assert_allclose(batch, (x / 255.0 - mean) / std, rtol=1e-5, atol=1e-5)
    # the same scores as the float batch normalised by hand
    by_hand = ProxyFeaturizer("nb201", proxies=["nwot"], data=(batch, y), batch_size=8).fit()
    arch = feat.space_.sample(1, random_state=0)
    assert feat.transform(arch)[0, 0] == by_hand.transform(arch)[0, 0]


@pytest.mark.parametrize(
    "x, match",
    [
        (np.zeros((4, 32, 32, 3), np.uint8), "channels first"),
        (np.zeros((4, 1, 32, 32), np.uint8), r"\(N, 3, H, W\)"),
    ],
)
def test_uint8_arrays_of_the_wrong_layout_are_refused(x, match):
    with pytest.raises(ValueError, match=match):
        ProxyFeaturizer("nb201", proxies=["nwot"], data=(x, np.zeros(4, int))).fit()


def test_normalize_uint8_dataset_statistics():
    x = np.zeros((1, 3, 2, 2), np.uint8)
    out = normalize_uint8(x, "cifar100")
    assert out[0, 0, 0, 0] == pytest.approx(-0.5071 / 0.2673, rel=1e-5)
    with pytest.raises(ValueError, match="unknown dataset"):
        normalize_uint8(x, "mnist")
