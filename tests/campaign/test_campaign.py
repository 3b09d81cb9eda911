"""Campaign files and plans: validation, determinism, and the law of what is planned.

No simulation here: plans are cheap, so the laws (event rates, onsets, severities,
parameter distributions, importance weights) are tested on large fixed-seed samples.
"""

import importlib.util
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from twinforge.campaign.campaign import CampaignSpec, load_campaign, plan_campaign, plan_run
from twinforge.campaign.estimators import weighted_mean, weighted_probability
from twinforge.campaign.spec import SpecError
from twinforge.events.sampling import stratum_probabilities

ROOT = Path(__file__).resolve().parents[2]
START = pd.Timestamp("2024-07-10", tz="UTC")
DAYS = 30.0


def _campaign(**kw):
    data = {"twin": "home", "runs": 10, "days": DAYS, "start": "2024-07-10", "diversity": False, "seed": 3}
    data.update(kw)
    return CampaignSpec.from_data(data)


# -- validation -------------------------------------------------------------------------


def test_every_problem_is_one_line_naming_its_field():
    with pytest.raises(SpecError) as e:
        CampaignSpec.from_data(
            {
                "twin": "home", "runs": 4, "sampler": "importance",
                "events": {"feeder_fault": {}, "heat_wave": {"rate_per_year": 2.0}},
                "proposal": {"cold_snap": {"rate_factor": 2.0}},
                "parameters": {"envelope.nope": {"dist": "lognorm", "s": 0.2}},
            },
            "c.toml: ",
        )
    lines = str(e.value).splitlines()
    assert len(lines) == 3 and all(ln.startswith("c.toml: ") for ln in lines)
    assert any("events.feeder_fault" in ln and "needs the supply target, which the home twin does not expose" in ln for ln in lines)
    assert any(ln.startswith("c.toml: proposal.cold_snap:") for ln in lines)
    assert any('parameters."envelope.nope"' in ln for ln in lines)


@pytest.mark.parametrize(
    "extra, match",
    [
        ({"events": {"heat_wave": {"rate_per_year": -1}}}, r"events\.heat_wave\.rate_per_year"),
        ({"sampler": "gibbs"}, r"^sampler:"),
        ({"parameters": {"envelope.ua_w_per_k": {"dist": "nodist"}}}, r"not a scipy.stats distribution"),
        ({"parameters": {"envelope.ua_w_per_k": {"dist": "lognorm", "s": -1}}}, r"outside the domain"),
        ({"sampler": "stratified", "events": {"heat_wave": {}}, "classes": {"storm": 2}}, r"classes\.storm: unknown stratum"),
        ({"sampler": "design"}, r"design: sampler 'design' needs"),
        ({"proposal": {"heat_wave": {"rate_factor": 2}}, "events": {"heat_wave": {}}}, r"proposal: only used"),
        ({"counterfactual": True}, r"counterfactual: pairs differ"),
        ({"events": [{"type": "heat_wave"}]}, r"events: a campaign declares event \*models\*"),
        ({"home": {"envelope": {"ua_w_per_k": -5}}}, r"home\.envelope\.ua_w_per_k"),
    ],
)
def test_bad_campaigns_are_refused_naming_the_field(extra, match):
    data = {"twin": "home", "runs": 4, **extra}
    with pytest.raises(SpecError, match=match):
        CampaignSpec.from_data(data)


def test_a_draw_that_breaks_the_twins_rules_names_the_run_and_the_values():
    c = _campaign(runs=50, parameters={"hvac.heat_setpoint_c": {"dist": "uniform", "loc": 10, "scale": 15}})
    with pytest.raises(SpecError, match=r"run \d+: parameters .*hvac.heat_setpoint_c=.* give an invalid home configuration: hvac"):
        plan_campaign(c, 1)


def test_runs_is_required_except_for_stratified_plans():
    with pytest.raises(SpecError, match=r"^runs: required"):
        CampaignSpec.from_data({"twin": "home"})
    c = CampaignSpec.from_data(
        {"twin": "home", "sampler": "stratified", "events": {"heat_wave": {}}, "start": "2024-07-01",
         "days": 30, "classes": {"none": 3, "heat_wave": 2}, "counterfactual": True}
    )
    assert (c.factual_runs, c.runs) == (5, 10)


@pytest.mark.parametrize("path", sorted((ROOT / "twinforge" / "data" / "campaigns").glob("*.toml")), ids=lambda p: p.name)
def test_example_campaigns_are_valid(path):
    if "machine" in path.name and importlib.util.find_spec("twinforge.twins.machine") is None:
        pytest.skip("the machine twin is not importable yet")
    c = load_campaign(path)
    plans = plan_campaign(c, c.scenario.seed, range(min(c.runs, 4)))
    assert [p.run_id for p in plans] == list(range(min(c.runs, 4)))
    assert c.output is not None


