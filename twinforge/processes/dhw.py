"""Domestic hot water: an electric storage water heater (optional home component).

The tank is one fully mixed store whose heat above the cold-water temperature is

.. math::  E = \\rho c\\, V\\, (T - T_{cold}),\\qquad E_{full} = \\rho c\\, V\\,(T_{set} - T_{cold})

Hot-water draws are instantaneous withdrawals of ``rho c x litres x (T_use - T_cold)``
(the volume is counted at the use temperature, 40 degC, after a mixing valve), delivered
only while the tank holds that much heat. The standby loss is taken at the setpoint,
``L = UA (T_set - T_ambient)`` (a stratified tank keeps its top near the setpoint), and
stops when the tank is cold (``E = 0``). Between two events the stored heat is therefore
linear in time,

.. math::  dE/dt = P_{el}\\,[\\text{on}] - L,

so the switch times are solved exactly: the element (constant ``element_w``) switches on
when ``E`` falls to the thermostat's lower threshold ``E_full - rho c V deadband`` *and*
the off-peak window allows it (or when the window opens with the tank below that
threshold), and off when the tank is full or the window closes (the tariff relay of a
French "heures creuses" contract cuts the heater). Events: draws, window edges, local
midnights and threshold crossings, never one per sample. Energy is conserved exactly:
element energy = delivered draws + standby losses + change of stored heat.

Draws (hand-set): each occupant, each local day, takes one shower (55 % of their volume,
in the morning with probability ``morning_shower_share``, default 0.6, else in the evening)
and four small draws (sinks, kitchen) around the morning, midday and evening; the
occupant's daily volume is lognormal around ``draw_l_per_occupant_day``. The draws follow
the household's weekday routine (the occupancy's ``wake_h`` and ``bed_h``,
:func:`day_draw_hours`): the weekday morning shower at ``wake_h +
shower_delay_h`` with an SD of ``shower_sd_h`` (weekends 1.5 h later, 1.5 x the SD, as the
routine's weekend wake-up is 1 h later), the evening shower 2.4 h before bedtime (SD
1.5 h), the small draws 0.5 h after waking (SD 1 h), at 12:30 (1 h) and 3.4 h before
bedtime (1.5 h); with the default routine (up at 07:00, in bed at 22:54) that is 07:00,
08:30 at weekends, 20:30, 07:30, 12:30 and 19:30.
A draw happens only if somebody is at home at that time, so the delivered volume is a
bit below ``n_occupants x draw_l_per_occupant_day``.

Defaults: 200 L tank and 2.4 kW element (common French resistive storage heaters,
150-300 L, 1.8-3 kW); setpoint 60 degC (above the 55 degC usually advised against
Legionella); cold water 12 degC (annual mean of mains water, hand-set); 45 L/day at
40 degC per person, hand-set inside the 40-50 L/person/day usually quoted for French homes
(ADEME guidance); for scale, the EN 16147 "M" tapping profile (Regulation (EU) 814/2013,
Annex III) is 5.845 kWh of useful heat a day, i.e. about 2 occupants here. Standby loss
1.6 W/K: about 1.7 kWh per 24 h for a 200 L tank at 65 degC in a 20 degC room, the order
of the standing losses measured on such tanks (EN 60379), hand-set.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from twinforge.core.jit import njit
from twinforge.processes.occupancy import OccupancyParams

__all__ = ["WATER_J_PER_L_K", "DHWParams", "day_draw_hours", "day_draws"]

#: Volumetric heat capacity of water [J L-1 K-1].
WATER_J_PER_L_K = 4186.0
_SHOWER_SHARE = 0.55
_N_SMALL = 4


class DHWParams(BaseModel):
    """An electric storage water heater and the household's hot-water use.

    Attributes
    ----------
    tank_l : float
        Tank volume [L].
    element_w : float
        Electric element power [W].
    setpoint_c, deadband_k : float
        Thermostat setpoint [degC] and the drop below it that switches the element on [K].
    cold_water_c, use_temp_c, ambient_c : float
        Cold mains water, mixed use temperature and the tank's room [degC].
    draw_l_per_occupant_day : float
        Mean hot-water volume per occupant and day, at ``use_temp_c`` [L d-1].
    draw_sigma : float
        Lognormal sigma of an occupant's daily volume [1].
    morning_shower_share : float
        Probability that an occupant's daily shower is taken in the morning rather than
        the evening [1].
    shower_delay_h, shower_sd_h : float
        Centre of the weekday morning shower after the household's wake-up time [h] and
        its standard deviation [h] (weekends: 1.5 h later and 1.5 x the SD).
    loss_w_per_k : float
        Standby loss coefficient of the tank [W K-1].
    offpeak_window_h : (float, float) or None
        Local hours ``(start, end)`` when the tariff relay lets the element run (may wrap
        midnight, e.g. ``(22, 6)``); None: always allowed.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    tank_l: float = Field(200.0, ge=30.0, le=500.0, description="tank volume [L]")
    element_w: float = Field(2400.0, ge=500.0, le=6000.0, description="element power [W]")
    setpoint_c: float = Field(60.0, ge=40.0, le=85.0, description="thermostat setpoint [degC]")
    deadband_k: float = Field(5.0, ge=0.5, le=30.0, description="drop below setpoint that starts heating [K]")
    cold_water_c: float = Field(12.0, ge=2.0, le=25.0, description="cold mains water [degC]")
    use_temp_c: float = Field(40.0, ge=30.0, le=55.0, description="temperature of the mixed draws [degC]")
    ambient_c: float = Field(20.0, ge=0.0, le=35.0, description="air around the tank [degC]")
    draw_l_per_occupant_day: float = Field(
        45.0, ge=0.0, le=300.0, description="hot water per occupant per day at use_temp_c [L d-1]"
    )
    draw_sigma: float = Field(0.3, ge=0.0, le=1.5, description="lognormal sigma of daily volume [1]")
    morning_shower_share: float = Field(
        0.6, ge=0.0, le=1.0, description="probability that an occupant's shower is in the morning [1]"
    )
    shower_delay_h: float = Field(
        0.0, ge=-2.0, le=3.0, description="weekday morning shower's centre after waking [h]"
    )
    shower_sd_h: float = Field(
        1.0, ge=0.0, le=3.0, description="SD of the weekday morning shower time [h]"
    )
    loss_w_per_k: float = Field(1.6, ge=0.0, le=10.0, description="standby loss coefficient [W K-1]")
    offpeak_window_h: tuple[float, float] | None = Field(
        None, description="local (start, end) hours the element may run; None = always"
    )

    @model_validator(mode="after")
    def _physical(self) -> DHWParams:
        if self.setpoint_c - self.deadband_k <= self.cold_water_c:
            raise ValueError("setpoint_c - deadband_k must exceed cold_water_c")
        if not self.cold_water_c < self.use_temp_c <= self.setpoint_c:
            raise ValueError("need cold_water_c < use_temp_c <= setpoint_c")
        if self.element_w <= self.loss_w:
            raise ValueError("element_w must exceed the standby loss at the setpoint")
        if self.offpeak_window_h is not None:
            a, b = self.offpeak_window_h
            if not (0.0 <= a < 24.0 and 0.0 <= b < 24.0) or a == b:
                raise ValueError("offpeak_window_h needs two different hours in [0, 24)")
        return self

    @property
    def capacity_j_per_k(self) -> float:
        return WATER_J_PER_L_K * self.tank_l

    @property
    def full_j(self) -> float:
        """Stored heat of a full tank above cold water [J]."""
        return self.capacity_j_per_k * (self.setpoint_c - self.cold_water_c)

    @property
    def low_j(self) -> float:
        """Stored heat at which the thermostat calls for heat [J]."""
        return self.capacity_j_per_k * (self.setpoint_c - self.deadband_k - self.cold_water_c)

    @property
    def loss_w(self) -> float:
        """Standby loss [W] (at the setpoint, never negative)."""
        return max(self.loss_w_per_k * (self.setpoint_c - self.ambient_c), 0.0)

    @property
    def j_per_l(self) -> float:
        """Heat of one litre drawn at the use temperature [J L-1]."""
        return WATER_J_PER_L_K * (self.use_temp_c - self.cold_water_c)

    def allowed(self, hour: float) -> bool:
        """Whether the element may run at local ``hour``."""
        if self.offpeak_window_h is None:
            return True
        a, b = self.offpeak_window_h
        return (a <= hour < b) if a < b else (hour >= a or hour < b)


