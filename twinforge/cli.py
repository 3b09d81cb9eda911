"""The ``twinforge`` command line.

Exit codes: 0 success, 2 bad input (one line per problem naming the field and what is
allowed; nothing written), 1 a failure while running (the message says what and where).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, NoReturn

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


_PARAMS_EPILOG = """\
examples:
  twinforge params home                                  # the default home, its laws and ranges
  twinforge params grid --format json > grid_params.json
  twinforge params --scenario scenario.toml | grep envelope
  twinforge params --scenario home_heat_wave             # a shipped campaign: its laws replace the twin's

Columns: path, unit, value (default or the scenario's), valid range ([a, b] inclusive, (a, b)
exclusive; choices for a literal), calibration range, law across runs.
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
    g.add_argument("--allow-large", action="store_true",
                   help="write even if the estimated output exceeds 20 GB or the free disk space")

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
    cr.add_argument("--allow-large", action="store_true",
                    help="write even if the estimated output exceeds 20 GB or the free disk space")
    ce = csub.add_parser(
        "estimate", help="estimate a per-run statistic of a samples column under the natural law",
        description="Estimate over the factual runs: per run, STAT of COLUMN (or the indicator "
        "STAT > ABOVE), combined as the campaign's sampler requires (weights, strata, pairs), with "
        "its confidence interval (exact binomial when hits are few) and effective sample size; "
        "warnings on stderr when the weights or strata make it unreliable.",
    )
    ce.add_argument("dataset", type=Path, help="campaign dataset folder (written by campaign run)")
    ce.add_argument("--column", required=True, help="numeric samples column, e.g. temp_indoor_c")
    ce.add_argument("--stat", default="max", choices=["max", "min", "mean", "sum", "std"],
                    help="per-run statistic of the column (default: max)")
    ce.add_argument("--above", type=float, help="estimate P(STAT > ABOVE) instead of E[STAT] (a finite number)")
    ce.add_argument("--estimator", default="unbiased", choices=["unbiased", "self-normalised", "regression", "paired"],
                    help="unbiased (default: the sampler's own, stratified for stratified plans), self-normalised, "
                    "regression (weights as control variate) or paired (counterfactual pairs)")
    ce.add_argument("--self-normalised", action="store_true", help="same as --estimator self-normalised")
    ce.add_argument("--level", type=float, default=0.95, help="confidence level, in (0, 1) (default: 0.95)")
    ca = csub.add_parser(
        "adapt", help="estimate a rare simulated outcome with adaptive importance sampling (cross-entropy)",
        description="Estimate P(STAT of COLUMN > ABOVE) under the campaign's natural law with the "
        "cross-entropy method: stages of importance-sampled runs whose proposal (rate, severity tail, "
        "duration of each event type) is refitted to the runs that come closest, then final batches "
        "until the target coefficient of variation or the run budget. Each stage is written as a "
        "campaign dataset OUT/stage-NN; OUT/adaptive.json records the stages and the estimate.",
    )
    ca.add_argument("spec", type=Path, help="campaign file (TOML) or the name of a shipped example")
    ca.add_argument("--column", required=True, help="numeric samples column, e.g. temp_indoor_c")
    ca.add_argument("--stat", default="max", choices=["max", "min", "mean", "sum", "std"],
                    help="per-run statistic of the column (default: max)")
    ca.add_argument("--above", type=float, required=True, help="threshold of the rare outcome STAT > ABOVE")
    ca.add_argument("--out", type=Path, required=True, help="output folder (stage datasets and adaptive.json)")
    ca.add_argument("--runs-per-stage", type=int, default=500, help="runs per adaptive stage (>= 50; default 500)")
    ca.add_argument("--batch", type=int, help="runs per final batch (default: --runs-per-stage)")
    ca.add_argument("--target-cov", type=float, default=0.1,
                    help="stop when the coefficient of variation reaches it, in (0, 1) (default 0.1)")
    ca.add_argument("--max-runs", type=int, default=20_000, help="run budget over all stages (default 20000)")
    ca.add_argument("--seed", type=int, help="root seed (overrides the file's)")
    ca.add_argument("--workers", type=int, default=1, help="local worker processes (default 1: in this process)")
    ca.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786")
    ca.add_argument("--resume", action="store_true", help="continue an interrupted adaptive run in --out")
    ca.add_argument("--weather", action="store_true",
                    help="also adapt the synthetic weather's own random draws (a tilt of its temperature "
                    "anomaly and daily clearness, exact weights); for outcomes driven by the outdoor "
                    "temperature over a few days")
    ca.add_argument("--weather-family", default="impulse", choices=["daily", "impulse"],
                    help="with --weather: a mixture over the peak hour of shifts along the anomaly's impulse "
                    "response (impulse, default) or one anomaly shift per day (daily)")
    ca.add_argument("--method", default="ce", choices=["ce", "subset", "latent-ce"],
                    help="ce: the cross-entropy method (default); subset: subset simulation (conditional levels "
                    "of Markov chains in the runs' standard normal inputs; no stage datasets, only each run's "
                    "statistic comes back; OUT/subset.json records the levels and the estimate); latent-ce: "
                    "cross-entropy importance sampling with a Gaussian mean shift of the runs' standard normal "
                    "inputs (no stage datasets; OUT/latent-ce.json records the stages and the estimate)")
    ca.add_argument("--shrinkage", type=float, default=1.0,
                    help="with --method latent-ce: James-Stein factor of the shift's blocks, in [0, 10] (default 1; "
                    "0: the plain weighted elite mean)")
    ca.add_argument("--components", type=int, default=1,
                    help="with --method latent-ce: Gaussian components of the proposal, in [1, 10] (default 1: a "
                    "mean shift; more: a mixture fitted by weighted EM, for outcomes reached in several ways)")
    ca.add_argument("--p0", type=float, default=0.1,
                    help="with --method subset: conditional probability of each level, in (0, 0.5] (default 0.1)")
    ca.add_argument("--runs-per-level", type=int, default=500,
                    help="with --method subset: runs per level, >= 10 and a multiple of 1/p0 (default 500)")
    ca.add_argument("--estimator", default="final", choices=["final", "mixture"],
                    help="final: the final proposal's runs only (default, unbiased); mixture: every stage's "
                    "runs with deterministic-mixture weights (consistent, adaptivity bias not excluded)")
    cp = csub.add_parser(
        "report", help="write an HTML report of a campaign dataset's rare outcome",
        description="Write one self-contained HTML page: the estimates (the campaign's own estimator), "
        "the weighted exceedance curve with its band, return levels from the campaign's calendar "
        "coverage, the weights and effective sample size, the event catalogue and, for grid "
        "campaigns, the IEEE 1366 reliability indices.",
    )
    cp.add_argument("dataset", type=Path, help="campaign dataset folder")
    cp.add_argument("--column", required=True, help="numeric samples column, e.g. transformer_hot_spot_c")
    cp.add_argument("--stat", default="max", choices=["max", "min", "mean", "sum", "std"],
                    help="per-run statistic of the column (default: max)")
    cp.add_argument("--above", type=float, help="threshold of the rare outcome STAT > ABOVE (a finite number)")
    cp.add_argument("--event-type", help="event type that drives the outcome (for return periods)")
    cp.add_argument("--out", type=Path, help="HTML file to write (default: DATASET/campaign_report.html)")
    v = sub.add_parser(
        "verify", help="re-check a dataset: checksums, files, runs' invariants, merged tables, plans",
        description="Re-check a dataset: the manifest; every file against the size and SHA-256 recorded "
        "when it was written, and no stray file; every run's schema, units, row count, time grid, "
        "physical and label invariants and events; the merged tables against the per-run shards; each "
        "run's weight and parameters against its plan from the recorded scenario and seed. With "
        "--regenerate N (the deep check), N runs are simulated again and must be byte-identical. "
        "Exit 0 if all is well, 1 if a problem was found, 2 if PATH is not a twinforge dataset.",
    )
    v.add_argument("path", type=Path, help="dataset folder (written by twinforge generate or campaign run)")
    v.add_argument("--regenerate", type=_count_or_all, default=0, metavar="N|all",
                   help="runs to simulate again and compare byte for byte (default 0; 'all': every run)")
    v.add_argument("--quiet", action="store_true", help="no progress bars")
    pa = sub.add_parser(
        "params", help="list a twin's parameters: units, valid ranges, laws across runs, calibration ranges",
        description="List every setting of a twin by dotted path: its unit, its default (or the scenario's "
        "value), the values it accepts, the range calibration searches by default, and the diversity law "
        "that varies it across runs (derived settings say from what). A campaign file's [parameters] and "
        "[design] replace the law of their path. The paths are those of scenario sections, campaign laws "
        "([parameters.\"envelope.ua_w_per_k\"]) and calibration (--params).",
        epilog=_PARAMS_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    pa.add_argument("twin", nargs="?", default=None, help="home, grid or machine (default: the scenario's, else home)")
    pa.add_argument("--scenario", type=Path, help="scenario or campaign file (TOML): its values and laws")
    pa.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    from twinforge.fidelity.commands import add_parsers as add_fidelity_parsers

    add_fidelity_parsers(sub)
    from twinforge.fidelity.vibration_fit import add_parser as add_fit_vibration_parser

    add_fit_vibration_parser(sub)
    return p


def _fail(msg: str, code: int) -> int:
    print(f"twinforge: error: {msg}" if "\n" not in msg else f"twinforge: error:\n{msg}", file=sys.stderr)
    return code


def _bad_input_errors() -> tuple[type[BaseException], ...]:
    """Errors that mean bad input (exit code 2, nothing written), raised before any write."""
    from twinforge.campaign.executor import SchedulerError
    from twinforge.campaign.runner import OutputTooLarge
    from twinforge.campaign.spec import SpecError
    from twinforge.export.parquet import ManifestError, NotADatasetError
    from twinforge.safe_io import InputError, OutputPathError

    return (
        FileExistsError, SpecError, OutputTooLarge, SchedulerError, ManifestError, NotADatasetError,
        InputError, OutputPathError,
    )


def _generate(args: argparse.Namespace) -> int:
    from twinforge.campaign.runner import LARGE_OUTPUT_BYTES, generate
    from twinforge.campaign.spec import SpecError, load_spec

    twin = args.twin
    if twin is None and args.config is None:
        twin = "home"
    if str(args.out) in ("", "."):
        return _fail(f"--out: {str(args.out)!r} is the working folder; allowed: a new or empty dataset folder", 2)
    if args.homes is not None and twin not in (None, "home", "grid"):
        return _fail(f"--homes applies to the home and grid twins, not {twin} (use --runs or --machines)", 2)
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
        summary = generate(spec, args.out, mode=mode, progress=not args.quiet,
                           max_output_bytes=None if args.allow_large else LARGE_OUTPUT_BYTES)
    except _bad_input_errors() as e:
        return _fail(str(e), 2)
    except (OSError, ValueError) as e:
        return _fail(str(e), 1)
    except KeyboardInterrupt:
        return _fail(f"interrupted; complete runs are kept, finish with --resume --out {args.out}", 130)
    print(summary.text())
    return 0


#: Keys that make a TOML file a campaign rather than a scenario.
_CAMPAIGN_ONLY = ("parameters", "design", "sampler", "proposal", "classes", "counterfactual", "scheduled")


def _params(args: argparse.Namespace) -> int:
    import json

    from twinforge.campaign.campaign import campaign_path, load_campaign, load_twins
    from twinforge.campaign.spec import SpecError, load_spec, read_toml
    from twinforge.core.params import space_rows
    from twinforge.core.registry import TWINS

    load_twins()
    if args.twin is not None and args.twin not in TWINS:
        return _fail(f"params: unknown twin {args.twin!r}; known: {', '.join(TWINS.names())}", 2)
    replaced: dict[str, str] = {}
    try:
        if args.scenario is None:
            spec = load_spec(None, twin=args.twin or "home")
        else:
            path = campaign_path(args.scenario)
            data, _ = read_toml(path, "scenario")
            twin = args.twin if data.get("twin") is None else None
            if any(k in data for k in _CAMPAIGN_ONLY) or isinstance(data.get("events"), dict):
                campaign = load_campaign(path, twin=twin)
                spec = campaign.scenario
                replaced = {k: f"campaign: {law.label()}" for k, law in campaign.parameters.items()}
                if campaign.design is not None:
                    replaced.update({k: f"campaign design ({campaign.design.method}): [{lo:g}, {hi:g}]"
                                     for k, (lo, hi) in campaign.design.bounds.items()})
            else:
                spec = load_spec(path, twin=twin)
    except SpecError as e:
        return _fail(str(e), 2)
    if args.twin is not None and spec.twin != args.twin:
        return _fail(f"--scenario {args.scenario}: a {spec.twin} scenario, not {args.twin}", 2)
    values = spec.config.model_dump(mode="json")
    if spec.diversity is not None:
        values["diversity"] = spec.diversity.model_dump(mode="json")
    space = TWINS.get(spec.twin).parameter_space()
    rows = space_rows(space, values, laws_on=spec.diversity is not None, replaced=replaced)
    source = str(args.scenario) if args.scenario is not None else None
    if args.format == "json":
        print(json.dumps({"twin": spec.twin, "scenario": source, "diversity": spec.diversity is not None,
                          "parameters": rows}, indent=1))
        return 0
    print(f"# {spec.twin} twin: {len(rows)} settings; values: {source or 'defaults'}; diversity "
          f"{'on' if spec.diversity is not None else 'off (no [diversity] law varies the runs)'}")
    _print_table(rows)
    return 0


def _print_table(rows: list[dict]) -> None:
    def cell(v: object) -> str:
        if v is None:
            return "-"
        if isinstance(v, bool):
            return str(v).lower()
        if isinstance(v, float):
            return f"{v:g}"
        if isinstance(v, list):
            text = "[" + ", ".join(cell(x) for x in v) + "]"
            return text if len(text) <= 30 else text[:27] + "...]"
        return str(v)

    cols = ("path", "unit", "value", "valid", "calibration", "law")
    table = [[cell(r[c]) for c in cols] for r in rows]
    widths = [max(len(c), *(len(t[i]) for t in table)) for i, c in enumerate(cols)]
    widths[-1] = 0  # the law: as long as it is
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths)).rstrip())
    for t in table:
        print("  ".join(x.ljust(w) for x, w in zip(t, widths)).rstrip())


