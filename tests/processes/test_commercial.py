"""The aggregate commercial and industrial load: activity profile, calendar, weather response."""

import numpy as np
import pandas as pd
import pytest

from twinforge.core.calendar import LocalClock
from twinforge.processes.commercial import (
    CommercialLoad,
    CommercialParams,
    business_activity,
    nerc_holidays,
)


def test_activity_is_a_smoothed_trapezoid():
    p = CommercialParams(open_h=8.0, close_h=18.0, ramp_h=2.0, weekend_factor=0.25)
    h = np.linspace(0.0, 23.99, 2400)
    o = business_activity(h, np.ones_like(h, dtype=bool), p)
    assert o[(h < 7.0)].max() == 0.0 and o[h >= 19.0].max() == 0.0
    assert np.all(o[(h >= 9.0) & (h <= 17.0)] == 1.0)
    np.testing.assert_allclose(business_activity(np.array([8.0, 18.0]), np.array([True, True]), p), 0.5)
    morning, evening = (h >= 7.0) & (h <= 9.0), (h >= 17.0) & (h <= 19.0)
    assert np.all(np.diff(o[morning]) >= 0) and np.all(np.diff(o[evening]) <= 0)
    weekend = business_activity(h, np.zeros_like(h, dtype=bool), p)
    np.testing.assert_allclose(weekend, 0.25 * o)


def test_evening_ramp_may_be_longer_than_the_morning_ramp():
    p = CommercialParams(open_h=8.0, close_h=19.0, ramp_h=2.0, close_ramp_h=6.0)
    h = np.linspace(0.0, 23.99, 2400)
    o = business_activity(h, np.ones_like(h, dtype=bool), p)
    sym = business_activity(h, np.ones_like(h, dtype=bool), p.model_copy(update={"close_ramp_h": None}))
    morning = h < 12.0
    np.testing.assert_array_equal(o[morning], sym[morning])  # the morning ramp is ramp_h's
    assert np.all(o[(h >= 9.0) & (h <= 16.0)] == 1.0) and o[h < 16.0 - 1e-9].max() == 1.0
    assert 0.0 < o[(h > 16.01) & (h < 21.99)].min() and o[(h > 16.01) & (h < 21.99)].max() < 1.0
    assert o[h >= 22.0].max() == 0.0 and sym[h >= 20.0].max() == 0.0
    np.testing.assert_allclose(business_activity(np.array([19.0]), np.array([True]), p), 0.5)
    assert np.all(np.diff(o[h >= 16.0]) <= 0)


def test_business_hours_must_not_overlap():
    with pytest.raises(ValueError):
        CommercialParams(open_h=10.0, close_h=12.0, ramp_h=4.0)
    with pytest.raises(ValueError, match="close_ramp_h"):  # 8 + 1 > 12 - 4
        CommercialParams(open_h=8.0, close_h=12.0, ramp_h=2.0, close_ramp_h=8.0)
    with pytest.raises(ValueError, match="within the local day"):  # the ramp would end at 01:00
        CommercialParams(open_h=8.0, close_h=21.0, ramp_h=2.0, close_ramp_h=8.0)
    with pytest.raises(ValueError, match="within the local day"):
        CommercialParams(open_h=1.0, close_h=18.0, ramp_h=4.0)


def test_nerc_holidays():
    h = nerc_holidays(range(2014, 2018))
    for d in ["2014-01-01", "2014-05-26", "2014-07-04", "2014-09-01", "2014-11-27", "2014-12-25",
              "2016-12-26", "2017-01-02"]:  # 25 Dec 2016 and 1 Jan 2017 are Sundays
        assert pd.Timestamp(d) in h
    assert pd.Timestamp("2016-12-25") not in h and len(h) == 24


