"""The command line, as a user runs it: real files; the entry point ``python -m twinforge``
as a real subprocess once (the ``dataset`` fixture), the other cases in this process (the
``tf`` fixture, tests/cli/conftest.py)."""

import subprocess
import sys

import pandas as pd
import pyarrow.parquet as pq
import pytest

SMALL = ["generate", "home", "--homes", "2", "--days", "1", "--period", "15min", "--seed", "7", "--quiet"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "data"
    r = subprocess.run([sys.executable, "-m", "twinforge", *SMALL, "--out", str(out)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return out, r


def test_generate_writes_a_readable_dataset(dataset):
    out, r = dataset
    assert "wrote 2 run(s)" in r.stdout and "seed 7" in r.stdout
    files = sorted((out / "samples").rglob("*.parquet"))
    assert [f.relative_to(out).as_posix() for f in files] == ["samples/home/run-000000.parquet", "samples/home/run-000001.parquet"]
    df = pd.read_parquet(out / "samples")
    assert len(df) == 2 * 96 and {"mains_power_w", "temp_indoor_c", "event", "run_id"} <= set(df.columns)
    runs = pd.read_parquet(out / "runs.parquet")
    assert list(runs.run_id) == [0, 1] and (runs.seed == 7).all() and "envelope.ua_w_per_k" in runs
    assert len(pd.read_parquet(out / "events.parquet")) > 0
    meta = pq.read_schema(files[0]).metadata[b"twinforge"]
    assert b'"mains_power_w"' in meta and b'"unit":"W"' in meta


def test_info_describes_it(tf, dataset):
    out, _ = dataset
    r = tf("info", out)
    assert r.returncode == 0, r.stderr
    assert "mains_power_w" in r.stdout and "W" in r.stdout


def test_same_seed_same_bytes(tf, dataset, tmp_path):
    out, _ = dataset
    again = tmp_path / "again"
    assert tf(*SMALL, "--out", again).returncode == 0
    for f in sorted((out / "samples").rglob("*.parquet")):
        assert f.read_bytes() == (again / f.relative_to(out)).read_bytes()
    for name in ("events.parquet", "runs.parquet"):
        assert (out / name).read_bytes() == (again / name).read_bytes()


def test_existing_output_is_not_overwritten(tf, dataset):
    out, _ = dataset
    before = sorted(p.stat().st_mtime_ns for p in out.rglob("*.parquet"))
    r = tf(*SMALL, "--out", out)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "--overwrite" in r.stderr
    assert sorted(p.stat().st_mtime_ns for p in out.rglob("*.parquet")) == before


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--homes", "0"], "runs"),
        (["--days", "-3"], "days"),
        (["--period", "2h"], "period"),
        (["--period", "fast"], "period"),
        (["--days", "0.0001", "--period", "1h"], "shorter than one period"),
        (["--seed", "-1"], "seed"),
        (["--start", "yesterday-ish"], "start"),
    ],
)
def test_bad_flags_exit_2_name_the_field_and_write_nothing(tf, tmp_path, args, needle):
    out = tmp_path / "never"
    r = tf("generate", "home", "--quiet", *args, "--out", out)
    assert r.returncode == 2, r.stdout + r.stderr
    assert needle in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    "text,needle",
    [
        ("runs = 'many'\n", "runs"),
        ("[home.battery]\ncapacity_kwh = -5\n", "home.battery.capacity_kwh"),
        ("[home.battery]\ncapacity_kwh = 5\neta_charge = 1.2\n", "eta_charge"),
        ("[home]\nroof_area_m2 = 10\n[home.pv]\ncapacity_kwp = 9\n", "roof"),
        ("[home.envelop]\nua_w_per_k = 100\n", "home.envelop"),
        ("twin = 'spaceship'\n", "unknown twin"),
        ("[[events]]\ntype='heat_wav'\nstart='2024-01-02'\nduration_h=5\nseverity=3\n", "unknown event type"),
        ("[[events]]\ntype='heat_wave'\nstart='2030-01-02'\nduration_h=5\nseverity=3\n", "within the horizon"),
        ("", "empty"),
        ("this is = = not toml", "TOML"),
    ],
)
def test_bad_scenario_files(tf, tmp_path, text, needle):
    cfg = tmp_path / "scenario.toml"
    cfg.write_text(text)
    out = tmp_path / "never"
    r = tf("generate", "--config", cfg, "--quiet", "--out", out)
    assert r.returncode == 2, r.stdout + r.stderr
    assert needle in r.stderr and "Traceback" not in r.stderr and str(cfg) in r.stderr
    assert not out.exists()


def test_binary_scenario_file(tf, tmp_path):
    cfg = tmp_path / "scenario.toml"
    cfg.write_bytes(bytes(range(256)))
    r = tf("generate", "--config", cfg, "--quiet", "--out", tmp_path / "never")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_help_explains_every_option(tf):
    r = tf("generate", "--help")
    assert r.returncode == 0
    for opt in ("--homes", "--days", "--period", "--seed", "--out", "--config", "--resume", "--overwrite"):
        assert opt in r.stdout


def test_resume_redoes_a_lost_run_identically(tf, tmp_path):
    """A run whose file is gone (as after a crash) is redone by --resume, byte for byte."""
    out = tmp_path / "d"
    args = ["generate", "home", "--homes", "3", "--days", "1", "--period", "30min", "--quiet", "--out", out]
    assert tf(*args).returncode == 0  # no --seed: one is drawn and recorded
    lost = out / "samples" / "home" / "run-000002.parquet"
    before = lost.read_bytes()
    events_before = (out / "events.parquet").read_bytes()
    lost.unlink()
    r = tf(*args, "--resume")
    assert r.returncode == 0, r.stderr
    assert "1 run(s) (2 already complete)" in r.stdout
    assert lost.read_bytes() == before
    assert (out / "events.parquet").read_bytes() == events_before
