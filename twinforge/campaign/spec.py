"""The generate scenario: what to simulate, validated before anything is written.

A scenario comes from a TOML file (``--config``), from CLI flags, or from Python; all go
through :class:`GenerateSpec`, so every value is checked against its declared range and a
bad one gets a message naming the field and what is allowed.
"""

from __future__ import annotations

import datetime
import json
import math
import re
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from twinforge.core.registry import EVENTS, TWINS
from twinforge.core.timegrid import TimeGrid, parse_period_s, parse_utc
from twinforge.events.base import ScheduledEvent, refusal

__all__ = ["GenerateSpec", "SpecError", "load_spec", "format_validation_error"]


class SpecError(ValueError):
    """A scenario that cannot be run; the message names the field and what is allowed."""


def _twin_plugin(name: str):
    import twinforge.twins  # noqa: F401  (registers the built-in twins)

    return TWINS.get(name)


#: Earliest start and latest end of a scenario's horizon (UTC). Nanosecond timestamps span
#: 1677-09-21 .. 2262-04-11; the calendars and solar geometry are meant for 1900 .. 2200.
EARLIEST_START = pd.Timestamp("1900-01-01", tz="UTC")
LATEST_END = pd.Timestamp("2200-01-01", tz="UTC")
_ISO_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?(?:Z|[+-]\d{2}:?\d{2})?$"
)


def check_start(value: Any) -> pd.Timestamp:
    """The first sample of a scenario as a UTC timestamp, or ValueError (one line).

    Text must be an ISO 8601 date or date-time (``2024-01-01``, ``2024-01-01T06:00``,
    ``2024-01-01T06:00+01:00``; UTC unless an offset is given): words such as ``now`` or
    ``today`` are refused, since a start that changes with the clock breaks same seed, same
    bytes. The start must lie in [:data:`EARLIEST_START`, :data:`LATEST_END`).
    """
    allowed = (
        f"allowed: an ISO date or date-time such as '2024-01-01' or '2024-01-01T06:00' (UTC unless an "
        f"offset is given), from {EARLIEST_START:%Y-%m-%d} to {LATEST_END:%Y-%m-%d}"
    )
    if isinstance(value, str) and not _ISO_DATE.match(value.strip()):
        raise ValueError(f"{value!r} is not an ISO date; {allowed}")
    if isinstance(value, bool) or not isinstance(value, (str, datetime.date, pd.Timestamp)):
        raise ValueError(f"{value!r} is not a date; {allowed}")
    shown = repr(value) if isinstance(value, str) else str(value)
    try:
        ts = parse_utc(value.strip() if isinstance(value, str) else value, "2024-01-01")
    except (ValueError, OverflowError):
        raise ValueError(f"{shown} is not a valid date; {allowed}") from None
    if not EARLIEST_START <= ts < LATEST_END:
        raise ValueError(f"{shown} is out of range; {allowed}")
    return ts


