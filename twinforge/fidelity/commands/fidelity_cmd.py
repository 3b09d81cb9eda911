"""``twinforge fidelity``: a real trace against a synthetic dataset (or, with ``--protocol``,
a twin against a held-out period of its source)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from twinforge.fidelity.commands.common import (
    InputError,
    check_out_folder,
    fail,
    load_real_args,
    not_a_report,
    parse_map,
    steps,
    real_trace_options,
    write_folder,
)

__all__ = ["add_parser", "run_fidelity"]

EPILOG = """\
examples:
  twinforge fidelity --real twinforge/data/uci_household/household_power_2008-12_2009-01.csv.xz --synthetic data/ \\
      --map mains_power_w=mains_power_w --period 1min --out report/
  twinforge fidelity --real PJME_hourly.csv --synthetic grid/ --map load_power_w=feeder_power_w \\
      --normalise mean --tz America/New_York --period 1h --out pjm_report/

  twinforge fidelity --real twinforge/data/pronostia/learning_set_snapshot_features.csv.xz \\
      --synthetic machines/ --map accel_rms_g=accel_rms_g,accel_kurtosis=accel_kurtosis \\
      --window 5min --tz none --period 10s --out bearing_report/

  # the held-out protocol: a twin against a later period of its source, beside reality's own variation
  twinforge fidelity --protocol --real PJME_hourly.csv --config twinforge/data/presets/pjm_east.toml \\
      --calibration 2011-01-01:2013-01-01 --holdout 2014-01-01:2016-01-01 --unseen AEP_hourly.csv \\
      --map load_power_w=feeder_power_w --normalise mean --tz America/New_York --period 1h --out protocol/

