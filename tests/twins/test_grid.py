"""The grid twin end to end: conservation, outage bookkeeping, cold-load pickup, voltage."""


import numpy as np
import pandas as pd
import pytest
import simpy

from twinforge.campaign.runner import build_twin, plan_runs
from twinforge.campaign.spec import load_spec
from twinforge.core.engine import simulate
from twinforge.processes.feeder import voltage_linearised, voltage_power_flow


def run(spec, run_id=0):
    twin = build_twin(spec, plan_runs(spec, spec.seed)[run_id])
    blocks = list(simulate(twin, spec.grid(), chunk_samples=spec.chunk_samples))
    df = pd.DataFrame({k: np.concatenate([b[k] for b in blocks]) for k in blocks[0]})
    df["time"] = pd.DatetimeIndex(df["time"]).tz_localize("UTC")
    return df, twin.events(run_id), twin


QUIET = {"protection": {"fault_rate_per_year": 0.0}}


def grid_spec(start, days=4, events=(), n_homes=60, homes=None, **grid):
    g = {"n_homes": n_homes, **QUIET, **grid}
    if homes:
        g["homes"] = homes
    return load_spec(None, twin="grid", runs=1, days=days, period="15min", seed=17, start=start,
                     grid=g, diversity=False, events=list(events))


@pytest.fixture(scope="module")
def winter_outage():
    fault = {"type": "feeder_fault", "start": "2024-01-10T06:00", "duration_h": 4, "severity": 1.0}
    with_fault = run(grid_spec("2024-01-08", events=[fault]))
    without = run(grid_spec("2024-01-08"))
    return with_fault, without


def test_feeder_power_is_homes_plus_losses(winter_outage):
    (df, _, _), _ = winter_outage
    np.testing.assert_allclose(df.feeder_power_w, df.homes_power_w + df.losses_w, rtol=1e-12)
    assert (df.losses_w > 0).all()
    assert (df.losses_w < 0.1 * df.feeder_power_w.abs().max()).all()


def test_linearised_losses_match_the_exact_power_flow(winter_outage):
    (_, _, twin), _ = winter_outage
    fp = twin.fparams
    p_nodes = np.linspace(5e3, 20e3, fp.n_nodes)[None, :].repeat(3, axis=0) * np.array([[0.5], [1.0], [2.0]])
    exact = voltage_power_flow(p_nodes, None, fp)
    lin = voltage_linearised(p_nodes, None, fp)
    np.testing.assert_allclose(lin["voltage_end_pu"], exact["voltage_end_pu"], atol=5e-3)


def test_outage_cuts_supply_and_energy_not_served_is_the_counterfactual_load(winter_outage):
    (df, events, _), (base, _, _) = winter_outage
    out = events[events.type == "outage"].iloc[0]
    t = pd.DatetimeIndex(df.time)
    inside = (t >= out.start) & (t < out.end)
    assert inside.sum() == 16  # 4 h at 15 min
    assert (df.homes_served[inside] == 0).all() and (df.homes_power_w[inside] == 0).all()
    assert (df.outage[inside] == 1).all() and (df.outage[~inside] == 0).all()
    assert (df.event[inside] == "outage").all()
    params = out.params
    assert params["cause"] == "fault" and params["homes_affected"] == 60
    ens = (base.homes_power_w[inside] * 900.0).sum()
    assert params["energy_not_served_j"] == pytest.approx(ens, rel=1e-9)
    # Before the outage both runs are identical.
    before = t < out.start
    np.testing.assert_array_equal(df.homes_power_w[before], base.homes_power_w[before])


def test_cold_load_pickup_after_restoration(winter_outage):
    (df, events, twin), (base, _, _) = winter_outage
    out = events[events.type == "outage"].iloc[0]
    t = pd.DatetimeIndex(df.time)
    after = (t >= out.end) & (t < out.end + pd.Timedelta("1h"))
    assert df.hvac_total_w[after].mean() > 1.3 * base.hvac_total_w[after].mean()
    assert df.hvac_total_w[after].iloc[0] > base.hvac_total_w[after].iloc[0]


def _fast_share(hourly: np.ndarray) -> float:
    """Share of the (mean-removed) hourly series' energy at periods shorter than 4 hours."""
    power = np.abs(np.fft.rfft(hourly - hourly.mean())) ** 2
    return float(power[np.fft.rfftfreq(hourly.size, 1.0) > 0.25].sum() / power[1:].sum())


