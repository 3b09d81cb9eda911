"""Envelope, heating/cooling plant and thermostat of many homes, switched exactly.

Each home is the 1R1C zone of :mod:`twinforge.processes.thermal` with the plant and the
thermostats of :mod:`twinforge.processes.hvac`. Between two changes of its inputs the
zone's temperature follows the exact solution ``T(t) = T_eq + (T_0 - T_eq) exp(-t / tau)``;
the inputs change at the weather knots (every ``knot_s``: outdoor temperature and solar
gain at the knot's midpoint), when the occupants change (setpoint and gains) and when the
supply changes (a feeder outage). The thermostat's switches fall between those times:

- **hysteresis**: the plant switches when the temperature reaches a band edge, at the
  closed-form time ``tau ln((T_0 - T_eq) / (T^* - T_eq))``
  (:func:`~twinforge.processes.thermal.time_to_reach_s`);
- **TPI**: cycles of ``3600 / cycles_per_hour`` seconds follow each other on the home's own
  lattice (a random phase per home: thermostats of different homes are not in step); a
  cycle's duty is :func:`~twinforge.processes.hvac.tpi_duty` and the plant runs its first
  part; when the occupants (setpoint, gains) or the supply change inside a cycle, the duty
  of the rest of the cycle is decided again from the temperature then.

A compiled loop walks every home through these events, so the switching is exact (no time
step): the only discretisation is that of the inputs (the weather knots), shared by every
sample period and by the home and grid twins alike. The plant's electric power is written
as exact interval means on the block's steps; the temperature and the thermostat's mode are
the values at each step's start. Every finished heating or cooling run is logged with its
electric energy.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence

import numpy as np

from twinforge.components.appliances import CycleLog, _log
from twinforge.components.signals import add_pulse
from twinforge.core.jit import njit
from twinforge.processes.hvac import GAS_AUX_FRACTION, HVACParams, tpi_decay
from twinforge.processes.thermal import EnvelopeParams

__all__ = ["Zones"]

_INF = math.inf


@njit
def _time_to_reach(t0, teq, tau, target):
    if t0 == target:
        return 0.0
    a = t0 - teq
    b = target - teq
    if a == 0.0 or b == 0.0 or (a > 0.0) != (b > 0.0):
        return _INF
    ratio = a / b
    if ratio < 1.0:
        return _INF
    return tau * math.log(ratio)


@njit
def _tpi_duty(temp, target, t_out, q_free, cap, ua, decay, sign):
    if cap <= 0.0:
        return 0.0
    t_eq = (target - temp * decay) / (1.0 - decay)
    q = sign * (ua * (t_eq - t_out) - q_free)
    return min(max(q / cap, 0.0), 1.0)


@njit
def _cop(mode, temp_in, t_out, hp, gas, sink):
    if mode == 1:
        if hp:
            d = min(max(sink - t_out, 15.0), 60.0)
            return 6.08 - 0.09 * d + 0.0005 * d * d
        if gas:
            return 1.0 / GAS_AUX
        return 1.0
    t_evap = temp_in - 10.0 + 273.15
    t_cond = t_out + 10.0 + 273.15
    lift = max(t_cond - t_evap, 1.0)
    return min(max(0.35 * t_evap / lift, 1.0), 8.0)


GAS_AUX = GAS_AUX_FRACTION


@njit
def _zones(hvac_out, temp_out, mode_out, i0, dt, knot_s, k0, knot_tout, knot_ghi,
           slot_t, n_home, n_active, served, ua, tau, aperture, gain_base, gain_occ, cap_h, cap_c,
           hsp, hsb, csp, csb, half, tpi, cycle_s, decay, phase, hp, gas, sink,
           temp, mode, cyc_end, on_end, cyc_mode, run_start, run_energy, in_key, record,
           log_row, log_a, log_b, log_e, count):
    """Walk each home through the block; returns 0 or 2 (log full: nothing changed)."""
    n_steps = hvac_out.shape[0]
    t_lo = i0 * dt
    t_hi = (i0 + n_steps) * dt
    n_slot = slot_t.size
    has_supply = served.shape[0] > 0
    for h in range(hvac_out.shape[1]):
        now = t_lo
        stuck = 0
        on = True
        next_sup = _INF
        k_change = -1
        jc = -1
        T = temp[h]
        m = mode[h]
        k_sample = 0  # next step whose start we sample
        j = np.searchsorted(slot_t, now, side="right") - 1
        while now < t_hi:
            # inputs now
            kk = int(math.floor(now / knot_s + 1e-9)) - k0
            t_out = knot_tout[kk]
            sol = aperture[h] * knot_ghi[kk]
            next_knot = (kk + k0 + 1) * knot_s
            while j + 1 < n_slot and slot_t[j + 1] <= now:
                j += 1
            nh = n_home[j, h]
            na = n_active[j, h]
            if jc <= j:  # the next change of this home's occupants
                jc = j + 1
                while jc < n_slot and n_home[jc, h] == nh and n_active[jc, h] == na:
                    jc += 1
            next_occ = slot_t[jc] if jc < n_slot else _INF
            if has_supply:
                ks = int(math.floor(now / dt + 1e-9)) - i0
                ks = min(max(ks, 0), n_steps - 1)
                if ks >= k_change:  # find the next change of this home's supply
                    on = served[ks, h]
                    k2 = ks + 1
                    while k2 < n_steps and served[k2, h] == on:
                        k2 += 1
                    k_change = k2
                    next_sup = (i0 + k2) * dt if k2 < n_steps else _INF
            if na > 0:
                heat_sp, cool_sp = hsp[h], csp[h]
            else:
                heat_sp, cool_sp = hsb[h], csb[h]
            q_free = sol + gain_base[h] + gain_occ[h] * nh
            ch = cap_h[h] if on else 0.0
            cc = cap_c[h] if on else 0.0
            old = m
            key = nh * 64 + na + (0 if on else 4096)
            changed = key != in_key[h]
            in_key[h] = key
            if tpi[h]:
                rem = 0.0
                if now >= cyc_end[h] - 1e-6:  # a new cycle, on this home's lattice
                    if cyc_end[h] == -_INF:
                        cyc_end[h] = phase[h] + (math.floor((now - phase[h]) / cycle_s[h]) + 1.0) * cycle_s[h]
                    else:
                        cyc_end[h] = now + cycle_s[h]
                    rem = cyc_end[h] - now
                elif changed:  # new setpoint, gains or supply: decide the rest of the cycle again
                    rem = cyc_end[h] - now
                if rem > 1.0:
                    dec = decay[h] if rem == cycle_s[h] else math.exp(-rem / tau[h])
                    d_h = _tpi_duty(T, heat_sp, t_out, q_free, ch, ua[h], dec, 1.0)
                    d_c = _tpi_duty(T, cool_sp, t_out, q_free, cc, ua[h], dec, -1.0)
                    if d_h >= d_c:
                        cyc_mode[h] = 1 if d_h > 0.0 else 0
                        duty = d_h
                    else:
                        cyc_mode[h] = 2
                        duty = d_c
                    on_end[h] = now + duty * rem
                m = cyc_mode[h] if now < on_end[h] - 1e-6 else 0
                if not on:
                    m = 0
            else:
                if not on:
                    m = 0
                elif m == 0:
                    if ch > 0.0 and T <= heat_sp - half[h]:
                        m = 1
                    elif cc > 0.0 and T >= cool_sp + half[h]:
                        m = 2
                elif m == 1 and T >= heat_sp + half[h] or m == 2 and T <= cool_sp - half[h]:
                    m = 0
            if m != old:
                if old != 0 and record:
                    if count[0] >= log_row.size:
                        return 2
                    _log(log_row, log_a, log_b, log_e, count, h * 4 + old, run_start[h], now, run_energy[h])
                run_start[h] = now
                run_energy[h] = 0.0
            if m == 1:
                q_hvac = cap_h[h]
            elif m == 2:
                q_hvac = -cap_c[h]
            else:
                q_hvac = 0.0
            p_el = abs(q_hvac) / _cop(m, T, t_out, hp[h], gas[h], sink[h]) if m != 0 else 0.0
            t_eq = t_out + (q_free + q_hvac) / ua[h]
            target = _INF
            has_target = False
            if tpi[h]:
                t_sw = (on_end[h] if m != 0 else cyc_end[h]) - now
            elif m == 1:
                target = heat_sp + half[h]
                has_target = True
                t_sw = _time_to_reach(T, t_eq, tau[h], target)
            elif m == 2:
                target = cool_sp - half[h]
                has_target = True
                t_sw = _time_to_reach(T, t_eq, tau[h], target)
            else:
                t_a = _time_to_reach(T, t_eq, tau[h], heat_sp - half[h]) if ch > 0.0 else _INF
                t_b = _time_to_reach(T, t_eq, tau[h], cool_sp + half[h]) if cc > 0.0 else _INF
                if t_a <= t_b:
                    target, t_sw = heat_sp - half[h], t_a
                else:
                    target, t_sw = cool_sp + half[h], t_b
                has_target = t_sw < _INF
            seg_end = min(next_knot, next_occ, next_sup, t_hi)
            if now + t_sw <= seg_end:
                end = now + t_sw
                switch = True
            else:
                end = seg_end
                switch = False
            if end <= now:  # a switch due now: decide again (mode already moved)
                end = now
                stuck += 1
                if stuck > 8:  # a switch due now that decides nothing new: move on
                    end = seg_end
                    switch = False
            else:
                stuck = 0
            # sample the step starts in [now, end)
            while k_sample < n_steps and (i0 + k_sample) * dt < end:
                s = (i0 + k_sample) * dt
                if s >= now:
                    temp_out[k_sample, h] = t_eq + (T - t_eq) * math.exp(-(s - now) / tau[h])
                    mode_out[k_sample, h] = m
                k_sample += 1
            add_pulse(hvac_out, h, i0, dt, now, end, p_el)
            run_energy[h] += p_el * (end - now)
            if switch and has_target and not tpi[h]:
                T = target
            else:
                T = t_eq + (T - t_eq) * math.exp(-(end - now) / tau[h])
            now = end
        temp[h] = T
        mode[h] = m
    return 0


class Zones:
    """The thermal zones (envelope, plant, thermostat) of ``n`` homes.

    Parameters
    ----------
    envelopes, hvacs : sequences of EnvelopeParams and HVACParams
        One per home.
    knot_s : float
        Weather knot interval [s] (the homes' ``knot_s``).
    phase_share : ndarray of shape (n,)
        Where each home's TPI cycles start, as a share of a cycle in [0, 1): thermostats
        of different homes are not in step.
    """

    def __init__(self, envelopes: Sequence[EnvelopeParams], hvacs: Sequence[HVACParams], knot_s: float,
                 phase_share: np.ndarray) -> None:
        g = lambda f, xs: np.array([f(x) for x in xs], dtype=np.float64)
        self.knot_s = float(knot_s)
        self.ua = g(lambda e: e.ua_w_per_k, envelopes)
        self.tau = g(lambda e: e.tau_s, envelopes)
        self.aperture = g(lambda e: e.solar_aperture_m2, envelopes)
        self.gain_base = g(lambda e: e.base_internal_gain_w, envelopes)
        self.gain_occ = g(lambda e: e.gain_per_occupant_w, envelopes)
        self.cap_h = g(lambda h: h.heating_capacity_w if h.heating != "none" else 0.0, hvacs)
        self.cap_c = g(lambda h: h.cooling_capacity_w if h.cooling else 0.0, hvacs)
        self.hsp = g(lambda h: h.heat_setpoint_c, hvacs)
        self.hsb = g(lambda h: h.heat_setback_c, hvacs)
        self.csp = g(lambda h: h.cool_setpoint_c, hvacs)
        self.csb = g(lambda h: h.cool_setback_c, hvacs)
        self.half = g(lambda h: h.deadband_k / 2.0, hvacs)
        self.tpi = np.array([h.control == "tpi" for h in hvacs])
        self.cycle_s = g(lambda h: h.cycle_s, hvacs)
        self.decay = np.asarray(tpi_decay(self.tau, self.cycle_s), dtype=np.float64)
        self.phase = np.asarray(phase_share, dtype=np.float64) * self.cycle_s
        self.hp = np.array([h.heating == "heat_pump" for h in hvacs])
        self.gas = np.array([h.heating == "gas" for h in hvacs])
        self.sink = g(lambda h: h.sink_temp_c, hvacs)
        n = len(envelopes)
        self.state = {
            "temp": g(lambda e: e.temp_init_c, envelopes),
            "mode": np.zeros(n, dtype=np.int64),
            "cyc_end": np.full(n, -np.inf),
            "on_end": np.full(n, -np.inf),
            "cyc_mode": np.zeros(n, dtype=np.int64),
            "run_start": np.zeros(n),
            "run_energy": np.zeros(n),
            "in_key": np.full(n, -1, dtype=np.int64),
        }

    def copy(self) -> Zones:
        """Another set of the same zones, in the same state (a shadow that runs on its own)."""
        other = copy.copy(self)
        other.state = self.snapshot()
        return other

    def snapshot(self) -> dict[str, np.ndarray]:
        return {k: v.copy() for k, v in self.state.items()}

    def restore(self, snap: dict[str, np.ndarray]) -> None:
        for k, v in snap.items():
            self.state[k][:] = v

    def knot_range(self, t_lo: float, t_hi: float) -> tuple[int, np.ndarray]:
        """The first knot index and the knots' midpoints [s] that cover ``[t_lo, t_hi)``."""
        k0 = int(math.floor(t_lo / self.knot_s + 1e-9))
        k1 = int(math.floor(t_hi / self.knot_s + 1e-9)) + 1
        return k0, (np.arange(k0, k1 + 1) + 0.5) * self.knot_s

    def render(self, i0: int, n_steps: int, dt: float, k0: int, knot_tout: np.ndarray, knot_ghi: np.ndarray,
               slot_t: np.ndarray, n_home: np.ndarray, n_active: np.ndarray, served: np.ndarray | None,
               log: CycleLog | None):
        """Plant power [W] (interval means), temperature [degC] and mode at the step starts,
        each of shape (n_steps, n_homes)."""
        n = self.ua.size
        hvac = np.zeros((n_steps, n), order="F")  # a column per home: the kernel walks homes
        temp = np.empty((n_steps, n), order="F")
        mode = np.zeros((n_steps, n), dtype=np.int8, order="F")
        served_arr = np.zeros((0, n), dtype=np.bool_, order="F") if served is None else np.asfortranarray(served, dtype=np.bool_)
        record = log is not None
        log = log if log is not None else CycleLog(1)
        s = self.state
        snap = self.snapshot() if record else None
        c0 = int(log.count[0])
        while True:
            status = _zones(hvac, temp, mode, i0, dt, self.knot_s, k0, knot_tout, knot_ghi, slot_t,
                            np.asfortranarray(n_home), np.asfortranarray(n_active), served_arr,
                            self.ua, self.tau, self.aperture, self.gain_base, self.gain_occ, self.cap_h,
                            self.cap_c, self.hsp, self.hsb, self.csp, self.csb, self.half, self.tpi,
                            self.cycle_s, self.decay, self.phase, self.hp, self.gas, self.sink, s["temp"],
                            s["mode"], s["cyc_end"], s["on_end"], s["cyc_mode"], s["run_start"],
                            s["run_energy"], s["in_key"], record, *log.args)
            if status == 0:
                return hvac, temp, mode
            log.grow()
            self.restore(snap)
            log.count[0] = c0
            hvac[:] = 0.0
