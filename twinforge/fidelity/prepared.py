"""One prepared comparison: align, resample, normalise and window a real trace once.

Every fidelity computation (:func:`~twinforge.fidelity.compare`, the calibration loss,
the held-out protocol) starts the same way: the real trace and the synthetic runs are put
on a common sampling period in UTC, optionally divided by their own mean, and cut into
windows (local days by default) that the metrics compare. :class:`ComparisonSettings`
declares how (validated once, with the allowed ranges), :class:`PreparedComparison` holds
the real side done once, and :meth:`PreparedComparison.side` cuts any other data set (the
synthetic runs, another real period) exactly the same way into a :class:`WindowSet`.

Durations (sampling period, window length) are one type, :class:`Duration`: written
``"15min"``, ``"1h"``, ``"1D"`` or given as a Timedelta or seconds, read back as seconds,
a Timedelta or text.

>>> s = ComparisonSettings(channels={"load_power_w": "feeder_power_w"}, window="1D", period="1h",
...                        tz="America/New_York", normalise="mean")
>>> s.window.seconds, str(s.period)
(86400.0, '1h')
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from twinforge.core.calendar import validate_tz
from twinforge.fidelity.loader import infer_period, parse_duration
from twinforge.fidelity.windows import make_windows, min_window_steps, window_features

__all__ = ["Duration", "ComparisonSettings", "WindowSet", "PreparedComparison", "CompareError",
           "real_runs", "synthetic_frame", "first_problem"]


class CompareError(ValueError):
    """The inputs of a comparison do not fit together; the message says which and why."""


def duration_text(seconds: float) -> str:
    """``"15min"``, ``"1h"``, ``"1D"``: the largest whole unit, else seconds."""
    for unit, n in (("D", 86_400), ("h", 3600), ("min", 60), ("s", 1)):
        if seconds >= n and seconds % n == 0:
            return f"{int(seconds // n)}{unit}"
    return f"{seconds:g}s"


class Duration(BaseModel):
    """A positive duration: ``"15min"``, ``"1h"``, ``"1D"``, a Timedelta or seconds.

    >>> Duration.of("90min").seconds, Duration.of(3600).text, Duration.of(pd.Timedelta("1D")).td
    (5400.0, '1h', Timedelta('1 days 00:00:00'))
    """

    model_config = ConfigDict(frozen=True)

    seconds: float = Field(gt=0.0, description="length [s]")

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, v: Any) -> Any:
        if isinstance(v, Duration) or isinstance(v, Mapping):
            return v
        if isinstance(v, bool):
            raise ValueError(f"must be a duration such as '15min', '1h' or '1D', got {v!r}")
        if isinstance(v, (int, float, np.integer, np.floating)):
            seconds = float(v)
        else:
            td = parse_duration(v) if isinstance(v, (str, pd.Timedelta, _dt.timedelta)) else None
            if td is None:
                raise ValueError(f"must be a duration such as '15min', '1h' or '1D', got {v!r}")
            seconds = td.total_seconds()
        if not seconds > 0:
            raise ValueError(f"must be positive, got {v!r}")
        return {"seconds": seconds}

    @classmethod
    def of(cls, v: Any) -> "Duration":
        """``v`` as a Duration (ValueError naming the forms allowed)."""
        return v if isinstance(v, Duration) else cls.model_validate(v)

    @property
    def td(self) -> pd.Timedelta:
        return pd.Timedelta(seconds=self.seconds)

    @property
    def text(self) -> str:
        return duration_text(self.seconds)

    def __str__(self) -> str:
        return self.text


def first_problem(exc: ValidationError, prefix: str = "") -> str:
    """One line for a pydantic error: the field and what it allows."""
    e = exc.errors()[0]
    loc = ".".join(str(p) for p in e["loc"] if p != "seconds")
    msg = str(e["msg"]).removeprefix("Value error, ")
    if not loc:
        return f"{prefix}{msg}"
    return f"{prefix}{loc} {msg}" if msg.startswith("must ") else f"{prefix}{loc}: {msg}"


class ComparisonSettings(BaseModel):
    """How a real trace and synthetic data are put side by side (validated once).

    ``channels`` maps real columns to synthetic channels; ``window`` is the window length
    (``"1D"``: local days in ``tz``; ``tz=None``: windows from each unit's first sample);
    ``period`` the common sampling period (None: the coarser of the two sides'); with
    ``normalise="mean"`` each real unit and synthetic run is divided by its own mean per
    channel (shapes, not levels); windows with more than ``max_nan_frac`` missing values
    are dropped; ``max_lag`` is the autocorrelation's largest lag (default a quarter of a
    window); ``seed`` seeds the classifier and the permutations; with ``match_span`` the
    synthetic windows are restricted to the calendar months the real windows cover (like
    with like: a year of synthetic days is not scored against two winter months).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    channels: dict[str, str] = Field(..., min_length=1, description="real column -> synthetic channel")
    window: Duration = Field(Duration(seconds=86_400.0), description="window length")
    period: Duration | None = Field(None, description="common sampling period (default: the coarser side's)")
    tz: str | None = Field("Europe/Paris", description="local zone of windows and profiles, None: unit time")
    normalise: Literal["none", "mean"] = "none"
    max_nan_frac: float = Field(0.05, ge=0.0, le=1.0, description="largest share of missing values in a window")
    max_lag: int | None = Field(None, ge=1, description="largest autocorrelation lag [samples]")
    seed: int = Field(0, ge=0, description="seed of the classifier, its folds and the permutations")
    match_span: bool = Field(True, description="restrict synthetic windows to the real windows' months")

    @field_validator("tz")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            return validate_tz(v)
        except ValueError as exc:
            raise ValueError(f"{exc}, or None (windows from each unit's first sample)") from None

    @field_validator("channels")
    @classmethod
    def _channels(cls, v: dict[str, str]) -> dict[str, str]:
        for k, c in v.items():
            if not str(k).strip() or not str(c).strip():
                raise ValueError(f"a channel pair needs two names, got {k!r}: {c!r}")
        return v

    @classmethod
    def build(cls, **kw: Any) -> "ComparisonSettings":
        """As the constructor, but a bad value is one :class:`CompareError` line."""
        try:
            return cls(**kw)
        except ValidationError as exc:
            raise CompareError(first_problem(exc)) from None

    @property
    def columns(self) -> list[str]:
        return list(self.channels)


def _check_window(window: Duration, period: Duration) -> int:
    n = window.seconds / period.seconds
    if abs(n - round(n)) > 1e-9:
        raise CompareError(f"window {window.text!r} is not a whole number of {period.text} periods; "
                           "choose a period that divides the window")
    if int(round(n)) < min_window_steps():
        raise CompareError(f"window {window.text!r} holds {int(round(n))} samples at {period.text}; the window "
                           f"features need at least {min_window_steps()}: a longer window or a finer period")
    return int(round(n))


# ---------------------------------------------------------------------------------------
# inputs


#: what a real / a synthetic frame without time, or without a column, is told
_FRAME_ERRORS = {
    "real": ("real trace needs a DatetimeIndex (load it with twinforge.fidelity.load_trace)",
             "real column {!r} not in the real trace; its columns are {}"),
    "synthetic": ("synthetic DataFrame needs a 'time' column or a DatetimeIndex",
                  "synthetic channel {!r} not in the synthetic data; its channels are {}"),
}


def _timed(df: pd.DataFrame, columns: list[str], side: str) -> pd.DataFrame:
    """``df`` indexed by its ``time`` column (or its own DatetimeIndex), with every one of
    ``columns``; CompareError in the words of ``side`` ("real" or "synthetic") otherwise."""
    no_time, no_column = _FRAME_ERRORS[side]
    if "time" in df.columns:
        df = df.set_index("time")
    if not isinstance(df.index, pd.DatetimeIndex):
        raise CompareError(no_time)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise CompareError(no_column.format(missing[0], [c for c in df.columns if c != "run_id"]))
    return df


def _real_frame(real: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """One real trace: UTC-indexed, sorted, without duplicated times, ``columns`` as float."""
    if not isinstance(real, pd.DataFrame):
        raise CompareError(f"real must be a DataFrame (as load_trace returns), got {type(real).__name__}")
    df = _timed(real, columns, "real")
    idx = df.index if df.index.tz is not None else df.index.tz_localize("UTC")
    out = pd.DataFrame(df[columns].to_numpy(dtype="float64"), index=idx.tz_convert("UTC").rename("time"),
                       columns=columns)
    out = out[~out.index.duplicated()].sort_index()
    if len(out) < 2:
        raise CompareError("real trace has fewer than two samples")
    return out


def real_runs(real: pd.DataFrame, columns: list[str]) -> dict[int, pd.DataFrame]:
    """The real data as ``{run_id: trace}``: one trace, or one per unit.

    A real DataFrame with a ``run_id`` column holds several units (bearings run to failure,
    houses); each is cut into windows on its own, like the synthetic runs. Without it the
    whole frame is unit 0.
    """
    if isinstance(real, pd.DataFrame) and "run_id" in real.columns:
        out = {}
        for rid, g in real.groupby("run_id", sort=True):
            try:
                out[int(rid)] = _real_frame(g.drop(columns="run_id"), columns)
            except CompareError as exc:
                raise CompareError(f"real run_id {rid}: {exc}") from None
        if not out:
            raise CompareError("real trace is empty")
        return out
    return {0: _real_frame(real, columns)}


def synthetic_frame(synthetic: Any, columns: list[str], *, twin: str | None = None) -> pd.DataFrame:
    """Synthetic data as a DataFrame indexed by UTC ``time`` with ``run_id`` and ``columns``.

    Parameters
    ----------
    synthetic : str, Path, TwinDataset or DataFrame
        A dataset folder written by ``twinforge generate``, an opened dataset, or a
        DataFrame with a ``time`` column or a DatetimeIndex (and optionally ``run_id``; a
        frame without it is one run, ``run_id`` 0).
    columns : list of str
        Synthetic channels to read.
    twin : str, optional
        Twin to read from a dataset holding several; default: the one twin that has all
        ``columns``.

    The frame's ``attrs["tz"]`` is the local time zone the dataset's scenario simulated the
    twin in (None for a DataFrame, or a twin without local time), ``attrs["source"]`` what
    it was read from (the dataset folder, or "a DataFrame").

    Raises
    ------
    CompareError
        Unknown channel, unreadable dataset, no time information.
    """
    from pathlib import Path

    from twinforge.export.reader import TwinDataset, open_dataset

    if isinstance(synthetic, (str, Path)):
        try:
            synthetic = open_dataset(synthetic)
        except (FileNotFoundError, ValueError) as exc:
            raise CompareError(str(exc)) from None
    if isinstance(synthetic, TwinDataset):
        twins = [twin] if twin is not None else synthetic.twins
        fits = [t for t in twins if set(columns) <= set(synthetic.columns(t))]
        if not fits:
            avail = sorted({c for t in twins for c in synthetic.columns(t)})
            missing = [c for c in columns if c not in avail] or columns
            raise CompareError(
                f"synthetic channel {missing[0]!r} not in dataset {synthetic.root}; "
                f"its channels are {avail}"
            )
        df = synthetic.samples(columns=columns, twin=fits[0])
        df = df.drop(columns="twin").set_index("time")
        scenario = (synthetic.manifest.get("dataset") or {}).get("scenario") or {}
        section = scenario.get(fits[0]) if isinstance(scenario, dict) else None
        sim_tz = section.get("tz") if isinstance(section, dict) else None
        source = f"dataset {synthetic.root} (twin {fits[0]})"
    elif isinstance(synthetic, pd.DataFrame):
        df, sim_tz = _timed(synthetic, columns, "synthetic"), synthetic.attrs.get("tz")
        source = synthetic.attrs.get("source", "a DataFrame")
        if "run_id" not in df.columns:
            if df.index.has_duplicates:
                raise CompareError("synthetic DataFrame repeats timestamps but has no 'run_id' column: "
                                   "give each run its run_id (one run per id)")
            df = df.assign(run_id=0)
        df = df[["run_id", *columns]]
    else:
        raise CompareError(
            f"synthetic must be a dataset path, a TwinDataset or a DataFrame, got {type(synthetic).__name__}"
        )
    idx = pd.DatetimeIndex(df.index)
    idx = idx.tz_localize("UTC") if idx.tz is None else idx.tz_convert("UTC")
    out = df.copy()
    out.index = idx.rename("time")
    out["run_id"] = out["run_id"].astype("int64")
    for c in columns:
        if not (pd.api.types.is_numeric_dtype(out[c].dtype) or pd.api.types.is_bool_dtype(out[c].dtype)):
            raise CompareError(f"synthetic channel {c!r} is not numeric ({out[c].dtype}: a label); "
                               "compare numeric channels")
        out[c] = out[c].astype("float64")
    out.attrs["tz"] = sim_tz
    out.attrs["source"] = source
    return out


def _resample(df: pd.DataFrame, period: Duration, native: pd.Timedelta) -> pd.DataFrame:
    """Mean over ``[t, t + period)``; a no-op when the trace is already at ``period``."""
    if period.td == native:
        return df
    if period.td < native:
        raise CompareError(
            f"cannot compare at {period.text}: a trace is sampled every {duration_text(native.total_seconds())} "
            f"(choose a period >= {duration_text(native.total_seconds())})"
        )
    return df.resample(period.td, label="left", closed="left").mean()


def _normalise_by_mean(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    out = df.copy()
    for c in cols:
        m = float(np.nanmean(out[c].to_numpy()))
        if m == 0 or not math.isfinite(m):
            raise CompareError(f"cannot normalise {c!r} by its mean ({m})")
        out[c] = out[c] / m
    return out


def stack_runs(runs: Mapping[int, pd.DataFrame], cols: list[str]) -> pd.DataFrame:
    """Runs as one frame; a ``run_id`` column only when there are several."""
    if len(runs) == 1:
        return next(iter(runs.values()))
    return pd.concat([g.assign(run_id=rid) for rid, g in runs.items()])[["run_id", *cols]]


# ---------------------------------------------------------------------------------------
# windows


@dataclass(frozen=True)
class WindowSet:
    """One side of a comparison, prepared: resampled (normalised) runs and their windows.

    Attributes
    ----------
    runs : dict of int to DataFrame
        Each unit's trace on the common period (UTC index, the real column names).
    windows : ndarray of shape (n_windows, n_steps, n_channels)
    starts : DatetimeIndex
        UTC start of each window.
    unit : ndarray of shape (n_windows,)
        Run (unit) id of each window.
    n_dropped : int
        Windows dropped for missing values (over ``max_nan_frac``) or outside the months
        of the other side (``match_span``).
    source : str
        What the data are (a file, a dataset, a simulation).
    """

    runs: dict[int, pd.DataFrame]
    windows: np.ndarray
    starts: pd.DatetimeIndex
    unit: np.ndarray
    period_s: float
    n_dropped: int = 0
    n_outside_span: int = 0
    source: str = ""
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.windows)

    @property
    def features(self) -> np.ndarray:
        """The windows' feature vectors (:func:`~twinforge.fidelity.window_features`), computed once."""
        if "features" not in self._cache:
            self._cache["features"] = window_features(self.windows, self.period_s)
        return self._cache["features"]

    def frame(self, cols: list[str]) -> pd.DataFrame:
        """All runs as one frame (``run_id`` column)."""
        return pd.concat([g.assign(run_id=rid) for rid, g in self.runs.items()])[["run_id", *cols]]

    def months(self, tz: str) -> np.ndarray:
        """The local calendar months (1..12) the windows start in."""
        return np.unique(self.starts.tz_convert(tz).month.to_numpy())

    def subset(self, keep: np.ndarray) -> "WindowSet":
        """The windows where ``keep`` is true (the runs are kept whole)."""
        return WindowSet(self.runs, self.windows[keep], self.starts[keep], self.unit[keep], self.period_s,
                         self.n_dropped + int((~keep).sum()), self.n_outside_span + int((~keep).sum()),
                         self.source)


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def month_names(months: np.ndarray) -> str:
    return ", ".join(_MONTHS[int(m) - 1] for m in months)


@dataclass(frozen=True)
class PreparedComparison:
    """The real side of a comparison, done once, and the rule to cut any other side like it.

    Build it with :meth:`prepare`; :meth:`side` cuts synthetic runs (or another real
    period) the same way. Used by :func:`~twinforge.fidelity.compare`, the calibration loss
    (:mod:`~twinforge.fidelity.calibration`) and the protocol (:mod:`~twinforge.fidelity.heldout`).
    """

    settings: ComparisonSettings
    period: Duration
    real: WindowSet

    @property
    def n_steps(self) -> int:
        return int(self.real.windows.shape[1])

    @property
    def max_lag(self) -> int:
        lag = max(1, self.n_steps // 4) if self.settings.max_lag is None else int(self.settings.max_lag)
        if not 1 <= lag < self.n_steps:
            raise CompareError(f"max_lag must be in [1, {self.n_steps - 1}] for {self.settings.window} windows, "
                               f"got {lag}")
        return lag

    @classmethod
    def prepare(cls, real: pd.DataFrame, settings: ComparisonSettings, *,
                other_period: pd.Timedelta | None = None, source: str = "") -> "PreparedComparison":
        """Resample, normalise and window the real trace once.

        ``other_period`` is the native period of the data it will be compared with: without
        ``settings.period`` the coarser of the two is used.
        """
        cols = settings.columns
        by_run = real_runs(real, cols)
        p_real = min(infer_period(g.index) for g in by_run.values())
        if settings.period is not None:
            period = settings.period
        else:
            period = Duration.of(max(p_real, other_period) if other_period is not None else p_real)
        _check_window(settings.window, period)
        src = source or (real.attrs.get("source", "") if isinstance(real, pd.DataFrame) else "")
        side = _cut(by_run, settings, period, real=True, source=src or "the real trace")
        if len(side) == 0:
            where = f"starting at local midnight in {settings.tz}" if settings.tz else "from the first sample"
            raise CompareError(f"the real trace holds no complete {settings.window} window (at most "
                               f"{settings.max_nan_frac:.0%} missing) {where}")
        return cls(settings, period, side)

    def side(self, frame: pd.DataFrame, *, source: str = "", match_span: bool | None = None) -> WindowSet:
        """Cut ``frame`` (UTC index, the synthetic channel names, ``run_id``) like the real side.

        With ``match_span`` (default: the settings'), only windows starting in the real
        windows' local months are kept (the others are counted in ``n_outside_span``).
        """
        s = self.settings
        cols = s.columns
        if "run_id" not in frame.columns:
            frame = frame.assign(run_id=0)
        renamed = pd.DataFrame({"run_id": frame["run_id"], **{c: frame[s.channels[c]] for c in cols}},
                               index=frame.index)
        runs: dict[int, pd.DataFrame] = {}
        for rid, g in renamed.groupby("run_id", sort=True):
            g = g.drop(columns="run_id").sort_index()
            runs[int(rid)] = g[~g.index.duplicated()]
        periods = [infer_period(g.index) for g in runs.values() if len(g) > 1]
        if not periods:
            raise CompareError("synthetic data has no run with two samples or more")
        side = _cut({k: g for k, g in runs.items() if len(g) > 1}, s, self.period, real=False,
                    source=source or frame.attrs.get("source", ""), native=min(periods))
        if len(side) == 0:
            where = f"starting at local midnight in {s.tz}" if s.tz else "from the first sample"
            raise CompareError(f"the synthetic data holds no complete {s.window} window {where}")
        if (s.match_span if match_span is None else match_span) and s.tz is not None \
                and s.window.seconds <= 31 * 86_400.0:
            keep = np.isin(side.starts.tz_convert(s.tz).month, self.real.months(s.tz))
            if not keep.any():
                raise CompareError(
                    f"the synthetic windows ({month_names(side.months(s.tz))}) share no month with the real "
                    f"windows ({month_names(self.real.months(s.tz))}): simulate the real trace's dates"
                )
            if not keep.all():
                side = side.subset(keep)
        return side


def _cut(by_run: Mapping[int, pd.DataFrame], s: ComparisonSettings, period: Duration, *, real: bool,
         source: str, native: pd.Timedelta | None = None) -> WindowSet:
    cols = s.columns
    runs = {}
    for k, g in by_run.items():
        runs[k] = _resample(g, period, native if native is not None else infer_period(g.index))
    if s.normalise == "mean":
        runs = {k: _normalise_by_mean(g, cols) for k, g in runs.items()}
    w_list, st_list, u_list, dropped = [], [], [], 0
    for k, g in runs.items():
        try:  # every window, then those with few enough gaps: the rest are counted as dropped
            w, st = make_windows(g, cols, s.window.text, max_nan_frac=1.0, tz=s.tz, period=period.text)
        except ValueError as exc:
            raise CompareError(f"window {s.window.text!r}: {exc}") from None
        keep = np.isnan(w).mean(axis=(1, 2)) <= s.max_nan_frac
        w_list.append(w[keep])
        st_list.append(st[keep])
        u_list.append(np.full(int(keep.sum()), k, dtype=np.int64))
        dropped += int((~keep).sum())
    n_steps = int(round(s.window.seconds / period.seconds))
    windows = np.concatenate(w_list) if w_list else np.empty((0, n_steps, len(cols)))
    starts = st_list[0].append(st_list[1:]) if st_list else pd.DatetimeIndex([], tz="UTC")
    unit = np.concatenate(u_list) if u_list else np.empty(0, dtype=np.int64)
    return WindowSet(runs, windows, starts, unit, period.seconds, dropped, 0, source)
