"""The parameter space of a twin: every setting by dotted path, with its unit, valid range,
default, the law that varies it across runs and its calibration range.

A parameter of a run is named by its dotted path in the twin's configuration
(``envelope.ua_w_per_k``, ``homes.cooling_share``, ``vibration.background_rms_g``) or, for
a fleet law, ``diversity.<field>``; a ``*`` segment stands for any key of a table of
sections (``commercial.classes.*.open_h``). Campaign laws (``[parameters."path"]``,
:mod:`twinforge.campaign.campaign`) and calibration (:mod:`twinforge.fidelity.parameters`)
read and set them here, with one implementation (:func:`get_path`, :func:`set_path`).

:func:`build_space` generates the space from the twin's pydantic models (valid range from
``Field(ge=, gt=, le=, lt=)``, unit from the ``[unit]`` that ends the field's description,
default) plus what the twin declares beside them: its diversity laws written as data
(:class:`Law`, ``Twin.laws``) and the ranges calibration searches (:class:`Bound`,
``Twin.calibratable``). Every validation of a path or of a range at the boundary (a
campaign law, a design's bounds, a calibration bound) goes through :func:`check_path`,
:func:`check_range` and :func:`unknown_path`.
"""

from __future__ import annotations

import difflib
import math
import re
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel

__all__ = [
    "ROW_FIELDS", "Bound", "Law", "Parameter", "Stream", "ValidRange", "build_space", "check_range", "draw_laws",
    "draw_stream", "get_path",
    "nearest_paths", "set_path", "space_lookup", "space_rows", "unit_of", "unknown_path",
]


@dataclass(frozen=True)
class Bound:
    """Search range of one parameter [the parameter's unit]."""

    low: float
    high: float
    integer: bool = False

    def __post_init__(self) -> None:
        if not self.low < self.high:
            raise ValueError(f"bound needs low < high, got [{self.low}, {self.high}]")

    def from_unit(self, u: float) -> float:
        v = self.low + float(np.clip(u, 0.0, 1.0)) * (self.high - self.low)
        return float(round(v)) if self.integer else v

    def to_unit(self, v: float) -> float:
        return float(np.clip((v - self.low) / (self.high - self.low), 0.0, 1.0))