#: The evening shower's centre before bedtime [h] and its SD [h] (the small draws: 0.5 h
#: after waking with SD 1 h, 12:30 with SD 1 h, 3.4 h before bedtime with SD 1.5 h).
_EVENING_SHOWER_H, _EVENING_SHOWER_SD_H = -2.4, 1.5
#: The weekend shower: later and more spread than the weekday one.
_WEEKEND_DELAY_H, _WEEKEND_SD_FACTOR = 1.5, 1.5
#: ``OccupancyParams``' default weekday wake-up and bedtime [local h].
_DEFAULT_ROUTINE_H = (OccupancyParams.model_fields["wake_h"].default,
                      OccupancyParams.model_fields["bed_h"].default)


#: Random numbers one occupant's day of draws takes: normals (volume, shower time, the small
#: draws' times) and uniforms (morning or evening shower, which small draw).
Z_PER_OCCUPANT = 2 + _N_SMALL
U_PER_OCCUPANT = 1 + _N_SMALL


@njit
def day_draw_hours(litres_day, sigma, morning_share, delay_h, sd_h, n_occ, weekend, wake_h, bed_h, z, u,
                   hours_out, litres_out):
    """One local day's draws of a household, sorted by hour; returns their count.

    Occupant ``o`` uses the normals ``z[o * Z_PER_OCCUPANT : (o + 1) * Z_PER_OCCUPANT]`` and the
    uniforms ``u[o * U_PER_OCCUPANT : ...]``: a lognormal daily volume, a shower in the morning
    (``wake_h + delay_h``, SD ``sd_h``; weekends 1.5 h later and 1.5 x the SD) or the evening
    (2.4 h before ``bed_h``, SD 1.5 h), and four small draws, each after waking, at 12:30 or
    before bedtime (module docstring). Hours are local [h], clipped to [0, 23.99]; litres at
    the use temperature. Compiled (:mod:`twinforge.core.jit`).
    """
    if weekend:
        m_mu = wake_h + _WEEKEND_DELAY_H + delay_h
        m_sd = _WEEKEND_SD_FACTOR * sd_h
    else:
        m_mu = wake_h + delay_h
        m_sd = sd_h
    n = n_occ * (1 + _N_SMALL)
    hours = np.empty(n)
    vols = np.empty(n)
    k = 0
    for o in range(n_occ):
        zo = z[o * Z_PER_OCCUPANT:(o + 1) * Z_PER_OCCUPANT]
        uo = u[o * U_PER_OCCUPANT:(o + 1) * U_PER_OCCUPANT]
        vol = litres_day * math.exp(sigma * zo[0] - 0.5 * sigma * sigma)
        if uo[0] < morning_share:
            hours[k] = m_mu + m_sd * zo[1]
        else:
            hours[k] = bed_h + _EVENING_SHOWER_H + _EVENING_SHOWER_SD_H * zo[1]
        vols[k] = _SHOWER_SHARE * vol
        k += 1
        for s in range(_N_SMALL):
            which = min(int(uo[1 + s] * 3.0), 2)
            if which == 0:
                hours[k] = wake_h + 0.5 + 1.0 * zo[2 + s]
            elif which == 1:
                hours[k] = 12.5 + 1.0 * zo[2 + s]
            else:
                hours[k] = bed_h - 3.4 + 1.5 * zo[2 + s]
            vols[k] = (1.0 - _SHOWER_SHARE) * vol / _N_SMALL
            k += 1
    for i in range(n):
        hours[i] = min(max(hours[i], 0.0), 23.99)
    order = np.argsort(hours, kind="mergesort")
    for i in range(n):
        hours_out[i] = hours[order[i]]
        litres_out[i] = vols[order[i]]
    return n


def day_draws(
    p: DHWParams, n_occ: int, weekend: bool, rng: np.random.Generator,
    wake_h: float = _DEFAULT_ROUTINE_H[0], bed_h: float = _DEFAULT_ROUTINE_H[1],
) -> list[tuple[float, float]]:
    """One local day's draws ``(hour, litres)`` of ``n_occ`` occupants, sorted (:func:`day_draw_hours`).

    ``wake_h`` and ``bed_h`` are the household's weekday wake-up and bedtime [local h].
    """
    z = rng.standard_normal(n_occ * Z_PER_OCCUPANT)
    u = rng.random(n_occ * U_PER_OCCUPANT)
    hours = np.empty(n_occ * (1 + _N_SMALL))
    litres = np.empty_like(hours)
    n = day_draw_hours(p.draw_l_per_occupant_day, p.draw_sigma, p.morning_shower_share, p.shower_delay_h,
                       p.shower_sd_h, n_occ, weekend, wake_h, bed_h, z, u, hours, litres)
    return list(zip(hours[:n].tolist(), litres[:n].tolist()))
