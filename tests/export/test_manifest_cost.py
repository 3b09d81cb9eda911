"""The manifest's cost per commit does not grow with the runs already committed, and its
cached reading gives what the full reading gives."""

from __future__ import annotations

import cProfile
import json
import pstats

import pytest

import twinforge.export.parquet as P
from tests.export.test_parquet import TWIN, make_dataset, part, write_run
from twinforge.export import DatasetWriter

SMALL = {"n": 10, "block": 10}  # 10 rows per run: the manifest, not the samples, is the cost


def _calls(fn) -> dict[str, int]:
    """Calls per function name (built-ins included) made by ``fn()``, counted by cProfile."""
    prof = cProfile.Profile()
    prof.runcall(fn)
    counts: dict[str, int] = {}
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    for (_, _, name), (_, ncalls, *_) in stats.items():
        counts[name] = counts.get(name, 0) + ncalls
    return counts


def _task_calls(root, run_id: int) -> dict[str, int]:
    """What one worker task does (open the dataset as a campaign's worker, write one run,
    commit it), counted after a first such task in this process."""

    def task(k: int) -> None:
        write_run(DatasetWriter.for_task(root), k, **SMALL)

    task(run_id)
    counts = _calls(lambda: task(run_id + 1))
    names = ("_check_entry", "model_validate", "<built-in method posix.stat>",
             "<built-in method posix.lstat>", "_atomic_write_bytes", "_run_files_present")
    return {n: counts.get(n, 0) for n in names}


def test_a_commit_validates_and_stats_the_same_whatever_the_runs_already_committed(tmp_path):
    # (one after the other: the runs' entries, alike in both datasets, are cached by their text)
    few = make_dataset(tmp_path / "few", order=range(10), finalize=False, **SMALL)
    at_few = _task_calls(few, 10)
    many = make_dataset(tmp_path / "many", order=range(60), finalize=False, **SMALL)
    at_many = _task_calls(many, 60)
    assert at_few == at_many  # old: 3 validations and 6 stats per run listed, per task
    assert at_many["_check_entry"] == 0  # the runs are not read (before for_task: the first task's run)
    # the commit appends its line to the journal: manifest.json is not rewritten (main: once per task)
    assert at_many["_run_files_present"] == 0 and at_many["_atomic_write_bytes"] == 0
    assert [e["run_id"] for e in P.read_manifest(many)["runs"]] == list(range(62))


def test_cached_reading_gives_the_full_readings_result(tmp_path):
    root = make_dataset(tmp_path / "d", order=(2, 0, 1), finalize=True, **SMALL)
    text = (root / P.MANIFEST).read_text()
    assert P._cached_manifest(text) == json.loads(text)  # the layout _manifest_bytes writes
    assert P.read_manifest(root) == json.loads(text)
    assert P._read_manifest(root, shared=True) == json.loads(text)
    # a caller of read_manifest may change what it got: the next reading is not affected
    got = P.read_manifest(root)
    got["runs"][0]["files"].append("x")
    got["runs"][1]["twin"] = "other"
    assert P.read_manifest(root) == json.loads(text)
    assert P._manifest_bytes(P._read_manifest(root, shared=True)) == text.encode()
    # another layout of the same JSON (not twinforge's): read in full, the same manifest
    (root / P.MANIFEST).write_text(json.dumps(json.loads(text), indent=2))
    assert P._cached_manifest((root / P.MANIFEST).read_text()) is None
    assert P.read_manifest(root) == json.loads(text)


def test_a_damaged_entry_is_refused_as_before_even_after_a_cached_reading(tmp_path):
    root = make_dataset(tmp_path / "d", order=(0, 1), finalize=False, **SMALL)
    manifest = P.read_manifest(root)
    P._read_manifest(root, shared=True)  # the valid entries are now cached
    manifest["runs"][1]["run_id"] = 5  # its files are run 1's: not this run's layout
    (root / P.MANIFEST).write_bytes(P._manifest_bytes(manifest))
    assert P._cached_manifest((root / P.MANIFEST).read_text()) is None
    with pytest.raises(P.ManifestError, match=r"runs\[1\]\.files\[0\]: .* is not this run's file"):
        P.read_manifest(root)
    manifest["runs"][1]["run_id"] = True  # strict: no bool for an int
    (root / P.MANIFEST).write_bytes(P._manifest_bytes(manifest))
    with pytest.raises(P.ManifestError, match=r"runs\[1\]\.run_id"):
        DatasetWriter(root, mode="resume", check_files=False)


