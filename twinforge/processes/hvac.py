"""Heating and cooling plant: heat-pump efficiency and thermostat settings.

Heating COP of an air-source heat pump follows the field-data regression of Staffell,
Brett, Brandon & Hawkes (2012), "A review of domestic heat pumps", Energy Environ. Sci. 5,
9291-9306, doi:10.1039/C2EE22653G:

.. math::  COP = 6.08 - 0.09\\,\\Delta T + 0.0005\\,\\Delta T^2, \\quad \\Delta T = T_{sink} - T_{out}

Cooling uses a fraction of the Carnot limit between an evaporator ``approach_k`` below the
indoor air and a condenser ``approach_k`` above the outdoor air. Resistive heating has
COP 1.

Two thermostats (``HVACParams.control``):

- ``"tpi"`` (default): time-proportional control, the standard of modern room thermostats (TPI,
  "time proportional and integral"; EN 60730-2-9 class IV, ErP class IV). The plant runs a
  fixed number of cycles per hour (``cycles_per_hour``: 3 is usual for heat pumps, 6 for gas
  boilers); in each cycle it is on for the share of the cycle that brings the zone to its
  setpoint by the cycle's end (:func:`tpi_duty`): full power far below the setpoint, the
  steady duty that holds it once there (what a TPI thermostat's integral term learns).
- ``"hysteresis"``: on below ``setpoint - deadband/2``, off above ``setpoint + deadband/2``.
  On the lumped 1R1C envelope (air and fabric in one node, time constant about a day) the
  band is crossed slowly: a 1 K band gives cycles of 2-4 hours, which real homes, whose air
  warms in minutes, do not show, and homes that start together (a morning setback recovery,
  a shared weather) stay in phase.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["HVACParams", "cop_heating", "cop_cooling", "tpi_decay", "tpi_duty", "GAS_AUX_FRACTION"]

#: Electric auxiliaries (circulation pump, fan) of a gas boiler per unit of heat [1].
GAS_AUX_FRACTION = 0.02


def cop_heating(temp_out_c, temp_sink_c=40.0):
    """Air-source heat pump heating COP (Staffell et al. 2012) [1].

    The regression is fitted for ``15 <= dT <= 60`` K; ``dT`` is clipped to that range.

    Examples
    --------
    >>> round(float(cop_heating(7.0, 35.0)), 3)
    3.952
    """
    dt = np.clip(np.asarray(temp_sink_c, dtype=np.float64) - temp_out_c, 15.0, 60.0)
    return 6.08 - 0.09 * dt + 0.0005 * dt**2


def cop_cooling(temp_in_c, temp_out_c, carnot_fraction=0.35, approach_k=10.0):
    """Cooling COP as a fraction of the Carnot limit [1], clipped to [1, 8]."""
    t_evap = np.asarray(temp_in_c, dtype=np.float64) - approach_k + 273.15
    t_cond = np.asarray(temp_out_c, dtype=np.float64) + approach_k + 273.15
    lift = np.maximum(t_cond - t_evap, 1.0)
    return np.clip(carnot_fraction * t_evap / lift, 1.0, 8.0)


def tpi_decay(tau_s, cycle_s):
    """``exp(-cycle_s / tau_s)``: how much of a zone's departure from equilibrium survives a cycle [1]."""
    return np.exp(-np.asarray(cycle_s, dtype=np.float64) / tau_s)


