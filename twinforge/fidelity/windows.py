"""Cut traces into windows and summarise each window by a fixed feature vector.

Window-level metrics (the real-vs-synthetic classifier, nearest-neighbour
indistinguishability, memorisation) compare *sets of windows*: days of a household, weeks of
a feeder, snapshots of a bearing. :func:`make_windows` cuts a real or synthetic trace the same
way, and :func:`window_features` turns every window into the same vector of summary numbers.

>>> import numpy as np, pandas as pd
>>> t = pd.date_range("2024-01-01", periods=3 * 1440, freq="1min", tz="UTC", name="time")
>>> df = pd.DataFrame({"power_w": np.arange(t.size, dtype=float)}, index=t)
>>> w, starts = make_windows(df, ["power_w"], length="1D")
>>> w.shape
(3, 1440, 1)
>>> window_features(w, period_s=60.0).shape
(3, 18)
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from twinforge.fidelity.loader import infer_period

__all__ = ["make_windows", "window_features", "feature_names", "min_window_steps", "N_BASE_FEATURES"]

#: Features per channel before the profile bins and spectral bands:
#: mean, std, q05, q25, q50, q75, q95, lag-1 autocorrelation.
N_BASE_FEATURES = 8
_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def make_windows(
    df: pd.DataFrame,
    channels: str | Sequence[str],
    length: str = "1D",
    step: str | None = None,
    max_nan_frac: float = 0.0,
    *,
    tz: str | None = None,
    period: str | None = None,
) -> tuple[np.ndarray, pd.DatetimeIndex]:
    """Cut a time-indexed trace into fixed-length windows.

    The trace is first put on its regular grid (``period``, inferred as the most common
    step if not given), so missing rows become NaN and count against ``max_nan_frac``.

    Parameters
    ----------
    df : DataFrame
        Indexed by a DatetimeIndex (tz-aware, or naive = UTC), e.g. from
        :func:`~twinforge.fidelity.load_trace` or a synthetic ``samples`` table.
    channels : str or sequence of str
        Columns to cut, in this order (the last axis of the result).
    length : str
        Window length (``"1D"``, ``"7D"``, ``"6h"``); must be a whole number of periods.
    step : str, optional
        Distance between window starts; default ``length`` (no overlap).
    max_nan_frac : float
        Windows whose share of NaN values (over all steps and channels) exceeds this are
        dropped. ``0`` keeps complete windows only.
    tz : str, optional
        If given, the first window starts at the first local midnight in this zone at or
        after the data start, and a ``step`` of whole days advances by calendar days, so every
        window starts at local midnight even across daylight-saving changes (each window still
        holds ``length / period`` samples: on a 23 h or 25 h day it ends an hour after or
        before the next midnight). Without ``tz`` windows start at the first timestamp.
    period : str, optional
        Sampling period of the grid; inferred when not given.

    Returns
    -------
    windows : ndarray of shape (n_windows, n_steps, n_channels)
        float64 values; time is axis 1.
    starts : DatetimeIndex of length n_windows
        UTC start of each window (named ``window_start``).
    """
    if isinstance(channels, str):
        channels = [channels]
    channels = list(channels)
    missing = [c for c in channels if c not in df.columns]
    if missing:
        raise KeyError(
            f"channel {missing[0]!r} not in the trace; its columns are {list(df.columns)}"
        )
    if not isinstance(df.index, pd.DatetimeIndex):
        raise TypeError("df must be indexed by a DatetimeIndex")
    if not 0.0 <= max_nan_frac <= 1.0:
        raise ValueError(f"max_nan_frac must be in [0, 1], got {max_nan_frac}")
    index = df.index if df.index.tz is not None else df.index.tz_localize("UTC")
    index = index.tz_convert("UTC")
    data = pd.DataFrame(df[channels].to_numpy(dtype="float64"), index=index, columns=channels)
    data = data[~data.index.duplicated()].sort_index()
    dt = pd.Timedelta(period) if period is not None else infer_period(data.index)
    win = pd.Timedelta(length)
    stride = pd.Timedelta(step) if step is not None else win
    n_steps = win / dt
    if n_steps != int(n_steps) or n_steps < 1:
        raise ValueError(f"length {length!r} is not a whole number of periods ({dt})")
    n_steps = int(n_steps)
    if stride <= pd.Timedelta(0):
        raise ValueError(f"step must be positive, got {step!r}")

    t0, t_end = data.index[0], data.index[-1]
    grid = pd.date_range(t0, t_end, freq=dt)
    values = data.reindex(grid).to_numpy()
    empty = (
        np.empty((0, n_steps, len(channels))),
        pd.DatetimeIndex([], tz="UTC", name="window_start"),
    )
    if len(grid) < n_steps:
        return empty

    if tz is None:
        starts = pd.date_range(t0, t_end, freq=stride)
    else:
        local0 = t0.tz_convert(tz)
        first = local0.normalize()
        if first < local0:
            first = (first + pd.offsets.Day(1)).normalize()
        days = stride / pd.Timedelta("1D")
        freq = pd.offsets.Day(int(days)) if days == int(days) else stride
        starts = pd.date_range(first, t_end.tz_convert(tz), freq=freq).tz_convert("UTC")
    # snap each start up to the grid
    offset_ns = (starts - t0).to_numpy().astype("timedelta64[ns]").astype(np.int64)
    dt_ns = int(dt / pd.Timedelta("1ns"))
    i0 = -(-offset_ns // dt_ns)
    i0 = np.unique(i0[(i0 >= 0) & (i0 + n_steps <= len(grid))])
    if i0.size == 0:
        return empty
    view = sliding_window_view(values, n_steps, axis=0)  # (n_pos, n_channels, n_steps)
    windows = np.ascontiguousarray(view[i0].transpose(0, 2, 1))
    nan_frac = np.isnan(windows).mean(axis=(1, 2))
    keep = nan_frac <= max_nan_frac
    return windows[keep], pd.DatetimeIndex(grid[i0[keep]], name="window_start")


def _segments(n_steps: int, n_bins: int) -> list[tuple[int, int]]:
    edges = np.linspace(0, n_steps, n_bins + 1).round().astype(int)
    return list(zip(edges[:-1], edges[1:]))


def min_window_steps(n_profile_bins: int = 6, n_bands: int = 4) -> int:
    """The fewest samples a window needs for :func:`window_features` (8 by default)."""
    return max(n_profile_bins, 2 * n_bands, 4)


def window_features(
    windows: np.ndarray,
    period_s: float,
    *,
    n_profile_bins: int = 6,
    n_bands: int = 4,
) -> np.ndarray:
    """A fixed feature vector per window, for window-level classifiers and neighbours.

    For each channel, in this order (``8 + n_profile_bins + n_bands`` features):

    - level and spread: ``mean``, ``std`` (population), quantiles ``q05 q25 q50 q75 q95``;
    - ``acf1``: lag-1 autocorrelation, ``sum(d[t] d[t+1]) / sum(d[t]^2)`` with ``d = x - mean``
      (0 for a constant window);
    - ``profile_k``: the mean over each of ``n_profile_bins`` equal consecutive segments of the
      window (for a day aligned at local midnight and 6 bins: the mean of each 4 h block);
    - ``band_k``: the share of the (mean-removed) signal's energy in each of ``n_bands``
      frequency bands, log-spaced between ``1 / window length`` and the Nyquist frequency
      ``1 / (2 period_s)`` (periodogram via the real FFT; the shares sum to 1, all 0 for a
      constant window). For a 1-day window at 1 min: periods 24-4.3 h, 4.3 h-44 min,
      44-7.7 min, 7.7-2 min. Bands are relative to the window, so the same code serves
      daily load windows and 0.1 s vibration snapshots.

    Features are in the channel's own units (no scaling): metrics that compare feature sets
    standardise them. NaN samples are ignored by the level features and replaced by the
    window mean for ``acf1`` and the spectrum. Names: :func:`feature_names`.

    Parameters
    ----------
    windows : ndarray of shape (n_windows, n_steps, n_channels)
        As returned by :func:`make_windows`; a 2-D array is read as one channel.
    period_s : float
        Sampling period [s].
    n_profile_bins, n_bands : int
        Number of profile segments and of spectral bands.

    Returns
    -------
    ndarray of shape (n_windows, n_channels * (8 + n_profile_bins + n_bands))
        Channel-major: all features of channel 0, then channel 1...
    """
    w = np.asarray(windows, dtype="float64")
    if w.ndim == 2:
        w = w[:, :, None]
    if w.ndim != 3:
        raise ValueError(f"windows must have shape (n_windows, n_steps, n_channels), got {w.shape}")
    n_w, n_steps, n_ch = w.shape
    least = min_window_steps(n_profile_bins, n_bands)
    if n_steps < least:
        raise ValueError(f"windows of {n_steps} steps are too short for the features (at least {least})")
    if period_s <= 0:
        raise ValueError(f"period_s must be positive, got {period_s}")
    if n_w == 0:
        return np.empty((0, n_ch * (N_BASE_FEATURES + n_profile_bins + n_bands)))
    with np.errstate(invalid="ignore", divide="ignore"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows give NaN features
            mean = np.nanmean(w, axis=1)  # (n_w, n_ch)
            std = np.nanstd(w, axis=1)
            quant = np.nanquantile(w, _QUANTILES, axis=1)  # (n_q, n_w, n_ch)
            segments = _segments(n_steps, n_profile_bins)
            prof = np.stack([np.nanmean(w[:, a:b], axis=1) for a, b in segments])
        d = np.where(np.isnan(w), 0.0, w - mean[:, None, :])
        energy = np.sum(d * d, axis=1)
        acf1 = np.where(energy > 0, np.sum(d[:, :-1] * d[:, 1:], axis=1) / energy, 0.0)

        spec = np.abs(np.fft.rfft(d, axis=1)) ** 2  # (n_w, n_freq, n_ch)
        freq = np.fft.rfftfreq(n_steps, d=period_s)
        edges = np.logspace(np.log10(freq[1]), np.log10(freq[-1]), n_bands + 1)
        band_of = np.clip(np.searchsorted(edges, freq[1:], side="right") - 1, 0, n_bands - 1)
        total = spec[:, 1:].sum(axis=1)
        bands = np.stack([spec[:, 1:][:, band_of == k].sum(axis=1) for k in range(n_bands)])
        bands = np.where(total > 0, bands / np.where(total > 0, total, 1.0), 0.0)

    per_channel = np.concatenate(
        [mean[None], std[None], quant, acf1[None], prof, bands], axis=0
    )  # (n_feat, n_w, n_ch)
    return np.ascontiguousarray(per_channel.transpose(1, 2, 0).reshape(n_w, -1))


def feature_names(
    channels: str | Sequence[str], n_profile_bins: int = 6, n_bands: int = 4
) -> list[str]:
    """Names of the columns of :func:`window_features`, e.g. ``"power_w:q95"``."""
    if isinstance(channels, str):
        channels = [channels]
    base = ["mean", "std"] + [f"q{round(q * 100):02d}" for q in _QUANTILES] + ["acf1"]
    base += [f"profile_{k}" for k in range(n_profile_bins)]
    base += [f"band_{k}" for k in range(n_bands)]
    return [f"{c}:{b}" for c in channels for b in base]
