"""Distances between real and synthetic traces, each with a documented range and direction.

Every function takes the real data first and the synthetic data second and returns plain
floats (or a dict of floats). NaN samples are ignored (dropped, or handled as each docstring
says). Summary of the directions:

======================================  ===============  ==========================
metric                                  range            ideal
======================================  ===============  ==========================
:func:`ks_statistic`                    [0, 1]           0
:func:`wasserstein_normalised`          [0, inf)         0
:func:`acf_distance`                    [0, 2]           0
:func:`psd_log_distance`                [0, inf)         0 (1 = a factor 10)
:func:`profile_error`                   [0, inf)         0
:func:`correlation_matrix_distance`     [0, 4/sqrt(k(k-1))]  0
:func:`tail_quantiles` ``rel_error``    (-inf, inf)      0
:func:`discriminative_score`            [0, 0.5]         0
:func:`nn_indistinguishability`         [0, (n_r+n_s-1)/n_r]  1
:func:`memorisation` ``median_ratio``   [0, inf)         about 1 (< 1 = copying)
:func:`memorisation` ``copy_share``     [0, 1]           about the quantile (0.01)
======================================  ===============  ==========================

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> real, synth = rng.normal(size=1000), rng.normal(size=1000)
>>> ks_statistic(real, real)
0.0
>>> 0 < ks_statistic(real, synth) < 0.1
True
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import signal, stats

__all__ = [
    "bootstrap_scores",
    "ks_statistic",
    "wasserstein_normalised",
    "acf_distance",
    "psd_log_distance",
    "profile_error",
    "correlation_matrix_distance",
    "tail_quantiles",
    "discriminative_score",
    "nn_indistinguishability",
    "permutation_null",
    "memorisation",
]

ArrayLike = np.ndarray | pd.Series | pd.DataFrame | Sequence[float]


def _flat(x: ArrayLike, name: str) -> np.ndarray:
    """All finite values of ``x`` as a 1-D float array."""
    a = np.asarray(x, dtype="float64").ravel()
    a = a[np.isfinite(a)]
    if a.size == 0:
        raise ValueError(f"{name} has no finite value")
    return a


# ---------------------------------------------------------------------------------------
# marginal distributions


def ks_statistic(real: ArrayLike, synth: ArrayLike) -> float:
    """Two-sample Kolmogorov-Smirnov statistic of the pooled values.

    ``D = max_x |F_real(x) - F_synth(x)|`` (:func:`scipy.stats.ks_2samp`), on all finite
    values (any shape is flattened).

    Returns
    -------
    float
        Range [0, 1]; lower is better; 0 = identical empirical distributions, 1 = disjoint
        supports. Sensitive to location and shape, not to the tails' extent.
    """
    return float(stats.ks_2samp(_flat(real, "real"), _flat(synth, "synth")).statistic)


def wasserstein_normalised(
    real: ArrayLike, synth: ArrayLike, *, scale: Literal["iqr", "std"] = "iqr"
) -> float:
    """First Wasserstein (earth mover's) distance divided by the real data's spread.

    ``W1 / s`` with ``W1`` from :func:`scipy.stats.wasserstein_distance` and ``s`` the
    real interquartile range (``scale="iqr"``, robust to the heavy tails of load data) or
    standard deviation; if the IQR is 0 (a mostly constant channel) the standard deviation is
    used.

    Returns
    -------
    float
        Range [0, inf); lower is better; 0 = identical distributions. Reads as "average
        displacement of the values, in IQRs": a pure shift by ``c`` gives ``|c| / s``; ``inf``
        when the real data is constant and the synthetic is not.
    """
    r, s = _flat(real, "real"), _flat(synth, "synth")
    w1 = float(stats.wasserstein_distance(r, s))
    spread = float(np.subtract(*np.percentile(r, [75, 25]))) if scale == "iqr" else float(np.std(r))
    if spread <= 0:
        spread = float(np.std(r))
    if spread <= 0:
        return 0.0 if w1 == 0 else float("inf")
    return w1 / spread


# ---------------------------------------------------------------------------------------
# temporal structure


def _acf(x: np.ndarray, max_lag: int) -> np.ndarray:
    """Autocorrelation at lags 1..max_lag of each row of ``x`` (n_series, n_steps), NaN-aware.

    ``acf(k) = mean_t[d_t d_{t+k}] / mean_t[d_t^2]`` over the pairs where both are finite,
    ``d = x - mean(x)``. A constant row gives NaN.
    """
    valid = np.isfinite(x)
    mean = np.nanmean(np.where(valid, x, np.nan), axis=1, keepdims=True)
    d = np.where(valid, x - mean, 0.0)
    v = valid.astype("float64")
    var = np.sum(d * d, axis=1) / np.maximum(v.sum(axis=1), 1)
    out = np.empty((x.shape[0], max_lag))
    for k in range(1, max_lag + 1):
        num = np.sum(d[:, :-k] * d[:, k:], axis=1)
        n = np.sum(v[:, :-k] * v[:, k:], axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, k - 1] = np.where((n > 0) & (var > 0), num / np.maximum(n, 1) / var, np.nan)
    return out


def _as_series_rows(x: ArrayLike) -> np.ndarray:
    """1-D -> one row; 2-D (n_windows, n_steps) as is; 3-D with one channel squeezed."""
    a = np.asarray(x, dtype="float64")
    if a.ndim == 3:
        if a.shape[2] != 1:
            raise ValueError("pass one channel at a time: windows[..., k]")
        a = a[..., 0]
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2:
        raise ValueError(f"expected a series or (n_windows, n_steps) windows, got shape {a.shape}")
    return a


def acf_distance(real: ArrayLike, synth: ArrayLike, max_lag: int) -> float:
    """RMS difference of the autocorrelation functions at lags 1..max_lag.

    A 1-D input is one series (the concatenated trace; gaps are NaN and only pairs with both
    values present count). A 2-D input ``(n_windows, n_steps)`` (or 3-D with one channel) is
    a set of windows: the ACF is computed per window, then averaged over the windows
    (constant windows are skipped), which avoids spurious correlation across window joins.

    ``d = sqrt(mean_k (acf_real(k) - acf_synth(k))^2)``, ``k = 1..max_lag``.

    Returns
    -------
    float
        Range [0, 2]; lower is better; 0 = same autocorrelation up to ``max_lag``. White
        noise against a slowly varying signal gives about ``mean_k acf_real(k)``.
    """
    if max_lag < 1:
        raise ValueError(f"max_lag must be >= 1, got {max_lag}")
    acfs = []
    for name, x in (("real", real), ("synth", synth)):
        rows = _as_series_rows(x)
        if rows.shape[1] <= max_lag:
            raise ValueError(
                f"{name}: series of {rows.shape[1]} steps is too short for max_lag={max_lag}"
            )
        a = _acf(rows, max_lag)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # constant windows: NaN, skipped
            mean = np.nanmean(a, axis=0)
        if np.isnan(mean).any():
            raise ValueError(f"{name}: autocorrelation undefined (constant or too few values)")
        acfs.append(mean)
    return float(np.sqrt(np.mean((acfs[0] - acfs[1]) ** 2)))


def _fill_nan(row: np.ndarray) -> np.ndarray:
    ok = np.isfinite(row)
    if ok.all():
        return row
    if not ok.any():
        raise ValueError("a series has no finite value")
    idx = np.arange(row.size)
    return np.interp(idx, idx[ok], row[ok])


def psd_log_distance(
    real: ArrayLike, synth: ArrayLike, fs_hz: float, nperseg: int = 256
) -> float:
    """RMS difference of the log10 power spectral densities.

    Welch PSDs (:func:`scipy.signal.welch`, Hann window, ``nperseg`` samples, constant
    detrend) of both inputs on the same frequency grid; for window sets (2-D input) the PSD
    is averaged over the windows. NaN samples are linearly interpolated first (edges: nearest
    value). ``nperseg`` is capped at the shortest series. The zero frequency is left out; a
    floor of ``1e-12 x`` the largest real PSD value keeps empty bins finite.

    ``d = sqrt(mean_f (log10 P_real(f) - log10 P_synth(f))^2)``

    Returns
    -------
    float
        Range [0, inf); lower is better; 0 = same spectrum; 1 = on average a factor 10 in
        power (a scaling of the signal by ``a`` gives ``2 |log10 a|``).
    """
    r, s = _as_series_rows(real), _as_series_rows(synth)
    nper = int(min(nperseg, r.shape[1], s.shape[1]))
    psds = []
    for rows in (r, s):
        filled = np.stack([_fill_nan(row) for row in rows])
        f, p = signal.welch(filled, fs=fs_hz, nperseg=nper, axis=-1)
        psds.append(p.mean(axis=0))
    floor = 1e-12 * max(float(psds[0].max()), np.finfo(float).tiny)
    lr, ls = (np.log10(np.maximum(p[1:], floor)) for p in psds)
    return float(np.sqrt(np.mean((lr - ls) ** 2)))


def profile_error(
    real: pd.Series,
    synth: pd.Series,
    by: Literal["hour", "hour_week"] = "hour",
    tz: str = "UTC",
) -> float:
    """Normalised RMS error between mean daily (or weekly) profiles in local time.

    Both series are grouped by local hour of day (``by="hour"``, 24 bins) or hour of week
    (``"hour_week"``, 168 bins, Monday 00:00 first) in zone ``tz`` and averaged; the error is
    the coefficient of variation of the RMS error (CV(RMSE), as in ASHRAE Guideline 14):

    ``e = sqrt(mean_h (p_synth(h) - p_real(h))^2) / mean_h |p_real(h)|``

    over the bins present in both. A naive index is taken as UTC.

    Returns
    -------
    float
        Range [0, inf); lower is better; 0 = identical mean profiles; a uniform scaling of
        the synthetic by ``1 + a`` gives ``|a| * rms(p_real) / mean|p_real|``.
    """
    if by not in ("hour", "hour_week"):
        raise ValueError(f"by must be 'hour' or 'hour_week', got {by!r}")
    profiles = []
    for name, x in (("real", real), ("synth", synth)):
        if not isinstance(x, pd.Series) or not isinstance(x.index, pd.DatetimeIndex):
            raise TypeError(f"{name} must be a pandas Series with a DatetimeIndex")
        idx = x.index if x.index.tz is not None else x.index.tz_localize("UTC")
        local = idx.tz_convert(tz)
        key = local.hour if by == "hour" else local.day_of_week * 24 + local.hour
        values = pd.Series(np.asarray(x, dtype="float64"), index=key)
        profiles.append(values.groupby(level=0).mean())
    pr, ps = profiles[0].align(profiles[1], join="inner")
    ok = pr.notna() & ps.notna()
    if not ok.any():
        raise ValueError("real and synth share no profile bin with data")
    pr, ps = pr[ok].to_numpy(), ps[ok].to_numpy()
    level = np.mean(np.abs(pr))
    rmse = float(np.sqrt(np.mean((ps - pr) ** 2)))
    if level == 0:
        return 0.0 if rmse == 0 else float("inf")
    return rmse / level


# ---------------------------------------------------------------------------------------
# cross-channel and tails


def _as_table(x: pd.DataFrame | np.ndarray, name: str) -> pd.DataFrame:
    if isinstance(x, pd.DataFrame):
        return x.astype("float64")
    a = np.asarray(x, dtype="float64")
    if a.ndim == 3:
        a = a.reshape(-1, a.shape[2])
    if a.ndim != 2:
        raise ValueError(f"{name}: expected (n_samples, n_channels), got shape {a.shape}")
    return pd.DataFrame(a, columns=[f"ch{k}" for k in range(a.shape[1])])


def correlation_matrix_distance(
    real_df: pd.DataFrame | np.ndarray, synth_df: pd.DataFrame | np.ndarray
) -> float:
    """Distance between the cross-channel Pearson correlation matrices.

    Correlations are pairwise-complete (NaN rows skipped per pair). DataFrames are compared
    on their shared columns; arrays of shape (n_samples, n_channels) or windows
    (n_windows, n_steps, n_channels) by position.

    ``d = ||R_real - R_synth||_F / n_pairs``, ``n_pairs = k (k - 1) / 2`` for ``k`` channels
    (the Frobenius norm runs over the full symmetric matrix, so each pair counts twice).

    Returns
    -------
    float
        Range [0, 4 / sqrt(k (k - 1))] (2.83 for two channels, 1.63 for three); lower is
        better; 0 = same correlation structure. The normalisation by ``n_pairs`` makes the
        value shrink with the channel count for the same per-pair error; compare values at
        equal ``k`` only.
    """
    r, s = _as_table(real_df, "real"), _as_table(synth_df, "synth")
    cols = [c for c in r.columns if c in set(s.columns)]
    if len(cols) < 2:
        raise ValueError(f"need at least two shared channels, got {cols}")
    mats = []
    for name, t in (("real", r), ("synth", s)):
        c = t[cols].corr(method="pearson")
        if c.isna().to_numpy().any():
            bad = c.columns[c.isna().any()].tolist()
            raise ValueError(f"{name}: correlation undefined for {bad} (constant or empty channel)")
        mats.append(c.to_numpy())
    k = len(cols)
    return float(np.linalg.norm(mats[0] - mats[1], "fro") / (k * (k - 1) / 2))


def tail_quantiles(
    real: ArrayLike, synth: ArrayLike, q: Sequence[float] = (0.01, 0.99, 0.999)
) -> dict[float, dict[str, float]]:
    """Compare extreme quantiles.

    Returns
    -------
    dict
        ``{q: {"real": Q_real(q), "synth": Q_synth(q), "rel_error": (Q_synth - Q_real) / s}}``
        with ``s = |Q_real(q)|``, or the real IQR when ``Q_real(q) = 0``. ``rel_error`` is
        signed (negative = synthetic tail too short), ideal 0, range (-inf, inf); use its
        absolute value as the distance. Quantiles use linear interpolation on the finite
        values; a 0.999 quantile needs several thousand samples to mean anything.
    """
    r, s = _flat(real, "real"), _flat(synth, "synth")
    iqr = float(np.subtract(*np.percentile(r, [75, 25])))
    out: dict[float, dict[str, float]] = {}
    for qq in q:
        if not 0.0 <= qq <= 1.0:
            raise ValueError(f"quantile must be in [0, 1], got {qq}")
        qr, qs = float(np.quantile(r, qq)), float(np.quantile(s, qq))
        denom = abs(qr) if qr != 0 else iqr
        rel = (qs - qr) / denom if denom > 0 else (0.0 if qs == qr else float("inf"))
        out[float(qq)] = {"real": qr, "synth": qs, "rel_error": float(rel)}
    return out


# ---------------------------------------------------------------------------------------
# window-level: classifier, neighbours, memorisation


def _features_pair(real_feats: ArrayLike, synth_feats: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    r = np.asarray(real_feats, dtype="float64")
    s = np.asarray(synth_feats, dtype="float64")
    if r.ndim != 2 or s.ndim != 2 or r.shape[1] != s.shape[1]:
        raise ValueError(
            "features must be (n_windows, n_features) with equal n_features, "
            f"got {r.shape} and {s.shape}"
        )
    return r, s


def _standardise(reference: np.ndarray, *arrays: np.ndarray) -> list[np.ndarray]:
    """Centre and scale by the reference's column mean and std; NaN -> 0 (the mean)."""
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(reference, axis=0)
        std = np.nanstd(reference, axis=0)
    mean = np.where(np.isfinite(mean), mean, 0.0)
    std = np.where(np.isfinite(std) & (std > 0), std, 1.0)
    return [np.nan_to_num((a - mean) / std, nan=0.0, posinf=0.0, neginf=0.0) for a in arrays]


def _seed_int(seed: int | np.random.Generator) -> int:
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(2**31 - 1))
    return int(seed)


