"""Resource constraints of a search: maximum parameters, FLOPs, latency.

Constraints are checked *before* an architecture is scored: a search never scores, stores or
returns an architecture that violates them. An unsatisfiable constraint is an error at the
start of the search, not an empty result.

Units
-----
- ``max_params``: millions of parameters (``6.0`` = 6M), as the space's analytic
  ``param_count`` counts them (NB201: exactly NATS-Bench's counts for the dataset's network).
- ``max_flops``: millions of multiply-accumulates (MFLOPs) of one forward of one image,
  counted on Conv2d and Linear layers without bias additions (the rule of the ``flops`` proxy);
  NB201: :func:`nb201_mflops`, at 32x32 (CIFAR) or 16x16 (ImageNet16-120).
- ``max_latency``: milliseconds on a HW-NAS-Bench ``device`` (NB201 only; from the bundled
  HW-NAS-Bench table, per dataset).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = [
    "HW_DEVICES",
    "NB201_DATASETS",
    "Constraints",
    "metric_functions",
    "nb201_mflops",
    "resolve_constraints",
]

#: HW-NAS-Bench devices with a latency column in the bundled NB201 table
HW_DEVICES = ("edgegpu", "raspi4", "edgetpu", "pixel3", "eyeriss", "fpga")
#: NB201 dataset name -> (classes, input resolution, dataset key of the bundled table columns)
NB201_DATASETS = {
    "cifar10": (10, 32, "cifar10"),
    "cifar100": (100, 32, "cifar100"),
    "imagenet16-120": (120, 16, "ImageNet16-120"),
}


def _nb201_dataset(dataset: str) -> tuple[int, int, str]:
    key = dataset.lower() if isinstance(dataset, str) else dataset
    if key not in NB201_DATASETS:
        raise ValueError(f"unknown NB201 dataset {dataset!r}; known: {sorted(NB201_DATASETS)}")
    return NB201_DATASETS[key]


def nb201_mflops(arch: Any, dataset: str = "cifar10", channels: int = 16, cells: int = 5) -> float:
    """Millions of multiply-accumulates of the NB201 network of ``arch`` on one image.

    Conv2d and Linear layers only, no bias additions (the ``flops`` proxy's rule): the stem
    3x3 convolution, every ``nor_conv_3x3`` / ``nor_conv_1x1`` of the 3 x ``cells`` cells, the
    two residual reduction blocks and the classifier. Pooling, skip and ``none`` edges cost
    nothing.

    Examples
    --------
    >>> round(nb201_mflops("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"), 4)
    7.783
    >>> a = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    >>> round(nb201_mflops(a), 2)
    220.12
    """  # noqa: E501
    from libranas.spaces.nb201 import NB201Space

    classes, res, _ = _nb201_dataset(dataset)
    ops = NB201Space().to_ops(arch)
    n3, n1 = ops.count("nor_conv_3x3"), ops.count("nor_conv_1x1")
    c, h = channels, res
    total = 9 * 3 * c * h * h  # stem
    for stage in range(3):
        if stage > 0:  # reduction: 3x3 stride 2, 3x3, 1x1 shortcut at the halved resolution
            h //= 2
            total += 9 * c * 2 * c * h * h + 9 * (2 * c) ** 2 * h * h + c * 2 * c * h * h
            c *= 2
        total += cells * (n3 * 9 + n1) * c * c * h * h
    total += c * classes
    return total / 1e6


def _check_limit(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number or None, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return float(value)


def metric_functions(
    space: Any, metrics: list[str], dataset: str = "cifar10", device: str | None = None
) -> dict[str, Callable[[list], np.ndarray]]:
    """Functions ``list_of_archs -> array`` for each of ``metrics`` in ``space``.

    ``"params"`` (millions), ``"flops"`` (MFLOPs), ``"latency"`` (ms on a HW-NAS-Bench
    ``device``, NB201 only); see the module notes for the units. A metric the space cannot
    measure is a ``ValueError``.

    Examples
    --------
    >>> from libranas.spaces import get_space
    >>> fns = metric_functions(get_space("nb201"), ["params", "latency"], device="edgegpu")
    >>> [round(float(v), 4) for v in fns["params"]([1])], [round(float(v), 2) for v in fns["latency"]([1])]
    ([0.8024], [6.55])
    """  # noqa: E501
    unknown = [m for m in metrics if m not in ("params", "flops", "latency")]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; known: params, flops, latency")
    if device is not None and device not in HW_DEVICES:
        raise ValueError(f"unknown HW-NAS-Bench device {device!r}; known: {HW_DEVICES}")
    if "latency" in metrics and device is None:
        raise ValueError(f"latency needs a HW-NAS-Bench device (one of {HW_DEVICES})")
    name = getattr(space, "name", "")
    funcs: dict[str, Callable[[list], np.ndarray]] = {}
    if name == "nb201":
        classes, _, key = _nb201_dataset(dataset)
        if "params" in metrics:
            funcs["params"] = lambda archs: np.array(
                [space.param_count(a, classes) / 1e6 for a in archs], dtype=float
            )
        if "flops" in metrics:
            funcs["flops"] = lambda archs: np.array(
                [nb201_mflops(a, dataset, space.channels, space.cells_per_stage) for a in archs],
                dtype=float,
            )
        if "latency" in metrics:
            from libranas.datasets import load_nb201_table

            table = load_nb201_table()[f"hw_{key}_{device}_latency"].to_numpy(dtype=float)
            funcs["latency"] = lambda archs: table[[space.to_index(a) for a in archs]]
        return funcs
    if "latency" in metrics:
        raise ValueError(
            "latency is only available for the NB201 space (HW-NAS-Bench tables), "
            f"not for {name or type(space).__name__!r}"
        )
    for metric, method, scale in (("params", "param_count", 1e6), ("flops", "flops", 1.0)):
        if metric not in metrics:
            continue
        fn = getattr(space, method, None)
        if not callable(fn):
            raise ValueError(
                f"space {name or type(space).__name__!r} has no {method}() method, so its "
                f"{metric} cannot be measured"
            )
        funcs[metric] = lambda archs, fn=fn, scale=scale: np.array(
            [fn(a) / scale for a in archs], dtype=float
        )
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
        Milliseconds on ``device`` (HW-NAS-Bench, NB201 only).
    device : str, optional
        HW-NAS-Bench device of ``max_latency``: one of :data:`HW_DEVICES`.
    dataset : str, default="cifar10"
        NB201 dataset whose network is measured (``"cifar10"``, ``"cifar100"``,
        ``"imagenet16-120"``): classes, resolution and latency table differ. Other spaces
        ignore it.

    Attributes
    ----------
    space_ : SearchSpace
        The space the constraints were fitted to.
    minimums_ : dict of str to float
        Smallest value of each constrained metric over the space (exact for NB201, whose
        15,625 cells are enumerated; over the sampled architectures otherwise).

    Notes
    -----
    :meth:`fit` checks that at least one architecture satisfies all constraints together:
    for NB201 against every cell; for other spaces against the space's ``smallest()``
    architecture when it has one, else against ``n_check`` random architectures. If none
    does, it raises a ``ValueError`` that gives the smallest value found.

    A space provides the metrics through methods: ``param_count(arch)`` (parameters),
    ``flops(arch)`` (MFLOPs); NB201 also takes its ``dataset``. A constraint the space cannot
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

    def __init__(
        self,
        max_params: float | None = None,
        max_flops: float | None = None,
        max_latency: float | None = None,
        device: str | None = None,
        dataset: str = "cifar10",
        n_check: int = 2000,
    ) -> None:
        self.max_params = max_params
        self.max_flops = max_flops
        self.max_latency = max_latency
        self.device = device
        self.dataset = dataset
        self.n_check = n_check

    def __repr__(self) -> str:
        parts = [
            f"{k}={getattr(self, k)!r}"
            for k in ("max_params", "max_flops", "max_latency", "device")
            if getattr(self, k) is not None
        ]
        return f"Constraints({', '.join(parts + [f'dataset={self.dataset!r}'])})"

    def to_dict(self) -> dict[str, Any]:
        """The parameters, for storage and reports."""
        return {
            "max_params": self.max_params,
            "max_flops": self.max_flops,
            "max_latency": self.max_latency,
            "device": self.device,
            "dataset": self.dataset,
        }

    @property
    def active(self) -> bool:
        """Whether any bound is set."""
        return any(v is not None for v in (self.max_params, self.max_flops, self.max_latency))

    # ------------------------------------------------------------------ fitting
    def _metric_functions(
        self, space: Any
    ) -> dict[str, tuple[Callable[[list], np.ndarray], float]]:
        limits = {
            "params": _check_limit("max_params", self.max_params),
            "flops": _check_limit("max_flops", self.max_flops),
            "latency": _check_limit("max_latency", self.max_latency),
        }
        wanted = [m for m, v in limits.items() if v is not None]
        fns = metric_functions(space, wanted, dataset=self.dataset, device=self.device)
        return {m: (fns[m], limits[m]) for m in wanted}

    def fit(self, space: Any) -> Constraints:
        """Resolve the metric functions for ``space`` and check the constraints can be met.

        Raises
        ------
        ValueError
            Invalid bounds, unknown device/dataset, a metric the space cannot measure, or no
            architecture satisfying every constraint.
        """
        from libranas.spaces import get_space

        space = get_space(space)
        if isinstance(self.n_check, bool) or not isinstance(self.n_check, numbers.Integral):
            raise ValueError(f"n_check must be a positive int, got {self.n_check!r}")
        if self.n_check < 1:
            raise ValueError(f"n_check must be a positive int, got {self.n_check!r}")
        self.space_ = space
        self.funcs_ = self._metric_functions(space)
        self.minimums_: dict[str, float] = {}
        if not self.funcs_:
            return self
        if callable(getattr(space, "all_archs", None)):
            pool, where = space.all_archs(), "over all {n} architectures"
        else:
            pool = list(space.sample(int(self.n_check), random_state=0))
            smallest = getattr(space, "smallest", None)
            if callable(smallest):
                pool.insert(0, space.validate(smallest()))
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
                f"no architecture of space {getattr(space, 'name', space)!r} satisfies {bounds}: "
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
