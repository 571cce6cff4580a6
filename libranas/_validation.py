"""Input checks and small statistics shared by the estimators, the spaces and the CLI.

One place for each contract, so that every public entry point answers the same input the
same way:

- integers: :func:`is_int`, :func:`check_int`;
- seeds: :func:`check_random_state`, :func:`as_generator`, :func:`as_seed` (the one
  ``random_state`` contract: None, an int >= 0, a numpy ``RandomState`` or ``Generator``);
- columns: :func:`column_index` (a column named by a string or given by position);
- rank correlation: :func:`rank_correlation` (the one Spearman / Kendall implementation);
- empty inputs: :func:`check_has_columns`.
"""

from __future__ import annotations

import fnmatch
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "as_generator",
    "as_seed",
    "check_has_columns",
    "check_int",
    "check_random_state",
    "column_index",
    "draw_seeds",
    "is_int",
    "rank_correlation",
]

#: seeds drawn from a Generator / RandomState / fresh entropy lie in [0, SEED_MAX)
SEED_MAX = 2**31 - 1


# ------------------------------------------------------------------------------ integers


def is_int(value: Any) -> bool:
    """True for Python and numpy integers, False for bools and everything else.

    Examples
    --------
    >>> is_int(3), is_int(np.int64(3)), is_int(True), is_int(3.0)
    (True, True, False, False)
    """
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_int(value: Any, name: str, *, low: int | None = None, high: int | None = None) -> int:
    """``value`` as an ``int`` when it is an integer in ``[low, high]``, else a clear error.

    Raises ``TypeError`` for a non-integer (bools and floats included) and ``ValueError``
    for an integer out of range; both messages name ``name`` and the value.

    Examples
    --------
    >>> check_int(np.int32(4), "n", low=1)
    4
    >>> check_int(0, "n_labelled", low=1)
    Traceback (most recent call last):
    ...
    ValueError: n_labelled must be an int >= 1, got 0
    """
    if low is not None and high is not None:
        want = f"an int in [{low}, {high}]"
    elif low is not None:
        want = f"an int >= {low}"
    elif high is not None:
        want = f"an int <= {high}"
    else:
        want = "an int"
    if not is_int(value):
        raise TypeError(f"{name} must be {want}, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must be {want}, got {value!r}")
    return int(value)


# ------------------------------------------------------------------------------ seeds


def check_random_state(random_state: Any, name: str = "random_state") -> Any:
    """Validate the ``random_state`` contract shared by every estimator, space and search.

    Accepted: ``None`` (fresh entropy), a non-negative int (a seed), a
    :class:`numpy.random.Generator` or a legacy :class:`numpy.random.RandomState` (both used
    as they are, so successive calls advance them). Anything else is a ``TypeError``, a
    negative int a ``ValueError``. Returns ``random_state`` unchanged (an int as ``int``);
    convert it with :func:`as_generator` or :func:`as_seed`.

    Examples
    --------
    >>> check_random_state(np.int64(3))
    3
    >>> check_random_state(-1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: random_state must be None, a non-negative int, ... got -1
    """
    want = "None, a non-negative int, a numpy Generator or RandomState"
    if random_state is None or isinstance(
        random_state, (np.random.Generator, np.random.RandomState)
    ):
        return random_state
    if is_int(random_state):
        if random_state < 0:
            raise ValueError(f"{name} must be {want}, got {random_state!r}")
        return int(random_state)
    raise TypeError(f"{name} must be {want}, got {type(random_state).__name__} {random_state!r}")


def as_generator(random_state: Any, name: str = "random_state") -> np.random.Generator:
    """A :class:`numpy.random.Generator` from any valid ``random_state``.

    A ``Generator`` is returned as is (successive calls advance it); a ``RandomState`` seeds
    a new Generator with one draw; an int seeds ``np.random.default_rng``; ``None`` gives fresh
    entropy.

    Examples
    --------
    >>> bool(as_generator(0).integers(10) == np.random.default_rng(0).integers(10))
    True
    """
    rs = check_random_state(random_state, name)
    if isinstance(rs, np.random.Generator):
        return rs
    if isinstance(rs, np.random.RandomState):
        return np.random.default_rng(rs.randint(0, SEED_MAX))
    return np.random.default_rng(rs)


def as_seed(random_state: Any, name: str = "random_state") -> int:
    """One int seed from any valid ``random_state``: an int is returned as it is, a
    ``Generator`` / ``RandomState`` gives one draw in ``[0, 2**31 - 1)``, ``None`` a seed
    from fresh entropy.

    Examples
    --------
    >>> as_seed(7)
    7
    >>> as_seed(np.random.default_rng(0)) == as_seed(np.random.default_rng(0))
    True
    """
    rs = check_random_state(random_state, name)
    if is_int(rs):
        return int(rs)
    if isinstance(rs, np.random.Generator):
        return int(rs.integers(0, SEED_MAX))
    if isinstance(rs, np.random.RandomState):
        return int(rs.randint(0, SEED_MAX))
    return int(np.random.SeedSequence().generate_state(1)[0] % SEED_MAX)


