"""Ground truth of a run: every event, injected or emergent, with its labels.

Processes call :meth:`EventLog.log` once per event (an appliance cycle, a heat-pump run, a
heat wave). Events flagged ``label=True`` also label the sample grid: the ``event``,
``event_id`` and ``severity`` columns carry, at each sample time, the labelled event active
then that **started last** (ties: the more severe, then the one logged last). Severities of
different event types have different units (K, m/s, a share of homes, a sensor's unit), so
they are never compared with each other; ``events.parquet`` keeps every overlapping event.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from twinforge.core.schema import NO_EVENT, canonical_json

__all__ = ["EventLog", "EVENT_COLUMNS"]

#: Columns of ``events.parquet`` in order.
EVENT_COLUMNS = (
    "event_id", "run_id", "twin", "category", "type", "start", "end", "severity", "params",
)


class EventLog:
    """Append-only table of one run's events (column lists, not Python objects per row)."""

    def __init__(self) -> None:
        self._cols: dict[str, list] = {k: [] for k in ("category", "type", "start_s", "end_s", "severity", "params", "label")}

    def __len__(self) -> int:
        return len(self._cols["type"])

    def log(
        self,
        category: str,
        type: str,  # noqa: A002 - the column is called "type"
        start_s: float,
        end_s: float,
        severity: float = math.nan,
        *,
        label: bool = False,
        **params: float | int | str | bool,
    ) -> int:
        """Record an event over ``[start_s, end_s]`` (engine seconds); returns its id."""
        if end_s < start_s:
            raise ValueError(f"event {type!r} ends ({end_s}) before it starts ({start_s})")
        c = self._cols
        c["category"].append(category)
        c["type"].append(type)
        c["start_s"].append(float(start_s))
        c["end_s"].append(float(end_s))
        c["severity"].append(float(severity))
        c["params"].append(canonical_json(params) if params else "{}")
        c["label"].append(bool(label))
        return len(c["type"]) - 1

    def update(
        self, event_id: int, *, end_s: float | None = None, severity: float | None = None,
        **params: float | int | str | bool,
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
            merged = {**json.loads(c["params"][event_id]), **params}
            c["params"][event_id] = canonical_json(merged)

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

    def render_labels(self, t_s: np.ndarray) -> dict[str, np.ndarray]:
        """``event``, ``event_id``, ``severity`` on the sample times ``t_s`` (shape (n,)).

        A sample at ``t`` is inside an event when ``start <= t < end``.
        """
        n = len(t_s)
        event = np.full(n, NO_EVENT, dtype=object)
        event_id = np.full(n, -1, dtype=np.int64)
        severity = np.full(n, np.nan)
        ids, starts, ends, sev = self.labelled()
        if ids.size:
            lo, hi = t_s[0], t_s[-1]
            # Painted in order of start, then severity (NaN lowest): what is painted last wins.
            order = np.lexsort((np.nan_to_num(sev, nan=-np.inf), starts))
            types = self._cols["type"]
            for k in order:
                if ends[k] <= lo or starts[k] > hi:
                    continue
                a = np.searchsorted(t_s, starts[k], side="left")
                b = np.searchsorted(t_s, ends[k], side="left")
                event[a:b] = types[ids[k]]
                event_id[a:b] = ids[k]
                severity[a:b] = sev[k]
        return {"event": event, "event_id": event_id, "severity": severity}

    def to_frame(self, start: pd.Timestamp, run_id: int, twin: str) -> pd.DataFrame:
        """The ``events.parquet`` rows of this run (UTC times)."""
        c = self._cols
        base = pd.Timestamp(start).value
        start_ns = base + np.round(np.asarray(c["start_s"], dtype=np.float64) * 1e9).astype(np.int64)
        end_ns = base + np.round(np.asarray(c["end_s"], dtype=np.float64) * 1e9).astype(np.int64)
        return pd.DataFrame(
            {
                "event_id": np.arange(len(self), dtype=np.int64),
                "run_id": np.full(len(self), run_id, dtype=np.int64),
                "twin": pd.array([twin] * len(self), dtype=object),
                "category": pd.array(c["category"], dtype=object),
                "type": pd.array(c["type"], dtype=object),
                "start": pd.to_datetime(start_ns, utc=True),
                "end": pd.to_datetime(end_ns, utc=True),
                "severity": np.asarray(c["severity"], dtype=np.float64),
                "params": pd.array(c["params"], dtype=object),
            },
            columns=list(EVENT_COLUMNS),
        )

    @staticmethod
    def params_of(row_params: str) -> dict:
        return json.loads(row_params)
