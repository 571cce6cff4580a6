"""LIBRA proxy selection as a scikit-learn feature selector.

LIBRA (Casarin et al., CVPR 2025) picks, for one benchmark, up to three zero-cost proxies to
combine: the best-correlated one, the most redundant of its close competitors (minimum
information gain), and the competitor whose size bias best matches the benchmark's.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted, validate_data

from libranas._validation import (
    align_y,
    check_has_columns,
    column_index,
    column_indices,
    rank_correlation,
)
from libranas._validation import is_int as _is_int
from libranas._warnings import user_stacklevel

__all__ = ["LibraSelector", "TARGET_KEY", "sturges_bins"]

#: Label of the target's entry in :attr:`LibraSelector.bias_`.
TARGET_KEY = "(y)"


def sturges_bins(n: int) -> int:
    """Number of histogram bins by Sturges' rule with the natural log.

    ``round(1 + 3.322 * ln(n))``, the rule NAS-Bench-Suite-Zero and LIBRA use.

    Parameters
    ----------
    n : int
        Number of samples, at least 1.

    Returns
    -------
    int
        Number of equal-width bins.

    Examples
    --------
    >>> sturges_bins(1000)
    24
    >>> sturges_bins(100)
    16
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"sturges_bins needs a positive integer number of samples, got {n!r}")
    return int(round(1 + 3.322 * math.log(int(n))))


def _bin_codes(x: np.ndarray, n_bins: int) -> np.ndarray:
    """Equal-width bin index of each value, exactly as ``np.histogram(x, n_bins)`` bins it.

    Also where ``np.histogram`` cannot: a range that overflows float64 (values near +-1e308,
    e.g. synflow) is halved first (exact, same bins); a range too narrow for ``n_bins``
    distinct edges (values a few ulps apart) is binned by the equal-width formula.
    """
    lo, hi = float(np.min(x)), float(np.max(x))
    if not math.isfinite(hi - lo):
        x = x * 0.5
    try:
        edges = np.histogram_bin_edges(x, bins=n_bins)
    except ValueError:  # "Too many bins for data range": edges would not be distinct
        lo, hi = float(np.min(x)), float(np.max(x))
        codes = np.floor((x - lo) / (hi - lo) * n_bins).astype(np.intp)
        return np.clip(codes, 0, n_bins - 1)
    codes = np.searchsorted(edges, x, side="right") - 1
    # np.histogram closes the last bin on the right
    codes[codes == n_bins] = n_bins - 1
    return codes


def _joint_entropy(*codes: np.ndarray) -> float:
    """Plug-in Shannon entropy (nats) of the joint histogram of integer bin codes."""
    _, counts = np.unique(np.column_stack(codes), axis=0, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum())


def _information_gain(y: np.ndarray, z1: np.ndarray, h: np.ndarray, n_bins: int) -> float:
    """IG(h) = H(y | z1) - H(y | z1, h) from equal-width histograms with ``n_bins`` per axis."""
    cy, cz, ch = (_bin_codes(v, n_bins) for v in (y, z1, h))
    h_y_given_z = _joint_entropy(cy, cz) - _joint_entropy(cz)
    h_y_given_zh = _joint_entropy(cy, cz, ch) - _joint_entropy(cz, ch)
    return h_y_given_z - h_y_given_zh


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    return rank_correlation(a, b, method="spearman")


