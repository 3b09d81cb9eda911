"""PRONOSTIA loader and a small machine-twin comparison on the shipped sample."""

import hashlib
import lzma
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import twinforge
from twinforge.fidelity import (
    PRONOSTIA_CONDITIONS,
    TraceError,
    compare,
    load_pronostia,
    pronostia_condition,
    simulate_runs,
)

DATA = Path(twinforge.__file__).parent / "data" / "pronostia"
SAMPLE = DATA / "learning_set_snapshot_features.csv.xz"
SHARED = "femto_pronostia/DERIVED_learning_set_snapshot_features.csv"
LEARNING = ["Bearing1_1", "Bearing1_2", "Bearing2_1", "Bearing2_2", "Bearing3_1", "Bearing3_2"]


@pytest.fixture(scope="module")
def raw():
    return pd.read_csv(SAMPLE)


@pytest.fixture(scope="module")
def real():
    return load_pronostia()


def test_sample_is_the_documented_file():
    data = lzma.decompress(SAMPLE.read_bytes())
    text = (DATA / "PROVENANCE.md").read_text()
    assert hashlib.sha256(data).hexdigest()[:16] in text
    assert hashlib.sha256(SAMPLE.read_bytes()).hexdigest()[:16] in text


def test_sample_is_the_shared_file_byte_for_byte(shared_file):
    assert lzma.decompress(SAMPLE.read_bytes()) == shared_file(SHARED).read_bytes()


def test_shapes_run_ids_and_names(real, raw):
    assert list(real.columns) == ["run_id", "accel_rms_g", "accel_peak_g", "accel_crest_factor", "accel_kurtosis"]
    assert real.index.name == "time" and str(real.index.tz) == "UTC"
    counts = raw.groupby("bearing", sort=False).size()
    assert list(counts.index) == LEARNING
    assert real.groupby("run_id").size().tolist() == counts.tolist()
    assert real.attrs["bearings"] == dict(enumerate(LEARNING))
    assert real.attrs["conditions"][4] == {"shaft_speed_rpm": 1500.0, "radial_load_n": 5000.0}


def test_each_bearing_on_a_regular_10s_grid_from_its_first_clock_time(real, raw):
    for rid, g in real.groupby("run_id"):
        steps = np.diff(g.index)
        assert np.all(steps == pd.Timedelta("10s"))
        first = raw[raw.bearing == LEARNING[rid]].iloc[0]
        assert g.index[0] == pd.Timestamp("2012-01-01", tz="UTC") + pd.Timedelta(
            hours=int(first.hour), minutes=int(first.minute), seconds=int(first.second))
    # Bearing1_1 has two files stamped six hours early: counted, not fatal
    assert real.attrs["clock_mismatches"][0] == 2
    assert all(v == 0 for k, v in real.attrs["clock_mismatches"].items() if k != 0)


@pytest.mark.parametrize("axis", ["h", "v"])
def test_values_equal_the_csv(raw, axis):
    df = load_pronostia(bearings=["Bearing2_2", "Bearing1_1"], axis=axis)
    for rid, name in enumerate(["Bearing2_2", "Bearing1_1"]):
        src = raw[raw.bearing == name].sort_values("file_index")
        got = df[df.run_id == rid]
        np.testing.assert_array_equal(got["accel_rms_g"].to_numpy(), src[f"rms_{axis}"].to_numpy())
        np.testing.assert_array_equal(got["accel_peak_g"].to_numpy(), src[f"peak_{axis}"].to_numpy())
        np.testing.assert_array_equal(got["accel_kurtosis"].to_numpy(), src[f"kurtosis_{axis}"].to_numpy())
        np.testing.assert_allclose(got["accel_crest_factor"].to_numpy(),
                                   src[f"peak_{axis}"].to_numpy() / src[f"rms_{axis}"].to_numpy())


