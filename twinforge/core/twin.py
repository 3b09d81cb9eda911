"""The twin contract: what every twin declares, and what it does over a run's life cycle.

A twin is a class registered in :data:`twinforge.core.registry.TWINS` that subclasses
:class:`Twin` (in practice :class:`twinforge.twins.base.TwinBase`, which adds the shared
plumbing). The engine (:func:`twinforge.core.engine.simulate`) and the runner
(:mod:`twinforge.campaign.runner`) use only what this contract declares: no attribute is
probed, none is attached to a twin from outside.

Life cycle of one run::

    twin = TwinCls(config, streams, events)   # a Config drawn by TwinCls.draw
    grid = twin.run_grid(grid)                # the run's own grid (a machine may stop at failure)
    twin.start(env, grid)                     # wire SimPy processes; scheduled events act
                                              #   on the twin through its targets
    for each chunk [i0, i1):                  # at most twin.max_chunk_samples(grid) samples
        out = twin.render(grid, i0, i1)       # -> Rendered(samples, tables)
        twin.measured(out.samples, t_s)       # measurement faults on the reported values
    twin.events(run_id), twin.parameters()    # events.parquet rows, runs.parquet record
    twin.events_table(run_id)                 # the same events as the Arrow table written

**Event targets.** An event acts on a twin only through a *target*, a named handle on
what the twin lets events change (:data:`TARGETS`). A twin declares the targets it exposes
(:attr:`Twin.targets`) and hands them out with :meth:`Twin.target`; an event type declares
the targets it needs (:attr:`twinforge.events.base.EventType.needs`). A scenario placing an
event on a twin that lacks one of them is refused when it is validated, before anything
runs (:func:`twinforge.events.base.refusal`).
"""

from __future__ import annotations

import abc
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import numpy as np
import pandas as pd
import simpy

from twinforge.core.params import Bound, Law, Parameter, build_space
from twinforge.core.schema import ChannelSpec
from twinforge.core.timegrid import TimeGrid

__all__ = [
    "TARGETS", "Twin", "Rendered", "Corruption", "AmbientTemperature", "FaultRate", "Supply", "Damage",
    "Measurements",
]

#: Every event target a twin may expose: name -> what an event changes through it.
TARGETS: dict[str, str] = {
    "ambient_temperature": "the outdoor (ambient) air temperature the twin's physics sees: add_anomaly(fn) adds "
                           "fn(t_s) [K] to it",
    "fault_rate": "the rate of the twin's own random faults: add_multiplier(start_s, end_s, factor) multiplies it "
                  "over [start_s, end_s)",
    "supply": "the electricity supply of the twin's units: add_outage(start_s, end_s, cause, share) cuts the given "
              "share of them and returns the outage's event id",
    "damage": "the damage of the twin's fault modes: inject(mode, start_s, end_s, severity, event_type) forces a "
              "fault and returns its event id",
    "measurements": "the values the twin's sensors report: add_corruption(fn) lets fn(samples, t_s) alter the "
                    "rendered measured channels (the twin's state is untouched)",
}

#: A measurement fault: ``fn(samples, t_s)`` changes measured columns of a rendered block in place.
Corruption = Callable[[dict[str, np.ndarray], np.ndarray], None]


class AmbientTemperature(Protocol):
    """Target ``ambient_temperature``."""

    def add_anomaly(self, fn: Callable[[np.ndarray], np.ndarray]) -> None: ...


class FaultRate(Protocol):
    """Target ``fault_rate``."""

    def add_multiplier(self, start_s: float, end_s: float, factor: float) -> None: ...


class Supply(Protocol):
    """Target ``supply``."""

    def add_outage(self, start_s: float, end_s: float, cause: str, share: float) -> int: ...


class Damage(Protocol):
    """Target ``damage``."""

    def inject(self, mode: str, start_s: float, end_s: float, severity: float, etype: str) -> int: ...


class Measurements:
    """Target ``measurements``: the measurement faults of a run, applied in the order added."""

    def __init__(self) -> None:
        self._faults: list[Corruption] = []

    def add_corruption(self, fn: Corruption) -> None:
        self._faults.append(fn)

    def __len__(self) -> int:
        return len(self._faults)

    def __iter__(self):
        return iter(self._faults)

    def apply(self, samples: dict[str, np.ndarray], t_s: np.ndarray) -> None:
        for fn in self._faults:
            fn(samples, t_s)


@dataclass
class Rendered:
    """What a twin renders for samples ``i0 .. i1-1`` (like pvlib's ``ModelChainResult``).

    Attributes
    ----------
    samples : dict of str to ndarray of shape (i1 - i0,)
        One array per declared channel (labels included); the engine adds ``time``.
    tables : dict of str to dict of str to ndarray
        The run's extra tables for these samples (``snapshots`` of a machine, per-home
        ``homes`` streams of a feeder), each a set of equally long columns, written to
        ``<table>/`` beside the samples.
    """

    samples: dict[str, np.ndarray]
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)


