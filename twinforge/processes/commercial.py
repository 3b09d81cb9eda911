"""Non-residential load: commercial, industrial and agricultural customers behind one supply point.

A distribution feeder of homes is not a region: about two thirds of the electricity sold in
the United States goes to commercial and industrial customers (EIA, *Electric Power
Annual*, retail sales by sector: residential about 38 %, commercial 35 %, industrial 26 %),
whose load follows working hours, working days and the country's holidays, and rises every
working morning whatever the weather. This optional component of the grid twin
(``GridConfig.commercial``; off by default) adds that load as a mix of **customer
classes**, each with its own day shape by day type, its own level and its own weather
response, proportional to the number of homes on the feeder (``*_per_home``), so that a
feeder can stand for a regional load shape.

For class ``c`` with day shape ``s_c`` (mean 1 over a working day), activity ``a_c`` in
[0, 1] and level ``L_c`` (``w_per_home``):

.. math::

    P(t) = N \\, f_d(t) \\sum_c \\Big[ L_c\\, s_c(t) + C_c \\,(\\kappa_c + (1 - \\kappa_c)\\, a_{h,c}(t))\\,
           (T_b(t) + G_c\\, a_c(t) - T_{c,c})^+ + H_c\\, (T_{h,c} - G_c\\, a_c(t) - T_b(t))^+ \\Big]

Day shapes (``profile``):

- ``"bdew_g25"``: the German standard load profile G25 for businesses (BDEW 2025 revision,
  from 2022-2023 metering), 96 quarter-hours for each month and day type (working day,
  Saturday, Sunday/holiday), read through `demandlib <https://github.com/oemof/demandlib>`_;
- ``"bdew_l25"``: the BDEW 2025 profile L25 for agriculture (a morning and an evening peak);
- ``"hours"``: a parametric schedule for any other class (industry with one, two or three
  shifts, offices with known hours): ``off_share`` outside the hours, a raised-cosine ramp of
  ``ramp_h`` centred on ``open_h`` up to full activity and one of ``close_ramp_h`` centred on
  ``close_h`` down again; on partial days and days of rest the activity above ``off_share``
  is scaled by ``partial_day_share`` and ``rest_day_share``.

The BDEW shapes are normalised month by month (each month's working-day mean is 1): they
carry the German day shapes and day-type levels, not the German seasons, which the
classes' weather response replaces. Day types come from the region's calendar
(:mod:`twinforge.processes.calendar`: weekend days and public holidays per country): a
Friday-Saturday weekend gets the Saturday shape on Friday and the Sunday shape on Saturday.

- ``T_b``: the buildings' temperature, the outdoor temperature through a first-order lag of
  time constant ``thermal_lag_h`` (thermal mass; exact exponential filter on the sub-step
  grid, state carried across blocks); cooling ``C_c`` per kelvin above ``cooling_balance_c``
  scaled by the activity with a floor ``kappa_c`` (``cooling_idle_share``), electric
  heating ``H_c`` per kelvin below ``heating_balance_c``: the three- and five-parameter
  change-point models of ASHRAE Guideline 14;
- ``G_c`` (``occupied_gain_k`` [K], default 0): the internal gains of an occupied building
  (people, equipment, lighting) lower both balance temperatures by ``G_c a_c(t)`` while the
  class is active, as the separate occupied and unoccupied change-point models of ASHRAE
  Guideline 14 do: an office needs cooling from its opening hour on a mild morning, and less
  heating while it is open. With ``G_c = 0`` the balance temperatures are fixed;
- ``P_c`` (``preconditioning_h`` [h], default 0): the buildings' HVAC starts before the
  occupants (optimum start, ASHRAE Guideline 36 morning warm-up / cool-down): the cooling
  term follows the HVAC activity ``a_{h,c}(t) = max(a_c(t), a_c(t + P_c))`` instead of
  ``a_c(t)`` (``t + P_c`` taken within the same local day, the last quarter-hour at most),
  so cooling load rises ``P_c`` hours ahead of the day shape's morning ramp; the internal
  gains stay with the occupancy ``a_c(t)``. With ``P_c = 0``, ``a_{h,c} = a_c``;
- ``f_d(t)``: a day-to-day activity factor ``1 + day_sd * X``, ``X`` a stationary AR(1)
  across days (lag-1 correlation ``day_persistence``), interpolated linearly between UTC
  midnights; 1 with ``day_sd = 0``.

The load is taken at the feeder's supply point, upstream of the distribution transformer
(commercial and industrial customers have their own service transformers): it adds to
``feeder_power_w`` and does not load the feeder's transformer or cables. Its random draws
come from their own stream, so switching it on changes no other channel.

References: BDEW, *Standardlastprofile Strom*, 2025 revision (G25, L25); ASHRAE Guideline
14-2014, *Measurement of Energy, Demand, and Water Savings*, change-point models.
"""

