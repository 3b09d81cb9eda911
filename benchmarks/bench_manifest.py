"""The dataset manifest's cost per run as a campaign grows, and the finalize's split.

    python benchmarks/bench_manifest.py [--runs 500 2000 5000] [--workers 2] [--window 200]
                                        [--profile-entries 1000 5000 20000] [--finalize-runs 200]
                                        [--commit-entries 1000 5000 20000] [--from-zero 1000 5000]
                                        [--part all|campaign|profile|finalize|commits] [--against SRC]

Every run commits itself to the dataset (its files, then its entry in ``manifest.json``
under the dataset's lock), and every worker task opens the dataset to do so. This measures
what that costs as the number of runs already committed grows:

1. **campaign**: campaigns of ``--runs`` tiny runs (the home twin, 1 day at 1 h: 24 rows,
   about 20 ms of CPU each) with ``--workers`` local processes; wall time and CPU time
   (parent + workers, from ``/proc``) per run over the first and the last ``--window`` runs,
   taken when each run's result reaches the parent. The finalize is not in these figures.
2. **profile**: one worker task (:func:`twinforge.campaign.runner.execute_run`: open the
   dataset, simulate, commit; since ``DatasetWriter.for_task`` the opening reads the
   manifest's head only, "open dataset") on a dataset already holding N runs (one real run's files
   hard-linked N times under the names of N runs, their entries in ``manifest.json``),
   under cProfile, mean of 3 tasks after a first one (a worker's first task, timed apart,
   without profiler: it reads every entry, as a new worker process does once): the time in
   reading the manifest (all of it, then its JSON parse and validation: pydantic,
   ``_check_entry``), checking the runs' files (stat), encoding and writing it (fsync
   included), and the whole task.
3. **finalize**: a campaign of ``--finalize-runs`` of those runs, then its finalize again
   (merged tables removed) under cProfile: the prune, reading the shards and sorting,
   writing the merged tables, the manifest.
4. **commits**: the commit's record of a run alone (``DatasetWriter._record_run``, under
   the dataset's lock: the manifest's read-modify-write, or the journal's append and its
   folds), on the dataset of N runs of part 2 (``--commit-entries``): wall time and bytes
   written to ``manifest.json`` and ``manifest.journal`` per commit (from their inode and
   size before and after each), over one whole fold cycle when there is a journal (from
   N runs until the commit that folds it: the amortised cost, the fold included), else over
   20 commits; and, from an empty dataset to each of ``--from-zero`` runs, the total bytes
   written (measured) and the wall time of all those commits.

With ``--against SRC`` every measurement is made twice, in new processes one right after the
other: with this tree's twinforge and with the one in ``SRC`` (say, the commit before a
change), and the ratios SRC / this tree are printed. CPU times are process times; the load
average is printed beside them (a shared machine inflates them).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from bench_home import _proc_stat  # noqa: E402  (one /proc reader for the benchmarks)

TINY = {"twin": "home", "days": 1, "period": "1h", "seed": 7, "start": "2024-01-01"}


def _descendants_cpu_s() -> float:
    """CPU seconds of every live descendant of this process (the forkserver and its workers)."""
    me = os.getpid()
    stats = {pid: st for pid in os.listdir("/proc") if pid.isdigit() and (st := _proc_stat(pid))}
    total = 0.0
    for pid, (ppid, cpu) in stats.items():
        p = ppid
        while p not in (0, 1, me) and str(p) in stats:
            p = stats[str(p)][0]
        if p == me:
            total += cpu
    return total


def campaign(runs: int, workers: int, window: int) -> dict:
    """Per-run wall and CPU seconds over the first and last ``window`` runs of a campaign."""
    from twinforge.campaign import executor
    from twinforge.campaign.campaign import CampaignSpec

    camp = CampaignSpec.from_data({**TINY, "runs": runs})
    out = Path(tempfile.mkdtemp(prefix="bench_manifest_")) / "d"
    marks: list[tuple[float, float]] = []  # (wall, CPU of parent + workers) at each result
    real = executor._run_processes

    def timed(*a, **kw):
        for res in real(*a, **kw):
            marks.append((time.perf_counter(), time.process_time() + _descendants_cpu_s()))
            yield res

    executor._run_processes = timed
    t0 = time.perf_counter()
    try:
        executor.run_campaign(camp, out, workers=workers, progress=False)
    finally:
        executor._run_processes = real
    total = time.perf_counter() - t0
    manifest_bytes = (out / "manifest.json").stat().st_size
    shutil.rmtree(out.parent)
    w = min(window, len(marks) - 1)

    def per_run(a: int, b: int) -> tuple[float, float]:
        return (marks[b][0] - marks[a][0]) / (b - a), (marks[b][1] - marks[a][1]) / (b - a)

    first = per_run(0, w)
    last = per_run(len(marks) - 1 - w, len(marks) - 1)
    return {"runs": runs, "window": w, "total_wall_s": total, "manifest_bytes": manifest_bytes,
            "first_wall_ms": 1e3 * first[0], "first_cpu_ms": 1e3 * first[1],
            "last_wall_ms": 1e3 * last[0], "last_cpu_ms": 1e3 * last[1]}


def _cloned_dataset(entries: int, spec_json: dict, plans: list, chash: str) -> Path:
    """A dataset of ``entries`` committed runs: run 0 written for real, its files hard-linked
    under the names of runs 1 .. entries-1, their entries in ``manifest.json``."""
    from twinforge.campaign.runner import execute_run
    from twinforge.export.parquet import _manifest_bytes, expected_files, read_manifest

    root = Path(tempfile.mkdtemp(prefix="bench_manifest_")) / "d"
    execute_run(spec_json, plans[0].to_json(), root, chash=chash)
    manifest = read_manifest(root)
    proto = manifest["runs"][0]
    runs = [proto]
    for i in range(1, entries):
        files = expected_files(proto["twin"], i)
        for src, dst in zip(proto["files"], files):
            (root / dst).parent.mkdir(parents=True, exist_ok=True)
            os.link(root / src, root / dst)
        runs.append({**proto, "run_id": i, "files": files,
                     "sha256": {f: proto["sha256"][src] for src, f in zip(proto["files"], files)},
                     "size": {f: proto["size"][src] for src, f in zip(proto["files"], files)}})
    manifest["runs"] = runs
    (root / "manifest.json").write_bytes(_manifest_bytes(manifest))
    return root


def _cum_ms(st: pstats.Stats, funcs: list[tuple[str, str]]) -> float:
    """Cumulative milliseconds of the profiled functions ``(file suffix, name)`` (none of
    them calls another: their times add up)."""
    return 1e3 * sum(ct for (path, _, name), (_, _, _, ct, _) in st.stats.items()  # type: ignore[attr-defined]
                     if any(path.endswith(p) and name == n for p, n in set(funcs)))


#: What the profile reports: label -> functions (file suffix, name) whose cumulative time adds
#: up. The first line holds the next three (and the file's checks); the read is
#: ``_read_manifest`` since the reading of cached entries (``read_manifest`` before).
PARTS = {
    "manifest read, all": [("twinforge/export/parquet.py", "_read_manifest")],
    "JSON parse": [("json/__init__.py", "loads")],
    "validate (pydantic)": [("pydantic/main.py", "model_validate")],
    "validate (_check_entry)": [("twinforge/export/parquet.py", "_check_entry")],
    "runs' files (stat)": [("twinforge/export/parquet.py", "_run_files_present")],
    "encode manifest": [("twinforge/export/parquet.py", "_manifest_bytes")],
    "write manifest (fsync incl.)": [("twinforge/export/parquet.py", "_atomic_write_bytes")],
    "record run (under the lock)": [("twinforge/export/parquet.py", "_record_run")],
    "open dataset (for_task)": [("twinforge/export/parquet.py", "for_task")],
}


def profile(entries: int, repeats: int = 3) -> dict:
    """Seconds per worker task, split, on a dataset already holding ``entries`` runs."""
    from twinforge.campaign.campaign import CampaignSpec, iter_campaign_plans
    from twinforge.campaign.runner import execute_run

    camp = CampaignSpec.from_data({**TINY, "runs": entries + repeats + 1})
    chash = camp.config_hash(7)
    spec_json = camp.scenario.model_copy(update={"seed": 7}).to_json_dict()
    plans = list(iter_campaign_plans(camp, 7, [0, *range(entries, entries + repeats + 1)]))
    root = _cloned_dataset(entries, spec_json, plans, chash)
    import twinforge.export.parquet as P

    P._ENTRY_TEXT.clear()  # as in a new worker process: no entry encoded yet
    t0 = time.perf_counter()
    execute_run(spec_json, plans[1].to_json(), root, chash=chash)  # a worker's first task
    first = time.perf_counter() - t0
    plans = plans[1:]
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    for plan in plans[1:]:
        prof.runcall(execute_run, spec_json, plan.to_json(), root, chash=chash)
    wall = (time.perf_counter() - t0) / repeats
    from twinforge.export.parquet import read_manifest

    kept = len(read_manifest(root)["runs"])
    if kept != entries + repeats + 1:
        raise RuntimeError(f"the dataset holds {kept} runs, not {entries + repeats}: the clones were pruned")
    st = pstats.Stats(prof)
    out = {"entries": entries, "first_task_wall_ms": 1e3 * first, "task_wall_ms": 1e3 * wall,
           "task_cpu_ms": 1e3 * st.total_tt / repeats}  # profiled: inflated by the profiler
    for label, funcs in PARTS.items():
        out[label] = _cum_ms(st, funcs) / repeats
    if not out["manifest read, all"]:  # before the cached reading: read_manifest alone
        out["manifest read, all"] = _cum_ms(st, [("twinforge/export/parquet.py", "read_manifest")]) / repeats
    shutil.rmtree(root.parent)
    return out


#: The finalize's parts (cumulative times; the events file's writing holds the reading of
#: the events shards, which it streams, so it is reported without them).
PX = "twinforge/export/parquet.py"
FINALIZE_PARTS = {
    "prune (stat of every run's files)": [(PX, "_prepare")],
    "manifest read": [(PX, "_read_manifest")],
    "runs.parquet: read run shards + concat + sort": [(PX, "merged_runs")],
    "events: footers": [("pyarrow/parquet/core.py", "read_metadata")],
    "events: read shards + sort": [(PX, "tables")],
    "events.parquet: write (+ sync, checksum)": [(PX, "_atomic_write_stream")],
    "runs.parquet: write (+ sync, checksum)": [(PX, "_atomic_write_table")],
    "manifest write": [(PX, "_atomic_write_bytes")],
}


def finalize(runs: int, workers: int) -> dict:
    """The finalize of a campaign of ``runs`` tiny runs, split (cProfile, one call)."""
    from twinforge.campaign.campaign import CampaignSpec
    from twinforge.campaign.executor import run_campaign
    from twinforge.export import DatasetWriter

    camp = CampaignSpec.from_data({**TINY, "runs": runs})
    root = Path(tempfile.mkdtemp(prefix="bench_manifest_")) / "d"
    run_campaign(camp, root, workers=workers, progress=False)
    (root / "events.parquet").unlink()  # the finalize writes them again
    (root / "runs.parquet").unlink()
    writer = DatasetWriter(root, mode="resume")
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.runcall(writer.finalize, {"bench": "manifest"})
    wall = time.perf_counter() - t0
    st = pstats.Stats(prof)
    out = {"runs": runs, "finalize_wall_ms": 1e3 * wall}
    for label, funcs in FINALIZE_PARTS.items():
        out[label] = _cum_ms(st, funcs)
    out["events.parquet: write (+ sync, checksum)"] -= out["events: read shards + sort"]
    if not out["manifest read"]:  # before the cached reading: read_manifest
        out["manifest read"] = _cum_ms(st, [(PX, "read_manifest")])
    shutil.rmtree(root.parent)
    return out


def _synthetic_entry(proto: dict, run_id: int) -> dict:
    """``proto``'s entry under the name of run ``run_id`` (its files need not exist: the
    commit's record of a run does not look at them)."""
    from twinforge.export.parquet import expected_files

    files = expected_files(proto["twin"], run_id)
    return {**proto, "run_id": run_id, "files": files,
            "sha256": {f: proto["sha256"][src] for src, f in zip(proto["files"], files)},
            "size": {f: proto["size"][src] for src, f in zip(proto["files"], files)}}


