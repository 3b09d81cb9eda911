"""twinforge: physics-based, labelled time-series data from digital twins."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
