"""``make demo``: a small labelled campaign, written to disk, with a tour of what it wrote.

Run with ``python -m twinforge.demo --out demo_output``. It simulates a handful of homes
through a winter fortnight with a cold snap (a labelled rare event), writes the Parquet
dataset, reads it back with pandas and xarray, and, when the fidelity module and the
shipped real sample are present, scores the synthetic homes against the real UCI
household trace.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

__all__ = ["main"]

SCENARIO = {
    "runs": 6,
    "days": 14,
    "period": "1min",
    "start": "2007-01-08",
    "seed": 2026,
    "diversity": {"pv_share": 0.5, "battery_share_of_pv": 0.5, "ev_share": 0.3},
    "events": [{"type": "cold_snap", "start": "2007-01-14T00:00", "duration_h": 72, "severity": 7.0}],
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
    spec = load_spec(None, **SCENARIO)
    home_dir = out / "home"
    summary = generate(spec, home_dir, progress=sys.stderr.isatty())
    print(summary.text())

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
