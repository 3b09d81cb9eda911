"""Documentation must be current: generated pages, README commands, links, wording.

The README's commands are run exactly as printed (``make test-slow``), in a folder laid
out like a checkout (``.venv`` and ``twinforge/`` linked in), with the README's own
scenario file; the fast tests check that every command parses, that the scenario does what
the README says, and that docs neither point outside the repository nor speak of a tracker.
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
DOCS = sorted((ROOT / "docs").glob("*.md"))


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def readme_commands() -> list[str]:
    """The ``twinforge`` command lines of the README's shell blocks, in order, as printed."""
    return [
        line.strip() for block in _blocks("sh") for line in block.splitlines()
        if line.strip().startswith(".venv/bin/twinforge ")
    ]


def test_nomenclature_is_current():
    r = subprocess.run([sys.executable, str(ROOT / "docs" / "_nomenclature.py"), "--check"], cwd=ROOT)
    assert r.returncode == 0, "docs/nomenclature.md is stale: run `python docs/_nomenclature.py`"


def test_nomenclature_shows_no_pydantic_internals():
    text = (ROOT / "docs" / "nomenclature.md").read_text()
    assert "PydanticUndefined" not in text and "required" in text


def test_readme_quick_start_is_the_two_make_targets_and_ci_runs_them():
    assert "make demo" in README and "make test" in README
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test\n" in ci and "make test-slow" in ci
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^test:.*\n\t.*-m \"not slow\"", makefile, flags=re.M)
    assert re.search(r"^test-slow:.*\n\t.*-m slow", makefile, flags=re.M)
    # the demo installs no test extra
    assert re.search(r"^demo: \$\(DEMO_STAMP\)", makefile, flags=re.M)
    assert '-e ".[ml]"' in makefile


def test_every_readme_command_parses():
    """A flag renamed in the CLI fails here, without running anything."""
    from twinforge.cli import _parser

    commands = readme_commands()
    assert len(commands) >= 10
    parser = _parser()
    for line in commands:
        argv = shlex.split(line, comments=True)[1:]
        try:
            parser.parse_args(argv)
        except SystemExit as e:  # argparse's error exit
            pytest.fail(f"README command does not parse ({e.code}): {line}")


