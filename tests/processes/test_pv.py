"""Tests of twinforge.processes.pv."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pvlib
import pytest
from pydantic import ValidationError

from twinforge.processes.pv import PVParams, pv_ac_power_w
from twinforge.processes.solar import solar_geometry
from twinforge.processes.weather import Weather, WeatherParams, clear_sky_ghi_w_per_m2

DAY_S = 86_400.0
STEP_S = 600.0
START = pd.Timestamp("2023-01-01", tz="UTC")
PARIS = (48.78, 2.29, 60.0)


@pytest.fixture(scope="module")
def year():
    """A synthetic Paris year at 10-minute resolution."""
    w = Weather(WeatherParams(), START, np.random.default_rng(11))
    t = np.arange(0.0, 365 * DAY_S, STEP_S)
    times = pd.to_datetime(START.value + np.round(t * 1e9).astype(np.int64), utc=True)
    geo = solar_geometry(times, w.latitude_deg, w.longitude_deg, w.altitude_m)
    return {
        "geo": geo,
        "ghi": w.ghi_w_per_m2(t, geo["apparent_zenith"].to_numpy()),
        "temp": w.temp_c(t),
        "wind": w.wind_m_per_s(t),
    }


def annual_kwh(power_w: np.ndarray) -> float:
    return float(power_w.sum() * STEP_S / 3.6e6)


def power(year, **params) -> np.ndarray:
    return pv_ac_power_w(year["geo"], year["ghi"], year["temp"], year["wind"], PVParams(**params))


def test_zero_at_night_and_finite(year):
    p = power(year)
    night = year["geo"]["zenith"].to_numpy() > 90.0
    np.testing.assert_array_equal(p[night], 0.0)
    assert np.isfinite(p).all() and (p >= 0.0).all()
    assert p.max() > 2000.0  # a 4 kWp system does produce


def test_zero_capacity_gives_zero(year):
    p = power(year, capacity_kwp=0.0)
    assert p.shape == year["ghi"].shape
    np.testing.assert_array_equal(p, 0.0)


def test_never_above_ac_rating_and_clips_when_oversized():
    # cold, clear spring days on an oversized array: the inverter must clip
    times = pd.date_range("2024-04-01", periods=14 * 144, freq="10min", tz="UTC")
    geo = solar_geometry(times, *PARIS)
    clear = clear_sky_ghi_w_per_m2(
        geo["apparent_zenith"].to_numpy(), geo["dni_extra"].to_numpy(), PARIS[2], 2.5
    )
    params = PVParams(capacity_kwp=5.0, dc_ac_ratio=1.6, system_losses=0.05)
    p = pv_ac_power_w(geo, clear, 0.0, 5.0, params)
    assert params.ac_rating_w == pytest.approx(5000.0 / 1.6)
    assert p.max() <= params.ac_rating_w
    assert np.isclose(p, params.ac_rating_w).sum() > 50  # clipped for hours each day


def test_annual_yield_in_pvgis_range_for_paris(year):
    # PVGIS (Huld et al. 2012) gives about 1,000-1,100 kWh/kWp for an optimally tilted,
    # south-facing system near Paris with 14 % losses.
    specific_yield = annual_kwh(power(year, capacity_kwp=1.0))
    assert 900.0 <= specific_yield <= 1150.0
    # performance ratio of a healthy system: 0.7-0.9 of the in-plane irradiation
    assert 0.6 < specific_yield / annual_kwh(year["ghi"]) < 1.0


def test_yield_scales_with_capacity(year):
    one = annual_kwh(power(year, capacity_kwp=1.0))
    four = annual_kwh(power(year, capacity_kwp=4.0))
    assert four == pytest.approx(4.0 * one, rel=1e-9)


def test_optimal_tilt_beats_vertical_and_horizontal(year):
    optimal = annual_kwh(power(year, capacity_kwp=1.0, tilt_deg=35.0))
    vertical = annual_kwh(power(year, capacity_kwp=1.0, tilt_deg=90.0))
    flat = annual_kwh(power(year, capacity_kwp=1.0, tilt_deg=0.0))
    north = annual_kwh(power(year, capacity_kwp=1.0, tilt_deg=35.0, azimuth_deg=0.0))
    assert optimal > 1.2 * vertical
    assert optimal > flat
    assert north < 0.7 * optimal


def test_hotter_gives_less_power(year):
    geo, ghi = year["geo"], year["ghi"]
    params = PVParams(dc_ac_ratio=0.8)  # inverter larger than the array: no clipping
    cool = pv_ac_power_w(geo, ghi, 5.0, 2.0, params)
    hot = pv_ac_power_w(geo, ghi, 35.0, 2.0, params)
    producing = cool > 50.0
    assert np.all(hot[producing] < cool[producing])
    # about |gamma| x 30 K = 12 % less DC power
    assert annual_kwh(hot) / annual_kwh(cool) == pytest.approx(1 - 0.004 * 30, abs=0.02)
    windy = pv_ac_power_w(geo, ghi, 35.0, 10.0, params)
    assert annual_kwh(windy) > annual_kwh(hot)  # wind cools the modules


def test_horizontal_reference_value():
    # On a horizontal plane the in-plane irradiance is GHI itself; with gamma = 0 the DC
    # power is (GHI - beam x (1 - IAM)) / 1000 x Pdc0 x (1 - losses).
    times = pd.DatetimeIndex(["2024-06-21 11:51"], tz="UTC")
    geo = solar_geometry(times, *PARIS)
    ghi = 800.0
    params = PVParams(capacity_kwp=2.0, tilt_deg=0.0, gamma_pdc_per_k=0.0, dc_ac_ratio=0.8)
    split = pvlib.irradiance.erbs(ghi, geo["zenith"].to_numpy(), times.day_of_year.to_numpy())
    beam = float(split["dni"][0]) * np.cos(np.radians(geo["apparent_zenith"].iloc[0]))
    iam = float(pvlib.iam.physical(geo["apparent_zenith"].iloc[0]))
    pdc = (ghi - beam * (1 - iam)) / 1000.0 * 2000.0 * (1 - 0.14)
    zeta = pdc / (2500.0 / 0.96)
    eta = 0.96 / 0.9637 * (-0.0162 * zeta - 0.0059 / zeta + 0.9858)
    p = pv_ac_power_w(geo, [ghi], 20.0, 1.0, params)
    assert p[0] == pytest.approx(eta * pdc, rel=1e-3)
    assert 1200.0 < p[0] < 1400.0


def test_nan_inputs_give_zero_not_nan(year):
    geo = year["geo"].iloc[:2000]
    ghi = year["ghi"][:2000].copy()
    temp = year["temp"][:2000].copy()
    ghi[100:200] = np.nan
    temp[300:310] = np.nan
    p = pv_ac_power_w(geo, ghi, temp, year["wind"][:2000], PVParams())
    assert np.isfinite(p).all()
    np.testing.assert_array_equal(p[100:200], 0.0)
    np.testing.assert_array_equal(p[300:310], 0.0)


def test_input_checks(year):
    geo = year["geo"].iloc[:10]
    with pytest.raises(ValueError, match="ghi_w_per_m2"):
        pv_ac_power_w(geo, np.ones(9), 20.0, 1.0, PVParams())
    with pytest.raises(ValueError, match="indexed by time"):
        pv_ac_power_w(geo.reset_index(drop=True), np.ones(10), 20.0, 1.0, PVParams())
    series = pd.Series(year["ghi"][:10], index=geo.index)
    np.testing.assert_array_equal(
        pv_ac_power_w(geo, series, 20.0, 1.0, PVParams()),
        pv_ac_power_w(geo, series.to_numpy(), np.full(10, 20.0), np.ones(10), PVParams()),
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("capacity_kwp", 60.0),
        ("capacity_kwp", -1.0),
        ("tilt_deg", 95.0),
        ("azimuth_deg", 400.0),
        ("gamma_pdc_per_k", 0.01),
        ("inverter_efficiency", 1.2),
        ("dc_ac_ratio", 0.5),
        ("system_losses", 0.6),
        ("albedo", -0.1),
    ],
)
def test_invalid_params_name_the_field(field, value):
    with pytest.raises(ValidationError, match=field):
        PVParams(**{field: value})


def test_params_forbid_unknown_fields():
    with pytest.raises(ValidationError, match="capacity_kw"):
        PVParams(capacity_kw=3.0)