def test_tpi_thermostats_smooth_the_fleet_and_keep_its_energy_and_pickup():
    """Hysteresis on the 1R1C envelope cycles in hours, in phase over the homes; TPI does not."""
    fault = {"type": "feeder_fault", "start": "2024-01-10T06:00", "duration_h": 4, "severity": 1.0}
    runs = {name: run(grid_spec("2024-01-08", home={"hvac": {"control": control}}, events=ev))[0]
            for name, control, ev in (("hysteresis", "hysteresis", ()), ("tpi", "tpi", ()), ("tpi_fault", "tpi", [fault]))}
    hourly = {c: df.set_index("time").hvac_total_w.resample("1h").mean().to_numpy() for c, df in runs.items()}
    assert _fast_share(hourly["tpi"]) < 0.3 * _fast_share(hourly["hysteresis"])
    assert runs["tpi"].hvac_total_w.mean() == pytest.approx(runs["hysteresis"].hvac_total_w.mean(), rel=0.02)
    # Cold-load pickup: after the outage every home is below its setpoint and runs at full duty.
    t = pd.DatetimeIndex(runs["tpi_fault"].time)
    after = (t >= pd.Timestamp("2024-01-10T10:00Z")) & (t < pd.Timestamp("2024-01-10T11:00Z"))
    assert runs["tpi_fault"].hvac_total_w[after].mean() > 1.3 * runs["tpi"].hvac_total_w[after].mean()


def test_fleet_honours_the_weekend_scale():
    def weekend_ratio(w):
        df, _, _ = run(grid_spec("2024-01-08", days=14, home={"appliances": {"weekend_scale": w}}))
        use = df.homes_power_w - df.hvac_total_w + df.pv_total_w  # appliances, lighting, EV
        weekend = pd.DatetimeIndex(df.time).tz_convert("Europe/Paris").day_of_week >= 5
        return use[weekend].mean() / use[~weekend].mean(), use.mean()

    (plain, mean_plain), (busy, mean_busy) = weekend_ratio(1.0), weekend_ratio(2.5)
    assert busy > 1.2 * plain
    assert mean_busy == pytest.approx(mean_plain, rel=0.1)


def test_fleet_honours_the_day_to_day_use_spread():
    def daily_use(sigma):
        df, _, _ = run(grid_spec("2024-01-08", days=21, home={"appliances": {"day_sigma": sigma}}))
        use = (df.homes_power_w - df.hvac_total_w + df.pv_total_w).to_numpy()  # appliances, lighting, EV
        return use.reshape(21, -1).mean(axis=1)  # UTC days of the 15-min samples

    plain, varied = daily_use(0.0), daily_use(0.9)
    assert varied.std() > 1.5 * plain.std()  # 60 homes' busy and quiet days do not all cancel
    assert varied.mean() == pytest.approx(plain.mean(), rel=0.1)  # E[factor] = 1


def test_fleet_honours_the_day_to_day_standby_spread():
    # homes with nothing but a standby load: the feeder's homes draw its sum, one factor per home and day
    def base(sigma):
        home = {"appliances": {"owned": {}, "lighting_w_per_active": 0.0, "standby_w": 300.0,
                               "standby_day_sigma": sigma}}
        df, _, _ = run(grid_spec("2024-01-08", days=10, n_homes=8, homes={"ev_share": 0.0, "pv_share": 0.0},
                                 home=home))
        use = pd.Series((df.homes_power_w - df.hvac_total_w).to_numpy(),
                        index=pd.DatetimeIndex(df.time).tz_convert("Europe/Paris"))
        return use.groupby(use.index.date)

    plain, varied = base(0.0), base(0.5)
    np.testing.assert_allclose(plain.mean(), 8 * 300.0, rtol=1e-9)
    assert ((varied.max() - varied.min()) < 1e-6).all()  # one base per local day
    daily = varied.first()
    assert daily.std() / daily.mean() > 0.08  # 8 homes' day factors (sigma 0.5) do not cancel
    assert daily.mean() == pytest.approx(8 * 300.0, rel=0.25)


