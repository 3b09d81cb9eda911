"""Extra per-run tables (e.g. raw vibration snapshots): streamed, committed atomically, read back."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from twinforge.core.schema import ChannelSpec
from twinforge.export import DatasetWriter, open_dataset

TWIN = "toy"
START = pd.Timestamp("2024-01-01", tz="UTC")
CHANNELS = (ChannelSpec("rms_g", "g", "instant", "float64", "RMS of the snapshot"),)
META = {"period_s": 10.0, "seed": 7, "config_hash": "abc", "start": START.isoformat()}


def write_run(writer: DatasetWriter, run_id: int, n: int = 50, m: int = 256, block: int = 16, commit: bool = True):
    rng = np.random.default_rng(run_id)
    waves = rng.standard_normal((n, m)).astype(np.float32)
    times = (START.value + np.arange(n, dtype=np.int64) * 10_000_000_000).astype("datetime64[ns]")
    with writer.open_run(TWIN, run_id, CHANNELS, META) as run:
        for i0 in range(0, n, block):
            sl = slice(i0, i0 + block)
            run.write({"time": times[sl], "rms_g": np.sqrt((waves[sl].astype(float) ** 2).mean(axis=1))})
            run.write_table("snapshots", {"time": times[sl], "snapshot": np.arange(n)[sl], "accel_g": waves[sl]})
        if commit:
            run.commit(pd.DataFrame(columns=["event_id", "category", "type", "start", "end", "severity", "params"]),
                       {"seed": 7, "weight": 1.0, "config_hash": "abc"})
        else:
            raise KeyboardInterrupt  # a crash before the commit
    return waves


def test_round_trip(tmp_path):
    w = DatasetWriter(tmp_path / "d")
    waves = [write_run(w, r) for r in (1, 0)]
    w.finalize({"config_hash": "abc"})
    ds = open_dataset(tmp_path / "d")
    assert ds.tables == ["snapshots"]
    t = ds.table("snapshots")
    assert list(t.columns) == ["twin", "run_id", "time", "snapshot", "accel_g"]
    assert list(t.run_id) == [0] * 50 + [1] * 50 and list(t.snapshot) == list(range(50)) * 2
    assert str(t.time.dt.tz) == "UTC" and t.time.iloc[1] - t.time.iloc[0] == pd.Timedelta("10s")
    schema = pq.read_schema(tmp_path / "d/snapshots/toy/run-000000.parquet")
    assert schema.field("accel_g").type == pa.list_(pa.float32())
    assert json.loads(schema.metadata[b"twinforge"])["table"] == "snapshots"
    np.testing.assert_array_equal(np.stack(t.accel_g[t.run_id == 1].to_numpy()), waves[0])
    one = ds.table("snapshots", runs=[0], columns=["accel_g"])
    assert list(one.columns) == ["twin", "run_id", "accel_g"] and len(one) == 50
    manifest = json.loads((tmp_path / "d/manifest.json").read_text())
    assert "snapshots/toy/run-000000.parquet" in manifest["runs"][0]["files"]
    assert schema.names[:2] == ["twin", "run_id"]  # each file holds its run's ids
    with pytest.raises(ValueError, match="no table 'spectra'"):
        ds.table("spectra")


def test_crash_leaves_nothing_complete_looking(tmp_path, monkeypatch):
    w = DatasetWriter(tmp_path / "d")
    write_run(w, 0)
    with pytest.raises(KeyboardInterrupt):
        write_run(w, 1, commit=False)
    # a failure while recording the run in the manifest, after the renames
    monkeypatch.setattr(DatasetWriter, "_record_run", lambda self, entry: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError):
        write_run(w, 2)
    monkeypatch.undo()
    parts = sorted(p.relative_to(tmp_path / "d").as_posix() for p in (tmp_path / "d").rglob("*parquet*")
                   if not p.relative_to(tmp_path / "d").as_posix().startswith("_runs/"))  # shards: not data
    assert [p for p in parts if "run-000001" in p or "run-000002" in p] == []
    ds = open_dataset(tmp_path / "d")
    assert ds.run_ids == {TWIN: [0]} and set(ds.table("snapshots").run_id) == {0}
    # resume redoes the missing runs; overwrite clears the table folders too
    w2 = DatasetWriter(tmp_path / "d", mode="resume")
    assert w2.completed_runs() == {(TWIN, 0)}
    write_run(w2, 1)
    assert set(open_dataset(tmp_path / "d").table("snapshots").run_id) == {0, 1}
    w3 = DatasetWriter(tmp_path / "d", mode="overwrite")
    write_run(w3, 5)
    assert sorted(p.name for p in (tmp_path / "d/snapshots/toy").iterdir()) == ["run-000005.parquet"]


def test_byte_determinism_and_bad_input(tmp_path):
    for name in ("a", "b"):
        write_run(DatasetWriter(tmp_path / name), 0)
    rel = "snapshots/toy/run-000000.parquet"
    assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    w = DatasetWriter(tmp_path / "c")
    with w.open_run(TWIN, 0, CHANNELS, META) as run:
        with pytest.raises(ValueError, match="table name"):
            run.write_table("samples", {"x": np.zeros(3)})
        with pytest.raises(ValueError, match="differ in length"):
            run.write_table("snapshots", {"x": np.zeros(3), "y": np.zeros(4)})
        run.write_table("snapshots", {"x": np.zeros(3)})
        with pytest.raises(ValueError, match="differ from the first block"):
            run.write_table("snapshots", {"z": np.zeros(3)})
