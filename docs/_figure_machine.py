"""Synthetic machines versus the PRONOSTIA learning set: docs/figures/machine_vs_pronostia.png.

    python docs/_figure_machine.py [--pronostia DIR]

``DIR`` holds the FEMTO-ST PRONOSTIA learning-set features (default:
``$TWINFORGE_SHARED_DATA/femto_pronostia``, as for the tests).

Runs 12 default (PRONOSTIA-like) machines to failure (0.1 s at 25.6 kHz every 10 s) and
plots their horizontal RMS and kurtosis against normalised life, next to the six
learning-set bearings of the IEEE PHM 2012 challenge (per-snapshot features computed from
the raw files: ``DERIVED_learning_set_snapshot_features.csv``), plus the lifetimes of 300
default machines against the six real ones. Prints the figures quoted in docs/machine.md.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

HERE = Path(__file__).parent


def synthetic(n: int = 12, seed: int = 2012) -> pd.DataFrame:
    from twinforge.campaign.runner import generate
    from twinforge.campaign.spec import load_spec
    from twinforge.export import open_dataset

    spec = load_spec(None, twin="machine", runs=n, period="10s", seed=seed, machine={"until_failure": True})
    out = Path(tempfile.mkdtemp()) / "machines"
    generate(spec, out, progress=False)
    return open_dataset(out).samples(columns=["accel_rms_g", "accel_kurtosis", "rul_s"])


def lifetimes(n: int = 300, seed: int = 0) -> np.ndarray:
    from twinforge.campaign.runner import build_twin, plan_runs
    from twinforge.campaign.spec import load_spec

    spec = load_spec(None, twin="machine", runs=n, period="10s", seed=seed)
    out = []
    for p in plan_runs(spec, seed):
        twin = build_twin(spec, p)
        twin.run_grid(spec.grid())
        out.append(twin.failure_s / 3600.0)
    return np.asarray(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    data = Path(os.environ.get("TWINFORGE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    ap.add_argument("--pronostia", type=Path, default=data / "femto_pronostia")
    args = ap.parse_args()
    real = pd.read_csv(args.pronostia / "DERIVED_learning_set_snapshot_features.csv")
    syn = synthetic()
    life = lifetimes()

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for ax, col_r, col_s, title in (
        (axes[0], "rms_h", "accel_rms_g", "RMS [g]"),
        (axes[1], "kurtosis_h", "accel_kurtosis", "kurtosis [1]"),
    ):
        for k, (name, g) in enumerate(real.groupby("bearing")):
            x = (g.file_index - 1) / (g.file_index.max() - 1)
            ax.plot(x, g[col_r].rolling(9, center=True, min_periods=1).median(), color="tab:blue",
                    lw=1.0, alpha=0.8, label="PRONOSTIA learning set (6 bearings)" if k == 0 else None)
        for k, (run_id, g) in enumerate(syn.groupby("run_id")):
            n = len(g)
            x = np.arange(n) / (n - 1)
            ax.plot(x, g[col_s].rolling(9, center=True, min_periods=1).median(), color="tab:orange",
                    lw=1.0, alpha=0.6, label=f"twinforge machine ({syn.run_id.nunique()} runs)" if k == 0 else None)
        ax.set_yscale("log")
        ax.set_xlabel("normalised life t / T_failure")
        ax.set_title(f"{title}, rolling median of 9 snapshots")
        ax.grid(alpha=0.3)
    axes[0].legend(loc="upper left", fontsize=8)
    real_life = real.groupby("bearing").file_index.max() * 10.0 / 3600.0
    axes[2].hist(life, bins=np.arange(0, 14, 0.5), color="tab:orange", alpha=0.7, density=True,
                 label=f"twinforge, {len(life)} default machines")
    for k, v in enumerate(real_life):
        axes[2].axvline(v, color="tab:blue", lw=2, label="PRONOSTIA learning set" if k == 0 else None)
    axes[2].set_xlabel("lifetime [h]")
    axes[2].set_title("time to failure")
    axes[2].legend(fontsize=8)
    fig.tight_layout()
    path = HERE / "figures" / "machine_vs_pronostia.png"
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")

    def stats(v):
        v = np.asarray(v)
        return f"mean {v.mean():.2f} h, median {np.median(v):.2f} h, CV {v.std() / v.mean():.2f}, range {v.min():.2f}-{v.max():.2f} h"

    print("PRONOSTIA lifetimes:", stats(real_life), dict(real_life.round(2)))
    print("synthetic lifetimes:", stats(life), f"5-95 %: {np.percentile(life, 5):.2f}-{np.percentile(life, 95):.2f} h,",
          f"share in 1-8 h: {np.mean((life > 1) & (life < 8)):.2f}")
    for name, g, rc, kc in [("PRONOSTIA", real, "rms_h", "kurtosis_h"), ("synthetic", syn, "accel_rms_g", "accel_kurtosis")]:
        key = "bearing" if name == "PRONOSTIA" else "run_id"
        first = g.groupby(key).head(30)
        last = g.groupby(key).tail(3)
        print(f"{name}: early RMS median {first[rc].median():.2f} g, kurtosis {first[kc].median():.2f}; "
              f"last 3 snapshots RMS median {last[rc].median():.2f} g, kurtosis {last[kc].median():.2f}")


if __name__ == "__main__":
    main()