class LibraSelector(SelectorMixin, BaseEstimator):
    """Select zero-cost proxies with the LIBRA rule (Casarin et al., CVPR 2025).

    Given a proxy matrix ``X`` (architectures x proxies) and validation accuracies ``y``:

    1. ``z1`` = the proxy with the highest Spearman rho with ``y`` (``rho_best``).
    2. Window ``W`` = the other proxies with ``rho_best - window < rho <= rho_best``.
    3. ``z2`` = the member of ``W`` with the **minimum** information gain
       ``IG(h) = H(y | z1) - H(y | z1, h)`` (the paper's deliberate choice). Entropies are
       plug-in estimates (nats) from equal-width histograms, each variable binned separately
       over its own range, with ``bins`` bins per axis.
    4. ``z3`` = the member of ``W`` minus ``{z2}`` whose Spearman correlation with the ``bias``
       column (number of parameters) is closest to the target's:
       ``argmin |b_y - b_h|`` ("bias re-alignment").
    5. The selection is ``[z1, z2, z3]``; fewer when the window holds fewer than two proxies
       (an empty window selects only ``z1``; a one-member window selects ``[z1, z2]``).

    Parameters
    ----------
    window : float, default=0.1
        Width of the correlation window below ``rho_best`` (the paper's empirical 0.1).
        Must be > 0.
    bias : "auto", str, int or None, default="auto"
        The size column used in step 4. ``"auto"``: the column named ``"params"`` when ``X``
        has one (the paper's choice; a DataFrame from :func:`~libranas.load_benchmark` or
        :class:`~libranas.ProxyFeaturizer` with the ``params`` proxy), otherwise no bias step,
        also when that column is unusable (constant or too few finite rows; with a warning).
        The column used is recorded in ``bias_column_``. Any other string names a column of a
        DataFrame ``X`` (an error when there is none); an int is a positional column index
        (the only explicit form accepted when ``X`` is an ndarray, whose columns are named
        ``x0, x1, ...``; negative positions count from the end). The bias column is a proxy
        like any other (it can be selected) unless it is listed in ``passthrough``; in that
        case it is still used to compute the bias correlations. ``None`` skips step 4:
        ``z3`` is then the window member with the next-lowest information gain after ``z2``.
    bins : "sturges" or int, default="sturges"
        Bins per axis for the entropy histograms. ``"sturges"`` uses
        ``round(1 + 3.322 * ln N)`` (:func:`sturges_bins`; 24 bins for N = 1000), where N is the
        number of rows used for that statistic. An int >= 2 fixes the number of bins.
    max_proxies : int, default=3
        Keep at most this many proxies of ``[z1, z2, z3]`` (1, 2 or 3).
    passthrough : list of str or int, default=None
        Columns that are not proxies (for example an architecture encoding). They take no part
        in the selection and are always kept in the output, after the selected proxies, in
        input order. Strings name DataFrame columns, ints are positional indices; a string
        with ``*``, ``?`` or ``[`` is a glob pattern for every column it matches (e.g.
        ``"archfeaturizer__*"`` after ``make_union(ProxyFeaturizer(...), ArchFeaturizer(...))``
        with ``set_output(transform="pandas")``).

    Attributes
    ----------
    selected_ : list of str
        The selected proxies in LIBRA order ``[z1, z2, z3]``.
    support_ : ndarray of shape (n_features_in_,), dtype=bool
        True for the selected proxies and the passthrough columns.
    correlations_ : pandas.Series
        Spearman rho of every proxy column (passthrough columns excluded) with ``y``; NaN for
        a column that was excluded (see ``excluded_``).
    information_gain_ : pandas.Series
        ``IG(h)`` for the window members (input order), in nats; NaN where it could not be
        computed. Empty when the window is empty.
    bias_ : pandas.Series or None
        Spearman correlation of every usable proxy with the ``bias`` column, plus the target's
        ``b_y`` under the label ``"(y)"`` (:data:`TARGET_KEY`). None when there was no bias
        step (``bias=None``, or ``bias="auto"`` without a usable ``params`` column).
    bias_column_ : str or None
        Name of the column used for the bias step (``"params"``, or ``x<i>`` for a position
        into an ndarray); None when the bias step was skipped.
    window_ : list of str
        The window members ``W`` (input order).
    excluded_ : dict of str to str
        Proxy columns that could not be candidates, with the reason.
    passthrough_ : list of str
        Names of the passthrough columns.
    n_bins_ : int
        Bins per axis for the full sample (N = n_samples).
    n_features_in_ : int
        Number of columns seen in :meth:`fit`.
    feature_names_in_ : ndarray of str
        Column names seen in :meth:`fit`; only defined when ``X`` had string column names.

    Notes
    -----
    *Output order.* :class:`~sklearn.feature_selection.SelectorMixin` keeps columns in input
    order; this selector instead outputs ``selected_`` in LIBRA order followed by the
    passthrough columns. :meth:`transform`, :meth:`get_feature_names_out` and
    :meth:`inverse_transform` all use that order; ``support_`` / :meth:`get_support` give the
    (unordered) mask.

    *Ties* (equal rho, information gain or bias distance) go to the column that comes first
    in ``X``.

    *Missing values.* NaN in ``X`` is allowed and never imputed: each statistic uses the rows
    where the columns it involves are finite (the target must be finite everywhere). ``+-inf``
    is treated the same way, with a warning naming the column (it usually marks an overflowed
    score). A proxy with fewer finite rows than the binning needs (7 for ``"sturges"``,
    ``max(3, bins)`` otherwise), or constant on its finite rows (rho undefined), is excluded
    with a warning naming it. A window member whose rows shared with ``z1`` are too few gets
    IG = NaN and is skipped in step 3 (and in step 4 when its bias correlation is undefined).

    *Errors.* ``ValueError`` for: NaN/inf in ``y``; ``X``/``y`` length mismatch; fewer rows than
    the binning needs; a constant ``y``; a ``bias`` or ``passthrough`` column that does not
    exist (the message lists the available columns); a constant bias column; no usable
    proxy column.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from libranas.selector import LibraSelector
    >>> rng = np.random.default_rng(0)
    >>> acc = rng.normal(size=200)
    >>> size = acc + rng.normal(scale=1.0, size=200)
    >>> X = pd.DataFrame({
    ...     "nwot": acc + rng.normal(scale=0.3, size=200),
    ...     "jacov": acc + rng.normal(scale=0.35, size=200),
    ...     "synflow": acc + rng.normal(scale=0.4, size=200),
    ...     "snip": rng.normal(size=200),
    ...     "params": size,
    ... })
    >>> sel = LibraSelector().fit(X, acc)
    >>> sel.selected_
    ['nwot', 'jacov', 'synflow']
    >>> sel.correlations_.round(2).to_dict()
    {'nwot': 0.95, 'jacov': 0.94, 'synflow': 0.94, 'snip': 0.06, 'params': 0.67}
    >>> sel.window_
    ['jacov', 'synflow']
    >>> sel.information_gain_.round(3).to_dict()
    {'jacov': 0.731, 'synflow': 0.786}
    >>> list(sel.get_feature_names_out())
    ['nwot', 'jacov', 'synflow']
    >>> sel.transform(X).shape
    (200, 3)
    """

    def __init__(
        self,
        window: float = 0.1,
        bias: str | int | None = "auto",
        bins: str | int = "sturges",
        max_proxies: int = 3,
        passthrough: Sequence[str | int] | None = None,
    ) -> None:
        self.window = window
        self.bias = bias
        self.bins = bins
        self.max_proxies = max_proxies
        self.passthrough = passthrough

    # ------------------------------------------------------------------ validation helpers
    def _check_params(self) -> None:
        w = self.window
        if isinstance(w, bool) or not isinstance(w, numbers.Real) or not w > 0:
            raise ValueError(f"window must be a number > 0, got {w!r}")
        if self.bias is not None and not (isinstance(self.bias, str) or _is_int(self.bias)):
            raise TypeError(
                f"bias must be a column name (str), a column index (int) or None, got {self.bias!r}"
            )
        if isinstance(self.bins, str):
            if self.bins != "sturges":
                raise ValueError(f"bins must be 'sturges' or an int >= 2, got {self.bins!r}")
        elif not _is_int(self.bins) or self.bins < 2:
            raise ValueError(f"bins must be 'sturges' or an int >= 2, got {self.bins!r}")
        if not _is_int(self.max_proxies) or self.max_proxies not in (1, 2, 3):
            raise ValueError(f"max_proxies must be 1, 2 or 3, got {self.max_proxies!r}")
        pt = self.passthrough
        if pt is not None:
            if isinstance(pt, str | bytes) or not isinstance(pt, Sequence | np.ndarray):
                raise TypeError(
                    f"passthrough must be a list of column names or indices, got {pt!r}"
                )
            for key in pt:
                if not (isinstance(key, str) or _is_int(key)):
                    raise TypeError(
                        f"passthrough entries must be column names (str) or indices (int), "
                        f"got {key!r}"
                    )

    def _min_rows(self) -> int:
        """Fewest finite rows a statistic needs: at least as many rows as bins, and >= 3."""
        if self.bins == "sturges":
            n = 3
            while sturges_bins(n) > n:
                n += 1
            return n  # 7
        return max(3, int(self.bins))

    def _n_bins(self, n: int) -> int:
        return sturges_bins(n) if self.bins == "sturges" else int(self.bins)

    def _resolve(self, key: str | int, names: list[str], has_names: bool, what: str) -> int:
        return column_index(key, names if has_names else None, len(names), what)

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, y: Any) -> LibraSelector:
        """Run the LIBRA selection.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_architectures, n_columns)
            Proxy scores (bigger = predicted better), plus any passthrough columns.
            NaN allowed (see Notes of the class).
        y : array-like of shape (n_architectures,)
            Validation accuracies; must be finite.

        Returns
        -------
        self : LibraSelector
            The fitted selector.
        """
        self._check_params()
        X, y, names, has_names = self._validate_fit_data(X, y)
        n, p = X.shape
        min_rows = self._min_rows()
        bins_desc = "'sturges' binning" if self.bins == "sturges" else f"bins={self.bins}"
        if n < min_rows:
            raise ValueError(
                f"LibraSelector needs at least {min_rows} architectures for {bins_desc} "
                f"(as many rows as histogram bins), got {n}"
            )
        if np.ptp(y) == 0:
            raise ValueError("y is constant: Spearman correlations with it are undefined")
        pt_idx = column_indices(
            self.passthrough or [], names if has_names else None, p, "passthrough"
        )
        bias_idx = self._bias_index(names, has_names)
        finite = np.isfinite(X)
        _warn_infinite_columns(X, names)

        proxy_idx = [j for j in range(p) if j not in pt_idx]
        if not proxy_idx:
            raise ValueError("no proxy columns: every column of X is listed in passthrough")
        # step 1: Spearman rho of each usable proxy column; z1 the best
        rho, excluded = _proxy_correlations(X, y, finite, proxy_idx, names, min_rows, bins_desc)
        candidates = list(rho)  # input order
        z1 = max(candidates, key=lambda j: rho[j])  # max() keeps the first of equal maxima
        # step 2: the window of close competitors
        window = [j for j in candidates if j != z1 and rho[z1] - self.window < rho[j] <= rho[z1]]
        # step 3: information gain of each window member given z1
        ig = _window_information_gain(X, y, finite, z1, window, names, min_rows, self._n_bins)
        # step 4: bias correlations of every candidate and of the target
        auto_bias = isinstance(self.bias, str) and self.bias == "auto"
        bias_idx, b, b_target = _bias_correlations(
            X, y, finite, bias_idx, candidates, names, min_rows, auto_bias
        )
        # step 5: z1, then the minimum-gain member, then the best bias match
        selected = _select(z1, window, ig, b, b_target, bias_idx, self.max_proxies)

        self._set_fitted(
            names, n, p, selected, pt_idx, proxy_idx, rho, window, ig, bias_idx, b, b_target
        )
        self.excluded_ = excluded
        return self

    def _validate_fit_data(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray, list[str], bool]:
        """X and y as float arrays (NaN allowed in X), and the column names."""
        check_has_columns(X, type(self).__name__)
        y = align_y(X, y, type(self).__name__)  # pandas y paired with X by index
        X, y = validate_data(
            self,
            X,
            y,
            dtype=np.float64,
            ensure_all_finite=False,
            ensure_min_samples=3,
            y_numeric=True,
        )
        y = np.asarray(y, dtype=np.float64)
        has_names = hasattr(self, "feature_names_in_")
        names = (
            [str(c) for c in self.feature_names_in_]
            if has_names
            else [f"x{i}" for i in range(X.shape[1])]
        )
        return X, y, names, has_names

    def _bias_index(self, names: list[str], has_names: bool) -> int | None:
        """The column of the bias step: ``params`` for ``"auto"`` (when named), or none."""
        if isinstance(self.bias, str) and self.bias == "auto":
            return names.index("params") if has_names and "params" in names else None
        if self.bias is None:
            return None
        return self._resolve(self.bias, names, has_names, "bias")

    def _set_fitted(
        self,
        names: list[str],
        n: int,
        p: int,
        selected: list[int],
        pt_idx: list[int],
        proxy_idx: list[int],
        rho: dict[int, float],
        window: list[int],
        ig: dict[int, float],
        bias_idx: int | None,
        b: dict[int, float],
        b_target: float,
    ) -> None:
        support = np.zeros(p, dtype=bool)
        support[selected] = True
        support[pt_idx] = True
        self.selected_ = [names[j] for j in selected]
        self.passthrough_ = [names[j] for j in pt_idx]
        self.support_ = support
        self.correlations_ = pd.Series(
            [rho.get(j, np.nan) for j in proxy_idx],
            index=[names[j] for j in proxy_idx],
            name="spearman",
        )
        self.information_gain_ = pd.Series(
            [ig[j] for j in window],
            index=[names[j] for j in window],
            name="information_gain",
            dtype=np.float64,
        )
        self.bias_ = None
        if bias_idx is not None:
            candidates = list(rho)
            self.bias_ = pd.Series(
                [b[j] for j in candidates] + [b_target],
                index=[names[j] for j in candidates] + [TARGET_KEY],
                name="spearman_with_" + names[bias_idx],
            )
        self.bias_column_ = None if bias_idx is None else names[bias_idx]
        self.window_ = [names[j] for j in window]
        self.n_bins_ = self._n_bins(n)
        self._output_idx = np.array(selected + pt_idx, dtype=np.intp)

    # ------------------------------------------------------------------ selector API
    def _get_support_mask(self) -> np.ndarray:
        check_is_fitted(self, "support_")
        return self.support_

    def transform(self, X: Any) -> np.ndarray:
        """Keep the selected proxies (LIBRA order) followed by the passthrough columns.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_architectures, n_features_in_)
            Same columns as in :meth:`fit`. NaN/inf pass through unchanged.

        Returns
        -------
        ndarray of shape (n_architectures, n_selected + n_passthrough)
            Columns in the order of :meth:`get_feature_names_out`.
        """
        check_is_fitted(self, "support_")
        X = validate_data(self, X, dtype="numeric", ensure_all_finite=False, reset=False)
        return X[:, self._output_idx]

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Put transformed columns back at their input positions; removed columns become 0.

        Parameters
        ----------
        X : array-like of shape (n_architectures, n_selected + n_passthrough)
            Output of :meth:`transform`.

        Returns
        -------
        ndarray of shape (n_architectures, n_features_in_)
            ``X`` with zero columns where features were removed.
        """
        check_is_fitted(self, "support_")
        X = check_array(X, dtype="numeric", ensure_all_finite=False)
        if X.shape[1] != len(self._output_idx):
            raise ValueError(
                f"X has {X.shape[1]} columns, but the transform output has {len(self._output_idx)}"
            )
        Xt = np.zeros((X.shape[0], self.n_features_in_), dtype=X.dtype)
        Xt[:, self._output_idx] = X
        return Xt

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the output columns: ``selected_`` then the passthrough columns.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input feature names; must match ``feature_names_in_`` when that is defined.
            ``None`` uses ``feature_names_in_`` or ``x0, x1, ...``.

        Returns
        -------
        ndarray of str
            Output column names in transform order.
        """
        check_is_fitted(self, "support_")
        fitted = getattr(self, "feature_names_in_", None)
        if input_features is None:
            if fitted is None:
                input_features = [f"x{i}" for i in range(self.n_features_in_)]
            else:
                input_features = fitted
        else:
            input_features = np.asarray(input_features, dtype=object)
            if fitted is not None and not np.array_equal(input_features, fitted):
                raise ValueError("input_features is not equal to feature_names_in_")
            if len(input_features) != self.n_features_in_:
                raise ValueError(
                    f"input_features should have length equal to number of features "
                    f"({self.n_features_in_}), got {len(input_features)}"
                )
        return np.asarray(input_features, dtype=object)[self._output_idx]

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.target_tags.required = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


