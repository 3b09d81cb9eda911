"""Draw docs/figures/grid_year_vs_pjm.png: a synthetic feeder year next to PJM East 2014.

    python docs/_figure_grid.py

A feeder is not a region, so both are normalised by their annual mean: the comparison is
of shapes (seasonal swing, weekly and daily profiles), not of levels.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from twinforge.campaign.runner import build_twin, plan_runs  # noqa: E402
from twinforge.campaign.spec import load_spec  # noqa: E402
from twinforge.core.engine import simulate  # noqa: E402
from twinforge.fidelity.loader import load_pjm  # noqa: E402

OUT = Path(__file__).parent / "figures" / "grid_year_vs_pjm.png"


def synthetic_year() -> pd.Series:
    spec = load_spec(None, twin="grid", runs=1, days=365, period="1h", seed=2014, start="2014-01-01",
                     grid={"n_homes": 200})
    twin = build_twin(spec, plan_runs(spec, spec.seed)[0])
    blocks = [r.samples for r in simulate(twin, spec.grid())]
    t = pd.DatetimeIndex(np.concatenate([b["time"] for b in blocks])).tz_localize("UTC")
    return pd.Series(np.concatenate([b["feeder_power_w"] for b in blocks]), index=t)


def main() -> None:
    syn = synthetic_year()
    real = load_pjm()["load_power_w"]
    fig, axes = plt.subplots(2, 2, figsize=(12, 7), gridspec_kw={"width_ratios": [2, 1]})
    for s, label, colour in ((real, "PJM East 2014 (real)", "k"), (syn, "synthetic feeder, 200 homes", "C1")):
        norm = s / s.mean()
        daily = norm.resample("1D").mean()
        axes[0, 0].plot(daily.index, daily.values, color=colour, label=label, lw=1)
        local = norm.tz_convert("America/New_York" if s is real else "Europe/Paris")
        for ax, months in ((axes[0, 1], [12, 1, 2]), (axes[1, 1], [6, 7, 8])):
            sel = local[local.index.month.isin(months)]
            prof = sel.groupby(sel.index.hour).mean()
            ax.plot(prof.index, prof.values, color=colour, label=label)
        weekly = local.groupby(local.index.day_of_week).mean()
        axes[1, 0].plot(weekly.index, weekly.values, "o-", color=colour, label=label)
    axes[0, 0].set(title="daily mean load / annual mean", ylabel="[1]")
    axes[0, 1].set(title="winter (DJF) daily profile, local time", xlabel="hour")
    axes[1, 1].set(title="summer (JJA) daily profile, local time", xlabel="hour")
    axes[1, 0].set(title="mean by day of week (0 = Monday)", ylabel="[1]")
    axes[0, 0].legend()
    fig.tight_layout()
    OUT.parent.mkdir(exist_ok=True)
    fig.savefig(OUT, dpi=90)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
