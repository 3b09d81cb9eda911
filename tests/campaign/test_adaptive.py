"""The cross-entropy method: reproducible stages of exact importance sampling, aimed at an outcome."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import integrate, optimize, stats

from twinforge.campaign.adaptive import cross_entropy, stage_seed
from twinforge.campaign.campaign import CampaignSpec, plan_campaign
from twinforge.campaign.estimators import mixture_weights
from _support import run_cli

BASE = {"twin": "home", "runs": 10, "days": 30, "start": "2024-07-01", "seed": 1, "diversity": False}
WIDE = 150.0  # h: a wave reaches its full effect when it lasts this long


def _campaign(**events):
    return CampaignSpec.from_data({**BASE, "events": events or {"heat_wave": {"in_progress": False}}})


def _outcome(plan) -> float:
    """A stand-in for a simulated outcome: the largest severity x min(1, duration / 150 h)."""
    return max([e.severity * min(1.0, e.duration_h / WIDE) for e in plan.events], default=0.0)


def simulate(stage, seed, label, plans):
    return np.array([_outcome(p) for p in plans])


def _exact(c: CampaignSpec, u: float) -> float:
    m = c.events["heat_wave"]
    lam = m.expected_count(c.scenario.start, c.scenario.days)
    dl = stats.lognorm(m.duration_sigma, scale=m.duration_median_h)

    def f(d):
        g = min(1.0, d / WIDE)
        return dl.pdf(d) * m.severity_sf(u / g) if u / g < 25.0 else 0.0

    return -math.expm1(-lam * integrate.quad(f, 0.0, 3000.0, limit=200, points=[WIDE])[0])


def test_stages_are_reproducible_importance_campaigns_with_exact_weights():
    c = _campaign()
    u = 6.5
    kw = dict(seed=7, runs_per_stage=50, max_stages=1, max_runs=100, target_cov=0.01)
    a = cross_entropy(c, simulate, u, **kw)
    b = cross_entropy(c, simulate, u, **kw)
    assert [s.proposal for s in a.stages] == [s.proposal for s in b.stages]
    assert all(np.array_equal(x.values, y.values) for x, y in zip(a.stages, b.stages))
    assert a.estimate == b.estimate
    assert a.stopped == "run budget" and a.runs == 100 and len(a.stages) == 2
    # stage k is an ordinary importance campaign under its own seed: its plans give the weights
    for k, st in enumerate(a.stages):
        assert st.seed == stage_seed(7, k)
        sc = a.stage_campaign(k)
        assert sc.sampler == "importance" and sc.runs == st.runs
        assert np.allclose([p.weight for p in plan_campaign(sc, st.seed)], st.weights)
    first = a.stages[0].proposal["heat_wave"]
    assert first.rate_factor == 1.0 and first.tail_share == 0.0  # stage 0: the natural law
    later = a.stages[-1].proposal["heat_wave"]
    assert later.rate_factor > 1.5 and later.tail_share == pytest.approx(0.7)  # learnt from the elite runs
    assert all(s.final for s in a.stages[a.stages.index(next(s for s in a.stages if s.final)):])


def test_bad_arguments_are_refused():
    c = _campaign()
    with pytest.raises(ValueError, match="threshold must be a finite number"):
        cross_entropy(c, simulate, math.nan, seed=1)
    with pytest.raises(ValueError, match="runs_per_stage and batch must be >= 50"):
        cross_entropy(c, simulate, 5.0, seed=1, runs_per_stage=10)
    with pytest.raises(ValueError, match="target_cov must be within"):
        cross_entropy(c, simulate, 5.0, seed=1, target_cov=0.0)
    plain = CampaignSpec.from_data({**BASE})
    with pytest.raises(ValueError, match="adapts event models; the campaign declares none"):
        cross_entropy(plain, simulate, 5.0, seed=1)


@pytest.mark.slow
def test_cross_entropy_estimates_a_one_in_a_thousand_outcome():
    """Against the exact probability; ~2,500 runs where plain Monte Carlo needs ~100,000."""
    c = _campaign()
    u = optimize.brentq(lambda x: _exact(c, x) - 1e-3, 3.0, 10.0)
    r = cross_entropy(c, simulate, u, seed=3, runs_per_stage=300, target_cov=0.1, max_runs=6000)
    e = r.estimate
    assert abs(e.value - 1e-3) < 4 * e.std_error
    assert e.cov <= 0.1 and r.runs <= 4000
    assert (1 - 1e-3) / (1e-3 * e.cov**2) > 25 * r.runs




@pytest.mark.parametrize(
    "extra, message",
    [
        (["--column", "temp_indoor_c", "--above", "nan"], "twinforge: error: --above must be a finite number, got nan"),
        (["--column", "nope", "--above", "30"], "twinforge: error: --column 'nope' is not a numeric channel of the home twin; known: "),
        (["--column", "event", "--above", "30"], "twinforge: error: --column 'event' is not a numeric channel"),
        (["--column", "temp_indoor_c", "--above", "30", "--runs-per-stage", "10"], "twinforge: error: --runs-per-stage and --batch must be >= 50"),
        (["--column", "temp_indoor_c", "--above", "30", "--target-cov", "2"], "twinforge: error: --target-cov must be within (0, 1), got 2.0"),
    ],
)
def test_cli_adapt_refuses_bad_input_before_writing(tmp_path, extra, message):
    out = tmp_path / "adapt"
    code, stdout, stderr = run_cli("campaign", "adapt", "home_heat_wave", "--out", out, *extra)
    assert code == 2 and stderr.startswith(message) and stderr.count("\n") == 1
    assert not out.exists()


def test_cli_adapt_refuses_an_existing_folder(tmp_path):
    (tmp_path / "adapt").mkdir()
    (tmp_path / "adapt" / "x").write_text("mine")
    code, _, stderr = run_cli("campaign", "adapt", "home_heat_wave", "--out", tmp_path / "adapt",
                           "--column", "temp_indoor_c", "--above", "30")
    assert code == 2 and "exists and is not empty" in stderr
    assert (tmp_path / "adapt" / "x").read_text() == "mine"


@pytest.mark.slow
def test_cli_adapt_writes_stage_datasets_that_estimate_reads(tmp_path):
    spec = tmp_path / "c.toml"
    spec.write_text(
        'twin = "home"\nruns = 10\ndays = 1\nperiod = "1h"\nstart = "2024-07-15"\nseed = 3\ndiversity = false\n'
        "[events.heat_wave]\nrate_per_year = 4.0\n"
    )
    out = tmp_path / "adapt"
    code, stdout, stderr = run_cli("campaign", "adapt", spec, "--out", out, "--column", "temp_outdoor_c",
                                "--above", "33", "--runs-per-stage", "50", "--max-runs", "200")
    assert code == 0, stderr
    assert stdout.startswith("P(max temp_outdoor_c > 33) = ")
    summary = json.loads((out / "adaptive.json").read_text())
    assert summary["runs"] == sum(s["runs"] for s in summary["stages"]) <= 200
    stages = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert stages == [f"stage-{k:02d}" for k in range(len(summary["stages"]))]
    code, stdout, _ = run_cli("campaign", "estimate", out / stages[-1], "--column", "temp_outdoor_c", "--above", "33")
    assert code == 0 and stdout.startswith("P(max temp_outdoor_c > 33) = ")


def _gaussian_ce(rng: np.random.Generator, c: float, n: int = 200, finals: int = 2) -> tuple[float, float]:
    """One cross-entropy campaign on P(S > c), S = (X1 + X2)/sqrt(2), X ~ N(0, I): the mean-shift
    family, stages of ``n`` runs, then ``finals`` batches of the final proposal. Returns the
    final-batches estimate and the deterministic-mixture estimate over all stages."""
    mus, xs = [np.zeros(2)], []
    while True:  # adaptive stages, as cross_entropy: level capped at c, the last update at c itself
        x = rng.standard_normal((n, 2)) + mus[-1]
        xs.append(x)
        s = x.sum(axis=1) / math.sqrt(2.0)
        gamma = min(c, float(np.quantile(s, 0.9)))
        w = np.exp(-x @ mus[-1] + 0.5 * mus[-1] @ mus[-1]) * (s >= gamma)
        mus.append(0.7 * (w @ x) / w.sum() + 0.3 * mus[-1])
        if gamma >= c:
            break
    mus = mus[:-1] + [mus[-1]] * finals  # the last fit, drawn `finals` times
    xs += [rng.standard_normal((n, 2)) + mus[-1] for _ in range(finals)]
    x = np.concatenate(xs)
    hit = x.sum(axis=1) / math.sqrt(2.0) > c
    log_ratios = np.stack([-x @ m + 0.5 * m @ m for m in mus], axis=1)
    final = np.mean(np.exp(log_ratios[-finals * n:, -1]) * hit[-finals * n:])
    return float(final), float(np.mean(mixture_weights(log_ratios, [n] * len(mus)) * hit))


def test_the_deterministic_mixture_of_all_stages_is_unbiased_and_tighter_on_an_exact_gaussian_tail():
    """P(S > 3.5) = 2.3e-4 exactly; over 300 campaigns both estimators are within 4 SE of it,
    and reusing every stage's runs (balance heuristic) has a smaller variance than the final
    batches alone."""
    c = 3.5
    exact = float(stats.norm.sf(c))
    rng = np.random.default_rng(2024)
    est = np.array([_gaussian_ce(rng, c) for _ in range(300)])
    mean, se = est.mean(axis=0), est.std(axis=0, ddof=1) / math.sqrt(est.shape[0])
    assert np.all(np.abs(mean - exact) < 4 * se), (mean, exact, se)
    var_final, var_mix = est.var(axis=0, ddof=1)
    print(f"relative errors {mean / exact - 1}, mixture variance 1/{var_final / var_mix:.2f} of the final batches'")
    assert var_mix < 0.8 * var_final, (var_final, var_mix)


def test_mixture_weights_are_the_balance_heuristic():
    lr = np.array([[0.0, math.log(2.0)], [math.inf, 0.0]])  # run 0: q2 = p/2; run 1: q1 = 0
    np.testing.assert_allclose(mixture_weights(lr, [1, 3]), [1.0 / (0.25 + 0.75 * 0.5), 1.0 / 0.75])
    with pytest.raises(ValueError, match="counts must be >= 0 with a positive sum"):
        mixture_weights(lr, [0, 0])
