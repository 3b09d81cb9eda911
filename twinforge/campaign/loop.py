"""Closed-loop sampling: generate more where a downstream model is confused.

A plain stratified campaign decides once how many runs each class (stratum) gets. The loop
decides round by round, from the model being trained:

1. run the round's stratified campaign (an ordinary campaign dataset ``out/round_<r>``,
   seeded from the root seed and the round number), plus, when asked, counterfactual pairs
   of the class most confused with the no-event class (``out/round_<r>_pairs``);
2. train the model (a scikit-learn estimator, cloned, or a callable) on every sample so far;
3. score it on the validation set (synthetic or real): confusion matrix, recall per class,
   balanced accuracy; a separate *report* set, if given, is scored too but never steers;
4. allocate the next round. Each stratum ``h`` is tied to the label its runs carry (its own
   class: the most frequent label of its samples other than the no-event label; the
   no-event stratum's is the no-event label) and gets the validation error
   :math:`e_h = 1 - \\mathrm{recall}(\\mathrm{label}_h)` (a class the validation set lacks gets
   the mean error of the others). The target share of stratum ``h`` in the
   whole data set is

   .. math::

       \\pi_h = (1 - b) \\frac{e_h}{\\sum_k e_k} + b \\frac{1}{H}

   (``balance`` :math:`b`: class balance as a target, ``b = 1`` a balanced campaign), floored at
   ``min_share``; the round's runs go where the cumulative counts fall furthest short of
   :math:`\\pi_h (N + n)` (largest remainders, every stratum at least one run, so every weight
   stays finite).

**Weights stay exact.** Within a stratum every run is a draw from the natural law conditioned
on the stratum (:func:`~twinforge.events.sampling.sample_stratum`), whatever the round and the
allocation that chose how many; so with :math:`n_h` runs of stratum ``h`` in all rounds and
:math:`N = \\sum_h n_h`, the stratified weight :math:`w = P_h N / n_h` of every run
(Cochran 1977, *Sampling Techniques*, 3rd ed., Wiley, ch. 5) makes weighted means unbiased
for the natural law, as in a one-shot stratified campaign. The counterfactual member of a pair
(same machine, its events removed) is a draw of the no-event stratum's conditional law
(parameters from their natural law, no event) and is counted there; pairs are correlated,
which costs variance, not bias. :meth:`LoopResult.weights` gives the pooled weights; the
weights written in each round's dataset are that round's alone.

Each round is recorded (allocation, pairs, seeds, scores, confusion matrix) in
``out/loop.json``; with ``adapt=False`` the same rounds run with the campaign's own
``[classes]`` proportions: a plain campaign of the same total size, for comparison.

The twin's counterfactual pairs contrast an event with its absence: pairs are run only when
the most confused pair of classes includes the no-event class (otherwise the round records
why none ran). Allocation is by stratum (event class); errors concentrated along continuous
parameters (load, speed) are not targeted.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from twinforge.campaign.campaign import CampaignSpec
from twinforge.core.rng import RngStreams

__all__ = ["LoopSettings", "LoopResult", "closed_loop", "round_seed", "allocate", "read_loop", "read_validation",
           "summary_text", "MODELS"]

NO_EVENT = "none"


class LoopSettings(BaseModel):
    """The ``[loop]`` table of a campaign file (every field validated, with its range)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rounds: int = Field(4, ge=1, le=100, description="rounds of generation, training and scoring")
    runs_per_round: int = Field(12, ge=2, le=100_000, description="factual runs per round (pairs count twice)")
    features: tuple[str, ...] = Field(min_length=1, description="sample columns the model reads")
    label: str = Field("fault", description="sample column holding the class")
    relabel: dict[str, str] = Field(default_factory=dict, description="class renames, e.g. {'' = 'none'}")
    no_event_label: str = Field(NO_EVENT, description="the class of samples without any event")
    adapt: bool = Field(True, description="false: every round keeps the campaign's [classes] proportions")
    balance: float = Field(0.5, ge=0.0, le=1.0, description="weight of class balance in the target [1]")
    min_share: float = Field(0.05, ge=0.0, le=0.5, description="smallest target share of a stratum [1]")
    pairs_share: float = Field(0.0, ge=0.0, le=0.5, description="share of a round's runs spent on pairs [1]")
    validation_runs_per_class: int = Field(4, ge=1, le=10_000,
                                           description="runs per class of the synthetic validation campaign")
    validation: str = Field("synthetic", description="'synthetic' or a CSV file with the features and the label")
    model: str = Field("random_forest", description="built-in downstream model: 'random_forest'")

    @field_validator("model")
    @classmethod
    def _model(cls, v: str) -> str:
        if v not in MODELS:
            raise ValueError(f"unknown model {v!r}; known: {', '.join(MODELS)} (or pass an estimator from Python)")
        return v


