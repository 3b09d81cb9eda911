"""Home twin throughput and memory, measured side by side in one run.

    python benchmarks/bench_home.py [--days 30] [--year-days 365]

1. twinforge end to end (simulate + render + sensors + Parquet write) for one fully
   equipped home (PV, battery, EV, heat pump) at 1-minute resolution: values per second;
   the same home with the hysteresis thermostat instead of the default TPI, and with its
   lighting switched lamp by lamp (20 light points, ``appliances.lighting_bulbs``).
2. The same home from a naive SimPy loop: the same discrete processes, plus one
   ``yield env.timeout(period)`` per sample that reads every component's state and
   computes the sample in Python (solar position, irradiance and PV through pvlib for
   that one time), then pandas -> Parquet. Measured on a shorter horizon (values per
   second do not depend on it).
2b. A generous naive loop that gets the vectorised irradiance and PV for free and only
   does the rest per sample: a lower bound on the speed-up.
3. Peak resident memory of a fresh process generating a 30-day and a 365-day horizon.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

SCENARIO = dict(
    runs=1, period="1min", seed=1, start="2024-01-01",
    diversity={"pv_share": 1.0, "battery_share_of_pv": 1.0, "ev_share": 1.0},
)


def spec_for(days: float, control: str | None = None, bulbs: int = 0):
    from twinforge.campaign.spec import load_spec

    home: dict = {}
    if control:
        home["hvac"] = {"control": control}
    if bulbs:
        home["appliances"] = {"lighting_bulbs": bulbs}
    return load_spec(None, days=days, **SCENARIO, **({"home": home} if home else {}))


def run_twinforge(days: float, out: Path, control: str | None = None, bulbs: int = 0) -> dict:
    from twinforge.campaign.runner import generate

    spec = spec_for(days, control, bulbs)
    t0 = time.perf_counter()
    s = generate(spec, out, progress=False)
    dt = time.perf_counter() - t0
    return {"seconds": dt, "values": s.values, "values_per_s": s.values / dt}


def run_naive(days: float, out: Path, per_sample_pv: bool = True) -> dict:
    import simpy

    from twinforge.campaign.runner import build_twin, plan_runs
    from twinforge.processes import appliances as appl
    from twinforge.processes.pv import pv_ac_power_w

    spec = spec_for(days)
    plan = plan_runs(spec, spec.seed)[0]
    twin = build_twin(spec, plan)
    grid = spec.grid()
    t0 = time.perf_counter()
    env = simpy.Environment()
    twin.start(env, grid)
    cfg = twin.config
    t_all = grid.t_s()
    if not per_sample_pv:  # given for free: vectorised geometry, irradiance and PV
        geom = twin._geometry_s(t_all)
        ghi_all = np.asarray(twin.weather.ghi_w_per_m2(t_all, zenith_deg=geom["apparent_zenith"].to_numpy()))
        pv_all = pv_ac_power_w(geom, ghi_all, np.asarray(twin.weather.temp_c(t_all)),
                               np.asarray(twin.weather.wind_m_per_s(t_all)), cfg.pv)

    def solar(k: int) -> tuple[float, float]:
        if not per_sample_pv:
            return ghi_all[k], pv_all[k]
        t = float(t_all[k])
        g = twin._geometry_s(np.array([t]))
        ghi = float(twin.weather.ghi_w_per_m2(t, zenith_deg=float(g["apparent_zenith"].iloc[0])))
        pv = pv_ac_power_w(g, np.array([ghi]), twin.weather.temp_c(t), twin.weather.wind_m_per_s(t), cfg.pv)
        return ghi, float(pv[0])
    rng = np.random.default_rng(0)
    b = cfg.battery
    cap_j = b.capacity_kwh * 3.6e6
    rows: list[tuple] = []
    dt = grid.period_s

    def sampler():
        energy = b.soc_init * cap_j
        for k in range(grid.n_steps):
            t = env.now
            n_active = twin.occupancy.n_active.value
            ghi, pv = solar(k)
            light = float(appl.lighting_power_w(np.array([n_active]), np.array([ghi]), cfg.appliances)[0])
            appliance = cfg.appliances.standby_w + light + sum(s.value for s in twin.appliance_power.values())
            hvac = twin.zone.power.value
            ev = twin.ev_power.value
            p = min(max(pv - (appliance + hvac + ev), -b.power_kw * 1e3), b.power_kw * 1e3)
            de = p * b.eta_charge * dt if p > 0 else p / b.eta_discharge * dt
            new = min(max(energy + de, b.soc_min * cap_j), b.soc_max * cap_j)
            de = new - energy
            batt = de / b.eta_charge / dt if de > 0 else de * b.eta_discharge / dt
            soc, energy = energy / cap_j, new
            vals = [appliance, hvac, ev, pv, batt]
            vals = [round(v * (1 + 0.005 * rng.standard_normal())) for v in vals]
            load = vals[0] + vals[1] + vals[2]
            rows.append((t, load - vals[3] + vals[4], load, *vals, soc,
                         round(twin.zone.temp_c + 0.05 * rng.standard_normal(), 1),
                         round(twin.weather.temp_c(t) + 0.05 * rng.standard_normal(), 1),
                         ghi, twin.occupancy.n_home.value, n_active, twin.zone.mode))
            yield env.timeout(dt)

    env.process(sampler())
    env.run(until=grid.horizon_s)
    cols = ["t", "mains", "load", "appliance", "hvac", "ev", "pv", "battery", "soc",
            "temp_in", "temp_out", "ghi", "n_home", "n_active", "mode"]
    pd.DataFrame(rows, columns=cols).to_parquet(out / "naive.parquet")
    dt_s = time.perf_counter() - t0
    values = grid.n_steps * (len(cols) - 1 + 3)  # same channel count as the twin (labels included)
    return {"seconds": dt_s, "values": values, "values_per_s": values / dt_s}


def child_peak(days: float) -> float:
    """Peak RSS [MB] of a fresh process generating ``days``."""
    code = (
        "import sys, json, resource, tempfile, pathlib; sys.path.insert(0, %r);"
        "import bench_home as b;"
        "d = pathlib.Path(tempfile.mkdtemp()) / 'x';"
        "r = b.run_twinforge(%r, d);"
        "r['peak_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024;"
        "print(json.dumps(r))"
    ) % (str(Path(__file__).parent), days)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=float, default=30.0)
    ap.add_argument("--naive-days", type=float, default=2.0)
    ap.add_argument("--year-days", type=float, default=365.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run_twinforge(1, tmp / "warm-up")  # imports and caches out of the timing
        tf = run_twinforge(args.days, tmp / "tf")
        hyst = run_twinforge(args.days, tmp / "hyst", control="hysteresis")
        lamps = run_twinforge(args.days, tmp / "lamps", bulbs=20)
        naive = run_naive(args.naive_days, tmp, per_sample_pv=True)
        generous = run_naive(args.days, tmp, per_sample_pv=False)
    print(f"home twin, 1 home with PV, battery, EV and heat pump at 1 min")
    print(f"  twinforge end to end ({args.days:g} d)      : {tf['seconds']:7.2f} s {tf['values_per_s']:>12,.0f} values/s")
    print(f"  same, hysteresis thermostat    : {hyst['seconds']:7.2f} s {hyst['values_per_s']:>12,.0f} values/s"
          f"  (TPI costs {hyst['values_per_s'] / tf['values_per_s']:.2f} x)")
    print(f"  same, 20 light points          : {lamps['seconds']:7.2f} s {lamps['values_per_s']:>12,.0f} values/s"
          f"  (lamps cost {tf['values_per_s'] / lamps['values_per_s']:.2f} x)")
    print(f"  naive SimPy per sample ({args.naive_days:g} d)    : {naive['seconds']:7.2f} s {naive['values_per_s']:>12,.0f} values/s")
    print(f"  generous naive, PV given ({args.days:g} d) : {generous['seconds']:7.2f} s {generous['values_per_s']:>12,.0f} values/s")
    print(f"  speed-up vs naive          : {tf['values_per_s'] / naive['values_per_s']:8.1f} x")
    print(f"  speed-up vs generous naive : {tf['values_per_s'] / generous['values_per_s']:8.1f} x")
    for days in (args.days, args.year_days):
        r = child_peak(days)
        print(f"  peak memory, {days:g} days: {r['peak_mb']:7.1f} MB  ({r['values_per_s']:,.0f} values/s)")


if __name__ == "__main__":
    main()
