"""Calibrate home-twin parameters to a real trace by minimising a fidelity loss.

The real trace is cut into whole local days; the first ``1 - holdout`` of them are the
**calibration windows**, the rest are **held out** (a time split). A candidate parameter
vector is scored by simulating ``n_homes`` homes in memory
(:func:`twinforge.core.engine.simulate`, nothing written) over exactly the calibration
dates, with fixed seeds (common random numbers, so the loss is a deterministic function of
the parameters), and computing

``loss = w_W * W1/IQR + w_P * profile_error + w_A * acf_distance [+ w_D * discriminative]``

summed over the mapped channels (:mod:`.metrics`). :mod:`scipy.optimize` searches the
parameters inside their bounds (scaled to the unit cube) until ``max_runs`` candidate
simulations are spent. Then the start and the best parameters are both simulated over the
**held-out** dates with other seeds and compared with the held-out real days by
:func:`~twinforge.fidelity.comparison` (before/after reports). :meth:`CalibrationResult.write_preset`
writes the result as a scenario file for ``twinforge generate --config``.

>>> from twinforge.fidelity import load_uci_household
>>> res = calibrate(load_uci_household(), params=["appliances.usage_scale"], max_runs=20)  # doctest: +SKIP
>>> res.write_preset("uci.toml")                                                              # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from twinforge.fidelity.comparison import (
    CompareError,
    FidelityReport,
    _period_text,
    _real_frame,
    compare,
)
from twinforge.fidelity.loader import infer_period
from twinforge.fidelity.metrics import (
    acf_distance,
    discriminative_score,
    profile_error,
    wasserstein_normalised,
)
from twinforge.fidelity.windows import make_windows, window_features

__all__ = ["Bound", "HOME_PARAMETERS", "CalibrationResult", "calibrate", "simulate_homes",
           "DEFAULT_WEIGHTS", "preset_toml"]


@dataclass(frozen=True)
class Bound:
    """Search range of one parameter."""

    low: float
    high: float
    integer: bool = False

    def __post_init__(self) -> None:
        if not self.low < self.high:
            raise ValueError(f"bound needs low < high, got [{self.low}, {self.high}]")

    def from_unit(self, u: float) -> float:
        v = self.low + float(np.clip(u, 0.0, 1.0)) * (self.high - self.low)
        return float(round(v)) if self.integer else v

    def to_unit(self, v: float) -> float:
        return float(np.clip((v - self.low) / (self.high - self.low), 0.0, 1.0))


#: Home parameters that can be calibrated by name (dotted paths in ``HomeConfig``) and
#: their default search ranges. Others can be given with explicit bounds.
HOME_PARAMETERS: dict[str, Bound] = {
    "appliances.usage_scale": Bound(0.2, 4.0),
    "appliances.standby_w": Bound(0.0, 400.0),
    "appliances.lighting_w_per_active": Bound(0.0, 600.0),
    "occupancy.n_occupants": Bound(1, 6, integer=True),
    "occupancy.persistence": Bound(0.5, 0.99),
    "occupancy.schedule_shift_sd_h": Bound(0.0, 3.0),
    "hvac.heating_capacity_w": Bound(0.0, 15_000.0),
    "hvac.heat_setpoint_c": Bound(17.0, 23.0),
    "envelope.ua_w_per_k": Bound(50.0, 600.0),
    "dhw.element_w": Bound(1000.0, 4000.0),  # only with a water heater in the base home
    "dhw.draw_l_per_occupant_day": Bound(10.0, 200.0),
    "dhw.tank_l": Bound(100.0, 300.0),
}

#: Default loss weights.
DEFAULT_WEIGHTS: dict[str, float] = {"wasserstein": 1.0, "profile": 1.0, "acf": 1.0, "discriminative": 0.0}


class _BudgetSpent(Exception):
    pass


def _get(cfg: dict[str, Any], path: str) -> Any:
    node: Any = cfg
    for p in path.split("."):
        if not isinstance(node, dict) or p not in node:
            raise CompareError(f"unknown home parameter {path!r}")
        node = node[p]
    return node


def _set(cfg: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node = cfg
    for p in parts[:-1]:
        node = node[p]
    node[parts[-1]] = value


def _with_params(base: Any, values: Mapping[str, float], bounds: Mapping[str, Bound]) -> Any:
    """A copy of the HomeConfig ``base`` with ``values`` set (integers rounded)."""
    from twinforge.twins.home import HomeConfig

    data = base.model_dump()
    for name, v in values.items():
        _set(data, name, int(round(v)) if bounds[name].integer else float(v))
    hv = data.get("hvac", {})
    if "heat_setpoint_c" in hv and hv.get("heat_setback_c", 0) > hv["heat_setpoint_c"]:
        hv["heat_setback_c"] = hv["heat_setpoint_c"]
    return HomeConfig.model_validate(data)


def simulate_homes(
    config: Any, start: pd.Timestamp, days: float, period: str, seeds: Sequence[int],
    channels: Sequence[str],
) -> pd.DataFrame:
    """Simulate one home per seed in memory; DataFrame indexed by UTC time with ``run_id``.

    Each home is run ``k`` (0, 1, ...) of a one-run scenario under root seed ``seeds[k]``
    with ``config`` and no diversity: exactly what ``twinforge generate`` writes for a
    preset with that seed.
    """
    from twinforge.campaign.runner import build_twin, plan_runs
    from twinforge.campaign.spec import GenerateSpec
    from twinforge.core.engine import simulate

    spec = GenerateSpec(twin="home", runs=1, days=days, period=period, start=start, config=config,
                        diversity=None)
    grid = spec.grid()
    frames = []
    for k, seed in enumerate(seeds):
        (plan,) = plan_runs(spec, int(seed))
        twin = build_twin(spec, plan)
        blocks = list(simulate(twin, grid))
        data = {c: np.concatenate([b[c] for b in blocks]).astype("float64") for c in channels}
        t = pd.DatetimeIndex(np.concatenate([b["time"] for b in blocks]))
        t = t.tz_localize("UTC") if t.tz is None else t.tz_convert("UTC")
        frames.append(pd.DataFrame({"run_id": k, **data}, index=t.rename("time")))
    return pd.concat(frames)


@dataclass
class CalibrationResult:
    """What :func:`calibrate` found.

    Attributes
    ----------
    params, start_params : dict of str to float
        Best and starting values of the calibrated parameters.
    loss_start, loss_best : float
        Loss on the calibration windows at the start and at the best point.
    history : DataFrame
        One row per simulated candidate: parameter values, loss and its components.
    n_runs : int
        Candidate simulations spent (each simulates ``n_homes`` homes).
    config : HomeConfig
        The calibrated home.
    base_config : HomeConfig
        The starting home.
    report_before, report_after : FidelityReport or None
        Held-out comparison of the start and the calibrated home (None if ``holdout=0``).
    details : dict
        Periods, counts, weights, method, seeds, timing.
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

    def summary(self) -> str:
        d = self.details
        lines = [
            f"calibrated {', '.join(self.params)} with {self.n_runs} simulated candidates "
            f"({d['n_homes']} home(s) x {d['calibration_days']} days each, {d['method']}, "
            f"{d['seconds']:.0f} s)",
            f"  calibration loss {self.loss_start:.4g} -> {self.loss_best:.4g}",
        ]
        for k in self.params:
            lines.append(f"  {k}: {self.start_params[k]:.4g} -> {self.params[k]:.4g}")
        if self.report_after is not None:
            lines.append(f"  held-out ({d['holdout_days']} days from {d['holdout_start'][:10]}), before -> after:")
            for _, r in self.scores().iterrows():
                b = "n/a" if r["before"] is None else f"{r['before']:.3f}"
                a = "n/a" if r["after"] is None else f"{r['after']:.3f}"
                lines.append(f"    {r['metric']}: {b} -> {a}")
        return "\n".join(lines)

    def write_preset(self, path: str | Path, *, days: float = 7.0, runs: int = 1,
                     source: str = "") -> Path:
        """Write the calibrated home as a scenario TOML (``twinforge generate --config``).

        The file holds ``twin = "home"``, the period, ``diversity = false`` (every run is
        this home, runs differ only by their random streams) and a ``[home]`` section with
        every value that differs from the defaults. It is validated with
        :func:`~twinforge.campaign.spec.load_spec` before it replaces ``path``.
        """
        header = [
            "twinforge preset: home twin calibrated to a real trace",
            f"source: {source or self.details.get('source', 'real trace')}",
            f"calibration: {self.details['calibration_days']:g} days from {self.details['calibration_start']} "
            f"(local midnight, {self.details['tz']}); held out: {self.details.get('holdout_days', 0):g} days "
            f"from {self.details.get('holdout_start', '-')}",
            f"calibration loss {self.loss_start:.4g} -> {self.loss_best:.4g} "
            f"({self.n_runs} candidates, weights {self.details['weights']})",
        ]
        if self.report_after is not None and self.report_before is not None:
            for k in ("windows.discriminative_score", "windows.nn_indistinguishability"):
                b, a = self.report_before.value(k), self.report_after.value(k)
                header.append(
                    f"held-out {k.split('.')[-1]}: {'n/a' if b is None else f'{b:.3f}'} -> "
                    f"{'n/a' if a is None else f'{a:.3f}'}"
                )
        data: dict[str, Any] = {
            "twin": "home", "period": self.details["period"], "days": float(days),
            "runs": int(runs), "diversity": False,
            "home": _diff(self.config.model_dump(mode="json"), type(self.config)().model_dump(mode="json")),
        }
        text = preset_toml(data, header)
        return _write_validated(Path(path), text)


