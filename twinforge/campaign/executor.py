"""Run a campaign: in this process, in local worker processes, or on a Dask cluster.

A campaign is a list of independent runs. Each task simulates one run and commits it to
the dataset itself (:func:`twinforge.campaign.runner.execute_run`: an atomic run file,
its shards, a manifest entry under the dataset's file lock); the parent plans, hands out
tasks, follows progress and alone merges the tables at the end
(:meth:`~twinforge.export.DatasetWriter.finalize`, sorted by run). Since a run's bytes
depend only on the campaign, its seed and the run id, the dataset is byte-identical
whatever the number of workers, the executor or the order in which runs finish; an
interrupted campaign resumes (``mode="resume"``) by running exactly the runs missing
from the manifest.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import re
import secrets
import select
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from twinforge.campaign.campaign import CampaignSpec, iter_campaign_plans, load_twins
from twinforge.campaign.runner import (
    BAR_FORMAT,
    LARGE_OUTPUT_BYTES,
    _recorded_seed,
    check_first_run,
    execute_run,
    first_run_check,
    simulated_text,
    write_run,
)

__all__ = ["CampaignSummary", "SchedulerError", "connect_scheduler", "run_campaign"]

Mode = Literal["create", "resume", "overwrite"]


@dataclass
class CampaignSummary:
    """What :func:`run_campaign` did."""

    path: Path
    seed: int
    runs_written: int
    runs_skipped: int
    rows: int
    values: int
    seconds: float
    executor: str
    period_s: float = 0.0
    config: Any = None

    @property
    def runs_per_s(self) -> float:
        return self.runs_written / self.seconds if self.seconds > 0 else float("nan")

    @property
    def values_per_s(self) -> float:
        return self.values / self.seconds if self.seconds > 0 else float("nan")

    def text(self) -> str:
        return (
            f"wrote {self.runs_written} run(s) ({self.runs_skipped} already complete) to {self.path} "
            f"[{self.executor}]\n"
            f"  {self.rows:,} rows, {self.values:,} values ({self.runs_per_s:,.2f} runs/s); "
            f"{simulated_text(self.rows, self.period_s, self.seconds, self.config)}\n"
            f"  seed {self.seed}; estimate with: twinforge campaign estimate {self.path} --column ..."
        )


def _task(spec_json: dict[str, Any], plan_json: dict[str, Any], out: str, chash: str) -> dict[str, Any]:
    """One run in a worker (a process of the pool or a Dask worker).

    Idempotent: when the run is already committed to ``out`` under the same configuration,
    it is reported, not redone. Dask runs a finished task again when the worker holding its
    result is lost before the result was fetched; without this the run would be "already
    complete" and fail the campaign.
    """
    load_twins()
    done = _committed_run(out, str(spec_json["twin"]), int(plan_json["run_id"]), chash)
    if done is not None:
        return done
    return execute_run(spec_json, plan_json, out, chash=chash)


def _committed_run(out: str, twin: str, run_id: int, chash: str) -> dict[str, Any] | None:
    """``{"run_id", "rows", "values"}`` of a run the manifest of ``out`` lists as complete
    (every file present, same config hash), else None."""
    import pyarrow.parquet as pq

    from twinforge.export.parquet import SAMPLES_DIR, read_manifest, run_file

    root = Path(out)
    # A run is committed only once its samples file is in place: without it there is
    # nothing to look up, and the manifest (which grows with every run) is not read.
    if not (root / run_file(SAMPLES_DIR, twin, run_id)).is_file():
        return None
    try:
        entries = read_manifest(root).get("runs", [])
    except (OSError, ValueError):
        return None
    for e in entries:
        if (e.get("twin"), e.get("run_id")) != (twin, run_id) or e.get("config_hash") != chash:
            continue
        files = e.get("files") or []
        if not files or not all((root / f).is_file() for f in files):
            return None
        n_channels = len(pq.read_schema(root / files[0]).names) - 3  # all but twin, run_id, time
        rows = int(e["rows"])
        return {"run_id": run_id, "rows": rows, "values": rows * n_channels}
    return None


def _mp_context() -> Any:
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        # workers fork from a server that has imported twinforge once (fast start-up)
        ctx.set_forkserver_preload(["twinforge.campaign.executor", "twinforge.campaign.latent", "twinforge.twins"])
        return ctx
    return multiprocessing.get_context("spawn")


def _worker_init(parent_pid: int) -> None:
    """Set up a local worker process: Ctrl-C is the parent's to handle, and the worker exits
    as soon as the parent process is gone (even after ``kill -9``), instead of waiting
    forever for tasks that will never come."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with, args=(parent_pid,), daemon=True, name="twinforge-parent-watch").start()


def _exit_with(pid: int) -> None:
    """Block until process ``pid`` ends, then end this process at once."""
    try:
        fd = os.pidfd_open(pid)  # Linux >= 5.3: readable when the process ends
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):  # elsewhere: poll
        while True:
            time.sleep(0.5)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:
                pass
    select.select([fd], [], [])
    os._exit(1)  # the run in progress leaves only a temporary file; --resume redoes it


