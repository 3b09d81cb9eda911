"""Occupancy chains: profiles, exact transition matrices, simulated laws, SimPy process."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import simpy
from pydantic import ValidationError

from twinforge.core.calendar import LocalClock
from twinforge.processes import occupancy as occ


def _z_max(share: np.ndarray, p: np.ndarray, n: int) -> float:
    """Largest binomial z-score of observed shares against probabilities."""
    sd = np.sqrt(np.clip(p * (1.0 - p), 1e-6, None) / n)
    return float(np.max(np.abs(share - p) / sd))


# -- profiles -------------------------------------------------------------------------------


@pytest.mark.parametrize("weekend", [False, True])
def test_profile_rows_are_distributions(weekend):
    p = occ.occupancy_profile(weekend)
    assert p.shape == (occ.SLOTS_PER_DAY, 3)
    assert (p > 0).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)


def test_profile_published_shape():
    wd, we = occ.occupancy_profile(False), occ.occupancy_profile(True)
    at = lambda h: int(h * 6)
    for p in (wd, we):
        assert p[at(3), occ.ASLEEP] > 0.93
        assert p[at(20), occ.ACTIVE] > 0.85
    assert 0.40 <= wd[at(10) : at(16), occ.AWAY].mean() <= 0.50
    assert we[at(10) : at(16), occ.AWAY].mean() < wd[at(10) : at(16), occ.AWAY].mean()
    # Later mornings at weekends.
    assert we[at(8), occ.ASLEEP] > wd[at(8), occ.ASLEEP] + 0.2


def test_routine_moves_the_profile_and_defaults_are_the_published_shape():
    at = lambda h: int(h * 6)
    for weekend in (False, True):
        np.testing.assert_array_equal(occ.occupancy_profile(weekend, occ.OccupancyParams()),
                                      occ.occupancy_profile(weekend))
    # a household that leaves after lunch and comes back at 18:30, up at 06:30, mostly away
    late = occ.OccupancyParams(wake_h=6.5, leave_h=14.0, return_h=18.5, bed_h=23.5, away_share=0.8)
    wd, we = occ.occupancy_profile(False, late), occ.occupancy_profile(True, late)
    default = occ.occupancy_profile(False)
    np.testing.assert_allclose(wd.sum(axis=1), 1.0, atol=1e-12)
    assert wd[at(10), occ.AWAY] < 0.1 < 0.4 < default[at(10), occ.AWAY]
    assert wd[at(16), occ.AWAY] > 0.65 and wd[at(16), occ.AWAY] > default[at(16), occ.AWAY] + 0.3
    assert wd[at(6.8), occ.ASLEEP] < default[at(6.8), occ.ASLEEP] - 0.2   # up earlier
    assert wd[at(23.2), occ.ASLEEP] < default[at(23.2), occ.ASLEEP] - 0.2  # in bed later
    # weekends keep their offsets: one hour's more sleep, a smaller away share
    assert we[at(7.2), occ.ASLEEP] > wd[at(7.2), occ.ASLEEP] + 0.2
    assert we[at(16), occ.AWAY] < wd[at(16), occ.AWAY]
    with pytest.raises(ValidationError, match="return_h"):
        occ.OccupancyParams(leave_h=14.0, return_h=15.0)
    with pytest.raises(ValidationError, match="leave_h"):
        occ.OccupancyParams(wake_h=9.0, leave_h=8.0)
    with pytest.raises(ValidationError, match="bed_h"):
        occ.OccupancyParams(return_h=22.5, bed_h=23.0)


# -- transition matrices --------------------------------------------------------------------


def _profiles():
    rng = np.random.default_rng(3)
    rough = rng.dirichlet([2.0, 1.0, 3.0], size=50)  # abrupt changes from slot to slot
    return [occ.occupancy_profile(False), occ.occupancy_profile(True), rough]


@pytest.mark.parametrize("floor", [0.0, 0.1, 0.5])
@pytest.mark.parametrize("k", [0, 1, 2])
def test_transition_matrices_carry_profile_exactly(k, floor):
    prof = _profiles()[k]
    P = occ.transition_matrices(prof, redraw_floor=floor)
    assert P.shape == (prof.shape[0], 3, 3)
    assert (P >= 0).all()
    np.testing.assert_allclose(P.sum(axis=2), 1.0, atol=1e-12)
    carried = np.einsum("ki,kij->kj", prof, P)
    np.testing.assert_allclose(carried, np.roll(prof, -1, axis=0), atol=1e-12)


@pytest.mark.parametrize("floor", [0.05, 0.3])
def test_transition_matrices_are_minimal_redraws(floor):
    prof = _profiles()[2]
    P = occ.transition_matrices(prof, redraw_floor=floor)
    # P = (1 - lam) I + lam 1 q^T: every row carries the same off-diagonal column j.
    lam_q = P[:, (1, 2, 0), (0, 1, 2)]  # P[k, i != j, j] for each j
    np.testing.assert_allclose(P[:, (2, 0, 1), (0, 1, 2)], lam_q, atol=1e-12)
    lam = 1.0 - np.einsum("kii->ki", P) + lam_q
    np.testing.assert_allclose(lam, lam[:, :1].repeat(3, axis=1), atol=1e-12)
    lam = lam[:, 0]
    q = lam_q / lam[:, None]
    assert (lam >= floor - 1e-12).all()
    # Where lam exceeds the floor it is the smallest feasible value: some q_j is 0.
    tight = lam > floor + 1e-9
    assert tight.any()
    assert np.allclose(q[tight].min(axis=1), 0.0, atol=1e-9)


def test_transition_matrices_reject_bad_profiles():
    with pytest.raises(ValueError, match="sum to 1"):
        occ.transition_matrices(np.full((144, 3), 0.5))
    with pytest.raises(ValueError, match="shape"):
        occ.transition_matrices(np.ones(3) / 3)
    with pytest.raises(ValueError, match="redraw_floor"):
        occ.transition_matrices(occ.occupancy_profile(False), redraw_floor=1.5)


# -- laws of the simulated chains -----------------------------------------------------------


@pytest.mark.parametrize("weekend", [False, True])
def test_simulated_shares_follow_profile(weekend):
    prof = occ.occupancy_profile(weekend)
    P = occ.transition_matrices(prof)
    rng = np.random.default_rng(11)
    n = 20_000
    s0 = rng.choice(3, size=n, p=prof[0])
    states = occ.simulate_chain(P, s0, 143, rng)  # (144, n): slots 0..143
    assert states.shape == (144, n) and states.dtype == np.int8
    share = np.stack([(states == j).mean(axis=1) for j in range(3)], axis=1)
    assert _z_max(share, prof, n) < 4.5


def test_stationary_distribution_matches_long_simulation():
    P = np.array([[0.90, 0.02, 0.08], [0.01, 0.95, 0.04], [0.06, 0.03, 0.91]])
    pi = occ.stationary_distribution(P)
    np.testing.assert_allclose(pi @ P, pi, atol=1e-12)
    assert pi.sum() == pytest.approx(1.0)
    rng = np.random.default_rng(5)
    chains = occ.simulate_chain(P, np.zeros(200, dtype=int), 2_000, rng)[500:]  # burn-in
    share = np.array([(chains == j).mean() for j in range(3)])
    np.testing.assert_allclose(share, pi, atol=0.01)


def test_simulate_chain_scalar_and_errors():
    P = np.array([[0.0, 1.0], [1.0, 0.0]])
    out = occ.simulate_chain(P, 0, 5, np.random.default_rng(0))
    np.testing.assert_array_equal(out, [0, 1, 0, 1, 0, 1])
    with pytest.raises(ValueError, match="states"):
        occ.simulate_chain(P, 2, 5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="shape"):
        occ.simulate_chain(np.ones((2, 3)), 0, 5, np.random.default_rng(0))


def test_params_validated_and_frozen():
    with pytest.raises(ValidationError):
        occ.OccupancyParams(n_occupants=9)
    with pytest.raises(ValidationError):
        occ.OccupancyParams(persistence=1.2)
    with pytest.raises(ValidationError):
        occ.OccupancyParams(colour="red")
    p = occ.OccupancyParams()
    with pytest.raises(ValidationError):
        p.n_occupants = 3


# -- SimPy process --------------------------------------------------------------------------


# -- household trips ------------------------------------------------------------------------


def test_trip_params_validated():
    with pytest.raises(ValidationError, match="trip_share"):
        occ.OccupancyParams(trip_share=0.6)
    with pytest.raises(ValidationError, match="trip_mean_days"):
        occ.OccupancyParams(trip_mean_days=0.5)
    with pytest.raises(ValidationError, match="trip_return_h"):
        occ.OccupancyParams(trip_leave_h=18.0, trip_return_h=18.5)
    with pytest.raises(ValidationError, match="trip_leave_h"):
        occ.OccupancyParams(trip_leave_h=24.0)


def test_trip_days_share_and_spell_length():
    """Stationary share of trip days and mean spell length match the parameters, per home."""
    params = [occ.OccupancyParams(trip_share=0.1, trip_mean_days=2.0),
              occ.OccupancyParams(trip_share=0.3, trip_mean_days=7.0),
              occ.OccupancyParams()]  # no trips
    trips = occ.TripDays(params, np.random.default_rng(3), 1000)
    days = np.array([trips.on_trip(d) for d in range(1000, 61_000)])
    np.testing.assert_allclose(days[:, :2].mean(axis=0), [0.1, 0.3], atol=0.015)
    assert not days[:, 2].any()
    for k, m in ((0, 2.0), (1, 7.0)):
        x = np.concatenate(([0], days[:, k].astype(int), [0]))
        starts, ends = np.flatnonzero(np.diff(x) == 1), np.flatnonzero(np.diff(x) == -1)
        assert np.mean(ends - starts) == pytest.approx(m, rel=0.08)
    with pytest.raises(ValueError, match="before the first day"):
        trips.on_trip(998)


def test_trip_days_do_not_depend_on_query_order():
    params = [occ.OccupancyParams(trip_share=0.2)] * 4
    a = occ.TripDays(params, np.random.default_rng(8), 0)
    b = occ.TripDays(params, np.random.default_rng(8), 0)
    far = b.on_trip(50).copy()  # asking far ahead first draws the same days
    seq = np.array([a.on_trip(d) for d in range(60)])
    np.testing.assert_array_equal(far, seq[50])
    np.testing.assert_array_equal(seq, np.array([b.on_trip(d) for d in range(60)]))


def test_trip_away_windows():
    """Away from the leave hour of a spell's first day to the return hour of its last."""
    p = occ.OccupancyParams(trip_share=0.3, trip_mean_days=3.0, trip_leave_h=8.0, trip_return_h=20.0)
    trips = occ.TripDays([p], np.random.default_rng(0), 0)
    on = np.array([trips.on_trip(d)[0] for d in range(-1, 400)])
    checked = {"first": 0, "middle": 0, "last": 0, "day": 0}
    for d in range(1, 398):
        today, before, after = on[d + 1], on[d], on[d + 2]
        away = np.array([trips.away(d, h)[0] for h in (0.0, 7.9, 8.0, 12.0, 19.9, 20.0, 23.9)])
        if not today:
            assert not away.any()
        elif before and after:
            assert away.all()
            checked["middle"] += 1
        elif after:  # first day
            np.testing.assert_array_equal(away, [False, False, True, True, True, True, True])
            checked["first"] += 1
        elif before:  # last day
            np.testing.assert_array_equal(away, [True, True, True, True, True, False, False])
            checked["last"] += 1
        else:  # a day trip
            np.testing.assert_array_equal(away, [False, False, True, True, True, False, False])
            checked["day"] += 1
    assert min(checked.values()) > 3, checked


