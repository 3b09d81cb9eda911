"""Aggregate non-residential load: commercial and industrial customers behind one supply point.

A distribution feeder of homes is not a region: about two thirds of the electricity sold in
the United States goes to commercial and industrial customers (EIA, *Electric Power
Annual*, retail sales by sector: residential about 38 %, commercial 35 %, industrial 26 %),
whose load follows business hours and working days. This optional component of the grid
twin (``GridConfig.commercial``; off by default) adds that load as one aggregate,
proportional to the number of homes (``*_w_per_home``), so that a feeder can stand for a
regional load shape. It is a top-down *profile-plus-weather* model, in the spirit of the
change-point models of ASHRAE Guideline 14 (three- and five-parameter models: a base load
plus heating and cooling slopes above/below balance temperatures), not a building
simulation:

.. math::

    P(t) = N \\, f_d(t) \\Big[ b + B\\, o(t) + C \\,(\\kappa + (1 - \\kappa)\\, o(t))\\,
           (T_b(t) - T_c)^+ + H\\, (T_h - T_b(t))^+ \\Big]

- ``N``: homes on the feeder; ``b`` ``base_w_per_home`` (industry, around-the-clock
  services), ``B`` ``business_w_per_home`` (offices, shops, schools at full activity);
- ``o(t)`` in [0, 1]: the business activity, a smoothed trapezoid in local time rising over
  ``ramp_h`` centred on ``open_h`` and falling over ``close_ramp_h`` (default: ``ramp_h``)
  centred on ``close_h`` (raised-cosine ramps: no corner in the aggregate, which averages
  many openings; offices open together, while shops, restaurants and venues close over
  the evening, so the evening ramp may be the longer one), times
  1 on working days and ``weekend_factor`` on Saturdays, Sundays and (``holidays =
  "nerc"``) the six NERC holidays (New Year's Day, Memorial Day, Independence Day, Labor
  Day, Thanksgiving, Christmas; a Sunday holiday moves to Monday);
- ``T_b``: the buildings' temperature response, the outdoor temperature filtered by a
  first-order lag of time constant ``thermal_lag_h`` (thermal mass; exact exponential
  filter on the sub-step grid, state carried across blocks);
- ``C`` ``cooling_w_per_k_per_home`` above the balance temperature ``T_c``
  (``cooling_balance_c``; internal gains make it lower than a home's), scaled by the
  activity with a night/weekend floor ``kappa`` (``cooling_idle_share``); ``H``
  ``heating_w_per_k_per_home`` below ``T_h`` (electric heating is a small share of
  commercial heating in the eastern US);
- ``f_d(t)``: a day-to-day activity factor ``1 + day_sd * X``, ``X`` a stationary AR(1)
  across days (lag-1 correlation ``day_persistence``), interpolated linearly between UTC
  midnights so the load stays continuous; 1 with ``day_sd = 0``.

The load is taken at the feeder's supply point, upstream of the distribution transformer
(commercial and industrial customers have their own service transformers): it adds to
``feeder_power_w`` and does not load the feeder's transformer or cables. Its random draws
come from their own stream, so switching it on changes no other channel.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy import signal

from twinforge.core.calendar import LocalClock

__all__ = ["CommercialParams", "CommercialLoad", "business_activity", "nerc_holidays"]

_DAY_S = 86_400.0


class CommercialParams(BaseModel):
    """Aggregate commercial and industrial load of the grid twin (per home on the feeder).

    Defaults: the base and business loads make the non-residential load about 1.6 times the
    residential one on average, as in US retail sales (EIA Electric Power Annual: residential
    about 38 %, commercial 35 %, industrial 26 %); business hours 8:00-18:00 with ramps of
    three hours; the cooling and heating slopes and balance temperatures are round starting
    values of ASHRAE Guideline 14 change-point models for commercial buildings, meant to be
    calibrated (``twinforge calibrate``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_w_per_home: float = Field(
        900.0, ge=0.0, le=50_000.0, description="always-on non-residential load per home on the feeder [W]"
    )
    business_w_per_home: float = Field(
        700.0, ge=0.0, le=50_000.0, description="extra load at full business activity per home [W]"
    )
    open_h: float = Field(8.0, ge=0.0, le=24.0, description="local time of the middle of the morning ramp [h]")
    close_h: float = Field(18.0, ge=0.0, le=24.0, description="local time of the middle of the evening ramp [h]")
    ramp_h: float = Field(
        3.0, ge=0.0, le=8.0,
        description="duration of the morning ramp, and of the evening ramp without close_ramp_h [h]",
    )
    close_ramp_h: float | None = Field(
        None, ge=0.0, le=12.0, description="duration of the evening ramp if not ramp_h [h]"
    )
    weekend_factor: float = Field(
        0.3, ge=0.0, le=1.0, description="business activity on weekends and holidays, share of a working day [1]"
    )
    holidays: Literal["none", "nerc"] = Field(
        "none", description="'nerc': the six NERC holidays count as weekend days (US)"
    )
    cooling_w_per_k_per_home: float = Field(
        40.0, ge=0.0, le=5_000.0, description="cooling load per kelvin above the balance temperature, per home [W K-1]"
    )
    cooling_balance_c: float = Field(
        16.0, ge=-10.0, le=35.0, description="building temperature above which cooling starts [degC]"
    )
    cooling_idle_share: float = Field(
        0.4, ge=0.0, le=1.0, description="cooling outside business activity, share of the active cooling [1]"
    )
    heating_w_per_k_per_home: float = Field(
        5.0, ge=0.0, le=5_000.0, description="electric heating per kelvin below the balance temperature, per home [W K-1]"
    )
    heating_balance_c: float = Field(
        12.0, ge=-30.0, le=30.0, description="building temperature below which electric heating starts [degC]"
    )
    thermal_lag_h: float = Field(
        4.0, ge=0.0, le=240.0, description="time constant of the buildings' response to outdoor temperature [h]"
    )
    day_sd: float = Field(
        0.0, ge=0.0, le=0.5, description="standard deviation of the day-to-day activity factor [1]"
    )
    day_persistence: float = Field(
        0.6, ge=0.0, lt=1.0, description="lag-1 (day) autocorrelation of the activity factor [1]"
    )

    @model_validator(mode="after")
    def _hours(self) -> "CommercialParams":
        if not self.open_h + self.ramp_h / 2.0 <= self.close_h - self.evening_ramp_h / 2.0:
            raise ValueError("business hours need open_h + ramp_h/2 <= close_h - close_ramp_h/2"
                             " (close_ramp_h: ramp_h if not set)")
        if self.open_h - self.ramp_h / 2.0 < 0.0 or self.close_h + self.evening_ramp_h / 2.0 > 24.0:
            raise ValueError("business hours must lie within the local day: open_h - ramp_h/2 >= 0"
                             " and close_h + close_ramp_h/2 <= 24 (close_ramp_h: ramp_h if not set)")
        if self.heating_balance_c > self.cooling_balance_c:
            raise ValueError("heating_balance_c must not exceed cooling_balance_c")
        return self

    @property
    def evening_ramp_h(self) -> float:
        """Duration of the evening ramp [h]: ``close_ramp_h``, or ``ramp_h`` if it is not set."""
        return self.ramp_h if self.close_ramp_h is None else self.close_ramp_h


def nerc_holidays(years: range) -> set[pd.Timestamp]:
    """The six NERC holidays of ``years`` (dates; a Sunday holiday is observed on Monday).

    New Year's Day, Memorial Day (last Monday of May), Independence Day, Labor Day (first
    Monday of September), Thanksgiving (fourth Thursday of November), Christmas Day.
    """
    from pandas.tseries.holiday import (
        Holiday, USLaborDay, USMemorialDay, USThanksgivingDay, sunday_to_monday,
    )

    rules = [
        Holiday("New Year's Day", month=1, day=1, observance=sunday_to_monday),
        USMemorialDay,
        Holiday("Independence Day", month=7, day=4, observance=sunday_to_monday),
        USLaborDay,
        USThanksgivingDay,
        Holiday("Christmas Day", month=12, day=25, observance=sunday_to_monday),
    ]
    out: set[pd.Timestamp] = set()
    start, end = pd.Timestamp(years.start, 1, 1), pd.Timestamp(years.stop - 1, 12, 31)
    for rule in rules:
        out.update(pd.Timestamp(d).normalize() for d in rule.dates(start, end))
    return out


def business_activity(hour: np.ndarray, working: np.ndarray, p: CommercialParams) -> np.ndarray:
    """Business activity ``o`` in [0, 1] at local ``hour`` [h]; ``working`` day flags.

    A smoothed trapezoid: 0 before ``open_h - ramp_h/2``, a raised-cosine ramp up to 1 at
    ``open_h + ramp_h/2``, 1 until ``close_h - rc/2``, a raised-cosine ramp down to 0 at
    ``close_h + rc/2`` (``rc``: ``close_ramp_h``, or ``ramp_h`` if it is not set; each ramp
    passes 0.5 at its centre); times 1 on working days and ``weekend_factor`` otherwise.
    """
    h = np.asarray(hour, dtype=np.float64)

    def ramp(x: np.ndarray, width: float) -> np.ndarray:  # 0 -> 1 as x goes -width/2 -> width/2
        if width > 0:
            return 0.5 - 0.5 * np.cos(np.pi * np.clip(x / width + 0.5, 0.0, 1.0))
        return (x >= 0).astype(np.float64)

    up = ramp(h - p.open_h, p.ramp_h)
    down = 1.0 - ramp(h - p.close_h, p.evening_ramp_h)
    return np.minimum(up, down) * np.where(np.asarray(working, dtype=bool), 1.0, p.weekend_factor)


class CommercialLoad:
    """The non-residential load of one feeder run, block by block.

    Parameters
    ----------
    params : CommercialParams
    n_homes : int
        Homes on the feeder (the load scales with them).
    clock : LocalClock
        Local time of the region.
    rng : numpy.random.Generator
        Its own stream (day-to-day factor).
    dt_s : float
        Sub-step [s] of the blocks passed to :meth:`power_w`.
    """

    def __init__(self, params: CommercialParams, n_homes: int, clock: LocalClock,
                 rng: np.random.Generator, dt_s: float) -> None:
        self.p, self.n, self.clock, self.rng, self.dt = params, int(n_homes), clock, rng, float(dt_s)
        tau = params.thermal_lag_h * 3600.0
        self._alpha = 1.0 if tau <= 0 else 1.0 - math.exp(-self.dt / tau)
        self._t_build: float | None = None
        self._day_x: list[float] = []  # AR(1) values at UTC midnights from the first day
        self._day0 = math.floor(clock.epoch_s / _DAY_S)
        self._holidays: set[pd.Timestamp] = set()
        self._holiday_years: set[int] = set()

    # -- calendar ---------------------------------------------------------------------
    def working_day(self, t_s: np.ndarray) -> np.ndarray:
        """Whether the local day at each engine time is a working day (not weekend/holiday)."""
        local = self.clock.local_times(t_s)
        working = np.asarray(local.day_of_week < 5)
        if self.p.holidays == "nerc":
            days = local.tz_localize(None).normalize()
            years = set(int(y) for y in np.unique(days.year))
            if not years <= self._holiday_years:
                self._holiday_years |= years
                self._holidays = nerc_holidays(range(min(self._holiday_years), max(self._holiday_years) + 1))
            working &= ~np.asarray(days.isin(list(self._holidays)))
        return working

    def _day_factor(self, t_s: np.ndarray) -> np.ndarray:
        if self.p.day_sd == 0.0:
            return np.ones_like(t_s)
        rho = self.p.day_persistence
        days = (self.clock.epoch_s + t_s) / _DAY_S - self._day0
        need = int(math.floor(days.max())) + 2
        while len(self._day_x) < need:
            prev = self._day_x[-1] if self._day_x else None
            e = float(self.rng.standard_normal())
            self._day_x.append(e if prev is None else rho * prev + math.sqrt(1.0 - rho * rho) * e)
        x = np.interp(days, np.arange(len(self._day_x), dtype=np.float64), np.asarray(self._day_x))
        return np.maximum(0.0, 1.0 + self.p.day_sd * x)

    # -- power ------------------------------------------------------------------------
    def building_temp_c(self, temp_out_c: np.ndarray) -> np.ndarray:
        """First-order lag of the outdoor temperature over consecutive sub-steps (stateful)."""
        x = np.asarray(temp_out_c, dtype=np.float64)
        if x.size == 0:
            return x
        a = self._alpha
        y0 = float(x[0]) if self._t_build is None else self._t_build
        # exact exponential filter of a piecewise-constant input: y[k] = y[k-1] + a (x[k] - y[k-1])
        out, _ = signal.lfilter([a], [1.0, a - 1.0], x, zi=[(1.0 - a) * y0])
        self._t_build = float(out[-1])
        return out

    def power_w(self, t_s: np.ndarray, temp_out_c: np.ndarray) -> np.ndarray:
        """Load [W] at the sub-steps starting at ``t_s`` (consecutive, one block after another).

        ``temp_out_c`` is the outdoor temperature over each sub-step.
        """
        p = self.p
        t_s = np.asarray(t_s, dtype=np.float64)
        o = business_activity(self.clock.hour_of_day_array(t_s), self.working_day(t_s), p)
        tb = self.building_temp_c(temp_out_c)
        cool = p.cooling_w_per_k_per_home * (p.cooling_idle_share + (1.0 - p.cooling_idle_share) * o) \
            * np.maximum(0.0, tb - p.cooling_balance_c)
        heat = p.heating_w_per_k_per_home * np.maximum(0.0, p.heating_balance_c - tb)
        per_home = p.base_w_per_home + p.business_w_per_home * o + cool + heat
        return self.n * self._day_factor(t_s) * per_home