class Twin(abc.ABC):
    """The contract between a twin and the engine, the runner, the scenario and the events.

    Class level (read by the scenario, the campaign and the runner before a run exists):

    - ``name``: the registered name;
    - ``Config``: pydantic model of one run's parameters (``[<name>]`` of a scenario);
    - ``Diversity``: pydantic model of the laws by which runs differ (``[diversity]``);
    - ``period_range_s``: the sample periods the twin renders [s];
    - ``targets``: the event targets it exposes (keys of :data:`TARGETS`);
    - ``calibratable``: the parameters calibration searches by name, with default ranges;
    - ``laws``: how ``draw`` varies the settings across runs, as data; with the fields of
      ``Config`` and ``Diversity`` they make :meth:`parameter_space`;
    - :meth:`draw`: one run's ``Config`` from the scenario's and the laws;
    - :meth:`pin_explicit`: the laws with the settings a scenario writes explicitly pinned;
    - :meth:`invariants`: the physical invariants of a run's samples that ``verify`` checks.

    Per run: ``Twin(config, streams, events)``, then :meth:`run_grid`, :meth:`start`,
    :meth:`render` chunk by chunk (with :meth:`measured` on each), :meth:`events` and
    :meth:`parameters`. Event types act through :meth:`target`, write to ``log`` (the run's
    :class:`~twinforge.core.eventlog.EventLog`), draw from ``streams`` and keep state
    between their applications in ``event_state``.
    """

    name: ClassVar[str]
    Config: ClassVar[type]
    Diversity: ClassVar[type]
    period_range_s: ClassVar[tuple[float, float]]
    targets: ClassVar[frozenset[str]] = frozenset()
    #: The parameters calibration may search by name (dotted paths of ``Config``, and
    #: ``diversity.<field>`` of ``Diversity``) with their default ranges.
    calibratable: ClassVar[Mapping[str, Bound]] = {}
    #: How ``draw`` varies the settings across runs, written as data: ``{dotted path: Law}``
    #: (read by :meth:`parameter_space`; ``draw`` itself is still code).
    laws: ClassVar[Mapping[str, Law]] = {}

    @classmethod
    def parameter_space(cls) -> dict[str, Parameter]:
        """Every setting of the twin by dotted path (``Config`` fields, then ``diversity.<field>``):
        unit, valid range, default, the law across runs (:attr:`laws`) and the calibration range
        (:attr:`calibratable`). See :func:`twinforge.core.params.build_space`."""
        return dict(_space(cls))

    @staticmethod
    def draw(config: Any, diversity: Any, rng: np.random.Generator) -> Any:
        """One run's parameters: ``config`` varied by the laws of ``diversity`` (None: ``config``)."""
        return config

    @staticmethod
    def pin_explicit(section: dict[str, Any], diversity: dict[str, Any] | None) -> tuple[dict[str, Any], Any]:
        """Explicit settings win over diversity: ``(section, diversity)`` as a user wrote them
        (``diversity`` None when off) with every law that would redraw a written setting
        pinned to it, in ``diversity`` or in the twin's own section (a feeder's ``[grid.homes]``
        laws of its homes); ValueError (one line) where a law written disagrees. By default unchanged."""
        return section, diversity

    @staticmethod
    def invariants(df: pd.DataFrame) -> list[str]:
        """The physical invariants a run's samples ``df`` violate (``twinforge verify``); none by default."""
        return []

    @abc.abstractmethod
    def channels(self) -> tuple[ChannelSpec, ...]:
        """The run's channels with their units, in column order (labels included)."""

    def local_timezone(self) -> str | None:
        """IANA time zone of the run's local-time features (occupants' clocks), None: none."""
        return None

    def run_grid(self, grid: TimeGrid) -> TimeGrid:
        """The grid this run renders: ``grid``, or shorter when the twin ends early."""
        return grid

    def max_chunk_samples(self, grid: TimeGrid) -> int | None:
        """Largest block the twin renders at once (None: no cap of its own)."""
        return None

    def chunk_lattice_s(self) -> float | None:
        """The step [s] on which the twin's state advances in pieces a block edge must not
        cut (engine times 0, step, 2 step, ...), for :meth:`TimeGrid.chunks`
        (None: any edge will do)."""
        return None

    @abc.abstractmethod
    def start(self, env: simpy.Environment, grid: TimeGrid) -> None:
        """Wire the run's SimPy processes for ``grid``; scheduled events act here."""

    @abc.abstractmethod
    def target(self, name: str) -> Any:
        """The event target ``name`` (see :data:`TARGETS`); LookupError if not exposed."""

    @abc.abstractmethod
    def render(self, grid: TimeGrid, i0: int, i1: int) -> Rendered:
        """Samples ``i0 .. i1-1`` of every declared channel, and extra tables."""

    @abc.abstractmethod
    def measured(self, samples: dict[str, np.ndarray], t_s: np.ndarray) -> None:
        """Apply the run's measurement faults to rendered ``samples`` at times ``t_s`` [s]."""

    @abc.abstractmethod
    def events(self, run_id: int) -> pd.DataFrame:
        """The run's ground-truth events (``events.parquet`` rows)."""

    def events_table(self, run_id: int) -> Any:
        """The run's events as the Arrow table of its events shard (what the runner writes);
        by default :meth:`events` converted, the same bytes."""
        from twinforge.export.parquet import _events_table

        return _events_table(self.events(run_id), self.name, run_id, f"run {self.name}/{run_id}")

    @abc.abstractmethod
    def parameters(self) -> dict[str, Any]:
        """The flat parameter vector recorded in ``runs.parquet``."""


@functools.cache
def _space(cls: type[Twin]) -> Mapping[str, Parameter]:
    return build_space(cls.Config, cls.Diversity, cls.laws, cls.calibratable)
