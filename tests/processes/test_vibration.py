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


def mean_envelope(severities, n=5, band=(800.0, 6_000.0), **kw):
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
    # without the load zone the line stays but the sidebands sink towards the floor
    f2, a2 = mean_envelope({"inner_race": 0.4}, load_zone=False)
    floor2 = np.median(a2[(f2 > 50.0) & (f2 < 600.0)])
    assert _amp_near(f2, a2, bpfi) > 5.0 * floor2

    def sideband_ratio(freqs, amp):
        return np.mean([_amp_near(freqs, amp, hz) for hz in sidebands]) / _amp_near(freqs, amp, bpfi)

    assert sideband_ratio(f, a) > 3.0 * sideband_ratio(f2, a2)


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
def test_rms_grows_with_severity_and_race_spalls_become_impulsive(mode):
    levels = [0.0, 0.2, 0.5, 1.0]
    stats = [condition_indicators(batch({mode: s}), FS) for s in levels]
    rms = [np.median(s["rms"]) for s in stats]
    kurt = [np.median(s["kurtosis"]) for s in stats]
    assert np.all(np.diff(rms) > 0.0)
    if mode == "rolling_element":  # mostly rolling noise: barely more impulsive than healthy
        assert max(kurt) < kurt[0] + 1.5
    else:
        assert kurt[0] < kurt[1] < kurt[2]  # impulsiveness rises (and falls again as the spall roughens)
        assert kurt[3] > kurt[0] + 2.0


def test_a_large_rough_spall_is_less_impulsive_than_a_small_one():
    """Fault size is not monotonic in the signature: roughness grows as s^2, strikes as s."""
    cwru = VibrationParams(sample_rate_hz=FS, distributed_damage_gain=1.0)
    k = {s: np.median([condition_indicators(snap({"inner_race": s}, seed=j, params=cwru, duration=0.5), FS)["kurtosis"]
                       for j in range(6)]) for s in (0.25, 1.0)}
    assert k[0.25] > k[1.0] + 2.0


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
    # nothing rolls: no strikes, no roughness, no harmonics; only the healthy background
    np.testing.assert_array_equal(x, healthy)
    assert abs(float(condition_indicators(x, FS)["kurtosis"]) - 3.0) < 0.3


# -- real-rig texture: background impacts, shaft-rate modulation, level drift ----------------


def test_new_texture_parameters_off_by_default_change_nothing():
    """Defaults draw nothing new: the same generator gives the same snapshot."""
    on_defaults = VibrationParams(impact_severity_exponent=1.0, background_impact_rate_hz=0.0,
                                  background_modulation_depth=0.0, background_drift_sigma=0.0)
    for sev in ({}, {"outer_race": 0.4}):
        np.testing.assert_array_equal(snap(sev, seed=3), snap(sev, seed=3, params=on_defaults))
    np.testing.assert_array_equal(snap({}, seed=3), snap({}, seed=3, background_scale=1.0))


def test_background_scale_scales_the_healthy_level():
    quiet = VibrationParams(sensor_noise_g=0.0, shaft_harmonics_g=(), line_harmonics_g=())
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


# -- defect physics: geometry, load and speed, ball faults, signs, transfer paths, sensor -------

from twinforge.processes.degradation import FAULT_MODES  # noqa: E402
from twinforge.processes.vibration import _defect_forces, _Streams, spall_width_mm  # noqa: E402

QUIET = VibrationParams(background_rms_g=0.0, sensor_noise_g=0.0, shaft_harmonics_g=(), line_harmonics_g=(),
                        distributed_damage_gain=0.0)


def _forces(params, severities, shaft=30.0, load=4000.0, duration=0.5, seed=0):
    exc = np.zeros(round(duration * FS))
    sev = {m: 0.0 for m in FAULT_MODES} | severities
    _defect_forces(exc, sev, shaft, load, PRONOSTIA, params, _Streams(np.random.default_rng(seed)), FS, 0.0, True)
    return exc


def test_spall_width_is_the_severity_times_the_width_at_failure():
    p = VibrationParams(spall_width_at_failure_mm=0.711)
    np.testing.assert_allclose(spall_width_mm([0.25, 0.5, 1.0], p), [0.17775, 0.3555, 0.711])
    assert spall_width_mm(0.25, p.model_copy(update={"impact_severity_exponent": 0.5})) == pytest.approx(0.3555)


