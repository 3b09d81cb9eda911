"""Outdoor weather shared by the components of a twin: air temperature, irradiance, wind.

Two sources share one interface (:class:`Weather`):

``"synthetic"``
    A stochastic weather generator. Hourly *knots* of temperature, clear-sky index and wind
    are drawn day by day (UTC days) from one random stream, and values between knots are
    interpolated linearly.

    * Air temperature [degC] = climatology + synoptic anomaly + daily cycle:

      .. math::

          T(t) = \\bar T + A_s \\cos\\frac{2\\pi (d(t) - d_{pk})}{365.25} + X(t)
                 + A_d \\cos\\frac{2\\pi (h_{sol}(t) - h_{pk})}{24}

      ``X`` is an Ornstein-Uhlenbeck process of standard deviation ``sigma`` and time
      constant ``tau`` (the classical temperature model of weather-derivative pricing,
      Dornier & Queruel 2000; Benth & Saltyte-Benth 2007), sampled hourly with the exact
      discretisation (Gillespie 1996)

      .. math::  X_{k+1} = \\phi X_k + \\sigma\\sqrt{1 - \\phi^2}\\,\\varepsilon_k, \\quad
                 \\phi = e^{-\\Delta t / \\tau}, \\quad \\varepsilon_k \\sim N(0, 1),

      so its autocorrelation at lag ``L`` is exactly ``exp(-L / tau)``. Optionally the
      anomaly's spread follows the season (``anomaly_sigma_season_frac = f``): at
      mid-latitudes the day-to-day swings of temperature are about twice as large in winter
      as in summer (the daily-mean anomaly of the Greensboro TMY3 bundled with pvlib has an
      SD of 5-7 K from December to February and 1.8-2.7 K from June to September). Then
      ``X(t) = sigma(t) Z(t)`` with ``Z`` the unit OU process above and
      ``sigma(t) = sigma (1 - f cos(2 pi (d(t) - d_pk) / 365.25))``, largest half a year
      from the warmest day; ``f = 0`` (the default) is the constant-spread process.
      The daily half-range ``A_d`` grows in summer and on clear days (clear nights cool
      and sunny days warm).
      ``h_sol`` is the local mean solar time [h] and ``d`` the day of the year.

    * Global horizontal irradiance [W m-2] = clear-sky index x clear-sky GHI (Ineichen &
      Perez 2002, fixed Linke turbidity). The daily clear-sky index ``K_d`` follows a beta
      distribution whose mean follows the season, with day-to-day persistence given by a
      Gaussian copula AR(1) (lag-1 autocorrelation about 0.3, as in the Markov-matrix
      statistics of Aguiar, Collares-Pereira & Conde 1988). Within the day an hourly AR(1)
      fluctuation around ``K_d`` with a spread largest on broken-cloud days, after the TAG
      model (Aguiar & Collares-Pereira 1992). Fluctuations faster than an hour (cloud edges)
      are not represented.

    * Wind speed [m s-1]: Weibull marginal (shape ~2, Justus et al. 1978) through a
      Gaussian copula of an hourly OU process, with a mild afternoon maximum.

``"tmy3"``
    A typical meteorological year file (NSRDB TMY3) read with
    :func:`pvlib.iotools.read_tmy3`, mapped onto the simulated dates by day of the year and
    hour (years wrap; a leap year's 31 December takes 1 January's data). Times in the file
    are local standard time, hour-ending; temperature and wind are taken as instantaneous
    at the time stamp, GHI as the mean of the hour before it, turned into an hourly
    clear-sky index so that the sub-hourly shape follows the sun. The site's latitude,
    longitude and altitude come from the file.

References
----------
.. [1] R. Aguiar, M. Collares-Pereira and J. P. Conde, "Simple procedure for generating
   sequences of daily radiation values using a library of Markov transition matrices",
   Solar Energy 40(3), 269-279, 1988. doi:10.1016/0038-092X(88)90049-7
.. [2] R. Aguiar and M. Collares-Pereira, "TAG: a time-dependent, autoregressive, Gaussian
   model for generating synthetic hourly radiation", Solar Energy 49(3), 167-174, 1992.
   doi:10.1016/0038-092X(92)90068-L
.. [3] P. Ineichen and R. Perez, "A new airmass independent formulation for the Linke
   turbidity coefficient", Solar Energy 73(3), 151-157, 2002.
   doi:10.1016/S0038-092X(02)00045-2
.. [4] D. T. Gillespie, "Exact numerical simulation of the Ornstein-Uhlenbeck process and
   its integral", Physical Review E 54(2), 2084-2091, 1996. doi:10.1103/PhysRevE.54.2084
.. [5] F. Dornier and M. Queruel, "Caution to the wind", Energy & Power Risk Management,
   Weather Risk Special Report, 30-32, 2000.
.. [6] F. E. Benth and J. Saltyte-Benth, "The volatility of temperature and pricing of
   weather derivatives", Quantitative Finance 7(5), 553-561, 2007.
.. [7] C. G. Justus, W. R. Hargraves, A. Mikhail and D. Graber, "Methods for estimating
   wind speed frequency distributions", Journal of Applied Meteorology 17(3), 350-353,
   1978.
.. [8] Meteo-France, "Normales climatiques 1991-2020", stations Paris-Montsouris (75114001)
   and Orly (91027002): monthly mean temperature about 5 degC in January and 20-21 degC in
   July, annual mean 12-13 degC, mean daily range about 5 K in winter, 10-11 K in summer.
.. [9] T. Huld, R. Mueller and A. Gambardella, "A new solar radiation database for
   estimating PV performance in Europe and Africa", Solar Energy 86(6), 1803-1815, 2012.
   doi:10.1016/j.solener.2012.03.006 (PVGIS; Paris: about 1,150-1,250 kWh m-2 yr-1 on
   the horizontal).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np
import pandas as pd
import pvlib
from pydantic import BaseModel, ConfigDict, Field, model_validator
from scipy import signal, special

from twinforge.processes.solar import solar_geometry

__all__ = [
    "DEFAULT_TMY3",
    "Weather",
    "WeatherParams",
    "WeatherTilt",
    "clear_sky_ghi_w_per_m2",
    "config_tilt",
    "combine_anomalies",
    "ornstein_uhlenbeck",
]

_DAY_S = 86_400.0
_HOUR_S = 3_600.0
_YEAR_D = 365.25
#: Days from 1970-01-01 to 2000-01-01 (seasonal phase origin).
_J2000_DAY = 10_957.0
#: pvlib's bundled TMY3 file (Greensboro, NC).
DEFAULT_TMY3 = os.path.join(os.path.dirname(pvlib.__file__), "data", "723170TYA.CSV")

AnomalyFn = Callable[[np.ndarray], np.ndarray]


def combine_anomalies(offsets_k: list[np.ndarray]) -> np.ndarray:
    """The temperature offset [K] that several concurrent anomalies apply together.

    Warm anomalies do not add up, nor do cold ones: two heat waves that overlap are one
    hot spell whose anomaly at each time is the larger of the two, not their sum (a sum
    would make two 8 K waves a 16 K one, far beyond the single-wave law). A warm and a cold
    anomaly at the same time offset each other:

    .. math::  \\Delta T(t) = \\max\\big(0, \\max_i a_i(t)\\big) + \\min\\big(0, \\min_i a_i(t)\\big)

    With one anomaly this is the anomaly itself.

    Parameters
    ----------
    offsets_k : list of ndarray of shape (n,)
        Each anomaly's offset [K] at the same times (scalars broadcast).

    Returns
    -------
    ndarray of shape (n,)
        The combined offset [K].

    Examples
    --------
    >>> combine_anomalies([np.array([0.0, 5.0, 8.0]), np.array([6.0, 6.0, 6.0])]).tolist()
    [6.0, 6.0, 8.0]
    >>> combine_anomalies([np.array([4.0]), np.array([-3.0])]).tolist()
    [1.0]
    """
    if not offsets_k:
        return np.zeros(0)
    stack = np.broadcast_arrays(*[np.asarray(a, dtype=np.float64) for a in offsets_k])
    warm = np.maximum.reduce([np.maximum(a, 0.0) for a in stack])
    cold = np.minimum.reduce([np.minimum(a, 0.0) for a in stack])
    return warm + cold


_N_DRAWS_PER_DAY = 24 + 1 + 24 + 24  # anomaly, daily clearness, hourly clearness, wind
_CLEARNESS_DRAW = 24  # index of the daily clear-sky index's normal in a day's draws
#: Largest shift of a standard normal draw [-] (a likelihood ratio of e^{-12.5 n} at the mean).
_MAX_SHIFT = 5.0
_Shift = Annotated[float, Field(ge=-_MAX_SHIFT, le=_MAX_SHIFT)]


class WeatherTilt(BaseModel):
    """A mean shift of the synthetic generator's standard normal draws (importance sampling).

    The generator draws, for each UTC day ``d`` from the start, 73 independent standard
    normals: 24 for the temperature anomaly (on day 0 the first one is the stationary
    initial state, the others the hourly OU innovations), one for the daily clear-sky
    index, 24 for its hourly fluctuation and 24 for the wind. A tilt draws some of them
    from :math:`N(\\theta_j, 1)` instead of :math:`N(0, 1)`, constant over blocks:

    * ``anomaly_start``: the initial anomaly state (day 0, draw 0);
    * ``anomaly_daily[d]``: the hourly anomaly innovations of day ``d`` (day 0: draws 1-23);
    * ``clearness_daily[d]``: the daily clear-sky index's normal of day ``d`` (a clear
      day has a larger daily temperature range, hence a hotter afternoon).

    Every other draw, and every day past the tuples, keeps the natural law. ``normals``
    instead gives the draws of the first days outright (73 per day, in the generator's
    order): the generator still consumes its own draws of those days and uses the given
    ones in their place, so the stream's own draws given back reproduce the natural weather
    bit for bit. It is not importance sampling (no likelihood ratio; the caller owns their
    law): subset simulation (:mod:`twinforge.campaign.subset`) moves them along its Markov
    chains. It excludes every shift. The shift is
    an exponential tilt of a Gaussian (Rubinstein & Kroese 2004; Owen 2013, ch. 9), whose likelihood ratio is a closed form: for draws :math:`\\varepsilon_j`
    of :math:`N(\\theta_j, 1)`

    .. math::  w = \\frac{p(\\varepsilon)}{q(\\varepsilon)}
               = \\exp\\Big(-\\sum_j \\theta_j \\varepsilon_j + \\tfrac12 \\sum_j \\theta_j^2\\Big),
               \\qquad E_q[w] = 1.

    The weight depends only on the run's weather stream, so it is computed before the run
    (:meth:`log_weight` replays the stream); campaigns add it to the run's weight.

    References
    ----------
    R. Y. Rubinstein and D. P. Kroese, *The Cross-Entropy Method*, Springer, 2004.
    doi:10.1007/978-1-4757-4321-0. A. B. Owen, *Monte Carlo theory, methods and examples*,
    2013, ch. 9 (importance sampling; exponential tilting).

    Examples
    --------
    >>> tilt = WeatherTilt(anomaly_start=1.0, anomaly_daily=(0.1, 0.1))
    >>> tilt.days, tilt.shift(0)[:3].tolist(), tilt.shift(2) is None
    (2, [1.0, 0.1, 0.1], True)
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    anomaly_start: _Shift = Field(0.0, description="shift of the initial anomaly state's normal [-]")
    anomaly_daily: tuple[_Shift, ...] = Field(
        (), max_length=366, description="shift of the hourly anomaly innovations of each day [-]"
    )
    clearness_daily: tuple[_Shift, ...] = Field(
        (), max_length=366, description="shift of each day's clear-sky index normal [-]"
    )
    peak_hours: tuple[Annotated[int, Field(ge=0, le=24 * 366 - 1)], ...] = Field(
        (), max_length=24 * 366,
        description="impulse-response mixture: hour (from the first anomaly draw) of each component's peak [h]",
    )
    peak_shifts: tuple[_Shift, ...] = Field(
        (), max_length=24 * 366, description="impulse-response mixture: each component's shift of Z(hour) [-]"
    )
    peak_probs: tuple[Annotated[float, Field(gt=0.0, le=1.0)], ...] = Field(
        (), max_length=24 * 366, description="impulse-response mixture: each component's probability [-]"
    )
    anomaly_phi: float = Field(
        0.0, ge=0.0, lt=1.0,
        description="impulse-response mixture: the unit OU anomaly's hourly autocorrelation exp(-1 h / tau) [-]",
    )
    normals: tuple[float, ...] = Field(
        (), max_length=_N_DRAWS_PER_DAY * 366,
        description="given standard normals of the first len/73 days, in the generator's order, used in place of "
        "its draws (subset simulation; no likelihood ratio, the stream's own draws are still consumed) [-]",
    )

    @model_validator(mode="after")
    def _mixture_is_consistent(self) -> "WeatherTilt":
        n = len(self.peak_hours)
        if len(self.peak_shifts) != n or len(self.peak_probs) != n:
            raise ValueError(
                f"peak_hours, peak_shifts and peak_probs must have one entry per component, got "
                f"{n}, {len(self.peak_shifts)} and {len(self.peak_probs)}"
            )
        if n and abs(sum(self.peak_probs) - 1.0) > 1e-9:
            raise ValueError(f"peak_probs must sum to 1, got {sum(self.peak_probs)!r}")
        if n and not self.anomaly_phi > 0.0:
            raise ValueError("anomaly_phi must be within (0, 1) when the tilt has peak components")
        if self.normals:
            if len(self.normals) % _N_DRAWS_PER_DAY:
                raise ValueError(f"normals must hold {_N_DRAWS_PER_DAY} values per day, got {len(self.normals)}")
            if not all(math.isfinite(x) for x in self.normals):
                raise ValueError("normals must be finite")
            if self.days or self.anomaly_phi:
                raise ValueError("normals replace the draws: they exclude every shift (anomaly_*, clearness_daily, peak_*)")
        return self

    @property
    def mixture(self) -> bool:
        """Whether the anomaly draws follow the impulse-response mixture (``peak_*``)."""
        return bool(self.peak_hours)

    @property
    def days(self) -> int:
        """Days from the start with some shifted draw."""
        peak = max(self.peak_hours) // 24 + 1 if self.peak_hours else 0
        return max(len(self.anomaly_daily), len(self.clearness_daily), 1 if self.anomaly_start else 0, peak)

    @staticmethod
    def impulse_response(hour: int, phi: float, days: int) -> np.ndarray:
        """The coefficients :math:`c_h` of the unit OU anomaly at ``hour`` on the anomaly draws.

        With :math:`Z_0 = \\xi_0` (stationary start) and :math:`Z_{k} = \\phi Z_{k-1} +
        \\sqrt{1-\\phi^2}\\,\\xi_k`, :math:`Z_h = c_h \\cdot \\xi` with :math:`c_{h,0} = \\phi^h`,
        :math:`c_{h,k} = \\sqrt{1-\\phi^2}\\,\\phi^{h-k}` (:math:`1 \\le k \\le h`), 0 after:
        a unit vector, so a shift :math:`\\beta c_h` of the draws raises :math:`E[Z_h]` by
        :math:`\\beta` at the least cost :math:`\\beta^2/2` in Kullback-Leibler divergence.

        Returns
        -------
        ndarray of shape (days, 24)
            The coefficients laid out as the anomaly draws of each day.
        """
        k = np.arange(24 * days)
        c = np.where(k <= hour, math.sqrt(1.0 - phi * phi) * phi ** np.maximum(hour - k, 0), 0.0)
        c[0] = phi**hour
        return c.reshape(days, 24)

    def component_shifts(self, days: int) -> np.ndarray:
        """Full shift of every draw for each component: shape (components or 1, days, 73)."""
        base = np.stack([self._block_shift(d) for d in range(days)])
        if not self.mixture:
            return base[None]
        out = np.repeat(base[None], len(self.peak_hours), axis=0)
        for j, (h, b) in enumerate(zip(self.peak_hours, self.peak_shifts)):
            if h < 24 * days:
                out[j, :, :24] += b * self.impulse_response(h, self.anomaly_phi, days)
        return out

    def draw_component(self, rng: np.random.Generator) -> int:
        """The mixture component of a run (one uniform from the weather stream; 0 without a mixture)."""
        if not self.mixture:
            return 0
        u = float(rng.random())
        return min(int(np.searchsorted(np.cumsum(self.peak_probs), u, side="right")), len(self.peak_probs) - 1)

    @property
    def given_days(self) -> int:
        """Days from the start whose draws are the given :attr:`normals`."""
        return len(self.normals) // _N_DRAWS_PER_DAY

    def given(self, day: int) -> np.ndarray | None:
        """The 73 given normals of day ``day`` (None: the generator's own draws, shifted or not)."""
        if day >= self.given_days:
            return None
        k = day * _N_DRAWS_PER_DAY
        return np.array(self.normals[k : k + _N_DRAWS_PER_DAY], dtype=np.float64)

    def _block_shift(self, day: int) -> np.ndarray:
        out = np.zeros(_N_DRAWS_PER_DAY)
        if day < len(self.anomaly_daily):
            out[:24] = self.anomaly_daily[day]
        if day == 0:
            out[0] = self.anomaly_start
        if day < len(self.clearness_daily):
            out[_CLEARNESS_DRAW] = self.clearness_daily[day]
        return out

    def shift(self, day: int, component: int = 0) -> np.ndarray | None:
        """The 73 shifts of day ``day``'s draws under mixture ``component`` (None: natural law)."""
        if day >= self.days:
            return None
        out = self._block_shift(day)
        if self.mixture:
            h, b = self.peak_hours[component], self.peak_shifts[component]
            out[:24] += b * self.impulse_response(h, self.anomaly_phi, day + 1)[day]
        return out

    def drawn_normals(self, rng: np.random.Generator, days: int) -> np.ndarray:
        """The normals of the first ``days`` days as :class:`Weather` draws them under this tilt.

        ``rng`` is a fresh generator of the run's weather stream (replayed): the mixture
        component first (:meth:`draw_component`), then 73 normals per day, shifted.

        Returns
        -------
        ndarray of shape (days, 73)
        """
        j = self.draw_component(rng)
        out = np.empty((days, _N_DRAWS_PER_DAY))
        for d in range(days):
            out[d] = rng.standard_normal(_N_DRAWS_PER_DAY)
            given = self.given(d)
            theta = self.shift(d, j)
            if given is not None:
                out[d] = given
            elif theta is not None:
                out[d] += theta
        return out

    def log_ratio(self, eps: np.ndarray) -> np.ndarray:
        """:math:`\\ln p(\\varepsilon) - \\ln q(\\varepsilon)` of drawn normals under this tilt.

        Parameters
        ----------
        eps : ndarray of shape (..., days, 73)
            Drawn normals (:meth:`drawn_normals`) of one or several runs, ``days >= self.days``.

        Returns
        -------
        ndarray of shape (...)
            :math:`-\\ln \\sum_j \\pi_j \\exp(\\theta_j\\cdot\\varepsilon - |\\theta_j|^2/2)` over the
            mixture components :math:`\\theta_j` (one component without a mixture).
        """
        if self.normals:
            raise ValueError("given normals have no likelihood ratio (their law is the caller's)")
        eps = np.asarray(eps, dtype=np.float64)
        days = eps.shape[-2]
        if days < self.days:
            raise ValueError(f"eps must cover the tilt's {self.days} days, got {days}")
        th = self.component_shifts(days)  # (J, days, 73)
        log_pi = np.log(np.asarray(self.peak_probs)) if self.mixture else np.zeros(1)
        expo = np.einsum("...dk,jdk->...j", eps, th) - 0.5 * np.sum(th * th, axis=(1, 2)) + log_pi
        m = expo.max(axis=-1)
        return -(m + np.log(np.sum(np.exp(expo - m[..., None]), axis=-1)))

    def log_weight(self, rng: np.random.Generator) -> float:
        """:math:`\\ln p - \\ln q` of the weather drawn from ``rng`` under this tilt.

        Parameters
        ----------
        rng : numpy.random.Generator
            A fresh generator of the run's weather stream (the one :class:`Weather` gets):
            its draws are replayed, not consumed from the weather's own generator.

        Returns
        -------
        float
            :math:`-\\sum_j \\theta_j \\xi_j - \\frac12 \\sum_j \\theta_j^2` with :math:`\\xi_j` the
            natural draws (the tilted ones are :math:`\\xi_j + \\theta_j`).
        """
        if self.normals:
            raise ValueError("given normals have no likelihood ratio (their law is the caller's)")
        if self.mixture:  # the mixture's ratio needs the drawn normals (replayed with the component)
            return float(self.log_ratio(self.drawn_normals(rng, self.days)))
        lw = 0.0
        for d in range(self.days):
            xi = rng.standard_normal(_N_DRAWS_PER_DAY)
            theta = self.shift(d)
            assert theta is not None
            lw -= float(theta @ xi) + 0.5 * float(theta @ theta)
        return lw

    @staticmethod
    def block_means(rng: np.random.Generator, days: int, tilt: "WeatherTilt | None" = None) -> np.ndarray:
        """The drawn normals averaged over the tilt's blocks (sufficient statistics).

        Parameters
        ----------
        rng : numpy.random.Generator
            A fresh generator of the run's weather stream.
        days : int
            Days of blocks (>= 1).
        tilt : WeatherTilt, optional
            The tilt the run was drawn under (None: the natural law).

        Returns
        -------
        ndarray of shape (1 + 2 days,)
            ``[initial state, anomaly innovations' mean of day 0..days-1, clearness normal of
            day 0..days-1]`` as drawn. Under a block-constant mean shift the weighted
            maximum-likelihood shift of a set of runs is the weighted mean of these vectors
            (:meth:`from_block_means`).
        """
        return WeatherTilt.block_means_of((WeatherTilt() if tilt is None else tilt).drawn_normals(rng, days))

    @staticmethod
    def block_means_of(eps: np.ndarray) -> np.ndarray:
        """:meth:`block_means` of drawn normals ``eps`` (:meth:`drawn_normals`) of shape
        (..., days, 73): shape (..., 1 + 2 days)."""
        eps = np.asarray(eps, dtype=np.float64)
        return np.concatenate([eps[..., 0, :1], eps[..., 0, 1:24].mean(axis=-1)[..., None],
                               eps[..., 1:, :24].mean(axis=-1), eps[..., :, _CLEARNESS_DRAW]], axis=-1)

    @classmethod
    def from_block_means(cls, means: np.ndarray) -> "WeatherTilt":
        """The tilt whose shifts are ``means`` (layout of :meth:`block_means`), clipped to +-5."""
        m = np.clip(np.asarray(means, dtype=np.float64), -_MAX_SHIFT, _MAX_SHIFT)
        days = (m.size - 1) // 2
        if m.size != 1 + 2 * days or days < 1:
            raise ValueError(f"means must hold 1 + 2 days values, got {m.size}")
        return cls(
            anomaly_start=float(m[0]),
            anomaly_daily=tuple(float(x) for x in m[1 : 1 + days]),
            clearness_daily=tuple(float(x) for x in m[1 + days :]),
        )

    def as_block_means(self, days: int) -> np.ndarray:
        """This tilt in the layout of :meth:`block_means` over ``days`` days."""
        out = np.zeros(1 + 2 * days)
        out[0] = self.anomaly_start
        for d in range(days):
            out[1 + d] = self.anomaly_daily[d] if d < len(self.anomaly_daily) else 0.0
            out[1 + days + d] = self.clearness_daily[d] if d < len(self.clearness_daily) else 0.0
        return out


