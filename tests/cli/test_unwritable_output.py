"""`twinforge generate` into a folder it cannot write: one clear error, exit code 1 or 2, no
traceback; a --resume that hits a write error leaves the runs already there intact.

The tests run as root too, where permission bits do not stop writes: the folders are made
unwritable by a regular file in their path, by /proc or by /dev/full (a full disk).
"""

import json
import os
import shutil
from pathlib import Path

import pytest

from twinforge.cli import main

from _support import digest

GENERATE = ["generate", "home", "--homes", "3", "--days", "1", "--period", "1h", "--seed", "5", "--quiet"]


def one_clear_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("twinforge: error: "), err
    return lines[0]


@pytest.mark.parametrize(
    "where", ["under_a_file", "proc", "dev_null"], ids=["out-under-a-regular-file", "proc", "dev-null"]
)
def test_generate_into_an_unwritable_folder_fails_clearly(where, tmp_path, capsys):
    blocker = tmp_path / "some_file"
    blocker.write_text("not a folder\n")
    out = {
        "under_a_file": blocker / "data",
        "proc": Path("/proc/twinforge-no-such-entry/data"),
        "dev_null": Path("/dev/null/data"),
    }[where]
    if where != "under_a_file" and out.parts[1] not in os.listdir("/"):
        pytest.skip(f"no /{out.parts[1]} on this system")
    code = main([*GENERATE, "--out", str(out)])
    err = capsys.readouterr().err
    assert code in (1, 2), err
    line = one_clear_line(err)
    assert str(out.parent) in line and "cannot create" in line
    assert blocker.read_text() == "not a folder\n"  # untouched
    assert not out.exists()


@pytest.fixture(scope="module")
def complete(tmp_path_factory):
    """A complete 3-run dataset (the reference) made once."""
    out = tmp_path_factory.mktemp("unwritable") / "complete"
    assert main([*GENERATE, "--out", str(out)]) == 0
    return out


def _block(out: Path, how: str) -> Path:
    """Make run 1's next write fail; returns the blocking path."""
    if how == "samples_path_is_a_folder":  # fails before anything of the run is written
        blocker = out / "samples" / "home" / ".run-000001.parquet.tmp"
        blocker.mkdir()
    elif how == "shards_folder_is_a_file":  # fails at commit, after the samples were written
        blocker = out / "_runs" / "home" / "run-000001"
        blocker.write_text("")
    else:  # "disk_full": the samples file of run 1 lands on /dev/full (ENOSPC, root too)
        if not Path("/dev/full").exists():
            pytest.skip("no /dev/full on this system")
        blocker = out / "samples" / "home" / ".run-000001.parquet.tmp"
        blocker.symlink_to("/dev/full")
    return blocker


@pytest.mark.parametrize("how", ["samples_path_is_a_folder", "shards_folder_is_a_file", "disk_full"])
def test_resume_hitting_a_write_error_keeps_the_earlier_runs(complete, how, tmp_path, capsys):
    out = tmp_path / "data"
    shutil.copytree(complete, out)
    # run 1 never completed (as after a crash): its files are gone, the manifest forgets it
    (out / "samples" / "home" / "run-000001.parquet").unlink()
    shutil.rmtree(out / "_runs" / "home" / "run-000001")
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["runs"] = [e for e in manifest["runs"] if e["run_id"] != 1]
    (out / "manifest.json").write_text(json.dumps(manifest, sort_keys=True, indent=1) + "\n")
    blocker = _block(out, how)
    before = digest(out, ignore=(".lock",))
    capsys.readouterr()

    code = main([*GENERATE, "--resume", "--out", str(out)])
    err = capsys.readouterr().err
    assert code in (1, 2), err
    line = one_clear_line(err)
    assert str(blocker.parent if how == "disk_full" else blocker) in line
    if how == "disk_full":
        assert code == 1 and "No space left" in line

    # the runs already there are intact, byte for byte, and still listed
    after = digest(out, ignore=(".lock",))
    assert {k: v for k, v in after.items() if k != "manifest.json"} == {
        k: v for k, v in before.items() if k != "manifest.json"
    }
    now = json.loads((out / "manifest.json").read_text())
    assert now["runs"] == manifest["runs"] and [e["run_id"] for e in now["runs"]] == [0, 2]
    assert not [p for p in out.rglob("*.tmp") if p.is_file() and not p.is_symlink()]  # no half-written file left

    # once the folder is writable again, --resume completes it to the uninterrupted bytes
    if blocker.is_symlink() or blocker.is_file():
        blocker.unlink()
    elif blocker.is_dir():
        blocker.rmdir()
    capsys.readouterr()
    assert main([*GENERATE, "--resume", "--out", str(out)]) == 0
    assert "wrote 1 run(s) (2 already complete)" in capsys.readouterr().out
    assert digest(out, ignore=(".lock",)) == digest(complete, ignore=(".lock",))
