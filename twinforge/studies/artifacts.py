"""Artifact sweeps: how much does each sensor artifact, at graded levels, cost a model?

A twin's clean output is corrupted after the fact with one sensor artifact at a time, at
increasing levels; a fixed downstream model (cloned, same seed) is trained at each level on
the corrupted training runs and scored on held-out runs corrupted alike (the sensor as
deployed), on the same runs clean, and on real test data when given. Because a sensor
artifact changes what is reported and never the state of the twin
(:mod:`twinforge.events.sensor`), corrupting the written output is the same as simulating
with the fault, and one campaign serves every level.

The artifacts reuse the corruptions of the sensor-fault events (:mod:`twinforge.events.sensor`)
over each run's whole span, plus quantisation (:func:`twinforge.processes.sensors.quantise`)
and a slower logger; levels are in units that mean the same on every channel:

================ ===================================================== =======================
artifact         reported value                                        level unit
================ ===================================================== =======================
noise            :math:`x + L\\sigma z`, :math:`z \\sim N(0, 1)`       channel std sigma
drift            :math:`x + L\\sigma (t - t_0)/T` (0 at the run start) channel std at the end
quantisation     :math:`\\Delta\\,\\mathrm{round}(x/\\Delta)`, :math:`\\Delta = L\\sigma`  channel std
dropout          NaN with probability :math:`L` per sample             share of samples [1]
stuck            frozen at its value from :math:`t_0 + (1 - L) T` on     share of the run [1]
spikes           :math:`x \\pm 5\\sigma` on a share :math:`L` of samples share of samples [1]
clock_jitter     :math:`x(t + \\delta)`, :math:`\\delta \\sim N(0, (L\\,dt)^2)`   sample periods dt
resample         mean of blocks of :math:`L` samples, held             samples per block
================ ===================================================== =======================

:math:`\\sigma` is each channel's standard deviation over the clean training runs, :math:`T`
the run's span. Every draw comes from a named stream
``artifact/<name>/<level>/run/<id>/<channel>`` of the sweep's seed: the same seed gives the
same table, whatever the order of the levels.

>>> table = artifact_sweep(frame, features=["accel_kurtosis"], label="fault",
...                        artifacts={"noise": [0.5, 1.0]}).table       # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from twinforge.core.rng import RngStreams

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["ARTIFACTS", "SweepResult", "artifact_sweep", "corrupt", "plot_sweep", "default_model"]

#: Spike amplitude in channel standard deviations.
SPIKE_SIGMAS = 5.0


@dataclass(frozen=True)
class Artifact:
    """One artifact: its level's unit and largest value."""

    unit: str
    max_level: float
    meaning: str


#: The artifacts a sweep knows, by name.
ARTIFACTS: dict[str, Artifact] = {
    "noise": Artifact("channel std", math.inf, "added white Gaussian noise"),
    "drift": Artifact("channel std", math.inf, "linear drift over the run"),
    "quantisation": Artifact("channel std", math.inf, "coarser resolution"),
    "dropout": Artifact("share of samples", 1.0, "missing samples (NaN)"),
    "stuck": Artifact("share of the run", 1.0, "reading frozen for the end of the run"),
    "spikes": Artifact("share of samples", 1.0, f"spikes of +-{SPIKE_SIGMAS:g} channel std"),
    "clock_jitter": Artifact("sample periods", 1.0, "timing error of the readings"),
    "resample": Artifact("samples per block", math.inf, "a slower logger: block means, held"),
}


def _check_artifacts(artifacts: Mapping[str, Sequence[float]]) -> dict[str, list[float]]:
    if not artifacts:
        raise ValueError("artifacts: give at least one artifact with its levels, e.g. {'noise': [0.5, 1]}")
    out = {}
    for name, levels in artifacts.items():
        if name not in ARTIFACTS:
            raise ValueError(f"artifacts.{name}: unknown artifact; known: {', '.join(ARTIFACTS)}")
        a = ARTIFACTS[name]
        lv = [float(v) for v in np.atleast_1d(np.asarray(levels, dtype=float))]
        if not lv:
            raise ValueError(f"artifacts.{name}: give at least one level")
        for v in lv:
            if not (0.0 <= v <= a.max_level) or math.isnan(v):
                raise ValueError(f"artifacts.{name}: level {v:g} outside [0, {a.max_level:g}] ({a.unit})")
            if name == "resample" and v != int(v):
                raise ValueError(f"artifacts.resample: level {v:g} must be a whole number of samples")
        out[name] = sorted(set(lv))
    return out


