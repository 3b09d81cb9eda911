"""The smart-home twin: weather, occupants, appliances, envelope, heat pump, PV, battery, EV.

Wiring (SimPy, discrete changes only):

- each occupant is a Markov chain over away / asleep / active (:mod:`~twinforge.processes.occupancy`);
- each owned appliance plays its cycles on its own step signal (:mod:`~twinforge.processes.appliances`);
  lighting is rendered per chunk, smooth or lamp by lamp (``appliances.lighting_bulbs``);
- the EV, if any, charges in sessions (:mod:`~twinforge.processes.ev`);
- the electric water heater, if any, heats its tank in cycles (:mod:`~twinforge.processes.dhw`);
  its power is part of ``appliance_power_w``;
- the :class:`ThermalZone` holds the 1R1C envelope (:mod:`~twinforge.processes.thermal`); it
  wakes at weather knots (every ``knot_s``), at occupancy changes (setpoints and gains) and
  at thermostat switches, whose times are solved in closed form.

Rendering (numpy, per chunk of the sample grid): weather, solar geometry and PV through
pvlib, exact interval means of every step signal, the indoor temperature from the
segment table, the battery's self-consumption dispatch, sensor models and labels.

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

from twinforge.core.calendar import LocalClock, is_weekend_day, validate_tz
from twinforge.core.eventlog import EventLog
from twinforge.core.registry import TWINS
from twinforge.core.schema import LABEL_CHANNELS, ChannelSpec, flatten_params
from twinforge.core.timegrid import TimeGrid
from twinforge.core.timeline import StepSignal
from twinforge.processes import appliances as appl
from twinforge.processes import occupancy as occ
from twinforge.processes.battery import BatteryParams, dispatch_self_consumption
from twinforge.processes.dhw import DHWParams, dhw_process
from twinforge.processes.ev import EVParams, ev_process
from twinforge.processes.hvac import HVACParams, tpi_decay, tpi_duty
from twinforge.processes.pv import PVParams, pv_ac_power_w
from twinforge.processes.sensors import SensorParams, measure
from twinforge.processes.solar import solar_geometry
from twinforge.processes.thermal import EnvelopeParams, rc_temp_c, time_to_reach_s
from twinforge.processes.weather import Weather, WeatherParams
from twinforge.twins.base import TwinBase, field_max

__all__ = ["HomeConfig", "HomeDiversity", "HomeSensors", "HomeTwin", "ThermalZone", "HOME_CHANNELS", "draw_home"]

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
    def _physical(self) -> "HomeConfig":
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
        (0.37, 0.33, 0.13, 0.11, 0.06), description="P(1..n occupants); sums to 1"
    )
    floor_area_median_m2: float = Field(95.0, ge=20.0, le=1000.0)
    floor_area_sigma: float = Field(0.3, ge=0.0, le=1.5, description="lognormal sigma of floor area [1]")
    ua_per_m2_median: float = Field(1.8, ge=0.2, le=6.0, description="median UA per floor area [W K-1 m-2]")
    ua_sigma: float = Field(0.25, ge=0.0, le=1.5, description="lognormal sigma of UA per area [1]")
    heat_pump_share: float = Field(0.2, ge=0.0, le=1.0, description="share of homes heated by a heat pump")
    resistive_share: float = Field(
        0.3, ge=0.0, le=1.0, description="share heated by resistive electric heaters (the rest: gas boiler)"
    )
    cooling_share: float = Field(0.25, ge=0.0, le=1.0, description="share of homes with air conditioning")
    heat_setpoint_sd_k: float = Field(1.0, ge=0.0, le=5.0, description="spread of heating setpoints [K]")
    setback_share: float = Field(
        0.5, ge=0.0, le=1.0, description="share of homes that set the heating back at night and when away"
    )
    setback_depth_k: tuple[float, float] = Field(
        (1.0, 4.0), description="range of setback depths of those homes [K] (uniform)"
    )
    pv_share: float = Field(0.15, ge=0.0, le=1.0, description="share of homes with rooftop PV")
    pv_kwp_range: tuple[float, float] = Field((2.0, 6.0), description="PV size range [kWp]")
    battery_share_of_pv: float = Field(0.3, ge=0.0, le=1.0, description="share of PV homes with a battery")
    ev_share: float = Field(0.15, ge=0.0, le=1.0, description="share of homes with an EV")

    @model_validator(mode="after")
    def _valid(self) -> "HomeDiversity":
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


def draw_home(base: HomeConfig, diversity: HomeDiversity | None, rng: np.random.Generator) -> HomeConfig:
    """One home's parameters: ``base`` varied by the laws of ``diversity`` (None: ``base``).

    The draws use only ``rng``, in a fixed order, so a run's home is reproducible from its
    seed. Values the base fixes explicitly stay the base's where no law applies.
    """
    if diversity is None:
        return base
    d = diversity
    n_occ = int(rng.choice(np.arange(1, len(d.household_size_probs) + 1), p=d.household_size_probs))
    area = float(np.clip(d.floor_area_median_m2 * rng.lognormal(0.0, d.floor_area_sigma), 25.0, 600.0))
    ua = float(np.clip(area * d.ua_per_m2_median * rng.lognormal(0.0, d.ua_sigma), 20.0, 4000.0))
    u_heat = rng.random()
    heating = "heat_pump" if u_heat < d.heat_pump_share else (
        "resistive" if u_heat < d.heat_pump_share + d.resistive_share else "gas"
    )
    cooling = bool(rng.random() < d.cooling_share)
    heat_sp = float(np.clip(rng.normal(base.hvac.heat_setpoint_c, d.heat_setpoint_sd_k), 17.0, 23.0))
    has_pv = bool(rng.random() < d.pv_share)
    kwp = float(rng.uniform(*d.pv_kwp_range))
    has_batt = bool(rng.random() < d.battery_share_of_pv)
    has_ev = bool(rng.random() < d.ev_share)
    setback = heat_sp - float(rng.uniform(*d.setback_depth_k)) if rng.random() < d.setback_share else heat_sp
    # Start inside the comfort band, not all homes cold at once (no start-up transient).
    temp_init = float(heat_sp + base.hvac.deadband_k * (rng.random() - 0.5))
    roof = max(base.roof_area_m2, area * 0.45)
    # Size the heat pump for a design outdoor temperature of -7 degC with 20 % margin; a very
    # large, leaky home (the tail of a wide floor-area law) gets the largest unit there is.
    capacity = min(float(np.ceil(1.2 * ua * (heat_sp + 7.0) / 500.0) * 500.0),
                   field_max(HVACParams, "heating_capacity_w"))
    hvac = base.hvac.model_copy(update={
        "heating": heating,
        "heating_capacity_w": capacity,
        "heat_setpoint_c": heat_sp,
        "heat_setback_c": max(setback, 5.0),
        "cooling": cooling,
        "cooling_capacity_w": min(float(np.ceil(ua * 15.0 / 500.0) * 500.0),
                                  field_max(HVACParams, "cooling_capacity_w")),
        "cool_setpoint_c": max(base.hvac.cool_setpoint_c, heat_sp + base.hvac.deadband_k + 1.0),
        "cool_setback_c": max(base.hvac.cool_setback_c, heat_sp + base.hvac.deadband_k + 1.0),
    })
    update: dict[str, Any] = {
        "roof_area_m2": roof,
        "occupancy": base.occupancy.model_copy(update={"n_occupants": n_occ}),
        "envelope": base.envelope.model_copy(
            update={"floor_area_m2": area, "ua_w_per_k": ua, "temp_init_c": temp_init}
        ),
        "hvac": hvac,
        "pv": base.pv.model_copy(update={"capacity_kwp": min(kwp, roof * KWP_PER_M2) if has_pv else 0.0}),
        "battery": base.battery.model_copy(update={
            "capacity_kwh": (base.battery.capacity_kwh or 10.0) if (has_pv and has_batt) else 0.0
        }),
        "ev": (base.ev or EVParams()) if has_ev else None,
    }
    return HomeConfig.model_validate({**base.model_dump(), **{k: (v.model_dump() if isinstance(v, BaseModel) else v) for k, v in update.items()}})


class ThermalZone:
    """The envelope and its thermostat as one SimPy process.

    Between two wake-ups the inputs are constant (outdoor temperature and solar gain at the
    midpoint of the current weather knot, occupant gains, heat-pump output), so the indoor
    temperature follows the exact 1R1C solution; a hysteresis thermostat's switch is
    scheduled at the closed-form time the temperature reaches the band edge, a TPI
    thermostat's at the end of each cycle's on-part (a new cycle is decided at once when
    the occupancy changes the setpoint or the gains). Each wake-up appends a segment
    ``(t0, T0, T_eq)`` from which :meth:`temp_at` renders any sample time exactly.
    """

    def __init__(
        self,
        env: simpy.Environment,
        envelope: EnvelopeParams,
        hvac: HVACParams,
        weather: Weather,
        geometry_fn,
        occupancy: "Occupancy",
        log: EventLog,
        knot_s: float,
        record_cycles: bool,
    ) -> None:
        self.env, self.envelope, self.hvac, self.weather = env, envelope, hvac, weather
        self.geometry_fn, self.occupancy, self.log = geometry_fn, occupancy, log
        self.knot_s, self.record_cycles = float(knot_s), record_cycles
        self.ua = envelope.ua_w_per_k
        self.tau = envelope.tau_s
        self.temp_c = float(envelope.temp_init_c)
        self.mode = 0
        self.power = StepSignal(0.0)
        self._seg_t: list[float] = []
        self._seg_t0: list[float] = []
        self._seg_teq: list[float] = []
        self._seg_mode: list[int] = []
        self._knot_day = -1
        self._knot_tout = np.empty(0)
        self._knot_sol = np.empty(0)
        self._cycle_start = 0.0
        self._cycle_energy = 0.0
        self._sleeping = False
        self.proc = env.process(self._run())

    # -- inputs ---------------------------------------------------------------------
    def _knot_inputs(self, t_s: float) -> tuple[float, float]:
        """Outdoor temperature [degC] and solar gain [W] at the midpoint of the knot of ``t_s``."""
        per_day = int(round(86_400.0 / self.knot_s))
        day = int(t_s // 86_400.0)
        if day != self._knot_day:
            mid = day * 86_400.0 + (np.arange(per_day) + 0.5) * self.knot_s
            geom = self.geometry_fn(mid)
            self._knot_tout = np.asarray(self.weather.temp_c(mid), dtype=np.float64)
            ghi = np.asarray(self.weather.ghi_w_per_m2(mid, zenith_deg=geom["apparent_zenith"].to_numpy()))
            self._knot_sol = self.envelope.solar_aperture_m2 * ghi
            self._knot_day = day
        k = min(int((t_s - day * 86_400.0) // self.knot_s), per_day - 1)
        return float(self._knot_tout[k]), float(self._knot_sol[k])

    def _setpoints(self) -> tuple[float, float]:
        h = self.hvac
        if self.occupancy.n_active.value > 0:
            return h.heat_setpoint_c, h.cool_setpoint_c
        return h.heat_setback_c, h.cool_setback_c

    def wake(self) -> None:
        """Re-evaluate now (occupancy changed the setpoint or the gains)."""
        if self._sleeping and self.proc.is_alive:
            self.proc.interrupt()

    # -- the process ----------------------------------------------------------------
    def _run(self):
        env, h = self.env, self.hvac
        half = 0.5 * h.deadband_k
        heating_on = h.heating != "none" and h.heating_capacity_w > 0
        cooling_on = h.cooling and h.cooling_capacity_w > 0
        tpi = h.control == "tpi"
        cycle_end = on_end = -math.inf  # TPI: the current cycle's end and its on-part's end [s]
        cycle_mode = 0
        decay = float(tpi_decay(self.tau, h.cycle_s))
        cap_h, cap_c = h.heating_capacity_w * heating_on, h.cooling_capacity_w * cooling_on
        while True:
            now = env.now
            t_out, q_sol = self._knot_inputs(now)
            heat_sp, cool_sp = self._setpoints()
            temp = self.temp_c
            q_free = q_sol + self.envelope.base_internal_gain_w + (
                self.envelope.gain_per_occupant_w * self.occupancy.n_home.value
            )
            old_mode = self.mode
            if tpi:
                if now >= cycle_end - 1e-6:  # a new cycle: decide its duty
                    d_h = tpi_duty(temp, heat_sp, t_out, q_free, cap_h, self.ua, decay)
                    d_c = tpi_duty(temp, cool_sp, t_out, q_free, cap_c, self.ua, decay, sign=-1.0)
                    cycle_mode, duty = (1, d_h) if d_h >= d_c else (2, d_c)
                    cycle_end, on_end = now + h.cycle_s, now + duty * h.cycle_s
                self.mode = cycle_mode if now < on_end - 1e-6 else 0
            elif self.mode == 0:
                if heating_on and temp <= heat_sp - half:
                    self.mode = 1
                elif cooling_on and temp >= cool_sp + half:
                    self.mode = 2
            elif self.mode == 1 and temp >= heat_sp + half:
                self.mode = 0
            elif self.mode == 2 and temp <= cool_sp - half:
                self.mode = 0
            if self.mode != old_mode:
                self._switch(now, old_mode)
            if self.mode == 1:
                q_hvac = h.heating_capacity_w
            elif self.mode == 2:
                q_hvac = -h.cooling_capacity_w
            else:
                q_hvac = 0.0
            p_el = abs(q_hvac) / h.cop(self.mode, temp, t_out) if self.mode else 0.0
            self.power.set(now, p_el)
            t_eq = t_out + (q_free + q_hvac) / self.ua
            target = None  # hysteresis: the band edge a switch lands on
            if tpi:
                t_sw = (on_end if self.mode else cycle_end) - now
            elif self.mode == 1:
                target, t_sw = heat_sp + half, time_to_reach_s(temp, t_eq, self.tau, heat_sp + half)
            elif self.mode == 2:
                target, t_sw = cool_sp - half, time_to_reach_s(temp, t_eq, self.tau, cool_sp - half)
            else:
                t_h = time_to_reach_s(temp, t_eq, self.tau, heat_sp - half) if heating_on else math.inf
                t_c = time_to_reach_s(temp, t_eq, self.tau, cool_sp + half) if cooling_on else math.inf
                target, t_sw = (heat_sp - half, t_h) if t_h <= t_c else (cool_sp + half, t_c)
            self._seg_t.append(now)
            self._seg_t0.append(temp)
            self._seg_teq.append(t_eq)
            self._seg_mode.append(self.mode)
            next_knot = (math.floor(now / self.knot_s + 1e-9) + 1.0) * self.knot_s
            dt = min(t_sw, next_knot - now)
            switch_due = t_sw <= next_knot - now and target is not None
            self._sleeping = True
            try:
                yield env.timeout(dt)
            except simpy.Interrupt:
                switch_due = False
                cycle_end = env.now  # TPI: new setpoint or gains, decide a new cycle now
            self._sleeping = False
            elapsed = env.now - now
            self.temp_c = target if switch_due else float(rc_temp_c(elapsed, temp, t_eq, self.tau))
            self._cycle_energy += p_el * elapsed

    def _switch(self, now: float, old_mode: int) -> None:
        if old_mode != 0 and self.record_cycles:
            kind = "heating_cycle" if old_mode == 1 else "cooling_cycle"
            self.log.log("control", kind, self._cycle_start, now, energy_j=round(self._cycle_energy, 3))
        self._cycle_start = now
        self._cycle_energy = 0.0

    # -- rendering --------------------------------------------------------------------
    def temp_at(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Indoor temperature [degC] and thermostat mode at the sample times ``t_s``."""
        seg_t = np.asarray(self._seg_t)
        k = np.searchsorted(seg_t, t_s, side="right") - 1
        t0 = seg_t[k]
        temp0 = np.asarray(self._seg_t0)[k]
        teq = np.asarray(self._seg_teq)[k]
        return rc_temp_c(t_s - t0, temp0, teq, self.tau), np.asarray(self._seg_mode, dtype=np.int8)[k]

    def discard_before(self, t_s: float) -> None:
        k = int(np.searchsorted(np.asarray(self._seg_t), t_s, side="right")) - 1
        if k > 0:
            del self._seg_t[:k], self._seg_t0[:k], self._seg_teq[:k], self._seg_mode[:k]
        self.power.discard_before(t_s)


