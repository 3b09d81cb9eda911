"""Calibrated twins as scenario files (presets) that ``twinforge generate --config`` reads."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from twinforge.fidelity._io import atomic_write_text, check_output_file

__all__ = ["preset_toml", "diff_config", "write_preset_text", "is_preset", "PRESET_MARK"]

#: Every preset twinforge writes starts with this line.
PRESET_MARK = b"# twinforge preset"


def diff_config(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """The entries of ``a`` that differ from ``b`` (nested); ``None`` values are left out.

    An optional section that ``b`` lacks (``dhw = None`` by default) is kept whole, empty
    or not, so that writing it switches the component on.
    """
    out: dict[str, Any] = {}
    for k, v in a.items():
        if isinstance(v, dict):
            present = isinstance(b.get(k), dict)
            sub = diff_config(v, b[k] if present else {})
            if sub or not present:
                out[k] = sub
        elif v != b.get(k) and v is not None:
            out[k] = v
    return out


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"cannot write {v} to TOML")
        return repr(round(v, 6)) if abs(v) >= 1e-6 or v == 0 else repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise ValueError(f"cannot write {type(v).__name__} to TOML")


def preset_toml(data: Mapping[str, Any], header: Sequence[str] = ()) -> str:
    """A TOML document from nested plain data (scalars, lists, tables), comments first."""
    lines = [f"# {h}" for h in header]
    if lines:
        lines.append("")

    def table(prefix: str, d: Mapping[str, Any]) -> None:
        scalars = {k: v for k, v in d.items() if not isinstance(v, Mapping)}
        tables = {k: v for k, v in d.items() if isinstance(v, Mapping)}
        if prefix and (scalars or not tables):  # an empty table still switches a section on
            lines.append(f"[{prefix}]")
        for k, v in scalars.items():
            lines.append(f"{k} = {_toml_value(v)}")
        if scalars or (prefix and not tables):
            lines.append("")
        for k, v in tables.items():
            table(f"{prefix}.{k}" if prefix else k, v)

    table("", data)
    return "\n".join(lines).rstrip() + "\n"


def is_preset(path: Path) -> bool:
    """Whether ``path`` is a regular file that starts like a preset twinforge wrote."""
    try:
        with open(path, "rb") as f:
            return f.read(len(PRESET_MARK)) == PRESET_MARK
    except OSError:
        return False


def write_preset_text(path: Path, text: str, *, overwrite: bool = True) -> Path:
    """Write a preset: validated with ``load_spec`` beside ``path``, then moved in place.

    The target is checked again just before the move: only a new path or a regular file
    that is an earlier preset is ever replaced (never a device node, a FIFO, a folder or a
    symbolic link).
    """
    from twinforge.campaign.spec import load_spec

    def recheck(p: Path) -> None:
        check_output_file(p, "preset", overwrite, is_preset, what="preset")

    recheck(path)
    return atomic_write_text(path, text, validate=lambda tmp: load_spec(tmp), recheck=recheck)
