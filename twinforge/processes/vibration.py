"""Vibration snapshots of a rotating machine with bearing and shaft faults.

A snapshot (e.g. 0.1 s at 25.6 kHz every 10 s, as on PRONOSTIA) is rendered from the
current fault severities. What a casing accelerometer records is the sum of separate
**transfer paths**, seen through the sensor:

.. math::

    x(t) = S * \\Big[\\underbrace{\\textstyle\\sum_r h_r * \\big(f_{def}(t) + n_{rough}(t)
           + f_{bg}(t)\\big)}_{\\text{bearing: high-frequency structural resonances}}
           + \\underbrace{\\textstyle\\sum_e h_e * f_{entry}(t)}_{\\text{entry path (optional)}}
           + \\underbrace{b(t)}_{\\text{healthy background}}
           + \\underbrace{\\textstyle\\sum_k a_k \\cos(k\\theta + \\phi_k)
           + \\sum_j e_j \\cos(2\\pi j f_e t + \\varphi_j)}_{\\text{shaft and line harmonics}}\\Big]
           + \\sigma_s\\,v(t)

**Localised defects** (spalls on the outer race, the inner race or a rolling element; a
cracked cage) force the structure at their defect frequency
(:func:`twinforge.processes.bearing.defect_frequencies`: BPFO, BPFI, 2 x BSF, FTF).

- *Defect geometry* (Sawalhi & Randall 2011; Singh et al. 2014, J. Sound Vib. 333,
  5356-5377): an element crossing a spall of width ``w`` first unloads (entry: a smooth
  force drop of relative size ``entry_impact_ratio``, over half the crossing time) and then
  strikes the far edge as it is re-stressed (exit: a sharp impact), ``w / v`` later, ``v``
  the surface speed (:func:`twinforge.processes.bearing.surface_speeds`). Entry and exit
  have opposite signs, and each structural mode has its own sign (``resonances`` gains may
  be negative: the product of the mode shapes at the contact and at the sensor), so the
  responses are of mixed sign. The entry drop releases the element's static load, so it is
  linear in that load whatever the strike's ``impact_load_exponent``; being slow (half the
  crossing time) it mostly excites low modes (Sawalhi & Randall 2011, Mech. Syst. Signal
  Process. 25, 846-870, doi:10.1016/j.ymssp.2010.09.009: entry = a low-frequency step
  response, exit = a high-frequency impulse response). A rig whose shaft and housing have
  low, well-damped support modes (``entry_resonances``) sees the drop through them
  quasi-statically: the response keeps the force's sign (times the sign of the mode at the
  sensor) and the signal leans to one side (skewness), the more so the higher the load; at
  no load only the strikes remain. Without ``entry_resonances`` the drop rings the bearing
  resonances. The width grows with the fault severity ``s`` in [0, 1]:
  ``w = spall_width_at_failure_mm * s**impact_severity_exponent``. The exit strike grows
  with the angle at which the element meets the edge, :math:`\\sin\\beta = \\min(w/d, 1)`;
  exit times scatter by a quarter of the crossing time (a rough, worn edge), so a large
  spall gives a less periodic response.
- *Amplitude from load and speed*: each strike scales with the load on the element at the
  defect, :math:`(Q/Q_{ref})^{\\kappa}` (Stribeck distribution from the radial load, the
  clearance and a preload, :func:`twinforge.processes.bearing.load_distribution`;
  ``Q_ref`` the most loaded element at ``impact_reference_load_n``), and with the speed,
  :math:`(f_r/f_{ref})^{\\gamma}`; times lognormal scatter (``impact_amplitude_cv``).
  An outer-race spall sits at a fixed angle from the centre of the load zone
  (``outer_race_defect_angle_deg``): outside the zone only the preload presses the
  elements on it and the fault can be nearly invisible. An inner-race spall turns with the
  shaft through the zone (McFadden & Smith 1984, doi:10.1016/0022-460X(84)90595-9): its
  strikes are modulated at the shaft rate with a depth set by the load distribution, or
  fixed by ``inner_race_modulation_depth`` m, :math:`Q = Q_{peak} (1 - m + m\\,q(\\theta))`.
  A load turning with the shaft (``rotating_load_n``: unbalance, misalignment; its direction
  ``rotating_load_angle_deg`` from the inner-race defect) adds to the static load as a
  vector; the elements carry the resultant's distribution (:class:`_RotatingLoad`): an
  inner-race spall is then pressed at a constant angle even without a radial load (strikes
  without shaft-rate modulation), an outer-race spall is swept once per revolution.
  A ball spall is carried round at the cage rate (modulation at FTF).
- *Rolling-element faults are mostly not impulsive*: a ball spins about an axis that
  wanders, so its spall is in the contact track only part of the time (a random telegraph
  of ``rolling_element_contact_fraction``, episodes of ``rolling_element_axis_revolutions``
  cage revolutions), and when it is, it rolls through the contact rather than striking it.
  A share ``rolling_element_impulsiveness`` of the fault's energy comes as strikes at
  2 x BSF (alternately on the outer and the inner race, hence a line at BSF too); the rest
  as Gaussian noise of the same energy through the same resonances, switched by the contact
  and modulated at the cage rate by the load zone (its power follows the element load).
  Kurtosis stays near 3-4, the 2 x BSF line is weak, FTF and its harmonics dominate the
  envelope spectrum.
- *Slip*: inter-arrival times carry random jitter (``slip_fraction``, 1-2 %), which makes
  the signal cyclostationary rather than periodic and smears the higher harmonics of the
  envelope spectrum (Randall & Antoni 2011, doi:10.1016/j.ymssp.2010.07.017; Antoni &
  Randall 2003, doi:10.1115/1.1569940).

**Transfer paths.** Forces born in the bearing (the defect strikes, roughness, friction,
random debris impacts) ring the high-frequency structural ``resonances``: one
second-order resonator per mode, :math:`h_r[n] = g_r\\,\\rho_r^n \\sin(n \\theta_r)`,
:math:`\\rho_r = e^{-\\zeta_r \\omega_r / f_s}`,
:math:`\\theta_r = \\omega_r \\sqrt{1 - \\zeta_r^2} / f_s` (``scipy.signal.lfilter``; no
Python loop over impacts or samples). The healthy machine's own vibration follows another
path: a band-limited Gaussian background of RMS ``background_rms_g`` shaped by
``background_resonances`` (each mode ``(f, zeta, share)`` a share of the power; low
structural modes, flow and rotor noise; default: the bearing resonances, as on PRONOSTIA
where the healthy power sits at 2-4 kHz), drawn in the frequency domain with exactly that
power spectrum; shaft harmonics ``shaft_harmonics_g`` (1x, 2x, ...; imbalance raises 1x,
misalignment 2x and 1x) in phase with the shaft angle :math:`\\theta = 2\\pi f_r t`; the
electrical line ``line_harmonics_g`` at multiples of ``line_frequency_hz``. Damage raises
the bearing's broadband level through the bearing path: the roughness of the damaged surface
(``distributed_damage_gain``: white force noise of ``gain s^2`` times the power of outer-race
strikes at severity 1, at the same load and speed: a fault from impulsive to noisy) and the
friction of a poor lubricant (``lubrication_noise_g``). The **sensor** ``S``: the
mounting resonance of the accelerometer (``sensor_resonance_hz``,
:math:`H(s) = \\omega_m^2 / (s^2 + 2\\zeta_m\\omega_m s + \\omega_m^2)`, flat below, a peak of
:math:`1/2\\zeta_m` at :math:`\\omega_m`) and its upper band limit (``sensor_lowpass_hz``,
2nd-order Butterworth), then white sensor noise.

**Rig texture** (off by default): the healthy level drifts slowly
(``background_drift_sigma``, an Ornstein-Uhlenbeck log-level, :func:`background_drift`);
random impacts not tied to a defect frequency (``background_impact_rate_hz``: debris,
asperity contacts; Poisson times, lognormal amplitudes of random sign) make a healthy
bearing's kurtosis exceed 3 intermittently; a modulation of the background at the shaft
rate (``background_modulation_depth``: rotating load, run-out) raises it steadily.

Every random part draws from its own child stream of the snapshot's generator (one key is
drawn from ``rng``), so switching one part on or off leaves the others' draws unchanged.
The shaft speed and the load are constant within a snapshot (a snapshot of 0.1-1 s is short
compared with speed changes of the twin); pass the mean speed of the window.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator
from scipy import signal

from twinforge.processes.bearing import (
    BearingGeometry,
    LoadDistribution,
    defect_frequencies,
    element_load,
    load_distribution,
    surface_speeds,
)
from twinforge.processes.degradation import FAULT_MODES

__all__ = [
    "LOCALISED_FAULTS",
    "VibrationParams",
    "background_drift",
    "fault_snr_db",
    "motor_current",
    "render_snapshot",
    "resonator_coefficients",
    "spall_width_mm",
]

#: Fault modes rendered as trains of strikes.
LOCALISED_FAULTS: tuple[str, ...] = ("outer_race", "inner_race", "rolling_element", "cage")
#: Child streams of a snapshot (their index is their key: append, never reorder).
_STREAMS: tuple[str, ...] = (
    "outer_race", "inner_race", "rolling_element", "cage", "ball_contact", "ball_noise",
    "background", "background_impacts", "roughness", "line", "sensor", "roughness_force",
)
#: Exit-time scatter relative to the crossing time of the spall (a rough exit edge).
_EXIT_SCATTER = 0.25
#: Resonances at or above this fraction of the sample rate are beyond the anti-alias filter.
ANTI_ALIAS_FRACTION = 0.45

Resonance = tuple[float, float, float]


def _check_modes(value: tuple[Resonance, ...], what: str, signed: bool) -> tuple[Resonance, ...]:
    for freq_hz, zeta, gain in value:
        ok_gain = math.isfinite(gain) and (signed or gain >= 0.0)
        if not (freq_hz > 0.0 and math.isfinite(freq_hz) and 0.0 < zeta < 1.0 and ok_gain):
            raise ValueError(
                f"{what} ({freq_hz}, {zeta}, {gain}): need freq_hz > 0, 0 < damping_ratio < 1, "
                + ("a finite gain (its sign is the mode's)" if signed else "share >= 0")
            )
    return value


class VibrationParams(BaseModel):
    """Parameters of the snapshot renderer (accelerations in g).

    Defaults approximate the horizontal accelerometer of the PRONOSTIA rig (Nectoux et al.
    2012), Bearing1_1: healthy RMS 0.45-0.56 g, Pearson kurtosis 2.9-3.3; near failure
    2.6-5.6 g RMS, 17-40 g peak, kurtosis 8.5-11. The healthy background's shape, its shaft
    and line harmonics are :func:`~twinforge.fidelity.vibration_fit.fit_healthy_vibration`
    of 15 early snapshots (1, 101, ..., 1401; 4 modes at 0.47, 1.1, 3.9 and 11.4 kHz,
    3x shaft 0.05 g, 2x line 0.065 g); the bearing resonances are the modes of the power
    that mid-life degradation adds (snapshots 2001-2751: a broad mode at 1.25 kHz, weaker
    ones at 2.2 and 11 kHz, signs chosen so the strikes are not one-signed). Other rigs:
    the presets in ``twinforge/data/presets`` (``cwru_6205_12k``, ``cwru_6205_48k``,
    ``mfpt``), or fit a rig's healthy recording with
    :func:`twinforge.fidelity.vibration_fit.fit_healthy_vibration`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    sample_rate_hz: float = Field(25_600.0, gt=0.0, description="sample rate [Hz]")
    # -- transfer paths ------------------------------------------------------------------
    resonances: tuple[Resonance, ...] = Field(
        ((1_250.0, 0.08, 1.0), (2_200.0, 0.04, -0.5), (11_000.0, 0.02, -0.3)),
        min_length=1,
        description="structural resonances rung by forces in the bearing (frequency [Hz], damping "
        "ratio [-], gain [-], negative: the mode responds with the opposite sign)",
    )
    background_rms_g: float = Field(
        0.42, ge=0.0, description="RMS of the healthy band-limited background vibration [g]"
    )
    background_resonances: tuple[Resonance, ...] | None = Field(
        ((471.0, 0.346, 0.0655), (1_129.0, 0.220, 0.0861), (3_869.0, 0.458, 0.7921), (11_436.0, 0.0647, 0.0563)),
        description="shape of the healthy background: modes (frequency [Hz], damping ratio [-], share "
        "of the power [-]); None: the bearing resonances",
    )
    shaft_harmonics_g: tuple[float, ...] = Field(
        (0.02, 0.01, 0.05),
        max_length=64,
        description="amplitudes of the healthy shaft harmonics 1x, 2x, 3x, ... [g]",
    )
    phase_1x_rad: float = Field(
        0.0, description="phase of the 1x component relative to the shaft angle [rad] (kx: k times it)"
    )
    phase_2x_rad: float = Field(
        0.0, description="phase of the 2x component relative to twice the shaft angle [rad]"
    )
    line_frequency_hz: float = Field(50.0, gt=0.0, le=1000.0, description="electrical line frequency [Hz]")
    line_harmonics_g: tuple[float, ...] = Field(
        (0.0, 0.065),
        max_length=32,
        description="amplitudes at 1x, 2x, ... the line frequency (motor magnetic forces, pick-up) [g]",
    )
    sensor_noise_g: float = Field(0.03, ge=0.0, description="white sensor noise, standard deviation [g]")
    sensor_resonance_hz: float = Field(
        0.0, ge=0.0, description="mounting resonance of the accelerometer [Hz] (0: none in band)"
    )
    sensor_resonance_damping: float = Field(
        0.03, gt=0.0, lt=1.0, description="damping ratio of the mounting resonance [-]"
    )
    sensor_lowpass_hz: float = Field(
        0.0, ge=0.0, description="upper band limit of the accelerometer [Hz] (0: none below Nyquist)"
    )
    # -- localised defects -----------------------------------------------------------------
    impact_outer_race_g: float = Field(
        12.0, ge=0.0, description="outer-race exit strike at severity 1, reference load and speed [g]"
    )
    impact_inner_race_g: float = Field(
        10.0, ge=0.0, description="inner-race exit strike at severity 1, reference load and speed [g]"
    )
    impact_rolling_element_g: float = Field(
        8.0, ge=0.0, description="rolling-element strike at severity 1, reference load and speed [g]"
    )
    impact_cage_g: float = Field(3.0, ge=0.0, description="cage impact amplitude at severity 1 [g]")
    impact_amplitude_cv: float = Field(
        0.8, ge=0.0, le=3.0, description="coefficient of variation of strike amplitudes (lognormal) [-]"
    )
    impact_reference_shaft_hz: float = Field(
        30.0, gt=0.0, description="shaft frequency at which the impact_* amplitudes hold [Hz]"
    )
    impact_reference_load_n: float = Field(
        4000.0, gt=0.0, description="radial load at which the impact_* amplitudes hold [N]"
    )
    impact_speed_exponent: float = Field(
        1.0, ge=0.0, le=3.0, description="strikes grow as (shaft_hz / reference)^exponent [-]"
    )
    impact_load_exponent: float = Field(
        1.0, ge=0.0, le=3.0, description="strikes grow as (element load / reference)^exponent [-]"
    )
    slip_fraction: float = Field(
        0.015, ge=0.0, le=0.1, description="std of strike inter-arrival times relative to the period [-] (1-2 %)"
    )
    spall_width_at_failure_mm: float = Field(
        2.0, gt=0.0, le=50.0, description="width of a spall at severity 1 (the failure threshold) [mm]"
    )
    impact_severity_exponent: float = Field(
        1.0,
        gt=0.0,
        le=3.0,
        description="the spall width grows as severity^exponent (1: linear; < 1: an early spall is "
        "already wide and impulsive) [-]",
    )
    entry_impact_ratio: float = Field(
        0.3,
        ge=0.0,
        le=1.0,
        description="entry (unloading) force drop relative to the exit strike at the reference load [-]; "
        "it grows linearly with the element load (the load released), the strike as load^impact_load_exponent",
    )
    entry_resonances: tuple[Resonance, ...] | None = Field(
        None,
        description="transfer path of the entry (unloading) force: low, well-damped support modes (frequency "
        "[Hz], damping ratio [-], gain [-], negative: opposite sign) seen quasi-statically, so the response "
        "keeps the force's sign; None: the bearing resonances",
    )
    # -- load distribution -------------------------------------------------------------------
    load_distribution_factor: float = Field(
        0.5,
        gt=0.0,
        le=10.0,
        description="Stribeck load-zone factor epsilon used when no clearance is given (0.5: +-90 deg) [-]",
    )
    diametral_clearance_um: float | None = Field(
        None,
        ge=-50.0,
        le=200.0,
        description="diametral clearance [um] (negative: preload); sets the load zone from the load "
        "(Harris); None: load_distribution_factor",
    )
    element_preload_n: float = Field(
        0.0, ge=0.0, description="uniform load on every element: axial preload, gravity [N]"
    )
    rotating_load_n: float = Field(
        0.0,
        ge=0.0,
        le=1e7,
        description="radial load fixed in the rotating frame (mass unbalance, misalignment, a bent shaft) "
        "[N], 0 to 1e7; added as a vector to the static radial load (0: none)",
    )
    rotating_load_angle_deg: float = Field(
        0.0,
        ge=-180.0,
        le=180.0,
        description="direction of the rotating load relative to the inner-race defect, in the shaft's "
        "frame [deg] (0: it presses the element on the spall)",
    )
    outer_race_defect_angle_deg: float = Field(
        0.0,
        ge=-180.0,
        le=180.0,
        description="angle of an outer-race spall from the centre of the load zone [deg] "
        "(0: 6 o'clock under a downward load; 180: unloaded)",
    )
    inner_race_modulation_depth: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="depth of the shaft-rate modulation of inner-race strikes [-]; None: from the "
        "load distribution",
    )
    defect_angle_rad: float = Field(
        0.0, description="angle of the inner-race / ball defect at t = 0 [rad]"
    )
    rolling_element_inner_ratio: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="amplitude of a ball's inner-race strike relative to its outer-race strike [-]",
    )
    rolling_element_impulsiveness: float = Field(
        0.05,
        ge=0.0,
        le=1.0,
        description="share of a ball fault's energy delivered as strikes (the rest as modulated noise) [-]",
    )
    rolling_element_contact_fraction: float = Field(
        0.9,
        ge=0.0,
        le=1.0,
        description="share of the time a ball spall is in the contact track (spin axis) [-]",
    )
    rolling_element_axis_revolutions: float = Field(
        2.0,
        gt=0.0,
        le=1000.0,
        description="mean length of a contact on/off cycle of a ball spall [cage revolutions]",
    )
    # -- distributed damage, shaft faults, lubrication --------------------------------------------
    distributed_damage_gain: float = Field(
        0.5,
        ge=0.0,
        le=100.0,
        description="roughness of the damaged surface: broadband bearing-path noise whose RMS at localised "
        "severity s is gain * s^2 times that of outer-race strikes at severity 1, same load and speed [-]",
    )
    imbalance_1x_g: float = Field(0.5, ge=0.0, description="1x amplitude added at imbalance severity 1 [g]")
    misalignment_2x_g: float = Field(
        0.4, ge=0.0, description="2x amplitude added at misalignment severity 1 [g]"
    )
    misalignment_1x_g: float = Field(
        0.15, ge=0.0, description="1x amplitude added at misalignment severity 1 [g]"
    )
    lubrication_noise_g: float = Field(
        1.0,
        ge=0.0,
        description="band-limited friction noise RMS added at lubrication severity 1 [g]",
    )
    # -- rig texture ---------------------------------------------------------------------------------
    background_impact_rate_hz: float = Field(
        0.0,
        ge=0.0,
        le=10_000.0,
        description="mean rate of random (Poisson, not periodic) impacts of a healthy bearing: "
        "debris, asperity contacts, rig knocks [1/s]",
    )
    background_impact_g: float = Field(
        0.5, ge=0.0, description="median amplitude of the random background impacts [g]"
    )
    background_impact_cv: float = Field(
        1.0,
        ge=0.0,
        le=10.0,
        description="coefficient of variation of the random impact amplitudes (lognormal) [-]",
    )
    background_modulation_depth: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="depth m of the background's amplitude modulation at the shaft rate, "
        "(1 + m cos theta): rotating load and run-out; raises the kurtosis to about "
        "3 (1 + 3m^2 + 3m^4/8) / (1 + m^2/2)^2 [-]",
    )
    background_drift_sigma: float = Field(
        0.0,
        ge=0.0,
        le=2.0,
        description="standard deviation of the log of the slowly drifting background level "
        "(Ornstein-Uhlenbeck; 0: constant) [-]",
    )
    background_drift_time_s: float = Field(
        3600.0, gt=0.0, description="correlation time of the background level drift [s]"
    )

    @field_validator("resonances")
    @classmethod
    def _check_resonances(cls, value: tuple[Resonance, ...]):
        return _check_modes(value, "resonance", signed=True)

    @field_validator("entry_resonances")
    @classmethod
    def _check_entry(cls, value: tuple[Resonance, ...] | None):
        if value is None:
            return value
        if not value:
            raise ValueError("entry_resonances needs at least one mode (or None: the bearing resonances)")
        return _check_modes(value, "entry resonance", signed=True)

    @field_validator("background_resonances")
    @classmethod
    def _check_background(cls, value: tuple[Resonance, ...] | None):
        if value is None:
            return value
        if not value or sum(share for _, _, share in value) <= 0.0:
            raise ValueError("background_resonances needs at least one mode with a positive share")
        return _check_modes(value, "background mode", signed=False)

    @field_validator("shaft_harmonics_g", "line_harmonics_g")
    @classmethod
    def _check_amplitudes(cls, value: tuple[float, ...]):
        if any(not (math.isfinite(a) and a >= 0.0) for a in value):
            raise ValueError(f"harmonic amplitudes must be finite and >= 0, got {list(value)}")
        return value


