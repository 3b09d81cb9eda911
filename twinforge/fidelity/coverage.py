"""Information richness (alpha-precision, beta-recall, authenticity) and intentionality.

:func:`intentionality` reads a campaign dataset against its campaign (class balance, event
shares, parameter coverage); the rest of this module is about information richness.

The window scores of :mod:`.comparison` ask whether synthetic windows can be told from real
ones. These ask two other questions (Alaa et al. 2022):

- **alpha-precision** ``P_alpha``: the share of synthetic windows that fall inside the
  *alpha-support* of the real windows, the smallest ball around the real centre holding a
  share ``alpha`` of them. A faithful generator gives ``P_alpha = alpha`` for every alpha;
  ``P_alpha > alpha`` means the synthetic windows crowd the typical real ones (a shrunken
  support, too little variety), ``P_alpha < alpha`` that they fall outside it (unrealistic).
- **beta-recall** ``R_beta``: the share of real windows *covered* by the beta-support of the
  synthetic windows: a real window is covered when its nearest synthetic window lies in the
  synthetic beta-support (the ball around the synthetic centre holding a share ``beta`` of
  the synthetic windows) and the real window lies within that synthetic window's k-nearest-
  neighbour ball (radius: its distance to its ``k``-th nearest synthetic neighbour). A
  generator that covers the real variety gives ``R_beta`` close to ``beta``; real windows in
  regions the synthetic set misses (rare conditions, the tails) lower it, a synthetic set
  wider than the real one raises it above ``beta``. Its end point ``R_1``, the *coverage*,
  is the share of real windows the synthetic set reaches at all.
- **authenticity**: the share of synthetic windows that are not near-copies: a synthetic
  window is unauthentic when it is closer to its nearest real window than that real window
  is to its own nearest real neighbour. Independent draws of the real distribution score
  about 0.5 (a coin toss between two equally close points); copies score 0.

Each curve is summarised by the integrated score of the paper,

.. math::

    IP_\\alpha = 1 - 2 \\int_0^1 |P_\\alpha - \\alpha| \\, d\\alpha, \\qquad
    IR_\\beta = 1 - 2 \\int_0^1 |R_\\beta - \\beta| \\, d\\beta,

both in [0, 1] with 1 best (the integral by the trapezoidal rule on ``n_levels`` levels),
plus the signed mean gap ``int (P_alpha - alpha) d alpha``, whose sign tells a shrunken
support (positive) from a shifted or wider one (negative).

The space: the paper embeds samples with a one-class network so that the real set is
a hypersphere; here the window feature vectors (:func:`~twinforge.fidelity.window_features`)
are standardised with the real set's mean and standard deviation (NaN -> the real mean), in
which the real centre is the origin. No network is trained, so the score is deterministic
and needs no seed; the price is that a ball is only an approximation of the real support
when the standardised features are far from spherical. The estimator of ``R_beta`` is the
k-NN ball of the paper (Sec. 4); ``k`` = 5 (not 1) so that two independent samples of one
distribution score ``R_beta`` close to ``beta``: with ``k = 1`` a real window is inside its
nearest synthetic window's 1-NN ball only about half the time even for a perfect generator.

Reference: A. M. Alaa, B. van Breugel, E. Saveliev, M. van der Schaar, "How faithful is
your synthetic data? Sample-level metrics for evaluating and auditing generative models",
ICML 2022, PMLR 162:290-306, doi:10.48550/arXiv.2102.08921.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> real = rng.normal(size=(400, 4))
>>> s = information_richness(real, real)
>>> round(s["alpha_precision"], 2), round(s["beta_recall"], 2), s["authenticity"]
(1.0, 1.0, 0.0)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from twinforge.fidelity.metrics import _features_pair, _standardise

__all__ = ["information_richness", "information_entries", "intentionality", "intentionality_entries", "INFORMATION_INFO", "MIN_WINDOWS"]

#: Fewest windows a side for the scores: below it a quantile ball is a handful of points.
MIN_WINDOWS = 10

#: Range, direction, ideal and meaning of each score (the shape of the report's entries).
INFORMATION_INFO: dict[str, tuple[str, str, float, str]] = {
    "alpha_precision": (
        "[0, 1]", "higher is better", 1.0,
        "integrated alpha-precision 1 - 2 int |P_a - a| da: synthetic windows fall in the real "
        "alpha-supports as often as real ones do (Alaa et al. 2022)"),
    "alpha_precision_gap": (
        "[-0.5, 0.5]", "closer to ideal is better", 0.0,
        "mean of P_a - a: > 0 synthetic windows crowd the typical real ones (shrunken support), "
        "< 0 they fall outside the real support"),
    "beta_recall": (
        "[0, 1]", "higher is better", 1.0,
        "integrated beta-recall 1 - 2 int |R_b - b| db: the synthetic windows cover the variety of "
        "the real ones, tails included"),
    "coverage": (
        "[0, 1]", "higher is better", 1.0,
        "share of real windows inside the k-NN ball of their nearest synthetic window (beta-recall "
        "at beta = 1): the real variety the synthetic set reaches"),
    "authenticity": (
        "[0, 1]", "closer to ideal is better", 0.5,
        "share of synthetic windows farther from their nearest real window than it is from its own "
        "neighbour: 0 = copies, about 0.5 = fresh draws"),
}


def _check_levels(n_levels: int) -> None:
    if isinstance(n_levels, bool) or not isinstance(n_levels, (int, np.integer)) or n_levels < 3:
        raise ValueError(f"n_levels must be an integer >= 3, got {n_levels!r}")


def information_richness(real_feats: ArrayLike, synth_feats: ArrayLike, *, k: int = 5,
                         n_levels: int = 41) -> dict[str, Any]:
    """Alpha-precision, beta-recall and authenticity of synthetic feature vectors.

    Parameters
    ----------
    real_feats, synth_feats : ndarray of shape (n_windows, n_features)
        Window feature vectors (NaN allowed: standardised to the real mean, i.e. 0).
    k : int
        Neighbours defining a synthetic window's ball in the beta-recall estimator, >= 1 and
        below the number of synthetic windows.
    n_levels : int
        Levels ``alpha = beta = linspace(0, 1, n_levels)`` of the curves, >= 3.

    Returns
    -------
    dict
        ``alpha_precision`` (IP_alpha), ``beta_recall`` (IR_beta), ``alpha_precision_gap``,
        ``beta_recall_gap`` (mean signed gaps), ``authenticity``, ``coverage`` (``R_1``: the
        share of real windows inside the k-NN ball of their nearest synthetic window): floats; ``levels``,
        ``precision_curve``, ``recall_curve``: lists of floats (the curves).

    Raises
    ------
    ValueError
        Fewer than :data:`MIN_WINDOWS` windows on a side, ``k`` out of range, mismatched
        features.
    """
    r, s = _features_pair(real_feats, synth_feats)
    if min(len(r), len(s)) < MIN_WINDOWS:
        raise ValueError(f"alpha-precision and beta-recall need at least {MIN_WINDOWS} windows a side, "
                         f"got {len(r)} real and {len(s)} synthetic")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k < len(s):
        raise ValueError(f"k must be an integer in [1, {len(s) - 1}] (synthetic windows - 1), got {k!r}")
    _check_levels(n_levels)
    from sklearn.neighbors import NearestNeighbors

    zr, zs = _standardise(r, r, s)
    levels = np.linspace(0.0, 1.0, int(n_levels))

    # alpha-precision: balls around the real centre (the origin after standardisation)
    d_real = np.linalg.norm(zr, axis=1)
    d_synth = np.linalg.norm(zs, axis=1)
    radii = np.quantile(d_real, levels)
    precision = np.mean(d_synth[None, :] <= radii[:, None], axis=1)
    precision[0] = 0.0  # alpha = 0: the empty support (a zero radius can still hold exact centres)

    # beta-recall: nearest synthetic window of each real one, its k-NN ball and the synthetic beta-support
    centre_s = zs.mean(axis=0)
    d_s_centre = np.linalg.norm(zs - centre_s, axis=1)
    radii_s = np.quantile(d_s_centre, levels)
    nn_s = NearestNeighbors(n_neighbors=int(k) + 1).fit(zs)
    knn_radius = nn_s.kneighbors(zs)[0][:, int(k)]          # column 0 is the point itself
    d_rs, j_rs = nn_s.kneighbors(zr, n_neighbors=1)
    d_rs, j_rs = d_rs[:, 0], j_rs[:, 0]
    in_ball = d_rs <= knn_radius[j_rs]
    recall = np.mean(in_ball[None, :] & (d_s_centre[j_rs][None, :] <= radii_s[:, None]), axis=1)
    recall[0] = 0.0

    # authenticity: synthetic window vs its nearest real one's own real neighbour distance
    nn_r = NearestNeighbors(n_neighbors=2).fit(zr)
    d_rr = nn_r.kneighbors(zr)[0][:, 1]
    d_sr, i_sr = nn_r.kneighbors(zs, n_neighbors=1)
    authentic = d_sr[:, 0] > d_rr[i_sr[:, 0]]

    def integrated(curve: np.ndarray) -> float:
        return float(1.0 - 2.0 * np.trapezoid(np.abs(curve - levels), levels))

    return {
        "alpha_precision": integrated(precision),
        "beta_recall": integrated(recall),
        "alpha_precision_gap": float(np.trapezoid(precision - levels, levels)),
        "beta_recall_gap": float(np.trapezoid(recall - levels, levels)),
        "authenticity": float(np.mean(authentic)),
        "coverage": float(np.mean(in_ball)),
        "levels": levels.tolist(),
        "precision_curve": precision.tolist(),
        "recall_curve": recall.tolist(),
        "k": int(k),
    }


def _entry(name: str, value: float | None, **extra: Any) -> dict[str, Any]:
    rng_, direction, ideal, meaning = INFORMATION_INFO[name]
    return {"value": None if value is None else float(value), "range": rng_, "direction": direction,
            "ideal": ideal, "meaning": meaning, **extra}


def information_entries(real_feats: ArrayLike, synth_feats: ArrayLike, *, k: int = 5,
                        n_levels: int = 41) -> dict[str, dict[str, Any]]:
    """The report's ``information`` group: one entry per score, as the other metric groups.

    With too few windows every entry has value None and a note instead of raising. The curves
    travel with the ``alpha_precision`` and ``beta_recall`` entries (``levels`` and ``curve``).
    """
    r, s = _features_pair(real_feats, synth_feats)
    if min(len(r), len(s)) < MIN_WINDOWS or len(s) <= k:
        note = f"needs at least {max(MIN_WINDOWS, k + 1)} windows a side"
        return {name: _entry(name, None, note=note) for name in INFORMATION_INFO}
    v = information_richness(r, s, k=k, n_levels=n_levels)
    return {
        "alpha_precision": _entry("alpha_precision", v["alpha_precision"], levels=v["levels"],
                                  curve=v["precision_curve"]),
        "alpha_precision_gap": _entry("alpha_precision_gap", v["alpha_precision_gap"]),
        "beta_recall": _entry("beta_recall", v["beta_recall"], levels=v["levels"], curve=v["recall_curve"],
                              k=v["k"]),
        "coverage": _entry("coverage", v["coverage"], k=v["k"]),
        "authenticity": _entry("authenticity", v["authenticity"]),
    }


# ---------------------------------------------------------------------------------------
# intentionality: what a campaign dataset holds against what its campaign asked for

#: Equal-probability bins of a parameter law for :func:`intentionality`'s bin coverage.
N_BINS = 10


def _present_types(events: pd.DataFrame, types: Sequence[str]) -> pd.DataFrame:
    """Run id x event type: True where the run has an injected (not emergent) event of it."""
    ev = events[events["type"].isin(list(types))]
    if "params" in ev and len(ev):
        emergent = ev["params"].map(lambda p: bool(p.get("emergent")) if isinstance(p, Mapping) else False)
        ev = ev[~emergent.to_numpy(dtype=bool)]
    return pd.crosstab(ev["run_id"], ev["type"]).gt(0) if len(ev) else pd.DataFrame()


def intentionality(dataset: Any) -> dict[str, Any]:
    """How a campaign dataset covers what its campaign asked for.

    Parameters
    ----------
    dataset : path or TwinDataset
        A finalized campaign dataset (``twinforge campaign run``).

    Returns
    -------
    dict
        ``class_balance``: with ``[classes]``, the asked and the generated share of the
        factual runs per stratum and their total-variation distance
        :math:`\\frac12 \\sum_h |g_h - a_h|` (0: as asked);
        ``events``: per event type, the share of factual runs holding it (as generated), the
        weighted share (the estimate of the natural probability the weights give back) and
        the natural probability :math:`1 - e^{-\\Lambda}` of the campaign's model, with the
        oversampling factor generated / natural;
        ``parameters``: per ``[parameters]`` law or ``[design]`` bound, the Kolmogorov-Smirnov
        distance between the runs' probability-integral transforms :math:`u = F(x)` and the
        uniform law (0: the runs follow the law asked for) and the share of the
        :data:`N_BINS` equal-probability bins holding at least one run.
    """
    from scipy import stats

    from twinforge.campaign.analysis import read_campaign, read_runs
    from twinforge.export.reader import TwinDataset, open_dataset

    ds = dataset if isinstance(dataset, TwinDataset) else open_dataset(dataset)
    campaign = read_campaign(ds.root)
    if campaign is None:
        raise ValueError(f"{ds.root} was not made by a campaign: nothing was asked for")
    runs = read_runs(ds.root)
    if "counterfactual" in runs:
        runs = runs[~runs["counterfactual"].astype(bool)]
    n = len(runs)
    out: dict[str, Any] = {"n_runs": n, "sampler": campaign.sampler}
    if campaign.classes:
        total = sum(campaign.classes.values())
        asked = {h: k / total for h, k in campaign.classes.items()}
        got = runs["stratum"].value_counts(normalize=True).to_dict()
        tv = 0.5 * sum(abs(got.get(h, 0.0) - asked.get(h, 0.0)) for h in set(asked) | set(got))
        out["class_balance"] = {"asked": asked, "generated": {h: float(got.get(h, 0.0)) for h in asked},
                                "total_variation": float(tv)}
    if campaign.events:
        s = campaign.scenario
        present = _present_types(ds.events, list(campaign.events)).reindex(runs["run_id"], fill_value=False)
        w = runs["weight"].to_numpy(dtype=float)
        ev = {}
        for name, model in campaign.events.items():
            has = present[name].to_numpy(dtype=bool) if name in present else np.zeros(n, dtype=bool)
            natural = 1.0 - math.exp(-model.active_count(s.start, s.days))
            share = float(has.mean()) if n else math.nan
            ev[name] = {"generated_share": share, "weighted_share": float(np.sum(w * has) / np.sum(w)),
                        "natural_probability": natural,
                        "oversampling": share / natural if natural > 0 else math.inf}
        out["events"] = ev
    laws: dict[str, Any] = {p: law.frozen().cdf for p, law in campaign.parameters.items()}
    if campaign.design is not None:
        laws.update({p: stats.uniform(lo, hi - lo).cdf for p, (lo, hi) in campaign.design.bounds.items()})
    params = {}
    for path, cdf in laws.items():
        col = path if path in runs else None
        if col is None or n == 0:
            params[path] = {"note": "not recorded in runs.parquet"}
            continue
        u = np.clip(cdf(runs[col].to_numpy(dtype=float)), 0.0, 1.0)
        bins = min(N_BINS, n)
        filled = len(np.unique(np.minimum((u * bins).astype(int), bins - 1))) / bins
        params[path] = {"ks_uniform": float(stats.kstest(u, "uniform").statistic), "bins": bins,
                        "bins_filled": float(filled)}
    if params:
        out["parameters"] = params
    return out


def intentionality_entries(dataset: Any) -> dict[str, dict[str, Any]]:
    """:func:`intentionality` as the report's ``intentionality`` group (empty for a dataset
    not made by a campaign): ``class_balance_tv``, ``event_share.<type>`` (generated share;
    the natural probability, weighted share and oversampling beside it) and
    ``parameter_ks.<path>`` (with ``bins_filled``)."""
    from twinforge.campaign.analysis import read_campaign
    from twinforge.export.reader import TwinDataset

    root = dataset.root if isinstance(dataset, TwinDataset) else dataset
    if read_campaign(root) is None:
        return {}
    v = intentionality(dataset)
    out: dict[str, dict[str, Any]] = {}
    if "class_balance" in v:
        cb = v["class_balance"]
        out["class_balance_tv"] = {
            "value": cb["total_variation"], "range": "[0, 1]", "direction": "lower is better", "ideal": 0.0,
            "meaning": "total-variation distance between the strata shares asked ([classes]) and generated",
            "asked": cb["asked"], "generated": cb["generated"]}
    for name, e in v.get("events", {}).items():
        out[f"event_share.{name}"] = {
            "value": e["generated_share"], "range": "[0, 1]", "direction": "as asked", "ideal": None,
            "meaning": f"share of runs with {name}: natural probability {e['natural_probability']:.3g}, "
                       f"oversampled x{e['oversampling']:.3g}; the weights give back {e['weighted_share']:.3g}",
            **e}
    for path, e in v.get("parameters", {}).items():
        if "ks_uniform" not in e:
            continue
        out[f"parameter_ks.{path}"] = {
            "value": e["ks_uniform"], "range": "[0, 1]", "direction": "lower is better", "ideal": 0.0,
            "meaning": f"KS distance of the runs' F(x) from uniform: the law asked for; "
                       f"{e['bins_filled']:.0%} of {e['bins']} equal-probability bins hold a run", **e}
    return out
