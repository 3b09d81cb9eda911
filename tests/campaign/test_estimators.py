"""Weighted estimators: values, standard errors, coverage, return levels."""

import math

import numpy as np
import pytest
from scipy import stats

from twinforge.campaign.estimators import (
    Estimate,
    binomial_interval,
    exceedance_curve,
    fit_extremes,
    paired_mean,
    exceedance_probability,
    expected_value,
    kish_ess,
    return_level,
    stratified_mean,
    variance_reduction_factor,
    weighted_mean,
    weighted_probability,
)


def _is_sample(n, rng, shift=0.5):
    """X ~ q = N(shift, 1) with weights p/q for p = N(0, 1)."""
    x = rng.normal(shift, 1.0, n)
    return x, np.exp(-shift * x + 0.5 * shift * shift)


def test_equal_weights_give_the_plain_mean_and_ess_n():
    y = np.random.default_rng(0).normal(3.0, 2.0, 50)
    for kind in ("unbiased", "self_normalised"):
        e = weighted_mean(y, np.full(50, 7.0) if kind == "self_normalised" else None, kind=kind)
        assert isinstance(e, Estimate)
        assert e.value == pytest.approx(y.mean())
        assert e.std_error == pytest.approx(y.std(ddof=1) / math.sqrt(50))
        assert e.ess == pytest.approx(50.0) and e.n == 50
        assert e.ci_low == pytest.approx(e.value - 1.959964 * e.std_error, rel=1e-6)
    assert kish_ess(np.ones(10)) == pytest.approx(10.0)
    assert kish_ess([1.0, 0.0, 0.0, 0.0]) == pytest.approx(1.0)


def test_unbiased_and_self_normalised_forms_differ_as_documented():
    y = np.array([1.0, 2.0, 4.0])
    w = np.array([0.5, 1.0, 2.0])
    assert weighted_mean(y, w).value == pytest.approx((0.5 + 2.0 + 8.0) / 3)
    assert weighted_mean(y, w, kind="self_normalised").value == pytest.approx(10.5 / 3.5)
    assert expected_value(y, w).value == weighted_mean(y, w).value


@pytest.mark.parametrize("kind", ["unbiased", "self_normalised"])
def test_confidence_intervals_cover_95_percent(kind):
    rng = np.random.default_rng(123)
    reps, n = 400, 400
    hits_mean = hits_prob = hits_plain = 0
    p_exact = stats.norm.sf(1.0)
    for _ in range(reps):
        x, w = _is_sample(n, rng)
        e = weighted_mean(x, w, kind=kind)  # E_p[X] = 0
        hits_mean += e.ci_low <= 0.0 <= e.ci_high
        e = weighted_probability(x > 1.0, w, kind=kind)
        hits_prob += e.ci_low <= p_exact <= e.ci_high
        e = weighted_mean(rng.exponential(2.0, 400), kind=kind)  # plain MC, skewed
        hits_plain += e.ci_low <= 2.0 <= e.ci_high
    for hits in (hits_mean, hits_prob, hits_plain):
        assert 0.92 <= hits / reps <= 0.98
    # (a strongly skewed w * Y, e.g. X^2 here, under-covers: ~0.91 at n = 400)


def test_weighted_probability_checks_and_clips():
    with pytest.warns(UserWarning, match="effective sample size"):
        e = weighted_probability([0, 0, 1, 0], [1.0, 1.0, 0.1, 1.0])
    assert e.value == pytest.approx(0.025) and 0.0 <= e.ci_low < e.value < e.ci_high <= 1.0
    assert e.interval == "clopper-pearson" and e.hits == 1
    with pytest.raises(ValueError, match="0/1"):
        weighted_probability([0.5, 1.0])


def test_zero_hits_give_the_exact_upper_bound_not_a_zero_interval():
    """Before: "0 +/- 0 (CI 0 .. 0)". Now the Clopper-Pearson bound 1 - (alpha/2)^(1/n)."""
    none = weighted_probability(np.zeros(10, dtype=bool))
    assert none.value == 0.0 and none.ci_low == 0.0
    assert none.ci_high == pytest.approx(1.0 - 0.025 ** (1 / 10))
    assert none.interval == "clopper-pearson" and none.hits == 0
    all_ = weighted_probability(np.ones(10, dtype=bool))
    assert all_.ci_high == 1.0 and all_.ci_low == pytest.approx(0.025 ** (1 / 10))