def _count_or_all(text: str) -> int | None:
    """``--regenerate``: a count >= 0, or ``all`` (None)."""
    if text.strip().lower() == "all":
        return None
    try:
        n = int(text)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0 or 'all', got {text!r}")
    return n


def _verify(args: argparse.Namespace) -> int:
    from twinforge.campaign.verify import verify
    from twinforge.export.reader import check_dataset_folder

    try:
        check_dataset_folder(args.path)  # the same message as info for a wrong folder
        report = verify(args.path, regenerate=args.regenerate, progress=not args.quiet)
    except (FileNotFoundError, ValueError) as e:
        return _fail(str(e).splitlines()[0], 2)
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
        from twinforge.campaign.runner import LARGE_OUTPUT_BYTES

        try:
            campaign = _load_campaign_small(args, load_campaign)
        except SpecError as e:
            return _fail(str(e), 2)
        if args.workers < 1:
            return _fail(f"--workers must be >= 1, got {args.workers}", 2)
        out = args.out if args.out is not None else campaign.output
        if out is not None and str(out) in ("", "."):
            return _fail(f"--out: {str(out)!r} is the working folder; allowed: a new or empty dataset folder", 2)
        if out is None:
            return _fail("no output folder: give --out (or output = ... in the campaign file)", 2)
        mode = "resume" if args.resume else "overwrite" if args.overwrite else "create"
        from twinforge.campaign.loop import read_loop

        try:
            loop = read_loop(args.spec)
        except SpecError as e:
            return _fail(str(e), 2)
        if loop is not None:  # [loop]: rounds of runs steered by a model (twinforge.campaign.loop)
            return _run_loop(args, campaign, loop, out)
        try:
            summary = run_campaign(
                campaign, out, workers=args.workers, scheduler=args.scheduler, mode=mode,
                progress=not args.quiet, max_output_bytes=None if args.allow_large else LARGE_OUTPUT_BYTES,
            )
        except _bad_input_errors() as e:
            return _fail(str(e), 2)
        except (OSError, ValueError, RuntimeError) as e:
            return _fail(str(e), 1)
        except KeyboardInterrupt:
            return _fail(f"interrupted; complete runs are kept, finish with: twinforge campaign run {args.spec} --resume --out {out}", 130)
        print(summary.text())
        return 0
    if args.campaign_command == "estimate":
        return _estimate(args)
    if args.campaign_command == "adapt":
        return _adapt(args)
    if args.campaign_command == "report":
        return _report(args)
    return _fail("campaign needs an action: run, estimate, adapt or report (see twinforge campaign --help)", 2)