def test_entry_drop_and_exit_strike_are_a_crossing_time_apart_with_opposite_signs():
    from twinforge.processes.bearing import surface_speeds

    width_mm = 3.0
    p = QUIET.model_copy(update={"slip_fraction": 0.0, "impact_amplitude_cv": 0.0, "entry_impact_ratio": 0.5,
                                 "spall_width_at_failure_mm": width_mm})
    exc = _forces(p, {"outer_race": 1.0})
    # areas: every exit strike is matched by an entry drop of half its size
    assert -exc[exc < 0].sum() / exc[exc > 0].sum() == pytest.approx(0.5, rel=0.05)
    crossing = width_mm * 1e-3 / surface_speeds(PRONOSTIA, 30.0)["outer_race"] * FS  # samples
    entries = np.flatnonzero((exc < 0) & (np.r_[0.0, exc[:-1]] >= 0))  # starts of the entry drops
    exits = np.flatnonzero(exc > 0.2 * exc.max())
    lags = [exits[exits > e][0] - e for e in entries[:-1] if (exits > e).any()]
    assert np.mean(lags) == pytest.approx(crossing, rel=0.15)  # exit times scatter by a quarter


def test_an_outer_race_defect_fades_outside_the_load_zone():
    rms = []
    for angle in (0.0, 45.0, 80.0, 120.0, 180.0):
        p = QUIET.model_copy(update={"outer_race_defect_angle_deg": angle})
        rms.append(float(np.std(snap({"outer_race": 0.5}, geometry=PRONOSTIA, shaft=30.0, params=p, duration=0.5))))
    assert rms[0] > rms[1] > rms[2] > 0.0
    assert rms[3] == rms[4] == 0.0  # unloaded: nothing presses the elements on the spall
    preloaded = QUIET.model_copy(update={"outer_race_defect_angle_deg": 180.0, "element_preload_n": 50.0})
    weak = float(np.std(snap({"outer_race": 0.5}, geometry=PRONOSTIA, shaft=30.0, params=preloaded, duration=0.5)))
    assert 0.0 < weak < 0.1 * rms[0]  # present but weak


def test_inner_race_modulation_depth_sets_the_shaft_sidebands():
    bpfi = float(defect_frequencies(CWRU, SHAFT_CWRU)["bpfi"])
    ratios = []
    for m in (0.0, 0.5, 1.0):
        p = PARAMS.model_copy(update={"inner_race_modulation_depth": m, "sample_rate_hz": FS})
        f, a = mean_envelope({"inner_race": 0.5}, params=p)
        ratios.append(0.5 * (_amp_near(f, a, bpfi - SHAFT_CWRU) + _amp_near(f, a, bpfi + SHAFT_CWRU)) / _amp_near(f, a, bpfi))
    assert ratios[0] < 0.15 < ratios[1] < ratios[2]


def test_strikes_scale_with_the_element_load_and_the_speed():
    p = QUIET.model_copy(update={"entry_impact_ratio": 0.3})
    x1 = snap({"outer_race": 0.5}, geometry=PRONOSTIA, shaft=30.0, params=p, radial_load_n=2000.0)
    x2 = snap({"outer_race": 0.5}, geometry=PRONOSTIA, shaft=30.0, params=p, radial_load_n=4000.0)
    np.testing.assert_allclose(x2, 2.0 * x1, rtol=1e-9, atol=1e-12)  # Q_max is proportional to F_r
    slow = [np.std(snap({"outer_race": 0.5}, seed=s, geometry=PRONOSTIA, shaft=15.0, params=p)) for s in range(4)]
    fast = [np.std(snap({"outer_race": 0.5}, seed=s, geometry=PRONOSTIA, shaft=30.0, params=p)) for s in range(4)]
    # twice the speed: strikes twice as strong and twice as frequent, power x 8
    assert np.mean(fast) / np.mean(slow) == pytest.approx(8.0**0.5, rel=0.15)


