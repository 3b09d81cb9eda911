"""The corpus of malformed inputs in tests/bad_inputs: one clear error each, nothing written.

Each scenario file states the fragment its error must contain in a first line
``# expect: <fragment>`` (files that cannot hold a comment are listed below).
"""

import re
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from twinforge.cli import main

CORPUS = Path(__file__).parent / "bad_inputs"
SCENARIOS = sorted((CORPUS / "scenarios").glob("*"))
NO_COMMENT = {"empty.toml": "empty", "only_whitespace.toml": "empty", "binary.toml": "not a text file"}


def expected(path: Path) -> str:
    if path.name in NO_COMMENT:
        return NO_COMMENT[path.name]
    first = path.read_text().splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name} lacks its '# expect:' line"
    return first.removeprefix("# expect: ")


def test_the_corpus_is_large_enough():
    assert len(SCENARIOS) >= 40


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_bad_scenario_is_refused_clearly(path, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["generate", "--config", str(path), "--quiet", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert expected(path) in err, err
    assert str(path) in err  # names the file
    assert one_line_error(err), err
    assert not out.exists()  # nothing written


def one_line_error(err: str) -> bool:
    return err.startswith("twinforge: error") and err.count("\n") == 1 and "Traceback" not in err


CAMPAIGNS = sorted((CORPUS / "campaigns").glob("*.toml"))


def test_the_campaign_corpus_is_there():
    assert len(CAMPAIGNS) >= 15


@pytest.mark.parametrize("path", CAMPAIGNS, ids=[p.name for p in CAMPAIGNS])
def test_bad_campaign_is_refused_clearly(path, tmp_path, monkeypatch, capsys):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)  # a relative output = ... would land here
    code = main(["campaign", "run", str(path), "--quiet", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert expected(path) in err and str(path) in err, err
    assert one_line_error(err), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"] and not any(work.iterdir())


# Arguments a user may type: the working folder as output, a start that moves with the clock,
# an option of another twin. Each is refused before anything is written.
BAD_ARGS = {
    "out_empty": (["generate", "home", "--out", ""], "--out: '.' is the working folder; allowed: a new or empty"),
    "out_dot": (["generate", "home", "--out", "."], "--out: '.' is the working folder; allowed:"),
    "out_parent": (["generate", "home", "--out", ".."], ".. already exists and is a non-empty folder"),
    "out_parent_overwrite": (
        ["generate", "home", "--out", "..", "--overwrite"],
        ".. is a non-empty folder but not a twinforge dataset (no manifest.json); refusing to delete it",
    ),
    "start_now": (["generate", "home", "--start", "now", "--out", "o"], "start: 'now' is not an ISO date; allowed:"),
    "start_1800": (["generate", "home", "--start", "1800-01-01", "--out", "o"], "start: '1800-01-01' is out of range"),
    "homes_for_machine": (["generate", "machine", "--homes", "3", "--out", "o"], "--homes applies to the home and grid"),
    "campaign_out_dot": (["campaign", "run", "home_heat_wave", "--out", "."], "--out: '.' is the working folder"),
    "zero_days": (["generate", "home", "--days", "0", "--out", "o"], "days: Input should be greater than 0 (got 0.0); allowed: 0 < days <= 3660"),
}


@pytest.mark.parametrize("argv, fragment", BAD_ARGS.values(), ids=list(BAD_ARGS))
def test_bad_argument_is_refused_clearly(argv, fragment, tmp_path, monkeypatch, capsys):
    work = tmp_path / "parent" / "work"
    work.mkdir(parents=True)
    (tmp_path / "parent" / "user.txt").write_text("mine")
    monkeypatch.chdir(work)
    code = main([*argv, "--quiet"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert fragment in err and one_line_error(err), err
    assert not any(work.iterdir())  # nothing written
    assert sorted(p.name for p in (tmp_path / "parent").iterdir()) == ["user.txt", "work"]
    assert (tmp_path / "parent" / "user.txt").read_text() == "mine"  # nothing deleted


# Strict types refuse bool/int/str confusion, but keep what JSON and TOML mean alike.
GOOD = {
    "integer_days": "days = 3",
    "toml_date_start": "start = 2024-07-01",
    "toml_datetime_with_offset": "start = 2024-07-01T06:00:00+02:00",
    "iso_string_start": 'start = "2024-07-01T06:00"',
    "integer_severity": '[[events]]\ntype = "heat_wave"\nstart = 2024-01-03\nduration_h = 24\nseverity = 8',
    "integer_share": "[diversity]\ncooling_share = 1",
    "machine_integer_rate": 'twin = "machine"\nperiod = "10s"\ndays = 1\n[machine]\nsample_rate_hz = 20000',
}


@pytest.mark.parametrize("text", GOOD.values(), ids=list(GOOD))
def test_what_json_allows_still_loads(text, tmp_path):
    from twinforge.campaign.spec import load_spec

    path = tmp_path / "s.toml"
    path.write_text(text + "\n")
    spec = load_spec(path)
    assert spec.days > 0 and spec.start.tzinfo is not None


def test_strict_types_keep_the_values():
    from twinforge.campaign.spec import load_spec

    spec = load_spec(None, days=3, start="2024-07-01T06:00+02:00", home={"hvac": {"cooling": True}})
    assert spec.days == 3.0 and isinstance(spec.days, float)
    assert spec.start == pd.Timestamp("2024-07-01T04:00", tz="UTC")
    assert spec.config.hvac.cooling is True


ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = [
    *sorted((ROOT / "twinforge" / "data" / "presets").glob("*.toml")),
    *[(md, k) for md in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
      for k, _ in enumerate(re.findall(r"```toml\n(.*?)```", md.read_text(), re.S))],
]


@pytest.mark.parametrize(
    "example", EXAMPLES, ids=[e.name if isinstance(e, Path) else f"{e[0].name}-{e[1]}" for e in EXAMPLES]
)
def test_shipped_and_documented_scenarios_load_strictly(example, tmp_path):
    """Presets and every TOML example of the docs load under strict types (campaigns: tests/campaign)."""
    from twinforge.campaign.campaign import load_campaign
    from twinforge.campaign.spec import load_spec

    if isinstance(example, Path):
        load_spec(example)
        return
    md, k = example
    block = re.findall(r"```toml\n(.*?)```", md.read_text(), re.S)[k]
    data = tomllib.loads(block)
    path = tmp_path / "example.toml"
    if set(data) == {"loop"}:  # a campaign's [loop] table alone
        from twinforge.campaign.loop import read_loop

        path.write_text(block)
        assert read_loop(path) is not None
        return
    if "parameters" in data or isinstance(data.get("events"), dict):  # a campaign
        path.write_text(block)
        load_campaign(path)
        return
    if "start" not in data:  # a fragment of a scenario: events placed in a year from 2024-01-01
        block = 'start = "2024-01-01"\n' + ("" if "days" in data else "days = 366\n") + block
    path.write_text(block)
    load_spec(path)


MANIFESTS = sorted((CORPUS / "manifests").glob("*.json"))
MANIFEST_EXPECTED = tomllib.loads((CORPUS / "manifests" / "EXPECTED.toml").read_text())
TINY = ["home", "--homes", "1", "--days", "1", "--period", "1h", "--quiet"]


def test_every_manifest_case_has_its_expectation():
    assert sorted(p.stem for p in MANIFESTS) == sorted(MANIFEST_EXPECTED) and len(MANIFESTS) >= 30


def _folder_state(root: Path) -> dict[str, bytes | None]:
    return {p.relative_to(root).as_posix(): p.read_bytes() if p.is_file() else None for p in sorted(root.rglob("*"))}


@pytest.mark.parametrize("path", MANIFESTS, ids=[p.stem for p in MANIFESTS])
def test_bad_manifest_is_refused_clearly_and_nothing_is_deleted(path, tmp_path, capsys):
    """A malformed manifest.json: info, --resume and --overwrite exit 2 with one line, verify
    reports it (1: damaged, 2: not a dataset); nothing is written or deleted, not even by --overwrite."""
    root = tmp_path / "ds"
    (root / "photos" / "twin=cat").mkdir(parents=True)
    (root / "photos" / "twin=cat" / "img.jpg").write_text("a user's photo")
    run = root / "samples" / "twin=home" / "run_id=0"
    run.mkdir(parents=True)
    (run / "part-0.parquet").write_text("not ours to delete unless the manifest is sound")
    (root / "manifest.json").write_bytes(path.read_bytes())
    before = _folder_state(root)
    fragment = MANIFEST_EXPECTED[path.stem]
    for argv in (["info", str(root)],
                 ["generate", *TINY, "--out", str(root), "--resume"],
                 ["generate", *TINY, "--out", str(root), "--overwrite"]):
        code = main(argv)
        err = capsys.readouterr().err
        assert code == 2, (argv, err)
        assert fragment in err and str(root / "manifest.json") in err and one_line_error(err), (argv, err)
        assert _folder_state(root) == before, argv
    code = main(["verify", str(root), "--quiet"])
    out, err = capsys.readouterr()
    assert code in (1, 2) and fragment in out + err and "Traceback" not in out + err
    assert _folder_state(root) == before


SUBPROCESS_CASES = {
    "scenario": (["generate", "--config", str(CORPUS / "scenarios" / "bool_runs.toml")], "allowed: 1 <= runs <= 1,000,000"),
    "campaign": (["campaign", "run", str(CORPUS / "campaigns" / "output_parent.toml")], "is not a folder below"),
    "argument": (["generate", "home", "--start", "now"], "start: 'now' is not an ISO date"),
}


@pytest.mark.parametrize("argv, fragment", SUBPROCESS_CASES.values(), ids=list(SUBPROCESS_CASES))
def test_a_few_cases_as_a_user_runs_them(argv, fragment, tmp_path):
    """The same refusals through ``python -m twinforge``: exit code 2, one line on stderr."""
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "twinforge", *argv, "--quiet", "--out", "out"],
                       capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert r.returncode == 2 and r.stdout == "", r.stderr
    assert fragment in r.stderr and one_line_error(r.stderr), r.stderr
    assert not any(tmp_path.iterdir())


def test_a_manifest_case_as_a_user_runs_it(tmp_path):
    import subprocess
    import sys

    root = tmp_path / "ds"
    root.mkdir()
    (root / "manifest.json").write_bytes((CORPUS / "manifests" / "file_escapes_up.json").read_bytes())
    r = subprocess.run([sys.executable, "-m", "twinforge", "generate", *TINY, "--out", str(root), "--overwrite"],
                       capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert r.returncode == 2 and one_line_error(r.stderr), r.stderr
    assert MANIFEST_EXPECTED["file_escapes_up"] in r.stderr
    assert sorted(p.name for p in root.iterdir()) == ["manifest.json"]
