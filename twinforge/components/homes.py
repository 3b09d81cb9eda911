"""Homes: every partial model of a home, for ``n`` homes under one weather and one clock.

This is the one implementation of a home. The home twin runs it with ``n = 1`` on its sample
grid; the grid twin with ``n = N`` on its sub-step grid. Each home keeps its own random
streams (the children of its :class:`~twinforge.core.rng.RngStreams` node), so a home's
output depends only on its parameters and its streams, never on the other homes simulated
with it or on where blocks are cut.

A block of ``n_steps`` steps of ``dt_s`` seconds is rendered in two parts:

1. :meth:`Homes.demand` (what does not depend on the supply): occupants
   (:class:`~twinforge.components.occupancy.Occupants`), standby, lighting (the smooth
   expectation or light points), triggered appliances, water heaters, electric vehicles, PV,
   and the weather at the thermal knots;
2. :meth:`Homes.plant` (what does): the thermal zones
   (:class:`~twinforge.components.thermal.Zones`) with their thermostats, the cold appliances
   (whose duty follows the room temperature) and the batteries. A feeder that cuts supply
   runs it with a supply mask; its state can be snapshotted and restored, so a relay that
   trips inside a block re-runs only this part. The cold appliances follow the temperature
   the homes would have had with supply (the plant's shadow run), so their draws never
   depend on the supply either.

Powers are exact interval means over each step [W]; temperatures, modes, occupants and
irradiance are the values at each step's start (or, with ``solar_offset_s``, the irradiance
and PV at a point inside the step).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from twinforge.components.appliances import ColdAppliances, CycleLog, TriggeredAppliances
from twinforge.components.dhw import WaterHeaters
from twinforge.components.ev import Vehicles
from twinforge.components.localtime import HourOffsets
from twinforge.components.occupancy import Occupants
from twinforge.components.thermal import Zones
from twinforge.core.calendar import LocalClock, is_weekend_day
from twinforge.core.rng import RngStreams
from twinforge.processes import appliances as appl
from twinforge.processes import occupancy as occ
from twinforge.processes.battery import dispatch
from twinforge.processes.pv import pv_ac_power_w
from twinforge.processes.solar import solar_geometry
from twinforge.processes.weather import Weather, clear_sky_ghi_w_per_m2

__all__ = ["Demand", "Homes", "Plant", "solar_geometry_cached"]

_DAY_S = 86_400.0

# -- solar geometry, computed once per site and time axis --------------------------------------

_GEOMETRY_CACHE: OrderedDict[tuple, pd.DataFrame] = OrderedDict()
_GEOMETRY_BUDGET_ROWS = 1_200_000  # about 50 MB of geometry frames


def solar_geometry_cached(latitude_deg: float, longitude_deg: float, altitude_m: float,
                          start: pd.Timestamp, t_s: np.ndarray, linke_turbidity: float = 3.0) -> pd.DataFrame:
    """:func:`~twinforge.processes.solar.solar_geometry` at engine times ``t_s`` after ``start``,
    with a ``clear_sky_ghi`` column (:func:`~twinforge.processes.weather.clear_sky_ghi_w_per_m2`
    for ``linke_turbidity``) [W m-2].

    The sun's position and the clear sky depend only on the site and the time, so every run of
    a campaign at one site (and every block of it) computes them once: frames are kept in a
    least-recently-used cache of about 1.2 million rows (one home-year at one minute is
    0.5 million).
    """
    t = np.asarray(t_s, dtype=np.float64)
    key = (float(latitude_deg), float(longitude_deg), float(altitude_m), float(linke_turbidity),
           pd.Timestamp(start).value, float(t[0]) if t.size else 0.0, float(t[-1]) if t.size else 0.0, t.size)
    hit = _GEOMETRY_CACHE.get(key)
    if hit is not None:
        _GEOMETRY_CACHE.move_to_end(key)
        return hit
    times = pd.DatetimeIndex(pd.Timestamp(start) + pd.to_timedelta(t, unit="s"))
    geo = solar_geometry(times, latitude_deg, longitude_deg, altitude_m)
    geo["clear_sky_ghi"] = clear_sky_ghi_w_per_m2(geo["apparent_zenith"].to_numpy(), geo["dni_extra"].to_numpy(),
                                                  altitude_m, linke_turbidity)
    _GEOMETRY_CACHE[key] = geo
    rows = sum(len(v) for v in _GEOMETRY_CACHE.values())
    while rows > _GEOMETRY_BUDGET_ROWS and len(_GEOMETRY_CACHE) > 1:
        _, old = _GEOMETRY_CACHE.popitem(last=False)
        rows -= len(old)
    return geo


def _sun(weather: Weather, start: pd.Timestamp, t_s: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """The sun (cached) and the global horizontal irradiance [W m-2] at engine times ``t_s``."""
    geo = solar_geometry_cached(weather.latitude_deg, weather.longitude_deg, weather.altitude_m, start, t_s,
                                weather.params.linke_turbidity)
    ghi = np.asarray(weather.ghi_w_per_m2(t_s, clear_sky_w_per_m2=geo["clear_sky_ghi"].to_numpy()), dtype=np.float64)
    return geo, ghi


@dataclass
class Demand:
    """What the homes draw in one block regardless of supply; arrays of shape (n_steps, n_homes)."""

    i0: int
    t_s: np.ndarray  # step starts [s], shape (n_steps,)
    appliance_w: np.ndarray  # standby, lighting, triggered appliances, water heater (no cold appliances)
    ev_w: np.ndarray
    pv_w: np.ndarray
    temp_outdoor_c: np.ndarray  # shape (n_steps,): at the step starts
    ghi_w_per_m2: np.ndarray  # shape (n_steps,): at the solar points
    n_home: np.ndarray
    n_active: np.ndarray


@dataclass
class Plant:
    """The supply-dependent part of a block; arrays of shape (n_steps, n_homes)."""

    hvac_w: np.ndarray
    temp_indoor_c: np.ndarray
    mode: np.ndarray
    cold_w: np.ndarray
    battery_w: np.ndarray
    soc: np.ndarray


class Homes:
    """``n`` homes on one clock and one weather.

    Parameters
    ----------
    configs : sequence of HomeConfig
        One per home.
    streams : sequence of RngStreams
        Each home's random streams.
    weather : Weather
        The homes' shared weather.
    clock : LocalClock
        The homes' local time.
    dt_s : float
        Step length [s].
    n_days : int
        Local days the run may touch (for the per-day factors drawn up front).
    record : bool
        Keep each home's cycles (appliances, plant runs, water heater, EV sessions) for the
        event log (:meth:`take_cycles`).
    solar_offset_s : float
        Where inside each step irradiance and PV are evaluated [s after the step start].
    """

    def __init__(self, configs: Sequence, streams: Sequence[RngStreams], weather: Weather, clock: LocalClock,
                 dt_s: float, n_days: int, *, record: bool = False, solar_offset_s: float = 0.0) -> None:
        self.configs = list(configs)
        self.n = n = len(self.configs)
        self.streams = list(streams)
        self.weather, self.clock = weather, clock
        self.start = clock.start
        self.dt = float(dt_s)
        self.record = record
        self.solar_offset_s = float(solar_offset_s)
        knots = {c.knot_s for c in self.configs}
        if len(knots) > 1:
            raise ValueError(f"homes simulated together must share knot_s, got {sorted(knots)}")
        self.knot_s = knots.pop() if knots else 600.0
        cfg = self.configs
        g = lambda f: np.array([f(c) for c in cfg], dtype=np.float64)
        # trips and occupants
        day0 = clock.local_day(0.0)
        self._trip_first = day0 - 1  # TripDays draws from the day before the first
        self.trips = [
            occ.TripDays([c.occupancy], s.generator("occupancy/trips"), day0) if c.occupancy.trip_share > 0 else None
            for c, s in zip(cfg, self.streams)
        ]
        self.occupants = Occupants([c.occupancy for c in cfg], clock, self.streams, self.trips)
        # appliances
        self.owned = [
            dict(sorted((c.appliances.owned if c.appliances.owned is not None else
                         appl.draw_ownership(c.appliances, s.generator("appliances/ownership"))).items()))
            for c, s in zip(cfg, self.streams)
        ]
        self.d0 = int(clock.local_s(0.0) // _DAY_S)
        self.n_days = int(n_days)
        weekend = is_weekend_day(self.d0 + np.arange(self.n_days))
        use = np.ones((n, self.n_days))
        base = np.ones((n, self.n_days))
        for h, (c, s) in enumerate(zip(cfg, self.streams)):
            a = c.appliances
            if a.day_sigma > 0:
                use[h] = appl.day_factors(a.day_sigma, self.n_days, s.generator("appliances/day"))
            use[h] *= appl.week_factor(a.weekend_scale, weekend)
            if a.standby_day_sigma > 0:
                base[h] = appl.day_factors(a.standby_day_sigma, self.n_days, s.generator("appliances/standby_day"))
        self.standby_day = base * g(lambda c: c.appliances.standby_w)[:, None]
        self.triggered = TriggeredAppliances(self.owned, g(lambda c: c.appliances.usage_scale), use, self.d0,
                                             self.streams)
        self.cold = ColdAppliances(self.owned, self.streams)
        self.lighting = [
            appl.LightingBulbs(c.appliances, s.generator("appliances/lighting"),
                               [s.generator(f"appliances/lighting/{i}") for i in range(c.appliances.lighting_bulbs)])
            if c.appliances.lighting_bulbs > 0 else None
            for c, s in zip(cfg, self.streams)
        ]
        off = HourOffsets.cover(clock, 0.0, 0.0)
        dhw = [h for h, c in enumerate(cfg) if c.dhw is not None]
        self.dhw = WaterHeaters(
            dhw, [cfg[h].dhw for h in dhw], [cfg[h].occupancy.n_occupants for h in dhw],
            [(cfg[h].occupancy.wake_h, cfg[h].occupancy.bed_h) for h in dhw], [self.streams[h] for h in dhw], off,
        )
        evs = [h for h, c in enumerate(cfg) if c.ev is not None]
        self.ev = Vehicles(evs, [cfg[h].ev for h in evs], [self.streams[h] for h in evs], off)
        self.trip_h = np.array([[c.occupancy.trip_leave_h, c.occupancy.trip_return_h] for c in cfg],
                               dtype=np.float64).reshape(n, 2)
        # plant, PV, battery
        phase = np.array([s.generator("hvac/phase").random() for s in self.streams])
        self.zones = Zones([c.envelope for c in cfg], [c.hvac for c in cfg], self.knot_s, phase)
        self.shadow: Zones | None = None  # the plant as if always served, once supply was cut
        self.kwp = g(lambda c: c.pv.capacity_kwp)
        groups: dict[str, list[int]] = {}
        for h, c in enumerate(cfg):
            if c.pv.capacity_kwp > 0:
                ref = c.pv.model_copy(update={"capacity_kwp": 1.0})
                groups.setdefault(ref.model_dump_json(), []).append(h)
        self.pv_groups = [(cfg[hs[0]].pv.model_copy(update={"capacity_kwp": 1.0}), np.array(hs)) for hs in groups.values()]
        self.battery = [c.battery for c in cfg]
        self.energy = g(lambda c: c.battery.soc_init * c.battery.capacity_kwh * 3.6e6)
        self.shadow_energy: np.ndarray | None = None
        self.lighting_w = g(lambda c: c.appliances.lighting_w_per_active)
        self.lighting_g = g(lambda c: c.appliances.lighting_ghi_threshold_w_per_m2)
        self.logs = {k: CycleLog() for k in ("triggered", "cold", "zones", "dhw", "ev")} if record else None
        self._offsets: HourOffsets | None = None

    # -- supply-independent part ----------------------------------------------------------------
    def demand(self, i0: int, n_steps: int) -> Demand:
        """Render the supply-independent part of steps ``i0 .. i0 + n_steps - 1``."""
        dt, n, w = self.dt, self.n, self.weather
        t = (i0 + np.arange(n_steps)) * dt
        t_lo, t_hi = i0 * dt, (i0 + n_steps) * dt
        off = self._offsets = HourOffsets.cover(self.clock, t_lo, t_hi)
        self.occupants.advance(t_lo, t_hi)
        occ_ = self.occupants
        n_home, n_active = occ_.at(t)
        # weather and sun at the solar points
        ts = t + self.solar_offset_s
        geo, ghi = _sun(w, self.start, ts)
        temp_out = np.asarray(w.temp_c(t), dtype=np.float64)
        temp_solar = temp_out if self.solar_offset_s == 0.0 else np.asarray(w.temp_c(ts), dtype=np.float64)
        pv = np.zeros((n_steps, n), order="F")
        if self.pv_groups:
            wind = np.asarray(w.wind_m_per_s(ts), dtype=np.float64)
            for ref, homes in self.pv_groups:
                pv[:, homes] = pv_ac_power_w(geo, ghi, temp_solar, wind, ref)[:, None] * self.kwp[homes][None, :]
        # appliances: standby, lighting, triggered, water heaters
        days = np.clip(self.clock.local_day_array(t) - self.d0, 0, self.n_days - 1)
        appliance = np.asfortranarray(self.standby_day[:, days].T)  # a column per home: kernels walk homes
        smooth = [h for h in range(n) if self.lighting[h] is None]
        if smooth:
            n_eff = appl._effective_occupancy(n_active[:, smooth])
            dark = np.clip(1.0 - ghi[:, None] / self.lighting_g[smooth][None, :], 0.0, 1.0)
            appliance[:, smooth] += self.lighting_w[smooth][None, :] * n_eff * dark
        for h, bulbs in enumerate(self.lighting):
            if bulbs is not None:
                appliance[:, h] += bulbs.render(t, dt, n_active[:, h], ghi)
        logs = self.logs or {}
        self.triggered.render(appliance, i0, dt, off, occ_.slot_t, occ_.n_active_tab, logs.get("triggered"))
        self.dhw.render(appliance, i0, dt, off, occ_.slot_t, occ_.n_home_tab, logs.get("dhw"))
        ev = np.zeros((n_steps, n), order="F")
        trip_on, trip_d0 = self._trip_days(t_lo, t_hi)
        self.ev.render(ev, i0, dt, off, trip_on, trip_d0, self.trip_h, logs.get("ev"))
        return Demand(i0, t, appliance, ev, pv, temp_out, ghi, n_home, n_active)

    def _trip_days(self, t_lo: float, t_hi: float) -> tuple[np.ndarray, int]:
        """Whether each home is on a trip on each local day around the block, and the first day."""
        if not any(tr is not None for tr in self.trips):
            return np.zeros((self.n, 0), dtype=np.bool_), 0
        d_lo = self.clock.local_day(t_lo) - 2
        d_hi = self.clock.local_day(t_hi) + 3
        out = np.zeros((self.n, d_hi - d_lo + 1), dtype=np.bool_)
        for h, tr in enumerate(self.trips):
            if tr is not None:
                out[h] = [d >= self._trip_first and bool(tr.on_trip(d)[0]) for d in range(d_lo, d_hi + 1)]
        return out, d_lo

    # -- supply-dependent part --------------------------------------------------------------------
    def snapshot(self) -> tuple:
        """The plant's state (zones, batteries) before a block, for :meth:`restore`."""
        return self.zones.snapshot(), self.energy.copy()

    def restore(self, snap: tuple) -> None:
        self.zones.restore(snap[0])
        self.energy[:] = snap[1]

    def _knots(self, i0: int, n_steps: int) -> tuple[int, np.ndarray, np.ndarray]:
        k0, mids = self.zones.knot_range(i0 * self.dt, (i0 + n_steps) * self.dt)
        _, ghi = _sun(self.weather, self.start, mids)
        return k0, np.asarray(self.weather.temp_c(mids), dtype=np.float64), ghi

    def zones_block(self, zones: Zones, d: Demand, served: np.ndarray | None, log: CycleLog | None):
        """Run ``zones`` over the block of ``d`` (hvac power, temperature, mode)."""
        k0, tout, ghi = self._knots(d.i0, d.t_s.size)
        occ_ = self.occupants
        return zones.render(d.i0, d.t_s.size, self.dt, k0, tout, ghi, occ_.slot_t, occ_.n_home_tab,
                            occ_.n_active_tab, served, log)

    def cold_block(self, d: Demand, temp_indoor_c: np.ndarray) -> np.ndarray:
        """The cold appliances' power over the block, following ``temp_indoor_c``."""
        out = np.zeros((d.t_s.size, self.n), order="F")
        self.cold.render(out, d.i0, self.dt, temp_indoor_c, (self.logs or {}).get("cold"))
        return out

    def battery_block(self, energy: np.ndarray, net_w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Self-consumption dispatch of the block (updates ``energy`` in place)."""
        return dispatch(net_w, self.dt, energy, self.battery)

    def plant(self, d: Demand) -> Plant:
        """The plant of homes that are always served (the home twin)."""
        hvac, temp, mode = self.zones_block(self.zones, d, None, (self.logs or {}).get("zones"))
        cold = self.cold_block(d, temp)
        net = d.appliance_w + cold + hvac + d.ev_w - d.pv_w
        batt, soc = self.battery_block(self.energy, net)
        return Plant(hvac, temp, mode, cold, batt, soc)

    # -- ground truth ------------------------------------------------------------------------------
    def take_cycles(self) -> list[tuple[str, str, np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]]:
        """The cycles logged since the last call: ``(category, type, home, start, end, params)`` groups."""
        if self.logs is None:
            return []
        out = []
        row, a, b, e = self.logs["triggered"].take()
        for k, name in enumerate(self.triggered.names):
            m = self.triggered.app[row] == k
            if m.any():
                out.append(("appliance", name, self.triggered.home[row[m]], a[m], b[m], {"energy_j": e[m]}))
        row, a, b, e = self.logs["cold"].take()
        for k, name in enumerate(self.cold.names):
            m = self.cold.kind[row] == k
            if m.any():
                out.append(("appliance", name, self.cold.home[row[m]], a[m], b[m], {"energy_j": e[m]}))
        row, a, b, e = self.logs["zones"].take()
        for mode, name in ((1, "heating_cycle"), (2, "cooling_cycle")):
            m = row % 4 == mode
            if m.any():
                out.append(("control", name, row[m] // 4, a[m], b[m], {"energy_j": e[m]}))
        row, a, b, e = self.logs["dhw"].take()
        if row.size:
            out.append(("appliance", "water_heater", self.dhw.home[row], a, b, {"energy_j": e}))
        k = int(self.logs["ev"].count[0])
        need = self.ev.need_log[:k].copy()
        row, a, b, e = self.logs["ev"].take()
        if row.size:
            out.append(("ev", "ev_charging", self.ev.home[row], a, b, {"energy_j": e, "need_kwh": need}))
        return out

    def forget_before(self, t_s: float) -> None:
        """Drop cached weather no block will ask for again."""
        self.weather.discard_before(t_s - _DAY_S)

