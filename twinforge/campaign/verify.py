"""``twinforge verify``: re-check a dataset written by twinforge.

Checks, in order, and reports every problem found (not only the first):

1. **the manifest**: a valid twinforge manifest (every field of every run entry), finalized;
2. **the files**: every file the manifest lists is there, with the size and SHA-256 recorded
   when it was written (so any changed, truncated, swapped or corrupted byte is found);
   no stray file in the dataset's own folders (``samples/``, ``_runs/``, extra tables);
3. **every run**: its samples file is readable Parquet with twinforge metadata naming this
   run, units for every column, the manifest's row count, time strictly increasing on the
   declared period, the twin's physical invariants and the label invariants (labels never
   NaN but ``severity``; ``health`` in [0, 1] and non-increasing; ``rul_s`` >= 0 and
   non-increasing), labels pointing at the run's events; its events (``end >= start``,
   unique ids) and its run record (this run, finite positive weight);
4. **the merged tables**: ``events.parquet`` and ``runs.parquet`` equal the merge of the
   per-run shards;
5. **the plans**: each run's weight, stratum, pair and parameters equal those planned again
   (without simulating) from the recorded scenario or campaign and seed;
6. **regeneration** (the deep check, ``regenerate=N``): N runs are simulated again and must
   give byte-identical files.

Steps 1-5 read each file once and take seconds on the demo datasets; regeneration costs
what the simulation cost. A dataset written before checksums were recorded (no ``sha256``
in its manifest) is checked by steps 1 and 3-6, and the report says so.
"""

from __future__ import annotations

import filecmp
import json
import math
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["VerifyReport", "verify"]

#: Label columns whose NaN is a value, "none": ``severity`` where no event is active, the
#: machine's ``fault_snr_db`` in a snapshot without a localised defect.
_NAN_LABELS = {"severity", "fault_snr_db"}


@dataclass
class VerifyReport:
    """What :func:`verify` found: ``problems`` (the dataset is damaged if any) and ``notes``
    (what could not be checked, and why)."""

    path: Path
    checked_runs: int = 0
    checked_files: int = 0
    checked_bytes: int = 0
    regenerated: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        from twinforge.safe_io import format_bytes

        head = (
            f"{self.path}: {self.checked_runs} run(s) and {self.checked_files} file(s) "
            f"({format_bytes(self.checked_bytes)}) checked, {len(self.regenerated)} regenerated"
        )
        lines = [head + (" - OK" if self.ok else f" - {len(self.problems)} problem(s):")]
        lines += [f"  - {p}" for p in self.problems]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def verify(
    path: str | Path, *, regenerate: int | None = 0, seed: int = 0, progress: bool = False
) -> VerifyReport:
    """Verify the dataset at ``path``.

    Parameters
    ----------
    path : str or Path
        Dataset folder.
    regenerate : int or None
        Runs to simulate again and compare byte for byte (0: none; None: all).
    seed : int
        Seed of the choice of the runs to regenerate.
    progress : bool
        tqdm progress bars (on stderr) over bytes hashed, runs checked and runs regenerated.

    Raises
    ------
    FileNotFoundError, ValueError
        ``path`` is not a twinforge dataset (no folder, a file, no twinforge manifest).
    """
    from twinforge.export.parquet import ManifestError, read_manifest

    root = Path(path)
    rep = VerifyReport(root)
    try:
        manifest = read_manifest(root)
    except ManifestError as exc:  # ours, but damaged: a finding, not a usage error
        rep.problems.append(str(exc))
        return rep
    entries = sorted(manifest["runs"], key=lambda e: (e["twin"], e["run_id"]))
    if not manifest.get("finalized", False):
        rep.problems.append("the dataset was never finalized (interrupted? finish it with --resume)")
    present = _check_files(root, manifest, entries, rep, progress)
    import twinforge.twins  # noqa: F401  (registers the twins and their invariants)

    events_by_run = _check_runs(root, [e for e in entries if present[(e["twin"], e["run_id"])]], rep, progress)
    if all(present.values()):
        _check_merged(root, manifest, entries, events_by_run, rep)
        _check_plans(root, manifest, entries, rep)
    else:
        rep.notes.append("merged tables and plans not checked: files are missing")
    if regenerate != 0 and entries and manifest.get("dataset") and all(present.values()):
        _regenerate(root, manifest, entries, regenerate, seed, rep, progress)
    return rep


