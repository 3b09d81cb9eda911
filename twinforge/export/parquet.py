"""The streaming, crash-safe Parquet dataset writer.

A dataset is a folder of tables; each table is a path every Parquet reader opens as it is::

    <root>/
      samples/<twin>/run-<n>.parquet         one file per run (n zero-padded to 6 digits)
      events.parquet                         every event of every run (merged)
      runs.parquet                           one row per run: seed, weight, parameters
      manifest.json                          the completed runs (written atomically)
      manifest.journal                       runs committed since manifest.json was written
                                             (appended; folded into it, and removed, by finalize)
      <table>/<twin>/run-<n>.parquet         extra per-run tables (the machine's snapshots)
      _runs/<twin>/run-<n>/events.parquet    per-run shards, the source of the merges
      _runs/<twin>/run-<n>/run.parquet       ('_' folders are skipped by discovery)

Every samples and extra-table file holds its own ``twin`` (string) and ``run_id`` (int64)
columns, and no folder name is a ``key=value`` partition: pandas, pyarrow, polars, DuckDB
and Dask all read the same types from the files, with no partition inference. (Datasets
of format 1 used ``twin=<twin>/run_id=<n>/part-0.parquet`` folders; they are still read.)

A run streams its samples block by block, one row group per block, into a hidden temporary
file (``.run-<n>.parquet.tmp``, skipped by dataset discovery); :meth:`RunWriter.commit`
syncs it, writes the run's shards, renames the file into place and only then records the
run: one line appended to ``manifest.journal`` (synced; the journal's first line names
the ``manifest.json`` it extends), which is folded into ``manifest.json`` (rewritten
atomically, then the journal removed) only once it has grown past a fixed fraction of the
manifest, and always by :meth:`DatasetWriter.finalize`: a commit's cost does not grow with
the runs already written. Every reader sees the manifest and its journal together
(:func:`read_manifest`). A run that fails or is interrupted leaves no file that looks
complete, so ``mode="resume"`` redoes exactly the runs missing from the manifest.

No wall-clock time, host name or user name is written anywhere: the same inputs give
byte-identical files, and :meth:`DatasetWriter.finalize` sorts the merged tables by
``(twin, run_id, ...)`` so that they do not depend on the order in which runs finished.

>>> import numpy as np, pandas as pd
>>> from twinforge.core.schema import ChannelSpec
>>> w = DatasetWriter(tmp / "data")                                   # doctest: +SKIP
>>> ch = [ChannelSpec("power_w", "W", "interval", "float64", "power")]
>>> meta = {"period_s": 60.0, "seed": 7, "config_hash": "abc", "start": "2024-01-01T00:00:00Z"}
>>> with w.open_run("home", 0, ch, meta) as run:                      # doctest: +SKIP
...     run.write({"time": times, "power_w": power})
...     run.commit(events, {"run_id": 0, "twin": "home", "seed": 7, "weight": 1.0})
>>> w.finalize({"scenario": "..."})                                    # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import errno as errno_mod
import hashlib
import json
import math
import operator
import os
import re
import stat as stat_mod
import zlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pydantic import BaseModel, ConfigDict, Field

from twinforge.core.schema import ChannelSpec, canonical_json

__all__ = [
    "EVENTS_SCHEMA",
    "DatasetConflictError",
    "ManifestError",
    "NotADatasetError",
    "FORMAT",
    "FORMAT_VERSION",
    "METADATA_KEY",
    "DatasetWriter",
    "RunWriter",
    "arrow_type",
    "concat_events",
    "run_file",
    "shard_dir",
]

#: ``format`` field of ``manifest.json``; its presence marks a twinforge dataset.
FORMAT = "twinforge-dataset"
#: 2: ``twin``/``run_id`` columns inside the files, no ``key=value`` folders, ``events_active``
#: labels, ``severity_unit`` and a struct ``params`` in the events (1: hive folders, JSON params).
FORMAT_VERSION = 2
#: Parquet key-value metadata key of every file twinforge writes.
METADATA_KEY = b"twinforge"
MANIFEST = "manifest.json"
#: The runs committed since ``manifest.json`` was last written, one line each (see
#: :func:`_journal_line`); a finalized dataset has none.
JOURNAL = "manifest.journal"
#: ``format`` of the journal's first line, which names the ``manifest.json`` it extends.
JOURNAL_FORMAT = "twinforge-journal"
SAMPLES_DIR = "samples"
SHARDS_DIR = "_runs"
#: The file name of a run in the folders of format 1 (``twin=<twin>/run_id=<n>/``).
PART_NAME_V1 = "part-0.parquet"
EVENTS_NAME = "events.parquet"
RUNS_NAME = "runs.parquet"
SHARD_RUN_NAME = "run.parquet"


def run_file(table: str, twin: str, run_id: int, version: int = FORMAT_VERSION) -> str:
    """Path of run ``run_id``'s file of ``table`` (``"samples"`` or an extra table such as
    ``"snapshots"``), relative to the dataset folder: ``<table>/<twin>/run-<n>.parquet``.
    With these, :func:`shard_dir` and the patterns below, the one place the run layout is
    spelled (``version=1``: the layout of format 1)."""
    if version < 2:
        return f"{table}/twin={twin}/run_id={int(run_id)}/{PART_NAME_V1}"
    return f"{table}/{twin}/run-{int(run_id):06d}.parquet"


def shard_dir(twin: str, run_id: int, version: int = FORMAT_VERSION) -> str:
    """Folder of run ``run_id``'s events and run shards, relative to the dataset folder."""
    if version < 2:
        return f"{SHARDS_DIR}/twin={twin}/run_id={int(run_id)}"
    return f"{SHARDS_DIR}/{twin}/run-{int(run_id):06d}"


#: A twin's folder under ``samples/``, ``_runs/`` and every extra table (format 1: ``twin=<twin>``).
TWIN_DIR_RE = re.compile(r"^(twin=)?[A-Za-z0-9][A-Za-z0-9_.-]*$")
#: A run's file in a twin's folder of a samples-like table, or its temporary file.
RUN_FILE_RE = re.compile(r"^\.?run-[0-9]{6,}\.parquet(\.tmp)?$")
#: A run's folder: under ``_runs/<twin>/`` (``run-<n>``), or in any table of format 1 (``run_id=<n>``).
RUN_DIR_RE = re.compile(r"^(run-[0-9]{6,}|run_id=(0|[1-9][0-9]*))$")

#: Largest ``manifest.json`` read [bytes] (about 1 kB per run: room for millions of runs).
MAX_MANIFEST_BYTES = 4 << 30
#: A commit folds the journal into ``manifest.json`` once the journal is larger than this
#: [bytes] and than :data:`JOURNAL_RATIO` times the manifest: the manifest is rewritten
#: every time the runs written grow by a fixed fraction (geometric), so the bytes written
#: per commit, amortised, do not grow with the runs already written (its line, and
#: ``(1 + JOURNAL_RATIO) / JOURNAL_RATIO`` entries' worth of folds: 4 entries in all), and
#: a reader reads at most ``1 + JOURNAL_RATIO`` times the manifest.
JOURNAL_MIN_BYTES = 1 << 20
JOURNAL_RATIO = 0.5
#: Schema of ``events.parquet`` (and of each run's events shard). ``params`` is a struct
#: whose fields are the union of the events' parameter names (a field is null where an
#: event does not have it); the empty struct here stands for "no parameter yet" (a table
#: whose events have no parameter at all stores ``params`` as a null column).
EVENTS_SCHEMA = pa.schema(
    [
        ("event_id", pa.int64()),
        ("run_id", pa.int64()),
        ("twin", pa.string()),
        ("category", pa.string()),
        ("type", pa.string()),
        ("start", pa.timestamp("ns", tz="UTC")),
        ("end", pa.timestamp("ns", tz="UTC")),
        ("severity", pa.float64()),
        ("severity_unit", pa.string()),
        ("params", pa.struct([])),
    ]
)
#: Columns that identify a run in every samples and extra-table file (first, in this order).
ID_FIELDS = (pa.field("twin", pa.string(), nullable=False), pa.field("run_id", pa.int64(), nullable=False))

#: Metadata keys a run must provide (``twin``, ``run_id``, ``columns`` are filled in).
REQUIRED_METADATA = ("period_s", "seed", "config_hash")

_WRITE_OPTIONS: dict[str, Any] = {"compression": "zstd", "write_statistics": True}
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_COLUMN_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_STRING_DTYPES = {"str", "string", "object", "unicode", "U"}
_LIST_DTYPES = {"list<str>": pa.list_(pa.string())}
_ARROW_TYPES = {
    "float64": pa.float64(),
    "float32": pa.float32(),
    "int64": pa.int64(),
    "int32": pa.int32(),
    "int16": pa.int16(),
    "int8": pa.int8(),
    "uint64": pa.uint64(),
    "uint32": pa.uint32(),
    "uint16": pa.uint16(),
    "uint8": pa.uint8(),
    "bool": pa.bool_(),
}


def arrow_type(dtype: str) -> pa.DataType:
    """Arrow type of a :attr:`ChannelSpec.dtype` (``"float64"``, ``"int16"``, ``"str"``,
    ``"list<str>"``...)."""
    if dtype in _STRING_DTYPES:
        return pa.string()
    if dtype in _LIST_DTYPES:
        return _LIST_DTYPES[dtype]
    try:
        return _ARROW_TYPES[str(np.dtype(dtype))]
    except (TypeError, KeyError):
        raise ValueError(
            f"unsupported channel dtype {dtype!r}; use one of {sorted(_ARROW_TYPES)}, 'str' or 'list<str>'"
        ) from None


# -- disk helpers ------------------------------------------------------------------------

_HINTS = {
    errno_mod.ENOSPC: "free some disk space or choose another output folder",
    errno_mod.EDQUOT: "disk quota exceeded; free some space or choose another output folder",
    errno_mod.EACCES: "check the folder's permissions or choose another output folder",
    errno_mod.EPERM: "check the folder's permissions or choose another output folder",
    errno_mod.EROFS: "the file system is read-only; choose another output folder",
}


def _errno_of(exc: OSError) -> int | None:
    if exc.errno is not None:
        return exc.errno
    m = re.search(r"errno (\d+)", str(exc), re.IGNORECASE)  # pyarrow's native I/O errors
    return int(m.group(1)) if m else None


@contextlib.contextmanager
def _disk(action: str, path: Path) -> Iterator[None]:
    """Re-raise any OSError (Python's or pyarrow's) as one naming ``path`` and a remedy."""
    try:
        yield
    except OSError as exc:
        if getattr(exc, "_twinforge", False):
            raise
        code = _errno_of(exc)
        reason = os.strerror(code) if code is not None else str(exc)
        hint = _HINTS.get(code, "") if code is not None else ""
        msg = f"cannot {action} {path}: {reason}" + (f" ({hint})" if hint else "")
        err = OSError(code, msg) if code is not None else OSError(msg)
        err._twinforge = True  # type: ignore[attr-defined]
        raise err from exc


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":  # directories cannot be opened for fsync on Windows
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a synced temporary file and ``os.replace``."""
    tmp = path.with_name(f".{path.name}.tmp")
    with _disk("write", path):
        try:
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            _unlink_quietly(tmp)
            raise
        _fsync_dir(path.parent)


def file_digest(path: Path) -> tuple[str, int]:
    """``(SHA-256 hex digest, size in bytes)`` of the file at ``path`` (read in blocks)."""
    with open(path, "rb") as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()
        return digest, f.tell()


def _atomic_write_table(
    path: Path, table: pa.Table, *, only_if_changed: bool = False
) -> tuple[str, int]:
    """Write ``table`` as Parquet to ``path`` through a synced temporary file.

    Returns the ``(sha256, size)`` of the file now at ``path``.
    """
    return _atomic_parquet(path, lambda tmp: pq.write_table(table, tmp, **_small_table_options(table)),
                           only_if_changed=only_if_changed)


def _atomic_write_stream(
    path: Path, schema: pa.Schema, rows: int, tables: Iterator[pa.Table], *, only_if_changed: bool = False
) -> tuple[str, int]:
    """Write the ``rows`` rows of ``tables`` (each of ``schema``) as one Parquet file at
    ``path`` through a synced temporary file, holding at most one row group in memory.

    Row groups are cut every :data:`MERGED_ROW_GROUP_ROWS` rows whatever the tables' sizes
    (a file of fewer rows is one row group, as :func:`_atomic_write_table` writes it).
    Returns the ``(sha256, size)`` of the file now at ``path``.
    """
    group = max(min(rows, MERGED_ROW_GROUP_ROWS), 1)
    options = _small_table_options(schema.empty_table())
    del options["row_group_size"]  # given to each write below

    def write(tmp: Path) -> None:
        with pq.ParquetWriter(tmp, schema, **options) as writer:
            pending: list[pa.Table] = []
            held = written = 0

            def flush(n: int) -> None:
                nonlocal pending, held, written
                both = pa.concat_tables(pending).combine_chunks()
                writer.write_table(both.slice(0, n), row_group_size=group)
                rest = both.slice(n)
                pending, held, written = ([rest] if rest.num_rows else []), rest.num_rows, written + n

            for t in tables:
                pending.append(t)
                held += t.num_rows
                while held >= group:
                    flush(group)
            if held:
                flush(held)
            elif not written:  # no event at all: one empty row group, as write_table
                writer.write_table(schema.empty_table(), row_group_size=1)
        if written != rows:
            raise RuntimeError(f"{path.name}: wrote {written} rows, the shards' footers say {rows}")

    return _atomic_parquet(path, write, only_if_changed=only_if_changed)


def _atomic_parquet(path: Path, write: Any, *, only_if_changed: bool) -> tuple[str, int]:
    """``write(tmp)`` a file beside ``path``, then sync it and move it over ``path`` (left
    untouched, mtime included, when ``only_if_changed`` and the bytes are the same); nothing
    is left behind on failure. Returns the ``(sha256, size)`` of the file now at ``path``."""
    tmp = path.with_name(f".{path.name}.tmp")
    with _disk("write", path):
        try:
            write(tmp)
            if only_if_changed and path.exists() and _same_bytes(tmp, path):
                tmp.unlink()  # leave the file (and its mtime) alone
                return file_digest(path)
            _fsync_file(tmp)
            digest = file_digest(tmp)
            os.replace(tmp, path)
        except BaseException:
            _unlink_quietly(tmp)
            raise
        _fsync_dir(path.parent)
    return digest


def _same_bytes(a: Path, b: Path) -> bool:
    """Whether the files hold the same bytes (compared in blocks, not read whole)."""
    if a.stat().st_size != b.stat().st_size:
        return False
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            block = fa.read(1 << 20)
            if block != fb.read(1 << 20):
                return False
            if not block:
                return True


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _with_metadata(schema: pa.Schema, meta: Mapping[str, Any]) -> pa.Schema:
    return schema.with_metadata({METADATA_KEY: canonical_json(dict(meta)).encode("utf-8")})


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """An exclusive inter-process lock (POSIX ``flock``; a no-op elsewhere)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with _disk("lock", lock_path):
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


