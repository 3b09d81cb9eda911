"""Degradation: onset + gamma process; invariants of the labels and the laws of the draws."""

import numpy as np
import pytest
from pydantic import ValidationError

from twinforge.processes.degradation import (
    FAULT_MODES,
    DegradationParams,
    acceleration_factor,
    draw_failure_times,
    simulate_damage,
)

GRID = np.arange(0.0, 16 * 3600.0, 10.0)  # 10 s steps, as PRONOSTIA snapshots


def test_fault_modes():
    assert FAULT_MODES == (
        "outer_race",
        "inner_race",
        "rolling_element",
        "cage",
        "imbalance",
        "misalignment",
        "lubrication",
    )
    assert DegradationParams(fault_mode="cage").fault_mode == "cage"
    with pytest.raises(ValidationError):
        DegradationParams(fault_mode="gearbox")


def test_params_frozen_and_validated():
    p = DegradationParams()
    with pytest.raises(ValidationError):
        p.growth_scale = 1.0  # type: ignore[misc]
    with pytest.raises(ValidationError):
        DegradationParams(growth_scale=-1.0)
    with pytest.raises(ValidationError):
        DegradationParams(unknown=1.0)


@pytest.mark.parametrize("seed", range(5))
def test_label_invariants(seed):
    out = simulate_damage(GRID, DegradationParams(), np.random.default_rng(seed))
    d, h, rul, f = out["damage"], out["health"], out["rul_s"], out["failure_s"]
    assert d.shape == h.shape == rul.shape == GRID.shape
    assert np.all(np.diff(d) >= 0.0)
    assert np.all((h >= 0.0) & (h <= 1.0)) and np.all(np.diff(h) <= 0.0)
    assert not out["censored"] and 0.0 < out["onset_s"] < f < GRID[-1]
    assert np.all(d[GRID < out["onset_s"]] == 0.0) and np.all(h[GRID < out["onset_s"]] == 1.0)
    before, after = GRID < f, GRID >= f
    # RUL falls 1 s per s before failure and is exactly 0 from failure on
    np.testing.assert_allclose(np.diff(rul[before]), -np.diff(GRID[before]), atol=1e-6)
    np.testing.assert_allclose(rul[before], f - GRID[before])
    assert np.all(rul[after] == 0.0) and np.all(h[after] == 0.0)
    assert np.all(h[before] > 0.0)
    # the crossing lies between the two grid points around it
    i = int(np.argmax(after))
    assert GRID[i - 1] < f <= GRID[i]
    assert d[i - 1] < DegradationParams().failure_threshold <= d[i]


def test_same_seed_same_path_other_seed_other_path():
    p = DegradationParams()
    a = simulate_damage(GRID, p, np.random.default_rng(7))
    b = simulate_damage(GRID, p, np.random.default_rng(7))
    c = simulate_damage(GRID, p, np.random.default_rng(8))
    np.testing.assert_array_equal(a["damage"], b["damage"])
    assert a["failure_s"] == b["failure_s"] != c["failure_s"]


def test_mean_and_variance_of_gamma_increments():
    # b = 1 and onset at ~0: a stationary gamma process with shape c dt and scale beta
    c, beta, dt = 2e-3, 0.05, 10.0
    p = DegradationParams(
        onset_weibull_scale_s=1e-9,
        growth_shape_exponent=1.0,
        growth_shape_rate_per_s=c,
        growth_scale=beta,
        failure_threshold=1e9,
    )
    t = np.arange(1, 200_001) * dt
    inc = np.diff(simulate_damage(t, p, np.random.default_rng(0))["damage"])
    mean, var = c * dt * beta, c * dt * beta**2
    se = np.sqrt(var / inc.size)
    assert abs(inc.mean() - mean) < 4.0 * se
    # shape 0.02 per step: excess kurtosis 6/0.02 = 300, so the sample variance has a
    # relative standard error of sqrt(302 / n) = 3.9 %
    assert inc.var() == pytest.approx(var, rel=0.15)


@pytest.mark.slow  # 4000 gamma paths to a far threshold: minutes on a loaded machine
def test_mean_damage_follows_power_law_shape():
    # E[D(t)] = beta (c (t - U0))^b: check at fixed age since onset over many paths
    p = DegradationParams(onset_weibull_scale_s=1e-9, failure_threshold=1e9)
    t = np.array([600.0, 1200.0, 1800.0])
    d = np.array([simulate_damage(t, p, np.random.default_rng(s))["damage"] for s in range(4000)])
    expected = p.growth_scale * (p.growth_shape_rate_per_s * t) ** p.growth_shape_exponent
    np.testing.assert_allclose(d.mean(axis=0), expected, rtol=0.05)


def test_grid_simulation_matches_exact_first_passage_law():
    p = DegradationParams()
    exact = draw_failure_times(p, np.random.default_rng(0), size=20_000)["failure_s"]
    grid = np.array(
        [simulate_damage(GRID, p, np.random.default_rng(s))["failure_s"] for s in range(1500)]
    )
    assert grid.mean() == pytest.approx(exact.mean(), rel=0.05)
    assert np.median(grid) == pytest.approx(np.median(exact), rel=0.06)


