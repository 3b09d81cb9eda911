"""Build docs/nomenclature.md from the code: every channel and parameter with its unit.

    python docs/_nomenclature.py          # rewrite docs/nomenclature.md
    python docs/_nomenclature.py --check  # exit 1 if the file is out of date (run by the tests)
"""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic import BaseModel

from twinforge.core.params import ValidRange

HERE = Path(__file__).parent

TWIN_CHANNELS = {
    "home": "twinforge.twins.home:HOME_CHANNELS",
    "grid": "twinforge.twins.grid:grid_channels",
    "machine": "twinforge.twins.machine:machine_channels",
}
TWIN_CONFIGS = {
    "home": ("twinforge.twins.home:HomeConfig", "twinforge.twins.home:HomeDiversity"),
    # The grid's [grid.home] and [grid.homes] sections are the home twin's models above.
    "grid": ("twinforge.twins.grid:GridConfig", "twinforge.twins.grid:GridDiversity"),
    "machine": ("twinforge.twins.machine:MachineConfig", "twinforge.twins.machine:MachineDiversity"),
}
SKIP_SECTIONS = {"GridConfig": ("home.", "homes.", "weather.")}


def _load(ref: str):
    mod, name = ref.split(":")
    module = __import__(mod, fromlist=[name])
    return getattr(module, name)


def _range(field) -> str:
    valid = ValidRange.of_field(field)  # the parameter space's reading of ge/gt/le/lt
    return str(valid) if valid.bounded else ""


def _rows(model: type[BaseModel], prefix: str = "") -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        ann = field.annotation
        sub = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
        if sub is None:
            args = [a for a in getattr(ann, "__args__", ()) if isinstance(a, type) and issubclass(a, BaseModel)]
            sub = args[0] if args else None
        if sub is not None:
            rows += _rows(sub, f"{prefix}{name}.")
            continue
        if field.is_required():
            default = "required"
        else:
            value = field.get_default(call_default_factory=True)
            default = f"`{'None' if value is None else repr(value)}`"
        desc = (field.description or "").replace("|", "\\|")
        tname = getattr(ann, "__name__", str(ann)).replace("typing.", "").replace("|", "\\|")
        rows.append(f"| `{prefix}{name}` | {tname} | {default} | {_range(field)} | {desc} |")
    return rows


def build() -> str:
    out = [
        "# Nomenclature",
        "",
        "Generated from the code by `python docs/_nomenclature.py`; a test fails when it is stale.",
        "Units are SI; column names carry them as suffixes (`_w` watt, `_c` degree Celsius,",
        "`_w_per_m2` W m-2, `_s` second, `_kwh` kilowatt-hour, `_pu` per unit). Ranges are the",
        "accepted values: `[a, b]` inclusive, `(a, b)` exclusive.",
        "",
    ]
    for twin, ref in TWIN_CHANNELS.items():
        out += [f"## Channels of the {twin} twin", "", "| column | unit | kind | dtype | meaning |", "|---|---|---|---|---|"]
        channels = _load(ref)
        if callable(channels) and twin == "machine":  # channels that depend on the configuration: all
            from twinforge.twins.machine import MachineConfig, MotorCurrentParams

            channels = channels(MachineConfig(current=MotorCurrentParams()))
        elif callable(channels):
            channels = channels(None)
        for ch in channels:
            out.append(f"| `{ch.name}` | {ch.unit or '-'} | {ch.kind} | {ch.dtype} | {ch.description} |")
        out += ["", "`interval`: mean over `[time, time + period)`; `instant`: value at `time`;",
                "`label`: ground truth, not a measurement.", ""]
        for ref in TWIN_CONFIGS[twin]:
            model = _load(ref)
            out += [f"## Parameters: `{model.__name__}`", "", (model.__doc__ or "").strip().split("\n\n")[0], "",
                    "| parameter | type | default | range | meaning |", "|---|---|---|---|---|"]
            skip = SKIP_SECTIONS.get(model.__name__, ())
            rows = [r for r in _rows(model) if not any(r.startswith(f"| `{p}") for p in skip)]
            if skip:
                rows.append(f"| `{'`, `'.join(p + '*' for p in skip)}` | | | | as the home twin's `weather`, `HomeConfig` and `HomeDiversity` above |")
            out += rows
            out.append("")
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    text = build()
    target = HERE / "nomenclature.md"
    if "--check" in sys.argv:
        sys.exit(0 if target.exists() and target.read_text() == text else 1)
    target.write_text(text)
    print(f"wrote {target}")
