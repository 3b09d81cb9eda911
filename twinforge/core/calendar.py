"""Local civil time for schedules (occupancy, appliance use) on a UTC simulation clock.

People live by local time: :class:`LocalClock` maps engine time (seconds since the UTC
start of a run) to the local time of day, day of week and day index, with the time zone's
daylight-saving rules (IANA names via :mod:`zoneinfo`). Offsets are cached per UTC day,
so scalar look-ups from SimPy processes are cheap.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

__all__ = ["LocalClock", "is_weekend_day", "validate_tz"]


def is_weekend_day(local_day, weekend_days: tuple[int, ...] = (5, 6)):
    """Whether local day number ``local_day`` (days since 1970-01-01 local) is a weekend day.

    ``weekend_days``: Monday = 0 .. Sunday = 6 (default Saturday and Sunday; Friday and
    Saturday are ``(4, 5)``). Broadcasts over arrays. 1970-01-01 was a Thursday (weekday 3).
    """
    weekday = (np.asarray(local_day) + 3) % 7
    if tuple(weekend_days) == (5, 6):
        return weekday >= 5
    return np.isin(weekday, weekend_days)


def validate_tz(name: str) -> str:
    """``name`` if it is an IANA time zone, else ValueError naming what is allowed."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"tz must be an IANA time zone such as 'Europe/Paris', got {name!r}") from None
    return name

_DAY_S = 86_400.0

# -- UTC offsets per UTC hour, computed once per zone -------------------------------------------

_CHUNK_H = 8192  # UTC hours per cached piece of a zone's offset table (about 11 months)
_OFFSET_CACHE: dict[tuple[str, int], np.ndarray] = {}
_OFFSET_CACHE_MAX = 512  # pieces (32 kB each)


def _offset_chunk(zone: ZoneInfo, c: int) -> np.ndarray:
    """UTC offsets [s] of the UTC hours ``c * _CHUNK_H .. (c + 1) * _CHUNK_H - 1`` (pandas'
    time-zone conversion at each whole hour)."""
    key = (str(zone.key), c)
    tab = _OFFSET_CACHE.get(key)
    if tab is None:
        hours = np.arange(c * _CHUNK_H, (c + 1) * _CHUNK_H, dtype=np.int64)
        utc = pd.to_datetime(hours * 3600, unit="s", utc=True)
        local = utc.tz_convert(zone)
        tab = (local.tz_localize(None) - utc.tz_localize(None)).total_seconds().to_numpy(np.float64)
        tab.flags.writeable = False
        if len(_OFFSET_CACHE) >= _OFFSET_CACHE_MAX:
            _OFFSET_CACHE.clear()
        _OFFSET_CACHE[key] = tab
    return tab


def hour_offsets(zone: ZoneInfo, h0: int, h1: int) -> np.ndarray:
    """UTC offsets [s] of the UTC hours ``h0 .. h1`` (hours since the Unix epoch, inclusive),
    float64: the offset in force at the start of each hour, as pandas converts it.

    Computed once per zone and about eleven months, then sliced: the values do not depend on
    the range asked for.
    """
    c0, c1 = h0 // _CHUNK_H, h1 // _CHUNK_H
    pieces = [_offset_chunk(zone, c) for c in range(c0, c1 + 1)]
    tab = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
    return tab[h0 - c0 * _CHUNK_H:h1 - c0 * _CHUNK_H + 1].copy()


