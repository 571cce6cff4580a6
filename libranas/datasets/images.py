"""Loading a small batch of real images for zero-cost proxies (no images are bundled)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

# per-channel mean/std in [0, 1] units used when training NAS-Bench-201 networks
#: mean / std (in [0, 1] units) applied to raw images of a Dataset or an image folder, and to
#: uint8 ``(x, y)`` arrays (:func:`normalize_uint8`)
IMAGENET_NORMALIZATION = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))

NORMALIZATION = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
    "imagenet16": (
        (122.68 / 255, 116.66 / 255, 104.01 / 255),
        (63.22 / 255, 61.26 / 255, 65.09 / 255),
    ),
}


def normalize_uint8(x: np.ndarray, dataset: str = "imagenet") -> np.ndarray:
    """uint8 images ``(N, 3, H, W)`` as float32, normalised with a dataset's statistics.

    ``(x / 255 - mean) / std`` per channel, with the mean and standard deviation of
    ``dataset``: ``"imagenet"`` (:data:`IMAGENET_NORMALIZATION`,
    what :class:`~libranas.ProxyFeaturizer` applies to uint8 ``(x, y)`` arrays, as to the
    raw images of a folder) or a key of :data:`NORMALIZATION` (``"cifar10"``,
    ``"cifar100"``, ``"imagenet16"``).

    Examples
    --------
    >>> x = np.full((2, 3, 4, 4), 255, dtype=np.uint8)
    >>> [round(float(v), 3) for v in normalize_uint8(x, "cifar10")[0, :, 0, 0]]
    [2.059, 2.126, 2.116]
    """
    if dataset == "imagenet":
        stats = IMAGENET_NORMALIZATION
    elif dataset in NORMALIZATION:
        stats = NORMALIZATION[dataset]
    else:
        raise ValueError(f"unknown dataset {dataset!r}; known: {['imagenet', *NORMALIZATION]}")
    x = np.asarray(x)
    if x.dtype != np.uint8 or x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(
            f"expected uint8 images of shape (N, 3, H, W), got {x.dtype} {x.shape}"
            + ("; move the channels first: x.transpose(0, 3, 1, 2)" if x.shape[-1:] == (3,) else "")
        )
    mean, std = (np.asarray(v, np.float32).reshape(1, 3, 1, 1) for v in stats)
    return (x.astype(np.float32) / 255.0 - mean) / std


def _dataset_from_name(path: Path) -> str:
    name = path.name.lower()
    for key in ("cifar100", "cifar10", "imagenet16"):
        if key in name:
            return key
    raise ValueError(
        f"cannot tell the dataset of {str(path)!r} from its name; pass dataset= one of "
        f"{sorted(NORMALIZATION)}"
    )


def named_dataset(name: Any) -> str | None:
    """The dataset a task name, a dataset name or an image-batch file name refers to.

    ``"cifar10"``, ``"cifar100"`` or ``"imagenet16"`` when the name (a path's file name) tells
    it, else None (an image folder, an array batch, a task of another kind).

    Examples
    --------
    >>> named_dataset("imagenet16-120"), named_dataset("data/cifar100_960_uint8.npz")
    ('imagenet16', 'cifar100')
    >>> named_dataset("my_images/") is None
    True
    """
    if not isinstance(name, (str, os.PathLike)):
        return None
    try:
        return _dataset_from_name(Path(name))
    except ValueError:
        return None


def load_image_batch(
    path: str | os.PathLike,
    n: int = 64,
    *,
    dataset: str | None = None,
    num_classes: int | None = None,
    fold_labels: bool = False,
    random_state: Any = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` normalised images and labels from an ``.npz`` file of uint8 images.

    The file holds ``x`` (uint8, ``(N, 3, H, W)``) and ``y`` (integer labels), e.g. the
    960-image batches kept next to this project (not bundled: image licenses).

    Parameters
    ----------
    path : path-like
        The ``.npz`` file.
    n : int, default=64
        Batch size; at most the number of images in the file.
    dataset : {"cifar10", "cifar100", "imagenet16"}, optional
        Picks the normalisation; inferred from the file name by default.
    num_classes : int, optional
        If given, labels must lie in ``[0, num_classes)``.
    fold_labels : bool, default=False
        Map labels to ``y % num_classes`` instead of raising (e.g. the 1000-class
        downsampled-ImageNet labels for a 120-class ImageNet16-120 network).
    random_state : int, Generator or None, default=0
        Which images are drawn (without replacement).

    Returns
    -------
    x : ndarray of float32, shape (n, 3, H, W)
    y : ndarray of int64, shape (n,)
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"image batch {str(path)!r} does not exist")
    dataset = dataset or _dataset_from_name(path)
    if dataset not in NORMALIZATION:
        raise ValueError(f"unknown dataset {dataset!r}; known: {sorted(NORMALIZATION)}")
    with np.load(path) as f:
        if "x" not in f or "y" not in f:
            raise ValueError(f"{str(path)!r} must hold arrays 'x' and 'y', found {sorted(f.files)}")
        x_all, y_all = f["x"], f["y"]
    if x_all.ndim != 4 or x_all.shape[1] != 3 or x_all.dtype != np.uint8:
        raise ValueError(f"'x' must be uint8 (N, 3, H, W), got {x_all.dtype} {x_all.shape}")
    if len(y_all) != len(x_all):
        raise ValueError(f"'x' has {len(x_all)} images but 'y' has {len(y_all)} labels")
    if not 1 <= n <= len(x_all):
        raise ValueError(f"n={n} must be between 1 and the {len(x_all)} images in the file")
    rng = np.random.default_rng(random_state)
    pick = np.sort(rng.choice(len(x_all), size=n, replace=False))
    x = normalize_uint8(x_all[pick], dataset)
    from libranas._batch_checks import check_labels

    # float labels are refused (3.5 was truncated to 3): the rule of (x, y) arrays
    try:
        y = check_labels(y_all[pick], f"{str(path)!r}: 'y'")
    except TypeError as exc:  # a bad file is a ValueError here, like its other problems
        raise ValueError(str(exc)) from None
    if num_classes is not None:
        if fold_labels:
            y = y % num_classes
        elif y.min() < 0 or y.max() >= num_classes:
            raise ValueError(
                f"labels range {y.min()}..{y.max()} do not fit num_classes={num_classes}; "
                "pass fold_labels=True to use y % num_classes"
            )
    return x, y