def test_shipped_examples_are_found_by_name_and_a_local_file_wins(tmp_path, monkeypatch):
    from twinforge.campaign.campaign import campaign_path, example_campaigns

    examples = example_campaigns()
    assert {"home_heat_wave", "grid_heat_wave_outage", "machine_faults"} <= set(examples)
    monkeypatch.chdir(tmp_path)
    assert load_campaign("home_heat_wave") == load_campaign(examples["home_heat_wave"])
    assert campaign_path("home_heat_wave.toml") == examples["home_heat_wave"]
    (tmp_path / "home_heat_wave.toml").write_text('twin = "home"\nruns = 2\n')
    assert campaign_path("home_heat_wave.toml") == Path("home_heat_wave.toml")
    with pytest.raises(SpecError, match="nope.toml: cannot read the campaign file"):
        load_campaign("nope.toml")


# -- determinism ------------------------------------------------------------------------


def test_a_run_plan_depends_only_on_seed_and_index():
    kw = dict(
        sampler="importance",
        events={"heat_wave": {}, "cold_snap": {}},
        proposal={"heat_wave": {"rate_factor": 5.0}},
        parameters={"envelope.ua_w_per_k": {"dist": "lognorm", "s": 0.3, "scale": 250.0, "clip": [20.0, 4000.0]}},
        diversity=True,
    )
    small, big = _campaign(runs=6, **kw), _campaign(runs=40, **kw)
    a, b = plan_run(small, 11, 5), plan_campaign(big, 11)[5]
    assert a == b
    assert plan_run(small, 12, 5) != a
    # a new parameter law leaves the other draws alone (its own stream)
    kw2 = dict(kw, parameters={**kw["parameters"], "envelope.solar_aperture_m2": {"dist": "uniform", "loc": 2, "scale": 4}})
    c = plan_run(_campaign(runs=6, **kw2), 11, 5)
    assert dict(c.overrides)["envelope.ua_w_per_k"] == dict(a.overrides)["envelope.ua_w_per_k"]
    assert c.events == a.events and c.weight == a.weight


