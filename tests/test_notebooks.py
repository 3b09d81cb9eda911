"""Every notebook in ``notebooks/`` runs from top to bottom on a fresh kernel.

Each notebook is executed with nbclient on a new IPython kernel started with *this*
interpreter (``sys.executable``, i.e. the project's virtual environment), whatever kernel
specs the machine or the user may have installed, in an empty temporary working directory.
A cell that raises fails the test with that cell's source and traceback. Notebooks are
discovered by glob, so a new ``notebooks/*.ipynb`` is tested without touching this file.
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_S = 300
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class VenvKernelManager(AsyncKernelManager):
    """Starts ``sys.executable -m ipykernel_launcher`` whatever kernel specs are installed
    (a user's ``python3`` kernel may point at another interpreter)."""

    @property
    def kernel_spec(self) -> KernelSpec:
        return KernelSpec(
            argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            display_name=f"Python ({sys.executable})",
            language="python",
        )


def test_notebooks_are_found():
    assert NOTEBOOKS, f"no notebook in {ROOT / 'notebooks'}"


def _kernel_env() -> dict[str, str]:
    env = dict(os.environ)
    env["MPLBACKEND"] = "Agg"  # figures render without a display
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # no debugger warning on frozen modules
    # pytest may run beside other jobs on few cores: OpenMP pools (scikit-learn) then
    # busy-wait against each other and become many times slower. One thread is enough
    # for the notebooks' small models; an explicit setting wins.
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def _failure(nb: nbformat.NotebookNode, err: Exception) -> str:
    """The failing cell's number and source, then nbclient's message (with traceback)."""
    for i, cell in enumerate(nb.cells):
        outputs = cell.get("outputs", []) if cell.cell_type == "code" else []
        if any(o.get("output_type") == "error" for o in outputs):
            return _ANSI.sub("", f"cell {i} raised:\n{cell.source}\n\n{err}")
    return _ANSI.sub("", str(err))


@pytest.mark.slow  # minutes each: make test-slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(  # it owns the kernel manager: the kernel is shut down after
        nb,
        kernel_manager_class=VenvKernelManager,
        kernel_name="python3",
        timeout=CELL_TIMEOUT_S,
        startup_timeout=120,
        resources={"metadata": {"path": str(tmp_path)}},  # the kernel's working directory
    )
    t0 = time.perf_counter()
    try:
        client.execute(env=_kernel_env())
    except CellExecutionError as err:
        pytest.fail(f"{path.name}: {_failure(nb, err)}", pytrace=False)
    elapsed = time.perf_counter() - t0
    print(f"{path.name}: {elapsed:.1f} s")
