"""Rank a new search space with zero (or few) of its labels, from other spaces' tables.

Within one space, proxies and network features order architectures; across spaces their
raw values mean different things (a 1 M-parameter ViT is small, a 1 M-parameter NB201 cell is
large). :class:`TransferRanker` therefore rank-normalises every column *within its space*
(``groups``) and learns the within-space rank of the target, so a model fitted on NB201, NB301
and TransNAS-Bench-101 ranks AutoFormer networks it has never seen a label of, from their
within-space feature ranks alone (:func:`rank_within`). With k labels of the new space the
transfer prediction becomes one more feature of the within-space
:class:`~libranas.ZCRanker` (:func:`leave_one_space_out`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "TransferRanker",
    "evaluate_transfer",
    "leave_one_space_out",
    "rank_within",
    "transfer_predictions",
    "transfer_table",
]

#: what :func:`evaluate_transfer`'s ``columns`` accepts
TRANSFER_COLUMN_CHOICES = ("proxies", "all")


def rank_within(values: Any, groups: Any = None) -> np.ndarray:
    """Each column's ranks within each group, scaled to [0, 1] (ties averaged).

    A column constant within a group and a missing value get 0.5 (no information).

    Parameters
    ----------
    values : array-like, shape (n,) or (n, d)
    groups : array-like of shape (n,), optional
        Group label of each row (e.g. the space); default one group.

    Returns
    -------
    ndarray of float64, the shape of ``values``

    Examples
    --------
    >>> rank_within([10.0, 30.0, 20.0, 1.0, 1.0], groups=["a", "a", "a", "b", "b"])
    array([0. , 1. , 0.5, 0.5, 0.5])
    """
    from scipy.stats import rankdata

    arr = np.asarray(values, dtype=np.float64)
    one_d = arr.ndim == 1
    arr = arr.reshape(len(arr), -1)
    g = np.zeros(len(arr), dtype=int) if groups is None else pd.factorize(np.asarray(groups))[0]
    if len(g) != len(arr):
        raise ValueError(f"groups has {len(g)} entries for {len(arr)} rows")
    out = np.full(arr.shape, 0.5)
    for label in np.unique(g):
        rows = np.flatnonzero(g == label)
        for j in range(arr.shape[1]):
            col = arr[rows, j]
            ok = np.isfinite(col)
            if ok.sum() < 2 or np.ptp(col[ok]) == 0:
                continue
            out[rows[ok], j] = (rankdata(col[ok]) - 1.0) / (ok.sum() - 1.0)
    return out[:, 0] if one_d else out


class TransferRanker(RegressorMixin, BaseEstimator):
    """A ranker fitted on several spaces' labelled tables that ranks an unseen space.

    Features and target are rank-normalised within each space (:func:`rank_within`); the
    model predicts an architecture's within-space rank from its within-space feature ranks,
    so the columns must mean the same in every space: network features
    (:mod:`libranas.network_features`, the same columns for every network) and proxies that
    every table has.

    Parameters
    ----------
    estimator : regressor, optional
        Fitted on the ranks (with ``sample_weight``); default
        ``HistGradientBoostingRegressor(max_iter=300, learning_rate=0.05,
        max_leaf_nodes=15, random_state=random_state)``.
    balance_groups : bool, default=True
        Weight rows so that every group (space or task) weighs the same in the fit; a space
        with 7 tasks then does not outweigh one with 1.
    random_state : int, optional
        Seed of the default estimator.

    Attributes
    ----------
    estimator_ : fitted regressor
    feature_names_in_ : ndarray of str
        Columns seen in :meth:`fit` (when ``X`` is a DataFrame); :meth:`predict` reorders
        a DataFrame to them and requires them all.
    n_groups_ : int

    Notes
    -----
    Which columns transfer (``benchmarks/results/transfer_columns.md``, leave one space out
    over NB201, NB301, TransNAS-Bench-101-micro and AutoFormer-Tiny, zero labels of the
    held-out space): the proxies' within-space ranks with ``estimator=Ridge(alpha=1.0)``
    transferred best on average (mean rho 0.588 over 12 held-out tables; NB301 0.561 on its
    held-out half). The whole-network features with the default boosting (mean 0.559) helped
    AutoFormer-Tiny and most TransNAS-Bench-101-micro tasks but lowered NB201 and NB301
    (NB301 0.326); with a linear model they reversed the ranking of NB301 and AutoFormer. A
    space's training-free default was still better than any transfer on NB201 and NB301.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3))
    >>> y = X[:, 0] + 0.1 * rng.normal(size=200)
    >>> groups = np.repeat(["space-a", "space-b"], 100)
    >>> model = TransferRanker(random_state=0).fit(X, y, groups=groups)
    >>> new = rng.normal(size=(50, 3)) * 1000  # another scale: ranks make it comparable
    >>> from libranas.metrics import spearman
    >>> spearman(new[:, 0], model.predict(new)) > 0.9
    True
    """

    def __init__(
        self, estimator: Any = None, balance_groups: bool = True, random_state: Any = None
    ) -> None:
        self.estimator = estimator
        self.balance_groups = balance_groups
        self.random_state = random_state

    def _matrix(self, X: Any, fitting: bool) -> np.ndarray:
        if isinstance(X, pd.DataFrame):
            names = np.asarray([str(c) for c in X.columns], dtype=object)
            if fitting:
                self.feature_names_in_ = names
            elif hasattr(self, "feature_names_in_"):
                missing = [c for c in self.feature_names_in_ if c not in set(names)]
                if missing:
                    raise ValueError(f"X lacks {len(missing)} fitted columns, e.g. {missing[:3]}")
                X = X.set_axis(names, axis=1)[list(self.feature_names_in_)]
            return X.to_numpy(dtype=np.float64)
        arr = np.asarray(X, dtype=np.float64)
        if arr.ndim != 2:
            raise ValueError(f"X must be 2-D, got shape {arr.shape}")
        if fitting and hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        return arr

    def fit(self, X: Any, y: Any, groups: Any = None) -> TransferRanker:
        """Fit on the rows of several spaces.

        Parameters
        ----------
        X : array-like or DataFrame, shape (n, d)
        y : array-like, shape (n,)
            Any score where higher is better (accuracy); only its within-group rank is used.
        groups : array-like, shape (n,)
            Space (or space and task) of each row; required, at least 2 rows per group.

        Returns
        -------
        self : TransferRanker
        """
        from sklearn.ensemble import HistGradientBoostingRegressor

        if groups is None:
            raise ValueError("TransferRanker.fit needs groups (the space of each row)")
        Xa = self._matrix(X, fitting=True)
        ya = np.asarray(y, dtype=np.float64).ravel()
        g = np.asarray(groups)
        if not (len(Xa) == len(ya) == len(g)):
            raise ValueError(f"X, y and groups differ in length: {len(Xa)}, {len(ya)}, {len(g)}")
        codes, labels = pd.factorize(g)
        counts = np.bincount(codes)
        if counts.min() < 2:
            raise ValueError(
                f"every group needs at least 2 rows; {labels[counts.argmin()]!r} has 1"
            )
        if not np.isfinite(ya).all():
            raise ValueError("y has non-finite values")
        Xr = rank_within(Xa, codes)
        yr = rank_within(ya, codes)
        weight = 1.0 / counts[codes] if self.balance_groups else np.ones(len(ya))
        est = self.estimator
        if est is None:
            est = HistGradientBoostingRegressor(
                max_iter=300, learning_rate=0.05, max_leaf_nodes=15, random_state=self.random_state
            )
        self.estimator_ = clone(est).fit(Xr, yr, sample_weight=weight * len(ya) / weight.sum())
        self.n_groups_ = len(labels)
        self.n_features_in_ = Xa.shape[1]
        return self

    def predict(self, X: Any, groups: Any = None) -> np.ndarray:
        """Predicted within-space rank (0..1) of each row; ``groups`` default: one space.

        Parameters
        ----------
        X : array-like or DataFrame, shape (n, d)
            The architectures of the new space (ranks are taken among them).
        groups : array-like, optional

        Returns
        -------
        ndarray of float64, shape (n,)
        """
        check_is_fitted(self, "estimator_")
        Xa = self._matrix(X, fitting=False)
        if Xa.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {Xa.shape[1]} columns, the model was fitted on {self.n_features_in_}"
            )
        return self.estimator_.predict(rank_within(Xa, groups))


# ----------------------------------------------------------------------------- evaluation


def transfer_table(bench: Any, proxies: Sequence[str], network: bool = True) -> pd.DataFrame:
    """``proxies`` columns of a benchmark next to the network features of its architectures.

    Parameters
    ----------
    bench : Benchmark
        From :func:`libranas.load_benchmark`; its space must be able to build networks
        (when ``network``).
    proxies : list of str
        Proxy columns every table of the study has.
    network : bool, default=True
        Add the network features (builds every architecture's network); False: the proxy
        columns alone.

    Returns
    -------
    DataFrame indexed like ``bench.X``: ``proxy:<name>`` then ``network:<name>`` columns.
    """
    from libranas.arch_featurizer import ArchFeaturizer

    missing = [p for p in proxies if p not in bench.X.columns]
    if missing:
        raise ValueError(f"benchmark {bench.name!r} lacks proxy columns {missing}")
    Z = bench.X[list(proxies)].astype(float).set_axis([f"proxy:{p}" for p in proxies], axis=1)
    if not network:
        return Z
    feats = ArchFeaturizer(bench.space, features=("network",)).fit(bench.X.index[:1])
    net = pd.DataFrame(
        feats.transform(bench.X.index), index=bench.X.index, columns=feats.get_feature_names_out()
    )
    return pd.concat([Z, net], axis=1)


def leave_one_space_out(
    tables: Mapping[str, tuple[pd.DataFrame, Any, str]],
    k_values: Sequence[int] = (0, 10, 20, 50),
    n_splits: int = 30,
    held_out: Sequence[str] | None = None,
    baselines: Mapping[str, Any] | None = None,
    random_state: int = 0,
    progress: Any = None,
    own_columns: Mapping[str, pd.DataFrame] | None = None,
    methods: Sequence[str] | None = None,
    estimator: Any = None,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Leave-one-space-out evaluation of :class:`TransferRanker`.

    For each held-out table, a :class:`TransferRanker` is fitted on every table of *another
    space* (``space`` differs: two tasks of the held-out space are never in training) and
    ranks all of the held-out table's architectures with zero of its labels (k = 0,
    :func:`transfer_predictions`). For
    k > 0, ``n_splits`` draws of k labelled architectures (seed = split + ``random_state``):
    :class:`~libranas.ZCRanker` on the table's columns (``"within"``) vs on the same columns
    plus the transfer prediction (``"within+transfer"``), rho / tau on the other
    architectures (:func:`_labelled_splits`).

    Parameters
    ----------
    tables : mapping name -> (X, y, space)
        Columns of X are shared by every table (e.g. :func:`transfer_table`); y higher is
        better; ``space`` names the space (tasks of one space share it).
    k_values : sequence of int
    n_splits : int
    held_out : list of str, optional
        Tables to hold out (default all), in this order, each once.
    baselines : mapping name -> array, optional
        A training-free score per held-out table (e.g. the log-rank of
        :data:`libranas.proxies.TRAINING_FREE_DEFAULT`), reported as ``"baseline"`` at k = 0.
    random_state : int
    progress : callable, optional
        Called with each result row (e.g. to append it to a file).
    own_columns : mapping name -> DataFrame, optional
        Columns a table has of its own (rows as its X), e.g. its repeated-block features
        (:mod:`libranas.repeated_blocks`, different in every space): for the held-out tables
        that have them, k > 0 also runs ``"within+own"`` and ``"within+own+transfer"``.
    methods : sequence of str, optional
        The k > 0 methods to run, a subset of ``"within"``, ``"within+transfer"``,
        ``"within+own"``, ``"within+own+transfer"`` (default every one that applies); a
        method that needs ``own_columns`` a held-out table lacks is an error.
    estimator : regressor, optional
        :class:`TransferRanker`'s ``estimator`` (cloned for every held-out table; default
        its gradient boosting).
    columns : list of str, optional
        The columns the :class:`TransferRanker` uses (default all); the within-space
        :class:`~libranas.ZCRanker` always uses every column of the held-out table.

    Returns
    -------
    DataFrame with columns held_out, space, method, k, seed, n_evaluated, rho, tau.
    """
    plan = _plan_held_out(tables, held_out, k_values, own_columns, methods)
    rows: list[dict[str, Any]] = []

    def emit(row: dict[str, Any]) -> None:
        rows.append(row)
        if progress is not None:
            progress(row)

    for name, wanted in plan.items():
        X, y, space = tables[name]
        y = np.asarray(y, dtype=np.float64)
        prior = transfer_predictions(
            tables, name, columns=columns, estimator=estimator, random_state=random_state
        )
        for row in _zero_label_rows(name, space, y, prior, baselines):
            emit(row)
        data = _method_data(X, prior, own_columns.get(name) if own_columns else None, wanted)
        for row in _labelled_splits(data, y, [k for k in k_values if k > 0], n_splits,
                                    random_state):  # fmt: skip
            emit({"held_out": name, "space": space, **row})
    return pd.DataFrame(rows)


#: the k > 0 methods of :func:`leave_one_space_out`
_LABELLED_METHODS = ("within", "within+transfer", "within+own", "within+own+transfer")


def _plan_held_out(
    tables: Mapping[str, tuple[pd.DataFrame, Any, str]],
    held_out: Sequence[str] | None,
    k_values: Sequence[int],
    own_columns: Mapping[str, pd.DataFrame] | None,
    methods: Sequence[str] | None,
) -> dict[str, list[str]]:
    """Each held-out table's k > 0 methods, once every argument is valid: all of
    :func:`leave_one_space_out`'s checks run here, before any model is fitted."""
    names = _check_tables(tables)
    unknown = [m for m in methods or () if m not in _LABELLED_METHODS]
    if unknown:
        raise ValueError(f"unknown methods {unknown}; known: {list(_LABELLED_METHODS)}")
    if any(k < 0 for k in k_values):
        raise ValueError(f"k_values must be >= 0, got {list(k_values)}")
    if isinstance(held_out, str):
        raise ValueError(f"held_out must be a list of table names, got the string {held_out!r}")
    held_out = list(held_out) if held_out is not None else names
    if not held_out:
        raise ValueError(f"held_out is empty: name tables of {names}, or None for all of them")
    repeated = sorted({n for n in held_out if held_out.count(n) > 1})
    if repeated:
        raise ValueError(f"held_out repeats {repeated}: each table is held out once")
    strays = [n for n in own_columns or () if n not in tables]
    if strays:
        raise ValueError(f"own_columns names {strays}, not among the tables {names}")
    plan: dict[str, list[str]] = {}
    for name in held_out:
        if name not in tables:
            raise ValueError(f"held-out table {name!r} is not among the tables {names}")
        n = len(tables[name][0])
        too_many = [k for k in k_values if k > n - 2]
        if too_many:
            raise ValueError(f"{name!r} has {n} architectures: k {too_many} leaves < 2")
        has_own = own_columns is not None and name in own_columns
        if has_own:
            _check_own_columns(name, tables[name][0], own_columns[name])
        if methods is None:  # every method that applies
            wanted = [m for m in _LABELLED_METHODS if has_own or "own" not in m]
        else:
            wanted = list(methods)
            lacking = [m for m in wanted if "own" in m and not has_own]
            if lacking:
                raise ValueError(f"methods {lacking} need own_columns for {name!r}")
        if any(k > 0 for k in k_values):
            _check_transfer_column(name, tables[name][0], own_columns, wanted)
        plan[name] = wanted
    return plan


def _zero_label_rows(
    name: str,
    space: str,
    y: np.ndarray,
    prior: np.ndarray,
    baselines: Mapping[str, Any] | None,
) -> Iterator[dict[str, Any]]:
    """The k = 0 result rows of a held-out table: the transfer prior, then its baseline."""
    from libranas.metrics import kendall, spearman

    base = {"held_out": name, "space": space, "n_evaluated": len(y), "seed": -1, "k": 0}
    yield {**base, "method": "transfer", "rho": spearman(y, prior), "tau": kendall(y, prior)}
    if baselines is not None and name in baselines:
        b = np.asarray(baselines[name], dtype=np.float64)
        yield {**base, "method": "baseline", "rho": spearman(y, b), "tau": kendall(y, b)}


def _method_data(
    X: pd.DataFrame,
    prior: np.ndarray,
    own: pd.DataFrame | None,
    wanted: Sequence[str],
) -> dict[str, pd.DataFrame]:
    """The columns each k > 0 method in ``wanted`` ranks with (checked: :func:`_plan_held_out`)."""
    bases = {"within": X}
    if own is not None:
        bases["within+own"] = pd.concat([X, own.set_axis(X.index)], axis=1)
    return {
        method: bases[base] if base == method else _with_transfer(bases[base], prior)
        for method in wanted
        for base in [method.removesuffix("+transfer")]
    }


def _with_transfer(X: pd.DataFrame, prior: np.ndarray) -> pd.DataFrame:
    """``X`` with the transfer prediction as column ``transfer``, joined in one go (a column
    of that name is refused up front: :func:`_check_transfer_column`)."""
    # one concat, not an insert: inserting into a wide, fragmented X warns (PerformanceWarning)
    return pd.concat([X, pd.DataFrame({"transfer": prior}, index=X.index)], axis=1)


def _check_transfer_column(
    name: str,
    X: pd.DataFrame,
    own_columns: Mapping[str, pd.DataFrame] | None,
    wanted: Sequence[str],
) -> None:
    """Refuse a column named ``transfer`` where a ``+transfer`` method would overwrite it."""
    frames = []
    if "within+transfer" in wanted:
        frames.append(("the table", X))
    if "within+own+transfer" in wanted and own_columns is not None and name in own_columns:
        frames.append(("own_columns", own_columns[name]))
    for what, frame in frames:
        if "transfer" in frame.columns:
            raise ValueError(
                f"{what} of {name!r} has a column named 'transfer', the name the "
                "transfer prediction takes in the +transfer methods: rename that column"
            )


def _check_column_names(X: Any, what: str) -> None:
    """Refuse a frame whose columns are not unique strings (the transfer matches columns by
    name across tables)."""
    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"{what}: expected a pandas DataFrame, got {type(X).__name__}")
    bad = [c for c in X.columns if not isinstance(c, str)]
    if bad:
        raise ValueError(f"{what}: column names must be strings, got {bad[:3]!r}")
    repeated = sorted(X.columns[X.columns.duplicated()].unique())
    if repeated:
        raise ValueError(f"{what}: repeated column names {repeated[:5]}")


