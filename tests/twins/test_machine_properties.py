"""Property-based tests of the machine twin over its configuration space: any valid machine
runs, and its labels keep their meaning (health, rul_s, fault, event) in what it writes."""

import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from twinforge.campaign.runner import generate
from twinforge.campaign.spec import load_spec
from twinforge.export import open_dataset
from twinforge.processes.degradation import FAULT_MODES
from twinforge.processes.machine_thermal import bearing_friction_power_w, motor_loss_w
from twinforge.twins.machine import FAILURE_EVENT, FAULT_EVENT_TYPES, MachineConfig

#: Sensor noise (sd 0.1 K) and resolution allowance on the temperature bounds [K].
TOL_K = 1.0

machines = st.fixed_dictionaries({
    "bearing": st.sampled_from(["6205-2RS", "pronostia", "rexnord-za2115"]),
    "shaft_speed_rpm": st.floats(300.0, 6000.0),
    "radial_load_n": st.floats(500.0, 20_000.0),
    "sample_rate_hz": st.floats(12_000.0, 51_200.0),
    "snapshot_duration_s": st.floats(0.005, 0.05),
    "fault_modes": st.lists(st.sampled_from(FAULT_MODES), unique=True, max_size=len(FAULT_MODES)),
    "until_failure": st.booleans(),
    "start_warm": st.booleans(),
    "ambient_temp_c": st.floats(-20.0, 45.0),
    "ambient_daily_amplitude_k": st.floats(0.0, 8.0),
    "lubrication_quality": st.floats(0.3, 1.0),
})


def run_machine(machine: dict, period_s: int, n_snapshots: int, seed: int):
    """Write one machine run with the real writer; (samples, events) read back."""
    spec = load_spec(None, twin="machine", runs=1, days=n_snapshots * period_s / 86_400,
                     period=f"{period_s}s", start="2024-03-01", seed=seed, machine=machine,
                     diversity=False)
    with tempfile.TemporaryDirectory() as tmp:
        generate(spec, Path(tmp) / "m", progress=False)
        ds = open_dataset(Path(tmp) / "m")
        return ds.samples().reset_index(drop=True), ds.events.reset_index(drop=True)


