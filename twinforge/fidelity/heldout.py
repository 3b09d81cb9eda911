"""The held-out protocol: is the twin as close to a later period as reality itself is?

A twin is calibrated on one period of a real source (period A) and scored on a later period
of the same source that calibration never saw (period B, the same seasons). The score is
judged against **reality's own variation**: period A itself, scored against period B on the
same windows, is the yardstick. The twin passes when, on at least ``min_windows`` held-out
windows,

- discriminative score (twin vs B) <= discriminative score (A vs B) + ``disc_margin`` (0.05);
- NN indistinguishability (twin vs B) >= NN indistinguishability (A vs B) - ``nn_margin`` (0.10);
- TSTR: a day-ahead forecaster trained on the twin's period-A runs and tested on real B has
  an MAE at most ``tstr_factor`` (1.1) times that of the same forecaster trained on real A.

Both window scores come with their permutation null (what a perfect model scores with these
counts) and a bootstrap interval. With ``unseen`` (a real source of the same kind that
calibration never saw, e.g. another grid zone), the twin is also scored against it on B's
dates, beside the calibration source's own period A against it.

>>> res = protocol(real, spec, calibration=("2011-01-01", "2013-01-01"),          # doctest: +SKIP
...                holdout=("2014-01-01", "2016-01-01"), channels={"load_power_w": "feeder_power_w"},
...                tz="America/New_York", normalise="mean")
>>> print(res.text())                                                              # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from twinforge.fidelity._io import atomic_write_text, json_safe
from twinforge.fidelity.comparison import FidelityReport, compare_prepared
from twinforge.fidelity.prepared import (
    CompareError,
    ComparisonSettings,
    Duration,
    PreparedComparison,
    month_names,
    real_runs,
)
from twinforge.fidelity.simulate import purpose_seed, simulate_runs

__all__ = ["protocol", "ProtocolResult", "PASS_RULE"]

#: The pass rule's margins and minimum window count.
PASS_RULE = {"disc_margin": 0.05, "nn_margin": 0.10, "tstr_factor": 1.1, "min_windows": 100}


def _bound(value: Any, tz: str | None) -> pd.Timestamp:
    t = pd.Timestamp(value)
    if t.tzinfo is None:
        t = t.tz_localize(tz or "UTC")
    return t.tz_convert("UTC")


def _cut(real: pd.DataFrame, cols: list[str], span: tuple[pd.Timestamp, pd.Timestamp]) -> pd.DataFrame:
    (only,) = real_runs(real, cols).values()
    out = only[(only.index >= span[0]) & (only.index < span[1])]
    if len(out) < 2:
        raise CompareError(f"the real trace holds no data from {span[0].isoformat()} to {span[1].isoformat()}")
    out.attrs.update(real.attrs)
    return out


def _row(name: str, rep: FidelityReport) -> dict[str, Any]:
    w = rep.metrics["windows"]
    d, n = w["discriminative_score"], w["nn_indistinguishability"]
    return {
        "comparison": name,
        "n_real_windows": rep.info["n_real_windows"], "n_other_windows": rep.info["n_synth_windows"],
        "discriminative": d.get("value"), "discriminative_ci": d.get("ci"), "discriminative_null_q95": d.get("null_q95"),
        "nn": n.get("value"), "nn_ci": n.get("ci"), "nn_null_q05": n.get("null_q05"),
    }


@dataclass
class ProtocolResult:
    """The protocol's table, its verdict and the reports behind it.

    Attributes
    ----------
    rows : list of dict
        One row per comparison: ``yardstick`` (real A vs real B), ``twin, held out`` (twin
        vs real B), and with an unseen source ``twin, unseen source`` and ``real A, unseen
        source``; each with window counts, both scores, their bootstrap intervals and nulls.
    tstr : TSTRResult or None
        Day-ahead forecaster trained on the twin's period A vs on real A, tested on real B.
    verdict : dict
        ``passed`` (bool), the result of each ``checks`` entry with its threshold.
    reports : dict of FidelityReport
        The comparisons behind the rows, by row name.
    details : dict
        Periods, months, counts, seeds, settings.
    """

    rows: list[dict[str, Any]]
    tstr: Any
    verdict: dict[str, Any]
    reports: dict[str, FidelityReport] = field(repr=False)
    details: dict[str, Any] = field(default_factory=dict)
    calibration: Any = field(default=None, repr=False)

    def table(self) -> pd.DataFrame:
        """The rows as a DataFrame."""
        return pd.DataFrame(self.rows)

    def to_dict(self) -> dict[str, Any]:
        out = {"rows": self.rows, "verdict": self.verdict, "details": self.details,
               "tstr": None if self.tstr is None else self.tstr.to_dict(),
               "reports": {k: r.to_dict() for k, r in self.reports.items()}}
        return json_safe(out)

    def text(self) -> str:
        """The table and the verdict as plain text (Markdown)."""
        def f(v: Any) -> str:
            return "n/a" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.3f}"

        def ci(v: Any) -> str:
            return "" if not v else f" [{v[0]:.3f}, {v[1]:.3f}]"

        d = self.details
        lines = [
            f"held-out protocol: {d['source']} ({d['channels']})",
            f"  calibration period A: {d['calibration']}; held-out period B: {d['holdout']}",
            f"  {d['window']} windows at {d['period']}, {d['tz'] or 'unit time'}, normalise {d['normalise']}; "
            f"twin: {d['n_units']} run(s) per period",
            "",
            "| comparison | windows (B / other) | discriminative [90 % CI] (null 95 %) | NN [90 % CI] (null 5 %) |",
            "|---|---|---|---|",
        ]
        for r in self.rows:
            lines.append(
                f"| {r['comparison']} | {r['n_real_windows']} / {r['n_other_windows']} | "
                f"{f(r['discriminative'])}{ci(r['discriminative_ci'])} ({f(r['discriminative_null_q95'])}) | "
                f"{f(r['nn'])}{ci(r['nn_ci'])} ({f(r['nn_null_q05'])}) |")
        if self.tstr is not None:
            t = self.tstr
            lines += ["", f"TSTR, day-ahead at {t.details['period']}: MAE trained on real A {t.trtr['mae']:.4g}, "
                          f"on the twin's A {t.tstr['mae']:.4g}, seasonal naive {t.baseline['mae']:.4g}: "
                          f"twin / real = {t.tstr['mae'] / t.trtr['mae']:.3f}"]
        v = self.verdict
        lines += ["", f"verdict: {'PASS' if v['passed'] else 'FAIL'}"]
        for c in v["checks"]:
            lines.append(f"  [{'x' if c['ok'] else ' '}] {c['rule']}")
        for note in d.get("notes", []):
            lines.append(f"  note: {note}")
        return "\n".join(lines)

    def save(self, folder: str | Path) -> Path:
        """Write ``protocol.md`` (the table), ``metrics.json`` and the twin's held-out
        ``report.html`` into ``folder`` (staged beside it, moved in whole)."""
        from twinforge.fidelity._io import commit, staging
        from twinforge.fidelity.report import write_report

        out = Path(folder)
        staged = staging(out)
        try:
            atomic_write_text(staged / "protocol.md", self.text() + "\n")
            atomic_write_text(staged / "metrics.json", json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n")
            write_report(self.reports["twin, held out"], staged, title="twinforge held-out protocol: the twin on period B")
            commit(staged, out)
        except BaseException:
            import shutil

            shutil.rmtree(staged, ignore_errors=True)
            raise
        return out


def protocol(
    real: pd.DataFrame,
    base: Any,
    *,
    calibration: Sequence[Any],
    holdout: Sequence[Any],
    channels: Mapping[str, str],
    tz: str | None = "Europe/Paris",
    window: Any = "1D",
    period: Any = None,
    normalise: Literal["none", "mean"] = "none",
    unseen: pd.DataFrame | None = None,
    n_units: int = 2,
    seed: int = 0,
    params: Sequence[str] | Mapping[str, Any] | None = None,
    calibrate_kw: Mapping[str, Any] | None = None,
    null_permutations: int = 50,
    n_boot: int = 1000,
    tstr: bool = True,
    tstr_period: Any = None,
    rule: Mapping[str, float] | None = None,
    progress: bool = False,
) -> ProtocolResult:
    """Calibrate on period A (optional), score on the later period B against reality's yardstick.

    Parameters
    ----------
    real : DataFrame
        The real source, covering both periods (UTC index, as the loaders return).
    base : GenerateSpec or twin config
        The twin: a calibrated preset, or the start of the calibration with ``params``.
        Its ``[diversity]`` (a ``GenerateSpec``'s) is used as it is: None, every run is the
        preset's unit.
    calibration, holdout : (start, end)
        Periods A and B, ``[start, end)``; naive values are local dates in ``tz``. B must start
        after A ends.
    channels : mapping
        ``{real column: twin channel}``.
    tz, window, period, normalise
        As in :func:`~twinforge.fidelity.compare`.
    unseen : DataFrame, optional
        A real source of the same kind that calibration never saw (its column named like the
        source's); scored on B's dates.
    n_units : int
        Twin runs simulated over each period.
    seed : int
        Root of the runs' seeds (named children ``protocol/A``, ``protocol/B``), the
        classifier, the permutations and the bootstrap.
    params, calibrate_kw
        With ``params``, :func:`~twinforge.fidelity.calibrate` first fits them on period A
        (``holdout=0``; ``calibrate_kw`` passes the budget, weights, method...).
    null_permutations, n_boot : int
        Relabellings of the permutation null and bootstrap resamples of each comparison.
    tstr : bool
        Compute the TSTR check (day-ahead forecaster, one channel: the first of ``channels``).
    tstr_period : str or Timedelta, optional
        Resolution of the TSTR forecaster. Default: the comparison period, but at least 1 h
        (a day of lags at 1 min over years is a feature matrix of tens of GB; day-ahead
        forecasting is scored hourly).
    rule : mapping, optional
        Margins of the pass rule (:data:`PASS_RULE`).
    progress : bool
        Progress bars (tqdm) on stderr.

    Returns
    -------
    ProtocolResult
    """
    from twinforge.campaign.spec import GenerateSpec
    from twinforge.fidelity.calibration import _twin_and_base, calibrate
    from twinforge.fidelity.tstr import tstr_forecast

    r = {**PASS_RULE, **(rule or {})}
    settings = ComparisonSettings.build(channels=dict(channels), window=window, period=period, tz=tz,
                                        normalise=normalise, seed=seed, match_span=False)
    cols = settings.columns
    a = (_bound(calibration[0], tz), _bound(calibration[1], tz))
    b = (_bound(holdout[0], tz), _bound(holdout[1], tz))
    for name, (s0, s1) in (("calibration", a), ("holdout", b)):
        if not s0 < s1:
            raise CompareError(f"{name}: the period must end after it starts, got {s0.isoformat()} .. {s1.isoformat()}")
    if b[0] < a[1]:
        raise CompareError(f"holdout: period B ({b[0].isoformat()}) must start after period A ends ({a[1].isoformat()})")
    real_a, real_b = _cut(real, cols, a), _cut(real, cols, b)
    source = real.attrs.get("source", "the real trace")

    twin, config, diversity, _ = _twin_and_base(base, None)
    spec_div = base.diversity if isinstance(base, GenerateSpec) else None
    diversity = spec_div if isinstance(base, GenerateSpec) else diversity
    calib = None
    if params:
        kw = dict(calibrate_kw or {})
        calib = calibrate(real_a, twin=twin, params=params, channels=channels, base=base, holdout=0.0, tz=tz,
                          period=period, window=window, normalise=normalise, seed=seed, evaluate=False,
                          source=source, progress=progress, **kw)
        config, diversity = calib.config, calib.diversity

    prep_b = PreparedComparison.prepare(real_b, settings, source=f"{source}, period B")
    p = prep_b.period
    sim_ch = list(dict.fromkeys(settings.channels.values()))

    def simulate(span: tuple[pd.Timestamp, pd.Timestamp], purpose: str) -> pd.DataFrame:
        days = (span[1] - span[0]) / pd.Timedelta("1D")
        root = purpose_seed(seed, purpose)
        bar = _bar(progress, f"twin over {purpose}")
        try:
            out = simulate_runs(twin, config, span[0], days, p, sim_ch, seed=root, n_runs=n_units,
                                diversity=diversity, progress=bar.update)
        finally:
            bar.close()
        out.attrs["source"] = f"{n_units} {twin} run(s) over {purpose[-1]} (seed {root})"
        return out

    synth_b = simulate(b, "protocol/B")
    reports: dict[str, FidelityReport] = {}
    kw = {"null_permutations": null_permutations, "n_boot": n_boot}
    real_a_as_synth = real_a.rename(columns={c: settings.channels[c] for c in cols})
    real_a_as_synth.attrs["source"] = f"{source}, period A"
    reports["yardstick: real A vs real B"] = compare_prepared(prep_b, prep_b.side(real_a_as_synth), **kw)
    reports["twin, held out"] = compare_prepared(prep_b, prep_b.side(synth_b), **kw)
    if unseen is not None:
        unseen_b = _cut(unseen, cols, b)
        prep_u = PreparedComparison.prepare(unseen_b, settings.model_copy(update={"period": p}),
                                            source=unseen.attrs.get("source", "the unseen source") + ", period B")
        reports["twin, unseen source"] = compare_prepared(prep_u, prep_u.side(synth_b), **kw)
        reports["real A vs unseen source"] = compare_prepared(prep_u, prep_u.side(real_a_as_synth), **kw)
    rows = [_row(k, v) for k, v in reports.items()]

    tstr_res = None
    notes: list[str] = []
    if tstr:
        synth_a = simulate(a, "protocol/A")
        first = cols[0]
        t_p = Duration.of(tstr_period) if tstr_period is not None else \
            (p if p.seconds >= 3600.0 else Duration.of("1h"))
        tstr_res = tstr_forecast(real_b[[first]], synth_a, channels={first: settings.channels[first]},
                                 period=t_p.text, tz=tz or "UTC", scale="mean" if normalise == "mean" else "none",
                                 seed=seed, train_real=real_a[[first]])

    yard, tw = rows[0], rows[1]
    months_a = month_names(PreparedComparison.prepare(real_a, settings.model_copy(update={"period": p})).real.months(tz)) \
        if tz else None
    months_b = month_names(prep_b.real.months(tz)) if tz else None
    checks = []
    if tz:
        checks.append({"name": "seasons", "ok": months_a == months_b,
                       "rule": f"the same months in both periods (A: {months_a}; B: {months_b})"})
    n_ok = tw["n_real_windows"] >= r["min_windows"] and tw["n_other_windows"] >= r["min_windows"]
    checks.append({"name": "windows", "ok": bool(n_ok),
                   "rule": f"at least {r['min_windows']} held-out windows a side: {tw['n_real_windows']} real, "
                           f"{tw['n_other_windows']} twin"})
    ok_d = tw["discriminative"] is not None and yard["discriminative"] is not None \
        and tw["discriminative"] <= yard["discriminative"] + r["disc_margin"]
    checks.append({"name": "discriminative", "ok": bool(ok_d),
                   "rule": f"discriminative {_f(tw['discriminative'])} <= yardstick {_f(yard['discriminative'])} "
                           f"+ {r['disc_margin']}"})
    ok_n = tw["nn"] is not None and yard["nn"] is not None and tw["nn"] >= yard["nn"] - r["nn_margin"]
    checks.append({"name": "nn", "ok": bool(ok_n),
                   "rule": f"NN {_f(tw['nn'])} >= yardstick {_f(yard['nn'])} - {r['nn_margin']}"})
    if tstr_res is not None:
        factor = tstr_res.tstr["mae"] / tstr_res.trtr["mae"] if tstr_res.trtr["mae"] > 0 else math.inf
        checks.append({"name": "tstr", "ok": bool(factor <= r["tstr_factor"]),
                       "rule": f"TSTR MAE {factor:.3f} x train-on-real <= {r['tstr_factor']}"})
    passed = all(c["ok"] for c in checks)
    details = {
        "source": source, "channels": ", ".join(f"{k} ~ {v}" for k, v in settings.channels.items()),
        "calibration": f"{a[0].isoformat()} .. {a[1].isoformat()}", "holdout": f"{b[0].isoformat()} .. {b[1].isoformat()}",
        "months_a": months_a, "months_b": months_b, "window": settings.window.text, "period": p.text, "tz": tz,
        "normalise": normalise, "n_units": n_units, "twin": twin, "seed": seed,
        "seeds": {k: purpose_seed(seed, k) for k in ("protocol/A", "protocol/B")},
        "null_permutations": null_permutations, "n_boot": n_boot, "rule": r, "notes": notes,
        "calibrated": None if calib is None else {"params": calib.params, "loss": [calib.loss_start, calib.loss_best]},
        "unseen": None if unseen is None else unseen.attrs.get("source", "the unseen source"),
    }
    verdict = {"passed": bool(passed), "checks": checks}
    return ProtocolResult(rows, tstr_res, verdict, reports, details, calib)


def _f(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def _bar(enabled: bool, desc: str) -> Any:
    from twinforge.progress import bar

    return bar(enabled, desc=desc, unit="sample", unit_scale=True, leave=False)
