"""The grid twin: a distribution feeder of many homes, its transformer, voltage and outages.

All homes live under one weather and one clock (a heat wave raises every home's cooling
load, the transformer's ambient and its hot spot together). The homes are the component
layer of the home twin (:class:`~twinforge.components.homes.Homes`) with ``n = n_homes``,
rendered on a sub-step grid (``substep_s``, 5 minutes by default): every home parameter
(``[grid.home]``, drawn per home by ``[grid.homes]``) means what it means in the home twin,
the water heater included. Each home draws from its own streams (``homes/<i>``). What a
feeder home cannot have is refused: its own weather or time zone (``[grid.weather]`` and
``grid.tz`` apply to all), light points, per-home meters (``home.sensors``) and its cycle log.

- **Transformer**: IEC 60076-7 thermal model (:mod:`~twinforge.processes.transformer`):
  top-oil and hot-spot temperatures from load and ambient, ageing factor, loss of life.
- **Voltage**: linearised DistFlow on a radial feeder with the homes spread uniformly over
  its nodes (:mod:`~twinforge.processes.feeder`); reverse PV flow raises the end voltage.
  The linearised model is validated against an exact backward/forward sweep in the tests
  (agreement to about 1e-4 pu on a 10-home case); it is 6x faster and never fails to
  converge, which matters inside long campaigns. Line and transformer losses are added
  from the branch flows (``I^2 R``).
- **Protection and outages**: feeder faults arrive as a Poisson process (SimPy) with a
  lognormal repair time; a fault at a random point of the feeder cuts the homes
  downstream of it. A definite-time overcurrent relay trips the whole feeder when the
  transformer carries more than ``trip_pu`` for ``trip_delay_s``; supply comes back after
  a restoration time. Unserved homes draw nothing; on restoration every heat pump whose
  home cooled below its band starts at once (cold-load pickup). Only the thermostatic
  plant and the batteries keep state across an outage; the appliances', water heaters' and
  cars' demand is dropped while unserved (their schedules go on). A storm multiplies the
  fault rate over its window (:attr:`GridTwin.fault_rate_multipliers`,
  :mod:`~twinforge.events.storm`).

Energy not served of an outage is the net energy its homes would have drawn had they been
served, from a shadow of the plant that runs as if supply had never been cut (equal to a
counterfactual run without the outage: no random draw depends on the supply; the cold
appliances follow the shadow's room temperature). The relay decides sub-step by sub-step on
the load of the previous one; when it trips inside a block, the plant is rewound to the
block's start and run again with the new outage.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import simpy
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from twinforge.core.calendar import LocalClock, validate_tz
from twinforge.core.eventlog import EventLog
from twinforge.core.params import Bound, Law, draw_laws
from twinforge.core.registry import EVENTS, TWINS
from twinforge.core.schema import LABEL_CHANNELS, ChannelSpec, flatten_params
from twinforge.core.timegrid import TimeGrid
from twinforge.core.twin import Rendered
from twinforge.events.base import EventType
from twinforge.processes.calendar import CalendarParams
from twinforge.processes.commercial import CommercialLoad, CommercialParams
from twinforge.processes.feeder import FeederParams, voltage_linearised, voltage_violation
from twinforge.processes.transformer import TransformerParams, TransformerState, transformer_thermal
from twinforge.processes.weather import Weather, WeatherParams
from twinforge.twins.base import LawPins, TwinBase, setting
from twinforge.twins.home import (
    HOME_LAWS,
    HomeConfig,
    HomeDiversity,
    draw_home,
    pin_explicit_settings,
)

__all__ = [
    "COMMERCIAL_CHANNEL",
    "GRID_CHANNELS",
    "GridConfig",
    "GridDiversity",
    "GridTwin",
    "ProtectionParams",
    "grid_channels",
]

_YEAR_S = 365.25 * 86_400.0

GRID_CHANNELS: tuple[ChannelSpec, ...] = (
    ChannelSpec("feeder_power_w", "W", "interval", "float64", "active power into the feeder at the transformer (homes + losses)"),
    ChannelSpec("feeder_reactive_power_var", "var", "interval", "float64", "reactive power into the feeder"),
    ChannelSpec("homes_power_w", "W", "interval", "float64", "net power drawn by all homes together"),
    ChannelSpec("losses_w", "W", "interval", "float64", "line and transformer losses"),
    ChannelSpec("pv_total_w", "W", "interval", "float64", "PV output of all homes"),
    ChannelSpec("hvac_total_w", "W", "interval", "float64", "heating/cooling power of all homes"),
    ChannelSpec("transformer_load_pu", "1", "interval", "float64", "apparent power / rating"),
    ChannelSpec("transformer_top_oil_c", "degC", "instant", "float64", "top-oil temperature"),
    ChannelSpec("transformer_hot_spot_c", "degC", "instant", "float64", "winding hot-spot temperature"),
    ChannelSpec("transformer_ageing_factor", "1", "interval", "float64", "relative ageing rate V (1 at 98 degC)"),
    ChannelSpec("transformer_loss_of_life_h", "h", "instant", "float64", "cumulative loss of life"),
    ChannelSpec("voltage_secondary_pu", "pu", "interval", "float64", "voltage at the transformer LV terminals"),
    ChannelSpec("voltage_end_pu", "pu", "interval", "float64", "voltage at the far end of the feeder"),
    ChannelSpec("homes_served", "count", "instant", "int32", "homes with supply"),
    ChannelSpec("temp_outdoor_c", "degC", "instant", "float64", "outdoor air temperature"),
    ChannelSpec("outage", "", "label", "int8", "1 if any home is without supply"),
    ChannelSpec("transformer_overload", "", "label", "int8", "1 if the transformer load exceeds its rating"),
    ChannelSpec("voltage_violation", "", "label", "int8", "-1 under, +1 over the EN 50160 band at some node, 0 within"),
) + LABEL_CHANNELS

#: Written only with ``[grid.commercial]`` (then ``feeder_power_w`` includes it).
COMMERCIAL_CHANNEL = ChannelSpec(
    "commercial_power_w", "W", "interval", "float64",
    "non-residential (commercial and industrial) load at the supply point (only with [grid.commercial])",
)


def grid_channels(config: GridConfig | None = None) -> tuple[ChannelSpec, ...]:
    """The channels of a feeder run; ``None``: all of them (documentation)."""
    if config is None or config.commercial is not None:
        return GRID_CHANNELS[:1] + (COMMERCIAL_CHANNEL,) + GRID_CHANNELS[1:]
    return GRID_CHANNELS


class ProtectionParams(BaseModel):
    """Feeder faults, the overcurrent relay and restoration.

    Defaults: about 0.2-1 interruptions per customer-year on European LV/MV networks
    (CEER 7th Benchmarking Report on the Quality of Electricity Supply, 2022); repair of
    LV faults a few hours (lognormal, median 2 h).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    fault_rate_per_year: float = Field(0.5, ge=0.0, le=1000.0, description="feeder faults per year [yr-1]")
    repair_median_h: float = Field(2.0, gt=0.0, le=500.0, description="median repair time [h]")
    repair_sigma: float = Field(0.8, ge=0.0, le=3.0, description="lognormal sigma of repair time [1]")
    trip_pu: float = Field(1.6, gt=1.0, le=5.0, description="overcurrent pickup, x transformer rating [1]")
    trip_delay_s: float = Field(600.0, ge=0.0, le=86_400.0, description="definite-time delay [s]")
    restore_median_h: float = Field(1.0, gt=0.0, le=100.0, description="median restoration after a trip [h]")


