"""The smart-home twin: weather, occupants, appliances, envelope, heat pump, PV, battery, EV.

One home is the component layer (:class:`~twinforge.components.homes.Homes`) with ``n = 1``,
rendered on the sample grid, chunk by chunk:

- the occupants (:mod:`~twinforge.processes.occupancy`), the appliances and lighting
  (:mod:`~twinforge.processes.appliances`), the electric water heater if any
  (:mod:`~twinforge.processes.dhw`, part of ``appliance_power_w``), the EV if any
  (:mod:`~twinforge.processes.ev`) and the thermal zone with its thermostat
  (:mod:`~twinforge.processes.thermal`, :mod:`~twinforge.processes.hvac`) advance event by
  event in compiled kernels (exact switching times, exact interval means of every power);
- weather, solar geometry and PV through pvlib, the battery's self-consumption dispatch,
  sensor models and labels are computed per chunk with numpy.

SimPy keeps the clock of what couples the run: scheduled events (heat waves, cold snaps act
on the weather) and the household's trips (logged as they come).

Power balance, exact in every sample (all terms are measured and quantised first)::

    load_power_w  = appliance_power_w + hvac_power_w + ev_power_w
    mains_power_w = load_power_w - pv_power_w + battery_power_w
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import simpy
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from twinforge.core.calendar import LocalClock, validate_tz
from twinforge.core.params import Bound, Law, draw_laws, set_path
from twinforge.core.registry import TWINS
from twinforge.core.schema import LABEL_CHANNELS, ChannelSpec, flatten_params
from twinforge.core.timegrid import TimeGrid
from twinforge.core.twin import Rendered
from twinforge.processes import appliances as appl
from twinforge.processes import occupancy as occ
from twinforge.processes.battery import BatteryParams
from twinforge.processes.dhw import DHWParams
from twinforge.processes.ev import EVParams
from twinforge.processes.hvac import HVACParams
from twinforge.processes.pv import PVParams
from twinforge.processes.sensors import SensorParams, measure
from twinforge.processes.thermal import EnvelopeParams
from twinforge.processes.weather import Weather, WeatherParams
from twinforge.twins.base import LawPins, TwinBase, field_max, setting

__all__ = ["HOME_CHANNELS", "HOME_LAWS", "HomeConfig", "HomeDiversity", "HomeSensors", "HomeTwin", "draw_home"]

#: Peak power of modern PV modules per m2 of roof [kWp m-2] (about 20 % efficiency).
KWP_PER_M2 = 0.2

HOME_CHANNELS: tuple[ChannelSpec, ...] = (
    ChannelSpec("mains_power_w", "W", "interval", "float64", "net power from the grid (negative = export)"),
    ChannelSpec("load_power_w", "W", "interval", "float64", "total consumption: appliances + HVAC + EV"),
    ChannelSpec("appliance_power_w", "W", "interval", "float64", "appliances, lighting, standby and the water heater if any"),
    ChannelSpec("hvac_power_w", "W", "interval", "float64", "electric power of heating/cooling"),
    ChannelSpec("ev_power_w", "W", "interval", "float64", "electric-vehicle charging power"),
    ChannelSpec("pv_power_w", "W", "interval", "float64", "rooftop PV AC output"),
    ChannelSpec("battery_power_w", "W", "interval", "float64", "battery terminal power (positive = charging)"),
    ChannelSpec("battery_soc", "1", "instant", "float64", "battery state of charge (0 without battery)"),
    ChannelSpec("temp_indoor_c", "degC", "instant", "float64", "indoor air temperature"),
    ChannelSpec("temp_outdoor_c", "degC", "instant", "float64", "outdoor air temperature"),
    ChannelSpec("ghi_w_per_m2", "W m-2", "instant", "float64", "global horizontal irradiance"),
    ChannelSpec("occupants_home", "count", "instant", "int16", "occupants at home (asleep or active)"),
    ChannelSpec("occupants_active", "count", "instant", "int16", "occupants at home and awake"),
    ChannelSpec("hvac_mode", "", "label", "int8", "thermostat state: 0 off, 1 heating, 2 cooling"),
) + LABEL_CHANNELS


class HomeSensors(BaseModel):
    """Sensor error models of the home's meters and thermometers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    power: SensorParams = SensorParams(noise_rel=0.005, resolution=1.0)
    temperature: SensorParams = SensorParams(noise_sd=0.05, resolution=0.1)
    irradiance: SensorParams = SensorParams(noise_rel=0.02, resolution=1.0)


