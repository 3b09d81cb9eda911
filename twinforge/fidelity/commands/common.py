"""What the fidelity commands share: reading ``--real``, the channel map, output checks."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from twinforge.fidelity._io import check_parent, commit, staging
from twinforge.safe_io import check_input

__all__ = ["InputError", "load_real", "parse_map", "trace_options", "real_trace_options", "load_real_args", "fail", "steps"]

class InputError(ValueError):
    pass


def first_problem(exc: ValueError) -> str:
    """One line for a ValueError; for a pydantic ValidationError its first field and message."""
    from pydantic import ValidationError

    from twinforge.campaign.spec import format_validation_error

    if isinstance(exc, ValidationError):
        return f"{exc.title}: {format_validation_error(exc).splitlines()[0]}"
    return str(exc).splitlines()[0]


def check_out_folder(path: Path, flag: str, overwrite: bool,
                     foreign: Callable[[Path], str | None]) -> None:
    """Refuse, before any work, an output folder the command could not replace cleanly.

    ``path`` may be new, an empty folder, or (with ``overwrite``) an earlier output of the
    command: ``foreign(path)`` names (quoted) the first thing in it the command would not
    have written, and such a folder is somebody's and is never replaced.
    """
    check_parent(path, flag)
    if os.path.lexists(path) and (path.is_symlink() or not path.is_dir()):
        raise InputError(f"{flag} {path}: exists and is not a folder")
    if not path.is_dir() or not any(path.iterdir()):
        return
    other = foreign(path)
    if other is not None:
        raise InputError(f"{flag} {path}: holds {other}: not a report this command wrote; give a new "
                         "or empty folder")
    if not overwrite:
        raise InputError(f"{flag} {path}: holds an earlier report; add --overwrite to replace it")


def write_folder(path: Path, fill: Callable[[Path], None]) -> None:
    """Fill a staged folder beside ``path`` with ``fill(staged)`` and move it in whole."""
    staged = staging(path)
    try:
        fill(staged)
        commit(staged, path)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise


def not_a_report(folder: Path, prefix: str = "") -> str | None:
    """The first entry of ``folder`` that a fidelity report does not write (``report.html``,
    ``metrics.json``, its figures), or None if ``folder`` is a report (it has ``report.html``)."""
    from twinforge.fidelity.report import FIGURES

    names = {"report.html", "metrics.json", "protocol.md", *FIGURES}
    for e in sorted(folder.iterdir()):
        if not (e.is_file() and e.name in names):
            return repr(prefix + e.name)
    return None if (folder / "report.html").is_file() else f"{prefix or 'files'} without a report.html"


def not_calibrate_reports(folder: Path) -> str | None:
    """As :func:`_not_a_report` for calibrate's ``--report`` folder: ``before/`` and ``after/``."""
    for e in sorted(folder.iterdir()):
        if not (e.is_dir() and e.name in ("before", "after")):
            return repr(e.name)
        other = not_a_report(e, prefix=f"{e.name}/")
        if other is not None:
            return other
    return None


def fail(msg: str, code: int) -> int:
    print(f"twinforge: error: {msg}", file=sys.stderr)
    return code


def parse_map(items: list[str] | None) -> dict[str, str] | None:
    """``["real=channel", ...]`` (or comma-separated) -> ``{real: channel}``."""
    if not items:
        return None
    out: dict[str, str] = {}
    for item in items:
        if not item.strip(" ,"):
            raise InputError(f"--map expects real_column=channel, got {item!r}")
        for part in item.split(","):
            part = part.strip()
            if not part:
                continue
            real, sep, synth = part.partition("=")
            real, synth = real.strip(), synth.strip()
            if not sep or not real or not synth:
                raise InputError(f"--map expects real_column=channel, got {part!r}")
            if out.get(real, synth) != synth:
                raise InputError(f"--map: real column {real!r} mapped twice ({out[real]!r} and {synth!r})")
            out[real] = synth
    return out


def _header(path: Path) -> list[str]:
    """The column names of ``path``; none if it cannot be read (load_trace reports why)."""
    from twinforge.fidelity.loader import _columns_of

    try:
        return [c.strip() for c in _columns_of(path)]
    except Exception:  # noqa: BLE001 - any unreadable header: let load_trace report it
        return []


def _sniff(path: Path) -> str:
    from twinforge.fidelity.loader import _is_pjm

    cols = _header(path)
    if "Global_active_power" in cols:
        return "uci"
    if _is_pjm(path, cols):
        return "pjm"
    if {"bearing", "file_index"} <= set(cols):
        return "pronostia"
    return "trace"


