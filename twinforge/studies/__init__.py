"""Studies built on campaigns: what a downstream model learns from twin data.

- :mod:`.artifacts`: sensor artifacts at graded levels against a model's score
  (:func:`artifact_sweep`).
"""

from __future__ import annotations

from twinforge.studies.artifacts import ARTIFACTS, SweepResult, artifact_sweep, corrupt, plot_sweep

__all__ = ["ARTIFACTS", "SweepResult", "artifact_sweep", "corrupt", "plot_sweep"]
