"""Sensor faults: they change one reported channel inside their window, never the state.

End to end on the home twin (same seed with and without the fault), then the laws of the
random faults on long windows through a minimal stand-in twin, then validation.
"""

import math

import numpy as np
import pandas as pd
import pytest

from twinforge.campaign.runner import RunPlan, build_twin, plan_runs
from twinforge.campaign.spec import SpecError, load_spec
from twinforge.core.engine import simulate
from twinforge.core.registry import EVENTS
from twinforge.core.rng import RngStreams
from twinforge.core.schema import ChannelSpec
from twinforge.twins.base import TwinBase
from twinforge.twins.home import HomeConfig

BASE = dict(runs=1, days=2, period="5min", seed=3, start="2024-01-08", diversity=False)
START = pd.Timestamp("2024-01-08T20:00", tz="UTC")
HOURS = 9.0
FAULTS = {
    "sensor_drift": (2.5, {}),
    "sensor_stuck": (1.0, {}),
    "sensor_dropout": (1.0, {}),
    "sensor_spikes": (3.0, {"rate_per_h": 6}),
    "sensor_noise_burst": (0.5, {}),
    "clock_jitter": (60.0, {}),
}


def event(type_, channel="temp_indoor_c", severity=None, **params):
    sev, extra = FAULTS.get(type_, (1.0, {}))
    return {
        "type": type_, "start": START.isoformat(), "duration_h": HOURS,
        "severity": sev if severity is None else severity, "params": {"channel": channel, **extra, **params},
    }


def run(events=(), chunk_samples=None, **overrides):
    spec = load_spec(None, events=list(events), **{**BASE, **overrides})
    twin = build_twin(spec, plan_runs(spec, spec.seed)[0])
    blocks = [r.samples for r in simulate(twin, spec.grid(), chunk_samples=chunk_samples or spec.chunk_samples)]
    df = pd.DataFrame({k: np.concatenate([b[k] for b in blocks]) for k in blocks[0]})
    df["time"] = pd.DatetimeIndex(df["time"]).tz_localize("UTC")
    return df, twin.events(0)


@pytest.fixture(scope="module")
def clean():
    return run()[0]


def window(df):
    return ((df.time >= START) & (df.time < START + pd.Timedelta(hours=HOURS))).to_numpy()


@pytest.mark.parametrize("type_", sorted(FAULTS))
def test_fault_changes_only_its_channel_inside_its_window(type_, clean):
    df, events = run([event(type_)])
    inside = window(df)
    labels = {"event", "event_id", "severity", "events_active"}
    for col in clean.columns:
        if col in labels or col == "temp_indoor_c":
            continue
        # hvac_power_w, hvac_mode, battery...: the thermostat never saw the faulty reading
        pd.testing.assert_series_equal(df[col], clean[col], obj=col)
    changed = ~np.isclose(df.temp_indoor_c, clean.temp_indoor_c, rtol=0, atol=0, equal_nan=False)
    assert changed[inside].any()
    assert not changed[~inside].any()
    # the labels cover exactly the window
    assert ((df.event == type_).to_numpy() == inside).all()
    (row,) = events[events.category == "sensor"].itertuples()
    assert row.type == type_ and row.start == START and row.end == START + pd.Timedelta(hours=HOURS)
    assert (df.event_id[inside] == row.event_id).all()
    assert row.params["channel"] == "temp_indoor_c"


@pytest.mark.parametrize("type_", sorted(FAULTS))
def test_fault_does_not_depend_on_chunking(type_):
    a, _ = run([event(type_)], chunk_samples=37)
    b, _ = run([event(type_)], chunk_samples=500)
    pd.testing.assert_frame_equal(a, b)


def test_each_fault_has_its_own_stream():
    a, _ = run([event("sensor_noise_burst")])
    b, _ = run([event("sensor_noise_burst")], seed=4)
    assert not np.allclose(a.temp_indoor_c[window(a)], b.temp_indoor_c[window(b)])


def test_stuck_holds_the_reading_at_onset(clean):
    df, _ = run([event("sensor_stuck")])
    inside = window(df)
    first = np.flatnonzero(inside)[0]
    assert (df.temp_indoor_c[inside] == clean.temp_indoor_c[first]).all()
    assert clean.temp_indoor_c[inside].nunique() > 3  # the true reading did move


def test_drift_reaches_its_severity_linearly(clean):
    df, _ = run([event("sensor_drift")])
    inside = window(df)
    t = (df.time[inside] - START).dt.total_seconds().to_numpy()
    expected = 2.5 * t / (HOURS * 3600.0)
    np.testing.assert_allclose((df.temp_indoor_c - clean.temp_indoor_c)[inside], expected, atol=1e-9)
    assert expected[-1] == pytest.approx(2.5 * (1 - 300 / (HOURS * 3600)))  # last sample: one period short
    down, _ = run([event("sensor_drift", direction="down")])
    np.testing.assert_allclose((down.temp_indoor_c - clean.temp_indoor_c)[inside], -expected, atol=1e-9)