def temperature_bounds(cfg: MachineConfig) -> tuple[float, float, float]:
    """Lowest ambient and the highest bearing and motor temperatures energy allows [degC]:
    each node sits between the ambient and its equilibrium at the largest heat input (worst
    friction: full damage and lubrication loss)."""
    th = cfg.thermal
    amb_lo = cfg.ambient_temp_c - cfg.ambient_daily_amplitude_k
    amb_hi = cfg.ambient_temp_c + cfg.ambient_daily_amplitude_k
    mu_max = th.friction_coefficient * (1 + th.friction_damage_gain + th.friction_lubrication_gain)
    mu_max /= cfg.lubrication_quality
    pitch = cfg.geometry.pitch_diameter_m
    p_f = float(bearing_friction_power_w(cfg.radial_load_n, cfg.shaft_speed_rpm / 60, pitch, mu_max))
    rise_m = th.motor_r_k_per_w * float(motor_loss_w(cfg.shaft_power_w, th.motor_efficiency))
    return amb_lo, amb_hi + th.bearing_r_k_per_w * p_f + th.motor_coupling * rise_m, amb_hi + rise_m


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    machine=machines,
    period_s=st.sampled_from([30, 60, 120, 300]),
    n_snapshots=st.integers(5, 150),
    seed=st.integers(0, 2**32),
)
def test_any_valid_machine_runs_and_its_labels_keep_their_meaning(machine, period_s, n_snapshots, seed):
    assume(machine["snapshot_duration_s"] * machine["sample_rate_hz"] >= 64)  # MachineConfig's rule
    cfg = MachineConfig.model_validate(machine)
    df, events = run_machine(machine, period_s, n_snapshots, seed)

    t = df["time"]
    assert len(df) >= 1 and t.is_monotonic_increasing
    numeric = df.select_dtypes("number").drop(columns=["rul_s", "severity", "fault_snr_db"])
    assert np.isfinite(numeric.to_numpy()).all()
    snr = df["fault_snr_db"].to_numpy()  # NaN exactly when no defect vibrates (documented: "NaN: none")
    assert np.isnan(snr[(df["fault"] == "").to_numpy()]).all() and not np.isinf(snr).any()

    failures = events[events["type"] == FAILURE_EVENT]
    assert len(failures) <= 1
    fail_t = failures["start"].iloc[0] if len(failures) else None
    if not cfg.until_failure or fail_t is None:
        assert len(df) == n_snapshots
    else:  # ends at the first snapshot at or after the failure, capped by the horizon
        assert len(df) <= n_snapshots and (len(df) == 1 or t.iloc[-2] < fail_t)
        assert t.iloc[-1] >= fail_t or len(df) == n_snapshots

    # health: in [0, 1], never recovers, 0 exactly from the failure on
    health = df["health"].to_numpy()
    assert ((health >= 0) & (health <= 1)).all()
    assert (np.diff(health) <= 0).all()
    np.testing.assert_allclose(health, 1 - df["fault_severity"].to_numpy(), atol=1e-12)
    if fail_t is not None:
        assert (health[(t >= fail_t).to_numpy()] == 0).all()
        assert (health[(t < fail_t - pd.Timedelta("1ms")).to_numpy()] > 0).all()
    else:
        assert (health > 0).all()

    # rul_s: falls by exactly 1 s per s of time until 0, 0 at and after the failure
    rul = df["rul_s"].to_numpy()
    elapsed = (t - t.iloc[0]).dt.total_seconds().to_numpy()
    if not cfg.fault_modes:
        assert np.isinf(rul).all() and events.empty
    elif np.isfinite(rul).any():
        assert np.isfinite(rul).all()
        alive = rul > 0
        assert (alive[:-1] >= alive[1:]).all()  # once 0, stays 0
        np.testing.assert_allclose(rul[alive] + elapsed[alive], rul[0] + elapsed[0], rtol=0, atol=1e-6)
        if fail_t is not None:
            to_fail = (fail_t - t).dt.total_seconds().to_numpy()
            np.testing.assert_allclose(rul, np.maximum(to_fail, 0.0), rtol=0, atol=1e-6)
            assert (rul[(t >= fail_t).to_numpy()] == 0).all()
        else:
            assert alive.all()  # censored: fails after the horizon
            emergent = events["params"].str.contains('"failure_s"')
            for params in events.loc[emergent, "params"]:
                assert math.isclose(rul[0], json.loads(params)["failure_s"], abs_tol=1e-5)
    else:  # no mode ever reaches the threshold (within 200 years)
        assert fail_t is None and (health > 0).all()

    # labels sit inside their events' [start, end) in events.parquet
    by_id = events.set_index("event_id")
    labelled = df[df["event_id"] >= 0]
    assert (df.loc[df["event_id"] < 0, "event"] == "").all()
    for _, row in labelled.iterrows():
        ev = by_id.loc[row["event_id"]]
        assert ev["type"] == row["event"] and ev["start"] <= row["time"] < ev["end"]
    for _, ev in events.iterrows():  # every sample inside an event carries a label
        inside = (t >= ev["start"]) & (t < ev["end"])
        assert (df.loc[inside, "event_id"] >= 0).all()
    for _, row in df[df["fault"] != ""].iterrows():
        mode = row["fault"]
        assert mode in cfg.fault_modes
        ok = events[(events["start"] <= row["time"]) & (row["time"] < events["end"])
                    & ((events["type"] == FAULT_EVENT_TYPES[mode])
                       | ((events["type"] == FAILURE_EVENT) & events["params"].str.contains(f'"mode":"{mode}"')))]
        assert len(ok) >= 1, (row["time"], mode, events)
    assert (df.loc[df["fault"] == "", "fault_severity"] == 0).all()

    # temperatures within physical bounds (between the ambient and the worst equilibrium)
    amb_lo, bearing_hi, motor_hi = temperature_bounds(cfg)
    amb_hi = cfg.ambient_temp_c + cfg.ambient_daily_amplitude_k
    assert df["temp_ambient_c"].between(amb_lo - TOL_K, amb_hi + TOL_K).all()
    assert df["temp_bearing_c"].between(amb_lo - TOL_K, bearing_hi + TOL_K).all()
    assert df["temp_motor_c"].between(amb_lo - TOL_K, motor_hi + TOL_K).all()
    if cfg.start_warm is False:
        assert abs(df["temp_bearing_c"].iloc[0] - df["temp_ambient_c"].iloc[0]) < TOL_K
