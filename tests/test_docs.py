"""Documentation that is generated from the code must be current."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_nomenclature_is_current():
    r = subprocess.run([sys.executable, str(ROOT / "docs" / "_nomenclature.py"), "--check"], cwd=ROOT)
    assert r.returncode == 0, "docs/nomenclature.md is stale: run `python docs/_nomenclature.py`"


def test_readme_quick_start_is_the_two_make_targets():
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
