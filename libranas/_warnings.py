"""Warnings that point at the user's line.

A fixed ``stacklevel`` counts the frames between the ``warnings.warn`` call and the user's
code, so it breaks whenever a function is split or called through another path
(``fit_transform``, a ``Pipeline``, scikit-learn's ``set_output`` wrapper, joblib).
:func:`warn_user` instead attributes the warning to the first frame outside libranas and the
libraries it runs under, whatever the depth.
"""

from __future__ import annotations

import os
import sys
import warnings

_LIBRANAS_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
#: packages whose frames sit between the user and libranas (estimator wrappers, workers)
_WRAPPER_PACKAGES = ("sklearn", "joblib")


def _internal_prefixes() -> tuple[str, ...]:
    prefixes = [_LIBRANAS_DIR]
    for name in _WRAPPER_PACKAGES:
        module = sys.modules.get(name)  # not imported: none of its frames can be on the stack
        path = getattr(module, "__file__", None)
        if path:
            prefixes.append(os.path.dirname(os.path.abspath(path)) + os.sep)
    return tuple(prefixes)


def user_stacklevel() -> int:
    """The ``stacklevel`` of the first frame outside libranas, for the caller of this function.

    1 names the caller itself; a stack that is libranas all the way up (the CLI) gets the
    outermost frame.
    """
    prefixes = _internal_prefixes()
    frame = sys._getframe(1)  # the function that will call warnings.warn
    level = 1
    while frame.f_back is not None and os.path.abspath(frame.f_code.co_filename).startswith(
        prefixes
    ):
        frame = frame.f_back
        level += 1
    return level


def warn_user(message: str | Warning, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn`` attributed to the first frame outside libranas.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_user("a note")
    >>> caught[0].filename.endswith("_warnings.py")
    False
    """
    if isinstance(message, Warning):
        category = type(message)
    warnings.warn(message, category, stacklevel=user_stacklevel())
