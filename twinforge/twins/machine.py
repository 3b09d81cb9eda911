"""The machinery twin: a motor driving a pump or fan through a shaft on rolling bearings.

One run is one machine from new until its bearing fails (or the horizon ends). The
scenario's ``period`` is the **snapshot interval**: at every grid time ``t_k`` the
accelerometer records a snapshot of ``snapshot_duration_s`` at ``sample_rate_hz`` (0.1 s
at 25.6 kHz every 10 s on PRONOSTIA; 1 s at 20 kHz every 10 min on IMS).

Partial models (each tested on its own in ``tests/processes``):

- **Operation** (:class:`DutyStep`): constant speed and radial load, or a cyclic duty
  cycle of steps scaling both. The shaft power of the driven pump/fan follows the
  affinity law :math:`P \\propto n^3` times the step's load factor.
- **Degradation** (:mod:`~twinforge.processes.degradation`): per enabled fault mode, a
  Weibull defect onset then gamma-process damage growth, on the *equivalent age*
  :math:`u(t) = \\int_0^t AF\\,dt'`, whose acceleration factor holds load, speed,
  lubrication and the (healthy, quasi-steady) bearing temperature. The damage path of a
  mode is drawn once, in equivalent age, on knots ``0.02 / c`` apart until it crosses
  the threshold, and read by linear interpolation: it does not depend on the snapshot
  interval, the horizon or the chunking. The machine fails when the first mode crosses;
  the failure time, and hence ``rul_s``, are known exactly from the start.
- **Vibration** (:mod:`~twinforge.processes.vibration`): each snapshot is rendered with
  numpy from the fault severities at its time (damage over threshold), then reduced to
  condition indicators (:mod:`~twinforge.processes.condition`): RMS, peak, crest factor,
  kurtosis and envelope-spectrum amplitudes at BPFO, BPFI, BSF and FTF.
- **Temperatures** (:mod:`~twinforge.processes.machine_thermal`): bearing (friction heat,
  growing with damage and poor lubrication) and motor winding (losses), first-order
  nodes above the ambient; a ``heat_wave`` raises the ambient.
- **Motor current** (optional, :func:`~twinforge.processes.vibration.motor_current`):
  a stator-current snapshot with fault sidebands; its RMS is a channel.

SimPy holds the discrete happenings only: duty-cycle steps, fault onsets and the failure.
After the failure the machine runs on with the failed bearing (damage frozen at the
threshold, ``health = 0``, labelled ``machine_failure``); a run-to-failure test stops
there, which ``until_failure`` does. Vibration is rendered per chunk of snapshots, whose
waveforms also go to the per-run ``snapshots`` table (``accel_g``: list<float32>), so
memory stays flat.

With ``until_failure = true`` the runner asks :meth:`MachineTwin.run_grid` for the run's
own grid: it ends at the first snapshot at or after the failure, capped by the horizon.
"""

from __future__ import annotations

import math
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
import simpy
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from twinforge.core.params import Bound, Law, Stream, draw_laws, draw_stream, set_path
from twinforge.core.registry import EVENTS, TWINS
from twinforge.core.rng import RngStreams
from twinforge.core.schema import LABEL_CHANNELS, ChannelSpec, flatten_params
from twinforge.core.timegrid import TimeGrid
from twinforge.core.timeline import StepSignal
from twinforge.core.twin import Rendered
from twinforge.events.base import EventType, ScheduledEvent
from twinforge.processes.bearing import BEARING_PRESETS, BearingGeometry, defect_frequencies
from twinforge.processes.condition import condition_indicators
from twinforge.processes.degradation import (
    FAULT_MODES,
    DegradationParams,
    FaultMode,
    acceleration_factor,
)
from twinforge.processes.machine_thermal import (
    ThermalParams,
    bearing_friction_power_w,
    first_order_response,
    motor_loss_w,
)
from twinforge.processes.sensors import SensorParams, measure
from twinforge.processes.vibration import (
    ANTI_ALIAS_FRACTION,
    LOCALISED_FAULTS,
    VibrationParams,
    background_drift,
    fault_snr_db,
    motor_current,
    render_snapshot,
)
from twinforge.twins.base import LawPins, TwinBase, field_max, setting

__all__ = [
    "DutyStep",
    "MotorCurrentParams",
    "MachineConfig",
    "MachineDiversity",
    "MachineTwin",
    "MACHINE_PRESETS",
    "FAULT_EVENT_TYPES",
    "RIG_KEYS",
    "draw_machine",
    "machine_channels",
    "rig_names",
    "rig_preset",
]

#: Event type of each fault mode (emergent fault events and injectable events share it).
FAULT_EVENT_TYPES: dict[str, str] = {
    "outer_race": "bearing_outer_race",
    "inner_race": "bearing_inner_race",
    "rolling_element": "bearing_rolling_element",
    "cage": "bearing_cage",
    "imbalance": "imbalance",
    "misalignment": "misalignment",
    "lubrication": "lubrication_loss",
}
_MODE_OF_EVENT = {v: k for k, v in FAULT_EVENT_TYPES.items()}
#: Event type of the failure (threshold crossing); it lasts until the end of the run.
FAILURE_EVENT = "machine_failure"
#: Lubrication quality left at lubrication-loss severity 1 (``l = quality (1 - 0.9 s)``).
_LUBE_LOSS_AT_1 = 0.9
#: Age-clock segment length [s]: the ambient (heat waves) enters the ageing rate at this step.
_AGE_KNOT_S = 600.0
#: Snapshots per batch of envelope spectra (bounds the FFT working memory).
_INDICATOR_BATCH = 64
#: Waveform samples per rendered chunk (about 16 MB of float64 at a time).
_CHUNK_WAVEFORM_SAMPLES = 2_000_000


class DutyStep(BaseModel):
    """One step of a cyclic duty cycle (the cycle repeats from the start of the run)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    duration_s: float = Field(gt=0.0, le=365 * 86_400.0, description="length of the step [s]")
    speed_factor: float = Field(1.0, ge=0.0, le=3.0, description="shaft speed / shaft_speed_rpm [1] (0: stopped)")
    load_factor: float = Field(1.0, gt=0.0, le=5.0, description="radial load and shaft power / nominal [1]")


class MotorCurrentParams(BaseModel):
    """Stator-current snapshot of the induction motor (MCSA; rendered only if configured)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    supply_hz: float = Field(50.0, gt=0.0, le=400.0, description="supply frequency [Hz]")
    rated_current_a: float = Field(1.2, gt=0.0, le=5000.0, description="RMS current at rated shaft power [A]")
    no_load_ratio: float = Field(0.4, ge=0.0, le=1.0, description="no-load (magnetising) current / rated [1]")
    sideband_ratio: float = Field(0.02, ge=0.0, le=1.0, description="first fault sideband / fundamental at severity 1 [1]")
    noise_a: float = Field(0.005, ge=0.0, description="white measurement noise, standard deviation [A]")