def doc_commands() -> list[tuple[str, str, bool]]:
    """Every ``twinforge`` command of docs/*.md (the generated nomenclature aside): ``(page,
    command, in_block)``, from code blocks (continuation lines joined) and inline code."""
    found = []
    for page in DOCS:
        if page.name == "nomenclature.md":
            continue
        text = page.read_text()
        for lang, body in re.findall(r"```(\w*)\n(.*?)```", text, flags=re.S):
            if lang in ("python", "toml", "mermaid"):
                continue
            for line in body.replace("\\\n", " ").splitlines():
                if line.strip().startswith("twinforge "):
                    found.append((page.name, line.strip(), True))
        inline = re.findall(r"`(twinforge [^`]*)`", text.replace("\n", " "))
        found += [(page.name, m, False) for m in inline]
    return found


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    subs = [a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return subs[0] if subs else {}


def _command_parser(
    parser: argparse.ArgumentParser, words: list[str]
) -> tuple[argparse.ArgumentParser, list[str]]:
    """The (sub)parser a command's leading words select, and the words after them."""
    while words and words[0] in _subcommands(parser):
        parser, words = _subcommands(parser)[words[0]], words[1:]
    return parser, words


def test_every_option_and_command_named_in_the_docs_exists():
    """A command, subcommand or ``--option`` that the docs name but the CLI lacks (renamed,
    removed, never there) fails here; commands without placeholders must parse whole."""
    from twinforge.cli import _parser

    commands = doc_commands()
    assert len([c for c in commands if c[2]]) >= 15
    parser = _parser()
    problems = []
    for page, line, in_block in commands:
        bare = line.replace("[", " ").replace("]", " ").replace("|", " ")  # a synopsis: [--o A|B]
        words = shlex.split(bare, comments=True)[1:]
        if words[:1] in (["COMMAND"], ["..."]):
            continue
        sub, rest = _command_parser(parser, words)
        if sub is parser:
            problems.append(f"{page}: no such command: {line}")
            continue
        known = {s for a in sub._actions for s in a.option_strings}
        positionals = [a for a in sub._actions if not a.option_strings]
        if rest and not rest[0].startswith("-") and (not positionals or _subcommands(sub)):
            problems.append(f"{page}: {sub.prog} has no command or argument {rest[0]!r}: {line}")
        problems += [f"{page}: {sub.prog} has no option {w.split('=')[0]}: {line}"
                     for w in rest if w.startswith("--") and w.split("=")[0] not in known]
        placeholder = any(re.fullmatch(r"[A-Z][A-Z_]*|\.\.\.", w) for w in rest) or "[" in line
        if in_block and not placeholder:
            try:
                parser.parse_args(words)
            except SystemExit as e:  # 0: --help
                if e.code:
                    problems.append(f"{page}: does not parse: {line}")
    assert not problems, "\n".join(problems)


def test_a_doc_page_run_in_order_never_writes_twice_to_one_output():
    """A page's commands are a walk-through: a later command whose ``--out`` an earlier one
    already filled fails (exit 2: the output exists) unless it says --overwrite or --resume."""
    seen: dict[tuple[str, str], str] = {}
    clashes = []
    for page, line, in_block in doc_commands():
        words = shlex.split(line.replace("[", " ").replace("]", " "), comments=True)
        if not in_block or "--out" not in words[:-1]:
            continue
        out = words[words.index("--out") + 1].rstrip("/")
        if (page, out) in seen and not {"--overwrite", "--resume"} & set(words):
            clashes.append(f"{page}: {line}\n  writes to {out}, filled by: {seen[page, out]}")
        seen.setdefault((page, out), line)
    assert not clashes, "\n".join(clashes)


def test_the_readme_scenario_gives_every_home_air_conditioning():
    """What the README says the scenario does is what it does (an explicit setting wins over
    the diversity law that would draw it)."""
    import tomllib

    from twinforge.campaign.runner import plan_runs
    from twinforge.campaign.spec import GenerateSpec

    (toml,) = _blocks("toml")
    spec = GenerateSpec.from_data(tomllib.loads(toml), as_written=True)
    plans = plan_runs(spec, spec.seed)
    assert len(plans) == spec.runs and all(p.config.hvac.cooling for p in plans)
    assert [e.type for e in spec.events] == ["heat_wave", "sensor_stuck"]


def test_docs_stay_inside_the_repository_and_speak_of_the_project():
    pages = {p.name: p.read_text() for p in DOCS} | {"README.md": README}
    for name, text in pages.items():
        assert "../shared" not in text and "shared/DESIGN" not in text, name
        assert not re.search(r"\b(the issue|issue \d+|tracker)\b", text, flags=re.I), name
    for name, text in pages.items():  # relative links resolve
        for target in re.findall(r"\]\(([^)#]+\.md)\)", text):
            if "://" in target:
                continue
            base = ROOT if name == "README.md" else ROOT / "docs"
            assert (base / target).is_file(), f"{name}: broken link {target}"


def test_every_doc_page_is_reachable_from_the_readme_or_another_page():
    linked = set(re.findall(r"docs/([\w.-]+\.md)", README))
    for p in DOCS:
        linked |= set(re.findall(r"\]\(([\w.-]+\.md)\)", p.read_text()))
    orphans = [p.name for p in DOCS if p.name not in linked and p.name != "nomenclature.md"]
    assert not orphans, f"pages linked from nowhere: {orphans}"


# --------------------------------------------------------------------------- run as printed


@pytest.fixture(scope="module")
def checkout(tmp_path_factory):
    """A folder laid out like a checkout: ``.venv`` (this interpreter's environment) and
    ``twinforge/`` linked in, the README's scenario file and a meter CSV written."""
    root = tmp_path_factory.mktemp("readme")
    (root / ".venv").symlink_to(Path(sys.prefix))
    (root / "twinforge").symlink_to(ROOT / "twinforge")
    (toml,) = _blocks("toml")
    (root / "scenario.toml").write_text(toml)
    from twinforge.fidelity.loader import load_uci_household

    meter = load_uci_household().loc["2009-01-01":"2009-01-30", ["mains_power_w"]]
    meter.rename(columns={"mains_power_w": "power_w"}).to_csv(root / "my_meter.csv", index_label="time")
    return root


@pytest.mark.slow
def test_readme_commands_run_as_printed_in_order(checkout):
    """The README is a walk-through: a command may read what an earlier one wrote, so they
    run one after another in one folder, as a reader would type them (one test, not one per
    line: spread over test workers, a later line would miss an earlier line's output)."""
    if not (checkout / ".venv" / "bin" / "twinforge").exists():
        pytest.skip(f"no twinforge script in {sys.prefix}/bin (not a virtual environment)")
    lines = readme_commands()
    assert lines, "the README shows no twinforge command"
    for k, line in enumerate(lines, 1):
        r = subprocess.run(["bash", "-c", line], cwd=checkout, capture_output=True, text=True, timeout=1500)
        assert r.returncode == 0, f"README command {k} of {len(lines)}: {line}\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
        assert "Traceback" not in r.stderr, f"README command {k}: {line}\n{r.stderr[-3000:]}"


def test_the_api_reference_documents_the_lazily_imported_names_without_warnings(tmp_path):
    """``make docs`` (docs/_api.py): pdoc finds the names twinforge and twinforge.export
    import on first use and parses every annotation (it printed 8 warnings and left them out)."""
    pytest.importorskip("pdoc", reason="the [docs] extra (make docs installs it)")
    modules = ["twinforge", "twinforge.export", "twinforge.fidelity", "twinforge.fidelity.calibration"]
    r = subprocess.run([sys.executable, "-W", "ignore:The module specification", str(ROOT / "docs" / "_api.py"),
                        "--docformat", "numpy", "--no-show-source", "-o", str(tmp_path), *modules],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0 and "Warn" not in r.stdout + r.stderr, r.stdout + r.stderr
    for page, names in (("twinforge.html", ["open_dataset", "generate", "load_spec"]),
                        ("twinforge/export.html", ["TwinDataset", "describe", "open_dataset"])):
        html = (tmp_path / page).read_text()
        assert all(f'id="{n}"' in html for n in names), page


def _help_examples() -> list[tuple[str, str]]:
    """``(command, example line)`` for every ``twinforge`` line of the ``--help`` epilogs
    (continuation lines joined)."""
    from twinforge.cli import _parser

    found = []

    def walk(parser: argparse.ArgumentParser, path: list[str]) -> None:
        for name, sub in _subcommands(parser).items():
            for line in (sub.epilog or "").replace("\\\n", " ").splitlines():
                if line.strip().startswith("twinforge "):
                    found.append((" ".join([*path, name]), line.strip()))
            walk(sub, [*path, name])

    walk(_parser(), [])
    return found


def test_every_file_a_help_example_reads_can_be_had():
    """An example of ``twinforge CMD --help`` parses, and the data it reads (``--real``,
    ``--unseen``; a ``--config`` with a folder) is shipped (a checkout path), written by an
    earlier example of the same page, or one of the full data files of docs/testing.md's
    layout; a name no checkout holds (``household_power.csv.xz``) fails here."""
    from twinforge.cli import _parser

    examples = _help_examples()
    assert {c for c, _ in examples} >= {"generate", "fidelity", "calibrate", "fit-vibration"}
    layout = {Path(p).name for p in re.findall(r"^\s+(\S+/\S+\.\w+)\s", (ROOT / "docs" / "testing.md").read_text(),
                                                flags=re.M)}
    assert {"PJME_hourly.csv", "AEP_hourly.csv"} <= layout
    parser, problems = _parser(), []
    written: dict[str, set[str]] = {}
    for command, line in examples:
        words = shlex.split(re.split(r"\s[|>]\s", line)[0], comments=True)[1:]  # no pipe, no redirection
        if "..." not in words:
            try:
                parser.parse_args(words)
            except SystemExit:
                problems.append(f"{command} --help: does not parse: {line}")
        for flag, value in zip(words, words[1:]):
            user_file = flag == "--config" and "/" not in value  # the user's own scenario or preset
            if flag in ("--real", "--unseen", "--config") and not (
                    user_file or (ROOT / value).is_file() or value in written.get(command, set()) or value in layout):
                problems.append(f"{command} --help: {flag} {value}: not shipped, not written before, "
                                f"not in docs/testing.md's data layout")
        if "--out" in words[:-1]:
            written.setdefault(command, set()).add(words[words.index("--out") + 1])
    assert not problems, "\n".join(problems)
