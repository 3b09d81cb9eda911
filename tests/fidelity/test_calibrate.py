"""Calibration recovers a known parameter and writes a preset that generate accepts."""

from __future__ import annotations

import pandas as pd
import pytest

from twinforge.campaign.spec import load_spec
from twinforge.fidelity.calibration import calibrate
from twinforge.fidelity.preset import preset_toml
from twinforge.fidelity.simulate import purpose_seed, simulate_runs
from twinforge.fidelity.comparison import CompareError
from twinforge.processes.appliances import APPLIANCES
from twinforge.twins.home import HomeConfig

# A fixed appliance stock and no electric heating, so that usage_scale is what differs.
OWNED = {k: k not in ("fridge", "freezer") for k in APPLIANCES}
COMMON = {"hvac": {"heating": "gas"}, "appliances": {"owned": OWNED}}
START = pd.Timestamp("2024-01-01", tz="UTC")


@pytest.fixture(scope="module")
def recovered():
    truth = HomeConfig.model_validate({**COMMON, "appliances": {"owned": OWNED, "usage_scale": 1.6}})
    # the "real" home: another seed than any calibration home
    target = simulate_runs("home", truth, START, 21, "900s", ["mains_power_w"], seed=202).drop(columns="run_id")
    base = HomeConfig.model_validate(COMMON)
    return calibrate(target, params=["appliances.usage_scale"], base=base, max_runs=12, holdout=0.25,
                     n_homes=3, n_eval_homes=2, seed=0)


@pytest.mark.slow  # a whole calibration, end to end
def test_recovers_usage_scale_from_a_wrong_start(recovered):
    res = recovered
    assert res.start_params == {"appliances.usage_scale": 1.0}
    assert abs(res.params["appliances.usage_scale"] - 1.6) < 0.3
    assert res.loss_best < 0.8 * res.loss_start
    assert res.n_runs <= 12 and len(res.history) == res.n_runs
    assert res.config.appliances.usage_scale == res.params["appliances.usage_scale"]
    # held-out windows: the calibrated home is closer than the start on the marginal
    before, after = res.report_before, res.report_after
    assert after.value("channels.mains_power_w.wasserstein") < before.value("channels.mains_power_w.wasserstein")
    assert res.details["holdout_days"] == 5.0 and res.details["calibration_days"] == 15.0  # 20 whole Paris days


def test_a_point_asked_for_twice_is_simulated_once():
    """Nelder-Mead evaluates its start point again: the budget pays for each point only once."""
    target = simulate_runs("home", HomeConfig.model_validate(COMMON), START, 6, "900s", ["mains_power_w"], seed=9)
    res = calibrate(target.drop(columns="run_id"), params=["appliances.usage_scale", "appliances.standby_w"],
                    base=HomeConfig.model_validate(COMMON), max_runs=6, n_units=1, holdout=0.0,
                    method="nelder-mead", evaluate=False)
    names = ["appliances.usage_scale", "appliances.standby_w"]
    assert res.n_runs == len(res.history) == 6
    assert not res.history[names].duplicated().any()


@pytest.mark.slow  # a whole calibration, end to end
def test_rescore_chooses_the_lowest_loss_on_fresh_seeds(tmp_path):
    """The search's best few and the start run again on other seeds; the lowest fresh loss wins."""
    truth = HomeConfig.model_validate({**COMMON, "appliances": {"owned": OWNED, "usage_scale": 1.6}})
    target = simulate_runs("home", truth, START, 9, "900s", ["mains_power_w"], seed=202).drop(columns="run_id")
    base = HomeConfig.model_validate(COMMON)
    kw = dict(params=["appliances.usage_scale", "appliances.standby_w"], base=base, max_runs=8, holdout=0.25,
              n_units=1, n_eval_units=2, seed=0, method="nelder-mead")
    plain = calibrate(target, **kw)
    res = calibrate(target, rescore=3, n_rescore_units=2, **kw)
    names = kw["params"]
    # the search itself is the same; only the choice after it differs
    pd.testing.assert_frame_equal(plain.history[names + ["loss"]], res.history[names + ["loss"]])
    assert plain.details["rescore"] is None and "rescore_loss" not in plain.history
    h = res.history
    scored = h[h["rescore_loss"].notna()]
    assert len(scored) == 4 and scored.index[0] == 0  # the start and the 3 best others
    others = h.drop(index=0)
    assert set(scored.index[1:]) == set(others.nsmallest(3, "loss").index)
    chosen = scored["rescore_loss"].idxmin()
    assert res.params == {n: h.loc[chosen, n] for n in names}
    assert res.loss_best == h.loc[chosen, "loss"]
    assert res.config.appliances.usage_scale == res.params["appliances.usage_scale"]
    rs = res.details["rescore"]
    # fresh runs: a root seed of their own, a named child of the calibration's seed
    assert rs["seed"] == purpose_seed(0, "rescore")
    assert len({rs["seed"], res.details["calibration_seed"], res.details["evaluation_seed"]}) == 3
    assert rs["loss_start"] == h.loc[0, "rescore_loss"] and rs["chose_start"] == (chosen == 0)
    # a fresh loss is a real loss: the start's differs from its loss on the search's seed
    assert rs["loss_start"] != h.loc[0, "loss"]
    assert "re-scored 4 candidates" in res.summary()
    assert "# re-scored 4 candidates (the start included) on 2 fresh run(s)" in res.write_preset(tmp_path / "p.toml").read_text()
    with pytest.raises(CompareError, match="rescore must be an integer >= 0"):
        calibrate(target, rescore=-1, **kw)
    with pytest.raises(CompareError, match="n_rescore_units must be >= 1"):
        calibrate(target, rescore=1, n_rescore_units=0, **kw)


