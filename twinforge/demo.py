"""``make demo``: a small labelled campaign, written to disk, with a tour of what it wrote.

Run with ``python -m twinforge.demo --out demo_output``. It simulates, through a winter
fortnight with a cold snap (a labelled rare event): a handful of homes at 1-minute
resolution, and a feeder of 100 homes at 15 minutes on which a fault cuts supply (an
outage with its energy not served, then cold-load pickup). It writes the Parquet
datasets, reads them back with pandas and xarray, and, when the fidelity module and the
shipped real samples are present, scores the synthetic homes against the real UCI
household trace and the machines against the real PRONOSTIA bearings.
"""

from __future__ import annotations

import argparse
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


MACHINES = {
    "twin": "machine",
    "runs": 4,
    "days": 1,
    "period": "10s",
    "start": "2007-01-08",
    "seed": 2026,
    "machine": {"until_failure": True},
    "diversity": {"fault_mode_probs": {"outer_race": 0.5, "inner_race": 0.3, "rolling_element": 0.2}},
}


PRESET = Path(__file__).parent / "data" / "presets" / "uci_household.toml"


def _fidelity(dataset: Path, out: Path, label: str, real, channels: dict[str, str], **kwargs) -> str:
    """Score a synthetic dataset against a real trace; write the report, return the summary."""
    from twinforge.fidelity import compare
    from twinforge.fidelity.report import save_report

    report = compare(real, dataset, channels=channels, **kwargs)
    html = save_report(report, out)
    lines = [f"  {label}", f"  report: {html}  (metrics: {out / 'metrics.json'})"]
    first = next(iter(channels))
    rows = [
        ("windows.discriminative_score", "discriminative score (0 = indistinguishable, 0.5 = separable)"),
        ("windows.nn_indistinguishability", "nearest-neighbour indistinguishability (1 = fully mixed)"),
    ] + [(f"channels.{c}.ks", f"Kolmogorov-Smirnov distance of {c}") for c in channels]
    if kwargs.get("tz") is not None:
        rows.append((f"channels.{first}.profile_error_hour", f"daily-profile error of {first}"))
    for key, text in rows:
        v = report.value(key)
        lines.append(f"    {text}: {v:.3f}" if v is not None else f"    {text}: n/a")
    return "\n".join(lines)


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
    print(f"  {home_dir}/samples/home/run-*.parquet   {len(df):,} rows x {df.shape[1]} columns")
    print(f"  {home_dir}/events.parquet   {len(events):,} events: "
          + ", ".join(f"{k} {v}" for k, v in events.category.value_counts().sort_index().items()))
    print(f"  {home_dir}/runs.parquet     {len(ds.runs)} runs with seed and {ds.runs.shape[1]} parameters each")
    print(f"  xarray view: dims {dict(xr_ds.sizes)}, e.g. temp_indoor_c in {xr_ds['temp_indoor_c'].attrs.get('unit', '?')}")
    for _, ev in rare.drop_duplicates("type").iterrows():
        n = int(xr_ds.twin.event_mask(ev.type).sum())  # events_active: overlaps included
        print(f"  rare event '{ev.type}': {ev.start:%Y-%m-%d %H:%M} to {ev.end:%Y-%m-%d %H:%M} UTC, "
              f"severity {ev.severity:g} {ev.severity_unit}, {n:,} labelled samples")
    daily_kwh = df.groupby("run_id").load_power_w.mean() * 24 / 1000
    print(f"  mean household consumption {daily_kwh.mean():.1f} kWh/day "
          f"(range {daily_kwh.min():.1f}-{daily_kwh.max():.1f}); "
          f"indoor {df.temp_indoor_c.min():.1f} to {df.temp_indoor_c.max():.1f} degC")
    g = open_dataset(grid_dir)
    gdf, gev = g.samples(), g.events
    print(f"\n  {grid_dir}: one feeder of 100 homes, {len(gdf):,} rows at 15 min")
    for _, ev in gev[gev.type == "outage"].iterrows():
        p = ev.params  # a struct: one dict per event
        print(f"  outage ({p['cause']}): {ev.start:%Y-%m-%d %H:%M}-{ev.end:%H:%M} UTC, "
              f"{p['homes_affected']} homes, energy not served {p['energy_not_served_j'] / 3.6e6:.0f} kWh")
    gx = g.to_xarray(columns=["events_active"])
    cold, outage = gx.twin.event_mask("cold_snap"), gx.twin.event_mask("outage")
    print(f"  labels (events_active): cold_snap on {int(cold.sum()):,} samples, outage on "
          f"{int(outage.sum()):,}, both at once on {int((cold & outage).sum()):,}")
    print(f"  peak feeder load {gdf.transformer_load_pu.max():.2f} pu, hot spot up to "
          f"{gdf.transformer_hot_spot_c.max():.0f} degC, end voltage down to {gdf.voltage_end_pu.min():.3f} pu")
    machine_dir = out / "machine"
    print()
    print(generate(load_spec(None, **MACHINES), machine_dir, progress=sys.stderr.isatty()).text())
    m = open_dataset(machine_dir)
    mdf = m.samples()
    last = mdf.groupby("run_id").tail(1)
    print(f"  {machine_dir}: {m.runs.shape[0]} bearings run to failure, {len(mdf):,} snapshots "
          f"(0.1 s at 25.6 kHz every 10 s; waveforms in {machine_dir}/snapshots/)")
    span = mdf.groupby("run_id").time.agg(["first", "last"])
    life_h = (span["last"] - span["first"]).dt.total_seconds() / 3600
    print(f"  lifetimes {', '.join(f'{h:.1f}' for h in life_h)} h; failure modes "
          f"{', '.join(sorted(set(last.fault)))}; RMS at failure {last.accel_rms_g.min():.1f}-"
          f"{last.accel_rms_g.max():.1f} g (healthy ~{mdf.accel_rms_g.head(50).median():.2f} g)")
    from twinforge.fidelity import load_pronostia, load_uci_household

    print("\nFidelity against the real UCI household trace (shipped sample, Dec 2008 - Jan 2009)")
    uci = {"real": load_uci_household()[["mains_power_w"]], "channels": {"mains_power_w": "mains_power_w"},
           "window": "1D", "tz": "Europe/Paris"}
    print(_fidelity(home_dir, out / "fidelity" / "default", "the demo's homes, default parameters:", **uci))
    calibrated_dir = out / "home_calibrated"
    calibrated = load_spec(PRESET, runs=6, days=14, start="2008-12-01", seed=2026)
    generate(calibrated, calibrated_dir, progress=False)
    print(_fidelity(calibrated_dir, out / "fidelity" / "calibrated",
                    f"6 homes from the calibrated preset {PRESET.relative_to(Path(__file__).parent.parent)}:", **uci))
    print("  (calibration targets the UCI house; see docs/fidelity.md for held-out scores)")
    print("\nFidelity of the machines against the six real PRONOSTIA bearings run to failure (shipped)")
    print(_fidelity(machine_dir, out / "fidelity" / "machine",
                    "5-min windows of per-snapshot RMS and kurtosis, default machines:",
                    real=load_pronostia(), channels={"accel_rms_g": "accel_rms_g", "accel_kurtosis": "accel_kurtosis"},
                    window="5min", tz=None, period="10s"))
    print("\nOpen it:")
    print("  .venv/bin/python -c \"import twinforge; ds = twinforge.open_dataset('%s'); print(ds.samples().head())\"" % home_dir)
    print(f"  .venv/bin/twinforge info {home_dir}")
    print(f"  .venv/bin/twinforge verify {machine_dir}")
    print("  notebooks/01_quickstart.ipynb walks through a dataset; docs/ describes every channel")
    print(f"\ndemo finished in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
