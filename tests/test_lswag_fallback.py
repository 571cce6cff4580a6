"""L-SWAG gives a finite score on common networks; where the stored band has no layer with a
gradient that varies across samples, the documented fallback applies and is recorded."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("timm")

from _data import needs_data, require_data  # noqa: E402

from libranas import ProxyFeaturizer  # noqa: E402
from libranas.datasets import load_image_batch  # noqa: E402
from libranas.featurizer import ProxyNoteWarning  # noqa: E402
from libranas.proxies._engine import NetworkPass  # noqa: E402
from libranas.proxies.lswag import lswag_lambda, nearest_varying_layers  # noqa: E402
from libranas.spaces import get_space  # noqa: E402


def test_nearest_varying_layers_picks_the_closest_depth():
    values = np.array([1.0, np.nan, 2.0, np.nan, np.nan])  # depths 0, 20, 40, 60, 80
    assert nearest_varying_layers(values, (60, 100)).nonzero()[0].tolist() == [2]
    assert nearest_varying_layers(values, None).nonzero()[0].tolist() == [0, 2]
    assert not nearest_varying_layers(np.full(3, np.nan), (0, 50)).any()


class _DeadMiddle(torch.nn.Module):
    """Three weight layers; the middle one's output is multiplied by 0, so its gradient is 0
    for every sample (no variance): a band holding only it has no varying gradient."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.dead = torch.nn.Linear(256, 4)
        self.head = torch.nn.Linear(256, 3)

    def forward(self, x):
        h = torch.relu(self.conv(x)).flatten(1)
        return self.head(h) + 0.0 * self.dead(h).sum(1, keepdim=True)


def test_band_without_varying_gradient_falls_back_and_records_it():
    torch.manual_seed(0)
    net = _DeadMiddle()
    x, y = torch.randn(8, 3, 8, 8), torch.arange(8) % 3
    band = {"lswag_band": (30, 40)}  # depths 0, 33, 67: the dead layer only
    npass = NetworkPass(net, x, y, options=band)
    value = lswag_lambda(npass)
    note = npass.cache["notes"]["lswag"]
    assert np.isfinite(value) and "nearest" in note and "depth 67%" in note  # the head
    strict = NetworkPass(net, x, y, options={**band, "lswag_empty_band": "error"})
    with pytest.raises(ValueError, match="varies across samples"):
        lswag_lambda(strict)


@needs_data("images/cifar10_960_uint8.npz")
@pytest.mark.parametrize("model", ["resnet18", "vit_tiny_patch16_224", "mobilenetv3_small_100"])
def test_timm_models_get_finite_scores(model):
    torch.set_num_threads(1)
    x, y = load_image_batch(require_data("images/cifar10_960_uint8.npz"), n=16)
    feat = ProxyFeaturizer(
        space=get_space("timm", num_classes=10, img_size=32),
        proxies=["params", "nwot", "lswag"],
        data=(x, y),
        batch_size=16,
        # a one-model list: calibration draws the same model; 4 draws (not 20) keep the
        # calibration path under test at a fifth of its cost (the profile averages 4 inits)
        n_calibration=4,
    ).fit([model])
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        scores = feat.transform([model])
    assert np.isfinite(scores).all(), scores
    noted = [w for w in record if issubclass(w.category, ProxyNoteWarning)]
    assert (0 in feat.notes_) == bool(noted)
    if model == "resnet18":  # the stored band holds only 1 x 1 maps at 32 px: the fallback
        assert "nearest layer" in feat.notes_[0][0]
