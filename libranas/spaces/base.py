"""The interface every search space implements."""

from __future__ import annotations

import math
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


#: reg-SWAP's size prior of NAS-Bench-201 (millions of parameters), the default of every space
#: that does not derive its own (:meth:`SearchSpace.size_prior`)
NB201_SIZE_PRIOR: tuple[float, float] = (1.5, 1.5)


def size_prior_from_counts(counts: Any) -> tuple[float, float]:
    """reg-SWAP's ``(mu, sigma)`` (millions) derived from a sample of parameter counts.

    reg-SWAP multiplies SWAP by ``exp(-(Theta - mu)^2 / sigma)`` (Theta in millions). Its
    published values (``mu = sigma = 1.5``) sit at the top of NAS-Bench-201's size range
    (0.07-1.53 M), and the factor falls from 1 at the largest cell to about 1/4 at the
    smallest: it tilts the ranking towards large cells without deciding it. The same rule
    on any space: ``mu`` = the largest count, ``sigma = (mu - smallest)^2 / ln 4``, so the
    factor is 1 at the largest sampled network and 1/4 at the smallest (NAS-Bench-201's 200
    sampled cells give about (1.29, 1.07), near the published prior). The default
    (1.5, 1.5) applied to 5-10 M-parameter ViTs instead gives factors below 1e-3 that
    order the networks by inverted size alone.

    Parameters
    ----------
    counts : array-like of int
        Parameter counts (plain numbers, not millions) of sampled architectures; at least 2
        distinct values.

    Returns
    -------
    (float, float)
        ``(mu, sigma)`` in millions, as the ``reg_swap_mu`` / ``reg_swap_sigma`` options take.

    Examples
    --------
    >>> mu, sigma = size_prior_from_counts([5e6, 6e6, 7e6, 8e6, 9e6])
    >>> round(mu, 2), round(sigma, 2)
    (9.0, 11.54)
    """
    m = np.asarray(counts, dtype=np.float64).ravel() / 1e6
    if m.size < 2 or not np.isfinite(m).all() or (m <= 0).any():
        raise ValueError(
            f"size_prior_from_counts needs at least 2 positive, finite counts, got {m.size} values"
        )
    mu, low = float(m.max()), float(m.min())
    if mu == low:
        raise ValueError("size_prior_from_counts needs counts of at least 2 distinct sizes")
    return mu, (mu - low) ** 2 / math.log(4.0)


def _naming_missing_extra(build: Any) -> Any:
    """``build`` whose ImportError of an optional module (torch, timm) names the extra."""
    import functools

    if getattr(build, "_names_missing_extra", False):
        return build

    @functools.wraps(build)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return build(self, *args, **kwargs)
        except ImportError as exc:
            from libranas._optional import as_missing_extra

            missing = as_missing_extra(exc, f"{type(self).__name__}.build")
            if missing is None:
                raise
            raise missing from None

    wrapper._names_missing_extra = True
    return wrapper


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

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "build" in cls.__dict__:  # every space's build names the extra when torch is missing
            cls.build = _naming_missing_extra(cls.__dict__["build"])

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

    def size_prior(self) -> tuple[float, float]:
        """reg-SWAP's size prior ``(mu, sigma)`` in millions of parameters for this space.

        ``ProxyFeaturizer`` passes it to the ``reg_swap`` proxy unless ``options`` give
        ``reg_swap_mu`` / ``reg_swap_sigma``. This default is NAS-Bench-201's published prior
        :data:`NB201_SIZE_PRIOR` (1.5, 1.5); spaces of other sizes (the ViT spaces) derive
        theirs from their parameter distribution with :func:`size_prior_from_counts`, since
        at 5-10 M parameters the NB201 prior turns reg-SWAP into an inverted size ranking.
        """
        return NB201_SIZE_PRIOR

    def _sampled_size_prior(self, n: int = 200) -> tuple[float, float]:
        """:func:`size_prior_from_counts` over ``n`` architectures sampled with seed 0."""
        return size_prior_from_counts([self.param_count(a) for a in self.sample(n, random_state=0)])

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

    # ------------------------------------------------------------------ zero labels
    def training_free_default(self) -> tuple[str, ...] | None:
        """The proxies this space stores as its own training-free default, or None.

        :func:`libranas.proxies.training_free_default` falls back to the generic
        :data:`~libranas.proxies.TRAINING_FREE_DEFAULT` where a space stores none.
        """
        return None

    def training_free_options(self) -> dict[str, Any]:
        """ProxyFeaturizer settings the stored training-free default was measured with
        (e.g. ``{"lswag_band": None}``); empty where the space stores no default."""
        return {}

    def second_stage_proxy(self) -> str | None:
        """The proxy a label-free live search of this space computes on its top architectures
        by default, and whose best it returns (``search(second_stage="auto")``), or None
        where the space stores none (then a search returns the fusion's best)."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
