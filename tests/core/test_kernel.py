"""Kernel: RNG streams, registry, time grid, step signals, event log, local clock."""

import numpy as np
import pandas as pd
import pytest

from twinforge.core.calendar import LocalClock
from twinforge.core.eventlog import EventLog
from twinforge.core.registry import Registry
from twinforge.core.rng import RngStreams
from twinforge.core.schema import config_hash
from twinforge.core.timegrid import TimeGrid, parse_period_s, parse_rate_hz
from twinforge.core.timeline import StepSignal


class TestRngStreams:
    def test_same_name_same_draws_other_name_other_draws(self):
        a = RngStreams(7).generator("weather").random(5)
        b = RngStreams(7).generator("weather").random(5)
        c = RngStreams(7).generator("occupancy").random(5)
        d = RngStreams(8).generator("weather").random(5)
        np.testing.assert_array_equal(a, b)
        assert not np.allclose(a, c) and not np.allclose(a, d)

    def test_adding_a_stream_does_not_shift_another(self):
        s = RngStreams(3)
        before = s.generator("b").random(3)
        s.generator("a").random(1000)  # another component draws a lot
        np.testing.assert_array_equal(before, RngStreams(3).generator("b").random(3))

    def test_children_are_independent_and_stable(self):
        r = RngStreams(1)
        x = r.child("run/0").generator("w").random()
        y = r.child("run/1").generator("w").random()
        assert x != y
        assert x == RngStreams(1).child("run/0").generator("w").random()

    def test_no_seed_draws_and_records_one(self):
        s = RngStreams(None)
        assert isinstance(s.seed, int) and s.seed >= 0
        assert RngStreams(s.seed).generator("x").random() == s.generator("x").random()

    @pytest.mark.parametrize("bad", [-1, 1.5, "7", True])
    def test_bad_seed(self, bad):
        with pytest.raises(ValueError, match="seed"):
            RngStreams(bad)

    def test_global_state_untouched(self):
        np.random.seed(0)
        expected = np.random.random()
        np.random.seed(0)
        RngStreams(5).generator("x").normal(size=100)
        assert np.random.random() == expected


class TestRegistry:
    def test_register_get_and_errors(self):
        reg = Registry("thing")

        @reg.register("alpha")
        class Alpha:
            pass

        assert reg.get("alpha") is Alpha and "alpha" in reg and reg.names() == ["alpha"]
        with pytest.raises(KeyError, match="unknown thing 'beta'; known: alpha"):
            reg.get("beta")
        with pytest.raises(ValueError, match="already registered"):
            reg.register("alpha", object())


class TestTimeGrid:
    @pytest.mark.parametrize("text,seconds", [("1s", 1), ("1min", 60), ("15min", 900), ("1h", 3600), (30, 30)])
    def test_parse_period(self, text, seconds):
        assert parse_period_s(text) == seconds

    @pytest.mark.parametrize("bad", ["fast", "-1min", 0, "0s", True])
    def test_bad_period(self, bad):
        with pytest.raises(ValueError, match="period"):
            parse_period_s(bad)

    def test_parse_rate(self):
        assert parse_rate_hz("25.6kHz") == 25_600 and parse_rate_hz("12000Hz") == 12_000

    def test_chunks_cover_grid_once_and_align_to_days(self):
        g = TimeGrid("2024-01-01", 60, 10 * 1440 + 17)
        chunks = list(g.chunks(3 * 1440 + 5))
        idx = np.concatenate([np.arange(a, b) for a, b in chunks])
        np.testing.assert_array_equal(idx, np.arange(g.n_steps))
        assert all((b - a) % 1440 == 0 for a, b in chunks[:-1])

    @pytest.mark.parametrize(("period_s", "lattice_s", "max_samples", "size"), [
        (1.0, 600.0, 1000, 600),       # a day does not fit: whole lattice steps
        (1.0, 600.0, 20_160, 19_800),
        (900.0, 600.0, 7, 6),          # 2 samples span 3 lattice steps
        (900.0, 600.0, 1000, 960),     # whole days are on the lattice
        (1.0, 3600.0, 1000, 3600),     # at least one lattice step
        (1.0, None, 1000, 1000),
    ])
    def test_chunk_edges_fall_on_the_twin_lattice(self, period_s, lattice_s, max_samples, size):
        g = TimeGrid("2024-01-01", period_s, 3 * size + 5)
        chunks = list(g.chunks(max_samples, lattice_s=lattice_s))
        assert [b - a for a, b in chunks] == [size, size, size, 5]

    def test_timestamps_are_utc_and_regular(self):
        g = TimeGrid(pd.Timestamp("2024-03-31 00:00", tz="Europe/Paris"), 900, 8)
        ts = pd.DatetimeIndex(g.timestamps(), tz="UTC")
        assert ts[0] == pd.Timestamp("2024-03-30 23:00", tz="UTC")
        assert (np.diff(ts.asi8) == 900 * 10**9).all()

    def test_horizon_shorter_than_period(self):
        with pytest.raises(ValueError, match="at least one period"):
            TimeGrid.from_horizon("2024-01-01", 30, 60)


