"""The engine: discrete changes in SimPy, continuous channels rendered in numpy chunks.

A twin starts its SimPy processes once; :func:`simulate` then advances the environment to
the end of each chunk of the sample grid and asks the twin to render that chunk. SimPy
schedules what couples a run (events, outages, faults, regime switches); the fast,
many-unit processes (appliance and thermostat cycles of many homes) are advanced event by
event in compiled kernels while a chunk renders (:mod:`twinforge.components`). Either way
the cost grows with the number of changes, not of samples, and each chunk can be dropped
once written: memory stays flat whatever the horizon.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import simpy

from twinforge.core.timegrid import TimeGrid
from twinforge.core.twin import Rendered, Twin

__all__ = ["Twin", "Rendered", "simulate", "DEFAULT_CHUNK_SAMPLES"]

#: Samples per rendered chunk (two weeks at 1 min; 5.6 h at 1 s): about 275 MB peak for a home-year.
DEFAULT_CHUNK_SAMPLES = 20_160


def simulate(
    twin: Twin,
    grid: TimeGrid,
    *,
    chunk_samples: int = DEFAULT_CHUNK_SAMPLES,
    on_chunk: Callable[[int], None] | None = None,
) -> Iterator[Rendered]:
    """Run ``twin`` over ``grid`` (the contract of :class:`~twinforge.core.twin.Twin`),
    yielding what it renders, chunk by chunk, with a ``time`` column in ``samples``.

    Each block is rendered once SimPy has advanced to its end; the twin's measurement
    faults (:meth:`~twinforge.core.twin.Twin.measured`) then alter what its sensors report,
    never the state its processes see.

    Parameters
    ----------
    twin : Twin
    grid : TimeGrid
    chunk_samples : int
        Upper bound on samples per block; blocks are aligned to whole days when possible,
        and always to the twin's state lattice (:meth:`Twin.chunk_lattice_s`). The output
        does not depend on it.
    on_chunk : callable, optional
        Called with the number of samples of each finished block (progress bars).

    Yields
    ------
    Rendered
        ``samples``: dict of str to ndarray of shape (n_block,); ``tables``: the block's
        rows of the run's extra tables.
    """
    env = simpy.Environment()
    twin.start(env, grid)
    limit = twin.max_chunk_samples(grid)
    if limit is not None:  # a twin whose state per sample is large caps its own chunks
        chunk_samples = max(1, min(chunk_samples, int(limit)))
    for i0, i1 in grid.chunks(chunk_samples, lattice_s=twin.chunk_lattice_s()):
        t_end = i1 * grid.period_s
        if t_end > env.now:
            env.run(until=t_end)
        out = twin.render(grid, i0, i1)
        twin.measured(out.samples, grid.t_s(i0, i1))
        out.samples["time"] = grid.timestamps(i0, i1)
        yield out
        if on_chunk is not None:
            on_chunk(i1 - i0)