def _files_state(root: Path) -> dict:
    out = {}
    for name in ("manifest.json", "manifest.journal"):
        try:
            st = os.stat(root / name)
            out[name] = (st.st_ino, st.st_size)
        except FileNotFoundError:
            out[name] = None
    return out


def _bytes_written(before: dict, after: dict) -> int:
    """Bytes written to the manifest (replaced: in full) and the journal (what it grew by)."""
    out = after["manifest.json"][1] if after["manifest.json"] != before["manifest.json"] else 0
    j0, j1 = before["manifest.journal"], after["manifest.journal"]
    if j1 is not None:
        out += j1[1] - (j0[1] if j0 is not None and j0[0] == j1[0] else 0)
    return out


def _record(root: Path, proto: dict, first: int, stop: Any) -> tuple[int, float, float, int]:
    """Record synthetic runs ``first, first + 1, ...`` (a worker's writer) until ``stop(k,
    state before, state after)``; returns ``(commits, total wall s, max wall s, bytes)``."""
    from twinforge.export import DatasetWriter

    writer = DatasetWriter(root, mode="resume", check_files=False)
    k, total, worst, written = 0, 0.0, 0.0, 0
    while True:
        entry = _synthetic_entry(proto, first + k)
        before = _files_state(root)
        t0 = time.perf_counter()
        writer._record_run(entry)
        dt = time.perf_counter() - t0
        after = _files_state(root)
        k, total, worst, written = k + 1, total + dt, max(worst, dt), written + _bytes_written(before, after)
        if stop(k, before, after):
            return k, total, worst, written


