"""Weather events: heat waves and cold snaps act on the shared weather.

The event adds a temperature anomaly to the run's :class:`~twinforge.processes.weather.Weather`
(so every component under that weather feels it: the envelope heats or cools, the heat
pump works harder, PV cells run hotter). The anomaly ramps in and out with a half-cosine
over ``ramp_h`` hours and holds ``severity`` kelvin in between:

.. math::  \\Delta T(t) = s \\cdot w(t), \\quad w \\in [0, 1]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from twinforge.core.registry import EVENTS
from twinforge.events.base import EventType

__all__ = ["HeatWave", "ColdSnap", "anomaly_shape"]


def anomaly_shape(t_s: np.ndarray, start_s: float, end_s: float, ramp_s: float) -> np.ndarray:
    """Envelope in [0, 1]: half-cosine ramps of ``ramp_s`` at each end, 1 in between."""
    t_s = np.asarray(t_s, dtype=np.float64)
    ramp_s = max(min(ramp_s, 0.5 * (end_s - start_s)), 1e-9)
    up = np.clip((t_s - start_s) / ramp_s, 0.0, 1.0)
    down = np.clip((end_s - t_s) / ramp_s, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * np.minimum(up, down))


class _TemperatureEvent(EventType):
    category = "weather"
    twins = ("home", "grid", "machine")
    severity_unit = "K"
    sign = 1.0
    ramp_h = 12.0

    def apply(self, twin: Any, start_s: float, end_s: float, severity: float) -> int:
        sign, ramp_s = self.sign, self.ramp_h * 3600.0

        def anomaly(t_s: np.ndarray) -> np.ndarray:
            return sign * severity * anomaly_shape(t_s, start_s, end_s, ramp_s)

        twin.weather.add_anomaly(anomaly)
        return twin.log.log(
            "rare", self.name, start_s, end_s, severity, label=True, delta_temp_k=sign * severity
        )


@EVENTS.register("heat_wave")
class HeatWave(_TemperatureEvent):
    """A heat wave: outdoor temperature raised by ``severity`` K (peak anomaly)."""

    name = "heat_wave"
    severity_range = (0.0, 25.0)


@EVENTS.register("cold_snap")
class ColdSnap(_TemperatureEvent):
    """A cold snap: outdoor temperature lowered by ``severity`` K (peak anomaly)."""

    name = "cold_snap"
    severity_range = (0.0, 30.0)
    sign = -1.0
