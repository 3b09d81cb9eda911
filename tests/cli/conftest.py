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

import os
import subprocess

import pytest

from _support import run_cli


def _run(*args, cwd=None) -> subprocess.CompletedProcess:
    here = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        code, out, err = run_cli(*args)
    finally:
        os.chdir(here)
    return subprocess.CompletedProcess(["twinforge", *map(str, args)], code, out, err)


@pytest.fixture(scope="session")
def tf():
    """Run the ``twinforge`` command in this process (see the module's docstring)."""
    return _run
