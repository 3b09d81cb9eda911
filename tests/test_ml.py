"""twinforge.ml.split_runs: disjoint, complete, reproducible splits by run (pairs kept together)."""

import numpy as np
import pandas as pd
import pytest

import twinforge
from twinforge.ml import split_runs


def _check_partition(parts, ids):
    seen = np.concatenate(list(parts.values()))
    assert sorted(seen.tolist()) == sorted(ids), "every run in exactly one split"
    assert len(seen) == len(set(seen.tolist())), "no run in two splits"


def test_sizes_and_partition():
    parts = split_runs(range(10), fractions=(0.6, 0.2, 0.2), seed=3)
    assert list(parts) == ["train", "validation", "test"]
    assert [len(v) for v in parts.values()] == [6, 2, 2]
    _check_partition(parts, list(range(10)))
    for v in parts.values():
        assert v.dtype == np.int64 and np.all(np.diff(v) > 0)  # sorted


@pytest.mark.parametrize("n", [3, 4, 7, 12, 31])
@pytest.mark.parametrize("fractions", [(0.6, 0.2, 0.2), (0.8, 0.1, 0.1), (0.34, 0.33, 0.33)])
def test_every_requested_split_gets_a_run(n, fractions):
    parts = split_runs(range(n), fractions=fractions, seed=0)
    _check_partition(parts, list(range(n)))
    assert all(len(v) >= 1 for v in parts.values())


def test_zero_fraction_gives_an_empty_split():
    parts = split_runs(range(5), fractions=(0.8, 0.0, 0.2))
    assert len(parts["validation"]) == 0
    _check_partition(parts, list(range(5)))


def test_reproducible_and_seed_dependent():
    a = split_runs(range(40), seed=1)
    b = split_runs(range(40), seed=1)
    c = split_runs(range(40), seed=2)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert any(not np.array_equal(a[k], c[k]) for k in a)


def test_split_does_not_depend_on_input_order():
    a = split_runs([5, 1, 9, 3, 7, 2], seed=4)
    b = split_runs([2, 3, 1, 9, 7, 5], seed=4)
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_counterfactual_pairs_stay_together():
    # runs 0/1, 2/3, ... are pairs sharing their random streams (pair_id)
    runs = pd.DataFrame({"run_id": np.arange(20), "pair_id": np.arange(20) // 2, "twin": "home"})
    for seed in range(10):
        parts = split_runs(runs, seed=seed)
        _check_partition(parts, list(range(20)))
        where = {int(r): k for k, ids in parts.items() for r in ids}
        for p in range(10):
            assert where[2 * p] == where[2 * p + 1]


def test_custom_names_and_two_way_split():
    parts = split_runs(range(10), fractions=(3, 1), names=("fit", "holdout"))
    assert list(parts) == ["fit", "holdout"]
    assert [len(v) for v in parts.values()] == [8, 2]  # fractions are normalised


def test_runs_table_with_several_twins_needs_twin():
    runs = pd.DataFrame({"run_id": [0, 1, 2, 0, 1, 2], "twin": ["home"] * 3 + ["grid"] * 3})
    with pytest.raises(ValueError, match="twin="):
        split_runs(runs)
    parts = split_runs(runs, twin="grid")
    _check_partition(parts, [0, 1, 2])
    with pytest.raises(ValueError, match="no run of twin 'machine'"):
        split_runs(runs, twin="machine")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(runs=[0, 1]), "cannot fill 3 splits"),
        (dict(runs=range(5), fractions=(0.5, 0.5)), "2 fractions for 3 split names"),
        (dict(runs=range(5), fractions=(1.0, -0.1, 0.1)), "fractions must be >= 0"),
        (dict(runs=range(5), fractions=(0, 0, 0)), "positive sum"),
        (dict(runs=[1, 1, 2, 3]), "appears twice"),
        (dict(runs="0123"), "must be a TwinDataset"),
        (dict(runs=range(5), names=("a", "a", "b")), "distinct"),
    ],
)
def test_bad_input_is_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        split_runs(**kwargs)


def test_split_a_dataset(tmp_path):
    spec = twinforge.load_spec(runs=5, days=0.25, period="15min", seed=1)
    twinforge.generate(spec, tmp_path / "d", progress=False)
    ds = twinforge.open_dataset(tmp_path / "d")
    parts = split_runs(ds, seed=0)
    _check_partition(parts, list(range(5)))
    assert all(np.array_equal(parts[k], split_runs(ds.runs, seed=0)[k]) for k in parts)
