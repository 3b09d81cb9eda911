"""One validation at the boundary, from the parameter space: campaign laws, design bounds and
calibration ranges are checked against each path's valid range (the CLI corpus of these
messages is tests/bad_inputs/campaigns/law_*.toml and design_bounds_outside_range.toml)."""

import math

import pytest

from twinforge.campaign.campaign import CampaignSpec, ParameterLaw
from twinforge.campaign.spec import SpecError
from twinforge.fidelity.parameters import Bound, TableParameters, resolve_params
from twinforge.fidelity.prepared import CompareError
from twinforge.twins.grid import GridConfig
from twinforge.twins.home import HomeConfig

CLIP = [20.0, 4000.0]


def _campaign(**kw):
    return CampaignSpec.from_data({"twin": "home", "runs": 2, "days": 1, "period": "1h", **kw})


def _law(**law):
    return {"parameters": {"envelope.ua_w_per_k": law}}


@pytest.mark.parametrize(("law", "values"), [
    ({"dist": "norm", "loc": 1.0, "scale": 2.0}, (-math.inf, math.inf, (False, False))),
    ({"dist": "lognorm", "s": 0.5, "clip": [1.0, 9.0]}, (1.0, 9.0, (True, True))),
    ({"dist": "uniform", "loc": 2.0, "scale": 4.0, "clip": [0.0, 5.0]}, (2.0, 5.0, (False, True))),
    ({"dist": "poisson", "mu": 3.0}, (0.0, math.inf, (True, True))),  # a discrete law reaches its edges
])
def test_the_range_of_a_law_is_its_support_clipped(law, values):
    assert ParameterLaw(**law).range() == values


def test_a_law_inside_the_valid_range_is_accepted_and_one_reaching_outside_refused():
    _campaign(**_law(dist="lognorm", s=0.3, scale=250.0, clip=CLIP))
    _campaign(**_law(dist="uniform", loc=10.0, scale=100.0))  # support (10, 110): 10 itself is never drawn
    with pytest.raises(SpecError, match=r'^parameters\."envelope\.ua_w_per_k": the law lognorm\(s=0\.3, scale=250\) '
                                        r'ranges over \(0, inf\) W K-1, outside the allowed range \(10, 5000\] W K-1; clip it'):
        _campaign(**_law(dist="lognorm", s=0.3, scale=250.0))
    with pytest.raises(SpecError, match=r"clipped \[5, 300\] ranges over \[5, 300\] W K-1, outside"):
        _campaign(**_law(dist="lognorm", s=0.3, scale=250.0, clip=[5.0, 300.0]))


def test_design_bounds_are_checked_against_the_valid_range():
    ok = {"sampler": "design", "runs": 4}
    _campaign(**ok, design={"bounds": {"envelope.ua_w_per_k": [100.0, 300.0]}})
    with pytest.raises(SpecError, match=r'^design\.bounds\."hvac\.heat_setpoint_c": the bounds span \[15, 30\] degC, '
                                        r"outside the allowed range \[5, 28\] degC; narrow them$"):
        _campaign(**ok, design={"bounds": {"hvac.heat_setpoint_c": [15.0, 30.0]}})


def test_an_unknown_path_names_the_nearest_settings_of_a_run():
    with pytest.raises(SpecError, match=r"no numeric parameter 'hvac.heat_setpoint' in the home twin's configuration; "
                                        r"nearest: hvac\.heat_setpoint_c"):
        _campaign(parameters={"hvac.heat_setpoint": {"dist": "uniform", "loc": 18.0, "scale": 2.0}})
    with pytest.raises(SpecError, match=r"nearest: (?!diversity)"):  # fleet laws are not a campaign's to vary
        _campaign(parameters={"floor_area_sigma": {"dist": "uniform", "loc": 0.1, "scale": 0.2}})


def test_every_problem_is_its_own_line():
    with pytest.raises(SpecError) as e:
        _campaign(parameters={"envelope.ua_w_per_k": {"dist": "norm", "loc": 200.0, "scale": 10.0},
                              "hvac.heat_setpoint": {"dist": "uniform", "loc": 18.0, "scale": 2.0}})
    lines = str(e.value).splitlines()
    assert len(lines) == 2 and lines[0].startswith('parameters."envelope.ua_w_per_k"')
    assert lines[1].startswith('parameters."hvac.heat_setpoint"')


def test_a_stored_campaign_is_read_back_whatever_its_laws_range():
    """A dataset written before the range check keeps its campaign readable (estimate, resume)."""
    stored = _campaign(**_law(dist="lognorm", s=0.3, scale=250.0, clip=CLIP)).to_json_dict()
    stored["parameters"]["envelope.ua_w_per_k"].pop("clip")
    back = CampaignSpec.from_json_dict(stored)
    assert back.parameters["envelope.ua_w_per_k"].clip is None
    with pytest.raises(SpecError, match="clip it"):
        CampaignSpec.from_data({k: v for k, v in stored.items() if k != "events_scheduled"})


def test_calibration_ranges_are_checked_against_the_valid_range():
    base = HomeConfig().model_dump()
    assert resolve_params({"appliances.usage_scale": (0.5, 2.0)}, base) == {"appliances.usage_scale": Bound(0.5, 2.0)}
    with pytest.raises(CompareError, match=r"^appliances\.usage_scale: the search range spans \[-1, 2\], outside the "
                                           r"allowed range \[0, 5\]$"):
        resolve_params({"appliances.usage_scale": (-1.0, 2.0)}, base)
    with pytest.raises(CompareError, match=r"the search range spans \[0, 2\] W K-1, outside the allowed range \(10, 5000\]"):
        resolve_params(["envelope.ua_w_per_k"], base,
                       source=TableParameters({"home": {"envelope.ua_w_per_k": Bound(0.0, 2.0)}}))


def test_an_unknown_calibration_path_names_the_nearest_or_the_missing_section():
    with pytest.raises(CompareError, match=r"^unknown home parameter 'appliances\.usage_scal'; nearest: appliances\.usage_scale"):
        resolve_params(["appliances.usage_scal"], HomeConfig().model_dump())
    with pytest.raises(CompareError, match=r"^unknown home parameter 'ev\.battery_kwh': a setting of a section the base "
                                           r"scenario does not set$"):
        resolve_params(["ev.battery_kwh"], HomeConfig().model_dump())
    with pytest.raises(CompareError, match=r"unknown grid parameter 'commercial\.classes\.industry\.open_h': a setting"):
        resolve_params(["commercial.classes.industry.open_h"], GridConfig().model_dump(), "grid")
