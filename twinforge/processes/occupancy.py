"""Occupancy: each occupant is a time-inhomogeneous Markov chain over away / asleep / active.

The day is cut into 144 slots of 10 minutes of *local* time. A daily profile ``pi[k]`` gives
the target probability of each state in slot ``k`` (weekday and weekend shapes), and one
row-stochastic matrix ``P[k]`` moves the state from slot ``k`` to slot ``k + 1``. The
matrices are built so that the state distribution follows the profile *exactly*:

.. math::  \\pi_{k+1} = \\pi_k P_k

using the rank-one "redraw" family (stay with probability :math:`1 - \\lambda_k`, else redraw
the state from a distribution :math:`q_k`):

.. math::  P_k = (1 - \\lambda_k) I + \\lambda_k \\mathbf{1} q_k^T, \\qquad
           \\pi_k P_k = (1 - \\lambda_k)\\pi_k + \\lambda_k q_k

so that :math:`q_k = \\pi_k + (\\pi_{k+1} - \\pi_k)/\\lambda_k`. It is a distribution
(it sums to one by construction) iff :math:`q_k \\ge 0`, that is iff

.. math::  \\lambda_k \\ge \\max_j \\left(1 - \\pi_{k+1,j} / \\pi_{k,j}\\right),

the largest relative *drop* of a state's share over the slot. :math:`\\lambda_k` is the
smallest value that satisfies this and is at least the floor :math:`1 - p` set by the
persistence ``p`` (:class:`OccupancyParams`). An occupant in state ``j`` leaves it in a slot
with probability :math:`\\lambda_k (1 - q_{k,j})`; with the floor alone (a flat profile),
the mean dwell time in state ``j`` is :math:`1 / ((1 - p)(1 - \\pi_j))` slots. With the
default ``p = 0.9`` and a daytime away share of 0.45, a daytime absence lasts about
18 slots (3 h) unless the profile ends it sooner, a night's sleep lasts until the morning
drop of the asleep share forces the wake-up, and an occupant changes state about 6 times
a day (measured in the tests). A limitation of the rank-one family: a redraw may jump
straight between asleep and away (about 10 % of the changes, mostly around the morning
departure), which a diary-fitted matrix (as in the CREST model) would forbid.

The profiles are hand-shaped (logistic flanks) after the UK 2000 Time Use Survey occupancy
curves used by the CREST occupancy model: Richardson, Thomson & Infield (2008), "A
high-resolution domestic building occupancy model for energy demand simulations", Energy
and Buildings 40(8), 1560-1566, doi:10.1016/j.enbuild.2008.02.006. They reproduce the
published shapes (about 95 % asleep at 03:00, a weekday daytime away share of about 0.45,
the evening active peak near 0.85) but are not the published tables. Unlike the CREST
model, occupants are simulated independently (no household correlation within a day); a
per-occupant random shift of the daily profile spreads their schedules.

Whole-household absences (day trips, weekends away, holidays) are the one thing the
occupants share: :class:`TripDays` runs a two-state Markov chain over the home's local days
(on a trip or not), with a geometric spell length of mean ``trip_mean_days`` and a long-run
share ``trip_share`` of trip days. On a spell of days ``k .. k + n - 1`` every occupant is
away from ``trip_leave_h`` on day ``k`` to ``trip_return_h`` on day ``k + n - 1`` (local
wall time), whatever the chain says; at the first slot boundary after the return each
occupant's state is redrawn from the profile row of that slot, so the state distribution
outside trips is the profile's. The home's appliances, hot water and thermostat follow the
occupants. Trips are off by default (``trip_share = 0``).

The occupants of many homes are walked through the slot boundaries in one compiled loop by
:mod:`twinforge.components.occupancy` (one uniform per occupant and boundary from the
occupant's own stream; a DST day's skipped or repeated hour and a weekday-to-weekend midnight
use the matrix between the two profile rows); :func:`trip_log_process` logs the trips.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from twinforge.core.calendar import LocalClock

__all__ = [
    "ACTIVE",
    "ASLEEP",
    "AWAY",
    "SLOTS_PER_DAY",
    "SLOT_S",
    "STATE_NAMES",
    "OccupancyParams",
    "TripDays",
    "occupancy_profile",
    "simulate_chain",
    "stationary_distribution",
    "transition_matrices",
    "trip_log_process",
]

#: Occupant states (column order of profiles and matrices).
AWAY, ASLEEP, ACTIVE = 0, 1, 2
STATE_NAMES = ("away", "asleep", "active")
#: Local-time slots per day and their length [s].
SLOTS_PER_DAY = 144
SLOT_S = 600.0


class OccupancyParams(BaseModel):
    """Occupants of one home and the persistence of their states.

    Attributes
    ----------
    n_occupants : int
        Number of occupants (1-8). Default 2 (between the UK and French mean household
        sizes of 2.4 and 2.2 persons).
    schedule_shift_sd_h : float
        Standard deviation [h] of a per-occupant shift of the whole daily profile, drawn
        once per occupant (clipped to 3 standard deviations, rounded to 10-min slots);
        positive shifts make a later riser. Default 0.75 h (hand-set: spreads wake-up
        times over about +-1.5 h as in TUS diaries).
    persistence : float
        Per-slot floor of staying put: in every slot an occupant redraws the state with
        probability at least ``1 - persistence`` (more when the profile changes fast).
        Default 0.9: a redraw every 100 min on average, giving daytime absences of about
        3 h and about 6 state changes per occupant and day.
    wake_h, leave_h, return_h, bed_h : float
        The household's weekday routine, local time [h]: centres of the wake-up flank,
        of the daytime away window's start and end, and of bedtime (after midnight as
        24 + h). Defaults 07:00, 08:18, 17:30, 22:54 (UK TUS 2000, see
        :func:`occupancy_profile`). Weekends keep the default offsets from these (wake up
        1 h later, leave 1.7 h later, return 0.5 h earlier, bed 0.4 h later). A retired or
        home-working household, a shift worker or a family that leaves after lunch is a
        different routine; calibrate them to a real trace.
    away_share : float
        Share of the occupants away in the middle of the weekday away window (on top of
        the 3.5 % away at night). Default 0.45 (TUS 2000); weekends get 0.32 / 0.45 of it.
    trip_share : float
        Long-run share of the local days on which the whole household is away on a trip
        (day trips, weekends away, holidays; :class:`TripDays`), in [0, 0.5]. Default 0:
        no trips. A French household away 5 weeks a year and one day in 20 besides is
        about 0.15.
    trip_mean_days : float
        Mean number of local days a trip touches, from the day of leaving to the day of
        return (geometric), in [1, 60]. Default 3.
    trip_leave_h, trip_return_h : float
        Local time [h] at which the household leaves on a trip's first day and is back on
        its last day, in [0, 24); ``trip_return_h`` at least 1 h after ``trip_leave_h`` (a
        day trip). Defaults 09:00 and 19:00.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_occupants: int = Field(2, ge=1, le=8, description="number of occupants [count]")
    schedule_shift_sd_h: float = Field(
        0.75, ge=0.0, le=4.0, description="SD of the per-occupant shift of the daily profile [h]"
    )
    persistence: float = Field(
        0.9, ge=0.0, le=1.0, description="per-slot floor of keeping the state [1]"
    )
    wake_h: float = Field(7.0, ge=3.0, le=12.0, description="weekday wake-up time, local [h]")
    leave_h: float = Field(8.3, ge=4.0, le=18.0, description="weekday start of the daytime away window, local [h]")
    return_h: float = Field(17.5, ge=8.0, le=23.0, description="weekday end of the daytime away window, local [h]")
    bed_h: float = Field(22.9, ge=19.0, le=27.0, description="weekday bedtime, local [h] (after midnight: 24 + h)")
    away_share: float = Field(
        0.45, ge=0.0, le=0.95, description="share of occupants away in the weekday daytime window [1]"
    )
    trip_share: float = Field(0.0, ge=0.0, le=0.5, description="long-run share of days on a household trip [1]")
    trip_mean_days: float = Field(3.0, ge=1.0, le=60.0, description="mean days touched by a trip [d]")
    trip_leave_h: float = Field(9.0, ge=0.0, lt=24.0, description="local time of leaving on a trip's first day [h]")
    trip_return_h: float = Field(19.0, ge=0.0, lt=24.0, description="local time of return on a trip's last day [h]")

    @model_validator(mode="after")
    def _routine(self) -> OccupancyParams:
        if not self.wake_h + 0.5 <= self.leave_h:
            raise ValueError(f"leave_h ({self.leave_h}) must be at least 0.5 h after wake_h ({self.wake_h})")
        if not self.leave_h + 2.5 <= self.return_h:
            raise ValueError(f"return_h ({self.return_h}) must be at least 2.5 h after leave_h ({self.leave_h})")
        if not self.return_h + 1.0 <= self.bed_h:
            raise ValueError(f"bed_h ({self.bed_h}) must be at least 1 h after return_h ({self.return_h})")
        if not self.trip_leave_h + 1.0 <= self.trip_return_h:
            raise ValueError(
                f"trip_return_h ({self.trip_return_h}) must be at least 1 h after trip_leave_h ({self.trip_leave_h})"
            )
        return self


