"""Image batches from the data users have: a dataset name, a torch ``Dataset``, an image folder.

:class:`~libranas.ProxyFeaturizer` scores every network on one small batch. Besides arrays,
a ``DataLoader`` and ``.npz`` files (:func:`~libranas.datasets.load_image_batch`), its
``data=`` takes what this module reads:

- a dataset name, ``"cifar10"`` or ``"cifar100"`` (:data:`DATASET_NAMES`): the training split
  is downloaded once through torchvision into :func:`cache_dir` and reused;
- a ``torch.utils.data.Dataset`` of ``(image, label)`` items (PIL images, uint8 arrays or
  tensors, or float tensors already normalised);
- the path of an ImageFolder-style directory (one sub-folder of images per class).

``n`` items are drawn without replacement (indices sorted, from ``random_state``), resized to
the networks' input size when they differ, and normalised: a named dataset with its own
per-channel statistics, raw images (PIL / uint8) of a ``Dataset`` or a folder with the
ImageNet statistics (:data:`IMAGENET_NORMALIZATION`), float tensors as given. Every loader
returns the batch and a description of where it came from (what the featurizer keeps as
``data_source_``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from libranas.datasets.images import IMAGENET_NORMALIZATION, NORMALIZATION

#: dataset names ``data=`` accepts, and their torchvision classes
DATASET_NAMES: dict[str, str] = {"cifar10": "CIFAR10", "cifar100": "CIFAR100"}


def cache_dir() -> Path:
    """Where downloaded datasets are kept: ``$LIBRANAS_CACHE``, else ``~/.cache/libranas``.

    Examples
    --------
    >>> import os
    >>> os.environ["LIBRANAS_CACHE"] = "/tmp/libranas-cache"
    >>> str(cache_dir())
    '/tmp/libranas-cache'
    >>> del os.environ["LIBRANAS_CACHE"]
    >>> cache_dir().parts[-2:]
    ('.cache', 'libranas')
    """
    env = os.environ.get("LIBRANAS_CACHE", "").strip()
    return Path(env).expanduser() if env else Path.home() / ".cache" / "libranas"


def _pick(size: int, n: int, random_state: Any) -> np.ndarray:
    if size < 1:
        raise ValueError("the dataset is empty")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(size, size=min(int(n), size), replace=False))


def _to_float_chw(image: Any) -> tuple[Any, bool]:
    """``(tensor (C, H, W) float32, raw)``; ``raw`` when it came from uint8 / PIL pixels."""
    import torch

    if hasattr(image, "mode") and hasattr(image, "size") and hasattr(image, "convert"):  # PIL
        from torchvision.transforms.functional import pil_to_tensor

        return pil_to_tensor(image.convert("RGB")).float() / 255.0, True
    if isinstance(image, np.ndarray):
        image = torch.from_numpy(np.ascontiguousarray(image))
        if image.ndim == 3 and image.shape[-1] in (1, 3) and image.shape[0] not in (1, 3):
            image = image.permute(2, 0, 1)  # HWC -> CHW
    if not isinstance(image, torch.Tensor):
        raise TypeError(
            "dataset items must be (image, label) with a PIL image, an array or a tensor, got "
            f"{type(image).__name__}"
        )
    if image.ndim == 2:
        image = image.unsqueeze(0)
    if image.ndim != 3:
        raise ValueError(f"an image must be (C, H, W) or (H, W, C), got shape {tuple(image.shape)}")
    if image.dtype == torch.uint8:
        return image.float() / 255.0, True
    if not image.is_floating_point():
        raise TypeError(f"image tensors must be uint8 or floating point, got {image.dtype}")
    return image.float(), False


def _resize(image: Any, size: tuple[int, int] | None) -> Any:
    if size is None or tuple(image.shape[-2:]) == tuple(size):
        return image
    import torch.nn.functional as F

    return F.interpolate(
        image.unsqueeze(0), size=tuple(size), mode="bilinear", antialias=True, align_corners=False
    )[0]


def _label(value: Any) -> int:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"labels must be integers, got {value!r}")
    return int(value)


def batch_from_dataset(
    dataset: Any,
    n: int = 64,
    *,
    size: tuple[int, int] | None = None,
    normalization: tuple[Any, Any] | None = IMAGENET_NORMALIZATION,
    random_state: Any = 0,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Draw ``n`` items of a map-style ``Dataset`` (or the first ``n`` of an iterable one).

    Parameters
    ----------
    dataset : torch.utils.data.Dataset
        Items ``(image, label, ...)``: a PIL image, a uint8 / float array or tensor
        (``(C, H, W)``, or ``(H, W, C)`` arrays), and an integer label.
    n : int, default=64
        Items drawn without replacement (all of them when the dataset is smaller).
    size : (int, int), optional
        ``(H, W)`` the images are resized to (bilinear, antialiased) when they differ.
    normalization : (mean, std), optional
        Per-channel statistics in [0, 1] units applied to raw (PIL / uint8) images; float
        tensors are taken as already normalised. None: raw images stay in [0, 1].
    random_state : int, Generator or None, default=0
        Which items are drawn.

    Returns
    -------
    x : ndarray of float32, shape (n, C, H, W)
    y : ndarray of int64, shape (n,)
    source : dict
        ``kind`` ("dataset"), ``type``, ``indices`` (drawn, sorted; None for an iterable
        dataset), ``size`` and ``normalization`` (None when the items were float tensors).

    Examples
    --------
    >>> import torch
    >>> ds = torch.utils.data.TensorDataset(torch.rand(10, 3, 8, 8), torch.arange(10))
    >>> x, y, source = batch_from_dataset(ds, 4, random_state=0)
    >>> x.shape, y.tolist() == source["indices"]
    ((4, 3, 8, 8), True)
    """
    import torch

    if hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__"):
        indices: list[int] | None = _pick(len(dataset), n, random_state).tolist()
        items = [dataset[i] for i in indices]
    else:  # an IterableDataset: its first n items
        indices, items = None, []
        for item in dataset:
            items.append(item)
            if len(items) >= n:
                break
        if not items:
            raise ValueError("the dataset yielded no item")
    xs, ys, raw_any = [], [], False
    for k, item in enumerate(items):
        if not isinstance(item, (tuple, list)) or len(item) < 2:
            raise ValueError(
                f"dataset items must be (image, label) pairs; item {k} is {type(item).__name__}"
            )
        image, raw = _to_float_chw(item[0])
        if raw and normalization is not None:
            mean, std = (torch.tensor(v, dtype=torch.float32).view(-1, 1, 1) for v in normalization)
            image = (image - mean) / std
        raw_any = raw_any or raw
        xs.append(_resize(image, size))
        ys.append(_label(item[1]))
    shapes = {tuple(t.shape) for t in xs}
    if len(shapes) > 1:
        raise ValueError(f"the drawn images have different shapes {sorted(shapes)}; pass size=")
    x = torch.stack(xs).numpy().astype(np.float32)
    source = {
        "kind": "dataset",
        "type": type(dataset).__name__,
        "indices": indices,
        "size": list(x.shape[-2:]),
        "normalization": [list(v) for v in normalization] if raw_any and normalization else None,
    }
    return x, np.asarray(ys, dtype=np.int64), source


