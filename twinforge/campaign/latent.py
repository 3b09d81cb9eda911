"""Every random input of a run as independent standard normals, and importance sampling there.

**The latent space.** Every random input of a run is a vector :math:`\\mathbf u` of
independent standard normals (:class:`LatentSpace`): the synthetic weather generator's 73
normals per day (``WeatherTilt.normals``: the generator uses them in place of its own
draws), and for each event type one normal for the Poisson count of onsets in the window,
:math:`K` slots of (onset, duration, severity) normals mapped through the natural laws'
quantile functions (:math:`F^{-1}(\\Phi(u))`, the models' own inverse-CDF samplers), and
the same for the events in progress when the window opens (one normal for their count,
then per slot its age, total duration and severity: the age :math:`a` by inversion of the
cumulative of :math:`\\lambda(t_0 - a) P(D > a)`, tabulated on :data:`AGE_GRID` points, the
duration from the lognormal law given :math:`D > a`). :math:`K` is the count's
:math:`1 - 10^{-9}` quantile: a count beyond it is truncated to :math:`K`, an event of
probability below :math:`10^{-9}` per type and kind (:attr:`LatentSpace.truncation` bounds
the bias it can cause). Every mark is a continuous function of its normals, so a small
move of a chain is a small change of its run. Whatever randomness is left outside :math:`\\mathbf u` (the twin's own noise,
``[parameters]`` laws, diversity, the weather past the latent days) comes from each run's
own stream, redrawn at every proposal: an independence proposal for those components,
which leaves the chains reversible with respect to the natural law (the product of a
reversible kernel on :math:`\\mathbf u` and the natural law on the rest is reversible for
the product law), efficient only if the outcome depends on them weakly.

Subset simulation (:mod:`twinforge.campaign.subset`) runs Markov chains in this space;
:func:`latent_cross_entropy` (below) samples it by importance sampling.

**Cross-entropy importance sampling with a Gaussian mean shift** (Rubinstein & Kroese 2004,
*The Cross-Entropy Method*, doi:10.1007/978-1-4757-4321-0; Geyer, Papaioannou & Straub 2019,
"Cross entropy-based importance sampling using Gaussian densities revisited", Structural
Safety 76, doi:10.1016/j.strusafe.2018.07.001). The proposal is
:math:`q_\\theta = N(\\theta, I_d)` on :math:`\\mathbf u`; a run's weight is the exact ratio

.. math::  \\ln w(\\mathbf u) = \\ln \\frac{\\varphi_d(\\mathbf u)}{\\varphi_d(\\mathbf u - \\theta)}
           = -\\theta \\cdot \\mathbf u + \\tfrac12 |\\theta|^2,

whose spread under :math:`q_\\theta` is :math:`|\\theta|` whatever the dimension. In stages of
:math:`n` runs: stage 0 samples the natural law (:math:`\\theta = 0`); the level
:math:`\\gamma_k = \\min(u, Y_{(1-\\rho)})`; the elite :math:`Y_i \\ge \\gamma_k`; the
cross-entropy update of a Gaussian mean is the weighted mean of the elite,
:math:`\\bar{\\mathbf u} = \\sum_{\\rm elite} W_i \\mathbf u_i / \\sum_{\\rm elite} W_i`, smoothed
:math:`\\theta \\leftarrow \\alpha \\theta_{new} + (1 - \\alpha) \\theta`; adaptation stops after
the update at :math:`\\gamma_k = u` (the final proposal).

**Shrinkage.** :math:`\\bar{\\mathbf u}` is a mean of a few tens of elite runs in a few
hundred dimensions: its noise :math:`\\varepsilon` costs a factor :math:`e^{|\\varepsilon|^2}`
in the weights' second moment (:math:`E_q[w^2 1_F]` grows with :math:`e^{|\\theta|^2}`), about
:math:`e^{d/n_e}` for :math:`n_e` elite runs, and most coordinates (the weather's wind and
hourly cloud draws, the events' unused slots) do not matter. The update is therefore
shrunk towards 0 block by block (positive-part James-Stein, Efron & Morris 1973,
doi:10.1080/01621459.1973.10481356, on the blocks :math:`G` of :attr:`LatentSpace.groups`:
each weather day's 24 anomaly, 1 clear-sky, 24 cloud and 24 wind draws, each event kind's
count and each slot's marks):
:math:`\\theta_{new,G} = \\bar{\\mathbf u}_G \\max(0, 1 - c^2 \\sum_{k \\in G} s_k^2 / |\\bar{\\mathbf u}_G|^2)`,
with :math:`s_k^2 = \\hat\\sigma_k^2 / n_e^*` the elite's spread of coordinate :math:`k` over
Kish's effective size of the elite weights (the delta-method variance collapses when one
weight dominates) and :math:`c` = ``shrinkage`` (1 by default; 0: none). A block whose
elite mean is within its noise is not shifted at all; a block of pure noise keeps on
average a small fraction of it. Measured on a 300-dimensional Gaussian tail whose outcome
depends on 10 coordinates: the unshrunk shift carries noise of norm 10-14 and estimates off
by 7 to 25 orders of magnitude, the shrunk one 0.3-0.4 and estimates within their CoV
(``tests/campaign/test_latent.py``).

**Several ways to the outcome** (``components`` :math:`K > 1`, the Gaussian mixture of Geyer et al. 2019).
One mean shift sits between failure domains that are apart (a heat wave already in
progress or one starting in the window; a peak on one day or another) and misses part of
the probability with an interval that does not say so. The mixture
:math:`q = \\sum_k \\pi_k N(\\mu_k, I)` has the exact weight
:math:`\\ln w = -\\ln \\sum_k \\pi_k \\exp(\\mu_k \\cdot \\mathbf u - |\\mu_k|^2/2)`; its
cross-entropy update is the weighted maximum likelihood of the mixture on the elite, by EM
(responsibilities :math:`r_{ik} \\propto \\pi_k \\exp(\\mu_k \\cdot \\mathbf u_i - |\\mu_k|^2/2)`,
:math:`\\pi_k \\propto \\sum_i W_i r_{ik}`, :math:`\\mu_k` the block-shrunk mean with weights
:math:`W_i r_{ik}`), started by weighted k-means++ on the coordinates the shrunk mean keeps
(:func:`_mixture_update`). With equal identity covariances the responsibilities depend on
:math:`\\mu_k \\cdot \\mathbf u`, not on distances in all :math:`d` dimensions.

**Estimate.** Once the final proposal is set, batches are drawn from it until the
coefficient of variation of :math:`\\hat p = \\frac1n \\sum w_i 1\\{Y_i > u\\}` reaches
``target_cov`` or the run budget is spent; the estimate is plain importance sampling over
those batches only (the proposal is fixed before they are drawn: unbiased), with the interval
and effective sample size of :func:`~twinforge.campaign.estimators.weighted_probability`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from twinforge.campaign.campaign import _MAX_DURATION_H, CampaignSpec, plan_run
from twinforge.campaign.estimators import Estimate, weighted_probability
from twinforge.core.registry import EVENTS
from twinforge.core.rng import RngStreams
from twinforge.events.base import ScheduledEvent
from twinforge.events.natural import NaturalModel, make_events
from twinforge.processes.weather import WeatherTilt

__all__ = [
    "AGE_GRID", "CHUNKS_PER_WORKER", "LatentCEResult", "LatentSpace", "LatentStage", "PlanSimulator", "TRUNCATION",
    "latent_ce_sampling", "latent_cross_entropy", "log_weight", "plan_simulator", "write_summary",
]

#: Probability of the event counts cut at their slots' number K (per type and kind).
TRUNCATION = 1e-9
_WEATHER_DRAWS = 73
#: Points of the tabulated cumulative law of the age of an event in progress.
AGE_GRID = 8193


# --------------------------------------------------------------------------- the latent space of a campaign


class _Given:
    """A stand-in for a generator that serves one given array to one ``random`` or ``standard_normal`` call."""

    def __init__(self, values: np.ndarray, kind: str) -> None:
        self.values, self.kind = values, kind

    def _take(self, kind: str, n: int) -> np.ndarray:
        if kind != self.kind or n != self.values.size:
            raise ValueError("a natural sampler asked for other draws than its quantile-function path "
                             "(onsets far from the season's peak are drawn by rejection): subset simulation "
                             "cannot map this event model to standard normals")
        return self.values

    def random(self, n: int) -> np.ndarray:
        return self._take("random", n)

    def standard_normal(self, n: int) -> np.ndarray:
        return self._take("standard_normal", n)


def _slots(mean: float) -> int:
    """Slots of a Poisson count of ``mean``: its ``1 - TRUNCATION`` quantile (0 for a zero mean)."""
    return int(stats.poisson.isf(TRUNCATION, mean)) if mean > 0 else 0


def _count(u: float, mean: float, slots: int) -> int:
    """Poisson(``mean``) count of the normal ``u`` by inversion, cut at ``slots``."""
    if slots == 0:
        return 0
    return min(int(stats.poisson.isf(special.ndtr(-u), mean)), slots)


class LatentSpace:
    """Every random input of a campaign's run as a vector of independent standard normals.

    Layout: the weather generator's 73 normals per day for ``weather_days`` days (0 if the
    twin has no per-run synthetic weather), then per event type (sorted by name): the count
    of onsets in the window, ``slots`` x (onset, duration, severity), then the count of
    events in progress at the start and ``slots_in_progress`` x (age, total duration,
    severity). See the module docstring.
    """

    def __init__(self, campaign: CampaignSpec) -> None:
        from twinforge.campaign.adaptive import check_weather_adaptable, weather_days

        s = campaign.scenario
        self.campaign = campaign
        try:
            check_weather_adaptable(campaign)
            # one day more than the window's blocks: the interpolation may reach the next day's first knot
            self.weather_days = weather_days(campaign) + 1
        except ValueError:
            self.weather_days = 0
        self.types: list[tuple[str, NaturalModel, float, int, float, int]] = []
        for name in sorted(campaign.events):
            m = campaign.events[name]
            lam, lam_c = m.expected_count(s.start, s.days), m.in_progress_count(s.start)
            self.types.append((name, m, lam, _slots(lam), lam_c, _slots(lam_c)))
        self._ages: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    @property
    def dimension(self) -> int:
        return self.weather_days * _WEATHER_DRAWS + sum(1 + 3 * k + (1 + 3 * kc if kc else 0)
                                                         for _, _, _, k, _, kc in self.types)

    @property
    def labels(self) -> tuple[str, ...]:
        """A name for each coordinate, in the layout's order (``weather d1 h05 anomaly``, ``heat_wave 0 severity``...)."""
        names = [f"weather d{d} " + (f"h{i:02d} anomaly" if i < 24 else "clearness" if i == 24
                                     else f"h{i - 25:02d} cloud" if i < 49 else f"h{i - 49:02d} wind")
                 for d in range(self.weather_days) for i in range(_WEATHER_DRAWS)]
        for name, _m, _lam, k, _lam_c, kc in self.types:
            names.append(f"{name} count")
            names.extend(f"{name} {j} {mark}" for j in range(k) for mark in ("onset", "duration", "severity"))
            if kc:
                names.append(f"{name} in-progress count")
                names.extend(f"{name} in-progress {j} {mark}" for j in range(kc) for mark in ("age", "duration", "severity"))
        return tuple(names)

    @property
    def groups(self) -> np.ndarray:
        """Block of each coordinate for the cross-entropy shrinkage: per weather day its 24 anomaly
        draws, its clear-sky normal, its 24 cloud and its 24 wind draws; per event type and kind
        its count, then each slot's three marks."""
        day = np.repeat([0, 1, 2, 3], [24, 1, 24, 24])
        out = [4 * d + day for d in range(self.weather_days)]
        g = 4 * self.weather_days
        for _name, _m, _lam, k, _lam_c, kc in self.types:
            for slots in (k, kc) if kc else (k,):
                out.append(np.concatenate([[g], g + 1 + np.repeat(np.arange(slots), 3)]))
                g += 1 + slots
        return np.concatenate(out).astype(np.int64) if out else np.zeros(0, dtype=np.int64)

    @property
    def truncation(self) -> float:
        """Upper bound of the natural probability that some count exceeds its slots (the bias bound)."""
        return float(sum(stats.poisson.sf(k, lam) + (stats.poisson.sf(kc, lam_c) if lam_c > 0 else 0.0)
                         for _, _, lam, k, lam_c, kc in self.types))

    def weather(self, u: np.ndarray) -> WeatherTilt | None:
        """The weather's given normals of the latent vector ``u`` (None without weather)."""
        k = self.weather_days * _WEATHER_DRAWS
        return WeatherTilt(normals=tuple(float(x) for x in u[:k])) if k else None

    def events(self, u: np.ndarray) -> list[dict[str, Any]]:
        """The event marks of the latent vector ``u`` (natural law; ``sample_events``'s dicts), by onset."""
        s = self.campaign.scenario
        pos = self.weather_days * _WEATHER_DRAWS
        out: list[dict[str, Any]] = []
        for _name, m, lam, k, lam_c, kc in self.types:
            n = _count(float(u[pos]), lam, k)
            slot = u[pos + 1 : pos + 1 + 3 * k].reshape(k, 3)[:n]
            pos += 1 + 3 * k
            if n:
                t = m.sample_onsets(n, s.start, s.days, _Given(special.ndtr(slot[:, 0]), "random"))
                d = m.sample_durations(n, _Given(slot[:, 1].copy(), "standard_normal"))
                sev = m.sample_severities(n, _Given(special.ndtr(slot[:, 2]), "random"))
                out.extend(make_events(m.type, s.start, t, d, sev))
            if kc:
                nc = _count(float(u[pos]), lam_c, kc)
                slot_c = u[pos + 1 : pos + 1 + 3 * kc].reshape(kc, 3)[:nc]
                pos += 1 + 3 * kc
                if nc:
                    out.extend(self._in_progress(m, slot_c))
        return sorted(out, key=lambda e: (e["start"], e["type"]))

    def _in_progress(self, m: NaturalModel, slot: np.ndarray) -> list[dict[str, Any]]:
        """Events in progress at the start from (age, duration, severity) normals.

        The age :math:`a` [day] has the density :math:`\\propto \\lambda(t_0 - a) P(D > 24a)`
        on the lookback (inverted on its tabulated cumulative, :data:`AGE_GRID` points, uniform
        within each), the total duration [h] the lognormal law given :math:`D > 24a`
        (:math:`D = S^{-1}(\\Phi(v) S(24a))`, scipy's ``isf``): the joint law of
        :meth:`~twinforge.events.natural.NaturalModel.sample_in_progress`, continuous in the normals.
        """
        ages, cum = self._age_table(m)
        a = np.interp(special.ndtr(slot[:, 0]) * cum[-1], cum, ages)  # [day]
        dur = stats.lognorm(m.duration_sigma, scale=m.duration_median_h)
        total = dur.isf(special.ndtr(slot[:, 1]) * dur.sf(24.0 * a))
        sev = m.sample_severities(len(slot), _Given(special.ndtr(slot[:, 2]), "random"))
        key = getattr(EVENTS.get(m.type), "in_progress_param", None) if m.type in EVENTS else None
        start = self.campaign.scenario.start
        return [
            {"type": m.type, "start": start, "duration_h": float(d - 24.0 * x), "severity": float(v),
             "in_progress": True, "elapsed_h": float(24.0 * x), "params": {key: float(24.0 * x)} if key else {}}
            for x, d, v in zip(a, total, sev)
        ]

    def _age_table(self, m: NaturalModel) -> tuple[np.ndarray, np.ndarray]:
        """Ages [day] on the lookback and the unnormalised cumulative of their density at them."""
        if m.type not in self._ages:
            start = self.campaign.scenario.start
            ages = np.linspace(0.0, m.lookback_days(), AGE_GRID)
            mid = 0.5 * (ages[1:] + ages[:-1])
            rate = np.asarray(m.intensity(start - pd.to_timedelta(mid, unit="D")), dtype=np.float64)
            dens = rate * stats.lognorm.sf(24.0 * mid, m.duration_sigma, scale=m.duration_median_h)
            self._ages[m.type] = (ages, np.concatenate([[0.0], np.cumsum(dens * np.diff(ages))]))
        return self._ages[m.type]

    @classmethod
    def of_estimator(cls, campaign: CampaignSpec, method: str) -> LatentSpace:
        """The latent space of ``campaign`` for the estimator ``method`` (its name in errors).

        Raises
        ------
        ValueError
            A campaign of counterfactual pairs, or one without any event model or per-run
            synthetic weather (nothing to sample).
        """
        if campaign.counterfactual:
            raise ValueError(f"counterfactual: {method} estimates one outcome per run; use a campaign without pairs")
        space = cls(campaign)
        if space.dimension == 0:
            raise ValueError("events: the campaign has no event model and no per-run synthetic weather to sample")
        return space

    def outcome(self, simulate: Callable[[CampaignSpec, int, str, list], np.ndarray], seed: int,
                stream: str) -> Callable[[np.ndarray, str], np.ndarray]:
        """``outcome(U, label)`` -> the simulated outcome of each latent row of ``U``: the batch
        ``label`` runs under :func:`~twinforge.campaign.adaptive.derived_seed`
        ``(seed, "<stream>/batch/<label>")``."""
        from twinforge.campaign.adaptive import derived_seed

        def outcome(u: np.ndarray, label: str) -> np.ndarray:
            s = derived_seed(seed, f"{stream}/batch/{label}")
            stage, plans = self.plans(u, s)
            return np.asarray(simulate(stage, s, label, plans), dtype=np.float64)

        return outcome

    def with_notes(self, notes: tuple[str, ...]) -> tuple[str, ...]:
        """``notes`` and, when the event counts' truncation can matter, a note of its bias bound."""
        if self.truncation > 1e-12:
            return (*notes, f"event counts cut at their 1 - {TRUNCATION:g} quantile: bias at most {self.truncation:.1g}")
        return tuple(notes)

    def plans(self, u: np.ndarray, seed: int) -> tuple[CampaignSpec, list]:
        """The natural campaign of ``len(u)`` runs under ``seed`` and its plans, with the
        events and weather draws of the latent rows ``u`` (everything else from each run's stream)."""
        data = self.campaign.to_json_dict()
        data.update(runs=int(u.shape[0]), seed=seed, sampler="natural", proposal={}, counterfactual=False,
                    classes={}, design=None)
        stage = CampaignSpec.from_json_dict(data)
        # the plans' events come from u: planned without the event models, whose natural draws
        # (a third of the planning time) would be replaced; the parameters' streams are their own
        bare = CampaignSpec.from_json_dict({**data, "events": {}})
        plans = []
        for i, row in enumerate(u):
            plan = plan_run(bare, seed, i)
            events = tuple(
                ScheduledEvent(type=e["type"], start=e["start"], duration_h=min(e["duration_h"], _MAX_DURATION_H),
                               severity=e["severity"], params=e.get("params", {}))
                for e in self.events(row)
            )
            config = plan.config
            tilt = self.weather(row)
            if tilt is not None:
                config = config.model_copy(update={"weather": config.weather.model_copy(update={"tilt": tilt})})
            plans.append(dataclasses.replace(plan, events=events, config=config, weight=1.0, log_weight=0.0))
        return stage, plans