#: Second word of the seed of a shared weather realisation (``WeatherParams.seed``).
_WEATHER_SEED_KEY = 0x57EA7E


class WeatherParams(BaseModel):
    """Weather generator configuration.

    Defaults describe Sceaux near Paris (48.78 N, 2.29 E, 60 m), the site of the UCI
    "Individual household electric power consumption" trace. Temperature follows the
    1991-2020 Meteo-France normals of Paris-Montsouris / Orly: the defaults give an annual
    mean of 12 degC, January about 4.5 degC and July about 19.5 degC (a little cooler than
    urban Montsouris, as suits suburban Sceaux) and a mean daily range of about 5 K in
    winter and 11 K in summer (the synoptic anomaly adds to the half-range
    ``temp_daily_amplitude_k``). The mean clear-sky index is chosen so that the annual
    global horizontal irradiation is about 1,150-1,200 kWh m-2 (PVGIS). Day-to-day
    persistence of the clear-sky index after Aguiar et al. (1988).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Literal["synthetic", "tmy3"] = Field(
        "synthetic", description="'synthetic' generator or a 'tmy3' typical-year file"
    )
    latitude_deg: float = Field(48.78, ge=-90.0, le=90.0, description="site latitude [deg N]")
    longitude_deg: float = Field(2.29, ge=-180.0, le=180.0, description="site longitude [deg E]")
    altitude_m: float = Field(60.0, ge=-500.0, le=9000.0, description="site altitude [m]")

    temp_mean_c: float = Field(
        12.0, ge=-40.0, le=40.0, description="annual mean air temperature [degC]"
    )
    temp_season_amplitude_k: float = Field(
        7.5, ge=0.0, le=40.0, description="amplitude of the annual temperature cycle [K]"
    )
    temp_peak_doy: float = Field(
        200.0, ge=1.0, le=366.0, description="day of the year of the warmest climatology [d]"
    )
    temp_daily_amplitude_k: float = Field(
        3.5, ge=0.0, le=20.0, description="mean half-range of the daily temperature cycle [K]"
    )
    temp_daily_season_frac: float = Field(
        0.45,
        ge=0.0,
        le=1.0,
        description="relative seasonal swing of the daily half-range (max at solstice) [1]",
    )
    temp_daily_clearness_gain: float = Field(
        0.6,
        ge=0.0,
        le=1.0,
        description="share of the daily half-range that scales with the day's clearness [1]",
    )
    temp_peak_solar_hour: float = Field(
        14.0, ge=10.0, le=20.0, description="local mean solar time of the daily maximum [h]"
    )
    anomaly_sigma_k: float = Field(
        3.0, ge=0.0, le=15.0,
        description="standard deviation of the synoptic anomaly (its annual mean if seasonal) [K]",
    )
    anomaly_tau_days: float = Field(
        3.0, gt=0.0, le=60.0, description="time constant of the synoptic anomaly (OU) [d]"
    )
    anomaly_sigma_season_frac: float = Field(
        0.0,
        ge=0.0,
        lt=1.0,
        description="relative seasonal swing of the anomaly's SD (largest in winter) [-]",
    )

    clearness_mean: float = Field(
        0.66, gt=0.0, lt=1.0, description="annual mean of the daily clear-sky index [-]"
    )
    clearness_sd: float = Field(
        0.22, gt=0.0, lt=0.5, description="standard deviation of the daily clear-sky index [-]"
    )
    clearness_season_amplitude: float = Field(
        0.08, ge=0.0, le=0.4, description="seasonal amplitude of the mean clear-sky index [-]"
    )
    clearness_peak_doy: float = Field(
        200.0, ge=1.0, le=366.0, description="day of the year of the clearest climatology [d]"
    )
    clearness_lag1_autocorr: float = Field(
        0.3, ge=0.0, lt=1.0, description="day-to-day correlation of the clear-sky index [-]"
    )
    clearness_hourly_sd: float = Field(
        0.15, ge=0.0, le=0.5, description="largest standard deviation of hourly fluctuations [-]"
    )
    clearness_hourly_tau_h: float = Field(
        2.0, gt=0.0, le=48.0, description="time constant of hourly clear-sky index fluctuations [h]"
    )
    linke_turbidity: float = Field(
        3.0, ge=1.0, le=8.0, description="Linke turbidity of the Ineichen clear-sky model [-]"
    )

    wind_mean_m_per_s: float = Field(
        3.5, ge=0.0, le=30.0, description="mean wind speed at 10 m [m s-1]"
    )
    wind_weibull_k: float = Field(
        2.0, ge=1.0, le=5.0, description="Weibull shape of the wind speed [-]"
    )
    wind_tau_h: float = Field(
        12.0, gt=0.0, le=240.0, description="time constant of wind speed changes [h]"
    )
    wind_diurnal_frac: float = Field(
        0.2, ge=0.0, le=0.9, description="relative amplitude of the afternoon wind maximum [-]"
    )

    tmy3_path: str | None = Field(
        None, description="TMY3 file; None = pvlib's bundled 723170TYA.CSV"
    )
    seed: int | None = Field(
        None, ge=0, le=2**63 - 1,
        description="fixed weather realisation shared by every run with this seed; None = each run draws its own [-]",
    )
    tilt: WeatherTilt | None = Field(
        None,
        description="importance-sampling shift of the synthetic generator's normal draws, set by "
        "importance-sampling campaigns (each run's weight carries its likelihood ratio); None = natural law",
    )

    @model_validator(mode="after")
    def _beta_is_feasible(self) -> "WeatherParams":
        if self.tilt is not None and (self.source != "synthetic" or self.seed is not None):
            raise ValueError(
                "tilt: only the synthetic generator's own draws can be tilted "
                "(source = 'synthetic' and no fixed weather seed)"
            )
        lo = self.clearness_mean - self.clearness_season_amplitude
        hi = self.clearness_mean + self.clearness_season_amplitude
        if lo <= 0.0 or hi >= 1.0:
            raise ValueError(
                "clearness_mean +/- clearness_season_amplitude must stay inside (0, 1), "
                f"got {lo:.3g}..{hi:.3g}"
            )
        worst = min(lo * (1.0 - lo), hi * (1.0 - hi))
        if self.clearness_sd**2 >= worst:
            raise ValueError(
                f"clearness_sd={self.clearness_sd:g} is too large for a beta distribution with "
                f"mean clearness_mean +/- clearness_season_amplitude ({lo:.3g}..{hi:.3g}): "
                f"need clearness_sd < {math.sqrt(worst):.3g}"
            )
        return self


# --------------------------------------------------------------------------- pure functions


def config_tilt(config: object) -> "WeatherTilt | None":
    """The tilt of a twin configuration's weather (None: natural draws, or a twin without weather)."""
    weather = getattr(config, "weather", None)
    return weather.tilt if isinstance(weather, WeatherParams) else None