def test_dropout_is_nan_exactly_in_the_window(clean):
    df, _ = run([event("sensor_dropout")])
    assert (df.temp_indoor_c.isna().to_numpy() == window(df)).all()
    assert not clean.temp_indoor_c.isna().any()


def test_integer_channel_keeps_its_dtype():
    df, _ = run([event("sensor_drift", channel="occupants_home", severity=3.0)])
    assert df.occupants_home.dtype == np.int16


def test_a_grid_sensor_fault_leaves_protection_and_transformer_alone():
    grid = dict(twin="grid", period="15min", grid={"n_homes": 5, "protection": {"fault_rate_per_year": 1000.0}})
    clean, ev0 = run(**grid)
    df, ev1 = run([event("sensor_stuck", channel="transformer_hot_spot_c")], **grid)
    for col in clean.columns:
        if col not in ("transformer_hot_spot_c", "event", "event_id", "severity", "events_active"):
            pd.testing.assert_series_equal(df[col], clean[col], obj=col)
    assert (df.transformer_hot_spot_c[window(df)] == clean.transformer_hot_spot_c[window(df)].iloc[0]).all()
    outages = lambda e: e[e.type == "outage"][["start", "end", "severity"]].reset_index(drop=True)  # noqa: E731
    pd.testing.assert_frame_equal(outages(ev0), outages(ev1), check_dtype=False)
    assert len(outages(ev0)) > 0


# --------------------------------------------------------------------------- laws on long windows


class StandIn(TwinBase):
    """The least a twin offers a sensor fault: channels, a log, streams, the measurements target."""

    name = "standin"

    def __init__(self, seed=0):
        super().__init__(None, RngStreams(seed))

    def start(self, env, grid):
        pass

    def render(self, grid, i0, i1):
        raise NotImplementedError

    def channels(self):
        return (
            ChannelSpec("x_w", "W", "interval", "float64", "a float channel"),
            ChannelSpec("n", "count", "instant", "int16", "an integer channel"),
            ChannelSpec("event", "", "label", "str", "a label"),
        )


def corrupt(type_, severity, x, t, start_s, end_s, chunk=None, seed=0, **params):
    twin = StandIn(seed)
    EVENTS.get(type_)().apply(twin, start_s, end_s, severity, channel="x_w", **params)
    chunk = chunk or len(t)
    out = []
    for i in range(0, len(t), chunk):
        block = {"x_w": x[i : i + chunk].copy()}
        for c in twin.target("measurements"):
            c(block, t[i : i + chunk])
        out.append(block["x_w"])
    return np.concatenate(out)


PERIOD = 60.0
T = np.arange(200_000) * PERIOD  # 139 days of minutes
X = 100.0 + 10.0 * np.sin(2 * np.pi * T / 3600.0)  # an hourly sine [W]


def test_spikes_occur_at_the_declared_rate():
    rate, start, end = 2.0, 3600.0, T[-1] - 7200.0
    y = corrupt("sensor_spikes", 5.0, X, T, start, end, rate_per_h=rate)
    jumps = y - X
    spiked = np.abs(jumps) > 1e-9
    expected = rate * (end - start) / 3600.0
    n = np.abs(jumps[spiked]).round(9).sum() / 5.0  # two spikes in one sample count twice
    assert abs(n - expected) < 4 * math.sqrt(expected)
    assert set(np.abs(jumps[spiked]).round(9)) <= {5.0, 10.0, 15.0}
    assert not spiked[(T < start) | (T >= end)].any()
    assert 0.45 < (jumps[spiked] > 0).mean() < 0.55  # random sign
    gaps = np.diff(T[spiked]) / 3600.0  # exponential inter-arrival times [h]
    assert np.mean(gaps) == pytest.approx(1 / rate, rel=0.05)
    np.testing.assert_array_equal(y, corrupt("sensor_spikes", 5.0, X, T, start, end, chunk=997, rate_per_h=rate))


def test_dropout_share_and_noise_level():
    y = corrupt("sensor_dropout", 0.3, X, T, 0.0, T[-1] + 1)
    assert np.isnan(y).mean() == pytest.approx(0.3, abs=0.005)
    y = corrupt("sensor_noise_burst", 2.0, X, T, 0.0, T[-1] + 1)
    assert np.std(y - X) == pytest.approx(2.0, rel=0.01)
    assert abs(np.mean(y - X)) < 4 * 2.0 / math.sqrt(len(X))
    np.testing.assert_array_equal(y, corrupt("sensor_noise_burst", 2.0, X, T, 0.0, T[-1] + 1, chunk=1234))


