"""Natural models of rare events: how often, when in the year, how long and how severe.

Each event type has a *natural model*: a non-homogeneous Poisson process of onsets whose
intensity follows the season, with independent marks (a duration and a severity) drawn
for every onset. Plain Monte Carlo samples it as it is; importance sampling
(:mod:`twinforge.events.sampling`) biases it and weights each run by the likelihood
ratio, for which :meth:`NaturalModel.log_likelihood` gives the natural log density.

**Onsets.** The intensity [events day-1] at time :math:`t` is

.. math::

    \\lambda(t) = R \\, f_{season}(d(t)), \\qquad
    f_{season}(d) = \\frac{\\exp\\{\\kappa [\\cos(2\\pi (d - d_{peak}) / P) - 1]\\}}
                         {P \\, e^{-\\kappa} I_0(\\kappa)}

with :math:`R` the mean number of events per year, :math:`P = 365.25` days, :math:`d(t)`
the continuous day of the year (1-based, counted from 2000-01-01 UTC on a 365.25-day year,
the convention of :mod:`twinforge.processes.weather`; it differs from the calendar day by
less than a day) and :math:`f_{season}` a von Mises density on the year (concentration
:math:`\\kappa`; :math:`\\kappa = 0` is uniform, circular standard deviation
:math:`\\approx P / (2\\pi\\sqrt{\\kappa})` days for large :math:`\\kappa`). The expected
count over :math:`[t_0, t_1)` is :math:`\\Lambda = \\int_{t_0}^{t_1} \\lambda`, computed
exactly from the von Mises CDF. Sampling draws :math:`N \\sim \\mathrm{Poisson}(\\Lambda)`,
then :math:`N` independent onsets by inversion of the cumulative intensity (the
order-statistics property of Poisson processes; Cinlar 1975, *Introduction to Stochastic
Processes*, ch. 4; an exact alternative to the thinning of Lewis & Shedler 1979,
doi:10.1002/nav.3800260304).

**Marks.** Duration :math:`D` [h] is lognormal (median, sigma of :math:`\\ln D`). Severity
:math:`S` (in the event type's unit) follows a GEV, a generalised Pareto (exceedances of a
threshold), a lognormal or a uniform law, *truncated* to the allowed range: the law is
conditioned on the range rather than clipped to it, which keeps severities inside the
range without piling an atom of probability on the bounds, and keeps a proper density
for the likelihood ratio. Extreme-value laws follow Coles (2001), *An Introduction to
Statistical Modeling of Extreme Values*, Springer, doi:10.1007/978-1-4471-3675-0, with
the shape :math:`\\xi` in Coles' sign convention (:math:`\\xi < 0`: bounded upper tail, as
for temperature maxima); note that :data:`scipy.stats.genextreme` uses :math:`c = -\\xi`.

**Events in progress when the window opens.** A window rarely opens on a quiet day by
design: a run that starts in July starts inside a heat wave now and then. The events that
started before ``start`` and still last at ``start`` are the points of the same process
thinned by :math:`P(D > a)`, :math:`a` their age: a Poisson count of mean

.. math::  \\Lambda_c = \\int_0^{L} \\lambda(t_0 - a)\\, P(D > a)\\, da

(the stationary start of an :math:`M/G/\\infty` queue, the number of customers in service;
Ross 1996, *Stochastic Processes*, 2nd ed., sec. 2.3), with :math:`L` the duration's
:math:`1 - 10^{-9}` quantile (the integral beyond it is negligible). Each is drawn exactly
by rejection (an onset from the intensity on :math:`[t_0 - L, t_0)` and a duration, kept if
it reaches :math:`t_0`) and placed at the window's start with the rest of its duration
and its age ``elapsed_h`` (:meth:`NaturalModel.sample_in_progress`). An importance
proposal biases them like the onsets in the window (count and severity; their weight has
the same closed form, :mod:`twinforge.events.sampling`), and they count towards a run's
stratum (a run that opens inside a heat wave is not in stratum ``none``). ``in_progress = false`` turns them off
for a type (then a run opens with no event of that type going on).

**Likelihood.** An event list :math:`\\{(t_i, d_i, s_i)\\}_{i=1}^N` on the horizon has log
density (with respect to onset time in days, duration in hours and severity in its unit)

.. math::

    \\ell = -\\Lambda + \\sum_i [\\ln\\lambda(t_i) + \\ln f_D(d_i) + \\ln f_S(s_i)]

(Daley & Vere-Jones 2003, *An Introduction to the Theory of Point Processes*, vol. I,
§7.1). Only differences of such log densities (importance weights) are meaningful.

:data:`NATURAL_MODELS` holds documented defaults keyed by event-type name. It may hold
models for types that later modules register (``storm``, ``feeder_fault``, ``outage``,
``bearing_fault``); those carry their own ``severity_range``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from scipy import special, stats
from scipy.special import i0e

from twinforge.core.registry import EVENTS

__all__ = [
    "YEAR_DAYS",
    "EPOCH",
    "day_of_year",
    "GEVSeverity",
    "GPDSeverity",
    "LognormSeverity",
    "UniformSeverity",
    "SeverityLaw",
    "NaturalModel",
    "NATURAL_MODELS",
    "make_events",
]

#: Length of the seasonal cycle [days] (same convention as processes/weather.py).
YEAR_DAYS = 365.25
#: Origin of the seasonal phase: day of year 1.0 at 2000-01-01T00:00 UTC.
EPOCH = pd.Timestamp("2000-01-01", tz="UTC")
_DAY = pd.Timedelta(days=1)
_TWO_PI = 2.0 * np.pi


def _utc(ts: Any) -> pd.Timestamp:
    ts = pd.Timestamp(ts)
    if ts is pd.NaT:
        raise ValueError("start must be a date/time, got an empty value")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _days_since_epoch(ts: Any) -> float:
    return (_utc(ts) - EPOCH) / _DAY


def day_of_year(time: Any) -> np.ndarray | float:
    """Continuous day of the year, 1-based, on a 365.25-day year from 2000-01-01 UTC.

    Parameters
    ----------
    time : timestamp-like or sequence of them
        Times (naive times are UTC).

    Returns
    -------
    float or ndarray
        Day of the year in ``[1, 366.25)`` [day].

    Examples
    --------
    >>> float(day_of_year("2000-02-01T12:00"))
    32.5
    """
    if isinstance(time, (str, pd.Timestamp)) or np.isscalar(time):
        return float(np.mod(_days_since_epoch(time), YEAR_DAYS) + 1.0)
    idx = pd.DatetimeIndex(pd.to_datetime(list(time) if not isinstance(time, pd.Index) else time))
    idx = idx.tz_localize("UTC") if idx.tz is None else idx.tz_convert("UTC")
    return np.mod(np.asarray((idx - EPOCH) / _DAY, dtype=np.float64), YEAR_DAYS) + 1.0


# --------------------------------------------------------------------------- severity laws


class _Severity(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def frozen(self) -> Any:
        """The untruncated law as a frozen :mod:`scipy.stats` distribution."""
        return _frozen(self)

    def support(self) -> tuple[float, float]:
        """Support of the untruncated law ``(low, high)``."""
        lo, hi = self.frozen().support()
        return float(lo), float(hi)


class GEVSeverity(_Severity):
    """Generalised extreme value law (Coles 2001, ch. 3).

    :math:`F(s) = \\exp\\{-[1 + \\xi (s - \\mu)/\\sigma]^{-1/\\xi}\\}`; ``shape`` is
    :math:`\\xi` (Coles' sign; ``scipy.stats.genextreme`` takes ``c = -shape``).
    """

    dist: Literal["gev"] = "gev"
    loc: float = Field(ge=-1e6, le=1e6, description="location mu [severity unit]")
    scale: float = Field(gt=0.0, le=1e6, description="scale sigma [severity unit]")
    shape: float = Field(0.0, ge=-1.0, le=1.0, description="shape xi (<0: bounded upper tail)")


class GPDSeverity(_Severity):
    """Generalised Pareto law of exceedances of ``threshold`` (Coles 2001, ch. 4).

    :math:`P(S > s) = [1 + \\xi (s - u)/\\sigma]^{-1/\\xi}` for :math:`s > u`.
    """

    dist: Literal["gpd"] = "gpd"
    threshold: float = Field(ge=-1e6, le=1e6, description="threshold u [severity unit]")
    scale: float = Field(gt=0.0, le=1e6, description="scale sigma [severity unit]")
    shape: float = Field(0.0, ge=-1.0, le=1.0, description="shape xi")


class LognormSeverity(_Severity):
    """Lognormal law: :math:`\\ln S \\sim N(\\ln m, \\sigma^2)`."""

    dist: Literal["lognorm"] = "lognorm"
    median: float = Field(gt=0.0, le=1e6, description="median m [severity unit]")
    sigma: float = Field(gt=0.0, le=5.0, description="standard deviation of ln S [-]")


class UniformSeverity(_Severity):
    """Uniform law on ``[low, high]``."""

    dist: Literal["uniform"] = "uniform"
    low: float = Field(ge=-1e6, le=1e6, description="lower bound [severity unit]")
    high: float = Field(ge=-1e6, le=1e6, description="upper bound [severity unit]")

    @model_validator(mode="after")
    def _ordered(self) -> "UniformSeverity":
        if not self.low < self.high:
            raise ValueError(f"low must be < high, got [{self.low}, {self.high}]")
        return self


#: A severity law, chosen by its ``dist`` field ("gev", "gpd", "lognorm", "uniform").
SeverityLaw = Annotated[
    GEVSeverity | GPDSeverity | LognormSeverity | UniformSeverity, Field(discriminator="dist")
]


@functools.lru_cache(maxsize=256)
def _frozen(law: _Severity) -> Any:
    if isinstance(law, GEVSeverity):
        return stats.genextreme(-law.shape, loc=law.loc, scale=law.scale)
    if isinstance(law, GPDSeverity):
        return stats.genpareto(law.shape, loc=law.threshold, scale=law.scale)
    if isinstance(law, LognormSeverity):
        return stats.lognorm(law.sigma, scale=law.median)
    if isinstance(law, UniformSeverity):
        return stats.uniform(loc=law.low, scale=law.high - law.low)
    raise TypeError(f"unknown severity law {law!r}")


def _trunc_inverse(dist: Any, a: np.ndarray, b: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse CDF of ``dist`` truncated to ``[a, b]`` at ``u`` in [0, 1).

    Works on the CDF side in the lower half and on the survival side in the upper half so
    that deep-tail draws keep their precision.
    """
    fa, fb = dist.cdf(a), dist.cdf(b)
    sa, sb = dist.sf(a), dist.sf(b)
    p = fa + u * (fb - fa)
    q = sa - u * (sa - sb)
    with np.errstate(invalid="ignore"):
        s = np.where(p < 0.5, dist.ppf(np.clip(p, 0.0, 1.0)), dist.isf(np.clip(q, 0.0, 1.0)))
    return np.clip(s, a, b)


def _log_mass(dist: Any, a: float, b: float) -> float:
    """``log P(a <= S <= b)`` without cancellation in either tail."""
    fa, fb = float(dist.cdf(a)), float(dist.cdf(b))
    if fb <= 0.5:
        m = fb - fa
    else:
        m = float(dist.sf(a)) - float(dist.sf(b))
    return math.log(m) if m > 0.0 else -math.inf


@functools.lru_cache(maxsize=256)
def _bounds(law: _Severity, rng_: tuple[float, float] | None) -> tuple[float, float]:
    assert rng_ is not None
    slo, shi = law.support()
    return max(rng_[0], slo), min(rng_[1], shi)


@functools.lru_cache(maxsize=256)
def _range_log_mass(law: _Severity, rng_: tuple[float, float] | None) -> float:
    assert rng_ is not None
    return _log_mass(law.frozen(), rng_[0], rng_[1])


# --------------------------------------------------------------------------- seasonality


@functools.lru_cache(maxsize=64)
def _vm_table(kappa: float) -> tuple[np.ndarray, np.ndarray]:
    """Von Mises CDF on one period ``[-pi, pi]`` (for initial guesses of the inversion)."""
    phi = np.linspace(-np.pi, np.pi, 4097)
    g = _vm_cdf(phi, kappa)
    g[0], g[-1] = 0.0, 1.0
    return phi, np.maximum.accumulate(g)


def _vm_cdf(phi: np.ndarray, kappa: float) -> np.ndarray:
    """Unwrapped von Mises CDF: 0 at ``-pi``, +1 per period (monotone on the real line)."""
    phi = np.asarray(phi, dtype=np.float64)
    if kappa == 0.0:
        return (phi + np.pi) / _TWO_PI
    return stats.vonmises.cdf(phi, kappa)


def _vm_pdf(phi: np.ndarray, kappa: float) -> np.ndarray:
    """Von Mises density [rad-1], overflow-free (``i0e``)."""
    return np.exp(kappa * (np.cos(phi) - 1.0)) / (_TWO_PI * i0e(kappa))


def _vm_inverse(g: np.ndarray, kappa: float, lo: float, hi: float) -> np.ndarray:
    """Solve ``_vm_cdf(phi) = g`` for ``phi`` in ``[lo, hi]`` (safeguarded Newton)."""
    g = np.asarray(g, dtype=np.float64)
    if kappa == 0.0:
        return np.clip(g * _TWO_PI - np.pi, lo, hi)
    whole = np.floor(g)
    phi_t, g_t = _vm_table(kappa)
    r = g - whole
    k = np.clip(np.searchsorted(g_t, r), 1, len(g_t) - 1)
    a = phi_t[k - 1] + _TWO_PI * whole
    b = phi_t[k] + _TWO_PI * whole
    a, b = np.maximum(a, lo), np.minimum(b, hi)
    phi = np.clip(np.interp(r, g_t, phi_t) + _TWO_PI * whole, a, b)
    for _ in range(12):
        f = _vm_cdf(phi, kappa) - g
        if np.all(np.abs(f) <= 4e-16 * np.maximum(np.abs(g), 1.0)):
            break
        a = np.where(f < 0.0, phi, a)
        b = np.where(f > 0.0, phi, b)
        d = _vm_pdf(phi, kappa)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = phi - f / d
        ok = np.isfinite(step) & (step > a) & (step < b)
        phi = np.where(ok, step, 0.5 * (a + b))
    return np.clip(phi, lo, hi)


_FAR = 1e-6  # windows holding less than this share of a year are handled in log space


def _reduce(lo: float, hi: float) -> tuple[float, float]:
    """Shift ``[lo, hi]`` by whole periods so that ``lo`` lies in ``[-pi, pi)``."""
    k = math.floor((lo + np.pi) / _TWO_PI)
    return lo - _TWO_PI * k, hi - _TWO_PI * k


def _vm_bins(kappa: float, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Edges of bins over which ``kappa cos`` varies by at most 0.25, and per-bin log maxima."""
    k = max(1, math.ceil(kappa * (hi - lo) / 0.25))
    edges = np.linspace(lo, hi, k + 1)
    le = kappa * (np.cos(edges) - 1.0)
    lmax = np.maximum(le[:-1], le[1:])
    peak_inside = np.ceil(edges[:-1] / _TWO_PI) <= np.floor(edges[1:] / _TWO_PI)
    return edges, np.where(peak_inside, 0.0, lmax)


def _vm_window_mass(kappa: float, lo: float, hi: float) -> float:
    """Von Mises probability of the arc ``[lo, hi]`` (unwrapped, may exceed 1).

    From the CDF, or, when the arc holds less than ``_FAR`` (far from the peak, where the
    CDF has lost its relative precision), by Gauss-Legendre quadrature of the density.
    """
    lo, hi = _reduce(lo, hi)
    g = _vm_cdf(np.array([lo, hi]), kappa)
    mass = float(g[1] - g[0])
    if mass >= _FAR or kappa == 0.0:
        return mass
    edges, _ = _vm_bins(kappa, lo, hi)
    x, w = np.polynomial.legendre.leggauss(16)
    mid, half = 0.5 * (edges[:-1] + edges[1:]), 0.5 * np.diff(edges)
    phi = mid[:, None] + half[:, None] * x[None, :]
    vals = np.exp(kappa * (np.cos(phi) - 1.0)) @ w
    return float(np.sum(half * vals) / (_TWO_PI * i0e(kappa)))


def _vm_sample_far(n: int, kappa: float, lo: float, hi: float, rng: np.random.Generator) -> np.ndarray:
    """``n`` angles from the von Mises law restricted to ``[lo, hi]``, by exact rejection.

    Envelope: piecewise constant at each bin's maximum of the density (acceptance >= 0.78).
    """
    edges, lmax = _vm_bins(kappa, lo, hi)
    logw = lmax + np.log(np.diff(edges))
    prob = np.exp(logw - logw.max())
    prob /= prob.sum()
    out: list[np.ndarray] = []
    need = n
    while need > 0:
        m = need + 8 + need // 3
        j = rng.choice(len(prob), size=m, p=prob)
        phi = edges[j] + (edges[j + 1] - edges[j]) * rng.random(m)
        keep = rng.random(m) < np.exp(kappa * (np.cos(phi) - 1.0) - lmax[j])
        out.append(phi[keep][:need])
        need -= len(out[-1])
    return np.clip(np.concatenate(out), lo, hi) if out else np.empty(0)


# --------------------------------------------------------------------------- the model


class NaturalModel(BaseModel):
    """The natural law of one event type: seasonal Poisson onsets with random marks.

    Parameters
    ----------
    type : str
        Event-type name (a key of :data:`twinforge.core.registry.EVENTS`, or a type a
        later module registers).
    rate_per_year : float
        Mean number of events per year :math:`R` [yr-1].
    season_peak_doy : float
        Day of the year of the highest onset intensity :math:`d_{peak}` [day, 1-366.25).
    season_concentration : float
        Von Mises concentration :math:`\\kappa` [-]; 0 spreads onsets uniformly.
    duration_median_h, duration_sigma : float
        Lognormal duration: median [h] and standard deviation of its logarithm [-].
    severity : SeverityLaw
        Severity law (``dist`` = "gev" | "gpd" | "lognorm" | "uniform" with its parameters).
    severity_range : tuple of float, optional
        Allowed severities ``(low, high)`` in the type's unit; the law is truncated to it.
        Defaults to the registered type's ``severity_range``; required for types that are
        not registered yet; must lie inside the registered range.
    source : str
        Where the numbers come from (free text, for the documentation).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> m = NATURAL_MODELS["heat_wave"]
    >>> start = pd.Timestamp("2024-06-01", tz="UTC")
    >>> 0.4 < m.expected_count(start, 92.0) < 1.0
    True
    >>> ev = m.sample(start, 92.0, np.random.default_rng(3))
    >>> all(start <= e["start"] < start + pd.Timedelta(days=92) for e in ev)
    True
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str = Field(min_length=1, max_length=64, description="event-type name")
    rate_per_year: float = Field(gt=0.0, le=1e5, description="mean events per year [yr-1]")
    season_peak_doy: float = Field(1.0, ge=0.0, lt=366.25, description="peak day of year [day]")
    season_concentration: float = Field(0.0, ge=0.0, le=100.0, description="von Mises kappa [-]")
    duration_median_h: float = Field(gt=0.0, le=24.0 * 366, description="median duration [h]")
    duration_sigma: float = Field(gt=0.0, le=3.0, description="sd of ln(duration) [-]")
    severity: SeverityLaw
    severity_range: tuple[float, float] | None = Field(
        None, description="allowed severities (low, high) [severity unit]"
    )
    source: str = Field("", max_length=2000, description="provenance of the parameters")
    in_progress: bool = Field(
        True, description="also draw the events already in progress when the window opens"
    )

    @field_validator("type")
    @classmethod
    def _name(cls, v: str) -> str:
        if not v.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"type must be alphanumeric/underscore, got {v!r}")
        return v

    @model_validator(mode="before")
    @classmethod
    def _default_range(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and data.get("severity_range") is None:
            name = data.get("type")
            if isinstance(name, str) and name in EVENTS:
                data = {**data, "severity_range": tuple(EVENTS.get(name).severity_range)}
        return data

    @model_validator(mode="after")
    def _check_range(self) -> "NaturalModel":
        if self.severity_range is None:
            raise ValueError(
                f"severity_range is required for {self.type!r}, which is not a registered event type"
            )
        lo, hi = self.severity_range
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"severity_range must be finite with low < high, got {self.severity_range}")
        if self.type in EVENTS:
            rlo, rhi = EVENTS.get(self.type).severity_range
            if lo < rlo or hi > rhi:
                raise ValueError(
                    f"severity_range {self.severity_range} must lie within the registered range "
                    f"[{rlo}, {rhi}] of {self.type!r}"
                )
        if self.severity_log_mass() == -math.inf:
            raise ValueError(f"the severity law puts no probability in severity_range {self.severity_range}")
        return self

    # ----------------------------------------------------------------- seasonality

    def _phase(self, days_since_epoch: np.ndarray | float) -> np.ndarray:
        """Unwrapped angle of the seasonal cycle [rad] (0 at the peak)."""
        x = np.asarray(days_since_epoch, dtype=np.float64)
        return _TWO_PI * (x + 1.0 - self.season_peak_doy) / YEAR_DAYS

    def onset_density(self, doy: Any) -> np.ndarray | float:
        """Seasonal density of the onset day :math:`f_{season}(d)` [day-1].

        Integrates to 1 over any 365.25-day year. ``doy`` is the continuous day of the year
        (see :func:`day_of_year`); scalar in, float out.
        """
        d = np.asarray(doy, dtype=np.float64)
        out = _vm_pdf(_TWO_PI * (d - self.season_peak_doy) / YEAR_DAYS, self.season_concentration)
        out = out * _TWO_PI / YEAR_DAYS
        return float(out) if out.ndim == 0 else out

    def onset_cdf(self, doy: Any) -> np.ndarray | float:
        """CDF of the onset day of the year on ``[1, 366.25)``: :math:`\\int_1^d f_{season}`."""
        d = np.asarray(doy, dtype=np.float64)
        k = self.season_concentration
        phi = _TWO_PI * (d - self.season_peak_doy) / YEAR_DAYS
        phi0 = _TWO_PI * (1.0 - self.season_peak_doy) / YEAR_DAYS
        out = _vm_cdf(phi, k) - _vm_cdf(np.asarray(phi0), k)
        return float(out) if out.ndim == 0 else out

    def intensity(self, time: Any) -> np.ndarray | float:
        """Onset intensity :math:`\\lambda(t) = R f_{season}(d(t))` [events day-1]."""
        return self.rate_per_year * self.onset_density(day_of_year(time))

    def expected_count(self, start: Any, days: float) -> float:
        """Expected number of onsets :math:`\\Lambda` in ``[start, start + days)`` [-].

        Parameters
        ----------
        start : timestamp-like
            Start of the horizon (naive times are UTC).
        days : float
            Horizon [day], > 0.
        """
        _check_days(days)
        return _expected_count(self, _days_since_epoch(start), float(days))

    # ----------------------------------------------------------------- marks

    def severity_bounds(self) -> tuple[float, float]:
        """Effective severity interval: ``severity_range`` intersected with the law's support."""
        return _bounds(self.severity, self.severity_range)

    def severity_log_mass(self) -> float:
        """Log probability of ``severity_range`` under the untruncated law (truncation constant)."""
        return _range_log_mass(self.severity, self.severity_range)

    def severity_logpdf(self, s: Any) -> np.ndarray | float:
        """Log density of the truncated severity law [log (severity unit)-1].

        ``-inf`` outside the allowed range.
        """
        s = np.asarray(s, dtype=np.float64)
        lo, hi = self.severity_range  # type: ignore[misc]
        with np.errstate(divide="ignore"):
            out = self.severity.frozen().logpdf(s) - self.severity_log_mass()
        out = np.where((s >= lo) & (s <= hi), out, -np.inf)
        return float(out) if out.ndim == 0 else out

    def severity_sf(self, s: Any) -> np.ndarray | float:
        """Survival function :math:`P(S > s)` of the truncated severity law [-]."""
        s = np.asarray(s, dtype=np.float64)
        lo, hi = self.severity_range  # type: ignore[misc]
        dist = self.severity.frozen()
        c = np.clip(s, lo, hi)
        num = np.where(dist.cdf(c) <= 0.5, dist.cdf(hi) - dist.cdf(c), dist.sf(c) - dist.sf(hi))
        out = np.clip(num / math.exp(self.severity_log_mass()), 0.0, 1.0)
        return float(out) if out.ndim == 0 else out

    def sample_severities(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` severities from the truncated law (exact inversion, one uniform each)."""
        u = rng.random(n)
        lo, hi = self.severity_range  # type: ignore[misc]
        return _trunc_inverse(self.severity.frozen(), np.full(n, lo), np.full(n, hi), u)

    def duration_logpdf(self, duration_h: Any) -> np.ndarray | float:
        """Log density of the lognormal duration [log h-1]."""
        d = np.asarray(duration_h, dtype=np.float64)
        sig = self.duration_sigma
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.log(d / self.duration_median_h) / sig
            out = -np.log(d * sig * math.sqrt(_TWO_PI)) - 0.5 * z * z
        out = np.where(d > 0.0, out, -np.inf)
        return float(out) if out.ndim == 0 else out

    def sample_durations(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` lognormal durations [h]."""
        return self.duration_median_h * np.exp(self.duration_sigma * rng.standard_normal(n))

    # ----------------------------------------------------------------- the process

    def sample_onsets(self, n: int, start: Any, days: float, rng: np.random.Generator) -> np.ndarray:
        """``n`` independent onsets from the normalised intensity on the horizon.

        Returns offsets from ``start`` [day], unsorted, in ``[0, days)``. Drawn by
        inverting the cumulative intensity (one uniform each), or, for a window holding
        less than 1e-6 of the year's events (far from the season), by exact rejection
        from a piecewise-constant envelope, where the CDF has no relative precision left.
        """
        _check_days(days)
        if n == 0:
            return np.empty(0)
        kappa = self.season_concentration
        x0 = _days_since_epoch(start)
        p0, p1 = self._phase(np.array([x0, x0 + days]))
        lo, hi = _reduce(p0, p1)
        shift = p0 - lo
        if kappa > 0.0 and _vm_window_mass(kappa, lo, hi) < _FAR:
            phi = _vm_sample_far(n, kappa, lo, hi, rng)
        else:
            g = _vm_cdf(np.array([lo, hi]), kappa)
            phi = _vm_inverse(g[0] + rng.random(n) * (g[1] - g[0]), kappa, lo, hi)
        t = (phi + shift) * YEAR_DAYS / _TWO_PI + self.season_peak_doy - 1.0 - x0
        return np.clip(t, 0.0, np.nextafter(days, 0.0))

    def sample(self, start: Any, days: float, rng: np.random.Generator) -> list[dict[str, Any]]:
        """Events of this type over ``[start, start + days)`` under the natural law.

        Parameters
        ----------
        start : timestamp-like
            Start of the horizon (naive times are UTC).
        days : float
            Horizon [day].
        rng : numpy.random.Generator
            Source of randomness (count, then onsets, durations, severities).

        Returns
        -------
        list of dict
            ``{"type", "start" (UTC Timestamp), "duration_h" [h], "severity"}``, by onset.
        """
        n = int(rng.poisson(self.expected_count(start, days)))
        return self._assemble(n, start, days, rng)

    def _assemble(
        self, n: int, start: Any, days: float, rng: np.random.Generator, severities: Any = None,
        durations: Any = None,
    ) -> list[dict[str, Any]]:
        t = self.sample_onsets(n, start, days, rng)
        d = self.sample_durations(n, rng) if durations is None else durations(n, rng)
        s = self.sample_severities(n, rng) if severities is None else severities(n, rng)
        return make_events(self.type, start, t, d, s)

    # ----------------------------------------------------------------- in progress at the start

    def lookback_days(self) -> float:
        """How far back an onset can still reach the window: :math:`L` [day].

        The duration's :math:`1 - 10^{-9}` quantile, at most 366 days.
        """
        return min(self.duration_median_h * math.exp(self.duration_sigma * _Z_LOOKBACK) / 24.0, 366.0)

    def in_progress_count(self, start: Any) -> float:
        """Expected number of events in progress at ``start``, :math:`\\Lambda_c` [-].

        0 when ``in_progress`` is off. Gauss-Legendre quadrature of
        :math:`\\lambda(t_0 - a) P(D > a)` over the lookback, on pieces shorter than a
        quarter of the median duration and than a day.
        """
        if not self.in_progress:
            return 0.0
        return _in_progress_count(self, _days_since_epoch(start))

    def active_count(self, start: Any, days: float) -> float:
        """Expected number of events active in the window: onsets in it plus those in progress [-]."""
        return self.expected_count(start, days) + self.in_progress_count(start)

    def sample_in_progress(
        self, start: Any, rng: np.random.Generator, n: int | None = None, severities: Any = None
    ) -> list[dict[str, Any]]:
        """The events already in progress at ``start``, placed at ``start``.

        Parameters
        ----------
        start : timestamp-like
            Start of the window (naive times are UTC).
        rng : numpy.random.Generator
            Source of randomness (count, then candidates by rejection, then severities).
        n : int, optional
            Their number; drawn from Poisson(:meth:`in_progress_count`) when omitted.
        severities : callable, optional
            ``severities(n, rng)`` drawing their severities (a proposal's biased law);
            the natural law by default.

        Returns
        -------
        list of dict
            ``{"type", "start" (= start), "duration_h" (what is left of it) [h],
            "severity", "in_progress": True, "elapsed_h" [h], "params"}``; ``params`` holds
            the age under the type's ``in_progress_param`` (weather events), or is empty
            (the event is simply clipped to the window). Empty when ``in_progress`` is off.
        """
        if not self.in_progress:
            return []
        start = _utc(start)
        if n is None:
            n = int(rng.poisson(self.in_progress_count(start)))
        if n == 0:
            return []
        lookback = self.lookback_days()
        origin = start - pd.Timedelta(days=lookback)
        ages: list[np.ndarray] = []
        durations: list[np.ndarray] = []
        accept = self.in_progress_count(start) / max(self.expected_count(origin, lookback), 1e-300)
        need, batch = n, min(int(1.5 * n / max(accept, 1e-6)) + 16, 1 << 20)
        for _ in range(10_000):
            onset = self.sample_onsets(batch, origin, lookback, rng)
            age = lookback - onset  # [day], in (0, lookback]
            d = self.sample_durations(batch, rng)
            keep = d > 24.0 * age
            ages.append(age[keep][:need])
            durations.append(d[keep][:need])
            need -= len(ages[-1])
            if need <= 0:
                break
            batch = min(batch * 2, 1 << 20)
        else:  # pragma: no cover - needs an acceptance below 1e-9
            raise RuntimeError(f"could not draw the {self.type!r} events in progress at {start}")
        age_h = 24.0 * np.concatenate(ages)
        left_h = np.concatenate(durations) - age_h
        sev = self.sample_severities(n, rng) if severities is None else severities(n, rng)
        key = getattr(EVENTS.get(self.type), "in_progress_param", None) if self.type in EVENTS else None
        return [
            {
                "type": self.type,
                "start": start,
                "duration_h": float(left_h[i]),
                "severity": float(sev[i]),
                "in_progress": True,
                "elapsed_h": float(age_h[i]),
                "params": {key: float(age_h[i])} if key else {},
            }
            for i in np.argsort(-age_h, kind="stable")
        ]

    def in_progress_log_likelihood(self, events: Iterable[Mapping[str, Any]], start: Any) -> float:
        """Log density of the events of this type in progress at ``start``.

        :math:`-\\Lambda_c + \\sum_j [\\ln \\lambda(t_0 - a_j) + \\ln f_D(a_j + l_j) + \\ln f_S(s_j)]`
        with respect to age :math:`a` [day], total duration [h] and severity (:math:`l_j` the
        duration left; the density is 0 unless :math:`a_j` is shorter than the duration).
        """
        a, d, s = _in_progress_arrays(events, self.type)
        ll = -self.in_progress_count(start)
        if a.size:
            x = _days_since_epoch(start) - a
            dens = _vm_pdf(self._phase(x), self.season_concentration) * _TWO_PI / YEAR_DAYS
            with np.errstate(divide="ignore"):
                ll += float(np.sum(np.log(self.rate_per_year * dens)))
            ll += float(np.sum(self.duration_logpdf(d))) + float(np.sum(self.severity_logpdf(s)))
        return ll

    def log_likelihood(self, events: Iterable[Mapping[str, Any]], start: Any, days: float) -> float:
        """Log density of ``events`` under this process on ``[start, start + days)``.

        :math:`\\ell = -\\Lambda + \\sum_i [\\ln \\lambda(t_i) + \\ln f_D(d_i) + \\ln f_S(s_i)]`,
        with :math:`\\lambda` in events per day. Events of other types, and events in
        progress at the start (``in_progress``), whose law no proposal changes, are ignored.

        Raises
        ------
        ValueError
            If an event of this type starts outside the horizon.
        """
        t, d, s = _event_arrays(events, self.type, start, days)
        ll = -self.expected_count(start, days)
        if len(t):
            x = _days_since_epoch(start) + t
            dens = _vm_pdf(self._phase(x), self.season_concentration) * _TWO_PI / YEAR_DAYS
            with np.errstate(divide="ignore"):
                ll += float(np.sum(np.log(self.rate_per_year * dens)))
            ll += float(np.sum(self.duration_logpdf(d))) + float(np.sum(self.severity_logpdf(s)))
        return ll


#: Standard normal quantile of 1 - 1e-9: the lookback covers all but 1e-9 of the durations.
_Z_LOOKBACK = 5.997807015


@functools.lru_cache(maxsize=1024)
def _expected_count(model: NaturalModel, x0: float, days: float) -> float:
    """:math:`\\Lambda` of ``model`` over ``days`` from ``x0`` days since the epoch (cached: campaigns ask often)."""
    ph = model._phase(np.array([x0, x0 + days]))
    return model.rate_per_year * _vm_window_mass(model.season_concentration, ph[0], ph[1])


@functools.lru_cache(maxsize=1024)
def _in_progress_count(model: NaturalModel, x0: float) -> float:
    """:math:`\\Lambda_c` of ``model`` at ``x0`` days since the epoch (see the module docstring)."""
    lookback = model.lookback_days()
    width = min(1.0, model.duration_median_h / 24.0 / 4.0)
    k = min(20_000, max(1, math.ceil(lookback / width)))
    edges = np.linspace(0.0, lookback, k + 1)
    x, w = np.polynomial.legendre.leggauss(16)
    mid, half = 0.5 * (edges[:-1] + edges[1:]), 0.5 * np.diff(edges)
    age = (mid[:, None] + half[:, None] * x[None, :]).ravel()
    dens = _vm_pdf(model._phase(x0 - age), model.season_concentration) * _TWO_PI / YEAR_DAYS
    z = np.log(24.0 * age / model.duration_median_h) / model.duration_sigma
    survive = 0.5 * special.erfc(z / math.sqrt(2.0))
    integrand = (model.rate_per_year * dens * survive).reshape(k, 16)
    return float(np.sum(half * (integrand @ w)))


def _check_days(days: float) -> None:
    if not (np.isfinite(days) and days > 0):
        raise ValueError(f"days must be a positive finite number, got {days!r}")


def _in_progress_arrays(events: Iterable[Mapping[str, Any]], type_: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Age [day], total duration [h] and severity of the events of ``type_`` in progress."""
    mine = [e for e in events if e["type"] == type_ and e.get("in_progress", False)]
    age_h = np.array([e["elapsed_h"] for e in mine], dtype=np.float64)
    total_h = age_h + np.array([e["duration_h"] for e in mine], dtype=np.float64)
    return age_h / 24.0, total_h, np.array([e["severity"] for e in mine], dtype=np.float64)


def make_events(
    type_: str, start: Any, t_days: np.ndarray, duration_h: np.ndarray, severity: np.ndarray
) -> list[dict[str, Any]]:
    """Event dicts sorted by onset from offsets [day], durations [h] and severities."""
    start = _utc(start)
    order = np.argsort(t_days, kind="stable")
    return [
        {
            "type": type_,
            "start": start + pd.Timedelta(days=float(t_days[i])),
            "duration_h": float(duration_h[i]),
            "severity": float(severity[i]),
        }
        for i in order
    ]


def _event_arrays(
    events: Iterable[Mapping[str, Any]], type_: str, start: Any, days: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Onset offsets [day], durations [h] and severities of the events of ``type_``."""
    _check_days(days)
    start = _utc(start)
    mine = [e for e in events if e["type"] == type_ and not e.get("in_progress", False)]
    t = np.array([(_utc(e["start"]) - start) / _DAY for e in mine], dtype=np.float64)
    if len(t) and (t.min() < 0.0 or t.max() >= days):
        raise ValueError(f"an event of {type_!r} starts outside the horizon [start, start + {days} d)")
    d = np.array([e["duration_h"] for e in mine], dtype=np.float64)
    s = np.array([e["severity"] for e in mine], dtype=np.float64)
    return t, d, s


# --------------------------------------------------------------------------- defaults

_HEAT_SOURCE = (
    "Meteo-France national heat waves: national thermal indicator (mean daily temperature "
    "of 30 stations) >= 25.3 C on at least one day and >= 23.4 C for at least 3 days; "
    "43 waves 1947-2021, 19 of them 2010-2021 (about 0.6/yr over the record, 1.5/yr "
    "since 2010); record peak 29.4 C (25 July 2019, 5 August 2003) against a July-August "
    "normal near 21 C. Chosen here, not fitted: 1 wave/yr (present climate), onset peak "
    "on 19 July with kappa = 5 (circular sd ~26 days: mid-June to late August); duration "
    "median 4.5 days, 90 % within 2.3-8.7 days; severity = peak anomaly of the daily mean "
    "[K], GEV(mu=4.8, sigma=1.1, xi=-0.2) (negative shape as usual for temperature "
    "maxima, Coles 2001 ch. 3): median 5.2 K, 1 wave in 50 above ~7.7 K, upper bound "
    "10.3 K. Local anomalies at one site are larger than national ones; scale the law "
    "for a site."
)
_COLD_SOURCE = (
    "Regional cold spells, deliberately more frequent than Meteo-France's national 'vagues "
    "de froid' (national thermal indicator, about 0.25/yr since 1947 and fewer recently). "
    "Chosen, not fitted: 1 spell/yr peaking on 20 January (kappa = 3, sd ~34 days); "
    "duration median 5 days; severity = peak negative anomaly of the daily mean [K, "
    "positive number], GEV(mu=6, sigma=1.8, xi=-0.15): median 6.6 K, upper bound 18 K."
)
_STORM_SOURCE = (
    "Placeholder (no 'storm' type registered yet). Winter windstorms over France: "
    "2 per year with gusts above 28 m/s (~100 km/h) at a site, peaking in mid-January "
    "(kappa = 1.5); severity = peak gust [m s-1] as a GPD of exceedances of 28 m/s "
    "(sigma = 4 m/s, xi = -0.1; peaks-over-threshold, Coles 2001 ch. 4); duration median "
    "12 h."
)
_FEEDER_SOURCE = (
    "Placeholder (no 'feeder_fault' type registered yet). Medium-voltage feeder faults: "
    "order of 5-10 faults per 100 km of overhead line and year, i.e. ~1/yr for a 10-15 km "
    "feeder, slightly more in winter (kappa = 0.5); duration = repair/restoration time, "
    "lognormal median 2 h, sigma 0.8 (CAIDI-like; IEEE Std 1366-2012 definitions); "
    "severity = share of the feeder's customers interrupted [-], uniform on [0.1, 1]."
)
_OUTAGE_SOURCE = (
    "Placeholder (no 'outage' type registered yet). Unplanned interruptions seen by one "
    "customer: ~1 per year (SAIFI of European DSOs mostly 0.2-2 in CEER Benchmarking "
    "Report 6.1, 2018; US utilities ~1-1.5 under IEEE Std 1366), no seasonality; "
    "duration lognormal median 1.5 h, sigma 1.0 (CAIDI typically 1-2 h; heavy tail of "
    "storm restorations); severity = share of the load not served [-], uniform [0.2, 1]."
)
_BEARING_SOURCE = (
    "Placeholder (no 'bearing_fault' type registered yet). Injected bearing-defect onsets "
    "at 0.2 per machine-year, no seasonality; duration = time from onset to end of the "
    "labelled fault window, median 30 days, sigma 1.0; severity = initial spall size [mm], "
    "lognormal median 0.5 mm, sigma 0.5, in [0.01, 5]. Emergent faults of the machine "
    "twin come from processes/degradation.py (Weibull onset), not from this model."
)

#: Default natural models keyed by event-type name (see each model's ``source``). May
#: hold models for types that later modules register.
NATURAL_MODELS: dict[str, NaturalModel] = {
    m.type: m
    for m in (
        NaturalModel(
            type="heat_wave",
            rate_per_year=1.0,
            season_peak_doy=200.0,
            season_concentration=5.0,
            duration_median_h=108.0,
            duration_sigma=0.4,
            severity=GEVSeverity(loc=4.8, scale=1.1, shape=-0.2),
            source=_HEAT_SOURCE,
        ),
        NaturalModel(
            type="cold_snap",
            rate_per_year=1.0,
            season_peak_doy=20.0,
            season_concentration=3.0,
            duration_median_h=120.0,
            duration_sigma=0.45,
            severity=GEVSeverity(loc=6.0, scale=1.8, shape=-0.15),
            source=_COLD_SOURCE,
        ),
        NaturalModel(
            type="storm",
            rate_per_year=2.0,
            season_peak_doy=15.0,
            season_concentration=1.5,
            duration_median_h=12.0,
            duration_sigma=0.5,
            severity=GPDSeverity(threshold=28.0, scale=4.0, shape=-0.1),
            severity_range=(28.0, 70.0),
            source=_STORM_SOURCE,
        ),
        NaturalModel(
            type="feeder_fault",
            rate_per_year=1.0,
            season_peak_doy=15.0,
            season_concentration=0.5,
            duration_median_h=2.0,
            duration_sigma=0.8,
            severity=UniformSeverity(low=0.1, high=1.0),
            severity_range=(0.0, 1.0),
            source=_FEEDER_SOURCE,
        ),
        NaturalModel(
            type="outage",
            rate_per_year=1.0,
            season_concentration=0.0,
            duration_median_h=1.5,
            duration_sigma=1.0,
            severity=UniformSeverity(low=0.2, high=1.0),
            severity_range=(0.0, 1.0),
            source=_OUTAGE_SOURCE,
        ),
        NaturalModel(
            type="bearing_fault",
            rate_per_year=0.2,
            season_concentration=0.0,
            duration_median_h=720.0,
            duration_sigma=1.0,
            severity=LognormSeverity(median=0.5, sigma=0.5),
            severity_range=(0.01, 5.0),
            source=_BEARING_SOURCE,
        ),
    )
}
