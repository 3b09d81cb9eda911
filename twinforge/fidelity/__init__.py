"""Fidelity: how far synthetic traces are from real ones.

Real traces are loaded and cleaned into the synthetic output's shape (:mod:`.loader`: UTC
``time`` index, channel names, SI units, explicit gap and daylight-saving handling), cut
into windows and summarised by a fixed feature vector (:mod:`.windows`), and compared with
metrics whose range and direction are documented one by one (:mod:`.metrics`).

>>> from twinforge.fidelity import load_pjm, make_windows, window_features
>>> real = load_pjm()                                   # shipped sample: PJME 2014, hourly
>>> days, starts = make_windows(real, "load_power_w", "1D", tz="America/New_York")
>>> days.shape
(365, 24, 1)
>>> window_features(days, period_s=3600.0).shape
(365, 18)
"""

from __future__ import annotations

from twinforge.fidelity.loader import (
    PJM_SAMPLE,
    UCI_SAMPLE,
    UNITS,
    TraceError,
    TraceWarning,
    find_gaps,
    infer_period,
    load_pjm,
    load_trace,
    load_uci_household,
)
from twinforge.fidelity.metrics import (
    acf_distance,
    correlation_matrix_distance,
    discriminative_score,
    ks_statistic,
    memorisation,
    nn_indistinguishability,
    profile_error,
    psd_log_distance,
    tail_quantiles,
    wasserstein_normalised,
)
from twinforge.fidelity.windows import feature_names, make_windows, window_features

__all__ = [
    # loading
    "load_trace",
    "load_uci_household",
    "load_pjm",
    "find_gaps",
    "infer_period",
    "TraceError",
    "TraceWarning",
    "UNITS",
    "UCI_SAMPLE",
    "PJM_SAMPLE",
    # windows
    "make_windows",
    "window_features",
    "feature_names",
    # metrics
    "ks_statistic",
    "wasserstein_normalised",
    "acf_distance",
    "psd_log_distance",
    "profile_error",
    "correlation_matrix_distance",
    "tail_quantiles",
    "discriminative_score",
    "nn_indistinguishability",
    "memorisation",
]
