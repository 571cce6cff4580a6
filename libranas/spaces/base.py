"""The interface every search space implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np


def check_num_classes(num_classes: Any, default: int) -> int:
    """``num_classes`` as a positive int (``default`` when None); clear errors otherwise."""
    if num_classes is None:
        return int(default)
    if isinstance(num_classes, (bool, np.bool_)) or not isinstance(num_classes, (int, np.integer)):
        raise TypeError(f"num_classes must be an int, got {type(num_classes).__name__}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be positive, got {num_classes}")
    return int(num_classes)


class SearchSpace(ABC):
    """A family of architectures.

    Architectures are plain, picklable Python values (strings, tuples, dicts) so they
    can travel to worker processes; networks are built from them on demand.
    """

    #: registry name of the space
    name: str = ""
    #: shape of one input image ``(C, H, W)`` the networks expect by default (used when no
    #: data batch is given, e.g. to count FLOPs)
    default_input_shape: tuple[int, ...] | None = None

    @abstractmethod
    def validate(self, arch: Any) -> Any:
        """Return the canonical form of ``arch`` or raise ``ValueError`` naming the problem."""

    @abstractmethod
    def sample(self, n: int, random_state: Any = None) -> list[Any]:
        """Draw ``n`` architectures uniformly at random (canonical form)."""

    @abstractmethod
    def mutate(self, arch: Any, random_state: Any = None) -> Any:
        """Return a copy of ``arch`` with one random decision changed."""

    @abstractmethod
    def encode(self, arch: Any) -> np.ndarray:
        """Fixed-length float vector describing ``arch`` (one-hot style)."""

    @abstractmethod
    def build(self, arch: Any, num_classes: int | None = None) -> Any:
        """Build the untrained ``torch.nn.Module`` of ``arch``."""

    def encode_many(self, archs: list[Any]) -> np.ndarray:
        """Stack :meth:`encode` over ``archs`` into an ``(n, d)`` array."""
        return np.vstack([self.encode(a) for a in archs]) if archs else np.empty((0, 0))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
