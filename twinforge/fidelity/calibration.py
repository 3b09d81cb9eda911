"""Calibrate twin parameters to a real trace by minimising a fidelity loss.

Works for every registered twin (``home``, ``grid``, ``machine``): a candidate parameter
vector sets dotted fields of the twin's ``Config`` (``appliances.usage_scale``,
``homes.cooling_share``, ``vibration.background_rms_g``), ``n_units`` runs are simulated
in memory (:func:`twinforge.core.engine.simulate`, nothing written) with fixed seeds
(common random numbers, so the loss is a deterministic function of the parameters), and
their windows are compared with the real **calibration windows**:

``loss = w_W * W1/IQR + w_P * profile_error + w_A * acf_distance [+ w_D * discriminative]``

summed over the mapped channels (:mod:`.metrics`). :mod:`scipy.optimize` searches the
parameters inside their bounds (scaled to the unit cube) until ``max_runs`` candidate
simulations are spent. The split between calibration and held-out data is

- **in time** for one real trace: its whole windows (local days by default); the first
  ``1 - holdout`` calibrate, the last ones are held out; candidates are simulated over
  exactly the calibration dates;
- **by unit** for a real frame with a ``run_id`` column (several bearings run to
  failure, several houses): the last ``holdout`` share of the units is held out;
  candidates are simulated from the first calibration unit's start for the longest
  calibration unit's span.

The search's best point is the best on its own seeds, and with a few units and the
discriminative score in the loss it is often best by luck (the winner's curse: a
candidate that suits those few runs). With ``rescore=k`` the search's ``k`` best other
candidates and the start are simulated again with ``n_rescore_units`` fresh seeds
(``seed + 2000 + j``) on the calibration windows, and the lowest fresh loss is chosen; if
that is the start, the calibration changes nothing (it says so).

Then the start and the chosen parameters are both simulated for the **held-out** data with
other seeds and compared with it by :func:`~twinforge.fidelity.compare` (before/after
reports). :meth:`CalibrationResult.write_preset` writes the result as a scenario file for
``twinforge generate --config``.

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
    _normalise_by_mean,
    _period_text,
    _stack_runs,
    check_window,
    compare,
    positive_duration,
    real_runs,
)
from twinforge.fidelity.loader import infer_period
from twinforge.fidelity.metrics import (
    acf_distance,
    discriminative_score,
    profile_error,
    wasserstein_normalised,
)
from twinforge.fidelity.windows import make_windows, window_features

__all__ = ["Bound", "HOME_PARAMETERS", "GRID_PARAMETERS", "MACHINE_PARAMETERS", "PARAMETERS",
           "DIVERSITY_PARAMETERS",
           "CalibrationResult", "calibrate", "simulate_runs", "simulate_homes", "DEFAULT_WEIGHTS",
           "preset_toml"]


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
    "appliances.standby_day_sigma": Bound(0.0, 0.5),
    "appliances.lighting_w_per_active": Bound(0.0, 600.0),
    "appliances.lighting_bulbs": Bound(1, 20, integer=True),  # light points (CREST lighting)
    "appliances.lighting_bulb_sigma": Bound(0.0, 1.5),
    "appliances.day_sigma": Bound(0.0, 1.0),
    "appliances.weekend_scale": Bound(0.5, 2.5),
    "occupancy.n_occupants": Bound(1, 6, integer=True),
    "occupancy.persistence": Bound(0.5, 0.99),
    "occupancy.schedule_shift_sd_h": Bound(0.0, 3.0),
    "occupancy.wake_h": Bound(5.0, 10.0),  # the household's weekday routine, local hours
    "occupancy.leave_h": Bound(6.0, 15.0),
    "occupancy.return_h": Bound(12.0, 21.0),
    "occupancy.bed_h": Bound(21.0, 25.0),
    "occupancy.away_share": Bound(0.0, 0.95),
    "occupancy.trip_share": Bound(0.0, 0.5),  # whole-household trips: share of days, mean length
    "occupancy.trip_mean_days": Bound(1.0, 21.0),
    "hvac.heating_capacity_w": Bound(0.0, 15_000.0),
    "hvac.heat_setpoint_c": Bound(17.0, 23.0),
    "envelope.ua_w_per_k": Bound(50.0, 600.0),
    "dhw.element_w": Bound(1000.0, 4000.0),  # only with a water heater in the base home
    "dhw.draw_l_per_occupant_day": Bound(10.0, 200.0),
    "dhw.tank_l": Bound(100.0, 300.0),
    "dhw.shower_delay_h": Bound(-1.0, 2.0),  # the morning shower after the wake-up time
    "dhw.shower_sd_h": Bound(0.2, 2.0),
}

#: Grid parameters (dotted paths in ``GridConfig``) and their default search ranges.
GRID_PARAMETERS: dict[str, Bound] = {
    "homes.heat_pump_share": Bound(0.0, 1.0),
    "homes.resistive_share": Bound(0.0, 1.0),
    "homes.cooling_share": Bound(0.0, 1.0),
    "homes.pv_share": Bound(0.0, 1.0),
    "homes.ev_share": Bound(0.0, 1.0),
    "weather.temp_mean_c": Bound(-5.0, 25.0),
    "weather.temp_season_amplitude_k": Bound(0.0, 20.0),
    "weather.anomaly_sigma_k": Bound(0.0, 10.0),  # the site's day-to-day temperature swings
    "weather.anomaly_sigma_season_frac": Bound(0.0, 0.9),
    "home.appliances.usage_scale": Bound(0.2, 4.0),
    "home.appliances.standby_w": Bound(0.0, 400.0),
    "home.appliances.weekend_scale": Bound(0.5, 2.5),
    "homes.setback_share": Bound(0.0, 1.0),
    "home.occupancy.schedule_shift_sd_h": Bound(0.0, 3.0),  # how spread the homes' routines are
    "home.occupancy.trip_share": Bound(0.0, 0.5),  # the homes' trips (each home its own)
    "home.occupancy.trip_mean_days": Bound(1.0, 21.0),
    # the optional commercial and industrial load (only with [grid.commercial] in the base)
    "commercial.base_w_per_home": Bound(0.0, 4000.0),
    "commercial.business_w_per_home": Bound(0.0, 4000.0),
    "commercial.open_h": Bound(5.0, 10.0),
    "commercial.close_h": Bound(15.0, 21.0),
    "commercial.ramp_h": Bound(0.5, 5.0),
    "commercial.close_ramp_h": Bound(0.5, 8.0),  # set it in the base: its default is ramp_h's
    "commercial.weekend_factor": Bound(0.0, 1.0),
    "commercial.cooling_w_per_k_per_home": Bound(0.0, 400.0),
    "commercial.cooling_balance_c": Bound(8.0, 24.0),
    "commercial.heating_w_per_k_per_home": Bound(0.0, 200.0),
    "commercial.day_sd": Bound(0.0, 0.15),
}

#: Machine parameters (dotted paths in ``MachineConfig``) and their default search ranges.
MACHINE_PARAMETERS: dict[str, Bound] = {
    "degradation.onset_weibull_scale_s": Bound(1_000.0, 100_000.0),
    "degradation.growth_shape_rate_per_s": Bound(1e-4, 2e-2),
    "degradation.growth_scale": Bound(0.005, 0.5),
    "vibration.background_rms_g": Bound(0.05, 2.0),
    "vibration.sensor_noise_g": Bound(0.0, 0.5),
    "vibration.impact_outer_race_g": Bound(0.5, 50.0),
    "vibration.impact_amplitude_cv": Bound(0.0, 2.0),
    "vibration.distributed_damage_gain": Bound(0.0, 10.0),
    "vibration.impact_severity_exponent": Bound(0.3, 1.5),
    "vibration.background_impact_rate_hz": Bound(0.0, 200.0),
    "vibration.background_impact_g": Bound(0.0, 3.0),
    "vibration.background_impact_cv": Bound(0.0, 3.0),
    "vibration.background_modulation_depth": Bound(0.0, 1.0),
    "vibration.background_drift_sigma": Bound(0.0, 0.6),
    "vibration.background_drift_time_s": Bound(300.0, 14_400.0),
}

#: Fleet-level parameters: fields of the twin's ``Diversity`` (the laws each run draws its
#: own home or machine from), calibrated when the base scenario has a ``[diversity]``
#: section. They fit how much real units differ from each other (several bearings, houses).
DIVERSITY_PARAMETERS: dict[str, dict[str, Bound]] = {
    "home": {
        "diversity.floor_area_sigma": Bound(0.0, 1.5),
        "diversity.ua_sigma": Bound(0.0, 1.5),
        "diversity.heat_setpoint_sd_k": Bound(0.0, 5.0),
        "diversity.setback_share": Bound(0.0, 1.0),
        "diversity.cooling_share": Bound(0.0, 1.0),
        "diversity.pv_share": Bound(0.0, 1.0),
        "diversity.ev_share": Bound(0.0, 1.0),
    },
    "grid": {},
    "machine": {
        "diversity.background_sigma": Bound(0.0, 1.0),
        "diversity.background_modulation_sigma": Bound(0.0, 1.0),
        "diversity.life_scale_sigma": Bound(0.0, 1.5),
        "diversity.radial_load_sigma": Bound(0.0, 0.5),
        "diversity.shaft_speed_sigma": Bound(0.0, 0.3),
        "diversity.resonance_sigma": Bound(0.0, 0.5),
        "diversity.ambient_sd_k": Bound(0.0, 10.0),
        "diversity.background_impact_rate_sigma": Bound(0.0, 2.0),
        "diversity.background_impact_g_sigma": Bound(0.0, 1.5),
    },
}

#: Default search ranges by twin name (the twin's config fields and its diversity fields).
PARAMETERS: dict[str, dict[str, Bound]] = {
    "home": {**HOME_PARAMETERS, **DIVERSITY_PARAMETERS["home"]},
    "grid": {**GRID_PARAMETERS, **DIVERSITY_PARAMETERS["grid"]},
    "machine": {**MACHINE_PARAMETERS, **DIVERSITY_PARAMETERS["machine"]},
}

#: Default real-to-synthetic channel map by twin (``channels=None``).
DEFAULT_CHANNELS: dict[str, dict[str, str]] = {
    "home": {"mains_power_w": "mains_power_w"},
    "grid": {"load_power_w": "feeder_power_w"},
}

#: Default loss weights.
DEFAULT_WEIGHTS: dict[str, float] = {"wasserstein": 1.0, "profile": 1.0, "acf": 1.0, "discriminative": 0.0}


class _BudgetSpent(Exception):
    pass


def _get(cfg: dict[str, Any], path: str, twin: str = "") -> Any:
    node: Any = cfg
    for p in path.split("."):
        if not isinstance(node, dict) or p not in node:
            raise CompareError(f"unknown {twin + ' ' if twin else ''}parameter {path!r}")
        node = node[p]
    return node


def _set(cfg: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node = cfg
    for p in parts[:-1]:
        node = node[p]
    node[parts[-1]] = value


#: Where the fleet laws sit among the calibrated paths: ``diversity.<field>``.
DIVERSITY_KEY = "diversity"
DIVERSITY_PREFIX = DIVERSITY_KEY + "."


def _combined(base: Any, diversity: Any) -> dict[str, Any]:
    """The config's fields as a dict, with the fleet laws under ``diversity`` when given."""
    data = base.model_dump()
    if diversity is not None:
        data[DIVERSITY_KEY] = diversity.model_dump()
    return data


