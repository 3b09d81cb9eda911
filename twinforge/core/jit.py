"""Compiled kernels: numba's ``njit`` with an on-disk cache, imported only when first used.

Components advance their discrete processes (appliance cycles, thermostat switches, tank
heating, occupants' states) event by event in compiled loops over units; the draws come in
as arrays, so compiled and interpreted runs give the same events. ``NUMBA_DISABLE_JIT=1``
runs the same functions as Python (debugging; the benchmarks' "without numba" figure).

:func:`njit` returns a lazy kernel: numba is imported and the function compiled (or loaded
from numba's cache) at its first call, so importing twinforge does not import numba. Kernels
that call other kernels find them compiled: before compiling, a kernel compiles every lazy
kernel its code names and puts the compiled one in its module's namespace.
"""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["njit"]


class _LazyKernel:
    def __init__(self, fn) -> None:
        self.fn = fn
        self.compiled: Any = None
        functools.update_wrapper(self, fn)  # name, docstring (doctests find it), __wrapped__

    def materialise(self) -> Any:
        if self.compiled is None:
            g = self.fn.__globals__
            for name in self.fn.__code__.co_names:
                other = g.get(name)
                if isinstance(other, _LazyKernel):
                    g[name] = other.materialise()
            try:
                from numba import njit as _njit
            except ImportError:  # pragma: no cover - numba is a dependency
                self.compiled = self.fn
            else:
                self.compiled = _njit(cache=True, nogil=True)(self.fn)
        return self.compiled

    def __call__(self, *args):
        return self.materialise()(*args)


def njit(fn) -> Any:
    """A kernel compiled by ``numba.njit(cache=True)`` at its first call."""
    return _LazyKernel(fn)