# -- manifest ----------------------------------------------------------------------------


class ManifestError(ValueError):
    """A ``manifest.json`` that is twinforge's but damaged; the message is one line naming the field."""


class NotADatasetError(ValueError):
    """A folder or ``manifest.json`` that is not a twinforge dataset this version can read."""


class DatasetConflictError(FileExistsError):
    """The output folder holds something this write must not replace or extend."""


class _RunEntry(BaseModel):
    """One completed run in ``manifest.json`` (validated strictly: no bool for an int)."""

    model_config = ConfigDict(extra="allow", strict=True)

    twin: str = Field(pattern=_NAME_RE.pattern, description="twin name")
    run_id: int = Field(ge=0, description="run number")
    rows: int = Field(ge=0, description="rows of the samples file")
    config_hash: str | None = None
    files: list[str] = Field(min_length=3, description="samples file, events shard, run shard, extra tables")
    sha256: dict[str, str] | None = Field(None, description="file -> SHA-256 (hex) at write time")
    size: dict[str, int] | None = Field(None, description="file -> bytes at write time")


class _FileSum(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)


class _Manifest(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    format: str
    format_version: int = Field(ge=1, le=FORMAT_VERSION)
    finalized: bool = False
    dataset: dict[str, Any] | None = None
    runs: list[_RunEntry] = []
    tables: dict[str, _FileSum] | None = Field(None, description="merged tables -> checksum at finalize")


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def expected_files(
    twin: str, run_id: int, tables: Sequence[str] = (), version: int = FORMAT_VERSION
) -> list[str]:
    """The ``files`` of run ``run_id`` of ``twin`` in the manifest (extra ``tables`` by name)."""
    shards = shard_dir(twin, run_id, version)
    return [
        run_file(SAMPLES_DIR, twin, run_id, version),
        f"{shards}/{EVENTS_NAME}",
        f"{shards}/{SHARD_RUN_NAME}",
        *(run_file(t, twin, run_id, version) for t in tables),
    ]


def _check_entry(entry: dict[str, Any], where: str, version: int = FORMAT_VERSION) -> str | None:
    """Why the file list of the run entry at ``where`` (``runs[3]``, ``line 3: run``) is not
    the layout twinforge writes (or None)."""
    files = entry["files"]
    tables = [f.split("/", 1)[0] for f in files[3:]]
    for t in tables:
        if not _NAME_RE.match(t) or t in _RESERVED_TABLES:
            return f"{where}.files: {t!r} is not a table folder name"
    want = expected_files(entry["twin"], entry["run_id"], tables, version)
    for j, (got, exp) in enumerate(zip(files, want)):
        if got != exp:
            return f"{where}.files[{j}]: {got!r} is not this run's file; expected {exp!r}"
    if len(set(tables)) != len(tables):
        return f"{where}.files: a table is listed twice"
    for name in ("sha256", "size"):
        sums = entry.get(name)
        if sums is not None and set(sums) != set(files):
            return f"{where}.{name}: must have one value per file of the run"
    if entry.get("sha256") and not all(_HEX64.match(v) for v in entry["sha256"].values()):
        return f"{where}.sha256: values must be 64 hex digits"
    if entry.get("size") and any(v < 0 for v in entry["size"].values()):
        return f"{where}.size: values must be >= 0"
    return None


_HEX64 = re.compile(r"^[0-9a-f]{64}$")
#: ``(twin, run_id)`` of a run entry (C: applied to every entry at every commit).
_run_key = operator.itemgetter("twin", "run_id")


def read_manifest(root: Path) -> dict[str, Any]:
    """The parsed ``manifest.json`` of ``root`` with the runs of its journal
    (``manifest.journal``, the runs committed since the manifest was written), validated.

    The runs are sorted by ``(twin, run_id)``; ``finalized`` is False when the journal
    holds a run the manifest does not. A journal's last line torn by a crash (no line
    break at its end, or a checksum that does not match) is ignored: its run is redone on
    resume. A journal's run that the manifest (or an earlier line) also lists is the same
    run when both entries are identical (a fold interrupted before it removed the journal).

    Raises
    ------
    FileNotFoundError
        No ``manifest.json``.
    NotADatasetError
        ``root`` is a file, has no ``manifest.json``, or its manifest is not valid JSON, not
        a twinforge manifest (no ``"format": "twinforge-dataset"``) or of a newer format version.
    ManifestError
        A twinforge manifest whose content is damaged: one line naming the field (a run
        entry without ``files``, ``"runs": "x"``, a file path outside the run's folders...);
        or a journal line, not its last, that is torn or damaged, or a run the journal lists
        with other content than the manifest: one line naming the file and the line.
    """
    return _read_manifest(root, shared=False)


def _read_manifest(root: Path, *, shared: bool) -> dict[str, Any]:
    """:func:`read_manifest`; ``shared``: the run entries are the objects this process
    cached (:func:`_cached_manifest`, :data:`_ENTRY_OF_LINE`; the dataset writer's own
    reads, which never modify an entry), else the files are read in full and every object
    is new (a reader, which reads them once, may modify them)."""
    return _read_with_journal(Path(root), shared=shared)[0]


def _read_with_journal(root: Path, *, shared: bool) -> tuple[dict[str, Any], int]:
    """:func:`_read_manifest`, and how many runs the journal adds to ``manifest.json``."""
    # the journal first: a fold between the two readings only moves its runs into the
    # manifest read next (read the other way round, they would be in neither)
    journal = _journal_bytes(root)
    manifest, data = _read_manifest_file(root, shared=shared)
    if not journal:
        return manifest, 0
    lines = _journal_entries(root / JOURNAL, journal, _manifest_mark(data), manifest["format_version"],
                             shared=shared)
    return manifest, _merge_journal(manifest, lines, root / JOURNAL)


def _read_manifest_file(root: Path, *, shared: bool) -> tuple[dict[str, Any], bytes]:
    """``manifest.json`` alone, as :func:`_read_manifest` reads it, and its bytes."""
    path = _manifest_path(root)
    with open(path, "rb") as f:
        data = f.read()
        if shared:  # the writer's: the mark of this very file, for its next append (_current_mark)
            _MARK_OF_FILE.clear()
            _MARK_OF_FILE[_file_identity(os.fstat(f.fileno()))] = _manifest_mark(data)
    if shared:
        try:
            fast = _cached_manifest(data.decode("utf-8"))
        except UnicodeDecodeError:
            fast = None
        if fast is not None:  # the bytes _manifest_bytes(fast) writes: what json.loads would give
            return fast, data
    try:
        manifest = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise NotADatasetError(f"{path} is not valid JSON ({exc}); is this a twinforge dataset?") from None
    _check_manifest(manifest, path)
    for k, entry in enumerate(manifest["runs"] if "runs" in manifest else ()):
        why = _check_entry(entry, f"runs[{k}]", manifest["format_version"])
        if why is not None:
            raise ManifestError(f"{path}: {why}")
    manifest.setdefault("runs", [])
    return manifest, data


def _manifest_path(root: Path) -> Path:
    """``root``'s ``manifest.json``, once it is known to be a regular file of a dataset
    folder (else the error :func:`read_manifest` documents)."""
    from twinforge.safe_io import check_input

    path = root / MANIFEST
    if not root.exists():
        raise FileNotFoundError(f"no dataset at {root}: the folder does not exist")
    if not root.is_dir():
        raise NotADatasetError(f"{root} is a file, not a twinforge dataset folder")
    if not os.path.lexists(path):
        raise NotADatasetError(
            f"{root} is not a twinforge dataset (no {MANIFEST}); was it written by twinforge generate?"
        )
    check_input(path, max_bytes=MAX_MANIFEST_BYTES, error=ValueError)  # never a FIFO or a device
    return path


def _check_manifest(manifest: Any, path: Path) -> None:
    """Refuse a parsed manifest (of ``path``) that is not twinforge's, of a newer format, or
    whose fields are not of the manifest's types (its runs entries: their types only)."""
    from pydantic import ValidationError

    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise NotADatasetError(f'{path} is not a twinforge manifest (no "format": "{FORMAT}")')
    version = manifest.get("format_version", 0)
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise NotADatasetError(
            f"{path} has format version {version}; this twinforge reads up to {FORMAT_VERSION}: "
            "upgrade twinforge"
        )
    try:
        _Manifest.model_validate(manifest)
    except ValidationError as exc:
        err = exc.errors()[0]
        got = err.get("input")
        got_text = "" if isinstance(got, (dict, list)) or err["type"] == "missing" else f" (got {got!r:.60})"
        more = f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""
        raise ManifestError(
            f"{path}: {_loc(err['loc']) or '(manifest)'}: {err['msg']}{got_text}{more}"
        ) from None


#: Bytes of ``manifest.json`` read at a time until its runs list opens (its head before it is
#: about 100 bytes, and a few kB with a finalized campaign's ``dataset``).
_HEAD_READ = 1 << 12


def _read_manifest_head(root: Path) -> dict[str, Any]:
    """The fields of ``root``'s ``manifest.json`` but its runs (``runs`` empty), checked as
    :func:`read_manifest` checks them, without reading the runs or the journal: the file is
    read up to its runs list when it has the layout :func:`_manifest_bytes` writes (keys
    sorted: ``dataset``, ``finalized``, ``format`` and ``format_version`` come first), a few
    kB whatever the runs written; else it is read in full. Raises as :func:`read_manifest`."""
    path = _manifest_path(root)
    opening = _RUNS_OPEN.encode()
    data = b""
    with open(path, "rb") as f:
        while True:
            chunk = f.read(_HEAD_READ)
            data += chunk
            at = data.find(opening, max(0, len(data) - len(chunk) - len(opening)))
            if at >= 0 or not chunk:
                break
    if at >= 0:
        start = at + _RUNS_OPEN.index("[")
        try:
            head = json.loads(data[:start] + b"[]}")
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
            head = None
        if head is not None:
            _check_manifest(head, path)
            return head
    manifest = _read_manifest_file(root, shared=False)[0]  # not that layout: in full (and its errors)
    manifest["runs"] = []
    return manifest


def _journal_line(entry: Mapping[str, Any]) -> bytes:
    """The journal line of a run entry: ``{"run": <entry>, "sha256": "<hex>"}`` and a line
    break, a JSON object whose ``sha256`` is the SHA-256 of the entry's text as it stands in
    the line (compact JSON, sorted keys, ASCII: no line break inside)."""
    text = _COMPACT.encode(entry)
    return f'{_LINE_HEAD}{text}, "sha256": "{hashlib.sha256(text.encode()).hexdigest()}"}}\n'.encode()


_LINE_HEAD = '{"run": '
_LINE_HEAD_BYTES = _LINE_HEAD.encode()
_LINE_TAIL = re.compile(rb', "sha256": "([0-9a-f]{64})"\}$')


def _journal_bytes(root: Path) -> bytes:
    """The bytes of the journal of ``root`` (empty when it has none)."""
    from twinforge.safe_io import check_input

    path = root / JOURNAL
    if not os.path.lexists(path):
        return b""
    check_input(path, max_bytes=MAX_MANIFEST_BYTES, error=ManifestError)  # never a FIFO or a device
    try:
        return path.read_bytes()
    except FileNotFoundError:  # folded (and removed) right now: its runs are in the manifest
        return b""


def _manifest_mark(data: bytes) -> str:
    """What the journal's first line says of the ``manifest.json`` it extends (its bytes):
    ``<size>:<CRC-32, 8 hex digits>``."""
    return f"{len(data)}:{zlib.crc32(data):08x}"


def _journal_header(mark: str) -> bytes:
    """The first line of a journal extending the manifest of mark ``mark``."""
    return (json.dumps({"format": JOURNAL_FORMAT, "manifest": mark}) + "\n").encode()


def _file_identity(st: os.stat_result) -> tuple[int, ...]:
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


#: The mark of the ``manifest.json`` this process last read as a writer, by the file's
#: identity (device, inode, size, mtime, ctime: any rewrite, an ``os.replace``, changes it).
_MARK_OF_FILE: dict[tuple[int, ...], str] = {}


def _current_mark(path: Path, *, fresh: bool = False) -> str:
    """The mark of the manifest at ``path``: read again only when the file has changed, or
    ``fresh`` (for the header of a new journal: then never from a file identity that a new
    file may happen to share)."""
    mark = None if fresh else _MARK_OF_FILE.get(_file_identity(os.stat(path)))
    if mark is None:
        with open(path, "rb") as f:
            mark = _manifest_mark(f.read())
            _MARK_OF_FILE.clear()
            _MARK_OF_FILE[_file_identity(os.fstat(f.fileno()))] = mark
    return mark


def _journal_entries(
    path: Path, data: bytes, mark: str, version: int, *, shared: bool
) -> list[tuple[int, dict[str, Any]]]:
    """``(line number, run entry)`` of every run line of the journal ``data`` (of ``path``),
    none when its first line names another manifest than the one of mark ``mark``.

    A journal names, in its first line, the ``manifest.json`` it was started on (its size
    and CRC-32): once the manifest is written again (a fold, a finalize), the journal's runs
    are in it, and a journal left by a crash before its removal is ignored whole (so is one
    that a twinforge not knowing of journals left behind when it rewrote the manifest).
    The last line is ignored when it is torn (no line break at its end) or its checksum does
    not match: an append interrupted by a crash. Any other damage is a ManifestError.
    """
    lines = data.split(b"\n")
    torn = lines.pop() != b""  # the bytes after the last line break: an append cut short
    if not lines:
        return []  # its first line cut short: a journal whose creation a crash interrupted
    try:
        header = json.loads(lines[0])
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        header = None
    if not (isinstance(header, dict) and header.get("format") == JOURNAL_FORMAT
            and isinstance(header.get("manifest"), str)):
        raise ManifestError(f'{path}: line 1: not a journal header (no "format": "{JOURNAL_FORMAT}")')
    if header["manifest"] != mark:
        return []  # the manifest was written since: a journal left behind
    known = _ENTRY_OF_LINE.setdefault(version, {}) if shared else {}
    if len(known) + len(lines) > _ENTRY_CACHE_LIMIT:
        known.clear()
    out = []
    for k, line in enumerate(lines[1:], 2):
        entry = known.get(line)
        if entry is None:
            entry, why, crash = _journal_entry(line, version)
            if entry is None:
                if crash and k == len(lines) and not torn:
                    continue  # the last line, cut short or garbled by a crash mid-append
                raise ManifestError(f"{path}: line {k}: {why}")
            if shared:
                known[line] = entry
        out.append((k, entry))
    return out


def _line_text(line: bytes) -> bytes | str:
    """The run entry's text in a journal line (without its line break), or why it is not
    a whole line: no frame, or a checksum that does not match (a crash cut it short)."""
    tail = _LINE_TAIL.search(line)
    if not line.startswith(_LINE_HEAD_BYTES) or tail is None:
        return "not a journal line (torn, or not written by twinforge)"
    text = line[len(_LINE_HEAD_BYTES) : tail.start()]
    if hashlib.sha256(text).hexdigest().encode() != tail.group(1):
        return "its checksum does not match its run entry (torn or damaged)"
    return text


def _journal_entry(line: bytes, version: int) -> tuple[dict[str, Any] | None, str, bool]:
    """``(entry, "", False)`` for a valid journal line, else ``(None, why, crash)``; ``crash``:
    the line is not whole (no frame, or a checksum that does not match)."""
    from pydantic import ValidationError

    text = _line_text(line)
    if not isinstance(text, bytes):
        return None, text, True
    try:
        entry = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        return None, f"run: not valid JSON ({exc})", False
    if not isinstance(entry, dict):
        return None, "run: not a JSON object", False
    try:
        _RunEntry.model_validate(entry)
    except ValidationError as exc:
        err = exc.errors()[0]
        return None, f"{_loc(('run', *err['loc']))}: {err['msg']}", False
    why = _check_entry(entry, "run", version)
    return (entry, "", False) if why is None else (None, why, False)


def _merge_journal(manifest: dict[str, Any], lines: Sequence[tuple[int, dict[str, Any]]], path: Path) -> int:
    """Add the runs of the journal ``lines`` (of ``path``) to ``manifest``, in place: runs
    sorted, ``finalized`` False when one is new. A run listed twice must be the same.
    Returns how many runs were added."""
    runs = manifest["runs"]
    index = dict(zip(map(_run_key, runs), runs))
    new = []
    for k, entry in lines:
        key = _run_key(entry)
        old = index.get(key)
        if old is None:
            index[key] = entry
            new.append(entry)
        elif old != entry:
            raise ManifestError(
                f"{path}: line {k}: run {key[0]}/{key[1]} differs from its entry in {MANIFEST} (or an "
                "earlier line); a run is recorded once, and the same when redone"
            )
    if new:
        manifest["runs"] = sorted([*runs, *new], key=_run_key)
        manifest["finalized"] = False  # the merged tables do not hold the new runs
    return len(new)


#: Run entries this process has read from a journal and found valid, by format version and
#: by their line (shared, as :data:`_ENTRY_OF_TEXT`'s, by the dataset writer's reads).
_ENTRY_OF_LINE: dict[int, dict[bytes, dict[str, Any]]] = {}


#: Run entries this process has read from a ``manifest.json`` and found valid, by format
#: version and by their text in it (as :func:`_entry_text` writes them); and each of these
#: entries with its text by ``id`` (``id -> (entry, text)``: holding the entry, so that no
#: other object takes its id), for :func:`_manifest_bytes`. These entries are shared by the
#: dataset writer's reads (``_read_manifest(shared=True)``), which never modify one.
_ENTRY_OF_TEXT: dict[int, dict[str, dict[str, Any]]] = {}
_TEXT_OF_ENTRY: dict[int, tuple[dict[str, Any], str]] = {}
#: Most run entries :data:`_ENTRY_OF_TEXT` holds (then it starts again, empty; a manifest
#: of more runs is read in full each time): about 3 kB of memory each.
_ENTRY_CACHE_LIMIT = 100_000
_RUNS_OPEN = '\n "runs": [\n  {'  # the runs list of _manifest_bytes, then its close
_RUNS_CLOSE = "\n ]"
_ENTRY_SEP = ",\n  {"  # between two entries (inside one, every line is indented deeper)


def _cached_manifest(text: str) -> dict[str, Any] | None:
    """The manifest ``text`` holds, validated as :func:`read_manifest` does, when ``text`` is
    exactly what :func:`_manifest_bytes` writes for it; else None (then read it in full).

    The run entries already seen by this process are neither parsed nor validated again
    (:data:`_ENTRY_OF_TEXT`): a dataset writer, which reads the manifest at every commit,
    parses and validates only the entries other processes added since its last read. None
    also when anything is invalid: the full reading then says what.
    """
    from pydantic import ValidationError

    i = text.find(_RUNS_OPEN)
    if i < 0:
        return None
    start = i + _RUNS_OPEN.index("[")
    end = text.rfind(_RUNS_CLOSE, start)  # the last list closed at the top level: the runs'
    if end < 0:  # (were it another's, what lies between would not pass the checks below)
        return None
    end += len(_RUNS_CLOSE)
    head_text = text[:start] + "[]" + text[end:]  # the manifest, its runs list emptied
    try:
        head = json.loads(head_text)
    except (json.JSONDecodeError, RecursionError):
        return None
    if not isinstance(head, dict) or head.get("format") != FORMAT:
        return None
    version = head.get("format_version")
    if type(version) is not int or not 1 <= version <= FORMAT_VERSION:
        return None
    try:
        _Manifest.model_validate(head)
        mark = json.dumps(_RUNS_MARK)
        layout = json.dumps({**head, "runs": _RUNS_MARK}, sort_keys=True, indent=1,
                            default=_json_default)
    except (ValidationError, TypeError, ValueError):
        return None
    if layout.count(mark) != 1 or layout.replace(mark, "[]") + "\n" != head_text:
        return None  # not the layout _manifest_bytes writes (then the entries need not be either)
    texts = text[start + 5 : end - len(_RUNS_CLOSE)].split(_ENTRY_SEP)  # each without its "{"
    if len(texts) > _ENTRY_CACHE_LIMIT:
        return None  # more than the cache holds: read in full each time, as before it
    texts = list(map("{".__add__, texts))  # (map: a loop in C, as the lookups below)
    known = _ENTRY_OF_TEXT.setdefault(version, {})
    runs = list(map(known.get, texts))
    if None in runs:  # entries this process has not seen
        if len(_TEXT_OF_ENTRY) + len(texts) > _ENTRY_CACHE_LIMIT:
            _ENTRY_OF_TEXT.clear()
            _TEXT_OF_ENTRY.clear()
            known = _ENTRY_OF_TEXT.setdefault(version, {})
            runs = [None] * len(texts)
        for k, entry_text in enumerate(texts):
            if runs[k] is None:
                entry = _new_entry(entry_text, version)
                if entry is None:
                    return None
                known[entry_text] = runs[k] = entry
                _TEXT_OF_ENTRY[id(entry)] = (entry, entry_text)
    head["runs"] = runs
    return head


def _new_entry(entry_text: str, version: int) -> dict[str, Any] | None:
    """A run entry parsed from its text in the manifest, if valid and written as
    :func:`_entry_text` writes it; else None."""
    from pydantic import ValidationError

    try:
        entry = json.loads(entry_text)
    except (json.JSONDecodeError, RecursionError):
        return None
    if not isinstance(entry, dict):
        return None
    try:
        _RunEntry.model_validate(entry)
        if _indented(entry) != entry_text:  # (not _entry_text: its cache would hold it twice)
            return None
    except (ValidationError, TypeError, ValueError):
        return None
    return entry if _check_entry(entry, "run", version) is None else None


def _manifest_bytes(manifest: Mapping[str, Any]) -> bytes:
    """The bytes of ``manifest.json``: ``json.dumps(manifest, sort_keys=True, indent=1)``.

    The run entries (most of a large manifest, rewritten at every commit) are encoded once
    per process each (:func:`_entry_text`; an entry read from the manifest by this process,
    not at all: its text is the one it was read from) and spliced in: the same text as one
    ``dumps`` of the whole, which Python's indenting encoder makes slow (pure Python).
    """
    runs = manifest.get("runs")
    if isinstance(runs, list) and runs and set(map(type, runs)) == {dict}:
        head = json.dumps({**manifest, "runs": _RUNS_MARK}, sort_keys=True, indent=1, default=_json_default)
        mark = json.dumps(_RUNS_MARK)
        if head.count(mark) == 1:
            read = list(map(_TEXT_OF_ENTRY.get, map(id, runs)))  # entries read by this process
            k = 0
            with contextlib.suppress(ValueError):  # (raised once no entry is left to encode)
                while True:
                    k = read.index(None, k)
                    read[k] = (runs[k], _entry_text(runs[k]))
            body = "[\n  " + ",\n  ".join(map(_SECOND, read)) + "\n ]"
            return (head.replace(mark, body) + "\n").encode("utf-8")
    return (json.dumps(manifest, sort_keys=True, indent=1, default=_json_default) + "\n").encode(
        "utf-8"
    )


_SECOND = operator.itemgetter(1)
_RUNS_MARK = "\x00twinforge-runs-d6c1f0\x00"  # stands for the runs list in the manifest's head
_ENTRY_TEXT: dict[str, str] = {}


def _entry_text(entry: dict[str, Any]) -> str:
    """A run entry as ``json.dumps(..., sort_keys=True, indent=1)`` writes it inside the
    manifest's ``runs`` list (two levels deep: two more spaces after each line break; JSON
    strings hold no raw line break), cached by its compact encoding (C-encoded, fast)."""
    key = _COMPACT.encode(entry)
    text = _ENTRY_TEXT.get(key)
    if text is None:
        text = _indented(entry)
        if len(_ENTRY_TEXT) > 200_000:
            _ENTRY_TEXT.clear()
        _ENTRY_TEXT[key] = text
    return text


def _indented(entry: dict[str, Any]) -> str:
    """The text of :func:`_entry_text`, encoded (slow: Python's indenting encoder)."""
    return _INDENTED.encode(entry).replace("\n", "\n  ")


def _json_default(obj: Any) -> Any:
    return json.loads(canonical_json(obj))


_COMPACT = json.JSONEncoder(sort_keys=True, default=_json_default)  # json.dumps' own settings
_INDENTED = json.JSONEncoder(sort_keys=True, indent=1, default=_json_default)


def _empty_manifest() -> dict[str, Any]:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "finalized": False,
        "dataset": None,
        "runs": [],
    }


