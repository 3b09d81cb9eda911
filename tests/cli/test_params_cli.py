"""`twinforge params`: a twin's parameter space, with a scenario's values and laws."""

import json

import pytest

from twinforge.cli import main
from twinforge.core.registry import TWINS


def _json(capsys, *argv):
    assert main(["params", *argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def _row(data, path):
    (row,) = [r for r in data["parameters"] if r["path"] == path]
    return row


@pytest.mark.parametrize("twin", ["home", "grid", "machine"])
def test_json_lists_every_setting_of_the_space_once(twin, capsys):
    data = _json(capsys, twin)
    paths = [r["path"] for r in data["parameters"]]
    assert data["twin"] == twin and data["diversity"] is True and data["scenario"] is None
    assert paths == list(TWINS.get(twin).parameter_space()) and len(set(paths)) == len(paths)
    assert all(r["unit"] for r in data["parameters"] if r["kind"] in ("float", "int"))


def test_the_home_space_with_defaults(capsys):
    data = _json(capsys, "home")
    ua = _row(data, "envelope.ua_w_per_k")
    assert (ua["unit"], ua["valid"], ua["calibration"]) == ("W K-1", "(10, 5000]", [50.0, 600.0])
    assert ua["law"] == ("lognormal(median=the drawn envelope.floor_area_m2 x per_m2 (per_m2=1.8 "
                         "(diversity.ua_per_m2_median)), sigma=0.25 (diversity.ua_sigma)), clipped [20, 4000]")
    assert _row(data, "hvac.heating")["valid"] == ["heat_pump", "resistive", "gas", "none"]
    assert _row(data, "ev")["value"] == "absent"
    assert _row(data, "diversity.floor_area_sigma")["law"] is None  # a fleet law is not varied itself


def test_a_scenarios_explicit_setting_shows_as_its_pinned_law(tmp_path, capsys):
    f = tmp_path / "s.toml"
    f.write_text('twin = "home"\n[home.hvac]\ncooling = true\nheat_setpoint_c = 21.5\n[diversity]\npv_share = 0.5\n')
    data = _json(capsys, "--scenario", str(f))
    assert data["scenario"] == str(f)
    assert _row(data, "hvac.cooling")["value"] is True
    assert _row(data, "hvac.cooling")["law"] == "bernoulli(p=1 (diversity.cooling_share))"
    assert _row(data, "hvac.heat_setpoint_c")["value"] == 21.5
    assert _row(data, "hvac.heat_setpoint_c")["law"].startswith("normal(mean=21.5 (the setting), sd=0 (diversity.heat_setpoint_sd_k))")
    assert _row(data, "pv.capacity_kwp")["law"].startswith("with probability 0.5 (diversity.pv_share)")


def test_diversity_off_varies_nothing(tmp_path, capsys):
    f = tmp_path / "s.toml"
    f.write_text("diversity = false\n")
    assert main(["params", "home", "--scenario", str(f)]) == 0
    out = capsys.readouterr().out
    n = len(TWINS.get("home").parameter_space())
    assert out.splitlines()[0] == f"# home twin: {n} settings; values: {f}; diversity off (no [diversity] law varies the runs)"
    data = _json(capsys, "home", "--scenario", str(f))
    assert data["diversity"] is False and not any(r["law"] for r in data["parameters"])


def test_a_feeder_without_diversity_still_draws_its_homes(tmp_path, capsys):
    f = tmp_path / "g.toml"
    f.write_text('twin = "grid"\ndiversity = false\n')
    data = _json(capsys, "--scenario", str(f))
    assert _row(data, "homes.pv_share")["law"] is None  # the feeders' [diversity] is off
    assert _row(data, "home.envelope.floor_area_m2")["law"].endswith("(per feeder home)")  # [grid.homes] still on


def test_a_campaigns_laws_replace_the_twins(capsys):
    data = _json(capsys, "--scenario", "home_heat_wave")
    assert _row(data, "envelope.ua_w_per_k")["law"] == "campaign: lognorm(s=0.3, scale=250) clipped [60, 1200]"
    assert _row(data, "hvac.cool_setpoint_c")["law"] == "campaign: uniform(loc=24, scale=3)"


def test_a_feeders_homes_show_the_home_laws_per_home(capsys):
    data = _json(capsys, "grid")
    area = _row(data, "home.envelope.floor_area_m2")["law"]
    assert area.startswith("lognormal(median=95 (homes.floor_area_median_m2)") and area.endswith("(per feeder home)")
    assert _row(data, "homes.pv_share")["law"] == "uniform(range=[0.05, 0.4] (diversity.pv_share_range))"


def test_the_table_has_a_header_and_one_line_per_setting(capsys):
    n = len(TWINS.get("machine").parameter_space())
    assert main(["params", "machine"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"# machine twin: {n} settings; values: defaults; diversity on"
    assert lines[1].split() == ["path", "unit", "value", "valid", "calibration", "law"]
    assert len(lines) == 2 + n
    (speed,) = [ln for ln in lines if ln.startswith("shaft_speed_rpm ")]
    assert speed.split()[1:5] == ["rpm", "1800", "(0,", "30000]"]


@pytest.mark.parametrize(("argv", "message"), [
    (["params", "boat"], "twinforge: error: params: unknown twin 'boat'; known: grid, home, machine"),
    (["params", "home", "--scenario", "nope.toml"], "nope.toml: cannot read the scenario file"),
    (["params", "home", "--format", "yaml"], "invalid choice: 'yaml'"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_a_scenario_of_another_twin_is_refused(tmp_path, capsys):
    f = tmp_path / "g.toml"
    f.write_text('twin = "grid"\n')
    assert main(["params", "home", "--scenario", str(f)]) == 2
    assert capsys.readouterr().err == f"twinforge: error: --scenario {f}: a grid scenario, not home\n"


@pytest.mark.slow  # reads the real trace before it checks the ranges (about 8 s under load): make test-slow
def test_calibrate_refuses_a_search_range_outside_the_valid_range(tmp_path, capsys):
    from pathlib import Path

    import twinforge
    from twinforge.fidelity.loader import UCI_SAMPLE

    out = tmp_path / "preset.toml"
    real = Path(twinforge.__file__).parent / "data" / UCI_SAMPLE
    code = main(["calibrate", "--real", str(real), "--params", "appliances.usage_scale=-1:2", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert err == ("twinforge: error: appliances.usage_scale: the search range spans [-1, 2], outside the allowed "
                   "range [0, 5]\n")
