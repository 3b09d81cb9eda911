"""Grid twin: a feeder of many homes with every home feature, its speed, scaling and memory.

    python benchmarks/bench_grid.py [--homes 1000] [--days 365] [--scaling-days 30]

One feeder at 15-minute resolution (5-minute sub-steps) whose homes have every feature of
the home twin: the default diversity (heat pumps, resistive and gas heating, air
conditioning, PV, batteries, EVs) and an electric water heater in every home (``[grid.home.dhw]``).
Prints the wall and CPU time of a fresh process (imports excluded, set-up included),
home-values per second (homes x sub-steps x the 12 per-home quantities the plant and the
loads compute), the peak resident memory, and how the time grows from 250 to 500 to 1,000
homes on a shorter horizon; then the same feeder with ``NUMBA_DISABLE_JIT=1`` on a short
horizon (what the compiled kernels buy).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(homes: int, days: float) -> dict:
    from twinforge.campaign.runner import build_twin, generate, plan_runs
    from twinforge.campaign.spec import load_spec
    from twinforge.core.engine import simulate

    grid = {"n_homes": homes, "home": {"dhw": {}}}
    warm = load_spec(None, twin="grid", runs=1, days=1, period="15min", seed=1, grid={"n_homes": 2, "home": {"dhw": {}}})
    for _ in simulate(build_twin(warm, plan_runs(warm, 1)[0]), warm.grid()):  # compiled kernels loaded
        pass
    spec = load_spec(None, twin="grid", runs=1, days=days, period="15min", seed=1, grid=grid)
    out = Path(tempfile.mkdtemp()) / "grid"
    c0, w0 = time.process_time(), time.perf_counter()
    generate(spec, out, progress=False)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    sub_steps = days * 288
    return {"homes": homes, "days": days, "wall_s": wall, "cpu_s": cpu,
            "home_values_per_s": homes * sub_steps * 12 / wall,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def fresh(homes: int, days: float, env: dict | None = None) -> dict:
    code = (f"import sys, json; sys.path.insert(0, {str(Path(__file__).parent)!r}); import bench_grid as b; "
            f"print(json.dumps(b.run({homes}, {days})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=dict(os.environ, **(env or {})))
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--homes", type=int, default=1000)
    ap.add_argument("--days", type=float, default=365.0)
    ap.add_argument("--scaling-days", type=float, default=30.0)
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at the start")
    r = fresh(args.homes, args.days)
    print(f"grid twin, {r['homes']} homes x {r['days']:g} days at 15 min (sub-step 5 min), every home feature"
          f" (diversity defaults, water heater in every home)")
    print(f"  wall time        : {r['wall_s']:8.1f} s  (CPU {r['cpu_s']:.1f} s; target < 60 s)")
    print(f"  home-values/s    : {r['home_values_per_s']:12,.0f}")
    print(f"  peak memory      : {r['peak_mb']:8.0f} MB")
    base = None
    for homes in (250, 500, 1000):
        s = fresh(homes, args.scaling_days)
        base = base or s["cpu_s"] / 250
        print(f"  {homes:5d} homes x {args.scaling_days:g} d: {s['wall_s']:7.2f} s wall, {s['cpu_s']:6.2f} s CPU "
              f"({s['cpu_s'] / (base * homes):.2f} x linear from 250 homes, CPU), peak {s['peak_mb']:.0f} MB")
    jit = fresh(250, 3.0)
    py = fresh(250, 3.0, env={"NUMBA_DISABLE_JIT": "1"})
    print(f"  250 homes x 3 d: {jit['cpu_s']:.1f} s CPU compiled, {py['cpu_s']:.1f} s interpreted "
          f"({py['cpu_s'] / jit['cpu_s']:.0f} x)")
    print(f"  load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