class HomeConfig(BaseModel):
    """Every parameter of one home (one run of the home twin)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tz: str = Field("Europe/Paris", description="IANA time zone of the occupants' schedules")

    _tz = field_validator("tz")(classmethod(lambda cls, v: validate_tz(v)))
    roof_area_m2: float = Field(40.0, ge=0.0, le=2000.0, description="roof area usable for PV [m2]")
    weather: WeatherParams = WeatherParams()
    occupancy: occ.OccupancyParams = occ.OccupancyParams()
    appliances: appl.AppliancesParams = appl.AppliancesParams()
    envelope: EnvelopeParams = EnvelopeParams()
    hvac: HVACParams = HVACParams()
    pv: PVParams = PVParams(capacity_kwp=0.0)
    battery: BatteryParams = BatteryParams()
    ev: EVParams | None = None
    dhw: DHWParams | None = Field(None, description="electric water heater (None: no electric hot water)")
    sensors: HomeSensors = HomeSensors()
    knot_s: float = Field(600.0, ge=60.0, le=3600.0, description="thermal/weather update interval [s]")
    record_cycles: bool = Field(True, description="log every appliance and heating cycle in events.parquet")

    @model_validator(mode="after")
    def _physical(self) -> HomeConfig:
        roof_kwp = self.roof_area_m2 * KWP_PER_M2
        if self.pv.capacity_kwp > roof_kwp + 1e-9:
            raise ValueError(
                f"pv.capacity_kwp ({self.pv.capacity_kwp:g} kWp) exceeds what the roof holds: "
                f"roof_area_m2 x {KWP_PER_M2} = {roof_kwp:g} kWp"
            )
        return self

    def flat(self) -> dict[str, Any]:
        """Every parameter as ``section.name`` -> scalar (for ``runs.parquet``)."""
        out = flatten_params(self)
        out["ev.present"] = self.ev is not None
        return out


class HomeDiversity(BaseModel):
    """How homes of one scenario differ: each run draws its own home from these laws.

    Defaults after French housing statistics: household sizes from INSEE census 2019
    (1 person 37 %, 2: 33 %, 3: 13 %, 4: 11 %, 5+: 6 %), dwelling floor areas around
    90-100 m2 (INSEE Enquete Logement 2013), air conditioning in about 25 % of homes
    (ADEME 2021), adoption shares for PV, batteries and EVs as a user would set them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    household_size_probs: tuple[float, ...] = Field(
        (0.37, 0.33, 0.13, 0.11, 0.06), description="P(1..n occupants); sums to 1 [1]"
    )
    floor_area_median_m2: float = Field(95.0, ge=20.0, le=1000.0, description="median floor area [m2]")
    floor_area_sigma: float = Field(0.3, ge=0.0, le=1.5, description="lognormal sigma of floor area [1]")
    ua_per_m2_median: float = Field(1.8, ge=0.2, le=6.0, description="median UA per floor area [W K-1 m-2]")
    ua_sigma: float = Field(0.25, ge=0.0, le=1.5, description="lognormal sigma of UA per area [1]")
    heat_pump_share: float = Field(0.2, ge=0.0, le=1.0, description="share of homes heated by a heat pump [1]")
    resistive_share: float = Field(
        0.3, ge=0.0, le=1.0, description="share heated by resistive electric heaters (the rest: gas boiler) [1]"
    )
    cooling_share: float = Field(0.25, ge=0.0, le=1.0, description="share of homes with air conditioning [1]")
    heat_setpoint_sd_k: float = Field(1.0, ge=0.0, le=5.0, description="spread of heating setpoints [K]")
    setback_share: float = Field(
        0.5, ge=0.0, le=1.0, description="share of homes that set the heating back at night and when away [1]"
    )
    setback_depth_k: tuple[float, float] = Field(
        (1.0, 4.0), description="range of setback depths of those homes [K] (uniform)"
    )
    pv_share: float = Field(0.15, ge=0.0, le=1.0, description="share of homes with rooftop PV [1]")
    pv_kwp_range: tuple[float, float] = Field((2.0, 6.0), description="PV size range [kWp]")
    battery_share_of_pv: float = Field(0.3, ge=0.0, le=1.0, description="share of PV homes with a battery [1]")
    ev_share: float = Field(0.15, ge=0.0, le=1.0, description="share of homes with an EV [1]")

    @model_validator(mode="after")
    def _valid(self) -> HomeDiversity:
        p = np.asarray(self.household_size_probs, dtype=float)
        if p.size == 0 or p.size > 8 or (p < 0).any() or abs(p.sum() - 1.0) > 1e-6:
            raise ValueError("household_size_probs must hold 1-8 non-negative values summing to 1")
        if self.heat_pump_share + self.resistive_share > 1.0 + 1e-12:
            raise ValueError("heat_pump_share + resistive_share must not exceed 1")
        lo, hi = self.setback_depth_k
        if not 0.0 <= lo <= hi <= 15.0:
            raise ValueError("setback_depth_k must satisfy 0 <= low <= high <= 15 K")
        lo, hi = self.pv_kwp_range
        if not 0.0 < lo <= hi <= 50.0:
            raise ValueError("pv_kwp_range must satisfy 0 < low <= high <= 50 kWp")
        return self


