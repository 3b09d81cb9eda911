"""Appliances of many homes: triggered cycles and cold-appliance compressor cycles, compiled.

The laws are those of :mod:`twinforge.processes.appliances` (the CREST catalogue, the hour
weights, the idle start rate that makes up for busy time, the per-day and weekday factors,
the lognormal duration factor, the cold appliances' gamma on/off times and their duty
rising with the room temperature); here they are advanced for every home and appliance in
one compiled loop, event by event:

- a **triggered** appliance's candidate starts are a Poisson process at the bound
  ``r w_max f_max`` (exponential gaps), thinned by ``w(hour) f(day) / (w_max f_max)``
  (Lewis & Shedler 1979, doi:10.1002/nav.3800260304), kept only while someone is active
  (``requires_active``); a kept start plays the phase profile stretched by its duration
  factor, and the next candidate is drawn from the cycle's end (cycles never overlap);
- a **cold** appliance runs a gamma-distributed compressor time (CV 0.1), then rests for a
  gamma time (CV 0.2) of mean ``on (1 - d) / d``, ``d`` the duty at the room temperature at
  the cycle's start (:func:`~twinforge.processes.appliances.cold_duty_cycle`), starting at a
  random point of a cycle.

Every (home, appliance) pair reads its own stream (``appliances/<name>`` of its home) in time
order (:class:`~twinforge.components.streams.Buffers`): one record (gap, thinning uniform,
duration normal) per candidate, one (on factor, rest factor, two uniforms) per cold cycle.
Powers are written as exact interval means on the block's steps; a cycle that runs into the
next block is added again, clipped, there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from twinforge.components.localtime import HourOffsets, hour_of_day, local_day
from twinforge.components.signals import add_pulse
from twinforge.components.streams import Buffers
from twinforge.core.jit import njit
from twinforge.core.rng import RngStreams
from twinforge.processes import appliances as appl

__all__ = ["ColdAppliances", "CycleLog", "TriggeredAppliances", "drive"]

_ON_K = 1.0 / appl._ON_CV**2
_OFF_K = 1.0 / appl._OFF_CV**2


class CycleLog:
    """Cycles a kernel logs: growing arrays of (row, start [s], end [s], energy [J])."""

    def __init__(self, capacity: int = 4096) -> None:
        self.row = np.empty(capacity, dtype=np.int64)
        self.start = np.empty(capacity)
        self.end = np.empty(capacity)
        self.energy = np.empty(capacity)
        self.count = np.zeros(1, dtype=np.int64)

    def grow(self) -> None:
        n = self.row.size * 2
        for name in ("row", "start", "end", "energy"):
            old = getattr(self, name)
            new = np.empty(n, dtype=old.dtype)
            new[: old.size] = old
            setattr(self, name, new)

    @property
    def full(self) -> bool:
        return int(self.count[0]) >= self.row.size

    def take(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The logged cycles (copies), then empty the log."""
        k = int(self.count[0])
        out = (self.row[:k].copy(), self.start[:k].copy(), self.end[:k].copy(), self.energy[:k].copy())
        self.count[0] = 0
        return out

    @property
    def args(self):
        return self.row, self.start, self.end, self.energy, self.count


def drive(step, buffers: Buffers, log: CycleLog) -> None:
    """Run a resumable kernel to the end of its block.

    ``step()`` calls the kernel (reading ``buffers`` and ``log.args`` afresh) and returns 0
    (done), 1 (a row's random batch is used up: it is refilled) or 2 (``log`` is full: it
    grows); the kernel resumes where it stopped, so the draws do not depend on either.
    """
    while (status := step()) != 0:
        if status == 1:
            buffers.refill(buffers.empty_rows())
        else:
            log.grow()


@njit
def _log(log_row, log_a, log_b, log_e, count, r, a, b, e):
    k = count[0]
    if k >= log_row.size:
        return False
    log_row[k] = r
    log_a[k] = a
    log_b[k] = b
    log_e[k] = e
    count[0] = k + 1
    return True


@njit
def _phases(out, h, i0, dt, t, factor, dur, pw, n_ph):
    """Render one cycle's phases from ``t``; returns (end, energy)."""
    s = t
    energy = 0.0
    for k in range(n_ph):
        d = dur[k] * factor
        add_pulse(out, h, i0, dt, s, s + d, pw[k])
        energy += d * pw[k]
        s = s + d
    return s, energy