def test_counterfactual_pairs_share_everything_but_the_events():
    c = _campaign(runs=20, counterfactual=True, events={"heat_wave": {"rate_per_year": 8.0}}, diversity=True)
    plans = plan_campaign(c, 5)
    assert len(plans) == 40
    for f, cf in zip(plans[0::2], plans[1::2]):
        assert (f.pair_id, cf.pair_id) == (f.run_id // 2, f.run_id // 2)
        assert not f.counterfactual and cf.counterfactual and cf.events == ()
        assert f.config == cf.config and f.weight == cf.weight and f.stream_id == cf.stream_id
    assert sum(len(p.events) for p in plans[0::2]) > 0


def test_stratified_plan_lays_out_classes_with_their_weights():
    classes = {"none": 3, "heat_wave": 5, "mixed": 2}
    c = _campaign(runs=None, sampler="stratified", events={"heat_wave": {}, "cold_snap": {}}, classes=classes)
    plans = plan_campaign(c, 1)
    probs = stratum_probabilities(c.events, START, DAYS)
    assert [p.stratum for p in plans] == ["none"] * 3 + ["heat_wave"] * 5 + ["mixed"] * 2
    for p in plans:
        assert p.weight == pytest.approx(probs[p.stratum] * 10 / classes[p.stratum])
        types = {e.type for e in p.events}
        assert types == {"none": set(), "heat_wave": {"heat_wave"}, "mixed": {"heat_wave", "cold_snap"}}[p.stratum]


def test_design_fills_its_bounds_and_events_keep_natural_weights():
    c = _campaign(
        runs=16, sampler="design", events={"heat_wave": {}},
        design={"method": "sobol", "bounds": {"envelope.ua_w_per_k": [100.0, 300.0], "hvac.heat_setpoint_c": [18.0, 21.0]}},
    )
    plans = plan_campaign(c, 2)
    ua = np.array([dict(p.overrides)["envelope.ua_w_per_k"] for p in plans])
    assert ((100 <= ua) & (ua <= 300)).all()
    # a balanced Sobol' design: one point in each sixteenth of the range
    assert sorted(np.floor((ua - 100) / 200 * 16).astype(int)) == list(range(16))
    assert all(p.weight == 1.0 for p in plans)
    assert all(p.config.envelope.ua_w_per_k == dict(p.overrides)["envelope.ua_w_per_k"] for p in plans)


# -- the law of what is planned ---------------------------------------------------------


def test_events_follow_their_declared_natural_models():
    c = _campaign(
        runs=1500, events={  # the law of onsets in the window (events in progress: test_in_progress.py)
            "heat_wave": {"rate_per_year": 6.0, "in_progress": False},
            "cold_snap": {"rate_per_year": 40.0, "severity": {"dist": "lognorm", "median": 4.0, "sigma": 0.4},
                          "in_progress": False},
        },
    )
    plans = plan_campaign(c, 2024)
    for name, m in c.events.items():
        ev = [(e, p.run_id) for p in plans for e in p.events if e.type == name]
        counts = np.bincount([r for _, r in ev], minlength=len(plans))
        lam = m.expected_count(START, DAYS)
        # Poisson counts: mean and dispersion
        assert counts.mean() == pytest.approx(lam, abs=4 * math.sqrt(lam / len(plans)))
        assert counts.var() / counts.mean() == pytest.approx(1.0, abs=0.12)
        t = np.array([(e.start - START) / pd.Timedelta(days=1) for e, _ in ev])
        onset_cdf = lambda x: np.array([m.expected_count(START, xi) if xi > 0 else 0.0 for xi in np.atleast_1d(x)]) / lam
        assert stats.kstest(t, onset_cdf).pvalue > 0.01
        s = np.array([e.severity for e, _ in ev])
        assert stats.kstest(s, lambda x: 1.0 - m.severity_sf(x)).pvalue > 0.01
        d = np.array([e.duration_h for e, _ in ev])
        assert stats.kstest(d, stats.lognorm(m.duration_sigma, scale=m.duration_median_h).cdf).pvalue > 0.01


def test_parameters_follow_their_declared_laws():
    law = {"dist": "lognorm", "s": 0.3, "scale": 250.0, "clip": [20.0, 4000.0]}  # clipped nowhere in 1500 runs
    c = _campaign(runs=1500, parameters={"envelope.ua_w_per_k": law, "envelope.solar_aperture_m2": {"dist": "uniform", "loc": 2, "scale": 4}})
    plans = plan_campaign(c, 9)
    ua = [p.config.envelope.ua_w_per_k for p in plans]
    sp = [p.config.envelope.solar_aperture_m2 for p in plans]
    assert stats.kstest(ua, stats.lognorm(0.3, scale=250.0).cdf).pvalue > 0.01
    assert stats.kstest(sp, stats.uniform(2, 4).cdf).pvalue > 0.01
    assert abs(stats.spearmanr(ua, sp).statistic) < 0.1  # independent streams


def _rare_level(m, target):
    """Severity u with natural P(at least one event of severity >= u on the horizon) = target."""
    lam = m.active_count(START, DAYS)  # onsets in the window and events in progress at its start
    return optimize.brentq(lambda u: -math.expm1(-lam * m.severity_sf(u)) - target, *m.severity_range)


def test_importance_plans_estimate_a_1e3_outcome_within_20_percent_and_stay_unbiased():
    base = _campaign(runs=1, events={"heat_wave": {}})
    m = base.events["heat_wave"]
    u = _rare_level(m, 1e-3)
    c = _campaign(
        runs=1000, sampler="importance", events={"heat_wave": {}, "cold_snap": {}},
        proposal={"heat_wave": {"rate_factor": 3.0, "tail_threshold": u, "tail_share": 0.5}},
    )
    plans = plan_campaign(c, 77)
    w = np.array([p.weight for p in plans])
    hit = np.array([any(e.type == "heat_wave" and e.severity >= u for e in p.events) for p in plans])
    n_hw = np.array([sum(e.type == "heat_wave" for e in p.events) for p in plans])
    est = weighted_probability(hit, w)
    assert est.value == pytest.approx(1e-3, rel=0.2)
    assert hit.mean() > 0.1  # the proposal makes the rare outcome common
    # unbiased: E_q[w N] = E_p[N] = Lambda (+ the events in progress), and E_q[w] = 1
    lam = m.active_count(START, DAYS)
    mean_n = weighted_mean(n_hw, w)
    assert abs(mean_n.value - lam) < 3 * mean_n.std_error
    mean_w = weighted_mean(np.ones_like(w), w)
    assert abs(mean_w.value - 1.0) < 3 * mean_w.std_error
    # plain Monte Carlo would need ~1e5 runs for the same relative error
    assert est.std_error / est.value < 0.1
