"""Rolling-element bearing kinematics: geometry and characteristic defect frequencies.

A localised defect (a spall) on one part of a bearing is struck once per passage of the
mating surfaces, at a rate fixed by the geometry and the shaft speed. With a stationary
outer ring, a rotating inner ring at shaft frequency :math:`f_r`, ``n`` rolling elements of
diameter ``d`` on a pitch circle of diameter ``D`` and contact angle :math:`\\phi`
(Randall & Antoni 2011, eqs. 1-4, doi:10.1016/j.ymssp.2010.07.017):

.. math::

    FTF  &= \\tfrac{f_r}{2} (1 - \\tfrac{d}{D}\\cos\\phi)    \\quad\\text{(cage)}\\\\
    BPFO &= \\tfrac{n f_r}{2} (1 - \\tfrac{d}{D}\\cos\\phi)  \\quad\\text{(outer race)}\\\\
    BPFI &= \\tfrac{n f_r}{2} (1 + \\tfrac{d}{D}\\cos\\phi)  \\quad\\text{(inner race)}\\\\
    BSF  &= \\frac{D f_r}{2 d} \\left(1 - \\left(\\frac{d}{D}\\cos\\phi\\right)^2\\right)
            \\quad\\text{(ball spin)}

**BSF convention**: ``bsf`` is the ball *spin* frequency (once per ball revolution,
2.357 x shaft for the CWRU 6205). A ball defect strikes both races once per spin, so its
impacts come at ``2 * bsf`` (the "4.7135 x" quoted by the CWRU data centre); the
vibration renderer uses that rate and the envelope spectrum often shows both.

These are kinematic (no-slip) values; real rolling elements slip by 1-2 %, which the
vibration model adds as random jitter of the impact times.

**Load on the rolling elements** (:func:`load_distribution`, :func:`element_load`): a
radial load :math:`F_r` is carried by the elements inside the load zone with the Stribeck
distribution (Harris & Kotzalas 2006, *Rolling Bearing Analysis*, 5th ed., vol. 1, ch. 7)

.. math::

    Q(\\psi) = Q_{max} \\left[1 - \\frac{1 - \\cos\\psi}{2\\varepsilon}\\right]_+^{n},\\qquad
    F_r = Z\\,Q_{max}\\,J_r(\\varepsilon)\\cos\\alpha,\\qquad
    J_r(\\varepsilon) = \\frac{1}{2\\pi}\\int_{-\\pi}^{\\pi}
        \\left[1 - \\frac{1 - \\cos\\psi}{2\\varepsilon}\\right]_+^{n} \\cos\\psi\\,d\\psi

(``n = 3/2`` point contact, ``10/9`` line contact; :math:`\\psi = 0` the direction of the
load). The load-zone factor follows from the diametral clearance :math:`P_d` and the radial
displacement :math:`\\delta_r`: :math:`\\varepsilon = \\tfrac12 (1 - P_d / 2\\delta_r)`, with
the Hertz deflection of the most loaded element
:math:`\\delta_r - P_d/2 = c\\,Q_{max}^{1/n}`; for steel balls Palmgren's
:math:`c = 4.36\\times10^{-4}\\,D_w^{-1/3}` [mm, N] (:math:`\\delta = c\\,Q^{2/3}`, inner and
outer contact together); for rollers :math:`\\delta = 3.84\\times10^{-5} Q^{0.9} / l^{0.8}`
(roller length ``l`` taken equal to its diameter). Zero clearance gives
:math:`\\varepsilon = 1/2` (a load zone of +-90 deg, :math:`Q_{max} = 4.37 F_r / Z` for
balls); clearance narrows the zone, a preload (negative clearance) loads every element.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from functools import lru_cache

from scipy import optimize

__all__ = [
    "BEARING_PRESETS",
    "BearingGeometry",
    "LoadDistribution",
    "defect_frequencies",
    "element_load",
    "load_distribution",
    "surface_speeds",
]


@dataclass(frozen=True)
class BearingGeometry:
    """Geometry of a rolling-element bearing (immutable, validated).

    Parameters
    ----------
    n_elements : int
        Number of rolling elements (balls or rollers) [-], >= 1.
    ball_diameter_m : float
        Rolling-element diameter ``d`` [m], > 0.
    pitch_diameter_m : float
        Pitch (cage) circle diameter ``D`` [m], > ``d``.
    contact_angle_deg : float
        Contact angle :math:`\\phi` [deg], in [0, 90).
    rollers : bool
        Rolling elements are rollers (line contact, load exponent 10/9), not balls (point
        contact, 3/2).

    Examples
    --------
    >>> g = BearingGeometry(9, 7.94e-3, 39.04e-3, 0.0)
    >>> round(g.diameter_ratio, 5)
    0.20338
    >>> BearingGeometry(9, 0.05, 0.04, 0.0)
    Traceback (most recent call last):
    ...
    ValueError: ball_diameter_m (0.05) must be smaller than pitch_diameter_m (0.04)
    """

    n_elements: int
    ball_diameter_m: float
    pitch_diameter_m: float
    contact_angle_deg: float = 0.0
    rollers: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.n_elements, bool) or int(self.n_elements) != self.n_elements:
            raise ValueError(f"n_elements must be an integer, got {self.n_elements!r}")
        if self.n_elements < 1:
            raise ValueError(f"n_elements must be positive, got {self.n_elements}")
        for name in ("ball_diameter_m", "pitch_diameter_m"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise ValueError(f"{name} must be positive and finite, got {value!r}")
        if self.ball_diameter_m >= self.pitch_diameter_m:
            raise ValueError(
                f"ball_diameter_m ({self.ball_diameter_m}) must be smaller than "
                f"pitch_diameter_m ({self.pitch_diameter_m})"
            )
        if not (0.0 <= self.contact_angle_deg < 90.0):
            raise ValueError(
                f"contact_angle_deg must be in [0, 90), got {self.contact_angle_deg!r}"
            )

    @property
    def diameter_ratio(self) -> float:
        """``d / D cos(phi)`` [-], the ratio that sets every defect frequency."""
        return (
            self.ball_diameter_m
            / self.pitch_diameter_m
            * math.cos(math.radians(self.contact_angle_deg))
        )


_INCH_M = 0.0254

#: Named bearing geometries of public test rigs.
#:
#: - ``"6205-2RS"``: SKF 6205-2RS JEM deep-groove ball bearing, drive end of the Case Western
#:   Reserve University bearing data centre rig (9 balls, d = 7.94 mm, D = 39.04 mm, 0 deg).
#: - ``"pronostia"``: the deep-groove ball bearing of the FEMTO-ST PRONOSTIA rig (IEEE PHM
#:   2012 challenge; Nectoux et al. 2012, hal-00719503): 13 balls of 3.5 mm, outer race
#:   diameter 29.1 mm and inner race diameter 22.1 mm, hence D = 25.6 mm, 0 deg. These
#:   figures are as reproduced in the literature using the data set; they give
#:   BPFO = 168 Hz and BPFI = 222 Hz at 1800 rpm.
#: - ``"rexnord-za2115"``: Rexnord ZA-2115 double-row bearing of the IMS (Univ. Cincinnati)
#:   run-to-failure rig (Qiu et al. 2006, doi:10.1016/j.jsv.2005.03.007): 16 rollers per
#:   row, d = 0.331 in, D = 2.815 in, 15.17 deg.
#: - ``"mfpt-nice"``: the NICE bearing of the MFPT Condition Based Maintenance Fault Database
#:   (Bechhoefer 2013): 8 elements of 0.235 in on a pitch diameter of 1.245 in, 0 deg
#:   (treated as balls: BPFO = 3.245 x shaft, BPFI = 4.755 x shaft).
BEARING_PRESETS: dict[str, BearingGeometry] = {
    "6205-2RS": BearingGeometry(9, 7.94e-3, 39.04e-3, 0.0),
    "pronostia": BearingGeometry(13, 3.5e-3, 25.6e-3, 0.0),
    "rexnord-za2115": BearingGeometry(16, 0.331 * _INCH_M, 2.815 * _INCH_M, 15.17, rollers=True),
    "mfpt-nice": BearingGeometry(8, 0.235 * _INCH_M, 1.245 * _INCH_M, 0.0),
}


def defect_frequencies(geometry: BearingGeometry, shaft_hz) -> dict[str, np.ndarray]:
    """Characteristic defect frequencies of a bearing [Hz] (stationary outer ring).

    Parameters
    ----------
    geometry : BearingGeometry
        Bearing geometry (see :data:`BEARING_PRESETS`).
    shaft_hz : float or array_like
        Shaft (inner ring) rotation frequency [Hz], >= 0; any shape.

    Returns
    -------
    dict of str to ndarray
        ``bpfo``, ``bpfi``, ``bsf`` (ball *spin*, 1x convention: ball-defect impacts
        occur at ``2 * bsf``) and ``ftf`` [Hz], each with the shape of ``shaft_hz``.

    References
    ----------
    Randall, R. B. & Antoni, J. (2011). Rolling element bearing diagnostics - A tutorial.
    Mechanical Systems and Signal Processing 25(2), 485-520. doi:10.1016/j.ymssp.2010.07.017

    Examples
    --------
    >>> f = defect_frequencies(BEARING_PRESETS["6205-2RS"], 1.0)
    >>> [round(float(f[k]), 4) for k in ("bpfo", "bpfi", "bsf", "ftf")]
    [3.5848, 5.4152, 2.3567, 0.3983]
    """
    fr = np.asarray(shaft_hz, dtype=np.float64)
    if np.any(fr < 0.0) or not np.all(np.isfinite(fr)):
        raise ValueError("shaft_hz must be finite and non-negative")
    ratio = geometry.diameter_ratio
    n = geometry.n_elements
    dd = geometry.pitch_diameter_m / geometry.ball_diameter_m
    return {
        "bpfo": 0.5 * n * fr * (1.0 - ratio),
        "bpfi": 0.5 * n * fr * (1.0 + ratio),
        "bsf": 0.5 * dd * fr * (1.0 - ratio**2),
        "ftf": 0.5 * fr * (1.0 - ratio),
    }


def surface_speeds(geometry: BearingGeometry, shaft_hz: float) -> dict[str, float]:
    """Speed at which a defect's edges pass the contact [m s-1], per defect location.

    A spall of width ``w`` is crossed in ``w / v``: on the stationary outer race the contact
    moves with the cage, :math:`v_o = 2\\pi\\,FTF\\,(D + d\\cos\\phi)/2`; on the inner race
    with the ring relative to the cage, :math:`v_i = 2\\pi (f_r - FTF) (D - d\\cos\\phi)/2`; on a rolling element
    with its spin, :math:`v_b = 2\\pi\\,BSF\\,d/2`. Under pure rolling the three are equal
    (Sawalhi & Randall 2011, Mech. Syst. Signal Process. 25(3), 846-870: the entry/exit
    separation of a spall, ``w / v``, tracks its size).

    Examples
    --------
    >>> v = surface_speeds(BEARING_PRESETS["6205-2RS"], 29.95)
    >>> round(v["outer_race"], 2), round(v["inner_race"], 2), round(v["rolling_element"], 2)
    (1.76, 1.76, 1.76)
    """
    f = {k: float(v) for k, v in defect_frequencies(geometry, shaft_hz).items()}
    d, big_d = geometry.ball_diameter_m, geometry.pitch_diameter_m
    dc = d * math.cos(math.radians(geometry.contact_angle_deg))  # contact radii (D -+ d cos phi) / 2
    return {
        "outer_race": 2.0 * math.pi * f["ftf"] * 0.5 * (big_d + dc),
        "inner_race": 2.0 * math.pi * (float(shaft_hz) - f["ftf"]) * 0.5 * (big_d - dc),
        "rolling_element": 2.0 * math.pi * f["bsf"] * 0.5 * d,
    }


@dataclass(frozen=True)
class LoadDistribution:
    """Stribeck load distribution of a radially loaded bearing (see :func:`load_distribution`).

    Attributes
    ----------
    q_max_n : float
        Load on the element at the centre of the load zone [N] (radial part).
    epsilon : float
        Load-zone factor [-] (0.5: +-90 deg; > 1: every element loaded).
    exponent : float
        Load-deflection exponent ``n`` [-].
    preload_n : float
        Uniform load on every element (preload, gravity) [N], added to the radial part.
    """

    q_max_n: float
    epsilon: float
    exponent: float
    preload_n: float = 0.0

    @property
    def zone_half_angle_deg(self) -> float:
        """Half-width of the load zone [deg] (180 when every element is loaded)."""
        c = 1.0 - 2.0 * self.epsilon
        return 180.0 if c <= -1.0 else math.degrees(math.acos(c))


def _stribeck(angle_rad, epsilon: float, exponent: float) -> np.ndarray:
    base = 1.0 - (1.0 - np.cos(angle_rad)) / (2.0 * max(epsilon, 1e-12))
    return np.maximum(base, 0.0) ** exponent


@lru_cache(maxsize=256)
def _j_r(epsilon: float, exponent: float) -> float:
    psi = np.linspace(-math.pi, math.pi, 4001)
    y = _stribeck(psi, epsilon, exponent) * np.cos(psi)
    return float(np.trapezoid(y, psi) / (2.0 * math.pi))


def _deflection_m(q_n: float, geometry: BearingGeometry) -> float:
    """Hertz approach of inner and outer ring for one element at load ``q_n`` [m]."""
    d_mm = geometry.ball_diameter_m * 1e3
    if geometry.rollers:
        return 3.84e-5 * q_n**0.9 / d_mm**0.8 * 1e-3
    return 4.36e-4 * q_n ** (2.0 / 3.0) * d_mm ** (-1.0 / 3.0) * 1e-3


@lru_cache(maxsize=4096)
def _solve(radial_load_n: float, geometry: BearingGeometry, clearance_m: float) -> tuple[float, float]:
    """``(Q_max, epsilon)`` for a clearance >= 0: the radial displacement balancing F_r."""
    n = 10.0 / 9.0 if geometry.rollers else 1.5
    z, cos_a = geometry.n_elements, math.cos(math.radians(geometry.contact_angle_deg))
    if clearance_m == 0.0 or radial_load_n == 0.0:
        return radial_load_n / (z * _j_r(0.5, n) * cos_a), 0.5
    half = 0.5 * clearance_m
    c1 = _deflection_m(1.0, geometry)  # deflection at 1 N

    def q_max_at(delta_r: float) -> float:  # Hertz: delta_r - P_d/2 = c Q_max^(1/n)
        return ((delta_r - half) / c1) ** n

    def residual(delta_r: float) -> float:  # radial load carried at displacement delta_r, minus F_r
        eps = max(0.5 * (1.0 - half / delta_r), 1e-9)
        return z * q_max_at(delta_r) * _j_r(round(eps, 9), n) * cos_a - radial_load_n

    lo = half * (1.0 + 1e-9)
    hi = half + _deflection_m(10.0 * radial_load_n, geometry)
    while residual(hi) < 0.0:
        hi = half + 2.0 * (hi - half)
    delta_r = optimize.brentq(residual, lo, hi, xtol=1e-15, rtol=1e-10)
    return q_max_at(delta_r), 0.5 * (1.0 - half / delta_r)


def load_distribution(
    radial_load_n: float,
    geometry: BearingGeometry,
    clearance_m: float | None = 0.0,
    epsilon: float | None = None,
    preload_n: float = 0.0,
) -> LoadDistribution:
    """Load on the rolling elements of a radially loaded bearing (Stribeck, Harris).

    Parameters
    ----------
    radial_load_n : float
        Radial load :math:`F_r` [N], >= 0.
    geometry : BearingGeometry
        Number of elements, ball diameter, contact angle, balls or rollers.
    clearance_m : float or None
        Diametral clearance :math:`P_d` [m] (> 0: clearance, < 0: preload). ``None`` with
        ``epsilon``: a fixed load-zone factor whatever the load.
    epsilon : float, optional
        Fixed load-zone factor (used only when ``clearance_m`` is None).
    preload_n : float
        Uniform element load (axial preload, gravity, spring) [N], >= 0.

    Returns
    -------
    LoadDistribution

    Examples
    --------
    >>> g = BEARING_PRESETS["6205-2RS"]
    >>> ld = load_distribution(1000.0, g)          # zero clearance: Stribeck's 4.37 F_r / Z
    >>> round(ld.q_max_n * g.n_elements / 1000.0, 2), ld.epsilon
    (4.37, 0.5)
    >>> wide = load_distribution(1000.0, g, clearance_m=20e-6)
    >>> wide.epsilon < 0.5 and wide.q_max_n > ld.q_max_n
    True
    """
    if not (math.isfinite(radial_load_n) and radial_load_n >= 0.0):
        raise ValueError(f"radial_load_n must be finite and >= 0, got {radial_load_n!r}")
    if not (math.isfinite(preload_n) and preload_n >= 0.0):
        raise ValueError(f"preload_n must be finite and >= 0, got {preload_n!r}")
    n = 10.0 / 9.0 if geometry.rollers else 1.5
    if clearance_m is None:
        eps = 0.5 if epsilon is None else float(epsilon)
        if not eps > 0.0:
            raise ValueError(f"epsilon must be positive, got {epsilon!r}")
        cos_a = math.cos(math.radians(geometry.contact_angle_deg))
        q_max = radial_load_n / (geometry.n_elements * _j_r(eps, n) * cos_a)
        return LoadDistribution(q_max, eps, n, float(preload_n))
    if not math.isfinite(clearance_m) or abs(clearance_m) > 1e-3:
        raise ValueError(f"clearance_m must be finite and within +-1 mm, got {clearance_m!r}")
    if clearance_m < 0.0:
        # Preloaded (interference): every element carries the fit's load; to first order the
        # radial load adds a zero-clearance Stribeck share on top (superposition).
        q_fit = (0.5 * abs(clearance_m) / _deflection_m(1.0, geometry)) ** n
        q_max, eps = _solve(float(radial_load_n), geometry, 0.0)
        return LoadDistribution(q_max, eps, n, float(preload_n) + q_fit)
    q_max, eps = _solve(float(radial_load_n), geometry, float(clearance_m))
    return LoadDistribution(q_max, eps, n, float(preload_n))


def element_load(angle_rad, dist: LoadDistribution) -> np.ndarray:
    """Load on an element at angle ``angle_rad`` from the load direction [N].

    :math:`Q(\\psi) = Q_{pre} + Q_{max} [1 - (1 - \\cos\\psi)/(2\\varepsilon)]_+^n`.

    Examples
    --------
    >>> ld = load_distribution(1000.0, BEARING_PRESETS["6205-2RS"])
    >>> q = element_load(np.radians([0.0, 60.0, 120.0]), ld)
    >>> bool(q[0] == ld.q_max_n and 0.0 < q[1] < q[0] and q[2] == 0.0)
    True
    """
    return dist.preload_n + dist.q_max_n * _stribeck(np.asarray(angle_rad, dtype=np.float64), dist.epsilon, dist.exponent)