def test_transformer_follows_load_and_ages_per_iec(winter_outage):
    (df, _, _), _ = winter_outage
    assert np.corrcoef(df.transformer_load_pu, df.transformer_hot_spot_c)[0, 1] > 0.5
    assert (df.transformer_hot_spot_c >= df.transformer_top_oil_c - 1e-9).mean() > 0.95
    assert (np.diff(df.transformer_loss_of_life_h) >= 0).all()
    v = 2.0 ** ((df.transformer_hot_spot_c - 98.0) / 6.0)
    assert np.median(df.transformer_ageing_factor / v) == pytest.approx(1.0, rel=0.3)


def test_pv_reverse_flow_raises_the_end_voltage():
    homes = {"pv_share": 1.0, "pv_kwp_range": [5.0, 6.0], "cooling_share": 0.0}
    df, _, _ = run(grid_spec("2024-06-17", days=3, homes=homes))
    hours = pd.DatetimeIndex(df.time).hour
    noon = (hours >= 11) & (hours <= 13)
    assert (df.homes_power_w[noon] < 0).mean() > 0.5
    strong_export = df.homes_power_w < 0.5 * df.homes_power_w.min()  # most homes export
    assert strong_export.sum() > 10
    assert (df.voltage_end_pu[strong_export] > df.voltage_secondary_pu[strong_export]).all()
    assert df.voltage_end_pu.max() > 1.0
    night = (hours >= 1) & (hours <= 3)
    assert (df.voltage_end_pu[night] < df.voltage_secondary_pu[night]).all()


def test_heat_wave_drives_cooling_and_transformer_heat():
    homes = {"cooling_share": 1.0}
    wave = {"type": "heat_wave", "start": "2024-07-02T00:00", "duration_h": 72, "severity": 9.0}
    hot, events, _ = run(grid_spec("2024-07-01", days=4, events=[wave], homes=homes))
    base, _, _ = run(grid_spec("2024-07-01", days=4, homes=homes))
    t = pd.DatetimeIndex(hot.time)
    w = events[events.type == "heat_wave"].iloc[0]
    plateau = (t >= w.start + pd.Timedelta("12h")) & (t < w.end - pd.Timedelta("12h"))
    assert hot.hvac_total_w[plateau].mean() > 1.5 * base.hvac_total_w[plateau].mean()
    assert hot.transformer_hot_spot_c[plateau].mean() > base.transformer_hot_spot_c[plateau].mean() + 3
    assert (hot.event[plateau] == "heat_wave").all()


def test_overload_trips_the_feeder():
    # A transformer far too small for the homes: the relay must trip it.
    df, events, _ = run(grid_spec("2024-01-08", days=2, n_homes=40, kva_per_home=0.6))
    trips = events[(events.type == "outage")]
    assert len(trips) >= 1
    assert {p["cause"] for p in trips.params} == {"overload"}
    assert (df.outage == 1).any()


def test_same_seed_same_output():
    a, ea, _ = run(grid_spec("2024-03-01", days=2, n_homes=20))
    b, eb, _ = run(grid_spec("2024-03-01", days=2, n_homes=20))
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(ea, eb)


def test_output_does_not_depend_on_chunking():
    # with the day-to-day and weekend use factors, drawn per local day as the blocks advance
    spec = grid_spec("2024-02-01", days=3, n_homes=30, home={"appliances": {"day_sigma": 0.6, "weekend_scale": 1.5}})
    a, _, _ = run(spec)
    b, _, _ = run(spec.model_copy(update={"chunk_samples": 1000}))
    small = spec.model_copy(update={"chunk_samples": 1000})
    twin = build_twin(small, plan_runs(small, small.seed)[0])
    blocks = list(simulate(twin, small.grid(), chunk_samples=40))  # ten hours per block
    c = pd.DataFrame({k: np.concatenate([bl[k] for bl in blocks]) for k in blocks[0]})
    c["time"] = pd.DatetimeIndex(c["time"]).tz_localize("UTC")
    assert len(blocks) > 5
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c, check_exact=False, rtol=1e-9, atol=1e-6)


def test_per_home_streams_sum_to_the_feeder(tmp_path):
    from twinforge.campaign.runner import generate
    from twinforge.export import open_dataset

    spec = grid_spec("2024-01-08", days=1, n_homes=12, per_home_output=True)
    generate(spec, tmp_path / "g", progress=False)
    ds = open_dataset(tmp_path / "g")
    homes = ds.table("homes")
    feeder = ds.samples()
    assert len(homes) == 12 * len(feeder) and sorted(homes.home.unique()) == list(range(12))
    total = homes.groupby("time").net_power_w.sum().to_numpy()
    np.testing.assert_allclose(total, feeder.homes_power_w.to_numpy(), rtol=1e-9, atol=1e-6)
    assert homes.temp_indoor_c.between(5, 35).all()