def commits(entries: int, from_zero: list[int]) -> dict:
    """Per-commit wall time and bytes written on a dataset of ``entries`` runs (one fold
    cycle with a journal, else 20 commits); total bytes from 0 to each of ``from_zero``."""
    import twinforge.export.parquet as P
    from twinforge.campaign.campaign import CampaignSpec, iter_campaign_plans
    from twinforge.export import DatasetWriter
    from twinforge.export.parquet import read_manifest

    journal = hasattr(P, "JOURNAL")
    camp = CampaignSpec.from_data({**TINY, "runs": 1})
    chash = camp.config_hash(7)
    spec_json = camp.scenario.model_copy(update={"seed": 7}).to_json_dict()
    plans = list(iter_campaign_plans(camp, 7, [0]))
    root = _cloned_dataset(entries, spec_json, plans, chash)
    proto = read_manifest(root)["runs"][0]

    def folded(k: int, before: dict, after: dict) -> bool:  # the manifest replaced: a fold
        return (after["manifest.json"] != before["manifest.json"]) if journal else k >= 20

    n, total, worst, written = _record(root, proto, entries, lambda k, b, a: folded(k, b, a) or k >= 4 * entries)
    out = {"entries": entries, "journal": journal, "commits": n, "commit_ms": 1e3 * total / n,
           "max_commit_ms": 1e3 * worst, "bytes_per_commit": written / n,
           "manifest_bytes_at_N": _files_state(root)["manifest.json"][1]}
    shutil.rmtree(root.parent)
    for m in from_zero:
        root = Path(tempfile.mkdtemp(prefix="bench_manifest_")) / "d"
        DatasetWriter(root)._prepare()
        k, total, _, written = _record(root, proto, 0, lambda k, b, a: k >= m)
        out[f"from_zero_{m}_MB"] = written / 1e6
        out[f"from_zero_{m}_s"] = total
        shutil.rmtree(root.parent)
    return out


