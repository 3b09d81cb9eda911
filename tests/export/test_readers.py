"""Datasets written by the twins, read back by every reader the docs name.

Small datasets of the three twins, shaped like the demo's (a cold snap; on the feeder a
fault during it; machines run to failure with their raw snapshots), read with pandas,
pyarrow, polars, DuckDB, Dask and xarray: ``run_id`` is int64 and ``twin`` a string in
every one of them, overlapping labelled events are all visible, severities carry their
units, ``params`` is a struct, and the local time zone is in the metadata. The readers'
check is the ``check_readers`` fixture (``tests/conftest.py``), which ``tests/test_demo.py``
also runs on the demo's own datasets.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

import twinforge
from twinforge.campaign.runner import generate
from twinforge.campaign.spec import load_spec
from twinforge.export import describe
from twinforge.export.parquet import FORMAT_VERSION

COLD_SNAP = {"type": "cold_snap", "start": "2007-01-09T00:00", "duration_h": 24, "severity": 7.0}
FAULT = {"type": "feeder_fault", "start": "2007-01-09T07:00", "duration_h": 3, "severity": 0.6}
SPECS = {
    "home": dict(runs=2, days=2, period="15min", start="2007-01-08", seed=3, events=[COLD_SNAP]),
    "grid": dict(twin="grid", runs=1, days=2, period="15min", start="2007-01-08", seed=3,
                 grid={"n_homes": 10}, events=[COLD_SNAP, FAULT]),
    "machine": dict(twin="machine", runs=2, days=0.5, period="60s", start="2007-01-08", seed=3,
                    machine={"until_failure": True, "snapshot_duration_s": 0.01}),
}


@pytest.fixture(scope="module")
def datasets(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("readers")
    out = {}
    for name, kwargs in SPECS.items():
        out[name] = root / name
        generate(load_spec(None, **kwargs), out[name], progress=False)
    return out


@pytest.mark.parametrize("name", list(SPECS))
def test_every_reader_gets_int64_run_ids_and_string_twins(datasets, name, check_readers):
    check_readers(datasets[name])


@pytest.mark.parametrize("name", list(SPECS))
def test_the_layout_has_no_partition_folders_and_each_file_holds_its_run(datasets, name):
    root = datasets[name]
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["format_version"] == FORMAT_VERSION == 2
    twin = SPECS[name].get("twin", "home")
    for e in manifest["runs"]:
        assert e["files"][0] == f"samples/{twin}/run-{e['run_id']:06d}.parquet"
        for f in e["files"]:
            assert "=" not in f
        t = pq.read_table(root / e["files"][0], columns=["twin", "run_id"])
        assert set(t.column("twin").to_pylist()) == {twin}
        assert set(t.column("run_id").to_pylist()) == {e["run_id"]}


def test_overlapping_events_are_all_labelled(datasets):
    """The feeder fault falls inside the cold snap: events_active holds both there, the
    single label only the later one; each label agrees with events.parquet's intervals."""
    ds = twinforge.open_dataset(datasets["grid"])
    df = ds.samples(columns=["event", "events_active"])
    ev = ds.events
    rare = ev[ev["type"].isin(["cold_snap", "outage"])]
    assert sorted(rare["type"]) == ["cold_snap", "outage"]
    for _, e in rare.iterrows():
        inside = ((df["time"] >= e["start"]) & (df["time"] < e["end"])).to_numpy()
        has = df["events_active"].map(lambda a, t=e["type"]: t in a).to_numpy()
        np.testing.assert_array_equal(has, inside)
    both = df["events_active"].map(lambda a: list(a) == ["cold_snap", "outage"]).to_numpy()
    assert both.sum() == 12  # 3 h at 15 min
    assert (df.loc[both, "event"] == "outage").all()  # the single label: the one started last
    cold_single = int((df["event"] == "cold_snap").sum())
    x = ds.to_xarray()
    assert int(x.twin.event_mask("cold_snap").sum()) == 96 == cold_single + 12
    assert x["events_active"].dims == ("run", "time", "event_type")
    assert list(x["event_type"].values) == ["cold_snap", "outage"]
    wide = ds.samples(columns=["mains_power_w"] if "mains_power_w" in ds.columns() else ["feeder_power_w"],
                      event_columns=True)
    assert int(wide["event_cold_snap"].sum()) == 96 and int(wide["event_outage"].sum()) == 12
    assert int((wide["event_cold_snap"] & wide["event_outage"]).sum()) == 12
    assert "events_active" not in wide


def test_no_event_gives_empty_lists_and_an_empty_event_type_axis(tmp_path):
    generate(load_spec(None, runs=1, days=1, period="1h", seed=1, diversity=False), tmp_path / "d", progress=False)
    ds = twinforge.open_dataset(tmp_path / "d")
    df = ds.samples(columns=["events_active"])
    assert df["events_active"].map(len).eq(0).all()
    x = ds.to_xarray(columns=["events_active"])
    assert x.sizes["event_type"] == 0
    assert not x.twin.event_mask("heat_wave").any()
    assert ds.samples(columns=["events_active"], event_columns=True).columns.tolist() == ["twin", "run_id", "time"]


