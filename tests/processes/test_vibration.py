"""Vibration snapshots: envelope signatures, statistics, determinism, and real PRONOSTIA data."""

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError
from scipy import signal

import twinforge
from twinforge.processes.bearing import BEARING_PRESETS, defect_frequencies
from twinforge.processes.condition import condition_indicators, envelope_spectrum
from twinforge.processes.vibration import (
    VibrationParams,
    motor_current,
    render_snapshot,
    resonator_coefficients,
)

FS = 25_600.0
CWRU = BEARING_PRESETS["6205-2RS"]
PRONOSTIA = BEARING_PRESETS["pronostia"]
SHAFT_CWRU = 1797.0 / 60.0
PARAMS = VibrationParams()
DATA = Path(twinforge.__file__).parent / "data" / "pronostia"


def snap(severities, seed=0, duration=1.0, geometry=CWRU, shaft=SHAFT_CWRU, params=PARAMS, **kw):
    return render_snapshot(
        0.0, duration, FS, shaft, geometry, severities, params, np.random.default_rng(seed), **kw
    )


def batch(severities, n=12, duration=0.1, geometry=PRONOSTIA, shaft=30.0):
    return np.array(
        [
            render_snapshot(
                10.0 * k,
                duration,
                FS,
                shaft,
                geometry,
                severities,
                PARAMS,
                np.random.default_rng(k),
            )
            for k in range(n)
        ]
    )


def _amp_near(freqs, amp, target, rel=0.02):
    return float(amp[np.abs(freqs - target) <= rel * target].max())


def test_shape_and_default_rate():
    x = render_snapshot(5.0, 0.1, None, 30.0, PRONOSTIA, {}, PARAMS, np.random.default_rng(0))
    assert x.shape == (2560,) and x.dtype == np.float64 and np.all(np.isfinite(x))
    assert snap({}, duration=0.5).shape == (12_800,)


def test_determinism_with_seed():
    sev = {"outer_race": 0.4, "inner_race": 0.2, "imbalance": 0.3}
    np.testing.assert_array_equal(snap(sev, seed=3), snap(sev, seed=3))
    assert not np.array_equal(snap(sev, seed=3), snap(sev, seed=4))


def test_no_global_random_state_touched():
    state = np.random.get_state()[1].copy()
    snap({"outer_race": 0.5})
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_outer_race_envelope_peaks_at_bpfo():
    bpfo = float(defect_frequencies(CWRU, SHAFT_CWRU)["bpfo"])
    for seed in range(3):
        f, a = envelope_spectrum(snap({"outer_race": 0.3}, seed=seed), FS, band=(2_000.0, 6_000.0))
        search = (f > 5.0) & (f < 1_000.0)
        peak_hz = f[search][np.argmax(a[search])]
        assert peak_hz == pytest.approx(bpfo, rel=0.01)


def mean_envelope(severities, n=5, band=(2_000.0, 6_000.0), **kw):
    """Envelope spectrum averaged over ``n`` 1-s snapshots (steadies the noise floor)."""
    x = np.array([snap(severities, seed=s, **kw) for s in range(n)])
    f, a = envelope_spectrum(x, FS, band=band)
    return f, a.mean(axis=0)


def test_inner_race_shows_bpfi_with_shaft_sidebands():
    bpfi = float(defect_frequencies(CWRU, SHAFT_CWRU)["bpfi"])
    sidebands = (bpfi - SHAFT_CWRU, bpfi + SHAFT_CWRU)
    f, a = mean_envelope({"inner_race": 0.4})
    floor = np.median(a[(f > 50.0) & (f < 600.0)])
    assert _amp_near(f, a, bpfi) > 5.0 * floor
    for hz in sidebands:  # load-zone modulation at the shaft frequency (McFadden & Smith)
        assert _amp_near(f, a, hz) > 4.0 * floor
    # without the load zone the lines stay but the sidebands sink to the floor
    f2, a2 = mean_envelope({"inner_race": 0.4}, load_zone=False)
    floor2 = np.median(a2[(f2 > 50.0) & (f2 < 600.0)])
    assert _amp_near(f2, a2, bpfi) > 5.0 * floor2
    for hz in sidebands:
        assert _amp_near(f2, a2, hz) < 3.0 * floor2


