"""Compare a real trace with synthetic data: every fidelity metric, one report.

:func:`compare` puts a real trace (as :func:`~twinforge.fidelity.load_trace` gives it) and
synthetic data (a dataset folder, a :class:`~twinforge.export.reader.TwinDataset` or a
DataFrame) on a common sampling period, cuts both into windows (the synthetic data run by
run, so no window straddles two homes), and computes:

- per channel, on the pooled samples: Kolmogorov-Smirnov, normalised Wasserstein, tail
  quantiles; on the windows: autocorrelation and Welch-spectrum distances; on local time:
  daily (and, with a week of data or more, weekly) profile error;
- across channels (two or more): the correlation-matrix distance;
- on the window feature vectors (:func:`~twinforge.fidelity.window_features`): the
  discriminative score, nearest-neighbour indistinguishability and memorisation.

Each metric is stored with its value, range, direction, ideal value and a one-line meaning
(:data:`METRIC_INFO`), so the JSON and the HTML report read on their own.

>>> from twinforge.fidelity import load_uci_household
>>> real = load_uci_household()[["mains_power_w"]]
>>> rep = compare(real, real.assign(run_id=0), period="15min")      # doctest: +SKIP
>>> rep.value("channels.mains_power_w.ks")                          # doctest: +SKIP
0.0
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from twinforge.core.calendar import validate_tz
from twinforge.fidelity.loader import infer_period, parse_duration
from twinforge.fidelity.metrics import (
    acf_distance,
    correlation_matrix_distance,
    discriminative_score,
    ks_statistic,
    memorisation,
    nn_indistinguishability,
    permutation_null,
    profile_error,
    psd_log_distance,
    tail_quantiles,
    wasserstein_normalised,
)
from twinforge.fidelity.windows import feature_names, make_windows, min_window_steps, window_features

__all__ = ["FidelityReport", "METRIC_INFO", "compare", "synthetic_frame", "CompareError"]

Direction = Literal["lower is better", "higher is better", "closer to ideal is better"]


class CompareError(ValueError):
    """The inputs of :func:`compare` do not fit together; the message says which and why."""


@dataclass(frozen=True)
class MetricInfo:
    """What a metric's number means."""

    range: str
    direction: Direction
    ideal: float
    meaning: str


#: Range, direction, ideal value and meaning of every metric :func:`compare` reports.
METRIC_INFO: dict[str, MetricInfo] = {
    "ks": MetricInfo(
        "[0, 1]", "lower is better", 0.0,
        "largest gap between the real and synthetic value distributions (CDFs)",
    ),
    "wasserstein": MetricInfo(
        "[0, inf)", "lower is better", 0.0,
        "average displacement of the values, in real interquartile ranges",
    ),
    "acf_distance": MetricInfo(
        "[0, 2]", "lower is better", 0.0,
        "RMS gap between the mean within-window autocorrelations (lags 1..max_lag)",
    ),
    "psd_log_distance": MetricInfo(
        "[0, inf)", "lower is better", 0.0,
        "RMS gap between log10 Welch spectra (1 = a factor 10 in power)",
    ),
    "profile_error_hour": MetricInfo(
        "[0, inf)", "lower is better", 0.0,
        "CV(RMSE) of the mean daily profile by local hour, relative to the real level",
    ),
    "profile_error_hour_week": MetricInfo(
        "[0, inf)", "lower is better", 0.0,
        "CV(RMSE) of the mean weekly profile by local hour of week",
    ),
    "tail_q01": MetricInfo(
        "[0, inf)", "lower is better", 0.0,
        "|relative error| of the 1 % quantile (low tail: base load)",
    ),
    "tail_q99": MetricInfo(
        "[0, inf)", "lower is better", 0.0,
        "|relative error| of the 99 % quantile (high tail: peaks)",
    ),
    "tail_q999": MetricInfo(
        "[0, inf)", "lower is better", 0.0,
        "|relative error| of the 99.9 % quantile (extreme peaks; needs thousands of samples)",
    ),
    "correlation_matrix_distance": MetricInfo(
        "[0, 4/sqrt(k(k-1))]", "lower is better", 0.0,
        "Frobenius gap between cross-channel correlation matrices, per channel pair",
    ),
    "discriminative_score": MetricInfo(
        "[0, 0.5]", "lower is better", 0.0,
        "cross-validated balanced accuracy - 0.5 of a forest telling real from synthetic windows",
    ),
    "nn_indistinguishability": MetricInfo(
        "[0, (n_r+n_s-1)/n_r]", "higher is better", 1.0,
        "share of synthetic windows whose nearest neighbour is real / share expected; 1 = mixed",
    ),
    "memorisation_median_ratio": MetricInfo(
        "[0, inf)", "closer to ideal is better", 1.0,
        "median synthetic-to-real / real-to-real neighbour distance; << 1 = copies, >> 1 = far",
    ),
    "memorisation_copy_share": MetricInfo(
        "[0, 1]", "lower is better", 0.01,
        "share of synthetic windows closer to a real one than 99 % of real pairs (about 0.01 is fresh)",
    ),
}

