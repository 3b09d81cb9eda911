"""The calibratable parameters: dotted paths, their search ranges, and how values are set.

One small interface, :class:`ParameterSource` (``bounds(twin) -> {path: Bound}``), stands
between the calibration and the list of parameters it may search. By default the list is
what each twin declares (``Twin.calibratable``, :class:`TwinParameters`); fixed tables
(:class:`TableParameters`) can replace it without any other change to
:mod:`~twinforge.fidelity.calibration`. Paths are read and set by :mod:`twinforge.core.params`.

A path is a dotted field of the twin's config (``appliances.usage_scale``,
``homes.cooling_share``, ``commercial.classes.industry.open_h``) or ``diversity.<field>`` of
the scenario's fleet laws; in a table, ``*`` stands for any one segment (a class name).
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


from twinforge.core import params
from twinforge.core.params import Bound, check_range, space_lookup
from twinforge.fidelity.prepared import CompareError

__all__ = ["Bound", "ParameterSource", "TableParameters", "DEFAULT_SOURCE", "HOME_PARAMETERS",
           "GRID_PARAMETERS", "MACHINE_PARAMETERS", "DIVERSITY_PARAMETERS", "PARAMETERS", "TwinParameters", "resolve_params",
           "with_params", "get_path", "DIVERSITY_KEY", "DIVERSITY_PREFIX"]


def _declared(name: str, fleet: bool) -> dict[str, Bound]:
    import twinforge.twins  # noqa: F401  (registers the built-in twins)
    from twinforge.core.registry import TWINS

    return {k: b for k, b in TWINS.get(name).calibratable.items() if k.startswith(DIVERSITY_PREFIX) == fleet}


#: Where the fleet laws sit among the calibrated paths: ``diversity.<field>``.
DIVERSITY_KEY = "diversity"
DIVERSITY_PREFIX = DIVERSITY_KEY + "."

#: The built-in twins' declared ranges (``Twin.calibratable``), config and fleet parts apart.
HOME_PARAMETERS: dict[str, Bound] = _declared("home", False)
GRID_PARAMETERS: dict[str, Bound] = _declared("grid", False)
MACHINE_PARAMETERS: dict[str, Bound] = _declared("machine", False)
DIVERSITY_PARAMETERS: dict[str, dict[str, Bound]] = {n: _declared(n, True) for n in ("home", "grid", "machine")}

#: Default search ranges by twin name (the twin's config fields and its diversity fields).
PARAMETERS: dict[str, dict[str, Bound]] = {
    "home": {**HOME_PARAMETERS, **DIVERSITY_PARAMETERS["home"]},
    "grid": {**GRID_PARAMETERS, **DIVERSITY_PARAMETERS["grid"]},
    "machine": {**MACHINE_PARAMETERS, **DIVERSITY_PARAMETERS["machine"]},
}


class ParameterSource(Protocol):
    """Where the calibration finds the default search range of a parameter."""

    def bounds(self, twin: str) -> Mapping[str, Bound]:
        """``{dotted path (``*`` = any one segment): Bound}`` for the twin."""
        ...


@dataclass(frozen=True)
class TableParameters:
    """A :class:`ParameterSource` from fixed tables by twin name."""

    tables: Mapping[str, Mapping[str, Bound]]

    def bounds(self, twin: str) -> Mapping[str, Bound]:
        return self.tables.get(twin, {})


@dataclass(frozen=True)
class TwinParameters:
    """A :class:`ParameterSource` from what each registered twin declares (``Twin.calibratable``)."""

    def bounds(self, twin: str) -> Mapping[str, Bound]:
        import twinforge.twins  # noqa: F401  (registers the built-in twins)
        from twinforge.core.registry import TWINS

        return TWINS.get(twin).calibratable if twin in TWINS else {}


#: The default source: the twins' own declarations.
DEFAULT_SOURCE: ParameterSource = TwinParameters()


def lookup(defaults: Mapping[str, Bound], name: str) -> Bound | None:
    """The range of ``name``: an exact entry, else the first ``*`` pattern it matches."""
    if name in defaults:
        return defaults[name]
    parts = name.split(".")
    for pattern, b in defaults.items():
        if "*" in pattern and len(pattern.split(".")) == len(parts) and fnmatch.fnmatchcase(name, pattern):
            return b
    return None


def _space(twin: str) -> Mapping[str, params.Parameter]:
    import twinforge.twins  # noqa: F401  (registers the built-in twins)
    from twinforge.core.registry import TWINS

    return TWINS.get(twin).parameter_space() if twin in TWINS else {}


def get_path(cfg: dict[str, Any], path: str, twin: str = "") -> Any:
    try:
        return params.get_path(cfg, path)
    except KeyError:
        space = _space(twin)
        if params.space_lookup(space, path) is not None:
            why = ": a setting of a section the base scenario does not set"
        else:
            near = params.nearest_paths(space, path, keep=lambda p: p.numeric)
            why = f"; nearest: {', '.join(near)}" if near else ""
        raise CompareError(f"unknown {twin + ' ' if twin else ''}parameter {path!r}{why}") from None


def _combined(base: Any, diversity: Any) -> dict[str, Any]:
    """The config's fields as a dict, with the fleet laws under ``diversity`` when given."""
    data = base.model_dump()
    if diversity is not None:
        data[DIVERSITY_KEY] = diversity.model_dump()
    return data


