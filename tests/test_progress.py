"""Progress bars (twinforge.progress): live on a terminal; elsewhere late and rare, never noise."""

from __future__ import annotations

import time

import pytest

from twinforge import progress
from twinforge.cli import main
from twinforge.fidelity.loader import UCI_SAMPLE, _sample


def _work(b, steps: int, pause_s: float) -> None:
    with b:
        for k in range(steps):
            b.set_postfix_str(f"step {k}")
            time.sleep(pause_s)
            b.update(1)


def test_off_a_terminal_a_short_job_writes_no_bar(capsys):
    # pytest's captured stderr is not a terminal, as a log file, CI or nohup
    _work(progress.bar(True, total=3, desc="short", leave=False), 3, 0.0)
    _work(progress.bar(True, total=3, desc="short and kept"), 3, 0.0)
    assert capsys.readouterr().err == ""


def test_off_a_terminal_a_long_job_shows_it_is_alive(capsys, monkeypatch):
    monkeypatch.setattr(progress, "OFF_TERMINAL_INTERVAL_S", 0.05)  # (30 s in use)
    _work(progress.bar(True, total=8, desc="long", leave=True), 8, 0.03)
    err = capsys.readouterr().err
    assert "long" in err and "8/8" in err and "step" in err, err
    assert err.count("\r") < 8 + 3  # at most one redraw per interval, not one per update


def test_on_a_terminal_the_bar_is_live_at_once(capsys, monkeypatch):
    monkeypatch.setattr(progress, "_stderr_is_terminal", lambda: True)
    _work(progress.bar(True, total=2, desc="live", leave=True), 2, 0.0)
    assert "live" in capsys.readouterr().err


@pytest.mark.parametrize("terminal", [True, False])
def test_a_disabled_bar_writes_nothing(capsys, monkeypatch, terminal):
    monkeypatch.setattr(progress, "_stderr_is_terminal", lambda: terminal)
    _work(progress.bar(False, total=2, desc="quiet"), 2, 0.0)
    assert capsys.readouterr().err == ""


def test_a_command_that_fails_at_once_off_a_terminal_prints_its_one_line_only(tmp_path, capsys):
    bad = tmp_path / "meter.csv"
    bad.write_text("time,power\n2024-01-01 00:00,1\n")  # one timestamp: refused
    assert main(["fidelity", "--real", str(bad), "--synthetic", str(_sample(UCI_SAMPLE)),
                 "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("twinforge: error: "), err