@njit
def _triggered(out, i0, dt, t_hi, home, app, rate_max, w, w_max, f_max, day_f, d0, req_active,
               sig_ln, dur, pw, n_ph, e_buf, u_buf, z_buf, pos, t_from, has_pend, pend_t, pend_u,
               pend_z, cyc_t, cyc_f, slot_t, n_active, epoch0, h0, offsets, record,
               log_row, log_a, log_b, log_e, count):
    """Advance every (home, appliance) row to ``t_hi``; returns 0, 1 (refill) or 2 (log full)."""
    status = 0
    batch = e_buf.shape[1]
    n_days = day_f.shape[1]
    for r in range(home.size):
        h = home[r]
        a = app[r]
        if rate_max[r] <= 0.0:
            continue
        while True:
            if has_pend[r]:
                tc = pend_t[r]
                uu = pend_u[r]
                zz = pend_z[r]
            else:
                if pos[r] >= batch:
                    status = max(status, 1)
                    break
                i = pos[r]
                pos[r] = i + 1
                tc = t_from[r] + e_buf[r, i] / rate_max[r]
                uu = u_buf[r, i]
                zz = z_buf[r, i]
                pend_t[r] = tc
                pend_u[r] = uu
                pend_z[r] = zz
                has_pend[r] = True
            if tc >= t_hi:
                break
            if record and count[0] >= log_row.size:
                status = 2
                break
            has_pend[r] = False
            t_from[r] = tc
            accept = w[a, int(hour_of_day(tc, epoch0, h0, offsets))]
            k = local_day(tc, epoch0, h0, offsets) - d0
            k = min(max(k, 0), n_days - 1)
            accept *= day_f[h, k]
            if uu * w_max[a] * f_max[h] >= accept:
                continue
            if req_active[a]:
                j = np.searchsorted(slot_t, tc, side="right") - 1
                if n_active[j, h] <= 0:
                    continue
            factor = 1.0
            if sig_ln[a] > 0.0:
                factor = math.exp(sig_ln[a] * zz - 0.5 * sig_ln[a] * sig_ln[a])
            end, energy = _phases(out, h, i0, dt, tc, factor, dur[a], pw[a], n_ph[a])
            if record:
                _log(log_row, log_a, log_b, log_e, count, r, tc, end, energy)
            cyc_t[r] = tc
            cyc_f[r] = factor
            t_from[r] = end
        if status == 2:
            return 2
    return status


@njit
def _triggered_carry(out, i0, dt, home, app, cyc_t, cyc_f, dur, pw, n_ph):
    """Add the parts of cycles started in earlier blocks that fall in this one."""
    t_lo = i0 * dt
    for r in range(home.size):
        if cyc_t[r] < t_lo and not math.isnan(cyc_t[r]):
            a = app[r]
            _phases(out, home[r], i0, dt, cyc_t[r], cyc_f[r], dur[a], pw[a], n_ph[a])