def discriminative_score(
    real_feats: ArrayLike,
    synth_feats: ArrayLike,
    seed: int | np.random.Generator = 0,
    cv: int = 5,
    n_estimators: int = 100,
    groups: ArrayLike | None = None,
) -> float:
    """How well a classifier tells real windows from synthetic ones, beyond chance.

    A :class:`~sklearn.ensemble.RandomForestClassifier` (``n_estimators`` trees,
    ``min_samples_leaf=2``, ``class_weight="balanced"``, seeded) is trained to separate real
    (label 0) from synthetic (label 1) feature vectors and scored by stratified
    ``cv``-fold cross-validated **balanced accuracy**, so unequal counts do not reward always
    guessing the larger class. NaN features are handled by the trees natively.

    ``score = max(balanced_accuracy - 0.5, 0)``

    Cross-validated accuracy *below* chance is clipped to 0: it is not evidence that the sets
    differ but the signature of near-duplicate real/synthetic pairs split across folds (each
    test window is classified by its twin of the other label: identical sets score about
    0.1 accuracy). :func:`memorisation` is the check for that.

    Parameters
    ----------
    real_feats, synth_feats : ndarray of shape (n_windows, n_features)
        E.g. from :func:`~twinforge.fidelity.windows.window_features`.
    seed : int or numpy Generator
        Seeds the fold shuffling and the forest (a Generator gives one integer draw).
    cv : int
        Number of folds; each class needs at least ``cv`` windows.
    n_estimators : int
        Number of trees.
    groups : array of shape (n_real + n_synth,), optional
        Group of each window (real first): windows of one group stay in one fold
        (:class:`~sklearn.model_selection.StratifiedGroupKFold`), so that copies of a window
        drawn by a bootstrap never classify each other.

    Returns
    -------
    float
        Range [0, 0.5]; lower is better; 0 = indistinguishable to this classifier, 0.5 =
        perfectly separable. With ``n`` windows per class, chance alone reaches about
        ``0.5 / sqrt(n)``, e.g. 0.035 for 200 windows.
    """
    folds = _out_of_fold(real_feats, synth_feats, seed=seed, cv=cv, n_estimators=n_estimators, groups=groups)
    return _disc_from_folds(folds)


