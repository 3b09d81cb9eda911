"""The machinery twin end to end: spectra of its snapshots, degradation labels, events, determinism."""

import math

import numpy as np
import pandas as pd
import pytest

from twinforge.campaign.runner import build_twin, generate, plan_runs
from twinforge.campaign.spec import SpecError, load_spec
from twinforge.core.engine import simulate
from twinforge.core.rng import RngStreams
from twinforge.export import open_dataset
from twinforge.processes.bearing import BEARING_PRESETS, defect_frequencies
from twinforge.processes.condition import envelope_spectrum
from twinforge.twins.machine import MachineConfig, MachineDiversity, MachineTwin, draw_machine

START = "2024-01-01"


def spec_of(days=0.1, period="10s", events=(), diversity=False, seed=11, chunk=None, **machine):
    extra = {"chunk_samples": chunk} if chunk else {}
    return load_spec(None, twin="machine", runs=1, days=days, period=period, seed=seed, start=START,
                     machine=machine, diversity=diversity, events=list(events), **extra)


def run(spec, run_id=0, chunk_samples=None):
    """(samples DataFrame, events, twin, waveforms (n, m)) of one run, as the runner makes it."""
    twin = build_twin(spec, plan_runs(spec, spec.seed)[run_id])
    grid = twin.run_grid(spec.grid())
    rendered = list(simulate(twin, grid, chunk_samples=chunk_samples or spec.chunk_samples))
    tables = [r.tables["snapshots"] for r in rendered]
    blocks = [r.samples for r in rendered]
    df = pd.DataFrame({k: np.concatenate([b[k] for b in blocks]) for k in blocks[0]})
    df["t_s"] = grid.t_s()
    waves = np.concatenate([t["accel_g"] for t in tables])
    assert np.array_equal(np.concatenate([t["snapshot"] for t in tables]), np.arange(len(df)))
    return df, twin.events(run_id), twin, waves


def fault_event(kind, minutes=0.0, hours=2.0, severity=0.6):
    start = pd.Timestamp(START) + pd.Timedelta(minutes=minutes)
    return {"type": kind, "start": str(start), "duration_h": hours, "severity": severity}


@pytest.fixture(scope="module")
def to_failure():
    """One PRONOSTIA-like machine run to failure at 30 s spacing (about 250 snapshots)."""
    return run(spec_of(days=1, period="30s", seed=3, until_failure=True, sample_rate_hz=12_800.0))


# -- the vibration physics seen through the twin ----------------------------------------


def test_outer_race_envelope_peaks_at_bpfo():
    spec = spec_of(days=60 / 86_400, snapshot_duration_s=1.0, fault_modes=[],
                   events=[fault_event("bearing_outer_race", severity=0.6)])
    df, _, twin, waves = run(spec)
    fs = twin.config.sample_rate_hz
    bpfo = float(defect_frequencies(BEARING_PRESETS["pronostia"], 30.0)["bpfo"])
    f, a = envelope_spectrum(waves.astype(float), fs)
    inside = (f > 20) & (f < 1000)
    peaks = f[inside][np.argmax(a[:, inside], axis=1)]
    assert np.all(np.abs(peaks - bpfo) / bpfo < 0.01), (peaks, bpfo)
    assert (df.accel_env_bpfo_g > 4 * df.accel_env_bpfi_g).all()


def test_inner_race_envelope_has_bpfi_with_shaft_sidebands():
    spec = spec_of(days=60 / 86_400, snapshot_duration_s=1.0, fault_modes=[],
                   events=[fault_event("bearing_inner_race", severity=0.8)])
    _, _, twin, waves = run(spec)
    freqs = defect_frequencies(BEARING_PRESETS["pronostia"], 30.0)
    bpfi, fr = float(freqs["bpfi"]), 30.0
    f, a = envelope_spectrum(waves.astype(float), twin.config.sample_rate_hz)
    a = a.mean(axis=0)

    def line(target):
        return a[np.abs(f - target) <= 0.01 * target].max()

    floor = np.median(a[(f > 20) & (f < 1000)])
    inside = (f > 100) & (f < 1000)
    top = f[inside][np.argmax(a[inside])]  # the line or a shaft sideband: a deep load-zone modulation
    assert min(abs(top - hz) / hz for hz in (bpfi - fr, bpfi, bpfi + fr)) < 0.01
    assert line(bpfi) > 4 * floor
    assert line(bpfi - fr) > 4 * floor and line(bpfi + fr) > 4 * floor


