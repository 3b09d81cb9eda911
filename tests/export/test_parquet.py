"""The dataset writer, with real files read back by real readers (no mocks)."""

from __future__ import annotations

import gc
import json
import os
import weakref
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from twinforge.core.schema import LABEL_CHANNELS, ChannelSpec
from twinforge.export import DatasetWriter, RunWriter
from twinforge.export.parquet import read_manifest

TWIN = "toy"
PERIOD_S = 60.0
START = pd.Timestamp("2024-01-01", tz="UTC")
CHANNELS = (
    ChannelSpec("power_w", "W", "interval", "float64", "electric power"),
    ChannelSpec("temp_c", "degC", "instant", "float32", "temperature"),
    ChannelSpec("occupants", "count", "instant", "int16", "people at home"),
    ChannelSpec("mode", "", "label", "int8", "0 off, 1 on"),
) + LABEL_CHANNELS
FLOATS = ("power_w", "temp_c", "severity")


def blocks(run_id: int, n: int = 3000, block: int = 1000):
    """Deterministic synthetic blocks of one run (time as naive datetime64[ns] UTC)."""
    rng = np.random.default_rng(run_id)
    t = START.value + np.arange(n, dtype=np.int64) * int(PERIOD_S * 1e9)
    event = np.full(n, "", dtype=object)
    event[100:160] = "cold_snap"
    event_id = np.where(event == "cold_snap", 0, -1).astype(np.int64)
    cols = {
        "time": t.astype("datetime64[ns]"),
        "power_w": rng.gamma(2.0, 300.0, n),
        "temp_c": (20 + rng.normal(0, 1, n)).astype(np.float32),
        "occupants": rng.integers(0, 5, n).astype(np.int16),
        "mode": (rng.random(n) < 0.3).astype(np.int8),
        "event": event,
        "event_id": event_id,
        "severity": np.where(event_id >= 0, 2.5, np.nan),
        "events_active": pa.array([[e] if e else [] for e in event], type=pa.list_(pa.string())),
    }
    for i0 in range(0, n, block):
        yield {k: v[i0 : i0 + block] for k, v in cols.items()}


def events(run_id: int, twin: str = TWIN) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "event_id": np.array([0, 1], dtype=np.int64),
            "run_id": np.array([run_id, run_id], dtype=np.int64),
            "twin": [twin, twin],
            "category": ["rare", "appliance"],
            "type": ["cold_snap", "kettle"],
            "start": START + pd.to_timedelta([100, 5], unit="min"),
            "end": START + pd.to_timedelta([160, 8], unit="min"),
            "severity": [2.5, np.nan],
            "params": [{"depth_k": 4}, {}],
        }
    )


def empty_events() -> pd.DataFrame:
    return events(0).iloc[:0]


def meta(run_id: int, **kw) -> dict:
    return {
        "period_s": PERIOD_S,
        "seed": 7,
        "config_hash": "cafe",
        "start": START.isoformat(),
        "twinforge_version": "0.1.0",
        **kw,
    }


def record(run_id: int, twin: str = TWIN) -> dict:
    return {
        "run_id": run_id,
        "twin": twin,
        "seed": 7,
        "weight": 1.0 + run_id,
        "stratum": "",
        "config_hash": "cafe",
        "envelope.ua_w_per_k": 150.0 + run_id,
        "ev.present": run_id == 1,
        "ev.battery_kwh": None if run_id == 0 else 60.0,
        "occupancy.n": np.int64(run_id + 2),
    }


def write_run(writer: DatasetWriter, run_id: int, **kw) -> Path:
    with writer.open_run(TWIN, run_id, CHANNELS, meta(run_id)) as run:
        for b in blocks(run_id, **kw):
            run.write(b)
        return run.commit(events(run_id), record(run_id))


def make_dataset(root: Path, order=(0, 1), finalize: bool = True, **kw) -> Path:
    w = DatasetWriter(root)
    for r in order:
        write_run(w, r, **kw)
    if finalize:
        w.finalize({"scenario": {"runs": len(order)}, "seed": 7})
    return root


def part(root: Path, run_id: int, twin: str = TWIN) -> Path:
    return root / "samples" / twin / f"run-{run_id:06d}.parquet"


