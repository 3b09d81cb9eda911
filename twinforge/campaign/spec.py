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

from twinforge.core.registry import EVENTS, TWINS
from twinforge.core.timegrid import TimeGrid, parse_period_s, parse_utc
from twinforge.events.base import ScheduledEvent

__all__ = ["GenerateSpec", "SpecError", "load_spec", "format_validation_error"]


class SpecError(ValueError):
    """A scenario that cannot be run; the message names the field and what is allowed."""


def _twin_plugin(name: str):
    import twinforge.twins  # noqa: F401  (registers the built-in twins)

    return TWINS.get(name)


class GenerateSpec(BaseModel):
    """A ``twinforge generate`` scenario.

    ``config`` holds the twin's own parameters (its ``Config`` model, written as the
    ``[home]``/``[machine]``/... section of a scenario file) and ``diversity`` the laws by
    which runs differ (its ``Diversity`` model, or None for identical runs). Each run gets
    its own parameters and random streams under the root ``seed``. Build one with
    :meth:`from_data` or :func:`load_spec`, which validate the twin's sections too.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    twin: str = Field("home", description="registered twin name")
    runs: int = Field(1, ge=1, le=1_000_000, description="number of runs (homes, machines, feeders)")
    days: float = Field(7.0, gt=0.0, le=3660.0, description="horizon [days]")
    period: str = Field("1min", description="sample period, e.g. '1s', '1min', '15min', '1h'")
    start: pd.Timestamp = Field(pd.Timestamp("2024-01-01", tz="UTC"), description="first sample (UTC)")
    seed: int | None = Field(None, ge=0, le=2**63 - 1, description="root seed; None draws one and records it")
    chunk_samples: int = Field(20_160, ge=1_000, le=10_000_000, description="samples per rendered block")
    config: Any = Field(None, description="the twin's parameters (its Config model)")
    diversity: Any = Field(None, description="the twin's Diversity model, or None")
    events: tuple[ScheduledEvent, ...] = ()

    @field_validator("twin")
    @classmethod
    def _twin(cls, v: str) -> str:
        import twinforge.twins  # noqa: F401

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
        return parse_utc(v, "2024-01-01")

    @model_validator(mode="after")
    def _consistent(self) -> "GenerateSpec":
        plugin = _twin_plugin(self.twin)
        if self.config is None:
            object.__setattr__(self, "config", plugin.Config())
        elif not isinstance(self.config, plugin.Config):
            raise ValueError(f"config must be a {plugin.Config.__name__} for the {self.twin} twin")
        if self.diversity is not None and not isinstance(self.diversity, plugin.Diversity):
            raise ValueError(f"diversity must be a {plugin.Diversity.__name__} or None")
        period_s = parse_period_s(self.period)
        lo, hi = plugin.period_range_s
        if not lo <= period_s <= hi:
            raise ValueError(
                f"period must be between {lo:g} s and {hi:g} s for the {self.twin} twin, got {self.period!r}"
            )
        if self.days * 86_400.0 < period_s:
            raise ValueError(f"days ({self.days:g} d) is shorter than one period ({self.period})")
        end = self.start + pd.Timedelta(days=self.days)
        for k, ev in enumerate(self.events):
            ev.check_severity()
            if self.twin not in EVENTS.get(ev.type).twins:
                raise ValueError(f"events[{k}].type {ev.type!r} does not act on the {self.twin} twin")
            if not self.start <= ev.start < end:
                raise ValueError(
                    f"events[{k}].start ({ev.start}) must lie within the horizon [{self.start}, {end})"
                )
        return self

    @classmethod
    def from_data(cls, data: dict[str, Any], source: str = "") -> "GenerateSpec":
        """Validate plain data (a parsed TOML file, a dict): the twin's section included.

        Raises
        ------
        SpecError
            One line per problem, naming the field (``home.battery.capacity_kwh``) and
            what is allowed.
        """
        data = dict(data)
        twin = data.get("twin", "home")
        try:
            plugin = _twin_plugin(twin) if isinstance(twin, str) else None
        except KeyError:
            plugin = None
        if plugin is None:
            raise SpecError(f"{source}twin: unknown twin {twin!r}; known: {', '.join(TWINS.names())}")
        errors: list[str] = []
        for other in TWINS.names():
            if other != twin and other in data:
                errors.append(f"{source}{other}: section [{other}] does not apply to the {twin} twin")
                data.pop(other)
        section = data.pop(twin, {})
        try:
            data["config"] = plugin.Config.model_validate(section if section is not None else {})
        except ValidationError as e:
            errors.append(format_validation_error(e, source, prefix=f"{twin}."))
        div = data.pop("diversity", True)
        try:
            if div is False or div is None:
                data["diversity"] = None
            else:
                data["diversity"] = plugin.Diversity.model_validate({} if div is True else div)
        except ValidationError as e:
            errors.append(format_validation_error(e, source, prefix="diversity."))
        if errors:
            raise SpecError("\n".join(errors))
        try:
            return cls.model_validate(data)
        except ValidationError as e:
            raise SpecError(format_validation_error(e, source)) from None

    @property
    def period_s(self) -> float:
        return parse_period_s(self.period)

    def grid(self) -> TimeGrid:
        return TimeGrid.from_horizon(self.start, self.days * 86_400.0, self.period_s)

    def to_json_dict(self) -> dict[str, Any]:
        """Canonical plain-data form, as a scenario file would hold it (hash, metadata)."""
        out = self.model_dump(mode="json", exclude={"config", "diversity"})
        out[self.twin] = self.config.model_dump(mode="json")
        out["diversity"] = self.diversity.model_dump(mode="json") if self.diversity is not None else False
        return out


def format_validation_error(err: ValidationError, source: str = "", prefix: str = "") -> str:
    """One line per problem: ``field.path: message (got value)``."""
    lines = []
    for e in err.errors():
        loc = prefix + ".".join(str(p) for p in e["loc"]) if e["loc"] else (prefix.rstrip(".") or "(scenario)")
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see `twinforge generate --help`)"
        got = e.get("input")
        got_text = "" if isinstance(got, dict) or e["type"] in ("missing", "extra_forbidden") else f" (got {got!r})"
        lines.append(f"{source}{loc}: {msg}{got_text}")
    return "\n".join(lines)


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in extra.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


#: Deepest nesting of tables and arrays a scenario or campaign file may have.
MAX_TOML_DEPTH = 16


def _depth(data: Any) -> int:
    """Nesting depth of parsed TOML data (iterative: no recursion limit to hit)."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        node, d = stack.pop()
        deepest = max(deepest, d)
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((c, d + 1) for c in children if isinstance(c, (dict, list)))
    return deepest


