"""The calibratable parameters: dotted paths, their search ranges, and how values are set.

One small interface, :class:`ParameterSource` (``bounds(twin) -> {path: Bound}``), stands
between the calibration and the list of parameters it may search. Today the list is the
tables below (:class:`TableParameters`); a twin's declared parameter space can replace it
without any other change to :mod:`~twinforge.fidelity.calibration`.

A path is a dotted field of the twin's config (``appliances.usage_scale``,
``homes.cooling_share``, ``commercial.classes.industry.open_h``) or ``diversity.<field>`` of
the scenario's fleet laws; in a table, ``*`` stands for any one segment (a class name).
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from twinforge.fidelity.prepared import CompareError

__all__ = ["Bound", "ParameterSource", "TableParameters", "DEFAULT_SOURCE", "HOME_PARAMETERS",
           "GRID_PARAMETERS", "MACHINE_PARAMETERS", "DIVERSITY_PARAMETERS", "PARAMETERS", "resolve_params",
           "with_params", "get_path", "DIVERSITY_KEY", "DIVERSITY_PREFIX"]


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
    # the optional non-residential load (only with [grid.commercial] in the base); * = a class name
    "commercial.classes.*.w_per_home": Bound(0.0, 4000.0),
    "commercial.classes.*.rest_day_scale": Bound(0.2, 2.0),
    "commercial.classes.*.open_h": Bound(3.0, 12.0),
    "commercial.classes.*.close_h": Bound(12.0, 23.0),
    "commercial.classes.*.ramp_h": Bound(0.5, 5.0),
    "commercial.classes.*.close_ramp_h": Bound(0.5, 8.0),
    "commercial.classes.*.off_share": Bound(0.0, 1.0),
    "commercial.classes.*.partial_day_share": Bound(0.0, 1.0),
    "commercial.classes.*.rest_day_share": Bound(0.0, 1.0),
    "commercial.classes.*.cooling_w_per_k_per_home": Bound(0.0, 400.0),
    "commercial.classes.*.cooling_balance_c": Bound(8.0, 24.0),
    "commercial.classes.*.cooling_idle_share": Bound(0.0, 1.0),
    "commercial.classes.*.heating_w_per_k_per_home": Bound(0.0, 200.0),
    "commercial.thermal_lag_h": Bound(0.0, 48.0),
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


class ParameterSource(Protocol):
    """Where the calibration finds the default search range of a parameter."""

    def bounds(self, twin: str) -> Mapping[str, Bound]:
        """``{dotted path (``*`` = any one segment): Bound}`` for the twin."""
        ...


@dataclass(frozen=True)
class TableParameters:
    """A :class:`ParameterSource` from fixed tables by twin name."""

    tables: Mapping[str, Mapping[str, Bound]]

    def bounds(self, twin: str) -> Mapping[str, Bound]:
        return self.tables.get(twin, {})


#: The default source: :data:`PARAMETERS`.
DEFAULT_SOURCE: ParameterSource = TableParameters(PARAMETERS)


def lookup(defaults: Mapping[str, Bound], name: str) -> Bound | None:
    """The range of ``name``: an exact entry, else the first ``*`` pattern it matches."""
    if name in defaults:
        return defaults[name]
    parts = name.split(".")
    for pattern, b in defaults.items():
        if "*" in pattern and len(pattern.split(".")) == len(parts) and fnmatch.fnmatchcase(name, pattern):
            return b
    return None


def get_path(cfg: dict[str, Any], path: str, twin: str = "") -> Any:
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


def with_params(base: Any, values: Mapping[str, float], bounds: Mapping[str, Bound],
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



def resolve_params(
    params: Sequence[str] | Mapping[str, tuple[float, float] | Bound | None], base_dump: dict[str, Any],
    twin: str = "home", source: "ParameterSource | None" = None,
) -> dict[str, Bound]:
    """The search range of each parameter: given, or the ``source``'s default (CompareError)."""
    source = DEFAULT_SOURCE if source is None else source
    defaults = source.bounds(twin)
    out: dict[str, Bound] = {}
    items = params.items() if isinstance(params, Mapping) else ((p, None) for p in params)
    for name, b in items:
        cur = get_path(base_dump, name, twin)
        if isinstance(cur, bool) or not isinstance(cur, (int, float)):
            raise CompareError(f"{twin} parameter {name!r} is not numeric (got {cur!r})")
        if b is None:
            b = lookup(defaults, name)
            if b is None:
                raise CompareError(
                    f"no default range for {name!r}; give bounds (name=low:high) or use one of "
                    f"{', '.join(defaults) or '(none for this twin)'}"
                )
        elif not isinstance(b, Bound):
            lo, hi = b
            if not float(lo) < float(hi):
                raise CompareError(f"{name}: a search range needs low < high, got {lo}:{hi}")
            b = Bound(float(lo), float(hi), integer=isinstance(cur, int))
        out[name] = b
    if not out:
        raise CompareError("no parameter to calibrate")
    return out