def _report(args: argparse.Namespace) -> int:
    import math

    from twinforge.campaign.report import write_campaign_report

    if args.above is not None and not math.isfinite(args.above):
        return _fail(f"--above must be a finite number, got {args.above}", 2)
    out = args.out if args.out is not None else args.dataset / "campaign_report.html"
    try:
        path = write_campaign_report(args.dataset, out, column=args.column, stat=args.stat, above=args.above,
                                     event_type=args.event_type)
    except (OSError, ValueError, KeyError) as e:
        return _fail(str(e).splitlines()[0], 2)
    print(f"wrote {path}")
    return 0


def _adapt(args: argparse.Namespace) -> int:
    """``campaign adapt``: one method's checks, then the steps every method shares (load the
    campaign, check the column and the output folder, run, write the summary, print)."""
    import math

    from twinforge.campaign.analysis import twin_channels
    from twinforge.campaign.campaign import load_campaign
    from twinforge.campaign.spec import SpecError

    if not math.isfinite(args.above):
        return _fail(f"--above must be a finite number, got {args.above}", 2)
    if args.workers < 1:
        return _fail(f"--workers must be >= 1, got {args.workers}", 2)
    why = _ADAPT_CHECKS[args.method](args)
    if why is not None:
        return _fail(why, 2)
    try:
        campaign = load_campaign(args.spec, seed=args.seed)
    except SpecError as e:
        return _fail(str(e), 2)
    numeric = twin_channels(campaign)
    if args.column not in numeric:
        return _fail(f"--column {args.column!r} is not a numeric channel of the {campaign.twin} twin; "
                     f"known: {', '.join(sorted(numeric))}", 2)
    if args.weather:
        from twinforge.campaign.adaptive import check_weather_adaptable

        try:
            check_weather_adaptable(campaign)
        except ValueError as e:
            return _fail(f"--weather: {e}", 2)
    if args.out.exists() and any(args.out.iterdir()) and not args.resume:
        resume = ", or --resume" if args.method == "ce" else ""
        return _fail(f"{args.out} exists and is not empty: give another --out{resume}", 2)
    seed = campaign.scenario.seed if campaign.scenario.seed is not None else 0
    try:
        result, write_summary, name = _ADAPT_RUNS[args.method](args, campaign, seed)
    except ValueError as e:
        return _fail(str(e).splitlines()[0], 2)
    except (OSError, RuntimeError) as e:
        return _fail(str(e), 1)
    except KeyboardInterrupt:  # the worker processes are already stopped
        kept = (f"the stages done are kept; continue with --resume --out {args.out}" if args.method == "ce"
                else "nothing written")
        return _fail(f"interrupted; {kept}", 130)
    args.out.mkdir(parents=True, exist_ok=True)
    write_summary(result, args.out / name)
    print(result.text().replace("P(Y >", f"P({args.stat} {args.column} >", 1))
    for note in result.notes:
        print(f"twinforge: warning: {note}", file=sys.stderr)
    return 0


