"""Weighted estimators of campaign statistics: means, probabilities, pairs, strata, extremes.

A campaign run :math:`i` yields a statistic :math:`Y_i` (a peak indoor temperature, an
indicator of overheating, the energy not served) and a weight :math:`w_i`: 1 under plain
Monte Carlo, the likelihood ratio :math:`p/q` under importance sampling
(:func:`twinforge.events.sampling.sample_events`), :math:`P_h N / n_h` for a stratified
plan. Estimators of :math:`\\mu = E_p[Y]` (Owen 2013, *Monte Carlo theory, methods and
examples*, ch. 8-9, https://artowen.su.domains/mc/):

- ``kind="unbiased"`` (the default; importance-sampling or Horvitz-Thompson form):
  :math:`\\hat\\mu = \\frac1n \\sum_i w_i Y_i`, unbiased when the weights are exact
  likelihood ratios (:math:`E_q[w] = 1`), as twinforge's are.
- ``kind="self_normalised"``: :math:`\\tilde\\mu = \\sum_i w_i Y_i / \\sum_i w_i`, for weights
  known up to a constant; biased by :math:`O(1/n)`, often of smaller variance. Delta-method
  standard error from the linearised terms :math:`w_i (Y_i - \\tilde\\mu) / \\bar w`.
- ``kind="regression"``: the weights as a control variate, since :math:`E_q[w] = 1` is
  known exactly: :math:`\\hat\\mu_{reg} = \\overline{wY} - \\hat\\beta (\\bar w - 1)` with
  :math:`\\hat\\beta` the least-squares slope of :math:`wY` on :math:`w` (Owen 2013, sec.
  9.10; Hesterberg 1995, doi:10.1080/00401706.1995.10484303). It removes the noise that
  the weights' own sampling error puts on outcomes that do not vanish without the event
  (a peak temperature), without the bias of the self-normalised form.
- :func:`paired_mean`: counterfactual pairs (each run also without its events):
  :math:`z_i = Y^{cf}_i + w_i (Y_i - Y^{cf}_i)`, the run's own no-event outcome as a
  control variate whose mean is the natural one (the pair's counterfactual member is not
  biased by the proposal).
- :func:`stratified_mean`: :math:`\\sum_h P_h \\bar Y_h` over the strata with runs and its
  stratified variance :math:`\\sum_h P_h^2 s_h^2 / n_h` (Cochran 1977, *Sampling
  Techniques*, ch. 5); strata without runs are reported, not silently taken as 0.

**Variance.** Runs of a stratified plan are independent only within their stratum, whose
size is fixed by design. Every estimator here is a mean of per-run terms :math:`z_i`, and
its variance is computed group by group, :math:`\\mathrm{Var}(\\bar z) = \\sum_g n_g s_g^2(z)
/ n^2` (one group for plain and importance sampling, the strata for a stratified plan),
which is exactly :math:`\\sum_h P_h^2 s_h^2(Y) / n_h` for the weighted mean of a stratified
plan. Treating such runs as independent draws overstates the error many times.

**Intervals.** Normal intervals at ``level`` for means. For probabilities with few hits
(fewer than 10 runs on either side) or none, an exact binomial interval: Clopper-Pearson
(1934, doi:10.1093/biomet/26.4.404) or Wilson (1927, doi:10.1080/01621459.1927.10502953),
on the effective counts :math:`n^* = \\hat p (1 - \\hat p) / \\widehat{\\mathrm{Var}}(\\hat p)`,
:math:`x^* = n^* \\hat p` for weighted runs (Korn & Graubard 1998, *Survey Methodology* 24,
193-201; :math:`n^*` is Kish's ESS when there is no hit). Zero hits never give a zero-width
interval.

**Diagnostics.** Kish's effective sample size :math:`(\\sum w)^2 / \\sum w^2` (Kish 1965,
*Survey Sampling*). Each estimate carries one-line ``warnings`` (also issued as
:class:`UserWarning`) when the ESS is small (below 10, or below 10 % of the runs), when one
run carries more than half of the total weight, when the mean weight is far from its
known expectation, or when strata have no runs.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy import optimize, stats

__all__ = [
    "Estimate",
    "ExtremeFit",
    "binomial_interval",
    "kish_ess",
    "mixture_weights",
    "weight_warnings",
    "weighted_mean",
    "weighted_probability",
    "expected_value",
    "paired_mean",
    "stratified_mean",
    "exceedance_probability",
    "exceedance_curve",
    "fit_extremes",
    "return_level",
    "variance_reduction_factor",
]

Kind = Literal["unbiased", "self_normalised", "regression"]
_KINDS = ("unbiased", "self_normalised", "regression")

#: Hits (or misses) below which a probability gets an exact binomial interval.
FEW_HITS = 10


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
        Confidence interval at ``level`` (see ``interval``).
    ess : float
        Kish effective sample size [-].
    n : int
        Number of runs.
    level : float
        Confidence level of the interval [-].
    interval : str
        How the interval was made: ``"normal"``, ``"clopper-pearson"`` or ``"wilson"``.
    hits : int or None
        Runs with the outcome (probabilities only).
    uncovered : float
        Natural probability of the strata without runs (stratified plans) [-].
    warnings : tuple of str
        One-line diagnostics (small ESS, degenerate weights, strata without runs...).
    """

    value: float
    std_error: float
    ci_low: float
    ci_high: float
    ess: float
    n: int
    level: float = 0.95
    interval: str = "normal"
    hits: int | None = None
    uncovered: float = 0.0
    warnings: tuple[str, ...] = field(default=())

    @property
    def cov(self) -> float:
        """Coefficient of variation ``std_error / |value|`` [-] (inf for a zero estimate)."""
        return self.std_error / abs(self.value) if self.value != 0 else math.inf


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


