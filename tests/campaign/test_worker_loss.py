"""A Dask worker lost in the middle of a campaign loses no run and duplicates none: the
campaign finishes and its dataset equals an uninterrupted run, byte for byte."""

import json
import os
import signal
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from twinforge.campaign.campaign import CampaignSpec, plan_campaign
from twinforge.campaign.executor import _task, run_campaign
from twinforge.export.parquet import read_manifest

from _support import digest

distributed = pytest.importorskip("dask.distributed")

RUNS = 12
#: the lock file and stray temporaries a killed worker may leave
VOLATILE = (".lock", "*.tmp")
# about 0.3 s a run (45 days at 1 min): the campaign lasts long enough to lose a worker in it
CAMPAIGN = {
    "twin": "home", "runs": RUNS, "days": 45, "period": "1min", "start": "2024-07-20", "seed": 21,
    "sampler": "importance", "events": {"heat_wave": {}},
    "proposal": {"heat_wave": {"rate_factor": 50.0}},
}


def manifest_runs(out: Path) -> list[int]:
    try:
        return [e["run_id"] for e in read_manifest(out)["runs"]]  # the manifest and its journal
    except (OSError, ValueError):
        return []


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("worker_loss") / "serial"
    run_campaign(CampaignSpec.from_data(CAMPAIGN), out, progress=False)
    return out


@pytest.mark.slow  # a long end-to-end case: make test-slow
def test_worker_killed_mid_campaign_loses_and_duplicates_no_run(reference, tmp_path):
    out = tmp_path / "dask"
    c = CampaignSpec.from_data(CAMPAIGN)
    killed: dict = {}

    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
    ) as cluster, distributed.Client(cluster) as client:
        pids = client.run(os.getpid)  # worker address -> pid
        assert len(pids) == 2

        def kill_one_worker() -> None:
            deadline = time.monotonic() + 600  # a loaded machine is slow; the runs take ~0.3 s each idle
            while len(manifest_runs(out)) < 3 and time.monotonic() < deadline:
                time.sleep(0.005)
            busy = {w: list(ts) for w, ts in client.processing().items() if ts}
            victim = next((w for w in busy if w in pids), next(iter(pids)))
            killed.update(worker=victim, running=busy.get(victim, []), done=len(manifest_runs(out)))
            os.kill(pids[victim], signal.SIGKILL)

        killer = threading.Thread(target=kill_one_worker, daemon=True)
        killer.start()
        s = run_campaign(c, out, client=client, progress=False)
        killer.join(timeout=600)
        assert killed, "the worker was never killed"
        # the nanny restarts the worker: a new process (the old pid is gone)
        assert pids[killed["worker"]] not in client.run(os.getpid).values()

    assert 3 <= killed["done"] < RUNS, f"not killed part way: {killed}"
    assert killed["running"], f"the lost worker was running no run: {killed}"
    assert s.runs_written == RUNS and s.runs_skipped == 0
    # nothing lost or duplicated: one manifest entry and one samples file per run
    manifest = json.loads((out / "manifest.json").read_text())
    assert [e["run_id"] for e in manifest["runs"]] == list(range(RUNS)) and manifest["finalized"]
    ref_manifest = json.loads((reference / "manifest.json").read_text())
    assert manifest["runs"] == ref_manifest["runs"]
    samples = {p.relative_to(out).as_posix() for p in (out / "samples").rglob("*.parquet")}
    assert samples == {f"samples/home/run-{i:06d}.parquet" for i in range(RUNS)}
    assert pq.read_table(out / "runs.parquet").column("run_id").to_pylist() == list(range(RUNS))
    # byte for byte: manifest, samples, runs.parquet, events.parquet, shards
    got, want = digest(out, ignore=VOLATILE), digest(reference, ignore=VOLATILE)
    assert got.keys() == want.keys()
    assert [k for k in want if got[k] != want[k]] == []


def test_a_task_run_again_after_its_result_was_lost_is_a_no_op(tmp_path):
    """Dask recomputes a finished task whose result lived on a lost worker: the run is
    already committed, so the task must report it (same result), not fail or write it twice."""
    data = {**CAMPAIGN, "runs": 2, "days": 1}
    c = CampaignSpec.from_data(data)
    spec_json = c.scenario.model_copy(update={"seed": data["seed"]}).to_json_dict()
    plan = plan_campaign(c, data["seed"], [1])[0].to_json()
    chash = c.config_hash(data["seed"])
    out = str(tmp_path / "twice")
    first = _task(spec_json, plan, out, chash)
    before = digest(Path(out))
    assert first["run_id"] == 1 and first["rows"] == 1440 and first["values"] > first["rows"]
    assert _task(spec_json, plan, out, chash) == first
    assert digest(Path(out)) == before
    assert manifest_runs(Path(out)) == [1]
    # a different configuration in the same folder is still refused, not taken for done
    with pytest.raises(ValueError, match="another configuration"):
        _task(spec_json, plan, out, "0" * len(chash))
