"""The appliance components: cycle energy and profiles, start laws, occupancy gating, cold duty.

Each test drives :class:`TriggeredAppliances` or :class:`ColdAppliances` directly, block by
block, with a hand-made slot table of active occupants and an exact interval-mean grid, so
the laws of :mod:`twinforge.processes.appliances` are checked on the compiled kernels.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from twinforge.components.appliances import ColdAppliances, CycleLog, TriggeredAppliances
from twinforge.components.localtime import HourOffsets
from twinforge.core.calendar import LocalClock
from twinforge.core.rng import RngStreams
from twinforge.processes import appliances as appl

YEAR_S = 365.25 * 86_400.0
CLOCK = LocalClock(pd.Timestamp("2023-01-02"), "Europe/Paris")  # a Monday
DT = 60.0


def run_triggered(spec, days, *, active=lambda hour: 1, seed=0, usage_scale=1.0, day_factor=None,
                  block_days=7.0, homes=1):
    """Power (n_steps, homes) [W] and the cycle log of one appliance type over ``days``."""
    cat = {spec.name: spec}
    n_days = int(days) + 3
    d0 = int(CLOCK.local_s(0.0) // 86_400.0)
    f = np.ones((homes, n_days)) if day_factor is None else np.broadcast_to(day_factor, (homes, n_days)).copy()
    comp = TriggeredAppliances([{spec.name: True}] * homes, np.full(homes, usage_scale), f, d0,
                               [RngStreams(seed).child(f"h{h}") for h in range(homes)], catalogue=cat)
    slot_t = np.arange(-600.0, days * 86_400.0 + 86_400.0, 600.0)
    hours = CLOCK.hour_of_day_array(slot_t + 1.0)
    n_active = np.repeat(np.array([active(h) for h in hours], dtype=np.int16)[:, None], homes, axis=1)
    n = int(round(days * 86_400.0 / DT))
    per = int(round(block_days * 86_400.0 / DT))
    out = np.zeros((n, homes))
    log = CycleLog(16)
    for i0 in range(0, n, per):
        i1 = min(n, i0 + per)
        off = HourOffsets.cover(CLOCK, i0 * DT, i1 * DT)
        comp.render(out[i0:i1], i0, DT, off, slot_t, n_active, log)
    row, a, b, e = log.take()
    return out, a, b, e, comp.home[row]


def energy_j(power, a, b):
    """Exact energy of the (n_steps,) interval means between times a and b (multiples of DT)."""
    return float(power[int(a // DT):int(np.ceil(b / DT))].sum() * DT)


def test_cycle_energy_equals_phase_sum_and_the_rendered_integral():
    spec = dataclasses.replace(appl.APPLIANCES["washing_machine"], duration_sd=0.0)
    power, a, b, e, _ = run_triggered(spec, 60, seed=1)
    assert len(a) > 10
    np.testing.assert_allclose(b - a, spec.cycle_duration_s)
    np.testing.assert_allclose(e, spec.cycle_energy_j)
    # nothing but the logged cycles is drawn, and each is drawn whole
    inside = b < 59 * 86_400.0
    assert power[: int(b[inside][-1] // DT) + 1].sum() * DT == pytest.approx(e[inside].sum(), rel=1e-9)
    # the phase profile plays in order: the mean over a whole minute inside each phase is its power
    t = a[0] + np.cumsum([0.0] + [d for d, _ in spec.phases[:-1]])
    k = np.ceil(t / DT).astype(int) + 1  # a minute fully inside each phase (all phases last >= 5 min)
    np.testing.assert_allclose(power[k, 0], [p for _, p in spec.phases])


def test_jittered_cycles_never_overlap_and_keep_their_energy():
    spec = appl.APPLIANCES["television"]  # long cycles, duration SD 0.5
    power, a, b, e, _ = run_triggered(spec, 60, seed=2, block_days=0.37)  # blocks cut cycles
    assert (a[1:] >= b[:-1]).all()
    assert np.std(b - a) > 0.2 * spec.cycle_duration_s
    np.testing.assert_allclose(e, (b - a) * spec.phases[0][1])
    done = b < 60 * 86_400.0
    assert power.sum() * DT == pytest.approx(e[done].sum() + spec.phases[0][1] * (60 * 86_400.0 - a[~done]).sum(),
                                             rel=1e-9)


def test_blocks_do_not_change_the_cycles():
    spec = appl.APPLIANCES["kettle"]
    p1, a1, *_ = run_triggered(spec, 20, seed=3, block_days=7.0)
    p2, a2, *_ = run_triggered(spec, 20, seed=3, block_days=0.13)
    np.testing.assert_array_equal(a1, a2)
    np.testing.assert_allclose(p1, p2, atol=1e-9)


@pytest.mark.parametrize(
    "name,usage_scale",
    [("washing_machine", 1.0), ("kettle", 1.0), ("television", 2.0), ("computer", 1.0)],
)
def test_yearly_cycles_when_always_active(name, usage_scale):
    spec = appl.APPLIANCES[name]
    homes = 6  # six home-years
    _, a, *_ = run_triggered(spec, 365.25, seed=3, usage_scale=usage_scale, homes=homes, block_days=60)
    expected = spec.cycles_per_year * usage_scale * homes
    # Poisson-like count: 4 standard deviations plus 3 % for the rate compensation.
    assert abs(len(a) - expected) < 4.0 * np.sqrt(expected) + 0.03 * expected


def test_start_hours_follow_hour_weights():
    spec = appl.APPLIANCES["kettle"]
    _, a, *_ = run_triggered(spec, 365.25, seed=4, homes=3, block_days=60)
    hours = CLOCK.hour_of_day_array(a).astype(int)
    share = np.bincount(hours, minlength=24) / len(hours)
    w = np.asarray(spec.hour_weights) / np.sum(spec.hour_weights)
    sd = np.sqrt(w * (1 - w) / len(hours))
    assert np.max(np.abs(share - w) / sd) < 4.5


def test_no_start_while_nobody_active():
    spec = appl.APPLIANCES["kettle"]
    _, a, *_ = run_triggered(spec, 120, active=lambda h: int(18.0 <= h < 22.0), seed=5)
    hours = CLOCK.hour_of_day_array(a)
    assert len(hours) > 100
    assert ((hours >= 18.0) & (hours < 22.0)).all()
    power, none, *_ = run_triggered(spec, 30, active=lambda h: 0, seed=5)
    assert none.size == 0 and not power.any()


def test_requires_active_false_ignores_occupancy():
    spec = dataclasses.replace(appl.APPLIANCES["kettle"], requires_active=False)
    _, a, *_ = run_triggered(spec, 30, active=lambda h: 0, seed=6)
    assert len(a) > 50


def test_zero_usage_starts_nothing():
    power, a, *_ = run_triggered(appl.APPLIANCES["oven"], 30, usage_scale=0.0)
    assert a.size == 0 and not power.any()


def test_starts_per_day_follow_the_day_factor():
    spec = appl.APPLIANCES["kettle"]
    n_days = 400
    f = appl.day_factors(0.6, n_days + 3, np.random.default_rng(5))
    _, a, *_ = run_triggered(spec, n_days, seed=6, day_factor=f[None, :], block_days=50)
    _, plain, *_ = run_triggered(spec, n_days, seed=6, block_days=50)
    d0 = int(CLOCK.local_s(0.0) // 86_400.0)
    per_day = np.bincount(CLOCK.local_day_array(a) - d0, minlength=n_days)[:n_days]
    # about the same number of cycles in total (E[f] = 1), but busy days have more of them
    assert len(a) == pytest.approx(len(plain), rel=0.1)
    assert np.corrcoef(f[:n_days], per_day)[0, 1] > 0.6
    ff = f[:n_days]
    assert per_day[ff > np.quantile(ff, 0.75)].mean() > 2.0 * per_day[ff < np.quantile(ff, 0.25)].mean()


# -- cold appliances -------------------------------------------------------------------------


def run_cold(spec, days, temp_c=20.0, seed=0, homes=1, block_days=10.0):
    comp = ColdAppliances([{spec.name: True}] * homes, [RngStreams(seed).child(f"h{h}") for h in range(homes)],
                          catalogue={spec.name: spec})
    n = int(round(days * 86_400.0 / DT))
    per = int(round(block_days * 86_400.0 / DT))
    out = np.zeros((n, homes))
    log = CycleLog(16)
    for i0 in range(0, n, per):
        i1 = min(n, i0 + per)
        comp.render(out[i0:i1], i0, DT, np.full((i1 - i0, homes), temp_c), log)
    row, a, b, e = log.take()
    return out, a, b, e


@pytest.mark.parametrize("name", ["fridge", "fridge_freezer", "freezer"])
def test_compressor_duty_cycle_long_run(name):
    spec = appl.APPLIANCES[name]
    power, a, b, e = run_cold(spec, 365.25, seed=7)
    p_on = spec.phases[0][1]
    assert power.mean() / p_on == pytest.approx(spec.duty_cycle, rel=0.02)
    assert power.max() <= p_on + 1e-9 and power.min() >= 0.0
    # every compressor run is logged with its energy
    done = b <= 365.25 * 86_400.0
    assert e[done].sum() == pytest.approx(power.sum() * DT, rel=0.001)
    assert np.mean((b - a)[1:]) == pytest.approx(spec.phases[0][0], rel=0.02)


def test_warmer_room_raises_duty_cycle():
    spec = appl.APPLIANCES["fridge"]
    power, *_ = run_cold(spec, 180, temp_c=26.0, seed=8)
    expected = float(appl.cold_duty_cycle(spec, 26.0))
    assert expected == pytest.approx(spec.duty_cycle * 22.0 / 16.0)
    assert power.mean() / spec.phases[0][1] == pytest.approx(expected, rel=0.03)
    assert float(appl.cold_duty_cycle(spec, 80.0)) == 0.95  # clipped


def test_cold_cycles_do_not_depend_on_blocks():
    spec = appl.APPLIANCES["freezer"]
    p1, a1, *_ = run_cold(spec, 6, seed=9, block_days=6)
    p2, a2, *_ = run_cold(spec, 6, seed=9, block_days=0.21)
    np.testing.assert_array_equal(a1, a2)
    np.testing.assert_allclose(p1, p2, atol=1e-9)


def test_homes_draw_from_their_own_streams():
    """A home's appliances are the same alone or among others (its own named streams)."""
    spec = appl.APPLIANCES["kettle"]
    alone, a_alone, *_ = run_triggered(spec, 10, seed=11, homes=1)
    many, a_many, _, _, home = run_triggered(spec, 10, seed=11, homes=4)
    np.testing.assert_array_equal(a_alone, a_many[home == 0])
    np.testing.assert_allclose(alone[:, 0], many[:, 0], atol=1e-9)
    assert not np.allclose(many[:, 0], many[:, 1])
