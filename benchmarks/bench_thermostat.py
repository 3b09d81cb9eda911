"""The thermostat: exact switching against a discrete-time thermostat, and what it costs.

    python benchmarks/bench_thermostat.py [--homes 50] [--days 7]

The home components switch the plant exactly (closed-form switching times of the 1R1C zone,
:mod:`twinforge.components.thermal`). The alternative a vectorised feeder model usually takes
is a discrete-time thermostat: it decides at the start of each sub-step of ``dt`` seconds and
holds its decision (hysteresis: on or off; TPI: the sub-step's mean duty), with the exact 1R1C
solution inside the sub-step. This script measures, on ``--homes`` homes over a cold week
(outdoor temperature 2 +- 5 degC with a daily cycle, weather knots of 10 minutes, every home
its own size and phase), the error of the discrete-time thermostat against the exact one:
mean and largest absolute temperature difference [K], heating energy difference [%], and the
plant's switches per day; then the error the weather knots themselves bring (10-minute knots
against 1-minute knots, both exact), and what the sample period does to the exact solution
(1-minute and 15-minute rendering of one trajectory). Time per home-day of each is printed
(CPU, compiled kernels warm).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from twinforge.components.thermal import Zones
from twinforge.processes.hvac import HVACParams, tpi_decay, tpi_duty
from twinforge.processes.thermal import EnvelopeParams


def homes(n: int, control: str, rng: np.random.Generator):
    env = [EnvelopeParams(ua_w_per_k=float(ua), floor_area_m2=float(a), solar_aperture_m2=0.0,
                          gain_per_occupant_w=0.0, base_internal_gain_w=150.0, temp_init_c=19.5)
           for ua, a in zip(rng.uniform(120, 260, n), rng.uniform(70, 140, n))]
    hv = [HVACParams(heating="resistive", heating_capacity_w=float(np.ceil(1.3 * e.ua_w_per_k * 27 / 500) * 500),
                     control=control) for e in env]
    return env, hv


def t_out(t_s: np.ndarray) -> np.ndarray:
    return 2.0 + 5.0 * np.sin(2 * np.pi * (t_s / 86_400.0 - 0.375))


def exact(env, hv, days: float, knot_s: float, dt: float, phase) -> tuple[np.ndarray, np.ndarray, float]:
    """Temperature at the step starts and plant power (interval means) of the exact kernel."""
    n = len(env)
    z = Zones(env, hv, knot_s, phase)
    steps = int(round(days * 86_400.0 / dt))
    k0, mids = z.knot_range(0.0, steps * dt)
    slot_t = np.array([0.0])
    occ = np.ones((1, n), dtype=np.int64)
    c0 = time.process_time()
    power, temp, _ = z.render(0, steps, dt, k0, t_out(mids), np.zeros(mids.size), slot_t, occ, occ, None, None)
    return temp, power, time.process_time() - c0


def discrete(env, hv, days: float, knot_s: float, dt: float) -> tuple[np.ndarray, np.ndarray, float]:
    """A discrete-time thermostat deciding every ``dt`` seconds (numpy over homes)."""
    ua = np.array([e.ua_w_per_k for e in env])
    tau = np.array([e.tau_s for e in env])
    cap = np.array([h.heating_capacity_w for h in hv])
    sp, sb = np.array([h.heat_setpoint_c for h in hv]), np.array([h.heat_setback_c for h in hv])
    half = np.array([h.deadband_k / 2 for h in hv])
    tpi = hv[0].control == "tpi"
    decay = tpi_decay(tau, np.maximum(np.array([h.cycle_s for h in hv]), dt))
    steps = int(round(days * 86_400.0 / dt))
    temp = np.array([e.temp_init_c for e in env])
    mode = np.zeros(len(env), dtype=bool)
    out_t = np.empty((steps, len(env)))
    out_p = np.empty((steps, len(env)))
    step_decay = np.exp(-dt / tau)
    c0 = time.process_time()
    for k in range(steps):
        t = k * dt
        tk = t_out(np.array([(np.floor(t / knot_s) + 0.5) * knot_s]))[0]
        q_free = np.array([e.base_internal_gain_w for e in env])
        if tpi:
            duty = tpi_duty(temp, sp, tk, q_free, cap, ua, decay)
        else:
            mode = np.where(mode, temp < sp + half, temp <= sp - half)
            duty = mode.astype(float)
        out_t[k] = temp
        out_p[k] = cap * duty
        t_eq = tk + (q_free + cap * duty) / ua
        temp = t_eq + (temp - t_eq) * step_decay
    del sb
    return out_t, out_p, time.process_time() - c0


def band_overshoot(temp: np.ndarray, hv) -> float:
    """How far [K] the temperature leaves the band [setpoint - deadband/2, + deadband/2] after the first day."""
    sp = np.array([h.heat_setpoint_c for h in hv])
    half = np.array([h.deadband_k / 2 for h in hv])
    settled = temp[temp.shape[0] // 4:]
    return float(max((settled - (sp + half)).max(), ((sp - half) - settled).max(), 0.0))


def switches_per_day(power: np.ndarray, days: float) -> float:
    on = power > 0
    return float((on[1:] != on[:-1]).sum() / (power.shape[1] * days))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--homes", type=int, default=50)
    ap.add_argument("--days", type=float, default=7.0)
    args = ap.parse_args()
    n, days = args.homes, args.days
    print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at the start")
    rng = np.random.default_rng(1)
    exact(*homes(2, "tpi", rng)[:2], 1.0, 600.0, 60.0, np.zeros(2))  # compile
    for control in ("hysteresis", "tpi"):
        env, hv = homes(n, control, np.random.default_rng(2))
        phase = np.random.default_rng(3).random(n)
        ref_t, ref_p, ref_cpu = exact(env, hv, days, 600.0, 60.0, phase)
        print(f"{control}: exact switching, 1-min rendering: {ref_cpu / (n * days) * 1e6:.0f} us CPU per home-day, "
              f"{switches_per_day(ref_p, days):.1f} plant switches per day")
        for dt in (60.0, 300.0, 900.0):
            d_t, d_p, cpu = discrete(env, hv, days, 600.0, dt)
            k = int(round(dt / 60.0))
            diff = d_t - ref_t[::k]
            e_ref = ref_p.mean()
            over = band_overshoot(d_t, hv)
            print(f"  discrete-time thermostat every {dt:4.0f} s: |dT| mean {np.abs(diff).mean():.3f} K, "
                  f"max {np.abs(diff).max():.2f} K; beyond the band by up to {over:.3f} K "
                  f"(exact: {band_overshoot(ref_t, hv):.3f} K); heating energy {100 * (d_p.mean() / e_ref - 1):+.1f} %; "
                  f"{switches_per_day(np.repeat(d_p, k, axis=0), days):.1f} switches per day; "
                  f"{cpu / (n * days) * 1e6:.0f} us CPU per home-day (numpy over homes)")
        k_t, k_p, _ = exact(env, hv, days, 60.0, 60.0, phase)
        print(f"  weather knots of 10 min against 1 min (both exact): |dT| mean {np.abs(k_t - ref_t).mean():.4f} K, "
              f"max {np.abs(k_t - ref_t).max():.4f} K, heating energy {100 * (ref_p.mean() / k_p.mean() - 1):+.3f} %")
        c_t, c_p, _ = exact(env, hv, days, 600.0, 900.0, phase)
        print(f"  15-min rendering of the same trajectory: max |dT| {np.abs(c_t - ref_t[::15]).max():.1e} K, "
              f"max |d mean power| {np.abs(c_p - ref_p.reshape(-1, 15, n).mean(axis=1)).max():.1e} W")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
