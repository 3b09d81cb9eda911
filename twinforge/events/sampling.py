"""Samplers of rare-event campaigns: natural, importance, stratified, quasi-random, paired.

Every function here is pure: it takes a :class:`numpy.random.Generator` (or, for a whole
plan, the campaign's :class:`~twinforge.core.rng.RngStreams`) and returns plain data. A
run's events depend only on the generator it is given, and inside a run each event type
draws from its own child stream keyed by the type's name, so adding a type to a campaign
never changes another type's draws. Plans key run ``i`` on the stream ``run/<i>``, so
run ``i`` does not depend on how many runs there are.

**Importance sampling** (Kahn & Marshall 1953, doi:10.1287/opre.1.5.263; Owen 2013,
*Monte Carlo theory, methods and examples*, ch. 9). A run's events :math:`E` are drawn from
a proposal :math:`q` instead of the natural law :math:`p` and carry the weight
:math:`w = p(E)/q(E)`, so that :math:`E_q[w\\,Y] = E_p[Y]` for any statistic :math:`Y`
(:mod:`twinforge.campaign.estimators`). For each event type the proposal
(:class:`ImportanceProposal`) multiplies the onset intensity by :math:`r \\ge 1` (same
season) and biases the truncated severity law towards its tail, either by a defensive
mixture with the tail above a level :math:`u` (Hesterberg 1995),

.. math::  q_S(s) = p_S(s) [(1 - \\alpha) + \\alpha 1\\{s \\ge u\\} / P_p(S \\ge u)],

whose per-event weight is bounded by :math:`1/(1-\\alpha)` (the recommended choice for tail
probabilities), or by an exponential tilt

.. math::  q_S(s) = p_S(s)\\, e^{\\theta s} / M(\\theta), \\qquad M(\\theta) = E_p[e^{\\theta S}].

Both keep the support of the severity law exactly, so weights are finite wherever
:math:`p > 0`. Durations may be lengthened by a shift :math:`\\delta` of their log
(``duration_shift``, lognormal :math:`q_D` of median :math:`m e^{\\delta}`). The log weight
of one type with :math:`n` events on a horizon of natural expected count :math:`\\Lambda` is

.. math::

    \\ln w = (r - 1)\\Lambda - n \\ln r - \\sum_i \\ln\\frac{q_S(s_i)\\, q_D(d_i)}{p_S(s_i)\\, p_D(d_i)}
             \\; [+ \\ln(1 - e^{-r\\Lambda}) \\text{ with } \\texttt{min\\_events}=1]

and the run's log weight is the sum over types. The events in progress when the window
opens (:meth:`~twinforge.events.natural.NaturalModel.sample_in_progress`) are biased
alike (count times :math:`r`, the same severity law) and add a term of the same form with
their own natural expected number :math:`\\Lambda_c` and no ``min_events`` factor.
Biased severities are drawn exactly (inversion of the truncated CDF for the mixture; rejection from a piecewise envelope for
the tilt, whose :math:`M(\\theta)` comes from Gauss-Legendre quadrature on the pieces).

**Stratified sampling** (Owen 2013, ch. 8; Cochran 1977, *Sampling Techniques*, ch. 5).
The strata of a run are ``"none"`` (no event of any type active in the window, counting
those in progress when it opens), ``"<type>"`` (at least one event of that type and none
of the others) and ``"mixed"`` (two types or more); they
partition all outcomes and their natural probabilities :math:`P_h` follow exactly from the
Poisson counts. A run of stratum :math:`h` is sampled from the natural law conditioned on
:math:`h`, and the stratified estimate is :math:`\\sum_h P_h \\bar Y_h`
(:func:`twinforge.campaign.estimators.stratified_mean`); each run also carries the weight
:math:`w_i = P_h N / n_h`, for which :math:`\\frac1N \\sum_i w_i Y_i = \\sum_h P_h \\bar Y_h`.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy.stats import qmc

from twinforge.core.rng import RngStreams, name_key
from twinforge.events.natural import NaturalModel, _event_arrays, _log_mass, _trunc_inverse, _utc

__all__ = [
    "ImportanceProposal",
    "ProposalModel",
    "sample_events",
    "stratum_probabilities",
    "sample_stratum",
    "stratified_plan",
    "qmc_design",
    "counterfactual_pairs",
    "NONE",
    "MIXED",
]

#: Stratum of runs without any event.
NONE = "none"
#: Stratum of runs with events of two types or more.
MIXED = "mixed"

_TILT_STEP = 0.25  # theta * bin width: rejection acceptance >= exp(-0.25) = 0.78
_MAX_BINS = 4000


class ImportanceProposal(BaseModel):
    """How one event type is biased towards its rare outcomes.

    Parameters
    ----------
    rate_factor : float
        Factor :math:`r \\ge 1` on the onset intensity (the season is kept) [-].
    tail_threshold : float, optional
        Severity level :math:`u` of interest [severity unit], inside the severity range.
    tail_share : float
        Defensive tail mixture (Hesterberg 1995, doi:10.1080/00401706.1995.10484303;
        Owen 2013, ch. 9): with probability :math:`\\alpha` = ``tail_share`` a proposed
        severity is drawn from the natural law conditioned on :math:`S \\ge u`, otherwise
        from the natural law, :math:`q_S = (1 - \\alpha) p_S + \\alpha p_S 1\\{s \\ge u\\}/\\tau`
        with :math:`\\tau = P_p(S \\ge u)`. Same support, and the per-event weight is at
        most :math:`1/(1 - \\alpha)`: the recommended bias for tail probabilities.
    severity_tilt : float
        Exponential tilt :math:`\\theta \\ge 0` [1/severity unit]:
        :math:`q_S(s) \\propto p_S(s) e^{\\theta s}` on the same support; it moves the mean
        up by about :math:`\\theta\\,\\mathrm{Var}(S)`. Weights of events left in the lower
        tail grow like :math:`e^{\\theta (s_{max} - s)}`: keep :math:`\\theta` small (a
        strong tilt gives heavy-tailed weights and optimistic standard errors). At most
        1000 / (width of the severity range). Not combined with ``tail_share``.
    duration_shift : float
        Shift :math:`\\delta` of the log duration [-]: with probability :math:`\\beta` =
        ``duration_share`` a duration is drawn lognormal with median :math:`m e^{\\delta}`
        (the natural sigma), otherwise from the natural law:
        :math:`q_D = (1 - \\beta) p_D + \\beta p_{D,\\delta}`, a defensive mixture whose
        per-event weight is at most :math:`1/(1 - \\beta)` when :math:`\\beta < 1`. Events in
        progress at the window's start follow: under :math:`q` they are those of the
        mixture's two components.
    duration_share : float
        :math:`\\beta` in [0, 1] (1: every duration from the shifted law).
    min_events : int
        0, or 1 to condition the proposal on at least one event of this type. The weight
        then includes the conditioning probability :math:`P_q(N \\ge 1)`, and weighted
        means estimate :math:`E_p[Y\\,1\\{N \\ge 1\\}]` (runs without the event are never
        drawn): right for statistics that vanish without the event (its indicator, its
        damage), not for others. :math:`E_q[w] = P_p(N \\ge 1)` then, not 1.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    rate_factor: float = Field(1.0, ge=1.0, le=1e4, description="factor on the onset rate [-]")
    tail_threshold: float | None = Field(None, ge=-1e6, le=1e6, description="severity of interest u")
    tail_share: float = Field(0.0, ge=0.0, le=0.99, description="share of severities drawn above u [-]")
    severity_tilt: float = Field(0.0, ge=0.0, le=1e4, description="exponential tilt [1/severity unit]")
    duration_shift: float = Field(0.0, ge=-3.0, le=3.0, description="shift of ln(duration) [-]")
    duration_share: float = Field(1.0, ge=0.0, le=1.0, description="share of durations drawn shifted [-]")
    min_events: int = Field(0, ge=0, le=1, description="condition on at least this many events (0 or 1)")

    @model_validator(mode="after")
    def _one_severity_bias(self) -> "ImportanceProposal":
        if self.tail_share > 0.0 and self.tail_threshold is None:
            raise ValueError("tail_share needs a tail_threshold")
        if self.tail_share > 0.0 and self.severity_tilt > 0.0:
            raise ValueError("use either tail_share or severity_tilt, not both")
        return self


