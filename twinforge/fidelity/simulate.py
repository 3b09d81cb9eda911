"""Simulate twin runs in memory, through the campaign engine's own run function.

:func:`simulate_runs` builds the scenario a user would write (a
:class:`~twinforge.campaign.spec.GenerateSpec` with ``runs``, ``seed``, ``start``,
``days``, ``period``), plans its runs with :func:`~twinforge.campaign.runner.plan_runs` and
simulates each with :func:`~twinforge.campaign.runner.write_run`, the function ``twinforge
generate`` and ``twinforge campaign run`` call, into an in-memory writer instead of Parquet.
So the frame holds exactly what ``twinforge generate --config preset.toml --runs N --seed S``
writes, run by run.

Seeds: a purpose (calibration, evaluation, re-scoring) gets its own root seed, a named child
of the caller's seed (:func:`purpose_seed`, from :class:`~twinforge.core.rng.RngStreams`),
and the runs of one purpose are the scenario's runs ``0 .. n-1`` under that root: adding a
purpose or a run never shifts another's draws.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from twinforge.core.rng import RngStreams
from twinforge.fidelity.prepared import CompareError, Duration

__all__ = ["simulate_runs", "purpose_seed"]


def purpose_seed(seed: int, purpose: str) -> int:
    """A root seed for ``purpose`` (``"calibration"``, ``"evaluation"``...) under ``seed``.

    The first 63 bits of the named child stream ``purpose`` of ``RngStreams(seed)``: stable,
    independent of every other purpose, and a valid ``twinforge generate --seed``.
    """
    state = RngStreams(int(seed)).seed_sequence(purpose).generate_state(1, np.uint64)[0]
    return int(state >> np.uint64(1))


class _MemoryRun:
    def __init__(self, channels: Sequence[str]) -> None:
        self.keep = list(channels)
        self.blocks: list[dict[str, np.ndarray]] = []

    def write(self, block: dict[str, Any]) -> None:
        self.blocks.append({c: np.asarray(block[c]) for c in ("time", *self.keep)})

    def write_table(self, name: str, block: Any) -> None:  # extra tables are not compared
        pass

    def commit(self, events: Any, record: Any) -> None:
        pass


class _MemoryWriter:
    """The part of :class:`~twinforge.export.DatasetWriter` that ``write_run`` uses, in memory."""

    def __init__(self, channels: Sequence[str], twin: str) -> None:
        self.channels, self.twin = list(channels), twin
        self.runs: dict[int, _MemoryRun] = {}

    @contextlib.contextmanager
    def open_run(self, twin: str, run_id: int, channels: Sequence[Any], metadata: dict[str, Any]) -> Iterator[_MemoryRun]:
        names = [c.name for c in channels]
        missing = [c for c in self.channels if c not in names]
        if missing:
            raise CompareError(f"unknown {self.twin} channel {missing[0]!r}; channels are {sorted(names)}")
        run = _MemoryRun(self.channels)
        yield run
        self.runs[run_id] = run


def simulate_runs(
    twin: str, config: Any, start: Any, days: float, period: Any, channels: Sequence[str], *,
    seed: int = 0, n_runs: int = 1, diversity: Any = None, progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Simulate ``n_runs`` runs of a scenario in memory; a DataFrame on UTC time with ``run_id``.

    Parameters
    ----------
    twin : str
        ``"home"``, ``"grid"`` or ``"machine"``.
    config : pydantic model
        The twin's config (every run's, or the base each run's unit is drawn from).
    start, days, period
        First sample (UTC), horizon [days], sample period (a duration such as ``"1h"``).
    channels : sequence of str
        Channels to keep.
    seed : int
        Root seed of the scenario (``twinforge generate --seed``).
    n_runs : int
        Runs ``0 .. n_runs - 1`` (``--runs``).
    diversity : pydantic model, optional
        The twin's ``Diversity``: each run draws its own unit (home, machine) from it; None:
        every run is ``config``.
    progress : callable, optional
        Called with the number of samples of each simulated block.

    Raises
    ------
    CompareError
        A channel the twin does not write.
    """
    from twinforge.campaign.runner import plan_runs, write_run
    from twinforge.campaign.spec import GenerateSpec

    spec = GenerateSpec(twin=twin, runs=int(n_runs), days=float(days), period=Duration.of(period).text,
                        start=pd.Timestamp(start), config=config, diversity=diversity, seed=int(seed))
    grid = spec.grid()
    writer = _MemoryWriter(channels, twin)
    bar = _Progress(progress)
    for plan in plan_runs(spec, int(seed)):
        write_run(writer, spec, plan, seed=int(seed), chash="", grid=grid, bar=bar)
    frames = []
    for run_id, run in sorted(writer.runs.items()):
        data = {c: np.concatenate([b[c] for b in run.blocks]).astype("float64") for c in channels}
        t = pd.DatetimeIndex(np.concatenate([b["time"] for b in run.blocks]))
        t = t.tz_localize("UTC") if t.tz is None else t.tz_convert("UTC")
        frames.append(pd.DataFrame({"run_id": run_id, **data}, index=t.rename("time")))
    out = pd.concat(frames)
    out.attrs["tz"] = getattr(config, "tz", None)
    out.attrs["source"] = f"{n_runs} simulated {twin} run(s), seed {seed}"
    return out


class _Progress:
    total = 0

    def __init__(self, fn: Callable[[int], None] | None) -> None:
        self.fn = fn

    def update(self, n: int = 1) -> None:
        if self.fn is not None:
            self.fn(n)

    def refresh(self) -> None:
        pass