def _check_own_columns(name: str, X: pd.DataFrame, own: pd.DataFrame) -> None:
    """A held-out table's own columns: a frame of its rows, no name it already has."""
    _check_column_names(own, f"own_columns[{name!r}]")
    if len(own) != len(X):
        raise ValueError(f"own_columns[{name!r}] has {len(own)} rows, table {name!r} {len(X)}")
    shared = sorted(set(own.columns) & set(X.columns))
    if shared:
        raise ValueError(f"own_columns[{name!r}] repeats columns of table {name!r}: {shared[:5]}")


def _check_tables(tables: Mapping[str, tuple[pd.DataFrame, Any, str]]) -> list[str]:
    """The table names, once every table has the first one's columns and matching y."""
    names = list(tables)
    if not names:
        raise ValueError("no tables given")
    columns = list(tables[names[0]][0].columns)
    for name, (X, y, _space) in tables.items():
        _check_column_names(X, f"table {name!r}")
        if list(X.columns) != columns:
            raise ValueError(f"table {name!r} has other columns than {names[0]!r}")
        if len(X) != len(np.asarray(y)):
            raise ValueError(f"table {name!r}: X and y differ in length")
    return names


def transfer_predictions(
    tables: Mapping[str, tuple[pd.DataFrame, Any, str]],
    held_out: str,
    *,
    columns: Sequence[str] | None = None,
    estimator: Any = None,
    random_state: Any = 0,
) -> np.ndarray:
    """Rank one table with none of its labels, from the tables of every other space.

    A :class:`TransferRanker` is fitted on every table whose ``space`` differs from
    ``held_out``'s (no table of the held-out space trains it, other tasks of that space
    included), each table one group, restricted to ``columns``; its prediction for
    ``held_out``'s rows is returned.

    Parameters
    ----------
    tables : mapping name -> (X, y, space)
        X a DataFrame, y higher is better, ``space`` names the space (tasks of one space
        share it).
    held_out : str
        The table to rank (a key of ``tables``).
    columns : list of str, optional
        Columns the ranker uses, in this order (default: every column of ``held_out``'s X);
        every table used must have them all.
    estimator : regressor, optional
        :class:`TransferRanker`'s ``estimator`` (default its gradient boosting).
    random_state : int, default=0
        :class:`TransferRanker`'s ``random_state``.

    Returns
    -------
    ndarray of float64, shape (len of held_out's X,)
        Predicted within-space rank (higher: better) of each of ``held_out``'s rows.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn.linear_model import Ridge
    >>> rng = np.random.default_rng(0)
    >>> tables = {}
    >>> for name, scale in [("a", 1.0), ("b", 1e3), ("c", 1e-2)]:
    ...     X = pd.DataFrame(rng.normal(size=(60, 2)) * scale, columns=["good", "noise"])
    ...     tables[name] = (X, X["good"].to_numpy() / scale + 0.1 * rng.normal(size=60), name)
    >>> pred = transfer_predictions(tables, "c", columns=["good"], estimator=Ridge(alpha=1.0))
    >>> from libranas.metrics import spearman
    >>> spearman(tables["c"][1], pred) > 0.9
    True
    """
    if held_out not in tables:
        raise ValueError(f"held-out table {held_out!r} is not among the tables {list(tables)}")
    space = tables[held_out][2]
    train = [n for n in tables if tables[n][2] != space]
    if not train:
        raise ValueError(
            f"no table of another space than {space!r} (the space of {held_out!r}) to train on"
        )
    if isinstance(columns, str):
        raise ValueError(f"columns must be a list of column names, got the string {columns!r}")
    cols = list(tables[held_out][0].columns) if columns is None else list(columns)
    if not cols:
        raise ValueError("columns is empty: the transfer needs at least one column")
    twice = sorted({str(c) for c in cols if cols.count(c) > 1})
    if twice:
        raise ValueError(f"columns lists {twice} twice")
    for name in [held_out, *train]:
        X, y, _space = tables[name]
        unknown = [c for c in cols if c not in X.columns]
        if unknown:
            raise ValueError(
                f"unknown columns {unknown[:5]}{' ...' if len(unknown) > 5 else ''}: table "
                f"{name!r} lacks {len(unknown)} of them"
            )
        if len(X) != len(np.asarray(y)):
            raise ValueError(f"table {name!r}: X and y differ in length")
    Xt = pd.concat([tables[n][0][cols] for n in train])
    yt = np.concatenate([np.asarray(tables[n][1], dtype=np.float64) for n in train])
    gt = np.concatenate([[n] * len(tables[n][0]) for n in train])
    model = TransferRanker(estimator=estimator, random_state=random_state)
    model.fit(Xt, yt, groups=gt)
    return model.predict(tables[held_out][0][cols])


