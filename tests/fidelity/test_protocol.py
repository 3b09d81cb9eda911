"""The held-out protocol: reality's yardstick, the twin beside it, the verdict and its rule."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from twinforge.campaign.spec import load_spec
from twinforge.fidelity import CompareError, protocol, simulate_runs
from twinforge.fidelity.heldout import PASS_RULE

CH = {"mains_power_w": "mains_power_w"}
HOME = {"hvac": {"heating": "gas"}}


@pytest.fixture(scope="module")
def source():
    """A "real" source: one home of the twin itself, 6 weeks at 1 h (so the twin is exchangeable)."""
    spec = load_spec(None, twin="home", period="1h", diversity=False, home=HOME)
    real = simulate_runs("home", spec.config, pd.Timestamp("2024-01-01T00:00Z"), 42, "1h", list(CH), seed=99)
    real = real.drop(columns="run_id")
    real.attrs["source"] = "a simulated house"
    return spec, real


@pytest.fixture(scope="module")
def result(source):
    spec, real = source
    return protocol(real, spec, calibration=("2024-01-01", "2024-01-21"), holdout=("2024-01-22", "2024-02-11"),
                    channels=CH, tz="Europe/Paris", n_units=2, null_permutations=5, n_boot=5,
                    rule={"min_windows": 15})


@pytest.mark.slow  # the whole protocol with its nulls, bootstrap and TSTR
def test_rows_are_the_yardstick_and_the_twin_on_the_same_windows(result):
    rows = {r["comparison"]: r for r in result.rows}
    assert list(rows) == ["yardstick: real A vs real B", "twin, held out"]
    yard, twin = rows["yardstick: real A vs real B"], rows["twin, held out"]
    assert yard["n_real_windows"] == twin["n_real_windows"] == 20  # B's local days, scored once
    # real A: 19 whole Paris days (the source starts at 01:00 local); 2 twin runs over B
    assert yard["n_other_windows"] == 19 and twin["n_other_windows"] == 2 * 20
    for r in (yard, twin):
        assert 0.0 <= r["discriminative"] <= 0.5 and r["nn"] > 0
        lo, hi = r["discriminative_ci"]
        assert lo <= hi and r["discriminative_null_q95"] is not None and r["nn_null_q05"] is not None


@pytest.mark.slow  # the whole protocol with its nulls, bootstrap and TSTR
def test_the_verdict_applies_its_rule(result):
    checks = {c["name"]: c for c in result.verdict["checks"]}
    assert set(checks) == {"seasons", "windows", "discriminative", "nn", "tstr"}
    # A is January, B runs into February: not the same seasons, so not a pass whatever the scores
    assert not checks["seasons"]["ok"] and checks["seasons"]["rule"] == \
        "the same months in both periods (A: Jan; B: Jan, Feb)"
    yard, twin = result.rows[0], result.rows[1]
    assert checks["discriminative"]["ok"] == (twin["discriminative"] <= yard["discriminative"] + PASS_RULE["disc_margin"])
    assert checks["nn"]["ok"] == (twin["nn"] >= yard["nn"] - PASS_RULE["nn_margin"])
    assert checks["windows"]["ok"]  # 20 >= 15 (the rule given here)
    t = result.tstr
    assert t.details["real_training"] == "a real period of its own" and t.details["test_start"].startswith("2024-01-2")
    assert checks["tstr"]["ok"] == (t.tstr["mae"] <= 1.1 * t.trtr["mae"])
    assert result.verdict["passed"] == all(c["ok"] for c in checks.values())
    text = result.text()
    assert "| yardstick: real A vs real B | 20 / 19 |" in text and ("verdict: PASS" in text or "verdict: FAIL" in text)


def test_too_few_windows_fail_the_protocol(source):
    spec, real = source
    res = protocol(real, spec, calibration=("2024-01-01", "2024-01-21"), holdout=("2024-01-22", "2024-02-11"),
                   channels=CH, tz="Europe/Paris", n_units=1, null_permutations=0, n_boot=0, tstr=False)
    windows = next(c for c in res.verdict["checks"] if c["name"] == "windows")
    assert not windows["ok"] and not res.verdict["passed"]
    assert windows["rule"] == "at least 100 held-out windows a side: 20 real, 20 twin"


@pytest.mark.slow  # the whole protocol with its nulls, bootstrap and TSTR
def test_save_writes_the_table_the_metrics_and_the_report(result, tmp_path):
    out = result.save(tmp_path / "p")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p"]
    names = {p.name for p in out.iterdir()}
    assert {"protocol.md", "metrics.json", "report.html"} <= names
    data = json.loads((out / "metrics.json").read_text())
    assert data["verdict"]["passed"] == result.verdict["passed"] and len(data["rows"]) == 2
    assert (out / "protocol.md").read_text().startswith("held-out protocol: a simulated house")


def test_bad_periods_are_refused(source):
    spec, real = source
    kw = {"channels": CH, "tz": "Europe/Paris", "n_units": 1, "null_permutations": 0, "n_boot": 0, "tstr": False}
    with pytest.raises(CompareError, match="period B .* must start after period A ends"):
        protocol(real, spec, calibration=("2024-01-01", "2024-01-21"), holdout=("2024-01-15", "2024-02-11"), **kw)
    with pytest.raises(CompareError, match="calibration: the period must end after it starts"):
        protocol(real, spec, calibration=("2024-01-21", "2024-01-01"), holdout=("2024-01-22", "2024-02-11"), **kw)
    with pytest.raises(CompareError, match="holds no data from"):
        protocol(real, spec, calibration=("2024-01-01", "2024-01-21"), holdout=("2025-01-22", "2025-02-11"), **kw)