def test_binomial_intervals_match_their_references():
    lo, hi = binomial_interval(3, 20)  # scipy's exact binomtest interval
    ref = stats.binomtest(3, 20).proportion_ci(0.95, method="exact")
    assert (lo, hi) == pytest.approx((ref.low, ref.high))
    lo, hi = binomial_interval(3, 20, method="wilson")
    ref = stats.binomtest(3, 20).proportion_ci(0.95, method="wilson")
    assert (lo, hi) == pytest.approx((ref.low, ref.high))
    with pytest.raises(ValueError, match="hits <= n"):
        binomial_interval(5, 4)


def test_few_hit_intervals_cover_at_least_their_level():
    """p = 2e-3 with 1,000 plain runs (2 hits expected): the normal interval under-covers badly."""
    rng = np.random.default_rng(7)
    p, n, reps = 2e-3, 1000, 600
    k = rng.binomial(n, p, size=reps)
    exact = [weighted_probability(np.r_[np.ones(ki, bool), np.zeros(n - ki, bool)]) for ki in k]
    normal = [weighted_probability(np.r_[np.ones(ki, bool), np.zeros(n - ki, bool)], method="normal") for ki in k]
    cover = np.mean([e.ci_low <= p <= e.ci_high for e in exact])
    cover_normal = np.mean([e.ci_low <= p <= e.ci_high for e in normal])
    assert cover >= 0.95
    assert cover_normal < 0.88


