"""Electric vehicles of many homes: the daily sessions of :mod:`twinforge.processes.ev`, compiled.

Each local day, each car is driven with probability ``drive_probability`` (a lognormal
distance), comes home at a normal local hour (weekday or weekend law) unless the household
is away on a trip, is plugged in with probability ``plug_in_probability`` (always when the
energy to recharge reaches ``forced_plug_in_share`` of the battery) and charges at
``charger_kw`` until the need is met or it leaves the next morning. One record of the home's
stream ``ev`` per local day (two uniforms, three normals); the charging power is written as
exact interval means and each session is logged with its energy and the need at plug-in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from twinforge.components.appliances import CycleLog, _log
from twinforge.components.localtime import (
    HourOffsets,
    at_local_hour,
    hour_of_day,
    local_day,
    midnight_at_or_before,
    next_local_midnight,
    weekend_day,
)
from twinforge.components.signals import add_pulse
from twinforge.components.streams import Buffers
from twinforge.core.jit import njit
from twinforge.core.rng import RngStreams
from twinforge.processes.ev import EVParams, charging_session

__all__ = ["Vehicles"]


@njit
def _cars(out, i0, dt, carry, home, par, ubuf, zbuf, pos, need, last_end, d0, sess_a, sess_b, sess_i0, trip_on,
          trip_d0, trip_h, epoch0, h0, offsets, record, log_row, log_a, log_b, log_e, log_need, count):
    """Process every local day whose midnight falls before the block's end; 0, 1 or 2."""
    n_steps = out.shape[0]
    t_lo = i0 * dt
    t_hi = (i0 + n_steps) * dt
    batch = ubuf.shape[1] // 2
    if carry:
        for r in range(home.size):
            if sess_i0[r] < i0 and sess_b[r] > t_lo:  # a session drawn in an earlier block
                add_pulse(out, home[r], i0, dt, sess_a[r], sess_b[r], par[r, 0])
    for r in range(home.size):
        h = home[r]
        p = par[r]
        charger_w, batt, kwh_km, p_drive, p_plug, forced_share = p[0], p[1], p[2], p[3], p[4], p[5]
        mu, sig = p[6], p[7]
        while d0[r] < t_hi:
            if pos[r] >= batch:
                return 1
            if record and count[0] >= log_row.size:
                return 2
            i = pos[r]
            pos[r] = i + 1
            m0 = d0[r]
            m1 = next_local_midnight(m0 + 1.0, epoch0, h0, offsets)
            weekend = weekend_day(local_day(m0 + 1.0, epoch0, h0, offsets))
            drives = ubuf[r, 2 * i] < p_drive
            u_plug = ubuf[r, 2 * i + 1]
            z0, z1, z2 = zbuf[r, 3 * i], zbuf[r, 3 * i + 1], zbuf[r, 3 * i + 2]
            km = math.exp(mu + sig * z0) if (drives and mu > -1e300) else 0.0
            if weekend:
                arr_h = p[10] + p[11] * z1
            else:
                arr_h = p[8] + p[9] * z1
            arr_h = min(max(arr_h, 12.0), 23.9)
            dep_h = min(max(p[12] + p[13] * z2, 3.0), 11.5)
            arrival = at_local_hour(m0, arr_h, epoch0, h0, offsets)
            away = False
            if trip_on.shape[1] > 0:
                dd = local_day(arrival, epoch0, h0, offsets) - trip_d0
                hh = hour_of_day(arrival, epoch0, h0, offsets)
                if 1 <= dd < trip_on.shape[1] - 1:
                    away = trip_on[h, dd] and (trip_on[h, dd - 1] or hh >= trip_h[h, 0]) and \
                        (trip_on[h, dd + 1] or hh < trip_h[h, 1])
            if drives and arrival >= 0.0 and not away:
                need[r] = min(need[r] + km * kwh_km, batt)
                forced = need[r] >= forced_share * batt
                if forced or u_plug < p_plug:
                    departure = at_local_hour(m1, dep_h, epoch0, h0, offsets)
                    dur, energy_kwh = charging_session(need[r], charger_w / 1000.0, departure - arrival)
                    if dur > 0.0:
                        if arrival >= last_end[r]:
                            last_end[r] = arrival + dur
                            add_pulse(out, h, i0, dt, arrival, arrival + dur, charger_w)
                            sess_a[r] = arrival
                            sess_b[r] = arrival + dur
                            sess_i0[r] = i0
                            if record:
                                log_need[count[0]] = need[r]
                                _log(log_row, log_a, log_b, log_e, count, r, arrival, arrival + dur,
                                     charger_w * dur)
                            need[r] = max(need[r] - energy_kwh, 0.0)
            d0[r] = m1
    return 0


class Vehicles:
    """The electric vehicles of the homes that have one (stream ``ev`` of each home)."""

    def __init__(self, homes: Sequence[int], params: Sequence[EVParams], streams: Sequence[RngStreams],
                 clock_off: HourOffsets) -> None:
        self.home = np.array(homes, dtype=np.int64)
        rows = []
        for p in params:
            mean_drive = p.daily_km_mean / p.drive_probability
            mu = math.log(mean_drive) - 0.5 * p.daily_km_sigma**2 if mean_drive > 0 else -math.inf
            rows.append([p.charger_kw * 1000.0, p.battery_kwh, p.kwh_per_km, p.drive_probability,
                         p.plug_in_probability, p.forced_plug_in_share, mu, p.daily_km_sigma,
                         p.weekday_arrival_h_mean, p.weekday_arrival_h_sd, p.weekend_arrival_h_mean,
                         p.weekend_arrival_h_sd, p.departure_h, p.departure_h_sd])
        n = self.home.size
        self.par = np.array(rows, dtype=np.float64).reshape(n, 14)
        self.buffers = Buffers([s.generator("ev") for s in streams], {
            "u": (lambda g, k: g.random(k), 2),
            "z": (lambda g, k: g.standard_normal(k), 3),
        }, batch=128)
        self.need = np.zeros(n)
        self.last_end = np.full(n, -np.inf)
        self.d0 = np.full(n, midnight_at_or_before(1e-3, *clock_off.args))
        self.sess_a = np.full(n, -np.inf)
        self.sess_b = np.full(n, -np.inf)
        self.sess_i0 = np.full(n, -1, dtype=np.int64)
        self.need_log = np.empty(0)

    def render(self, out: np.ndarray, i0: int, dt: float, clock_off: HourOffsets, trip_on: np.ndarray,
               trip_d0: int, trip_h: np.ndarray, log: CycleLog | None) -> None:
        """Add the charging power over the block to ``out`` (shape (n_steps, n_homes)) [W]."""
        if self.home.size == 0:
            return
        b = self.buffers
        record = log is not None
        log = log if log is not None else CycleLog(1)
        if self.need_log.size < log.row.size:
            grown = np.empty(log.row.size)
            grown[: self.need_log.size] = self.need_log
            self.need_log = grown
        first = True
        while True:
            status = _cars(out, i0, dt, first, self.home, self.par, b.values["u"], b.values["z"], b.pos,
                           self.need, self.last_end, self.d0, self.sess_a, self.sess_b, self.sess_i0, trip_on,
                           trip_d0, trip_h, *clock_off.args, record, *log.args[:4], self.need_log, log.count)
            if status == 0:
                return
            first = False
            if status == 1:
                b.refill(b.empty_rows())
            else:
                log.grow()
                grown = np.empty(log.row.size)
                grown[: self.need_log.size] = self.need_log
                self.need_log = grown