def _groups(groups: Any, n: int) -> np.ndarray:
    if groups is None:
        return np.zeros(n, dtype=np.int64)
    labels = np.asarray(list(groups), dtype=object)
    if labels.shape != (n,):
        raise ValueError(f"values and groups differ in length ({n} vs {labels.size})")
    return np.unique(labels.astype(str), return_inverse=True)[1]


def _var_of_mean(z: np.ndarray, g: np.ndarray) -> float:
    """:math:`\\sum_g n_g s_g^2(z) / n^2` (NaN when a group of several has one run only)."""
    n = z.size
    total = 0.0
    for k in np.unique(g):
        zk = z[g == k]
        if zk.size < 2:
            return math.nan
        total += zk.size * float(zk.var(ddof=1))
    return total / (n * n)


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


def mixture_weights(log_ratios: Any, counts: Any) -> np.ndarray:
    """Deterministic-mixture (balance heuristic) weights of runs drawn from several proposals.

    Runs drawn from proposals :math:`q_1..q_K` (:math:`N_k` runs from :math:`q_k`, :math:`N`
    in all) each get the weight :math:`p(x) / \\sum_k (N_k/N) q_k(x)` in place of their own
    :math:`p(x)/q_{k(x)}(x)`: the deterministic-mixture estimator of Owen & Zhou 2000
    (doi:10.1080/01621459.2000.10473909), the balance heuristic of Veach & Guibas 1995
    (doi:10.1145/218380.218498). With proposals fixed in advance it is unbiased, and its
    variance is never larger than that of the mixture sampled at random; the weights are
    bounded by :math:`N/N_k` wherever :math:`q_k = p`.

    Parameters
    ----------
    log_ratios : array_like of shape (n_runs, K)
        :math:`\\ln p(x_i) - \\ln q_k(x_i)` of every run under every proposal (``+inf`` where
        :math:`q_k(x_i) = 0`).
    counts : array_like of shape (K,)
        :math:`N_k`, the runs drawn from each proposal (>= 0, sum > 0).

    Returns
    -------
    ndarray of shape (n_runs,)

    Examples
    --------
    >>> mixture_weights([[0.0, 0.0], [0.0, 0.0]], [1, 1]).tolist()
    [1.0, 1.0]
    """
    lr = np.asarray(log_ratios, dtype=np.float64)
    n = np.asarray(counts, dtype=np.float64)
    if lr.ndim != 2 or n.shape != (lr.shape[1],):
        raise ValueError(f"log_ratios must be (n_runs, K) and counts (K,), got {lr.shape} and {n.shape}")
    if (n < 0).any() or not n.sum() > 0:
        raise ValueError("counts must be >= 0 with a positive sum")
    if np.isnan(lr).any():
        raise ValueError("log_ratios must not hold NaN")
    with np.errstate(divide="ignore"):
        a = np.log(n / n.sum())[None, :] - lr  # ln (N_k/N) + ln q_k - ln p
    m = a.max(axis=1)
    with np.errstate(invalid="ignore"):
        lse = m + np.log(np.sum(np.exp(a - np.where(np.isfinite(m), m, 0.0)[:, None]), axis=1))
    return np.exp(-lse)


def weight_warnings(weights: Any, *, expected_mean: float | None = None, groups: Any = None) -> list[str]:
    """One-line diagnostics of run weights (empty when nothing looks wrong).

    Parameters
    ----------
    weights : array_like of shape (n_runs,)
    expected_mean : float, optional
        The known expectation of the weights under the proposal (1 for exact likelihood
        ratios, :math:`P_p(N \\ge 1)` under ``min_events = 1``); checked against the mean
        weight when given (more than 4 standard errors away: the weights are too
        heavy-tailed for this number of runs, or wrong).
    groups : array_like, optional
        Strata of a stratified plan: their weights are fixed by design, so nothing is
        checked (strata without runs are reported by :func:`stratified_mean`).

    Examples
    --------
    >>> weight_warnings([1.0] * 50)
    []
    >>> weight_warnings([100.0, 1.0, 1.0, 1.0])[0]
    'effective sample size 1.1 of 4 runs: the weights are degenerate; the estimate and its interval are unreliable (add runs or weaken the proposal)'
    """
    w = np.asarray(weights, dtype=np.float64).ravel()
    n = w.size
    out: list[str] = []
    if n == 0 or not np.all(np.isfinite(w)):
        return out
    if np.ptp(w) == 0.0 or groups is not None:
        return out
    ess = kish_ess(w)
    if ess < 10.0 or ess < 0.1 * n:
        out.append(
            f"effective sample size {ess:.1f} of {n} runs: the weights are degenerate; "
            "the estimate and its interval are unreliable (add runs or weaken the proposal)"
        )
    total = float(w.sum())
    if n > 2 and total > 0 and float(w.max()) > 0.5 * total:
        out.append(f"one run carries {100 * float(w.max()) / total:.0f} % of the total weight")
    if expected_mean is not None and n > 2:
        se = float(w.std(ddof=1)) / math.sqrt(n)
        if abs(float(w.mean()) - expected_mean) > 4.0 * se + 1e-12 * expected_mean:
            out.append(
                f"mean weight {float(w.mean()):.3g} is {abs(float(w.mean()) - expected_mean) / se:.0f} "
                f"standard errors from its expectation {expected_mean:.3g}: too few runs for these weights"
            )
    return out


