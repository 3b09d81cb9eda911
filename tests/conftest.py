"""Test-wide helpers.

The full public datasets (docs/testing.md) are found where ``TWINFORGE_SHARED_DATA``
points (by default a ``shared/data`` folder beside the checkout's folder); tests that need
them ask the ``shared_file`` fixture, which skips the test with the path it looked for
when the file is absent. ``check_readers`` reads a dataset with every reader the docs name.
"""

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

SHARED_DATA = Path(os.environ.get("TWINFORGE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_file():
    """``shared_file("pjm_hourly_load/PJME_hourly.csv") -> Path``, or skip the test if absent."""

    def find(relative: str) -> Path:
        path = SHARED_DATA / relative
        if not path.exists():
            pytest.skip(f"full real data set not available: {path} (set TWINFORGE_SHARED_DATA)")
        return path

    return find


def _check_readers(path: Path) -> None:
    """Every reader the docs name reads ``path``'s samples with int64 ``run_id`` and string
    ``twin``, the same rows, and the dataset folder's tables with their own paths."""
    samples = path / "samples"
    import pyarrow.dataset as pads

    import twinforge

    ds = twinforge.open_dataset(path)
    ref = ds.samples(columns=["time"])
    n = len(ref)
    assert ref["run_id"].dtype == np.int64 and pd.api.types.is_string_dtype(ref["twin"])

    df = pd.read_parquet(samples)
    assert df["run_id"].dtype == np.int64 and pd.api.types.is_string_dtype(df["twin"]) and len(df) == n

    table = pads.dataset(samples).to_table()
    assert table.schema.field("run_id").type == pa.int64() and table.schema.field("twin").type == pa.string()

    import polars as pl

    pdf = pl.read_parquet(f"{samples}/**/*.parquet")
    assert pdf.schema["run_id"] == pl.Int64 and pdf.schema["twin"] == pl.String and pdf.height == n

    import duckdb

    types = {r[0]: r[1] for r in duckdb.sql(f"describe select * from '{samples}/**/*.parquet'").fetchall()}
    assert types["run_id"] == "BIGINT" and types["twin"] == "VARCHAR"
    assert duckdb.sql(f"select count(*) from '{samples}/**/*.parquet'").fetchall()[0][0] == n

    import dask.dataframe as dd

    ddf = dd.read_parquet(samples)
    assert ddf["run_id"].dtype == np.int64 and pd.api.types.is_string_dtype(ddf["twin"].dtype)
    assert len(ddf) == n

    x = ds.to_xarray(columns=["events_active"], runs=ds.run_ids[ds.twins[0]][:1])
    assert x["run"].dtype == np.int64

    for name in ("events.parquet", "runs.parquet"):
        t = pd.read_parquet(path / name)
        assert t["run_id"].dtype == np.int64 and pd.api.types.is_string_dtype(t["twin"])
    for name in ds.tables:  # extra tables (the machine's snapshots)
        t = pd.read_parquet(path / name)
        assert t["run_id"].dtype == np.int64 and pd.api.types.is_string_dtype(t["twin"])


@pytest.fixture(scope="session")
def check_readers():
    """``check_readers(dataset_path)``: pandas, pyarrow, polars, DuckDB, Dask and xarray read
    the dataset's tables with int64 ``run_id`` and string ``twin`` (docs/schema.md)."""
    return _check_readers