def test_healthy_snapshots_are_gaussian_and_pronostia_like(to_failure):
    df, _, _, _ = to_failure
    healthy = df[df.health == 1.0]
    assert len(healthy) > 50
    assert 2.85 < healthy.accel_kurtosis.median() < 3.15
    assert 0.3 < healthy.accel_rms_g.median() < 0.6  # PRONOSTIA Bearing1_1: 0.45-0.56 g
    last = df.iloc[-1]
    assert last.accel_rms_g > 3 * healthy.accel_rms_g.median() and last.accel_kurtosis > 5


# -- degradation labels -------------------------------------------------------------------


def test_health_monotone_and_rul_true_by_construction(to_failure):
    df, ev, twin, _ = to_failure
    tf = twin.failure_s
    assert np.all(np.diff(df.health) <= 0) and df.health.iloc[0] == 1.0
    assert np.allclose(np.diff(df.rul_s.iloc[:-1]), -30.0, atol=1e-6)  # 1 s per s until failure
    np.testing.assert_allclose(df.rul_s, np.maximum(tf - df.t_s, 0.0), atol=1e-9)
    # until_failure: the last row is the first snapshot at or after the failure
    assert df.t_s.iloc[-1] >= tf > df.t_s.iloc[-2]
    assert df.rul_s.iloc[-1] == 0.0 and df.health.iloc[-1] == 0.0 and df.fault_severity.iloc[-1] == 1.0
    assert (df.health.iloc[:-1] > 0).all()
    assert 0.5 * 3600 < tf < 12 * 3600


def test_labels_follow_the_fault_events(to_failure):
    df, ev, twin, _ = to_failure
    fault = ev[ev.type == "bearing_outer_race"].iloc[0]
    failure = ev[ev.type == "machine_failure"].iloc[0]
    t0 = (fault.start - pd.Timestamp(START, tz="UTC")).total_seconds()
    np.testing.assert_allclose(t0, twin.onset_s["outer_race"], atol=1e-6)
    assert fault.end == failure.start
    inside = (df.t_s >= t0) & (df.t_s < twin.failure_s)
    assert (df.event[inside] == "bearing_outer_race").all() and (df.event[df.t_s < t0] == "").all()
    assert (df.event[df.t_s >= twin.failure_s] == "machine_failure").all()
    assert (df.fault[df.t_s < t0] == "").all() and (df.fault[df.fault_severity > 0] == "outer_race").all()
    assert (df.fault_severity[df.t_s <= t0] == 0).all()


def test_lifetimes_spread_like_pronostia():
    """Failure times of 300 default machines against the PRONOSTIA learning set (1.4-7.8 h)."""
    spec = load_spec(None, twin="machine", runs=300, period="10s", seed=0)
    grid = spec.grid()
    life_h = []
    for p in plan_runs(spec, 0):
        twin = build_twin(spec, p)
        twin.run_grid(grid)
        life_h.append(twin.failure_s / 3600.0)
    life_h = np.array(life_h)
    assert 2.5 < life_h.mean() < 4.5 and 0.45 < life_h.std() / life_h.mean() < 0.85
    assert 0.8 < np.mean((life_h > 1.0) & (life_h < 8.0)) < 0.98


# -- events ---------------------------------------------------------------------------------


def test_scheduled_fault_forces_the_defect():
    spec = spec_of(days=1200 / 86_400, fault_modes=[], events=[fault_event("bearing_outer_race", minutes=10, severity=0.5)])
    df, ev, twin, _ = run(spec)
    before, after = df[df.t_s < 600], df[df.t_s >= 600]
    assert (before.health == 1).all() and (before.fault == "").all()
    assert (after.fault == "outer_race").all() and (after.fault_severity >= 0.5).all()
    assert (after.health <= 0.5).all() and np.all(np.diff(df.health) <= 0)
    assert after.accel_env_bpfo_g.median() > 5 * before.accel_env_bpfo_g.median()
    assert after.accel_rms_g.median() > 2 * before.accel_rms_g.median()
    assert set(ev.type) == {"bearing_outer_race"} and ev.params.map(lambda p: (p or {}).get("injected") is True).any()


