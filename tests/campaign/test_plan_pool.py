"""Subset simulation and latent cross-entropy on local worker processes and on a real Dask
cluster: the same outcomes bit for bit as in this process, a failing run named, the CLI's
--workers and --scheduler."""

from __future__ import annotations

import json

import numpy as np
import pytest

from twinforge.campaign import executor
from twinforge.campaign.campaign import CampaignSpec
from twinforge.campaign.executor import SchedulerError
from twinforge.campaign.latent import CHUNKS_PER_WORKER, LatentSpace, latent_cross_entropy, plan_simulator
from twinforge.campaign.subset import subset_simulation
from _support import run_cli

distributed = pytest.importorskip("dask.distributed")

#: one day at 1 h: a run takes about 10 ms, the pools' start-up dominates
CAMPAIGN = {"twin": "home", "runs": 10, "days": 1, "period": "1h", "start": "2024-07-15", "seed": 3,
            "diversity": False, "events": {"heat_wave": {"rate_per_year": 4.0}}}
SUBSET = {"seed": 3, "runs_per_level": 20, "p0": 0.5, "max_levels": 3}
LATENT = {"seed": 3, "runs_per_stage": 50, "batch": 50, "max_runs": 150, "max_stages": 2}
THRESHOLD = 31.0


def _estimates(sim):
    """A small subset simulation and a small latent cross-entropy through ``sim``."""
    c = CampaignSpec.from_data(CAMPAIGN)
    return subset_simulation(c, sim, THRESHOLD, **SUBSET), latent_cross_entropy(c, sim, THRESHOLD, **LATENT)


def _same(a, b) -> None:
    (sa, la), (sb, lb) = a, b
    assert sa.to_json() == sb.to_json() and la.to_json() == lb.to_json()
    for x, y in zip(sa.levels, sb.levels, strict=True):
        assert x.values.tobytes() == y.values.tobytes()
    for x, y in zip(la.stages, lb.stages, strict=True):
        assert x.values.tobytes() == y.values.tobytes() and x.log_weights.tobytes() == y.log_weights.tobytes()


@pytest.fixture(scope="module")
def serial():
    with plan_simulator("temp_outdoor_c") as sim:
        assert sim.executor == "serial"
        return _estimates(sim)


def test_serial_estimates_are_real_outcomes(serial):
    s, lat = serial
    # level 0: 20 independent runs of the twin, whose peaks differ; the chains move above its level
    assert np.unique(s.levels[0].values).size > 10 and 10.0 < s.levels[0].values.min() < s.levels[0].values.max() < 45.0
    assert s.levels[1].values.min() > s.levels[0].threshold
    assert lat.runs == sum(st.runs for st in lat.stages) <= 150 and np.unique(lat.stages[0].values).size > 30


@pytest.mark.slow  # worker processes (about 1.5 s to start on 2 cores): make test-slow
def test_two_worker_processes_give_the_same_estimates_bit_for_bit(serial):
    with plan_simulator("temp_outdoor_c", workers=2) as sim:
        assert sim.executor == "2 processes"
        got = _estimates(sim)
        pool = sim._pool
        procs = list(pool._processes.values())
        assert len(procs) == 2 and all(p.is_alive() for p in procs)
    _same(got, serial)
    assert sim._pool is None and not any(p.is_alive() for p in procs)  # closed with the block


def test_a_dask_cluster_gives_the_same_estimates_bit_for_bit(serial):
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            with plan_simulator("temp_outdoor_c", client=client) as sim:
                assert sim.executor.startswith("dask inproc://")
                got = _estimates(sim)
            assert client.status == "running"  # a client given is not closed
        _same(got, serial)
        # a scheduler address: the client is made here and closed with the simulator
        with plan_simulator("temp_outdoor_c", scheduler=cluster.scheduler_address) as sim:
            own = sim.client
            _same(_estimates(sim), serial)
        assert own.status == "closed"


def _batch(runs: int = 12):
    c = CampaignSpec.from_data(CAMPAIGN)
    space = LatentSpace(c)
    return space.plans(np.random.default_rng(0).standard_normal((runs, space.dimension)), 5)


