"""ZCRanker: turn a zero-cost proxy matrix into one score per architecture.

Rows of ``X`` are architectures, columns are zero-cost proxy scores (and, optionally,
architecture-encoding columns named in ``passthrough``). :meth:`ZCRanker.predict` returns one
score per row, higher = predicted better; :meth:`ZCRanker.score` is Kendall's tau between those
scores and the true accuracies.

Two families of methods:

- training-free rank fusions (``"rank-mean"``, ``"log-rank"``): no labels are needed;
- learned rankers (``"ensemble"``, ``"xgboost"``, ``"xgboost-pairwise"``, ``"estimator"``
  with any scikit-learn regressor) fitted on a few labelled architectures.

The defaults of the learned rankers (``"auto"`` = ``"ensemble"``: XGBoost regressor, XGBoost
pairwise ranker and extra trees; 600 XGBoost rounds of depth-3 trees, column subsampling
0.4) were chosen on development splits that are not reported (``benchmarks/predictors.py
--dev``: proxies + :class:`~libranas.ArchFeaturizer` columns, 100 labelled architectures of
NB201 CIFAR-10, NB301 and TransNAS-Bench-101 jigsaw / class_object; see
``benchmarks/results/predictors.md``).
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.stats import rankdata
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils import get_tags
from sklearn.utils.validation import check_is_fitted, validate_data

from libranas._validation import (
    align_y,
    check_has_columns,
    check_int,
    check_random_state,
    column_index,
    column_indices,
    draw_seeds,
    rank_correlation,
)

__all__ = ["ZCRanker"]

TRAINING_FREE_METHODS = ("rank-mean", "log-rank")
LEARNED_METHODS = ("xgboost", "xgboost-pairwise", "ensemble", "estimator")
XGBOOST_METHODS = ("xgboost", "xgboost-pairwise", "ensemble")
#: the extremely randomised trees member of ``"ensemble"`` (fixed; chosen on development splits)
_EXTRA_TREES = {"n_estimators": 300, "max_features": 0.3}
METHODS = ("auto", *TRAINING_FREE_METHODS, *LEARNED_METHODS)
#: fewest labelled rows a learned method accepts (with 1 row XGBoost predicts a constant;
#: with 2-3 rows any ranking it gives is noise)
MIN_LEARNED_ROWS = 4

# Pair sampling for ``rank:pairwise``. With XGBoost's own default ("topk" pairs) the study's
# Spearman was 0.5-0.8 and unstable across seeds; "mean" with 32 sampled pairs per row gave
# 0.93 (benchmarks/results/ranker_study.md).
_PAIRWISE_DEFAULTS = {"lambdarank_pair_method": "mean", "lambdarank_num_pair_per_sample": 32}

# ZCRanker parameters that must not be overridden through ``xgb_params``.
_RESERVED_XGB_KEYS = (
    "n_estimators",
    "max_depth",
    "learning_rate",
    "subsample",
    "colsample_bytree",
    "random_state",
    "seed",
    "n_jobs",
    "nthread",
    "monotone_constraints",
    "objective",
)


def _import_xgboost() -> Any:
    from libranas._optional import require

    return require("xgboost", "ZCRanker's XGBoost methods")


# --------------------------------------------------------------------------- rank utilities


def _rank_knots(column: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct non-NaN values of ``column`` and their normalised mid-ranks.

    The normalised rank of a value is its average rank (1..n, ties averaged) divided by n, the
    number of non-NaN entries, so it lies in (0, 1]. NaN entries are ignored; +-inf are ordinary
    (extreme) values.
    """
    values = column[~np.isnan(column)]
    if values.size == 0:
        return np.empty(0), np.empty(0)
    knots, counts = np.unique(values, return_counts=True)
    upper = np.cumsum(counts)
    mid_ranks = upper - (counts - 1) / 2.0
    return knots, mid_ranks / values.size