def _stage_checks(args: argparse.Namespace) -> str | None:
    """The checks of the staged methods (ce, latent-ce): target CoV, stage and batch sizes."""
    if not 0.0 < args.target_cov < 1.0:
        return f"--target-cov must be within (0, 1), got {args.target_cov}"
    batch = args.runs_per_stage if args.batch is None else args.batch
    if args.runs_per_stage < 50 or batch < 50:
        return f"--runs-per-stage and --batch must be >= 50, got {args.runs_per_stage} and {batch}"
    if args.max_runs < args.runs_per_stage + batch:
        return f"--max-runs must allow a stage and a batch (>= {args.runs_per_stage + batch}), got {args.max_runs}"
    return None


def _subset_checks(args: argparse.Namespace) -> str | None:
    if not 0.0 < args.p0 <= 0.5:
        return f"--p0 must be within (0, 0.5], got {args.p0}"
    chains = args.runs_per_level * args.p0
    if args.runs_per_level < 10 or abs(chains - round(chains)) > 1e-9 or args.runs_per_level % max(round(chains), 1):
        return (f"--runs-per-level must be >= 10 and a multiple of 1/p0 = {1 / args.p0:g}, "
                f"got {args.runs_per_level}")
    if args.max_runs < args.runs_per_level:
        return f"--max-runs must allow one level (>= {args.runs_per_level}), got {args.max_runs}"
    if args.weather or args.batch is not None or args.resume:
        return ("--weather, --batch and --resume apply to --method ce only "
                "(subset simulation always samples the weather's draws and writes no stage datasets)")
    return None


