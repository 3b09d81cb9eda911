"""The fidelity results of docs/fidelity.md: each twin against its real trace, before and
after calibration, on data the calibration did not see.

    python docs/_fidelity_study.py home      # UCI household: sample hold-out, other years, TSTR (~5 min)
    python docs/_fidelity_study.py grid      # PJM East: 2014 hold-out, other years, 2015, TSTR (~15 min)
    python docs/_fidelity_study.py machine   # PRONOSTIA: held-out bearings (~5 min)

Every number is deterministic (fixed seeds). The full real sets (other UCI years, other PJM years)
are read from ``../shared/data`` beside the repository or ``TWINFORGE_SHARED_DATA``; the
parts that need them are skipped, with a message, when they are absent. The shipped presets
are the calibrated configurations; how they were calibrated is in docs/fidelity.md.
"""

from __future__ import annotations

import argparse
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import twinforge
from twinforge.campaign.spec import load_spec
from twinforge.fidelity import compare, load_pjm, load_pronostia, load_uci_household, tstr_forecast
from twinforge.fidelity.calibration import simulate_runs

PRESETS = Path(twinforge.__file__).parent / "data" / "presets"
SHARED = Path(os.environ.get("TWINFORGE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))

ROWS = [
    ("discriminative score", "windows.discriminative_score"),
    ("NN indistinguishability", "windows.nn_indistinguishability"),
    ("memorisation median ratio", "windows.memorisation_median_ratio"),
    ("memorisation copy share", "windows.memorisation_copy_share"),
]
CHANNEL_ROWS = [
    ("KS", "ks"), ("W1 / IQR", "wasserstein"), ("ACF distance", "acf_distance"),
    ("PSD log distance", "psd_log_distance"), ("profile error, hour of day", "profile_error_hour"),
    ("profile error, hour of week", "profile_error_hour_week"), ("tail q01", "tail_q01"),
    ("tail q99", "tail_q99"), ("tail q999", "tail_q999"),
]


def _fmt(v: float | None) -> str:
    return "-" if v is None or not np.isfinite(v) else f"{v:.3f}"


def table(reports: dict[str, object], channels: list[str]) -> str:
    """Markdown table: one column per report, window-level then per-channel rows."""
    names = list(reports)
    first = next(iter(reports.values()))
    counts = " / ".join(f"{r.info['n_real_windows']} real, {r.info['n_synth_windows']} synthetic"  # type: ignore[attr-defined]
                        for r in list(reports.values())[:1])
    lines = [f"| metric ({counts} windows) | " + " | ".join(names) + " |",
             "|---" * (len(names) + 1) + "|"]
    chance = first.info.get("chance_discriminative")  # type: ignore[attr-defined]
    for label, key in ROWS:
        extra = f" (chance about {chance:.2f})" if key.endswith("discriminative_score") and chance else ""
        lines.append(f"| {label}{extra} | " + " | ".join(_fmt(r.value(key)) for r in reports.values()) + " |")  # type: ignore[attr-defined]
    for ch in channels:
        for label, key in CHANNEL_ROWS:
            vals = [r.value(f"channels.{ch}.{key}") for r in reports.values()]  # type: ignore[attr-defined]
            if all(v is None for v in vals):
                continue
            prefix = f"{ch}: " if len(channels) > 1 else ""
            lines.append(f"| {prefix}{label} | " + " | ".join(_fmt(v) for v in vals) + " |")
    return "\n".join(lines)


#: Relabellings of the permutation test (compare(..., null_permutations=NULL_K)) for the
#: calibrated preset's first set: the scores a perfect model would reach with these counts.
NULL_K = 100


def null_reference(name: str, rep) -> str:
    """One line: the permutation null of the window scores, and the p-values of ``rep``."""
    d = rep.metrics["windows"]["discriminative_score"]
    n = rep.metrics["windows"]["nn_indistinguishability"]
    return (f"permutation null ({d['n_permutations']} relabellings of {rep.info['n_real_windows']} real and "
            f"{rep.info['n_synth_windows']} synthetic windows): discriminative median {d['null_median']:.3f}, "
            f"95 % {d['null_q95']:.3f} (rule of thumb {rep.info['chance_discriminative']:.3f}); NN 5 % "
            f"{n['null_q05']:.3f}; {name}: {d['value']:.3f} (p = {d['p_value']:.3g}) / {n['value']:.3f} "
            f"(p = {n['p_value']:.3g})")


def _quiet():
    warnings.simplefilter("ignore")


#: Seed sets for the spread of the window-level scores: each set is other synthetic units.
SEED_SETS = (1000, 2000, 3000, 4000, 5000, 6000)


def spread(real: pd.DataFrame, simulate, n_units: int, **kw) -> str:
    """Window-level scores over several sets of synthetic units: 'mean +- SD' per score.

    With a few dozen real windows, which synthetic units were drawn moves the scores a lot
    (NN indistinguishability by +-0.2 for 19 real days and 6 homes); one set is one draw.
    ``simulate(seeds)`` returns the synthetic frame of those seeds.
    """
    d, n = [], []
    for base in SEED_SETS:
        rep = compare(real, simulate(list(range(base, base + n_units))), **kw)
        d.append(rep.value("windows.discriminative_score"))
        n.append(rep.value("windows.nn_indistinguishability"))
    return (f"discriminative {np.mean(d):.3f} +- {np.std(d, ddof=1):.3f}, "
            f"NN indistinguishability {np.mean(n):.3f} +- {np.std(n, ddof=1):.3f} "
            f"({len(SEED_SETS)} sets of {n_units}, seeds from {', '.join(map(str, SEED_SETS))})")


# ---------------------------------------------------------------------------------------
# home twin against the UCI household


def home() -> None:
    from twinforge.twins.home import HomeConfig

    ch = {"mains_power_w": "mains_power_w"}
    preset = load_spec(PRESETS / "uci_household.toml").config
    real = load_uci_household()[["mains_power_w"]]
    # the calibration's split: whole Paris days, the last 30 % held out (19 of 62)
    h0, days = pd.Timestamp("2009-01-12T23:00Z"), 19
    hold = real[(real.index >= h0) & (real.index < h0 + pd.Timedelta(days=days))]
    early = real[real.index < h0]
    seeds = list(range(1000, 1006))
    reps = {}
    for name, cfg in (("default home", HomeConfig()), ("calibrated preset", preset)):
        synth = simulate_runs("home", cfg, h0, days, "1min", seeds, ["mains_power_w"])
        reps[name] = compare(hold, synth, channels=ch, null_permutations=NULL_K if name == "calibrated preset" else 0)
    reps["real vs real (first 42 days)"] = compare(hold, early.assign(run_id=0), channels=ch)
    print("### UCI sample, held-out days 2009-01-13 .. 01-31\n")
    print(table(reps, list(ch)), "\n")
    print(null_reference("calibrated preset", reps["calibrated preset"]), "\n")
    for name, cfg in (("default home", HomeConfig()), ("calibrated preset", preset)):
        print(f"{name}: " + spread(hold, lambda seeds: simulate_runs("home", cfg, h0, days, "1min", seeds,
                                                                      ["mains_power_w"]), 6, channels=ch))
    print()

    full = SHARED / "uci_household_power" / "minute_household_power.csv.xz"
    if not full.exists():
        print(f"(other years skipped: {full} not found)")
        return
    all_real = load_uci_household(full)[["mains_power_w"]]
    for label, a, b in (("winter 2009-10", "2009-11-30T23:00Z", "2010-01-28T23:00Z"),
                        ("year 2008", "2007-12-31T23:00Z", "2008-12-30T23:00Z")):
        t0, t1 = pd.Timestamp(a), pd.Timestamp(b)
        r = all_real[(all_real.index >= t0) & (all_real.index < t1)]
        n_days = (t1 - t0) / pd.Timedelta("1D")
        reps = {}
        synths = {}
        for name, cfg in (("default home", HomeConfig()), ("calibrated preset", preset)):
            synths[name] = simulate_runs("home", cfg, t0, n_days, "1min", list(range(5000, 5006)), ["mains_power_w"])
            reps[name] = compare(r, synths[name], channels=ch)
        print(f"### {label} ({n_days:g} days, never seen by the calibration)\n")
        print(table(reps, list(ch)), "\n")
        if label.startswith("winter"):
            for name, synth in synths.items():
                res = tstr_forecast(r, synth, channels=ch)
                print(f"TSTR day-ahead 1 h, {name}: MAE real-trained {res.trtr['mae']:.0f} W, "
                      f"synthetic-trained {res.tstr['mae']:.0f} W, seasonal naive {res.baseline['mae']:.0f} W, "
                      f"ratio {res.ratio:.2f} (RMSE ratio {res.ratio_rmse:.2f}); test from "
                      f"{res.details.get('test_start', '?')}")
            print()


# ---------------------------------------------------------------------------------------
# grid twin against PJM East


def grid() -> None:
    ch = {"load_power_w": "feeder_power_w"}
    tz = "America/New_York"
    spec = load_spec(PRESETS / "pjm_east.toml")
    real = load_pjm()
    h0 = pd.Timestamp("2014-09-13T04:00Z")  # the calibration's split: the last 110 local days held out
    hold = real[real.index >= h0]
    days = float((hold.index[-1] - h0) / pd.Timedelta("1D")) + 1 / 24
    base_cfg = spec.config.model_copy(update={"commercial": None})
    full = SHARED / "pjm_hourly_load" / "PJME_hourly.csv"
    r_all = load_pjm(full) if full.exists() else None
    reps = {}
    for name, cfg in (("feeder without [grid.commercial]", base_cfg), ("calibrated preset", spec.config)):
        synth = simulate_runs("grid", cfg, h0, days, "1h", [1000, 1001], ["feeder_power_w"])  # as calibrate's evaluation
        reps[name] = compare(hold, synth, channels=ch, tz=tz, normalise="mean",
                             null_permutations=NULL_K if name == "calibrated preset" else 0)
    if r_all is not None:
        # the yardstick: the same dates of two other real years stand in for the two feeders
        real_pairs = {k: compare(hold, other, channels=ch, tz=tz, normalise="mean")
                      for k, other in _other_autumns(r_all, tz).items()}
        reps["real: autumns 2012 + 2013"] = real_pairs[(2012, 2013)]
    print("### PJM East 2014, held-out days 2014-09-13 .. 12-31 (normalised by mean)\n")
    print(table(reps, list(ch)), "\n")
    print(null_reference("calibrated preset", reps["calibrated preset"]), "\n")
    print("calibrated preset: " + spread(hold, lambda seeds: simulate_runs("grid", spec.config, h0, days, "1h", seeds,
                                                                        ["feeder_power_w"]), 2,
                                         channels=ch, tz=tz, normalise="mean"))
    if r_all is not None:
        ds = [r.value("windows.discriminative_score") for r in real_pairs.values()]
        ns = [r.value("windows.nn_indistinguishability") for r in real_pairs.values()]
        print(f"real vs real, {len(ds)} pairs of other years ({', '.join(f'{a}+{b}' for a, b in real_pairs)}): "
              f"discriminative {np.mean(ds):.3f} +- {np.std(ds, ddof=1):.3f}, "
              f"NN indistinguishability {np.mean(ns):.3f} +- {np.std(ns, ddof=1):.3f}")
    print()

    if r_all is None:
        print(f"(2015 and the other years skipped: {full} not found)")
        return
    t0, t1 = pd.Timestamp("2015-01-01T05:00Z"), pd.Timestamp("2016-01-01T05:00Z")
    r15 = r_all[(r_all.index >= t0) & (r_all.index < t1)]
    reps, synths = {}, {}
    for name, cfg in (("feeder without [grid.commercial]", base_cfg), ("calibrated preset", spec.config)):
        synths[name] = simulate_runs("grid", cfg, t0, 365, "1h", [2001, 2002], ["feeder_power_w"])
        reps[name] = compare(r15, synths[name], channels=ch, tz=tz, normalise="mean")
    print("### PJM East 2015 (never seen by the calibration)\n")
    print(table(reps, list(ch)), "\n")
    for name, synth in synths.items():
        res = tstr_forecast(r15, synth, channels=ch, tz=tz, scale="mean")
        print(f"TSTR day-ahead 1 h, {name}: MAE real-trained {res.trtr['mae'] / 1e9:.2f} GW, "
              f"synthetic-trained {res.tstr['mae'] / 1e9:.2f} GW, seasonal naive {res.baseline['mae'] / 1e9:.2f} GW, "
              f"ratio {res.ratio:.2f} (RMSE ratio {res.ratio_rmse:.2f})")
    print()


def _other_autumns(r_all: pd.DataFrame, tz: str) -> dict[tuple[int, int], pd.DataFrame]:
    """PJME's held-out dates (13 September .. 31 December, local) of the years other than
    2014, paired in calendar order (2002 + 2003, ..., 2015 + 2016; 2017 is left over), each
    pair as one frame of two units (``run_id`` 0 and 1) like two synthetic feeders, its
    column named as the feeder's channel (``feeder_power_w``)."""
    def autumn(y: int) -> pd.DataFrame:
        a, b = pd.Timestamp(f"{y}-09-13", tz=tz), pd.Timestamp(f"{y + 1}-01-01", tz=tz)
        return r_all[(r_all.index >= a) & (r_all.index < b)]
    years = [y for y in range(2002, 2018) if y != 2014]
    return {(a, b): pd.concat([autumn(a).assign(run_id=0), autumn(b).assign(run_id=1)])
            .rename(columns={"load_power_w": "feeder_power_w"})
            for a, b in zip(years[0::2], years[1::2])}


# ---------------------------------------------------------------------------------------
# machine twin against PRONOSTIA

#: Bearings in calibration order: the last two (one at condition 2, one at 3) are held out.
PRONOSTIA_ORDER = ["Bearing1_1", "Bearing2_1", "Bearing3_2", "Bearing1_2", "Bearing2_2", "Bearing3_1"]


def machine() -> None:
    from twinforge.twins.machine import MachineConfig

    ch = {"accel_rms_g": "accel_rms_g", "accel_kurtosis": "accel_kurtosis"}
    real = load_pronostia(bearings=PRONOSTIA_ORDER)
    hold = real[real.run_id >= 4]
    # as the calibration's evaluation: from the first held-out start for the longest held-out span
    span = max(g.index[-1] - g.index[0] for _, g in hold.groupby("run_id")) + pd.Timedelta("10s")
    days = span / pd.Timedelta("1D")
    preset = load_spec(PRESETS / "pronostia.toml")  # a config and the fleet laws each machine is drawn from
    reps = {}
    for name, cfg, div, seeds in (
        ("default machine", MachineConfig(until_failure=True), None, range(1000, 1006)),
        ("calibrated preset", preset.config, preset.diversity, range(1000, 1006)),
    ):
        synth = simulate_runs("machine", cfg, hold.index.min(), days, "10s", list(seeds), list(ch.values()),
                              diversity=div)
        reps[name] = compare(hold, synth, channels=ch, window="5min", tz=None, period="10s",
                             null_permutations=NULL_K if name == "calibrated preset" else 0)
    cal = real[real.run_id < 4]
    reps["real vs real (4 calibration bearings)"] = compare(hold, cal, channels=ch, window="5min", tz=None,
                                                           period="10s")
    print("### PRONOSTIA, held-out bearings Bearing2_2 and Bearing3_1 (5-min windows of 30 snapshots)\n")
    print(table(reps, list(ch)), "\n")
    print(null_reference("calibrated preset", reps["calibrated preset"]), "\n")
    for name, cfg, div in (("default machine", MachineConfig(until_failure=True), None),
                           ("calibrated preset", preset.config, preset.diversity)):
        print(f"{name}: " + spread(hold, lambda seeds: simulate_runs("machine", cfg, hold.index.min(), days, "10s",
                                                                      seeds, list(ch.values()), diversity=div),
                                   6, channels=ch, window="5min", tz=None, period="10s"))
    print()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("twin", choices=["home", "grid", "machine"])
    args = ap.parse_args()
    _quiet()
    {"home": home, "grid": grid, "machine": machine}[args.twin]()


if __name__ == "__main__":
    main()
