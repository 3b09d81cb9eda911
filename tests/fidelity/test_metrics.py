"""Fidelity metrics: ideal on identical data, worse as a distortion grows, right on known cases.

The sample-level metrics are exercised on the shipped UCI household trace (real 1-minute
power with its '?' gaps) against distorted copies of it; the window-level metrics on
Gaussian feature sets with a controlled separation, and once on real daily windows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.ndimage import uniform_filter1d

from twinforge.fidelity import load_uci_household
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
from twinforge.fidelity.windows import make_windows, window_features

CHANNELS = ["mains_power_w", "kitchen_power_w", "laundry_power_w", "water_heater_power_w"]


@pytest.fixture(scope="module")
def uci() -> pd.DataFrame:
    return load_uci_household()


@pytest.fixture(scope="module")
def power(uci) -> pd.Series:
    return uci["mains_power_w"]


@pytest.fixture(scope="module")
def days(uci) -> np.ndarray:
    w, _ = make_windows(uci, ["mains_power_w"], "1D", tz="Europe/Paris")
    return w[:, :, 0]  # (59, 1440)


def _increasing(values) -> bool:
    return bool(np.all(np.diff(values) > 0))


def _smooth(x: np.ndarray, width: int) -> np.ndarray:
    return uniform_filter1d(np.asarray(x, dtype=float), size=width, axis=-1, mode="nearest")


def _noise(x, sigma: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    return x + rng.normal(0.0, sigma, size=np.shape(x))


# ---------------------------------------------------------------------------------------
# ideal on identical data


def test_identical_data_is_ideal(uci, power, days):
    assert ks_statistic(power, power) == 0.0
    assert wasserstein_normalised(power, power) == 0.0
    assert acf_distance(power, power, max_lag=60) == 0.0
    assert acf_distance(days, days, max_lag=60) == 0.0
    assert psd_log_distance(power, power, fs_hz=1 / 60, nperseg=1440) == 0.0
    assert profile_error(power, power, by="hour", tz="Europe/Paris") == 0.0
    assert profile_error(power, power, by="hour_week", tz="Europe/Paris") == 0.0
    assert correlation_matrix_distance(uci[CHANNELS], uci[CHANNELS]) == 0.0
    tails = tail_quantiles(power, power)
    assert all(v["rel_error"] == 0.0 for v in tails.values())
    feats = window_features(days, period_s=60.0)
    assert discriminative_score(feats, feats, seed=0) == 0.0


def test_identical_window_sets_are_flagged_as_copies():
    rng = np.random.default_rng(10)
    real = rng.normal(size=(80, 10))
    # every synthetic window's nearest other window is its real twin: the maximum
    assert nn_indistinguishability(real, real) == pytest.approx((80 + 80 - 1) / 80)
    mem = memorisation(real, real)
    assert mem["median_ratio"] == 0.0 and mem["copy_share"] == 1.0


# ---------------------------------------------------------------------------------------
# marginal metrics


def test_ks_grows_with_scale_and_noise(power):
    by_scale = [ks_statistic(power, power * a) for a in (1.05, 1.2, 1.5, 2.0)]
    by_noise = [ks_statistic(power, _noise(power, s)) for s in (50.0, 200.0, 800.0)]
    assert _increasing(by_scale) and _increasing(by_noise)
    assert 0 < by_scale[0] < by_scale[-1] <= 1


def test_wasserstein_is_shift_in_iqr_units(power):
    iqr = np.subtract(*np.nanpercentile(power, [75, 25]))
    shifts = (50.0, 200.0, 500.0, 1000.0)
    values = [wasserstein_normalised(power, power + c) for c in shifts]
    np.testing.assert_allclose(values, np.array(shifts) / iqr, rtol=1e-9)
    by_scale = [wasserstein_normalised(power, power * a) for a in (1.1, 1.3, 1.6)]
    assert _increasing(by_scale)
    std_scaled = wasserstein_normalised(power, power + 100.0, scale="std")
    assert std_scaled == pytest.approx(100.0 / np.nanstd(power))


def test_tail_quantiles_relative_error(power):
    tails = tail_quantiles(power, power * 1.2)
    assert set(tails) == {0.01, 0.99, 0.999}
    for q, v in tails.items():
        assert v["real"] == pytest.approx(np.nanquantile(power, q))
        assert v["rel_error"] == pytest.approx(0.2)
    errs = [abs(tail_quantiles(power, power * a, q=(0.999,))[0.999]["rel_error"])
            for a in (1.1, 0.7, 1.5)]
    assert _increasing(errs)
    clipped = tail_quantiles(power, np.minimum(power, 5000.0))  # a synthetic tail too short
    assert clipped[0.999]["rel_error"] < 0 and clipped[0.01]["rel_error"] == 0


# ---------------------------------------------------------------------------------------
# temporal metrics


def test_acf_distance_grows_with_noise_and_smoothing(power, days):
    # concatenated series with its NaN gaps
    by_noise = [acf_distance(power, _noise(power, s), max_lag=60) for s in (100.0, 300.0, 1000.0)]
    assert _increasing(by_noise)
    # per-window average
    by_smooth = [acf_distance(days, _smooth(days, k), max_lag=60) for k in (3, 15, 61)]
    assert _increasing(by_smooth)
    assert 0 < by_noise[0] and by_noise[-1] <= 2


def test_acf_distance_ignores_gaps_fairly(power):
    holes = power.copy()
    holes.iloc[::97] = np.nan  # 1 % more missing, spread out
    assert acf_distance(power, holes, max_lag=60) < 0.01


def test_psd_distance_grows_with_smoothing_and_scale(power, days):
    by_smooth = [psd_log_distance(days, _smooth(days, k), fs_hz=1 / 60, nperseg=256)
                 for k in (3, 9, 27)]
    assert _increasing(by_smooth)
    by_scale = [psd_log_distance(power, power * a, fs_hz=1 / 60) for a in (1.5, 3.0, 10.0)]
    np.testing.assert_allclose(by_scale, 2 * np.log10([1.5, 3.0, 10.0]), rtol=1e-9)
    by_noise = [psd_log_distance(days, _noise(days, s), fs_hz=1 / 60) for s in (30.0, 100.0, 300.0)]
    assert _increasing(by_noise)


def test_profile_error_grows_with_flattening_and_scale(power):
    flat = power.mean()
    by_flat = [profile_error(power, (1 - a) * power + a * flat, tz="Europe/Paris")
               for a in (0.1, 0.3, 0.6)]
    assert _increasing(by_flat)
    assert by_flat[1] == pytest.approx(3 * by_flat[0])  # linear in the blend
    week = [profile_error(power, power * a, by="hour_week", tz="Europe/Paris")
            for a in (1.1, 1.3, 2.0)]
    assert _increasing(week)
    # a shifted clock (synthetic in the wrong time zone) is an error too
    late = pd.Series(power.to_numpy(), index=power.index + pd.Timedelta("3h"))
    assert profile_error(power, late, tz="Europe/Paris") > 0.2


def test_correlation_matrix_distance_grows_with_decorrelation(uci):
    real = uci[CHANNELS].dropna()
    rng = np.random.default_rng(5)
    shuffled = real.apply(lambda c: rng.permutation(c.to_numpy()))
    values = [correlation_matrix_distance(real, (1 - a) * real + a * shuffled)
              for a in (0.2, 0.5, 1.0)]
    assert _increasing(values)
    assert values[-1] < 4 / np.sqrt(4 * 3)
    # arrays of windows work too
    assert correlation_matrix_distance(real.to_numpy(), real.to_numpy()) == 0.0


# ---------------------------------------------------------------------------------------
# window-level metrics


def _gauss(rng, n: int, shift: float = 0.0, d: int = 18) -> np.ndarray:
    return rng.normal(size=(n, d)) + shift


def test_discriminative_score_chance_and_separable():
    rng = np.random.default_rng(20)
    real = _gauss(rng, 200)
    same = discriminative_score(real, _gauss(rng, 200), seed=1)
    unequal = discriminative_score(real, _gauss(rng, 500), seed=1)
    apart = discriminative_score(real, _gauss(rng, 200, shift=1.5), seed=1)
    assert same < 0.1 and unequal < 0.1
    assert apart > 0.4
    by_shift = [discriminative_score(real, _gauss(np.random.default_rng(21), 200, shift=s), seed=1)
                for s in (0.1, 0.3, 0.6)]
    assert _increasing(by_shift)
    # deterministic for a seed
    again = _gauss(np.random.default_rng(21), 200, shift=0.3)
    assert discriminative_score(real, again, seed=1) == by_shift[1]


def test_discriminative_score_on_real_days(days):
    feats = window_features(days, period_s=60.0)
    noisy = window_features(_noise(days, 500.0, seed=7), period_s=60.0)
    assert discriminative_score(feats, noisy, seed=0) > 0.4


def test_nn_indistinguishability_unequal_counts_and_separation():
    rng = np.random.default_rng(30)
    real = _gauss(rng, 60)
    mixed = nn_indistinguishability(real, _gauss(rng, 200))
    assert 0.7 < mixed < 1.3
    apart = nn_indistinguishability(real, _gauss(rng, 200, shift=3.0))
    assert apart < 0.05
    by_shift = [nn_indistinguishability(real, _gauss(np.random.default_rng(31), 200, shift=s))
                for s in (0.5, 1.0, 2.0)]
    assert _increasing([-v for v in by_shift])


@pytest.mark.slow  # tens of seconds of CPU (a statistical law on a large sample): make test-slow
def test_permutation_null_is_the_score_of_one_distribution():
    """The null of 19 real against 114 synthetic windows (the home's hold-out counts): mostly
    0, a 95 % quantile well below the 0.5 / sqrt(19) rule of thumb, NN about 1; a clear
    shift is outside every relabelling; the same seed gives the same null."""
    rng = np.random.default_rng(50)
    real = _gauss(rng, 19)
    synth = _gauss(rng, 114)
    null = permutation_null(real, synth, 20, seed=3, n_estimators=50)
    assert null["discriminative"].shape == null["nn"].shape == (20,)
    d, nn = null["discriminative"], null["nn"]
    assert ((d >= 0) & (d <= 0.5)).all() and np.mean(d == 0) > 0.3
    assert np.quantile(d, 0.95) < 0.5 / np.sqrt(19)
    assert 0.8 < np.median(nn) < 1.2
    apart = _gauss(rng, 114, shift=1.5)
    assert discriminative_score(real, apart, seed=3) > d.max()
    assert nn_indistinguishability(real, apart) < nn.min()
    # same seed, same null; another seed, other relabellings
    again = permutation_null(real, synth, 20, seed=3, n_estimators=50)
    assert np.array_equal(again["discriminative"], d) and np.array_equal(again["nn"], nn)
    assert not np.array_equal(permutation_null(real, synth, 5, seed=4)["nn"], nn[:5])
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="n_permutations"):
            permutation_null(real, apart, bad)
    with pytest.raises(ValueError, match="at least cv=5"):
        permutation_null(real[:4], apart, 5)


def test_memorisation_flags_copies_and_scales_with_distance():
    rng = np.random.default_rng(40)
    real = _gauss(rng, 200)
    fresh = memorisation(real, _gauss(rng, 200))
    assert 0.85 < fresh["median_ratio"] < 1.15 and fresh["copy_share"] < 0.05
    some_copies = np.vstack([real[:10], _gauss(rng, 190)])
    assert memorisation(real, some_copies)["copy_share"] >= 10 / 200
    near = [memorisation(real, real + rng.normal(0, s, size=real.shape)) for s in (0.05, 0.3, 1.0)]
    assert _increasing([m["median_ratio"] for m in near])
    assert near[0]["copy_share"] == 1.0 and near[-1]["copy_share"] < 0.1


def test_metrics_reject_bad_input():
    with pytest.raises(ValueError, match="no finite value"):
        ks_statistic([np.nan, np.nan], [1.0])
    with pytest.raises(ValueError, match="n_features"):
        discriminative_score(np.zeros((10, 3)), np.zeros((10, 4)))
    with pytest.raises(ValueError, match="at least cv=5"):
        discriminative_score(np.zeros((3, 2)), np.zeros((10, 2)))
    with pytest.raises(ValueError, match="two shared channels"):
        one = pd.DataFrame({"a": [1.0, 2.0]})
        correlation_matrix_distance(one, one)
    with pytest.raises(ValueError, match="too short"):
        acf_distance(np.arange(5.0), np.arange(5.0), max_lag=10)