# ---------------------------------------------------------------- steps of Algorithm 1
# Warnings name the user's line (``user_stacklevel``), however deep they are raised.


def _warn_infinite_columns(X: np.ndarray, names: list[str]) -> None:
    inf_cols = [names[j] for j in range(X.shape[1]) if np.isinf(X[:, j]).any()]
    if inf_cols:
        warnings.warn(
            f"columns {inf_cols} contain +-inf; those rows are ignored for the statistics "
            f"of those columns (not imputed)",
            UserWarning,
            stacklevel=user_stacklevel(),
        )


def _proxy_correlations(
    X: np.ndarray,
    y: np.ndarray,
    finite: np.ndarray,
    proxy_idx: list[int],
    names: list[str],
    min_rows: int,
    bins_desc: str,
) -> tuple[dict[int, float], dict[str, str]]:
    """Step 1: Spearman rho of each proxy column on its finite rows, and the columns skipped
    (too few finite rows, or constant) with the reason."""
    rho = {}
    excluded: dict[str, str] = {}
    for j in proxy_idx:
        m = finite[:, j]
        if m.sum() < min_rows:
            excluded[names[j]] = f"only {int(m.sum())} finite rows, {bins_desc} needs {min_rows}"
        elif np.ptp(X[m, j]) == 0:
            excluded[names[j]] = "constant on its finite rows (Spearman rho undefined)"
        else:
            rho[j] = _spearman(X[m, j], y[m])
    for name, reason in excluded.items():
        warnings.warn(
            f"proxy column {name!r} skipped: {reason}", UserWarning, stacklevel=user_stacklevel()
        )
    if not rho:
        raise ValueError(f"no usable proxy column in X: {excluded}")
    return rho, excluded


