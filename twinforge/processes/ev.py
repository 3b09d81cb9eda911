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

The cars of many homes are advanced day by day in a compiled loop by
:mod:`twinforge.components.ev`.

Default mileage: about 12,000 km per car and year in the UK and France (UK DfT National
Travel Survey / MOT-based annual mileage 2019, ~7,400 miles; SDES "Bilan de la circulation"
2019, ~12,200 km), i.e. ~33 km a day, rounded to 35. Consumption 0.18 kWh/km at the meter:
real-world 0.15-0.19 kWh/km of mid-size BEVs at the battery plus about 10 % charging
losses. Arrival/departure laws and plug-in behaviour are hand-set.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from twinforge.core.jit import njit

__all__ = ["EVParams", "charging_session"]


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
    daily_km_sigma: float = Field(0.6, ge=0.0, le=2.0, description="lognormal sigma of daily km [1]")
    kwh_per_km: float = Field(0.18, ge=0.1, le=0.4, description="consumption [kWh km-1]")
    drive_probability: float = Field(0.85, gt=0.0, le=1.0, description="P(car used on a day) [1]")
    weekday_arrival_h_mean: float = Field(18.0, ge=12.0, le=23.5, description="[h local]")
    weekday_arrival_h_sd: float = Field(1.5, ge=0.0, le=6.0, description="[h]")
    weekend_arrival_h_mean: float = Field(16.0, ge=12.0, le=23.5, description="[h local]")
    weekend_arrival_h_sd: float = Field(2.5, ge=0.0, le=6.0, description="[h]")
    departure_h: float = Field(7.5, ge=3.0, le=11.5, description="next-morning departure [h local]")
    departure_h_sd: float = Field(1.0, ge=0.0, le=4.0, description="[h]")
    plug_in_probability: float = Field(0.6, ge=0.0, le=1.0, description="P(plug in on arrival) [1]")
    forced_plug_in_share: float = Field(
        0.5, ge=0.0, le=1.0, description="need/battery above which the car is always plugged [1]"
    )


@njit
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
