"""Rare events: adaptive importance sampling on a simulated outcome, against plain Monte Carlo.

    python benchmarks/bench_rare.py [--out benchmarks/output/rare] [--truth-histories 2000000]
                                    [--truth-groups 20] [--truth-bank 2000] [--repeats 20]
                                    [--max-runs 3000] [--workers 2] [--skip-throughput]
    python benchmarks/bench_rare.py --method subset [--runs-per-level 500] [--p0 0.1] [--repeats 20]
    python benchmarks/bench_rare.py --method subset --throughput-only [--workers 2] [--runs-per-level 500]
    python benchmarks/bench_rare.py --method latent-ce --max-runs 6000 [--components 3 --reuse] [--repeats 20]

The truth (2,000,000 event histories crossed with 40,000 weather paths, relative standard
error about 4 %) takes about 15 minutes on 2 cores and is cached; each adaptive campaign
takes a minute or two of one core.

1. The outcome: the peak outdoor air temperature of a home twin over a 3-day window opening
   on 15 July (the ``home_heat_wave`` example campaign: heat waves at 2 a year, hourly
   samples), as the twin simulates it: the weather generator (climatology, diurnal cycle,
   synoptic Ornstein-Uhlenbeck anomaly) plus the heat waves that start in the window or are
   already going on when it opens, overlapping waves combined into one spell. The event
   of interest is a peak above X = 39.0 degC, chosen from a pilot (60,000 natural event
   histories, each paired with 32 of 600 weather paths, seed 999, not reused) as a level
   exceeded about once in a thousand windows. Its probability depends on the weather noise,
   the timing of the waves within the window and their overlap, not only on the sampled
   severities. The benchmark checks, on three plans, that its evaluation equals the full
   home twin's outdoor temperature, and that weather path + combined event anomaly (the
   truth's decomposition) equals it too. Windows without any heat wave never reach it
   (0 of 4,000 weather paths; their 99.9 % quantile is about 35.6 degC): the outcome needs
   a heat wave AND a hot weather path.
2. The truth: independent Monte Carlo under the natural law, without any proposal or
   weight. The weather path (the expensive part: climatology, diurnal cycle, OU anomaly)
   and the event history are independent, so each of 20 independent groups simulates a
   bank of 2,000 weather paths and pairs each of its natural event histories (drawn with
   the natural models' own samplers) with 64 paths of its bank: a crossed design, unbiased
   like plain Monte Carlo, whose standard error comes from the spread of the 20 group
   estimates (t interval). Computed once and cached in OUT/truth-<key>.json (delete it to
   recompute).
3. The cross-entropy method (twinforge.campaign.adaptive.cross_entropy) on the same
   campaign: adaptive stages of 200 runs, final batches of 300 until the coefficient of
   variation is 10 % or MAX_RUNS runs are spent; once with the event marks only (seed 1),
   then REPEATS independent campaigns (seeds 1..REPEATS) that also adapt the weather
   generator's own draws (adapt_weather=True), once per tilt family, same seeds:
   ``daily`` (a shift of the initial temperature anomaly, of each day's anomaly innovations
   and of each day's clear-sky index), ``impulse`` (a mixture over the peak hour of shifts
   along the anomaly's impulse response, clear-sky index as before) and
   ``impulse-defensive`` (the same with the natural anomaly law as a 10 % component); exact
   weights in all. Every campaign gives two estimates from the same runs: the final
   batches only (the default estimator, unbiased) and the deterministic mixture of all
   stages' runs (estimator="mixture"; its coefficient of variation drives the stopping
   rule, which in practice never fires before the budget). For each: the relative error
   against the truth, the runs, and the runs plain Monte Carlo would need for the same
   coefficient of variation, (1 - p) / (p cov^2). Over the repeats, per family and
   estimator: the share of 95 % intervals that cover the truth, the mean and RMS relative
   errors, the share within 10 %, the median gain, the median SD of ln w over the final
   batches' hits, and the repeats' estimates pooled.
   With ``--method subset``, step 3 is subset simulation instead
   (twinforge.campaign.subset.subset_simulation, RUNS_PER_LEVEL runs per level, P0): REPEATS
   independent campaigns (seeds 1..REPEATS) on the same outcome, against the same truth;
   the same summary (coverage of the 95 % intervals, mean and RMS relative errors, share
   within 10 %, median gain (1 - p) / (p cov^2) / runs with the estimator's own CoV), plus
   the gain at the repeats' empirical relative spread, the chains' acceptance and
   correlation factor gamma; each campaign is kept in OUT/subset_runs.jsonl. Steps 4-5 are
   skipped.
   With ``--method latent-ce``, step 3 is cross-entropy importance sampling with a Gaussian
   mean shift (``--components K``: a mixture) of the same latent standard normals
   (twinforge.campaign.latent.latent_cross_entropy, RUNS_PER_STAGE runs per stage, final
   batches of BATCH, ``--shrinkage``, ``--smoothing``, ``--reuse``, MAX_RUNS): REPEATS
   campaigns (seeds 1..REPEATS), the same summary (with the median SD of ln w over the final
   batches' hits) plus the gain at the empirical spread; kept in OUT/latent_runs.jsonl.
4. The hand-set proposal of the example grid campaign (heat waves x4, half the severities
   above 7 K) and the onset rate x3 alone, on the same outcome: variance reduction per run
   against plain Monte Carlo, p(1 - p) / var(w 1{Y > X}).
5. Campaign throughput (1 worker, 2 local processes, a 2-worker Dask LocalCluster).
   With ``--method subset``: one subset simulation (seed 1, N = RUNS_PER_LEVEL, P0, at most
   3 levels) whose runs go through the full home twin
   (twinforge.campaign.latent.plan_simulator, the samples column temp_outdoor_c), once in
   this process and once on WORKERS local worker processes, side by side: wall time, runs
   per second, CPU seconds (this process plus its fork server and workers, from /proc: the
   pool's start-up and pickling overhead, whatever the load), the ratios, and a check that
   both give the same levels bit for bit; on the benchmark's window (runs of a few ms) and
   on 14 days at 1 min (runs about 3x longer). On a shared host, CPU time is shared between
   sessions (Linux autogroups), not processes: more workers get more of it only when the
   cores are free.
   ``--throughput-only`` runs this part alone (no truth, no repeats).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import tempfile
import time
from multiprocessing import get_context
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

THRESHOLD_C = 39.0
RUNS_PER_STAGE = 200
BATCH = 300
TARGET_COV = 0.1
WINDOW = {"days": 3, "start": "2024-07-15", "period": "1h"}
TRUTH_CHUNK = 5_000


# --------------------------------------------------------------------------- the outcome


def _campaign(runs: int = 100, **over):
    from twinforge.campaign.campaign import load_campaign

    return load_campaign("home_heat_wave", runs=runs, **{**WINDOW, **over})


def _holder(weather):
    """What an event's ``apply`` needs of a twin: its log, its event state, the weather as target."""
    from twinforge.core.eventlog import EventLog

    return SimpleNamespace(weather=weather, log=EventLog(), event_state={},
                           target=lambda name: {"ambient_temperature": weather}[name])


