"""Local civil time inside compiled kernels: the UTC offset of every hour of a block.

:class:`~twinforge.core.calendar.LocalClock` answers local-time questions one at a time in
Python. A kernel that walks through thousands of events needs them without Python: the
offset changes only on whole UTC hours (daylight saving), so a block carries the offset of
every UTC hour it may touch, and the functions below reproduce LocalClock's arithmetic
(wall-clock hour, local day, DST-exact midnights and local hours) from that table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from twinforge.core.calendar import LocalClock, hour_offsets
from twinforge.core.jit import njit

__all__ = [
    "HourOffsets",
    "at_local_hour",
    "hour_of_day",
    "local_day",
    "local_s",
    "midnight_at_or_before",
    "next_local_midnight",
    "weekend_day",
]

_DAY_S = 86_400.0


@dataclass(frozen=True)
class HourOffsets:
    """UTC offsets [s] of the UTC hours ``h0, h0 + 1, ...`` (hours since the Unix epoch).

    ``epoch0`` is the Unix time of engine time 0. Build one with :meth:`cover`.
    """

    epoch0: float
    h0: int
    offsets: np.ndarray

    @classmethod
    def cover(cls, clock: LocalClock, t_lo_s: float, t_hi_s: float) -> HourOffsets:
        """Offsets of every UTC hour of engine times ``[t_lo_s - 2 d, t_hi_s + 3 d]``."""
        e0 = clock.epoch_s
        h0 = int(math.floor((e0 + t_lo_s) / 3600.0)) - 48
        h1 = int(math.floor((e0 + t_hi_s) / 3600.0)) + 72
        return cls(e0, h0, hour_offsets(clock.zone, h0, h1))  # cached per zone

    @property
    def args(self) -> tuple[float, int, np.ndarray]:
        return self.epoch0, self.h0, self.offsets


@njit
def local_s(t, epoch0, h0, offsets):
    """Local wall-clock seconds since 1970-01-01 local of engine time ``t`` [s]."""
    e = epoch0 + t
    j = int(math.floor(e / 3600.0)) - h0
    if j < 0:
        j = 0
    elif j >= offsets.size:
        j = offsets.size - 1
    return e + offsets[j]


@njit
def hour_of_day(t, epoch0, h0, offsets):
    """Local hour of day in [0, 24) at engine time ``t``."""
    loc = local_s(t, epoch0, h0, offsets)
    return (loc - math.floor(loc / _DAY_S) * _DAY_S) / 3600.0


@njit
def local_day(t, epoch0, h0, offsets):
    """Local day number (days since 1970-01-01 local) at engine time ``t``."""
    return int(math.floor(local_s(t, epoch0, h0, offsets) / _DAY_S))


@njit
def weekend_day(day):
    """Whether local day ``day`` is a Saturday or Sunday (1970-01-01 was a Thursday)."""
    return (day + 3) % 7 >= 5


@njit
def midnight_at_or_before(t, epoch0, h0, offsets):
    """Engine time of the local midnight starting the local day of ``t`` (DST-exact)."""
    loc = local_s(t, epoch0, h0, offsets)
    day0 = math.floor(loc / _DAY_S) * _DAY_S
    t0 = t - (loc - day0)
    return t0 - (local_s(t0, epoch0, h0, offsets) - day0)


@njit
def next_local_midnight(t, epoch0, h0, offsets):
    """Engine time of the next local midnight strictly after ``t`` (DST-exact)."""
    loc = local_s(t, epoch0, h0, offsets)
    target = (math.floor(loc / _DAY_S) + 1.0) * _DAY_S
    guess = t + (target - loc)
    return t + (target - loc) - (local_s(guess, epoch0, h0, offsets) - target)


@njit
def at_local_hour(midnight, hour, epoch0, h0, offsets):
    """Engine time of local ``hour`` on the day starting at ``midnight`` (as LocalClock)."""
    target = local_s(midnight, epoch0, h0, offsets) + hour * 3600.0
    t = midnight + hour * 3600.0
    return t - (local_s(t, epoch0, h0, offsets) - target)