def _with_params(base: Any, values: Mapping[str, float], bounds: Mapping[str, Bound],
                 diversity: Any = None) -> tuple[Any, Any]:
    """Copies of the twin config ``base`` and of its ``diversity`` with ``values`` set.

    ``diversity.<field>`` paths set the fleet laws (``diversity`` must then be given), every
    other path the config; integers are rounded. Returns ``(config, diversity)``.
    """
    data = _combined(base, diversity)
    for name, v in values.items():
        _set(data, name, int(round(v)) if bounds[name].integer else float(v))
    div_data = data.pop(DIVERSITY_KEY) if diversity is not None else None
    for hv in (data.get("hvac"), (data.get("home") or {}).get("hvac")):
        if isinstance(hv, dict) and hv.get("heat_setback_c", 0) > hv.get("heat_setpoint_c", math.inf):
            hv["heat_setback_c"] = hv["heat_setpoint_c"]
    new_div = diversity if div_data is None else type(diversity).model_validate(div_data)
    return type(base).model_validate(data), new_div


def simulate_runs(
    twin: str, config: Any, start: pd.Timestamp, days: float, period: str, seeds: Sequence[int],
    channels: Sequence[str], diversity: Any = None,
) -> pd.DataFrame:
    """Simulate one run per seed in memory; DataFrame indexed by UTC time with ``run_id``.

    Run ``k`` (0, 1, ...) is the single run of a scenario of ``twin`` with ``config``,
    ``diversity`` (the twin's ``Diversity`` laws, or None: every run is ``config``) and
    root seed ``seeds[k]``: exactly what ``twinforge generate`` writes for a preset with
    that seed. With a diversity each seed draws its own unit (home, machine) from the laws.
    A twin that ends its own runs (a machine ``until_failure``) ends them here too.

    Raises
    ------
    CompareError
        A channel the twin does not write.
    """
    from twinforge.campaign.runner import build_twin, plan_runs
    from twinforge.campaign.spec import GenerateSpec
    from twinforge.core.engine import simulate

    spec = GenerateSpec(twin=twin, runs=1, days=days, period=period, start=start, config=config,
                        diversity=diversity)
    grid = spec.grid()
    frames = []
    for k, seed in enumerate(seeds):
        (plan,) = plan_runs(spec, int(seed))
        tw = build_twin(spec, plan)
        run_grid = tw.run_grid(grid) if hasattr(tw, "run_grid") else grid
        blocks = list(simulate(tw, run_grid, chunk_samples=spec.chunk_samples))
        missing = [c for c in channels if c not in blocks[0]]
        if missing:
            known = sorted(c for c in blocks[0] if c != "time")
            raise CompareError(f"unknown {twin} channel {missing[0]!r}; channels are {known}")
        data = {c: np.concatenate([b[c] for b in blocks]).astype("float64") for c in channels}
        t = pd.DatetimeIndex(np.concatenate([b["time"] for b in blocks]))
        t = t.tz_localize("UTC") if t.tz is None else t.tz_convert("UTC")
        frames.append(pd.DataFrame({"run_id": k, **data}, index=t.rename("time")))
    return pd.concat(frames)