def test_imbalance_and_heat_wave():
    events = [fault_event("imbalance", minutes=10, hours=1 / 6, severity=1.0),
              {"type": "heat_wave", "start": START, "duration_h": 48, "severity": 10.0}]
    df, ev, twin, waves = run(spec_of(days=2400 / 86_400, fault_modes=[], events=events))
    inside = (df.t_s >= 600) & (df.t_s < 1200)
    assert (df.fault[inside] == "imbalance").all() and (df.fault[~inside] == "").all()
    # the `event` label holds the event that started last: the imbalance inside its interval,
    # the heat wave (started first) around it; severities in K and in [0, 1] are not compared
    assert (df.event[inside] == "imbalance").all() and (df.event[~inside] == "heat_wave").all()
    imb = ev[ev.type == "imbalance"].iloc[0]
    assert imb.start == pd.Timestamp(START, tz="UTC") + pd.Timedelta(minutes=10) and imb.severity == 1.0
    assert (df.health == 1).all()  # a temporary condition is no damage
    fs, n = twin.config.sample_rate_hz, waves.shape[1]
    spec_1x = np.abs(np.fft.rfft(waves.astype(float), axis=1))[:, round(30.0 * n / fs)] * 2 / n
    assert spec_1x[inside.to_numpy()].min() > 5 * spec_1x[~inside.to_numpy()].max()
    # the heat wave ramps the ambient up (half-cosine over 12 h): warmer at the end than at the start
    assert df.temp_ambient_c.iloc[-5:].mean() > df.temp_ambient_c.iloc[:5].mean() + 0.05
    assert "heat_wave" in set(ev.type)


def test_duty_cycle_changes_speed_and_load():
    duty = [{"duration_s": 300, "speed_factor": 1.0, "load_factor": 1.0},
            {"duration_s": 300, "speed_factor": 0.5, "load_factor": 1.5}]
    df, _, twin, _ = run(spec_of(days=1200 / 86_400, duty_cycle=duty))
    slow = (df.t_s % 600) >= 300
    assert (df.shaft_speed_rpm[~slow] == 1800).all() and (df.shaft_speed_rpm[slow] == 900).all()
    assert (df.radial_load_n[slow] == 6000).all()


# -- determinism ------------------------------------------------------------------------------


def test_the_snapshots_table_reads_back_and_holds_the_indicators_waveforms(tmp_path):
    # (same seed same bytes, snapshots included, is checked in tests/conformance)
    a = tmp_path / "a"
    generate(load_spec(None, twin="machine", runs=2, days=300 / 86_400, period="10s", seed=5,
                       machine={"sample_rate_hz": 12_000.0}), a, progress=False)
    ds = open_dataset(a)
    t = ds.table("snapshots")
    s = ds.samples()
    assert len(t) == len(s) and list(t.run_id.unique()) == [0, 1]
    x = np.asarray(t.accel_g.iloc[3], dtype=float)
    assert x.dtype == float and len(x) == round(0.1 * 12_000)
    np.testing.assert_allclose(np.sqrt(np.mean(x**2)), s.accel_rms_g.iloc[3])


# -- configuration ------------------------------------------------------------------------------


def test_config_ranges_and_diversity():
    with pytest.raises(SpecError, match="machine.sample_rate_hz"):
        spec_of(sample_rate_hz=500.0)
    with pytest.raises(SpecError, match="machine.fault_modes"):
        spec_of(fault_modes=["outer_race", "outer_race"])
    with pytest.raises(SpecError, match="machine.bearing"):
        spec_of(bearing="skf-9999")
    with pytest.raises(SpecError, match="diversity.fault_mode_probs"):
        load_spec(None, twin="machine", diversity={"fault_mode_probs": {"outer_race": 0.3}})
    base = MachineConfig()
    div = MachineDiversity(fault_mode_probs={"outer_race": 0.5, "inner_race": 0.5})
    drawn = [draw_machine(base, div, np.random.default_rng(i)) for i in range(40)]
    assert {d.fault_modes for d in drawn} == {("outer_race",), ("inner_race",)}
    assert len({d.radial_load_n for d in drawn}) == 40
    assert draw_machine(base, None, np.random.default_rng(0)) is base
    twin = MachineTwin(MachineConfig(snapshot_duration_s=2.0), RngStreams(0))
    with pytest.raises(ValueError, match="snapshot_duration_s"):
        twin.run_grid(load_spec(None, twin="machine", period="1s").grid())