@dataclass(frozen=True)
class _Tilt:
    """Piecewise envelope of a tilted truncated severity law."""

    a: np.ndarray  # bin lower edges
    b: np.ndarray  # bin upper edges
    prob: np.ndarray  # bin choice probabilities of the envelope
    log_m: float  # log E_p[exp(theta (S - hi))]
    hi: float


def _gauss_legendre(n: int = 32) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(n)


@functools.lru_cache(maxsize=128)
def _tilt(model: NaturalModel, theta: float) -> _Tilt:
    lo, hi = model.severity_bounds()
    k = max(1, math.ceil(theta * (hi - lo) / _TILT_STEP))
    if k > _MAX_BINS:
        raise ValueError(
            f"severity_tilt {theta} is too strong for the severity range of {model.type!r} "
            f"(width {hi - lo:g}); keep severity_tilt * width <= {_MAX_BINS * _TILT_STEP:g}"
        )
    edges = np.linspace(lo, hi, k + 1)
    a, b = edges[:-1], edges[1:]
    dist = model.severity.frozen()
    log_z = model.severity_log_mass()
    fa, fb, sa, sb = dist.cdf(a), dist.cdf(b), dist.sf(a), dist.sf(b)
    mass = np.maximum(np.where(fb <= 0.5, fb - fa, sa - sb), 0.0) / math.exp(log_z)
    x, w = _gauss_legendre()
    mid, half = 0.5 * (a + b), 0.5 * (b - a)
    s = mid[:, None] + half[:, None] * x[None, :]
    integrand = dist.pdf(s) / math.exp(log_z) * np.exp(theta * (s - hi))
    integral = half * (integrand @ w)
    log_m = math.log(float(np.sum(integral)))
    env = mass * np.exp(theta * (b - hi))
    return _Tilt(a=a, b=b, prob=env / env.sum(), log_m=log_m, hi=hi)


