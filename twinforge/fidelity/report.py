"""The fidelity report: figures (PNG) and one self-contained ``report.html``.

Figures, real against synthetic, one row per channel:

- ``marginals.png``: histograms (density) and empirical CDFs of the sample values;
- ``acf.png``: mean within-window autocorrelation up to the report's ``max_lag``;
- ``spectra.png``: Welch power spectral densities averaged over the windows (log-log);
- ``profiles.png``: mean daily profile by local hour, with the 10-90 % band over the days;
- ``embedding.png``: a 2-D PCA of the standardised window feature vectors (one point per
  window): overlapping clouds are what the window-level metrics reward.

Matplotlib is used through its object API on the Agg canvas (no pyplot, no global state,
nothing shown). The report is written into a temporary folder next to the target and moved
into place at the end, so a failure leaves nothing behind.

>>> save_report(rep, "report/")     # doctest: +SKIP
PosixPath('report/report.html')
"""

from __future__ import annotations

import base64
import html
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from twinforge.fidelity._io import chmod_default

_chmod_default = chmod_default  # the name other report writers import

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from twinforge.fidelity.comparison import FidelityReport

__all__ = ["FIGURES", "write_report", "save_report", "plot_marginals", "plot_acf", "plot_spectra",
           "plot_profiles", "plot_embedding"]

REAL_COLOR, SYNTH_COLOR = "#1f4e79", "#d95f02"


def _figure(n_rows: int, n_cols: int, width: float = 10.0, row_h: float = 3.2) -> tuple[Figure, np.ndarray]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, row_h * n_rows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = np.atleast_2d(fig.subplots(n_rows, n_cols, squeeze=False))
    return fig, axes


def _time_unit(span_s: float) -> tuple[float, str]:
    """Seconds per unit and its name for an axis spanning ``span_s`` seconds."""
    if span_s >= 2 * 3600.0:
        return 3600.0, "h"
    if span_s >= 120.0:
        return 60.0, "min"
    return 1.0, "s"


def _label(rep: FidelityReport, ch: str) -> str:
    synth = rep.info["channels"][ch]
    unit = " (/ mean)" if rep.info.get("normalise") == "mean" else ""
    return (ch if synth == ch else f"{ch} ~ {synth}") + unit


#: Unit of a channel from its name's suffix (docs/nomenclature.md); no suffix: dimensionless.
_SUFFIX_UNITS = {"_w": "W", "_var": "var", "_c": "degC", "_g": "g", "_pu": "pu", "_v": "V", "_a": "A",
                 "_h": "h", "_s": "s", "_wh": "Wh", "_k": "K", "_hz": "Hz"}


def channel_unit(rep: FidelityReport, ch: str) -> str:
    """The unit of a compared channel: ``1`` when normalised by the mean, else from its name."""
    if rep.info.get("normalise") == "mean":
        return "1, / mean"
    name = rep.info["channels"].get(ch, ch)
    for suffix, unit in sorted(_SUFFIX_UNITS.items(), key=lambda kv: -len(kv[0])):
        if name.endswith(suffix):
            return unit
    return "1"


def plot_marginals(rep: FidelityReport) -> Figure:
    """Histogram and ECDF of each channel's values, real vs synthetic."""
    chans = rep.channels
    fig, axes = _figure(len(chans), 2)
    for k, ch in enumerate(chans):
        r = rep.real[ch].to_numpy()
        s = rep.synthetic[ch].to_numpy()
        r, s = r[np.isfinite(r)], s[np.isfinite(s)]
        lo = min(np.quantile(r, 0.001), np.quantile(s, 0.001))
        hi = max(np.quantile(r, 0.999), np.quantile(s, 0.999))
        if hi <= lo:
            hi = lo + 1.0
        bins = np.linspace(lo, hi, 60)
        ax = axes[k, 0]
        ax.hist(r, bins=bins, density=True, alpha=0.55, color=REAL_COLOR, label="real")
        ax.hist(s, bins=bins, density=True, alpha=0.55, color=SYNTH_COLOR, label="synthetic")
        ax.set_yscale("log")
        u = channel_unit(rep, ch)
        ax.set_xlabel(f"value [{u}]")
        ax.set_ylabel(f"density [1/({u})]" if u != "1" else "density [1]")
        ax.set_title(f"{_label(rep, ch)}: histogram")
        ax.legend()
        ax = axes[k, 1]
        for vals, color, name in ((r, REAL_COLOR, "real"), (s, SYNTH_COLOR, "synthetic")):
            x = np.sort(vals)
            ax.plot(x, np.arange(1, x.size + 1) / x.size, color=color, label=name)
        ax.set_xlim(lo, hi)
        ax.set_xlabel(f"value [{u}]")
        ax.set_ylabel("ECDF [1]")
        ks = rep.metrics["channels"][ch]["ks"]["value"]
        ax.set_title(f"ECDF (KS {ks:.3f})")
        ax.legend(loc="lower right")
    return fig