def test_texture_spread_draws_per_machine_and_leaves_the_other_draws_alone():
    vib = {"background_impact_rate_hz": 20.0, "background_impact_g": 0.3}
    base = MachineConfig(vibration=vib)
    plain, spread = MachineDiversity(), MachineDiversity(background_impact_rate_sigma=0.8,
                                                         background_impact_g_sigma=0.4)
    a = [draw_machine(base, plain, np.random.default_rng(i)) for i in range(200)]
    b = [draw_machine(base, spread, np.random.default_rng(i)) for i in range(200)]
    # zero spread keeps the texture; the spread is lognormal around it with the given sigmas
    assert {m.vibration.background_impact_rate_hz for m in a} == {20.0}
    rate = np.log([m.vibration.background_impact_rate_hz / 20.0 for m in b])
    size = np.log([m.vibration.background_impact_g / 0.3 for m in b])
    assert abs(np.std(rate) - 0.8) < 0.1 and abs(np.std(size) - 0.4) < 0.05
    assert abs(np.mean(rate)) < 0.15 and abs(np.corrcoef(rate, size)[0, 1]) < 0.2
    # the texture is drawn after every other law: each machine is otherwise the one drawn without it
    for ma, mb in zip(a, b):
        assert ma.model_dump(exclude={"vibration"}) == mb.model_dump(exclude={"vibration"})
        assert ma.vibration.background_rms_g == mb.vibration.background_rms_g


def test_modulation_spread_draws_per_machine_and_leaves_the_texture_alone():
    vib = {"background_impact_rate_hz": 20.0, "background_impact_g": 0.3, "background_modulation_depth": 0.3}
    base = MachineConfig(vibration=vib)
    texture = MachineDiversity(background_impact_rate_sigma=0.8, background_impact_g_sigma=0.4)
    both = texture.model_copy(update={"background_modulation_sigma": 0.5})
    a = [draw_machine(base, texture, np.random.default_rng(i)) for i in range(300)]
    b = [draw_machine(base, both, np.random.default_rng(i)) for i in range(300)]
    assert {m.vibration.background_modulation_depth for m in a} == {0.3}
    depth = np.array([m.vibration.background_modulation_depth for m in b])
    assert depth.max() <= 1.0  # capped at the field's bound
    assert abs(np.std(np.log(depth[depth < 1.0] / 0.3)) - 0.5) < 0.08
    # drawn after the other laws: each machine is otherwise the one drawn without it
    for ma, mb in zip(a, b):
        assert ma.model_dump(exclude={"vibration"}) == mb.model_dump(exclude={"vibration"})
        assert ma.vibration.model_dump(exclude={"background_modulation_depth"}) == mb.vibration.model_dump(
            exclude={"background_modulation_depth"})


def test_rate_below_the_resonances_drops_them():
    twin = MachineTwin(MachineConfig(sample_rate_hz=12_000.0), RngStreams(0))
    assert all(f < 0.45 * 12_000 for f, _, _ in twin.vibration.resonances)
    assert math.isclose(twin.vibration.sample_rate_hz, 12_000.0)


def test_fault_mode_draw_does_not_depend_on_the_order_of_the_probabilities():
    a = MachineDiversity(fault_mode_probs={"outer_race": 0.5, "inner_race": 0.3, "rolling_element": 0.2})
    b = MachineDiversity(fault_mode_probs={"inner_race": 0.3, "rolling_element": 0.2, "outer_race": 0.5})
    for i in range(20):
        ca = draw_machine(MachineConfig(), a, RngStreams(3).child(f"run/{i}").generator("parameters"))
        cb = draw_machine(MachineConfig(), b, RngStreams(3).child(f"run/{i}").generator("parameters"))
        assert ca.fault_modes == cb.fault_modes