class MachineConfig(BaseModel):
    """Every parameter of one machine (one run of the machine twin).

    Defaults are **PRONOSTIA-like** (Nectoux et al. 2012, IEEE PHM 2012 challenge): the
    rig's bearing at 1800 rpm and 4000 N (the accelerated conditions at which
    :class:`~twinforge.processes.degradation.DegradationParams` hold: lifetimes of about
    1-8 h), 0.1 s snapshots at 25.6 kHz. Use ``period = "10s"`` like the rig.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    bearing: Literal["6205-2RS", "pronostia", "rexnord-za2115", "mfpt-nice"] = Field(
        "pronostia", description="bearing geometry preset (twinforge.processes.bearing.BEARING_PRESETS)"
    )
    shaft_speed_rpm: float = Field(1800.0, gt=0.0, le=30_000.0, description="nominal shaft speed [rpm]")
    radial_load_n: float = Field(4000.0, gt=0.0, le=1e7, description="nominal radial load on the bearing [N]")
    reference_speed_rpm: float = Field(
        1800.0, gt=0.0, le=30_000.0, description="speed at which the degradation law holds (AF speed term 1) [rpm]"
    )
    reference_load_n: float = Field(
        4000.0, gt=0.0, le=1e7, description="load at which the degradation law holds (AF load term 1) [N]"
    )
    duty_cycle: tuple[DutyStep, ...] = Field(
        (), max_length=1000, description="cyclic speed/load steps; empty: constant operation"
    )
    shaft_power_w: float = Field(
        200.0, ge=0.0, le=1e8, description="pump/fan shaft power at nominal speed and load [W] (scales as n^3)"
    )
    ambient_temp_c: float = Field(25.0, ge=-50.0, le=80.0, description="ambient air temperature [degC]")
    ambient_daily_amplitude_k: float = Field(
        0.0, ge=0.0, le=30.0, description="half peak-to-peak daily ambient swing, warmest at 15:00 UTC [K]"
    )
    lubrication_quality: float = Field(
        1.0, gt=0.0, le=1.0, description="lubrication quality l in (0, 1], 1 = as new (AF term l^-q) [1]"
    )
    snapshot_duration_s: float = Field(0.1, ge=0.005, le=10.0, description="length of each vibration snapshot [s]")
    sample_rate_hz: float = Field(
        25_600.0, ge=12_000.0, le=51_200.0, description="accelerometer sample rate [Hz] (12 to 51.2 kHz)"
    )
    until_failure: bool = Field(False, description="end each run at its failure (next snapshot), capped by days")
    start_warm: bool = Field(
        True, description="temperatures start at their healthy steady state (a machine already running), else at ambient"
    )
    fault_modes: tuple[FaultMode, ...] = Field(
        ("outer_race",), max_length=7, description="fault modes that develop naturally (competing; the first to cross fails the machine)"
    )
    degradation: DegradationParams = DegradationParams()
    vibration: VibrationParams = VibrationParams()
    thermal: ThermalParams = ThermalParams()
    current: MotorCurrentParams | None = None
    temperature_sensor: SensorParams = SensorParams(noise_sd=0.1, resolution=0.01)

    @field_validator("fault_modes")
    @classmethod
    def _unique(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(v)) != len(v):
            raise ValueError(f"fault_modes must not repeat a mode, got {list(v)}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> "MachineConfig":
        n = self.snapshot_duration_s * self.sample_rate_hz
        if n < 64:
            raise ValueError(
                f"snapshot_duration_s x sample_rate_hz must give at least 64 samples, got {n:g}"
            )
        return self

    @property
    def geometry(self) -> BearingGeometry:
        return BEARING_PRESETS[self.bearing]

    def flat(self) -> dict[str, Any]:
        out = flatten_params(self)
        out["current.present"] = self.current is not None
        return out


#: Keys of a rig preset's ``[machine]`` table that a rig brings to a machine drawn on it
#: (its bearing, operating point, accelerometer and transfer paths; not the scenario's
#: degradation, fault modes or stopping rule).
RIG_KEYS: tuple[str, ...] = (
    "bearing", "shaft_speed_rpm", "radial_load_n", "reference_speed_rpm", "reference_load_n",
    "sample_rate_hz", "snapshot_duration_s", "vibration",
)
_PRESETS_DIR = Path(__file__).resolve().parents[1] / "data" / "presets"


@lru_cache(maxsize=None)
def _machine_presets() -> dict[str, Path]:
    out = {}
    for path in sorted(_PRESETS_DIR.glob("*.toml")):
        with path.open("rb") as fh:
            if tomllib.load(fh).get("twin") == "machine":
                out[path.stem] = path
    return out


def rig_names() -> tuple[str, ...]:
    """Names of the shipped machine rig presets (``twinforge/data/presets/<name>.toml``)."""
    return tuple(_machine_presets())


@lru_cache(maxsize=None)
def _rig_table(name: str) -> str:
    presets = _machine_presets()
    if name not in presets:
        raise ValueError(f"unknown rig preset {name!r}; expected one of {sorted(presets)}")
    with presets[name].open("rb") as fh:
        machine = tomllib.load(fh).get("machine", {})
    import json

    return json.dumps({k: machine[k] for k in RIG_KEYS if k in machine})


def rig_preset(name: str) -> dict[str, Any]:
    """The rig part (:data:`RIG_KEYS`) of a shipped machine preset's ``[machine]`` table.

    >>> rig_preset("mfpt")["bearing"]
    'mfpt-nice'
    """
    import json

    return json.loads(_rig_table(name))


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


class MachineDiversity(BaseModel):
    """How machines of one scenario differ: each run draws its own machine from these laws.

    Defaults give the unit-to-unit spread of a batch of nominally identical bearings on
    one rig (lognormal spreads; the Weibull onset and gamma growth of the degradation law
    add their own): loads and speeds set within a few per cent, a bearing-to-bearing life
    multiplier, different baseline vibration levels and resonances (mounting), and the
    defect's angular position (an outer-race spall forms where the load is: within about
    20 deg of the centre of the load zone). The texture of the healthy signal (the rate and
    size of the random background impacts,
    :class:`~twinforge.processes.vibration.VibrationParams`) is the same for every machine
    by default; real bearings of one batch differ in it too (PRONOSTIA: healthy kurtosis
    3.2-4.5, steady on some bearings and spiky on others), which
    ``background_impact_rate_sigma``, ``background_impact_g_sigma`` and
    ``background_modulation_sigma`` spread.

    **Domain randomisation** (off by default; see the shipped campaign
    ``bearing_faults_dr``): ``rig_probs`` draws each machine's rig (bearing, operating
    point, accelerometer and transfer paths of a shipped preset), and the other laws spread
    what differs from one installation to the next: resonance frequencies, damping and
    signs, the share of each background mode, harmonic levels, the strength of the defect
    strikes against the background, seeded outer-race defects anywhere round the race,
    inner-race modulation depths, ball-fault impulsiveness and contact.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    radial_load_sigma: float = Field(0.05, ge=0.0, le=1.0, description="lognormal sigma of the radial load [1]")
    shaft_speed_sigma: float = Field(0.02, ge=0.0, le=1.0, description="lognormal sigma of the shaft speed [1]")
    life_scale_sigma: float = Field(
        0.15, ge=0.0, le=2.0, description="lognormal sigma of a life multiplier on onset age and growth time [1]"
    )
    background_sigma: float = Field(
        0.15, ge=0.0, le=2.0, description="lognormal sigma of the healthy background vibration [1]"
    )
    resonance_sigma: float = Field(
        0.05, ge=0.0, le=1.0, description="lognormal sigma of the structural resonance frequencies (all together) [1]"
    )
    ambient_sd_k: float = Field(2.0, ge=0.0, le=20.0, description="standard deviation of the ambient temperature [K]")
    background_impact_rate_sigma: float = Field(
        0.0, ge=0.0, le=3.0,
        description="lognormal sigma of the rate of random background impacts (how contaminated or rough "
                    "a bearing is) [1]",
    )
    background_impact_g_sigma: float = Field(
        0.0, ge=0.0, le=3.0, description="lognormal sigma of the size of random background impacts [1]"
    )
    background_modulation_sigma: float = Field(
        0.0, ge=0.0, le=2.0,
        description="lognormal sigma of the shaft-rate modulation depth of the background (its steady kurtosis) [1]",
    )
    fault_mode_probs: dict[FaultMode, float] | None = Field(
        None, description="draw ONE natural fault mode per machine with these probabilities (None: keep fault_modes)"
    )
    random_defect_angle: bool = Field(True, description="draw the inner-race / ball defect's angular position uniformly")
    outer_race_angle_sd_deg: float = Field(
        20.0, ge=0.0, le=360.0,
        description="standard deviation of the outer-race defect angle about the base value, wrapped to "
                    "+-180 [deg] (a spall forms in the load zone; >= 180: seeded defects anywhere)",
    )
    inner_race_modulation_range: tuple[float, float] | None = Field(
        None, description="draw the inner-race modulation depth uniformly in [low, high] (None: from the load)"
    )
    rolling_element_impulsiveness_range: tuple[float, float] | None = Field(
        None, description="draw the impulsive share of a ball fault uniformly in [low, high] (None: keep)"
    )
    rolling_element_contact_range: tuple[float, float] | None = Field(
        None, description="draw the contact fraction of a ball spall uniformly in [low, high] (None: keep)"
    )
    rig_probs: dict[str, float] | None = Field(
        None, description="draw each machine's rig preset with these probabilities (None: the base machine's)"
    )
    resonance_damping_sigma: float = Field(
        0.0, ge=0.0, le=2.0, description="lognormal sigma of each resonance's damping ratio [1]"
    )
    resonance_sign_flip: bool = Field(
        False, description="give each bearing resonance (and entry-path mode) a random sign (where the sensor "
        "sits on its mode shape)"
    )
    background_shape_sigma: float = Field(
        0.0, ge=0.0, le=3.0, description="lognormal sigma of each background mode's share of the power [1]"
    )
    harmonics_sigma: float = Field(
        0.0, ge=0.0, le=3.0, description="lognormal sigma of the shaft and line harmonic amplitudes (each) [1]"
    )
    impact_scale_sigma: float = Field(
        0.0, ge=0.0, le=3.0,
        description="lognormal sigma of one multiplier of every defect strike (defect against background) [1]",
    )

    @field_validator("fault_mode_probs")
    @classmethod
    def _probs(cls, v: dict[str, float] | None) -> dict[str, float] | None:
        if v is None:
            return v
        p = np.asarray(list(v.values()), dtype=float)
        if p.size == 0 or (p < 0).any() or abs(p.sum() - 1.0) > 1e-6:
            raise ValueError("fault_mode_probs must hold non-negative probabilities summing to 1")
        return v

    @field_validator("rig_probs")
    @classmethod
    def _rigs(cls, v: dict[str, float] | None) -> dict[str, float] | None:
        if v is None:
            return v
        unknown = sorted(set(v) - set(rig_names()))
        if unknown:
            raise ValueError(f"unknown rig preset(s) {unknown}; expected names among {list(rig_names())}")
        p = np.asarray(list(v.values()), dtype=float)
        if p.size == 0 or (p < 0).any() or abs(p.sum() - 1.0) > 1e-6:
            raise ValueError("rig_probs must hold non-negative probabilities summing to 1")
        return v

    @field_validator("inner_race_modulation_range", "rolling_element_impulsiveness_range",
                     "rolling_element_contact_range")
    @classmethod
    def _unit_range(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        if v is not None and not 0.0 <= v[0] <= v[1] <= 1.0:
            raise ValueError(f"need 0 <= low <= high <= 1, got {list(v)}")
        return v


#: What ``[machine]`` setting fixes which ``[diversity]`` laws (explicit settings win over
#: diversity): the law is pinned to the value that leaves the setting as written.
MACHINE_PINS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("radial_load_n", {"radial_load_sigma": 0.0}),
    ("shaft_speed_rpm", {"shaft_speed_sigma": 0.0}),
    ("ambient_temp_c", {"ambient_sd_k": 0.0}),
    ("fault_modes", {"fault_mode_probs": None}),
    ("degradation.onset_weibull_scale_s", {"life_scale_sigma": 0.0}),
    ("degradation.growth_shape_rate_per_s", {"life_scale_sigma": 0.0}),
    ("vibration.background_rms_g", {"background_sigma": 0.0}),
    ("vibration.resonances", {"resonance_sigma": 0.0, "resonance_damping_sigma": 0.0, "resonance_sign_flip": False}),
    ("vibration.background_resonances", {"resonance_sigma": 0.0, "background_shape_sigma": 0.0}),
    ("vibration.entry_resonances", {"resonance_sigma": 0.0, "resonance_sign_flip": False}),
    ("vibration.shaft_harmonics_g", {"harmonics_sigma": 0.0}),
    ("vibration.line_harmonics_g", {"harmonics_sigma": 0.0}),
    ("vibration.defect_angle_rad", {"random_defect_angle": False}),
    ("vibration.outer_race_defect_angle_deg", {"outer_race_angle_sd_deg": 0.0}),
    ("vibration.inner_race_modulation_depth", {"inner_race_modulation_range": None}),
    ("vibration.rolling_element_impulsiveness", {"rolling_element_impulsiveness_range": None}),
    ("vibration.rolling_element_contact_fraction", {"rolling_element_contact_range": None}),
    *((f"vibration.impact_{p}_g", {"impact_scale_sigma": 0.0})
      for p in ("outer_race", "inner_race", "rolling_element", "cage")),
    ("vibration.background_impact_rate_hz", {"background_impact_rate_sigma": 0.0}),
    ("vibration.background_impact_g", {"background_impact_g_sigma": 0.0}),
    ("vibration.background_modulation_depth", {"background_modulation_sigma": 0.0}),
)


