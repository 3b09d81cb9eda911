"""Load real measured traces into the synthetic output's shape.

A real trace is a CSV or Parquet file (or a DataFrame) with one time column and some value
columns. :func:`load_trace` turns it into what the twins write: a DataFrame indexed by a
tz-aware UTC :class:`~pandas.DatetimeIndex` named ``time``, one float column per channel,
named like the synthetic channel it is compared with and converted to SI units (power in W,
energy per interval converted to its mean power in W, temperature in degC).

The cleaning steps run in a fixed order, each one explicit:

1. read (CSV by default, Parquet for ``.parquet``/``.pq``; ``.gz``/``.xz``/``.bz2``/``.zip``
   are decompressed; the CSV separator is sniffed from the header unless given),
2. parse the timestamps (``date_format``), add ``time_offset`` (e.g. ``"-1h"`` to turn
   hour-ending labels into hour-beginning ones),
3. attach the time zone of naive timestamps (``tz``, with ``ambiguous`` / ``nonexistent`` for
   daylight-saving transitions) and convert to UTC,
4. check the order (``sort=True`` sorts, otherwise a backward step is an error) and duplicate
   timestamps (``duplicates``),
5. convert units, rename columns to channel names,
6. optionally ``resample`` to a regular period (mean, right for interval-mean power) and
   interpolate gaps no longer than ``max_gap``.

Every problem with the input raises one exception class, :class:`TraceError`, whose message
names the file and the column and says what is allowed.

>>> from twinforge.fidelity import load_uci_household, find_gaps
>>> df = load_uci_household()          # shipped sample: Dec 2008 - Jan 2009, 1 min
>>> bool(df["mains_power_w"].max() < 11_200)
True
>>> find_gaps(df, "1min")["n_missing"].tolist()
[70, 1, 1]
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import lzma
import math
import re
import warnings
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import IO, Literal

import numpy as np
import pandas as pd

from twinforge.core.calendar import validate_tz
from twinforge.safe_io import check_input, open_trace

__all__ = [
    "TraceError",
    "TraceWarning",
    "UNITS",
    "unit_of",
    "load_trace",
    "load_uci_household",
    "load_pjm",
    "find_gaps",
    "infer_period",
    "UCI_SAMPLE",
    "PJM_SAMPLE",
    "load_pronostia",
    "pronostia_condition",
    "PRONOSTIA_SAMPLE",
    "PRONOSTIA_CONDITIONS",
]

#: Names of the samples shipped in ``twinforge/data`` (see their PROVENANCE.md).
UCI_SAMPLE = "uci_household/household_power_2008-12_2009-01.csv.xz"
PJM_SAMPLE = "pjm/PJME_hourly_2014.csv"

#: Time-column names recognised when ``time_col`` is not given (case-insensitive).
_TIME_NAMES = ("time", "timestamp", "datetime", "date_time", "ds", "utc_timestamp")


class TraceError(ValueError):
    """A real trace cannot be loaded as asked; the message names the file and the column."""


class TraceWarning(UserWarning):
    """A real trace was repaired on the way in (duplicates aggregated, rows dropped)."""


@dataclass(frozen=True)
class Unit:
    """An input unit and its conversion to SI: ``si = value * scale + offset``."""

    si: str
    scale: float
    offset: float = 0.0


#: Known input units. Energy per interval becomes the mean power over that interval
#: (``Wh/min`` x 60 = W). Acceleration stays in standard gravity ``g`` as in the output schema.
UNITS: dict[str, Unit] = {
    "W": Unit("W", 1.0),
    "kW": Unit("W", 1e3),
    "MW": Unit("W", 1e6),
    "GW": Unit("W", 1e9),
    "var": Unit("var", 1.0),
    "kvar": Unit("var", 1e3),
    "Wh/min": Unit("W", 60.0),
    "kWh/min": Unit("W", 6e4),
    "Wh/15min": Unit("W", 4.0),
    "kWh/15min": Unit("W", 4e3),
    "Wh/h": Unit("W", 1.0),
    "kWh/h": Unit("W", 1e3),
    "MWh/h": Unit("W", 1e6),
    "V": Unit("V", 1.0),
    "kV": Unit("V", 1e3),
    "A": Unit("A", 1.0),
    "degC": Unit("degC", 1.0),
    "K": Unit("degC", 1.0, -273.15),
    "degF": Unit("degC", 5.0 / 9.0, -32.0 * 5.0 / 9.0),
    "g": Unit("g", 1.0),
    "m/s2": Unit("g", 1.0 / 9.80665),
    "Pa": Unit("Pa", 1.0),
    "hPa": Unit("Pa", 100.0),
    "m/s": Unit("m/s", 1.0),
    "W/m2": Unit("W m-2", 1.0),
    "1": Unit("1", 1.0),
    "%": Unit("1", 0.01),
}

_ENERGY_PREFIX = {"": 1.0, "k": 1e3, "M": 1e6, "G": 1e9}


def unit_of(name: str) -> Unit | None:
    """The :class:`Unit` called ``name``: one of :data:`UNITS`, or energy per any interval.

    Meter exports often give the energy of each interval: ``Wh/10min``, ``kWh/30min``,
    ``MWh/1h``, ``Wh per 5 min``. Energy ``E`` over an interval ``dt`` is the mean power
    ``E / dt``, so ``Wh/10min`` is ``W`` times ``3600 / 600 = 6``. None for an unknown unit.

    >>> unit_of("Wh/10min").scale, unit_of("kWh/30min").scale, unit_of("kW").si
    (6.0, 2000.0, 'W')
    """
    if name in UNITS:
        return UNITS[name]
    text = name.strip().replace(" per ", "/").replace(" ", "")
    prefix, sep, interval = text.partition("Wh/")
    if not sep or prefix not in _ENERGY_PREFIX:
        return None
    if interval and interval[0].isalpha():
        interval = "1" + interval  # "Wh/min" reads "Wh/1min"
    td = parse_duration(interval)
    if td is None or td <= pd.Timedelta(0):
        return None
    return Unit("W", _ENERGY_PREFIX[prefix] * 3600.0 / td.total_seconds())

_OPENERS = {".gz": gzip.open, ".xz": lzma.open, ".bz2": bz2.open}
_PARQUET = (".parquet", ".pq")

Ambiguous = Literal["infer", "NaT", "raise"]
Nonexistent = Literal["raise", "NaT", "shift_forward", "shift_backward"]
Duplicates = Literal["raise", "mean", "first", "last"]


# ---------------------------------------------------------------------------------------
# reading


def _suffixes(path: Path) -> list[str]:
    return [s.lower() for s in path.suffixes]


def _open_text(path: Path) -> IO[str]:
    suffix = path.suffix.lower()
    if suffix == ".zip":
        zf = zipfile.ZipFile(path)
        if not zf.namelist():
            raise TraceError(
                f"{path}: empty zip archive (no file inside); allowed: a zip holding one CSV file"
            )
        return io.TextIOWrapper(zf.open(zf.namelist()[0]), encoding="utf-8", errors="replace")
    opener = _OPENERS.get(suffix)
    if opener is not None:
        return opener(path, "rt", encoding="utf-8", errors="replace", newline="")
    return open(path, encoding="utf-8", errors="replace", newline="")


#: What a trace file may be, for the messages of files that cannot be read at all.
_ALLOWED_FILES = (
    "allowed: a CSV file (UTF-8 text, optionally .gz/.xz/.bz2/.zip compressed) or a Parquet file "
    "(.parquet/.pq)"
)


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Turn the errors of reading a file (not text, corrupt or truncated archive, CSV syntax,
    not Parquet) into one :class:`TraceError` naming the file."""
    errors: tuple[type[BaseException], ...] = (
        OSError, EOFError, ValueError, lzma.LZMAError, zipfile.BadZipFile,
    )
    try:
        import pyarrow

        errors += (pyarrow.ArrowException,)
    except ImportError:  # pragma: no cover
        pass
    try:
        yield
    except TraceError:
        raise
    except UnicodeDecodeError:
        raise TraceError(f"{path}: not a UTF-8 text file; {_ALLOWED_FILES}") from None
    except errors as exc:
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise TraceError(f"{path}: cannot read it ({detail}); {_ALLOWED_FILES}") from None


