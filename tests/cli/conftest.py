"""The ``tf`` fixture: the ``twinforge`` command in this process.

``tf("generate", "home", ...)`` runs :func:`twinforge.cli.main` with those arguments, its
standard output and error captured, and returns a :class:`subprocess.CompletedProcess`
(``returncode``, ``stdout``, ``stderr``) as a real subprocess would. Starting Python and
importing twinforge for every case cost most of these tests' time; the entry point itself
(``python -m twinforge``) is run as a subprocess once, by ``tests/cli/test_cli.py``'s
``dataset`` fixture. An exception the CLI does not turn into a message propagates (a
subprocess would print a traceback).
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess

import pytest

from twinforge.cli import main


def _run(*args, cwd=None) -> subprocess.CompletedProcess:
    argv = [str(a) for a in args]
    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as e:  # argparse: --help (0), a usage error (2)
                code = e.code if isinstance(e.code, int) else 2
    finally:
        os.chdir(here)
    return subprocess.CompletedProcess(["twinforge", *argv], code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="session")
def tf():
    """Run the ``twinforge`` command in this process (see the module's docstring)."""
    return _run
