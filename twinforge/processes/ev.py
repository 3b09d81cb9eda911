"""Electric-vehicle home charging: one possible session per local day.

Each local day the car is driven with probability ``drive_probability``; the distance is
lognormal with mean ``daily_km_mean / drive_probability`` (so that ``daily_km_mean`` is the
mean over all days). The energy to recharge accumulates as

.. math::  E_{need} \\leftarrow \\min(E_{need} + d\\,e_{km},\\; E_{batt})

(distance ``d`` [km] times consumption ``e_km`` [kWh km-1], capped at the battery size: the
excess is taken to be charged away from home). When the car comes home (a normal local
arrival hour, weekday or weekend law) it is plugged in with probability
``plug_in_probability``, and always when ``E_need`` reaches ``forced_plug_in_share`` of the
battery. It then charges at the constant ``charger_kw`` until ``E_need`` is delivered or the
car leaves the next morning; what is not delivered stays needed. The constant-voltage taper
near a full battery is not modelled. Every kilometre driven is eventually charged at home
unless the battery cap binds, so the long-run charging energy is
``daily_km_mean x 365.25 x kwh_per_km`` per year (times the share of days at home when the
household takes trips: a trip's driving is charged elsewhere).

Default mileage: about 12,000 km per car and year in the UK and France (UK DfT National
Travel Survey / MOT-based annual mileage 2019, ~7,400 miles; SDES "Bilan de la circulation"
2019, ~12,200 km), i.e. ~33 km a day, rounded to 35. Consumption 0.18 kWh/km at the meter:
real-world 0.15-0.19 kWh/km of mid-size BEVs at the battery plus about 10 % charging
losses. Arrival/departure laws and plug-in behaviour are hand-set.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from twinforge.core.calendar import LocalClock
from twinforge.core.timeline import StepSignal

__all__ = ["EVParams", "ev_process", "charging_session"]


class EVParams(BaseModel):
    """One electric vehicle and its owner's driving and charging habits.

    Attributes
    ----------
    battery_kwh : float
        Usable battery capacity [kWh].
    charger_kw : float
        Home charger power [kW] (7.4 kW: single-phase 32 A wallbox).
    daily_km_mean : float
        Mean distance driven per day, all days counted [km].
    daily_km_sigma : float
        Lognormal shape parameter of the distance on a driving day [1].
    kwh_per_km : float
        Consumption at the meter, charging losses included [kWh km-1].
    drive_probability : float
        Probability that the car is driven on a given day.
    weekday_arrival_h_mean, weekday_arrival_h_sd : float
        Local hour of the arrival home on weekdays (normal law, clipped to 12-23.9 h).
    weekend_arrival_h_mean, weekend_arrival_h_sd : float
        The same on Saturdays and Sundays.
    departure_h, departure_h_sd : float
        Local hour of the departure the next morning (normal, clipped to 3-11.5 h).
    plug_in_probability : float
        Probability of plugging in on arrival when not forced.
    forced_plug_in_share : float
        Share of the battery to recharge above which the car is always plugged in.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    battery_kwh: float = Field(60.0, ge=5.0, le=200.0, description="usable battery [kWh]")
    charger_kw: float = Field(7.4, ge=1.0, le=22.0, description="charging power [kW]")
    daily_km_mean: float = Field(35.0, ge=0.0, le=300.0, description="mean km per day [km]")
    daily_km_sigma: float = Field(0.6, ge=0.0, le=2.0, description="lognormal sigma of daily km")
    kwh_per_km: float = Field(0.18, ge=0.1, le=0.4, description="consumption [kWh km-1]")
    drive_probability: float = Field(0.85, gt=0.0, le=1.0, description="P(car used on a day)")
    weekday_arrival_h_mean: float = Field(18.0, ge=12.0, le=23.5, description="[h local]")
    weekday_arrival_h_sd: float = Field(1.5, ge=0.0, le=6.0, description="[h]")
    weekend_arrival_h_mean: float = Field(16.0, ge=12.0, le=23.5, description="[h local]")
    weekend_arrival_h_sd: float = Field(2.5, ge=0.0, le=6.0, description="[h]")
    departure_h: float = Field(7.5, ge=3.0, le=11.5, description="next-morning departure [h local]")
    departure_h_sd: float = Field(1.0, ge=0.0, le=4.0, description="[h]")
    plug_in_probability: float = Field(0.6, ge=0.0, le=1.0, description="P(plug in on arrival)")
    forced_plug_in_share: float = Field(
        0.5, ge=0.0, le=1.0, description="need/battery above which the car is always plugged"
    )


