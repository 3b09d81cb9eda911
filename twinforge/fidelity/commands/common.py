"""The ``twinforge fidelity`` and ``twinforge calibrate`` commands.

``cli.py`` registers them with :func:`add_parsers` and dispatches to :func:`run` (both
commands carry their handler in ``args.fidelity_handler``). Exit codes as in ``cli.py``:
0 success, 2 bad input (one line naming the problem; nothing written), 1 a failure while
running.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["add_parsers", "run", "run_fidelity", "run_calibrate", "load_real", "parse_map", "main"]

_FIDELITY_EPILOG = """\
examples:
  twinforge fidelity --real household_power.csv.xz --synthetic data/ \\
      --map mains_power_w=mains_power_w --period 1min --out report/
  twinforge fidelity --real PJME_hourly.csv --synthetic grid/ --map load_power_w=feeder_power_w \\
      --normalise mean --tz America/New_York --period 1h --out pjm_report/

  twinforge fidelity --real twinforge/data/pronostia/learning_set_snapshot_features.csv.xz \\
      --synthetic machines/ --map accel_rms_g=accel_rms_g,accel_kurtosis=accel_kurtosis \\
      --window 5min --tz none --period 10s --out bearing_report/

--real is read by format: 'uci' (UCI household power text/CSV), 'pjm' (Kaggle PJM hourly
load), 'pronostia' (per-snapshot bearing features, one unit per bearing, see
twinforge.fidelity.load_pronostia), 'trace' (a CSV/Parquet with a time column, see
twinforge.fidelity.load_trace); 'auto' (default) recognises the first three from their header.
--tz none cuts windows from each unit's first sample instead of local midnights (machines);
otherwise --tz must be the zone the synthetic data were simulated in.
"""

_CALIBRATE_EPILOG = """\
examples:
  twinforge calibrate --real household_power.csv.xz --map mains_power_w=mains_power_w \\
      --params appliances.usage_scale,appliances.standby_w --budget 40 --out uci.toml
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


class _InputError(ValueError):
    pass


def _first_problem(exc: ValueError) -> str:
    """One line for a ValueError; for a pydantic ValidationError its first field and message."""
    from pydantic import ValidationError

    from twinforge.campaign.spec import format_validation_error

    if isinstance(exc, ValidationError):
        return f"{exc.title}: {format_validation_error(exc).splitlines()[0]}"
    return str(exc).splitlines()[0]


def _check_parent(path: Path, flag: str) -> None:
    """Refuse an output path below a file (it could only fail after all the work)."""
    above = path.absolute().parent
    while not above.exists():
        above = above.parent
    if not above.is_dir():
        raise _InputError(f"{flag} {path}: {above} is a file, not a folder")


def _check_out_folder(path: Path, flag: str, overwrite: bool,
                      foreign: Callable[[Path], str | None]) -> None:
    """Refuse, before any work, an output folder the command could not replace cleanly.

    ``path`` may be new, an empty folder, or (with ``overwrite``) an earlier output of the
    command: ``foreign(path)`` names (quoted) the first thing in it the command would not
    have written, and such a folder is somebody's and is never replaced.
    """
    _check_parent(path, flag)
    if path.exists() and not path.is_dir():
        raise _InputError(f"{flag} {path}: exists and is not a folder")
    if not path.is_dir() or not any(path.iterdir()):
        return
    other = foreign(path)
    if other is not None:
        raise _InputError(f"{flag} {path}: holds {other}: not a report this command wrote; give a new "
                          "or empty folder")
    if not overwrite:
        raise _InputError(f"{flag} {path}: holds an earlier report; add --overwrite to replace it")


def _staging(path: Path) -> Path:
    """A new empty folder beside ``path`` to write into before :func:`_commit`."""
    parent = path.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=parent, prefix=f".{path.name}.tmp-"))


def _commit(staged: Path, path: Path) -> None:
    """Put a complete staged folder in place of ``path`` (checked by :func:`_check_out_folder`)."""
    from twinforge.fidelity.report import _chmod_default

    _chmod_default(staged, dir=True)
    old = None
    if path.exists():
        old = Path(tempfile.mkdtemp(dir=staged.parent, prefix=f".{path.name}.old-"))
        os.replace(path, old / path.name)
    try:
        os.replace(staged, path)
    except OSError:
        if old is not None:  # the earlier output goes back where it was
            os.replace(old / path.name, path)
            old.rmdir()
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _not_a_report(folder: Path, prefix: str = "") -> str | None:
    """The first entry of ``folder`` that a fidelity report does not write (``report.html``,
    ``metrics.json``, its figures), or None if ``folder`` is a report (it has ``report.html``)."""
    from twinforge.fidelity.report import FIGURES

    names = {"report.html", "metrics.json", *FIGURES}
    for e in sorted(folder.iterdir()):
        if not (e.is_file() and e.name in names):
            return repr(prefix + e.name)
    return None if (folder / "report.html").is_file() else f"{prefix or 'files'} without a report.html"


