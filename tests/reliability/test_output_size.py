"""The output size is estimated before anything is written (from the first rendered block,
encoded in memory as the writer encodes it) and a run that would be too large is refused
unless allowed; the estimate is checked here against the bytes really written."""

import os
from pathlib import Path

import pytest

from twinforge.campaign.runner import (
    OutputTooLarge,
    estimate_output,
    generate,
    plan_run,
    _start_run,
)
from twinforge.campaign.spec import load_spec
from twinforge.cli import main


def written_bytes(root: Path) -> int:
    """Bytes of the files of the runs (samples, shards, extra tables) plus their folders."""
    files = [p for p in root.rglob("*") if p.is_file() and p.parent != root and p.name != ".lock"]
    run_dirs = {p.parent for p in files}
    return sum(p.stat().st_size for p in files) + 4096 * len(run_dirs)


def estimate_for(spec) -> float:
    plan = plan_run(spec, spec.seed, 0)
    twin, run_grid, blocks = _start_run(spec, plan, spec.grid())
    return estimate_output(spec, plan, twin, run_grid, next(blocks), spec.runs, seed=spec.seed).bytes


@pytest.mark.parametrize("overrides", [
    dict(twin="home", runs=3, days=3, period="5min"),
    dict(twin="home", runs=4, days=1, period="1h"),
    dict(twin="grid", runs=1, days=2, period="15min", grid={"n_homes": 10}),
    dict(twin="machine", runs=2, days=0.05, period="10s"),  # waveform snapshots: an extra table
], ids=["home-5min", "home-1h", "grid", "machine-snapshots"])
def test_the_estimate_is_within_15_percent_of_the_bytes_written(tmp_path, overrides):
    spec = load_spec(None, seed=3, start="2024-03-01", **overrides)
    est = estimate_for(spec)
    generate(spec, tmp_path / "d", progress=False)
    real = written_bytes(tmp_path / "d")
    assert abs(est / real - 1) < 0.15, (est, real)


def test_a_too_large_output_is_refused_before_anything_is_written(tmp_path, capsys):
    spec = load_spec(None, twin="home", runs=5, days=1, period="1h", seed=1)
    with pytest.raises(OutputTooLarge, match=r"the output would be about .* \(5 run\(s\) x .*: 24 rows x .*\), "
                       r"above the 10.0 kB that twinforge writes without asking; add --allow-large"):
        generate(spec, tmp_path / "d", progress=False, max_output_bytes=10_000)
    assert not (tmp_path / "d").exists()
    # 10,000 machines at 51.2 kHz for a year: hundreds of TB; refused at once, with one line
    out = tmp_path / "m"
    code = main(["generate", "machine", "--machines", "10000", "--days", "365", "--rate", "51.2kHz",
                 "--period", "1s", "--seed", "1", "--quiet", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("twinforge: error: the output would be about ") and err.count("\n") == 1
    assert " TB (10,000 run(s) x " in err and "add --allow-large to write it anyway" in err
    assert not out.exists()


def test_an_overwrite_that_would_be_too_large_deletes_nothing(tmp_path):
    spec = load_spec(None, twin="home", runs=2, days=1, period="1h", seed=1)
    generate(spec, tmp_path / "d", progress=False)
    before = sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "d").rglob("*"))
    with pytest.raises(OutputTooLarge):
        generate(spec, tmp_path / "d", mode="overwrite", progress=False, max_output_bytes=1000)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "d").rglob("*")) == before


def test_more_than_the_free_space_is_refused(tmp_path, monkeypatch):
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 5000, 5000))
    spec = load_spec(None, twin="home", runs=2, days=1, period="1h", seed=1)
    with pytest.raises(OutputTooLarge, match=r"more than the 5\.0 kB free at "):
        generate(spec, tmp_path / "d", progress=False)
    assert not (tmp_path / "d").exists()
    assert os.listdir(tmp_path) == []