def test_rolling_element_faults_are_mostly_not_impulsive_but_cage_modulated():
    fd = defect_frequencies(CWRU, SHAFT_CWRU)
    struck = PARAMS.model_copy(update={"rolling_element_impulsiveness": 1.0, "rolling_element_contact_fraction": 1.0})
    # a small ball spall (0.2: 0.4 mm), as loud as the healthy machine: kurtosis near 3 unless struck
    k_default = np.median([condition_indicators(snap({"rolling_element": 0.2}, seed=s, duration=0.5), FS)["kurtosis"]
                           for s in range(10)])
    k_struck = np.median([condition_indicators(snap({"rolling_element": 0.2}, seed=s, duration=0.5, params=struck),
                                               FS)["kurtosis"] for s in range(10)])
    assert k_default < 4.0 and k_struck > k_default + 1.5
    f, a = mean_envelope({"rolling_element": 0.5})
    _, a_struck = mean_envelope({"rolling_element": 0.5}, params=struck)
    _, healthy = mean_envelope({})
    ftf, bsf2 = float(fd["ftf"]), 2.0 * float(fd["bsf"])
    assert _amp_near(f, a, ftf) > 3.0 * _amp_near(f, healthy, ftf)  # energy modulated at the cage rate
    assert _amp_near(f, a, bsf2) < 0.5 * _amp_near(f, a_struck, bsf2)  # a weak 2 x BSF line


def test_a_ball_spall_out_of_the_contact_track_is_invisible():
    hidden = PARAMS.model_copy(update={"rolling_element_contact_fraction": 0.0, "distributed_damage_gain": 0.0})
    np.testing.assert_array_equal(snap({"rolling_element": 0.8}, seed=2, params=hidden), snap({}, seed=2, params=hidden))


def test_contact_telegraph_spends_its_fraction_of_the_time_in_contact():
    from twinforge.processes.vibration import _state_at, _telegraph

    edges, on0 = _telegraph(2000.0, 1.0, 0.3, np.random.default_rng(0))
    t = np.linspace(0.0, 2000.0, 200_001)
    assert _state_at(t, edges, on0).mean() == pytest.approx(0.3, abs=0.03)
    assert edges.size == pytest.approx(2 * 2000, rel=0.1)  # one on/off cycle per cycle_s


def test_flipping_every_mode_negates_the_bearing_path_and_default_faults_are_not_one_signed():
    p = QUIET
    flipped = p.model_copy(update={"resonances": tuple((f, z, -g) for f, z, g in p.resonances)})
    x = snap({"outer_race": 0.5}, geometry=PRONOSTIA, shaft=30.0, params=p, duration=0.2)
    np.testing.assert_allclose(snap({"outer_race": 0.5}, geometry=PRONOSTIA, shaft=30.0, params=flipped,
                                    duration=0.2), -x, atol=1e-12)
    for mode in ("outer_race", "inner_race"):
        skew = np.median([condition_indicators(snap({mode: 0.6}, seed=s, geometry=PRONOSTIA, shaft=30.0,
                                                    duration=0.1), FS)["skewness"] for s in range(20)])
        assert abs(skew) < 0.35, mode
    # the same strikes through modes of one sign are skewed: the test can fail
    one_sign = PARAMS.model_copy(update={"resonances": tuple((f, z, abs(g)) for f, z, g in PARAMS.resonances),
                                         "entry_impact_ratio": 0.0})
    skew = np.median([condition_indicators(snap({"outer_race": 0.6}, seed=s, geometry=PRONOSTIA, shaft=30.0,
                                                duration=0.1, params=one_sign), FS)["skewness"] for s in range(20)])
    assert skew > 0.5


def test_background_modes_set_the_healthy_level_and_spectrum():
    p = QUIET.model_copy(update={"background_rms_g": 0.2,
                                 "background_resonances": ((500.0, 0.05, 1.0), (3000.0, 0.03, 3.0))})
    x = snap({}, duration=8.0, params=p)
    assert np.std(x) == pytest.approx(0.2, rel=0.03)
    f, psd = signal.welch(x, FS, nperseg=4096)
    low = psd[(f > 250) & (f < 750)].sum()
    high = psd[(f > 2500) & (f < 3500)].sum()
    assert high / low == pytest.approx(3.0, rel=0.25)


def test_shaft_and_line_harmonics_land_on_their_lines():
    p = QUIET.model_copy(update={"shaft_harmonics_g": (0.1, 0.05, 0.02), "line_frequency_hz": 50.0,
                                 "line_harmonics_g": (0.0, 0.03)})
    x = snap({}, duration=2.0, params=p)
    t = np.arange(x.size) / FS
    w = signal.windows.hann(x.size)

    def at(hz):
        return float(2.0 * np.abs(np.sum(w * x * np.exp(-2j * np.pi * hz * t))) / w.sum())

    for k, amp in enumerate((0.1, 0.05, 0.02), start=1):
        assert at(k * SHAFT_CWRU) == pytest.approx(amp, rel=0.02)
    assert at(100.0) == pytest.approx(0.03, rel=0.02) and at(50.0) < 1e-3


