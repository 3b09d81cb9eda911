"""Turn a scenario into a dataset: plan the runs, simulate each, stream it to Parquet.

Every run is independent: its parameters and random streams derive only from the root
seed and its ``run_id`` (stream ``run/<id>``), so a run regenerates alone and the bytes
do not depend on which runs came before it or how many there are.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from twinforge import __version__
from twinforge.campaign.spec import GenerateSpec, SpecError
from twinforge.core.engine import Rendered, Twin, simulate
from twinforge.core.registry import TWINS
from twinforge.core.rng import RngStreams
from twinforge.core.schema import canonical_json, config_hash
from twinforge.events.base import ScheduledEvent
from twinforge.processes.weather import config_tilt

__all__ = [
    "RunPlan", "plan_run", "iter_plans", "plan_runs", "build_twin", "write_run", "execute_run", "generate",
    "GenerateSummary", "LARGE_OUTPUT_BYTES", "OutputEstimate", "OutputTooLarge", "estimate_output",
    "check_output_size", "check_first_run", "first_run_check",
]


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


def plan_run(spec: GenerateSpec, seed: int, run_id: int) -> RunPlan:
    """The plan of run ``run_id`` of ``spec`` under the root ``seed`` (stream ``run/<id>``)."""
    rng = RngStreams(seed).child(f"run/{run_id}").generator("parameters")
    return RunPlan(run_id, seed, TWINS.get(spec.twin).draw(spec.config, spec.diversity, rng))


def iter_plans(spec: GenerateSpec, seed: int, skip: Any = ()) -> Iterator[RunPlan]:
    """The plans of the runs of ``spec`` not in ``skip`` (run ids), one at a time, in order.

    Lazy: memory does not grow with the number of runs (a million homes are planned as
    they are simulated, not up front).
    """
    for run_id in range(spec.runs):
        if run_id not in skip:
            yield plan_run(spec, seed, run_id)


def plan_runs(spec: GenerateSpec, seed: int) -> list[RunPlan]:
    """The plans of all runs of ``spec`` under the effective root ``seed`` (a list: small
    scenarios; :func:`iter_plans` streams them)."""
    return list(iter_plans(spec, seed))


def build_twin(spec: GenerateSpec, plan: RunPlan) -> Twin:
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


def _run_record(spec: GenerateSpec, plan: RunPlan, twin: Any, seed: int, chash: str) -> dict[str, Any]:
    return {
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


def _start_run(
    spec: GenerateSpec, plan: RunPlan, grid: Any, on_chunk: Callable[[int], None] | None = None
) -> tuple[Twin, Any, Iterator[Rendered]]:
    """``(twin, run_grid, blocks)`` of a planned run: its twin, its own grid (shorter when the
    twin ends early, e.g. at a failure) and the generator of its rendered blocks."""
    twin = build_twin(spec, plan)
    run_grid = twin.run_grid(grid)
    return twin, run_grid, simulate(twin, run_grid, chunk_samples=spec.chunk_samples, on_chunk=on_chunk)


def write_run(
    writer: Any, spec: GenerateSpec, plan: RunPlan, *, seed: int, chash: str,
    grid: Any = None, bar: Any = None, before_write: Callable[..., None] | None = None,
) -> tuple[int, int]:
    """Simulate one planned run and commit it to ``writer``; returns ``(rows, values)``.

    ``bar`` (a tqdm bar counting runs) advances by the share of this run rendered after each
    chunk, so its total is right even when runs end early (a machine at its failure). The
    chunks never depend on the bar: a chunk is a row group, so the bytes would.
    ``before_write(twin, run_grid, first)``, if given, sees the first :class:`Rendered` block
    before anything of the run is written (and before the dataset folder is created): the
    output size check uses it. It may raise to stop.
    """
    grid = spec.grid() if grid is None else grid
    bar = _NoBar() if bar is None else bar
    rows = values = 0
    moved = 0.0
    n_steps = [1]  # the run's own number of steps, known once the twin is built

    def advance(n: int) -> None:
        nonlocal moved
        step = min(n / n_steps[0], 1.0 - moved)
        moved += step
        bar.update(step)

    twin, run_grid, blocks = _start_run(spec, plan, grid, advance)  # lazy: nothing rendered yet
    n_steps[0] = max(run_grid.n_steps, 1)
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
    if twin.local_timezone():  # the occupants' clock: local-time features use it
        meta["local_timezone"] = twin.local_timezone()
    first = next(blocks, None)  # rendered before anything is written: the size check sees it
    if before_write is not None:
        before_write(twin, run_grid, first)
    with writer.open_run(spec.twin, plan.run_id, channels, meta) as run:
        for out in itertools.chain([first] if first is not None else [], blocks):
            run.write(out.samples)
            for name in sorted(out.tables):  # extra per-run tables (raw snapshots)
                run.write_table(name, out.tables[name])
            n = len(out.samples["time"])
            rows += n
            values += n * len(channels)
        run.commit(twin.events_table(plan.run_id), _run_record(spec, plan, twin, seed, chash))
    bar.update(1.0 - moved)  # rounding: the run counts exactly once
    return rows, values


# -- the size of what is about to be written ----------------------------------------------

#: Estimated output [bytes] above which ``generate`` and ``campaign run`` stop and ask for
#: ``--allow-large`` (``allow_large=True``); so does an estimate above the free disk space.
LARGE_OUTPUT_BYTES = 20 * 10**9


#: Disk space of one folder on common file systems (ext4, XFS) [bytes]: each run has its own.
_FOLDER_BYTES = 4096


class OutputTooLarge(ValueError):
    """The estimated output exceeds :data:`LARGE_OUTPUT_BYTES` or the free disk space."""


@dataclass(frozen=True)
class OutputEstimate:
    """The estimated size of a dataset about to be written.

    The first block of the first run to write is rendered (it is written afterwards, not
    rendered twice) and encoded in memory exactly as the writer will encode it: its bytes
    per row, times the rows of that run, plus the run's other files (its record, and its
    events so far as many times as it has blocks) and folders, times the runs to write. Runs that end early (``until_failure``) are taken at
    the first run's length; the per-row cost of the first block (often the first day)
    stands for the whole run. ``tests/reliability/test_output_size.py`` checks the
    estimate against the bytes written.
    """

    runs: int
    rows_per_run: int
    bytes_per_row: float
    bytes_per_run_other: int

    @property
    def bytes(self) -> float:
        return self.runs * (self.rows_per_run * self.bytes_per_row + self.bytes_per_run_other)

    def text(self) -> str:
        from twinforge.export.reader import _fmt_bytes

        per_run = self.rows_per_run * self.bytes_per_row + self.bytes_per_run_other
        return (
            f"about {_fmt_bytes(self.bytes)} ({self.runs:,} run(s) x {_fmt_bytes(per_run)}: "
            f"{self.rows_per_run:,} rows x {self.bytes_per_row:,.1f} B)"
        )


def estimate_output(
    spec: GenerateSpec, plan: RunPlan, twin: Twin, run_grid: Any, block: Rendered | None,
    runs: int, *, seed: int = 0, chash: str = "",
) -> OutputEstimate:
    """Estimate the bytes ``runs`` runs like ``plan``'s will write, from its first ``block``."""
    from twinforge.export.parquet import encoded_size

    if block is None or not len(block.samples["time"]):
        return OutputEstimate(runs, 0, 0.0, 0)
    try:  # the events so far, as many again per block (a twin may not list them mid-run)
        events = twin.events(0).copy()
        n_blocks = max(1, round(run_grid.n_steps / len(block.samples["time"])))
        events = pd.concat([events] * n_blocks, ignore_index=True) if len(events) else events
        events["event_id"] = range(len(events))
    except Exception:  # noqa: BLE001 - an estimate: without them
        events = None
    block_bytes, other = encoded_size(
        spec.twin, twin.channels(), block.samples, _run_record(spec, plan, twin, seed, chash), events,
        tables=block.tables,
    )
    folders = _FOLDER_BYTES * (2 + len(block.tables))  # a run's folders on disk
    return OutputEstimate(runs, int(run_grid.n_steps), block_bytes / len(block.samples["time"]), other + folders)


