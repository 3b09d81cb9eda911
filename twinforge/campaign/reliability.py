"""Distribution reliability indices of grid runs (IEEE Std 1366) and their campaign estimates.

From a grid dataset's ``outage`` events (natural feeder faults, campaign-drawn
``feeder_fault`` events, overload trips), each run's indices over its window
:math:`[t_0, t_0 + T)` for the :math:`N_T` homes (customers) of its feeder, after IEEE
Std 1366-2012, *IEEE Guide for Electric Power Distribution Reliability Indices*,
doi:10.1109/IEEESTD.2012.6209381:

- an interruption of a home is a maximal interval without supply (overlapping outages that
  cut the same home count once); it is *sustained* when it lasts more than 5 minutes,
  *momentary* otherwise;
- :math:`\\mathrm{SAIFI} = \\sum_i N_i / N_T`: sustained customer interruptions per customer [-];
- :math:`\\mathrm{SAIDI} = \\sum_i r_i N_i / N_T`: customer minutes of sustained
  interruption per customer [min];
- :math:`\\mathrm{CAIDI} = \\mathrm{SAIDI} / \\mathrm{SAIFI}`: mean sustained interruption
  duration [min] (NaN for a run without interruption);
- :math:`\\mathrm{MAIFI} = \\sum_i N^{mom}_i / N_T`: momentary interruptions per customer [-];
- :math:`\\mathrm{ASAI} = 1 - \\mathrm{SAIDI} / T`: average service availability [-];
- ENS: energy not served [kWh], the outages' ``energy_not_served_j`` (the net energy the
  cut homes would have drawn; not a 1366 index, the usual companion).

Outages are clipped to the window; an outage of ``homes_affected`` homes cuts the last ones
of the feeder (its far end), as the grid twin's protection does.

Campaign estimates (:func:`campaign_reliability`) use the sampler-aware estimators of
:func:`twinforge.campaign.analysis.estimate` for :math:`E_p[\\mathrm{SAIFI}]`,
:math:`E_p[\\mathrm{SAIDI}]`, :math:`E_p[\\mathrm{MAIFI}]` and :math:`E_p[\\mathrm{ENS}]` per
window; the campaign's ASAI is :math:`1 - E[\\mathrm{SAIDI}] / T` and its CAIDI the ratio
estimate :math:`E[\\mathrm{SAIDI}] / E[\\mathrm{SAIFI}]` (as IEEE 1366 defines the system
index: a ratio of totals, not a mean of per-run ratios), with a delta-method interval.
Per-window values become yearly ones with the window's calendar coverage of the events
that cause the outages (:func:`twinforge.campaign.analysis.runs_per_year`).
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twinforge.campaign.analysis import CampaignRun, estimate, outcomes, read_campaign
from twinforge.campaign.estimators import Estimate, _normal, _var_of_mean, kish_ess

__all__ = ["SUSTAINED_MIN", "run_indices", "reliability_indices", "campaign_reliability"]

#: Interruptions longer than this are sustained (IEEE Std 1366-2012, sec. 3) [min].
SUSTAINED_MIN = 5.0

_INDICES = ("saifi", "saidi_min", "maifi", "ens_kwh")


def run_indices(events: pd.DataFrame, n_homes: int, start: pd.Timestamp, days: float) -> dict[str, float]:
    """Reliability indices of one run from its ``events.parquet`` rows.

    Parameters
    ----------
    events : pandas.DataFrame
        The run's events (``type``, ``start``, ``end``, ``params`` as in ``events.parquet``).
    n_homes : int
        Customers of the feeder :math:`N_T`.
    start, days
        The run's window.

    Returns
    -------
    dict
        ``saifi``, ``saidi_min``, ``caidi_min``, ``maifi``, ``asai``, ``ens_kwh``.
    """
    if n_homes < 1:
        raise ValueError(f"n_homes must be >= 1, got {n_homes}")
    t0 = pd.Timestamp(start)
    t1 = t0 + pd.Timedelta(days=days)
    out = events[events["type"] == "outage"]
    cuts: list[list[tuple[float, float]]] = [[] for _ in range(n_homes)]
    ens_j = 0.0
    for _, ev in out.iterrows():
        params = json.loads(ev["params"]) if isinstance(ev["params"], str) else dict(ev["params"] or {})
        ens_j += float(params.get("energy_not_served_j", 0.0))
        a, b = max(ev["start"], t0), min(ev["end"], t1)
        if b <= a:
            continue
        k = int(params.get("homes_affected", round(float(ev["severity"]) * n_homes)))
        lo, hi = (a - t0).total_seconds() / 60.0, (b - t0).total_seconds() / 60.0
        for h in range(max(n_homes - k, 0), n_homes):
            cuts[h].append((lo, hi))
    sustained = momentary = minutes = 0.0
    for intervals in cuts:
        for lo, hi in _union(intervals):
            if hi - lo > SUSTAINED_MIN:
                sustained += 1
                minutes += hi - lo
            else:
                momentary += 1
    saifi, saidi = sustained / n_homes, minutes / n_homes
    return {
        "saifi": saifi,
        "saidi_min": saidi,
        "caidi_min": saidi / saifi if saifi > 0 else math.nan,
        "maifi": momentary / n_homes,
        "asai": 1.0 - saidi / (days * 1440.0),
        "ens_kwh": ens_j / 3.6e6,
    }


def _union(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[list[float]] = []
    for lo, hi in sorted(intervals):
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return [(a, b) for a, b in merged]


def _n_homes(run: CampaignRun) -> int:
    rec = run.record
    if rec.get("twin") != "grid" or "n_homes" not in rec:
        raise ValueError("reliability indices need a grid dataset (runs with n_homes)")
    return int(rec["n_homes"])


def _window(dataset: str | Path) -> tuple[pd.Timestamp, float]:
    from twinforge.export.parquet import read_manifest

    scenario = (read_manifest(Path(dataset)).get("dataset") or {}).get("scenario") or {}
    if "start" not in scenario or "days" not in scenario:
        raise ValueError(f"{dataset}: the manifest does not record the scenario's start and days")
    return pd.Timestamp(scenario["start"]), float(scenario["days"])


def _indexer(dataset: str | Path) -> Any:
    """``index(run) -> dict`` of a dataset's runs, computed once per run."""
    start, days = _window(dataset)
    cache: dict[tuple[str, int], dict[str, float]] = {}

    def index(run: CampaignRun) -> dict[str, float]:
        key = (str(run.record["twin"]), run.run_id)
        if key not in cache:
            cache[key] = run_indices(run.events, _n_homes(run), start, days)
        return cache[key]

    return index