def binomial_interval(
    hits: float, n: float, level: float = 0.95, method: Literal["clopper-pearson", "wilson"] = "clopper-pearson"
) -> tuple[float, float]:
    """Confidence interval of a binomial proportion from ``hits`` of ``n`` (may be effective counts).

    ``"clopper-pearson"``: the exact interval from beta quantiles (conservative);
    ``"wilson"``: the score interval (closer to nominal coverage). Non-integer counts
    (effective counts of weighted runs) are allowed.

    Examples
    --------
    >>> lo, hi = binomial_interval(0, 1000)
    >>> lo, round(hi, 5)
    (0.0, 0.00368)
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if not (n > 0 and 0 <= hits <= n):
        raise ValueError(f"need 0 <= hits <= n and n > 0, got hits={hits}, n={n}")
    a = 1.0 - level
    if method == "clopper-pearson":
        lo = 0.0 if hits <= 0 else float(stats.beta.ppf(a / 2, hits, n - hits + 1))
        hi = 1.0 if hits >= n else float(stats.beta.isf(a / 2, hits + 1, n - hits))
        return lo, hi
    if method == "wilson":
        z = float(stats.norm.isf(a / 2))
        p = hits / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        return max(0.0, centre - half), min(1.0, centre + half)
    raise ValueError(f"method must be 'clopper-pearson' or 'wilson', got {method!r}")


def _normal(value: float, se: float, level: float) -> tuple[float, float]:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    z = float(stats.norm.isf((1.0 - level) / 2.0))
    return value - z * se, value + z * se


def _emit(messages: Sequence[str]) -> tuple[str, ...]:
    for m in messages:
        warnings.warn(m, UserWarning, stacklevel=3)
    return tuple(messages)


def _terms(y: np.ndarray, w: np.ndarray, kind: str, g: np.ndarray) -> tuple[float, np.ndarray]:
    """Point estimate and its linearised per-run terms (their mean's variance is the estimate's)."""
    n = y.size
    if kind == "unbiased":
        z = w * y
        return float(z.mean()), z
    if kind == "self_normalised":
        wbar = float(w.mean())
        if wbar <= 0:
            raise ValueError("weights sum to 0")
        value = float(np.sum(w * y) / np.sum(w))
        return value, w * (y - value) / wbar
    if kind == "regression":
        wy = w * y
        if np.ptp(w) == 0.0:
            return float(wy.mean()), wy
        # least-squares slope of wY on w, within strata when there are several
        wc = w - (np.bincount(g, weights=w) / np.bincount(g))[g]
        beta = float(np.sum(wc * wy) / np.sum(wc * wc)) if np.any(wc) else 0.0
        z = wy - beta * (w - 1.0)
        return float(z.mean()), z
    raise ValueError(f"kind must be one of {', '.join(_KINDS)}, got {kind!r}")


def weighted_mean(
    values: Any,
    weights: Any = None,
    *,
    kind: Kind = "unbiased",
    level: float = 0.95,
    groups: Any = None,
    expected_weight: float | None = None,
) -> Estimate:
    """Weighted mean of a per-run statistic with its standard error and interval.

    Parameters
    ----------
    values : array_like of shape (n_runs,)
        The statistic of each run.
    weights : array_like of shape (n_runs,), optional
        Run weights (non-negative); None for plain Monte Carlo.
    kind : {"unbiased", "self_normalised", "regression"}
        Estimator (see the module docstring).
    level : float
        Confidence level of the normal interval.
    groups : array_like of shape (n_runs,), optional
        Strata of a stratified plan (runs are independent within a stratum, whose size is
        fixed): the variance is computed stratum by stratum.
    expected_weight : float, optional
        The weights' known expectation (1 for exact likelihood ratios), checked in the
        diagnostics.

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
    g = _groups(groups, n)
    value, z = _terms(y, w, kind, g)
    se = math.sqrt(_var_of_mean(z, g)) if n > 1 else math.nan
    lo, hi = _normal(value, se, level)
    notes = weight_warnings(w, expected_mean=expected_weight, groups=groups)
    return Estimate(value, se, lo, hi, kish_ess(w), n, level, "normal", warnings=_emit(notes))


