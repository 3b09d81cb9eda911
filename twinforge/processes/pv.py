"""Rooftop photovoltaic system: AC power from global horizontal irradiance (PVWatts chain).

The chain, each step a published model as implemented by pvlib:

1. GHI -> beam (DNI) and diffuse (DHI) by the Erbs et al. (1982) diffuse-fraction
   correlation.
2. Plane-of-array irradiance by the Hay & Davies (1980) anisotropic sky model (with
   ground reflection ``albedo``); the beam is reduced by the Fresnel/absorption incidence
   angle modifier of De Soto et al. (2006) to give the effective irradiance ``E``.
3. Cell temperature by Faiman (2008): ``T_c = T_a + E_poa / (u0 + u1 v)``.
4. DC power by PVWatts (Dobos 2014):

   .. math::  P_{dc} = \\frac{E}{1000}\\, P_{dc0}\\, [1 + \\gamma (T_c - 25)]\\,(1 - L)

   with ``L`` the lumped system losses (soiling, wiring, mismatch, shading, ageing;
   14 % is PVWatts' default).
5. AC power by the PVWatts inverter model (part-load efficiency curve), clipped at the
   inverter's AC rating ``P_ac0 = P_dc0 / (DC/AC ratio)``.

References
----------
.. [1] D. G. Erbs, S. A. Klein and J. A. Duffie, "Estimation of the diffuse radiation
   fraction for hourly, daily and monthly-average global radiation", Solar Energy 28(4),
   293-302, 1982. doi:10.1016/0038-092X(82)90302-4
.. [2] J. E. Hay and J. A. Davies, "Calculations of the solar radiation incident on an
   inclined surface", Proc. First Canadian Solar Radiation Data Workshop, 59-72, 1980.
.. [3] W. De Soto, S. A. Klein and W. A. Beckman, "Improvement and validation of a model
   for photovoltaic array performance", Solar Energy 80(1), 78-88, 2006.
   doi:10.1016/j.solener.2005.06.010
.. [4] D. Faiman, "Assessing the outdoor operating temperature of photovoltaic modules",
   Progress in Photovoltaics 16(4), 307-315, 2008. doi:10.1002/pip.813
.. [5] A. P. Dobos, "PVWatts Version 5 Manual", NREL/TP-6A20-62641, 2014.
   doi:10.2172/1158421
.. [6] T. Huld, R. Mueller and A. Gambardella, "A new solar radiation database for
   estimating PV performance in Europe and Africa", Solar Energy 86(6), 1803-1815, 2012.
   doi:10.1016/j.solener.2012.03.006 (PVGIS: a south-facing, optimally tilted system near
   Paris yields about 1,000-1,100 kWh per kWp and year with 14 % losses).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pvlib
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["PVParams", "pv_ac_power_w"]


class PVParams(BaseModel):
    """A rooftop PV system (PVWatts parameters).

    Defaults: a 4 kWp crystalline-silicon array facing south at 35 deg (close to the
    optimal tilt near Paris), a temperature coefficient of -0.4 % K-1 typical of crystalline
    silicon (PVWatts v5: -0.47 % K-1 "standard", -0.35 % K-1 "premium" modules), and the
    PVWatts v5 inverter efficiency (96 %) and system losses (14 %) (Dobos 2014); DC/AC
    ratio 1.1 (PVWatts uses 1.2; small residential inverters are sized closer to 1).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    capacity_kwp: float = Field(4.0, ge=0.0, le=50.0, description="DC nameplate at STC [kWp]")
    tilt_deg: float = Field(35.0, ge=0.0, le=90.0, description="array tilt from horizontal [deg]")
    azimuth_deg: float = Field(
        180.0, ge=0.0, le=360.0, description="array azimuth, east of north (180 = south) [deg]"
    )
    gamma_pdc_per_k: float = Field(
        -0.004, ge=-0.01, le=0.0, description="temperature coefficient of DC power [K-1]"
    )
    inverter_efficiency: float = Field(
        0.96, ge=0.5, le=1.0, description="nominal inverter efficiency [-]"
    )
    dc_ac_ratio: float = Field(
        1.1, ge=0.8, le=2.0, description="DC nameplate / inverter AC rating [-]"
    )
    system_losses: float = Field(
        0.14, ge=0.0, le=0.5, description="lumped DC losses (soiling, wiring, mismatch...) [-]"
    )
    albedo: float = Field(0.2, ge=0.0, le=1.0, description="ground reflectance [-]")

    @property
    def pdc0_w(self) -> float:
        """DC nameplate power [W]."""
        return self.capacity_kwp * 1000.0

    @property
    def ac_rating_w(self) -> float:
        """Inverter AC rating ``P_dc0 / dc_ac_ratio`` [W]; AC output never exceeds it."""
        return self.pdc0_w / self.dc_ac_ratio


def _as_float_array(x, n: int, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64).ravel()
    if arr.size == 1 and n != 1:
        arr = np.full(n, arr[0])
    if arr.shape != (n,):
        raise ValueError(f"{name} must have one value per geometry row ({n}), got {arr.shape}")
    return arr


