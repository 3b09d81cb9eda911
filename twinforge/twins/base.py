"""What every twin shares: its parameters, streams, scheduled events, event log and targets.

A concrete twin subclasses :class:`TwinBase`, sets the class attributes the engine and the
scenario read (``name``, ``Config``, ``Diversity``, ``draw``, ``period_range_s``,
``targets``), implements ``channels``, ``start`` and ``render`` (the contract is
:class:`twinforge.core.twin.Twin`) and, in ``start``, hands its event targets to
:meth:`TwinBase.expose` before the scheduled events act (:meth:`TwinBase.apply_scheduled_events`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import pandas as pd
import pyarrow as pa
from pydantic import BaseModel

from twinforge.core.eventlog import EventLog
from twinforge.core.registry import EVENTS
from twinforge.core.rng import RngStreams
from twinforge.core.timegrid import TimeGrid
from twinforge.core.twin import TARGETS, Measurements, Twin
from twinforge.events.base import ScheduledEvent

__all__ = ["TwinBase", "field_max", "LawPins", "setting"]


def field_max(model: type[BaseModel], name: str) -> float:
    """The upper (``le``) bound of a pydantic model's field [the field's unit].

    The fleet laws of a twin's ``draw`` clip their draws to it, so a wide law never draws a
    unit its own configuration rejects.
    """
    return float(next(m.le for m in model.model_fields[name].metadata if getattr(m, "le", None) is not None))


def setting(section: dict[str, Any], path: str) -> tuple[bool, Any]:
    """``(True, value)`` if the scenario section ``section`` writes the dotted ``path``, else ``(False, None)``."""
    node: Any = section
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


class LawPins:
    """The rule "an explicit setting wins over diversity", for one scenario section.

    ``pin(setting, law=value, ...)`` records that the written ``setting`` fixes each law to
    ``value``; a law the scenario itself gives another value raises ValueError naming both
    and the way out. ``refuse(path)`` raises for a setting the laws derive again for every
    unit and cannot pin. :meth:`laws` is the table of laws with the pins applied.

    Parameters
    ----------
    laws : dict
        The laws as written (``[diversity]``, or ``[grid.homes]`` for a feeder's homes).
    where, laws_name : str
        How messages name the settings' section (``home``) and the laws' (``diversity``).
    escape : str
        What the messages offer instead (``set diversity = false to keep ... as written``).
    """

    def __init__(self, laws: dict[str, Any], where: str, laws_name: str, escape: str) -> None:
        self.written, self.where, self.laws_name, self.escape = laws, where, laws_name, escape
        self.pins: dict[str, Any] = {}

    def pin(self, setting_path: str, **laws: Any) -> None:
        for law, value in laws.items():
            given = self.written.get(law)
            if law in self.written and (tuple(given) if isinstance(given, list) else given) != value:
                raise ValueError(
                    f"{self.where}.{setting_path} and {self.laws_name}.{law} = {given!r} disagree: an explicit "
                    f"setting pins its law to {value!r}; remove one of them (or {self.escape})"
                )
            self.pins[law] = value

    def refuse(self, path: str, why: str) -> None:
        raise ValueError(f"{self.where}.{path} is {why}; remove it, or {self.escape}")

    def laws(self) -> dict[str, Any]:
        return {**self.written, **self.pins}


class TwinBase(Twin):
    """Plumbing shared by the twins.

    Every twin exposes the ``measurements`` target (its sensor readings); the others it
    exposes are those it declares in ``targets`` and hands to :meth:`expose`.

    Parameters
    ----------
    config : pydantic model
        The run's parameters (the twin's ``Config``).
    streams : RngStreams
        The run's random streams; each component draws from its own named stream.
    events : sequence of ScheduledEvent
        Events placed on this run.
    """

    name: ClassVar[str]
    Config: ClassVar[type]
    Diversity: ClassVar[type]
    period_range_s: ClassVar[tuple[float, float]]
    targets: ClassVar[frozenset[str]] = frozenset({"measurements"})

    def __init__(self, config: Any, streams: RngStreams, events: tuple[ScheduledEvent, ...] = ()) -> None:
        self.config = config
        self.streams = streams
        self.scheduled = tuple(events)
        self.log = EventLog()
        #: per-run state event types keep between their applications (merged weather spells)
        self.event_state: dict[str, Any] = {}
        self._measurements = Measurements()
        self._targets: dict[str, Any] = {"measurements": self._measurements}

    def expose(self, **targets: Any) -> None:
        """Hand out event targets (``name=handle``); each must be declared in ``targets``."""
        for name, handle in targets.items():
            if name not in TARGETS or name not in self.targets:
                raise ValueError(f"the {self.name} twin does not declare the target {name!r}")
            self._targets[name] = handle

    def target(self, name: str) -> Any:
        """The event target ``name``; LookupError naming what the twin exposes otherwise."""
        if name not in self.targets:
            raise LookupError(
                f"the {self.name} twin has no {name!r} target; it exposes: {', '.join(sorted(self.targets))}"
            )
        try:
            return self._targets[name]
        except KeyError:
            raise LookupError(f"the {self.name} twin's {name!r} target exists once the run has started") from None

    def measured(self, samples: dict[str, Any], t_s: Any) -> None:
        """Apply the measurement faults events added (in their order) to rendered ``samples``."""
        self._measurements.apply(samples, t_s)

    def parameters(self) -> dict[str, Any]:
        """The flat parameter vector recorded in ``runs.parquet``."""
        return self.config.flat()

    def apply_scheduled_events(self, grid: TimeGrid) -> None:
        """Let each scheduled event act on this twin (call once its components exist)."""
        for ev in self.scheduled:
            start_s = (ev.start - grid.start).total_seconds()
            EVENTS.get(ev.type)().apply(self, start_s, start_s + ev.duration_h * 3600.0, ev.severity, **ev.params)

    def events(self, run_id: int) -> pd.DataFrame:
        """The run's ground-truth events (``events.parquet`` rows)."""
        return self.log.to_frame(self.grid.start, run_id, self.name)

    def events_table(self, run_id: int) -> pa.Table:
        """The run's ground-truth events as the Arrow table of its events shard (no pandas)."""
        return self.log.to_table(self.grid.start, run_id, self.name)