def draw_seeds(random_state: Any, n: int, name: str = "random_state") -> np.ndarray:
    """``n`` int seeds in ``[0, 2**31 - 1)`` from any valid ``random_state`` (e.g. one per
    model of a bag).

    An int seeds a legacy ``RandomState`` (so the seeds equal
    ``sklearn.utils.check_random_state(seed).randint(2**31 - 1, size=n)``); a ``RandomState``
    or ``Generator`` is drawn from (and advanced); ``None`` uses fresh entropy.

    Examples
    --------
    >>> draw_seeds(0, 2).tolist() == np.random.RandomState(0).randint(2**31 - 1, size=2).tolist()
    True
    """
    rs = check_random_state(random_state, name)
    if isinstance(rs, np.random.Generator):
        return rs.integers(0, SEED_MAX, size=n)
    if not isinstance(rs, np.random.RandomState):
        rs = np.random.RandomState(rs)
    return rs.randint(SEED_MAX, size=n)


# ------------------------------------------------------------------------------ columns


def column_index(key: Any, names: Sequence[str] | None, n_columns: int, what: str) -> int:
    """Position of the column ``key`` names, with one rule for every ``passthrough``,
    ``bias`` or ``signs`` lookup.

    Parameters
    ----------
    key : str or int
        A column name (needs ``names``: X was a DataFrame with string column names) or a
        position; negative positions count from the end, as in Python.
    names : sequence of str or None
        The column names of X, or None when X had none (an ndarray).
    n_columns : int
        Number of columns of X.
    what : str
        The parameter being resolved, for the error messages.

    Returns
    -------
    int
        The position, in ``[0, n_columns)``.

    Examples
    --------
    >>> column_index("b", ["a", "b"], 2, "passthrough"), column_index(-1, None, 3, "bias")
    (1, 2)
    >>> column_index("z", ["a", "b"], 2, "bias")
    Traceback (most recent call last):
    ...
    ValueError: bias: no column named 'z' in X; available columns: ['a', 'b']
    """
    if isinstance(key, str):
        if names is None:
            raise ValueError(
                f"{what} names column {key!r}, but X has no column names (an ndarray); "
                "pass an integer position or a DataFrame"
            )
        names = list(names)
        if key not in names:
            raise ValueError(f"{what}: no column named {key!r} in X; available columns: {names}")
        return names.index(key)
    if is_int(key):
        if not -n_columns <= key < n_columns:
            shown = f" ({list(names)})" if names is not None else ""
            raise ValueError(
                f"{what}: column position {int(key)} is out of range for X with "
                f"{n_columns} columns{shown}"
            )
        return int(key) % n_columns
    raise TypeError(f"{what} entries must be column names (str) or positions (int), got {key!r}")


def column_indices(keys: Any, names: Sequence[str] | None, n_columns: int, what: str) -> list[int]:
    """Positions of the columns a list of keys names, glob patterns expanded, in X's order.

    Each key is a name or a position (as :func:`column_index`), or a glob pattern (a name
    with ``*``, ``?`` or ``[``, matched with :func:`fnmatch.fnmatchcase`) that stands for
    every column whose name matches, e.g. ``"archfeaturizer__*"`` for the columns a
    :class:`~libranas.ArchFeaturizer` adds in a ``FeatureUnion``. A pattern that matches no
    column and a column named twice are errors.

    Examples
    --------
    >>> column_indices(["g*", "a"], ["a", "g:x", "p", "g:y"], 4, "passthrough")
    [0, 1, 3]
    >>> column_indices(["h*"], ["a", "g:x"], 2, "passthrough")
    Traceback (most recent call last):
    ...
    ValueError: passthrough: pattern 'h*' matches no column of X; available columns: ['a', 'g:x']
    """
    found: list[int] = []
    for key in keys:
        if isinstance(key, str) and any(ch in key for ch in "*?["):
            if names is None:
                raise ValueError(
                    f"{what} pattern {key!r} needs column names, but X has none (an ndarray); "
                    "pass a DataFrame, e.g. call set_output(transform='pandas') on the pipeline"
                )
            hits = [j for j, name in enumerate(names) if fnmatch.fnmatchcase(str(name), key)]
            if not hits:
                raise ValueError(
                    f"{what}: pattern {key!r} matches no column of X; available columns: "
                    f"{list(names)}"
                )
        else:
            hits = [column_index(key, names, n_columns, what)]
        for j in hits:
            if j in found:
                shown = names[j] if names is not None else j
                raise ValueError(f"{what} lists column {shown!r} twice")
            found.append(j)
    return sorted(found)


# ------------------------------------------------------------------------------ rank correlation