def spall_width_mm(severity, params: VibrationParams):
    """Width of a spall at fault severity ``severity`` in [0, 1] [mm].

    :math:`w = w_f\\, s^p` with ``w_f = spall_width_at_failure_mm`` and
    ``p = impact_severity_exponent``.

    Examples
    --------
    >>> spall_width_mm(0.25, VibrationParams(spall_width_at_failure_mm=2.0))
    0.5
    """
    s = np.clip(np.asarray(severity, dtype=np.float64), 0.0, 1.0)
    w = params.spall_width_at_failure_mm * s**params.impact_severity_exponent
    return float(w) if w.ndim == 0 else w


def fault_snr_db(x, x_fault) -> float:
    """Power of a snapshot's fault part over the rest of it [dB] (-inf without a fault).

    ``10 log10(P_fault / P_rest)`` with ``P`` the mean square: about -10 dB, the fault adds a
    tenth to the power and hides in the healthy signal; above 0 dB it dominates.

    >>> round(fault_snr_db(np.array([1.0, -1.0, 2.0, -2.0]), np.array([0.0, 0.0, 1.0, -1.0])), 2)
    -3.01
    """
    x, x_fault = np.asarray(x, dtype=np.float64), np.asarray(x_fault, dtype=np.float64)
    p_fault = float(np.mean(x_fault * x_fault))
    p_rest = float(np.mean((x - x_fault) ** 2))
    if p_fault == 0.0:
        return -math.inf
    return 10.0 * math.log10(p_fault / p_rest) if p_rest > 0.0 else math.inf