class GridConfig(BaseModel):
    """Every parameter of one feeder (one run of the grid twin)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_homes: int = Field(200, ge=1, le=20_000, description="homes on the feeder [count]")
    tz: str = Field("Europe/Paris", description="IANA time zone of the occupants")

    _tz = field_validator("tz")(classmethod(lambda cls, v: validate_tz(v)))
    calendar: CalendarParams = Field(
        CalendarParams(), description="the region's weekend days and public holidays (default Saturday-Sunday, none)"
    )
    weather: WeatherParams = WeatherParams()
    home: HomeConfig = HomeConfig()
    homes: HomeDiversity = HomeDiversity()
    kva_per_home: float = Field(
        4.0, gt=0.1, le=50.0,
        description="transformer rating per home when not given [kVA] (after-diversity demand with electric heating)",
    )
    homes_per_cable: int = Field(
        50, ge=1, le=1000, description="homes per LV cable; parallel cables make the equivalent feeder [count]"
    )
    transformer: TransformerParams | None = None
    feeder: FeederParams | None = None
    commercial: CommercialParams | None = Field(
        None, description="optional aggregate commercial and industrial load at the supply point (off by default)"
    )
    protection: ProtectionParams = ProtectionParams()
    substep_s: float = Field(300.0, ge=10.0, le=900.0, description="internal sub-step [s]")
    per_home_output: bool = Field(
        False, description="also write each home's stream (table 'homes': time, home, net/hvac/pv power, indoor temp)"
    )

    @model_validator(mode="after")
    def _sizes(self) -> GridConfig:
        if self.transformer is not None and self.feeder is not None:
            if abs(self.transformer.rated_kva - self.feeder.transformer_rated_kva) > 1e-6:
                raise ValueError("transformer.rated_kva must equal feeder.transformer_rated_kva")
        if self.home.appliances.lighting_bulbs != 0:
            raise ValueError(
                "home.appliances.lighting_bulbs must be 0 in a grid: feeder homes render their "
                f"lighting as its expectation (got {self.home.appliances.lighting_bulbs})"
            )
        for name, where in (("weather", "set [grid.weather] instead"), ("tz", "set grid.tz instead"),
                            ("sensors", "feeder homes have no meters of their own"),
                            ("record_cycles", "feeder homes do not log their cycles")):
            # by value, not by fields set: a plan's config comes back from a dump with every field set
            if getattr(self.home, name) != HomeConfig.model_fields[name].get_default(call_default_factory=True):
                raise ValueError(f"home.{name} does not apply to a feeder's homes: {where}")
        return self

    def rated_kva(self) -> float:
        if self.transformer is not None:
            return self.transformer.rated_kva
        return float(max(25.0, math.ceil(self.n_homes * self.kva_per_home / 25.0) * 25.0))

    def transformer_params(self) -> TransformerParams:
        return self.transformer or TransformerParams(rated_kva=self.rated_kva())

    def feeder_params(self) -> FeederParams:
        if self.feeder is not None:
            return self.feeder
        # One equivalent feeder for ceil(n / homes_per_cable) parallel cables of the default type.
        base = FeederParams()
        n_par = max(1, math.ceil(self.n_homes / self.homes_per_cable))
        return FeederParams(
            transformer_rated_kva=self.rated_kva(),
            line_r_ohm_per_km=base.line_r_ohm_per_km / n_par,
            line_x_ohm_per_km=base.line_x_ohm_per_km / n_par,
        )

    def flat(self) -> dict[str, Any]:
        out = flatten_params(self)
        out["transformer.rated_kva_effective"] = self.rated_kva()
        return out


class GridDiversity(BaseModel):
    """How feeders of one scenario differ: adoption shares drawn per feeder."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pv_share_range: tuple[float, float] = Field((0.05, 0.4), description="PV share of homes, uniform range [1]")
    ev_share_range: tuple[float, float] = Field((0.05, 0.3), description="EV share of homes, uniform range [1]")
    cooling_share_range: tuple[float, float] = Field((0.1, 0.4), description="AC share of homes, uniform range [1]")

    @model_validator(mode="after")
    def _ranges(self) -> GridDiversity:
        for name in ("pv_share_range", "ev_share_range", "cooling_share_range"):
            lo, hi = getattr(self, name)
            if not 0.0 <= lo <= hi <= 1.0:
                raise ValueError(f"{name} must satisfy 0 <= low <= high <= 1")
        return self


