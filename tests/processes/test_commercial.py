"""Non-residential load: customer classes, standard profiles, calendars, weather response."""

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from twinforge.core.calendar import LocalClock
from twinforge.processes.calendar import CalendarParams
from twinforge.processes.commercial import (
    CommercialLoad,
    CommercialParams,
    HoursClass,
    StandardProfileClass,
    hours_activity,
    standard_profile,
)

TZ = "America/New_York"


def test_hours_activity_is_a_smoothed_trapezoid():
    p = HoursClass(profile="hours", w_per_home=1.0, open_h=8.0, close_h=18.0, ramp_h=2.0, close_ramp_h=6.0)
    h = np.linspace(0.0, 23.99, 2400)
    o = hours_activity(h, p)
    assert o[h < 7.0].max() == 0.0 and o[h >= 21.0].max() == 0.0
    assert np.all(o[(h >= 9.0) & (h <= 15.0)] == 1.0)
    np.testing.assert_allclose(hours_activity(np.array([8.0, 18.0]), p), 0.5)
    assert np.all(np.diff(o[(h >= 7.0) & (h <= 9.0)]) >= 0) and np.all(np.diff(o[h >= 15.0]) <= 0)


def test_hours_must_fit_the_day():
    with pytest.raises(ValidationError, match="close_h - close_ramp_h/2"):
        HoursClass(profile="hours", w_per_home=1.0, open_h=10.0, close_h=12.0, ramp_h=4.0)
    with pytest.raises(ValidationError, match="within the local day"):
        HoursClass(profile="hours", w_per_home=1.0, open_h=1.0, close_h=18.0, ramp_h=4.0)
    with pytest.raises(ValidationError, match="heating_balance_c must not exceed"):
        StandardProfileClass(profile="bdew_g25", w_per_home=1.0, heating_balance_c=20.0, cooling_balance_c=15.0)
    with pytest.raises(ValidationError, match="profile"):
        CommercialParams(classes={"x": {"profile": "bdew_z99", "w_per_home": 1.0}})
    with pytest.raises(ValidationError, match="at least one customer class"):
        CommercialParams(classes={})


def test_standard_profiles_are_normalised_and_shaped_like_business():
    g = standard_profile("bdew_g25")
    assert g.shape == (12, 3, 96) and not g.flags.writeable
    np.testing.assert_allclose(g[:, 0, :].mean(axis=1), 1.0)  # a working day averages 1 in every month
    # businesses: night low, a morning rise, Saturdays and Sundays below working days
    assert np.all(g[:, 0, 7 * 4] > 2.0 * g[:, 0, 3 * 4])
    assert np.all(g[:, 1, :].mean(axis=1) < 0.9) and np.all(g[:, 2, :].mean(axis=1) < g[:, 1, :].mean(axis=1))
    farm = standard_profile("bdew_l25")  # agriculture: milking peaks in the morning and the evening
    assert farm[0, 0, 8 * 4] > 1.5 * farm[0, 0, 14 * 4] and farm[0, 0, 19 * 4] > 1.5 * farm[0, 0, 14 * 4]
    with pytest.raises(ValueError, match="unknown standard profile"):
        standard_profile("h0")


def _load(p, calendar=None, start="2014-06-30T04:00Z", days=14, temp=14.0, dt=900.0, seed=0, n=100):
    clock = LocalClock(pd.Timestamp(start), TZ, weekend_days=(calendar or CalendarParams()).weekend)
    load = CommercialLoad(p, n, clock, np.random.default_rng(seed), dt, calendar)
    t = np.arange(int(days * 86_400 / dt)) * dt
    temps = np.full(t.shape, temp) if np.isscalar(temp) else temp(t)
    local = clock.local_times(t)
    return pd.Series(load.power_w(t, temps), index=local), load


G25 = StandardProfileClass(profile="bdew_g25", w_per_home=1000.0)
US = CalendarParams(country="US", holidays=("Independence Day",))


def test_working_day_mean_is_the_level_and_the_morning_rises_whatever_the_weather():
    s, _ = _load(CommercialParams(classes={"c": G25}), US)
    days = s.groupby(s.index.date).mean()
    working = [d for d in days.index if d.weekday() < 5 and str(d) != "2014-07-04"]
    np.testing.assert_allclose(days[working], 100 * 1000.0, rtol=1e-9)  # n homes x w_per_home
    # 04:00 -> 07:00 on working days: the rise does not depend on the temperature
    for temp in (14.0, 30.0):
        t, _ = _load(CommercialParams(classes={"c": G25.model_copy(update={"cooling_w_per_k_per_home": 50.0})}),
                     US, temp=temp)
        wd = t[(t.index.day_of_week < 5)]
        rise = wd[wd.index.hour == 7].mean() - wd[wd.index.hour == 4].mean()
        assert rise > 0.5 * 100 * 1000.0


