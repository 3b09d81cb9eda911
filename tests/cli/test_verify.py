"""`twinforge verify` passes a sound dataset and finds what is wrong with a damaged one."""

import json
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from twinforge.campaign.runner import generate
from twinforge.campaign.spec import load_spec
from twinforge.campaign.verify import verify
from twinforge.cli import main


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    base = tmp_path_factory.mktemp("verify")
    home = base / "home"
    generate(load_spec(None, runs=3, days=1, period="15min", seed=4), home, progress=False)
    grid = base / "grid"
    generate(load_spec(None, twin="grid", runs=1, days=1, period="15min", seed=4, grid={"n_homes": 10}), grid,
             progress=False)
    return home, grid


def test_sound_datasets_pass_and_runs_regenerate(datasets):
    for path in datasets:
        rep = verify(path, regenerate=3)
        assert rep.ok, rep.text()
        assert rep.checked_runs >= 1 and len(rep.regenerated) >= 1


def test_cli_exit_codes(datasets, tmp_path, capsys):
    home, _ = datasets
    assert main(["verify", str(home), "--regenerate", "1"]) == 0
    assert "OK" in capsys.readouterr().out
    assert main(["verify", str(tmp_path / "nothing")]) == 2


def test_a_broken_power_balance_and_a_changed_value_are_found(datasets, tmp_path):
    home, _ = datasets
    bad = tmp_path / "bad"
    shutil.copytree(home, bad)
    f = bad / "samples" / "home" / "run-000001.parquet"
    table = pq.read_table(f)
    mains = table.column("mains_power_w").to_numpy().copy()
    mains[5] += 1000.0
    table = table.set_column(table.schema.get_field_index("mains_power_w"), "mains_power_w", pa.array(mains))
    pq.write_table(table, f)
    rep = verify(bad, regenerate=3)
    assert not rep.ok
    text = rep.text()
    assert "mains_power_w != load_power_w - pv_power_w + battery_power_w" in text
    assert "regenerated samples/home/run-000001.parquet differs" in text


def test_a_missing_file_and_an_unfinished_dataset_are_found(datasets, tmp_path):
    home, _ = datasets
    bad = tmp_path / "bad"
    shutil.copytree(home, bad)
    (bad / "samples" / "home" / "run-000002.parquet").unlink()
    m = json.loads((bad / "manifest.json").read_text())
    m["finalized"] = False
    (bad / "manifest.json").write_text(json.dumps(m))
    text = verify(bad, regenerate=0).text()
    assert "never finalized" in text and "samples/home/run-000002.parquet is missing" in text


def test_a_campaign_dataset_verifies_and_its_campaign_round_trips(tmp_path):
    import json

    from twinforge.campaign.campaign import CampaignSpec, load_campaign
    from twinforge.campaign.executor import run_campaign

    c = load_campaign(
        __import__("pathlib").Path(__file__).parents[2] / "twinforge" / "data" / "campaigns" / "home_heat_wave.toml",
        runs=4, days=2, period="30min",
    )
    out = tmp_path / "c"
    run_campaign(c, out, progress=False)
    stored = json.loads((out / "manifest.json").read_text())["dataset"]
    assert CampaignSpec.from_json_dict(stored["campaign"]).config_hash(stored["seed"]) == stored["config_hash"]
    rep = verify(out, regenerate=2)
    assert rep.ok, rep.text()