def test_background_texture_through_the_twin_is_chunk_free_and_drifts():
    vib = {"background_drift_sigma": 0.4, "background_drift_time_s": 900.0, "background_modulation_depth": 0.4,
           "background_impact_rate_hz": 20.0, "background_impact_g": 0.3}
    spec = spec_of(days=1800 / 86_400, fault_modes=[], vibration=vib, sample_rate_hz=12_800.0)
    a, _, _, wa = run(spec)
    b, _, _, wb = run(spec, chunk_samples=13)
    pd.testing.assert_frame_equal(a, b)
    np.testing.assert_array_equal(wa, wb)
    # slow drift: consecutive snapshots' RMS are correlated, unlike the default's
    plain, _, _, _ = run(spec_of(days=1800 / 86_400, fault_modes=[], sample_rate_hz=12_800.0))
    def acf1(x):
        x = np.asarray(x) - np.mean(x)
        return float(np.sum(x[:-1] * x[1:]) / np.sum(x * x))
    assert acf1(a["accel_rms_g"]) > 0.5 > acf1(plain["accel_rms_g"])
    assert a["accel_kurtosis"].median() > plain["accel_kurtosis"].median() + 0.3


# -- rigs and domain randomisation ----------------------------------------------------------

from twinforge.twins.machine import rig_names, rig_preset  # noqa: E402


def test_rig_presets_ship_with_their_published_geometry_and_rates():
    assert set(rig_names()) >= {"cwru_6205_12k", "cwru_6205_48k", "mfpt", "pronostia"}
    expected = {"cwru_6205_12k": ("6205-2RS", 12_000.0, 1797.0), "cwru_6205_48k": ("6205-2RS", 48_000.0, 1797.0),
                "mfpt": ("mfpt-nice", 48_828.0, 1500.0)}
    for name, (bearing, rate, rpm) in expected.items():
        rig = rig_preset(name)
        assert (rig["bearing"], rig["sample_rate_hz"], rig["shaft_speed_rpm"]) == (bearing, rate, rpm)
        cfg = load_spec(f"twinforge/data/presets/{name}.toml").config
        assert cfg.bearing == bearing and cfg.sample_rate_hz == rate
    # the MFPT rig's defect frequencies at its 25 Hz shaft (BPFO 81.1 Hz, BPFI 118.9 Hz)
    fd = defect_frequencies(BEARING_PRESETS[rig_preset("mfpt")["bearing"]], 25.0)
    assert round(float(fd["bpfo"]), 1) == 81.1 and round(float(fd["bpfi"]), 1) == 118.9


def test_rig_probabilities_draw_each_machines_rig():
    div = MachineDiversity(rig_probs={"mfpt": 0.5, "cwru_6205_12k": 0.5})
    drawn = [draw_machine(MachineConfig(), div, np.random.default_rng(i)) for i in range(200)]
    rigs = [d.bearing for d in drawn]
    assert set(rigs) == {"mfpt-nice", "6205-2RS"} and abs(rigs.count("mfpt-nice") / 200 - 0.5) < 0.1
    for d in drawn:
        assert d.sample_rate_hz == (48_828.0 if d.bearing == "mfpt-nice" else 12_000.0)
        assert d.vibration.impact_reference_shaft_hz == (25.0 if d.bearing == "mfpt-nice" else 29.95)
    with pytest.raises(SpecError, match="diversity.rig_probs"):
        load_spec(None, twin="machine", diversity={"rig_probs": {"cwru_9999": 1.0}})
    with pytest.raises(SpecError, match="diversity.rig_probs"):
        load_spec(None, twin="machine", diversity={"rig_probs": {"mfpt": 0.4}})


