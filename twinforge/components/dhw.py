"""Electric water heaters of many homes: the tank of :mod:`twinforge.processes.dhw`, compiled.

The laws are the module's: a fully mixed tank whose heat is linear in time between events,
the household's draws (a shower and four small draws per occupant and day around the
routine's wake-up and bedtime, a lognormal daily volume), skipped when nobody is home, the
element switched at the thermostat's thresholds and by the off-peak relay, energy conserved
exactly. One record of the home's stream ``dhw`` per local day (normals and uniforms for up
to eight occupants) makes the day's draws; a compiled loop walks each home through its
events. The element's power is written as exact interval means on the block's steps, and
every finished heating cycle is logged with its energy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from twinforge.components.appliances import CycleLog, _log, drive
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
from twinforge.processes import dhw as dhw_mod
from twinforge.processes.dhw import DHWParams, day_draw_hours

__all__ = ["WaterHeaters"]

_MAX_OCC = 8
_N_SMALL = dhw_mod._N_SMALL
_Z_PER_OCC = dhw_mod.Z_PER_OCCUPANT
_U_PER_OCC = dhw_mod.U_PER_OCCUPANT


@njit
def _allowed(hour, win_a, win_b):
    if win_a < 0.0:
        return True
    if win_a < win_b:
        return win_a <= hour < win_b
    return hour >= win_a or hour < win_b


@njit
def _next_edge(t, d0, win_a, win_b, epoch0, h0, offsets):
    if win_a < 0.0:
        return math.inf
    best = math.inf
    m = d0
    for _ in range(3):
        for hh in (win_a, win_b):
            e = at_local_hour(m, hh, epoch0, h0, offsets)
            if t + 1e-6 < e < best:
                best = e
        m = next_local_midnight(m + 1.0, epoch0, h0, offsets)
    return best


@njit
def _tanks(out, i0, dt, home, n_occ, par, wake, bed, win, zbuf, ubuf, pos, energy, on, cyc_start,
           t_now, d0, d1, draw_t, draw_l, n_draw, i_draw, stats, slot_t, n_home, epoch0, h0, offsets, record,
           log_row, log_a, log_b, log_e, count):
    """Advance each tank to the block's end; 0, 1 (refill) or 2 (log full)."""
    n_steps = out.shape[0]
    t_hi = (i0 + n_steps) * dt
    batch = zbuf.shape[1] // (_MAX_OCC * _Z_PER_OCC)
    hours_buf = np.empty(draw_t.shape[1])
    for r in range(home.size):
        h = home[r]
        e_full, e_low, loss, pw, j_per_l = par[r, 5], par[r, 6], par[r, 7], par[r, 8], par[r, 9]
        tol = 1e-9 * e_full
        t = t_now[r]
        stuck = 0
        while t < t_hi:
            if t >= d1[r] - 1e-6 or n_draw[r] < 0:  # a new local day: its draws
                if pos[r] >= batch:
                    t_now[r] = t
                    return 1
                if n_draw[r] >= 0:
                    d0[r] = d1[r]
                    d1[r] = next_local_midnight(d1[r] + 1.0, epoch0, h0, offsets)
                i = pos[r]
                pos[r] = i + 1
                zrec = zbuf[r, i * _MAX_OCC * _Z_PER_OCC:(i + 1) * _MAX_OCC * _Z_PER_OCC]
                urec = ubuf[r, i * _MAX_OCC * _U_PER_OCC:(i + 1) * _MAX_OCC * _U_PER_OCC]
                weekend = weekend_day(local_day(d0[r] + 1.0, epoch0, h0, offsets))
                p = par[r]
                k = day_draw_hours(p[0], p[1], p[2], p[3], p[4], n_occ[r], weekend, wake[r], bed[r], zrec, urec,
                                   hours_buf, draw_l[r])
                for q in range(k):
                    draw_t[r, q] = at_local_hour(d0[r], hours_buf[q], epoch0, h0, offsets)
                n_draw[r] = k
                i_draw[r] = 0
                while i_draw[r] < n_draw[r] and draw_t[r, i_draw[r]] < 0.0:  # before the run
                    i_draw[r] += 1
            while i_draw[r] < n_draw[r] and draw_t[r, i_draw[r]] <= t + 1e-6:
                j = np.searchsorted(slot_t, t, side="right") - 1
                if n_home[max(j, 0), h] > 0:
                    want = draw_l[r, i_draw[r]] * j_per_l
                    got = min(want, energy[r])
                    energy[r] -= got
                    stats[r, 1] += got
                    stats[r, 2] += want - got
                i_draw[r] += 1
            allowed = _allowed(hour_of_day(t + 1e-3, epoch0, h0, offsets), win[r, 0], win[r, 1])
            if on[r] and (not allowed or energy[r] >= e_full - tol):
                if record:
                    if count[0] >= log_row.size:
                        t_now[r] = t
                        return 2
                    _log(log_row, log_a, log_b, log_e, count, r, cyc_start[r], t, pw * (t - cyc_start[r]))
                on[r] = False
            if not on[r] and allowed and energy[r] <= e_low + tol:
                on[r] = True
                cyc_start[r] = t
            nxt = min(d1[r], t_hi, _next_edge(t, d0[r], win[r, 0], win[r, 1], epoch0, h0, offsets))
            if i_draw[r] < n_draw[r]:
                nxt = min(nxt, draw_t[r, i_draw[r]])
            if on[r]:
                nxt = min(nxt, t + (e_full - energy[r]) / (pw - loss))
            elif allowed and loss > 0.0:
                nxt = min(nxt, t + max(energy[r] - e_low, 0.0) / loss)
            nxt = max(nxt, t)
            step = nxt - t
            if on[r]:
                add_pulse(out, h, i0, dt, t, nxt, pw)
                energy[r] = min(energy[r] + (pw - loss) * step, e_full + tol)
                stats[r, 0] += pw * step
                stats[r, 3] += loss * step
            else:
                lost = min(loss * step, energy[r])
                energy[r] -= lost
                stats[r, 3] += lost
            if step <= 0.0:
                stuck += 1
                if stuck > 4:  # nothing left to decide now: step past it
                    nxt = min(t + 1e-6, t_hi)
            else:
                stuck = 0
            t = nxt
        t_now[r] = t
    return 0