def _times_s(frame: pd.DataFrame, time_col: str) -> np.ndarray:
    t = frame[time_col] if time_col in frame.columns else frame.index.to_series()
    t = pd.to_datetime(t)
    return (t - t.iloc[0]).dt.total_seconds().to_numpy(dtype=np.float64)


def _corrupt_run(name: str, level: float, x: np.ndarray, t_s: np.ndarray, scale: float,
                 rng: np.random.Generator) -> np.ndarray:
    """One run's readings ``x`` (at ``t_s`` seconds, increasing) with the artifact applied."""
    from twinforge.events import sensor
    from twinforge.processes.sensors import quantise

    x = np.asarray(x, dtype=np.float64)
    if level == 0.0 or len(x) == 0:
        return x.copy()
    dt = float(np.median(np.diff(t_s))) if len(t_s) > 1 else 1.0
    t0, t_end = float(t_s[0]), float(t_s[-1]) + dt
    if name == "quantisation":
        return quantise(x, level * scale)
    if name == "resample":
        m = int(level)
        blocks = np.arange(len(x)) // m
        sums = np.bincount(blocks, weights=np.nan_to_num(x))
        counts = np.bincount(blocks, weights=np.isfinite(x).astype(float))
        with np.errstate(invalid="ignore", divide="ignore"):
            return (sums / counts)[blocks]
    event, severity, settings, start = {
        "noise": (sensor.SensorNoiseBurst, level * scale, {}, t0),
        "drift": (sensor.SensorDrift, level * scale, {"direction": "up"}, t0),
        "dropout": (sensor.SensorDropout, level, {}, t0),
        "stuck": (sensor.SensorStuck, 1.0, {}, t_end - level * (t_end - t0)),
        "spikes": (sensor.SensorSpikes, SPIKE_SIGMAS * scale, {"rate_per_h": level * 3600.0 / dt}, t0),
        "clock_jitter": (sensor.ClockJitter, level * dt, {}, t0),
    }[name]
    fault = event()
    c = fault.corruption({**fault.options, **settings, "channel": "x"}, start, t_end, severity, rng)
    block = {"x": x.copy()}
    c(block, t_s)
    return np.asarray(block["x"], dtype=np.float64)


def corrupt(frame: pd.DataFrame, artifact: str, level: float, channels: Sequence[str], *,
            scales: Mapping[str, float] | None = None, seed: int = 0, run_col: str = "run_id",
            time_col: str = "time") -> pd.DataFrame:
    """``frame`` with ``artifact`` at ``level`` applied to ``channels``, run by run.

    Parameters
    ----------
    frame : DataFrame
        Samples with a run column and times (column ``time_col`` or the index), in time
        order within each run (as :meth:`TwinDataset.samples` gives them).
    artifact, level
        One of :data:`ARTIFACTS` and its level (in the artifact's unit).
    channels : sequence of str
        Columns to corrupt (each independently, with its own random stream).
    scales : mapping, optional
        Channel standard deviations ``sigma`` [channel unit]; default: from ``frame``.
    seed : int
        Root of the named streams.

    Returns
    -------
    DataFrame
        A copy; the corrupted channels as float64.
    """
    (lv,) = _check_artifacts({artifact: [level]})[artifact]
    missing = [c for c in [*channels, run_col] if c not in frame.columns]
    if missing:
        raise ValueError(f"channels: no column {missing[0]!r} in the data")
    if scales is None:
        scales = {c: float(np.nanstd(frame[c].to_numpy(dtype=float))) for c in channels}
    out = frame.copy()
    streams = RngStreams(seed).child(f"artifact/{artifact}/{lv!r}")
    for rid, idx in frame.groupby(run_col, sort=True).indices.items():
        t_s = _times_s(frame.iloc[idx], time_col)
        for c in channels:
            rng = streams.generator(f"run/{int(rid)}/{c}")
            vals = _corrupt_run(artifact, lv, frame[c].to_numpy(dtype=np.float64)[idx], t_s,
                                float(scales[c]) or 1.0, rng)
            col = out[c].to_numpy(dtype=np.float64, copy=True)
            col[idx] = vals
            out[c] = col
    return out


