"""Household appliances: cold-appliance compressor cycles, occupant-triggered cycles, lighting.

Three kinds of load make up ``appliance_power_w`` of the home twin:

- **cold appliances** (fridge, fridge-freezer, freezer) cycle their compressor day and night,
  with a duty cycle that rises with the room temperature (:func:`cold_duty_cycle`);
- **triggered appliances** (washing machine, kettle, oven, TV, ...) start as a
  non-homogeneous Poisson process in local time, only while someone is at home and awake,
  at a rate that makes up for the time they are busy (:func:`idle_start_rate_per_s`), and
  play a phase-by-phase power profile;
- **lighting and standby** are rendered on the sample grid with numpy: lighting either as its
  smooth expectation (:func:`lighting_power_w`) or light point by light point
  (:class:`LightingBulbs`, the CREST lighting model, with ``lighting_bulbs > 0``); standby is
  `standby_w`, times a per-day factor with `standby_day_sigma`.

The catalogue :data:`APPLIANCES` takes ownership rates, cycles per year, mean cycle lengths
and powers from the CREST domestic electricity demand model: Richardson, Thomson, Infield &
Clifford (2010), "Domestic electricity use: a high-resolution energy demand model", Energy
and Buildings 42(10), 1878-1887, doi:10.1016/j.enbuild.2010.05.023 (appliance table as
distributed with the CREST spreadsheet and richardsonpy, ``inputs/Appliances.csv``). The
phase profiles inside a cycle (heating, wash, spin, ...) are hand-shaped after typical
metered cycles, keeping the CREST energy per cycle within about 15 %; the start-time
weights per local hour are hand-shaped after the CREST activity profiles and the UK
Household Electricity Survey hourly curves (Zimmermann et al. 2012, "Household
Electricity Survey: A study of domestic electrical product usage", Intertek report
R66141 for DEFRA/DECC/EST), not copied from them. Each entry's ``source`` says which.

This module holds the catalogue, the laws and the lighting; the cycles of many homes are
advanced event by event in compiled kernels by :mod:`twinforge.components.appliances`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator
from scipy.special import ndtr

from twinforge.core.timeline import StepSignal

__all__ = [
    "APPLIANCES",
    "EFFECTIVE_OCCUPANCY",
    "LIGHT_DURATION_RANGES_MIN",
    "LIGHT_SWITCH_PER_MIN",
    "REFERENCE_AMBIENT_C",
    "ApplianceSpec",
    "AppliancesParams",
    "LightingBulbs",
    "cold_duty_cycle",
    "day_factors",
    "draw_ownership",
    "idle_start_rate_per_s",
    "lighting_power_w",
    "week_factor",
]

_YEAR_S = 365.25 * 86_400.0
#: Room temperature [degC] at which a cold appliance runs at its declared duty cycle.
REFERENCE_AMBIENT_C = 20.0
#: Largest share of the year an appliance may be busy; more demand saturates.
_MAX_BUSY = 0.9
#: Coefficients of variation of compressor on and off times (hand-set jitter).
_ON_CV, _OFF_CV = 0.1, 0.2


@dataclass(frozen=True)
class ApplianceSpec:
    """One appliance type of the catalogue.

    Attributes
    ----------
    name : str
        Catalogue key and event ``type``.
    phases : tuple of (duration_s, power_w)
        Power profile of one cycle: each phase lasts ``duration_s`` [s] at ``power_w`` [W].
        For a cold appliance, one phase: the mean compressor run and its power.
    ownership : float
        Share of households owning one [1].
    cycles_per_year : float
        Cycles per year of a triggered appliance when someone is always active at home
        (realised counts are lower in proportion to the weighted hours with nobody
        active). Unused for cold appliances.
    hour_weights : tuple of 24 float
        Relative start rate per local hour (00-01, ..., 23-24); normalised internally.
    requires_active : bool
        Starts only while at least one occupant is at home and awake.
    source : str
        Where the numbers come from.
    cold : bool
        Compressor-cycling cold appliance (:mod:`twinforge.components.appliances`).
    duty_cycle : float
        Cold appliances: compressor duty cycle at :data:`REFERENCE_AMBIENT_C` [1].
    compartment_c : float
        Cold appliances: inside temperature [degC] (heat leak ~ room - inside).
    duration_sd : float
        Relative standard deviation of a per-cycle factor that stretches every phase
        (lognormal, mean 1): how long the kettle boils, the oven bakes, the TV stays on.
    """

    name: str
    phases: tuple[tuple[float, float], ...]
    ownership: float
    cycles_per_year: float
    hour_weights: tuple[float, ...]
    requires_active: bool = True
    source: str = ""
    cold: bool = False
    duty_cycle: float = 0.0
    compartment_c: float = 4.0
    duration_sd: float = 0.0

    def __post_init__(self) -> None:
        if not self.phases or any(d <= 0 or p < 0 for d, p in self.phases):
            raise ValueError(f"{self.name}: phases need durations > 0 s and powers >= 0 W")
        w = self.hour_weights
        if len(w) != 24 or min(w) < 0 or sum(w) <= 0:
            raise ValueError(f"{self.name}: hour_weights must be 24 non-negative values, not all 0")
        if not 0.0 <= self.ownership <= 1.0:
            raise ValueError(f"{self.name}: ownership must lie in [0, 1]")
        if self.cycles_per_year < 0 or self.duration_sd < 0:
            raise ValueError(f"{self.name}: cycles_per_year and duration_sd must be >= 0")
        if self.cold and not (0.0 < self.duty_cycle < 1.0 and len(self.phases) == 1):
            raise ValueError(
                f"{self.name}: a cold appliance needs one phase and 0 < duty_cycle < 1"
            )

    @property
    def cycle_duration_s(self) -> float:
        """Nominal length of one cycle [s]."""
        return float(sum(d for d, _ in self.phases))

    @property
    def cycle_energy_j(self) -> float:
        """Nominal energy of one cycle, sum of power x duration over the phases [J]."""
        return float(sum(d * p for d, p in self.phases))

    @property
    def mean_power_w(self) -> float:
        """Nominal yearly mean power [W]: duty x power (cold) or cycles x energy / year."""
        if self.cold:
            return self.duty_cycle * self.phases[0][1]
        return self.cycles_per_year * self.cycle_energy_j / _YEAR_S


_CREST = "CREST appliance table, Richardson et al. 2010, doi:10.1016/j.enbuild.2010.05.023"
_HAND = "hand-shaped phases and hour weights"

# Hour weights (local hours 0..23), hand-shaped after CREST activity profiles / HES curves.
_W_COOK = (0.1, 0.05, 0.05, 0.05, 0.05, 0.1, 0.4, 0.9, 1.0, 0.7, 0.6, 1.2,
           2.0, 1.6, 0.8, 0.7, 1.1, 2.4, 3.0, 2.4, 1.3, 0.7, 0.4, 0.2)
_W_MICRO = (0.2, 0.1, 0.05, 0.05, 0.05, 0.1, 0.4, 0.9, 1.0, 0.8, 0.8, 1.3,
            1.9, 1.5, 0.9, 0.9, 1.2, 1.9, 2.2, 1.8, 1.2, 0.9, 0.6, 0.3)
_W_KETTLE = (0.2, 0.1, 0.05, 0.05, 0.05, 0.2, 0.8, 1.8, 1.9, 1.5, 1.3, 1.2,
             1.3, 1.2, 1.1, 1.1, 1.2, 1.5, 1.5, 1.3, 1.2, 1.0, 0.7, 0.4)
_W_WASH = (0.05, 0.02, 0.02, 0.02, 0.02, 0.05, 0.3, 0.9, 1.6, 2.0, 2.0, 1.7,
           1.4, 1.2, 1.1, 1.0, 1.0, 1.0, 1.0, 0.9, 0.7, 0.5, 0.3, 0.1)
_W_DRY = (0.1, 0.05, 0.02, 0.02, 0.02, 0.02, 0.1, 0.4, 0.9, 1.4, 1.8, 1.9,
          1.7, 1.5, 1.3, 1.2, 1.2, 1.2, 1.2, 1.2, 1.1, 0.9, 0.6, 0.3)
_W_DISH = (0.1, 0.05, 0.02, 0.02, 0.02, 0.05, 0.2, 0.6, 0.9, 0.9, 0.7, 0.6,
           0.7, 1.0, 1.1, 0.9, 0.7, 0.8, 1.3, 2.2, 2.6, 2.3, 1.4, 0.5)
_W_TV = (0.3, 0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 0.6, 0.7, 0.6, 0.6, 0.7,
         0.8, 0.9, 0.9, 1.0, 1.2, 1.6, 2.2, 2.8, 2.9, 2.4, 1.5, 0.7)
_W_PC = (0.3, 0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 0.8, 1.2, 1.4, 1.4, 1.3,
         1.2, 1.3, 1.3, 1.3, 1.3, 1.3, 1.4, 1.6, 1.7, 1.5, 1.0, 0.6)
_W_HOUSE = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.1, 0.5, 1.2, 2.0, 2.3, 2.0,
            1.3, 1.3, 1.6, 1.6, 1.4, 1.1, 0.9, 0.8, 0.6, 0.4, 0.1, 0.02)
_W_FLAT = (1.0,) * 24


def _cold(name: str, on_min: float, power_w: float, duty: float, own: float, inside_c: float,
          note: str) -> ApplianceSpec:
    return ApplianceSpec(
        name=name, phases=((on_min * 60.0, power_w),), ownership=own, cycles_per_year=0.0,
        hour_weights=_W_FLAT, requires_active=False, cold=True, duty_cycle=duty,
        compartment_c=inside_c, source=note,
    )


#: Default catalogue (key = ``ApplianceSpec.name``).
APPLIANCES: dict[str, ApplianceSpec] = {
    s.name: s
    for s in (
        # Cold: CREST ownership, run length and annual energy (fridge 202, fridge-freezer
        # 426, chest/upright freezer 271/316 kWh/yr); compressor powers of current A-class
        # units (70-120 W) with the duty cycle that keeps the CREST annual energy, within
        # the 0.3-0.5 run-time share usually metered at 20 degC.
        _cold("fridge", 18.0, 70.0, 0.33, 0.430, 4.0,
              f"{_CREST}: refrigerator, 18 min runs, 202 kWh/yr; power/duty rebalanced"),
        _cold("fridge_freezer", 22.0, 120.0, 0.40, 0.651, -18.0,
              f"{_CREST}: fridge freezer, 22 min runs, 426 kWh/yr; power/duty rebalanced"),
        _cold("freezer", 17.0, 90.0, 0.37, 0.407, -18.0,
              f"{_CREST}: chest (0.163) or upright (0.291) freezer merged, ~295 kWh/yr"),
        ApplianceSpec(
            "washing_machine",
            # fill, heat water, wash, spin, rinse, final spin, anti-crease: 125 min, 0.90 kWh
            ((300, 120), (900, 2000), (3600, 200), (600, 400), (1200, 150), (600, 450), (300, 30)),
            ownership=0.781, cycles_per_year=195.9, hour_weights=_W_WASH, duration_sd=0.05,
            source=f"{_CREST}: 195.9 cycles/yr, 138 min, 0.93 kWh/cycle; {_HAND}",
        ),
        ApplianceSpec(
            "tumble_dryer",
            # full heat, thermostat-regulated heat, cool-down: 70 min, 2.13 kWh
            ((2700, 2400), (900, 1200), (600, 200)),
            ownership=0.416, cycles_per_year=122.1, hour_weights=_W_DRY, duration_sd=0.2,
            source=f"{_CREST}: 122.1 cycles/yr, 60 min at 2500 W; {_HAND}",
        ),
        ApplianceSpec(
            "dishwasher",
            # fill/pre-wash, heat wash water, wash, drain/rinse, heat final rinse, dry: 93 min
            ((300, 80), (1000, 2000), (1800, 120), (600, 50), (700, 2000), (1200, 20)),
            ownership=0.335, cycles_per_year=241.5, hour_weights=_W_DISH, duration_sd=0.05,
            source=f"{_CREST}: 241.5 cycles/yr, 1.13 kWh/cycle; two heating phases; {_HAND}",
        ),
        ApplianceSpec(
            "oven",
            # preheat at full power, then thermostat cycling (mean 1 kW): 42 min, 1.0 kWh
            ((720, 2500), (1800, 1000)),
            ownership=0.616, cycles_per_year=219.8, hour_weights=_W_COOK, duration_sd=0.3,
            source=f"{_CREST}: 219.8 cycles/yr, 27 min at 2125 W (0.96 kWh); {_HAND}",
        ),
        ApplianceSpec(
            "hob",
            # bring to the boil, simmer: 23 min, 0.54 kWh
            ((480, 2200), (900, 1000)),
            ownership=0.463, cycles_per_year=417.9, hour_weights=_W_COOK, duration_sd=0.3,
            source=f"{_CREST}: 417.9 cycles/yr, 16 min at 2400 W (0.64 kWh); {_HAND}",
        ),
        ApplianceSpec(
            "microwave",
            ((240, 1200),),
            ownership=0.859, cycles_per_year=700.0, hour_weights=_W_MICRO, duration_sd=0.5,
            source=(
                f"{_CREST}: 1250 W; uses of 4 min, 700/yr, keeping the CREST 59 kWh/yr "
                f"(94.6 cycles of 30 min); {_HAND}"
            ),
        ),
        ApplianceSpec(
            "kettle",
            ((180, 2000),),
            ownership=0.975, cycles_per_year=1519.8, hour_weights=_W_KETTLE, duration_sd=0.25,
            source=f"{_CREST}: 1519.8 cycles/yr, 3 min at 2000 W; hour weights hand-shaped",
        ),
        ApplianceSpec(
            "television",
            ((73 * 60, 124),),
            ownership=0.977, cycles_per_year=1464.3, hour_weights=_W_TV, duration_sd=0.5,
            source=f"{_CREST}: TV 1, 1464.3 cycles/yr, 73 min at 124 W; hour weights hand-shaped",
        ),
        ApplianceSpec(
            "computer",
            ((300 * 60, 141),),
            ownership=0.708, cycles_per_year=449.2, hour_weights=_W_PC, duration_sd=0.5,
            source=f"{_CREST}: personal computer, 449.2 cycles/yr, 300 min at 141 W; {_HAND}",
        ),
        ApplianceSpec(
            "vacuum",
            ((20 * 60, 2000),),
            ownership=0.937, cycles_per_year=110.4, hour_weights=_W_HOUSE, duration_sd=0.3,
            source=f"{_CREST}: 110.4 cycles/yr, 20 min at 2000 W; hour weights hand-shaped",
        ),
        ApplianceSpec(
            "iron",
            ((30 * 60, 1000),),
            ownership=0.900, cycles_per_year=35.5, hour_weights=_W_HOUSE, duration_sd=0.3,
            source=f"{_CREST}: 35.5 cycles/yr, 30 min at 1000 W; hour weights hand-shaped",
        ),
    )
}

#: CREST lighting "effective occupancy" (sharing of lights) for 0..5 active occupants,
#: Richardson, Thomson, Infield & Delahunty (2009), "Domestic lighting: a high-resolution
#: energy demand model", Energy and Buildings 41(7), 781-789,
#: doi:10.1016/j.enbuild.2009.02.010; extended by +0.1 per further occupant (hand-set).
EFFECTIVE_OCCUPANCY = np.array([0.0, 1.0, 1.528, 1.694, 1.983, 2.094, 2.194, 2.294, 2.394])
#: CREST lighting (Richardson et al. 2009): a light point, once on, stays on for a duration
#: drawn from one of these nine ranges [min], each equally likely, uniform within it (mean
#: 36.7 min), or until nobody is active.
LIGHT_DURATION_RANGES_MIN = (
    (1.0, 1.0), (2.0, 2.0), (3.0, 4.0), (5.0, 8.0), (9.0, 16.0),
    (17.0, 27.0), (28.0, 49.0), (50.0, 91.0), (92.0, 259.0),
)
#: CREST lighting calibration scalar: the switch-on probability per minute of a light point of
#: relative use weighting 1, for one effective active occupant in the dark [1/min].
LIGHT_SWITCH_PER_MIN = 0.00815368639667705
#: CREST: a home's switch-on irradiance threshold is drawn with this SD about its mean [W m-2].
_LIGHT_THRESHOLD_SD = 10.0
#: CREST: while it is bright, a light point switches on at this share of its rate.
_LIGHT_BRIGHT_SHARE = 0.05
_LIGHT_MEAN_DURATION_MIN = float(np.mean([(a + b) / 2.0 for a, b in LIGHT_DURATION_RANGES_MIN]))
_LIGHT_LO_S = np.array([a for a, _ in LIGHT_DURATION_RANGES_MIN]) * 60.0
_LIGHT_HI_S = np.array([b for _, b in LIGHT_DURATION_RANGES_MIN]) * 60.0


class AppliancesParams(BaseModel):
    """Appliance stock and usage of one home.

    Attributes
    ----------
    owned : dict of str to bool or None
        Which catalogue appliances the home owns (missing names: not owned). ``None`` draws
        ownership from the catalogue rates with the run's random stream
        (:func:`draw_ownership`).
    usage_scale : float
        Multiplies the cycles per year of every triggered appliance [1].
    standby_w : float
        Standby/base load [W], constant through a day. Default 50 W: the UK Household
        Electricity Survey (Zimmermann et al. 2012, Intertek R66141) found standby at 9-16 %
        of a mean 3,638 kWh/yr, i.e. 37-66 W.
    standby_day_sigma : float
        Day-to-day spread of the base load [1]: every local day draws one lognormal factor
        of mean 1 and this sigma (:func:`day_factors`, its own random stream) that multiplies
        ``standby_w`` all that day (always-on loads plugged in or out for days: a second
        fridge, a dehumidifier, a small heater, chargers). Default 0: the same base every
        day. The UCI house's daily 5 % quantile spreads over 206-314 W on ordinary days.
    lighting_w_per_active : float
        Lighting power per effective active occupant in the dark [W]. Default 120 W:
        hand-set for LED-era homes, giving about 200-300 kWh/yr, below the HES 2010-11
        lighting share (15 % of 3,638 kWh/yr with incandescent/CFL stock).
    lighting_ghi_threshold_w_per_m2 : float
        Outdoor global horizontal irradiance below which lights are needed [W m-2];
        default 60 W m-2 (CREST lighting model, Richardson et al. 2009).
    lighting_bulbs : int
        Number of light points switched one by one (:class:`LightingBulbs`, the CREST
        lighting model) [1]. Default 0: the lighting is its smooth expectation
        (:func:`lighting_power_w`). With light points, ``lighting_w_per_active`` is still the
        expected power for one active occupant in the dark (in steady state), but the power
        steps as lamps go on and off, lamps stay on for minutes to hours, and a few strong
        lamps (the UCI house's halogen era: 4 points) step more than many weak ones. The
        grid twin's feeder homes render the expectation (a grid refuses light points).
    lighting_bulb_sigma : float
        Lognormal spread of the light points' ratings [1]; default 0.6 (hand-set: 60 W
        incandescent lamps beside 11-20 W CFLs and 100 W lamps).
    day_sigma : float
        Day-to-day variability of use [1]: every local day draws one lognormal factor of
        mean 1 and this sigma (:func:`day_factors`) that multiplies the start rate of
        *every* triggered appliance that day (busy days with guests, cooking and laundry,
        quiet days eating out). Default 0: every day alike, as in CREST, whose appliances
        are independent given occupancy.
    weekend_scale : float
        Ratio of the start rates on Saturdays and Sundays to those on weekdays [1], on top
        of the weekend occupancy shape (more people at home); the mean over a week is kept,
        so the yearly cycle counts do not change (:func:`week_factor`). Default 1: the
        appliances follow occupancy alone, as in CREST.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    owned: dict[str, bool] | None = Field(None, description="owned appliances; None = draw")
    usage_scale: float = Field(1.0, ge=0.0, le=5.0, description="scale of cycles per year [1]")
    standby_w: float = Field(50.0, ge=0.0, le=500.0, description="standby/base load [W]")
    standby_day_sigma: float = Field(
        0.0, ge=0.0, le=1.0, description="lognormal sigma of a per-day factor on the standby load [1]"
    )
    lighting_w_per_active: float = Field(
        120.0, ge=0.0, le=1000.0, description="lighting per effective active occupant [W]"
    )
    lighting_ghi_threshold_w_per_m2: float = Field(
        60.0, ge=1.0, le=500.0, description="irradiance below which lights are on [W m-2]"
    )
    lighting_bulbs: int = Field(
        0, ge=0, le=60,
        description="light points switched one by one (CREST); 0 = smooth expectation [count]",
    )
    lighting_bulb_sigma: float = Field(
        0.6, ge=0.0, le=2.0, description="lognormal sigma of the light points' ratings [1]"
    )
    day_sigma: float = Field(
        0.0, ge=0.0, le=1.5, description="lognormal sigma of a per-day factor on all appliance start rates [1]"
    )
    weekend_scale: float = Field(
        1.0, ge=0.2, le=4.0, description="weekend-to-weekday ratio of the appliance start rates [1]"
    )

    @field_validator("owned")
    @classmethod
    def _known(cls, v: dict[str, bool] | None) -> dict[str, bool] | None:
        if v is not None:
            unknown = sorted(set(v) - set(APPLIANCES))
            if unknown:
                raise ValueError(f"unknown appliances {unknown}; known: {sorted(APPLIANCES)}")
        return v