def test_domain_randomisation_laws():
    base = MachineConfig()
    off = [draw_machine(base, MachineDiversity(), np.random.default_rng(i)) for i in range(300)]
    dr = MachineDiversity(outer_race_angle_sd_deg=360.0, inner_race_modulation_range=(0.1, 1.0),
                          rolling_element_impulsiveness_range=(0.0, 0.6), resonance_sign_flip=True,
                          resonance_damping_sigma=0.5, impact_scale_sigma=0.7)
    on = [draw_machine(base, dr, np.random.default_rng(i)) for i in range(300)]
    # defaults: an outer-race spall forms in the load zone (sd 20 deg), nothing else randomised
    assert np.std([m.vibration.outer_race_defect_angle_deg for m in off]) == pytest.approx(20.0, rel=0.15)
    assert {m.vibration.inner_race_modulation_depth for m in off} == {None}
    assert {tuple(r[1:] for r in m.vibration.resonances) for m in off} == {tuple(r[1:] for r in base.vibration.resonances)}
    # seeded defects anywhere round the race, depths and impulsiveness within their ranges
    angles = np.array([m.vibration.outer_race_defect_angle_deg for m in on])
    assert angles.min() >= -180.0 and angles.max() <= 180.0 and np.std(angles) > 80.0
    depth = np.array([m.vibration.inner_race_modulation_depth for m in on])
    assert depth.min() >= 0.1 and depth.max() <= 1.0 and np.std(depth) == pytest.approx(0.9 / 12**0.5, rel=0.15)
    iota = np.array([m.vibration.rolling_element_impulsiveness for m in on])
    assert iota.min() >= 0.0 and iota.max() <= 0.6
    signs = np.array([[np.sign(g) for _, _, g in m.vibration.resonances] for m in on])
    base_signs = np.sign([g for _, _, g in base.vibration.resonances])
    assert np.mean(signs != base_signs) == pytest.approx(0.5, abs=0.06)
    zeta = np.log([m.vibration.resonances[0][1] / base.vibration.resonances[0][1] for m in on])
    assert np.std(zeta) == pytest.approx(0.5, rel=0.15)
    scale = np.log([m.vibration.impact_outer_race_g / base.vibration.impact_outer_race_g for m in on])
    assert np.std(scale) == pytest.approx(0.7, rel=0.15)
    assert np.allclose(scale, np.log([m.vibration.impact_inner_race_g / base.vibration.impact_inner_race_g
                                      for m in on]))  # one multiplier for every defect


def test_the_radial_load_reaches_the_strikes_through_the_twin():
    ev = [fault_event("bearing_outer_race", minutes=0.0, severity=0.5)]
    amp = {}
    for load in (2000.0, 4000.0):
        spec = spec_of(days=60 / 86_400, events=ev, fault_modes=[], radial_load_n=load, sample_rate_hz=12_800.0,
                       vibration={"background_rms_g": 0.0, "sensor_noise_g": 0.0, "shaft_harmonics_g": [],
                                  "line_harmonics_g": [], "distributed_damage_gain": 0.0})
        df, _, _, waves = run(spec)
        amp[load] = float(np.std(waves[-1]))
    assert amp[4000.0] / amp[2000.0] == pytest.approx(2.0, rel=0.02)


# the mfpt preset's outer-race spall sits at the edge of the load zone at its 270 lbf (as fitted
# to the MFPT recordings: barely visible up to ~200 lbf), so its inner-race fault is the one that
# shows plainly there (the real one: about 2 g over a healthy level near 0.7 g)
@pytest.mark.parametrize("rig, kind, line, rms_rise", [("cwru_6205_12k", "bearing_outer_race", "bpfo", 3.0),
                                                       ("mfpt", "bearing_inner_race", "bpfi", 1.5)])
def test_a_rig_preset_runs_through_the_twin_and_its_fault_shows(rig, kind, line, rms_rise):
    ev = [fault_event(kind, minutes=0.5, severity=0.5)]
    spec = load_spec(f"twinforge/data/presets/{rig}.toml", days=60 / 86_400, seed=5, start=START,
                     machine={"fault_modes": [], "snapshot_duration_s": 0.5}, events=ev)
    df, _, twin, waves = run(spec)
    assert waves.shape == (len(df), round(0.5 * spec.config.sample_rate_hz))
    before, after = df[df.t_s < 30.0], df[df.t_s >= 30.0]
    assert after[f"accel_env_{line}_g"].min() > 3.0 * before[f"accel_env_{line}_g"].max()
    assert after.accel_rms_g.min() > rms_rise * before.accel_rms_g.max()


