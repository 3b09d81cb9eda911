"""`twinforge fidelity` and `twinforge calibrate` end to end; clean failures."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

import twinforge
from twinforge.campaign.runner import generate
from twinforge.campaign.spec import load_spec
from twinforge.fidelity.commands import main
from twinforge.fidelity.loader import UCI_SAMPLE

UCI = Path(twinforge.__file__).parent / "data" / UCI_SAMPLE


def tf(*args):
    """The commands' own entry point (the same handlers `twinforge` dispatches to), in this
    process (a subprocess per case cost most of these tests' time); `twinforge` itself runs
    as a subprocess in test_twinforge_cli_lists_the_commands."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as e:  # argparse: a usage error
            code = e.code if isinstance(e.code, int) else 2
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("cmd") / "homes"
    generate(load_spec(None, twin="home", runs=2, days=4, period="15min", start="2008-12-01", seed=3),
             out, progress=False)
    return out


@pytest.mark.slow  # a long end-to-end case: make test-slow
def test_fidelity_end_to_end(dataset, tmp_path):
    out = tmp_path / "rep"
    r = tf("fidelity", "--real", UCI, "--synthetic", dataset, "--map", "mains_power_w=mains_power_w",
           "--null-permutations", 4, "--out", out)
    assert r.returncode == 0, r.stderr
    assert "discriminative score" in r.stdout and "report.html" in r.stdout
    assert "permutation null" in r.stdout
    data = json.loads((out / "metrics.json").read_text())
    assert data["info"]["period"] == "15min" and data["info"]["null_permutations"] == 4
    assert data["metrics"]["windows"]["discriminative_score"]["p_value"] == 0.2  # (1 + 0) / (1 + 4)
    assert "random relabellings" in (out / "report.html").read_text()
    assert (out / "report.html").stat().st_size > 10_000
    assert all((out / f).stat().st_size > 0 for f in ("marginals.png", "embedding.png"))


@pytest.mark.slow  # a long end-to-end case: make test-slow
def test_fidelity_machines_against_pronostia_bearings(tmp_path):
    """--format auto knows the PRONOSTIA features; --tz none windows each bearing from its start."""
    machines = tmp_path / "machines"
    generate(load_spec(None, twin="machine", runs=2, period="10s", seed=4,
                       machine={"until_failure": True, "sample_rate_hz": 12_800.0,
                                "degradation": {"onset_weibull_scale_s": 1_500.0}}), machines, progress=False)
    out = tmp_path / "rep"
    real = Path(twinforge.__file__).parent / "data" / "pronostia" / "learning_set_snapshot_features.csv.xz"
    r = tf("fidelity", "--real", real, "--synthetic", machines, "--map", "accel_rms_g=accel_rms_g",
           "--map", "accel_kurtosis=accel_kurtosis", "--window", "5min", "--tz", "none", "--period", "10s",
           "--out", out)
    assert r.returncode == 0, r.stderr
    info = json.loads((out / "metrics.json").read_text())["info"]
    assert info["n_real_runs"] == 6 and info["n_real_windows"] == sum(n // 30 for n in (2803, 871, 911, 797, 515, 1637))
    bad = tf("fidelity", "--real", real, "--synthetic", machines, "--tz", "Mars/Olympus", "--out", tmp_path / "x")
    assert bad.returncode == 2 and "--tz" in bad.stderr and not (tmp_path / "x").exists()
    # --bearings picks and orders the real units: Bearing2_2 (797 snapshots) and Bearing3_1 (515)
    out2 = tmp_path / "rep2"
    r = tf("fidelity", "--real", real, "--synthetic", machines, "--map", "accel_rms_g=accel_rms_g",
           "--window", "5min", "--tz", "none", "--period", "10s", "--bearings", "Bearing3_1,Bearing2_2", "--out", out2)
    assert r.returncode == 0, r.stderr
    info = json.loads((out2 / "metrics.json").read_text())["info"]
    assert info["n_real_runs"] == 2 and info["n_real_windows"] == 515 // 30 + 797 // 30
    for bearings, message in (("Bearing9_9", "bearing 'Bearing9_9' not in the file"),
                              ("Bearing1_1,Bearing1_1", "bearings must be distinct")):
        bad = tf("fidelity", "--real", real, "--synthetic", machines, "--tz", "none", "--bearings", bearings,
                 "--out", tmp_path / "y")
        assert bad.returncode == 2 and message in bad.stderr and not (tmp_path / "y").exists()
    bad = tf("fidelity", "--real", UCI, "--synthetic", machines, "--bearings", "Bearing1_1", "--out", tmp_path / "y")
    assert bad.returncode == 2 and "--bearings: only for PRONOSTIA" in bad.stderr and not (tmp_path / "y").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--real", "missing.csv"], "file not found"),
        (["--real", UCI, "--map", "mains_power_w"], "--map expects real_column=channel"),
        (["--real", UCI, "--map", "nope=mains_power_w"], "real column 'nope' not in the real trace"),
        (["--real", UCI, "--map", "mains_power_w=nope"], "synthetic channel 'nope' not in dataset"),
        (["--real", UCI, "--null-permutations", "-1"], "null_permutations must be an integer in [0, 10000]"),
        # the dataset's homes live in Paris: New York days would cut their days at the wrong hour
        (["--real", UCI, "--tz", "America/New_York"], "simulated in local time 'Europe/Paris'"),
        (["--real", UCI, "--window", "banana"], "window must be a duration such as"),
        (["--real", UCI, "--window", "0s"], "window must be positive"),
        (["--real", UCI, "--period", "7min"], "window '1D' is not a whole number of 7min periods"),
        (["--real", UCI, "--window", "1h"], "holds 4 samples at 15min; the window features need at least 8"),
        (["--real", UCI, "--period", "soon"], "period must be a duration such as"),
        (["--real", UCI, "--map", "mains_power_w=event"], "synthetic channel 'event' is not numeric"),
        (["--real", UCI, "--map", ""], "--map expects real_column=channel"),
        (["--real", UCI, "--map", "mains_power_w=mains_power_w,mains_power_w=load_power_w"], "mapped twice"),
        (["--real", UCI, "--max-gap", "5min"], "--max-gap: only for a generic trace"),
    ],
)
def test_fidelity_bad_input_exits_2_and_writes_nothing(dataset, tmp_path, args, message):
    out = tmp_path / "rep"
    r = tf("fidelity", "--synthetic", dataset, "--out", out, *args)
    assert r.returncode == 2
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("command", ["fidelity", "calibrate"])
def test_an_unknown_real_tz_is_an_argument_error_not_a_traceback(dataset, tmp_path, command):
    args = ["--synthetic", dataset] if command == "fidelity" else ["--params", "appliances.usage_scale"]
    r = tf(command, "--real", UCI, *args, "--real-tz", "Mars/Olympus", "--out", tmp_path / "x")
    assert r.returncode == 2 and "--real-tz" in r.stderr and "IANA time zone" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "x").exists()