# -- 2. files ------------------------------------------------------------------------------


def _bar(progress: bool, **kw: Any) -> Any:
    from twinforge.progress import bar

    return bar(progress, leave=False, dynamic_ncols=True, **kw)


def _check_files(
    root: Path, manifest: dict[str, Any], entries: list[dict[str, Any]], rep: VerifyReport, progress: bool
) -> dict[tuple[str, int], bool]:
    """Every listed file against its recorded size and SHA-256; stray files. Returns, per
    run, whether all its files are present."""
    from twinforge.export.parquet import (
        EVENTS_NAME, JOURNAL, MANIFEST, RUNS_NAME, SAMPLES_DIR, SHARDS_DIR, file_digest,
    )

    tables = manifest.get("tables") or {}
    with_sums = [e for e in entries if e.get("sha256")]
    if entries and not with_sums:
        rep.notes.append(
            "no checksums in the manifest (written by an older twinforge): file contents are checked "
            "by the run invariants only; use --regenerate for a byte-for-byte check"
        )
    elif len(with_sums) < len(entries):
        rep.notes.append(f"{len(entries) - len(with_sums)} run(s) have no recorded checksums")
    todo: list[tuple[str, str, int | None, str | None]] = []  # (file, where, size, sha256)
    for e in entries:
        where = f"run {e['twin']}/{e['run_id']}"
        for f in e["files"]:
            todo.append((f, where, (e.get("size") or {}).get(f), (e.get("sha256") or {}).get(f)))
    merged = (EVENTS_NAME, RUNS_NAME)
    if manifest.get("finalized"):
        for name in merged:
            info = tables.get(name) or {}
            todo.append((name, "merged table", info.get("size"), info.get("sha256")))
        if entries and not tables:
            rep.notes.append("no checksums of events.parquet and runs.parquet (older twinforge)")
    present: dict[tuple[str, int], bool] = {(e["twin"], e["run_id"]): True for e in entries}
    sizes = {}
    for f, _, _, _ in todo:
        try:
            st = os.stat(root / f)
            sizes[f] = st.st_size if (st.st_mode & 0o170000) == 0o100000 else None
        except OSError:
            sizes[f] = None
    total = sum(n for n in sizes.values() if n is not None)
    owner = {f: (e["twin"], e["run_id"]) for e in entries for f in e["files"]}
    with _bar(progress, total=total, unit="B", unit_scale=True, desc="checksums") as bar:
        for f, where, size, sha in todo:
            if sizes[f] is None:
                rep.problems.append(f"{where}: listed file {f} is missing (or not a regular file)")
                if f in owner:
                    present[owner[f]] = False
                continue
            rep.checked_files += 1
            if size is not None and sizes[f] != size:
                rep.problems.append(
                    f"{where}: {f} has {sizes[f]:,} bytes, {size:,} when written (truncated or replaced)"
                )
                bar.update(sizes[f])
                continue
            if sha is not None:
                try:
                    digest, n = file_digest(root / f)
                except OSError as exc:
                    rep.problems.append(f"{where}: cannot read {f} ({exc.strerror or exc})")
                    continue
                rep.checked_bytes += n
                if digest != sha:
                    rep.problems.append(
                        f"{where}: {f} differs from the file written (SHA-256 {digest[:12]}..., "
                        f"recorded {sha[:12]}...): changed or damaged"
                    )
            bar.update(sizes[f])
    # stray files in the dataset's own folders
    listed = set(owner) | {MANIFEST, *merged}
    folders = {SAMPLES_DIR, SHARDS_DIR} | {f.split("/", 1)[0] for f in owner}
    for top in sorted(folders):
        base = root / top
        if not base.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            for name in sorted(filenames):
                rel = (Path(dirpath) / name).relative_to(root).as_posix()
                if rel not in listed and rel != f"{SHARDS_DIR}/.lock":
                    rep.problems.append(f"stray file {rel}: not in the manifest (left by a crash, or put there)")
    for p in sorted(root.glob(".*.tmp")):
        rep.problems.append(f"stray file {p.name}: a temporary file of an interrupted write")
    if manifest.get("finalized") and (root / JOURNAL).is_file():  # its runs are all in the manifest
        rep.notes.append(f"{JOURNAL} left by an interrupted finalize (ignored: it extends an older "
                         f"{MANIFEST}); --resume removes it")
    return present


