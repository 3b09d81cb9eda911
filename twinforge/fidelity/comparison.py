"""Compare a real trace with synthetic data: every fidelity metric, one report.

:func:`compare` puts a real trace (as :func:`~twinforge.fidelity.load_trace` gives it) and
synthetic data (a dataset folder, a :class:`~twinforge.export.reader.TwinDataset` or a
DataFrame) on a common sampling period, cuts both into windows (the synthetic data run by
run, so no window straddles two homes), and computes:

- per channel, on the pooled samples: Kolmogorov-Smirnov, normalised Wasserstein, tail
  quantiles; on the windows: autocorrelation and Welch-spectrum distances; on local time:
  daily (and, with a week of data or more, weekly) profile error;
- across channels (two or more): the correlation-matrix distance;
- on the window feature vectors (:func:`~twinforge.fidelity.window_features`): the
  discriminative score, nearest-neighbour indistinguishability and memorisation.

Each metric is stored with its value, range, direction, ideal value and a one-line meaning
(:data:`METRIC_INFO`), so the JSON and the HTML report read on their own.

>>> from twinforge.fidelity import load_uci_household
>>> real = load_uci_household()[["mains_power_w"]]
>>> rep = compare(real, real.assign(run_id=0), period="15min")      # doctest: +SKIP
>>> rep.value("channels.mains_power_w.ks")                          # doctest: +SKIP
0.0
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from twinforge.fidelity._io import chmod_default, json_safe
from twinforge.fidelity.coverage import information_entries
from twinforge.fidelity.metrics import (
    acf_distance,
    bootstrap_scores,
    correlation_matrix_distance,
    discriminative_score,
    ks_statistic,
    memorisation,
    nn_indistinguishability,
    permutation_null,
    profile_error,
    psd_log_distance,
    tail_quantiles,
    wasserstein_normalised,
)
from twinforge.fidelity.prepared import (
    CompareError,
    ComparisonSettings,
    PreparedComparison,
    WindowSet,
    month_names,
    real_runs,
    synthetic_frame,
)
from twinforge.fidelity.windows import feature_names

__all__ = ["FidelityReport", "METRIC_INFO", "compare", "compare_prepared", "synthetic_frame", "real_runs",
           "CompareError"]

Direction = Literal["lower is better", "higher is better", "closer to ideal is better"]


@dataclass(frozen=True)
class MetricInfo:
    """What a metric's number means."""

    range: str
    direction: Direction
    ideal: float
    meaning: str


#: Range, direction, ideal value and meaning of every metric :func:`compare` reports.
METRIC_INFO: dict[str, MetricInfo] = {
    "ks": MetricInfo(
        "[0, 1]", "lower is better", 0.0,
        "largest gap between the real and synthetic value distributions (CDFs)",
    ),
    "wasserstein": MetricInfo(
        "[0, inf)", "lower is better", 0.0,
        "average displacement of the values, in real interquartile ranges",
    ),
    "acf_distance": MetricInfo(
        "[0, 2]", "lower is better", 0.0,
        "RMS gap between the mean within-window autocorrelations (lags 1..max_lag)",
    ),
    "psd_log_distance": MetricInfo(
        "[0, inf)", "lower is better", 0.0,
        "RMS gap between log10 Welch spectra (1 = a factor 10 in power)",
    ),
    "profile_error_hour": MetricInfo(
        "[0, inf)", "lower is better", 0.0,
        "CV(RMSE) of the mean daily profile by local hour, relative to the real level",
    ),
    "profile_error_hour_week": MetricInfo(
        "[0, inf)", "lower is better", 0.0,
        "CV(RMSE) of the mean weekly profile by local hour of week",
    ),
    "tail_q01": MetricInfo(
        "[0, inf)", "lower is better", 0.0,
        "|relative error| of the 1 % quantile (the low tail)",
    ),
    "tail_q99": MetricInfo(
        "[0, inf)", "lower is better", 0.0,
        "|relative error| of the 99 % quantile (the high tail)",
    ),
    "tail_q999": MetricInfo(
        "[0, inf)", "lower is better", 0.0,
        "|relative error| of the 99.9 % quantile (the extreme tail; needs thousands of samples)",
    ),
    "correlation_matrix_distance": MetricInfo(
        "[0, 4/sqrt(k(k-1))]", "lower is better", 0.0,
        "Frobenius gap between cross-channel correlation matrices, per channel pair",
    ),
    "discriminative_score": MetricInfo(
        "[0, 0.5]", "lower is better", 0.0,
        "cross-validated balanced accuracy - 0.5 of a forest telling real from synthetic windows",
    ),
    "nn_indistinguishability": MetricInfo(
        "[0, (n_r+n_s-1)/n_r]", "higher is better", 1.0,
        "share of synthetic windows whose nearest neighbour is real / share expected; 1 = mixed",
    ),
    "memorisation_median_ratio": MetricInfo(
        "[0, inf)", "closer to ideal is better", 1.0,
        "median synthetic-to-real / real-to-real neighbour distance; << 1 = copies, >> 1 = far",
    ),
    "tstr_mae_ratio": MetricInfo(
        "[0, inf)", "lower is better", 1.0,
        "MAE of a day-ahead forecaster trained on the synthetic data / trained on real data, both tested "
        "on the last 30 % of the real trace (1 = as useful as real data)",
    ),
    "memorisation_copy_share": MetricInfo(
        "[0, 1]", "lower is better", 0.01,
        "share of synthetic windows closer to a real one than 99 % of real pairs (about 0.01 is fresh)",
    ),
}