def _latent_checks(args: argparse.Namespace) -> str | None:
    why = _stage_checks(args)
    if why is not None:
        return why
    if not 0.0 <= args.shrinkage <= 10.0:
        return f"--shrinkage must be within [0, 10], got {args.shrinkage}"
    if not 1 <= args.components <= 10:
        return f"--components must be within [1, 10], got {args.components}"
    if args.weather or args.resume:
        return ("--weather and --resume apply to --method ce only "
                "(latent-ce always samples the weather's draws and writes no stage datasets)")
    return None


def _stage_line(st: Any) -> None:
    print(f"stage {st.index}: {st.runs} runs, level {st.level:.4g}", file=sys.stderr)


def _run_ce(args: argparse.Namespace, campaign: Any, seed: int) -> tuple[Any, Any, str]:
    from twinforge.campaign.adaptive import cross_entropy, dataset_simulator, write_summary
    from twinforge.campaign.analysis import column_outcome
    from twinforge.campaign.executor import connect_scheduler

    if args.scheduler is not None:
        connect_scheduler(args.scheduler).close()  # refused before the folder is made (each stage connects)
    args.out.mkdir(parents=True, exist_ok=True)
    sim = dataset_simulator(args.out, column_outcome(args.column, args.stat), workers=args.workers,
                            scheduler=args.scheduler)
    result = cross_entropy(
        campaign, sim, args.above, seed=seed, runs_per_stage=args.runs_per_stage,
        batch=args.runs_per_stage if args.batch is None else args.batch,
        target_cov=args.target_cov, max_runs=args.max_runs, adapt_weather=args.weather,
        weather_family=args.weather_family, estimator=args.estimator, on_stage=_stage_line,
    )
    return result, write_summary, "adaptive.json"