def test_sensor_mounting_resonance_and_band_limit():
    base = QUIET.model_copy(update={"background_rms_g": 0.1, "background_resonances": ((3000.0, 0.9, 1.0),)})
    mounted = base.model_copy(update={"sensor_resonance_hz": 6000.0, "sensor_resonance_damping": 0.05})
    limited = base.model_copy(update={"sensor_lowpass_hz": 2000.0})
    f, p0 = signal.welch(snap({}, duration=4.0, params=base), FS, nperseg=2048)
    _, p1 = signal.welch(snap({}, duration=4.0, params=mounted), FS, nperseg=2048)
    _, p2 = signal.welch(snap({}, duration=4.0, params=limited), FS, nperseg=2048)
    peak = np.argmin(np.abs(f - 6000.0))
    assert p1[peak] / p0[peak] == pytest.approx((1 / (2 * 0.05)) ** 2, rel=0.35)  # 1 / (2 zeta) in amplitude
    assert np.allclose(p1[f < 1000] / p0[f < 1000], 1.0, rtol=0.1)  # flat below
    assert p2[(f > 6000) & (f < 8000)].sum() < 0.05 * p0[(f > 6000) & (f < 8000)].sum()


def test_each_part_draws_from_its_own_stream():
    p = PARAMS.model_copy(update={"line_harmonics_g": ()})
    with_line = p.model_copy(update={"line_harmonics_g": (0.0, 0.05)})
    diff = snap({"outer_race": 0.3}, seed=7, params=with_line) - snap({"outer_race": 0.3}, seed=7, params=p)
    t = np.arange(diff.size) / FS
    design = np.column_stack([np.cos(2 * np.pi * 100.0 * t), np.sin(2 * np.pi * 100.0 * t)])
    coef, *_ = np.linalg.lstsq(design, diff, rcond=None)
    assert np.hypot(*coef) == pytest.approx(0.05, rel=1e-6)
    np.testing.assert_allclose(diff, design @ coef, atol=1e-9)  # nothing else moved


RIG_LINES = {"outer_race": ("bpfo", 1.0), "inner_race": ("bpfi", 1.0), "rolling_element": ("bsf", 2.0),
             "cage": ("ftf", 1.0)}  # a cage fault's harmonics include BPFO = Z x FTF: it is checked for FTF only


@pytest.mark.parametrize("rig", ["cwru_6205_12k", "cwru_6205_48k", "mfpt", "pronostia"])
def test_every_defect_type_raises_its_own_line_most_on_every_rig_preset(rig):
    from twinforge.campaign.spec import load_spec
    from twinforge.processes.condition import cepstral_prewhiten, squared_envelope_spectrum

    cfg = load_spec(Path(twinforge.__file__).parent / "data" / "presets" / f"{rig}.toml").config
    vib = cfg.vibration.model_copy(update={"rolling_element_impulsiveness": 1.0, "rolling_element_contact_fraction": 1.0,
                                           "outer_race_defect_angle_deg": 0.0, "background_impact_rate_hz": 0.0,
                                           "background_modulation_depth": 0.0,  # the rig's texture off
                                           "distributed_damage_gain": 0.0})
    shaft = cfg.shaft_speed_rpm / 60.0
    fd = defect_frequencies(cfg.geometry, shaft)
    lines = {mode: mult * float(fd[key]) for mode, (key, mult) in RIG_LINES.items()}

    def ses_at(severities):
        x = np.array([render_snapshot(10.0 * k, 1.0, cfg.sample_rate_hz, shaft, cfg.geometry, severities, vib,
                                      np.random.default_rng(k), radial_load_n=cfg.radial_load_n) for k in range(3)])
        f, ses = squared_envelope_spectrum(cepstral_prewhiten(x), cfg.sample_rate_hz)
        ses = ses.mean(axis=0)
        return {m: float(ses[np.abs(f - hz) <= max(0.015 * hz, f[1])].max()) for m, hz in lines.items()}

    healthy = ses_at({})
    for mode in ("outer_race", "inner_race", "rolling_element"):
        rise = {m: v / healthy[m] for m, v in ses_at({mode: 1.0}).items()}
        if mode == "rolling_element":  # carried round by the cage: 2 x BSF and FTF both stand out
            assert rise["rolling_element"] > 3.0 and rise["cage"] > 3.0, rise
        else:
            assert max(rise, key=rise.get) == mode and rise[mode] > 3.0, (mode, rise)


