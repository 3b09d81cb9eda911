"""Sim-to-real bearing fault classification: trained on the twin only, tested on real machines.

    python benchmarks/bench_sim2real_bearing.py [--workers 2] [--shared DATA_DIR] [--keep DIR]

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
6. **Ablation**: the same features, classifier and real tests, trained on the machine twin as
   it was before the present vibration physics (commit ``ABLATION_REF``, run from a
   ``git archive`` of it in a fresh interpreter) with the same classes, severities, snapshot
   lengths and the domain-randomisation laws it has, on the rigs it can represent
   (6205-2RS at 12 and 48 kHz, PRONOSTIA; it has no MFPT geometry).
7. **IMS** (Qiu et al. 2006): the healthy-vibration fit (:mod:`twinforge.fidelity.vibration_fit`)
   on the first test-1 snapshot, checked on one 4.6 h later (log-spectral distance, RMS).
8. **Indicators**: per class, how well a classifier tells real windows from synthetic ones
   of the same class on (kurtosis, crest factor, skewness): the fidelity report's
   discriminative score (0 = indistinguishable, 0.5 = separable), against synthetic windows of
   the MFPT rig preset with the campaign's laws at the real windows' length.

Prints every figure and a summary; 545 s on 2 cores shared with other work (load about 8). Real data are read from
``--shared`` (default ``TWINFORGE_SHARED_DATA``, as for the tests)
and never copied; without them only the synthetic parts run.
"""

from __future__ import annotations

import argparse
import os
import json
import shutil
import subprocess
import sys
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
IMS_FIT, IMS_CHECK = "2003.10.22.12.06.24", "2003.10.22.16.44.13"
#: The ablation: the machine twin as it was before the present vibration physics (impact trains
#: at the defect frequencies on fixed resonances, one background path; the commit main stood at).
ABLATION_REF = "5b00360"
#: Rigs the old twin can represent (its geometry presets): bearing, sample rate [Hz], shaft speed [rpm].
ABLATION_RIGS = (("6205-2RS", 12_000.0, 1797.0), ("6205-2RS", 48_000.0, 1797.0), ("pronostia", 25_600.0, 1800.0))
#: Run in a fresh interpreter on the old package: the same classes, fault severities, snapshot
#: lengths and, where the old twin has them, the same domain-randomisation laws as bearing_faults_dr.
OLD_TWIN_SCRIPT = r"""
import json, sys
import twinforge
from twinforge.campaign import CampaignSpec, run_campaign
assert twinforge.__file__.startswith(sys.argv[1]), twinforge.__file__
out, workers, rigs = sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
sev = {"dist": "uniform", "low": 0.1, "high": 1.0}
ev = {"rate_per_year": 1.0, "duration_median_h": 1.0, "duration_sigma": 0.1, "severity": sev}
for i, (bearing, rate, rpm) in enumerate(rigs):
    spec = CampaignSpec.from_data({
        "name": f"ablation-{i}", "twin": "machine", "days": 0.000463, "period": "10s", "start": "2024-01-01",
        "seed": 2027 + i, "sampler": "stratified",
        "machine": {"fault_modes": [], "bearing": bearing, "sample_rate_hz": rate, "shaft_speed_rpm": rpm},
        "diversity": {"radial_load_sigma": 0.6, "shaft_speed_sigma": 0.15, "background_sigma": 0.5,
                      "resonance_sigma": 0.35},
        "parameters": {"snapshot_duration_s": {"dist": "uniform", "loc": 0.1, "scale": 0.9},
                       "vibration.background_modulation_depth": {"dist": "uniform", "loc": 0.0, "scale": 0.5}},
        "classes": {"none": 8, "bearing_inner_race": 33, "bearing_outer_race": 33, "bearing_rolling_element": 33},
        "events": {k: ev for k in ("bearing_inner_race", "bearing_outer_race", "bearing_rolling_element")},
    })
    run_campaign(spec, f"{out}/rig{i}", workers=workers, progress=False)
"""


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
    try:
        samples = ds.samples(columns=["shaft_speed_rpm", "fault", "fault_snr_db"])
    except Exception:  # the ablation's older twin has no fault_snr_db label
        samples = ds.samples(columns=["shaft_speed_rpm", "fault"])
    snaps = ds.table("snapshots", columns=["accel_g"])
    rows = []
    for (run_id, s), (_, w) in zip(samples.groupby("run_id"), snaps.groupby("run_id")):
        bearing, rate = runs.at[run_id, "bearing"], float(runs.at[run_id, "sample_rate_hz"])
        x = np.stack([np.asarray(v, dtype=np.float64) for v in w["accel_g"]])
        shaft_hz = s["shaft_speed_rpm"].to_numpy() / 60.0
        feats = np.vstack([features(x[i], rate, shaft_hz[i], bearing) for i in range(len(x))])
        ci = condition_indicators(x, rate)
        snr = s["fault_snr_db"].to_numpy() if "fault_snr_db" in s else np.full(len(s), np.nan)
        for i, label in enumerate(s["fault"].to_numpy()):
            rows.append({"run_id": run_id, "bearing": bearing, "label": label or "normal", "snr_db": snr[i],
                         "feats": feats[i], "kurtosis": ci["kurtosis"][i], "crest": ci["crest_factor"][i],
                         "skewness": ci["skewness"][i]})
    return pd.DataFrame(rows)


def run_ablation(out: Path, workers: int, ref: str) -> float:
    """Generate the ablation's training set with the twin at ``ref`` (a fresh interpreter on it)."""
    pkg = out / "package"
    pkg.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    archive = subprocess.run(["git", "archive", ref, "twinforge"], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(pkg)], input=archive, check=True)
    env = {**os.environ, "PYTHONPATH": str(pkg)}
    subprocess.run([sys.executable, "-c", OLD_TWIN_SCRIPT, str(pkg), str(out / "data"), str(workers),
                    json.dumps(ABLATION_RIGS)], env=env, check=True, cwd=out)
    return time.perf_counter() - t0