def _plan_simulator(args: argparse.Namespace) -> Any:
    """The runs of subset and latent-ce: each run's statistic, in this process, ``--workers``
    processes or on ``--scheduler`` (checked here, before anything is written)."""
    from twinforge.campaign.latent import plan_simulator

    return plan_simulator(args.column, args.stat, workers=args.workers, scheduler=args.scheduler)


def _run_subset(args: argparse.Namespace, campaign: Any, seed: int) -> tuple[Any, Any, str]:
    from twinforge.campaign.subset import subset_simulation, write_summary

    with _plan_simulator(args) as sim:
        result = subset_simulation(
            campaign, sim, args.above, seed=seed, runs_per_level=args.runs_per_level, p0=args.p0,
            max_runs=args.max_runs,
            on_level=lambda lv: print(f"level {lv.index}: {lv.runs} runs, threshold {lv.threshold:.4g}, "
                                      f"P {lv.probability:.3g}", file=sys.stderr),
        )
    return result, write_summary, "subset.json"


def _run_latent(args: argparse.Namespace, campaign: Any, seed: int) -> tuple[Any, Any, str]:
    from twinforge.campaign.latent import latent_cross_entropy, write_summary

    with _plan_simulator(args) as sim:
        result = latent_cross_entropy(
            campaign, sim, args.above, seed=seed,
            runs_per_stage=args.runs_per_stage, batch=args.runs_per_stage if args.batch is None else args.batch,
            shrinkage=args.shrinkage, components=args.components, target_cov=args.target_cov,
            max_runs=args.max_runs, on_stage=_stage_line,
        )
    return result, write_summary, "latent-ce.json"


