"""Rank metrics for zero-shot NAS and their scikit-learn scorers.

Every metric takes ``(y_true, y_score)``: the true accuracies and a predicted score where
bigger means predicted better (a zero-cost proxy, or a ranker's ``predict`` output), and
returns a float.

scikit-learn's ``get_scorer`` only knows its own names, and (as of scikit-learn 1.9) there is
no public way to register new scorer names, so ``scoring="spearman"`` does not work. Pass the
scorer objects instead::

    from sklearn.model_selection import cross_val_score, cross_validate
    from libranas.metrics import get_scorer, get_scorers

    cross_val_score(pipe, X, y, scoring=get_scorer("spearman"))
    cross_validate(pipe, X, y, scoring=get_scorers(["spearman", "kendall", "regret"]))

:func:`get_scorer` falls back to :func:`sklearn.metrics.get_scorer` for other names, so
``get_scorer("r2")`` works too.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from scipy import stats
from sklearn.metrics import get_scorer as _sk_get_scorer
from sklearn.metrics import make_scorer, ndcg_score

from libranas._validation import rank_correlation
from libranas._warnings import user_stacklevel

__all__ = [
    "spearman",
    "kendall",
    "weighted_tau",
    "top_k_precision",
    "regret",
    "ndcg_at_k",
    "SCORERS",
    "get_scorer",
    "get_scorers",
]


def _check_pair(y_true: Any, y_score: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate two 1-D, finite, equally long inputs with at least 2 items."""
    arrays = []
    for name, arr in (("y_true", y_true), ("y_score", y_score)):
        try:
            a = np.asarray(arr, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name} must be numeric: {exc}") from exc
        if a.ndim == 2 and a.shape[1] == 1:
            a = a[:, 0]
        if a.ndim != 1:
            raise ValueError(
                f"{name} must be 1-D (one value per architecture), got shape {a.shape}"
            )
        if not np.isfinite(a).all():
            bad = int((~np.isfinite(a)).sum())
            raise ValueError(f"{name} contains {bad} NaN or infinite value(s)")
        arrays.append(a)
    t, s = arrays
    if t.shape[0] != s.shape[0]:
        raise ValueError(f"y_true and y_score have different lengths: {t.shape[0]} != {s.shape[0]}")
    if t.shape[0] < 2:
        raise ValueError(f"rank metrics need at least 2 architectures, got {t.shape[0]}")
    return t, s


def _warn_if_constant(t: np.ndarray, s: np.ndarray) -> None:
    """scipy's ConstantInputWarning for a constant input: the correlation is undefined (NaN)."""
    if np.ptp(t) == 0 or np.ptp(s) == 0:
        warnings.warn(
            "an input is constant: the rank correlation is undefined (NaN)",
            stats.ConstantInputWarning,
            stacklevel=user_stacklevel(),
        )


def _resolve_k(k: float | int, n: int) -> int:
    """A fraction in (0, 1) -> ceil(k * n) (at least 1); an int >= 1 -> that count."""
    if isinstance(k, bool) or not isinstance(k, numbers.Real):
        raise TypeError(f"k must be a fraction in (0, 1) or a count >= 1, got {k!r}")
    if isinstance(k, numbers.Integral):
        if not 1 <= k <= n:
            raise ValueError(f"k={k} must be between 1 and the number of architectures ({n})")
        return int(k)
    if not 0 < k < 1:
        raise ValueError(f"a fractional k must be in (0, 1), got {k!r}; pass an int for a count")
    # round first so that 0.1 * 30 = 3.0000000000000004 gives 3, not 4
    return max(1, math.ceil(round(k * n, 9)))


def spearman(y_true: Any, y_score: Any) -> float:
    """Spearman rank correlation between true accuracies and predicted scores.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True accuracies.
    y_score : array-like of shape (n,)
        Predicted scores, bigger = better.

    Returns
    -------
    float
        rho in [-1, 1]; NaN (with scipy's ``ConstantInputWarning``) when either input is
        constant, since the correlation is then undefined.

    Examples
    --------
    >>> round(spearman([1, 2, 3, 4], [10, 20, 40, 30]), 4)
    0.8
    """
    t, s = _check_pair(y_true, y_score)
    _warn_if_constant(t, s)
    return rank_correlation(t, s, method="spearman")


