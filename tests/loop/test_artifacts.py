"""Artifact sweeps: each artifact does what its level says; the sweep scores a fixed model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from twinforge.studies import ARTIFACTS, artifact_sweep, corrupt, plot_sweep


def frame(n_runs: int = 4, n: int = 2000, value=None) -> pd.DataFrame:
    t = pd.date_range("2024-01-01", periods=n, freq="1min", tz="UTC")
    parts = []
    for r in range(n_runs):
        x = np.full(n, 10.0) if value is None else value(np.arange(n))
        parts.append(pd.DataFrame({"run_id": r, "time": t, "x": x, "y": 2.0 * x}))
    return pd.concat(parts, ignore_index=True)


def test_noise_has_the_level_times_sigma_as_sd():
    out = corrupt(frame(), "noise", 0.5, ["x"], scales={"x": 4.0}, seed=1)
    assert np.std(out["x"] - 10.0) == pytest.approx(2.0, rel=0.03)
    assert (out["y"] == 20.0).all()                         # other channels untouched


def test_drift_is_zero_at_the_start_and_the_level_at_the_end():
    out = corrupt(frame(n_runs=1), "drift", 2.0, ["x"], scales={"x": 3.0})
    d = out["x"].to_numpy() - 10.0
    assert d[0] == 0.0 and d[-1] == pytest.approx(6.0, rel=1e-3)
    assert np.all(np.diff(d) > 0)


def test_dropout_share_and_stuck_share():
    out = corrupt(frame(), "dropout", 0.3, ["x"], seed=2)
    assert out["x"].isna().mean() == pytest.approx(0.3, abs=0.02)
    ramp = frame(n_runs=2, n=1000, value=lambda k: k.astype(float))
    st = corrupt(ramp, "stuck", 0.25, ["x"])
    for _, g in st.groupby("run_id"):
        x = g["x"].to_numpy()
        assert np.all(x[750:] == 750.0) and np.array_equal(x[:750], np.arange(750.0))


def test_quantisation_and_resample():
    ramp = frame(n_runs=1, n=100, value=lambda k: 0.37 * k)
    q = corrupt(ramp, "quantisation", 0.5, ["x"], scales={"x": 2.0})["x"].to_numpy()
    assert np.allclose(q / 1.0, np.round(q)) and np.max(np.abs(q - ramp["x"])) <= 0.5 + 1e-12
    r = corrupt(ramp, "resample", 10, ["x"])["x"].to_numpy()
    assert np.allclose(r[:10], np.mean(0.37 * np.arange(10))) and len(np.unique(r)) == 10


def test_spikes_hit_the_share_with_five_sigma():
    out = corrupt(frame(n_runs=2, n=5000), "spikes", 0.1, ["x"], scales={"x": 1.0}, seed=3)
    d = out["x"].to_numpy() - 10.0
    hit = d != 0
    assert hit.mean() == pytest.approx(1 - np.exp(-0.1), abs=0.01)   # Poisson: P(at least one spike)
    assert set(np.unique(np.abs(d[hit])).round(9)) <= {5.0, 10.0, 15.0}   # sums of +-5 sigma spikes


def test_clock_jitter_leaves_a_constant_and_bounds_a_ramp():
    assert (corrupt(frame(), "clock_jitter", 1.0, ["x"], seed=4)["x"] == 10.0).all()
    ramp = frame(n_runs=1, n=500, value=lambda k: 2.0 * k)
    j = corrupt(ramp, "clock_jitter", 0.3, ["x"], seed=4)["x"].to_numpy() - ramp["x"].to_numpy()
    assert np.max(np.abs(j)) <= 2.0 + 1e-9 and np.std(j[1:]) == pytest.approx(0.6, rel=0.15)


def test_same_seed_same_bytes_other_seed_other_draws():
    f = frame()
    a = corrupt(f, "noise", 1.0, ["x", "y"], seed=5)
    b = corrupt(f, "noise", 1.0, ["x", "y"], seed=5)
    c = corrupt(f, "noise", 1.0, ["x", "y"], seed=6)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["x"], c["x"])
    # one run's draws do not depend on the other runs present
    one = corrupt(f[f["run_id"] == 2], "noise", 1.0, ["x", "y"], seed=5)
    assert np.array_equal(one["x"].to_numpy(), a.loc[a["run_id"] == 2, "x"].to_numpy())


@pytest.mark.parametrize(("artifacts", "message"), [
    ({"smoke": [1]}, "artifacts.smoke: unknown artifact; known: noise, drift"),
    ({"dropout": [1.5]}, r"artifacts.dropout: level 1.5 outside \[0, 1\] \(share of samples\)"),
    ({"noise": [-1]}, r"artifacts.noise: level -1 outside \[0, inf\]"),
    ({"resample": [2.5]}, "artifacts.resample: level 2.5 must be a whole number"),
    ({}, "artifacts: give at least one artifact"),
])
def test_bad_artifacts_name_the_field(artifacts, message):
    with pytest.raises(ValueError, match=message):
        artifact_sweep(frame(), features=["x"], label="run_id", artifacts=artifacts)


def classes_frame(n_runs: int, seed: int) -> pd.DataFrame:
    """Two classes by run: feature x = class + N(0, 0.3^2); 50 samples a run."""
    rng = np.random.default_rng(seed)
    t = pd.date_range("2024-01-01", periods=50, freq="10s", tz="UTC")
    parts = []
    for r in range(n_runs):
        cls = r % 2
        parts.append(pd.DataFrame({"run_id": r, "time": t, "x": cls + rng.normal(0, 0.3, 50),
                                   "label": ["healthy", "faulty"][cls]}))
    return pd.concat(parts, ignore_index=True)


def test_sweep_score_falls_with_noise_and_reads_real_test_data():
    model = make_pipeline(SimpleImputer(keep_empty_features=True), LogisticRegression())
    real = classes_frame(6, seed=9)
    res = artifact_sweep(classes_frame(20, seed=8), features=["x"], label="label", model=model,
                         artifacts={"noise": [1.0, 4.0], "dropout": [0.5]}, real_test=real, seed=0)
    t = res.table
    assert list(t["artifact"]) == ["noise"] * 3 + ["dropout"] * 2
    noise = t[t["artifact"] == "noise"].set_index("level")
    assert noise.loc[0.0, "score_test"] > 0.9
    assert noise.loc[0.0, "score_test"] > noise.loc[1.0, "score_test"] > noise.loc[4.0, "score_test"]
    assert noise.loc[4.0, "score_test"] < 0.75
    assert t["score_real"].notna().all() and noise.loc[0.0, "score_real"] > 0.9
    assert (t["n_train"] + t["n_test"] == 20 * 50).all()
    assert set(res.info["train_runs"]).isdisjoint(res.info["test_runs"])
    fig = plot_sweep(res)
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 2
    again = artifact_sweep(classes_frame(20, seed=8), features=["x"], label="label", model=model,
                           artifacts={"dropout": [0.5], "noise": [4.0, 1.0]}, real_test=real, seed=0)
    pd.testing.assert_frame_equal(
        t.sort_values(["artifact", "level"]).reset_index(drop=True),
        again.table.sort_values(["artifact", "level"]).reset_index(drop=True))


def test_every_artifact_is_documented_in_the_module():
    import twinforge.studies.artifacts as m

    for name in ARTIFACTS:
        assert f"\n{name} " in m.__doc__