# -- 3. runs -------------------------------------------------------------------------------


def _one_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _check_runs(
    root: Path, entries: list[dict[str, Any]], rep: VerifyReport, progress: bool
) -> dict[tuple[str, int], Any]:
    """Each run's samples, events and run record on their own; returns each run's events."""
    events_by_run: dict[tuple[str, int], Any] = {}
    with _bar(progress, total=len(entries), unit="run", desc="runs") as bar:
        for e in entries:
            where = f"run {e['twin']}/{e['run_id']}"
            try:
                events = _check_events(root, e, where, rep)
                events_by_run[(e["twin"], e["run_id"])] = events
                _check_record(root, e, where, rep)
                _check_samples(root, e, where, events, rep)
                _check_extra_tables(root, e, where, rep)
            except Exception as exc:  # noqa: BLE001 - a damaged file: one line, never a traceback
                rep.problems.append(f"{where}: cannot read its files ({_one_line(exc)})")
            rep.checked_runs += 1
            bar.update(1)
    return events_by_run


def _read(path: Path, where: str, rep: VerifyReport, **kw: Any) -> Any:
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path, **kw)
    except Exception as exc:  # noqa: BLE001 - a flipped footer or page
        rep.problems.append(f"{where}: {path.name} is not readable Parquet ({_one_line(exc)})")
        return None


def _check_events(root: Path, e: dict[str, Any], where: str, rep: VerifyReport) -> Any:
    table = _read(root / e["files"][1], where, rep)
    if table is None:
        return None
    ev = table.to_pandas()
    if len(ev) and not ((ev.run_id == e["run_id"]) & (ev.twin == e["twin"])).all():
        rep.problems.append(f"{where}: its events shard holds events of another run")
    bad = ev[ev.end < ev.start]
    if len(bad):
        r = bad.iloc[0]
        rep.problems.append(
            f"{where}: event {r.event_id} ({r.type}) ends at {r.end} before it starts at {r.start}"
        )
    if ev.event_id.duplicated().any():
        rep.problems.append(f"{where}: event ids repeat in its events shard")
    return ev


def _check_record(root: Path, e: dict[str, Any], where: str, rep: VerifyReport) -> None:
    table = _read(root / e["files"][2], where, rep)
    if table is None:
        return
    rec = table.to_pylist()
    if len(rec) != 1:
        rep.problems.append(f"{where}: its run record has {len(rec)} rows, not 1")
        return
    r = rec[0]
    if (r.get("twin"), r.get("run_id")) != (e["twin"], e["run_id"]):
        rep.problems.append(f"{where}: its run record is of run {r.get('twin')}/{r.get('run_id')}")
    w = r.get("weight")
    if not isinstance(w, float) or not math.isfinite(w) or w <= 0:
        rep.problems.append(f"{where}: weight {w!r}; allowed: a finite number > 0")
    elif isinstance(r.get("log_weight"), float) and not math.isclose(w, math.exp(r["log_weight"]), rel_tol=1e-9):
        rep.problems.append(f"{where}: weight {w!r} is not exp(log_weight) = {math.exp(r['log_weight'])!r}")
    if e.get("config_hash") is not None and r.get("config_hash") not in (None, e["config_hash"]):
        rep.problems.append(f"{where}: its run record has config_hash {r.get('config_hash')}, the manifest {e['config_hash']}")