def expected(run_id: int, **kw) -> pd.DataFrame:
    df = pd.concat([pd.DataFrame(b) for b in blocks(run_id, **kw)], ignore_index=True)
    df["time"] = pd.to_datetime(df["time"]).dt.tz_localize("UTC")
    df.insert(0, "run_id", np.int64(run_id))
    df.insert(0, "twin", TWIN)
    return df


def all_files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("export") / "data")


# -- layout, schema, encodings -------------------------------------------------------------


def test_layout(dataset):
    files = {p.relative_to(dataset).as_posix() for p in dataset.rglob("*") if p.is_file()}
    assert {
        "samples/toy/run-000000.parquet",
        "samples/toy/run-000001.parquet",
        "events.parquet",
        "runs.parquet",
        "manifest.json",
        "_runs/toy/run-000000/events.parquet",
        "_runs/toy/run-000000/run.parquet",
    } <= files
    assert not [f for f in files if f.endswith(".tmp")]
    manifest = json.loads((dataset / "manifest.json").read_text())
    assert manifest["format"] == "twinforge-dataset" and manifest["finalized"] is True
    assert [(e["twin"], e["run_id"], e["rows"]) for e in manifest["runs"]] == [
        ("toy", 0, 3000),
        ("toy", 1, 3000),
    ]
    assert manifest["runs"][0]["files"][0] == "samples/toy/run-000000.parquet"
    assert manifest["format_version"] == 2
    assert manifest["dataset"] == {"scenario": {"runs": 2}, "seed": 7}


def test_samples_file_schema_and_metadata(dataset):
    schema = pq.read_schema(part(dataset, 0))
    assert schema.names == ["twin", "run_id", "time", *(c.name for c in CHANNELS)]  # ids inside
    assert schema.field("twin").type == pa.string() and schema.field("run_id").type == pa.int64()
    assert schema.field("time").type == pa.timestamp("ns", tz="UTC")
    assert schema.field("events_active").type == pa.list_(pa.string())
    assert [
        str(schema.field(n).type)
        for n in ("power_w", "temp_c", "occupants", "mode", "event", "event_id")
    ] == ["double", "float", "int16", "int8", "string", "int64"]
    meta = json.loads(schema.metadata[b"twinforge"])
    assert meta["columns"]["power_w"] == {
        "unit": "W",
        "kind": "interval",
        "dtype": "float64",
        "description": "electric power",
    }
    assert meta["columns"]["temp_c"]["unit"] == "degC" and set(meta["columns"]) == {
        c.name for c in CHANNELS
    }
    assert (meta["period_s"], meta["seed"], meta["config_hash"], meta["twin"], meta["run_id"]) == (
        60.0,
        7,
        "cafe",
        "toy",
        0,
    )
    assert meta["start"] == "2024-01-01T00:00:00+00:00" and meta["twinforge_version"] == "0.1.0"


def test_writer_settings_one_row_group_per_block(dataset):
    md = pq.ParquetFile(part(dataset, 0)).metadata
    assert md.num_row_groups == 3 and [md.row_group(i).num_rows for i in range(3)] == [1000] * 3
    rg = md.row_group(0)
    cols = {rg.column(i).path_in_schema: rg.column(i) for i in range(rg.num_columns)}
    assert {c.compression for c in cols.values()} == {"ZSTD"}
    for name in ("power_w", "temp_c", "severity"):
        assert "BYTE_STREAM_SPLIT" in cols[name].encodings, cols[name].encodings
        assert not cols[name].has_dictionary_page
    for name in ("event", "event_id", "mode", "twin", "run_id"):  # labels and ids: dictionary
        assert cols[name].has_dictionary_page, name
    assert "BYTE_STREAM_SPLIT" in cols["severity"].encodings  # float label: as floats
    assert not cols["occupants"].has_dictionary_page
    assert "DELTA_BINARY_PACKED" in cols["time"].encodings
    stats = cols["time"].statistics  # statistics kept, usable for pruning
    assert stats.has_min_max and stats.min == START.to_pydatetime()


def test_round_trip_with_pandas(dataset):
    for r in (0, 1):
        got = pd.read_parquet(part(dataset, r))
        want = expected(r)
        assert str(got["time"].dtype) == "datetime64[ns, UTC]"
        labels = ["twin", "event", "events_active"]
        pd.testing.assert_frame_equal(got.drop(columns=labels), want.drop(columns=labels))
        assert list(got["event"]) == list(want["event"]) and set(got["twin"]) == {TWIN}
        assert [list(a) for a in got["events_active"]] == [list(a) for a in want["events_active"]]
        assert got["temp_c"].dtype == np.float32 and got["occupants"].dtype == np.int16