def ims_fit_check(folder: Path) -> None:
    """Fit the healthy vibration on one IMS snapshot per bearing, check it on one 4.6 h later."""
    from scipy import signal

    from twinforge.fidelity.vibration_fit import fit_healthy_vibration, log_spectral_distance_db

    a = np.loadtxt(folder / IMS_FIT)
    b = np.loadtxt(folder / IMS_CHECK)
    lsd_fit, lsd_check, rms = [], [], []
    for ch in range(0, a.shape[1], 2):  # one channel per bearing (x of each)
        fit = fit_healthy_vibration(a[:, ch], 20_000.0, 2000.0 / 60.0, line_hz=60.0)
        f, p = signal.welch(b[:, ch] - b[:, ch].mean(), 20_000.0, nperseg=2 * fit.freqs_hz.size - 2)
        lsd_fit.append(fit.lsd_db)
        lsd_check.append(log_spectral_distance_db(p, fit.model_psd_g2_per_hz, f, (50.0, 9_000.0)))
        total = np.hypot(fit.vibration["background_rms_g"], fit.vibration["sensor_noise_g"])
        rms.append(total / np.std(b[:, ch]))
    print(f"\nIMS test 1, healthy fit on {IMS_FIT}, checked on {IMS_CHECK} (x channel of the 4 bearings, 20 kHz, 2000 rpm):")
    print(f"  log-spectral distance fitted broadband vs recording, 50-9000 Hz: fit median {np.median(lsd_fit):.1f} dB "
          f"(range {min(lsd_fit):.1f}-{max(lsd_fit):.1f}), check median {np.median(lsd_check):.1f} dB "
          f"(range {min(lsd_check):.1f}-{max(lsd_check):.1f}); fitted RMS / check RMS median {np.median(rms):.2f} "
          f"(range {min(rms):.2f}-{max(rms):.2f})")


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


def _fmt(scores: dict[str, float]) -> str:
    return ", ".join(f"{k.split(' (')[0]} {v:.3f}" for k, v in scores.items())


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
    ap.add_argument("--ablation-ref", default=ABLATION_REF,
                    help="git commit of the older twin trained the same way for the ablation ('' to skip)")
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
        clf_old = None
        if args.ablation_ref:
            dt_old = run_ablation(work / "ablation", args.workers, args.ablation_ref)
            old = pd.concat([synthetic_set(d) for d in sorted((work / "ablation" / "data").iterdir())],
                            ignore_index=True)
            counts = old.label.value_counts().reindex(list(CLASSES), fill_value=0)
            print(f"\nablation training set: the twin at {args.ablation_ref}, {old.run_id.nunique()} machines per rig x "
                  f"{len(ABLATION_RIGS)} rigs ({', '.join(f'{b} at {r / 1000:g} kHz' for b, r, _ in ABLATION_RIGS)}; "
                  f"it has no MFPT geometry), {len(old)} snapshots ({', '.join(f'{k} {v}' for k, v in counts.items())}) "
                  f"in {dt_old:.0f} s")
            clf_old = fit(old)
        summary: list[str] = []
        mfpt_dir, pr_dir = args.shared / "mfpt_bearing", args.shared / "femto_pronostia" / "raw_Learning_set_Bearing1_1"
        if mfpt_dir.is_dir():
            real = mfpt_windows(mfpt_dir, MFPT_DEV_LOADS if args.dev else range(1, 8))
            r = report_mfpt(clf_all, real, "MFPT, trained on all four rigs (the MFPT rig from its published preset):")
            summary.append("MFPT, this twin (all rigs): " + _fmt(r))
            r = report_mfpt(fit(synth[synth.bearing != "mfpt-nice"]), real,
                            "MFPT, trained without the MFPT rig (the pipeline gets only its geometry and rate):")
            summary.append("MFPT, this twin without the MFPT rig: " + _fmt(r))
            if clf_old is not None:
                r = report_mfpt(clf_old, real, f"ABLATION: MFPT, the same pipeline trained on the twin at {args.ablation_ref}:")
                summary.append(f"MFPT, ablation (twin at {args.ablation_ref}): " + _fmt(r))
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
            a = report_pronostia(clf_all, real_p, "PRONOSTIA Bearing1_1, trained on all four rigs")
            summary.append(f"PRONOSTIA early vs late, this twin (all rigs): {a:.3f}")
            a = report_pronostia(fit(synth[synth.bearing != "pronostia"]), real_p,
                                 "PRONOSTIA Bearing1_1, trained without the PRONOSTIA rig")
            summary.append(f"PRONOSTIA early vs late, this twin without the PRONOSTIA rig: {a:.3f}")
            if clf_old is not None:
                a = report_pronostia(clf_old, real_p, f"ABLATION: PRONOSTIA Bearing1_1, trained on the twin at "
                                     f"{args.ablation_ref}")
                summary.append(f"PRONOSTIA early vs late, ablation (twin at {args.ablation_ref}): {a:.3f}")
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
        ims_dir = args.shared / "ims_bearing" / "raw_1st_test"
        if ims_dir.is_dir() and not args.dev:
            ims_fit_check(ims_dir)
        if summary:
            print("\nsummary (balanced accuracy per window; MFPT: U untouched, D development):")
            print("\n".join("  " + line for line in summary))
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"\ntotal {time.perf_counter() - t_start:.0f} s; {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")


if __name__ == "__main__":
    main()