def _remove_journal(root: Path) -> None:
    """Remove the journal of ``root``, if any (its runs already in ``manifest.json``)."""
    if os.path.lexists(root / JOURNAL):
        with _disk("remove", root / JOURNAL):
            _unlink_missing_ok(root / JOURNAL)
            _fsync_dir(root)


def _journal_extends(path: Path, mark: str) -> bool:
    """Whether the journal at ``path`` starts with the header of the manifest of mark ``mark``."""
    want = _journal_header(mark)
    with open(path, "rb") as f:
        return f.read(len(want)) == want


def _whole_last_line(path: Path, size: int) -> bool:
    """Whether the journal at ``path`` (``size`` bytes) ends with a whole, valid line (read
    from its end: one line's bytes, whatever the runs before it)."""
    with open(path, "rb") as f:
        tail = b""
        pos = size
        while pos > 0 and tail.count(b"\n") < 2:
            step = min(pos, 1 << 13)  # (a line is about 1 kB)
            pos -= step
            f.seek(pos)
            tail = f.read(step) + tail
    return tail.endswith(b"\n") and isinstance(_line_text(tail[:-1].rsplit(b"\n", 1)[-1]), bytes)


# -- the writers -------------------------------------------------------------------------

Mode = Literal["create", "resume", "overwrite"]