def batch_from_folder(
    path: str | os.PathLike,
    n: int = 64,
    *,
    size: tuple[int, int] | None = None,
    normalization: tuple[Any, Any] | None = IMAGENET_NORMALIZATION,
    random_state: Any = 0,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Draw ``n`` images of an ImageFolder-style directory (``root/<class>/<image>``).

    Labels are the class folders' indices in sorted order (torchvision's ``ImageFolder``);
    images are resized to ``size`` and normalised as in :func:`batch_from_dataset`.

    Returns
    -------
    x, y, source
        As :func:`batch_from_dataset`, with ``kind`` "folder", ``path`` and ``classes``.
    """
    from torchvision.datasets import ImageFolder

    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"image folder {str(path)!r} does not exist")
    try:
        folder = ImageFolder(str(path))
    except (FileNotFoundError, RuntimeError) as exc:
        raise ValueError(
            f"{str(path)!r} is not an image folder (one sub-folder of images per class): {exc}"
        ) from None
    x, y, source = batch_from_dataset(
        folder, n, size=size, normalization=normalization, random_state=random_state
    )
    source.update(kind="folder", path=str(path), classes=list(folder.classes))
    del source["type"]
    return x, y, source


def _torchvision_dataset(name: str, root: Path) -> Any:
    """The torchvision training split of ``name`` under ``root`` (downloaded if absent)."""
    import torchvision

    cls = getattr(torchvision.datasets, DATASET_NAMES[name])
    root.mkdir(parents=True, exist_ok=True)
    try:
        return cls(root=str(root), train=True, download=True)
    except Exception as exc:  # noqa: BLE001 - URLError, OSError, RuntimeError, ssl errors
        raise OSError(
            f"could not download {name!r} into {str(root)!r} ({type(exc).__name__}: {exc}). "
            "Without a network, copy torchvision's files there (or set LIBRANAS_CACHE to a "
            "folder holding them), or pass data=(x, y) arrays"
        ) from exc


def load_dataset_batch(
    name: str,
    n: int = 64,
    *,
    size: tuple[int, int] | None = None,
    random_state: Any = 0,
    root: str | os.PathLike | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Draw ``n`` training images of a named dataset, downloaded once and cached.

    Parameters
    ----------
    name : {"cifar10", "cifar100"}
        Case-insensitive.
    n : int, default=64
    size : (int, int), optional
        Resize to ``(H, W)`` when it differs from 32 x 32.
    random_state : int, Generator or None, default=0
        Which images are drawn (sorted indices into the training split).
    root : path, optional
        Download folder; default ``cache_dir() / name``.

    Returns
    -------
    x, y, source
        ``x`` normalised with the dataset's statistics
        (:data:`libranas.datasets.images.NORMALIZATION`); ``source`` has ``kind``
        ("dataset-name"), ``name``, ``split``, ``root``, ``indices``, ``size`` and
        ``normalization``.

    Raises
    ------
    ValueError
        Unknown name.
    OSError
        The download failed (offline); the message says where the files are expected.
    """
    import torch

    key = name.lower() if isinstance(name, str) else name
    if key not in DATASET_NAMES:
        raise ValueError(f"unknown dataset {name!r}; known: {sorted(DATASET_NAMES)}")
    root = Path(root) if root is not None else cache_dir() / key
    ds = _torchvision_dataset(key, root)
    data, targets = np.asarray(ds.data), np.asarray(ds.targets)
    pick = _pick(len(data), n, random_state)
    mean, std = (np.asarray(v, np.float32).reshape(1, 3, 1, 1) for v in NORMALIZATION[key])
    x = (data[pick].transpose(0, 3, 1, 2).astype(np.float32) / 255.0 - mean) / std
    if size is not None and tuple(x.shape[-2:]) != tuple(size):
        x = torch.stack([_resize(torch.from_numpy(img), size) for img in x]).numpy()
    source = {
        "kind": "dataset-name",
        "name": key,
        "split": "train",
        "root": str(root),
        "indices": pick.tolist(),
        "size": list(x.shape[-2:]),
        "normalization": [list(v) for v in NORMALIZATION[key]],
    }
    return np.ascontiguousarray(x, dtype=np.float32), targets[pick].astype(np.int64), source


__all__ = [
    "DATASET_NAMES",
    "IMAGENET_NORMALIZATION",
    "batch_from_dataset",
    "batch_from_folder",
    "cache_dir",
    "load_dataset_batch",
]
