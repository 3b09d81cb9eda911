"""Machine twin throughput and memory: a fleet of PRONOSTIA-like machines run to failure.

    python benchmarks/bench_machine.py [--machines 20] [--rate 25.6kHz] [--period 10s]

Runs ``twinforge generate machine --machines N --until-failure`` (0.1 s snapshots) in a
fresh process, end to end (simulation, condition indicators, Parquet samples and raw
snapshot tables), and prints the wall time, snapshots and waveform samples per second,
the lifetimes drawn, the bytes written and the peak resident memory (``ru_maxrss``).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(machines: int, rate: str, period: str) -> dict:
    from twinforge.campaign.runner import generate
    from twinforge.campaign.spec import load_spec
    from twinforge.core.timegrid import parse_rate_hz
    from twinforge.export import open_dataset

    rate_hz = parse_rate_hz(rate)
    spec = load_spec(None, twin="machine", runs=machines, period=period, seed=1,
                     machine={"until_failure": True, "sample_rate_hz": rate_hz})
    tmp = Path(tempfile.mkdtemp())
    out = tmp / "machine"
    t0 = time.perf_counter()
    summary = generate(spec, out, progress=False)
    dt = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    runs = open_dataset(out).runs
    life_h = (runs["truth.failure_s"] / 3600.0).tolist()
    size = sum(p.stat().st_size for p in out.rglob("*.parquet"))
    shutil.rmtree(tmp)
    per_snapshot = round(spec.config.snapshot_duration_s * rate_hz)
    return {
        "machines": machines, "rate_hz": rate_hz, "period": period, "seconds": dt,
        "snapshots": summary.rows, "snapshots_per_s": summary.rows / dt,
        "samples_per_s": summary.rows * per_snapshot / dt, "life_h": life_h,
        "bytes": size, "peak_mb": peak_mb,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--machines", type=int, default=20)
    ap.add_argument("--rate", default="25.6kHz")
    ap.add_argument("--period", default="10s")
    args = ap.parse_args()
    code = (
        f"import sys, json; sys.path.insert(0, {str(Path(__file__).parent)!r}); import bench_machine as b; "
        f"print(json.dumps(b.run({args.machines}, {args.rate!r}, {args.period!r})))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    r = json.loads(res.stdout.strip().splitlines()[-1])
    life = sorted(r["life_h"])
    print(f"machine twin, {r['machines']} machines to failure, 0.1 s at {r['rate_hz']:g} Hz every {r['period']}")
    print(f"  wall time          : {r['seconds']:8.1f} s")
    print(f"  snapshots          : {r['snapshots']:8,d}  ({r['snapshots_per_s']:,.0f} snapshots/s)")
    print(f"  waveform samples/s : {r['samples_per_s']:12,.0f}")
    print(f"  lifetimes [h]      : min {life[0]:.2f}, median {life[len(life) // 2]:.2f}, max {life[-1]:.2f}")
    print(f"  written            : {r['bytes'] / 1e6:8.1f} MB")
    print(f"  peak memory        : {r['peak_mb']:8.0f} MB")


if __name__ == "__main__":
    main()
