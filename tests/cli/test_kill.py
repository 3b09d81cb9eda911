"""Killing `twinforge generate` at random moments never leaves a file that looks complete
but is not, and --resume then gives the same bytes as an uninterrupted run."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from twinforge.export.parquet import read_manifest

pytestmark = pytest.mark.slow  # each case simulates a year of 4 homes twice: make test-slow

ARGS = ["-m", "twinforge", "generate", "home", "--homes", "4", "--days", "365", "--period", "1min",
        "--seed", "5", "--quiet"]


def start(out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *ARGS, "--out", str(out)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def completed(out: Path) -> int:
    """Runs committed so far (the manifest and its journal, as every reader sees them)."""
    try:
        return len(read_manifest(out)["runs"])
    except (OSError, ValueError):
        return 0


def assert_nothing_looks_complete_but_is_not(out: Path) -> None:
    listed = set()
    if (out / "manifest.json").exists():
        for e in read_manifest(out)["runs"]:
            listed.update(e["files"])
    for f in out.rglob("*.parquet"):
        rel = f.relative_to(out).as_posix()
        if rel.startswith("samples/"):
            assert rel in listed, f"{rel} looks complete but is not in the manifest"
            pq.ParquetFile(f).metadata  # and it is a whole Parquet file


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "d"
    r = subprocess.run([sys.executable, *ARGS, "--out", str(out)], capture_output=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return out


@pytest.mark.parametrize("after_runs,extra_delay", [(0, 1.6), (1, 0.0), (2, 0.3)])
def test_sigkill_then_resume_equals_uninterrupted(reference, tmp_path, after_runs, extra_delay):
    out = tmp_path / "d"
    proc = start(out)
    deadline = time.time() + 120
    while completed(out) < after_runs and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    time.sleep(extra_delay)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert completed(out) < 4
    assert_nothing_looks_complete_but_is_not(out)
    r = subprocess.run([sys.executable, *ARGS, "--out", str(out), "--resume"], capture_output=True, timeout=600)
    assert r.returncode == 0, r.stderr
    for f in sorted(reference.rglob("*.parquet")):
        rel = f.relative_to(reference)
        if rel.parts[0] in ("samples", "events.parquet", "runs.parquet") or rel.name in ("events.parquet", "runs.parquet"):
            assert (out / rel).read_bytes() == f.read_bytes(), rel
