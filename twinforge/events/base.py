"""Event types: what an event is, what it labels and how it acts on a twin.

An event type is a class registered in :data:`twinforge.core.registry.EVENTS`. Each
declares its ``category`` (``"weather"``, ``"grid"``, ``"machine"``, ``"sensor"``), the
event targets it needs (:attr:`EventType.needs`, names of
:data:`twinforge.core.twin.TARGETS`: a twin receives the event when it exposes them all)
and implements :meth:`EventType.apply`, which changes the twin's inputs or state over
``[start_s, end_s)`` through those targets only (``twin.target(name)``) and records the
event in the run's log with ``label=True`` so that it labels the sample grid. A scheduled event's ``params`` reach
``apply`` as keyword arguments; a type that takes some checks them in
:meth:`EventType.check_params` (a type without that method takes none). New types
register without touching the core::

    @EVENTS.register("my_event")
    class MyEvent(EventType): ...
"""

from __future__ import annotations

from typing import Any, ClassVar

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_serializer

from twinforge.core.registry import EVENTS
from twinforge.core.timegrid import parse_utc

__all__ = ["EventType", "ScheduledEvent", "receivers", "refusal"]


class EventType:
    """Base class of registered event types."""

    name: ClassVar[str]
    category: ClassVar[str]
    #: Event targets the event acts through (:data:`twinforge.core.twin.TARGETS`); a twin
    #: that does not expose them all cannot receive the event.
    needs: ClassVar[tuple[str, ...]] = ()
    #: Targets the event acts through where a twin exposes them (elsewhere it only labels).
    uses_if_exposed: ClassVar[tuple[str, ...]] = ()
    #: Unit and meaning of ``severity`` (documented in docs/events.md).
    severity_unit: ClassVar[str]
    severity_range: ClassVar[tuple[float, float]]
    #: Name of the ``params`` key through which an event already in progress when the run's
    #: window opens learns how long it has lasted [h] (None: the event is clipped to the
    #: window, which is exact for step-like events such as outages).
    in_progress_param: ClassVar[str | None] = None

    def apply(self, twin: Any, start_s: float, end_s: float, severity: float, **params: Any) -> int:
        """Act on ``twin`` over ``[start_s, end_s)`` and log the event; returns its id."""
        raise NotImplementedError

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> None:
        """Refuse bad ``params`` of a scheduled event (ValueError); by default: none allowed."""
        if params:
            raise ValueError(f"{cls.name!r} takes no params, got {', '.join(sorted(params))}")


def receivers(event_type: type) -> list[str]:
    """The registered twins that expose every target ``event_type`` needs, sorted."""
    from twinforge.core.registry import TWINS

    return [n for n in TWINS.names() if set(event_type.needs) <= set(TWINS.get(n).targets)]


def refusal(event_name: str, twin: str) -> str | None:
    """Why the ``twin`` twin cannot receive events of type ``event_name`` (None: it can).

    One line naming the missing targets and the event types the twin does receive.
    """
    from twinforge.core.registry import TWINS

    cls, exposed = EVENTS.get(event_name), set(TWINS.get(twin).targets)
    missing = [t for t in cls.needs if t not in exposed]
    if not missing:
        return None
    allowed = [n for n in EVENTS.names() if set(EVENTS.get(n).needs) <= exposed]
    return (
        f"{event_name!r} needs the {', '.join(missing)} target{'s' if len(missing) > 1 else ''}, "
        f"which the {twin} twin does not expose "
        f"(it exposes: {', '.join(sorted(exposed))}); allowed: events of the {twin} twin ({', '.join(allowed)})"
    )


class ScheduledEvent(BaseModel):
    """An event placed by the user at a fixed time (a scenario's ``[[events]]`` entry)."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    type: str = Field(description="registered event type, e.g. 'heat_wave'")
    start: pd.Timestamp = Field(description="onset (UTC; naive times are UTC)")
    duration_h: float = Field(gt=0.0, le=24 * 366, description="duration [h]")
    severity: float = Field(description="intensity in the event type's unit (see docs/events.md)")
    params: dict[str, str | float | int | bool] = Field(
        default_factory=dict, description="type-specific settings, e.g. {channel = 'temp_indoor_c'}"
    )

    @field_validator("type")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in EVENTS:
            raise ValueError(f"unknown event type {v!r}; known: {', '.join(EVENTS.names())}")
        return v

    @field_validator("start", mode="before")
    @classmethod
    def _start(cls, v: Any) -> pd.Timestamp:
        return parse_utc(v, "2024-07-10T12:00")

    @field_validator("params")
    @classmethod
    def _params(cls, v: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        name = info.data.get("type")
        if name is None:  # the type itself was refused
            return v
        check = getattr(EVENTS.get(name), "check_params", None)
        if check is not None:
            check(v)
        elif v:
            raise ValueError(f"{name!r} takes no params, got {', '.join(sorted(v))}")
        return v

    @model_serializer(mode="wrap")
    def _dump(self, handler: Any) -> Any:
        # Without params an event dumps (and hashes into config hashes) as it always did.
        out = handler(self)
        if isinstance(out, dict) and not self.params:
            out.pop("params", None)
        return out

    def __hash__(self) -> int:
        return hash((self.type, self.start, self.duration_h, self.severity, tuple(sorted(self.params.items()))))

    def check_severity(self) -> None:
        cls = EVENTS.get(self.type)
        lo, hi = cls.severity_range
        if not lo <= self.severity <= hi:
            raise ValueError(
                f"events: severity of {self.type!r} must be within [{lo}, {hi}] {cls.severity_unit}, "
                f"got {self.severity}"
            )
