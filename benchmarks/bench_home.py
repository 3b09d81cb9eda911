"""Home twin: the writing floor, compute and end-to-end speed, the naive loop, numba, memory.

    python benchmarks/bench_home.py [--home-years 1000] [--workers 2] [--naive-hours 12]

Every figure is measured in this run, side by side; CPU times are process times, so a busy
machine inflates them less than wall times (print ``uptime`` beside them).

1. **Floor**: writing one home-year at 1 min (525,600 rows x the default channels, the
   project's Parquet settings, blocks of two weeks) through the dataset writer alone, from
   samples already in memory: what any generator pays before it computes anything.
2. **Compute**: simulate + render one default home-year at 1 min (diversity on, all default
   channels, no writing), mean over a few homes after a warm-up home (compilation of the
   kernels, the solar-geometry cache).
3. **End to end**: ``--home-years`` home-years at 1 min written to one dataset by the campaign
   executor with ``--workers`` local processes (the way to use both cores); wall time,
   home-years per minute, the CPU time of the parent and its workers (read from ``/proc``,
   Linux; worker start-up included) and the peak resident memory of the parent and of the
   largest worker; apart, the parent's finalize (merging the runs' events into one file after
   the workers are done) and the wall time before it.
4. **Naive per-sample SimPy loop**: the same home (the same components) advanced one sample at
   a time, one ``yield env.timeout(period)`` per sample rendering that one sample: values per
   second against the block renderer on the same horizon (they give the same values).
5. **numba**: compute of a home-week with the kernels compiled and with ``NUMBA_DISABLE_JIT=1``
   (the same kernels interpreted by Python).
6. **Memory flat in the horizon**: peak resident memory of a fresh process generating one home
   for 30 and for 365 days.

The comparison with richardsonpy's CREST model is ``benchmarks/bench_crest.py``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
DIVERSITY = {"pv_share": 1.0, "battery_share_of_pv": 1.0, "ev_share": 1.0}


def home_spec(days: float, runs: int = 1, seed: int = 1, **kw):
    from twinforge.campaign.spec import load_spec

    return load_spec(None, runs=runs, days=days, period="1min", seed=seed, start="2024-01-01", **kw)


def floor() -> dict:
    """CPU and wall seconds to write one home-year of samples through the dataset writer."""
    import pandas as pd

    from twinforge.campaign.runner import build_twin, plan_runs
    from twinforge.core.engine import simulate
    from twinforge.core.eventlog import EventLog
    from twinforge.export import DatasetWriter

    spec = home_spec(365)
    twin = build_twin(spec, plan_runs(spec, 1)[0])
    blocks = [r.samples for r in simulate(twin, spec.grid())]
    channels = twin.channels()
    out = Path(tempfile.mkdtemp()) / "floor"
    w = DatasetWriter(out)
    meta = {"period_s": 60.0, "seed": 1, "config_hash": "floor", "start": "2024-01-01T00:00:00+00:00"}
    empty = EventLog().to_frame(pd.Timestamp("2024-01-01", tz="UTC"), 0, "home")
    # the same samples with the float channels in float32 (power quantised to 1 W is exact in float32)
    f32 = [dataclasses.replace(c, dtype="float32") if c.dtype == "float64" else c for c in channels]
    narrow = [{k: (v.astype(np.float32) if isinstance(v, np.ndarray) and v.dtype == np.float64 else v)
               for k, v in b.items()} for b in blocks]
    best: dict[str, tuple[float, float]] = {}
    for rep in range(2):  # alternating, the best of two each
        for name, chans, data in (("f64", channels, blocks), ("f32", f32, narrow)):
            run_id = 2 * rep + (name == "f32")
            c0, w0 = time.process_time(), time.perf_counter()
            with w.open_run("home", run_id, chans, meta) as run:
                for b in data:
                    run.write(b)
                run.commit(empty, {"run_id": run_id, "twin": "home", "seed": 1, "weight": 1.0})
            t = (time.process_time() - c0, time.perf_counter() - w0)
            best[name] = min(best.get(name, t), t)
    return {"cpu_s": best["f64"][0], "wall_s": best["f64"][1], "cpu_f32_s": best["f32"][0],
            "rows": sum(len(b["time"]) for b in blocks), "columns": len(channels) + 1}


def compute(n: int = 3) -> dict:
    """CPU seconds per default home-year (simulate + render), after a warm-up home."""
    from twinforge.campaign.runner import build_twin, plan_runs
    from twinforge.core.engine import simulate

    spec = home_spec(365, runs=n + 1)
    plans = plan_runs(spec, 1)
    c0 = time.process_time()
    for _ in simulate(build_twin(spec, plans[0]), spec.grid()):
        pass
    first = time.process_time() - c0
    c0 = time.process_time()
    for p in plans[1:]:
        for _ in simulate(build_twin(spec, p), spec.grid()):
            pass
    return {"first_cpu_s": first, "cpu_s_per_home_year": (time.process_time() - c0) / n}


def _proc_stat(pid: str) -> tuple[int, float] | None:
    """Parent pid and CPU seconds (user + system) of a process, from ``/proc`` (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_kb(pid: str) -> int:
    """Peak resident memory of a process [kB] (``VmHWM``), 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class DescendantCPU(threading.Thread):
    """CPU seconds and peak memory of every descendant process, polled every ``every_s``.

    The executor's forkserver workers are not this process's children, so ``RUSAGE_CHILDREN``
    misses them. The last reading of each process is kept: a total misses at most ``every_s``
    of each one's CPU.
    """

    def __init__(self, every_s: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.every_s, self.last, self.stop = every_s, {}, threading.Event()
        self.peak_kb = 0

    def run(self) -> None:
        me = os.getpid()
        while not self.stop.wait(self.every_s):
            stats = {pid: st for pid in os.listdir("/proc") if pid.isdigit() and (st := _proc_stat(pid))}
            for pid, (ppid, _) in stats.items():
                p = ppid
                while p not in (0, 1, me) and str(p) in stats:
                    p = stats[str(p)][0]
                if p == me:
                    self.last[pid] = stats[pid][1]
                    self.peak_kb = max(self.peak_kb, _peak_kb(pid))

    def total_s(self) -> float:
        self.stop.set()
        self.join()
        return sum(self.last.values())


def end_to_end(home_years: int, workers: int) -> dict:
    """``home_years`` default home-years at 1 min to one dataset with ``workers`` processes."""
    from twinforge.campaign.campaign import CampaignSpec
    from twinforge.campaign.executor import run_campaign
    from twinforge.export import DatasetWriter

    camp = CampaignSpec.from_data({"twin": "home", "runs": home_years, "days": 365, "period": "1min",
                                   "seed": 7, "start": "2024-01-01"})
    out = Path(tempfile.mkdtemp()) / "e2e"
    kids = DescendantCPU()
    kids.start()
    fin: dict[str, float] = {}
    real_finalize = DatasetWriter.finalize

    def timed_finalize(self, *a, **kw):  # the parent's merge after the workers, timed apart
        fin["at_s"], f0, fc0 = time.perf_counter() - w0, time.perf_counter(), time.process_time()
        try:
            return real_finalize(self, *a, **kw)
        finally:
            fin["wall_s"], fin["cpu_s"] = time.perf_counter() - f0, time.process_time() - fc0

    DatasetWriter.finalize = timed_finalize
    c0, w0 = time.process_time(), time.perf_counter()
    try:
        s = run_campaign(camp, out, workers=workers, progress=False)
    finally:
        DatasetWriter.finalize = real_finalize
    wall = time.perf_counter() - w0
    cpu = time.process_time() - c0 + kids.total_s()
    size = sum(f.stat().st_size for f in out.rglob("*.parquet"))
    return {"wall_s": wall, "cpu_s": cpu, "values": s.values, "bytes": size,
            "runs_wall_s": fin["at_s"], "finalize_wall_s": fin["wall_s"], "finalize_cpu_s": fin["cpu_s"],
            "peak_parent_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "peak_worker_mb": kids.peak_kb / 1024}


def naive(hours: float) -> dict:
    """The same home advanced one sample per SimPy event, against the block renderer."""
    import simpy

    from twinforge.campaign.runner import build_twin, plan_runs
    from twinforge.core.engine import simulate

    spec = home_spec(hours / 24.0, diversity=DIVERSITY)
    grid = spec.grid()
    plan = plan_runs(spec, 1)[0]
    for _ in simulate(build_twin(spec, plan), grid):  # warm-up: compiled kernels, geometry cache
        pass
    t0 = time.perf_counter()
    blocks = [r.samples for r in simulate(build_twin(spec, plan), grid)]
    block_s = time.perf_counter() - t0
    twin = build_twin(spec, plan)
    rows: list[dict] = []
    t0 = time.perf_counter()
    env = simpy.Environment()
    twin.start(env, grid)

    def per_sample():
        for k in range(grid.n_steps):
            rows.append(twin.render(grid, k, k + 1).samples)
            yield env.timeout(grid.period_s)

    env.process(per_sample())
    env.run(until=grid.horizon_s)
    naive_s = time.perf_counter() - t0
    load_block = np.concatenate([b["load_power_w"] for b in blocks])
    load_naive = np.concatenate([r["load_power_w"] for r in rows])
    values = grid.n_steps * len(twin.channels())
    return {"samples": grid.n_steps, "block_s": block_s, "naive_s": naive_s,
            "block_values_per_s": values / block_s, "naive_values_per_s": values / naive_s,
            "same_energy": bool(abs(load_block.sum() - load_naive.sum()) <= 1e-6 * load_block.sum() + 50.0)}


def child(fn: str, *args, env: dict | None = None) -> dict:
    code = f"import sys, json; sys.path.insert(0, {str(HERE)!r}); import bench_home as b; print(json.dumps(b.{fn}(*{args!r})))"
    e = dict(os.environ, **(env or {}))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=e)
    return json.loads(out.stdout.strip().splitlines()[-1])


def week_cpu() -> dict:
    from twinforge.campaign.runner import build_twin, plan_runs
    from twinforge.core.engine import simulate

    spec = home_spec(7, runs=2, diversity=DIVERSITY)
    plans = plan_runs(spec, 1)
    for _ in simulate(build_twin(spec, plans[0]), spec.grid()):
        pass
    c0 = time.process_time()
    for _ in simulate(build_twin(spec, plans[1]), spec.grid()):
        pass
    return {"cpu_s": time.process_time() - c0}


def peak(days: float) -> dict:
    from twinforge.campaign.runner import generate

    out = Path(tempfile.mkdtemp()) / "p"
    generate(home_spec(days, diversity=DIVERSITY), out, progress=False)
    # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so a child of a parent that had
    # grown (the end-to-end part) would report the parent's peak
    return {"peak_mb": (_peak_kb("self") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home-years", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--naive-hours", type=float, default=12.0)
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at the start")
    f = child("floor")
    print(f"1. floor: writing one home-year ({f['rows']:,} rows x {f['columns']} columns): "
          f"{f['cpu_s']:.2f} s CPU, {f['wall_s']:.2f} s wall; with float32 channels {f['cpu_f32_s']:.2f} s CPU")
    print(f"   -> {args.home_years} home-years on {args.workers} cores: {args.home_years * f['cpu_s'] / args.workers:.0f} s "
          f"of writing alone (CPU)")
    c = child("compute")
    print(f"2. compute: {c['cpu_s_per_home_year']:.3f} s CPU per home-year at 1 min (simulate + render, "
          f"no writing; first home {c['first_cpu_s']:.2f} s with compilation and the geometry cache)")
    e = end_to_end(args.home_years, args.workers)
    per = e["wall_s"] / args.home_years
    print(f"3. end to end: {args.home_years} home-years at 1 min, {args.workers} workers: {e['wall_s']:.1f} s wall "
          f"({60.0 / per:.0f} home-years per minute), {e['cpu_s']:.1f} s CPU (parent and workers: "
          f"{e['cpu_s'] / args.home_years:.2f} s CPU per home-year, worker start-up included), "
          f"{e['values'] / e['wall_s']:,.0f} values/s, {e['bytes'] / 1e9:.2f} GB written; "
          f"peak memory {e['peak_parent_mb']:.0f} MB parent, {e['peak_worker_mb']:.0f} MB largest worker")
    print(f"   where the wall time goes: planning, worker start-up and the runs {e['runs_wall_s']:.1f} s; "
          f"finalize (the parent merging the runs' events, after the workers) {e['finalize_wall_s']:.1f} s wall, "
          f"{e['finalize_cpu_s']:.2f} s CPU ({1000 * e['finalize_cpu_s'] / args.home_years:.0f} ms per home-year)")
    steady = c["cpu_s_per_home_year"] + f["cpu_s"]
    print(f"   -> 1000 home-years on {args.workers} idle cores at the steady cost of one home-year (compute + "
          f"writing, {steady:.2f} s CPU; worker start-up amortised): {1000 * steady / args.workers:.0f} s "
          f"(target <= 180 s; writing alone {1000 * f['cpu_s'] / args.workers:.0f} s)")
    n = child("naive", args.naive_hours)
    print(f"4. naive per-sample SimPy loop ({n['samples']} samples, the same home and values: {n['same_energy']}): "
          f"{n['naive_values_per_s']:,.0f} values/s; block renderer {n['block_values_per_s']:,.0f} values/s: "
          f"{n['block_values_per_s'] / n['naive_values_per_s']:.0f} x (target >= 100 x)")
    jit = child("week_cpu")
    py = child("week_cpu", env={"NUMBA_DISABLE_JIT": "1"})
    print(f"5. a home-week at 1 min: {jit['cpu_s']:.2f} s CPU with numba, {py['cpu_s']:.2f} s interpreted "
          f"({py['cpu_s'] / jit['cpu_s']:.1f} x)")
    for days in (30, 365):
        print(f"6. peak memory, one home, {days} days: {child('peak', days)['peak_mb']:.0f} MB")
    print(f"   load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
