"""``twinforge fidelity --protocol``: bad input is one line and exit 2; a small run end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from twinforge.cli import main
from twinforge.fidelity.loader import PJM_SAMPLE, _sample

PJM = _sample(PJM_SAMPLE)  # PJM East, calendar year 2014
SMALL_FEEDER = 'twin = "grid"\nperiod = "1h"\n\n[grid]\nn_homes = 20\ntz = "America/New_York"\n'


def protocol_args(config: Path, out: Path, *extra: str) -> list[str]:
    return ["fidelity", "--protocol", "--real", str(PJM), "--format", "pjm", "--config", str(config),
            "--calibration", "2014-01-01:2014-01-15", "--holdout", "2014-01-15:2014-01-29",
            "--map", "load_power_w=feeder_power_w", "--normalise", "mean", "--tz", "America/New_York",
            "--period", "1h", "--units", "1", "--out", str(out), "--quiet", *extra]


@pytest.fixture()
def config(tmp_path):
    path = tmp_path / "feeder.toml"
    path.write_text(SMALL_FEEDER)
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--calibration": "2014-01-01"}, "--calibration: expected START:END (local dates), got '2014-01-01'"),
        ({"--holdout": "2014-01-15:soon"}, "--holdout: 'soon' is not a date (expected START:END"),
        ({"--holdout": "2014-01-10:2014-01-29"},
         "holdout: period B (2014-01-10T05:00:00+00:00) must start after period A ends (2014-01-15T05:00:00+00:00)"),
        ({"--calibration": "2014-01-15:2014-01-01"}, "calibration: the period must end after it starts"),
        ({"--holdout": "2016-01-01:2016-02-01"}, "the real trace holds no data from 2016-01-01T05:00:00+00:00"),
        ({"--units": "0"}, "--units must be >= 1, got 0"),
        ({"--config": None}, "--config: --protocol needs the twin's scenario or preset"),
    ],
)
def test_bad_protocol_input_is_one_line_and_exit_2(config, tmp_path, capsys, change, message):
    args = protocol_args(config, tmp_path / "out")
    for flag, value in change.items():
        i = args.index(flag)
        if value is None:
            del args[i:i + 2]
        else:
            args[i + 1] = value
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err, err
    assert not (tmp_path / "out").exists()  # nothing written


@pytest.mark.parametrize(("make", "message"), [
    (lambda d: d / "nope.csv", "--unseen {}: file not found"),
    (lambda d: d, "--unseen {}: is a folder, not a trace file"),
])
def test_a_bad_unseen_source_is_named_as_unseen(config, tmp_path, capsys, make, message):
    unseen = make(tmp_path)
    assert main(protocol_args(config, tmp_path / "out", "--unseen", str(unseen))) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message.format(unseen) in err and "--real" not in err, err
    assert not (tmp_path / "out").exists()  # nothing written


def test_synthetic_is_not_for_the_protocol(config, tmp_path, capsys):
    assert main(protocol_args(config, tmp_path / "out", "--synthetic", str(tmp_path))) == 2
    assert "--synthetic: not with --protocol" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_protocol_flags_need_protocol(tmp_path, capsys):
    code = main(["fidelity", "--real", str(PJM), "--synthetic", str(tmp_path), "--holdout", "2014-01-15:2014-01-29",
                 "--out", str(tmp_path / "out"), "--quiet"])
    assert code == 2 and "--protocol" in capsys.readouterr().err


@pytest.mark.slow
def test_protocol_end_to_end_writes_the_table_the_metrics_and_the_report(config, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(protocol_args(config, out, "--null-permutations", "2", "--bootstrap", "2")) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("held-out protocol: ") and "| yardstick: real A vs real B | 14 / 14 |" in printed
    data = json.loads((out / "metrics.json").read_text())
    checks = {c["name"]: c for c in data["verdict"]["checks"]}
    # two weeks a side: far fewer than the 100 windows the rule asks for, so never a pass
    assert not checks["windows"]["ok"] and data["verdict"]["passed"] is False
    assert checks["seasons"]["ok"]  # January in both periods
    rows = {r["comparison"]: r for r in data["rows"]}
    assert rows["twin, held out"]["n_real_windows"] == rows["yardstick: real A vs real B"]["n_real_windows"] == 14
    assert data["details"]["config"].endswith("(--config " + str(config) + ": every run is the scenario's one grid "
                                              "(no [diversity]))")
    assert (out / "protocol.md").read_text().startswith("held-out protocol: ")
    assert "Verdict: " in (out / "report.html").read_text()
