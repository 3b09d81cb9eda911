"""Tests of twinforge.processes.solar and twinforge.processes.weather."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pvlib
import pytest
from pydantic import ValidationError

from twinforge.processes.solar import solar_geometry
from twinforge.processes.weather import (
    DEFAULT_TMY3,
    Weather,
    WeatherParams,
    clear_sky_ghi_w_per_m2,
    ornstein_uhlenbeck,
)

DAY_S = 86_400.0
START = pd.Timestamp("2023-01-01", tz="UTC")  # a non-leap year
PARIS = (48.78, 2.29, 60.0)


def make_weather(seed: int = 0, start: pd.Timestamp = START, **kwargs) -> Weather:
    return Weather(WeatherParams(**kwargs), start, np.random.default_rng(seed))


def utc_times(t_s: np.ndarray, start: pd.Timestamp = START) -> pd.DatetimeIndex:
    return pd.to_datetime(start.value + np.round(t_s * 1e9).astype(np.int64), utc=True)


@pytest.fixture(scope="module")
def paris_year():
    """One synthetic year at 10-minute resolution: times, geometry and weather."""
    w = make_weather(seed=11)
    t = np.arange(0.0, 365 * DAY_S, 600.0)
    times = utc_times(t)
    geo = solar_geometry(times, w.latitude_deg, w.longitude_deg, w.altitude_m)
    return {
        "weather": w,
        "t": t,
        "times": times,
        "geo": geo,
        "temp": w.temp_c(t),
        "ghi": w.ghi_w_per_m2(t, geo["apparent_zenith"].to_numpy()),
    }


# --------------------------------------------------------------------------- solar geometry


def test_solar_geometry_matches_full_spa():
    rng = np.random.default_rng(3)
    offsets = np.sort(rng.uniform(0, 2 * 365 * DAY_S, 20_000))
    times = utc_times(offsets, pd.Timestamp("2023-06-01", tz="UTC"))
    for lat, lon, alt in (PARIS, (-33.9, 151.2, 10.0), (69.6, 18.9, 0.0)):
        fast = solar_geometry(times, lat, lon, alt)
        exact = pvlib.solarposition.get_solarposition(
            times, lat, lon, altitude=alt, method="nrel_numpy"
        )
        for col in ("apparent_zenith", "zenith"):
            np.testing.assert_allclose(fast[col], exact[col], atol=1e-5, rtol=0)
        d_az = (fast["azimuth"] - exact["azimuth"] + 180.0) % 360.0 - 180.0
        assert np.abs(d_az).max() < 1e-4
    assert list(fast.columns) == ["apparent_zenith", "zenith", "azimuth", "dni_extra"]
    # Duffie & Beckman's approximation of the Earth-Sun distance factor
    doy = times.day_of_year.to_numpy()
    expected_extra = 1366.1 * (1.0 + 0.033 * np.cos(2.0 * np.pi * doy / 365.0))
    np.testing.assert_allclose(fast["dni_extra"], expected_extra, rtol=3e-3)


def test_solar_geometry_noon_and_midnight_reference_values():
    # Paris, summer solstice: solar noon near 11:51 UTC, zenith ~ 48.78 - 23.44 = 25.3 deg
    times = pd.DatetimeIndex(["2024-06-21 11:51", "2024-06-21 23:51"], tz="UTC")
    geo = solar_geometry(times, *PARIS)
    assert geo["zenith"].iloc[0] == pytest.approx(25.35, abs=0.1)
    assert geo["azimuth"].iloc[0] == pytest.approx(180.0, abs=2.0)
    assert geo["zenith"].iloc[1] == pytest.approx(180 - 48.78 - 23.44, abs=0.2)
    assert 1310 < geo["dni_extra"].iloc[0] < 1330  # aphelion


def test_solar_geometry_input_forms():
    naive = pd.date_range("2024-03-01", periods=5, freq="1h")
    aware = naive.tz_localize("UTC").tz_convert("Europe/Paris")
    a = solar_geometry(naive, *PARIS)
    b = solar_geometry(aware, *PARIS)
    np.testing.assert_array_equal(a.to_numpy(), b.to_numpy())
    assert str(a.index.tz) == "UTC"
    empty = solar_geometry(pd.DatetimeIndex([], tz="UTC"), *PARIS)
    assert empty.shape == (0, 4)


def test_solar_geometry_year_at_one_minute_is_fast():
    times = pd.date_range("2024-01-01", periods=525_600, freq="1min", tz="UTC")
    t0 = time.perf_counter()
    geo = solar_geometry(times, *PARIS)
    elapsed = time.perf_counter() - t0
    assert elapsed < 5.0, f"solar_geometry took {elapsed:.2f} s for a year at 1 min"
    assert not geo.isna().any().any()


# --------------------------------------------------------------------------- pure functions


def test_ornstein_uhlenbeck_law():
    tau_s, dt_s, sigma = 5 * DAY_S, 6 * 3600.0, 2.0
    x = ornstein_uhlenbeck(200_000, dt_s, tau_s, sigma, np.random.default_rng(5))
    assert x.std() == pytest.approx(sigma, rel=0.05)
    assert abs(x.mean()) < 0.1
    lag = 4  # one day
    r = np.corrcoef(x[:-lag], x[lag:])[0, 1]
    assert r == pytest.approx(np.exp(-lag * dt_s / tau_s), abs=0.01)
    # same seed, same path; an explicit start value is honoured
    again = ornstein_uhlenbeck(200_000, dt_s, tau_s, sigma, np.random.default_rng(5))
    np.testing.assert_array_equal(x, again)
    y = ornstein_uhlenbeck(3, dt_s, 1e-9, 1.0, np.random.default_rng(0), x0=50.0)
    assert np.all(np.abs(y) < 10.0)  # forgets x0 at once when tau << dt
    with pytest.raises(ValueError, match="tau_s"):
        ornstein_uhlenbeck(3, dt_s, 0.0, 1.0, np.random.default_rng(0))


def test_clear_sky_ghi_reference_values():
    zen = np.array([0.0, 30.0, 60.0, 89.0, 90.5, 120.0, np.nan])
    ghi = clear_sky_ghi_w_per_m2(zen, 1361.0, 0.0, 3.0)
    assert 950 < ghi[0] < 1100
    assert ghi[0] > ghi[1] > ghi[2] > ghi[3] >= 0.0
    np.testing.assert_array_equal(ghi[4:], 0.0)
    assert clear_sky_ghi_w_per_m2(np.array([30.0]), 1361.0, 0.0, 2.0)[0] > ghi[1]  # clearer


# --------------------------------------------------------------------------- temperature


def test_seasonal_monthly_means_plausible_for_paris():
    w = make_weather(seed=1)
    t = np.arange(0.0, 3 * 365 * DAY_S, 3600.0)
    temp = pd.Series(w.temp_c(t), index=utc_times(t))
    by_month = temp.groupby(temp.index.month).mean()
    assert 2.0 <= by_month[1] <= 8.0
    assert 16.0 <= by_month[7] <= 23.0
    assert by_month.idxmax() in (7, 8)
    assert by_month.idxmin() in (12, 1, 2)
    assert temp.mean() == pytest.approx(12.0, abs=1.0)


def test_daily_cycle_peaks_mid_afternoon_local(paris_year):
    temp = pd.Series(paris_year["temp"], index=paris_year["times"]).tz_convert("Europe/Paris")
    profile = temp.groupby(temp.index.hour).mean()
    assert 13 <= profile.idxmax() <= 17
    assert profile.idxmin() <= 8
    assert profile.max() - profile.min() > 4.0
    # daily range larger in summer than in winter
    days = temp.resample("D")
    daily_range = days.max() - days.min()
    month = daily_range.index.month
    assert daily_range[month == 7].mean() > daily_range[month == 1].mean() + 2.0


def test_daily_range_larger_on_clear_days(paris_year):
    w, t = paris_year["weather"], paris_year["t"]
    temp = pd.Series(paris_year["temp"], index=paris_year["times"])
    k = pd.Series(w.clearness_index(t), index=paris_year["times"]).resample("D").mean()
    daily_range = temp.resample("D").max() - temp.resample("D").min()
    assert np.corrcoef(k, daily_range)[0, 1] > 0.2


@pytest.mark.parametrize("tau_days", [3.0, 8.0])
def test_synoptic_anomaly_autocorrelation_and_spread(tau_days):
    w = make_weather(seed=2, anomaly_tau_days=tau_days, anomaly_sigma_k=3.0)
    t_day = np.arange(0.0, 20 * 365 * DAY_S, DAY_S) + 12 * 3600.0
    x = w.synoptic_anomaly_k(t_day)
    r1 = np.corrcoef(x[:-1], x[1:])[0, 1]
    assert r1 == pytest.approx(np.exp(-1.0 / tau_days), abs=0.03)
    assert x.std() == pytest.approx(3.0, rel=0.1)


@pytest.mark.parametrize("frac", [0.3, 0.6])
def test_seasonal_anomaly_spread_follows_the_season(frac):
    """The anomaly's SD is sigma (1 - f cos(2 pi (d - d_pk) / 365.25)): widest in winter,
    narrowest in summer, sigma on average; its day-to-day persistence is unchanged."""
    sigma, tau, peak = 4.0, 3.0, 200.0
    w = make_weather(seed=5, anomaly_sigma_k=sigma, anomaly_tau_days=tau,
                     anomaly_sigma_season_frac=frac, temp_peak_doy=peak)
    t = np.arange(0.0, 40 * 365 * DAY_S, DAY_S) + 12 * 3600.0
    x = w.synoptic_anomaly_k(t)
    d = np.mod(utc_times(t).day_of_year.to_numpy() - peak + 182.0, 365.25) - 182.0  # days from the peak
    sd_model = sigma * (1.0 - frac * np.cos(2.0 * np.pi * d / 365.25))
    summer, winter = np.abs(d) <= 30.0, np.abs(d) >= 152.0
    for sel in (summer, winter):
        assert x[sel].std() == pytest.approx(np.sqrt(np.mean(sd_model[sel] ** 2)), rel=0.1)
    assert x[winter].std() / x[summer].std() == pytest.approx((1 + frac) / (1 - frac), rel=0.2)
    z = x / sd_model  # the unit process behind it
    assert np.corrcoef(z[:-1], z[1:])[0, 1] == pytest.approx(np.exp(-1.0 / tau), abs=0.03)
    assert z.std() == pytest.approx(1.0, rel=0.1)
    # the default (f = 0) keeps one spread all year
    x0 = make_weather(seed=5, anomaly_sigma_k=sigma, anomaly_tau_days=tau).synoptic_anomaly_k(t)
    assert x0[winter].std() / x0[summer].std() == pytest.approx(1.0, abs=0.15)


def test_temp_scalar_path_equals_vector_path():
    w = make_weather(seed=4)
    t = np.random.default_rng(0).uniform(0, 40 * DAY_S, 500)
    vec = w.temp_c(t)
    scal = np.array([w.temp_c(float(x)) for x in t])
    np.testing.assert_array_equal(vec, scal)
    assert isinstance(w.temp_c(10.0), float)
    assert isinstance(w.temp_c(10), float)
    assert isinstance(w.temp_c(np.float64(10.0)), float)
    assert w.temp_c(t.reshape(20, 25)).shape == (20, 25)


# --------------------------------------------------------------------------- irradiance, wind


def test_ghi_zero_at_night_and_below_clear_sky(paris_year):
    geo, ghi = paris_year["geo"], paris_year["ghi"]
    zen = geo["apparent_zenith"].to_numpy()
    night = zen >= 90.0
    assert night.mean() > 0.4
    np.testing.assert_array_equal(ghi[night], 0.0)
    clear = clear_sky_ghi_w_per_m2(zen, geo["dni_extra"].to_numpy(), PARIS[2], 3.0)
    assert np.all(ghi <= clear + 1e-9)
    assert np.all(ghi >= 0.0) and not np.isnan(ghi).any()
    day = zen < 80.0
    assert (ghi[day] > 0).mean() > 0.95
    # overcast and clear days both occur
    daily = pd.Series(ghi, index=paris_year["times"]).resample("D").sum()
    daily_clear = pd.Series(clear, index=paris_year["times"]).resample("D").sum()
    ratio = daily / daily_clear
    assert ratio.min() < 0.3 and ratio.max() > 0.85


def test_ghi_with_and_without_precomputed_zenith_agree(paris_year):
    w, t, ghi = paris_year["weather"], paris_year["t"], paris_year["ghi"]
    sl = slice(10_000, 12_000)
    np.testing.assert_allclose(w.ghi_w_per_m2(t[sl]), ghi[sl], rtol=1e-9, atol=1e-9)


def test_annual_insolation_in_published_range_for_paris(paris_year):
    annual_kwh_per_m2 = paris_year["ghi"].sum() * 600.0 / 3.6e6
    assert 1100.0 <= annual_kwh_per_m2 <= 1300.0
    # more sun in summer than in winter, by a wide margin
    monthly = pd.Series(paris_year["ghi"], index=paris_year["times"]).resample("MS").mean()
    assert monthly.iloc[5] > 4 * monthly.iloc[11]


def test_wind_is_positive_with_the_configured_mean():
    w = make_weather(seed=6, wind_mean_m_per_s=4.0)
    v = w.wind_m_per_s(np.arange(0.0, 2 * 365 * DAY_S, 3600.0))
    assert np.all(v >= 0.0)
    assert v.mean() == pytest.approx(4.0, rel=0.15)
    assert w.wind_m_per_s(100.0) >= 0.0
    calm = make_weather(seed=6, wind_mean_m_per_s=0.0)
    assert np.all(calm.wind_m_per_s(np.arange(0.0, DAY_S, 600.0)) == 0.0)


# --------------------------------------------------------------------------- reproducibility


def _all_channels(w: Weather, t: np.ndarray) -> np.ndarray:
    return np.stack(
        [w.temp_c(t), w.ghi_w_per_m2(t), w.wind_m_per_s(t), w.clearness_index(t)], axis=1
    )


@pytest.mark.parametrize("kwargs", [{}, {"anomaly_sigma_season_frac": 0.4}])
def test_values_do_not_depend_on_query_order_or_chunking(kwargs):
    start = pd.Timestamp("2024-03-30 17:23", tz="UTC")  # not at midnight, across DST
    t = np.arange(0.0, 20 * DAY_S, 300.0) + 7.5
    reference = _all_channels(make_weather(seed=8, start=start, **kwargs), t)

    w = make_weather(seed=8, start=start, **kwargs)
    rng = np.random.default_rng(0)
    cuts = np.sort(rng.choice(np.arange(1, len(t)), 30, replace=False))
    pieces = np.split(np.arange(len(t)), cuts)
    got = np.empty_like(reference)
    for idx in rng.permutation(len(pieces)):  # late chunks first
        got[pieces[idx]] = _all_channels(w, t[pieces[idx]])
    np.testing.assert_array_equal(got, reference)

    # scalar temperature look-ups first, far in the future, then in order
    w = make_weather(seed=8, start=start, **kwargs)
    first = w.temp_c(float(t[-1]))
    assert first == reference[-1, 0]
    np.testing.assert_array_equal(_all_channels(w, t[::-1])[::-1], reference)


def test_same_seed_same_values_other_seed_differs():
    t = np.arange(0.0, 10 * DAY_S, 900.0)
    a = _all_channels(make_weather(seed=21), t)
    b = _all_channels(make_weather(seed=21), t)
    c = _all_channels(make_weather(seed=22), t)
    np.testing.assert_array_equal(a, b)
    for channel in (0, 2, 3):  # ghi is 0 at night in both
        assert not np.allclose(a[:, channel], c[:, channel])
    assert np.abs(a[:, 1] - c[:, 1]).max() > 50.0


def test_no_global_random_state_touched():
    np.random.seed(0)
    before = np.random.get_state()[1].copy()
    make_weather(seed=1).temp_c(np.arange(0.0, 5 * DAY_S, 3600.0))
    np.testing.assert_array_equal(np.random.get_state()[1], before)


def test_discard_before_keeps_memory_flat_and_values_identical():
    t = np.arange(0.0, 120 * DAY_S, 1800.0)
    reference = _all_channels(make_weather(seed=9), t)
    w = make_weather(seed=9)
    out = np.empty_like(reference)
    step = int(DAY_S / 1800.0)
    for i0 in range(0, len(t), step):
        out[i0 : i0 + step] = _all_channels(w, t[i0 : i0 + step])
        w.discard_before(t[i0])
        assert w.cached_days <= 3
    np.testing.assert_array_equal(out, reference)
    with pytest.raises(ValueError, match="discard"):
        w.temp_c(np.array([0.0]))
    with pytest.raises(ValueError, match="discard"):
        w.temp_c(0.0)
    # discarding ahead of generation: the skipped days are still drawn in order
    w = make_weather(seed=9)
    w.discard_before(100 * DAY_S)
    assert w.cached_days == 0
    late = t >= 100 * DAY_S
    np.testing.assert_array_equal(_all_channels(w, t[late]), reference[late])


# --------------------------------------------------------------------------- anomalies


def test_add_anomaly_shifts_temperature_only():
    t = np.arange(0.0, 30 * DAY_S, 3600.0)
    base = make_weather(seed=12)
    hot = make_weather(seed=12)

    def heat_wave(ts):
        return np.where((ts >= 10 * DAY_S) & (ts < 15 * DAY_S), 8.0, 0.0)

    hot.add_anomaly(heat_wave)
    hot.add_anomaly(lambda ts: 0.5)  # a scalar offset is broadcast
    hot.add_anomaly(lambda ts: -2.0)  # a cold offset
    diff = hot.temp_c(t) - base.temp_c(t)
    in_wave = (t >= 10 * DAY_S) & (t < 15 * DAY_S)
    # warm offsets combine by their maximum (not 8.5), a cold one offsets them
    np.testing.assert_allclose(diff[in_wave], 8.0 - 2.0, atol=1e-9)
    np.testing.assert_allclose(diff[~in_wave], 0.5 - 2.0, atol=1e-9)
    assert hot.temp_c(12 * DAY_S) == pytest.approx(base.temp_c(12 * DAY_S) + 6.0, abs=1e-9)
    np.testing.assert_array_equal(hot.ghi_w_per_m2(t), base.ghi_w_per_m2(t))
    np.testing.assert_array_equal(hot.synoptic_anomaly_k(t), base.synoptic_anomaly_k(t))
    with pytest.raises(TypeError, match="callable"):
        hot.add_anomaly(3.0)


# --------------------------------------------------------------------------- TMY3 source


def test_tmy3_source_reads_the_bundled_file():
    data, meta = pvlib.iotools.read_tmy3(DEFAULT_TMY3, map_variables=True)
    w = Weather(WeatherParams(source="tmy3"), START, np.random.default_rng(0))
    assert (w.latitude_deg, w.longitude_deg, w.altitude_m) == (
        meta["latitude"],
        meta["longitude"],
        meta["altitude"],
    )
    # row i is stamped i + 1 h after 1 Jan 00:00 local standard time (UTC-5)
    n = 8760 - 5
    t = (np.arange(n) + 1.0 - meta["TZ"]) * 3600.0
    np.testing.assert_allclose(w.temp_c(t), data["temp_air"].to_numpy()[:n], atol=1e-6)
    np.testing.assert_allclose(w.wind_m_per_s(t), data["wind_speed"].to_numpy()[:n], atol=1e-6)
    # the year wraps: 2024 (leap) January = 2023 January
    jan = t[: 24 * 31 - 6]
    np.testing.assert_allclose(w.temp_c(jan + 365 * DAY_S), w.temp_c(jan), atol=1e-6)
    # hourly irradiation is kept: annual total and hour-by-hour agreement
    tt = np.arange(0.0, 365 * DAY_S, 300.0)
    ghi = w.ghi_w_per_m2(tt)
    assert ghi.sum() * 300.0 / 3.6e6 == pytest.approx(data["ghi"].sum() / 1000.0, rel=0.02)
    hourly = ghi.reshape(-1, 12).mean(axis=1)[5:]
    assert np.corrcoef(hourly, data["ghi"].to_numpy()[:n])[0, 1] > 0.98
    geo = solar_geometry(utc_times(tt), w.latitude_deg, w.longitude_deg, w.altitude_m)
    np.testing.assert_array_equal(ghi[geo["apparent_zenith"].to_numpy() >= 90.0], 0.0)


def test_tmy3_ignores_site_params_and_accepts_a_path():
    w = Weather(
        WeatherParams(source="tmy3", tmy3_path=DEFAULT_TMY3, latitude_deg=10.0),
        START,
        np.random.default_rng(0),
    )
    assert w.latitude_deg == pytest.approx(36.1)
    assert np.all(w.synoptic_anomaly_k(np.arange(0.0, DAY_S, 3600.0)) == 0.0)


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("latitude_deg", 95.0),
        ("longitude_deg", -181.0),
        ("anomaly_tau_days", 0.0),
        ("anomaly_sigma_k", -1.0),
        ("anomaly_sigma_season_frac", 1.0),
        ("anomaly_sigma_season_frac", -0.1),
        ("clearness_mean", 1.2),
        ("source", "era5"),
        ("wind_mean_m_per_s", -2.0),
    ],
)
def test_invalid_params_name_the_field(field, value):
    with pytest.raises(ValidationError, match=field):
        WeatherParams(**{field: value})


def test_params_forbid_unknown_fields_and_are_frozen():
    with pytest.raises(ValidationError, match="temp_mean"):
        WeatherParams(temp_mean=12.0)
    params = WeatherParams()
    with pytest.raises(ValidationError):
        params.temp_mean_c = 20.0  # type: ignore[misc]
    assert params.model_copy(update={"temp_mean_c": 20.0}).temp_mean_c == 20.0


def test_infeasible_clearness_distribution_is_rejected():
    with pytest.raises(ValidationError, match="clearness_sd"):
        WeatherParams(clearness_mean=0.9, clearness_season_amplitude=0.05, clearness_sd=0.3)
    with pytest.raises(ValidationError, match="clearness_season_amplitude"):
        WeatherParams(clearness_mean=0.8, clearness_season_amplitude=0.25)


def test_weather_requires_a_generator():
    with pytest.raises(TypeError, match="Generator"):
        Weather(WeatherParams(), START, 42)  # type: ignore[arg-type]


def test_fixed_weather_seed_shares_one_realisation_across_runs():
    start = pd.Timestamp("2024-01-01", tz="UTC")
    t = np.arange(0.0, 20 * 86_400.0, 600.0)
    shared = WeatherParams(seed=42)
    a = Weather(shared, start, np.random.default_rng(1))
    b = Weather(shared, start, np.random.default_rng(2))
    np.testing.assert_array_equal(a.temp_c(t), b.temp_c(t))
    np.testing.assert_array_equal(a.ghi_w_per_m2(t), b.ghi_w_per_m2(t))
    c = Weather(WeatherParams(seed=43), start, np.random.default_rng(1))
    own = Weather(WeatherParams(), start, np.random.default_rng(1))
    # another seed, or the run's own stream, is another realisation (degrees apart some days)
    assert np.abs(c.temp_c(t) - a.temp_c(t)).max() > 1.0
    assert np.abs(own.temp_c(t) - a.temp_c(t)).max() > 1.0
    with pytest.raises(ValidationError):
        WeatherParams(seed=-1)
