"""Read a campaign dataset and turn per-run outcomes into weighted estimates.

Every run of a campaign carries its weight in ``runs.parquet`` (1 for plain Monte Carlo,
the likelihood ratio for importance sampling, :math:`P_h N / n_h` for a stratified plan),
so one estimator serves every sampler: :math:`\\hat\\mu = \\frac1n \\sum_i w_i Y_i`
(:func:`twinforge.campaign.estimators.weighted_mean`). An *outcome* is a function of one
run (its samples, its events, its parameters) returning a number; :func:`estimate`
applies it to every factual run and returns the estimate with its standard error,
confidence interval and effective sample size.

>>> est = estimate("data/grid_hw", lambda run: run.samples(["temp_indoor_c"]).max().item())  # doctest: +SKIP
>>> est.value, est.ci_low, est.ci_high, est.ess                                         # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from twinforge.campaign.estimators import Estimate, weighted_mean, weighted_probability

__all__ = ["CampaignRun", "read_runs", "outcomes", "estimate", "paired_effects", "column_outcome"]

Kind = Literal["unbiased", "self_normalised"]


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
        from twinforge.export.parquet import SAMPLES_DIR, run_file

        path = self.root / run_file(SAMPLES_DIR, twin, run_id)
        cols = None if columns is None else ["time", *[c for c in columns if c != "time"]]
        return pq.read_table(path, columns=cols).to_pandas()


def read_runs(dataset: str | Path) -> pd.DataFrame:
    """``runs.parquet`` of a (finalized) campaign dataset, sorted by run."""
    root = Path(dataset)
    path = root / "runs.parquet"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: is {root} a finalized twinforge dataset?")
    return pd.read_parquet(path).sort_values(["twin", "run_id"], kind="stable").reset_index(drop=True)


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


def column_outcome(column: str, stat: str = "max", above: float | None = None) -> Callable[[CampaignRun], float]:
    """An outcome reducing one samples column: ``stat`` in max, min, mean, sum, std.

    With ``above``, the outcome is the indicator ``stat > above`` (a probability).
    """
    if stat not in ("max", "min", "mean", "sum", "std"):
        raise ValueError(f"stat must be max, min, mean, sum or std, got {stat!r}")

    def fn(run: CampaignRun) -> float:
        x = run.samples([column])[column].to_numpy(dtype=np.float64)
        v = float(getattr(np, f"nan{stat}")(x))
        return float(v > above) if above is not None else v

    return fn


def estimate(
    dataset: str | Path,
    outcome: Callable[[CampaignRun], float],
    *,
    probability: bool = False,
    kind: Kind = "unbiased",
    level: float = 0.95,
) -> Estimate:
    """Weighted estimate of :math:`E_p[Y]` (or :math:`P_p(Y = 1)`) over the factual runs.

    Uses each run's ``weight``, so it is right for every sampler: plain Monte Carlo,
    importance sampling (unbiased with exact likelihood ratios), stratified plans (the
    stratified estimator). ``kind="self_normalised"`` divides by the sum of weights
    instead of ``n``. See :mod:`twinforge.campaign.estimators` for standard errors and
    the effective sample size, and ``docs/campaigns.md`` for when to trust them.
    """
    df = outcomes(dataset, outcome, counterfactual=False)
    if probability:
        return weighted_probability(df["value"].to_numpy() > 0.5, df["weight"].to_numpy(), kind=kind, level=level)
    return weighted_mean(df["value"].to_numpy(), df["weight"].to_numpy(), kind=kind, level=level)


def paired_effects(
    dataset: str | Path, outcome: Callable[[CampaignRun], float], *, level: float = 0.95
) -> tuple[pd.DataFrame, Estimate]:
    """Effect of the events, pair by pair: outcome(factual) - outcome(counterfactual).

    Returns the per-pair table (``pair_id``, ``weight``, ``factual``, ``counterfactual``,
    ``effect``) and the weighted mean effect. Both members share every random stream
    but the events, so the difference isolates the events' effect with little noise.
    """
    df = outcomes(dataset, outcome, counterfactual=None)
    if "counterfactual" not in df or not df["counterfactual"].any():
        raise ValueError(f"{dataset} holds no counterfactual pairs (campaign counterfactual = true)")
    f = df[~df["counterfactual"].astype(bool)].set_index("pair_id")
    c = df[df["counterfactual"].astype(bool)].set_index("pair_id")
    pairs = pd.DataFrame(
        {"weight": f["weight"], "factual": f["value"], "counterfactual": c["value"].reindex(f.index)}
    ).dropna()
    pairs["effect"] = pairs["factual"] - pairs["counterfactual"]
    est = weighted_mean(pairs["effect"].to_numpy(), pairs["weight"].to_numpy(), level=level)
    return pairs.reset_index(), est