def test_impulsive_rolling_element_fault_shows_ball_and_cage_lines():
    fd = defect_frequencies(CWRU, SHAFT_CWRU)
    struck = PARAMS.model_copy(update={"rolling_element_impulsiveness": 1.0, "rolling_element_contact_fraction": 1.0})
    f, a = mean_envelope({"rolling_element": 0.5}, params=struck)
    _, healthy = mean_envelope({})
    bsf, ftf = float(fd["bsf"]), float(fd["ftf"])
    assert _amp_near(f, a, 2.0 * bsf) > 3.0 * _amp_near(f, healthy, 2.0 * bsf)  # strikes on both races
    assert _amp_near(f, a, bsf) > 2.0 * _amp_near(f, healthy, bsf)  # outer/inner strike asymmetry
    assert _amp_near(f, a, ftf) > 3.0 * _amp_near(f, healthy, ftf)  # carried round by the cage


def test_healthy_kurtosis_is_gaussian():
    x = np.array([snap({}, seed=s) for s in range(5)])
    k = condition_indicators(x, FS)["kurtosis"]
    assert np.all(np.abs(k - 3.0) < 0.3)


@pytest.mark.parametrize("mode", ["outer_race", "inner_race", "rolling_element"])
def test_rms_and_kurtosis_grow_with_severity(mode):
    levels = [0.0, 0.2, 0.5, 1.0]
    stats = [condition_indicators(batch({mode: s}), FS) for s in levels]
    rms = [np.median(s["rms"]) for s in stats]
    kurt = [np.median(s["kurtosis"]) for s in stats]
    assert np.all(np.diff(rms) > 0.0)
    assert kurt[0] < kurt[1] < kurt[2]  # impulsiveness rises, then plateaus as damage spreads
    assert kurt[3] > kurt[0] + 2.0


def test_shaft_faults_raise_their_harmonics():
    f = np.fft.rfftfreq(25_600, 1.0 / FS)

    def line(x, hz):
        spec = 2.0 * np.abs(np.fft.rfft(x)) / x.size
        return float(spec[np.argmin(np.abs(f - hz))])

    healthy, imb, mis = snap({}), snap({"imbalance": 1.0}), snap({"misalignment": 1.0})
    assert line(imb, SHAFT_CWRU) == pytest.approx(
        PARAMS.shaft_harmonics_g[0] + PARAMS.imbalance_1x_g, rel=0.1
    )
    assert line(mis, 2 * SHAFT_CWRU) == pytest.approx(
        PARAMS.shaft_harmonics_g[1] + PARAMS.misalignment_2x_g, rel=0.1
    )
    assert line(healthy, SHAFT_CWRU) < 0.1


def test_lubrication_raises_broadband_level_not_impulsiveness():
    dry = condition_indicators(batch({"lubrication": 1.0}), FS)
    ok = condition_indicators(batch({}), FS)
    assert np.median(dry["rms"]) > 1.5 * np.median(ok["rms"])
    assert np.all(np.abs(dry["kurtosis"] - 3.0) < 0.6)


def test_resonator_rings_at_its_frequency():
    b, a = resonator_coefficients(3_000.0, 0.02, 1.0, FS)
    h = signal.lfilter(b, a, np.r_[1.0, np.zeros(8191)])
    f = np.fft.rfftfreq(h.size, 1.0 / FS)
    assert f[np.argmax(np.abs(np.fft.rfft(h)))] == pytest.approx(3_000.0, rel=0.01)
    with pytest.raises(ValueError, match="Nyquist"):
        resonator_coefficients(13_000.0, 0.02, 1.0, FS)


def test_bad_inputs():
    with pytest.raises(ValueError, match="unknown fault mode"):
        snap({"gearbox": 0.5})
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        snap({"outer_race": 1.5})
    with pytest.raises(ValueError, match="positive"):
        snap({}, duration=0.0)
    with pytest.raises(ValidationError):
        VibrationParams(resonances=((1000.0, 1.5, 1.0),))
    with pytest.raises(ValidationError):
        VibrationParams(extra_field=1)