def draw_ownership(params: AppliancesParams, rng: np.random.Generator) -> dict[str, bool]:
    """Which catalogue appliances a home owns.

    With ``params.owned`` set, that choice (missing names False). Otherwise one Bernoulli
    draw per catalogue entry (in catalogue order) at its ``ownership`` rate; a home that
    draws neither a fridge nor a fridge-freezer gets a fridge-freezer (nearly every home
    has a cold appliance, which the independent CREST rates do not guarantee).

    Returns
    -------
    dict of str to bool
        Every catalogue name.
    """
    if params.owned is not None:
        return {name: bool(params.owned.get(name, False)) for name in APPLIANCES}
    u = rng.random(len(APPLIANCES))
    owned = {name: bool(u[i] < spec.ownership) for i, (name, spec) in enumerate(APPLIANCES.items())}
    if not (owned.get("fridge") or owned.get("fridge_freezer")) and "fridge_freezer" in owned:
        owned["fridge_freezer"] = True
    return owned


def cold_duty_cycle(spec: ApplianceSpec, ambient_c: float | np.ndarray = REFERENCE_AMBIENT_C):
    """Compressor duty cycle at a room temperature [1].

    The heat leaking into the cabinet, hence the compressor run share, is proportional to
    the room-to-compartment temperature difference:

    .. math::  d(T) = d_{ref}\\,\\frac{T - T_{in}}{T_{ref} - T_{in}}, \\quad
               T_{ref} = 20\\,^\\circ C

    clipped to [0.05, 0.95] (door openings and a fixed compressor capacity, ignored here,
    bound it in practice). A fridge at 4 degC runs 31 % longer at 25 degC than at 20 degC,
    a freezer at -18 degC 13 % longer.

    Examples
    --------
    >>> round(float(cold_duty_cycle(APPLIANCES["fridge"], 25.0)), 4)
    0.4331
    """
    t_in = spec.compartment_c
    temp_c = np.asarray(ambient_c, dtype=np.float64)
    d = spec.duty_cycle * (temp_c - t_in) / (REFERENCE_AMBIENT_C - t_in)
    return np.clip(d, 0.05, 0.95)


