"""Occupants of many homes: the Markov chains of :mod:`twinforge.processes.occupancy`, compiled.

Each occupant is the chain of :func:`~twinforge.processes.occupancy.occupancy_profile` and
the rank-one redraw matrices of :func:`~twinforge.processes.occupancy.transition_matrices`,
moved at every 10-minute local slot boundary (DST days have 138 or 150 slots; a weekday to
weekend midnight or a DST jump uses the matrix between the two profile rows, as in the
module's docstring). Each occupant has its own stream (``occupancy/<k>`` of its home): one
normal for its schedule shift, one uniform for its first state, then one uniform per slot
boundary, read in time order by a compiled kernel, so the states depend on nothing but the
home's streams. Household trips (:class:`~twinforge.processes.occupancy.TripDays`, stream
``occupancy/trips``) force every occupant away; at the first boundary after a trip each
state is redrawn from that slot's profile row.

The result is a slot table: the start time of every slot of the block and, per home, the
occupants at home and active in it (shape ``(n_slots, n_homes)``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from twinforge.components.streams import Buffers
from twinforge.core.calendar import LocalClock
from twinforge.core.jit import njit
from twinforge.core.rng import RngStreams
from twinforge.processes import occupancy as occ

__all__ = ["Occupants"]


@njit
def _next_state(pa, pb, floor_, state, x):
    """The state after a redraw step from ``state`` with uniform ``x`` (rank-one matrix ``pa -> pb``)."""
    lam = floor_
    for j in range(3):
        if pa[j] > 0.0:
            lam = max(lam, 1.0 - pb[j] / pa[j])
    lam = min(max(lam, 0.0), 1.0)
    q0 = pa[0] + (pb[0] - pa[0]) / lam if lam > 0.0 else pa[0]
    q1 = pa[1] + (pb[1] - pa[1]) / lam if lam > 0.0 else pa[1]
    q2 = pa[2] + (pb[2] - pa[2]) / lam if lam > 0.0 else pa[2]
    q0, q1, q2 = max(q0, 0.0), max(q1, 0.0), max(q2, 0.0)
    s = q0 + q1 + q2
    c0 = lam * q0 / s + (1.0 - lam if state == 0 else 0.0)
    c1 = c0 + lam * q1 / s + (1.0 - lam if state == 1 else 0.0)
    return 0 if x < c0 else (1 if x < c1 else 2)


@njit
def _advance(state, tripping, pos, u, prof_of, shift, floor_, profiles, wa, sa, wb, sb,
             away, home_of, j_next, out):
    """Move every occupant over the boundaries ``j_next[o] ..``; stop where its uniforms run out."""
    n_occ = state.size
    n_b = wa.size
    batch = u.shape[1]
    for o in range(n_occ):
        j = j_next[o]
        pr = prof_of[o]
        s = shift[o]
        h = home_of[o]
        while j < n_b:
            if pos[o] >= batch:
                break
            x = u[o, pos[o]]
            pos[o] += 1
            a = (sa[j] - s) % 144
            b = (sb[j] - s) % 144
            pb = profiles[pr, wb[j], b]
            if away.shape[0] > 0 and away[j, h]:
                new = 0
                tripping[o] = True
            elif tripping[o]:  # back from a trip: the slot's marginal
                tripping[o] = False
                c0 = pb[0]
                c1 = pb[0] + pb[1]
                new = 0 if x < c0 else (1 if x < c1 else 2)
            else:
                new = _next_state(profiles[pr, wa[j], a], pb, floor_[o], state[o], x)
            state[o] = new
            out[j, o] = new
            j += 1
        j_next[o] = j


class Occupants:
    """The occupants of ``n`` homes that share one clock.

    Parameters
    ----------
    params : sequence of OccupancyParams
        One per home.
    clock : LocalClock
        Local time of the homes.
    streams : sequence of RngStreams
        Each home's streams.
    trips : sequence of TripDays or None
        Each home's trips (None: no trips), shared with the components that follow them.
    """

    def __init__(self, params: Sequence[occ.OccupancyParams], clock: LocalClock,
                 streams: Sequence[RngStreams], trips: Sequence[occ.TripDays | None]) -> None:
        self.clock = clock
        self.n = n = len(params)
        self.trips = list(trips)
        counts = np.array([p.n_occupants for p in params], dtype=np.int64)
        self.home_of = np.repeat(np.arange(n), counts)
        self.first_occ = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
        # routines: one profile stack per distinct routine
        keys: dict[tuple, int] = {}
        stacks = []
        prof_home = np.empty(n, dtype=np.int64)
        for h, p in enumerate(params):
            key = (p.wake_h, p.leave_h, p.return_h, p.bed_h, p.away_share)
            if key not in keys:
                keys[key] = len(stacks)
                stacks.append(np.stack([occ.occupancy_profile(False, p), occ.occupancy_profile(True, p)]))
            prof_home[h] = keys[key]
        self.profiles = np.ascontiguousarray(np.stack(stacks))  # (n_routines, 2, 144, 3)
        self.prof_of = prof_home[self.home_of]
        rngs, shift, floor_ = [], [], []
        for h, p in enumerate(params):
            for k in range(p.n_occupants):
                rng = streams[h].generator(f"occupancy/{k}")
                sd = p.schedule_shift_sd_h
                s = 0
                if sd > 0.0:
                    s_h = float(np.clip(rng.normal(0.0, sd), -3.0 * sd, 3.0 * sd))
                    s = int(round(s_h * occ.SLOTS_PER_DAY / 24.0))
                rngs.append(rng)
                shift.append(s)
                floor_.append(1.0 - p.persistence)
        self.shift = np.array(shift, dtype=np.int64)
        self.floor = np.array(floor_, dtype=np.float64)
        self.buffers = Buffers(rngs, {"u": (lambda r, m: r.random(m), 1)}, batch=1024)
        # the first state, from the profile row of the run's first slot
        t = 1e-3
        self._wk = bool(clock.is_weekend(t))
        self._slot = occ._slot_of(clock, 0.0)
        u0 = self._take_one()
        rows = self.profiles[self.prof_of, int(self._wk), (self._slot - self.shift) % 144]
        cum = np.cumsum(rows, axis=1)
        self.state = (u0[:, None] >= cum[:, :2]).sum(axis=1).astype(np.int64)
        self.tripping = np.zeros(self.home_of.size, dtype=bool)
        away0 = self._away_at(np.array([0.0]))
        if away0 is not None:
            self.tripping = away0[0][self.home_of]
            self.state[self.tripping] = occ.AWAY
        # the slot table: start times and per-home counts
        self.slot_t = np.array([0.0])
        self.n_home_tab, self.n_active_tab = self._counts(self.state[None, :])
        self._day0 = clock.midnight_at_or_before(t)
        self._j_first = int(math.floor((0.0 - self._day0) / occ.SLOT_S + 1e-9)) + 1
        self._done_to = 0.0  # boundaries up to here are in the table

    def _take_one(self) -> np.ndarray:
        b = self.buffers
        empty = b.empty_rows()
        if empty.size:
            b.refill(empty)
        rows = np.arange(b.pos.size)
        out = b.values["u"][rows, b.pos]
        b.pos += 1
        return out

    def _counts(self, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        home = np.add.reduceat((states > 0).astype(np.int16), self.first_occ, axis=1)
        active = np.add.reduceat((states == occ.ACTIVE).astype(np.int16), self.first_occ, axis=1)
        return home, active

    def _away_at(self, t_s: np.ndarray) -> np.ndarray | None:
        """Whether each home is away on a trip at engine times ``t_s`` + 1 ms, (n_t, n) or None."""
        if not any(tr is not None for tr in self.trips):
            return None
        c = self.clock
        tt = np.asarray(t_s, dtype=np.float64) + 1e-3
        days = c.local_day_array(tt)
        hours = c.hour_of_day_array(tt)
        out = np.zeros((tt.size, self.n), dtype=bool)
        for h, tr in enumerate(self.trips):
            if tr is None:
                continue
            cache = {d: bool(tr.on_trip(d)[0]) for d in range(int(days.min()) - 1, int(days.max()) + 2)}
            today = np.array([cache[d] for d in days.tolist()])
            before = np.array([cache[d - 1] for d in days.tolist()])
            after = np.array([cache[d + 1] for d in days.tolist()])
            out[:, h] = today & (before | (hours >= tr.leave_h[0])) & (after | (hours < tr.return_h[0]))
        return out

    def _boundaries(self, t_hi: float):
        """Slot boundaries in ``(done_to, t_hi)``: times and (weekend, slot) before and after.

        A day's boundaries are its midnight plus whole slots; on a 24-h day the slot after
        boundary ``j`` is ``j`` (built with numpy), on a DST day the wall-clock slot.
        """
        c = self.clock
        parts: list[tuple[np.ndarray, ...]] = []
        wk, slot = self._wk, self._slot
        while True:
            d0 = self._day0
            d1 = c.next_local_midnight(d0 + 1.0)
            wk_next = bool(c.is_weekend(d1 + 1e-3))
            n_slots = int(round((d1 - d0) / occ.SLOT_S))
            j = np.arange(self._j_first, n_slots + 1)
            b = d0 + j * occ.SLOT_S
            keep = b < t_hi
            j, b = j[keep], b[keep]
            if j.size:
                if n_slots == occ.SLOTS_PER_DAY:
                    s_b = j.copy()
                else:
                    s_b = np.array([occ._slot_of(c, x) for x in b.tolist()], dtype=np.int64)
                w_b = np.full(j.size, int(wk), dtype=np.int64)
                last = j == n_slots
                s_b[last] = 0
                w_b[last] = int(wk_next)
                s_a = np.concatenate(([slot], s_b[:-1]))
                w_a = np.concatenate(([int(wk)], w_b[:-1]))
                parts.append((b, w_a, s_a, w_b, s_b))
                wk, slot = bool(w_b[-1]), int(s_b[-1])
            if not keep.all():
                self._j_first = int(self._j_first + keep.sum())
                break
            self._day0, self._j_first = d1, 1
        self._wk, self._slot = wk, slot
        if not parts:
            e = np.empty(0, dtype=np.int64)
            return np.empty(0), e, e, e, e
        return tuple(np.concatenate([p[k] for p in parts]) for k in range(5))

    def advance(self, t_lo: float, t_hi: float) -> None:
        """Extend the slot table to every slot that starts before ``t_hi``; forget slots ending before ``t_lo``."""
        bt, wa, sa, wb, sb = self._boundaries(t_hi)
        if bt.size:
            away = self._away_at(bt)
            away = np.zeros((0, self.n), dtype=bool) if away is None else away
            n_occ = self.state.size
            out = np.empty((bt.size, n_occ), dtype=np.int64, order="F")  # a column per occupant
            j_next = np.zeros(n_occ, dtype=np.int64)
            b = self.buffers
            while True:
                _advance(self.state, self.tripping, b.pos, b.values["u"], self.prof_of, self.shift,
                         self.floor, self.profiles, wa, sa, wb, sb, away, self.home_of, j_next, out)
                if (j_next >= bt.size).all():
                    break
                b.refill(b.empty_rows())
            home, active = self._counts(out)
            self.slot_t = np.concatenate((self.slot_t, bt))
            self.n_home_tab = np.concatenate((self.n_home_tab, home))
            self.n_active_tab = np.concatenate((self.n_active_tab, active))
        keep = max(int(np.searchsorted(self.slot_t, t_lo, side="right")) - 1, 0)
        if keep:
            self.slot_t = self.slot_t[keep:]
            self.n_home_tab = self.n_home_tab[keep:]
            self.n_active_tab = self.n_active_tab[keep:]

    def at(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Occupants at home and active at the engine times ``t_s``, each of shape (len(t_s), n)."""
        k = np.searchsorted(self.slot_t, t_s, side="right") - 1
        return self.n_home_tab[k], self.n_active_tab[k]
