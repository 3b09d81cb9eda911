"""A campaign killed part way (SIGKILL) and resumed equals an uninterrupted one, byte for byte."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from twinforge.campaign.campaign import load_campaign
from twinforge.campaign.executor import run_campaign
from twinforge.export.parquet import read_manifest

from _support import digest, interrupt_after_run_0

SPEC = """\
twin = "home"
runs = 16
days = 2
period = "5min"
start = "2024-07-15"
seed = 99
sampler = "importance"
[events.heat_wave]
rate_per_year = 2.0
[proposal.heat_wave]
rate_factor = 50.0
[parameters."envelope.ua_w_per_k"]
dist = "lognorm"
s = 0.3
scale = 200.0
clip = [20.0, 4000.0]
"""


def _manifest_runs(out: Path) -> int:
    try:
        return len(read_manifest(out)["runs"])  # the manifest and its journal
    except (OSError, ValueError):
        return 0


@pytest.mark.slow  # a long end-to-end case: make test-slow
def test_killed_campaign_resumes_to_the_same_bytes(tmp_path):
    spec = tmp_path / "c.toml"
    spec.write_text(SPEC)
    out = tmp_path / "killed"
    cli = [sys.executable, "-m", "twinforge", "campaign", "run", str(spec), "--out", str(out), "--quiet"]
    proc = subprocess.Popen([*cli, "--workers", "2"], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while _manifest_runs(out) < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the parent, the fork server and its workers
        proc.wait()
    done = _manifest_runs(out)
    assert 3 <= done < 16, f"the campaign was not interrupted part way ({done} runs)"
    manifest = read_manifest(out)
    assert not manifest["finalized"]
    r = subprocess.run([*cli, "--resume"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert f"wrote {16 - done} run(s) ({done} already complete)" in r.stdout
    ref = tmp_path / "whole"
    run_campaign(load_campaign(spec), ref, progress=False)
    assert digest(out) == digest(ref)
    # nothing is redone or duplicated: one manifest entry and one file per run
    manifest = json.loads((out / "manifest.json").read_text())
    assert [e["run_id"] for e in manifest["runs"]] == list(range(16)) and manifest["finalized"]


def test_a_drawn_seed_is_read_back_from_the_runs_of_an_unfinished_dataset(tmp_path):
    """Interrupted before finalize, no seed given: --resume finds the drawn seed in a run shard."""
    from twinforge.campaign.runner import generate
    from twinforge.campaign.spec import load_spec

    spec = load_spec(None, twin="home", runs=2, days=1, period="1h")  # seed drawn
    out = tmp_path / "d"
    seed = generate(spec, out, progress=False).seed
    whole = digest(out)
    interrupt_after_run_0(out)
    again = generate(spec, out, mode="resume", progress=False)
    assert again.seed == seed and again.runs_written == 1
    assert digest(out) == whole