def _apply_knots(column: np.ndarray, knots: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """Map values to normalised ranks with respect to reference ``knots``.

    A value equal to a knot gets that knot's rank, so transforming the reference data itself
    reproduces its normalised ranks exactly. A value between two finite knots is interpolated
    linearly; between a finite knot and an infinite one it gets the mean of both ranks. Values
    below the smallest (above the largest) knot get the smallest (largest) rank. NaN stays NaN.
    """
    out = np.full(column.shape, np.nan)
    valid = ~np.isnan(column)
    if knots.size == 0 or not valid.any():
        return out
    v = column[valid]
    k = knots.size
    pos = np.searchsorted(knots, v, side="left")
    inside = np.clip(pos, 0, k - 1)
    exact = knots[inside] == v
    left = np.clip(pos - 1, 0, k - 1)
    a, b = knots[left], knots[inside]
    ra, rb = ranks[left], ranks[inside]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        # t is NaN/inf where a == b or a knot is infinite; those entries are not selected
        t = (v - a) / (b - a)
        between = np.where(
            np.isfinite(a) & np.isfinite(b) & np.isfinite(t), ra + t * (rb - ra), 0.5 * (ra + rb)
        )
    res = np.where(exact, ranks[inside], between)
    res = np.where(~exact & (pos == 0), ranks[0], res)
    res = np.where(~exact & (pos >= k), ranks[-1], res)
    out[valid] = res
    return out


def _spearman_pairwise(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman correlation over the rows where ``x`` is not NaN (``y`` is finite)."""
    return rank_correlation(x, y, omit="nan")


# --------------------------------------------------------------------------- the estimator


class ZCRanker(RegressorMixin, BaseEstimator):
    """Score architectures from zero-cost proxies: rank fusions or learned rankers.

    Rows of ``X`` are architectures; columns are zero-cost proxy scores (bigger = predicted
    better, unless ``signs`` says otherwise) plus, optionally, non-proxy columns such as an
    architecture encoding, named in ``passthrough``. :meth:`predict` returns one score per row,
    higher = predicted better. :meth:`score` returns Kendall's tau between those scores and the
    true accuracies, not R^2: the scores of a ranker need not be on the accuracy scale.

    Parameters
    ----------
    method : {"auto", "rank-mean", "log-rank", "ensemble", "xgboost", "xgboost-pairwise", \
"estimator"}, default="auto"
        How the columns become a score.

        - ``"rank-mean"``: training-free; mean over the proxy columns of the normalised ranks
          (rank / n, ranks 1..n with ties averaged, so in (0, 1]).
        - ``"log-rank"``: training-free, AZ-NAS style; mean over the proxy columns of
          log(rank / n). Without missing values this orders rows exactly as AZ-NAS's sum of log
          ranks (the mean is the sum divided by the number of columns).
        - ``"xgboost"``: ``xgboost.XGBRegressor`` on all columns.
        - ``"xgboost-pairwise"``: ``xgboost.XGBRanker`` with the ``rank:pairwise`` objective,
          all fitted architectures in one query group. Real-valued targets are fine for this
          objective (only their order is used). Pair sampling defaults to
          ``lambdarank_pair_method="mean"``, ``lambdarank_num_pair_per_sample=32``
          (override via ``xgb_params``).
        - ``"ensemble"``: both of the above (same hyper-parameters) and scikit-learn's
          ``ExtraTreesRegressor`` (300 trees, ``max_features=0.3``); each model's predictions
          are standardised by the mean and std of its predictions on the fitted rows, then
          averaged. On development splits the regressor was the best single model on NB201,
          the pairwise ranker on NB301 and the extra trees on TransNAS-Bench-101 jigsaw; the
          ensemble is within 0.01 of the best one on each.
        - ``"estimator"``: a clone of ``estimator`` (any scikit-learn regressor) on all columns.
        - ``"auto"``: ``"estimator"`` when ``estimator`` is given, else ``"ensemble"``.
    estimator : regressor, default=None
        The scikit-learn regressor for ``method="estimator"`` (or ``"auto"``). Giving it with
        any other method raises a ``ValueError``.
    signs : None, "auto", array-like of shape (n_features,) or dict, default=None
        Orientation of the proxy columns, applied (multiplied) before ranking or learning.
        ``None``: every proxy already means bigger = better. ``"auto"``: the sign of each
        column's Spearman correlation with ``y`` on the training data (+1 when the correlation
        is zero or undefined); needs ``y``. An array gives +1/-1 per column; a dict maps column
        names (or integer positions) to +1/-1, other columns get +1. Passthrough columns are
        never flipped.
    passthrough : None or sequence of str or int, default=None
        Columns that are not zero-cost proxies (e.g. a one-hot architecture encoding), by name
        (needs a DataFrame with string column names), glob pattern of names (``"graph:*"``)
        or integer position. Rank fusions ignore
        them; learned rankers use them as they are (no sign, no rank transform, monotone
        constraint 0).
    rank_reference : {"fit", "predict"}, default="fit"
        What the training-free fusions (and ``rank_transform``) rank against. ``"fit"``: each
        value is ranked against the column's values seen in :meth:`fit` (a value equal to a
        fitted value gets its normalised rank, values in between are interpolated linearly,
        values outside the fitted range get the extreme rank); predictions of one row then do
        not depend on the other rows predicted with it, and on the fitted data they equal the
        within-batch ranks. ``"predict"``: training-free fusions rank within the batch passed to
        :meth:`predict` (a single-row batch gets rank 1 in every column, so do not use it to
        score architectures one at a time). ``rank_transform`` always uses the fitted reference.
    rank_transform : bool, default=False
        Learned methods only: replace each proxy column by its normalised rank with respect to
        the training data (see ``rank_reference="fit"``) before learning and predicting. NaN
        stays NaN; +-inf become the extreme ranks, so infinite proxy values are accepted.
        Trees are nearly invariant to it (the study measured no gain); it matters for linear
        estimators and for inputs with infinities.
    monotone : None, "auto" or array-like of shape (n_features,), default=None
        XGBoost methods only: monotone constraints. ``"auto"``: +1 on proxy columns whose
        training-set Spearman correlation with ``y`` is positive, -1 where negative, 0 where it
        is zero or undefined and on passthrough columns. An array gives -1/0/+1 per column.
    target : {"raw", "rank"}, default="raw"
        Learned methods only: regress on ``y`` itself or on its normalised ranks (rank / n).
    n_estimators_bag : int, default=1
        Learned methods only: number of models fitted with different seeds (derived from
        ``random_state``) whose predictions are averaged. With ``method="estimator"`` and more
        than one model, the estimator must have a ``random_state`` parameter.
    n_estimators : int, default=600
        XGBoost: number of boosting rounds.
    max_depth : int, default=3
        XGBoost: maximum tree depth.
    learning_rate : float, default=0.02
        XGBoost: shrinkage.
    subsample : float, default=0.7
        XGBoost: row subsampling ratio per tree.
    colsample_bytree : float, default=0.4
        XGBoost: column subsampling ratio per tree.
    xgb_params : dict or None, default=None
        Further keyword arguments for the XGBoost model (e.g. ``{"min_child_weight": 2}``).
        Parameters that ZCRanker sets itself (seeds, threads, constraints, objective, the
        hyper-parameters above) are rejected here.
    random_state : int, RandomState instance, Generator or None, default=None
        Seeds of the learned models (one per bag member), drawn with
        ``libranas._validation.draw_seeds``. Same int seed, same scores.
    space : str, SearchSpace or None, default=None
        Training-free methods only: fuse just the columns of the space's training-free
        default (:func:`libranas.proxies.training_free_default`: the space's own where it
        stores one, e.g. DARTS / NB301, else the generic default), found as ``<proxy>`` or
        ``lib_<proxy>`` in a DataFrame ``X`` (e.g. ``space=bench.space``); the other columns
        are ignored like passthrough columns. None (default): every non-passthrough column
        is fused, as before.
    n_jobs : int or None, default=None
        Threads for XGBoost. ``None`` means 1, as everywhere in scikit-learn: on ~100
        labelled rows threading gains nothing and, on a busy machine, XGBoost's
        all-core default was measured 20x slower; ``-1`` uses all cores.

    Attributes
    ----------
    method_ : str
        The resolved method.
    n_features_in_ : int
        Number of columns seen in :meth:`fit`.
    feature_names_in_ : ndarray of str
        Column names seen in :meth:`fit` (only when ``X`` had string column names).
    proxy_mask_ : ndarray of bool, shape (n_features_in_,)
        True for proxy columns, False for passthrough columns.
    signs_ : ndarray of shape (n_features_in_,)
        The +1/-1 applied to each column (always +1 on passthrough columns).
    monotone_constraints_ : tuple of int
        The constraints given to XGBoost (only when ``monotone`` is not None).
    rank_knots_ : list of (ndarray, ndarray)
        Per column, the fitted reference values and their normalised ranks (only when ranks
        are taken against the fitted data).
    models_ : list
        The fitted models of the learned methods (one per bag member; two per bag member,
        regressor, pairwise ranker, extra trees, for ``"ensemble"``).
    blend_scales_ : list of (float, float)
        ``"ensemble"`` only: per model, the mean and std of its fitted-row predictions.
    model_ : object
        The first (with ``n_estimators_bag=1`` the only) fitted model of a learned method.
    missing_fill_ : ndarray of shape (n_features_in_,)
        Learned methods: per column, the (oriented) value a NaN takes at predict time, NaN
        where the model handles it (see Notes).

    Notes
    -----
    Missing values (a proxy that failed on a network is NaN): the rank fusions average over
    the finite proxy columns of each row (a NaN in one column does not hide the others); a row
    whose proxy columns are all NaN gets a NaN score. The learned methods handle a missing
    value the way training saw it: in a column that had NaN in the fitted rows the model's
    learned handling applies (XGBoost's learned default direction; ``method="estimator"``
    passes it on to the estimator, which raises its own error if it cannot handle NaN, use
    e.g. a Pipeline with an explicit imputer); in a column that never was NaN in the fitted
    rows (where a tree's default branch would be arbitrary) it takes the column's worst
    fitted value (the smallest after ``signs``), so a failed proxy never counts as a good
    one. A row whose proxy columns are all NaN (every proxy failed on that network) is
    scored ``-inf``: ranked last, whatever the model; except with an ``estimator`` that does
    not accept NaN (its ``allow_nan`` tag is False), which gets every row as it is and refuses
    rows with NaN with its own error.

    Too little to learn from: the learned methods raise a ``ValueError`` when fitted on fewer
    than 4 rows (:data:`MIN_LEARNED_ROWS`) or on a constant ``y`` (they would return the
    same score for every architecture). The training-free fusions need no labels and accept
    any ``y``.

    Infinite values: ranks order +-inf as extremes, so the rank fusions and the learned
    methods with ``rank_transform=True`` accept them; otherwise the learned methods raise a
    ``ValueError`` naming the columns. ``y`` must be finite.

    Examples
    --------
    >>> import numpy as np
    >>> from libranas.ranker import ZCRanker
    >>> rng = np.random.RandomState(0)
    >>> acc = rng.uniform(size=50)
    >>> X = np.column_stack([acc ** 2, -np.exp(acc)])  # second proxy: smaller = better
    >>> ranker = ZCRanker(method="rank-mean", signs="auto").fit(X, acc)
    >>> ranker.signs_
    array([ 1., -1.])
    >>> round(ranker.score(X, acc), 3)
    1.0
    >>> learned = ZCRanker(method="xgboost", random_state=0).fit(X, acc)
    >>> learned.score(X, acc) > 0.9
    True
    """

    def __init__(
        self,
        method: str = "auto",
        *,
        estimator: Any = None,
        signs: Any = None,
        passthrough: Sequence[str | int] | None = None,
        rank_reference: str = "fit",
        rank_transform: bool = False,
        monotone: Any = None,
        target: str = "raw",
        n_estimators_bag: int = 1,
        n_estimators: int = 600,
        max_depth: int = 3,
        learning_rate: float = 0.02,
        subsample: float = 0.7,
        colsample_bytree: float = 0.4,
        xgb_params: dict[str, Any] | None = None,
        random_state: Any = None,
        space: Any = None,
        n_jobs: int | None = None,
    ) -> None:
        self.method = method
        self.estimator = estimator
        self.signs = signs
        self.passthrough = passthrough
        self.rank_reference = rank_reference
        self.rank_transform = rank_transform
        self.monotone = monotone
        self.target = target
        self.n_estimators_bag = n_estimators_bag
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.xgb_params = xgb_params
        self.random_state = random_state
        self.space = space
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ tags and resolution

    def _resolved_method(self) -> str:
        if self.method == "auto":
            return "estimator" if self.estimator is not None else "ensemble"
        return self.method

    def _allows_nan(self) -> bool:
        if self._resolved_method() == "estimator" and self.estimator is not None:
            return bool(get_tags(self.estimator).input_tags.allow_nan)
        return True

    def __sklearn_tags__(self):  # noqa: ANN204 - sklearn Tags
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self._allows_nan()
        # rank fusions do not learn from y: on arbitrary regression data they need not score well
        tags.regressor_tags.poor_score = self._resolved_method() in TRAINING_FREE_METHODS
        return tags

    def _check_params(self) -> str:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}.")
        method = self._resolved_method()
        if method == "estimator":
            if self.estimator is None:
                raise ValueError(
                    'method="estimator" needs a scikit-learn regressor in `estimator`.'
                )
            if not (hasattr(self.estimator, "fit") and hasattr(self.estimator, "predict")):
                raise TypeError(
                    f"estimator must have fit and predict methods, got {type(self.estimator)!r}."
                )
        elif self.estimator is not None:
            raise ValueError(
                f"estimator is only used with method='estimator' or 'auto', got method={method!r}."
            )
        if self.rank_reference not in ("fit", "predict"):
            raise ValueError(
                f"rank_reference must be 'fit' or 'predict', got {self.rank_reference!r}."
            )
        if self.target not in ("raw", "rank"):
            raise ValueError(f"target must be 'raw' or 'rank', got {self.target!r}.")
        if not isinstance(self.rank_transform, (bool, np.bool_)):
            raise TypeError(f"rank_transform must be a bool, got {self.rank_transform!r}.")
        try:
            check_int(self.n_estimators_bag, "n_estimators_bag", low=1)
        except TypeError as exc:
            raise ValueError(str(exc)) from None
        check_random_state(self.random_state)
        learned_only = {
            "rank_transform": self.rank_transform,
            "monotone": self.monotone is not None,
            "target": self.target != "raw",
            "n_estimators_bag": self.n_estimators_bag != 1,
        }
        if method in TRAINING_FREE_METHODS:
            used = [name for name, on in learned_only.items() if on]
            if used:
                raise ValueError(
                    f"{used} only apply to the learned methods {LEARNED_METHODS}, "
                    f"not to method={method!r}."
                )
        if self.space is not None and method not in TRAINING_FREE_METHODS:
            raise ValueError(f"space selects a training-free default, not for method={method!r}.")
        if self.monotone is not None and method not in XGBOOST_METHODS:
            raise ValueError(f"monotone constraints need an XGBoost method, got method={method!r}.")
        if method == "estimator" and self.n_estimators_bag > 1:
            if "random_state" not in self.estimator.get_params():
                raise ValueError(
                    "n_estimators_bag > 1 needs an estimator with a random_state parameter "
                    f"(bagging identical deterministic models changes nothing): {self.estimator!r}."
                )
        if self.xgb_params is not None:
            if not isinstance(self.xgb_params, Mapping):
                raise TypeError(f"xgb_params must be a dict, got {type(self.xgb_params)!r}.")
            reserved = sorted(set(self.xgb_params) & set(_RESERVED_XGB_KEYS))
            if reserved:
                raise ValueError(
                    f"xgb_params may not set {reserved}: use the ZCRanker parameters instead."
                )
        return method

    # ------------------------------------------------------------------ column bookkeeping

    def _column_index(self, key: Any, what: str) -> int:
        names = getattr(self, "feature_names_in_", None)
        return column_index(key, None if names is None else list(names), self.n_features_in_, what)

    def _resolve_passthrough(self) -> np.ndarray:
        mask = np.ones(self.n_features_in_, dtype=bool)
        if self.passthrough is None:
            return mask
        if isinstance(self.passthrough, (str, numbers.Integral)):
            raise TypeError(
                f"passthrough must be a sequence of column names or positions, "
                f"got {self.passthrough!r}."
            )
        names = getattr(self, "feature_names_in_", None)
        names = None if names is None else [str(n) for n in names]
        mask[column_indices(self.passthrough, names, self.n_features_in_, "passthrough")] = False
        return mask

    def _resolve_signs(self, X: np.ndarray, y: np.ndarray | None) -> np.ndarray:
        p = self.n_features_in_
        signs = np.ones(p)
        if self.signs is None:
            return signs
        if isinstance(self.signs, str):
            if self.signs != "auto":
                raise ValueError(
                    f"signs must be None, 'auto', an array or a dict, got {self.signs!r}."
                )
            if y is None:
                raise ValueError('signs="auto" learns the orientation from y; pass y to fit.')
            for j in np.flatnonzero(self.proxy_mask_):
                rho = _spearman_pairwise(X[:, j], y)
                signs[j] = -1.0 if rho < 0 else 1.0
            return signs
        if isinstance(self.signs, Mapping):
            for key, value in self.signs.items():
                signs[self._column_index(key, "signs")] = value
        else:
            given = np.asarray(self.signs, dtype=float)
            if given.shape != (p,):
                raise ValueError(
                    f"signs has shape {given.shape}, expected ({p},) (one per column of X)."
                )
            signs = given.copy()
        if not np.all(np.isin(signs, (-1.0, 1.0))):
            raise ValueError(f"signs must be +1 or -1, got {signs.tolist()}.")
        if np.any(signs[~self.proxy_mask_] != 1.0):
            raise ValueError(
                "signs flips a passthrough column; passthrough columns are never flipped."
            )
        return signs

    def _resolve_monotone(self, Z: np.ndarray, y_fit: np.ndarray) -> tuple[int, ...]:
        p = self.n_features_in_
        if isinstance(self.monotone, str):
            if self.monotone != "auto":
                raise ValueError(
                    f"monotone must be None, 'auto' or an array, got {self.monotone!r}."
                )
            cons = np.zeros(p, dtype=int)
            for j in np.flatnonzero(self.proxy_mask_):
                rho = _spearman_pairwise(Z[:, j], y_fit)
                cons[j] = 0 if not np.isfinite(rho) or rho == 0 else int(np.sign(rho))
            return tuple(int(c) for c in cons)
        cons = np.asarray(self.monotone)
        if cons.shape != (p,) or not np.all(np.isin(cons, (-1, 0, 1))):
            raise ValueError(
                f"monotone must hold one of -1/0/+1 per column ({p} columns), "
                f"got {self.monotone!r}."
            )
        return tuple(int(c) for c in cons)

    # ------------------------------------------------------------------ fit / predict

    def _validate_X(self, X: Any, *, reset: bool, y: Any = None) -> Any:
        check_has_columns(X, type(self).__name__)
        kwargs = dict(dtype=np.float64, ensure_all_finite=False, reset=reset)
        if y is None:
            return validate_data(self, X, **kwargs), None
        X, y = validate_data(self, X, y, y_numeric=True, **kwargs)
        try:  # y_numeric converts object arrays only; strings or bytes would reach XGBoost
            y = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"y must hold numbers (accuracies), got dtype {y.dtype}: {exc}"
            ) from exc
        return X, y

    def _check_non_finite(self, X: np.ndarray) -> None:
        if self.method_ in LEARNED_METHODS:
            inf_cols = np.isinf(X).any(axis=0)
            # with rank_transform, proxy columns only enter through their ranks
            if self.rank_transform:
                inf_cols &= ~self.proxy_mask_
            if inf_cols.any():
                raise ValueError(
                    f"Input X contains infinity in column(s) {self._names(inf_cols)}; "
                    f"method={self.method_!r} cannot learn from it. Use rank_transform=True "
                    "(ranks treat +-inf as extremes) or replace the values explicitly."
                )

    def _names(self, mask: np.ndarray) -> list[Any]:
        names = getattr(self, "feature_names_in_", None)
        idx = np.flatnonzero(mask)
        return [str(names[i]) for i in idx] if names is not None else idx.tolist()

    def _oriented(self, X: np.ndarray) -> np.ndarray:
        return X * self.signs_  # passthrough signs are +1

    def _ranked(self, Z: np.ndarray) -> np.ndarray:
        """Proxy columns of Z replaced by normalised ranks against the fitted reference."""
        out = Z.copy()
        for j, (knots, ranks) in zip(
            np.flatnonzero(self.proxy_mask_), self.rank_knots_, strict=True
        ):
            out[:, j] = _apply_knots(Z[:, j], knots, ranks)
        return out

    def _fit_knots(self, Z: np.ndarray) -> None:
        self.rank_knots_ = [_rank_knots(Z[:, j]) for j in np.flatnonzero(self.proxy_mask_)]

    def fit(self, X: Any, y: Any = None) -> ZCRanker:
        """Fit the ranker.

        Parameters
        ----------
        X : array-like of shape (n_architectures, n_features)
            Proxy scores (and passthrough columns). NaN is allowed (see Notes of the class).
        y : array-like of shape (n_architectures,), default=None
            Validation accuracies (any finite numbers, higher = better). Required by the
            learned methods and by ``signs="auto"``; the training-free methods otherwise only
            validate it.

        Returns
        -------
        self : ZCRanker
            The fitted ranker.
        """
        method = self._check_params()
        learned = method in LEARNED_METHODS
        if y is None and (learned or (isinstance(self.signs, str) and self.signs == "auto")):
            # let sklearn raise its standard "requires y to be passed" error
            X, y = validate_data(self, X, y, y_numeric=True)
        y = align_y(X, y, type(self).__name__)
        X, y = self._validate_X(X, reset=True, y=y)
        if learned:
            self._check_learnable(y, method)
        self.method_ = method
        self.proxy_mask_ = self._resolve_passthrough()
        if self.space is not None:  # only the space's default proxies are fused
            from libranas.proxies import training_free_columns

            names = [str(c) for c in getattr(self, "feature_names_in_", [])]
            self.proxy_mask_ &= np.isin(names, training_free_columns(names, self.space))
        if not learned and not self.proxy_mask_.any():
            raise ValueError(
                f"method={method!r} fuses proxy columns, but every column is in passthrough."
            )
        self._check_non_finite(X)
        self.signs_ = self._resolve_signs(X, y)
        Z = self._oriented(X)
        for attr in (
            "rank_knots_",
            "models_",
            "model_",
            "monotone_constraints_",
            "blend_scales_",
            "missing_fill_",
        ):
            if hasattr(self, attr):
                delattr(self, attr)
        if not learned:
            if self.rank_reference == "fit":
                self._fit_knots(Z)
            return self

        self.missing_fill_ = self._missing_fill(Z)
        if self.rank_transform:
            self._fit_knots(Z)
            Z = self._ranked(Z)
        Z = self._model_input(Z)
        y_fit = rankdata(y) / y.size if self.target == "rank" else y
        if self.monotone is not None:
            self.monotone_constraints_ = self._resolve_monotone(Z, y_fit)
        seeds = draw_seeds(self.random_state, self.n_estimators_bag)
        self.models_ = [m for seed in seeds for m in self._fit_models(Z, y_fit, int(seed))]
        self.model_ = self.models_[0]
        if self.method_ == "ensemble":
            self.blend_scales_ = [self._standardiser(m, Z) for m in self.models_]
        return self

    def _missing_fill(self, Z: np.ndarray) -> np.ndarray:
        """Per column, what a NaN becomes at predict time: NaN (left to the model) where the
        fitted rows had NaN or on passthrough columns, else the column's worst fitted value."""
        fill = np.full(Z.shape[1], np.nan)
        never_missing = self.proxy_mask_ & ~np.isnan(Z).any(axis=0)
        if never_missing.any():
            fill[never_missing] = Z[:, never_missing].min(axis=0)
        return fill

    @staticmethod
    def _check_learnable(y: np.ndarray, method: str) -> None:
        """A learned ranker needs a few labelled rows and a y that varies."""
        if y.size < MIN_LEARNED_ROWS:
            raise ValueError(
                f"method={method!r} learns from labelled architectures and needs at least "
                f"{MIN_LEARNED_ROWS}, got {y.size} sample(s); use a training-free method "
                "('rank-mean', 'log-rank') or label more architectures."
            )
        if np.ptp(y) == 0:
            raise ValueError(
                f"y is constant (every value is {float(y[0])!r}): method={method!r} has no "
                "order to learn and would give every architecture the same score; use a "
                "training-free method ('rank-mean', 'log-rank') or check the labels."
            )

    def _xgb_params(self, seed: int, pairwise: bool) -> dict[str, Any]:
        params: dict[str, Any] = dict(
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            learning_rate=self.learning_rate,
            subsample=self.subsample,
            colsample_bytree=self.colsample_bytree,
            random_state=seed,
            n_jobs=1 if self.n_jobs is None else self.n_jobs,
        )
        if pairwise:
            params.update(objective="rank:pairwise", **_PAIRWISE_DEFAULTS)
        if self.monotone is not None:
            params["monotone_constraints"] = self.monotone_constraints_
        params.update(self.xgb_params or {})
        return params

    def _model_input(self, Z: np.ndarray) -> np.ndarray:
        """XGBoost computes in float32; proxies such as synflow reach 1e47 and overflow.

        sign(z) * log1p(|z|) is strictly monotone, so the tree models see the same orderings
        of every column, in a range float32 holds. Other estimators get Z unchanged.
        """
        if self.method_ in XGBOOST_METHODS:
            return np.sign(Z) * np.log1p(np.abs(Z))
        return Z

    def _fit_models(self, Z: np.ndarray, y: np.ndarray, seed: int) -> list[Any]:
        """The model(s) of one bag member: two for ``"ensemble"``, else one."""
        if self.method_ == "estimator":
            model = clone(self.estimator)
            if self.n_estimators_bag > 1:
                model.set_params(random_state=seed)
            return [model.fit(Z, y)]
        xgb = _import_xgboost()
        models = []
        if self.method_ in ("xgboost", "ensemble"):
            models.append(xgb.XGBRegressor(**self._xgb_params(seed, pairwise=False)).fit(Z, y))
        if self.method_ in ("xgboost-pairwise", "ensemble"):
            # one query group holding every fitted architecture
            ranker = xgb.XGBRanker(**self._xgb_params(seed, pairwise=True))
            models.append(ranker.fit(Z, y, qid=np.zeros(Z.shape[0], dtype=np.int64)))
        if self.method_ == "ensemble":
            from sklearn.ensemble import ExtraTreesRegressor

            trees = ExtraTreesRegressor(**_EXTRA_TREES, random_state=seed, n_jobs=self.n_jobs)
            models.append(trees.fit(Z, y))
        return models

    @staticmethod
    def _standardiser(model: Any, Z: np.ndarray) -> tuple[float, float]:
        """Mean and std of ``model``'s predictions on the fitted rows (std 1 if constant).

        The ensemble averages regressors (accuracy scale) and a pairwise ranker (arbitrary
        scale); each is put on the scale of its own training predictions first, so the
        prediction of one row does not depend on the other rows predicted with it.
        """
        fitted = np.asarray(model.predict(Z), dtype=float)
        spread = float(np.std(fitted))
        return float(np.mean(fitted)), spread if spread > 0 else 1.0

    def predict(self, X: Any) -> np.ndarray:
        """Score architectures, higher = predicted better.

        Parameters
        ----------
        X : array-like of shape (n_architectures, n_features)
            Proxy scores with the columns seen in :meth:`fit`.

        Returns
        -------
        scores : ndarray of shape (n_architectures,)
            Rank fusions: in (0, 1] for ``"rank-mean"``, <= 0 for ``"log-rank"``; NaN for rows
            whose proxy columns are all NaN. Learned methods: the model's prediction (on the
            ``y`` scale for ``target="raw"`` regressors, arbitrary for the pairwise ranker);
            ``-inf`` for rows whose proxy columns are all NaN (ranked last).
        """
        check_is_fitted(self, "method_")
        X, _ = self._validate_X(X, reset=False)
        self._check_non_finite(X)
        Z = self._oriented(X)
        if self.method_ in TRAINING_FREE_METHODS:
            return self._fuse(Z)
        if not self._allows_nan():
            # an estimator that cannot take NaN refuses such rows itself (its own error)
            return self._predict_models(Z)
        # every proxy failed: ranked last, never left to a tree's default branch
        failed = np.isnan(Z[:, self.proxy_mask_]).all(axis=1)
        out = np.full(Z.shape[0], -np.inf)
        if failed.all():
            return out
        Z = Z[~failed]
        fill = getattr(self, "missing_fill_", None)
        if fill is not None:
            holes = np.isnan(Z) & ~np.isnan(fill)
            if holes.any():
                Z = np.where(holes, fill, Z)
        out[~failed] = self._predict_models(Z)
        return out

    def _predict_models(self, Z: np.ndarray) -> np.ndarray:
        if self.rank_transform:
            Z = self._ranked(Z)
        Z = self._model_input(Z)
        preds = [np.asarray(model.predict(Z), dtype=float) for model in self.models_]
        if self.method_ == "ensemble":
            preds = [(p - mu) / sd for p, (mu, sd) in zip(preds, self.blend_scales_, strict=True)]
        return np.mean(preds, axis=0)

    def _fuse(self, Z: np.ndarray) -> np.ndarray:
        proxies = np.flatnonzero(self.proxy_mask_)
        if self.rank_reference == "fit":
            U = self._ranked(Z)[:, proxies]
        else:
            U = np.column_stack([_apply_knots(Z[:, j], *_rank_knots(Z[:, j])) for j in proxies])
        if self.method_ == "log-rank":
            U = np.log(U)  # U > 0: normalised ranks are at least 1/n
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows -> NaN, documented
            return np.nanmean(U, axis=1)

    def score(self, X: Any, y: Any) -> float:
        """Kendall's tau-b between :meth:`predict` scores and ``y``.

        Overrides :meth:`sklearn.base.RegressorMixin.score` (R^2): a ranker's scores need not
        be on the scale of ``y``, only in its order.

        Parameters
        ----------
        X : array-like of shape (n_architectures, n_features)
            Proxy scores.
        y : array-like of shape (n_architectures,)
            True accuracies (finite).

        Returns
        -------
        tau : float
            Kendall's tau-b in [-1, 1]; NaN when the scores or ``y`` are constant.
        """
        scores = self.predict(X)
        y = np.asarray(y, dtype=float).ravel()
        if y.shape != scores.shape:
            raise ValueError(f"X has {scores.size} rows but y has {y.size} entries.")
        if not np.all(np.isfinite(y)):
            raise ValueError("Input y contains NaN or infinity; accuracies must be finite.")
        missing = np.isnan(scores)
        if missing.any():
            raise ValueError(
                f"{int(missing.sum())} row(s) have no finite proxy value and got a NaN score; "
                "drop them before scoring."
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # constant input -> NaN tau
            return rank_correlation(scores, y, method="kendall")
