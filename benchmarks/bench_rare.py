"""Rare-event campaigns: variance reduction of importance sampling, and campaign throughput.

    python benchmarks/bench_rare.py [--plans 2000] [--runs 48]

1. Variance-reduction factor (VRF) against plain Monte Carlo at equal runs, on planned
   runs (no simulation: the outcome is computed from each run's sampled events). The
   outcome: a heat wave of peak anomaly >= u within 30 days from 10 July, u chosen so that
   its natural probability is 1e-3; and the expected excess severity sum (s - u)+.
   Importance: onset rate x3, half the severities drawn above u (defensive mixture). For
   the probability, plain Monte Carlo's per-run variance is the exact p(1 - p) (its
   sample variance would be 0 on most fixed-size samples); for the excess it is the
   sample variance of a plain campaign of 20x as many plans.
2. Campaign throughput for small home runs (2 days at 15 min), measured side by side:
   1 worker (in-process), 2 local worker processes, a 2-worker Dask LocalCluster (2
   processes, 1 thread each). Wall time includes starting the pool or the cluster client
   and the final merge; runs/s and values/s.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np


def vrf(n_plans: int) -> None:
    import pandas as pd
    from scipy import optimize

    from twinforge.campaign.campaign import CampaignSpec, plan_campaign
    from twinforge.campaign.estimators import variance_reduction_factor, weighted_mean

    base = dict(twin="home", runs=n_plans, days=30, start="2024-07-10", diversity=False)
    nat = CampaignSpec.from_data({**base, "events": {"heat_wave": {}}})
    m = nat.events["heat_wave"]
    lam = m.expected_count(pd.Timestamp("2024-07-10", tz="UTC"), 30.0)
    u = optimize.brentq(lambda s: -math.expm1(-lam * m.severity_sf(s)) - 1e-3, *m.severity_range)
    imp = CampaignSpec.from_data({
        **base, "sampler": "importance", "events": {"heat_wave": {}},
        "proposal": {"heat_wave": {"rate_factor": 3.0, "tail_threshold": u, "tail_share": 0.5}},
    })
    t0 = time.perf_counter()
    plans = plan_campaign(imp, 1)
    t_plan = (time.perf_counter() - t0) / n_plans
    w = np.array([p.weight for p in plans])
    hit = np.array([any(e.severity >= u for e in p.events) for p in plans], dtype=float)
    exc = np.array([sum(max(e.severity - u, 0.0) for e in p.events) for p in plans])
    p_true = -math.expm1(-lam * m.severity_sf(u))
    est = weighted_mean(hit, w)
    v_is = float(np.var(w * hit, ddof=1))
    print(f"1. importance sampling vs plain Monte Carlo ({n_plans} planned runs, {t_plan * 1e3:.1f} ms per plan)")
    print(f"   P(heat wave >= {u:.2f} K in 30 days): true {p_true:.2e}, IS estimate {est.value:.2e} "
          f"+/- {est.std_error:.1e} (ESS {est.ess:.0f}), hits {int(hit.sum())}/{n_plans}")
    print(f"   VRF (probability) = p(1-p) / var(w Y) = {p_true * (1 - p_true) / v_is:,.0f}")
    mc = CampaignSpec.from_data({**base, "runs": 10 * n_plans, "events": {"heat_wave": {}}})
    mc_plans = plan_campaign(mc, 2)
    exc_mc = np.array([sum(max(e.severity - u, 0.0) for e in p.events) for p in mc_plans])
    print(f"   VRF (expected excess severity, vs {10 * n_plans} plain plans) = "
          f"{variance_reduction_factor(exc, w, exc_mc):,.0f}")


def throughput(n_runs: int) -> None:
    from twinforge.campaign.campaign import CampaignSpec
    from twinforge.campaign.executor import run_campaign

    c = CampaignSpec.from_data({
        "twin": "home", "runs": n_runs, "days": 2, "period": "15min", "start": "2024-07-20", "seed": 1,
        "events": {"heat_wave": {"rate_per_year": 5.0}},
    })
    tmp = Path(tempfile.mkdtemp(prefix="bench_rare_"))
    rows = []
    try:
        for label, kw in (("1 worker (in-process)", {"workers": 1}), ("2 local processes", {"workers": 2})):
            s = run_campaign(c, tmp / label.split()[0], progress=False, **kw)
            rows.append((label, s))
        from dask.distributed import Client, LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cl:
            with Client(cl) as client:
                t0 = time.perf_counter()
                client.run(lambda: __import__("twinforge.campaign.executor"))  # warm workers (imports)
                warm = time.perf_counter() - t0
                s = run_campaign(c, tmp / "dask", client=client, progress=False)
                rows.append((f"Dask LocalCluster 2x1 (+{warm:.1f} s warm-up)", s))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"2. campaign throughput: {n_runs} home runs, 2 days at 15 min ({rows[0][1].values // n_runs:,} values/run), "
          f"{os.cpu_count()} cores")
    for label, s in rows:
        print(f"   {label:42s} {s.seconds:6.1f} s  {s.runs_per_s:6.2f} runs/s  {s.values_per_s:10,.0f} values/s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--plans", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=96)
    a = ap.parse_args()
    vrf(a.plans)
    throughput(a.runs)


if __name__ == "__main__":
    main()
