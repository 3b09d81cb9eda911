"""Read a campaign dataset and turn per-run outcomes into estimates that know the sampler.

Every run of a campaign carries its weight in ``runs.parquet`` (1 for plain Monte Carlo,
the likelihood ratio for importance sampling, :math:`P_h N / n_h` for a stratified plan)
and the dataset's manifest holds the campaign itself. An *outcome* is a function of one run
(its samples, its events, its parameters) returning a number; :func:`estimate` applies it
to every factual run and picks the estimator the campaign's sampler calls for
(:mod:`twinforge.campaign.estimators`):

- natural, design and importance campaigns: the weighted mean :math:`\\frac1n\\sum w_i Y_i`
  (or its self-normalised or regression forms), with the weights checked against their
  known expectation;
- stratified campaigns: the stratified estimator with the stratified variance, the strata
  the plan left out reported (their probability, and for probabilities an interval that
  covers whatever they hold);
- counterfactual pairs: ``kind="paired"``, the run's own no-event outcome as a control
  variate;
- probabilities: exact binomial intervals when hits are few or none.

>>> est = estimate("data/grid_hw", lambda run: run.samples(["temp_indoor_c"]).max().item())  # doctest: +SKIP
>>> est.value, est.ci_low, est.ci_high, est.ess, est.warnings                           # doctest: +SKIP
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from twinforge.campaign.estimators import (
    Estimate,
    paired_mean,
    stratified_mean,
    weighted_mean,
    weighted_probability,
)

__all__ = [
    "CampaignRun",
    "read_runs",
    "read_campaign",
    "outcomes",
    "estimate",
    "paired_effects",
    "column_outcome",
    "numeric_columns",
    "twin_channels",
    "calendar_coverage",
    "runs_per_year",
]

Kind = Literal["unbiased", "self_normalised", "regression", "paired"]
STATS = ("max", "min", "mean", "sum", "std")


@dataclass
class CampaignRun:
    """One run of a campaign dataset, as an outcome function sees it.

    Attributes
    ----------
    record : pandas.Series
        Its row of ``runs.parquet`` (``run_id``, ``weight``, ``stratum``, ``pair_id``,
        ``counterfactual``, ``seed``, every parameter).
    events : pandas.DataFrame
        Its rows of ``events.parquet`` (injected and emergent events).
    """

    root: Path
    record: pd.Series
    events: pd.DataFrame

    @property
    def run_id(self) -> int:
        return int(self.record["run_id"])

    def samples(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The run's samples (``time`` and the channels in ``columns``, default all)."""
        twin, run_id = self.record["twin"], self.run_id
        path = self.root / "samples" / f"twin={twin}" / f"run_id={run_id}" / "part-0.parquet"
        cols = None if columns is None else ["time", *[c for c in columns if c != "time"]]
        return pq.read_table(path, columns=cols).to_pandas()


def read_runs(dataset: str | Path) -> pd.DataFrame:
    """``runs.parquet`` of a (finalized) campaign dataset, sorted by run."""
    root = Path(dataset)
    path = root / "runs.parquet"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: is {root} a finalized twinforge dataset?")
    return pd.read_parquet(path).sort_values(["twin", "run_id"], kind="stable").reset_index(drop=True)


def read_campaign(dataset: str | Path) -> Any:
    """The :class:`~twinforge.campaign.campaign.CampaignSpec` a dataset was made from.

    None for a dataset written by ``generate`` (no campaign: plain runs of weight 1).
    """
    from twinforge.campaign.campaign import CampaignSpec
    from twinforge.export.parquet import read_manifest

    data = (read_manifest(Path(dataset)).get("dataset") or {}).get("campaign")
    return CampaignSpec.from_json_dict(data) if data else None


def _select(runs: pd.DataFrame, counterfactual: bool | None) -> pd.DataFrame:
    if counterfactual is None or "counterfactual" not in runs:
        return runs
    return runs[runs["counterfactual"].astype(bool) == counterfactual]


