"""Components: each partial model of a home written once, vectorised over homes.

:class:`~twinforge.components.homes.Homes` composes them for ``n`` homes under one weather
and clock; the home twin is ``n = 1``, the grid's feeder ``n = N``. Time is axis 0 of every
block, homes axis 1. The physics and the laws live in :mod:`twinforge.processes`; the
components hold the homes' validated parameters as arrays, their random streams and their
state, and advance the discrete processes in compiled kernels (:mod:`twinforge.core.jit`).
"""

from twinforge.components.homes import Demand, Homes, Plant

__all__ = ["Demand", "Homes", "Plant"]
