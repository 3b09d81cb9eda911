"""Condition indicators of vibration snapshots: statistics and envelope-spectrum lines.

Time-domain indicators (Randall 2011, *Vibration-based Condition Monitoring*,
doi:10.1002/9780470977668): RMS, peak, crest factor (peak / RMS), Pearson kurtosis
(:math:`E[(x-\\mu)^4]/\\sigma^4`, 3 for Gaussian noise, large for impulsive signals) and
skewness. Envelope analysis (Randall & Antoni 2011, doi:10.1016/j.ymssp.2010.07.017):
optionally band-pass the signal around a resonance excited by the impacts, take the
modulus of the analytic signal (Hilbert transform), and read the spectrum of that envelope
at the bearing defect frequencies, where a localised fault shows as a line (with sidebands
at the shaft frequency for an inner-race fault).

Snapshots are along the **last** axis: ``x`` is ``(n_samples,)`` or
``(n_snapshots, n_samples)``.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

__all__ = [
    "FAULT_FEATURES",
    "condition_indicators",
    "cepstral_prewhiten",
    "envelope_spectrum",
    "fault_features",
    "squared_envelope_spectrum",
]


def _nfft(n: int, rate_hz: float) -> int:
    """Zero-padded FFT length: a power of two >= n with a bin spacing of at most 1 Hz."""
    target = max(n, int(np.ceil(rate_hz)))
    return 1 << int(np.ceil(np.log2(max(target, 2))))


def envelope_spectrum(
    x, rate_hz: float, band: tuple[float, float] | None = None, nfft: int | None = None
):
    """Amplitude spectrum of the Hilbert envelope of ``x``.

    Parameters
    ----------
    x : array_like of shape (n_samples,) or (n_snapshots, n_samples)
        Signal [g] (or any unit), samples along the last axis.
    rate_hz : float
        Sample rate [Hz].
    band : (float, float) or None
        Band-pass ``(low_hz, high_hz)`` applied first (4th-order Butterworth, zero phase);
        ``None`` uses the raw signal.
    nfft : int or None
        FFT length (zero padding); default: a power of two >= ``n_samples`` giving bins of
        at most 1 Hz.

    Returns
    -------
    freqs_hz : ndarray of shape (nfft // 2 + 1,)
        Frequencies [Hz].
    amplitude : ndarray of shape (..., nfft // 2 + 1)
        Single-sided amplitude of the (mean-removed, Hann-windowed) envelope, in the unit of
        ``x``: a sinusoidal envelope modulation of amplitude ``A`` reads ``A``.

    Examples
    --------
    >>> fs = 10_000.0
    >>> t = np.arange(10_000) / fs
    >>> x = (1.0 + 0.5 * np.cos(2 * np.pi * 37.0 * t)) * np.sin(2 * np.pi * 2_000.0 * t)
    >>> f, a = envelope_spectrum(x, fs)
    >>> i = int(np.argmax(a)); round(float(f[i])), round(float(a[i]), 1)
    (37, 0.5)
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim not in (1, 2) or x.shape[-1] < 4:
        raise ValueError(
            "x must have shape (n_samples,) or (n_snapshots, n_samples) with n_samples >= 4"
        )
    if not rate_hz > 0.0:
        raise ValueError("rate_hz must be positive")
    n = x.shape[-1]
    if band is not None:
        low, high = float(band[0]), float(band[1])
        if not 0.0 < low < high < 0.5 * rate_hz:
            raise ValueError(
                f"band must satisfy 0 < low < high < Nyquist ({0.5 * rate_hz} Hz), got {band}"
            )
        sos = signal.butter(4, (low, high), btype="bandpass", fs=rate_hz, output="sos")
        x = signal.sosfiltfilt(sos, x, axis=-1)
    env = np.abs(signal.hilbert(x, axis=-1))
    env = env - env.mean(axis=-1, keepdims=True)
    nfft = _nfft(n, rate_hz) if nfft is None else int(nfft)
    if nfft < n:
        raise ValueError(f"nfft ({nfft}) must be >= n_samples ({n})")
    window = signal.windows.hann(n, sym=False)
    amplitude = 2.0 * np.abs(np.fft.rfft(env * window, n=nfft, axis=-1)) / window.sum()
    return np.fft.rfftfreq(nfft, d=1.0 / rate_hz), amplitude


def condition_indicators(
    x,
    rate_hz: float,
    defect_freqs: dict[str, float] | None = None,
    band: tuple[float, float] | None = None,
    rel_tol: float = 0.02,
) -> dict[str, np.ndarray]:
    """Condition indicators of one snapshot or a batch of snapshots.

    Parameters
    ----------
    x : array_like of shape (n_samples,) or (n_snapshots, n_samples)
        Acceleration [g], samples along the last axis.
    rate_hz : float
        Sample rate [Hz].
    defect_freqs : dict of str to float, or None
        Target frequencies [Hz] (e.g. ``defect_frequencies(geometry, shaft_hz)``); for each
        key ``k`` the output holds ``env_k``, the largest envelope-spectrum amplitude within
        ``+-rel_tol`` of the target (the nearest bin if none falls inside).
    band : (float, float) or None
        Band-pass applied before the envelope (see :func:`envelope_spectrum`).
    rel_tol : float
        Relative half-width of the search window around each target [-] (default 2 %).

    Returns
    -------
    dict of str to ndarray
        ``rms`` [g], ``peak`` (max absolute value) [g], ``crest_factor`` [-], ``kurtosis``
        (Pearson; normal = 3) [-], ``skewness`` [-], and ``env_<key>`` [g] per defect
        frequency; each of shape ``()`` for one snapshot or ``(n_snapshots,)``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ci = condition_indicators(rng.standard_normal(100_000), 25_600.0)
    >>> round(float(ci["rms"]), 2), round(float(ci["kurtosis"]), 1)
    (1.0, 3.0)
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim not in (1, 2) or x.shape[-1] < 4:
        raise ValueError(
            "x must have shape (n_samples,) or (n_snapshots, n_samples) with n_samples >= 4"
        )
    if not np.all(np.isfinite(x)):
        raise ValueError("x contains NaN or infinite values")
    rms = np.sqrt(np.mean(x * x, axis=-1))
    peak = np.max(np.abs(x), axis=-1)
    # central moments (biased, as scipy.stats.kurtosis(fisher=False) / skew): NaN if constant
    xc = x - x.mean(axis=-1, keepdims=True)
    m2 = np.mean(xc**2, axis=-1)
    m3 = np.mean(xc**3, axis=-1)
    m4 = np.mean(xc**4, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        crest = np.where(rms > 0.0, peak / rms, np.nan)
        flat = m2 <= 1e-14 * np.maximum(np.mean(x * x, axis=-1), np.finfo(float).tiny)
        kurt = np.where(flat, np.nan, m4 / m2**2)
        skew = np.where(flat, np.nan, m3 / m2**1.5)
    out: dict[str, np.ndarray] = {
        "rms": np.asarray(rms),
        "peak": np.asarray(peak),
        "crest_factor": np.asarray(crest),
        "kurtosis": np.asarray(kurt),
        "skewness": np.asarray(skew),
    }
    if defect_freqs:
        freqs_hz, amp = envelope_spectrum(x, rate_hz, band=band)
        for key, target in defect_freqs.items():
            target = float(np.asarray(target))
            if not target > 0.0:
                raise ValueError(f"defect frequency {key!r} must be positive, got {target}")
            inside = np.abs(freqs_hz - target) <= rel_tol * target
            if not inside.any():
                inside = np.arange(freqs_hz.size) == int(np.argmin(np.abs(freqs_hz - target)))
            out[f"env_{key}"] = np.asarray(np.max(amp[..., inside], axis=-1))
    return out


def cepstral_prewhiten(x) -> np.ndarray:
    """Cepstrum pre-whitening: the signal with a flat amplitude spectrum, phases kept.

    :math:`x_w = \\mathcal{F}^{-1}\\{X / |X|\\}` (Borghesani et al. 2013, Mech. Syst. Signal
    Process. 36, 370-384): removes the discrete lines and equalises the
    resonances, so that what is left of a bearing's signature is the timing of its
    impulses, whatever the structure and the sensor between the bearing and the record.

    Parameters
    ----------
    x : array_like of shape (n_samples,) or (n_snapshots, n_samples)

    Returns
    -------
    ndarray of the same shape
        Mean removed, unit amplitude spectrum.
    """
    x = np.asarray(x, dtype=np.float64)
    spec = np.fft.rfft(x - x.mean(axis=-1, keepdims=True), axis=-1)
    mag = np.abs(spec)
    spec = np.where(mag > 1e-12 * np.max(mag, axis=-1, keepdims=True), spec / np.maximum(mag, 1e-300), 0.0)
    return np.fft.irfft(spec, n=x.shape[-1], axis=-1)


def squared_envelope_spectrum(x, rate_hz: float, nfft: int | None = None):
    """Spectrum of the squared envelope, normalised by its mean (the signal's power).

    ``SES(f) = |FFT(|hilbert(x)|^2 w)| / sum(|hilbert(x)|^2 w)`` with a Hann window ``w``:
    dimensionless, 1 at 0 Hz, so a line's height is the depth of the power modulation at
    that frequency whatever the signal's level (Randall & Antoni 2011,
    doi:10.1016/j.ymssp.2010.07.017, section 3).

    Returns
    -------
    freqs_hz : ndarray of shape (nfft // 2 + 1,)
    ses : ndarray of shape (..., nfft // 2 + 1)
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[-1]
    env2 = np.abs(signal.hilbert(x, axis=-1)) ** 2
    window = signal.windows.hann(n, sym=False)
    nfft = _nfft(n, rate_hz) if nfft is None else int(nfft)
    spec = np.abs(np.fft.rfft(env2 * window, n=nfft, axis=-1))
    dc = np.maximum(np.sum(env2 * window, axis=-1, keepdims=True), 1e-300)
    return np.fft.rfftfreq(nfft, d=1.0 / rate_hz), spec / dc


#: Names of :func:`fault_features`, in order.
FAULT_FEATURES: tuple[str, ...] = (
    "kurtosis_log", "crest_factor", "whitened_kurtosis_log", "whitened_crest_factor",
    *(f"{k}_h{h}" for k, hs in (("ftf", (1, 2, 3)), ("bsf", (1,)), ("bsf2", (1, 2, 3)), ("bpfo", (1, 2, 3)),
                                ("bpfi", (1, 2, 3))) for h in hs),
    "bpfi_sidebands", "shaft_h1", "shaft_h2",
    *(f"share_{k}" for k in ("ftf", "bsf", "bpfo", "bpfi")),
)


def fault_features(
    x,
    rate_hz: float,
    shaft_hz: float,
    defect_freqs: dict[str, float],
    rel_tol: float = 0.02,
) -> np.ndarray:
    """Rig-independent fault features of snapshots: impulsiveness and envelope lines.

    Every feature is dimensionless, so a classifier trained on one machine reads another
    (see :data:`FAULT_FEATURES`):

    - ``kurtosis_log`` = log10 of the Pearson kurtosis / 3, ``crest_factor`` (peak / RMS)
      of the raw signal, and the same two of the cepstrum-pre-whitened signal
      (:func:`cepstral_prewhiten`);
    - for the cage (FTF), twice the ball spin (``bsf2``), outer race (BPFO) and inner race
      (BPFI) frequencies and their harmonics 1-3, and the ball spin (BSF) itself: the log10 ratio of the
      squared-envelope spectrum (:func:`squared_envelope_spectrum` of the pre-whitened
      signal) at the line (largest bin within ``+-rel_tol``, at least one bin of the
      window's resolution) to the median of the spectrum between half the shaft frequency
      and 3.5 BPFI (its noise floor); a line below twice the window's resolution (``2 /
      duration``: a 0.1 s snapshot cannot tell the cage rate from the shaft rate) reads 0;
    - ``bpfi_sidebands``: the same at BPFI +- shaft frequency (mean of the two), ``shaft_h1``,
      ``shaft_h2``: at 1x and 2x the shaft frequency;
    - ``share_<family>``: the family's share (FTF, BSF = bsf and bsf2, BPFO, BPFI) of the
      summed excess line power above the floor.

    Parameters
    ----------
    x : array_like of shape (n_samples,) or (n_snapshots, n_samples)
        Acceleration (any unit), samples along the last axis.
    rate_hz, shaft_hz : float
        Sample rate and shaft frequency [Hz] (> 0).
    defect_freqs : dict
        ``bpfo``, ``bpfi``, ``bsf``, ``ftf`` [Hz] (e.g.
        :func:`~twinforge.processes.bearing.defect_frequencies` of the rig's geometry).
    rel_tol : float
        Relative half-width of the search window around each line [-] (slip: 1-2 %).

    Returns
    -------
    ndarray of shape (n_snapshots, len(FAULT_FEATURES)) (or (len(FAULT_FEATURES),))
    """
    x = np.asarray(x, dtype=np.float64)
    single = x.ndim == 1
    x = np.atleast_2d(x)
    if x.shape[-1] < 64 or not np.all(np.isfinite(x)):
        raise ValueError("x must hold finite snapshots of at least 64 samples")
    if not (rate_hz > 0.0 and 0.0 < shaft_hz < 0.5 * rate_hz):
        raise ValueError("rate_hz must be positive and shaft_hz in (0, rate_hz / 2)")
    f = {k: float(np.asarray(defect_freqs[k])) for k in ("bpfo", "bpfi", "bsf", "ftf")}
    n = x.shape[-1]
    raw = condition_indicators(x, rate_hz)
    xw = cepstral_prewhiten(x)
    white = condition_indicators(xw, rate_hz)
    freqs, ses = squared_envelope_spectrum(xw, rate_hz)
    df_res = rate_hz / n  # the window's true resolution
    floor_band = (freqs >= 0.5 * shaft_hz) & (freqs <= 3.5 * f["bpfi"])
    floor = np.median(ses[:, floor_band], axis=1)

    def line(target: float) -> np.ndarray:
        # a line the window cannot resolve (resolution above half its frequency) reads as the floor
        if df_res > 0.5 * target or target >= freqs[-1]:
            return np.ones(x.shape[0])
        inside = np.abs(freqs - target) <= max(rel_tol * target, df_res)
        return np.max(ses[:, inside], axis=1) / floor

    targets = {"ftf": f["ftf"], "bsf": f["bsf"], "bsf2": 2.0 * f["bsf"], "bpfo": f["bpfo"], "bpfi": f["bpfi"]}
    harmonics = {k: (1,) if k == "bsf" else (1, 2, 3) for k in targets}
    ratios = {f"{k}_h{h}": line(h * t) for k, t in targets.items() for h in harmonics[k]}
    side = 0.5 * (line(f["bpfi"] - shaft_hz) + line(f["bpfi"] + shaft_hz))
    excess = {k: sum(np.maximum(ratios[f"{k}_h{h}"] - 1.0, 0.0) for h in harmonics[k]) for k in targets}
    families = {"ftf": excess["ftf"], "bsf": excess["bsf"] + excess["bsf2"], "bpfo": excess["bpfo"],
                "bpfi": excess["bpfi"]}
    total = sum(families.values()) + 1e-9
    cols = [
        np.log10(raw["kurtosis"] / 3.0), raw["crest_factor"],
        np.log10(white["kurtosis"] / 3.0), white["crest_factor"],
        *(np.log10(np.maximum(ratios[name], 1e-6)) for name in FAULT_FEATURES[4:17]),
        np.log10(np.maximum(side, 1e-6)), np.log10(np.maximum(line(shaft_hz), 1e-6)),
        np.log10(np.maximum(line(2.0 * shaft_hz), 1e-6)),
        *(families[k] / total for k in ("ftf", "bsf", "bpfo", "bpfi")),
    ]
    out = np.column_stack(cols)
    return out[0] if single else out
