"""Running campaigns: the bytes depend only on the campaign and its seed; weights land in runs.parquet."""


import numpy as np
import pandas as pd
import pytest

from twinforge.campaign.analysis import column_outcome, estimate, outcomes, paired_effects, read_runs
from twinforge.campaign.campaign import CampaignSpec, plan_campaign
from twinforge.campaign.executor import run_campaign
from twinforge.campaign.runner import execute_run
from twinforge.cli import main

from _support import digest

HOME = {
    "twin": "home", "runs": 3, "days": 2, "period": "15min", "start": "2024-07-20", "seed": 42,
    "sampler": "importance", "counterfactual": True,
    "events": {"heat_wave": {"rate_per_year": 3.0}},
    "proposal": {"heat_wave": {"rate_factor": 200.0}},
    "parameters": {"envelope.ua_w_per_k": {"dist": "lognorm", "s": 0.3, "scale": 200.0, "clip": [20.0, 4000.0]}},
}


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    out = tmp_path_factory.mktemp("serial") / "data"
    run_campaign(CampaignSpec.from_data(HOME), out, progress=False)
    return out


@pytest.mark.slow  # worker processes end to end (10-20 s): make test-slow
def test_same_bytes_with_1_2_or_4_workers(serial, tmp_path):
    c = CampaignSpec.from_data(HOME)
    ref = digest(serial)
    assert len(ref) >= 3 * c.runs + 3
    for workers in (2, 4):
        out = tmp_path / f"w{workers}"
        s = run_campaign(c, out, workers=workers, progress=False)
        assert s.runs_written == c.runs
        assert digest(out) == ref


def test_same_bytes_whatever_the_finishing_order(serial, tmp_path):
    c = CampaignSpec.from_data(HOME)
    seed = c.scenario.seed
    spec_json = c.scenario.to_json_dict()
    out = tmp_path / "reversed"
    for plan in reversed(plan_campaign(c, seed, [1, 3, 4, 5])):  # some runs, last first
        execute_run(spec_json, plan.to_json(), out, chash=c.config_hash(seed))
    s = run_campaign(c, out, mode="resume", progress=False)  # the rest, then finalize
    assert (s.runs_written, s.runs_skipped) == (2, 4)
    assert digest(out) == digest(serial)


def test_runs_table_carries_weights_pairs_seed_and_parameters(serial):
    c = CampaignSpec.from_data(HOME)
    runs = read_runs(serial)
    plans = plan_campaign(c, 42)
    assert list(runs.run_id) == list(range(6))
    for col in ("weight", "log_weight", "stratum", "pair_id", "counterfactual", "seed", "envelope.ua_w_per_k"):
        assert col in runs
    np.testing.assert_array_equal(runs.weight, [p.weight for p in plans])
    np.testing.assert_array_equal(runs.pair_id, [0, 0, 1, 1, 2, 2])
    np.testing.assert_array_equal(runs.counterfactual, [False, True] * 3)
    np.testing.assert_array_equal(runs["envelope.ua_w_per_k"], [p.config.envelope.ua_w_per_k for p in plans])
    assert (runs.seed == 42).all()
    ev = pd.read_parquet(serial / "events.parquet")
    hw = ev[ev.type == "heat_wave"]
    assert set(hw.run_id) <= {0, 2, 4}  # only factual members have the heat wave
    # overlapping waves are logged as one spell that counts its waves
    params = [{k: v for k, v in x.items() if v is not None} for x in hw.params]  # a struct: null where absent
    spells = [q for q in params if "merged_into" not in q]
    assert sum(q["waves"] for q in spells) == sum(len(p.events) for p in plans)


def test_counterfactual_members_differ_only_by_the_event(serial):
    a = pd.read_parquet(serial / "samples" / "home" / "run-000000.parquet")
    b = pd.read_parquet(serial / "samples" / "home" / "run-000001.parquet")
    runs = read_runs(serial)
    hot = (a.temp_outdoor_c - b.temp_outdoor_c).abs() > 0.2
    has_event = bool(len(plan_campaign(CampaignSpec.from_data(HOME), 42, [0])[0].events))
    assert hot.any() == has_event
    # occupancy and appliances share their streams: identical before the event starts
    first = hot.idxmax() if hot.any() else len(a)
    pd.testing.assert_series_equal(a.occupants_home[:first], b.occupants_home[:first])
    pairs, eff = paired_effects(serial, column_outcome("temp_indoor_c", "mean"))
    assert list(pairs.pair_id) == [0, 1, 2] and np.isfinite(eff.value)
    assert runs.weight.iloc[0] == runs.weight.iloc[1]


def test_grid_importance_campaign_end_to_end(tmp_path):
    c = CampaignSpec.from_data({
        "twin": "grid", "runs": 4, "days": 2, "period": "15min", "start": "2024-07-25", "seed": 5,
        "grid": {"n_homes": 3, "protection": {"fault_rate_per_year": 0.0}},
        "sampler": "importance",
        "events": {"heat_wave": {}, "feeder_fault": {}},
        "proposal": {"heat_wave": {"rate_factor": 50.0}, "feeder_fault": {"rate_factor": 200.0, "min_events": 1}},
    })
    run_campaign(c, tmp_path / "grid", workers=2, progress=False)
    runs = read_runs(tmp_path / "grid")
    plans = plan_campaign(c, 5)
    np.testing.assert_allclose(runs.weight, [p.weight for p in plans])
    assert (runs.weight < 0.1).all()  # oversampled events: small likelihood ratios
    ev = pd.read_parquet(tmp_path / "grid" / "events.parquet")
    assert set(ev[ev.type == "outage"].run_id) == set(range(4))  # every run has its fault
    # energy not served per run, its weighted (natural-climate) expectation
    ens = lambda run: run.events.query("type == 'outage'").params.map(lambda p: p["energy_not_served_j"] or 0.0).sum()
    est = estimate(tmp_path / "grid", ens)
    df = outcomes(tmp_path / "grid", ens)
    assert est.value == pytest.approx(float(np.mean(df.value * df.weight)))
    assert est.value > 0 and est.n == 4 and 1 <= est.ess <= 4


def test_cli_runs_and_estimates_a_campaign(tmp_path, capsys):
    spec = tmp_path / "c.toml"
    spec.write_text(
        'twin = "home"\nruns = 2\ndays = 1\nperiod = "1h"\nseed = 3\nstart = "2024-07-01"\n'
        "[events.heat_wave]\nrate_per_year = 5.0\n"
    )
    assert main(["campaign", "run", str(spec), "--out", str(tmp_path / "d"), "--quiet"]) == 0
    assert "wrote 2 run(s)" in capsys.readouterr().out
    assert main(["campaign", "run", str(spec), "--out", str(tmp_path / "d"), "--quiet"]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(["campaign", "estimate", str(tmp_path / "d"), "--column", "temp_indoor_c", "--above", "-50"]) == 0
    assert "= 1 +/- 0" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text('twin = "home"\nruns = 2\n[events.heat_wave]\nrate_per_year = -1\n')
    assert main(["campaign", "run", str(bad), "--out", str(tmp_path / "e")]) == 2
    err = capsys.readouterr().err
    assert "bad.toml: events.heat_wave.rate_per_year: Input should be greater than 0" in err
    assert not (tmp_path / "e").exists()