def simulate_homes(
    config: Any, start: pd.Timestamp, days: float, period: str, seeds: Sequence[int],
    channels: Sequence[str],
) -> pd.DataFrame:
    """:func:`simulate_runs` for the home twin."""
    return simulate_runs("home", config, start, days, period, seeds, channels)


@dataclass
class CalibrationResult:
    """What :func:`calibrate` found.

    Attributes
    ----------
    params, start_params : dict of str to float
        Best and starting values of the calibrated parameters.
    loss_start, loss_best : float
        Loss on the calibration windows (the search's seeds) at the start and at the
        chosen point.
    history : DataFrame
        One row per simulated candidate: parameter values, loss and its components; with
        ``rescore``, the re-scored candidates' fresh loss in ``rescore_loss`` (NaN for the
        others).
    n_runs : int
        Candidate simulations spent (each simulates ``n_units`` runs).
    config : pydantic model
        The calibrated twin config (``HomeConfig``, ``GridConfig``, ``MachineConfig``).
    base_config : pydantic model
        The starting config.
    report_before, report_after : FidelityReport or None
        Held-out comparison of the start and the calibrated twin (None if ``holdout=0``).
    details : dict
        Periods, counts, weights, method, seeds, timing.
    diversity, base_diversity : pydantic model or None
        The calibrated and the starting fleet laws (the twin's ``Diversity``) when the base
        scenario had a ``[diversity]`` section; None: every run is ``config``.
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

    def write_preset(self, path: str | Path, *, days: float = 7.0, runs: int = 1,
                     source: str = "") -> Path:
        """Write the calibrated twin as a scenario TOML (``twinforge generate --config``).

        The file holds ``twin``, the period, the diversity (``diversity = false``: every
        run is this config, runs differ only by their random streams; or, when the fleet
        laws were part of the base, a ``[diversity]`` section with the values that differ
        from the twin's defaults) and a ``[home]``/``[grid]``/``[machine]`` section with
        every value that differs from the defaults. It is validated with
        :func:`~twinforge.campaign.spec.load_spec` before it replaces ``path``.
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
            "diversity": False if self.diversity is None else _diff(
                self.diversity.model_dump(mode="json"), type(self.diversity)().model_dump(mode="json")),
            twin: _diff(self.config.model_dump(mode="json"), type(self.config)().model_dump(mode="json")),
        }
        text = preset_toml(data, header)
        return _write_validated(Path(path), text)


