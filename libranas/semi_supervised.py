"""A few-label ranker that also learns from the unlabelled architectures.

A few-label user has the unlabelled architectures of the space too: their proxies and graph
features cost nothing to compute. :class:`SemiSupervisedRanker` blends two views of them:

1. **The supervised view**: a few-label ranker (default: ``ZCRanker()``, libranas' few-label
   default) fitted on the labelled rows only.
2. **The architecture view**, a kernel regression that reads the unlabelled rows twice:

   - *transductive representation*: every proxy column becomes its normalised rank among
     *all* rows given to :meth:`~SemiSupervisedRanker.fit` (labelled and unlabelled);
     architecture columns (``passthrough``: graph features, one-hot) keep their values;
     all are standardised over all rows;
   - *pre-training on the unlabelled architectures* (FLAN-like, Akhauri & Abdelfattah
     2024, with a linear encoder): a ridge regression from the architecture columns to the
     proxies' ranks is fitted on all rows (no accuracy is needed, so every architecture
     counts); its predictions, the proxies as the architecture's structure predicts them,
     become extra columns (``pretrain_weight`` times their standardised values).

   A kernel ridge regression (RBF kernel) on the labelled rows (target: the standardised
   accuracies) then maps these columns to a score; columns named in ``pretrain_only``
   (e.g. a one-hot encoding) feed the pre-training but not this regression.
   ``arch_model="ridge"`` gives the earlier linear view (ridge on the accuracies' ranks).

The score is ``(1 - w) * supervised + w * architecture``, both standardised on the labelled
rows. The weight ``w`` is chosen per fit by an inner ``cv``-fold cross-validation on the
labelled rows only, among ``blend_grid`` (which holds 0, the supervised view alone), with two
safeguards: the architecture view must, on its own, rank the held-out labelled rows at least
as well as the supervised view (``view_gate``), and a weight above 0 must beat 0 by more than
``min_gain_se`` standard errors of the fold-wise gains. Where the architecture view does not
help (tasks it does not fit) the ranker falls back to the supervised view, where it helps
(DARTS / NB301) it is weighted in, and the choice follows the number of labels.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np
from scipy.stats import rankdata
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.exceptions import DataConversionWarning
from sklearn.utils import get_tags
from sklearn.utils.validation import check_is_fitted, validate_data

from libranas._validation import (
    check_has_columns,
    check_random_state,
    column_indices,
    draw_seeds,
    rank_correlation,
)
from libranas.ranker import MIN_LEARNED_ROWS, ZCRanker, _apply_knots, _rank_knots

__all__ = ["SemiSupervisedRanker", "blend_cv_scores", "choose_blend", "unlabelled_mask"]

#: the architecture view's regressions (see ``SemiSupervisedRanker(arch_model=...)``)
ARCH_MODELS = ("kernel", "ridge")

#: the ridge penalties the architecture view chooses among (generalised cross-validation)
RIDGE_ALPHAS = np.logspace(0, 4, 13)
#: fewest labelled rows per inner fold for the blend weight to be cross-validated
MIN_ROWS_PER_FOLD = 5


def unlabelled_mask(y: Any, unlabelled_value: float = np.nan) -> np.ndarray:
    """True where ``y`` marks an unlabelled row: NaN when ``unlabelled_value`` is NaN (the
    default), else where ``y == unlabelled_value`` (e.g. ``-1``, scikit-learn's marker for
    classifiers; an accuracy target may take any real value, hence NaN by default).

    Examples
    --------
    >>> unlabelled_mask([0.9, np.nan, 0.7]).tolist()
    [False, True, False]
    >>> unlabelled_mask([0.9, -1, 0.7], unlabelled_value=-1).tolist()
    [False, True, False]
    """
    y = np.asarray(y, dtype=np.float64)
    if isinstance(unlabelled_value, numbers.Real) and np.isnan(unlabelled_value):
        return np.isnan(y)
    return y == float(unlabelled_value)


def blend_cv_scores(
    sup: list[np.ndarray], arch: list[np.ndarray], y: list[np.ndarray], grid: np.ndarray
) -> np.ndarray:
    """Spearman's rho of each blend ``(1 - w) * s + w * a`` on each inner fold.

    ``sup[k]``, ``arch[k]``: the two views' predictions on fold ``k``'s held-out rows, each
    already standardised by the fold model's labelled rows; ``y[k]``: their accuracies. A
    fold where a blend is constant counts as rho 0.

    Examples
    --------
    >>> s, a = [np.array([1.0, 2.0, 3.0])], [np.array([3.0, 2.0, 1.0])]
    >>> blend_cv_scores(s, a, [np.array([1.0, 2.0, 3.0])], np.array([0.0, 1.0])).tolist()
    [[1.0, -1.0]]
    """
    scores = np.zeros((len(y), len(grid)))
    for k, (s, a, t) in enumerate(zip(sup, arch, y, strict=True)):
        for i, w in enumerate(grid):
            rho = rank_correlation(t, (1.0 - w) * s + w * a)
            scores[k, i] = 0.0 if np.isnan(rho) else rho
    return scores


def choose_blend(
    fold_scores: np.ndarray, grid: np.ndarray, min_gain_se: float, view_gate: bool = False
) -> int:
    """Index into ``grid`` of the weight the inner cross-validation chooses.

    ``fold_scores[k, i]``: Spearman's rho of weight ``grid[i]`` on inner fold ``k``;
    ``grid[0]`` is the fallback (the smallest weight, 0 by default: the supervised view
    alone). With ``view_gate``, the fallback is chosen whenever the largest weight
    (``grid[-1]``, 1 by default: the architecture view alone) has a lower mean rho than the
    fallback: the architecture view is weighted in only where, on its own, it ranks the
    held-out labelled rows at least as well as the supervised view. Otherwise a weight is
    eligible when its mean fold-wise gain over the fallback exceeds ``min_gain_se``
    standard errors of those gains (sd / sqrt(folds)); the eligible weight with the best
    mean rho is chosen (ties: the smaller weight), the fallback when none is.

    Examples
    --------
    >>> folds = np.array([[0.50, 0.60], [0.52, 0.61], [0.48, 0.60]])
    >>> choose_blend(folds, np.array([0.0, 0.5]), 2.0)   # a consistent gain: 0.5
    1
    >>> folds = np.array([[0.50, 0.80], [0.52, 0.40], [0.48, 0.50]])
    >>> choose_blend(folds, np.array([0.0, 0.5]), 2.0)   # a noisy gain: the fallback
    0
    >>> folds = np.array([[0.80, 0.84, 0.70], [0.78, 0.82, 0.72], [0.81, 0.85, 0.74]])
    >>> grid = np.array([0.0, 0.5, 1.0])
    >>> choose_blend(folds, grid, 2.0), choose_blend(folds, grid, 2.0, view_gate=True)
    (1, 0)
    """
    means = fold_scores.mean(axis=0)
    if view_gate and means[-1] < means[0]:
        return 0
    gains = fold_scores - fold_scores[:, [0]]
    k = fold_scores.shape[0]
    se = gains.std(axis=0, ddof=1) / np.sqrt(k)
    eligible = gains.mean(axis=0) > min_gain_se * se
    eligible[0] = True
    return int(np.argmax(np.where(eligible, means, -np.inf)))


class SemiSupervisedRanker(RegressorMixin, BaseEstimator):
    """Rank architectures from a few labels and the unlabelled architectures.

    Parameters
    ----------
    ranker : estimator or None, default=None
        The supervised view, fitted on the labelled rows only; any regressor / ranker with
        ``fit(X, y)`` and ``predict(X)`` (a clone is fitted). None: ``ZCRanker()`` (the
        few-label default ensemble), seeded from ``random_state``.
    blend : "cv" or float in [0, 1], default="cv"
        Weight of the architecture view in the score. ``"cv"``: chosen among
        ``blend_grid`` by inner cross-validation on the labelled rows (``blend_`` holds the
        choice). A number: that weight, no inner cross-validation (0: the supervised view
        alone, 1: the architecture view alone).
    blend_grid : sequence of float in [0, 1], default=(0, 0.25, 0.5, 0.75, 1)
        The weights ``blend="cv"`` chooses among; the smallest is the fallback.
    min_gain_se : float >= 0, default=1.5
        The safeguard of ``blend="cv"``: a weight other than the fallback is eligible only
        when its mean inner-fold gain in Spearman's rho over the fallback exceeds this many
        standard errors of the fold-wise gains; the eligible weight with the best mean rho
        is chosen (see :func:`choose_blend`). 0: plain best mean (ties to the smaller).
    view_gate : bool, default=True
        The other safeguard of ``blend="cv"``: the fallback is used whenever the largest
        weight of ``blend_grid`` (1: the architecture view alone) has a lower mean inner
        rho than the fallback (the architecture view is weighted in only where, alone, it
        ranks as well as the supervised view).
    cv : int >= 2, default=3
        Folds of the inner cross-validation. It fits the supervised view ``cv`` more times.
        With fewer than ``5 * cv`` labelled rows (:data:`MIN_ROWS_PER_FOLD` per fold) the
        weight is not cross-validated: the smallest weight of ``blend_grid`` is used.
    pretrain_weight : float >= 0, default=3.0
        Scale of the pre-trained columns (the proxies' ranks as predicted from the
        ``passthrough`` columns over all rows) in the architecture view; larger means a
        smaller ridge penalty on them. 0: no pre-training.
    pretrain_alpha : float > 0, default=100.0
        Ridge penalty of the pre-training regression (on standardised columns).
    passthrough : None or sequence of str or int, default=None
        Architecture columns (not proxies) such as ``["graph:*", "onehot:*"]`` (names, glob
        patterns or positions, as in :class:`~libranas.ZCRanker`): the architecture view
        uses them as they are (standardised), not as ranks, and pre-trains from them. The
        supervised view receives every column unchanged (give it its own ``passthrough``
        through ``ranker`` if it needs one). None: every column is a proxy (no pre-training).
    pretrain_only : None or sequence of str or int, default=None
        Architecture columns (as ``passthrough``; they need not be listed there too) that the
        pre-training reads but the architecture view's regression leaves out, such as a
        one-hot encoding (``["onehot:*"]``): its many sparse columns would weigh in the
        kernel's distances like the rest. None: the view reads every column.
    arch_model : {"kernel", "ridge"}, default="kernel"
        The architecture view's regression. ``"kernel"``: kernel ridge regression with an
        RBF kernel, ``gamma = kernel_gamma / n_columns`` (the view's standardised columns),
        penalty ``kernel_alpha``, target the labelled accuracies standardised. ``"ridge"``:
        the earlier linear view, a ridge regression on the accuracies' normalised ranks
        with its penalty chosen by generalised cross-validation (``kernel_*`` unused).
    kernel_gamma : float > 0, default=0.1
        RBF width of ``arch_model="kernel"``, per column of the view.
    kernel_alpha : float > 0, default=0.03
        Ridge penalty of ``arch_model="kernel"`` (the target has unit variance).
    unlabelled_value : float, default=nan
        The ``y`` value that marks an unlabelled row (see :func:`unlabelled_mask`).
    random_state : int, RandomState instance, Generator or None, default=None
        Seed of the default ``ZCRanker`` (its supervised view is then exactly
        ``ZCRanker(random_state=random_state)`` fitted on the labelled rows) and of the
        inner folds. A given ``ranker`` keeps its own seed. Same int, same scores.
    n_jobs : int or None, default=None
        Passed to the default ``ZCRanker`` (threads); results do not depend on it.

    Attributes
    ----------
    ranker_ : estimator
        The supervised view, fitted on the labelled rows.
    blend_ : float
        The weight of the architecture view used by :meth:`predict`.
    cv_fold_scores_ : ndarray of shape (cv, len(blend_grid)) or None
        Spearman's rho of each weight on each inner fold (None when not cross-validated).
    cv_scores_ : ndarray of shape (len(blend_grid),) or None
        Their mean over the folds.
    n_labelled_, n_unlabelled_ : int
        Rows used with and without labels.
    ranked_mask_ : ndarray of bool, shape (n_features_in_,)
        True for proxy columns (ranked), False for passthrough columns.
    rank_knots_ : list of (ndarray, ndarray)
        Per proxy column, the values of all fitted rows and their normalised ranks.
    z_mean_, z_scale_ : ndarray of shape (n_features_in_,)
        Standardisation of the representation over all fitted rows.
    pretrain_coef_, pretrain_intercept_ : ndarray
        The pre-training regression (passthrough columns to proxy ranks), None without it.
    pretrain_mean_, pretrain_scale_ : ndarray
        Standardisation of its predictions over all fitted rows.
    view_mask_ : ndarray of bool
        The representation's columns the architecture view reads (all but ``pretrain_only``).
    arch_model_ : sklearn.kernel_ridge.KernelRidge or sklearn.linear_model.RidgeCV
        The architecture view's regression, fitted on the labelled rows.
    blend_scales_ : ((float, float), (float, float))
        Mean and std of each view's predictions on the labelled rows.
    n_features_in_, feature_names_in_
        As in scikit-learn.

    Notes
    -----
    Settings (the kernel view and its ``kernel_gamma`` / ``kernel_alpha``, ``pretrain_weight``,
    ``pretrain_alpha``, the grid, the 3-fold inner cross-validation, ``view_gate`` and
    ``min_gain_se``) were chosen on development splits (seeds 1000-1009, 32 and 100 labels,
    all eleven tables of ``benchmarks/semi_supervised.py``) that the study does not report;
    the study passes ``pretrain_only=["onehot:*"]``. The inner cross-validation fits the
    supervised view ``cv`` more times (about 4x the time of a ``ZCRanker()`` fit with the
    defaults). The architecture view sees the proxies through their ranks, so proxies with
    wild scales (synflow 1e47) and NaN (ranked lowest) are fine; ``X`` may hold NaN (a
    passthrough NaN takes the column's mean).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from libranas.semi_supervised import SemiSupervisedRanker
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 4))
    >>> acc = X[:, 0] + 0.5 * X[:, 1] + 0.1 * rng.normal(size=300)
    >>> y = np.full(300, np.nan)
    >>> y[:40] = acc[:40]                       # 40 labelled rows, 260 unlabelled (NaN)
    >>> model = SemiSupervisedRanker(Ridge(), random_state=0).fit(X, y)
    >>> model.n_labelled_, model.n_unlabelled_
    (40, 260)
    >>> float(model.blend_) in (0.0, 0.25, 0.5, 0.75, 1.0)
    True
    >>> round(model.score(X[40:], acc[40:]), 2) > 0.6  # Kendall's tau on unlabelled rows
    True
    """

    def __init__(
        self,
        ranker: Any = None,
        *,
        blend: Any = "cv",
        blend_grid: Any = (0.0, 0.25, 0.5, 0.75, 1.0),
        min_gain_se: float = 1.5,
        view_gate: bool = True,
        cv: int = 3,
        pretrain_weight: float = 3.0,
        pretrain_alpha: float = 100.0,
        passthrough: Any = None,
        pretrain_only: Any = None,
        arch_model: str = "kernel",
        kernel_gamma: float = 0.1,
        kernel_alpha: float = 0.03,
        unlabelled_value: float = np.nan,
        random_state: Any = None,
        n_jobs: int | None = None,
    ) -> None:
        self.ranker = ranker
        self.blend = blend
        self.blend_grid = blend_grid
        self.min_gain_se = min_gain_se
        self.view_gate = view_gate
        self.cv = cv
        self.pretrain_weight = pretrain_weight
        self.pretrain_alpha = pretrain_alpha
        self.passthrough = passthrough
        self.pretrain_only = pretrain_only
        self.arch_model = arch_model
        self.kernel_gamma = kernel_gamma
        self.kernel_alpha = kernel_alpha
        self.unlabelled_value = unlabelled_value
        self.random_state = random_state
        self.n_jobs = n_jobs

    def __sklearn_tags__(self):  # noqa: ANN204 - sklearn Tags
        tags = super().__sklearn_tags__()
        # the architecture view takes NaN; a given supervised view may not
        tags.input_tags.allow_nan = (
            self.ranker is None or get_tags(self.ranker).input_tags.allow_nan
        )
        tags.target_tags.required = True
        return tags

    # ------------------------------------------------------------------ checks
    @staticmethod
    def _check_number(name: str, value: Any, low: float, high: float, open_low: bool) -> None:
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if (
            not ok
            or not np.isfinite(value)
            or not low <= value <= high
            or (open_low and value == low)
        ):
            interval = f"({low}, {high}]" if open_low else f"[{low}, {high}]"
            raise ValueError(f"{name} must be a finite number in {interval}, got {value!r}")

    def _check_params(self) -> np.ndarray:
        if not (isinstance(self.blend, str) and self.blend == "cv"):
            if isinstance(self.blend, str):
                raise ValueError(f"blend must be 'cv' or a number in [0, 1], got {self.blend!r}")
            self._check_number("blend", self.blend, 0.0, 1.0, False)
        try:
            grid = np.asarray(self.blend_grid, dtype=float).ravel()
        except (TypeError, ValueError):
            raise ValueError(
                f"blend_grid must be numbers in [0, 1], got {self.blend_grid!r}"
            ) from None
        if grid.size == 0 or not np.isfinite(grid).all() or (grid < 0).any() or (grid > 1).any():
            raise ValueError(f"blend_grid must be numbers in [0, 1], got {self.blend_grid!r}")
        if not isinstance(self.cv, numbers.Integral) or isinstance(self.cv, bool) or self.cv < 2:
            raise ValueError(f"cv must be an int >= 2, got {self.cv!r}")
        self._check_number("min_gain_se", self.min_gain_se, 0.0, np.inf, False)
        if not isinstance(self.view_gate, (bool, np.bool_)):
            raise ValueError(f"view_gate must be True or False, got {self.view_gate!r}")
        self._check_number("pretrain_weight", self.pretrain_weight, 0.0, np.inf, False)
        self._check_number("pretrain_alpha", self.pretrain_alpha, 0.0, np.inf, True)
        if not (isinstance(self.arch_model, str) and self.arch_model in ARCH_MODELS):
            raise ValueError(f"arch_model must be one of {ARCH_MODELS}, got {self.arch_model!r}")
        self._check_number("kernel_gamma", self.kernel_gamma, 0.0, np.inf, True)
        self._check_number("kernel_alpha", self.kernel_alpha, 0.0, np.inf, True)
        if not isinstance(self.unlabelled_value, numbers.Real):
            raise TypeError(f"unlabelled_value must be a number, got {self.unlabelled_value!r}")
        check_random_state(self.random_state)
        if self.ranker is not None and not (
            hasattr(self.ranker, "fit") and hasattr(self.ranker, "predict")
        ):
            raise TypeError(f"ranker must have fit and predict methods, got {self.ranker!r}")
        return np.unique(grid)

    def _view_ranker(self) -> Any:
        if self.ranker is None:
            # the same seed as a plain ZCRanker(random_state=...): its view is that ranker
            return ZCRanker(random_state=self.random_state, n_jobs=self.n_jobs)
        return clone(self.ranker)

    def _select_columns(self, name: str, value: Any) -> np.ndarray:
        """Boolean mask of the columns ``value`` (names, glob patterns or positions) names."""
        chosen = np.zeros(self.n_features_in_, dtype=bool)
        if value is None:
            return chosen
        if isinstance(value, (str, numbers.Integral)):
            raise TypeError(
                f"{name} must be a sequence of column names or positions, got {value!r}"
            )
        names = getattr(self, "feature_names_in_", None)
        names = None if names is None else [str(n) for n in names]
        chosen[column_indices(value, names, self.n_features_in_, name)] = True
        return chosen

    # ------------------------------------------------------------------ representation
    def _representation(self, X: np.ndarray) -> np.ndarray:
        """Proxy columns as normalised ranks among the fitted rows (NaN lowest), passthrough
        columns as they are (NaN at the fitted mean), standardised; then the pre-trained
        columns (weighted)."""
        R = np.array(X, dtype=float, copy=True)
        for j, knots in zip(np.flatnonzero(self.ranked_mask_), self.rank_knots_, strict=True):
            r = _apply_knots(X[:, j], *knots)
            R[:, j] = np.where(np.isnan(r), 0.0, r)
        R = np.where(np.isnan(R), self.z_mean_, R)
        Z = (R - self.z_mean_) / self.z_scale_
        if self.pretrain_coef_ is None:
            return Z
        Q = Z[:, ~self.ranked_mask_] @ self.pretrain_coef_ + self.pretrain_intercept_
        Q = (Q - self.pretrain_mean_) / self.pretrain_scale_
        return np.hstack([Z, float(self.pretrain_weight) * Q])

    def _fit_representation(self, X: np.ndarray) -> np.ndarray:
        from sklearn.linear_model import Ridge

        pretrain_only = self._select_columns("pretrain_only", self.pretrain_only)
        self.ranked_mask_ = ~(self._select_columns("passthrough", self.passthrough) | pretrain_only)
        self.rank_knots_ = [_rank_knots(X[:, j]) for j in np.flatnonzero(self.ranked_mask_)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column: mean 0
            self.z_mean_ = np.nan_to_num(np.nanmean(X, axis=0))
        self.z_mean_[self.ranked_mask_] = 0.0
        self.z_scale_ = np.ones(X.shape[1])
        self.pretrain_coef_ = self.pretrain_intercept_ = None
        R = self._representation(X)
        self.z_mean_ = self.z_mean_ + R.mean(axis=0)
        scale = R.std(axis=0)
        self.z_scale_ = np.where(scale > 0, scale, 1.0)
        Z = self._representation(X)
        if self.pretrain_weight > 0 and self.ranked_mask_.any() and not self.ranked_mask_.all():
            # pre-training: the proxies' ranks from the architecture columns, on every row
            pre = Ridge(alpha=float(self.pretrain_alpha)).fit(
                Z[:, ~self.ranked_mask_], Z[:, self.ranked_mask_]
            )
            n_pass, n_ranked = int((~self.ranked_mask_).sum()), int(self.ranked_mask_.sum())
            # (n_ranked, n_pass), or (n_pass,) for a single proxy column
            coef = np.asarray(pre.coef_, dtype=float).reshape(n_ranked, n_pass)
            self.pretrain_coef_ = coef.T
            self.pretrain_intercept_ = np.asarray(pre.intercept_, dtype=float).reshape(n_ranked)
            Q = Z[:, ~self.ranked_mask_] @ self.pretrain_coef_ + self.pretrain_intercept_
            self.pretrain_mean_ = Q.mean(axis=0)
            q_scale = Q.std(axis=0)
            self.pretrain_scale_ = np.where(q_scale > 0, q_scale, 1.0)
            Z = self._representation(X)
        # the architecture view's columns: all but pretrain_only (read by pre-training only)
        self.view_mask_ = np.concatenate(
            [~pretrain_only, np.ones(Z.shape[1] - self.n_features_in_, dtype=bool)]
        )
        if not self.view_mask_.any():
            raise ValueError(
                "pretrain_only leaves the architecture view no column: name fewer columns "
                "or give passthrough columns to pre-train from"
            )
        return Z[:, self.view_mask_]

    # ------------------------------------------------------------------ fit / predict
    def fit(self, X: Any, y: Any) -> SemiSupervisedRanker:
        """Fit on labelled and unlabelled rows.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_architectures, n_features)
            Every architecture available: labelled and unlabelled. NaN allowed.
        y : array-like of shape (n_architectures,)
            Accuracies of the labelled rows; ``unlabelled_value`` (NaN by default) marks the
            unlabelled ones. Labelled values must be finite.

        Returns
        -------
        self : SemiSupervisedRanker
        """
        grid = self._check_params()
        check_has_columns(X, type(self).__name__)
        X_df = X
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite=False, reset=True)
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None"
            )
        try:
            y = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"y must hold numbers (accuracies) or the marker: {exc}") from None
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected; it is ravelled",
                DataConversionWarning,
                stacklevel=2,
            )
            y = y.ravel()
        if y.ndim != 1 or y.shape[0] != X.shape[0]:
            raise ValueError(f"y must have shape ({X.shape[0]},), got {y.shape}")
        unlabelled = unlabelled_mask(y, self.unlabelled_value)
        labelled = ~unlabelled
        if np.isinf(X).any():
            raise ValueError("X contains infinity; replace it explicitly (NaN is allowed)")
        if not np.isfinite(y[labelled]).all():
            raise ValueError(
                "y has non-finite values that are not the unlabelled marker "
                f"(unlabelled_value={self.unlabelled_value!r})"
            )
        n_lab = int(labelled.sum())
        if n_lab < MIN_LEARNED_ROWS:
            raise ValueError(
                f"SemiSupervisedRanker needs at least {MIN_LEARNED_ROWS} labelled rows, got "
                f"n_samples={n_lab} labelled (unlabelled rows are marked by unlabelled_value="
                f"{self.unlabelled_value!r})"
            )
        if np.ptp(y[labelled]) == 0:
            raise ValueError("the labelled y is constant: there is no order to learn")
        self.n_labelled_, self.n_unlabelled_ = n_lab, int(unlabelled.sum())
        rows = np.flatnonzero(labelled)
        Z = self._fit_representation(X)

        # the weight of the architecture view: inner cross-validation on the labelled rows
        self.cv_scores_ = self.cv_fold_scores_ = None
        if isinstance(self.blend, str):
            if n_lab >= MIN_ROWS_PER_FOLD * int(self.cv):
                self.cv_fold_scores_ = self._cross_validate(X_df, X, Z, y, rows, grid)
                self.cv_scores_ = self.cv_fold_scores_.mean(axis=0)
                i = choose_blend(
                    self.cv_fold_scores_, grid, float(self.min_gain_se), bool(self.view_gate)
                )
                self.blend_ = float(grid[i])
            else:
                self.blend_ = float(grid[0])
        else:
            self.blend_ = float(self.blend)

        self.ranker_, self.arch_model_, scales = self._fit_views(X_df, X, Z, y, rows)
        self.blend_scales_ = scales
        return self

    def _fit_views(
        self, X_df: Any, X: np.ndarray, Z: np.ndarray, y: np.ndarray, rows: np.ndarray
    ) -> tuple[Any, Any, tuple[tuple[float, float], tuple[float, float]]]:
        """Both views fitted on ``rows``, and their predictions' scales on those rows."""
        X_rows = X_df.iloc[rows] if hasattr(X_df, "iloc") else X[rows]
        ranker = self._view_ranker().fit(X_rows, y[rows])
        arch = self._fit_arch_model(Z[rows], y[rows])
        p_sup = np.asarray(ranker.predict(X_rows), dtype=float)
        return ranker, arch, (_scale(p_sup), _scale(arch.predict(Z[rows])))

    def _fit_arch_model(self, Z: np.ndarray, y: np.ndarray) -> Any:
        """The architecture view's regression on labelled rows ``Z`` (view columns), ``y``."""
        if self.arch_model == "ridge":
            from sklearn.linear_model import RidgeCV

            return RidgeCV(alphas=RIDGE_ALPHAS).fit(Z, rankdata(y) / len(y))
        from sklearn.kernel_ridge import KernelRidge

        sd = float(np.std(y))
        target = (y - np.mean(y)) / (sd if sd > 0 else 1.0)
        gamma = float(self.kernel_gamma) / Z.shape[1]
        return KernelRidge(kernel="rbf", gamma=gamma, alpha=float(self.kernel_alpha)).fit(Z, target)

    def _cross_validate(
        self,
        X_df: Any,
        X: np.ndarray,
        Z: np.ndarray,
        y: np.ndarray,
        rows: np.ndarray,
        grid: np.ndarray,
    ) -> np.ndarray:
        seed = (
            int(self.random_state)
            if isinstance(self.random_state, numbers.Integral)
            else int(draw_seeds(self.random_state, 1)[0])
        )
        order = np.random.default_rng(seed).permutation(rows)
        sup, arch, held_y = [], [], []
        for held in np.array_split(order, int(self.cv)):
            train = np.setdiff1d(rows, held)
            ranker, model, ((ms, ss), (ma, sa)) = self._fit_views(X_df, X, Z, y, train)
            X_held = X_df.iloc[held] if hasattr(X_df, "iloc") else X[held]
            sup.append((np.asarray(ranker.predict(X_held), dtype=float) - ms) / ss)
            arch.append((model.predict(Z[held]) - ma) / sa)
            held_y.append(y[held])
        return blend_cv_scores(sup, arch, held_y, grid)

    def predict(self, X: Any) -> np.ndarray:
        """Scores, higher = predicted better (a blend of standardised views, not accuracies).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_architectures, n_features)

        Returns
        -------
        ndarray of shape (n_architectures,)
        """
        check_is_fitted(self, "arch_model_")
        X_df = X
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite=False, reset=False)
        if np.isinf(X).any():
            raise ValueError("X contains infinity; replace it explicitly (NaN is allowed)")
        (ms, ss), (ma, sa) = self.blend_scales_
        p_sup = (np.asarray(self.ranker_.predict(X_df), dtype=float) - ms) / ss
        if self.blend_ == 0:
            return p_sup
        p_arch = (self.arch_model_.predict(self._representation(X)[:, self.view_mask_]) - ma) / sa
        return (1.0 - self.blend_) * p_sup + self.blend_ * p_arch

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Kendall's tau between :meth:`predict` and ``y`` (rows marked unlabelled ignored)."""
        y = np.asarray(y, dtype=float)
        keep = ~unlabelled_mask(y, self.unlabelled_value)
        return rank_correlation(y[keep], self.predict(X)[keep], method="kendall")


def _scale(p: np.ndarray) -> tuple[float, float]:
    sd = float(np.std(p))
    return float(np.mean(p)), sd if sd > 0 else 1.0