def _diff(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in a.items():
        if isinstance(v, dict) and isinstance(b.get(k), dict):
            sub = _diff(v, b[k])
            if sub:
                out[k] = sub
        elif v != b.get(k) and v is not None:
            out[k] = v
    return out


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"cannot write {v} to TOML")
        return repr(round(v, 6)) if abs(v) >= 1e-6 or v == 0 else repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise ValueError(f"cannot write {type(v).__name__} to TOML")


def preset_toml(data: Mapping[str, Any], header: Sequence[str] = ()) -> str:
    """A TOML document from nested plain data (scalars, lists, tables), comments first."""
    lines = [f"# {h}" for h in header]
    if lines:
        lines.append("")

    def table(prefix: str, d: Mapping[str, Any]) -> None:
        scalars = {k: v for k, v in d.items() if not isinstance(v, Mapping)}
        tables = {k: v for k, v in d.items() if isinstance(v, Mapping)}
        if prefix and scalars:
            lines.append(f"[{prefix}]")
        for k, v in scalars.items():
            lines.append(f"{k} = {_toml_value(v)}")
        if scalars:
            lines.append("")
        for k, v in tables.items():
            table(f"{prefix}.{k}" if prefix else k, v)

    table("", data)
    return "\n".join(lines).rstrip() + "\n"


