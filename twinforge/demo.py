"""``make demo``: a small labelled campaign, written to disk, with a tour of what it wrote.

Run with ``python -m twinforge.demo --out demo_output``. It simulates, through a winter
fortnight with a cold snap (a labelled rare event): a handful of homes at 1-minute
resolution, and a feeder of 100 homes at 15 minutes on which a fault cuts supply (an
outage with its energy not served, then cold-load pickup). It writes the Parquet
datasets, reads them back with pandas and xarray, and, when the fidelity module and the
shipped real sample are present, scores the synthetic homes against the real UCI
household trace.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

__all__ = ["main"]

COLD_SNAP = {"type": "cold_snap", "start": "2007-01-14T00:00", "duration_h": 72, "severity": 7.0}

HOMES = {
    "runs": 6,
    "days": 14,
    "period": "1min",
    "start": "2007-01-08",
    "seed": 2026,
    "diversity": {"pv_share": 0.5, "battery_share_of_pv": 0.5, "ev_share": 0.3},
    "events": [COLD_SNAP],
}

GRID = {
    "twin": "grid",
    "runs": 1,
    "days": 14,
    "period": "15min",
    "start": "2007-01-08",
    "seed": 2026,
    "grid": {"n_homes": 100},
    "events": [COLD_SNAP, {"type": "feeder_fault", "start": "2007-01-15T07:00", "duration_h": 3, "severity": 0.6}],
}


def _fidelity(dataset: Path, out: Path) -> str | None:
    try:
        from twinforge.fidelity import demo_scores  # type: ignore[attr-defined]
    except ImportError:
        return None
    return demo_scores(dataset, out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("demo_output"))
    args = ap.parse_args(argv)

    from twinforge import open_dataset
    from twinforge.campaign.runner import generate
    from twinforge.campaign.spec import load_spec

    out = args.out
    if out.exists():
        shutil.rmtree(out)  # the demo's own folder: always a fresh run
    t0 = time.perf_counter()
    spec = load_spec(None, **HOMES)
    home_dir = out / "home"
    summary = generate(spec, home_dir, progress=sys.stderr.isatty())
    print(summary.text())
    grid_dir = out / "grid"
    print(generate(load_spec(None, **GRID), grid_dir, progress=sys.stderr.isatty()).text())

    ds = open_dataset(home_dir)
    df = ds.samples()
    events = ds.events
    xr_ds = ds.to_xarray()
    rare = events[events.category == "rare"]
    print("\nWhat the demo wrote")
    print(f"  {home_dir}/samples/twin=home/run_id=*/part-0.parquet   {len(df):,} rows x {df.shape[1]} columns")
    print(f"  {home_dir}/events.parquet   {len(events):,} events: "
          + ", ".join(f"{k} {v}" for k, v in events.category.value_counts().sort_index().items()))
    print(f"  {home_dir}/runs.parquet     {len(ds.runs)} runs with seed and {ds.runs.shape[1]} parameters each")
    print(f"  xarray view: dims {dict(xr_ds.sizes)}, e.g. temp_indoor_c in {xr_ds['temp_indoor_c'].attrs.get('unit', '?')}")
    for _, ev in rare.drop_duplicates("type").iterrows():
        n = int((df.event == ev.type).sum())
        print(f"  rare event '{ev.type}': {ev.start:%Y-%m-%d %H:%M} to {ev.end:%Y-%m-%d %H:%M} UTC, "
              f"severity {ev.severity:g}, {n:,} labelled samples")
    daily_kwh = df.groupby("run_id").load_power_w.mean() * 24 / 1000
    print(f"  mean household consumption {daily_kwh.mean():.1f} kWh/day "
          f"(range {daily_kwh.min():.1f}-{daily_kwh.max():.1f}); "
          f"indoor {df.temp_indoor_c.min():.1f} to {df.temp_indoor_c.max():.1f} degC")
    g = open_dataset(grid_dir)
    gdf, gev = g.samples(), g.events
    print(f"\n  {grid_dir}: one feeder of 100 homes, {len(gdf):,} rows at 15 min")
    for _, ev in gev[gev.type == "outage"].iterrows():
        p = json.loads(ev.params)
        print(f"  outage ({p['cause']}): {ev.start:%Y-%m-%d %H:%M}-{ev.end:%H:%M} UTC, "
              f"{p['homes_affected']} homes, energy not served {p['energy_not_served_j'] / 3.6e6:.0f} kWh")
    print(f"  peak feeder load {gdf.transformer_load_pu.max():.2f} pu, hot spot up to "
          f"{gdf.transformer_hot_spot_c.max():.0f} degC, end voltage down to {gdf.voltage_end_pu.min():.3f} pu")
    scores = _fidelity(home_dir, out / "fidelity")
    if scores:
        print("\nFidelity against the real UCI household trace (shipped sample)")
        print(scores)
    print("\nOpen it:")
    print("  python -c \"import twinforge; ds = twinforge.open_dataset('%s'); print(ds.samples().head())\"" % home_dir)
    print(f"  twinforge info {home_dir}")
    print(f"\ndemo finished in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
