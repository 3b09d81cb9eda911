"""Turn a scenario into a dataset: plan the runs, simulate each, stream it to Parquet.

Every run is independent: its parameters and random streams derive only from the root
seed and its ``run_id`` (stream ``run/<id>``), so a run regenerates alone and the bytes
do not depend on which runs came before it or how many there are.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from twinforge import __version__
from twinforge.campaign.spec import GenerateSpec
from twinforge.core.engine import simulate
from twinforge.core.registry import TWINS
from twinforge.core.rng import RngStreams
from twinforge.core.schema import canonical_json, config_hash
from twinforge.events.base import ScheduledEvent

__all__ = ["RunPlan", "plan_runs", "build_twin", "write_run", "execute_run", "generate", "GenerateSummary"]


@dataclass(frozen=True)
class RunPlan:
    """Everything that defines one run.

    ``events`` are placed on this run on top of the scenario's; ``pair_id`` keys the
    twin's random streams (``run/<pair_id>``, the run's own id when None), so that the
    two members of a counterfactual pair share all their noise; ``overrides`` are the
    ``(parameter path, value)`` a campaign set (already applied to ``config``).
    """

    run_id: int
    seed: int
    config: Any
    weight: float = 1.0
    stratum: str = ""
    events: tuple[ScheduledEvent, ...] = ()
    pair_id: int | None = None
    counterfactual: bool = False
    log_weight: float = 0.0
    overrides: tuple[tuple[str, float], ...] = ()

    @property
    def stream_id(self) -> int:
        return self.run_id if self.pair_id is None else self.pair_id

    def to_json(self) -> dict[str, Any]:
        """Plain data (for a worker process): the config and events dumped as JSON."""
        return {
            "run_id": self.run_id, "seed": self.seed, "config": self.config.model_dump(mode="json"),
            "weight": self.weight, "stratum": self.stratum,
            "events": [{**e.model_dump(mode="json"), "start": e.start.isoformat()} for e in self.events],  # ns kept
            "pair_id": self.pair_id, "counterfactual": self.counterfactual,
            "log_weight": self.log_weight, "overrides": [list(o) for o in self.overrides],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], config_type: type) -> "RunPlan":
        d = dict(data)
        d["config"] = config_type.model_validate(d["config"])
        d["events"] = tuple(ScheduledEvent.model_validate(e) for e in d.get("events", ()))
        d["overrides"] = tuple((str(k), float(v)) for k, v in d.get("overrides", ()))
        return cls(**d)


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
    streams = RngStreams(plan.seed).child(f"run/{plan.stream_id}")
    return TWINS.get(spec.twin)(plan.config, streams, tuple(spec.events) + tuple(plan.events))


class _NoBar:
    total = 0
    disable = True

    def update(self, n: float = 1) -> None:
        pass


#: Progress bars count runs, in fractions while a run renders (one step per rendered chunk).
BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total} runs [{elapsed}<{remaining}]"


def write_run(
    writer: Any, spec: GenerateSpec, plan: RunPlan, *, seed: int, chash: str,
    grid: Any = None, bar: Any = None,
) -> tuple[int, int]:
    """Simulate one planned run and commit it to ``writer``; returns ``(rows, values)``.

    ``bar`` (a tqdm bar counting runs) advances by the share of this run rendered after each
    chunk, so its total is right even when runs end early (a machine at its failure). The
    chunks never depend on the bar: a chunk is a row group, so the bytes would.
    """
    grid = spec.grid() if grid is None else grid
    bar = _NoBar() if bar is None else bar
    rows = values = 0
    twin = build_twin(spec, plan)
    run_grid = twin.run_grid(grid) if hasattr(twin, "run_grid") else grid  # e.g. until failure
    moved = 0.0

    def advance(n: int) -> None:
        nonlocal moved
        step = min(n / run_grid.n_steps, 1.0 - moved)
        moved += step
        bar.update(step)

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
    if getattr(plan.config, "tz", None):  # the occupants' clock: local-time features use it
        meta["local_timezone"] = plan.config.tz
    with writer.open_run(spec.twin, plan.run_id, channels, meta) as run:
        for block in simulate(twin, run_grid, chunk_samples=spec.chunk_samples, on_chunk=advance):
            tables = block.pop("_tables", None) or {}  # extra per-run tables (raw snapshots)
            run.write(block)
            for name in sorted(tables):
                run.write_table(name, tables[name])
            n = len(block["time"])
            rows += n
            values += n * len(channels)
        record = {
            "run_id": plan.run_id,
            "twin": spec.twin,
            "seed": seed,
            "weight": plan.weight,
            "stratum": plan.stratum,
            "log_weight": plan.log_weight,
            "pair_id": plan.stream_id,
            "counterfactual": plan.counterfactual,
            "config_hash": chash,
            **twin.parameters(),
        }
        run.commit(twin.events(plan.run_id), record)
    bar.update(1.0 - moved)  # rounding: the run counts exactly once
    return rows, values


_SPEC_CACHE: dict[str, GenerateSpec] = {}


def execute_run(
    spec_json: dict[str, Any], plan_json: dict[str, Any], out: str | Path, *, chash: str | None = None
) -> dict[str, Any]:
    """Simulate and commit one run in this process (the task of a worker process).

    ``spec_json`` is :meth:`GenerateSpec.to_json_dict` with the effective ``seed``,
    ``plan_json`` :meth:`RunPlan.to_json`; the run is committed to the dataset ``out``
    (``mode="resume"``: other processes may commit other runs of it at the same time).
    ``chash`` is the dataset's config hash (default: that of ``spec_json``). Returns
    ``{"run_id", "rows", "values"}``.
    """
    from twinforge.campaign.spec import GenerateSpec as _Spec
    from twinforge.export import DatasetWriter

    key = canonical_json(spec_json)
    spec = _SPEC_CACHE.get(key)
    if spec is None:
        spec = _SPEC_CACHE[key] = _Spec.from_data(spec_json)
    plan = RunPlan.from_json(plan_json, TWINS.get(spec.twin).Config)
    seed = int(spec_json["seed"])
    writer = DatasetWriter(out, mode="resume")
    rows, values = write_run(writer, spec, plan, seed=seed, chash=chash or config_hash(spec_json))
    return {"run_id": plan.run_id, "rows": rows, "values": values}


def _duration(seconds: float) -> str:
    for unit, s in (("days", 86_400.0), ("h", 3_600.0), ("min", 60.0)):
        if seconds >= 2 * s:
            return f"{seconds / s:,.1f} {unit}"
    return f"{seconds:,.1f} s"


def simulated_text(rows: int, period_s: float, seconds: float, config: Any = None) -> str:
    """How much time was simulated, and how fast: a throughput that reads the same for a
    home at 1 min and a feeder of 200 homes at 15 min (whose few rows each cost much)."""
    sim_s = rows * period_s
    homes = getattr(config, "n_homes", None)
    each = f" (each a feeder of {homes:,} homes)" if isinstance(homes, int) else ""
    speed = f"; {_duration(sim_s / seconds)} simulated per second" if seconds > 0 and rows else ""
    return f"{_duration(sim_s)} of runs simulated{each} in {seconds:.1f} s{speed}"


@dataclass
class GenerateSummary:
    path: Path
    seed: int
    runs_written: int
    runs_skipped: int
    rows: int
    values: int
    seconds: float
    period_s: float = 0.0
    config: Any = None

    def text(self) -> str:
        return (
            f"wrote {self.runs_written} run(s) ({self.runs_skipped} already complete) to {self.path}\n"
            f"  {self.rows:,} rows, {self.values:,} values; "
            f"{simulated_text(self.rows, self.period_s, self.seconds, self.config)}\n"
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

        for shard in sorted(Path(out).glob("_runs/*/*/run.parquet")):
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
    from tqdm import tqdm

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
        total=len(plans), unit="run", disable=not progress, desc=f"{spec.twin} x{len(plans)}",
        bar_format=BAR_FORMAT,
    )
    with bar:
        for plan in plans:
            n_rows, n_values = write_run(writer, spec, plan, seed=seed, chash=chash, grid=grid, bar=bar)
            rows += n_rows
            values += n_values
    writer.finalize({"scenario": spec_json, "config_hash": chash, "seed": seed})
    return GenerateSummary(
        Path(out), seed, len(plans), skipped, rows, values, time.perf_counter() - t0, grid.period_s, spec.config
    )
