"""Many homes under one weather, simulated together: vectorised across homes.

A feeder has hundreds or thousands of homes. Running a :class:`~twinforge.twins.home.HomeTwin`
per home would cost one SimPy process set per home; the fleet instead advances all homes
together on a sub-step grid (``dt_s``, at most 5 minutes), with numpy arrays of shape
``(n_homes,)`` at each step and whole blocks of shape ``(n_steps, n_homes)`` where the
physics has no state. It uses the same partial models as the home twin (``processes/``):

- occupancy: the same Markov chains (:func:`~twinforge.processes.occupancy.transition_matrices`)
  with the homes' routine and persistence and each occupant's own schedule shift,
  advanced once per 10-minute local slot for every occupant at once;
- appliances: the same catalogue; starts of triggered appliances are Bernoulli draws per
  sub-step at the catalogue rate (times the weekday or weekend factor of
  ``appliances.weekend_scale`` and each home's day factor of ``appliances.day_sigma``)
  while someone is active (the standby times each home's day factor of
  ``appliances.standby_day_sigma``), and each start plays the
  appliance's phase profile (a convolution over the block); cold appliances cycle with
  their duty cycle and a random phase per home;
- envelope and heat pump: the same exact 1R1C step and COP laws, with the thermostat
  deciding at sub-step boundaries (a discrete-time thermostat: at 5-minute steps its
  switching times are quantised to the step, which the feeder aggregate does not resolve);
  a TPI thermostat runs the sub-step's mean duty (its cycles are as short as the sub-step);
- PV, battery and EV: the same pvlib chain (one reference kWp scaled per home), the same
  dispatch rule stepped for all homes at once, the same session laws.

Supply: the caller passes, per sub-step, whether each home is served. An unserved home
draws nothing; its thermostatic loads drift, and at restoration every heat pump whose home
cooled below its band starts at once (cold-load pickup). A *shadow* copy of the thermal
state evolves as if supply had never been cut, so the energy the homes would have drawn
(energy not served) is known exactly; it equals what a counterfactual run without the
outage draws, because random draws never depend on the supply state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from twinforge.core.calendar import LocalClock
from twinforge.core.rng import RngStreams
from twinforge.processes import appliances as appl
from twinforge.processes import occupancy as occ
from twinforge.processes.hvac import GAS_AUX_FRACTION, cop_cooling, cop_heating, tpi_decay, tpi_duty
from twinforge.processes.pv import PVParams, pv_ac_power_w
from twinforge.processes.solar import solar_geometry
from twinforge.processes.weather import Weather
from twinforge.twins.home import HomeConfig

__all__ = ["HomeFleet", "FleetStep"]

_DAY_S = 86_400.0


@dataclass
class FleetStep:
    """Powers of one block of sub-steps, arrays of shape (n_steps, n_homes) [W]."""

    load_w: np.ndarray  # appliances + HVAC + EV actually drawn
    hvac_w: np.ndarray
    pv_w: np.ndarray
    battery_w: np.ndarray  # positive = charging
    net_w: np.ndarray  # load - pv + battery (what the home takes from the feeder)
    would_be_net_w: np.ndarray  # net power had the home been served
    served: np.ndarray  # bool
    temp_indoor_c: np.ndarray
    soc: np.ndarray


class HomeFleet:
    """``n_homes`` homes on one clock and one weather.

    Parameters
    ----------
    configs : sequence of HomeConfig
        One per home (drawn with :func:`~twinforge.twins.home.draw_home`).
    weather : Weather
        The shared weather.
    clock : LocalClock
        Local time of the occupants.
    streams : RngStreams
        Random streams of the fleet (one named stream per component, drawn for all homes).
    dt_s : float
        Sub-step [s].
    """

    def __init__(
        self,
        configs: list[HomeConfig],
        weather: Weather,
        clock: LocalClock,
        streams: RngStreams,
        dt_s: float,
        start: pd.Timestamp,
    ) -> None:
        self.configs = list(configs)
        self.n = n = len(configs)
        self.weather, self.clock, self.dt = weather, clock, float(dt_s)
        self.start = start
        g = lambda f: np.array([f(c) for c in configs], dtype=np.float64)  # noqa: E731
        # Envelope and plant.
        self.ua = g(lambda c: c.envelope.ua_w_per_k)
        self.tau = g(lambda c: c.envelope.tau_s)
        self.aperture = g(lambda c: c.envelope.solar_aperture_m2)
        self.gain_occ = g(lambda c: c.envelope.gain_per_occupant_w)
        self.gain_base = g(lambda c: c.envelope.base_internal_gain_w)
        self.heat_cap = g(lambda c: 0.0 if c.hvac.heating == "none" else c.hvac.heating_capacity_w)
        self.heat_pump = np.array([c.hvac.heating == "heat_pump" for c in configs])
        self.gas = np.array([c.hvac.heating == "gas" for c in configs])
        self.sink = g(lambda c: c.hvac.sink_temp_c)
        self.cool_cap = g(lambda c: c.hvac.cooling_capacity_w if c.hvac.cooling else 0.0)
        self.heat_sp = g(lambda c: c.hvac.heat_setpoint_c)
        self.heat_sb = g(lambda c: c.hvac.heat_setback_c)
        self.cool_sp = g(lambda c: c.hvac.cool_setpoint_c)
        self.cool_sb = g(lambda c: c.hvac.cool_setback_c)
        self.half_band = g(lambda c: c.hvac.deadband_k / 2.0)
        self.tpi = np.array([c.hvac.control == "tpi" for c in configs], dtype=bool)
        self.tpi_decay = tpi_decay(self.tau, np.maximum(g(lambda c: c.hvac.cycle_s), self.dt))
        self.temp = g(lambda c: c.envelope.temp_init_c)
        self.mode = np.zeros(n, dtype=np.int8)
        self.shadow_temp = self.temp.copy()
        self.shadow_mode = self.mode.copy()
        self.decay = np.exp(-self.dt / self.tau)
        # PV: one reference kWp per orientation (all share the base orientation), scaled.
        self.kwp = g(lambda c: c.pv.capacity_kwp)
        self.pv_ref = configs[0].pv.model_copy(update={"capacity_kwp": 1.0}) if n else PVParams()
        # Battery.
        self.cap_j = g(lambda c: c.battery.capacity_kwh * 3.6e6)
        self.p_batt = g(lambda c: c.battery.power_kw * 1e3) * (self.cap_j > 0)
        self.eta_c = g(lambda c: c.battery.eta_charge)
        self.eta_d = g(lambda c: c.battery.eta_discharge)
        self.e_lo = g(lambda c: c.battery.soc_min) * self.cap_j
        self.e_hi = g(lambda c: c.battery.soc_max) * self.cap_j
        self.energy = g(lambda c: c.battery.soc_init) * self.cap_j
        self.shadow_energy = self.energy.copy()
        self.standby = g(lambda c: c.appliances.standby_w)
        # Occupants: one row per occupant, with the home it belongs to.
        self.occ_home = np.repeat(np.arange(n), [c.occupancy.n_occupants for c in configs])
        self._occ_rng = streams.generator("occupancy")
        # The fleet's homes share one routine and persistence; each occupant shifts the
        # routine by its own whole number of slots (schedule_shift_sd_h), as in the home twin.
        routine = configs[0].occupancy if n else occ.OccupancyParams()
        floor = 1.0 - routine.persistence
        # cumulative rows of the slot matrices, once: a state change is one search per occupant
        self._cum = {}
        for weekend in (False, True):
            c = np.cumsum(occ.transition_matrices(occ.occupancy_profile(weekend, routine), redraw_floor=floor), axis=2)
            c[:, :, -1] = 1.0
            self._cum[weekend] = c
        sd = routine.schedule_shift_sd_h
        shift_h = streams.generator("occupancy/shift").normal(0.0, 1.0, size=self.occ_home.size) * sd
        self.occ_shift = np.round(np.clip(shift_h, -3.0 * sd, 3.0 * sd) * occ.SLOTS_PER_DAY / 24.0).astype(np.int64)
        slot = self._slot(0.0)
        prof = occ.occupancy_profile(self.clock.is_weekend(0.0), routine)[(slot - self.occ_shift) % occ.SLOTS_PER_DAY]
        cum0 = np.cumsum(prof, axis=1)
        cum0[:, -1] = 1.0
        u0 = self._occ_rng.random(self.occ_home.size)
        self.occ_state = (u0[:, None] >= cum0).sum(axis=1).astype(np.int8)
        self._occ_slot_t = -1.0
        # Household trips: each home's own day chain (its trip parameters), one stream for all.
        self._profiles = {weekend: occ.occupancy_profile(weekend, routine) for weekend in (False, True)}
        self._trips = None
        self._tripping = np.zeros(self.occ_home.size, dtype=bool)
        if any(c.occupancy.trip_share > 0.0 for c in configs):
            self._trips = occ.TripDays([c.occupancy for c in configs], streams.generator("occupancy/trips"),
                                       self.clock.local_day(0.0))
            self._tripping = self._trips.away(self.clock.local_day(0.0), self.clock.hour_of_day(0.0))[self.occ_home]
            self.occ_state[self._tripping] = occ.AWAY
        # Appliances: ownership per home, triggered profiles on the sub-step grid.
        own_rng = streams.generator("appliances/ownership")
        owned = [c.appliances.owned if c.appliances.owned is not None else appl.draw_ownership(c.appliances, own_rng)
                 for c in configs]  # an empty stock owns nothing, as in the home twin
        self.triggered: list[tuple[appl.ApplianceSpec, np.ndarray, np.ndarray, np.ndarray, np.random.Generator]] = []
        self.cold: list[tuple[appl.ApplianceSpec, np.ndarray, np.ndarray]] = []
        app_rng = streams.generator("appliances/phase")
        for name, spec in appl.APPLIANCES.items():
            mask = np.array([bool(o.get(name, False)) for o in owned])
            if not mask.any():
                continue
            if spec.cold:
                self.cold.append((spec, mask, app_rng.random(n)))
                continue
            profile = self._profile_on_grid(spec)
            scale = g(lambda c: c.appliances.usage_scale)
            n_year = spec.cycles_per_year * scale
            # Starts per second while someone is active (mean over the day's hour weights).
            rate = n_year / (365.25 * _DAY_S)
            # One stream per appliance type: its draws follow time, so blocks of any size
            # consume it identically.
            self.triggered.append((spec, mask, rate, profile, streams.generator(f"appliances/starts/{name}")))
        self._pending = np.zeros((0, n))  # tails of cycles that run into the next block
        self.weekend_scale = g(lambda c: c.appliances.weekend_scale)
        self.day_sigma = g(lambda c: c.appliances.day_sigma)
        self._day_rng = streams.generator("appliances/day")
        self.standby_day_sigma = g(lambda c: c.appliances.standby_day_sigma)
        self._standby_rng = streams.generator("appliances/standby_day")
        self._day_f: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # local day -> each home's use and base factors
        self._day_next: int | None = None  # the next local day to draw
        # EVs: one session per evening at most, drawn per local day.
        self.has_ev = np.array([c.ev is not None for c in configs])
        self.ev_kw = g(lambda c: c.ev.charger_kw if c.ev is not None else 0.0)
        self.ev_need_kwh = np.zeros(n)
        self._ev_rng = streams.generator("ev")
        self._ev_day = -1
        self._ev_window = (np.zeros(n), np.zeros(n))
        self._last_net = 0.0

    # -- helpers -------------------------------------------------------------------------
    def _slot(self, t_s: float) -> int:
        return min(int(self.clock.hour_of_day(t_s) * 6.0), occ.SLOTS_PER_DAY - 1)

    def _profile_on_grid(self, spec: appl.ApplianceSpec) -> np.ndarray:
        """Mean power of one cycle in each sub-step after its start [W], shape (k,)."""
        edges = np.cumsum([0.0] + [d for d, _ in spec.phases])
        powers = np.array([p for _, p in spec.phases])
        k = max(1, int(math.ceil(edges[-1] / self.dt)))
        grid = np.arange(k + 1) * self.dt
        cum = np.interp(grid, edges, np.concatenate(([0.0], np.cumsum(powers * np.diff(edges)))))
        return np.diff(cum) / self.dt

    def _update_occupancy(self, t_s: float) -> None:
        slot_t = math.floor(t_s / occ.SLOT_S) * occ.SLOT_S
        if slot_t == self._occ_slot_t:
            return
        self._occ_slot_t = slot_t
        slot = self._slot(t_s)
        prev = (slot - 1) % occ.SLOTS_PER_DAY
        # each occupant's row: the routine's matrix at its own shifted slot, its current state
        weekend = bool(self.clock.is_weekend(t_s))
        rows = self._cum[weekend][(prev - self.occ_shift) % occ.SLOTS_PER_DAY, self.occ_state]
        u = self._occ_rng.random(self.occ_state.size)
        state = (u[:, None] >= rows).sum(axis=1).astype(np.int8)
        if self._trips is not None:  # as occupant_process: away on a trip, the slot's marginal on return
            away = self._trips.away(self.clock.local_day(t_s), self.clock.hour_of_day(t_s))[self.occ_home]
            back = self._tripping & ~away
            if back.any():
                cum0 = np.cumsum(self._profiles[weekend][(slot - self.occ_shift[back]) % occ.SLOTS_PER_DAY], axis=1)
                state[back] = (u[back, None] >= cum0[:, :-1]).sum(axis=1)
            state[away] = occ.AWAY
            self._tripping = away
        self.occ_state = state

    def occupants(self) -> tuple[np.ndarray, np.ndarray]:
        """Occupants at home and active per home, shape (n_homes,)."""
        home = np.bincount(self.occ_home, weights=(self.occ_state > 0), minlength=self.n)
        active = np.bincount(self.occ_home, weights=(self.occ_state == occ.ACTIVE), minlength=self.n)
        return home, active

    def _day_factors(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each home's per-local-day factors at the sub-steps ``t``, shape (len(t), n_homes) each.

        The use factor on the start rates (``appliances.day_sigma``, stream
        ``appliances/day``) and the base-load factor on the standby
        (``appliances.standby_day_sigma``, stream ``appliances/standby_day``): one lognormal
        draw per home and local day each, drawn when the day first comes up; blocks advance
        in time, so any block size draws the same.
        """
        days = self.clock.local_day_array(t).tolist()
        first = days[0] if self._day_next is None else self._day_next
        for d in range(first, days[-1] + 1):
            self._day_f[d] = (appl.day_factors(self.day_sigma, self.n, self._day_rng),
                              appl.day_factors(self.standby_day_sigma, self.n, self._standby_rng))
        self._day_next = max(first, days[-1] + 1)
        for d in [d for d in self._day_f if d < days[0]]:
            del self._day_f[d]
        return (np.stack([self._day_f[d][0] for d in days]), np.stack([self._day_f[d][1] for d in days]))

    def _ev_sessions(self, t_s: float) -> None:
        """Draw tonight's charging windows at each local midnight."""
        day = int(self.clock.local_s(t_s) // _DAY_S)
        if day == self._ev_day:
            return
        self._ev_day = day
        rng, n = self._ev_rng, self.n
        midnight = t_s - (self.clock.local_s(t_s) % _DAY_S)
        km = rng.lognormal(np.log(35.0) - 0.18, 0.6, n)
        drives = rng.random(n) < 0.85
        u_plug = rng.random(n)
        arrive_h = np.clip(rng.normal(18.0, 1.5, n), 12.0, 23.9)
        home = np.ones(n, dtype=bool)
        if self._trips is not None:  # a car away with its household on a trip is charged elsewhere
            home = ~self._trips.away(day, arrive_h)
        self.ev_need_kwh += np.where(drives & home & self.has_ev, km * 0.18, 0.0)
        plug = home & ((u_plug < 0.6) | (self.ev_need_kwh > 30.0))
        arrive = midnight + 3600.0 * arrive_h
        dur = np.where(plug & self.has_ev, self.ev_need_kwh / np.maximum(self.ev_kw, 1e-9) * 3600.0, 0.0)
        dur = np.minimum(dur, midnight + _DAY_S + 7.5 * 3600.0 - arrive)
        self.ev_need_kwh = np.where(plug & self.has_ev, self.ev_need_kwh - dur / 3600.0 * self.ev_kw, self.ev_need_kwh)
        self._ev_window = (arrive, arrive + dur)

    # -- the block -------------------------------------------------------------------------
    def step_block(self, t0_s: float, n_steps: int, supply) -> FleetStep:
        """Advance ``n_steps`` sub-steps from ``t0_s``.

        Parameters
        ----------
        t0_s : float
            Engine time of the block's first sub-step [s].
        n_steps : int
        supply : callable ``(k, t_s, last_net_total_w) -> ndarray of bool (n_homes,)``
            Which homes have supply in sub-step ``k`` (at ``t_s``), given the feeder's net
            demand of the previous sub-step [W] (protection decides as the block runs).
        """
        n, dt = self.n, self.dt
        t = t0_s + np.arange(n_steps) * dt
        mid = t + dt / 2.0
        times = pd.DatetimeIndex(self.start + pd.to_timedelta(mid, unit="s"))
        w = self.weather
        geom = solar_geometry(times, w.latitude_deg, w.longitude_deg, w.altitude_m)
        temp_out = np.asarray(w.temp_c(mid), dtype=np.float64)
        ghi = np.asarray(w.ghi_w_per_m2(mid, zenith_deg=geom["apparent_zenith"].to_numpy()), dtype=np.float64)
        wind = np.asarray(w.wind_m_per_s(mid), dtype=np.float64)
        pv_ref = pv_ac_power_w(geom, ghi, temp_out, wind, self.pv_ref) if self.kwp.any() else np.zeros(n_steps)
        pv = pv_ref[:, None] * self.kwp[None, :]

        # Occupancy per step (10-minute slots), then appliance starts for the whole block.
        n_home = np.empty((n_steps, n))
        n_active = np.empty((n_steps, n))
        hours = np.empty(n_steps)
        for k in range(n_steps):
            self._update_occupancy(t[k])
            n_home[k], n_active[k] = self.occupants()
            hours[k] = self.clock.hour_of_day(t[k])
        per_day = np.any(self.day_sigma > 0) or np.any(self.standby_day_sigma > 0)
        day_use, day_base = self._day_factors(t) if per_day else (1.0, 1.0)
        appliance = np.broadcast_to(self.standby, (n_steps, n)) * day_base
        appliance += appl.lighting_power_w(n_active, ghi[:, None], self.configs[0].appliances) if n else 0.0
        horizon = max([tr[3].size for tr in self.triggered], default=1)
        block = np.zeros((n_steps + horizon, n))
        block[: self._pending.shape[0]] += self._pending
        active = n_active > 0
        use = 1.0  # the weekday/weekend and per-day factors on the start rates
        if np.any(self.weekend_scale != 1.0):
            use = appl.week_factor(self.weekend_scale[None, :], self.clock.is_weekend_array(t)[:, None])
        use = use * day_use
        for spec, mask, rate, profile, start_rng in self.triggered:
            wts = np.asarray(spec.hour_weights, dtype=np.float64)
            wts = wts / wts.mean()
            p_start = rate[None, :] * wts[hours.astype(int)][:, None] * dt * use
            allowed = (active if spec.requires_active else np.ones_like(active)) & mask[None, :]
            u = start_rng.random((n_steps, n))
            starts = (u < p_start) & allowed
            for j, pw in enumerate(profile):
                block[j : j + n_steps] += starts * pw
        appliance += block[:n_steps]
        self._pending = block[n_steps:]
        cycle_t = t[:, None] / 1800.0  # compressor cycles of about 30 minutes
        for spec, mask, phase in self.cold:
            on = ((cycle_t + phase[None, :]) % 1.0) < spec.duty_cycle
            appliance += on * mask[None, :] * spec.phases[0][1]
        # EV charging windows.
        ev = np.zeros((n_steps, n))
        for k in range(n_steps):
            self._ev_sessions(t[k])
            a, b = self._ev_window
            overlap = np.clip(np.minimum(b, t[k] + dt) - np.maximum(a, t[k]), 0.0, dt) / dt
            ev[k] = overlap * self.ev_kw * 1e3

        # Thermal and battery: the stateful part, one step at a time for all homes.
        hvac = np.empty((n_steps, n))
        hvac_shadow = np.empty((n_steps, n))
        temp_in = np.empty((n_steps, n))
        batt = np.empty((n_steps, n))
        batt_shadow = np.empty((n_steps, n))
        soc = np.empty((n_steps, n))
        served = np.empty((n_steps, n), dtype=bool)
        sol = ghi[:, None] * self.aperture[None, :]
        last = self._last_net
        for k in range(n_steps):
            served[k] = on = supply(k, float(t[k]), last)
            q_free = sol[k] + self.gain_base + self.gain_occ * n_home[k]
            occupied = n_active[k] > 0
            heat_sp = np.where(occupied, self.heat_sp, self.heat_sb)
            cool_sp = np.where(occupied, self.cool_sp, self.cool_sb)
            temp_in[k] = self.temp
            hvac[k], self.temp, self.mode = self._thermal(self.temp, self.mode, temp_out[k], q_free, heat_sp, cool_sp, on)
            hvac_shadow[k], self.shadow_temp, self.shadow_mode = self._thermal(
                self.shadow_temp, self.shadow_mode, temp_out[k], q_free, heat_sp, cool_sp, True
            )
            soc[k] = np.divide(self.energy, self.cap_j, out=np.zeros(n), where=self.cap_j > 0)
            gross = appliance[k] + ev[k]
            batt[k], self.energy = self._battery(self.energy, (gross + hvac[k] - pv[k]) * on)
            batt_shadow[k], self.shadow_energy = self._battery(self.shadow_energy, gross + hvac_shadow[k] - pv[k])
            last = float(((gross + hvac[k] - pv[k]) * on + batt[k]).sum())
        self._last_net = last
        served_f = served.astype(np.float64)
        load = (appliance + ev) * served_f + hvac
        pv_out = pv * served_f  # inverters disconnect without grid (anti-islanding)
        would_be = appliance + ev + hvac_shadow - pv + batt_shadow
        return FleetStep(
            load_w=load, hvac_w=hvac, pv_w=pv_out, battery_w=batt,
            net_w=load - pv_out + batt, would_be_net_w=would_be, served=served,
            temp_indoor_c=temp_in, soc=soc,
        )

    def _thermal(self, temp, mode, t_out, q_free, heat_sp, cool_sp, served):
        """One exact 1R1C step with a thermostat deciding at the step start.

        Hysteresis homes switch on/off across their band; TPI homes run the sub-step's mean
        duty (:func:`~twinforge.processes.hvac.tpi_duty`, the plant's cycles are shorter
        than or comparable to the sub-step and their phases differ from home to home).
        """
        h = self.half_band
        served = np.broadcast_to(np.asarray(served, dtype=bool), temp.shape)
        can_heat = (self.heat_cap > 0) & served
        can_cool = (self.cool_cap > 0) & served
        new = mode.copy()
        new[(mode == 0) & can_heat & (temp <= heat_sp - h)] = 1
        new[(mode == 0) & can_cool & (temp >= cool_sp + h)] = 2
        new[(mode == 1) & (temp >= heat_sp + h)] = 0
        new[(mode == 2) & (temp <= cool_sp - h)] = 0
        duty = np.ones_like(temp)
        if self.tpi.any():
            args = (t_out, q_free)
            d_h = tpi_duty(temp, heat_sp, *args, self.heat_cap * can_heat, self.ua, self.tpi_decay)
            d_c = tpi_duty(temp, cool_sp, *args, self.cool_cap * can_cool, self.ua, self.tpi_decay, sign=-1.0)
            tpi_mode = np.where(d_h >= d_c, 1, 2) * (np.maximum(d_h, d_c) > 0)
            new = np.where(self.tpi, tpi_mode, new).astype(np.int8)
            duty = np.where(self.tpi, np.maximum(d_h, d_c), 1.0)
        new[~served] = 0  # no supply, no plant (cold-load pickup follows on restoration)
        q = np.where(new == 1, self.heat_cap * duty, 0.0) - np.where(new == 2, self.cool_cap * duty, 0.0)
        cop_h = np.where(self.heat_pump, cop_heating(t_out, self.sink), np.where(self.gas, 1.0 / GAS_AUX_FRACTION, 1.0))
        cop_c = cop_cooling(temp, t_out)
        p_el = np.where(new == 1, self.heat_cap * duty / cop_h, 0.0) + np.where(new == 2, self.cool_cap * duty / cop_c, 0.0)
        t_eq = t_out + (q_free + q) / self.ua
        return p_el, t_eq + (temp - t_eq) * self.decay, new

    def _battery(self, energy, net_w):
        """Self-consumption dispatch of one sub-step for all homes."""
        p_des = np.clip(-net_w, -self.p_batt, self.p_batt)
        d_e = np.where(p_des > 0, p_des * self.eta_c, p_des / np.maximum(self.eta_d, 1e-12)) * self.dt
        new = np.clip(energy + d_e, self.e_lo, self.e_hi)
        new = np.where(self.cap_j > 0, new, energy)
        de = new - energy
        power = np.where(de > 0, de / self.eta_c, de * self.eta_d) / self.dt
        return power, new