def _check_samples(root: Path, e: dict[str, Any], where: str, events: Any, rep: VerifyReport) -> None:
    import pyarrow.parquet as pq

    from twinforge.core.registry import TWINS
    from twinforge.export.parquet import METADATA_KEY

    path = root / e["files"][0]
    try:
        pf = pq.ParquetFile(path)
        raw = (pf.schema_arrow.metadata or {}).get(METADATA_KEY)
    except Exception as exc:  # noqa: BLE001
        rep.problems.append(f"{where}: {e['files'][0]} is not readable Parquet ({_one_line(exc)})")
        return
    if raw is None:
        rep.problems.append(f"{where}: no twinforge metadata in {e['files'][0]}")
        return
    meta = json.loads(raw)
    if (meta.get("twin"), meta.get("run_id")) != (e["twin"], e["run_id"]):
        rep.problems.append(
            f"{where}: {e['files'][0]} holds run {meta.get('twin')}/{meta.get('run_id')} (files swapped?)"
        )
    cols = meta.get("columns", {})
    names = set(pf.schema_arrow.names)
    for name, info in cols.items():
        if name not in names:
            rep.problems.append(f"{where}: declared column {name} missing from the file")
        if "unit" not in info:
            rep.problems.append(f"{where}: column {name} has no unit")
    if pf.metadata.num_rows != e["rows"]:
        rep.problems.append(f"{where}: {pf.metadata.num_rows} rows, the manifest says {e['rows']}")
    table = _read(path, where, rep)
    if table is None:
        return
    df = table.to_pandas()
    t = df["time"].astype("int64").to_numpy()
    step = float(meta.get("period_s", 0)) * 1e9
    if len(t) > 1 and (np.diff(t) <= 0).any():
        rep.problems.append(f"{where}: time not strictly increasing")
    elif len(t) > 1 and step > 0 and not np.allclose(np.diff(t), step, rtol=0, atol=1e3):
        rep.problems.append(f"{where}: samples not on the declared period of {meta['period_s']} s")
    if e["twin"] in TWINS:  # the twin's own physical invariants (Twin.invariants)
        rep.problems += [f"{where}: {b}" for b in TWINS.get(e["twin"]).invariants(df)]
    rep.problems += [f"{where}: {b}" for b in _label_invariants(df, cols)]
    if "event_id" in df and events is not None:
        ids = set(df.loc[df.event_id >= 0, "event_id"].unique().tolist())
        unknown = sorted(ids - set(events.event_id.tolist()))
        if unknown:
            rep.problems.append(f"{where}: labels point at events {unknown[:5]} not in its events")


def _label_invariants(df: Any, cols: dict[str, Any]) -> list[str]:
    """What the label columns of one run violate: labels are ground truth, never missing."""
    bad = []
    for name, info in cols.items():
        if info.get("kind") != "label" or name not in df or name in _NAN_LABELS:
            continue
        col = df[name]
        if col.dtype.kind == "f" and col.isna().any():
            bad.append(f"label {name} has NaN in {int(col.isna().sum())} row(s)")
    if "health" in df and df.health.dtype.kind == "f" and df.health.notna().all():
        h = df.health.to_numpy()
        if not ((h >= 0) & (h <= 1)).all():
            bad.append("health outside [0, 1]")
        elif (np.diff(h) > 1e-12).any():
            bad.append("health increases (it can only fall)")
    if "rul_s" in df and df.rul_s.dtype.kind == "f" and df.rul_s.notna().all():
        r = df.rul_s.to_numpy()
        if (r < 0).any():
            bad.append("rul_s negative")
        elif (np.diff(r[np.isfinite(r)]) > 1e-6).any():
            bad.append("rul_s increases (it can only fall)")
    return bad


def _check_extra_tables(root: Path, e: dict[str, Any], where: str, rep: VerifyReport) -> None:
    """Extra tables (raw snapshots): readable footers naming this run (their bytes are the
    checksums' job; they can be large)."""
    import pyarrow.parquet as pq

    from twinforge.export.parquet import METADATA_KEY

    for f in e["files"][3:]:
        try:
            pf = pq.ParquetFile(root / f)
            meta = json.loads((pf.schema_arrow.metadata or {}).get(METADATA_KEY, b"{}"))
        except Exception as exc:  # noqa: BLE001
            rep.problems.append(f"{where}: {f} is not readable Parquet ({_one_line(exc)})")
            continue
        if (meta.get("twin"), meta.get("run_id")) != (e["twin"], e["run_id"]):
            rep.problems.append(f"{where}: {f} holds run {meta.get('twin')}/{meta.get('run_id')} (files swapped?)")


# -- 4. merged tables ----------------------------------------------------------------------


