"""Adapting the weather's own draws: tilted campaigns carry the exact weight; cross-entropy fits the tilt."""

from __future__ import annotations

import contextlib
import io
import math

import numpy as np
import pandas as pd
import pytest
import simpy
from scipy import stats

from twinforge.campaign.adaptive import check_weather_adaptable, cross_entropy, weather_days
from twinforge.campaign.campaign import CampaignSpec, load_campaign, plan_campaign
from twinforge.campaign.runner import build_twin
from twinforge.campaign.spec import SpecError
from twinforge.cli import main
from twinforge.core.rng import RngStreams
from twinforge.events.sampling import sample_events
from twinforge.processes.weather import Weather, WeatherParams, WeatherTilt
from _support import run_cli

BASE = {"twin": "home", "days": 1, "start": "2024-07-15", "seed": 1, "diversity": False,
        "events": {"heat_wave": {}}}
SIGMA = WeatherParams().anomaly_sigma_k
START = pd.Timestamp(BASE["start"], tz="UTC")
LEVEL = 3.2  # X(12 h) > 3.2 sigma: exactly P = Q(3.2) = 6.9e-4 (the stationary OU anomaly)


def _weather_rng(plan) -> np.random.Generator:
    return RngStreams(plan.seed).child(f"run/{plan.stream_id}").generator("weather")


def test_a_tilted_campaign_weights_each_run_by_its_weather_draws_and_the_twin_sees_the_tilt():
    tilt = {"anomaly_start": 1.2, "anomaly_daily": [0.2], "clearness_daily": [0.5]}
    c = CampaignSpec.from_data({**BASE, "runs": 6, "sampler": "importance", "home": {"weather": {"tilt": tilt}},
                                "proposal": {"heat_wave": {"rate_factor": 3.0}}})
    t = WeatherTilt(**tilt)
    s = c.scenario
    for plan in plan_campaign(c, 5):
        events_lw = sample_events(c.events, s.start, s.days,
                                  RngStreams(5).child(f"run/{plan.run_id}").generator("campaign/events"), c.proposal)[1]
        assert plan.log_weight == pytest.approx(events_lw + t.log_weight(_weather_rng(plan)), abs=1e-12)
        assert plan.weight == pytest.approx(math.exp(plan.log_weight), rel=1e-12)
    # the twin's weather is drawn under the tilt: its initial anomaly is sigma (xi_0 + theta_0)
    twin = build_twin(s, plan)
    twin.start(simpy.Environment(), s.grid())
    xi0 = _weather_rng(plan).standard_normal(73)[0]
    assert twin.weather.synoptic_anomaly_k(0.0) == pytest.approx(SIGMA * (xi0 + 1.2), abs=1e-12)


def test_a_tilt_outside_importance_sampling_is_refused():
    with pytest.raises(SpecError, match=r"home.weather.tilt: a tilt of the weather's draws needs sampler = "
                                        r"'importance' \(sampler is 'natural'\)"):
        CampaignSpec.from_data({**BASE, "runs": 2, "home": {"weather": {"tilt": {"anomaly_start": 1.0}}}})


def test_only_a_synthetic_weather_of_each_run_is_adapted():
    machine = load_campaign("machine_faults")
    with pytest.raises(ValueError, match="the machine twin has no weather to adapt"):
        check_weather_adaptable(machine)
    fixed = CampaignSpec.from_data({**BASE, "runs": 2, "home": {"weather": {"seed": 3}}})
    with pytest.raises(ValueError, match=r"home.weather must be the synthetic generator without a fixed seed"):
        cross_entropy(fixed, lambda *a: np.zeros(50), 1.0, seed=1, adapt_weather=True)
    assert weather_days(CampaignSpec.from_data({**BASE, "runs": 2, "days": 3})) == 3
    assert weather_days(CampaignSpec.from_data({**BASE, "runs": 2, "days": 2, "start": "2024-07-15 18:00"})) == 3


def _x12(plan) -> float:
    """The outcome: the synoptic anomaly of the run's own weather at 12:00 on day 0, in sigmas."""
    return Weather(plan.config.weather, START, _weather_rng(plan)).synoptic_anomaly_k(12 * 3600.0) / SIGMA


def simulate(stage, seed, label, plans):
    return np.array([_x12(p) for p in plans])


