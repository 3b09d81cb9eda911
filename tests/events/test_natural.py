"""Natural event models: the laws of counts, onsets, durations and severities."""

import math

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from scipy import integrate, stats

from twinforge.core.registry import EVENTS
from twinforge.events.natural import (
    EPOCH,
    NATURAL_MODELS,
    YEAR_DAYS,
    GEVSeverity,
    GPDSeverity,
    LognormSeverity,
    NaturalModel,
    UniformSeverity,
    day_of_year,
)

SUMMER = pd.Timestamp("2024-07-10", tz="UTC")


def _model(**kw):
    base = dict(
        type="heat_wave",
        rate_per_year=2.0,
        season_peak_doy=200.0,
        season_concentration=4.0,
        duration_median_h=100.0,
        duration_sigma=0.4,
        severity=GEVSeverity(loc=5.0, scale=1.2, shape=-0.2),
    )
    base.update(kw)
    return NaturalModel(**base)


def _truncated_cdf(m, s):
    """CDF of the severity law truncated to the range, from scipy directly."""
    lo, hi = m.severity_range
    d = m.severity.frozen()
    return (d.cdf(s) - d.cdf(lo)) / (d.cdf(hi) - d.cdf(lo))


# --------------------------------------------------------------------------- defaults


def test_defaults_are_documented_and_consistent_with_the_registry():
    assert {"heat_wave", "cold_snap", "storm", "feeder_fault", "outage", "bearing_fault"} <= set(NATURAL_MODELS)
    for name, m in NATURAL_MODELS.items():
        assert m.type == name
        assert len(m.source) > 80
        if name in EVENTS:
            assert m.severity_range == tuple(EVENTS.get(name).severity_range)
    hw = NATURAL_MODELS["heat_wave"]
    assert hw.rate_per_year == pytest.approx(1.0)
    assert 150 < hw.season_peak_doy < 240
    assert 3 * 24 <= hw.duration_median_h <= 7 * 24
    assert NATURAL_MODELS["cold_snap"].season_peak_doy < 60


def test_unregistered_type_needs_its_own_range():
    with pytest.raises(ValidationError, match="severity_range is required"):
        _model(type="not_yet_registered")
    m = _model(type="not_yet_registered", severity_range=(0.0, 20.0))
    assert m.severity_range == (0.0, 20.0)


def test_range_must_lie_inside_the_registered_one():
    with pytest.raises(ValidationError, match="within the registered range"):
        _model(severity_range=(0.0, 99.0))


def test_ranges_and_laws_are_validated():
    with pytest.raises(ValidationError, match="greater than 0"):
        _model(rate_per_year=0.0)
    with pytest.raises(ValidationError):
        _model(season_concentration=-1.0)
    with pytest.raises(ValidationError, match="low must be < high"):
        UniformSeverity(low=2.0, high=1.0)
    with pytest.raises(ValidationError, match="no probability"):
        _model(severity=UniformSeverity(low=30.0, high=40.0), severity_range=(0.0, 20.0), type="x_type")
    with pytest.raises(ValidationError, match="extra"):
        _model(colour="red")
    m = NaturalModel.model_validate(
        {**_model().model_dump(), "severity": {"dist": "gpd", "threshold": 2.0, "scale": 1.0, "shape": 0.1}}
    )
    assert isinstance(m.severity, GPDSeverity)


# --------------------------------------------------------------------------- seasonality


def test_day_of_year_convention():
    assert day_of_year("2000-01-01") == pytest.approx(1.0)
    assert day_of_year(pd.Timestamp("2000-02-01T12:00")) == pytest.approx(32.5)
    d = day_of_year(pd.date_range("2024-01-01", periods=3, freq="D", tz="UTC"))
    assert np.allclose(np.diff(d), 1.0)


@pytest.mark.parametrize("kappa", [0.0, 0.5, 5.0, 60.0])
def test_onset_density_integrates_to_one(kappa):
    m = _model(season_concentration=kappa)
    total = integrate.quad(m.onset_density, 1.0, 1.0 + YEAR_DAYS, points=[200.0], limit=200)[0]
    assert total == pytest.approx(1.0, abs=1e-9)
    assert m.onset_cdf(1.0 + YEAR_DAYS) == pytest.approx(1.0, abs=1e-12)
    assert m.expected_count("2031-03-17T05:00", YEAR_DAYS) == pytest.approx(m.rate_per_year, rel=1e-12)


def test_expected_count_is_the_integral_of_the_intensity():
    m = _model()
    days = 45.0
    x0 = (SUMMER - EPOCH) / pd.Timedelta(days=1)
    brute = integrate.quad(lambda t: m.rate_per_year * m.onset_density(np.mod(x0 + t, YEAR_DAYS) + 1.0), 0.0, days)[0]
    assert m.expected_count(SUMMER, days) == pytest.approx(brute, rel=1e-10)
    with pytest.raises(ValueError, match="days must be"):
        m.expected_count(SUMMER, 0.0)