def weighted_probability(
    indicator: Any,
    weights: Any = None,
    *,
    kind: Kind = "unbiased",
    level: float = 0.95,
    groups: Any = None,
    expected_weight: float | None = None,
    method: Literal["auto", "normal", "clopper-pearson", "wilson"] = "auto",
) -> Estimate:
    """Probability of an outcome from per-run indicators (0/1 or bool).

    As :func:`weighted_mean`; the interval is normal (clipped to [0, 1]) when at least
    :data:`FEW_HITS` runs fall on each side, otherwise (``method="auto"``) an exact
    Clopper-Pearson interval on the effective counts (module docstring). With no hit the
    estimate is 0 and the interval's upper end is what the runs can exclude (about
    3.7 / ESS at 95 %), never 0.

    Examples
    --------
    >>> e = weighted_probability([False] * 1000)
    >>> e.value, e.ci_low, round(e.ci_high, 5), e.interval
    (0.0, 0.0, 0.00368, 'clopper-pearson')
    """
    y = np.asarray(indicator)
    if y.dtype != bool and not np.isin(y, (0, 1)).all():
        raise ValueError("indicator must hold only 0/1 or booleans")
    y = y.astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        e = weighted_mean(y, weights, kind=kind, level=level, groups=groups, expected_weight=expected_weight)
    hits = int(np.sum(y > 0.5))
    method, lo, hi = _probability_interval(e, hits, method)
    return Estimate(
        e.value, e.std_error, lo, hi, e.ess, e.n, level, method, hits=hits, warnings=_emit(e.warnings)
    )


def _probability_interval(e: Estimate, hits: int, method: str) -> tuple[str, float, float]:
    """``(method, low, high)`` of a probability estimate ``e`` from ``hits`` runs (module docstring)."""
    misses = e.n - hits
    if method == "auto":
        method = "clopper-pearson" if min(hits, misses) < FEW_HITS else "normal"
    if method == "normal":
        return method, max(e.ci_low, 0.0), min(e.ci_high, 1.0)
    p = min(max(e.value, 0.0), 1.0)
    var = e.std_error**2
    if hits == 0 or misses == 0 or not var > 0 or p >= 1.0:
        n_eff = e.ess
    else:
        n_eff = min(float(e.n), p * (1.0 - p) / var)
    n_eff = max(n_eff, 1.0)
    lo, hi = binomial_interval(p * n_eff, n_eff, e.level, method)  # type: ignore[arg-type]
    return method, lo, hi


def expected_value(
    x: Any, weights: Any = None, *, kind: Kind = "unbiased", level: float = 0.95
) -> Estimate:
    """Expected value of a per-run quantity (e.g. energy not served [J]) under the natural law.

    The same estimator as :func:`weighted_mean`, named for quantities such as damages and
    energies.
    """
    return weighted_mean(x, weights, kind=kind, level=level)


def paired_mean(
    factual: Any,
    counterfactual: Any,
    weights: Any = None,
    *,
    level: float = 0.95,
    groups: Any = None,
) -> Estimate:
    """:math:`E_p[Y]` from counterfactual pairs: :math:`\\frac1n \\sum_i [Y^{cf}_i + w_i (Y_i - Y^{cf}_i)]`.

    The counterfactual member of a pair has no sampled events, so its law is the same under
    the proposal as under the natural law and its plain mean estimates :math:`E[Y^{cf}]`;
    the weighted mean of the differences estimates the events' effect
    :math:`E_p[Y - Y^{cf}]`. Both members share all other noise, so the run-to-run
    variation cancels in the difference: a control variate with a known (natural) mean.

    Parameters
    ----------
    factual, counterfactual : array_like of shape (n_pairs,)
        The outcome of each pair's factual and counterfactual member.
    weights : array_like of shape (n_pairs,), optional
        The pairs' weights (None: plain Monte Carlo).
    groups : array_like, optional
        Strata of a stratified plan (variance computed stratum by stratum).
    """
    yf, w = _arrays(factual, weights)
    ycf, _ = _arrays(counterfactual, None)
    if ycf.shape != yf.shape:
        raise ValueError(f"factual and counterfactual differ in length ({yf.size} vs {ycf.size})")
    z = ycf + w * (yf - ycf)
    g = _groups(groups, z.size)
    value = float(z.mean())
    se = math.sqrt(_var_of_mean(z, g)) if z.size > 1 else math.nan
    lo, hi = _normal(value, se, level)
    return Estimate(value, se, lo, hi, kish_ess(w), z.size, level, "normal",
                    warnings=_emit(weight_warnings(w, groups=groups)))