class DatasetWriter:
    """Write a twinforge dataset at ``root``, one run at a time.

    Parameters
    ----------
    root : str or Path
        Dataset folder.
    mode : {"create", "resume", "overwrite"}
        ``create``: ``root`` must not exist or be an empty folder. ``resume``: keep the
        runs ``root`` already completed (:meth:`completed_runs`). ``overwrite``: replace
        a previous twinforge dataset (a folder holding ``manifest.json``); any other
        non-empty folder is refused.
    check_files : bool
        With ``resume``: look for the files of every run the manifest lists (a stat per
        file), keep as completed only the runs whose files are all there (with their
        recorded sizes) and remove the others from the manifest at the first write, so that
        they are redone. False: take the manifest's runs as completed without looking (no
        cost per run listed); a run of them is still looked at when it is opened again
        (:meth:`open_run`), and redone if its files are gone.

    Nothing is created, and nothing deleted, until the first :meth:`open_run` (or
    :meth:`finalize`), so a validation error before it leaves the disk untouched.
    Several processes may commit runs to the same dataset (``mode="resume"`` in each, or
    :meth:`for_task`): manifest updates take a file lock.

    A campaign's worker task opens the dataset with :meth:`for_task`: only the manifest's
    head is read (its format and version), not its runs nor the journal, so opening costs
    the same whatever the runs already written. The parent (:func:`~twinforge.campaign.run_campaign`),
    which opened the dataset with ``create``, ``overwrite`` or ``resume``, checked the rest
    once: the format version, the config hash, and the files of every run listed (with
    ``resume``, the runs whose files are gone are removed from the manifest before any
    task starts, so that their tasks redo them).
    """

    def __init__(
        self, root: str | Path, *, mode: Mode = "create", check_files: bool = True
    ) -> None:
        if mode not in ("create", "resume", "overwrite"):
            raise ValueError(f"mode must be 'create', 'resume' or 'overwrite', not {mode!r}")
        if not isinstance(check_files, bool):
            raise TypeError(f"check_files must be True or False, not {check_files!r}")
        self._setup(Path(root), mode, check_files)
        root_ = self.root
        if root_.exists() and not root_.is_dir():
            raise FileExistsError(f"{root_} exists and is not a folder; choose another output path")
        is_dataset = (root_ / MANIFEST).is_file()
        non_empty = root_.is_dir() and any(root_.iterdir())
        if mode == "create" and non_empty:
            what = "a twinforge dataset" if is_dataset else "a non-empty folder"
            raise FileExistsError(
                f"{root_} already exists and is {what}; use --overwrite to replace it"
                f"{' or --resume to complete it' if is_dataset else ''}, "
                "or choose another output path"
            )
        in_progress = mode == "resume" and not is_dataset and _only_our_skeleton(root_)
        if mode in ("overwrite", "resume") and non_empty and not is_dataset and not in_progress:
            raise FileExistsError(
                f"{root_} is a non-empty folder but not a twinforge dataset (no {MANIFEST}); "
                f"refusing to {'delete' if mode == 'overwrite' else 'write into'} it: "
                "choose another output path"
            )
        if mode == "overwrite" and is_dataset:
            previous_dataset_paths(root_)  # a manifest not ours, a symlink: refused now
        if mode == "resume" and is_dataset:
            manifest = _read_manifest(root_, shared=True)
            if manifest["format_version"] < FORMAT_VERSION:
                raise FileExistsError(
                    f"{root_} was written by an older twinforge (dataset format "
                    f"{manifest['format_version']}, this one writes {FORMAT_VERSION}); "
                    "it cannot be resumed: regenerate it with --overwrite"
                )
            runs = manifest["runs"]
            if check_files:
                runs = [e for e in runs if _run_files_present(root_, e)]
            self._completed = dict(zip(map(_run_key, runs), runs))
        try:  # (map: a loop in C; every entry twinforge writes has a config_hash, maybe null)
            pairs = set(map(operator.itemgetter("twin", "config_hash"), self._completed.values()))
        except KeyError:
            pairs = {(e["twin"], e.get("config_hash")) for e in self._completed.values()}
        for t, h in pairs:
            if h is not None:
                self._resumed_hashes.setdefault(t, set()).add(h)

    def _setup(self, root: Path, mode: Mode, check_files: bool) -> None:
        """The state of a writer that has read no run yet."""
        self.root = root
        self.mode: Mode = mode
        self._check_files = check_files
        self._prepared = False
        #: opened by :meth:`for_task`: the runs listed were not read
        self._task = False
        self._open: set[tuple[str, int]] = set()
        self._completed: dict[tuple[str, int], dict[str, Any]] = {}
        #: the listed entries of the runs written again (:meth:`open_run`): their files were
        #: gone, or a task runs again after its commit
        self._redone: dict[tuple[str, int], dict[str, Any]] = {}
        #: config hashes of the runs found on disk, per twin: a resumed run must share them
        self._resumed_hashes: dict[str, set[str]] = {}

    @classmethod
    def for_task(cls, root: str | Path) -> Self:
        """Open the dataset at ``root`` to commit the runs a campaign's parent gave this
        task, without reading the runs it lists (a worker task's writer).

        Only the head of ``manifest.json`` is read (its format and version, a few kB), not
        its runs nor ``manifest.journal``: what the parent process, which opened the dataset
        with ``create``, ``overwrite`` or ``resume`` before handing out the runs, checked
        already (the config hash, and with ``resume`` the files of every run listed, the
        runs whose files are gone removed from the manifest). :meth:`completed_runs` is
        empty. Each commit appends its line to the journal under the dataset's lock, as
        with ``mode="resume"``.

        A run written again (a task run a second time, its worker lost after the commit)
        is safe: its files are replaced by the same bytes, and its journal line is the same
        as the first (readers take identical entries as one run). When the run's samples
        file is already there, the manifest is read to find the run's entry (only then),
        and an entry that differs is replaced in the manifest, as :meth:`open_run` does for
        a run redone because its files were gone.

        A folder without ``manifest.json`` is opened as ``mode="resume"`` opens it (there
        are no runs to read): created on the first :meth:`open_run` when missing or empty,
        refused when it holds anything else.

        Raises
        ------
        NotADatasetError, ManifestError
            As :func:`read_manifest`, from the manifest's head: ``root`` is a file, or its
            manifest is not a twinforge manifest, of a newer format, or damaged in its head.
        FileExistsError
            A dataset of an older format (a task cannot add runs to it), or a non-empty
            folder that is not a dataset.
        """
        root = Path(root)
        if not os.path.lexists(root) or (root.is_dir() and not os.path.lexists(root / MANIFEST)):
            return cls(root, mode="resume", check_files=False)  # not created yet (or not a dataset: refused)
        head = _read_manifest_head(root)
        if head["format_version"] < FORMAT_VERSION:
            raise FileExistsError(
                f"{root} was written by an older twinforge (dataset format {head['format_version']}, "
                f"this one writes {FORMAT_VERSION}): a task cannot add runs to it"
            )
        writer = cls.__new__(cls)
        writer._setup(root, "resume", False)
        writer._task = True
        writer._prepared = True  # the parent created the folders and the manifest
        return writer

    # -- state ---------------------------------------------------------------------------
    def check_config_hash(self, twin: str, config_hash: str) -> None:
        """Refuse now, before anything is written, to resume runs of another configuration.

        Raises
        ------
        DatasetConflictError
            The completed runs of ``twin`` in the folder were made with another config hash
            (another scenario, or another seed).
        """
        other = self._resumed_hashes.get(twin, set()) - {config_hash}
        if other:
            raise DatasetConflictError(
                f"{self.root} holds runs of another configuration (config_hash {min(other)}, this one "
                f"{config_hash}): resume with the same scenario and seed, or use --overwrite"
            )

    def completed_runs(self) -> set[tuple[str, int]]:
        """``(twin, run_id)`` of every run complete on disk (empty unless resuming)."""
        return set(self._completed)

    def _prepare(self) -> None:
        """Create (or clear, with ``overwrite``) the dataset folder on first use."""
        if self._prepared:
            return
        root = self.root
        if self.mode == "overwrite" and (root / MANIFEST).is_file():
            files, dirs = previous_dataset_paths(root)  # every path checked before any deletion
            with _disk("remove the previous dataset in", root):
                for path in files:  # the manifest last: an interrupted removal can be redone
                    _unlink_missing_ok(path)
                for d in dirs:
                    with contextlib.suppress(OSError):
                        d.rmdir()  # only if empty: a user's file in it stays
        with _disk("create", root):
            root.mkdir(parents=True, exist_ok=True)
            (root / SAMPLES_DIR).mkdir(exist_ok=True)
            (root / SHARDS_DIR).mkdir(exist_ok=True)
        with _locked(root / SHARDS_DIR / ".lock"):  # other processes may share the dataset
            if not (root / MANIFEST).is_file():
                _remove_journal(root)  # (none without a manifest but a stray one)
                _atomic_write_bytes(root / MANIFEST, _manifest_bytes(_empty_manifest()))
        if self.mode == "resume" and self._check_files:  # forget runs whose files have gone: redone

            def prune(manifest: dict[str, Any]) -> bool:
                kept = [e for e in manifest["runs"] if _run_files_present(root, e)]
                changed = len(kept) != len(manifest["runs"])
                manifest["runs"] = kept
                return changed

            self._update_manifest(prune)
        self._prepared = True

    def _update_manifest(self, fn: Any) -> dict[str, Any]:
        """Read-modify-write ``manifest.json`` (and its journal) under the dataset's lock.
        Before a change is written, the journal is folded into the manifest as it was
        (:meth:`_fold_journal`): what ``fn`` removes or replaces cannot come back from the
        journal after a crash.

        When ``fn`` returns False (it changed nothing) and the runs are already in order, the
        file is left as it is (rewriting it would write the same bytes): a ``resume``'s pruning
        rarely removes a run.
        """
        with _locked(self.root / SHARDS_DIR / ".lock"):
            manifest = _read_manifest(self.root, shared=True)
            changed = fn(manifest) is not False
            runs = sorted(manifest["runs"], key=_run_key)
            if not changed and all(a is b for a, b in zip(runs, manifest["runs"])):
                return manifest
            self._fold_journal()
            manifest["runs"] = runs
            _atomic_write_bytes(self.root / MANIFEST, _manifest_bytes(manifest))
        return manifest

    def _fold_journal(self) -> dict[str, Any]:
        """Fold the journal into ``manifest.json`` and remove it (under the dataset's lock,
        held by the caller); return the manifest.

        The manifest is written (atomically) before the journal is removed: a crash in
        between leaves a journal whose runs the manifest already lists, the same entries,
        which every reading takes as one run each.
        """
        root = self.root
        manifest, added = _read_with_journal(root, shared=True)
        if added:
            _atomic_write_bytes(root / MANIFEST, _manifest_bytes(manifest))
        _remove_journal(root)
        return manifest

    def _record_run(self, entry: dict[str, Any]) -> None:
        """Record a committed run: its line appended to the journal (synced), then the
        journal folded into the manifest if it has grown past :data:`JOURNAL_MIN_BYTES` and
        :data:`JOURNAL_RATIO` times the manifest. A redone run whose entry differs from the
        one listed (its files were gone) replaces it in the manifest instead."""
        key = (entry["twin"], entry["run_id"])
        listed = self._redone.pop(key, None)
        if listed is not None and listed != entry:

            def replace(manifest: dict[str, Any]) -> None:
                manifest["runs"] = [e for e in manifest["runs"] if _run_key(e) != key] + [entry]
                manifest["finalized"] = False  # the merged tables are stale until finalize

            self._update_manifest(replace)
        else:
            line = _journal_line(entry)
            self._append_journal(line)
            known = _ENTRY_OF_LINE.setdefault(FORMAT_VERSION, {})
            if len(known) < _ENTRY_CACHE_LIMIT:  # this process reads its own line without validating it
                known[line[:-1]] = json.loads(line)["run"]  # (what a reading of the line gives)
        self._completed[key] = entry

    def _append_journal(self, line: bytes) -> None:
        """Append ``line`` to the journal (synced), under the dataset's lock; a new journal
        starts with its header. A journal that this append must not extend is folded (its
        valid runs into the manifest) and removed first: one whose last append a crash cut
        short (appended to, its line would no longer be the last), or one that names
        another manifest (left by a crash after a fold wrote the manifest)."""
        root = self.root
        path = root / JOURNAL
        with _locked(root / SHARDS_DIR / ".lock"), _disk("write", path):
            size = path.stat().st_size if os.path.lexists(path) else -1
            if size >= 0 and not (_journal_extends(path, _current_mark(root / MANIFEST))
                                  and _whole_last_line(path, size)):
                self._fold_journal()
                size = -1
            data = line if size >= 0 else _journal_header(_current_mark(root / MANIFEST, fresh=True)) + line
            with open(path, "ab") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            if size < 0:
                _fsync_dir(root)  # the journal's own name
            if max(size, 0) + len(data) > max(JOURNAL_MIN_BYTES, JOURNAL_RATIO * (root / MANIFEST).stat().st_size):
                self._fold_journal()

    # -- runs ----------------------------------------------------------------------------
    def open_run(
        self, twin: str, run_id: int, channels: Sequence[ChannelSpec], metadata: dict[str, Any]
    ) -> RunWriter:
        """Start writing run ``run_id`` of ``twin``; use the result as a context manager.

        Parameters
        ----------
        twin : str
            Twin name (a folder name: letters, digits, ``_ . -``).
        run_id : int
            Non-negative run number.
        channels : sequence of ChannelSpec
            Every column of the samples table but ``time``, labels included, in order.
        metadata : dict
            JSON-serialisable run metadata stored under the ``twinforge`` Parquet key:
            at least ``period_s``, ``seed`` and ``config_hash``; ``start`` (UTC) is taken
            from the first sample when absent; ``twinforge_version`` defaults to this one.
        """
        if not isinstance(twin, str) or not _NAME_RE.match(twin):
            raise ValueError(
                f"twin name {twin!r} must be letters, digits, '_', '.' or '-' (a folder name)"
            )
        if isinstance(run_id, bool) or not isinstance(run_id, (int, np.integer)) or run_id < 0:
            raise ValueError(f"run_id must be a non-negative integer, not {run_id!r}")
        run_id = int(run_id)
        channels = tuple(channels)
        _check_channels(channels)
        meta = _run_metadata(twin, run_id, channels, metadata)
        key = (twin, run_id)
        if self._task and (self.root / run_file(SAMPLES_DIR, twin, run_id)).is_file():
            # a task run again after its commit: the run may be listed (then the only reading of the runs)
            listed = {_run_key(e): e for e in _read_manifest(self.root, shared=True)["runs"]}.get(key)
            if listed is not None:
                self._completed[key] = listed
                if listed.get("config_hash") is not None:
                    self._resumed_hashes.setdefault(twin, set()).add(listed["config_hash"])
        hashes = self._resumed_hashes.get(twin, set()) - {meta["config_hash"]}
        if hashes:
            raise ValueError(
                f"{self.root} holds runs of another configuration (config_hash "
                f"{min(hashes)}, this run: {meta['config_hash']}); resume with the same "
                "scenario and seed, or use --overwrite"
            )
        if self._task and key in self._completed:  # written again: its files replaced, its entry checked
            self._redone[key] = self._completed.pop(key)
        if key in self._completed:
            if self._check_files or _run_files_present(self.root, self._completed[key]):
                raise ValueError(f"run {twin}/{run_id} is already complete in {self.root}")
            self._redone[key] = self._completed.pop(key)  # listed, its files gone: redone
        if key in self._open:
            raise ValueError(f"run {twin}/{run_id} is already open for writing")
        self._prepare()
        self._open.add(key)
        return RunWriter(self, twin, run_id, channels, meta)

    # -- the merged tables ---------------------------------------------------------------
    def finalize(self, dataset_metadata: dict[str, Any] | None = None) -> Path:
        """Merge every completed run's shards into ``events.parquet`` and ``runs.parquet``.

        Rows are sorted by ``(twin, run_id)`` (events also by ``start`` and ``event_id``),
        so the files do not depend on the order in which runs finished. A file whose
        content has not changed is left untouched. ``dataset_metadata`` (JSON-serialisable,
        e.g. the scenario and its seed) is stored as ``manifest.json["dataset"]``.

        Returns
        -------
        Path
            The dataset folder.
        """
        if dataset_metadata is not None:
            canonical_json(dataset_metadata)  # fail before touching the disk
        self._prepare()
        root = self.root
        with _locked(root / SHARDS_DIR / ".lock"):
            manifest = _read_manifest(root, shared=True)
            entries = sorted(manifest["runs"], key=_run_key)
            _check_dataset_hash(root, entries, dataset_metadata)
            with _disk("read", root / SHARDS_DIR):
                schema, rows, tables = merged_events(root, entries)
                rn = merged_runs(root, entries)
            info = {"table": "events", "format_version": FORMAT_VERSION}
            sums = {}
            sums[EVENTS_NAME] = _atomic_write_stream(
                root / EVENTS_NAME,
                schema.with_metadata({METADATA_KEY: canonical_json(info).encode()}),
                rows,
                tables,
                only_if_changed=True,
            )
            info["table"] = "runs"
            sums[RUNS_NAME] = _atomic_write_table(
                root / RUNS_NAME,
                rn.replace_schema_metadata({METADATA_KEY: canonical_json(info).encode()}),
                only_if_changed=True,
            )
            manifest["runs"] = entries
            manifest["tables"] = {k: {"sha256": h, "size": n} for k, (h, n) in sums.items()}
            manifest["finalized"] = True
            if dataset_metadata is not None:
                manifest["dataset"] = dict(dataset_metadata)
            _atomic_write_bytes(root / MANIFEST, _manifest_bytes(manifest))
            _remove_journal(root)  # its runs are in the manifest now
        return root