def check_output_size(estimate: OutputEstimate, out: str | Path, limit: float | None) -> None:
    """Raise :class:`OutputTooLarge` if ``estimate`` exceeds ``limit`` or the free space at
    ``out`` (no check when ``limit`` is None)."""
    import shutil

    from twinforge.export.reader import _fmt_bytes

    if limit is None:
        return
    above = Path(out).absolute()
    while not above.exists() and above != above.parent:
        above = above.parent
    try:
        usage = shutil.disk_usage(above)
        free = usage.free if usage.total > 0 else None  # /proc, /sys: no capacity to compare with
    except OSError:
        free = None
    if estimate.bytes > limit:
        why = f"above the {_fmt_bytes(limit)} that twinforge writes without asking"
    elif free is not None and estimate.bytes > free:
        why = f"more than the {_fmt_bytes(free)} free at {above}"
    else:
        return
    raise OutputTooLarge(
        f"the output would be {estimate.text()}, {why}; add --allow-large to write it anyway, "
        "or reduce runs, days, period or sample rate"
    )


def check_first_run(
    spec: GenerateSpec, plan: RunPlan, runs: int, out: str | Path, limit: float | None, *,
    seed: int, chash: str,
) -> None:
    """Render the first block of ``plan`` (in memory) and refuse if the output of ``runs``
    runs would be too large: the check of a campaign whose runs are simulated elsewhere."""
    if limit is None:
        return
    twin, run_grid, blocks = _start_run(spec, plan, spec.grid())
    block = next(blocks, None)
    blocks.close()
    check_output_size(estimate_output(spec, plan, twin, run_grid, block, runs, seed=seed, chash=chash), out, limit)


