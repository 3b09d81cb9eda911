"""`twinforge generate machine` as a user runs it (in this process: the ``tf`` fixture), real files."""

import numpy as np
import pytest

from twinforge.export import open_dataset


def test_machines_until_failure_end_to_end(tf, tmp_path):
    out = tmp_path / "data"
    r = tf("generate", "machine", "--machines", "2", "--until-failure", "--rate", "12.8kHz",
           "--period", "1min", "--seed", "4", "--quiet", "--out", out)
    assert r.returncode == 0, r.stderr
    assert "wrote 2 run(s)" in r.stdout
    ds = open_dataset(out)
    s = ds.samples()
    snaps = ds.table("snapshots")
    assert len(snaps) == len(s) and len(snaps.accel_g.iloc[0]) == 1280  # 0.1 s at 12.8 kHz
    for run_id, g in s.groupby("run_id"):
        assert g.rul_s.iloc[-1] == 0.0 and g.health.iloc[-1] == 0.0 and (g.rul_s.iloc[:-1] > 0).all()
        assert g.event.iloc[-1] == "machine_failure"
    ev = ds.events
    assert set(ev.type) >= {"machine_failure"} and (ev.groupby("run_id").size() >= 2).all()
    runs = ds.runs
    assert (runs["sample_rate_hz"] == 12_800.0).all() and runs["until_failure"].all()
    assert np.all(runs["truth.failure_s"] > 0)
    info = tf("info", out)
    assert info.returncode == 0 and "accel_kurtosis" in info.stdout


@pytest.mark.parametrize(
    "args,needle",
    [
        (["machine", "--rate", "500Hz"], "machine.sample_rate_hz"),
        (["machine", "--rate", "fast"], "machine.sample_rate_hz"),
        (["machine", "--machines", "0"], "runs"),
        (["home", "--machines", "3"], "machine twin"),
        (["machine", "--period", "0.1s"], "period"),
    ],
)
def test_bad_input_exits_2_naming_the_field(tf, tmp_path, args, needle):
    out = tmp_path / "never"
    r = tf("generate", *args, "--quiet", "--out", out)
    assert r.returncode == 2, r.stderr
    assert needle in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()
