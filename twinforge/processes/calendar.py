"""Working calendars per country: weekend days, public holidays, bridge days.

Load that follows work (offices, shops, factories) changes with the day's *type*: a working
day, a partial day (the first weekend day of a two-day weekend, a bridge day) or a day of
rest (the main weekend day, a public holiday). Which days those are depends on the country:
a Saturday-Sunday weekend in most of Europe and the Americas, Friday-Saturday in Israel and
Saudi Arabia, and every country's own public holidays. :class:`CalendarParams` declares a
calendar; :func:`day_types` classifies local dates with it. Holidays come from the
`holidays <https://pypi.org/project/holidays/>`_ package (the Open World Holidays Framework),
which also knows each country's weekend.

The day types are those of the German standard load profiles (BDEW: ``WT`` working day,
``SA`` Saturday, ``FT`` Sunday and holiday), generalised to any weekend:

- ``0`` working day;
- ``1`` partial day: a weekend day other than the main day of rest (Saturday of a
  Saturday-Sunday weekend, Friday of a Friday-Saturday one), and, with ``bridge_days``, a
  single working day between a holiday and the weekend (the Friday after Thanksgiving);
- ``2`` day of rest: the main weekend day (the last of ``weekend_days`` in week order,
  Sunday or Saturday) and every selected public holiday.

>>> cal = CalendarParams(country="US", holidays=["Independence Day"])
>>> days = np.array(["2014-07-03", "2014-07-04", "2014-07-05", "2014-07-06"], dtype="datetime64[D]")
>>> day_types(days, cal).tolist()
[0, 2, 1, 2]
"""

from __future__ import annotations

import functools
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["CalendarParams", "day_types", "holiday_dates", "WORKING", "PARTIAL", "REST"]

#: Day types (the BDEW profiles' WT, SA, FT).
WORKING, PARTIAL, REST = 0, 1, 2

_NAMES_YEARS = range(2000, 2031)  # years scanned to validate holiday names


def _country_holidays(country: str, subdivision: str | None, years: tuple[int, ...]):
    import holidays

    return holidays.country_holidays(country, subdiv=subdivision, years=list(years))


def _base_name(name: str) -> str:
    """A holiday's name without the ``(observed)`` note (``Christmas Day (observed)``)."""
    return name.replace(" (observed)", "").replace("(observed)", "").strip()


@functools.lru_cache(maxsize=64)
def _known_names(country: str, subdivision: str | None) -> frozenset[str]:
    h = _country_holidays(country, subdivision, tuple(_NAMES_YEARS))
    return frozenset(_base_name(n) for names in h.values() for n in str(names).split("; "))


