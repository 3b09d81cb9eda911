"""The grid twin's optional commercial load and the PJM East preset."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import twinforge
from twinforge.campaign.runner import build_twin, plan_runs
from twinforge.campaign.spec import load_spec
from twinforge.core.engine import simulate
from twinforge.twins.grid import COMMERCIAL_CHANNEL, GRID_CHANNELS, GridTwin

PRESET = Path(twinforge.__file__).parent / "data" / "presets" / "pjm_east.toml"
COMMERCIAL = {"day_sd": 0.05, "classes": {"commercial": {
    "profile": "bdew_g25", "w_per_home": 1600.0, "cooling_w_per_k_per_home": 80.0, "heating_w_per_k_per_home": 5.0}}}


def run(spec, chunk_samples=None):
    twin = build_twin(spec, plan_runs(spec, spec.seed)[0])
    blocks = [r.samples for r in simulate(twin, spec.grid(), chunk_samples=chunk_samples or spec.chunk_samples)]
    df = pd.DataFrame({k: np.concatenate([b[k] for b in blocks]) for k in blocks[0]})
    df["time"] = pd.DatetimeIndex(df["time"]).tz_localize("UTC")
    return df, twin


def spec(commercial=None, start="2014-07-01", days=4, **grid):
    g = {"n_homes": 25, "tz": "America/New_York", "protection": {"fault_rate_per_year": 0.0},
         "calendar": {"country": "US"}, **grid}
    if commercial is not None:
        g["commercial"] = commercial
    return load_spec(None, twin="grid", runs=1, days=days, period="15min", seed=5, start=start, grid=g,
                     diversity=False)


@pytest.fixture(scope="module")
def pair():
    return run(spec()), run(spec(COMMERCIAL))


def test_off_writes_the_same_channels_and_values(pair):
    (off, twin_off), (on, twin_on) = pair
    assert twin_off.channels() == GRID_CHANNELS and "commercial_power_w" not in off
    assert COMMERCIAL_CHANNEL in twin_on.channels() and "commercial_power_w" in on
    # every channel but the feeder power is bit for bit the same: own random stream, supply point upstream
    for c in off.columns:
        if c != "feeder_power_w":
            pd.testing.assert_series_equal(off[c], on[c], check_exact=True)


def test_it_adds_exactly_its_power_to_the_feeder(pair):
    (off, _), (on, _) = pair
    np.testing.assert_allclose(on.feeder_power_w - off.feeder_power_w, on.commercial_power_w, rtol=1e-12, atol=1e-6)
    assert GridTwin.invariants(on) == [] and GridTwin.invariants(off) == []
    assert (on.commercial_power_w > 0).all()


def test_weekday_business_hours_and_heat(pair):
    (_, _), (on, _) = pair
    local = on.set_index("time").tz_convert("America/New_York")
    c = local.commercial_power_w
    # 2014-07-01/02 are working days, 4 July a holiday: its midday is below the working days'
    noon = c[(c.index.hour >= 11) & (c.index.hour < 14)]
    work = noon[noon.index.day.isin([1, 2])]
    hol = noon[noon.index.day == 4]
    assert work.min() > hol.max()
    assert c[c.index.hour == 12].mean() > 1.2 * c[c.index.hour == 3].mean()
    # the cooling part grows with the outdoor temperature (summer, hot afternoons)
    warm = run(spec(COMMERCIAL, **{"weather": {"temp_mean_c": 22.0}}))[0]
    assert warm.commercial_power_w.mean() > on.commercial_power_w.mean()


def test_deterministic_and_chunk_independent():
    s = spec(COMMERCIAL, days=2)
    a, _ = run(s)
    b, _ = run(s, chunk_samples=37)
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9, atol=1e-6)
    np.testing.assert_array_equal(a.commercial_power_w.to_numpy(), run(s)[0].commercial_power_w.to_numpy())


def test_pjm_east_preset_loads_and_runs():
    # a fixed seed (the preset has none: each run drew its own, and 20 homes in a cold January
    # day outweighed the non-residential load for about one seed in eight)
    p = load_spec(PRESET, days=1, start="2014-01-06", seed=1, grid={"n_homes": 200})
    assert p.twin == "grid" and p.diversity is None
    cfg = p.config
    assert cfg.tz == "America/New_York" and cfg.commercial is not None and cfg.calendar.country == "US"
    assert 39.0 < cfg.weather.latitude_deg < 41.0 and -76.0 < cfg.weather.longitude_deg < -74.0
    assert cfg.homes.cooling_share > 0.5
    df, _ = run(p)
    assert GridTwin.invariants(df) == []
    # the non-residential load is the larger part of the feeder, as in a region
    assert df.commercial_power_w.mean() > df.homes_power_w.mean()