#: Rows per row group of the merged ``events.parquet``: a merge of up to this many events
#: is one row group; a larger one is cut every this many rows, whatever the runs' sizes, so
#: the file's bytes do not depend on how the events are spread over the runs' shards.
MERGED_ROW_GROUP_ROWS = 1 << 18


def merged_runs(root: Path, entries: Sequence[Mapping[str, Any]]) -> pa.Table:
    """The merged ``runs`` table of the runs ``entries`` (one row each), sorted by
    ``(twin, run_id)``, schema metadata dropped: what :meth:`DatasetWriter.finalize` writes
    as ``runs.parquet`` and what ``verify`` compares it with."""
    runs = [_strip(pq.read_table(root / e["files"][2])) for e in sorted(entries, key=_run_key)]
    rn = (
        pa.concat_tables(runs, promote_options="permissive")
        if runs
        else _run_table({"run_id": 0, "twin": "", "seed": 0, "weight": 1.0}).slice(0, 0)
    )
    return rn.sort_by([("twin", "ascending"), ("run_id", "ascending")])


def merged_events(root: Path, entries: Sequence[Mapping[str, Any]]) -> tuple[pa.Schema, int, Iterator[pa.Table]]:
    """The merged ``events`` table of the runs ``entries``, streamed run by run.

    Returns ``(schema, rows, tables)``: the merged schema (the runs' ``params`` structs
    unified, :func:`_unify_struct_types`; no metadata), read from the shards' footers alone;
    the number of rows; and an iterator of one table per run in ``(twin, run_id)`` order,
    each sorted by ``(start, event_id)`` (a stable sort) and conformed to ``schema``. Their
    concatenation is the merged table sorted by ``(twin, run_id, start, event_id)``, whatever
    the order in which runs finished, with one run's events in memory at a time (a default
    home-year logs about 36,000 cycles: a campaign of 1,000 of them no longer has to fit in
    memory at once). This is what :meth:`DatasetWriter.finalize` writes as
    ``events.parquet`` and what ``verify`` compares it with.
    """
    ordered = sorted(entries, key=_run_key)
    files = [root / e["files"][1] for e in ordered]  # the manifest's own paths
    metas = [pq.read_metadata(f) for f in files]
    schemas = [m.schema.to_arrow_schema().remove_metadata() for m in metas]
    if not schemas:
        empty = concat_events([])
        return empty.schema, 0, iter(())
    schema = _events_schema(schemas)

    def tables() -> Iterator[pa.Table]:
        for f in files:  # one file each: read directly, no dataset discovery
            t = _strip(pq.ParquetFile(f).read()).sort_by([("start", "ascending"), ("event_id", "ascending")])
            yield t if t.schema == schema else _conform(t, schema)

    return schema, sum(m.num_rows for m in metas), tables()


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with exactly the columns of ``schema`` in its order: cast where the type
    differs, nulls where a column is absent (what a permissive concatenation does)."""
    columns = []
    for field in schema:
        if field.name not in table.column_names:
            columns.append(pa.nulls(table.num_rows, type=field.type))
            continue
        column = table.column(field.name)
        if column.type != field.type:
            if pa.types.is_null(field.type):  # params of runs that have none
                column = pa.nulls(table.num_rows)
            elif pa.types.is_struct(field.type):
                column = _cast_params(column, field.type)
            else:
                column = column.cast(field.type)
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=schema)


class RunWriter:
    """Streams one run's samples to Parquet (a context manager from :meth:`DatasetWriter.open_run`).

    Each :meth:`write` appends one row group; nothing but the open file is held in
    memory. Leaving the ``with`` block without :meth:`commit` (an exception, an
    interrupt) removes the temporary file: the run is then simply not complete.
    """

    def __init__(
        self,
        dataset: DatasetWriter,
        twin: str,
        run_id: int,
        channels: tuple[ChannelSpec, ...],
        metadata: dict[str, Any],
    ) -> None:
        self.dataset = dataset
        self.twin = twin
        self.run_id = run_id
        self.channels = channels
        self.metadata = metadata
        self._relative = Path(run_file(SAMPLES_DIR, twin, run_id))
        self.path = dataset.root / self._relative
        self.tmp_path = self.path.with_name(f".{self.path.name}.tmp")
        self.shard_dir = dataset.root / shard_dir(twin, run_id)
        self.rows = 0
        self.row_groups = 0
        self._writer: pq.ParquetWriter | None = None
        self._first_ns: int | None = None
        self._last_time: int | None = None
        self._state = "open"  # open -> committed | aborted
        #: extra per-run tables (name -> _TableStream), see :meth:`write_table`
        self._tables: dict[str, _TableStream] = {}
        self._names = [c.name for c in channels]
        self._types = {c.name: arrow_type(c.dtype) for c in channels}
        self._types["time"] = pa.timestamp("ns", tz="UTC")
        self._fields = pa.schema(
            [*ID_FIELDS, pa.field("time", self._types["time"], nullable=False)]
            + [pa.field(n, self._types[n]) for n in self._names]
        )

    # -- context manager -------------------------------------------------------------------
    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._state == "open":
            self.abort()

    def abort(self) -> None:
        """Drop the run: close and remove the temporary file (the manifest is untouched)."""
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
            self._writer = None
        _unlink_quietly(self.tmp_path)
        for stream in self._tables.values():
            stream.abort()
        with contextlib.suppress(OSError):
            self.shard_dir.rmdir()  # only if empty: our own folder of a run that never completed
        self._state = "aborted"
        self.dataset._open.discard((self.twin, self.run_id))

    # -- writing ---------------------------------------------------------------------------
    def _schema(self, first_time_ns: int | None) -> pa.Schema:
        meta = dict(self.metadata)
        if "start" not in meta:
            if first_time_ns is None:
                raise ValueError(
                    f"run {self.twin}/{self.run_id}: no samples written and no 'start' "
                    "in the metadata"
                )
            meta["start"] = _iso_utc(pd.Timestamp(first_time_ns, tz="UTC"))
        self.metadata = meta
        return _with_metadata(self._fields, meta)

    def _open(self, first_time_ns: int | None, sink: Any = None) -> pq.ParquetWriter:
        """The Parquet writer of the samples: to the temporary file, or to ``sink``."""
        schema = self._schema(first_time_ns)
        dictionary, split = ["twin", "run_id"], []  # one value per file: a few bytes
        for c in self.channels:
            t = self._types[c.name]
            if pa.types.is_floating(t):
                split.append(c.name)  # also float labels (severity, health): BSS is as small
            elif pa.types.is_string(t) or c.kind == "label":
                dictionary.append(c.name)
        # time: delta encoding stores a regular grid in a few bytes per page (1M rows:
        # 23 kB instead of 6.3 MB); every reader tested (pyarrow, polars, DuckDB) reads it
        options = dict(
            use_dictionary=dictionary,
            use_byte_stream_split=split,
            column_encoding={"time": "DELTA_BINARY_PACKED"},
            sorting_columns=[pq.SortingColumn(i) for i in range(3)],  # twin, run_id, time
            **_WRITE_OPTIONS,
        )
        if sink is not None:
            return pq.ParquetWriter(sink, schema, **options)
        with _disk("create", self.tmp_path):
            self.tmp_path.parent.mkdir(parents=True, exist_ok=True)
            return pq.ParquetWriter(self.tmp_path, schema, **options)

    def write(self, block: Mapping[str, Any]) -> None:
        """Append one block of samples as one row group.

        Parameters
        ----------
        block : dict of str to ndarray of shape (n,)
            ``time`` (``datetime64``, UTC; tz-aware pandas values are converted) and
            every declared channel; no other key. Times must increase strictly, also
            across blocks.
        """
        self._check_open("write")
        table = self._to_table(block)
        if table.num_rows == 0:
            return
        if self._writer is None:
            self._writer = self._open(self._first_ns)
        with _disk("write", self.tmp_path):
            self._writer.write_table(table, row_group_size=table.num_rows)
        self.rows += table.num_rows
        self.row_groups += 1

    def _to_table(self, block: Mapping[str, Any]) -> pa.Table:
        where = f"run {self.twin}/{self.run_id}"
        if not isinstance(block, Mapping):
            raise TypeError(
                f"{where}: a block is a dict of column name -> array, not {type(block).__name__}"
            )
        missing = [n for n in ["time", *self._names] if n not in block]
        extra = sorted(set(block) - {"time", *self._names})
        if missing or extra:
            raise ValueError(
                f"{where}: block columns do not match the declared channels"
                + (f"; missing {missing}" if missing else "")
                + (f"; undeclared {extra}" if extra else "")
            )
        time_ns = _time_ns(block["time"], where)
        n = len(time_ns)
        if n:
            if np.any(np.diff(time_ns) <= 0) or (
                self._last_time is not None and time_ns[0] <= self._last_time
            ):
                raise ValueError(
                    f"{where}: 'time' must increase strictly (within and across blocks)"
                )
            if self._last_time is None:
                self._first_ns = int(time_ns[0])
            self._last_time = int(time_ns[-1])
        arrays = [
            *_id_arrays(self.twin, self.run_id, n),
            pa.array(time_ns.view("datetime64[ns]"), type=self._types["time"]),
        ]
        for name in self._names:
            values = block[name]
            if isinstance(values, (pa.Array, pa.ChunkedArray)):
                arr = values
            elif pa.types.is_list(self._types[name]):  # one list per sample (events_active)
                try:
                    arr = pa.array([list(v) for v in values], type=self._types[name])
                except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as exc:
                    raise ValueError(
                        f"{where}: column {name!r} cannot be stored as {self._types[name]}: {exc}"
                    ) from None
            else:
                arr = np.asarray(values)
            if getattr(arr, "ndim", 1) != 1 or len(arr) != n:
                shape = getattr(arr, "shape", (len(arr),))
                raise ValueError(
                    f"{where}: column {name!r} has shape {shape}, expected ({n},) like 'time'"
                )
            try:
                arrays.append(
                    pa.array(arr, type=self._types[name])
                    if not isinstance(arr, (pa.Array, pa.ChunkedArray))
                    else arr.cast(self._types[name])
                )
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
                raise ValueError(
                    f"{where}: column {name!r} cannot be stored as {self._types[name]}: {exc}"
                ) from None
        return pa.Table.from_arrays(arrays, schema=self._fields)

    def write_table(self, name: str, block: Mapping[str, Any]) -> None:
        """Append rows to the run's extra table ``name`` (e.g. raw ``snapshots``).

        The table streams into ``<name>/twin=<twin>/run_id=<n>/.part-0.parquet.tmp`` and is
        renamed into place by :meth:`commit` together with the samples (listed in the
        manifest's ``files`` of the run), so it is exactly as crash-safe. Its schema is
        fixed by the first block; read it back with ``TwinDataset.table(name)``.

        Parameters
        ----------
        name : str
            Table name, a folder name other than ``samples`` (letters, digits, ``_ . -``).
        block : dict of str to array-like
            Columns of equal length: 1-d arrays (``datetime64`` stored as UTC timestamps),
            2-d arrays (one list per row, e.g. ``list<float32>`` waveforms) or lists.
        """
        self._check_open("write a table to")
        stream = self._tables.get(name)
        if stream is None:
            if not isinstance(name, str) or not _NAME_RE.match(name) or name in _RESERVED_TABLES:
                raise ValueError(
                    f"run {self.twin}/{self.run_id}: table name {name!r} must be a folder name "
                    f"(letters, digits, '_', '.', '-') other than {sorted(_RESERVED_TABLES)}"
                )
            stream = _TableStream(self, name)
            self._tables[name] = stream
        stream.write(block)

    # -- committing ------------------------------------------------------------------------
    def commit(self, events: pd.DataFrame | pa.Table, run_record: Mapping[str, Any]) -> Path:
        """Complete the run: sync the samples, write its shards, rename, record it.

        Parameters
        ----------
        events : pandas.DataFrame or pyarrow.Table
            The run's events with the columns of :data:`EVENTS_SCHEMA` (``run_id`` and
            ``twin`` may be omitted); zero rows allowed. Or the table of its events shard
            as :meth:`twinforge.core.eventlog.EventLog.to_table` builds it (written as is).
        run_record : dict
            Flat dict of scalars (``run_id``, ``twin``, ``seed``, ``weight``, ``stratum``,
            ``config_hash``, ``section.name`` parameters): one row of ``runs.parquet``.

        Returns
        -------
        Path
            The run's ``part-0.parquet``.
        """
        self._check_open("commit")
        where = f"run {self.twin}/{self.run_id}"
        ev_table = _events_table(events, self.twin, self.run_id, where)
        record = dict(run_record)
        for key, value in (("run_id", self.run_id), ("twin", self.twin)):
            if key in record and record[key] != value:
                raise ValueError(
                    f"{where}: run_record[{key!r}] is {record[key]!r}, expected {value!r}"
                )
            record[key] = value
        run_table = _run_table(record, where)
        if self._writer is None:
            self._writer = self._open(None)
        try:
            root = self.dataset.root
            sums: dict[str, tuple[str, int]] = {}  # checksums at write time, for verify
            with _disk("write", self.tmp_path):
                self._writer.close()
                self._writer = None
                _fsync_file(self.tmp_path)
                sums[self._relative.as_posix()] = file_digest(self.tmp_path)
            with _disk("create", self.shard_dir):
                self.shard_dir.mkdir(parents=True, exist_ok=True)
            tables = [self._tables[k] for k in sorted(self._tables)]
            for stream in tables:
                stream.close()
                with _disk("read", stream.tmp_path):
                    sums[stream.relative.as_posix()] = file_digest(stream.tmp_path)
            for name, table in ((EVENTS_NAME, ev_table), (SHARD_RUN_NAME, run_table)):
                path = self.shard_dir / name
                sums[path.relative_to(root).as_posix()] = _atomic_write_table(path, table)
            for stream in tables:
                stream.rename_into_place()
            with _disk("rename into place", self.path):
                os.replace(self.tmp_path, self.path)
                _fsync_dir(self.path.parent)
            files = [
                self._relative.as_posix(),
                (self.shard_dir / EVENTS_NAME).relative_to(root).as_posix(),
                (self.shard_dir / SHARD_RUN_NAME).relative_to(root).as_posix(),
                *(stream.relative.as_posix() for stream in tables),
            ]
            entry = {
                "twin": self.twin,
                "run_id": self.run_id,
                "rows": self.rows,
                "config_hash": self.metadata.get("config_hash"),
                "files": files,
                "sha256": {f: sums[f][0] for f in files},
                "size": {f: sums[f][1] for f in files},
            }
            try:
                self.dataset._record_run(entry)
            except BaseException:
                _unlink_quietly(self.path)  # not in the manifest: must not look complete
                for stream in tables:
                    _unlink_quietly(stream.path)
                raise
        except BaseException:
            self.abort()
            raise
        self._state = "committed"
        self.dataset._open.discard((self.twin, self.run_id))
        return self.path

    def _check_open(self, what: str) -> None:
        if self._state != "open":
            raise RuntimeError(f"run {self.twin}/{self.run_id} is {self._state}; cannot {what}")


# -- extra per-run tables ----------------------------------------------------------------

#: Names an extra table cannot take (folders of the dataset itself).
_RESERVED_TABLES = frozenset({SAMPLES_DIR, SHARDS_DIR, "events", "runs", "manifest"})


def _run_files_present(root: Path, entry: Mapping[str, Any]) -> bool:
    """Whether every file of a manifest run entry is on disk (with its recorded size, if any)."""
    sizes = entry.get("size") or {}
    base = os.fspath(root)
    for f in entry["files"]:
        try:
            st = os.stat(os.path.join(base, f))  # (not pathlib: called for every file of every run)
        except OSError:
            return False
        if not stat_mod.S_ISREG(st.st_mode) or (f in sizes and st.st_size != sizes[f]):
            return False
    return True


def _unlink_missing_ok(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


#: File names twinforge writes in a run's folder, per kind of top-level folder (a samples-like
#: table has run folders in format 1 only).
_RUN_FILE_NAMES = {
    SAMPLES_DIR: {PART_NAME_V1, f".{PART_NAME_V1}.tmp"},
    SHARDS_DIR: {EVENTS_NAME, SHARD_RUN_NAME, f".{EVENTS_NAME}.tmp", f".{SHARD_RUN_NAME}.tmp"},
}
_TOP_FILE_NAMES = (EVENTS_NAME, RUNS_NAME, JOURNAL, f".{EVENTS_NAME}.tmp", f".{RUNS_NAME}.tmp", f".{MANIFEST}.tmp")


def previous_dataset_paths(root: Path) -> tuple[list[Path], list[Path]]:
    """What ``--overwrite`` deletes in the dataset at ``root``: ``(files, folders)``.

    Only twinforge's own files: those ``manifest.json`` lists, the merged tables, the
    lock and, in the folders of its own layout (``<table>/<twin>/run-<n>.parquet`` under
    ``samples`` and the extra tables the manifest names, ``_runs/<twin>/run-<n>/``; format 1:
    ``<folder>/twin=<twin>/run_id=<n>/``), the files of runs that never completed
    (twinforge's file names only); ``manifest.json`` comes last.
    Folders are removed only once empty, so a user's file anywhere stays where it is.

    Raises
    ------
    ValueError
        The manifest is not twinforge's, or is damaged.
    FileExistsError
        A path on the way is a symbolic link (twinforge writes none): nothing is deleted.
    """
    manifest = read_manifest(root)
    listed: list[str] = [f for e in manifest["runs"] for f in e["files"]]
    kinds = {SAMPLES_DIR: SAMPLES_DIR, SHARDS_DIR: SHARDS_DIR}
    for f in listed:
        kinds.setdefault(f.split("/", 1)[0], SAMPLES_DIR)  # an extra table: a samples-like layout
    files: dict[str, Path] = {f: root / f for f in listed}
    dirs: list[Path] = []

    def refuse(path: Path) -> None:
        raise FileExistsError(
            f"cannot overwrite {root}: {path.relative_to(root).as_posix()} is a symbolic link, which "
            "twinforge never writes; nothing was deleted (remove the link or choose another output path)"
        )

    def scan(folder: Path) -> list[os.DirEntry]:
        with os.scandir(folder) as it:
            return sorted(it, key=lambda e: e.name)

    for top, kind in sorted(kinds.items()):
        base = root / top
        if base.is_symlink():
            refuse(base)
        if not base.is_dir():
            continue
        if kind == SHARDS_DIR and (base / ".lock").is_file():
            files.setdefault(f"{top}/.lock", base / ".lock")
        for twin_dir in scan(base):
            if not TWIN_DIR_RE.match(twin_dir.name):
                continue
            if twin_dir.is_symlink():
                refuse(Path(twin_dir.path))
            if not twin_dir.is_dir():
                continue
            for run_dir in scan(Path(twin_dir.path)):
                if kind == SAMPLES_DIR and RUN_FILE_RE.match(run_dir.name):  # format 2: a run's file
                    if run_dir.is_symlink():
                        refuse(Path(run_dir.path))
                    files.setdefault(Path(run_dir.path).relative_to(root).as_posix(), Path(run_dir.path))
                    continue
                if not RUN_DIR_RE.match(run_dir.name):
                    continue
                if run_dir.is_symlink():
                    refuse(Path(run_dir.path))
                if not run_dir.is_dir():
                    continue
                for f in scan(Path(run_dir.path)):
                    if f.name in _RUN_FILE_NAMES[kind]:
                        files.setdefault(Path(f.path).relative_to(root).as_posix(), Path(f.path))
                dirs.append(Path(run_dir.path))
            dirs.append(Path(twin_dir.path))
        dirs.append(base)
    for name in _TOP_FILE_NAMES:
        if os.path.lexists(root / name):
            files.setdefault(name, root / name)
    for rel, path in files.items():  # no link anywhere on the way, nothing but regular files
        part = root
        for comp in rel.split("/"):
            part = part / comp
            if part.is_symlink():
                refuse(part)
        if os.path.lexists(path) and not path.is_file():
            raise FileExistsError(
                f"cannot overwrite {root}: {rel} is not a regular file; nothing was deleted"
            )
    ordered = [files[k] for k in sorted(files)] + [root / MANIFEST]
    return ordered, dirs


def _column_array(name: str, values: Any, where: str) -> pa.Array:
    """One column of an extra table: 1-d values, or one list per row from a 2-d array."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    if isinstance(values, (pd.Series, pd.Index)) and isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.tz_convert("UTC").tz_localize(None).to_numpy()
    if isinstance(values, np.ndarray):
        if values.dtype.kind == "M":
            return pa.array(values.astype("datetime64[ns]"), type=pa.timestamp("ns", tz="UTC"))
        if values.ndim == 2:
            n, m = values.shape
            flat = pa.array(np.ascontiguousarray(values).reshape(-1))
            offsets = pa.array(np.arange(n + 1, dtype=np.int32) * m, type=pa.int32())
            return pa.ListArray.from_arrays(offsets, flat)
        if values.ndim != 1:
            raise ValueError(f"{where}: column {name!r} must be 1-d or 2-d, got shape {values.shape}")
        return pa.array(values)
    try:
        return pa.array(list(values))
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as exc:
        raise ValueError(f"{where}: column {name!r} cannot be stored: {exc}") from None


def _extra_options(schema: pa.Schema) -> dict[str, Any]:
    """Parquet options of an extra table: byte-stream split for floats, dictionaries only for
    the run's ids (one value per file)."""
    split = [f.name for f in schema if pa.types.is_floating(f.type)]
    ids = [f.name for f in ID_FIELDS if f.name in schema.names]
    return {"use_dictionary": ids or False, "use_byte_stream_split": split or False, **_WRITE_OPTIONS}


def _small_table_options(table: pa.Table) -> dict[str, Any]:
    """Parquet options of the shards and merged tables: dictionaries for strings, one row group."""
    dictionary = [f.name for f in table.schema if pa.types.is_string(f.type)]
    return {"use_dictionary": dictionary, "row_group_size": max(table.num_rows, 1), **_WRITE_OPTIONS}


def encoded_size(
    twin: str, channels: Sequence[ChannelSpec], block: Mapping[str, Any],
    run_record: Mapping[str, Any] | None = None, events: pd.DataFrame | None = None,
    tables: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[int, int]:
    """Bytes a rendered block takes once written, encoded and compressed as the writer does.

    Parameters
    ----------
    twin : str
    channels : sequence of ChannelSpec
    block : dict
        The samples of a block as :func:`twinforge.core.engine.simulate` yields them
        (``Rendered.samples``): ``time`` and the channels.
    run_record : dict, optional
        The run's record (one row of ``runs.parquet``).
    events : DataFrame, optional
        The run's events (its events shard; empty if not given).
    tables : dict, optional
        The block's rows of the run's extra tables (``Rendered.tables``).

    Returns
    -------
    (block_bytes, run_bytes) : tuple of int
        The samples and extra tables of the block (one file each, footers included) and the
        per-run files besides them (the run record and an events shard) [bytes]. Nothing
        is written to disk.
    """
    class _Nowhere:  # a RunWriter that never touches the disk
        root = Path(".")
        _open: set[tuple[str, int]] = set()

    meta = {"period_s": 1.0, "seed": 0, "config_hash": "0" * 64, "start": "2000-01-01T00:00:00+00:00"}
    run = RunWriter(_Nowhere(), twin, 0, tuple(channels), _run_metadata(twin, 0, tuple(channels), meta))  # type: ignore[arg-type]
    sizes = 0
    table = run._to_table(dict(block))
    sink = pa.BufferOutputStream()
    writer = run._open(run._first_ns, sink=sink)
    writer.write_table(table, row_group_size=max(table.num_rows, 1))
    writer.close()
    sizes += sink.getvalue().size
    for name, extra in sorted((tables or {}).items()):
        stream = _TableStream(run, name)
        table = stream.to_table(extra)
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, row_group_size=max(table.num_rows, 1), **_extra_options(table.schema))
        sizes += sink.getvalue().size
    other = 0
    ev = concat_events([]) if events is None else _events_table(events, twin, 0, "estimate")
    for table in (ev, _run_table(dict(run_record or {"run_id": 0}))):
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, **_small_table_options(table))
        other += sink.getvalue().size
    return sizes, other


