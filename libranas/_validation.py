"""Input checks shared by the estimators."""

from __future__ import annotations

from typing import Any


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