def outdoor_peak(config, events, start, days, streams) -> float:
    """Peak outdoor air temperature [degC] of a home run: its weather with the events applied.

    Exactly what the home twin does (``Weather(cfg.weather, start, streams.generator("weather"))``,
    then each event's ``apply``), without the rest of the home.
    """
    from twinforge.core.registry import EVENTS
    from twinforge.processes.weather import Weather

    weather = Weather(config.weather, start, streams.generator("weather"))
    holder = _holder(weather)
    for ev in events:
        t0 = (ev.start - start).total_seconds()
        EVENTS.get(ev.type)().apply(holder, t0, t0 + ev.duration_h * 3600.0, ev.severity, **ev.params)
    t = np.arange(0.0, days * 86_400.0, 3600.0)
    return float(np.max(weather.temp_c(t)))


def plan_outcome(spec, plan) -> float:
    from twinforge.core.rng import RngStreams

    streams = RngStreams(plan.seed).child(f"run/{plan.stream_id}")
    return outdoor_peak(plan.config, tuple(spec.events) + tuple(plan.events), spec.start, spec.days, streams)


def simulate(stage, seed, label, plans) -> np.ndarray:
    return np.array([plan_outcome(stage.scenario, p) for p in plans])


def check_against_the_twin(n: int = 3) -> None:
    """The outcome equals the home twin's own outdoor temperature on plans with events."""
    import simpy

    from twinforge.campaign.campaign import plan_campaign
    from twinforge.campaign.runner import build_twin

    c = _campaign(runs=200)
    checked = 0
    for plan in plan_campaign(c, 5):
        if not plan.events:
            continue
        twin = build_twin(c.scenario, plan)
        twin.start(simpy.Environment(), c.scenario.grid())
        t = np.arange(0.0, c.scenario.days * 86_400.0, 3600.0)
        full = float(np.max(twin.weather.temp_c(t)))
        assert abs(full - plan_outcome(c.scenario, plan)) < 1e-9, (full, plan_outcome(c.scenario, plan))
        from twinforge.core.rng import RngStreams
        from twinforge.processes.weather import Weather

        base = Weather(plan.config.weather, c.scenario.start,
                       RngStreams(plan.seed).child(f"run/{plan.stream_id}").generator("weather")).temp_c(t)
        assert abs(full - float(np.max(base + _anomaly(plan.events, c.scenario.start, t)))) < 1e-9
        checked += 1
        if checked == n:
            return
    raise AssertionError("no plan with events to check")


# --------------------------------------------------------------------------- the truth


class _Anomalies:
    """Collects the anomaly functions events register (the ``add_anomaly`` side of a Weather)."""

    def __init__(self) -> None:
        self.fns: list = []

    def add_anomaly(self, fn) -> None:
        self.fns.append(fn)


def _natural_histories(c, n: int, rng: np.random.Generator) -> list[list]:
    """``n`` independent event histories of the window under the natural law.

    The natural models' own samplers draw all events of the batch at once (Poisson counts,
    onsets, durations, severities, and the events in progress as a Poisson(n Lambda_c) total
    dealt uniformly, i.e. Poisson(Lambda_c) per history), then deal them to the histories.
    """
    from twinforge.events.base import ScheduledEvent

    s = c.scenario
    per: list[list] = [[] for _ in range(n)]
    for name in sorted(c.events):
        m = c.events[name]
        counts = rng.poisson(m.expected_count(s.start, s.days), size=n)
        window = m._assemble(int(counts.sum()), s.start, s.days, rng)
        rng.shuffle(window)  # _assemble sorts by onset: deal the events to histories at random
        for k, e in zip(np.repeat(np.arange(n), counts), window):
            per[k].append(e)
        for e in m.sample_in_progress(s.start, rng, n=int(rng.poisson(m.in_progress_count(s.start) * n))):
            per[int(rng.integers(n))].append(e)
    return [
        [ScheduledEvent(type=e["type"], start=e["start"], duration_h=min(e["duration_h"], 8784.0),
                        severity=e["severity"], params=e.get("params", {})) for e in sorted(h, key=lambda e: e["start"])]
        for h in per
    ]