def _not_calibrate_reports(folder: Path) -> str | None:
    """As :func:`_not_a_report` for calibrate's ``--report`` folder: ``before/`` and ``after/``."""
    for e in sorted(folder.iterdir()):
        if not (e.is_dir() and e.name in ("before", "after")):
            return repr(e.name)
        other = _not_a_report(e, prefix=f"{e.name}/")
        if other is not None:
            return other
    return None


def _fail(msg: str, code: int) -> int:
    print(f"twinforge: error: {msg}", file=sys.stderr)
    return code


def parse_map(items: list[str] | None) -> dict[str, str] | None:
    """``["real=channel", ...]`` (or comma-separated) -> ``{real: channel}``."""
    if not items:
        return None
    out: dict[str, str] = {}
    for item in items:
        if not item.strip(" ,"):
            raise _InputError(f"--map expects real_column=channel, got {item!r}")
        for part in item.split(","):
            part = part.strip()
            if not part:
                continue
            real, sep, synth = part.partition("=")
            real, synth = real.strip(), synth.strip()
            if not sep or not real or not synth:
                raise _InputError(f"--map expects real_column=channel, got {part!r}")
            if out.get(real, synth) != synth:
                raise _InputError(f"--map: real column {real!r} mapped twice ({out[real]!r} and {synth!r})")
            out[real] = synth
    return out


def _sniff(path: Path) -> str:
    from twinforge.fidelity.loader import _columns_of

    try:
        cols = [c.strip() for c in _columns_of(path)]
    except Exception:  # noqa: BLE001 - any unreadable header: let load_trace report it
        return "trace"
    if "Global_active_power" in cols:
        return "uci"
    if "Datetime" in cols and any(c.endswith("_MW") for c in cols):
        return "pjm"
    if {"bearing", "file_index"} <= set(cols):
        return "pronostia"
    return "trace"


