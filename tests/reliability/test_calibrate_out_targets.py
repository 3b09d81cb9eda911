"""``calibrate --out P --overwrite`` replaces only an earlier preset, never anything else.

Run as root, ``--out /dev/null --overwrite`` once replaced the device node with a preset.
Every target here is made inside the test's temporary folder (a FIFO, a character device
when the test may create one, a symbolic link, a folder, somebody's file); none is a system path.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from twinforge.cli import main
from twinforge.fidelity._io import OutputError
from twinforge.fidelity.loader import UCI_SAMPLE, _sample
from twinforge.fidelity.preset import write_preset_text

PRESET = '# twinforge preset: home twin\n\ntwin = "home"\n'


def calibrate(out: Path, *extra: str) -> list[str]:
    return ["calibrate", "--real", str(_sample(UCI_SAMPLE)), "--params", "appliances.usage_scale", "--budget", "2",
            "--out", str(out), "--overwrite", "--quiet", *extra]


def targets(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    out: dict[str, tuple[Path, str]] = {}
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    out["fifo"] = (fifo, "is a FIFO (named pipe), not a preset")
    dev = tmp_path / "null.toml"
    try:
        os.mknod(dev, stat.S_IFCHR | 0o600, os.makedev(1, 3))  # /dev/null's numbers, in tmp
        out["device"] = (dev, "is a character device, not a preset")
    except (PermissionError, OSError):
        pass  # not root: the FIFO stands for every special file
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "real.toml").write_text(PRESET)
    link = tmp_path / "link.toml"
    link.symlink_to(elsewhere / "real.toml")
    out["symlink"] = (link, "is a symbolic link, not a preset")
    folder = tmp_path / "folder.toml"
    folder.mkdir()
    out["folder"] = (folder, "is a folder, not a preset")
    notes = tmp_path / "notes.toml"
    notes.write_text("my notes\n")
    out["not ours"] = (notes, "is not an earlier preset")
    return out


def _state(p: Path) -> tuple[int, int, str]:
    st = os.lstat(p)
    text = p.read_text() if stat.S_ISREG(st.st_mode) else (os.readlink(p) if p.is_symlink() else "")
    return st.st_mode, st.st_rdev, text


def test_calibrate_refuses_every_target_but_an_earlier_preset(tmp_path, capsys):
    for name, (path, message) in targets(tmp_path).items():
        before = _state(path)
        code = main(calibrate(path))
        err = capsys.readouterr().err.strip()
        assert code == 2, name
        assert err.count("\n") == 0 and f"--out {path}: {message}" in err, (name, err)
        assert _state(path) == before, name  # untouched: same kind, same device numbers, same text


def test_the_write_itself_checks_again(tmp_path):
    """Between the command's check and the write, the target may have become a special file."""
    fifo = tmp_path / "p.toml"
    os.mkfifo(fifo)
    with pytest.raises(OutputError, match="is a FIFO"):
        write_preset_text(fifo, PRESET)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and [p.name for p in tmp_path.iterdir()] == ["p.toml"]


def test_an_earlier_preset_is_replaced(tmp_path, capsys):
    earlier = tmp_path / "uci.toml"
    earlier.write_text(PRESET)
    assert main(calibrate(earlier)) == 0, capsys.readouterr().err
    text = earlier.read_text()
    assert text.startswith("# twinforge preset: home twin calibrated") and "usage_scale" in text
    assert stat.S_ISREG(os.lstat(earlier).st_mode)
