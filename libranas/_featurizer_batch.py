"""The batch of :class:`~libranas.featurizer.ProxyFeaturizer`: loading it from any source the
estimator accepts (arrays, tensors, a DataLoader or Dataset, a dataset name, an image folder,
an ``.npz`` file, or none) and checking it against the networks' input.

Plain functions of what they need, called by :meth:`ProxyFeaturizer.fit`; their warnings name
the user's line (:func:`libranas._warnings.user_stacklevel`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from libranas._batch_checks import check_labels, check_short_batch, fit_image_size
from libranas._validation import is_int as _is_int


def model_only(name: str) -> bool:
    """Whether proxy ``name`` needs only the network (no batch)."""
    from libranas.proxies import get_proxy

    return get_proxy(name).requires <= {"model"}


def uint8_images(x: np.ndarray) -> np.ndarray:
    """uint8 images ``(N, 3, H, W)`` -> float32 normalised with the ImageNet statistics
    (:func:`libranas.datasets.images.normalize_uint8`); any other array unchanged."""
    if x.dtype != np.uint8:
        return x
    from libranas.datasets.images import normalize_uint8

    try:
        return normalize_uint8(x, "imagenet")
    except ValueError as exc:
        raise ValueError(f"data x: {exc}") from None


def load_batch(
    data: Any,
    batch_size: int,
    num_classes: int | None,
    input_shape: Any,
    space: Any,
    seed: int,
    needs_batch: list[str],
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """``(x, y, data_source)``: the checked batch and where it came from.

    ``needs_batch`` lists the proxies that need a batch (an error when ``data`` is None).
    """
    if data is None:
        if needs_batch:
            raise ValueError(
                "data=None, but the proxies "
                f"{needs_batch} need a batch: "
                "pass data=(x, y) arrays or tensors, a torch DataLoader, or the path of an "
                ".npz file of uint8 images (e.g. cifar10_960_uint8.npz)"
            )
        shape = input_shape
        if shape is None:
            shape = getattr(space, "default_input_shape", None)
        if shape is None:
            raise ValueError(
                f"data=None: pass input_shape=(C, H, W) (the space {space!r} has no "
                "default_input_shape), or pass data"
            )
        shape = check_shape(shape)
        source = {"kind": "zeros", "shape": [2, *shape]}
        return np.zeros((2, *shape), np.float32), np.zeros(2, np.int64), source
    if isinstance(data, (str, os.PathLike)):
        x, y, source = from_path(data, batch_size, num_classes, input_shape, space, seed)
    elif isinstance(data, (tuple, list)):
        if len(data) != 2:
            raise ValueError(f"data must be an (x, y) pair, got a sequence of {len(data)}")
        x, y = as_numpy(data[0], "x"), as_numpy(data[1], "y")
        x, y = x[:batch_size], y[:batch_size]
        check_short_batch(len(x), batch_size, "data (x, y)")
        source = {"kind": "arrays", "n": int(len(x))}
    elif (type(data).__name__ == "DataLoader" or hasattr(data, "dataset")) and (
        not is_dataset(data)
    ):
        x, y = from_loader(data, batch_size, seed)
        check_short_batch(len(x), batch_size, "the DataLoader")
        source = {"kind": "dataloader", "n": int(len(x))}
    elif is_dataset(data):
        from libranas.datasets.sources import batch_from_dataset

        x, y, source = batch_from_dataset(
            data, batch_size, size=target_size(input_shape, space), random_state=seed
        )
    else:
        raise TypeError(
            "data must be an (x, y) pair of arrays/tensors, a torch Dataset or DataLoader, "
            "a dataset name ('cifar10', 'cifar100'), an image folder, a path to an .npz "
            f"image file or None, got {type(data).__name__}"
        )
    x, y = check_batch(x, y, data, input_shape, space)
    return x, y, source


def is_dataset(data: Any) -> bool:
    try:
        from torch.utils.data import Dataset, IterableDataset
    except ImportError:  # pragma: no cover - torch is needed to score anyway
        return False
    return isinstance(data, (Dataset, IterableDataset))


def target_size(input_shape: Any, space: Any) -> tuple[int, int] | None:
    """``(H, W)`` of the networks' input: ``input_shape`` or the space's default."""
    shape = input_shape or getattr(space, "default_input_shape", None)
    return None if shape is None or len(shape) < 3 else (int(shape[-2]), int(shape[-1]))


def from_path(
    data: str | os.PathLike,
    batch_size: int,
    num_classes: int | None,
    input_shape: Any,
    space: Any,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """A dataset name, an image folder or an ``.npz`` file of uint8 images."""
    from libranas.datasets import load_image_batch
    from libranas.datasets.sources import (
        DATASET_NAMES,
        batch_from_folder,
        load_dataset_batch,
    )

    if isinstance(data, str) and data.lower() in DATASET_NAMES and not os.path.exists(data):
        x, y, source = load_dataset_batch(
            data, batch_size, size=target_size(input_shape, space), random_state=seed
        )
    elif os.path.isdir(data):
        x, y, source = batch_from_folder(
            data, batch_size, size=target_size(input_shape, space), random_state=seed
        )
    else:
        x, y = load_image_batch(data, n=batch_size, num_classes=num_classes, random_state=seed)
        source = {"kind": "npz", "path": str(data), "n": int(len(x))}
    return x, y, source


def as_numpy(value: Any, what: str) -> np.ndarray:
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        value = value.detach().cpu().numpy()
    if not isinstance(value, np.ndarray):
        raise TypeError(f"data {what} must be a numpy array or a torch tensor, got {value!r}")
    return value


def from_loader(loader: Any, batch_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    import torch

    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    have = 0
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for k, batch in enumerate(loader):
            if not isinstance(batch, (tuple, list)) or len(batch) < 2:
                raise ValueError(
                    f"the DataLoader must yield (x, y) batches; batch {k} is {type(batch).__name__}"
                )
            xs.append(as_numpy(batch[0], "x"))
            ys.append(as_numpy(batch[1], "y"))
            have += len(xs[-1])
            if have >= batch_size:
                break
    if not xs:
        raise ValueError("the DataLoader yielded no batch")
    return np.concatenate(xs)[:batch_size], np.concatenate(ys)[:batch_size]


def check_batch(
    x: np.ndarray, y: np.ndarray, data: Any, input_shape: Any, space: Any
) -> tuple[np.ndarray, np.ndarray]:
    """The batch checked (dtype, labels, finite values) and fitted to the networks' input."""
    x = uint8_images(x)
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(
            f"data x must be uint8 images or floating point (normalised images), got dtype "
            f"{x.dtype}"
        )
    y = check_labels(y)  # issue 25: float labels refused, the same for .npz files
    if y.ndim != 1 or x.ndim < 2 or len(x) != len(y):
        raise ValueError(
            f"data x of shape {x.shape} and y of shape {y.shape} do not form a batch: "
            "y must be 1-D with one label per sample of x"
        )
    if len(x) < 2:
        raise ValueError(f"the batch needs at least 2 samples, got {len(x)}")
    if not np.isfinite(x).all():
        raise ValueError("data x contains NaN or infinite values")
    # issue 25: arrays, .npz files and DataLoaders against the networks' input size
    # (a Dataset, a dataset name or a folder were resized when loaded: a no-op for them)
    from libranas.datasets.images import named_dataset

    x = fit_image_size(
        x,
        target_size(input_shape, space),
        input_shape is not None,
        "the data batch",
        named_dataset(data) if isinstance(data, (str, os.PathLike)) else None,
    )
    if input_shape is not None and tuple(x.shape[1:]) != check_shape(input_shape):
        raise ValueError(f"input_shape={tuple(input_shape)} but the data batch has shape {x.shape}")
    return np.ascontiguousarray(x), y


def check_shape(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, (str, bytes)) or not isinstance(shape, Sequence | np.ndarray):
        raise TypeError(f"input_shape must be a tuple of ints, got {shape!r}")
    if not shape or not all(_is_int(s) and s > 0 for s in shape):
        raise ValueError(f"input_shape must be a tuple of positive ints, got {shape!r}")
    return tuple(int(s) for s in shape)