class TriggeredAppliances:
    """The occupant-triggered appliances of ``n`` homes.

    Parameters
    ----------
    owned : sequence of dict of str to bool
        Each home's stock (catalogue name -> owned).
    usage_scale : ndarray of shape (n,)
        Each home's ``appliances.usage_scale``.
    day_factor : ndarray of shape (n, n_days)
        Each home's factor on the start rates per local day (day factor times the weekday
        or weekend factor), from local day ``first_day``.
    streams : sequence of RngStreams
        Each home's streams (stream ``appliances/<name>``).
    catalogue : dict of str to ApplianceSpec
        The appliance types (default :data:`~twinforge.processes.appliances.APPLIANCES`).
    """

    def __init__(self, owned: Sequence[dict[str, bool]], usage_scale: np.ndarray, day_factor: np.ndarray,
                 first_day: int, streams: Sequence[RngStreams],
                 catalogue: dict[str, appl.ApplianceSpec] = appl.APPLIANCES) -> None:
        names = [n for n, s in catalogue.items() if not s.cold]
        self.names = names
        specs = [catalogue[n] for n in names]
        n_ph = np.array([len(s.phases) for s in specs], dtype=np.int64)
        m = int(n_ph.max())
        self.dur = np.zeros((len(specs), m))
        self.pw = np.zeros((len(specs), m))
        for a, s in enumerate(specs):
            self.dur[a, : n_ph[a]] = [d for d, _ in s.phases]
            self.pw[a, : n_ph[a]] = [p for _, p in s.phases]
        self.n_ph = n_ph
        w = np.array([np.asarray(s.hour_weights, dtype=np.float64) for s in specs])
        self.w = w / w.mean(axis=1, keepdims=True)
        self.w_max = self.w.max(axis=1)
        self.req_active = np.array([s.requires_active for s in specs])
        self.sig_ln = np.array([math.sqrt(math.log1p(s.duration_sd**2)) for s in specs])
        self.day_f = np.ascontiguousarray(day_factor, dtype=np.float64)
        self.f_max = self.day_f.max(axis=1) if self.day_f.size else np.ones(len(owned))
        self.d0 = int(first_day)
        home, app, rate, rngs = [], [], [], []
        for h, own in enumerate(owned):
            for a, (name, spec) in enumerate(zip(names, specs)):
                if not own.get(name, False):
                    continue
                n_year = spec.cycles_per_year * float(usage_scale[h])
                r = appl.idle_start_rate_per_s(spec, n_year) if n_year > 0 else 0.0
                home.append(h)
                app.append(a)
                rate.append(r * self.w_max[a] * self.f_max[h])
                rngs.append(streams[h].generator(f"appliances/{name}"))
        self.home = np.array(home, dtype=np.int64)
        self.app = np.array(app, dtype=np.int64)
        self.rate_max = np.array(rate, dtype=np.float64)
        n = self.home.size
        self.buffers = Buffers(rngs, {
            "e": (lambda g, k: g.standard_exponential(k), 1),
            "u": (lambda g, k: g.random(k), 1),
            "z": (lambda g, k: g.standard_normal(k), 1),
        }, batch=256)
        self.t_from = np.zeros(n)
        self.has_pend = np.zeros(n, dtype=bool)
        self.pend = np.zeros((3, n))
        self.cyc_t = np.full(n, np.nan)
        self.cyc_f = np.ones(n)

    def render(self, out: np.ndarray, i0: int, dt: float, clock_off: HourOffsets, slot_t: np.ndarray,
               n_active: np.ndarray, log: CycleLog | None) -> None:
        """Add the appliances' power over the block to ``out`` (shape (n_steps, n_homes)) [W]."""
        if self.home.size == 0:
            return
        _triggered_carry(out, i0, dt, self.home, self.app, self.cyc_t, self.cyc_f, self.dur, self.pw, self.n_ph)
        t_hi = (i0 + out.shape[0]) * dt
        b = self.buffers
        record = log is not None
        log = log if log is not None else CycleLog(1)
        n_active = np.asfortranarray(n_active)
        drive(lambda: _triggered(
            out, i0, dt, t_hi, self.home, self.app, self.rate_max, self.w, self.w_max, self.f_max,
            self.day_f, self.d0, self.req_active, self.sig_ln, self.dur, self.pw, self.n_ph,
            b.values["e"], b.values["u"], b.values["z"], b.pos, self.t_from, self.has_pend,
            self.pend[0], self.pend[1], self.pend[2], self.cyc_t, self.cyc_f, slot_t,
            n_active, *clock_off.args, record, *log.args,
        ), b, log)


