"""The Examples in the package's docstrings are tests too: each module's doctests must pass."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import twinforge

MODULES = sorted(m.name for m in pkgutil.walk_packages(twinforge.__path__, "twinforge.")
                 if not m.name.endswith("__main__"))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples of {name} fail"
