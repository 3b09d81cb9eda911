"""Fidelity: how far synthetic traces are from real ones.

Real traces are loaded and cleaned into the synthetic output's shape (:mod:`.loader`: UTC
``time`` index, channel names, SI units, explicit gap and daylight-saving handling), cut
into windows and summarised by a fixed feature vector (:mod:`.windows`), and compared with
metrics whose range and direction are documented one by one (:mod:`.metrics`).
:func:`compare` computes all of them for a real trace against synthetic runs and returns a
:class:`FidelityReport` (JSON, HTML with figures: :mod:`.report`); :mod:`.tstr` measures
train-on-synthetic-test-on-real utility; :func:`calibrate` fits the parameters of any
twin (home, grid, machine) to a real trace and writes a preset.

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
        HOME_PARAMETERS,
        PARAMETERS,
        Bound,
        CalibrationResult,
        calibrate,
        simulate_homes,
        simulate_runs,
    )
    from twinforge.fidelity.comparison import (
        METRIC_INFO,
        CompareError,
        FidelityReport,
        compare,
        real_runs,
        synthetic_frame,
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
         "nn_indistinguishability", "permutation_null", "memorisation"], "metrics"),
    **dict.fromkeys(["compare", "FidelityReport", "CompareError", "METRIC_INFO", "synthetic_frame", "real_runs"],
                    "comparison"),
    **dict.fromkeys(["tstr_forecast", "tstr_classify", "TSTRResult"], "tstr"),
    **dict.fromkeys(["calibrate", "CalibrationResult", "HOME_PARAMETERS", "PARAMETERS", "Bound",
                     "simulate_runs", "simulate_homes"], "calibration"),
}

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
    "load_pronostia",
    "pronostia_condition",
    "PRONOSTIA_SAMPLE",
    "PRONOSTIA_CONDITIONS",
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
    "permutation_null",
    "memorisation",
    # comparison and report
    "compare",
    "FidelityReport",
    "CompareError",
    "METRIC_INFO",
    "synthetic_frame",
    "real_runs",
    # utility
    "tstr_forecast",
    "tstr_classify",
    "TSTRResult",
    # calibration
    "calibrate",
    "CalibrationResult",
    "HOME_PARAMETERS",
    "PARAMETERS",
    "Bound",
    "simulate_runs",
    "simulate_homes",
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