def rank_correlation(a: Any, b: Any, *, method: str = "spearman", omit: str | None = None) -> float:
    """Spearman's rho or Kendall's tau-b of two 1-D arrays: the one implementation.

    Spearman's rho is Pearson's correlation of the average ranks (ties share their mean
    rank); Kendall's tau-b corrects for ties in either input. Both are computed by
    :mod:`scipy.stats` (so results match ``scipy.stats.spearmanr`` / ``kendalltau``
    exactly). Inputs are not validated beyond their length: :mod:`libranas.metrics` does
    that for users.

    Parameters
    ----------
    a, b : array-like of shape (n,)
        The two variables.
    method : {"spearman", "kendall"}, default="spearman"
        Which correlation.
    omit : {None, "nan", "non-finite"}, default=None
        Pairs to drop first: none, those with a NaN on either side (``+-inf`` are then
        ranked as extremes), or those with a NaN or ``+-inf``.

    Returns
    -------
    float
        The correlation; NaN, without a warning, when fewer than 2 pairs remain or either
        side is constant on them (the correlation is undefined).

    Examples
    --------
    >>> round(rank_correlation([1, 2, 3, 4], [10, 20, 40, 30]), 4)
    0.8
    >>> round(rank_correlation([1, 2, 3, 4], [10, 20, 40, 30], method="kendall"), 4)
    0.6667
    >>> rank_correlation([1, 2, np.nan, 4], [1, 2, 3, 5], omit="nan")
    1.0
    """
    from scipy import stats

    x = np.asarray(a, dtype=np.float64).ravel()
    y = np.asarray(b, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"rank_correlation: inputs of different lengths {x.size} != {y.size}")
    if omit == "nan":
        keep = ~(np.isnan(x) | np.isnan(y))
    elif omit == "non-finite":
        keep = np.isfinite(x) & np.isfinite(y)
    elif omit is None:
        keep = None
    else:
        raise ValueError(f"omit must be None, 'nan' or 'non-finite', got {omit!r}")
    if keep is not None:
        x, y = x[keep], y[keep]
    if x.size < 2 or np.all(x == x[0]) or np.all(y == y[0]):
        return float("nan")
    if method == "spearman":
        return float(stats.spearmanr(x, y).statistic)
    if method == "kendall":
        return float(stats.kendalltau(x, y, variant="b").statistic)
    raise ValueError(f"method must be 'spearman' or 'kendall', got {method!r}")


def check_unique(names: Sequence[str], what: str) -> None:
    """Raise a ValueError naming the entries of ``names`` given more than once.

    Examples
    --------
    >>> check_unique(["nwot", "zico"], "proxies")
    >>> check_unique(["nwot", "zico", "nwot"], "proxies")
    Traceback (most recent call last):
    ...
    ValueError: proxies listed more than once: ['nwot']
    """
    dup = sorted({n for n in names if list(names).count(n) > 1})
    if dup:
        raise ValueError(f"{what} listed more than once: {dup}")


# ------------------------------------------------------------------------------ shapes


def check_has_columns(X: Any, who: str) -> None:
    """Raise a clear ValueError for a 2-D input with no columns.

    scikit-learn's own check fails earlier on an empty DataFrame with numpy's
    "at least one array or dtype is required", which names neither the input nor the
    problem.

    Examples
    --------
    >>> import pandas as pd
    >>> check_has_columns(pd.DataFrame(index=range(3)), "LibraSelector")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: LibraSelector: X has no columns: found array with 0 feature(s) ...
    """
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) == 2 and shape[1] == 0:
        # the wording after the colon is scikit-learn's, which its estimator checks expect
        raise ValueError(
            f"{who}: X has no columns: found array with 0 feature(s) (shape=({shape[0]}, 0)) "
            "while a minimum of 1 is required; pass at least one proxy score column"
        )


def align_y(X: Any, y: Any, who: str) -> Any:
    """``y`` in the row order of ``X`` when both are pandas objects with an index.

    scikit-learn pairs ``X`` and ``y`` by position; a pandas user expects them paired by index.
    A ``y`` (Series or DataFrame) whose index holds the same labels as ``X``'s in another order
    is reordered to ``X``'s; one whose labels differ is refused (pairing by position would
    silently attach accuracies to the wrong architectures). Anything else is returned as is.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"a": [1.0, 2.0, 3.0]}, index=["x", "y", "z"])
    >>> align_y(X, pd.Series([30.0, 10.0, 20.0], index=["z", "x", "y"]), "f").tolist()
    [10.0, 20.0, 30.0]
    """
    x_index = getattr(X, "index", None)
    y_index = getattr(y, "index", None)
    if x_index is None or y_index is None or not hasattr(X, "columns"):
        return y
    if x_index.equals(y_index):
        return y
    if len(x_index) != len(y_index) or x_index.has_duplicates or y_index.has_duplicates:
        same = False
    else:
        same = set(x_index) == set(y_index)
    if not same:
        missing = [k for k in x_index if k not in set(y_index)][:3]
        raise ValueError(
            f"{who}: y's index does not match X's index (e.g. X rows {missing!r} have no y); "
            "pass y with X's index, or plain arrays to pair rows by position"
        )
    return y.loc[x_index]
