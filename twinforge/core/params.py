"""Parameters by dotted path: reading and setting them, and their search ranges.

A parameter of a run is named by its dotted path in the twin's configuration
(``envelope.ua_w_per_k``, ``homes.cooling_share``, ``vibration.background_rms_g``) or, for
a fleet law, ``diversity.<field>``. Campaign laws (``[parameters."path"]``,
:mod:`twinforge.campaign.campaign`) and calibration (:mod:`twinforge.fidelity.parameters`)
read and set them here, with one implementation; each twin declares the parameters
calibration may search and their default ranges (:attr:`twinforge.core.twin.Twin.calibratable`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Bound", "get_path", "set_path"]


@dataclass(frozen=True)
class Bound:
    """Search range of one parameter [the parameter's unit]."""

    low: float
    high: float
    integer: bool = False

    def __post_init__(self) -> None:
        if not self.low < self.high:
            raise ValueError(f"bound needs low < high, got [{self.low}, {self.high}]")

    def from_unit(self, u: float) -> float:
        v = self.low + float(np.clip(u, 0.0, 1.0)) * (self.high - self.low)
        return float(round(v)) if self.integer else v

    def to_unit(self, v: float) -> float:
        return float(np.clip((v - self.low) / (self.high - self.low), 0.0, 1.0))


def get_path(data: dict[str, Any], path: str) -> Any:
    """The value at the dotted ``path`` of nested dicts ``data``; KeyError(path) if absent."""
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(path)
        node = node[part]
    return node


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set the dotted ``path`` of nested dicts ``data`` to ``value`` in place; KeyError(path)
    if a section on the way is absent."""
    *parents, last = path.split(".")
    node: Any = data
    for part in parents:
        if not isinstance(node, dict) or not isinstance(node.get(part), dict):
            raise KeyError(path)
        node = node[part]
    node[last] = value