def _out_of_fold(real_feats: ArrayLike, synth_feats: ArrayLike, seed: int | np.random.Generator, cv: int,
                 n_estimators: int, groups: ArrayLike | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """The cross-validated forest's predictions: ``(y_true, y_pred)`` of each test fold
    (real = 0, synthetic = 1); every window is predicted once, by a forest that never saw it."""
    from sklearn.base import clone
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    r, s = _features_pair(real_feats, synth_feats)
    if min(len(r), len(s)) < cv:
        raise ValueError(
            f"each class needs at least cv={cv} windows, got {len(r)} real and {len(s)} synth"
        )
    x = np.vstack([r, s])
    y = np.r_[np.zeros(len(r), dtype=int), np.ones(len(s), dtype=int)]
    state = _seed_int(seed)
    clf = RandomForestClassifier(
        n_estimators=n_estimators, min_samples_leaf=2, class_weight="balanced",
        random_state=state, n_jobs=1,
    )
    if groups is None:
        splits = StratifiedKFold(n_splits=cv, shuffle=True, random_state=state).split(x, y)
    else:
        splits = StratifiedGroupKFold(n_splits=cv, shuffle=True, random_state=state).split(x, y, np.asarray(groups))
    return [(y[te], clone(clf).fit(x[tr], y[tr]).predict(x[te])) for tr, te in splits]


def _disc_from_folds(folds: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """``max(mean balanced accuracy over the folds - 0.5, 0)``."""
    from sklearn.metrics import balanced_accuracy_score

    acc = [balanced_accuracy_score(t, p) for t, p in folds]
    return float(max(np.mean(acc) - 0.5, 0.0))


def _nearest_other(pooled: np.ndarray, query_rows: np.ndarray,
                   groups: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Index and distance of the nearest pooled row to each query row, excluding itself
    (and, with ``groups``, every row of its group: the copies of a bootstrap draw)."""
    from sklearn.neighbors import NearestNeighbors

    extra = 0 if groups is None else int(np.unique(groups, return_counts=True)[1].max()) - 1
    nn = NearestNeighbors(n_neighbors=min(3 + extra, len(pooled))).fit(pooled)
    dist, idx = nn.kneighbors(pooled[query_rows])
    # the row itself is normally the first neighbour; with exact ties it may come second
    if groups is None:
        not_self = idx != query_rows[:, None]
    else:
        not_self = groups[idx] != groups[query_rows][:, None]
    first = np.argmax(not_self, axis=1)
    rows = np.arange(len(query_rows))
    return idx[rows, first], dist[rows, first]


def nn_indistinguishability(real_feats: ArrayLike, synth_feats: ArrayLike,
                            groups: ArrayLike | None = None) -> float:
    """Share of synthetic windows whose nearest neighbour is real, against the share expected.

    Features are standardised on the pooled real + synthetic set (NaN -> pooled mean). For
    each synthetic window, its nearest neighbour (Euclidean) among **all other** windows is
    found (:class:`sklearn.neighbors.NearestNeighbors`). If synthetic windows were draws
    from the real distribution, that neighbour would be real with probability
    ``n_real / (n_real + n_synth - 1)``, whatever the counts. The score is the observed share
    divided by that expectation.

    Returns
    -------
    float
        Range [0, (n_real + n_synth - 1) / n_real]; ideal 1 (fully mixed); 0 = fully separate
        (synthetic windows only neighbour each other); above 1 = synthetic windows hug the
        real ones, a sign of copying (identical sets give the maximum, see
        :func:`memorisation`). Sampling noise is about ``sqrt((1-p) / (p n_synth))`` with
        ``p`` the expected share.
    """
    hits, expected = _nn_hits(real_feats, synth_feats, groups)
    return float(np.mean(hits)) / expected


def _nn_hits(real_feats: ArrayLike, synth_feats: ArrayLike,
             groups: ArrayLike | None = None) -> tuple[np.ndarray, float]:
    """For each synthetic window, whether its nearest other window is real; and the share
    expected if both sides came from one distribution."""
    r, s = _features_pair(real_feats, synth_feats)
    if len(r) < 1 or len(s) < 1 or len(r) + len(s) < 3:
        raise ValueError("need at least one real and one synthetic window and three in all")
    pooled = np.vstack([r, s])
    (z,) = _standardise(pooled, pooled)
    query = np.arange(len(r), len(pooled))
    nb, _ = _nearest_other(z, query, None if groups is None else np.asarray(groups))
    return nb < len(r), len(r) / (len(r) + len(s) - 1)


def permutation_null(
    real_feats: ArrayLike,
    synth_feats: ArrayLike,
    n_permutations: int,
    seed: int | np.random.Generator = 0,
    cv: int = 5,
    n_estimators: int = 100,
) -> dict[str, np.ndarray]:
    """The window scores of these counts when real and synthetic come from one distribution.

    The real and synthetic feature vectors are pooled and their labels permuted
    ``n_permutations`` times (keeping the counts); each time :func:`discriminative_score`
    (same ``cv`` and ``n_estimators``, the forest seeded per permutation) and
    :func:`nn_indistinguishability` are computed on the relabelled sets. This is the exact
    null of a permutation test: what a perfect model would score with these window counts,
    instead of a rule of thumb. With ``k`` null scores at least as extreme as the observed
    one, the one-sided p-value is ``(1 + k) / (1 + n_permutations)``.

    Parameters
    ----------
    real_feats, synth_feats : ndarray of shape (n_windows, n_features)
    n_permutations : int
        Number of relabellings, at least 1 (each costs one cross-validated forest).
    seed : int or numpy Generator
        Seeds the permutations and the forests.
    cv, n_estimators : int
        As :func:`discriminative_score`.

    Returns
    -------
    dict of ndarray
        ``discriminative``: the null discriminative scores (range [0, 0.5]; about half of
        them 0, the clipped value); ``nn``: the null NN indistinguishability scores (about 1).
    """
    r, s = _features_pair(real_feats, synth_feats)
    if isinstance(n_permutations, bool) or not isinstance(n_permutations, (int, np.integer)) \
            or n_permutations < 1:
        raise ValueError(f"n_permutations must be an integer >= 1, got {n_permutations!r}")
    if min(len(r), len(s)) < cv:
        raise ValueError(
            f"each class needs at least cv={cv} windows, got {len(r)} real and {len(s)} synth"
        )
    pooled = np.vstack([r, s])
    rng = np.random.default_rng(_seed_int(seed))
    disc, nn = np.empty(int(n_permutations)), np.empty(int(n_permutations))
    for k in range(int(n_permutations)):
        order = rng.permutation(len(pooled))
        a, b = pooled[order[: len(r)]], pooled[order[len(r):]]
        disc[k] = discriminative_score(a, b, seed=int(rng.integers(2**31)), cv=cv,
                                       n_estimators=n_estimators)
        nn[k] = nn_indistinguishability(a, b)
    return {"discriminative": disc, "nn": nn}


def bootstrap_scores(
    real_feats: ArrayLike,
    synth_feats: ArrayLike,
    n_boot: int,
    seed: int | np.random.Generator = 0,
    cv: int = 5,
    n_estimators: int = 100,
    level: float = 0.9,
) -> dict[str, Any]:
    """Bootstrap intervals of the discriminative score and NN indistinguishability.

    The resampling unit is the **scored window**, the models are the ones that scored them:

    - discriminative score: the ``cv`` forests of :func:`discriminative_score` (same seed,
      same folds) predict every window once, out of fold; each resample draws, within each
      test fold and each class, as many windows as it holds, with replacement, and recomputes
      the mean balanced accuracy over the folds;
    - NN indistinguishability: each synthetic window's nearest neighbour is found once in the
      pooled set (:func:`nn_indistinguishability`); each resample draws the synthetic windows
      with replacement and recomputes the share whose neighbour is real.

    The interval is the percentile interval at ``level`` (Efron & Tibshirani 1993, *An
    Introduction to the Bootstrap*, ch. 13). It measures how much the score moves with which
    windows were drawn, for the classifiers and neighbours these windows gave; the training
    variance of the forests is not in it (their seed-to-seed spread is one order smaller on
    hundreds of windows, docs/fidelity_study.md).

    Refitting the forests on each resample (the earlier scheme) is biased low: a resample with
    replacement holds only about 63 % distinct windows, a forest learns less from it, and the
    interval fell below its own point estimate (PJM East, real 2011-2012 against real
    2014-2015: 0.142 outside [0.100, 0.138]).

    Returns
    -------
    dict
        ``discriminative`` and ``nn``: the bootstrap scores (ndarray); ``discriminative_ci``
        and ``nn_ci``: (low, high); ``discriminative_value`` and ``nn_value``: the point
        estimates (as :func:`discriminative_score` and :func:`nn_indistinguishability` with
        this seed); ``level``, ``n_boot``.
    """
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ValueError(f"n_boot must be an integer >= 1, got {n_boot!r}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    state = _seed_int(seed)
    folds = _out_of_fold(real_feats, synth_feats, seed=state, cv=cv, n_estimators=n_estimators)
    hits, expected = _nn_hits(real_feats, synth_feats)
    rng = np.random.default_rng([state, 1])
    n = int(n_boot)
    acc = np.zeros(n)
    for y_true, y_pred in folds:
        recall = np.zeros(n)
        for label in (0, 1):
            right = (y_pred[y_true == label] == label).astype(float)
            recall += right[rng.integers(0, len(right), (n, len(right)))].mean(axis=1)
        acc += recall / 2.0
    disc = np.maximum(acc / len(folds) - 0.5, 0.0)
    nn = hits[rng.integers(0, len(hits), (n, len(hits)))].mean(axis=1) / expected
    a = (1.0 - level) / 2.0
    return {"discriminative": disc, "nn": nn, "level": level, "n_boot": n,
            "discriminative_value": _disc_from_folds(folds), "nn_value": float(np.mean(hits)) / expected,
            "discriminative_ci": (float(np.quantile(disc, a)), float(np.quantile(disc, 1 - a))),
            "nn_ci": (float(np.quantile(nn, a)), float(np.quantile(nn, 1 - a)))}


def memorisation(
    real_feats: ArrayLike, synth_feats: ArrayLike, quantile: float = 0.01
) -> dict[str, float]:
    """Are synthetic windows copies of real ones?

    Features are standardised with the real set's mean and std (NaN -> real mean). For each
    synthetic window, ``d_sr`` = distance to the closest real window; for each real window,
    ``d_rr`` = distance to the closest *other* real window (leave-one-out).

    Returns
    -------
    dict of float
        ``median_ratio`` = median(d_sr) / median(d_rr): range [0, inf); about 1 = synthetic
        windows are as close to the real ones as real windows are to each other (good);
        well below 1 = copying or near-copying; well above 1 = synthetic windows are far
        from all real ones (a fidelity problem, not a privacy one).
        ``copy_share`` = share of synthetic windows with ``d_sr <= threshold``: range [0, 1];
        for fresh samples of the real distribution about ``quantile``; an exact copy is
        always flagged (distance 0).
        ``threshold`` = the ``quantile`` of ``d_rr`` (standardised units).
    """
    r, s = _features_pair(real_feats, synth_feats)
    if len(r) < 2 or len(s) < 1:
        raise ValueError("need at least two real windows and one synthetic window")
    from sklearn.neighbors import NearestNeighbors

    zr, zs = _standardise(r, r, s)
    _, d_rr = _nearest_other(zr, np.arange(len(zr)))
    d_sr = NearestNeighbors(n_neighbors=1).fit(zr).kneighbors(zs)[0][:, 0]
    threshold = float(np.quantile(d_rr, quantile))
    med_rr = float(np.median(d_rr))
    med_sr = float(np.median(d_sr))
    ratio = med_sr / med_rr if med_rr > 0 else (0.0 if med_sr == 0 else float("inf"))
    return {
        "median_ratio": ratio,
        "copy_share": float(np.mean(d_sr <= threshold)),
        "threshold": threshold,
    }
