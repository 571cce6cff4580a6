"""``ProxyFeaturizer(data=...)`` with the data users have: a torch Dataset, a dataset name
(download mocked: no network in the tests), an ImageFolder directory; the same scores as the
equivalent arrays, the choice recorded in ``data_source_``, a clear error offline."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision

from libranas import ProxyFeaturizer
from libranas.datasets import batch_from_dataset, cache_dir, load_dataset_batch
from libranas.datasets.images import NORMALIZATION
from libranas.datasets.sources import IMAGENET_NORMALIZATION

PROXIES = ["nwot", "zico", "params"]
CELLS = [
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|",
    "|skip_connect~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_3x3~0|none~1|nor_conv_1x1~2|",
]


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def featurizer(data, **kw) -> ProxyFeaturizer:
    return ProxyFeaturizer(
        space="nb201", proxies=PROXIES, data=data, batch_size=8, lswag_band=None, device="cpu", **kw
    )


class FakeCIFAR10:
    """Stands in for torchvision.datasets.CIFAR10: uint8 (N, 32, 32, 3) data and targets."""

    calls: list = []

    def __init__(self, root, train=True, download=False, transform=None):
        FakeCIFAR10.calls.append((root, train, download))
        rng = np.random.default_rng(0)
        self.data = rng.integers(0, 256, size=(40, 32, 32, 3), dtype=np.uint8)
        self.targets = list(rng.integers(0, 10, size=40))

    def __len__(self):
        return len(self.data)


def test_tensor_dataset_scores_equal_the_arrays():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(30, 3, 32, 32, generator=g)
    y = torch.randint(0, 10, (30,), generator=g)
    feat = featurizer(torch.utils.data.TensorDataset(x, y)).fit()
    src = feat.data_source_
    assert src["kind"] == "dataset" and src["type"] == "TensorDataset"
    assert src["normalization"] is None  # float tensors are taken as normalised
    idx = src["indices"]
    assert len(idx) == 8 and idx == sorted(idx)
    ref = featurizer((x[idx], y[idx])).fit()
    assert ref.data_source_ == {"kind": "arrays", "n": 8}
    np.testing.assert_array_equal(feat.transform(CELLS), ref.transform(CELLS))


def test_dataset_name_downloads_once_into_the_cache_and_matches_arrays(monkeypatch, tmp_path):
    monkeypatch.setenv("LIBRANAS_CACHE", str(tmp_path))
    monkeypatch.setattr(torchvision.datasets, "CIFAR10", FakeCIFAR10)
    FakeCIFAR10.calls.clear()
    feat = featurizer("cifar10").fit()
    assert FakeCIFAR10.calls == [(str(tmp_path / "cifar10"), True, True)]
    src = feat.data_source_
    assert src["kind"] == "dataset-name" and src["name"] == "cifar10"
    assert src["root"] == str(tmp_path / "cifar10") and cache_dir() == tmp_path
    idx = np.asarray(src["indices"])
    fake = FakeCIFAR10(tmp_path)
    mean, std = (np.asarray(v, np.float32).reshape(1, 3, 1, 1) for v in NORMALIZATION["cifar10"])
    x = (fake.data[idx].transpose(0, 3, 1, 2).astype(np.float32) / 255 - mean) / std
    y = np.asarray(fake.targets)[idx]
    np.testing.assert_allclose(feat.data_[0], x, rtol=0, atol=1e-6)
    ref = featurizer((x, y)).fit()
    np.testing.assert_allclose(feat.transform(CELLS), ref.transform(CELLS), rtol=1e-6)


def test_dataset_name_offline_gives_a_clear_error(monkeypatch, tmp_path):
    def offline(*args, **kwargs):
        raise RuntimeError("<urlopen error [Errno -3] Temporary failure in name resolution>")

    monkeypatch.setenv("LIBRANAS_CACHE", str(tmp_path))
    monkeypatch.setattr(torchvision.datasets, "CIFAR100", offline)
    with pytest.raises(OSError, match="could not download 'cifar100' into .*LIBRANAS_CACHE"):
        featurizer("cifar100", num_classes=100).fit()
    with pytest.raises(ValueError, match="unknown dataset 'mnist'"):
        load_dataset_batch("mnist")


def test_image_folder_is_resized_and_normalised(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for label in ("cat", "dog"):
        (tmp_path / label).mkdir()
        for i in range(5):
            pixels = rng.integers(0, 256, size=(40, 48, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / label / f"{i}.png")
    feat = featurizer(tmp_path).fit()
    src = feat.data_source_
    assert src["kind"] == "folder" and src["classes"] == ["cat", "dog"]
    assert src["size"] == [32, 32] and feat.data_[0].shape == (8, 3, 32, 32)
    assert src["normalization"] == [list(v) for v in IMAGENET_NORMALIZATION]
    assert set(feat.data_[1].tolist()) <= {0, 1}
    assert np.isfinite(feat.transform(CELLS)).all()


def test_raw_uint8_dataset_items_and_errors():
    items = [(np.full((32, 32, 3), 255, np.uint8), 1), (np.zeros((32, 32, 3), np.uint8), 0)]
    x, y, src = batch_from_dataset(items_dataset(items), 2, random_state=0)
    mean, std = (np.asarray(v) for v in IMAGENET_NORMALIZATION)
    np.testing.assert_allclose(x[0, :, 0, 0], (1 - mean) / std, rtol=1e-6)
    assert y.tolist() == [1, 0]
    with pytest.raises(ValueError, match=r"\(image, label\)"):
        batch_from_dataset(items_dataset([torch.zeros(3, 4, 4)] * 2), 2)
    with pytest.raises(TypeError, match="a torch Dataset or DataLoader"):
        featurizer(object()).fit()


def items_dataset(items):
    class Items(torch.utils.data.Dataset):
        def __len__(self):
            return len(items)

        def __getitem__(self, i):
            return items[i]

    return Items()


def test_cli_score_takes_a_dataset_name(monkeypatch, tmp_path, capsys):
    import pandas as pd

    from libranas.cli import main

    monkeypatch.setenv("LIBRANAS_CACHE", str(tmp_path))
    monkeypatch.setattr(torchvision.datasets, "CIFAR10", FakeCIFAR10)
    out = tmp_path / "scores.csv"
    argv = ["score", "--space", "nb201", "--proxies", "nwot,params", "--data", "cifar10"]
    assert main([*argv, "--batch-size", "8", "--output", str(out), *CELLS]) == 0
    got = pd.read_csv(out)
    ref = ProxyFeaturizer(
        space="nb201",
        proxies=["nwot", "params"],
        data="cifar10",
        batch_size=8,
        lswag_band=None,
        device="cpu",
    ).fit()
    np.testing.assert_allclose(got[["nwot", "params"]].to_numpy(), ref.transform(CELLS), rtol=1e-6)
    capsys.readouterr()
    # a normalisation flag makes no sense for a named dataset: one-line error, status 2
    assert main([*argv, "--dataset", "cifar100", *CELLS]) == 2
    assert "--dataset sets the normalisation" in capsys.readouterr().err