def test_events_and_runs_tables(dataset):
    ev = pd.read_parquet(dataset / "events.parquet")
    assert list(ev.columns) == [
        "event_id",
        "run_id",
        "twin",
        "category",
        "type",
        "start",
        "end",
        "severity",
        "severity_unit",
        "params",
    ]
    assert ev["severity_unit"].tolist() == ["", "K", "", "K"]  # the registered unit, "" if none
    assert ev["params"].tolist()[:2] == [{"depth_k": None}, {"depth_k": 4}]  # a struct
    assert list(zip(ev.run_id, ev.type)) == [
        (0, "kettle"),
        (0, "cold_snap"),
        (1, "kettle"),
        (1, "cold_snap"),
    ]
    assert str(ev["start"].dtype) == "datetime64[ns, UTC]" and ev["event_id"].dtype == np.int64
    runs = pd.read_parquet(dataset / "runs.parquet")
    assert list(runs.run_id) == [0, 1] and list(runs.weight) == [1.0, 2.0]
    assert runs["envelope.ua_w_per_k"].tolist() == [150.0, 151.0]
    assert runs["ev.battery_kwh"].isna().tolist() == [
        True,
        False,
    ]  # None in one run, float in the other
    assert runs["occupancy.n"].dtype == np.int64 and runs["ev.present"].tolist() == [False, True]


# -- other readers -------------------------------------------------------------------------


def test_pyarrow_dataset_reads_it(dataset):
    d = pads.dataset(dataset / "samples", format="parquet")
    assert d.schema.field("run_id").type == pa.int64()
    t = d.to_table(filter=pads.field("run_id") == 1).sort_by("time")
    assert t.num_rows == 3000 and set(t.column("twin").to_pylist()) == {"toy"}
    np.testing.assert_array_equal(t.column("power_w").to_numpy(), expected(1)["power_w"].to_numpy())


def test_polars_reads_it(dataset):
    pl = pytest.importorskip("polars")
    df = (
        pl.scan_parquet(str(dataset / "samples" / "**" / "*.parquet"))
        .sort("run_id", "time")
        .collect()
    )
    assert df.height == 6000 and set(df["run_id"].unique().to_list()) == {0, 1}
    assert str(df.schema["time"]) == "Datetime(time_unit='ns', time_zone='UTC')"
    assert df.schema["temp_c"] == pl.Float32 and df.schema["occupants"] == pl.Int16
    assert df.schema["run_id"] == pl.Int64 and df.schema["twin"] == pl.String
    np.testing.assert_array_equal(
        df.filter(pl.col("run_id") == 0)["power_w"].to_numpy(), expected(0)["power_w"].to_numpy()
    )


def test_duckdb_reads_it(dataset):
    duckdb = pytest.importorskip("duckdb")
    glob = (dataset / "samples" / "**" / "*.parquet").as_posix()
    con = duckdb.connect()
    rows = con.execute(
        "SELECT twin, run_id, count(*), sum(power_w), min(time) "
        f"FROM read_parquet('{glob}') GROUP BY ALL ORDER BY run_id"
    ).fetchall()
    assert [r[:3] for r in rows] == [("toy", 0, 3000), ("toy", 1, 3000)]
    assert rows[0][3] == pytest.approx(expected(0)["power_w"].sum())
    assert pd.Timestamp(rows[0][4]).tz_convert("UTC") == START
    n = con.execute(
        f"SELECT count(*) FROM '{(dataset / 'events.parquet').as_posix()}' WHERE category='rare'"
    ).fetchone()
    assert n == (2,)


@pytest.mark.filterwarnings("ignore:The inplace keyword")  # inside dask, not ours
def test_dask_reads_it(dataset):
    dd = pytest.importorskip("dask.dataframe")
    ddf = dd.read_parquet(str(dataset / "samples"))
    df = ddf.compute()
    assert len(df) == 6000 and str(df["time"].dtype) == "datetime64[ns, UTC]"
    assert df["run_id"].dtype == np.int64
    got = df[df["run_id"] == 1].sort_values("time")["power_w"].to_numpy()
    np.testing.assert_array_equal(got, expected(1)["power_w"].to_numpy())