@dataclass(frozen=True)
class ProposalModel:
    """The proposal law :math:`q` of one event type: a natural model and its bias.

    Same interface as :class:`~twinforge.events.natural.NaturalModel` for sampling and
    likelihoods, plus :meth:`log_weight`.

    Raises
    ------
    ValueError
        If ``tail_threshold`` is outside the severity range or has no natural mass above it.
    """

    natural: NaturalModel
    proposal: ImportanceProposal

    def __post_init__(self) -> None:
        if self.proposal.tail_share > 0.0:
            lo, hi = self.natural.severity_bounds()
            u = self.proposal.tail_threshold
            assert u is not None
            if not lo <= u < hi or self._log_tau() == -math.inf:
                raise ValueError(
                    f"tail_threshold {u} of {self.type!r} must lie inside its severity range "
                    f"[{lo:g}, {hi:g}) with natural probability above it"
                )
        if self.proposal.severity_tilt > 0.0:
            _tilt(self.natural, self.proposal.severity_tilt)  # validates the strength

    @property
    def type(self) -> str:
        return self.natural.type

    @property
    def durations(self) -> NaturalModel:
        """The natural model with the proposal's durations (median times :math:`e^{\\delta}`)."""
        return _shifted(self.natural, self.proposal.duration_shift)

    def _log_ratio_d(self, d: np.ndarray) -> np.ndarray:
        """``log q_D(d) - log p_D(d)`` of durations [h]."""
        delta, beta = self.proposal.duration_shift, self.proposal.duration_share
        d = np.asarray(d, dtype=np.float64)
        if delta == 0.0 or beta == 0.0:
            return np.zeros_like(d)
        z = np.log(d / self.natural.duration_median_h)
        shifted = delta * (2.0 * z - delta) / (2.0 * self.natural.duration_sigma**2)
        if beta == 1.0:
            return shifted
        return np.logaddexp(math.log1p(-beta), math.log(beta) + shifted)

    def _mixed(self) -> bool:
        return self.proposal.duration_shift != 0.0 and 0.0 < self.proposal.duration_share < 1.0

    def sample_durations(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` durations [h] from :math:`q_D` (the mixture: a uniform picks the component)."""
        if not self._mixed():
            return self.durations.sample_durations(n, rng)
        shifted = rng.random(n) < self.proposal.duration_share
        z = rng.standard_normal(n)
        m = self.natural.duration_median_h * np.exp(self.proposal.duration_shift * shifted)
        return m * np.exp(self.natural.duration_sigma * z)

    def in_progress_count(self, start: Any) -> float:
        """Expected number of events in progress at ``start`` under :math:`q` [-]."""
        r, beta = self.proposal.rate_factor, self.proposal.duration_share
        if not self._mixed():
            return r * self.durations.in_progress_count(start)
        return r * ((1 - beta) * self.natural.in_progress_count(start) + beta * self.durations.in_progress_count(start))

    def _log_tau(self) -> float:
        """``log P_p(S >= u)`` under the truncated natural law."""
        return _log_tau(self.natural, float(self.proposal.tail_threshold))  # type: ignore[arg-type]

    def _log_ratio(self, s: np.ndarray) -> np.ndarray:
        """``log q_S(s) - log p_S(s)`` on the support."""
        s = np.asarray(s, dtype=np.float64)
        theta, alpha = self.proposal.severity_tilt, self.proposal.tail_share
        if alpha > 0.0:
            above = s >= float(self.proposal.tail_threshold)  # type: ignore[arg-type]
            return np.log((1.0 - alpha) + np.where(above, alpha * math.exp(-self._log_tau()), 0.0))
        if theta > 0.0:
            t = _tilt(self.natural, theta)
            return theta * (s - t.hi) - t.log_m
        return np.zeros_like(s)

    def expected_count(self, start: Any, days: float) -> float:
        """Expected number of onsets under :math:`q` (before conditioning) [-]."""
        return self.proposal.rate_factor * self.natural.expected_count(start, days)

    def severity_logpdf(self, s: Any) -> np.ndarray | float:
        """Log density of the biased severity law (``-inf`` outside the range)."""
        out = self.natural.severity_logpdf(s) + self._log_ratio(s)
        return float(out) if np.ndim(out) == 0 else out

    def sample_severities(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` severities from the biased law, exactly.

        Tail mixture: a uniform picks the component, a second one inverts the truncated
        CDF. Tilt: rejection from a piecewise envelope (acceptance >= 0.78).
        """
        theta, alpha = self.proposal.severity_tilt, self.proposal.tail_share
        dist = self.natural.severity.frozen()
        if alpha > 0.0:
            lo, hi = self.natural.severity_range  # type: ignore[misc]
            tail = rng.random(n) < alpha
            a = np.where(tail, float(self.proposal.tail_threshold), lo)  # type: ignore[arg-type]
            return _trunc_inverse(dist, a, np.full(n, hi), rng.random(n))
        if theta == 0.0:
            return self.natural.sample_severities(n, rng)
        t = _tilt(self.natural, theta)
        out: list[np.ndarray] = []
        need = n
        while need > 0:
            m = need + 8 + need // 3
            j = rng.choice(len(t.prob), size=m, p=t.prob)
            s = _trunc_inverse(dist, t.a[j], t.b[j], rng.random(m))
            keep = rng.random(m) < np.exp(theta * (s - t.b[j]))
            out.append(s[keep][:need])
            need -= len(out[-1])
        return np.concatenate(out) if out else np.empty(0)

    def sample(self, start: Any, days: float, rng: np.random.Generator) -> list[dict[str, Any]]:
        """Events of this type over the horizon drawn from :math:`q`."""
        mu = self.expected_count(start, days)
        n = _zt_poisson(mu, rng) if self.proposal.min_events else int(rng.poisson(mu))
        return self.natural._assemble(
            n, start, days, rng, severities=self.sample_severities, durations=self.sample_durations
        )

    def log_likelihood(self, events: Sequence[Mapping[str, Any]], start: Any, days: float) -> float:
        """Log density of ``events`` under :math:`q`, computed from scratch.

        :math:`-r\\Lambda + \\sum_i [\\ln r\\lambda(t_i) + \\ln f_D(d_i) + \\ln q_S(s_i)]`,
        minus :math:`\\ln(1 - e^{-r\\Lambda})` when conditioned on ``min_events=1``.
        """
        t, d, s = _event_arrays(events, self.type, start, days)
        mu = self.expected_count(start, days)
        ll = -mu
        if self.proposal.min_events:
            if len(t) == 0:
                return -math.inf
            ll -= math.log(-math.expm1(-mu))
        if len(t):
            lam = np.asarray(self.natural.intensity([_utc(start) + pd.Timedelta(days=float(x)) for x in t]))
            with np.errstate(divide="ignore"):
                ll += float(np.sum(np.log(self.proposal.rate_factor * lam)))
            ll += float(np.sum(self.natural.duration_logpdf(d) + self._log_ratio_d(d)))
            ll += float(np.sum(self.severity_logpdf(s)))
        return ll

    def sample_in_progress(self, start: Any, rng: np.random.Generator) -> list[dict[str, Any]]:
        """Events in progress at ``start`` drawn from :math:`q`.

        The in-progress events of the proposal's process: onsets :math:`r` times as dense,
        the proposal's durations (their age and remaining duration follow), biased
        severities. ``min_events`` does not apply to them (it conditions the window's onsets).
        """
        r, beta = self.proposal.rate_factor, self.proposal.duration_share
        if not self._mixed():
            dur = self.durations
            n = int(rng.poisson(r * dur.in_progress_count(start)))
            return dur.sample_in_progress(start, rng, n=n, severities=self.sample_severities)
        n1 = int(rng.poisson(r * (1 - beta) * self.natural.in_progress_count(start)))
        n2 = int(rng.poisson(r * beta * self.durations.in_progress_count(start)))
        ev = self.natural.sample_in_progress(start, rng, n=n1, severities=self.sample_severities)
        return ev + self.durations.sample_in_progress(start, rng, n=n2, severities=self.sample_severities)

    def in_progress_log_likelihood(self, events: Sequence[Mapping[str, Any]], start: Any) -> float:
        """Log density under :math:`q` of the events in progress (as the natural model's, rate
        :math:`r \\lambda` and severity law :math:`q_S`), computed from scratch."""
        mine = [e for e in events if e["type"] == self.type and e.get("in_progress", False)]
        s = np.array([e["severity"] for e in mine])
        d = np.array([e["elapsed_h"] + e["duration_h"] for e in mine])
        r = self.proposal.rate_factor
        ll = self.natural.in_progress_log_likelihood(events, start)  # natural rate and durations
        ll += self.natural.in_progress_count(start) - self.in_progress_count(start) + s.size * math.log(r)
        return ll + float(np.sum(self._log_ratio(s))) + float(np.sum(self._log_ratio_d(d)))

    def log_weight_in_progress(self, events: Sequence[Mapping[str, Any]], start: Any) -> float:
        """:math:`\\ln p - \\ln q` of the events of this type in progress at ``start``.

        :math:`\\Lambda_c^q - \\Lambda_c - n_c \\ln r - \\sum_j \\ln [q_S(s_j) q_D(d_j) / (p_S(s_j) p_D(d_j))]`,
        the form of the onsets in the window, with :math:`\\Lambda_c` their natural expected
        number (:meth:`~twinforge.events.natural.NaturalModel.in_progress_count`),
        :math:`\\Lambda_c^q` that under :math:`q` (rate and durations), :math:`d_j` total durations.
        """
        mine = [e for e in events if e["type"] == self.type and e.get("in_progress", False)]
        s = np.array([e["severity"] for e in mine])
        d = np.array([e["elapsed_h"] + e["duration_h"] for e in mine])
        r = self.proposal.rate_factor
        lam, lam_q = self.natural.in_progress_count(start), self.in_progress_count(start)
        return (lam_q - lam - s.size * math.log(r) - float(np.sum(self._log_ratio(s)))
                - float(np.sum(self._log_ratio_d(d))))

    def log_weight(self, events: Sequence[Mapping[str, Any]], start: Any, days: float) -> float:
        """:math:`\\ln p(E) - \\ln q(E)` for the events of this type, in closed form.

        ``+inf`` for an event list that :math:`q` cannot produce (none under
        ``min_events=1``).
        """
        t, d, s = _event_arrays(events, self.type, start, days)
        r = self.proposal.rate_factor
        lam = self.natural.expected_count(start, days)
        n = len(t)
        if self.proposal.min_events and n == 0:
            return math.inf
        lw = (r - 1.0) * lam - n * math.log(r) - float(np.sum(self._log_ratio(s)))
        lw -= float(np.sum(self._log_ratio_d(d)))
        if self.proposal.min_events:
            lw += math.log(-math.expm1(-r * lam))
        return lw


@functools.lru_cache(maxsize=256)
def _shifted(model: NaturalModel, delta: float) -> NaturalModel:
    if delta == 0.0:
        return model
    return model.model_copy(update={"duration_median_h": model.duration_median_h * math.exp(delta)})


@functools.lru_cache(maxsize=256)
def _log_tau(model: NaturalModel, u: float) -> float:
    _, hi = model.severity_bounds()
    return _log_mass(model.severity.frozen(), u, hi) - model.severity_log_mass()


def _zt_poisson(mu: float, rng: np.random.Generator) -> int:
    """A Poisson(``mu``) count conditioned on being >= 1 (exact for any ``mu`` > 0).

    The first arrival of a unit-rate process on ``[0, mu]`` conditioned to fall in it has
    CDF ``(1 - e^-t) / (1 - e^-mu)``; the other arrivals are Poisson(``mu - T``).
    """
    if not mu > 0.0:
        raise ValueError("cannot condition on an event whose expected count is 0")
    first = -math.log1p(rng.random() * math.expm1(-mu))
    return 1 + int(rng.poisson(max(mu - first, 0.0)))


def _check_models(models: Mapping[str, NaturalModel]) -> list[str]:
    if not models:
        raise ValueError("models must hold at least one NaturalModel")
    for name, m in models.items():
        if not isinstance(m, NaturalModel):
            raise TypeError(f"models[{name!r}] must be a NaturalModel, got {type(m).__name__}")
        if m.type != name:
            raise ValueError(f"models[{name!r}] is a model of {m.type!r}; key it by its type")
    return sorted(models)


def _type_generators(rng: np.random.Generator, names: Sequence[str]) -> dict[str, np.random.Generator]:
    """One child generator per type name: 128 bits from ``rng`` keyed by the name's hash."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    words = [int(w) for w in rng.integers(0, 2**32, size=4, dtype=np.uint64)]
    return {
        n: np.random.Generator(np.random.PCG64(np.random.SeedSequence(words, spawn_key=name_key(n))))
        for n in names
    }


def _sort_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(events, key=lambda e: (e["start"], e["type"]))


def sample_events(
    models: Mapping[str, NaturalModel],
    start: Any,
    days: float,
    rng: np.random.Generator,
    proposal: Mapping[str, ImportanceProposal] | None = None,
) -> tuple[list[dict[str, Any]], float]:
    """Events of every type over one run's horizon, and the run's log importance weight.

    Parameters
    ----------
    models : dict of str to NaturalModel
        Natural models keyed by event-type name (e.g. :data:`NATURAL_MODELS`).
    start : timestamp-like
        Start of the horizon (naive times are UTC).
    days : float
        Horizon [day].
    rng : numpy.random.Generator
        The run's generator; each type draws from a child stream keyed by its name.
    proposal : dict of str to ImportanceProposal, optional
        Bias of some types; the others are drawn from their natural law.

    Returns
    -------
    events : list of dict
        ``{"type", "start" (UTC), "duration_h" [h], "severity"}`` sorted by onset.
    log_weight : float
        :math:`\\ln p(E) - \\ln q(E)` summed over the biased types; 0 without a proposal.

    Examples
    --------
    >>> import numpy as np
    >>> from twinforge.events.natural import NATURAL_MODELS
    >>> models = {k: NATURAL_MODELS[k] for k in ("heat_wave", "cold_snap")}
    >>> ev, lw = sample_events(models, "2024-07-01", 30.0, np.random.default_rng(0),
    ...                        {"heat_wave": ImportanceProposal(rate_factor=3.0)})
    >>> bool(np.isfinite(lw))
    True
    """
    names = _check_models(models)
    proposal = dict(proposal or {})
    unknown = sorted(set(proposal) - set(names))
    if unknown:
        raise ValueError(f"proposal for event types without a model: {', '.join(unknown)}")
    gens = _type_generators(rng, [*names, *(_in_progress_stream(n) for n in names)])
    events: list[dict[str, Any]] = []
    log_w = 0.0
    for name in names:
        g_in = gens[_in_progress_stream(name)]
        if name in proposal:
            q = ProposalModel(models[name], proposal[name])
            ev = q.sample(start, days, gens[name])
            log_w += q.log_weight(ev, start, days)
            ev_in = q.sample_in_progress(start, g_in)
            log_w += q.log_weight_in_progress(ev_in, start)
        else:
            ev = models[name].sample(start, days, gens[name])
            ev_in = models[name].sample_in_progress(start, g_in)
        events.extend(ev)
        events.extend(ev_in)
    return _sort_events(events), log_w


def _in_progress_stream(name: str) -> str:
    """Name of the stream of a type's events in progress at the start (apart from its own)."""
    return f"{name}/in_progress"


# --------------------------------------------------------------------------- stratified


def _presence(models: Mapping[str, NaturalModel], start: Any, days: float) -> dict[str, float]:
    """Natural probability that each type has at least one event active on the horizon."""
    return {n: -math.expm1(-models[n].active_count(start, days)) for n in sorted(models)}


def _at_least(ps: Sequence[float]) -> tuple[float, float, float]:
    """``P(S >= 0), P(S >= 1), P(S >= 2)`` for a sum of independent Bernoulli(ps)."""
    c0, c1, c2 = 1.0, 0.0, 0.0  # P(S=0), P(S=1), P(S>=2), no cancellation
    for p in ps:
        c0, c1, c2 = c0 * (1 - p), c1 * (1 - p) + c0 * p, c2 + c1 * p
    return 1.0, c1 + c2, c2


def stratum_probabilities(models: Mapping[str, NaturalModel], start: Any, days: float) -> dict[str, float]:
    """Natural probabilities :math:`P_h` of the strata of one run.

    Returns
    -------
    dict
        ``"none"``, one key per type (that type only) and ``"mixed"`` (two types or more);
        the values sum to 1.
    """
    names = _check_models(models)
    p = _presence(models, start, days)
    absent = {n: math.exp(-models[n].active_count(start, days)) for n in names}
    out = {NONE: math.prod(absent.values())}
    for n in names:
        out[n] = p[n] * math.prod(absent[m] for m in names if m != n)
    out[MIXED] = _at_least([p[n] for n in names])[2]
    return out


def sample_stratum(
    stratum: str,
    models: Mapping[str, NaturalModel],
    start: Any,
    days: float,
    rng: np.random.Generator,
) -> list[dict[str, Any]]:
    """Events of one run drawn from the natural law conditioned on ``stratum``.

    ``"none"`` gives no events; ``"<type>"`` at least one event of that type (a
    zero-truncated Poisson count) and no other; ``"mixed"`` a set of two types or more
    present, drawn type by type from its exact conditional law, each present type with a
    zero-truncated count. A present type's count covers its onsets in the window and its
    events in progress at the start (each counted event is one of those with probability
    proportional to their expected numbers). Onsets and marks follow the natural law.
    """
    names = _check_models(models)
    gens = _type_generators(rng, [*names, *(_in_progress_stream(n) for n in names)])
    if stratum == NONE:
        return []
    if stratum in models:
        present = [stratum]
    elif stratum == MIXED:
        p = _presence(models, start, days)
        if _at_least([p[n] for n in names])[2] <= 0.0:
            raise ValueError("stratum 'mixed' has probability 0 (it needs two event types or more)")
        u = rng.random(len(names))
        present, have = [], 0
        for i, n in enumerate(names):
            rest = _at_least([p[m] for m in names[i + 1 :]])
            need_if_yes, need_if_no = max(2 - have - 1, 0), max(2 - have, 0)
            yes = p[n] * rest[need_if_yes]
            no = (1.0 - p[n]) * rest[need_if_no]
            if u[i] * (yes + no) < yes:
                present.append(n)
                have += 1
    else:
        raise ValueError(f"unknown stratum {stratum!r}; known: {', '.join([NONE, *names, MIXED])}")
    events: list[dict[str, Any]] = []
    for n in present:
        m, g, g_in = models[n], gens[n], gens[_in_progress_stream(n)]
        lam, lam_in = m.expected_count(start, days), m.in_progress_count(start)
        total = _zt_poisson(lam + lam_in, g)
        k_in = int(g_in.binomial(total, lam_in / (lam + lam_in))) if lam_in > 0.0 else 0
        events.extend(m._assemble(total - k_in, start, days, g))
        events.extend(m.sample_in_progress(start, g_in, n=k_in))
    return _sort_events(events)


def stratified_plan(
    classes: Mapping[str, int],
    models: Mapping[str, NaturalModel],
    start: Any,
    days: float,
    streams: RngStreams | int,
    *,
    stream: str = "events",
) -> list[dict[str, Any]]:
    """A class-balanced plan: ``classes[h]`` runs of each stratum ``h``.

    Parameters
    ----------
    classes : dict of str to int
        Runs per stratum, e.g. ``{"none": 50, "heat_wave": 50, "mixed": 10}``; strata are
        ``"none"``, a type of ``models`` or ``"mixed"``. Runs are laid out in this order.
    models, start, days
        As for :func:`sample_events`.
    streams : RngStreams or int
        The campaign's streams (or its root seed); run ``i`` draws from
        ``streams.child(f"run/{i}").generator(stream)``, so it depends only on its index
        and stratum.
    stream : str
        Name of the run's event stream.

    Returns
    -------
    list of dict
        One per run: ``run_id``, ``stratum``, ``stratum_probability`` (natural
        :math:`P_h`), ``weight`` (:math:`P_h N / n_h`) and ``events``. Strata left out of
        ``classes`` are not represented: the estimate covers only the requested strata
        (their total probability is the sum of ``stratum_probability`` over strata).
    """
    names = _check_models(models)
    if not classes:
        raise ValueError("classes must request at least one stratum")
    probs = stratum_probabilities(models, start, days)
    for h, k in classes.items():
        if h not in probs:
            raise ValueError(f"unknown stratum {h!r}; known: {', '.join([NONE, *names, MIXED])}")
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"classes[{h!r}] must be a positive integer, got {k!r}")
        if probs[h] <= 0.0:
            raise ValueError(f"stratum {h!r} has natural probability 0 on this horizon")
    if isinstance(streams, (int, np.integer)) and not isinstance(streams, bool):
        streams = RngStreams(int(streams))
    total = int(sum(classes.values()))
    plan: list[dict[str, Any]] = []
    for h, k in classes.items():
        for _ in range(int(k)):
            i = len(plan)
            rng = streams.child(f"run/{i}").generator(stream)
            plan.append(
                {
                    "run_id": i,
                    "stratum": h,
                    "stratum_probability": probs[h],
                    "weight": probs[h] * total / int(k),
                    "events": sample_stratum(h, models, start, days, rng),
                }
            )
    return plan


# --------------------------------------------------------------------------- designs


def qmc_design(
    bounds: Mapping[str, tuple[float, float]],
    n: int,
    *,
    method: Literal["sobol", "lhs"] = "sobol",
    rng: np.random.Generator,
) -> pd.DataFrame:
    """A scrambled quasi-random design of parameter values within ``bounds``.

    Parameters
    ----------
    bounds : dict of str to (float, float)
        Parameter name to ``(low, high)``, low < high, finite, in the parameter's unit.
    n : int
        Number of runs (>= 1).
    method : {"sobol", "lhs"}
        Scrambled Sobol' points (Owen scrambling, :class:`scipy.stats.qmc.Sobol`) or a
        Latin hypercube (:class:`scipy.stats.qmc.LatinHypercube`).
    rng : numpy.random.Generator
        Source of the scrambling; the design is reproducible from it.

    Returns
    -------
    pandas.DataFrame of shape (n, len(bounds))
        One row per run, one column per parameter, scaled with :func:`scipy.stats.qmc.scale`.

    Notes
    -----
    Sobol' points keep their balance properties only for ``n`` a power of two; then the
    design is drawn with ``random_base2``. Otherwise the first ``n`` points of the same
    sequence are returned and a :class:`UserWarning` says so (row ``i`` of a Sobol'
    design does not depend on ``n``; a Latin hypercube does, by construction).

    Examples
    --------
    >>> import numpy as np
    >>> d = qmc_design({"ua_w_per_k": (100.0, 300.0), "setpoint_c": (18.0, 22.0)}, 8,
    ...                rng=np.random.default_rng(0))
    >>> d.shape
    (8, 2)
    """
    if not bounds:
        raise ValueError("bounds must name at least one parameter")
    lo = np.array([float(b[0]) for b in bounds.values()])
    hi = np.array([float(b[1]) for b in bounds.values()])
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)) and np.all(lo < hi)):
        raise ValueError(f"every bound must be finite with low < high, got {dict(bounds)}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    d = len(bounds)
    if method == "sobol":
        engine = qmc.Sobol(d, scramble=True, rng=rng)
        m = int(n).bit_length() - 1
        if n == 1 << m:
            unit = engine.random_base2(m)
        else:
            warnings.warn(
                f"a Sobol' design of n={n} points is not balanced (n is not a power of two); "
                f"returning the first {n} points (use n={1 << (m + 1)} or method='lhs')",
                UserWarning,
                stacklevel=2,
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                unit = engine.random(n)
    elif method == "lhs":
        unit = qmc.LatinHypercube(d, rng=rng).random(n)
    else:
        raise ValueError(f"method must be 'sobol' or 'lhs', got {method!r}")
    return pd.DataFrame(qmc.scale(unit, lo, hi), columns=list(bounds))


def counterfactual_pairs(runs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each run twice: as it is, and the same run without its events.

    Parameters
    ----------
    runs : sequence of dict
        Planned runs (any keys; ``events`` is the list of injected events).

    Returns
    -------
    list of dict
        ``2 * len(runs)`` runs: for input ``i``, the factual run (``counterfactual=False``)
        then its counterfactual (``counterfactual=True``, ``events=[]``). Both keep every
        other key (``seed``, parameters, ``weight``, ``stratum``), share ``pair_id`` (the
        input's ``run_id``, or ``i``), and are renumbered ``run_id = 2i, 2i + 1``. For the
        pair to share its noise the runner must key the run's random streams on
        ``pair_id`` (and the seed), not on the new ``run_id``.
    """
    out: list[dict[str, Any]] = []
    for i, run in enumerate(runs):
        pair_id = run.get("run_id", i)
        events = list(run.get("events", []))
        out.append({**run, "run_id": 2 * i, "pair_id": pair_id, "counterfactual": False, "events": events})
        out.append({**run, "run_id": 2 * i + 1, "pair_id": pair_id, "counterfactual": True, "events": []})
    return out