def test_censored_path_draws_failure_beyond_horizon():
    p = DegradationParams()
    t = np.arange(0.0, 600.0, 10.0)  # far shorter than any plausible life
    out = simulate_damage(t, p, np.random.default_rng(1))
    assert out["censored"] and out["failure_s"] > t[-1]
    np.testing.assert_allclose(out["rul_s"], out["failure_s"] - t)
    lives = [simulate_damage(t, p, np.random.default_rng(s))["failure_s"] for s in range(2000)]
    exact = draw_failure_times(p, np.random.default_rng(5), size=20_000)["failure_s"]
    assert np.mean(lives) == pytest.approx(exact.mean(), rel=0.05)


def test_load_acceleration_follows_cube_law():
    p = DegradationParams()
    base = draw_failure_times(p, np.random.default_rng(0), size=50_000)["failure_s"]
    heavy = draw_failure_times(p, np.random.default_rng(1), size=50_000, load_factor=1.25)[
        "failure_s"
    ]
    assert heavy.mean() / base.mean() == pytest.approx(1.25**-3, rel=0.02)
    roller = DegradationParams(load_exponent=10.0 / 3.0)
    r = draw_failure_times(roller, np.random.default_rng(0), size=10, load_factor=2.0)["failure_s"]
    r1 = draw_failure_times(roller, np.random.default_rng(0), size=10)["failure_s"]
    np.testing.assert_allclose(r, r1 * 2.0 ** (-10.0 / 3.0))


def test_time_varying_load_on_grid():
    # doubling the load halfway shortens life versus constant reference load
    p = DegradationParams()
    load = np.where(GRID < 3600.0, 1.0, 1.5)
    lives = [
        simulate_damage(GRID, p, np.random.default_rng(s), load_factor=load)["failure_s"]
        for s in range(300)
    ]
    ref = [simulate_damage(GRID, p, np.random.default_rng(s))["failure_s"] for s in range(300)]
    assert np.all(np.array(lives) <= np.array(ref) + 1e-6)


def test_temperature_lubrication_and_speed_factors():
    p = DegradationParams()
    assert float(acceleration_factor(p, temp_c=p.temp_ref_c)) == pytest.approx(1.0)
    hot = float(acceleration_factor(p, temp_c=p.temp_ref_c + 15.0))
    assert 1.8 < hot < 2.2  # 0.5 eV: about doubling per 15 K near 70 degC
    assert float(acceleration_factor(p, temp_c=p.temp_ref_c - 20.0)) < 1.0
    assert float(acceleration_factor(p, lube_factor=0.5)) == pytest.approx(2.0)
    assert float(acceleration_factor(p, speed_factor=1650 / 1800)) == pytest.approx(1650 / 1800)
    np.testing.assert_allclose(acceleration_factor(p, load_factor=np.array([1.0, 2.0])), [1.0, 8.0])
    with pytest.raises(ValueError, match="lube_factor"):
        acceleration_factor(p, lube_factor=1.5)
    with pytest.raises(ValueError, match="load_factor"):
        acceleration_factor(p, load_factor=0.0)


def test_default_lifetimes_resemble_pronostia_learning_set():
    # PRONOSTIA learning set (6 bearings): 1.43-7.79 h, mean 3.49 h, CV 0.67
    life_h = (
        draw_failure_times(DegradationParams(), np.random.default_rng(0), size=20_000)["failure_s"]
        / 3600.0
    )
    cv = life_h.std() / life_h.mean()
    assert 2.5 < life_h.mean() < 4.5
    assert 0.35 < cv < 0.8
    assert np.mean((life_h > 1.0) & (life_h < 8.0)) > 0.85
    assert np.percentile(life_h, 5) > 0.7 and np.percentile(life_h, 95) < 9.0


def test_defaults_give_long_quiet_phase_then_rise():
    p = DegradationParams()
    out = draw_failure_times(p, np.random.default_rng(1), size=20_000)
    share = (out["failure_s"] - out["onset_s"]) / out["failure_s"]
    assert np.all(out["failure_s"] > out["onset_s"])
    assert 0.08 < np.median(share) < 0.3
    # on one path, damage stays below 10 % of threshold for most of life
    path = simulate_damage(GRID, p, np.random.default_rng(2))
    life = GRID < path["failure_s"]
    assert np.mean(path["damage"][life] < 0.1) > 0.7


@pytest.mark.parametrize(
    "t, match",
    [
        (np.array([]), "non-empty"),
        (np.array([0.0, 10.0, 5.0]), "strictly increasing"),
        (np.array([-1.0, 1.0]), "non-negative"),
    ],
)
def test_bad_time_grid(t, match):
    with pytest.raises(ValueError, match=match):
        simulate_damage(t, DegradationParams(), np.random.default_rng(0))