def _diff(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """The entries of ``a`` that differ from ``b`` (nested); ``None`` values are left out.

    An optional section that ``b`` lacks (``dhw = None`` by default) is kept whole, empty
    or not, so that writing it switches the component on.
    """
    out: dict[str, Any] = {}
    for k, v in a.items():
        if isinstance(v, dict):
            present = isinstance(b.get(k), dict)
            sub = _diff(v, b[k] if present else {})
            if sub or not present:
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
        if prefix and (scalars or not tables):  # an empty table still switches a section on
            lines.append(f"[{prefix}]")
        for k, v in scalars.items():
            lines.append(f"{k} = {_toml_value(v)}")
        if scalars or (prefix and not tables):
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
    params: Sequence[str] | Mapping[str, tuple[float, float] | Bound | None], base_dump: dict[str, Any],
    twin: str = "home",
) -> dict[str, Bound]:
    defaults = PARAMETERS.get(twin, {})
    out: dict[str, Bound] = {}
    items = params.items() if isinstance(params, Mapping) else ((p, None) for p in params)
    for name, b in items:
        cur = _get(base_dump, name, twin)
        if isinstance(cur, bool) or not isinstance(cur, (int, float)):
            raise CompareError(f"{twin} parameter {name!r} is not numeric (got {cur!r})")
        if b is None:
            if name not in defaults:
                raise CompareError(
                    f"no default range for {name!r}; give bounds (name=low:high) or use one of "
                    f"{', '.join(defaults) or '(none for this twin)'}"
                )
            b = defaults[name]
        elif not isinstance(b, Bound):
            lo, hi = b
            if not float(lo) < float(hi):
                raise CompareError(f"{name}: a search range needs low < high, got {lo}:{hi}")
            b = Bound(float(lo), float(hi), integer=isinstance(cur, int))
        out[name] = b
    if not out:
        raise CompareError("no parameter to calibrate")
    return out


