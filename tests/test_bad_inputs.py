"""The corpus of malformed inputs in tests/bad_inputs: one clear error each, nothing written.

Each scenario file states the fragment its error must contain in a first line
``# expect: <fragment>`` (files that cannot hold a comment are listed below).
"""

from pathlib import Path

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
    assert "Traceback" not in err and err.startswith("twinforge: error")
    assert not out.exists()  # nothing written