@pytest.mark.slow  # a long end-to-end case: make test-slow
def test_fidelity_out_lands_whole_and_never_replaces_what_is_not_a_report(dataset, tmp_path):
    out = tmp_path / "rep"
    run = ("fidelity", "--real", UCI, "--synthetic", dataset, "--out", out)
    assert tf(*run).returncode == 0
    first = (out / "metrics.json").read_text()
    again = tf(*run)  # an earlier report is replaced only on request
    assert again.returncode == 2 and "add --overwrite" in again.stderr
    assert tf(*run, "--overwrite").returncode == 0 and (out / "metrics.json").read_text() == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]  # no staging folder left beside it
    (out / "notes.txt").write_text("mine")
    mine = tf(*run, "--overwrite")  # a folder with somebody's files is never replaced
    assert mine.returncode == 2 and "'notes.txt'" in mine.stderr and (out / "notes.txt").read_text() == "mine"
    pictures = tmp_path / "pictures"  # a user's own figure is not an earlier report
    pictures.mkdir()
    (pictures / "holiday.png").write_bytes(b"png")
    r = tf("fidelity", "--real", UCI, "--synthetic", dataset, "--out", pictures, "--overwrite")
    assert r.returncode == 2 and "'holiday.png'" in r.stderr and (pictures / "holiday.png").exists()
    (tmp_path / "file").write_text("x")
    under_file = tf("fidelity", "--real", UCI, "--synthetic", dataset, "--out", tmp_path / "file" / "rep")
    assert under_file.returncode == 2 and "is a file, not a folder" in under_file.stderr


