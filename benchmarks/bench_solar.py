"""Solar geometry for a year at one minute: the cost every home or feeder run pays once.

    python benchmarks/bench_solar.py [--repeat 3]

Times :func:`twinforge.processes.solar.solar_geometry` on 525,600 one-minute UTC times
(Paris), best of ``--repeat``, and prints the machine's load beside it. This replaces a
wall-clock assertion that used to sit in the unit tests (which failed under load).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import pandas as pd

from twinforge.processes.solar import solar_geometry

PARIS = (48.78, 2.29, 60.0)  # latitude [deg], longitude [deg], altitude [m]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    times = pd.date_range("2024-01-01", periods=525_600, freq="1min", tz="UTC")
    best = float("inf")
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        geo = solar_geometry(times, *PARIS)
        best = min(best, time.perf_counter() - t0)
    assert not geo.isna().any().any()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"solar_geometry, a year at 1 min ({len(times):,} times): {best:.2f} s "
          f"(best of {args.repeat}; {len(times) / best:,.0f} times/s)")
    print(f"  machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {load:.2f}")


if __name__ == "__main__":
    main()