def tpi_duty(temp_c, target_c, temp_out_c, q_free_w, capacity_w, ua_w_per_k, decay, sign=1.0):
    """Share of a cycle [0-1] the plant must run to bring the zone to ``target_c``.

    The 1R1C zone (:mod:`twinforge.processes.thermal`) reaches ``target_c`` after one
    cycle when its equilibrium temperature is ``T_eq = (target - T e) / (1 - e)``, with
    ``e = exp(-cycle / tau)`` (:func:`tpi_decay`); the plant supplies the heat
    ``UA (T_eq - T_out) - q_free`` of that equilibrium (``sign = -1`` for cooling: the heat
    it removes), as a share of its capacity, clipped to [0, 1]. At the setpoint it is the
    steady duty that holds it. Broadcasts over arrays (all homes of a fleet at once); plain
    floats stay plain floats (one home, once per cycle).

    Parameters
    ----------
    temp_c, target_c, temp_out_c : float or ndarray
        Zone temperature now, the setpoint and the outdoor temperature [degC].
    q_free_w : float or ndarray
        Free gains (solar, internal, occupants) [W].
    capacity_w : float or ndarray
        Plant thermal output when on [W]; zero capacity gives zero duty.
    ua_w_per_k : float or ndarray
        Heat loss coefficient of the zone [W K-1].
    decay : float or ndarray
        :func:`tpi_decay` of the zone's time constant and the cycle length, in (0, 1).
    sign : float
        +1 for heating, -1 for cooling.

    Examples
    --------
    >>> # 180 W/K, 10 degC outside, no gains: holding 20 degC takes 1800 W of a 6 kW plant
    >>> round(tpi_duty(20.0, 20.0, 10.0, 0.0, 6000.0, 180.0, float(tpi_decay(90_000.0, 1200.0))), 3)
    0.3
    """
    t_eq = (target_c - temp_c * decay) / (1.0 - decay)
    q = sign * (ua_w_per_k * (t_eq - temp_out_c) - q_free_w)
    if np.ndim(q) == 0 and np.ndim(capacity_w) == 0:
        return min(max(float(q) / capacity_w, 0.0), 1.0) if capacity_w > 0 else 0.0
    cap = np.asarray(capacity_w, dtype=np.float64)
    return np.clip(np.divide(q, cap, out=np.zeros(np.broadcast(q, cap).shape), where=cap > 0), 0.0, 1.0)


class HVACParams(BaseModel):
    """Heating/cooling plant and thermostat.

    Setpoints follow common practice (EN 16798-1 category II comfort range: 20-24 degC
    heating, 23-26 degC cooling) with a night/away setback.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    heating: Literal["heat_pump", "resistive", "gas", "none"] = "heat_pump"
    heating_capacity_w: float = Field(6000.0, ge=0.0, le=50_000.0, description="thermal output when on [W]")
    sink_temp_c: float = Field(40.0, ge=25.0, le=65.0, description="heat-pump supply (sink) temperature [degC]")
    cooling: bool = Field(False, description="air conditioning installed")
    cooling_capacity_w: float = Field(4000.0, ge=0.0, le=50_000.0, description="thermal extraction when on [W]")
    heat_setpoint_c: float = Field(20.0, ge=5.0, le=28.0, description="heating setpoint, someone active [degC]")
    heat_setback_c: float = Field(17.0, ge=5.0, le=28.0, description="heating setpoint, asleep or away [degC]")
    cool_setpoint_c: float = Field(25.0, ge=16.0, le=35.0, description="cooling setpoint, someone active [degC]")
    cool_setback_c: float = Field(28.0, ge=16.0, le=40.0, description="cooling setpoint, asleep or away [degC]")
    deadband_k: float = Field(1.0, gt=0.05, le=5.0, description="thermostat hysteresis band [K] (control 'hysteresis')")
    control: Literal["hysteresis", "tpi"] = Field(
        "tpi", description="thermostat: time-proportional (TPI) cycles, or on/off across the deadband"
    )
    cycles_per_hour: float = Field(
        3.0, ge=1.0, le=12.0, description="TPI cycle rate [h-1] (3 usual for heat pumps, 6 for gas boilers)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> "HVACParams":
        if self.heat_setback_c > self.heat_setpoint_c:
            raise ValueError("heat_setback_c must not exceed heat_setpoint_c")
        if self.cool_setback_c < self.cool_setpoint_c:
            raise ValueError("cool_setback_c must not be below cool_setpoint_c")
        if self.cooling and self.heat_setpoint_c + self.deadband_k >= self.cool_setpoint_c:
            raise ValueError(
                "cool_setpoint_c must exceed heat_setpoint_c + deadband_k when cooling is installed"
            )
        return self

    @property
    def cycle_s(self) -> float:
        """TPI cycle length [s]."""
        return 3600.0 / self.cycles_per_hour

    def cop(self, mode: int, temp_in_c: float, temp_out_c: float) -> float:
        """COP for mode 1 (heating) or 2 (cooling)."""
        if mode == 1:
            if self.heating == "heat_pump":
                return float(cop_heating(temp_out_c, self.sink_temp_c))
            if self.heating == "gas":
                return 1.0 / GAS_AUX_FRACTION
            return 1.0
        return float(cop_cooling(temp_in_c, temp_out_c))
