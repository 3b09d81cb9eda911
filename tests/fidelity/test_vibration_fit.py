"""Fitting the machine twin's healthy vibration to a recording: known truth, real rigs, the CLI."""

from pathlib import Path

import numpy as np
import pytest

from twinforge.cli import main
from twinforge.fidelity.vibration_fit import fit_healthy_vibration, log_spectral_distance_db, read_recording
from twinforge.processes.bearing import BEARING_PRESETS
from twinforge.processes.vibration import VibrationParams, render_snapshot

TRUTH = VibrationParams(background_rms_g=0.1, background_resonances=((800.0, 0.05, 1.0), (3000.0, 0.03, 2.0)),
                        shaft_harmonics_g=(0.05, 0.02), line_frequency_hz=60.0, line_harmonics_g=(0.0, 0.01),
                        sensor_noise_g=0.005)


def _healthy(params, n=4, rate=12_000.0, shaft=30.0, seed=0):
    return np.array([render_snapshot(10.0 * k, 1.0, rate, shaft, BEARING_PRESETS["6205-2RS"], {}, params,
                                     np.random.default_rng(seed + k)) for k in range(n)])


def test_recovers_a_known_healthy_machine():
    fit = fit_healthy_vibration(_healthy(TRUTH), 12_000.0, 30.0, line_hz=60.0)
    v = fit.vibration
    assert v["background_rms_g"] == pytest.approx(0.1, rel=0.08)
    assert v["shaft_harmonics_g"][:2] == pytest.approx((0.05, 0.02), rel=0.05)
    assert v["line_harmonics_g"][1] == pytest.approx(0.01, rel=0.1)
    modes = {round(f, -2): (z, share) for f, z, share in v["background_resonances"] if share > 0.05}
    assert set(modes) == {800.0, 3000.0}
    assert modes[3000.0][1] / modes[800.0][1] == pytest.approx(2.0, rel=0.25)  # shares of the power
    assert modes[800.0][0] == pytest.approx(0.05, rel=0.3) and modes[3000.0][0] == pytest.approx(0.03, rel=0.3)
    assert fit.lsd_db < 2.5


def test_a_fitted_preset_renders_a_machine_with_the_recordings_spectrum():
    fit = fit_healthy_vibration(_healthy(TRUTH), 12_000.0, 30.0, line_hz=60.0)
    params = VibrationParams(**fit.vibration)
    again = _healthy(params, seed=100)
    refit = fit_healthy_vibration(again, 12_000.0, 30.0, line_hz=60.0)
    assert np.std(again) == pytest.approx(np.std(_healthy(TRUTH)), rel=0.05)
    f = fit.freqs_hz
    assert log_spectral_distance_db(fit.psd_g2_per_hz, np.interp(f, refit.freqs_hz, refit.psd_g2_per_hz), f,
                                    (50.0, 5000.0)) < 2.5


def test_real_healthy_rigs_fit_and_hold_on_held_out_snapshots(shared_file):
    from scipy import signal

    folder = shared_file("femto_pronostia/raw_Learning_set_Bearing1_1")
    fit_ids, test_ids = range(1, 1402, 100), range(51, 1402, 100)  # the data protocol's PRONOSTIA split
    fit_set = np.array([np.loadtxt(folder / f"acc_{i:05d}.csv", delimiter=",")[:, 4] for i in fit_ids])
    test = np.array([np.loadtxt(folder / f"acc_{i:05d}.csv", delimiter=",")[:, 4] for i in test_ids])
    fit = fit_healthy_vibration(fit_set, 25_600.0, 30.0, line_hz=50.0, n_modes=6)
    f, p = signal.welch(test - test.mean(axis=1, keepdims=True), 25_600.0, nperseg=2 * fit.freqs_hz.size - 2)
    assert fit.lsd_db < 4.5
    assert log_spectral_distance_db(p.mean(axis=0), fit.model_psd_g2_per_hz, f, (100.0, 11_000.0)) < 5.0
    total = np.hypot(fit.vibration["background_rms_g"], fit.vibration["sensor_noise_g"])
    assert total == pytest.approx(np.std(test), rel=0.15)


