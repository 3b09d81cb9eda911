"""TSTR: synthetic = real is as useful as real (ratio 1); shuffled noise is clearly worse."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twinforge.fidelity import load_uci_household
from twinforge.fidelity.comparison import CompareError
from twinforge.fidelity.tstr import lag_features, tstr_classify, tstr_forecast


@pytest.fixture(scope="module")
def real() -> pd.DataFrame:
    return load_uci_household()[["mains_power_w", "laundry_power_w"]]


@pytest.fixture(scope="module")
def train(real) -> pd.DataFrame:
    split = real.index[0] + (real.index[-1] - real.index[0]) * 0.7
    return real[real.index < split.floor("1h")]


def test_synthetic_equal_to_real_training_data_scores_one(real, train):
    res = tstr_forecast(real[["mains_power_w"]], train[["mains_power_w"]])
    assert res.task == "forecast" and res.details["n_lags"] == 24 and res.details["horizon"] == "1D"
    assert res.ratio == pytest.approx(1.0, abs=0.02)
    assert res.ratio_rmse == pytest.approx(1.0, abs=0.02)
    assert res.trtr["mae"] < res.baseline["mae"]  # the forecaster beats seasonal naive
    assert res.details["n_test"] > 400


def test_shuffled_noise_is_clearly_worse(real, train):
    rng = np.random.default_rng(0)
    noise = train[["mains_power_w"]].copy()
    noise["mains_power_w"] = rng.permutation(noise["mains_power_w"].to_numpy())
    res = tstr_forecast(real[["mains_power_w"]], noise)
    assert res.ratio < 0.85
    assert res.tstr["mae"] > res.trtr["mae"] * 1.15


def test_mean_scaling_makes_levels_irrelevant(real, train):
    scaled = train[["mains_power_w"]].rename(columns={"mains_power_w": "feeder_power_w"}) * 1000.0
    res = tstr_forecast(real[["mains_power_w"]], scaled, channels={"mains_power_w": "feeder_power_w"},
                        scale="mean")
    assert res.ratio == pytest.approx(1.0, abs=0.05)
    unscaled = tstr_forecast(real[["mains_power_w"]], scaled,
                             channels={"mains_power_w": "feeder_power_w"})
    assert unscaled.ratio < 0.1


def test_classifier_variant(real, train):
    def labelled(df):
        out = df.resample("5min").mean()
        return out.assign(laundry_on=(out["laundry_power_w"] > 300).astype(int))

    r, s = labelled(real), labelled(train)
    same = tstr_classify(r, s, label="laundry_on", features={"mains_power_w": "mains_power_w"})
    assert same.task == "classify" and same.ratio == pytest.approx(1.0, abs=0.05)
    assert same.trtr["balanced_accuracy"] > 0.7
    rng = np.random.default_rng(1)
    shuffled = s.assign(laundry_on=rng.permutation(s["laundry_on"].to_numpy()))
    bad = tstr_classify(r, shuffled, label="laundry_on", features={"mains_power_w": "mains_power_w"})
    assert bad.ratio < 0.75 and bad.tstr["balanced_accuracy"] < 0.6
    assert "balanced accuracy" in bad.summary()


def test_lag_features_shift_and_calendar():
    t = pd.date_range("2024-01-01", periods=5, freq="1h", tz="UTC")
    x, names = lag_features(pd.DataFrame({"y": np.arange(5.0)}, index=t), [1, 2], "UTC")
    assert names == ["y:lag1", "y:lag2", "hour", "day_of_week"]
    np.testing.assert_array_equal(x[:, 0], [np.nan, 0, 1, 2, 3])
    np.testing.assert_array_equal(x[:, 1], [np.nan, np.nan, 0, 1, 2])
    np.testing.assert_array_equal(x[:, 2], [0, 1, 2, 3, 4])


def test_errors(real, train):
    with pytest.raises(CompareError, match="whole number"):
        tstr_forecast(real[["mains_power_w"]], train[["mains_power_w"]], horizon="90min")
    with pytest.raises(CompareError, match="one channel pair"):
        tstr_forecast(real, train, channels={"mains_power_w": "mains_power_w", "laundry_power_w": "x"})
    with pytest.raises(CompareError, match="test_frac"):
        tstr_forecast(real[["mains_power_w"]], train[["mains_power_w"]], test_frac=1.5)


def test_a_lag_matrix_too_large_for_memory_is_refused_before_it_is_built(real):
    """Two years at 1 min with a day of lags: 1.05 M rows x 1,440 lags = 12 GB of features
    (a held-out protocol at 1 min ran out of 22 GB this way); one line, not an exhausted machine."""
    t = pd.date_range("2008-01-01", periods=1_051_200, freq="1min", tz="UTC")
    long = pd.DataFrame({"mains_power_w": np.ones(len(t))}, index=t)
    with pytest.raises(CompareError, match=r"^period '1min': 1440 lags x 1,051,200 real samples need 12\.1 GB"):
        tstr_forecast(long, real[["mains_power_w"]], period="1min")
    with pytest.raises(CompareError, match=r"use a coarser period"):
        tstr_forecast(long.iloc[:100_000], real[["mains_power_w"]], period="1min", train_real=long)
