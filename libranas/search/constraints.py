"""Resource constraints and cost metrics of a search: parameters, FLOPs, latency.

Constraints are checked *before* an architecture is scored: a search never scores, stores or
returns an architecture that violates them. An unsatisfiable constraint is an error at the
start of the search, not an empty result. The same metrics serve as extra objectives of a
multi-objective search.

Every metric comes from the search space, so any space works with the metrics it can measure
(nothing here knows a space by name):

- ``params`` (``max_params``): millions of parameters, :meth:`SearchSpace.param_count`
  (analytic in NB201, DARTS and AutoFormer; NB201 counts exactly NATS-Bench's networks);
- ``flops`` (``max_flops``): millions of multiply-accumulates of one forward of one image,
  :meth:`SearchSpace.flops` where the space has an analytic count (NB201), otherwise counted on
  the built network (Conv2d and Linear layers without bias additions: the rule of the ``flops``
  proxy, :func:`libranas.proxies.size.count_macs`; needs torch and is much slower);
- ``latency`` (``max_latency``): milliseconds on a hardware ``device``,
  :meth:`SearchSpace.latency` (NB201: HW-NAS-Bench's table, devices
  :data:`~libranas.datasets.nb201_search.HW_DEVICES`); a space without a latency table refuses
  it with a ``ValueError``.

``task`` names the setting the networks are measured in (classes and input resolution),
through :meth:`SearchSpace.task_setting`; None uses the space's defaults.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from libranas._warnings import user_stacklevel

__all__ = ["METRICS", "Constraints", "metric_functions", "resolve_constraints"]

#: the metrics a constraint or an extra objective may name
METRICS = ("params", "flops", "latency")


def _check_limit(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number or None, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return float(value)


def _space_name(space: Any) -> str:
    return getattr(space, "name", "") or type(space).__name__


class _Params:
    """Millions of parameters (:meth:`SearchSpace.param_count`)."""

    analytic = True

    def __init__(self, space: Any, num_classes: int | None) -> None:
        self.space, self.kwargs = space, {} if num_classes is None else {"num_classes": num_classes}

    def __call__(self, archs: list[Any]) -> np.ndarray:
        return np.array([self.space.param_count(a, **self.kwargs) / 1e6 for a in archs], float)


class _Flops:
    """MFLOPs: the space's analytic count, else counted on the built network (cached)."""

    def __init__(self, space: Any, input_shape: Any, num_classes: int | None) -> None:
        self.space = space
        self.input_shape = tuple(input_shape) if input_shape is not None else None
        self.num_classes = num_classes
        self._counted: dict[Any, float] = {}
        probe = space.validate(space.sample(1, random_state=0)[0])
        try:
            self._analytic(probe)
            self.analytic = True
        except NotImplementedError:
            self.analytic = False
            if self.input_shape is None:
                self.input_shape = getattr(space, "default_input_shape", None)
            if self.input_shape is None:
                raise ValueError(
                    f"space {_space_name(space)!r} has no analytic FLOP count and no "
                    "default_input_shape to count them at; give a task"
                ) from None

    def _analytic(self, arch: Any) -> float:
        kwargs: dict[str, Any] = {}
        if self.input_shape is not None:
            kwargs["input_shape"] = self.input_shape
        if self.num_classes is not None:
            kwargs["num_classes"] = self.num_classes
        return float(self.space.flops(arch, **kwargs))

    def _count(self, arch: Any) -> float:
        if arch not in self._counted:
            import torch

            from libranas.proxies.size import count_macs

            net = self.space.build(arch, num_classes=self.num_classes)
            x = torch.zeros(1, *self.input_shape)
            self._counted[arch] = count_macs(net, x, bias=False) / 1e6
        return self._counted[arch]

    def __call__(self, archs: list[Any]) -> np.ndarray:
        fn = self._analytic if self.analytic else self._count
        return np.array([fn(a) for a in archs], dtype=float)


class _Latency:
    """Milliseconds on ``device`` (:meth:`SearchSpace.latency`)."""

    analytic = True

    def __init__(self, space: Any, device: str | None, task: str | None) -> None:
        self.space, self.device, self.task = space, device, task
        try:
            self([])  # the space checks the device now, not in the middle of a search
        except NotImplementedError:
            raise ValueError(
                f"space {_space_name(space)!r} has no latency table, so it cannot be "
                "constrained or optimised for latency (max_latency / the latency objective)"
            ) from None

    def __call__(self, archs: list[Any]) -> np.ndarray:
        values = self.space.latency(list(archs), self.device, self.task)
        return np.asarray(values, dtype=float)


