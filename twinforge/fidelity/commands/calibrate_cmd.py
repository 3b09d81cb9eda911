"""``twinforge calibrate``: fit twin parameters to a real trace and write a preset."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from twinforge.fidelity.commands.common import (
    InputError,
    base_from_config,
    check_out_folder,
    fail,
    first_problem,
    load_real_args,
    not_calibrate_reports,
    parse_map,
    parse_params,
    real_trace_options,
)

__all__ = ["add_parser", "run_calibrate"]

EPILOG = """\
examples:
  twinforge calibrate --real twinforge/data/uci_household/household_power_2008-12_2009-01.csv.xz \\
      --map mains_power_w=mains_power_w --params appliances.usage_scale,appliances.standby_w \\
      --budget 40 --out uci.toml
  twinforge generate --config uci.toml --runs 10 --out data/

  twinforge calibrate --config twinforge/data/presets/pjm_east.toml --real PJME_hourly.csv \\
      --normalise mean --tz America/New_York --period 1h \\
      --params homes.cooling_share,homes.resistive_share --units 1 --out pjm.toml

--tz must be the twin's own zone (its config's tz: Europe/Paris unless --config sets it).
A parameter is a dotted path in the twin's config with a default range (see
twinforge.fidelity.calibration.PARAMETERS; home: appliances.usage_scale, appliances.standby_w,
appliances.lighting_w_per_active, occupancy.n_occupants, occupancy.persistence,
occupancy.schedule_shift_sd_h, hvac.heating_capacity_w, hvac.heat_setpoint_c,
envelope.ua_w_per_k, dhw.*; grid: homes.*_share, weather.temp_mean_c, ...; machine:
degradation.*, vibration.*), or name=low:high for any numeric parameter of the twin.
With a --config scenario that has a [diversity] section, the fleet laws' fields can be
calibrated too (diversity.background_sigma: how much bearings differ from each other).
"""


def add_parser(subparsers: Any) -> None:
    c = subparsers.add_parser(
        "calibrate", help="fit twin parameters to a real trace and write a preset",
        description="Fit twin parameters (home, grid or machine) to a real trace; write a scenario preset (TOML).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    c.add_argument("--real", type=Path, required=True, help="real trace file (CSV/Parquet)")
    c.add_argument("--map", action="append", metavar="REAL=CHANNEL",
                   help="real column = twin channel (home default mains_power_w=mains_power_w, "
                        "grid load_power_w=feeder_power_w)")
    c.add_argument("--twin", choices=["home", "grid", "machine"],
                   help="twin to calibrate (default: the --config scenario's twin, else home)")
    c.add_argument("--params", required=True,
                   help="comma-separated parameters, e.g. appliances.usage_scale,appliances.standby_w")
    c.add_argument("--budget", type=int, default=30, help="candidate simulations (default 30)")
    c.add_argument("--config", type=Path, help="base scenario TOML (its twin section is the start point; only "
                   "with a [diversity] section does each run draw its own unit, and diversity.* fields can be "
                   "calibrated)")
    real_trace_options(c)
    c.add_argument("--period", help="simulation period (default: the real trace's)")
    c.add_argument("--window", default="1D", help="window length (default 1D)")
    c.add_argument("--normalise", default="none", choices=["none", "mean"],
                   help="divide each real unit and synthetic run by its mean (shapes, not levels)")
    c.add_argument("--holdout", type=float, default=0.3,
                   help="share of the last windows (or real units) held out (default 0.3)")
    c.add_argument("--units", "--homes", dest="units", type=int, default=3,
                   help="simulated runs (homes, feeders, machines) per candidate (default 3)")
    c.add_argument("--method", default="auto",
                   choices=["auto", "bounded", "nelder-mead", "powell", "differential_evolution"])
    c.add_argument("--weights", metavar="TERM=W[,TERM=W]",
                   help="loss weights: wasserstein, profile, acf, discriminative, spread (default 1 each)")
    c.add_argument("--rescore", type=int, default=0,
                   help="re-score the K best candidates and the start on fresh runs and "
                        "keep the best of those (against a candidate best by luck; default 0: off)")
    c.add_argument("--rescore-units", type=int, default=None,
                   help="runs per re-scored candidate (default max(--units, 6))")
    c.add_argument("--seed", type=int, default=0, help="root seed of the simulated runs (default 0)")
    c.add_argument("--report", type=Path,
                   help="also write the held-out reports (before/ and after/: report.html, metrics.json) "
                        "into this folder (new or empty)")
    c.add_argument("--out", type=Path, required=True, help="preset TOML to write (a new file)")
    c.add_argument("--overwrite", action="store_true",
                   help="replace an earlier preset at --out (a regular file twinforge wrote, nothing else) "
                        "and earlier reports at --report")
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    c.set_defaults(fidelity_handler=run_calibrate)


def parse_weights(text: str | None) -> dict[str, float] | None:
    """``--weights discriminative=2,spread=0.5`` -> ``{"discriminative": 2.0, "spread": 0.5}``."""
    if not text:
        return None
    out: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.strip().partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise InputError(f"--weights: expected TERM=NUMBER, got {part.strip()!r}") from None
        if not sep or not name.strip():
            raise InputError(f"--weights: expected TERM=NUMBER, got {part.strip()!r}")
    return out


def run_calibrate(args: argparse.Namespace) -> int:
    from twinforge.campaign.spec import SpecError
    from twinforge.fidelity._io import OutputError, check_output_file
    from twinforge.fidelity.prepared import CompareError
    from twinforge.fidelity.preset import is_preset

    note = ""
    try:
        mapping = parse_map(args.map)
        params = parse_params(args.params)
        weights = parse_weights(args.weights)
        base, twin = None, args.twin
        if args.config is not None:
            base, note = base_from_config(args.config, twin)
            twin = base.twin
        twin = twin or "home"
        if args.budget < 2:
            raise InputError(f"--budget must be >= 2, got {args.budget}")
        if args.units < 1:
            raise InputError(f"--units must be >= 1, got {args.units}")
        if args.rescore < 0:
            raise InputError(f"--rescore must be >= 0, got {args.rescore}")
        if args.rescore_units is not None and args.rescore_units < 1:
            raise InputError(f"--rescore-units must be >= 1, got {args.rescore_units}")
        check_output_file(args.out, "--out", args.overwrite, is_preset, what="preset")
        if args.report is not None:
            check_out_folder(args.report, "--report", args.overwrite, not_calibrate_reports)
            preset, reports = args.out.absolute(), args.report.absolute()
            if preset == reports or reports in preset.parents:
                raise InputError(f"--out {args.out}: inside --report {args.report}, which is replaced "
                                 "as a whole; put the preset elsewhere")
            if args.holdout == 0:
                raise InputError("--report: the reports score held-out data; --holdout 0 holds none out")
        real = load_real_args(args)
        from twinforge.fidelity.calibration import calibrate

        res = calibrate(
            real, params=params, twin=twin, channels=mapping, base=base, max_runs=args.budget, n_units=args.units,
            holdout=args.holdout, tz=args.tz, period=args.period, method=args.method, window=args.window,
            normalise=args.normalise, weights=weights, seed=args.seed, source=str(args.real),
            rescore=args.rescore, n_rescore_units=args.rescore_units, progress=not args.quiet,
        )
        if note:
            res.details["fleet_note"] = note
    except (InputError, CompareError, SpecError, OutputError) as exc:
        return fail(str(exc).splitlines()[0], 2)
    except ValueError as exc:
        return fail(first_problem(exc), 2)
    target, staged = args.out, None
    try:  # the reports are staged beside --report first: nothing lands unless all of it is written
        if args.report is not None and res.report_after is not None:
            from twinforge.fidelity._io import commit, staging
            from twinforge.fidelity.report import write_report

            target, staged = args.report, staging(args.report)
            for name, rep in (("before", res.report_before), ("after", res.report_after)):
                write_report(rep, staged / name)
                rep.to_json(staged / name / "metrics.json")
        target = args.out
        res.write_preset(args.out, source=str(args.real), overwrite=args.overwrite)
        if staged is not None:
            target = args.report
            commit(staged, args.report)
            staged = None
    except OutputError as exc:
        return fail(str(exc).splitlines()[0], 2)
    except (OSError, SpecError) as exc:
        return fail(f"cannot write {target}: {exc}", 1)
    finally:
        if staged is not None:
            import shutil

            shutil.rmtree(staged, ignore_errors=True)
    print(res.summary())
    reports = f" and the held-out reports in {args.report}" if args.report is not None and res.report_after else ""
    print(f"wrote {args.out}{reports}; use it with: twinforge generate --config {args.out} --out DIR")
    return 0