def _window_information_gain(
    X: np.ndarray,
    y: np.ndarray,
    finite: np.ndarray,
    z1: int,
    window: list[int],
    names: list[str],
    min_rows: int,
    n_bins: Any,
) -> dict[int, float]:
    """Step 3: information gain of each window member given the best proxy ``z1`` (NaN where
    the two share fewer than ``min_rows`` finite rows)."""
    ig = {}
    for j in window:
        m = finite[:, z1] & finite[:, j]
        if m.sum() < min_rows:
            warnings.warn(
                f"window member {names[j]!r} shares only {int(m.sum())} finite rows with "
                f"{names[z1]!r}; its information gain is undefined and it is skipped in "
                f"the minimum-gain step",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
            ig[j] = np.nan
        else:
            ig[j] = _information_gain(y[m], X[m, z1], X[m, j], n_bins(int(m.sum())))
    return ig


def _bias_correlations(
    X: np.ndarray,
    y: np.ndarray,
    finite: np.ndarray,
    bias_idx: int | None,
    candidates: list[int],
    names: list[str],
    min_rows: int,
    auto_bias: bool,
) -> tuple[int | None, dict[int, float], float]:
    """Step 4's inputs: Spearman of each candidate and of ``y`` with the bias column.

    Returns the bias column (None when there is none, or when ``bias="auto"`` found an
    unusable ``params``, with a warning), each candidate's correlation and the target's.
    """
    b: dict[int, float] = {}
    b_target = np.nan
    if bias_idx is not None and auto_bias:
        mb = finite[:, bias_idx]
        if mb.sum() < min_rows or np.ptp(X[mb, bias_idx]) == 0:
            warnings.warn(
                f"bias='auto': column 'params' has fewer than {min_rows} finite rows or is "
                "constant, so the bias step is skipped (bias_column_ is None)",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
            bias_idx = None
    if bias_idx is not None:
        mb = finite[:, bias_idx]
        if mb.sum() < min_rows or np.ptp(X[mb, bias_idx]) == 0:
            raise ValueError(
                f"bias column {names[bias_idx]!r} has fewer than {min_rows} finite rows or "
                f"is constant: its Spearman correlations are undefined (use bias=None to "
                f"skip the bias step)"
            )
        b_target = _spearman(y[mb], X[mb, bias_idx])
        for j in candidates:
            m = mb & finite[:, j]
            ok = m.sum() >= min_rows and np.ptp(X[m, j]) > 0
            b[j] = _spearman(X[m, j], X[m, bias_idx]) if ok else np.nan
    return bias_idx, b, b_target


def _select(
    z1: int,
    window: list[int],
    ig: dict[int, float],
    b: dict[int, float],
    b_target: float,
    bias_idx: int | None,
    max_proxies: int,
) -> list[int]:
    """Step 5: ``z1``; then the window member of minimum information gain; then the one
    whose bias correlation is closest to the target's (minimum gain again without a bias
    column)."""
    selected = [z1]
    remaining = list(window)
    if max_proxies >= 2:
        pool = [j for j in remaining if np.isfinite(ig[j])]
        if pool:
            z2 = min(pool, key=lambda j: ig[j])
            selected.append(z2)
            remaining.remove(z2)
    if max_proxies >= 3 and remaining:
        if bias_idx is not None:
            pool = [j for j in remaining if np.isfinite(b[j])]
            key = lambda j: abs(b_target - b[j])  # noqa: E731
        else:
            pool = [j for j in remaining if np.isfinite(ig[j])]
            key = lambda j: ig[j]  # noqa: E731
        if pool:
            selected.append(min(pool, key=key))
    return selected
