"""``twinforge campaign run`` with a ``[loop]`` table."""

from __future__ import annotations

import json

import pytest

from _support import run_cli

CAMPAIGN = """
name = "loop-cli"
twin = "machine"
days = 0.05
period = "5min"
start = "2024-03-01"
seed = 5
sampler = "stratified"

[machine]
fault_modes = []
snapshot_duration_s = 0.02

[classes]
none = 1
imbalance = 1

[events.imbalance]
rate_per_year = 12.0
duration_median_h = 3.0
duration_sigma = 0.5
severity = { dist = "uniform", low = 0.05, high = 0.5 }

[loop]
"""


run = run_cli  # (code, stdout, stderr)


@pytest.mark.parametrize(("loop", "message"), [
    ('rounds = 0\nfeatures = ["accel_rms_g"]', "loop.rounds: Input should be greater than or equal to 1 (got 0); "
                                              "allowed: 1 <= rounds <= 100"),
    ('features = ["accel_rms_g"]\nmodel = "svm"', "unknown model 'svm'; known: random_forest"),
    ('features = ["accel_rms_g"]\nvalidation = "nope.csv"', "loop.validation: cannot read"),
    ('features = ["accel_rms_g"]\ncolour = 1', "loop.colour"),
])
def test_bad_loop_tables_exit_2_with_one_line_and_write_nothing(tmp_path, loop, message):
    spec = tmp_path / "c.toml"
    spec.write_text(CAMPAIGN + loop + "\n")
    code, _, err = run("campaign", "run", spec, "--out", tmp_path / "out")
    assert code == 2 and message in err
    assert not (tmp_path / "out").exists()


def test_a_loop_campaign_runs_its_rounds_from_the_command_line(tmp_path):
    spec = tmp_path / "c.toml"
    (tmp_path / "val.csv").write_text("accel_rms_g,accel_kurtosis,fault\n0.3,3.0,none\n0.9,5.0,imbalance\n")
    spec.write_text(CAMPAIGN + 'rounds = 2\nruns_per_round = 3\nfeatures = ["accel_rms_g", "accel_kurtosis"]\n'
                    'relabel = { "" = "none" }\nvalidation = "val.csv"\n')
    code, out, err = run("campaign", "run", spec, "--out", tmp_path / "out")
    assert code == 0, err
    assert "round 1: 6 runs" in out
    saved = json.loads((tmp_path / "out" / "loop.json").read_text())
    assert [r["runs_total"] for r in saved["rounds"]] == [3, 6]
    assert saved["info"]["validation"] == "given" and saved["rounds"][0]["scores"]["validation"]["n"] == 2


def test_the_summary_names_the_synthetic_validation_folder_it_wrote(tmp_path):
    """Without a validation file the loop simulates one into OUT/validation: the summary
    prints that folder (it printed a literal 'out/validation' whatever --out was)."""
    spec = tmp_path / "c.toml"
    spec.write_text(CAMPAIGN + 'rounds = 1\nruns_per_round = 2\nfeatures = ["accel_rms_g"]\n'
                    'relabel = { "" = "none" }\nvalidation_runs_per_class = 1\n')
    out = tmp_path / "loop_out"
    code, text, err = run("campaign", "run", spec, "--out", out)
    assert code == 0, err
    assert f"validation synthetic: {out / 'validation'}\n" in text
    assert (out / "validation" / "runs.parquet").is_file()
    assert json.loads((out / "loop.json").read_text())["info"]["validation"] == "synthetic"  # no path: same bytes