def _print(part: str, r: dict, label: str = "") -> None:
    lead = f"  {label:<11}" if label else "  "
    if part == "profile":
        print(f"{lead}N = {r['entries']:>6}: " + ", ".join(f"{k} {v:,.1f}" for k, v in r.items() if k != "entries"))
    elif part == "campaign":
        print(f"{lead}{r['runs']:>6} runs: first {r['window']}: {r['first_wall_ms']:.1f} wall, {r['first_cpu_ms']:.1f} CPU; "
              f"last {r['window']}: {r['last_wall_ms']:.1f} wall, {r['last_cpu_ms']:.1f} CPU; "
              f"total {r['total_wall_s']:.1f} s wall (finalize included); "
              f"manifest {r['manifest_bytes'] / 1e6:.2f} MB; load {r['load']:.2f}")
    elif part == "commits":
        zero = "".join(f"; from 0 to {k.split('_')[2]} runs: {r[k]:,.1f} MB written, "
                       f"{r[k.replace('_MB', '_s')]:.1f} s" for k in r if k.endswith("_MB"))
        print(f"{lead}N = {r['entries']:>6}: {r['commit_ms']:.2f} ms per commit (max {r['max_commit_ms']:.1f}), "
              f"{r['bytes_per_commit'] / 1e3:,.1f} kB written per commit, over {r['commits']} commits "
              f"({'journal, one fold cycle' if r['journal'] else 'manifest rewritten each'}); "
              f"manifest {r['manifest_bytes_at_N'] / 1e6:.1f} MB{zero}; load {r['load']:.2f}")
    else:
        print(f"{lead}{r['runs']} runs: " + ", ".join(f"{k} {v:,.1f}" for k, v in r.items() if k != "runs"))
    sys.stdout.flush()


