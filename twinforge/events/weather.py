"""Weather events: heat waves and cold snaps act on the shared weather.

The event adds a temperature anomaly to the run's :class:`~twinforge.processes.weather.Weather`
(so every component under that weather feels it: the envelope heats or cools, the heat
pump works harder, PV cells run hotter). One wave's anomaly ramps in and out with a
half-cosine over ``ramp_h`` hours and holds ``severity`` kelvin in between:

.. math::  a(t) = \\pm s \\cdot w(t), \\quad w \\in [0, 1]

**Overlapping waves.** Waves of the same sign whose windows overlap form one spell: its
anomaly is the largest of theirs at each time (:func:`~twinforge.processes.weather.combine_anomalies`),

.. math::  a_{spell}(t) = \\pm \\max_i s_i w_i(t),

never their sum, so a spell is as hot as its hottest wave, not hotter (summed, two 8 K
waves would give a 16 K anomaly, far beyond the single-wave law). A spell is logged as
**one** labelled event spanning its waves, whose ``severity`` is the peak anomaly actually
applied inside the run's window and whose ``params`` say how many waves it holds
(``waves``) and its signed peak (``delta_temp_k``). A heat wave and a cold snap at the same
time offset each other.

**Waves in progress when the window opens.** A campaign draws, besides the waves that
start in the run's window, those that started before it and are still going on
(:meth:`~twinforge.events.natural.NaturalModel.sample_in_progress`). Such a wave is
placed at the window's start with ``params.elapsed_h``, the hours it had already lasted:
its anomaly keeps its true shape (no second ramp-in at the window's start), and its
``severity`` label is the peak applied inside the window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from twinforge.core.registry import EVENTS
from twinforge.events.base import EventType

__all__ = ["HeatWave", "ColdSnap", "anomaly_shape", "peak_shape"]

#: Longest time a wave may have lasted before the window opens [h] (a year and a day).
_MAX_ELAPSED_H = 24.0 * 366


def anomaly_shape(t_s: np.ndarray, start_s: float, end_s: float, ramp_s: float) -> np.ndarray:
    """Envelope in [0, 1]: half-cosine ramps of ``ramp_s`` at each end, 1 in between."""
    t_s = np.asarray(t_s, dtype=np.float64)
    ramp_s = max(min(ramp_s, 0.5 * (end_s - start_s)), 1e-9)
    up = np.clip((t_s - start_s) / ramp_s, 0.0, 1.0)
    down = np.clip((end_s - t_s) / ramp_s, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * np.minimum(up, down))


def peak_shape(start_s: float, end_s: float, ramp_s: float, from_s: float) -> float:
    """Largest value of :func:`anomaly_shape` over ``[from_s, end_s)`` [-].

    1 when the window still holds the wave's plateau (or its midpoint), else the value at
    ``from_s`` (the wave is already ramping out).

    Examples
    --------
    >>> peak_shape(0.0, 96 * 3600.0, 12 * 3600.0, 0.0)
    1.0
    >>> round(peak_shape(0.0, 96 * 3600.0, 12 * 3600.0, 93 * 3600.0), 3)
    0.146
    """
    ramp = max(min(ramp_s, 0.5 * (end_s - start_s)), 1e-9)
    if from_s <= end_s - ramp:
        return 1.0
    return float(anomaly_shape(np.array([from_s]), start_s, end_s, ramp_s)[0])


@dataclass
class _Wave:
    true_start_s: float  # onset, before the window's start for a wave in progress
    start_s: float  # where it was placed (the window's start for a wave in progress)
    end_s: float
    severity: float
    ramp_s: float

    def offset(self, t: np.ndarray) -> np.ndarray:
        return self.severity * anomaly_shape(t, self.true_start_s, self.end_s, self.ramp_s)

    def applied_peak(self) -> float:
        return self.severity * peak_shape(self.true_start_s, self.end_s, self.ramp_s, self.start_s)


@dataclass
class _Spell:
    """Overlapping waves of one sign: one anomaly (their maximum), one logged event."""

    sign: float
    waves: list[_Wave] = field(default_factory=list)
    event_id: int = -1
    logged_start_s: float = math.nan

    def offset(self, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=np.float64)
        if not self.waves:
            return np.zeros(t.shape)
        return self.sign * np.maximum.reduce([w.offset(t) for w in self.waves])

    @property
    def true_start_s(self) -> float:
        return min(w.true_start_s for w in self.waves)

    @property
    def start_s(self) -> float:
        return min(w.start_s for w in self.waves)

    @property
    def end_s(self) -> float:
        return max(w.end_s for w in self.waves)

    def overlaps(self, wave: _Wave) -> bool:
        return bool(self.waves) and wave.true_start_s < self.end_s and self.true_start_s < wave.end_s

    def peak(self) -> float:
        return max(w.applied_peak() for w in self.waves)


class _TemperatureEvent(EventType):
    category = "weather"
    needs = ("ambient_temperature",)
    severity_unit = "K"
    in_progress_param = "elapsed_h"
    sign = 1.0
    ramp_h = 12.0

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        unknown = sorted(set(params) - {"elapsed_h"})
        if unknown:
            raise ValueError(f"unknown key(s) {', '.join(unknown)} for {cls.name}; known: elapsed_h")
        if "elapsed_h" in params:
            v = params["elapsed_h"]
            number = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            if not number or not 0.0 <= v <= _MAX_ELAPSED_H:
                raise ValueError(f"elapsed_h must be a number within [0, {_MAX_ELAPSED_H:g}] h, got {v!r}")

    def apply(self, twin: Any, start_s: float, end_s: float, severity: float, **params: Any) -> int:
        self.check_params(params)
        elapsed_s = float(params.get("elapsed_h", 0.0)) * 3600.0
        wave = _Wave(start_s - elapsed_s, start_s, end_s, float(severity), self.ramp_h * 3600.0)
        spells: list[_Spell] = _spells(twin).setdefault(self.sign, [])
        hit = [s for s in spells if s.overlaps(wave)]
        if not hit:
            spell = _Spell(self.sign, [wave])
            spells.append(spell)
            twin.target("ambient_temperature").add_anomaly(spell.offset)
            spell.event_id = self._log(twin, spell)
            return spell.event_id
        keep = min(hit, key=lambda s: s.event_id)
        retired = [s for s in hit if s is not keep]
        for other in retired:
            keep.waves += other.waves
            other.waves = []  # its registered anomaly is 0 from now on
        keep.waves.append(wave)
        if keep.start_s < keep.logged_start_s:  # an earlier wave placed late: log the spell anew
            retired.append(_Spell(self.sign, event_id=keep.event_id, logged_start_s=keep.logged_start_s))
            keep.event_id = self._log(twin, keep)
        else:
            peak = keep.peak()
            twin.log.update(
                keep.event_id, end_s=keep.end_s, severity=peak, waves=len(keep.waves),
                delta_temp_k=self.sign * peak,
            )
        for other in retired:  # merged into keep: an empty window that labels nothing
            twin.log.update(other.event_id, end_s=other.logged_start_s, merged_into=keep.event_id)
        return keep.event_id

    def _log(self, twin: Any, spell: _Spell) -> int:
        peak = spell.peak()
        extra: dict[str, float | int] = {"delta_temp_k": self.sign * peak, "waves": len(spell.waves)}
        if spell.true_start_s < spell.start_s:
            extra["elapsed_h"] = (spell.start_s - spell.true_start_s) / 3600.0
        spell.logged_start_s = spell.start_s
        return twin.log.log("rare", self.name, spell.start_s, spell.end_s, peak, label=True, **extra)


def _spells(twin: Any) -> dict[float, list[_Spell]]:
    """The weather spells of ``twin`` by sign (in its ``event_state`` for the run's lifetime)."""
    return twin.event_state.setdefault("weather_spells", {})


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