def get_path(data: dict[str, Any], path: str) -> Any:
    """The value at the dotted ``path`` of nested dicts ``data``; KeyError(path) if absent."""
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(path)
        node = node[part]
    return node


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set the dotted ``path`` of nested dicts ``data`` to ``value`` in place; KeyError(path)
    if a section on the way is absent."""
    *parents, last = path.split(".")
    node: Any = data
    for part in parents:
        if not isinstance(node, dict) or not isinstance(node.get(part), dict):
            raise KeyError(path)
        node = node[part]
    node[last] = value


# --------------------------------------------------------------------------- ranges


def _num(x: float) -> str:
    return "inf" if x == math.inf else "-inf" if x == -math.inf else f"{x:g}"


@dataclass(frozen=True)
class ValidRange:
    """The values a setting accepts: ``low <= x <= high``, each end open or closed.

    >>> r = ValidRange(0.0, 1.0, low_open=True)
    >>> str(r), r.contains(0.0), r.contains(1.0)
    ('(0, 1]', False, True)
    """

    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False

    @classmethod
    def of_field(cls, info: Any) -> ValidRange:
        """The range a pydantic field declares with ``ge``/``gt``/``le``/``lt`` (unbounded if none)."""
        out = cls()
        for m in info.metadata:
            if isinstance(m, Ge):
                out = replace(out, low=float(m.ge), low_open=False)
            elif isinstance(m, Gt):
                out = replace(out, low=float(m.gt), low_open=True)
            elif isinstance(m, Le):
                out = replace(out, high=float(m.le), high_open=False)
            elif isinstance(m, Lt):
                out = replace(out, high=float(m.lt), high_open=True)
        return out

    @property
    def bounded(self) -> bool:
        return math.isfinite(self.low) or math.isfinite(self.high)

    def contains(self, x: float) -> bool:
        above = x > self.low if self.low_open else x >= self.low
        below = x < self.high if self.high_open else x <= self.high
        return bool(above and below)

    def covers(self, low: float, high: float, attained: tuple[bool, bool] = (True, True)) -> bool:
        """Whether every value from ``low`` to ``high`` is valid. An end not ``attained`` is
        never drawn itself (the edge of a continuous law's support), so it may sit on an open
        end of the valid range."""
        ok_low = self.contains(low) if attained[0] else self.low <= low <= self.high
        ok_high = self.contains(high) if attained[1] else self.low <= high <= self.high
        return ok_low and ok_high

    def __str__(self) -> str:
        lo = ("(" if self.low_open or self.low == -math.inf else "[") + _num(self.low)
        hi = _num(self.high) + (")" if self.high_open or self.high == math.inf else "]")
        return f"{lo}, {hi}"


# --------------------------------------------------------------------------- laws

#: A law's argument: a number, a dotted path (a diversity field ``diversity.<f>``, another
#: setting, a variate of the twin's stream ``draw.<name>[.<i>]``), ``"setting"`` (the run's own
#: value of the parameter, as the scenario sets it) or a derived :class:`Law` (a value computed
#: from others, e.g. a median per m2 times the drawn floor area).
Arg = Any

#: What a twin's stream draws before its laws, in order: ``{name: (kind, n)}``, ``kind``
#: ``normal`` (``rng.standard_normal``) or ``uniform`` (``rng.random``, on [0, 1)), ``n`` draws
#: (None: one number). A law reads them as ``draw.<name>`` or ``draw.<name>.<i>``.
Stream = Mapping[str, tuple[Literal["normal", "uniform"], "int | None"]]


def draw_stream(stream: Stream, rng: np.random.Generator) -> dict[str, Any]:
    """The variates of ``stream`` from ``rng``, every one drawn whether a law uses it or not
    (so the draws do not depend on the scenario's switches): ``{name: float or array}``."""
    out: dict[str, Any] = {}
    for name, (kind, n) in stream.items():
        if kind == "normal":
            out[name] = rng.standard_normal(n) if n is not None else float(rng.standard_normal())
        elif kind == "uniform":
            out[name] = rng.random(n) if n is not None else float(rng.random())
        else:
            raise ValueError(f"stream variate {name!r}: kind must be normal or uniform, got {kind!r}")
    return out


def _special(x: str) -> bool:
    """Whether a path names no setting: the law's own (``"setting"``) or a stream variate."""
    return x == "setting" or x.startswith("draw.")


@dataclass(frozen=True)
class Law:
    """How the twin's diversity varies one setting from run to run, written as data; sampling
    it (:meth:`sample`, :func:`draw_laws`) IS the twin's draw.

    ``dist`` names the law (``lognormal`` with ``median``/``sigma``, ``normal`` with
    ``mean``/``sd``, ``uniform`` with ``range`` = a ``(low, high)`` pair, ``bernoulli`` with
    ``p``, ``categorical`` with ``p`` = probabilities of 1, 2, ... (a sequence) or of named
    choices (a table), or one share per named choice as its arguments, ``derived`` for a
    setting computed from others). Arguments are numbers, dotted paths or derived laws
    (:data:`Arg`), in the units of the setting they draw.

    Attributes
    ----------
    clip : pair, optional
        Bounds of the value (after ``fn``) [the setting's unit].
    gate : Arg, optional
        Whether the law applies to this run: a probability (a Bernoulli draw ``rng.random() <
        p``, taken first: a share of the fleet has it) or a bool path (a switch; no draw).
        Off, the value is ``off``; the law's own draw is skipped unless ``draws_when_off``.
    off : Arg, optional
        The value when the gate is off (None: the setting) [the setting's unit].
    draws_when_off : bool
        Draw the law's variate even with the gate off, so the stream does not depend on it.
    of, fn, rule : paths, function, text
        ``fn(x, *values of of)`` maps the drawn ``x`` to the value (``derived``: ``fn(*values
        of of, **args)``, nothing drawn); ``rule`` says it in words. ``of`` may hold ``"setting"`` and
        ``draw.<name>`` variates; a path already drawn by an earlier law reads its drawn value.
    variate : str, optional
        ``draw.<name>[.<i>]``: the law transforms this standard variate of the twin's
        :data:`Stream` (a standard normal for ``lognormal``/``normal``, a uniform on [0, 1)
        otherwise) instead of drawing its own; two laws on one variate share one draw.
    choices : tuple
        ``categorical``: the choices in their fixed order (named probabilities are taken in this
        order; a choice without a share is the draw beyond the shares). Empty: sorted names.
    per : str
        What each draw makes (a run, a feeder home).

    Examples
    --------
    >>> law = Law("lognormal", {"median": "diversity.floor_area_median_m2",
    ...                         "sigma": "diversity.floor_area_sigma"}, clip=(25.0, 600.0))
    >>> law.describe({"diversity.floor_area_median_m2": 95.0, "diversity.floor_area_sigma": 0.3}.get)
    'lognormal(median=95 (diversity.floor_area_median_m2), sigma=0.3 (diversity.floor_area_sigma)), clipped [25, 600]'
    >>> round(law.sample(np.random.default_rng(0), {"diversity.floor_area_median_m2": 95.0,
    ...                                             "diversity.floor_area_sigma": 0.3}.get), 3)
    98.652
    """

    dist: Literal["lognormal", "normal", "uniform", "bernoulli", "categorical", "derived"]
    args: Mapping[str, Arg | tuple[Arg, ...]] = field(default_factory=dict)
    clip: tuple[Arg, Arg] | None = None
    gate: Arg | None = None
    of: tuple[str, ...] = ()
    rule: str = ""
    per: str = "run"
    fn: Callable[..., Any] | None = field(default=None, compare=False)
    off: Arg | None = None
    draws_when_off: bool = False
    variate: str | None = None
    choices: tuple[Any, ...] = ()

    def paths(self) -> Iterator[str]:
        """Every dotted path of a setting or a fleet law that the law reads."""
        for v in (*self.args.values(), *(self.clip or ()), self.gate, self.off):
            for x in v if isinstance(v, tuple) else (v,):
                if isinstance(x, Law):
                    yield from x.paths()
                elif isinstance(x, str) and not _special(x):
                    yield x
        yield from (p for p in self.of if not _special(p))

    def moved(self, config_prefix: str, diversity_prefix: str, per: str) -> Law:
        """The same law for settings moved under ``config_prefix`` (``home.``), its
        ``diversity.<f>`` arguments read from ``diversity_prefix`` (``homes.``): a feeder's homes."""

        def mv(x: Any) -> Any:
            if isinstance(x, tuple):
                return tuple(mv(y) for y in x)
            if isinstance(x, Law):
                return x.moved(config_prefix, diversity_prefix, per)
            if not isinstance(x, str) or _special(x):
                return x
            return diversity_prefix + x.removeprefix("diversity.") if x.startswith("diversity.") else config_prefix + x

        return replace(self, args={k: mv(v) for k, v in self.args.items()},
                       clip=None if self.clip is None else mv(self.clip), gate=mv(self.gate), off=mv(self.off),
                       of=tuple(mv(p) for p in self.of), per=per)

    def sample(self, rng: np.random.Generator, value: Callable[[str], Any]) -> Any:
        """One draw of the law from ``rng``; ``value(path)`` resolves its arguments (``"setting"``
        included: the run's own value of the parameter; ``draw.<name>``: a stream variate).

        Each law uses ``rng`` as the twins' draw code always has, so the draws keep their
        bytes: the gate first (``rng.random() < p``, a share gate), then ``uniform``:
        ``rng.uniform(low, high)``; ``lognormal``: ``median * rng.lognormal(0, sigma)``;
        ``normal``: ``rng.normal(mean, sd)``; ``bernoulli``: ``rng.random() < p``;
        ``categorical``: ``rng.choice`` of 1..n with a sequence ``p``, else one
        ``rng.random()`` against the running sums of the shares; then ``fn``, then ``clip``.
        With a ``variate`` ``v`` nothing is drawn here: ``low + v (high - low)``, ``median
        exp(sigma v)``, ``mean + sd v``, ``v < p``, the shares against ``v``. A law with an
        argument left unset (``None``, e.g. a range not given) keeps the setting.
        """

        def arg(x: Any) -> Any:
            if isinstance(x, tuple):
                return tuple(arg(y) for y in x)
            if isinstance(x, Law):
                return x.sample(rng, value)
            return value(x) if isinstance(x, str) else x

        a = {k: arg(v) for k, v in self.args.items()}
        if any(v is None for v in a.values()):  # a law left unset (a None range) keeps the setting
            return value("setting")
        on = True
        if self.gate is not None:
            g = arg(self.gate)
            on = bool(g) if isinstance(g, (bool, np.bool_)) else bool(rng.random() < g)
            if not on and not self.draws_when_off:
                return value("setting") if self.off is None else arg(self.off)
        v = None if self.variate is None else value(self.variate)
        x = self._draw(rng, a, v)
        if not on:
            return value("setting") if self.off is None else arg(self.off)
        if self.fn is not None:
            x = self.fn(*(arg(p) for p in self.of), **a) if self.dist == "derived" else self.fn(x, *(arg(p) for p in self.of))
        if self.clip is not None:
            lo, hi = arg(self.clip)
            x = float(np.clip(x, lo, hi))
        return x

    def _draw(self, rng: np.random.Generator, a: dict[str, Any], v: Any) -> Any:
        """The law's draw before ``fn`` and ``clip`` (None for ``derived``)."""
        if self.dist == "derived":
            if self.fn is None:
                raise ValueError("a derived law needs fn (its rule as a function of its of paths)")
            return None
        if self.dist == "uniform":
            lo, hi = a["range"]
            return float(rng.uniform(lo, hi)) if v is None else lo + v * (hi - lo)
        if self.dist == "lognormal":
            if v is None:
                return float(a["median"] * rng.lognormal(0.0, a["sigma"]))
            return a["median"] * (np.exp(a["sigma"] * v) if isinstance(v, np.ndarray) else math.exp(a["sigma"] * v))
        if self.dist == "normal":
            return float(rng.normal(a["mean"], a["sd"])) if v is None else a["mean"] + a["sd"] * v
        if self.dist == "bernoulli":
            return bool((rng.random() if v is None else v) < a["p"])
        # categorical
        p = a["p"] if set(a) == {"p"} else a
        if not isinstance(p, Mapping):
            if v is not None:
                raise ValueError("a categorical law over 1..n draws its own number (no variate)")
            return int(rng.choice(np.arange(1, len(p) + 1), p=p))
        u = float(rng.random()) if v is None else v
        names = [c for c in (self.choices or sorted(p)) if c in p]
        rest = [c for c in self.choices if c not in p]
        i = int(np.searchsorted(np.cumsum([p[k] for k in names]), u, side="right"))
        return names[i] if i < len(names) else (rest[0] if rest else names[-1])

    def describe(self, value: Callable[[str], Any] | None = None) -> str:
        """The law in one line; ``value(path)`` gives the numbers of its arguments, ``"setting"``
        included (None: names only)."""

        def arg(x: Any) -> str:
            if isinstance(x, tuple):
                return "[" + ", ".join(arg(y) for y in x) + "]"
            if isinstance(x, Law):  # a derived argument: its rule and its numbers
                return x.rule + ("".join(f" ({k}={arg(v)})" for k, v in x.args.items()))
            if not isinstance(x, str):
                return _num(float(x))
            v = None if value is None or x.startswith("draw.") else value(x)
            if v is None:
                return "the setting" if x == "setting" else x
            if x == "setting":
                x = "the setting"
            shown = ("[" + ", ".join(_fmt(y) for y in v) + "]") if isinstance(v, (tuple, list)) else _fmt(v)
            return f"{shown} ({x})"

        if self.dist == "derived":
            text = f"derived from {', '.join('the setting' if p == 'setting' else p for p in self.of)}: {self.rule}"
            if self.args:
                text += " (" + ", ".join(f"{k}={arg(v)}" for k, v in self.args.items()) + ")"
        else:
            text = f"{self.dist}(" + ", ".join(f"{k}={arg(v)}" for k, v in self.args.items()) + ")"
            if self.rule:
                text += f"; {self.rule}"
        if self.clip is not None:
            text += f", clipped [{arg(self.clip[0])}, {arg(self.clip[1])}]"
        if self.gate is not None:
            gate = None if value is None or not isinstance(self.gate, str) else value(self.gate)
            text = f"{'if' if isinstance(gate, bool) else 'with probability'} {arg(self.gate)}: {text}"
        if self.per != "run":
            text += f" (per {self.per})"
        return text


def draw_laws(laws: Mapping[str, Law], values: dict[str, Any], rng: np.random.Generator,
              stream: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One draw of each law of ``laws``, in their order, from ``rng``: ``{path: value}``.

    ``values`` holds the run's settings as nested plain data and its fleet laws under
    ``diversity``; a law's ``"setting"`` argument is the value at its own path, a path an
    earlier law of ``laws`` drew reads the drawn value, ``draw.<name>[.<i>]`` a variate of
    ``stream`` (:func:`draw_stream`).
    """
    out: dict[str, Any] = {}

    def value(x: str, path: str) -> Any:
        if x == "setting":
            return get_path(values, path)
        if x.startswith("draw."):
            name, *i = x.removeprefix("draw.").split(".")
            v = (stream or {})[name]
            return v[int(i[0])] if i else v
        return out[x] if x in out else get_path(values, x)

    for path, law in laws.items():
        out[path] = law.sample(rng, lambda x, path=path: value(x, path))
    return out


def _fmt(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, (int, float)):
        return _num(float(v))
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_fmt(x)}" for k, x in v.items()) + "}"
    return str(v)


# --------------------------------------------------------------------------- the space

#: ``[unit]`` after a space (not an expectation ``E[D]`` or an index).
_UNIT = re.compile(r"(?:^|(?<=[\s(]))\[([^\[\]]*)\]")


def unit_of(description: str | None) -> str:
    """The unit a field's description ends with (``"... [W K-1]"`` -> ``"W K-1"``), '' if none."""
    found = _UNIT.findall(description or "")
    return found[-1].strip() if found else ""


@dataclass(frozen=True)
class Parameter:
    """One setting of a twin's parameter space.

    Attributes
    ----------
    path : str
        Dotted path in the twin's configuration (``diversity.<field>`` for a fleet law).
    kind : str
        ``float``, ``int``, ``bool``, ``literal`` (one of ``choices``), ``list`` (a tuple of
        values), ``table`` (values by name) or ``section`` (an optional table, present or absent).
    unit : str
        From the field's description (``[unit]``); ``1`` or ``-``: dimensionless.
    default : Any
        The value when the scenario does not set it (``None``: an absent section).
    valid : ValidRange
        Every value the setting accepts (pydantic ``ge/gt/le/lt``).
    law : Law or None
        How the twin's diversity varies it across runs (None: the scenario's value in every run).
    calibration : Bound or None
        The default range calibration searches (None: not calibratable by default).
    """

    path: str
    kind: str
    unit: str
    default: Any
    valid: ValidRange
    description: str = ""
    choices: tuple[Any, ...] = ()
    optional: bool = False
    law: Law | None = None
    calibration: Bound | None = None

    @property
    def numeric(self) -> bool:
        return self.kind in ("float", "int")

    @property
    def calibratable(self) -> bool:
        return self.calibration is not None


def _models(ann: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation holds (a model, ``Model | None``, a tagged union)."""
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return [ann]
    if typing.get_origin(ann) in (dict, list, tuple):
        return []
    out: list[type[BaseModel]] = []
    for a in typing.get_args(ann):
        out += [m for m in _models(a) if m not in out]
    return out


def _kind(ann: Any) -> tuple[str | None, tuple[Any, ...], bool]:
    """``(kind, choices, optional)`` of a leaf annotation; kind None: not a setting of the space."""
    args = typing.get_args(ann)
    optional = type(None) in args
    if typing.get_origin(ann) is Literal:
        return "literal", args, False
    core = [a for a in args if a is not type(None)] if optional else [ann]
    if len(core) != 1:
        return None, (), optional
    a = core[0]
    if typing.get_origin(a) in (tuple, list):
        return "list", (), optional
    if typing.get_origin(a) is dict:
        return "table", (), optional
    if typing.get_origin(a) is Literal:
        return "literal", typing.get_args(a), optional
    if a is bool:
        return "bool", (), optional
    if a is int:
        return "int", (), optional
    if a is float:
        return "float", (), optional
    return None, (), optional


def _walk(model: type[BaseModel], prefix: str, optional: bool, out: dict[str, Parameter]) -> None:
    for name, info in model.model_fields.items():
        path = prefix + name
        ann = info.annotation
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        # a table of sections by key (dict[str, Model]): a ``*`` segment
        if typing.get_origin(ann) is dict and _models(typing.get_args(ann)[1]):
            for sub in _models(typing.get_args(ann)[1]):
                _walk(sub, path + ".*.", True, out)
            continue
        subs = _models(ann)
        if subs:
            is_optional = type(None) in typing.get_args(ann)
            if is_optional:
                out[path] = Parameter(path, "section", "", "absent" if default is None else "present",
                                      ValidRange(), info.description or "", choices=("absent", "present"),
                                      optional=optional)
            for sub in subs:
                _walk(sub, path + ".", optional or is_optional, out)
            continue
        kind, choices, opt = _kind(ann)
        if kind is None:
            continue
        if isinstance(default, BaseModel):
            default = None
        out.setdefault(path, Parameter(
            path, kind, unit_of(info.description), default, ValidRange.of_field(info),
            (info.description or "").strip(), choices=choices, optional=optional or opt,
        ))


def build_space(config: type[BaseModel], diversity: type[BaseModel] | None = None,
                laws: Mapping[str, Law] | None = None,
                calibratable: Mapping[str, Bound] | None = None) -> dict[str, Parameter]:
    """The parameter space of a twin: its ``config`` model's settings, then its ``diversity``
    model's as ``diversity.<field>``, each with its law (``laws``) and calibration range
    (``calibratable``). Raises ValueError if a law or a range names a path not in the space."""
    out: dict[str, Parameter] = {}
    _walk(config, "", False, out)
    if diversity is not None:
        _walk(diversity, "diversity.", False, out)
    for path, law in (laws or {}).items():
        if path not in out:
            raise ValueError(f"law for {path!r}: no such setting in {config.__name__}")
        unknown = [p for p in law.paths() if space_lookup(out, p) is None and not _is_field(config, diversity, p)]
        if unknown:
            raise ValueError(f"law for {path!r} reads unknown path(s) {unknown}")
        out[path] = replace(out[path], law=law)
    for path, b in (calibratable or {}).items():
        if path not in out:
            raise ValueError(f"calibration range for {path!r}: no such setting in {config.__name__}")
        out[path] = replace(out[path], calibration=b)
    return out


def _is_field(config: type[BaseModel], diversity: type[BaseModel] | None, path: str) -> bool:
    """Whether ``path`` names any field (also a tuple or a dict one, outside the space)."""
    parts = path.split(".")
    model: Any = diversity if parts[0] == "diversity" else config
    for p in parts[1:] if parts[0] == "diversity" else parts:
        subs = _models(model) if model is not None else []
        if not subs or p not in subs[0].model_fields:
            return False
        model = subs[0].model_fields[p].annotation
    return True


def space_lookup(space: Mapping[str, Parameter], path: str) -> Parameter | None:
    """The parameter at ``path``: an exact entry, or the ``*`` entry it matches (a table key)."""
    if path in space:
        return space[path]
    parts = path.split(".")
    for i in range(len(parts)):
        cand = ".".join([*parts[:i], "*", *parts[i + 1:]])
        if cand in space:
            return space[cand]
    return None


def nearest_paths(space: Mapping[str, Parameter], path: str, n: int = 3,
                  keep: Callable[[Parameter], bool] = lambda p: True) -> list[str]:
    """The ``n`` paths of ``space`` most like ``path`` (difflib), then those sharing its last segment."""
    names = [k for k, p in space.items() if keep(p)]
    near = difflib.get_close_matches(path, names, n=n, cutoff=0.5)
    last = path.split(".")[-1]
    near += [k for k in names if k.split(".")[-1] == last and k not in near]
    return near[:n]


def unknown_path(space: Mapping[str, Parameter], twin: str, path: str, what: str = "numeric parameter",
                 keep: Callable[[Parameter], bool] = lambda p: p.numeric) -> str:
    """One line: ``path`` is no ``what`` of the twin; the nearest known paths."""
    near = nearest_paths(space, path, keep=keep)
    return f"no {what} {path!r} in the {twin} twin's configuration" + (
        f"; nearest: {', '.join(near)}" if near else "")


def check_range(par: Parameter, low: float, high: float, what: str,
                attained: tuple[bool, bool] = (True, True)) -> str | None:
    """One line if the values from ``low`` to ``high`` of ``what`` (``"the bounds span"``) reach
    outside the valid range of ``par``; None if they stay inside (see :meth:`ValidRange.covers`).

    >>> p = Parameter("x_w", "float", "W", 1.0, ValidRange(low=0.0))
    >>> check_range(p, -1.0, 2.0, "the bounds span")
    'the bounds span [-1, 2] W, outside the allowed range [0, inf) W'
    """
    if par.valid.covers(low, high, attained):
        return None
    unit = f" {par.unit}" if par.unit and par.unit not in ("1", "-") else ""
    lo = "[" if attained[0] and low != -math.inf else "("
    hi = "]" if attained[1] and high != math.inf else ")"
    return f"{what} {lo}{_num(low)}, {_num(high)}{hi}{unit}, outside the allowed range {par.valid}{unit}"


# --------------------------------------------------------------------------- listing

#: Columns of :func:`space_rows` (``twinforge params``).
ROW_FIELDS = ("path", "kind", "unit", "value", "valid", "calibration", "law", "description")


def space_rows(space: Mapping[str, Parameter], values: Mapping[str, Any] | None = None, *,
               laws_on: bool = True, replaced: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """The space as rows (:data:`ROW_FIELDS`) for listing.

    Parameters
    ----------
    space : mapping of str to Parameter
        A twin's :meth:`~twinforge.core.twin.Twin.parameter_space`.
    values : dict, optional
        A scenario's settings as nested plain data (its config's dump, its fleet laws under
        ``diversity``): the ``value`` column and the numbers of each law; None: the defaults.
    laws_on : bool
        False when the scenario turns its ``[diversity]`` off: no law drawn per run varies
        anything (a feeder's homes, drawn per home from ``[grid.homes]``, still differ).
    replaced : mapping of str to str, optional
        Paths whose law a campaign replaces, with the campaign law's text.
    """

    def value_of(path: str) -> Any:
        if values is None:
            p = space.get(path)
            return None if p is None else p.default
        try:
            return get_path(values, path)
        except KeyError:
            return None

    rows = []
    for path, p in space.items():
        if "*" in path:
            value: Any = "(per key)"
        elif p.kind == "section":
            value = p.default if values is None else ("absent" if value_of(path) is None else "present")
        else:
            value = value_of(path)
        if replaced and path in replaced:
            law = replaced[path]
        elif p.law is None or path.startswith("diversity.") or (not laws_on and p.law.per == "run"):
            law = None
        else:
            law = p.law.describe(lambda x, path=path: value_of(path if x == "setting" else x))
        rows.append({
            "path": path, "kind": p.kind, "unit": p.unit, "value": list(value) if isinstance(value, tuple) else value,
            "valid": str(p.valid) if p.numeric else (list(p.choices) if p.choices else None),
            "calibration": None if p.calibration is None else [p.calibration.low, p.calibration.high],
            "law": law, "description": p.description,
        })
    return rows
