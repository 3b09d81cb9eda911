"""Helpers for machine learning on twinforge datasets.

The samples of one run are strongly correlated (same home, same weather, same occupants),
so a model must be validated on runs it has never seen: a random split of *rows* puts
nearly identical neighbouring samples of one home into both the training and the test
set and reports a score that no new home will reach. :func:`split_runs` splits by run.

Runs that share their random streams (the two members of a counterfactual pair, see
``pair_id`` in ``runs.parquet``) are kept together: they differ only by the injected
event, so putting one in training and the other in test would leak too.

>>> from twinforge.ml import split_runs
>>> parts = split_runs(range(10), fractions=(0.6, 0.2, 0.2), seed=0)
>>> [len(parts[k]) for k in ("train", "validation", "test")]
[6, 2, 2]
>>> sorted(set(parts["train"]) & set(parts["test"]))
[]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["split_runs"]

_NAMES = ("train", "validation", "test")


def _allocate(n_groups: int, fractions: np.ndarray) -> np.ndarray:
    """Group counts per split: proportional, largest remainders, at least one per
    non-zero fraction."""
    want = fractions / fractions.sum() * n_groups
    counts = np.floor(want).astype(int)
    nonzero = fractions > 0
    counts[nonzero & (counts == 0)] = 1  # every requested split gets a group
    while counts.sum() > n_groups:  # take back from the split furthest above its share
        over = np.where(counts > nonzero.astype(int), counts - want, -np.inf)
        counts[int(np.argmax(over))] -= 1
    while counts.sum() < n_groups:  # hand out by largest remainder
        under = np.where(nonzero, want - counts, -np.inf)
        counts[int(np.argmax(under))] += 1
    return counts


def split_runs(
    runs: Any,
    fractions: Sequence[float] = (0.6, 0.2, 0.2),
    *,
    seed: int = 0,
    names: Sequence[str] = _NAMES,
    twin: str | None = None,
) -> dict[str, np.ndarray]:
    """Split the runs of a dataset into disjoint sets (train / validation / test).

    Parameters
    ----------
    runs : TwinDataset, DataFrame or iterable of int
        A dataset (its ``runs`` table is used), a ``runs.parquet`` table (columns
        ``run_id`` and, optionally, ``pair_id`` and ``twin``), or plain run ids.
    fractions : sequence of float
        Share of the runs in each split, one per name (normalised to sum to 1). Each
        split with a non-zero share gets at least one run (or pair).
    seed : int
        Seed of the shuffle: the same seed and runs give the same split.
    names : sequence of str
        Names of the splits (the keys of the result).
    twin : str, optional
        Twin whose runs to split, when the table holds several twins.

    Returns
    -------
    dict
        Split name -> sorted ``numpy`` array of run ids. Every run is in exactly one
        split; the runs of a counterfactual pair (same ``pair_id``) are in the same one.

    Raises
    ------
    ValueError
        Fewer runs (or pairs) than splits with a non-zero share, negative or all-zero
        fractions, duplicate run ids, several twins without ``twin=``.
    """
    table = _runs_table(runs, twin)
    fr = np.asarray(list(fractions), dtype=float)
    if len(fr) != len(names):
        raise ValueError(f"got {len(fr)} fractions for {len(names)} split names {list(names)}")
    if len(set(names)) != len(names):
        raise ValueError(f"split names must be distinct, got {list(names)}")
    if not np.all(np.isfinite(fr)) or (fr < 0).any() or fr.sum() <= 0:
        raise ValueError(f"fractions must be >= 0 with a positive sum, got {list(fractions)}")
    if table["run_id"].duplicated().any():
        dup = table.loc[table["run_id"].duplicated(), "run_id"].iloc[0]
        raise ValueError(f"run id {dup} appears twice; pass twin= to split one twin's runs")
    groups = np.unique(table["group"].to_numpy())
    n_needed = int((fr > 0).sum())
    if len(groups) < n_needed:
        raise ValueError(
            f"{len(groups)} independent run(s) (pairs counted once) cannot fill "
            f"{n_needed} splits; generate more runs"
        )
    order = np.random.default_rng(seed).permutation(groups)
    counts = _allocate(len(groups), fr)
    bounds = np.concatenate(([0], np.cumsum(counts)))
    out: dict[str, np.ndarray] = {}
    for k, name in enumerate(names):
        chosen = set(order[bounds[k] : bounds[k + 1]].tolist())
        ids = table.loc[table["group"].isin(chosen), "run_id"].to_numpy(dtype=np.int64)
        out[str(name)] = np.sort(ids)
    return out


def _runs_table(runs: Any, twin: str | None) -> pd.DataFrame:
    """``run_id`` and ``group`` (the pair id, or the run id) of the runs to split."""
    if hasattr(runs, "runs") and hasattr(runs, "manifest"):  # a TwinDataset
        runs = runs.runs
    if isinstance(runs, pd.DataFrame):
        if "run_id" not in runs:
            raise ValueError("the runs table has no 'run_id' column")
        table = runs
        if "twin" in table:
            twins = sorted(table["twin"].unique())
            if twin is not None:
                if twin not in twins:
                    raise ValueError(f"no run of twin {twin!r} (twins: {', '.join(twins)})")
                table = table[table["twin"] == twin]
            elif len(twins) > 1:
                raise ValueError(f"the runs are of several twins ({', '.join(twins)}); pass twin=")
        group = table["pair_id"] if "pair_id" in table else table["run_id"]
        return pd.DataFrame(
            {"run_id": table["run_id"].to_numpy(np.int64), "group": group.to_numpy(np.int64)}
        )
    if isinstance(runs, (str, bytes)) or not isinstance(runs, Iterable):
        raise ValueError(
            f"runs must be a TwinDataset, a runs table or run ids, not {type(runs).__name__}"
        )
    ids = np.asarray([int(r) for r in runs], dtype=np.int64)
    return pd.DataFrame({"run_id": ids, "group": ids})