def test_clock_jitter_error_grows_with_sigma():
    rms = {}
    for sd in (0.5, 2.0, 8.0):
        y = corrupt("clock_jitter", sd, X, T, 0.0, T[-1] + 1)
        rms[sd] = np.sqrt(np.mean((y - X) ** 2))
        np.testing.assert_array_equal(y, corrupt("clock_jitter", sd, X, T, 0.0, T[-1] + 1, chunk=777))
    # error = delta x slope: proportional to sigma while sigma << period
    slope_rms = np.sqrt(np.mean(np.diff(X) ** 2)) / PERIOD
    for sd, e in rms.items():
        assert e == pytest.approx(sd * slope_rms, rel=0.03)
    # a reading taken delta early (-period <= delta <= 0) is the linear interpolation
    y = corrupt("clock_jitter", 1e6, X, T, 0.0, T[-1] + 1)  # |delta| clipped to one period
    lo = np.minimum(X[:-1], X[1:])
    hi = np.maximum(X[:-1], X[1:])
    back = y[1:] - X[1:]
    early = np.sign(back) == -np.sign(X[1:] - X[:-1])
    assert ((y[1:][early] >= lo[early] - 1e-9) & (y[1:][early] <= hi[early] + 1e-9)).all()


def test_faults_act_on_integer_channels_by_rounding():
    twin = StandIn()
    EVENTS.get("sensor_drift")().apply(twin, 0.0, 600.0, 3.0, channel="n")
    block = {"n": np.zeros(10, dtype=np.int16)}
    list(twin.target("measurements"))[0](block, np.arange(10) * 60.0)
    assert block["n"].dtype == np.int16
    np.testing.assert_array_equal(block["n"], np.rint(3.0 * np.arange(10) / 10))


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "params, fragment",
    [
        ({"channel": "temp_inside_c"}, "unknown channel 'temp_inside_c'"),
        ({"channel": "hvac_mode"}, "'hvac_mode' is a label"),
        ({"channel": "event"}, "is a label"),
        ({}, "needs params.channel"),
        ({"channel": "temp_indoor_c", "rate": 2}, "unknown key(s) rate"),
        ({"channel": 3}, "needs params.channel"),
    ],
)
def test_bad_params_are_refused_naming_the_field(params, fragment):
    ev = {**event("sensor_stuck"), "params": params}
    with pytest.raises(SpecError) as e:
        load_spec(None, events=[ev], **BASE)
    assert "events.0.params: " in str(e.value) and fragment in str(e.value)


def test_dropout_refuses_integer_channels_and_names_the_float_ones(tmp_path):
    path = tmp_path / "dropout.toml"
    path.write_text(
        "[[events]]\ntype = 'sensor_dropout'\nstart = '2024-01-08T20:00'\nduration_h = 3\n"
        "severity = 1\nparams = {channel = 'occupants_home'}\n"
    )
    with pytest.raises(SpecError) as e:
        load_spec(path, **BASE)
    msg = str(e.value)
    assert str(path) in msg and "events.0.params" in msg
    assert "int16 channel 'occupants_home'" in msg and "temp_indoor_c" in msg


def test_option_values_are_checked():
    with pytest.raises(SpecError, match="rate_per_h must be within"):
        load_spec(None, events=[event("sensor_spikes", rate_per_h=-1)], **BASE)
    with pytest.raises(SpecError, match="direction must be 'up' or 'down'"):
        load_spec(None, events=[event("sensor_drift", direction="sideways")], **BASE)
    with pytest.raises(SpecError, match="unknown key\\(s\\) channel for heat_wave; known: elapsed_h"):
        load_spec(None, events=[{**event("sensor_stuck"), "type": "heat_wave"}], **BASE)


def test_a_channel_of_another_twin_is_refused_when_the_twin_starts():
    # Scenario validation does not know the twin's configuration, so it accepts a channel
    # that some twin measures; the twin refuses it before anything is rendered.
    spec = load_spec(None, events=[event("sensor_stuck")], twin="grid", grid={"n_homes": 2}, **{**BASE, "period": "15min"})
    twin = build_twin(spec, plan_runs(spec, spec.seed)[0])
    with pytest.raises(ValueError, match="not a channel of the grid twin; sensor_stuck acts on one of: feeder_power_w"):
        next(simulate(twin, spec.grid()))


def test_params_survive_the_worker_round_trip_and_old_dumps_are_unchanged():
    spec = load_spec(None, events=[event("sensor_spikes")], **BASE)
    plan = plan_runs(spec, spec.seed)[0]
    plan = RunPlan(**{**plan.__dict__, "events": spec.events})
    back = RunPlan.from_json(plan.to_json(), HomeConfig)
    assert back.events == spec.events and back.events[0].params == {"channel": "temp_indoor_c", "rate_per_h": 6}
    plain = load_spec(None, events=[{**event("sensor_stuck"), "type": "heat_wave", "params": {}}], **BASE)
    assert "params" not in plain.to_json_dict()["events"][0]
    assert hash(plain.events[0]) == hash(plain.events[0].model_copy())