@pytest.mark.slow  # a whole calibration, end to end
def test_preset_loads_as_a_scenario(recovered, tmp_path):
    path = recovered.write_preset(tmp_path / "preset.toml", days=3)
    spec = load_spec(path)
    assert spec.twin == "home" and spec.diversity is None and spec.days == 3.0
    assert spec.config.appliances.usage_scale == pytest.approx(recovered.params["appliances.usage_scale"], abs=1e-6)
    assert spec.config.hvac.heating == "gas" and spec.config.appliances.owned == OWNED
    assert path.read_text().startswith("# twinforge preset")


def test_preset_toml_writes_nested_tables():
    text = preset_toml({"twin": "home", "home": {"appliances": {"standby_w": 80.0}, "tz": "UTC"}}, ["hi"])
    assert text == '# hi\n\ntwin = "home"\n\n[home]\ntz = "UTC"\n\n[home.appliances]\nstandby_w = 80.0\n'


def test_preset_switches_optional_sections_on(tmp_path):
    """A section absent by default (the water heater) is written whole, None fields left out."""
    from twinforge.fidelity.preset import diff_config as _diff

    cfg = HomeConfig.model_validate({**COMMON, "dhw": {"tank_l": 150.0}, "ev": {}})
    data = {"twin": "home", "period": "1h", "days": 2.0, "runs": 1, "diversity": False,
            "home": _diff(cfg.model_dump(mode="json"), HomeConfig().model_dump(mode="json"))}
    text = preset_toml(data)
    assert "[home.dhw]\ntank_l = 150.0" in text and "offpeak_window_h" not in text
    assert "[home.ev]\n" in text  # all its defaults, written out: the section is on
    path = tmp_path / "p.toml"
    path.write_text(text)
    assert load_spec(path).config == cfg


def test_errors():
    t = pd.date_range("2024-01-01", periods=4 * 96, freq="15min", tz="UTC")
    real = pd.DataFrame({"mains_power_w": 500.0}, index=t)
    with pytest.raises(CompareError, match="no default range"):
        calibrate(real, params=["weather.temp_mean_c"], max_runs=3)
    with pytest.raises(CompareError, match="unknown home parameter"):
        calibrate(real, params={"appliances.nope": (0, 1)}, max_runs=3)
    with pytest.raises(CompareError, match="unknown home channel"):
        calibrate(real, channels={"mains_power_w": "feeder_power_w"}, max_runs=3)
    with pytest.raises(CompareError, match="not numeric"):
        calibrate(real, params={"hvac.heating": (0, 1)}, max_runs=3)


@pytest.mark.slow  # a whole calibration, end to end
def test_calibrates_a_machine_with_units_held_out():
    """Machines, real units with run_id: the split is by unit and a known parameter is found."""
    from twinforge.twins.machine import MachineConfig

    base = MachineConfig(fault_modes=[])  # healthy: the background level is what differs
    truth = base.model_copy(update={"vibration": base.vibration.model_copy(update={"background_rms_g": 0.8})})
    units = [simulate_runs("machine", truth, START + pd.Timedelta(days=3 * k), 0.25, "60s", ["accel_rms_g"],
                           seed=500 + k).assign(run_id=10 + k) for k in range(4)]
    real = pd.concat(units)
    res = calibrate(real, base=base, params=["vibration.background_rms_g"],
                    channels={"accel_rms_g": "accel_rms_g"}, max_runs=12, n_units=3, n_eval_units=3,
                    holdout=0.25, window="1h", tz="UTC", weights={"profile": 0.0})
    assert res.details["twin"] == "machine" and res.details["split"] == "unit"
    assert "run_id 13" in res.details["holdout"] and "10..12" in res.details["calibration"]
    assert res.params["vibration.background_rms_g"] == pytest.approx(0.8, rel=0.1)
    assert res.report_after.info["n_real_runs"] == 1 and res.report_after.info["n_real_windows"] == 6
    assert res.report_after.value("channels.accel_rms_g.ks") < 0.5 * res.report_before.value("channels.accel_rms_g.ks")