def test_midnight_wrap_and_shuffled_rows(tmp_path, raw):
    src = raw[raw.bearing == "Bearing3_1"].copy()
    src["hour"] = (src["hour"] + 14) % 24          # 09:xx -> 23:xx: the test now runs past midnight
    assert src["hour"].nunique() == 2 and 0 in set(src["hour"])
    path = tmp_path / "wrap.csv"
    src.sample(frac=1.0, random_state=0).to_csv(path, index=False)
    df = load_pronostia(path)
    assert df.index.is_monotonic_increasing and np.all(np.diff(df.index) == pd.Timedelta("10s"))
    assert df.index[-1] - df.index[0] == pd.Timedelta(seconds=10 * (len(src) - 1))
    assert df.index[-1].day == 2 and df.attrs["clock_mismatches"] == {0: 0}
    np.testing.assert_array_equal(df["accel_rms_g"].to_numpy(), src.sort_values("file_index")["rms_h"].to_numpy())


def _write(tmp_path, frame, name="bad.csv"):
    p = tmp_path / name
    frame.to_csv(p, index=False)
    return p


def test_bad_files_raise_trace_errors(tmp_path, raw):
    one = raw[raw.bearing == "Bearing3_1"].head(50)
    with pytest.raises(TraceError, match="not found"):
        load_pronostia(tmp_path / "missing.csv")
    with pytest.raises(TraceError, match=r"bad\.csv.*'kurtosis_h' not found"):
        load_pronostia(_write(tmp_path, one.drop(columns="kurtosis_h")))
    bad = one.astype({"rms_h": object}).copy()
    bad.iloc[7, bad.columns.get_loc("rms_h")] = "oops"
    with pytest.raises(TraceError, match=r"'rms_h'.*'oops'.*row 7"):
        load_pronostia(_write(tmp_path, bad))
    with pytest.raises(TraceError, match="appears twice"):
        load_pronostia(_write(tmp_path, pd.concat([one, one.tail(1)])))
    with pytest.raises(TraceError, match="missing after"):
        load_pronostia(_write(tmp_path, one.drop(one.index[10])))
    shifted = one.copy()
    shifted["second"] = (shifted["second"] + 3 * np.arange(len(shifted))) % 60
    with pytest.raises(TraceError, match="off the 10 s grid"):
        load_pronostia(_write(tmp_path, shifted))
    with pytest.raises(TraceError, match="'Bearing9_9' not in the file"):
        load_pronostia(bearings=["Bearing9_9"])
    with pytest.raises(TraceError, match="axis"):
        load_pronostia(axis="x")
    (tmp_path / "garbage.csv.xz").write_bytes(b"not xz at all")
    with pytest.raises(TraceError, match="garbage"):
        load_pronostia(tmp_path / "garbage.csv.xz")
    with pytest.raises(TraceError, match="operating condition"):
        pronostia_condition("Bearing7_1")
    assert pronostia_condition("Bearing2_1") == PRONOSTIA_CONDITIONS[2]


def test_small_machine_comparison_on_the_sample():
    """The documented study in small: 5-min windows of the per-snapshot indicators."""
    from twinforge.fidelity.parameters import PARAMETERS
    from twinforge.twins.machine import MachineConfig

    real = load_pronostia(bearings=["Bearing3_1", "Bearing2_2"])
    ch = {"accel_rms_g": "accel_rms_g", "accel_kurtosis": "accel_kurtosis"}
    cfg = MachineConfig(until_failure=True, sample_rate_hz=12_800.0,
                        degradation={"onset_weibull_scale_s": 2_000.0})
    synth = simulate_runs("machine", cfg, real.index.min(), 0.05, "10s", list(ch.values()), n_runs=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = compare(real, synth, channels=ch, window="5min", tz=None, period="10s")
        self_rep = compare(real[real.run_id == 0], real[real.run_id == 0].assign(run_id=0), channels=ch,
                           window="5min", tz=None, period="10s")
    assert rep.info["n_real_windows"] == 515 // 30 + 797 // 30
    assert rep.info["n_real_runs"] == 2 and rep.info["n_synth_windows"] >= 2
    for key in ("windows.discriminative_score", "windows.nn_indistinguishability"):
        assert rep.value(key) is not None
    # identical data: zero distances; the default twin is farther from the real bearings
    assert self_rep.value("channels.accel_kurtosis.ks") == 0.0
    assert rep.value("channels.accel_kurtosis.ks") > 0.1
    assert all(k in PARAMETERS["machine"] for k in ("vibration.background_drift_sigma",
                                                     "vibration.background_modulation_depth"))
