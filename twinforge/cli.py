"""The ``twinforge`` command line.

Exit codes: 0 success, 2 bad input (one line per problem naming the field and what is
allowed; nothing written), 1 a failure while running (the message says what and where).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

__all__ = ["main"]

_GENERATE_EPILOG = """\
examples:
  twinforge generate home --homes 10 --days 30 --period 1min --seed 7 --out data/
  twinforge generate grid --homes 200 --days 365 --period 15min --seed 7 --out grid/
  twinforge generate machine --machines 20 --until-failure --rate 25.6kHz --period 10s --out data/
  twinforge generate home --config scenario.toml --out data/

A scenario file (TOML) may set any of: twin, runs, days, period, start, seed,
[home.*] (or [machine.*], ...) parameters (weather, occupancy, appliances, envelope, hvac, pv, battery, ev,
sensors), [diversity] laws and [[events]] (type, start, duration_h, severity).
Flags given on the command line override the file. See docs/nomenclature.md.
"""


class ArgumentParser(argparse.ArgumentParser):
    """argparse with bad arguments reported on one line (the usage is one ``--help`` away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="twinforge", description="Labelled time series from digital twins.")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    g = sub.add_parser(
        "generate", help="simulate runs of a twin and write a Parquet dataset",
        description="Simulate runs of a twin and write a labelled Parquet dataset.",
        epilog=_GENERATE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g.add_argument("twin", nargs="?", default=None, help="twin to run: home, grid, machine (default: the scenario's, else home)")
    g.add_argument("--config", type=Path, help="TOML scenario file")
    g.add_argument("--runs", type=int, help="number of runs, 1 to 1,000,000 (homes, feeders, machines; default 1)")
    g.add_argument("--homes", type=int, help="home twin: number of homes (= runs); grid twin: homes per feeder (default 200)")
    g.add_argument("--machines", type=int, help="machine twin: number of machines (= runs)")
    g.add_argument("--until-failure", action="store_true", default=None,
                   help="machine twin: end each run at its bearing failure (capped by --days)")
    g.add_argument("--rate", help="machine twin: accelerometer sample rate, 12kHz .. 51.2kHz (default 25.6kHz)")
    g.add_argument("--days", type=float, help="horizon in days, > 0 and <= 3660 (default 7)")
    g.add_argument("--period", help="sample period, e.g. 15min (default 1min; home 1s .. 1h, grid 1min .. 1h, "
                   "machine: the snapshot interval, 0.5s .. 1d)")
    g.add_argument("--start", help="first sample, UTC date/time (default 2024-01-01)")
    g.add_argument("--seed", type=int, help="root seed (>= 0); without it one is drawn and recorded")
    g.add_argument("--out", type=Path, required=True, help="output dataset folder (must not exist unless --resume/--overwrite)")
    mode = g.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true", help="finish an interrupted dataset, keeping complete runs")
    mode.add_argument("--overwrite", action="store_true", help="replace an existing twinforge dataset at --out")
    g.add_argument("--quiet", action="store_true", help="no progress bar")

    i = sub.add_parser(
        "info", help="describe a dataset: runs, channels, units, tables, events, weights",
        description="Describe a dataset: its twins and runs, time span, channels with units, "
        "every table with its size, events by type with the unit of their severity, and for a "
        "campaign its sampler, importance weights and effective sample size.",
    )
    i.add_argument("path", type=Path, help="dataset folder (written by twinforge generate or campaign run)")

    c = sub.add_parser(
        "campaign", help="Monte Carlo campaigns: many runs with rare events, weights, pairs",
        description="Run a campaign file (see docs/campaigns.md) or estimate from its dataset.",
    )
    csub = c.add_subparsers(dest="campaign_command", metavar="ACTION")
    cr = csub.add_parser(
        "run", help="plan and run every run of a campaign file",
        description="Plan and run a campaign. The dataset depends only on the file and its seed, "
        "whatever --workers or --scheduler.",
    )
    cr.add_argument("spec", type=Path, help="campaign file (TOML), or the name of a shipped example: "
                    + ", ".join(sorted(p.stem for p in (Path(__file__).parent / "data" / "campaigns").glob("*.toml"))))
    cr.add_argument("--out", type=Path, help="output dataset folder (default: the file's output)")
    cr.add_argument("--workers", type=int, default=1, help="local worker processes (default 1: in this process)")
    cr.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786")
    cr.add_argument("--seed", type=int, help="root seed (overrides the file's)")
    cr.add_argument("--runs", type=int, help="number of runs, pairs for a counterfactual campaign (overrides "
                    "the file's; a stratified campaign scales its [classes]): try a campaign small first")
    cr.add_argument("--days", type=float, help="horizon in days (overrides the file's)")
    cmode = cr.add_mutually_exclusive_group()
    cmode.add_argument("--resume", action="store_true", help="finish an interrupted campaign, keeping complete runs")
    cmode.add_argument("--overwrite", action="store_true", help="replace an existing twinforge dataset at --out")
    cr.add_argument("--quiet", action="store_true", help="no progress bar")
    ce = csub.add_parser(
        "estimate", help="weighted estimate of a per-run statistic of a samples column",
        description="Weighted estimate over the factual runs: per run, STAT of COLUMN "
        "(or the indicator STAT > ABOVE), averaged with the runs' weights.",
    )
    ce.add_argument("dataset", type=Path)
    ce.add_argument("--column", required=True, help="samples column, e.g. temp_indoor_c")
    ce.add_argument("--stat", default="max", choices=["max", "min", "mean", "sum", "std"])
    ce.add_argument("--above", type=float, help="estimate P(STAT > ABOVE) instead of E[STAT]")
    ce.add_argument("--self-normalised", action="store_true", help="self-normalised estimator")
    v = sub.add_parser(
        "verify", help="re-check a dataset: schema, metadata, manifest, invariants, regeneration",
        description="Re-check a dataset: manifest and files, schema and units, row counts and time grid, "
        "events and runs tables, the twin's physical invariants, and that a sample of runs regenerates "
        "byte for byte from the recorded scenario and seed. Exit 0 if all is well, 1 if not.",
    )
    v.add_argument("path", type=Path, help="dataset folder (written by twinforge generate or campaign run)")
    v.add_argument("--regenerate", type=int, default=2, help="runs to regenerate (0: none; default 2)")
    from twinforge.fidelity.commands import add_parsers as add_fidelity_parsers

    add_fidelity_parsers(sub)
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
    machine: dict = {}
    if args.until_failure:
        machine["until_failure"] = True
    if args.rate is not None:
        from twinforge.core.timegrid import parse_rate_hz

        try:
            machine["sample_rate_hz"] = parse_rate_hz(args.rate)
        except ValueError as e:
            return _fail(f"machine.sample_rate_hz: {e}", 2)
    if args.machines is not None and runs is None:
        runs = args.machines
    if (machine or args.machines is not None) and twin not in (None, "machine"):
        return _fail(f"--machines, --until-failure and --rate apply to the machine twin, not {twin}", 2)
    if machine:
        extra["machine"] = machine
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


def _verify(args: argparse.Namespace) -> int:
    from twinforge.campaign.verify import verify
    from twinforge.export.reader import check_dataset_folder

    if args.regenerate < 0:
        return _fail("--regenerate must be >= 0", 2)
    try:
        check_dataset_folder(args.path)  # the same message as info for a wrong folder
        report = verify(args.path, regenerate=args.regenerate)
    except (FileNotFoundError, ValueError) as e:
        return _fail(str(e), 2)
    print(report.text())
    return 0 if report.ok else 1


def _info(args: argparse.Namespace) -> int:
    from twinforge.export import describe

    try:
        print(describe(args.path))
    except (FileNotFoundError, ValueError) as e:
        return _fail(str(e), 2)
    return 0


def _campaign(args: argparse.Namespace) -> int:
    from twinforge.campaign.spec import SpecError

    if args.campaign_command == "run":
        from twinforge.campaign.campaign import load_campaign
        from twinforge.campaign.executor import run_campaign

        try:
            campaign = _load_campaign_small(args, load_campaign)
        except SpecError as e:
            return _fail(str(e), 2)
        if args.workers < 1:
            return _fail(f"--workers must be >= 1, got {args.workers}", 2)
        out = args.out if args.out is not None else campaign.output
        if out is None:
            return _fail("no output folder: give --out (or output = ... in the campaign file)", 2)
        mode = "resume" if args.resume else "overwrite" if args.overwrite else "create"
        try:
            summary = run_campaign(
                campaign, out, workers=args.workers, scheduler=args.scheduler, mode=mode,
                progress=not args.quiet,
            )
        except FileExistsError as e:
            return _fail(str(e), 2)
        except (OSError, ValueError, RuntimeError) as e:
            return _fail(str(e), 1)
        except KeyboardInterrupt:
            return _fail(f"interrupted; complete runs are kept, finish with: twinforge campaign run {args.spec} --resume --out {out}", 130)
        print(summary.text())
        return 0
    if args.campaign_command == "estimate":
        from twinforge.campaign.analysis import column_outcome, estimate

        try:
            fn = column_outcome(args.column, args.stat, args.above)
            est = estimate(
                args.dataset, fn, probability=args.above is not None,
                kind="self_normalised" if args.self_normalised else "unbiased",
            )
        except (OSError, ValueError, KeyError) as e:
            return _fail(str(e), 2)
        what = f"P({args.stat} {args.column} > {args.above:g})" if args.above is not None else f"E[{args.stat} {args.column}]"
        print(
            f"{what} = {est.value:.6g} +/- {est.std_error:.3g} (95 % CI {est.ci_low:.6g} .. {est.ci_high:.6g}); "
            f"{est.n} runs, effective sample size {est.ess:.1f}"
        )
        return 0
    return _fail("campaign needs an action: run or estimate (see twinforge campaign --help)", 2)


def _load_campaign_small(args: argparse.Namespace, load_campaign) -> object:
    """The campaign file with ``--seed``, ``--days`` and ``--runs`` applied.

    ``--runs`` is the number of factual runs (pairs, for a counterfactual campaign); a
    stratified campaign's ``[classes]`` are scaled to it, each stratum keeping at least one
    run (largest remainders), so a small trial still visits every stratum.
    """
    from twinforge.campaign.spec import SpecError

    if args.runs is not None and args.runs < 1:
        raise SpecError(f"--runs must be >= 1, got {args.runs}")
    campaign = load_campaign(args.spec, seed=args.seed, days=args.days)
    if args.runs is None:
        return campaign
    if campaign.sampler != "stratified":
        return load_campaign(args.spec, seed=args.seed, days=args.days, runs=args.runs)
    classes = dict(campaign.classes)
    if args.runs < len(classes):
        raise SpecError(
            f"--runs must be at least the number of strata ({len(classes)}: "
            f"{', '.join(sorted(classes))}) for this stratified campaign, got {args.runs}"
        )
    total = sum(classes.values())
    shares = {k: (args.runs - len(classes)) * v / total for k, v in classes.items()}
    scaled = {k: 1 + int(x) for k, x in shares.items()}
    for k in sorted(shares, key=lambda k: (-(shares[k] - int(shares[k])), k))[: args.runs - sum(scaled.values())]:
        scaled[k] += 1
    return load_campaign(args.spec, seed=args.seed, days=args.days, runs=args.runs, classes=scaled)


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
    if args.command == "campaign":
        return _campaign(args)
    if args.command == "verify":
        return _verify(args)
    if hasattr(args, "fidelity_handler"):
        return args.fidelity_handler(args)
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
