"""Grid twin throughput, memory and scaling with the number of homes.

    python benchmarks/bench_grid.py [--days 365] [--homes 200] [--scaling-days 60]

Prints, for one feeder of ``--homes`` homes over ``--days`` at 15-minute resolution, the
wall time, home-values per second (homes x samples x the 12 home-level quantities the
fleet computes per sub-step) and the peak resident memory of a fresh process; then how
the wall time grows from 50 to 200 to 800 homes on a shorter horizon (should be close
to linear).
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


def run(homes: int, days: float) -> dict:
    from twinforge.campaign.runner import generate
    from twinforge.campaign.spec import load_spec

    spec = load_spec(None, twin="grid", runs=1, days=days, period="15min", seed=1, grid={"n_homes": homes})
    out = Path(tempfile.mkdtemp()) / "grid"
    t0 = time.perf_counter()
    generate(spec, out, progress=False)
    dt = time.perf_counter() - t0
    samples = days * 96
    return {
        "homes": homes, "days": days, "seconds": dt,
        "home_years_per_min": homes * days / 365.0 / (dt / 60.0),
        "home_values_per_s": homes * samples * 12 / dt,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def fresh(homes: int, days: float) -> dict:
    code = f"import sys, json; sys.path.insert(0, {str(Path(__file__).parent)!r}); import bench_grid as b; print(json.dumps(b.run({homes}, {days})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=float, default=365.0)
    ap.add_argument("--homes", type=int, default=200)
    ap.add_argument("--scaling-days", type=float, default=60.0)
    args = ap.parse_args()
    r = fresh(args.homes, args.days)
    print(f"grid twin, {r['homes']} homes x {r['days']:g} days at 15 min (sub-step 5 min)")
    print(f"  wall time        : {r['seconds']:8.1f} s   ({r['home_years_per_min']:.0f} home-years per minute)")
    print(f"  home-values/s    : {r['home_values_per_s']:12,.0f}")
    print(f"  peak memory      : {r['peak_mb']:8.0f} MB")
    base = None
    for homes in (50, 200, 800):
        s = fresh(homes, args.scaling_days)
        base = base or s["seconds"] / 50
        print(f"  {homes:4d} homes x {args.scaling_days:g} d: {s['seconds']:7.2f} s  "
              f"({s['seconds'] / (base * homes):.2f} x linear from 50 homes), peak {s['peak_mb']:.0f} MB")


if __name__ == "__main__":
    main()
