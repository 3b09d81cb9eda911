"""alpha-precision, beta-recall and authenticity on sets whose answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twinforge.fidelity.coverage import INFORMATION_INFO, information_entries, information_richness

N, D = 1000, 6


@pytest.fixture(scope="module")
def real() -> np.ndarray:
    return np.random.default_rng(1).normal(size=(N, D))


def fresh(seed: int = 2) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(N, D))


def test_identical_sets_score_perfect_and_are_all_copies(real):
    v = information_richness(real, real)
    assert v["alpha_precision"] == pytest.approx(1.0, abs=0.01)
    assert v["beta_recall"] == pytest.approx(1.0, abs=0.01)
    assert v["coverage"] == 1.0
    assert v["authenticity"] == 0.0  # every synthetic window is a copy


def test_fresh_draws_of_the_real_law_score_near_one_and_half_authentic(real):
    v = information_richness(real, fresh())
    assert v["alpha_precision"] > 0.95
    assert v["beta_recall"] > 0.9
    assert abs(v["alpha_precision_gap"]) < 0.02
    assert v["coverage"] > 0.8            # 0.85 here: a k-NN ball misses some fresh points
    assert 0.4 < v["authenticity"] < 0.6


def test_shrunken_support_crowds_the_centre_and_misses_the_tails(real):
    v = information_richness(real, 0.5 * fresh())
    assert v["alpha_precision_gap"] > 0.3          # P_alpha above alpha: too typical
    assert v["alpha_precision"] < 0.4
    assert v["beta_recall"] < 0.4
    # the curve lies above the diagonal at every inner level
    lev, cur = np.array(v["levels"]), np.array(v["precision_curve"])
    assert np.all(cur[1:-1] >= lev[1:-1])


def test_shifted_support_loses_precision_and_recall_with_the_shift(real):
    scores = [information_richness(real, fresh() + shift) for shift in (0.0, 1.0, 2.0)]
    ip = [s["alpha_precision"] for s in scores]
    ir = [s["beta_recall"] for s in scores]
    assert ip[0] > ip[1] > ip[2] and ir[0] > ir[1] > ir[2]
    assert ip[2] < 0.05 and ir[2] < 0.05
    assert scores[2]["alpha_precision_gap"] < -0.4   # P_alpha below alpha: outside the real support


def test_half_of_the_support_is_precise_but_does_not_recall(real):
    v = information_richness(real, np.abs(fresh()))   # one orthant of the real law only
    assert v["alpha_precision"] > 0.9     # every synthetic window is realistic
    assert v["coverage"] < 0.2            # but most real windows are not reached
    assert v["beta_recall"] < 0.2


def test_curves_are_monotone_and_end_at_the_coverage(real):
    v = information_richness(real, fresh(), n_levels=11)
    p, r = np.array(v["precision_curve"]), np.array(v["recall_curve"])
    assert len(p) == len(r) == 11 and p[0] == r[0] == 0.0
    assert np.all(np.diff(p) >= 0) and np.all(np.diff(r) >= 0)
    assert r[-1] == v["coverage"]


def test_scale_of_the_features_does_not_matter(real):
    syn = fresh()
    scale = np.array([1.0, 1e3, 1e-3, 5.0, 1.0, 2.0])
    a = information_richness(real, syn)
    b = information_richness(real * scale, syn * scale)
    for key in ("alpha_precision", "beta_recall", "authenticity"):
        assert a[key] == pytest.approx(b[key], abs=1e-9)


def test_nan_features_are_read_as_the_real_mean(real):
    syn = fresh()
    syn[::7, 2] = np.nan
    v = information_richness(real, syn)
    assert np.isfinite(v["alpha_precision"]) and np.isfinite(v["beta_recall"])


@pytest.mark.parametrize(("kw", "message"), [
    ({"k": 0}, r"k must be an integer in \[1, 999\]"),
    ({"k": 1000}, r"k must be an integer in \[1, 999\]"),
    ({"n_levels": 2}, "n_levels must be an integer >= 3"),
])
def test_bad_settings_name_the_field_and_range(real, kw, message):
    with pytest.raises(ValueError, match=message):
        information_richness(real, fresh(), **kw)


def test_too_few_windows_raise_or_give_notes(real):
    with pytest.raises(ValueError, match="at least 10 windows a side, got 1000 real and 9 synthetic"):
        information_richness(real, fresh()[:9])
    entries = information_entries(real, fresh()[:9])
    assert set(entries) == set(INFORMATION_INFO)
    assert all(e["value"] is None and "at least 10 windows" in e["note"] for e in entries.values())


def test_the_fidelity_report_carries_the_information_section():
    from twinforge.fidelity.comparison import compare_prepared
    from twinforge.fidelity.prepared import ComparisonSettings, PreparedComparison

    rng = np.random.default_rng(3)
    t = pd.date_range("2024-01-01", periods=24 * 30, freq="h", tz="UTC")
    daily = 500 + 300 * np.sin(2 * np.pi * t.hour / 24)
    real = pd.DataFrame({"load_power_w": daily + rng.normal(0, 50, len(t))}, index=t)
    synth = pd.DataFrame({"load_power_w": daily + rng.normal(0, 50, len(t)), "run_id": 0}, index=t)
    settings = ComparisonSettings.build(channels={"load_power_w": "load_power_w"}, period="1h", window="1D",
                                        tz="UTC")
    prep = PreparedComparison.prepare(real, settings)
    rep = compare_prepared(prep, prep.side(synth), n_estimators=5)
    info = rep.metrics["information"]
    assert 0.7 < info["alpha_precision"]["value"] <= 1.0
    assert 0.7 < info["beta_recall"]["value"] <= 1.0
    assert "alpha-precision" in rep.summary()
    table = rep.table()
    assert set(table.loc[table["group"] == "information", "metric"]) == set(INFORMATION_INFO)
    high = synth.assign(load_power_w=1.3 * synth["load_power_w"])   # 30 % too high: outside the support
    worse = compare_prepared(prep, prep.side(high), n_estimators=5)
    assert worse.metrics["information"]["alpha_precision"]["value"] < info["alpha_precision"]["value"] - 0.3


@pytest.fixture(scope="module")
def campaign_dataset(tmp_path_factory):
    from twinforge.campaign.campaign import CampaignSpec
    from twinforge.campaign.executor import run_campaign

    c = CampaignSpec.from_data({
        "name": "intent", "twin": "machine", "days": 0.01, "period": "5min", "start": "2024-03-01", "seed": 11,
        "sampler": "stratified", "machine": {"fault_modes": [], "snapshot_duration_s": 0.02},
        "classes": {"none": 12, "imbalance": 12},
        "events": {"imbalance": {"rate_per_year": 12.0, "duration_median_h": 3.0, "duration_sigma": 0.5,
                                 "severity": {"dist": "uniform", "low": 0.05, "high": 0.5}}},
        "parameters": {"vibration.slip_fraction": {"dist": "uniform", "loc": 0.005, "scale": 0.015}},
    })
    out = tmp_path_factory.mktemp("intent") / "ds"
    run_campaign(c, out, progress=False)
    return out


def test_intentionality_reads_what_the_campaign_asked_for(campaign_dataset):
    from twinforge.fidelity.coverage import intentionality

    v = intentionality(campaign_dataset)
    assert v["n_runs"] == 24 and v["class_balance"]["total_variation"] == 0.0
    e = v["events"]["imbalance"]
    assert e["generated_share"] == 0.5                    # the class asked for, half the runs
    # one event type: the stratified weights give the natural probability back exactly
    assert e["weighted_share"] == pytest.approx(e["natural_probability"], rel=1e-9)
    assert e["oversampling"] == pytest.approx(0.5 / e["natural_probability"])
    p = v["parameters"]["vibration.slip_fraction"]
    assert p["ks_uniform"] < 1.63 / np.sqrt(24)          # the law asked for (KS 1 % critical value)
    assert p["bins"] == 10 and p["bins_filled"] >= 0.7


def test_intentionality_entries_join_the_report_table(campaign_dataset):
    from twinforge.fidelity.comparison import FidelityReport
    from twinforge.fidelity.coverage import intentionality_entries

    entries = intentionality_entries(campaign_dataset)
    assert set(entries) == {"class_balance_tv", "event_share.imbalance", "parameter_ks.vibration.slip_fraction"}
    empty = np.empty((0, 1, 1))
    rep = FidelityReport(metrics={"channels": {}, "intentionality": entries}, info={}, real=pd.DataFrame(),
                         synthetic=pd.DataFrame(), real_windows=empty, synth_windows=empty,
                         real_starts=pd.DatetimeIndex([]), synth_starts=pd.DatetimeIndex([]),
                         synth_window_runs=np.empty(0), real_features=np.empty((0, 1)),
                         synth_features=np.empty((0, 1)), feature_names=[])
    t = rep.table()
    assert sorted(t.loc[t["group"] == "intentionality", "metric"]) == sorted(entries)
