"""Utility: does a model trained on synthetic data work on real data?

Train-on-synthetic-test-on-real (TSTR) against train-on-real-test-on-real (TRTR), with the
same model, the same features and the same real test period (the last ``test_frac`` of the
real trace, a time split):

- :func:`tstr_forecast`, **regression**: a day-ahead load forecaster. The target is the
  load at ``t`` (at the chosen ``period``, hourly by default); the features are the loads
  of the last day known ``horizon`` before, ``y[t - horizon - j]`` for ``j = 0 ..
  n_lags - 1`` (24 lags at 1 h), and the calendar of ``t`` (local hour of day, day of
  week). Model: :class:`~sklearn.ensemble.HistGradientBoostingRegressor` (fixed
  ``random_state``). Errors: MAE and RMSE in the real trace's units; the score is
  ``ratio = error_TRTR / error_TSTR`` (1 = the synthetic data is as useful as real data
  for this task, below 1 = less useful; above 1 is possible when the synthetic set is
  larger or cleaner). A seasonal-naive baseline (``y[t - horizon]``) is given for scale.
- :func:`tstr_classify`, **classification**, where labels exist on both sides (an event
  label, a derived class): the label at ``t`` from the last ``n_lags`` samples of the
  feature channels and the calendar of ``t``, with
  :class:`~sklearn.ensemble.HistGradientBoostingClassifier`; scores are balanced accuracy
  and macro F1, and ``ratio = score_TSTR / score_TRTR`` (1 = as useful).

>>> from twinforge.fidelity import load_uci_household
>>> real = load_uci_household()[["mains_power_w"]]
>>> res = tstr_forecast(real, synthetic_df)        # doctest: +SKIP
>>> res.ratio_mae                                   # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from twinforge.fidelity.prepared import CompareError, _real_frame, synthetic_frame
from twinforge.fidelity.loader import infer_period

__all__ = ["TSTRResult", "tstr_forecast", "tstr_classify", "lag_features"]


@dataclass(frozen=True)
class TSTRResult:
    """Scores of the same model trained on real and on synthetic data, tested on real data.

    Attributes
    ----------
    task : str
        ``"forecast"`` or ``"classify"``.
    trtr, tstr : dict of str to float
        Test scores of the model trained on real / synthetic data (forecast: ``mae``,
        ``rmse``; classify: ``balanced_accuracy``, ``f1_macro``).
    baseline : dict of str to float
        Forecast: the seasonal-naive ``y[t - horizon]``; classify: the majority class.
    ratio : float
        Forecast: ``mae_TRTR / mae_TSTR``; classify: ``balanced_accuracy_TSTR /
        balanced_accuracy_TRTR``. 1 = synthetic as useful as real; lower is worse.
    ratio_rmse : float
        Forecast only: ``rmse_TRTR / rmse_TSTR`` (NaN for classify).
    details : dict
        Period, horizon, lags, split, row counts, scale, seed.
    """

    task: str
    trtr: dict[str, float]
    tstr: dict[str, float]
    baseline: dict[str, float]
    ratio: float
    ratio_rmse: float
    details: dict[str, Any]

    @property
    def ratio_mae(self) -> float:
        return self.ratio

    def to_dict(self) -> dict[str, Any]:
        from twinforge.fidelity._io import json_safe

        return json_safe(asdict(self))

    def summary(self) -> str:
        d = self.details
        if self.task == "forecast":
            return (
                f"TSTR forecast of {d['target']} ({d['horizon']} ahead at {d['period']}, "
                f"{d['n_test']} real test samples from {d['test_start']}):\n"
                f"  train real:      MAE {self.trtr['mae']:.4g}, RMSE {self.trtr['rmse']:.4g}\n"
                f"  train synthetic: MAE {self.tstr['mae']:.4g}, RMSE {self.tstr['rmse']:.4g}\n"
                f"  seasonal naive:  MAE {self.baseline['mae']:.4g}, RMSE {self.baseline['rmse']:.4g}\n"
                f"  ratio TRTR/TSTR: MAE {self.ratio:.3f}, RMSE {self.ratio_rmse:.3f} (1 = as useful as real)"
            )
        return (
            f"TSTR classification of {d['label']} ({d['n_test']} real test samples):\n"
            f"  train real:      balanced accuracy {self.trtr['balanced_accuracy']:.3f}, "
            f"F1 {self.trtr['f1_macro']:.3f}\n"
            f"  train synthetic: balanced accuracy {self.tstr['balanced_accuracy']:.3f}, "
            f"F1 {self.tstr['f1_macro']:.3f}\n"
            f"  ratio TSTR/TRTR: {self.ratio:.3f} (1 = as useful as real)"
        )


def _regular(df: pd.DataFrame, period: pd.Timedelta) -> pd.DataFrame:
    """Mean over ``[t, t + period)`` on a regular grid (missing periods -> NaN rows)."""
    native = infer_period(df.index)
    if period < native:
        raise CompareError(f"period {period} is finer than the data's {native}")
    if period == native:
        grid = pd.date_range(df.index[0], df.index[-1], freq=period)
        return df.reindex(grid)
    return df.resample(period, label="left", closed="left").mean()


def lag_features(
    values: pd.DataFrame, lags: range | list[int], tz: str
) -> tuple[np.ndarray, list[str]]:
    """Lagged values of every column and the local calendar of each row.

    Parameters
    ----------
    values : DataFrame on a regular grid (UTC index)
    lags : sequence of int
        Lags in samples; lag ``k`` of row ``i`` is row ``i - k`` (NaN before the start).
    tz : str
        Zone of the calendar features.

    Returns
    -------
    X : ndarray of shape (n_rows, n_columns * len(lags) + 2)
        Lags (column-major), then local hour (fractional) and day of week.
    names : list of str
    """
    cols, names = [], []
    for c in values.columns:
        v = values[c].to_numpy(dtype="float64")
        for k in lags:
            shifted = np.full_like(v, np.nan)
            if k < len(v):
                shifted[k:] = v[: len(v) - k] if k > 0 else v
            cols.append(shifted)
            names.append(f"{c}:lag{k}")
    local = values.index.tz_convert(tz)
    cols.append((local.hour + local.minute / 60.0).to_numpy(dtype="float64"))
    cols.append(local.day_of_week.to_numpy(dtype="float64"))
    names += ["hour", "day_of_week"]
    return np.column_stack(cols), names


def _split_real(real: pd.DataFrame, test_frac: float) -> pd.Timestamp:
    if not 0.0 < test_frac < 1.0:
        raise CompareError(f"test_frac must be in (0, 1), got {test_frac}")
    t0, t1 = real.index[0], real.index[-1]
    return t0 + (t1 - t0) * (1.0 - test_frac)


def _synth_runs(synthetic: Any, channels: list[str], period: pd.Timedelta) -> list[pd.DataFrame]:
    df = synthetic_frame(synthetic, channels)
    runs = []
    for _, g in df.groupby("run_id", sort=True):
        g = g.drop(columns="run_id").sort_index()
        g = g[~g.index.duplicated()]
        if len(g) > 1:
            runs.append(_regular(g, period))
    if not runs:
        raise CompareError("synthetic data has no run with two samples or more")
    return runs


def _subsample(x: np.ndarray, y: np.ndarray, n_max: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    if len(y) <= n_max:
        return x, y
    keep = np.sort(np.random.default_rng(seed).choice(len(y), n_max, replace=False))
    return x[keep], y[keep]


#: Largest lag-feature matrix of the real side :func:`tstr_forecast` builds [GB].
MAX_FEATURE_GB = 4.0


def tstr_forecast(
    real: pd.DataFrame,
    synthetic: Any,
    *,
    channels: Mapping[str, str] | None = None,
    period: str = "1h",
    horizon: str = "1D",
    n_lags: int | None = None,
    test_frac: float = 0.3,
    tz: str = "Europe/Paris",
    scale: Literal["none", "mean"] = "none",
    seed: int = 0,
    max_iter: int = 200,
    max_train_rows: int = 200_000,
    n_threads: int = 1,
    train_real: pd.DataFrame | None = None,
) -> TSTRResult:
    """Day-ahead (or ``horizon``-ahead) forecasting: train on synthetic vs on real.

    Parameters
    ----------
    real : DataFrame
        UTC-indexed real trace.
    synthetic : DataFrame, TwinDataset, str or Path
        As in :func:`~twinforge.fidelity.comparison`; each run is a separate series.
    channels : mapping, optional
        One pair ``{real column: synthetic channel}``: the forecast target. Default: the
        first real column, same name.
    period : str
        Forecast resolution; both sides are averaged to it. A real side whose lag features
        would exceed :data:`MAX_FEATURE_GB` (a day of 1-min lags over months) is refused with
        :class:`CompareError` before anything is built.
    horizon : str
        Lead time: features end ``horizon`` before the target (``"1D"`` day-ahead,
        ``"1h"`` next hour at hourly resolution).
    n_lags : int, optional
        Number of lagged values; default one day of samples.
    test_frac : float
        The last share of the real trace (in time) is the test set; the rest trains TRTR.
    tz : str
        Zone of the calendar features.
    scale : {"none", "mean"}
        ``"mean"``: every training series is divided by its own mean and the real test
        period by the real *training* mean (known at forecast time); predictions are
        scaled back. Compares shapes when levels differ (a feeder against a region).
    seed : int
        ``random_state`` of the models and of the row subsampling.
    max_iter : int
        Boosting iterations.
    max_train_rows : int
        Training rows are subsampled (seeded) above this count.
    n_threads : int
        OpenMP threads of the boosting (1 by default: the models are small, and spinning
        OpenMP threads slow down badly on a shared, busy machine).
    train_real : DataFrame, optional
        Real training data of its own (an earlier period): TRTR trains on it and the whole
        of ``real`` is the test set (``test_frac`` is not used). This is the held-out
        protocol's split: train on the calibration period, test on the held-out one.

    Returns
    -------
    TSTRResult
    """
    from sklearn.ensemble import HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits

    if channels is None:
        if not isinstance(real, pd.DataFrame) or len(real.columns) == 0:
            raise CompareError("real must be a DataFrame with at least one column")
        first = str(real.columns[0])
        channels = {first: first}
    if len(channels) != 1:
        raise CompareError(f"tstr_forecast takes one channel pair, got {dict(channels)}")
    (rcol, scol), = channels.items()
    try:
        p, h = pd.Timedelta(period), pd.Timedelta(horizon)
    except ValueError as exc:
        raise CompareError(f"period/horizon must be durations such as '1h': {exc}") from None
    if h < p or (h / p) != int(h / p):
        raise CompareError(f"horizon {horizon!r} must be a whole number (>= 1) of periods {period!r}")
    h_steps = int(h / p)
    lags_n = int(pd.Timedelta("1D") / p) if n_lags is None else int(n_lags)
    if lags_n < 1:
        raise CompareError(f"n_lags must be >= 1, got {n_lags}")
    lags = range(h_steps, h_steps + lags_n)

    if scale not in ("none", "mean"):
        raise CompareError(f"scale must be 'none' or 'mean', got {scale!r}")
    r = _regular(_real_frame(real, [rcol]), p)
    if train_real is None:
        split = _split_real(r, test_frac).floor(p)
        r_train = r.loc[r.index < split]
    else:
        r_train = _regular(_real_frame(train_real, [rcol]), p)
        split = r.index[0]
    n_rows = len(r) + (0 if train_real is None else len(r_train))
    need_gb = n_rows * lags_n * 8 / 1e9  # the real side's lag matrix alone (float64)
    if need_gb > MAX_FEATURE_GB:
        raise CompareError(
            f"period {period!r}: {lags_n} lags x {n_rows:,} real samples need {need_gb:.1f} GB of lag "
            f"features (at most {MAX_FEATURE_GB:g} GB); use a coarser period (e.g. '1h') or fewer n_lags"
        )
    train_mean = float(np.nanmean(r_train[rcol]))
    norm = train_mean if scale == "mean" else 1.0
    if scale == "mean" and (not math.isfinite(norm) or norm == 0):
        raise CompareError("cannot scale by the real training mean (zero or undefined)")

    def xy(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        x, _ = lag_features(frame / norm, lags, tz)
        return x, frame[rcol].to_numpy() / norm

    if train_real is None:
        xr_, yr = xy(r)
        is_test = np.asarray(r.index >= split)
        ok = np.isfinite(yr)
        x_tr, y_tr = xr_[ok & ~is_test], yr[ok & ~is_test]
        x_te, y_te = xr_[ok & is_test], yr[ok & is_test]
    else:
        x_tr, y_tr = xy(r_train)
        x_te, y_te = xy(r)
        x_tr, y_tr = x_tr[np.isfinite(y_tr)], y_tr[np.isfinite(y_tr)]
        x_te, y_te = x_te[np.isfinite(y_te)], y_te[np.isfinite(y_te)]
    if len(y_tr) < 10 or len(y_te) < 10:
        raise CompareError(
            f"too little real data for the split: {len(y_tr)} train and {len(y_te)} test samples"
        )

    xs_list, ys_list = [], []
    for g in _synth_runs(synthetic, [scol], p):
        s = g[scol]
        m = float(np.nanmean(s)) if scale == "mean" else 1.0
        if scale == "mean" and (m == 0 or not math.isfinite(m)):
            continue
        xs, _ = lag_features((g / m).rename(columns={scol: rcol}), lags, tz)
        ys = s.to_numpy() / m
        good = np.isfinite(ys)
        xs_list.append(xs[good])
        ys_list.append(ys[good])
    if not ys_list or sum(len(y) for y in ys_list) < 10:
        raise CompareError("too little synthetic data to train on")
    x_s, y_s = np.vstack(xs_list), np.concatenate(ys_list)
    x_tr, y_tr = _subsample(x_tr, y_tr, max_train_rows, seed)
    x_s, y_s = _subsample(x_s, y_s, max_train_rows, seed)

    def fit_score(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
        model = HistGradientBoostingRegressor(max_iter=max_iter, random_state=seed)
        with threadpool_limits(limits=n_threads, user_api="openmp"):
            model.fit(x, y)
            pred = model.predict(x_te)
        err = (pred - y_te) * norm
        return {"mae": float(np.mean(np.abs(err))), "rmse": float(np.sqrt(np.mean(err**2)))}

    trtr, tstr = fit_score(x_tr, y_tr), fit_score(x_s, y_s)
    naive = x_te[:, 0]  # lag = horizon
    have = np.isfinite(naive)
    err_n = (naive[have] - y_te[have]) * norm
    baseline = {"mae": float(np.mean(np.abs(err_n))), "rmse": float(np.sqrt(np.mean(err_n**2)))}

    def ratio(a: float, b: float) -> float:
        return a / b if b > 0 else (1.0 if a == 0 else float("inf"))

    details = {
        "target": rcol if rcol == scol else f"{rcol} ~ {scol}",
        "period": period, "horizon": horizon, "n_lags": lags_n,
        "test_frac": test_frac if train_real is None else None,
        "real_training": "the first part of the real trace" if train_real is None else "a real period of its own",
        "test_start": split.isoformat(), "n_train_real": int(len(y_tr)),
        "n_train_synth": int(len(y_s)), "n_test": int(len(y_te)), "scale": scale,
        "seed": int(seed), "model": f"HistGradientBoostingRegressor(max_iter={max_iter})",
    }
    return TSTRResult("forecast", trtr, tstr, baseline, ratio(trtr["mae"], tstr["mae"]),
                      ratio(trtr["rmse"], tstr["rmse"]), details)


def tstr_classify(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    *,
    label: str | tuple[str, str],
    features: Mapping[str, str],
    period: str | None = None,
    n_lags: int = 12,
    test_frac: float = 0.3,
    tz: str = "Europe/Paris",
    seed: int = 0,
    max_iter: int = 200,
    max_train_rows: int = 200_000,
    n_threads: int = 1,
) -> TSTRResult:
    """Classification: predict a label at ``t`` from recent samples; synthetic vs real training.

    Parameters
    ----------
    real, synthetic : DataFrame
        Both with the label column and the feature channels (``time`` column or UTC
        DatetimeIndex; ``synthetic`` may have ``run_id``). Labels are compared as strings;
        a missing label (NaN) drops the row.
    label : str or (real column, synthetic column)
    features : mapping
        ``{real column: synthetic channel}`` used as inputs.
    period : str, optional
        Resolution (mean of the features, most frequent label per period); default the
        native one.
    n_lags : int
        Samples of each feature channel up to and including ``t``.
    test_frac, tz, seed, max_iter, max_train_rows, n_threads
        As in :func:`tstr_forecast`.

    Returns
    -------
    TSTRResult
        Scores: balanced accuracy and macro F1 on the real test period;
        ``ratio = balanced_accuracy_TSTR / balanced_accuracy_TRTR``.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import balanced_accuracy_score, f1_score
    from threadpoolctl import threadpool_limits

    rlab, slab = (label, label) if isinstance(label, str) else label
    feats = dict(features)
    if not feats:
        raise CompareError("features must name at least one channel")

    def prepare(df: pd.DataFrame, lab: str, cols: list[str], names: list[str]) -> list[pd.DataFrame]:
        if not isinstance(df, pd.DataFrame):
            raise CompareError("tstr_classify takes DataFrames")
        if "time" in df.columns:
            df = df.set_index("time")
        missing = [c for c in [lab, *cols] if c not in df.columns]
        if missing:
            raise CompareError(f"column {missing[0]!r} not found; columns are {list(df.columns)}")
        idx = pd.DatetimeIndex(df.index)
        idx = idx.tz_localize("UTC") if idx.tz is None else idx.tz_convert("UTC")
        runs = df["run_id"].to_numpy() if "run_id" in df.columns else np.zeros(len(df), int)
        out = []
        for rid in np.unique(runs):
            sel = runs == rid
            vals = pd.DataFrame(df.loc[sel, cols].to_numpy(dtype="float64"), index=idx[sel], columns=names)
            labs = pd.Series(df.loc[sel, lab].to_numpy(), index=idx[sel])
            labs = labs.where(labs.notna(), None).astype("object")
            frame = vals.assign(_label=labs.map(lambda v: None if v is None else str(v)))
            frame = frame[~frame.index.duplicated()].sort_index()
            if period is not None:
                p = pd.Timedelta(period)
                agg = frame[names].resample(p).mean()
                agg["_label"] = frame["_label"].resample(p).agg(
                    lambda s: s.mode().iloc[0] if s.notna().any() else None
                )
                frame = agg
            out.append(frame)
        return out

    names = list(feats)
    real_frames = prepare(real, rlab, list(feats), names)
    synth_frames = prepare(synthetic, slab, list(feats.values()), names)
    lags = range(0, n_lags)

    def xy(frames: list[pd.DataFrame]) -> tuple[np.ndarray, np.ndarray, pd.DatetimeIndex]:
        xs, ys, ts = [], [], []
        for f in frames:
            x, _ = lag_features(f[names], lags, tz)
            y = f["_label"].to_numpy(dtype=object)
            ok = np.array([v is not None for v in y])
            xs.append(x[ok])
            ys.append(y[ok].astype(str))
            ts.append(f.index[ok])
        t = ts[0].append(ts[1:]) if len(ts) > 1 else ts[0]
        return np.vstack(xs), np.concatenate(ys), t

    xr_, yr, tr = xy(real_frames)
    split = tr.min() + (tr.max() - tr.min()) * (1.0 - test_frac)
    test = np.asarray(tr >= split)
    x_tr, y_tr, x_te, y_te = xr_[~test], yr[~test], xr_[test], yr[test]
    x_s, y_s, _ = xy(synth_frames)
    if len(np.unique(y_tr)) < 2 or len(np.unique(y_s)) < 2 or len(np.unique(y_te)) < 2:
        raise CompareError("each of real-train, real-test and synthetic needs at least two classes")
    x_tr, y_tr = _subsample(x_tr, y_tr, max_train_rows, seed)
    x_s, y_s = _subsample(x_s, y_s, max_train_rows, seed)

    def fit_score(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
        model = HistGradientBoostingClassifier(max_iter=max_iter, random_state=seed,
                                               class_weight="balanced")
        with threadpool_limits(limits=n_threads, user_api="openmp"):
            model.fit(x, y)
            pred = model.predict(x_te)
        return {
            "balanced_accuracy": float(balanced_accuracy_score(y_te, pred)),
            "f1_macro": float(f1_score(y_te, pred, average="macro", zero_division=0)),
        }

    trtr, tstr = fit_score(x_tr, y_tr), fit_score(x_s, y_s)
    values, counts = np.unique(y_tr, return_counts=True)
    majority = np.full(len(y_te), values[np.argmax(counts)])
    baseline = {
        "balanced_accuracy": float(balanced_accuracy_score(y_te, majority)),
        "f1_macro": float(f1_score(y_te, majority, average="macro", zero_division=0)),
    }
    ratio = tstr["balanced_accuracy"] / trtr["balanced_accuracy"] if trtr["balanced_accuracy"] > 0 else float("nan")
    details = {
        "label": rlab if rlab == slab else f"{rlab} ~ {slab}", "features": feats,
        "period": period, "n_lags": n_lags, "test_frac": test_frac, "test_start": split.isoformat(),
        "n_train_real": int(len(y_tr)), "n_train_synth": int(len(y_s)), "n_test": int(len(y_te)),
        "classes": sorted(set(y_te) | set(y_tr)), "seed": int(seed),
        "model": f"HistGradientBoostingClassifier(max_iter={max_iter}, class_weight='balanced')",
    }
    return TSTRResult("classify", trtr, tstr, baseline, float(ratio), float("nan"), details)