def read_toml(path: str | Path, what: str = "scenario") -> tuple[dict[str, Any], str]:
    """Parse a TOML file; ``(data, "<path>: ")`` or :class:`SpecError` with one clear line.

    The file must be a regular file of at most :data:`~twinforge.safe_io.MAX_CONFIG_BYTES`
    (never ``/dev/zero`` or a FIFO) nested at most :data:`MAX_TOML_DEPTH` levels.
    """
    from twinforge.safe_io import MAX_CONFIG_BYTES, read_input_bytes

    path = Path(path)
    if not path.exists():
        raise SpecError(f"{path}: cannot read the {what} file (No such file or directory)")
    try:
        raw = read_input_bytes(path, max_bytes=MAX_CONFIG_BYTES, error=SpecError)
    except OSError as e:
        raise SpecError(f"{path}: cannot read the {what} file ({e.strerror or e})") from None
    if not raw.strip():
        raise SpecError(f"{path}: the {what} file is empty")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise SpecError(f"{path}: not a text file (a TOML {what} is expected)") from None
    except tomllib.TOMLDecodeError as e:
        raise SpecError(f"{path}: not valid TOML: {e}") from None
    except RecursionError:
        raise SpecError(
            f"{path}: tables or arrays nested too deeply; allowed: at most {MAX_TOML_DEPTH} levels"
        ) from None
    depth = _depth(data)
    if depth > MAX_TOML_DEPTH:
        raise SpecError(
            f"{path}: tables or arrays nested {depth} levels deep; allowed: at most {MAX_TOML_DEPTH} levels"
        )
    return data, f"{path}: "


def load_spec(path: str | Path | None = None, **overrides: Any) -> GenerateSpec:
    """Read a TOML scenario (optional) and apply ``overrides``; raise :class:`SpecError`.

    Overrides that are dicts (a twin's section, ``diversity``) are merged into the file's
    section key by key; other overrides replace the file's value; ``None`` is ignored.
    """
    data: dict[str, Any] = {}
    source = ""
    if path is not None:
        data, source = read_toml(path, "scenario")
    data = _deep_merge(data, {k: v for k, v in overrides.items() if v is not None})
    return GenerateSpec.from_data(data, source)