class TestStepSignal:
    def test_interval_means_are_exact_energy(self):
        s = StepSignal(0.0)
        s.set(10, 2000.0)
        s.set(25, 100.0)
        s.set(70, 0.0)
        edges = np.arange(0, 121, 60.0)
        means = s.mean_over(edges)
        # Energy in J over each minute: [10..25) at 2 kW + [25..60) at 100 W ; [60..70) at 100 W.
        np.testing.assert_allclose(means * 60, [15 * 2000 + 35 * 100, 10 * 100])

    def test_values_at_times_are_right_continuous(self):
        s = StepSignal(1.0)
        s.set(5, 2.0)
        np.testing.assert_array_equal(s.at(np.array([0, 4.999, 5, 6])), [1, 1, 2, 2])

    def test_same_time_last_wins_and_order_enforced(self):
        s = StepSignal()
        s.set(1, 5)
        s.set(1, 7)
        assert s.at(np.array([1.0]))[0] == 7
        with pytest.raises(ValueError, match="time order"):
            s.set(0.5, 1)

    def test_discard_keeps_value_in_force(self):
        s = StepSignal()
        for k in range(10):
            s.set(k, k)
        s.discard_before(5.5)
        assert len(s.arrays()[0]) == 5  # -inf, 6, 7, 8, 9
        np.testing.assert_array_equal(s.at(np.array([5.6, 6, 9.5])), [5, 6, 9])
        np.testing.assert_allclose(s.mean_over(np.array([5.5, 6.5])), [5.5])


class TestEventLog:
    def test_labels_follow_events_and_the_last_started_wins(self):
        log = EventLog()
        log.log("appliance", "kettle", 0, 100)  # not grid-labelled
        a = log.log("rare", "heat_wave", 60, 600, 3.0, label=True)
        b = log.log("rare", "outage", 300, 360, 9.0, label=True)
        t = np.arange(0, 720, 60.0)
        lab = log.render_labels(t)
        expect = ["", "heat_wave", "heat_wave", "heat_wave", "heat_wave", "outage",
                  "heat_wave", "heat_wave", "heat_wave", "heat_wave", "", ""]
        assert list(lab["event"]) == expect
        assert lab["event_id"][5] == b and lab["event_id"][1] == a and lab["event_id"][0] == -1
        assert np.isnan(lab["severity"][0]) and lab["severity"][5] == 9.0

    def test_overlaps_never_compare_severities_of_different_types(self):
        log = EventLog()
        # a strong storm (m/s) starts first; a weak sensor fault (its own unit) inside it
        log.log("rare", "windstorm", 0, 600, 45.0, label=True)
        log.log("sensor", "stuck", 120, 240, 0.1, label=True)
        # two events of one type starting together: the more severe wins, whatever the order
        log.log("rare", "heat_wave", 900, 1200, 2.0, label=True)
        log.log("rare", "heat_wave", 900, 1000, 5.0, label=True)
        log.log("rare", "heat_wave", 900, 1100, float("nan"), label=True)
        lab = log.render_labels(np.arange(0, 1260, 60.0))
        ev = list(lab["event"])
        assert ev[:2] == ["windstorm"] * 2 and ev[2:4] == ["stuck"] * 2 and ev[4:10] == ["windstorm"] * 6
        assert list(lab["severity"][15:17]) == [5.0, 5.0] and lab["severity"][17] == 2.0
        assert lab["event_id"][17] == 2 and ev[20] == ""

    def test_frame_has_utc_times_and_params(self):
        log = EventLog()
        log.log("appliance", "washer", 30.0, 90.0, energy_j=12.5)
        df = log.to_frame(pd.Timestamp("2024-01-01", tz="UTC"), 3, "home")
        assert df.loc[0, "start"] == pd.Timestamp("2024-01-01 00:00:30", tz="UTC")
        assert df.loc[0, "run_id"] == 3 and df.loc[0, "params"] == {"energy_j": 12.5}

    def test_end_before_start(self):
        with pytest.raises(ValueError, match="ends"):
            EventLog().log("x", "y", 10, 5)


class TestLocalClock:
    def test_dst_and_weekend(self):
        c = LocalClock(pd.Timestamp("2024-03-30 12:00", tz="UTC"), "Europe/Paris")
        assert c.hour_of_day(0) == 13.0 and c.is_weekend(0)  # Saturday, CET
        assert c.hour_of_day(24 * 3600) == 14.0  # Sunday after the switch to CEST
        assert c.next_local_midnight(12 * 3600) == 34 * 3600  # 22:00 UTC = 00:00 CEST
        t = np.array([0.0, 86_400.0, 2 * 86_400.0])
        np.testing.assert_array_equal(c.hour_of_day_array(t), [13.0, 14.0, 14.0])
        np.testing.assert_array_equal(c.is_weekend_array(t), [True, True, False])

    def test_bad_zone(self):
        with pytest.raises(ValueError, match="IANA"):
            LocalClock(pd.Timestamp("2024-01-01"), "Mars/Olympus")


def test_config_hash_is_order_independent():
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})
