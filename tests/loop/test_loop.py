"""Closed-loop sampling: allocation arithmetic, exact pooled weights, rounds on the machine twin."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from twinforge.campaign.campaign import CampaignSpec
from twinforge.campaign.loop import LoopSettings, allocate, closed_loop, round_seed

FEATURES = ("accel_rms_g", "accel_kurtosis", "accel_env_bpfo_g", "accel_env_bpfi_g")


def test_allocate_fills_the_largest_shortfall_and_keeps_every_stratum():
    got = allocate({"none": 10, "fault": 0}, {"none": 0.5, "fault": 0.5}, 10)
    assert got == {"none": 1, "fault": 9}
    assert sum(allocate({"a": 3, "b": 7, "c": 1}, {"a": 0.2, "b": 0.2, "c": 0.6}, 7).values()) == 7
    assert min(allocate({"a": 0, "b": 100}, {"a": 1.0, "b": 0.0}, 5).values()) >= 1


def test_allocate_from_nothing_keeps_the_proportions():
    assert allocate({}, {"none": 1 / 3, "imbalance": 1 / 3, "outer": 1 / 3}, 12) == \
        {"none": 4, "imbalance": 4, "outer": 4}
    assert allocate({}, {"a": 0.25, "b": 0.75}, 8) == {"a": 2, "b": 6}


def test_round_seeds_are_distinct_and_reproducible():
    seeds = {round_seed(7, r, p) for r in range(5) for p in ("", "pairs", "validation")}
    assert len(seeds) == 15 and round_seed(7, 3) == round_seed(7, 3)


@pytest.mark.parametrize(("kw", "message"), [
    ({"rounds": 0}, "rounds"),
    ({"balance": 1.5}, "balance"),
    ({"model": "svm"}, "unknown model 'svm'; known: random_forest"),
    ({"features": []}, "features"),
])
def test_bad_loop_settings_name_the_field(kw, message):
    with pytest.raises(ValidationError, match=message):
        LoopSettings(**{"features": FEATURES, **kw})


def machine_campaign(sampler: str = "stratified") -> CampaignSpec:
    data = {
        "name": "loop-test", "twin": "machine", "days": 0.05, "period": "5min", "start": "2024-03-01",
        "seed": 5, "sampler": sampler, "machine": {"fault_modes": [], "snapshot_duration_s": 0.02},
        "events": {"imbalance": {"rate_per_year": 12.0, "duration_median_h": 3.0, "duration_sigma": 0.5,
                                 "severity": {"dist": "uniform", "low": 0.05, "high": 0.5}}},
    }
    if sampler == "stratified":
        data["classes"] = {"none": 1, "imbalance": 1}
    else:
        data["runs"] = 2
    return CampaignSpec.from_data(data)


def test_the_loop_needs_a_stratified_campaign(tmp_path):
    with pytest.raises(ValueError, match="loop: needs a stratified campaign"):
        closed_loop(machine_campaign("natural"), tmp_path, LoopSettings(features=FEATURES))


def test_a_missing_validation_column_is_named(tmp_path):
    with pytest.raises(ValueError, match="loop: the validation set has no column 'accel_kurtosis'"):
        closed_loop(machine_campaign(), tmp_path, LoopSettings(features=FEATURES),
                    validation=pd.DataFrame({"accel_rms_g": [1.0], "accel_env_bpfo_g": [1.0],
                                             "accel_env_bpfi_g": [1.0], "fault": ["none"]}))


@pytest.fixture(scope="module")
def loop_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("loop")
    st = LoopSettings(rounds=2, runs_per_round=4, features=FEATURES, relabel={"": "none"},
                      validation_runs_per_class=1, pairs_share=0.5)
    return closed_loop(machine_campaign(), out, st), out


def test_rounds_are_recorded_and_the_allocation_follows_the_recorded_target(loop_run):
    res, out = loop_run
    saved = json.loads((out / "loop.json").read_text())
    assert [r["round"] for r in saved["rounds"]] == [0, 1]
    r0, r1 = res.rounds
    assert r0["allocation"] == {"none": 2, "imbalance": 2}          # the campaign's proportions
    factual = sum(r1["allocation"].values())
    assert factual + 2 * sum(r1["pairs"].values()) == 4
    assert r1["allocation"] == allocate(r0["counts"], r0["next_target"], 4 - 2 * sum(r1["pairs"].values()))
    if r1["pairs"]:       # a pair's no-event member counts in the no-event stratum
        assert r1["counts"]["none"] == r0["counts"]["none"] + r1["allocation"]["none"] + 1
    assert r1["runs_total"] == 8 and sum(r1["counts"].values()) == 8
    for r in res.rounds:
        sc = r["scores"]["validation"]
        assert 0.0 <= sc["balanced_accuracy"] <= 1.0
        assert sum(map(sum, sc["confusion"])) == sc["n"]
    assert (out / "round_00" / "manifest.json").exists() and (out / "validation" / "manifest.json").exists()


def test_pooled_weights_are_the_stratified_weights_of_all_rounds(loop_run):
    res, _ = loop_run
    w = res.weights()
    n = len(w)
    for h, g in w.groupby("stratum"):
        assert np.allclose(g["weight"], res.probabilities[h] * n / len(g))
    # the weighted stratum shares are the natural probabilities (within the strata sampled)
    total_p = sum(res.probabilities.values())
    assert w["weight"].sum() == pytest.approx(n * total_p)
    for h, p in res.probabilities.items():
        assert w.loc[w["stratum"] == h, "weight"].sum() / w["weight"].sum() == pytest.approx(p / total_p)


@pytest.mark.slow  # a second loop of the fixture's size
def test_same_seed_same_rounds(loop_run, tmp_path):
    res, out = loop_run
    again = closed_loop(machine_campaign(), tmp_path / "again", LoopSettings(
        rounds=2, runs_per_round=4, features=FEATURES, relabel={"": "none"}, validation_runs_per_class=1,
        pairs_share=0.5))
    assert json.loads((tmp_path / "again" / "loop.json").read_text()) == json.loads((out / "loop.json").read_text())
    pd.testing.assert_frame_equal(again.samples, res.samples)