#: The feeder's own laws (:class:`GridDiversity`): the adoption shares of its homes, drawn
#: per feeder by :func:`draw_grid` in this order (the order of the run's ``parameters`` stream).
FEEDER_LAWS: dict[str, Law] = {
    f"homes.{k}": Law("uniform", {"range": f"diversity.{k}_range"}) for k in ("pv_share", "ev_share", "cooling_share")
}

#: The laws of a feeder, written as data: :data:`FEEDER_LAWS`, and its homes drawn by the
#: home twin's laws (:data:`~twinforge.twins.home.HOME_LAWS`) from ``[grid.homes]``, home by home.
GRID_LAWS: dict[str, Law] = {
    **FEEDER_LAWS,
    **{f"home.{k}": law.moved("home.", "homes.", "feeder home") for k, law in HOME_LAWS.items()},
}


def draw_grid(base: GridConfig, diversity: GridDiversity | None, rng: np.random.Generator) -> GridConfig:
    """One feeder's parameters: the laws of :data:`FEEDER_LAWS` sampled from ``diversity``
    (:func:`~twinforge.core.params.draw_laws`); its homes are drawn when the feeder starts."""
    if diversity is None:
        return base
    drawn = draw_laws(FEEDER_LAWS, {"diversity": diversity.model_dump()}, rng)
    homes = base.homes.model_copy(update={path.removeprefix("homes."): v for path, v in drawn.items()})
    return base.model_copy(update={"homes": homes})


#: ``[grid.homes]`` shares that ``[diversity]`` draws again for every feeder, by its range law.
_SHARE_RANGES = {"pv_share": "pv_share_range", "ev_share": "ev_share_range", "cooling_share": "cooling_share_range"}