def stratified_mean(
    values: Any,
    strata: Sequence[str],
    probabilities: Mapping[str, float],
    *,
    level: float = 0.95,
    bounds: tuple[float, float] | None = None,
    probability: bool = False,
) -> Estimate:
    """Stratified estimate :math:`\\sum_h P_h \\bar Y_h / \\sum_h P_h` over the strata with runs.

    Parameters
    ----------
    values : array_like of shape (n_runs,)
        The statistic of each run.
    strata : sequence of str
        Stratum label of each run (``stratified_plan(...)[i]["stratum"]``).
    probabilities : dict of str to float
        Natural probability :math:`P_h` of every stratum
        (:func:`twinforge.events.sampling.stratum_probabilities`).
    bounds : (float, float), optional
        Bounds of the statistic (``(0, 1)`` for a probability). When strata hold no runs,
        the interval is widened to every value those strata could add.

    Returns
    -------
    Estimate
        Standard error :math:`\\sqrt{\\sum_h P_h^2 s_h^2 / n_h} / \\sum_h P_h`. Strata without
        runs (probability ``uncovered``) are not silently taken as 0: the value is the
        estimate conditional on the strata with runs (the others assumed alike), a warning
        gives their probability, and with ``bounds`` the interval covers
        :math:`(1 - P_u) [lo, hi] + P_u [b_0, b_1]`. A stratum with a single run has no
        variance estimate: the standard error is NaN and a warning says so.
    probability : bool
        ``values`` are 0/1 indicators: bounds (0, 1), and an exact binomial interval on
        the effective counts when hits are few (as :func:`weighted_probability`).
    """
    if probability:
        ind = np.asarray(values)
        if ind.dtype != bool and not np.isin(ind, (0, 1)).all():
            raise ValueError("indicator must hold only 0/1 or booleans")
        values, bounds = ind.astype(np.float64), (0.0, 1.0)
    y, _ = _arrays(values, None)
    labels = np.asarray(list(strata), dtype=object)
    if labels.shape != y.shape:
        raise ValueError(f"values and strata differ in length ({y.size} vs {labels.size})")
    present = list(dict.fromkeys(labels.tolist()))
    unknown = [h for h in present if h not in probabilities]
    if unknown:
        raise ValueError(f"no probability for strata {unknown}")
    missing = {h: float(p) for h, p in probabilities.items() if h not in present and p > 0}
    uncovered = sum(missing.values())
    covered = sum(float(probabilities[h]) for h in present)
    notes: list[str] = []
    if uncovered > 1e-9:
        notes.append(
            f"strata without runs ({', '.join(sorted(missing))}) hold probability {uncovered:.3g}: "
            "the estimate assumes they behave like the others"
            + (" and the interval covers any value they could take" if bounds is not None else "")
        )
    value, var = 0.0, 0.0
    w = np.empty_like(y)
    single = []
    for h in present:
        sel = labels == h
        p, yh = float(probabilities[h]) / covered, y[sel]
        value += p * float(yh.mean())
        if yh.size > 1:
            var += p * p * float(yh.var(ddof=1)) / yh.size
        else:
            single.append(h)
        w[sel] = p / yh.size
    if single:
        notes.append(f"strata with a single run ({', '.join(single)}): no variance estimate")
        var = math.nan
    se = math.sqrt(var)
    lo, hi = _normal(value, se, level)
    interval, hits = "normal", None
    if probability:
        hits = int(np.sum(y > 0.5))
        plain = Estimate(value, se, lo, hi, kish_ess(w), y.size, level)
        interval, lo, hi = _probability_interval(plain, hits, "auto")
    if bounds is not None:
        u = uncovered
        lo, hi = (1 - u) * lo + u * bounds[0], (1 - u) * hi + u * bounds[1]
        lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
    return Estimate(value, se, lo, hi, kish_ess(w), y.size, level, interval, hits=hits,
                    uncovered=uncovered, warnings=_emit(notes))


def exceedance_probability(values: Any, weights: Any, level: float) -> float:
    """Estimated :math:`P(Y \\ge \\text{level})` per run.

    :math:`\\frac1n \\sum_i w_i 1\\{Y_i \\ge \\text{level}\\}` (unbiased form; weights None = 1).
    """
    y, w = _arrays(values, weights)
    return float(np.sum(w * (y >= level)) / y.size)