@functools.lru_cache(maxsize=256)
def idle_start_rate_per_s(spec: ApplianceSpec, n_per_year: float) -> float:
    """Day-mean start rate while idle [s-1] giving ``n_per_year`` cycles a year.

    Starts are suppressed while a cycle runs, so the rate of the thinned Poisson process
    (per idle second, before the hour weights ``w(t)``, mean 1) must exceed ``N / T``. On
    a periodic one-day grid of 1-min cells, the start rate ``s``, the busy probability
    ``b`` and the idle rate ``r`` satisfy

    .. math::  s(t) = r\\,w(t)\\,(1 - b(t)), \\quad b = s \\circledast S, \\quad
               \\textstyle\\sum_t s(t) = N / 365.25

    with ``S(u)`` the survival function of the cycle length (nominal length times the
    lognormal duration factor) and a circular convolution; the fixed point is found by
    damped iteration. For flat weights and fixed lengths it reduces to the alternating
    renewal result ``r = (N/T) / (1 - N D / T)``. The mean busy share ``N D / T`` is capped
    at 0.9 (more demand saturates).

    Examples
    --------
    >>> spec = APPLIANCES["washing_machine"]
    >>> r = idle_start_rate_per_s(spec, spec.cycles_per_year)
    >>> bool(r > spec.cycles_per_year / (365.25 * 86400))
    True
    """
    m = 1440
    d_min = spec.cycle_duration_s / 60.0
    n_per_year = min(n_per_year, _MAX_BUSY * _YEAR_S / spec.cycle_duration_s)
    target = n_per_year / 365.25  # starts per day
    w = np.repeat(np.asarray(spec.hour_weights, dtype=np.float64), 60)
    w /= w.mean()
    u = np.arange(math.ceil(max(10.0 * d_min, 2.0))) + 0.5  # minutes since the start
    if spec.duration_sd > 0.0:
        sig = math.sqrt(math.log1p(spec.duration_sd**2))
        surv = 1.0 - ndtr((np.log(u / d_min) + 0.5 * sig * sig) / sig)
    else:
        surv = np.clip(d_min - (u - 0.5), 0.0, 1.0)
    kernel = np.zeros(m)
    np.add.at(kernel, np.arange(u.size) % m, surv)
    k_hat = np.fft.rfft(kernel)
    r = target / m  # per minute
    b = np.zeros(m)
    for _ in range(500):
        s = r * w * (1.0 - b)
        b_new = np.clip(np.fft.irfft(np.fft.rfft(s) * k_hat, n=m), 0.0, 0.999)
        b = 0.5 * (b + b_new)
        r_new = target / float(np.sum(w * (1.0 - b)))
        if abs(r_new - r) <= 1e-10 * r and float(np.abs(b_new - b).max()) < 1e-9:
            r = r_new
            break
        r = r_new
    return r / 60.0