def _heating_capacity_w(ua: float, heat_sp: float) -> float:
    # Size the heat pump for a design outdoor temperature of -7 degC with 20 % margin; a very
    # large, leaky home (the tail of a wide floor-area law) gets the largest unit there is.
    return min(float(np.ceil(1.2 * ua * (heat_sp + 7.0) / 500.0) * 500.0), field_max(HVACParams, "heating_capacity_w"))


def _cooling_capacity_w(ua: float) -> float:
    return min(float(np.ceil(ua * 15.0 / 500.0) * 500.0), field_max(HVACParams, "cooling_capacity_w"))


_EV_DEFAULT = EVParams().model_dump()

#: The laws of :class:`HomeDiversity`, written as data: what a run's home is. :func:`draw_home`
#: samples them in this order (:func:`~twinforge.core.params.draw_laws`), which is the order in
#: which they take numbers from the run's generator (laws without a draw sit after what they read).
HOME_LAWS: dict[str, Law] = {
    "occupancy.n_occupants": Law("categorical", {"p": "diversity.household_size_probs"},
                                 rule="1, 2, ... occupants with these probabilities"),
    "envelope.floor_area_m2": Law("lognormal", {"median": "diversity.floor_area_median_m2",
                                                "sigma": "diversity.floor_area_sigma"}, clip=(25.0, 600.0)),
    "roof_area_m2": Law("derived", of=("setting", "envelope.floor_area_m2"), fn=lambda roof, area: max(roof, area * 0.45),
                        rule="max(the setting, 0.45 x floor_area_m2)"),
    "envelope.ua_w_per_k": Law(
        "lognormal", {"median": Law("derived", {"per_m2": "diversity.ua_per_m2_median"}, of=("envelope.floor_area_m2",),
                                    fn=lambda area, per_m2: area * per_m2, rule="the drawn envelope.floor_area_m2 x per_m2"),
                      "sigma": "diversity.ua_sigma"}, clip=(20.0, 4000.0)),
    "hvac.heating": Law("categorical", {"heat_pump": "diversity.heat_pump_share",
                                        "resistive": "diversity.resistive_share"},
                        choices=("heat_pump", "resistive", "gas"), rule="else gas"),
    "hvac.cooling": Law("bernoulli", {"p": "diversity.cooling_share"}),
    "hvac.heat_setpoint_c": Law("normal", {"mean": "setting", "sd": "diversity.heat_setpoint_sd_k"}, clip=(17.0, 23.0)),
    "pv.capacity_kwp": Law("uniform", {"range": "diversity.pv_kwp_range"}, gate="diversity.pv_share", off=0.0,
                           draws_when_off=True, of=("roof_area_m2",), fn=lambda kwp, roof: min(kwp, roof * KWP_PER_M2),
                           rule=f"at most roof_area_m2 x {KWP_PER_M2} kWp m-2; else 0"),
    "battery.capacity_kwh": Law("derived", of=("setting", "pv.capacity_kwp"), gate="diversity.battery_share_of_pv",
                                off=0.0, fn=lambda kwh, kwp: (kwh or 10.0) if kwp > 0.0 else 0.0,
                                rule="in a home with PV the setting (10 kWh if 0), else 0"),
    "ev": Law("bernoulli", {"p": "diversity.ev_share"}, of=("setting",),
              fn=lambda on, ev: (ev or _EV_DEFAULT) if on else None, rule="present: [ev] as set (default EV if absent)"),
    "hvac.heat_setback_c": Law("uniform", {"range": "diversity.setback_depth_k"}, gate="diversity.setback_share",
                               off="hvac.heat_setpoint_c", of=("hvac.heat_setpoint_c",),
                               fn=lambda depth, sp: max(sp - depth, 5.0),
                               rule="heat_setpoint_c minus the depth, at least 5 degC; else heat_setpoint_c"),
    "envelope.temp_init_c": Law("uniform", {"range": (-0.5, 0.5)}, of=("hvac.heat_setpoint_c", "hvac.deadband_k"),
                                fn=lambda u, sp, db: sp + db * u, rule="heat_setpoint_c + deadband_k x the draw"),
    "hvac.heating_capacity_w": Law("derived", of=("envelope.ua_w_per_k", "hvac.heat_setpoint_c"), fn=_heating_capacity_w,
                                   rule="1.2 x ua_w_per_k x (heat_setpoint_c + 7 K) rounded up to 500 W, "
                                        "at most the allowed maximum"),
    "hvac.cooling_capacity_w": Law("derived", of=("envelope.ua_w_per_k",), fn=_cooling_capacity_w,
                                   rule="ua_w_per_k x 15 K rounded up to 500 W, at most the allowed maximum"),
    **{f"hvac.{k}": Law("derived", of=("setting", "hvac.heat_setpoint_c", "hvac.deadband_k"),
                        fn=lambda c, sp, db: max(c, sp + db + 1.0),
                        rule="max(the setting, heat_setpoint_c + deadband_k + 1 K)")
       for k in ("cool_setpoint_c", "cool_setback_c")},
}


