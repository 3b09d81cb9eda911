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
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import pandas as pd
import simpy

from twinforge.core.schema import ChannelSpec
from twinforge.core.timegrid import TimeGrid

__all__ = ["Twin", "simulate", "DEFAULT_CHUNK_SAMPLES"]

#: Samples per rendered chunk (two weeks at 1 min; 5.6 h at 1 s): about 275 MB peak for a home-year.
DEFAULT_CHUNK_SAMPLES = 20_160


@runtime_checkable
class Twin(Protocol):
    """What a twin provides to the engine.

    Class level (used by the scenario and the runner): ``Config`` (pydantic model of one
    run's parameters), ``Diversity`` (laws by which runs differ), ``draw(config,
    diversity, rng)`` (one run's parameters), ``period_range_s``; constructed as
    ``Twin(config, streams, events)``.

    Per run: ``start`` wires the SimPy processes for a grid; ``render`` returns, for
    samples ``i0 .. i1-1``, one ndarray of shape (i1 - i0,) per declared channel (labels
    included); ``events`` returns the run's ground-truth event table; ``parameters`` the
    flat parameter vector recorded in ``runs.parquet``.

    Optional: ``corruptions``, a sequence of callables ``(block, t_s) -> None`` that
    :func:`simulate` applies in order to each rendered block (with ``t_s`` its sample times
    [s]). They replace measured columns of the block (sensor faults, see
    :mod:`twinforge.events.sensor`) after the twin has rendered it, so what they change is
    what the sensors report, never the state the twin's processes see.
    ``max_chunk_samples(grid)`` caps the block size of a twin with much state per sample
    (a feeder of many homes, vibration snapshots). ``run_grid(grid)`` lets the runner end a
    run early (a machine at its failure); the shared base is :class:`twinforge.twins.base.TwinBase`.
    """

    name: ClassVar[str]
    Config: ClassVar[type]
    Diversity: ClassVar[type]
    period_range_s: ClassVar[tuple[float, float]]

    def channels(self) -> tuple[ChannelSpec, ...]: ...

    def start(self, env: simpy.Environment, grid: TimeGrid) -> None: ...

    def render(self, grid: TimeGrid, i0: int, i1: int) -> dict[str, np.ndarray]: ...

    def events(self, run_id: int) -> pd.DataFrame: ...

    def parameters(self) -> dict[str, Any]: ...


def simulate(
    twin: Twin,
    grid: TimeGrid,
    *,
    chunk_samples: int = DEFAULT_CHUNK_SAMPLES,
    on_chunk: Callable[[int], None] | None = None,
) -> Iterator[dict[str, np.ndarray]]:
    """Run ``twin`` over ``grid``, yielding rendered blocks with a ``time`` column.

    Parameters
    ----------
    twin : Twin
    grid : TimeGrid
    chunk_samples : int
        Upper bound on samples per block; blocks are aligned to whole days when possible.
        The output does not depend on it.
    on_chunk : callable, optional
        Called with the number of samples of each finished block (progress bars).

    Yields
    ------
    dict of str to ndarray of shape (n_block,)
    """
    env = simpy.Environment()
    twin.start(env, grid)
    limit = getattr(twin, "max_chunk_samples", None)
    if limit is not None:  # a twin whose state per sample is large caps its own chunks
        chunk_samples = max(1, min(chunk_samples, int(limit(grid))))
    for i0, i1 in grid.chunks(chunk_samples):
        t_end = i1 * grid.period_s
        if t_end > env.now:
            env.run(until=t_end)
        block = twin.render(grid, i0, i1)
        for corrupt in getattr(twin, "corruptions", ()):  # measurement faults, state untouched
            corrupt(block, grid.t_s(i0, i1))
        block["time"] = grid.timestamps(i0, i1)
        yield block
        if on_chunk is not None:
            on_chunk(i1 - i0)