class GenerateSpec(BaseModel):
    """A ``twinforge generate`` scenario.

    ``config`` holds the twin's own parameters (its ``Config`` model, written as the
    ``[home]``/``[machine]``/... section of a scenario file) and ``diversity`` the laws by
    which runs differ (its ``Diversity`` model, or None for identical runs). Each run gets
    its own parameters and random streams under the root ``seed``. Build one with
    :meth:`from_data` or :func:`load_spec`, which validate the twin's sections too.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    twin: str = Field("home", strict=True, description="registered twin name")
    runs: int = Field(1, ge=1, le=1_000_000, strict=True, description="number of runs (homes, machines, feeders)")
    days: float = Field(7.0, gt=0.0, le=3660.0, strict=True, description="horizon [days]")
    period: str = Field("1min", strict=True, description="sample period, e.g. '1s', '1min', '15min', '1h'")
    start: pd.Timestamp = Field(pd.Timestamp("2024-01-01", tz="UTC"), description="first sample (UTC)")
    seed: int | None = Field(None, ge=0, le=2**63 - 1, strict=True, description="root seed; None draws one and records it")
    chunk_samples: int = Field(20_160, ge=1_000, le=10_000_000, strict=True, description="samples per rendered block")
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

    @field_validator("period", mode="before")
    @classmethod
    def _period(cls, v: Any) -> str:
        try:
            if not isinstance(v, str):
                raise ValueError
            parse_period_s(v)
        except ValueError:
            raise ValueError(f"must be a duration such as '1s', '1min', '15min' or '1h', got {v!r}") from None
        return v

    @field_validator("start", mode="before")
    @classmethod
    def _start(cls, v: Any) -> pd.Timestamp:
        return check_start(v)

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
                f"period: {self.period!r} is not allowed for the {self.twin} twin; allowed: {lo:g} s to {hi:g} s"
            )
        if self.days * 86_400.0 < period_s:
            raise ValueError(f"days: {self.days:g} d is shorter than one period ({self.period}); allowed: at least one period")
        end = self.start + pd.Timedelta(days=self.days)
        if end > LATEST_END:
            raise ValueError(
                f"days: the horizon would end on {end:%Y-%m-%d}; allowed: start + days up to {LATEST_END:%Y-%m-%d}"
            )
        for k, ev in enumerate(self.events):
            try:
                ev.check_severity()
            except ValueError:
                kind = EVENTS.get(ev.type)
                lo, hi = kind.severity_range
                raise ValueError(
                    f"events.{k}.severity: {ev.severity!r} is outside the range of {ev.type!r}; "
                    f"allowed: {lo:g} <= severity <= {hi:g} {kind.severity_unit}"
                ) from None
            why = refusal(ev.type, self.twin)  # the twin lacks an event target the event needs
            if why is not None:
                raise ValueError(f"events.{k}.type: {why}")
            if not self.start <= ev.start < end:
                raise ValueError(
                    f"events.{k}.start: {ev.start} is outside the horizon; allowed: within the horizon "
                    f"[{self.start}, {end})"
                )
        return self

    @classmethod
    def from_data(
        cls, data: dict[str, Any], source: str = "", *, events_key: str = "events", as_written: bool = False,
    ) -> "GenerateSpec":
        """Validate plain data (a parsed TOML file, a dict): the twin's section included.

        Types are strict, as JSON has them: ``runs = true`` is not 1, ``cooling = "yes"``
        is not true and ``days = "3"`` is not 3 (an integer is a valid float; arrays are
        tuples; ISO date strings are dates). ``events_key`` names the scheduled events in
        the messages (a campaign file calls them ``scheduled``). ``as_written``: the data is
        what a user wrote (a scenario file, :func:`load_spec`), so the twin's explicit
        settings win over the diversity laws that would redraw them (the twin's
        ``pin_explicit``, :meth:`twinforge.core.twin.Twin.pin_explicit`); False for
        a stored, complete form (:meth:`to_json_dict`), which already holds the pinned laws.

        Raises
        ------
        SpecError
            One line per problem, naming the field (``home.battery.capacity_kwh``) and
            what is allowed.
        """
        data = dict(data)
        twin = data.get("twin", "home")
        try:
            plugin = _twin_plugin(twin if isinstance(twin, str) else "home")
            plugin = plugin if isinstance(twin, str) else None
        except KeyError:
            plugin = None
        if plugin is None:
            raise SpecError(f"{source}twin: unknown twin {twin!r}; allowed: {', '.join(TWINS.names())}")
        errors: list[str] = []
        for other in TWINS.names():
            if other != twin and other in data:
                errors.append(f"{source}{other}: section [{other}] does not apply to the {twin} twin")
                data.pop(other)
        section = data.pop(twin, {})
        try:
            data["config"] = validate_strict(plugin.Config, section if section is not None else {})
        except ValidationError as e:
            errors.append(format_validation_error(e, source, prefix=f"{twin}.", model=plugin.Config))
        div = data.pop("diversity", True)
        if as_written and not errors and isinstance(section, dict) and (isinstance(div, (bool, dict)) or div is None):
            laws = None if div is False or div is None else ({} if div is True else dict(div))
            try:  # an explicit setting of the twin wins over the law that would redraw it
                pinned, laws = plugin.pin_explicit(section, laws)
            except ValueError as e:
                errors.append(f"{source}{e}")
                pinned, laws = section, None
            div = False if laws is None else laws
            if pinned != section:  # the twin's own laws pinned (a feeder's [grid.homes])
                try:
                    data["config"] = validate_strict(plugin.Config, pinned)
                except ValidationError as e:
                    errors.append(format_validation_error(e, source, prefix=f"{twin}.", model=plugin.Config))
        try:
            if div is False or div is None:
                data["diversity"] = None
            else:
                data["diversity"] = validate_strict(plugin.Diversity, {} if div is True else div)
        except ValidationError as e:
            errors.append(format_validation_error(e, source, prefix="diversity.", model=plugin.Diversity))
        events = data.get("events")
        if isinstance(events, (list, tuple)):
            checked = []
            for k, ev in enumerate(events):
                try:
                    checked.append(validate_strict(ScheduledEvent, ev))
                except ValidationError as e:
                    errors.append(format_validation_error(e, source, prefix=f"events.{k}.", model=ScheduledEvent))
            data["events"] = tuple(checked)
        if errors:
            raise SpecError(_rename_events("\n".join(errors), source, events_key))
        try:
            return cls.model_validate(data)
        except ValidationError as e:
            raise SpecError(_rename_events(format_validation_error(e, source, model=cls), source, events_key)) from None

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


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (datetime.date, datetime.time)):  # TOML dates and times (pd.Timestamp too)
        return obj.isoformat()
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json")
    raise TypeError(f"{type(obj).__name__} is not a value a scenario can hold")


#: Errors of pydantic's strict JSON mode that lax validation lets through: a bool taken as a
#: number, a string as a bool or a number, a number as a string, 2.0 as an integer.
_STRICT_ONLY = {"bool_type", "int_type", "float_type", "string_type"}


def validate_strict(model: type[BaseModel], data: Any) -> Any:
    """``model`` validated from ``data``, with the types JSON has.

    The data (parsed TOML, a dict) are validated as usual, and also through JSON in
    pydantic's strict mode, whose type errors are raised: a bool is never an int
    (``runs = true``), a string never a bool or a number (``cooling = "yes"``,
    ``days = "3"``), 2.0 never an integer; an integer is a valid float, an array a valid
    tuple and an ISO string a valid date, as in JSON.
    """
    if isinstance(data, model):
        return data
    obj = model.model_validate(data)  # the problems of lax validation first (their messages)
    try:
        text = json.dumps(data, default=_json_default, allow_nan=True)
    except (TypeError, ValueError):
        return obj  # Python objects a file cannot hold: nothing a JSON type could confuse
    try:
        model.model_validate_json(text, strict=True)
    except ValidationError as e:
        details = [
            {"type": d["type"], "loc": d["loc"], "input": d["input"], **({"ctx": d["ctx"]} if "ctx" in d else {})}
            for d in e.errors() if d["type"] in _STRICT_ONLY
        ]
        if details:
            raise ValidationError.from_exception_data(model.__name__, details) from None  # type: ignore[arg-type]
    return obj


def _rename_events(text: str, source: str, key: str) -> str:
    if key == "events":
        return text
    return "\n".join(
        source + key + ln[len(source) + len("events"):] if ln.startswith(source + "events") else ln
        for ln in text.splitlines()
    )


#: pydantic error types whose message gains the field's allowed range.
_RANGE_ERRORS = {
    "greater_than", "greater_than_equal", "less_than", "less_than_equal", "finite_number",
    "float_type", "float_parsing", "int_type", "int_parsing", "int_from_float",
}
_FIELD_FIRST = re.compile(r"^([A-Za-z_][A-Za-z0-9_.]*): (.*)$", re.S)


def _field_info(model: Any, loc: tuple[Any, ...]) -> Any:
    """The pydantic FieldInfo at ``loc`` in ``model`` (through nested models, dicts and
    tuples of models), or None."""
    import typing

    def models_in(tp: Any) -> Any:
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            return tp
        for arg in typing.get_args(tp):
            found = models_in(arg)
            if found is not None:
                return found
        return None

    info, current = None, model
    for part in loc:
        fields = getattr(current, "model_fields", {}) if current is not None else {}
        if isinstance(part, str) and part in fields:
            info = fields[part]
            current = models_in(info.annotation)
        elif info is None or isinstance(part, str) and current is not None and part not in fields and not _is_key(info):
            return None
        # else: an index into a tuple/list or a key of a dict: stay on the element's model
    return info


def _is_key(info: Any) -> bool:
    import typing

    return typing.get_origin(info.annotation) in (dict,) or "dict[" in str(info.annotation)


def allowed_range(model: Any, loc: tuple[Any, ...]) -> str | None:
    """The allowed range of the numeric field at ``loc`` of ``model``: ``'0 < days <= 3660'``."""
    info = _field_info(model, loc) if model is not None and loc else None
    if info is None:
        return None
    lo = hi = None
    for m in info.metadata:
        for attr, side, op in (("gt", "lo", "<"), ("ge", "lo", "<="), ("lt", "hi", "<"), ("le", "hi", "<=")):
            v = getattr(m, attr, None)
            if v is not None:
                if side == "lo":
                    lo = (v, op)
                else:
                    hi = (v, op)
    if lo is None and hi is None:
        return None
    def num(v: Any) -> str:
        return f"{v:,}" if isinstance(v, int) else f"{v:g}"

    name = str(loc[-1])
    return (f"{num(lo[0])} {lo[1]} " if lo else "") + name + (f" {hi[1]} {num(hi[0])}" if hi else "")


def format_validation_error(
    err: ValidationError, source: str = "", prefix: str = "", model: Any = None
) -> str:
    """One line per problem: ``field.path: message (got value); allowed: range``.

    ``model`` (the validated pydantic model) lets numeric errors state the field's whole
    allowed range (``allowed: 0 < days <= 3660``), also for NaN, which pydantic reports
    against one bound only.
    """
    lines = []
    for e in err.errors():
        loc_parts = tuple(e["loc"])
        msg = e["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see `twinforge generate --help`)"
        if loc_parts:
            loc = prefix + ".".join(str(p) for p in loc_parts)
        else:  # a check across fields: its message names the field first when it can
            m = _FIELD_FIRST.match(msg)
            loc, msg = (prefix + m.group(1), m.group(2)) if m else (prefix.rstrip(".") or "(scenario)", msg)
        last = loc.rsplit(".", 1)[-1]
        if msg.startswith((last + " must ", last + " is ")):  # "tz: tz must be ..." -> "tz: must be ..."
            msg = msg[len(last) + 1:]
        got = e.get("input")
        allowed = allowed_range(model, loc_parts) if e["type"] in _RANGE_ERRORS else None
        if allowed is not None and isinstance(got, float) and math.isnan(got):
            msg = "NaN is not a number"
        quiet = (
            isinstance(got, (dict, BaseModel)) or e["type"] in ("missing", "extra_forbidden")
            or "got " in msg or repr(got) in msg or str(got) in msg
        )
        shown = repr(got)
        got_text = "" if quiet else f" (got {shown if len(shown) <= 60 else shown[:57] + '...'})"
        lines.append(f"{source}{loc}: {msg}{got_text}" + (f"; allowed: {allowed}" if allowed else ""))
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
    return GenerateSpec.from_data(data, source, as_written=True)