_ADAPT_CHECKS = {"ce": _stage_checks, "subset": _subset_checks, "latent-ce": _latent_checks}
_ADAPT_RUNS = {"ce": _run_ce, "subset": _run_subset, "latent-ce": _run_latent}


def _estimate(args: argparse.Namespace) -> int:
    import math
    import warnings

    from twinforge.campaign.analysis import check_column, column_outcome, estimate

    if args.above is not None and not math.isfinite(args.above):
        return _fail(f"--above must be a finite number, got {args.above}", 2)
    if not 0.0 < args.level < 1.0:
        return _fail(f"--level must be within (0, 1), got {args.level}", 2)
    kind = "self_normalised" if args.self_normalised else args.estimator.replace("-", "_")
    try:
        check_column(args.dataset, args.column)
        fn = column_outcome(args.column, args.stat, args.above)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            est = estimate(args.dataset, fn, probability=args.above is not None, kind=kind, level=args.level)
    except (OSError, ValueError, KeyError) as e:
        return _fail(str(e).splitlines()[0], 2)
    if args.above is not None:
        what = f"P({args.stat} {args.column} > {args.above:g})"
        hits = f", {est.hits} hit(s)"
    else:
        what, hits = f"E[{args.stat} {args.column}]", ""
    how = {"normal": "", "clopper-pearson": ", exact Clopper-Pearson", "wilson": ", Wilson"}[est.interval]
    print(
        f"{what} = {est.value:.6g} +/- {est.std_error:.3g} ({100 * args.level:g} % CI {est.ci_low:.6g} .. "
        f"{est.ci_high:.6g}{how}); {est.n} runs{hits}, effective sample size {est.ess:.1f}"
    )
    for w in est.warnings:
        print(f"twinforge: warning: {w}", file=sys.stderr)
    return 0


def _run_loop(args: argparse.Namespace, campaign: object, loop: object, out: Path) -> int:
    """``campaign run`` of a file with a ``[loop]`` table: the closed loop, rounds into ``out``."""
    from twinforge.campaign.campaign import campaign_path
    from twinforge.campaign.loop import closed_loop, read_validation, summary_text
    from twinforge.campaign.spec import SpecError

    try:
        validation = read_validation(loop, campaign_path(args.spec))
        result = closed_loop(campaign, out, loop, validation=validation, seed=args.seed, workers=args.workers)
    except (SpecError, *_bad_input_errors()) as e:
        return _fail(str(e), 2)
    except (OSError, ValueError, RuntimeError) as e:
        return _fail(str(e), 1)
    print(summary_text(result))
    return 0


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
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit code.

    Usage errors return 2 like every bad input (argparse's own exit is caught), so the
    commands can be driven in-process: ``main(["verify", "data/"])``.
    """
    try:
        return _main(argv)
    except BrokenPipeError:  # `twinforge info data/ | head`
        sys.stderr.close()
        return 0
    except SystemExit as e:  # argparse: --help (0) or a usage error (2)
        return e.code if isinstance(e.code, int) else 0 if e.code is None else 2


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
    if args.command == "params":
        return _params(args)
    if hasattr(args, "fidelity_handler"):
        return args.fidelity_handler(args)
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