def _write_validated(path: Path, text: str) -> Path:
    from twinforge.campaign.spec import load_spec
    from twinforge.fidelity.report import _chmod_default

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".toml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        load_spec(tmp)  # raises SpecError if the preset would not load
        _chmod_default(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _resolve_params(
    params: Sequence[str] | Mapping[str, tuple[float, float] | Bound], base_dump: dict[str, Any]
) -> dict[str, Bound]:
    out: dict[str, Bound] = {}
    items = params.items() if isinstance(params, Mapping) else ((p, None) for p in params)
    for name, b in items:
        cur = _get(base_dump, name)
        if isinstance(cur, bool) or not isinstance(cur, (int, float)):
            raise CompareError(f"home parameter {name!r} is not numeric (got {cur!r})")
        if b is None:
            if name not in HOME_PARAMETERS:
                raise CompareError(
                    f"no default range for {name!r}; give bounds (name=low:high) or use one of "
                    f"{', '.join(HOME_PARAMETERS)}"
                )
            b = HOME_PARAMETERS[name]
        elif not isinstance(b, Bound):
            lo, hi = b
            b = Bound(float(lo), float(hi), integer=isinstance(cur, int))
        out[name] = b
    if not out:
        raise CompareError("no parameter to calibrate")
    return out


def _day_split(real: pd.DataFrame, cols: list[str], tz: str, holdout: float, period: pd.Timedelta,
               max_nan_frac: float) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    _, starts = make_windows(real, cols, "1D", max_nan_frac=1.0, tz=tz, period=period)
    if len(starts) < 2:
        raise CompareError("the real trace needs at least two whole local days")
    n_hold = int(round(len(starts) * holdout))
    if holdout > 0 and n_hold == 0:
        n_hold = 1
    n_cal = len(starts) - n_hold
    if n_cal < 1:
        raise CompareError(f"holdout={holdout} leaves no calibration day")
    return starts[:n_cal], starts[n_cal:]


def calibrate(
    real: pd.DataFrame,
    *,
    params: Sequence[str] | Mapping[str, tuple[float, float] | Bound] = ("appliances.usage_scale",),
    channels: Mapping[str, str] | None = None,
    base: Any = None,
    max_runs: int = 30,
    n_homes: int = 3,
    n_eval_homes: int = 4,
    holdout: float = 0.3,
    tz: str = "Europe/Paris",
    period: str | None = None,
    window: str = "1D",
    weights: Mapping[str, float] | None = None,
    method: Literal["auto", "nelder-mead", "powell", "differential_evolution", "bounded"] = "auto",
    seed: int = 0,
    max_nan_frac: float = 0.05,
    evaluate: bool = True,
    source: str = "",
) -> CalibrationResult:
    """Fit home-twin parameters to a real trace within a budget of simulations.

    Parameters
    ----------
    real : DataFrame
        UTC-indexed real trace (e.g. :func:`~twinforge.fidelity.load_uci_household`).
    params : sequence of str or mapping
        Dotted ``HomeConfig`` paths, with default ranges from :data:`HOME_PARAMETERS`, or
        ``{name: (low, high)}``.
    channels : mapping, optional
        ``{real column: home channel}``; default ``{"mains_power_w": "mains_power_w"}``.
    base : HomeConfig, GenerateSpec or None
        Starting home (its values are the optimiser's start); default ``HomeConfig()``.
    max_runs : int
        Budget: candidate simulations (each of ``n_homes`` homes over the calibration days),
        the start point included.
    n_homes : int
        Homes (seeds) per candidate; their pooled data is compared.
    n_eval_homes : int
        Homes simulated over the held-out days for the before/after reports.
    holdout : float
        Share of the real days (the last ones) held out from calibration; 0 = none.
    tz, window, max_nan_frac
        As in :func:`~twinforge.fidelity.comparison`.
    period : str, optional
        Simulation and comparison period; default the real trace's.
    weights : mapping, optional
        Loss weights ``wasserstein``, ``profile``, ``acf``, ``discriminative``
        (:data:`DEFAULT_WEIGHTS`).
    method : str
        ``"auto"``: bounded Brent search for one parameter, Nelder-Mead for several;
        or ``"nelder-mead"``, ``"powell"``, ``"differential_evolution"``, ``"bounded"``.
    seed : int
        Root of the calibration seeds (``seed + k``), the evaluation seeds
        (``seed + 1000 + k``) and of the optimiser.
    evaluate : bool
        Compute the held-out before/after reports.

    Returns
    -------
    CalibrationResult
    """
    from scipy import optimize

    from twinforge.campaign.spec import GenerateSpec
    from twinforge.twins.home import HomeConfig

    t_begin = time.perf_counter()
    if isinstance(base, GenerateSpec):
        if base.twin != "home":
            raise CompareError(f"calibration fits the home twin, the base scenario is {base.twin!r}")
        base = base.config
    base = HomeConfig() if base is None else base
    channels = dict(channels or {"mains_power_w": "mains_power_w"})
    cols = list(channels)
    from twinforge.twins.home import HOME_CHANNELS

    known = {c.name for c in HOME_CHANNELS}
    bad = [v for v in channels.values() if v not in known]
    if bad:
        raise CompareError(f"unknown home channel {bad[0]!r}; channels are {sorted(known)}")
    if max_runs < 2:
        raise CompareError(f"max_runs must be >= 2, got {max_runs}")
    if not 0.0 <= holdout < 1.0:
        raise CompareError(f"holdout must be in [0, 1), got {holdout}")
    w = dict(DEFAULT_WEIGHTS)
    if weights:
        unknown = set(weights) - set(DEFAULT_WEIGHTS)
        if unknown:
            raise CompareError(f"unknown loss weight(s) {sorted(unknown)}; known: {list(DEFAULT_WEIGHTS)}")
        w.update({k: float(v) for k, v in weights.items()})

    real_df = _real_frame(real, cols)
    native = infer_period(real_df.index)
    p = pd.Timedelta(period) if period is not None else native
    if p < native:
        raise CompareError(f"period {period!r} is finer than the real trace's {native}")
    if p != native:
        real_df = real_df.resample(p, label="left", closed="left").mean()
    period_text = _period_text(p)
    bounds = _resolve_params(params, base.model_dump())
    names = list(bounds)

    cal_days, hold_days = _day_split(real_df, cols, tz, holdout, p, max_nan_frac)
    day = pd.Timedelta("1D")
    cal_start, cal_end = cal_days[0], cal_days[-1] + day
    real_cal = real_df[(real_df.index >= cal_start) & (real_df.index < cal_end)]
    n_cal_days = float(round((cal_end - cal_start) / day, 6))
    rw, _ = make_windows(real_cal, cols, window, max_nan_frac=max_nan_frac, tz=tz, period=p)
    if len(rw) == 0:
        raise CompareError("no complete calibration window in the real trace")
    n_steps = rw.shape[1]
    lag = max(1, n_steps // 4)
    rf = window_features(rw, p.total_seconds()) if w["discriminative"] > 0 else None
    cal_seeds = [seed + k for k in range(n_homes)]

    def loss_of(synth: pd.DataFrame) -> dict[str, float]:
        comp = {"wasserstein": 0.0, "profile": 0.0, "acf": 0.0, "discriminative": 0.0}
        sw_list = []
        for _, g in synth.groupby("run_id", sort=True):
            sw_list.append(make_windows(g.drop(columns="run_id"), cols, window,
                                        max_nan_frac=max_nan_frac, tz=tz, period=p)[0])
        sw = np.concatenate(sw_list)
        for k, c in enumerate(cols):
            comp["wasserstein"] += wasserstein_normalised(real_cal[c], synth[c])
            comp["profile"] += profile_error(real_cal[c], synth[c], by="hour", tz=tz)
            try:
                comp["acf"] += acf_distance(rw[..., k], sw[..., k], lag)
            except ValueError:
                comp["acf"] += 2.0
        if rf is not None and len(sw) >= 5 and len(rw) >= 5:
            comp["discriminative"] = discriminative_score(rf, window_features(sw, p.total_seconds()),
                                                          seed=seed, n_estimators=50)
        comp["loss"] = sum(w[k] * comp[k] for k in DEFAULT_WEIGHTS)
        return comp

    history: list[dict[str, Any]] = []
    best: dict[str, Any] = {"loss": math.inf}

    def evaluate_values(values: dict[str, float]) -> float:
        if len(history) >= max_runs:
            raise _BudgetSpent
        try:
            cfg = _with_params(base, values, bounds)
        except ValueError as exc:  # a combination the home's validators refuse
            history.append({**values, "loss": math.inf, "error": str(exc).splitlines()[0]})
            return 1e6
        synth = simulate_homes(cfg, cal_start, n_cal_days, period_text, cal_seeds,
                               list(dict.fromkeys(channels.values())))
        synth = synth.rename(columns={v: k for k, v in channels.items()})
        comp = loss_of(synth)
        history.append({**values, **comp})
        if comp["loss"] < best["loss"]:
            best.update(loss=comp["loss"], values=dict(values), config=cfg)
        return comp["loss"]

    def objective(u: np.ndarray) -> float:
        u = np.atleast_1d(u)
        return evaluate_values({n: bounds[n].from_unit(float(ui)) for n, ui in zip(names, u)})

    start_vals = {n: float(_get(base.model_dump(), n)) for n in names}
    u0 = np.array([bounds[n].to_unit(start_vals[n]) for n in names])
    loss_start = evaluate_values(start_vals)
    chosen = method
    if method == "auto":
        chosen = "bounded" if len(names) == 1 else "nelder-mead"
    try:
        if chosen == "bounded":
            if len(names) != 1:
                raise CompareError("method 'bounded' calibrates exactly one parameter")
            optimize.minimize_scalar(lambda u: objective(np.array([u])), bounds=(0.0, 1.0),
                                     method="bounded", options={"maxiter": max_runs, "xatol": 1e-3})
        elif chosen == "nelder-mead":
            d = len(names)
            simplex = np.vstack([u0] + [
                np.clip(u0 + np.eye(d)[i] * (0.25 if u0[i] < 0.75 else -0.25), 0, 1) for i in range(d)
            ])
            optimize.minimize(objective, u0, method="Nelder-Mead", bounds=[(0.0, 1.0)] * d,
                              options={"initial_simplex": simplex, "maxfev": max_runs,
                                       "xatol": 1e-3, "fatol": 1e-4})
        elif chosen == "powell":
            optimize.minimize(objective, u0, method="Powell", bounds=[(0.0, 1.0)] * len(names),
                              options={"maxfev": max_runs, "xtol": 1e-3})
        elif chosen == "differential_evolution":
            d = len(names)
            popsize = max(2, min(8, (max_runs - 1) // (2 * d)))
            optimize.differential_evolution(
                objective, [(0.0, 1.0)] * d, popsize=popsize, maxiter=max_runs, seed=seed,
                polish=False, init="sobol" if d > 1 else "latinhypercube", x0=u0, tol=0.0,
            )
        else:
            raise CompareError(
                f"unknown method {method!r}; use auto, bounded, nelder-mead, powell or differential_evolution"
            )
    except _BudgetSpent:
        pass

    hist = pd.DataFrame(history)
    best_vals = best.get("values", start_vals)
    best_cfg = best.get("config", base)
    details: dict[str, Any] = {
        "method": chosen, "weights": w, "n_homes": n_homes, "calibration_seeds": cal_seeds,
        "period": period_text, "tz": tz, "window": window, "channels": channels,
        "calibration_start": cal_start.isoformat(), "calibration_days": n_cal_days,
        "n_calibration_windows": int(len(rw)), "source": source,
        "bounds": {n: [b.low, b.high] for n, b in bounds.items()},
    }
    report_before = report_after = None
    if evaluate and len(hold_days):
        h_start, h_end = hold_days[0], hold_days[-1] + day
        h_days = float(round((h_end - h_start) / day, 6))
        real_hold = real_df[(real_df.index >= h_start) & (real_df.index < h_end)]
        eval_seeds = [seed + 1000 + k for k in range(n_eval_homes)]
        details.update(holdout_start=h_start.isoformat(), holdout_days=h_days, evaluation_seeds=eval_seeds)
        reports = []
        for cfg in (base, best_cfg):
            synth = simulate_homes(cfg, h_start, h_days, period_text, eval_seeds,
                                   list(dict.fromkeys(channels.values())))
            reports.append(compare(real_hold, synth, channels=channels, window=window, tz=tz,
                                   period=str(p), seed=seed, max_nan_frac=max_nan_frac))
        report_before, report_after = reports
    details["seconds"] = time.perf_counter() - t_begin
    return CalibrationResult(
        params=best_vals, start_params=start_vals, loss_start=loss_start, loss_best=best["loss"],
        history=hist, n_runs=len(history), config=best_cfg, base_config=base,
        report_before=report_before, report_after=report_after, details=details,
    )