def exceedance_curve(
    values: Any, weights: Any = None, levels: Any = None, *, level: float = 0.95, groups: Any = None
) -> dict[str, np.ndarray]:
    """The weighted exceedance curve :math:`\\hat P(Y > y)` with its confidence band.

    Parameters
    ----------
    values, weights
        Per-run statistic and weights.
    levels : array_like, optional
        Where to evaluate it (default: the distinct values).
    groups : array_like, optional
        Strata of a stratified plan.

    Returns
    -------
    dict of ndarray
        ``level``, ``p``, ``ci_low``, ``ci_high`` (pointwise intervals of
        :func:`weighted_probability`), ``hits``.
    """
    y, w = _arrays(values, weights)
    grid = np.unique(y) if levels is None else np.asarray(levels, dtype=np.float64).ravel()
    out = {k: np.empty(grid.size) for k in ("p", "ci_low", "ci_high", "hits")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for j, x in enumerate(grid):
            e = weighted_probability(y > x, w, level=level, groups=groups)
            out["p"][j], out["ci_low"][j], out["ci_high"][j] = e.value, e.ci_low, e.ci_high
            out["hits"][j] = e.hits
    return {"level": grid, **out}


# --------------------------------------------------------------------------- extremes


def _weighted_nll(logpdf: Any, x: np.ndarray, wn: np.ndarray) -> Any:
    def nll(p: np.ndarray) -> float:
        ll = logpdf(x, p)
        return math.inf if not np.all(np.isfinite(ll[wn > 0])) else -float(np.sum(wn * ll))

    return nll


def _fit(logpdf: Any, x: np.ndarray, w: np.ndarray, x0: np.ndarray) -> tuple[np.ndarray, bool]:
    wn = w / w.sum()
    opts = {"xatol": 1e-8, "fatol": 1e-12, "maxiter": 4000}
    res = optimize.minimize(_weighted_nll(logpdf, x, wn), x0, method="Nelder-Mead", options=opts)
    return res.x, bool(res.success and np.isfinite(res.fun))


def _gev_logpdf(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """GEV log density (scipy's ``genextreme`` with ``c = p[0]``, loc, log scale), in numpy."""
    c, loc, log_s = float(p[0]), float(p[1]), float(p[2])
    z = (y - loc) / math.exp(log_s)
    if abs(c) < 1e-9:
        return -log_s - z - np.exp(-z)
    t = 1.0 - c * z
    with np.errstate(divide="ignore", invalid="ignore"):
        lt = np.log(t)
        out = -log_s + (1.0 / c - 1.0) * lt - np.exp(lt / c)
    return np.where(t > 0, out, -np.inf)


def _gpd_logpdf(x: np.ndarray, p: np.ndarray) -> np.ndarray:
    """GPD log density of excesses (shape ``p[0]``, log scale ``p[1]``), in numpy."""
    xi, log_s = float(p[0]), float(p[1])
    z = x / math.exp(log_s)
    if abs(xi) < 1e-9:
        return -log_s - z
    t = 1.0 + xi * z
    with np.errstate(divide="ignore", invalid="ignore"):
        out = -log_s - (1.0 / xi + 1.0) * np.log(t)
    return np.where((t > 0) & (x >= 0), out, -np.inf)


def _gev_fit(y: np.ndarray, w: np.ndarray, x0: Any = None) -> tuple[float, float, float, bool]:
    """Weighted maximum-likelihood GEV (scipy ``c`` convention): ``(c, loc, scale, converged)``."""
    if x0 is None:
        wn = w / w.sum()
        m = float(np.sum(wn * y))
        sd = math.sqrt(float(np.sum(wn * (y - m) ** 2))) or 1.0
        scale0 = sd * math.sqrt(6.0) / math.pi
        x0 = np.array([0.1, m - 0.5772 * scale0, math.log(scale0)])
    p, ok = _fit(_gev_logpdf, y, w, np.asarray(x0, dtype=np.float64))
    return float(p[0]), float(p[1]), float(math.exp(p[2])), ok


def _gpd_fit(x: np.ndarray, w: np.ndarray, x0: Any = None) -> tuple[float, float, bool]:
    """Weighted maximum-likelihood GPD of excesses ``x > 0``: ``(xi, scale, converged)``."""
    if x0 is None:
        m = float(np.sum(w * x) / w.sum()) or 1.0
        x0 = np.array([0.1, math.log(m)])
    p, ok = _fit(_gpd_logpdf, x, w, np.asarray(x0, dtype=np.float64))
    return float(p[0]), float(math.exp(p[1])), ok


def _weighted_ks(y: np.ndarray, w: np.ndarray, cdf: Any) -> float:
    order = np.argsort(y, kind="stable")
    ys, ws = y[order], w[order] / w.sum()
    ecdf = np.cumsum(ws)
    f = cdf(ys)
    return float(np.max(np.maximum(np.abs(ecdf - f), np.abs(ecdf - ws - f))))


def _p_per_run(return_period_years: Any, runs_per_year: float) -> np.ndarray:
    t = np.asarray(return_period_years, dtype=np.float64)
    if not np.all(t > 1.0):
        raise ValueError("return_period_years must be > 1")
    if not runs_per_year > 0:
        raise ValueError("runs_per_year must be > 0")
    return -np.expm1(np.log1p(-1.0 / t) / runs_per_year)


@dataclass(frozen=True)
class ExtremeFit:
    """A fitted tail of a per-run statistic, with bootstrap replicates for intervals.

    ``method="gev"``: :math:`P(Y > y) = 1 - G(y)` with :math:`G` the GEV of the run maxima.
    ``method="pot"``: peaks over the threshold :math:`u`,
    :math:`P(Y > y) = \\zeta_u [1 + \\xi (y - u)/\\sigma]^{-1/\\xi}` for :math:`y > u`, with
    :math:`\\zeta_u` the weighted share of runs above :math:`u` and a weighted-likelihood GPD
    of the excesses (Coles 2001, *An Introduction to Statistical Modeling of Extreme Values*,
    ch. 3-4, doi:10.1007/978-1-4471-3675-0). ``shape`` is :math:`\\xi` in Coles' sign
    convention for both (scipy's ``genextreme`` uses :math:`c = -\\xi`).
    """

    method: str
    shape: float
    loc: float
    scale: float
    threshold: float
    rate: float
    n: int
    n_tail: int
    ks: float
    replicates: np.ndarray  # (n_boot, 5): shape, loc, scale, threshold, rate

    def exceedance(self, level: Any, params: Any = None) -> np.ndarray:
        """Fitted :math:`P(Y > \\text{level})` per run (with ``params`` a replicate's)."""
        xi, loc, scale, u, rate = params if params is not None else (
            self.shape, self.loc, self.scale, self.threshold, self.rate)
        x = np.asarray(level, dtype=np.float64)
        if self.method == "gev":
            return stats.genextreme.sf(x, -xi, loc=loc, scale=scale)
        return np.where(x > u, rate * stats.genpareto.sf(x - u, xi, scale=scale), np.nan)

    def _level(self, p: np.ndarray, params: Any) -> np.ndarray:
        xi, loc, scale, u, rate = params
        if self.method == "gev":
            return stats.genextreme.isf(p, -xi, loc=loc, scale=scale)
        q = np.clip(p / rate, 0.0, 1.0)
        out = u + stats.genpareto.isf(q, xi, scale=scale)
        return np.where(p < rate, out, np.nan)

    def return_level(
        self, return_period_years: Any, runs_per_year: float = 1.0, *, level: float = 0.95
    ) -> dict[str, np.ndarray]:
        """Return level(s) with bootstrap percentile intervals.

        Returns
        -------
        dict of ndarray
            ``period_years``, ``level``, ``ci_low``, ``ci_high`` (NaN where the POT tail
            does not reach: a return period whose per-run probability exceeds the
            threshold's rate).
        """
        p = np.atleast_1d(_p_per_run(return_period_years, runs_per_year))
        est = self._level(p, (self.shape, self.loc, self.scale, self.threshold, self.rate))
        boot = np.array([self._level(p, r) for r in self.replicates]) if len(self.replicates) else None
        a = (1.0 - level) / 2.0
        if boot is None:
            lo = hi = np.full(p.shape, np.nan)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
                lo, hi = np.nanquantile(boot, a, axis=0), np.nanquantile(boot, 1.0 - a, axis=0)
            lo, hi = np.where(np.isnan(est), np.nan, lo), np.where(np.isnan(est), np.nan, hi)
        t = np.atleast_1d(np.asarray(return_period_years, dtype=np.float64))
        return {"period_years": t, "level": est, "ci_low": lo, "ci_high": hi}


def _gev_guard(y: np.ndarray, w: np.ndarray, xi: float, ok: bool, ks: float) -> None:
    ess = kish_ess(w)
    crit = 1.63 / math.sqrt(max(ess, 1.0))  # 1 % critical value of the KS distance
    if not ok:
        raise ValueError("the GEV fit did not converge; use method='pot'")
    if not -0.5 <= xi <= 0.5:
        raise ValueError(
            f"the fitted GEV shape xi = {xi:.3g} is outside [-0.5, 0.5], where maximum likelihood is "
            "trustworthy and physical maxima lie (Coles 2001, sec. 3.3.2); the maxima mix populations "
            "(runs without the event?): use method='pot'"
        )
    if ks > crit:
        raise ValueError(
            f"a GEV does not fit these maxima (weighted Kolmogorov-Smirnov distance {ks:.3f} > {crit:.3f} "
            f"at ESS {ess:.0f}); runs without the event mix two populations: use method='pot'"
        )


def fit_extremes(
    values: Any,
    weights: Any = None,
    *,
    method: Literal["pot", "gev"] = "pot",
    threshold: float | None = None,
    tail_share: float = 0.1,
    n_boot: int = 200,
    rng: np.random.Generator | None = None,
) -> ExtremeFit:
    """Fit the tail of a per-run statistic from weighted runs: POT (GPD) or a guarded GEV.

    Parameters
    ----------
    values : array_like of shape (n_runs,)
        Per-run maxima (peak temperature, peak load...).
    weights : array_like of shape (n_runs,) or None
        Run weights (likelihood ratios); None for plain Monte Carlo.
    method : {"pot", "gev"}
        ``"pot"`` (the default): a generalised Pareto law above ``threshold``, fitted by
        weighted maximum likelihood to the excesses; robust to runs without any event, which
        simply stay below the threshold. ``"gev"``: a weighted GEV fit to all maxima,
        refused (ValueError naming the reason) when it does not converge, when the shape
        leaves [-0.5, 0.5], or when it fails a weighted Kolmogorov-Smirnov check at 1 %:
        the maxima of runs with and without an event are two populations that one GEV does
        not describe (an unguarded fit extrapolates absurdly).
    threshold : float, optional
        POT threshold :math:`u`; default: the level above which a weighted share
        ``tail_share`` of the natural probability lies, lowered if needed to keep 30 runs above.
    n_boot : int
        Bootstrap replicates (runs resampled with their weights) for the intervals; 0: none.
    rng : numpy.random.Generator, optional
        Source of the bootstrap resampling (required when ``n_boot > 0``).

    Returns
    -------
    ExtremeFit
    """
    y, w = _arrays(values, weights)
    keep = w > 0
    y, w = y[keep], w[keep]
    if y.size < 20:
        raise ValueError(f"need at least 20 runs with positive weight for an extreme-value fit, got {y.size}")
    if n_boot > 0 and not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy.random.Generator when n_boot > 0")
    if method == "gev":
        c, loc, scale, ok = _gev_fit(y, w)
        ks = _weighted_ks(y, w, lambda v: stats.genextreme.cdf(v, c, loc=loc, scale=scale))
        _gev_guard(y, w, -c, ok, ks)

        def one(yb: np.ndarray, wb: np.ndarray) -> list[float]:
            cb, lb, sb, _ = _gev_fit(yb, wb, x0=[c, loc, math.log(scale)])
            return [-cb, lb, sb, math.nan, 1.0]

        est = [-c, loc, scale, math.nan, 1.0]
        n_tail = y.size
    elif method == "pot":
        u = _pot_threshold(y, w, tail_share) if threshold is None else float(threshold)
        n_tail = int(np.sum(y > u))
        if n_tail < 10:
            raise ValueError(f"only {n_tail} runs exceed the POT threshold {u:g}: lower it (at least 10)")

        def one(yb: np.ndarray, wb: np.ndarray) -> list[float]:
            above = yb > u
            if above.sum() < 5:
                return [math.nan] * 5
            xi_b, s_b, _ = _gpd_fit(yb[above] - u, wb[above], x0=x0)
            return [xi_b, math.nan, s_b, u, float(np.sum(wb[above]) / yb.size)]

        above = y > u
        xi, scale, ok = _gpd_fit(y[above] - u, w[above])
        x0 = [xi, math.log(scale)]
        if not ok:
            raise ValueError("the GPD fit of the excesses did not converge; raise the threshold")
        rate = float(np.sum(w[above]) / y.size)
        est = [xi, math.nan, scale, u, rate]
        ks = _weighted_ks(y[above] - u, w[above], lambda v: stats.genpareto.cdf(v, xi, scale=scale))
        loc = math.nan
    else:
        raise ValueError(f"method must be 'pot' or 'gev', got {method!r}")
    reps = []
    for _ in range(n_boot):
        idx = rng.integers(0, y.size, y.size)  # type: ignore[union-attr]
        reps.append(one(y[idx], w[idx]))
    return ExtremeFit(method, est[0], est[1], est[2], est[3], est[4], int(y.size), n_tail, ks,
                      np.asarray(reps, dtype=np.float64).reshape(-1, 5))


def _pot_threshold(y: np.ndarray, w: np.ndarray, tail_share: float) -> float:
    order = np.argsort(-y, kind="stable")
    cum = np.cumsum(w[order]) / w.sum()
    k = int(np.searchsorted(cum, tail_share))
    k = max(k, min(30, y.size - 1))
    return float(y[order][min(k, y.size - 1)])


def return_level(
    values: Any,
    weights: Any,
    return_period_years: Any,
    runs_per_year: float = 1.0,
    *,
    method: Literal["empirical", "gev", "pot"] = "empirical",
) -> np.ndarray | float:
    """Level exceeded on average once every ``return_period_years`` (Coles 2001, ch. 3).

    Each run is one block of ``1 / runs_per_year`` years of the phenomenon and ``values``
    its maximum. The level :math:`x_T` solves :math:`P(Y \\ge x_T) = p_T` per run, with
    :math:`p_T = 1 - (1 - 1/T)^{1/\\text{runs\\_per\\_year}}`, so that the annual exceedance
    probability is :math:`1/T`. For a campaign, take ``runs_per_year`` from its calendar
    coverage (:func:`twinforge.campaign.analysis.runs_per_year`), not ``365.25 / days``: a
    14-day July window holds far more than 14/365 of a year's heat waves.

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
    method : {"empirical", "gev", "pot"}
        ``"empirical"``: the weighted exceedance curve
        :math:`\\hat P(Y \\ge y) = \\frac1n \\sum_i w_i 1\\{Y_i \\ge y\\}`, interpolated
        log-linearly between runs; NaN where :math:`p_T` is rarer than the largest run's
        estimated exceedance (no extrapolation). ``"gev"`` and ``"pot"``: the fitted tail of
        :func:`fit_extremes` (the GEV guarded; see there), without intervals (use
        :meth:`ExtremeFit.return_level` for them).

    Returns
    -------
    float or ndarray
        Return level(s), in the unit of ``values``.
    """
    y, w = _arrays(values, weights)
    p_t = _p_per_run(return_period_years, runs_per_year)
    if method in ("gev", "pot"):
        fit = fit_extremes(y, w, method=method, n_boot=0)
        out = fit.return_level(np.atleast_1d(return_period_years), runs_per_year)["level"]
        out = out.reshape(np.shape(p_t))
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
        raise ValueError(f"method must be 'empirical', 'gev' or 'pot', got {method!r}")
    return float(out) if np.ndim(out) == 0 else out


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