def load_real(path: Path, fmt: str = "auto", tz: str = "UTC", zone: str | None = None, *,
              time_col: str | None = None, units: dict[str, str] | None = None,
              max_gap: str | None = None, bearings: str | None = None,
              date_format: str | None = None, sort: bool = False, duplicates: str = "raise") -> Any:
    """Load ``--real``: a UCI household file, a PJM hourly file, PRONOSTIA bearing
    features (one unit per bearing) or a generic trace.

    ``time_col`` (several columns comma-separated), ``units`` (``{column: unit}``, units of
    :data:`twinforge.fidelity.UNITS`), ``max_gap``, ``date_format``, ``sort`` and
    ``duplicates`` apply to a generic trace (:func:`~twinforge.fidelity.load_trace`);
    ``bearings`` (comma-separated names, in the units' order) to PRONOSTIA features.
    """
    import warnings

    from twinforge.fidelity.loader import (
        TraceError,
        TraceWarning,
        load_pjm,
        load_pronostia,
        load_trace,
        load_uci_household,
    )

    if not path.exists():
        raise _InputError(f"--real {path}: file not found")
    if path.is_dir():
        raise _InputError(f"--real {path}: is a folder, not a trace file")
    kind = _sniff(path) if fmt == "auto" else fmt
    chosen = [b.strip() for b in bearings.split(",") if b.strip()] if bearings is not None else None
    generic = {"--time-col": time_col, "--unit": units, "--max-gap": max_gap, "--date-format": date_format,
               "--sort": sort or None, "--duplicates": None if duplicates == "raise" else duplicates}
    given = [flag for flag, v in generic.items() if v]
    if given and kind != "trace":
        raise _InputError(f"{given[0]}: only for a generic trace (--format trace); --real {path} is read as "
                          f"a {kind!r} file")
    if chosen is not None and kind != "pronostia":
        raise _InputError(f"--bearings: only for PRONOSTIA bearing features; --real {path} is read as "
                          f"a {kind!r} file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TraceWarning)
            warnings.simplefilter("ignore", UserWarning)  # pandas' guesses at date formats
            if kind == "uci":
                return load_uci_household(path)
            if kind == "pjm":
                if zone is None:
                    from twinforge.fidelity.loader import _columns_of

                    mw = [c for c in _columns_of(path) if c.endswith("_MW")]
                    zone = mw[0][:-3] if mw else "PJME"
                return load_pjm(path, zone=zone)
            if kind == "pronostia":
                return load_pronostia(path, bearings=chosen)
            tcol: Any = None
            if time_col:
                parts = [c.strip() for c in time_col.split(",") if c.strip()]
                tcol = parts[0] if len(parts) == 1 else parts
            df = load_trace(path, tz=tz, time_col=tcol, units=units or None, max_gap=max_gap,
                            date_format=date_format, sort=sort, duplicates=duplicates)
    except TraceError as exc:
        raise _InputError(str(exc).splitlines()[0]) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        what = "trace" if kind == "trace" else f"{kind} trace"
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise _InputError(
            f"--real {path}: cannot read it as a {what} ({detail}); allowed: a CSV or Parquet file "
            "with a time column and numeric value columns"
        ) from None
    if len(df) < 2:
        raise _InputError(
            f"--real {path}: {len(df)} timestamp(s); allowed: a trace with at least two timestamps"
        )
    return df


def _trace_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--time-col", metavar="COL[,COL]",
                   help="time column(s) of a generic --real trace (default: time/timestamp/datetime/...)")
    p.add_argument("--unit", action="append", metavar="COL=UNIT",
                   help="unit of a column of a generic --real trace, converted to SI (e.g. load=kW, temp=degF)")
    p.add_argument("--max-gap", metavar="DURATION",
                   help="interpolate gaps up to this long in a generic --real trace (e.g. 5min)")
    p.add_argument("--date-format", metavar="FORMAT",
                   help="strftime format of the time column of a generic --real trace "
                        "(e.g. '%%d/%%m/%%Y %%H:%%M')")
    p.add_argument("--sort", action="store_true", help="sort the rows of a generic --real trace by time")
    p.add_argument("--duplicates", default="raise", choices=["raise", "mean", "first", "last"],
                   help="repeated timestamps of a generic --real trace: an error (default) or aggregated")
    p.add_argument("--bearings", metavar="NAME[,NAME]",
                   help="PRONOSTIA --real: the bearings to use, in this order (units; calibrate holds out "
                        "the last ones), e.g. Bearing1_1,Bearing2_1 (default: all, in file order)")


def _zone_or_none(text: str) -> str | None:
    """``--tz``: an IANA zone, or ``none`` (windows start at each unit's first sample)."""
    if text.strip().lower() == "none":
        return None
    from twinforge.core.calendar import validate_tz

    try:
        return validate_tz(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc}; or 'none'") from None