@pytest.mark.parametrize("name", sorted(NATURAL_MODELS))
def test_onset_day_of_year_follows_the_seasonal_density(name):
    m = NATURAL_MODELS[name]
    t = m.sample_onsets(20_000, EPOCH, 40 * YEAR_DAYS, np.random.default_rng(11))
    assert t.min() >= 0.0 and t.max() < 40 * YEAR_DAYS
    doy = np.mod(t, YEAR_DAYS) + 1.0
    assert stats.kstest(doy, m.onset_cdf).pvalue > 0.01


def test_sampled_events_follow_the_season():
    m = _model(rate_per_year=20.0)
    ev = m.sample(EPOCH, 100 * YEAR_DAYS, np.random.default_rng(5))
    doy = day_of_year([e["start"] for e in ev])
    assert stats.kstest(doy, m.onset_cdf).pvalue > 0.01


def test_onsets_in_the_off_season_are_drawn_by_inversion():
    """A window where the intensity is ~1e-20 of its peak: the conditional law still holds."""
    m = _model(season_concentration=60.0)
    start, days = pd.Timestamp("2023-01-05", tz="UTC"), 20.0
    t = m.sample_onsets(5_000, start, days, np.random.default_rng(2))
    assert t.min() >= 0.0 and t.max() < days
    x0 = (start - EPOCH) / pd.Timedelta(days=1)
    doy = lambda x: np.mod(x0 + x, YEAR_DAYS) + 1.0  # noqa: E731
    dens = lambda x: m.onset_density(doy(x))  # noqa: E731
    z = integrate.quad(dens, 0.0, days, epsabs=0, epsrel=1e-12)[0]
    grid = np.linspace(0.0, days, 401)
    cum = np.r_[0.0, np.cumsum([integrate.quad(dens, a, b, epsabs=0, epsrel=1e-12)[0] for a, b in zip(grid[:-1], grid[1:])])]
    assert stats.kstest(t, lambda x: np.interp(x, grid, cum / z)).pvalue > 0.01
    # and the expected count keeps its relative precision there (~1e-20 of the rate)
    assert m.expected_count(start, days) == pytest.approx(m.rate_per_year * z, rel=1e-9)
    assert 0.0 < m.expected_count(start, days) < 1e-15


# --------------------------------------------------------------------------- counts


@pytest.mark.parametrize("name", ["heat_wave", "cold_snap", "storm"])
def test_yearly_counts_are_poisson_at_the_declared_rate(name):
    m = NATURAL_MODELS[name]
    rng = np.random.default_rng(2024)
    years = 400
    counts = np.array([len(m.sample(EPOCH + pd.Timedelta(days=YEAR_DAYS * k), YEAR_DAYS, rng)) for k in range(-300, years - 300)])
    # mean: the total is Poisson(years * rate)
    total = counts.sum()
    mu = years * m.rate_per_year
    p_mean = 2 * min(stats.poisson.cdf(total, mu), stats.poisson.sf(total - 1, mu))
    assert p_mean > 0.01
    # dispersion index: sum (x - mean)^2 / mean ~ chi2(years - 1) under Poisson
    disp = np.sum((counts - counts.mean()) ** 2) / counts.mean()
    p_disp = 2 * min(stats.chi2.cdf(disp, years - 1), stats.chi2.sf(disp, years - 1))
    assert p_disp > 0.01


# --------------------------------------------------------------------------- marks


@pytest.mark.parametrize("name", sorted(NATURAL_MODELS))
def test_durations_follow_their_lognormal_law(name):
    m = NATURAL_MODELS[name]
    d = m.sample_durations(20_000, np.random.default_rng(3))
    law = stats.lognorm(m.duration_sigma, scale=m.duration_median_h)
    assert stats.kstest(d, law.cdf).pvalue > 0.01
    assert np.allclose(m.duration_logpdf(d[:50]), law.logpdf(d[:50]))


@pytest.mark.parametrize("name", sorted(NATURAL_MODELS))
def test_severities_follow_their_truncated_law_inside_the_range(name):
    m = NATURAL_MODELS[name]
    s = m.sample_severities(20_000, np.random.default_rng(4))
    lo, hi = m.severity_range
    assert s.min() >= lo and s.max() <= hi
    assert stats.kstest(s, lambda x: _truncated_cdf(m, x)).pvalue > 0.01
    # the truncated density integrates to 1
    a, b = m.severity_bounds()
    total = integrate.quad(lambda x: math.exp(m.severity_logpdf(x)), a, b, limit=200)[0]
    assert total == pytest.approx(1.0, abs=1e-7)