# -- determinism ---------------------------------------------------------------------------


def test_same_inputs_same_bytes_whatever_the_commit_order(tmp_path):
    a = make_dataset(tmp_path / "a", order=(0, 1))
    b = make_dataset(tmp_path / "b", order=(1, 0))
    fa, fb = all_files(a), all_files(b)
    assert fa.keys() == fb.keys()
    for name in fa:
        assert fa[name] == fb[name], name


def test_finalize_twice_leaves_files_untouched(tmp_path):
    root = make_dataset(tmp_path / "d")
    before = {p: p.stat().st_mtime_ns for p in (root / "events.parquet", root / "runs.parquet")}
    DatasetWriter(root, mode="resume").finalize({"scenario": {"runs": 2}, "seed": 7})
    assert {p: p.stat().st_mtime_ns for p in before} == before


def test_merged_events_are_cut_in_row_groups_of_fixed_rows_whatever_the_runs(tmp_path, monkeypatch):
    """events.parquet is streamed run by run into row groups of MERGED_ROW_GROUP_ROWS rows
    (one run's events in memory at a time): the groups are cut by row count alone, the rows
    are the shards' sorted by (twin, run_id, start, event_id), and the bytes do not depend
    on the order in which runs were committed."""
    import twinforge.export.parquet as parquet

    monkeypatch.setattr(parquet, "MERGED_ROW_GROUP_ROWS", 3)
    a = make_dataset(tmp_path / "a", order=(0, 1, 2))
    b = make_dataset(tmp_path / "b", order=(2, 0, 1))
    assert (a / "events.parquet").read_bytes() == (b / "events.parquet").read_bytes()
    meta = pq.read_metadata(a / "events.parquet")
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [3, 3]
    got = pq.read_table(a / "events.parquet").to_pandas()
    shards = pd.concat([pd.read_parquet(p) for p in sorted(a.glob("_runs/toy/run-*/events.parquet"))])
    want = shards.sort_values(["twin", "run_id", "start", "event_id"], kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want)


def test_a_merge_below_one_row_group_is_the_one_table_it_always_was(tmp_path):
    """Below MERGED_ROW_GROUP_ROWS events the streamed events.parquet holds one row group,
    byte for byte the file a one-table write of the merged rows gives."""
    root = make_dataset(tmp_path / "d", order=(1, 0))
    table = pq.read_table(root / "events.parquet")
    assert pq.read_metadata(root / "events.parquet").num_row_groups == 1
    again = tmp_path / "again.parquet"
    from twinforge.export.parquet import _small_table_options

    pq.write_table(table, again, **_small_table_options(table))
    assert again.read_bytes() == (root / "events.parquet").read_bytes()


# -- crash safety --------------------------------------------------------------------------


def test_exception_inside_with_leaves_nothing_complete(tmp_path):
    root = tmp_path / "d"
    w = DatasetWriter(root)
    write_run(w, 0)
    with pytest.raises(RuntimeError, match="boom"), w.open_run(TWIN, 1, CHANNELS, meta(1)) as run:
        run.write(next(blocks(1)))
        raise RuntimeError("boom")
    assert not part(root, 1).exists()
    assert not list((root / "samples").rglob("*.tmp"))
    assert [e["run_id"] for e in read_manifest(root)["runs"]] == [0]
    assert w.completed_runs() == {(TWIN, 0)}
    assert pd.read_parquet(part(root, 0)).shape == (3000, 11)  # the earlier run is intact


def test_leaving_without_commit_is_an_abort(tmp_path):
    root = tmp_path / "d"
    w = DatasetWriter(root)
    with w.open_run(TWIN, 0, CHANNELS, meta(0)) as run:
        run.write(next(blocks(0)))
    assert not part(root, 0).exists() and not list(root.rglob("*.tmp"))
    assert json.loads((root / "manifest.json").read_text())["runs"] == []
    with pytest.raises(RuntimeError, match="aborted"):
        run.write(next(blocks(0)))


def test_failed_commit_leaves_nothing_complete(tmp_path):
    root = tmp_path / "d"
    w = DatasetWriter(root)
    with (
        pytest.raises(ValueError, match="run_record"),
        w.open_run(TWIN, 0, CHANNELS, meta(0)) as run,
    ):
        run.write(next(blocks(0)))
        run.commit(events(0), {**record(0), "appliances": [1, 2]})  # not a scalar
    assert (
        not part(root, 0).exists() and not list(root.rglob("*.tmp")) and w.completed_runs() == set()
    )