def metric_functions(
    space: Any, metrics: list[str], task: str | None = None, device: str | None = None
) -> dict[str, Callable[[list], np.ndarray]]:
    """Functions ``list_of_archs -> array`` for each of ``metrics`` in ``space``.

    ``"params"`` (millions), ``"flops"`` (MFLOPs), ``"latency"`` (ms on ``device``); see the
    module notes for the units and where each comes from. A metric the space cannot measure
    is a ``ValueError``. Each function has an ``analytic`` attribute: False when it builds
    networks (FLOPs counted on a network).

    Examples
    --------
    >>> from libranas.spaces import get_space
    >>> fns = metric_functions(get_space("nb201"), ["params", "latency"], device="edgegpu")
    >>> [round(float(v), 4) for v in fns["params"]([1])], [round(float(v), 2) for v in fns["latency"]([1])]
    ([0.8024], [6.55])
    """  # noqa: E501
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; known: {', '.join(METRICS)}")
    setting = space.task_setting(task) if task is not None else {}
    classes, shape = setting.get("num_classes"), setting.get("input_shape")
    funcs: dict[str, Callable[[list], np.ndarray]] = {}
    if "params" in metrics:
        funcs["params"] = _Params(space, classes)
    if "flops" in metrics:
        funcs["flops"] = _Flops(space, shape, classes)
    if "latency" in metrics:
        funcs["latency"] = _Latency(space, device, task)
    return funcs