class LocalClock:
    """Local-time view of a UTC engine clock.

    Parameters
    ----------
    start : pandas.Timestamp
        UTC time of engine time ``t_s = 0`` (naive is taken as UTC).
    tz : str
        IANA time zone, e.g. ``"Europe/Paris"``.
    weekend_days : tuple of int
        The local weekend (Monday = 0 .. Sunday = 6) of :meth:`is_weekend`; default
        Saturday and Sunday (a country's calendar: :mod:`twinforge.processes.calendar`).
    """

    def __init__(self, start: pd.Timestamp, tz: str = "UTC", weekend_days: tuple[int, ...] = (5, 6)) -> None:
        try:
            self.zone = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"tz must be an IANA time zone such as 'Europe/Paris', got {tz!r}") from None
        start = pd.Timestamp(start)
        self.start = start.tz_localize("UTC") if start.tzinfo is None else start.tz_convert("UTC")
        self.tz = tz
        self.weekend_days = tuple(int(d) for d in weekend_days)
        self._epoch0 = self.start.value / 1e9
        self._offsets: dict[int, float] = {}

    def _offset_s(self, epoch_s: float) -> float:
        # Offsets change at most a few times a year; cache per UTC hour (DST switches on hours).
        key = int(epoch_s // 3600.0)
        off = self._offsets.get(key)
        if off is None:
            dt = datetime.fromtimestamp(key * 3600.0, tz=timezone.utc).astimezone(self.zone)
            off = dt.utcoffset().total_seconds()  # type: ignore[union-attr]
            if len(self._offsets) > 100_000:
                self._offsets.clear()
            self._offsets[key] = off
        return off

    def local_s(self, t_s: float) -> float:
        """Local wall-clock seconds since 1970-01-01 00:00 local, for engine time ``t_s``."""
        epoch = self._epoch0 + t_s
        return epoch + self._offset_s(epoch)

    def hour_of_day(self, t_s: float) -> float:
        """Local hour of day in [0, 24) at engine time ``t_s`` [s]."""
        return (self.local_s(t_s) % _DAY_S) / 3600.0

    def local_day(self, t_s: float) -> int:
        """Local day number (days since 1970-01-01 local) at engine time ``t_s`` [s]."""
        return int(self.local_s(t_s) // _DAY_S)

    def is_weekend(self, t_s: float) -> bool:
        """Whether the local day at ``t_s`` is a weekend day (``weekend_days``)."""
        return bool(is_weekend_day(self.local_day(t_s), self.weekend_days))

    def next_local_midnight(self, t_s: float) -> float:
        """Engine time [s] of the next local midnight strictly after ``t_s``."""
        local = self.local_s(t_s)
        target_local = (np.floor(local / _DAY_S) + 1.0) * _DAY_S
        guess = t_s + (target_local - local)
        # Correct for an offset change between t_s and the midnight (DST night).
        return t_s + (target_local - self.local_s(t_s)) - (self.local_s(guess) - target_local)

    def midnight_at_or_before(self, t_s: float) -> float:
        """Engine time [s] of the local midnight starting the local day of ``t_s`` (DST-exact)."""
        local = self.local_s(t_s)
        day0 = math.floor(local / _DAY_S) * _DAY_S
        t0 = t_s - (local - day0)
        return t0 - (self.local_s(t0) - day0)  # an offset change between midnight and t_s

    def at_local_hour(self, midnight_s: float, hour: float) -> float:
        """Engine time [s] of local ``hour`` [h] on the day starting at ``midnight_s`` (DST-exact).

        A wall-clock time skipped by a spring DST change maps one hour earlier (the time
        the clocks read before they jumped); a repeated one maps to its first occurrence.
        """
        target = self.local_s(midnight_s) + hour * 3600.0
        t = midnight_s + hour * 3600.0
        return t - (self.local_s(t) - target)

    @property
    def epoch_s(self) -> float:
        """Unix time [s] of engine time ``t_s = 0``."""
        return self._epoch0

    def local_times(self, t_s: np.ndarray) -> pd.DatetimeIndex:
        """Local (time-zone aware) timestamps of the engine times ``t_s`` [s]."""
        ts = pd.to_datetime(self._epoch0 + np.asarray(t_s, dtype=np.float64), unit="s", utc=True)
        return ts.tz_convert(self.zone)

    def _wall_s(self, t_s: np.ndarray) -> np.ndarray:
        """Local wall-clock whole seconds since 1970-01-01 local (floored) at engine times
        ``t_s`` [s], int64: the seconds of :meth:`local_times` without their time zone.

        numpy on the zone's cached offsets per UTC hour (:func:`hour_offsets`); pandas
        (:meth:`local_times`) only where that could differ from it: in an hour whose offset
        changes before the next hour starts, within 10 us of a whole second (where the
        conversion of float seconds to nanoseconds rounds), or off the exact integer range.
        """
        e = self._epoch0 + np.asarray(t_s, dtype=np.float64).ravel()
        out = np.empty(e.shape, dtype=np.int64)
        if not e.size:
            return out
        fl = np.floor(e)
        ok = np.isfinite(fl) & (np.abs(fl) < 2.0**50)
        if ok.all():
            frac = e - fl  # exact
            ok = (frac == 0.0) | ((frac > 1e-5) & (frac < 1.0 - 1e-5))
            sec = fl.astype(np.int64)
            hour = sec // 3600
            h0, h1 = int(hour.min()), int(hour.max())
            tab = hour_offsets(self.zone, h0, h1 + 1)
            if np.array_equal(tab, np.round(tab)):
                off = tab.astype(np.int64)
                j = hour - h0
                ok &= off[j] == off[j + 1]  # no offset change inside the hour
                out[:] = sec + off[j]
            else:
                ok[:] = False
        else:
            ok[:] = False
        bad = ~ok
        if bad.any():
            wall = self.local_times(e[bad] - self._epoch0).tz_localize(None).to_numpy()
            out[bad] = wall.astype("datetime64[s]").astype(np.int64)
        return out.reshape(np.shape(t_s))

    def hour_of_day_array(self, t_s: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`hour_of_day` at whole local seconds, ndarray like ``t_s``."""
        w = self._wall_s(t_s)
        day_s = w % 86_400
        return (day_s // 3600) + (day_s % 3600 // 60) / 60.0 + (day_s % 60) / 3600.0

    def is_weekend_array(self, t_s: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`is_weekend`, boolean ndarray like ``t_s``."""
        return np.asarray(np.isin((self._wall_s(t_s) // 86_400 + 3) % 7, self.weekend_days))

    def local_day_array(self, t_s: np.ndarray) -> np.ndarray:
        """Local day number (days since 1970-01-01 local) at the engine times ``t_s`` [s].

        Vectorised ``local_s(t) // 86400``, int64 ndarray like ``t_s``.

        Examples
        --------
        >>> clock = LocalClock(pd.Timestamp("2024-03-30T22:30Z"), "Europe/Paris")
        >>> clock.local_day_array(np.array([0.0, 3600.0]))  # 23:30 and 00:30 local
        array([19812, 19813])
        """
        return self._wall_s(t_s) // 86_400