def _check_merged(
    root: Path, manifest: dict[str, Any], entries: list[dict[str, Any]], events_by_run: dict, rep: VerifyReport
) -> None:
    """``events.parquet`` and ``runs.parquet`` against the merge of the runs' shards; the
    events are compared run by run, so that the check holds one run's events in memory."""
    import pyarrow.parquet as pq

    from twinforge.export.parquet import EVENTS_NAME, RUNS_NAME, merged_events, merged_runs

    if not manifest.get("finalized"):
        return
    try:
        schema, rows, tables = merged_events(root, entries)
        runs = merged_runs(root, entries)
    except Exception as exc:  # noqa: BLE001 - a damaged shard (already reported)
        rep.notes.append(f"merged tables not compared with the shards ({_one_line(exc)})")
        return
    for name in (EVENTS_NAME, RUNS_NAME):
        try:
            got = pq.ParquetFile(root / name)
        except Exception as exc:  # noqa: BLE001
            rep.problems.append(f"{name} is not readable Parquet ({_one_line(exc)})")
            continue
        want_rows = rows if name == EVENTS_NAME else runs.num_rows
        if got.metadata.num_rows != want_rows:
            rep.problems.append(
                f"{name} has {got.metadata.num_rows} rows, the runs' shards {want_rows}: it does not match them"
            )
            continue
        want_schema = schema if name == EVENTS_NAME else runs.schema
        if got.schema_arrow.remove_metadata() != want_schema:
            rep.problems.append(f"{name} differs from the merge of the runs' shards (columns or types differ)")
            continue
        try:
            diff = _stream_difference(got, tables if name == EVENTS_NAME else iter([runs]))
        except Exception as exc:  # noqa: BLE001 - unreadable pages
            rep.problems.append(f"{name} is not readable Parquet ({_one_line(exc)})")
            continue
        if diff is not None:
            rep.problems.append(f"{name} differs from the merge of the runs' shards{diff}")


def _stream_difference(got: Any, wants: Any) -> str | None:
    """The first difference between the Parquet file ``got`` and the tables ``wants`` in
    turn (``None``: none), reading the file in batches beside them."""
    import pyarrow as pa

    batches = got.iter_batches(batch_size=1 << 16)
    held: list[Any] = []
    n_held = offset = 0
    for want in wants:
        while n_held < want.num_rows:
            b = next(batches)
            held.append(b)
            n_held += b.num_rows
        both = pa.Table.from_batches(held, schema=got.schema_arrow).replace_schema_metadata(None)
        part, rest = both.slice(0, want.num_rows), both.slice(want.num_rows)
        if not part.equals(want):
            return _first_difference(part, want, offset)
        held, n_held, offset = rest.to_batches(), rest.num_rows, offset + want.num_rows
    return None


def _first_difference(got: Any, want: Any, offset: int = 0) -> str:
    if got.schema != want.schema:
        return " (columns or types differ)"
    for name in got.column_names:
        a, b = got.column(name), want.column(name)
        if not a.equals(b):
            ga, wb = a.to_pylist(), b.to_pylist()
            for i, (x, y) in enumerate(zip(ga, wb)):
                if x != y and not (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y)):
                    return f" (first: column {name}, row {offset + i}: {x!r}, the shard says {y!r})"
    return ""


# -- 5. plans ------------------------------------------------------------------------------


def _recorded_scenario(manifest: dict[str, Any]) -> tuple[Any, Any, int] | None:
    """``(spec, campaign or None, seed)`` recorded in the manifest, or None."""
    from twinforge.campaign.campaign import CampaignSpec
    from twinforge.campaign.spec import GenerateSpec

    dataset = manifest.get("dataset") or {}
    if dataset.get("scenario") is None or dataset.get("seed") is None:
        return None
    campaign = CampaignSpec.from_json_dict(dataset["campaign"]) if dataset.get("campaign") else None
    spec = campaign.scenario if campaign is not None else GenerateSpec.from_data(dataset["scenario"])
    return spec, campaign, int(dataset["seed"])


