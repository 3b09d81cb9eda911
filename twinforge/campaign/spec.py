"""The generate scenario: what to simulate, validated before anything is written.

A scenario comes from a TOML file (``--config``), from CLI flags, or from Python; all go
through :class:`GenerateSpec`, so every value is checked against its declared range and a
bad one gets a message naming the field and what is allowed.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from twinforge.core.registry import TWINS
from twinforge.core.timegrid import TimeGrid, parse_period_s
from twinforge.events.base import ScheduledEvent
from twinforge.twins.home import HomeConfig, HomeDiversity

__all__ = ["GenerateSpec", "SpecError", "load_spec", "format_validation_error"]

#: Sample periods each twin accepts [s].
PERIOD_RANGE_S = {"home": (1.0, 3600.0)}


class SpecError(ValueError):
    """A scenario that cannot be run; the message names the field and what is allowed."""


class GenerateSpec(BaseModel):
    """A ``twinforge generate`` scenario.

    Each run is one home with its own parameters (drawn with ``diversity``) and its own
    random streams under the root ``seed``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    twin: str = Field("home", description="registered twin name")
    runs: int = Field(1, ge=1, le=1_000_000, description="number of runs (homes)")
    days: float = Field(7.0, gt=0.0, le=3660.0, description="horizon [days]")
    period: str = Field("1min", description="sample period, e.g. '1s', '1min', '15min', '1h'")
    start: pd.Timestamp = Field(pd.Timestamp("2024-01-01", tz="UTC"), description="first sample (UTC)")
    seed: int | None = Field(None, ge=0, le=2**63 - 1, description="root seed; None draws one and records it")
    chunk_samples: int = Field(100_000, ge=1_000, le=10_000_000, description="samples per rendered block")
    home: HomeConfig = HomeConfig()
    diversity: HomeDiversity | None = HomeDiversity()
    events: tuple[ScheduledEvent, ...] = ()

    @field_validator("twin")
    @classmethod
    def _twin(cls, v: str) -> str:
        import twinforge.twins  # noqa: F401  (registers the built-in twins)

        if v not in TWINS:
            raise ValueError(f"unknown twin {v!r}; known: {', '.join(TWINS.names())}")
        return v

    @field_validator("period")
    @classmethod
    def _period(cls, v: str) -> str:
        parse_period_s(v)
        return v

    @field_validator("start", mode="before")
    @classmethod
    def _start(cls, v: Any) -> pd.Timestamp:
        try:
            ts = pd.Timestamp(v)
        except (ValueError, TypeError):
            raise ValueError(f"start must be a date such as '2024-01-01', got {v!r}") from None
        if ts is pd.NaT:
            raise ValueError("start must be a date such as '2024-01-01'")
        return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")

    @model_validator(mode="after")
    def _consistent(self) -> "GenerateSpec":
        period_s = parse_period_s(self.period)
        lo, hi = PERIOD_RANGE_S.get(self.twin, (1e-6, 86_400.0))
        if not lo <= period_s <= hi:
            raise ValueError(f"period must be between {lo:g} s and {hi:g} s for the {self.twin} twin, got {self.period!r}")
        if self.days * 86_400.0 < period_s:
            raise ValueError(f"days ({self.days:g} d) is shorter than one period ({self.period})")
        end = self.start + pd.Timedelta(days=self.days)
        for k, ev in enumerate(self.events):
            ev.check_severity()
            if not self.start <= ev.start < end:
                raise ValueError(
                    f"events[{k}].start ({ev.start}) must lie within the horizon [{self.start}, {end})"
                )
        return self

    @property
    def period_s(self) -> float:
        return parse_period_s(self.period)

    def grid(self) -> TimeGrid:
        return TimeGrid.from_horizon(self.start, self.days * 86_400.0, self.period_s)

    def to_json_dict(self) -> dict[str, Any]:
        """Canonical plain-data form (for the config hash and the metadata)."""
        return self.model_dump(mode="json")


def format_validation_error(err: ValidationError, source: str = "") -> str:
    """One line per problem: ``field.path: message (got value)``."""
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(scenario)"
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see `twinforge generate --help`)"
        got = e.get("input")
        got_text = "" if isinstance(got, dict) or e["type"] == "missing" else f" (got {got!r})"
        lines.append(f"{source}{loc}: {msg}{got_text}")
    return "\n".join(lines)


def load_spec(path: str | Path | None = None, **overrides: Any) -> GenerateSpec:
    """Read a TOML scenario (optional) and apply ``overrides``; raise :class:`SpecError`."""
    data: dict[str, Any] = {}
    source = ""
    if path is not None:
        path = Path(path)
        source = f"{path}: "
        try:
            raw = path.read_bytes()
        except OSError as e:
            raise SpecError(f"{path}: cannot read the scenario file ({e.strerror})") from None
        if not raw.strip():
            raise SpecError(f"{path}: the scenario file is empty")
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise SpecError(f"{path}: not a text file (a TOML scenario is expected)") from None
        except tomllib.TOMLDecodeError as e:
            raise SpecError(f"{path}: not valid TOML: {e}") from None
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return GenerateSpec.model_validate(data)
    except ValidationError as e:
        raise SpecError(format_validation_error(e, source)) from None
