import os
from pathlib import Path

if os.environ.get("PYTEST_XDIST_WORKER"):
    # several test processes share the cores (pytest -n): one thread each for OpenMP / BLAS
    # (scikit-learn's boosting, xgboost, torch, and the CLI subprocesses the tests start),
    # or their spinning threads oversubscribe the machine (a 3 s test took minutes)
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

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


@pytest.fixture(scope="module")
def torch_one_thread():
    """Torch at one thread for a module's tests, restored after (``pytestmark =
    pytest.mark.usefixtures("torch_one_thread")``): small networks gain nothing from
    threads, and several worker processes on a shared machine would oversubscribe it."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