#: Laws that spread a setting around its value (lognormal or normal): written beside the
#: setting they are asked-for diversity centred on it (a calibrated preset's spread), not a conflict.
CENTRED_LAWS = frozenset({
    "radial_load_sigma", "shaft_speed_sigma", "ambient_sd_k", "life_scale_sigma", "background_sigma",
    "resonance_sigma", "resonance_damping_sigma", "background_shape_sigma", "harmonics_sigma",
    "impact_scale_sigma", "background_impact_rate_sigma", "background_impact_g_sigma",
    "background_modulation_sigma", "outer_race_angle_sd_deg",
})


def pin_machine_settings(section: dict[str, Any], diversity: dict[str, Any] | None) -> tuple[dict[str, Any], Any]:
    """Explicit settings win over diversity, for a machine (:data:`MACHINE_PINS`).

    ``[machine] shaft_speed_rpm = 1797`` runs every machine at 1797 rpm (``shaft_speed_sigma``
    pinned to 0), ``fault_modes = ["inner_race"]`` gives every machine that mode
    (``fault_mode_probs`` off); the other laws still vary the machines. A spread law
    (:data:`CENTRED_LAWS`) written in ``[diversity]`` beside its setting is asked-for
    diversity around the written value and stays; a law that would replace the setting
    (``fault_mode_probs``, the ranges, ``random_defect_angle``) written with another value,
    and a rig setting (:data:`RIG_KEYS`) beside ``rig_probs`` (which draws the whole rig),
    are refused with one line naming both.
    """
    if diversity is None:
        return section, None
    laws = LawPins(diversity, "machine", "diversity", "set diversity = false to keep the machine exactly as written")
    if diversity.get("rig_probs"):
        for key in RIG_KEYS:
            if key in section:
                laws.refuse(key, "replaced by the rig that diversity.rig_probs draws for every run")
    for path, pins in MACHINE_PINS:
        if setting(section, path)[0]:
            laws.pin(path, **{law: v for law, v in pins.items() if not (law in CENTRED_LAWS and law in diversity)})
    return section, laws.laws()


#: The standard variates of a machine's draw, in the order they leave the run's generator:
#: every one is drawn whether a law uses it or not (laws added later draw after the earlier
#: ones), so a machine is reproducible from its seed and the draws do not depend on the
#: scenario's switches. ``z``: radial load, shaft speed, life, background, resonance
#: frequencies, ambient; per-mode draws are a fixed number (16) so the stream does not depend
#: on the rig.
MACHINE_STREAM: Stream = {
    "z": ("normal", 6), "angle": ("uniform", None), "u_mode": ("uniform", None),
    "z_tex": ("normal", 2), "z_mod": ("normal", None),
    # domain-randomisation laws (after every earlier draw)
    "u_rig": ("uniform", None), "z_or": ("normal", None), "u_dr": ("uniform", 3), "z_imp": ("normal", None),
    "z_damp": ("normal", 16), "u_sign": ("uniform", 16), "z_share": ("normal", 16), "z_harm": ("normal", 32),
}
_N_MODES = 16