def reliability_indices(dataset: str | Path) -> pd.DataFrame:
    """The indices of every factual run of a grid dataset, with the run's weight and stratum.

    Returns
    -------
    pandas.DataFrame
        ``run_id``, ``weight``, ``stratum``, ``saifi``, ``saidi_min``, ``caidi_min``,
        ``maifi``, ``asai``, ``ens_kwh``.
    """
    index = _indexer(dataset)
    rows: list[dict[str, float]] = []
    table = outcomes(dataset, lambda run: rows.append(index(run)) or 0.0).drop(columns="value")
    return pd.concat([table, pd.DataFrame(rows)], axis=1)


def campaign_reliability(dataset: str | Path, *, level: float = 0.95) -> dict[str, Estimate]:
    """Natural-law estimates of the reliability indices per window of a grid campaign.

    Returns
    -------
    dict of str to Estimate
        ``saifi``, ``saidi_min``, ``maifi``, ``ens_kwh`` (sampler-aware means), ``asai``
        and ``caidi_min`` (ratio estimates with delta-method intervals).
    """
    _, days = _window(dataset)
    index = _indexer(dataset)
    out: dict[str, Estimate] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for name in _INDICES:
            out[name] = estimate(dataset, lambda run, name=name: index(run)[name], level=level)
    s = out["saidi_min"]
    t_min = days * 1440.0
    out["asai"] = Estimate(1 - s.value / t_min, s.std_error / t_min, 1 - s.ci_high / t_min, 1 - s.ci_low / t_min,
                           s.ess, s.n, level, warnings=s.warnings)
    out["caidi_min"] = _ratio(reliability_indices(dataset), read_campaign(dataset), level)
    return out


def _ratio(table: pd.DataFrame, campaign: Any, level: float) -> Estimate:
    """:math:`\\sum w\\,\\mathrm{SAIDI} / \\sum w\\,\\mathrm{SAIFI}` with its delta-method error."""
    w = table["weight"].to_numpy(dtype=np.float64)
    num, den = table["saidi_min"].to_numpy(), table["saifi"].to_numpy()
    n = w.size
    if float(np.sum(w * den)) <= 0.0:
        return Estimate(math.nan, math.nan, math.nan, math.nan, kish_ess(w), n, level,
                        warnings=("no sustained interruption in any run: CAIDI is undefined",))
    r = float(np.sum(w * num) / np.sum(w * den))
    z = w * (num - r * den) / float(np.mean(w * den))
    groups = table["stratum"].astype(str).to_numpy() if campaign is not None and campaign.sampler == "stratified" \
        else np.zeros(n, dtype=np.int64)
    g = np.unique(groups, return_inverse=True)[1]
    se = math.sqrt(_var_of_mean(z, g)) if n > 1 else math.nan
    lo, hi = _normal(r, se, level)
    return Estimate(r, se, lo, hi, kish_ess(w), n, level)