@njit
def _cold(out, i0, dt, t_hi, home, on_mean, p_on, d_ref, t_in, g_on, g_off, u1, u2, pos, t_next,
          started, cyc_a, cyc_b, temp_step, record, log_row, log_a, log_b, log_e, count):
    """Advance every (home, cold appliance) row to ``t_hi``; 0, 1 (refill) or 2 (log full)."""
    status = 0
    batch = g_on.shape[1]
    for r in range(home.size):
        h = home[r]
        while t_next[r] < t_hi:
            if pos[r] >= batch:
                status = max(status, 1)
                break
            if record and count[0] >= log_row.size:
                return 2
            i = pos[r]
            pos[r] = i + 1
            t = t_next[r]
            k = int(math.floor(t / dt)) - i0
            k = min(max(k, 0), temp_step.shape[0] - 1)
            d = d_ref[r] * (temp_step[k, h] - t_in[r]) / (appl.REFERENCE_AMBIENT_C - t_in[r])
            d = min(max(d, 0.05), 0.95)
            rest_mean = on_mean[r] * (1.0 - d) / d
            if not started[r]:  # start inside a cycle: on with probability d
                started[r] = True
                if u1[r, i] < d:
                    run = on_mean[r] * g_on[r, i] * u2[r, i]
                else:
                    t_next[r] = t + rest_mean * g_off[r, i] * u2[r, i]
                    continue
            else:
                run = on_mean[r] * g_on[r, i]
            add_pulse(out, h, i0, dt, t, t + run, p_on[r])
            if record:
                _log(log_row, log_a, log_b, log_e, count, r, t, t + run, p_on[r] * run)
            cyc_a[r] = t
            cyc_b[r] = t + run
            t_next[r] = t + run + rest_mean * g_off[r, i]
    return status


@njit
def _cold_carry(out, i0, dt, home, p_on, cyc_a, cyc_b):
    t_lo = i0 * dt
    for r in range(home.size):
        if cyc_a[r] < t_lo < cyc_b[r]:
            add_pulse(out, home[r], i0, dt, cyc_a[r], cyc_b[r], p_on[r])


class ColdAppliances:
    """The fridges and freezers of ``n`` homes (stream ``appliances/<name>`` of each home)."""

    def __init__(self, owned: Sequence[dict[str, bool]], streams: Sequence[RngStreams],
                 catalogue: dict[str, appl.ApplianceSpec] = appl.APPLIANCES) -> None:
        names = [n for n, s in catalogue.items() if s.cold]
        self.names = names
        home, idx, rngs = [], [], []
        for h, own in enumerate(owned):
            for a, name in enumerate(names):
                if own.get(name, False):
                    home.append(h)
                    idx.append(a)
                    rngs.append(streams[h].generator(f"appliances/{name}"))
        specs = [catalogue[names[a]] for a in idx]
        self.home = np.array(home, dtype=np.int64)
        self.kind = np.array(idx, dtype=np.int64)
        self.on_mean = np.array([s.phases[0][0] for s in specs], dtype=np.float64)
        self.p_on = np.array([s.phases[0][1] for s in specs], dtype=np.float64)
        self.d_ref = np.array([s.duty_cycle for s in specs], dtype=np.float64)
        self.t_in = np.array([s.compartment_c for s in specs], dtype=np.float64)
        self.buffers = Buffers(rngs, {
            "on": (lambda g, k: g.standard_gamma(_ON_K, k) / _ON_K, 1),
            "off": (lambda g, k: g.standard_gamma(_OFF_K, k) / _OFF_K, 1),
            "u1": (lambda g, k: g.random(k), 1),
            "u2": (lambda g, k: g.random(k), 1),
        }, batch=256)
        n = self.home.size
        self.t_next = np.zeros(n)
        self.started = np.zeros(n, dtype=bool)
        self.cyc_a = np.full(n, -np.inf)
        self.cyc_b = np.full(n, -np.inf)

    def render(self, out: np.ndarray, i0: int, dt: float, temp_step_c: np.ndarray, log: CycleLog | None) -> None:
        """Add the compressors' power to ``out``; ``temp_step_c`` is each home's room
        temperature at the block's step starts [degC], shape (n_steps, n_homes)."""
        if self.home.size == 0:
            return
        _cold_carry(out, i0, dt, self.home, self.p_on, self.cyc_a, self.cyc_b)
        t_hi = (i0 + out.shape[0]) * dt
        b = self.buffers
        record = log is not None
        log = log if log is not None else CycleLog(1)
        temp_step_c = np.asfortranarray(temp_step_c)
        drive(lambda: _cold(out, i0, dt, t_hi, self.home, self.on_mean, self.p_on, self.d_ref, self.t_in,
                            b.values["on"], b.values["off"], b.values["u1"], b.values["u2"], b.pos,
                            self.t_next, self.started, self.cyc_a, self.cyc_b, temp_step_c, record,
                            *log.args), b, log)