def default_model(seed: int = 0) -> Any:
    """Median imputation (dropout leaves NaN) and a random forest (100 trees, leaves >= 2)."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    return make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True),
                         RandomForestClassifier(n_estimators=100, min_samples_leaf=2, random_state=seed, n_jobs=1))


@dataclass
class SweepResult:
    """The outcome of :func:`artifact_sweep`.

    ``table``: one row per (artifact, level): ``score_test`` (held-out synthetic runs with
    the same artifact), ``score_clean_test`` (the same runs clean), ``score_real`` (real test
    data as given, NaN without), ``n_train`` / ``n_test`` samples. ``info``: metric, features,
    label, seed, train and test run ids, channel scales.
    """

    table: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)

    def plot(self) -> Figure:
        return plot_sweep(self)

    def save(self, folder: str | Path) -> Path:
        """Write ``sweep.csv`` and ``sweep.png`` into ``folder`` (each atomically)."""
        import os
        import tempfile

        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        for name, write in (("sweep.csv", lambda p: self.table.to_csv(p, index=False, float_format="%.6g")),
                            ("sweep.png", lambda p: self.plot().savefig(p, dpi=110, format="png"))):
            fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{name}.", suffix=".tmp")
            os.close(fd)
            try:
                write(tmp)
                os.chmod(tmp, 0o644)
                os.replace(tmp, out / name)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return out / "sweep.csv"


def artifact_sweep(
    data: Any,
    *,
    features: Sequence[str],
    label: str,
    artifacts: Mapping[str, Sequence[float]],
    model: Any = None,
    metric: str | Callable[[Any, Any, Any], float] = "balanced_accuracy",
    real_test: pd.DataFrame | None = None,
    test_fraction: float = 0.3,
    seed: int = 0,
    run_col: str = "run_id",
    time_col: str = "time",
) -> SweepResult:
    """Train a fixed model per artifact level and score it; see the module docstring.

    Parameters
    ----------
    data : DataFrame, TwinDataset or dataset folder
        Clean synthetic samples with ``run_col``, times, ``features`` and ``label``.
    features : sequence of str
        Input columns of the model; every artifact acts on all of them.
    label : str
        Target column (classes, or a number with a regression ``metric``).
    artifacts : mapping
        Artifact name (:data:`ARTIFACTS`) -> levels. Level 0 (clean) is always scored once
        and shown as the first row of each artifact.
    model : scikit-learn estimator, optional
        Cloned (:func:`sklearn.base.clone`) at each level; default :func:`default_model`.
    metric : str or callable
        A scikit-learn scorer name (``"balanced_accuracy"``, ``"neg_mean_absolute_error"``,
        ...) or ``scorer(model, X, y) -> float``.
    real_test : DataFrame, optional
        Real samples with ``features`` and ``label``, scored as they are.
    test_fraction : float
        Share of the runs held out (split by run, :func:`twinforge.ml.split_runs`), in (0, 1).
    seed : int
        Seeds the split, the artifacts' streams and the default model.

    Raises
    ------
    ValueError
        Unknown artifact or level outside its range (naming it), missing columns, fewer
        than two runs, ``test_fraction`` outside (0, 1).
    """
    from sklearn.base import clone
    from sklearn.metrics import get_scorer

    from twinforge.ml import split_runs

    levels = _check_artifacts(artifacts)
    frame = _frame(data)
    feats = list(features)
    for c in [*feats, label, run_col]:
        if c not in frame.columns:
            raise ValueError(f"features: no column {c!r} in the data" if c in feats
                             else f"no column {c!r} in the data")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    if real_test is not None:
        missing = [c for c in [*feats, label] if c not in real_test.columns]
        if missing:
            raise ValueError(f"real_test: no column {missing[0]!r}")
    ids = np.unique(frame[run_col].to_numpy())
    if len(ids) < 2:
        raise ValueError(f"need at least two runs to hold some out, got {len(ids)}")
    parts = split_runs(ids, (1.0 - test_fraction, test_fraction), names=("train", "test"), seed=seed)
    train = frame[frame[run_col].isin(parts["train"])]
    test = frame[frame[run_col].isin(parts["test"])]
    scales = {c: float(np.nanstd(train[c].to_numpy(dtype=float))) for c in feats}
    scorer = get_scorer(metric) if isinstance(metric, str) else metric
    base = default_model(seed) if model is None else model

    def fit_score(tr: pd.DataFrame, te: pd.DataFrame) -> dict[str, float]:
        m = clone(base).fit(tr[feats].to_numpy(dtype=float), tr[label].to_numpy())
        row = {"score_test": float(scorer(m, te[feats].to_numpy(dtype=float), te[label].to_numpy())),
               "score_clean_test": float(scorer(m, test[feats].to_numpy(dtype=float), test[label].to_numpy())),
               "score_real": math.nan}
        if real_test is not None:
            row["score_real"] = float(scorer(m, real_test[feats].to_numpy(dtype=float), real_test[label].to_numpy()))
        return row

    clean = fit_score(train, test)
    rows = []
    for name, lv in levels.items():
        for v in sorted({0.0, *lv}):
            if v == 0.0:
                res = clean
            else:
                kw = {"scales": scales, "seed": seed, "run_col": run_col, "time_col": time_col}
                res = fit_score(corrupt(train, name, v, feats, **kw), corrupt(test, name, v, feats, **kw))
            rows.append({"artifact": name, "level": v, "level_unit": ARTIFACTS[name].unit, **res,
                         "n_train": len(train), "n_test": len(test)})
    info = {"metric": metric if isinstance(metric, str) else getattr(metric, "__name__", "custom"),
            "features": feats, "label": label, "seed": seed, "scales": scales,
            "train_runs": parts["train"].tolist(), "test_runs": parts["test"].tolist(),
            "real_test": real_test is not None}
    return SweepResult(pd.DataFrame(rows), info)


def _frame(data: Any) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    from twinforge.export.reader import TwinDataset, open_dataset

    ds = data if isinstance(data, TwinDataset) else open_dataset(data)
    return ds.samples()


def plot_sweep(result: SweepResult, *, ncols: int = 4) -> Figure:
    """One panel per artifact: score against level (synthetic test with the artifact, the
    same runs clean, real test data when given)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    t = result.table
    names = list(dict.fromkeys(t["artifact"]))
    ncols = max(1, min(ncols, len(names)))
    nrows = math.ceil(len(names) / ncols)
    fig = Figure(figsize=(3.2 * ncols, 2.8 * nrows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = np.atleast_2d(fig.subplots(nrows, ncols, squeeze=False))
    metric = str(result.info.get("metric", "score")).replace("_", " ")
    lo = np.nanmin(t[["score_test", "score_clean_test", "score_real"]].to_numpy(dtype=float))
    hi = np.nanmax(t[["score_test", "score_clean_test", "score_real"]].to_numpy(dtype=float))
    pad = 0.05 * max(hi - lo, 1e-3)
    for k, ax in enumerate(axes.flat):
        if k >= len(names):
            ax.set_visible(False)
            continue
        g = t[t["artifact"] == names[k]]
        ax.plot(g["level"], g["score_test"], "o-", color="#d95f02", label="synthetic test, same artifact")
        ax.plot(g["level"], g["score_clean_test"], "s--", color="#7570b3", label="synthetic test, clean")
        if g["score_real"].notna().any():
            ax.plot(g["level"], g["score_real"], "^-", color="#1f4e79", label="real test")
        ax.set_ylim(lo - pad, hi + pad)
        ax.set_title(names[k])
        ax.set_xlabel(f"level [{g['level_unit'].iloc[0]}]")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=7, loc="lower left")
    return fig
