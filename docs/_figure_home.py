"""Draw docs/figures/home_week.png: a winter week of one home, with its cold snap shaded.

    python docs/_figure_home.py
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

OUT = Path(__file__).parent / "figures" / "home_week.png"


def main() -> None:
    spec = load_spec(None, runs=1, days=7, period="5min", seed=3, start="2024-01-08",
                     home={"pv": {"capacity_kwp": 4.0}, "battery": {"capacity_kwh": 8.0}},
                     diversity=False,
                     events=[{"type": "cold_snap", "start": "2024-01-11", "duration_h": 60, "severity": 7}])
    twin = build_twin(spec, plan_runs(spec, spec.seed)[0])
    blocks = [r.samples for r in simulate(twin, spec.grid())]
    df = pd.DataFrame({k: np.concatenate([b[k] for b in blocks]) for k in blocks[0]})
    t = pd.DatetimeIndex(df.time).tz_localize("UTC").tz_convert("Europe/Paris")
    ev = twin.events(0)
    snap = ev[ev.type == "cold_snap"].iloc[0]
    fig, ax = plt.subplots(4, 1, figsize=(12, 9), sharex=True)
    ax[0].plot(t, df.mains_power_w / 1e3, lw=0.6, label="mains (net)")
    ax[0].plot(t, df.hvac_power_w / 1e3, lw=0.6, label="heat pump")
    ax[0].plot(t, df.pv_power_w / 1e3, lw=0.8, label="PV")
    ax[0].set_ylabel("power [kW]")
    ax[1].plot(t, df.temp_indoor_c, label="indoor")
    ax[1].plot(t, df.temp_outdoor_c, label="outdoor")
    ax[1].set_ylabel("[degC]")
    ax[2].plot(t, df.battery_soc, color="C2", label="battery SoC")
    ax[2].set_ylabel("[1]")
    ax[3].step(t, df.occupants_active, where="post", label="occupants active", color="C4")
    ax[3].step(t, df.occupants_home, where="post", label="occupants home", color="C5", alpha=0.6)
    ax[3].set_ylabel("count")
    for a in ax:
        a.axvspan(snap.start.tz_convert("Europe/Paris"), snap.end.tz_convert("Europe/Paris"),
                  color="C0", alpha=0.08, label="cold snap (label)")
        a.legend(loc="upper right", fontsize=8, ncol=4)
    ax[0].set_title("one home, a January week at 5 min: heat pump, PV, battery; a 7 K cold snap shaded")
    fig.tight_layout()
    OUT.parent.mkdir(exist_ok=True)
    fig.savefig(OUT, dpi=80)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
