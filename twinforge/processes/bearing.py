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
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["BEARING_PRESETS", "BearingGeometry", "defect_frequencies"]


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
BEARING_PRESETS: dict[str, BearingGeometry] = {
    "6205-2RS": BearingGeometry(9, 7.94e-3, 39.04e-3, 0.0),
    "pronostia": BearingGeometry(13, 3.5e-3, 25.6e-3, 0.0),
    "rexnord-za2115": BearingGeometry(16, 0.331 * _INCH_M, 2.815 * _INCH_M, 15.17),
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