def test_temporary_file_is_hidden_from_readers_while_writing(tmp_path):
    root = tmp_path / "d"
    w = DatasetWriter(root)
    write_run(w, 0)
    with w.open_run(TWIN, 1, CHANNELS, meta(1)) as run:
        run.write(next(blocks(1)))
        assert run.tmp_path.name.startswith(".") and run.tmp_path.exists()
        assert len(pd.read_parquet(root / "samples")) == 3000  # only the committed run
        run.abort()


# -- modes ---------------------------------------------------------------------------------


def test_create_refuses_a_non_empty_folder_and_writes_nothing(tmp_path):
    root = tmp_path / "d"
    root.mkdir()
    (root / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="--overwrite") as e:
        DatasetWriter(root)
    assert "\n" not in str(e.value) and str(root) in str(e.value)
    assert [p.name for p in root.iterdir()] == ["notes.txt"]


def test_create_on_a_dataset_suggests_resume(dataset):
    with pytest.raises(FileExistsError, match="--resume"):
        DatasetWriter(dataset)


def test_create_accepts_an_empty_folder(tmp_path):
    (tmp_path / "d").mkdir()
    make_dataset(tmp_path / "d")
    assert part(tmp_path / "d", 1).exists()


def test_overwrite_refuses_a_non_dataset_folder(tmp_path):
    root = tmp_path / "d"
    root.mkdir()
    (root / "thesis.tex").write_text("years of work")
    with pytest.raises(FileExistsError, match="not a twinforge dataset"):
        DatasetWriter(root, mode="overwrite")
    assert (root / "thesis.tex").read_text() == "years of work"


def test_overwrite_refuses_a_foreign_manifest(tmp_path):
    root = tmp_path / "d"
    root.mkdir()
    (root / "manifest.json").write_text('{"name": "some web app"}')
    with pytest.raises(ValueError, match="not a twinforge manifest"):
        DatasetWriter(root, mode="overwrite")
    assert (root / "manifest.json").exists()


def test_overwrite_replaces_a_dataset_only_once_a_run_opens(tmp_path):
    root = make_dataset(tmp_path / "d")
    (root / "README.txt").write_text("kept")
    w = DatasetWriter(root, mode="overwrite")
    assert w.completed_runs() == set() and part(root, 1).exists()  # nothing deleted yet
    write_run(w, 0)
    w.finalize()
    assert part(root, 0).exists() and not part(root, 1).exists()
    assert not (root / "_runs" / "toy" / "run-000001").exists()
    assert list(pd.read_parquet(root / "runs.parquet").run_id) == [0]
    assert (root / "README.txt").read_text() == "kept"  # only twinforge's own files go


def test_resume_keeps_completed_runs(tmp_path):
    root = tmp_path / "d"
    w = DatasetWriter(root)
    write_run(w, 0)
    with pytest.raises(KeyboardInterrupt), w.open_run(TWIN, 1, CHANNELS, meta(1)) as run:
        run.write(next(blocks(1)))
        raise KeyboardInterrupt
    mtime = part(root, 0).stat().st_mtime_ns
    w2 = DatasetWriter(root, mode="resume")
    assert w2.completed_runs() == {(TWIN, 0)}
    write_run(w2, 1)
    w2.finalize()
    assert part(root, 0).stat().st_mtime_ns == mtime
    fresh = make_dataset(tmp_path / "fresh", finalize=False)
    DatasetWriter(fresh, mode="resume").finalize()
    for name in ("events.parquet", "runs.parquet", "samples/toy/run-000001.parquet"):
        assert (root / name).read_bytes() == (fresh / name).read_bytes(), name


def test_resume_ignores_a_run_whose_file_is_gone(tmp_path):
    root = make_dataset(tmp_path / "d")
    part(root, 1).unlink()
    w = DatasetWriter(root, mode="resume")
    assert w.completed_runs() == {(TWIN, 0)}
    w.finalize()  # the lost run is dropped from the manifest and the merged tables
    assert list(pd.read_parquet(root / "runs.parquet").run_id) == [0]
    write_run(w, 1)
    w.finalize()
    assert list(pd.read_parquet(root / "runs.parquet").run_id) == [0, 1]