def first_run_check(
    spec: GenerateSpec, plan: RunPlan, runs: int, out: str | Path, limit: float | None, *,
    seed: int, chash: str,
) -> Callable[..., None] | None:
    """A ``before_write`` for :func:`write_run` of the first run written: estimate the output
    of ``runs`` runs from its first block and refuse if it is too large (None: no check)."""
    if limit is None:
        return None

    def check(twin: Twin, run_grid: Any, block: Rendered | None) -> None:
        est = estimate_output(spec, plan, twin, run_grid, block, runs, seed=seed, chash=chash)
        check_output_size(est, out, limit)

    return check


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

    The dataset is opened with :meth:`~twinforge.export.DatasetWriter.for_task`: only the
    manifest's head is read, not the runs it lists, so a task costs the same whatever the
    runs already written. The campaign's parent checked those once, opening the dataset
    (with ``resume``: every run's files, the runs whose files are gone removed from the
    manifest, so that their tasks redo them). A task run again after its commit (Dask
    retries a task whose worker was lost) writes the same bytes and the same journal line:
    the dataset holds the run once.
    """
    from twinforge.campaign.spec import GenerateSpec as _Spec
    from twinforge.export import DatasetWriter

    key = canonical_json(spec_json)
    spec = _SPEC_CACHE.get(key)
    if spec is None:
        spec = _SPEC_CACHE[key] = _Spec.from_data(spec_json)
    plan = RunPlan.from_json(plan_json, TWINS.get(spec.twin).Config)
    seed = int(spec_json["seed"])
    writer = DatasetWriter.for_task(out)
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
        manifest = read_manifest(Path(out))
    except (OSError, ValueError):
        return None
    seed = (manifest.get("dataset") or {}).get("seed")
    if seed is None:  # interrupted before finalize: the completed runs carry it
        import pyarrow.parquet as pq

        for e in sorted(manifest["runs"], key=lambda e: (e["twin"], e["run_id"])):
            shard = Path(out) / e["files"][2]  # the run's shard (manifest.json's own path)
            if shard.is_file():
                seed = pq.read_table(shard, columns=["seed"]).column("seed")[0].as_py()
                break
    return int(seed) if seed is not None else None


def generate(
    spec: GenerateSpec,
    out: str | Path,
    *,
    mode: Literal["create", "resume", "overwrite"] = "create",
    progress: bool = True,
    max_output_bytes: float | None = LARGE_OUTPUT_BYTES,
) -> GenerateSummary:
    """Simulate every run of ``spec`` and write the dataset at ``out``.

    Runs already complete in ``out`` (``mode="resume"``) are skipped; each run is written
    atomically, so an interruption leaves only whole runs behind. Runs are planned one at
    a time as they are simulated: memory does not grow with the number of runs.

    Parameters
    ----------
    spec : GenerateSpec
    out : str or Path
        Dataset folder.
    mode : {"create", "resume", "overwrite"}
        As for :class:`~twinforge.export.DatasetWriter`.
    progress : bool
        A tqdm progress bar over samples.
    max_output_bytes : float or None
        Refuse (:class:`OutputTooLarge`, before anything is written) when the estimated
        output (:class:`OutputEstimate`) exceeds it or the free disk space; None: no check.

    Raises
    ------
    FileExistsError
        ``out`` is not a folder this mode may write to (a user's folder, a dataset of another
        configuration when resuming); nothing was written.
    OutputTooLarge
    """
    from twinforge.export import DatasetWriter
    from twinforge.progress import bar as progress_bar

    t0 = time.perf_counter()
    # plain runs carry no weight: a tilted weather would bias every statistic
    if config_tilt(spec.config) is not None:
        raise SpecError(f"{spec.twin}.weather.tilt: a tilt of the weather's draws is an importance-sampling "
                        f"proposal; use it in a campaign with sampler = 'importance' (or campaign adapt --weather)")
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
    writer.check_config_hash(spec.twin, chash)
    done = {run_id for twin, run_id in writer.completed_runs() if twin == spec.twin}
    todo = spec.runs - len(done)
    rows = values = 0
    bar = progress_bar(progress, total=todo, unit="run", desc=f"{spec.twin} x{todo}", bar_format=BAR_FORMAT)
    with bar:
        for k, plan in enumerate(iter_plans(spec, seed, skip=done)):
            check = first_run_check(spec, plan, todo, out, max_output_bytes, seed=seed, chash=chash) if k == 0 else None
            n_rows, n_values = write_run(
                writer, spec, plan, seed=seed, chash=chash, grid=grid, bar=bar, before_write=check
            )
            rows += n_rows
            values += n_values
    writer.finalize({"scenario": spec_json, "config_hash": chash, "seed": seed})
    return GenerateSummary(
        Path(out), seed, todo, len(done), rows, values, time.perf_counter() - t0, grid.period_s, spec.config
    )