def _fleet_active_share(home_occupancy, start="2024-01-08"):
    """Share of the fleet's occupants active in each 10-min local slot of one weekday (Monday)."""
    spec = grid_spec(start, days=1, n_homes=400, home={"occupancy": home_occupancy})
    twin = build_twin(spec, plan_runs(spec, spec.seed)[0])
    twin.start(simpy.Environment(), spec.grid())  # builds the fleet
    fleet, clock = twin.fleet, twin.clock
    t0 = (24.0 - clock.hour_of_day(0.0)) % 24.0 * 3600.0  # the first local midnight
    out = np.zeros(144)
    for k in range(144):
        t = t0 + k * 600.0 + 1.0
        fleet._update_occupancy(t)
        out[int(clock.hour_of_day(t) * 6)] = np.mean(fleet.occ_state == 2)
    return out


def test_fleet_occupants_follow_the_home_routine_and_its_spread():
    """The fleet honours [home.occupancy]: the routine's times and each occupant's schedule shift."""
    at = lambda h: int(h * 6)  # noqa: E731 (slot of local hour h; the grid starts at local midnight)
    sharp = _fleet_active_share({"schedule_shift_sd_h": 0.0})
    spread = _fleet_active_share({"schedule_shift_sd_h": 2.0})
    late = _fleet_active_share({"schedule_shift_sd_h": 0.0, "wake_h": 9.0, "leave_h": 11.0})
    # without a spread almost nobody is up at 05:00; with a 2 h spread the early risers are
    assert sharp[at(5)] < 0.08 and spread[at(5)] > sharp[at(5)] + 0.08
    # the morning ramp is steeper without a spread
    assert np.max(np.diff(sharp[at(5):at(9)])) > np.max(np.diff(spread[at(5):at(9)])) + 0.02
    # a later routine: asleep at 07:30 when the default household is up
    assert late[at(7.5)] < sharp[at(7.5)] - 0.3


@pytest.mark.slow  # tens of seconds of CPU (a statistical law on a large sample): make test-slow
def test_feeder_homes_take_trips_by_the_home_twins_law():
    """The fleet's homes empty on their trips and follow the occupancy profile otherwise."""
    from twinforge.core.calendar import LocalClock
    from twinforge.core.rng import RngStreams
    from twinforge.processes.weather import Weather
    from twinforge.twins.fleet import HomeFleet
    from twinforge.twins.home import HomeConfig

    start = pd.Timestamp("2024-01-08", tz="UTC")
    n, days = 80, 8
    runs = {}
    for share in (0.0, 0.3):
        cfg = HomeConfig(occupancy={"n_occupants": 2, "trip_share": share, "trip_mean_days": 3.0})
        clock = LocalClock(start, cfg.tz)
        streams = RngStreams(31)
        fleet = HomeFleet([cfg] * n, Weather(cfg.weather, start, streams.generator("weather")), clock,
                          streams.child("fleet"), 300.0, start)
        served = np.ones(n, dtype=bool)
        n_home, away, load = [], [], []
        for k in range(days * 144):  # one 10-min slot per block of two sub-steps
            t = k * 600.0 + 300.0
            out = fleet.step_block(k * 600.0, 2, lambda *_: served)
            n_home.append(fleet.occupants()[0])
            away.append(fleet._trips.away(clock.local_day(t), clock.hour_of_day(t)) if share else np.zeros(n, bool))
            load.append(out.load_w[1] - out.hvac_w[1])
        runs[share] = np.array(n_home), np.array(away), np.array(load)
    n_home, away, load = runs[0.3]
    assert 0.1 < away.mean() < 0.6
    assert (n_home[away] == 0).all()
    assert load[away].mean() < 0.6 * load[~away].mean()  # base load only while away
    # Off trips the homes are occupied as without trips (same slot profile, independent draws).
    n0 = runs[0.0][0]
    assert n_home[~away].mean() == pytest.approx(n0.mean(), rel=0.05)
