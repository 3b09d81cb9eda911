"""Windstorms: a labelled window of strong wind that raises the feeder fault rate.

``severity`` is the storm's peak gust at the site [m s-1], the mark of the natural model
``NATURAL_MODELS["storm"]`` (gusts above 28 m/s, about 100 km/h). What the storm does
depends on the twin:

- **grid**: the feeder fault rate :math:`\\lambda_0` (``protection.fault_rate_per_year``)
  is multiplied over the storm's window by

  .. math::  m(s) = 1 + k \\, \\max(s - s_c, 0)^2, \\qquad s_c = 20\\ \\mathrm{m\\,s^{-1}},
             \\quad k = 0.5\\ (\\mathrm{m\\,s^{-1}})^{-2}

  (``params.fault_rate_multiplier`` replaces :math:`m` with a value of the user's). The
  quadratic growth follows the wind load on lines, poles and trees (drag grows with the
  square of the wind speed), the form of the quadratic non-homogeneous Poisson model of
  overhead-asset failures of Chang, Emanuel & Amin (2021, arXiv:2105.03497). The
  constants are **hand-set, not fitted**: they give :math:`m = 33` at 28 m/s, 201 at
  40 m/s and 451 at 50 m/s. With the natural model (2 storms a year of median duration
  12 h, gusts mostly 28-36 m/s, mean factor about 74) about a fifth of a feeder's faults
  then fall in the ~27 hours a year of storms, in the spirit of the two-state (normal /
  adverse weather) failure-rate model of Billinton & Allan (*Reliability Evaluation of
  Power Systems*, 2nd ed., Plenum, 1996), in which a sizeable share of overhead-line
  failures falls in short adverse-weather periods; a 12-hour storm with 50 m/s gusts
  faults a feeder of 0.5 faults/yr with probability about 0.27. Calibrate them to a
  utility's storm outage records before drawing conclusions. Overlapping storms do not
  compound: the largest factor applies.
- **home**, **machine**: the storm is recorded and labels the grid; it changes nothing
  else, because :class:`~twinforge.processes.weather.Weather` has no hook to raise the
  wind speed (its ``add_anomaly`` acts on temperature only) and the twins model no rain.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from twinforge.core.registry import EVENTS
from twinforge.events.base import EventType

__all__ = ["Storm", "storm_fault_rate_multiplier", "GUST_THRESHOLD_M_PER_S", "FAULT_RATE_K"]

#: Gust below which a storm does not raise the fault rate, :math:`s_c` [m s-1] (hand-set).
GUST_THRESHOLD_M_PER_S = 20.0
#: Quadratic coefficient :math:`k` of the fault-rate multiplier [(m s-1)-2] (hand-set).
FAULT_RATE_K = 0.5


def storm_fault_rate_multiplier(peak_gust_m_per_s: Any) -> Any:
    """Factor on the feeder fault rate during a storm, :math:`1 + k \\max(s - s_c, 0)^2` [1].

    Parameters
    ----------
    peak_gust_m_per_s : float or ndarray
        Peak gust of the storm [m s-1].

    Returns
    -------
    float or ndarray like the input, >= 1

    Examples
    --------
    >>> storm_fault_rate_multiplier(20.0), storm_fault_rate_multiplier(30.0)
    (1.0, 51.0)
    """
    s = np.asarray(peak_gust_m_per_s, dtype=np.float64)
    m = 1.0 + FAULT_RATE_K * np.maximum(s - GUST_THRESHOLD_M_PER_S, 0.0) ** 2
    return float(m) if m.ndim == 0 else m


@EVENTS.register("storm")
class Storm(EventType):
    """A windstorm of peak gust ``severity`` [m s-1] over ``[start, end)``.

    On a twin exposing the ``fault_rate`` target (the grid twin) it multiplies the fault
    rate by ``factor`` over ``[start_s, end_s)``; everywhere it logs a labelled event with
    its ``peak_gust_m_per_s`` and, where it acts, its ``fault_rate_multiplier``.
    """

    name = "storm"
    category = "weather"
    needs = ()
    uses_if_exposed = ("fault_rate",)
    severity_unit = "m s-1 (peak gust)"
    severity_range = (28.0, 70.0)

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        unknown = sorted(set(params) - {"fault_rate_multiplier"})
        if unknown:
            raise ValueError(
                f"unknown key(s) {', '.join(unknown)} for storm; known: fault_rate_multiplier"
            )
        if "fault_rate_multiplier" in params:
            v = params["fault_rate_multiplier"]
            number = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            if not number or not 1.0 <= v <= 1e5:
                raise ValueError(
                    f"fault_rate_multiplier must be a number within [1, 1e5], got {v!r}"
                )

    def apply(self, twin: Any, start_s: float, end_s: float, severity: float, **params: Any) -> int:
        self.check_params(params)
        extra: dict[str, float] = {"peak_gust_m_per_s": float(severity)}
        if "fault_rate" in twin.targets:
            factor = float(
                params.get("fault_rate_multiplier", storm_fault_rate_multiplier(severity))
            )
            twin.target("fault_rate").add_multiplier(float(start_s), float(end_s), factor)
            extra["fault_rate_multiplier"] = factor
        return twin.log.log("rare", self.name, start_s, end_s, severity, label=True, **extra)
