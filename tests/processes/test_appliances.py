"""Appliances: cycle energy, compressor duty cycle, start laws, occupancy gating, daily energy."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import simpy
from pydantic import ValidationError

from twinforge.core.calendar import LocalClock
from twinforge.core.timeline import StepSignal
from twinforge.processes import appliances as appl
from twinforge.processes import occupancy as occ

YEAR_S = 365.25 * 86_400.0
CLOCK = LocalClock(pd.Timestamp("2023-01-02"), "Europe/Paris")  # a Monday


def _integral_j(sig: StepSignal, t0: float, t1: float) -> float:
    return float(sig.mean_over(np.array([t0, t1]))[0] * (t1 - t0))


def _run_triggered(spec, horizon_s, n_active=lambda: 1, seed=0, usage_scale=1.0):
    env = simpy.Environment()
    sig, logs = StepSignal(0.0), []
    env.process(appl.triggered_appliance_process(
        env, spec, CLOCK, np.random.default_rng(seed), n_active, sig,
        lambda **kw: logs.append(kw), usage_scale=usage_scale,
    ))
    env.run(until=horizon_s)
    return env, sig, logs


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


def test_cycle_energy_equals_phase_sum_and_signal_integral():
    spec = dataclasses.replace(appl.APPLIANCES["washing_machine"], duration_sd=0.0)
    _, sig, logs = _run_triggered(spec, 60 * 86_400.0, seed=1)
    assert len(logs) > 10
    for ev in logs:
        assert ev["category"] == "appliance" and ev["type"] == "washing_machine"
        assert ev["end_s"] - ev["start_s"] == pytest.approx(spec.cycle_duration_s)
        assert ev["energy_j"] == pytest.approx(spec.cycle_energy_j)
        integral = _integral_j(sig, ev["start_s"], ev["end_s"])
        assert integral == pytest.approx(ev["energy_j"], rel=1e-9)
    # The power plays the phase profile in order.
    first = logs[0]["start_s"]
    t = first + np.cumsum([0.0] + [d for d, _ in spec.phases[:-1]]) + 1.0
    np.testing.assert_allclose(sig.at(t), [p for _, p in spec.phases])


def test_jittered_cycles_log_their_integral_and_never_overlap():
    spec = appl.APPLIANCES["television"]  # long cycles, duration SD 0.5
    _, sig, logs = _run_triggered(spec, 60 * 86_400.0, seed=2)
    starts = np.array([e["start_s"] for e in logs])
    ends = np.array([e["end_s"] for e in logs])
    assert (starts[1:] >= ends[:-1]).all()
    energy = np.array([e["energy_j"] for e in logs])
    integral = np.array([_integral_j(sig, a, b) for a, b in zip(starts, ends)])
    np.testing.assert_allclose(integral, energy, rtol=1e-9)
    assert np.std(ends - starts) > 0.2 * spec.cycle_duration_s
    # Nothing is drawn outside the logged cycles.
    assert _integral_j(sig, 0.0, ends[-1] + 1.0) == pytest.approx(energy.sum(), rel=1e-9)


@pytest.mark.parametrize(
    "name,usage_scale",
    [("washing_machine", 1.0), ("kettle", 1.0), ("television", 2.0), ("computer", 1.0)],
)
def test_yearly_cycles_when_always_active(name, usage_scale):
    spec = appl.APPLIANCES[name]
    years = 6
    _, _, logs = _run_triggered(spec, years * YEAR_S, seed=3, usage_scale=usage_scale)
    expected = spec.cycles_per_year * usage_scale * years
    # Poisson-like count: 4 standard deviations plus 3 % for the rate compensation.
    assert abs(len(logs) - expected) < 4.0 * np.sqrt(expected) + 0.03 * expected


def test_start_hours_follow_hour_weights():
    spec = appl.APPLIANCES["kettle"]
    _, _, logs = _run_triggered(spec, 3 * YEAR_S, seed=4)
    hours = np.array([int(CLOCK.hour_of_day(e["start_s"])) for e in logs])
    share = np.bincount(hours, minlength=24) / len(hours)
    w = np.asarray(spec.hour_weights) / np.sum(spec.hour_weights)
    sd = np.sqrt(w * (1 - w) / len(hours))
    assert np.max(np.abs(share - w) / sd) < 4.5


def test_no_start_while_nobody_active():
    spec = appl.APPLIANCES["kettle"]
    env_box = {}

    def evening_only() -> int:  # active 18:00-22:00 local only
        return int(18.0 <= CLOCK.hour_of_day(env_box["env"].now) < 22.0)

    env = simpy.Environment()
    env_box["env"] = env
    sig, logs = StepSignal(0.0), []
    env.process(appl.triggered_appliance_process(
        env, spec, CLOCK, np.random.default_rng(5), evening_only, sig, lambda **kw: logs.append(kw)
    ))
    env.run(until=120 * 86_400.0)
    hours = np.array([CLOCK.hour_of_day(e["start_s"]) for e in logs])
    assert len(hours) > 100
    assert ((hours >= 18.0) & (hours < 22.0)).all()
    _, _, none = _run_triggered(spec, 120 * 86_400.0, n_active=lambda: 0, seed=5)
    assert none == []


def test_requires_active_false_ignores_occupancy():
    spec = dataclasses.replace(appl.APPLIANCES["kettle"], requires_active=False)
    _, _, logs = _run_triggered(spec, 30 * 86_400.0, n_active=lambda: 0, seed=6)
    assert len(logs) > 50


def test_zero_usage_and_cold_spec_rejected():
    _, _, logs = _run_triggered(appl.APPLIANCES["oven"], 30 * 86_400.0, usage_scale=0.0)
    assert logs == []
    env = simpy.Environment()
    with pytest.raises(ValueError, match="cold"):
        env.process(appl.triggered_appliance_process(
            env, appl.APPLIANCES["fridge"], CLOCK, np.random.default_rng(0), lambda: 1,
            StepSignal(), lambda **kw: None,
        ))
        env.run(until=10.0)


# -- cold appliances -------------------------------------------------------------------------


def _run_cold(spec, horizon_s, ambient=None, seed=0, log_cycles=True):
    env = simpy.Environment()
    sig, logs = StepSignal(0.0), []
    env.process(appl.cold_appliance_process(
        env, spec, np.random.default_rng(seed), sig, lambda **kw: logs.append(kw), ambient,
        log_cycles=log_cycles,
    ))
    env.run(until=horizon_s)
    return sig, logs


@pytest.mark.parametrize("name", ["fridge", "fridge_freezer", "freezer"])
def test_compressor_duty_cycle_long_run(name):
    spec = appl.APPLIANCES[name]
    horizon = YEAR_S
    sig, logs = _run_cold(spec, horizon, seed=7)
    p_on = spec.phases[0][1]
    duty = _integral_j(sig, 0.0, horizon) / (p_on * horizon)
    assert duty == pytest.approx(spec.duty_cycle, rel=0.02)
    assert set(np.unique(sig.arrays()[1])) <= {0.0, p_on}
    # Every compressor run is logged with its energy.
    assert all(e["category"] == "appliance" and e["type"] == name for e in logs)
    logged = sum(e["energy_j"] for e in logs if e["end_s"] <= horizon)
    assert logged == pytest.approx(_integral_j(sig, 0.0, horizon), rel=0.001)
    mean_run = np.mean([e["end_s"] - e["start_s"] for e in logs[1:]])
    assert mean_run == pytest.approx(spec.phases[0][0], rel=0.02)


def test_warmer_room_raises_duty_cycle():
    spec = appl.APPLIANCES["fridge"]
    horizon = 0.5 * YEAR_S
    sig, _ = _run_cold(spec, horizon, ambient=lambda t: 26.0, seed=8)
    duty = _integral_j(sig, 0.0, horizon) / (spec.phases[0][1] * horizon)
    expected = float(appl.cold_duty_cycle(spec, 26.0))
    assert expected == pytest.approx(spec.duty_cycle * 22.0 / 16.0)
    assert duty == pytest.approx(expected, rel=0.03)
    assert float(appl.cold_duty_cycle(spec, 80.0)) == 0.95  # clipped


def test_cold_cycle_logging_can_be_disabled():
    sig, logs = _run_cold(appl.APPLIANCES["freezer"], 5 * 86_400.0, log_cycles=False)
    assert logs == [] and len(sig.arrays()[0]) > 50


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


# -- the household law ---------------------------------------------------------------------


def test_daily_household_energy_in_published_range():
    """All catalogue appliances, 2 occupants, standby and lighting: 5-15 kWh a day.

    The UK Household Electricity Survey (Zimmermann et al. 2012, Intertek R66141) measured
    a mean of 3,638 kWh/yr (10 kWh/day) without electric heating, with about 10 % of homes
    below 1,500 and 10 % above 6,000 kWh/yr. A home owning every appliance should sit
    between the mean and the upper decile.
    """
    days = 182
    env = simpy.Environment()
    states = [-1, -1]
    n_active = StepSignal(0.0)

    def on_change(t, k, old, new):
        states[k] = new
        n_active.set(t, sum(s == occ.ACTIVE for s in states))

    for k in range(2):
        env.process(occ.occupant_process(
            env, CLOCK, occ.OccupancyParams(), np.random.default_rng([10, k]), k, on_change
        ))
    params = appl.AppliancesParams()
    signals, logs = [], []
    for name, spec in appl.APPLIANCES.items():
        sig = StepSignal(0.0)
        signals.append(sig)
        rng = np.random.default_rng([11, len(signals)])
        if spec.cold:
            env.process(appl.cold_appliance_process(
                env, spec, rng, sig, lambda **kw: logs.append(kw)
            ))
        else:
            env.process(appl.triggered_appliance_process(
                env, spec, CLOCK, rng, lambda: n_active.value, sig, lambda **kw: logs.append(kw)
            ))
    horizon = days * 86_400.0
    env.run(until=horizon)
    appliances_kwh = sum(_integral_j(s, 0.0, horizon) for s in signals) / 3.6e6 / days
    # Lighting on a crude clear-sky irradiance: sunrise 06:00-08:00, sunset 16:00-20:00 local.
    t = np.arange(0.0, horizon, 300.0)
    h = CLOCK.hour_of_day_array(t)
    half_day = 6.0 + 2.0 * np.sin(2 * np.pi * (t / 86_400.0 - 80.0) / 365.25)
    ghi = 700.0 * np.clip(np.cos(np.pi / 2 * (h - 13.0) / half_day), 0.0, None)
    lighting_kwh = float(np.mean(appl.lighting_power_w(n_active.at(t), ghi, params))) * 24 / 1000
    standby_kwh = params.standby_w * 24 / 1000
    total = appliances_kwh + lighting_kwh + standby_kwh
    assert 5.0 < appliances_kwh < 12.0
    assert 0.2 < lighting_kwh < 2.5
    assert 5.0 < total < 15.0


# -- day-to-day variability ----------------------------------------------------------------------


def test_day_factors_have_mean_one():
    f = appl.day_factors(0.5, 50_000, np.random.default_rng(1))
    assert f.mean() == pytest.approx(1.0, abs=0.01)
    assert np.log(f).std() == pytest.approx(0.5, rel=0.02)
    np.testing.assert_array_equal(appl.day_factors(0.0, 5, np.random.default_rng(1)), np.ones(5))
    with pytest.raises(ValueError):
        appl.day_factors(-0.1, 3, np.random.default_rng(1))


def test_unit_day_factor_changes_nothing():
    spec = appl.APPLIANCES["kettle"]
    _, a, la = _run_triggered(spec, 30 * 86_400.0, seed=3)
    env = simpy.Environment()
    b, lb = StepSignal(0.0), []
    env.process(appl.triggered_appliance_process(
        env, spec, CLOCK, np.random.default_rng(3), lambda: 1, b, lambda **kw: lb.append(kw),
        day_factor=lambda t: 1.0, day_factor_max=1.0,
    ))
    env.run(until=30 * 86_400.0)
    assert la == lb


def test_starts_per_day_follow_the_day_factor():
    spec = appl.APPLIANCES["kettle"]
    n_days = 400
    f = appl.day_factors(0.6, n_days, np.random.default_rng(5))
    env = simpy.Environment()
    sig, logs = StepSignal(0.0), []
    env.process(appl.triggered_appliance_process(
        env, spec, CLOCK, np.random.default_rng(6), lambda: 1, sig, lambda **kw: logs.append(kw),
        day_factor=lambda t: f[min(int(t // 86_400.0), n_days - 1)], day_factor_max=float(f.max()),
    ))
    env.run(until=n_days * 86_400.0)
    per_day = np.bincount([int(e["start_s"] // 86_400.0) for e in logs], minlength=n_days)[:n_days]
    _, _, plain = _run_triggered(spec, n_days * 86_400.0, seed=6)
    # about the same number of cycles in total (E[f] = 1), but busy days have more of them
    assert len(logs) == pytest.approx(len(plain), rel=0.1)
    assert np.corrcoef(f, per_day)[0, 1] > 0.6
    hi, lo = per_day[f > np.quantile(f, 0.75)].mean(), per_day[f < np.quantile(f, 0.25)].mean()
    assert hi > 2.0 * lo


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
