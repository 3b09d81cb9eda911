"""``twinforge verify``: re-check a dataset written by twinforge.

Checks, in order, and reports every problem found (not only the first):

1. the manifest: a twinforge manifest, every listed file present, finalized;
2. schema and metadata of every samples file: the twinforge key-value metadata, units for
   every column, the declared channels present with their dtypes, row counts equal to the
   manifest's, time strictly increasing and on the declared period;
3. the merged tables: one ``runs.parquet`` row per run, events belong to listed runs,
   labelled samples point at existing events;
4. the twin's physical invariants in every sample (each twin declares them);
5. regeneration: a sample of runs is simulated again from the recorded scenario and seed
   and must give byte-identical samples files.
"""

from __future__ import annotations

import filecmp
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

__all__ = ["VerifyReport", "verify"]


@dataclass
class VerifyReport:
    path: Path
    checked_runs: int = 0
    regenerated: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        head = f"{self.path}: {self.checked_runs} run(s) checked, {len(self.regenerated)} regenerated"
        if self.ok:
            return head + " - OK"
        return head + f" - {len(self.problems)} problem(s):\n" + "\n".join(f"  - {p}" for p in self.problems)


def verify(path: str | Path, *, regenerate: int = 2, seed: int = 0) -> VerifyReport:
    """Verify the dataset at ``path``; regenerate up to ``regenerate`` runs (0: none)."""
    import json

    from twinforge.core.registry import TWINS
    from twinforge.export import open_dataset
    from twinforge.export.parquet import METADATA_KEY, read_manifest

    root = Path(path)
    rep = VerifyReport(root)
    manifest = read_manifest(root)  # ValueError / FileNotFoundError for a non-dataset
    if not manifest.get("finalized", False):
        rep.problems.append("the dataset was never finalized (interrupted? finish it with --resume)")
    entries = manifest.get("runs", [])
    for e in entries:
        for f in e.get("files", []):
            if not (root / f).is_file():
                rep.problems.append(f"run {e['twin']}/{e['run_id']}: listed file {f} is missing")
    if rep.problems and any("is missing" in p for p in rep.problems):
        return rep  # the tables cannot be read consistently; fix (or --resume) first
    ds = open_dataset(root)
    runs = ds.runs
    events = ds.events
    import twinforge.twins  # noqa: F401  (registers twins)

    for e in entries:
        twin, run_id = e["twin"], int(e["run_id"])
        sample_files = [root / f for f in e.get("files", []) if f.startswith("samples/")]
        if not sample_files or not sample_files[0].is_file():
            continue
        pf = pq.ParquetFile(sample_files[0])
        raw = (pf.schema_arrow.metadata or {}).get(METADATA_KEY.encode() if isinstance(METADATA_KEY, str) else METADATA_KEY)
        where = f"run {twin}/{run_id}"
        if raw is None:
            rep.problems.append(f"{where}: no twinforge metadata in {sample_files[0].name}")
            continue
        meta = json.loads(raw)
        cols = meta.get("columns", {})
        names = set(pf.schema_arrow.names)
        for name, info in cols.items():
            if name not in names:
                rep.problems.append(f"{where}: declared column {name} missing from the file")
            if "unit" not in info:
                rep.problems.append(f"{where}: column {name} has no unit")
        if pf.metadata.num_rows != e.get("rows", pf.metadata.num_rows):
            rep.problems.append(f"{where}: {pf.metadata.num_rows} rows, manifest says {e['rows']}")
        df = pf.read().to_pandas()
        t = df["time"].astype("int64").to_numpy()
        step = float(meta.get("period_s", 0)) * 1e9
        if len(t) > 1 and (np.diff(t) <= 0).any():
            rep.problems.append(f"{where}: time not strictly increasing")
        elif len(t) > 1 and step > 0 and not np.allclose(np.diff(t), step, rtol=0, atol=1e3):
            rep.problems.append(f"{where}: samples not on the declared period of {meta['period_s']} s")
        if twin in TWINS:
            check = getattr(TWINS.get(twin), "invariants", None)
            if check is not None:
                rep.problems += [f"{where}: {b}" for b in check(df)]
        if "event_id" in df:
            ids = set(df.loc[df.event_id >= 0, "event_id"].unique().tolist())
            known = set(events.loc[(events.twin == twin) & (events.run_id == run_id), "event_id"].tolist())
            if not ids <= known:
                rep.problems.append(f"{where}: labels point at events {sorted(ids - known)[:5]} not in events.parquet")
        if not ((runs.twin == twin) & (runs.run_id == run_id)).any():
            rep.problems.append(f"{where}: no row in runs.parquet")
        rep.checked_runs += 1
    if len(runs) != len(entries):
        rep.problems.append(f"runs.parquet has {len(runs)} rows for {len(entries)} completed runs")
    if regenerate > 0 and entries and manifest.get("dataset"):
        rep.problems += _regenerate(root, manifest, entries, regenerate, seed, rep)
    return rep


def _regenerate(root: Path, manifest: dict, entries: list, n: int, seed: int, rep: VerifyReport) -> list[str]:
    """Simulate ``n`` runs again from the recorded scenario (or campaign) and seed."""
    from twinforge.campaign.campaign import CampaignSpec, plan_run
    from twinforge.campaign.runner import plan_runs, write_run
    from twinforge.campaign.spec import GenerateSpec
    from twinforge.export import DatasetWriter

    dataset = manifest["dataset"]
    if dataset.get("scenario") is None or dataset.get("seed") is None:
        return ["manifest has no scenario and seed: runs cannot be regenerated"]
    root_seed = int(dataset["seed"])
    chash = dataset.get("config_hash", "")
    campaign = CampaignSpec.from_json_dict(dataset["campaign"]) if dataset.get("campaign") else None
    spec = campaign.scenario if campaign is not None else GenerateSpec.from_data(dataset["scenario"])
    rng = np.random.default_rng(seed)
    pick = sorted(rng.choice(len(entries), size=min(n, len(entries)), replace=False).tolist())
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        writer = DatasetWriter(Path(tmp) / "again")
        plans = None if campaign is not None else plan_runs(spec, root_seed)
        for i in pick:
            e = entries[i]
            run_id = int(e["run_id"])
            plan = plan_run(campaign, root_seed, run_id) if campaign is not None else plans[run_id]
            write_run(writer, spec, plan, seed=root_seed, chash=chash)
            for f in e["files"]:
                if f.startswith("samples/") and not filecmp.cmp(root / f, Path(tmp) / "again" / f, shallow=False):
                    problems.append(f"run {e['twin']}/{run_id}: regenerated {f} differs from the stored one")
            rep.regenerated.append(run_id)
    return problems