@pytest.mark.filterwarnings("ignore:effective sample size|one run carries")
def test_weighted_few_hits_use_effective_counts():
    """Importance-sampled rare probability with few hits: Korn-Graubard counts keep the coverage."""
    rng = np.random.default_rng(11)
    p_exact = stats.norm.sf(3.0)
    hits = 0
    reps = 300
    for _ in range(reps):
        x, w = _is_sample(60, rng, shift=2.0)  # ~ 8 hits in 60 runs
        e = weighted_probability(x > 3.0, w)
        hits += e.ci_low <= p_exact <= e.ci_high
    assert hits / reps >= 0.92


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="NaN"):
        weighted_mean([1.0, np.nan])
    with pytest.raises(ValueError, match="differ in length"):
        weighted_mean([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="non-negative"):
        weighted_mean([1.0, 2.0], [1.0, -1.0])
    with pytest.raises(ValueError, match="empty"):
        weighted_mean([])
    with pytest.raises(ValueError, match="kind"):
        weighted_mean([1.0, 2.0], kind="biased")
    with pytest.raises(ValueError, match="level"):
        weighted_mean([1.0, 2.0], level=1.5)


def test_stratified_mean_by_hand():
    y = [1.0, 3.0, 10.0, 14.0, 20.0]
    strata = ["a", "a", "b", "b", "c"]
    probs = {"a": 0.7, "b": 0.2, "c": 0.1}
    e = stratified_mean(y[:4], strata[:4], {"a": 0.8, "b": 0.2})
    assert e.value == pytest.approx(0.8 * 2.0 + 0.2 * 12.0)
    assert e.std_error == pytest.approx(math.sqrt(0.64 * 2.0 / 2 + 0.04 * 8.0 / 2))
    with pytest.warns(UserWarning, match="probability 0.1"):
        stratified_mean(y[:4], strata[:4], probs)
    with pytest.raises(ValueError, match="no probability"):
        stratified_mean(y, strata, {"a": 1.0})


def test_empirical_return_levels():
    rng = np.random.default_rng(0)
    y = rng.exponential(1.0, 200_000)
    assert return_level(y, None, 100.0) == pytest.approx(-math.log(0.01), rel=0.03)
    # twelve runs per year: per-run exceedance 1 - 0.99 ** (1/12)
    p_run = 1 - 0.99 ** (1 / 12)
    assert return_level(y, None, 100.0, runs_per_year=12) == pytest.approx(-math.log(p_run), rel=0.03)
    levels = return_level(y, None, [10.0, 100.0])
    assert levels.shape == (2,) and levels[0] < levels[1]
    assert math.isnan(return_level(y[:100], None, 1e6))
    assert exceedance_probability(y, None, 2.0) == pytest.approx(math.exp(-2.0), rel=0.02)
    with pytest.raises(ValueError, match="> 1"):
        return_level(y, None, 1.0)


def test_weighted_return_level_reaches_beyond_plain_sampling():
    """Exp(1) tail from an Exp(1/2) proposal: a 1-in-10,000 level from 20,000 runs."""
    rng = np.random.default_rng(1)
    y = rng.exponential(2.0, 20_000)
    w = 2.0 * np.exp(-0.5 * y)
    assert return_level(y, w, 1e4) == pytest.approx(-math.log(1e-4), rel=0.03)


def test_gev_return_level_uses_the_weights():
    law = stats.genextreme(0.1, loc=10.0, scale=2.0)
    y = law.rvs(4_000, random_state=np.random.default_rng(2))
    assert return_level(y, None, 100.0, method="gev") == pytest.approx(law.isf(0.01), rel=0.05)
    half = y[:2_000]
    doubled = return_level(np.r_[half, half, y[2_000:]], None, 50.0, method="gev")
    weighted = return_level(y, np.r_[np.full(2_000, 2.0), np.ones(2_000)], 50.0, method="gev")
    assert weighted == pytest.approx(doubled, rel=1e-4)


def test_variance_reduction_factor():
    rng = np.random.default_rng(3)
    y = rng.normal(size=20_000)
    assert variance_reduction_factor(y, np.ones_like(y), rng.normal(size=20_000)) == pytest.approx(1.0, abs=0.05)
    # P(X > 3): plain indicator variance p(1 - p) against importance sampling from N(3, 1)
    x, w = _is_sample(20_000, rng, shift=3.0)
    mc = rng.normal(size=200_000) > 3.0
    vrf = variance_reduction_factor(x > 3.0, w, mc)
    assert vrf > 20.0


def test_stratified_variance_is_computed_stratum_by_stratum():
    """Weights P_h N / n_h: grouping by stratum gives the stratified error, not the i.i.d. one."""
    rng = np.random.default_rng(4)
    probs = {"none": 0.9, "event": 0.1}
    strata = ["none"] * 30 + ["event"] * 30
    y = np.r_[rng.normal(20.0, 0.5, 30), rng.normal(40.0, 3.0, 30)]
    w = np.array([probs[h] * 60 / 30 for h in strata])
    grouped = weighted_mean(y, w, groups=strata)
    strat = stratified_mean(y, strata, probs)
    assert grouped.value == pytest.approx(strat.value)
    assert grouped.std_error == pytest.approx(strat.std_error)
    assert weighted_mean(y, w).std_error > 5 * grouped.std_error  # the i.i.d. formula sees the between-strata spread
    # coverage of the stratified interval over repeated plans
    hits, truth = 0, 0.9 * 20.0 + 0.1 * 40.0
    for _ in range(300):
        y = np.r_[rng.normal(20.0, 0.5, 30), rng.normal(40.0, 3.0, 30)]
        e = stratified_mean(y, strata, probs)
        hits += e.ci_low <= truth <= e.ci_high
    assert 0.91 <= hits / 300 <= 0.98


def test_stratified_probability_with_a_left_out_stratum_widens_its_interval():
    strata = ["none"] * 20 + ["event"] * 20
    y = np.r_[np.zeros(20), np.r_[np.ones(5), np.zeros(15)]]
    probs = {"none": 0.9, "event": 0.099, "mixed": 0.001}
    with pytest.warns(UserWarning, match=r"strata without runs \(mixed\) hold probability 0.001"):
        e = stratified_mean(y, strata, probs, probability=True)
    covered = 0.999
    assert e.value == pytest.approx(0.099 * 0.25 / covered)
    assert e.uncovered == pytest.approx(0.001)
    assert e.hits == 5 and e.interval == "clopper-pearson"
    plain = binomial_interval(0, 1)  # noqa: F841 - the bound below is what matters
    assert e.ci_high >= e.value and e.ci_low >= 0.0


def test_regression_estimator_removes_the_noise_of_the_weights():
    """Y = 45 + small effect: the unbiased form inherits the noise of mean(w); regression does not."""
    rng = np.random.default_rng(2)
    x, w = _is_sample(400, rng, shift=1.0)
    y = 45.0 + 0.1 * x  # E_p[Y] = 45
    ub = weighted_mean(y, w)
    reg = weighted_mean(y, w, kind="regression")
    assert abs(reg.value - 45.0) < 4 * reg.std_error
    assert reg.std_error < 0.05 * ub.std_error


def test_paired_mean_cancels_the_run_to_run_noise():
    rng = np.random.default_rng(3)
    n = 200
    base = rng.normal(45.0, 3.0, n)  # the no-event outcome, shared by both members
    event = rng.random(n) < 0.5  # the proposal draws the event in half the runs
    w = np.where(event, 0.02 / 0.5, 0.98 / 0.5)  # natural P(event) = 0.02
    factual = base + np.where(event, 5.0, 0.0)
    e = paired_mean(factual, base, w)
    assert abs(e.value - (45.0 + 0.02 * 5.0) - (base.mean() - 45.0)) < 1e-9 + 4 * e.std_error
    assert e.std_error < 0.5 * weighted_mean(factual, w).std_error
    with pytest.raises(ValueError, match="differ in length"):
        paired_mean(factual, base[:-1], w)


def test_exceedance_curve_has_a_band_around_the_weighted_tail():
    rng = np.random.default_rng(5)
    y = rng.exponential(2.0, 5_000)
    w = 2.0 * np.exp(-0.5 * y)  # Exp(1) from an Exp(1/2) proposal
    c = exceedance_curve(y, w, [1.0, 3.0, 6.0])
    assert c["p"] == pytest.approx(np.exp(-np.array([1.0, 3.0, 6.0])), rel=0.15)
    assert np.all(c["ci_low"] <= c["p"]) and np.all(c["p"] <= c["ci_high"])


def test_gev_refuses_maxima_of_runs_without_an_event():
    """Runs without the event (max 0) mixed with event maxima: before, a 1e13 K return level."""
    rng = np.random.default_rng(0)
    has = rng.random(400) < 0.3
    law = stats.genextreme(0.2, loc=5.0, scale=1.1)
    y = np.where(has, law.rvs(400, random_state=rng), 0.0)
    with pytest.raises(ValueError, match="use method='pot'"):
        return_level(y, None, 100.0, method="gev")
    y2 = np.where(has, 30.0 + law.rvs(400, random_state=rng), 30.0 + rng.normal(0.0, 0.5, 400))
    with pytest.raises(ValueError, match="Kolmogorov-Smirnov distance .* use method='pot'"):
        return_level(y2, None, 100.0, method="gev")
    # the peaks over a threshold only see the event runs: a finite, sensible level
    pot = return_level(y2, None, 100.0, method="pot")
    assert 30.0 + law.isf(0.01 / 0.3) - 1.0 < pot < 30.0 + law.isf(0.01 / 0.3) + 1.0


def test_pot_return_levels_with_weights_and_bootstrap_intervals():
    """Exp(1) per run from an Exp(1/2) proposal: the 1e-4 level is 9.21, an exponential tail (xi = 0)."""
    rng = np.random.default_rng(1)
    y = rng.exponential(2.0, 10_000)
    w = 2.0 * np.exp(-0.5 * y)
    fit = fit_extremes(y, w, method="pot", threshold=3.0, n_boot=40, rng=np.random.default_rng(2))
    assert fit.shape == pytest.approx(0.0, abs=0.08)
    assert fit.rate == pytest.approx(math.exp(-3.0), rel=0.05)
    rl = fit.return_level(1e4)
    assert rl["level"][0] == pytest.approx(-math.log(1e-4), rel=0.05)
    assert rl["ci_low"][0] < -math.log(1e-4) < rl["ci_high"][0]
    assert math.isnan(fit.return_level(2.0)["level"][0])  # rarer than the threshold's rate: not in the tail
    with pytest.raises(TypeError, match="rng"):
        fit_extremes(y, w, n_boot=10)
    with pytest.raises(ValueError, match="at least 20 runs"):
        fit_extremes(y[:10], None, n_boot=0)