def _time_split(real: pd.DataFrame, cols: list[str], tz: str, holdout: float, period: pd.Timedelta,
                window: str) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    """Starts of the calibration and of the held-out windows (in time order)."""
    try:
        _, starts = make_windows(real, cols, window, max_nan_frac=1.0, tz=tz, period=period)
    except ValueError as exc:
        raise CompareError(f"window {window!r}: {exc}") from None
    if len(starts) < 2:
        raise CompareError(f"the real trace needs at least two whole {window} windows")
    n_hold = int(round(len(starts) * holdout))
    if holdout > 0 and n_hold == 0:
        n_hold = 1
    n_cal = len(starts) - n_hold
    if n_cal < 1:
        raise CompareError(f"holdout={holdout} leaves no calibration window")
    return starts[:n_cal], starts[n_cal:]


def _unit_split(runs: Mapping[int, pd.DataFrame], holdout: float) -> tuple[list[int], list[int]]:
    ids = sorted(runs)
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
    period: str | None = None,
    window: str = "1D",
    normalise: Literal["none", "mean"] = "none",
    weights: Mapping[str, float] | None = None,
    method: Literal["auto", "nelder-mead", "powell", "differential_evolution", "bounded"] = "auto",
    seed: int = 0,
    max_nan_frac: float = 0.05,
    evaluate: bool = True,
    source: str = "",
    n_homes: int | None = None,
    n_eval_homes: int | None = None,
    rescore: int = 0,
    n_rescore_units: int | None = None,
) -> CalibrationResult:
    """Fit twin parameters to a real trace within a budget of simulations.

    Parameters
    ----------
    real : DataFrame
        UTC-indexed real trace (e.g. :func:`~twinforge.fidelity.load_uci_household`); a
        ``run_id`` column marks several units, which are then split by unit (see the
        module docstring).
    twin : str, optional
        Twin to calibrate (``"home"``, ``"grid"``, ``"machine"``); default: the twin of a
        ``GenerateSpec`` base, of a config base, or ``"home"``.
    params : sequence of str or mapping
        Dotted paths in the twin's config (or ``diversity.<field>`` of the base scenario's
        diversity), with default ranges from :data:`PARAMETERS`, or ``{name: (low, high)}``.
    channels : mapping, optional
        ``{real column: twin channel}``; defaults in :data:`DEFAULT_CHANNELS` (home
        ``mains_power_w``, grid ``load_power_w -> feeder_power_w``), required for others.
    base : config, GenerateSpec or None
        Starting config (its values are the optimiser's start); default the twin's
        ``Config()``. A ``GenerateSpec`` also brings its diversity: each calibration and
        evaluation run then draws its own unit from those laws, and their ``diversity.*``
        fields (:data:`DIVERSITY_PARAMETERS`, e.g. ``diversity.background_sigma``, the
        bearing-to-bearing spread of the healthy vibration level) can be calibrated.
    max_runs : int
        Budget: candidate simulations (each of ``n_units`` runs), the start point included;
        a point asked for twice is simulated once (``history`` has one row per simulation).
    n_units : int
        Runs (seeds) per candidate; their pooled windows are compared (``n_homes`` is an
        alias).
    n_eval_units : int
        Runs simulated for the held-out before/after reports (``n_eval_homes`` is an alias).
    holdout : float
        Share of the real windows (the last ones in time) or of the real units held out
        from calibration; 0 = none.
    tz, window, max_nan_frac, normalise
        As in :func:`~twinforge.fidelity.compare`; ``normalise="mean"`` divides every real
        unit and synthetic run by its own mean (shapes, not levels).
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
    rescore : int
        Re-score the search's ``rescore`` best candidates other than the start, and the
        start, with fresh seeds and choose the lowest fresh loss (module docstring); 0: choose
        the search's best. These simulations are not counted in ``max_runs``.
    n_rescore_units : int, optional
        Runs per re-scored candidate; default ``max(n_units, 6)``.

    Returns
    -------
    CalibrationResult

    Raises
    ------
    CompareError
        Unknown twin, parameter, channel or weight; a parameter without range; a budget,
        holdout or split that leaves nothing to calibrate.
    """
    from scipy import optimize

    from twinforge.campaign.spec import GenerateSpec
    from twinforge.core.registry import TWINS

    import twinforge.twins  # noqa: F401  (registers the twins)

    t_begin = time.perf_counter()
    if n_homes is not None:
        n_units = n_homes
    if n_eval_homes is not None:
        n_eval_units = n_eval_homes
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
    channels = dict(channels)
    cols = list(channels)
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
    if normalise not in ("none", "mean"):
        raise CompareError(f"normalise must be 'none' or 'mean', got {normalise!r}")
    w = dict(DEFAULT_WEIGHTS)
    if weights:
        unknown = set(weights) - set(DEFAULT_WEIGHTS)
        if unknown:
            raise CompareError(f"unknown loss weight(s) {sorted(unknown)}; known: {list(DEFAULT_WEIGHTS)}")
        w.update({k: float(v) for k, v in weights.items()})

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
    bounds = _resolve_params(params, dump, twin)
    by_unit = isinstance(real, pd.DataFrame) and "run_id" in real.columns
    runs_real = real_runs(real, cols)
    native = min(infer_period(g.index) for g in runs_real.values())
    p = positive_duration("period", period) if period is not None else native
    if p < native:
        raise CompareError(f"period {period!r} is finer than the real trace's {_period_text(native)}")
    if p != native:
        runs_real = {k: g.resample(p, label="left", closed="left").mean() for k, g in runs_real.items()}
    period_text = _period_text(p)
    check_window(window, p)
    names = list(bounds)
    sim_channels = list(dict.fromkeys(channels.values()))

    # the split: calibration data and how to simulate it; held-out data likewise
    if by_unit:
        cal_ids, hold_ids = _unit_split(runs_real, holdout)
        cal_runs = {i: runs_real[i] for i in cal_ids}
        hold_runs = {i: runs_real[i] for i in hold_ids}
        cal_start, cal_days_n = _span(runs_real, cal_ids, p)
        # units named by the loader (PRONOSTIA: run_id -> bearing) are named in the texts
        unit_names = real.attrs.get("bearings") or {}
        cal_text = f"{len(cal_ids)} unit(s) (run_id {cal_ids[0]}..{cal_ids[-1]}{_named(cal_ids, unit_names)})"
        hold_text = (f"{len(hold_ids)} unit(s) (run_id {', '.join(map(str, hold_ids))}{_named(hold_ids, unit_names)})"
                     if hold_ids else "none")
    else:
        (only,) = runs_real.values()
        cal_w, hold_w = _time_split(only, cols, tz, holdout, p, window)
        win_td = pd.Timedelta(window)
        cal_start, cal_end = cal_w[0], cal_w[-1] + win_td
        cal_runs = {0: only[(only.index >= cal_start) & (only.index < cal_end)]}
        cal_days_n = float(round((cal_end - cal_start) / pd.Timedelta("1D"), 6))
        cal_text = f"{cal_days_n:.4g} days from {cal_start.isoformat()} ({len(cal_w)} {window} windows, {tz})"
        hold_runs, hold_text = {}, "none"
        if len(hold_w):
            h_start, h_end = hold_w[0], hold_w[-1] + win_td
            hold_runs = {0: only[(only.index >= h_start) & (only.index < h_end)]}
            hold_days_n = float(round((h_end - h_start) / pd.Timedelta("1D"), 6))
            hold_text = f"{hold_days_n:.4g} days from {h_start.isoformat()} ({len(hold_w)} {window} windows)"
    if normalise == "mean":
        cal_norm = {k: _normalise_by_mean(g, cols) for k, g in cal_runs.items()}
    else:
        cal_norm = cal_runs
    real_cal = _stack_runs(cal_norm, cols)
    rw_list = [make_windows(g, cols, window, max_nan_frac=max_nan_frac, tz=tz, period=p)[0]
               for g in cal_norm.values()]
    rw = np.concatenate(rw_list)
    if len(rw) == 0:
        raise CompareError("no complete calibration window in the real trace")
    n_steps = rw.shape[1]
    lag = max(1, n_steps // 4)
    rf = window_features(rw, p.total_seconds()) if w["discriminative"] > 0 else None
    cal_seeds = [seed + k for k in range(n_units)]

    def loss_of(synth: pd.DataFrame) -> dict[str, float]:
        comp = {"wasserstein": 0.0, "profile": 0.0, "acf": 0.0, "discriminative": 0.0}
        sw_list, parts = [], []
        for _, g in synth.groupby("run_id", sort=True):
            g = g.drop(columns="run_id")
            if normalise == "mean":
                g = _normalise_by_mean(g, cols)
            parts.append(g)
            sw_list.append(make_windows(g, cols, window, max_nan_frac=max_nan_frac, tz=tz, period=p)[0])
        sw = np.concatenate(sw_list)
        pooled = pd.concat(parts)
        for k, c in enumerate(cols):
            comp["wasserstein"] += wasserstein_normalised(real_cal[c], pooled[c])
            if w["profile"] > 0 and tz is not None:  # no local time, no daily profile (as in compare)
                comp["profile"] += profile_error(real_cal[c], pooled[c], by="hour", tz=tz)
            try:
                comp["acf"] += acf_distance(rw[..., k], sw[..., k], lag)
            except ValueError:
                comp["acf"] += 2.0
        if rf is not None and len(sw) >= 5 and len(rw) >= 5:
            comp["discriminative"] = discriminative_score(rf, window_features(sw, p.total_seconds()),
                                                          seed=seed, n_estimators=50)
        elif rf is not None:
            comp["discriminative"] = 0.5
        comp["loss"] = sum(w[k] * comp[k] for k in DEFAULT_WEIGHTS)
        return comp

    def simulate_cal(cfg: Any, div: Any, seeds: Sequence[int]) -> pd.DataFrame:
        synth = simulate_runs(twin, cfg, cal_start, cal_days_n, period_text, list(seeds),
                              sim_channels, diversity=div)
        return pd.DataFrame({"run_id": synth["run_id"], **{c: synth[channels[c]] for c in cols}},
                            index=synth.index)

    history: list[dict[str, Any]] = []
    best: dict[str, Any] = {"loss": math.inf}

    seen: dict[tuple[float, ...], float] = {}

    def evaluate_values(values: dict[str, float]) -> float:
        # the optimiser may ask again for a point (Nelder-Mead starts at the start point, a
        # rounded integer maps many points to one): same seeds, same loss, no budget spent
        key = tuple(float(values[n]) for n in names)
        if key in seen:
            return seen[key]
        if len(history) >= max_runs:
            raise _BudgetSpent
        try:
            cfg, div = _with_params(base, values, bounds, base_div)
        except ValueError as exc:  # a combination the twin's validators refuse
            history.append({**values, "loss": math.inf, "error": str(exc).splitlines()[0]})
            seen[key] = 1e6
            return 1e6
        comp = loss_of(simulate_cal(cfg, div, cal_seeds))
        history.append({**values, **comp})
        if comp["loss"] < best["loss"]:
            best.update(loss=comp["loss"], values=dict(values), config=cfg, diversity=div)
        seen[key] = comp["loss"]
        return comp["loss"]

    def objective(u: np.ndarray) -> float:
        u = np.atleast_1d(u)
        return evaluate_values({n: bounds[n].from_unit(float(ui)) for n, ui in zip(names, u)})

    start_vals = {n: float(_get(dump, n)) for n in names}
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

    rescore_info: dict[str, Any] | None = None
    if rescore > 0 and "values" in best:
        # the k best other candidates (history rows are distinct points) and the start
        rows = sorted((i for i, h in enumerate(history) if i > 0 and math.isfinite(h["loss"])),
                      key=lambda i: (history[i]["loss"], i))
        start_ok = math.isfinite(history[0]["loss"])  # history[0] is the start (unless refused)
        picked = ([0] if start_ok else []) + rows[:rescore]
        fresh_seeds = [seed + 2000 + j for j in range(n_rescore_units)]
        fresh: dict[int, float] = {}
        built: dict[int, tuple[dict[str, float], Any, Any]] = {}
        for i in picked:
            vals = {n: history[i][n] for n in names}
            cfg, div = _with_params(base, vals, bounds, base_div)
            built[i] = (vals, cfg, div)
            fresh[i] = loss_of(simulate_cal(cfg, div, fresh_seeds))["loss"]
            history[i]["rescore_loss"] = fresh[i]
        chosen_i = min(picked, key=lambda i: (fresh[i], i))
        vals, cfg, div = built[chosen_i]
        rescore_info = {
            "n_candidates": len(picked), "n_units": n_rescore_units, "seeds": fresh_seeds,
            "loss_start": fresh[0] if start_ok else math.nan, "loss_chosen": fresh[chosen_i],
            "loss_search_best": best["loss"], "chose_start": start_ok and chosen_i == 0,
        }
        best.update(loss=history[chosen_i]["loss"], values=vals, config=cfg, diversity=div)

    hist = pd.DataFrame(history)
    best_vals = best.get("values", start_vals)
    best_cfg = best.get("config", base)
    best_div = best.get("diversity", base_div)
    details: dict[str, Any] = {
        "twin": twin, "method": chosen, "weights": w, "n_units": n_units, "calibration_seeds": cal_seeds,
        "period": period_text, "tz": tz, "window": window, "channels": channels, "normalise": normalise,
        "split": "unit" if by_unit else "time", "calibration": cal_text, "holdout": hold_text,
        "calibration_start": cal_start.isoformat(), "calibration_days": cal_days_n,
        "n_calibration_windows": int(len(rw)), "source": source,
        "bounds": {n: [b.low, b.high] for n, b in bounds.items()},
        "rescore": rescore_info,
    }
    report_before = report_after = None
    if evaluate and hold_runs:
        real_hold = _stack_runs(hold_runs, cols)
        if by_unit:
            h_start, h_days = _span(runs_real, list(hold_runs), p)
        else:
            h_start = real_hold.index[0]
            h_days = hold_days_n
        eval_seeds = [seed + 1000 + k for k in range(n_eval_units)]
        details.update(holdout_start=h_start.isoformat(), holdout_days=h_days, evaluation_seeds=eval_seeds)
        reports = []
        for cfg, div in ((base, base_div), (best_cfg, best_div)):
            synth = simulate_runs(twin, cfg, h_start, h_days, period_text, eval_seeds, sim_channels,
                                  diversity=div)
            reports.append(compare(real_hold, synth, channels=channels, window=window, tz=tz,
                                   period=str(p), seed=seed, max_nan_frac=max_nan_frac,
                                   normalise=normalise))
        report_before, report_after = reports
    details["seconds"] = time.perf_counter() - t_begin
    return CalibrationResult(
        params=best_vals, start_params=start_vals, loss_start=loss_start, loss_best=best["loss"],
        history=hist, n_runs=len(history), config=best_cfg, base_config=base,
        report_before=report_before, report_after=report_after, details=details,
        diversity=best_div, base_diversity=base_div,
    )
