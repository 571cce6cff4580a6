"""Scorers: list of architectures in, one fitness per architecture out (higher = better).

A search calls its scorer with a whole generation at once. Anything can be a scorer:

- a callable ``f(list_of_archs) -> scores``;
- any fitted object with ``predict(list_of_archs)`` (e.g. a scikit-learn Pipeline whose first
  step is a :class:`~libranas.featurizer.ProxyFeaturizer`);
- a :class:`TabularScorer`: proxies looked up in a bundled table, then a pipeline's
  ``predict`` (fast: no network is built);
- a :class:`LiveScorer`: proxies computed by a fitted pipeline's ProxyFeaturizer, cached per
  architecture, then the rest of the pipeline.

Both feature scorers cache each architecture's proxy row, so re-fitting the model on new
labels (:meth:`TabularScorer.fit`) and re-scoring old architectures never recomputes proxies;
``n_scored_`` counts the distinct architectures whose proxies were looked up or computed.

:func:`make_libra_pipeline` and :func:`calibrate_libra` build and fit the LIBRA pipeline
(LibraSelector + ZCRanker) on a few labelled architectures; the tables a tabular search reads
are in :mod:`libranas.datasets.nb201_search`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "LiveScorer",
    "TabularScorer",
    "as_scorer",
    "calibrate_libra",
    "make_libra_pipeline",
]


def _check_scores(scores: Any, n: int, who: str) -> np.ndarray:
    arr = np.asarray(scores, dtype=np.float64)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"{who} returned scores of shape {arr.shape} for {n} architectures")
    return arr


def as_scorer(scorer: Any) -> Callable[[list[Any]], np.ndarray]:
    """Turn ``scorer`` into a function ``list_of_archs -> float64 array``.

    Objects with ``predict`` are called through it (a fitted pipeline, a
    :class:`TabularScorer`); otherwise ``scorer`` must be callable. The returned function checks
    that one score per architecture comes back.

    Examples
    --------
    >>> f = as_scorer(lambda archs: [len(a) for a in archs])
    >>> f(["ab", "abc"])
    array([2., 3.])
    """
    if hasattr(scorer, "predict") and callable(scorer.predict):
        fn, who = scorer.predict, f"{type(scorer).__name__}.predict"
    elif callable(scorer):
        fn, who = scorer, getattr(scorer, "__name__", type(scorer).__name__)
    else:
        raise TypeError(
            "scorer must be callable (list of archs -> scores) or have a predict method, "
            f"got {type(scorer).__name__}"
        )

    def score(archs: list[Any]) -> np.ndarray:
        return _check_scores(fn(list(archs)), len(archs), who)

    return score


# =============================================================================== pipelines


def make_libra_pipeline(
    method: str = "xgboost",
    passthrough: Sequence[str] | None = None,
    random_state: Any = None,
    **ranker_params: Any,
) -> Any:
    """A LIBRA pipeline: :class:`~libranas.selector.LibraSelector` then
    :class:`~libranas.ranker.ZCRanker`, with pandas output between them.

    Parameters
    ----------
    method : str, default="xgboost"
        The ZCRanker method. Rank fusions (``"rank-mean"``, ``"log-rank"``) orient the proxies
        with ``signs="auto"``; learned methods use ``rank_transform=True`` (robust to the
        proxies' scales).
    passthrough : list of str, optional
        Columns that are not proxies (e.g. ``enc:...`` encoding columns): kept by the selector
        and fed to the ranker as they are.
    random_state : int or None
        Seed of the learned ranker.
    **ranker_params
        Further ZCRanker parameters.

    Examples
    --------
    >>> pipe = make_libra_pipeline("rank-mean")
    >>> [name for name, _ in pipe.steps]
    ['select', 'rank']
    """
    from sklearn.pipeline import Pipeline

    from libranas.ranker import TRAINING_FREE_METHODS, ZCRanker
    from libranas.selector import LibraSelector

    pt = list(passthrough) if passthrough else None
    params: dict[str, Any] = {"passthrough": pt, "random_state": random_state}
    if method in TRAINING_FREE_METHODS:
        params["signs"] = "auto"
    else:
        params["rank_transform"] = True
    params.update(ranker_params)
    pipe = Pipeline(
        [("select", LibraSelector(passthrough=pt)), ("rank", ZCRanker(method, **params))]
    )
    return pipe.set_output(transform="pandas")


class _FeatureScorer:
    """Shared machinery: per-architecture feature cache, model refit, counters."""

    def _init_state(self) -> None:
        self._cache: dict[Any, np.ndarray] = {}
        self.n_calls_ = 0
        self.seconds_ = 0.0

    @property
    def n_scored_(self) -> int:
        """Distinct architectures whose proxies were looked up / computed so far."""
        return len(self._cache)

    def _canonical(self, archs: Sequence[Any]) -> list[Any]:
        if isinstance(archs, (str, bytes)):
            raise TypeError(f"archs must be a list of architectures, got the string {archs!r}")
        return list(archs)

    def _compute(self, archs: list[Any]) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def features(self, archs: Sequence[Any]) -> pd.DataFrame:
        """The proxy rows of ``archs`` (cached; computed or looked up once per architecture)."""
        archs = self._canonical(archs)
        new = list(dict.fromkeys(a for a in archs if a not in self._cache))
        if new:
            rows = self._compute(new)
            for a, row in zip(new, rows, strict=True):
                self._cache[a] = row
        data = np.vstack([self._cache[a] for a in archs]) if archs else None
        return pd.DataFrame(
            data,
            columns=self.columns_,
            index=pd.Index(archs, dtype=object, tupleize_cols=False, name="arch"),
        )

    def fit(self, archs: Sequence[Any], y: Any = None) -> Any:
        """Fit the model on the features of ``archs``: labelled (targets ``y``), or, with
        ``y=None``, unsupervised (e.g. a training-free rank fusion learning its rank
        reference from these architectures).

        Its wall time counts in ``seconds_``: in live mode it computes the proxies of every
        architecture not seen before, often the first population of a search."""
        start = time.perf_counter()
        try:
            X = self.features(archs)
            if y is None:
                self._model().fit(X)
                return self
            y = np.asarray(y, dtype=np.float64)
            if len(y) != len(X):
                raise ValueError(f"{len(X)} architectures but {len(y)} labels")
            if not np.isfinite(y).all():
                raise ValueError("labels y contain NaN or inf")
            self._model().fit(X, y)
            return self
        finally:
            self.seconds_ += time.perf_counter() - start

    def __call__(self, archs: Sequence[Any]) -> np.ndarray:
        """Scores of ``archs`` (one model prediction over the whole list)."""
        start = time.perf_counter()
        X = self.features(archs)
        scores = (
            _check_scores(self._model().predict(X), len(X), type(self).__name__)
            if len(X)
            else np.empty(0)
        )
        self.n_calls_ += 1
        self.seconds_ += time.perf_counter() - start
        return scores

    predict = __call__


class TabularScorer(_FeatureScorer):
    """Score architectures from a benchmark table's proxy columns and a fitted pipeline.

    Parameters
    ----------
    benchmark : str or Benchmark
        A bundled benchmark name (:func:`libranas.datasets.list_benchmarks`), a search
        table name such as ``"nb201-search-cifar10"``
        (:func:`libranas.datasets.nb201_search.load_search_benchmark`), or a Benchmark.
    pipeline : estimator
        Anything with ``predict(DataFrame) -> scores`` (fitted, or fitted later with
        :meth:`fit`), e.g. :func:`make_libra_pipeline`.
    space : str or SearchSpace, optional
        The space of the table's architectures (default: the benchmark's). Architectures are
        canonicalised with it, so any accepted form can be scored.

    Attributes
    ----------
    benchmark_ : Benchmark
    columns_ : list of str
    n_scored_ : int
        Distinct architectures looked up so far.
    n_calls_ : int
        Calls to the scorer.
    seconds_ : float
        Wall time spent in :meth:`fit` and scoring calls (table look-ups, fits and
        predictions).

    Notes
    -----
    An architecture missing from the table is a ``ValueError`` naming it (no score is made
    up). The scores are the pipeline's; the table's accuracies are never read.

    Examples
    --------
    >>> from libranas.datasets.nb201_search import nb201_search_table
    >>> from libranas.search import TabularScorer, make_libra_pipeline
    >>> table = nb201_search_table("cifar10")
    >>> archs = table.archs[:200]
    >>> scorer = TabularScorer(table, make_libra_pipeline("rank-mean")).fit(archs, table.y[archs])
    >>> scorer(archs[:3]).shape
    (3,)
    """

    def __init__(self, benchmark: Any, pipeline: Any, space: Any = None) -> None:
        from libranas.datasets import Benchmark
        from libranas.datasets.nb201_search import load_search_benchmark
        from libranas.spaces import get_space

        if isinstance(benchmark, str):
            benchmark = load_search_benchmark(benchmark)
        if not isinstance(benchmark, Benchmark):
            raise TypeError(
                f"benchmark must be a name or a Benchmark, got {type(benchmark).__name__}"
            )
        if not (hasattr(pipeline, "predict") and callable(pipeline.predict)):
            raise TypeError(f"pipeline must have a predict method, got {type(pipeline).__name__}")
        self.benchmark = benchmark
        self.pipeline = pipeline
        self.space = space
        self.benchmark_ = benchmark
        self.space_ = get_space(space if space is not None else benchmark.space)
        canonical = [self.space_.validate(a) for a in benchmark.X.index]
        self._rows = {a: i for i, a in enumerate(canonical)}
        self._values = benchmark.X.to_numpy(dtype=np.float64)
        self.columns_ = list(benchmark.X.columns)
        self._init_state()

    def __repr__(self) -> str:
        return f"TabularScorer({self.benchmark_.name!r}, {self.pipeline!r})"

    def _canonical(self, archs: Sequence[Any]) -> list[Any]:
        return [self.space_.validate(a) for a in super()._canonical(archs)]

    def _compute(self, archs: list[Any]) -> np.ndarray:
        missing = [a for a in archs if a not in self._rows]
        if missing:
            raise ValueError(
                f"{len(missing)} architecture(s) not in table {self.benchmark_.name!r}, "
                f"e.g. {missing[0]!r}"
            )
        return self._values[[self._rows[a] for a in archs]]

    def _model(self) -> Any:
        return self.pipeline


class LiveScorer(_FeatureScorer):
    """Score architectures with a pipeline whose first step is a ProxyFeaturizer.

    The featurizer computes the proxies of each new architecture once (networks are built
    and scored live); the remaining steps (selector, ranker) predict from the cached rows, so
    they can be re-fitted (:meth:`fit`) without recomputing any proxy.

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline
        First step: a :class:`~libranas.featurizer.ProxyFeaturizer` (fitted, or fitted by
        :meth:`fit`); then any steps ending in a predictor.

    Attributes
    ----------
    columns_ : list of str
        The featurizer's proxies.
    n_scored_, n_calls_, seconds_
        As for :class:`TabularScorer`; ``seconds_`` includes the proxy computation.
    """

    def __init__(self, pipeline: Any) -> None:
        from sklearn.pipeline import Pipeline

        from libranas.featurizer import ProxyFeaturizer

        if not isinstance(pipeline, Pipeline) or len(pipeline.steps) < 2:
            raise TypeError("pipeline must be a sklearn Pipeline of at least two steps")
        if not isinstance(pipeline.steps[0][1], ProxyFeaturizer):
            raise TypeError(
                f"the first step of the pipeline must be a ProxyFeaturizer, got "
                f"{type(pipeline.steps[0][1]).__name__}"
            )
        self.pipeline = pipeline
        self._init_state()

    def __repr__(self) -> str:
        return f"LiveScorer({self.pipeline!r})"

    @property
    def featurizer(self) -> Any:
        return self.pipeline.steps[0][1]

    def _ensure_featurizer(self) -> None:
        feat = self.featurizer
        if not hasattr(feat, "proxies_"):
            feat.fit()
        self.columns_ = [str(c) for c in feat.get_feature_names_out()]

    def _canonical(self, archs: Sequence[Any]) -> list[Any]:
        self._ensure_featurizer()
        space = self.featurizer.space_
        return [space.validate(a) for a in super()._canonical(archs)]

    def _compute(self, archs: list[Any]) -> np.ndarray:
        return np.asarray(self.featurizer.transform(archs), dtype=np.float64)

    def _model(self) -> Any:
        return self.pipeline[1:]


def calibrate_libra(
    benchmark: Any,
    archs: Sequence[Any],
    y: Any,
    *,
    method: str = "xgboost",
    max_labelled: int | None = 100,
    random_state: Any = None,
    **ranker_params: Any,
) -> TabularScorer:
    """Fit a LIBRA pipeline on labelled architectures and return it as a TabularScorer.

    Parameters
    ----------
    benchmark : str or Benchmark
        The proxy table (see :class:`TabularScorer`); columns named ``enc:...`` are passed
        through the selector and the ranker as architecture encoding.
    archs : list
        The labelled architectures.
    y : array-like
        Their labels (validation accuracies).
    method : str, default="xgboost"
        ZCRanker method (see :func:`make_libra_pipeline`).
    max_labelled : int or None, default=100
        Refuse more labels than this (the search protocol's labelling budget); None: no limit.
    random_state : int or None
    **ranker_params
        Further ZCRanker parameters.

    Returns
    -------
    TabularScorer
        Fitted; ``scorer.pipeline[0].selected_`` lists the proxies LIBRA selected.

    Examples
    --------
    >>> from libranas.datasets.nb201_search import nb201_search_table
    >>> from libranas.search import calibrate_libra
    >>> table = nb201_search_table("cifar10", proxies="freerea", encoding=False)
    >>> labelled = table.archs[:100]
    >>> scorer = calibrate_libra(table, labelled, table.y[labelled], method="rank-mean")
    >>> len(scorer.pipeline[0].selected_) <= 3
    True
    """
    if max_labelled is not None and len(archs) > max_labelled:
        raise ValueError(f"{len(archs)} labelled architectures exceed max_labelled={max_labelled}")
    tab = TabularScorer(benchmark, make_libra_pipeline(method, random_state=random_state))
    encoding = [c for c in tab.columns_ if c.startswith("enc:")]
    tab.pipeline = make_libra_pipeline(
        method, passthrough=encoding or None, random_state=random_state, **ranker_params
    )
    return tab.fit(archs, y)