class _TableStream:
    """One extra table of a run: streamed to a hidden temporary file, renamed at commit."""

    def __init__(self, run: RunWriter, name: str) -> None:
        self.run, self.name = run, name
        self.relative = Path(run_file(name, run.twin, run.run_id))
        self.path = run.dataset.root / self.relative
        self.tmp_path = self.path.with_name(f".{self.path.name}.tmp")
        self.schema: pa.Schema | None = None
        self._writer: pq.ParquetWriter | None = None
        self.rows = 0

    def write(self, block: Mapping[str, Any]) -> None:
        table = self.to_table(block)
        if table.num_rows == 0:
            return
        if self._writer is None:
            with _disk("create", self.tmp_path):
                self.tmp_path.parent.mkdir(parents=True, exist_ok=True)
                self._writer = pq.ParquetWriter(self.tmp_path, self.schema, **_extra_options(self.schema))
        with _disk("write", self.tmp_path):
            self._writer.write_table(table, row_group_size=table.num_rows)
        self.rows += table.num_rows

    def to_table(self, block: Mapping[str, Any]) -> pa.Table:
        """One block of the table as Arrow (the first block fixes the schema)."""
        where = f"run {self.run.twin}/{self.run.run_id}, table {self.name!r}"
        if not isinstance(block, Mapping) or not block:
            raise TypeError(f"{where}: a block is a non-empty dict of column name -> array")
        arrays = {k: _column_array(k, v, where) for k, v in block.items()}
        lengths = {k: len(a) for k, a in arrays.items()}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"{where}: columns differ in length: {lengths}")
        if self.schema is None:
            for k in arrays:
                if not isinstance(k, str) or not _COLUMN_RE.match(k) or k in ("twin", "run_id"):
                    raise ValueError(f"{where}: invalid column name {k!r} ('twin', 'run_id' are reserved)")
            fields = pa.schema([*ID_FIELDS, *(pa.field(k, a.type) for k, a in arrays.items())])
            meta = {k: v for k, v in self.run.metadata.items() if k != "columns"}
            meta["table"] = self.name
            self.schema = _with_metadata(fields, meta)
        elif list(arrays) != self.schema.names[2:]:
            raise ValueError(f"{where}: columns {list(arrays)} differ from the first block's {self.schema.names[2:]}")
        n = next(iter(lengths.values()))
        try:
            table = pa.Table.from_arrays(
                [*_id_arrays(self.run.twin, self.run.run_id, n)]
                + [a.cast(f.type) if a.type != f.type else a for a, f in zip(arrays.values(), list(self.schema)[2:])],
                schema=self.schema,
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
            raise ValueError(f"{where}: block does not match the table's schema: {exc}") from None
        return table

    def close(self) -> None:
        """Close and sync the temporary file (an empty table if no row was written)."""
        if self._writer is None:
            if self.schema is None:
                raise ValueError(f"table {self.name!r} has no schema")
            with _disk("create", self.tmp_path):
                self.tmp_path.parent.mkdir(parents=True, exist_ok=True)
                self._writer = pq.ParquetWriter(self.tmp_path, self.schema, **_WRITE_OPTIONS)
        with _disk("write", self.tmp_path):
            self._writer.close()
            self._writer = None
            _fsync_file(self.tmp_path)

    def rename_into_place(self) -> None:
        with _disk("rename into place", self.path):
            os.replace(self.tmp_path, self.path)
            _fsync_dir(self.path.parent)

    def abort(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
            self._writer = None
        _unlink_quietly(self.tmp_path)
        _unlink_quietly(self.path)  # renamed by a commit that then failed: not complete


# -- conversions -------------------------------------------------------------------------


def _check_dataset_hash(
    root: Path, entries: list[dict[str, Any]], dataset_metadata: Mapping[str, Any] | None
) -> None:
    """Refuse dataset metadata whose ``config_hash`` is not the one every run was made with."""
    chash = (dataset_metadata or {}).get("config_hash")
    hashes = {e.get("config_hash") for e in entries}
    if isinstance(chash, str) and len(hashes) == 1 and chash not in hashes:
        raise ValueError(
            f"the runs in {root} were made with config_hash {hashes.pop()}, not {chash}: "
            "resume with the same scenario and seed, or use --overwrite"
        )


def _only_our_skeleton(root: Path) -> bool:
    """Whether ``root`` holds only the folders another process creates before its manifest."""
    try:
        for entry in root.iterdir():
            if entry.name in (MANIFEST, f".{MANIFEST}.tmp"):  # appearing right now
                continue
            if entry.name not in (SAMPLES_DIR, SHARDS_DIR) or not entry.is_dir():
                return False
            for child in entry.iterdir():
                if not (child.is_dir() and TWIN_DIR_RE.match(child.name) or child.name == ".lock"):
                    return False
    except OSError:
        return False
    return True


def _check_channels(channels: tuple[ChannelSpec, ...]) -> None:
    seen: set[str] = set()
    for c in channels:
        if not isinstance(c, ChannelSpec):
            raise TypeError(f"channels must be ChannelSpec objects, got {type(c).__name__}")
        if not _COLUMN_RE.match(c.name) or c.name in ("time", "twin", "run_id"):
            raise ValueError(
                f"invalid channel name {c.name!r} "
                "(snake_case; 'time', 'twin', 'run_id' are reserved)"
            )
        if c.name in seen:
            raise ValueError(f"channel {c.name!r} is declared twice")
        seen.add(c.name)
        arrow_type(c.dtype)


def _iso_utc(ts: pd.Timestamp) -> str:
    return ts.isoformat()


def _run_metadata(
    twin: str, run_id: int, channels: tuple[ChannelSpec, ...], metadata: Mapping[str, Any]
) -> dict[str, Any]:
    from twinforge import __version__

    where = f"run {twin}/{run_id}"
    if not isinstance(metadata, Mapping):
        raise TypeError(f"{where}: metadata must be a dict, not {type(metadata).__name__}")
    missing = [k for k in REQUIRED_METADATA if k not in metadata]
    if missing:
        raise ValueError(f"{where}: metadata lacks {missing}")
    meta = dict(metadata)
    for key, value in (("twin", twin), ("run_id", run_id)):
        if key in meta and meta[key] != value:
            raise ValueError(f"{where}: metadata[{key!r}] is {meta[key]!r}, expected {value!r}")
        meta[key] = value
    period = meta["period_s"]
    if (
        isinstance(period, bool)
        or not isinstance(period, (int, float, np.number))
        or not period > 0
    ):
        raise ValueError(f"{where}: metadata['period_s'] must be a positive number, not {period!r}")
    meta["period_s"] = float(period)
    if "start" in meta:
        try:
            ts = pd.Timestamp(meta["start"])
        except (ValueError, TypeError):
            raise ValueError(
                f"{where}: metadata['start'] is not a timestamp: {meta['start']!r}"
            ) from None
        meta["start"] = _iso_utc(
            ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
        )
    meta.setdefault("twinforge_version", __version__)
    meta["columns"] = {c.name: c.to_dict() for c in channels}
    try:
        canonical_json(meta)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: metadata is not JSON-serialisable: {exc}") from None
    return meta


def _time_ns(values: Any, where: str) -> np.ndarray:
    """``values`` as int64 nanoseconds since the epoch, UTC."""
    if isinstance(values, (pd.Series, pd.Index)) and isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.tz_convert("UTC").tz_localize(None)
    if isinstance(values, (pd.Series, pd.Index)):
        values = values.to_numpy()
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.dtype.kind != "M":
        raise ValueError(
            f"{where}: 'time' must be a 1-d datetime64 array (UTC), "
            f"got dtype {arr.dtype} and shape {arr.shape}"
        )
    if np.isnat(arr).any():
        raise ValueError(f"{where}: 'time' contains NaT")
    return arr.astype("datetime64[ns]").view(np.int64)


def _events_table(events: pd.DataFrame | pa.Table, twin: str, run_id: int, where: str) -> pa.Table:
    if isinstance(events, pa.Table):
        return _checked_events(events, twin, run_id, where)
    if not isinstance(events, pd.DataFrame):
        raise TypeError(
            f"{where}: events must be a pandas DataFrame or a pyarrow Table, not {type(events).__name__}"
        )
    df = events.copy()
    if "run_id" not in df:
        df["run_id"] = run_id
    if "twin" not in df:
        df["twin"] = twin
    if "severity_unit" not in df and "type" in df:  # the registered types' declared units
        import twinforge.twins  # noqa: F401  (registers every event type)
        from twinforge.core.eventlog import severity_unit_of

        df["severity_unit"] = [severity_unit_of(str(t)) for t in df["type"]]
    names = EVENTS_SCHEMA.names
    missing = [n for n in names if n not in df and n != "severity_unit"]  # optional: from type
    extra = [c for c in df.columns if c not in names]
    if missing or extra:
        raise ValueError(
            f"{where}: events columns must be {names}"
            + (f"; missing {missing}" if missing else "")
            + (f"; unexpected {extra}" if extra else "")
        )
    if len(df) and (not (df["run_id"] == run_id).all() or not (df["twin"] == twin).all()):
        raise ValueError(f"{where}: events belong to another run (run_id/twin columns differ)")
    values: dict[str, Any] = {}
    for field in EVENTS_SCHEMA:
        col = df[field.name]
        try:
            if pa.types.is_timestamp(field.type):
                ts = pd.to_datetime(col, utc=True)
                values[field.name] = ts.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]")
            elif pa.types.is_string(field.type):
                values[field.name] = col.astype(object).to_numpy()
            elif field.name != "params":
                values[field.name] = col.to_numpy()
        except (ValueError, TypeError) as exc:
            raise ValueError(
                f"{where}: events column {field.name!r} cannot be stored as {field.type}: {exc}"
            ) from None
    return events_table(values, list(df["params"]), [], where)


def _checked_events(table: pa.Table, twin: str, run_id: int, where: str) -> pa.Table:
    """An events table given as Arrow (:func:`events_table`), checked to be one of this run."""
    params = table.schema.field("params").type if "params" in table.column_names else None
    if table.column_names != EVENTS_SCHEMA.names or not (
        pa.types.is_null(params) or (pa.types.is_struct(params) and params.num_fields)
    ) or any(table.schema.field(f.name).type != f.type for f in EVENTS_SCHEMA if f.name != "params"):
        raise ValueError(
            f"{where}: an events table must have the schema {EVENTS_SCHEMA} (params a struct "
            f"with fields, or null), not {table.schema}"
        )
    for name in ("event_id", "run_id", "twin", "start", "end"):
        if table.column(name).null_count:
            raise ValueError(f"{where}: events column {name!r} has missing values")
    if table.num_rows and (
        not pc.all(pc.equal(table.column("run_id"), run_id)).as_py()
        or not pc.all(pc.equal(table.column("twin"), twin)).as_py()
    ):
        raise ValueError(f"{where}: events belong to another run (run_id/twin columns differ)")
    return table.replace_schema_metadata(None)


def events_table(
    values: Mapping[str, Any], dicts: list[Any], bulk: Sequence[tuple[int, Mapping[str, np.ndarray]]],
    where: str,
) -> pa.Table:
    """One run's events as the table of its events shard (:data:`EVENTS_SCHEMA`).

    Parameters
    ----------
    values : dict
        Every column but ``params``, one value per event (arrays or lists): ``start`` and
        ``end`` as datetime64[ns] (UTC) or int64 nanoseconds since the epoch; NaN in a float
        column is stored as null.
    dicts : list
        The ``params`` of the first events (dicts; JSON strings and None accepted), stored by
        the rules of :func:`_params_array`.
    bulk : sequence of (rows, {name: float64 array})
        The ``params`` of the remaining events, in row order: groups of ``rows`` events that
        all have exactly these parameters (numbers). Stored as :func:`_params_array` would
        store them as dicts after ``dicts``.
    where : str
        What the events belong to, for error messages.
    """
    names = EVENTS_SCHEMA.names
    arrays = []
    for field in EVENTS_SCHEMA:
        try:
            if field.name == "params":
                arrays.append(_params_struct(dicts, bulk, where))
            elif pa.types.is_timestamp(field.type):
                ns = np.asarray(values[field.name]).astype("datetime64[ns]", copy=False)
                arrays.append(pa.array(ns, type=field.type))
            else:
                arrays.append(pa.array(values[field.name], type=field.type, from_pandas=True))
        except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError, TypeError) as exc:
            raise ValueError(
                f"{where}: events column {field.name!r} cannot be stored as {field.type}: {exc}"
            ) from None
    for name in ("event_id", "run_id", "start", "end"):
        if arrays[names.index(name)].null_count:
            raise ValueError(f"{where}: events column {name!r} has missing values")
    return _events_with_params(pa.Table.from_arrays(arrays, names=names))


