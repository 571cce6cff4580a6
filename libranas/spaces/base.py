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

    def validate_many(self, archs: Any) -> list[Any]:
        """Canonical forms of a list of architectures (a list, tuple, array or pandas Index).

        Raises
        ------
        TypeError
            ``archs`` is None, a single string or not iterable.
        ValueError, TypeError
            An invalid architecture; the message gives its position and value.
        """
        if archs is None:
            raise TypeError("archs must be a list of architectures, got None")
        if isinstance(archs, (str, bytes)):
            raise TypeError(
                f"archs must be a list of architectures, got a single string {archs!r}; "
                "wrap it in a list"
            )
        if hasattr(archs, "tolist") and not isinstance(archs, np.ndarray):  # pandas
            archs = archs.tolist()
        if isinstance(archs, np.ndarray):
            archs = list(archs) if archs.ndim == 1 else [row for row in archs]
        try:
            archs = list(archs)
        except TypeError:
            raise TypeError(
                f"archs must be a list of architectures, got {type(archs).__name__}"
            ) from None
        canonical = []
        for i, arch in enumerate(archs):
            try:
                canonical.append(self.validate(arch))
            except (ValueError, TypeError) as exc:
                raise type(exc)(f"invalid architecture at index {i} ({arch!r}): {exc}") from exc
        return canonical

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
        if not archs:
            return np.empty((0, len(self.encoding_names())))
        return np.vstack([self.encode(a) for a in archs])

    def encoding_names(self) -> list[str]:
        """Names of the :meth:`encode` columns (``enc_0``, ... unless a space names them)."""
        width = len(self.encode(self.sample(1, random_state=0)[0]))
        return [f"enc_{k}" for k in range(width)]

    # ------------------------------------------------------------------ graph features
    def graph_features(self, arch: Any) -> np.ndarray:
        """Fixed-length float vector of graph features of ``arch`` (see ``spaces/_graph.py``).

        Named by :meth:`graph_feature_names`. Spaces without a graph view raise
        ``NotImplementedError``.
        """
        raise NotImplementedError(f"search space {self.name!r} defines no graph features")

    def graph_feature_names(self) -> list[str]:
        """Names of the :meth:`graph_features` columns."""
        raise NotImplementedError(f"search space {self.name!r} defines no graph features")

    def graph_features_many(self, archs: list[Any]) -> np.ndarray:
        """Stack :meth:`graph_features` over ``archs`` into an ``(n, d)`` array."""
        names = self.graph_feature_names()
        out = np.zeros((len(archs), len(names)), dtype=np.float64)
        for row, arch in enumerate(archs):
            out[row] = self.graph_features(arch)
        return out

    # ------------------------------------------------------------------ size
    def param_count(self, arch: Any, num_classes: int | None = None) -> int:
        """Parameters of :meth:`build` ``(arch, num_classes)``.

        This default builds the network and counts its parameters; spaces override it
        with an analytic count where one exists (no torch needed, much faster).
        """
        model = self.build(arch, num_classes=num_classes)
        return int(sum(p.numel() for p in model.parameters()))

    def flops(
        self,
        arch: Any,
        input_shape: tuple[int, ...] | None = None,
        num_classes: int | None = None,
    ) -> float:
        """Multiply-accumulates (millions) of one forward pass at ``input_shape``.

        Spaces with an analytic count override this; the default raises
        ``NotImplementedError`` (the ``flops`` proxy counts any built network).
        """
        raise NotImplementedError(f"search space {self.name!r} has no analytic FLOP count")

    # ------------------------------------------------------------------ tasks and hardware
    def task_setting(self, task: str) -> dict[str, Any]:
        """``{"num_classes": int, "input_shape": (C, H, W)}`` of the networks of a named task.

        Spaces whose benchmarks name tasks (NB201: ``"cifar10"``, ``"cifar100"``,
        ``"imagenet16-120"``) override this; the default knows no task and raises
        ``ValueError`` (callers use the space's own defaults when no task is given).
        """
        raise ValueError(f"search space {self.name!r} has no named tasks; got task={task!r}")

    def latency(self, archs: list[Any], device: str, task: str | None = None) -> np.ndarray:
        """Measured inference latency (milliseconds) of each of ``archs`` on ``device``.

        Only spaces with a hardware table implement it (NB201: HW-NAS-Bench); the default
        raises ``NotImplementedError``.
        """
        raise NotImplementedError(f"search space {self.name!r} has no latency table")

    # ------------------------------------------------------------------ Optuna
    def suggest(self, trial: Any) -> Any:
        """Draw an architecture through an Optuna ``trial`` (``trial.suggest_*`` calls).

        Every decision of the space is one categorical parameter, so any Optuna sampler can
        search it; :meth:`trial_params` is the inverse.
        """
        raise NotImplementedError(f"search space {self.name!r} defines no Optuna suggestion")

    def trial_params(self, arch: Any) -> dict[str, Any]:
        """The ``{param: value}`` a trial holds after :meth:`suggest` returned ``arch``.

        Used to enqueue known architectures and to tell a sampler about them.
        """
        raise NotImplementedError(f"search space {self.name!r} defines no Optuna suggestion")

    def trial_distributions(self, arch: Any) -> dict[str, Any]:
        """Optuna distributions of :meth:`trial_params` ``(arch)``, ``{param: distribution}``.

        With :meth:`trial_params` this is what ``optuna.trial.create_trial`` needs to tell a
        study about an architecture it did not suggest. The default makes every parameter
        categorical over :meth:`trial_choices`.
        """
        from optuna.distributions import CategoricalDistribution

        choices = self.trial_choices()
        return {k: CategoricalDistribution(choices[k]) for k in self.trial_params(arch)}

    def trial_choices(self) -> dict[str, tuple[Any, ...]]:
        """``{param: choices}`` of every categorical parameter :meth:`suggest` may draw."""
        raise NotImplementedError(f"search space {self.name!r} defines no Optuna suggestion")

    # ------------------------------------------------------------------ L-SWAG
    def lswag_band(self) -> tuple[float, float] | None:
        """The L-SWAG layer band stored for this space and setting, or None when none is.

        ``ProxyFeaturizer(lswag_band="stored")`` uses it instead of calibrating.
        """
        return None

    def lswag_profile(self) -> np.ndarray | None:
        """The calibration profile the stored band was chosen from, or None."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