def test_domain_randomised_faults_start_inside_the_run(tmp_path):
    """bearing_faults_dr: a fault starts at a random time within the 40-s run, so a fault machine's
    first snapshot is healthy and the classifier sees healthy snapshots of every rig (a fault already
    in progress when the run opens would leave almost no healthy examples)."""
    from twinforge.campaign import load_campaign, run_campaign

    spec = load_campaign("bearing_faults_dr", classes={"none": 1, "bearing_inner_race": 1, "bearing_outer_race": 2,
                                                       "bearing_rolling_element": 2},
                         parameters={"snapshot_duration_s": {"dist": "uniform", "loc": 0.05, "scale": 1e-9}})
    assert all(not m.in_progress for m in spec.events.values())
    run_campaign(spec, tmp_path / "dr", workers=1, progress=False)
    s = open_dataset(tmp_path / "dr").samples(columns=["time", "fault"]).sort_values(["run_id", "time"])
    runs = [list(f.fillna("")) for _, f in s.groupby("run_id")["fault"]]
    faulty = [labels for labels in runs if any(labels)]
    assert len(runs) == 6 and faulty  # (an onset after the last snapshot leaves a run without a faulty one)
    for labels in runs:
        assert labels[0] == ""  # healthy when the run opens
    for labels in faulty:
        onset = next(i for i, v in enumerate(labels) if v)
        assert all(labels[onset:])  # faulty from the onset on: the spall stays


def test_explicit_settings_win_over_the_diversity_laws_that_would_redraw_them():
    spec = load_spec(None, twin="machine", runs=5, seed=4, machine={"shaft_speed_rpm": 1797.0, "fault_modes": ["inner_race"]},
                     diversity={"fault_mode_probs": None})
    assert spec.diversity.shaft_speed_sigma == 0.0 and spec.diversity.radial_load_sigma > 0.0
    plans = plan_runs(spec, spec.seed)
    assert {p.config.shaft_speed_rpm for p in plans} == {1797.0}  # never redrawn
    assert {p.config.flat()["shaft_speed_rpm"] for p in plans} == {1797.0}  # as runs.parquet records it
    assert len({p.config.radial_load_n for p in plans}) == 5  # the other laws still vary the machines
    # a spread written beside its setting is asked-for diversity around it (a calibrated preset)
    spec = load_spec(None, twin="machine", runs=5, seed=4, machine={"shaft_speed_rpm": 1797.0},
                     diversity={"shaft_speed_sigma": 0.05})
    assert len({p.config.shaft_speed_rpm for p in plan_runs(spec, spec.seed)}) == 5
    # a law that would replace the setting, written otherwise, and a rig setting beside rig_probs
    with pytest.raises(SpecError, match=r"^machine\.fault_modes and diversity\.fault_mode_probs = .* disagree"):
        load_spec(None, twin="machine", machine={"fault_modes": ["inner_race"]},
                  diversity={"fault_mode_probs": {"outer_race": 1.0}})
    with pytest.raises(SpecError, match=r"^machine\.sample_rate_hz is replaced by the rig that diversity\.rig_probs draws"):
        load_spec(None, twin="machine", machine={"sample_rate_hz": 20_000.0}, diversity={"rig_probs": {"mfpt": 1.0}})
    # diversity = false keeps the machine exactly as written
    assert load_spec(None, twin="machine", machine={"shaft_speed_rpm": 1797.0}, diversity=False).diversity is None


def test_mfpt_preset_outer_race_spall_enters_the_load_zone_only_under_high_load():
    """The mfpt preset as fitted to the MFPT development recordings (docs/machine.md, "MFPT fault
    physics"): its outer-race spall lies outside the load zone at light load (weak, barely
    impulsive, as the real recordings at 25-150 lbf) and inside it at 300 lbf (impulsive); its
    inner-race fault is impulsive and leans to one side under load (the entry path)."""
    from scipy import stats

    from twinforge.processes.vibration import render_snapshot
    from twinforge.twins.machine import MachineConfig, rig_preset

    cfg = MachineConfig.model_validate(rig_preset("mfpt"))
    vib = cfg.vibration.model_copy(update={"sample_rate_hz": cfg.sample_rate_hz})

    def indicators(mode: str, load_lbf: float) -> tuple[float, float]:
        x = render_snapshot(0.0, 1.0, None, 25.0, cfg.geometry, {mode: 1.0}, vib, np.random.default_rng(3),
                            radial_load_n=load_lbf * 4.4482216)
        return float(stats.kurtosis(x, fisher=False)), float(stats.skew(x))

    k_light, _ = indicators("outer_race", 150.0)
    k_heavy, _ = indicators("outer_race", 300.0)
    assert k_light < 5.0 < 10.0 < k_heavy
    k_inner, skew_inner = indicators("inner_race", 150.0)
    assert k_inner > 15.0 and skew_inner > 0.3
