"""The occupants component: the profile's law in local time (DST included), trips, streams.

Homes of one occupant each make every occupant's state readable from the slot table
(away: nobody home; asleep: home, not active; active).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twinforge.components.occupancy import Occupants
from twinforge.core.calendar import LocalClock
from twinforge.core.rng import RngStreams
from twinforge.processes import occupancy as occ


def _z_max(share: np.ndarray, p: np.ndarray, n: int) -> float:
    sd = np.sqrt(np.clip(p * (1.0 - p), 1e-6, None) / n)
    return float(np.max(np.abs(share - p) / sd))


def run(start: str, tz: str, days: float, n: int, params: occ.OccupancyParams, seed: int = 0,
        block_s: float = 86_400.0, trips: bool = False):
    """Slot starts [s] and each one-occupant home's state in them, shape (n_slots, n)."""
    params = params.model_copy(update={"n_occupants": 1})
    clock = LocalClock(pd.Timestamp(start), tz)
    streams = [RngStreams(seed).child(f"home/{h}") for h in range(n)]
    tr = [occ.TripDays([params], s.generator("occupancy/trips"), clock.local_day(0.0)) if trips else None
          for s in streams]
    comp = Occupants([params] * n, clock, streams, tr)
    t_parts, s_parts = [comp.slot_t[:1]], [comp.n_home_tab[:1] + comp.n_active_tab[:1]]
    t = 0.0
    while t < days * 86_400.0:
        t1 = min(t + block_s, days * 86_400.0)
        before = comp.slot_t[-1]
        comp.advance(t, t1)
        new = comp.slot_t > before
        t_parts.append(comp.slot_t[new])
        s_parts.append(comp.n_home_tab[new] + comp.n_active_tab[new])
        t = t1
    return clock, np.concatenate(t_parts), np.concatenate(s_parts), tr


def states_at(slot_t, states, t_s):
    return states[np.searchsorted(slot_t, t_s, side="right") - 1]


def test_slots_start_on_local_boundaries_and_occupants_change_a_few_times_a_day():
    clock, slot_t, st, _ = run("2024-03-04 05:17", "Europe/Paris", 10, 20, occ.OccupancyParams())
    assert slot_t[0] == 0.0 and (np.diff(slot_t) > 0).all()
    local_min = np.round(clock.hour_of_day_array(slot_t[1:]) * 60.0, 6)
    np.testing.assert_allclose(local_min % 10.0, 0.0, atol=1e-5)
    changes = (np.diff(st, axis=0) != 0).sum() / (20 * 10)
    assert 3.0 < changes < 10.0


def test_same_streams_same_states_whatever_the_blocks():
    _, ta, a, _ = run("2024-01-01", "UTC", 3, 3, occ.OccupancyParams(), seed=4)
    _, tb, b, _ = run("2024-01-01", "UTC", 3, 3, occ.OccupancyParams(), seed=4, block_s=7_000.0)
    _, _, c, _ = run("2024-01-01", "UTC", 3, 3, occ.OccupancyParams(), seed=5)
    np.testing.assert_array_equal(ta, tb)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_a_homes_occupants_do_not_depend_on_the_other_homes():
    _, _, few, _ = run("2024-01-01", "UTC", 3, 2, occ.OccupancyParams(), seed=6)
    _, _, many, _ = run("2024-01-01", "UTC", 3, 7, occ.OccupancyParams(), seed=6)
    np.testing.assert_array_equal(few, many[:, :2])


def test_simulated_occupants_follow_the_routine():
    late = occ.OccupancyParams(n_occupants=1, leave_h=14.0, return_h=18.5, away_share=0.8, schedule_shift_sd_h=0.0)
    clock, slot_t, st, _ = run("2024-01-07T23:00Z", "Europe/Paris", 1, 300, late)  # Monday local
    at = lambda h: states_at(slot_t, st, np.array([h * 3600.0]))[0]
    assert (at(10) == 0).mean() < 0.15 and (at(16) == 0).mean() > 0.6


@pytest.mark.parametrize("tz", ["Europe/Paris", "America/New_York", "Asia/Tokyo"])
def test_states_follow_the_local_profile(tz):
    n, days = 600, 3
    params = occ.OccupancyParams(schedule_shift_sd_h=0.0)
    clock, slot_t, st, _ = run("2024-06-03", tz, days, n, params, seed=1)
    prof = occ.occupancy_profile(False)
    midnight = clock.next_local_midnight(86_400.0 - 43_200.0)  # a whole local weekday inside the run
    for hour in (3.0, 8.0, 12.0, 20.0):
        t = midnight + hour * 3600.0 + 300.0
        s = states_at(slot_t, st, np.array([t]))[0]
        share = np.array([(s == j).mean() for j in range(3)])
        assert _z_max(share, prof[int(hour * 6)], n) < 4.5, (tz, hour, share)


@pytest.mark.parametrize("start,label", [("2024-03-29", "spring"), ("2024-10-25", "autumn")])
def test_states_on_dst_days(start, label):
    n = 600
    clock, slot_t, st, _ = run(start, "Europe/Paris", 4, n, occ.OccupancyParams(schedule_shift_sd_h=0.0), seed=2)
    sunday = clock.next_local_midnight(2 * 86_400.0 - 43_200.0)
    nxt = clock.next_local_midnight(sunday + 1.0)
    assert nxt - sunday == (23 if label == "spring" else 25) * 3600.0
    times = sunday + np.arange(300.0, nxt - sunday, 600.0)
    assert len(times) == (138 if label == "spring" else 150)
    s = states_at(slot_t, st, times)
    slots = [int(clock.hour_of_day(t) * 6) for t in times]
    share = np.stack([(s == j).mean(axis=1) for j in range(3)], axis=1)
    assert _z_max(share, occ.occupancy_profile(True)[slots], n) < 4.8


def test_occupants_are_away_on_trips_and_follow_the_profile_otherwise():
    n, days = 400, 12
    params = occ.OccupancyParams(schedule_shift_sd_h=0.0, trip_share=0.25, trip_mean_days=3.0)
    clock, slot_t, st, trips = run("2024-03-04", "Europe/Paris", days, n, params, seed=5, trips=True)
    times = np.arange(300.0, days * 86_400.0, 600.0)
    s = states_at(slot_t, st, times)
    away = np.array([[tr.away(clock.local_day(t), clock.hour_of_day(t))[0] for tr in trips] for t in times])
    assert 0.15 < away.mean() < 0.3
    assert (s[away] == occ.AWAY).all()
    prof = {wk: occ.occupancy_profile(wk) for wk in (False, True)}
    worst = 0.0
    for i in range(0, len(times), 7):
        free = ~away[i]
        wk = clock.is_weekend(times[i])
        share = np.array([(s[i, free] == j).mean() for j in range(3)])
        worst = max(worst, _z_max(share, prof[wk][int(clock.hour_of_day(times[i]) * 6)], int(free.sum())))
    assert worst < 5.0