def _labelled_splits(
    data: Mapping[str, pd.DataFrame],
    y: np.ndarray,
    k_values: Sequence[int],
    n_splits: int,
    random_state: int,
) -> Any:
    """Per k and split (seed = split + ``random_state``): k labelled rows drawn uniformly,
    :class:`~libranas.ZCRanker` fitted on them for each method's columns, rho / tau on the
    other rows. Yields one result row per (k, split, method); every method sees the same
    split."""
    from libranas.metrics import kendall, spearman
    from libranas.ranker import ZCRanker

    for k in k_values:
        for split in range(n_splits):
            seed = random_state + split
            rng = np.random.default_rng(seed)
            lab = np.zeros(len(y), dtype=bool)
            lab[rng.choice(len(y), size=k, replace=False)] = True
            for method, X in data.items():
                s = ZCRanker(random_state=seed).fit(X[lab], y[lab]).predict(X[~lab])
                yield {"method": method, "k": k, "seed": seed, "n_evaluated": int((~lab).sum()),
                       "rho": spearman(y[~lab], s), "tau": kendall(y[~lab], s)}  # fmt: skip


def _needs_network_features(columns: str, k_values: Sequence[int]) -> bool:
    """Whether :func:`evaluate_transfer` builds the networks: the network features serve the
    ``"all"`` transfer and the within-space ranker (k > 0), not the proxies' transfer alone.

    Examples
    --------
    >>> _needs_network_features("proxies", [0]), _needs_network_features("proxies", [0, 10])
    (False, True)
    """
    return columns == "all" or any(k > 0 for k in k_values)


