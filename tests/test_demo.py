"""``make demo`` end to end: the demo runs once, as ``make demo`` runs it (a real
subprocess, ``python -m twinforge.demo --out ...``), and what it wrote is checked against
what README.md ("What the demo wrote") and docs/schema.md promise.

Same-seed-same-bytes is not rerun here (it would double the cost of the demo); it is
covered by tests/cli/test_cli.py::test_same_seed_same_bytes, tests/campaign/ and
tests/export/. The demo takes minutes: the module is marked ``slow`` (``make test-slow``).
"""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from twinforge import demo

pytestmark = pytest.mark.slow

DATASETS = {"home": "home", "grid": "grid", "machine": "machine", "home_calibrated": "home"}  # folder -> twin
RUNS = {"home": demo.HOMES["runs"], "grid": demo.GRID["runs"], "machine": demo.MACHINES["runs"], "home_calibrated": 6}
REPORTS = {"default": "home", "calibrated": "home_calibrated", "machine": "machine"}  # fidelity/<name> -> dataset


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    out = root / "demo_output"
    r = subprocess.run(
        [sys.executable, "-m", "twinforge.demo", "--out", str(out)],
        capture_output=True, text=True, cwd=root, timeout=600,
    )
    assert r.returncode == 0, r.stderr[-4000:]
    return out, r


@pytest.fixture(scope="module")
def out(run):
    return run[0]


@pytest.fixture(scope="module")
def tables(out):
    """folder -> (samples, events, runs), read with plain pandas as docs/schema.md shows."""
    return {
        name: (
            pd.read_parquet(out / name / "samples"),
            pd.read_parquet(out / name / "events.parquet"),
            pd.read_parquet(out / name / "runs.parquet"),
        )
        for name in DATASETS
    }


# --------------------------------------------------------------------------- the run itself


def test_demo_writes_only_its_output_folder_and_prints_the_tour(run):
    out, r = run
    assert sorted(p.name for p in out.parent.iterdir()) == ["demo_output"]  # nothing left in the cwd
    assert sorted(p.name for p in out.iterdir()) == sorted([*DATASETS, "fidelity"])
    assert "What the demo wrote" in r.stdout and "demo finished in" in r.stdout
    for name in DATASETS:
        if name != "home_calibrated":  # the calibrated set is reported through its fidelity report
            assert str(out / name) in r.stdout


# --------------------------------------------------------------------------- layout


@pytest.mark.parametrize("name", DATASETS)
def test_dataset_layout_and_every_parquet_file_reads_back(out, name):
    twin = DATASETS[name]
    d = out / name
    for f in ("events.parquet", "runs.parquet", "manifest.json"):
        assert (d / f).is_file(), f
    parts = sorted((d / "samples").rglob("*.parquet"))
    assert [p.relative_to(d).as_posix() for p in parts] == [
        f"samples/{twin}/run-{n:06d}.parquet" for n in range(RUNS[name])
    ]
    for f in sorted(d.rglob("*.parquet")):  # samples, events, runs, per-run shards, snapshots
        assert pq.read_table(f).num_rows > 0, f
        assert isinstance(pd.read_parquet(f), pd.DataFrame)
    meta = json.loads(pq.read_schema(parts[0]).metadata[b"twinforge"])
    assert meta["twin"] == twin and meta["run_id"] == 0 and "columns" in meta and meta["period_s"] > 0


@pytest.mark.parametrize("name", DATASETS)
def test_run_ids_match_runs_and_manifest_and_each_run_has_seed_and_weight(out, tables, name):
    samples, events, runs = tables[name]
    n = RUNS[name]
    assert sorted(runs.run_id) == list(range(n))
    assert sorted(int(i) for i in samples.run_id.unique()) == list(range(n))
    assert set(int(i) for i in events.run_id.unique()) <= set(range(n))
    assert (runs.twin == DATASETS[name]).all() and (samples.twin == DATASETS[name]).all()
    assert runs.seed.notna().all() and (runs.seed == demo.HOMES["seed"]).all()
    assert runs.weight.notna().all() and np.isfinite(runs.weight).all() and (runs.weight > 0).all()
    assert (runs.weight == 1).all()  # plain Monte Carlo in the demo

    manifest = json.loads((out / name / "manifest.json").read_text())
    assert manifest["finalized"] is True and manifest["format"] == "twinforge-dataset"
    assert sorted(m["run_id"] for m in manifest["runs"]) == list(range(n))
    rows = samples.groupby("run_id", observed=True).size()
    for m in manifest["runs"]:
        assert rows[m["run_id"]] == m["rows"]
        for f in m["files"]:
            assert (out / name / f).is_file(), f


