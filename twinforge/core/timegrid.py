"""The sample grid: a UTC start, a fixed period and a number of steps, cut into chunks.

Simulation time inside the engine is in seconds since ``start`` (float, ``t_s``).
A sample at index ``k`` stands at ``t_s = k * period_s``; interval channels (power) hold
the mean over ``[t_s, t_s + period_s)`` (left-labelled, like an energy meter).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd

__all__ = ["TimeGrid", "parse_period_s", "parse_rate_hz", "parse_utc"]


def parse_period_s(value: str | int | float | pd.Timedelta) -> float:
    """Seconds in a period given as ``"1min"``, ``"15min"``, ``"1s"``, ``"1h"`` or a number [s].

    Raises
    ------
    ValueError
        If the text is not a duration or the duration is not positive.
    """
    if isinstance(value, bool):
        raise ValueError(f"period must be a duration such as '1min', got {value!r}")
    if isinstance(value, (int, float, np.integer, np.floating)):
        seconds = float(value)
    else:
        try:
            seconds = pd.Timedelta(str(value).strip()).total_seconds()
        except (ValueError, TypeError):
            raise ValueError(
                f"period must be a duration such as '1s', '1min', '15min' or '1h', got {value!r}"
            ) from None
    if not np.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"period must be positive, got {value!r}")
    return seconds


def parse_utc(value, example: str = "2024-01-01") -> pd.Timestamp:
    """A date/time as a UTC :class:`pandas.Timestamp` (naive values are taken as UTC).

    Raises
    ------
    ValueError
        If ``value`` is not a date/time; the message shows ``example``.
    """
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ValueError(f"start must be a date/time such as '{example}', got {value!r}") from None
    if ts is pd.NaT:
        raise ValueError(f"start must be a date/time such as '{example}', got an empty value")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def parse_rate_hz(value: str | int | float) -> float:
    """A sample rate given as ``"25.6kHz"``, ``"12000Hz"`` or a number [Hz]."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        rate = float(value)
    else:
        text = str(value).strip().lower().replace(" ", "")
        scale = 1.0
        for suffix, factor in (("khz", 1e3), ("mhz", 1e6), ("hz", 1.0)):
            if text.endswith(suffix):
                text, scale = text[: -len(suffix)], factor
                break
        try:
            rate = float(text) * scale
        except ValueError:
            raise ValueError(f"rate must look like '25.6kHz' or '12000Hz', got {value!r}") from None
    if not np.isfinite(rate) or rate <= 0:
        raise ValueError(f"rate must be positive, got {value!r}")
    return rate


@dataclass(frozen=True)
class TimeGrid:
    """A regular UTC sample grid.

    Parameters
    ----------
    start : pandas.Timestamp
        First sample time; converted to UTC (naive times are taken as UTC).
    period_s : float
        Sample period [s].
    n_steps : int
        Number of samples.
    """

    start: pd.Timestamp
    period_s: float
    n_steps: int

    def __post_init__(self) -> None:
        start = pd.Timestamp(self.start)
        start = start.tz_localize("UTC") if start.tzinfo is None else start.tz_convert("UTC")
        object.__setattr__(self, "start", start)
        if self.period_s <= 0:
            raise ValueError(f"period_s must be positive, got {self.period_s}")
        if self.n_steps < 1:
            raise ValueError(f"n_steps must be at least 1, got {self.n_steps}")

    @classmethod
    def from_horizon(cls, start, horizon_s: float, period_s: float) -> "TimeGrid":
        """Grid covering ``[start, start + horizon_s)``; the horizon must hold one period."""
        if horizon_s < period_s:
            raise ValueError(
                f"horizon ({horizon_s:g} s) must be at least one period ({period_s:g} s)"
            )
        return cls(pd.Timestamp(start), float(period_s), int(np.floor(horizon_s / period_s + 1e-9)))

    @property
    def horizon_s(self) -> float:
        """Covered duration [s] (``n_steps * period_s``)."""
        return self.n_steps * self.period_s

    @property
    def start_epoch_s(self) -> float:
        """``start`` as seconds since the Unix epoch [s]."""
        return self.start.value / 1e9

    def t_s(self, i0: int = 0, i1: int | None = None) -> np.ndarray:
        """Sample times [s since start], ndarray of shape (i1 - i0,)."""
        i1 = self.n_steps if i1 is None else i1
        return np.arange(i0, i1, dtype=np.float64) * self.period_s

    def timestamps(self, i0: int = 0, i1: int | None = None) -> np.ndarray:
        """Sample times as ``datetime64[ns]`` (UTC), ndarray of shape (i1 - i0,)."""
        i1 = self.n_steps if i1 is None else i1
        step_ns = int(round(self.period_s * 1e9))
        return (self.start.value + np.arange(i0, i1, dtype=np.int64) * step_ns).astype(
            "datetime64[ns]"
        )

    def chunks(
        self, max_samples: int = 100_000, align_s: float = 86_400.0, lattice_s: float | None = None,
    ) -> Iterator[tuple[int, int]]:
        """Index ranges ``(i0, i1)`` covering the grid.

        Chunks hold whole multiples of ``align_s`` (a day by default) where possible and
        at most ``max_samples`` samples (never fewer than one). ``lattice_s`` is the step
        on which a twin's state advances in pieces (engine times 0, ``lattice_s``,
        ``2 lattice_s``, ...): chunk edges then always fall on it, so that no edge cuts a
        piece in two and the output does not depend on ``max_samples``; a chunk then holds
        at least the samples of one lattice step, even if they exceed ``max_samples``.
        """
        per_align = max(1, int(round(align_s / self.period_s)))
        unit = self.samples_per_lattice(lattice_s)
        whole = per_align * unit // math.gcd(per_align, unit)  # whole days on the lattice
        if whole <= max_samples:
            size = (max_samples // whole) * whole
        else:
            size = max(unit, (max_samples // unit) * unit)
        for i0 in range(0, self.n_steps, size):
            yield i0, min(self.n_steps, i0 + size)

    def samples_per_lattice(self, lattice_s: float | None) -> int:
        """The fewest samples whose span is a whole number of ``lattice_s`` (1 without
        one, or when no span of up to 10,000 lattice steps is)."""
        if lattice_s is None:
            return 1
        ratio = Fraction(lattice_s / self.period_s).limit_denominator(10_000)
        if abs(ratio.numerator * self.period_s - ratio.denominator * lattice_s) > 1e-9 * lattice_s:
            return 1
        return max(1, ratio.numerator)