def charging_session(need_kwh: float, charger_kw: float, window_s: float) -> tuple[float, float]:
    """Duration [s] and energy [kWh] of a constant-power session.

    ``min(need / P, window)`` at power ``P``; the energy is exactly ``P x duration``.

    Examples
    --------
    >>> charging_session(14.8, 7.4, 36_000.0)
    (7200.0, 14.8)
    """
    if need_kwh <= 0.0 or window_s <= 0.0:
        return 0.0, 0.0
    dur = min(need_kwh / charger_kw * 3600.0, window_s)
    return dur, charger_kw * dur / 3600.0


def ev_process(
    env: Any,
    clock: LocalClock,
    params: EVParams,
    rng: np.random.Generator,
    power: StepSignal,
    log: Callable[..., Any],
    away: Callable[[float], bool] | None = None,
) -> Generator[Any, Any, None]:
    """SimPy process of an EV charged at home.

    Wakes once per local midnight, draws that day's driving, arrival, plug-in decision and
    the next morning's departure (a fixed number of draws per day), and writes the
    session, if any, ahead on ``power`` (``charger_kw x 1000`` W, else 0). The battery
    starts full. Days whose arrival falls before ``env.now`` (the start of the run) are
    skipped, and so are days whose arrival falls inside a household trip (``away``: the car
    is away with the household; its driving is charged elsewhere). One SimPy event per day.

    Parameters
    ----------
    env : simpy.Environment
    clock : LocalClock
    params : EVParams
    rng : numpy.random.Generator
    power : StepSignal
        Charging power [W].
    log : callable
        ``log(category="ev", type="ev_charging", start_s=, end_s=, energy_j=,
        need_kwh=)`` per session, at its start; ``need_kwh`` is the energy that was
        needed at plug-in.
    away : callable ``t_s -> bool``, optional
        Whether the household is away on a trip at engine time ``t_s`` [s].
    """
    p = params
    mean_drive_km = p.daily_km_mean / p.drive_probability
    sig = p.daily_km_sigma
    mu = math.log(mean_drive_km) - 0.5 * sig * sig if mean_drive_km > 0 else -math.inf
    charger_w = p.charger_kw * 1000.0
    need_kwh = 0.0
    start = float(env.now)
    last_end = -math.inf
    d0 = clock.midnight_at_or_before(start + 1e-3)
    while True:
        d1 = clock.next_local_midnight(d0 + 1.0)
        weekend = clock.is_weekend(d0 + 1.0)
        drives = rng.random() < p.drive_probability
        z = rng.standard_normal(3)
        u_plug = rng.random()
        km = math.exp(mu + sig * z[0]) if (drives and mean_drive_km > 0) else 0.0
        if weekend:
            arr_h = p.weekend_arrival_h_mean + p.weekend_arrival_h_sd * z[1]
        else:
            arr_h = p.weekday_arrival_h_mean + p.weekday_arrival_h_sd * z[1]
        arr_h = min(max(arr_h, 12.0), 23.9)
        dep_h = min(max(p.departure_h + p.departure_h_sd * z[2], 3.0), 11.5)
        arrival = clock.at_local_hour(d0, arr_h)
        if drives and arrival >= start and not (away is not None and away(arrival)):
            need_kwh = min(need_kwh + km * p.kwh_per_km, p.battery_kwh)
            forced = need_kwh >= p.forced_plug_in_share * p.battery_kwh
            plug = forced or u_plug < p.plug_in_probability
            if plug:
                departure = clock.at_local_hour(d1, dep_h)
                dur, energy_kwh = charging_session(need_kwh, p.charger_kw, departure - arrival)
                if dur > 0.0 and arrival >= last_end:
                    last_end = arrival + dur
                    power.set(arrival, charger_w)
                    power.set(arrival + dur, 0.0)
                    log(
                        category="ev", type="ev_charging", start_s=arrival, end_s=arrival + dur,
                        energy_j=charger_w * dur, need_kwh=need_kwh,
                    )
                    need_kwh = max(need_kwh - energy_kwh, 0.0)
        yield env.timeout(max(d1 - env.now, 0.0))
        d0 = d1