def _load(p, start="2014-07-01", days=14, temp=None, dt=900.0, seed=0):
    clock = LocalClock(pd.Timestamp(start, tz="UTC"), "America/New_York")
    load = CommercialLoad(p, 100, clock, np.random.default_rng(seed), dt)
    t = np.arange(int(days * 86_400 / dt)) * dt
    temp = np.full(t.shape, 14.0) if temp is None else temp(t)
    return t, load.power_w(t, temp), load, clock


def test_load_without_weather_is_base_plus_business_activity():
    p = CommercialParams(holidays="nerc")  # 14 degC: between the balance temperatures
    t, w, load, clock = _load(p)
    o = business_activity(clock.hour_of_day_array(t), load.working_day(t), p)
    np.testing.assert_allclose(w, 100 * (p.base_w_per_home + p.business_w_per_home * o), rtol=1e-12)
    local = pd.to_datetime(t + clock._epoch0, unit="s", utc=True).tz_convert("America/New_York")
    s = pd.Series(w, index=local)
    noon = s[s.index.hour == 12]
    workday = noon[(noon.index.day_of_week < 5) & (noon.index.normalize() != pd.Timestamp("2014-07-04", tz="America/New_York"))]
    holiday_or_weekend = noon[(noon.index.day_of_week >= 5) | (noon.index.date == pd.Timestamp("2014-07-04").date())]
    assert workday.min() > holiday_or_weekend.max()
    assert s[s.index.hour == 3].max() == pytest.approx(100 * p.base_w_per_home)


def test_cooling_follows_the_lagged_temperature():
    p = CommercialParams(cooling_balance_c=16.0, heating_balance_c=12.0, thermal_lag_h=4.0)
    step = lambda t: np.where(t < 2 * 86_400.0, 14.0, 30.0)  # a 16 K step after two days
    t, w, _, _ = _load(p, temp=step)
    _, base, _, _ = _load(p)
    extra = w - base
    assert np.all(extra[t < 2 * 86_400.0] == 0.0)
    assert extra[t >= 2 * 86_400.0][0] == 0.0  # the buildings have not warmed past 16 degC yet
    assert np.all(extra[t >= 2 * 86_400.0 + 2 * 3600.0] > 0)
    # first-order lag: one time constant after the step, 1/e of the step is left
    tb = CommercialLoad(p, 1, LocalClock(pd.Timestamp("2014-07-01", tz="UTC")), np.random.default_rng(0),
                        900.0).building_temp_c(step(t))
    k = np.searchsorted(t, 2 * 86_400.0 + 4 * 3600.0)
    assert tb[k - 1] == pytest.approx(30.0 - 16.0 * np.exp(-1.0), abs=1e-9)


def test_heating_below_its_balance_and_day_factor_statistics():
    p = CommercialParams(heating_w_per_k_per_home=10.0, heating_balance_c=12.0, thermal_lag_h=0.0)
    t, w, _, _ = _load(p, temp=lambda t: np.full(t.shape, 2.0))
    t, w0, _, _ = _load(p)
    np.testing.assert_allclose(w - w0, 100 * 10.0 * 10.0 + 0.0, rtol=1e-12)
    q = CommercialParams(day_sd=0.1, day_persistence=0.5)
    _, _, load, _ = _load(q, days=2000, dt=86_400.0)
    x = np.asarray(load._day_x)
    assert abs(x.std() - 1.0) < 0.08 and abs(np.corrcoef(x[:-1], x[1:])[0, 1] - 0.5) < 0.08


def test_blockwise_equals_whole():
    p = CommercialParams(day_sd=0.05, holidays="nerc")
    temp = lambda t: 20.0 + 8.0 * np.sin(2 * np.pi * t / 86_400.0)
    t, whole, _, _ = _load(p, temp=temp, seed=3)
    clock = LocalClock(pd.Timestamp("2014-07-01", tz="UTC"), "America/New_York")
    load = CommercialLoad(p, 100, clock, np.random.default_rng(3), 900.0)
    parts = [load.power_w(t[i:i + 37], temp(t[i:i + 37])) for i in range(0, len(t), 37)]
    np.testing.assert_array_equal(np.concatenate(parts), whole)
