"""The commit journal (``manifest.journal``): a commit appends one line instead of rewriting
``manifest.json``, so its cost does not grow with the runs already written; every reader
sees the manifest and its journal together; a crash mid-append loses at most that run; and a
finished dataset is the one the manifest rewritten at every commit gave (no journal left)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import twinforge.export.parquet as P
from tests.export.test_parquet import TWIN, all_files, make_dataset, part, write_run
from twinforge.export import DatasetWriter, open_dataset

SMALL = {"n": 10, "block": 10}  # 10 rows per run: the manifest, not the samples, is the cost


def _files_state(root: Path) -> dict[str, tuple[int, int] | None]:
    """``(inode, size)`` of the manifest and of the journal (None: no such file)."""
    out = {}
    for name in (P.MANIFEST, P.JOURNAL):
        try:
            st = os.stat(root / name)
            out[name] = (st.st_ino, st.st_size)
        except FileNotFoundError:
            out[name] = None
    return out


def _bytes_written(before: dict, after: dict) -> int:
    """Bytes written to the manifest and the journal between two :func:`_files_state`: a
    new manifest (replaced: another inode) in full, and what the journal grew by."""
    out = 0
    if after[P.MANIFEST] != before[P.MANIFEST]:
        out += after[P.MANIFEST][1]
    if after[P.JOURNAL] is not None:
        same = before[P.JOURNAL] is not None and before[P.JOURNAL][0] == after[P.JOURNAL][0]
        out += after[P.JOURNAL][1] - (before[P.JOURNAL][1] if same else 0)
    return out


def _commit_bytes(root: Path, runs: range) -> list[int]:
    """Manifest and journal bytes written by each commit of ``runs`` (one writer)."""
    w = DatasetWriter(root, mode="resume")
    out = []
    for r in runs:
        before = _files_state(root)
        write_run(w, r, **SMALL)
        out.append(_bytes_written(before, _files_state(root)))
    return out


def test_a_commit_writes_the_same_bytes_at_10_runs_as_at_200(tmp_path):
    root = tmp_path / "d"
    written = _commit_bytes(root, range(200))
    line = len(P._journal_line(P.read_manifest(root)["runs"][150]))
    # one line each, whatever the runs before it (main rewrote the manifest: 200 entries at 200)
    assert written[10] <= line + 8 and written[199] <= line + 8, (written[10], written[199], line)
    assert written[199] <= written[10] + 8
    assert not (root / P.MANIFEST).read_bytes().count(b'"run_id"')  # all in the journal still
    assert [e["run_id"] for e in P.read_manifest(root)["runs"]] == list(range(200))


def test_geometric_folds_keep_the_bytes_per_commit_flat(tmp_path, monkeypatch):
    monkeypatch.setattr(P, "JOURNAL_MIN_BYTES", 0)  # fold as soon as the journal is half the manifest
    root = tmp_path / "d"
    written = _commit_bytes(root, range(240))
    line = len(P._journal_line(P.read_manifest(root)["runs"][150]))
    manifest_entry = len(P._entry_text(P.read_manifest(root)["runs"][150]))
    # each run's entry is written once in its line, then once per fold while it is in the
    # manifest: about 1 + 1 / JOURNAL_RATIO times; main wrote it at every later commit
    first, last = sum(written[:120]) / 120, sum(written[120:]) / 120
    assert last <= 1.5 * first, (first, last)
    assert last <= line + 4 * manifest_entry, (last, line, manifest_entry)
    folds = sum(1 for b in written if b > 2 * line)
    assert 5 <= folds <= 16, folds  # about log(240) / log(1 + JOURNAL_RATIO): 13.5
    assert [e["run_id"] for e in P.read_manifest(root)["runs"]] == list(range(240))


@pytest.mark.parametrize("cut", ["torn", "no line break", "checksum", "zeros"])
def test_a_last_line_cut_short_by_a_crash_is_ignored_and_its_run_redone(tmp_path, cut):
    root = make_dataset(tmp_path / "d", order=range(3), finalize=False, **SMALL)
    journal = root / P.JOURNAL
    data = journal.read_bytes()
    start = data.rstrip(b"\n").rfind(b"\n") + 1  # the last line, run 2's
    last = data[start:]
    damaged = {
        "torn": last[: len(last) // 2],
        "no line break": last[:-1],
        "checksum": last[:-4] + (b"1" if last[-4:-3] == b"0" else b"0") + last[-3:],  # its last digit
        "zeros": b"\0" * 100,  # a file grown, its data not yet on disk
    }[cut]
    journal.write_bytes(data[:start] + damaged)
    assert [e["run_id"] for e in P.read_manifest(root)["runs"]] == [0, 1]
    w = DatasetWriter(root, mode="resume")
    assert w.completed_runs() == {(TWIN, 0), (TWIN, 1)}
    write_run(w, 2, **SMALL)  # the damaged line is folded away first: not glued to this one
    assert [e["run_id"] for e in P.read_manifest(root)["runs"]] == [0, 1, 2]
    assert P._whole_last_line(journal, journal.stat().st_size)
    write_run(w, 3, **SMALL)
    w.finalize({"scenario": {"runs": 4}, "seed": 7})
    whole = make_dataset(tmp_path / "whole", order=range(4), finalize=False, **SMALL)
    DatasetWriter(whole, mode="resume").finalize({"scenario": {"runs": 4}, "seed": 7})
    assert all_files(root) == all_files(whole) and not journal.exists()


def _lines(root: Path) -> tuple[bytes, list[bytes]]:
    """The journal's header and its run lines (each with its line break)."""
    header, *runs = (root / P.JOURNAL).read_bytes().splitlines(keepends=True)
    return header, runs


