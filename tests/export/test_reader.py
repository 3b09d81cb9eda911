"""The reader: pandas tables, the xarray view and its ``twin`` accessor, the summary."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from twinforge.core.schema import LABEL_CHANNELS, ChannelSpec
from twinforge.export import DatasetWriter, TwinDataset, describe, open_dataset

START = pd.Timestamp("2024-01-01", tz="UTC")
PERIOD_S = 900.0
HOME = (
    ChannelSpec("power_w", "W", "interval", "float64", "electric power"),
    ChannelSpec("temp_c", "degC", "instant", "float64", "indoor temperature"),
    ChannelSpec("occupants", "count", "instant", "int16", "people at home"),
) + LABEL_CHANNELS
MACHINE = (
    ChannelSpec("accel_g", "g", "instant", "float32", "vibration RMS"),
    ChannelSpec("health", "1", "label", "float64", "health index"),
) + LABEL_CHANNELS


def samples(run_id: int, channels, n: int = 96, offset: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(run_id)
    t = START.value + (offset + np.arange(n, dtype=np.int64)) * int(PERIOD_S * 1e9)
    event = np.full(n, "", dtype=object)
    event[10:20] = "heat_wave"
    event[40:44] = "outage"
    out = {
        "time": t.astype("datetime64[ns]"),
        "event": event,
        "event_id": np.select([event == "heat_wave", event == "outage"], [0, 1], -1).astype(
            np.int64
        ),
        "severity": np.where(event == "", np.nan, 1.5),
        "events_active": [[e] if e else [] for e in event],
    }
    for c in channels:
        if c.name not in out:
            out[c.name] = (
                rng.normal(100, 10, n) if c.dtype.startswith("float") else rng.integers(0, 4, n)
            ).astype(c.dtype)
    return out


def events(run_id: int, twin: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "event_id": np.array([0, 1, 2], dtype=np.int64),
            "run_id": run_id,
            "twin": twin,
            "category": ["rare", "rare", "appliance"],
            "type": ["heat_wave", "outage", "kettle"],
            "start": START + pd.to_timedelta([150, 600, 30], unit="min"),
            "end": START + pd.to_timedelta([300, 660, 33], unit="min"),
            "severity": [1.5, 1.5, np.nan],
            "params": [{}, {"cause": "fault"}, {"energy_j": 3.6e5}],
        }
    )


def write(
    w: DatasetWriter, twin: str, run_id: int, channels, offset: int = 0, seed: int = 7
) -> None:
    meta = {
        "period_s": PERIOD_S,
        "seed": seed,
        "config_hash": f"hash-{twin}",
        "start": (START + pd.Timedelta(seconds=offset * PERIOD_S)).isoformat(),
    }
    with w.open_run(twin, run_id, channels, meta) as run:
        block = samples(run_id, channels, offset=offset)
        run.write({k: v[:48] for k, v in block.items()})
        run.write({k: v[48:] for k, v in block.items()})
        run.commit(
            events(run_id, twin),
            {
                "run_id": run_id,
                "twin": twin,
                "seed": seed,
                "weight": 0.5 + run_id,
                "stratum": f"s{run_id % 2}",
                f"{twin}.size": float(run_id),
            },
        )


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("reader") / "home"
    w = DatasetWriter(root)
    for r in (0, 1, 2):
        write(w, "home", r, HOME)
    w.finalize({"scenario": "toy"})
    return root


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("reader") / "mixed"
    w = DatasetWriter(root)
    write(w, "machine", 0, MACHINE)
    write(w, "home", 0, HOME)
    write(w, "home", 1, HOME)
    w.finalize()
    return root


# -- tables --------------------------------------------------------------------------------


def test_samples_sorted_typed_and_complete(home):
    ds = open_dataset(home)
    df = ds.samples()
    assert list(df.columns) == ["twin", "run_id", "time", *(c.name for c in HOME)]
    assert len(df) == 3 * 96 and df["run_id"].tolist() == sorted(df["run_id"])
    assert str(df["time"].dtype) == "datetime64[ns, UTC]" and df["time"].iloc[0] == START
    assert df["run_id"].dtype == np.int64 and df["occupants"].dtype == np.int16
    assert (df.groupby("run_id")["time"].diff().dropna() == pd.Timedelta(minutes=15)).all()
    want = samples(1, HOME)
    got = df[df.run_id == 1]
    np.testing.assert_array_equal(got["power_w"].to_numpy(), want["power_w"])
    assert got["event"].tolist() == want["event"].tolist()


def test_samples_select_columns_runs_and_twin(home):
    ds = open_dataset(home)
    df = ds.samples(columns=["temp_c"], runs=[2, 0], twin="home")
    assert list(df.columns) == ["twin", "run_id", "time", "temp_c"]
    assert sorted(set(df.run_id)) == [0, 2] and len(df) == 192
    assert len(ds.samples(columns="power_w", runs=1)) == 96
    with pytest.raises(ValueError, match="unknown column.*'nope'"):
        ds.samples(columns=["nope"])
    with pytest.raises(ValueError, match="run\\(s\\) \\[7\\]"):
        ds.samples(runs=[7])
    with pytest.raises(ValueError, match="twin\\(s\\) \\['grid'\\]"):
        ds.samples(twin="grid")


def test_events_runs_manifest(home):
    ds = open_dataset(home)
    ev = ds.events
    assert len(ev) == 9 and ev["run_id"].tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert ev["type"].tolist()[:3] == ["kettle", "heat_wave", "outage"]  # by start within a run
    assert str(ev["start"].dtype) == "datetime64[ns, UTC]"
    runs = ds.runs
    assert runs["run_id"].tolist() == [0, 1, 2] and runs["weight"].tolist() == [0.5, 1.5, 2.5]
    assert ds.manifest["dataset"] == {"scenario": "toy"} and ds.finalized


def test_metadata_and_units(home):
    ds = open_dataset(home)
    m = ds.metadata("home")
    assert list(m["columns"]) == [c.name for c in HOME]  # declared order
    assert m["columns"]["temp_c"] == {
        "unit": "degC",
        "kind": "instant",
        "dtype": "float64",
        "description": "indoor temperature",
    }
    assert (m["period_s"], m["seed"], m["config_hash"], m["twin"]) == (
        900.0,
        7,
        "hash-home",
        "home",
    )
    assert ds.metadata() == m
    assert ds.units["power_w"] == "W" and ds.units["severity"] == ""  # the event type's: events
    assert ds.twins == ["home"] and ds.run_ids == {"home": [0, 1, 2]}
    assert "3 run(s)" in repr(ds) and isinstance(ds, TwinDataset)


# -- xarray --------------------------------------------------------------------------------


def test_to_xarray_dims_coords_attrs(home):
    x = open_dataset(home).to_xarray()
    assert isinstance(x, xr.Dataset) and dict(x.sizes) == {"run": 3, "time": 96, "event_type": 2}
    assert x["events_active"].dims == ("run", "time", "event_type")
    assert x["power_w"].dims == ("run", "time")
    assert x["run"].values.tolist() == [0, 1, 2] and x["weight"].values.tolist() == [0.5, 1.5, 2.5]
    assert x["time"].dtype == np.dtype("datetime64[ns]") and x["time"].attrs["timezone"] == "UTC"
    assert pd.Timestamp(x["time"].values[0]) == START.tz_localize(None)
    assert (
        x["power_w"].attrs["units"] == "W" and x["power_w"].attrs["description"] == "electric power"
    )
    assert x["occupants"].dtype == np.int16
    assert (x.attrs["seed"], x.attrs["period_s"], x.attrs["config_hash"]) == (7, 900.0, "hash-home")
    np.testing.assert_array_equal(x["temp_c"].sel(run=2).values, samples(2, HOME)["temp_c"])


def test_twin_accessor(home):
    x = open_dataset(home).to_xarray()
    assert x.twin.units["temp_c"] == "degC"
    assert x.twin.channels(kind="interval") == ["power_w"]
    assert x.twin.channels(kind="label") == ["event", "event_id", "severity", "events_active"]
    mask = x.twin.event_mask("heat_wave")
    assert mask.dims == ("run", "time") and mask.dtype == bool and int(mask.sum()) == 3 * 10
    assert int(x.twin.event_mask(["heat_wave", "outage"]).sum()) == 3 * 14
    assert not isinstance(x, TwinDataset) and type(x) is xr.Dataset  # an accessor, not a subclass
    with pytest.raises(ValueError, match="kind"):
        x.twin.channels(kind="sensor")
    with pytest.raises(ValueError, match="'events_active'"):
        x[["power_w"]].twin.event_mask("heat_wave")


def test_to_xarray_columns_and_runs(home):
    x = open_dataset(home).to_xarray(columns=["power_w"], runs=[1])
    assert list(x.data_vars) == ["power_w"] and x["run"].values.tolist() == [1]


def test_to_xarray_needs_one_twin_and_one_grid(mixed, tmp_path):
    ds = open_dataset(mixed)
    with pytest.raises(ValueError, match="twin="):
        ds.to_xarray()
    m = ds.to_xarray(twin="machine")
    assert m["accel_g"].dtype == np.float32 and m.twin.units["accel_g"] == "g"
    root = tmp_path / "shifted"
    w = DatasetWriter(root)
    write(w, "home", 0, HOME)
    write(w, "home", 1, HOME, offset=4)
    w.finalize()
    with pytest.raises(ValueError, match="do not share one time grid"):
        open_dataset(root).to_xarray()
    assert open_dataset(root).to_xarray(runs=[1])["time"].size == 96


def test_several_twins(mixed):
    ds = open_dataset(mixed)
    assert ds.twins == ["home", "machine"]
    df = ds.samples()
    assert df["twin"].tolist() == ["home"] * 192 + ["machine"] * 96
    assert df.loc[df.twin == "machine", "power_w"].isna().all()  # union of the twins' columns
    assert ds.samples(twin="machine").shape[0] == 96
    runs = ds.runs
    assert list(zip(runs.twin, runs.run_id)) == [("home", 0), ("home", 1), ("machine", 0)]
    assert runs["machine.size"].isna().tolist() == [True, True, False]
    assert ds.units["accel_g"] == "g" and ds.units["power_w"] == "W"
    with pytest.raises(ValueError, match="twin="):
        ds.metadata()


# -- partial datasets ----------------------------------------------------------------------


def test_unfinalized_dataset_is_read_from_shards(tmp_path):
    root = tmp_path / "d"
    w = DatasetWriter(root)
    write(w, "home", 0, HOME)
    write(w, "home", 1, HOME)
    with (
        pytest.raises(KeyboardInterrupt),
        w.open_run(
            "home", 2, HOME, {"period_s": PERIOD_S, "seed": 7, "config_hash": "hash-home"}
        ) as run,
    ):
        run.write(samples(2, HOME))
        raise KeyboardInterrupt
    ds = open_dataset(root)
    assert not ds.finalized and ds.run_ids == {"home": [0, 1]}
    assert len(ds.events) == 6 and ds.runs["run_id"].tolist() == [0, 1]
    assert sorted(set(ds.samples()["run_id"])) == [0, 1]
    assert "NOT FINALIZED" in describe(root)


def test_committed_file_missing_is_reported(tmp_path):
    root = tmp_path / "d"
    w = DatasetWriter(root)
    write(w, "home", 0, HOME)
    w.finalize()
    part = root / "samples" / "home" / "run-000000.parquet"
    part.unlink()
    with pytest.raises(FileNotFoundError, match="run-000000.parquet"):
        open_dataset(root)


def test_missing_and_foreign_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "nope")):
        open_dataset(tmp_path / "nope")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x.parquet").write_bytes(b"PAR1")
    with pytest.raises(ValueError, match=f"{tmp_path / 'other'} is not a twinforge dataset"):
        open_dataset(tmp_path / "other")
    (tmp_path / "other" / "manifest.json").write_text(json.dumps({"version": 3}))
    with pytest.raises(ValueError, match="not a twinforge manifest"):
        describe(tmp_path / "other")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        open_dataset(tmp_path / "file")


# -- describe ------------------------------------------------------------------------------


def test_describe(home):
    text = describe(home)
    assert str(home) in text and "twin home: 3 run(s) (run_id 0..2), 288 rows" in text
    assert "2024-01-01 00:00:00 to 2024-01-01 23:45:00 UTC, every 15 min" in text
    assert "seed 7" in text and "hash-home" in text
    lines = text.splitlines()
    power = next(line for line in lines if "power_w" in line)
    assert "W" in power.split() and "interval" in power and "electric power" in power
    assert "events: 9" in text
    assert any(line.split() == ["rare", "heat_wave", "3", "severity", "in", "K"] for line in lines)
    assert any(line.split() == ["appliance", "kettle", "3"] for line in lines)


def test_describe_several_twins(mixed):
    text = describe(mixed)
    assert "twin home: 2 run(s)" in text and "twin machine: 1 run(s)" in text and "accel_g" in text
