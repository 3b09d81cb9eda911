"""Test-wide helpers.

The full real data sets live in ``../shared/data`` beside the repository (CI has them) or
wherever ``TWINFORGE_SHARED_DATA`` points; tests that need them ask the ``shared_file``
fixture, which skips the test with the path it looked for when the file is absent.
"""

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(os.environ.get("TWINFORGE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_file():
    """``shared_file("pjm_hourly_load/PJME_hourly.csv") -> Path``, or skip the test if absent."""

    def find(relative: str) -> Path:
        path = SHARED_DATA / relative
        if not path.exists():
            pytest.skip(f"full real data set not available: {path} (set TWINFORGE_SHARED_DATA)")
        return path

    return find