def test_a_damaged_line_before_the_last_is_one_clear_error(tmp_path):
    root = make_dataset(tmp_path / "d", order=range(3), finalize=False, **SMALL)
    head, (r0, r1, r2) = _lines(root)
    (root / P.JOURNAL).write_bytes(head + r0 + r1.replace(b'"rows": 10', b'"rows": 11') + r2)
    with pytest.raises(P.ManifestError, match=rf"{P.JOURNAL}: line 3: its checksum does not match"):
        P.read_manifest(root)
    (root / P.JOURNAL).write_bytes(head + r0 + r1[:40] + b"\n" + r2)  # cut short, not last
    with pytest.raises(P.ManifestError, match=rf"{P.JOURNAL}: line 3: not a journal line"):
        DatasetWriter(root, mode="resume")
    # a whole last line (its checksum matches) whose run entry is wrong: damage, not a crash
    bad = json.loads(r2)["run"]
    bad["run_id"] = 7  # its files are run 2's
    (root / P.JOURNAL).write_bytes(head + r0 + r1 + P._journal_line(bad))
    with pytest.raises(P.ManifestError, match=rf"{P.JOURNAL}: line 4: run.files\[0\]: .* is not this run's file"):
        P.read_manifest(root)
    bad = {**json.loads(r2)["run"], "rows": True}  # strict: no bool for an int
    (root / P.JOURNAL).write_bytes(head + r0 + r1 + P._journal_line(bad))
    with pytest.raises(P.ManifestError, match=rf"{P.JOURNAL}: line 4: run.rows: "):
        P.read_manifest(root)
    (root / P.JOURNAL).write_bytes(b'{"format": "other"}\n' + r0)
    with pytest.raises(P.ManifestError, match=rf"{P.JOURNAL}: line 1: not a journal header"):
        P.read_manifest(root)