def _logistic(h: np.ndarray, centre_h: float, width_h: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(h - centre_h) / width_h))


def _window(h: np.ndarray, on_h: float, on_w: float, off_h: float, off_w: float) -> np.ndarray:
    """Smooth 24-h periodic indicator of [on_h, off_h] (off_h may exceed 24)."""
    out = np.zeros_like(h)
    for shift in (-24.0, 0.0, 24.0):
        out += _logistic(h, on_h + shift, on_w) - _logistic(h, off_h + shift, off_w)
    return np.clip(out, 0.0, 1.0)


# (bed time, width, wake time, width, leave, width, return, width, daytime away share)
_SHAPES = {
    False: (22.9, 0.55, 7.0, 0.5, 8.3, 0.7, 17.5, 1.0, 0.45),
    True: (23.3, 0.6, 8.0, 0.7, 10.0, 0.9, 17.0, 1.4, 0.32),
}
_ASLEEP_PEAK, _NAP, _AWAY_NIGHT, _MIN_SHARE = 0.955, 0.01, 0.035, 0.005


def occupancy_profile(weekend: bool, params: OccupancyParams | None = None) -> np.ndarray:
    """Target probability of each state in each local 10-min slot.

    Hand-shaped after the UK TUS 2000 curves of Richardson et al. (2008),
    doi:10.1016/j.enbuild.2008.02.006: sleep between logistic flanks around bedtime
    (22:54 weekdays, 23:18 weekends) and wake-up (07:00, 08:00) with a peak share of
    0.955; an away window from about 08:20 to 17:30 on weekdays (share 0.45 on top of
    0.035 away at night) and 10:00 to 17:00 on weekends (0.32); active is the rest. Every
    share is at least 0.005. ``params`` moves the routine (its ``wake_h``, ``leave_h``,
    ``return_h``, ``bed_h``, ``away_share``; weekends keep their offsets from the weekday
    times); the defaults give exactly the shapes above.

    Parameters
    ----------
    weekend : bool
        Saturday/Sunday shape instead of the weekday one.
    params : OccupancyParams, optional
        The household's routine (default: :class:`OccupancyParams` defaults).

    Returns
    -------
    ndarray of shape (144, 3)
        Columns ``AWAY, ASLEEP, ACTIVE``; slot ``k`` covers local ``[k, k+1) x 10 min``;
        rows sum to one.

    Examples
    --------
    >>> p = occupancy_profile(weekend=False)
    >>> p.shape, bool(p[18, ASLEEP] > 0.9)   # 03:00-03:10
    ((144, 3), True)
    """
    bed, bed_w, wake, wake_w, leave, leave_w, back, back_w, away_day = _SHAPES[bool(weekend)]
    if params is not None:  # shift each flank by the routine's change from the default weekday
        d_bed, _, d_wake, _, d_leave, _, d_back, _, d_away = _SHAPES[False]
        bed += params.bed_h - d_bed
        wake += params.wake_h - d_wake
        leave += params.leave_h - d_leave
        back += params.return_h - d_back
        away_day *= params.away_share / d_away
    h = (np.arange(SLOTS_PER_DAY) + 0.5) * (24.0 / SLOTS_PER_DAY)
    asleep = _NAP + (_ASLEEP_PEAK - _NAP) * _window(h, bed, bed_w, wake + 24.0, wake_w)
    away = _AWAY_NIGHT + away_day * _window(h, leave, leave_w, back, back_w)
    away = np.minimum(away, 1.0 - asleep)
    prof = np.stack([away, asleep, 1.0 - away - asleep], axis=1)
    prof = np.maximum(prof, _MIN_SHARE)
    return prof / prof.sum(axis=1, keepdims=True)


