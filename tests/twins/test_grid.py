"""The grid twin end to end: conservation, outage bookkeeping, cold-load pickup, voltage."""

import re

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
    blocks = [r.samples for r in simulate(twin, spec.grid(), chunk_samples=spec.chunk_samples)]
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


def test_feeder_homes_honour_the_day_to_day_use_spread(tmp_path):
    """[home.appliances] day_sigma spreads each feeder home's daily use, as in the home twin."""
    from twinforge.campaign.runner import generate
    from twinforge.export import open_dataset

    def daily_use(sigma, name):
        spec = grid_spec("2024-01-08", days=21, n_homes=30, per_home_output=True,
                         home={"appliances": {"day_sigma": sigma}})
        generate(spec, tmp_path / name, progress=False)
        homes = open_dataset(tmp_path / name).table("homes")
        use = homes.net_power_w - homes.hvac_power_w + homes.pv_power_w  # appliances, lighting, EV
        day = pd.DatetimeIndex(homes.time).tz_convert("Europe/Paris").date
        per = use.groupby([homes.home.to_numpy(), day]).mean().unstack().iloc[:, 1:-1]  # whole local days
        return per

    plain, varied = daily_use(0.0, "plain"), daily_use(0.9, "varied")
    # each home's day-to-day spread grows, its mean use stays (E[factor] = 1)
    assert (varied.std(axis=1) / plain.std(axis=1)).median() > 1.5
    assert varied.to_numpy().mean() == pytest.approx(plain.to_numpy().mean(), rel=0.1)


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


def test_day_to_day_use_factors_do_not_depend_on_chunking():
    # drawn per local day as the blocks advance (the generic chunking check: tests/conformance)
    spec = grid_spec("2024-02-01", days=3, n_homes=30, home={"appliances": {"day_sigma": 0.6, "weekend_scale": 1.5}})
    a, _, _ = run(spec)
    b, _, _ = run(spec.model_copy(update={"chunk_samples": 1000}))
    small = spec.model_copy(update={"chunk_samples": 1000})
    twin = build_twin(small, plan_runs(small, small.seed)[0])
    blocks = [r.samples for r in simulate(twin, small.grid(), chunk_samples=40)]  # ten hours per block
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


def _feeder_active_share(home_occupancy, start="2024-01-08"):
    """Share of the feeder's occupants active in each 10-min local slot of one weekday (Monday)."""
    spec = grid_spec(start, days=1, n_homes=400, home={"occupancy": home_occupancy})
    twin = build_twin(spec, plan_runs(spec, spec.seed)[0])
    twin.start(simpy.Environment(), spec.grid())  # builds the homes
    occupants, clock = twin.homes.occupants, twin.clock
    occupants.advance(0.0, 2 * 86_400.0)
    t = (24.0 - clock.hour_of_day(0.0)) % 24.0 * 3600.0 + np.arange(144) * 600.0 + 1.0  # from local midnight
    _, active = occupants.at(t)
    n = sum(c.occupancy.n_occupants for c in twin.home_configs)
    out = np.zeros(144)
    out[(clock.hour_of_day_array(t) * 6).astype(int)] = active.sum(axis=1) / n
    return out


def test_feeder_occupants_follow_the_home_routine_and_its_spread():
    """Feeder homes honour [home.occupancy]: the routine's times and each occupant's schedule shift."""
    at = lambda h: int(h * 6)  # noqa: E731 (slot of local hour h; the grid starts at local midnight)
    sharp = _feeder_active_share({"schedule_shift_sd_h": 0.0})
    spread = _feeder_active_share({"schedule_shift_sd_h": 2.0})
    late = _feeder_active_share({"schedule_shift_sd_h": 0.0, "wake_h": 9.0, "leave_h": 11.0})
    # without a spread almost nobody is up at 05:00; with a 2 h spread the early risers are
    assert sharp[at(5)] < 0.08 and spread[at(5)] > sharp[at(5)] + 0.08
    # the morning ramp is steeper without a spread
    assert np.max(np.diff(sharp[at(5):at(9)])) > np.max(np.diff(spread[at(5):at(9)])) + 0.02
    # a later routine: asleep at 07:30 when the default household is up
    assert late[at(7.5)] < sharp[at(7.5)] - 0.3