class WaterHeaters:
    """The electric water heaters of the homes that have one.

    Parameters
    ----------
    homes : sequence of int
        Index of each heater's home.
    params : sequence of DHWParams
    n_occupants : sequence of int
    routines : sequence of (float, float)
        Each home's weekday wake-up and bedtime [local h].
    streams : sequence of RngStreams
        Each heater's home's streams (stream ``dhw``).
    clock_off : HourOffsets
        Offsets covering the run's first day.
    """

    def __init__(self, homes: Sequence[int], params: Sequence[DHWParams], n_occupants: Sequence[int],
                 routines: Sequence[tuple[float, float]], streams: Sequence[RngStreams], clock_off: HourOffsets) -> None:
        self.home = np.array(homes, dtype=np.int64)
        n = self.home.size
        self.n_occ = np.array(n_occupants, dtype=np.int64)
        self.par = np.array([[p.draw_l_per_occupant_day, p.draw_sigma, p.morning_shower_share, p.shower_delay_h,
                              p.shower_sd_h, p.full_j, p.low_j, p.loss_w, p.element_w, p.j_per_l] for p in params],
                            dtype=np.float64).reshape(n, 10)
        self.wake = np.array([r[0] for r in routines], dtype=np.float64)
        self.bed = np.array([r[1] for r in routines], dtype=np.float64)
        self.win = np.array([p.offpeak_window_h if p.offpeak_window_h is not None else (-1.0, -1.0) for p in params],
                            dtype=np.float64).reshape(n, 2)
        self.buffers = Buffers([s.generator("dhw") for s in streams], {
            "z": (lambda g, k: g.standard_normal(k), _MAX_OCC * _Z_PER_OCC),
            "u": (lambda g, k: g.random(k), _MAX_OCC * _U_PER_OCC),
        }, batch=64)
        self.energy = self.par[:, 5].copy()
        self.on = np.zeros(n, dtype=np.bool_)
        self.cyc_start = np.zeros(n)
        self.t_now = np.zeros(n)
        m0 = midnight_at_or_before(1e-3, *clock_off.args)
        self.d0 = np.full(n, m0)
        self.d1 = np.full(n, next_local_midnight(m0 + 1.0, *clock_off.args))
        self.draw_t = np.zeros((n, _MAX_OCC * (1 + _N_SMALL)))
        self.draw_l = np.zeros((n, _MAX_OCC * (1 + _N_SMALL)))
        self.n_draw = np.full(n, -1, dtype=np.int64)  # -1: the first day is still to draw
        self.i_draw = np.zeros(n, dtype=np.int64)
        #: running totals per heater [J]: element, delivered draws, unmet draws, standby losses
        self.stats = np.zeros((n, 4))

    @property
    def stored_j(self) -> np.ndarray:
        """Heat stored in each tank above cold water now [J]."""
        return self.energy

    def render(self, out: np.ndarray, i0: int, dt: float, clock_off: HourOffsets, slot_t: np.ndarray,
               n_home: np.ndarray, log: CycleLog | None) -> None:
        """Add the elements' power over the block to ``out`` (shape (n_steps, n_homes)) [W]."""
        if self.home.size == 0:
            return
        b = self.buffers
        record = log is not None
        log = log if log is not None else CycleLog(1)
        n_home = np.asfortranarray(n_home)
        drive(lambda: _tanks(out, i0, dt, self.home, self.n_occ, self.par, self.wake, self.bed, self.win,
                             b.values["z"], b.values["u"], b.pos, self.energy, self.on, self.cyc_start, self.t_now,
                             self.d0, self.d1, self.draw_t, self.draw_l, self.n_draw, self.i_draw, self.stats,
                             slot_t, n_home, *clock_off.args, record, *log.args), b, log)