def draw_machine(
    base: MachineConfig, diversity: MachineDiversity | None, rng: np.random.Generator
) -> MachineConfig:
    """One machine's parameters: ``base`` varied by the laws of ``diversity`` (None: ``base``).

    The draw is :data:`MACHINE_STREAM` taken from ``rng``, then :data:`MACHINE_LAWS` sampled on
    it (:func:`~twinforge.core.params.draw_laws`): first the rig (``bearing``), whose preset
    the other laws then vary. A law set to zero spread leaves the base value as it is.
    """
    if diversity is None:
        return base
    stream = draw_stream(MACHINE_STREAM, rng)
    div = diversity.model_dump()
    data = base.model_dump()
    rig = draw_laws({"bearing": MACHINE_LAWS["bearing"]}, {**data, "diversity": div}, rng, stream)["bearing"]
    if diversity.rig_probs:
        data = MachineConfig.model_validate(_merge(data, rig_preset(rig))).model_dump()
    laws = {k: law for k, law in MACHINE_LAWS.items() if k != "bearing"}
    for path, value in draw_laws(laws, {**data, "diversity": div}, rng, stream).items():
        set_path(data, path, value)
    return MachineConfig.model_validate(data)


def _spread(sigma: str, rule: str = "", variate: str = "", **kw: Any) -> Law:
    return Law("lognormal", {"median": "setting", "sigma": f"diversity.{sigma}"}, rule=rule, variate=variate, **kw)


def _resonances(scale: float, modes: Any, damping_sigma: float, flip: bool, z_damp: Any, u_sign: Any) -> Any:
    return tuple(
        (f * scale,
         float(np.clip(zeta * math.exp(damping_sigma * z_damp[i % _N_MODES]), 0.002, 0.5))
         if damping_sigma > 0.0 else zeta,
         -g if flip and u_sign[i % _N_MODES] < 0.5 else g)
        for i, (f, zeta, g) in enumerate(modes)
    )


def _entry_resonances(scale: float, modes: Any, bearing_modes: Any, flip: bool, u_sign: Any) -> Any:
    # the entry path's support modes move with the structure and sit on the sensor with their own sign
    return None if modes is None else tuple(
        (f * scale, zeta, -g if flip and u_sign[(len(bearing_modes) + i) % _N_MODES] < 0.5 else g)
        for i, (f, zeta, g) in enumerate(modes)
    )


def _background_resonances(scale: float, modes: Any, share_sigma: float, z_share: Any) -> Any:
    return None if modes is None else tuple(
        (f * scale, zeta, share * math.exp(share_sigma * z_share[i % _N_MODES]))
        for i, (f, zeta, share) in enumerate(modes)
    )


def _at_most(name: str) -> Any:
    return lambda x: float(min(x, field_max(VibrationParams, name)))


#: The laws of :class:`MachineDiversity`, written as data: what a run's machine is.
#: :func:`draw_machine` samples them on the variates of :data:`MACHINE_STREAM` (``variate``:
#: laws on one variate share one draw, e.g. one life multiplier for onset and growth).
MACHINE_LAWS: dict[str, Law] = {
    "bearing": Law("categorical", {"p": "diversity.rig_probs"}, variate="draw.u_rig",
                   rule="a rig preset, which brings every RIG_KEYS setting; None: the setting"),
    "radial_load_n": _spread("radial_load_sigma", variate="draw.z.0", clip=(1e-3, 1e7)),
    "shaft_speed_rpm": _spread("shaft_speed_sigma", variate="draw.z.1", clip=(1e-3, 30_000.0)),
    "ambient_temp_c": Law("normal", {"mean": "setting", "sd": "diversity.ambient_sd_k"}, variate="draw.z.5",
                          clip=(-50.0, 80.0)),
    "degradation.onset_weibull_scale_s": _spread("life_scale_sigma", "one life multiplier L per machine: x L",
                                                 variate="draw.z.2"),
    "degradation.growth_shape_rate_per_s": Law(
        "lognormal", {"median": 1.0, "sigma": "diversity.life_scale_sigma"}, variate="draw.z.2", of=("setting",),
        fn=lambda life, rate: rate / life, rule="the same L as the onset: the setting / L"),
    "vibration.background_rms_g": _spread("background_sigma", variate="draw.z.3"),
    "vibration.defect_angle_rad": Law("uniform", {"range": (0.0, 2.0 * math.pi)}, gate="diversity.random_defect_angle",
                                      variate="draw.angle"),
    "vibration.outer_race_defect_angle_deg": Law(
        "normal", {"mean": "setting", "sd": "diversity.outer_race_angle_sd_deg"}, variate="draw.z_or",
        fn=lambda a: (a + 180.0) % 360.0 - 180.0, clip=(-180.0, 180.0), rule="wrapped to [-180, 180] deg"),
    **{f"vibration.{k}": Law("uniform", {"range": f"diversity.{r}_range"}, variate=f"draw.u_dr.{i}",
                             rule="None: the setting") for i, (k, r) in enumerate((
        ("inner_race_modulation_depth", "inner_race_modulation"),
        ("rolling_element_impulsiveness", "rolling_element_impulsiveness"),
        ("rolling_element_contact_fraction", "rolling_element_contact")))},
    **{f"vibration.impact_{k}_g": _spread("impact_scale_sigma", "one multiplier for the four strike sizes",
                                          variate="draw.z_imp")
       for k in ("outer_race", "inner_race", "rolling_element", "cage")},
    "vibration.background_impact_rate_hz": _spread("background_impact_rate_sigma", "at most the allowed maximum",
                                                   variate="draw.z_tex.0", fn=_at_most("background_impact_rate_hz")),
    "vibration.background_impact_g": _spread("background_impact_g_sigma", variate="draw.z_tex.1"),
    "vibration.background_modulation_depth": _spread("background_modulation_sigma", "at most the allowed maximum",
                                                     variate="draw.z_mod", fn=_at_most("background_modulation_depth")),
    "fault_modes": Law("categorical", {"p": "diversity.fault_mode_probs"}, choices=tuple(FAULT_MODES),
                       variate="draw.u_mode", fn=lambda mode: (mode,), rule="ONE mode per machine; None: the setting"),
    "vibration.resonances": Law(
        "lognormal", {"median": 1.0, "sigma": "diversity.resonance_sigma"}, variate="draw.z.4",
        of=("setting", "diversity.resonance_damping_sigma", "diversity.resonance_sign_flip", "draw.z_damp",
            "draw.u_sign"), fn=_resonances,
        rule="one frequency multiplier for all modes; each damping x its own lognormal(1, "
             "diversity.resonance_damping_sigma), clipped [0.002, 0.5]; each sign flipped with probability "
             "1/2 if diversity.resonance_sign_flip"),
    "vibration.entry_resonances": Law(
        "lognormal", {"median": 1.0, "sigma": "diversity.resonance_sigma"}, variate="draw.z.4",
        of=("setting", "vibration.resonances", "diversity.resonance_sign_flip", "draw.u_sign"), fn=_entry_resonances,
        rule="the bearing resonances' frequency multiplier; each mode's sign its own"),
    "vibration.background_resonances": Law(
        "lognormal", {"median": 1.0, "sigma": "diversity.resonance_sigma"}, variate="draw.z.4",
        of=("setting", "diversity.background_shape_sigma", "draw.z_share"), fn=_background_resonances,
        rule="the same frequency multiplier; each mode's share x its own lognormal(1, "
             "diversity.background_shape_sigma)"),
    "vibration.shaft_harmonics_g": Law(
        "lognormal", {"median": 1.0, "sigma": "diversity.harmonics_sigma"}, variate="draw.z_harm", of=("setting",),
        fn=lambda m, amps: tuple(a * m[i % _N_MODES] for i, a in enumerate(amps)),
        rule="each amplitude x its own multiplier"),
    "vibration.line_harmonics_g": Law(
        "lognormal", {"median": 1.0, "sigma": "diversity.harmonics_sigma"}, variate="draw.z_harm", of=("setting",),
        fn=lambda m, amps: tuple(a * m[_N_MODES + i % _N_MODES] for i, a in enumerate(amps)),
        rule="each amplitude x its own multiplier"),
}


#: Named machine configurations. ``"pronostia"``: the defaults (see :class:`MachineConfig`).
MACHINE_PRESETS: dict[str, MachineConfig] = {"pronostia": MachineConfig()}


