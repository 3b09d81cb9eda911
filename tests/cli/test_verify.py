"""`twinforge verify` passes a sound dataset and finds every kind of damage, without
regenerating: checksums recorded at write time, the merged tables against the per-run
shards, every run's invariants, the plans, stray files. One test per kind of corruption."""

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from twinforge.campaign.campaign import CampaignSpec
from twinforge.campaign.executor import run_campaign
from twinforge.campaign.runner import generate
from twinforge.campaign.spec import load_spec
from twinforge.campaign.verify import verify
from twinforge.cli import main

# A small importance-sampled campaign: weights differ from 1, so a changed weight is visible.
CAMPAIGN = {
    "twin": "home", "runs": 3, "days": 2, "period": "30min", "start": "2024-07-20", "seed": 21,
    "sampler": "importance", "events": {"heat_wave": {}}, "proposal": {"heat_wave": {"rate_factor": 50.0}},
}


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    base = tmp_path_factory.mktemp("verify")
    home = base / "home"
    generate(load_spec(None, runs=3, days=1, period="15min", seed=4), home, progress=False)
    grid = base / "grid"
    generate(load_spec(None, twin="grid", runs=1, days=1, period="15min", seed=4, grid={"n_homes": 10}), grid,
             progress=False)
    campaign = base / "campaign"
    run_campaign(CampaignSpec.from_data(CAMPAIGN), campaign, progress=False)
    return home, grid, campaign


@pytest.fixture
def copy(datasets, tmp_path):
    """A fresh copy of one of the datasets, to damage."""
    def make(which: int = 0) -> Path:
        out = tmp_path / f"copy{which}"
        shutil.copytree(datasets[which], out)
        return out
    return make


def part(root: Path, run: int) -> Path:
    return root / "samples" / "home" / f"run-{run:06d}.parquet"


def shard(root: Path, run: int, name: str) -> Path:
    return root / "_runs" / "home" / f"run-{run:06d}" / name


def rewrite(path: Path, fn) -> None:
    """Rewrite a Parquet file through ``fn(table) -> table``, keeping its schema metadata."""
    table = pq.read_table(path)
    pq.write_table(fn(table), path)


def set_column(table: pa.Table, name: str, values) -> pa.Table:
    i = table.schema.get_field_index(name)
    return table.set_column(i, table.schema.field(i), pa.array(values, type=table.schema.field(i).type))


def strip_checksums(root: Path) -> None:
    """Make the dataset look written by a twinforge that recorded no checksums."""
    m = json.loads((root / "manifest.json").read_text())
    for e in m["runs"]:
        e.pop("sha256"), e.pop("size")
    m.pop("tables")
    (root / "manifest.json").write_text(json.dumps(m))


def problems(root: Path, **kw) -> str:
    rep = verify(root, **kw)
    assert not rep.ok, rep.text()
    return rep.text()


def changed(text: str, where: str, f: str) -> bool:
    """Whether the report says file ``f`` of ``where`` is not the file written (its size, or
    with the same size, its SHA-256)."""
    return f"{where}: {f} differs from the file written" in text or re.search(
        rf"{re.escape(where)}: {re.escape(f)} has [0-9,]+ bytes, [0-9,]+ when written", text) is not None


def one_clear_run(root: Path, capsys, code: int = 1) -> str:
    """The CLI on ``root``: the exit code, no traceback; returns stdout."""
    capsys.readouterr()
    assert main(["verify", str(root), "--quiet"]) == code
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return out


# -- sound datasets -------------------------------------------------------------------------


def test_sound_datasets_pass_and_runs_regenerate(datasets):
    for path in datasets:
        rep = verify(path, regenerate=3)
        assert rep.ok, rep.text()
        assert rep.checked_runs >= 1 and len(rep.regenerated) >= 1 and rep.checked_files >= 5
        assert rep.notes == []