def test_truncation_conditions_rather_than_clips():
    m = _model(severity=GEVSeverity(loc=20.0, scale=3.0, shape=0.0))  # much mass above 25 K
    s = m.sample_severities(5_000, np.random.default_rng(0))
    assert s.max() <= 25.0 and np.mean(s == 25.0) == 0.0
    assert m.severity_logpdf(26.0) == -np.inf
    assert m.severity_sf(24.0) == pytest.approx(1.0 - _truncated_cdf(m, 24.0))


@pytest.mark.parametrize(
    "law",
    [
        GEVSeverity(loc=5.0, scale=1.2, shape=0.2),
        GPDSeverity(threshold=2.0, scale=1.5, shape=-0.1),
        LognormSeverity(median=3.0, sigma=0.6),
        UniformSeverity(low=1.0, high=9.0),
    ],
)
def test_every_severity_law_samples_its_truncated_law(law):
    m = _model(severity=law)
    s = m.sample_severities(10_000, np.random.default_rng(8))
    assert stats.kstest(s, lambda x: _truncated_cdf(m, x)).pvalue > 0.01


# --------------------------------------------------------------------------- the process


def test_sample_is_reproducible_sorted_and_in_the_horizon():
    m = _model(rate_per_year=30.0)
    a = m.sample(SUMMER, 60.0, np.random.default_rng(1))
    b = m.sample(SUMMER, 60.0, np.random.default_rng(1))
    c = m.sample(SUMMER, 60.0, np.random.default_rng(2))
    assert a == b and a != c and len(a) > 0
    starts = [e["start"] for e in a]
    assert starts == sorted(starts)
    assert all(str(t.tz) == "UTC" and SUMMER <= t < SUMMER + pd.Timedelta(days=60) for t in starts)
    assert set(a[0]) == {"type", "start", "duration_h", "severity"}
    naive = m.sample("2024-07-10", 60.0, np.random.default_rng(1))
    assert naive == a


def test_log_likelihood_matches_a_brute_force_computation():
    m = _model(severity=GEVSeverity(loc=5.0, scale=1.2, shape=-0.2), severity_range=(0.0, 9.5))
    days = 10.0
    events = [
        {"type": "heat_wave", "start": SUMMER + pd.Timedelta(hours=30), "duration_h": 80.0, "severity": 6.1},
        {"type": "heat_wave", "start": SUMMER + pd.Timedelta(days=7.25), "duration_h": 150.0, "severity": 8.9},
        {"type": "cold_snap", "start": SUMMER, "duration_h": 1.0, "severity": 1.0},  # ignored
    ]
    # intensity by hand: R * exp(kappa cos(2 pi (d - peak)/P)) / (P I0(kappa))
    def lam(ts):
        d = ((ts - pd.Timestamp("2000-01-01", tz="UTC")) / pd.Timedelta(days=1)) % 365.25 + 1.0
        k = m.season_concentration
        return m.rate_per_year * math.exp(k * math.cos(2 * math.pi * (d - 200.0) / 365.25)) / (365.25 * np.i0(k))

    big_lambda = integrate.quad(lambda t: lam(SUMMER + pd.Timedelta(days=t)), 0.0, days, epsabs=0, epsrel=1e-12)[0]
    gev = stats.genextreme(0.2, loc=5.0, scale=1.2)
    z = integrate.quad(gev.pdf, 0.0, 9.5, epsabs=0, epsrel=1e-12)[0]
    brute = -big_lambda
    for e in events[:2]:
        brute += math.log(lam(e["start"]))
        brute += stats.lognorm.logpdf(e["duration_h"], 0.4, scale=100.0)
        brute += gev.logpdf(e["severity"]) - math.log(z)
    assert m.log_likelihood(events, SUMMER, days) == pytest.approx(brute, rel=1e-9)
    assert m.log_likelihood([], SUMMER, days) == pytest.approx(-big_lambda, rel=1e-10)
    outside = [{**events[0], "start": SUMMER + pd.Timedelta(days=11)}]
    with pytest.raises(ValueError, match="outside the horizon"):
        m.log_likelihood(outside, SUMMER, days)


def test_empty_run_probability_is_exp_of_the_log_likelihood():
    m = _model(rate_per_year=3.0)
    rng = np.random.default_rng(9)
    n = 2_000
    empty = sum(not m.sample(SUMMER, 30.0, rng) for _ in range(n))
    p0 = math.exp(m.log_likelihood([], SUMMER, 30.0))
    assert abs(empty / n - p0) < 4 * math.sqrt(p0 * (1 - p0) / n)