def test_holidays_and_weekends_follow_the_country():
    s, load = _load(CommercialParams(classes={"c": G25}), US)
    noon = s[s.index.hour == 12]
    by_day = noon.groupby(noon.index.date).mean()
    july4, saturday, sunday, thursday = (pd.Timestamp(d).date() for d in
                                         ("2014-07-04", "2014-07-05", "2014-07-06", "2014-07-03"))
    assert by_day[july4] == pytest.approx(by_day[sunday], rel=0.1)  # a holiday has the Sunday shape
    assert by_day[sunday] < by_day[saturday] < by_day[thursday]
    # an Israeli week: Friday is the partial day, Saturday the day of rest, Sunday works
    il, _ = _load(CommercialParams(classes={"c": G25}), CalendarParams(country="IL", holidays="none"))
    d = il[il.index.hour == 12].groupby(lambda t: t.day_of_week).mean()
    assert d[5] < d[4] < d[6] and d[6] == pytest.approx(d[2], rel=0.05)


def test_hours_class_levels_by_day_type():
    ind = HoursClass(profile="hours", w_per_home=500.0, open_h=6.0, close_h=22.0, ramp_h=1.0, close_ramp_h=1.0,
                     off_share=0.4, partial_day_share=0.5, rest_day_share=0.0)
    s, _ = _load(CommercialParams(classes={"industry": ind}), US)
    wd = s[(s.index.day_of_week < 5) & (s.index.normalize() != pd.Timestamp("2014-07-04", tz=TZ))]
    assert wd.groupby(wd.index.date).mean().to_numpy() == pytest.approx(100 * 500.0, rel=1e-9)
    sun = s[s.index.day_of_week == 6]
    np.testing.assert_allclose(sun.to_numpy(), sun.min())  # nothing but the off-hours load on a day of rest
    assert sun.min() == pytest.approx(0.4 * wd.max(), rel=1e-9)


def test_weather_response_per_class():
    cool = StandardProfileClass(profile="bdew_g25", w_per_home=0.0, cooling_w_per_k_per_home=10.0,
                                cooling_balance_c=16.0, cooling_idle_share=1.0)
    heat = HoursClass(profile="hours", w_per_home=0.0, heating_w_per_k_per_home=5.0, heating_balance_c=12.0)
    p = CommercialParams(classes={"a": cool, "b": heat}, thermal_lag_h=0.0)
    s, load = _load(p, temp=26.0, days=2)
    np.testing.assert_allclose(s.to_numpy(), 100 * 10.0 * 10.0)  # 10 K above balance, always (idle share 1)
    s, _ = _load(p, temp=2.0, days=2)
    np.testing.assert_allclose(s.to_numpy(), 100 * 5.0 * 10.0)
    t = np.arange(96) * 900.0
    parts = load.power_by_class_w(t, np.full(96, 2.0))
    assert set(parts) == {"a", "b"} and np.all(parts["a"] == 0.0)


def test_internal_gains_of_occupied_hours_shift_the_balance_temperatures():
    # cooling balance 16 degC, heating balance 12 degC, gains of 4 K at full activity (09-17 h)
    kw = dict(profile="hours", w_per_home=0.0, open_h=9.0, close_h=17.0, ramp_h=0.0, close_ramp_h=0.0,
              off_share=0.0, cooling_w_per_k_per_home=10.0, cooling_balance_c=16.0, cooling_idle_share=1.0,
              heating_w_per_k_per_home=5.0, heating_balance_c=12.0)
    p = CommercialParams(classes={"a": HoursClass(occupied_gain_k=4.0, **kw)}, thermal_lag_h=0.0)
    start = "2014-07-01T04:00Z"  # a Tuesday, local midnight
    s, _ = _load(p, start=start, days=1, temp=14.0)
    h = s.index.hour
    # a mild 14 degC: no load while closed, 10 W/K x (14 + 4 - 16) K per home while open
    np.testing.assert_allclose(s[(h >= 9) & (h < 17)].to_numpy(), 100 * 10.0 * 2.0)
    np.testing.assert_allclose(s[(h < 9) | (h >= 17)].to_numpy(), 0.0)
    # a cold 9 degC: 5 W/K x (12 - 9) K per home while closed, x (12 - 4 - 9)+ = 0 while open
    s, _ = _load(p, start=start, days=1, temp=9.0)
    np.testing.assert_allclose(s[(h >= 9) & (h < 17)].to_numpy(), 0.0)
    np.testing.assert_allclose(s[(h < 9) | (h >= 17)].to_numpy(), 100 * 5.0 * 3.0)
    # no gains: the fixed balance temperatures of before
    s0, _ = _load(CommercialParams(classes={"a": HoursClass(**kw)}, thermal_lag_h=0.0), start=start, days=1)
    np.testing.assert_allclose(s0.to_numpy(), 0.0)


