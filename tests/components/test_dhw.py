"""The water-heater component: energy balance, the off-peak relay, daily energy, absence, blocks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twinforge.components.appliances import CycleLog
from twinforge.components.dhw import WaterHeaters
from twinforge.components.localtime import HourOffsets
from twinforge.core.calendar import LocalClock
from twinforge.core.rng import RngStreams
from twinforge.processes import dhw

DAY_S = 86_400.0
DT = 60.0
CLOCK = LocalClock(pd.Timestamp("2023-01-01"), "Europe/Paris")


def run(params: dhw.DHWParams, days: float, seed: int = 0, n_occ: int = 2, home: int = 1, block_days: float = 10.0):
    """Element power (n_steps,) [W], the cycle log, the heater's running totals."""
    comp = WaterHeaters([0], [params], [n_occ], [(7.0, 22.9)], [RngStreams(seed)],
                        HourOffsets.cover(CLOCK, 0.0, 0.0))
    n = int(round(days * DAY_S / DT))
    per = int(round(block_days * DAY_S / DT))
    out = np.zeros((n, 1))
    slot_t = np.array([0.0])
    n_home = np.array([[home]], dtype=np.int64)
    log = CycleLog(8)
    for i0 in range(0, n, per):
        i1 = min(n, i0 + per)
        comp.render(out[i0:i1], i0, DT, HourOffsets.cover(CLOCK, i0 * DT, i1 * DT), slot_t, n_home, log)
    _, a, b, e = log.take()
    return out[:, 0], a, b, e, comp


@pytest.mark.parametrize("window", [None, (22.0, 6.0)])
def test_energy_balance(window):
    p = dhw.DHWParams(offpeak_window_h=window)
    power, a, b, e, comp = run(p, 200.0, seed=1)
    element_j, draw_j, unmet_j, loss_j = comp.stats[0]
    assert power.sum() * DT == pytest.approx(element_j, rel=1e-9)
    # element energy = delivered draws + losses + change of stored heat (exact)
    assert element_j == pytest.approx(draw_j + loss_j + comp.stored_j[0] - p.full_j, rel=1e-9)
    assert unmet_j == 0.0  # a 200 L tank serves two people
    # the logged cycles carry the element energy (the last one may still be running)
    assert e.sum() <= element_j * (1 + 1e-9)
    assert e.sum() >= element_j - p.element_w * 8 * 3600.0
    np.testing.assert_allclose(e, (b - a) * p.element_w)
    assert power.min() >= 0.0 and power.max() <= p.element_w * (1 + 1e-12)


def test_heating_only_inside_offpeak_window():
    p = dhw.DHWParams(offpeak_window_h=(22.0, 6.0))
    power, a, b, _, _ = run(p, 120.0, seed=2)
    assert len(a) > 60
    t = np.arange(power.size) * DT
    hours = CLOCK.hour_of_day_array(t[power > 1e-3])  # the relay's edges are exact to < 1 us
    assert ((hours >= 22.0 - 1e-6) | (hours < 6.0)).all()
    for ts in np.concatenate([a, b - 1.0]):
        h = CLOCK.hour_of_day(ts)
        assert h >= 22.0 - 1e-6 or h < 6.0


@pytest.mark.parametrize("window", [None, (22.0, 6.0)])
def test_daily_energy_is_plausible(window):
    power, *_ = run(dhw.DHWParams(offpeak_window_h=window), 100.0, seed=3)
    assert 2.0 < power.mean() * 24 / 1000 < 8.0


def test_more_water_costs_more_energy_and_absence_skips_draws():
    base = run(dhw.DHWParams(), 60.0, seed=4)[4].stats[0, 0]
    more = run(dhw.DHWParams(draw_l_per_occupant_day=90.0), 60.0, seed=4)[4].stats[0, 0]
    away = run(dhw.DHWParams(), 60.0, seed=4, home=0)[4]
    assert more > 1.5 * base
    element_j, draw_j, _, loss_j = away.stats[0]
    assert draw_j == 0.0
    assert element_j == pytest.approx(loss_j + away.stored_j[0] - dhw.DHWParams().full_j, rel=1e-6)


def test_same_stream_same_cycles_whatever_the_blocks():
    p = dhw.DHWParams(offpeak_window_h=(22.0, 6.0))
    pa, a, *_ = run(p, 30.0, seed=5)
    pb, b, *_ = run(p, 30.0, seed=5, block_days=0.3)
    pc, c, *_ = run(p, 30.0, seed=6)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(pa, pb, atol=1e-9)
    assert a.shape != c.shape or not np.array_equal(a, c)


def test_morning_showers_shift_heating_to_the_morning():
    def morning_share_of_energy(share):
        p = dhw.DHWParams(morning_shower_share=share, draw_l_per_occupant_day=120.0, element_w=1100.0)
        power, *_ = run(p, 60.0, seed=8)
        h = CLOCK.hour_of_day_array(np.arange(power.size) * DT + 30.0)
        return power[(h >= 6) & (h < 15)].sum() / power.sum()

    assert morning_share_of_energy(0.9) > morning_share_of_energy(0.3) + 0.1