def test_motor_current_sidebands():
    t = np.arange(0, 2.0, 1.0 / 10_000.0)
    fd = defect_frequencies(CWRU, SHAFT_CWRU)
    i = motor_current(
        t, 60.0, SHAFT_CWRU, CWRU, {"outer_race": 1.0}, np.random.default_rng(0), noise_a=0.0
    )
    w = signal.windows.hann(t.size)

    def at(hz):  # Hann-windowed DFT at the exact frequency: amplitude of a sinusoid
        return float(2.0 * np.abs(np.sum(w * i * np.exp(-2j * np.pi * hz * t))) / w.sum())

    assert at(60.0) == pytest.approx(10.0, rel=0.02)
    assert at(60.0 + float(fd["bpfo"])) == pytest.approx(0.2, rel=0.02)
    assert at(abs(60.0 - float(fd["bpfo"]))) == pytest.approx(0.2, rel=0.02)
    assert at(60.0 + 2.0 * float(fd["bpfo"])) == pytest.approx(0.1, rel=0.02)
    healthy = motor_current(t, 60.0, SHAFT_CWRU, CWRU, {}, np.random.default_rng(0), noise_a=0.0)
    np.testing.assert_allclose(healthy, 10.0 * np.cos(2 * np.pi * 60.0 * t), atol=1e-9)


# --- against real PRONOSTIA snapshots (Bearing1_1, shipped in twinforge/data/pronostia) ---


def _real(name):
    return np.loadtxt(DATA / name, delimiter=",")[:, 4]  # horizontal acceleration [g]


def test_shipped_sample_is_small_and_documented():
    files = sorted(DATA.glob("acc_*.csv"))
    assert len(files) == 4 and sum(p.stat().st_size for p in DATA.iterdir()) < 1_000_000
    assert (DATA / "PROVENANCE.md").is_file()
    a = np.loadtxt(files[0], delimiter=",")
    assert a.shape == (2560, 6)


def test_synthetic_vs_real_rms_and_kurtosis():
    real_healthy = condition_indicators(
        np.array([_real("acc_00001.csv"), _real("acc_01401.csv")]), FS
    )
    real_late = condition_indicators(np.array([_real("acc_02751.csv"), _real("acc_02803.csv")]), FS)
    syn_healthy = condition_indicators(batch({}, n=8), FS)
    syn_severe = condition_indicators(batch({"outer_race": 0.9}, n=8), FS)

    # healthy RMS: same order of magnitude (and in fact within 30 %)
    ratio = np.median(syn_healthy["rms"]) / np.median(real_healthy["rms"])
    assert 0.1 < ratio < 10.0
    assert 0.7 < ratio < 1.3
    # both the real late snapshots and the synthetic severe ones rise above healthy
    assert real_late["rms"].min() > 2.0 * real_healthy["rms"].max()
    assert syn_severe["rms"].min() > 2.0 * syn_healthy["rms"].max()
    # severe RMS and kurtosis within the range of the real late snapshots (2.6-5.6 g; 8.5-11)
    assert 0.3 < np.median(syn_severe["rms"]) / np.median(real_late["rms"]) < 3.0
    assert np.median(syn_healthy["kurtosis"]) == pytest.approx(
        np.median(real_healthy["kurtosis"]), abs=0.5
    )
    assert np.median(syn_severe["kurtosis"]) > 5.0 and np.median(real_late["kurtosis"]) > 5.0


def test_standstill_has_no_shaft_or_impact_components():
    x = snap({"outer_race": 1.0, "imbalance": 1.0}, shaft=0.0)
    healthy = snap({}, shaft=0.0)
    assert np.all(np.isfinite(x)) and abs(x.mean()) < 0.05
    # only the (damage-raised) background remains: Gaussian, no impacts
    assert abs(float(condition_indicators(x, FS)["kurtosis"]) - 3.0) < 0.3
    assert np.std(x) > np.std(healthy)


# -- real-rig texture: background impacts, shaft-rate modulation, level drift ----------------


def test_new_texture_parameters_off_by_default_change_nothing():
    """Defaults draw nothing new: the same generator gives the same snapshot."""
    on_defaults = VibrationParams(impact_severity_exponent=1.0, background_impact_rate_hz=0.0,
                                  background_modulation_depth=0.0, background_drift_sigma=0.0)
    for sev in ({}, {"outer_race": 0.4}):
        np.testing.assert_array_equal(snap(sev, seed=3), snap(sev, seed=3, params=on_defaults))
    np.testing.assert_array_equal(snap({}, seed=3), snap({}, seed=3, background_scale=1.0))


def test_background_scale_scales_the_healthy_level():
    quiet = VibrationParams(sensor_noise_g=0.0, shaft_harmonics_g=())
    a = snap({}, seed=5, params=quiet)
    b = snap({}, seed=5, params=quiet, background_scale=2.5)
    np.testing.assert_allclose(b, 2.5 * a, rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="background_scale"):
        snap({}, background_scale=-1.0)