def outcomes(
    dataset: str | Path,
    outcome: Callable[[CampaignRun], float],
    *,
    counterfactual: bool | None = False,
) -> pd.DataFrame:
    """``outcome`` of every run, with the run's weight.

    Parameters
    ----------
    dataset : str or Path
    outcome : callable
        ``outcome(run: CampaignRun) -> float``.
    counterfactual : bool or None
        Which runs: False (default) the factual runs (all runs of a campaign without
        pairs), True the counterfactual members only, None every run.

    Returns
    -------
    pandas.DataFrame
        ``run_id``, ``pair_id``, ``weight``, ``stratum``, ``counterfactual`` and ``value``.
    """
    root = Path(dataset)
    runs = _select(read_runs(root), counterfactual)
    events = pd.read_parquet(root / "events.parquet")
    by_run = {k: g for k, g in events.groupby(["twin", "run_id"], sort=False)}
    values = []
    for _, rec in runs.iterrows():
        ev = by_run.get((rec["twin"], rec["run_id"]), events.iloc[:0])
        values.append(float(outcome(CampaignRun(root, rec, ev.reset_index(drop=True)))))
    keep = [c for c in ("run_id", "pair_id", "weight", "stratum", "counterfactual") if c in runs]
    out = runs[keep].reset_index(drop=True).copy()
    out["value"] = np.asarray(values, dtype=np.float64)
    return out


def numeric_columns(dataset: str | Path) -> dict[str, str]:
    """The numeric samples columns of a dataset and their Arrow types (labels included).

    Read from the schema of the first run's samples file.

    Raises
    ------
    FileNotFoundError
        If the dataset holds no samples file.
    """
    root = Path(dataset)
    first = next(iter(sorted(root.glob("samples/twin=*/run_id=*/part-0.parquet"))), None)
    if first is None:
        raise FileNotFoundError(f"{root} holds no samples (samples/twin=*/run_id=*/part-0.parquet)")
    schema = pq.read_schema(first)
    return {
        f.name: str(f.type)
        for f in schema
        if f.name != "time" and (pa.types.is_integer(f.type) or pa.types.is_floating(f.type) or pa.types.is_boolean(f.type))
    }


def twin_channels(campaign: Any) -> dict[str, str]:
    """The numeric channels (measurements and labels) of a campaign's twin and their units."""
    from twinforge.core.registry import TWINS
    from twinforge.core.rng import RngStreams

    twin = TWINS.get(campaign.twin)(campaign.scenario.config, RngStreams(0))
    return {ch.name: ch.unit for ch in twin.channels() if np.dtype(ch.dtype).kind in "biuf"}


def check_column(dataset: str | Path, column: str) -> None:
    """Refuse (ValueError, one line) a column that is not a numeric samples column."""
    numeric = numeric_columns(dataset)
    if column in numeric:
        return
    schema = pq.read_schema(next(iter(sorted(Path(dataset).glob("samples/twin=*/run_id=*/part-0.parquet")))))
    names = ", ".join(sorted(numeric))
    if column in schema.names:
        raise ValueError(
            f"column {column!r} is not numeric ({schema.field(column).type}); a statistic needs one of: {names}"
        )
    raise ValueError(f"no samples column {column!r} in {dataset}; numeric columns: {names}")


def column_outcome(column: str, stat: str = "max", above: float | None = None) -> Callable[[CampaignRun], float]:
    """An outcome reducing one samples column: ``stat`` in max, min, mean, sum, std.

    With ``above`` (a finite number), the outcome is the indicator ``stat > above``.
    """
    if stat not in STATS:
        raise ValueError(f"stat must be max, min, mean, sum or std, got {stat!r}")
    if above is not None and not math.isfinite(above):
        raise ValueError(f"above must be a finite number, got {above!r}")

    def fn(run: CampaignRun) -> float:
        x = run.samples([column])[column].to_numpy(dtype=np.float64)
        v = float(getattr(np, f"nan{stat}")(x))
        return float(v > above) if above is not None else v

    return fn


def _expected_weight(campaign: Any) -> float | None:
    """:math:`E_q[w]` of an importance campaign's weights (1, or the ``min_events`` mass)."""
    if campaign is None or campaign.sampler != "importance":
        return None
    s = campaign.scenario
    out = 1.0
    for name, prop in campaign.proposal.items():
        if prop.min_events:
            out *= -math.expm1(-campaign.events[name].expected_count(s.start, s.days))
    return out