def _sniff_sep(header: str) -> str:
    counts = {sep: header.count(sep) for sep in (",", ";", "\t")}
    return max(counts, key=counts.__getitem__) if max(counts.values()) > 0 else ","


def _read_table(
    path: Path, time_cols: Sequence[str] | None, value_cols: Sequence[str] | None,
    sep: str | None, na_values: Sequence[str],
) -> tuple[pd.DataFrame, list[str]]:
    """Read the file; return the frame (time columns as strings) and all column names."""
    if not path.exists():
        raise TraceError(f"{path}: file not found")
    if any(s in _PARQUET for s in _suffixes(path)):
        frame = pd.read_parquet(check_input(path, error=TraceError))
        if frame.empty and len(frame.columns) == 0:
            raise TraceError(f"{path}: empty file (no columns, no rows)")
        return frame, [str(c) for c in frame.columns]
    sep, all_cols = _read_table_header(path, sep)
    usecols = None
    if time_cols is not None and value_cols is not None:
        usecols = [c for c in all_cols if c in set(time_cols) | set(value_cols)]
    dtype = {c: str for c in (time_cols or [])}
    frame = pd.read_csv(
        open_trace(path, error=TraceError), sep=sep, usecols=usecols, dtype=dtype, na_values=list(na_values),
        keep_default_na=False, low_memory=False,
    )
    return frame, all_cols


# ---------------------------------------------------------------------------------------
# time handling


def _resolve_time_cols(
    time_col: str | Sequence[str] | None, columns: Sequence[str], src: str
) -> list[str] | None:
    """Time column(s) to read; ``None`` means the DataFrame's own DatetimeIndex."""
    if time_col is None:
        lower = {c.lower(): c for c in columns}
        if "date" in lower and "time" in lower:  # a date column and a clock column (UCI style)
            return [lower["date"], lower["time"]]
        for name in _TIME_NAMES:
            if name in lower:
                return [lower[name]]
        return None
    wanted = [time_col] if isinstance(time_col, str) else list(time_col)
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise TraceError(
            f"{src}: time column {missing[0]!r} not found; the columns are {list(columns)}"
        )
    return wanted


def _parse_times(raw: pd.Series, date_format: str | None, src: str, col: str) -> pd.DatetimeIndex:
    raw = raw.astype("string")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            parsed = pd.to_datetime(raw, format=date_format, errors="coerce")
        except ValueError as exc:  # a format pandas cannot use at all ('%Q')
            raise TraceError(f"{src}: column {col!r}: date_format {date_format!r} (CLI: --date-format) "
                             f"is not a strftime format: {exc}") from None
    bad = (parsed.isna() | raw.isna()).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        hint = (
            f"; expected date_format={date_format!r}"
            if date_format
            else "; pass date_format= (CLI: --date-format; e.g. '%d/%m/%Y %H:%M:%S')"
        )
        raise TraceError(
            f"{src}: column {col!r}: cannot parse timestamp {raw.iloc[i]!r} (data row {i}, "
            f"{int(bad.sum())} bad values in all){hint}"
        )
    if date_format is None:
        # 05/12/2008: 5 December or May 12? pandas takes the first stamp's reading; when no
        # stamp has a field above 12, nothing in the file decides, and a wrong guess would
        # silently move every day to another month.
        fields = raw.str.extract(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-]\d{2,4}\b")
        if fields.notna().all().all():
            a, b = fields[0].astype(int), fields[1].astype(int)
            if (a <= 12).all() and (b <= 12).all() and (a != b).any():
                raise TraceError(
                    f"{src}: column {col!r}: day and month cannot be told apart in {raw.iloc[0]!r} "
                    "(no stamp has a field above 12); pass date_format= (CLI: --date-format), "
                    "e.g. '%d/%m/%Y %H:%M:%S' or '%m/%d/%Y %H:%M:%S'"
                )
    for w in caught:  # pandas' own warnings (format not inferred ...) only matter on success
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return pd.DatetimeIndex(parsed)


