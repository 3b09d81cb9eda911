"""Subset simulation (splitting) of a rare simulated outcome, in standard normal space.

Subset simulation (Au & Beck 2001, doi:10.1016/S0266-8920(01)00019-4) writes a small
probability as a product of larger conditional ones,

.. math::  p = P(Y > u) = \\prod_{j=0}^{m-1} P(F_j \\mid F_{j-1}), \\qquad
           F_j = \\{Y > b_j\\},\\; b_0 < b_1 < \\dots < b_{m-1} = u,

with the intermediate levels :math:`b_j` chosen on the fly as the :math:`(1 - p_0)`
sample quantile of the outcomes (``p0`` = 0.1 by default), so that every factor but the
last is :math:`p_0`. Level 0 is plain Monte Carlo: :math:`N` runs from the natural law.
The :math:`N p_0` runs above :math:`b_0` seed Markov chains whose stationary law is the
natural law conditioned on :math:`F_0`; their :math:`N` states are level 1's runs, and so
on until the level's quantile reaches :math:`u`; then
:math:`\\hat p = p_0^{m-1}\\, \\#\\{Y > u\\} / N` on the last level.

**The latent space.** Every random input of a run is a vector :math:`\\mathbf u` of
independent standard normals (:class:`~twinforge.campaign.latent.LatentSpace`, described in
:mod:`twinforge.campaign.latent`): the weather's own normals and the event marks. Whatever
randomness is left outside :math:`\\mathbf u` (the twin's own noise, ``[parameters]`` laws,
diversity) comes from each run's own stream, redrawn at every proposal: an independence
proposal for those components, which leaves the chains reversible with respect to the
natural law (the product of a reversible kernel on :math:`\\mathbf u` and the natural law on
the rest is reversible for the product law), efficient only if the outcome depends on them weakly.

**Conditional sampling.** The chains use the preconditioned Crank-Nicolson proposal of
the adaptive conditional sampling algorithm (Papaioannou, Betz, Zwirglmaier & Straub 2015,
doi:10.1016/j.probengmech.2015.06.006):

.. math::  u'_k = \\rho_k u_k + \\sqrt{1 - \\rho_k^2}\\, z_k, \\qquad z \\sim N(0, I),

accepted iff :math:`Y(\\mathbf u') > b_j` (the proposal is reversible with respect to
:math:`N(0, I)`, so the acceptance ratio is the indicator alone). It does not degrade
with the dimension (the weather alone has 73 normals per day), unlike a random walk.
:math:`\\sigma_k = \\sqrt{1 - \\rho_k^2} = \\min(1, \\lambda \\hat\\sigma_k)` with
:math:`\\hat\\sigma_k` the spread of coordinate :math:`k` over the level's seeds, and
:math:`\\lambda` adapted after every step of the chains (all chains advance together, one
batch of runs per step) towards an acceptance rate of 0.44:
:math:`\\ln\\lambda \\leftarrow \\ln\\lambda + (\\hat a - 0.44)/\\sqrt{i}` (:math:`i` the
step within the level; :math:`\\lambda = 0.6` at the start, carried over between levels).

**Coefficient of variation.** Level :math:`j`'s factor has
:math:`\\delta_j^2 = \\frac{1 - P_j}{N P_j}(1 + \\gamma_j)` (Au & Beck 2001, eqs. 28-29),
:math:`\\gamma_0 = 0`, and for the chains' levels
:math:`\\gamma_j = 2 \\sum_{k=1}^{N_s - 1} (1 - k/N_s)\\, \\rho_j(k)`, with
:math:`\\rho_j(k)` the lag-:math:`k` correlation of the indicator :math:`1\\{Y > b_j\\}`
along the chains (estimated over the chains, of length :math:`N_s = 1/p_0`). The reported
:attr:`SubsetResult.cov` is :math:`\\sqrt{\\sum_j \\delta_j^2}`, which ignores the
correlation between levels (Au & Beck's usual approximation, an under-estimate when the
levels' estimates are positively correlated); :attr:`SubsetResult.cov_upper`
:math:`= \\sum_j \\delta_j` is their bound for fully correlated levels. The interval is
lognormal: :math:`\\hat p\\, e^{\\pm z s}`, :math:`s^2 = \\ln(1 + \\delta^2)`. The estimator
is asymptotically unbiased, with a bias of order :math:`1/N` (the levels are chosen from
the same runs).

**Stopping.** The last level is the one whose :math:`(1 - p_0)` quantile reaches
:math:`u` (at least :math:`N p_0` runs above it). Before that, ``max_levels`` and
``max_runs`` stop the procedure: the estimate is then :math:`p_0^{j}` times the share of the
last level's runs above :math:`u` (possibly 0), with a note. A note also warns when the
last factor rests on fewer than 10 runs above :math:`u`.

References: Au & Beck (2001); Papaioannou et al. (2015); Zuev, Beck, Au & Katafygiotis
(2012), doi:10.1016/j.compstruc.2011.10.017 (the estimator's CoV and bias); OpenTURNS
``SubsetSampling``; UQpy ``SubsetSimulation``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from twinforge.campaign.campaign import CampaignSpec
from twinforge.campaign.latent import AGE_GRID, TRUNCATION, LatentSpace, plan_simulator, write_summary
from twinforge.core.rng import RngStreams

__all__ = [
    "AGE_GRID", "LatentSpace", "SubsetLevel", "SubsetResult", "TRUNCATION", "batch_seed", "plan_simulator",
    "subset_sampling", "subset_simulation", "write_summary",
]

#: Acceptance rate the conditional sampler's spread is adapted to (Papaioannou et al. 2015).
TARGET_ACCEPTANCE = 0.44
#: Initial scale factor of the conditional sampler's spread.
LAMBDA_START = 0.6
#: Fewer runs above the threshold on the last level than this gives a note.
FEW_HITS = 10


# --------------------------------------------------------------------------- the estimator


def _finite(v: Any) -> Any:
    """``v``, with a non-finite float as None (strict JSON)."""
    return (float(v) if math.isfinite(v) else None) if isinstance(v, float) else v


@dataclass(frozen=True)
class SubsetLevel:
    """One conditional level: its runs' outcomes, threshold and conditional probability."""

    index: int
    threshold: float  # b_j (the threshold u of interest on the last level)
    probability: float  # P(F_j | F_{j-1}) estimated on this level's runs
    gamma: float  # the chains' correlation factor (0 on level 0)
    cov: float  # delta_j
    runs: int  # runs simulated for this level (N on level 0, N minus the seeds after)
    acceptance: float  # mean acceptance rate of the chains that made the level (nan on level 0)
    spread: float  # mean sigma = sqrt(1 - rho^2) of their proposals (nan on level 0)
    values: np.ndarray
    final: bool

    def to_json(self) -> dict[str, Any]:
        return {k: _finite(v) for k, v in dataclasses.asdict(self).items() if k != "values"} | {"n": int(self.values.size)}