def evaluate_transfer(
    benchmarks: Sequence[str],
    proxies: Sequence[str] | None = None,
    k_values: Sequence[int] = (0, 10, 20, 50),
    n_splits: int = 30,
    random_state: int = 0,
    progress: Any = None,
    columns: str = "proxies",
    estimator: Any = None,
) -> pd.DataFrame:
    """:func:`leave_one_space_out` over bundled benchmark tables, by name.

    What ``libranas evaluate --transfer`` runs: every named table is held out in turn,
    the others of other spaces train the :class:`TransferRanker`. Each table's columns: the
    proxy columns every table has (or ``proxies``), ``proxy:<name>``, and the network
    features (:func:`transfer_table`); the within-space :class:`~libranas.ZCRanker` (k > 0)
    uses them all, the transfer the ones ``columns`` names. The network features (every
    architecture's network built) are skipped when nothing uses them: ``columns="proxies"``
    with ``k_values`` only 0.

    By default the transfer is the one ``benchmarks/transfer_columns.py`` chose by a rule
    declared before its run (``benchmarks/results/transfer_columns.md``: mean zero-label rho
    0.588 over 12 held-out tables of NB201, NB301, TransNAS-Bench-101-micro and
    AutoFormer-Tiny): the proxy columns only, with ``Ridge(alpha=1.0)``.
    ``columns="all"`` gives the other one, proxies and network features with the
    :class:`TransferRanker`'s gradient boosting (mean rho 0.559 in that study; the protocol
    of ``benchmarks/network_features.py transfer``).

    Parameters
    ----------
    benchmarks : list of str
        Names for :func:`libranas.load_benchmark` (at least two spaces).
    proxies : list of str, optional
    k_values, n_splits, random_state, progress
        As :func:`leave_one_space_out`.
    columns : {"proxies", "all"}, default="proxies"
        The transfer's columns: ``"proxies"`` the ``proxy:`` columns, ``"all"`` proxies and
        network features.
    estimator : regressor, optional
        The transfer's model; default ``Ridge(alpha=1.0)`` with ``columns="proxies"``, the
        :class:`TransferRanker`'s gradient boosting with ``columns="all"``.

    Returns
    -------
    DataFrame (see :func:`leave_one_space_out`)
    """
    import warnings

    from libranas.datasets import load_benchmark

    if columns not in TRANSFER_COLUMN_CHOICES:
        raise ValueError(f"columns must be one of {list(TRANSFER_COLUMN_CHOICES)}, got {columns!r}")
    benches = {}
    for name in benchmarks:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tables' NaN cells: rank_within gives 0.5
            benches[name] = load_benchmark(name, libranas_proxies=False)
    if proxies is None:
        common = set.intersection(*(set(b.X.columns) for b in benches.values()))
        proxies = sorted(common)
    network = _needs_network_features(columns, k_values)
    tables = {
        n: (transfer_table(b, proxies, network=network), b.y.to_numpy(), b.space)
        for n, b in benches.items()
    }
    if len({t[2] for t in tables.values()}) < 2:
        raise ValueError("evaluate_transfer needs tables of at least two spaces")
    transfer_columns = None
    if columns == "proxies":
        first = next(iter(tables.values()))[0]
        transfer_columns = [c for c in first.columns if str(c).startswith("proxy:")]
        if not transfer_columns:
            raise ValueError(f"the tables {list(tables)} share no proxy column to transfer")
        if estimator is None:
            from sklearn.linear_model import Ridge

            estimator = Ridge(alpha=1.0)
    return leave_one_space_out(
        tables,
        k_values,
        n_splits,
        random_state=random_state,
        progress=progress,
        estimator=estimator,
        columns=transfer_columns,
    )
