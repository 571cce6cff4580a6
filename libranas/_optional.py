"""Optional dependencies: a missing one is one line that names the extra to install.

libranas' core (tables, :class:`~libranas.LibraSelector`, the training-free rankers, the
metrics) needs numpy, scipy, pandas and scikit-learn only. The rest comes with the extras of
``pyproject.toml``; :data:`EXTRAS` maps each optional module to its extra. Entry points call
:func:`require` before they need a module, and the command line turns a
:class:`MissingExtraError` (or any import of a module listed here that fails) into one line
and exit status 2.

Examples
--------
>>> missing_extra_message("torch", "ProxyFeaturizer")
'ProxyFeaturizer needs torch, which is not installed: pip install "libranas[torch]"'
>>> extra_for("xgboost.sklearn"), extra_for("numpy") is None
('xgboost', True)
"""

from __future__ import annotations

import importlib
from types import ModuleType

#: top-level optional module -> the extra of ``pyproject.toml`` that installs it
EXTRAS: dict[str, str] = {
    "torch": "torch",
    "torchvision": "torch",
    "timm": "torch",
    "xgboost": "xgboost",
    "optuna": "search",
    "dask": "distributed",
    "distributed": "distributed",
    "ray": "ray",
}


class MissingExtraError(ImportError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        _install_one_line_hook()


def _one_line_hook(previous):  # noqa: ANN001, ANN202 - sys.excepthook's signature
    def hook(kind, value, tb):  # noqa: ANN001, ANN202
        if not isinstance(value, MissingExtraError):
            return previous(kind, value, tb)
        # a script (python -c, python file.py) that reaches a missing extra uncaught ends
        # as the command line does: one line naming the extra and exit status 2
        import logging
        import os
        import sys

        print(f"error: {value}", file=sys.stderr)
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(2)

    hook.libranas_missing_extra = True
    return hook


def _install_one_line_hook() -> None:
    """Make an *uncaught* :class:`MissingExtraError` one line and exit status 2.

    Installed when such an error is first created, on top of whatever ``sys.excepthook``
    is (it defers every other exception to it). Interactive shells (IPython, Jupyter) do
    not use ``sys.excepthook``: they show the error as usual, with its message.
    """
    import sys

    if not getattr(sys.excepthook, "libranas_missing_extra", False):
        sys.excepthook = _one_line_hook(sys.excepthook)


def extra_for(module: str | None) -> str | None:
    """The extra that installs ``module`` (a dotted name is read by its top level), or None."""
    if not module:
        return None
    return EXTRAS.get(module.split(".")[0])


def missing_extra_message(module: str, feature: str) -> str:
    """One line: what needs ``module`` and the ``pip install`` command of its extra."""
    top = module.split(".")[0]
    extra = extra_for(top)
    install = f'pip install "libranas[{extra}]"' if extra else f"pip install {top}"
    if top == "xgboost":
        install += " (or the 6 MB CPU-only pip install xgboost-cpu)"
    return f"{feature} needs {top}, which is not installed: {install}"


def require(module: str, feature: str) -> ModuleType:
    """Import ``module``, or raise :class:`MissingExtraError` naming the extra.

    Parameters
    ----------
    module : str
        The module to import (e.g. ``"torch"``, ``"xgboost"``, ``"optuna"``).
    feature : str
        What needs it, as the user called it (e.g. ``"ProxyFeaturizer"``).

    Raises
    ------
    MissingExtraError
        The module (or one it imports, e.g. torch under timm) is not installed.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        missing = getattr(exc, "name", None) or module
        if extra_for(missing) is None:
            missing = module
        raise MissingExtraError(missing_extra_message(missing, feature)) from None


def as_missing_extra(exc: BaseException, feature: str) -> MissingExtraError | None:
    """A :class:`MissingExtraError` for an ImportError of an optional module, else None."""
    if isinstance(exc, MissingExtraError):
        return exc
    if isinstance(exc, ImportError) and extra_for(getattr(exc, "name", None)):
        return MissingExtraError(missing_extra_message(exc.name, feature))
    return None
