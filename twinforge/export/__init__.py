"""Datasets on disk: the streaming Parquet writer and the reader (pandas, xarray, summary).

The reader (and with it xarray) is imported on first use, so that writing a dataset does
not pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from twinforge.export.parquet import DatasetWriter, RunWriter

if TYPE_CHECKING:
    from twinforge.export.reader import TwinDataset, describe, open_dataset

__all__ = ["DatasetWriter", "RunWriter", "TwinDataset", "describe", "open_dataset"]

_READER = {"open_dataset", "TwinDataset", "describe"}


def __getattr__(name: str) -> Any:
    if name in _READER:
        from twinforge.export import reader

        return getattr(reader, name)
    raise AttributeError(f"module 'twinforge.export' has no attribute {name!r}")
