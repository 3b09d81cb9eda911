"""Bearing and motor temperatures of a motor-driven machine: friction heat and motor losses.

Each temperature is a first-order (lumped 1R1C) node above the ambient air:

.. math::

    C \\frac{dT}{dt} = P(t) - \\frac{T - T_{amb}}{R},
    \\qquad T_{eq} = T_{amb} + R\\,P, \\qquad \\tau = R C

- **Bearing**: the heat source is the friction power :math:`P_f = M\\,\\omega`, with the
  simplified friction moment of a rolling bearing :math:`M = \\tfrac12 \\mu F d_m`
  (constant friction coefficient :math:`\\mu`, radial load ``F``, mean diameter
  :math:`d_m`; SKF general catalogue, "Estimating the frictional moment"; Harris &
  Kotzalas 2006, *Rolling Bearing Analysis*, doi:10.1201/9781420006582). A worn or
  poorly lubricated bearing rubs more: :math:`\\mu = \\mu_0 (1 + g_d s^2 + g_l s_l) / \\ell`
  with ``s`` the largest localised-defect severity, :math:`s_l` the lubrication-fault
  severity and :math:`\\ell \\in (0, 1]` the lubrication quality. The motor's heat
  conducts along the shaft: a share ``motor_coupling`` of its rise adds to the bearing.
- **Motor**: losses :math:`P_{loss} = P_{shaft} (1/\\eta - 1)` heat the winding.

With the input held over each step of length ``dt`` the exact discretisation is
:math:`T_{k+1} = T_{eq,k} + (T_k - T_{eq,k}) e^{-dt/\\tau}`, a first-order recursive
filter (:func:`first_order_response`, ``scipy.signal.lfilter``, state carried between
chunks so that the result does not depend on chunking).

Defaults reproduce the PRONOSTIA rig (Nectoux et al. 2012): about 70 degC on the bearing
at 1800 rpm and 4000 N in a 25 degC room (the reference temperature of the
degradation law), rising towards about 155 degC at failure (the raw
RTD readings of Bearing1_1 go from 73 to 163 degC).
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy import signal

__all__ = [
    "ThermalParams",
    "bearing_friction_power_w",
    "motor_loss_w",
    "first_order_response",
]


class ThermalParams(BaseModel):
    """Temperature model of the bearing housing and the motor winding."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    friction_coefficient: float = Field(
        0.0015, gt=0.0, le=0.05, description="friction coefficient mu of the healthy bearing [1] (SKF: 0.0015 deep-groove ball)"
    )
    friction_damage_gain: float = Field(
        2.0, ge=0.0, le=50.0, description="friction multiplier 1 + g s^2 at localised-defect severity s [1]"
    )
    friction_lubrication_gain: float = Field(
        3.0, ge=0.0, le=50.0, description="friction multiplier 1 + g s_l at lubrication-fault severity s_l [1]"
    )
    bearing_r_k_per_w: float = Field(
        2.9, gt=0.0, le=100.0, description="thermal resistance bearing housing -> ambient R_b [K W-1]"
    )
    bearing_tau_s: float = Field(
        1200.0, gt=0.0, le=86_400.0, description="thermal time constant of the bearing housing [s]"
    )
    motor_efficiency: float = Field(0.8, gt=0.1, le=0.99, description="motor efficiency eta [1]")
    motor_r_k_per_w: float = Field(
        0.6, gt=0.0, le=100.0, description="thermal resistance winding -> ambient R_m [K W-1]"
    )
    motor_tau_s: float = Field(
        1800.0, gt=0.0, le=86_400.0, description="thermal time constant of the motor [s]"
    )
    motor_coupling: float = Field(
        0.1, ge=0.0, le=1.0, description="share of the motor's temperature rise conducted to the bearing [1]"
    )


def bearing_friction_power_w(load_n, shaft_hz, mean_diameter_m: float, mu) -> np.ndarray:
    """Friction power of a rolling bearing [W]: ``P = 0.5 mu F d_m * 2 pi f``.

    Parameters
    ----------
    load_n : float or ndarray
        Radial load F [N], >= 0.
    shaft_hz : float or ndarray
        Shaft rotation frequency [Hz], >= 0.
    mean_diameter_m : float
        Bearing mean (pitch) diameter d_m [m].
    mu : float or ndarray
        Friction coefficient [1].

    Returns
    -------
    ndarray (broadcast shape)

    Examples
    --------
    >>> round(float(bearing_friction_power_w(4000.0, 30.0, 0.0256, 0.0015)), 2)
    14.48
    """
    return 0.5 * np.asarray(mu, dtype=np.float64) * np.asarray(load_n, dtype=np.float64) * mean_diameter_m * (
        2.0 * math.pi * np.asarray(shaft_hz, dtype=np.float64)
    )


def motor_loss_w(shaft_power_w, efficiency: float) -> np.ndarray:
    """Motor losses [W] for a shaft power [W]: ``P (1/eta - 1)``.

    >>> float(motor_loss_w(200.0, 0.8))
    50.0
    """
    return np.asarray(shaft_power_w, dtype=np.float64) * (1.0 / efficiency - 1.0)


def first_order_response(
    temp_eq_c: np.ndarray, temp0_c: float, dt_s: float, tau_s: float
) -> tuple[np.ndarray, float]:
    """Temperatures at the step starts of a first-order node with held inputs [degC].

    ``T[0] = temp0_c``, ``T[k+1] = Teq[k] + (T[k] - Teq[k]) exp(-dt/tau)``.

    Parameters
    ----------
    temp_eq_c : ndarray of shape (n,)
        Equilibrium temperature of each step [degC].
    temp0_c : float
        Temperature at the start of the first step [degC].
    dt_s, tau_s : float
        Step length and time constant [s].

    Returns
    -------
    temps_c : ndarray of shape (n,)
        Temperature at the start of each step.
    next_c : float
        Temperature at the end of the last step (the ``temp0_c`` of the next chunk).

    Examples
    --------
    >>> t, nxt = first_order_response(np.full(3, 50.0), 20.0, 60.0, 60.0)
    >>> [round(float(v), 2) for v in t], round(nxt, 2)
    ([20.0, 38.96, 45.94], 48.51)
    """
    x = np.asarray(temp_eq_c, dtype=np.float64)
    if x.size == 0:
        return x.copy(), float(temp0_c)
    a = math.exp(-dt_s / tau_s)
    # y[n] = a y[n-1] + (1 - a) x[n-1]; y[-1] chosen so that y[0] = temp0.
    y, zf = signal.lfilter([0.0, 1.0 - a], [1.0, -a], x, zi=[float(temp0_c)])
    return y, float(zf[0])