def pin_grid_settings(section: dict[str, Any], diversity: dict[str, Any] | None) -> tuple[dict[str, Any], Any]:
    """Explicit settings win over diversity, for a feeder (see docs/grid.md).

    First the feeder's homes: a ``[grid.home]`` setting that the ``[grid.homes]`` laws would
    draw again for every home pins that law (the home twin's rule,
    :func:`~twinforge.twins.home.pin_explicit_settings`: ``[grid.home.hvac] cooling = true``
    gives every home cooling). Then the feeders: a ``[grid.homes]`` share (written, or pinned
    by the first step) that ``[diversity]`` would draw again for each feeder pins its range
    (``homes.cooling_share = 0.6`` -> ``cooling_share_range = [0.6, 0.6]``).

    Returns
    -------
    (section, diversity)
        The ``[grid]`` table with its pinned ``homes`` laws, and the pinned ``[diversity]``
        (None when off).
    """
    home, homes = section.get("home") or {}, section.get("homes") or {}
    if isinstance(home, dict) and isinstance(homes, dict):
        pinned = pin_explicit_settings(
            home, homes, where="grid.home", laws_name="grid.homes", unit="feeder home",
            escape="write the [grid.homes] laws instead",
        )
        if pinned != homes:
            section = {**section, "homes": pinned}
            homes = pinned
    if diversity is None or not isinstance(homes, dict):
        return section, diversity
    laws = LawPins(diversity, "grid", "diversity", "set diversity = false to keep every feeder exactly as written")
    for share, law in _SHARE_RANGES.items():
        has, value = setting(homes, share)
        if has and isinstance(value, (int, float)) and not isinstance(value, bool):
            laws.pin(f"homes.{share}", **{law: (float(value), float(value))})
    return section, laws.laws()


@EVENTS.register("feeder_fault")
class FeederFault(EventType):
    """A fault on the feeder: the homes downstream of the fault lose supply.

    ``severity`` is the share of the feeder (from its far end) cut off, in (0, 1]: 1 trips
    the whole feeder. Supply returns at the event's end (the repair).
    """

    name = "feeder_fault"
    category = "grid"
    needs = ("supply",)
    severity_unit = "share of homes"
    severity_range = (0.0, 1.0)

    def apply(self, twin: GridTwin, start_s: float, end_s: float, severity: float) -> int:
        return twin.target("supply").add_outage(start_s, end_s, "fault", severity)


class FaultRateSchedule(list):
    """Target ``fault_rate`` of a feeder: the ``(start_s, end_s, factor)`` windows in which
    storms multiply the fault rate (overlapping windows do not compound: the largest wins)."""

    def add_multiplier(self, start_s: float, end_s: float, factor: float) -> None:
        self.append((float(start_s), float(end_s), float(factor)))


class Protection:
    """Outage bookkeeping: which homes are cut, when, why; and the relay."""

    def __init__(self, n_homes: int, params: ProtectionParams, rated_w: float, log: EventLog, rng) -> None:
        self.n, self.params, self.rated_w, self.log, self.rng = n_homes, params, rated_w, log, rng
        # Open outages: (start_s, end_s, first_home_cut, event_id, ens_j)
        self.outages: list[list] = []
        self._over_since: float | None = None

    def add_outage(self, start_s: float, end_s: float, cause: str, share: float) -> int:
        first = int(round(self.n * (1.0 - min(max(share, 0.0), 1.0))))
        first = min(first, self.n - 1)
        eid = self.log.log(
            "rare", "outage", start_s, end_s, float(share), label=True, severity_unit="1",
            cause=cause, homes_affected=self.n - first,
        )
        self.outages.append([start_s, end_s, first, eid, 0.0])
        return eid

    def served(self, t_s: float) -> np.ndarray:
        mask = np.ones(self.n, dtype=bool)
        for start, end, first, *_ in self.outages:
            if start <= t_s < end:
                mask[first:] = False
        return mask

    def relay(self, t_s: float, dt_s: float, load_w: float) -> None:
        """Definite-time overcurrent on the previous sub-step's load."""
        p = self.params
        if load_w > p.trip_pu * self.rated_w:
            if self._over_since is None:
                self._over_since = t_s - dt_s
            whole_feeder_out = any(s <= t_s < e and f == 0 for s, e, f, *_ in self.outages)
            if t_s - self._over_since >= p.trip_delay_s and not whole_feeder_out:
                restore = float(self.rng.lognormal(math.log(p.restore_median_h * 3600.0), 0.5))
                self.add_outage(t_s, t_s + restore, "overload", 1.0)
                self._over_since = None
        else:
            self._over_since = None

    def account(self, t: np.ndarray, dt_s: float, would_be: np.ndarray, served: np.ndarray) -> None:
        """Add each outage's energy not served over these sub-steps [J]."""
        for o in self.outages:
            start, end, first, eid, _ = o
            inside = (t >= start) & (t < end)
            if inside.any():
                o[4] += float(would_be[inside][:, first:].sum() * dt_s)

    def close(self, t_end: float) -> None:
        """Write energy not served into the events of outages that ended before ``t_end``."""
        for o in self.outages:
            self.log.update(o[3], energy_not_served_j=round(o[4], 3))
        self.outages = [o for o in self.outages if o[1] > t_end]