@dataclass(frozen=True)
class SubsetResult:
    """What :func:`subset_sampling` (or :func:`subset_simulation`) did, and its estimate."""

    threshold: float
    p0: float
    levels: tuple[SubsetLevel, ...]
    value: float
    cov: float  # sqrt(sum delta_j^2): levels taken as uncorrelated (Au & Beck 2001)
    cov_upper: float  # sum delta_j: fully correlated levels
    ci_low: float
    ci_high: float
    level: float
    stopped: str
    notes: tuple[str, ...] = field(default=())
    dimension: int = 0

    @property
    def runs(self) -> int:
        """Runs simulated over all levels."""
        return sum(lv.runs for lv in self.levels)

    @property
    def hits(self) -> int:
        """Runs of the last level above the threshold."""
        return int(np.sum(self.levels[-1].values > self.threshold))

    def to_json(self) -> dict[str, Any]:
        return {
            "method": "subset", "threshold": self.threshold, "p0": self.p0, "runs": self.runs,
            "dimension": self.dimension, "stopped": self.stopped, "notes": list(self.notes),
            "estimate": {"value": self.value, "cov": _finite(self.cov), "cov_upper": _finite(self.cov_upper),
                         "ci_low": self.ci_low, "ci_high": _finite(self.ci_high), "level": self.level,
                         "hits": self.hits, "interval": "lognormal"},
            "levels": [lv.to_json() for lv in self.levels],
        }

    def text(self) -> str:
        lines = [
            f"P(Y > {self.threshold:g}) = {self.value:.4g}, CoV {self.cov:.3f} (upper bound {self.cov_upper:.3f}) "
            f"({100 * self.level:g} % CI {self.ci_low:.4g} .. {self.ci_high:.4g}); {self.runs} runs in "
            f"{len(self.levels)} level(s), {self.hits} hit(s) on the last; stopped: {self.stopped}",
        ]
        for lv in self.levels:
            chain = "" if lv.index == 0 else f", acceptance {lv.acceptance:.2f}, sigma {lv.spread:.2f}"
            lines.append(f"  level {lv.index} ({lv.runs} runs{chain}): threshold {lv.threshold:.4g}, "
                         f"P {lv.probability:.4g}, gamma {lv.gamma:.2f}, CoV {lv.cov:.3f}")
        return "\n".join(lines)