def machine_channels(config: MachineConfig) -> tuple[ChannelSpec, ...]:
    """The samples-table columns of a machine (``current_rms_a`` only with a current model)."""
    ch = [
        ChannelSpec("accel_rms_g", "g", "instant", "float64", "RMS of the snapshot acceleration"),
        ChannelSpec("accel_peak_g", "g", "instant", "float64", "largest absolute acceleration in the snapshot"),
        ChannelSpec("accel_crest_factor", "1", "instant", "float64", "peak / RMS of the snapshot"),
        ChannelSpec("accel_kurtosis", "1", "instant", "float64", "Pearson kurtosis of the snapshot (3 for Gaussian)"),
        ChannelSpec("accel_env_bpfo_g", "g", "instant", "float64", "envelope-spectrum amplitude at BPFO (+-2 %)"),
        ChannelSpec("accel_env_bpfi_g", "g", "instant", "float64", "envelope-spectrum amplitude at BPFI (+-2 %)"),
        ChannelSpec("accel_env_bsf_g", "g", "instant", "float64", "envelope-spectrum amplitude at BSF, ball spin (+-2 %)"),
        ChannelSpec("accel_env_ftf_g", "g", "instant", "float64", "envelope-spectrum amplitude at FTF, cage (+-2 %)"),
        ChannelSpec("shaft_speed_rpm", "rpm", "instant", "float64", "shaft speed during the snapshot"),
        ChannelSpec("radial_load_n", "N", "instant", "float64", "radial load on the bearing"),
        ChannelSpec("temp_bearing_c", "degC", "instant", "float64", "bearing housing temperature"),
        ChannelSpec("temp_motor_c", "degC", "instant", "float64", "motor winding temperature"),
        ChannelSpec("temp_ambient_c", "degC", "instant", "float64", "ambient air temperature"),
    ]
    if config.current is not None:
        ch.append(ChannelSpec("current_rms_a", "A", "instant", "float64", "RMS stator current over the snapshot"))
    ch += [
        ChannelSpec("fault", "", "label", "str", "most severe active fault mode ('' if none)"),
        ChannelSpec("fault_severity", "1", "label", "float64", "severity of that fault in [0, 1] (damage / threshold)"),
        ChannelSpec("fault_snr_db", "dB", "label", "float64",
                    "power of the localised defects' vibration over the rest of the snapshot (NaN: none)"),
        ChannelSpec("health", "1", "label", "float64", "1 - damage / threshold of the worst degrading mode; 0 at failure"),
        ChannelSpec("rul_s", "s", "label", "float64", "true remaining useful life: failure time - t, 0 from failure on"),
    ]
    return tuple(ch) + LABEL_CHANNELS


class Ambient:
    """Ambient air temperature [degC] of the machine room; events add anomalies.

    Duck-types the part of :class:`~twinforge.processes.weather.Weather` that weather
    events use (``add_anomaly``), so a ``heat_wave`` raises the machine's ambient.
    """

    def __init__(self, mean_c: float, daily_amplitude_k: float, start: pd.Timestamp) -> None:
        self.mean_c, self.amp_k = float(mean_c), float(daily_amplitude_k)
        self._phase_s = (start - start.normalize()).total_seconds()
        self._anomalies: list = []

    def add_anomaly(self, fn) -> None:
        self._anomalies.append(fn)

    def temp_c(self, t_s) -> np.ndarray:
        t = np.asarray(t_s, dtype=np.float64)
        out = np.full(t.shape, self.mean_c)
        if self.amp_k > 0.0:
            out = out + self.amp_k * np.cos(2.0 * math.pi * ((t + self._phase_s) / 86_400.0 - 15.0 / 24.0))
        for fn in self._anomalies:
            out = out + fn(t)
        return out

    def discard_before(self, t_s: float) -> None:  # nothing is cached
        return None


class _DamagePath:
    """One mode's damage: gamma-process knots in equivalent age since onset.

    ``damage(tau) = interp(tau, knots, d)``, 0 before onset; drawn until it crosses
    ``threshold``, so every crossing of a level up to the threshold is inside the knots.
    """

    def __init__(self, params: DegradationParams, rng: np.random.Generator) -> None:
        p = params
        self.onset_u = p.onset_weibull_scale_s * float(rng.weibull(p.onset_weibull_shape))
        self.threshold = p.failure_threshold
        step = 0.02 / p.growth_shape_rate_per_s  # alpha grows in steps of (0.02 j)^b
        taus, ds = [np.zeros(1)], [np.zeros(1)]
        level, j0, block = 0.0, 0, 512
        while level < self.threshold:
            tau = (j0 + np.arange(1, block + 1)) * step
            alpha = (p.growth_shape_rate_per_s * tau) ** p.growth_shape_exponent
            alpha_prev = (p.growth_shape_rate_per_s * (tau - step)) ** p.growth_shape_exponent
            inc = rng.gamma(alpha - alpha_prev, p.growth_scale)
            d = level + np.cumsum(inc)
            taus.append(tau)
            ds.append(d)
            level = float(d[-1])
            j0 += block
            block = min(block * 2, 1 << 16)
            if j0 > 50_000_000:
                raise ValueError("degradation too slow to reach its threshold (check growth_shape_rate_per_s)")
        tau = np.concatenate(taus)
        d = np.concatenate(ds)
        k = int(np.flatnonzero(d >= self.threshold)[0])
        self.tau, self.d = tau[: k + 1], d[: k + 1]

    def damage(self, tau_s: np.ndarray) -> np.ndarray:
        tau = np.asarray(tau_s, dtype=np.float64)
        return np.where(tau > 0.0, np.interp(tau, self.tau, self.d), 0.0)

    def tau_at(self, level: float) -> float:
        """Equivalent age since onset at which damage first reaches ``level`` (<= threshold)."""
        if level <= 0.0:
            return 0.0
        k = int(np.flatnonzero(self.d >= level)[0])
        d0, d1 = self.d[k - 1], self.d[k]
        return float(self.tau[k - 1] + (level - d0) / (d1 - d0) * (self.tau[k] - self.tau[k - 1]))


class MachineFault(EventType):
    """Base of the injectable machine faults (registered below, one per fault mode)."""

    category = "machine"
    needs = ("damage",)
    severity_unit = "damage / threshold"
    severity_range = (0.0, 1.0)
    mode: ClassVar[str]

    def apply(self, twin: "MachineTwin", start_s: float, end_s: float, severity: float) -> int:
        return twin.target("damage").inject(self.mode, start_s, end_s, severity, self.name)


def _register_fault_events() -> None:
    docs = {
        "outer_race": "a spall on the outer race: damage jumps by ``severity`` x threshold at the start and grows from there",
        "inner_race": "a spall on the inner race (persistent, grows like the outer race)",
        "rolling_element": "a spall on a rolling element (persistent, grows)",
        "cage": "a cracked cage (persistent, grows)",
        "imbalance": "imbalance of the rotor over [start, end): 1x vibration at ``severity``",
        "misalignment": "shaft misalignment over [start, end): 2x and 1x vibration at ``severity``",
        "lubrication": "loss of lubricant over [start, end): friction, heat, friction noise; lubrication quality x (1 - 0.9 severity) speeds ageing",
    }
    for mode, etype in FAULT_EVENT_TYPES.items():
        if etype in EVENTS:
            continue
        cls = type(
            "".join(w.capitalize() for w in etype.split("_")),
            (MachineFault,),
            {"name": etype, "mode": mode, "__doc__": f"Injected machine fault: {docs[mode]}."},
        )
        EVENTS.register(etype, cls)


_register_fault_events()


#: The machine parameters calibration may search by name (dotted paths in ``MachineConfig``,
#: and ``diversity.<field>`` of ``MachineDiversity``) and their default ranges.
MACHINE_CALIBRATABLE: dict[str, Bound] = {
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
    # fleet laws ([diversity]), calibrated when the base scenario has a [diversity] section
    "diversity.background_sigma": Bound(0.0, 1.0),
    "diversity.background_modulation_sigma": Bound(0.0, 1.0),
    "diversity.life_scale_sigma": Bound(0.0, 1.5),
    "diversity.radial_load_sigma": Bound(0.0, 0.5),
    "diversity.shaft_speed_sigma": Bound(0.0, 0.3),
    "diversity.resonance_sigma": Bound(0.0, 0.5),
    "diversity.ambient_sd_k": Bound(0.0, 10.0),
    "diversity.background_impact_rate_sigma": Bound(0.0, 2.0),
    "diversity.background_impact_g_sigma": Bound(0.0, 1.5),
}