#: The grid parameters calibration may search by name (dotted paths in ``GridConfig``) and
#: their default ranges.
GRID_CALIBRATABLE: dict[str, Bound] = {
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
    "commercial.classes.*.occupied_gain_k": Bound(0.0, 10.0),
    "commercial.thermal_lag_h": Bound(0.0, 48.0),
    "commercial.day_sd": Bound(0.0, 0.15),
}

@TWINS.register("grid")
class GridTwin(TwinBase):
    """One distribution feeder over one run."""

    name: ClassVar[str] = "grid"
    Config: ClassVar[type] = GridConfig
    Diversity: ClassVar[type] = GridDiversity
    period_range_s: ClassVar[tuple[float, float]] = (60.0, 3600.0)
    targets: ClassVar[frozenset[str]] = TwinBase.targets | {"ambient_temperature", "fault_rate", "supply"}
    calibratable: ClassVar[dict[str, Bound]] = GRID_CALIBRATABLE
    laws: ClassVar[dict[str, Law]] = GRID_LAWS
    draw = staticmethod(draw_grid)
    pin_explicit = staticmethod(pin_grid_settings)

    def local_timezone(self) -> str | None:
        return self.config.tz

    def channels(self) -> tuple[ChannelSpec, ...]:
        return grid_channels(self.config)

    def start(self, env: simpy.Environment, grid: TimeGrid) -> None:
        cfg, streams = self.config, self.streams
        self.grid = grid
        self.dt = min(cfg.substep_s, grid.period_s)
        if abs(grid.period_s / self.dt - round(grid.period_s / self.dt)) > 1e-9:
            raise ValueError(f"period ({grid.period_s:g} s) must be a multiple of substep_s ({self.dt:g} s)")
        self.per_sample = int(round(grid.period_s / self.dt))
        self.clock = LocalClock(grid.start, cfg.tz, weekend_days=cfg.calendar.weekend)
        self.weather = Weather(cfg.weather, grid.start, streams.generator("weather"))
        home_streams = streams.child("homes")
        #: each home's parameters (drawn from [grid.homes] around [grid.home])
        self.home_configs = [
            draw_home(cfg.home, cfg.homes, home_streams.generator(f"home/{i}")) for i in range(cfg.n_homes)
        ]
        from twinforge.components import Homes

        n_days = int(math.ceil(grid.horizon_s / 86_400.0)) + 2
        self.homes = Homes(self.home_configs, [home_streams.child(f"{i}") for i in range(cfg.n_homes)],
                           self.weather, self.clock, self.dt, n_days, solar_offset_s=self.dt / 2.0)
        self._last_net = 0.0
        self.tparams = cfg.transformer_params()
        self.fparams = cfg.feeder_params()
        self.rated_w = self.tparams.rated_kva * 1e3
        self.protection = Protection(
            cfg.n_homes, cfg.protection, self.rated_w, self.log, streams.generator("protection/restore")
        )
        self.commercial = None
        if cfg.commercial is not None:
            self.commercial = CommercialLoad(cfg.commercial, cfg.n_homes, self.clock,
                                             streams.generator("commercial"), self.dt, cfg.calendar)
        #: the transformer's thermal state after the last rendered sub-step (None before the first)
        self.tstate: TransformerState | None = None
        n_nodes = self.fparams.n_nodes
        self.node_of_home = np.minimum((np.arange(cfg.n_homes) * n_nodes) // cfg.n_homes, n_nodes - 1)
        #: (start_s, end_s, factor) windows in which storms multiply the fault rate.
        self.fault_rate_multipliers = FaultRateSchedule()
        self.expose(ambient_temperature=self.weather, fault_rate=self.fault_rate_multipliers, supply=self.protection)
        self.apply_scheduled_events(grid)
        if cfg.protection.fault_rate_per_year > 0:
            env.process(self._faults(env, streams.generator("protection/faults")))
            if self.fault_rate_multipliers:
                env.process(self._storm_faults(env, streams.generator("protection/faults/storm")))

    def chunk_lattice_s(self) -> float:
        """The homes' weather knots: their thermal zones advance from knot to knot."""
        return self.homes.knot_s

    def max_chunk_samples(self, grid: TimeGrid) -> int:
        """Chunks of at most ~1.5 M home-sub-steps (about 12 MB per (sub-step, home) array)."""
        per_sample = max(1, int(round(grid.period_s / min(self.config.substep_s, grid.period_s))))
        return max(1, 1_500_000 // (self.config.n_homes * per_sample))

    def _faults(self, env: simpy.Environment, rng: np.random.Generator):
        p = self.config.protection
        while True:
            yield env.timeout(float(rng.exponential(_YEAR_S / p.fault_rate_per_year)))
            repair = float(rng.lognormal(math.log(p.repair_median_h * 3600.0), p.repair_sigma))
            self.protection.add_outage(env.now, env.now + repair, "fault", float(rng.uniform(0.05, 1.0)))

    def fault_rate_multiplier(self, t_s: float) -> float:
        """Factor m(t) on the fault rate at ``t_s``: the largest active storm's, 1 without."""
        return max((f for s, e, f in self.fault_rate_multipliers if s <= t_s < e), default=1.0)

    def _storm_faults(self, env: simpy.Environment, rng: np.random.Generator):
        """The extra faults of storms: a Poisson process of rate lambda0 (m(t) - 1) by thinning.

        Superposed on :meth:`_faults` (rate lambda0, whose draws a storm leaves unchanged), the
        faults arrive at rate lambda0 m(t). Candidates at the bound lambda0 (max m - 1) are kept
        with probability (m(t) - 1) / (max m - 1) (Lewis & Shedler 1979, doi:10.1002/nav.3800260304).
        """
        p = self.config.protection
        excess_max = max(f for _, _, f in self.fault_rate_multipliers) - 1.0
        if excess_max <= 0.0:
            return
        t = min(s for s, _, _ in self.fault_rate_multipliers)
        t_stop = max(e for _, e, _ in self.fault_rate_multipliers)
        scale_s = _YEAR_S / (p.fault_rate_per_year * excess_max)
        while True:
            t += float(rng.exponential(scale_s))
            if t >= t_stop:
                return
            if rng.random() * excess_max >= self.fault_rate_multiplier(t) - 1.0:
                continue
            yield env.timeout(t - env.now)
            repair = float(rng.lognormal(math.log(p.repair_median_h * 3600.0), p.repair_sigma))
            self.protection.add_outage(env.now, env.now + repair, "fault", float(rng.uniform(0.05, 1.0)))

    def _served(self, t_sub: np.ndarray) -> np.ndarray:
        """Which homes have supply in each sub-step, shape (n_sub, n_homes)."""
        served = np.ones((t_sub.size, self.config.n_homes), dtype=bool)
        for start, end, first, *_ in self.protection.outages:
            rows = (t_sub >= start) & (t_sub < end)
            if rows.any():
                served[rows, first:] = False
        return served

    def _homes_block(self, i0: int, n_sub: int):
        """The homes over the sub-steps of a block, with the relay deciding as they run.

        Returns (demand, cold appliances, plant power, indoor temperature, battery, served,
        the net power each home would have drawn with supply) [W], arrays (n_sub, n_homes).
        """
        H = self.homes
        d = H.demand(i0, n_sub)
        t_sub = d.t_s
        snap = H.snapshot()
        served = self._served(t_sub)
        shadow = None
        if H.shadow is None and not served.all():  # supply cut for the first time: start the shadow
            H.shadow, H.shadow_energy = H.zones.copy(), H.energy.copy()
            H.shadow.restore(snap[0])
        if H.shadow is not None:
            shadow = H.zones_block(H.shadow, d, None, None)
        cold = None
        s_batt = None
        k_scan = 0
        while True:
            hvac, temp, _ = H.zones_block(H.zones, d, None if served.all() else served, None)
            if cold is None:
                cold = H.cold_block(d, (shadow or (hvac, temp))[1])
                gross = d.appliance_w + cold + d.ev_w
            batt, _ = H.battery_block(H.energy, (gross + hvac - d.pv_w) * served)
            total = ((gross + hvac - d.pv_w) * served + batt).sum(axis=1)
            trip = self._relay(t_sub, total, k_scan)
            if trip is None:
                break
            if H.shadow is None:  # this pass had supply everywhere: it is the shadow
                H.shadow, H.shadow_energy = H.zones.copy(), H.energy.copy()
                shadow = (hvac, temp)
                s_batt = batt
            H.restore(snap)
            served = self._served(t_sub)
            k_scan = trip + 1
        self._last_net = float(total[-1])
        if shadow is None:
            would_be = gross + hvac - d.pv_w + batt
        else:
            if s_batt is None:
                s_batt, _ = H.battery_block(H.shadow_energy, gross + shadow[0] - d.pv_w)
            would_be = gross + shadow[0] - d.pv_w + s_batt
        return d, cold, hvac, temp, batt, served, would_be

    def _relay(self, t_sub: np.ndarray, total_w: np.ndarray, k0: int) -> int | None:
        """Run the overcurrent relay from sub-step ``k0``; the sub-step it trips at, or None."""
        prot = self.protection
        n_out = len(prot.outages)
        for k in range(k0, t_sub.size):
            last = total_w[k - 1] if k > 0 else self._last_net
            prot.relay(float(t_sub[k]), self.dt, float(last))
            if len(prot.outages) > n_out:
                return k
        return None

    def render(self, grid: TimeGrid, i0: int, i1: int) -> Rendered:
        n_samples = i1 - i0
        n_sub = n_samples * self.per_sample
        t0 = i0 * grid.period_s
        d, cold, hvac_w, temp_in, batt, served, would_be = self._homes_block(i0 * self.per_sample, n_sub)
        t_sub = d.t_s
        served_f = served.astype(np.float64)
        load = (d.appliance_w + cold + d.ev_w) * served_f + hvac_w
        pv_w = d.pv_w * served_f  # inverters disconnect without grid (anti-islanding)
        net_w = load - pv_w + batt
        self.protection.account(t_sub, self.dt, would_be, served)
        # Feeder: node powers, voltage, losses.
        n_nodes = self.fparams.n_nodes
        p_nodes = np.zeros((n_sub, n_nodes))
        np.add.at(p_nodes.T, self.node_of_home, net_w.T)
        volt = voltage_linearised(p_nodes, None, self.fparams)
        homes_p = net_w.sum(axis=1)
        pf = self.fparams.power_factor
        q_nodes = np.where(p_nodes > 0, p_nodes * math.tan(math.acos(pf)), 0.0)
        # Branch flows from the far end back: segment j carries the nodes j..end.
        p_branch = np.cumsum(p_nodes[:, ::-1], axis=1)[:, ::-1]
        q_branch = np.cumsum(q_nodes[:, ::-1], axis=1)[:, ::-1]
        v_ll = self.fparams.voltage_nominal_v
        r_seg = self.fparams.line_r_ohm_per_km * self.fparams.length_m / 1000.0 / n_nodes
        line_loss = ((p_branch**2 + q_branch**2) / v_ll**2 * r_seg).sum(axis=1)
        s_w = np.hypot(homes_p, q_nodes.sum(axis=1))
        load_pu = s_w / self.rated_w
        z_t = self.fparams.transformer_impedance_pu
        copper = z_t.real * load_pu**2 * self.rated_w
        no_load = z_t.real * self.rated_w / self.tparams.r
        losses = line_loss + copper + no_load
        temp_out = np.asarray(self.weather.temp_c(t_sub + self.dt / 2), dtype=np.float64)
        prev = self.tstate  # the last sub-step of the previous block (None in the first)
        th = transformer_thermal(load_pu, temp_out, self.dt, self.tparams, prev, method="exponential")
        self.tstate = th["state"]
        # Sub-steps -> samples: interval means, or the state at the sample time.
        m = self.per_sample

        def mean(x):
            return np.asarray(x, dtype=np.float64).reshape(n_samples, m).mean(axis=1)

        def at_start(x):
            return np.asarray(x, dtype=np.float64).reshape(n_samples, m)[:, 0]

        # Temperatures and loss of life at each sample's start: the sub-step before it.
        top0, hot0, lol0 = ((th["top_oil_c"][0], th["hot_spot_c"][0], 0.0) if prev is None else
                            (prev.top_oil_c, prev.hot_spot_c, prev.loss_of_life_h))
        top_prev = np.concatenate(([top0], th["top_oil_c"][:-1]))
        hot_prev = np.concatenate(([hot0], th["hot_spot_c"][:-1]))
        lol_prev = np.concatenate(([lol0], th["loss_of_life_h"][:-1]))
        v_nodes = volt["voltage_nodes_pu"]
        viol_sub = voltage_violation(np.concatenate([volt["voltage_secondary_pu"][:, None], v_nodes], axis=1))
        viol = np.where((viol_sub == 1).any(axis=1), 1, np.where((viol_sub == -1).any(axis=1), -1, 0))
        served_count = served.sum(axis=1)
        t = grid.t_s(i0, i1)
        if self.commercial is not None:
            commercial_w = self.commercial.power_w(t_sub, temp_out)
            feeder_w = mean(homes_p + losses + commercial_w)
        else:
            feeder_w = mean(homes_p + losses)
        block = {
            "feeder_power_w": feeder_w,
            "feeder_reactive_power_var": mean(q_branch[:, 0] if n_nodes else np.zeros(n_sub)),
            "homes_power_w": mean(homes_p),
            "losses_w": mean(losses),
            "pv_total_w": mean(pv_w.sum(axis=1)),
            "hvac_total_w": mean(hvac_w.sum(axis=1)),
            "transformer_load_pu": mean(load_pu),
            "transformer_top_oil_c": at_start(top_prev),
            "transformer_hot_spot_c": at_start(hot_prev),
            "transformer_ageing_factor": mean(th["ageing_factor"]),
            "transformer_loss_of_life_h": at_start(lol_prev),
            "voltage_secondary_pu": mean(volt["voltage_secondary_pu"]),
            "voltage_end_pu": mean(volt["voltage_end_pu"]),
            "homes_served": at_start(served_count).astype(np.int32),
            "temp_outdoor_c": np.asarray(self.weather.temp_c(t), dtype=np.float64),
            "outage": (served_count.reshape(n_samples, m) < self.config.n_homes).any(axis=1).astype(np.int8),
            "transformer_overload": (mean(load_pu) > 1.0).astype(np.int8),
            "voltage_violation": np.where(
                (viol.reshape(n_samples, m) == 1).any(axis=1), 1,
                np.where((viol.reshape(n_samples, m) == -1).any(axis=1), -1, 0),
            ).astype(np.int8),
        }
        if self.commercial is not None:
            block["commercial_power_w"] = mean(commercial_w)
        block.update(self.log.render_labels(t))
        tables = {}
        if self.config.per_home_output:
            tables["homes"] = self._per_home(grid, i0, i1, net_w, hvac_w, pv_w, temp_in, served)
        self.protection.close(i1 * grid.period_s)
        self.homes.forget_before(t0)
        return Rendered(block, tables)

    def _per_home(self, grid: TimeGrid, i0: int, i1: int, net_w, hvac_w, pv_w, temp_in, served) -> dict[str, np.ndarray]:
        """Each home's stream on the sample grid, long format (time x home), interval means."""
        n_samples, n = i1 - i0, self.config.n_homes
        m = self.per_sample

        def per_home_mean(x: np.ndarray) -> np.ndarray:  # (n_sub, n) -> (n_samples * n,)
            return x.reshape(n_samples, m, n).mean(axis=1).ravel()

        return {
            "time": np.repeat(grid.timestamps(i0, i1), n),
            "home": np.tile(np.arange(n, dtype=np.int32), n_samples),
            "net_power_w": per_home_mean(net_w),
            "hvac_power_w": per_home_mean(hvac_w),
            "pv_power_w": per_home_mean(pv_w),
            "temp_indoor_c": temp_in.reshape(n_samples, m, n)[:, 0, :].ravel(),
            "served": served.reshape(n_samples, m, n)[:, 0, :].ravel(),
        }

    @staticmethod
    def invariants(df: pd.DataFrame) -> list[str]:
        """Physical invariants every sample of a feeder run satisfies; the violated ones."""
        bad = []
        commercial = df["commercial_power_w"] if "commercial_power_w" in df else 0.0
        if not np.allclose(df.feeder_power_w, df.homes_power_w + df.losses_w + commercial, rtol=1e-9, atol=1e-6):
            bad.append("feeder_power_w != homes_power_w + losses_w (+ commercial_power_w)")
        if "commercial_power_w" in df and (df.commercial_power_w < 0).any():
            bad.append("commercial_power_w negative")
        if (df.losses_w < 0).any():
            bad.append("losses_w negative")
        if (df.homes_served < 0).any():
            bad.append("homes_served negative")
        if (np.diff(df.transformer_loss_of_life_h.to_numpy()) < -1e-9).any():
            bad.append("transformer_loss_of_life_h decreases")
        if ((df.outage == 1) != (df.homes_served < df.homes_served.max())).any() and (df.outage == 0).all():
            bad.append("outage label disagrees with homes_served")
        return bad