def _min_events_note(campaign: Any) -> str | None:
    if campaign is None or campaign.sampler != "importance":
        return None
    names = [n for n, p in campaign.proposal.items() if p.min_events]
    if not names:
        return None
    return (
        f"min_events = 1 for {', '.join(names)}: runs without that event are never drawn, so this "
        f"estimates E[Y 1{{N >= 1}}], not E[Y] (right only for statistics that vanish without the event)"
    )


def estimate(
    dataset: str | Path,
    outcome: Callable[[CampaignRun], float],
    *,
    probability: bool = False,
    kind: Kind = "unbiased",
    level: float = 0.95,
) -> Estimate:
    """Estimate of :math:`E_p[Y]` (or :math:`P_p(Y = 1)`) that follows the campaign's sampler.

    Parameters
    ----------
    dataset : str or Path
        A campaign dataset (or a ``generate`` dataset: plain runs).
    outcome : callable
        ``outcome(run: CampaignRun) -> float``; with ``probability`` an indicator (0/1).
    probability : bool
        The outcome is an indicator: exact binomial intervals when hits are few.
    kind : {"unbiased", "self_normalised", "regression", "paired"}
        ``"unbiased"``: the sampler's own unbiased estimator (the weighted mean, or the
        stratified estimator for a stratified plan); ``"self_normalised"`` and
        ``"regression"``: see :mod:`twinforge.campaign.estimators`; ``"paired"``: the
        counterfactual-pair estimator (needs ``counterfactual = true``).
    level : float
        Confidence level.

    Returns
    -------
    Estimate
        With ``warnings``: small ESS, degenerate weights, strata without runs, and the
        meaning of a mean under ``min_events = 1``.
    """
    campaign = read_campaign(dataset)
    stratified = campaign is not None and campaign.sampler == "stratified"
    notes: list[str] = []
    note = _min_events_note(campaign)
    if note and not probability:
        notes.append(note)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        if kind == "paired":
            est = _paired(dataset, outcome, level, campaign)
        else:
            df = outcomes(dataset, outcome, counterfactual=False)
            y, w = df["value"].to_numpy(), df["weight"].to_numpy()
            if probability and not np.isin(y, (0.0, 1.0)).all():
                raise ValueError("the outcome must be an indicator (0 or 1) for a probability")
            if stratified:
                est = _stratified(campaign, df, probability, kind, level)
            elif probability:
                est = weighted_probability(y > 0.5, w, kind=kind, level=level, expected_weight=_expected_weight(campaign))
            else:
                est = weighted_mean(y, w, kind=kind, level=level, expected_weight=_expected_weight(campaign))
    out = Estimate(**{**est.__dict__, "warnings": tuple(notes) + est.warnings})
    for m in out.warnings:
        warnings.warn(m, UserWarning, stacklevel=2)
    return out


def _stratified(campaign: Any, df: pd.DataFrame, probability: bool, kind: str, level: float) -> Estimate:
    from twinforge.events.sampling import stratum_probabilities

    s = campaign.scenario
    probs = stratum_probabilities(campaign.events, s.start, s.days)
    strata = df["stratum"].tolist()
    if kind == "unbiased":
        return stratified_mean(df["value"].to_numpy(), strata, probs, level=level, probability=probability)
    fn = weighted_probability if probability else weighted_mean
    y = df["value"].to_numpy()
    est = fn(y > 0.5 if probability else y, df["weight"].to_numpy(), kind=kind, level=level,  # type: ignore[operator]
             groups=strata)
    return Estimate(**{**est.__dict__, "warnings": tuple(_uncovered_notes(probs, strata)) + est.warnings})


def _uncovered_notes(probs: dict[str, float], strata: Sequence[str]) -> list[str]:
    missing = {h: p for h, p in probs.items() if h not in set(strata) and p > 0}
    total = sum(missing.values())
    if total <= 1e-9:
        return []
    return [f"strata without runs ({', '.join(sorted(missing))}) hold probability {total:.3g}: this estimator "
            "counts them as contributing nothing"]


