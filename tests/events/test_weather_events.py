"""Heat waves and cold snaps: overlapping waves combine physically; labels carry what is applied."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import simpy

from twinforge.campaign.runner import build_twin, plan_runs
from twinforge.campaign.spec import load_spec
from twinforge.events.weather import anomaly_shape, peak_shape
from twinforge.processes.weather import combine_anomalies

START = "2024-07-01"


def _started(twin_name: str, events: list[dict], days: float = 12.0):
    """A twin of one run with ``events``, its SimPy processes started (weather ready)."""
    extra = {"machine": {"fault_modes": []}} if twin_name == "machine" else {}
    spec = load_spec(
        None, twin=twin_name, days=days, period="1h", start=START, seed=5, events=events,
        diversity=False, **extra,
    )
    twin = build_twin(spec, plan_runs(spec, spec.seed)[0])
    twin.start(simpy.Environment(), spec.grid())
    return twin, spec


def _wave(start: str, hours: float, severity: float, kind: str = "heat_wave") -> dict:
    return {"type": kind, "start": start, "duration_h": hours, "severity": severity}


def _applied_anomaly(twin_name: str, events: list[dict]) -> tuple[np.ndarray, pd.DataFrame]:
    """Outdoor temperature with the events minus the same run without them [K], hourly."""
    twin, spec = _started(twin_name, events)
    quiet, _ = _started(twin_name, [])
    t = np.arange(0.0, spec.days * 86_400.0, 600.0)
    delta = np.asarray(twin.weather.temp_c(t)) - np.asarray(quiet.weather.temp_c(t))
    twin.grid = spec.grid()
    return delta, twin.events(0)


def test_combine_anomalies_takes_the_largest_warm_and_the_largest_cold_offset():
    a = np.array([0.0, 3.0, 8.0, 8.0])
    b = np.array([6.0, 6.0, 6.0, -2.0])
    c = np.array([-1.0, -4.0, 0.0, -5.0])
    assert combine_anomalies([a]).tolist() == a.tolist()
    assert combine_anomalies([a, b]).tolist() == [6.0, 6.0, 8.0, 6.0]
    assert combine_anomalies([a, b, c]).tolist() == [5.0, 2.0, 8.0, 3.0]
    assert combine_anomalies([np.array([2.0]), 3.0]).tolist() == [3.0]


@pytest.mark.parametrize("twin_name", ["home", "grid", "machine"])
def test_overlapping_heat_waves_do_not_add_up(twin_name):
    """Two 8 K waves overlapping for two days give an 8 K spell, not 16 K (summed before)."""
    events = [_wave("2024-07-02T00:00", 96, 8.0), _wave("2024-07-04T00:00", 96, 8.0)]
    delta, ev = _applied_anomaly(twin_name, events)
    assert delta.max() == pytest.approx(8.0, abs=1e-6)
    waves = ev[ev["type"] == "heat_wave"]
    assert len(waves) == 1  # one spell, spanning both waves
    row = waves.iloc[0]
    assert row["severity"] == pytest.approx(8.0)
    assert row["start"] == pd.Timestamp("2024-07-02", tz="UTC")
    assert row["end"] == pd.Timestamp("2024-07-08", tz="UTC")
    assert EventParams(row).get("waves") == 2


def test_a_spell_is_labelled_with_the_peak_actually_applied():
    """A weak wave starting inside a strong one: the label is the strong wave's peak."""
    events = [_wave("2024-07-02T00:00", 120, 9.0), _wave("2024-07-04T00:00", 48, 4.0)]
    delta, ev = _applied_anomaly("home", events)
    waves = ev[ev["type"] == "heat_wave"]
    assert len(waves) == 1
    assert waves.iloc[0]["severity"] == pytest.approx(delta.max()) == pytest.approx(9.0)
    twin, spec = _started("home", events)
    labels = twin.log.render_labels(np.arange(0.0, spec.days * 86_400.0, 3600.0))
    inside = labels["event"] == "heat_wave"
    assert np.all(labels["severity"][inside] == pytest.approx(9.0))


