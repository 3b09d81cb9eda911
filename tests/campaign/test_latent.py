"""Cross-entropy importance sampling in the latent standard-normal space: a Gaussian tail it
must find, exact weights, reproducibility, bad inputs, the CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from twinforge.campaign.campaign import CampaignSpec
from twinforge.campaign.latent import LatentSpace, latent_ce_sampling, latent_cross_entropy, log_weight
from twinforge.core.rng import RngStreams
from _support import assert_adapt_refuses, run_cli

D, P = 60, 1e-4
B = float(stats.norm.isf(P))  # P(sum of D normals / sqrt(D) > B) = 1e-4 exactly


def _gauss_tail(u: np.ndarray, label: str) -> np.ndarray:
    return u.sum(axis=1) / math.sqrt(D)


def test_latent_ce_finds_a_gaussian_tail_and_its_intervals_cover_over_seeds():
    res = [latent_ce_sampling(_gauss_tail, D, B, np.random.default_rng(s), runs_per_stage=500) for s in range(1, 31)]
    v = np.array([r.estimate.value for r in res])
    # the mean of 30 independent unbiased estimates: within 3 of its standard errors of the truth
    se = float(np.std(v, ddof=1)) / math.sqrt(v.size)
    assert abs(v.mean() - P) < 3.0 * se, (v.mean(), se)
    covered = sum(r.estimate.ci_low <= P <= r.estimate.ci_high for r in res)
    assert covered >= 25, covered  # 95 % intervals: 28.5 expected, P(<= 24 of 30) ~ 0.2 %
    # far fewer runs than plain Monte Carlo at the same CoV ((1 - p) / (p cov^2) = 1e6 runs at 10 %)
    gains = [(1 - P) / (P * r.estimate.cov**2) / r.runs for r in res]
    assert np.median(gains) > 50, np.median(gains)
    # the final proposal's mean points along the failure direction (1, ..., 1) / sqrt(D)
    r = res[0]
    cos = float(r.shift.sum() / math.sqrt(D) / np.linalg.norm(r.shift))
    assert cos > 0.9, cos
    assert r.estimate.hits >= 10 and r.stages[-1].final and not r.stages[0].final
    assert all(s.level <= B for s in r.stages) and r.stages[-1].level == B


def test_the_weights_are_exact_likelihood_ratios():
    rng = np.random.default_rng(7)
    theta = rng.normal(0.0, 0.5, size=40)
    u = theta + rng.standard_normal((5, 40))
    ref = stats.multivariate_normal(np.zeros(40)).logpdf(u) - stats.multivariate_normal(theta).logpdf(u)
    np.testing.assert_allclose(log_weight(u, theta), ref, rtol=1e-10, atol=1e-10)
    # under q = N(theta, I) the weights average to 1 (|theta| ~ 3.2: the relative SD of w is sqrt(e^|theta|^2 - 1))
    theta = np.full(40, 0.25)
    w = np.exp(log_weight(theta + rng.standard_normal((400_000, 40)), theta))
    se = float(np.std(w) / math.sqrt(w.size))
    assert abs(w.mean() - 1.0) < 4.0 * se, (w.mean(), se)
    assert log_weight(np.zeros((1, 40)), np.zeros(40))[0] == 0.0


def test_shrinkage_keeps_the_signal_and_drops_the_noise_blocks():
    # the outcome depends on the first 10 coordinates only; 290 more are noise
    d = 300

    def first_ten(u, label):
        return u[:, :10].sum(axis=1) / math.sqrt(10)

    kw = {"runs_per_stage": 500, "max_runs": 6000}
    groups = np.repeat(np.arange(30), 10)
    shrunk = latent_ce_sampling(first_ten, d, B, np.random.default_rng(3), groups=groups, **kw)
    plain = latent_ce_sampling(first_ten, d, B, np.random.default_rng(3), shrinkage=0.0, **kw)
    # the noise part of the shift (measured over seeds 1-5: 0.31-0.43 shrunk, 9.9-14.2 plain) costs
    # e^{|noise|^2} in the weights' second moment: the plain elite mean's estimate is off by many
    # orders of magnitude (1e-29 .. 1e-11 instead of 1e-4), the shrunk one within its CoV
    assert np.linalg.norm(shrunk.shift[10:]) < 1.0 < 5.0 < np.linalg.norm(plain.shift[10:])
    cos = float(shrunk.shift[:10].sum() / math.sqrt(10) / np.linalg.norm(shrunk.shift))
    assert cos > 0.98, cos
    assert shrunk.estimate.cov < 0.15 and abs(shrunk.estimate.value / P - 1) < 3.0 * shrunk.estimate.cov
    assert plain.estimate.value < P / 100


def test_a_mixture_finds_two_failure_domains_that_one_mean_shift_misses():
    # Y = max(u_0, u_1) > b: two orthogonal half-spaces of 5e-5 each, d = 50
    d, b = 50, float(stats.norm.isf(5e-5))
    p = 1.0 - (1.0 - 5e-5) ** 2

    def two_ways(u, label):
        return np.maximum(u[:, 0], u[:, 1])

    def run(k):
        return [latent_ce_sampling(two_ways, d, b, np.random.default_rng(s), components=k, groups=np.arange(d),
                                   max_runs=10_000) for s in range(1, 21)]

    one, two = run(1), run(2)
    v1 = np.array([r.estimate.value for r in one])
    v2 = np.array([r.estimate.value for r in two])
    # one mean shift sits on one half-space: about half of p, with intervals that miss (measured -50 %, 1/30 cover)
    assert v1.mean() < 0.7 * p and sum(r.estimate.ci_low <= p <= r.estimate.ci_high for r in one) <= 5
    # two components find both: unbiased within 3 standard errors, intervals cover (30/30 measured)
    assert abs(v2.mean() - p) < 3.0 * float(np.std(v2, ddof=1)) / math.sqrt(v2.size)
    assert sum(r.estimate.ci_low <= p <= r.estimate.ci_high for r in two) >= 17
    r = two[0]
    assert r.stages[-1].probs.size == 2 and r.stages[-1].probs.sum() == pytest.approx(1.0)
    lead = sorted(int(np.argmax(np.abs(m))) for m in r.stages[-1].means)
    assert lead == [0, 1]
    # the mixture's weights are its exact likelihood ratio
    from twinforge.campaign.latent import mixture_log_weight

    means, probs = r.stages[-1].means, r.stages[-1].probs
    u = np.random.default_rng(1).standard_normal((4, d)) + means[0]
    ref = stats.multivariate_normal(np.zeros(d)).logpdf(u) - np.log(
        sum(pk * stats.multivariate_normal(m).pdf(u) for pk, m in zip(probs, means)))
    np.testing.assert_allclose(mixture_log_weight(u, means, probs), ref, rtol=1e-8)


def _campaign(**over) -> CampaignSpec:
    data = {"twin": "home", "runs": 10, "days": 1.0, "period": "1h", "start": "2024-07-15", "seed": 1,
            "diversity": False, "events": {"heat_wave": {"rate_per_year": 4.0}}}
    return CampaignSpec.from_data({**data, **over})


def _peak(stage, seed, label, plans):
    from twinforge.processes.weather import Weather

    out = []
    t = np.arange(0.0, 86_400.0, 3600.0)
    for p in plans:
        streams = RngStreams(p.seed).child(f"run/{p.stream_id}")
        out.append(float(np.max(Weather(p.config.weather, stage.scenario.start, streams.generator("weather")).temp_c(t))))
    return np.array(out)


def test_latent_cross_entropy_of_a_campaign_is_reproducible_from_its_seed():
    c = _campaign()
    kw = {"seed": 4, "runs_per_stage": 60, "batch": 60, "max_runs": 240, "max_stages": 2}
    a = latent_cross_entropy(c, _peak, 33.0, **kw)
    b = latent_cross_entropy(c, _peak, 33.0, **kw)
    assert a.to_json() == b.to_json()
    assert all(np.array_equal(x.values, y.values) and np.array_equal(x.log_weights, y.log_weights)
               for x, y in zip(a.stages, b.stages))
    other = latent_cross_entropy(c, _peak, 33.0, **{**kw, "seed": 5})
    assert not np.array_equal(other.stages[0].values, a.stages[0].values)
    space = LatentSpace(c)
    assert a.dimension == space.dimension == len(a.labels) == space.groups.size > 73
    assert a.stages[1].level > a.stages[0].level
    json.dumps(a.to_json(), allow_nan=False)


@pytest.mark.parametrize(("kw", "message"), [
    ({"runs_per_stage": 40}, r"runs_per_stage and batch must be >= 50, got 40 and 40"),
    ({"batch": 10}, r"runs_per_stage and batch must be >= 50, got 100 and 10"),
    ({"elite_share": 0.6}, r"elite_share must be within \[0.01, 0.5\], got 0.6"),
    ({"smoothing": 0.0}, r"smoothing must be within \(0, 1\], got 0.0"),
    ({"shrinkage": -1.0}, r"shrinkage must be within \[0, 10\] standard errors, got -1.0"),
    ({"target_cov": 1.0}, r"target_cov must be within \(0, 1\), got 1.0"),
    ({"max_runs": 150}, r"max_runs must allow a stage and a batch \(>= 200\), got 150"),
    ({"max_stages": 0}, r"max_stages must be within \[1, 100\], got 0"),
    ({"components": 0}, r"components must be within \[1, 10\], got 0"),
    ({"groups": np.zeros(D - 1, dtype=int)}, r"groups must hold one non-negative integer block per coordinate \(60\)"),
])
def test_bad_arguments_are_refused(kw, message):
    with pytest.raises(ValueError, match=message):
        latent_ce_sampling(_gauss_tail, D, B, np.random.default_rng(0), **{"runs_per_stage": 100, **kw})
    with pytest.raises(ValueError, match="threshold must be a finite number"):
        latent_ce_sampling(_gauss_tail, D, math.inf, np.random.default_rng(0))
    with pytest.raises(ValueError, match="counterfactual"):
        latent_cross_entropy(_campaign(counterfactual=True), _peak, 36.0, seed=1)




@pytest.mark.parametrize(("extra", "message"), [
    (["--shrinkage", "11"], "twinforge: error: --shrinkage must be within [0, 10], got 11.0"),
    (["--components", "0"], "twinforge: error: --components must be within [1, 10], got 0"),
    (["--runs-per-stage", "20"], "twinforge: error: --runs-per-stage and --batch must be >= 50, got 20 and 20"),
    (["--max-runs", "100"], "twinforge: error: --max-runs must allow a stage and a batch (>= 1000), got 100"),
    (["--target-cov", "0"], "twinforge: error: --target-cov must be within (0, 1), got 0.0"),
    (["--weather"], "twinforge: error: --weather and --resume apply to --method ce only"),
    (["--workers", "-1"], "twinforge: error: --workers must be >= 1, got -1"),
    (["--scheduler", "tcp://host:70000"], "twinforge: error: --scheduler 'tcp://host:70000': not a Dask scheduler address"),
    (["--column", "nope"], "twinforge: error: --column 'nope' is not a numeric channel of the home twin"),
])
def test_cli_latent_ce_refuses_bad_input_before_writing(tmp_path, extra, message):
    assert_adapt_refuses(tmp_path, "latent-ce", extra, message)


def test_cli_latent_ce_runs_the_twin_and_writes_its_stages(tmp_path):
    spec = tmp_path / "c.toml"
    spec.write_text('twin = "home"\nruns = 10\ndays = 1\nperiod = "1h"\nstart = "2024-07-15"\nseed = 3\n'
                    "diversity = false\n[events.heat_wave]\nrate_per_year = 4.0\n")
    out = tmp_path / "latent"
    code, stdout, stderr = run_cli("campaign", "adapt", spec, "--method", "latent-ce", "--column", "temp_outdoor_c",
                                "--above", "31", "--out", out, "--runs-per-stage", "50", "--max-runs", "150",
                                "--components", "2")
    assert code == 0, stderr
    assert stdout.startswith("P(max temp_outdoor_c > 31) = ")
    summary = json.loads((out / "latent-ce.json").read_text())
    assert summary["method"] == "latent-cross-entropy" and summary["runs"] == sum(s["runs"] for s in summary["stages"])
    assert summary["runs"] <= 150 and summary["stages"][-1]["final"]
    e = summary["estimate"]
    assert 0.0 < e["value"] < 0.5 and e["ci_low"] <= e["value"] <= e["ci_high"]
