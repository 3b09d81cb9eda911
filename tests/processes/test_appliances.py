"""Appliances: cycle energy, compressor duty cycle, start laws, occupancy gating, daily energy."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from twinforge.core.calendar import LocalClock
from twinforge.processes import appliances as appl

YEAR_S = 365.25 * 86_400.0
CLOCK = LocalClock(pd.Timestamp("2023-01-02"), "Europe/Paris")  # a Monday


# -- catalogue -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(appl.APPLIANCES))
def test_catalogue_entries_are_consistent(name):
    s = appl.APPLIANCES[name]
    assert s.name == name and s.source
    assert s.cycle_energy_j == pytest.approx(sum(d * p for d, p in s.phases))
    assert s.cycle_duration_s == pytest.approx(sum(d for d, _ in s.phases))
    if s.cold:
        assert 0.3 <= s.duty_cycle <= 0.5
        # CREST annual energy of cold appliances: 200-430 kWh/yr.
        assert 150.0 < s.mean_power_w * 8.766 < 450.0
    else:
        assert s.cycles_per_year > 0


def test_realistic_cycle_profiles():
    wm = appl.APPLIANCES["washing_machine"]
    powers = [p for _, p in wm.phases]
    heat = [d for d, p in wm.phases if p >= 1800]
    assert sum(heat) == pytest.approx(15 * 60)  # ~15 min heating at ~2 kW
    assert any(300 <= p <= 500 for p in powers)  # spin
    assert any(150 <= p <= 250 for p in powers)  # wash
    assert 0.6e6 * 3.6 < wm.cycle_energy_j < 1.2e6 * 3.6
    dw = appl.APPLIANCES["dishwasher"]
    assert sum(p >= 1800 for _, p in dw.phases) == 2  # two heating phases
    assert 2000 <= max(p for _, p in appl.APPLIANCES["tumble_dryer"].phases) <= 2500


def test_spec_validation():
    base = appl.APPLIANCES["kettle"]
    with pytest.raises(ValueError, match="hour_weights"):
        dataclasses.replace(base, hour_weights=(1.0,) * 23)
    with pytest.raises(ValueError, match="phases"):
        dataclasses.replace(base, phases=((0.0, 100.0),))
    with pytest.raises(ValueError, match="cold"):
        dataclasses.replace(base, cold=True, duty_cycle=1.5)


# -- triggered appliances ---------------------------------------------------------------------


# -- ownership, parameters, lighting ----------------------------------------------------------


def test_draw_ownership_rates():
    params = appl.AppliancesParams()
    rng = np.random.default_rng(9)
    n = 4000
    draws = [appl.draw_ownership(params, rng) for _ in range(n)]
    assert all(d["fridge"] or d["fridge_freezer"] for d in draws)
    for name, spec in appl.APPLIANCES.items():
        if name == "fridge_freezer":
            continue  # raised by the "every home has a cold appliance" rule
        share = np.mean([d[name] for d in draws])
        sd = np.sqrt(spec.ownership * (1 - spec.ownership) / n)
        assert abs(share - spec.ownership) < 4.5 * sd + 1e-9, name
    fixed = appl.AppliancesParams(owned={"kettle": True})
    got = appl.draw_ownership(fixed, rng)
    assert got["kettle"] and sum(got.values()) == 1 and set(got) == set(appl.APPLIANCES)


def test_params_validated():
    with pytest.raises(ValidationError, match="unknown appliances"):
        appl.AppliancesParams(owned={"toaster_oven_9000": True})
    with pytest.raises(ValidationError):
        appl.AppliancesParams(usage_scale=6.0)
    with pytest.raises(ValidationError):
        appl.AppliancesParams(standby=3.0)


def test_lighting_power():
    params = appl.AppliancesParams(
        lighting_w_per_active=100.0, lighting_ghi_threshold_w_per_m2=60.0
    )
    n = np.array([0, 1, 2, 3, 1, 1, 8, 2, np.nan, 1])
    ghi = np.array([0.0, 0.0, 0.0, 0.0, 30.0, 500.0, 0.0, 60.0, 0.0, np.nan])
    out = appl.lighting_power_w(n, ghi, params)
    np.testing.assert_allclose(out[:8], [0.0, 100.0, 152.8, 169.4, 50.0, 0.0, 239.4, 0.0])
    assert np.isnan(out[8]) and np.isnan(out[9])
    # Scalars broadcast; more occupants never dim the lights.
    assert appl.lighting_power_w(2, 0.0, params) == pytest.approx(152.8)
    grid = appl.lighting_power_w(np.arange(9.0)[:, None], np.array([0.0, 20.0])[None, :], params)
    assert grid.shape == (9, 2) and (np.diff(grid, axis=0) >= 0).all()


# -- day-to-day variability ----------------------------------------------------------------------


def test_day_factors_have_mean_one():
    f = appl.day_factors(0.5, 50_000, np.random.default_rng(1))
    assert f.mean() == pytest.approx(1.0, abs=0.01)
    assert np.log(f).std() == pytest.approx(0.5, rel=0.02)
    np.testing.assert_array_equal(appl.day_factors(0.0, 5, np.random.default_rng(1)), np.ones(5))
    with pytest.raises(ValueError):
        appl.day_factors(-0.1, 3, np.random.default_rng(1))


# -- lighting light point by light point (CREST) ---------------------------------------------------


def _bulbs(n=4, seed=0, **kw):
    p = appl.AppliancesParams(lighting_bulbs=n, **{"lighting_w_per_active": 300.0, **kw})
    return appl.LightingBulbs(p, np.random.default_rng(seed), [np.random.default_rng([seed, i]) for i in range(n)])


def _on_share(x):
    return x / (1.0 + x)


def test_light_points_expected_power_is_lighting_w_per_active():
    """One active occupant in the dark: the long-run mean is ``lighting_w_per_active``; while it
    is bright the lamps switch on at 5 % of the rate, as the renewal formula says."""
    t = np.arange(0.0, 60 * 86_400.0, 60.0)
    dark, bright, expected_bright = [], [], []
    for seed in range(10):
        b = _bulbs(seed=seed)
        dark.append(b.render(t, 60.0, np.ones(t.size), np.zeros(t.size)).mean())
        b = _bulbs(seed=seed)
        bright.append(b.render(t, 60.0, np.ones(t.size), np.full(t.size, 500.0)).mean())
        x = appl.LIGHT_SWITCH_PER_MIN * b.weight * appl._LIGHT_MEAN_DURATION_MIN
        expected_bright.append(np.sum(b.rating_w * _on_share(0.05 * x)))
    assert np.mean(dark) == pytest.approx(300.0, rel=0.05)
    assert np.mean(bright) == pytest.approx(np.mean(expected_bright), rel=0.2)
    assert np.mean(bright) < 0.1 * np.mean(dark)


def test_light_point_durations_follow_the_crest_table():
    """One lamp, always active and dark, at 10 s: on-spells last 36.7 min on average, from
    1 min to 259 min; the off-gaps are exponential with mean 1 / (c w) minutes."""
    b = _bulbs(n=1, seed=3)
    t = np.arange(0.0, 200 * 86_400.0, 10.0)
    w = b.render(t, 10.0, np.ones(t.size), np.zeros(t.size))
    on = w > 0.5 * b.rating_w[0]
    edges = np.flatnonzero(np.diff(on.astype(int)))
    rises, falls = edges[on[edges + 1]], edges[~on[edges + 1]]
    falls = falls[falls > rises[0]]
    k = min(rises.size, falls.size)
    spells_min = (falls[:k] - rises[:k]) * 10.0 / 60.0
    assert k > 300
    assert spells_min.mean() == pytest.approx(appl._LIGHT_MEAN_DURATION_MIN, rel=0.1)
    assert spells_min.min() >= 0.8 and spells_min.max() <= 259.5
    gaps_min = (rises[1:k] - falls[: k - 1]) * 10.0 / 60.0
    assert gaps_min.mean() == pytest.approx(1.0 / (appl.LIGHT_SWITCH_PER_MIN * b.weight[0]), rel=0.15)


def test_light_points_need_someone_active():
    t = np.arange(0.0, 3 * 86_400.0, 60.0)
    assert not _bulbs().render(t, 60.0, np.zeros(t.size), np.zeros(t.size)).any()
    # Everyone leaves at noon of day 2: every lamp is off from that sample on.
    n_active = np.where(t < 1.5 * 86_400.0, 2.0, 0.0)
    w = _bulbs().render(t, 60.0, n_active, np.zeros(t.size))
    assert w[t < 1.5 * 86_400.0].mean() > 50.0
    assert not w[t >= 1.5 * 86_400.0].any()


def test_light_points_do_not_depend_on_blocks():
    """Rendering in uneven blocks gives the run's lighting (per-point streams, carried spells)."""
    t = np.arange(0.0, 5 * 86_400.0, 60.0)
    rng = np.random.default_rng(4)
    n_active = np.repeat(rng.integers(0, 3, size=t.size // 30), 30).astype(float)
    ghi = np.clip(600.0 * np.sin(2 * np.pi * (t / 86_400.0 - 0.25)), 0.0, None)
    whole = _bulbs(n=6, seed=2).render(t, 60.0, n_active, ghi)
    b = _bulbs(n=6, seed=2)
    cuts = [0, 1, 7, *np.sort(rng.choice(np.arange(8, t.size), 80, replace=False)), t.size]
    parts = [b.render(t[a:c], 60.0, n_active[a:c], ghi[a:c]) for a, c in zip(cuts[:-1], cuts[1:])]
    np.testing.assert_allclose(np.concatenate(parts), whole, atol=1e-6)
    # Never below zero, never more than every lamp on.
    assert whole.max() <= b.rating_w.sum() + 1e-6 and whole.min() >= 0.0
    with pytest.raises(ValueError, match="in order"):
        b.render(t[:10], 60.0, n_active[:10], ghi[:10])


def test_light_points_validated():
    with pytest.raises(ValidationError):
        appl.AppliancesParams(lighting_bulbs=61)
    with pytest.raises(ValueError, match="lighting_bulbs"):
        appl.LightingBulbs(appl.AppliancesParams(), np.random.default_rng(0), [])
    with pytest.raises(ValueError, match="one random stream"):
        _p = appl.AppliancesParams(lighting_bulbs=2)
        appl.LightingBulbs(_p, np.random.default_rng(0), [np.random.default_rng(1)])
