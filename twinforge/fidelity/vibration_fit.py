"""Fit the machine twin's healthy vibration to a rig's own healthy recording.

Only the fault physics should be left to the twin: how loud a healthy machine is, and at
which frequencies its structure and its sensor ring, differ from one installation to the
next and are best measured. :func:`fit_healthy_vibration` reads them off healthy
accelerometer snapshots:

1. the averaged power spectrum (Welch, Hann windows; Welch 1967,
   doi:10.1109/TAU.1967.1161901) of the mean-removed snapshots;
2. **discrete lines**: the shaft harmonics ``k f_r`` and the electrical line harmonics
   ``j f_e``; the power of a line is the spectrum above the local floor (median of the
   neighbouring bins) summed over the line's bins, its amplitude ``sqrt(2 P)``; a line
   counts when its peak stands ``line_snr`` above the floor;
3. the **broadband** rest (lines replaced by the floor): the white floor of the sensor
   (the spectrum's low quantile above the modes) and modes at the peaks of the smoothed
   log spectrum, each with its frequency and its damping ratio from the half-power
   bandwidth, :math:`\\zeta = \\Delta f / 2 f_0`; the modes' shares of the power are a
   non-negative least-squares fit of the spectrum by the modes' responses
   (``scipy.optimize.nnls``; Lawson & Hanson 1974, doi:10.1137/1.9781611971217).

The result holds the :class:`~twinforge.processes.vibration.VibrationParams` fields
(``background_rms_g``, ``background_resonances``, ``shaft_harmonics_g``,
``line_harmonics_g``, ``sensor_noise_g``, and ``resonances``: the fitted modes above
``impact_min_hz``, which is where bearing strikes ring on most housings; replace them when
a fault recording shows otherwise) and how well the fitted spectrum matches the recording
(log-spectral distance, in dB, on the fit snapshots and on any held-out ones).

``twinforge fit-vibration RECORDING... --rate HZ --shaft-rpm RPM --out rig.toml`` writes a
machine preset from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import optimize, signal

__all__ = ["HealthyFit", "fit_healthy_vibration", "log_spectral_distance_db", "read_recording", "write_preset"]


@dataclass(frozen=True)
class HealthyFit:
    """What :func:`fit_healthy_vibration` found.

    Attributes
    ----------
    vibration : dict
        ``VibrationParams`` fields (``[machine.vibration]`` of a preset).
    rate_hz, shaft_hz : float
        Sample rate [Hz] and shaft frequency [Hz] of the recording.
    freqs_hz, psd_g2_per_hz, model_psd_g2_per_hz : ndarray
        The recording's averaged spectrum (at least ~16 averaged segments) and the fitted
        broadband one, lines excluded [g^2 Hz-1].
    lsd_db : float
        Log-spectral distance between the two [dB] (see :func:`log_spectral_distance_db`).
    rms_g : float
        RMS of the recording [g].
    """

    vibration: dict[str, Any]
    rate_hz: float
    shaft_hz: float
    freqs_hz: np.ndarray = field(repr=False)
    psd_g2_per_hz: np.ndarray = field(repr=False)
    model_psd_g2_per_hz: np.ndarray = field(repr=False)
    lsd_db: float = math.nan
    rms_g: float = math.nan


def _as_snapshots(x) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] < 64:
        raise ValueError("x must have shape (n_samples,) or (n_snapshots, n_samples) with n_samples >= 64")
    if not np.all(np.isfinite(a)):
        raise ValueError("x contains NaN or infinite values")
    return a - a.mean(axis=1, keepdims=True)


def _welch(x: np.ndarray, rate_hz: float, resolution_hz: float) -> tuple[np.ndarray, np.ndarray]:
    n = x.shape[1]
    nperseg = int(min(n, 2 ** math.ceil(math.log2(max(rate_hz / resolution_hz, 64)))))
    f, p = signal.welch(x, rate_hz, window="hann", nperseg=nperseg, axis=-1)
    return f, p.mean(axis=0)


def _local_floor(psd: np.ndarray, half_width: int) -> np.ndarray:
    size = 2 * half_width + 1
    padded = np.pad(np.log(np.maximum(psd, 1e-300)), half_width, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, size)
    return np.exp(np.median(windows, axis=1))


def _lines(freqs, psd, floor, targets_hz, df, line_snr) -> tuple[list[float], np.ndarray]:
    """Amplitudes [g] of the lines at ``targets_hz`` (0 where none) and the bins they hold."""
    amps, used = [], np.zeros(freqs.size, dtype=bool)
    for f0 in targets_hz:
        if not 0.0 < f0 < freqs[-1]:
            amps.append(0.0)
            continue
        sel = np.abs(freqs - f0) <= max(2.0 * df, 0.01 * f0)
        excess = np.maximum(psd[sel] - floor[sel], 0.0)
        if psd[sel].max() < line_snr * floor[sel][np.argmax(psd[sel])]:
            amps.append(0.0)
            continue
        amps.append(math.sqrt(2.0 * float(np.sum(excess)) * df))
        used |= sel
    return amps, used


def _mode_psd(freqs: np.ndarray, f0: float, zeta: float) -> np.ndarray:
    """Power response of a unit resonance normalised to unit integral over ``freqs``."""
    r = freqs / f0
    h2 = 1.0 / ((1.0 - r * r) ** 2 + (2.0 * zeta * r) ** 2)
    return h2 / max(float(np.trapezoid(h2, freqs)), 1e-300)


def _initial_modes(freqs, psd, band, n_modes) -> list[tuple[float, float]]:
    """Peaks of the smoothed log spectrum with their -3 dB half-widths."""
    log_p = np.log(np.maximum(psd, 1e-300))
    smooth = signal.savgol_filter(log_p, 9, 2) if log_p.size > 9 else log_p
    peaks, _ = signal.find_peaks(np.where(band, smooth, -np.inf), prominence=0.7)
    order = peaks[np.argsort(smooth[peaks])[::-1]][:n_modes]
    out = []
    df = float(freqs[1] - freqs[0])
    for i in order:
        lo = hi = i
        while lo > 0 and smooth[lo] > smooth[i] - math.log(2.0):
            lo -= 1
        while hi < smooth.size - 1 and smooth[hi] > smooth[i] - math.log(2.0):
            hi += 1
        half_bw = max(0.5 * (hi - lo) * df, 0.5 * df)
        out.append((float(freqs[i]), float(np.clip(half_bw / freqs[i], 0.005, 0.5))))
    return out or [(float(np.median(freqs[band])), 0.5)]


def _fit_modes(freqs, psd, band, rate_hz, n_modes):
    """Modes (refined by least squares on the log spectrum), their powers, the white floor."""
    white = np.ones(freqs.size) / (0.5 * rate_hz)
    f_b, p_b = freqs[band], psd[band]

    def solve(theta: np.ndarray):
        f0 = np.exp(theta[0::2])
        z = np.exp(theta[1::2])
        basis = np.column_stack([_mode_psd(freqs, a, b) for a, b in zip(f0, z)] + [white])
        w, _ = optimize.nnls(basis[band], p_b)
        return f0, z, w, basis

    def residual(theta: np.ndarray) -> np.ndarray:
        _, _, w, basis = solve(theta)
        return np.log(np.maximum(basis[band] @ w, 1e-300)) - np.log(np.maximum(p_b, 1e-300))

    init = _initial_modes(freqs, psd, band, n_modes)
    theta0 = np.log(np.array(init)).ravel()
    lo = np.log(np.tile([f_b[0], 0.002], len(init)))
    hi = np.log(np.tile([f_b[-1], 0.5], len(init)))
    theta = optimize.least_squares(residual, np.clip(theta0, lo + 1e-9, hi - 1e-9), bounds=(lo, hi),
                                   x_scale=0.1, max_nfev=200).x
    f0, z, w, basis = solve(theta)
    keep = w[:-1] > 1e-6 * max(float(w[:-1].sum()), 1e-300)
    modes = [(float(a), float(b)) for a, b, k in zip(f0, z, keep) if k]
    shares = w[:-1][keep]
    model = basis[:, :-1][:, keep] @ shares + w[-1] * white
    return modes, shares, float(w[-1]), model


def log_spectral_distance_db(psd_a, psd_b, freqs_hz, band_hz: tuple[float, float]) -> float:
    """RMS difference of two power spectra in dB over a band [dB].

    :math:`\\sqrt{\\overline{(10 \\log_{10} P_a/P_b)^2}}` over the bins in ``band_hz``.

    >>> f = np.linspace(0, 100, 101)
    >>> round(log_spectral_distance_db(np.ones(101), 10 * np.ones(101), f, (1.0, 99.0)), 6)
    10.0
    """
    f = np.asarray(freqs_hz)
    sel = (f >= band_hz[0]) & (f <= band_hz[1])
    d = 10.0 * np.log10(np.maximum(np.asarray(psd_a)[sel], 1e-300) / np.maximum(np.asarray(psd_b)[sel], 1e-300))
    return float(np.sqrt(np.mean(d * d)))


def fit_healthy_vibration(
    x,
    rate_hz: float,
    shaft_hz: float,
    line_hz: float | None = None,
    n_modes: int = 8,
    n_shaft_harmonics: int = 10,
    n_line_harmonics: int = 4,
    line_snr: float = 4.0,
    impact_min_hz: float = 1000.0,
    resolution_hz: float | None = None,
) -> HealthyFit:
    """Fit levels, spectral shape and lines of the healthy vibration to a recording.

    Parameters
    ----------
    x : array_like of shape (n_samples,) or (n_snapshots, n_samples)
        Healthy acceleration [g], snapshots along the last axis.
    rate_hz : float
        Sample rate [Hz] (> 0).
    shaft_hz : float
        Shaft frequency during the recording [Hz] (> 0).
    line_hz : float, optional
        Electrical line frequency [Hz] (50 or 60); None: no line harmonics fitted.
    n_modes : int
        Largest number of broadband modes (1 to 32).
    n_shaft_harmonics, n_line_harmonics : int
        Harmonics looked for (0 to 64, 0 to 32).
    line_snr : float
        A line counts when its peak exceeds the local floor this many times (> 1).
    impact_min_hz : float
        Fitted modes at or above this frequency become the bearing ``resonances`` [Hz].
    resolution_hz : float, optional
        Frequency resolution of the spectrum [Hz] (default: a quarter of the shaft
        frequency, at least the snapshot's own resolution).

    Returns
    -------
    HealthyFit

    Examples
    --------
    >>> from twinforge.processes.bearing import BEARING_PRESETS
    >>> from twinforge.processes.vibration import VibrationParams, render_snapshot
    >>> truth = VibrationParams(background_rms_g=0.1, background_resonances=((800.0, 0.05, 1.0),
    ...                         (3000.0, 0.03, 2.0)), shaft_harmonics_g=(0.05, 0.02), line_harmonics_g=(),
    ...                         sensor_noise_g=0.005)
    >>> x = [render_snapshot(k, 1.0, 12_000.0, 30.0, BEARING_PRESETS["6205-2RS"], {}, truth,
    ...                      np.random.default_rng(k)) for k in range(4)]
    >>> fit = fit_healthy_vibration(x, 12_000.0, 30.0)
    >>> round(fit.vibration["background_rms_g"], 2), [round(a, 2) for a in fit.vibration["shaft_harmonics_g"][:2]]
    (0.1, [0.05, 0.02])
    """
    snaps = _as_snapshots(x)
    if not (math.isfinite(rate_hz) and rate_hz > 0.0):
        raise ValueError(f"rate_hz must be positive, got {rate_hz!r}")
    if not (math.isfinite(shaft_hz) and 0.0 < shaft_hz < 0.5 * rate_hz):
        raise ValueError(f"shaft_hz must be in (0, {0.5 * rate_hz:g}) Hz, got {shaft_hz!r}")
    if line_hz is not None and not 0.0 < line_hz < 0.5 * rate_hz:
        raise ValueError(f"line_hz must be in (0, {0.5 * rate_hz:g}) Hz, got {line_hz!r}")
    if not 1 <= n_modes <= 32:
        raise ValueError(f"n_modes must be in [1, 32], got {n_modes}")
    if not (0 <= n_shaft_harmonics <= 64 and 0 <= n_line_harmonics <= 32):
        raise ValueError("n_shaft_harmonics must be in [0, 64] and n_line_harmonics in [0, 32]")
    if not line_snr > 1.0:
        raise ValueError(f"line_snr must exceed 1, got {line_snr!r}")
    res = resolution_hz if resolution_hz is not None else max(shaft_hz / 4.0, rate_hz / snaps.shape[1])
    freqs, psd = _welch(snaps, rate_hz, res)
    df = float(freqs[1] - freqs[0])
    floor = _local_floor(psd, max(3, int(round(2.0 * shaft_hz / df))))

    shaft_amps, used = _lines(freqs, psd, floor, [k * shaft_hz for k in range(1, n_shaft_harmonics + 1)], df, line_snr)
    line_amps: list[float] = []
    if line_hz is not None and n_line_harmonics:
        line_amps, used_l = _lines(freqs, psd, floor, [j * line_hz for j in range(1, n_line_harmonics + 1)], df, line_snr)
        used |= used_l
    while shaft_amps and shaft_amps[-1] == 0.0:
        shaft_amps.pop()
    while line_amps and line_amps[-1] == 0.0:
        line_amps.pop()

    # the broadband part on a smoother spectrum (at least ~16 averaged segments), lines floored
    total_n = snaps.size
    nper_c = int(min(2 ** math.floor(math.log2(max(total_n / 8, 64))), snaps.shape[1], 2 * (freqs.size - 1)))
    f_c, p_c = signal.welch(snaps, rate_hz, window="hann", nperseg=nper_c, axis=-1)
    p_c = p_c.mean(axis=0)
    df_c = float(f_c[1] - f_c[0])
    floor_c = _local_floor(p_c, 3)
    line_hz_all = [k * shaft_hz for k, a in enumerate(shaft_amps, 1) if a > 0.0]
    line_hz_all += [j * (line_hz or 0.0) for j, a in enumerate(line_amps, 1) if a > 0.0]
    near_line = np.zeros(f_c.size, dtype=bool)
    for f0 in line_hz_all:
        near_line |= np.abs(f_c - f0) <= df_c
    broad = np.where(near_line, floor_c, p_c)
    band = (f_c > max(0.5 * shaft_hz, 2.0 * df_c)) & (f_c < 0.45 * rate_hz)
    k = max(1, int(np.count_nonzero(band)) // 512)  # fit on at most ~512 averaged bins
    m = f_c.size // k * k
    f_k, p_k, b_k = f_c[:m].reshape(-1, k).mean(1), broad[:m].reshape(-1, k).mean(1), band[:m].reshape(-1, k).all(1)
    modes, shares, noise_var, _ = _fit_modes(f_k, p_k, b_k, rate_hz, n_modes)
    white = np.ones(f_c.size) / (0.5 * rate_hz)
    model = sum((w * _mode_psd(f_c, f0, z) for (f0, z), w in zip(modes, shares)), noise_var * white)
    total = float(shares.sum())
    background = tuple(sorted((round(f0, 3), round(z, 5), round(float(s) / total, 6))
                              for (f0, z), s in zip(modes, shares))) if total > 0 else None
    impact = tuple((f0, z, 1.0) for f0, z, _ in (background or ()) if f0 >= impact_min_hz)
    vib: dict[str, Any] = {
        "sample_rate_hz": float(rate_hz),
        "background_rms_g": round(math.sqrt(max(total, 0.0)), 6),
        "background_resonances": background,
        "shaft_harmonics_g": tuple(round(a, 6) for a in shaft_amps),
        "sensor_noise_g": round(math.sqrt(max(noise_var, 0.0)), 6),
    }
    if line_hz is not None:
        vib["line_frequency_hz"] = float(line_hz)
        vib["line_harmonics_g"] = tuple(round(a, 6) for a in line_amps)
    if impact:
        vib["resonances"] = impact
    lsd = log_spectral_distance_db(broad, model, f_c, (f_c[band][0], f_c[band][-1])) if band.any() else math.nan
    return HealthyFit(vib, float(rate_hz), float(shaft_hz), f_c, p_c, model, lsd,
                      float(np.sqrt(np.mean(snaps * snaps))))


def read_recording(path: str | Path, column: int | None = None, mat_field: str | None = None) -> np.ndarray:
    """One accelerometer channel of a recording file [g], shape ``(n_samples,)``.

    ``.npy`` (a 1-D array, or 2-D with ``column``); ``.mat`` (``mat_field`` names the
    variable, dots step into structs: ``bearing.gs``); otherwise text (CSV, semicolon, tab
    or space separated numbers, no header): the only column, or ``column`` (0-based).

    Raises
    ------
    ValueError
        With one line naming the file and what is wrong.
    """
    path = Path(path)
    try:
        if path.suffix.lower() == ".npy":
            data = np.load(path, allow_pickle=False)
        elif path.suffix.lower() == ".mat":
            from scipy.io import loadmat

            if not mat_field:
                raise ValueError(f"{path}: a .mat recording needs --mat-field (e.g. bearing.gs)")
            node: Any = loadmat(path, squeeze_me=True, struct_as_record=False)
            for i, key in enumerate(mat_field.split(".")):
                node = node[key] if i == 0 else getattr(node, key)
            data = np.asarray(node, dtype=np.float64)
        else:
            head = path.read_text(encoding="utf-8", errors="replace")[:4096]
            sep = next((c for c in (",", ";", "\t") if c in head), None)
            data = np.loadtxt(path, delimiter=sep, ndmin=2)
    except (OSError, KeyError, AttributeError) as e:
        raise ValueError(f"{path}: cannot read the recording ({e})") from None
    except ValueError as e:
        if str(e).startswith(str(path)):
            raise
        raise ValueError(f"{path}: not a table of numbers ({str(e).splitlines()[0]})") from None
    data = np.asarray(data, dtype=np.float64)
    if data.ndim == 2 and data.shape[1] == 1:
        data = data[:, 0]
    if data.ndim == 2:
        if column is None:
            raise ValueError(f"{path}: {data.shape[1]} columns; choose one with --column (0 to {data.shape[1] - 1})")
        if not 0 <= column < data.shape[1]:
            raise ValueError(f"{path}: --column must be in [0, {data.shape[1] - 1}], got {column}")
        data = data[:, column]
    if data.ndim != 1 or data.size < 64:
        raise ValueError(f"{path}: need at least 64 samples of one channel, got shape {data.shape}")
    if not np.all(np.isfinite(data)):
        raise ValueError(f"{path}: the recording holds NaN or infinite values")
    return data


def _toml(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v) if isinstance(v, int) else repr(float(v))
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return "[" + ", ".join(_toml(x) for x in v) + "]"


def write_preset(
    fit: HealthyFit,
    path: str | Path,
    *,
    bearing: str,
    radial_load_n: float | None = None,
    snapshot_duration_s: float | None = None,
    period: str = "10s",
    source: str = "",
) -> Path:
    """Write a machine preset (scenario TOML) holding the fitted healthy vibration.

    The file is checked with :func:`twinforge.campaign.spec.load_spec` before it takes the
    place of ``path`` (written beside it, then renamed): nothing partial is left behind.
    """
    import os
    import tempfile

    from twinforge.campaign.spec import load_spec

    machine: dict[str, Any] = {"bearing": bearing, "shaft_speed_rpm": round(60.0 * fit.shaft_hz, 6),
                               "sample_rate_hz": fit.rate_hz}
    if radial_load_n is not None:
        machine["radial_load_n"] = float(radial_load_n)
    if snapshot_duration_s is not None:
        machine["snapshot_duration_s"] = float(snapshot_duration_s)
    lines = [
        "# twinforge preset: machine rig fitted to a healthy recording (twinforge fit-vibration)",
        f"# source: {source or 'healthy recording'}",
        f"# recording RMS {fit.rms_g:.4g} g; fitted spectrum within {fit.lsd_db:.2f} dB (log-spectral distance)",
        "",
        'twin = "machine"',
        f"period = {_toml(period)}",
        "",
        "[machine]",
        *(f"{k} = {_toml(v)}" for k, v in machine.items()),
        "",
        "[machine.vibration]",
        *(f"{k} = {_toml(v)}" for k, v in fit.vibration.items() if v is not None),
        "",
    ]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".toml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines))
        load_spec(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


# --------------------------------------------------------------------------- command line

_FIT_EPILOG = """\
example (15 healthy PRONOSTIA snapshots, horizontal channel = column 4):
  twinforge fit-vibration acc_00001.csv acc_00101.csv ... --column 4 --rate 25.6kHz \\
      --shaft-rpm 1800 --bearing pronostia --line-hz 50 --out my_rig.toml
  twinforge generate --config my_rig.toml --machines 5 --until-failure --out my_rig_data/

Each file is one healthy snapshot, or is cut into --snapshot-s pieces. The preset holds the
fitted healthy level, background modes, shaft and line harmonics and sensor noise; the fault
physics stays the twin's (docs/machine.md).
"""


def add_parser(sub) -> None:
    """Register ``twinforge fit-vibration`` on the CLI's subparsers."""
    import argparse

    from twinforge.processes.bearing import BEARING_PRESETS

    p = sub.add_parser(
        "fit-vibration", help="fit a machine rig's healthy vibration to recordings and write a preset",
        description="Fit the machine twin's healthy vibration (level, spectral modes, shaft and line harmonics, "
        "sensor noise) to healthy accelerometer recordings; write a machine preset (TOML).",
        epilog=_FIT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("recordings", nargs="+", type=Path, help="healthy recordings: CSV/TXT, .npy or .mat files")
    p.add_argument("--rate", required=True, help="sample rate, e.g. 25.6kHz or 48828Hz")
    p.add_argument("--shaft-rpm", type=float, required=True, help="shaft speed during the recordings [rpm]")
    p.add_argument("--bearing", required=True, choices=sorted(BEARING_PRESETS), help="bearing geometry preset")
    p.add_argument("--out", type=Path, required=True, help="preset TOML to write (a new file)")
    p.add_argument("--column", type=int, help="column of the channel in text or 2-D .npy files (0-based)")
    p.add_argument("--mat-field", help="variable in .mat files, dots into structs (e.g. bearing.gs)")
    p.add_argument("--snapshot-s", type=float, help="cut each recording into snapshots of this length [s]")
    p.add_argument("--line-hz", type=float, help="electrical line frequency to fit harmonics of (50 or 60)")
    p.add_argument("--modes", type=int, default=8, help="largest number of background modes (1-32, default 8)")
    p.add_argument("--load-n", type=float, help="radial load during the recordings [N] (written to the preset)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing preset at --out")
    p.set_defaults(fidelity_handler=_run_fit)


def _run_fit(args) -> int:
    import sys

    from twinforge.core.timegrid import parse_rate_hz

    def fail(msg: str) -> int:
        print(f"twinforge: error: {msg}", file=sys.stderr)
        return 2

    try:
        rate = parse_rate_hz(args.rate)
    except ValueError as e:
        return fail(f"--rate: {e}")
    if not (math.isfinite(args.shaft_rpm) and 0.0 < args.shaft_rpm / 60.0 < 0.5 * rate):
        return fail(f"--shaft-rpm must be in (0, {30.0 * rate:g}) rpm for a {rate:g} Hz rate, got {args.shaft_rpm:g}")
    if args.snapshot_s is not None and not (math.isfinite(args.snapshot_s) and args.snapshot_s * rate >= 64):
        return fail(f"--snapshot-s must give at least 64 samples ({64 / rate:.3g} s at {rate:g} Hz), got {args.snapshot_s}")
    if args.load_n is not None and not (math.isfinite(args.load_n) and args.load_n > 0.0):
        return fail(f"--load-n must be a positive load [N], got {args.load_n}")
    if args.out.exists() and not args.overwrite:
        return fail(f"--out {args.out} exists; choose another file or add --overwrite")
    if args.out.exists() and not args.out.is_file():
        return fail(f"--out {args.out} is not a file")
    snaps: list[np.ndarray] = []
    try:
        for path in args.recordings:
            x = read_recording(path, column=args.column, mat_field=args.mat_field)
            if args.snapshot_s is None:
                snaps.append(x)
            else:
                n = int(round(args.snapshot_s * rate))
                if x.size < n:
                    return fail(f"{path}: {x.size} samples, shorter than one --snapshot-s of {n}")
                snaps += [x[i:i + n] for i in range(0, x.size - n + 1, n)]
        n_min = min(s.size for s in snaps)
        fit = fit_healthy_vibration(np.stack([s[:n_min] for s in snaps]), rate, args.shaft_rpm / 60.0,
                                    line_hz=args.line_hz, n_modes=args.modes)
    except ValueError as e:
        msg = str(e)
        return fail(msg if msg.startswith(tuple(str(p) for p in args.recordings)) else f"fit-vibration: {msg}")
    try:
        write_preset(fit, args.out, bearing=args.bearing, radial_load_n=args.load_n,
                     snapshot_duration_s=n_min / rate,
                     source=f"{len(args.recordings)} recording(s), {len(snaps)} snapshot(s) of {n_min / rate:.3g} s")
    except OSError as e:
        print(f"twinforge: error: cannot write {args.out}: {e.strerror}", file=sys.stderr)
        return 1
    v = fit.vibration
    modes = ", ".join(f"{f:.0f} Hz" for f, _, _ in (v.get("background_resonances") or ()))
    print(f"wrote {args.out}: healthy RMS {fit.rms_g:.4g} g over {len(snaps)} snapshot(s); background "
          f"{v['background_rms_g']:.4g} g in modes at {modes}; shaft harmonics "
          f"{[round(a, 4) for a in v['shaft_harmonics_g']]} g; spectrum within {fit.lsd_db:.2f} dB")
    return 0