def day_factors(sigma, n_days: int, rng: np.random.Generator) -> np.ndarray:
    """Per-day use factors: ``n_days`` lognormal draws of mean 1 and log-sigma ``sigma``.

    .. math::  f_d = \\exp(\\sigma z_d - \\sigma^2 / 2), \\quad z_d \\sim N(0, 1)

    so ``E[f] = 1`` and the expected yearly cycle counts are unchanged. ``sigma`` may be an
    array of ``n_days`` values, one per draw (a fleet's homes on one day).

    Examples
    --------
    >>> f = day_factors(0.4, 20_000, np.random.default_rng(0))
    >>> round(float(f.mean()), 2), bool((f > 0).all())
    (1.0, True)
    >>> day_factors(0.0, 3, np.random.default_rng(0))
    array([1., 1., 1.])
    """
    s = np.asarray(sigma, dtype=np.float64)
    if np.any(s < 0) or n_days < 0:
        raise ValueError("sigma and n_days must be >= 0")
    z = rng.standard_normal(int(n_days))
    return np.exp(s * z - 0.5 * s * s)


def week_factor(weekend_scale: float, weekend):
    """Factor on the appliance start rates of a weekday or a weekend day [1] (broadcasts).

    Weekdays get ``7 / (5 + 2 w)`` and weekend days ``w`` times that, ``w = weekend_scale``:
    their ratio is ``w`` and a week's mean is 1.

    Examples
    --------
    >>> week_factor(1.5, np.array([False, True]))
    array([0.875 , 1.3125])
    >>> float(5 * week_factor(1.5, False) + 2 * week_factor(1.5, True))
    7.0
    """
    w = np.asarray(weekend_scale, dtype=np.float64)
    if not np.all(w > 0):
        raise ValueError(f"weekend_scale must be > 0, got {weekend_scale}")
    weekday = 7.0 / (5.0 + 2.0 * w)
    return np.where(weekend, w * weekday, weekday)


