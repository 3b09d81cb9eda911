"""Calibrate twin parameters to a real trace: an objective function and a table of optimisers.

Works for every registered twin (``home``, ``grid``, ``machine``). A candidate parameter
vector sets dotted fields of the twin's ``Config`` (and ``diversity.<field>`` of the fleet
laws; the list and the default ranges come from :mod:`~twinforge.fidelity.parameters`),
``n_units`` runs are simulated in memory through the campaign engine
(:func:`~twinforge.fidelity.simulate.simulate_runs`, with the same seeds for every
candidate: common random numbers, so the loss is a deterministic function of the
parameters), cut like the real **calibration windows** (one
:class:`~twinforge.fidelity.prepared.PreparedComparison`), and scored by :class:`Objective`:

``loss = w_W W1/IQR + w_P profile + w_A ACF + w_D discriminative + w_S spread``

summed over the mapped channels; ``spread`` is the day-to-day spread, the normalised W1
distance between the real and synthetic distributions of the windows' means and of their
standard deviations (without it a loss on pooled values leaves the synthetic days too alike).
An optimiser from :data:`OPTIMISERS` (:mod:`scipy.optimize`: bounded Brent, Nelder-Mead,
Powell, differential evolution) searches the unit cube of the parameters' ranges until
``max_runs`` candidate simulations are spent. The split between calibration and held-out
data is

- **in time** for one real trace: its whole windows (local days by default); the first
  ``1 - holdout`` calibrate, the last ones are held out; candidates are simulated over
  exactly the calibration dates;
- **by unit** for a real frame with a ``run_id`` column (several bearings run to
  failure, several houses): the last ``holdout`` share of the units is held out;
  candidates are simulated from the first calibration unit's start for the longest
  calibration unit's span.

The search's best point is the best on its own seeds, and with a few units and the
discriminative score in the loss it is often best by luck (the winner's curse). With
``rescore=k`` the search's ``k`` best other candidates and the start are simulated again on
fresh runs and the lowest fresh loss is chosen. Then the start and the chosen parameters are
both simulated for the **held-out** data (other runs) and compared with it by
:func:`~twinforge.fidelity.compare` (before/after reports).
:meth:`CalibrationResult.write_preset` writes the result as a scenario file for
``twinforge generate --config``.

>>> from twinforge.fidelity import load_uci_household
>>> res = calibrate(load_uci_household(), params=["appliances.usage_scale"], max_runs=20)  # doctest: +SKIP
>>> res.write_preset("uci.toml")                                                              # doctest: +SKIP
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from twinforge.fidelity.comparison import FidelityReport, compare_prepared
from twinforge.fidelity.metrics import acf_distance, discriminative_score, profile_error, wasserstein_normalised
from twinforge.fidelity.parameters import (
    DEFAULT_SOURCE,
    DIVERSITY_KEY,
    DIVERSITY_PREFIX,
    Bound,
    ParameterSource,
    _combined,
    get_path,
    resolve_params,
    with_params,
)
from twinforge.fidelity.prepared import (
    CompareError,
    ComparisonSettings,
    PreparedComparison,
    WindowSet,
    first_problem,
    real_runs,
    stack_runs,
)
from twinforge.fidelity.preset import diff_config, preset_toml, write_preset_text
from twinforge.fidelity.simulate import purpose_seed, simulate_runs

__all__ = ["CalibrationResult", "calibrate", "LossWeights", "Objective", "OPTIMISERS", "DEFAULT_CHANNELS",
           "Bound"]

#: Default real-to-synthetic channel map by twin (``channels=None``).
DEFAULT_CHANNELS: dict[str, dict[str, str]] = {
    "home": {"mains_power_w": "mains_power_w"},
    "grid": {"load_power_w": "feeder_power_w"},
}


class LossWeights(BaseModel):
    """Weights of the calibration loss terms (each >= 0; 0 switches a term off)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    wasserstein: float = Field(1.0, ge=0.0, le=100.0, description="W1/IQR of the pooled values")
    profile: float = Field(1.0, ge=0.0, le=100.0, description="CV(RMSE) of the mean daily profile")
    acf: float = Field(1.0, ge=0.0, le=100.0, description="RMS gap of the within-window autocorrelation")
    discriminative: float = Field(1.0, ge=0.0, le=100.0, description="real-vs-synthetic classifier score")
    spread: float = Field(1.0, ge=0.0, le=100.0, description="W1/IQR of the windows' means and SDs (day to day)")

    @classmethod
    def of(cls, weights: Mapping[str, float] | LossWeights | None) -> LossWeights:
        if weights is None:
            return cls()
        if isinstance(weights, LossWeights):
            return weights
        try:
            return cls(**dict(weights))
        except ValidationError as exc:
            if any(e["type"] == "extra_forbidden" for e in exc.errors()):
                unknown = sorted(set(weights) - set(cls.model_fields))
                raise CompareError(f"unknown loss weight(s) {unknown}; known: {list(cls.model_fields)}") from None
            raise CompareError(first_problem(exc, "weights.")) from None