def _anomaly(events, start, t: np.ndarray) -> np.ndarray:
    """The combined event anomaly [K] at ``t``: each event's ``apply``, then ``combine_anomalies``."""
    from twinforge.core.registry import EVENTS
    from twinforge.processes.weather import combine_anomalies

    holder = _holder(_Anomalies())
    for ev in events:
        t0 = (ev.start - start).total_seconds()
        EVENTS.get(ev.type)().apply(holder, t0, t0 + ev.duration_h * 3600.0, ev.severity, **ev.params)
    return combine_anomalies([np.broadcast_to(fn(t), t.shape) for fn in holder.weather.fns])


def _truth_group(args) -> float:
    """One independent replicate of the truth: a bank of weather paths, event histories paired with them.

    The weather paths (``Weather.temp_c`` without events: climatology, diurnal cycle, OU
    anomaly) and the event histories are independent under the natural law, so each history
    is paired with ``pairs`` paths drawn from the group's bank; a history without events
    counts the bank's share of paths above the threshold. Returns the group's estimate.
    """
    g, n_hist, bank_size, pairs, seed = args
    from twinforge.core.rng import RngStreams
    from twinforge.processes.weather import Weather

    c = _campaign()
    s = c.scenario
    root = RngStreams(seed).child(f"group/{g}")
    t = np.arange(0.0, s.days * 86_400.0, 3600.0)
    bank = np.array([Weather(s.config.weather, s.start, root.child(f"weather/{m}").generator("weather")).temp_c(t)
                     for m in range(bank_size)])
    quiet = float(np.mean(bank.max(axis=1) > THRESHOLD_C))
    rng = root.generator("events")
    total = 0.0
    for events in _natural_histories(c, n_hist, rng):
        if not events:
            total += quiet
            continue
        a = _anomaly(events, s.start, t)
        idx = rng.integers(bank_size, size=pairs)
        total += float(np.mean((bank[idx] + a).max(axis=1) > THRESHOLD_C))
    return total / n_hist


