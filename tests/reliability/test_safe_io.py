"""twinforge.safe_io: reading is bounded, replacing is confined to regular files and our folders.

Every special file here is made in the test's own temporary folder (a FIFO stands in for
/dev/zero: both are not regular files and never end).
"""

import bz2
import gzip
import io
import lzma
import os
import time
import zipfile

import pytest

from twinforge.cli import main
from twinforge.safe_io import (
    InputError,
    OutputPathError,
    check_input,
    check_output_path,
    open_input,
    open_trace,
    read_input_bytes,
)


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "endless"
    os.mkfifo(path)
    return path


def test_special_files_and_folders_are_refused_without_reading(fifo, tmp_path):
    with pytest.raises(InputError, match=r"--real .*endless: is a named pipe \(FIFO\), not a regular file; allowed: a regular file"):
        check_input(fifo, what="--real")  # a read would block forever
    with pytest.raises(InputError, match="is a folder, not a regular file"):
        open_input(tmp_path)
    with pytest.raises(InputError, match="file not found"):
        open_input(tmp_path / "nope.csv")


def test_size_on_disk_is_capped_before_reading(tmp_path):
    f = tmp_path / "big.toml"
    f.write_bytes(b"a = 1\n" * 1000)
    with pytest.raises(InputError, match=r"5\.9 KiB on disk; allowed: at most 1\.0 KiB"):
        read_input_bytes(f, max_bytes=1024)
    assert read_input_bytes(f, max_bytes=6000) == b"a = 1\n" * 1000


@pytest.mark.parametrize("suffix,compress", [
    (".gz", gzip.compress), (".xz", lzma.compress), (".bz2", bz2.compress),
])
def test_decompression_is_streamed_and_capped(tmp_path, suffix, compress):
    payload = b"time,power\n" + b"2024-01-01 00:00:00,1.5\n" * 200_000  # 4.8 MB
    f = tmp_path / f"trace.csv{suffix}"
    f.write_bytes(compress(payload))
    assert f.stat().st_size < len(payload) / 50
    with open_input(f) as fh:
        assert fh.read() == payload
    with pytest.raises(InputError, match=r"more than 1\.0 MiB once decompressed; allowed: at most 1\.0 MiB"):
        with open_input(f, max_inflated_bytes=1 << 20) as fh:
            while fh.read(1 << 16):
                pass


def test_a_bomb_without_newline_is_refused_after_the_first_mebibyte(tmp_path):
    f = tmp_path / "bomb.csv.xz"
    f.write_bytes(lzma.compress(b"time,power\n2024-01-01," + b"1" * 30_000_000))
    t0 = time.process_time()
    with pytest.raises(InputError, match=r"a line longer than 1\.0 MiB"):
        with io.TextIOWrapper(open_trace(f), encoding="utf-8") as fh:
            fh.readline()
            fh.readline()
    assert time.process_time() - t0 < 5  # not 30 MB of parsing (a generous bound, CPU time)


def test_the_line_cap_counts_across_chunks(tmp_path):
    f = tmp_path / "lines.csv"
    f.write_bytes(b"x\n" + b"y" * 100_000 + b"\n" + b"z" * 10 + b"\n")
    with open_input(f, max_line_bytes=100_000) as fh:
        assert len(fh.read()) == 100_014
    with pytest.raises(InputError, match="a line longer than"):
        with open_input(f, max_line_bytes=99_999) as fh:
            fh.read()


def test_zip_archives(tmp_path):
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w"):
        pass
    with pytest.raises(InputError, match=r"empty zip archive \(no file inside\)"):
        open_input(empty)
    one = tmp_path / "one.zip"
    with zipfile.ZipFile(one, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("trace.csv", "time,power\n" + "2024-01-01,1\n" * 100_000)
    with pytest.raises(InputError, match="once decompressed"):
        with open_input(one, max_inflated_bytes=1000) as fh:
            fh.read()
    not_zip = tmp_path / "fake.zip"
    not_zip.write_text("hello")
    with pytest.raises(InputError, match="not a zip archive"):
        open_input(not_zip)


def test_output_paths(tmp_path, fifo):
    with pytest.raises(OutputPathError, match=r"--out .*endless: exists and is a named pipe \(FIFO\)"):
        check_output_path(fifo, "file", what="--out")
    link = tmp_path / "link.toml"
    link.symlink_to(fifo)
    with pytest.raises(OutputPathError, match="exists and is a named pipe"):
        check_output_path(link, "file", what="--out")  # the link is resolved first
    target = tmp_path / "preset.toml"
    target.write_text("x = 1\n")
    link2 = tmp_path / "link2.toml"
    link2.symlink_to(target)
    assert check_output_path(link2, "file") == target.resolve()
    with pytest.raises(OutputPathError, match="not ours"):
        check_output_path(target, "file", ours=lambda p: "not ours")
    assert check_output_path(target, "file", ours=lambda p: None) == target.resolve()
    with pytest.raises(OutputPathError, match="exists and is a folder"):
        check_output_path(tmp_path, "file")
    with pytest.raises(OutputPathError, match="exists and is a regular file, not a folder"):
        check_output_path(target, "folder")
    with pytest.raises(OutputPathError, match=r"is a regular file, not a folder"):
        check_output_path(target / "sub" / "x", "folder")
    with pytest.raises(OutputPathError, match="empty"):
        check_output_path("", "folder", what="--out")
    assert check_output_path(tmp_path / "new" / "deeper", "folder") == (tmp_path / "new" / "deeper").resolve()
    assert fifo.exists() and target.read_text() == "x = 1\n"  # nothing touched


def test_cli_refuses_special_files_fast(fifo, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["generate", "--config", str(fifo), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == f"twinforge: error: {fifo}: is a named pipe (FIFO), not a regular file; allowed: a regular file\n"
    assert not out.exists()
