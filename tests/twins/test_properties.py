"""Property-based tests over the configuration space: any valid configuration runs and
every sample satisfies the twin's physical invariants."""

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twinforge.campaign.runner import build_twin, plan_runs
from twinforge.campaign.spec import GenerateSpec
from twinforge.core.engine import simulate
from twinforge.twins.grid import GridTwin
from twinforge.twins.home import HomeTwin


def frame(spec):
    twin = build_twin(spec, plan_runs(spec, spec.seed)[0])
    blocks = [r.samples for r in simulate(twin, spec.grid())]
    return pd.DataFrame({k: np.concatenate([b[k] for b in blocks]) for k in blocks[0]}), twin


@st.composite
def envelopes(draw):
    """An envelope whose losses can carry its solar gain.

    The 1R1C envelope has no window-opening ventilation, so the indoor temperature is bounded
    only where the peak solar gain (1000 W m-2 on the aperture) raises the steady state at most
    20 K above outdoors (the default house: 3 m2 / 180 W K-1, 17 K). A 19 m2 aperture on a
    30 m2 house with UA = 40 W K-1 (a glasshouse) reaches 90 degC in a day of April sun.
    """
    ua = draw(st.floats(40, 1500))
    return {
        "floor_area_m2": draw(st.floats(30, 400)),
        "ua_w_per_k": ua,
        "solar_aperture_m2": draw(st.floats(0, min(20.0, ua * 20.0 / 1000.0))),
        "temp_init_c": draw(st.floats(5, 30)),
    }


home_configs = st.fixed_dictionaries({
    "envelope": envelopes(),
    "hvac": st.fixed_dictionaries({
        "heating": st.sampled_from(["heat_pump", "resistive", "gas", "none"]),
        "heating_capacity_w": st.floats(0, 20_000),
        "cooling": st.booleans(),
        "deadband_k": st.floats(0.2, 3.0),
    }),
    "battery": st.fixed_dictionaries({
        "capacity_kwh": st.one_of(st.just(0.0), st.floats(0.01, 30)),  # 0: none (BatteryParams)
        "power_kw": st.floats(0.5, 10),
        "eta_charge": st.floats(0.7, 1.0),
        "eta_discharge": st.floats(0.7, 1.0),
    }),
    "pv": st.fixed_dictionaries({"capacity_kwp": st.floats(0, 8), "tilt_deg": st.floats(0, 90)}),
    "occupancy": st.fixed_dictionaries({"n_occupants": st.integers(1, 6)}),
})


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    home=home_configs,
    period=st.sampled_from(["1min", "5min", "15min", "1h"]),
    start=st.sampled_from(["2024-01-15", "2024-04-01", "2024-07-20", "2024-10-27"]),
    seed=st.integers(0, 2**32),
)
def test_any_valid_home_runs_and_keeps_its_invariants(home, period, start, seed):
    spec = GenerateSpec.from_data({
        "runs": 1, "days": 1, "period": period, "start": start, "seed": seed, "home": home, "diversity": False,
    })
    df, twin = frame(spec)
    assert len(df) == spec.grid().n_steps
    assert HomeTwin.invariants(df) == []
    b = twin.config.battery
    if b.capacity_kwh > 0:
        assert df.battery_soc.between(b.soc_min - 1e-9, b.soc_max + 1e-9).all()
    assert np.isfinite(df.drop(columns=["severity"]).select_dtypes("number")).all().all()


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n_homes=st.integers(1, 40),
    kva=st.floats(0.5, 8.0),
    start=st.sampled_from(["2024-01-15", "2024-07-20"]),
    seed=st.integers(0, 2**32),
)
def test_any_valid_feeder_runs_and_keeps_its_invariants(n_homes, kva, start, seed):
    spec = GenerateSpec.from_data({
        "twin": "grid", "runs": 1, "days": 1, "period": "15min", "start": start, "seed": seed,
        "grid": {"n_homes": n_homes, "kva_per_home": kva},
    })
    df, _ = frame(spec)
    assert GridTwin.invariants(df) == []
    assert (df.homes_served <= n_homes).all()