def _plans(spec: Any, campaign: Any, seed: int, run_ids: list[int]) -> Iterator[Any]:
    from twinforge.campaign.campaign import iter_campaign_plans
    from twinforge.campaign.runner import plan_run

    if campaign is not None:
        yield from iter_campaign_plans(campaign, seed, run_ids)
    else:
        for i in run_ids:
            yield plan_run(spec, seed, i)


def _check_plans(root: Path, manifest: dict[str, Any], entries: list[dict[str, Any]], rep: VerifyReport) -> None:
    """Weights, strata, pairs and parameters of ``runs.parquet`` against the plans."""
    import pyarrow.parquet as pq

    from twinforge.export.parquet import RUNS_NAME

    try:
        recorded = _recorded_scenario(manifest)
    except Exception as exc:  # noqa: BLE001 - a scenario this version cannot read
        rep.notes.append(f"plans not checked: the recorded scenario does not load ({_one_line(exc)})")
        return
    if recorded is None:
        rep.notes.append("plans not checked: the manifest records no scenario and seed")
        return
    spec, campaign, seed = recorded
    mine = [e for e in entries if e["twin"] == spec.twin]
    try:
        rows = {
            r["run_id"]: r for r in pq.read_table(root / RUNS_NAME).to_pylist() if r.get("twin") == spec.twin
        } if manifest.get("finalized") else {}
    except Exception:  # noqa: BLE001 - reported by the merged-table check
        return
    if not rows:
        return
    ids = [e["run_id"] for e in mine if e["run_id"] < spec.runs]
    for e in mine:
        if e["run_id"] >= spec.runs:
            rep.problems.append(f"run {e['twin']}/{e['run_id']}: the scenario has only {spec.runs} runs")
    for plan in _plans(spec, campaign, seed, ids):
        row = rows.get(plan.run_id)
        where = f"run {spec.twin}/{plan.run_id}"
        if row is None:
            continue
        want = {
            "seed": seed, "weight": plan.weight, "stratum": plan.stratum, "log_weight": plan.log_weight,
            "pair_id": plan.stream_id, "counterfactual": plan.counterfactual,
        }
        want.update(plan.config.flat())
        for key, value in want.items():
            if key in row and not _same(row[key], value):
                rep.problems.append(
                    f"{where}: runs.parquet has {key} = {row[key]!r}, planned {value!r} from the recorded "
                    "scenario and seed"
                )
                break


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, (int, float)) and not isinstance(b, bool):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0)
    return a == b


# -- 6. regeneration -----------------------------------------------------------------------


def _regenerate(
    root: Path, manifest: dict, entries: list, n: int | None, seed: int, rep: VerifyReport, progress: bool
) -> None:
    """Simulate ``n`` runs (all if None) again from the recorded scenario and seed."""
    from twinforge.campaign.runner import write_run
    from twinforge.export import DatasetWriter

    try:
        recorded = _recorded_scenario(manifest)
    except Exception as exc:  # noqa: BLE001
        rep.problems.append(f"runs cannot be regenerated: the recorded scenario does not load ({_one_line(exc)})")
        return
    if recorded is None:
        rep.problems.append("manifest has no scenario and seed: runs cannot be regenerated")
        return
    spec, campaign, root_seed = recorded
    chash = manifest["dataset"].get("config_hash", "")
    mine = [e for e in entries if e["twin"] == spec.twin and e["run_id"] < spec.runs]
    k = len(mine) if n is None else min(n, len(mine))
    pick = sorted(np.random.default_rng(seed).choice(len(mine), size=k, replace=False).tolist())
    chosen = [mine[i] for i in pick]
    with tempfile.TemporaryDirectory() as tmp, _bar(progress, total=len(chosen), unit="run", desc="regenerate") as bar:
        again = Path(tmp) / "again"
        writer = DatasetWriter(again)
        for e, plan in zip(chosen, _plans(spec, campaign, root_seed, [e["run_id"] for e in chosen])):
            write_run(writer, spec, plan, seed=root_seed, chash=chash)
            for f in e["files"]:
                if not filecmp.cmp(root / f, again / f, shallow=False):
                    rep.problems.append(f"run {e['twin']}/{e['run_id']}: regenerated {f} differs from the stored one")
            rep.regenerated.append(e["run_id"])
            for f in e["files"]:  # keep the temporary folder small
                (again / f).unlink()
            bar.update(1)