class _BudgetSpent(Exception):
    pass


def spread_distance(real: WindowSet, synth: WindowSet, k: int) -> float:
    """Day-to-day spread: W1/IQR of the windows' means plus that of their SDs (channel ``k``)."""
    out = 0.0
    for stat in (np.nanmean, np.nanstd):
        r = stat(real.windows[..., k], axis=1)
        s = stat(synth.windows[..., k], axis=1)
        out += wasserstein_normalised(r, s)
    return out


class Objective:
    """The calibration loss of a synthetic data set against the prepared real windows.

    Parameters
    ----------
    prepared : PreparedComparison
        The real calibration windows.
    weights : LossWeights
    n_estimators : int
        Trees of the discriminative score's forest (fewer than the report's: it runs per candidate).
    """

    TERMS = ("wasserstein", "profile", "acf", "discriminative", "spread")

    def __init__(self, prepared: PreparedComparison, weights: LossWeights, n_estimators: int = 50) -> None:
        self.prep, self.w, self.n_estimators = prepared, weights, n_estimators
        self._real_pooled = stack_runs(prepared.real.runs, prepared.settings.columns)

    def components(self, synth: pd.DataFrame) -> dict[str, float]:
        """Each loss term and ``loss``, the weighted sum, for a synthetic frame (``run_id``)."""
        s = self.prep.settings
        side = self.prep.side(synth, match_span=False)  # simulated over the calibration dates
        pooled = side.frame(s.columns)
        comp = dict.fromkeys(self.TERMS, 0.0)
        rw, sw = self.prep.real.windows, side.windows
        for k, c in enumerate(s.columns):
            if self.w.wasserstein > 0:
                comp["wasserstein"] += wasserstein_normalised(self._real_pooled[c], pooled[c])
            if self.w.profile > 0 and s.tz is not None:  # no local time, no daily profile (as in compare)
                comp["profile"] += profile_error(self._real_pooled[c], pooled[c], by="hour", tz=s.tz)
            if self.w.acf > 0:
                try:
                    comp["acf"] += acf_distance(rw[..., k], sw[..., k], self.prep.max_lag)
                except ValueError:
                    comp["acf"] += 2.0
            if self.w.spread > 0:
                comp["spread"] += spread_distance(self.prep.real, side, k)
        if self.w.discriminative > 0:
            if len(sw) >= 5 and len(rw) >= 5:
                comp["discriminative"] = discriminative_score(self.prep.real.features, side.features,
                                                              seed=s.seed, n_estimators=self.n_estimators)
            else:
                comp["discriminative"] = 0.5
        comp["loss"] = sum(getattr(self.w, t) * comp[t] for t in self.TERMS)
        return comp


# ---------------------------------------------------------------------------------------
# optimisers: f(objective on the unit cube, start, budget, seed) -> None (the objective keeps
# the history and raises _BudgetSpent when the budget is spent)

Optimiser = Callable[[Callable[[np.ndarray], float], np.ndarray, int, int], None]


def _bounded(f: Callable[[np.ndarray], float], u0: np.ndarray, budget: int, seed: int) -> None:
    from scipy import optimize

    if len(u0) != 1:
        raise CompareError("method 'bounded' calibrates exactly one parameter")
    optimize.minimize_scalar(lambda u: f(np.array([u])), bounds=(0.0, 1.0), method="bounded",
                             options={"maxiter": budget, "xatol": 1e-3})