def _gamma(indicator: np.ndarray, mask: np.ndarray, p: float) -> float:
    """Au & Beck's (2001, eq. 29) correlation factor of an indicator along chains.

    ``indicator``, ``mask``: (chains, longest chain), ``mask`` marks the states present.
    """
    r0 = p * (1.0 - p)
    if r0 <= 0.0:
        return 0.0
    ns = indicator.shape[1]
    ind = np.where(mask, indicator, 0.0)
    g = 0.0
    for k in range(1, ns):
        both = mask[:, :-k] & mask[:, k:]
        pairs = int(both.sum())
        if pairs == 0:
            break
        rk = float(np.sum(ind[:, :-k] * ind[:, k:])) / pairs - p * p
        g += 2.0 * (1.0 - k / ns) * rk / r0
    return max(g, 0.0)


def _level_cov(p: float, n: int, gamma: float) -> float:
    return math.sqrt((1.0 - p) / (n * p) * (1.0 + gamma)) if p > 0 else math.inf


def _check(threshold: float, n: int, p0: float, max_levels: int, max_runs: int, level: float) -> int:
    if not math.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number, got {threshold!r}")
    if not 0.0 < p0 <= 0.5:
        raise ValueError(f"p0 must be within (0, 0.5], got {p0}")
    seeds = n * p0
    if n < 10 or abs(seeds - round(seeds)) > 1e-9 or round(seeds) < 1 or n % round(seeds):
        raise ValueError(f"runs_per_level must be >= 10 with runs_per_level * p0 a whole number of chains "
                         f"dividing it (a multiple of 1/p0), got {n} with p0 = {p0}")
    if not 1 <= max_levels <= 100:
        raise ValueError(f"max_levels must be within [1, 100], got {max_levels}")
    if max_runs < n:
        raise ValueError(f"max_runs must allow level 0 (>= runs_per_level = {n}), got {max_runs}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be within (0, 1), got {level}")
    return int(round(seeds))


