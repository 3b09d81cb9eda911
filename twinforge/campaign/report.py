"""The campaign report: one self-contained HTML page on a campaign dataset's rare outcome.

For a per-run statistic :math:`Y` (``STAT`` of a samples column) of a campaign dataset:

- the **estimate** of :math:`E_p[Y]` and, with a threshold, of :math:`P_p(Y > u)`, made by
  the campaign's own estimator (:func:`twinforge.campaign.analysis.estimate`), with its
  interval and every warning;
- the **weighted exceedance curve** :math:`\\hat P_p(Y > y)` with its pointwise 95 % band,
  beside the unweighted curve of the runs as drawn (the proposal's world);
- the **return levels**: the empirical weighted curve and a peaks-over-threshold fit with
  its bootstrap band, against return periods from the campaign's calendar coverage
  (:func:`twinforge.campaign.analysis.runs_per_year`);
- the **weights**: their distribution, the Kish effective sample size, the share of the
  largest weight, the mean weight against its expectation;
- the **event catalogue**: per event type, the number of events drawn, their severities and
  durations, and the weighted mean count per run against the natural expected count;
- for grid campaigns, the **reliability indices** (IEEE Std 1366) per window.

Figures are drawn with Matplotlib's object API on the Agg canvas and embedded in the page
(PNG, base64); the page is written to a temporary file and moved into place, so a failure
leaves nothing behind.

>>> write_campaign_report("data/grid_hw", "report.html", column="transformer_hot_spot_c", above=60)  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twinforge.campaign.analysis import (
    column_outcome,
    estimate,
    outcomes,
    read_campaign,
    runs_per_year,
)
from twinforge.campaign.estimators import Estimate, exceedance_curve, fit_extremes, kish_ess, return_level
from twinforge.fidelity.report import _CSS, _chmod_default, _figure

__all__ = ["write_campaign_report"]

_COLOR, _PLAIN = "#1f4e79", "#d95f02"


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _plot_exceedance(y: np.ndarray, w: np.ndarray, groups: Any, label: str, above: float | None) -> Any:
    fig, ax = _figure(1, 1, width=8.0, row_h=4.0)
    ax = ax[0, 0]
    c = exceedance_curve(y, w, groups=groups)
    keep = c["p"] > 0
    ax.step(c["level"][keep], c["p"][keep], where="post", color=_COLOR, label="weighted (natural law)")
    lo = np.maximum(c["ci_low"], 1e-300)
    ax.fill_between(c["level"], lo, c["ci_high"], step="post", color=_COLOR, alpha=0.2, label="95 % band")
    plain = np.array([(y > x).mean() for x in c["level"]])
    ax.step(c["level"][plain > 0], plain[plain > 0], where="post", color=_PLAIN, ls="--",
            label="unweighted (runs as drawn)")
    if above is not None:
        ax.axvline(above, color="k", lw=0.8, ls=":", label=f"threshold {above:g}")
    ax.set_yscale("log")
    floor = min(float(c["p"][keep].min()) if keep.any() else 1.0, float(plain[plain > 0].min()) if (plain > 0).any() else 1.0)
    ax.set_ylim(max(floor / 20.0, 1e-15), 1.5)
    ax.set_xlabel(label)
    ax.set_ylabel("P(Y > y) per run [-]")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return fig


def _plot_return_levels(y: np.ndarray, w: np.ndarray, rpy: float, label: str, rng: np.random.Generator) -> tuple[Any, str]:
    fig, ax = _figure(1, 1, width=8.0, row_h=4.0)
    ax = ax[0, 0]
    periods = np.logspace(np.log10(1.1), 4, 60)
    emp = return_level(y, w, periods, runs_per_year=rpy)
    note = "" if np.isfinite(emp).any() else "The runs reach no return period above 1.1 years. "
    ax.plot(periods, emp, color=_COLOR, label="empirical (weighted)")
    try:
        fit = fit_extremes(y, w, method="pot", n_boot=100, rng=rng)
        rl = fit.return_level(periods, rpy)
        ax.plot(periods, rl["level"], color=_PLAIN, label=f"peaks over {fit.threshold:.4g} (GPD, xi = {fit.shape:.2f})")
        ax.fill_between(periods, rl["ci_low"], rl["ci_high"], color=_PLAIN, alpha=0.2, label="95 % bootstrap band")
    except ValueError as e:
        note += f"No tail fit: {e}."
    ax.set_xscale("log")
    ax.set_xlabel("return period [years]")
    ax.set_ylabel(label)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return fig, note


def _plot_weights(w: np.ndarray) -> Any:
    fig, axes = _figure(1, 2, width=10.0, row_h=3.5)
    pos = w[w > 0]
    axes[0, 0].hist(np.log10(pos), bins=40, color=_COLOR)
    axes[0, 0].set_xlabel("log10 weight [-]")
    axes[0, 0].set_ylabel("runs")
    share = np.cumsum(np.sort(w)[::-1]) / w.sum() if w.sum() > 0 else np.zeros_like(w)
    axes[0, 1].plot(np.arange(1, w.size + 1) / w.size, share, color=_COLOR)
    axes[0, 1].set_xlabel("share of runs, largest weights first [-]")
    axes[0, 1].set_ylabel("share of the total weight [-]")
    axes[0, 1].grid(alpha=0.3)
    return fig


def _plot_events(events: pd.DataFrame) -> Any | None:
    rare = events[events["category"].isin(["rare", "weather", "machine"]) & events["severity"].notna()]
    if rare.empty:
        return None
    types = sorted(rare["type"].unique())
    fig, axes = _figure(1, len(types), width=min(5.0 * len(types), 15.0), row_h=3.5)
    for ax, t in zip(axes[0], types):
        sub = rare[rare["type"] == t]
        hours = (sub["end"] - sub["start"]).dt.total_seconds() / 3600.0
        ax.scatter(hours, sub["severity"], s=8, color=_COLOR, alpha=0.6)
        ax.set_xscale("log")
        ax.set_xlabel("duration [h]")
        ax.set_ylabel("severity")
        ax.set_title(t, fontsize=9)
        ax.grid(alpha=0.3)
    return fig


def _estimate_rows(name: str, e: Estimate) -> str:
    return (f"<tr><td>{html.escape(name)}</td><td class=num>{e.value:.5g}</td><td class=num>{e.std_error:.3g}</td>"
            f"<td class=num>{e.ci_low:.5g} .. {e.ci_high:.5g}</td><td>{html.escape(e.interval)}</td>"
            f"<td class=num>{e.n}</td><td class=num>{e.ess:.1f}</td>"
            f"<td>{html.escape('; '.join(e.warnings)) or '-'}</td></tr>")


def _catalogue(dataset: Path, campaign: Any, factual: pd.DataFrame) -> str:
    events = pd.read_parquet(dataset / "events.parquet")
    events = events[events["run_id"].isin(factual["run_id"])]
    weight = factual.set_index("run_id")["weight"]
    n = len(factual)
    rows = []
    natural = {}
    if campaign is not None:
        s = campaign.scenario
        natural = {k: m.active_count(s.start, s.days) for k, m in campaign.events.items()}
    for t, sub in events[events["category"] != "cycle"].groupby("type"):
        per_run = sub.groupby("run_id").size()
        weighted = float((per_run * weight.reindex(per_run.index)).sum() / n)
        sev = sub["severity"].dropna()
        hours = (sub["end"] - sub["start"]).dt.total_seconds() / 3600.0
        q = (lambda x: f"{x.quantile(0.1):.3g} / {x.median():.3g} / {x.quantile(0.9):.3g}" if len(x) else "-")
        nat = natural.get(t)
        rows.append(
            f"<tr><td>{html.escape(str(t))}</td><td class=num>{len(sub)}</td><td class=num>{per_run.size}</td>"
            f"<td>{q(sev)}</td><td>{q(hours)}</td><td class=num>{weighted:.4g}</td>"
            f"<td class=num>{'-' if nat is None else f'{nat:.4g}'}</td></tr>"
        )
    head = ("<tr><th>type</th><th>events</th><th>runs with one</th><th>severity 10 / 50 / 90 %</th>"
            "<th>duration [h] 10 / 50 / 90 %</th><th>weighted mean count per run</th>"
            "<th>natural expected count (onsets + in progress)</th></tr>")
    return f"<table>{head}{''.join(rows)}</table>"


def write_campaign_report(
    dataset: str | Path,
    path: str | Path,
    *,
    column: str,
    stat: str = "max",
    above: float | None = None,
    event_type: str | None = None,
    title: str | None = None,
    seed: int = 0,
) -> Path:
    """Write the campaign report of ``dataset`` to ``path`` (one HTML file) and return it.

    Parameters
    ----------
    dataset : str or Path
        A campaign dataset.
    path : str or Path
        The HTML file to write (replaced if it exists).
    column, stat : str
        The statistic :math:`Y`: ``stat`` (max, min, mean, sum, std) of a samples column.
    above : float, optional
        Threshold :math:`u` of the rare outcome :math:`Y > u`.
    event_type : str, optional
        The event type that drives the outcome, for the return periods (needed when the
        campaign's types cover different shares of the year).
    seed : int
        Seed of the bootstrap of the tail fit.
    """
    from twinforge.campaign.analysis import check_column

    root = Path(dataset)
    check_column(root, column)
    out = Path(path)
    if out.exists() and not out.is_file():
        raise IsADirectoryError(f"{out} exists and is not a file")
    campaign = read_campaign(root)
    label = f"{stat} {column}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        est_mean = estimate(root, column_outcome(column, stat))
        est_p = estimate(root, column_outcome(column, stat, above), probability=True) if above is not None else None
    df = outcomes(root, column_outcome(column, stat))
    y, w = df["value"].to_numpy(), df["weight"].to_numpy()
    stratified = campaign is not None and campaign.sampler == "stratified"
    groups = df["stratum"].tolist() if stratified else None
    figs = {"exceedance": (_plot_exceedance(y, w, groups, label, above),
                           "Weighted exceedance curve per run with its pointwise 95 % band (exact binomial where "
                           "hits are few); dashed: the unweighted curve of the runs as drawn.")}
    notes = []
    try:
        rpy = runs_per_year(campaign, event_type) if campaign is not None else 1.0
        fig, note = _plot_return_levels(y, w, rpy, label, np.random.default_rng(seed))
        figs["return_levels"] = (fig, f"Return levels against return periods, {rpy:.3g} runs per year "
                                      "(the window's share of a year's events). " + note)
    except ValueError as e:
        notes.append(f"no return levels: {e}")
    figs["weights"] = (_plot_weights(w), "Run weights: distribution of log10 weights, and the share of the "
                                         "total weight carried by the largest ones.")
    events = pd.read_parquet(root / "events.parquet")
    ev_fig = _plot_events(events[events["run_id"].isin(df["run_id"])])
    if ev_fig is not None:
        figs["events"] = (ev_fig, "Event catalogue: severity against duration of every labelled event.")
    est_rows = _estimate_rows(f"E[{label}]", est_mean)
    if est_p is not None:
        est_rows += _estimate_rows(f"P({label} > {above:g})", est_p)
    ess = kish_ess(w)
    diag = (f"<table><tr><th>runs</th><td class=num>{w.size}</td></tr><tr><th>Kish ESS</th><td class=num>{ess:.1f}"
            f"</td></tr><tr><th>largest weight share</th><td class=num>{w.max() / w.sum():.3g}</td></tr>"
            f"<tr><th>mean weight</th><td class=num>{w.mean():.4g}</td></tr><tr><th>sampler</th><td>"
            f"{html.escape(campaign.sampler if campaign is not None else 'none (generate)')}</td></tr></table>")
    reliability = ""
    if campaign is not None and campaign.twin == "grid":
        from twinforge.campaign.reliability import campaign_reliability

        rel = campaign_reliability(root)
        reliability = ("<h2>Reliability indices per window (IEEE Std 1366)</h2><table><tr><th>index</th><th>estimate"
                       "</th><th>std. error</th><th>95 % CI</th><th>interval</th><th>runs</th><th>ESS</th>"
                       "<th>warnings</th></tr>" + "".join(_estimate_rows(k, v) for k, v in rel.items()) + "</table>")
    body = "".join(
        f'<figure><img alt="{k}" src="data:image/png;base64,{_png(f)}"><figcaption>{html.escape(cap)}</figcaption></figure>'
        for k, (f, cap) in figs.items()
    )
    spec = json.dumps(campaign.to_json_dict() if campaign is not None else {}, indent=1, default=str)
    title = title or f"twinforge campaign report: {root.name}"
    page = (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        "<h2>Estimates under the natural law</h2><table><tr><th>quantity</th><th>estimate</th><th>std. error</th>"
        f"<th>95 % CI</th><th>interval</th><th>runs</th><th>ESS</th><th>warnings</th></tr>{est_rows}</table>"
        + "".join(f"<p><em>{html.escape(n)}</em></p>" for n in notes)
        + f"<h2>Weights</h2>{diag}{reliability}<h2>Event catalogue</h2>{_catalogue(root, campaign, df)}"
        + f"<h2>Figures</h2>{body}<h2>The campaign</h2><pre>{html.escape(spec)}</pre></body></html>\n"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(page)
        _chmod_default(Path(tmp))
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out