def _nelder_mead(f: Callable[[np.ndarray], float], u0: np.ndarray, budget: int, seed: int) -> None:
    from scipy import optimize

    d = len(u0)
    simplex = np.vstack([u0] + [np.clip(u0 + np.eye(d)[i] * (0.25 if u0[i] < 0.75 else -0.25), 0, 1)
                                for i in range(d)])
    optimize.minimize(f, u0, method="Nelder-Mead", bounds=[(0.0, 1.0)] * d,
                      options={"initial_simplex": simplex, "maxfev": budget, "xatol": 1e-3, "fatol": 1e-4})


def _powell(f: Callable[[np.ndarray], float], u0: np.ndarray, budget: int, seed: int) -> None:
    from scipy import optimize

    optimize.minimize(f, u0, method="Powell", bounds=[(0.0, 1.0)] * len(u0), options={"maxfev": budget, "xtol": 1e-3})


def _differential_evolution(f: Callable[[np.ndarray], float], u0: np.ndarray, budget: int, seed: int) -> None:
    from scipy import optimize

    d = len(u0)
    popsize = max(2, min(8, (budget - 1) // (2 * d)))
    optimize.differential_evolution(f, [(0.0, 1.0)] * d, popsize=popsize, maxiter=budget, seed=seed,
                                    polish=False, init="sobol" if d > 1 else "latinhypercube", x0=u0, tol=0.0)


#: The optimisers by name (``method``); ``"auto"`` is bounded for one parameter, else Nelder-Mead.
OPTIMISERS: dict[str, Optimiser] = {
    "bounded": _bounded,
    "nelder-mead": _nelder_mead,
    "powell": _powell,
    "differential_evolution": _differential_evolution,
}


# ---------------------------------------------------------------------------------------
# result


@dataclass
class CalibrationResult:
    """What :func:`calibrate` found.

    Attributes
    ----------
    params, start_params : dict of str to float
        Chosen and starting values of the calibrated parameters.
    loss_start, loss_best : float
        Loss on the calibration windows (the search's runs) at the start and at the chosen point.
    history : DataFrame
        One row per simulated candidate: parameter values, loss and its terms; with
        ``rescore``, the re-scored candidates' fresh loss in ``rescore_loss``.
    n_runs : int
        Candidate simulations spent (each simulates ``n_units`` runs).
    config, base_config : pydantic model
        The calibrated and the starting twin config.
    report_before, report_after : FidelityReport or None
        Held-out comparison of the start and the calibrated twin (None if ``holdout=0``).
    details : dict
        Periods, counts, weights, method, seeds, timing.
    diversity, base_diversity : pydantic model or None
        The calibrated and the starting fleet laws when the base scenario had a
        ``[diversity]`` section; None: every run is ``config``.
    """

    params: dict[str, float]
    start_params: dict[str, float]
    loss_start: float
    loss_best: float
    history: pd.DataFrame
    n_runs: int
    config: Any
    base_config: Any
    report_before: FidelityReport | None
    report_after: FidelityReport | None
    details: dict[str, Any] = field(default_factory=dict)
    diversity: Any = None
    base_diversity: Any = None

    def scores(self) -> pd.DataFrame:
        """Held-out headline metrics before and after calibration (one row per metric)."""
        keys = ["windows.discriminative_score", "windows.nn_indistinguishability",
                "windows.memorisation_median_ratio"]
        if self.report_after is not None:
            for ch in self.report_after.channels:
                keys += [f"channels.{ch}.{m}" for m in
                         ("ks", "wasserstein", "acf_distance", "psd_log_distance", "profile_error_hour",
                          "tail_q99")]
        rows = []
        for k in keys:
            b = self.report_before.value(k) if self.report_before is not None else None
            a = self.report_after.value(k) if self.report_after is not None else None
            rows.append({"metric": k, "before": b, "after": a})
        return pd.DataFrame(rows)

    def _rescore_text(self) -> str:
        rs = self.details["rescore"]
        incl = " (the start included)" if math.isfinite(rs["loss_start"]) else ""
        kept = " (the start: no change)" if rs["chose_start"] else ""
        return (f"re-scored {rs['n_candidates']} candidates{incl} on {rs['n_units']} fresh "
                f"run(s): fresh loss {rs['loss_start']:.4g} at the start, "
                f"{rs['loss_chosen']:.4g} chosen{kept}")

    def summary(self) -> str:
        d = self.details
        lines = [
            f"calibrated {', '.join(self.params)} with {self.n_runs} simulated candidates "
            f"({d['n_units']} {d['twin']} run(s) x {d['calibration_days']:.4g} days each, {d['method']}, "
            f"{d['seconds']:.0f} s)",
            f"  calibration loss {self.loss_start:.4g} -> {self.loss_best:.4g}",
        ]
        if d.get("fleet_note"):
            lines.append(f"  {d['fleet_note']}")
        if d.get("rescore"):
            best = d["rescore"]["loss_search_best"]
            lines.append(f"  {self._rescore_text()}; the search's best {best:.4g}")
        for k in self.params:
            lines.append(f"  {k}: {self.start_params[k]:.4g} -> {self.params[k]:.4g}")
        if self.report_after is not None:
            lines.append(f"  held-out ({d['holdout']}), before -> after:")
            for _, r in self.scores().iterrows():
                if pd.isna(r["before"]) and pd.isna(r["after"]):
                    continue  # not computable here (e.g. a daily profile without a zone)
                b = "n/a" if pd.isna(r["before"]) else f"{r['before']:.3f}"
                a = "n/a" if pd.isna(r["after"]) else f"{r['after']:.3f}"
                lines.append(f"    {r['metric']}: {b} -> {a}")
        return "\n".join(lines)

    def write_preset(self, path: str | Path, *, days: float = 7.0, runs: int = 1, source: str = "",
                     overwrite: bool = True) -> Path:
        """Write the calibrated twin as a scenario TOML (``twinforge generate --config``).

        The file holds ``twin``, the period, the diversity (``diversity = false``: every
        run is this config, runs differ only by their random streams; or, when the fleet
        laws were part of the base, a ``[diversity]`` section with the values that differ
        from the twin's defaults) and a ``[home]``/``[grid]``/``[machine]`` section with
        every value that differs from the defaults. It is validated with
        :func:`~twinforge.campaign.spec.load_spec` before it replaces ``path``, which may
        be new or (``overwrite``) an earlier preset, never anything else.
        """
        twin = self.details["twin"]
        header = [
            f"twinforge preset: {twin} twin calibrated to a real trace",
            f"source: {source or self.details.get('source', 'real trace')}",
            f"calibration: {self.details['calibration']}; held out: {self.details['holdout']}",
            f"calibration loss {self.loss_start:.4g} -> {self.loss_best:.4g} "
            f"({self.n_runs} candidates, weights {self.details['weights']})",
        ]
        if self.details.get("rescore"):
            header.append(self._rescore_text())
        if self.report_after is not None and self.report_before is not None:
            for k in ("windows.discriminative_score", "windows.nn_indistinguishability"):
                b, a = self.report_before.value(k), self.report_after.value(k)
                header.append(
                    f"held-out {k.split('.')[-1]}: {'n/a' if b is None else f'{b:.3f}'} -> "
                    f"{'n/a' if a is None else f'{a:.3f}'}"
                )
        data: dict[str, Any] = {
            "twin": twin, "period": self.details["period"], "days": float(days),
            "runs": int(runs),
            "diversity": False if self.diversity is None else diff_config(
                self.diversity.model_dump(mode="json"), type(self.diversity)().model_dump(mode="json")),
            twin: diff_config(self.config.model_dump(mode="json"), type(self.config)().model_dump(mode="json")),
        }
        return write_preset_text(Path(path), preset_toml(data, header), overwrite=overwrite)


# ---------------------------------------------------------------------------------------
# splits


def _time_split(prep: PreparedComparison, holdout: float) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    """Starts of the calibration and of the held-out windows (in time order)."""
    starts = prep.real.starts.sort_values()
    if len(starts) < 2 and holdout > 0:
        raise CompareError(f"the real trace needs at least two whole {prep.settings.window} windows")
    n_hold = int(round(len(starts) * holdout))
    if holdout > 0 and n_hold == 0:
        n_hold = 1
    n_cal = len(starts) - n_hold
    if n_cal < 1:
        raise CompareError(f"holdout={holdout} leaves no calibration window")
    return starts[:n_cal], starts[n_cal:]


def _unit_split(ids: Sequence[int], holdout: float) -> tuple[list[int], list[int]]:
    ids = sorted(ids)
    if len(ids) < 2 and holdout > 0:
        raise CompareError("a real frame with run_id needs at least two units to hold some out")
    n_hold = int(round(len(ids) * holdout))
    if holdout > 0 and n_hold == 0:
        n_hold = 1
    if len(ids) - n_hold < 1:
        raise CompareError(f"holdout={holdout} leaves no calibration unit")
    return ids[: len(ids) - n_hold], ids[len(ids) - n_hold:]


def _span(runs: Mapping[int, pd.DataFrame], ids: Sequence[int], period: pd.Timedelta) -> tuple[pd.Timestamp, float]:
    """First start and the longest span [days] (one period included) of the units ``ids``."""
    start = min(runs[i].index[0] for i in ids)
    span = max(runs[i].index[-1] - runs[i].index[0] + period for i in ids)
    return start, float(math.ceil(span / pd.Timedelta("1s")) / 86_400.0)


def _named(ids: Sequence[int], names: Mapping[Any, str]) -> str:
    """``": Bearing1_1, Bearing2_1"`` for units the loader named, else ``""``."""
    known = [names.get(i) for i in ids]
    return ": " + ", ".join(known) if known and all(known) else ""


def _select(real: pd.DataFrame, cols: list[str], t0: pd.Timestamp, t1: pd.Timestamp) -> pd.DataFrame:
    (only,) = real_runs(real, cols).values()
    return only[(only.index >= t0) & (only.index < t1)]


# ---------------------------------------------------------------------------------------
# calibrate


def _twin_and_base(base: Any, twin: str | None) -> tuple[str, Any, Any, Any]:
    from twinforge.campaign.spec import GenerateSpec
    from twinforge.core.registry import TWINS

    import twinforge.twins  # noqa: F401  (registers the twins)

    base_div = None
    if isinstance(base, GenerateSpec):
        if twin is not None and base.twin != twin:
            raise CompareError(f"calibration fits the {twin} twin, the base scenario is {base.twin!r}")
        twin, base, base_div = base.twin, base.config, base.diversity
    if twin is None:
        twin = next((n for n in TWINS.names() if base is not None and isinstance(base, TWINS.get(n).Config)),
                    "home")
    try:
        plugin = TWINS.get(twin)
    except KeyError as exc:
        raise CompareError(str(exc.args[0])) from None
    base = plugin.Config() if base is None else base
    if not isinstance(base, plugin.Config):
        raise CompareError(f"base must be a {plugin.Config.__name__} for the {twin} twin, got {type(base).__name__}")
    return twin, base, base_div, plugin


def calibrate(
    real: pd.DataFrame,
    *,
    twin: str | None = None,
    params: Sequence[str] | Mapping[str, tuple[float, float] | Bound | None] = ("appliances.usage_scale",),
    channels: Mapping[str, str] | None = None,
    base: Any = None,
    max_runs: int = 30,
    n_units: int = 3,
    n_eval_units: int = 4,
    holdout: float = 0.3,
    tz: str | None = "Europe/Paris",
    period: Any = None,
    window: Any = "1D",
    normalise: Literal["none", "mean"] = "none",
    weights: Mapping[str, float] | LossWeights | None = None,
    method: str = "auto",
    seed: int = 0,
    max_nan_frac: float = 0.05,
    evaluate: bool = True,
    source: str = "",
    n_homes: int | None = None,
    n_eval_homes: int | None = None,
    rescore: int = 0,
    n_rescore_units: int | None = None,
    parameters: ParameterSource = DEFAULT_SOURCE,
    progress: bool = False,
) -> CalibrationResult:
    """Fit twin parameters to a real trace within a budget of simulations.

    Parameters
    ----------
    real : DataFrame
        UTC-indexed real trace (e.g. :func:`~twinforge.fidelity.load_uci_household`); a
        ``run_id`` column marks several units, which are then split by unit (module docstring).
    twin : str, optional
        Twin to calibrate (``"home"``, ``"grid"``, ``"machine"``); default: the twin of a
        ``GenerateSpec`` base, of a config base, or ``"home"``.
    params : sequence of str or mapping
        Dotted paths in the twin's config (or ``diversity.<field>`` of the base scenario's
        fleet laws), with default ranges from ``parameters``, or ``{name: (low, high)}``.
    channels : mapping, optional
        ``{real column: twin channel}``; defaults in :data:`DEFAULT_CHANNELS` (home
        ``mains_power_w``, grid ``load_power_w -> feeder_power_w``), required for others.
    base : config, GenerateSpec or None
        Starting config (its values are the optimiser's start); default the twin's
        ``Config()``. A ``GenerateSpec`` also brings its diversity (None: every run is the
        config's unit; fleet laws: each run draws its own unit and ``diversity.*`` fields can
        be calibrated).
    max_runs : int
        Budget: candidate simulations (each of ``n_units`` runs), the start included; a
        point asked for twice is simulated once.
    n_units, n_eval_units : int
        Runs per candidate, and runs simulated for the held-out before/after reports
        (``n_homes``, ``n_eval_homes`` are aliases).
    holdout : float
        Share of the real windows (the last ones in time) or of the real units held out
        from calibration; 0 = none.
    tz, period, window, max_nan_frac, normalise
        As in :func:`~twinforge.fidelity.compare`; the period defaults to the real trace's.
    weights : mapping or LossWeights, optional
        Loss weights ``wasserstein``, ``profile``, ``acf``, ``discriminative``, ``spread``
        (:class:`LossWeights`, each 1 by default).
    method : str
        A key of :data:`OPTIMISERS`, or ``"auto"``: bounded Brent for one parameter,
        Nelder-Mead for several.
    seed : int
        Root of the runs' seeds (named children ``calibration``, ``evaluation``, ``rescore``:
        :func:`~twinforge.fidelity.simulate.purpose_seed`), of the classifier and optimiser.
    evaluate : bool
        Compute the held-out before/after reports.
    rescore : int
        Re-score the search's ``rescore`` best candidates other than the start, and the
        start, on fresh runs and choose the lowest fresh loss; 0: choose the search's best.
        These simulations are not counted in ``max_runs``.
    n_rescore_units : int, optional
        Runs per re-scored candidate; default ``max(n_units, 6)``.
    parameters : ParameterSource
        Where the default search ranges come from (:mod:`~twinforge.fidelity.parameters`).
    progress : bool
        A progress bar (tqdm) over the candidates, on stderr.

    Returns
    -------
    CalibrationResult

    Raises
    ------
    CompareError
        Unknown twin, parameter, channel or weight; a parameter without range; a budget,
        holdout or split that leaves nothing to calibrate.
    """
    t_begin = time.perf_counter()
    if n_homes is not None:
        n_units = n_homes
    if n_eval_homes is not None:
        n_eval_units = n_eval_homes
    twin, base, base_div, plugin = _twin_and_base(base, twin)
    twin_tz = getattr(base, "tz", None)
    if tz is not None and twin_tz is not None and twin_tz != tz:
        raise CompareError(
            f"tz {tz!r}: the {twin} twin lives in local time {twin_tz!r} (its config's tz), and windows "
            f"and daily profiles need one local time: start from a config with tz = {tz!r} (and the "
            f"site's weather; CLI: --config), or use tz {twin_tz!r}"
        )
    if channels is None:
        if twin not in DEFAULT_CHANNELS:
            raise CompareError(
                f"give channels={{real column: {twin} channel}} (CLI: --map REAL=CHANNEL) to calibrate the {twin} twin"
            )
        channels = DEFAULT_CHANNELS[twin]
    if max_runs < 2:
        raise CompareError(f"max_runs must be >= 2, got {max_runs}")
    if n_units < 1 or n_eval_units < 1:
        raise CompareError(f"n_units and n_eval_units must be >= 1, got {n_units} and {n_eval_units}")
    if n_rescore_units is None:
        n_rescore_units = max(n_units, 6)
    if isinstance(rescore, bool) or not isinstance(rescore, (int, np.integer)) or rescore < 0:
        raise CompareError(f"rescore must be an integer >= 0, got {rescore!r}")
    if n_rescore_units < 1:
        raise CompareError(f"n_rescore_units must be >= 1, got {n_rescore_units}")
    if not 0.0 <= holdout < 1.0:
        raise CompareError(f"holdout must be in [0, 1), got {holdout}")
    if method != "auto" and method not in OPTIMISERS:
        raise CompareError(f"unknown method {method!r}; use auto, {', '.join(OPTIMISERS)}")
    w = LossWeights.of(weights)
    settings = ComparisonSettings.build(channels=dict(channels), window=window, period=period, tz=tz,
                                        normalise=normalise, max_nan_frac=max_nan_frac, seed=seed,
                                        match_span=False)
    cols = settings.columns

    wants_div = [n for n in (params if not isinstance(params, Mapping) else params.keys())
                 if str(n).startswith(DIVERSITY_PREFIX)]
    if wants_div and base_div is None:
        raise CompareError(
            f"{wants_div[0]!r}: calibrating the fleet laws needs a base scenario with a [diversity] "
            f"section (diversity = false or absent: every run is one config)"
        )
    if base_div is not None and DIVERSITY_KEY in type(base).model_fields:
        raise CompareError(f"the {twin} config has its own {DIVERSITY_KEY!r} field; cannot add the fleet laws")
    dump = _combined(base, base_div)
    bounds = resolve_params(params, dump, twin, parameters)
    names = list(bounds)
    sim_channels = list(dict.fromkeys(settings.channels.values()))

    # the split: the whole trace prepared once, then calibration and held-out parts of it
    full = PreparedComparison.prepare(real, settings, source=source)
    p = full.period
    by_unit = isinstance(real, pd.DataFrame) and "run_id" in real.columns
    if by_unit:
        cal_ids, hold_ids = _unit_split(list(full.real.runs), holdout)
        runs_real = real_runs(real, cols)
        cal_real = pd.concat([runs_real[i].assign(run_id=i) for i in cal_ids])
        hold_real = pd.concat([runs_real[i].assign(run_id=i) for i in hold_ids]) if hold_ids else None
        cal_start, cal_days_n = _span(runs_real, cal_ids, p.td)
        unit_names = real.attrs.get("bearings") or {}
        cal_text = f"{len(cal_ids)} unit(s) (run_id {cal_ids[0]}..{cal_ids[-1]}{_named(cal_ids, unit_names)})"
        hold_text = (f"{len(hold_ids)} unit(s) (run_id {', '.join(map(str, hold_ids))}{_named(hold_ids, unit_names)})"
                     if hold_ids else "none")
        if hold_ids:
            h_start, h_days = _span(runs_real, hold_ids, p.td)
    else:
        cal_w, hold_w = _time_split(full, holdout)
        win_td = settings.window.td
        cal_start, cal_end = cal_w[0], cal_w[-1] + win_td
        cal_real = _select(real, cols, cal_start, cal_end)
        cal_days_n = float(round((cal_end - cal_start) / pd.Timedelta("1D"), 6))
        cal_text = f"{cal_days_n:.4g} days from {cal_start.isoformat()} ({len(cal_w)} {settings.window} windows, {tz})"
        hold_real, hold_text = None, "none"
        if len(hold_w):
            h_start, h_end = hold_w[0], hold_w[-1] + win_td
            hold_real = _select(real, cols, h_start, h_end)
            h_days = float(round((h_end - h_start) / pd.Timedelta("1D"), 6))
            hold_text = f"{h_days:.4g} days from {h_start.isoformat()} ({len(hold_w)} {settings.window} windows)"
    prep = PreparedComparison.prepare(cal_real, settings.model_copy(update={"period": p}), source=source)
    objective = Objective(prep, w)
    cal_seed = purpose_seed(seed, "calibration")

    def simulate(cfg: Any, div: Any, root: int, n: int, start: pd.Timestamp, days: float) -> pd.DataFrame:
        return simulate_runs(twin, cfg, start, days, p, sim_channels, seed=root, n_runs=n, diversity=div)

    history: list[dict[str, Any]] = []
    best: dict[str, Any] = {"loss": math.inf}
    seen: dict[tuple[float, ...], float] = {}
    bar = _bar(progress, max_runs, f"calibrate {twin}")

    def evaluate_values(values: dict[str, float]) -> float:
        # the optimiser may ask again for a point (Nelder-Mead starts at the start point, a
        # rounded integer maps many points to one): same runs, same loss, no budget spent
        key = tuple(float(values[n]) for n in names)
        if key in seen:
            return seen[key]
        if len(history) >= max_runs:
            raise _BudgetSpent
        try:
            cfg, div = with_params(base, values, bounds, base_div)
        except ValueError as exc:  # a combination the twin's validators refuse
            history.append({**values, "loss": math.inf, "error": str(exc).splitlines()[0]})
            seen[key] = 1e6
            bar.update(1)
            return 1e6
        comp = objective.components(simulate(cfg, div, cal_seed, n_units, cal_start, cal_days_n))
        history.append({**values, **comp})
        bar.update(1)
        if comp["loss"] < best["loss"]:
            best.update(loss=comp["loss"], values=dict(values), config=cfg, diversity=div)
        seen[key] = comp["loss"]
        return comp["loss"]

    def on_cube(u: np.ndarray) -> float:
        u = np.atleast_1d(u)
        return evaluate_values({n: bounds[n].from_unit(float(ui)) for n, ui in zip(names, u)})

    start_vals = {n: float(get_path(dump, n)) for n in names}
    u0 = np.array([bounds[n].to_unit(start_vals[n]) for n in names])
    chosen = method if method != "auto" else ("bounded" if len(names) == 1 else "nelder-mead")
    if chosen == "bounded" and len(names) != 1:
        raise CompareError("method 'bounded' calibrates exactly one parameter")
    try:
        loss_start = evaluate_values(start_vals)
        try:
            OPTIMISERS[chosen](on_cube, u0, max_runs, seed)
        except _BudgetSpent:
            pass
    finally:
        bar.close()

    rescore_info: dict[str, Any] | None = None
    if rescore > 0 and "values" in best:
        # the k best other candidates (history rows are distinct points) and the start
        rows = sorted((i for i, h in enumerate(history) if i > 0 and math.isfinite(h["loss"])),
                      key=lambda i: (history[i]["loss"], i))
        start_ok = math.isfinite(history[0]["loss"])  # history[0] is the start (unless refused)
        picked = ([0] if start_ok else []) + rows[:rescore]
        fresh_seed = purpose_seed(seed, "rescore")
        fresh: dict[int, float] = {}
        built: dict[int, tuple[dict[str, float], Any, Any]] = {}
        for i in picked:
            vals = {n: history[i][n] for n in names}
            cfg, div = with_params(base, vals, bounds, base_div)
            built[i] = (vals, cfg, div)
            fresh[i] = objective.components(simulate(cfg, div, fresh_seed, n_rescore_units, cal_start,
                                                     cal_days_n))["loss"]
            history[i]["rescore_loss"] = fresh[i]
        chosen_i = min(picked, key=lambda i: (fresh[i], i))
        vals, cfg, div = built[chosen_i]
        rescore_info = {
            "n_candidates": len(picked), "n_units": n_rescore_units, "seed": fresh_seed,
            "loss_start": fresh[0] if start_ok else math.nan, "loss_chosen": fresh[chosen_i],
            "loss_search_best": best["loss"], "chose_start": start_ok and chosen_i == 0,
        }
        best.update(loss=history[chosen_i]["loss"], values=vals, config=cfg, diversity=div)

    hist = pd.DataFrame(history)
    best_vals = best.get("values", start_vals)
    best_cfg = best.get("config", base)
    best_div = best.get("diversity", base_div)
    details: dict[str, Any] = {
        "twin": twin, "method": chosen, "weights": w.model_dump(), "n_units": n_units,
        "calibration_seed": cal_seed, "period": p.text, "tz": tz, "window": settings.window.text,
        "channels": dict(channels), "normalise": normalise,
        "split": "unit" if by_unit else "time", "calibration": cal_text, "holdout": hold_text,
        "calibration_start": cal_start.isoformat(), "calibration_days": cal_days_n,
        "n_calibration_windows": int(len(prep.real)), "source": source,
        "bounds": {n: [b.low, b.high] for n, b in bounds.items()},
        "rescore": rescore_info,
    }
    report_before = report_after = None
    if evaluate and hold_real is not None:
        eval_seed = purpose_seed(seed, "evaluation")
        details.update(holdout_start=h_start.isoformat(), holdout_days=h_days, evaluation_seed=eval_seed,
                       n_eval_units=n_eval_units)
        hold_prep = PreparedComparison.prepare(hold_real, settings.model_copy(update={"period": p}),
                                               source=source)
        reports = []
        for cfg, div in ((base, base_div), (best_cfg, best_div)):
            synth = simulate(cfg, div, eval_seed, n_eval_units, h_start, h_days)
            reports.append(compare_prepared(hold_prep, hold_prep.side(synth)))
        report_before, report_after = reports
    details["seconds"] = time.perf_counter() - t_begin
    return CalibrationResult(
        params=best_vals, start_params=start_vals, loss_start=loss_start, loss_best=best["loss"],
        history=hist, n_runs=len(history), config=best_cfg, base_config=base,
        report_before=report_before, report_after=report_after, details=details,
        diversity=best_div, base_diversity=base_div,
    )


def _bar(enabled: bool, total: int, desc: str) -> Any:
    from twinforge.progress import bar

    return bar(enabled, total=total, desc=desc, unit="candidate", leave=False)