--real is read by format: 'uci' (UCI household power text/CSV), 'pjm' (Kaggle PJM hourly
load), 'pronostia' (per-snapshot bearing features, one unit per bearing, see
twinforge.fidelity.load_pronostia), 'trace' (a CSV/Parquet with a time column, see
twinforge.fidelity.load_trace); 'auto' (default) recognises the first three from their header
(a PJM copy renamed to Prophet's 'ds,y' only under its Kaggle name <ZONE>_hourly.csv; any
other 'ds,y' file needs --unit y=UNIT, or --format pjm).
--tz none cuts windows from each unit's first sample instead of local midnights (machines);
otherwise --tz must be the zone the synthetic data were simulated in. Synthetic windows
outside the real trace's months are left out (like with like) unless --all-months.
"""


def add_parser(subparsers: Any) -> None:
    f = subparsers.add_parser(
        "fidelity", help="compare a real trace with a synthetic dataset (metrics + HTML report)",
        description="Compare a real trace with synthetic data: metrics.json and report.html; with --protocol, "
                    "score a twin on a held-out period of its source against reality's own variation.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    f.add_argument("--real", type=Path, required=True, help="real trace file (CSV/Parquet)")
    f.add_argument("--synthetic", type=Path, help="synthetic dataset folder (twinforge generate)")
    f.add_argument("--map", action="append", metavar="REAL=CHANNEL",
                   help="real column = synthetic channel (repeat or comma-separate); default: same names")
    real_trace_options(f)
    f.add_argument("--window", default="1D", help="window length (default 1D)")
    f.add_argument("--period", help="common period, e.g. 1min, 15min, 1h (default: the coarser one)")
    f.add_argument("--normalise", default="none", choices=["none", "mean"],
                   help="'mean': divide each trace / run by its mean (compare shapes)")
    f.add_argument("--twin", help="twin to read from a multi-twin dataset")
    f.add_argument("--seed", type=int, default=0, help="seed of the classifier (default 0)")
    f.add_argument("--null-permutations", type=int, default=0, metavar="K",
                   help="permutation test of the window scores: K relabellings of the pooled windows "
                        "give their null reference and p-values (default 0: off; --protocol: 50)")
    f.add_argument("--bootstrap", type=int, default=0, metavar="B",
                   help="90 %% bootstrap intervals of the window scores from B resamples of the scored windows (default 0; --protocol: 1000)")
    f.add_argument("--tstr", default="auto", choices=["auto", "on", "off"],
                   help="train-on-synthetic-test-on-real day-ahead forecast (auto: with local time and a week of data)")
    f.add_argument("--all-months", action="store_true",
                   help="keep synthetic windows outside the real trace's months (the summary then warns)")
    g = f.add_argument_group("held-out protocol (--protocol)")
    g.add_argument("--protocol", action="store_true",
                   help="calibrate/score a twin on period A, score it on the later period B, beside real A vs B")
    g.add_argument("--config", type=Path, help="the twin's scenario or preset TOML")
    g.add_argument("--calibration", metavar="START:END", help="period A, local dates [START, END)")
    g.add_argument("--holdout", metavar="START:END", help="period B, local dates [START, END)")
    g.add_argument("--unseen", type=Path, help="a real source of the same kind calibration never saw")
    g.add_argument("--units", type=int, default=2, help="twin runs per period (default 2)")
    g.add_argument("--params", help="calibrate these parameters on period A first (comma-separated)")
    g.add_argument("--budget", type=int, default=30, help="candidate simulations of that calibration (default 30)")
    f.add_argument("--out", type=Path, required=True,
                   help="output folder for report.html, metrics.json and the figures (new or empty)")
    f.add_argument("--overwrite", action="store_true", help="replace an earlier report at --out")
    f.add_argument("--quiet", action="store_true", help="no progress output")
    f.set_defaults(fidelity_handler=run_fidelity)


def _tstr_wanted(args: argparse.Namespace, real: Any) -> bool:
    if args.tstr != "auto":
        return args.tstr == "on"
    if args.tz is None or "run_id" in getattr(real, "columns", ()):
        return False
    span = real.index[-1] - real.index[0]
    return bool(span.total_seconds() >= 7 * 86_400.0)


def run_fidelity(args: argparse.Namespace) -> int:
    if args.protocol:
        from twinforge.fidelity.commands.protocol_cmd import run_protocol

        return run_protocol(args)
    from twinforge.fidelity.prepared import CompareError

    protocol_only = [flag for flag, v in (("--config", args.config), ("--calibration", args.calibration),
                                          ("--holdout", args.holdout), ("--unseen", args.unseen),
                                          ("--params", args.params)) if v is not None]
    if protocol_only:
        return fail(f"{protocol_only[0]}: only with --protocol", 2)
    if args.synthetic is None:
        return fail("--synthetic: give the synthetic dataset folder (or --protocol with --config)", 2)
    bar = steps(args.quiet, 3, "fidelity")
    try:
        with bar:
            from twinforge.fidelity.comparison import compare

            mapping = parse_map(args.map)
            check_out_folder(args.out, "--out", args.overwrite, not_a_report)
            bar.set_postfix_str("reading --real")
            real = load_real_args(args)
            bar.update(1)
            bar.set_postfix_str("comparing")
            rep = compare(real, args.synthetic, channels=mapping, window=args.window, tz=args.tz,
                          period=args.period, seed=args.seed, normalise=args.normalise, twin=args.twin,
                          null_permutations=args.null_permutations, n_boot=args.bootstrap,
                          match_span=not args.all_months, tstr=_tstr_wanted(args, real))
            bar.update(1)
            bar.set_postfix_str("writing the report")
            from twinforge.fidelity.report import save_report

            try:
                save_report(rep, args.out)
            except OSError as exc:
                return fail(f"cannot write the report to {args.out}: {exc}", 1)
            bar.update(1)
    except (InputError, CompareError) as exc:
        return fail(str(exc).splitlines()[0], 2)
    except ValueError as exc:  # a metric that cannot be computed on these data
        return fail(f"cannot compare {args.real} with {args.synthetic}: {str(exc).splitlines()[0]}", 2)
    print(rep.summary())
    print(f"wrote {args.out / 'report.html'} and {args.out / 'metrics.json'}")
    return 0


def write_reports(folder: Path, reports: dict[str, Any]) -> None:
    """Write several reports into sub-folders of ``folder``, staged and moved in whole."""
    from twinforge.fidelity.report import write_report

    def fill(staged: Path) -> None:
        for name, rep in reports.items():
            write_report(rep, staged / name)
            rep.to_json(staged / name / "metrics.json")

    write_folder(folder, fill)
