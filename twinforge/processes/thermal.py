"""Thermal envelope of a building: a 1R1C model solved in closed form.

The indoor air and fabric are lumped into one heat capacity ``C`` [J K-1] behind one heat
loss coefficient ``UA`` [W K-1] to the outdoor air (ISO 13790:2008 simplified method,
reduced to one node; Bacher & Madsen 2011 for the RC family, doi:10.1016/j.enbuild.2011.02.005):

.. math::  C \\frac{dT}{dt} = UA\\,(T_{out} - T) + \\dot Q

With the inputs held constant over a segment, the solution is exact:

.. math::  T(t) = T_{eq} + (T_0 - T_{eq})\\, e^{-t/\\tau}, \\quad
           T_{eq} = T_{out} + \\dot Q / UA, \\quad \\tau = C / UA

and the time at which ``T`` reaches a thermostat threshold ``T^*`` is

.. math::  t^* = \\tau \\ln\\frac{T_0 - T_{eq}}{T^* - T_{eq}}

(finite only when ``T^*`` lies between ``T_0`` and ``T_{eq}``). The engine uses these to
schedule thermostat switches as discrete SimPy events and renders ``T`` on the sample grid.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "EnvelopeParams",
    "equilibrium_temp_c",
    "rc_temp_c",
    "time_to_reach_s",
]

#: ISO 13790:2008 Table 12, "medium" construction class: internal heat capacity per m2 of
#: conditioned floor area [J K-1 m-2].
ISO13790_MEDIUM_CAPACITY_J_PER_K_M2 = 165_000.0


class EnvelopeParams(BaseModel):
    """Building envelope (1R1C).

    Defaults describe a 100 m2 French/UK house of the 1970s-1990s: heat loss coefficient
    UA = 180 W K-1 (about 1.8 W K-1 per m2 of floor, within the 1.2-3 W K-1 m-2 range of
    the TABULA/EPISCOPE building typology, doi:10.13140/RG.2.1.2245.5526), ISO 13790
    "medium" heat capacity (165 kJ K-1 m-2), giving a time constant near 25 h.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    floor_area_m2: float = Field(100.0, ge=10.0, le=2000.0, description="conditioned floor area [m2]")
    ua_w_per_k: float = Field(180.0, gt=10.0, le=5000.0, description="heat loss coefficient UA [W K-1]")
    heat_capacity_j_per_k: float | None = Field(
        None, gt=1e5, le=1e10, description="lumped heat capacity C [J K-1]; None = ISO 13790 medium class"
    )
    solar_aperture_m2: float = Field(
        3.0, ge=0.0, le=100.0, description="effective solar aperture (window area x g-value x shading) [m2]"
    )
    gain_per_occupant_w: float = Field(
        80.0, ge=0.0, le=200.0, description="sensible metabolic gain per occupant at home [W] (ISO 7730: ~70-100 W)"
    )
    base_internal_gain_w: float = Field(
        150.0, ge=0.0, le=5000.0, description="average gain from appliances and standby [W]"
    )
    temp_init_c: float = Field(19.0, ge=-30.0, le=45.0, description="indoor temperature at t = 0 [degC]")

    @property
    def capacity_j_per_k(self) -> float:
        if self.heat_capacity_j_per_k is not None:
            return self.heat_capacity_j_per_k
        return ISO13790_MEDIUM_CAPACITY_J_PER_K_M2 * self.floor_area_m2

    @property
    def tau_s(self) -> float:
        """Time constant C / UA [s]."""
        return self.capacity_j_per_k / self.ua_w_per_k


def equilibrium_temp_c(temp_out_c, heat_w, ua_w_per_k):
    """Steady-state indoor temperature ``T_out + Q / UA`` [degC].

    Parameters
    ----------
    temp_out_c : float or ndarray
        Outdoor air temperature [degC].
    heat_w : float or ndarray
        Net heat into the zone (HVAC, internal and solar gains; cooling negative) [W].
    ua_w_per_k : float or ndarray
        Heat loss coefficient [W K-1].
    """
    return np.asarray(temp_out_c) + np.asarray(heat_w) / np.asarray(ua_w_per_k)


def rc_temp_c(elapsed_s, temp0_c, temp_eq_c, tau_s):
    """Indoor temperature after ``elapsed_s`` seconds of constant inputs [degC].

    ``T = T_eq + (T0 - T_eq) exp(-elapsed / tau)``; broadcasts over arrays.

    Examples
    --------
    >>> float(rc_temp_c(0.0, 20.0, 10.0, 3600.0))
    20.0
    >>> round(float(rc_temp_c(3600.0, 20.0, 10.0, 3600.0)), 4)
    13.6788
    """
    elapsed_s = np.asarray(elapsed_s, dtype=np.float64)
    return temp_eq_c + (np.asarray(temp0_c) - temp_eq_c) * np.exp(-elapsed_s / tau_s)


def time_to_reach_s(temp0_c: float, temp_eq_c: float, tau_s: float, target_c: float) -> float:
    """Time [s] for the 1R1C response from ``temp0_c`` to reach ``target_c``.

    Returns ``0.0`` if it is there already and ``inf`` if the trajectory never reaches
    it: the target is not between ``temp0_c`` and ``temp_eq_c`` (beyond the equilibrium,
    or behind the start).
    """
    if temp0_c == target_c:
        return 0.0
    a = temp0_c - temp_eq_c
    b = target_c - temp_eq_c
    if a == 0.0 or b == 0.0 or (a > 0) != (b > 0):
        return float("inf")
    ratio = a / b
    if ratio < 1.0:
        return float("inf")
    return float(tau_s * np.log(ratio))