@pytest.mark.slow  # tens of seconds of CPU (a statistical law on a large sample): make test-slow
def test_feeder_homes_take_trips_by_the_home_twins_law(tmp_path):
    """Feeder homes empty on their trips (base load only) and are occupied as without trips otherwise."""
    from twinforge.campaign.runner import generate
    from twinforge.export import open_dataset

    n, days = 80, 8
    out = {}
    for share in (0.0, 0.3):
        occ_ = {"n_occupants": 2, "trip_share": share, "trip_mean_days": 3.0}
        spec = grid_spec("2024-01-08", days=days, n_homes=n, home={"occupancy": occ_})
        twin = build_twin(spec, plan_runs(spec, spec.seed)[0])
        twin.start(simpy.Environment(), spec.grid())
        t = np.arange(days * 144) * 600.0 + 300.0
        H = twin.homes
        parts = []
        for k in range(0, t.size, 144):  # a day at a time, as blocks would
            H.occupants.advance(k * 600.0, (k + 144) * 600.0)
            parts.append(H.occupants.at(t[k:k + 144])[0])
        n_home = np.concatenate(parts)
        clock = twin.clock
        away = np.array([[tr.away(clock.local_day(x), clock.hour_of_day(x))[0] if tr is not None else False
                          for tr in H.trips] for x in t])
        out[share] = n_home, away
    n_home, away = out[0.3]
    assert 0.1 < away.mean() < 0.6
    assert (n_home[away] == 0).all()
    n0 = out[0.0][0]
    assert n_home[~away].mean() == pytest.approx(n0.mean(), rel=0.05)
    # and their appliances fall to the base load while away (per-home stream of a feeder run)
    spec = grid_spec("2024-01-08", days=days, n_homes=20, per_home_output=True,
                     home={"occupancy": {"trip_share": 0.3, "trip_mean_days": 3.0}})
    generate(spec, tmp_path / "g", progress=False)
    homes = open_dataset(tmp_path / "g").table("homes")
    twin = build_twin(spec, plan_runs(spec, spec.seed)[0])
    twin.start(simpy.Environment(), spec.grid())
    clock = twin.clock
    secs = (pd.DatetimeIndex(homes.time) - spec.grid().start).total_seconds().to_numpy()
    trips = twin.homes.trips
    gone = np.array([trips[h].away(clock.local_day(x), clock.hour_of_day(x))[0] for h, x in zip(homes.home, secs)])
    settled = gone & np.array([x >= 10_800.0 and trips[h].away(clock.local_day(x - 10_800.0),
                                                                clock.hour_of_day(x - 10_800.0))[0]
                               for h, x in zip(homes.home, secs)])  # 3 h into a trip
    use = (homes.net_power_w - homes.hvac_power_w).to_numpy()
    assert settled.any() and use[settled].mean() < 0.6 * use[~gone].mean()


@pytest.mark.parametrize("section,value,words", [
    ("weather", {"temp_mean_c": 20.0}, "home.weather does not apply to a feeder's homes: set [grid.weather] instead"),
    ("tz", "Europe/Berlin", "home.tz does not apply to a feeder's homes: set grid.tz instead"),
    ("sensors", {"power": {"noise_rel": 0.0}}, "home.sensors does not apply to a feeder's homes"),
    ("record_cycles", False, "home.record_cycles does not apply to a feeder's homes"),
])
def test_home_settings_that_cannot_apply_to_feeder_homes_are_refused(section, value, words):
    from twinforge.campaign.spec import SpecError

    with pytest.raises(SpecError, match=re.escape(words)):
        load_spec(None, twin="grid", grid={"n_homes": 3, "home": {section: value}})