def test_waves_listed_out_of_time_order_merge_into_one_spell():
    events = [_wave("2024-07-04T00:00", 48, 5.0), _wave("2024-07-02T00:00", 72, 7.0),
              _wave("2024-07-08T00:00", 24, 3.0)]
    delta, ev = _applied_anomaly("home", events)
    waves = ev[ev["type"] == "heat_wave"]
    live = waves[waves["end"] > waves["start"]]
    assert len(live) == 2  # the spell of the first two, and the separate third wave
    spell = live[live["start"] == pd.Timestamp("2024-07-02", tz="UTC")].iloc[0]
    assert spell["severity"] == pytest.approx(7.0)
    assert spell["end"] == pd.Timestamp("2024-07-06", tz="UTC")
    merged = waves[waves["end"] == waves["start"]]  # the row logged first, emptied
    assert len(merged) == 1 and EventParams(merged.iloc[0])["merged_into"] == spell["event_id"]
    assert delta.max() == pytest.approx(7.0, abs=1e-6)


def test_heat_wave_and_cold_snap_offset_each_other():
    events = [_wave("2024-07-02T00:00", 96, 6.0), _wave("2024-07-03T00:00", 96, 4.0, "cold_snap")]
    delta, ev = _applied_anomaly("home", events)
    assert delta.max() == pytest.approx(6.0, abs=1e-6)
    t = (pd.Timestamp("2024-07-04T12:00", tz="UTC") - pd.Timestamp(START, tz="UTC")).total_seconds()
    twin, _ = _started("home", events)
    quiet, _ = _started("home", [])
    assert float(twin.weather.temp_c(t) - quiet.weather.temp_c(t)) == pytest.approx(2.0, abs=1e-9)
    assert sorted(ev["type"]) == ["cold_snap", "heat_wave"]


def test_a_wave_in_progress_keeps_its_shape_and_is_labelled_with_its_peak_in_the_window():
    """Placed at the window's start with elapsed_h: no second ramp-in, the label is what is left."""
    ramp_s, elapsed_h, left_h = 12 * 3600.0, 60.0, 6.0  # 60 h old, 6 h left: ramping out
    ev = {**_wave(START, left_h, 8.0), "params": {"elapsed_h": elapsed_h}}
    delta, table = _applied_anomaly("home", [ev])
    true = 8.0 * anomaly_shape(np.array([0.0, 3600.0]), -elapsed_h * 3600.0, left_h * 3600.0, ramp_s)
    assert delta[0] == pytest.approx(true[0], abs=1e-6)  # already 8 * w(0) > 0 at the start
    assert delta[0] > 2.0
    row = table[table["type"] == "heat_wave"].iloc[0]
    expected_peak = 8.0 * peak_shape(-elapsed_h * 3600.0, left_h * 3600.0, ramp_s, 0.0)
    assert row["severity"] == pytest.approx(expected_peak) == pytest.approx(delta.max(), abs=1e-6)
    assert EventParams(row)["elapsed_h"] == pytest.approx(elapsed_h)


def test_elapsed_h_is_validated():
    from twinforge.campaign.spec import SpecError

    bad = {**_wave(START, 6.0, 8.0), "params": {"elapsed_h": -1.0}}
    with pytest.raises(SpecError, match=r"elapsed_h must be a number within \[0, 8784\] h, got -1.0"):
        load_spec(None, twin="home", days=2, start=START, events=[bad])
    with pytest.raises(SpecError, match="unknown key.*wind for heat_wave; known: elapsed_h"):
        load_spec(None, twin="home", days=2, start=START, events=[{**bad, "params": {"wind": 1.0}}])


class EventParams(dict):
    """The ``params`` of an events.parquet row as a dict."""

    def __init__(self, row: pd.Series) -> None:
        import json

        super().__init__(json.loads(row["params"]))