def test_resume_refuses_another_configuration(tmp_path):
    root = make_dataset(tmp_path / "d", order=(0,))
    w = DatasetWriter(root, mode="resume")
    with pytest.raises(ValueError, match="config_hash"):
        w.open_run(TWIN, 1, CHANNELS, meta(1, config_hash="beef"))


def test_finalize_refuses_metadata_of_another_configuration(tmp_path):
    root = make_dataset(tmp_path / "d")
    before = (root / "manifest.json").read_bytes()
    with pytest.raises(ValueError, match="config_hash cafe, not beef"):
        DatasetWriter(root, mode="resume").finalize({"config_hash": "beef", "seed": 1})
    assert (root / "manifest.json").read_bytes() == before


def test_resume_of_a_missing_folder_starts_fresh(tmp_path):
    w = DatasetWriter(tmp_path / "new", mode="resume")
    assert w.completed_runs() == set() and not (tmp_path / "new").exists()


def test_bad_mode():
    with pytest.raises(ValueError, match="mode"):
        DatasetWriter("x", mode="append")  # type: ignore[arg-type]


# -- validation: clear errors, nothing on disk -----------------------------------------------


@pytest.mark.parametrize(
    "twin,run_id,channels,metadata,needle",
    [
        ("my/twin", 0, CHANNELS, meta(0), "twin name"),
        (TWIN, -1, CHANNELS, meta(0), "run_id"),
        (TWIN, True, CHANNELS, meta(0), "run_id"),
        (TWIN, 0, CHANNELS + CHANNELS[:1], meta(0), "declared twice"),
        (TWIN, 0, (ChannelSpec("run_id", "", "label", "int64", "x"),), meta(0), "reserved"),
        (TWIN, 0, (ChannelSpec("x_w", "W", "interval", "complex128", "x"),), meta(0), "dtype"),
        (TWIN, 0, CHANNELS, {"seed": 7, "config_hash": "c"}, "period_s"),
        (TWIN, 0, CHANNELS, meta(0, period_s=-60), "period_s"),
        (TWIN, 0, CHANNELS, {**meta(0), "run_id": 3}, "run_id"),
        (TWIN, 0, CHANNELS, meta(0, start="yesterday-ish"), "start"),
        (TWIN, 0, CHANNELS, meta(0, extra=object()), "JSON"),
    ],
)
def test_open_run_validates_before_touching_the_disk(
    tmp_path, twin, run_id, channels, metadata, needle
):
    root = tmp_path / "d"
    with pytest.raises((ValueError, TypeError), match=needle):
        DatasetWriter(root).open_run(twin, run_id, channels, metadata)
    assert not root.exists()


@pytest.mark.parametrize(
    "change,needle",
    [
        (lambda b: b.pop("power_w"), "missing \\['power_w'\\]"),
        (lambda b: b.update(extra_w=b["power_w"]), "undeclared \\['extra_w'\\]"),
        (lambda b: b.update(power_w=b["power_w"][:-1]), "'power_w' has shape \\(999,\\)"),
        (lambda b: b.update(power_w=np.ones((1000, 2))), "'power_w' has shape \\(1000, 2\\)"),
        (
            lambda b: b.update(occupants=b["occupants"] + 0.5),
            "'occupants' cannot be stored as int16",
        ),
        (lambda b: b.update(mode=np.full(1000, 1000)), "'mode' cannot be stored as int8"),
        (lambda b: b.update(time=b["time"][::-1]), "increase strictly"),
        (lambda b: b.update(time=b["time"].astype(np.int64)), "datetime64"),
    ],
)
def test_write_validates_blocks(tmp_path, change, needle):
    w = DatasetWriter(tmp_path / "d")
    with w.open_run(TWIN, 0, CHANNELS, meta(0)) as run:
        b = next(blocks(0))
        change(b)
        with pytest.raises(ValueError, match=needle):
            run.write(b)
    assert not part(tmp_path / "d", 0).exists()


def test_time_must_increase_across_blocks(tmp_path):
    with DatasetWriter(tmp_path / "d").open_run(TWIN, 0, CHANNELS, meta(0)) as run:
        b = next(blocks(0))
        run.write(b)
        with pytest.raises(ValueError, match="across blocks"):
            run.write(b)