from __future__ import annotations

import functools
import math
import warnings
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy import signal

from twinforge.core.calendar import LocalClock
from twinforge.processes.calendar import PARTIAL, REST, CalendarParams, day_types

__all__ = ["CommercialParams", "CommercialLoad", "LoadClass", "StandardProfileClass", "HoursClass",
           "standard_profile", "hours_activity", "STANDARD_PROFILES"]

_DAY_S = 86_400.0

#: Standard load profiles by name: the demandlib class that yields them.
STANDARD_PROFILES = {"bdew_g25": "G25", "bdew_l25": "L25"}


class _WeatherResponse(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cooling_w_per_k_per_home: float = Field(
        0.0, ge=0.0, le=5_000.0, description="cooling per kelvin above the balance temperature, per home [W K-1]"
    )
    cooling_balance_c: float = Field(
        16.0, ge=-10.0, le=35.0, description="building temperature above which cooling starts [degC]"
    )
    cooling_idle_share: float = Field(
        0.4, ge=0.0, le=1.0, description="cooling at zero activity, share of the cooling at full activity [1]"
    )
    heating_w_per_k_per_home: float = Field(
        0.0, ge=0.0, le=5_000.0, description="electric heating per kelvin below the balance temperature, per home [W K-1]"
    )
    heating_balance_c: float = Field(
        12.0, ge=-30.0, le=30.0, description="building temperature below which electric heating starts [degC]"
    )
    occupied_gain_k: float = Field(
        0.0, ge=0.0, le=15.0,
        description="internal gains at full activity: both balance temperatures lowered by this times the activity [K]",
    )
    preconditioning_h: float = Field(
        0.0, ge=0.0, le=6.0,
        description="HVAC start ahead of the occupants: cooling follows the activity this far ahead, same day [h]",
    )

    @model_validator(mode="after")
    def _balance(self):
        if self.heating_balance_c > self.cooling_balance_c:
            raise ValueError("heating_balance_c must not exceed cooling_balance_c")
        return self


class StandardProfileClass(_WeatherResponse):
    """A customer class shaped by a standard load profile (BDEW G25 or L25)."""

    profile: Literal["bdew_g25", "bdew_l25"]
    w_per_home: float = Field(
        ..., ge=0.0, le=50_000.0, description="working-day mean power without weather, per home on the feeder [W]"
    )
    rest_day_scale: float = Field(
        1.0, ge=0.0, le=3.0, description="factor on the profile's Saturday and Sunday/holiday levels [1]"
    )


class HoursClass(_WeatherResponse):
    """A customer class with a parametric schedule (industry in shifts, offices with set hours)."""

    profile: Literal["hours"]
    w_per_home: float = Field(
        ..., ge=0.0, le=50_000.0, description="working-day mean power without weather, per home on the feeder [W]"
    )
    open_h: float = Field(8.0, ge=0.0, le=24.0, description="local time of the middle of the morning ramp [h]")
    close_h: float = Field(18.0, ge=0.0, le=24.0, description="local time of the middle of the evening ramp [h]")
    ramp_h: float = Field(2.0, ge=0.0, le=8.0, description="duration of the morning ramp [h]")
    close_ramp_h: float = Field(2.0, ge=0.0, le=12.0, description="duration of the evening ramp [h]")
    off_share: float = Field(
        0.3, ge=0.0, le=1.0, description="load outside the hours, share of the load at full activity [1]"
    )
    partial_day_share: float = Field(
        0.5, ge=0.0, le=1.0, description="activity on partial days (Saturdays, bridge days), share of a working day [1]"
    )
    rest_day_share: float = Field(
        0.2, ge=0.0, le=1.0, description="activity on days of rest (Sundays, holidays), share of a working day [1]"
    )

    @model_validator(mode="after")
    def _hours(self) -> "HoursClass":
        if not self.open_h + self.ramp_h / 2.0 <= self.close_h - self.close_ramp_h / 2.0:
            raise ValueError("hours need open_h + ramp_h/2 <= close_h - close_ramp_h/2")
        if self.open_h - self.ramp_h / 2.0 < 0.0 or self.close_h + self.close_ramp_h / 2.0 > 24.0:
            raise ValueError("hours must lie within the local day: open_h - ramp_h/2 >= 0 and "
                             "close_h + close_ramp_h/2 <= 24")
        return self


#: One customer class: a standard profile or a parametric schedule (``profile`` says which).
LoadClass = Annotated[StandardProfileClass | HoursClass, Field(discriminator="profile")]


class CommercialParams(BaseModel):
    """Non-residential load of the grid twin: customer classes (per home on the feeder).

    ``classes`` maps a name of your choice (``commercial``, ``industry``, ``agriculture``)
    to a class. The default is one BDEW G25 business class whose level makes the
    non-residential load about 1.6 times the residential one on average, as in US retail
    sales (EIA Electric Power Annual), with round ASHRAE Guideline 14 change-point slopes;
    meant to be calibrated (``twinforge calibrate``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    classes: dict[str, LoadClass] = Field(
        default_factory=lambda: {"commercial": StandardProfileClass(
            profile="bdew_g25", w_per_home=1600.0, cooling_w_per_k_per_home=40.0, heating_w_per_k_per_home=5.0)},
        description="customer classes by name",
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
    def _some(self) -> "CommercialParams":
        if not self.classes:
            raise ValueError("commercial.classes: give at least one customer class")
        return self


@functools.lru_cache(maxsize=4)
def standard_profile(name: str) -> np.ndarray:
    """A standard load profile as a table: ndarray of shape (12, 3, 96), read-only.

    ``[month - 1, day type, quarter-hour]`` (day types: 0 working day, 1 Saturday, 2
    Sunday/holiday), each month divided by its working-day mean (so a working day averages
    1). From demandlib's BDEW 2025 profiles over a year of Mondays-to-Sundays.
    """
    if name not in STANDARD_PROFILES:
        raise ValueError(f"unknown standard profile {name!r}; known: {', '.join(STANDARD_PROFILES)}")
    import pandas as pd
    from demandlib import bdew

    idx = pd.date_range("2023-01-01", "2024-01-01", freq="15min", inclusive="left")
    with warnings.catch_warnings():  # demandlib's own pandas deprecations are not the user's concern
        warnings.simplefilter("ignore")
        values = getattr(bdew, STANDARD_PROFILES[name])(idx, holidays=[]).to_numpy(dtype=np.float64)
    month = idx.month.to_numpy() - 1
    kind = np.select([idx.day_of_week.to_numpy() < 5, idx.day_of_week.to_numpy() == 5], [0, 1], 2)
    quarter = (idx.hour.to_numpy() * 4 + idx.minute.to_numpy() // 15)
    sums = np.zeros((12, 3, 96))
    counts = np.zeros((12, 3, 96))
    np.add.at(sums, (month, kind, quarter), values)
    np.add.at(counts, (month, kind, quarter), 1.0)
    table = sums / counts
    table /= table[:, 0, :].mean(axis=1)[:, None, None]
    table.flags.writeable = False
    return table


def hours_activity(hour: np.ndarray, p: HoursClass) -> np.ndarray:
    """Activity of an ``hours`` class on a working day at local ``hour`` [h], in [0, 1].

    0 before ``open_h - ramp_h/2``, a raised-cosine ramp up to 1 at ``open_h + ramp_h/2``,
    1 until ``close_h - close_ramp_h/2``, a raised-cosine ramp down to 0 at ``close_h +
    close_ramp_h/2`` (each ramp passes 0.5 at its centre).
    """
    h = np.asarray(hour, dtype=np.float64)

    def ramp(x: np.ndarray, width: float) -> np.ndarray:  # 0 -> 1 as x goes -width/2 -> width/2
        if width > 0:
            return 0.5 - 0.5 * np.cos(np.pi * np.clip(x / width + 0.5, 0.0, 1.0))
        return (x >= 0).astype(np.float64)

    return np.minimum(ramp(h - p.open_h, p.ramp_h), 1.0 - ramp(h - p.close_h, p.close_ramp_h))


def _hours_shape(hour: np.ndarray, kind: np.ndarray, p: HoursClass) -> tuple[np.ndarray, np.ndarray]:
    """Day shape (working-day mean 1) and activity in [0, 1] of an ``hours`` class."""
    o = hours_activity(hour, p)
    scale = np.where(kind == REST, p.rest_day_share, np.where(kind == PARTIAL, p.partial_day_share, 1.0))
    activity = o * scale
    h = (np.arange(96) + 0.5) / 4.0
    wd_mean = p.off_share + (1.0 - p.off_share) * float(hours_activity(h, p).mean())
    shape = (p.off_share + (1.0 - p.off_share) * activity) / wd_mean if wd_mean > 0 else np.zeros_like(o)
    return shape, activity


def _standard_shape(month: np.ndarray, kind: np.ndarray, quarter: np.ndarray,
                    p: StandardProfileClass) -> tuple[np.ndarray, np.ndarray]:
    """Day shape (working-day mean 1) and activity in [0, 1] (shape / its largest value)."""
    table = standard_profile(p.profile)
    shape = table[month, kind, quarter] * np.where(kind == 0, 1.0, p.rest_day_scale)
    return shape, shape / float(table.max() * max(1.0, p.rest_day_scale))


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
    calendar : CalendarParams, optional
        Weekend days and holidays of the region (default: Saturday-Sunday, no holiday).
    """

    def __init__(self, params: CommercialParams, n_homes: int, clock: LocalClock,
                 rng: np.random.Generator, dt_s: float, calendar: CalendarParams | None = None) -> None:
        self.p, self.n, self.clock, self.rng, self.dt = params, int(n_homes), clock, rng, float(dt_s)
        self.calendar = CalendarParams() if calendar is None else calendar
        tau = params.thermal_lag_h * 3600.0
        self._alpha = 1.0 if tau <= 0 else 1.0 - math.exp(-self.dt / tau)
        self._t_build: float | None = None
        self._day_x: list[float] = []  # AR(1) values at UTC midnights from the first day
        self._day0 = math.floor(clock.epoch_s / _DAY_S)

    # -- calendar ---------------------------------------------------------------------
    def day_type(self, t_s: np.ndarray) -> np.ndarray:
        """Day type (0 working, 1 partial, 2 rest) of the local day at each engine time."""
        local = self.clock.local_times(t_s)
        return day_types(local.tz_localize(None).to_numpy().astype("datetime64[D]"), self.calendar)

    def working_day(self, t_s: np.ndarray) -> np.ndarray:
        """Whether the local day at each engine time is a working day."""
        return self.day_type(t_s) == 0

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

    def power_by_class_w(self, t_s: np.ndarray, temp_out_c: np.ndarray) -> dict[str, np.ndarray]:
        """Load of each class [W] at the sub-steps starting at ``t_s`` (consecutive blocks).

        ``temp_out_c`` is the outdoor temperature over each sub-step. Each array has the
        shape of ``t_s``; their sum is :meth:`power_w`.
        """
        t_s = np.asarray(t_s, dtype=np.float64)
        local = self.clock.local_times(t_s)
        kind = day_types(local.tz_localize(None).to_numpy().astype("datetime64[D]"), self.calendar)
        hour = np.asarray(local.hour + local.minute / 60.0 + local.second / 3600.0, dtype=np.float64)
        month = np.asarray(local.month, dtype=np.int64) - 1
        quarter = np.minimum((hour * 4.0).astype(np.int64), 95)
        tb = self.building_temp_c(temp_out_c)
        factor = self.n * self._day_factor(t_s)
        out = {}
        for name, c in self.p.classes.items():
            if isinstance(c, HoursClass):
                shape, act = _hours_shape(hour, kind, c)
            else:
                shape, act = _standard_shape(month, kind, quarter, c)
            act_hvac = act
            if c.preconditioning_h > 0.0:  # HVAC activity: the occupancy P_c hours ahead, same local day
                ahead = np.minimum(hour + c.preconditioning_h, 24.0 - 1e-9)
                if isinstance(c, HoursClass):
                    _, act_ahead = _hours_shape(ahead, kind, c)
                else:
                    _, act_ahead = _standard_shape(month, kind, np.minimum((ahead * 4.0).astype(np.int64), 95), c)
                act_hvac = np.maximum(act, act_ahead)
            t_eff = tb + c.occupied_gain_k * act if c.occupied_gain_k > 0.0 else tb  # internal gains [degC]
            cool = c.cooling_w_per_k_per_home * (c.cooling_idle_share + (1.0 - c.cooling_idle_share) * act_hvac) \
                * np.maximum(0.0, t_eff - c.cooling_balance_c)
            heat = c.heating_w_per_k_per_home * np.maximum(0.0, c.heating_balance_c - t_eff)
            out[name] = factor * (c.w_per_home * shape + cool + heat)
        return out

    def power_w(self, t_s: np.ndarray, temp_out_c: np.ndarray) -> np.ndarray:
        """Total non-residential load [W] at the sub-steps starting at ``t_s``."""
        parts = self.power_by_class_w(t_s, temp_out_c)
        return np.sum(np.stack(list(parts.values())), axis=0)