@TWINS.register("machine")
class MachineTwin(TwinBase):
    """One machine over one run (see the module docstring).

    Parameters
    ----------
    config : MachineConfig
    streams : RngStreams
        The run's random streams (``degradation/<mode>``, ``vibration/snapshots``,
        ``sensors/<name>``).
    events : sequence of ScheduledEvent
        Faults (``bearing_outer_race``, ``imbalance``, ``lubrication_loss``...) and
        weather events (``heat_wave``) placed on this run.
    """

    name: ClassVar[str] = "machine"
    Config: ClassVar[type] = MachineConfig
    Diversity: ClassVar[type] = MachineDiversity
    #: Snapshot intervals this twin renders [s].
    period_range_s: ClassVar[tuple[float, float]] = (0.5, 86_400.0)
    targets: ClassVar[frozenset[str]] = TwinBase.targets | {"ambient_temperature", "damage"}
    calibratable: ClassVar[dict[str, Bound]] = MACHINE_CALIBRATABLE
    laws: ClassVar[dict[str, Law]] = MACHINE_LAWS
    draw = staticmethod(draw_machine)
    pin_explicit = staticmethod(pin_machine_settings)

    def __init__(
        self, config: MachineConfig, streams: RngStreams, events: tuple[ScheduledEvent, ...] = ()
    ) -> None:
        super().__init__(config, streams, events)
        self._plan_start: pd.Timestamp | None = None
        self.geometry = config.geometry
        rate = config.sample_rate_hz
        vib = config.vibration
        # The accelerometer's anti-alias filter removes resonances near and above Nyquist.
        cut = ANTI_ALIAS_FRACTION * rate
        kept = tuple(r for r in vib.resonances if r[0] < cut) or ((0.25 * rate, 0.03, 1.0),)
        bg = vib.background_resonances
        if bg is not None:
            bg = tuple(r for r in bg if r[0] < cut and r[2] > 0.0) or None
        self.vibration = vib.model_copy(
            update={"sample_rate_hz": rate, "resonances": kept, "background_resonances": bg}
        )

    # -- protocol ---------------------------------------------------------------------
    def channels(self) -> tuple[ChannelSpec, ...]:
        return machine_channels(self.config)

    def parameters(self) -> dict[str, Any]:
        out = self.config.flat()
        if self._plan_start is not None:
            out["truth.failure_s"] = float(self.failure_s)
            out["truth.failure_mode"] = self.failure_mode
            for mode in sorted(self.paths):
                out[f"truth.onset_s.{mode}"] = float(self.onset_s[mode])
        return out

    def max_chunk_samples(self, grid: TimeGrid) -> int:
        """Snapshots per chunk: about 2 M waveform samples (16 MB of float64) at a time."""
        per = max(1, round(self.config.snapshot_duration_s * self.config.sample_rate_hz))
        return max(1, _CHUNK_WAVEFORM_SAMPLES // per)

    def run_grid(self, grid: TimeGrid) -> TimeGrid:
        """This run's grid: ``grid``, or with ``until_failure`` cut at the first snapshot at or
        after the failure (so the last row has ``rul_s = 0`` and ``health = 0``)."""
        self._ensure_plan(grid)
        if not self.config.until_failure or not math.isfinite(self.failure_s):
            return grid
        n = int(math.ceil(self.failure_s / grid.period_s - 1e-9)) + 1
        if n >= grid.n_steps:
            return grid
        return TimeGrid(grid.start, grid.period_s, max(n, 1))

    # -- planning (deterministic from the streams and the grid's start) ---------------
    def _check_grid(self, grid: TimeGrid) -> None:
        if self.config.snapshot_duration_s > grid.period_s:
            raise ValueError(
                f"machine.snapshot_duration_s ({self.config.snapshot_duration_s:g} s) must not exceed "
                f"the snapshot interval period ({grid.period_s:g} s)"
            )

    def _ensure_plan(self, grid: TimeGrid) -> None:
        if self._plan_start is not None:
            if self._plan_start != grid.start:
                raise ValueError("the machine's plan was made for another start time")
            return
        self._check_grid(grid)
        cfg = self.config
        self._plan_start = grid.start
        self.weather = Ambient(cfg.ambient_temp_c, cfg.ambient_daily_amplitude_k, grid.start)
        #: injected persistent defects: mode -> list of (t_s, damage offset)
        self._offsets: dict[str, list[tuple[float, float]]] = {}
        #: injected temporary conditions: (mode, start_s, end_s, severity)
        self._windows: list[tuple[str, float, float, float]] = []
        self.expose(ambient_temperature=self.weather, damage=self)
        self.apply_scheduled_events(grid)
        self._build_age_clock(horizon_s=grid.horizon_s)
        modes = list(dict.fromkeys([*cfg.fault_modes, *self._offsets]))
        self.paths: dict[str, _DamagePath] = {}
        self.onset_s: dict[str, float] = {}
        self._onset_u: dict[str, float] = {}
        fail: dict[str, float] = {}
        for mode in modes:
            params = cfg.degradation.model_copy(update={"fault_mode": mode})
            path = _DamagePath(params, self.streams.generator(f"degradation/{mode}"))
            natural = mode in cfg.fault_modes
            onset_u = path.onset_u if natural else math.inf
            offsets = sorted(self._offsets.get(mode, []))
            if offsets:
                onset_u = min(onset_u, self._u_at(offsets[0][0]))
            self.paths[mode] = path
            self._onset_u[mode] = onset_u
            self.onset_s[mode] = self._t_at(onset_u)
            fail[mode] = self._failure_of(mode, path, onset_u, offsets)
        if fail:
            self.failure_mode = min(fail, key=lambda m: (fail[m], m))
            self.failure_s = fail[self.failure_mode]
        else:
            self.failure_mode, self.failure_s = "", math.inf

    def inject(self, mode: str, start_s: float, end_s: float, severity: float, etype: str) -> int:
        """Force a fault (called by the registered machine fault events); returns the event id."""
        sev = float(min(max(severity, 0.0), 1.0))
        if mode in LOCALISED_FAULTS:
            self._offsets.setdefault(mode, []).append((float(start_s), sev * self.config.degradation.failure_threshold))
        else:
            self._windows.append((mode, float(start_s), float(end_s), sev))
        return self.log.log("machine", etype, start_s, end_s, sev, label=True, injected=True, mode=mode)

    def _operating(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Duty-cycle speed and load factors at ``t_s`` (right-continuous)."""
        t = np.asarray(t_s, dtype=np.float64)
        steps = self.config.duty_cycle
        if not steps:
            return np.ones(t.shape), np.ones(t.shape)
        edges = np.cumsum([0.0] + [s.duration_s for s in steps])
        k = np.searchsorted(edges, np.mod(t, edges[-1]), side="right") - 1
        k = np.clip(k, 0, len(steps) - 1)
        speed = np.array([s.speed_factor for s in steps])[k]
        load = np.array([s.load_factor for s in steps])[k]
        return speed, load

    def _duty_edges(self, t0: float, t1: float) -> np.ndarray:
        """Duty-cycle step starts in ``[t0, t1)``."""
        steps = self.config.duty_cycle
        if not steps:
            return np.empty(0)
        edges = np.cumsum([0.0] + [s.duration_s for s in steps])[:-1]
        cycle = sum(s.duration_s for s in steps)
        c0, c1 = math.floor(t0 / cycle), math.ceil(t1 / cycle)
        out = (np.arange(c0, c1 + 1)[:, None] * cycle + edges[None, :]).ravel()
        return out[(out >= t0) & (out < t1)]

    def _lube_severity(self, t_s: np.ndarray) -> np.ndarray:
        t = np.asarray(t_s, dtype=np.float64)
        s = np.zeros(t.shape)
        for mode, a, b, sev in self._windows:
            if mode == "lubrication":
                s = np.maximum(s, np.where((t >= a) & (t < b), sev, 0.0))
        return s

    def _healthy_bearing_temp_c(self, t_s: np.ndarray, speed_f: np.ndarray, load_f: np.ndarray) -> np.ndarray:
        """Quasi-steady bearing temperature of the healthy machine [degC] (ageing rate input)."""
        cfg, th = self.config, self.config.thermal
        amb = self.weather.temp_c(t_s)
        lube = self._lube_severity(t_s)
        mu = th.friction_coefficient * (1.0 + th.friction_lubrication_gain * lube) / cfg.lubrication_quality
        shaft_hz = cfg.shaft_speed_rpm / 60.0 * speed_f
        p_f = bearing_friction_power_w(cfg.radial_load_n * load_f, shaft_hz, self.geometry.pitch_diameter_m, mu)
        p_m = motor_loss_w(cfg.shaft_power_w * speed_f**3 * load_f, th.motor_efficiency)
        return amb + th.bearing_r_k_per_w * p_f + th.motor_coupling * th.motor_r_k_per_w * p_m

    def _build_age_clock(self, horizon_s: float) -> None:
        self._age_t = np.zeros(1)
        self._age_u = np.zeros(1)
        self._extend_age_clock(max(horizon_s, 86_400.0))

    def _extend_age_clock(self, until_s: float) -> None:
        """Equivalent age u(t) on segments [knots of 600 s, duty steps, event windows)."""
        cfg = self.config
        t0 = float(self._age_t[-1])
        if until_s <= t0:
            return
        cuts = [np.arange(math.floor(t0 / _AGE_KNOT_S) + 1, math.ceil(until_s / _AGE_KNOT_S) + 1) * _AGE_KNOT_S,
                self._duty_edges(t0, until_s)]
        cuts += [np.array([a, b]) for _, a, b, _ in self._windows]
        edges = np.unique(np.concatenate([[t0], *cuts]))
        edges = edges[(edges >= t0)]
        if edges[-1] < until_s:
            edges = np.append(edges, until_s)
        mid = 0.5 * (edges[:-1] + edges[1:])
        speed_f, load_f = self._operating(mid)
        temp = self._healthy_bearing_temp_c(mid, speed_f, load_f)
        lube = cfg.lubrication_quality * (1.0 - _LUBE_LOSS_AT_1 * self._lube_severity(mid))
        af = acceleration_factor(
            cfg.degradation,
            load_factor=cfg.radial_load_n * load_f / cfg.reference_load_n,
            temp_c=temp,
            lube_factor=lube,
            speed_factor=cfg.shaft_speed_rpm * speed_f / cfg.reference_speed_rpm,
        )
        u = self._age_u[-1] + np.cumsum(af * np.diff(edges))
        self._age_t = np.concatenate([self._age_t, edges[1:]])
        self._age_u = np.concatenate([self._age_u, u])

    def _u_at(self, t_s) -> np.ndarray | float:
        t = np.asarray(t_s, dtype=np.float64)
        if t.size and float(np.max(t)) > self._age_t[-1]:
            self._extend_age_clock(float(np.max(t)) + 86_400.0)
        u = np.interp(t, self._age_t, self._age_u)
        return float(u) if u.ndim == 0 else u

    def _t_at(self, u: float) -> float:
        """First time the equivalent age reaches ``u`` (inf if never within 200 years)."""
        if not math.isfinite(u):
            return math.inf
        while self._age_u[-1] < u:
            span = self._age_t[-1]
            if span > 200 * 365.25 * 86_400.0:
                return math.inf
            self._extend_age_clock(2.0 * span)
        j = int(np.searchsorted(self._age_u, u, side="left"))
        if j == 0:
            return float(self._age_t[0])
        u0, u1 = self._age_u[j - 1], self._age_u[j]
        t0, t1 = self._age_t[j - 1], self._age_t[j]
        return float(t0 + (u - u0) / (u1 - u0) * (t1 - t0))

    def _failure_of(self, mode: str, path: _DamagePath, onset_u: float, offsets) -> float:
        """First time the mode's damage (path + injected offsets) reaches the threshold."""
        if not math.isfinite(onset_u):
            return math.inf
        thr = path.threshold
        times = [0.0] + [t for t, _ in offsets]
        cum = np.concatenate([[0.0], np.cumsum([o for _, o in offsets])])
        for i, t_a in enumerate(times):
            t_b = times[i + 1] if i + 1 < len(times) else math.inf
            need = thr - cum[i]
            tau_a = self._u_at(t_a) - onset_u
            if need <= 0.0 or float(path.damage(np.asarray(tau_a))) >= need:
                return t_a
            t_cross = self._t_at(onset_u + path.tau_at(need))
            if t_cross < t_b:
                return max(t_cross, t_a)
        return math.inf

    def damage(self, t_s: np.ndarray) -> dict[str, np.ndarray]:
        """Damage of every mode at ``t_s`` [damage units]; frozen from the failure on."""
        t = np.minimum(np.asarray(t_s, dtype=np.float64), self.failure_s)
        u = np.asarray(self._u_at(t))
        out = {}
        for mode, path in self.paths.items():
            d = path.damage(u - self._onset_u[mode]) if math.isfinite(self._onset_u[mode]) else np.zeros(t.shape)
            for t0, off in self._offsets.get(mode, []):
                d = d + np.where(t >= t0, off, 0.0)
            out[mode] = d
        return out

    # -- wiring -----------------------------------------------------------------------
    def start(self, env: simpy.Environment, grid: TimeGrid) -> None:
        self._ensure_plan(grid)
        cfg = self.config
        self.grid = grid
        self.speed_rpm = StepSignal(0.0)
        self.load_n = StepSignal(0.0)
        env.process(self._operation(env))
        env.process(self._lifecycle(env, grid.horizon_s))
        snap = self.streams.seed_sequence("vibration/snapshots")
        self._snap_key = (snap.entropy, snap.spawn_key)
        self._sensor_rng = {k: self.streams.generator(f"sensors/{k}") for k in ("temp_bearing", "temp_motor", "temp_ambient")}
        t0 = np.zeros(1)
        amb0 = float(self.weather.temp_c(t0)[0])
        self._temp_state = {"bearing": amb0, "motor": amb0}
        if cfg.start_warm:
            speed_f, load_f = self._operating(t0)
            th = cfg.thermal
            p_m = motor_loss_w(cfg.shaft_power_w * speed_f**3 * load_f, th.motor_efficiency)
            self._temp_state = {
                "bearing": float(self._healthy_bearing_temp_c(t0, speed_f, load_f)[0]),
                "motor": float(amb0 + th.motor_r_k_per_w * p_m[0]),
            }
        self._samples_per_snapshot = round(cfg.snapshot_duration_s * cfg.sample_rate_hz)
        self._drift_horizon_s = grid.horizon_s

    def _operation(self, env: simpy.Environment):
        """Duty-cycle steps (speed and load); the machine runs on after a failure."""
        cfg = self.config
        steps = cfg.duty_cycle
        if not steps:
            self.speed_rpm.set(0.0, cfg.shaft_speed_rpm)
            self.load_n.set(0.0, cfg.radial_load_n)
        else:
            starts = np.cumsum([0.0] + [s.duration_s for s in steps])
            cycle, c, k = float(starts[-1]), 0, 0
            while True:
                t_k = c * cycle + float(starts[k])
                if t_k > env.now:
                    yield env.timeout(t_k - env.now)
                self.speed_rpm.set(env.now, cfg.shaft_speed_rpm * steps[k].speed_factor)
                self.load_n.set(env.now, cfg.radial_load_n * steps[k].load_factor)
                k += 1
                if k == len(steps):
                    c, k = c + 1, 0

    def _lifecycle(self, env: simpy.Environment, horizon_s: float):
        """Fault onsets and the failure, logged when they happen (emergent events)."""
        happenings = sorted(
            [(t, 0, m) for m, t in self.onset_s.items() if t < self.failure_s]
            + ([(self.failure_s, 1, self.failure_mode)] if math.isfinite(self.failure_s) else [])
        )
        thr = self.config.degradation.failure_threshold
        for t, kind, mode in happenings:
            if t > env.now:
                yield env.timeout(t - env.now)
            if kind == 0:
                end = min(self.failure_s, horizon_s)
                sev = float(np.clip(self.damage(np.array([end]))[mode][0] / thr, 0.0, 1.0))
                self.log.log(
                    "machine", FAULT_EVENT_TYPES[mode], t, max(end, t), sev, label=True,
                    mode=mode, emergent=True, censored=bool(self.failure_s > horizon_s),
                    failure_s=round(self.failure_s, 6) if math.isfinite(self.failure_s) else -1.0,
                )
            else:
                self.log.log(
                    "machine", FAILURE_EVENT, t, max(horizon_s, t), 1.0, label=True, mode=mode,
                )

    # -- rendering --------------------------------------------------------------------
    def _snapshot_rng(self, k: int) -> np.random.Generator:
        entropy, key = self._snap_key
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy, spawn_key=key + (k,))))

    def render(self, grid: TimeGrid, i0: int, i1: int) -> Rendered:
        cfg, th = self.config, self.config.thermal
        t = grid.t_s(i0, i1)
        n = len(t)
        thr = cfg.degradation.failure_threshold
        failed = t >= self.failure_s
        speed_rpm = self.speed_rpm.at(t)
        load_n = self.load_n.at(t)
        shaft_hz = speed_rpm / 60.0
        amb = self.weather.temp_c(t)

        # Severities: permanent damage, plus temporary injected conditions as floors.
        damage = self.damage(t)
        sev = {m: np.clip(d / thr, 0.0, 1.0) for m, d in damage.items()}
        health = np.ones(n)
        for s in sev.values():
            health = np.minimum(health, 1.0 - s)
        health = np.where(failed, 0.0, health)
        cond = {m: s.copy() for m, s in sev.items()}
        for mode, a, b, s_inj in self._windows:
            floor = np.where((t >= a) & (t < b), s_inj, 0.0)
            cond[mode] = np.maximum(cond.get(mode, np.zeros(n)), floor)
        fault = np.full(n, "", dtype=object)
        fault_sev = np.zeros(n)
        for mode in sorted(cond):  # ties: alphabetical order, first wins
            better = cond[mode] > fault_sev
            fault = np.where(better, mode, fault)
            fault_sev = np.where(better, cond[mode], fault_sev)
        rul = np.maximum(self.failure_s - t, 0.0) if math.isfinite(self.failure_s) else np.full(n, np.inf)

        # Temperatures: first-order nodes with the inputs held over each snapshot interval.
        s_loc = np.zeros(n)
        for m in LOCALISED_FAULTS:
            if m in cond:
                s_loc = np.maximum(s_loc, cond[m])
        s_lube = cond.get("lubrication", np.zeros(n))
        mu = th.friction_coefficient * (1.0 + th.friction_damage_gain * s_loc**2 + th.friction_lubrication_gain * s_lube)
        mu = mu / cfg.lubrication_quality
        p_f = bearing_friction_power_w(load_n, shaft_hz, self.geometry.pitch_diameter_m, mu)
        speed_f = speed_rpm / cfg.shaft_speed_rpm
        load_f = load_n / cfg.radial_load_n
        p_loss = motor_loss_w(cfg.shaft_power_w * speed_f**3 * load_f, th.motor_efficiency)
        teq_m = amb + th.motor_r_k_per_w * p_loss
        teq_b = amb + th.bearing_r_k_per_w * p_f + th.motor_coupling * (teq_m - amb)
        temp_b, self._temp_state["bearing"] = first_order_response(teq_b, self._temp_state["bearing"], grid.period_s, th.bearing_tau_s)
        temp_m, self._temp_state["motor"] = first_order_response(teq_m, self._temp_state["motor"], grid.period_s, th.motor_tau_s)

        # Vibration snapshots, then their condition indicators.
        m_samples = self._samples_per_snapshot
        rate = cfg.sample_rate_hz
        waves = np.empty((n, m_samples), dtype=np.float32)
        current = np.empty((n, m_samples), dtype=np.float32) if cfg.current is not None else None
        vib = self.vibration
        drift = background_drift(
            t, vib.background_drift_sigma, vib.background_drift_time_s,
            self.streams.generator("vibration/drift"), horizon_s=self._drift_horizon_s,
        )
        snr = np.full(n, np.nan)
        for j in range(n):
            rng = self._snapshot_rng(i0 + j)
            sv = {mode: float(c[j]) for mode, c in cond.items()}
            x, x_fault = render_snapshot(
                float(t[j]), cfg.snapshot_duration_s, rate, float(shaft_hz[j]), self.geometry, sv, self.vibration, rng,
                background_scale=float(drift[j]), radial_load_n=float(load_n[j]), return_fault=True,
            )
            waves[j] = x
            ratio = fault_snr_db(x, x_fault)
            snr[j] = ratio if math.isfinite(ratio) else np.nan
            if current is not None:
                c = cfg.current
                ratio = speed_f[j] ** 3 * load_f[j]
                i_rms = c.rated_current_a * (c.no_load_ratio + (1.0 - c.no_load_ratio) * ratio) if shaft_hz[j] > 0 else 0.0
                tw = float(t[j]) + np.arange(m_samples) / rate
                current[j] = motor_current(
                    tw, c.supply_hz, float(shaft_hz[j]), self.geometry, sv, rng,
                    amplitude_a=math.sqrt(2.0) * i_rms, sideband_ratio=c.sideband_ratio, noise_a=c.noise_a,
                )
        ind = self._indicators(waves, shaft_hz)
        rng_s = self._sensor_rng
        ts = cfg.temperature_sensor
        block: dict[str, Any] = {
            "accel_rms_g": ind["rms"],
            "accel_peak_g": ind["peak"],
            "accel_crest_factor": ind["crest_factor"],
            "accel_kurtosis": ind["kurtosis"],
            "accel_env_bpfo_g": ind["env_bpfo"],
            "accel_env_bpfi_g": ind["env_bpfi"],
            "accel_env_bsf_g": ind["env_bsf"],
            "accel_env_ftf_g": ind["env_ftf"],
            "shaft_speed_rpm": speed_rpm,
            "radial_load_n": load_n,
            "temp_bearing_c": measure(temp_b, ts, rng_s["temp_bearing"]),
            "temp_motor_c": measure(temp_m, ts, rng_s["temp_motor"]),
            "temp_ambient_c": measure(amb, ts, rng_s["temp_ambient"]),
        }
        if current is not None:
            block["current_rms_a"] = np.sqrt(np.mean(current.astype(np.float64) ** 2, axis=1))
        block.update({"fault": fault, "fault_severity": fault_sev, "fault_snr_db": snr, "health": health, "rul_s": rul})
        block.update(self.log.render_labels(t))
        table: dict[str, Any] = {
            "time": grid.timestamps(i0, i1),
            "snapshot": np.arange(i0, i1, dtype=np.int64),
            "accel_g": waves,
        }
        if current is not None:
            table["current_a"] = current
        return Rendered(block, {"snapshots": table})

    def _indicators(self, waves: np.ndarray, shaft_hz: np.ndarray) -> dict[str, np.ndarray]:
        """Condition indicators of the stored (float32) waveforms, batched by shaft speed."""
        n = waves.shape[0]
        keys = ("rms", "peak", "crest_factor", "kurtosis", "env_bpfo", "env_bpfi", "env_bsf", "env_ftf")
        out = {k: np.full(n, np.nan) for k in keys}
        for f in np.unique(shaft_hz):
            idx = np.flatnonzero(shaft_hz == f)
            freqs = {k: float(v) for k, v in defect_frequencies(self.geometry, float(f)).items()} if f > 0 else None
            for b in range(0, idx.size, _INDICATOR_BATCH):
                sel = idx[b : b + _INDICATOR_BATCH]
                ci = condition_indicators(waves[sel].astype(np.float64), self.config.sample_rate_hz, freqs)
                for k in keys:
                    if k in ci:
                        out[k][sel] = ci[k]
        return out