def _mean_acf(windows: np.ndarray, max_lag: int) -> np.ndarray:
    import warnings

    from twinforge.fidelity.metrics import _acf

    a = _acf(windows, max_lag)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(a, axis=0)


def plot_acf(rep: FidelityReport) -> Figure:
    """Mean within-window autocorrelation, real vs synthetic."""
    chans = rep.channels
    fig, axes = _figure(len(chans), 1, width=8.0)
    for k, ch in enumerate(chans):
        entry = rep.metrics["channels"][ch]["acf_distance"]
        lag = int(entry.get("max_lag") or max(1, rep.real_windows.shape[1] // 4))
        scale, unit = _time_unit(lag * rep.period_s)
        lags = np.arange(1, lag + 1) * rep.period_s / scale
        ax = axes[k, 0]
        ax.plot(lags, _mean_acf(rep.real_windows[..., k], lag), color=REAL_COLOR, label="real")
        ax.plot(lags, _mean_acf(rep.synth_windows[..., k], lag), color=SYNTH_COLOR, label="synthetic")
        ax.axhline(0.0, color="grey", lw=0.5)
        ax.set_xlabel(f"lag [{unit}]")
        ax.set_ylabel("autocorrelation [1]")
        v = entry["value"]
        ax.set_title(f"{_label(rep, ch)}: ACF" + ("" if v is None else f" (distance {v:.3f})"))
        ax.legend()
    return fig


def plot_spectra(rep: FidelityReport) -> Figure:
    """Welch PSD averaged over the windows, real vs synthetic."""
    from scipy import signal

    from twinforge.fidelity.metrics import _fill_nan

    chans = rep.channels
    fig, axes = _figure(len(chans), 1, width=8.0)
    fs = 1.0 / rep.period_s
    nper = min(256, rep.real_windows.shape[1])
    for k, ch in enumerate(chans):
        ax = axes[k, 0]
        for w, color, name in ((rep.real_windows, REAL_COLOR, "real"),
                               (rep.synth_windows, SYNTH_COLOR, "synthetic")):
            rows = np.stack([_fill_nan(row) for row in w[..., k]])
            f, p = signal.welch(rows, fs=fs, nperseg=nper, axis=-1)
            ax.loglog(f[1:] * 3600.0, p.mean(axis=0)[1:], color=color, label=name)
        ax.set_xlabel("frequency [1/h]")
        u = channel_unit(rep, ch)
        ax.set_ylabel(f"PSD [({u})^2 h]" if u != "1" else "PSD [h]")
        v = rep.metrics["channels"][ch]["psd_log_distance"]["value"]
        ax.set_title(f"{_label(rep, ch)}: Welch spectrum (log distance {v:.3f})")
        ax.legend()
    return fig


def _daily_hour_means(s: pd.Series, tz: str, run: pd.Series | None = None) -> pd.DataFrame:
    """Rows = (run, local date), columns = local hour, values = mean of ``s``."""
    local = s.index.tz_convert(tz)
    keys = [local.date, local.hour]
    if run is not None:
        keys = [run.to_numpy(), *keys]
    g = pd.Series(s.to_numpy(), index=pd.MultiIndex.from_arrays(keys)).groupby(level=list(range(len(keys)))).mean()
    return g.unstack(level=-1)


def plot_profiles(rep: FidelityReport) -> Figure:
    """Mean daily profile by local hour with the 10-90 % band over days.

    Without a zone (``tz=None``: units such as machines with no day structure) the profile
    is the mean over the windows against the time since the window start.
    """
    chans = rep.channels
    tz = rep.info["tz"]
    fig, axes = _figure(len(chans), 1, width=8.0)
    if tz is None:
        steps = rep.real_windows.shape[1]
        scale, unit = _time_unit(steps * rep.period_s)
        x = np.arange(steps) * rep.period_s / scale
        for k, ch in enumerate(chans):
            ax = axes[k, 0]
            for w, color, name in ((rep.real_windows, REAL_COLOR, "real"), (rep.synth_windows, SYNTH_COLOR, "synthetic")):
                v = w[..., k]
                lo, hi = np.nanquantile(v, 0.1, axis=0), np.nanquantile(v, 0.9, axis=0)
                ax.fill_between(x, lo, hi, color=color, alpha=0.2, step="mid")
                ax.plot(x, np.nanmean(v, axis=0), color=color, drawstyle="steps-mid",
                        label=f"{name} mean (band: 10-90 % of windows)")
            ax.set_xlabel(f"time since the window start [{unit}]")
            ax.set_ylabel(f"value [{channel_unit(rep, ch)}]")
            ax.set_title(f"{_label(rep, ch)}: mean profile within the windows")
            ax.legend(fontsize=8)
        return fig
    for k, ch in enumerate(chans):
        ax = axes[k, 0]
        for df, run, color, name in (
            (rep.real, rep.real.get("run_id"), REAL_COLOR, "real"),
            (rep.synthetic, rep.synthetic["run_id"], SYNTH_COLOR, "synthetic"),
        ):
            table = _daily_hour_means(df[ch], tz, run)
            hours = table.columns.to_numpy(dtype=float)
            mean = table.mean(axis=0).to_numpy()
            lo, hi = table.quantile(0.1).to_numpy(), table.quantile(0.9).to_numpy()
            ax.fill_between(hours, lo, hi, color=color, alpha=0.2, step="mid")
            ax.plot(hours, mean, color=color, label=f"{name} mean (band: 10-90 % of days)",
                    drawstyle="steps-mid")
        ax.set_xlim(-0.5, 23.5)
        ax.set_xticks(range(0, 24, 3))
        ax.set_xlabel(f"local hour [h] ({tz})")
        ax.set_ylabel(f"value [{channel_unit(rep, ch)}]")
        v = rep.metrics["channels"][ch]["profile_error_hour"]["value"]
        ax.set_title(f"{_label(rep, ch)}: daily profile (error {_fmt(v)})")
        ax.legend(fontsize=8)
    return fig


def embedding(rep: FidelityReport) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """2-D PCA coordinates of the real and synthetic windows and the explained variance ratio.

    Features are standardised on the pooled windows (NaN -> the column mean), as
    :func:`~twinforge.fidelity.nn_indistinguishability` sees them.
    """
    from sklearn.decomposition import PCA

    from twinforge.fidelity.metrics import _standardise

    pooled = np.vstack([rep.real_features, rep.synth_features])
    (z,) = _standardise(pooled, pooled)
    n_comp = int(min(2, z.shape[0], z.shape[1]))
    pca = PCA(n_components=n_comp, random_state=0).fit(z)
    xy = pca.transform(z)
    if n_comp < 2:
        xy = np.column_stack([xy, np.zeros((len(xy), 2 - n_comp))])
    n_r = len(rep.real_features)
    ratio = np.pad(pca.explained_variance_ratio_, (0, 2 - n_comp))
    return xy[:n_r], xy[n_r:], ratio


def plot_embedding(rep: FidelityReport) -> Figure:
    """Scatter of the windows in the plane of the first two principal components."""
    real_xy, synth_xy, ratio = embedding(rep)
    fig, axes = _figure(1, 1, width=7.0, row_h=6.0)
    ax = axes[0, 0]
    ax.scatter(synth_xy[:, 0], synth_xy[:, 1], s=14, color=SYNTH_COLOR, alpha=0.6,
               label=f"synthetic ({len(synth_xy)})")
    ax.scatter(real_xy[:, 0], real_xy[:, 1], s=18, color=REAL_COLOR, alpha=0.8, marker="s",
               label=f"real ({len(real_xy)})")
    ax.set_xlabel(f"PC1 [1, standardised features] ({ratio[0]:.0%} of variance)")
    ax.set_ylabel(f"PC2 [1, standardised features] ({ratio[1]:.0%} of variance)")
    d = rep.metrics["windows"]["discriminative_score"]["value"]
    nn = rep.metrics["windows"]["nn_indistinguishability"]["value"]
    ax.set_title(
        f"windows ({rep.info['window']}) in feature space: discriminative "
        f"{'n/a' if d is None else f'{d:.3f}'}, NN {'n/a' if nn is None else f'{nn:.2f}'}"
    )
    ax.legend()
    return fig


#: Figure file name -> (plotting function, caption).
FIGURES: dict[str, tuple[Any, str]] = {
    "marginals.png": (plot_marginals, "Marginal distributions: histogram (log density) and ECDF."),
    "acf.png": (plot_acf, "Mean autocorrelation within windows."),
    "spectra.png": (plot_spectra, "Welch power spectral density, averaged over windows."),
    "profiles.png": (plot_profiles, "Mean daily profile by local hour (without a zone: mean profile "
                                    "within the windows); shaded: 10-90 % of days (windows)."),
    "embedding.png": (plot_embedding, "Windows in the first two principal components of their "
                                      "standardised feature vectors."),
}

_CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:0.9em}
th,td{border:1px solid #ccc;padding:0.3em 0.6em;text-align:left;vertical-align:top}
th{background:#f0f0f0} td.num{text-align:right;font-variant-numeric:tabular-nums}
pre{background:#f7f7f7;padding:0.8em;overflow-x:auto} img{max-width:100%}
figure{margin:1.5em 0} figcaption{color:#555;font-size:0.9em}
"""


def _fmt(v: Any) -> str:
    # None arrives as NaN through a DataFrame; inf is null in metrics.json: both read n/a
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _metrics_table(rows: pd.DataFrame) -> str:
    head = "<tr><th>channel</th><th>metric</th><th>value</th><th>ideal</th><th>range</th>" \
           "<th>direction</th><th>meaning</th></tr>"
    body = []
    for _, r in rows.iterrows():
        meaning = html.escape(str(r["meaning"])) + (
            f" <em>({html.escape(str(r['note']))})</em>" if r.get("note") else ""
        )
        body.append(
            f"<tr><td>{html.escape(str(r['channel']))}</td><td>{html.escape(str(r['metric']))}</td>"
            f"<td class=num>{_fmt(r['value'])}</td><td class=num>{_fmt(r['ideal'])}</td>"
            f"<td>{html.escape(str(r['range']))}</td><td>{html.escape(str(r['direction']))}</td>"
            f"<td>{meaning}</td></tr>"
        )
    return f"<table>{head}{''.join(body)}</table>"


def _chance_text(rep: FidelityReport) -> str:
    """What a discriminative score of these counts means by chance alone (one sentence)."""
    d = rep.metrics["windows"]["discriminative_score"]
    if "null_q95" in d:
        return (f"with these window counts, {d['n_permutations']} random relabellings of the "
                f"pooled windows score a median of {d['null_median']:.3f} and at most "
                f"{d['null_q95']:.3f} in 95 % of cases (permutation test, p = {d['p_value']:.3g}).")
    return (f"a discriminative score below about {rep.info['chance_discriminative']:.2f} is "
            "within chance for these counts (a rule of thumb; compare(..., null_permutations=K) "
            "or --null-permutations K measures the permutation null).")


def _verdict_html(rep: FidelityReport) -> str:
    v = rep.info.get("verdict")
    src = (f"<p>Real: {html.escape(str(rep.info.get('real_source') or 'a trace'))}; synthetic: "
           f"{html.escape(str(rep.info.get('synthetic_source') or 'data'))}.</p>")
    if not v:
        return src
    return (src + f"<p><b>Verdict: {html.escape(v['verdict'])}</b> ({html.escape(v['rule'])}). Thresholds: "
            "hard to tell apart at discriminative &le; 0.10 and NN &ge; 0.80, similar at &le; 0.25 and &ge; 0.50, "
            "indistinguishable within the permutation null when it was measured.</p>")


def _html(rep: FidelityReport, figures: dict[str, bytes], title: str) -> str:
    info_rows = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in rep.info.items()
    )
    table = rep.table()
    sections = []
    for group, heading in (("windows", "Window-level metrics"),
                           ("information", "Information richness (alpha-precision, beta-recall; "
                                           "Alaa et al. 2022, see twinforge.fidelity.coverage)"),
                           ("intentionality", "Intentionality (the campaign's classes, events and parameter "
                                              "laws against the runs generated)"),
                           ("utility", "Utility (train on synthetic, test on real)"),
                           ("channel", "Per-channel metrics"), ("cross_channel", "Cross-channel metrics")):
        rows = table[table["group"] == group]
        if len(rows):
            sections.append(f"<h2>{heading}</h2>{_metrics_table(rows)}")
    figs = []
    for name, png in figures.items():
        caption = FIGURES[name][1]
        b64 = base64.b64encode(png).decode("ascii")
        figs.append(
            f'<figure><img alt="{name}" src="data:image/png;base64,{b64}">'
            f"<figcaption>{html.escape(name)}: {html.escape(caption)}</figcaption></figure>"
        )
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        + _verdict_html(rep)
        + f"<pre>{html.escape(rep.summary())}</pre>"
        "<p>Each metric lists its range, its direction and its ideal value. Window-level "
        f"metrics compare the sets of windows through their feature vectors; {_chance_text(rep)} "
        "See docs/fidelity.md for how to read every number.</p>"
        + "".join(sections)
        + f"<h2>Figures</h2>{''.join(figs)}"
        + f"<h2>What was compared</h2><table>{info_rows}</table>"
        "</body></html>\n"
    )


def write_report(rep: FidelityReport, path_dir: str | Path, *, title: str | None = None) -> Path:
    """Write ``report.html`` (figures embedded) and the PNG figures into ``path_dir``.

    Everything is rendered into a temporary folder beside ``path_dir`` first; only when all
    of it succeeded are the files moved in (the folder is created, or existing files of the
    same names replaced). On error nothing is written.

    Returns
    -------
    Path
        ``path_dir / "report.html"``.
    """
    out = Path(path_dir)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{out} exists and is not a folder")
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f".{out.name}.tmp-"))
    try:
        pngs: dict[str, bytes] = {}
        for name, (fn, _) in FIGURES.items():
            if name == "profiles.png" and rep.info.get("tz") is None:
                continue  # no local time (machines): no daily profile
            fig = fn(rep)
            fig.savefig(tmp / name, dpi=100)
            pngs[name] = (tmp / name).read_bytes()
        text = _html(rep, pngs, title or "twinforge fidelity report")
        (tmp / "report.html").write_text(text, encoding="utf-8")
        if not out.exists():
            chmod_default(tmp, dir=True)
            os.replace(tmp, out)
        else:
            for f in sorted(tmp.iterdir()):
                os.replace(f, out / f.name)
            tmp.rmdir()
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out / "report.html"


def save_report(rep: FidelityReport, folder: str | Path, *, title: str | None = None) -> Path:
    """Write ``report.html``, its figures and ``metrics.json`` into ``folder``, all or nothing.

    Everything is written into a folder beside ``folder`` and moved in whole; an earlier
    report at ``folder`` is replaced only once the new one is complete.
    """
    from twinforge.fidelity._io import commit, staging

    out = Path(folder)
    staged = staging(out)
    try:
        write_report(rep, staged, title=title)
        rep.to_json(staged / "metrics.json")
        commit(staged, out)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return out / "report.html"
