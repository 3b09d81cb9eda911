"""Home battery with self-consumption dispatch.

The controller acts once per sample interval ``dt``: it charges from PV surplus and
discharges to cover the deficit, within the power rating and the state-of-charge window:

.. math::  P^{des}_k = \\mathrm{clip}(-(L_k - PV_k), -P_{max}, P_{max})

.. math::  E_{k+1} = \\mathrm{clip}(E_k + \\Delta E_k, E_{min}, E_{max}), \\quad
           \\Delta E_k = \\eta_c P_k \\Delta t \\;(P_k > 0), \\; P_k \\Delta t / \\eta_d \\;(P_k < 0)

``P`` is the power at the battery terminals (positive when charging). The recursion runs in
one compiled loop over the intervals of every home at once (:func:`dispatch`, arrays of shape
``(n_steps, n_homes)``); :func:`dispatch_self_consumption` is its one-home form.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from twinforge.core.jit import njit

__all__ = ["BatteryParams", "dispatch", "dispatch_self_consumption"]


#: Smallest battery the model takes [kWh] (a phone's is 0.015 kWh; home batteries start
#: near 1 kWh): below it the stored energy in joules underflows the state of charge.
MIN_CAPACITY_KWH = 0.01


class BatteryParams(BaseModel):
    """Home battery. ``capacity_kwh = 0`` means no battery.

    Defaults after a typical residential lithium-ion system (e.g. 10 kWh / 5 kW, round-trip
    efficiency ~90 %, Figgener et al. 2021, doi:10.1016/j.est.2021.102926).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    capacity_kwh: float = Field(0.0, ge=0.0, le=200.0, description="usable capacity [kWh]")
    power_kw: float = Field(5.0, ge=0.0, le=100.0, description="charge/discharge power rating [kW]")
    eta_charge: float = Field(0.95, gt=0.0, le=1.0, description="charging efficiency [1]")
    eta_discharge: float = Field(0.95, gt=0.0, le=1.0, description="discharging efficiency [1]")
    soc_min: float = Field(0.1, ge=0.0, le=1.0, description="lowest allowed state of charge [1]")
    soc_max: float = Field(0.95, ge=0.0, le=1.0, description="highest allowed state of charge [1]")
    soc_init: float = Field(0.5, ge=0.0, le=1.0, description="state of charge at t = 0 [1]")

    @model_validator(mode="after")
    def _window(self) -> BatteryParams:
        if 0.0 < self.capacity_kwh < MIN_CAPACITY_KWH:
            raise ValueError(
                f"capacity_kwh must be 0 (no battery) or in [{MIN_CAPACITY_KWH}, 200] kWh, got {self.capacity_kwh}"
            )
        if self.soc_min >= self.soc_max:
            raise ValueError("soc_min must be below soc_max")
        if not self.soc_min <= self.soc_init <= self.soc_max:
            raise ValueError("soc_init must lie within [soc_min, soc_max]")
        return self


@njit
def _dispatch(net, dt, energy, cap_j, p_max, eta_c, eta_d, lo, hi, power, soc):
    for h in range(net.shape[1]):
        e = energy[h]
        if cap_j[h] <= 0.0:
            for k in range(net.shape[0]):
                power[k, h] = 0.0
                soc[k, h] = 0.0
            continue
        for k in range(net.shape[0]):
            soc[k, h] = e / cap_j[h]
            p_des = min(max(-net[k, h], -p_max[h]), p_max[h])
            if p_des > 0.0:
                d_e = p_des * eta_c[h] * dt
            else:
                d_e = p_des / eta_d[h] * dt
            new = min(max(e + d_e, lo[h]), hi[h])
            d = new - e
            power[k, h] = d / eta_c[h] / dt if d > 0.0 else d * eta_d[h] / dt
            e = new
        energy[h] = e


def dispatch(net_load_w: np.ndarray, dt_s: float, energy_j: np.ndarray, params) -> tuple[np.ndarray, np.ndarray]:
    """Self-consumption dispatch of many homes over consecutive intervals.

    Parameters
    ----------
    net_load_w : ndarray of shape (n_steps, n_homes)
        Load minus PV per interval [W] (negative = surplus).
    dt_s : float
        Interval length [s].
    energy_j : ndarray of shape (n_homes,)
        Stored energy at the start of the first interval [J]; updated in place to the end.
    params : sequence of BatteryParams
        One per home (``capacity_kwh = 0``: no battery).

    Returns
    -------
    power_w : ndarray of shape (n_steps, n_homes)
        Terminal power per interval [W], positive when charging.
    soc : ndarray of shape (n_steps, n_homes)
        State of charge at the start of each interval [1] (0 without a battery).
    """
    g = lambda f: np.array([f(p) for p in params], dtype=np.float64)
    cap = g(lambda p: p.capacity_kwh * 3.6e6)
    net = np.asfortranarray(net_load_w, dtype=np.float64)  # a column per home: the loop walks homes
    power = np.empty_like(net, order="F")
    soc = np.empty_like(net, order="F")
    _dispatch(net, float(dt_s), energy_j, cap, g(lambda p: p.power_kw * 1e3), g(lambda p: p.eta_charge),
              g(lambda p: p.eta_discharge), g(lambda p: p.soc_min) * cap, g(lambda p: p.soc_max) * cap, power, soc)
    return power, soc


def dispatch_self_consumption(
    net_load_w: np.ndarray, dt_s: float, soc0: float, params: BatteryParams
) -> tuple[np.ndarray, np.ndarray, float]:
    """Self-consumption dispatch over consecutive intervals.

    Parameters
    ----------
    net_load_w : ndarray of shape (n,)
        Load minus PV per interval [W] (negative = surplus).
    dt_s : float
        Interval length [s].
    soc0 : float
        State of charge at the start of the first interval [1].
    params : BatteryParams

    Returns
    -------
    power_w : ndarray of shape (n,)
        Battery terminal power per interval [W], positive when charging.
    soc : ndarray of shape (n,)
        State of charge at the *start* of each interval [1].
    soc_end : float
        State of charge after the last interval [1].
    """
    n = len(net_load_w)
    cap_j = params.capacity_kwh * 3.6e6
    if cap_j <= 0.0 or params.power_kw <= 0.0:
        return np.zeros(n), np.full(n, soc0 if cap_j > 0 else 0.0), soc0 if cap_j > 0 else 0.0
    energy = np.array([soc0 * cap_j])
    power, soc = dispatch(np.asarray(net_load_w, dtype=np.float64).reshape(n, 1), dt_s, energy, [params])
    return power[:, 0], soc[:, 0], float(energy[0] / cap_j)
