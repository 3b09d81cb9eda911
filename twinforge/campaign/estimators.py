"""Weighted estimators of campaign statistics: means, probabilities, return levels.

A campaign run :math:`i` yields a statistic :math:`Y_i` (a peak indoor temperature, an
indicator of overheating, the energy not served) and a weight :math:`w_i`: 1 under plain
Monte Carlo, the likelihood ratio :math:`p/q` under importance sampling
(:func:`twinforge.events.sampling.sample_events`), :math:`P_h N / n_h` for a stratified
plan. Two estimators of :math:`\\mu = E_p[Y]` are offered (Owen 2013, *Monte Carlo theory,
methods and examples*, ch. 9):

- ``kind="unbiased"`` (the default; importance-sampling or Horvitz-Thompson form):
  :math:`\\hat\\mu = \\frac1n \\sum_i w_i Y_i`, unbiased when the weights are exact
  likelihood ratios (:math:`E_q[w] = 1`), as twinforge's are. Standard error
  :math:`s(w Y)/\\sqrt n`.
- ``kind="self_normalised"``: :math:`\\tilde\\mu = \\sum_i w_i Y_i / \\sum_i w_i`, for weights
  known up to a constant; biased by :math:`O(1/n)`, often of smaller variance. Delta-method
  standard error :math:`\\sqrt{\\sum_i w_i^2 (Y_i - \\tilde\\mu)^2} / \\sum_i w_i` (times
  :math:`\\sqrt{n/(n-1)}`, so that equal weights give the plain :math:`s/\\sqrt n`).

Confidence intervals are normal approximations at the given level; the effective sample
size is Kish's :math:`(\\sum w)^2 / \\sum w^2` (Kish 1965, *Survey Sampling*). With heavy-tailed
weights (ESS << n) both the estimate and its standard error are unreliable.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import optimize, stats

__all__ = [
    "Estimate",
    "kish_ess",
    "weighted_mean",
    "weighted_probability",
    "expected_value",
    "stratified_mean",
    "exceedance_probability",
    "return_level",
    "variance_reduction_factor",
]

Kind = Literal["unbiased", "self_normalised"]


@dataclass(frozen=True)
class Estimate:
    """A Monte Carlo estimate with its uncertainty.

    Attributes
    ----------
    value : float
        The estimate, in the unit of the statistic.
    std_error : float
        Its standard error, same unit.
    ci_low, ci_high : float
        Normal-approximation confidence interval at ``level``.
    ess : float
        Kish effective sample size [-].
    n : int
        Number of runs.
    level : float
        Confidence level of the interval [-].
    """

    value: float
    std_error: float
    ci_low: float
    ci_high: float
    ess: float
    n: int
    level: float = 0.95


def _arrays(values: Any, weights: Any) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(values, dtype=np.float64).ravel()
    if y.size == 0:
        raise ValueError("values is empty")
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    if w.shape != y.shape:
        raise ValueError(f"values and weights differ in length ({y.size} vs {w.size})")
    if np.isnan(y).any() or np.isnan(w).any():
        raise ValueError("values and weights must not contain NaN (drop failed runs explicitly)")
    if not np.all(np.isfinite(w)) or (w < 0).any():
        raise ValueError("weights must be finite and non-negative")
    if not np.isfinite(y).all():
        raise ValueError("values must be finite")
    return y, w


def kish_ess(weights: Any) -> float:
    """Kish effective sample size :math:`(\\sum w)^2 / \\sum w^2` [-]; n for equal weights.

    Examples
    --------
    >>> kish_ess([1.0, 1.0, 1.0, 1.0])
    4.0
    """
    w = np.asarray(weights, dtype=np.float64).ravel()
    s2 = float(np.sum(w * w))
    return float(np.sum(w)) ** 2 / s2 if s2 > 0 else 0.0


def _estimate(value: float, se: float, ess: float, n: int, level: float) -> Estimate:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    z = float(stats.norm.isf((1.0 - level) / 2.0))
    return Estimate(value, se, value - z * se, value + z * se, ess, n, level)


def weighted_mean(
    values: Any, weights: Any = None, *, kind: Kind = "unbiased", level: float = 0.95
) -> Estimate:
    """Weighted mean of a per-run statistic with its standard error and interval.

    Parameters
    ----------
    values : array_like of shape (n_runs,)
        The statistic of each run.
    weights : array_like of shape (n_runs,), optional
        Run weights (non-negative); None for plain Monte Carlo.
    kind : {"unbiased", "self_normalised"}
        Estimator (see the module docstring).
    level : float
        Confidence level of the normal-approximation interval.

    Returns
    -------
    Estimate

    Examples
    --------
    >>> e = weighted_mean([1.0, 2.0, 3.0, 4.0])
    >>> e.value, round(e.std_error, 4), e.ess
    (2.5, 0.6455, 4.0)
    """
    y, w = _arrays(values, weights)
    n = y.size
    ess = kish_ess(w)
    if kind == "unbiased":
        wy = w * y
        value = float(wy.mean())
        se = float(wy.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    elif kind == "self_normalised":
        sw = float(w.sum())
        if sw <= 0:
            raise ValueError("weights sum to 0")
        value = float(np.sum(w * y) / sw)
        # delta method, times sqrt(n / (n - 1)) so that equal weights give s / sqrt(n)
        se = math.sqrt(float(np.sum(w * w * (y - value) ** 2)) * n / (n - 1)) / sw if n > 1 else math.nan
    else:
        raise ValueError(f"kind must be 'unbiased' or 'self_normalised', got {kind!r}")
    return _estimate(value, se, ess, n, level)


def weighted_probability(
    indicator: Any, weights: Any = None, *, kind: Kind = "unbiased", level: float = 0.95
) -> Estimate:
    """Probability of an outcome from per-run indicators (0/1 or bool).

    As :func:`weighted_mean`, with the interval clipped to [0, 1]. With no hit the
    interval is [0, 0]: that only says that the probability is small compared with
    1/ESS (the "rule of three" bounds it by about 3/ESS at 95 %).
    """
    y = np.asarray(indicator)
    if y.dtype != bool and not np.isin(y, (0, 1)).all():
        raise ValueError("indicator must hold only 0/1 or booleans")
    e = weighted_mean(y.astype(np.float64), weights, kind=kind, level=level)
    return Estimate(e.value, e.std_error, max(e.ci_low, 0.0), min(e.ci_high, 1.0), e.ess, e.n, e.level)


def expected_value(
    x: Any, weights: Any = None, *, kind: Kind = "unbiased", level: float = 0.95
) -> Estimate:
    """Expected value of a per-run quantity (e.g. energy not served [J]) under the natural law.

    The same estimator as :func:`weighted_mean`, named for quantities such as damages and
    energies.
    """
    return weighted_mean(x, weights, kind=kind, level=level)


def stratified_mean(
    values: Any, strata: Sequence[str], probabilities: Mapping[str, float], *, level: float = 0.95
) -> Estimate:
    """Stratified estimate :math:`\\sum_h P_h \\bar Y_h` (Cochran 1977, *Sampling Techniques*, ch. 5).

    Parameters
    ----------
    values : array_like of shape (n_runs,)
        The statistic of each run.
    strata : sequence of str
        Stratum label of each run (``stratified_plan(...)[i]["stratum"]``).
    probabilities : dict of str to float
        Natural probability :math:`P_h` of every stratum
        (:func:`twinforge.events.sampling.stratum_probabilities`).

    Returns
    -------
    Estimate
        Standard error :math:`\\sqrt{\\sum_h P_h^2 s_h^2 / n_h}`; ``ess`` is Kish's for the
        run weights :math:`P_h / n_h`. Strata without runs contribute nothing; a
        :class:`UserWarning` gives their probability when it is not negligible (> 1e-9).
    """
    y, _ = _arrays(values, None)
    labels = np.asarray(list(strata), dtype=object)
    if labels.shape != y.shape:
        raise ValueError(f"values and strata differ in length ({y.size} vs {labels.size})")
    present = list(dict.fromkeys(labels.tolist()))
    unknown = [h for h in present if h not in probabilities]
    if unknown:
        raise ValueError(f"no probability for strata {unknown}")
    missing = sum(p for h, p in probabilities.items() if h not in present)
    if missing > 1e-9:
        warnings.warn(
            f"strata without runs hold probability {missing:.3g}; the estimate covers the rest",
            UserWarning,
            stacklevel=2,
        )
    value, var = 0.0, 0.0
    w = np.empty_like(y)
    for h in present:
        sel = labels == h
        p, yh = float(probabilities[h]), y[sel]
        value += p * float(yh.mean())
        var += p * p * (float(yh.var(ddof=1)) / yh.size if yh.size > 1 else math.nan)
        w[sel] = p / yh.size
    return _estimate(value, math.sqrt(var), kish_ess(w), y.size, level)


def exceedance_probability(values: Any, weights: Any, level: float) -> float:
    """Estimated :math:`P(Y \\ge \\text{level})` per run.

    :math:`\\frac1n \\sum_i w_i 1\\{Y_i \\ge \\text{level}\\}` (unbiased form; weights None = 1).
    """
    y, w = _arrays(values, weights)
    return float(np.sum(w * (y >= level)) / y.size)


def _gev_fit(y: np.ndarray, w: np.ndarray) -> tuple[float, float, float]:
    """Weighted maximum-likelihood GEV (scipy ``c`` convention): ``(c, loc, scale)``."""
    wn = w / w.sum()
    m = float(np.sum(wn * y))
    sd = math.sqrt(float(np.sum(wn * (y - m) ** 2))) or 1.0
    scale0 = sd * math.sqrt(6.0) / math.pi
    x0 = np.array([0.1, m - 0.5772 * scale0, math.log(scale0)])

    def nll(p: np.ndarray) -> float:
        ll = stats.genextreme.logpdf(y, p[0], loc=p[1], scale=math.exp(p[2]))
        return math.inf if not np.all(np.isfinite(ll[wn > 0])) else -float(np.sum(wn * ll))

    opts = {"xatol": 1e-8, "fatol": 1e-12, "maxiter": 4000}
    res = optimize.minimize(nll, x0, method="Nelder-Mead", options=opts)
    return float(res.x[0]), float(res.x[1]), float(math.exp(res.x[2]))


def return_level(
    values: Any,
    weights: Any,
    return_period_years: Any,
    runs_per_year: float = 1.0,
    *,
    method: Literal["empirical", "gev"] = "empirical",
) -> np.ndarray | float:
    """Level exceeded on average once every ``return_period_years`` (Coles 2001, ch. 3).

    Each run is one block of ``1 / runs_per_year`` years (a run of 30 days: ``runs_per_year
    = 365.25 / 30``) and ``values`` its maximum. The level :math:`x_T` solves
    :math:`P(Y \\ge x_T) = p_T` per run, with
    :math:`p_T = 1 - (1 - 1/T)^{1/\\text{runs\\_per\\_year}}` so that the annual exceedance
    probability is :math:`1/T`.

    Parameters
    ----------
    values : array_like of shape (n_runs,)
        Per-run maxima.
    weights : array_like of shape (n_runs,) or None
        Run weights (likelihood ratios), None for plain Monte Carlo.
    return_period_years : float or array_like
        :math:`T` [yr], > 1.
    runs_per_year : float
        Blocks per year [yr-1].
    method : {"empirical", "gev"}
        ``"empirical"``: the weighted exceedance curve
        :math:`\\hat P(Y \\ge y) = \\frac1n \\sum_i w_i 1\\{Y_i \\ge y\\}`, interpolated
        log-linearly between runs; NaN where :math:`p_T` is rarer than the largest run's
        estimated exceedance (no extrapolation). ``"gev"``: a weighted maximum-likelihood
        GEV fit to the maxima (weights normalised), then its quantile; it extrapolates,
        with the usual caution.

    Returns
    -------
    float or ndarray
        Return level(s), in the unit of ``values``.
    """
    y, w = _arrays(values, weights)
    t = np.asarray(return_period_years, dtype=np.float64)
    if not np.all(t > 1.0):
        raise ValueError("return_period_years must be > 1")
    if not runs_per_year > 0:
        raise ValueError("runs_per_year must be > 0")
    p_t = -np.expm1(np.log1p(-1.0 / t) / runs_per_year)
    if method == "gev":
        c, loc, scale = _gev_fit(y, w)
        out = stats.genextreme.isf(p_t, c, loc=loc, scale=scale)
    elif method == "empirical":
        order = np.argsort(-y, kind="stable")
        ys, ws = y[order], w[order]
        uniq, first = np.unique(-ys, return_index=True)  # descending unique values
        cum = np.cumsum(ws) / y.size
        last = np.r_[first[1:], ys.size] - 1
        levels, exceed = -uniq, cum[last]
        keep = exceed > 0
        levels, exceed = levels[keep], exceed[keep]
        out = np.full(p_t.shape, np.nan)
        if levels.size:
            lp = np.log(exceed)
            ok = p_t >= exceed[0]
            out[ok] = np.interp(np.log(p_t[ok]), lp, levels) if levels.size > 1 else levels[0]
    else:
        raise ValueError(f"method must be 'empirical' or 'gev', got {method!r}")
    return float(out) if out.ndim == 0 else out


def variance_reduction_factor(values_is: Any, weights_is: Any, values_mc: Any) -> float:
    """Variance of plain Monte Carlo over that of importance sampling, per run [-].

    :math:`\\mathrm{VRF} = s^2(Y^{MC}) / s^2(w Y^{IS})`: how many plain runs one weighted
    run is worth for the unbiased estimator (> 1: importance sampling wins). For a rare
    outcome, plain Monte Carlo needs many runs (or use its exact variance
    :math:`p(1-p)`) before its sample variance means anything.
    """
    y, w = _arrays(values_is, weights_is)
    mc = np.asarray(values_mc, dtype=np.float64).ravel()
    if mc.size < 2 or y.size < 2:
        raise ValueError("need at least two runs of each kind")
    v_is = float(np.var(w * y, ddof=1))
    v_mc = float(np.var(mc, ddof=1))
    return v_mc / v_is if v_is > 0 else math.inf