def test_severities_carry_their_units_and_params_are_structs(datasets):
    ev = twinforge.open_dataset(datasets["grid"]).events
    units = dict(zip(ev["type"], ev["severity_unit"]))
    assert units["cold_snap"] == "K" and units["outage"] == "1"
    schema = pq.read_schema(datasets["grid"] / "events.parquet")
    params = schema.field("params").type
    assert pa.types.is_struct(params)
    names = [f.name for f in params]
    assert names == sorted(names) and {"cause", "homes_affected", "energy_not_served_j"} <= set(names)
    outage = ev[ev["type"] == "outage"].iloc[0]
    assert outage["params"]["homes_affected"] == 6  # 0.6 of 10 homes
    assert ev["params"].str["energy_not_served_j"].notna().sum() >= 1
    import duckdb

    got = duckdb.sql(
        f"select params.homes_affected from '{datasets['grid'] / 'events.parquet'}' where type = 'outage'"
    ).fetchall()[0][0]
    assert got == 6
    sev = twinforge.open_dataset(datasets["grid"]).to_xarray(columns=["severity"])["severity"]
    assert json.loads(sev.attrs["units_by_event_type"]) == {"cold_snap": "K", "outage": "1"}
    meta = json.loads(pq.read_schema(datasets["grid"] / "samples/grid/run-000000.parquet").metadata[b"twinforge"])
    assert meta["columns"]["severity"]["unit"] == ""  # never the one unit of every type


def test_machine_events_have_the_declared_damage_unit(datasets):
    ev = twinforge.open_dataset(datasets["machine"]).events
    faults = ev[ev["category"] == "machine"]
    assert len(faults)
    for _, e in faults.iterrows():
        assert e["severity_unit"] == ("damage / threshold" if e["type"].startswith("bearing_") else e["severity_unit"])


def test_the_local_time_zone_is_in_the_metadata_and_the_xarray_attrs(datasets):
    path = datasets["home"] / "samples/home/run-000000.parquet"
    meta = json.loads(pq.read_schema(path).metadata[b"twinforge"])
    assert meta["local_timezone"] == "Europe/Paris"
    x = twinforge.open_dataset(datasets["home"]).to_xarray(columns=["temp_indoor_c"])
    assert x.attrs["local_timezone"] == "Europe/Paris"
    assert x["time"].attrs["local_timezone"] == "Europe/Paris" and x["time"].attrs["timezone"] == "UTC"
    local = x.twin.local_time()
    assert str(local.tz) == "Europe/Paris" and local[0] == pd.Timestamp("2007-01-08 01:00", tz="Europe/Paris")
    machine = json.loads(pq.read_schema(datasets["machine"] / "samples/machine/run-000000.parquet").metadata[b"twinforge"])
    assert "local_timezone" not in machine


def test_info_lists_the_snapshots_table_and_severity_units(datasets):
    text = describe(datasets["machine"])
    assert "snapshots/" in text and "samples/" in text
    snap = sum(p.stat().st_size for p in (datasets["machine"] / "snapshots").rglob("*.parquet"))
    assert snap > 0
    grid = describe(datasets["grid"])
    assert "cold_snap" in grid and "severity in K" in grid and "severity in 1" in grid
    assert "local time zone Europe/Paris" in describe(datasets["home"])


def _to_format_1(root: Path) -> None:
    """Rewrite a dataset of format 2 as format 1 wrote it: ``twin=<t>/run_id=<n>/part-0.parquet``
    folders without id columns, JSON ``params``, no ``severity_unit``, manifest version 1."""
    manifest = json.loads((root / "manifest.json").read_text())
    for e in manifest["runs"]:
        t, n = e["twin"], e["run_id"]
        files = []
        for k, f in enumerate(e["files"]):
            table = pq.read_table(root / f)
            if k == 0 or k >= 3:
                new = f"{f.split('/', 1)[0]}/twin={t}/run_id={n}/part-0.parquet"
                table = table.drop_columns(["twin", "run_id"])
            else:
                new = f"_runs/twin={t}/run_id={n}/{Path(f).name}"
            (root / new).parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, root / new)
            (root / f).unlink()
            files.append(new)
        e["files"] = files
        e.pop("sha256", None), e.pop("size", None)  # format 1 recorded no checksums
    for d in ("samples", "_runs"):
        for sub in (root / d).iterdir():
            if sub.is_dir() and "=" not in sub.name:
                shutil.rmtree(sub)
    ev = pq.read_table(root / "events.parquet").to_pandas()
    ev["params"] = [json.dumps({k: v for k, v in p.items() if v is not None}) for p in ev["params"]]
    ev.drop(columns="severity_unit").to_parquet(root / "events.parquet")
    manifest["format_version"] = 1
    manifest.pop("tables", None)
    (root / "manifest.json").write_text(json.dumps(manifest))


def test_datasets_of_format_1_are_still_read(datasets, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(datasets["home"], old)
    new = twinforge.open_dataset(datasets["home"]).samples(columns=["mains_power_w", "event"])
    _to_format_1(old)
    ds = twinforge.open_dataset(old)
    got = ds.samples(columns=["mains_power_w", "event"])
    pd.testing.assert_frame_equal(got, new)
    assert isinstance(ds.events["params"].iloc[0], str)
    assert int(ds.to_xarray(columns=["event"]).twin.event_mask("cold_snap").sum()) == 2 * 96
    with pytest.raises(FileExistsError, match=r"older twinforge \(dataset format 1, this one writes 2\)"):
        generate(load_spec(None, **SPECS["home"]), old, mode="resume", progress=False)