#: The figures whose ratio ``--against`` prints, per part.
RATIOS = {"profile": ("task_wall_ms", "task_cpu_ms", "manifest read, all"),
          "campaign": ("last_wall_ms", "last_cpu_ms"), "finalize": ("finalize_wall_ms",),
          "commits": ("commit_ms", "bytes_per_commit")}
TITLES = {"profile": "2. one worker task on a dataset of N runs (cProfile, mean of 3 tasks) [ms]",
          "campaign": "1. campaigns of tiny home runs (1 day at 1 h), {workers} workers, per run [ms]",
          "finalize": "3. the finalize of a campaign of tiny runs (cProfile, one call) [ms]",
          "commits": "4. a commit's record of its run on a dataset of N runs (amortised over a fold cycle)"}


def _measure(part: str, n: int, args: argparse.Namespace) -> dict:
    if part == "profile":
        return profile(n)
    if part == "campaign":
        return {**campaign(n, args.workers, args.window), "load": os.getloadavg()[0]}
    if part == "commits":
        zero = args.from_zero if n == args.commit_entries[0] else []
        return {**commits(n, zero), "load": os.getloadavg()[0]}
    return finalize(n, args.workers)


def _in_subprocess(src: str | None, part: str, n: int, args: argparse.Namespace) -> dict:
    """:func:`_measure` in a new Python process importing twinforge from ``src`` (None: as this one)."""
    import json
    import subprocess

    flag = {"profile": "--profile-entries", "campaign": "--runs", "finalize": "--finalize-runs",
            "commits": "--commit-entries"}[part]
    zero = [str(z) for z in args.from_zero] if part == "commits" and n == args.commit_entries[0] else []
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(Path(src).absolute()), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r.json"
        subprocess.run([sys.executable, __file__, "--part", part, flag, str(n), "--workers", str(args.workers),
                        "--window", str(args.window), "--from-zero", *zero, "--json", str(out)], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        return json.loads(out.read_text())[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, nargs="+", default=[500, 2000, 5000])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--window", type=int, default=200)
    ap.add_argument("--profile-entries", type=int, nargs="+", default=[1000, 5000, 20000])
    ap.add_argument("--finalize-runs", type=int, default=200)
    ap.add_argument("--commit-entries", type=int, nargs="+", default=[1000, 5000, 20000])
    ap.add_argument("--from-zero", type=int, nargs="*", default=[1000],
                    help="also record this many runs from an empty dataset (with the first --commit-entries)")
    ap.add_argument("--part", choices=["all", "campaign", "profile", "finalize", "commits"], default="all")
    ap.add_argument("--against", metavar="SRC",
                    help="also measure the twinforge package in the folder SRC (e.g. an older commit's "
                         "`git archive HEAD~1 twinforge | tar -x -C SRC`), each measurement right after "
                         "this tree's (each in a new process), and print SRC / this tree")
    ap.add_argument("--json", help=argparse.SUPPRESS)  # the results, for --against
    args = ap.parse_args()
    import twinforge

    print(f"twinforge at {Path(twinforge.__file__).parent}; load average {os.getloadavg()}")
    results = []
    todo = {"profile": args.profile_entries, "campaign": args.runs, "finalize": [args.finalize_runs],
            "commits": args.commit_entries}
    for part in ("profile", "campaign", "finalize", "commits"):
        if args.part not in ("all", part):
            continue
        print("\n" + TITLES[part].format(workers=args.workers))
        for n in todo[part]:
            if args.against is None:
                results.append(_measure(part, n, args))
                _print(part, results[-1])
                continue
            mine, other = _in_subprocess(None, part, n, args), _in_subprocess(args.against, part, n, args)
            _print(part, mine, "this tree")
            _print(part, other, "SRC")
            print(f"  {'SRC / this':<11}" + ", ".join(f"{k} {other[k] / mine[k]:.1f} x" for k in RATIOS[part]
                                                     if mine[k] > 0) + f" (load {os.getloadavg()[0]:.2f})")
    if args.json:
        import json

        Path(args.json).write_text(json.dumps(results))


if __name__ == "__main__":
    main()
