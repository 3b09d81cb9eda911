"""Sim-to-real bearing fault classification: trained on the twin only, tested on real machines.

    python benchmarks/bench_sim2real_bearing.py [--workers 2] [--shared ../shared/data] [--keep DIR]

1. **Training set**: the shipped domain-randomisation campaign ``bearing_faults_dr``
   (``twinforge/data/campaigns/bearing_faults_dr.toml``: 325 machines drawn on four rig presets,
   4 snapshots each), run through the campaign engine; every snapshot is labelled by its
   ``fault`` column (healthy, inner race, outer race, rolling element).
2. **Features** (:func:`twinforge.processes.condition.fault_features`, 24 dimensionless
   numbers): log kurtosis and crest factor of the raw and of the cepstrum-pre-whitened
   signal; squared-envelope-spectrum lines of the pre-whitened signal at FTF, BSF, 2xBSF,
   BPFO, BPFI (harmonics 1-3), the BPFI shaft sidebands and the shaft harmonics, each over the
   spectrum's median; each family's share of the line power. The defect frequencies come
   from the rig's geometry and the shaft speed: the only rig knowledge the pipeline gets.
3. **Classifier** (frozen, see ``FROZEN`` below): ``RandomForestClassifier(n_estimators=400,
   min_samples_leaf=2, class_weight="balanced", random_state=0)`` on the features as they are.
4. **Real tests** (data protocol in docs/machine.md, fixed before any MFPT score was seen):
   - MFPT (Bechhoefer 2013): 14 files, inner/outer race at 7 loads, 48,828 Hz, 3 s, cut in
     0.5 s windows (6 per file). Development subset D = loads 1, 4, 7 of each class (looked at
     while building the physics), untouched subset U = loads 2, 3, 5, 6 (first scored with the
     frozen pipeline); reported separately and together, per window and per file (majority).
   - PRONOSTIA Bearing1_1 (Nectoux et al. 2012): 0.1 s snapshots at 25.6 kHz; early-life test
     snapshots 51, 151, ..., 1351 (healthy; the odd ones 1, 101, ..., 1401 fitted the default
     healthy background) against the last 20 (2784-2803, failing): healthy vs any fault.
5. **Rig transfer**: the same pipeline trained without the test rig's machines (MFPT rig left
   out for MFPT, PRONOSTIA left out for PRONOSTIA), and on synthetic data: train on three
   rigs, test on the fourth.
6. **Indicators**: per class, how well a classifier tells real windows from synthetic ones
   of the same class on (kurtosis, crest factor, skewness): the fidelity report's
   discriminative score (0 = indistinguishable, 0.5 = separable), against synthetic windows of
   the MFPT rig preset with the campaign's laws at the real windows' length.

Prints every figure; takes about 4 minutes on 2 idle cores. Real data are read from
``--shared`` (default ``../shared/data`` beside the repository, or ``TWINFORGE_SHARED_DATA``)
and never copied; without them only the synthetic parts run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
CLASSES = ("normal", "inner_race", "outer_race", "rolling_element")
#: The frozen pipeline: features, model and hyper-parameters (see the module docstring).
FROZEN = {"n_estimators": 400, "min_samples_leaf": 2, "class_weight": "balanced", "random_state": 0}
MFPT_WINDOW_S = 0.5
MFPT_DEV_LOADS = (1, 4, 7)
MFPT_UNTOUCHED_LOADS = (2, 3, 5, 6)
PRONOSTIA_TEST_EARLY = tuple(range(51, 1402, 100))
PRONOSTIA_LATE = tuple(range(2784, 2804))
PRONOSTIA_FIT = tuple(range(1, 1402, 100))  # fitted the healthy background: --dev only


def classifier():
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_jobs=2, **FROZEN)


def features(x: np.ndarray, rate_hz: float, shaft_hz: float, bearing: str) -> np.ndarray:
    from twinforge.processes.bearing import BEARING_PRESETS, defect_frequencies
    from twinforge.processes.condition import fault_features

    f = {k: float(v) for k, v in defect_frequencies(BEARING_PRESETS[bearing], shaft_hz).items()}
    return fault_features(x, rate_hz, shaft_hz, f)


def run_dr_campaign(out: Path, workers: int, **overrides) -> float:
    from twinforge.campaign import load_campaign, run_campaign

    t0 = time.perf_counter()
    run_campaign(load_campaign("bearing_faults_dr", **overrides), out, workers=workers, progress=False)
    return time.perf_counter() - t0


def synthetic_set(out: Path) -> pd.DataFrame:
    """One row per snapshot: run, rig, label, features, (kurtosis, crest, skewness)."""
    from twinforge.export import open_dataset
    from twinforge.processes.condition import condition_indicators

    ds = open_dataset(out)
    runs = ds.runs.set_index("run_id")
    samples = ds.samples(columns=["shaft_speed_rpm", "fault", "fault_snr_db"])
    snaps = ds.table("snapshots", columns=["accel_g"])
    rows = []
    for (run_id, s), (_, w) in zip(samples.groupby("run_id"), snaps.groupby("run_id")):
        bearing, rate = runs.at[run_id, "bearing"], float(runs.at[run_id, "sample_rate_hz"])
        x = np.stack([np.asarray(v, dtype=np.float64) for v in w["accel_g"]])
        shaft_hz = s["shaft_speed_rpm"].to_numpy() / 60.0
        feats = np.vstack([features(x[i], rate, shaft_hz[i], bearing) for i in range(len(x))])
        ci = condition_indicators(x, rate)
        snr = s["fault_snr_db"].to_numpy()
        for i, label in enumerate(s["fault"].to_numpy()):
            rows.append({"run_id": run_id, "bearing": bearing, "label": label or "normal", "snr_db": snr[i],
                         "feats": feats[i], "kurtosis": ci["kurtosis"][i], "crest": ci["crest_factor"][i],
                         "skewness": ci["skewness"][i]})
    return pd.DataFrame(rows)


def mfpt_windows(folder: Path, loads=range(1, 8)) -> pd.DataFrame:
    from scipy.io import loadmat

    from twinforge.processes.condition import condition_indicators

    rows = []
    for label, name in (("inner_race", "InnerRaceFault"), ("outer_race", "OuterRaceFault")):
        for load in loads:
            b = loadmat(folder / f"{name}_vload_{load}.mat", squeeze_me=True, struct_as_record=False)["bearing"]
            x, rate, shaft = np.asarray(b.gs, dtype=np.float64), float(b.sr), float(b.rate)
            n = int(round(MFPT_WINDOW_S * rate))
            w = np.stack([x[i:i + n] for i in range(0, x.size - n + 1, n)])
            feats = features(w, rate, shaft, "mfpt-nice")
            ci = condition_indicators(w, rate)
            subset = "D" if load in MFPT_DEV_LOADS else "U"
            for i in range(len(w)):
                rows.append({"file": f"{name}_vload_{load}", "subset": subset, "label": label, "feats": feats[i],
                             "kurtosis": ci["kurtosis"][i], "crest": ci["crest_factor"][i],
                             "skewness": ci["skewness"][i]})
    return pd.DataFrame(rows)


def pronostia_snapshots(folder: Path, sets=(("normal", PRONOSTIA_TEST_EARLY), ("fault", PRONOSTIA_LATE))) -> pd.DataFrame:
    from twinforge.processes.condition import condition_indicators

    rows = []
    for label, ids in sets:
        x = np.stack([np.loadtxt(folder / f"acc_{i:05d}.csv", delimiter=",")[:, 4] for i in ids])
        feats = features(x, 25_600.0, 30.0, "pronostia")
        ci = condition_indicators(x, 25_600.0)
        for i, k in enumerate(ids):
            rows.append({"snapshot": k, "label": label, "feats": feats[i], "kurtosis": ci["kurtosis"][i],
                         "crest": ci["crest_factor"][i], "skewness": ci["skewness"][i]})
    return pd.DataFrame(rows)


def fit(train: pd.DataFrame):
    return classifier().fit(np.vstack(train["feats"]), train["label"].to_numpy())


def confusion(truth, pred, rows) -> str:
    from sklearn.metrics import confusion_matrix

    cm = confusion_matrix(truth, pred, labels=list(CLASSES))
    lines = ["            predicted: " + " ".join(f"{c[:11]:>11}" for c in CLASSES)]
    for c in rows:
        lines.append(f"  {c:>19}: " + " ".join(f"{v:>11d}" for v in cm[CLASSES.index(c)]))
    return "\n".join(lines)


def report_mfpt(clf, real: pd.DataFrame, title: str) -> dict[str, float]:
    from sklearn.metrics import balanced_accuracy_score

    pred = clf.predict(np.vstack(real["feats"]))
    real = real.assign(pred=pred)
    out = {}
    print(f"\n{title}")
    for name, sel in (("untouched U (8 files)", real.subset == "U"), ("development D (6 files)", real.subset == "D"),
                      ("all 14 files", np.ones(len(real), dtype=bool))):
        r = real[sel]
        if r.empty or (name.startswith("all") and (real.subset == "U").sum() == 0):
            continue
        acc = balanced_accuracy_score(r.label, r.pred)
        votes = r.groupby("file").agg(label=("label", "first"), pred=("pred", lambda p: p.value_counts().index[0]))
        acc_f = balanced_accuracy_score(votes.label, votes.pred)
        out[name] = acc
        print(f"  {name}: balanced accuracy {acc:.3f} ({len(r)} windows of {MFPT_WINDOW_S} s), "
              f"per file (majority) {acc_f:.3f} ({(votes.label == votes.pred).sum()}/{len(votes)} files)")
    print(confusion(real.label, real.pred, ("inner_race", "outer_race")))
    wrong = real[real.label != real.pred].groupby(["file", "pred"]).size()
    if len(wrong):
        print("  misread windows: " + ", ".join(f"{f} -> {p} x{n}" for (f, p), n in wrong.items()))
    return out


def report_pronostia(clf, real: pd.DataFrame, title: str) -> float:
    from sklearn.metrics import balanced_accuracy_score

    pred = clf.predict(np.vstack(real["feats"]))
    binary = np.where(pred == "normal", "normal", "fault")
    acc = balanced_accuracy_score(real.label, binary) if real.label.nunique() > 1 else float(np.mean(binary == real.label))
    print(f"\n{title}: healthy vs faulty {'balanced ' if real.label.nunique() > 1 else ''}accuracy {acc:.3f}")
    for label in ("normal", "fault"):
        sel = (real.label == label).to_numpy()
        if not sel.any():
            continue
        counts = pd.Series(pred[sel]).value_counts().reindex(list(CLASSES), fill_value=0)
        print(f"  {'early (healthy)' if label == 'normal' else 'last 20 (failing)':>18}: "
              + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return acc


def indicator_scores(synth: pd.DataFrame, real: pd.DataFrame, label: str) -> str:
    from twinforge.fidelity import discriminative_score

    cols = ["kurtosis", "crest", "skewness"]
    r, s = real[real.label == label], synth[synth.label == label]
    score = discriminative_score(r[cols].to_numpy(), s[cols].to_numpy(), seed=0)
    med = lambda d: " / ".join(f"{np.median(d[c]):.2f}" for c in cols)  # noqa: E731
    return (f"  {label:>15}: discriminative score {score:.3f} ({len(r)} real, {len(s)} synthetic); "
            f"median kurtosis / crest / skewness real {med(r)}, synthetic {med(s)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--shared", type=Path,
                    default=Path(os.environ.get("TWINFORGE_SHARED_DATA", ROOT.parent / "shared" / "data")))
    ap.add_argument("--keep", type=Path, help="keep the generated datasets in this folder")
    ap.add_argument("--dev", action="store_true",
                    help="development run: only the MFPT development subset D and the PRONOSTIA snapshots that "
                         "fitted the healthy background (the test files are not opened)")
    args = ap.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"twinforge sim-to-real bearing benchmark at {commit or '?'}; {uptime}")
    tmp = Path(tempfile.mkdtemp(prefix="sim2real_"))
    work = args.keep or tmp
    t_start = time.perf_counter()
    try:
        dt = run_dr_campaign(work / "dr", args.workers)
        synth = synthetic_set(work / "dr")
        counts = synth.label.value_counts().reindex(list(CLASSES), fill_value=0)
        print(f"\ntraining set: campaign bearing_faults_dr, {synth.run_id.nunique()} machines, {len(synth)} snapshots "
              f"({', '.join(f'{k} {v}' for k, v in counts.items())}) in {dt:.0f} s; rigs: "
              + ", ".join(f"{k} {v}" for k, v in synth.bearing.value_counts().sort_index().items()))

        # synthetic rig transfer: train on three rigs, test on the fourth
        from sklearn.metrics import balanced_accuracy_score

        print("\nsynthetic, leave one rig out (4-class balanced accuracy on the left-out rig's snapshots):")
        rigs = {"6205-2RS": "6205-2RS (12 and 48 kHz)", "mfpt-nice": "MFPT", "pronostia": "PRONOSTIA"}
        for bearing, name in rigs.items():
            test = synth[synth.bearing == bearing]
            clf = fit(synth[synth.bearing != bearing])
            pred = clf.predict(np.vstack(test["feats"]))
            print(f"  {name}: {balanced_accuracy_score(test.label, pred):.3f} ({len(test)} snapshots)")
            print(confusion(test.label, pred, CLASSES))

        clf_all = fit(synth)
        mfpt_dir, pr_dir = args.shared / "mfpt_bearing", args.shared / "femto_pronostia" / "raw_Learning_set_Bearing1_1"
        if mfpt_dir.is_dir():
            real = mfpt_windows(mfpt_dir, MFPT_DEV_LOADS if args.dev else range(1, 8))
            report_mfpt(clf_all, real, "MFPT, trained on all four rigs (the MFPT rig from its published preset):")
            report_mfpt(fit(synth[synth.bearing != "mfpt-nice"]), real,
                        "MFPT, trained without the MFPT rig (the pipeline gets only its geometry and rate):")
            # indicators against synthetic windows of the MFPT rig at the real windows' length
            div = {"rig_probs": {"cwru_6205_12k": 0.0, "cwru_6205_48k": 0.0, "mfpt": 1.0, "pronostia": 0.0}}
            par = {"snapshot_duration_s": {"dist": "uniform", "loc": MFPT_WINDOW_S, "scale": 1e-9}}
            dt2 = run_dr_campaign(work / "mfpt_rig", args.workers, diversity=div, parameters=par, seed=2028,
                                  classes={"none": 5, "bearing_inner_race": 40, "bearing_outer_race": 40,
                                           "bearing_rolling_element": 5})
            rig = synthetic_set(work / "mfpt_rig")
            print(f"\nindicators, real MFPT windows against the MFPT rig preset ({len(rig)} synthetic "
                  f"{MFPT_WINDOW_S} s snapshots, {dt2:.0f} s):")
            for label in ("inner_race", "outer_race"):
                print(indicator_scores(rig, real, label))
        else:
            print(f"\nMFPT data not found at {mfpt_dir}: skipped")
        if pr_dir.is_dir():
            real_p = pronostia_snapshots(pr_dir, (("normal", PRONOSTIA_FIT),) if args.dev else
                                         (("normal", PRONOSTIA_TEST_EARLY), ("fault", PRONOSTIA_LATE)))
            report_pronostia(clf_all, real_p, "PRONOSTIA Bearing1_1, trained on all four rigs")
            report_pronostia(fit(synth[synth.bearing != "pronostia"]), real_p,
                             "PRONOSTIA Bearing1_1, trained without the PRONOSTIA rig")
            div = {"rig_probs": {"cwru_6205_12k": 0.0, "cwru_6205_48k": 0.0, "mfpt": 0.0, "pronostia": 1.0}}
            par = {"snapshot_duration_s": {"dist": "uniform", "loc": 0.1, "scale": 1e-9}}
            run_dr_campaign(work / "pronostia_rig", args.workers, diversity=div, parameters=par, seed=2029,
                            classes={"none": 40, "bearing_inner_race": 1, "bearing_outer_race": 1,
                                     "bearing_rolling_element": 1})
            pr_synth = synthetic_set(work / "pronostia_rig")
            print("\nindicators, real PRONOSTIA early-life snapshots against healthy PRONOSTIA-rig snapshots (0.1 s):")
            print(indicator_scores(pr_synth, real_p, "normal"))
        else:
            print(f"\nPRONOSTIA data not found at {pr_dir}: skipped")
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"\ntotal {time.perf_counter() - t_start:.0f} s; {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")


if __name__ == "__main__":
    main()