def _localise(
    times: pd.DatetimeIndex, tz: str, ambiguous, nonexistent: Nonexistent, src: str, col: str
) -> pd.DatetimeIndex:
    try:
        return times.tz_localize(tz, ambiguous=ambiguous, nonexistent=nonexistent)
    except ValueError as exc:  # pandas reports DST problems as ValueError
        raise TraceError(
            f"{src}: column {col!r}: cannot place naive timestamps in time zone {tz!r}: {exc}. "
            "Allowed remedies: ambiguous='NaT' or 'infer' (repeated fall-back hour), "
            "nonexistent='NaT' / 'shift_forward' (skipped spring hour), time_offset= "
            "(e.g. '-1h' for hour-ending labels), sort=True (unsorted files; CLI: --sort)"
        ) from exc


def parse_duration(text: object) -> pd.Timedelta | None:
    """``text`` (``"15min"``, ``"1h"``, a Timedelta) as a Timedelta; None if it is not one."""
    try:
        td = pd.Timedelta(text)
    except (ValueError, TypeError):
        return None
    return None if pd.isna(td) else td


def infer_period(index: pd.DatetimeIndex) -> pd.Timedelta:
    """The most common step between consecutive timestamps (the nominal sampling period)."""
    if len(index) < 2:
        raise ValueError("need at least two timestamps to infer the sampling period")
    steps = np.diff(index.asi8)
    steps = steps[steps > 0]
    values, counts = np.unique(steps, return_counts=True)
    unit = np.datetime_data(index.dtype.base if hasattr(index.dtype, "base") else index.dtype)[0]
    return pd.Timedelta(int(values[np.argmax(counts)]), unit=unit)


# ---------------------------------------------------------------------------------------
# the public loader