#: Settings of ``[home]`` that the diversity laws derive again for every run, and cannot pin:
#: set explicitly while diversity is on they are refused (one line), not silently replaced.
#: (``roof_area_m2`` and the cooling setpoints are kept, raised only where the drawn home
#: needs more roof or a cooling setpoint above its heating band.)
DRAWN_NOT_PINNABLE = (
    "envelope.temp_init_c", "hvac.heating_capacity_w", "hvac.cooling_capacity_w", "hvac.heat_setback_c",
)


def pin_explicit_settings(
    section: dict[str, Any], diversity: dict[str, Any], *, where: str = "home", laws_name: str = "diversity",
    escape: str = "set diversity = false to keep the home exactly as written", unit: str = "run",
) -> dict[str, Any]:
    """The diversity laws with every explicit ``[home]`` setting they would redraw pinned to it.

    The rule: an explicit setting wins over diversity. ``hvac.cooling = true`` makes every home
    cool (``cooling_share = 1``), ``occupancy.n_occupants = 3`` gives every home 3 occupants,
    ``hvac.heating``, ``hvac.heat_setpoint_c``, ``envelope.floor_area_m2`` (and
    ``envelope.ua_w_per_k`` with it), ``pv.capacity_kwp``, ``battery.capacity_kwh`` and ``ev``
    likewise; the other laws still vary the homes. A setting that a law of ``diversity``
    sets to another value, and a drawn setting that cannot be pinned
    (:data:`DRAWN_NOT_PINNABLE`), raise :class:`ValueError` naming both and the way out
    (``diversity = false`` keeps the home exactly as written).

    Parameters
    ----------
    section : dict
        The scenario's ``[home]`` table as written (or a feeder's ``[grid.home]``).
    diversity : dict
        The scenario's ``[diversity]`` table as written (empty: the default laws), or a
        feeder's ``[grid.homes]``.
    where, laws_name, escape, unit : str
        How messages name the two tables, the way out and what is drawn (a run, a feeder home).
    """
    get = lambda path: setting(section, path)  # noqa: E731
    laws = LawPins(diversity, where, laws_name, escape)
    pin = laws.pin
    for path in DRAWN_NOT_PINNABLE:
        if get(path)[0]:
            laws.refuse(path, f"derived again for every {unit} by the {laws_name} laws")
    has, n = get("occupancy.n_occupants")
    if has:
        pin("occupancy.n_occupants", household_size_probs=tuple(float(k == int(n)) for k in range(1, max(int(n), 1) + 1)))
    has, heating = get("hvac.heating")
    if has:
        shares = {"heat_pump": (1.0, 0.0), "resistive": (0.0, 1.0), "gas": (0.0, 0.0)}
        if heating not in shares:
            raise ValueError(f"{where}.hvac.heating = {heating!r} cannot be drawn by {laws_name} "
                             f"(heat_pump, resistive or gas); {escape}")
        pin("hvac.heating", heat_pump_share=shares[heating][0], resistive_share=shares[heating][1])
    has, cooling = get("hvac.cooling")
    if has:
        pin("hvac.cooling", cooling_share=1.0 if cooling else 0.0)
    if get("hvac.heat_setpoint_c")[0]:
        pin("hvac.heat_setpoint_c", heat_setpoint_sd_k=0.0)
    has, area = get("envelope.floor_area_m2")
    if has:
        pin("envelope.floor_area_m2", floor_area_median_m2=float(area), floor_area_sigma=0.0)
    has, ua = get("envelope.ua_w_per_k")
    if has:
        if not get("envelope.floor_area_m2")[0]:
            raise ValueError(f"{where}.envelope.ua_w_per_k is drawn from the floor area by the {laws_name} laws: "
                             f"set envelope.floor_area_m2 with it, or {escape}")
        pin("envelope.ua_w_per_k", ua_per_m2_median=float(ua) / float(area), ua_sigma=0.0)
    has, kwp = get("pv.capacity_kwp")
    if has:
        pin("pv.capacity_kwp", pv_share=1.0 if kwp else 0.0, **({"pv_kwp_range": (float(kwp), float(kwp))} if kwp else {}))
    has, kwh = get("battery.capacity_kwh")
    if has:
        pin("battery.capacity_kwh", battery_share_of_pv=1.0 if kwh else 0.0)
    has, ev = get("ev")
    if has:
        pin("ev", ev_share=0.0 if ev is None or ev is False else 1.0)
    return laws.laws()