def resonator_coefficients(freq_hz: float, damping_ratio: float, gain: float, rate_hz: float):
    """IIR coefficients ``(b, a)`` of one structural resonance (impulse-invariant).

    The impulse response is :math:`h[n] = g\\,\\rho^n \\sin(n\\theta)`, the sampled unit
    impulse response of a damped oscillator of natural frequency ``freq_hz`` [Hz] and
    damping ratio ``damping_ratio`` scaled to a peak of about ``gain`` (negative: the mode
    responds with the opposite sign).

    Examples
    --------
    >>> b, a = resonator_coefficients(3000.0, 0.05, 1.0, 25600.0)
    >>> h = signal.lfilter(b, a, np.r_[1.0, np.zeros(99)])
    >>> 0.7 < float(np.max(np.abs(h))) <= 1.0
    True
    """
    if not 0.0 < freq_hz < 0.5 * rate_hz:
        raise ValueError(
            f"resonance at {freq_hz} Hz must lie below the Nyquist frequency {0.5 * rate_hz} Hz"
        )
    omega = 2.0 * math.pi * freq_hz
    rho = math.exp(-damping_ratio * omega / rate_hz)
    theta = omega * math.sqrt(1.0 - damping_ratio**2) / rate_hz
    b = np.array([0.0, gain * rho * math.sin(theta)])  # h[n] = g rho^n sin(n theta)
    a = np.array([1.0, -2.0 * rho * math.cos(theta), rho * rho])
    return b, a


