"""Sampler-aware estimates from real campaign datasets, in Python and from the command line."""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from dataclasses import dataclass

import numpy as np
import pytest

from twinforge.campaign.analysis import (
    calendar_coverage,
    column_outcome,
    estimate,
    outcomes,
    read_campaign,
    runs_per_year,
)
from twinforge.campaign.campaign import CampaignSpec, load_campaign
from twinforge.campaign.estimators import stratified_mean, weighted_mean
from twinforge.campaign.executor import run_campaign
from twinforge.cli import main
from twinforge.events.sampling import stratum_probabilities

BASE = {"twin": "home", "days": 2, "period": "1h", "start": "2024-07-10", "diversity": False}


def _run(tmp_path_factory, name: str, **campaign) -> object:
    out = tmp_path_factory.mktemp(name) / "ds"
    run_campaign(CampaignSpec.from_data({**BASE, **campaign}), out, progress=False)
    return out


@pytest.fixture(scope="module")
def stratified(tmp_path_factory):
    """Stratified pairs: strata none and heat_wave sampled; cold_snap and mixed left out."""
    return _run(
        tmp_path_factory, "strat", seed=4, sampler="stratified", counterfactual=True,
        classes={"none": 3, "heat_wave": 4},
        events={"heat_wave": {"rate_per_year": 3.0}, "cold_snap": {}},
    )


