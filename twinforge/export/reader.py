"""Read a twinforge dataset: pandas tables, an xarray view with a ``twin`` accessor, a summary.

>>> ds = open_dataset("data/")                                    # doctest: +SKIP
>>> df = ds.samples(columns=["mains_power_w"], runs=[0, 1])       # doctest: +SKIP
>>> x = ds.to_xarray()                                            # doctest: +SKIP
>>> x.twin.units["mains_power_w"], x.twin.channels(kind="interval")  # doctest: +SKIP
>>> print(describe("data/"))                                      # doctest: +SKIP

Only the runs recorded in ``manifest.json`` (and, before finalize, its ``manifest.journal``)
are read: a run interrupted before its commit is invisible, even if some of its files exist. A dataset whose campaign was interrupted
before :meth:`DatasetWriter.finalize` is still readable: its event and run tables are then
gathered from the per-run shards. Datasets of format 1 (``key=value`` partition folders,
JSON ``params``) are read too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import xarray as xr

from twinforge.export.parquet import (
    EVENTS_NAME,
    MANIFEST,
    METADATA_KEY,
    RUNS_NAME,
    SAMPLES_DIR,
    concat_events,
    read_manifest,
)

__all__ = ["PARTITIONING", "TwinAccessor", "TwinDataset", "check_dataset_folder", "describe", "open_dataset"]

#: Hive partitioning of ``samples/`` in datasets of format 1 (explicit types, never inferred).
PARTITION_SCHEMA = pa.schema([("twin", pa.string()), ("run_id", pa.int64())])
PARTITIONING = pads.partitioning(PARTITION_SCHEMA, flavor="hive")
_IDS = ("twin", "run_id")


def check_dataset_folder(path: str | Path) -> Path:
    """``path`` as a Path if it is a folder holding a ``manifest.json``.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        ``path`` is a file, or a folder without ``manifest.json``.
    """
    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(f"no dataset at {root}: the folder does not exist")
    if not root.is_dir():
        raise ValueError(f"{root} is a file, not a twinforge dataset folder")
    if not (root / MANIFEST).is_file():
        hint = (
            f"; the dataset is its parent folder {root.parent}"
            if (root.parent / MANIFEST).is_file() else "; was it written by twinforge generate?"
        )
        raise ValueError(f"{root} is not a twinforge dataset (no {MANIFEST}){hint}")
    return root


def open_dataset(path: str | Path) -> TwinDataset:
    """Open the twinforge dataset at ``path``.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist, or a file of a completed run is missing.
    ValueError
        ``path`` is not a twinforge dataset (no valid ``manifest.json``).
    """
    return TwinDataset(path)


class TwinDataset:
    """A twinforge dataset on disk; tables are read on demand.

    Attributes
    ----------
    root : Path
    manifest : dict
        The parsed ``manifest.json``.
    """

    def __init__(self, path: str | Path) -> None:
        root = check_dataset_folder(path)
        self.root = root
        self.manifest: dict[str, Any] = read_manifest(root)
        entries = sorted(self.manifest.get("runs", []), key=lambda e: (e["twin"], e["run_id"]))
        for e in entries:
            for f in e.get("files", []):
                if not (root / f).is_file():
                    raise FileNotFoundError(
                        f"{root / f} is missing but {root / MANIFEST} lists run "
                        f"{e['twin']}/{e['run_id']} as complete; was the dataset copied partially?"
                    )
        self._entries = entries

    def __repr__(self) -> str:
        twins = ", ".join(self.twins) or "no twin"
        return f"<TwinDataset {self.root}: {len(self._entries)} run(s) of {twins}>"

    # -- what is in it ---------------------------------------------------------------------
    @property
    def twins(self) -> list[str]:
        """Names of the twins with at least one completed run (sorted)."""
        return sorted({e["twin"] for e in self._entries})

    @property
    def run_ids(self) -> dict[str, list[int]]:
        """Completed run ids per twin."""
        out: dict[str, list[int]] = {}
        for e in self._entries:
            out.setdefault(e["twin"], []).append(int(e["run_id"]))
        return out

    @property
    def finalized(self) -> bool:
        """Whether ``events.parquet`` and ``runs.parquet`` cover every completed run."""
        return bool(self.manifest.get("finalized")) and all(
            (self.root / n).is_file() for n in (EVENTS_NAME, RUNS_NAME)
        )

    def _twin(self, twin: str | None) -> str:
        twins = self.twins
        if twin is None:
            if len(twins) != 1:
                raise ValueError(
                    f"{self.root} holds {'no twin' if not twins else 'twins ' + ', '.join(twins)}; "
                    "pass twin=... to choose one"
                )
            return twins[0]
        if twin not in twins:
            raise ValueError(
                f"no completed run of twin {twin!r} in {self.root} "
                f"(twins: {', '.join(twins) or 'none'})"
            )
        return twin

    def _files(
        self, twin: str | Sequence[str] | None = None, runs: Any = None
    ) -> list[dict[str, Any]]:
        entries = self._entries
        if twin is not None:
            wanted = {twin} if isinstance(twin, str) else set(twin)
            unknown = wanted - set(self.twins)
            if unknown:
                raise ValueError(f"no completed run of twin(s) {sorted(unknown)} in {self.root}")
            entries = [e for e in entries if e["twin"] in wanted]
        if runs is not None:
            ids = {int(runs)} if isinstance(runs, (int, np.integer)) else {int(r) for r in runs}
            unknown_ids = ids - {int(e["run_id"]) for e in entries}
            if unknown_ids:
                raise ValueError(f"run(s) {sorted(unknown_ids)} are not complete in {self.root}")
            entries = [e for e in entries if int(e["run_id"]) in ids]
        return entries

    def _part(self, entry: dict[str, Any]) -> Path:
        return self.root / entry["files"][0]

    # -- metadata --------------------------------------------------------------------------
    def metadata(self, twin: str | None = None) -> dict[str, Any]:
        """The ``twinforge`` Parquet metadata of ``twin`` (of its first run): columns with
        units, ``period_s``, ``seed``, ``config_hash``, ``twinforge_version``, ``start``..."""
        twin = self._twin(twin)
        return self._metadata_of(self._files(twin)[0])

    def _metadata_of(self, entry: dict[str, Any]) -> dict[str, Any]:
        path = self._part(entry)
        schema = pq.read_schema(path)
        raw = schema.metadata or {}
        if METADATA_KEY not in raw:
            raise ValueError(f"{path} has no twinforge metadata")
        meta = json.loads(raw[METADATA_KEY])
        cols = meta.get("columns", {})  # canonical JSON sorts keys: restore the file's order
        meta["columns"] = {n: cols[n] for n in schema.names if n in cols} | cols
        return meta

    @property
    def units(self) -> dict[str, str]:
        """Unit of every channel (all twins): column name -> unit string."""
        out: dict[str, str] = {}
        for t in self.twins:
            for name, spec in self.metadata(t)["columns"].items():
                out.setdefault(name, spec["unit"])
        return out

    def columns(self, twin: str | None = None) -> dict[str, dict[str, str]]:
        """Declared channels of ``twin``: name -> {unit, kind, dtype, description}."""
        return self.metadata(twin)["columns"]

    # -- tables ----------------------------------------------------------------------------
    def samples(
        self,
        columns: Sequence[str] | None = None,
        runs: int | Iterable[int] | None = None,
        twin: str | Sequence[str] | None = None,
        *,
        event_columns: bool = False,
    ) -> pd.DataFrame:
        """The samples as one DataFrame sorted by ``twin``, ``run_id``, ``time``.

        Parameters
        ----------
        columns : list of str, optional
            Channels to read (default all); ``twin``, ``run_id`` and ``time`` always come.
        runs : int or iterable of int, optional
            Run ids to read (default all completed runs).
        twin : str or list of str, optional
            Twin(s) to read (default all).
        event_columns : bool
            Replace the ``events_active`` lists by one boolean column ``event_<type>`` per
            labelled event type that occurs in the selected samples (a multi-label target).

        Returns
        -------
        DataFrame with columns ``twin``, ``run_id``, ``time`` (UTC), then the channels.
        """
        if event_columns and columns is not None and "events_active" not in columns:
            columns = [*([columns] if isinstance(columns, str) else columns), "events_active"]
        table = self._samples_table(columns, runs, twin)
        if not event_columns or "events_active" not in table.column_names:
            return table.to_pandas()
        types, active = _one_hot(table.column("events_active"))
        df = table.drop_columns(["events_active"]).to_pandas()
        for k, t in enumerate(types):
            df[f"event_{t}"] = active[:, k]
        return df

    def _samples_table(self, columns: Any, runs: Any, twin: Any) -> pa.Table:
        entries = self._files(twin, runs)
        if not entries:
            raise ValueError(f"no completed run to read in {self.root}")
        schemas, seen = [], set()
        for e in entries:  # one schema per twin: runs of a twin share it
            if e["twin"] not in seen:
                seen.add(e["twin"])
                schemas.append(pq.read_schema(self._part(e)).remove_metadata())
        file_schema = pa.unify_schemas(schemas, promote_options="permissive")
        channels = [n for n in file_schema.names if n not in ("time", *_IDS)]
        if columns is None:
            wanted = channels
        else:
            wanted = [columns] if isinstance(columns, str) else list(columns)
            unknown = [c for c in wanted if c not in channels and c not in ("time", *_IDS)]
            if unknown:
                raise ValueError(
                    f"unknown column(s) {unknown} in {self.root}; available: {channels}"
                )
            wanted = [c for c in wanted if c not in ("time", *_IDS)]
        table = _read_files(
            [self._part(e) for e in entries], file_schema, self.root / SAMPLES_DIR,
            [*_IDS, "time", *wanted],
        )
        return table.sort_by(
            [("twin", "ascending"), ("run_id", "ascending"), ("time", "ascending")]
        )

    @property
    def tables(self) -> list[str]:
        """Names of the extra per-run tables (e.g. ``snapshots``) of the completed runs."""
        names = {f.split("/", 1)[0] for e in self._entries for f in e.get("files", [])[3:]}
        return sorted(names)

    def table(
        self,
        name: str,
        runs: int | Iterable[int] | None = None,
        twin: str | Sequence[str] | None = None,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """An extra per-run table (e.g. the machine twin's raw ``snapshots``) as a DataFrame.

        Parameters
        ----------
        name : str
            Table name (see :attr:`tables`).
        runs, twin : optional
            Runs and twin(s) to read (default all completed runs that wrote the table).
        columns : list of str, optional
            Columns to read (default all); ``twin`` and ``run_id`` always come.

        Returns
        -------
        DataFrame with ``twin``, ``run_id``, then the table's columns, sorted by twin and
        run in the order the rows were written.
        """
        prefix = f"{name}/"
        entries = self._files(twin, runs)
        paths = [
            self.root / f for e in entries for f in e.get("files", [])[3:] if f.startswith(prefix)
        ]
        if not paths:
            raise ValueError(
                f"no table {name!r} in the selected runs of {self.root} "
                f"(tables: {', '.join(self.tables) or 'none'})"
            )
        file_schema = pa.unify_schemas(
            [pq.read_schema(p).remove_metadata() for p in paths], promote_options="permissive"
        )
        names = [n for n in file_schema.names if n not in _IDS]
        wanted = names if columns is None else [
            c for c in ([columns] if isinstance(columns, str) else columns) if c not in _IDS
        ]
        unknown = [c for c in wanted if c not in names]
        if unknown:
            raise ValueError(f"unknown column(s) {unknown} in table {name!r}; available: {names}")
        table = _read_files(paths, file_schema, self.root / name, [*_IDS, *wanted])
        # Stable: keep each run's row order, runs in (twin, run_id) order.
        order = pa.table({
            "twin": table.column("twin"),
            "run_id": table.column("run_id"),
            "_row": pa.array(np.arange(table.num_rows)),
        }).sort_by([("twin", "ascending"), ("run_id", "ascending"), ("_row", "ascending")])
        return table.take(order.column("_row")).to_pandas()

    @cached_property
    def events(self) -> pd.DataFrame:
        """Every event of every completed run (``events.parquet``), sorted by twin, run, start."""
        return self._merged(EVENTS_NAME, ["twin", "run_id", "start", "event_id"]).to_pandas()

    @cached_property
    def runs(self) -> pd.DataFrame:
        """One row per completed run: ``run_id``, ``twin``, ``seed``, ``weight``, parameters."""
        return self._merged(RUNS_NAME, ["twin", "run_id"]).to_pandas()

    def _merged(self, name: str, keys: list[str]) -> pa.Table:
        if self.finalized:
            return pq.read_table(self.root / name).replace_schema_metadata(None)
        # not finalized (an interrupted campaign): gather the completed runs' shards
        idx = 1 if name == EVENTS_NAME else 2
        tables = [
            pq.read_table(self.root / e["files"][idx]).replace_schema_metadata(None)
            for e in self._entries
        ]
        if name == EVENTS_NAME:
            table = concat_events(tables)
        elif not tables:
            table = pa.table({"run_id": pa.array([], pa.int64()), "twin": pa.array([], pa.string())})
        else:
            table = pa.concat_tables(tables, promote_options="permissive")
        return table.sort_by([(k, "ascending") for k in keys])

    # -- xarray ----------------------------------------------------------------------------
    def to_xarray(
        self,
        twin: str | None = None,
        columns: Sequence[str] | None = None,
        runs: int | Iterable[int] | None = None,
    ) -> xr.Dataset:
        """The samples of one twin as an :class:`xarray.Dataset` with dims ``(run, time)``.

        The runs must share one time grid. ``time`` is ``datetime64[ns]`` in UTC (xarray
        holds no time zone; the coordinate's ``timezone`` attr says so); ``run`` is the run
        id, with per-run coordinates ``seed``, ``weight`` and ``stratum`` when recorded.
        Each variable's attrs carry ``units`` (also as ``unit``), ``kind``, ``dtype`` and
        ``description``; ``ds.attrs`` carry ``twin``, ``period_s``, ``seed``,
        ``config_hash``, ``twinforge_version`` and ``start``. Use the ``ds.twin`` accessor
        (:class:`TwinAccessor`) for units, channel kinds and event masks.
        """
        twin = self._twin(twin)
        table = self._samples_table(columns, runs, twin)
        run_col = table.column("run_id").to_numpy()
        run_ids, counts = np.unique(run_col, return_counts=True)
        n_run = len(run_ids)
        n_time = int(counts[0])
        times = table.column("time").cast(pa.int64()).to_numpy()
        if np.any(counts != n_time) or np.any(times.reshape(n_run, n_time) != times[:n_time]):
            raise ValueError(
                f"runs of twin {twin!r} in {self.root} do not share one time grid; "
                "select runs that do with to_xarray(runs=[...]) or use samples()"
            )
        meta = self.metadata(twin)
        specs = meta["columns"]
        data_vars = {}
        coords: dict[str, Any] = {}
        for name in table.column_names[3:]:
            col = table.column(name)
            spec = specs.get(name, {})
            attrs = {
                "units": spec.get("unit", ""),
                "unit": spec.get("unit", ""),
                "kind": spec.get("kind", ""),
                "dtype": spec.get("dtype", ""),
                "description": spec.get("description", ""),
            }
            if pa.types.is_list(col.type):  # events_active: one boolean per event type
                types, active = _one_hot(col)
                coords["event_type"] = ("event_type", np.asarray(types, dtype=object))
                attrs["dtype"] = "bool"
                data_vars[name] = (
                    ("run", "time", "event_type"), active.reshape(n_run, n_time, len(types)), attrs
                )
                continue
            if name == "severity":
                attrs["units_by_event_type"] = json.dumps(self._severity_units(twin), sort_keys=True)
            values = (
                col.to_numpy(zero_copy_only=False)
                if col.null_count == 0 or not pa.types.is_integer(col.type)
                else col.to_pandas().to_numpy(dtype=float, na_value=np.nan)
            )
            if pa.types.is_string(col.type):
                values = np.asarray(values, dtype=object)
            data_vars[name] = (("run", "time"), values.reshape(n_run, n_time), attrs)
        local_tz = meta.get("local_timezone")
        time_attrs = {"timezone": "UTC", "description": "sample time (UTC)"}
        if local_tz:
            time_attrs["local_timezone"] = local_tz
            time_attrs["description"] += f"; local time zone {local_tz} (x.twin.local_time())"
        coords |= {
            "run": ("run", run_ids.astype(np.int64), {"description": "run id (runs.parquet)"}),
            "time": ("time", times[:n_time].astype("datetime64[ns]"), time_attrs),
        }
        runs_df = self.runs
        runs_df = runs_df[runs_df["twin"] == twin].set_index("run_id")
        for key in ("seed", "weight", "stratum"):
            if key in runs_df:
                vals = runs_df[key].reindex(run_ids).to_numpy()
                coords[key] = ("run", vals.astype(object) if key == "stratum" else vals)
        attrs = {k: v for k, v in meta.items() if k not in ("columns", "run_id")}
        seeds = runs_df["seed"].reindex(run_ids).unique() if "seed" in runs_df else []
        if len(seeds) > 1:
            attrs.pop("seed", None)  # runs differ: see the per-run `seed` coordinate
        attrs = {
            k: (v if isinstance(v, (str, int, float)) else json.dumps(v))
            for k, v in attrs.items() if v is not None
        }
        attrs["source"] = str(self.root)
        return xr.Dataset(data_vars, coords=coords, attrs=attrs)

    def _severity_units(self, twin: str) -> dict[str, str]:
        """Event type -> unit of its severity, for the events of ``twin`` that have one."""
        ev = self.events
        if "severity_unit" not in ev or ev.empty:
            return {}
        ev = ev[(ev["twin"] == twin) & (ev["severity_unit"] != "")]
        return dict(sorted(zip(ev["type"], ev["severity_unit"])))


@xr.register_dataset_accessor("twin")
class TwinAccessor:
    """``ds.twin``: twinforge conveniences on a dataset made by :meth:`TwinDataset.to_xarray`."""

    def __init__(self, ds: xr.Dataset) -> None:
        self._ds = ds

    @property
    def units(self) -> dict[str, str]:
        """Variable name -> unit, for every variable that declares one."""
        return {
            str(k): v.attrs["units"] for k, v in self._ds.data_vars.items() if "units" in v.attrs
        }

    def channels(self, kind: str | None = None) -> list[str]:
        """Variables of ``kind`` (``"interval"``, ``"instant"``, ``"label"``; all if None)."""
        if kind is not None and kind not in ("interval", "instant", "label"):
            raise ValueError(f"kind must be 'interval', 'instant' or 'label', not {kind!r}")
        return [
            str(k)
            for k, v in self._ds.data_vars.items()
            if "kind" in v.attrs and (kind is None or v.attrs["kind"] == kind)
        ]

    def event_mask(self, event_type: str | Sequence[str]) -> xr.DataArray:
        """Boolean (run, time) mask of the samples inside an event of ``event_type`` (or of
        any of a list), overlapping events included.

        It reads the ``events_active`` labels (every labelled event active at a sample);
        a dataset of format 1 has only ``event``, where the event that started last hides
        an earlier one it overlaps.
        """
        types = [event_type] if isinstance(event_type, str) else list(event_type)
        if "events_active" in self._ds:
            active = self._ds["events_active"]
            known = [t for t in types if t in set(active["event_type"].values.tolist())]
            mask = active.sel(event_type=known).any("event_type")  # False where none is known
        elif "event" in self._ds:
            mask = self._ds["event"].isin(types)
        else:
            raise ValueError(
                "this dataset has no label column; read it with columns including 'events_active'"
            )
        mask = mask.copy()
        mask.attrs = {"description": f"sample inside {' or '.join(map(repr, types))}"}
        return mask.rename(None)

    def local_time(self) -> pd.DatetimeIndex:
        """The ``time`` coordinate in the run's local time zone (tz-aware; UTC if none)."""
        tz = self._ds["time"].attrs.get("local_timezone") or "UTC"
        return pd.DatetimeIndex(self._ds["time"].values).tz_localize("UTC").tz_convert(tz)


def _one_hot(column: pa.ChunkedArray | pa.Array) -> tuple[list[str], np.ndarray]:
    """A list<string> column as (sorted distinct values, boolean array of shape (n, k))."""
    import pyarrow.compute as pc

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks else pa.array([], type=column.type)
    flat = pc.list_flatten(column)
    types = sorted(str(t) for t in pc.unique(flat).to_pylist())
    active = np.zeros((len(column), len(types)), dtype=bool)
    if types:
        codes = pc.index_in(flat, value_set=pa.array(types, type=flat.type)).to_numpy()
        active[pc.list_parent_indices(column).to_numpy(), codes] = True
    return types, active


def _read_files(paths: Sequence[Path], file_schema: pa.Schema, base: Path, columns: list[str]) -> pa.Table:
    """``columns`` of the run files ``paths`` (in order) as one table.

    Files of format 2 hold their ``twin`` and ``run_id``; those of format 1 get them from
    their ``twin=<twin>/run_id=<n>`` folders (explicit types, never inferred).
    """
    if all(n in file_schema.names for n in _IDS):
        dataset = pads.dataset([str(p) for p in paths], schema=file_schema, format="parquet")
    else:
        dataset = pads.dataset(
            [str(p) for p in paths],
            schema=pa.schema([*PARTITION_SCHEMA, *file_schema]),
            format="parquet",
            partitioning=PARTITIONING,
            partition_base_dir=str(base),
        )
    return dataset.to_table(columns=columns)


# -- the summary -------------------------------------------------------------------------


def _fmt_period(period_s: float) -> str:
    for unit, s in (("d", 86400.0), ("h", 3600.0), ("min", 60.0), ("s", 1.0)):
        if period_s >= s and float(period_s / s).is_integer():
            return f"{int(period_s / s)} {unit}"
    return f"{period_s:g} s"


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def _time_span(path: Path) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    pf = pq.ParquetFile(path)
    md = pf.metadata
    if md.num_row_groups == 0 or md.num_rows == 0:
        return None, None
    i = pf.schema_arrow.get_field_index("time")
    first = md.row_group(0).column(i).statistics
    last = md.row_group(md.num_row_groups - 1).column(i).statistics
    if first is None or last is None or not first.has_min_max or not last.has_min_max:
        t = pq.read_table(path, columns=["time"]).column("time")
        return pd.Timestamp(t[0].as_py()), pd.Timestamp(t[-1].as_py())
    return pd.Timestamp(first.min), pd.Timestamp(last.max)


def _table_lines(d: TwinDataset) -> list[str]:
    """One line per table on disk: bytes, files, rows (from the Parquet footers) and columns."""
    groups: dict[str, list[Path]] = {}
    for e in d._entries:
        files = e["files"]
        for f in files[:1] + files[3:]:  # the samples, then the extra tables
            groups.setdefault(f.split("/", 1)[0], []).append(d.root / f)
    width = max(len(n) for n in [*groups, EVENTS_NAME, RUNS_NAME])
    lines = []
    for name, paths in groups.items():
        size = sum(p.stat().st_size for p in paths)
        rows = sum(pq.ParquetFile(p).metadata.num_rows for p in paths)
        schema = pq.read_schema(paths[0])
        cols = [f"{f.name} ({f.type})" if not pa.types.is_primitive(f.type) else f.name
                for f in schema if f.name not in _IDS]
        shown = ", ".join(cols[:4]) + (f", ... ({len(cols)} columns)" if len(cols) > 4 else "")
        what = "" if name == SAMPLES_DIR else f"; columns {shown}"
        lines.append(
            f"  {name + '/':<{width + 1}}  {_fmt_bytes(size):>9}  {len(paths):,} file(s), "
            f"{rows:,} rows{what}"
        )
    for name in (EVENTS_NAME, RUNS_NAME):
        p = d.root / name
        if p.is_file():
            lines.append(f"  {name:<{width + 1}}  {_fmt_bytes(p.stat().st_size):>9}")
    return lines


def _campaign_lines(d: TwinDataset) -> list[str]:
    """The sampler of a campaign dataset; for unequal weights their spread and the ESS."""
    campaign = (d.manifest.get("dataset") or {}).get("campaign")
    runs = d.runs
    lines = []
    if campaign:
        what = [f"sampler {campaign.get('sampler', 'natural')}"]
        if campaign.get("counterfactual"):
            what.append("counterfactual pairs (with and without the sampled events)")
        name = campaign.get("name") or ""
        lines.append(f"campaign{' ' + name if name else ''}: " + ", ".join(what))
        for event, prop in sorted((campaign.get("proposal") or {}).items()):
            knobs = ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}"
                              for k, v in sorted(prop.items()) if v is not None and k != "type")
            lines.append(f"  proposal {event}: {knobs}")
        if "stratum" in runs and runs["stratum"].astype(str).ne("").any():
            counts = runs["stratum"].astype(str).value_counts().sort_index()
            lines.append("  strata: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    if "weight" in runs and len(runs):
        w = runs["weight"].to_numpy(dtype=float)
        if not np.allclose(w, w[0]) or campaign:
            ess = w.sum() ** 2 / np.sum(w**2) if np.sum(w**2) > 0 else float("nan")
            lines.append(
                f"  weights: min {w.min():.4g}, median {np.median(w):.4g}, max {w.max():.4g}, "
                f"mean {w.mean():.4g}; Kish effective sample size {ess:,.1f} of {len(w):,} runs "
                f"({100 * ess / len(w):.0f} %)"
            )
    return lines


def describe(path: str | Path) -> str:
    """A human summary of the dataset at ``path`` (what ``twinforge info`` prints).

    Twins, runs, rows, time span, period and local time zone, channels with units, every
    table with its size on disk (the machine's raw ``snapshots`` hold most of its bytes),
    event counts by category and type with the unit of their severity, and for a campaign
    its sampler and the spread of the importance weights with the effective sample size.
    Reads only metadata, Parquet footers and the small tables.
    """
    d = open_dataset(path)
    m = d.manifest
    lines = [f"twinforge dataset {d.root} (format {m.get('format_version', '?')})"]
    if not d._entries:
        lines.append("  no completed run yet")
        return "\n".join(lines)
    if not d.finalized:
        lines.append(
            "  NOT FINALIZED (interrupted?): complete it with --resume; "
            "tables gathered from run shards"
        )
    for twin in d.twins:
        entries = d._files(twin)
        meta = d._metadata_of(entries[0])
        rows = sum(int(e.get("rows", 0)) for e in entries)
        ids = [int(e["run_id"]) for e in entries]
        spans = [_time_span(d._part(e)) for e in entries]
        starts = [s for s, _ in spans if s is not None]
        ends = [t for _, t in spans if t is not None]
        id_text = (
            f"{ids[0]}..{ids[-1]}"
            if ids == list(range(ids[0], ids[-1] + 1)) and len(ids) > 2
            else ", ".join(map(str, ids))
        )
        lines.append(f"twin {twin}: {len(entries)} run(s) (run_id {id_text}), {rows:,} rows")
        if starts:
            tz = meta.get("local_timezone")
            lines.append(
                f"  time: {min(starts):%Y-%m-%d %H:%M:%S} to {max(ends):%Y-%m-%d %H:%M:%S} UTC, "
                f"every {_fmt_period(float(meta['period_s']))}"
                + (f"; local time zone {tz}" if tz else "")
            )
        lines.append(
            f"  seed {meta.get('seed')}, config_hash {meta.get('config_hash')}, "
            f"twinforge {meta.get('twinforge_version', '?')}"
        )
        cols = meta["columns"]
        width = max(len(n) for n in cols) if cols else 0
        uwidth = max((len(s["unit"]) for s in cols.values()), default=0)
        lines.append(f"  channels ({len(cols)}):")
        for name, spec in cols.items():
            unit = spec["unit"] or "-"
            unit = f"{unit:<{max(uwidth, 1)}}"
            lines.append(f"    {name:<{width}}  {unit}  {spec['kind']:<8}  {spec['description']}")
    lines.append(f"tables under {d.root}:")
    lines += _table_lines(d)
    ev = d.events
    lines.append(f"events: {len(ev):,}")
    if len(ev):
        unit = ev["severity_unit"] if "severity_unit" in ev else pd.Series("", index=ev.index)
        counts = (
            ev.assign(_unit=unit.fillna("")).groupby(["category", "type"], sort=True)
            .agg(n=("type", "size"), unit=("_unit", "first"))
        )
        cw = max(len(str(c)) for c, _ in counts.index)
        tw = max(len(str(t)) for _, t in counts.index)
        for (cat, typ), row in counts.iterrows():
            sev = f"  severity in {row['unit']}" if row["unit"] else ""
            lines.append(f"  {cat:<{cw}}  {typ:<{tw}}  {row['n']:>8,}{sev}")
    lines += _campaign_lines(d)
    if m.get("dataset"):
        keys = ", ".join(sorted(m["dataset"]))
        lines.append(f"manifest: dataset metadata ({keys})")
    return "\n".join(lines)
