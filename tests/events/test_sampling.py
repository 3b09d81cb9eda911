"""Samplers: importance sampling is honest, strata are exact, designs fill space, pairs pair."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from scipy import integrate, optimize, stats
from scipy.stats import qmc

from twinforge.campaign.estimators import stratified_mean, weighted_mean, weighted_probability
from twinforge.core.rng import RngStreams
from twinforge.events.natural import NATURAL_MODELS
from twinforge.events.sampling import (
    MIXED,
    NONE,
    ImportanceProposal,
    ProposalModel,
    counterfactual_pairs,
    qmc_design,
    sample_events,
    sample_stratum,
    stratified_plan,
    stratum_probabilities,
)

START = pd.Timestamp("2024-07-10", tz="UTC")
DAYS = 30.0
HW = NATURAL_MODELS["heat_wave"]
WEATHER = {k: NATURAL_MODELS[k] for k in ("heat_wave", "cold_snap")}


def _sf(m, s):
    """P(S >= s) of the truncated severity law, straight from scipy."""
    lo, hi = m.severity_range
    d = m.severity.frozen()
    return (d.sf(s) - d.sf(hi)) / (d.sf(lo) - d.sf(hi))


def _rare_threshold(p_target=1e-3):
    lam = HW.active_count(START, DAYS)  # onsets in the window and waves in progress at its start
    s_star = optimize.brentq(lambda s: -math.expm1(-lam * _sf(HW, s)) - p_target, 5.0, 10.2, xtol=1e-12)
    return s_star, -math.expm1(-lam * _sf(HW, s_star))


def _runs(models, proposal, n, seed, days=DAYS):
    rng = np.random.default_rng(seed)
    return [sample_events(models, START, days, rng, proposal) for _ in range(n)]


# --------------------------------------------------------------------------- importance sampling


def test_importance_sampling_estimates_a_one_in_a_thousand_event():
    s_star, exact = _rare_threshold()
    assert exact == pytest.approx(1e-3)
    proposal = {"heat_wave": ImportanceProposal(rate_factor=3.0, tail_threshold=s_star, tail_share=0.5)}
    runs = _runs(WEATHER, proposal, 1_000, seed=20240710)
    hit = np.array([any(e["type"] == "heat_wave" and e["severity"] >= s_star for e in ev) for ev, _ in runs])
    w = np.exp([lw for _, lw in runs])
    est = weighted_probability(hit, w)
    assert abs(est.value / exact - 1.0) < 0.20
    assert est.ci_low < exact < est.ci_high
    assert hit.sum() > 100  # the proposal sees the event hundreds of times ...
    # ... where plain Monte Carlo with 1,000 runs sees 0-3 hits with probability 0.98
    assert stats.binom.cdf(3, 1_000, exact) > 0.98
    plain = _runs(WEATHER, None, 1_000, seed=20240710)
    assert sum(any(e["type"] == "heat_wave" and e["severity"] >= s_star for e in ev) for ev, _ in plain) <= 5
    assert all(lw == 0.0 for _, lw in plain)


@pytest.mark.parametrize(
    "proposal",
    [
        ImportanceProposal(rate_factor=2.5),
        ImportanceProposal(rate_factor=2.0, tail_threshold=7.5, tail_share=0.6),
        ImportanceProposal(rate_factor=1.5, severity_tilt=0.8),
    ],
)
def test_weights_average_to_one_and_weighted_counts_are_unbiased(proposal):
    runs = _runs({"heat_wave": HW}, {"heat_wave": proposal}, 1_500, seed=7)
    w = np.exp([lw for _, lw in runs])
    n_events = np.array([len(ev) for ev, _ in runs])
    e_w = weighted_mean(np.ones_like(w), w)
    assert abs(e_w.value - 1.0) < 4 * e_w.std_error
    lam = HW.active_count(START, DAYS)  # onsets in the window and events in progress at its start
    e_n = weighted_mean(n_events, w)
    assert abs(e_n.value - lam) < 4 * e_n.std_error
    # the proposal really is biased: more events than the natural law
    assert n_events.mean() > 1.3 * lam


def test_weighted_severity_statistic_is_unbiased_under_a_tilt():
    """E_p[sum of severities] = Lambda * E_p[S], estimated from a tilted proposal."""
    proposal = {"heat_wave": ImportanceProposal(rate_factor=2.0, severity_tilt=0.5)}
    runs = _runs({"heat_wave": HW}, proposal, 1_500, seed=8)
    w = np.exp([lw for _, lw in runs])
    total = np.array([sum(e["severity"] for e in ev) for ev, _ in runs])
    a, b = HW.severity_bounds()
    mean_s = integrate.quad(lambda s: s * math.exp(HW.severity_logpdf(s)), a, b)[0]
    exact = HW.active_count(START, DAYS) * mean_s  # waves in progress have the natural severity law
    est = weighted_mean(total, w)
    assert abs(est.value - exact) < 4 * est.std_error


def test_conditioning_on_one_event_keeps_the_weights_honest():
    proposal = ImportanceProposal(rate_factor=2.0, min_events=1)
    runs = _runs({"heat_wave": HW}, {"heat_wave": proposal}, 1_500, seed=9)
    assert all(len(ev) >= 1 for ev, _ in runs)
    w = np.exp([lw for _, lw in runs])
    lam = HW.expected_count(START, DAYS)
    e_w = weighted_mean(np.ones_like(w), w)  # E_q[w] = P_p(N >= 1)
    assert abs(e_w.value - (-math.expm1(-lam))) < 4 * e_w.std_error
    in_window = [sum(not e.get("in_progress") for e in ev) for ev, _ in runs]
    e_n = weighted_mean(in_window, w)  # N vanishes without events: unbiased
    assert abs(e_n.value - lam) < 4 * e_n.std_error


def test_closed_form_log_weight_equals_the_difference_of_log_likelihoods():
    models = {"heat_wave": HW}
    for proposal in (
        ImportanceProposal(rate_factor=3.0, tail_threshold=8.0, tail_share=0.5, min_events=1),
        ImportanceProposal(rate_factor=1.7, severity_tilt=1.2),
        ImportanceProposal(),
    ):
        q = ProposalModel(HW, proposal)
        rng = np.random.default_rng(1)
        for _ in range(20):
            ev, lw = sample_events(models, START, DAYS, rng, {"heat_wave": proposal})
            brute = HW.log_likelihood(ev, START, DAYS) - q.log_likelihood(ev, START, DAYS)
            brute += HW.in_progress_log_likelihood(ev, START) - q.in_progress_log_likelihood(ev, START)
            assert lw == pytest.approx(brute, rel=1e-9, abs=1e-9)


def test_biased_severity_laws_are_sampled_exactly():
    rng = np.random.default_rng(3)
    a, b = HW.severity_bounds()
    # tilt: KS against the tilted density (integrated numerically), normaliser against quad
    q = ProposalModel(HW, ImportanceProposal(severity_tilt=1.5))
    total = integrate.quad(lambda s: math.exp(q.severity_logpdf(s)), a, b, epsabs=0, epsrel=1e-11, limit=200)[0]
    assert total == pytest.approx(1.0, rel=1e-9)
    grid = np.linspace(a, b, 801)
    dens = np.exp(q.severity_logpdf(grid))
    cdf = np.r_[0.0, np.cumsum(0.5 * (dens[1:] + dens[:-1]) * np.diff(grid))]
    s = q.sample_severities(20_000, rng)
    assert stats.kstest(s, lambda x: np.interp(x, grid, cdf / cdf[-1])).pvalue > 0.01
    # tail mixture: share above the threshold is alpha + (1 - alpha) tau
    q = ProposalModel(HW, ImportanceProposal(tail_threshold=8.0, tail_share=0.4))
    s = q.sample_severities(20_000, rng)
    p_above = 0.4 + 0.6 * _sf(HW, 8.0)
    assert stats.binomtest(int((s >= 8.0).sum()), s.size, p_above).pvalue > 0.01
    assert s.min() >= a and s.max() <= b


@pytest.mark.parametrize(
    "proposal",
    [ImportanceProposal(severity_tilt=1.0), ImportanceProposal(tail_threshold=8.0, tail_share=0.7)],
)
def test_severity_weights_recover_natural_tail_probabilities(proposal):
    q = ProposalModel(HW, proposal)
    s = q.sample_severities(200_000, np.random.default_rng(6))
    w = np.exp(HW.severity_logpdf(s) - q.severity_logpdf(s))
    for y, exact in ((np.ones_like(s), 1.0), (s >= 8.0, _sf(HW, 8.0)), (s >= 9.5, _sf(HW, 9.5))):
        est = weighted_mean(y, w)
        assert abs(est.value - exact) < 4 * est.std_error


def test_each_type_draws_from_its_own_stream():
    one, _ = sample_events({"heat_wave": HW}, START, 365.25, np.random.default_rng(42))
    both, _ = sample_events(WEATHER, START, 365.25, np.random.default_rng(42))
    assert [e for e in both if e["type"] == "heat_wave"] == one
    again, _ = sample_events(WEATHER, START, 365.25, np.random.default_rng(42))
    other, _ = sample_events(WEATHER, START, 365.25, np.random.default_rng(43))
    assert again == both and other != both
    assert [e["start"] for e in both] == sorted(e["start"] for e in both)


def test_invalid_proposals_are_refused():
    with pytest.raises(ValueError, match="without a model"):
        sample_events(WEATHER, START, DAYS, np.random.default_rng(0), {"storm": ImportanceProposal()})
    with pytest.raises(ValueError, match="key it by its type"):
        sample_events({"cold_snap": HW}, START, DAYS, np.random.default_rng(0))
    with pytest.raises(ValidationError, match="needs a tail_threshold"):
        ImportanceProposal(tail_share=0.5)
    with pytest.raises(ValidationError, match="not both"):
        ImportanceProposal(tail_threshold=8.0, tail_share=0.5, severity_tilt=1.0)
    with pytest.raises(ValidationError):
        ImportanceProposal(rate_factor=0.5)
    with pytest.raises(ValueError, match="inside its severity range"):
        ProposalModel(HW, ImportanceProposal(tail_threshold=12.0, tail_share=0.5))
    with pytest.raises(ValueError, match="too strong"):
        ProposalModel(HW, ImportanceProposal(severity_tilt=500.0))
    with pytest.raises(TypeError, match="Generator"):
        sample_events(WEATHER, START, DAYS, 3)


# --------------------------------------------------------------------------- stratified


def test_stratum_probabilities_are_exact():
    models = {k: NATURAL_MODELS[k] for k in ("heat_wave", "cold_snap", "storm")}
    p = stratum_probabilities(models, "2024-01-01", 365.25)
    assert set(p) == {NONE, MIXED, *models}
    assert sum(p.values()) == pytest.approx(1.0, abs=1e-12)
    lam = {k: m.active_count("2024-01-01", 365.25) for k, m in models.items()}
    assert p[NONE] == pytest.approx(math.exp(-sum(lam.values())))
    assert p["storm"] == pytest.approx((1 - math.exp(-lam["storm"])) * math.exp(-lam["heat_wave"] - lam["cold_snap"]))
    # against natural runs (chi-square on the strata)
    rng = np.random.default_rng(5)
    labels = []
    for _ in range(800):
        types = {e["type"] for e in sample_events(models, "2024-01-01", 365.25, rng)[0]}
        labels.append(NONE if not types else (types.pop() if len(types) == 1 else MIXED))
    keys = sorted(p)
    observed = np.array([labels.count(k) for k in keys])
    assert stats.chisquare(observed, 800 * np.array([p[k] for k in keys])).pvalue > 0.01


def test_stratified_plan_has_the_requested_counts_and_only_that_class():
    classes = {NONE: 20, "heat_wave": 30, "cold_snap": 25, MIXED: 15}
    plan = stratified_plan(classes, WEATHER, "2024-01-01", 365.25, RngStreams(11))
    assert [r["run_id"] for r in plan] == list(range(90))
    for h, k in classes.items():
        runs = [r for r in plan if r["stratum"] == h]
        assert len(runs) == k
        for r in runs:
            types = {e["type"] for e in r["events"]}
            if h == NONE:
                assert types == set()
            elif h == MIXED:
                assert len(types) >= 2
            else:
                assert types == {h}
    total_weight = sum(r["weight"] for r in plan) / len(plan)
    assert total_weight == pytest.approx(1.0)  # all four strata requested


def test_run_i_of_a_plan_does_not_depend_on_the_number_of_runs():
    small = stratified_plan({NONE: 3, "heat_wave": 4}, WEATHER, START, DAYS, 5)
    large = stratified_plan({NONE: 3, "heat_wave": 4, "cold_snap": 6}, WEATHER, START, DAYS, 5)
    assert [r["events"] for r in small] == [r["events"] for r in large[:7]]


def test_stratified_estimate_recovers_the_natural_mean():
    models = {k: NATURAL_MODELS[k] for k in ("heat_wave", "cold_snap", "storm")}
    start, days = "2024-01-01", 365.25
    probs = stratum_probabilities(models, start, days)
    classes = {h: 60 for h in probs}
    plan = stratified_plan(classes, models, start, days, RngStreams(2))
    y = np.array([sum(e["severity"] for e in r["events"] if e["type"] != "storm") + len(r["events"]) for r in plan])
    est = stratified_mean(y, [r["stratum"] for r in plan], probs)
    exact = 0.0
    for k, m in models.items():
        a, b = m.severity_bounds()
        mean_s = integrate.quad(lambda s: s * math.exp(m.severity_logpdf(s)), a, b)[0] if k != "storm" else 0.0
        exact += m.active_count(start, days) * (1.0 + mean_s)
    assert abs(est.value - exact) < 4 * est.std_error
    # the plan's weights give the same point estimate through the unbiased weighted mean
    assert weighted_mean(y, [r["weight"] for r in plan]).value == pytest.approx(est.value)


def test_mixed_stratum_draws_type_sets_from_their_conditional_law():
    models = {k: NATURAL_MODELS[k] for k in ("heat_wave", "cold_snap", "storm")}
    start, days = "2024-01-01", 365.25
    p = {k: 1 - math.exp(-m.active_count(start, days)) for k, m in models.items()}
    patterns = {}
    names = sorted(models)
    for mask in range(8):
        present = tuple(n for i, n in enumerate(names) if mask >> i & 1)
        if len(present) >= 2:
            patterns[present] = math.prod(p[n] if n in present else 1 - p[n] for n in names)
    z = sum(patterns.values())
    rng = np.random.default_rng(17)
    seen = [tuple(sorted({e["type"] for e in sample_stratum(MIXED, models, start, days, rng)})) for _ in range(600)]
    keys = sorted(patterns)
    observed = np.array([seen.count(k) for k in keys])
    assert observed.sum() == 600
    assert stats.chisquare(observed, 600 * np.array([patterns[k] / z for k in keys])).pvalue > 0.01


def test_stratified_plan_refuses_impossible_requests():
    with pytest.raises(ValueError, match="unknown stratum"):
        stratified_plan({"storm": 2}, WEATHER, START, DAYS, 1)
    with pytest.raises(ValueError, match="positive integer"):
        stratified_plan({NONE: 0}, WEATHER, START, DAYS, 1)
    with pytest.raises(ValueError, match="probability 0"):
        stratified_plan({MIXED: 2}, {"heat_wave": HW}, START, DAYS, 1)


# --------------------------------------------------------------------------- designs


@pytest.mark.parametrize("method", ["sobol", "lhs"])
def test_qmc_design_is_in_bounds_reproducible_and_fills_space(method):
    bounds = {"ua_w_per_k": (100.0, 300.0), "setpoint_c": (18.0, 22.0), "c_j_per_k": (1e6, 5e7)}
    n = 256
    d = qmc_design(bounds, n, method=method, rng=np.random.default_rng(0))
    assert list(d.columns) == list(bounds) and len(d) == n
    for k, (lo, hi) in bounds.items():
        assert d[k].between(lo, hi).all()
    again = qmc_design(bounds, n, method=method, rng=np.random.default_rng(0))
    other = qmc_design(bounds, n, method=method, rng=np.random.default_rng(1))
    pd.testing.assert_frame_equal(d, again)
    assert not d.equals(other)
    lo, hi = np.array(list(bounds.values())).T
    unit = qmc.scale(d.to_numpy(), lo, hi, reverse=True)
    random_unit = np.random.default_rng(0).random((n, len(bounds)))
    assert qmc.discrepancy(unit) < 0.5 * qmc.discrepancy(random_unit)


def test_sobol_rows_do_not_depend_on_n_and_odd_sizes_warn():
    bounds = {"a": (0.0, 1.0), "b": (-1.0, 1.0)}
    d16 = qmc_design(bounds, 16, rng=np.random.default_rng(4))
    with pytest.warns(UserWarning, match="not a power of two"):
        d10 = qmc_design(bounds, 10, rng=np.random.default_rng(4))
    assert len(d10) == 10
    pd.testing.assert_frame_equal(d10, d16.iloc[:10])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        qmc_design(bounds, 8, rng=np.random.default_rng(4))
    with pytest.raises(ValueError, match="low < high"):
        qmc_design({"a": (1.0, 1.0)}, 8, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="method"):
        qmc_design(bounds, 8, method="grid", rng=np.random.default_rng(0))


# --------------------------------------------------------------------------- pairs


def test_counterfactual_pairs_share_seed_and_drop_events():
    plan = stratified_plan({NONE: 1, "heat_wave": 2}, WEATHER, START, DAYS, 3)
    runs = [{**r, "seed": 3} for r in plan]
    pairs = counterfactual_pairs(runs)
    assert len(pairs) == 6 and [p["run_id"] for p in pairs] == list(range(6))
    for i in range(3):
        fact, cf = pairs[2 * i], pairs[2 * i + 1]
        assert fact["pair_id"] == cf["pair_id"] == runs[i]["run_id"]
        assert fact["seed"] == cf["seed"] == 3
        assert fact["counterfactual"] is False and cf["counterfactual"] is True
        assert fact["events"] == runs[i]["events"] and cf["events"] == []
        assert fact["weight"] == cf["weight"] and fact["stratum"] == cf["stratum"]
    assert "pair_id" not in runs[0]  # inputs untouched


@pytest.mark.parametrize("share", [1.0, 0.5])
def test_duration_shift_keeps_the_weights_exact(share):
    """Longer proposed durations: closed-form weights equal the likelihood ratio, and stay unbiased."""
    proposal = ImportanceProposal(rate_factor=2.0, duration_shift=0.6, duration_share=share, tail_threshold=7.0,
                                  tail_share=0.4)
    q = ProposalModel(HW, proposal)
    rng = np.random.default_rng(12)
    runs = [sample_events({"heat_wave": HW}, START, DAYS, rng, {"heat_wave": proposal}) for _ in range(600)]
    for ev, lw in runs[:30]:
        brute = HW.log_likelihood(ev, START, DAYS) - q.log_likelihood(ev, START, DAYS)
        brute += HW.in_progress_log_likelihood(ev, START) - q.in_progress_log_likelihood(ev, START)
        assert lw == pytest.approx(brute, rel=1e-9, abs=1e-9)
    w = np.exp([lw for _, lw in runs])
    window = [[e for e in ev if not e.get("in_progress")] for ev, _ in runs]
    d = np.concatenate([[e["duration_h"] for e in ev] for ev in window])
    shifted = stats.lognorm(HW.duration_sigma, scale=HW.duration_median_h * math.exp(0.6))
    natural = stats.lognorm(HW.duration_sigma, scale=HW.duration_median_h)
    assert stats.kstest(d, lambda x: share * shifted.cdf(x) + (1 - share) * natural.cdf(x)).pvalue > 0.01
    total_h = np.array([sum(e["duration_h"] for e in ev) for ev in window])
    est = weighted_mean(total_h, w)  # E_p[sum of durations of the window's onsets] = Lambda E[D]
    exact = HW.expected_count(START, DAYS) * HW.duration_median_h * math.exp(HW.duration_sigma**2 / 2)
    assert abs(est.value - exact) < 4 * est.std_error
