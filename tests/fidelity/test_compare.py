"""compare(): ideal values on identical data, finite in-range values against the home twin."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from twinforge.campaign.runner import generate
from twinforge.campaign.spec import load_spec
from twinforge.export.reader import open_dataset
from twinforge.fidelity import load_uci_household
from twinforge.fidelity.comparison import METRIC_INFO, CompareError, FidelityReport, compare
from twinforge.fidelity.report import write_report


@pytest.fixture(scope="module")
def uci() -> pd.DataFrame:
    return load_uci_household()


@pytest.fixture(scope="module")
def home_dataset(tmp_path_factory):
    """Three homes x five days at 15 min, starting with the UCI sample (December 2008)."""
    out = tmp_path_factory.mktemp("fid") / "homes"
    spec = load_spec(None, twin="home", runs=3, days=5, period="15min", start="2008-12-01", seed=11)
    generate(spec, out, progress=False)
    return out


def test_identical_data_gives_ideal_values(uci):
    real = uci[["mains_power_w", "kitchen_power_w"]]
    rep = compare(real, real.assign(run_id=0), period="15min")
    for ch in ("mains_power_w", "kitchen_power_w"):
        for name in ("ks", "wasserstein", "acf_distance", "psd_log_distance", "profile_error_hour",
                     "profile_error_hour_week", "tail_q01", "tail_q99", "tail_q999"):
            assert rep.value(f"channels.{ch}.{name}") == pytest.approx(0.0, abs=1e-12), name
    assert rep.value("cross_channel.correlation_matrix_distance") == pytest.approx(0.0, abs=1e-12)
    assert rep.value("windows.discriminative_score") == 0.0
    n = rep.info["n_real_windows"]
    assert rep.info["n_synth_windows"] == n
    # every synthetic window's nearest neighbour is its real twin: the maximum, a copying signal
    assert rep.value("windows.nn_indistinguishability") == pytest.approx((2 * n - 1) / n)
    assert rep.value("windows.memorisation_copy_share") == 1.0
    assert rep.value("windows.memorisation_median_ratio") == 0.0


def test_against_home_twin_metrics_are_finite_and_in_range(uci, home_dataset):
    rep = compare(uci[["mains_power_w"]], home_dataset, channels={"mains_power_w": "mains_power_w"})
    assert rep.info["period"] == "15min" and rep.info["n_runs"] == 3
    # 5 UTC days from midnight hold 4 whole Paris days per home, cut run by run
    assert rep.info["n_synth_windows"] == 12 and len(set(rep.synth_window_runs)) == 3
    assert rep.info["n_real_windows"] == 62
    table = rep.table()
    assert set(table["direction"]) <= {"lower is better", "higher is better", "closer to ideal is better"}
    for _, row in table.iterrows():
        if row["metric"] == "profile_error_hour_week":
            assert pd.isna(row["value"]) and "week" in row["note"]  # 5 synthetic days
            continue
        assert math.isfinite(row["value"]), row["metric"]
    ch = rep.metrics["channels"]["mains_power_w"]
    assert 0 < ch["ks"]["value"] <= 1
    assert 0 <= ch["acf_distance"]["value"] <= 2
    assert 0 <= rep.value("windows.discriminative_score") <= 0.5
    n_r, n_s = rep.info["n_real_windows"], rep.info["n_synth_windows"]
    assert 0 <= rep.value("windows.nn_indistinguishability") <= (n_r + n_s - 1) / n_r
    assert 0 <= rep.value("windows.memorisation_copy_share") <= 1
    assert rep.real_features.shape == (n_r, len(rep.feature_names))
    # a dataset path, an opened dataset and its DataFrame give the same numbers
    df = open_dataset(home_dataset).samples(columns=["mains_power_w"])
    again = compare(uci[["mains_power_w"]], df.drop(columns="twin"))
    assert again.metrics == rep.metrics


def test_json_is_standard_and_complete(uci, home_dataset, tmp_path):
    rep = compare(uci[["mains_power_w"]], open_dataset(home_dataset))
    path = rep.to_json(tmp_path / "metrics.json")
    data = json.loads(path.read_text())  # strict JSON: no NaN/Infinity tokens
    assert "NaN" not in path.read_text() and "Infinity" not in path.read_text()
    entry = data["metrics"]["windows"]["discriminative_score"]
    assert set(entry) >= {"value", "range", "direction", "ideal", "meaning"}
    assert data["info"]["channels"] == {"mains_power_w": "mains_power_w"}
    assert set(METRIC_INFO) >= set(data["metrics"]["channels"]["mains_power_w"])
    assert "discriminative score" in rep.summary()


def test_windows_are_cut_per_run():
    t = pd.date_range("2024-01-01", periods=4 * 96, freq="15min", tz="UTC", name="time")
    rng = np.random.default_rng(0)
    one = pd.DataFrame({"p": rng.gamma(2.0, 300.0, t.size)}, index=t)
    two = pd.concat([one.assign(run_id=0), one.assign(run_id=1)])
    rep = compare(one, two, tz="UTC")
    assert rep.info["n_synth_windows"] == 8 and rep.info["n_real_windows"] == 4
    assert list(rep.synth_window_runs) == [0] * 4 + [1] * 4


def test_counts_say_what_was_dropped_and_few_windows_get_no_window_scores(tmp_path):
    t = pd.date_range("2024-01-01", periods=10 * 96, freq="15min", tz="UTC", name="time")
    rng = np.random.default_rng(1)
    real = pd.DataFrame({"p": rng.gamma(2.0, 300.0, t.size)}, index=t)
    gappy = real.drop(real.index[2 * 96: 4 * 96])  # two whole days missing: no window there
    rep = compare(gappy, real.assign(run_id=0), tz="UTC")
    assert rep.info["n_real_windows"] == 8 and rep.info["n_real_windows_dropped"] == 2
    assert "8 real (2 more dropped: over 5% missing)" in rep.summary()
    # 2 synthetic windows: a share of neighbours would be 0, 0.5 or 1 by chance alone
    few = compare(real, real.iloc[: 2 * 96].assign(run_id=0), tz="UTC")
    assert few.value("windows.nn_indistinguishability") is None
    assert few.value("windows.discriminative_score") is None
    assert "needs at least 5 windows on each side" in few.metrics["windows"]["nn_indistinguishability"]["note"]
    html = write_report(few, tmp_path / "few").read_text()  # what has no value reads n/a, as in the summary
    assert ">nan<" not in html and ">n/a<" in html
    # identical real days: no real-to-real distance, a ratio without a value, n/a as in the JSON
    day = real.iloc[:96]
    same = pd.concat([day.set_axis(day.index + pd.Timedelta(days=k)) for k in range(6)])
    rep_same = compare(same, real.assign(run_id=0), tz="UTC")
    assert rep_same.to_dict()["metrics"]["windows"]["memorisation_median_ratio"]["value"] is None
    assert "median distance ratio n/a" in rep_same.summary()
    # several runs stacked without run_id cannot be told apart: refused, not half dropped
    with pytest.raises(CompareError, match="repeats timestamps but has no 'run_id'"):
        compare(real, pd.concat([real, real]), tz="UTC")


def test_mean_normalisation_compares_shapes():
    t = pd.date_range("2024-01-01", periods=14 * 24, freq="1h", tz="UTC", name="time")
    shape = 1.0 + 0.5 * np.sin(2 * np.pi * t.hour / 24)
    real = pd.DataFrame({"load_power_w": 1e9 * shape}, index=t)
    synth = pd.DataFrame({"feeder_power_w": 2e5 * shape}, index=t)
    m = {"load_power_w": "feeder_power_w"}
    assert compare(real, synth, channels=m, tz="UTC").value("channels.load_power_w.ks") == 1.0
    rep = compare(real, synth, channels=m, tz="UTC", normalise="mean")
    assert rep.value("channels.load_power_w.wasserstein") == pytest.approx(0.0, abs=1e-9)
    assert rep.value("channels.load_power_w.profile_error_hour") == pytest.approx(0.0, abs=1e-9)


def test_errors_name_the_problem(uci, home_dataset, tmp_path):
    real = uci[["mains_power_w"]]
    with pytest.raises(CompareError, match="real column 'nope' not in the real trace"):
        compare(real, home_dataset, channels={"nope": "mains_power_w"})
    with pytest.raises(CompareError, match="synthetic channel 'nope' not in dataset"):
        compare(real, home_dataset, channels={"mains_power_w": "nope"})
    with pytest.raises(CompareError, match="cannot compare at"):
        compare(real, home_dataset, period="1min")
    with pytest.raises(CompareError, match="no dataset at"):
        compare(real, tmp_path / "missing")
    with pytest.raises(CompareError, match="normalise"):
        compare(real, home_dataset, normalise="max")
    with pytest.raises(CompareError, match="tz must be an IANA time zone"):
        compare(real, home_dataset, tz="Mars/Olympus")
    # the homes were simulated in Paris time: New York windows would cut their days elsewhere
    with pytest.raises(CompareError, match="simulated in local time 'Europe/Paris'"):
        compare(real, home_dataset, tz="America/New_York")
    assert isinstance(compare(real, home_dataset, period="1h"), FidelityReport)


def test_real_units_are_windowed_on_their_own():
    # two real units over the *same* times (two bearings, two houses): windows never mix them
    t = pd.date_range("2024-01-01", periods=3 * 96, freq="15min", tz="UTC", name="time")
    rng = np.random.default_rng(1)
    a = pd.DataFrame({"p": rng.gamma(2.0, 300.0, t.size)}, index=t)
    b = pd.DataFrame({"p": rng.gamma(2.0, 300.0, t.size) + 5000.0}, index=t)
    real = pd.concat([a.assign(run_id=3), b.assign(run_id=7)])
    rep = compare(real, a, tz="UTC")
    assert rep.info["n_real_runs"] == 2 and rep.info["n_real_windows"] == 6
    means = np.sort(rep.real_windows[..., 0].mean(axis=1))
    assert means[:3].max() < 1000.0 < 5000.0 < means[3:].min()
    # against itself, unit by unit: every window has its exact copy
    self_rep = compare(real, real.reset_index(), tz="UTC")
    assert self_rep.value("channels.p.ks") == pytest.approx(0.0, abs=1e-12)
    # mean normalisation is per unit: the level offset of unit 7 disappears from its windows
    norm = compare(real, a, tz="UTC", normalise="mean")
    assert np.nanmean(norm.real_windows[..., 0]) == pytest.approx(1.0, abs=1e-9)
    with pytest.raises(CompareError, match="real run_id 7"):
        compare(pd.concat([a.assign(run_id=3), b.iloc[:1].assign(run_id=7)]), a, tz="UTC")


def test_nn_carries_its_noise_over_the_synthetic_runs(uci):
    """se_runs: a jackknife over synthetic runs; large when the runs disagree, absent with 2 runs."""
    x = uci[["mains_power_w"]].resample("15min").mean()
    day = pd.Timedelta("1D")
    t0 = x.index[0] + pd.Timedelta("1h")  # local midnight (Paris, winter)
    real = x[(x.index >= t0) & (x.index < t0 + 20 * day)]

    def runs(scales):  # run k: 7 other real days of the house, scaled by scales[k]
        parts = []
        for k, a in enumerate(scales):
            lo = t0 + (20 + 7 * k) * day
            parts.append((x[(x.index >= lo) & (x.index < lo + 7 * day)] * a).assign(run_id=k))
        return pd.concat(parts)

    alike = compare(real, runs([1.0] * 6), match_span=False).metrics["windows"]["nn_indistinguishability"]
    split = compare(real, runs([1.0, 1.0, 1.0, 3.0, 3.0, 3.0]), match_span=False).metrics["windows"]["nn_indistinguishability"]
    two = compare(real, runs([1.0, 1.0]), match_span=False).metrics["windows"]["nn_indistinguishability"]
    assert alike["se_runs"] is not None and split["se_runs"] is not None
    assert split["se_runs"] > alike["se_runs"]
    assert two["se_runs"] is None and two["value"] is not None


@pytest.mark.slow  # tens of seconds of CPU (a statistical law on a large sample): make test-slow
def test_permutation_null_gives_the_window_scores_a_reference(uci, home_dataset, tmp_path):
    """null_permutations: the default home (62 real, 12 synthetic days) is far outside the
    null of these counts; the reference values land in the entries, the JSON and the summary."""
    real = uci[["mains_power_w"]]
    plain = compare(real, home_dataset)
    rep = compare(real, home_dataset, null_permutations=19)
    d, nn = rep.metrics["windows"]["discriminative_score"], rep.metrics["windows"]["nn_indistinguishability"]
    assert d["value"] == plain.value("windows.discriminative_score")  # the score itself is unchanged
    assert d["n_permutations"] == nn["n_permutations"] == 19 and rep.info["null_permutations"] == 19
    assert 0.0 <= d["null_median"] <= d["null_q95"] < d["value"]
    assert d["p_value"] == pytest.approx(1 / 20) and nn["p_value"] == pytest.approx(1 / 20)
    assert nn["value"] < nn["null_q05"]
    assert "permutation null" in rep.summary() and "permutation null" not in plain.summary()
    saved = json.loads(rep.to_json(tmp_path / "m.json").read_text())
    assert saved["metrics"]["windows"]["discriminative_score"]["p_value"] == pytest.approx(1 / 20)
    for bad in (-1, 1.5, True, 10_001):
        with pytest.raises(CompareError, match=r"null_permutations must be an integer in \[0, 10000\]"):
            compare(real, home_dataset, null_permutations=bad)


def test_like_with_like_keeps_the_real_months_or_warns(uci):
    """A year of synthetic days is not scored against two winter months without a word."""
    real = uci[["mains_power_w"]].resample("15min").mean()
    t = pd.date_range("2008-06-01", "2009-06-01", freq="15min", tz="UTC", inclusive="left")
    synth = pd.DataFrame({"mains_power_w": 400.0 + 100.0 * np.sin(np.arange(t.size) / 96 * 2 * np.pi)}, index=t)
    rep = compare(real, synth)
    i = rep.info
    assert i["real_months"] == "Jan, Dec" and i["synth_months"] == "Jan, Dec"
    assert i["n_synth_windows"] == 62 and i["n_synth_windows_outside_span"] == 364 - 62  # whole Paris days
    assert "like with like: 302 synthetic windows outside the real months (Jan, Dec) left out" in rep.summary()
    everything = compare(real, synth, match_span=False)
    assert everything.info["n_synth_windows"] == 364
    assert "WARNING: the sets differ in span: real windows in Jan, Dec, synthetic in Jan, Feb" in everything.summary()
    with pytest.raises(CompareError, match=r"share no month with the real windows \(Jan, Dec\)"):
        compare(real, synth[(synth.index >= "2008-07-01") & (synth.index < "2008-09-01")])


def test_verdicts_read_as_words(uci):
    from twinforge.fidelity.comparison import memorisation_verdict, overall_verdict

    assert memorisation_verdict(8.58).startswith("far from every real window")
    assert memorisation_verdict(1.0).startswith("as close as real windows")
    assert memorisation_verdict(0.1).startswith("closer to the real windows")
    win = {"discriminative_score": {"value": 0.05}, "nn_indistinguishability": {"value": 0.9}}
    assert overall_verdict(win)["verdict"] == "hard to tell apart"
    win = {"discriminative_score": {"value": 0.3}, "nn_indistinguishability": {"value": 0.9}}
    v = overall_verdict(win)
    assert v == {"verdict": "easy to tell apart", "rule": "discriminative 0.300 > 0.25 or NN 0.900 < 0.5"}
    win = {"discriminative_score": {"value": 0.2, "null_q95": 0.25}, "nn_indistinguishability": {"value": 0.7, "null_q05": 0.6}}
    assert overall_verdict(win)["verdict"] == "indistinguishable at these counts"