def test_cross_entropy_stages_fit_the_tilt_reproducibly():
    c = CampaignSpec.from_data({**BASE, "runs": 10})
    kw = dict(seed=4, runs_per_stage=50, batch=50, max_stages=1, max_runs=100, target_cov=0.01, adapt_weather=True,
              weather_family="daily")
    a, b = cross_entropy(c, simulate, LEVEL, **kw), cross_entropy(c, simulate, LEVEL, **kw)
    assert [s.weather_tilt for s in a.stages] == [s.weather_tilt for s in b.stages]
    assert a.stages[0].weather_tilt is None and a.stages[1].weather_tilt.anomaly_start > 0.5
    for k, st in enumerate(a.stages):  # every stage is an importance campaign with the plans' weights
        plans = plan_campaign(a.stage_campaign(k), st.seed)
        assert np.allclose([p.weight for p in plans], st.weights)
        assert np.allclose([_x12(p) for p in plans], st.values)
    assert "weather: start +" in a.text() and a.to_json()["stages"][1]["weather_tilt"]["anomaly_start"] > 0.5


@pytest.mark.slow
def test_cross_entropy_with_the_weather_estimates_an_exact_gaussian_tail():
    """P(X(12 h) > 3.2 sigma) = 6.9e-4; events cannot help, the tilt must; CoV 0.1 in far fewer runs than plain MC."""
    c = CampaignSpec.from_data({**BASE, "runs": 10})
    exact = float(stats.norm.sf(LEVEL))
    r = cross_entropy(c, simulate, LEVEL, seed=2, runs_per_stage=200, target_cov=0.1, max_runs=4000,
                      adapt_weather=True)
    e = r.estimate
    assert abs(e.value - exact) < 4 * e.std_error and e.cov <= 0.1
    assert (1 - exact) / (exact * e.cov**2) > 10 * r.runs


def test_cli_adapt_weather_refuses_a_twin_without_weather_before_writing(tmp_path):
    code, _, err = run_cli("campaign", "adapt", "machine_faults", "--column", "accel_rms_g", "--above", "1",
                           "--weather", "--out", tmp_path / "a")
    assert code == 2, err
    assert err == "twinforge: error: --weather: the machine twin has no weather to adapt\n"
    assert not (tmp_path / "a").exists()


def test_plain_generate_refuses_a_tilted_weather_before_writing(tmp_path):
    """Plain runs carry no weight, so a tilted weather would bias every statistic silently."""
    scenario = tmp_path / "tilted.toml"
    scenario.write_text('twin = "home"\ndays = 1\nperiod = "1h"\n\n[home.weather.tilt]\nanomaly_start = 1.0\n')
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["generate", "--config", str(scenario), "--out", str(tmp_path / "g"), "--quiet"])
    assert code == 2, err.getvalue()
    assert err.getvalue().startswith("twinforge: error: home.weather.tilt: a tilt of the weather's draws is an "
                                     "importance-sampling proposal")
    assert not (tmp_path / "g").exists()


def test_cross_entropy_with_the_impulse_family_and_the_mixture_estimator_reuses_every_run():
    c = CampaignSpec.from_data({**BASE, "runs": 10})
    kw = dict(seed=4, runs_per_stage=50, batch=50, max_stages=1, max_runs=150, target_cov=0.01, adapt_weather=True,
              weather_family="impulse")
    r = cross_entropy(c, simulate, LEVEL, estimator="mixture", **kw)
    tilt = r.stages[-1].weather_tilt
    c12 = WeatherTilt.impulse_response(12, tilt.anomaly_phi, 1)
    lift = sum(p * b * np.sum(WeatherTilt.impulse_response(h, tilt.anomaly_phi, 3)[0] * c12)
               for h, b, p in zip(tilt.peak_hours, tilt.peak_shifts, tilt.peak_probs))
    assert tilt.mixture and lift > 1.0  # the mixture raises E[Z(12 h)] by lift sigmas
    assert tilt.peak_shifts[-1] == 0.0 and tilt.peak_probs[-1] == pytest.approx(0.1)  # defensive: natural law
    assert r.estimate.n == r.runs == 150 and r.estimator == "mixture"
    final = [s for s in r.stages if s.final]
    assert r.final_estimate.n == sum(s.runs for s in final) == 100
    assert r.final_estimate.value == pytest.approx(np.mean([w * (y > LEVEL) for s in final
                                                            for w, y in zip(s.weights, s.values)]))
    assert r.estimate.value != r.final_estimate.value
    # the tilted stage campaign carries its mixture's exact weights (cross_entropy checks every
    # run's replayed ratio under its own proposal against these)
    plans = plan_campaign(r.stage_campaign(len(r.stages) - 1), r.stages[-1].seed)
    assert np.allclose([p.weight for p in plans], r.stages[-1].weights)
    assert np.allclose([_x12(p) for p in plans], r.stages[-1].values)
    assert "weather: peaks h" in r.text() and "runs of all stages (mixture)" in r.text()
    with pytest.raises(ValueError, match="estimator must be 'final' or 'mixture'"):
        cross_entropy(c, simulate, LEVEL, estimator="all", **kw)