def _effective_occupancy(n_active) -> np.ndarray:
    """CREST effective occupancy of ``n_active`` occupants (linear between integers, NaN kept)."""
    n = np.asarray(n_active, dtype=np.float64)
    k = np.arange(EFFECTIVE_OCCUPANCY.size, dtype=np.float64)
    n_eff = np.interp(np.clip(n, 0.0, k[-1]), k, EFFECTIVE_OCCUPANCY)
    return np.where(np.isnan(n), np.nan, n_eff)


def lighting_power_w(
    n_active: np.ndarray, ghi_w_per_m2: np.ndarray, params: AppliancesParams
) -> np.ndarray:
    """Electric lighting power on the sample grid [W].

    .. math::  P = P_{occ}\\; n_{eff}(n_{active})\\; \\max\\left(0, 1 - G / G^*\\right)

    with ``P_occ = params.lighting_w_per_active``, ``n_eff`` the CREST effective occupancy
    (:data:`EFFECTIVE_OCCUPANCY`, linear between integers, capped at 8), ``G`` the
    outdoor global horizontal irradiance and ``G*`` its threshold. A linear dimming ramp
    stands for the spread of switch-on thresholds between rooms (CREST draws one per
    house, mean 60 W m-2, SD 10 W m-2). NaN inputs give NaN.

    Parameters
    ----------
    n_active : ndarray of shape (n,)
        Occupants at home and awake.
    ghi_w_per_m2 : ndarray of shape (n,)
        Global horizontal irradiance [W m-2].
    params : AppliancesParams

    Returns
    -------
    ndarray of shape (n,)

    Examples
    --------
    >>> lighting_power_w(np.array([0, 1, 2]), np.array([0.0, 0.0, 30.0]), AppliancesParams())
    array([  0.  , 120.  ,  91.68])
    """
    ghi = np.asarray(ghi_w_per_m2, dtype=np.float64)
    n_eff = _effective_occupancy(n_active)
    dark = np.clip(1.0 - ghi / params.lighting_ghi_threshold_w_per_m2, 0.0, 1.0)
    dark = np.where(np.isnan(ghi), np.nan, dark)
    return params.lighting_w_per_active * n_eff * dark