def test_trip_log_process_logs_each_spell():
    p = occ.OccupancyParams(trip_share=0.3, trip_mean_days=3.0)
    clock = LocalClock(pd.Timestamp("2024-03-20T11:00Z"), "Europe/Paris")
    trips = occ.TripDays([p], np.random.default_rng(2), clock.local_day(0.0))
    env = simpy.Environment()
    events: list[dict] = []
    env.process(occ.trip_log_process(env, clock, trips, lambda **kw: events.append(kw)))
    env.run(until=60 * 86_400.0)
    assert len(events) > 3
    for e in events:
        assert e["category"] == "occupancy" and e["type"] == "household_trip"
        assert e["end_s"] > e["start_s"] >= 0.0
        for t in np.arange(e["start_s"] + 1.0, e["end_s"], 1800.0):
            assert trips.away(clock.local_day(t), clock.hour_of_day(t))[0]
        assert not trips.away(clock.local_day(e["end_s"] + 1.0), clock.hour_of_day(e["end_s"] + 1.0))[0]
        if e["start_s"] > 0.0:
            assert clock.hour_of_day(e["start_s"]) == pytest.approx(9.0)
            assert not trips.away(clock.local_day(e["start_s"] - 1.0), clock.hour_of_day(e["start_s"] - 1.0))[0]
        assert clock.hour_of_day(e["end_s"]) == pytest.approx(19.0)
    # Every away half-hour of the run lies in a logged trip.
    for t in np.arange(0.0, 55 * 86_400.0, 1800.0):
        if trips.away(clock.local_day(t), clock.hour_of_day(t))[0]:
            assert any(e["start_s"] - 1e-3 <= t < e["end_s"] for e in events), t  # exact to round-off
