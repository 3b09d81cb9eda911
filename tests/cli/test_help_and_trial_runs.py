"""What a new user meets first: help texts, defaults, messages, a campaign tried small,
progress that counts right and summaries that read right. In-process CLI calls."""

from __future__ import annotations

import json
import re

import pytest

from twinforge.cli import _parser, main


def _help(capsys, *argv: str) -> str:
    assert main([*argv, "--help"]) == 0  # argparse's exit code, returned
    return re.sub(r"\s+", " ", capsys.readouterr().out)


def test_generate_help_shows_the_defaults_of_the_models(capsys):
    from twinforge.campaign.spec import GenerateSpec
    from twinforge.twins.grid import GridConfig
    from twinforge.twins.machine import MachineConfig

    text = _help(capsys, "generate")
    f = GenerateSpec.model_fields
    assert f"(homes, feeders, machines; default {f['runs'].default})" in text
    assert f"(default {f['days'].default:g})" in text
    assert f"(default {f['period'].default};" in text
    assert f"default {f['start'].default:%Y-%m-%d}" in text
    assert f"homes per feeder (default {GridConfig.model_fields['n_homes'].default})" in text
    assert f"(default {MachineConfig.model_fields['sample_rate_hz'].default / 1000:g}kHz)" in text


@pytest.mark.parametrize("command", ["info", "verify"])
def test_info_and_verify_describe_their_argument(capsys, command):
    text = _help(capsys, command)
    assert "path dataset folder (written by twinforge generate or campaign run)" in text


def test_campaign_estimate_help_names_the_default_statistic(capsys):
    assert re.search(r"--stat \{max,min,mean,sum,std\}", _help(capsys, "campaign", "estimate"))


@pytest.mark.parametrize("command", ["info", "verify"])
def test_a_missing_folder_gets_the_same_message_from_info_and_verify(tmp_path, capsys, command, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main([command, "nodata"]) == 2
    assert capsys.readouterr().err == "twinforge: error: no dataset at nodata: the folder does not exist\n"


@pytest.mark.parametrize("command", ["info", "verify"])
def test_a_samples_folder_is_pointed_to_its_dataset(tmp_path, capsys, command):
    (tmp_path / "manifest.json").write_text("{}")
    (tmp_path / "samples").mkdir()
    assert main([command, str(tmp_path / "samples")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"the dataset is its parent folder {tmp_path}" in err


def test_campaign_run_tries_a_campaign_small(tmp_path, capsys):
    out = tmp_path / "trial"
    rc = main(["campaign", "run", "grid_heat_wave_outage", "--runs", "2", "--days", "1",
               "--out", str(out), "--quiet"])
    assert rc == 0, capsys.readouterr().err
    manifest = json.loads((out / "manifest.json").read_text())
    scenario = manifest["dataset"]["scenario"]
    assert scenario["runs"] == 2 and scenario["days"] == 1.0 and len(manifest["runs"]) == 2
    assert manifest["dataset"]["campaign"]["sampler"] == "importance"  # the rest of the file kept
    text = capsys.readouterr().out
    assert "2.0 days of runs simulated (each a feeder of 50 homes)" in text  # 2 runs of a day


def test_a_stratified_campaign_scales_its_classes(tmp_path):
    from twinforge.campaign.campaign import load_campaign
    from twinforge.cli import _load_campaign_small

    args = _parser().parse_args(["campaign", "run", "machine_faults", "--runs", "4"])
    campaign = _load_campaign_small(args, load_campaign)
    assert sum(campaign.classes.values()) == 4 == campaign.factual_runs
    assert campaign.runs == 8  # counterfactual pairs
    assert all(v >= 1 for v in campaign.classes.values()) and set(campaign.classes) == {
        "none", "imbalance", "bearing_outer_race"
    }
    args = _parser().parse_args(["campaign", "run", "machine_faults", "--runs", "7"])
    assert sorted(_load_campaign_small(args, load_campaign).classes.values()) == [2, 2, 3]


@pytest.mark.parametrize("runs, message", [
    ("0", "--runs must be >= 1, got 0"),
    ("2", "--runs must be at least the number of strata (3: bearing_outer_race, imbalance, none)"),
])
def test_bad_campaign_overrides_get_one_line(capsys, runs, message, tmp_path):
    assert main(["campaign", "run", "machine_faults", "--runs", runs, "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "x").exists()


class _Bar:
    """Records what write_run reports (the tqdm interface it uses)."""

    disable = False

    def __init__(self, total):
        self.total, self.n, self.updates = total, 0.0, []

    def update(self, n=1):
        self.n += n
        self.updates.append(n)


def test_progress_counts_runs_and_ends_exactly_at_the_total_when_machines_fail_early(tmp_path):
    from twinforge.campaign.runner import plan_runs, write_run
    from twinforge.campaign.spec import load_spec
    from twinforge.export import DatasetWriter

    spec = load_spec(None, twin="machine", runs=2, days=2, period="60s", seed=5,
                     machine={"until_failure": True, "snapshot_duration_s": 0.01})
    writer = DatasetWriter(tmp_path / "m")
    bar = _Bar(total=2)
    for plan in plan_runs(spec, 5):
        rows, _ = write_run(writer, spec, plan, seed=5, chash="x", bar=bar)
        assert rows < spec.grid().n_steps  # each machine failed before the horizon
    assert bar.n == pytest.approx(2.0, abs=1e-12)
    assert all(0 <= u <= 1 for u in bar.updates)


def test_the_bar_moves_once_per_chunk_and_never_changes_the_bytes(tmp_path):
    """A chunk is a row group: the bar follows the chunks and never chooses them (a run
    written with a bar and regenerated without one, as verify does, is the same file)."""
    from twinforge.campaign.runner import plan_runs, write_run
    from twinforge.campaign.spec import load_spec
    from twinforge.export import DatasetWriter

    spec = load_spec(None, runs=1, days=3, period="1min", seed=5, chunk_samples=1000)
    (plan,) = plan_runs(spec, 5)
    bar = _Bar(total=1)
    write_run(DatasetWriter(tmp_path / "bar"), spec, plan, seed=5, chash="x", bar=bar)
    write_run(DatasetWriter(tmp_path / "quiet"), spec, plan, seed=5, chash="x")
    steps = [u for u in bar.updates if u > 0]
    assert len(steps) == 5 and steps[0] == pytest.approx(1000 / 4320) and bar.n == pytest.approx(1.0)
    name = "samples/home/run-000000.parquet"
    assert (tmp_path / "bar" / name).read_bytes() == (tmp_path / "quiet" / name).read_bytes()


def test_the_summary_says_how_much_time_was_simulated(tmp_path, capsys):
    rc = main(["generate", "grid", "--homes", "5", "--days", "2", "--period", "1h", "--seed", "1",
               "--out", str(tmp_path / "g"), "--quiet"])
    assert rc == 0
    out = capsys.readouterr().out
    assert re.search(r"48 rows, [\d,]+ values; 2\.0 days of runs simulated \(each a feeder of 5 homes\) "
                     r"in [\d.]+ s; [\d,.]+ (days|h|min|s) simulated per second", out), out
    assert "values/s" not in out
