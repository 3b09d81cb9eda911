"""The output schema: channel specifications, label columns and the configuration hash.

Every column a twin writes is declared by a :class:`ChannelSpec` with an SI unit. Column
names carry their unit as a suffix (``power_w``, ``temp_indoor_c``); see
``docs/nomenclature.md`` for the glossary.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

__all__ = [
    "ChannelSpec",
    "LABEL_CHANNELS",
    "NO_EVENT",
    "config_hash",
    "canonical_json",
    "flatten_params",
]

Kind = Literal["interval", "instant", "label"]

#: Value of the ``event`` label where no event is active.
NO_EVENT = ""


@dataclass(frozen=True)
class ChannelSpec:
    """One column of the ``samples`` table.

    Parameters
    ----------
    name : str
        snake_case column name with its unit suffix.
    unit : str
        SI unit (``"W"``, ``"degC"``, ``"1"`` for dimensionless, ``"count"``).
    kind : {"interval", "instant", "label"}
        ``interval``: mean over ``[t, t + period)``; ``instant``: value at ``t``;
        ``label``: ground truth, not a measurement.
    dtype : str
        NumPy dtype of the column (``"float64"``, ``"int16"``, ``"str"``...), or
        ``"list<str>"`` for a list of strings per sample.
    description : str
        One line on what the column means.
    """

    name: str
    unit: str
    kind: Kind
    dtype: str
    description: str

    def to_dict(self) -> dict[str, str]:
        return {
            "unit": self.unit,
            "kind": self.kind,
            "dtype": self.dtype,
            "description": self.description,
        }


#: Label columns every twin writes. ``events_active`` lists every labelled event active at
#: a sample; ``event``/``event_id``/``severity`` name the one that started last (``""``/-1/NaN
#: where none is active). A severity is in its event type's unit: ``severity_unit`` in
#: ``events.parquet``.
LABEL_CHANNELS: tuple[ChannelSpec, ...] = (
    ChannelSpec("event", "", "label", "str",
                "type of the labelled event active at this sample that started last ('' if none)"),
    ChannelSpec("event_id", "", "label", "int64",
                "event_id of that event in events.parquet, within this run (-1 if none)"),
    ChannelSpec("severity", "", "label", "float64",
                "severity of that event, in its type's unit (events.parquet severity_unit; NaN if none)"),
    ChannelSpec("events_active", "", "label", "list<str>",
                "types of every labelled event active at this sample, sorted (empty if none)"),
)


def _default(obj: Any) -> Any:
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    raise TypeError(f"not JSON-serialisable: {type(obj).__name__}")


def canonical_json(obj: Any) -> str:
    """Deterministic JSON (sorted keys, no spaces) for hashing and metadata."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_default)


def config_hash(config: Any) -> str:
    """SHA-256 (first 16 hex) of the canonical JSON of ``config``."""
    return hashlib.sha256(canonical_json(config).encode("utf-8")).hexdigest()[:16]


def flatten_params(model: Any, prefix: str = "") -> dict[str, Any]:
    """Every field of a (nested) pydantic model as ``section.name`` -> scalar.

    Nested models recurse, dicts recurse by sorted key, lists and tuples become their
    ``repr``; ``None`` stays ``None``. This is the parameter vector of ``runs.parquet``.
    """
    out: dict[str, Any] = {}

    def walk(pre: str, obj: Any) -> None:
        fields = getattr(type(obj), "model_fields", None)
        if fields is not None:
            for k in fields:
                walk(f"{pre}{k}.", getattr(obj, k))
        elif isinstance(obj, dict):
            for k in sorted(obj):
                walk(f"{pre}{k}.", obj[k])
        elif isinstance(obj, (list, tuple)):
            out[pre[:-1]] = repr(obj)
        else:
            out[pre[:-1]] = obj

    walk(prefix, model)
    return out