def _random_forest(seed: int) -> Any:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    return make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True),
                         RandomForestClassifier(n_estimators=100, min_samples_leaf=2, class_weight="balanced",
                                                random_state=seed, n_jobs=1))


#: Built-in downstream models by name (``[loop] model = ...``): ``seed -> estimator``.
MODELS: dict[str, Callable[[int], Any]] = {"random_forest": _random_forest}


def round_seed(seed: int, index: int, part: str = "") -> int:
    """The root seed of round ``index`` (``part``: ``"pairs"``, ``"validation"``) (63 bits)."""
    name = f"loop/round/{index}" + (f"/{part}" if part else "")
    state = RngStreams(seed).seed_sequence(name).generate_state(1, np.uint64)
    return int(state[0] >> np.uint64(1))


def allocate(counts: Mapping[str, int], target: Mapping[str, float], n: int) -> dict[str, int]:
    """Runs per stratum for a round of ``n`` runs that moves ``counts`` towards ``target`` shares.

    The shortfall :math:`\\max(\\pi_h (N + n) - c_h, 0)` of each stratum is split into ``n``
    runs by largest remainders (:func:`twinforge.ml._allocate`), at least one run each when
    ``n`` allows; with no shortfall anywhere, by the target itself.
    """
    from twinforge.ml import _allocate

    names = list(target)
    tgt = np.array([max(float(target[h]), 0.0) for h in names])
    if tgt.sum() <= 0:
        raise ValueError("target shares must have a positive sum")
    tgt = tgt / tgt.sum()
    have = np.array([counts.get(h, 0) for h in names], dtype=float)
    need = np.maximum(tgt * (have.sum() + n) - have, 0.0)
    frac = need if need.sum() > 0 else tgt
    if n >= len(names):
        frac = frac + 1e-9  # every stratum keeps a run: no weight becomes infinite
    counts_out = _allocate(n, frac)
    return {h: int(k) for h, k in zip(names, counts_out)}


@dataclass
class LoopResult:
    """The outcome of :func:`closed_loop`: per-round records, the pooled samples and runs."""

    rounds: list[dict[str, Any]]
    samples: pd.DataFrame = field(repr=False)
    runs: pd.DataFrame = field(repr=False)
    probabilities: dict[str, float]
    info: dict[str, Any]
    #: the folder it was written to (``out`` of :func:`closed_loop`)
    folder: Path | None = None

    def scores(self, which: str = "validation") -> pd.DataFrame:
        """One row per round: total runs, balanced accuracy and recall per class on ``which``
        (``"validation"`` or ``"report"``)."""
        rows = []
        for r in self.rounds:
            s = r["scores"].get(which)
            if s is None:
                continue
            rows.append({"round": r["round"], "runs": r["runs_total"], "balanced_accuracy": s["balanced_accuracy"],
                         **{f"recall_{k}": v for k, v in s["recall"].items()}})
        return pd.DataFrame(rows)

    def weights(self) -> pd.DataFrame:
        """Every run with its pooled stratified weight :math:`P_h N / n_h` (see the module)."""
        return self.runs.copy()

    def to_json(self) -> dict[str, Any]:
        return {"info": self.info, "probabilities": self.probabilities, "rounds": self.rounds}


