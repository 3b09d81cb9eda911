"""Weighted estimators: values, standard errors, coverage, return levels."""

import math

import numpy as np
import pytest
from scipy import stats

from twinforge.campaign.estimators import (
    Estimate,
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
    e = weighted_probability([0, 0, 1, 0], [1.0, 1.0, 0.1, 1.0])
    assert e.ci_low == 0.0 and e.value == pytest.approx(0.025)
    none = weighted_probability(np.zeros(10, dtype=bool))
    assert none.value == 0.0 and none.ci_high == 0.0
    with pytest.raises(ValueError, match="0/1"):
        weighted_probability([0.5, 1.0])


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
