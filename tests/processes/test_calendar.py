"""Working calendars: weekend days and public holidays per country."""

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from twinforge.core.calendar import LocalClock, is_weekend_day
from twinforge.processes.calendar import PARTIAL, REST, WORKING, CalendarParams, day_types, holiday_dates


def days(a, b):
    return np.arange(np.datetime64(a), np.datetime64(b))


def test_default_calendar_is_saturday_sunday_without_holidays():
    d = days("2024-01-01", "2024-01-08")  # Monday .. Sunday, New Year's Day included
    assert day_types(d, CalendarParams()).tolist() == [0, 0, 0, 0, 0, 1, 2]


def test_weekend_comes_from_the_country():
    assert CalendarParams(country="US").weekend == (5, 6)
    assert CalendarParams(country="SA").weekend == (4, 5)  # Friday-Saturday
    assert CalendarParams(country="US", weekend_days=(6,)).weekend == (6,)
    d = days("2024-03-04", "2024-03-11")
    assert day_types(d, CalendarParams(country="US", weekend_days=(6,), holidays="none")).tolist() == \
        [0, 0, 0, 0, 0, 0, 2]  # a Sunday-only week: Saturday works


def test_named_holidays_with_their_observed_dates():
    nerc = ("New Year's Day", "Memorial Day", "Independence Day", "Labor Day", "Thanksgiving Day", "Christmas Day")
    cal = CalendarParams(country="US", holidays=nerc)
    h = holiday_dates(cal, range(2014, 2018))
    for d in ["2014-01-01", "2014-05-26", "2014-07-04", "2014-09-01", "2014-11-27", "2014-12-25",
              "2016-12-26", "2017-01-02"]:  # 25 Dec 2016 and 1 Jan 2017 are Sundays, observed on Monday
        assert np.datetime64(d) in h
    assert np.datetime64("2014-10-13") not in h  # Columbus Day is not among them
    assert np.datetime64("2014-10-13") in holiday_dates(CalendarParams(country="US"), range(2014, 2015))
    assert day_types(np.array(["2016-12-26"], dtype="datetime64[D]"), cal).tolist() == [REST]


def test_bridge_days():
    cal = CalendarParams(country="US", holidays=("Thanksgiving Day", "Independence Day"), bridge_days=True)
    assert day_types(days("2014-11-26", "2014-12-01"), cal).tolist() == [WORKING, REST, PARTIAL, PARTIAL, REST]
    # Independence Day 2019 is a Thursday: the Friday is a bridge; 2018's is a Wednesday: no bridge
    assert day_types(np.array(["2019-07-05", "2018-07-05"], dtype="datetime64[D]"), cal).tolist() == [PARTIAL, WORKING]


def test_bad_calendars_are_refused_with_what_is_allowed():
    with pytest.raises(ValidationError, match="'Xmas' is not a holiday of US; allowed: Christmas Day"):
        CalendarParams(country="US", holidays=("Xmas",))
    with pytest.raises(ValidationError, match="unknown country 'ZZ'"):
        CalendarParams(country="ZZ")
    with pytest.raises(ValidationError, match="weekend_days must be up to 3 distinct days"):
        CalendarParams(weekend_days=(5, 7))
    with pytest.raises(ValidationError, match="needs a calendar.country"):
        CalendarParams(holidays=("Christmas Day",))


def test_local_clock_weekend_days():
    clock = LocalClock(pd.Timestamp("2024-03-04T00:00Z"), "Asia/Jerusalem", weekend_days=(4, 5))
    t = np.arange(7) * 86_400.0 + 12 * 3600.0
    assert clock.is_weekend_array(t).tolist() == [False, False, False, False, True, True, False]
    assert [clock.is_weekend(x) for x in t] == clock.is_weekend_array(t).tolist()
    assert is_weekend_day(np.arange(7) + 19_786).tolist() == [False] * 5 + [True] * 2  # 2024-03-04 is a Monday
    assert is_weekend_day(19_790, (4, 5))  # a Friday