def _predictor(model: Any, x: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    if hasattr(model, "fit") and hasattr(model, "predict"):
        from sklearn.base import clone

        fitted = clone(model).fit(x, y)
        return fitted.predict
    out = model(x, y)
    if hasattr(out, "predict"):
        return out.predict
    if callable(out):
        return out
    raise TypeError("model must be a scikit-learn estimator or a callable (X, y) -> predictor or predict function")


def _score(predict: Callable[[np.ndarray], np.ndarray], frame: pd.DataFrame, features: Sequence[str],
           label: str) -> dict[str, Any]:
    from sklearn.metrics import confusion_matrix

    y = frame[label].astype(str).to_numpy()
    p = np.asarray(predict(frame[list(features)].to_numpy(dtype=float))).astype(str)
    labels = sorted(set(y) | set(p))
    cm = confusion_matrix(y, p, labels=labels)
    present = [i for i, c in enumerate(labels) if cm[i].sum() > 0]
    recall = {labels[i]: float(cm[i, i] / cm[i].sum()) for i in present}
    return {"balanced_accuracy": float(np.mean(list(recall.values()))), "recall": recall,
            "labels": labels, "confusion": cm.tolist(), "n": int(len(y))}


def _most_confused(score: Mapping[str, Any]) -> tuple[str, str, float] | None:
    labels, cm = score["labels"], np.asarray(score["confusion"], dtype=float)
    rates = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1.0)
    best = None
    for i in range(len(labels)):
        for j in range(i + 1, len(labels)):
            r = rates[i, j] + rates[j, i]
            if r > 0 and (best is None or r > best[2]):
                best = (labels[i], labels[j], float(r))
    return best


def _stratum_labels(samples: pd.DataFrame, strata: Sequence[str], label: str, none_label: str) -> dict[str, str]:
    out = {}
    for h in strata:
        lab = samples.loc[samples["stratum"] == h, label].astype(str)
        if h == NO_EVENT:
            out[h] = none_label
            continue
        own = lab[lab != none_label]
        out[h] = own.value_counts().index[0] if len(own) else none_label
    return out


def _sub_campaign(campaign: CampaignSpec, classes: Mapping[str, int], seed: int, *, pairs: bool) -> CampaignSpec:
    data = campaign.to_json_dict()
    data.pop("runs", None)
    data.update(seed=seed, sampler="stratified", counterfactual=pairs, design=None, proposal={},
                classes={h: int(k) for h, k in classes.items() if k > 0})
    return CampaignSpec.from_json_dict(data)


def _read(folder: Path, features: Sequence[str], label: str, relabel: Mapping[str, str], tag: str
          ) -> tuple[pd.DataFrame, pd.DataFrame]:
    from twinforge.export import open_dataset

    ds = open_dataset(folder)
    runs = ds.runs[["run_id", "stratum", "counterfactual", "pair_id"]].copy()
    runs["stratum"] = np.where(runs["counterfactual"], NO_EVENT, runs["stratum"])  # the pair's no-event member
    runs.insert(0, "dataset", tag)
    s = ds.samples(columns=[*features, label])
    s[label] = s[label].astype(str).replace(dict(relabel))
    s = s.merge(runs[["run_id", "stratum"]], on="run_id", how="left")
    s.insert(0, "dataset", tag)
    return s, runs


def _run(campaign: CampaignSpec, folder: Path, workers: int) -> None:
    from twinforge.campaign.executor import run_campaign

    mode = "resume" if (folder / "manifest.json").exists() else "create"
    run_campaign(campaign, folder, workers=workers, mode=mode, progress=False)