def _zone(text: str) -> str:
    """``--real-tz``: an IANA zone."""
    from twinforge.core.calendar import validate_tz

    try:
        return validate_tz(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _parse_units(items: list[str] | None) -> dict[str, str] | None:
    if not items:
        return None
    from twinforge.fidelity.loader import UNITS

    out: dict[str, str] = {}
    for item in items:
        col, sep, unit = item.partition("=")
        if not sep or not col.strip() or not unit.strip():
            raise _InputError(f"--unit: expected COL=UNIT, got {item!r}")
        if unit.strip() not in UNITS:
            raise _InputError(f"--unit {item}: unknown unit {unit.strip()!r}; allowed: {', '.join(sorted(UNITS))}")
        out[col.strip()] = unit.strip()
    return out


def _load_real_args(args: argparse.Namespace) -> Any:
    return load_real(args.real, args.format, args.real_tz, time_col=args.time_col,
                     units=_parse_units(args.unit), max_gap=args.max_gap, bearings=args.bearings,
                     date_format=args.date_format, sort=args.sort, duplicates=args.duplicates)


def add_parsers(subparsers: Any) -> None:
    """Register ``fidelity`` and ``calibrate`` on the CLI's subparsers object."""
    f = subparsers.add_parser(
        "fidelity", help="compare a real trace with a synthetic dataset (metrics + HTML report)",
        description="Compare a real trace with synthetic data: metrics.json and report.html.",
        epilog=_FIDELITY_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    f.add_argument("--real", type=Path, required=True, help="real trace file (CSV/Parquet)")
    f.add_argument("--synthetic", type=Path, required=True, help="synthetic dataset folder (twinforge generate)")
    f.add_argument("--map", action="append", metavar="REAL=CHANNEL",
                   help="real column = synthetic channel (repeat or comma-separate); default: same names")
    f.add_argument("--format", default="auto", choices=["auto", "uci", "pjm", "pronostia", "trace"], help="format of --real")
    f.add_argument("--real-tz", default="UTC", type=_zone,
                   help="zone of naive timestamps in a generic --real trace")
    _trace_options(f)
    f.add_argument("--tz", default="Europe/Paris", type=_zone_or_none,
                   help="local zone for day windows and profiles; 'none': windows from each unit's first sample")
    f.add_argument("--window", default="1D", help="window length (default 1D)")
    f.add_argument("--period", help="common period, e.g. 1min, 15min, 1h (default: the coarser one)")
    f.add_argument("--normalise", default="none", choices=["none", "mean"],
                   help="'mean': divide each trace / run by its mean (compare shapes)")
    f.add_argument("--twin", help="twin to read from a multi-twin dataset")
    f.add_argument("--seed", type=int, default=0, help="seed of the classifier (default 0)")
    f.add_argument("--null-permutations", type=int, default=0, metavar="K",
                   help="permutation test of the window scores: K relabellings of the pooled windows "
                        "give their null reference and p-values (default 0: off; each costs one forest)")
    f.add_argument("--out", type=Path, required=True,
                   help="output folder for report.html, metrics.json and the figures (new or empty)")
    f.add_argument("--overwrite", action="store_true", help="replace an earlier report at --out")
    f.set_defaults(fidelity_handler=run_fidelity)

    c = subparsers.add_parser(
        "calibrate", help="fit twin parameters to a real trace and write a preset",
        description="Fit twin parameters (home, grid or machine) to a real trace; write a scenario preset (TOML).",
        epilog=_CALIBRATE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
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
    c.add_argument("--config", type=Path, help="base scenario TOML (its twin section is the start point; with a [diversity] "
                        "section each run draws its own unit and diversity.* fields can be calibrated)")
    c.add_argument("--format", default="auto", choices=["auto", "uci", "pjm", "pronostia", "trace"], help="format of --real")
    c.add_argument("--real-tz", default="UTC", type=_zone,
                   help="zone of naive timestamps in a generic --real trace")
    _trace_options(c)
    c.add_argument("--tz", default="Europe/Paris", type=_zone_or_none,
                   help="local zone for day windows and profiles; 'none': windows from each unit's first sample")
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
    c.add_argument("--rescore", type=int, default=0,
                   help="re-score the K best candidates and the start on fresh runs and "
                        "keep the best of those (against a candidate best by luck; default 0: off)")
    c.add_argument("--rescore-units", type=int, default=None,
                   help="runs per re-scored candidate (default max(--units, 6))")
    c.add_argument("--seed", type=int, default=0, help="seed of the calibration homes (default 0)")
    c.add_argument("--report", type=Path,
                   help="also write the held-out reports (before/ and after/: report.html, metrics.json) "
                        "into this folder (new or empty)")
    c.add_argument("--out", type=Path, required=True, help="preset TOML to write (a new file)")
    c.add_argument("--overwrite", action="store_true",
                   help="replace an existing preset at --out and earlier reports at --report")
    c.set_defaults(fidelity_handler=run_calibrate)


def run(args: argparse.Namespace) -> int:
    """Dispatch to the handler :func:`add_parsers` attached."""
    return int(args.fidelity_handler(args))


def run_fidelity(args: argparse.Namespace) -> int:
    from twinforge.fidelity.comparison import CompareError, compare

    try:
        mapping = parse_map(args.map)
        _check_out_folder(args.out, "--out", args.overwrite, _not_a_report)
        real = _load_real_args(args)
        rep = compare(real, args.synthetic, channels=mapping, window=args.window, tz=args.tz,
                      period=args.period, seed=args.seed, normalise=args.normalise, twin=args.twin,
                      null_permutations=args.null_permutations)
    except (_InputError, CompareError) as exc:
        return _fail(str(exc).splitlines()[0], 2)
    except ValueError as exc:  # a metric that cannot be computed on these data
        return _fail(f"cannot compare {args.real} with {args.synthetic}: {str(exc).splitlines()[0]}", 2)
    staged = None
    try:  # the whole report is written beside --out first: it lands complete or not at all
        staged = _staging(args.out)
        rep.to_html(staged)
        rep.to_json(staged / "metrics.json")
        _commit(staged, args.out)
    except OSError as exc:
        if staged is not None:
            shutil.rmtree(staged, ignore_errors=True)
        return _fail(f"cannot write the report to {args.out}: {exc}", 1)
    print(rep.summary())
    print(f"wrote {args.out / 'report.html'} and {args.out / 'metrics.json'}")
    return 0


def _parse_params(text: str) -> list[str] | dict[str, tuple[float, float] | None]:
    out: dict[str, Any] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, rng = part.partition("=")
        if sep:
            lo, colon, hi = rng.partition(":")
            try:
                out[name.strip()] = (float(lo), float(hi))
            except ValueError:
                raise _InputError(f"--params: expected name=low:high, got {part!r}") from None
            if not colon:
                raise _InputError(f"--params: expected name=low:high, got {part!r}")
        else:
            out[name] = None
    if not out:
        raise _InputError("--params: give at least one parameter")
    return out


def run_calibrate(args: argparse.Namespace) -> int:
    from twinforge.campaign.spec import SpecError, load_spec
    from twinforge.fidelity.calibration import calibrate
    from twinforge.fidelity.comparison import CompareError

    try:
        mapping = parse_map(args.map)
        params = _parse_params(args.params)
        base, twin = None, args.twin
        if args.config is not None:
            spec = load_spec(args.config)
            if twin is not None and spec.twin != twin:
                raise _InputError(f"--config {args.config}: is a {spec.twin} scenario, not {twin}")
            base, twin = spec, spec.twin  # the scenario's diversity (if any) comes along
        twin = twin or "home"
        if args.budget < 2:
            raise _InputError(f"--budget must be >= 2, got {args.budget}")
        if args.units < 1:
            raise _InputError(f"--units must be >= 1, got {args.units}")
        if args.rescore < 0:
            raise _InputError(f"--rescore must be >= 0, got {args.rescore}")
        if args.rescore_units is not None and args.rescore_units < 1:
            raise _InputError(f"--rescore-units must be >= 1, got {args.rescore_units}")
        if args.out.exists() and args.out.is_dir():
            raise _InputError(f"--out {args.out}: is a folder; give a .toml file name")
        if args.out.exists() and not args.overwrite:
            raise _InputError(f"--out {args.out}: exists; add --overwrite to replace it")
        _check_parent(args.out, "--out")
        if args.report is not None:
            _check_out_folder(args.report, "--report", args.overwrite, _not_calibrate_reports)
            preset, reports = args.out.absolute(), args.report.absolute()
            if preset == reports or reports in preset.parents:
                raise _InputError(f"--out {args.out}: inside --report {args.report}, which is replaced "
                                  "as a whole; put the preset elsewhere")
            if args.holdout == 0:
                raise _InputError("--report: the reports score held-out data; --holdout 0 holds none out")
        real = _load_real_args(args)
        res = calibrate(
            real, params=params,
            twin=twin, channels=mapping, base=base, max_runs=args.budget, n_units=args.units,
            holdout=args.holdout, tz=args.tz, period=args.period, method=args.method,
            window=args.window, normalise=args.normalise,
            seed=args.seed, source=str(args.real),
            rescore=args.rescore, n_rescore_units=args.rescore_units,
        )
    except (_InputError, CompareError, SpecError) as exc:
        return _fail(str(exc).splitlines()[0], 2)
    except ValueError as exc:
        return _fail(_first_problem(exc), 2)
    staged, target = None, args.out
    try:  # the reports are staged beside --report first: nothing lands unless all of it is written
        if args.report is not None and res.report_after is not None:
            target, staged = args.report, _staging(args.report)
            for name, rep in (("before", res.report_before), ("after", res.report_after)):
                rep.to_html(staged / name)
                rep.to_json(staged / name / "metrics.json")
        target = args.out
        res.write_preset(args.out, source=str(args.real))
        if staged is not None:
            target = args.report
            _commit(staged, args.report)
    except (OSError, SpecError) as exc:
        if staged is not None:
            shutil.rmtree(staged, ignore_errors=True)
        return _fail(f"cannot write {target}: {exc}", 1)
    print(res.summary())
    reports = f" and the held-out reports in {args.report}" if staged is not None else ""
    print(f"wrote {args.out}{reports}; use it with: twinforge generate --config {args.out} --out DIR")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point: ``python -m twinforge.fidelity.commands fidelity|calibrate ...``."""
    from twinforge.cli import ArgumentParser

    parser = ArgumentParser(prog="twinforge")
    add_parsers(parser.add_subparsers(dest="command", metavar="COMMAND", required=True))
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