def load_real(path: Path, fmt: str = "auto", tz: str = "UTC", zone: str | None = None, *,
              time_col: str | None = None, units: dict[str, str] | None = None,
              max_gap: str | None = None, bearings: str | None = None,
              date_format: str | None = None, sort: bool = False, duplicates: str = "raise",
              flag: str = "--real") -> Any:
    """Load ``--real``: a UCI household file, a PJM hourly file, PRONOSTIA bearing
    features (one unit per bearing) or a generic trace.

    ``time_col`` (several columns comma-separated), ``units`` (``{column: unit}``, units of
    :data:`twinforge.fidelity.UNITS`), ``max_gap``, ``date_format``, ``sort`` and
    ``duplicates`` apply to a generic trace (:func:`~twinforge.fidelity.load_trace`);
    ``bearings`` (comma-separated names, in the units' order) to PRONOSTIA features.
    ``flag``: the option that named ``path`` (``--real``, ``--unseen``), in every error.
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
        raise InputError(f"{flag} {path}: file not found")
    if path.is_dir():
        raise InputError(f"{flag} {path}: is a folder, not a trace file")
    check_input(path, what=flag, error=InputError)  # never /dev/zero, a FIFO or a huge file
    kind = _sniff(path) if fmt == "auto" else fmt
    if fmt == "auto" and kind == "trace" and "y" not in (units or {}):
        from twinforge.fidelity.loader import _prophet

        if _prophet(_header(path)):  # a PJM copy renamed to ds,y, or any Prophet CSV: ask
            raise InputError(
                f"{flag} {path}: a Prophet-style 'ds,y' file says neither what y is nor its unit; read "
                "it as a generic trace with its unit (--unit y=MW, kW, W ... or --unit y=1 for a "
                "plain number) and --map y=CHANNEL, or give --format pjm if it is a Kaggle PJM hourly "
                "load file (MW, US Eastern, each hour labelled at its end)")
    chosen = [b.strip() for b in bearings.split(",") if b.strip()] if bearings is not None else None
    generic = {"--time-col": time_col, "--unit": units, "--max-gap": max_gap, "--date-format": date_format,
               "--sort": sort or None, "--duplicates": None if duplicates == "raise" else duplicates}
    given = [flag for flag, v in generic.items() if v]
    if given and kind != "trace":
        raise InputError(f"{given[0]}: only for a generic trace (--format trace); {flag} {path} is read as "
                          f"a {kind!r} file")
    if chosen is not None and kind != "pronostia":
        raise InputError(f"--bearings: only for PRONOSTIA bearing features; {flag} {path} is read as "
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
        raise InputError(str(exc).splitlines()[0]) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        what = "trace" if kind == "trace" else f"{kind} trace"
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise InputError(
            f"{flag} {path}: cannot read it as a {what} ({detail}); allowed: a CSV or Parquet file "
            "with a time column and numeric value columns"
        ) from None
    if len(df) < 2:
        raise InputError(
            f"{flag} {path}: {len(df)} timestamp(s); allowed: a trace with at least two timestamps"
        )
    return df


def trace_options(p: argparse.ArgumentParser) -> None:
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


def real_trace_options(p: argparse.ArgumentParser) -> None:
    """The options that say how to read ``--real`` and window it (``fidelity``, ``calibrate``)."""
    p.add_argument("--format", default="auto", choices=["auto", "uci", "pjm", "pronostia", "trace"],
                   help="format of --real")
    p.add_argument("--real-tz", default="UTC", type=zone, help="zone of naive timestamps in a generic --real trace")
    trace_options(p)
    p.add_argument("--tz", default="Europe/Paris", type=zone_or_none,
                   help="local zone for day windows and profiles; 'none': windows from each unit's first sample")


def zone_or_none(text: str) -> str | None:
    """``--tz``: an IANA zone, or ``none`` (windows start at each unit's first sample)."""
    if text.strip().lower() == "none":
        return None
    from twinforge.core.calendar import validate_tz

    try:
        return validate_tz(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc}; or 'none'") from None


def zone(text: str) -> str:
    """``--real-tz``: an IANA zone."""
    from twinforge.core.calendar import validate_tz

    try:
        return validate_tz(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_units(items: list[str] | None) -> dict[str, str] | None:
    if not items:
        return None
    from twinforge.fidelity.loader import UNITS, unit_of

    out: dict[str, str] = {}
    for item in items:
        col, sep, unit = item.partition("=")
        if not sep or not col.strip() or not unit.strip():
            raise InputError(f"--unit: expected COL=UNIT, got {item!r}")
        if unit_of(unit.strip()) is None:
            raise InputError(f"--unit {item}: unknown unit {unit.strip()!r}; allowed: {', '.join(sorted(UNITS))}, "
                             "or energy per any interval such as Wh/10min")
        out[col.strip()] = unit.strip()
    return out


def load_real_args(args: argparse.Namespace) -> Any:
    df = load_real(args.real, args.format, args.real_tz, time_col=args.time_col,
                     units=parse_units(args.unit), max_gap=args.max_gap, bearings=args.bearings,
                     date_format=args.date_format, sort=args.sort, duplicates=args.duplicates)
    df.attrs["source"] = str(args.real)
    return df


def parse_params(text: str) -> list[str] | dict[str, tuple[float, float] | None]:
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
                raise InputError(f"--params: expected name=low:high, got {part!r}") from None
            if not colon:
                raise InputError(f"--params: expected name=low:high, got {part!r}")
        else:
            out[name] = None
    if not out:
        raise InputError("--params: give at least one parameter")
    return out




def steps(quiet: bool, total: int, desc: str) -> Any:
    """A progress bar over the command's steps (:func:`twinforge.progress.bar`; none with ``--quiet``)."""
    from twinforge.progress import bar

    return bar(not quiet, total=total, desc=desc, unit="step", leave=False, bar_format="{desc}: {n}/{total} {postfix}")


def base_from_config(path: Path, twin: str | None) -> tuple[Any, str]:
    """``--config``: the scenario, its diversity only if the file asks for one.

    A scenario file without a ``diversity`` key is one unit (``diversity = false``): a
    calibrated preset reproduces the unit it was fitted to, it does not become a fleet.
    Returns the spec and a note for the summary.
    """
    from twinforge.campaign.spec import load_spec, read_toml

    data, _ = read_toml(path, "scenario")
    asked = "diversity" in data
    spec = load_spec(path) if asked else load_spec(path, diversity=False)
    if twin is not None and spec.twin != twin:
        raise InputError(f"--config {path}: is a {spec.twin} scenario, not {twin}")
    if spec.diversity is not None:
        note = f"--config {path}: each run draws its own {spec.twin} from its [diversity] laws"
    else:
        note = f"--config {path}: every run is the scenario's one {spec.twin} (no [diversity])"
    return spec, note