def _check_severities(severities: dict[str, float]) -> dict[str, float]:
    out = {mode: 0.0 for mode in FAULT_MODES}
    for mode, value in severities.items():
        if mode not in out:
            raise ValueError(f"unknown fault mode {mode!r}; expected one of {FAULT_MODES}")
        value = float(value)
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"severity of {mode!r} must be in [0, 1], got {value}")
        out[mode] = value
    return out


class _Streams:
    """Named child generators of a snapshot's generator (one key drawn from it)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._key = [int(k) for k in rng.integers(0, 2**63, size=2)]

    def __call__(self, name: str) -> np.random.Generator:
        seq = np.random.SeedSequence(self._key, spawn_key=(_STREAMS.index(name),))
        return np.random.Generator(np.random.PCG64(seq))


def _impact_train(
    rate_per_s: float, window_s: float, rng: np.random.Generator, slip: float
) -> np.ndarray:
    """Strike times in [0, window_s) with mean rate ``rate_per_s`` and jittered intervals."""
    period = 1.0 / rate_per_s
    n = math.ceil(window_s * rate_per_s * (1.0 + 6.0 * slip)) + 3
    intervals = period * np.maximum(1.0 + slip * rng.standard_normal(n), 0.1)
    times = rng.uniform(0.0, period) + np.concatenate(([0.0], np.cumsum(intervals[:-1])))
    return times[times < window_s]


def _telegraph(window_s: float, cycle_s: float, on_fraction: float, rng: np.random.Generator):
    """Switching times and the initial state of a stationary on/off process on [0, window_s).

    On and off durations are exponential with means ``on_fraction * cycle_s`` and
    ``(1 - on_fraction) * cycle_s``; returns ``(edges, on0)``: the state is ``on0`` before
    ``edges[0]`` and toggles at every edge.
    """
    on0 = bool(rng.random() < on_fraction)
    means = np.array([on_fraction, 1.0 - on_fraction]) * cycle_s
    edges: list[np.ndarray] = []
    t, state, block = 0.0, on0, 2 * math.ceil(window_s / cycle_s) + 8
    while t < window_s:
        first = 0 if state else 1  # the current state's mean comes first
        mean_seq = np.resize(np.roll(means, -first), block)
        durations = rng.exponential(1.0, size=block) * mean_seq
        e = t + np.cumsum(durations)
        edges.append(e)
        t = float(e[-1])  # block is even: the state at t is the state we started the block with
    all_edges = np.concatenate(edges) if edges else np.empty(0)
    return all_edges[all_edges < window_s], on0


def _state_at(times: np.ndarray, edges: np.ndarray, on0: bool) -> np.ndarray:
    flips = np.searchsorted(edges, times, side="right")
    return (flips % 2 == 0) == on0


def _place(exc: np.ndarray, times_s: np.ndarray, amps: np.ndarray, rate: float) -> None:
    """Add impulses of area ``amps`` at ``times_s`` (split linearly between samples)."""
    n = exc.size
    pos = times_s * rate
    i0 = np.floor(pos).astype(np.int64)
    frac = pos - i0
    exc += np.bincount(i0, amps * (1.0 - frac), minlength=n + 2)[:n]
    exc += np.bincount(i0 + 1, amps * frac, minlength=n + 2)[:n]


def _power_weights(n: int) -> np.ndarray:
    """Weights of the one-sided spectrum bins in the total power (1 at DC and Nyquist, else 2)."""
    c = np.full(n // 2 + 1, 2.0)
    c[0] = 1.0
    if n % 2 == 0:
        c[-1] = 1.0
    return c


def _response(b: np.ndarray, a: np.ndarray, freqs: np.ndarray, rate: float) -> np.ndarray:
    """Complex response of a second-order section ``b / a`` at ``freqs`` [Hz]."""
    z1 = np.exp(-2j * np.pi * freqs / rate)
    return (b[0] + b[1] * z1) / (a[0] + a[1] * z1 + a[2] * z1 * z1)


@lru_cache(maxsize=64)
def _bearing_psd(n: int, rate: float, modes: tuple[Resonance, ...]) -> np.ndarray:
    """Power response of the bearing path, |sum_r H_r(f)|^2, on the rfft bins of ``n`` samples."""
    freqs = np.fft.rfftfreq(n, 1.0 / rate)
    h = sum(_response(*resonator_coefficients(f, z, g, rate), freqs, rate) for f, z, g in modes)
    out = np.abs(h) ** 2
    out.flags.writeable = False
    return out


@lru_cache(maxsize=64)
def _modes_psd(n: int, rate: float, modes: tuple[Resonance, ...]) -> np.ndarray:
    """Power spectrum of independent modal noises, each mode carrying its share of the power."""
    freqs = np.fft.rfftfreq(n, 1.0 / rate)
    c = _power_weights(n)
    psd = np.zeros(freqs.size)
    for f, z, share in modes:
        if share > 0.0 and f < 0.5 * rate:
            p = np.abs(_response(*resonator_coefficients(f, z, 1.0, rate), freqs, rate)) ** 2
            psd += share * p / max(float(np.sum(c * p)), np.finfo(float).tiny)
    psd.flags.writeable = False
    return psd


def _coloured_noise(psd: np.ndarray, n: int, rms: float, rng: np.random.Generator) -> np.ndarray:
    """Stationary Gaussian noise of RMS ``rms`` (in expectation) with power spectrum ``psd``.

    Drawn in the frequency domain (circulant embedding): the spectrum of white noise times
    the amplitude response, so no pre-roll is needed.
    """
    norm = math.sqrt(float(np.sum(_power_weights(n) * psd)) / n)
    if not norm > 0.0:
        return np.zeros(n)
    return np.fft.irfft(np.fft.rfft(rng.standard_normal(n)) * np.sqrt(psd) * (rms / norm), n=n)


def _sensor_sos(params: VibrationParams, rate: float) -> np.ndarray | None:
    """Second-order sections of the accelerometer: mounting resonance, upper band limit."""
    sections = []
    f_m = params.sensor_resonance_hz
    if 0.0 < f_m < ANTI_ALIAS_FRACTION * rate:
        zeta = params.sensor_resonance_damping
        w = 2.0 * rate * math.tan(math.pi * f_m / rate)  # pre-warped: the peak lands on f_m
        b, a = signal.bilinear([w * w], [1.0, 2.0 * zeta * w, w * w], fs=rate)
        sections.append(signal.tf2sos(b, a))
    f_lp = params.sensor_lowpass_hz
    if 0.0 < f_lp < 0.5 * rate:
        sections.append(signal.butter(2, f_lp, btype="lowpass", fs=rate, output="sos"))
    return np.concatenate(sections) if sections else None


def render_snapshot(
    t0_s: float,
    duration_s: float,
    rate_hz: float | None,
    shaft_hz: float,
    geometry: BearingGeometry,
    severities: dict[str, float],
    params: VibrationParams,
    rng: np.random.Generator,
    load_zone: bool = True,
    background_scale: float = 1.0,
    radial_load_n: float | None = None,
    return_fault: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Render one acceleration snapshot [g] from the fault severities.

    Parameters
    ----------
    t0_s : float
        Start time of the snapshot [s]; sets the shaft angle (harmonic phases, load-zone
        position of an inner-race or ball defect).
    duration_s : float
        Snapshot length [s] (> 0).
    rate_hz : float or None
        Sample rate [Hz]; ``None`` uses ``params.sample_rate_hz``.
    shaft_hz : float
        Shaft rotation frequency [Hz], constant within the snapshot (>= 0).
    geometry : BearingGeometry
        Bearing geometry (defect frequencies, load distribution, surface speeds).
    severities : dict of str to float
        Fault mode (see :data:`twinforge.processes.degradation.FAULT_MODES`) -> severity in
        [0, 1]; missing modes are 0 (healthy). A localised defect's width is
        :func:`spall_width_mm` of its severity.
    params : VibrationParams
        Resonances at or above 0.45 x the rate are removed (the anti-alias filter).
    rng : numpy.random.Generator
    load_zone : bool
        Weight the strikes by the load on the element (False: every strike as at the centre
        of the load zone: no modulation, an outer-race defect always loaded).
    background_scale : float
        Multiplier of the healthy background level ``background_rms_g`` at this snapshot
        (the machine twin's slow drift, :func:`background_drift`), >= 0.
    radial_load_n : float, optional
        Radial load on the bearing [N] (default ``params.impact_reference_load_n``).
    return_fault : bool
        Also return the part of the snapshot that the localised defects make (their strikes,
        entry drops, rolling noise and roughness, through the bearing path and the sensor):
        the ground truth of how visible a fault is (:func:`fault_snr_db`).

    Returns
    -------
    ndarray of shape (n_samples,)
        Acceleration [g], ``n_samples = round(duration_s * rate_hz)``; with ``return_fault``
        the tuple ``(x, x_fault)``.

    Examples
    --------
    >>> from twinforge.processes.bearing import BEARING_PRESETS
    >>> x = render_snapshot(0.0, 0.1, None, 30.0, BEARING_PRESETS["pronostia"],
    ...                     {"outer_race": 0.5}, VibrationParams(), np.random.default_rng(0))
    >>> x.shape
    (2560,)
    """
    rate = float(params.sample_rate_hz if rate_hz is None else rate_hz)
    if not (rate > 0.0 and duration_s > 0.0):
        raise ValueError("rate_hz and duration_s must be positive")
    if not (shaft_hz >= 0.0 and math.isfinite(shaft_hz)):
        raise ValueError("shaft_hz must be finite and non-negative")
    if not (background_scale >= 0.0 and math.isfinite(background_scale)):
        raise ValueError(f"background_scale must be finite and non-negative, got {background_scale}")
    load_n = params.impact_reference_load_n if radial_load_n is None else float(radial_load_n)
    if not (load_n >= 0.0 and math.isfinite(load_n)):
        raise ValueError(f"radial_load_n must be finite and >= 0, got {radial_load_n}")
    sev = _check_severities(severities)
    n = round(duration_s * rate)
    if n < 1:
        raise ValueError("the snapshot holds no sample: duration_s * rate_hz < 0.5")
    streams = _Streams(rng)

    kept = [r for r in params.resonances if r[0] < ANTI_ALIAS_FRACTION * rate]  # anti-alias filter
    if not kept:
        raise ValueError(
            f"no bearing resonance below the anti-alias limit {ANTI_ALIAS_FRACTION * rate:g} Hz "
            f"(0.45 x rate_hz); lower the resonances or raise the rate"
        )
    filters = [resonator_coefficients(f, z, g, rate) for f, z, g in kept]
    sensor = _sensor_sos(params, rate)
    entry_modes = [r for r in (params.entry_resonances or ()) if r[0] < ANTI_ALIAS_FRACTION * rate]
    entry_filters = [resonator_coefficients(f, z, g, rate) for f, z, g in entry_modes]
    decays = [1.0 / (z * 2.0 * math.pi * f) for f, z, _ in kept + entry_modes]
    if sensor is not None and params.sensor_resonance_hz > 0.0:
        decays.append(1.0 / (params.sensor_resonance_damping * 2.0 * math.pi * params.sensor_resonance_hz))
    n_pre = math.ceil(8.0 * max(decays) * rate)  # pre-roll: strikes before t0 still ring
    n_tot = n_pre + n
    window_s = n_tot / rate
    t_start = t0_s - n_pre / rate

    excitation = np.zeros(n_tot)
    defect = np.zeros(n_tot)  # the localised defects' forces, kept apart for the ground truth
    # the entry (unloading) forces: through their own path if the rig has one, else with the strikes
    entry = np.zeros(n_tot) if params.entry_resonances is not None else defect
    _defect_forces(defect, sev, shaft_hz, load_n, geometry, params, streams, rate, t_start, load_zone, entry)

    # random background impacts (Poisson in time, lognormal amplitudes of random sign)
    if params.background_impact_rate_hz > 0.0 and params.background_impact_g > 0.0:
        r = streams("background_impacts")
        k = int(r.poisson(params.background_impact_rate_hz * window_s))
        sigma_b = math.sqrt(math.log1p(params.background_impact_cv**2))
        times = r.uniform(0.0, window_s, size=k)
        amps = params.background_impact_g * np.exp(sigma_b * r.standard_normal(k)) * r.choice((-1.0, 1.0), size=k)
        _place(excitation, times, amps, rate)

    # friction of a poor lubricant: broadband noise born in the bearing (the bearing path)
    x = np.zeros(n_tot)
    lube_g = params.lubrication_noise_g * sev["lubrication"]
    if lube_g > 0.0:
        x += _coloured_noise(_bearing_psd(n_tot, rate, tuple(kept)), n_tot, lube_g, streams("roughness"))
    x_fault = np.zeros(n_tot)
    has_defect = bool(np.any(defect))
    for b, a in filters:
        x += signal.lfilter(b, a, excitation)
        if has_defect:
            x_fault += signal.lfilter(b, a, defect)
    if entry is not defect and np.any(entry):
        has_defect = True
        for b, a in entry_filters:
            x_fault += signal.lfilter(b, a, entry)
    x += x_fault

    # healthy background: its own spectral shape (default: the bearing resonances)
    background_g = params.background_rms_g * background_scale
    if background_g > 0.0:
        if params.background_resonances is None:
            psd = _bearing_psd(n_tot, rate, tuple(kept))
        else:
            psd = _modes_psd(n_tot, rate, params.background_resonances)
        noise = _coloured_noise(psd, n_tot, background_g, streams("background"))
        m = params.background_modulation_depth
        if m > 0.0 and shaft_hz > 0.0:  # shaft-rate modulation, RMS kept
            phase = 2.0 * math.pi * shaft_hz * (t_start + np.arange(n_tot) / rate)
            noise *= (1.0 + m * np.cos(phase)) / math.sqrt(1.0 + 0.5 * m * m)
        x += noise

    # shaft and line harmonics
    if shaft_hz > 0.0:
        t = t_start + np.arange(n_tot) / rate
        theta = 2.0 * math.pi * shaft_hz * t
        amps = list(params.shaft_harmonics_g) + [0.0] * max(0, 2 - len(params.shaft_harmonics_g))
        amps[0] += params.imbalance_1x_g * sev["imbalance"] + params.misalignment_1x_g * sev["misalignment"]
        amps[1] += params.misalignment_2x_g * sev["misalignment"]
        for k, a_k in enumerate(amps, start=1):
            if a_k > 0.0 and k * shaft_hz < 0.5 * rate:
                phase_k = params.phase_2x_rad if k == 2 else k * params.phase_1x_rad
                x += a_k * np.cos(k * theta + phase_k)
        if any(params.line_harmonics_g):
            phases = streams("line").uniform(0.0, 2.0 * math.pi, size=len(params.line_harmonics_g))
            for j, e_j in enumerate(params.line_harmonics_g, start=1):
                if e_j > 0.0 and j * params.line_frequency_hz < 0.5 * rate:
                    x += e_j * np.cos(2.0 * math.pi * j * params.line_frequency_hz * t + phases[j - 1])

    if sensor is not None:
        x = signal.sosfilt(sensor, x)
        x_fault = signal.sosfilt(sensor, x_fault) if has_defect else x_fault
    x = x[n_pre:]
    if params.sensor_noise_g > 0.0:
        x += params.sensor_noise_g * streams("sensor").standard_normal(n)
    return (x, x_fault[n_pre:]) if return_fault else x