class CalendarParams(BaseModel):
    """A working calendar: weekend days and public holidays of a country.

    Without a ``country`` the calendar is Saturday-Sunday with no holiday (the default of
    every twin). With one, its weekend comes from the ``holidays`` package unless
    ``weekend_days`` is given, and its public holidays are those the package lists
    (``holidays = "all"``) or the named ones (observed dates included: a Sunday holiday
    observed on Monday is a day of rest on Monday).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    country: str | None = Field(None, description="ISO 3166-1 alpha-2 code of the country, e.g. 'US', 'FR', 'SA'")
    subdivision: str | None = Field(None, description="ISO 3166-2 subdivision (state, province), e.g. 'PA'")
    weekend_days: tuple[int, ...] | None = Field(
        None, description="weekend days, Monday = 0 .. Sunday = 6 (default: the country's, else (5, 6))"
    )
    holidays: Literal["all", "none"] | tuple[str, ...] = Field(
        "all", description="public holidays that are days of rest: 'all', 'none' or their names"
    )
    bridge_days: bool = Field(
        False, description="a single working day between a holiday and a day of rest is a partial day"
    )

    @field_validator("weekend_days")
    @classmethod
    def _days(cls, v: tuple[int, ...] | None) -> tuple[int, ...] | None:
        if v is None:
            return v
        if len(v) > 3 or len(set(v)) != len(v) or any(not 0 <= d <= 6 for d in v):
            raise ValueError(f"weekend_days must be up to 3 distinct days in 0 (Monday) .. 6 (Sunday), got {list(v)}")
        return tuple(sorted(v))

    @model_validator(mode="after")
    def _country(self) -> "CalendarParams":
        if self.country is None:
            if self.subdivision is not None:
                raise ValueError("calendar.subdivision needs a calendar.country")
            if isinstance(self.holidays, tuple):
                raise ValueError("calendar.holidays: naming holidays needs a calendar.country")
            return self
        import holidays

        try:
            _country_holidays(self.country, self.subdivision, (2020,))
        except (NotImplementedError, KeyError) as exc:
            what = "subdivision " + repr(self.subdivision) if self.subdivision else "country " + repr(self.country)
            raise ValueError(f"calendar: unknown {what} ({str(exc).splitlines()[0]}); allowed: "
                             f"an ISO code the holidays package knows, e.g. US, FR, DE, SA") from None
        del holidays
        if isinstance(self.holidays, tuple):
            known = _known_names(self.country, self.subdivision)
            bad = [n for n in self.holidays if n not in known]
            if bad:
                raise ValueError(f"calendar.holidays: {bad[0]!r} is not a holiday of {self.country}; "
                                 f"allowed: {', '.join(sorted(known))}")
        return self

    @property
    def weekend(self) -> tuple[int, ...]:
        """The weekend days (Monday = 0): given, the country's, or Saturday and Sunday."""
        if self.weekend_days is not None:
            return self.weekend_days
        if self.country is not None:
            return tuple(sorted(_country_holidays(self.country, self.subdivision, (2020,)).weekend))
        return (5, 6)


def holiday_dates(cal: CalendarParams, years: range) -> np.ndarray:
    """The calendar's holidays (days of rest) in ``years``, as sorted ``datetime64[D]``."""
    if cal.country is None or cal.holidays == "none":
        return np.empty(0, dtype="datetime64[D]")
    return _holiday_dates(cal, years.start, years.stop)


@functools.lru_cache(maxsize=64)
def _holiday_dates(cal: CalendarParams, y0: int, y1: int) -> np.ndarray:
    h = _country_holidays(cal.country, cal.subdivision, tuple(range(y0, y1)))  # type: ignore[arg-type]
    keep = None if cal.holidays == "all" else set(cal.holidays)
    days = [d for d, names in h.items()
            if keep is None or any(_base_name(n) in keep for n in str(names).split("; "))]
    out = np.array(sorted(days), dtype="datetime64[D]")
    out.flags.writeable = False
    return out


def day_types(local_dates: np.ndarray, cal: CalendarParams) -> np.ndarray:
    """Day type of each local date: 0 working, 1 partial, 2 day of rest (module docstring).

    Parameters
    ----------
    local_dates : array of datetime64[D]
        Local calendar dates (any shape).
    cal : CalendarParams

    Returns
    -------
    ndarray of int8, the shape of ``local_dates``
    """
    d = np.asarray(local_dates, dtype="datetime64[D]")
    if d.size == 0:
        return np.zeros(d.shape, dtype=np.int8)
    weekday = (d.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday (Monday = 0)
    weekend = cal.weekend
    out = np.zeros(d.shape, dtype=np.int8)
    if weekend:
        out[np.isin(weekday, weekend)] = PARTIAL
        out[weekday == weekend[-1]] = REST
    years = d.astype("datetime64[Y]").astype(np.int64) + 1970
    hol = holiday_dates(cal, range(int(years.min()) - 1, int(years.max()) + 2))
    if hol.size:
        is_hol = np.isin(d, hol)
        out[is_hol] = REST
        if cal.bridge_days:
            one = np.timedelta64(1, "D")
            before, after = np.isin(d - one, hol), np.isin(d + one, hol)
            rest_next = np.isin((weekday + 1) % 7, weekend) | after
            rest_prev = np.isin((weekday - 1) % 7, weekend) | before
            bridge = (out == WORKING) & ((before & rest_next) | (after & rest_prev))
            out[bridge] = PARTIAL
    return out
