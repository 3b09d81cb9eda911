"""Monte Carlo campaigns: a campaign file, validated, and the plan of every run.

A campaign is a :class:`~twinforge.campaign.spec.GenerateSpec` (the twin, its base
parameters, the horizon, the seed) plus the laws by which its runs differ:

- parameter distributions (``[parameters."envelope.ua_w_per_k"] dist = "lognorm" ...``,
  any :mod:`scipy.stats` law) or a quasi-random design (``[design]``, Sobol' or Latin
  hypercube, :func:`~twinforge.events.sampling.qmc_design`);
- rare events with their natural models (``[events.heat_wave] rate_per_year = 2``,
  overriding :data:`~twinforge.events.natural.NATURAL_MODELS`);
- a ``sampler``: ``"natural"`` (plain Monte Carlo), ``"importance"`` (biased proposals
  ``[proposal.<type>]``, each run weighted by its likelihood ratio), ``"stratified"``
  (``[classes]``: runs per stratum, weighted :math:`P_h N / n_h`) or ``"design"``
  (parameters from ``[design]``, events at natural rates);
- ``counterfactual = true``: every run twice, with and without its events, sharing all
  other randomness.

**Determinism.** Run ``i``'s plan (parameters, events, weight, stratum) derives only from
the root seed and ``i``: its draws come from the streams ``run/<i>/parameters``
(the twin's diversity), ``run/<i>/campaign/parameters/<name>`` (one per distribution) and
``run/<i>/campaign/events``, so a run is planned alone, in any process, and adding a
parameter law never shifts the draws of another. A design is drawn once from the stream
``campaign/design`` and row ``i`` goes to run ``i``. In a counterfactual campaign, runs
``2k`` (factual) and ``2k + 1`` (no events) share the pair's plan and its twin streams
(``run/<k>``), so they differ only by the events.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from scipy import stats

from twinforge.campaign.runner import RunPlan
from twinforge.campaign.spec import (
    GenerateSpec,
    SpecError,
    _deep_merge,
    format_validation_error,
    read_toml,
    validate_strict,
)
from twinforge.core import params
from twinforge.core.registry import EVENTS, TWINS
from twinforge.core.rng import RngStreams
from twinforge.core.schema import canonical_json, config_hash
from twinforge.events.base import ScheduledEvent, refusal
from twinforge.events.natural import NATURAL_MODELS, NaturalModel
from twinforge.events.sampling import (
    MIXED,
    NONE,
    ImportanceProposal,
    qmc_design,
    sample_events,
    sample_stratum,
    stratum_probabilities,
)
from twinforge.processes.weather import config_tilt

__all__ = [
    "CampaignSpec",
    "DesignSpec",
    "ParameterLaw",
    "campaign_path",
    "example_campaigns",
    "load_campaign",
    "plan_campaign",
    "iter_campaign_plans",
    "plan_run",
    "load_twins",
]

Sampler = Literal["natural", "importance", "stratified", "design"]

#: Keys of a campaign file that are not part of the underlying scenario.
_CAMPAIGN_KEYS = (
    "name", "sampler", "counterfactual", "parameters", "design", "events", "proposal",
    "classes", "output", "scheduled",
)
#: Longest duration a ScheduledEvent accepts [h]; longer draws (far tails) are capped.
_MAX_DURATION_H = 24.0 * 366


def load_twins() -> None:
    """Import the built-in twins (so that their names and event types are registered)."""
    import importlib

    import twinforge.twins  # noqa: F401

    for mod in ("twinforge.twins.machine",):
        try:
            importlib.import_module(mod)
        except ImportError:  # pragma: no cover - a twin still being written
            pass


class ParameterLaw(BaseModel):
    """The law of one parameter across runs: a :mod:`scipy.stats` distribution.

    ``dist`` names the distribution (``"lognorm"``, ``"norm"``, ``"uniform"``,
    ``"truncnorm"``...); every other key is passed to it as a keyword (``s``, ``loc``,
    ``scale``, ``a``, ``b``...). ``clip = [low, high]`` bounds the values (clipping, not
    truncation: use ``truncnorm`` for a truncated law). Values are drawn by inversion,
    :math:`x = F^{-1}(u)`, one uniform per run from the parameter's own stream.

    Examples
    --------
    >>> law = ParameterLaw(dist="lognorm", s=0.25, scale=200.0)
    >>> round(law.ppf(0.5), 6)
    200.0
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    dist: str = Field(description="scipy.stats distribution name")
    clip: tuple[float, float] | None = Field(None, description="bounds [low, high] of the values")

    @model_validator(mode="after")
    def _valid(self) -> "ParameterLaw":
        law = getattr(stats, self.dist, None)
        if not isinstance(law, (stats.rv_continuous, stats.rv_discrete)):
            raise ValueError(f"dist {self.dist!r} is not a scipy.stats distribution (e.g. 'lognorm', 'norm', 'uniform')")
        for k, v in self.kwargs().items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ValueError(f"{k} must be a finite number, got {v!r}")
        try:
            median = float(self.frozen().ppf(0.5))
        except (TypeError, ValueError) as e:
            raise ValueError(f"invalid arguments for {self.dist}: {e}") from None
        if not math.isfinite(median):
            raise ValueError(f"arguments {self.kwargs()} are outside the domain of {self.dist}")
        if self.clip is not None and not self.clip[0] < self.clip[1]:
            raise ValueError(f"clip must be [low, high] with low < high, got {list(self.clip)}")
        return self

    def kwargs(self) -> dict[str, Any]:
        return dict(sorted((self.model_extra or {}).items()))

    def frozen(self) -> Any:
        return _frozen_law(self.dist, tuple(self.kwargs().items()))

    def ppf(self, u: float) -> float:
        """The value at probability ``u`` (clipped to ``clip``)."""
        x = float(self.frozen().ppf(u))
        return float(np.clip(x, *self.clip)) if self.clip is not None else x

    def range(self) -> tuple[float, float, tuple[bool, bool]]:
        """The values the law gives, ``(low, high, attained)``: its support, clipped.

        An edge of a continuous law's support is never drawn itself (``attained`` False);
        a clip bound that cuts the support, and a discrete law's edge, are.

        >>> ParameterLaw(dist="norm", loc=1.0, scale=2.0, clip=(0.0, 5.0)).range()
        (0.0, 5.0, (True, True))
        >>> ParameterLaw(dist="lognorm", s=0.5).range()
        (0.0, inf, (False, False))
        """
        lo, hi = (float(x) for x in self.frozen().support())
        discrete = isinstance(getattr(stats, self.dist), stats.rv_discrete)
        if self.clip is None:
            return lo, hi, (discrete, discrete)
        c_lo, c_hi = self.clip
        return (float(np.clip(lo, c_lo, c_hi)), float(np.clip(hi, c_lo, c_hi)),
                (discrete or not c_lo < lo <= c_hi, discrete or not c_lo <= hi < c_hi))

    def label(self) -> str:
        """The law as written: ``norm(loc=200, scale=100)``."""
        args = ", ".join(f"{k}={v:g}" for k, v in self.kwargs().items())
        return f"{self.dist}({args})" + (f" clipped [{self.clip[0]:g}, {self.clip[1]:g}]" if self.clip else "")