def test_home_samples_cover_the_simulated_fortnight_at_one_minute(tables):
    samples, _, _ = tables["home"]
    start = pd.Timestamp(demo.HOMES["start"], tz="UTC")
    expected = pd.date_range(start, periods=demo.HOMES["days"] * 24 * 60, freq="1min")
    for _, r in samples.groupby("run_id", observed=True):
        assert r.time.is_monotonic_increasing
        assert len(r) == len(expected) and (pd.DatetimeIndex(r.time) == expected).all()
    assert samples.time.dtype == "datetime64[ns, UTC]"


def test_xarray_view_of_the_homes(out):
    import twinforge

    x = twinforge.open_dataset(out / "home").to_xarray()
    assert dict(x.sizes)["run"] == demo.HOMES["runs"] and dict(x.sizes)["time"] == demo.HOMES["days"] * 24 * 60
    assert x.twin.units["mains_power_w"] == "W"


# --------------------------------------------------------------------------- rare events as labels


def test_cold_snap_is_an_event_and_labels_the_home_samples_inside_its_window(tables):
    samples, events, _ = tables["home"]
    period_start = pd.Timestamp(demo.HOMES["start"], tz="UTC")
    period_end = period_start + pd.Timedelta(days=demo.HOMES["days"])
    snaps = events[events.type == "cold_snap"]
    assert sorted(snaps.run_id) == list(range(demo.HOMES["runs"]))  # one per home
    assert (snaps.category == "rare").all()
    for _, ev in snaps.iterrows():
        assert ev.start < ev.end
        assert period_start <= ev.start and ev.end <= period_end
        assert ev.start == pd.Timestamp(demo.COLD_SNAP["start"], tz="UTC")
        assert ev.end - ev.start == pd.Timedelta(hours=demo.COLD_SNAP["duration_h"])
        assert ev.severity == demo.COLD_SNAP["severity"]
        r = samples[samples.run_id == ev.run_id]
        inside = (r.time >= ev.start) & (r.time < ev.end)  # docs/schema.md: start <= time < end
        assert inside.sum() == demo.COLD_SNAP["duration_h"] * 60
        assert (r.event[inside] == "cold_snap").all()
        assert (r.event_id[inside] == ev.event_id).all()
        assert (r.severity[inside] == ev.severity).all()
        assert not (r.event[~inside] == "cold_snap").any()
    # no other rare event in the homes: everything outside the snap is unlabelled
    assert set(samples.event.unique()) == {"", "cold_snap"}
    assert (samples.event_id[samples.event == ""] == -1).all() and samples.severity[samples.event == ""].isna().all()


def test_grid_outage_from_the_feeder_fault(tables):
    samples, events, _ = tables["grid"]
    fault = demo.GRID["events"][1]
    outages = events[events.type == "outage"]
    assert len(outages) == 1
    ev = outages.iloc[0]
    params = ev.params  # a struct: a dict per event
    assert ev.category == "rare" and params["cause"] == "fault" and ev.severity_unit == "1"
    assert ev.start == pd.Timestamp(fault["start"], tz="UTC")
    assert ev.end - ev.start == pd.Timedelta(hours=fault["duration_h"])
    n_homes = demo.GRID["grid"]["n_homes"]
    assert params["homes_affected"] == round(fault["severity"] * n_homes) == 60  # README: "cuts 60 homes for 3 h"
    inside = (samples.time >= ev.start) & (samples.time < ev.end)
    assert inside.sum() == fault["duration_h"] * 4  # 15-min steps
    assert (samples.event[inside] == "outage").all() and (samples.event_id[inside] == ev.event_id).all()
    assert (samples.outage[inside] == 1).all() and (samples.outage[~inside] == 0).all()
    assert (samples.homes_served[inside] == n_homes - params["homes_affected"]).all()
    assert (samples.homes_served[~inside] == n_homes).all()
    # energy not served: positive, and less than the whole feeder drew at its peak for those 3 h
    ens = params["energy_not_served_j"]
    assert 0 < ens < samples.homes_power_w.max() * fault["duration_h"] * 3600
    # the cold snap reaches the feeder too, and both labels are visible during the outage
    snap = events[events.type == "cold_snap"].iloc[0]
    assert snap.severity_unit == "K"
    in_snap = (samples.time >= snap.start) & (samples.time < snap.end)
    assert inside[~in_snap].sum() == 0  # README: the fault falls during the cold snap
    both = samples.events_active.map(lambda a: "cold_snap" in a and "outage" in a)
    assert (both == inside).all()
    snap_labels = samples.events_active.map(lambda a: "cold_snap" in a)
    assert (snap_labels == in_snap).all() and snap_labels.sum() == demo.COLD_SNAP["duration_h"] * 4


