"""Where the tests find the real data that is not bundled (image batches, source tables).

One rule for every test module and benchmark script: the folder named by the environment
variable ``LIBRANAS_DATA``, else ``shared/data`` next to the repository (``../shared/data``
from the repository root). A test that needs a file from there is marked
``@needs_data("images/cifar10_960_uint8.npz")`` (or calls :func:`require_data`): it is
skipped when the file is missing, unless ``LIBRANAS_STRICT_DATA=1`` (CI sets it when the
folder exists), where a missing file fails the test instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: the real-data folder (not part of the repository)
DATA_DIR = Path(
    os.environ.get("LIBRANAS_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data"
)
#: a data test that would be skipped fails instead
STRICT = os.environ.get("LIBRANAS_STRICT_DATA", "").strip() not in ("", "0")


def data_path(relative: str) -> Path:
    """``DATA_DIR / relative`` (whether or not it exists)."""
    return DATA_DIR / relative


def missing_message(paths: list[Path]) -> str:
    names = ", ".join(str(p) for p in paths)
    return (
        f"real data not available: {names} (set LIBRANAS_DATA to the folder holding it, "
        "default ../shared/data from the repository root)"
    )


def require_data(*relative: str) -> Path | list[Path]:
    """The paths of ``relative`` files under :data:`DATA_DIR`; skip (or, strict, fail) the
    calling test when one is missing."""
    paths = [data_path(r) for r in relative]
    missing = [p for p in paths if not p.exists()]
    if missing:
        if STRICT:
            pytest.fail("LIBRANAS_STRICT_DATA is set: " + missing_message(missing))
        pytest.skip(missing_message(missing))
    return paths[0] if len(paths) == 1 else paths


def needs_data(*relative: str) -> pytest.MarkDecorator:
    """Mark a test (or, as ``pytestmark``, a module) as needing these data files; the
    check runs when the test is set up (``conftest.py``), with :func:`require_data`'s rule."""
    return pytest.mark.shared_data(*relative)


def synthetic_images(
    folder: Path, name: str, n: int, side: int = 32, n_classes: int = 10, seed: int = 0
) -> str:
    """Write ``n`` random uint8 images (``side`` x ``side``, 3 channels) with random labels
    below ``n_classes`` to ``folder / name`` and return the path: for tests that need the file
    format and a dataset's normalisation (the name selects it), not real images."""
    import numpy as np

    path = Path(folder) / name
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, 3, side, side), dtype=np.uint8)
    np.savez(path, x=x, y=rng.integers(0, n_classes, size=n))
    return str(path)
