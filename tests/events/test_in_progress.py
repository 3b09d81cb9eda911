"""Events already in progress when a run's window opens (onset before it, still active)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from twinforge.campaign.campaign import CampaignSpec, plan_run
from twinforge.events.natural import NATURAL_MODELS, NaturalModel
from twinforge.campaign.estimators import weighted_mean, weighted_probability
from twinforge.events.sampling import (
    NONE,
    ImportanceProposal,
    ProposalModel,
    sample_events,
    sample_stratum,
    stratum_probabilities,
)

JULY = pd.Timestamp("2024-07-05", tz="UTC")
HW = NATURAL_MODELS["heat_wave"]


def _brute_force_active_share(model: NaturalModel, start: pd.Timestamp, n: int, seed: int) -> float:
    """Share of ``n`` independent histories of the 200 days before ``start`` with an event active at it."""
    rng = np.random.default_rng(seed)
    span = 200.0
    origin = start - pd.Timedelta(days=span)
    counts = rng.poisson(model.expected_count(origin, span), size=n)
    onset = model.sample_onsets(int(counts.sum()), origin, span, rng)  # offsets [day]
    reach = onset * 24.0 + model.sample_durations(len(onset), rng) > span * 24.0
    owner = np.repeat(np.arange(n), counts)
    return float(np.unique(owner[reach]).size / n)


@pytest.mark.parametrize(
    "name, start",
    [("heat_wave", "2024-07-05"), ("heat_wave", "2024-07-25"), ("cold_snap", "2024-01-20"), ("storm", "2024-01-10")],
)
def test_probability_of_opening_inside_an_event_matches_the_history_before_the_window(name, start):
    model, t0 = NATURAL_MODELS[name], pd.Timestamp(start, tz="UTC")
    p = -math.expm1(-model.in_progress_count(t0))
    n = 60_000
    brute = _brute_force_active_share(model, t0, n, seed=11)
    se = math.sqrt(p * (1 - p) / n)
    assert abs(brute - p) < 4.5 * se


def test_six_to_seven_percent_of_natural_july_windows_open_inside_a_heat_wave():
    shares = [-math.expm1(-HW.in_progress_count(pd.Timestamp(f"2024-07-{d:02d}", tz="UTC"))) for d in (5, 10, 15)]
    assert all(0.055 < s < 0.075 for s in shares)


def test_in_progress_events_have_the_equilibrium_age_law():
    """Uniform season: the age of an event in progress has density P(D > a) / E[D] (M/G/inf)."""
    m = NATURAL_MODELS["outage"]  # kappa = 0, lognormal duration median 1.5 h, sigma 1
    ev = m.sample_in_progress(JULY, np.random.default_rng(3), n=20_000)
    age = np.array([e["elapsed_h"] for e in ev])
    left = np.array([e["duration_h"] for e in ev])
    d = stats.lognorm(m.duration_sigma, scale=m.duration_median_h)
    mean_age = d.moment(2) / (2 * d.mean())  # E[D^2] / (2 E[D])
    assert age.mean() == pytest.approx(mean_age, rel=0.05)
    assert left.mean() == pytest.approx(mean_age, rel=0.05)  # remaining life: the same law
    assert np.all(age > 0) and np.all(left > 0)
    assert all(e["start"] == JULY and e["in_progress"] for e in ev)
    # the expected count is rate x E[D] for a uniform season
    assert m.in_progress_count(JULY) == pytest.approx(m.rate_per_year / 365.25 * d.mean() / 24.0, rel=1e-6)


def test_weather_events_in_progress_carry_their_age_and_others_are_clipped():
    hw = HW.sample_in_progress(JULY, np.random.default_rng(1), n=3)
    assert all(e["params"] == {"elapsed_h": e["elapsed_h"]} for e in hw)
    ff = NATURAL_MODELS["feeder_fault"].sample_in_progress(JULY, np.random.default_rng(1), n=3)
    assert all(e["params"] == {} for e in ff)


def test_in_progress_events_do_not_shift_the_window_draws():
    models = {"heat_wave": HW, "cold_snap": NATURAL_MODELS["cold_snap"]}
    off = {k: m.model_copy(update={"in_progress": False}) for k, m in models.items()}
    proposal = {"heat_wave": ImportanceProposal(rate_factor=3.0, tail_threshold=7.0, tail_share=0.5)}
    q = ProposalModel(HW, proposal["heat_wave"])
    seen_in_progress = 0
    for seed in range(120):
        ev_on, lw_on = sample_events(models, JULY, 14.0, np.random.default_rng(seed), proposal)
        ev_off, lw_off = sample_events(off, JULY, 14.0, np.random.default_rng(seed), proposal)
        assert [e for e in ev_on if not e.get("in_progress")] == ev_off
        assert lw_on - lw_off == pytest.approx(q.log_weight_in_progress(ev_on, JULY), abs=1e-12)
        seen_in_progress += sum(bool(e.get("in_progress")) for e in ev_on)
    assert 6 <= seen_in_progress <= 40  # ~3 x 0.06 x 120 = 22 expected (the proposal triples them)


def test_a_proposal_oversamples_events_in_progress_with_exact_weights():
    """P(a wave of >= 7.5 K already going on when a 3-day window opens), natural ~3e-3."""
    proposal = {"heat_wave": ImportanceProposal(rate_factor=4.0, tail_threshold=7.5, tail_share=0.5)}
    exact = -math.expm1(-HW.in_progress_count(JULY) * HW.severity_sf(7.5))
    rng = np.random.default_rng(8)
    runs = [sample_events({"heat_wave": HW}, JULY, 3.0, rng, proposal) for _ in range(1500)]
    hit = np.array([any(e.get("in_progress") and e["severity"] >= 7.5 for e in ev) for ev, _ in runs])
    w = np.exp([lw for _, lw in runs])
    est = weighted_probability(hit, w)
    assert hit.sum() > 50  # ~0.11 of the runs, against ~4 plain ones
    assert abs(est.value - exact) < 4 * est.std_error
    assert weighted_mean(np.ones_like(w), w).value == pytest.approx(1.0, abs=0.1)


def test_strata_count_events_in_progress():
    models = {"heat_wave": HW}
    probs = stratum_probabilities(models, JULY, 14.0)
    active = HW.expected_count(JULY, 14.0) + HW.in_progress_count(JULY)
    assert probs[NONE] == pytest.approx(math.exp(-active))
    assert sum(probs.values()) == pytest.approx(1.0)
    rng = np.random.default_rng(4)
    runs = [sample_stratum("heat_wave", models, JULY, 14.0, rng) for _ in range(500)]
    assert all(len(r) >= 1 for r in runs)
    share = np.mean([any(e.get("in_progress") for e in r) for r in runs])
    # P(an event in progress | at least one active) = (1 - e^-Lc) / (1 - e^-(L + Lc))
    lc = HW.in_progress_count(JULY)
    expected = -math.expm1(-lc) / -math.expm1(-active)
    assert abs(share - expected) < 4 * math.sqrt(expected * (1 - expected) / len(runs))
    assert sample_stratum(NONE, models, JULY, 14.0, rng) == []


def test_campaign_places_a_wave_in_progress_at_the_window_start_with_its_age():
    c = CampaignSpec.from_data({
        "twin": "home", "runs": 400, "days": 7, "start": "2024-07-10", "seed": 3, "diversity": False,
        "events": {"heat_wave": {}},
    })
    found = None
    for i in range(c.runs):
        plan = plan_run(c, 3, i)
        carried = [e for e in plan.events if e.params]
        if carried:
            found = carried[0]
            break
    assert found is not None
    assert found.start == pd.Timestamp("2024-07-10", tz="UTC")
    assert 0.0 < found.params["elapsed_h"] < 24 * 50
    json.dumps(found.model_dump(mode="json"))  # serialisable as the manifest stores it