def ornstein_uhlenbeck(
    n_steps: int,
    dt_s: float,
    tau_s: float,
    sigma: float,
    rng: np.random.Generator,
    x0: float | None = None,
) -> np.ndarray:
    """Stationary Ornstein-Uhlenbeck process sampled with its exact discretisation.

    .. math::  X_{k+1} = \\phi X_k + \\sigma \\sqrt{1-\\phi^2}\\,\\varepsilon_k,
               \\qquad \\phi = e^{-\\Delta t/\\tau}

    (Gillespie 1996, doi:10.1103/PhysRevE.54.2084); the autocorrelation at lag ``L`` is
    ``exp(-L / tau)`` for any step.

    Parameters
    ----------
    n_steps : int
        Number of samples.
    dt_s : float
        Step [s].
    tau_s : float
        Time constant [s] (> 0).
    sigma : float
        Stationary standard deviation (units of ``X``).
    rng : numpy.random.Generator
        Random stream (``n_steps`` standard normals are drawn).
    x0 : float, optional
        Value before the first step; ``None`` draws the first sample from the stationary
        law ``N(0, sigma**2)``.

    Returns
    -------
    ndarray of shape (n_steps,)

    Examples
    --------
    >>> x = ornstein_uhlenbeck(5, 3600.0, 86400.0, 3.0, np.random.default_rng(1))
    >>> x.shape
    (5,)
    """
    if tau_s <= 0:
        raise ValueError(f"tau_s must be positive, got {tau_s}")
    eps = rng.standard_normal(n_steps)
    return _ou_filter(eps, math.exp(-dt_s / tau_s), sigma, x0)