def load_trace(
    path_or_df: str | Path | pd.DataFrame,
    *,
    time_col: str | Sequence[str] | None = None,
    columns: Mapping[str, str] | None = None,
    units: Mapping[str, str] | None = None,
    tz: str = "UTC",
    ambiguous: Ambiguous | np.ndarray = "infer",
    nonexistent: Nonexistent = "raise",
    time_offset: str | None = None,
    sort: bool = False,
    duplicates: Duplicates = "raise",
    resample: str | None = None,
    max_gap: str | None = None,
    date_format: str | None = None,
    na_values: Sequence[str] = ("?", "", "NA", "NaN"),
    sep: str | None = None,
) -> pd.DataFrame:
    """Load a real trace as a UTC-indexed DataFrame of channels in SI units.

    Parameters
    ----------
    path_or_df : str, Path or DataFrame
        CSV (optionally ``.gz``/``.xz``/``.bz2``) or Parquet (``.parquet``/``.pq``) file, or a
        DataFrame (its DatetimeIndex is used when no time column is found).
    time_col : str or sequence of str, optional
        Time column; several columns are joined with a space (``("Date", "Time")``). Default:
        ``Date`` + ``Time`` when both are there (any case), else the first of ``time``,
        ``timestamp``, ``datetime``, ``date_time``, ``ds``, ``utc_timestamp``, else a
        DataFrame's DatetimeIndex.
    columns : mapping, optional
        ``{real column: synthetic channel name}``; only these columns are kept, in this
        order. Default: every other column, names unchanged.
    units : mapping, optional
        ``{real column: unit}`` with units from :data:`UNITS` (``"kW"``, ``"MW"``,
        ``"Wh/min"``, ``"degF"``, ``"g"`` ...). Columns without a unit are left as they are.
    tz : str
        IANA zone of naive timestamps (``"Europe/Paris"``); aware timestamps are converted.
    ambiguous, nonexistent
        Daylight-saving handling, passed to :meth:`pandas.DatetimeIndex.tz_localize`:
        ``ambiguous="infer"`` resolves a repeated fall-back hour from the order of the rows,
        ``"NaT"`` drops those rows (with a :class:`TraceWarning`); ``nonexistent`` does the
        same for clock times skipped in spring.
    time_offset : str, optional
        Added to naive timestamps before the zone is attached, e.g. ``"-1h"`` when each row
        is labelled with the *end* of its hour (the output labels the start of an interval).
    sort : bool
        Sort rows by time (stably, so repeated stamps keep their file order). Naive stamps are
        sorted *before* the zone is attached, which is what ``ambiguous="infer"`` needs for an
        unsorted file. If ``False``, order is checked in UTC and a backward step raises
        :class:`TraceError`; an in-order file whose repeated fall-back hour is sub-hourly
        (01:00 ... 01:45, 01:00 ... 01:45) loads with ``sort=False`` but not with ``True``.
    duplicates : {"raise", "mean", "first", "last"}
        What to do with timestamps that occur more than once after conversion to UTC:
        raise, or aggregate them (with a :class:`TraceWarning`; ``first``/``last`` take the
        first/last non-NaN value per channel).
    resample : str, optional
        Target period (``"1min"``, ``"1h"``); values are averaged over ``[t, t + period)``,
        which is right for interval-mean power. Empty periods become NaN rows.
    max_gap : str, optional
        Interpolate (linearly in time) runs of missing samples whose total missing duration
        (``n_missing * period``) is at most ``max_gap``; longer gaps stay NaN. The trace is
        first put on a regular grid at ``resample`` or at the inferred period.
    date_format : str, optional
        :func:`pandas.to_datetime` format; give it for day-first dates (``"%d/%m/%Y %H:%M:%S"``).
    na_values : sequence of str
        Strings read as missing (only these: pandas' default list is switched off).
    sep : str, optional
        CSV separator; sniffed from the header (``,``, ``;`` or tab) when not given.

    Returns
    -------
    DataFrame
        Index: tz-aware UTC ``DatetimeIndex`` named ``time``, increasing and unique.
        Columns: float64 channels. ``df.attrs["units"]`` maps each channel to its SI unit
        (``""`` if not converted) and ``df.attrs["source"]`` names the input.

    Raises
    ------
    TraceError
        Missing time column, unparseable timestamp, empty file, all-NaN channel, unknown
        unit, non-numeric or infinite value, backward time step, duplicate timestamps, DST
        problems, a file that cannot be read (not text, corrupt archive or Parquet file).
    """
    src = "<DataFrame>" if isinstance(path_or_df, pd.DataFrame) else str(path_or_df)
    try:
        validate_tz(tz)
    except ValueError as exc:
        raise TraceError(f"{src}: {exc}") from None
    for name, text, least in (("resample", resample, "positive"), ("max_gap", max_gap, "zero or more")):
        td = parse_duration(text) if text is not None else pd.Timedelta(1)
        zero = pd.Timedelta(0)
        if td is None or td < zero or (least == "positive" and td == zero):
            raise TraceError(f"{src}: {name} must be a duration ({least}) such as '5min' or '1h', got {text!r}")
    if isinstance(path_or_df, pd.DataFrame):
        frame = path_or_df.copy()
        all_cols = [str(c) for c in frame.columns]
        if frame.empty:
            raise TraceError(f"{src}: empty table (no rows)")
        tcols = _resolve_time_cols(time_col, all_cols, src)
    else:
        path = Path(path_or_df)
        src = str(path)
        if not path.exists():
            raise TraceError(f"{src}: file not found")
        with _reading(path):
            if any(s in _PARQUET for s in _suffixes(path)):
                frame, all_cols = _read_table(path, None, None, sep, na_values)
            else:
                # header first: resolve the time and value columns, then read only those
                _, all_cols = _read_table_header(path, sep)
                tcols0 = _resolve_time_cols(time_col, all_cols, src)
                values0 = list(columns) if columns is not None else None
                frame, all_cols = _read_table(
                    path, tcols0 or [], values0 if tcols0 is not None else None, sep, na_values
                )
        tcols = _resolve_time_cols(time_col, all_cols, src)
        if frame.empty:
            raise TraceError(f"{src}: empty file (header {all_cols} but no data rows)")

    # --- time -----------------------------------------------------------------------
    if tcols is None:
        if isinstance(frame.index, pd.DatetimeIndex):
            times = frame.index
            tname = frame.index.name or "<index>"
        else:
            raise TraceError(
                f"{src}: no time column found (looked for {list(_TIME_NAMES)} or Date + Time); "
                f"the columns are {all_cols}; pass time_col= (CLI: --time-col)"
            )
    else:
        tname = " + ".join(tcols)
        tseries = frame[tcols[0]]
        if len(tcols) > 1:
            parts = [frame[c].astype("string") for c in tcols]
            tseries = parts[0].str.cat(parts[1:], sep=" ")
        if isinstance(tseries.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(
            tseries.dtype
        ):
            times = pd.DatetimeIndex(tseries)
            if times.isna().any():
                i = int(np.flatnonzero(times.isna())[0])
                raise TraceError(f"{src}: column {tname!r}: missing timestamp at data row {i}")
        else:
            times = _parse_times(tseries, date_format, src, tname)

    # --- values ---------------------------------------------------------------------
    value_cols = [c for c in all_cols if tcols is None or c not in tcols]
    if columns is not None:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise TraceError(
                f"{src}: column {missing[0]!r} not found; the columns are {all_cols}"
            )
        value_cols = list(columns)
    units = dict(units or {})
    for col, unit in units.items():
        if col not in value_cols:
            raise TraceError(
                f"{src}: unit given for column {col!r}, which is not loaded; "
                f"the loaded columns are {value_cols}"
            )
        if unit_of(unit) is None:
            raise TraceError(
                f"{src}: column {col!r}: unknown unit {unit!r}; the known units are {list(UNITS)} and energy per any interval (e.g. Wh/10min, kWh/30min)"
            )
    if not value_cols:
        raise TraceError(f"{src}: no value columns besides the time column {tname!r}")
    data = {}
    for col in value_cols:
        values = frame[col]
        if not pd.api.types.is_numeric_dtype(values.dtype):
            numeric = pd.to_numeric(values, errors="coerce")
            bad = (numeric.isna() & values.notna()).to_numpy()
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise TraceError(
                    f"{src}: column {col!r}: non-numeric value {values.iloc[i]!r} at data row {i}; "
                    f"allowed: numbers or one of na_values={list(na_values)}"
                )
            values = numeric
        data[col] = np.asarray(values, dtype="float64")
        infinite = np.isinf(data[col])
        if infinite.any():
            i = int(np.flatnonzero(infinite)[0])
            raise TraceError(
                f"{src}: column {col!r}: infinite value {float(data[col][i])!r} at data row {i}; "
                f"allowed: finite numbers or one of na_values={list(na_values)} for missing ones"
            )
    out = pd.DataFrame(data, index=pd.RangeIndex(len(times)))

    # --- zone, order, duplicates ----------------------------------------------------
    if times.tz is None:
        if time_offset is not None:
            times = times + pd.Timedelta(time_offset)
        if sort:
            order = np.argsort(times.asi8, kind="stable")
            times, out = times[order], out.iloc[order].reset_index(drop=True)
        times = _localise(times, tz, ambiguous, nonexistent, src, tname)
        dropped = np.asarray(times.isna())
        if dropped.any():
            warnings.warn(
                f"{src}: column {tname!r}: {int(dropped.sum())} rows dropped at daylight-saving "
                f"transitions in {tz!r} (ambiguous={ambiguous!r}, nonexistent={nonexistent!r})",
                TraceWarning,
                stacklevel=2,
            )
            times, out = times[~dropped], out.loc[~dropped].reset_index(drop=True)
    elif time_offset is not None:
        times = times + pd.Timedelta(time_offset)
    times = times.tz_convert("UTC")
    steps = np.diff(times.asi8)
    if (steps < 0).any():
        if not sort:
            i = int(np.flatnonzero(steps < 0)[0])
            raise TraceError(
                f"{src}: column {tname!r}: time is not monotonic: row {i + 1} ({times[i + 1]}) "
                f"comes before row {i} ({times[i]}); pass sort=True (CLI: --sort) to sort the rows"
            )
        order = np.argsort(times.asi8, kind="stable")
        times, out = times[order], out.iloc[order].reset_index(drop=True)
    out.index = pd.DatetimeIndex(times, name="time")
    dup = out.index.duplicated(keep=False)
    if dup.any():
        first = out.index[dup][0]
        n_dup = int(out.index.duplicated().sum())
        if duplicates == "raise":
            raise TraceError(
                f"{src}: column {tname!r}: {n_dup} duplicate timestamps (first: {first}); "
                "allowed: duplicates='mean', 'first' or 'last' (CLI: --duplicates) to aggregate them"
            )
        warnings.warn(
            f"{src}: column {tname!r}: {n_dup} duplicate timestamps (first: {first}) "
            f"aggregated with {duplicates!r}",
            TraceWarning,
            stacklevel=2,
        )
        grouped = out.groupby(level=0, sort=True)
        out = getattr(grouped, duplicates)()
        out.index.name = "time"

    # --- units and names ------------------------------------------------------------
    si_units = {}
    for col in value_cols:
        if col in units:
            u = unit_of(units[col])
            out[col] = out[col] * u.scale + u.offset
            si_units[col] = u.si
        else:
            si_units[col] = ""
        if out[col].isna().all():
            raise TraceError(
                f"{src}: column {col!r} has no valid value (all NaN; NaN strings: "
                f"{list(na_values)})"
            )
    names = dict(columns) if columns is not None else {c: c for c in value_cols}
    out = out.rename(columns=names)
    out.attrs["units"] = {names[c]: si_units[c] for c in value_cols}
    out.attrs["source"] = src

    # --- regular grid ---------------------------------------------------------------
    if resample is not None:
        out = out.resample(pd.Timedelta(resample), label="left", closed="left").mean()
        out.index.name = "time"
    if max_gap is not None:
        period = pd.Timedelta(resample) if resample is not None else infer_period(out.index)
        out = _fill_short_gaps(_regularise(out, period), period, pd.Timedelta(max_gap))
    out.attrs["units"] = {names[c]: si_units[c] for c in value_cols}
    out.attrs["source"] = src
    return out


def _read_table_header(path: Path, sep: str | None) -> tuple[str, list[str]]:
    """The CSV separator (sniffed from the first line unless given) and the column names."""
    with io.TextIOWrapper(open_trace(path, error=TraceError), encoding="utf-8", errors="replace", newline="") as fh:
        header = fh.readline()
    if not header.strip():
        raise TraceError(f"{path}: empty file (no header line)")
    sep = sep or _sniff_sep(header)
    names = pd.read_csv(open_trace(path, error=TraceError), sep=sep, nrows=0).columns
    return sep, [str(c) for c in names]


def _columns_of(path: Path) -> list[str]:
    if any(s in _PARQUET for s in _suffixes(path)):
        import pyarrow.parquet as pq

        return list(pq.read_schema(check_input(path, error=TraceError)).names)
    return _read_table_header(path, None)[1]


def _regularise(df: pd.DataFrame, period: pd.Timedelta) -> pd.DataFrame:
    """Reindex onto the full grid ``start, start + period, ..., end`` (missing rows -> NaN)."""
    if df.empty:
        return df
    grid = pd.date_range(df.index[0], df.index[-1], freq=period, name="time")
    # rows off the grid (irregular sampling) are kept, not thrown away
    out = df.reindex(grid.union(df.index))
    out.index.name = "time"
    return out


def _nan_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and stop (exclusive) indices of the runs of True in a boolean vector."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def _fill_short_gaps(df: pd.DataFrame, period: pd.Timedelta, max_gap: pd.Timedelta) -> pd.DataFrame:
    out = df.copy()
    max_n = int(max_gap // period)
    for col in out.columns:
        values = out[col]
        mask = values.isna().to_numpy()
        if not mask.any() or max_n < 1:
            continue
        filled = values.interpolate(method="time", limit_area="inside").to_numpy(copy=True)
        starts, stops = _nan_runs(mask)
        keep_nan = np.zeros(len(mask), dtype=bool)
        for a, b in zip(starts, stops):
            if b - a > max_n:
                keep_nan[a:b] = True
        filled[keep_nan] = np.nan
        out[col] = filled
    return out


def find_gaps(
    df: pd.DataFrame, period: str | pd.Timedelta, how: Literal["all", "any"] = "all"
) -> pd.DataFrame:
    """List the gaps of a trace on its regular grid.

    A grid slot ``t`` (from the first to the last timestamp, every ``period``) is *missing*
    when the row is absent or when all (``how="all"``) or any (``how="any"``) of its channels
    are NaN.

    Returns
    -------
    DataFrame
        One row per run of missing slots: ``start`` (first missing slot), ``end`` (the slot
        after the gap, so ``end - start = n_missing * period``) and ``n_missing``; empty when
        the trace is complete.
    """
    period = pd.Timedelta(period)
    cols = {"start": pd.Series(dtype=df.index.dtype), "end": pd.Series(dtype=df.index.dtype),
            "n_missing": pd.Series(dtype="int64")}
    if df.empty:
        return pd.DataFrame(cols)
    nan = df.isna().all(axis=1) if how == "all" else df.isna().any(axis=1)
    present = df.index[~nan.to_numpy()]
    grid = pd.date_range(df.index[0], df.index[-1], freq=period)
    missing = ~grid.isin(present)
    starts, stops = _nan_runs(missing)
    if len(starts) == 0:
        return pd.DataFrame(cols)
    return pd.DataFrame(
        {
            "start": grid[starts],
            "end": grid[starts] + (stops - starts) * period,
            "n_missing": (stops - starts).astype("int64"),
        }
    )


# ---------------------------------------------------------------------------------------
# the shipped samples


def _sample(name: str) -> Path:
    return Path(str(resources.files("twinforge") / "data" / name))


#: UCI column -> (channel, unit).
_UCI_COLUMNS = {
    "Global_active_power": ("mains_power_w", "kW"),
    "Global_reactive_power": ("mains_reactive_power_var", "kvar"),
    "Voltage": ("mains_voltage_v", "V"),
    "Global_intensity": ("mains_current_a", "A"),
    "Sub_metering_1": ("kitchen_power_w", "Wh/min"),
    "Sub_metering_2": ("laundry_power_w", "Wh/min"),
    "Sub_metering_3": ("water_heater_power_w", "Wh/min"),
}


def load_uci_household(
    path: str | Path | None = None,
    *,
    tz: str = "Europe/Paris",
    resample: str | None = None,
    max_gap: str | None = None,
) -> pd.DataFrame:
    """Load the UCI "Individual household electric power consumption" trace (Sceaux, FR).

    Parameters
    ----------
    path : str or Path, optional
        The UCI file (full ``minute_household_power.csv.xz`` or the original ``;``-separated
        text). Default: the shipped sample, Dec 2008 - Jan 2009 (89,280 minutes, 72 ``?``
        rows; see ``twinforge/data/uci_household/PROVENANCE.md``).
    tz : str
        Zone of the naive ``Date``/``Time`` stamps. They follow French civil time (household
        routines do not move at the DST changes) but the file is a gap-free minute grid with
        neither a skipped spring hour nor a repeated autumn hour, so rows at the transitions
        cannot be placed: they are dropped with a :class:`TraceWarning` (60 per transition;
        none in the sample).
    resample, max_gap
        As in :func:`load_trace`.

    Returns
    -------
    DataFrame
        UTC index ``time``; ``mains_power_w`` [W] (``Global_active_power`` kW x 1000),
        ``mains_reactive_power_var`` [var], ``mains_voltage_v`` [V], ``mains_current_a`` [A],
        and the sub-meters ``kitchen_power_w``, ``laundry_power_w``,
        ``water_heater_power_w`` [W] (Wh per minute x 60). Missing minutes (``?``) are NaN.
    """
    with warnings.catch_warnings():
        # rows at DST transitions are expected here; say so once, in this function's name
        warnings.simplefilter("ignore", TraceWarning)
        df = load_trace(
            _sample(UCI_SAMPLE) if path is None else path,
            time_col=("Date", "Time"),
            columns={k: v[0] for k, v in _UCI_COLUMNS.items()},
            units={k: v[1] for k, v in _UCI_COLUMNS.items()},
            tz=tz,
            ambiguous="NaT",
            nonexistent="NaT",
            date_format="%d/%m/%Y %H:%M:%S",
            resample=resample,
            max_gap=max_gap,
        )
    n_expected = int((df.index[-1] - df.index[0]) / pd.Timedelta("1min")) + 1
    if resample is None and max_gap is None and len(df) < n_expected:
        warnings.warn(
            f"load_uci_household: {n_expected - len(df)} minutes missing from the UTC grid "
            f"(rows at daylight-saving transitions in {tz!r} dropped)",
            TraceWarning,
            stacklevel=2,
        )
    return df


def load_pjm(
    path: str | Path | None = None,
    *,
    zone: str = "PJME",
    resample: str | None = "1h",
    max_gap: str | None = None,
    duplicates: Duplicates = "raise",
) -> pd.DataFrame:
    """Load a PJM hourly zone load file (Kaggle "Hourly Energy Consumption").

    The Kaggle files are unsorted, in US Eastern clock time, and each row is labelled with
    the **end** of its hour: on spring-forward days the label ``03:00`` is absent and
    ``02:00`` (= 03:00 EDT) is present; on fall-back days (2014-2017) ``02:00`` appears twice
    (02:00 EDT, then 02:00 EST). Shifting the labels by ``-1h`` and inferring the repeated
    hour from the row order places every such row on its own UTC hour, so no duplicate is
    left. What stays missing is real: in 2002-2013 both fall-back hours labelled ``02:00``
    are absent (two UTC hours), and 2010-12-10 00:00 is absent.

    Parameters
    ----------
    path : str or Path, optional
        ``<ZONE>_hourly.csv`` with columns ``Datetime, <ZONE>_MW`` (or the Prophet-style
        ``ds, y``). Default: the shipped sample, PJME calendar year 2014
        (``twinforge/data/pjm/PROVENANCE.md``).
    zone : str
        Zone prefix of the load column (``"PJME"``, ``"AEP"`` ...).
    resample : str or None
        Default ``"1h"`` puts the trace on a regular hourly grid (missing hours become NaN
        rows); ``None`` keeps only the rows present in the file.
    max_gap, duplicates
        As in :func:`load_trace`.

    Returns
    -------
    DataFrame
        UTC index ``time`` (hour beginning); column ``load_power_w`` [W] (MW x 1e6).
    """
    path = _sample(PJM_SAMPLE) if path is None else Path(path)
    header = _columns_of(path)
    if _prophet(header) and f"{zone}_MW" not in header:
        time_col, value_col = "ds", "y"
    else:
        time_col, value_col = "Datetime", f"{zone}_MW"
    return load_trace(
        path,
        time_col=time_col,
        columns={value_col: "load_power_w"},
        units={value_col: "MW"},
        tz="America/New_York",
        ambiguous="infer",
        time_offset="-1h",
        sort=True,
        duplicates=duplicates,
        resample=resample,
        max_gap=max_gap,
        date_format="%Y-%m-%d %H:%M:%S",
    )


#: Zones of the Kaggle "Hourly Energy Consumption" files, each named ``<ZONE>_hourly.csv``.
_PJM_ZONES = ("AEP", "COMED", "DAYTON", "DEOK", "DOM", "DUQ", "EKPC", "FE", "NI", "PJME", "PJMW", "PJM_Load")
_PJM_FILE = re.compile(rf"(?:{'|'.join(_PJM_ZONES)})_hourly(?:[._-].*)?", re.IGNORECASE)


def _prophet(header: Sequence[str]) -> bool:
    """A Prophet-style ``ds, y`` header: a time and a value column, with no unit or zone."""
    return "ds" in header and "y" in header


def _is_pjm(path: str | Path, header: Sequence[str]) -> bool:
    """Whether a file is recognisably a Kaggle PJM hourly load file (what ``--format auto``
    reads with :func:`load_pjm`): ``Datetime`` and a ``<ZONE>_MW`` column, or the
    Prophet-style ``ds, y`` of a copy that kept its Kaggle name ``<ZONE>_hourly.csv``
    (:data:`_PJM_ZONES`). A ``ds, y`` header alone is any Prophet CSV, with no unit, zone or
    clock convention, so it is not enough.
    """
    if "Datetime" in header and any(c.endswith("_MW") for c in header):
        return True
    return _prophet(header) and _PJM_FILE.fullmatch(Path(path).name) is not None


# ---------------------------------------------------------------------------------------
# PRONOSTIA (FEMTO-ST, IEEE PHM 2012) run-to-failure bearings

#: Shipped sample: the per-snapshot features of the six learning-set bearings
#: (``twinforge/data/pronostia/PROVENANCE.md``).
PRONOSTIA_SAMPLE = "pronostia/learning_set_snapshot_features.csv.xz"

#: Operating conditions of the PRONOSTIA tests (Nectoux et al. 2012): condition number ->
#: (shaft speed [rpm], radial load [N]). ``BearingC_k`` ran at condition ``C``.
PRONOSTIA_CONDITIONS: dict[int, tuple[float, float]] = {
    1: (1800.0, 4000.0),
    2: (1650.0, 4200.0),
    3: (1500.0, 5000.0),
}

#: Snapshot interval of the PRONOSTIA accelerometer files [s].
_PRONOSTIA_STEP_S = 10.0
#: Base date of the reconstructed times: the files hold the clock time only, no date.
_PRONOSTIA_BASE = pd.Timestamp("2012-01-01", tz="UTC")
#: Per-axis feature column -> machine channel.
_PRONOSTIA_FEATURES = {"rms": "accel_rms_g", "peak": "accel_peak_g", "kurtosis": "accel_kurtosis"}


def pronostia_condition(bearing: str) -> tuple[float, float]:
    """Shaft speed [rpm] and radial load [N] of a PRONOSTIA bearing (``"Bearing2_1"``)."""
    name = str(bearing)
    try:
        cond = int(name.removeprefix("Bearing").split("_")[0])
        return PRONOSTIA_CONDITIONS[cond]
    except (ValueError, KeyError):
        raise TraceError(
            f"bearing {name!r}: no PRONOSTIA operating condition; names are 'BearingC_k' with "
            f"C in {sorted(PRONOSTIA_CONDITIONS)}"
        ) from None


def load_pronostia(
    path: str | Path | None = None,
    bearings: Sequence[str] | None = None,
    axis: Literal["h", "v"] = "h",
) -> pd.DataFrame:
    """Load the per-snapshot vibration indicators of PRONOSTIA bearings run to failure.

    The file has one row per raw accelerometer file (0.1 s at 25.6 kHz, one every 10 s):
    ``bearing``, ``file_index`` (1 = first snapshot), the clock time ``hour``,
    ``minute``, ``second`` (``microsecond``), and per axis (``_h`` horizontal, ``_v``
    vertical) ``rms``, ``peak`` (max absolute value) and ``kurtosis`` (Pearson) in g.

    Times: the files record the clock time, not the day. Each bearing is placed on a
    regular 10 s grid from its first snapshot, ``2012-01-01 UTC + clock time of the first
    snapshot (whole seconds) + (file_index - first index) x 10 s``, so a test running past midnight keeps
    increasing. The clock is checked against that grid modulo 24 h (so a midnight wrap is
    no mismatch); a few stray stamps are tolerated (Bearing1_1 has two files stamped
    six hours early) and counted in ``attrs["clock_mismatches"]``.

    Parameters
    ----------
    path : str or Path, optional
        The features CSV (optionally compressed). Default: the shipped sample, the six
        learning-set bearings (``twinforge/data/pronostia/PROVENANCE.md``).
    bearings : sequence of str, optional
        Bearings to load, in this order; ``run_id`` k is the k-th (so a unit split that
        holds out the last units holds out the last bearings). Default: all, in file order.
    axis : {"h", "v"}
        Accelerometer: horizontal (``h``, the one the challenge scored) or vertical.

    Returns
    -------
    DataFrame
        UTC index ``time``; ``run_id`` (int); ``accel_rms_g``, ``accel_peak_g``,
        ``accel_crest_factor`` (peak / RMS), ``accel_kurtosis``, named like the machine
        twin's channels. ``attrs``: ``bearings`` (run_id -> name), ``conditions`` (run_id ->
        ``{"shaft_speed_rpm", "radial_load_n"}``), ``clock_mismatches`` (run_id -> count),
        ``units``, ``source``.

    Raises
    ------
    TraceError
        Missing file or column, non-numeric value, unknown bearing or axis, repeated or
        missing snapshot index, a clock inconsistent with the 10 s grid.
    """
    if axis not in ("h", "v"):
        raise TraceError(f"axis must be 'h' (horizontal) or 'v' (vertical), got {axis!r}")
    src_path = _sample(PRONOSTIA_SAMPLE) if path is None else Path(path)
    src = str(src_path)
    if not src_path.exists():
        raise TraceError(f"{src}: file not found")
    wanted_features = {f"{k}_{axis}": v for k, v in _PRONOSTIA_FEATURES.items()}
    required = ["bearing", "file_index", "hour", "minute", "second", *wanted_features]
    with _reading(src_path):
        header = _columns_of(src_path)
        missing = [c for c in required if c not in header]
        if missing:
            raise TraceError(
                f"{src}: column {missing[0]!r} not found; a PRONOSTIA features file needs "
                f"{required} (and 'microsecond'); its columns are {header}"
            )
        cols = required + (["microsecond"] if "microsecond" in header else [])
        frame, _ = _read_table(src_path, None, None, None, ("", "NA", "NaN", "?"))
    frame = frame[cols]
    if frame.empty:
        raise TraceError(f"{src}: no data row")
    names = frame["bearing"].astype("string")
    numeric = {}
    for c in cols[1:]:
        vals = pd.to_numeric(frame[c], errors="coerce")
        bad = vals.isna().to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise TraceError(
                f"{src}: column {c!r}: not a number: {frame[c].iloc[i]!r} (data row {i}, "
                f"{int(bad.sum())} bad values in all); allowed: finite numbers"
            )
        numeric[c] = vals.to_numpy(dtype="float64")
    available = list(dict.fromkeys(names.tolist()))
    chosen = available if bearings is None else [str(b) for b in bearings]
    if not chosen:
        raise TraceError(f"{src}: no bearing asked for; the file holds {available}")
    unknown = [b for b in chosen if b not in available]
    if unknown:
        raise TraceError(f"{src}: bearing {unknown[0]!r} not in the file; it holds {available}")
    if len(set(chosen)) != len(chosen):
        raise TraceError(f"{src}: bearings must be distinct, got {chosen}")

    parts, attrs_b, attrs_c, attrs_m = [], {}, {}, {}
    name_arr = names.to_numpy()
    for rid, b in enumerate(chosen):
        sel = np.flatnonzero(name_arr == b)
        idx = numeric["file_index"][sel]
        order = np.argsort(idx, kind="stable")
        sel, idx = sel[order], idx[order]
        if np.any(idx != np.round(idx)):
            raise TraceError(f"{src}: bearing {b!r}: column 'file_index' must hold integers")
        steps = np.diff(idx)
        if np.any(steps == 0):
            k = int(idx[np.flatnonzero(steps == 0)[0]])
            raise TraceError(f"{src}: bearing {b!r}: column 'file_index': snapshot {k} appears twice")
        if np.any(steps != 1):
            k = int(idx[np.flatnonzero(steps != 1)[0]])
            raise TraceError(
                f"{src}: bearing {b!r}: column 'file_index': snapshots missing after {k}; "
                "allowed: consecutive snapshot indices"
            )
        clock = numeric["hour"][sel] * 3600.0 + numeric["minute"][sel] * 60.0 + numeric["second"][sel]
        if "microsecond" in numeric:
            clock = clock + numeric["microsecond"][sel] * 1e-6
        if np.any((clock < 0) | (clock >= 86_400.0)):
            raise TraceError(f"{src}: bearing {b!r}: columns 'hour'/'minute'/'second' are not a clock time")
        elapsed = (idx - idx[0]) * _PRONOSTIA_STEP_S
        # the clock against the grid, modulo a day (a midnight wrap is not a mismatch)
        gap = np.mod(clock - clock[0] - elapsed + 43_200.0, 86_400.0) - 43_200.0
        off = np.abs(gap) > 1.0
        if off.mean() > 0.1:
            raise TraceError(
                f"{src}: bearing {b!r}: {int(off.sum())} of {off.size} clock times are off the "
                f"{_PRONOSTIA_STEP_S:g} s grid of 'file_index'; expected one snapshot every "
                f"{_PRONOSTIA_STEP_S:g} s"
            )
        t0 = _PRONOSTIA_BASE + pd.to_timedelta(math.floor(clock[0]), unit="s")
        times = t0 + pd.to_timedelta(elapsed, unit="s")
        rms = numeric[f"rms_{axis}"][sel]
        peak = numeric[f"peak_{axis}"][sel]
        with np.errstate(divide="ignore", invalid="ignore"):
            crest = np.where(rms > 0, peak / rms, np.nan)
        parts.append(pd.DataFrame({
            "run_id": np.full(sel.size, rid, dtype=np.int64),
            "accel_rms_g": rms,
            "accel_peak_g": peak,
            "accel_crest_factor": crest,
            "accel_kurtosis": numeric[f"kurtosis_{axis}"][sel],
        }, index=pd.DatetimeIndex(times, name="time")))
        speed, load = pronostia_condition(b) if b.startswith("Bearing") else (math.nan, math.nan)
        attrs_b[rid] = b
        attrs_c[rid] = {"shaft_speed_rpm": speed, "radial_load_n": load}
        attrs_m[rid] = int(off.sum())
    out = pd.concat(parts)
    out.attrs.update(
        bearings=attrs_b, conditions=attrs_c, clock_mismatches=attrs_m, axis=axis, source=src,
        units={"accel_rms_g": "g", "accel_peak_g": "g", "accel_crest_factor": "1", "accel_kurtosis": "1"},
    )
    return out