def subset_sampling(
    outcome: Callable[[np.ndarray, str], np.ndarray],
    dimension: int,
    threshold: float,
    rng: np.random.Generator,
    *,
    runs_per_level: int = 500,
    p0: float = 0.1,
    max_levels: int = 10,
    max_runs: int = 20_000,
    level: float = 0.95,
    on_level: Callable[[SubsetLevel], None] | None = None,
) -> SubsetResult:
    """Estimate :math:`P(Y(\\mathbf u) > u)`, :math:`\\mathbf u \\sim N(0, I_d)`, by subset simulation.

    Parameters
    ----------
    outcome : callable
        ``outcome(U, label)`` -> :math:`Y` of each row of ``U`` (shape (n, dimension)); ``label``
        names the batch (``level-JJ-step-TT``).
    dimension : int
        :math:`d` >= 1.
    threshold : float
        :math:`u`; the outcome of interest is :math:`Y > u`.
    rng : numpy.random.Generator
        Source of the latent normals (level 0's and the proposals').
    runs_per_level : int
        :math:`N` (>= 10, a multiple of :math:`1/p_0`).
    p0 : float
        Conditional probability of the intermediate levels, in (0, 0.5].
    max_levels, max_runs : int
        Levels at most, runs at most (a level is started only if it fits).
    level : float
        Confidence level of the interval.
    on_level : callable, optional
        Called with each :class:`SubsetLevel` as it is done.
    """
    nc = _check(threshold, runs_per_level, p0, max_levels, max_runs, level)
    if dimension < 1:
        raise ValueError(f"dimension must be >= 1, got {dimension}")
    n = runs_per_level
    z_level = float(stats.norm.isf((1.0 - level) / 2.0))

    def evaluate(u: np.ndarray, label: str) -> np.ndarray:
        y = np.asarray(outcome(u, label), dtype=np.float64)
        if y.shape != (u.shape[0],):
            raise ValueError(f"outcome returned {y.shape} values for {u.shape[0]} runs")
        if not np.all(np.isfinite(y)):
            raise ValueError("outcome returned non-finite values")
        return y

    u = rng.standard_normal((n, dimension))
    y = evaluate(u, "level-00-step-00")
    chains_i = np.arange(n)[:, None]  # each level's runs laid out as (chain, step); level 0: independent runs
    mask = np.ones((n, 1), dtype=bool)
    levels: list[SubsetLevel] = []
    notes: list[str] = []
    product = 1.0
    lam = LAMBDA_START
    runs, acc, spread, new_runs = 0, math.nan, math.nan, n
    stopped = ""
    for j in range(max_levels):
        runs += new_runs
        order = np.argsort(-y, kind="stable")
        b = float(y[order[nc]])  # the (N p0 + 1)-th largest: N p0 runs above it (fewer on ties)
        final = int(np.sum(y > threshold)) >= nc  # the level's (1 - p0) quantile reached the threshold
        last_chance = j + 1 == max_levels or runs + n - nc > max_runs
        cut = threshold if final or last_chance else b
        hit = y > cut
        p_j = float(np.mean(hit))
        gamma = 0.0 if j == 0 else _gamma(hit[chains_i].astype(np.float64), mask, p_j)
        lv = SubsetLevel(j, cut, p_j, gamma, _level_cov(p_j, n, gamma), new_runs, acc, spread, y,
                         final or last_chance)
        levels.append(lv)
        if on_level is not None:
            on_level(lv)
        product *= p_j
        if final:
            stopped = f"threshold reached on level {j}"
            break
        if last_chance:
            stopped = "level budget" if j + 1 == max_levels else "run budget"
            notes.append(f"the levels did not reach {threshold:g} ({stopped}; last intermediate level {b:.4g}): "
                         f"the estimate is p0^{j} times the last level's share above the threshold")
            break
        if p_j == 0.0:  # every run ties at the top value
            stopped = "flat outcome"
            notes.append(f"no run above the level {b:.4g} (tied outcomes): the estimate is 0")
            break
        # Markov chains from the seeds (adaptive conditional sampling, Papaioannou et al. 2015)
        seeds = order[: int(hit.sum())]
        lengths = np.full(seeds.size, n // seeds.size) + (np.arange(seeds.size) < n % seeds.size)
        sd_hat = np.std(u[seeds], axis=0, ddof=1) if seeds.size > 1 else np.ones(dimension)
        cur_u, cur_y = u[seeds].copy(), y[seeds].copy()
        states_u = [cur_u.copy()]
        states_y = [cur_y.copy()]
        accepted, proposed, sig_used = 0, 0, []
        for t in range(1, int(lengths.max())):
            active = np.flatnonzero(lengths > t)
            sigma = np.minimum(1.0, lam * sd_hat)
            rho = np.sqrt(1.0 - sigma**2)
            cand = rho * cur_u[active] + sigma * rng.standard_normal((active.size, dimension))
            y_c = evaluate(cand, f"level-{j + 1:02d}-step-{t:02d}")
            ok = y_c > b
            cur_u[active[ok]] = cand[ok]
            cur_y[active[ok]] = y_c[ok]
            states_u.append(cur_u.copy())
            states_y.append(cur_y.copy())
            a_hat = float(np.mean(ok))
            accepted += int(ok.sum())
            proposed += active.size
            sig_used.append(float(np.mean(sigma)))
            lam = math.exp(math.log(lam) + (a_hat - TARGET_ACCEPTANCE) / math.sqrt(t))
        su, sy = np.stack(states_u, axis=1), np.stack(states_y, axis=1)  # (chains, steps, ...)
        mask = np.arange(su.shape[1])[None, :] < lengths[:, None]
        u, y = su[mask], sy[mask]  # chain by chain
        chains_i = np.full(mask.shape, 0, dtype=np.int64)
        chains_i[mask] = np.arange(y.size)
        new_runs = proposed
        acc = accepted / proposed if proposed else math.nan
        spread = float(np.mean(sig_used)) if sig_used else math.nan
    value = product
    covs = [lv.cov for lv in levels]
    cov = math.sqrt(sum(c * c for c in covs))
    cov_upper = float(sum(covs))
    if value > 0 and math.isfinite(cov):
        s = math.sqrt(math.log1p(cov * cov))
        lo, hi = value * math.exp(-z_level * s), value * math.exp(z_level * s)
    else:
        lo, hi = 0.0, math.nan
    hits = int(np.sum(levels[-1].values > threshold))
    if hits < FEW_HITS:
        notes.append(f"the last level's conditional probability rests on {hits} run(s) above {threshold:g}")
    return SubsetResult(float(threshold), p0, tuple(levels), float(value), cov, cov_upper, lo, hi, level, stopped,
                        tuple(notes), dimension)


def batch_seed(seed: int, label: str) -> int:
    """The root seed of the batch ``label`` of a subset simulation of root ``seed`` (63 bits)."""
    from twinforge.campaign.adaptive import derived_seed

    return derived_seed(seed, f"subset/batch/{label}")


def subset_simulation(
    campaign: CampaignSpec,
    simulate: Callable[[CampaignSpec, int, str, list], np.ndarray],
    threshold: float,
    *,
    seed: int,
    runs_per_level: int = 500,
    p0: float = 0.1,
    max_levels: int = 10,
    max_runs: int = 20_000,
    level: float = 0.95,
    on_level: Callable[[SubsetLevel], None] | None = None,
) -> SubsetResult:
    """Estimate :math:`P_p(Y > u)` of a simulated outcome by subset simulation (module docstring).

    Parameters
    ----------
    campaign : CampaignSpec
        The campaign: twin, window, event models (their natural law is sampled; a proposal,
        strata or design are not used). Counterfactual pairs are not supported.
    simulate : Simulator
        ``simulate(batch_campaign, seed, label, plans)`` -> the outcome of each plan, in order,
        as for :func:`~twinforge.campaign.adaptive.cross_entropy`; it must run the ``plans``
        it is given (their events and weather draws come from the latent vectors), so
        :func:`~twinforge.campaign.adaptive.dataset_simulator`, which replans the campaign, does not fit.
    threshold : float
        :math:`u`.
    seed : int
        Root seed: the latent draws come from its stream ``subset/latent``, each batch's runs
        from :func:`batch_seed`; the same seed gives the same estimate bit for bit.
    runs_per_level, p0, max_levels, max_runs, level, on_level
        As for :func:`subset_sampling`.
    """
    space = LatentSpace.of_estimator(campaign, "subset simulation")
    res = subset_sampling(space.outcome(simulate, seed, "subset"), space.dimension, threshold, RngStreams(seed).generator("subset/latent"),
                          runs_per_level=runs_per_level, p0=p0, max_levels=max_levels, max_runs=max_runs,
                          level=level, on_level=on_level)
    return dataclasses.replace(res, notes=space.with_notes(res.notes))
