"""Storms: a labelled wind window that multiplies the feeder fault rate by its declared factor."""

import math

import numpy as np
import pandas as pd
import pytest
import simpy

from twinforge.campaign.runner import build_twin, plan_runs
from twinforge.campaign.spec import SpecError, load_spec
from twinforge.core.engine import simulate
from twinforge.core.registry import EVENTS
from twinforge.events.natural import NATURAL_MODELS
from twinforge.events.storm import Storm, storm_fault_rate_multiplier

RATE = 1000.0  # faults per year: many faults in a short horizon
DAYS = 20
STORM_START = pd.Timestamp("2024-01-05", tz="UTC")
STORM_H = 240.0


def fault_times(seed, storm=None):
    """Onsets [s] of the faults of one grid run (SimPy only: the fault processes, no rendering)."""
    events = [] if storm is None else [storm]
    spec = load_spec(
        None, twin="grid", runs=1, days=DAYS, period="15min", seed=seed, start="2024-01-01",
        grid={"n_homes": 1, "protection": {"fault_rate_per_year": RATE}}, events=events, diversity=False,
    )
    twin = build_twin(spec, plan_runs(spec, spec.seed)[0])
    env = simpy.Environment()
    grid = spec.grid()
    twin.start(env, grid)
    env.run(until=grid.horizon_s)
    ev = twin.events(0)
    ev = ev[(ev.type == "outage") & ev.params.map(lambda p: (p or {}).get("cause") == "fault").astype(bool)]
    return ((ev.start - grid.start).dt.total_seconds()).to_numpy(), twin


def storm(severity=30.0, **params):
    return {"type": "storm", "start": STORM_START.isoformat(), "duration_h": STORM_H, "severity": severity, "params": params}


def test_the_multiplier_law():
    assert storm_fault_rate_multiplier(20.0) == 1.0
    assert storm_fault_rate_multiplier(28.0) == pytest.approx(33.0)
    np.testing.assert_allclose(storm_fault_rate_multiplier(np.array([10.0, 30.0, 50.0])), [1.0, 51.0, 451.0])
    assert np.all(np.diff(storm_fault_rate_multiplier(np.linspace(20, 80, 61))) > 0)


def test_the_natural_model_is_the_registered_storm():
    assert EVENTS.get("storm") is Storm
    m = NATURAL_MODELS["storm"]
    lo, hi = Storm.severity_range
    assert lo <= m.severity_range[0] < m.severity_range[1] <= hi
    sampled = m.sample(pd.Timestamp("2024-01-01", tz="UTC"), 365.0, np.random.default_rng(0))
    assert len(sampled) >= 1
    for e in sampled:  # each sampled storm is a valid scenario event
        load_spec(None, twin="grid", days=366, events=[e], start="2024-01-01")


@pytest.mark.parametrize("factor", [4.0, 12.0])
def test_storm_multiplies_the_fault_count_in_its_window_by_the_declared_factor(factor):
    s0 = (STORM_START - pd.Timestamp("2024-01-01", tz="UTC")).total_seconds()
    s1 = s0 + STORM_H * 3600.0
    base_mean = RATE * (s1 - s0) / (365.25 * 86_400.0)  # 27.4 faults in the window without storm
    inside, outside, n_runs = 0, 0, 12
    for seed in range(n_runs):
        t, twin = fault_times(seed, storm(fault_rate_multiplier=factor))
        inside += int(((t >= s0) & (t < s1)).sum())
        outside += int(((t < s0) | (t >= s1)).sum())
        assert twin.fault_rate_multipliers == [(s0, s1, factor)]
    expected = n_runs * base_mean * factor
    assert abs(inside - expected) < 4 * math.sqrt(expected)
    out_expected = n_runs * RATE * (DAYS * 86_400.0 - (s1 - s0)) / (365.25 * 86_400.0)
    assert abs(outside - out_expected) < 4 * math.sqrt(out_expected)


def test_storm_adds_faults_and_keeps_the_base_draws():
    base, _ = fault_times(5)
    with_storm, twin = fault_times(5, storm(severity=29.0))  # m = 1 + 0.5 * 9^2 = 41.5
    assert twin.fault_rate_multipliers[0][2] == pytest.approx(41.5)
    assert set(base) <= set(with_storm)  # the counterfactual pair shares every base fault
    s0 = (STORM_START - pd.Timestamp("2024-01-01", tz="UTC")).total_seconds()
    extra = np.setdiff1d(with_storm, base)
    assert len(extra) > 100 and extra.min() >= s0 and extra.max() < s0 + STORM_H * 3600.0


def test_storm_labels_the_grid_and_leaves_the_home_alone():
    common = dict(runs=1, days=2, period="10min", seed=2, start="2024-01-08", diversity=False)
    ev = {"type": "storm", "start": "2024-01-08T06:00", "duration_h": 12, "severity": 35.0}
    spec = load_spec(None, events=[ev], **common)

    def frame(spec):
        twin = build_twin(spec, plan_runs(spec, spec.seed)[0])
        blocks = [r.samples for r in simulate(twin, spec.grid())]
        return pd.DataFrame({k: np.concatenate([b[k] for b in blocks]) for k in blocks[0]}), twin.events(0)

    df, events = frame(spec)
    clean, _ = frame(load_spec(None, **common))
    t = pd.DatetimeIndex(df.time).tz_localize("UTC")
    inside = (t >= pd.Timestamp("2024-01-08T06:00", tz="UTC")) & (t < pd.Timestamp("2024-01-08T18:00", tz="UTC"))
    assert ((df.event == "storm").to_numpy() == inside).all()
    assert (df.severity[inside] == 35.0).all()
    for col in clean.columns:
        if col not in ("event", "event_id", "severity", "events_active"):
            pd.testing.assert_series_equal(df[col], clean[col], obj=col)
    row = events[events.type == "storm"].iloc[0]
    assert row.params["peak_gust_m_per_s"] == 35.0 and "fault_rate_multiplier" not in row.params


def test_storm_params_are_checked():
    with pytest.raises(SpecError, match=r"events\.0\.params: fault_rate_multiplier must be a number within \[1, 1e5\]"):
        load_spec(None, twin="grid", events=[storm(fault_rate_multiplier=0.5)], start="2024-01-01", days=20)
    with pytest.raises(SpecError, match="unknown key"):
        load_spec(None, twin="grid", events=[storm(gust=3)], start="2024-01-01", days=20)
    with pytest.raises(SpecError, match=r"events\.0\.severity: 5\.0 is outside the range of 'storm'; allowed: 28 <= severity <= 70 m s-1"):
        load_spec(None, twin="grid", events=[storm(severity=5.0)], start="2024-01-01", days=20)
