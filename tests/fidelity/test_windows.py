"""Cutting windows and the per-window feature vector."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twinforge.fidelity import load_pjm, load_uci_household
from twinforge.fidelity.windows import N_BASE_FEATURES, feature_names, make_windows, window_features


def _ramp(periods: int, start: str = "2024-01-01") -> pd.DataFrame:
    """Hourly UTC ramps: a_w = 0, 1, 2 ... and b_w = -a_w."""
    t = pd.date_range(start, periods=periods, freq="1h", tz="UTC", name="time")
    a = np.arange(periods, dtype=float)
    return pd.DataFrame({"a_w": a, "b_w": -a}, index=t)


def test_windows_shape_order_and_starts():
    df = _ramp(24 * 5)
    w, starts = make_windows(df, ["b_w", "a_w"], length="1D")
    assert w.shape == (5, 24, 2)
    assert starts[1] == pd.Timestamp("2024-01-02", tz="UTC") and starts.name == "window_start"
    np.testing.assert_array_equal(w[1, :, 1], np.arange(24, 48))
    np.testing.assert_array_equal(w[1, :, 0], -np.arange(24, 48))


def test_windows_overlapping_step_and_partial_tail():
    df = _ramp(24 * 2 + 5)
    w, starts = make_windows(df, "a_w", length="1D", step="6h")
    # starts every 6 h while a full day still fits: 0, 6, ..., 24 -> 5 windows (29 h of room)
    assert w.shape == (5, 24, 1)
    assert (np.diff(starts) == pd.Timedelta("6h")).all()


def test_windows_align_to_local_midnight_across_dst():
    # hourly data in UTC from 2024-03-28 12:00; Paris springs forward on 31 March
    df = _ramp(24 * 8, start="2024-03-28 12:00")
    w, starts = make_windows(df, "a_w", length="1D", tz="Europe/Paris")
    local = starts.tz_convert("Europe/Paris")
    assert (local.hour == 0).all() and (local.minute == 0).all()
    assert local[0] == pd.Timestamp("2024-03-29", tz="Europe/Paris")
    # across the change the starts are 23 h apart in absolute time, else 24 h
    assert sorted(set(np.diff(starts) / pd.Timedelta("1h"))) == [23.0, 24.0]
    assert w.shape[1] == 24


def test_windows_drop_nan_windows_and_regularise():
    df = _ramp(24 * 4).astype(float)
    df.iloc[30, 0] = np.nan  # one NaN on day 2 (1 of 48 values = 2 %)
    df = df.drop(df.index[80:83])  # three absent rows on day 4 (6 of 48 values)
    w, starts = make_windows(df, ["a_w", "b_w"], length="1D")
    assert len(starts) == 2 and starts[0].day == 1 and starts[1].day == 3
    w, starts = make_windows(df, ["a_w", "b_w"], length="1D", max_nan_frac=0.05)
    assert len(starts) == 3
    w, starts = make_windows(df, ["a_w", "b_w"], length="1D", max_nan_frac=0.2)
    assert len(starts) == 4 and np.isnan(w[3]).sum() == 6


def test_windows_on_the_shipped_samples():
    uci = load_uci_household()
    w, starts = make_windows(uci, ["mains_power_w"], "1D", tz="Europe/Paris")
    assert w.shape == (59, 1440, 1)  # 62 days, 3 of them with '?' gaps
    assert not np.isnan(w).any()
    w, starts = make_windows(uci, ["mains_power_w"], "1D", tz="Europe/Paris", max_nan_frac=0.1)
    assert len(starts) == 62
    pjm = load_pjm()
    w, starts = make_windows(pjm, "load_power_w", "1D", tz="America/New_York")
    assert w.shape == (365, 24, 1)
    w, starts = make_windows(pjm, "load_power_w", "7D", tz="America/New_York")
    assert w.shape == (52, 168, 1)


def test_windows_errors():
    df = _ramp(48)
    with pytest.raises(KeyError, match="'c_w'.*'a_w', 'b_w'"):
        make_windows(df, ["c_w"])
    with pytest.raises(ValueError, match="whole number of periods"):
        make_windows(df, "a_w", length="90min")
    w, starts = make_windows(df, "a_w", length="3D")
    assert w.shape == (0, 72, 1) and len(starts) == 0


def test_feature_layout_and_names():
    rng = np.random.default_rng(3)
    w = rng.normal(size=(7, 1440, 2))
    f = window_features(w, period_s=60.0)
    names = feature_names(["p_w", "q_w"])
    assert f.shape == (7, 2 * (N_BASE_FEATURES + 6 + 4)) == (7, len(names))
    assert names[0] == "p_w:mean" and names[18] == "q_w:mean" and "p_w:q95" in names
    i = names.index("q_w:std")
    np.testing.assert_allclose(f[:, i], w[:, :, 1].std(axis=1))


def test_features_reference_values():
    n = 1440
    t = np.arange(n)
    const = np.full(n, 5.0)
    step = np.where(t < n // 2, 0.0, 6.0)  # off in the first half of the day, on after
    slow = np.sin(2 * np.pi * t / n)  # one cycle per window: lowest band
    fast = np.sin(2 * np.pi * t / 3.0)  # 3-min period: highest band (7.7-2 min)
    w = np.stack([const, step, slow, fast])[:, :, None]
    f = window_features(w, period_s=60.0)
    names = feature_names("x")
    col = {n_: f[:, k] for k, n_ in enumerate(names)}
    assert col["x:std"][0] == 0 and col["x:acf1"][0] == 0 and col["x:band_0"][0] == 0
    np.testing.assert_allclose(col["x:mean"][:2], [5.0, 3.0])
    np.testing.assert_allclose([col[f"x:profile_{k}"][1] for k in range(6)], [0, 0, 0, 6, 6, 6])
    assert col["x:band_0"][2] == pytest.approx(1.0)
    assert col["x:band_3"][3] == pytest.approx(1.0)
    assert col["x:acf1"][2] == pytest.approx(np.cos(2 * np.pi / n), abs=1e-3)
    assert col["x:acf1"][3] == pytest.approx(-0.5, abs=1e-2)
    bands = f[:, [names.index(f"x:band_{k}") for k in range(4)]]
    np.testing.assert_allclose(bands[1:].sum(axis=1), 1.0)


def test_features_tolerate_nan():
    rng = np.random.default_rng(4)
    w = rng.normal(size=(3, 200, 1))
    w[0, 10:20, 0] = np.nan
    f = window_features(w, period_s=1.0)
    assert np.isfinite(f).all()
    assert f[0, 0] == pytest.approx(np.nanmean(w[0, :, 0]))