_TAILS = {"tail_q01": 0.01, "tail_q99": 0.99, "tail_q999": 0.999}


def _entry(name: str, value: float | None, **extra: Any) -> dict[str, Any]:
    info = METRIC_INFO[name]
    v = None if value is None else float(value)
    return {
        "value": v, "range": info.range, "direction": info.direction, "ideal": info.ideal,
        "meaning": info.meaning, **extra,
    }


def _add_null(win: dict[str, Any], null: Mapping[str, np.ndarray]) -> None:
    """Put a permutation null's reference values and p-values into the window entries."""
    k = len(null["discriminative"])
    d = win["discriminative_score"]
    if d["value"] is not None:
        nd = null["discriminative"]
        d.update(n_permutations=k, null_median=float(np.median(nd)),
                 null_q95=float(np.quantile(nd, 0.95)),
                 p_value=float((1 + np.sum(nd >= d["value"] - 1e-12)) / (1 + k)))
    n = win.get("nn_indistinguishability")
    if n is not None and n["value"] is not None:
        nn = null["nn"]
        n.update(n_permutations=k, null_q05=float(np.quantile(nn, 0.05)),
                 p_value=float((1 + np.sum(nn <= n["value"] + 1e-12)) / (1 + k)))


def _nn_se_runs(rf: np.ndarray, sf: np.ndarray, runs: np.ndarray, max_groups: int = 10) -> float | None:
    """Delete-a-group jackknife standard error of NN indistinguishability over synthetic runs.

    The score depends on which synthetic units (homes, machines) were drawn: with a few
    dozen real windows, another set of six homes moves it by about 0.2. The synthetic runs
    are dealt into ``g = min(n_runs, max_groups)`` groups (run ``k`` to group ``k mod g``,
    runs in sorted order); the score is recomputed without each group and
    ``se = sqrt((g - 1) / g * sum((theta_i - mean)^2))``. None with fewer than 3 runs.
    It measures the synthetic side's share of the noise, not the real side's.
    """
    ids = np.unique(runs)
    g = min(len(ids), max_groups)
    if g < 3 or len(runs) != len(sf):
        return None
    group_of = {int(r): k % g for k, r in enumerate(ids)}
    grp = np.array([group_of[int(r)] for r in runs])
    vals = []
    for k in range(g):
        keep = grp != k
        if keep.sum() < 1 or len(rf) + keep.sum() < 3:
            return None
        vals.append(nn_indistinguishability(rf, sf[keep]))
    v = np.asarray(vals)
    return float(math.sqrt((g - 1) / g * np.sum((v - v.mean()) ** 2)))