def test_feeder_homes_honour_the_water_heater():
    plain, _, _ = run(grid_spec("2024-01-08", days=2, n_homes=20))
    dhw, _, twin = run(grid_spec("2024-01-08", days=2, n_homes=20, home={"dhw": {"element_w": 2400.0}}))
    assert all(c.dhw is not None for c in twin.home_configs)
    # about 2-4 kWh a day for two occupants: 20 homes add well over 1 kW on average
    assert (dhw.homes_power_w - plain.homes_power_w).mean() > 1000.0


def test_a_feeder_config_survives_its_round_trip():
    """A run plan's config comes back from a dump with every field set: it must still load."""
    from twinforge.twins.grid import GridConfig

    cfg = load_spec(None, twin="grid", grid={"n_homes": 3, "home": {"dhw": {}}}).config
    assert GridConfig.model_validate(cfg.model_dump(mode="json")) == cfg


def test_explicit_settings_win_over_the_diversity_laws_that_would_redraw_them():
    from twinforge.campaign.spec import SpecError

    # [grid.home] over [grid.homes]: every feeder home cools, heats with a heat pump, holds 3
    spec = load_spec(None, twin="grid", runs=4, seed=2, days=1, period="1h",
                     grid={"n_homes": 30, "home": {"hvac": {"cooling": True, "heating": "heat_pump"},
                                                   "occupancy": {"n_occupants": 3}}})
    assert spec.config.homes.cooling_share == 1.0 and spec.diversity.cooling_share_range == (1.0, 1.0)
    for plan in plan_runs(spec, spec.seed):  # [grid.homes] over [diversity]: not redrawn per feeder
        assert plan.config.homes.cooling_share == 1.0 and plan.config.homes.heat_pump_share == 1.0
        assert plan.config.flat()["homes.cooling_share"] == 1.0  # as runs.parquet records it
    twin = build_twin(spec, plan_runs(spec, spec.seed)[0])
    twin.start(simpy.Environment(), spec.grid())
    homes = twin.home_configs
    assert all(h.hvac.cooling and h.hvac.heating == "heat_pump" and h.occupancy.n_occupants == 3 for h in homes)
    assert len({h.envelope.floor_area_m2 for h in homes}) == 30  # the other laws still vary the homes
    # a share written in [grid.homes] pins its per-feeder range; the other ranges still draw
    spec = load_spec(None, twin="grid", runs=6, seed=2, grid={"n_homes": 3, "homes": {"pv_share": 0.3}})
    plans = plan_runs(spec, spec.seed)
    assert {p.config.homes.pv_share for p in plans} == {0.3} and len({p.config.homes.ev_share for p in plans}) == 6
    # a disagreeing law, and a setting the laws derive for every home, are one line each
    with pytest.raises(SpecError, match=r"^grid\.homes\.pv_share and diversity\.pv_share_range = \[0\.1, 0\.2\] disagree"):
        load_spec(None, twin="grid", grid={"homes": {"pv_share": 0.3}}, diversity={"pv_share_range": [0.1, 0.2]})
    with pytest.raises(SpecError, match=r"^grid\.home\.hvac\.cooling and grid\.homes\.cooling_share = 0\.5 disagree"):
        load_spec(None, twin="grid", grid={"home": {"hvac": {"cooling": True}}, "homes": {"cooling_share": 0.5}})
    with pytest.raises(SpecError, match=r"^grid\.home\.hvac\.heating_capacity_w is derived again for every "
                                        r"feeder home by the grid\.homes laws; remove it"):
        load_spec(None, twin="grid", grid={"home": {"hvac": {"heating_capacity_w": 6000.0}}})
    # diversity = false keeps every feeder as written; its homes are still drawn, pinned
    spec = load_spec(None, twin="grid", diversity=False, grid={"home": {"hvac": {"cooling": True}}})
    assert spec.diversity is None and spec.config.homes.cooling_share == 1.0