class Occupancy:
    """Aggregates the occupants' states into ``n_home`` and ``n_active`` step signals."""

    def __init__(self, n: int, log: EventLog) -> None:
        self.states = [-1] * n
        self.n_home = StepSignal(0.0)
        self.n_active = StepSignal(0.0)
        self.listeners: list = []

    def on_change(self, t_s: float, occupant: int, old: int, new: int) -> None:
        self.states[occupant] = new
        home = sum(1 for s in self.states if s in (occ.ASLEEP, occ.ACTIVE))
        active = sum(1 for s in self.states if s == occ.ACTIVE)
        changed = home != self.n_home.value or active != self.n_active.value
        self.n_home.set(t_s, home)
        self.n_active.set(t_s, active)
        if changed:
            for fn in self.listeners:
                fn()


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
    draw = staticmethod(draw_home)

    def channels(self) -> tuple[ChannelSpec, ...]:
        return HOME_CHANNELS

    # -- wiring -----------------------------------------------------------------------
    def start(self, env: simpy.Environment, grid: TimeGrid) -> None:
        cfg, streams = self.config, self.streams
        self.grid = grid
        self.clock = LocalClock(grid.start, cfg.tz)
        self.weather = Weather(cfg.weather, grid.start, streams.generator("weather"))
        self.apply_scheduled_events(grid)

        self.occupancy = Occupancy(cfg.occupancy.n_occupants, self.log)
        self.zone = ThermalZone(
            env, cfg.envelope, cfg.hvac, self.weather, self._geometry_s, self.occupancy,
            self.log, cfg.knot_s, cfg.record_cycles,
        )
        self.occupancy.listeners.append(self.zone.wake)
        self.away = None  # t_s -> whether the household is away on a trip
        if cfg.occupancy.trip_share > 0.0:
            trips = occ.TripDays([cfg.occupancy], streams.generator("occupancy/trips"), self.clock.local_day(0.0))
            clock = self.clock
            self.away = lambda t: bool(trips.away(clock.local_day(t), clock.hour_of_day(t))[0])
            env.process(occ.trip_log_process(env, clock, trips, self.log.log))
        for k in range(cfg.occupancy.n_occupants):
            env.process(occ.occupant_process(
                env, self.clock, cfg.occupancy, streams.generator(f"occupancy/{k}"), k,
                self.occupancy.on_change, self.away,
            ))

        log_fn = self._logger()
        owned = cfg.appliances.owned
        if owned is None:
            owned = appl.draw_ownership(cfg.appliances, streams.generator("appliances/ownership"))
        self.owned = dict(sorted(owned.items()))
        self.appliance_power: dict[str, StepSignal] = {}
        n_active = lambda: self.occupancy.n_active.value  # noqa: E731
        day_factor, day_factor_max = self._day_factor(grid)
        self._standby_day = self._standby_day_factors(grid)
        for name in sorted(self.owned):
            if not self.owned[name]:
                continue
            spec = appl.APPLIANCES[name]
            sig = StepSignal(0.0)
            self.appliance_power[name] = sig
            rng = streams.generator(f"appliances/{name}")
            if spec.cold:
                env.process(appl.cold_appliance_process(
                    env, spec, rng, sig, log_fn, ambient_c=lambda t: self.zone.temp_c,
                ))
            else:
                env.process(appl.triggered_appliance_process(
                    env, spec, self.clock, rng, n_active, sig, log_fn,
                    usage_scale=cfg.appliances.usage_scale, day_factor=day_factor,
                    day_factor_max=day_factor_max,
                ))
        self.lighting: appl.LightingBulbs | None = None
        if cfg.appliances.lighting_bulbs > 0:
            points = [streams.generator(f"appliances/lighting/{i}")
                      for i in range(cfg.appliances.lighting_bulbs)]
            self.lighting = appl.LightingBulbs(
                cfg.appliances, streams.generator("appliances/lighting"), points
            )
        self.ev_power = StepSignal(0.0)
        if cfg.ev is not None:
            env.process(ev_process(
                env, self.clock, cfg.ev, streams.generator("ev"), self.ev_power, log_fn, away=self.away,
            ))
        self.dhw_power = StepSignal(0.0)
        if cfg.dhw is not None:
            env.process(dhw_process(
                env, self.clock, cfg.dhw, streams.generator("dhw"), lambda: self.occupancy.n_home.value,
                self.dhw_power, log_fn, n_occupants=cfg.occupancy.n_occupants,
                routine_h=(cfg.occupancy.wake_h, cfg.occupancy.bed_h),
            ))
        self.soc = cfg.battery.soc_init if cfg.battery.capacity_kwh > 0 else 0.0
        self._sensor_rng = {
            name: streams.generator(f"sensors/{name}")
            for name in ("appliance", "hvac", "ev", "pv", "battery", "temp_indoor", "temp_outdoor", "ghi")
        }

    def _run_days(self, grid: TimeGrid) -> tuple[int, int]:
        """The run's first local day (days since 1970-01-01 local) and how many per-day draws cover it."""
        return int(self.clock.local_s(0.0) // 86_400.0), int(math.ceil(grid.horizon_s / 86_400.0)) + 2

    def _day_factor(self, grid: TimeGrid):
        """The home's per-local-day use factor ``t_s -> f`` and its maximum (None, 1 if off).

        One lognormal factor per local day of the run (stream ``appliances/day``), shared
        by every triggered appliance (``appliances.day_sigma``), times the weekday or
        weekend factor (``appliances.weekend_scale``, :func:`~twinforge.processes.appliances.week_factor`).
        """
        sigma, weekend_scale = self.config.appliances.day_sigma, self.config.appliances.weekend_scale
        if sigma <= 0 and weekend_scale == 1.0:
            return None, 1.0
        clock = self.clock
        d0, n_days = self._run_days(grid)
        factors = appl.day_factors(sigma, n_days, self.streams.generator("appliances/day")) if sigma > 0 else np.ones(n_days)
        factors = factors * appl.week_factor(weekend_scale, is_weekend_day(d0 + np.arange(n_days)))

        def factor(t_s: float) -> float:
            k = int(clock.local_s(t_s) // 86_400.0) - d0
            return float(factors[min(max(k, 0), n_days - 1)])

        return factor, float(factors.max())

    def _standby_day_factors(self, grid: TimeGrid) -> tuple[int, np.ndarray] | None:
        """The first local day and one base-load factor per local day of the run, or None.

        One lognormal factor of mean 1 per local day (``appliances.standby_day_sigma``,
        stream ``appliances/standby_day``) on ``appliances.standby_w``.
        """
        sigma = self.config.appliances.standby_day_sigma
        if sigma <= 0:
            return None
        d0, n_days = self._run_days(grid)
        return d0, appl.day_factors(sigma, n_days, self.streams.generator("appliances/standby_day"))

    def _standby_w(self, t_s: np.ndarray) -> np.ndarray:
        """The base load at the sample times ``t_s`` [W]: ``standby_w`` times the day's factor."""
        standby = self.config.appliances.standby_w
        if self._standby_day is None:
            return np.full(len(t_s), standby, dtype=np.float64)
        d0, factors = self._standby_day
        k = np.clip(self.clock.local_day_array(t_s) - d0, 0, len(factors) - 1)
        return standby * factors[k]

    def _logger(self):
        record = self.config.record_cycles
        log = self.log

        def log_fn(category: str, type: str, start_s: float, end_s: float, **params):  # noqa: A002
            if record or category not in ("appliance", "control"):
                log.log(category, type, start_s, end_s, **params)

        return log_fn

    def _geometry_s(self, t_s: np.ndarray) -> pd.DataFrame:
        w = self.weather
        times = pd.DatetimeIndex(self.grid.start + pd.to_timedelta(np.asarray(t_s), unit="s"))
        return solar_geometry(times, w.latitude_deg, w.longitude_deg, w.altitude_m)

    # -- rendering --------------------------------------------------------------------
    def render(self, grid: TimeGrid, i0: int, i1: int) -> dict[str, np.ndarray]:
        cfg = self.config
        t = grid.t_s(i0, i1)
        edges = np.append(t, i1 * grid.period_s)
        # Continuous signals at the sample times; irradiance and PV at the interval midpoints
        # would need a second geometry pass, so they are instantaneous at t.
        geom = self._geometry_s(t)
        temp_out = np.asarray(self.weather.temp_c(t), dtype=np.float64)
        ghi = np.asarray(self.weather.ghi_w_per_m2(t, zenith_deg=geom["apparent_zenith"].to_numpy()), dtype=np.float64)
        n_home = self.occupancy.n_home.at(t)
        n_active = self.occupancy.n_active.at(t)

        appliance = self._standby_w(t)
        for sig in self.appliance_power.values():
            appliance += sig.mean_over(edges)
        if self.lighting is not None:
            appliance += self.lighting.render(t, grid.period_s, n_active, ghi)
        else:
            appliance += appl.lighting_power_w(n_active, ghi, cfg.appliances)
        if cfg.dhw is not None:
            appliance += self.dhw_power.mean_over(edges)
        hvac = self.zone.power.mean_over(edges)
        ev = self.ev_power.mean_over(edges)
        if cfg.pv.capacity_kwp > 0:
            wind = np.asarray(self.weather.wind_m_per_s(t), dtype=np.float64)
            pv = pv_ac_power_w(geom, ghi, temp_out, wind, cfg.pv)
        else:
            pv = np.zeros(len(t))
        temp_in, mode = self.zone.temp_at(t)

        sens, rng = cfg.sensors, self._sensor_rng
        appliance_m = measure(appliance, sens.power, rng["appliance"], nonnegative=True)
        hvac_m = measure(hvac, sens.power, rng["hvac"], nonnegative=True)
        ev_m = measure(ev, sens.power, rng["ev"], nonnegative=True)
        pv_m = measure(pv, sens.power, rng["pv"], nonnegative=True)
        load_m = appliance_m + hvac_m + ev_m
        # The battery controller sees the true net load; its meter reports with noise.
        batt, soc, self.soc = dispatch_self_consumption(
            appliance + hvac + ev - pv, grid.period_s, self.soc, cfg.battery
        )
        batt_m = measure(batt, sens.power, rng["battery"])
        block = {
            "mains_power_w": load_m - pv_m + batt_m,
            "load_power_w": load_m,
            "appliance_power_w": appliance_m,
            "hvac_power_w": hvac_m,
            "ev_power_w": ev_m,
            "pv_power_w": pv_m,
            "battery_power_w": batt_m,
            "battery_soc": soc,
            "temp_indoor_c": measure(temp_in, sens.temperature, rng["temp_indoor"]),
            "temp_outdoor_c": measure(temp_out, sens.temperature, rng["temp_outdoor"]),
            "ghi_w_per_m2": measure(ghi, sens.irradiance, rng["ghi"], nonnegative=True),
            "occupants_home": n_home.astype(np.int16),
            "occupants_active": n_active.astype(np.int16),
            "hvac_mode": mode,
        }
        block.update(self.log.render_labels(t))
        # Everything before the end of this chunk is rendered: forget it.
        t_end = edges[-1]
        for sig in self.appliance_power.values():
            sig.discard_before(t_end)
        self.ev_power.discard_before(t_end)
        self.dhw_power.discard_before(t_end)
        self.occupancy.n_home.discard_before(t_end)
        self.occupancy.n_active.discard_before(t_end)
        self.zone.discard_before(t_end)
        self.weather.discard_before(t_end - 86_400.0)
        return block

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
