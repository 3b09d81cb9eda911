"""Electric water heater: parameters and the law of the day's draws (the tank: tests/components)."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from twinforge.processes import dhw

DAY_S = 86_400.0


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
    hours = [h for _ in range(400) for h, v in dhw.day_draws(p, 2, False, rng) if v == pytest.approx(shower_l)]
    assert len(hours) == 800  # one shower per occupant and day
    before_noon = np.mean(np.array(hours) < 12.0)
    assert before_noon > 0.99 if share == 1.0 else before_noon < 0.01


def _shower_hours(p, weekend, n_days=600, **routine):
    rng = np.random.default_rng(11)
    shower_l = p.draw_l_per_occupant_day * dhw._SHOWER_SHARE
    return np.array([h for _ in range(n_days) for h, v in dhw.day_draws(p, 2, weekend, rng, **routine)
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
        return np.mean([h for _ in range(600) for h, v in dhw.day_draws(p, 2, False, rng, **routine)
                        if v == pytest.approx(small_l)])

    assert small_mean() == pytest.approx((7.5 + 12.5 + 19.5) / 3, abs=0.1)
    assert small_mean(wake_h=8.0, bed_h=23.9) - small_mean() == pytest.approx(2 / 3, abs=0.02)