#: Seconds to wait for a Dask scheduler to answer before refusing ``--scheduler``.
SCHEDULER_TIMEOUT_S = 10.0
_SCHEDULER_RE = re.compile(
    r"^(?:(?:tcp|tls|ucx|ws|wss)://)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?):([0-9]{1,5})/?$"
)
#: The address of a scheduler in this very process (``LocalCluster(processes=False)``).
_INPROC_RE = re.compile(r"^inproc://[0-9A-Za-z_.:-]+/[0-9]+/[0-9]+$")


class SchedulerError(ValueError):
    """``--scheduler`` is not a Dask scheduler address, or no scheduler answers there."""


def connect_scheduler(address: str, timeout_s: float | None = None) -> Any:
    """A :class:`dask.distributed.Client` of the scheduler at ``address``, or :class:`SchedulerError`.

    The address must be ``[tcp://]HOST:PORT`` (or ``tls://``, ``ucx://``, ``ws://``,
    ``wss://``) with a port in 1..65535, or the ``inproc://`` address of a scheduler in
    this process, and a scheduler must answer within ``timeout_s``
    (default :data:`SCHEDULER_TIMEOUT_S`). Called before the dataset folder is created.

    Dask moves tasks and results with pickle: connect only to a scheduler (and workers)
    you trust, as you would run their code (see docs/campaigns.md).
    """
    timeout_s = SCHEDULER_TIMEOUT_S if timeout_s is None else timeout_s
    text = address.strip() if isinstance(address, str) else ""
    m = _SCHEDULER_RE.match(text)
    if (m is None or not 1 <= int(m.group(1)) <= 65535) and not _INPROC_RE.match(text):
        raise SchedulerError(
            f"--scheduler {address!r}: not a Dask scheduler address; allowed: [tcp://]HOST:PORT with a port "
            "in 1..65535 (also tls://, ucx://, ws://, wss://), e.g. tcp://10.0.0.5:8786"
        )
    try:
        from dask.distributed import Client
    except ImportError:  # pragma: no cover
        raise SchedulerError("--scheduler needs dask.distributed: pip install 'twinforge[dask]'") from None
    import logging

    quiet = [logging.getLogger(n) for n in ("distributed", "distributed.client", "distributed.comm")]
    levels = [lg.level for lg in quiet]
    for lg in quiet:
        lg.setLevel(logging.CRITICAL)  # the refusal below is the one line the user needs
    try:
        return Client(text, timeout=timeout_s, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise SchedulerError(
            f"--scheduler {address}: no Dask scheduler answered within {timeout_s:g} s ({detail}); "
            "is it running and reachable from here?"
        ) from None
    finally:
        for lg, level in zip(quiet, levels):
            lg.setLevel(level)


def run_campaign(
    campaign: CampaignSpec,
    out: str | Path | None = None,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    client: Any = None,
    mode: Mode = "create",
    progress: bool = True,
    max_output_bytes: float | None = LARGE_OUTPUT_BYTES,
) -> CampaignSummary:
    """Plan and run every run of ``campaign`` into the dataset ``out``.

    Parameters
    ----------
    campaign : CampaignSpec
    out : str or Path, optional
        Dataset folder (default: the campaign's ``output``).
    workers : int
        1: runs one after the other in this process; N > 1: N local worker processes
        (``forkserver`` start method, ``spawn`` where unavailable), which ignore Ctrl-C
        (the parent stops them) and exit when the parent process dies. Ignored with a
        scheduler or a client.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``); each run becomes one
        task. ``out`` must be a path that every worker sees (a shared file system). Checked
        (format, and a scheduler answering) before anything is written. Dask uses pickle:
        use only a scheduler you trust.
    client : dask.distributed.Client, optional
        An existing client to submit to instead (not closed here).
    mode : {"create", "resume", "overwrite"}
        As for :class:`~twinforge.export.DatasetWriter`; ``resume`` skips the runs the
        manifest lists as complete and reuses the recorded seed of a campaign whose seed
        was drawn.
    progress : bool
        A tqdm progress bar over runs.
    max_output_bytes : float or None
        Refuse (:class:`~twinforge.campaign.runner.OutputTooLarge`, before anything is
        written) when the estimated output exceeds it or the free disk space; None: no check.

    Returns
    -------
    CampaignSummary

    Runs are planned one at a time as they are handed out: memory does not grow with the
    number of runs.
    """
    from twinforge.export import DatasetWriter
    from twinforge.progress import bar as progress_bar

    if out is None:
        if campaign.output is None:
            raise ValueError("no output folder: pass --out (or set output in the campaign file)")
        out = campaign.output
    out = Path(out).absolute()
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    t0 = time.perf_counter()
    seed = campaign.scenario.seed
    if seed is None and mode == "resume":
        seed = _recorded_seed(out)
    if seed is None:
        seed = secrets.randbits(63)
    chash = campaign.config_hash(seed)
    spec = campaign.scenario.model_copy(update={"seed": seed})
    spec_json = spec.to_json_dict()
    writer = DatasetWriter(out, mode=mode)
    writer.check_config_hash(campaign.twin, chash)
    done = {run_id for twin, run_id in writer.completed_runs() if twin == campaign.twin}
    n_todo = campaign.runs - len(done)
    own = None
    if client is None and scheduler is not None:
        client = own = connect_scheduler(scheduler)  # before the folder is created
    try:
        plans = iter_campaign_plans(campaign, seed, (i for i in range(campaign.runs) if i not in done))
        first = next(plans, None)
        serial = client is None and workers == 1
        if first is not None and not serial:
            check_first_run(spec, first, n_todo, out, max_output_bytes, seed=seed, chash=chash)
        writer._prepare()  # create (or clear, for overwrite) the folder before any worker writes
        plans = itertools.chain([first] if first is not None else [], plans)
        rows = values = 0
        if client is not None:
            kind = f"dask {scheduler or client.scheduler.address}"
        else:
            kind = "serial" if workers == 1 else f"{workers} processes"
        bar = progress_bar(progress, total=n_todo, unit="run", desc=f"{campaign.twin} campaign",
                           bar_format=BAR_FORMAT)
        with bar:
            if serial:
                grid = spec.grid()
                for k, plan in enumerate(plans):
                    check = (
                        first_run_check(spec, plan, n_todo, out, max_output_bytes, seed=seed, chash=chash)
                        if k == 0 else None
                    )
                    r, v = write_run(writer, spec, plan, seed=seed, chash=chash, grid=grid, before_write=check,
                                     bar=bar)
                    rows, values = rows + r, values + v
            else:
                tasks = ((spec_json, p.to_json(), str(out), chash) for p in plans)
                results = (_run_dask(_task, tasks, client) if client is not None
                           else _run_processes(_task, tasks, workers))
                for res in results:
                    rows, values = rows + res["rows"], values + res["values"]
                    bar.update(1)
    finally:
        if own is not None:
            own.close()
    writer.finalize(
        {"campaign": campaign.to_json_dict(), "scenario": spec_json, "config_hash": chash, "seed": seed}
    )
    return CampaignSummary(
        out, seed, n_todo, len(done), rows, values, time.perf_counter() - t0, kind,
        spec.period_s, spec.config,
    )


def local_pool(workers: int) -> ProcessPoolExecutor:
    """``workers`` local worker processes (``forkserver`` start method, ``spawn`` where
    unavailable) that ignore Ctrl-C (the parent stops them, :func:`stop_pool`) and exit when
    the parent process dies. The one pool of :func:`run_campaign` and
    :func:`~twinforge.campaign.latent.plan_simulator`."""
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=_mp_context(), initializer=_worker_init, initargs=(os.getpid(),)
    )


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """End the processes of ``pool`` now, whatever they are doing (Ctrl-C, a failed task)."""
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        proc.terminate()
    pool.shutdown(wait=True, cancel_futures=True)