def test_cli_exit_codes(datasets, tmp_path, capsys):
    home = datasets[0]
    assert main(["verify", str(home), "--regenerate", "1", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "OK" in out and "1 regenerated" in out
    assert main(["verify", str(home), "--regenerate", "all", "--quiet"]) == 0
    assert "3 regenerated" in capsys.readouterr().out
    assert main(["verify", str(tmp_path / "nothing")]) == 2
    assert capsys.readouterr().err == f"twinforge: error: no dataset at {tmp_path / 'nothing'}: the folder does not exist\n"
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert main(["verify", str(plain)]) == 2
    assert capsys.readouterr().err == f"twinforge: error: {plain} is a file, not a twinforge dataset folder\n"
    assert main(["verify", str(home), "--regenerate", "-1"]) == 2
    assert "must be a whole number >= 0 or 'all', got '-1'" in capsys.readouterr().err


# -- one test per kind of damage (issue: verify passed all of these) -------------------------


def test_an_event_ending_before_it_starts(copy, capsys):
    root = copy(2)
    ev = pq.read_table(root / "events.parquet")
    assert ev.num_rows > 0
    end = ev.column("start").to_pylist()
    rewrite(root / "events.parquet", lambda t: set_column(
        t, "end", [s - __import__("datetime").timedelta(hours=1) for s in end]))
    text = problems(root)
    assert changed(text, "merged table", "events.parquet")
    assert "events.parquet differs from the merge of the runs' shards (first: column end, row 0" in text
    one_clear_run(root, capsys)


def test_an_event_changed_in_a_later_run_is_found_at_its_row(copy, capsys):
    """The merged events are compared run by run: the reported row is the file's own."""
    root = copy(0)
    ev = pq.read_table(root / "events.parquet")
    last = ev.column("run_id").to_pylist().index(max(ev.column("run_id").to_pylist()))
    assert last > 0
    sev = ev.column("severity").to_pylist()
    sev[-1] = 123.0
    rewrite(root / "events.parquet", lambda t: set_column(t, "severity", sev))
    text = problems(root)
    assert f"events.parquet differs from the merge of the runs' shards (first: column severity, row {ev.num_rows - 1}: 123.0" in text
    one_clear_run(root, capsys)


def test_an_event_ending_before_it_starts_in_an_old_dataset_is_found_by_the_invariants(copy):
    root = copy(2)
    strip_checksums(root)
    run = pq.read_table(root / "events.parquet").column("run_id")[0].as_py()
    for path in (root / "events.parquet", root / "_runs" / "home" / f"run-{run:06d}" / "events.parquet"):
        rewrite(path, lambda t: set_column(t, "end", [s - __import__("datetime").timedelta(hours=1)
                                                        for s in t.column("start").to_pylist()]))
    text = problems(root)
    assert "no checksums in the manifest (written by an older twinforge)" in text
    assert f"run home/{run}: event" in text and "before it starts" in text


@pytest.mark.parametrize("name", ["events.parquet", "runs.parquet"])
def test_a_merged_table_deleted(copy, name, capsys):
    root = copy(0)
    (root / name).unlink()
    assert f"merged table: listed file {name} is missing" in problems(root)
    one_clear_run(root, capsys)


@pytest.mark.parametrize("name", ["events.parquet", "runs.parquet"])
def test_a_merged_table_truncated(copy, name, capsys):
    root = copy(2)
    data = (root / name).read_bytes()
    (root / name).write_bytes(data[: len(data) // 2])
    text = problems(root)
    assert f"merged table: {name} has {len(data) // 2:,} bytes, {len(data):,} when written" in text
    assert f"{name} is not readable Parquet" in text
    one_clear_run(root, capsys)


def test_every_weight_set_to_nine(copy, capsys):
    root = copy(2)
    rewrite(root / "runs.parquet", lambda t: set_column(t, "weight", [9.0] * t.num_rows))
    text = problems(root)
    assert changed(text, "merged table", "runs.parquet")
    assert "runs.parquet differs from the merge of the runs' shards (first: column weight" in text
    assert "run home/0: runs.parquet has weight = 9.0, planned" in text
    one_clear_run(root, capsys)


def test_every_weight_set_to_nine_everywhere_without_checksums_is_found_by_the_plans(copy):
    root = copy(2)
    strip_checksums(root)
    for path in [root / "runs.parquet", *sorted(root.glob("_runs/home/run-*/run.parquet"))]:
        rewrite(path, lambda t: set_column(t, "weight", [9.0] * t.num_rows))
    text = problems(root)
    assert "run home/0: runs.parquet has weight = 9.0, planned" in text


def test_a_corrupt_runs_shard(copy, capsys):
    root = copy(0)
    f = shard(root, 1, "run.parquet")
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0xFF
    data[-6] ^= 0xFF  # the footer length too
    f.write_bytes(bytes(data))
    text = problems(root)
    assert "run home/1: _runs/home/run-000001/run.parquet differs from the file written" in text  # same size
    assert "run home/1: run.parquet is not readable Parquet" in text
    one_clear_run(root, capsys)


def test_a_stray_run_file(copy, capsys):
    root = copy(0)
    stray = root / "samples" / "home" / "run-000099.parquet"
    assert stray.parent.is_dir()  # the twin's folder holds every run's file
    shutil.copy(part(root, 0), stray)
    assert "stray file samples/home/run-000099.parquet: not in the manifest" in problems(root)
    one_clear_run(root, capsys)


def test_a_small_shift_in_one_run(copy, capsys):
    root = copy(0)
    rewrite(part(root, 1), lambda t: set_column(t, "temp_indoor_c", (t.column("temp_indoor_c").to_numpy() + 0.1)))
    text = problems(root)
    assert changed(text, "run home/1", "samples/home/run-000001.parquet")
    assert "run home/0" not in text and "run home/2" not in text
    one_clear_run(root, capsys)


def test_a_channel_set_to_nan(copy, capsys):
    root = copy(0)
    rewrite(part(root, 2), lambda t: set_column(t, "pv_power_w", np.full(t.num_rows, np.nan)))
    text = problems(root)
    assert changed(text, "run home/2", "samples/home/run-000002.parquet")
    assert "run home/2: mains_power_w != load_power_w - pv_power_w + battery_power_w" in text
    one_clear_run(root, capsys)


def test_two_runs_files_swapped(copy, capsys):
    root = copy(0)
    a, b = part(root, 0), part(root, 2)
    tmp = a.with_name("x")
    a.rename(tmp), b.rename(a), tmp.rename(b)
    text = problems(root)
    assert changed(text, "run home/0", "samples/home/run-000000.parquet")
    assert "run home/0: samples/home/run-000000.parquet holds run home/2 (files swapped?)" in text
    assert "run home/2: samples/home/run-000002.parquet holds run home/0 (files swapped?)" in text
    one_clear_run(root, capsys)


def test_two_runs_files_swapped_in_an_old_dataset(copy):
    root = copy(0)
    strip_checksums(root)
    a, b = part(root, 0), part(root, 2)
    tmp = a.with_name("x")
    a.rename(tmp), b.rename(a), tmp.rename(b)
    assert "holds run home/2 (files swapped?)" in problems(root)


@pytest.mark.parametrize("where", ["footer", "page"])
def test_a_flipped_byte_gives_one_clear_line(copy, capsys, where):
    root = copy(0)
    f = part(root, 1)
    data = bytearray(f.read_bytes())
    i = len(data) - 12 if where == "footer" else 200
    data[i] ^= 0xFF
    f.write_bytes(bytes(data))
    text = problems(root)
    assert changed(text, "run home/1", "samples/home/run-000001.parquet")
    out = one_clear_run(root, capsys)
    assert all(line.startswith(("  - ", "  note: ", str(root))) for line in out.splitlines())


def test_a_missing_file_and_an_unfinished_dataset_are_found(copy):
    root = copy(0)
    part(root, 2).unlink()
    m = json.loads((root / "manifest.json").read_text())
    m["finalized"] = False
    (root / "manifest.json").write_text(json.dumps(m))
    text = verify(root).text()
    assert "never finalized" in text and "samples/home/run-000002.parquet is missing" in text


def test_a_broken_power_balance_is_found_by_the_invariants_and_regeneration(copy):
    root = copy(0)
    strip_checksums(root)
    rewrite(part(root, 1), lambda t: set_column(
        t, "mains_power_w", t.column("mains_power_w").to_numpy() + np.eye(1, t.num_rows, 5)[0] * 1000.0))
    text = problems(root, regenerate=3)
    assert "mains_power_w != load_power_w - pv_power_w + battery_power_w" in text
    assert "regenerated samples/home/run-000001.parquet differs" in text


@pytest.mark.parametrize("change,field", [
    (lambda m: m.update(format_version="abc"), "format_version: Input should be a valid integer (got 'abc')"),
    (lambda m: m.update(runs="x"), "runs: Input should be a valid list (got 'x')"),
    (lambda m: m["runs"][1].pop("files"), "runs[1].files: Field required"),
    (lambda m: m["runs"][0]["files"].__setitem__(0, "../../etc/passwd"),
     "runs[0].files[0]: '../../etc/passwd' is not this run's file; expected 'samples/home/run-000000.parquet'"),
    (lambda m: m["runs"][0].update(run_id=True), "runs[0].run_id: Input should be a valid integer (got True)"),
])
def test_a_damaged_manifest_is_one_clear_problem(copy, capsys, change, field):
    root = copy(0)
    m = json.loads((root / "manifest.json").read_text())
    change(m)
    (root / "manifest.json").write_text(json.dumps(m))
    rep = verify(root)
    assert rep.problems == [f"{root / 'manifest.json'}: {field}"]
    one_clear_run(root, capsys)
    # the other commands refuse it with one line and exit code 2
    assert main(["info", str(root)]) == 2
    err = capsys.readouterr().err
    assert err == f"twinforge: error: {root / 'manifest.json'}: {field}\n"


def test_verify_shows_progress_unless_quiet(datasets, capsys, monkeypatch):
    monkeypatch.setattr("twinforge.progress._stderr_is_terminal", lambda: True)  # (off one: see test_progress)
    assert main(["verify", str(datasets[1])]) == 0
    err = capsys.readouterr().err
    assert "checksums" in err and "runs" in err
    assert main(["verify", str(datasets[1]), "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_a_campaign_dataset_verifies_and_its_campaign_round_trips(datasets):
    stored = json.loads((datasets[2] / "manifest.json").read_text())["dataset"]
    assert CampaignSpec.from_json_dict(stored["campaign"]).config_hash(stored["seed"]) == stored["config_hash"]
    rep = verify(datasets[2], regenerate=2)
    assert rep.ok, rep.text()
    weights = pq.read_table(datasets[2] / "runs.parquet").column("weight").to_pylist()
    assert len(set(weights)) > 1  # the weight check above was not vacuous


def test_a_journal_left_by_an_interrupted_finalize_is_a_note(copy, capsys):
    from twinforge.export.parquet import JOURNAL, _journal_header, _journal_line, read_manifest

    root = copy(0)
    runs = read_manifest(root)["runs"]
    # the finalize wrote the manifest, then was killed before it removed the journal, which
    # extends the manifest before it (another size and CRC-32): its runs are in the manifest
    (root / JOURNAL).write_bytes(_journal_header("123:0badc0de") + b"".join(map(_journal_line, runs)))
    rep = verify(root)
    assert rep.ok, rep.text()
    assert rep.notes == [f"{JOURNAL} left by an interrupted finalize (ignored: it extends an older "
                         "manifest.json); --resume removes it"]
    assert one_clear_run(root, capsys, code=0)