def test_fault_snr_db_is_the_defect_power_over_the_rest_of_the_snapshot():
    """The visibility label: a ten times louder healthy machine hides the same spall 20 dB deeper."""
    from twinforge.processes.vibration import fault_snr_db

    quiet = PARAMS.model_copy(update={"sensor_noise_g": 0.0, "shaft_harmonics_g": (), "line_harmonics_g": ()})
    loud = quiet.model_copy(update={"background_rms_g": 10.0 * quiet.background_rms_g})
    x1, f1 = snap({"outer_race": 0.5}, geometry=PRONOSTIA, shaft=30.0, params=quiet, duration=0.5, return_fault=True)
    x2, f2 = snap({"outer_race": 0.5}, geometry=PRONOSTIA, shaft=30.0, params=loud, duration=0.5, return_fault=True)
    np.testing.assert_allclose(f1, f2, rtol=1e-12, atol=1e-12)  # the defect's vibration does not change
    assert fault_snr_db(x2, f2) == pytest.approx(fault_snr_db(x1, f1) - 20.0, abs=1e-6)
    healthy, none = snap({}, geometry=PRONOSTIA, shaft=30.0, params=quiet, duration=0.5, return_fault=True)
    assert not none.any() and fault_snr_db(healthy, none) == -np.inf


def test_the_entry_drop_is_linear_in_the_element_load_whatever_the_strike_exponent():
    # Sawalhi & Randall 2011: the entry releases the element's static load; the exit strike
    # follows the load as load^impact_load_exponent (here 0: the same strike at every load)
    p = QUIET.model_copy(update={"slip_fraction": 0.0, "impact_amplitude_cv": 0.0, "entry_impact_ratio": 0.5,
                                 "impact_load_exponent": 0.0, "load_distribution_factor": 10.0})
    drops, strikes = [], []
    for load in (1000.0, 4000.0):
        exc = _forces(p, {"outer_race": 1.0}, load=load)
        drops.append(-exc[exc < 0].sum())
        strikes.append(exc[exc > 0].sum())
    assert strikes[1] == pytest.approx(strikes[0], rel=0.01)
    assert drops[1] / drops[0] == pytest.approx(4.0, rel=0.02)


def test_an_entry_path_of_low_damped_modes_makes_the_fault_response_one_sided():
    # The entry (unloading) drop is a smooth, one-signed force. Through the high bearing
    # resonances it barely shows; through a low, well-damped support mode (Sawalhi & Randall
    # 2011: entry = a low-frequency step response) it is seen quasi-statically and keeps its
    # sign: the response leans to one side, with the sign of the mode at the sensor; a lightly
    # damped low mode rings both ways instead.
    base = QUIET.model_copy(update={"resonances": ((3_000.0, 0.02, 1.0), (5_000.0, 0.02, -1.0), (9_000.0, 0.02, 1.0)),
                                    "impact_amplitude_cv": 0.2})

    def entry_response(entry):
        xs = []
        for ratio in (0.0, 0.8):  # the same draws: the difference is the entry's response alone
            p = base.model_copy(update={"entry_resonances": entry, "entry_impact_ratio": ratio})
            xs.append(snap({"outer_race": 1.0}, geometry=PRONOSTIA, shaft=30.0, params=p, duration=1.0,
                           radial_load_n=4000.0, return_fault=True)[1])
        e = xs[1] - xs[0]
        return float(np.mean((e - e.mean()) ** 3) / np.std(e) ** 3), float(np.std(e) / np.std(xs[0]))

    skew_none, rms_none = entry_response(None)
    skew_down, rms_down = entry_response(((800.0, 0.3, 3.0),))
    skew_up, rms_up = entry_response(((800.0, 0.3, -3.0),))
    skew_ringing, _ = entry_response(((800.0, 0.05, 3.0),))
    assert rms_none < 0.1 and rms_down > 0.3 and rms_down == pytest.approx(rms_up)
    assert skew_down < -1.5 and skew_up > 1.5  # a negative force: the sign of the mode decides
    assert abs(skew_ringing) < 0.5
    with pytest.raises(ValidationError, match="entry resonance"):
        VibrationParams(entry_resonances=((800.0, 1.5, 1.0),))