@pytest.mark.slow  # a long end-to-end case: make test-slow
def test_calibrate_outputs_are_checked_first_and_land_together(tmp_path):
    out, report = tmp_path / "p.toml", tmp_path / "reports"
    run = ("calibrate", "--real", UCI, "--params", "appliances.standby_w", "--budget", "2", "--homes", "1",
           "--period", "1h", "--out", out)
    out.write_text("precious")
    r = tf(*run)
    assert r.returncode == 2 and "exists; add --overwrite" in r.stderr and out.read_text() == "precious"
    out.unlink()
    (tmp_path / "not_a_folder").write_text("x")
    r = tf(*run, "--report", tmp_path / "not_a_folder")  # refused before the calibration runs
    assert r.returncode == 2 and "--report" in r.stderr and "is not a folder" in r.stderr and not out.exists()
    r = tf(*run, "--report", report)
    assert r.returncode == 0, r.stderr
    for side in ("before", "after"):
        assert (report / side / "report.html").is_file() and (report / side / "metrics.json").is_file()
    r = tf(*run, "--report", report, "--overwrite")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not_a_folder", "p.toml", "reports"]
    (report / "before" / "notes.txt").write_text("mine")
    r = tf(*run, "--report", report, "--overwrite")  # names the stray file, keeps it
    assert r.returncode == 2 and "'before/notes.txt'" in r.stderr and (report / "before" / "notes.txt").exists()
    for args, message in ((["--report", report / "inner", "--overwrite"], "inside --report"),
                          (["--report", tmp_path / "r2", "--holdout", "0"], "--holdout 0 holds none out")):
        r = tf("calibrate", "--real", UCI, "--params", "appliances.standby_w", "--out", report / "inner" / "p.toml",
               *args) if "inside" in message else tf(*run, "--overwrite", *args)
        assert r.returncode == 2 and message in r.stderr, r.stderr


