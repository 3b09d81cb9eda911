"""The parameter space: every setting of each twin by dotted path, unit, valid range, law, calibration."""

import math

import pytest
from pydantic import BaseModel, Field, ValidationError

import twinforge.twins  # registers the built-in twins
import twinforge.twins.machine  # noqa: F401  (registers the machine twin)
from twinforge.core.params import Bound, Law, ValidRange, build_space, space_lookup, unit_of
from twinforge.core.registry import TWINS
from twinforge.twins.grid import GridTwin
from twinforge.twins.home import HOME_LAWS, HomeConfig, HomeTwin
from twinforge.twins.machine import MACHINE_PINS, MachineTwin

TWIN_NAMES = ("home", "grid", "machine")


def _space(name):
    return TWINS.get(name).parameter_space()


@pytest.mark.parametrize("name", TWIN_NAMES)
def test_every_numeric_setting_says_its_unit(name):
    missing = [k for k, p in _space(name).items() if p.numeric and not p.unit]
    assert not missing, f"numeric settings without a [unit] in their description: {missing}"


@pytest.mark.parametrize("name", TWIN_NAMES)
def test_every_default_lies_in_its_valid_range(name):
    bad = [k for k, p in _space(name).items() if p.numeric and p.default is not None and not p.valid.contains(p.default)]
    assert not bad


@pytest.mark.parametrize("name", TWIN_NAMES)
def test_the_valid_range_is_the_one_the_config_enforces(name):
    """A value just outside the declared range is refused by the twin's own Config model."""
    twin = TWINS.get(name)
    data = twin.Config().model_dump()
    checked = 0
    for path, p in twin.parameter_space().items():
        if not p.numeric or p.optional or path.startswith("diversity.") or "*" in path:
            continue
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node[part]
        for edge, outside in ((p.valid.low, p.valid.low - max(1.0, abs(p.valid.low))),
                              (p.valid.high, p.valid.high + max(1.0, abs(p.valid.high)))):
            if not math.isfinite(edge):
                continue
            old, node[last] = node[last], outside
            with pytest.raises(ValidationError):
                twin.Config.model_validate(data)
            node[last] = old
            checked += 1
    assert checked > 40


@pytest.mark.parametrize("name", TWIN_NAMES)
def test_calibration_ranges_and_law_clips_lie_in_the_valid_range(name):
    space = _space(name)
    twin = TWINS.get(name)
    for path, b in twin.calibratable.items():
        p = space_lookup(space, path)
        assert p is not None and p.calibration == b
        assert p.valid.covers(b.low, b.high), (path, str(p.valid), b)
    for path, law in twin.laws.items():
        p = space[path]
        assert p.law is law
        if law.clip is not None and p.numeric:
            assert p.valid.covers(*law.clip), (path, str(p.valid), law.clip)


@pytest.mark.parametrize("name", TWIN_NAMES)
def test_every_diversity_field_is_read_by_a_law(name):
    """No fleet law is undeclared: each Diversity field drives at least one setting's law."""
    twin = TWINS.get(name)
    read = {x for law in twin.laws.values() for x in law.paths()}
    assert sorted(f"diversity.{f}" for f in twin.Diversity.model_fields if f"diversity.{f}" not in read) == []


def test_a_feeders_homes_have_the_home_twins_laws_per_home():
    space = GridTwin.parameter_space()
    area = space["home.envelope.floor_area_m2"].law
    assert area.args == {"median": "homes.floor_area_median_m2", "sigma": "homes.floor_area_sigma"}
    assert area.per == "feeder home" and area.clip == HOME_LAWS["envelope.floor_area_m2"].clip
    assert space["home.envelope.ua_w_per_k"].law.args["median"].of == ("home.envelope.floor_area_m2",)
    assert space["homes.pv_share"].law.args == {"range": "diversity.pv_share_range"}
    assert space["homes.pv_share"].valid == ValidRange(0.0, 1.0)