def kendall(y_true: Any, y_score: Any) -> float:
    """Kendall tau-b between true accuracies and predicted scores.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True accuracies.
    y_score : array-like of shape (n,)
        Predicted scores, bigger = better.

    Returns
    -------
    float
        tau-b in [-1, 1] (ties corrected); NaN when either input is constant.

    Examples
    --------
    >>> round(kendall([1, 2, 3, 4], [10, 20, 40, 30]), 4)
    0.6667
    """
    t, s = _check_pair(y_true, y_score)
    return rank_correlation(t, s, method="kendall")


def weighted_tau(y_true: Any, y_score: Any) -> float:
    """Weighted Kendall tau with weights given by the predicted ranking.

    :func:`scipy.stats.weightedtau` with its default hyperbolic weigher ``1 / (r + 1)`` and
    additive weighting, where ``r`` is the 0-based rank of an architecture by **predicted
    score** (best score -> rank 0). Exchanges among the architectures the predictor puts on
    top therefore count most. Tied scores share the same (minimum) rank, so ties are not
    broken by the true values.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True accuracies.
    y_score : array-like of shape (n,)
        Predicted scores, bigger = better.

    Returns
    -------
    float
        Weighted tau in [-1, 1].

    Examples
    --------
    >>> round(weighted_tau([1, 2, 3, 4], [1, 2, 3, 4]), 4)
    1.0
    >>> round(weighted_tau([1, 2, 3, 4], [4, 3, 2, 1]), 4)
    -1.0
    """
    t, s = _check_pair(y_true, y_score)
    rank = (stats.rankdata(-s, method="min") - 1).astype(np.intp)
    return float(stats.weightedtau(s, t, rank=rank).statistic)