def _ou_filter(eps: np.ndarray, phi: float, sigma: float, x0: float | None) -> np.ndarray:
    """AR(1) ``x_k = phi x_{k-1} + sigma sqrt(1 - phi^2) eps_k``; stationary start if no x0."""
    c = sigma * math.sqrt(max(0.0, 1.0 - phi * phi))
    if x0 is None:
        first = sigma * eps[:1]
        if len(eps) == 1:
            return first.astype(np.float64)
        rest, _ = signal.lfilter([c], [1.0, -phi], eps[1:], zi=[phi * first[0]])
        return np.concatenate((first, rest))
    out, _ = signal.lfilter([c], [1.0, -phi], eps, zi=[phi * x0])
    return out


def clear_sky_ghi_w_per_m2(
    apparent_zenith_deg,
    dni_extra_w_per_m2,
    altitude_m: float = 0.0,
    linke_turbidity: float = 3.0,
) -> np.ndarray:
    """Clear-sky global horizontal irradiance (Ineichen & Perez 2002) [W m-2].

    Parameters
    ----------
    apparent_zenith_deg : array_like of shape (n,)
        Refraction-corrected solar zenith [deg].
    dni_extra_w_per_m2 : array_like of shape (n,) or float
        Extraterrestrial normal irradiance [W m-2].
    altitude_m : float
        Site altitude [m] (sets the pressure for the absolute airmass).
    linke_turbidity : float
        Linke turbidity factor [-] (2 very clear, 3-4 typical of European cities).

    Returns
    -------
    ndarray of shape (n,)
        GHI [W m-2], 0 when the sun is below the horizon, never NaN for finite input.

    References
    ----------
    P. Ineichen and R. Perez, Solar Energy 73(3), 151-157, 2002.
    doi:10.1016/S0038-092X(02)00045-2

    Examples
    --------
    >>> ghi = clear_sky_ghi_w_per_m2(np.array([30.0, 95.0]), 1361.0, 60.0)
    >>> bool(800 < ghi[0] < 1000), float(ghi[1])
    (True, 0.0)
    """
    zen = np.asarray(apparent_zenith_deg, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        am_rel = pvlib.atmosphere.get_relative_airmass(zen)
        am_abs = pvlib.atmosphere.get_absolute_airmass(
            am_rel, pvlib.atmosphere.alt2pres(altitude_m)
        )
        cs = pvlib.clearsky.ineichen(
            zen, am_abs, linke_turbidity, altitude=altitude_m, dni_extra=dni_extra_w_per_m2
        )
    ghi = np.asarray(cs["ghi"], dtype=np.float64)
    return np.where(np.isfinite(ghi) & (zen < 90.0), np.maximum(ghi, 0.0), 0.0)


def _day_of_year(epoch_s: np.ndarray) -> np.ndarray:
    """Calendar day of the year (1..366) of UTC epoch seconds."""
    days = np.floor(epoch_s / _DAY_S).astype(np.int64).astype("datetime64[D]")
    return (days - days.astype("datetime64[Y]").astype("datetime64[D]")).astype(np.int64) + 1


def _season_cos(epoch_s, peak_doy: float):
    """``cos(2 pi (doy - peak) / 365.25)`` with a continuous day of the year."""
    doy = np.mod(np.asarray(epoch_s) / _DAY_S - _J2000_DAY, _YEAR_D) + 1.0
    return np.cos(2.0 * np.pi * (doy - peak_doy) / _YEAR_D)


# --------------------------------------------------------------------------- the component


@dataclass
class _Block:
    """Hourly knots of one UTC day (24 values each, at hours 0..23)."""

    temp_c: np.ndarray
    anomaly_k: np.ndarray
    clearness: np.ndarray
    wind_m_per_s: np.ndarray


@dataclass
class _Carry:
    """Process states at the last knot of the last generated day."""

    anomaly_k: float  # the OU state: the anomaly [K], or its unit factor with a seasonal SD
    z_daily: float
    y_hourly: float
    y_wind: float



class Weather:
    """Outdoor weather of one site, generated lazily and reproducibly, day by day.

    Values at a time never depend on the order, size or chunking of queries: day blocks
    (UTC days) of hourly knots are generated strictly in day order from ``rng``, each from
    a fixed number of draws, and cached; values in between are interpolated linearly.

    Parameters
    ----------
    params : WeatherParams
        Configuration.
    start : pandas.Timestamp
        UTC time of engine time ``t_s = 0`` (naive is taken as UTC).
    rng : numpy.random.Generator
        The weather's own random stream (unused with ``source="tmy3"``).

    Attributes
    ----------
    latitude_deg, longitude_deg, altitude_m : float
        The site (from the TMY3 file when ``source="tmy3"``).

    Notes
    -----
    Times before the first generated day take the first knot's value. Times in day blocks
    dropped by :meth:`discard_before` raise ``ValueError``.

    Examples
    --------
    >>> w = Weather(WeatherParams(), pd.Timestamp("2024-01-01", tz="UTC"), np.random.default_rng(0))
    >>> t = np.arange(0, 86_400, 3_600.0)
    >>> bool(np.all(w.ghi_w_per_m2(t)[:6] == 0.0))  # before sunrise in January
    True
    >>> w.temp_c(7200.0) == float(w.temp_c(np.array([7200.0]))[0])
    True
    """

    def __init__(
        self, params: WeatherParams, start: pd.Timestamp, rng: np.random.Generator
    ) -> None:
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        start = pd.Timestamp(start)
        self.start = start.tz_localize("UTC") if start.tzinfo is None else start.tz_convert("UTC")
        self.params = params
        # A fixed seed makes every run (home, feeder) of a campaign see one weather
        # realisation; its stream is keyed apart from any run's root seed.
        self._rng = rng if params.seed is None else np.random.default_rng([params.seed, _WEATHER_SEED_KEY])
        # the impulse-response mixture of a tilt: the run's component, drawn first from the stream
        self._component = params.tilt.draw_component(self._rng) if params.tilt is not None else 0
        self._start_epoch_s = self.start.value / 1e9
        self._day0 = math.floor(self._start_epoch_s / _DAY_S)
        # engine seconds -> hours since 00:00 UTC of day block 0
        self._offset_h = (self._start_epoch_s - self._day0 * _DAY_S) / _HOUR_S
        self._blocks: dict[int, _Block] = {}
        self._temp_lists: dict[int, list[float]] = {}  # 25 knots: the day's 24 + next 00:00
        self._pending_list: list[float] | None = None
        self._next_day = 0
        self._first_kept = 0
        self._carry: _Carry | None = None
        self._anomalies: list[AnomalyFn] = []

        p = params
        if p.source == "tmy3":
            self._init_tmy3(p.tmy3_path or DEFAULT_TMY3)
        else:
            self.latitude_deg = p.latitude_deg
            self.longitude_deg = p.longitude_deg
            self.altitude_m = p.altitude_m
            self._phi_anom = math.exp(-_HOUR_S / (p.anomaly_tau_days * _DAY_S))
            self._phi_cloud = math.exp(-1.0 / p.clearness_hourly_tau_h)
            self._phi_wind = math.exp(-1.0 / p.wind_tau_h)
            self._wind_scale = p.wind_mean_m_per_s / math.gamma(1.0 + 1.0 / p.wind_weibull_k)

    # ------------------------------------------------------------------ TMY3 source

    def _init_tmy3(self, path: str) -> None:
        data, meta = pvlib.iotools.read_tmy3(path, map_variables=True)
        if len(data) != 8760:
            raise ValueError(f"a TMY3 file holds 8760 hours, {path!r} holds {len(data)}")
        self.latitude_deg = float(meta["latitude"])
        self.longitude_deg = float(meta["longitude"])
        self.altitude_m = float(meta["altitude"])
        self._tz_h = float(meta["TZ"])
        temp = data["temp_air"].to_numpy(np.float64)
        wind = data["wind_speed"].to_numpy(np.float64)
        ghi = data["ghi"].to_numpy(np.float64)
        # Row i is stamped at hour i + 1 after 1 Jan 00:00 local standard time (hour ending).
        # Clear-sky GHI averaged over each hour, on a fixed non-leap reference year.
        n_sub = 6
        lst_h = np.arange(8760 * n_sub, dtype=np.float64) / n_sub + 0.5 / n_sub
        ref = pd.Timestamp("2019-01-01", tz="UTC").value / 1e9
        times = pd.to_datetime(
            np.round((ref + (lst_h - self._tz_h) * _HOUR_S) * 1e9).astype(np.int64), utc=True
        )
        geo = solar_geometry(times, self.latitude_deg, self.longitude_deg, self.altitude_m)
        cs = clear_sky_ghi_w_per_m2(
            geo["apparent_zenith"].to_numpy(),
            geo["dni_extra"].to_numpy(),
            self.altitude_m,
            self.params.linke_turbidity,
        ).reshape(8760, n_sub).mean(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            k = ghi / cs
            day_k = ghi.reshape(365, 24).sum(axis=1) / cs.reshape(365, 24).sum(axis=1)
        k = np.where(cs > 20.0, k, np.repeat(day_k, 24))
        k = np.clip(np.nan_to_num(k, nan=0.0), 0.0, 1.5)
        # knot values at integer LST hours p = 0..8759 (p == 8760 wraps to 0)
        self._tmy_temp = np.roll(temp, 1)
        self._tmy_wind = np.roll(wind, 1)
        self._tmy_k = 0.5 * (np.roll(k, 1) + k)  # hour means centred on p - 0.5 and p + 0.5

    def _tmy_knots(self, epoch_s: np.ndarray, series: np.ndarray) -> np.ndarray:
        lst = epoch_s + self._tz_h * _HOUR_S
        days = np.floor(lst / _DAY_S).astype(np.int64).astype("datetime64[D]")
        year0 = days.astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
        pos_h = np.mod((lst / _DAY_S - year0) * 24.0, 8760.0)
        i = np.floor(pos_h).astype(np.int64)
        f = pos_h - i
        return series[i] * (1.0 - f) + series[(i + 1) % 8760] * f

    # ------------------------------------------------------------------ block generation

    def _generate(self, day: int) -> _Block:
        p = self.params
        epoch = (self._day0 + day) * _DAY_S + np.arange(24) * _HOUR_S
        solar_h = np.mod(epoch / _HOUR_S + self.longitude_deg / 15.0, 24.0)
        if p.source == "tmy3":
            temp = self._tmy_knots(epoch, self._tmy_temp)
            return _Block(
                temp_c=temp,
                anomaly_k=np.zeros(24),
                clearness=self._tmy_knots(epoch, self._tmy_k),
                wind_m_per_s=self._tmy_knots(epoch, self._tmy_wind),
            )

        eps = self._rng.standard_normal(_N_DRAWS_PER_DAY)
        if p.tilt is not None and p.tilt.normals:  # given draws (subset simulation): the stream's are discarded
            given = p.tilt.given(day)
            eps = eps if given is None else given
        elif p.tilt is not None:  # importance sampling: some draws from N(theta, 1)
            theta = p.tilt.shift(day, self._component)
            if theta is not None:
                eps = eps + theta
        c = self._carry
        season = _season_cos(epoch, p.temp_peak_doy)  # the temperature's annual cycle, in [-1, 1]
        f_season = p.anomaly_sigma_season_frac
        if f_season == 0.0:  # constant spread: the OU state is the anomaly itself
            anomaly = _ou_filter(
                eps[:24], self._phi_anom, p.anomaly_sigma_k, None if c is None else c.anomaly_k
            )
            state = anomaly
        else:  # seasonal spread: the state is the unit OU process Z, X = sigma(t) Z
            state = _ou_filter(eps[:24], self._phi_anom, 1.0, None if c is None else c.anomaly_k)
            sd = p.anomaly_sigma_k * (1.0 - f_season * season)
            anomaly = sd * state
        # daily clear-sky index: Gaussian copula AR(1) -> beta with a seasonal mean
        rho = p.clearness_lag1_autocorr
        z = eps[24] if c is None else rho * c.z_daily + math.sqrt(1.0 - rho * rho) * eps[24]
        noon = float(epoch[12])
        season_k = float(_season_cos(noon, p.clearness_peak_doy))
        mean = p.clearness_mean + p.clearness_season_amplitude * season_k
        conc = mean * (1.0 - mean) / p.clearness_sd**2 - 1.0
        # the beta quantile (scipy.stats.beta.ppf) without the distribution object's overhead
        k_day = float(special.betaincinv(mean * conc, (1.0 - mean) * conc, special.ndtr(z)))
        y = _ou_filter(eps[25:49], self._phi_cloud, 1.0, None if c is None else c.y_hourly)
        spread = p.clearness_hourly_sd * 2.0 * math.sqrt(k_day * (1.0 - k_day))
        clearness = np.clip(k_day + spread * y, 0.0, 1.0)
        # wind: Weibull through a Gaussian copula, afternoon maximum
        yw = _ou_filter(eps[49:73], self._phi_wind, 1.0, None if c is None else c.y_wind)
        u = np.clip(special.ndtr(yw), 1e-12, 1.0 - 1e-12)
        wind = self._wind_scale * (-np.log1p(-u)) ** (1.0 / p.wind_weibull_k)
        wind *= 1.0 + p.wind_diurnal_frac * np.cos(2.0 * np.pi * (solar_h - 14.0) / 24.0)
        self._carry = _Carry(float(state[-1]), float(z), float(y[-1]), float(yw[-1]))
        # temperature
        g = p.temp_daily_clearness_gain
        amp = (
            p.temp_daily_amplitude_k
            * (1.0 + p.temp_daily_season_frac * float(_season_cos(noon, 172.0)))
            * ((1.0 - g) + g * k_day / mean)
        )
        temp = (
            p.temp_mean_c
            + p.temp_season_amplitude_k * season
            + anomaly
            + amp * np.cos(2.0 * np.pi * (solar_h - p.temp_peak_solar_hour) / 24.0)
        )
        return _Block(temp_c=temp, anomaly_k=anomaly, clearness=clearness, wind_m_per_s=wind)

    def _ensure(self, day: int) -> None:
        """Generate (in order) every day block up to and including ``day``."""
        while self._next_day <= day:
            d = self._next_day
            block = self._generate(d)
            knots = block.temp_c.tolist()
            if self._pending_list is not None and d - 1 >= self._first_kept:
                self._pending_list.append(knots[0])
                self._temp_lists[d - 1] = self._pending_list
            self._pending_list = knots
            if d >= self._first_kept:
                self._blocks[d] = block
            self._next_day = d + 1

    def _hours(self, t_s) -> np.ndarray:
        return np.asarray(t_s, dtype=np.float64) / _HOUR_S + self._offset_h

    def _interp(self, name: str, t: np.ndarray) -> np.ndarray:
        """Linear interpolation of the knots ``name`` at engine times ``t`` (1-D)."""
        if t.size == 0:
            return np.empty(0)
        if not np.all(np.isfinite(t)):
            raise ValueError("t_s must be finite")
        h = np.maximum(self._hours(t), 0.0)
        i = np.floor(h).astype(np.int64)
        f = h - i
        d_lo = int(i.min()) // 24
        d_hi = int(i.max()) // 24 + 1
        if d_lo < self._first_kept:
            raise ValueError(
                f"weather before engine time {self._kept_from_s():g} s was discarded "
                "(discard_before); query times must not go back"
            )
        self._ensure(d_hi)
        knots = np.concatenate([getattr(self._blocks[d], name) for d in range(d_lo, d_hi + 1)])
        j = i - 24 * d_lo
        return knots[j] * (1.0 - f) + knots[j + 1] * f

    def _kept_from_s(self) -> float:
        return (self._first_kept * 24.0 - self._offset_h) * _HOUR_S

    @staticmethod
    def _shape_out(t_s, values: np.ndarray):
        if np.ndim(t_s) == 0:
            return float(values[0])
        return values.reshape(np.shape(t_s))

    # ------------------------------------------------------------------ public API

    @property
    def cached_days(self) -> int:
        """Number of day blocks held in memory (see :meth:`discard_before`)."""
        return len(self._blocks)

    def temp_c(self, t_s):
        """Outdoor air temperature [degC] at engine time ``t_s`` [s].

        Parameters
        ----------
        t_s : float or ndarray of shape (n,)
            Seconds since the run's UTC start.

        Returns
        -------
        float or ndarray like ``t_s``
            Including every registered anomaly (:meth:`add_anomaly`).
        """
        if type(t_s) is float or type(t_s) is int or isinstance(t_s, float):
            # fast scalar path (SimPy processes call this once per event)
            h = t_s / _HOUR_S + self._offset_h
            if h < 0.0:
                h = 0.0
            i = int(h)
            d = i // 24
            knots = self._temp_lists.get(d)
            if knots is None:
                if d < self._first_kept:
                    raise ValueError(
                        f"weather before engine time {self._kept_from_s():g} s was discarded"
                    )
                self._ensure(d + 1)
                knots = self._temp_lists[d]
            k = i - 24 * d
            a = knots[k]
            f = h - i
            value = a * (1.0 - f) + knots[k + 1] * f
            if self._anomalies:
                value += float(self._anomaly_k(np.array([t_s], dtype=np.float64))[0])
            return value
        t = np.atleast_1d(np.asarray(t_s, dtype=np.float64)).ravel()
        value = self._interp("temp_c", t)
        if self._anomalies:
            value = value + self._anomaly_k(t)
        return self._shape_out(t_s, value)

    def _anomaly_k(self, t: np.ndarray) -> np.ndarray:
        """The registered anomalies combined (:func:`combine_anomalies`) at ``t`` [K]."""
        return combine_anomalies(
            [np.broadcast_to(np.asarray(fn(t), dtype=np.float64), t.shape) for fn in self._anomalies]
        )

    def synoptic_anomaly_k(self, t_s):
        """The generator's synoptic (OU) temperature anomaly ``X(t)`` [K] (0 for TMY3).

        Registered anomalies (:meth:`add_anomaly`) are not included: this is the latent
        weather state, returned as ground truth.
        """
        t = np.atleast_1d(np.asarray(t_s, dtype=np.float64)).ravel()
        return self._shape_out(t_s, self._interp("anomaly_k", t))

    def clearness_index(self, t_s):
        """Clear-sky index ``GHI / GHI_clear`` [-] at engine time ``t_s`` [s]."""
        t = np.atleast_1d(np.asarray(t_s, dtype=np.float64)).ravel()
        return self._shape_out(t_s, self._interp("clearness", t))

    def wind_m_per_s(self, t_s):
        """Wind speed at 10 m [m s-1] at engine time ``t_s`` [s], >= 0."""
        t = np.atleast_1d(np.asarray(t_s, dtype=np.float64)).ravel()
        return self._shape_out(t_s, np.maximum(self._interp("wind_m_per_s", t), 0.0))

    def ghi_w_per_m2(self, t_s, zenith_deg=None, clear_sky_w_per_m2=None):
        """Global horizontal irradiance [W m-2] = clear-sky index x clear-sky GHI.

        Parameters
        ----------
        t_s : float or ndarray of shape (n,)
            Seconds since the run's UTC start.
        zenith_deg : float or ndarray of shape (n,), optional
            Precomputed *apparent* solar zenith [deg] at ``t_s`` (column
            ``apparent_zenith`` of :func:`~twinforge.processes.solar.solar_geometry` for
            this site); computed when omitted.
        clear_sky_w_per_m2 : float or ndarray of shape (n,), optional
            Precomputed clear-sky GHI at ``t_s`` (:func:`clear_sky_ghi_w_per_m2` for this
            site and turbidity, e.g. cached across runs); computed when omitted.

        Returns
        -------
        float or ndarray like ``t_s``
            GHI [W m-2], >= 0, 0 when the sun is below the horizon.
        """
        t = np.atleast_1d(np.asarray(t_s, dtype=np.float64)).ravel()
        k = self._interp("clearness", t)
        if clear_sky_w_per_m2 is not None:
            cs = np.broadcast_to(np.asarray(clear_sky_w_per_m2, dtype=np.float64).ravel(), t.shape)
            return self._shape_out(t_s, np.maximum(k * cs, 0.0))
        epoch = self._start_epoch_s + t
        if zenith_deg is None:
            times = pd.to_datetime(np.round(epoch * 1e9).astype(np.int64), utc=True)
            zen = solar_geometry(times, self.latitude_deg, self.longitude_deg, self.altitude_m)[
                "apparent_zenith"
            ].to_numpy()
        else:
            zen = np.broadcast_to(np.asarray(zenith_deg, dtype=np.float64).ravel(), t.shape)
        dni_extra = np.asarray(pvlib.irradiance.get_extra_radiation(_day_of_year(epoch)))
        cs = clear_sky_ghi_w_per_m2(zen, dni_extra, self.altitude_m, self.params.linke_turbidity)
        return self._shape_out(t_s, np.maximum(k * cs, 0.0))

    def add_anomaly(self, fn: AnomalyFn) -> None:
        """Add a temperature offset ``fn(t_s) -> ndarray`` [K] to :meth:`temp_c`.

        ``fn`` receives engine times, ndarray of shape (n,), and returns offsets of the
        same shape (or a scalar). This is how heat waves and cold snaps act on the shared
        weather. Several registered offsets combine by :func:`combine_anomalies`: the
        largest warm offset plus the largest cold one at each time, never a sum of two warm
        (or two cold) ones.
        """
        if not callable(fn):
            raise TypeError(f"fn must be callable, got {type(fn).__name__}")
        self._anomalies.append(fn)

    def discard_before(self, t_s: float) -> None:
        """Drop cached day blocks that lie wholly before engine time ``t_s`` [s].

        Later queries (at or after ``t_s``) keep working and return the same values; the
        generator's state is carried, so memory stays flat over any horizon.
        """
        day = int(math.floor(max(0.0, float(t_s) / _HOUR_S + self._offset_h) / 24.0))
        if day <= self._first_kept:
            return
        self._first_kept = day
        for d in [d for d in self._blocks if d < day]:
            del self._blocks[d]
        for d in [d for d in self._temp_lists if d < day]:
            del self._temp_lists[d]