def test_fidelity_bad_real_file(dataset, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("time,power\nyesterday,3\n")
    r = tf("fidelity", "--real", bad, "--synthetic", dataset, "--out", tmp_path / "rep")
    assert r.returncode == 2 and "cannot parse timestamp" in r.stderr
    r = tf("fidelity", "--real", UCI, "--synthetic", tmp_path / "nodata", "--out", tmp_path / "rep")
    assert r.returncode == 2 and "no dataset at" in r.stderr
    assert not (tmp_path / "rep").exists()


def test_format_auto_reads_a_pjm_copy_renamed_to_prophets_ds_y_header(tmp_path):
    """A Kaggle PJM file whose header a copy renamed to ``ds,y`` (the shared PJME copy) is
    read by --format auto as with --format pjm when it kept its Kaggle name; the same bytes
    under any other name are any Prophet CSV: auto asks for y's unit instead of guessing."""
    import pandas as pd

    from twinforge.fidelity.commands.common import InputError, load_real

    # the Kaggle layout: each day written 01:00 ... 23:00, then 00:00 of the next day (hour
    # ending, US Eastern), the days backwards
    rows = [f"{(pd.Timestamp(day) + pd.Timedelta(hours=h)):%Y-%m-%d %H:%M:%S},{30000 + 10 * d + h % 24}.0"
            for d, day in enumerate(["2024-01-03", "2024-01-02", "2024-01-01"]) for h in range(1, 25)]
    kaggle = tmp_path / "PJME_hourly.csv"
    kaggle.write_text("ds,y\n" + "\n".join(rows) + "\n")
    auto = load_real(kaggle)
    pd.testing.assert_frame_equal(auto, load_real(kaggle, "pjm"))
    assert list(auto.columns) == ["load_power_w"] and len(auto) == 72
    assert auto.index[0] == pd.Timestamp("2024-01-01 05:00", tz="UTC")  # 00:00-01:00 EST
    assert auto["load_power_w"].iloc[0] == 30021.0e6  # MW -> W

    other = tmp_path / "load.csv"
    other.write_bytes(kaggle.read_bytes())
    with pytest.raises(InputError, match=r"'ds,y' .*--unit y=MW.*--format pjm"):
        load_real(other)
    prophet = tmp_path / "sales.csv"
    prophet.write_text("ds,y\n2024-01-01,12\n2024-01-02,15\n")
    with pytest.raises(InputError, match="--unit y="):
        load_real(prophet)
    df = load_real(prophet, units={"y": "kW"})  # answered: a generic trace of y in that unit
    assert df["y"].tolist() == [12e3, 15e3] and df.attrs["units"] == {"y": "W"}


@pytest.mark.slow  # a long end-to-end case: make test-slow
def test_calibrate_end_to_end_writes_a_loadable_preset(tmp_path):
    out = tmp_path / "uci.toml"
    r = tf("calibrate", "--real", UCI, "--map", "mains_power_w=mains_power_w",
           "--params", "appliances.standby_w,appliances.usage_scale", "--budget", "4",
           "--period", "1h", "--homes", "1", "--out", out)
    assert r.returncode == 0, r.stderr
    assert "calibrated appliances.standby_w, appliances.usage_scale with 4" in r.stdout
    spec = load_spec(out)
    assert spec.twin == "home" and spec.period == "1h" and spec.diversity is None


@pytest.mark.slow  # a long end-to-end case: make test-slow
def test_calibrate_rescore_says_what_it_re_scored(tmp_path):
    out = tmp_path / "uci.toml"
    r = tf("calibrate", "--real", UCI, "--params", "appliances.standby_w", "--budget", "3",
           "--period", "1h", "--homes", "1", "--rescore", "1", "--rescore-units", "1", "--out", out)
    assert r.returncode == 0, r.stderr
    assert "re-scored 2 candidates (the start included) on 1 fresh run(s)" in r.stdout
    assert "# re-scored 2 candidates (the start included) on 1 fresh run(s)" in out.read_text()


@pytest.mark.slow  # a long end-to-end case: make test-slow
def test_calibrate_fits_the_fleet_laws_of_a_scenario_with_diversity(tmp_path):
    base = tmp_path / "homes.toml"
    base.write_text('twin = "home"\nperiod = "1h"\n\n[diversity]\nfloor_area_sigma = 0.6\n')
    out = tmp_path / "fleet.toml"
    r = tf("calibrate", "--real", UCI, "--config", base, "--params", "diversity.floor_area_sigma",
           "--budget", "3", "--units", "2", "--out", out)
    assert r.returncode == 0, r.stderr
    spec = load_spec(out)
    assert spec.diversity is not None  # the preset keeps the fleet laws, with the fitted spread
    assert f"diversity.floor_area_sigma: 0.6 -> {spec.diversity.floor_area_sigma:.4g}" in r.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--params", "appliances.nope"], "unknown home parameter 'appliances.nope'"),
        (["--params", "diversity.floor_area_sigma"], "needs a base scenario with a [diversity] section"),
        (["--params", "weather.temp_mean_c=lo:hi"], "expected name=low:high"),
        (["--params", "appliances.usage_scale=2:1"], "appliances.usage_scale: a search range needs low < high"),
        (["--params", "appliances.usage_scale", "--map", "mains_power_w=nope"], "unknown home channel 'nope'"),
        (["--params", "appliances.usage_scale", "--budget", "1"], "--budget must be >= 2"),
        (["--twin", "grid", "--params", "appliances.usage_scale"], "unknown grid parameter 'appliances.usage_scale'"),
        (["--twin", "machine", "--params", "vibration.background_rms_g"], "give channels"),
        (["--twin", "grid", "--params", "homes.cooling_share", "--units", "0"], "--units must be >= 1"),
        # the default feeder lives in Paris: calibrating it on New York days is refused, not run
        (["--twin", "grid", "--params", "homes.cooling_share", "--tz", "America/New_York"],
         "the grid twin lives in local time 'Europe/Paris'"),
        (["--params", "appliances.usage_scale", "--rescore", "-1"], "--rescore must be >= 0"),
        (["--params", "appliances.usage_scale", "--period", "nonsense"], "period must be a duration such as"),
        (["--params", "appliances.usage_scale", "--window=-1D"], "window must be positive"),
        (["--params", "appliances.usage_scale", "--rescore", "2", "--rescore-units", "0"],
         "--rescore-units must be >= 1"),
    ],
)
def test_calibrate_bad_input_exits_2_and_writes_nothing(tmp_path, args, message):
    out = tmp_path / "p.toml"
    r = tf("calibrate", "--real", UCI, "--out", out, *args)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_twinforge_cli_lists_the_commands():
    from twinforge import cli

    if "fidelity" not in Path(cli.__file__).read_text():
        pytest.skip("cli.py does not register the fidelity commands yet (add_parsers not wired)")
    r = subprocess.run([sys.executable, "-m", "twinforge", "fidelity", "--help"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "--synthetic" in r.stdout


def _kw_trace(path: Path) -> Path:
    """The UCI sample's first days as a generic CSV: 'stamp' column (Paris time), load in kW."""
    from twinforge.fidelity.loader import load_uci_household

    real = load_uci_household()["mains_power_w"].iloc[: 6 * 1440]
    local = real.index.tz_convert("Europe/Paris").tz_localize(None)
    text = "stamp,load\n" + "".join(f"{t:%Y-%m-%d %H:%M:%S},{v / 1000.0:.6f}\n" for t, v in zip(local, real))
    path.write_text(text)
    return path


@pytest.mark.slow  # a long end-to-end case: make test-slow
def test_fidelity_generic_trace_with_time_column_and_units(dataset, tmp_path):
    csv = _kw_trace(tmp_path / "kw.csv")
    base = ["fidelity", "--real", csv, "--synthetic", dataset, "--format", "trace", "--real-tz",
            "Europe/Paris", "--time-col", "stamp", "--map", "load=mains_power_w"]
    r = tf(*base, "--unit", "load=kW", "--out", tmp_path / "rep")
    assert r.returncode == 0, r.stderr
    data = json.loads((tmp_path / "rep" / "metrics.json").read_text())
    q99 = data["metrics"]["channels"]["load"]["tail_q99"]
    assert q99["real"] > 1000.0  # kW converted to W (the house peaks at several kW)
    r = tf(*base, "--out", tmp_path / "rep_raw")  # without --unit the values stay in kW
    raw = json.loads((tmp_path / "rep_raw" / "metrics.json").read_text())
    assert raw["metrics"]["channels"]["load"]["tail_q99"]["real"] == pytest.approx(q99["real"] / 1000.0, rel=1e-6)
    for args, message in ((["--unit", "load=furlong"], "unknown unit 'furlong'"),
                          (["--unit", "load"], "expected COL=UNIT"),
                          (["--time-col", "when"], "when"),
                          (["--max-gap", "soon"], "max_gap must be a duration (zero or more)"),
                          (["--max-gap=-5min"], "max_gap must be a duration (zero or more)")):
        out = tmp_path / "bad"
        r = tf("fidelity", "--real", csv, "--synthetic", dataset, "--format", "trace", "--map",
               "load=mains_power_w", *args, "--out", out)
        assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1
        assert not out.exists()


@pytest.mark.slow  # a long end-to-end case: make test-slow
def test_fidelity_generic_trace_with_day_first_dates(dataset, tmp_path):
    """--date-format reads day-first stamps, which the default parser refuses (naming the flag)."""
    from twinforge.fidelity.loader import load_uci_household

    real = load_uci_household()["mains_power_w"]
    real = real[(real.index >= "2008-12-07T23:00Z") & (real.index < "2008-12-13T23:00Z")]  # 08/12 .. 13/12
    local = real.index.tz_convert("Europe/Paris").tz_localize(None)
    csv = tmp_path / "day_first.csv"
    csv.write_text("stamp,load\n" + "".join(f"{t:%d/%m/%Y %H:%M:%S},{'' if v != v else f'{v / 1000.0:.6f}'}\n"
                                    for t, v in zip(local, real)))
    base = ["fidelity", "--real", csv, "--synthetic", dataset, "--format", "trace", "--real-tz", "Europe/Paris",
            "--time-col", "stamp", "--unit", "load=kW", "--map", "load=mains_power_w"]
    r = tf(*base, "--out", tmp_path / "bad")
    assert r.returncode == 2 and "--date-format" in r.stderr and not (tmp_path / "bad").exists()
    r = tf(*base, "--date-format", "%d/%m/%Y %H:%M:%S", "--out", tmp_path / "rep")
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "rep" / "metrics.json").read_text())["info"]["n_real_windows"] == 6  # 8-13 Dec