def _run_processes(
    fn: Callable[..., Any], tasks: Iterator[tuple[Any, ...]], workers: int, pool: ProcessPoolExecutor | None = None
) -> Iterator[Any]:
    """``fn(*args)`` of each argument tuple of ``tasks`` in local worker processes, as they finish.

    In ``pool`` (kept open) or in a pool of ``workers`` processes made and shut down here.
    At most ``2 * workers`` tasks are in flight: the tasks are made and pickled as they go.
    """
    own = pool is None
    if pool is None:
        pool = local_pool(workers)
    window = 2 * workers
    running: set[Future] = set()
    try:
        while True:
            while len(running) < window:
                args = next(tasks, None)
                if args is None:
                    break
                running.add(pool.submit(fn, *args))
            if not running:
                break
            finished, running = wait(running, return_when=FIRST_COMPLETED)
            for f in sorted(finished, key=id):
                yield f.result()
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        # stop now: the runs in progress leave only temporary files, which --resume redoes
        for f in running:
            f.cancel()
        stop_pool(pool)
        raise
    except BaseException:
        for f in running:
            f.cancel()
        raise
    finally:
        if own:
            pool.shutdown(wait=True, cancel_futures=True)


def dask_slots(client: Any) -> int:
    """Threads of the workers of a Dask ``client`` (at least 1)."""
    return max(1, sum(client.nthreads().values()))


def _run_dask(fn: Callable[..., Any], tasks: Iterator[tuple[Any, ...]], client: Any) -> Iterator[Any]:
    """``fn(*args)`` of each argument tuple of ``tasks`` as tasks of a Dask cluster, as they
    finish; at most twice the cluster's threads in flight."""
    from dask.distributed import as_completed

    window = 2 * dask_slots(client)
    first = [
        client.submit(fn, *args, pure=False)
        for args in (next(tasks, None) for _ in range(window))
        if args is not None
    ]
    if not first:
        return
    ac = as_completed(first, loop=client.loop)  # the client need not be the default one
    try:
        for fut in ac:
            res = fut.result()
            fut.release()
            args = next(tasks, None)
            if args is not None:
                ac.add(client.submit(fn, *args, pure=False))
            yield res
    except BaseException:
        for f in list(getattr(ac, "futures", ())):
            f.cancel()
        raise