def _write_json(path: Path, data: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps(data, indent=1, sort_keys=True, default=float) + "\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def closed_loop(
    campaign: CampaignSpec,
    out: str | Path,
    settings: LoopSettings,
    *,
    model: Any = None,
    validation: pd.DataFrame | None = None,
    report: pd.DataFrame | None = None,
    seed: int | None = None,
    workers: int = 1,
) -> LoopResult:
    """Run the loop of the module docstring; write ``out/round_<r>[_pairs]`` and ``out/loop.json``.

    Parameters
    ----------
    campaign : CampaignSpec
        A stratified campaign (``[classes]``: its strata and, with ``adapt=False``, their
        proportions); its ``runs`` are not used (the loop sets them per round).
    out : path
        Folder of the round datasets and ``loop.json`` (rounds already written are resumed).
    settings : LoopSettings
        Rounds, runs per round, features, label, balance, pairs, ...
    model : estimator or callable, optional
        A scikit-learn estimator (cloned each round) or ``f(X, y)`` returning a fitted
        object with ``predict`` or a predict function. Default: ``settings.model``.
    validation : DataFrame, optional
        Samples with the features and the label that steer the allocation (synthetic or
        real). Default: a stratified validation campaign of ``validation_runs_per_class``
        runs per class, seeded apart (``out/validation``).
    report : DataFrame, optional
        Samples scored after each round and never used to allocate (real held-out data).
    seed : int, optional
        Root seed (default: the campaign's).

    Raises
    ------
    ValueError
        Not a stratified campaign, or a feature or label missing from the given sets.
    """
    if campaign.sampler != "stratified" or not campaign.classes:
        raise ValueError("loop: needs a stratified campaign (sampler = 'stratified' with [classes])")
    if seed is None:
        seed = campaign.scenario.seed
    seed = RngStreams(seed).seed  # none given: fresh entropy, recorded in loop.json
    feats, label = list(settings.features), settings.label
    for name, frame in (("validation", validation), ("report", report)):
        if frame is not None:
            missing = [c for c in [*feats, label] if c not in frame.columns]
            if missing:
                raise ValueError(f"loop: the {name} set has no column {missing[0]!r}")
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    model = MODELS[settings.model](seed) if model is None else model
    strata = list(campaign.classes)
    from twinforge.events.sampling import stratum_probabilities

    s = campaign.scenario
    probs = {h: float(p) for h, p in stratum_probabilities(campaign.events, s.start, s.days).items() if h in strata}

    if validation is None:
        vc = _sub_campaign(campaign, {h: settings.validation_runs_per_class for h in strata},
                           round_seed(seed, 0, "validation"), pairs=False)
        _run(vc, root / "validation", workers)
        validation, _ = _read(root / "validation", feats, label, settings.relabel, "validation")
        val_source = "synthetic"  # in <out>/validation (loop.json holds no path: same seed, same bytes)
    else:
        validation = validation.assign(**{label: validation[label].astype(str).replace(dict(settings.relabel))})
        val_source = "given"
    if report is not None:
        report = report.assign(**{label: report[label].astype(str).replace(dict(settings.relabel))})

    plain = {h: campaign.classes[h] / sum(campaign.classes.values()) for h in strata}
    samples: list[pd.DataFrame] = []
    runs: list[pd.DataFrame] = []
    counts = {h: 0 for h in strata}
    rounds: list[dict[str, Any]] = []
    target = dict(plain)
    last_score: dict[str, Any] | None = None
    for r in range(settings.rounds):
        n = settings.runs_per_round
        pair_note, pair_classes = "pairs_share = 0", {}
        if settings.pairs_share > 0 and settings.adapt and last_score is not None:
            conf = _most_confused(last_score)
            lab_of = _stratum_labels(pd.concat(samples), strata, label, settings.no_event_label)
            if conf is None:
                pair_note = "no confusion on the validation set"
            elif settings.no_event_label not in conf[:2]:
                pair_note = (f"most confused {conf[0]} / {conf[1]}: the twin's pairs contrast an event with its "
                             "absence, so no pair for two event classes")
            else:
                other = conf[1] if conf[0] == settings.no_event_label else conf[0]
                hs = [h for h in strata if h != NO_EVENT and lab_of.get(h) == other]
                k = int(round(settings.pairs_share * n / 2))
                if hs and k >= 1:
                    pair_classes = {hs[0]: k}
                    n -= 2 * k
                    pair_note = f"{k} pair(s) of {hs[0]}: most confused {conf[0]} / {conf[1]} ({conf[2]:.3f})"
        alloc = allocate(counts, target if settings.adapt else plain, n)
        tag = f"round_{r:02d}"
        _run(_sub_campaign(campaign, alloc, round_seed(seed, r), pairs=False), root / tag, workers)
        smp, rn = _read(root / tag, feats, label, settings.relabel, tag)
        samples.append(smp)
        runs.append(rn)
        if pair_classes:
            ptag = f"{tag}_pairs"
            _run(_sub_campaign(campaign, pair_classes, round_seed(seed, r, "pairs"), pairs=True), root / ptag, workers)
            smp, rn = _read(root / ptag, feats, label, settings.relabel, ptag)
            samples.append(smp)
            runs.append(rn)
        all_runs = pd.concat(runs, ignore_index=True)
        counts = {h: int((all_runs["stratum"] == h).sum()) for h in strata}
        pooled = pd.concat(samples, ignore_index=True)
        predict = _predictor(model, pooled[feats].to_numpy(dtype=float), pooled[label].astype(str).to_numpy())
        scores = {"validation": _score(predict, validation, feats, label)}
        if report is not None:
            scores["report"] = _score(predict, report, feats, label)
        last_score = scores["validation"]
        lab_of = _stratum_labels(pooled, strata, label, settings.no_event_label)
        known = {h: 1.0 - last_score["recall"][lab_of[h]] for h in strata if lab_of[h] in last_score["recall"]}
        mean_e = float(np.mean(list(known.values()))) if known else 0.0
        errors = {h: known.get(h, mean_e) for h in strata}  # a class absent from validation: the mean error
        total_e = sum(errors.values())
        target = {h: (1 - settings.balance) * (errors[h] / total_e if total_e > 0 else 1 / len(strata))
                  + settings.balance / len(strata) for h in strata}
        target = {h: max(v, settings.min_share) for h, v in target.items()}
        rounds.append({
            "round": r, "seed": round_seed(seed, r), "allocation": alloc, "pairs": pair_classes,
            "pairs_note": pair_note, "runs_total": int(len(all_runs)), "counts": counts,
            "stratum_labels": lab_of, "errors": errors, "next_target": target, "scores": scores,
        })
        n_total = sum(counts.values())
        all_runs["weight"] = [probs[h] * n_total / counts[h] for h in all_runs["stratum"]]
        result = LoopResult(rounds, pooled, all_runs, probs, {
            "campaign": campaign.name, "seed": seed, "settings": settings.model_dump(mode="json"),
            "strata": strata, "validation": val_source, "report": report is not None,
            "model": getattr(model, "__name__", type(model).__name__),
        }, root)
        _write_json(root / "loop.json", result.to_json())
    return result