def test_a_worker_trusts_the_manifest_but_redoes_its_own_run_if_its_files_are_gone(tmp_path):
    root = make_dataset(tmp_path / "d", order=(0, 1), finalize=False, **SMALL)
    part(root, 1).unlink()
    worker = DatasetWriter(root, mode="resume", check_files=False)
    assert worker.completed_runs() == {(TWIN, 0), (TWIN, 1)}  # no stat of the runs' files
    with pytest.raises(ValueError, match="already complete"):
        worker.open_run(TWIN, 0, *_args(0))
    write_run(worker, 1, **SMALL)  # listed, its file gone: redone, its entry replaced
    runs = P.read_manifest(root)["runs"]
    assert [e["run_id"] for e in runs] == [0, 1] and part(root, 1).is_file()
    assert P._run_files_present(root, runs[1])
    with pytest.raises(TypeError, match="check_files"):
        DatasetWriter(root, mode="resume", check_files="no")  # type: ignore[arg-type]


def _args(run_id: int):
    from tests.export.test_parquet import CHANNELS, meta

    return CHANNELS, meta(run_id)


@pytest.mark.parametrize("text", [
    '[\n {\n "runs": [\n  {\n   "a": 1\n  }\n ]\n }\n]\n',  # not an object at the top
    '{\n "format": "twinforge-dataset",\n "format_version": true,\n "runs": [\n  {\n   "a": 1\n  }\n ]\n}\n',
    '{\n "format": "other",\n "format_version": 2,\n "runs": [\n  {\n   "a": 1\n  }\n ]\n}\n',
])
def test_the_cached_reading_declines_what_is_not_twinforges_manifest(text):
    assert P._cached_manifest(text) is None  # the full reading says what is wrong


def test_beyond_the_cache_limit_the_manifest_is_read_in_full(tmp_path, monkeypatch):
    monkeypatch.setattr(P, "_ENTRY_OF_TEXT", {})  # this test's entries only
    monkeypatch.setattr(P, "_TEXT_OF_ENTRY", {})
    root = make_dataset(tmp_path / "d", order=range(4), finalize=True, **SMALL)  # 4 runs in manifest.json
    text = (root / P.MANIFEST).read_text()
    monkeypatch.setattr(P, "_ENTRY_CACHE_LIMIT", 3)  # fewer entries than the manifest's 4
    assert P._cached_manifest(text) is None
    assert P._read_manifest(root, shared=True) == json.loads(text)
    assert P._TEXT_OF_ENTRY == {}  # (the commits read the journal's lines, not the manifest)
    P._read_manifest(root, shared=False)
    monkeypatch.setattr(P, "_ENTRY_CACHE_LIMIT", 5)
    assert P._cached_manifest(text) == json.loads(text)
    assert sum(map(len, P._ENTRY_OF_TEXT.values())) == len(P._TEXT_OF_ENTRY) == 4
    monkeypatch.setattr(P, "_ENTRY_CACHE_LIMIT", 7)  # 4 + 4 > 7: emptied, then these 4
    P._ENTRY_OF_TEXT[2].clear()  # (as if other entries were held: 4 held, 4 more to read)
    assert P._cached_manifest(text) == json.loads(text)
    assert sum(map(len, P._ENTRY_OF_TEXT.values())) == len(P._TEXT_OF_ENTRY) == 4
    write_run(DatasetWriter(root, mode="resume", check_files=False), 4, **SMALL)  # 5 entries
    assert [e["run_id"] for e in P.read_manifest(root)["runs"]] == list(range(5))