def _redraw_rate(pa: np.ndarray, pb: np.ndarray, floor: float) -> np.ndarray:
    """Smallest lambda >= floor keeping q >= 0, for rows of pa -> pb (shape (..., m))."""
    with np.errstate(divide="ignore", invalid="ignore"):
        drop = np.where(pa > 0.0, 1.0 - pb / pa, 0.0)
    return np.clip(np.maximum(drop.max(axis=-1), floor), 0.0, 1.0)


def _matrices(pa: np.ndarray, pb: np.ndarray, floor: float) -> np.ndarray:
    """Rank-one redraw matrices taking the distributions pa to pb, shape (n, m, m)."""
    lam = _redraw_rate(pa, pb, floor)
    safe = np.where(lam > 0.0, lam, 1.0)[:, None]
    q = np.where(lam[:, None] > 0.0, pa + (pb - pa) / safe, pa)
    q = np.maximum(q, 0.0)  # round-off only: q >= 0 by the choice of lambda
    q /= q.sum(axis=1, keepdims=True)
    m = pa.shape[1]
    eye = np.eye(m)[None, :, :]
    return (1.0 - lam)[:, None, None] * eye + lam[:, None, None] * q[:, None, :]


def transition_matrices(profile: np.ndarray, *, redraw_floor: float = 0.1) -> np.ndarray:
    """Row-stochastic matrices that carry the state distribution along ``profile``.

    ``P[k] = (1 - lam_k) I + lam_k 1 q_k^T`` with
    ``lam_k = max(redraw_floor, max_j(1 - profile[k+1, j] / profile[k, j]))`` and
    ``q_k = profile[k] + (profile[k+1] - profile[k]) / lam_k`` (module docstring), so that
    ``profile[k] @ P[k] == profile[k + 1]`` exactly (indices wrap: the last matrix leads
    back to slot 0).

    Parameters
    ----------
    profile : ndarray of shape (n_slots, n_states)
        State probabilities per slot; rows sum to one.
    redraw_floor : float
        Minimal per-slot redraw probability ``1 - persistence`` in [0, 1].

    Returns
    -------
    ndarray of shape (n_slots, n_states, n_states)

    Examples
    --------
    >>> prof = occupancy_profile(False)
    >>> P = transition_matrices(prof)
    >>> bool(np.allclose(np.einsum("ki,kij->kj", prof, P), np.roll(prof, -1, axis=0)))
    True
    """
    prof = np.asarray(profile, dtype=np.float64)
    if prof.ndim != 2 or prof.shape[0] < 1:
        raise ValueError(f"profile must have shape (n_slots, n_states), got {prof.shape}")
    if (prof < 0).any() or not np.allclose(prof.sum(axis=1), 1.0, atol=1e-9):
        raise ValueError("profile rows must be non-negative and sum to 1")
    if not 0.0 <= redraw_floor <= 1.0:
        raise ValueError(f"redraw_floor must lie in [0, 1], got {redraw_floor}")
    return _matrices(prof, np.roll(prof, -1, axis=0), redraw_floor)