def read_loop(path: str | Path) -> LoopSettings | None:
    """The ``[loop]`` table of a campaign file, validated (None when the file has none).

    Raises :class:`~twinforge.campaign.spec.SpecError` with one line per problem, naming
    the field (``loop.rounds: ...``) and its allowed range.
    """
    from pydantic import ValidationError

    from twinforge.campaign.campaign import campaign_path
    from twinforge.campaign.spec import SpecError, format_validation_error, read_toml

    data, source = read_toml(campaign_path(path), "campaign")
    table = data.get("loop")
    if table is None:
        return None
    if not isinstance(table, dict):
        raise SpecError(f"{source}loop: must be a table ([loop] rounds = ...), got {table!r}")
    try:
        return LoopSettings.model_validate(table)
    except ValidationError as e:
        raise SpecError(format_validation_error(e, source, prefix="loop.", model=LoopSettings)) from None


def read_validation(settings: LoopSettings, campaign_file: str | Path) -> pd.DataFrame | None:
    """The validation set a ``[loop]`` names: None for ``"synthetic"``, else its CSV file
    (relative to the campaign file), checked for the features and the label."""
    from twinforge.campaign.spec import SpecError

    if settings.validation == "synthetic":
        return None
    path = Path(settings.validation)
    if not path.is_absolute():
        path = Path(campaign_file).resolve().parent / path
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as e:
        raise SpecError(f"loop.validation: cannot read {path} ({e}); allowed: 'synthetic' or a CSV file") from None
    missing = [c for c in [*settings.features, settings.label] if c not in frame.columns]
    if missing:
        raise SpecError(f"loop.validation: {path} has no column {missing[0]!r}")
    return frame


def summary_text(result: LoopResult) -> str:
    """A few lines: one per round (runs so far, allocation, balanced accuracy)."""
    val = result.info["validation"]
    if val == "synthetic" and result.folder is not None:
        val = f"synthetic: {result.folder / 'validation'}"
    lines = [f"closed loop: {len(result.rounds)} round(s), {len(result.runs)} runs, validation {val}"]
    for r in result.rounds:
        acc = r["scores"]["validation"]["balanced_accuracy"]
        rep = r["scores"].get("report")
        pairs = f" + pairs {r['pairs']}" if r["pairs"] else ""
        lines.append(f"  round {r['round']}: {r['runs_total']} runs, allocation {r['allocation']}{pairs}; "
                     f"validation balanced accuracy {acc:.3f}"
                     + (f", report {rep['balanced_accuracy']:.3f}" if rep else ""))
    return "\n".join(lines)