def test_tz_aware_pandas_times_are_converted_to_utc(tmp_path):
    root = tmp_path / "d"
    w = DatasetWriter(root)
    with w.open_run(TWIN, 0, CHANNELS, meta(0)) as run:
        for b in blocks(0):
            b["time"] = pd.DatetimeIndex(b["time"]).tz_localize("UTC").tz_convert("Europe/Paris")
            run.write(b)
        run.commit(events(0), record(0))
    assert pd.read_parquet(part(root, 0))["time"].equals(expected(0)["time"])


def test_events_are_validated(tmp_path):
    w = DatasetWriter(tmp_path / "d")
    with w.open_run(TWIN, 0, CHANNELS, meta(0)) as run:
        run.write(next(blocks(0)))
        with pytest.raises(ValueError, match="missing \\['type'\\]"):
            run.commit(events(0).drop(columns="type"), record(0))
        with pytest.raises(ValueError, match="another run"):
            run.commit(events(1), record(0))
        with pytest.raises(ValueError, match="run_record\\['run_id'\\]"):
            run.commit(events(0), record(1))
        run.commit(events(0).drop(columns=["run_id", "twin"]), record(0))  # filled in
    ev = pq.read_table(tmp_path / "d" / "_runs" / "toy" / "run-000000" / "events.parquet")
    assert ev.column("twin").to_pylist() == ["toy", "toy"]


def test_a_run_without_events_or_samples(tmp_path):
    root = tmp_path / "d"
    w = DatasetWriter(root)
    with w.open_run(TWIN, 0, CHANNELS, meta(0)) as run:
        run.commit(empty_events(), record(0))
    w.finalize()
    assert pq.read_table(part(root, 0)).num_rows == 0
    ev = pq.read_table(root / "events.parquet")
    assert ev.num_rows == 0 and ev.schema.field("start").type == pa.timestamp("ns", tz="UTC")


def test_start_defaults_to_the_first_sample(tmp_path):
    m = meta(0)
    del m["start"]
    w = DatasetWriter(tmp_path / "d")
    with w.open_run(TWIN, 0, CHANNELS, m) as run:
        b = next(blocks(0))
        b["time"] = b["time"] + np.timedelta64(90, "m")
        run.write(b)
        run.commit(empty_events(), record(0))
    meta_ = json.loads(pq.read_schema(part(tmp_path / "d", 0)).metadata[b"twinforge"])
    assert meta_["start"] == "2024-01-01T01:30:00+00:00"


# -- disk errors ---------------------------------------------------------------------------


def test_unwritable_folder_gives_a_clear_error_and_keeps_earlier_runs(tmp_path):
    root = tmp_path / "d"
    w = DatasetWriter(root)
    write_run(w, 0)
    samples = root / "samples" / "toy"
    samples.chmod(0o500)
    try:
        if os.access(samples, os.W_OK):
            pytest.skip("running as root: chmod does not stop writes")
        with pytest.raises(
            OSError, match="cannot create .*run-000001.*Permission denied.*permissions"
        ):
            write_run(w, 1)
    finally:
        samples.chmod(0o700)
    assert w.completed_runs() == {(TWIN, 0)} and pq.read_table(part(root, 0)).num_rows == 3000


def test_unwritable_root_gives_a_clear_error(tmp_path):
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o500)
    try:
        if os.access(parent, os.W_OK):
            pytest.skip("running as root: chmod does not stop writes")
        w = DatasetWriter(parent / "d")
        with pytest.raises(OSError, match=f"cannot create {parent / 'd'}.*Permission denied"):
            write_run(w, 0)
    finally:
        parent.chmod(0o700)


def test_root_below_a_file_gives_a_clear_error(tmp_path):
    (tmp_path / "file").write_text("x")
    root = tmp_path / "file" / "d"
    w = DatasetWriter(root)
    with pytest.raises(OSError, match=f"cannot create {root}: Not a directory"):
        write_run(w, 0)


def test_root_that_is_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError, match="not a folder"):
        DatasetWriter(tmp_path / "file", mode="resume")


# -- memory --------------------------------------------------------------------------------


