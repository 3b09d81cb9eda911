"""Condition indicators: reference values on known signals, shapes, errors."""

import numpy as np
import pytest
from scipy import stats

from twinforge.processes.condition import condition_indicators, envelope_spectrum

FS = 25_600.0


def test_sine_reference_values():
    t = np.arange(25_600) / FS
    x = 2.0 * np.sin(2 * np.pi * 100.0 * t)
    ci = condition_indicators(x, FS)
    assert float(ci["rms"]) == pytest.approx(np.sqrt(2.0), rel=1e-6)
    assert float(ci["peak"]) == pytest.approx(2.0, rel=1e-6)
    assert float(ci["crest_factor"]) == pytest.approx(np.sqrt(2.0), rel=1e-6)
    assert float(ci["kurtosis"]) == pytest.approx(1.5, rel=1e-3)  # Pearson kurtosis of a sine
    assert float(ci["skewness"]) == pytest.approx(0.0, abs=1e-6)


def test_gaussian_noise_law():
    x = np.random.default_rng(0).normal(0.0, 0.5, size=(20, 25_600))
    ci = condition_indicators(x, FS)
    assert ci["rms"].shape == (20,)
    np.testing.assert_allclose(ci["rms"], 0.5, rtol=0.02)
    assert abs(ci["kurtosis"].mean() - 3.0) < 4 * np.sqrt(24 / x.size)
    assert abs(ci["skewness"].mean()) < 4 * np.sqrt(6 / x.size)


def test_matches_scipy_pearson_kurtosis_and_batch_equals_loop():
    rng = np.random.default_rng(1)
    x = rng.standard_t(5, size=(3, 4_096))
    ci = condition_indicators(x, FS)
    np.testing.assert_allclose(ci["kurtosis"], stats.kurtosis(x, axis=1, fisher=False))
    for k in range(3):
        one = condition_indicators(x[k], FS, {"a": 100.0})
        batch = condition_indicators(x, FS, {"a": 100.0})
        for key in one:
            assert one[key].shape == ()
            assert float(one[key]) == pytest.approx(float(batch[key][k]))


def test_impulses_raise_kurtosis_and_crest():
    x = np.random.default_rng(2).normal(0.0, 0.1, 25_600)
    x[::256] += 3.0
    ci = condition_indicators(x, FS)
    assert float(ci["kurtosis"]) > 10.0 and float(ci["crest_factor"]) > 5.0


def test_envelope_spectrum_of_am_signal():
    t = np.arange(25_600) / FS
    x = (1.0 + 0.4 * np.cos(2 * np.pi * 107.0 * t)) * np.sin(2 * np.pi * 4_000.0 * t)
    f, a = envelope_spectrum(x, FS)
    assert f[1] - f[0] <= 1.0 and a.shape == f.shape
    assert f[np.argmax(a)] == pytest.approx(107.0, abs=f[1] - f[0])
    assert a.max() == pytest.approx(0.4, rel=0.02)
    # band-passing around the carrier keeps the modulation, a wrong band loses it
    _, a_band = envelope_spectrum(x, FS, band=(3_000.0, 5_000.0))
    assert a_band.max() == pytest.approx(0.4, rel=0.05)


def test_envelope_line_of_periodic_impacts_and_tolerance_window():
    rng = np.random.default_rng(3)
    x = rng.normal(0.0, 0.05, 25_600)
    period = int(FS / 120.0)
    for start in range(0, x.size - 200, period):
        n = np.arange(200)
        x[start : start + 200] += np.exp(-n / 20.0) * np.sin(2 * np.pi * 5_000.0 * n / FS)
    ci = condition_indicators(x, FS, {"hit": FS / period, "off": 77.0})
    assert float(ci["env_hit"]) > 10.0 * float(ci["env_off"])


def test_errors():
    with pytest.raises(ValueError, match="band"):
        envelope_spectrum(np.zeros(100), FS, band=(5_000.0, 20_000.0))
    with pytest.raises(ValueError, match="NaN"):
        condition_indicators(np.array([0.0, 1.0, np.nan, 2.0]), FS)
    with pytest.raises(ValueError, match="shape"):
        condition_indicators(np.zeros((2, 2, 8)), FS)
    with pytest.raises(ValueError, match="positive"):
        condition_indicators(np.ones(64), FS, {"bpfo": 0.0})
    with pytest.raises(ValueError, match="nfft"):
        envelope_spectrum(np.ones(64), FS, nfft=32)


def test_zero_signal_gives_nan_crest_not_error():
    ci = condition_indicators(np.zeros(64), FS)
    assert float(ci["rms"]) == 0.0 and np.isnan(ci["crest_factor"])
