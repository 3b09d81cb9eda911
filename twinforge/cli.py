"""The ``twinforge`` command line.

Exit codes: 0 success, 2 bad input (one line per problem naming the field and what is
allowed; nothing written), 1 a failure while running (the message says what and where).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["main"]

_GENERATE_EPILOG = """\
examples:
  twinforge generate home --homes 10 --days 30 --period 1min --seed 7 --out data/
  twinforge generate grid --homes 200 --days 365 --period 15min --seed 7 --out grid/
  twinforge generate home --config scenario.toml --out data/

A scenario file (TOML) may set any of: twin, runs, days, period, start, seed,
[home.*] (or [machine.*], ...) parameters (weather, occupancy, appliances, envelope, hvac, pv, battery, ev,
sensors), [diversity] laws and [[events]] (type, start, duration_h, severity).
Flags given on the command line override the file. See docs/nomenclature.md.
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="twinforge", description="Labelled time series from digital twins.")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    g = sub.add_parser(
        "generate", help="simulate runs of a twin and write a Parquet dataset",
        description="Simulate runs of a twin and write a labelled Parquet dataset.",
        epilog=_GENERATE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g.add_argument("twin", nargs="?", default=None, help="twin to run: home, grid (default: the scenario's, else home)")
    g.add_argument("--config", type=Path, help="TOML scenario file")
    g.add_argument("--runs", type=int, help="number of runs, 1 to 1,000,000 (homes, feeders, machines)")
    g.add_argument("--homes", type=int, help="home twin: number of homes (= runs); grid twin: homes per feeder")
    g.add_argument("--days", type=float, help="horizon in days (> 0, <= 3660)")
    g.add_argument("--period", help="sample period: 1s .. 1h, e.g. 1min, 15min")
    g.add_argument("--start", help="first sample, UTC date/time (default 2024-01-01)")
    g.add_argument("--seed", type=int, help="root seed (>= 0); without it one is drawn and recorded")
    g.add_argument("--out", type=Path, required=True, help="output dataset folder (must not exist unless --resume/--overwrite)")
    mode = g.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true", help="finish an interrupted dataset, keeping complete runs")
    mode.add_argument("--overwrite", action="store_true", help="replace an existing twinforge dataset at --out")
    g.add_argument("--quiet", action="store_true", help="no progress bar")

    i = sub.add_parser("info", help="describe a dataset: runs, channels, units, events")
    i.add_argument("path", type=Path)
    return p


def _fail(msg: str, code: int) -> int:
    print(f"twinforge: error: {msg}" if "\n" not in msg else f"twinforge: error:\n{msg}", file=sys.stderr)
    return code


def _generate(args: argparse.Namespace) -> int:
    from twinforge.campaign.runner import generate
    from twinforge.campaign.spec import SpecError, load_spec

    twin = args.twin
    if twin is None and args.config is None:
        twin = "home"
    extra: dict = {}
    runs = args.runs
    if args.homes is not None:
        if (twin or "home") == "grid":
            extra["grid"] = {"n_homes": args.homes}
        elif runs is None:
            runs = args.homes
    try:
        spec = load_spec(
            args.config, twin=twin, runs=runs, days=args.days, period=args.period,
            start=args.start, seed=args.seed, **extra,
        )
    except SpecError as e:
        return _fail(str(e), 2)
    mode = "resume" if args.resume else "overwrite" if args.overwrite else "create"
    try:
        summary = generate(spec, args.out, mode=mode, progress=not args.quiet)
    except FileExistsError as e:
        return _fail(str(e), 2)
    except (OSError, ValueError) as e:
        return _fail(str(e), 1)
    except KeyboardInterrupt:
        return _fail(f"interrupted; complete runs are kept, finish with --resume --out {args.out}", 130)
    print(summary.text())
    return 0


def _info(args: argparse.Namespace) -> int:
    from twinforge.export import describe

    try:
        print(describe(args.path))
    except (FileNotFoundError, ValueError) as e:
        return _fail(str(e), 2)
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:  # `twinforge info data/ | head`
        sys.stderr.close()
        return 0


def _main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.version:
        from twinforge import __version__

        print(__version__)
        return 0
    if args.command == "generate":
        return _generate(args)
    if args.command == "info":
        return _info(args)
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
