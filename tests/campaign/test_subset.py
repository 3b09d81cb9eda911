"""Subset simulation: a Gaussian tail it must find, the latent space's natural law, reproducibility."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from twinforge.campaign.campaign import CampaignSpec
from twinforge.campaign.subset import LatentSpace, subset_sampling, subset_simulation
from twinforge.core.rng import RngStreams
from twinforge.processes.weather import Weather, WeatherParams, WeatherTilt
from _support import assert_adapt_refuses, run_cli

D, B = 50, float(stats.norm.isf(1e-4))  # P(sum of 50 normals / sqrt(50) > B) = 1e-4 exactly


def _gauss_tail(u: np.ndarray, label: str) -> np.ndarray:
    return u.sum(axis=1) / math.sqrt(D)


def test_subset_sampling_finds_a_gaussian_tail_and_its_cov_matches_the_spread_over_seeds():
    res = [subset_sampling(_gauss_tail, D, B, np.random.default_rng(s), runs_per_level=500) for s in range(1, 21)]
    v = np.array([r.value for r in res])
    rel_sd = float(np.std(v, ddof=1) / 1e-4)
    # the mean of 20 independent estimates: within 3 of its standard errors of the truth
    assert abs(v.mean() - 1e-4) < 3.0 * rel_sd * 1e-4 / math.sqrt(20)
    # the spread over seeds (0.52) lies between the estimator's CoV with the chains' correlation
    # factor, levels taken as uncorrelated (median 0.39; without gamma about 0.27), and its bound
    # for fully correlated levels (median 0.78)
    cov = float(np.median([r.cov for r in res]))
    cov_upper = float(np.median([r.cov_upper for r in res]))
    assert cov < rel_sd < cov_upper, (cov, rel_sd, cov_upper)
    assert 0.3 < cov < 0.5
    assert all(r.cov <= r.cov_upper for r in res)
    # a level at p0 each time but the last; the chains accept near 0.44 (adapted spread)
    r = res[0]
    assert [lv.probability for lv in r.levels[:-1]] == pytest.approx([0.1] * (len(r.levels) - 1), abs=0.01)
    assert all(0.25 < lv.acceptance < 0.65 for lv in r.levels[1:])
    assert r.runs == 500 + sum(lv.runs for lv in r.levels[1:])
    assert r.stopped.startswith("threshold reached")
    assert r.value == pytest.approx(np.prod([lv.probability for lv in r.levels]), rel=1e-12)
    # the interval covers the truth in most of the 20
    assert sum(x.ci_low <= 1e-4 <= x.ci_high for x in res) >= 16


def test_the_run_budget_stops_before_the_threshold_with_a_note():
    r = subset_sampling(_gauss_tail, D, B, np.random.default_rng(3), runs_per_level=100, max_runs=300)
    assert r.stopped == "run budget" and r.runs <= 300
    assert any("did not reach" in n for n in r.notes)
    assert r.levels[-1].threshold == B


def _campaign(days: float = 30.0, **kw) -> CampaignSpec:
    return CampaignSpec.from_data({"twin": "home", "runs": 10, "days": days, "start": "2024-07-01", "seed": 1,
                                   "diversity": False, "events": {"heat_wave": {}}, **kw})


def test_the_latent_events_follow_the_natural_law():
    c = _campaign()
    space = LatentSpace(c)
    name, m, lam, k, lam_c, kc = space.types[0]
    assert space.truncation == pytest.approx(stats.poisson.sf(k, lam) + stats.poisson.sf(kc, lam_c))
    assert space.truncation < 2e-9
    u = np.random.default_rng(1).standard_normal((4000, space.dimension))
    events = [space.events(row) for row in u]
    onsets = [[e for e in h if not e.get("in_progress")] for h in events]
    going = [[e for e in h if e.get("in_progress")] for h in events]
    n = np.array([len(h) for h in onsets])
    n_c = np.array([len(h) for h in going])
    # counts: Poisson(Lambda) and Poisson(Lambda_c) (mean, and the share of zeros)
    assert abs(n.mean() - lam) < 4 * math.sqrt(lam / n.size)
    assert abs(n_c.mean() - lam_c) < 4 * math.sqrt(lam_c / n.size)
    assert abs(np.mean(n == 0) - math.exp(-lam)) < 4 * math.sqrt(math.exp(-lam) * (1 - math.exp(-lam)) / n.size)
    # marks: the truncated severity law and the lognormal duration, exactly (KS)
    sev = np.array([e["severity"] for h in onsets for e in h])
    dur = np.array([e["duration_h"] for h in onsets for e in h])
    assert stats.kstest(sev, lambda s: 1.0 - m.severity_sf(s)).pvalue > 0.01
    assert stats.kstest(dur, stats.lognorm(m.duration_sigma, scale=m.duration_median_h).cdf).pvalue > 0.01
    sev_c = np.array([e["severity"] for h in going for e in h])
    assert stats.kstest(sev_c, lambda s: 1.0 - m.severity_sf(s)).pvalue > 0.01
    # onsets: as the model's own sampler draws them
    start = c.scenario.start
    t = np.array([(e["start"] - start).total_seconds() / 86_400.0 for h in onsets for e in h])
    ref = m.sample_onsets(4000, start, c.scenario.days, np.random.default_rng(2))
    assert stats.ks_2samp(t, ref).pvalue > 0.01
    # in progress: at the start, their age and rest as the model's exact rejection sampler draws them
    assert all(e["start"] == start and e["duration_h"] > 0 and e["elapsed_h"] > 0 for h in going for e in h)
    ref_c = m.sample_in_progress(start, np.random.default_rng(3), n=4000)
    for key in ("elapsed_h", "duration_h"):
        mine = [e[key] for h in going for e in h]
        assert stats.ks_2samp(mine, [e[key] for e in ref_c]).pvalue > 0.01, key
    assert all(e["params"] == {"elapsed_h": e["elapsed_h"]} for h in going for e in h)


def test_the_stream_s_own_draws_as_given_normals_give_exactly_the_natural_weather():
    params = WeatherParams()
    start = pd.Timestamp("2024-07-15", tz="UTC")
    stream = RngStreams(9).child("run/3")
    eps = WeatherTilt().drawn_normals(stream.generator("weather"), 3)
    given = WeatherParams(tilt=WeatherTilt(normals=tuple(eps.ravel().tolist())))
    t = np.arange(0.0, 5 * 86_400.0, 1800.0)  # past the given days: the stream's draws continue
    natural = Weather(params, start, stream.generator("weather")).temp_c(t)
    replayed = Weather(given, start, stream.generator("weather")).temp_c(t)
    assert np.array_equal(natural, replayed)
    # other normals change the weather of the given days only
    other = WeatherParams(tilt=WeatherTilt(normals=tuple((eps.ravel() + 1.0).tolist())))
    hot = Weather(other, start, stream.generator("weather")).temp_c(t)
    assert np.all(hot[t < 3 * 86_400.0 - 3600] > natural[t < 3 * 86_400.0 - 3600] - 1e-9)
    assert np.mean(hot[: 3 * 48] - natural[: 3 * 48]) > 1.0
    assert WeatherTilt(normals=tuple(eps.ravel().tolist())).drawn_normals(stream.generator("weather"), 4)[:3] \
        .tolist() == eps.tolist()


def _peak(stage, seed, label, plans) -> np.ndarray:
    """A simulated outcome: the weather's peak over the window plus the strongest event's severity."""
    s = stage.scenario
    t = np.arange(0.0, s.days * 86_400.0, 3600.0)
    out = []
    for p in plans:
        w = Weather(p.config.weather, s.start, RngStreams(p.seed).child(f"run/{p.stream_id}").generator("weather"))
        out.append(float(w.temp_c(t).max()) + max([e.severity for e in p.events], default=0.0))
    return np.array(out)


def test_subset_simulation_of_a_campaign_is_reproducible_from_its_seed():
    c = _campaign(days=1.0)
    kw = {"seed": 4, "runs_per_level": 50, "p0": 0.2, "max_levels": 3}
    a = subset_simulation(c, _peak, 36.0, **kw)
    b = subset_simulation(c, _peak, 36.0, **kw)
    assert a.to_json() == b.to_json()
    assert all(np.array_equal(x.values, y.values) for x, y in zip(a.levels, b.levels))
    other = subset_simulation(c, _peak, 36.0, **{**kw, "seed": 5})
    assert not np.array_equal(other.levels[0].values, a.levels[0].values)
    assert a.dimension == LatentSpace(c).dimension > 73
    assert a.levels[1].threshold > a.levels[0].threshold


@pytest.mark.parametrize(("kw", "message"), [
    ({"p0": 0.6}, r"p0 must be within \(0, 0.5\], got 0.6"),
    ({"p0": 0.0}, r"p0 must be within \(0, 0.5\]"),
    ({"runs_per_level": 5}, r"runs_per_level must be >= 10"),
    ({"runs_per_level": 105}, r"runs_per_level must be >= 10 .*got 105 with p0 = 0.1"),
    ({"runs_per_level": 100, "p0": 0.3}, r"runs_per_level must be >= 10 .*got 100 with p0 = 0.3"),
    ({"max_runs": 50}, r"max_runs must allow level 0 \(>= runs_per_level = 100\), got 50"),
    ({"max_levels": 0}, r"max_levels must be within \[1, 100\], got 0"),
])
def test_bad_arguments_are_refused(kw, message):
    with pytest.raises(ValueError, match=message):
        subset_sampling(_gauss_tail, D, B, np.random.default_rng(0), **{"runs_per_level": 100, **kw})
    with pytest.raises(ValueError, match="threshold must be a finite number"):
        subset_sampling(_gauss_tail, D, math.nan, np.random.default_rng(0))
    with pytest.raises(ValueError, match="counterfactual"):
        subset_simulation(_campaign(counterfactual=True), _peak, 36.0, seed=1)


def test_given_normals_are_checked_and_carry_no_likelihood_ratio():
    with pytest.raises(ValueError, match="normals must hold 73 values per day, got 72"):
        WeatherTilt(normals=(0.0,) * 72)
    with pytest.raises(ValueError, match="normals replace the draws"):
        WeatherTilt(normals=(0.0,) * 73, anomaly_start=1.0)
    with pytest.raises(ValueError, match="no likelihood ratio"):
        WeatherTilt(normals=(0.0,) * 73).log_weight(np.random.default_rng(0))




@pytest.mark.parametrize(("extra", "message"), [
    (["--p0", "0.6"], "twinforge: error: --p0 must be within (0, 0.5], got 0.6"),
    (["--runs-per-level", "105"], "twinforge: error: --runs-per-level must be >= 10 and a multiple of 1/p0 = 10, got 105"),
    (["--runs-per-level", "5", "--p0", "0.5"], "twinforge: error: --runs-per-level must be >= 10"),
    (["--max-runs", "100"], "twinforge: error: --max-runs must allow one level (>= 500), got 100"),
    (["--weather"], "twinforge: error: --weather, --batch and --resume apply to --method ce only"),
    (["--resume"], "twinforge: error: --weather, --batch and --resume apply to --method ce only"),
    (["--workers", "0"], "twinforge: error: --workers must be >= 1, got 0"),
    (["--scheduler", "nowhere"], "twinforge: error: --scheduler 'nowhere': not a Dask scheduler address"),
    (["--column", "nope"], "twinforge: error: --column 'nope' is not a numeric channel of the home twin"),
])
def test_cli_subset_refuses_bad_input_before_writing(tmp_path, extra, message):
    assert_adapt_refuses(tmp_path, "subset", extra, message)


def test_cli_subset_runs_the_twin_and_writes_its_levels(tmp_path):
    import json

    spec = tmp_path / "c.toml"
    spec.write_text('twin = "home"\nruns = 10\ndays = 1\nperiod = "1h"\nstart = "2024-07-15"\nseed = 3\n'
                    "diversity = false\n[events.heat_wave]\nrate_per_year = 4.0\n")
    out = tmp_path / "subset"
    code, stdout, stderr = run_cli("campaign", "adapt", spec, "--method", "subset", "--column", "temp_outdoor_c",
                                "--above", "31", "--out", out, "--runs-per-level", "10", "--p0", "0.5")
    assert code == 0, stderr
    assert stdout.startswith("P(max temp_outdoor_c > 31) = ")
    summary = json.loads((out / "subset.json").read_text())
    assert summary["method"] == "subset" and summary["runs"] == sum(lv["runs"] for lv in summary["levels"]) >= 20
    value = summary["estimate"]["value"]
    assert value == pytest.approx(np.prod([lv["probability"] for lv in summary["levels"]]))
    assert 0.0 < value < 0.5 and summary["levels"][-1]["threshold"] == 31.0