def test_machines_run_to_failure_with_health_and_rul_labels(tables):
    samples, events, _ = tables["machine"]
    period_s = pd.Timedelta(demo.MACHINES["period"]).total_seconds()
    for run_id, r in samples.groupby("run_id", observed=True):
        r = r.sort_values("time")
        health, rul = r.health.to_numpy(), r.rul_s.to_numpy()
        assert np.all((health >= 0) & (health <= 1))
        assert np.all(np.diff(health) <= 0), f"health increases in run {run_id}"
        assert health[-1] == 0 and health[0] > health[-1]
        assert abs(rul[-1]) < 1e-9 and rul[0] > 0 and np.all(rul >= 0)
        assert r.event.iloc[-1] == "machine_failure"
        failure = events[(events.run_id == run_id) & (events.type == "machine_failure")]
        assert len(failure) == 1
        t_f = failure.start.iloc[0]
        # docs/machine.md: rul_s = max(T_f - t, 0); the run stops at the first snapshot at or after T_f
        np.testing.assert_allclose(rul, ((t_f - r.time).dt.total_seconds()).clip(lower=0), atol=1e-6)
        assert r.time.iloc[-1] >= t_f > r.time.iloc[-2]
        assert np.allclose(np.diff(rul)[:-1], -period_s)
        mode = events[(events.run_id == run_id) & events.type.str.startswith("bearing_")]
        assert len(mode) == 1 and r.fault.iloc[-1] == mode.params.iloc[0]["mode"]
        assert mode.end.iloc[0] == t_f


def test_machine_snapshots_hold_the_raw_waveforms(out, tables):
    import twinforge

    snaps = twinforge.open_dataset(out / "machine").table("snapshots")
    samples, _, _ = tables["machine"]
    assert len(snaps) == len(samples)
    lengths = {len(a) for a in snaps.accel_g.head(20)}
    assert lengths == {2560}  # 0.1 s at 25.6 kHz


def test_the_demo_datasets_read_the_same_in_every_reader(out, check_readers):
    for name in DATASETS:
        check_readers(out / name)


def test_the_readme_python_example_runs_on_the_demo_output(run, tmp_path, monkeypatch):
    """README.md's Python block, as printed, from the folder that holds demo_output/."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    (code,) = [b for b in re.findall(r"```python\n(.*?)```", readme, flags=re.S) if "open_dataset" in b]
    monkeypatch.chdir(run[0].parent)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["x"].twin.units["mains_power_w"] == "W"
    assert int(namespace["x"].twin.event_mask("cold_snap").sum()) == demo.HOMES["runs"] * demo.COLD_SNAP["duration_h"] * 60


# --------------------------------------------------------------------------- fidelity reports


@pytest.mark.parametrize("name", REPORTS)
def test_fidelity_report_and_metrics(run, name):
    out, r = run
    d = out / "fidelity" / name
    html = (d / "report.html").read_text()
    assert len(html) > 1000 and html.lstrip().startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    metrics = json.loads((d / "metrics.json").read_text())
    score = metrics["metrics"]["windows"]["discriminative_score"]["value"]
    assert 0 <= score <= 0.5
    assert metrics["info"]["n_runs"] == RUNS[REPORTS[name]]
    # the report and the demo's printout show the same number as metrics.json
    assert f"discriminative score {score:.3g}" in html  # the report's format (0.470 reads 0.47)
    assert f"discriminative score (0 = indistinguishable, 0.5 = separable): {score:.3f}" in r.stdout
