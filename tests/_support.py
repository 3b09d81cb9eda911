"""Helpers shared by test files (``from _support import ...``; ``tests/`` is on the path).

``digest`` fingerprints a dataset folder file by file; ``interrupt_after_run_0`` puts a
finished dataset back in the state a process killed right after committing run 0 leaves;
``run_cli`` runs the command line in this process and returns its exit code and output.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

__all__ = ["assert_adapt_refuses", "digest", "interrupt_after_run_0", "run_cli"]


def digest(root: Path, *, ignore: Iterable[str] = ()) -> dict[str, str]:
    """SHA-256 of every regular file under ``root`` (symbolic links left out), by relative
    path; ``ignore``: file-name patterns (``fnmatch``, e.g. ``".lock"``, ``"*.tmp"``) left out."""
    patterns = tuple(ignore)
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink() and not any(fnmatch.fnmatch(p.name, pat) for pat in patterns)
    }


def interrupt_after_run_0(out: Path) -> None:
    """Make the finished two-run dataset at ``out`` look as if its process died after run 0
    committed: no merged tables, run 1 not committed (its files gone), not finalized."""
    m = json.loads((out / "manifest.json").read_text())
    (lost,) = [e["files"] for e in m["runs"] if e["run_id"] == 1]
    m.update(finalized=False, dataset=None, runs=[e for e in m["runs"] if e["run_id"] == 0])
    m.pop("tables", None)
    (out / "manifest.json").write_text(json.dumps(m))
    for rel in ("events.parquet", "runs.parquet", *lost):
        (out / rel).unlink()


def run_cli(*args: object) -> tuple[int, str, str]:
    """``twinforge ARGS`` in this process: ``(exit code, stdout, stderr)`` (arguments as ``str``)."""
    import contextlib
    import io

    from twinforge.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as e:  # argparse: --help (0), a usage error (2)
            code = e.code if isinstance(e.code, int) else 2
    return code, out.getvalue(), err.getvalue()


def assert_adapt_refuses(tmp_path: Path, method: str, extra: list[str], message: str) -> None:
    """``campaign adapt home_heat_wave --method METHOD --column temp_outdoor_c --above 39 EXTRA``
    (``--column`` replaced when ``extra`` gives one) exits 2 with the one line ``message``
    starts, and writes nothing."""
    out = tmp_path / method
    column = [] if "--column" in extra else ["--column", "temp_outdoor_c"]
    code, _, stderr = run_cli("campaign", "adapt", "home_heat_wave", "--out", out, "--method", method, *column,
                              "--above", "39", *extra)
    assert code == 2 and stderr.startswith(message) and stderr.count("\n") == 1, stderr
    assert not out.exists()
