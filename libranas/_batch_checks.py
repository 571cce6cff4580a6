"""Checks of a ProxyFeaturizer's image batch and options, the same on every input path.

Kept out of :mod:`libranas.featurizer` so that each rule is one function: the featurizer
calls them on the batch it loaded, whatever it came from (arrays, an ``.npz`` file, a
DataLoader, a Dataset).
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from libranas._warnings import user_stacklevel

__all__ = [
    "MAX_BATCH_SIZE",
    "BatchNoteWarning",
    "check_batch_size",
    "check_labels",
    "check_option_values",
    "check_short_batch",
    "fit_image_size",
]

#: most images in one batch: every network runs the whole batch at once (forward, backward,
#: per-sample gradients), so a larger one only exhausts memory
MAX_BATCH_SIZE = 4096


class BatchNoteWarning(UserWarning):
    """The batch was used differently from how it was given (resized, or shorter than asked)."""


def check_batch_size(batch_size: Any) -> int:
    """``batch_size`` must be an int in ``[2, MAX_BATCH_SIZE]``.

    Examples
    --------
    >>> check_batch_size(64)
    64
    >>> check_batch_size(10**9)
    Traceback (most recent call last):
    ...
    ValueError: batch_size must be an int in [2, 4096], got 1000000000
    """
    ok = isinstance(batch_size, numbers.Integral) and not isinstance(batch_size, bool)
    if not ok or not 2 <= batch_size <= MAX_BATCH_SIZE:
        raise ValueError(f"batch_size must be an int in [2, {MAX_BATCH_SIZE}], got {batch_size!r}")
    return int(batch_size)


def check_labels(y: np.ndarray, what: str = "data y") -> np.ndarray:
    """Integer class labels as int64; any other dtype (floats included, even integral ones:
    a float array of labels is a mistake upstream) is refused, on every input path.

    Examples
    --------
    >>> check_labels(np.array([1, 2], np.int32)).tolist()
    [1, 2]
    >>> check_labels(np.array([3.5]))
    Traceback (most recent call last):
    ...
    TypeError: data y must hold integer class labels, got dtype float64 (e.g. 3.5)
    """
    y = np.asarray(y)
    if np.issubdtype(y.dtype, np.integer) and y.dtype != np.bool_:
        return y.astype(np.int64)
    example = f" (e.g. {y.ravel()[0].item()!r})" if y.size and y.dtype.kind in "fc" else ""
    raise TypeError(f"{what} must hold integer class labels, got dtype {y.dtype}{example}")


def check_short_batch(n: int, batch_size: int, source: str) -> None:
    """A batch with fewer samples than ``batch_size`` is used with a note (never silently).

    The proxies are computed on the samples there are; their values depend on the batch
    size, so compare scores only across batches of one size.
    """
    if n < batch_size:
        warnings.warn(
            f"{source} holds {n} samples, fewer than batch_size={batch_size}: the proxies are "
            f"computed on {n} (pass batch_size={n} to say so, or give more samples)",
            BatchNoteWarning,
            stacklevel=user_stacklevel(),
        )


#: native image size of the datasets an ``.npz`` file name can name (no note at that size)
NATIVE_SIZE = {"cifar10": (32, 32), "cifar100": (32, 32), "imagenet16": (16, 16)}


def fit_image_size(
    x: np.ndarray,
    target: tuple[int, int] | None,
    explicit: bool,
    source: str,
    dataset: str | None = None,
) -> np.ndarray:
    """Images of an array batch against the networks' input size ``(H, W)``.

    ``explicit`` (``input_shape`` given): images of another size are resized to it, bilinear
    and antialiased, exactly as a Dataset's images are, with a note. Otherwise (``target`` is
    the space's default size, and spaces such as NAS-Bench-201 also take other sizes, e.g.
    16x16 ImageNet16-120) the images are used as they are, with a note naming the size and
    how to resize them, unless it is the native size of the named ``dataset``.
    """
    if target is None or x.ndim != 4 or tuple(x.shape[-2:]) == tuple(target):
        return x
    if not explicit and dataset is not None and NATIVE_SIZE.get(dataset) == x.shape[-2:]:
        return x
    size = f"{x.shape[-2]}x{x.shape[-1]}"
    want = f"{target[0]}x{target[1]}"
    if not explicit:
        warnings.warn(
            f"{source}: images are {size}, the space's networks default to {want}; they are "
            f"used at {size} (pass input_shape=(C, {target[0]}, {target[1]}) to resize them "
            "as a Dataset's images are)",
            BatchNoteWarning,
            stacklevel=user_stacklevel(),
        )
        return x
    import torch
    import torch.nn.functional as F

    resized = F.interpolate(
        torch.as_tensor(x), size=tuple(target), mode="bilinear", antialias=True,
        align_corners=False,
    ).numpy()  # fmt: skip
    warnings.warn(
        f"{source}: images resized from {size} to {want} (input_shape), as a Dataset's are",
        BatchNoteWarning,
        stacklevel=user_stacklevel(),
    )
    return resized.astype(x.dtype, copy=False)


def _one_of(values: tuple[Any, ...]) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, str) and v in values


def _int_at_least(low: int) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= low


def _positive_real(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and np.isfinite(v) and v > 0


def _real(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and bool(np.isfinite(v))


def _bool(v: Any) -> bool:
    return isinstance(v, (bool, np.bool_))


def _option_rules() -> dict[str, tuple[Callable[[Any], bool], str]]:
    """Accepted values of the options the passes and proxies read, taken from the modules
    that read them (their own tuples of modes), so the two cannot drift apart."""
    from libranas.proxies._engine import PER_SAMPLE_IMPLS, PER_SAMPLE_MODES
    from libranas.proxies.aznas import AZ_INPUTS
    from libranas.proxies.vkdnw import VKDNW_BN_MODES

    return {
        "per_sample": (_one_of(PER_SAMPLE_MODES), f"one of {PER_SAMPLE_MODES}"),
        "per_sample_impl": (_one_of(PER_SAMPLE_IMPLS), f"one of {PER_SAMPLE_IMPLS}"),
        "per_sample_chunk": (_int_at_least(1), "an int >= 1"),
        "per_sample_splits": (_int_at_least(2), "an int >= 2"),
        "features_samples": (_int_at_least(1), "an int >= 1"),
        "az_input": (_one_of(AZ_INPUTS), f"one of {AZ_INPUTS}"),
        "vkdnw_bn": (_one_of(VKDNW_BN_MODES), f"one of {VKDNW_BN_MODES}"),
        "zen_alpha": (_positive_real, "a real number > 0"),
        "zen_repeat": (_int_at_least(1), "an int >= 1"),
        "reg_swap_mu": (_real, "a finite real number"),
        "reg_swap_sigma": (_positive_real, "a real number > 0"),
        "synflow_log": (_bool, "True or False"),
        "flops_bias": (_bool, "True or False"),
    }


def check_option_values(options: Mapping[str, Any] | None) -> None:
    """Refuse an option value the pass or proxy reading it would reject on every network
    (which would turn every score NaN), before anything is computed.

    Examples
    --------
    >>> check_option_values({"per_sample": "chunks", "per_sample_splits": 4})
    >>> check_option_values({"per_sample": "nope"})
    Traceback (most recent call last):
    ...
    ValueError: options['per_sample'] must be one of ('exact', 'loop', 'chunks'), got 'nope'
    """
    if not options:
        return
    rules = _option_rules()
    for key, value in options.items():
        rule = rules.get(key)
        if rule is not None and not rule[0](value):
            raise ValueError(f"options[{key!r}] must be {rule[1]}, got {value!r}")