class LightingBulbs:
    """A home's light points, switched one by one (CREST lighting), rendered block by block.

    Richardson, Thomson, Infield & Delahunty (2009), "Domestic lighting: a high-resolution
    energy demand model", Energy and Buildings 41(7), 781-789: while someone is active, light
    point ``i`` switches on with probability ``n_eff c w_i`` per minute, ``n_eff`` the
    effective occupancy (:data:`EFFECTIVE_OCCUPANCY`), ``c`` the calibration scalar
    (:data:`LIGHT_SWITCH_PER_MIN`) and ``w_i ~ Exp(1)`` the point's relative use weighting
    (some lamps are used far more than others); while the outdoor irradiance is above the
    home's threshold (drawn once, mean ``lighting_ghi_threshold_w_per_m2``, SD 10 W m-2) the
    chance is 5 % of that. A lamp that goes on stays on for a duration from
    :data:`LIGHT_DURATION_RANGES_MIN` (1 min to 4.3 h), or until nobody is active.

    Ratings are lognormal (``lighting_bulb_sigma``), scaled together so that the expected
    power for one active occupant in the dark, in steady state, is ``lighting_w_per_active``:
    a lamp with switch-on rate ``h`` per minute and mean duration ``D`` is on a share
    ``h D / (1 + h D)`` of the time, so the ratings are ``r_i = s_i P / sum_j s_j x_j/(1+x_j)``
    with ``x_j = c w_j D`` and ``s`` the lognormal shapes. With more occupants the expectation
    grows less than :func:`lighting_power_w`'s ``n_eff`` (lamps already on are not switched on
    again), and the spells cut short when everyone leaves or sleeps lower it further.

    Rendering is in continuous time on the sample grid: the switch-on rate is constant over each
    sample interval (active occupants and irradiance at its start), switch-on times are exact
    within it (the inverse of the cumulative rate), durations are continuous, a spell ends at
    the first later sample with nobody active, and each sample is the interval mean [W, to
    1 uW]. Every light point has its own random stream, so a run's lighting does not depend
    on how it is cut into blocks. Blocks must be rendered in order (``render`` raises
    otherwise).

    Parameters
    ----------
    params : AppliancesParams
        ``lighting_bulbs`` (>= 1), ``lighting_bulb_sigma``, ``lighting_w_per_active`` and
        ``lighting_ghi_threshold_w_per_m2``.
    rng : numpy.random.Generator
        Draws the ratings, use weightings and the home's threshold.
    point_rngs : sequence of numpy.random.Generator
        One stream per light point (switch-on times and durations).

    Examples
    --------
    >>> p = AppliancesParams(lighting_bulbs=4, lighting_w_per_active=300.0)
    >>> streams = [np.random.default_rng([2, i]) for i in range(4)]
    >>> bulbs = LightingBulbs(p, np.random.default_rng(1), streams)
    >>> t = np.arange(0.0, 86_400.0, 60.0)
    >>> w = bulbs.render(t, 60.0, np.ones(t.size), np.zeros(t.size))
    >>> bool(w.min() >= 0.0), bool(w.max() <= bulbs.rating_w.sum() + 1e-6)
    (True, True)
    """

    def __init__(self, params: AppliancesParams, rng: np.random.Generator,
                 point_rngs: Any) -> None:
        n = int(params.lighting_bulbs)
        if n < 1:
            raise ValueError(f"lighting_bulbs must be >= 1 for light points, got {n}")
        self._rngs = list(point_rngs)
        if len(self._rngs) != n:
            raise ValueError(f"need one random stream per light point ({n}), got {len(self._rngs)}")
        shape = rng.lognormal(0.0, params.lighting_bulb_sigma, n)
        #: Relative use weighting of each light point [1].
        self.weight = rng.exponential(1.0, n)
        x = LIGHT_SWITCH_PER_MIN * self.weight * _LIGHT_MEAN_DURATION_MIN
        #: Rating of each light point [W].
        self.rating_w = shape * params.lighting_w_per_active / float(np.sum(shape * x / (1.0 + x)))
        #: The home's switch-on irradiance threshold [W m-2].
        self.threshold_w_per_m2 = max(
            float(rng.normal(params.lighting_ghi_threshold_w_per_m2, _LIGHT_THRESHOLD_SD)), 1.0
        )
        self._e = np.array([float(r.exponential()) for r in self._rngs])  # cumulative-rate budget
        self._on_until = np.full(n, -np.inf)  # end of a spell running into the next block [s]
        self._t_next: float | None = None

    def render(self, t_s: np.ndarray, period_s: float, n_active: np.ndarray,
               ghi_w_per_m2: np.ndarray) -> np.ndarray:
        """Lighting power over the intervals starting at ``t_s`` [W] (interval means).

        Parameters
        ----------
        t_s : ndarray of shape (n,)
            Sample times [s], evenly spaced by ``period_s``, continuing the previous block.
        period_s : float
            Sample period [s].
        n_active, ghi_w_per_m2 : ndarray of shape (n,)
            Active occupants and outdoor global horizontal irradiance [W m-2] at ``t_s``.
        """
        t = np.asarray(t_s, dtype=np.float64)
        n = t.size
        if n == 0:
            return np.zeros(0)
        if self._t_next is not None and not math.isclose(t[0], self._t_next, abs_tol=1e-6):
            raise ValueError(
                f"blocks must be rendered in order: expected t = {self._t_next} s, got {t[0]} s"
            )
        edges = np.append(t, t[-1] + period_s)
        self._t_next = float(edges[-1])
        t_end = float(edges[-1])
        bright = np.asarray(ghi_w_per_m2, dtype=np.float64) >= self.threshold_w_per_m2
        rate = _effective_occupancy(n_active) * (LIGHT_SWITCH_PER_MIN / 60.0)
        rate = np.nan_to_num(rate * np.where(bright, _LIGHT_BRIGHT_SHARE, 1.0))  # [1/s per weight]
        cum = np.concatenate([[0.0], np.cumsum(rate * period_s)])
        # first sample at or after k with nobody active (n: none in this block)
        idle = np.where(~(np.asarray(n_active, dtype=np.float64) > 0), np.arange(n), n)
        next_idle = np.append(np.minimum.accumulate(idle[::-1])[::-1], n)
        lo, hi = _LIGHT_LO_S, _LIGHT_HI_S
        spells: list[tuple[float, float, float]] = []  # (on, off, rating) within the block
        for i, rng in enumerate(self._rngs):
            r_w, w = float(self.rating_w[i]), float(self.weight[i])
            cur = float(edges[0])
            if self._on_until[i] > cur:  # a spell from the previous block
                k = next_idle[0]
                end = min(float(self._on_until[i]), float(edges[k]) if k < n else math.inf)
                spells.append((cur, min(end, t_end), r_w))
                if end > t_end:
                    continue
                self._on_until[i] = -math.inf
                cur = end
            while cur < t_end:
                j = int(np.searchsorted(edges, cur, side="right")) - 1
                target = cum[j] + rate[j] * (cur - edges[j]) + self._e[i] / w
                m = max(int(np.searchsorted(cum, target, side="left")), j + 1)
                while m <= n and rate[m - 1] <= 0.0:  # the crossing is where the rate is > 0
                    m += 1
                if m > n:  # no switch-on in this block: carry the unspent budget
                    self._e[i] = max(target - cum[n], 0.0) * w
                    break
                dt_on = max(target - cum[m - 1], 0.0) / rate[m - 1]
                on = max(float(edges[m - 1] + dt_on), cur)
                u = rng.random(3)
                b = min(int(u[0] * len(lo)), len(lo) - 1)
                planned = on + float(lo[b] + u[1] * (hi[b] - lo[b]))
                self._e[i] = -math.log1p(-float(u[2]))
                k = next_idle[m]  # the first later sample with nobody active
                end = min(planned, float(edges[k]) if k < n else math.inf)
                spells.append((on, min(end, t_end), r_w))
                if end > t_end:
                    self._on_until[i] = planned
                    break
                cur = end
        power = StepSignal(0.0)
        for t_s, delta in sorted([(a, r) for a, _, r in spells] + [(b, -r) for _, b, r in spells]):
            power.add(t_s, delta)
        # to 1 uW: switching lamps on and off leaves ~1e-12 W of rounding where nothing is on
        return np.maximum(np.round(power.mean_over(edges), 6), 0.0)
