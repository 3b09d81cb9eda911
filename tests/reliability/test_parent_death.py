"""Local worker processes never outlive their campaign: `kill -9` of the parent, or Ctrl-C
(SIGINT to the whole process group, as a terminal sends it), leaves no process behind, and
Ctrl-C prints one line, no traceback. Every process here is started by the test itself, in
its own session, writing into the test's temporary folder."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

psutil = pytest.importorskip("psutil")

CAMPAIGN = """\
twin = "home"
runs = 12
days = 20
period = "1min"
start = "2024-07-01"
seed = 5
sampler = "natural"
[events.heat_wave]
"""


def start(tmp_path: Path, *extra: str) -> subprocess.Popen:
    spec = tmp_path / "c.toml"
    spec.write_text(CAMPAIGN)
    return subprocess.Popen(
        [sys.executable, "-m", "twinforge", "campaign", "run", str(spec), "--workers", "2",
         "--out", str(tmp_path / "out"), "--quiet", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, cwd=tmp_path,
    )


def busy_descendants(proc: subprocess.Popen, out: Path, timeout_s: float = 180) -> list:
    """The parent's descendants (forkserver, resource tracker, workers) once a worker is
    writing a run (its temporary samples file exists)."""
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        if list((out / "samples").rglob(".run-*.parquet.tmp")):
            kids = parent.children(recursive=True)
            if len(kids) >= 3:
                return kids
        time.sleep(0.05)
    raise AssertionError("no worker started writing in time")


def survivors(procs: list, timeout_s: float = 30) -> list:
    """The processes still alive after up to ``timeout_s`` (each polled, no fixed sleep)."""
    _, alive = psutil.wait_procs(procs, timeout=timeout_s)
    for p in alive:  # never leave them behind, even when the test fails
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    return alive


@pytest.mark.slow  # worker processes end to end (10-20 s): make test-slow
def test_kill_9_of_the_parent_ends_every_worker(tmp_path):
    proc = start(tmp_path)
    kids = busy_descendants(proc, tmp_path / "out")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    alive = survivors(kids)
    assert alive == [], f"orphans left: {[(p.pid, p.name()) for p in alive]}"


@pytest.mark.slow  # worker processes end to end (10-20 s): make test-slow
def test_ctrl_c_stops_the_campaign_with_one_line_and_no_process_left(tmp_path):
    proc = start(tmp_path)
    kids = busy_descendants(proc, tmp_path / "out")
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole group
    _, err = proc.communicate(timeout=60)
    err = err.decode()
    assert proc.returncode == 130, err
    assert "Traceback" not in err, err
    assert err.strip().splitlines() == [
        f"twinforge: error: interrupted; complete runs are kept, finish with: twinforge campaign run "
        f"{tmp_path / 'c.toml'} --resume --out {tmp_path / 'out'}"
    ], err
    assert survivors(kids) == []
