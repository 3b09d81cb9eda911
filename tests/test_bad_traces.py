"""The corpus of malformed real traces in tests/bad_inputs/traces: `twinforge fidelity`
refuses each with one clear line (the file, the column or field, what is allowed), exit
code 2, no traceback and no report written.

The fragment each file's error must contain is in ``tests/bad_inputs/traces/EXPECTED.toml``.
"""

import tomllib
import warnings
from pathlib import Path

import pytest

from twinforge.campaign.runner import generate
from twinforge.campaign.spec import load_spec
from twinforge.cli import main
from twinforge.fidelity.loader import TraceError, load_trace

TRACES = Path(__file__).parent / "bad_inputs" / "traces"
EXPECTED = tomllib.loads((TRACES / "EXPECTED.toml").read_text())
FILES = sorted(p for p in TRACES.iterdir() if p.name != "EXPECTED.toml")


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """A small valid dataset to compare with: one home, two days at 1 h."""
    out = tmp_path_factory.mktemp("bad_traces") / "homes"
    generate(load_spec(None, twin="home", runs=1, days=2, period="1h", start="2024-01-01", seed=3),
             out, progress=False)
    return out


def test_the_corpus_is_large_enough_and_every_file_has_its_expectation():
    assert len(FILES) >= 12
    assert sorted(EXPECTED) == [p.name for p in FILES]  # no file without a fragment, no stale entry


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_bad_trace_is_refused_clearly(path, synthetic, tmp_path, capsys):
    out = tmp_path / "report"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main(["fidelity", "--real", str(path), "--synthetic", str(synthetic),
                     "--map", "power=mains_power_w", "--out", str(out)])
    captured = capsys.readouterr()
    err = captured.err
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("twinforge: error: "), err  # one line
    assert str(path) in err  # names the file
    assert EXPECTED[path.name] in err, err
    assert captured.out == ""
    assert [str(w.message) for w in caught] == []  # nothing else on stderr in a real shell
    assert not out.exists()  # no output written


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_load_trace_raises_only_trace_error(path):
    """The library contract under the command: every problem is a TraceError naming the file
    (a file the generic loader can read, e.g. the PJM one, may load)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            load_trace(path)
        except TraceError as exc:
            assert str(path) in str(exc)