@functools.lru_cache(maxsize=256)
def _frozen_law(dist: str, kwargs: tuple[tuple[str, Any], ...]) -> Any:
    return getattr(stats, dist)(**dict(kwargs))


class DesignSpec(BaseModel):
    """A scrambled quasi-random design of parameters (``sampler = "design"``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Literal["sobol", "lhs"] = Field("sobol", description="Sobol' points or a Latin hypercube")
    bounds: dict[str, tuple[float, float]] = Field(description="parameter path -> [low, high]")

    @field_validator("bounds")
    @classmethod
    def _bounds(cls, v: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        if not v:
            raise ValueError("bounds must name at least one parameter")
        for k, (lo, hi) in v.items():
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise ValueError(f"bounds of {k!r} must be finite with low < high, got {[lo, hi]}")
        return v


class _CampaignPart(BaseModel):
    """The campaign-only keys of a campaign file, validated on their own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field("", max_length=200, description="free label")
    sampler: Sampler = "natural"
    counterfactual: bool = False
    parameters: dict[str, ParameterLaw] = {}
    design: DesignSpec | None = None
    events: dict[str, NaturalModel] = {}
    proposal: dict[str, ImportanceProposal] = {}
    classes: dict[str, int] = {}
    output: str | None = Field(None, description="default output folder")

    @field_validator("output")
    @classmethod
    def _output(cls, v: str | None) -> str | None:
        if v is None:
            return v
        p = Path(v)
        if not v.strip() or p.is_absolute() or ".." in p.parts or p == Path("."):
            raise ValueError(
                f"{v!r} is not a folder below the working folder; allowed: a relative path below it, "
                "such as 'data/campaign' (give --out to write anywhere else)"
            )
        return v


