"""Ground truth of a run: every event, injected or emergent, with its labels.

Processes call :meth:`EventLog.log` once per event (an appliance cycle, a heat-pump run, a
heat wave). Events flagged ``label=True`` also label the sample grid, in two forms:

* ``events_active``: the types of **every** labelled event active at the sample (a list,
  empty where none is), so overlapping events are all visible;
* ``event``, ``event_id``, ``severity``: the one labelled event active then that **started
  last** (ties: the more severe, then the one logged last), for single-label use.

Severities of different event types have different units (K, m s-1, a share of homes, a
sensor's unit): each event carries its ``severity_unit`` in ``events.parquet``, which keeps
every overlapping event with its own parameters (``params``, a struct).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from twinforge.core.registry import EVENTS
from twinforge.core.schema import NO_EVENT

__all__ = ["EventLog", "EVENT_COLUMNS", "severity_unit_of"]

#: Columns of ``events.parquet`` in order.
EVENT_COLUMNS = (
    "event_id", "run_id", "twin", "category", "type", "start", "end", "severity",
    "severity_unit", "params",
)

ParamValue = float | int | str | bool | None


def severity_unit_of(event_type: str) -> str:
    """The unit of ``severity`` declared by the registered event type ``event_type``.

    The declaration's unit is what precedes its explanation in parentheses
    (``"m s-1 (peak gust)"`` -> ``"m s-1"``), ``"1"`` for a share (``"share of homes"``);
    ``""`` for a type that is not registered (an emergent event: an appliance cycle, an
    overload) or whose severity is unused.
    """
    if event_type not in EVENTS:
        return ""
    unit = str(getattr(EVENTS.get(event_type), "severity_unit", "")).split(" (")[0].strip()
    if unit.startswith("share"):
        return "1"
    return "" if unit == "unused" else unit


class EventLog:
    """Append-only table of one run's events (column lists, not Python objects per row)."""

    def __init__(self) -> None:
        self._cols: dict[str, list] = {
            k: [] for k in ("category", "type", "start_s", "end_s", "severity", "severity_unit", "params", "label")
        }
        #: :meth:`log_many` groups: (category, type) -> [(start_s, end_s, {param: values}), ...]
        self._bulk: dict[tuple[str, str], list[tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]]] = {}

    def __len__(self) -> int:
        return len(self._cols["type"]) + sum(a.size for parts in self._bulk.values() for a, _, _ in parts)

    def log(
        self,
        category: str,
        type: str,  # noqa: A002 - the column is called "type"
        start_s: float,
        end_s: float,
        severity: float = math.nan,
        *,
        label: bool = False,
        severity_unit: str | None = None,
        **params: ParamValue,
    ) -> int:
        """Record an event over ``[start_s, end_s]`` (engine seconds); returns its id.

        ``severity_unit`` defaults to the unit the registered event type ``type`` declares
        (:func:`severity_unit_of`); give it where the type's unit depends on the event
        (a sensor fault's severity is in its channel's unit). ``params`` are the event's
        own parameters (numbers, strings, booleans), stored as a struct.
        """
        if end_s < start_s:
            raise ValueError(f"event {type!r} ends ({end_s}) before it starts ({start_s})")
        c = self._cols
        c["category"].append(category)
        c["type"].append(type)
        c["start_s"].append(float(start_s))
        c["end_s"].append(float(end_s))
        c["severity"].append(float(severity))
        c["severity_unit"].append(severity_unit_of(type) if severity_unit is None else str(severity_unit))
        c["params"].append(_checked(params, type))
        c["label"].append(bool(label))
        return len(c["type"]) - 1

    def log_many(
        self, category: str, type: str, start_s: np.ndarray, end_s: np.ndarray,  # noqa: A002
        **params: np.ndarray,
    ) -> None:
        """Record many unlabelled events of one category and type at once (one per element
        of ``start_s``); ``params`` are float arrays of the same length, stored as
        :meth:`log` stores them (a struct per event).

        These events label no sample, so they are numbered when the log is written
        (:meth:`to_table`, :meth:`to_frame`): after every event of :meth:`log`, by category and type, then
        start, end and parameters. Their ids thus do not depend on how the run was cut into
        blocks, nor on the order in which a block reports them.
        """
        a = np.array(start_s, dtype=np.float64, ndmin=1)
        b = np.array(end_s, dtype=np.float64, ndmin=1)
        if a.size == 0:
            return
        if (b < a).any():
            raise ValueError(f"an event {type!r} ends before it starts")
        values = {k: np.array(params[k], dtype=np.float64, ndmin=1) for k in sorted(params)}
        parts = self._bulk.setdefault((category, type), [])
        if parts and list(parts[0][2]) != list(values):
            raise ValueError(f"events {type!r} logged with parameters {list(values)}, earlier with {list(parts[0][2])}")
        parts.append((a, b, values))

    def _bulk_groups(self) -> list[tuple[str, str, np.ndarray, np.ndarray, dict[str, np.ndarray]]]:
        """The :meth:`log_many` events as (category, type, start_s, end_s, {param: values})
        groups, in the order :meth:`log_many` states (groups by category and type, rows by
        start, end and parameters)."""
        groups = []
        for (category, type_), parts in sorted(self._bulk.items()):
            a = np.concatenate([p[0] for p in parts])
            b = np.concatenate([p[1] for p in parts])
            keys = list(parts[0][2])
            vals = [np.concatenate([p[2][k] for p in parts]) for k in keys]
            order = np.lexsort((*vals[::-1], b, a))  # by start, then end, then parameters
            groups.append((category, type_, a[order], b[order], {k: v[order] for k, v in zip(keys, vals)}))
        return groups

    def _columns(
        self, start: pd.Timestamp,
    ) -> tuple[dict[str, Any], list[dict[str, ParamValue]], list[tuple[int, dict[str, np.ndarray]]]]:
        """Every event's columns in the order of ``events.parquet`` (:meth:`log` events, then
        :meth:`log_many` groups): ``category``, ``type``, ``severity_unit`` (lists of str),
        ``start``, ``end`` [ns since the epoch, UTC], ``severity`` (float64 arrays); and the
        parameters: the :meth:`log` events' dicts, then one (rows, {param: float64 values})
        per :meth:`log_many` group."""
        c = self._cols
        groups = self._bulk_groups()
        cols: dict[str, Any] = {k: list(c[k]) for k in ("category", "type", "severity_unit")}
        for category, type_, a, _, _ in groups:
            cols["category"].extend([category] * a.size)
            cols["type"].extend([type_] * a.size)
            cols["severity_unit"].extend([severity_unit_of(type_)] * a.size)
        base = pd.Timestamp(start).value
        for key, col, at in (("start", "start_s", 2), ("end", "end_s", 3)):
            s = np.concatenate([np.asarray(c[col], dtype=np.float64), *(g[at] for g in groups)])
            cols[key] = base + np.round(s * 1e9).astype(np.int64)
        n_bulk = sum(g[2].size for g in groups)
        cols["severity"] = np.concatenate([np.asarray(c["severity"], dtype=np.float64), np.full(n_bulk, math.nan)])
        return cols, c["params"], [(g[2].size, g[4]) for g in groups]

    def update(
        self, event_id: int, *, end_s: float | None = None, severity: float | None = None,
        **params: ParamValue,
    ) -> None:
        """Set the end (and severity) of an open event and add parameters known only later."""
        c = self._cols
        if severity is not None:
            c["severity"][event_id] = float(severity)
        if end_s is not None:
            if end_s < c["start_s"][event_id]:
                raise ValueError(f"event {event_id} cannot end before it starts")
            c["end_s"][event_id] = float(end_s)
        if params:
            c["params"][event_id] = {**c["params"][event_id], **_checked(params, c["type"][event_id])}

    def labelled(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Ids, start [s], end [s] and severity of the grid-labelling events."""
        mask = np.asarray(self._cols["label"], dtype=bool)
        ids = np.flatnonzero(mask)
        return (
            ids.astype(np.int64),
            np.asarray(self._cols["start_s"], dtype=np.float64)[mask],
            np.asarray(self._cols["end_s"], dtype=np.float64)[mask],
            np.asarray(self._cols["severity"], dtype=np.float64)[mask],
        )

    def render_labels(self, t_s: np.ndarray) -> dict[str, Any]:
        """The label columns on the sample times ``t_s`` (shape (n,), increasing).

        Returns ``event``, ``event_id``, ``severity`` (ndarrays of shape (n,)) and
        ``events_active`` (a ``pyarrow`` list array of length n: the sorted distinct types
        of the labelled events active at each sample). A sample at ``t`` is inside an
        event when ``start <= t < end``.
        """

        n = len(t_s)
        event = np.full(n, NO_EVENT, dtype=object)
        event_id = np.full(n, -1, dtype=np.int64)
        severity = np.full(n, np.nan)
        ids, starts, ends, sev = self.labelled()
        types = self._cols["type"]
        names = sorted({types[i] for i in ids})
        active = np.zeros((n, len(names)), dtype=bool)  # (sample, type), types sorted
        if ids.size and n:
            lo, hi = t_s[0], t_s[-1]
            column = {name: k for k, name in enumerate(names)}
            # Painted in order of start, then severity (NaN lowest): what is painted last wins.
            order = np.lexsort((np.nan_to_num(sev, nan=-np.inf), starts))
            for k in order:
                if ends[k] <= lo or starts[k] > hi:
                    continue
                a = np.searchsorted(t_s, starts[k], side="left")
                b = np.searchsorted(t_s, ends[k], side="left")
                event[a:b] = types[ids[k]]
                event_id[a:b] = ids[k]
                severity[a:b] = sev[k]
                active[a:b, column[types[ids[k]]]] = True
        offsets = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(active.sum(axis=1), out=offsets[1:])
        values = pa.array(np.asarray(names, dtype=object)[np.nonzero(active)[1]], type=pa.string())
        return {
            "event": event,
            "event_id": event_id,
            "severity": severity,
            "events_active": pa.ListArray.from_arrays(pa.array(offsets, type=pa.int32()), values),
        }

    def to_table(self, start: pd.Timestamp, run_id: int, twin: str) -> pa.Table:
        """The ``events.parquet`` rows of this run as the Arrow table its events shard stores
        (:data:`twinforge.export.parquet.EVENTS_SCHEMA`; ``params`` a struct, or a null
        column where no event has a parameter), built without pandas."""
        from twinforge.export.parquet import events_table

        cols, dicts, bulk = self._columns(start)
        n = len(cols["type"])
        return events_table(
            {
                "event_id": np.arange(n, dtype=np.int64),
                "run_id": np.full(n, run_id, dtype=np.int64),
                "twin": [twin] * n,
                **cols,
            },
            dicts, bulk, f"run {twin}/{run_id}",
        )

    def to_frame(self, start: pd.Timestamp, run_id: int, twin: str) -> pd.DataFrame:
        """The ``events.parquet`` rows of this run (UTC times; ``params`` as dicts)."""
        cols, dicts, bulk = self._columns(start)
        params = [dict(p) for p in dicts]
        for rows, values in bulk:
            keys = list(values)
            columns = [values[k].tolist() for k in keys]
            params.extend([dict(zip(keys, row)) for row in zip(*columns)] if keys else [{} for _ in range(rows)])
        n = len(params)
        return pd.DataFrame(
            {
                "event_id": np.arange(n, dtype=np.int64),
                "run_id": np.full(n, run_id, dtype=np.int64),
                "twin": pd.array([twin] * n, dtype=object),
                "category": pd.array(cols["category"], dtype=object),
                "type": pd.array(cols["type"], dtype=object),
                "start": pd.to_datetime(cols["start"], utc=True),
                "end": pd.to_datetime(cols["end"], utc=True),
                "severity": cols["severity"],
                "severity_unit": pd.array(cols["severity_unit"], dtype=object),
                "params": pd.array(params, dtype=object),
            },
            columns=list(EVENT_COLUMNS),
        )


def _checked(params: dict[str, Any], event_type: str) -> dict[str, ParamValue]:
    """``params`` with numpy scalars made Python ones; anything but a scalar (or None,
    stored as null) refused."""
    out: dict[str, ParamValue] = {}
    for k, v in params.items():
        if isinstance(v, np.generic):
            v = v.item()
        if v is not None and not isinstance(v, (bool, int, float, str)):
            raise TypeError(
                f"event {event_type!r}: parameter {k!r} = {v!r} is not a number, string or boolean"
            )
        out[k] = v
    return out
