"""Vibration snapshots of a rotating machine with bearing and shaft faults.

A snapshot (e.g. 0.1 s at 25.6 kHz every 10 s, as on PRONOSTIA) is rendered from the
current fault severities. The acceleration seen by a casing accelerometer is

.. math::

    x(t) = \\sum_r h_r * \\Big(\\sum_k A_k\\,\\delta(t - t_k) + \\sigma\\,w(t)\\Big)
           + a_1 \\cos(\\theta) + a_2 \\cos(2\\theta) + \\sigma_s\\,v(t)

- **Localised defects** (outer race, inner race, rolling element, cage) strike at their
  defect frequency (:func:`twinforge.processes.bearing.defect_frequencies`; a ball defect at
  twice the ball spin frequency, alternately on the outer and inner race). Inter-arrival
  times carry random jitter of 1-2 % (slip of the rolling elements), which makes the signal
  cyclostationary rather than periodic and smears the higher harmonics of the envelope
  spectrum, as observed on real bearings (Randall & Antoni 2011,
  doi:10.1016/j.ymssp.2010.07.017; Antoni & Randall 2003, doi:10.1115/1.1569940).
- **Amplitude modulation** (McFadden & Smith 1984, doi:10.1016/0022-460X(84)90595-9): an
  inner-race defect rotates with the shaft through the load zone, so its impacts are
  weighted by the Stribeck load distribution
  :math:`q(\\theta) = \\max\\left(0,\\ 1 - \\frac{1 - \\cos\\theta}{2\\varepsilon}\\right)^{n}`
  (``n = 3/2`` for balls, ``10/9`` for rollers; ``epsilon = 0.5``: load zone of +-90 deg) at
  the shaft angle, giving envelope sidebands at BPFI +- shaft frequency; a ball defect is
  carried round at the cage speed, giving modulation at FTF. An outer-race defect sits in
  the middle of the (stationary) load zone: constant amplitude.
- **Transmission**: each impact rings the structural resonances down. The impulse
  sequence (impacts placed between samples by linear splitting) is filtered through one
  second-order resonator per resonance, :math:`h_r[n] = g_r\\, \\rho_r^n \\sin(n \\theta_r)`,
  :math:`\\rho_r = e^{-\\zeta_r \\omega_r / f_s}`,
  :math:`\\theta_r = \\omega_r \\sqrt{1 - \\zeta_r^2} / f_s` (``scipy.signal.lfilter``, no
  Python loop over impacts).
- **Background**: band-limited Gaussian noise (white noise through the same resonances)
  scaled to ``background_rms_g``, which grows with the largest localised severity
  (distributed surface damage) and with the lubrication severity (friction), plus white
  sensor noise.
  Optionally (off by default) the healthy level drifts slowly (``background_drift_sigma``,
  an Ornstein-Uhlenbeck log-level, :func:`background_drift`) and random impacts not tied to
  a defect frequency (``background_impact_rate_hz``: debris, asperity contacts; Poisson
  times, lognormal amplitudes) make a healthy bearing's kurtosis exceed 3 intermittently,
  as on real rigs; a modulation of the background at the shaft rate
  (``background_modulation_depth``: rotating load, run-out) raises it steadily.
- **Shaft harmonics**: 1x from imbalance, 2x (and some 1x) from misalignment, over a small
  residual level, in phase with the shaft angle :math:`\\theta = 2\\pi f_r t`.

The shaft speed is constant within a snapshot (a snapshot of 0.1-1 s is short compared with
speed changes of the twin); pass the mean speed of the window.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator
from scipy import signal

from twinforge.processes.bearing import BearingGeometry, defect_frequencies
from twinforge.processes.degradation import FAULT_MODES

__all__ = [
    "LOCALISED_FAULTS",
    "VibrationParams",
    "background_drift",
    "motor_current",
    "render_snapshot",
    "resonator_coefficients",
]

#: Fault modes rendered as impact trains.
LOCALISED_FAULTS: tuple[str, ...] = ("outer_race", "inner_race", "rolling_element", "cage")


class VibrationParams(BaseModel):
    """Parameters of the snapshot renderer (accelerations in g).

    Defaults approximate the horizontal accelerometer of the PRONOSTIA rig (Nectoux et al.
    2012), Bearing1_1: healthy RMS 0.45-0.56 g, Pearson kurtosis 2.9-3.3, 65 % of the power
    at 2-4 kHz; near failure 2.6-5.6 g RMS, 17-40 g peak, kurtosis 8.5-11. Rendered with
    these defaults (PRONOSTIA bearing, 30 Hz, 0.1 s snapshots, medians of 20): healthy
    0.42 g RMS, 1.5 g peak, kurtosis 2.9; outer-race severity 1: 3.7 g RMS, 29 g peak,
    kurtosis 14 (severity 0.5: 1.9 g, 14 g, 13.7).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    sample_rate_hz: float = Field(25_600.0, gt=0.0, description="sample rate [Hz]")
    resonances: tuple[tuple[float, float, float], ...] = Field(
        ((1_200.0, 0.05, 0.4), (3_700.0, 0.03, 1.0), (10_000.0, 0.02, 0.4)),
        min_length=1,
        description="structural resonances (frequency [Hz], damping ratio [-], gain [-])",
    )
    background_rms_g: float = Field(
        0.42, ge=0.0, description="RMS of the healthy band-limited background vibration [g]"
    )
    sensor_noise_g: float = Field(
        0.03, ge=0.0, description="white sensor noise, standard deviation [g]"
    )
    distributed_damage_gain: float = Field(
        1.5,
        ge=0.0,
        description="background RMS multiplier 1 + gain * s^2 at localised severity s [-]",
    )
    impact_outer_race_g: float = Field(
        12.0, ge=0.0, description="outer-race impact amplitude at severity 1 [g]"
    )
    impact_inner_race_g: float = Field(
        10.0, ge=0.0, description="inner-race impact amplitude at severity 1 [g]"
    )
    impact_rolling_element_g: float = Field(
        8.0, ge=0.0, description="rolling-element impact amplitude at severity 1 [g]"
    )
    impact_cage_g: float = Field(3.0, ge=0.0, description="cage impact amplitude at severity 1 [g]")
    impact_amplitude_cv: float = Field(
        0.8,
        ge=0.0,
        le=3.0,
        description="coefficient of variation of impact amplitudes (lognormal) [-]",
    )
    slip_fraction: float = Field(
        0.015,
        ge=0.0,
        le=0.1,
        description="std of impact inter-arrival times relative to the period [-] (1-2 %)",
    )
    load_zone_exponent: float = Field(
        1.5, gt=0.0, le=5.0, description="load-distribution exponent n (3/2 ball, 10/9 roller)"
    )
    load_distribution_factor: float = Field(
        0.5,
        gt=0.0,
        le=1.0,
        description="Stribeck load-distribution factor epsilon (0.5: load zone +-90 deg) [-]",
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
    residual_1x_g: float = Field(
        0.02, ge=0.0, description="residual 1x amplitude of a healthy machine [g]"
    )
    residual_2x_g: float = Field(
        0.01, ge=0.0, description="residual 2x amplitude of a healthy machine [g]"
    )
    imbalance_1x_g: float = Field(
        0.5, ge=0.0, description="1x amplitude added at imbalance severity 1 [g]"
    )
    misalignment_2x_g: float = Field(
        0.4, ge=0.0, description="2x amplitude added at misalignment severity 1 [g]"
    )
    misalignment_1x_g: float = Field(
        0.15, ge=0.0, description="1x amplitude added at misalignment severity 1 [g]"
    )
    phase_1x_rad: float = Field(
        0.0, description="phase of the 1x component relative to the shaft angle [rad]"
    )
    phase_2x_rad: float = Field(
        0.0, description="phase of the 2x component relative to twice the shaft angle [rad]"
    )
    lubrication_noise_g: float = Field(
        1.0,
        ge=0.0,
        description="band-limited friction noise RMS added at lubrication severity 1 [g]",
    )
    impact_severity_exponent: float = Field(
        1.0,
        gt=0.0,
        le=3.0,
        description="localised impact amplitude grows as severity^exponent (1: linear; < 1: an early "
        "spall is already impulsive) [-]",
    )
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
    def _check_resonances(cls, value: tuple[tuple[float, float, float], ...]):
        for freq_hz, zeta, gain in value:
            if not (freq_hz > 0.0 and 0.0 < zeta < 1.0 and gain >= 0.0):
                raise ValueError(
                    f"resonance ({freq_hz}, {zeta}, {gain}): "
                    "need freq_hz > 0, 0 < damping_ratio < 1, gain >= 0"
                )
        return value


def resonator_coefficients(freq_hz: float, damping_ratio: float, gain: float, rate_hz: float):
    """IIR coefficients ``(b, a)`` of one structural resonance (impulse-invariant).

    The impulse response is :math:`h[n] = g\\,\\rho^n \\sin(n\\theta)`, the sampled unit
    impulse response of a damped oscillator of natural frequency ``freq_hz`` [Hz] and
    damping ratio ``damping_ratio`` scaled to a peak of about ``gain``.

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


def _load_zone(angle_rad: np.ndarray, params: VibrationParams) -> np.ndarray:
    """Stribeck load distribution q(theta) / q_max (Harris; McFadden & Smith 1984)."""
    base = 1.0 - (1.0 - np.cos(angle_rad)) / (2.0 * params.load_distribution_factor)
    return np.maximum(base, 0.0) ** params.load_zone_exponent


def _impact_train(
    rate_per_s: float, window_s: float, rng: np.random.Generator, slip: float
) -> np.ndarray:
    """Impact times in [0, window_s) with mean rate ``rate_per_s`` and jittered intervals."""
    period = 1.0 / rate_per_s
    n = math.ceil(window_s * rate_per_s * (1.0 + 6.0 * slip)) + 3
    intervals = period * np.maximum(1.0 + slip * rng.standard_normal(n), 0.1)
    times = rng.uniform(0.0, period) + np.concatenate(([0.0], np.cumsum(intervals[:-1])))
    return times[times < window_s]


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
) -> np.ndarray:
    """Render one acceleration snapshot [g] from the fault severities.

    Parameters
    ----------
    t0_s : float
        Start time of the snapshot [s]; sets the shaft angle (1x/2x phase, load-zone
        position of an inner-race or ball defect).
    duration_s : float
        Snapshot length [s] (> 0).
    rate_hz : float or None
        Sample rate [Hz]; ``None`` uses ``params.sample_rate_hz``.
    shaft_hz : float
        Shaft rotation frequency [Hz], constant within the snapshot (>= 0).
    geometry : BearingGeometry
        Bearing geometry (defect frequencies).
    severities : dict of str to float
        Fault mode (see :data:`twinforge.processes.degradation.FAULT_MODES`) -> severity in
        [0, 1]; missing modes are 0 (healthy).
    params : VibrationParams
    rng : numpy.random.Generator
    load_zone : bool
        Apply the load-zone amplitude modulation (inner race, rolling element).
    background_scale : float
        Multiplier of the healthy background level ``background_rms_g`` at this snapshot
        (the machine twin's slow drift, :func:`background_drift`), >= 0.

    Returns
    -------
    ndarray of shape (n_samples,)
        Acceleration [g], ``n_samples = round(duration_s * rate_hz)``.

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
    sev = _check_severities(severities)
    n = round(duration_s * rate)
    if n < 1:
        raise ValueError("the snapshot holds no sample: duration_s * rate_hz < 0.5")

    filters = [resonator_coefficients(f, z, g, rate) for f, z, g in params.resonances]
    max_decay_s = max(1.0 / (z * 2.0 * math.pi * f) for f, z, _ in params.resonances)
    n_pre = math.ceil(8.0 * max_decay_s * rate)  # pre-roll: impacts before t0 still ring
    n_tot = n_pre + n
    window_s = n_tot / rate
    t_start = t0_s - n_pre / rate

    # --- impact sequence of the localised defects --------------------------------------
    freqs = {k: float(v) for k, v in defect_frequencies(geometry, shaft_hz).items()}
    impact_rate = {
        "outer_race": freqs["bpfo"],
        "inner_race": freqs["bpfi"],
        "rolling_element": 2.0 * freqs["bsf"],
        "cage": freqs["ftf"],
    }
    impact_amp = {
        "outer_race": params.impact_outer_race_g,
        "inner_race": params.impact_inner_race_g,
        "rolling_element": params.impact_rolling_element_g,
        "cage": params.impact_cage_g,
    }
    sigma_ln = math.sqrt(math.log1p(params.impact_amplitude_cv**2))
    times_all, amps_all = [], []
    for mode in LOCALISED_FAULTS:
        s = sev[mode]
        if s <= 0.0 or impact_rate[mode] <= 0.0 or impact_amp[mode] <= 0.0:
            continue
        times = _impact_train(impact_rate[mode], window_s, rng, params.slip_fraction)
        amps = (
            impact_amp[mode]
            * s**params.impact_severity_exponent
            * np.exp(sigma_ln * rng.standard_normal(times.size) - 0.5 * sigma_ln**2)
        )
        t_abs = t_start + times
        if mode == "inner_race" and load_zone:
            amps = amps * _load_zone(
                2.0 * math.pi * shaft_hz * t_abs + params.defect_angle_rad, params
            )
        elif mode == "rolling_element":
            side = np.where(np.arange(times.size) % 2 == 0, 1.0, params.rolling_element_inner_ratio)
            amps = amps * side
            if load_zone:
                amps = amps * _load_zone(
                    2.0 * math.pi * freqs["ftf"] * t_abs + params.defect_angle_rad, params
                )
        times_all.append(times)
        amps_all.append(amps)

    # random background impacts (Poisson in time, lognormal amplitudes of random sign)
    if params.background_impact_rate_hz > 0.0 and params.background_impact_g > 0.0:
        k = int(rng.poisson(params.background_impact_rate_hz * window_s))
        sigma_b = math.sqrt(math.log1p(params.background_impact_cv**2))
        times_all.append(rng.uniform(0.0, window_s, size=k))
        amps_all.append(params.background_impact_g * np.exp(sigma_b * rng.standard_normal(k))
                        * rng.choice((-1.0, 1.0), size=k))

    excitation = np.zeros(n_tot)
    if times_all:
        pos = np.concatenate(times_all) * rate
        amps = np.concatenate(amps_all)
        i0 = np.floor(pos).astype(np.int64)
        frac = pos - i0
        excitation += np.bincount(i0, amps * (1.0 - frac), minlength=n_tot + 1)[:n_tot]
        excitation += np.bincount(i0 + 1, amps * frac, minlength=n_tot + 2)[:n_tot]

    # --- band-limited background: white noise through the same resonances --------------
    s_loc = max(sev[m] for m in LOCALISED_FAULTS)
    if not (background_scale >= 0.0 and math.isfinite(background_scale)):
        raise ValueError(f"background_scale must be finite and non-negative, got {background_scale}")
    background_g = (
        params.background_rms_g * background_scale * (1.0 + params.distributed_damage_gain * s_loc**2)
    )
    background_g = math.hypot(background_g, params.lubrication_noise_g * sev["lubrication"])
    if background_g > 0.0:
        n_h = math.ceil(12.0 * max_decay_s * rate) + 2
        unit = np.zeros(n_h)
        unit[0] = 1.0
        h = sum(signal.lfilter(b, a, unit) for b, a in filters)
        noise = (background_g / math.sqrt(float(np.sum(h * h)))) * rng.standard_normal(n_tot)
        m = params.background_modulation_depth
        if m > 0.0 and shaft_hz > 0.0:  # shaft-rate modulation, RMS kept
            phase = 2.0 * math.pi * shaft_hz * (t_start + np.arange(n_tot) / rate)
            noise *= (1.0 + m * np.cos(phase)) / math.sqrt(1.0 + 0.5 * m * m)
        excitation += noise

    x = np.zeros(n_tot)
    for b, a in filters:
        x += signal.lfilter(b, a, excitation)
    x = x[n_pre:]

    # --- shaft harmonics and sensor noise ----------------------------------------------
    theta = 2.0 * math.pi * shaft_hz * (t0_s + np.arange(n) / rate)
    turning = 1.0 if shaft_hz > 0.0 else 0.0  # no shaft harmonics at standstill
    a1 = turning * (
        params.residual_1x_g
        + params.imbalance_1x_g * sev["imbalance"]
        + params.misalignment_1x_g * sev["misalignment"]
    )
    a2 = turning * (params.residual_2x_g + params.misalignment_2x_g * sev["misalignment"])
    x += a1 * np.cos(theta + params.phase_1x_rad) + a2 * np.cos(2.0 * theta + params.phase_2x_rad)
    if params.sensor_noise_g > 0.0:
        x += params.sensor_noise_g * rng.standard_normal(n)
    return x


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