def pv_ac_power_w(
    geometry: pd.DataFrame,
    ghi_w_per_m2,
    temp_air_c,
    wind_m_per_s,
    params: PVParams,
) -> np.ndarray:
    """AC power of a PV system [W] (Erbs -> Hay-Davies -> Faiman -> PVWatts DC and inverter).

    Parameters
    ----------
    geometry : pandas.DataFrame of shape (n, 4)
        Output of :func:`~twinforge.processes.solar.solar_geometry` (a UTC
        ``DatetimeIndex`` and columns ``apparent_zenith``, ``zenith``, ``azimuth`` [deg],
        ``dni_extra`` [W m-2]).
    ghi_w_per_m2 : array_like of shape (n,)
        Global horizontal irradiance [W m-2].
    temp_air_c : array_like of shape (n,) or float
        Outdoor air temperature [degC].
    wind_m_per_s : array_like of shape (n,) or float
        Wind speed [m s-1].
    params : PVParams
        The system.

    Returns
    -------
    ndarray of shape (n,)
        AC power [W], in ``[0, params.ac_rating_w]``, 0 at night and when
        ``capacity_kwp == 0``; a row with a NaN input gives 0.

    Examples
    --------
    >>> from twinforge.processes.solar import solar_geometry
    >>> times = pd.date_range("2024-06-21 00:00", periods=2, freq="12h", tz="UTC")
    >>> geo = solar_geometry(times, 48.78, 2.29, 60.0)
    >>> p = pv_ac_power_w(geo, [0.0, 800.0], [15.0, 25.0], [2.0, 2.0], PVParams())
    >>> float(p[0]), bool(2000.0 < p[1] < PVParams().ac_rating_w)
    (0.0, True)
    """
    n = len(geometry)
    if not isinstance(geometry.index, pd.DatetimeIndex):
        raise ValueError("geometry must be indexed by time (the output of solar_geometry)")
    ghi = _as_float_array(ghi_w_per_m2, n, "ghi_w_per_m2")
    temp_air = _as_float_array(temp_air_c, n, "temp_air_c")
    wind = _as_float_array(wind_m_per_s, n, "wind_m_per_s")
    bad = ~(np.isfinite(ghi) & np.isfinite(temp_air) & np.isfinite(wind))
    ghi = np.where(bad, 0.0, np.maximum(ghi, 0.0))
    temp_air = np.where(bad, 25.0, temp_air)
    wind = np.where(bad, 0.0, np.maximum(wind, 0.0))
    if params.capacity_kwp == 0.0 or n == 0:
        return np.zeros(n)

    zenith = geometry["zenith"].to_numpy(np.float64)
    app_zenith = geometry["apparent_zenith"].to_numpy(np.float64)
    sun_azimuth = geometry["azimuth"].to_numpy(np.float64)
    dni_extra = geometry["dni_extra"].to_numpy(np.float64)

    with np.errstate(invalid="ignore", divide="ignore"):
        split = pvlib.irradiance.erbs(ghi, zenith, geometry.index.day_of_year.to_numpy())
        dni = np.nan_to_num(np.asarray(split["dni"], dtype=np.float64), nan=0.0)
        dhi = np.nan_to_num(np.asarray(split["dhi"], dtype=np.float64), nan=0.0)
        poa = pvlib.irradiance.get_total_irradiance(
            params.tilt_deg,
            params.azimuth_deg,
            app_zenith,
            sun_azimuth,
            dni,
            ghi,
            dhi,
            dni_extra=dni_extra,
            albedo=params.albedo,
            model="haydavies",
        )
        poa_global = np.nan_to_num(np.asarray(poa["poa_global"], dtype=np.float64), nan=0.0)
        poa_direct = np.nan_to_num(np.asarray(poa["poa_direct"], dtype=np.float64), nan=0.0)
        aoi = pvlib.irradiance.aoi(params.tilt_deg, params.azimuth_deg, app_zenith, sun_azimuth)
        iam = np.nan_to_num(np.asarray(pvlib.iam.physical(aoi), dtype=np.float64), nan=0.0)
    poa_global = np.maximum(poa_global, 0.0)
    poa_direct = np.clip(poa_direct, 0.0, poa_global)
    effective = np.maximum(poa_global - poa_direct * (1.0 - iam), 0.0)

    temp_cell = pvlib.temperature.faiman(poa_global, temp_air, wind)
    pdc = pvlib.pvsystem.pvwatts_dc(
        effective, temp_cell, params.pdc0_w, params.gamma_pdc_per_k
    ) * (1.0 - params.system_losses)
    pdc = np.maximum(np.asarray(pdc, dtype=np.float64), 0.0)
    pdc0_inverter = params.ac_rating_w / params.inverter_efficiency  # DC input at AC rating
    pac = pvlib.inverter.pvwatts(pdc, pdc0_inverter, eta_inv_nom=params.inverter_efficiency)
    pac = np.nan_to_num(np.asarray(pac, dtype=np.float64), nan=0.0)
    pac[bad] = 0.0
    return np.clip(pac, 0.0, params.ac_rating_w)