def draw_home(base: HomeConfig, diversity: HomeDiversity | None, rng: np.random.Generator) -> HomeConfig:
    """One home's parameters: ``base`` varied by the laws of ``diversity`` (None: ``base``).

    The draw is :data:`HOME_LAWS` sampled in their order from ``rng`` alone
    (:func:`~twinforge.core.params.draw_laws`), so a run's home is reproducible from its seed.
    Values the base fixes explicitly stay the base's where no law applies.
    """
    if diversity is None:
        return base
    data = base.model_dump()
    for path, value in draw_laws(HOME_LAWS, {**data, "diversity": diversity.model_dump()}, rng).items():
        set_path(data, path, value)
    return HomeConfig.model_validate(data)


#: The home parameters calibration may search by name (dotted paths in ``HomeConfig``, and
#: ``diversity.<field>`` of ``HomeDiversity``) and their default ranges; others can be
#: given with explicit bounds (:mod:`twinforge.fidelity.parameters`).
HOME_CALIBRATABLE: dict[str, Bound] = {
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
    # fleet laws ([diversity]), calibrated when the base scenario has a [diversity] section
    "diversity.floor_area_sigma": Bound(0.0, 1.5),
    "diversity.ua_sigma": Bound(0.0, 1.5),
    "diversity.heat_setpoint_sd_k": Bound(0.0, 5.0),
    "diversity.setback_share": Bound(0.0, 1.0),
    "diversity.cooling_share": Bound(0.0, 1.0),
    "diversity.pv_share": Bound(0.0, 1.0),
    "diversity.ev_share": Bound(0.0, 1.0),
}

