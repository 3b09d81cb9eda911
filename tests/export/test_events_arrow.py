"""The events shard built in Arrow from the event log is the table (and bytes) of the pandas path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import twinforge.export.parquet as P
from twinforge.core.eventlog import EventLog

START = pd.Timestamp("2024-03-01 00:00:00.5", tz="UTC")


def _via_pandas(log: EventLog, run_id: int = 4) -> pa.Table:
    return P._events_table(log.to_frame(START, run_id, "home"), "home", run_id, "t")


def _bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, **P._small_table_options(table))
    return sink.getvalue().to_pybytes()


def _logs() -> dict[str, EventLog]:
    """Logs covering the params rules: log() only, log_many() only, both sharing names."""
    only_log = EventLog()
    only_log.log("grid", "outage", 10.0, 70.0, 3.5, label=True, cause="tree", homes=12, ok=True)
    only_log.log("grid", "outage", 5.0, 6.0, nothing=None)
    mixed = EventLog()
    mixed.log("weather", "heat_wave", 0.0, 7200.0, 6.5, label=True, delta_temp_k=6.5, waves=2)
    mixed.log("weather", "heat_wave", 100.0, 200.0, float("nan"), delta_temp_k=np.float64(1.0))
    mixed.log_many("appliance", "kettle", np.array([300.0, 60.0, 60.0]), np.array([360.0, 90.0, 80.0]),
                   energy_j=np.array([1.0, np.nan, 3.0]), delta_temp_k=np.array([0.5, 0.25, 0.125]))
    mixed.log_many("appliance", "fridge", np.array([1.0]), np.array([2.0]), energy_j=np.array([4.0]))
    mixed.log_many("appliance", "fridge", np.array([0.25]), np.array([2.0]), energy_j=np.array([1e300]))
    mixed.log_many("control", "bare", np.array([3.0, 1.0]), np.array([4.0, 1.5]))
    only_bulk = EventLog()
    only_bulk.log_many("control", "heating_cycle", np.array([9.0, 3.0]), np.array([12.0, 3.000000001]))
    clash = EventLog()  # a name stored as string by log(): the general rules for every row
    clash.log("x", "y", 0.0, 1.0, energy_j="high")
    clash.log_many("appliance", "oven", np.array([2.0]), np.array([3.0]), energy_j=np.array([2.5]))
    as_int = EventLog()  # ints and the group's floats mixed: float64
    as_int.log("x", "y", 0.0, 1.0, energy_j=7)
    as_int.log_many("appliance", "oven", np.array([2.0]), np.array([3.0]), energy_j=np.array([2.5]))
    return {"empty": EventLog(), "only_log": only_log, "mixed": mixed, "only_bulk": only_bulk,
            "clash": clash, "as_int": as_int}


@pytest.mark.parametrize("name", list(_logs()))
def test_to_table_is_the_pandas_path(name):
    log = _logs()[name]
    got, want = log.to_table(START, 4, "home"), _via_pandas(log)
    assert got.schema == want.schema and repr(got.to_pylist()) == repr(want.to_pylist())  # NaN-safe
    assert all(c.num_chunks == 1 for c in got.columns)
    assert _bytes(got) == _bytes(want)


def test_to_table_keeps_the_order_and_types():
    table = _logs()["mixed"].to_table(START, 4, "home")
    assert table.column("type").to_pylist() == ["heat_wave", "heat_wave", "fridge", "fridge", "kettle", "kettle",
                                                "kettle", "bare", "bare"]  # log(), then groups by category, type
    assert table.column("end").to_pylist()[4:6] == [pd.Timestamp("2024-03-01 00:01:20.5", tz="UTC"),
                                                    pd.Timestamp("2024-03-01 00:01:30.5", tz="UTC")]
    assert table.column("severity").null_count == 8  # NaN severities are stored as null
    params = table.column("params").combine_chunks()
    assert params.type == pa.struct([("delta_temp_k", pa.float64()), ("energy_j", pa.float64()),
                                     ("waves", pa.int64())])
    assert params.field("energy_j").to_pylist()[:5] == [None, None, 1e300, 4.0, 3.0]  # by start, then end
    assert np.isnan(params.field("energy_j").to_pylist()[5])  # a NaN parameter stays NaN, not null
    assert _logs()["empty"].to_table(START, 4, "home").schema.field("params").type == pa.null()


def test_commit_takes_the_arrow_table_of_its_run_only(tmp_path):
    from tests.export.test_parquet import CHANNELS, TWIN, blocks, meta, record

    writer = P.DatasetWriter(tmp_path / "d")
    log = _logs()["mixed"]

    def commit(run_id: int, events: pa.Table) -> None:
        with writer.open_run(TWIN, run_id, CHANNELS, meta(run_id)) as run:
            for b in blocks(run_id):
                run.write(b)
            run.commit(events, record(run_id))

    with pytest.raises(ValueError, match="another run"):
        commit(1, log.to_table(START, 2, TWIN))
    with pytest.raises(ValueError, match="schema"):
        commit(1, log.to_table(START, 1, TWIN).drop_columns(["severity_unit"]))
    commit(1, log.to_table(START, 1, TWIN))
    shard = pq.read_table(writer.root / P.shard_dir(TWIN, 1) / P.EVENTS_NAME)
    want = P._events_table(log.to_frame(START, 1, TWIN), TWIN, 1, "t")
    assert shard.schema.remove_metadata() == want.schema and repr(shard.to_pylist()) == repr(want.to_pylist())


def test_runner_writes_the_events_without_pandas(tmp_path, monkeypatch):
    from twinforge.campaign.runner import generate
    from twinforge.campaign.spec import load_spec

    def no_frame(*args, **kwargs):
        raise AssertionError("the runner went through EventLog.to_frame")

    monkeypatch.setattr(EventLog, "to_frame", no_frame)
    generate(load_spec(None, runs=1, days=1, period="1h", seed=1, diversity=False), tmp_path / "d", progress=False)
    shard = pq.read_table(tmp_path / "d" / P.shard_dir("home", 0) / P.EVENTS_NAME)
    assert shard.num_rows > 0 and shard.column("run_id").to_pylist() == [0] * shard.num_rows