def stationary_distribution(P: np.ndarray) -> np.ndarray:
    """Stationary distribution ``pi = pi P`` of a time-homogeneous chain.

    Parameters
    ----------
    P : ndarray of shape (m, m)
        Row-stochastic matrix of an irreducible chain.

    Returns
    -------
    ndarray of shape (m,)

    Examples
    --------
    >>> stationary_distribution(np.array([[0.9, 0.1], [0.2, 0.8]])).round(4)
    array([0.6667, 0.3333])
    """
    P = np.asarray(P, dtype=np.float64)
    if P.ndim != 2 or P.shape[0] != P.shape[1]:
        raise ValueError(f"P must be a square matrix, got shape {P.shape}")
    if (P < 0).any() or not np.allclose(P.sum(axis=1), 1.0):
        raise ValueError("P must be row-stochastic")
    m = P.shape[0]
    a = P.T - np.eye(m)
    a[-1, :] = 1.0
    b = np.zeros(m)
    b[-1] = 1.0
    return np.linalg.solve(a, b)


def simulate_chain(
    P: np.ndarray, state0: int | np.ndarray, n_steps: int, rng: np.random.Generator
) -> np.ndarray:
    """Simulate Markov chains with (cyclic) time-varying transition matrices.

    Step ``i`` (``i = 1 .. n_steps``) uses ``P[(i - 1) % n]`` for a stack of ``n``
    matrices, or ``P`` itself for one matrix.

    Parameters
    ----------
    P : ndarray of shape (n, m, m) or (m, m)
        Row-stochastic matrices.
    state0 : int or ndarray of int of shape (n_chains,)
        Initial state(s).
    n_steps : int
        Number of transitions.
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of int8 of shape (n_steps + 1,) or (n_steps + 1, n_chains)
        States; row 0 is ``state0``. Time is axis 0.
    """
    P = np.asarray(P, dtype=np.float64)
    if P.ndim == 2:
        P = P[None]
    if P.ndim != 3 or P.shape[1] != P.shape[2]:
        raise ValueError(f"P must have shape (n, m, m) or (m, m), got {P.shape}")
    m = P.shape[1]
    if m > 127:
        raise ValueError("at most 127 states")
    if n_steps < 0:
        raise ValueError("n_steps must be >= 0")
    scalar = np.ndim(state0) == 0
    s = np.atleast_1d(np.asarray(state0, dtype=np.int64)).copy()
    if ((s < 0) | (s >= m)).any():
        raise ValueError(f"states must lie in [0, {m})")
    cum = np.cumsum(P, axis=2)
    cum[:, :, -1] = 1.0
    out = np.empty((n_steps + 1, s.size), dtype=np.int8)
    out[0] = s
    u = rng.random((n_steps, s.size))
    n = P.shape[0]
    for i in range(n_steps):
        c = cum[i % n][s]  # (n_chains, m)
        s = (u[i][:, None] >= c).sum(axis=1)
        out[i + 1] = s
    return out[:, 0] if scalar else out