def _strikes(exc):
    """Times (samples) and sizes of the exit strikes (runs of positive samples: a strike is
    shared between the two samples around its time) of a forces array."""
    pos = exc > 0.0
    starts = np.flatnonzero(pos & ~np.r_[False, pos[:-1]])
    return starts, np.add.reduceat(np.where(pos, exc, 0.0), starts)


def test_a_rotating_load_presses_an_inner_race_spall_without_a_radial_load():
    p = QUIET.model_copy(update={"slip_fraction": 0.0, "impact_amplitude_cv": 0.0, "entry_impact_ratio": 0.0})
    assert not np.any(_forces(p, {"inner_race": 1.0}, load=0.0))  # nothing presses the elements on it
    # a load turning with the shaft presses the element on the spall at a constant angle: equal strikes
    turning = p.model_copy(update={"rotating_load_n": 4000.0})
    _, amps = _strikes(_forces(turning, {"inner_race": 1.0}, load=0.0))
    assert amps.size > 50 and np.std(amps) < 0.01 * np.mean(amps)
    # the same load standing still: the spall turns through the load zone, strikes modulated at f_r
    _, amps_static = _strikes(_forces(p, {"inner_race": 1.0}, load=4000.0))
    assert np.min(amps_static) < 0.2 * np.max(amps_static)
    assert np.max(amps) == pytest.approx(np.max(amps_static), rel=0.05)  # same element load at the zone centre
    # seen by the accelerometer: impulsive at zero radial load (kurtosis >> 3), weak shaft sidebands
    pr = PARAMS.model_copy(update={"sample_rate_hz": FS, "rotating_load_n": 4000.0})
    bpfi = float(defect_frequencies(CWRU, SHAFT_CWRU)["bpfi"])
    k_static = condition_indicators(snap({"inner_race": 0.5}, radial_load_n=0.0), FS)["kurtosis"]
    k_turning = condition_indicators(snap({"inner_race": 0.5}, params=pr, radial_load_n=0.0), FS)["kurtosis"]
    assert k_static < 3.5 and k_turning > 10.0

    def sidebands(**kw):
        f, a = mean_envelope({"inner_race": 0.5}, n=3, **kw)
        return 0.5 * (_amp_near(f, a, bpfi - SHAFT_CWRU) + _amp_near(f, a, bpfi + SHAFT_CWRU)) / _amp_near(f, a, bpfi)

    assert sidebands(params=pr, radial_load_n=0.0) < 0.5 * sidebands(radial_load_n=4000.0)


def test_a_rotating_load_sweeps_an_outer_race_spall_once_per_revolution():
    p = QUIET.model_copy(update={"slip_fraction": 0.0, "impact_amplitude_cv": 0.0, "entry_impact_ratio": 0.0,
                                 "outer_race_defect_angle_deg": 180.0})
    assert not np.any(_forces(p, {"outer_race": 1.0}, load=2000.0))  # opposite the load zone: silent
    turning = p.model_copy(update={"rotating_load_n": 4000.0})
    idx, amps = _strikes(_forces(turning, {"outer_race": 1.0}, load=2000.0, duration=1.0))
    assert amps.size > 10
    # the resultant of 2000 N down and 4000 N turning points at the spall (180 deg) when the
    # rotating load does (shaft angle pi, defect_angle_rad = 0), away from it near shaft angle 0
    angle = np.abs(np.angle(np.exp(1j * 2.0 * np.pi * 30.0 * idx / FS)))
    assert not np.any(angle < np.pi / 3.0)  # the resultant points away from the spall: no strike
    assert amps.max() == amps[angle > 2.0 * np.pi / 3.0].max()
    assert amps.min() < 0.5 * amps.max()


def test_rotating_load_is_validated_and_off_by_default():
    with pytest.raises(ValidationError, match=r"rotating_load_n\n.*greater than or equal to 0"):
        VibrationParams(rotating_load_n=-1.0)
    with pytest.raises(ValidationError, match=r"rotating_load_angle_deg\n.*less than or equal to 180"):
        VibrationParams(rotating_load_angle_deg=200.0)
    np.testing.assert_array_equal(snap({"inner_race": 0.4}, seed=3),
                                  snap({"inner_race": 0.4}, seed=3, params=PARAMS.model_copy(
                                      update={"rotating_load_n": 0.0, "rotating_load_angle_deg": 90.0})))