def _defect_forces(
    excitation: np.ndarray,
    sev: dict[str, float],
    shaft_hz: float,
    load_n: float,
    geometry: BearingGeometry,
    params: VibrationParams,
    streams: _Streams,
    rate: float,
    t_start: float,
    load_zone: bool,
    entry_force: np.ndarray | None = None,
) -> None:
    """Add the forces of the localised defects (strikes, ball noise) to ``excitation`` and
    their entry (unloading) drops to ``entry_force`` (may be ``excitation``), in place."""
    if shaft_hz <= 0.0 or not any(sev[m] > 0.0 for m in LOCALISED_FAULTS):
        return
    n_tot = excitation.size
    window_s = n_tot / rate
    entry_force = excitation if entry_force is None else entry_force
    freqs = {k: float(v) for k, v in defect_frequencies(geometry, shaft_hz).items()}
    speeds = surface_speeds(geometry, shaft_hz)
    clearance = None if params.diametral_clearance_um is None else params.diametral_clearance_um * 1e-6
    dist = load_distribution(
        load_n, geometry, clearance_m=clearance, epsilon=params.load_distribution_factor,
        preload_n=params.element_preload_n,
    )
    q_ref = load_distribution(params.impact_reference_load_n, geometry, clearance_m=None, epsilon=0.5).q_max_n
    rotating = _RotatingLoad(load_n, shaft_hz, geometry, clearance, params) if params.rotating_load_n > 0.0 else None
    if rotating is not None:  # the roughness sees the mean-square resultant load
        dist = load_distribution(
            math.hypot(load_n, params.rotating_load_n), geometry, clearance_m=clearance,
            epsilon=params.load_distribution_factor, preload_n=params.element_preload_n,
        )
    speed_factor = (shaft_hz / params.impact_reference_shaft_hz) ** params.impact_speed_exponent
    sigma_ln = math.sqrt(math.log1p(params.impact_amplitude_cv**2))
    d_m = geometry.ball_diameter_m
    w_f = params.spall_width_at_failure_mm * 1e-3
    q_peak = dist.preload_n + dist.q_max_n
    s_loc = max(sev[m] for m in LOCALISED_FAULTS)
    if params.distributed_damage_gain > 0.0:
        # roughness: white force noise with gain s^2 times the power of outer-race strikes at
        # severity 1 (amplitude A at rate BPFO: A^2 BPFO / rate per sample), at this load and speed
        strike = params.impact_outer_race_g * speed_factor * (q_peak / q_ref) ** params.impact_load_exponent
        sigma = params.distributed_damage_gain * s_loc**2 * strike * math.sqrt(freqs["bpfo"] / rate)
        excitation += sigma * streams("roughness_force").standard_normal(n_tot)

    def load_factor(q: np.ndarray | float) -> np.ndarray:
        return (np.asarray(q, dtype=np.float64) / q_ref) ** params.impact_load_exponent

    def element_q(angle: np.ndarray, depth: float | None, t_abs: np.ndarray | None = None) -> np.ndarray:
        if rotating is not None:
            return rotating.element_q(angle, t_abs, depth, load_zone)
        if not load_zone:
            return np.full(np.shape(angle), q_peak)
        if depth is None:
            return element_load(angle, dist)
        q_norm = element_load(angle, LoadDistribution(1.0, dist.epsilon, dist.exponent, 0.0))
        return q_peak * (1.0 - depth + depth * q_norm)

    entry_kernels: dict[int, np.ndarray] = {}
    spec = {
        "outer_race": (freqs["bpfo"], params.impact_outer_race_g),
        "inner_race": (freqs["bpfi"], params.impact_inner_race_g),
        "rolling_element": (2.0 * freqs["bsf"], params.impact_rolling_element_g),
        "cage": (freqs["ftf"], params.impact_cage_g),
    }
    for mode in LOCALISED_FAULTS:
        s = sev[mode]
        rate_imp, amp_g = spec[mode]
        if s <= 0.0 or rate_imp <= 0.0 or amp_g <= 0.0:
            continue
        r = streams(mode)
        times = _impact_train(rate_imp, window_s, r, params.slip_fraction)
        t_abs = t_start + times
        scatter = np.exp(sigma_ln * r.standard_normal(times.size) - 0.5 * sigma_ln**2)
        if mode == "cage":  # a cracked cage knocks once per revolution: no spall geometry
            amps = amp_g * s**params.impact_severity_exponent * speed_factor * scatter
            _place(excitation, times, amps, rate)
            continue
        w = w_f * s**params.impact_severity_exponent
        geom_factor = min(w / d_m, 1.0) / min(w_f / d_m, 1.0)
        base = amp_g * geom_factor * speed_factor
        if mode == "outer_race":
            q = element_q(np.full(times.size, math.radians(params.outer_race_defect_angle_deg)), None, t_abs)
        elif mode == "inner_race":
            q = element_q(2.0 * math.pi * shaft_hz * t_abs + params.defect_angle_rad,
                          params.inner_race_modulation_depth, t_abs)
        else:
            q = element_q(2.0 * math.pi * freqs["ftf"] * t_abs + params.defect_angle_rad, None, t_abs)
        amps = base * load_factor(q) * scatter
        if mode == "rolling_element":
            amps = _ball_fault(
                excitation, amps, times, base, freqs, shaft_hz, params, streams, rate, t_start,
                lambda t_b: load_factor(element_q(2.0 * math.pi * freqs["ftf"] * t_b + params.defect_angle_rad,
                                                  None, t_b)),
                rate_imp,
            )
        # entry (unloading, negative, smooth) then exit (re-stressing strike), w / v apart
        crossing_s = w / speeds[mode]
        exit_s = times + crossing_s * np.maximum(1.0 + _EXIT_SCATTER * r.standard_normal(times.size), 0.0)
        _place(excitation, exit_s, amps, rate)
        if params.entry_impact_ratio > 0.0:
            # the drop is the element's load released: linear in Q whatever the strike's exponent
            lin = np.where(q > 0.0, (np.maximum(q, 0.0) / q_ref) ** (1.0 - params.impact_load_exponent), 0.0)
            width = max(1, round(0.5 * crossing_s * rate))
            entry = np.zeros(n_tot)
            _place(entry, times, -params.entry_impact_ratio * amps * lin, rate)
            kernel = entry_kernels.setdefault(width, signal.windows.hann(width + 2)[1:-1])
            entry_force += np.convolve(entry, kernel / kernel.sum())[:n_tot]