def _params_struct(
    dicts: list[Any], bulk: Sequence[tuple[int, Mapping[str, np.ndarray]]], where: str,
) -> pa.Array:
    """:func:`_params_array` of ``dicts`` followed by the ``bulk`` groups' rows (see
    :func:`events_table`), built from the groups' arrays where that stores the same values
    (every field the ``dicts`` share with a group is float64 there), else from dicts."""
    if not bulk:
        return _params_array(dicts, where)
    head = _params_array(dicts, where) if dicts else None
    head_types = {f.name: f.type for f in head.type} if head is not None else {}
    bulk_names = {k for _, group in bulk for k in group}
    if any(head_types.get(k, pa.float64()) != pa.float64() for k in bulk_names):
        rows = list(dicts)
        for n, group in bulk:
            keys = list(group)
            columns = [group[k].tolist() for k in keys]
            rows.extend([dict(zip(keys, r)) for r in zip(*columns)] if keys else [{} for _ in range(n)])
        return _params_array(rows, where)
    n_head = len(dicts)
    n_all = n_head + sum(n for n, _ in bulk)
    names = sorted(set(head_types) | bulk_names)
    if not names:
        return pa.array([{}] * n_all, type=pa.struct([]))
    children = []
    for name in names:
        if name not in bulk_names:  # a field of the dicts only: nulls after them
            child = head.field(name)
            children.append(pa.concat_arrays([child, pa.nulls(n_all - n_head, type=child.type)]))
            continue
        parts = [np.asarray(group[name], dtype=np.float64) if name in group else np.full(n, np.nan)
                 for n, group in bulk]
        valid = [np.ones(n, dtype=bool) if name in group else np.zeros(n, dtype=bool) for n, group in bulk]
        if name in head_types:
            parts.insert(0, head.field(name).to_numpy(zero_copy_only=False).astype(np.float64))
            valid.insert(0, head.field(name).is_valid().to_numpy(zero_copy_only=False))
        else:
            parts.insert(0, np.full(n_head, np.nan))
            valid.insert(0, np.zeros(n_head, dtype=bool))
        mask = ~np.concatenate(valid)
        children.append(pa.array(np.concatenate(parts), type=pa.float64(), mask=mask if mask.any() else None))
    return pa.StructArray.from_arrays(children, names=names)


