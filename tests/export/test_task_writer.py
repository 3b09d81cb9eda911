"""A campaign's worker task (``execute_run``: ``DatasetWriter.for_task``) opens the dataset
without reading its runs: what it reads of the manifest does not grow with the runs written,
it still refuses what is not a dataset of this format, and a task run again after its
commit leaves the same dataset as an uninterrupted campaign."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import twinforge.export.parquet as P
from tests.export.test_parquet import all_files
from twinforge.campaign.campaign import CampaignSpec, iter_campaign_plans, load_twins
from twinforge.campaign.executor import run_campaign
from twinforge.campaign.runner import execute_run, write_run
from twinforge.export import DatasetWriter
from twinforge.export.parquet import ManifestError, NotADatasetError

TINY = {"twin": "home", "days": 1, "period": "1h", "seed": 7, "start": "2024-01-01"}  # 24 rows a run


def _campaign(runs: int) -> tuple[CampaignSpec, dict, str]:
    load_twins()
    camp = CampaignSpec.from_data({**TINY, "runs": runs})
    spec_json = camp.scenario.model_copy(update={"seed": 7}).to_json_dict()
    return camp, spec_json, camp.config_hash(7)


def _task(root: Path, run_id: int, runs: int) -> dict:
    """Run ``run_id`` of the tiny home campaign of ``runs`` runs as a worker task does."""
    camp, spec_json, chash = _campaign(runs)
    (plan,) = iter_campaign_plans(camp, 7, [run_id])
    return execute_run(spec_json, plan.to_json(), root, chash=chash)


def _rchar() -> int:
    """Bytes this process has read so far (read(2) and its kin, whatever the file)."""
    return int(re.search(r"^rchar: (\d+)$", Path("/proc/self/io").read_text(), re.M).group(1))


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs Linux /proc/self/io")
def test_a_tasks_reading_does_not_grow_with_the_runs_written(tmp_path):
    read = {}
    for n in (20, 200):
        root = tmp_path / f"d{n}"
        camp, _, chash = _campaign(n + 2)
        writer = DatasetWriter(root)  # the campaign's parent
        spec = camp.scenario.model_copy(update={"seed": 7})
        for plan in iter_campaign_plans(camp, 7, range(2, n + 2)):
            write_run(writer, spec, plan, seed=7, chash=chash)
        writer.finalize()  # n runs in manifest.json
        _task(root, 0, n + 2)  # a worker's first task on this dataset (it reads the manifest's mark once)
        before = _rchar()
        _task(root, 1, n + 2)  # run 1 in both: the same files to write (and to read back for their digests)
        read[n] = _rchar() - before
        assert (root / P.MANIFEST).stat().st_size > 700 * n  # (about 0.8 kB a run)
        assert [e["run_id"] for e in P.read_manifest(root)["runs"]] == list(range(n + 2))
    # before DatasetWriter.for_task, a task read manifest.json (and the journal) in full:
    # about 150 kB more at 200 runs than at 20 (measured: 5 bytes more, the digits of the runs)
    assert abs(read[200] - read[20]) < 1_000, read


def _fold(root: Path) -> None:
    """Fold the journal of ``root`` into its manifest.json now."""
    with P._locked(root / P.SHARDS_DIR / ".lock"):
        DatasetWriter(root, mode="resume")._fold_journal()


def test_a_task_run_again_after_its_commit_leaves_an_uninterrupted_campaigns_bytes(tmp_path):
    camp, _, _ = _campaign(3)
    whole = tmp_path / "whole"
    run_campaign(camp, whole, progress=False)
    root = tmp_path / "again"
    DatasetWriter(root)._prepare()  # as the campaign's parent does before the first task
    for run_id in (0, 1, 2):
        _task(root, run_id, 3)
    journal = (root / P.JOURNAL).read_bytes()
    first = _task(root, 1, 3)  # Dask runs it again: its worker was lost after the commit
    assert first["run_id"] == 1 and first["rows"] == 24
    lines = (root / P.JOURNAL).read_bytes().split(b"\n")
    assert len(lines) == len(journal.split(b"\n")) + 1 and lines[-2] == lines[2]  # the same line again
    assert [e["run_id"] for e in P.read_manifest(root)["runs"]] == [0, 1, 2]  # one run
    # the same run again after a fold (its entry in manifest.json, its line in a new journal)
    _fold(root)
    _task(root, 2, 3)
    assert [e["run_id"] for e in P.read_manifest(root)["runs"]] == [0, 1, 2]
    s = run_campaign(camp, root, mode="resume", progress=False)  # nothing to do: finalize
    assert s.runs_written == 0 and s.runs_skipped == 3
    assert all_files(root) == all_files(whole)


def test_a_task_run_again_replaces_an_entry_that_differs(tmp_path):
    camp, _, _ = _campaign(2)
    whole = tmp_path / "whole"
    run_campaign(camp, whole, progress=False)
    root = tmp_path / "d"
    DatasetWriter(root)._prepare()
    for run_id in (0, 1):
        _task(root, run_id, 2)
    _fold(root)
    manifest = P.read_manifest(root)
    manifest["runs"][1]["rows"] = 23  # listed with other content than the run's files
    (root / P.MANIFEST).write_bytes(P._manifest_bytes(manifest))
    _task(root, 1, 2)  # its samples file is there: the task reads the runs, finds the entry
    runs = P.read_manifest(root)["runs"]  # (appended, the differing line would be a ManifestError)
    assert [(e["run_id"], e["rows"]) for e in runs] == [(0, 24), (1, 24)]
    run_campaign(camp, root, mode="resume", progress=False)
    assert all_files(root) == all_files(whole)


def test_a_task_refuses_what_is_not_a_dataset_of_this_format(tmp_path):
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not a twinforge dataset"):
        DatasetWriter.for_task(tmp_path / "other")
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADatasetError, match="is a file"):
        DatasetWriter.for_task(tmp_path / "file")
    _task(tmp_path / "new", 0, 2)  # a folder not created yet: created, as with mode="resume"
    assert [e["run_id"] for e in P.read_manifest(tmp_path / "new")["runs"]] == [0]
    root = tmp_path / "d"
    camp, _, _ = _campaign(2)
    run_campaign(camp, root, progress=False)
    good = (root / P.MANIFEST).read_text()
    assert isinstance(DatasetWriter.for_task(root), DatasetWriter)
    head, runs = good.split('\n "runs": [', 1)
    cases = [
        (good.replace('"twinforge-dataset"', '"other"'), NotADatasetError, "not a twinforge manifest"),
        (good.replace('"format_version": 2', '"format_version": 3'), NotADatasetError, "upgrade twinforge"),
        (good.replace('"format_version": 2', '"format_version": 1'), FileExistsError, "older twinforge"),
        (good.replace('"finalized": true', '"finalized": "yes"'), ManifestError, "finalized"),
        ("{" + good[1:200], NotADatasetError, "not valid JSON"),  # cut short before its runs
        ("[1, 2]", NotADatasetError, "not a twinforge manifest"),
    ]
    for text, error, match in cases:
        (root / P.MANIFEST).write_text(text)
        with pytest.raises(error, match=match):
            DatasetWriter.for_task(root)
    # another layout of the same manifest (not twinforge's own): read in full, accepted
    (root / P.MANIFEST).write_text(json.dumps(json.loads(good), indent=2))
    assert DatasetWriter.for_task(root).completed_runs() == set()
    assert head.startswith('{\n "dataset"') and runs  # (the layout the head reading relies on)