#: Tasks per worker process (or Dask thread) a batch of plans is cut into: few enough that
#: pickling costs little against the runs, enough to even out runs of unequal length.
CHUNKS_PER_WORKER = 4


def plan_simulator(column: str, stat: str = "max", *, workers: int = 1, scheduler: str | None = None,
                   client: Any = None) -> PlanSimulator:
    """A simulator of explicit plans: ``stat`` of the samples column ``column`` of each run.

    Runs each plan through its twin (as ``campaign run`` would) without writing a dataset:
    the runs of a Markov chain or of a latent proposal are not a campaign of the natural
    law, so they are not written as one; only each run's statistic comes back. ``stat`` is
    one of :data:`~twinforge.campaign.analysis.STATS`.

    Parameters
    ----------
    column, stat : str
        The samples column and its per-run statistic.
    workers : int
        1: the runs one after the other in this process; N > 1: N local worker processes
        (:func:`~twinforge.campaign.executor.local_pool`: the pool of ``campaign run``),
        started at the first batch and kept until :meth:`PlanSimulator.close`. Ignored with a
        scheduler or a client.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``), checked here
        (:func:`~twinforge.campaign.executor.connect_scheduler`); the client is closed by
        :meth:`PlanSimulator.close`. Dask uses pickle: use only a scheduler you trust.
    client : dask.distributed.Client, optional
        An existing client to submit to instead (not closed here).

    Each batch is cut into at most :data:`CHUNKS_PER_WORKER` tasks per worker (contiguous
    plans); the outcomes come back in plan order and, since a run's randomness comes from its
    plan and seed only, are the same bit for bit whatever the workers or the scheduler. A run
    that fails stops the batch with a :class:`RuntimeError` naming it (``run I of batch
    LABEL``). Use it as a context manager (or call ``close``) to end the workers.
    """
    from twinforge.campaign.analysis import STATS
    from twinforge.campaign.executor import connect_scheduler

    if stat not in STATS:
        raise ValueError(f"stat must be one of {', '.join(STATS)}, got {stat!r}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    own = None
    if client is None and scheduler is not None:
        client = own = connect_scheduler(scheduler)
    return PlanSimulator(column, stat, workers, client, own)


class PlanSimulator:
    """``simulate(stage, seed, label, plans)`` -> ``stat`` of ``column`` of each plan's run, in
    order (made by :func:`plan_simulator`); in this process, local worker processes or on Dask."""

    def __init__(self, column: str, stat: str, workers: int, client: Any, own_client: Any) -> None:
        self.column, self.stat, self.workers, self.client = column, stat, workers, client
        self._own_client = own_client
        self._pool: Any = None

    @property
    def executor(self) -> str:
        """``serial``, ``N processes`` or ``dask ADDRESS``."""
        if self.client is not None:
            return f"dask {self.client.scheduler.address}"
        return "serial" if self.workers == 1 else f"{self.workers} processes"

    def __call__(self, stage: CampaignSpec, seed: int, label: str, plans: list) -> np.ndarray:
        from twinforge.campaign.executor import _run_dask, _run_processes, dask_slots, local_pool

        spec = stage.scenario.model_copy(update={"seed": seed})
        if self.client is None and self.workers == 1:
            return np.array(_plan_outcomes(spec, plans, self.column, self.stat, label), dtype=np.float64)
        slots = dask_slots(self.client) if self.client is not None else self.workers
        n = len(plans)
        k = min(n, CHUNKS_PER_WORKER * slots)
        edges = [n * i // k for i in range(k + 1)] if k else [0]
        spec_json = spec.to_json_dict()
        tasks = ((spec_json, [p.to_json() for p in plans[a:b]], self.column, self.stat, label, a)
                 for a, b in zip(edges[:-1], edges[1:]))
        if self.client is not None:
            results = _run_dask(_plan_outcomes_task, tasks, self.client)
        else:
            if self._pool is None:
                self._pool = local_pool(self.workers)
            results = _run_processes(_plan_outcomes_task, tasks, self.workers, pool=self._pool)
        out = np.empty(n, dtype=np.float64)
        for a, values in results:
            out[a : a + len(values)] = values
        return out

    def close(self, *, now: bool = False) -> None:
        """End the worker processes (``now``: without waiting for the runs in progress) and
        close the client made from a scheduler address."""
        from twinforge.campaign.executor import stop_pool

        pool, self._pool = self._pool, None
        if pool is not None and now:
            stop_pool(pool)
        elif pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        own, self._own_client = self._own_client, None
        if own is not None:
            own.close()

    def __enter__(self) -> PlanSimulator:
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        self.close(now=exc_type is not None)  # a failed run or Ctrl-C: the other runs are not needed


def _plan_outcomes(spec: Any, plans: list, column: str, stat: str, label: str) -> list[float]:
    """``stat`` of ``column`` of each plan's run of ``spec`` (the one computation of every executor)."""
    from twinforge.campaign.runner import _start_run

    reduce = getattr(np, f"nan{stat}")
    grid = spec.grid()
    out = []
    for plan in plans:
        try:
            _twin, _grid, blocks = _start_run(spec, plan, grid)
            x = np.concatenate([np.asarray(b.samples[column], dtype=np.float64) for b in blocks])
        except Exception as exc:
            why = (str(exc).strip().splitlines() or [""])[0]
            raise RuntimeError(f"run {plan.run_id} of batch {label} failed: {type(exc).__name__}: {why}") from exc
        out.append(float(reduce(x)))
    return out


def _plan_outcomes_task(spec_json: dict[str, Any], plan_jsons: list[dict[str, Any]], column: str, stat: str,
                        label: str, start: int) -> tuple[int, list[float]]:
    """A chunk of plans in a worker (a local process or a Dask worker): ``(start, outcomes)``."""
    from twinforge.campaign.campaign import load_twins
    from twinforge.campaign.runner import RunPlan
    from twinforge.campaign.spec import GenerateSpec
    from twinforge.core.registry import TWINS

    load_twins()
    spec = GenerateSpec.from_data(spec_json)
    config = TWINS.get(spec.twin).Config
    return start, _plan_outcomes(spec, [RunPlan.from_json(p, config) for p in plan_jsons], column, stat, label)


# --------------------------------------------------------------------------- cross-entropy in the latent space


def log_weight(u: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """:math:`\\ln N(u; 0, I) - \\ln N(u; \\theta, I) = -\\theta \\cdot u + |\\theta|^2 / 2` of each row of ``u``."""
    u = np.asarray(u, dtype=np.float64)
    theta = np.asarray(theta, dtype=np.float64)
    return -(u @ theta) + 0.5 * float(theta @ theta)


def mixture_log_weight(u: np.ndarray, means: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """:math:`\\ln N(u; 0, I) - \\ln \\sum_k \\pi_k N(u; \\mu_k, I)
    = -\\ln \\sum_k \\pi_k \\exp(\\mu_k \\cdot u - |\\mu_k|^2 / 2)` of each row of ``u``."""
    if probs.size == 1:
        return log_weight(u, means[0])
    logs = np.log(probs)[None, :] + np.asarray(u, dtype=np.float64) @ means.T - 0.5 * np.sum(means**2, axis=1)[None, :]
    return -special.logsumexp(logs, axis=1)


#: EM iterations of a mixture update.
EM_ITERATIONS = 30
#: A mixture component whose elite weight share falls below this is dropped.
MIN_COMPONENT_SHARE = 0.02


def _mixture_update(u: np.ndarray, w: np.ndarray, means: np.ndarray, probs: np.ndarray, components: int,
                    shrinkage: float, groups: np.ndarray, smoothing: float, rng: np.random.Generator,
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Weighted EM of :math:`\\sum_k \\pi_k N(\\mu_k, I)` on the elite rows ``u`` (weights ``w``).

    Started from the current components once there are several; from the natural law (one
    component), from ``components`` elite rows picked by weighted k-means++ (Arthur &
    Vassilvitskii 2007) on the coordinates the shrunk elite mean keeps, each start the
    shrunk mean plus half the row's deviation there. Each M step's mean is shrunk per block
    (:func:`_elite_mean` with the component's weights :math:`W_i r_{ik}`); components below
    :data:`MIN_COMPONENT_SHARE` of the weight are dropped; then smoothed with the current
    components (matched in order, the new ones against the current mixture's mean).
    """
    n, d = u.shape
    m0 = _elite_mean(u, w, shrinkage, groups)
    fresh = means.shape[0] == 1
    if fresh:
        active = np.isin(groups, np.unique(groups[m0 != 0.0]))
        x = u[:, active]
        k = min(components, n)
        centres = [int(np.argmax(w))]
        for _ in range(1, k):
            d2 = np.min(((x[:, None, :] - x[centres][None, :, :]) ** 2).sum(axis=2), axis=1)
            score = w * d2
            if score.sum() <= 0.0:
                break
            centres.append(int(rng.choice(n, p=score / score.sum())))
        mu = np.repeat(m0[None, :], len(centres), axis=0)
        mu[:, active] += 0.5 * (x[centres] - m0[active])
        pi = np.full(len(centres), 1.0 / len(centres))
    else:
        mu, pi = means.copy(), probs.copy()
    for _ in range(EM_ITERATIONS):
        logs = np.log(pi)[None, :] + u @ mu.T - 0.5 * np.sum(mu**2, axis=1)[None, :]
        r = np.exp(logs - special.logsumexp(logs, axis=1, keepdims=True))
        wr = w[:, None] * r
        share = wr.sum(axis=0) / w.sum()
        keep = share >= MIN_COMPONENT_SHARE
        if not keep.any():
            keep[np.argmax(share)] = True
        new_mu = np.array([_elite_mean(u, wr[:, j], shrinkage, groups) for j in np.flatnonzero(keep)])
        new_pi = share[keep] / share[keep].sum()
        converged = new_mu.shape == mu.shape and np.max(np.abs(new_mu - mu)) < 1e-6
        mu, pi = new_mu, new_pi
        if not fresh:
            means, probs = means[keep], probs[keep]
        if converged:
            break
    old = np.repeat(means[:1], mu.shape[0], axis=0) if fresh else means
    old_pi = np.full(pi.size, 1.0 / pi.size) if fresh else probs / probs.sum()
    return smoothing * mu + (1.0 - smoothing) * old, smoothing * pi + (1.0 - smoothing) * old_pi


@dataclass(frozen=True)
class LatentStage:
    """One batch of runs drawn from :math:`\\sum_k \\pi_k N(\\mu_k, I)` in the latent space
    (one component: :math:`N(\\theta, I)`)."""

    index: int
    level: float  # the intermediate level gamma_k (the threshold for final batches)
    means: np.ndarray  # (K, d): mu_k of the proposal the batch was drawn from
    probs: np.ndarray  # (K,): pi_k
    values: np.ndarray
    log_weights: np.ndarray
    final: bool

    @property
    def runs(self) -> int:
        return int(self.values.size)

    @property
    def shift(self) -> np.ndarray:
        """The proposal's mean :math:`\\sum_k \\pi_k \\mu_k` (:math:`\\theta` with one component)."""
        return self.probs @ self.means

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "runs": self.runs, "level": self.level, "final": self.final,
                "components": [{"prob": float(p), "norm": float(np.linalg.norm(m)), "shifted": int(np.count_nonzero(m))}
                               for p, m in zip(self.probs, self.means)],
                "hits_or_elite": int(np.sum(self.values >= self.level))}


@dataclass(frozen=True)
class LatentCEResult:
    """What :func:`latent_ce_sampling` (or :func:`latent_cross_entropy`) did, and its estimate."""

    threshold: float
    stages: tuple[LatentStage, ...]
    estimate: Estimate
    stopped: str
    notes: tuple[str, ...] = field(default=())
    dimension: int = 0
    labels: tuple[str, ...] = field(default=())  # name of each latent coordinate (campaigns only)

    @property
    def runs(self) -> int:
        """Runs simulated in all stages."""
        return sum(s.runs for s in self.stages)

    @property
    def shift(self) -> np.ndarray:
        """The final proposal's mean (:math:`\\theta` with one component)."""
        return self.stages[-1].shift

    @property
    def log_weight_sd_hits(self) -> float:
        """Standard deviation of :math:`\\ln w` over the final batches' runs above the threshold (nan below 2)."""
        lw = np.concatenate([s.log_weights[s.values > self.threshold] for s in self.stages if s.final])
        return float(np.std(lw, ddof=1)) if lw.size > 1 else math.nan

    def top_shifts(self, k: int = 8) -> list[tuple[str, float]]:
        """The ``k`` largest coordinates of the final shift (by magnitude), with their labels."""
        th = self.shift
        order = np.argsort(-np.abs(th), kind="stable")[:k]
        names = self.labels or tuple(f"u[{i}]" for i in range(th.size))
        return [(names[i], float(th[i])) for i in order if th[i] != 0.0]

    def to_json(self) -> dict[str, Any]:
        e = self.estimate
        return {
            "method": "latent-cross-entropy", "threshold": self.threshold, "stopped": self.stopped, "runs": self.runs,
            "dimension": self.dimension, "notes": list(self.notes),
            "estimate": {"value": e.value, "std_error": e.std_error, "ci_low": e.ci_low, "ci_high": e.ci_high,
                         "ess": e.ess, "n": e.n, "hits": e.hits, "interval": e.interval, "level": e.level},
            "log_weight_sd_hits": _finite(self.log_weight_sd_hits),
            "shift": {"norm": float(np.linalg.norm(self.shift)), "shifted": int(np.count_nonzero(self.shift)),
                      "top": [[n, v] for n, v in self.top_shifts()], "components": int(self.stages[-1].probs.size)},
            "stages": [s.to_json() for s in self.stages],
        }

    def text(self) -> str:
        e = self.estimate
        lines = [
            f"P(Y > {self.threshold:g}) = {e.value:.4g} +/- {e.std_error:.2g} ({100 * e.level:g} % CI "
            f"{e.ci_low:.4g} .. {e.ci_high:.4g}); {e.n} runs of the final proposal, {e.hits} hit(s), ESS {e.ess:.0f}, "
            f"SD of ln w over the hits {self.log_weight_sd_hits:.2f}; {self.runs} runs in {len(self.stages)} stage(s); "
            f"stopped: {self.stopped}",
        ]
        for s in self.stages:
            kind = "final" if s.final else "adapt"
            comps = "; ".join(f"{100 * p:.0f} % |mu| {np.linalg.norm(m):.2f} over {np.count_nonzero(m)}"
                              for p, m in zip(s.probs, s.means))
            lines.append(f"  stage {s.index} ({kind}, {s.runs} runs, level {s.level:.4g}): {comps} of "
                         f"{s.means.shape[1]} coordinates")
        last = self.stages[-1]
        names = self.labels or tuple(f"u[{i}]" for i in range(last.means.shape[1]))
        for j, (p, m) in enumerate(zip(last.probs, last.means)):
            order = [i for i in np.argsort(-np.abs(m), kind="stable")[:6] if m[i] != 0.0]
            if order:
                lines.append(f"  largest shifts{f' of component {j} ({100 * p:.0f} %)' if last.probs.size > 1 else ''}: "
                             + ", ".join(f"{names[i]} {m[i]:+.2f}" for i in order))
        return "\n".join(lines)


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None


def _elite_mean(u: np.ndarray, w: np.ndarray, shrinkage: float, groups: np.ndarray) -> np.ndarray:
    """Weighted mean of the elite rows ``u`` (weights ``w``), each block of coordinates (``groups``)
    shrunk towards 0 by its signal to noise (positive-part James-Stein per block)."""
    total = float(w.sum())
    m = w @ u / total
    if shrinkage <= 0.0:
        return m
    # variance of each coordinate's weighted mean: the elite's spread over Kish's effective size
    # (robust when one weight dominates, where the delta-method variance collapses to 0)
    ess = total**2 / float(w @ w)
    s2 = (np.var(u, axis=0, ddof=1) if u.shape[0] > 1 else np.ones(u.shape[1])) / ess
    noise = np.bincount(groups, weights=s2)  # expected |noise|^2 of each block
    signal = np.bincount(groups, weights=m**2)  # |m|^2 of each block
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(signal > 0.0, np.maximum(0.0, 1.0 - shrinkage**2 * noise / signal), 0.0)
    return m * factor[groups]


def _check_ce(threshold: float, runs_per_stage: int, batch: int, elite_share: float, smoothing: float,
              shrinkage: float, target_cov: float, max_runs: int, max_stages: int, level: float) -> None:
    if not math.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number, got {threshold!r}")
    if runs_per_stage < 50 or batch < 50:
        raise ValueError(f"runs_per_stage and batch must be >= 50, got {runs_per_stage} and {batch}")
    if not 0.01 <= elite_share <= 0.5:
        raise ValueError(f"elite_share must be within [0.01, 0.5], got {elite_share}")
    if not 0.0 < smoothing <= 1.0:
        raise ValueError(f"smoothing must be within (0, 1], got {smoothing}")
    if not 0.0 <= shrinkage <= 10.0:
        raise ValueError(f"shrinkage must be within [0, 10] standard errors, got {shrinkage}")
    if not 0.0 < target_cov < 1.0:
        raise ValueError(f"target_cov must be within (0, 1), got {target_cov}")
    if not 1 <= max_stages <= 100:
        raise ValueError(f"max_stages must be within [1, 100], got {max_stages}")
    if max_runs < runs_per_stage + batch:
        raise ValueError(f"max_runs must allow a stage and a batch (>= {runs_per_stage + batch}), got {max_runs}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be within (0, 1), got {level}")


def latent_ce_sampling(
    outcome: Callable[[np.ndarray, str], np.ndarray],
    dimension: int,
    threshold: float,
    rng: np.random.Generator,
    *,
    runs_per_stage: int = 500,
    batch: int | None = None,
    elite_share: float = 0.1,
    smoothing: float = 0.7,
    shrinkage: float = 1.0,
    groups: np.ndarray | None = None,
    components: int = 1,
    reuse: bool = False,
    target_cov: float = 0.1,
    max_runs: int = 20_000,
    max_stages: int = 10,
    level: float = 0.95,
    on_stage: Callable[[LatentStage], None] | None = None,
) -> LatentCEResult:
    """Estimate :math:`P(Y(\\mathbf u) > u)`, :math:`\\mathbf u \\sim N(0, I_d)`, by cross-entropy
    importance sampling with a Gaussian mean shift (module docstring).

    Parameters
    ----------
    outcome : callable
        ``outcome(U, label)`` -> :math:`Y` of each row of ``U`` (shape (n, dimension)); ``label``
        names the batch (``stage-KK``).
    dimension : int
        :math:`d` >= 1.
    threshold : float
        :math:`u`; the outcome of interest is :math:`Y > u`.
    rng : numpy.random.Generator
        Source of the latent normals.
    runs_per_stage, batch : int
        Runs per adaptive stage and per final batch (default ``runs_per_stage``), >= 50.
    elite_share : float
        :math:`\\rho`, the share of runs above each intermediate level, in [0.01, 0.5].
    smoothing : float
        :math:`\\alpha` in (0, 1].
    shrinkage : float
        :math:`c` in [0, 10]: each block's elite mean is scaled by
        :math:`\\max(0, 1 - c^2 \\sum_{k \\in G} s_k^2 / \\sum_{k \\in G} \\bar u_k^2)` (0: no shrinkage).
    groups : array of int, optional
        Block of each coordinate (0 .. G-1) for the shrinkage; default one block (James-Stein
        on the whole vector).
    components : int
        :math:`K` in [1, 10]: 1 a mean shift :math:`N(\\theta, I)`; more a mixture
        :math:`\\sum_k \\pi_k N(\\mu_k, I)` fitted by weighted EM on the elite (module docstring).
    reuse : bool
        Fit each update on the runs of every adaptive stage so far above the current level
        (each with its exact weight under its own stage's proposal), not only the last stage's.
        The estimate still uses the final batches only.
    target_cov, max_runs : float, int
        Stopping rule of the final batches: coefficient of variation reached, or runs (all stages) spent.
    max_stages : int
        Adaptive stages at most; if the level has not reached :math:`u` by then, the last
        proposal is used anyway and a note says so.
    level : float
        Confidence level of the interval.
    on_stage : callable, optional
        Called with each :class:`LatentStage` as it is done.
    """
    batch = runs_per_stage if batch is None else batch
    _check_ce(threshold, runs_per_stage, batch, elite_share, smoothing, shrinkage, target_cov, max_runs, max_stages,
              level)
    if dimension < 1:
        raise ValueError(f"dimension must be >= 1, got {dimension}")
    if not 1 <= components <= 10:
        raise ValueError(f"components must be within [1, 10], got {components}")
    groups = np.zeros(dimension, dtype=np.int64) if groups is None else np.asarray(groups)
    if groups.shape != (dimension,) or groups.dtype.kind not in "iu" or (dimension and groups.min() < 0):
        raise ValueError(f"groups must hold one non-negative integer block per coordinate ({dimension})")

    def draw(means: np.ndarray, probs: np.ndarray, n: int, label: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if probs.size == 1:
            u = means[0] + rng.standard_normal((n, dimension))
        else:
            comp = rng.choice(probs.size, size=n, p=probs)
            u = means[comp] + rng.standard_normal((n, dimension))
        y = np.asarray(outcome(u, label), dtype=np.float64)
        if y.shape != (n,):
            raise ValueError(f"outcome returned {y.shape} values for {n} runs")
        if np.any(np.isnan(y)):
            raise ValueError("outcome returned NaN values")
        return u, y, mixture_log_weight(u, means, probs)

    means, probs = np.zeros((1, dimension)), np.ones(1)
    seen_u: list[np.ndarray] = []
    seen_y: list[np.ndarray] = []
    seen_lw: list[np.ndarray] = []
    stages: list[LatentStage] = []
    notes: list[str] = []
    used = 0
    adapted = False
    for k in range(max_stages):
        if used + runs_per_stage + batch > max_runs:
            break
        u, y, lw = draw(means, probs, runs_per_stage, f"stage-{k:02d}")
        used += y.size
        gamma = min(threshold, float(np.quantile(y, 1.0 - elite_share)))
        st = LatentStage(k, gamma, means.copy(), probs.copy(), y, lw, final=False)
        stages.append(st)
        if on_stage is not None:
            on_stage(st)
        if reuse:  # every adaptive stage's runs above the level, each with its exact weight
            seen_u.append(u)
            seen_y.append(y)
            seen_lw.append(lw)
            u, y, lw = np.concatenate(seen_u), np.concatenate(seen_y), np.concatenate(seen_lw)
        elite = y >= gamma
        w = np.exp(lw[elite] - lw[elite].max())  # the scale cancels in the weighted means
        if components == 1:
            means = smoothing * _elite_mean(u[elite], w, shrinkage, groups)[None, :] + (1.0 - smoothing) * means
        else:
            means, probs = _mixture_update(u[elite], w, means, probs, components, shrinkage, groups, smoothing, rng)
        if gamma >= threshold:  # the update at the threshold itself gives the final proposal
            adapted = True
            break
    if not adapted:
        last = stages[-1].level if stages else math.nan
        notes.append(f"the intermediate level did not reach {threshold:g} in {len(stages)} stage(s) "
                     f"(last {last:.4g}); the estimate uses the last proposal")
    stopped = "run budget"
    k = len(stages)
    est: Estimate | None = None
    while True:
        final = [s for s in stages if s.final]
        if final:
            est = _is_estimate(final, threshold, level)
            if est.hits and est.cov <= target_cov:
                stopped = f"coefficient of variation {est.cov:.3f} <= {target_cov:g}"
                break
        if used + batch > max_runs:
            break
        _, y, lw = draw(means, probs, batch, f"stage-{k:02d}")
        used += y.size
        st = LatentStage(k, float(threshold), means.copy(), probs.copy(), y, lw, final=True)
        stages.append(st)
        if on_stage is not None:
            on_stage(st)
        k += 1
    if est is None:
        raise ValueError(f"the run budget max_runs={max_runs} ended before any run of the final proposal")
    return LatentCEResult(float(threshold), tuple(stages), est, stopped, tuple(notes + list(est.warnings)), dimension)


def _is_estimate(final: list[LatentStage], threshold: float, level: float) -> Estimate:
    y = np.concatenate([s.values for s in final])
    w = np.exp(np.concatenate([s.log_weights for s in final]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return weighted_probability(y > threshold, w, level=level, expected_weight=1.0)


def latent_cross_entropy(
    campaign: CampaignSpec,
    simulate: Callable[[CampaignSpec, int, str, list], np.ndarray],
    threshold: float,
    *,
    seed: int,
    runs_per_stage: int = 500,
    batch: int | None = None,
    elite_share: float = 0.1,
    smoothing: float = 0.7,
    shrinkage: float = 1.0,
    components: int = 1,
    reuse: bool = False,
    target_cov: float = 0.1,
    max_runs: int = 20_000,
    max_stages: int = 10,
    level: float = 0.95,
    on_stage: Callable[[LatentStage], None] | None = None,
) -> LatentCEResult:
    """Estimate :math:`P_p(Y > u)` of a simulated outcome by cross-entropy importance sampling
    with a Gaussian mean shift over every random input of a run (module docstring).

    Parameters
    ----------
    campaign : CampaignSpec
        The campaign: twin, window, event models (their natural law, mapped by
        :class:`LatentSpace`; a proposal, strata or design are not used). Counterfactual pairs
        are not supported.
    simulate : Simulator
        ``simulate(batch_campaign, seed, label, plans)`` -> the outcome of each plan, in
        order; it must run the ``plans`` it is given (e.g. :func:`plan_simulator`).
    threshold : float
        :math:`u`.
    seed : int
        Root seed: the latent normals come from its stream ``latent-ce/latent``, each batch's
        runs from :func:`~twinforge.campaign.adaptive.derived_seed` ``(seed, "latent-ce/batch/<label>")``;
        the same seed gives the same estimate bit for bit.
    runs_per_stage, batch, elite_share, smoothing, shrinkage, components, reuse, target_cov, max_runs, max_stages,
    level, on_stage
        As for :func:`latent_ce_sampling`; the shrinkage's blocks are :attr:`LatentSpace.groups`.
    """
    space = LatentSpace.of_estimator(campaign, "latent cross-entropy")
    res = latent_ce_sampling(space.outcome(simulate, seed, "latent-ce"), space.dimension, threshold, RngStreams(seed).generator("latent-ce/latent"),
                             runs_per_stage=runs_per_stage, batch=batch, elite_share=elite_share, smoothing=smoothing,
                             shrinkage=shrinkage, groups=space.groups, components=components, reuse=reuse,
                             target_cov=target_cov, max_runs=max_runs, max_stages=max_stages,
                             level=level, on_stage=on_stage)
    return dataclasses.replace(res, notes=space.with_notes(res.notes), labels=space.labels)


def write_summary(result: Any, path: str | Path) -> None:
    """Write ``result.to_json()`` (a :class:`LatentCEResult` or a subset simulation's
    :class:`~twinforge.campaign.subset.SubsetResult`) to ``path`` (strict JSON)."""
    Path(path).write_text(json.dumps(result.to_json(), indent=1, sort_keys=True, allow_nan=False) + "\n",
                          encoding="utf-8")
