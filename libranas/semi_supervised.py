"""A few-label ranker that also learns from the unlabelled architectures.

A few-label user has the unlabelled architectures of the space too: their proxies and graph
features cost nothing to compute. :class:`SemiSupervisedRanker` uses them twice (co-training,
Blum & Mitchell 1998, with a kernel ridge regressor as the second view):

1. **Transductive representation.** Every proxy column is replaced by its normalised rank
   among *all* rows given to :meth:`~SemiSupervisedRanker.fit` (labelled and unlabelled);
   architecture columns (``passthrough``: graph features, one-hot) keep their values; all
   are standardised over all rows: the geometry the kernel sees is that of the space, not of
   the few labelled rows.
2. **Pseudo-labels.** A supervised ranker (default: ``ZCRanker()``, libranas' few-label
   default) is fitted on the labelled rows and ranks the unlabelled ones; a kernel ridge
   regressor (RBF) is then fitted on all rows: labelled rows with their rank targets
   (weight 1), unlabelled rows with the ranker's ranks as targets (weight
   ``pseudo_weight``), so the kernel model interpolates the labels along the unlabelled
   architectures instead of between a few labelled points only.

The score is a blend of both views, each standardised on the labelled rows.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np
from scipy.stats import rankdata
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils.validation import check_is_fitted, validate_data

from libranas._validation import check_has_columns, check_random_state, column_indices
from libranas.ranker import MIN_LEARNED_ROWS, ZCRanker, _apply_knots, _rank_knots

__all__ = ["SemiSupervisedRanker", "unlabelled_mask"]


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


def _rbf(A: np.ndarray, B: np.ndarray, gamma: float) -> np.ndarray:
    sq = (A**2).sum(1)[:, None] + (B**2).sum(1)[None, :] - 2.0 * A @ B.T
    return np.exp(-gamma * np.maximum(sq, 0.0))


class SemiSupervisedRanker(RegressorMixin, BaseEstimator):
    """Rank architectures from a few labels and the unlabelled architectures (co-training).

    Parameters
    ----------
    ranker : estimator or None, default=None
        The supervised view, fitted on the labelled rows only; any regressor / ranker with
        ``fit(X, y)`` and ``predict(X)`` (a clone is fitted). None: ``ZCRanker()`` (the
        few-label default ensemble), seeded from ``random_state``.
    blend : float in [0, 1], default=0.5
        Weight of the kernel view in the score (0: the supervised ranker alone, which then
        ignores the unlabelled rows).
    pseudo_weight : float >= 0, default=0.3
        Weight of an unlabelled row (with the supervised view's rank as target) relative to
        a labelled row in the kernel ridge fit. 0: the unlabelled rows only shape the
        representation.
    gamma : float > 0, default=0.3
        RBF kernel width, divided by the number of columns: ``exp(-gamma / p * |z - z'|^2)``
        on the standardised ranks ``z``.
    alpha : float > 0, default=0.1
        Kernel ridge regularisation.
    passthrough : None or sequence of str or int, default=None
        Columns the kernel view uses as they are (standardised), not as ranks: architecture
        features such as ``["graph:*", "onehot:*"]`` (names, glob patterns or positions, as
        in :class:`~libranas.ZCRanker`). The supervised view receives every column
        unchanged (give it its own ``passthrough`` through ``ranker`` if it needs one).
    unlabelled_value : float, default=nan
        The ``y`` value that marks an unlabelled row (see :func:`unlabelled_mask`).
    random_state : int, RandomState instance, Generator or None, default=None
        Seed of the default ``ZCRanker`` (its supervised view is then exactly
        ``ZCRanker(random_state=random_state)`` fitted on the labelled rows). A given
        ``ranker`` keeps its own seed. The kernel view is deterministic. Same int, same
        scores.
    n_jobs : int or None, default=None
        Passed to the default ``ZCRanker`` (threads); results do not depend on it.

    Attributes
    ----------
    ranker_ : estimator
        The supervised view, fitted on the labelled rows.
    n_labelled_, n_unlabelled_ : int
        Rows used with and without labels.
    rank_knots_ : list of (ndarray, ndarray)
        Per column, the values of all fitted rows and their normalised ranks.
    z_mean_, z_scale_ : ndarray of shape (n_features_in_,)
        Standardisation of the ranks over all fitted rows.
    dual_coef_ : ndarray of shape (n_samples_fit,)
        Kernel ridge coefficients over the fitted rows (``Z_fit_``).
    blend_scales_ : ((float, float), (float, float))
        Mean and std of each view's predictions on the labelled rows.
    n_features_in_, feature_names_in_
        As in scikit-learn.

    Notes
    -----
    Hyper-parameters (``blend``, ``pseudo_weight``, ``gamma``, ``alpha``) were chosen on
    development splits (seeds 1000-1004, 100 labels, NB301 / NB201 CIFAR-10 /
    TransNAS-Bench-101-micro jigsaw and class_object) that ``benchmarks/semi_supervised.py``
    does not report. The kernel view sees the columns through their ranks, so proxies with
    wild scales (synflow 1e47) and NaN (ranked lowest) are fine; ``X`` may hold NaN.

    Examples
    --------
    >>> import numpy as np
    >>> from libranas.semi_supervised import SemiSupervisedRanker
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 4))
    >>> acc = X[:, 0] + 0.5 * np.sin(3 * X[:, 1]) + 0.1 * rng.normal(size=300)
    >>> y = np.full(300, np.nan)
    >>> y[:40] = acc[:40]                       # 40 labelled rows, 260 unlabelled (NaN)
    >>> model = SemiSupervisedRanker(random_state=0).fit(X, y)
    >>> model.n_labelled_, model.n_unlabelled_
    (40, 260)
    >>> round(model.score(X[40:], acc[40:]), 2) > 0.6  # Kendall's tau on unlabelled rows
    True
    """

    def __init__(
        self,
        ranker: Any = None,
        *,
        blend: float = 0.5,
        pseudo_weight: float = 0.3,
        gamma: float = 0.3,
        alpha: float = 0.1,
        passthrough: Any = None,
        unlabelled_value: float = np.nan,
        random_state: Any = None,
        n_jobs: int | None = None,
    ) -> None:
        self.ranker = ranker
        self.blend = blend
        self.pseudo_weight = pseudo_weight
        self.gamma = gamma
        self.alpha = alpha
        self.passthrough = passthrough
        self.unlabelled_value = unlabelled_value
        self.random_state = random_state
        self.n_jobs = n_jobs

    def __sklearn_tags__(self):  # noqa: ANN204 - sklearn Tags
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.target_tags.required = True
        return tags

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> None:
        for name, low, high in (
            ("blend", 0.0, 1.0),
            ("pseudo_weight", 0.0, np.inf),
            ("gamma", 0.0, np.inf),
            ("alpha", 0.0, np.inf),
        ):
            value = getattr(self, name)
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
            if not ok or not np.isfinite(value) or not low <= value <= high:
                raise ValueError(
                    f"{name} must be a finite number in [{low}, {high}], got {value!r}"
                )
        if self.gamma == 0 or self.alpha == 0:
            raise ValueError("gamma and alpha must be > 0")
        if not isinstance(self.unlabelled_value, numbers.Real):
            raise TypeError(f"unlabelled_value must be a number, got {self.unlabelled_value!r}")
        check_random_state(self.random_state)
        if self.ranker is not None and not (
            hasattr(self.ranker, "fit") and hasattr(self.ranker, "predict")
        ):
            raise TypeError(f"ranker must have fit and predict methods, got {self.ranker!r}")

    def _view_ranker(self) -> Any:
        if self.ranker is None:
            # the same seed as a plain ZCRanker(random_state=...): its view is that ranker
            return ZCRanker(random_state=self.random_state, n_jobs=self.n_jobs)
        return clone(self.ranker)

    def _representation(self, X: np.ndarray) -> np.ndarray:
        """Proxy columns as normalised ranks among the fitted rows (NaN lowest), passthrough
        columns as they are (NaN at the fitted mean), standardised."""
        R = np.array(X, dtype=float, copy=True)
        for j, knots in zip(np.flatnonzero(self.ranked_mask_), self.rank_knots_, strict=True):
            r = _apply_knots(X[:, j], *knots)
            R[:, j] = np.where(np.isnan(r), 0.0, r)
        R = np.where(np.isnan(R), self.z_mean_, R)
        return (R - self.z_mean_) / self.z_scale_

    def _resolve_passthrough(self) -> np.ndarray:
        ranked = np.ones(self.n_features_in_, dtype=bool)
        if self.passthrough is None:
            return ranked
        if isinstance(self.passthrough, (str, numbers.Integral)):
            raise TypeError(
                f"passthrough must be a sequence of column names or positions, "
                f"got {self.passthrough!r}"
            )
        names = getattr(self, "feature_names_in_", None)
        names = None if names is None else [str(n) for n in names]
        ranked[column_indices(self.passthrough, names, self.n_features_in_, "passthrough")] = 0
        return ranked

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
        self._check_params()
        check_has_columns(X, type(self).__name__)
        X_df = X
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite=False, reset=True)
        try:
            y = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"y must hold numbers (accuracies) or the marker: {exc}") from None
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
                f"{n_lab} (unlabelled rows are marked by unlabelled_value="
                f"{self.unlabelled_value!r})"
            )
        if np.ptp(y[labelled]) == 0:
            raise ValueError("the labelled y is constant: there is no order to learn")
        self.n_labelled_, self.n_unlabelled_ = n_lab, int(unlabelled.sum())

        # supervised view on the labelled rows (a DataFrame keeps its column names)
        rows = np.flatnonzero(labelled)
        X_lab = X_df.iloc[rows] if hasattr(X_df, "iloc") else X[rows]
        self.ranker_ = self._view_ranker().fit(X_lab, y[labelled])
        p_sup = np.asarray(self.ranker_.predict(X_df), dtype=float)

        # transductive representation over all rows
        self.ranked_mask_ = self._resolve_passthrough()
        self.rank_knots_ = [_rank_knots(X[:, j]) for j in np.flatnonzero(self.ranked_mask_)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column: mean 0
            self.z_mean_ = np.nan_to_num(np.nanmean(X, axis=0))
        self.z_mean_[self.ranked_mask_] = 0.0
        self.z_scale_ = np.ones(X.shape[1])
        R = self._representation(X)
        self.z_mean_ = self.z_mean_ + R.mean(axis=0)
        scale = R.std(axis=0)
        self.z_scale_ = np.where(scale > 0, scale, 1.0)
        Z = self._representation(X)

        # kernel view: labelled rank targets + pseudo-labels (the supervised view's ranks)
        target = np.empty(X.shape[0])
        target[labelled] = rankdata(y[labelled]) / n_lab
        weight = np.ones(X.shape[0])
        fit_rows = labelled.copy()
        if self.n_unlabelled_ and self.pseudo_weight > 0:
            target[unlabelled] = rankdata(p_sup[unlabelled]) / self.n_unlabelled_
            weight[unlabelled] = self.pseudo_weight
            fit_rows[:] = True
        self.Z_fit_ = Z[fit_rows]
        t = target[fit_rows]
        self.target_offset_ = float(t.mean())
        K = _rbf(self.Z_fit_, self.Z_fit_, self._gamma())
        K[np.diag_indices_from(K)] += self.alpha / weight[fit_rows]
        self.dual_coef_ = np.linalg.solve(K, t - self.target_offset_)

        p_ker = self._kernel_predict(Z[labelled])
        self.blend_scales_ = (_scale(p_sup[labelled]), _scale(p_ker))
        return self

    def _gamma(self) -> float:
        return float(self.gamma) / self.n_features_in_

    def _kernel_predict(self, Z: np.ndarray) -> np.ndarray:
        return _rbf(Z, self.Z_fit_, self._gamma()) @ self.dual_coef_ + self.target_offset_

    def predict(self, X: Any) -> np.ndarray:
        """Scores, higher = predicted better (a blend of standardised views, not accuracies).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_architectures, n_features)

        Returns
        -------
        ndarray of shape (n_architectures,)
        """
        check_is_fitted(self, "dual_coef_")
        X_df = X
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite=False, reset=False)
        if np.isinf(X).any():
            raise ValueError("X contains infinity; replace it explicitly (NaN is allowed)")
        p_sup = np.asarray(self.ranker_.predict(X_df), dtype=float)
        p_ker = self._kernel_predict(self._representation(X))
        (ms, ss), (mk, sk) = self.blend_scales_
        return (1.0 - self.blend) * (p_sup - ms) / ss + self.blend * (p_ker - mk) / sk

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Kendall's tau between :meth:`predict` and ``y`` (rows marked unlabelled ignored)."""
        from libranas._validation import rank_correlation

        y = np.asarray(y, dtype=float)
        keep = ~unlabelled_mask(y, self.unlabelled_value)
        return rank_correlation(y[keep], self.predict(X)[keep], method="kendall")


def _scale(p: np.ndarray) -> tuple[float, float]:
    sd = float(np.std(p))
    return float(np.mean(p)), sd if sd > 0 else 1.0