class CampaignSpec(BaseModel):
    """A validated campaign: its scenario plus the laws by which runs differ.

    Build one with :func:`load_campaign` (a TOML file) or :meth:`from_data` (a dict);
    see ``docs/campaigns.md`` for every key. ``scenario.runs`` is the number of runs in
    the dataset (twice the factual runs when ``counterfactual``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    scenario: GenerateSpec
    name: str = ""
    sampler: Sampler = "natural"
    counterfactual: bool = False
    parameters: dict[str, ParameterLaw] = {}
    design: DesignSpec | None = None
    events: dict[str, NaturalModel] = {}
    proposal: dict[str, ImportanceProposal] = {}
    classes: dict[str, int] = {}
    output: str | None = None

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_data(cls, data: dict[str, Any], source: str = "", *, as_written: bool = False,
                  stored: bool = False) -> CampaignSpec:
        """Validate plain data (a parsed campaign file); raise :class:`SpecError`.

        Every problem is reported on its own line naming the field
        (``events.heat_wave.rate_per_year: ...``). ``stored``: the campaign of an existing
        dataset (its manifest), accepted when it was written; the ranges of its laws are not
        checked again, so that a dataset stays readable whatever the checks became since.
        """
        load_twins()
        data = dict(data)
        part = {k: data.pop(k) for k in _CAMPAIGN_KEYS if k in data}
        errors: list[str] = []
        events = part.get("events", {})
        if isinstance(events, list):
            errors.append(
                f"{source}events: a campaign declares event *models* as tables "
                "([events.heat_wave] rate_per_year = ...); fixed events go in [[scheduled]]"
            )
            events = {}
        if isinstance(events, dict):
            merged = {}
            for name, ov in events.items():
                if not isinstance(ov, dict):
                    errors.append(f"{source}events.{name}: must be a table of model fields (got {ov!r})")
                    continue
                base = NATURAL_MODELS[name].model_dump() if name in NATURAL_MODELS else {}
                if "severity" in ov:  # a new severity law replaces the default one
                    base.pop("severity", None)
                merged[name] = {**base, **ov, "type": name}
            part["events"] = merged
        events_key = "events"
        if "scheduled" in part:
            data["events"] = part.pop("scheduled")
            events_key = "scheduled"  # messages name the file's key
        if data.get("runs") is None:
            data.pop("runs", None)
        classes = part.get("classes")
        if part.get("sampler") == "stratified" and isinstance(classes, dict) and "runs" not in data:
            if all(isinstance(v, int) and not isinstance(v, bool) for v in classes.values()):
                data["runs"] = max(1, sum(classes.values()))
        runs = data.get("runs")
        if runs is None and part.get("sampler") != "stratified":
            errors.append(f"{source}runs: required (the number of runs of the campaign)")
        elif part.get("counterfactual") is True and isinstance(runs, int) and not isinstance(runs, bool):
            data["runs"] = 2 * runs  # the dataset holds both members of every pair
        try:
            campaign = validate_strict(_CampaignPart, part)
        except ValidationError as e:
            errors.append(format_validation_error(e, source, model=_CampaignPart))
            campaign = None
        try:
            scenario = GenerateSpec.from_data(data, source, events_key=events_key, as_written=as_written)
        except SpecError as e:
            errors.append(str(e))
            scenario = None
        if errors:
            raise SpecError("\n".join(errors))
        try:
            return cls.model_validate({"scenario": scenario, **dict(campaign)}, context={"stored": stored})
        except ValidationError as e:
            lines = []
            for err in e.errors():
                if err["loc"]:
                    lines.append(format_validation_error(e, source))
                    break
                lines += [source + ln for ln in err["msg"].removeprefix("Value error, ").splitlines()]
            raise SpecError("\n".join(lines)) from None

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> "CampaignSpec":
        s = self.scenario
        stored = bool(info.context and info.context.get("stored"))
        problems: list[str] = []
        for name in self.events:
            if name not in EVENTS:
                problems.append(f"events.{name}: {name!r} is not a registered event type; known: {', '.join(EVENTS.names())}")
            elif (why := refusal(name, s.twin)) is not None:
                problems.append(f"events.{name}: {why}")
        if self.sampler == "importance":
            if not self.proposal:
                problems.append("proposal: sampler 'importance' needs a [proposal.<event type>] table")
        elif self.proposal:
            problems.append(f"proposal: only used with sampler = 'importance' (sampler is {self.sampler!r})")
        for name in self.proposal:
            if name not in self.events:
                problems.append(f"proposal.{name}: no [events.{name}] model to bias")
        if config_tilt(s.config) is not None and self.sampler != "importance":
            problems.append(f"{s.twin}.weather.tilt: a tilt of the weather's draws needs sampler = 'importance' "
                            f"(sampler is {self.sampler!r})")
        if self.sampler == "stratified":
            problems += self._check_classes()
        elif self.classes:
            problems.append(f"classes: only used with sampler = 'stratified' (sampler is {self.sampler!r})")
        if self.sampler == "design" and self.design is None:
            problems.append("design: sampler 'design' needs a [design] table (method, bounds)")
        if self.design is not None and self.sampler != "design":
            problems.append(f"design: only used with sampler = 'design' (sampler is {self.sampler!r})")
        if self.sampler in ("importance", "stratified") and not self.events:
            problems.append(f"events: sampler {self.sampler!r} needs at least one [events.<type>] model")
        if self.counterfactual and not self.events:
            problems.append("counterfactual: pairs differ by their sampled events; declare [events.<type>]")
        paths = dict(self.parameters)
        for name in (self.design.bounds if self.design else {}):
            if name in paths:
                problems.append(f"design.bounds.{name}: also given a law in [parameters]; choose one")
        for name, law in paths.items():
            problems += _check_path(s, f'parameters."{name}"', name, law.ppf(0.5), None if stored else law.range(),
                                    f"the law {law.label()} ranges over", "clip it (clip = [low, high]) or choose a law inside")
        for name, (lo, hi) in (self.design.bounds if self.design else {}).items():
            problems += _check_path(s, f'design.bounds."{name}"', name, 0.5 * (lo + hi),
                                    None if stored else (lo, hi, (True, True)), "the bounds span", "narrow them")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def _check_classes(self) -> list[str]:
        if not self.classes:
            return ["classes: sampler 'stratified' needs a [classes] table (runs per stratum)"]
        s = self.scenario
        known = [NONE, *sorted(self.events), MIXED]
        out = []
        probs = stratum_probabilities(self.events, s.start, s.days) if self.events else {}
        for h, k in self.classes.items():
            if h not in known:
                out.append(f"classes.{h}: unknown stratum; known: {', '.join(known)}")
            elif k < 1:
                out.append(f"classes.{h}: must be a positive number of runs (got {k})")
            elif probs.get(h, 0.0) <= 0.0:
                out.append(f"classes.{h}: the stratum has natural probability 0 on this horizon")
        n = sum(self.classes.values())
        if self.factual_runs != n:
            out.append(f"runs: {self.factual_runs} does not equal the sum of [classes] ({n}); leave runs out")
        return out

    # -- derived ------------------------------------------------------------------------
    @property
    def twin(self) -> str:
        return self.scenario.twin

    @property
    def runs(self) -> int:
        """Runs in the dataset (both members of every pair)."""
        return self.scenario.runs

    @property
    def factual_runs(self) -> int:
        """Planned runs before pairing (pairs when ``counterfactual``)."""
        return self.scenario.runs // 2 if self.counterfactual else self.scenario.runs

    @classmethod
    def from_json_dict(cls, data: dict[str, Any]) -> "CampaignSpec":
        """The campaign back from :meth:`to_json_dict` (as stored in a dataset's manifest)."""
        data = dict(data)
        data["scheduled"] = data.pop("events_scheduled", [])
        if data.get("counterfactual") is True and isinstance(data.get("runs"), int):
            data["runs"] //= 2  # stored as runs in the dataset; from_data doubles the pairs again
        return cls.from_data(data, stored=True)

    def to_json_dict(self) -> dict[str, Any]:
        """Canonical plain-data form (hashed into ``config_hash``, stored in the manifest)."""
        out = self.scenario.to_json_dict()
        out["events_scheduled"] = out.pop("events")
        out.update(
            self.model_dump(mode="json", exclude={"scenario", "output"}, round_trip=True)
        )
        return out

    def config_hash(self, seed: int) -> str:
        """Hash of the campaign under the effective root ``seed``."""
        return config_hash({**self.to_json_dict(), "seed": seed})


#: The example campaigns shipped with the package (``twinforge/data/campaigns/<name>.toml``).
EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "data" / "campaigns"


def example_campaigns() -> dict[str, Path]:
    """The shipped example campaigns: name (file stem) -> path of its TOML file."""
    return {p.stem: p for p in sorted(EXAMPLES_DIR.glob("*.toml"))}


def campaign_path(name_or_path: str | Path) -> Path:
    """The campaign file of ``name_or_path``: an existing path, or a shipped example's name.

    ``"grid_heat_wave_outage"`` (or ``"grid_heat_wave_outage.toml"``) names the example in
    :data:`EXAMPLES_DIR` when no such file exists in the working folder, so the examples work
    outside a source checkout.
    """
    path = Path(name_or_path)
    if path.exists() or len(path.parts) != 1:
        return path
    shipped = example_campaigns().get(path.name.removesuffix(".toml"))
    return shipped if shipped is not None else path


def load_campaign(path: str | Path, **overrides: Any) -> CampaignSpec:
    """Read a TOML campaign file and apply ``overrides`` (None ignored); raise :class:`SpecError`.

    ``path`` may also name a shipped example (:func:`example_campaigns`), e.g.
    ``load_campaign("home_heat_wave")``.
    """
    data, source = read_toml(campaign_path(path), "campaign")
    data.pop("loop", None)  # closed-loop settings: read by twinforge.campaign.loop.read_loop
    data = _deep_merge(data, {k: v for k, v in overrides.items() if v is not None})
    return CampaignSpec.from_data(data, source, as_written=True)


# --------------------------------------------------------------------------- planning


def _set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set the numeric parameter at ``path`` (KeyError: no such parameter; TypeError: not a number)."""
    old = params.get_path(data, path)
    if isinstance(old, bool) or not isinstance(old, (int, float)) and old is not None:
        raise TypeError(path)
    params.set_path(data, path, int(round(value)) if isinstance(old, int) else float(value))


def _with_overrides(config: Any, overrides: dict[str, float]) -> Any:
    if not overrides:
        return config
    data = config.model_dump()
    for path, value in overrides.items():
        _set_path(data, path, value)
    return type(config).model_validate(data)


def _check_path(s: GenerateSpec, field: str, path: str, value: float,
                values: tuple[float, float, tuple[bool, bool]] | None, what: str, remedy: str) -> list[str]:
    """The problems of varying ``path`` over ``values`` (``(low, high, attained)``, by a law or
    bounds ``what``; None: not checked), against the twin's parameter space; ``value`` (the
    law's median, the bounds' middle) must also make a valid configuration with the scenario's
    other settings."""
    space = TWINS.get(s.twin).parameter_space()
    if path.startswith("diversity."):
        return [(f"{field}: {path!r} is a fleet law, not a setting of a run: a campaign varies a run's settings "
                 f"after the [diversity] laws draw them (set the fleet law in [diversity])")]
    par = params.space_lookup(space, path)
    if par is None:
        def runs_only(p: params.Parameter) -> bool:
            return p.numeric and not p.path.startswith("diversity.")

        return [f"{field}: {params.unknown_path(space, s.twin, path, keep=runs_only)}"]
    if not par.numeric:
        return [f"{field}: {path!r} is not a numeric parameter (a {par.kind} setting)"]
    why = None if values is None else params.check_range(par, *values[:2], what, values[2])
    if why is not None:
        return [f"{field}: {why}; {remedy}"]
    try:
        _with_overrides(s.config, {path: value})
    except KeyError:
        data, parts = s.config.model_dump(), path.split(".")
        absent = next(".".join(parts[:i]) for i in range(1, len(parts) + 1)
                      if not _has_path(data, ".".join(parts[:i])))
        return [(f"{field}: {path!r} is a setting of {s.twin}.{absent}, which this scenario does not set "
                 f"(set [{s.twin}.{absent}] to vary it)")]
    except TypeError:
        return [f"{field}: {path!r} is not a numeric parameter"]
    except ValidationError as e:
        msg = format_validation_error(e, prefix=f"{s.twin}.").replace("\n", "; ")
        return [f"{field}: the law's median {value:g} is not allowed: {msg}"]
    return []


def _has_path(data: dict[str, Any], path: str) -> bool:
    try:
        return params.get_path(data, path) is not None
    except KeyError:
        return False


def _design(campaign: CampaignSpec, seed: int) -> Any:
    if campaign.design is None:
        return None
    return _cached_design(canonical_json(campaign.design.model_dump(mode="json")), campaign.factual_runs, seed)


@functools.lru_cache(maxsize=8)
def _cached_design(key: str, n: int, seed: int) -> Any:
    import json
    import warnings

    d = DesignSpec.model_validate(json.loads(key))
    bounds = {k: d.bounds[k] for k in sorted(d.bounds)}
    rng = RngStreams(seed).generator("campaign/design")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # n not a power of two: documented
        return qmc_design(bounds, n, method=d.method, rng=rng).to_numpy()


def _strata(campaign: CampaignSpec) -> list[str]:
    return [h for h, k in campaign.classes.items() for _ in range(k)]


def plan_run(campaign: CampaignSpec, seed: int, run_id: int, *, _design_rows: Any = None) -> RunPlan:
    """The plan of run ``run_id`` of ``campaign`` under the root ``seed``.

    Depends only on the campaign, the seed and ``run_id`` (see the module docstring).
    """
    if not 0 <= run_id < campaign.runs:
        raise ValueError(f"run_id must be in [0, {campaign.runs}), got {run_id}")
    s = campaign.scenario
    k, cf = (run_id // 2, run_id % 2 == 1) if campaign.counterfactual else (run_id, False)
    root = RngStreams(seed).child(f"run/{k}")
    plugin = TWINS.get(s.twin)
    config = plugin.draw(s.config, s.diversity, root.generator("parameters"))
    overrides: dict[str, float] = {}
    for name in sorted(campaign.parameters):
        u = float(root.generator(f"campaign/parameters/{name}").random())
        overrides[name] = campaign.parameters[name].ppf(u)
    if campaign.design is not None:
        rows = _design_rows if _design_rows is not None else _design(campaign, seed)
        for j, name in enumerate(sorted(campaign.design.bounds)):  # design columns by name
            overrides[name] = float(rows[k, j])
    try:
        config = _with_overrides(config, overrides)
    except ValidationError as e:
        values = ", ".join(f"{k}={v:.6g}" for k, v in sorted(overrides.items()))
        why = format_validation_error(e, prefix="").replace("\n", "; ")
        raise SpecError(
            f"run {run_id}: parameters {values} give an invalid {s.twin} configuration: {why} "
            "(narrow the laws or clip them)"
        ) from None

    weight, log_w, stratum = 1.0, 0.0, ""
    events: list[dict[str, Any]] = []
    if campaign.events:
        rng = root.generator("campaign/events")
        if campaign.sampler == "stratified":
            stratum = _strata(campaign)[k]
            probs = stratum_probabilities(campaign.events, s.start, s.days)
            weight = probs[stratum] * campaign.factual_runs / campaign.classes[stratum]
            log_w = math.log(weight)
            events = sample_stratum(stratum, campaign.events, s.start, s.days, rng)
        else:
            proposal = campaign.proposal if campaign.sampler == "importance" else None
            events, log_w = sample_events(campaign.events, s.start, s.days, rng, proposal)
            weight = math.exp(log_w)
    tilt = config_tilt(config)
    if tilt is not None:  # the weather's tilted draws: their likelihood ratio, from the run's weather stream
        log_w += tilt.log_weight(root.generator("weather"))
        weight = math.exp(log_w)
    scheduled = tuple(
        ScheduledEvent(
            type=e["type"], start=e["start"], duration_h=min(e["duration_h"], _MAX_DURATION_H),
            severity=e["severity"], params=e.get("params", {}),
        )
        for e in events
    )
    return RunPlan(
        run_id=run_id,
        seed=seed,
        config=config,
        weight=weight,
        stratum=stratum,
        events=() if cf else scheduled,
        pair_id=k,
        counterfactual=cf,
        log_weight=log_w,
        overrides=tuple(sorted(overrides.items())),
    )


def iter_campaign_plans(campaign: CampaignSpec, seed: int, runs: Any = None) -> Iterator[RunPlan]:
    """The plans of all runs (or of the run ids in the iterable ``runs``, in its order),
    one at a time: memory does not grow with the number of runs."""
    rows = _design(campaign, seed)
    for i in range(campaign.runs) if runs is None else runs:
        yield plan_run(campaign, seed, i, _design_rows=rows)


def plan_campaign(campaign: CampaignSpec, seed: int, runs: Any = None) -> list[RunPlan]:
    """The plans of all runs (or of the run ids in ``runs``), in run order."""
    return list(iter_campaign_plans(campaign, seed, None if runs is None else sorted(runs)))
