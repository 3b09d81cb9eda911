"""Real MFPT faults against the twin's MFPT rig: docs/figures/machine_sim2real_mfpt.png.

    python docs/_figure_machine_sim2real.py [--shared DATA_DIR]

``DATA_DIR`` holds the MFPT fault database (Bechhoefer 2013; default
``$TWINFORGE_SHARED_DATA``, as for the tests and the benchmark). Top: squared envelope
spectra of the cepstrum-pre-whitened signal (:func:`twinforge.processes.condition.fault_features`'
view of a snapshot), a real inner- and outer-race recording at 150 lbf (load 4, development
subset) against a synthetic 3 s snapshot of the ``mfpt`` preset run the same way (severity 1,
the file's load and shaft rate), with the defect lines marked; and the median kurtosis of each
real file against the twin's, by load. Bottom: kurtosis, crest factor and skewness of the 84
real 0.5 s windows of all 14 files against the preset run as each file was
(``bench_sim2real_bearing.mfpt_as_run``, the benchmark's indicator comparison, same seed).
Prints the medians.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "benchmarks"))
import bench_sim2real_bearing as bench  # noqa: E402


def envelope(x: np.ndarray, rate_hz: float) -> tuple[np.ndarray, np.ndarray]:
    from twinforge.processes.condition import cepstral_prewhiten, squared_envelope_spectrum

    return squared_envelope_spectrum(cepstral_prewhiten(x - x.mean()), rate_hz)


def main() -> None:
    from scipy.io import loadmat

    from twinforge.processes.bearing import BEARING_PRESETS, defect_frequencies
    from twinforge.processes.vibration import VibrationParams, render_snapshot
    from twinforge.twins.machine import rig_preset

    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", type=Path,
                    default=Path(os.environ.get("TWINFORGE_SHARED_DATA", HERE.parents[1] / "shared" / "data")))
    args = ap.parse_args()
    folder = args.shared / "mfpt_bearing"
    rig = rig_preset("mfpt")
    params = VibrationParams(**rig["vibration"])
    geometry = BEARING_PRESETS[rig["bearing"]]
    shaft_hz = rig["shaft_speed_rpm"] / 60.0
    rate = rig["sample_rate_hz"]
    lines = {k: float(v) for k, v in defect_frequencies(geometry, shaft_hz).items()}

    lbf = bench.LBF_N
    fig, axes = plt.subplots(2, 3, figsize=(16, 7.5))
    for ax, (mode, name, key) in zip(axes[0], (("inner_race", "InnerRaceFault", "bpfi"),
                                               ("outer_race", "OuterRaceFault", "bpfo"))):
        b = loadmat(folder / f"{name}_vload_4.mat", squeeze_me=True, struct_as_record=False)["bearing"]
        f, real = envelope(np.asarray(b.gs, dtype=np.float64), float(b.sr))
        syn = render_snapshot(0.0, 3.0, rate, float(b.rate), geometry, {mode: 1.0}, params, np.random.default_rng(1),
                              radial_load_n=float(b.load) * lbf)
        fs, s = envelope(syn, rate)
        ax.plot(f, real, lw=0.8, color="tab:blue", label=f"MFPT {name}_vload_4, 150 lbf (real, 3 s)")
        ax.plot(fs, -s, lw=0.8, color="tab:orange", label="twin, mfpt preset as run (3 s), mirrored")
        for k in (1, 2, 3):
            ax.axvline(k * lines[key], color="k", lw=0.6, ls="--")
        ax.set_xlim(0, 4 * lines[key])
        ax.set_xlabel(f"frequency [Hz] (dashed: {key.upper()} x 1-3)")
        ax.set_ylabel("squared envelope spectrum [1]")
        ax.set_title(f"{mode.replace('_', ' ')}: envelope of the pre-whitened signal")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)

    real = bench.mfpt_windows(folder)
    syn = bench.mfpt_as_run(real)
    ax = axes[0, 2]
    for label, color in (("inner_race", "tab:red"), ("outer_race", "tab:green")):
        r = real[real.label == label].groupby("file").agg(load=("load_n", "first"), k=("kurtosis", "median"),
                                                          subset=("subset", "first"))
        k_syn = syn[syn.label == label].groupby("file")["kurtosis"].median().reindex(r.index)
        ax.plot(r.load / lbf, r.k, "o-", color=color, label=f"real {label}")
        ax.plot(r.load / lbf, k_syn, "s--", color=color, alpha=0.6, label=f"twin {label}")
        for load, k, sub in zip(r.load / lbf, r.k, r.subset):
            ax.annotate(sub, (load, k), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_yscale("log")
    ax.set_xlabel("radial load [lbf] (D: development, U: untouched)")
    ax.set_ylabel("median kurtosis of a file's 0.5 s windows [1]")
    ax.set_title("kurtosis by load: real files vs the preset as run")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    for ax, col, bins in ((axes[1, 0], "kurtosis", np.logspace(np.log10(2.5), np.log10(200), 30)),
                          (axes[1, 1], "crest", np.linspace(3, 25, 31)),
                          (axes[1, 2], "skewness", np.linspace(-1.5, 2.5, 31))):
        for label, color in (("inner_race", "tab:red"), ("outer_race", "tab:green")):
            r, s = real[real.label == label][col], syn[syn.label == label][col]
            ax.hist(r, bins=bins, density=True, histtype="step", lw=2, color=color, label=f"real {label} ({len(r)})")
            ax.hist(s, bins=bins, density=True, alpha=0.3, color=color, label=f"twin {label} ({len(s)})")
            print(f"{col} {label}: median real {np.median(r):.2f}, twin {np.median(s):.2f}")
        if col == "kurtosis":
            ax.set_xscale("log")
        ax.set_xlabel(f"{col} of 0.5 s windows [1]")
        ax.set_title(f"{col}: real MFPT (14 files) vs preset as run")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    path = HERE / "figures" / "machine_sim2real_mfpt.png"
    fig.savefig(path, dpi=100)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
