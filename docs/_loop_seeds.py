"""The closed loop against a plain campaign over several seeds (the table in docs/loop.md).

    python docs/_loop_seeds.py [--seeds 2012 2013 2014 2015]

The setup of notebooks/06_closed_loop.ipynb (PRONOSTIA-like machines from the shipped
``pronostia`` preset, four strata, 6 rounds of 40 runs; real PRONOSTIA learning-set
bearings: validation Bearing1_1 and Bearing2_1 steer the loop, Bearing2_2 and Bearing3_1
are only reported), once per seed: the seed changes the machines, the defects and the
forest, never the real split. Prints the final balanced accuracy of each arm per seed and
the mean difference with its standard error.
"""

from __future__ import annotations

import argparse
import tempfile
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

import twinforge

DATA = Path(twinforge.__file__).parent / "data"
FEATURES = ["accel_rms_g", "accel_peak_g", "accel_kurtosis", "accel_crest_factor"]
FAULTS = ["bearing_outer_race", "bearing_inner_race", "bearing_rolling_element"]
RELABEL = {"": "none", "outer_race": "fault", "inner_race": "fault", "rolling_element": "fault"}


def campaign(seed: int):
    from twinforge.campaign.campaign import CampaignSpec

    preset = tomllib.loads((DATA / "presets" / "pronostia.toml").read_text())
    defect = {"rate_per_year": 1.0, "duration_median_h": 1.0, "duration_sigma": 0.1,
              "severity": {"dist": "uniform", "low": 0.05, "high": 1.0}}
    return CampaignSpec.from_data({
        "name": "pronostia-faults-loop", "twin": "machine", "days": 40 / 86400, "period": "10s",
        "start": "2024-01-01", "seed": seed, "sampler": "stratified",
        "machine": {**preset["machine"], "until_failure": False, "fault_modes": []},
        "diversity": {**preset["diversity"], "radial_load_sigma": 0.15, "shaft_speed_sigma": 0.1},
        "classes": {"none": 1, **{f: 1 for f in FAULTS}}, "events": {f: defect for f in FAULTS},
    })


def real_sets() -> tuple[pd.DataFrame, pd.DataFrame]:
    real = pd.read_csv(DATA / "pronostia" / "learning_set_snapshot_features.csv.xz")
    real = real.assign(accel_rms_g=real["rms_h"], accel_peak_g=real["peak_h"], accel_kurtosis=real["kurtosis_h"],
                       accel_crest_factor=real["peak_h"] / real["rms_h"])
    life = (real["file_index"] - 1) / real.groupby("bearing")["file_index"].transform("max")
    real["fault"] = np.where(life < 0.2, "none", np.where(life >= 0.9, "fault", ""))
    real = real[real["fault"] != ""]
    return (real[real["bearing"].isin(["Bearing1_1", "Bearing2_1"])],
            real[real["bearing"].isin(["Bearing2_2", "Bearing3_1"])])


def main() -> None:
    from twinforge.campaign.loop import LoopSettings, closed_loop

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[2012, 2013, 2014, 2015])
    a = ap.parse_args()
    validation, report = real_sets()
    work = Path(tempfile.mkdtemp(prefix="twinforge-loop-seeds-"))
    rows = []
    for seed in a.seeds:
        row = {"seed": seed}
        for arm, adapt in (("plain", False), ("loop", True)):
            st = LoopSettings(rounds=6, runs_per_round=40, features=FEATURES, relabel=RELABEL, adapt=adapt,
                              balance=0.5, pairs_share=0.25 if adapt else 0.0)
            res = closed_loop(campaign(seed), work / f"{seed}-{arm}", st, validation=validation, report=report,
                              seed=seed)
            last = res.rounds[-1]["scores"]
            row[f"{arm}_report"] = last["report"]["balanced_accuracy"]
            row[f"{arm}_validation"] = last["validation"]["balanced_accuracy"]
        rows.append(row)
        print(row, flush=True)
    t = pd.DataFrame(rows)
    d = t["loop_report"] - t["plain_report"]
    print(t.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"loop - plain on the report bearings: mean {d.mean():+.3f}, standard error "
          f"{d.std(ddof=1) / np.sqrt(len(d)):.3f} over {len(d)} seeds")


if __name__ == "__main__":
    main()
