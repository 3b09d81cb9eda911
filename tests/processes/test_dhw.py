"""Electric water heater: energy balance, off-peak window, daily energy, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import simpy
from pydantic import ValidationError

from twinforge.core.calendar import LocalClock
from twinforge.core.timeline import StepSignal
from twinforge.processes import dhw

DAY_S = 86_400.0


def _run(params: dhw.DHWParams, days: float, seed: int = 0, n_occ: int = 2, home=lambda: 1,
         start="2023-01-01 00:00", tz="Europe/Paris"):
    env = simpy.Environment()
    clock = LocalClock(pd.Timestamp(start), tz)
    sig, logs, stats = StepSignal(0.0), [], {}
    env.process(dhw.dhw_process(env, clock, params, np.random.default_rng(seed), home, sig,
                                lambda **kw: logs.append(kw), n_occupants=n_occ, stats=stats))
    env.run(until=days * DAY_S)
    return clock, sig, logs, stats


def _integral_j(sig: StepSignal, t0: float, t1: float) -> float:
    return float(sig.mean_over(np.array([t0, t1]))[0] * (t1 - t0))


@pytest.mark.parametrize("window", [None, (22.0, 6.0)])
def test_energy_balance(window):
    p = dhw.DHWParams(offpeak_window_h=window)
    _, sig, logs, st = _run(p, 200.0, seed=1)
    element = _integral_j(sig, 0.0, 200.0 * DAY_S)
    assert element == pytest.approx(st["element_j"], rel=1e-9)
    # element energy = delivered draws + losses + change of stored heat
    rhs = st["draw_j"] + st["loss_j"] + (st["stored_j"] - p.full_j)
    assert element == pytest.approx(rhs, rel=0.01)
    assert element == pytest.approx(rhs, rel=1e-6)
    # the logged cycles carry the element energy (the last one may still be running)
    assert sum(e["energy_j"] for e in logs) <= element * (1 + 1e-9)
    assert sum(e["energy_j"] for e in logs) >= element - p.element_w * 8 * 3600.0
    for e in logs:
        assert e["category"] == "appliance" and e["type"] == "water_heater"
        assert _integral_j(sig, e["start_s"], e["end_s"]) == pytest.approx(e["energy_j"], rel=1e-9)
    assert set(np.unique(sig.arrays()[1])) <= {0.0, p.element_w}


def test_heating_only_inside_offpeak_window():
    p = dhw.DHWParams(offpeak_window_h=(22.0, 6.0))
    clock, sig, logs, _ = _run(p, 120.0, seed=2)
    assert len(logs) > 60
    t = np.arange(0.0, 120.0 * DAY_S, 60.0) + 30.0
    on = sig.at(t) > 0
    hours = clock.hour_of_day_array(t[on])
    assert ((hours >= 22.0) | (hours < 6.0)).all()
    for e in logs:
        for ts in (e["start_s"], e["end_s"] - 1.0):
            h = clock.hour_of_day(ts)
            assert h >= 22.0 - 1e-6 or h < 6.0


@pytest.mark.parametrize("window", [None, (22.0, 6.0)])
def test_daily_energy_is_plausible(window):
    p = dhw.DHWParams(offpeak_window_h=window)
    _, sig, _, st = _run(p, 100.0, seed=3, n_occ=2)
    kwh_day = _integral_j(sig, 0.0, 100.0 * DAY_S) / 3.6e6 / 100.0
    assert 2.0 < kwh_day < 8.0
    assert st["unmet_j"] == 0.0  # a 200 L tank serves two people


def test_more_water_costs_more_energy_and_absence_skips_draws():
    base = _run(dhw.DHWParams(), 60.0, seed=4)[3]["element_j"]
    more = _run(dhw.DHWParams(draw_l_per_occupant_day=90.0), 60.0, seed=4)[3]["element_j"]
    away = _run(dhw.DHWParams(), 60.0, seed=4, home=lambda: 0)[3]
    assert more > 1.5 * base
    assert away["draw_j"] == 0.0
    assert away["element_j"] == pytest.approx(away["loss_j"] + away["stored_j"] - dhw.DHWParams().full_j, rel=1e-6)


def test_deterministic():
    p = dhw.DHWParams(offpeak_window_h=(22.0, 6.0))
    a = _run(p, 30.0, seed=5)
    b = _run(p, 30.0, seed=5)
    c = _run(p, 30.0, seed=6)
    assert np.array_equal(a[1].arrays()[0], b[1].arrays()[0]) and a[2] == b[2]
    assert not np.array_equal(a[1].arrays()[0], c[1].arrays()[0])


def test_bad_params_rejected():
    with pytest.raises(ValidationError):
        dhw.DHWParams(tank_l=5.0)
    with pytest.raises(ValidationError):
        dhw.DHWParams(extra=1)
    with pytest.raises(ValidationError):
        dhw.DHWParams(offpeak_window_h=(6.0, 6.0))
    with pytest.raises(ValidationError):
        dhw.DHWParams(use_temp_c=50.0, setpoint_c=45.0)


@pytest.mark.parametrize("share", [0.0, 1.0])
def test_morning_shower_share_moves_the_showers(share):
    p = dhw.DHWParams(morning_shower_share=share, draw_sigma=0.0)
    rng = np.random.default_rng(7)
    shower_l = p.draw_l_per_occupant_day * dhw._SHOWER_SHARE
    hours = [h for _ in range(400) for h, v in dhw._day_draws(p, 2, False, rng) if v == pytest.approx(shower_l)]
    assert len(hours) == 800  # one shower per occupant and day
    before_noon = np.mean(np.array(hours) < 12.0)
    assert before_noon > 0.99 if share == 1.0 else before_noon < 0.01


def test_morning_showers_shift_heating_to_the_morning():
    def morning_share_of_energy(share):
        p = dhw.DHWParams(morning_shower_share=share, draw_l_per_occupant_day=120.0, element_w=1100.0)
        clock, sig, _, _ = _run(p, 60.0, seed=8)
        t = np.arange(0.0, 60.0 * DAY_S, 60.0) + 30.0
        w = sig.at(t)
        h = clock.hour_of_day_array(t)
        return w[(h >= 6) & (h < 15)].sum() / w.sum()

    assert morning_share_of_energy(0.9) > morning_share_of_energy(0.3) + 0.1


def _shower_hours(p, weekend, n_days=600, **routine):
    rng = np.random.default_rng(11)
    shower_l = p.draw_l_per_occupant_day * dhw._SHOWER_SHARE
    return np.array([h for _ in range(n_days) for h, v in dhw._day_draws(p, 2, weekend, rng, **routine)
                     if v == pytest.approx(shower_l)])


def test_morning_shower_follows_the_wake_up_time():
    from twinforge.processes.occupancy import OccupancyParams

    assert dhw._DEFAULT_ROUTINE_H == (OccupancyParams().wake_h, OccupancyParams().bed_h)
    p = dhw.DHWParams(morning_shower_share=1.0, draw_sigma=0.0)
    # defaults: the household up at 07:00 showers at 07:00 +- 1 h on weekdays, 08:30 +- 1.5 h at weekends
    default = _shower_hours(p, False)
    assert default.mean() == pytest.approx(7.0, abs=0.1) and default.std() == pytest.approx(1.0, abs=0.1)
    weekend = _shower_hours(p, True)
    assert weekend.mean() == pytest.approx(8.5, abs=0.15) and weekend.std() == pytest.approx(1.5, abs=0.15)
    # a household up at 06:00 whose shower comes 45 min later, within +- 15 min
    late = dhw.DHWParams(morning_shower_share=1.0, draw_sigma=0.0, shower_delay_h=0.75, shower_sd_h=0.25)
    early = _shower_hours(late, False, wake_h=6.0)
    assert early.mean() == pytest.approx(6.75, abs=0.05) and early.std() == pytest.approx(0.25, abs=0.03)
    assert _shower_hours(late, True, wake_h=6.0).mean() == pytest.approx(8.25, abs=0.05)


def test_evening_draws_follow_bedtime():
    p = dhw.DHWParams(morning_shower_share=0.0, draw_sigma=0.0)
    assert _shower_hours(p, False).mean() == pytest.approx(20.5, abs=0.15)
    assert _shower_hours(p, False, bed_h=21.9).mean() == pytest.approx(19.5, abs=0.15)
    # the small draws (equally likely after waking, at 12:30, before bedtime): a routine one hour
    # later moves two of the three centres by 1 h, their mean by 2/3 h
    def small_mean(**routine):
        rng = np.random.default_rng(3)
        small_l = p.draw_l_per_occupant_day * (1 - dhw._SHOWER_SHARE) / dhw._N_SMALL
        return np.mean([h for _ in range(600) for h, v in dhw._day_draws(p, 2, False, rng, **routine)
                        if v == pytest.approx(small_l)])

    assert small_mean() == pytest.approx((7.5 + 12.5 + 19.5) / 3, abs=0.1)
    assert small_mean(wake_h=8.0, bed_h=23.9) - small_mean() == pytest.approx(2 / 3, abs=0.02)