@pytest.fixture(scope="module")
def conditioned(tmp_path_factory):
    """Importance sampling conditioned on at least one heat wave (min_events = 1)."""
    return _run(
        tmp_path_factory, "cond", seed=5, runs=6, sampler="importance",
        events={"heat_wave": {}}, proposal={"heat_wave": {"rate_factor": 2.0, "min_events": 1}},
    )


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def tf(*args: object) -> Result:
    """The command line, run in this process (``twinforge ...``) with its output captured."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as e:  # argparse --help
            code = int(e.code or 0)
    return Result(code, out.getvalue(), err.getvalue())


MAX_INDOOR = column_outcome("temp_indoor_c", "max")


def test_stratified_campaign_gets_the_stratified_standard_error(stratified):
    """Runs of a stratified plan are not independent draws: the error is computed stratum by stratum."""
    est = estimate(stratified, MAX_INDOOR)
    df = outcomes(stratified, MAX_INDOOR)
    c = read_campaign(stratified)
    probs = stratum_probabilities(c.events, c.scenario.start, c.scenario.days)
    by_hand = stratified_mean(df["value"], df["stratum"], probs)
    assert est.value == pytest.approx(by_hand.value)
    assert est.std_error == pytest.approx(by_hand.std_error)
    covered = probs["none"] + probs["heat_wave"]
    p_h = {h: probs[h] / covered for h in ("none", "heat_wave")}
    var = sum(p_h[h] ** 2 * df.loc[df.stratum == h, "value"].var(ddof=1) / (df.stratum == h).sum() for h in p_h)
    assert est.std_error == pytest.approx(math.sqrt(var))
    # the independent-sampling error of the weighted mean (what was printed before) differs
    with pytest.warns(UserWarning):
        naive = weighted_mean(df["value"], df["weight"])
    assert naive.std_error > 2 * est.std_error


def test_left_out_strata_are_reported_not_silently_zero(stratified):
    c = read_campaign(stratified)
    probs = stratum_probabilities(c.events, c.scenario.start, c.scenario.days)
    with pytest.warns(UserWarning, match="strata without runs"):
        est = estimate(stratified, column_outcome("temp_indoor_c", "max", above=25.0), probability=True)
    assert est.uncovered == pytest.approx(probs["cold_snap"] + probs["mixed"])
    assert any("cold_snap, mixed" in w and "hold probability" in w for w in est.warnings)
    # the estimate is conditional on the sampled strata, not the sum over them (which counts the rest as 0)
    df = outcomes(stratified, column_outcome("temp_indoor_c", "max", above=25.0))
    zero_filled = sum(probs[h] * df.loc[df.stratum == h, "value"].mean() for h in ("none", "heat_wave"))
    assert est.value == pytest.approx(zero_filled / (probs["none"] + probs["heat_wave"]))
    assert est.ci_high >= est.value + est.uncovered * 0.999 or est.ci_high == 1.0


def test_paired_estimate_uses_the_counterfactual_members(stratified):
    with pytest.warns(UserWarning, match="strata without runs"):
        paired = estimate(stratified, MAX_INDOOR, kind="paired")
    from twinforge.campaign.analysis import paired_effects

    pairs, _ = paired_effects(stratified, MAX_INDOOR)
    z = pairs["counterfactual"] + pairs["weight"] * pairs["effect"]
    assert paired.value == pytest.approx(z.mean())
    assert paired.n == 7


def test_a_mean_under_min_events_warns_about_what_it_estimates(conditioned):
    with pytest.warns(UserWarning) as rec:
        est = estimate(conditioned, MAX_INDOOR)
    messages = [str(r.message) for r in rec]
    assert any("min_events = 1 for heat_wave" in m and "E[Y 1{N >= 1}]" in m for m in messages)
    assert est.warnings[0] == messages[0]
    with warnings.catch_warnings():  # a probability vanishes without the event: no such warning
        warnings.simplefilter("ignore", UserWarning)
        prob = estimate(conditioned, column_outcome("temp_indoor_c", "max", above=20.0), probability=True)
    assert not any("min_events" in w for w in prob.warnings)


def test_degenerate_weights_are_flagged_in_one_line():
    """ESS 1.1 of 6 (one run carries almost all the weight): the estimate says it is unreliable."""
    y = np.array([73.0, 30.0, 31.0, 29.0, 30.5, 30.0])
    w = np.array([5.0, 0.05, 0.04, 0.05, 0.06, 0.05])
    with pytest.warns(UserWarning, match="effective sample size 1.1 of 6 runs"):
        est = weighted_mean(y, w, expected_weight=1.0)
    assert est.ess == pytest.approx(1.1, abs=0.05)
    assert est.warnings[0].startswith("effective sample size 1.1 of 6 runs: the weights are degenerate")
    assert any(m.startswith("one run carries 95 % of the total weight") for m in est.warnings)
    assert all("\n" not in m for m in est.warnings)


def test_zero_hits_get_an_exact_upper_bound_not_a_zero_width_interval(conditioned):
    est = estimate(conditioned, column_outcome("temp_indoor_c", "max", above=80.0), probability=True)
    assert est.value == 0.0 and est.hits == 0
    assert est.interval == "clopper-pearson"
    assert est.ci_low == 0.0 and 0.0 < est.ci_high < 1.0


def test_cli_estimate_prints_the_exact_interval_and_warnings(stratified):
    r = tf("campaign", "estimate", stratified, "--column", "temp_indoor_c", "--above", "80")
    assert r.returncode == 0, r.stderr
    assert "P(max temp_indoor_c > 80) = 0 +/- 0 (95 % CI 0 .. " in r.stdout
    assert "exact Clopper-Pearson); 7 runs, 0 hit(s)" in r.stdout
    hi = float(r.stdout.split(" .. ")[1].split(",")[0])
    assert hi > 0.0
    assert r.stderr.startswith("twinforge: warning: strata without runs (cold_snap, mixed)")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--column", "nope"], "twinforge: error: no samples column 'nope' in "),
        (["--column", "event"], "twinforge: error: column 'event' is not numeric (string); a statistic needs one of: "),
        (["--column", "temp_indoor_c", "--above", "nan"], "twinforge: error: --above must be a finite number, got nan"),
        (["--column", "temp_indoor_c", "--level", "1.5"], "twinforge: error: --level must be within (0, 1), got 1.5"),
    ],
)
def test_cli_estimate_refuses_bad_input_in_one_line(stratified, args, message):
    r = tf("campaign", "estimate", stratified, *args)
    assert r.returncode == 2
    assert r.stderr.startswith(message) and r.stderr.count("\n") == 1
    assert r.stdout == ""


def test_cli_estimate_help_states_the_default_statistic():
    r = tf("campaign", "estimate", "--help")
    assert "(default: max)" in " ".join(r.stdout.split())


# --------------------------------------------------------------------------- calendar coverage


def test_runs_per_year_follows_the_seasonal_coverage_of_the_window():
    c = load_campaign("home_heat_wave")  # 14 days from 1 July, heat waves peaking on 19 July
    m = c.events["heat_wave"]
    share = m.expected_count(c.scenario.start, c.scenario.days) / m.rate_per_year
    assert calendar_coverage(c) == {"heat_wave": pytest.approx(share)}
    assert runs_per_year(c) == pytest.approx(1.0 / share)
    assert runs_per_year(c) < 0.25 * 365.25 / c.scenario.days  # the window holds > 4x its calendar share


def test_return_levels_from_window_maxima_match_the_annual_law():
    """Per-window maxima of heat-wave severities: annual return levels only with the real coverage."""
    from scipy import optimize

    from twinforge.campaign.estimators import return_level

    c = load_campaign("home_heat_wave")
    m = c.events["heat_wave"]
    rng = np.random.default_rng(1)
    n = rng.poisson(m.expected_count(c.scenario.start, c.scenario.days), size=40_000)  # waves per window
    sev = m.sample_severities(int(n.sum()), rng)
    y = np.zeros(n.size)
    np.maximum.at(y, np.repeat(np.arange(n.size), n), sev)  # the largest wave of each window
    t = 10.0  # annual P(a wave above x) = 1 - exp(-R sf(x)) = 1/T
    exact = optimize.brentq(lambda x: -math.expm1(-m.rate_per_year * m.severity_sf(x)) - 1 / t, 0.1, 10.2)
    right = return_level(y, None, t, runs_per_year=runs_per_year(c))
    wrong = return_level(y, None, t, runs_per_year=365.25 / c.scenario.days)
    assert right == pytest.approx(exact, abs=0.1)
    assert abs(wrong - exact) > 0.5


def test_runs_per_year_needs_the_driving_type_when_coverages_differ():
    c = load_campaign("grid_heat_wave_outage")
    with pytest.raises(ValueError, match=r"cover different shares of a year \(feeder_fault .*, heat_wave .*\); name"):
        runs_per_year(c)
    assert runs_per_year(c, "heat_wave") < runs_per_year(c, "feeder_fault")