class Constraints:
    """Upper bounds on the size and cost of the architectures a search may return.

    Parameters
    ----------
    max_params : float, optional
        Millions of parameters.
    max_flops : float, optional
        Millions of multiply-accumulates of one image (see the module notes).
    max_latency : float, optional
        Milliseconds on ``device`` (spaces with a latency table: NB201's HW-NAS-Bench).
    device : str, optional
        Hardware device of ``max_latency`` (NB201: one of
        :data:`~libranas.datasets.nb201_search.HW_DEVICES`).
    task : str, optional
        The task whose network is measured (:meth:`SearchSpace.task_setting`; NB201:
        ``"cifar10"``, ``"cifar100"``, ``"imagenet16-120"``: classes, resolution and latency
        table differ). None: the space's defaults.
    n_check : int, default=2000
        Random architectures the satisfiability check of :meth:`fit` looks at (spaces that
        cannot be enumerated).
    dataset : str, optional
        Deprecated name of ``task``.

    Attributes
    ----------
    space_ : SearchSpace
        The space the constraints were fitted to.
    minimums_ : dict of str to float
        Smallest value of each constrained metric over the checked architectures (exact for
        spaces that enumerate their architectures with ``all_archs()``, such as NB201).

    Notes
    -----
    :meth:`fit` checks that at least one architecture satisfies all constraints together:
    against every architecture of a space with ``all_archs()``, else against ``n_check``
    random ones (at most 50 when FLOPs must be counted on built networks). If none does, it
    raises a ``ValueError`` that gives the smallest value found. A constraint the space cannot
    measure is a ``ValueError`` at :meth:`fit`.

    Examples
    --------
    >>> from libranas.spaces import get_space
    >>> c = Constraints(max_params=0.5, max_latency=5.0, device="pixel3").fit(get_space("nb201"))
    >>> c.mask(["|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", 1]).tolist()
    [True, False]
    >>> Constraints(max_params=0.01).fit(get_space("nb201"))
    Traceback (most recent call last):
    ...
    ValueError: no architecture of space 'nb201' satisfies max_params=0.01: the smallest params is 0.073306 (over all 15625 architectures)
    """  # noqa: E501

    #: largest pool of the satisfiability check when a metric builds networks
    N_CHECK_BUILT = 50

    def __init__(
        self,
        max_params: float | None = None,
        max_flops: float | None = None,
        max_latency: float | None = None,
        device: str | None = None,
        task: str | None = None,
        n_check: int = 2000,
        dataset: str | None = None,
    ) -> None:
        self.max_params = max_params
        self.max_flops = max_flops
        self.max_latency = max_latency
        self.device = device
        self.task = task
        self.n_check = n_check
        self.dataset = dataset

    def __repr__(self) -> str:
        parts = [
            f"{k}={getattr(self, k)!r}"
            for k in ("max_params", "max_flops", "max_latency", "device", "task")
            if getattr(self, k) is not None
        ]
        return f"Constraints({', '.join(parts)})"

    def _task(self) -> str | None:
        if self.dataset is None:
            return self.task
        if self.task is not None and self.task != self.dataset:
            raise ValueError(f"task={self.task!r} and dataset={self.dataset!r} disagree")
        warnings.warn(
            "Constraints(dataset=...) is deprecated; use task=...",
            FutureWarning,
            stacklevel=user_stacklevel(),
        )
        return self.dataset

    def to_dict(self) -> dict[str, Any]:
        """The parameters, for storage and reports."""
        return {
            "max_params": self.max_params,
            "max_flops": self.max_flops,
            "max_latency": self.max_latency,
            "device": self.device,
            "task": self._task(),
        }

    @property
    def active(self) -> bool:
        """Whether any bound is set."""
        return any(v is not None for v in (self.max_params, self.max_flops, self.max_latency))

    # ------------------------------------------------------------------ fitting
    def fit(self, space: Any) -> Constraints:
        """Resolve the metric functions for ``space`` and check the constraints can be met.

        Raises
        ------
        ValueError
            Invalid bounds, unknown device/task, a metric the space cannot measure, or no
            architecture satisfying every constraint.
        """
        from libranas._validation import check_int
        from libranas.spaces import get_space

        space = get_space(space)
        try:
            check_int(self.n_check, "n_check", low=1)
        except TypeError as exc:
            raise ValueError(str(exc)) from None
        limits = {
            "params": _check_limit("max_params", self.max_params),
            "flops": _check_limit("max_flops", self.max_flops),
            "latency": _check_limit("max_latency", self.max_latency),
        }
        wanted = [m for m, v in limits.items() if v is not None]
        fns = metric_functions(space, wanted, task=self._task(), device=self.device)
        self.space_ = space
        self.funcs_ = {m: (fns[m], limits[m]) for m in wanted}
        self.minimums_: dict[str, float] = {}
        if not self.funcs_:
            return self
        if callable(getattr(space, "all_archs", None)):
            pool, where = space.all_archs(), "over all {n} architectures"
        else:
            n = int(self.n_check)
            if not all(getattr(fn, "analytic", True) for fn in fns.values()):
                n = min(n, self.N_CHECK_BUILT)
            pool = list(space.sample(n, random_state=0))
            where = "over {n} sampled architectures"
        values = {m: fn(pool) for m, (fn, _) in self.funcs_.items()}
        ok = np.ones(len(pool), dtype=bool)
        for metric, (_, limit) in self.funcs_.items():
            self.minimums_[metric] = float(np.nanmin(values[metric]))
            ok &= values[metric] <= limit
        if not ok.any():
            bounds = ", ".join(f"max_{m}={getattr(self, 'max_' + m)!r}" for m in self.funcs_)
            smallest_txt = "; ".join(
                f"the smallest {m} is {self.minimums_[m]:.6g}" for m in self.funcs_
            )
            raise ValueError(
                f"no architecture of space {_space_name(space)!r} satisfies {bounds}: "
                f"{smallest_txt} ({where.format(n=len(pool))})"
            )
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "funcs_"):
            raise RuntimeError("Constraints are not fitted: call fit(space) first")

    def metrics(self, archs: list[Any]) -> dict[str, np.ndarray]:
        """The constrained metrics of ``archs`` (one array per constraint)."""
        self._check_fitted()
        archs = list(archs)
        return {m: fn(archs) for m, (fn, _) in self.funcs_.items()}

    def mask(self, archs: list[Any]) -> np.ndarray:
        """Boolean array: True where an architecture satisfies every constraint."""
        self._check_fitted()
        archs = list(archs)
        ok = np.ones(len(archs), dtype=bool)
        if not archs:
            return ok
        for metric, values in self.metrics(archs).items():
            ok &= values <= self.funcs_[metric][1]
        return ok


def resolve_constraints(constraints: Any, space: Any) -> Constraints | None:
    """Fitted :class:`Constraints` from None, a Constraints or a dict of its arguments.

    Returns None when no bound is set.

    Examples
    --------
    >>> resolve_constraints({"max_params": 1.0}, "nb201").minimums_
    {'params': 0.073306}
    >>> resolve_constraints(None, "nb201") is None
    True
    """
    if constraints is None:
        return None
    if isinstance(constraints, dict):
        constraints = Constraints(**constraints)
    if not isinstance(constraints, Constraints):
        raise TypeError(
            f"constraints must be None, a Constraints or a dict, got {type(constraints).__name__}"
        )
    return constraints.fit(space) if constraints.active else None
