"""The EV component: session energy, power levels, the long-run energy law, local timing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twinforge.components.appliances import CycleLog
from twinforge.components.ev import Vehicles
from twinforge.components.localtime import HourOffsets
from twinforge.core.calendar import LocalClock
from twinforge.core.rng import RngStreams
from twinforge.processes import ev

DAY_S = 86_400.0


def run(params: ev.EVParams, days: float, seed: int = 0, start="2023-01-01 00:00", tz="Europe/Paris",
        dt=60.0, cars=1, block_days=10.0):
    """Charging power (n_steps, cars) [W] and the sessions (car, start, end, energy, need)."""
    clock = LocalClock(pd.Timestamp(start), tz)
    comp = Vehicles(list(range(cars)), [params] * cars, [RngStreams(seed).child(f"{c}") for c in range(cars)],
                    HourOffsets.cover(clock, 0.0, 0.0))
    n = int(round(days * DAY_S / dt))
    per = int(round(block_days * DAY_S / dt))
    out = np.zeros((n, cars))
    log = CycleLog(8)
    no_trips = np.zeros((cars, 0), dtype=bool)
    for i0 in range(0, n, per):
        i1 = min(n, i0 + per)
        comp.render(out[i0:i1], i0, dt, HourOffsets.cover(clock, i0 * dt, i1 * dt), no_trips, 0,
                    np.zeros((cars, 2)), log)
    k = int(log.count[0])
    need = comp.need_log[:k].copy()
    row, a, b, e = log.take()
    return clock, out, row, a, b, e, need


def test_session_energy_is_logged_and_rendered():
    params = ev.EVParams()
    _, power, _, a, b, e, need = run(params, 120, seed=1, block_days=0.7)
    assert len(a) > 40
    charger_w = params.charger_kw * 1000.0
    np.testing.assert_allclose(e, charger_w * (b - a), rtol=1e-9)
    assert (e <= need * 3.6e6 * (1 + 1e-9)).all()
    done = b <= 120 * DAY_S
    assert power.sum() * 60.0 == pytest.approx(e[done].sum() + charger_w * (120 * DAY_S - a[~done]).sum(), rel=1e-9)
    assert power.max() <= charger_w * (1 + 1e-12) and power.min() >= 0.0


def test_sessions_never_overlap():
    _, _, _, a, b, *_ = run(ev.EVParams(charger_kw=11.0), 60, seed=2)
    assert (a[1:] > b[:-1]).all()


@pytest.mark.parametrize("km,kwh_per_km", [(35.0, 0.18), (60.0, 0.22)])
def test_long_run_energy_matches_mileage(km, kwh_per_km):
    cars, years = 20, 2
    *_, e, _ = run(ev.EVParams(daily_km_mean=km, kwh_per_km=kwh_per_km), years * 365.25, seed=3, dt=3600.0,
                   cars=cars, block_days=100)
    annual_kwh = e.sum() / 3.6e6 / (cars * years)
    assert annual_kwh == pytest.approx(km * 365.25 * kwh_per_km, rel=0.04)


def test_battery_caps_the_energy_per_session():
    params = ev.EVParams(battery_kwh=10.0, daily_km_mean=200.0, charger_kw=3.7)
    *_, e, _ = run(params, 200, seed=4, dt=600.0)
    kwh = e / 3.6e6
    assert (kwh <= 10.0 + 1e-9).all() and kwh.max() > 9.9
    assert kwh.sum() < 0.5 * 200 * 200.0 * params.kwh_per_km  # the excess is charged away from home


def test_sessions_start_at_local_arrival_and_end_before_departure():
    params = ev.EVParams()
    clock, _, _, a, b, *_ = run(params, 365, seed=5, dt=600.0, block_days=30)
    arr = clock.hour_of_day_array(a)
    end = clock.hour_of_day_array(b)
    assert ((arr >= 12.0 - 1e-6) & (arr < 24.0)).all()
    assert ((b - a) < DAY_S).all()
    assert ((end >= arr - 1e-6) | (end <= 11.5 + 1e-6)).all()
    weekday = ~clock.is_weekend_array(a)
    assert abs(np.median(arr[weekday]) - params.weekday_arrival_h_mean) < 0.5
    summer = (a > 150 * DAY_S) & (a < 240 * DAY_S)  # local arrival times hold through summer time
    assert abs(np.median(arr[weekday & summer]) - params.weekday_arrival_h_mean) < 0.6


def test_run_starting_in_the_evening_skips_past_arrivals():
    params = ev.EVParams(weekday_arrival_h_mean=18.0, weekday_arrival_h_sd=0.1)
    *_, a, _, _, _ = run(params, 20, seed=6, start="2023-03-06 22:30")
    assert a.size and a[0] > 12 * 3600.0


def test_same_stream_same_sessions_whatever_the_blocks():
    a = run(ev.EVParams(), 30, seed=7)[3]
    b = run(ev.EVParams(), 30, seed=7, block_days=0.45)[3]
    c = run(ev.EVParams(), 30, seed=8)[3]
    np.testing.assert_array_equal(a, b)
    assert a.shape != c.shape or not np.array_equal(a, c)
