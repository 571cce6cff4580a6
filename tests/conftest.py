from pathlib import Path

import pytest
from _data import DATA_DIR, require_data


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "shared_data(*paths): the test needs these files under the real-data folder "
        "(tests/_data.py); skipped without them, failed under LIBRANAS_STRICT_DATA=1",
    )


def pytest_runtest_setup(item):
    for marker in item.iter_markers("shared_data"):
        require_data(*marker.args)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real-data folder (tests/_data.py); skip (strict: fail) when it is missing."""
    if not DATA_DIR.is_dir():
        require_data(".")  # skips or fails with the standard message
    return DATA_DIR