@TWINS.register("home")
class HomeTwin(TwinBase):
    """One home over one run.

    Parameters
    ----------
    config : HomeConfig
        Every parameter of this home.
    streams : RngStreams
        The run's random streams; each component draws from its own named stream.
    events : sequence of ScheduledEvent
        Events placed on this run (heat waves, cold snaps, ...).
    """

    name: ClassVar[str] = "home"
    Config: ClassVar[type] = HomeConfig
    Diversity: ClassVar[type] = HomeDiversity
    #: Sample periods this twin renders [s].
    period_range_s: ClassVar[tuple[float, float]] = (1.0, 3600.0)
    targets: ClassVar[frozenset[str]] = TwinBase.targets | {"ambient_temperature"}
    calibratable: ClassVar[dict[str, Bound]] = HOME_CALIBRATABLE
    laws: ClassVar[dict[str, Law]] = HOME_LAWS
    draw = staticmethod(draw_home)

    @staticmethod
    def pin_explicit(section: dict[str, Any], diversity: dict[str, Any] | None) -> tuple[dict[str, Any], Any]:
        """``[home]`` settings win over the ``[diversity]`` laws (:func:`pin_explicit_settings`)."""
        return section, None if diversity is None else pin_explicit_settings(section, diversity)

    def local_timezone(self) -> str | None:
        return self.config.tz

    def channels(self) -> tuple[ChannelSpec, ...]:
        return HOME_CHANNELS

    # -- wiring -----------------------------------------------------------------------
    def start(self, env: simpy.Environment, grid: TimeGrid) -> None:
        from twinforge.components import Homes

        cfg, streams = self.config, self.streams
        self.grid = grid
        self.clock = LocalClock(grid.start, cfg.tz)
        self.weather = Weather(cfg.weather, grid.start, streams.generator("weather"))
        self.expose(ambient_temperature=self.weather)
        self.apply_scheduled_events(grid)
        n_days = int(math.ceil(grid.horizon_s / 86_400.0)) + 2
        self.homes = Homes([cfg], [streams], self.weather, self.clock, grid.period_s, n_days, record=True)
        trips = self.homes.trips[0]
        if trips is not None:  # the household's trips, logged as they come (one event a day)
            env.process(occ.trip_log_process(env, self.clock, trips, self.log.log))
        #: the home's light points (None: the smooth expectation)
        self.lighting = self.homes.lighting[0]
        self.owned = self.homes.owned[0]
        self._sensor_rng = {
            name: streams.generator(f"sensors/{name}")
            for name in ("appliance", "hvac", "ev", "pv", "battery", "temp_indoor", "temp_outdoor", "ghi")
        }

    def chunk_lattice_s(self) -> float:
        """The weather knots: the thermal zone advances from knot to knot."""
        return self.config.knot_s

    # -- rendering --------------------------------------------------------------------
    def render(self, grid: TimeGrid, i0: int, i1: int) -> Rendered:
        cfg = self.config
        t = grid.t_s(i0, i1)
        d = self.homes.demand(i0, i1 - i0)
        p = self.homes.plant(d)
        appliance = d.appliance_w[:, 0] + p.cold_w[:, 0]
        hvac, ev, pv = p.hvac_w[:, 0], d.ev_w[:, 0], d.pv_w[:, 0]
        sens, rng = cfg.sensors, self._sensor_rng
        appliance_m = measure(appliance, sens.power, rng["appliance"], nonnegative=True)
        hvac_m = measure(hvac, sens.power, rng["hvac"], nonnegative=True)
        ev_m = measure(ev, sens.power, rng["ev"], nonnegative=True)
        pv_m = measure(pv, sens.power, rng["pv"], nonnegative=True)
        load_m = appliance_m + hvac_m + ev_m
        # The battery controller sees the true net load; its meter reports with noise.
        batt_m = measure(p.battery_w[:, 0], sens.power, rng["battery"])
        block = {
            "mains_power_w": load_m - pv_m + batt_m,
            "load_power_w": load_m,
            "appliance_power_w": appliance_m,
            "hvac_power_w": hvac_m,
            "ev_power_w": ev_m,
            "pv_power_w": pv_m,
            "battery_power_w": batt_m,
            "battery_soc": p.soc[:, 0],
            "temp_indoor_c": measure(p.temp_indoor_c[:, 0], sens.temperature, rng["temp_indoor"]),
            "temp_outdoor_c": measure(d.temp_outdoor_c, sens.temperature, rng["temp_outdoor"]),
            "ghi_w_per_m2": measure(d.ghi_w_per_m2, sens.irradiance, rng["ghi"], nonnegative=True),
            "occupants_home": d.n_home[:, 0].astype(np.int16),
            "occupants_active": d.n_active[:, 0].astype(np.int16),
            "hvac_mode": p.mode[:, 0].astype(np.int8),
        }
        for category, kind, _, start, end, params in self.homes.take_cycles():
            if cfg.record_cycles or category not in ("appliance", "control"):
                self.log.log_many(category, kind, start, end, **params)
        block.update(self.log.render_labels(t))
        self.homes.forget_before(i1 * grid.period_s)
        return Rendered(block)

    @staticmethod
    def invariants(df: pd.DataFrame) -> list[str]:
        """Physical invariants every sample of a home run satisfies; the violated ones."""
        bad = []
        if not (df.load_power_w == df.appliance_power_w + df.hvac_power_w + df.ev_power_w).all():
            bad.append("load_power_w != appliance_power_w + hvac_power_w + ev_power_w")
        if not (df.mains_power_w == df.load_power_w - df.pv_power_w + df.battery_power_w).all():
            bad.append("mains_power_w != load_power_w - pv_power_w + battery_power_w")
        if not df.battery_soc.between(0.0, 1.0).all():
            bad.append("battery_soc outside [0, 1]")
        for col in ("load_power_w", "pv_power_w", "hvac_power_w", "ev_power_w"):
            if (df[col] < 0).any():
                bad.append(f"{col} negative")
        if not df.temp_indoor_c.between(-40.0, 60.0).all():
            bad.append("temp_indoor_c outside [-40, 60] degC")
        if (df.occupants_active > df.occupants_home).any():
            bad.append("occupants_active > occupants_home")
        return bad