# -- household trips ------------------------------------------------------------------------


class TripDays:
    """Whole-household trips of ``n`` homes: a two-state Markov chain over local days.

    Day ``d`` is a trip day with probability ``1 - 1 / m`` after a trip day and
    ``s / (m (1 - s))`` after a day at home (``s = trip_share``, ``m = trip_mean_days``),
    so spells of trip days have a geometric length of mean ``m`` and the chain's
    stationary share of trip days is ``s``. The day before the first one is drawn from
    the stationary distribution, so a run may start in the middle of a trip. Days are
    drawn lazily and always in day order (one uniform per home and day from ``rng``), so
    the draws do not depend on who asks first or how far ahead.

    Parameters
    ----------
    params : sequence of OccupancyParams
        One per home: its ``trip_share``, ``trip_mean_days``, ``trip_leave_h`` and
        ``trip_return_h``.
    rng : numpy.random.Generator
        The trips' own stream.
    first_day : int
        The first local day queried (days since 1970-01-01, local).

    Examples
    --------
    >>> trips = TripDays([OccupancyParams(trip_share=0.2, trip_mean_days=4)], np.random.default_rng(1), 0)
    >>> share = np.mean([trips.on_trip(d)[0] for d in range(20_000)])
    >>> bool(abs(share - 0.2) < 0.02)
    True
    """

    def __init__(self, params: list[OccupancyParams], rng: np.random.Generator, first_day: int) -> None:
        share = np.array([p.trip_share for p in params], dtype=np.float64)
        mean = np.array([p.trip_mean_days for p in params], dtype=np.float64)
        self.leave_h = np.array([p.trip_leave_h for p in params], dtype=np.float64)
        self.return_h = np.array([p.trip_return_h for p in params], dtype=np.float64)
        self._p_stay = 1.0 - 1.0 / mean
        self._p_start = share / (mean * (1.0 - share))
        self._rng = rng
        self._first = int(first_day) - 1
        self._days = [rng.random(share.size) < share]  # the day before the first

    def on_trip(self, day: int) -> np.ndarray:
        """Whether each home is on a trip on local ``day``, bool of shape (n,)."""
        i = int(day) - self._first
        if i < 0:
            raise ValueError(f"day {day} is before the first day {self._first + 1}")
        while len(self._days) <= i:
            prev = self._days[-1]
            u = self._rng.random(prev.size)
            self._days.append(np.where(prev, u < self._p_stay, u < self._p_start))
        return self._days[i]

    def away(self, day: int, hour: float | np.ndarray) -> np.ndarray:
        """Whether each home's household is away on a trip at local ``hour`` [h] of ``day``.

        On a spell's first day from ``trip_leave_h``, on its last day until
        ``trip_return_h``, all day in between. ``hour`` is a scalar or one per home.
        """
        today, before, after = self.on_trip(day), self.on_trip(day - 1), self.on_trip(day + 1)
        return today & (before | (hour >= self.leave_h)) & (after | (hour < self.return_h))