def test_buildings_lag_the_outdoor_temperature():
    c = StandardProfileClass(profile="bdew_g25", w_per_home=0.0, cooling_w_per_k_per_home=10.0,
                             cooling_balance_c=0.0, heating_balance_c=-5.0, cooling_idle_share=1.0)
    p = CommercialParams(classes={"a": c}, thermal_lag_h=4.0)
    step = lambda t: np.where(t < 86_400.0, 10.0, 20.0)  # noqa: E731
    s, _ = _load(p, temp=step, days=2)
    tb = s.to_numpy() / (100 * 10.0)
    after = np.arange(len(tb)) * 900.0 >= 86_400.0
    k = np.arange(after.sum()) + 1
    np.testing.assert_allclose(tb[after], 20.0 - 10.0 * (1 - (1 - np.exp(-900.0 / 14_400.0))) ** k, rtol=1e-9)


def test_day_factor_is_the_only_randomness_and_is_seeded():
    p = CommercialParams(classes={"c": G25}, day_sd=0.1)
    a, _ = _load(p, seed=3, days=60)
    b, _ = _load(p, seed=3, days=60)
    c, _ = _load(p, seed=4, days=60)
    np.testing.assert_array_equal(a.to_numpy(), b.to_numpy())
    assert not np.array_equal(a.to_numpy(), c.to_numpy())
    flat, _ = _load(CommercialParams(classes={"c": G25}), seed=3, days=60)
    ratio = (a / flat).groupby(a.index.date).mean()
    assert 0.05 < ratio.std() < 0.15  # day_sd 0.1 on the daily factor


def test_blocks_give_the_same_load_as_one_pass():
    p = CommercialParams(classes={"c": G25.model_copy(update={"cooling_w_per_k_per_home": 30.0})}, day_sd=0.05)
    clock = LocalClock(pd.Timestamp("2014-07-01T04:00Z"), TZ)
    t = np.arange(4 * 96) * 900.0
    temp = 20.0 + 8.0 * np.sin(t / 86_400.0 * 2 * np.pi)
    whole = CommercialLoad(p, 10, clock, np.random.default_rng(1), 900.0, US).power_w(t, temp)
    load = CommercialLoad(p, 10, clock, np.random.default_rng(1), 900.0, US)
    parts = np.concatenate([load.power_w(t[i:i + 50], temp[i:i + 50]) for i in range(0, len(t), 50)])
    np.testing.assert_allclose(parts, whole, rtol=1e-12)


def test_preconditioning_starts_the_cooling_ahead_of_the_occupants():
    # offices open 09-17 h (no ramps), cooling only at full activity; 20 degC against a 16 degC balance
    kw = dict(profile="hours", w_per_home=0.0, open_h=9.0, close_h=17.0, ramp_h=0.0, close_ramp_h=0.0,
              off_share=0.0, cooling_w_per_k_per_home=10.0, cooling_balance_c=16.0, cooling_idle_share=0.0)
    start = "2014-07-01T04:00Z"  # a Tuesday, local midnight
    s, _ = _load(CommercialParams(classes={"a": HoursClass(preconditioning_h=3.0, **kw)}, thermal_lag_h=0.0),
                 start=start, days=1, temp=20.0)
    h = s.index.hour
    # the HVAC runs 06-17 h (3 h ahead of opening, stops with the occupants): 100 homes x 10 W/K x 4 K
    np.testing.assert_allclose(s[(h >= 6) & (h < 17)].to_numpy(), 100 * 10.0 * 4.0)
    np.testing.assert_allclose(s[(h < 6) | (h >= 17)].to_numpy(), 0.0)
    s0, _ = _load(CommercialParams(classes={"a": HoursClass(**kw)}, thermal_lag_h=0.0), start=start, days=1, temp=20.0)
    np.testing.assert_allclose(s0[(h >= 6) & (h < 9)].to_numpy(), 0.0)  # without: cooling starts at 09 h