def truth(out: Path, n_hist: int, workers: int, seed: int = 20240715, groups: int = 20,
          bank_size: int = 2000, pairs: int = 64) -> dict:
    c = _campaign()
    data = c.to_json_dict()
    data["home"]["weather"].pop("tilt", None)  # None: the natural weather (the key predates the field)
    key = hashlib.sha256(json.dumps(
        {"campaign": data, "threshold": THRESHOLD_C, "n": n_hist, "seed": seed, "groups": groups,
         "bank": bank_size, "pairs": pairs, "version": 4}, sort_keys=True, default=str).encode()).hexdigest()[:12]
    path = out / f"truth-{key}.json"
    if path.exists():
        return json.loads(path.read_text())
    t0 = time.perf_counter()
    args = [(g, n_hist // groups, bank_size, pairs, seed) for g in range(groups)]
    with get_context("forkserver").Pool(workers) as pool:
        est = np.array(pool.map(_truth_group, args, chunksize=1))
    p = float(est.mean())
    se = float(est.std(ddof=1) / math.sqrt(groups))
    q = float(stats_t_quantile(groups - 1))
    res = {"n_histories": n_hist, "weather_paths": groups * bank_size, "pairs": pairs, "groups": groups,
           "p": p, "std_error": se, "ci_low": p - q * se, "ci_high": p + q * se, "group_estimates": est.tolist(),
           "seconds": time.perf_counter() - t0, "workers": workers, "load_average": os.getloadavg()}
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(res, indent=1) + "\n")
    return res


def stats_t_quantile(dof: int) -> float:
    from scipy import stats

    return float(stats.t.isf(0.025, dof))


# --------------------------------------------------------------------------- cross-entropy


def _one_ce(args: tuple) -> dict:
    """One adaptive campaign; the deterministic mixture of all stages and the final batches'
    estimate both come from its runs (the stopping rule uses the mixture's CoV)."""
    from twinforge.campaign.adaptive import cross_entropy

    seed, max_runs, weather, family = args
    t0 = time.perf_counter()
    r = cross_entropy(_campaign(), simulate, THRESHOLD_C, seed=seed, runs_per_stage=RUNS_PER_STAGE, batch=BATCH,
                      target_cov=TARGET_COV, max_runs=max_runs, adapt_weather=weather, estimator="mixture",
                      **FAMILY_KW[family])
    out = {"seed": seed, "max_runs": max_runs, "weather": weather, "family": family, "runs": r.runs,
           "stages": len(r.stages), "stopped": r.stopped, "seconds": time.perf_counter() - t0, "text": r.text(),
           "notes": list(r.notes)}
    final = [st for st in r.stages if st.final]
    hit_w = np.concatenate([st.weights[st.values > THRESHOLD_C] for st in final])
    for name, e in (("final", r.final_estimate), ("mixture", r.estimate)):
        out[name] = {"value": e.value, "ci_low": e.ci_low, "ci_high": e.ci_high, "std_error": e.std_error,
                     "n": e.n, "hits": e.hits, "ess": e.ess}
    out["final"]["log_w_sd_hits"] = float(np.std(np.log(hit_w), ddof=1)) if hit_w.size > 1 else math.nan
    return out


def _gain(p: float, runs: float, cov: float) -> float:
    """Runs plain Monte Carlo needs for the coefficient of variation ``cov``, over ``runs``."""
    return (1 - p) / (p * cov**2) / runs


def _print_truth(tr: dict) -> None:
    print(f"   truth: p = {tr['p']:.4g} +/- {tr['std_error']:.2g} (95 % CI {tr['ci_low']:.4g} .. {tr['ci_high']:.4g})")


def _logged_campaigns(log: Path, jobs: list[tuple], key, one, workers: int) -> dict:
    """Each job's result, by its job tuple: the ones LOG holds (one JSON line per campaign, kept
    across restarts), then the rest run by ``one`` in a pool and appended as they finish."""
    have = {}
    if log.exists():
        for line in log.read_text().splitlines():
            r = json.loads(line)
            have[key(r)] = r
    todo = [j for j in jobs if j not in have]
    with get_context("forkserver").Pool(workers) as pool, log.open("a") as f:
        for r in pool.imap_unordered(one, todo, chunksize=1):
            f.write(json.dumps(r) + "\n")
            f.flush()
            have[key(r)] = r
    return have


def adaptive(out: Path, tr: dict, repeats: int, workers: int, max_runs: int, families=None) -> None:
    _print_truth(tr)
    t0 = time.perf_counter()
    families = FAMILIES if families is None else tuple(families)
    jobs = [(1, max_runs, False, "daily")] + [
        (s, max_runs, True, fam) for s in range(1, max(repeats, 1) + 1) for fam in families]
    have = _logged_campaigns(out / f"adaptive_runs-{max_runs}.jsonl", jobs,
                             lambda r: (r["seed"], r["max_runs"], r["weather"], r["family"]), _one_ce, workers)
    seconds = time.perf_counter() - t0
    for fam in families:
        print(f"   -- weather tilt family {fam!r} ({FAMILY_TEXT[fam]})")
        summarise(out, tr, [have[jobs[0]]] + [have[j] for j in jobs[1:] if j[3] == fam], seconds, fam,
                  first=fam == families[0])


FAMILIES = ("daily", "impulse", "impulse-defensive")
FAMILY_TEXT = {"daily": "one shift of the anomaly innovations per day",
               "impulse": "a mixture over the peak hour of shifts along the anomaly's impulse response",
               "impulse-defensive": "the same mixture with the natural anomaly law as a 10 % component"}
FAMILY_KW = {"daily": {"weather_family": "daily"}, "impulse": {"weather_family": "impulse", "weather_defensive": 0.0},
             "impulse-defensive": {"weather_family": "impulse", "weather_defensive": 0.1}}
ESTIMATORS = {"final": "final batches only", "mixture": "deterministic mixture of all stages' runs"}


def summarise(out: Path, tr: dict, done: list[dict], seconds: float, family: str = "daily",
              first: bool = True) -> None:
    """Print the events-only campaign (``done[0]``) and the repeats with the weather (``done[1:]``),
    for each estimator."""
    p = tr["p"]
    events_only, reps = done[0], done[1:]
    repeats = len(reps)
    show = [("event marks + weather draws (seed 1)", reps[0])] if reps else []
    if first:
        show.insert(0, ("event marks only (seed 1)", events_only))
    for label, r in show:
        lines = r["text"].splitlines()
        adapt = [ln for ln in lines[1:] if "(adapt," in ln]
        final = [ln for ln in lines[1:] if "(final," in ln]
        print(f"   {label}:")
        print("\n".join(["   " + lines[0], *adapt, *final[:1]]))
        if len(final) > 1:
            print(f"    ... {len(final) - 1} more final batches of the same proposal")
        for note in r["notes"]:
            print(f"   note: {note}")
        for name in ESTIMATORS:
            e = r[name]
            cov = e["std_error"] / e["value"] if e["value"] > 0 else math.inf
            print(f"   -> {name}: {e['value']:.4g}, relative error {e['value'] / p - 1:+.1%}, {r['runs']:,} runs, "
                  f"CoV {cov:.3f}; plain MC needs {_gain(p, r['runs'], cov):.1f}x more runs for the same CoV")
    for name in ESTIMATORS if repeats else ():
        _summarise_repeats(tr, [{**r, **r[name]} for r in reps], seconds, f"{family}, {ESTIMATORS[name]}")
    if repeats:
        (out / f"adaptive_repeats-{family}.json").write_text(json.dumps(
            [{k: v for k, v in r.items() if k != "text"} for r in done], indent=1) + "\n")


def _summarise_repeats(tr: dict, reps: list[dict], seconds: float, label: str,
                       kind: str = "adaptive campaigns with the weather") -> None:
    p = tr["p"]
    repeats = len(reps)
    if repeats:
        covered = sum(r["ci_low"] <= p <= r["ci_high"] for r in reps)
        rel = np.array([r["value"] / p - 1 for r in reps])
        runs = np.array([r["runs"] for r in reps])
        covs = np.array([r["std_error"] / r["value"] if r["value"] > 0 else math.inf for r in reps])
        gains = np.array([_gain(p, n, c) for n, c in zip(runs, covs)])
        # all repeats pooled: the mean of independent unbiased estimates, its spread
        pooled = float(np.mean([r["value"] for r in reps]))
        pooled_se = float(np.std([r["value"] for r in reps], ddof=1) / math.sqrt(repeats)) if repeats > 1 else math.nan
        rv = np.array([c**2 * n for c, n in zip(covs, [r["n"] for r in reps])])  # relative variance per run used
        stops = sum(r["stopped"] == "run budget" for r in reps)
        lsd = [r["log_w_sd_hits"] for r in reps if "log_w_sd_hits" in r]
        lsd_text = f"; SD of ln w over the final batches' hits median {np.median(lsd):.2f}" if lsd else ""
        print(f"   [{label}] {repeats} independent {kind} (seeds 1..{repeats}; "
              f"{sum(r['seconds'] for r in reps):.0f} s of one core in all, load-inflated; {stops} stopped by the run "
              f"budget{lsd_text}): 95 % intervals cover the truth "
              f"{covered}/{repeats}; relative error mean {rel.mean():+.1%}, RMS {np.sqrt(np.mean(rel**2)):.1%}, "
              f"|error| <= 10 % in {np.mean(np.abs(rel) <= 0.10):.0%}; runs mean {runs.mean():,.0f} (max {runs.max():,}); "
              f"CoV median {np.median(covs):.3f}; plain MC at equal CoV: {np.median(gains):.1f}x more runs (median, "
              f"range {gains.min():.1f}-{gains.max():.1f}); relative variance per run used median {np.median(rv):.0f} "
              f"(plain MC {(1 - p) / p:.0f})")
        print(f"   the {repeats} estimates pooled: {pooled:.4g} +/- {pooled_se:.2g} ({pooled / p - 1:+.1%} from the truth)")


# --------------------------------------------------------------------------- subset simulation


def _one_subset(args: tuple) -> dict:
    """One subset simulation of the outcome (twinforge.campaign.subset.subset_simulation)."""
    from twinforge.campaign.subset import subset_simulation

    seed, n, p0, max_runs = args
    t0 = time.perf_counter()
    r = subset_simulation(_campaign(), simulate, THRESHOLD_C, seed=seed, runs_per_level=n, p0=p0, max_runs=max_runs)
    return {"seed": seed, "runs_per_level": n, "p0": p0, "max_runs": max_runs, "runs": r.runs,
            "levels": len(r.levels), "stopped": r.stopped, "seconds": time.perf_counter() - t0, "text": r.text(),
            "notes": list(r.notes), "value": r.value, "cov": r.cov, "cov_upper": r.cov_upper, "ci_low": r.ci_low,
            "ci_high": r.ci_high, "hits": r.hits,
            "acceptance": [lv.acceptance for lv in r.levels[1:]], "gamma": [lv.gamma for lv in r.levels]}


def subset(out: Path, tr: dict, repeats: int, workers: int, n: int, p0: float, max_runs: int) -> None:
    """REPEATS independent subset simulations (seeds 1..REPEATS) against the truth."""
    p = tr["p"]
    _print_truth(tr)
    t0 = time.perf_counter()
    jobs = [(s, n, p0, max_runs) for s in range(1, max(repeats, 1) + 1)]
    have = _logged_campaigns(out / "subset_runs.jsonl", jobs,
                             lambda r: (r["seed"], r["runs_per_level"], r["p0"], r["max_runs"]), _one_subset, workers)
    seconds = time.perf_counter() - t0
    reps = [have[j] for j in jobs]
    first = reps[0]
    print(f"   seed 1 ({n} runs per level, p0 = {p0:g}):")
    print("\n".join("   " + ln for ln in first["text"].splitlines()))
    for note in first["notes"]:
        print(f"   note: {note}")
    _summarise_repeats(tr, [{**r, "std_error": r["cov"] * r["value"], "n": r["runs"]} for r in reps], seconds,
                       f"subset simulation, N = {n}, p0 = {p0:g}", kind="subset simulations")
    v = np.array([r["value"] for r in reps])
    runs = np.array([r["runs"] for r in reps])
    emp = float(np.std(v, ddof=1) / p) if len(reps) > 1 else math.nan  # the repeats' own relative spread
    acc = [a for r in reps for a in r["acceptance"]]
    gam = [g for r in reps for g in r["gamma"][1:]]
    print(f"   empirical relative spread of the {len(reps)} estimates {emp:.3f} (estimator's CoV median "
          f"{np.median([r['cov'] for r in reps]):.3f}, its fully-correlated bound median "
          f"{np.median([r['cov_upper'] for r in reps]):.3f}); plain MC at the empirical spread: "
          f"{_gain(p, float(runs.mean()), emp):.1f}x more runs; levels {min(r['levels'] for r in reps)}-"
          f"{max(r['levels'] for r in reps)}; chains' acceptance median {np.median(acc):.2f}, gamma median "
          f"{np.median(gam):.2f}; {seconds:.0f} s wall")
    (out / f"subset_repeats-{n}.json").write_text(json.dumps(
        [{k: v for k, v in r.items() if k != "text"} for r in reps], indent=1) + "\n")


#: Levels at most of the subset simulation of the workers' throughput (5.).
THROUGHPUT_LEVELS = 3
#: Its windows: the benchmark's (runs of a few ms, as long as planning them) and a longer one.
THROUGHPUT_WINDOWS = (WINDOW, {"days": 14, "start": "2024-07-15", "period": "1min"})


def subset_throughput(workers: int, n: int, p0: float) -> None:
    """One subset simulation (N runs per level, p0) through the home twin, in this process and on WORKERS
    local processes (plan_simulator), per window: wall time side by side, the same levels bit
    for bit."""
    from bench_manifest import _descendants_cpu_s  # one /proc reader: this process's forkserver and workers

    from twinforge.campaign.latent import plan_simulator
    from twinforge.campaign.subset import subset_simulation

    kw = {"seed": 1, "runs_per_level": n, "p0": p0, "max_levels": THROUGHPUT_LEVELS}
    print(f"5. subset simulation through the home twin (plan_simulator, column temp_outdoor_c, {kw}), "
          f"1 vs {workers} worker processes, {os.cpu_count()} cores:")
    for window in THROUGHPUT_WINDOWS:
        rows = []
        for w in (1, workers):
            load = os.getloadavg()[0]
            t0, c0 = time.perf_counter(), time.process_time() + _descendants_cpu_s()
            with plan_simulator("temp_outdoor_c", workers=w) as sim:
                r = subset_simulation(_campaign(**window), sim, THRESHOLD_C, **kw)
                kind = sim.executor
                cpu = time.process_time() + _descendants_cpu_s() - c0  # the workers still alive
            rows.append((kind, r, time.perf_counter() - t0, load, cpu))
        (name1, r1, s1, _, c1), (name_w, rw, sw, _, cw) = rows
        same = r1.to_json() == rw.to_json() and all(
            a.values.tobytes() == b.values.tobytes() for a, b in zip(r1.levels, rw.levels, strict=True))
        print(f"   {window['days']} days at {window['period']}, {r1.runs} runs:")
        for kind, r, sec, load, cpu in rows:
            print(f"     {kind:12s} {sec:6.1f} s wall  {r.runs / sec:6.1f} runs/s  {cpu:6.1f} s CPU (parent + pool)  "
                  f"P = {r.value:.4g} (1-min load average before: {load:.2f})")
        print(f"     {name_w} / {name1}: {s1 / sw:.2f}x as fast, {cw / c1:.2f}x the CPU; same levels and estimate bit for "
              f"bit: {same}")
        if not same:
            raise SystemExit("the estimates differ between executors")


# --------------------------------------------------------------------------- cross-entropy in the latent space


def _one_latent(args: tuple) -> dict:
    """One cross-entropy campaign with a Gaussian mean shift in the latent space
    (twinforge.campaign.latent.latent_cross_entropy)."""
    from twinforge.campaign.latent import latent_cross_entropy

    seed, n, batch, shrinkage, smoothing, components, reuse, max_runs = args
    t0 = time.perf_counter()
    r = latent_cross_entropy(_campaign(), simulate, THRESHOLD_C, seed=seed, runs_per_stage=n, batch=batch,
                             shrinkage=shrinkage, smoothing=smoothing, components=components, reuse=reuse,
                             target_cov=TARGET_COV,
                             max_runs=max_runs)
    e = r.estimate
    return {"seed": seed, "runs_per_stage": n, "batch": batch, "shrinkage": shrinkage, "smoothing": smoothing,
            "components": components, "reuse": reuse, "max_runs": max_runs, "runs": r.runs, "stages": len(r.stages),
            "stopped": r.stopped,
            "seconds": time.perf_counter() - t0, "text": r.text(), "notes": list(r.notes), "value": e.value,
            "std_error": e.std_error, "ci_low": e.ci_low, "ci_high": e.ci_high, "n": e.n, "hits": e.hits, "ess": e.ess,
            "log_w_sd_hits": r.log_weight_sd_hits, "shift_norm": float(np.linalg.norm(r.shift)),
            "shifted": int(np.count_nonzero(r.shift))}


def latent(out: Path, tr: dict, repeats: int, workers: int, n: int, batch: int, shrinkage: float, smoothing: float,
           components: int, reuse: bool, max_runs: int) -> None:
    """REPEATS independent latent cross-entropy campaigns (seeds 1..REPEATS) against the truth."""
    p = tr["p"]
    _print_truth(tr)
    t0 = time.perf_counter()
    jobs = [(s, n, batch, shrinkage, smoothing, components, reuse, max_runs) for s in range(1, max(repeats, 1) + 1)]
    have = _logged_campaigns(out / "latent_runs.jsonl", jobs,
                             lambda r: (r["seed"], r["runs_per_stage"], r["batch"], r["shrinkage"], r["smoothing"],
                                        r["components"], r["reuse"], r["max_runs"]), _one_latent, workers)
    seconds = time.perf_counter() - t0
    reps = [have[j] for j in jobs]
    print(f"   seed 1 ({n} runs per stage, final batches of {batch}, shrinkage {shrinkage:g}, smoothing {smoothing:g}, "
          f"{components} component(s){', reusing every stage' if reuse else ''}):")
    print("\n".join("   " + ln for ln in reps[0]["text"].splitlines()))
    for note in reps[0]["notes"]:
        print(f"   note: {note}")
    label = (f"latent cross-entropy, {components} component(s), {n} runs per stage, shrinkage {shrinkage:g}, "
             f"smoothing {smoothing:g}{', reuse' if reuse else ''}, budget {max_runs}")
    _summarise_repeats(tr, reps, seconds, label, kind="latent cross-entropy campaigns")
    v = np.array([r["value"] for r in reps])
    runs = np.array([r["runs"] for r in reps])
    emp = float(np.std(v, ddof=1) / p) if len(reps) > 1 else math.nan
    print(f"   empirical relative spread of the {len(reps)} estimates {emp:.3f} (estimator's CoV median "
          f"{np.median([r['std_error'] / r['value'] if r['value'] > 0 else math.inf for r in reps]):.3f}); plain MC "
          f"at the empirical spread: {_gain(p, float(runs.mean()), emp):.1f}x more runs; |theta| median "
          f"{np.median([r['shift_norm'] for r in reps]):.2f} over a median {np.median([r['shifted'] for r in reps]):.0f} "
          f"shifted coordinates; stages {min(r['stages'] for r in reps)}-{max(r['stages'] for r in reps)}; "
          f"{seconds:.0f} s wall")
    name = f"latent_repeats-{components}-{n}-{shrinkage:g}-{smoothing:g}-{int(reuse)}-{max_runs}.json"
    (out / name).write_text(json.dumps([{k: v for k, v in r.items() if k != "text"} for r in reps], indent=1) + "\n")


def decompose(family: str, seed: int = 1, max_runs: int = 3000) -> None:
    """Where the spread of the hits' weights comes from: ln w = ln w_events + ln w_weather over
    the final batches' hits of one campaign (its weather ratio replayed from each run's stream)."""
    from twinforge.campaign.adaptive import cross_entropy
    from twinforge.campaign.campaign import plan_campaign
    from twinforge.core.rng import RngStreams

    r = cross_entropy(_campaign(), simulate, THRESHOLD_C, seed=seed, runs_per_stage=RUNS_PER_STAGE, batch=BATCH,
                      target_cov=TARGET_COV, max_runs=max_runs, adapt_weather=True, **FAMILY_KW[family])
    lw, lw_weather = [], []
    for k, st in enumerate(r.stages):
        if not st.final:
            continue
        for plan, y in zip(plan_campaign(r.stage_campaign(k), st.seed), st.values):
            if y > THRESHOLD_C:
                tilt = plan.config.weather.tilt
                lw.append(plan.log_weight)
                lw_weather.append(tilt.log_weight(RngStreams(plan.seed).child(f"run/{plan.stream_id}").generator("weather")))
    lw, lw_weather = np.array(lw), np.array(lw_weather)
    lw_events = lw - lw_weather
    print(f"   {family}, seed {seed}: {lw.size} hits in the final batches; SD of ln w {lw.std(ddof=1):.2f} = events "
          f"{lw_events.std(ddof=1):.2f} and weather {lw_weather.std(ddof=1):.2f} (correlation "
          f"{np.corrcoef(lw_events, lw_weather)[0, 1]:+.2f})")


def hand_set(tr: dict, n_runs: int = 1000) -> None:
    from twinforge.campaign.campaign import plan_campaign

    p = tr["p"]
    for label, prop in (
        ("example proposal (rate x4, half the severities above 7 K)",
         {"rate_factor": 4.0, "tail_threshold": 7.0, "tail_share": 0.5}),
        ("onset rate x3 alone", {"rate_factor": 3.0}),
    ):
        c = _campaign(runs=n_runs, sampler="importance", proposal={"heat_wave": prop})
        plans = plan_campaign(c, 3)
        y = np.array([plan_outcome(c.scenario, pl) for pl in plans]) > THRESHOLD_C
        w = np.array([pl.weight for pl in plans])
        v = float(np.var(w * y, ddof=1))
        est = float(np.mean(w * y))
        print(f"   {label}: estimate {est:.3g} ({int(y.sum())} hits in {n_runs}), "
              f"variance reduction per run {p * (1 - p) / v:.1f}" if v > 0 else f"   {label}: no hit")


# --------------------------------------------------------------------------- throughput


def throughput(n_runs: int) -> None:
    from twinforge.campaign.campaign import CampaignSpec
    from twinforge.campaign.executor import run_campaign

    c = CampaignSpec.from_data({
        "twin": "home", "runs": n_runs, "days": 2, "period": "15min", "start": "2024-07-20", "seed": 1,
        "events": {"heat_wave": {"rate_per_year": 5.0}},
    })
    tmp = Path(tempfile.mkdtemp(prefix="bench_rare_"))
    rows = []
    try:
        for label, kw in (("1 worker (in-process)", {"workers": 1}), ("2 local processes", {"workers": 2})):
            s = run_campaign(c, tmp / label.split()[0], progress=False, **kw)
            rows.append((label, s))
        from dask.distributed import Client, LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cl:
            with Client(cl) as client:
                t0 = time.perf_counter()
                client.run(lambda: __import__("twinforge.campaign.executor"))  # warm workers (imports)
                warm = time.perf_counter() - t0
                s = run_campaign(c, tmp / "dask", client=client, progress=False)
                rows.append((f"Dask LocalCluster 2x1 (+{warm:.1f} s warm-up)", s))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"5. campaign throughput: {n_runs} home runs, 2 days at 15 min ({rows[0][1].values // n_runs:,} values/run), "
          f"{os.cpu_count()} cores")
    for label, s in rows:
        print(f"   {label:42s} {s.seconds:6.1f} s  {s.runs_per_s:6.2f} runs/s  {s.values_per_s:10,.0f} values/s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "output" / "rare")
    ap.add_argument("--truth-histories", type=int, default=2_000_000)
    ap.add_argument("--truth-groups", type=int, default=20)
    ap.add_argument("--truth-bank", type=int, default=2000, help="weather paths per truth group")
    ap.add_argument("--repeats", type=int, default=20, help="independent adaptive campaigns for the coverage")
    ap.add_argument("--max-runs", type=int, default=3_000, help="run budget of each adaptive campaign")
    ap.add_argument("--workers", type=int, default=2,
                    help="processes of the truth and the repeats; with --method subset also those of the "
                    "throughput part (5.), against 1")
    ap.add_argument("--runs", type=int, default=96, help="runs of the throughput campaign")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--throughput-only", action="store_true",
                    help="only the throughput part (5.): the campaign executors, or with --method subset the "
                    "subset simulation on 1 vs --workers processes")
    ap.add_argument("--decompose", action="store_true",
                    help="also split the spread of the hits' weights into events and weather (seed 1, each family)")
    ap.add_argument("--families", default=",".join(FAMILIES),
                    help=f"weather tilt families of the repeats, comma-separated (default {','.join(FAMILIES)})")
    ap.add_argument("--method", default="ce", choices=["ce", "subset", "latent-ce"],
                    help="ce: the cross-entropy families (3.) and the rest; subset: subset simulation only (3.); "
                    "latent-ce: cross-entropy with a Gaussian mean shift in the latent space only (3.)")
    ap.add_argument("--runs-per-level", type=int, default=500, help="subset simulation: runs per level")
    ap.add_argument("--p0", type=float, default=0.1, help="subset simulation: conditional probability per level")
    ap.add_argument("--subset-max-runs", type=int, default=20_000, help="subset simulation: run budget")
    ap.add_argument("--runs-per-stage", type=int, default=500, help="latent-ce: runs per adaptive stage")
    ap.add_argument("--batch", type=int, default=500, help="latent-ce: runs per final batch")
    ap.add_argument("--shrinkage", type=float, default=1.0, help="latent-ce: James-Stein factor c of the blocks")
    ap.add_argument("--smoothing", type=float, default=0.7, help="latent-ce: smoothing alpha of the mean")
    ap.add_argument("--components", type=int, default=1, help="latent-ce: Gaussian components of the proposal")
    ap.add_argument("--reuse", action="store_true", help="latent-ce: fit each update on every adaptive stage's runs")
    a = ap.parse_args()
    if a.workers < 1:
        ap.error(f"--workers must be >= 1, got {a.workers}")
    a.out.mkdir(parents=True, exist_ok=True)
    print(f"load average at start: {os.getloadavg()}")
    if a.throughput_only:
        if a.method == "subset":
            subset_throughput(a.workers, a.runs_per_level, a.p0)
        else:
            throughput(a.runs)
        print(f"load average at the end: {os.getloadavg()}")
        return
    check_against_the_twin()
    print(f"1. outcome: peak outdoor air temperature > {THRESHOLD_C} degC over {WINDOW['days']} days from "
          f"{WINDOW['start']} (home_heat_wave: heat waves 2/yr); evaluation equals the home twin's (3 plans checked)")
    tr = truth(a.out, a.truth_histories, a.workers, groups=a.truth_groups, bank_size=a.truth_bank)
    print(f"2. natural-law Monte Carlo truth: {tr['n_histories']:,} event histories x {tr['pairs']} of "
          f"{tr['weather_paths']:,} weather paths in {tr['groups']} groups: p = {tr['p']:.4g} +/- {tr['std_error']:.2g} "
          f"(95 % CI {tr['ci_low']:.4g} .. {tr['ci_high']:.4g}, relative standard error {tr['std_error'] / tr['p']:.1%}); "
          f"{tr['seconds']:.0f} s on {tr['workers']} workers (load average then {tr['load_average']})")
    if a.method == "subset":
        print("3. subset simulation")
        subset(a.out, tr, a.repeats, a.workers, a.runs_per_level, a.p0, a.subset_max_runs)
        if not a.skip_throughput:
            subset_throughput(a.workers, a.runs_per_level, a.p0)
        print(f"load average at the end: {os.getloadavg()}")
        return
    if a.method == "latent-ce":
        print("3. cross-entropy with a Gaussian mean shift in the latent space")
        latent(a.out, tr, a.repeats, a.workers, a.runs_per_stage, a.batch, a.shrinkage, a.smoothing, a.components,
               a.reuse, a.max_runs)
        print(f"load average at the end: {os.getloadavg()}")
        return
    print("3. cross-entropy method")
    families = a.families.split(",")
    if not families or not set(families) <= set(FAMILIES):
        ap.error(f"--families must be a comma-separated subset of {','.join(FAMILIES)}, got {a.families!r}")
    adaptive(a.out, tr, a.repeats, a.workers, a.max_runs, families)
    if a.decompose:
        print("3b. the spread of ln w over the final batches' hits, by source")
        for fam in families:
            decompose(fam)
    print("4. hand-set proposals on the same outcome")
    hand_set(tr)
    if not a.skip_throughput:
        throughput(a.runs)
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