def _top_indices(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest values; ties go to the earlier position."""
    return np.argsort(-values, kind="stable")[:k]


def top_k_precision(y_true: Any, y_score: Any, k: float | int = 0.1) -> float:
    """Fraction of the true top-k architectures found among the predicted top-k.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True accuracies.
    y_score : array-like of shape (n,)
        Predicted scores, bigger = better.
    k : float or int, default=0.1
        A float in (0, 1) is a fraction of n (``ceil(k * n)``, at least 1); an int is a count.

    Returns
    -------
    float
        ``|true top-k & predicted top-k| / k`` in [0, 1]. Ties at the k-th place (in either
        ranking) are broken by input order.

    Examples
    --------
    >>> top_k_precision([1, 2, 3, 4], [4, 3, 2, 1], k=2)
    0.0
    >>> top_k_precision([1, 2, 3, 4, 5], [1, 2, 3, 5, 4], k=2)
    1.0
    """
    t, s = _check_pair(y_true, y_score)
    kk = _resolve_k(k, t.shape[0])
    hits = np.intersect1d(_top_indices(t, kk), _top_indices(s, kk)).size
    return hits / kk


def regret(y_true: Any, y_score: Any) -> float:
    """Accuracy lost by picking the top-scored architecture instead of the best one.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True accuracies.
    y_score : array-like of shape (n,)
        Predicted scores, bigger = better.

    Returns
    -------
    float
        ``max(y_true) - y_true[argmax(y_score)]`` (>= 0, in the units of ``y_true``; lower is
        better). When several architectures share the top score, the mean of their true
        values is used (the expected regret of a random pick among them).

    Examples
    --------
    >>> regret([90.0, 93.5, 91.0], [0.2, 0.1, 0.9])
    2.5
    """
    t, s = _check_pair(y_true, y_score)
    return float(t.max() - t[s == s.max()].mean())


def ndcg_at_k(y_true: Any, y_score: Any, k: float | int = 0.1) -> float:
    """Normalised discounted cumulative gain of the predicted top-k.

    Relevance is the rank-normalised true accuracy,
    ``rel = (rank(y_true) - 1) / (n - 1)`` in [0, 1] (average ranks for ties; the best
    architecture has relevance 1, the worst 0). Raw accuracies are not used because a few
    failed networks would make all good ones look equally relevant. Gains are linear in
    ``rel`` with the usual ``1 / log2(position + 1)`` discount, computed by
    :func:`sklearn.metrics.ndcg_score` (which averages over tied scores).

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True accuracies.
    y_score : array-like of shape (n,)
        Predicted scores, bigger = better.
    k : float or int, default=0.1
        A float in (0, 1) is a fraction of n (``ceil(k * n)``, at least 1); an int is a count.

    Returns
    -------
    float
        NDCG@k in [0, 1]; 1 when the predicted top-k is the true top-k in the right order.

    Examples
    --------
    >>> round(ndcg_at_k([1, 2, 3, 4], [1, 2, 3, 4], k=2), 4)
    1.0
    >>> round(ndcg_at_k([1, 2, 3, 4], [4, 3, 2, 1], k=2), 4)
    0.148
    """
    t, s = _check_pair(y_true, y_score)
    n = t.shape[0]
    kk = _resolve_k(k, n)
    rel = (stats.rankdata(t, method="average") - 1.0) / (n - 1.0)
    return float(ndcg_score(rel[None, :], s[None, :], k=kk))


#: Scorers by name. ``"top10_precision"`` and ``"ndcg@10"`` use the top 10 % of the scored
#: architectures (not 10 architectures). ``"regret"`` has ``greater_is_better=False``, so the
#: scorer returns ``-regret`` (higher is better, 0 is perfect), as sklearn's ``neg_*`` scorers.
SCORERS: dict[str, Callable[..., float]] = {
    "spearman": make_scorer(spearman),
    "kendall": make_scorer(kendall),
    "weighted_tau": make_scorer(weighted_tau),
    "top10_precision": make_scorer(top_k_precision, k=0.1),
    "regret": make_scorer(regret, greater_is_better=False),
    "ndcg@10": make_scorer(ndcg_at_k, k=0.1),
}


def get_scorer(scoring: str | Callable[..., float]) -> Callable[..., float]:
    """Return a scorer by name: libranas' rank scorers first, then scikit-learn's.

    Parameters
    ----------
    scoring : str or callable
        A name from :data:`SCORERS` (``"spearman"``, ``"kendall"``, ``"weighted_tau"``,
        ``"top10_precision"``, ``"regret"``, ``"ndcg@10"``), any name
        :func:`sklearn.metrics.get_scorer` knows, or a scorer callable (returned unchanged).

    Returns
    -------
    callable
        A scorer ``scorer(estimator, X, y) -> float`` (higher is better), usable as
        ``scoring=`` in ``cross_val_score`` and ``GridSearchCV``. The estimator's ``predict``
        output is taken as the score (bigger = predicted better).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn.model_selection import cross_val_score
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 3))
    >>> y = X @ [1.0, 0.5, 0.0] + 0.1 * rng.normal(size=60)
    >>> scores = cross_val_score(LinearRegression(), X, y, cv=3, scoring=get_scorer("spearman"))
    >>> bool(scores.min() > 0.9)
    True
    """
    if callable(scoring):
        return scoring
    if not isinstance(scoring, str):
        raise TypeError(f"scoring must be a str or a callable, got {scoring!r}")
    if scoring in SCORERS:
        return SCORERS[scoring]
    try:
        return _sk_get_scorer(scoring)
    except ValueError:
        raise ValueError(
            f"{scoring!r} is not a valid scorer name. libranas scorers: {sorted(SCORERS)}; "
            f"scikit-learn scorers: sklearn.metrics.get_scorer_names()"
        ) from None


def get_scorers(names: Iterable[str]) -> dict[str, Callable[..., float]]:
    """Return ``{name: scorer}`` for multi-metric evaluation.

    Parameters
    ----------
    names : iterable of str
        Scorer names accepted by :func:`get_scorer`.

    Returns
    -------
    dict
        Usable as ``scoring=`` in ``cross_validate`` and ``GridSearchCV`` (with ``refit`` set
        to one of the names).

    Examples
    --------
    >>> sorted(get_scorers(["spearman", "regret"]))
    ['regret', 'spearman']
    """
    if isinstance(names, str):
        raise TypeError("get_scorers takes a list of names; use get_scorer for one name")
    names = list(names)
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate scorer names in {names}")
    return {name: get_scorer(name) for name in names}