@pytest.mark.slow  # a whole calibration, end to end
def test_calibrates_the_spread_between_units(tmp_path):
    """Fleet laws: real bearings differ in level; calibrating diversity.background_sigma finds how much."""
    from twinforge.twins.machine import MachineDiversity

    truth = load_spec(None, twin="machine", period="120s", diversity={"background_sigma": 0.5},
                      machine={"fault_modes": []})
    units = [simulate_runs("machine", truth.config, START + pd.Timedelta(days=k), 0.125, "120s", ["accel_rms_g"],
                           seed=700 + k, diversity=truth.diversity).assign(run_id=k) for k in range(16)]
    real = pd.concat(units)
    real.attrs["bearings"] = {k: f"Bearing{k}" for k in range(16)}  # units named as load_pronostia names them
    base = load_spec(None, twin="machine", period="120s", diversity={"background_sigma": 0.05},
                     machine={"fault_modes": []})
    res = calibrate(real, base=base, params=["diversity.background_sigma"], channels={"accel_rms_g": "accel_rms_g"},
                    max_runs=10, n_units=12, n_eval_units=8, holdout=0.25, window="1h", tz="UTC",
                    weights={"profile": 0.0, "acf": 0.0})
    assert res.base_diversity.background_sigma == 0.05
    assert res.params["diversity.background_sigma"] == pytest.approx(0.5, abs=0.15)
    assert res.diversity.background_sigma == res.params["diversity.background_sigma"]
    assert res.config == base.config  # only the fleet laws were searched
    assert res.report_after.value("channels.accel_rms_g.ks") < res.report_before.value("channels.accel_rms_g.ks")
    spec = load_spec(res.write_preset(tmp_path / "fleet.toml"))
    header = (tmp_path / "fleet.toml").read_text().splitlines()[2]
    assert header.endswith("held out: 4 unit(s) (run_id 12, 13, 14, 15: Bearing12, Bearing13, Bearing14, Bearing15)")
    assert isinstance(spec.diversity, MachineDiversity)
    assert spec.diversity.background_sigma == pytest.approx(res.diversity.background_sigma, abs=1e-6)
    assert spec.diversity.model_dump(exclude={"background_sigma"}) == MachineDiversity().model_dump(
        exclude={"background_sigma"})
    # without fleet laws in the base, the spread cannot be searched
    with pytest.raises(CompareError, match=r"diversity.background_sigma.*\[diversity\]"):
        calibrate(real, base=base.config, params=["diversity.background_sigma"],
                  channels={"accel_rms_g": "accel_rms_g"}, max_runs=3, window="1h", tz="UTC")


def test_grid_and_machine_errors():
    t = pd.date_range("2024-01-01", periods=4 * 24, freq="1h", tz="UTC")
    real = pd.DataFrame({"load_power_w": 5e5, "rms": 1.0}, index=t)
    with pytest.raises(CompareError, match="give channels"):
        calibrate(real, twin="machine", params={"vibration.background_rms_g": (0.1, 1)}, max_runs=3)
    with pytest.raises(CompareError, match="unknown grid parameter"):
        calibrate(real, twin="grid", params={"homes.nope": (0, 1)}, max_runs=3)
    with pytest.raises(CompareError, match="unknown twin"):
        calibrate(real, twin="boat", max_runs=3)
    with pytest.raises(CompareError, match="GridConfig"):
        calibrate(real, twin="grid", base=HomeConfig(), max_runs=3)
    # a class of the non-residential load that the base does not have
    from twinforge.processes.commercial import CommercialParams
    from twinforge.twins.grid import GridConfig
    with pytest.raises(CompareError, match=r"unknown grid parameter 'commercial.classes.industry.open_h'"):
        calibrate(real[["load_power_w"]], base=GridConfig(commercial=CommercialParams()),
                  params=["commercial.classes.industry.open_h"], max_runs=3)
    one_unit = real.assign(run_id=0)
    with pytest.raises(CompareError, match="at least two units"):
        calibrate(one_unit[["load_power_w", "run_id"]], twin="grid", params=["homes.cooling_share"], max_runs=3)