_TAILS = {"tail_q01": 0.01, "tail_q99": 0.99, "tail_q999": 0.999}


def _entry(name: str, value: float | None, **extra: Any) -> dict[str, Any]:
    info = METRIC_INFO[name]
    v = None if value is None else float(value)
    return {
        "value": v, "range": info.range, "direction": info.direction, "ideal": info.ideal,
        "meaning": info.meaning, **extra,
    }


def _add_null(win: dict[str, Any], null: Mapping[str, np.ndarray]) -> None:
    """Put a permutation null's reference values and p-values into the window entries."""
    k = len(null["discriminative"])
    d = win["discriminative_score"]
    if d["value"] is not None:
        nd = null["discriminative"]
        d.update(n_permutations=k, null_median=float(np.median(nd)),
                 null_q95=float(np.quantile(nd, 0.95)),
                 p_value=float((1 + np.sum(nd >= d["value"] - 1e-12)) / (1 + k)))
    n = win.get("nn_indistinguishability")
    if n is not None and n["value"] is not None:
        nn = null["nn"]
        n.update(n_permutations=k, null_q05=float(np.quantile(nn, 0.05)),
                 p_value=float((1 + np.sum(nn <= n["value"] + 1e-12)) / (1 + k)))


def _nn_se_runs(rf: np.ndarray, sf: np.ndarray, runs: np.ndarray, max_groups: int = 10) -> float | None:
    """Delete-a-group jackknife standard error of NN indistinguishability over synthetic runs.

    The score depends on which synthetic units (homes, machines) were drawn: with a few
    dozen real windows, another set of six homes moves it by about 0.2. The synthetic runs
    are dealt into ``g = min(n_runs, max_groups)`` groups (run ``k`` to group ``k mod g``,
    runs in sorted order); the score is recomputed without each group and
    ``se = sqrt((g - 1) / g * sum((theta_i - mean)^2))``. None with fewer than 3 runs.
    It measures the synthetic side's share of the noise, not the real side's.
    """
    ids = np.unique(runs)
    g = min(len(ids), max_groups)
    if g < 3 or len(runs) != len(sf):
        return None
    group_of = {int(r): k % g for k, r in enumerate(ids)}
    grp = np.array([group_of[int(r)] for r in runs])
    vals = []
    for k in range(g):
        keep = grp != k
        if keep.sum() < 1 or len(rf) + keep.sum() < 3:
            return None
        vals.append(nn_indistinguishability(rf, sf[keep]))
    v = np.asarray(vals)
    return float(math.sqrt((g - 1) / g * np.sum((v - v.mean()) ** 2)))


