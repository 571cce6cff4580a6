from pathlib import Path

import pytest

# real data kept next to the checkout (not bundled: image licenses / size)
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real benchmark data folder {SHARED_DATA} is not available")
    return SHARED_DATA
