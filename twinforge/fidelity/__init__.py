"""Fidelity: how far synthetic traces are from real ones.

Real traces are loaded and cleaned into the synthetic output's shape (:mod:`.loader`: UTC
``time`` index, channel names, SI units, explicit gap and daylight-saving handling), cut
into windows and summarised by a fixed feature vector (:mod:`.windows`), and compared with
metrics whose range and direction are documented one by one (:mod:`.metrics`).
:func:`compare` computes all of them for a real trace against synthetic runs and returns a
:class:`FidelityReport` (JSON, HTML with figures: :mod:`.report`); :mod:`.tstr` measures
train-on-synthetic-test-on-real utility; :func:`calibrate` fits the parameters of any
twin (home, grid, machine) to a real trace and writes a preset; :func:`protocol` scores a
calibrated twin on a held-out period against reality's own variation. All of them start
from one :class:`PreparedComparison` (:mod:`.prepared`).

>>> from twinforge.fidelity import load_pjm, make_windows, window_features
>>> real = load_pjm()                                   # shipped sample: PJME 2014, hourly
>>> days, starts = make_windows(real, "load_power_w", "1D", tz="America/New_York")
>>> days.shape
(365, 24, 1)
>>> window_features(days, period_s=3600.0).shape
(365, 18)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from twinforge.fidelity.calibration import (
        CalibrationResult,
        LossWeights,
        Objective,
        OPTIMISERS,
        calibrate,
    )
    from twinforge.fidelity.comparison import (
        METRIC_INFO,
        FidelityReport,
        compare,
        compare_prepared,
    )
    from twinforge.fidelity.loader import (
        PJM_SAMPLE,
        PRONOSTIA_CONDITIONS,
        PRONOSTIA_SAMPLE,
        UCI_SAMPLE,
        UNITS,
        TraceError,
        TraceWarning,
        find_gaps,
        infer_period,
        load_pjm,
        load_pronostia,
        load_trace,
        load_uci_household,
        pronostia_condition,
    )
    from twinforge.fidelity.metrics import (
        acf_distance,
        bootstrap_scores,
        correlation_matrix_distance,
        discriminative_score,
        ks_statistic,
        memorisation,
        nn_indistinguishability,
        permutation_null,
        profile_error,
        psd_log_distance,
        tail_quantiles,
        wasserstein_normalised,
    )
    from twinforge.fidelity.parameters import PARAMETERS, Bound, ParameterSource, TableParameters
    from twinforge.fidelity.prepared import (
        CompareError,
        ComparisonSettings,
        Duration,
        PreparedComparison,
        WindowSet,
        real_runs,
        synthetic_frame,
    )
    from twinforge.fidelity.heldout import ProtocolResult, protocol
    from twinforge.fidelity.simulate import purpose_seed, simulate_runs
    from twinforge.fidelity.tstr import TSTRResult, tstr_classify, tstr_forecast
    from twinforge.fidelity.windows import feature_names, make_windows, window_features

#: Public name -> submodule. Submodules are imported on first use, so that
#: ``twinforge.fidelity.commands`` (imported by the CLI) does not pay for scipy and sklearn.
_WHERE = {
    **dict.fromkeys(
        ["load_trace", "load_uci_household", "load_pjm", "find_gaps", "infer_period", "TraceError",
         "TraceWarning", "UNITS", "UCI_SAMPLE", "PJM_SAMPLE", "load_pronostia", "pronostia_condition",
         "PRONOSTIA_SAMPLE", "PRONOSTIA_CONDITIONS"], "loader"),
    **dict.fromkeys(["make_windows", "window_features", "feature_names"], "windows"),
    **dict.fromkeys(
        ["ks_statistic", "wasserstein_normalised", "acf_distance", "psd_log_distance",
         "profile_error", "correlation_matrix_distance", "tail_quantiles", "discriminative_score",
         "nn_indistinguishability", "permutation_null", "bootstrap_scores", "memorisation"], "metrics"),
    **dict.fromkeys(["ComparisonSettings", "Duration", "PreparedComparison", "WindowSet", "CompareError",
                     "synthetic_frame", "real_runs"], "prepared"),
    **dict.fromkeys(["compare", "compare_prepared", "FidelityReport", "METRIC_INFO"], "comparison"),
    **dict.fromkeys(["tstr_forecast", "tstr_classify", "TSTRResult"], "tstr"),
    **dict.fromkeys(["calibrate", "CalibrationResult", "LossWeights", "Objective", "OPTIMISERS"], "calibration"),
    **dict.fromkeys(["PARAMETERS", "Bound", "ParameterSource", "TableParameters"], "parameters"),
    **dict.fromkeys(["simulate_runs", "purpose_seed"], "simulate"),
    **dict.fromkeys(["protocol", "ProtocolResult", "PASS_RULE"], "heldout"),
}

__all__ = [
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
    "load_pronostia",
    "pronostia_condition",
    "PRONOSTIA_SAMPLE",
    "PRONOSTIA_CONDITIONS",
    "make_windows",
    "window_features",
    "feature_names",
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
    "bootstrap_scores",
    "memorisation",
    "ComparisonSettings",
    "Duration",
    "PreparedComparison",
    "WindowSet",
    "CompareError",
    "synthetic_frame",
    "real_runs",
    "compare",
    "compare_prepared",
    "FidelityReport",
    "METRIC_INFO",
    "tstr_forecast",
    "tstr_classify",
    "TSTRResult",
    "calibrate",
    "CalibrationResult",
    "LossWeights",
    "Objective",
    "OPTIMISERS",
    "PARAMETERS",
    "Bound",
    "ParameterSource",
    "TableParameters",
    "simulate_runs",
    "purpose_seed",
    "protocol",
    "ProtocolResult",
    "PASS_RULE",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'twinforge.fidelity' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"twinforge.fidelity.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