def test_a_failing_run_is_named_in_one_line():
    stage, plans = _batch()
    with pytest.raises(RuntimeError, match=r"^run 0 of batch stage-07 failed: KeyError: 'nope'$"):
        with plan_simulator("nope") as sim:
            sim(stage, 5, "stage-07", plans)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        # the first chunk to fail, whichever it is (12 plans in 2 x CHUNKS_PER_WORKER chunks of 1 or 2)
        starts = {12 * i // (2 * CHUNKS_PER_WORKER) for i in range(2 * CHUNKS_PER_WORKER)}
        with pytest.raises(RuntimeError, match=r"^run (\d+) of batch stage-07 failed: KeyError: 'nope'$") as e:
            plan_simulator("nope", client=client)(stage, 5, "stage-07", plans)
        assert int(str(e.value).split()[1]) in starts


@pytest.mark.slow  # worker processes: make test-slow
def test_a_failing_run_in_a_worker_process_is_named_and_the_workers_end():
    stage, plans = _batch()
    with pytest.raises(RuntimeError, match=r"^run (\d+) of batch stage-07 failed: KeyError: 'nope'$"):
        with plan_simulator("nope", workers=2) as sim:
            try:
                sim(stage, 5, "stage-07", plans)
            finally:
                procs = list(sim._pool._processes.values())
    assert procs and not any(p.is_alive() for p in procs)


def test_an_empty_batch_and_chunks_in_plan_order():
    stage, plans = _batch(7)
    with plan_simulator("temp_outdoor_c", "mean") as sim:
        one = sim(stage, 5, "b", plans)
        assert sim(stage, 5, "b", []).shape == (0,)
    assert np.unique(one).size == 7  # each plan its own outcome: an order mixed up would show
    with distributed.LocalCluster(n_workers=3, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        # 7 plans over 3 x CHUNKS_PER_WORKER task slots: one plan a chunk; and the plans reversed
        with plan_simulator("temp_outdoor_c", "mean", client=client) as sim:
            assert sim(stage, 5, "b", plans).tobytes() == one.tobytes()
            assert sim(stage, 5, "b", plans[::-1]).tobytes() == one[::-1].tobytes()
            assert sim(stage, 5, "b", []).shape == (0,)


@pytest.mark.parametrize(("kw", "error", "message"), [
    ({"workers": 0}, ValueError, r"^workers must be >= 1, got 0$"),
    ({"stat": "median"}, ValueError, r"^stat must be one of .*, got 'median'$"),
    ({"scheduler": "tcp://host"}, SchedulerError, r"^--scheduler 'tcp://host': not a Dask scheduler address"),
])
def test_bad_arguments_are_refused(kw, error, message):
    with pytest.raises(error, match=message):
        plan_simulator("temp_outdoor_c", **kw)




def _spec(tmp_path):
    spec = tmp_path / "c.toml"
    spec.write_text('twin = "home"\nruns = 10\ndays = 1\nperiod = "1h"\nstart = "2024-07-15"\nseed = 3\n'
                    "diversity = false\n[events.heat_wave]\nrate_per_year = 4.0\n")
    return spec


SUBSET_CLI = ["--method", "subset", "--column", "temp_outdoor_c", "--above", "31", "--runs-per-level", "10",
              "--p0", "0.5"]
LATENT_CLI = ["--method", "latent-ce", "--column", "temp_outdoor_c", "--above", "31", "--runs-per-stage", "50",
              "--max-runs", "150"]


@pytest.mark.slow  # worker processes, whole CLI runs: make test-slow
def test_cli_workers_write_the_same_summary(tmp_path):
    spec = _spec(tmp_path)
    for name, extra in (("subset.json", SUBSET_CLI), ("latent-ce.json", LATENT_CLI)):
        outs = []
        for workers in ("1", "2"):
            out = tmp_path / f"{name}-{workers}"
            code, stdout, stderr = run_cli("campaign", "adapt", spec, *extra, "--out", out, "--workers", workers)
            assert code == 0, stderr
            outs.append((stdout, (out / name).read_bytes()))
        assert outs[0] == outs[1]
        assert json.loads(outs[0][1])["runs"] > 0


def test_cli_scheduler_writes_the_same_summary(tmp_path):
    spec = _spec(tmp_path)
    code, stdout, stderr = run_cli("campaign", "adapt", spec, *SUBSET_CLI, "--out", tmp_path / "serial")
    assert code == 0, stderr
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        code, stdout_d, stderr = run_cli("campaign", "adapt", spec, *SUBSET_CLI, "--out", tmp_path / "dask",
                                      "--scheduler", cluster.scheduler_address)
    assert code == 0, stderr
    assert stdout_d == stdout
    assert (tmp_path / "dask" / "subset.json").read_bytes() == (tmp_path / "serial" / "subset.json").read_bytes()


def test_cli_refuses_a_scheduler_that_does_not_answer_before_writing(tmp_path, monkeypatch):
    monkeypatch.setattr(executor, "SCHEDULER_TIMEOUT_S", 0.5)  # the real refusal, sooner
    ce = ["--method", "ce", "--column", "temp_outdoor_c", "--above", "31"]
    for extra in (SUBSET_CLI, LATENT_CLI, ce):
        for address, message in (("tcp://127.0.0.1:9", "--scheduler tcp://127.0.0.1:9: no Dask scheduler answered "
                                  "within 0.5 s"), ("nowhere", "--scheduler 'nowhere': not a Dask scheduler address")):
            out = tmp_path / extra[1]
            code, _, stderr = run_cli("campaign", "adapt", _spec(tmp_path), *extra, "--out", out, "--scheduler", address)
            assert code == 2 and stderr.startswith(f"twinforge: error: {message}") and stderr.count("\n") == 1, stderr
            assert not out.exists()


def _session(pid: int) -> list[int]:
    """The processes of the session ``pid`` leads (the CLI, its fork server and workers)."""
    import subprocess

    return [int(x) for x in subprocess.run(["pgrep", "-s", str(pid)], capture_output=True, text=True).stdout.split()]


@pytest.mark.slow  # a whole CLI process and its workers: make test-slow
def test_ctrl_c_stops_the_workers_and_writes_nothing(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    spec = _spec(tmp_path)
    spec.write_text(spec.read_text().replace('days = 1\nperiod = "1h"', 'days = 14\nperiod = "1min"'))
    out = tmp_path / "subset"
    proc = subprocess.Popen(
        [sys.executable, "-m", "twinforge", "campaign", "adapt", str(spec), "--method", "subset", "--column",
         "temp_outdoor_c", "--above", "39", "--out", str(out), "--workers", "2"],
        start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as from a terminal, even under `&`
    )
    try:
        deadline = time.monotonic() + 60
        while len(_session(proc.pid)) < 4 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)  # the CLI, the fork server and 2 workers
        assert len(_session(proc.pid)) >= 4, "the workers did not start"
        time.sleep(0.5)  # runs in progress
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130 and stderr.endswith("twinforge: error: interrupted; nothing written\n"), stderr
    assert not out.exists()
    deadline = time.monotonic() + 10
    while _session(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)  # the fork server ends once its parent is gone
    assert not _session(proc.pid)