def test_a_run_listed_twice_is_one_run_if_the_same_else_an_error(tmp_path):
    root = make_dataset(tmp_path / "d", order=range(3), finalize=False, **SMALL)
    head, runs = _lines(root)
    (root / P.JOURNAL).write_bytes(head + b"".join(runs) + runs[1])  # a retried task's commit
    assert [e["run_id"] for e in P.read_manifest(root)["runs"]] == [0, 1, 2]
    other = {**json.loads(runs[1])["run"], "rows": 11}
    (root / P.JOURNAL).write_bytes(head + b"".join(runs) + P._journal_line(other))
    with pytest.raises(P.ManifestError, match=rf"{P.JOURNAL}: line 5: run {TWIN}/1 differs from its entry"):
        P.read_manifest(root)
    (root / P.JOURNAL).write_bytes(head + b"".join(runs))
    DatasetWriter(root, mode="resume")._update_manifest(lambda m: True)  # folded: 0, 1, 2 in the manifest
    assert not (root / P.JOURNAL).exists()
    (root / P.JOURNAL).write_bytes(  # as if this journal extended the manifest now on disk
        P._journal_header(P._manifest_mark((root / P.MANIFEST).read_bytes())) + runs[0] + P._journal_line(other))
    with pytest.raises(P.ManifestError, match=rf"{P.JOURNAL}: line 3: run {TWIN}/1 differs from its entry in manifest.json"):
        P.read_manifest(root)
    (root / P.JOURNAL).write_bytes(P._journal_header(P._manifest_mark((root / P.MANIFEST).read_bytes())) + runs[0])
    assert [e["run_id"] for e in P.read_manifest(root)["runs"]] == [0, 1, 2]  # the same run: one


def test_a_journal_that_names_another_manifest_is_ignored(tmp_path):
    root = make_dataset(tmp_path / "d", order=range(3), finalize=False, **SMALL)
    head, runs = _lines(root)
    assert json.loads(head) == {"format": P.JOURNAL_FORMAT, "manifest": P._manifest_mark((root / P.MANIFEST).read_bytes())}
    # a twinforge without journals resumed it: it saw no run, and rewrote the manifest with its own
    manifest = P.read_manifest(root)
    manifest["runs"] = manifest["runs"][2:]
    (root / P.MANIFEST).write_bytes(P._manifest_bytes(manifest))
    assert [e["run_id"] for e in P.read_manifest(root)["runs"]] == [2]  # not the journal's runs 0 and 1
    w = DatasetWriter(root, mode="resume")
    write_run(w, 0, **SMALL)  # the stale journal is removed, a new one started
    head, runs = _lines(root)
    assert json.loads(head)["manifest"] == P._manifest_mark((root / P.MANIFEST).read_bytes()) and len(runs) == 1
    assert [e["run_id"] for e in P.read_manifest(root)["runs"]] == [0, 2]


def test_a_fold_interrupted_before_the_journal_is_removed_reads_and_finishes_the_same(tmp_path):
    root = make_dataset(tmp_path / "d", order=range(3), finalize=False, **SMALL)
    journal = (root / P.JOURNAL).read_bytes()
    DatasetWriter(root, mode="resume").finalize({"scenario": {"runs": 3}, "seed": 7})
    finished = all_files(root)
    (root / P.JOURNAL).write_bytes(journal)  # the manifest written, the journal not yet removed
    manifest = P.read_manifest(root)
    assert manifest == json.loads(finished[P.MANIFEST]) and manifest["finalized"]  # no run added
    assert open_dataset(root).finalized
    DatasetWriter(root, mode="resume").finalize({"scenario": {"runs": 3}, "seed": 7})
    assert all_files(root) == finished


def test_readers_resume_and_overwrite_see_the_journals_runs(tmp_path):
    root = make_dataset(tmp_path / "d", order=(0, 1), finalize=True, **SMALL)
    w = DatasetWriter(root, mode="resume")
    write_run(w, 2, **SMALL)  # a finalized dataset resumed: its run in the journal only
    assert (root / P.JOURNAL).is_file() and json.loads((root / P.MANIFEST).read_text())["finalized"]
    manifest = P.read_manifest(root)
    assert [e["run_id"] for e in manifest["runs"]] == [0, 1, 2] and not manifest["finalized"]
    ds = open_dataset(root)
    assert ds.run_ids == {TWIN: [0, 1, 2]} and not ds.finalized
    assert DatasetWriter(root, mode="resume").completed_runs() == {(TWIN, r) for r in range(3)}
    files, _ = P.previous_dataset_paths(root)
    assert root / P.JOURNAL in files and part(root, 2) in files
    write_run(DatasetWriter(root, mode="overwrite"), 5, **SMALL)
    assert not part(root, 2).exists()
    assert [e["run_id"] for e in P.read_manifest(root)["runs"]] == [5]