def test_shaft_rate_modulation_raises_kurtosis_as_the_formula_keeps_rms():
    m = 0.5
    params = VibrationParams(background_modulation_depth=m, sensor_noise_g=0.0)
    x = snap({}, seed=1, duration=20.0, params=params)
    ref = snap({}, seed=1, duration=20.0, params=PARAMS.model_copy(update={"sensor_noise_g": 0.0}))
    ci, ci0 = condition_indicators(x, FS), condition_indicators(ref, FS)
    expected = 3.0 * (1 + 3 * m**2 + 3 * m**4 / 8) / (1 + m**2 / 2) ** 2  # 4.20
    assert abs(float(ci["kurtosis"]) - expected) < 0.2
    assert abs(float(ci0["kurtosis"]) - 3.0) < 0.1
    assert abs(float(ci["rms"]) / float(ci0["rms"]) - 1.0) < 0.03


def test_random_background_impacts_are_poisson_and_impulsive():
    imp = VibrationParams(background_impact_rate_hz=40.0, background_impact_g=1.0, background_impact_cv=1.0)
    k_def = [float(condition_indicators(snap({}, seed=s, duration=0.1, geometry=PRONOSTIA, shaft=30.0), FS)["kurtosis"])
             for s in range(20)]
    k_imp = [float(condition_indicators(snap({}, seed=s, duration=0.1, geometry=PRONOSTIA, shaft=30.0, params=imp),
                                        FS)["kurtosis"]) for s in range(20)]
    assert np.median(k_def) < 3.3 < np.median(k_imp)
    assert np.std(k_imp) > 3 * np.std(k_def)  # intermittent bursts, not a steady shift
    # the impacts are not periodic: no envelope line at BPFO, unlike an outer-race defect
    bpfo = float(defect_frequencies(PRONOSTIA, 30.0)["bpfo"])

    def line_ratio(x):
        f, a = envelope_spectrum(x, FS)
        return _amp_near(f, a, bpfo) / float(np.median(a[(f > 50) & (f < 1000)]))

    random_ratio = line_ratio(snap({}, seed=2, duration=2.0, geometry=PRONOSTIA, shaft=30.0, params=imp))
    defect_ratio = line_ratio(snap({"outer_race": 0.1}, seed=2, duration=2.0, geometry=PRONOSTIA, shaft=30.0))
    assert defect_ratio > 3 * random_ratio


def test_impact_severity_exponent_makes_early_spalls_impulsive():
    early = VibrationParams(impact_severity_exponent=0.5)
    x1 = [snap({"outer_race": 0.1}, seed=s, duration=0.1, geometry=PRONOSTIA, shaft=30.0) for s in range(8)]
    x5 = [snap({"outer_race": 0.1}, seed=s, duration=0.1, geometry=PRONOSTIA, shaft=30.0, params=early) for s in range(8)]
    k1 = np.median([condition_indicators(x, FS)["kurtosis"] for x in x1])
    k5 = np.median([condition_indicators(x, FS)["kurtosis"] for x in x5])
    assert k5 > k1 + 1.0
    # at severity 1 the exponent does not matter
    np.testing.assert_array_equal(snap({"outer_race": 1.0}, seed=4), snap({"outer_race": 1.0}, seed=4, params=early))


def test_background_drift_is_a_mean_one_ou_log_level():
    from twinforge.processes.vibration import background_drift

    t = np.arange(0.0, 400 * 3600.0, 60.0)
    x = background_drift(t, 0.3, 3600.0, np.random.default_rng(0))
    z = np.log(x)
    assert abs(x.mean() - 1.0) < 0.05
    assert abs(z.std() - 0.3) < 0.03
    lag = int(3600 / 60)
    r = np.corrcoef(z[:-lag], z[lag:])[0, 1]
    assert abs(r - np.exp(-1.0)) < 0.1
    # the path does not depend on which times are asked for, nor on a longer horizon
    y = background_drift(t[::7], 0.3, 3600.0, np.random.default_rng(0), horizon_s=2 * t[-1])
    np.testing.assert_allclose(y, x[::7], rtol=1e-12)
    np.testing.assert_array_equal(background_drift(t, 0.0, 3600.0, np.random.default_rng(0)), np.ones_like(t))
    with pytest.raises(ValueError):
        background_drift(t, -0.1, 3600.0, np.random.default_rng(0))