#: A params field whose values are all of one of these exact Python types (or None, with at
#: least one value) is stored as the type given, as the general rules of :func:`_params_array`
#: would store it, without converting its values one by one.
_PLAIN_KINDS = {frozenset({float}): pa.float64(), frozenset({int}): pa.int64(),
                frozenset({bool}): pa.bool_(), frozenset({str}): pa.string()}


def _params_array(values: list[Any], where: str) -> pa.Array:
    """The events' ``params`` (dicts; JSON strings and None accepted) as one struct array.

    Fields are the sorted union of the names; a field's type is bool, int64, float64 (ints
    and floats mixed) or, for anything else, string; an event without a field has it null.
    """
    if all(type(v) is dict for v in values):  # the event log's own rows: no conversion
        dicts = values
    else:
        dicts = []
        for v in values:
            if v is None or (isinstance(v, float) and math.isnan(v)):
                v = {}
            elif isinstance(v, str):
                v = json.loads(v) if v.strip() else {}
            if not isinstance(v, Mapping):
                raise TypeError(f"a row's params must be a dict, not {type(v).__name__}")
            dicts.append(v)
    names = sorted({str(k) for d in dicts for k in d})
    children = []
    for name in names:
        column = [d.get(name) for d in dicts]
        one = _PLAIN_KINDS.get(frozenset({type(x) for x in column} - {type(None)}))
        if one is not None:  # one plain Python type and nulls: the branches below change nothing
            children.append(pa.array(column, type=one))
            continue
        column = [x.item() if isinstance(x, np.generic) else x for x in column]
        present = [x for x in column if x is not None]
        if all(isinstance(x, bool) for x in present):
            kind = pa.bool_()
        elif all(isinstance(x, int) and not isinstance(x, bool) for x in present):
            kind = pa.int64()
        elif all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in present):
            kind, column = pa.float64(), [None if x is None else float(x) for x in column]
        else:
            kind = pa.string()
            column = [x if x is None or isinstance(x, str) else canonical_json(x) for x in column]
        children.append(pa.array(column, type=kind))
    if not names:
        return pa.StructArray.from_arrays([], fields=[]) if not dicts else pa.array(
            [{}] * len(dicts), type=pa.struct([])
        )
    return pa.StructArray.from_arrays(children, names=names)


def _unify_struct_types(types: list[pa.DataType]) -> pa.DataType:
    """The struct type that holds every one of ``types`` (structs or null): the sorted union
    of the fields; a field of several types becomes float64 (ints and floats) or string."""
    fields: dict[str, set[pa.DataType]] = {}
    for t in types:
        if pa.types.is_struct(t):
            for f in t:
                fields.setdefault(f.name, set()).add(f.type)
    out = []
    for name in sorted(fields):
        kinds = fields[name] - {pa.null()}
        if len(kinds) <= 1:
            kind = kinds.pop() if kinds else pa.null()
        elif all(pa.types.is_integer(k) or pa.types.is_floating(k) for k in kinds):
            kind = pa.float64()
        else:
            kind = pa.string()
        out.append(pa.field(name, kind))
    return pa.struct(out)


def _cast_params(column: pa.Array | pa.ChunkedArray, target: pa.DataType) -> pa.Array:
    """``column`` (a struct or null array) with exactly the fields of the struct ``target``."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks else pa.array([], type=column.type)
    n = len(column)
    have = {f.name for f in column.type} if pa.types.is_struct(column.type) else set()
    children = []
    for field in target:
        if field.name in have:
            child = column.field(field.name)
            children.append(child if child.type == field.type else child.cast(field.type))
        else:
            children.append(pa.nulls(n, type=field.type))
    return pa.StructArray.from_arrays(children, fields=list(target)) if len(target) else pa.array(
        [{}] * n, type=pa.struct([])
    )


def _events_with_params(table: pa.Table) -> pa.Table:
    """``table`` with its ``params`` stored as Parquet can: a struct with at least one field,
    or a null column where no event has a parameter."""
    i = table.schema.get_field_index("params")
    column = table.column(i)
    if pa.types.is_struct(column.type) and column.type.num_fields == 0:
        return table.set_column(i, pa.field("params", pa.null()), pa.nulls(table.num_rows))
    return table


def concat_events(tables: Sequence[pa.Table]) -> pa.Table:
    """Events tables of several runs as one (:func:`_events_schema`), rows in the given order."""
    tables = list(tables)
    if not tables:
        return _events_with_params(EVENTS_SCHEMA.empty_table())
    schema = _events_schema([t.schema for t in tables])
    return pa.concat_tables([_conform(t, schema) for t in tables])


def _events_schema(schemas: Sequence[pa.Schema]) -> pa.Schema:
    """The schema of several runs' events as one table: their ``params`` structs unified
    (:func:`_unify_struct_types`; a dataset of format 1 keeps its JSON-string ``params``),
    stored as a null column where no event has a parameter, other columns promoted."""
    target = _unify_struct_types([s.field("params").type for s in schemas])
    fixed = [
        s if pa.types.is_string(s.field("params").type)  # a dataset of format 1 (JSON params)
        else s.set(s.get_field_index("params"), pa.field("params", target))
        for s in schemas
    ]
    schema = pa.unify_schemas(fixed, promote_options="permissive")
    params = schema.field("params").type
    if pa.types.is_struct(params) and params.num_fields == 0:
        schema = schema.set(schema.get_field_index("params"), pa.field("params", pa.null()))
    return schema


def _id_arrays(twin: str, run_id: int, n: int) -> list[pa.Array]:
    """The ``twin`` and ``run_id`` columns of ``n`` rows of one run."""
    return [pa.repeat(twin, n).cast(pa.string()), pa.repeat(pa.scalar(int(run_id), pa.int64()), n)]


def _scalar(key: str, value: Any, where: str) -> tuple[Any, pa.DataType]:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None:
        return None, pa.null()
    if isinstance(value, bool):
        return value, pa.bool_()
    if isinstance(value, int):
        return value, pa.int64()
    if isinstance(value, float):
        return value, pa.float64()
    if isinstance(value, str):
        return value, pa.string()
    if isinstance(value, pd.Timestamp):
        ts = value.tz_localize("UTC") if value.tzinfo is None else value.tz_convert("UTC")
        return ts, pa.timestamp("ns", tz="UTC")
    raise ValueError(
        f"{where}: run_record[{key!r}] = {value!r} is not a scalar (int, float, str, bool, None); "
        "flatten it or store it as a string"
    )


def _run_table(record: Mapping[str, Any], where: str = "run") -> pa.Table:
    arrays, names = [], []
    for key, value in record.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"{where}: run_record keys must be non-empty strings, got {key!r}")
        v, t = _scalar(key, value, where)
        if t == pa.float64() and v is not None and math.isnan(v):
            v = float("nan")
        arrays.append(pa.array([v], type=t))
        names.append(key)
    return pa.Table.from_arrays(arrays, names=names)


def _strip(table: pa.Table) -> pa.Table:
    return table.replace_schema_metadata(None)