@dataclass
class FidelityReport:
    """The outcome of :func:`compare`.

    Attributes
    ----------
    metrics : dict
        ``{"channels": {channel: {metric: entry}}, "cross_channel": {...}, "windows":
        {...}}``; every entry is ``{"value", "range", "direction", "ideal", "meaning"}``
        (plus details such as the quantile values). A metric that cannot be computed (too
        few windows) has ``value`` None and a ``note``.
    info : dict
        What was compared: channel mapping, period, window, zone, counts, seed, chance level.
    real, synthetic : DataFrame
        The compared data on the common period, columns named after the real channels;
        ``synthetic`` has a ``run_id`` column.
    real_windows, synth_windows : ndarray of shape (n_windows, n_steps, n_channels)
    real_starts, synth_starts : DatetimeIndex
    synth_window_runs : ndarray of shape (n_synth_windows,)
        Run id of each synthetic window.
    real_features, synth_features : ndarray of shape (n_windows, n_features)
    feature_names : list of str
    """

    metrics: dict[str, Any]
    info: dict[str, Any]
    real: pd.DataFrame = field(repr=False)
    synthetic: pd.DataFrame = field(repr=False)
    real_windows: np.ndarray = field(repr=False)
    synth_windows: np.ndarray = field(repr=False)
    real_starts: pd.DatetimeIndex = field(repr=False)
    synth_starts: pd.DatetimeIndex = field(repr=False)
    synth_window_runs: np.ndarray = field(repr=False)
    real_features: np.ndarray = field(repr=False)
    synth_features: np.ndarray = field(repr=False)
    feature_names: list[str] = field(repr=False)

    # -- reading -----------------------------------------------------------------------
    @property
    def channels(self) -> list[str]:
        """The compared channels (real column names)."""
        return list(self.info["channels"])

    @property
    def period_s(self) -> float:
        return float(self.info["period_s"])

    def value(self, key: str) -> float | None:
        """A metric's value by dotted path, e.g. ``"windows.discriminative_score"`` or
        ``"channels.mains_power_w.ks"``."""
        node: Any = self.metrics
        for part in self._split(key):
            if not isinstance(node, Mapping) or part not in node:
                raise KeyError(f"no metric {key!r} in this report")
            node = node[part]
        if not isinstance(node, Mapping) or "value" not in node:
            raise KeyError(f"{key!r} is a group, not a metric")
        return node["value"]

    def _split(self, key: str) -> list[str]:
        # channel names contain no dots, but be robust to them
        head, _, rest = key.partition(".")
        if head == "channels":
            for ch in self.metrics.get("channels", {}):
                if rest.startswith(ch + "."):
                    return [head, ch, rest[len(ch) + 1:]]
        return key.split(".")

    def table(self) -> pd.DataFrame:
        """One row per metric: group, channel, metric, value, ideal, range, direction, meaning."""
        rows = []
        for ch, ms in self.metrics.get("channels", {}).items():
            for name, e in ms.items():
                rows.append({"group": "channel", "channel": ch, "metric": name, **_row(e)})
        for group in ("cross_channel", "windows", "information", "intentionality", "utility"):
            for name, e in self.metrics.get(group, {}).items():
                rows.append({"group": group, "channel": "", "metric": name, **_row(e)})
        return pd.DataFrame(rows)

    def summary(self) -> str:
        """A few headline lines: counts, the window-level scores, the per-channel distances."""
        i = self.info
        w = self.metrics["windows"]

        def fmt(e: Mapping[str, Any]) -> str:
            v = e.get("value")
            return "n/a" if v is None or not math.isfinite(v) else f"{v:.3g}"  # as metrics.json's null

        def fmt3(e: Mapping[str, Any]) -> str:  # window scores in [0, 0.5] / [0, ~2]: three decimals, always
            v = e.get("value")
            return "n/a" if v is None or not math.isfinite(v) else f"{v:.3f}"

        def se(e: Mapping[str, Any]) -> str:
            v = e.get("se_runs")
            return "" if v is None else f" +- {v:.2g} (jackknife over the synthetic runs)"

        disc, nn = w["discriminative_score"], w["nn_indistinguishability"]
        if "p_value" in disc:
            disc_ref = (f"permutation null of these counts: median {disc['null_median']:.3f}, "
                        f"95 % {disc['null_q95']:.3f}; p = {disc['p_value']:.3g}, "
                        f"{disc['n_permutations']} permutations")
        else:
            disc_ref = f"chance level about {i['chance_discriminative']:.2f}"
        nn_ref = (f"; permutation null 5 % {nn['null_q05']:.3f}, p = {nn['p_value']:.3g}"
                  if "p_value" in nn else "")
        start = f"local time {i['tz']}" if i["tz"] is not None else "from each unit's first sample"
        n_drop = i.get("n_real_windows_dropped", 0)
        dropped = f" ({n_drop} more dropped: over {i['max_nan_frac']:.0%} missing)" if n_drop else ""
        mem = w["memorisation_median_ratio"]
        lines = []
        if i.get("real_source") or i.get("synthetic_source"):
            lines.append(f"real: {i.get('real_source') or 'a trace'}; synthetic: {i.get('synthetic_source') or 'data'}")
        lines.append(
            f"fidelity: {i['n_real_windows']} real{dropped} vs {i['n_synth_windows']} synthetic windows "
            f"({i['n_runs']} run(s)) of {i['window']} at {i['period']}, {start}")
        n_out = i.get("n_synth_windows_outside_span", 0)
        if n_out:
            lines.append(f"  like with like: {n_out} synthetic windows outside the real months "
                         f"({i.get('real_months')}) left out")
        elif i.get("real_months") is not None and i.get("synth_months") != i.get("real_months"):
            lines.append(f"  WARNING: the sets differ in span: real windows in {i['real_months']}, synthetic "
                         f"in {i['synth_months']} (match_span=False)")
        verdict = i.get("verdict")
        if verdict:
            lines.append(f"  verdict: {verdict['verdict']} ({verdict['rule']})")
        lines += [
            f"  discriminative score {fmt3(disc)} (0 best, 0.5 separable; {disc_ref})",
            f"  NN indistinguishability {fmt3(nn)}{se(nn)} (1 = fully mixed, 0 = separate{nn_ref})",
            f"  memorisation: median distance ratio {fmt(mem)}, {memorisation_verdict(mem.get('value'))} "
            f"(1 = as close as real windows are to each other); copy share "
            f"{fmt(w['memorisation_copy_share'])} (about 0.01 for fresh windows)",
        ]
        inf = self.metrics.get("information")
        if inf:
            lines.append(
                f"  information: alpha-precision {fmt3(inf['alpha_precision'])}, beta-recall "
                f"{fmt3(inf['beta_recall'])} (1 best), coverage {fmt3(inf['coverage'])}, authenticity "
                f"{fmt3(inf['authenticity'])} (0.5 = fresh draws, 0 = copies)")
        u = self.metrics.get("utility", {}).get("tstr_mae_ratio")
        if u is not None:
            lines.append(f"  TSTR day-ahead forecast: MAE trained on synthetic / on real {fmt(u)} (1 = as useful)"
                         + (f": {u['note']}" if u.get("note") else ""))
        for ch, ms in self.metrics["channels"].items():
            synth = i["channels"][ch]
            name = ch if synth == ch else f"{ch} ~ {synth}"
            lines.append(
                f"  {name}: KS {fmt(ms['ks'])}, W1/IQR {fmt(ms['wasserstein'])}, "
                f"ACF {fmt(ms['acf_distance'])}, PSD {fmt(ms['psd_log_distance'])}, "
                f"profile {fmt(ms['profile_error_hour'])}, q99 {fmt(ms['tail_q99'])}"
            )
        return "\n".join(lines)

    # -- writing -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """``{"info": ..., "metrics": ...}`` with non-finite values as None (JSON null)."""
        return json_safe({"info": self.info, "metrics": self.metrics})

    def to_json(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as JSON (atomically: a temporary file, then a rename)."""
        path = Path(path)
        text = json.dumps(self.to_dict(), indent=2, allow_nan=False)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text + "\n")
            chmod_default(Path(tmp))
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path


def _row(e: Mapping[str, Any]) -> dict[str, Any]:
    return {k: e.get(k) for k in ("value", "ideal", "range", "direction", "meaning")} | {
        "note": e.get("note", "")
    }


# ---------------------------------------------------------------------------------------
# verdicts

#: The overall verdict's thresholds without a permutation null (with one, the null's
#: 95 % / 5 % quantiles replace the first pair): (discriminative at most, NN at least, verdict).
VERDICT_THRESHOLDS: tuple[tuple[float, float, str], ...] = (
    (0.10, 0.80, "hard to tell apart"),
    (0.25, 0.50, "similar, but a classifier tells them apart"),
)


def memorisation_verdict(ratio: float | None) -> str:
    """Words for the median distance ratio (synthetic-to-real over real-to-real neighbours)."""
    if ratio is None or not math.isfinite(ratio):
        return "n/a"
    if ratio < 0.5:
        return "closer to the real windows than they are to each other: copies?"
    if ratio <= 2.0:
        return "as close as real windows are to each other: fresh, not copied"
    return "far from every real window: not copied, but unlike them"


def overall_verdict(win: Mapping[str, Any]) -> dict[str, Any]:
    """One verdict from the window scores, with the rule that gave it (as SDMetrics' overall score)."""
    d, n = win["discriminative_score"], win["nn_indistinguishability"]
    dv, nv = d.get("value"), n.get("value")
    if dv is None or nv is None:
        return {"verdict": "not enough windows for a verdict", "rule": "needs 5 windows a side"}
    if "null_q95" in d and "null_q05" in n:
        if dv <= d["null_q95"] and nv >= n["null_q05"]:
            return {"verdict": "indistinguishable at these counts",
                    "rule": f"discriminative {dv:.3f} <= permutation null 95 % {d['null_q95']:.3f} and NN "
                            f"{nv:.3f} >= null 5 % {n['null_q05']:.3f}"}
    for d_max, n_min, verdict in VERDICT_THRESHOLDS:
        if dv <= d_max and nv >= n_min:
            return {"verdict": verdict, "rule": f"discriminative {dv:.3f} <= {d_max} and NN {nv:.3f} >= {n_min}"}
    d_max, n_min, _ = VERDICT_THRESHOLDS[-1]
    return {"verdict": "easy to tell apart",
            "rule": f"discriminative {dv:.3f} > {d_max} or NN {nv:.3f} < {n_min}"}


# ---------------------------------------------------------------------------------------
# compare


def _synthetic_channels(synthetic: Any, twin: str | None) -> set[str] | None:
    """The channel names a synthetic input offers, or None if it cannot tell cheaply."""
    if isinstance(synthetic, pd.DataFrame):
        return {str(c) for c in synthetic.columns}
    try:
        from twinforge.export import open_dataset

        ds = synthetic if hasattr(synthetic, "columns") and not isinstance(synthetic, (str, Path)) else open_dataset(synthetic)
        return set(ds.columns(twin))
    except Exception:  # noqa: BLE001 - let synthetic_frame report the real problem
        return None


def _default_channels(real: Any, synthetic: Any, twin: str | None) -> dict[str, str]:
    if not isinstance(real, pd.DataFrame):
        raise CompareError("real must be a DataFrame (as load_trace returns)")
    channels = {str(c): str(c) for c in real.columns if c not in ("time", "run_id")}
    # Without a map, compare the channels both sides have (a UCI file also carries
    # voltage, reactive power and sub-meters a twin may not simulate).
    available = _synthetic_channels(synthetic, twin)
    if available is not None:
        shared = {c: c for c in channels if c in available}
        if not shared:
            raise CompareError(
                f"no real column matches a synthetic channel; real: {sorted(channels)}, "
                f"synthetic: {sorted(available)}; give --map real_column=channel"
            )
        channels = shared
    return channels


def compare(
    real: pd.DataFrame,
    synthetic: Any,
    *,
    channels: Mapping[str, str] | None = None,
    window: Any = "1D",
    tz: str | None = "Europe/Paris",
    period: Any = None,
    seed: int = 0,
    max_lag: int | None = None,
    max_nan_frac: float = 0.05,
    normalise: Literal["none", "mean"] = "none",
    twin: str | None = None,
    null_permutations: int = 0,
    match_span: bool = True,
    n_boot: int = 0,
    tstr: bool = False,
) -> FidelityReport:
    """Compare a real trace with synthetic data on every fidelity metric.

    Parameters
    ----------
    real : DataFrame
        UTC-indexed trace with channels as columns, as :func:`~twinforge.fidelity.load_trace`
        returns. A ``run_id`` column marks several real units (e.g. bearings run to
        failure): each is windowed on its own, and normalised on its own with
        ``normalise="mean"``.
    synthetic : DataFrame, TwinDataset, str or Path
        Synthetic samples: a dataset folder, an opened dataset or a DataFrame (``time``
        column or DatetimeIndex; ``run_id`` column if several runs). Windows are cut run by
        run.
    channels : mapping, optional
        ``{real column: synthetic channel}``; default: every real column the synthetic
        data also have, same name.
    window, period : duration (``"1D"``, ``"1h"``, Timedelta or seconds)
        Window length (``"1D"``: days starting at local midnight in ``tz``) and common
        sampling period (default: the coarser of the two native periods; the finer side is
        averaged).
    tz : str or None
        Local zone for windows and profiles; ``None``: windows start at each real unit's and
        synthetic run's first sample (machines run to failure, no day structure) and the
        profile metrics are n/a (with a note).
    seed : int
        Seeds the discriminative classifier, its folds and the permutations.
    max_lag : int, optional
        Largest autocorrelation lag in samples; default a quarter of the window.
    max_nan_frac : float
        Windows with more missing values than this share are dropped.
    normalise : {"none", "mean"}
        ``"mean"`` divides the real trace and each synthetic run by its own mean per channel
        before anything else: compares shapes, not levels (a feeder against a region).
    twin : str, optional
        Twin to read from a multi-twin dataset.
    null_permutations : int
        With ``K > 0``, a permutation test of the window scores
        (:func:`~twinforge.fidelity.metrics.permutation_null`, ``K`` relabellings of the
        pooled windows, seeded by ``seed``): the discriminative score's entry gains its null
        median, 95 % quantile and one-sided p-value, NN indistinguishability's its null 5 %
        quantile and p-value. Each relabelling costs one cross-validated forest.
    match_span : bool
        Like with like: keep only the synthetic windows that start in the local months the
        real windows cover (counted in ``info["n_synth_windows_outside_span"]``); False keeps
        them all and the summary warns when the months differ.
    n_boot : int
        With ``B > 0``, 90 % bootstrap intervals of the window scores (``ci`` in their entries).
    tstr : bool
        Also train a day-ahead forecaster on the synthetic runs and on the first 70 % of the
        real trace, test both on its last 30 % (:func:`~twinforge.fidelity.tstr_forecast`, the
        first channel, hourly): ``metrics["utility"]["tstr_mae_ratio"]``.

    Returns
    -------
    FidelityReport

    Raises
    ------
    CompareError
        Unknown column or channel, incompatible periods, no complete window on a side.
    """
    if isinstance(null_permutations, bool) or not isinstance(null_permutations, (int, np.integer)) \
            or not 0 <= null_permutations <= 10_000:
        raise CompareError(f"null_permutations must be an integer in [0, 10000], got {null_permutations!r}")
    if channels is None:
        channels = _default_channels(real, synthetic, twin)
    if not channels:
        raise CompareError("no channel to compare")
    if normalise not in ("none", "mean"):
        raise CompareError(f"normalise must be 'none' or 'mean', got {normalise!r}")
    settings = ComparisonSettings.build(
        channels=dict(channels), window=window, period=period, tz=tz, normalise=normalise,
        max_nan_frac=max_nan_frac, max_lag=max_lag, seed=seed, match_span=match_span)
    synth = synthetic_frame(synthetic, list(dict.fromkeys(settings.channels.values())), twin=twin)
    sim_tz = synth.attrs.get("tz")
    if tz is not None and sim_tz is not None and sim_tz != tz:
        raise CompareError(
            f"tz {tz!r}: the synthetic data were simulated in local time {sim_tz!r} (their scenario's "
            f"tz), and windows and daily profiles need one local time: compare with tz {sim_tz!r}, "
            f"or simulate in {tz!r}"
        )
    from twinforge.fidelity.loader import infer_period

    periods = [infer_period(g.index.unique()) for _, g in synth.groupby("run_id") if g.index.nunique() > 1]
    if not periods:
        raise CompareError("synthetic data has no run with two samples or more")
    prep = PreparedComparison.prepare(real, settings, other_period=min(periods))
    rep = compare_prepared(prep, prep.side(synth), null_permutations=null_permutations, n_boot=n_boot)
    if tstr:
        add_tstr(rep, real, synth, settings)
    if not isinstance(synthetic, pd.DataFrame):  # a campaign dataset: what its campaign asked for
        from twinforge.fidelity.coverage import intentionality_entries

        intent = intentionality_entries(synthetic)
        if intent:
            rep.metrics["intentionality"] = intent
    return rep


def add_tstr(rep: FidelityReport, real: pd.DataFrame, synth: pd.DataFrame, settings: ComparisonSettings) -> None:
    """Put a TSTR day-ahead forecast (first channel) into ``rep.metrics["utility"]``."""
    from twinforge.fidelity.tstr import tstr_forecast

    first = settings.columns[0]
    from twinforge.fidelity.prepared import duration_text

    period = duration_text(max(pd.Timedelta(rep.info["period"]), pd.Timedelta("1h")).total_seconds())
    try:
        res = tstr_forecast(real, synth, channels={first: settings.channels[first]}, period=period,
                            tz=settings.tz or "UTC", scale="mean" if settings.normalise == "mean" else "none",
                            seed=settings.seed)
    except (ValueError, CompareError) as exc:
        rep.metrics["utility"] = {"tstr_mae_ratio": _entry("tstr_mae_ratio", None, note=str(exc).splitlines()[0])}
        return
    ratio = res.tstr["mae"] / res.trtr["mae"] if res.trtr["mae"] > 0 else math.inf
    rep.metrics["utility"] = {"tstr_mae_ratio": _entry(
        "tstr_mae_ratio", ratio, mae_train_real=res.trtr["mae"], mae_train_synthetic=res.tstr["mae"],
        mae_seasonal_naive=res.baseline["mae"], test_start=res.details["test_start"], period=res.details["period"],
        n_test=res.details["n_test"])}


def compare_prepared(prep: PreparedComparison, synth: WindowSet, *, null_permutations: int = 0,
                     n_boot: int = 0, n_estimators: int = 100) -> FidelityReport:
    """Every metric of a prepared real side against a synthetic side cut like it.

    ``null_permutations`` as in :func:`compare`; with ``n_boot > 0`` the discriminative and
    NN entries gain a 90 % bootstrap interval ``ci`` (:func:`~twinforge.fidelity.metrics.bootstrap_scores`).
    """
    s = prep.settings
    cols = s.columns
    rw, sw = prep.real.windows, synth.windows
    period_s = prep.period.seconds
    n_steps = prep.n_steps
    lag = prep.max_lag
    real_df = prep.real.frame(cols) if len(prep.real.runs) > 1 else next(iter(prep.real.runs.values()))
    synth_all = synth.frame(cols)

    # per-channel metrics
    per_channel: dict[str, Any] = {}
    fs = 1.0 / period_s
    week = pd.Timedelta("7D")
    span_r = max(g.index[-1] - g.index[0] for g in prep.real.runs.values())
    span_s = max(g.index[-1] - g.index[0] for g in synth.runs.values())
    for k, c in enumerate(cols):
        r_vals, s_vals = real_df[c].to_numpy(), synth_all[c].to_numpy()
        m: dict[str, Any] = {
            "ks": _entry("ks", ks_statistic(r_vals, s_vals)),
            "wasserstein": _entry("wasserstein", wasserstein_normalised(r_vals, s_vals)),
        }
        try:
            m["acf_distance"] = _entry("acf_distance", acf_distance(rw[..., k], sw[..., k], lag), max_lag=lag)
        except ValueError as exc:
            m["acf_distance"] = _entry("acf_distance", None, note=str(exc))
        m["psd_log_distance"] = _entry(
            "psd_log_distance", psd_log_distance(rw[..., k], sw[..., k], fs, nperseg=min(256, n_steps)),
        )
        for name, by, needs_week in (("profile_error_hour", "hour", False),
                                     ("profile_error_hour_week", "hour_week", True)):
            if s.tz is None:
                m[name] = _entry(name, None, note="no local time (tz=None): no daily or weekly profile")
            elif needs_week and not (span_r >= week and span_s >= week):
                m[name] = _entry(name, None, note="needs a week of data on both sides")
            else:
                try:
                    m[name] = _entry(name, profile_error(real_df[c], synth_all[c], by=by, tz=s.tz))
                except ValueError as exc:  # e.g. no local hour in common
                    m[name] = _entry(name, None, note=str(exc))
        tails = tail_quantiles(r_vals, s_vals, q=tuple(_TAILS.values()))
        for name, q in _TAILS.items():
            t = tails[q]
            m[name] = _entry(name, abs(t["rel_error"]), real=t["real"], synth=t["synth"],
                             signed_error=t["rel_error"])
        per_channel[c] = m

    cross: dict[str, Any] = {}
    if len(cols) >= 2:
        try:
            cross["correlation_matrix_distance"] = _entry(
                "correlation_matrix_distance",
                correlation_matrix_distance(real_df[cols], synth_all[cols]), k=len(cols),
            )
        except ValueError as exc:
            cross["correlation_matrix_distance"] = _entry("correlation_matrix_distance", None, note=str(exc))

    win = window_scores(prep.real.features, synth.features, synth.unit, seed=s.seed,
                        null_permutations=null_permutations, n_boot=n_boot, n_estimators=n_estimators)
    n_null = win.pop("_n_null")
    n_min = min(len(rw), len(sw))
    info = {
        "real_source": prep.real.source,
        "synthetic_source": synth.source,
        "channels": {c: s.channels[c] for c in cols},
        "window": s.window.text,
        "tz": s.tz,
        "period": prep.period.text,
        "period_s": period_s,
        "normalise": s.normalise,
        "seed": int(s.seed),
        "n_real_windows": int(len(rw)),
        "n_real_windows_dropped": int(prep.real.n_dropped),
        "n_synth_windows": int(len(sw)),
        "n_synth_windows_outside_span": int(synth.n_outside_span),
        "n_runs": int(len(synth.runs)),
        "n_real_samples": int(real_df[cols].notna().any(axis=1).sum()),
        "n_synth_samples": int(len(synth_all)),
        "n_real_runs": int(len(prep.real.runs)),
        "real_start": min(g.index[0] for g in prep.real.runs.values()).isoformat(),
        "real_end": max(g.index[-1] for g in prep.real.runs.values()).isoformat(),
        "synth_start": min(g.index[0] for g in synth.runs.values()).isoformat(),
        "synth_end": max(g.index[-1] for g in synth.runs.values()).isoformat(),
        "chance_discriminative": 0.5 / math.sqrt(max(n_min, 1)),
        "null_permutations": n_null,
        "max_nan_frac": s.max_nan_frac,
    }
    if s.tz is not None:
        info["real_months"] = month_names(prep.real.months(s.tz))
        info["synth_months"] = month_names(synth.months(s.tz))
    info["verdict"] = overall_verdict(win)
    metrics = {"channels": per_channel, "cross_channel": cross, "windows": win,
               "information": information_entries(prep.real.features, synth.features)}
    return FidelityReport(
        metrics=metrics, info=info, real=real_df, synthetic=synth_all,
        real_windows=rw, synth_windows=sw, real_starts=prep.real.starts, synth_starts=synth.starts,
        synth_window_runs=synth.unit, real_features=prep.real.features, synth_features=synth.features,
        feature_names=feature_names(cols),
    )


def window_scores(rf: np.ndarray, sf: np.ndarray, runs: np.ndarray | None = None, *, seed: int = 0,
                  null_permutations: int = 0, n_boot: int = 0, n_estimators: int = 100) -> dict[str, Any]:
    """The window-level entries (discriminative, NN, memorisation) of two feature sets."""
    win: dict[str, Any] = {}
    n_min = min(len(rf), len(sf))
    if n_min >= 5:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            win["discriminative_score"] = _entry(
                "discriminative_score", discriminative_score(rf, sf, seed=seed, n_estimators=n_estimators)
            )
        # with fewer a share of neighbours is mostly chance (2 synthetic windows: 0, 0.5 or 1)
        se = _nn_se_runs(rf, sf, runs) if runs is not None else None
        win["nn_indistinguishability"] = _entry("nn_indistinguishability", nn_indistinguishability(rf, sf),
                                                se_runs=se)
    else:
        for name in ("discriminative_score", "nn_indistinguishability"):
            win[name] = _entry(name, None, note="needs at least 5 windows on each side")
    n_null = int(null_permutations) if n_min >= 5 else 0  # no score, no test of it
    if n_null:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            null = permutation_null(rf, sf, n_null, seed=seed, n_estimators=n_estimators)
        _add_null(win, null)
    if n_boot and n_min >= 5:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            boot = bootstrap_scores(rf, sf, n_boot, seed=seed, n_estimators=n_estimators)
        win["discriminative_score"].update(ci=list(boot["discriminative_ci"]), ci_level=boot["level"],
                                           n_boot=boot["n_boot"])
        win["nn_indistinguishability"].update(ci=list(boot["nn_ci"]), ci_level=boot["level"], n_boot=boot["n_boot"])
    if len(rf) >= 2:
        mem = memorisation(rf, sf)
        win["memorisation_median_ratio"] = _entry("memorisation_median_ratio", mem["median_ratio"],
                                                  verdict=memorisation_verdict(mem["median_ratio"]))
        win["memorisation_copy_share"] = _entry(
            "memorisation_copy_share", mem["copy_share"], threshold=mem["threshold"]
        )
    else:
        for name in ("memorisation_median_ratio", "memorisation_copy_share"):
            win[name] = _entry(name, None, note="needs 2 real windows")
    win["_n_null"] = n_null
    return win