def test_bad_inputs_are_refused():
    x = _healthy(TRUTH, n=1)
    with pytest.raises(ValueError, match="shaft_hz"):
        fit_healthy_vibration(x, 12_000.0, 7_000.0)
    with pytest.raises(ValueError, match="NaN"):
        fit_healthy_vibration(np.full(1000, np.nan), 12_000.0, 30.0)
    with pytest.raises(ValueError, match="n_modes"):
        fit_healthy_vibration(x, 12_000.0, 30.0, n_modes=0)


def test_read_recording_formats(tmp_path):
    x = np.arange(200, dtype=float)
    np.save(tmp_path / "a.npy", x)
    np.savetxt(tmp_path / "b.csv", np.column_stack([x, 2 * x]), delimiter=",")
    np.testing.assert_array_equal(read_recording(tmp_path / "a.npy"), x)
    np.testing.assert_array_equal(read_recording(tmp_path / "b.csv", column=1), 2 * x)
    with pytest.raises(ValueError, match="--column"):
        read_recording(tmp_path / "b.csv")
    (tmp_path / "c.csv").write_text("1,2\nx,y\n")
    with pytest.raises(ValueError, match="c.csv: not a table of numbers"):
        read_recording(tmp_path / "c.csv")


def test_cli_writes_a_preset_that_generates(tmp_path, capsys):
    from twinforge.campaign.spec import load_spec

    rec = _healthy(TRUTH, n=3)
    paths = []
    for k, x in enumerate(rec):
        paths.append(tmp_path / f"rec{k}.npy")
        np.save(paths[-1], x)
    out = tmp_path / "rig.toml"
    args = ["fit-vibration", *map(str, paths), "--rate", "12kHz", "--shaft-rpm", "1800", "--bearing", "6205-2RS",
            "--line-hz", "60", "--out", str(out)]
    assert main(args) == 0
    assert "wrote" in capsys.readouterr().out
    spec = load_spec(out)
    assert spec.config.bearing == "6205-2RS" and spec.config.sample_rate_hz == 12_000.0
    assert spec.config.vibration.background_rms_g == pytest.approx(0.1, rel=0.1)
    # the preset exists: refused without --overwrite, nothing else written
    assert main(args) == 2
    assert "exists" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*(p.name for p in paths), "rig.toml"])


@pytest.mark.parametrize("extra, needle", [
    (["--rate", "fast"], "--rate: rate must look like"),
    (["--rate", "12kHz", "--shaft-rpm", "400000"], "--shaft-rpm must be in (0, 360000) rpm"),
    (["--rate", "12kHz", "--snapshot-s", "0.001"], "--snapshot-s must give at least 64 samples"),
])
def test_cli_bad_input_exits_2_naming_the_option(tmp_path, capsys, extra, needle):
    np.save(tmp_path / "r.npy", _healthy(TRUTH, n=1)[0])
    base = ["fit-vibration", str(tmp_path / "r.npy"), "--shaft-rpm", "1800", "--bearing", "6205-2RS",
            "--out", str(tmp_path / "o.toml")]
    if "--shaft-rpm" in extra:
        base = [a for i, a in enumerate(base) if a != "--shaft-rpm" and (i == 0 or base[i - 1] != "--shaft-rpm")]
    assert main(base + extra) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1
    assert not (tmp_path / "o.toml").exists()


def test_cli_names_the_unreadable_file(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n")
    assert main(["fit-vibration", str(bad), "--rate", "12kHz", "--shaft-rpm", "1800", "--bearing", "6205-2RS",
                 "--out", str(tmp_path / "o.toml")]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and err.count("\n") == 1