def with_params(base: Any, values: Mapping[str, float], bounds: Mapping[str, Bound],
                 diversity: Any = None) -> tuple[Any, Any]:
    """Copies of the twin config ``base`` and of its ``diversity`` with ``values`` set.

    ``diversity.<field>`` paths set the fleet laws (``diversity`` must then be given), every
    other path the config; integers are rounded. Returns ``(config, diversity)``.
    """
    data = _combined(base, diversity)
    for name, v in values.items():
        params.set_path(data, name, int(round(v)) if bounds[name].integer else float(v))
    div_data = data.pop(DIVERSITY_KEY) if diversity is not None else None
    for hv in (data.get("hvac"), (data.get("home") or {}).get("hvac")):
        if isinstance(hv, dict) and hv.get("heat_setback_c", 0) > hv.get("heat_setpoint_c", math.inf):
            hv["heat_setback_c"] = hv["heat_setpoint_c"]
    new_div = diversity if div_data is None else type(diversity).model_validate(div_data)
    return type(base).model_validate(data), new_div



def resolve_params(
    params: Sequence[str] | Mapping[str, tuple[float, float] | Bound | None], base_dump: dict[str, Any],
    twin: str = "home", source: "ParameterSource | None" = None,
) -> dict[str, Bound]:
    """The search range of each parameter: given, or the ``source``'s default (CompareError)."""
    source = DEFAULT_SOURCE if source is None else source
    defaults = source.bounds(twin)
    space = _space(twin)
    out: dict[str, Bound] = {}
    items = params.items() if isinstance(params, Mapping) else ((p, None) for p in params)
    for name, b in items:
        cur = get_path(base_dump, name, twin)
        if isinstance(cur, bool) or not isinstance(cur, (int, float)):
            raise CompareError(f"{twin} parameter {name!r} is not numeric (got {cur!r})")
        if b is None:
            b = lookup(defaults, name)
            if b is None:
                raise CompareError(
                    f"no default range for {name!r}; give bounds (name=low:high) or use one of "
                    f"{', '.join(defaults) or '(none for this twin)'}"
                )
        elif not isinstance(b, Bound):
            lo, hi = b
            if not float(lo) < float(hi):
                raise CompareError(f"{name}: a search range needs low < high, got {lo}:{hi}")
            b = Bound(float(lo), float(hi), integer=isinstance(cur, int))
        par = space_lookup(space, name)
        why = None if par is None else check_range(par, b.low, b.high, f"{name}: the search range spans")
        if why is not None:
            raise CompareError(why)
        out[name] = b
    if not out:
        raise CompareError("no parameter to calibrate")
    return out
