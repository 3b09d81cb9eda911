"""Turn a scenario into a dataset: plan the runs, simulate each, stream it to Parquet.

Every run is independent: its parameters and random streams derive only from the root
seed and its ``run_id`` (stream ``run/<id>``), so a run regenerates alone and the bytes
do not depend on which runs came before it or how many there are.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import secrets

from twinforge import __version__
from twinforge.campaign.spec import GenerateSpec
from twinforge.core.engine import simulate
from twinforge.core.registry import TWINS
from twinforge.core.rng import RngStreams
from twinforge.core.schema import config_hash


__all__ = ["RunPlan", "plan_runs", "build_twin", "generate", "GenerateSummary"]


@dataclass(frozen=True)
class RunPlan:
    """Everything that defines one run."""

    run_id: int
    seed: int
    config: Any
    weight: float = 1.0
    stratum: str = ""


def plan_runs(spec: GenerateSpec, seed: int) -> list[RunPlan]:
    """The runs of ``spec`` under the effective root ``seed``."""
    plugin = TWINS.get(spec.twin)
    plans = []
    root = RngStreams(seed)
    for run_id in range(spec.runs):
        rng = root.child(f"run/{run_id}").generator("parameters")
        plans.append(RunPlan(run_id, seed, plugin.draw(spec.config, spec.diversity, rng)))
    return plans


def build_twin(spec: GenerateSpec, plan: RunPlan):
    """The twin object of one planned run."""
    streams = RngStreams(plan.seed).child(f"run/{plan.run_id}")
    return TWINS.get(spec.twin)(plan.config, streams, spec.events)


@dataclass
class GenerateSummary:
    path: Path
    seed: int
    runs_written: int
    runs_skipped: int
    rows: int
    values: int
    seconds: float

    def text(self) -> str:
        rate = self.values / self.seconds if self.seconds > 0 else float("nan")
        return (
            f"wrote {self.runs_written} run(s) ({self.runs_skipped} already complete) to {self.path}\n"
            f"  {self.rows:,} rows, {self.values:,} values in {self.seconds:.1f} s ({rate:,.0f} values/s)\n"
            f"  seed {self.seed}; inspect with: twinforge info {self.path}"
        )


def _recorded_seed(out: str | Path) -> int | None:
    from twinforge.export.parquet import read_manifest

    try:
        dataset = read_manifest(Path(out)).get("dataset") or {}
    except (OSError, ValueError):
        return None
    seed = dataset.get("seed")
    if seed is None:  # interrupted before finalize: the completed runs carry it
        import pyarrow.parquet as pq

        for shard in sorted(Path(out).glob("_runs/twin=*/run_id=*/run.parquet")):
            seed = pq.read_table(shard, columns=["seed"]).column("seed")[0].as_py()
            break
    return int(seed) if seed is not None else None


def generate(
    spec: GenerateSpec,
    out: str | Path,
    *,
    mode: Literal["create", "resume", "overwrite"] = "create",
    progress: bool = True,
) -> GenerateSummary:
    """Simulate every run of ``spec`` and write the dataset at ``out``.

    Runs already complete in ``out`` (``mode="resume"``) are skipped; each run is written
    atomically, so an interruption leaves only whole runs behind.
    """
    from tqdm.auto import tqdm

    from twinforge.export import DatasetWriter

    t0 = time.perf_counter()
    seed = spec.seed
    if seed is None and mode == "resume":
        seed = _recorded_seed(out)  # finishing a dataset whose seed was drawn
    if seed is None:
        seed = secrets.randbits(63)
    spec_json = spec.to_json_dict()
    spec_json["seed"] = seed
    chash = config_hash(spec_json)
    grid = spec.grid()
    writer = DatasetWriter(out, mode=mode)
    done = writer.completed_runs()
    plans = [p for p in plan_runs(spec, seed) if (spec.twin, p.run_id) not in done]
    skipped = spec.runs - len(plans)
    rows = values = 0
    bar = tqdm(
        total=len(plans) * grid.n_steps, unit="sample", unit_scale=True,
        disable=not progress, desc=f"{spec.twin} x{len(plans)}",
    )
    with bar:
        for plan in plans:
            twin = build_twin(spec, plan)
            channels = twin.channels()
            meta: dict[str, Any] = {
                "period_s": grid.period_s,
                "seed": seed,
                "run_id": plan.run_id,
                "config_hash": chash,
                "twinforge_version": __version__,
                "twin": spec.twin,
                "start": grid.start.isoformat(),
            }
            with writer.open_run(spec.twin, plan.run_id, channels, meta) as run:
                for block in simulate(twin, grid, chunk_samples=spec.chunk_samples, on_chunk=bar.update):
                    run.write(block)
                    n = len(block["time"])
                    rows += n
                    values += n * len(channels)
                record = {
                    "run_id": plan.run_id,
                    "twin": spec.twin,
                    "seed": seed,
                    "weight": plan.weight,
                    "stratum": plan.stratum,
                    "config_hash": chash,
                    **twin.parameters(),
                }
                run.commit(twin.events(plan.run_id), record)
    writer.finalize({"scenario": spec_json, "config_hash": chash, "seed": seed})
    return GenerateSummary(Path(out), seed, len(plans), skipped, rows, values, time.perf_counter() - t0)