def _finite_or_none(obj: Any) -> Any:
    """JSON-safe copy: non-finite floats become None, numpy scalars plain Python."""
    if isinstance(obj, Mapping):
        return {str(k): _finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite_or_none(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    return obj


@dataclass
class FidelityReport:
    """The outcome of :func:`compare`.

    Attributes
    ----------
    metrics : dict
        ``{"channels": {channel: {metric: entry}}, "cross_channel": {...}, "windows":
        {...}}``; every entry is ``{"value", "range", "direction", "ideal", "meaning"}``
        (plus details such as the quantile values). A metric that cannot be computed (too
        few windows) has ``value`` None and a ``note``.
    info : dict
        What was compared: channel mapping, period, window, zone, counts, seed, chance level.
    real, synthetic : DataFrame
        The compared data on the common period, columns named after the real channels;
        ``synthetic`` has a ``run_id`` column.
    real_windows, synth_windows : ndarray of shape (n_windows, n_steps, n_channels)
    real_starts, synth_starts : DatetimeIndex
    synth_window_runs : ndarray of shape (n_synth_windows,)
        Run id of each synthetic window.
    real_features, synth_features : ndarray of shape (n_windows, n_features)
    feature_names : list of str
    """

    metrics: dict[str, Any]
    info: dict[str, Any]
    real: pd.DataFrame = field(repr=False)
    synthetic: pd.DataFrame = field(repr=False)
    real_windows: np.ndarray = field(repr=False)
    synth_windows: np.ndarray = field(repr=False)
    real_starts: pd.DatetimeIndex = field(repr=False)
    synth_starts: pd.DatetimeIndex = field(repr=False)
    synth_window_runs: np.ndarray = field(repr=False)
    real_features: np.ndarray = field(repr=False)
    synth_features: np.ndarray = field(repr=False)
    feature_names: list[str] = field(repr=False)

    # -- reading -----------------------------------------------------------------------
    @property
    def channels(self) -> list[str]:
        """The compared channels (real column names)."""
        return list(self.info["channels"])

    @property
    def period_s(self) -> float:
        return float(self.info["period_s"])

    def value(self, key: str) -> float | None:
        """A metric's value by dotted path, e.g. ``"windows.discriminative_score"`` or
        ``"channels.mains_power_w.ks"``."""
        node: Any = self.metrics
        for part in self._split(key):
            if not isinstance(node, Mapping) or part not in node:
                raise KeyError(f"no metric {key!r} in this report")
            node = node[part]
        if not isinstance(node, Mapping) or "value" not in node:
            raise KeyError(f"{key!r} is a group, not a metric")
        return node["value"]

    def _split(self, key: str) -> list[str]:
        # channel names contain no dots, but be robust to them
        head, _, rest = key.partition(".")
        if head == "channels":
            for ch in self.metrics.get("channels", {}):
                if rest.startswith(ch + "."):
                    return [head, ch, rest[len(ch) + 1:]]
        return key.split(".")

    def table(self) -> pd.DataFrame:
        """One row per metric: group, channel, metric, value, ideal, range, direction, meaning."""
        rows = []
        for ch, ms in self.metrics.get("channels", {}).items():
            for name, e in ms.items():
                rows.append({"group": "channel", "channel": ch, "metric": name, **_row(e)})
        for group in ("cross_channel", "windows"):
            for name, e in self.metrics.get(group, {}).items():
                rows.append({"group": group, "channel": "", "metric": name, **_row(e)})
        return pd.DataFrame(rows)

    def summary(self) -> str:
        """A few headline lines: counts, the window-level scores, the per-channel distances."""
        i = self.info
        w = self.metrics["windows"]

        def fmt(e: Mapping[str, Any]) -> str:
            v = e.get("value")
            return "n/a" if v is None or not math.isfinite(v) else f"{v:.3g}"  # as metrics.json's null

        def se(e: Mapping[str, Any]) -> str:
            v = e.get("se_runs")
            return "" if v is None else f" +- {v:.2g} (jackknife over the synthetic runs)"

        disc, nn = w["discriminative_score"], w["nn_indistinguishability"]
        if "p_value" in disc:
            disc_ref = (f"permutation null of these counts: median {disc['null_median']:.3f}, "
                        f"95 % {disc['null_q95']:.3f}; p = {disc['p_value']:.3g}, "
                        f"{disc['n_permutations']} permutations")
        else:
            disc_ref = f"chance level about {i['chance_discriminative']:.2f}"
        nn_ref = (f"; permutation null 5 % {nn['null_q05']:.3f}, p = {nn['p_value']:.3g}"
                  if "p_value" in nn else "")
        start = f"local time {i['tz']}" if i["tz"] is not None else "from each unit's first sample"
        n_drop = i.get("n_real_windows_dropped", 0)
        dropped = f" ({n_drop} more dropped: over {i['max_nan_frac']:.0%} missing)" if n_drop else ""
        lines = [
            f"fidelity: {i['n_real_windows']} real{dropped} vs {i['n_synth_windows']} synthetic windows "
            f"({i['n_runs']} run(s)) of {i['window']} at {i['period']}, {start}",
            f"  discriminative score {fmt(disc)} (0 best, 0.5 separable; {disc_ref})",
            f"  NN indistinguishability {fmt(nn)}{se(nn)} (1 = fully mixed, 0 = separate{nn_ref})",
            f"  memorisation: median distance ratio {fmt(w['memorisation_median_ratio'])} (about 1), "
            f"copy share {fmt(w['memorisation_copy_share'])} (about 0.01)",
        ]
        for ch, ms in self.metrics["channels"].items():
            synth = i["channels"][ch]
            name = ch if synth == ch else f"{ch} ~ {synth}"
            lines.append(
                f"  {name}: KS {fmt(ms['ks'])}, W1/IQR {fmt(ms['wasserstein'])}, "
                f"ACF {fmt(ms['acf_distance'])}, PSD {fmt(ms['psd_log_distance'])}, "
                f"profile {fmt(ms['profile_error_hour'])}, q99 {fmt(ms['tail_q99'])}"
            )
        return "\n".join(lines)

    # -- writing -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """``{"info": ..., "metrics": ...}`` with non-finite values as None (JSON null)."""
        return _finite_or_none({"info": self.info, "metrics": self.metrics})

    def to_json(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as JSON (atomically: a temporary file, then a rename)."""
        path = Path(path)
        text = json.dumps(self.to_dict(), indent=2, allow_nan=False)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text + "\n")
            from twinforge.fidelity.report import _chmod_default

            _chmod_default(Path(tmp))
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def to_html(self, path_dir: str | Path, *, title: str | None = None) -> Path:
        """Write ``report.html`` and its PNG figures into ``path_dir``; see :mod:`.report`."""
        from twinforge.fidelity.report import write_report

        return write_report(self, path_dir, title=title)


def _row(e: Mapping[str, Any]) -> dict[str, Any]:
    return {k: e.get(k) for k in ("value", "ideal", "range", "direction", "meaning")} | {
        "note": e.get("note", "")
    }


# ---------------------------------------------------------------------------------------
# inputs


def synthetic_frame(
    synthetic: Any, columns: list[str], *, twin: str | None = None
) -> pd.DataFrame:
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
    twin in (None for a DataFrame, or a twin without local time).

    Raises
    ------
    CompareError
        Unknown channel, unreadable dataset, no time information.
    """
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
    elif isinstance(synthetic, pd.DataFrame):
        df, sim_tz = synthetic, None
        if "time" in df.columns:
            df = df.set_index("time")
        if not isinstance(df.index, pd.DatetimeIndex):
            raise CompareError("synthetic DataFrame needs a 'time' column or a DatetimeIndex")
        missing = [c for c in columns if c not in df.columns]
        if missing:
            cols = [c for c in df.columns if c != "run_id"]
            raise CompareError(
                f"synthetic channel {missing[0]!r} not in the synthetic data; its channels are {cols}"
            )
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
    return out


def _real_frame(real: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """One real trace: UTC-indexed, sorted, without duplicated times, ``columns`` as float."""
    if not isinstance(real, pd.DataFrame):
        raise CompareError(f"real must be a DataFrame (as load_trace returns), got {type(real).__name__}")
    df = real
    if "time" in df.columns:
        df = df.set_index("time")
    if not isinstance(df.index, pd.DatetimeIndex):
        raise CompareError("real trace needs a DatetimeIndex (load it with twinforge.fidelity.load_trace)")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise CompareError(
            f"real column {missing[0]!r} not in the real trace; its columns are {list(df.columns)}"
        )
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


def _stack_runs(runs: Mapping[int, pd.DataFrame], cols: list[str]) -> pd.DataFrame:
    """Runs as one frame; a ``run_id`` column only when there are several."""
    if len(runs) == 1:
        return next(iter(runs.values()))
    return pd.concat([g.assign(run_id=rid) for rid, g in runs.items()])[["run_id", *cols]]


def _resample(df: pd.DataFrame, period: pd.Timedelta, native: pd.Timedelta) -> pd.DataFrame:
    """Mean over ``[t, t + period)``; a no-op when the trace is already at ``period``."""
    if period == native:
        return df
    if period < native:
        raise CompareError(
            f"cannot compare at {_period_text(period)}: a trace is sampled every {_period_text(native)} "
            f"(choose a period >= {_period_text(native)})"
        )
    return df.resample(period, label="left", closed="left").mean()


def positive_duration(name: str, text: Any) -> pd.Timedelta:
    """``text`` as a positive Timedelta, or CompareError naming ``name`` and the form allowed."""
    td = parse_duration(text)
    if td is None:
        raise CompareError(f"{name} must be a duration such as '15min', '1h' or '1D', got {text!r}")
    if td <= pd.Timedelta(0):
        raise CompareError(f"{name} must be positive, got {text!r}")
    return td


def check_window(window: str, period: pd.Timedelta) -> int:
    """Samples per window of ``window`` at ``period``; CompareError naming both if they do not fit."""
    n = positive_duration("window", window) / period
    if n != int(n):
        raise CompareError(f"window {window!r} is not a whole number of {_period_text(period)} periods; "
                           "choose a period that divides the window")
    if int(n) < min_window_steps():
        raise CompareError(f"window {window!r} holds {int(n)} samples at {_period_text(period)}; the window "
                           f"features need at least {min_window_steps()}: a longer window or a finer period")
    return int(n)


def _period_text(td: pd.Timedelta) -> str:
    s = td.total_seconds()
    for unit, n in (("D", 86_400), ("h", 3600), ("min", 60), ("s", 1)):
        if s >= n and s % n == 0:
            return f"{int(s // n)}{unit}"
    return f"{s:g}s"


def _normalise_by_mean(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    out = df.copy()
    for c in cols:
        m = float(np.nanmean(out[c].to_numpy()))
        if m == 0 or not math.isfinite(m):
            raise CompareError(f"cannot normalise {c!r} by its mean ({m})")
        out[c] = out[c] / m
    return out


# ---------------------------------------------------------------------------------------
# compare


def _synthetic_channels(synthetic: Any, twin: str | None) -> set[str] | None:
    """The channel names a synthetic input offers, or None if it cannot tell cheaply."""
    if isinstance(synthetic, pd.DataFrame):
        return {str(c) for c in synthetic.columns}
    try:
        from twinforge.export import open_dataset

        ds = synthetic if hasattr(synthetic, "columns") and not isinstance(synthetic, (str, Path)) else open_dataset(synthetic)
        return set(ds.columns(twin))
    except Exception:  # noqa: BLE001 - let synthetic_frame report the real problem
        return None


def compare(
    real: pd.DataFrame,
    synthetic: Any,
    *,
    channels: Mapping[str, str] | None = None,
    window: str = "1D",
    tz: str | None = "Europe/Paris",
    period: str | None = None,
    seed: int = 0,
    max_lag: int | None = None,
    max_nan_frac: float = 0.05,
    normalise: Literal["none", "mean"] = "none",
    twin: str | None = None,
    null_permutations: int = 0,
) -> FidelityReport:
    """Compare a real trace with synthetic data on every fidelity metric.

    Parameters
    ----------
    real : DataFrame
        UTC-indexed trace with channels as columns, as :func:`~twinforge.fidelity.load_trace`
        returns. A ``run_id`` column marks several real units (e.g. bearings run to
        failure): each is windowed on its own, and normalised on its own with
        ``normalise="mean"``.
    synthetic : DataFrame, TwinDataset, str or Path
        Synthetic samples: a dataset folder, an opened dataset or a DataFrame (``time``
        column or DatetimeIndex; ``run_id`` column if several runs). Windows are cut run by
        run.
    channels : mapping, optional
        ``{real column: synthetic channel}``; default: every real column, same name.
    window : str
        Window length (``"1D"``: days starting at local midnight in ``tz``).
    tz : str or None
        Local zone for windows and profiles; ``None``: windows start at each real unit's and
        synthetic run's first sample (machines run to failure, no day structure) and the
        profile metrics are n/a (with a note).
    period : str, optional
        Common sampling period; both sides are averaged to it. Default: the coarser of the
        two native periods (the finer side is averaged).
    seed : int
        Seeds the discriminative classifier and its folds.
    max_lag : int, optional
        Largest autocorrelation lag in samples; default a quarter of the window.
    max_nan_frac : float
        Windows with more missing values than this share are dropped.
    normalise : {"none", "mean"}
        ``"mean"`` divides the real trace and each synthetic run by its own mean per channel
        before anything else: compares shapes, not levels (a feeder against a region).
    twin : str, optional
        Twin to read from a multi-twin dataset.
    null_permutations : int
        With ``K > 0``, a permutation test of the window scores
        (:func:`~twinforge.fidelity.metrics.permutation_null`, ``K`` relabellings of the
        pooled windows, seeded by ``seed``): the discriminative score's entry gains its null
        median, 95 % quantile and one-sided p-value, NN indistinguishability's its null 5 %
        quantile and p-value. Each relabelling costs one cross-validated forest. 0 (default):
        no test, the rule of thumb ``chance_discriminative`` only.

    Returns
    -------
    FidelityReport

    Raises
    ------
    CompareError
        Unknown column or channel, incompatible periods, no complete window on a side.
    """
    if normalise not in ("none", "mean"):
        raise CompareError(f"normalise must be 'none' or 'mean', got {normalise!r}")
    if tz is not None:
        try:
            validate_tz(tz)
        except ValueError as exc:
            raise CompareError(f"{exc}, or None (windows from each unit's first sample)") from None
    if isinstance(null_permutations, bool) or not isinstance(null_permutations, (int, np.integer)) \
            or not 0 <= null_permutations <= 10_000:
        raise CompareError(f"null_permutations must be an integer in [0, 10000], got {null_permutations!r}")
    if channels is None:
        if not isinstance(real, pd.DataFrame):
            raise CompareError("real must be a DataFrame (as load_trace returns)")
        channels = {str(c): str(c) for c in real.columns if c not in ("time", "run_id")}
        # Without a map, compare the channels both sides have (a UCI file also carries
        # voltage, reactive power and sub-meters a twin may not simulate).
        available = _synthetic_channels(synthetic, twin)
        if available is not None:
            shared = {c: c for c in channels if c in available}
            if not shared:
                raise CompareError(
                    f"no real column matches a synthetic channel; real: {sorted(channels)}, "
                    f"synthetic: {sorted(available)}; give --map real_column=channel"
                )
            channels = shared
    channels = dict(channels)
    if not channels:
        raise CompareError("no channel to compare")
    cols = list(channels)
    real_by_run = real_runs(real, cols)
    synth_raw = synthetic_frame(synthetic, list(dict.fromkeys(channels.values())), twin=twin)
    sim_tz = synth_raw.attrs.get("tz")
    if tz is not None and sim_tz is not None and sim_tz != tz:
        raise CompareError(
            f"tz {tz!r}: the synthetic data were simulated in local time {sim_tz!r} (their scenario's "
            f"tz), and windows and daily profiles need one local time: compare with tz {sim_tz!r}, "
            f"or simulate in {tz!r}"
        )
    synth = pd.DataFrame(
        {"run_id": synth_raw["run_id"], **{c: synth_raw[channels[c]] for c in cols}},
        index=synth_raw.index,
    )

    # common period
    p_real = min(infer_period(g.index) for g in real_by_run.values())
    periods = [infer_period(g.index.unique()) for _, g in synth.groupby("run_id") if g.index.nunique() > 1]
    if not periods:
        raise CompareError("synthetic data has no run with two samples or more")
    p_synth = min(periods)
    target = positive_duration("period", period) if period is not None else max(p_real, p_synth)
    check_window(window, target)
    real_by_run = {k: _resample(g, target, infer_period(g.index)) for k, g in real_by_run.items()}
    runs = {}
    for rid, g in synth.groupby("run_id", sort=True):
        g = g.drop(columns="run_id").sort_index()
        g = g[~g.index.duplicated()]
        runs[int(rid)] = _resample(g, target, p_synth)
    if normalise == "mean":
        real_by_run = {k: _normalise_by_mean(v, cols) for k, v in real_by_run.items()}
        runs = {k: _normalise_by_mean(v, cols) for k, v in runs.items()}
    real_df = _stack_runs(real_by_run, cols)
    period_s = target.total_seconds()

    # windows
    r_list, r_starts, n_real_dropped = [], [], 0
    for g in real_by_run.values():
        try:  # every window, then those with few enough gaps: the rest are counted as dropped
            w, st = make_windows(g, cols, window, max_nan_frac=1.0, tz=tz, period=target)
        except ValueError as exc:
            raise CompareError(f"window {window!r}: {exc}") from None
        keep = np.isnan(w).mean(axis=(1, 2)) <= max_nan_frac
        r_list.append(w[keep])
        r_starts.append(st[keep])
        n_real_dropped += int((~keep).sum())
    rw = np.concatenate(r_list)
    rs = r_starts[0].append(r_starts[1:])
    s_list, s_starts, s_runs = [], [], []
    for rid, g in runs.items():
        if len(g) < 2:
            continue
        w, st = make_windows(g, cols, window, max_nan_frac=max_nan_frac, tz=tz, period=target)
        s_list.append(w)
        s_starts.append(st)
        s_runs.append(np.full(len(w), rid, dtype=np.int64))
    sw = np.concatenate(s_list) if s_list else np.empty((0,) + rw.shape[1:])
    ss = s_starts[0].append(s_starts[1:]) if s_starts else pd.DatetimeIndex([], tz="UTC")
    sr = np.concatenate(s_runs) if s_runs else np.empty(0, dtype=np.int64)
    if len(rw) == 0:
        raise CompareError(
            f"the real trace holds no complete {window} window (at most {max_nan_frac:.0%} missing) "
            f"starting at local midnight in {tz}"
        )
    if len(sw) == 0:
        raise CompareError(
            f"the synthetic data holds no complete {window} window starting at local midnight in {tz}"
        )
    n_steps = rw.shape[1]
    lag = max(1, n_steps // 4) if max_lag is None else int(max_lag)
    if not 1 <= lag < n_steps:
        raise CompareError(f"max_lag must be in [1, {n_steps - 1}] for {window} windows, got {lag}")

    synth_all = pd.concat(
        [g.assign(run_id=rid) for rid, g in runs.items()]
    )[["run_id", *cols]]

    # per-channel metrics
    per_channel: dict[str, Any] = {}
    fs = 1.0 / period_s
    for k, c in enumerate(cols):
        r_vals, s_vals = real_df[c].to_numpy(), synth_all[c].to_numpy()
        m: dict[str, Any] = {
            "ks": _entry("ks", ks_statistic(r_vals, s_vals)),
            "wasserstein": _entry("wasserstein", wasserstein_normalised(r_vals, s_vals)),
        }
        try:
            m["acf_distance"] = _entry(
                "acf_distance", acf_distance(rw[..., k], sw[..., k], lag), max_lag=lag
            )
        except ValueError as exc:
            m["acf_distance"] = _entry("acf_distance", None, note=str(exc))
        m["psd_log_distance"] = _entry(
            "psd_log_distance", psd_log_distance(rw[..., k], sw[..., k], fs, nperseg=min(256, n_steps)),
        )
        week = pd.Timedelta("7D")
        span_r = max(g.index[-1] - g.index[0] for g in real_by_run.values())
        span_s = max(g.index[-1] - g.index[0] for g in runs.values())
        for name, by, needs_week in (("profile_error_hour", "hour", False),
                                     ("profile_error_hour_week", "hour_week", True)):
            if tz is None:
                m[name] = _entry(name, None, note="no local time (tz=None): no daily or weekly profile")
            elif needs_week and not (span_r >= week and span_s >= week):
                m[name] = _entry(name, None, note="needs a week of data on both sides")
            else:
                try:
                    m[name] = _entry(name, profile_error(real_df[c], synth_all[c], by=by, tz=tz))
                except ValueError as exc:  # e.g. no local hour in common
                    m[name] = _entry(name, None, note=str(exc))
        tails = tail_quantiles(r_vals, s_vals, q=tuple(_TAILS.values()))
        for name, q in _TAILS.items():
            t = tails[q]
            m[name] = _entry(name, abs(t["rel_error"]), real=t["real"], synth=t["synth"],
                             signed_error=t["rel_error"])
        per_channel[c] = m

    cross: dict[str, Any] = {}
    if len(cols) >= 2:
        try:
            cross["correlation_matrix_distance"] = _entry(
                "correlation_matrix_distance",
                correlation_matrix_distance(real_df[cols], synth_all[cols]), k=len(cols),
            )
        except ValueError as exc:
            cross["correlation_matrix_distance"] = _entry("correlation_matrix_distance", None, note=str(exc))

    # window-level metrics
    rf = window_features(rw, period_s)
    sf = window_features(sw, period_s)
    win: dict[str, Any] = {}
    n_min = min(len(rf), len(sf))
    if n_min >= 5:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            win["discriminative_score"] = _entry(
                "discriminative_score", discriminative_score(rf, sf, seed=seed)
            )
    else:
        win["discriminative_score"] = _entry(
            "discriminative_score", None, note="needs at least 5 windows on each side"
        )
    if n_min >= 5:  # with fewer a share of neighbours is mostly chance (2 synthetic windows: 0, 0.5 or 1)
        win["nn_indistinguishability"] = _entry(
            "nn_indistinguishability", nn_indistinguishability(rf, sf), se_runs=_nn_se_runs(rf, sf, sr)
        )
    else:
        win["nn_indistinguishability"] = _entry(
            "nn_indistinguishability", None, note="needs at least 5 windows on each side"
        )
    n_null = int(null_permutations) if n_min >= 5 else 0  # no score, no test of it
    if n_null:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            null = permutation_null(rf, sf, n_null, seed=seed)
        _add_null(win, null)
    if len(rf) >= 2:
        mem = memorisation(rf, sf)
        win["memorisation_median_ratio"] = _entry("memorisation_median_ratio", mem["median_ratio"])
        win["memorisation_copy_share"] = _entry(
            "memorisation_copy_share", mem["copy_share"], threshold=mem["threshold"]
        )
    else:
        for name in ("memorisation_median_ratio", "memorisation_copy_share"):
            win[name] = _entry(name, None, note="needs 2 real windows")

    info = {
        "channels": {c: channels[c] for c in cols},
        "window": window,
        "tz": tz,
        "period": _period_text(target),
        "period_s": period_s,
        "normalise": normalise,
        "seed": int(seed),
        "n_real_windows": int(len(rw)),
        "n_real_windows_dropped": int(n_real_dropped),
        "n_synth_windows": int(len(sw)),
        "n_runs": int(len(runs)),
        "n_real_samples": int(real_df[cols].notna().any(axis=1).sum()),
        "n_synth_samples": int(len(synth_all)),
        "n_real_runs": int(len(real_by_run)),
        "real_start": min(g.index[0] for g in real_by_run.values()).isoformat(),
        "real_end": max(g.index[-1] for g in real_by_run.values()).isoformat(),
        "chance_discriminative": 0.5 / math.sqrt(max(n_min, 1)),
        "null_permutations": n_null,
        "max_nan_frac": max_nan_frac,
    }
    metrics = {"channels": per_channel, "cross_channel": cross, "windows": win}
    return FidelityReport(
        metrics=metrics, info=info, real=real_df, synthetic=synth_all,
        real_windows=rw, synth_windows=sw, real_starts=rs, synth_starts=ss, synth_window_runs=sr,
        real_features=rf, synth_features=sf, feature_names=feature_names(cols),
    )
