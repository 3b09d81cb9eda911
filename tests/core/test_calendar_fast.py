"""LocalClock's vectorised local time: numpy on cached hourly offsets, the same values as pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twinforge.core.calendar import LocalClock
from twinforge.processes.sensors import SensorParams, measure


def _pandas_wall(clock: LocalClock, t: np.ndarray):
    return pd.to_datetime(clock.epoch_s + t, unit="s", utc=True).tz_convert(clock.zone)


@pytest.mark.parametrize(("tz", "start"), [
    ("Europe/Paris", "2024-03-30T22:30Z"),  # spring DST within the first day
    ("Australia/Lord_Howe", "2024-04-06"),  # 30-min DST change at a half hour UTC
    ("Asia/Kathmandu", "2023-12-31T23:59:59.5"),  # +05:45, fractional start
])
def test_local_arrays_are_pandas_without_pandas(tz, start, monkeypatch):
    clock = LocalClock(pd.Timestamp(start), tz, weekend_days=(4, 5))
    t = np.concatenate([np.arange(0.0, 9 * 86_400.0, 60.0), np.arange(0.0, 86_400.0, 7.0) + 1e-3,
                        np.random.default_rng(1).uniform(-86_400.0, 9 * 86_400.0, 3000)])
    local = _pandas_wall(clock, t)
    want_day = local.tz_localize(None).to_numpy().astype("datetime64[D]").astype(np.int64)
    want_hour = np.asarray(local.hour + local.minute / 60.0 + local.second / 3600.0, dtype=np.float64)
    want_weekend = np.isin(local.day_of_week, (4, 5))
    assert np.array_equal(clock.local_day_array(t), want_day)
    assert clock.hour_of_day_array(t).tobytes() == want_hour.tobytes()
    assert np.array_equal(clock.is_weekend_array(t), want_weekend)
    # ordinary times (whole minutes, away from an offset change) need no per-call pandas conversion
    calls = []
    real = clock.local_times
    monkeypatch.setattr(clock, "local_times", lambda x: calls.append(len(x)) or real(x))
    clock.local_day_array(np.arange(0.0, 2 * 86_400.0, 60.0) + 20 * 86_400.0)
    assert sum(calls) == 0


def test_measure_is_the_unfused_formula():
    x = np.concatenate([np.random.default_rng(2).normal(0.0, 2000.0, 5000), [0.0, -0.0, 0.5, 1.5, 2.5, -2.5]])
    for p in (SensorParams(noise_rel=0.005, resolution=1.0), SensorParams(noise_sd=0.1, resolution=0.1),
              SensorParams(resolution=1.0), SensorParams(noise_sd=0.3)):
        for nonneg in (False, True):
            got = measure(x, p, np.random.default_rng(3), nonnegative=nonneg)
            rng = np.random.default_rng(3)
            want = x + (p.noise_sd + p.noise_rel * np.abs(x)) * rng.standard_normal(x.shape) if (
                p.noise_sd or p.noise_rel) else x
            want = np.maximum(want, 0.0) if nonneg else want
            want = np.round(want / p.resolution) * p.resolution if p.resolution else want
            assert got.tobytes() == want.tobytes()