def test_machine_pins_name_the_laws_of_their_setting():
    """Explicit settings win over diversity: each pinned law is one the setting's law reads."""
    space = MachineTwin.parameter_space()
    for path, pins in MACHINE_PINS:
        law = space[path].law
        assert law is not None, path
        assert {f"diversity.{k}" for k in pins} <= set(law.paths()), path


def test_the_space_holds_units_ranges_defaults_and_kinds():
    space = HomeTwin.parameter_space()
    ua = space["envelope.ua_w_per_k"]
    assert (ua.kind, ua.unit, ua.default) == ("float", "W K-1", HomeConfig().envelope.ua_w_per_k)
    assert ua.calibration == Bound(50.0, 600.0) and "envelope.floor_area_m2" in ua.law.paths()
    assert space["occupancy.n_occupants"].kind == "int" and space["occupancy.n_occupants"].unit == "count"
    assert space["hvac.heating"].kind == "literal" and "gas" in space["hvac.heating"].choices
    assert space["hvac.cooling"].kind == "bool"
    assert (space["ev"].kind, space["ev"].default) == ("section", "absent")
    assert space["ev.battery_kwh"].optional and not space["envelope.ua_w_per_k"].optional
    assert str(space["diversity.floor_area_sigma"].valid) == "[0, 1.5]"
    assert space["diversity.floor_area_sigma"].calibratable
    grid = GridTwin.parameter_space()
    assert space_lookup(grid, "commercial.classes.industry.open_h") is grid["commercial.classes.*.open_h"]


def test_unit_of_reads_the_bracket_that_ends_a_description():
    assert unit_of("UA of the envelope [W K-1]") == "W K-1"
    assert unit_of("gamma-process scale beta [damage units]; E[D] = beta alpha") == "damage units"
    assert unit_of("lubrication quality l in (0, 1], 1 = as new [1]") == "1"
    assert unit_of("no unit here") == ""


def test_valid_range_ends():
    r = ValidRange(0.0, 1.0, low_open=True)
    assert not r.contains(0.0) and r.contains(1.0) and not r.contains(1.5)
    assert not r.covers(0.0, 1.0) and r.covers(0.0, 1.0, (False, True)) and not r.covers(0.0, 1.5, (False, False))
    assert str(ValidRange()) == "(-inf, inf)" and str(ValidRange(low=0.0)) == "[0, inf)"


def test_a_law_on_an_unknown_setting_or_reading_an_unknown_path_is_refused():
    class Cfg(BaseModel):
        a_w: float = Field(1.0, ge=0.0, description="a [W]")

    class Div(BaseModel):
        a_sigma: float = Field(0.1, ge=0.0, description="spread [1]")

    ok = build_space(Cfg, Div, {"a_w": Law("lognormal", {"median": "setting", "sigma": "diversity.a_sigma"})})
    assert ok["a_w"].law.args["sigma"] == "diversity.a_sigma" and ok["diversity.a_sigma"].unit == "1"
    with pytest.raises(ValueError, match="law for 'b_w': no such setting"):
        build_space(Cfg, Div, {"b_w": Law("normal", {"sd": "diversity.a_sigma"})})
    with pytest.raises(ValueError, match=r"law for 'a_w' reads unknown path\(s\) \['diversity.nope'\]"):
        build_space(Cfg, Div, {"a_w": Law("normal", {"sd": "diversity.nope"})})
    with pytest.raises(ValueError, match="calibration range for 'c': no such setting"):
        build_space(Cfg, Div, calibratable={"c": Bound(0.0, 1.0)})


def test_law_describe_with_and_without_values():
    law = HOME_LAWS["pv.capacity_kwp"]
    assert law.describe() == ("with probability diversity.pv_share: uniform(range=diversity.pv_kwp_range); "
                              "at most roof_area_m2 x 0.2 kWp m-2; else 0")
    values = {"diversity.pv_share": 0.15, "diversity.pv_kwp_range": (2.0, 6.0)}
    assert law.describe(values.get) == ("with probability 0.15 (diversity.pv_share): uniform(range=[2, 6] "
                                        "(diversity.pv_kwp_range)); at most roof_area_m2 x 0.2 kWp m-2; else 0")
