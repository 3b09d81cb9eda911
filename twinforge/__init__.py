"""twinforge: physics-based, labelled time-series data from digital twins.

>>> import twinforge
>>> ds = twinforge.open_dataset("data/")          # doctest: +SKIP
>>> ds.samples().head(); ds.to_xarray()            # doctest: +SKIP
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "open_dataset", "generate", "load_spec"]


def __getattr__(name: str):
    # Lazy imports keep `import twinforge` light (the CLI's --help stays fast).
    if name == "open_dataset":
        from twinforge.export import open_dataset

        return open_dataset
    if name == "generate":
        from twinforge.campaign.runner import generate

        return generate
    if name == "load_spec":
        from twinforge.campaign.spec import load_spec

        return load_spec
    raise AttributeError(f"module 'twinforge' has no attribute {name!r}")