def test_a_redone_run_whose_entry_differs_replaces_the_listed_one(tmp_path):
    root = make_dataset(tmp_path / "d", order=(0, 1), finalize=False, **SMALL)
    part(root, 1).unlink()
    worker = DatasetWriter(root, mode="resume", check_files=False)
    write_run(worker, 1, n=20, block=10)  # other rows: another entry, not a duplicate
    runs = P.read_manifest(root)["runs"]
    assert [(e["run_id"], e["rows"]) for e in runs] == [(0, 10), (1, 20)]
    assert not (root / P.JOURNAL).exists()  # folded, then replaced in the manifest


def test_the_fold_schedule_does_not_change_the_finished_bytes(tmp_path, monkeypatch):
    meta = {"scenario": {"runs": 6}, "seed": 7}
    lazy = make_dataset(tmp_path / "lazy", order=(3, 0, 5, 1, 4, 2), finalize=False, **SMALL)
    DatasetWriter(lazy, mode="resume").finalize(meta)  # never folded before the finalize
    monkeypatch.setattr(P, "JOURNAL_MIN_BYTES", 0)
    monkeypatch.setattr(P, "JOURNAL_RATIO", 0.0)  # folded at every commit, as before the journal
    eager = make_dataset(tmp_path / "eager", order=range(6), finalize=False, **SMALL)
    assert not (eager / P.JOURNAL).exists()
    DatasetWriter(eager, mode="resume").finalize(meta)
    assert all_files(lazy) == all_files(eager)
    assert not (lazy / P.JOURNAL).exists()


def _committer(root: str, run_ids: list[int]) -> None:
    w = DatasetWriter(root, mode="resume", check_files=False)
    for r in run_ids:
        write_run(w, r, **SMALL)


@pytest.mark.skipif(os.name != "posix", reason="fork")
def test_processes_committing_and_folding_at_once_lose_no_run(tmp_path, monkeypatch):
    import multiprocessing

    monkeypatch.setattr(P, "JOURNAL_MIN_BYTES", 0)  # (inherited by the forked processes) many folds
    root = tmp_path / "d"
    DatasetWriter(root)._prepare()
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_committer, args=(str(root), list(range(k, 60, 3)))) for k in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * 3
    assert [e["run_id"] for e in P.read_manifest(root)["runs"]] == list(range(60))


_KILLED = """
import sys
sys.path.insert(0, {repo!r})
from tests.export.test_parquet import write_run
from twinforge.export import DatasetWriter
w = DatasetWriter({root!r}, mode="resume")
for r in range(60):
    write_run(w, r, n=10, block=10)
"""


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_kill_9_mid_commits_then_resume_gives_the_same_bytes(tmp_path):
    root = tmp_path / "d"
    repo = str(Path(__file__).parents[2])
    proc = subprocess.Popen([sys.executable, "-c", _KILLED.format(repo=repo, root=str(root))],
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if (root / P.JOURNAL).is_file() and (root / P.JOURNAL).stat().st_size > 10_000:
            break
        time.sleep(0.005)
    assert proc.poll() is None, proc.communicate()[1]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    done = {e["run_id"] for e in P.read_manifest(root)["runs"]}
    assert 5 <= len(done) < 60 and done == set(range(len(done)))
    w = DatasetWriter(root, mode="resume")
    assert {r for _, r in w.completed_runs()} == done
    for r in range(60):
        if r not in done:
            write_run(w, r, **SMALL)
    w.finalize({"scenario": {"runs": 60}, "seed": 7})
    whole = make_dataset(tmp_path / "whole", order=range(60), finalize=False, **SMALL)
    DatasetWriter(whole, mode="resume").finalize({"scenario": {"runs": 60}, "seed": 7})
    assert all_files(root) == all_files(whole)