def test_blocks_are_streamed_not_accumulated(tmp_path):
    root = tmp_path / "d"
    w = DatasetWriter(root)
    alive = []
    with w.open_run(TWIN, 0, CHANNELS, meta(0)) as run:
        for b in blocks(0, n=50 * 200, block=200):
            b = {k: np.array(v) for k, v in b.items()}  # own buffers, not views of one array
            alive += [weakref.ref(v) for v in b.values()]
            run.write(b)
            del b
        gc.collect()
        assert not [r for r in alive if r() is not None]  # no written block is held
        assert run.row_groups == 50 and run.rows == 10_000
        run.commit(empty_events(), record(0))
    assert pq.ParquetFile(part(root, 0)).metadata.num_row_groups == 50
    assert isinstance(run, RunWriter)


_ENOSPC_SCRIPT = """
import json, sys
import numpy as np, pandas as pd
sys.path.insert(0, {tests!r})
from test_parquet import CHANNELS, TWIN, blocks, empty_events, meta, record, write_run
from twinforge.export import DatasetWriter
w = DatasetWriter({root!r})
write_run(w, 0)
try:
    write_run(w, 1, n=2_000_000, block=100_000)
except OSError as e:
    done = sorted(map(list, w.completed_runs()))
    print(json.dumps({{"errno": e.errno, "msg": str(e), "done": done}}))
"""


@pytest.mark.slow  # a real tmpfs in its own mount namespace, end to end (10-20 s): make test-slow
def test_disk_full_gives_a_clear_error_and_keeps_earlier_runs(tmp_path):
    """ENOSPC for real: a 1 MB tmpfs in a private mount namespace (Linux, root only)."""
    import shutil
    import subprocess
    import sys

    if not shutil.which("unshare") or os.geteuid() != 0:
        pytest.skip("needs root and unshare to mount a tiny tmpfs")
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    script = tmp_path / "fill.py"
    script.write_text(_ENOSPC_SCRIPT.format(tests=str(Path(__file__).parent), root=str(mnt / "d")))
    r = subprocess.run(
        [
            "unshare",
            "-m",
            "sh",
            "-c",
            f"mount -t tmpfs -o size=1m tmpfs {mnt} && {sys.executable} {script} && ls -RA {mnt}/d",
        ],
        capture_output=True,
        check=False,
        text=True,
        timeout=120,
    )
    if r.returncode != 0 and "mount" in r.stderr:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    assert r.returncode == 0, r.stderr
    first, listing = r.stdout.split("\n", 1)
    report = json.loads(first)
    assert report["errno"] == 28 and report["done"] == [[TWIN, 0]]
    assert "No space left on device" in report["msg"] and "run-000001" in report["msg"]
    assert (
        listing.count("run-000000.parquet") == 1 and "run-000001.parquet" not in listing
        and ".tmp" not in listing
    )  # run 0 intact, no leftovers


def test_a_run_is_written_once(tmp_path):
    w = DatasetWriter(tmp_path / "d")
    run = w.open_run(TWIN, 0, CHANNELS, meta(0))
    with pytest.raises(ValueError, match="already open"):
        w.open_run(TWIN, 0, CHANNELS, meta(0))
    run.abort()
    write_run(w, 0)
    with pytest.raises(ValueError, match="already complete"):
        w.open_run(TWIN, 0, CHANNELS, meta(0))
    with pytest.raises(ValueError, match="already complete"):
        DatasetWriter(tmp_path / "d", mode="resume").open_run(TWIN, 0, CHANNELS, meta(0))


def _worker(root: str, run_ids: list[int]) -> None:
    w = DatasetWriter(root, mode="resume")
    for r in run_ids:
        write_run(w, r, n=500, block=100)


@pytest.mark.skipif(os.name != "posix", reason="fork")
def test_processes_committing_to_one_dataset_lose_no_run(tmp_path):
    import multiprocessing

    root = tmp_path / "d"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_worker, args=(str(root), list(range(k, 24, 4)))) for k in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * 4
    DatasetWriter(root, mode="resume").finalize()
    manifest = json.loads((root / "manifest.json").read_text())
    assert [e["run_id"] for e in manifest["runs"]] == list(range(24))
    assert list(pd.read_parquet(root / "runs.parquet").run_id) == list(range(24))
    serial = tmp_path / "serial"
    _worker(str(serial), list(range(24)))
    DatasetWriter(serial, mode="resume").finalize()
    assert (serial / "events.parquet").read_bytes() == (root / "events.parquet").read_bytes()