def trip_log_process(
    env: Any, clock: LocalClock, trips: TripDays, log: Callable[..., Any],
) -> Generator[Any, Any, None]:
    """SimPy process logging a home's trips (home 0 of ``trips``) as ground truth.

    At each local midnight where a trip leaves that day (and at the start, for a trip under
    way), calls ``log(category="occupancy", type="household_trip", start_s=, end_s=,
    days=)`` with the engine times [s] of leaving (``env.now`` for a trip under way) and of
    return, and the number of local days the trip touches (from the run's first day for a
    trip under way). One SimPy event per day.
    """
    t = float(env.now)
    m0 = clock.midnight_at_or_before(t + 1e-3)
    day = clock.local_day(t + 1e-3)
    first = True
    while True:
        leaves_today = not trips.on_trip(day - 1)[0]
        if trips.on_trip(day)[0] and (first or leaves_today):
            last = day
            while trips.on_trip(last + 1)[0]:
                last += 1
            m_last = m0
            for _ in range(last - day):
                m_last = clock.next_local_midnight(m_last + 1.0)
            start = clock.at_local_hour(m0, float(trips.leave_h[0])) if leaves_today else m0
            end = clock.at_local_hour(m_last, float(trips.return_h[0]))
            if end > t:
                log(category="occupancy", type="household_trip", start_s=max(start, t), end_s=end,
                    days=int(last - day + 1))
        first = False
        m0 = clock.next_local_midnight(m0 + 1.0)
        day += 1
        yield env.timeout(m0 - env.now)


def _slot_of(clock: LocalClock, t_s: float) -> int:
    # A millisecond inside the slot: boundary times are exact only up to round-off.
    return int(clock.hour_of_day(t_s + 1e-3) * (SLOTS_PER_DAY / 24.0)) % SLOTS_PER_DAY