def _paired(dataset: str | Path, outcome: Callable[[CampaignRun], float], level: float, campaign: Any) -> Estimate:
    from twinforge.events.sampling import stratum_probabilities

    pairs, _ = paired_effects(dataset, outcome, level=level)
    stratified = campaign is not None and campaign.sampler == "stratified"
    strata = pairs["stratum"].tolist() if stratified else None
    est = paired_mean(
        pairs["factual"].to_numpy(), pairs["counterfactual"].to_numpy(), pairs["weight"].to_numpy(),
        level=level, groups=strata,
    )
    if not stratified:
        return est
    s = campaign.scenario
    notes = _uncovered_notes(stratum_probabilities(campaign.events, s.start, s.days), strata)
    return Estimate(**{**est.__dict__, "warnings": tuple(notes) + est.warnings})


def paired_effects(
    dataset: str | Path, outcome: Callable[[CampaignRun], float], *, level: float = 0.95
) -> tuple[pd.DataFrame, Estimate]:
    """Effect of the events, pair by pair: outcome(factual) - outcome(counterfactual).

    Returns the per-pair table (``pair_id``, ``weight``, ``stratum``, ``factual``,
    ``counterfactual``, ``effect``) and the weighted mean effect (its variance computed
    stratum by stratum for a stratified plan). Both members share every random stream but
    the events, so the difference isolates the events' effect with little noise.
    """
    df = outcomes(dataset, outcome, counterfactual=None)
    if "counterfactual" not in df or not df["counterfactual"].any():
        raise ValueError(f"{dataset} holds no counterfactual pairs (campaign counterfactual = true)")
    f = df[~df["counterfactual"].astype(bool)].set_index("pair_id")
    c = df[df["counterfactual"].astype(bool)].set_index("pair_id")
    pairs = pd.DataFrame(
        {"weight": f["weight"], "stratum": f["stratum"] if "stratum" in f else "",
         "factual": f["value"], "counterfactual": c["value"].reindex(f.index)}
    ).dropna()
    pairs["effect"] = pairs["factual"] - pairs["counterfactual"]
    campaign = read_campaign(dataset)
    groups = pairs["stratum"].tolist() if campaign is not None and campaign.sampler == "stratified" else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        est = weighted_mean(pairs["effect"].to_numpy(), pairs["weight"].to_numpy(), level=level, groups=groups)
    return pairs.reset_index(), est


# --------------------------------------------------------------------------- calendar coverage


def calendar_coverage(campaign: Any) -> dict[str, float]:
    """Share of a year's events that one run's window holds, per event type [-].

    :math:`\\Lambda_{window} / R`: the expected onsets in the window over the yearly rate.
    A 14-day window in July holds about a fifth of a year's heat waves (the season is
    concentrated there), not 14/365. A campaign without event models covers the share
    ``days / 365.25`` of the calendar.
    """
    s = campaign.scenario
    if not campaign.events:
        return {"calendar": min(1.0, s.days / 365.25)}
    return {
        name: min(1.0, m.expected_count(s.start, s.days) / m.rate_per_year)
        for name, m in sorted(campaign.events.items())
    }


def runs_per_year(campaign: Any, event_type: str | None = None) -> float:
    """How many runs make one year of the phenomenon that drives an outcome [yr-1].

    ``1 / coverage`` (:func:`calendar_coverage`) of ``event_type``: the number of windows
    like the campaign's that hold a year's worth of those events. Return periods then read
    as "once in T years", under the assumption that an event has the same effect whenever
    in the year it happens (otherwise they are return periods of the window's season).
    With several event types of different coverage, name the one that drives the outcome.

    Raises
    ------
    ValueError
        If ``event_type`` is needed or unknown.
    """
    cov = calendar_coverage(campaign)
    if event_type is None:
        if len(cov) > 1 and max(cov.values()) > 1.01 * min(cov.values()):
            shares = ", ".join(f"{k} {v:.3g}" for k, v in cov.items())
            raise ValueError(
                f"the event types cover different shares of a year ({shares}); name the one that drives "
                "the outcome (event_type=...)"
            )
        share = next(iter(cov.values()))
    elif event_type not in cov:
        raise ValueError(f"no event model {event_type!r} in the campaign; known: {', '.join(cov)}")
    else:
        share = cov[event_type]
    return 1.0 / share