class _RotatingLoad:
    """The static radial load (towards angle 0) plus a load turning with the shaft.

    The rotating load :math:`F_u` points at :math:`\\phi(t) = 2\\pi f_r t + \\phi_d + \\alpha`
    (``defect_angle_rad`` :math:`\\phi_d`: the inner-race defect's angle at t = 0;
    ``rotating_load_angle_deg`` :math:`\\alpha`); the bearing carries the resultant
    :math:`\\mathbf F = F_s \\mathbf e_0 + F_u \\mathbf e_{\\phi(t)}` of magnitude :math:`|F|` and
    direction :math:`\\beta(t)`, quasi-statically, so an element at angle :math:`\\psi` carries
    :math:`Q = Q_{pre} + Q_{max}(|F|) [1 - (1 - \\cos(\\psi - \\beta))/(2\\varepsilon(|F|))]_+^n`.
    ``Q_max`` and ``epsilon`` of the clearance solution are tabulated over the range of
    :math:`|F|` and interpolated linearly.
    """

    def __init__(self, static_n: float, shaft_hz: float, geometry: BearingGeometry, clearance: float | None,
                 params: VibrationParams) -> None:
        self.static_n, self.rotating_n = static_n, params.rotating_load_n
        self.omega = 2.0 * math.pi * shaft_hz
        self.phase = params.defect_angle_rad + math.radians(params.rotating_load_angle_deg)
        self.preload = params.element_preload_n
        lo, hi = abs(static_n - self.rotating_n), static_n + self.rotating_n
        self.grid = np.linspace(lo, hi, 33) if hi > lo else np.array([lo])
        dists = [load_distribution(float(f), geometry, clearance_m=clearance, epsilon=params.load_distribution_factor)
                 for f in self.grid]
        self.q_max = np.array([d.q_max_n for d in dists])
        self.eps = np.array([d.epsilon for d in dists])
        self.exponent = dists[0].exponent

    def resultant(self, t_abs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Magnitude [N] and direction [rad] of the load on the bearing at times ``t_abs`` [s]."""
        phi = self.omega * np.asarray(t_abs, dtype=np.float64) + self.phase
        fx = self.static_n + self.rotating_n * np.cos(phi)
        fy = self.rotating_n * np.sin(phi)
        return np.hypot(fx, fy), np.arctan2(fy, fx)

    def element_q(self, angle: np.ndarray, t_abs: np.ndarray, depth: float | None, load_zone: bool) -> np.ndarray:
        """Load on an element at ``angle`` [rad] at times ``t_abs`` [s] [N] (``depth``: fixed modulation)."""
        mag, beta = self.resultant(t_abs)
        q_max = np.interp(mag, self.grid, self.q_max)
        q_peak = self.preload + q_max
        if not load_zone:
            return np.broadcast_to(q_peak, np.shape(angle)).astype(np.float64)
        eps = np.interp(mag, self.grid, self.eps)
        rel = np.asarray(angle, dtype=np.float64) - beta
        arg = 1.0 - (1.0 - np.cos(rel)) / (2.0 * eps)
        q_norm = np.maximum(arg, 0.0) ** self.exponent
        if depth is None:
            return self.preload + q_max * q_norm
        return q_peak * (1.0 - depth + depth * q_norm)


def _ball_fault(excitation, amps, times, base, freqs, shaft_hz, params, streams, rate, t_start,
                load_of_time, rate_imp):
    """A ball spall: intermittent contact, an impulsive share of the energy, the rest as noise.

    Returns the strike amplitudes (scaled by contact, side and impulsiveness); adds the
    modulated noise to ``excitation`` in place.
    """
    n_tot = excitation.size
    window_s = n_tot / rate
    p_on = params.rolling_element_contact_fraction
    if p_on >= 1.0:
        edges, on0 = np.empty(0), True
    else:
        cycle_s = params.rolling_element_axis_revolutions / freqs["ftf"]
        edges, on0 = _telegraph(window_s, cycle_s, p_on, streams("ball_contact"))
    contact = _state_at(times, edges, on0).astype(np.float64)
    side = np.where(np.arange(times.size) % 2 == 0, 1.0, params.rolling_element_inner_ratio)
    iota = params.rolling_element_impulsiveness
    if iota < 1.0:
        t = np.arange(n_tot) / rate
        # the rolling noise's power (not its amplitude) follows the element load
        load = load_of_time(t_start + t)
        env = _state_at(t, edges, on0) * np.sqrt(load)
        sigma = base * math.sqrt((1.0 - iota) * rate_imp / rate)  # the strikes' energy at the reference load
        excitation += sigma * env * streams("ball_noise").standard_normal(n_tot)
    return amps * contact * side * math.sqrt(iota)


def background_drift(
    t_s, sigma: float, time_s: float, rng: np.random.Generator, horizon_s: float | None = None
) -> np.ndarray:
    """Slow multiplicative drift of the background vibration level at times ``t_s`` [-].

    Healthy vibration levels wander over minutes to hours (running-in, lubricant film and
    temperature, preload; e.g. the PRONOSTIA learning set: lag-1 autocorrelation of the
    snapshot RMS 0.77-0.98 at 10 s, 5-20 % spread within a fifth of life). Modelled as
    ``exp(z(t) - sigma^2 / 2)`` (mean 1) with ``z`` a stationary Ornstein-Uhlenbeck process
    of standard deviation ``sigma`` and correlation time ``time_s``, sampled exactly on
    knots ``min(time_s / 4, 600 s)`` apart from ``t = 0`` and linearly interpolated, so the
    path depends on neither the snapshot interval nor the chunking.

    Parameters
    ----------
    t_s : array_like
        Times since the run start [s], >= 0.
    sigma, time_s : float
        Standard deviation of ``z`` [-] (0: constant 1) and its correlation time [s].
    rng : numpy.random.Generator
        Drawn from in a fixed order: the same generator state gives the same path.
    horizon_s : float, optional
        Generate knots up to here (default ``max(t_s)``); a fixed horizon keeps the path
        the same whichever times are asked for.

    Examples
    --------
    >>> x = background_drift(np.arange(0.0, 3600.0, 10.0), 0.2, 1800.0, np.random.default_rng(0))
    >>> x.shape, bool(np.all(x > 0))
    ((360,), True)
    """
    t = np.asarray(t_s, dtype=np.float64)
    if sigma < 0.0 or not time_s > 0.0:
        raise ValueError("sigma must be >= 0 and time_s > 0")
    if np.any(t < 0.0):
        raise ValueError("t_s must be >= 0")
    if sigma == 0.0:
        return np.ones_like(t)
    end = float(np.max(t)) if horizon_s is None and t.size else float(horizon_s or 0.0)
    dt = min(time_s / 4.0, 600.0)
    n = int(math.ceil(end / dt)) + 2
    rho = math.exp(-dt / time_s)
    eps = rng.standard_normal(n)
    drive = np.concatenate(([sigma * eps[0]], sigma * math.sqrt(1.0 - rho * rho) * eps[1:]))
    z = signal.lfilter([1.0], [1.0, -rho], drive)  # z[k] = rho z[k-1] + drive[k]
    zt = np.interp(t, dt * np.arange(n), z)
    return np.exp(zt - 0.5 * sigma * sigma)


def motor_current(
    t_s,
    supply_hz: float,
    shaft_hz: float,
    geometry: BearingGeometry,
    severities: dict[str, float],
    rng: np.random.Generator,
    amplitude_a: float = 10.0,
    sideband_ratio: float = 0.02,
    noise_a: float = 0.01,
    n_sidebands: int = 2,
) -> np.ndarray:
    """Stator current of an induction motor with fault sidebands [A] (simplified MCSA model).

    A bearing defect modulates the air gap at its characteristic frequency
    :math:`f_v`, giving current components at :math:`|f_e \\pm k f_v|` (Schoen et al. 1995,
    doi:10.1109/28.475697); imbalance and misalignment (dynamic eccentricity) give
    :math:`f_e \\pm k f_r`. Each sideband pair has amplitude
    ``amplitude_a * sideband_ratio * severity / k``.

    Parameters
    ----------
    t_s : array_like of shape (n_samples,)
        Sample times [s].
    supply_hz : float
        Supply frequency [Hz].
    shaft_hz : float
        Shaft frequency [Hz].
    geometry : BearingGeometry
    severities : dict of str to float
        Fault mode -> severity in [0, 1].
    rng : numpy.random.Generator
    amplitude_a : float
        Peak amplitude of the supply-frequency current [A].
    sideband_ratio : float
        First sideband amplitude relative to the fundamental at severity 1 [-].
    noise_a : float
        White measurement noise, standard deviation [A].
    n_sidebands : int
        Number ``k`` of sideband orders.

    Returns
    -------
    ndarray of shape (n_samples,)
        Phase current [A].
    """
    t = np.asarray(t_s, dtype=np.float64)
    sev = _check_severities(severities)
    f = {k: float(v) for k, v in defect_frequencies(geometry, shaft_hz).items()}
    vib_hz = {
        "outer_race": f["bpfo"],
        "inner_race": f["bpfi"],
        "rolling_element": 2.0 * f["bsf"],
        "cage": f["ftf"],
        "imbalance": shaft_hz,
        "misalignment": shaft_hz,
    }
    we = 2.0 * math.pi * supply_hz
    i = amplitude_a * np.cos(we * t)
    for mode, fv in vib_hz.items():
        s = sev[mode]
        if s <= 0.0 or fv <= 0.0:
            continue
        phase = rng.uniform(0.0, 2.0 * math.pi, size=n_sidebands)
        for k in range(1, n_sidebands + 1):
            amp = amplitude_a * sideband_ratio * s / k
            wk = 2.0 * math.pi * k * fv
            i += amp * (np.cos((we + wk) * t + phase[k - 1]) + np.cos((we - wk) * t - phase[k - 1]))
    if noise_a > 0.0:
        i += noise_a * rng.standard_normal(t.shape)
    return i
