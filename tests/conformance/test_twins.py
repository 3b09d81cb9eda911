"""Every registered twin and event type through the same checks (after scikit-learn's
estimator checks): the contract (:class:`twinforge.core.twin.Twin`), declared channels with
units, same seed same bytes, chunk-size independence, resume, labels that agree with the
events, events a twin cannot receive refused, bad parameters refused naming the field, and
no global random state touched.

A twin registered without a case in :data:`CASES` fails the first test: a new twin gets its
smallest scenario here and then passes every check or says why not. Twin-specific physics
stays in tests/twins/.
"""

from __future__ import annotations

import inspect
import random

import numpy as np
import pandas as pd
import pytest
import simpy
from pydantic import BaseModel

import twinforge.twins  # noqa: F401  (registers the built-in twins and their events)
from twinforge.campaign.runner import build_twin, generate, plan_runs
from twinforge.campaign.spec import SpecError, load_spec
from twinforge.core.engine import simulate
from twinforge.core.registry import EVENTS, TWINS
from twinforge.core.twin import TARGETS, Rendered, Twin
from twinforge.events.base import receivers
from twinforge.events.sensor import SensorFault, measured_channels

from _support import digest, interrupt_after_run_0

START = "2024-01-08"

#: The smallest scenario of each registered twin that still exercises its moving parts
#: (diversity on; a home with PV, battery, EV and cooling; a feeder of a few homes with its
#: faults; a machine whose faults start within minutes).
CASES: dict[str, dict] = {
    "home": dict(days=2, period="15min",
                 diversity={"pv_share": 1.0, "battery_share_of_pv": 1.0, "ev_share": 1.0, "cooling_share": 1.0}),
    "grid": dict(days=2, period="15min", grid={"n_homes": 4, "protection": {"fault_rate_per_year": 50.0}}),
    "machine": dict(days=600 / 86_400, period="10s",
                    machine={"sample_rate_hz": 12_000.0, "fault_modes": ["outer_race", "imbalance"],
                             "degradation": {"onset_weibull_scale_s": 120.0}}),
}

TWIN_NAMES = TWINS.names()
EVENT_NAMES = EVENTS.names()
PAIRS = [(t, e) for t in TWIN_NAMES for e in EVENT_NAMES]
RECEIVED = [(t, e) for t, e in PAIRS if t in receivers(EVENTS.get(e))]
REFUSED = [(t, e) for t, e in PAIRS if t not in receivers(EVENTS.get(e))]


def spec_of(twin: str, *, seed: int = 7, runs: int = 1, events=(), **over):
    return load_spec(None, twin=twin, runs=runs, seed=seed, start=START, events=list(events), **{**CASES[twin], **over})


def render(spec, run_id: int = 0, chunk_samples: int | None = None):
    """(samples, tables, events, twin, blocks) of one run, concatenated over its blocks."""
    twin = build_twin(spec, plan_runs(spec, spec.seed)[run_id])
    grid = twin.run_grid(spec.grid())
    blocks = list(simulate(twin, grid, chunk_samples=chunk_samples or spec.chunk_samples))
    samples = {k: _concat([b.samples[k] for b in blocks]) for k in blocks[0].samples}
    tables = {
        name: {k: _concat([b.tables[name][k] for b in blocks]) for k in blocks[0].tables[name]}
        for name in blocks[0].tables
    }
    return samples, tables, twin.events(run_id), twin, blocks


def _concat(parts: list) -> np.ndarray:
    if hasattr(parts[0], "to_pylist"):  # pyarrow list arrays (events_active)
        return np.array([x for p in parts for x in p.to_pylist()], dtype=object)
    return np.concatenate([np.asarray(p) for p in parts])


def event_of(name: str, twin: str, spec) -> dict:
    """One event of type ``name`` placed in the second quarter of ``spec``'s horizon."""
    cls = EVENTS.get(name)
    lo, hi = cls.severity_range
    horizon_h = spec.days * 24.0
    ev = {"type": name, "start": str(pd.Timestamp(START) + pd.Timedelta(hours=horizon_h / 4)),
          "duration_h": horizon_h / 4, "severity": lo + 0.5 * (hi - lo)}
    if issubclass(cls, SensorFault):
        plugin = TWINS.get(twin)
        channels = plugin(spec.config, None).channels()
        ev["params"] = {"channel": measured_channels(channels, float_only=True)[0]}
    return ev


# -- the contract ---------------------------------------------------------------------------


def test_every_registered_twin_has_a_conformance_case():
    assert set(TWIN_NAMES) == set(CASES), "give each registered twin its smallest scenario in CASES"


@pytest.mark.parametrize("name", TWIN_NAMES)
def test_the_twin_keeps_the_contract(name):
    cls = TWINS.get(name)
    assert issubclass(cls, Twin) and not inspect.isabstract(cls) and cls.name == name
    assert issubclass(cls.Config, BaseModel) and issubclass(cls.Diversity, BaseModel)
    lo, hi = cls.period_range_s
    assert 0.0 < lo <= hi
    assert "measurements" in cls.targets and set(cls.targets) <= set(TARGETS)
    spec = spec_of(name)
    twin = build_twin(spec, plan_runs(spec, spec.seed)[0])
    twin.start(simpy.Environment(), twin.run_grid(spec.grid()))
    for target in cls.targets:  # every declared target is handed out once the run started
        assert twin.target(target) is not None
    for target in set(TARGETS) - set(cls.targets):
        with pytest.raises(LookupError, match=f"the {name} twin has no '{target}' target; it exposes: "):
            twin.target(target)


@pytest.mark.parametrize("name", TWIN_NAMES)
def test_declared_channels_are_the_produced_columns_with_units(name):
    _, _, _, twin, blocks = render(spec_of(name), chunk_samples=50)
    channels = twin.channels()
    assert len({c.name for c in channels}) == len(channels)
    for c in channels:
        assert c.kind in ("interval", "instant", "label") and isinstance(c.unit, str) and c.description
        if c.kind != "label":
            assert c.unit, f"{c.name}: a measured channel names its unit"
    assert len(blocks) > 1
    for b in blocks:
        assert isinstance(b, Rendered)
        assert list(b.samples) == [c.name for c in channels] + ["time"]
        n = len(b.samples["time"])
        for c in channels:
            arr = b.samples[c.name]
            assert len(arr) == n, c.name
            if c.dtype not in ("str", "list<str>"):
                assert np.asarray(arr).dtype == np.dtype(c.dtype), c.name
        for table in b.tables.values():
            assert len({len(v) for v in table.values()}) == 1


@pytest.mark.parametrize("name", TWIN_NAMES)
def test_same_seed_same_bytes_other_seed_other_bytes(name, tmp_path):
    def make(seed, folder):
        generate(spec_of(name, seed=seed, runs=2), tmp_path / folder, progress=False)
        return digest(tmp_path / folder)

    a, b, c = make(5, "a"), make(5, "b"), make(6, "c")
    assert a == b
    samples = [f for f in a if f.startswith("samples/")]
    assert samples and all(a[f] != c[f] for f in samples)


@pytest.mark.parametrize("name", TWIN_NAMES)
def test_output_does_not_depend_on_the_chunk_size(name):
    spec = spec_of(name, events=[event_of("heat_wave", name, spec_of(name))])
    a, ta, ea, _, blocks_a = render(spec)
    b, tb, eb, _, blocks_b = render(spec, chunk_samples=7)
    assert len(blocks_b) > len(blocks_a)
    assert list(a) == list(b)
    for k in a:  # the same values to the last bit
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    for name_t in ta:
        for k in ta[name_t]:
            np.testing.assert_array_equal(ta[name_t][k], tb[name_t][k])
    # The same events, ids included (a home's cycles come block by block, in an order of
    # each block's own), to the nanosecond.
    pd.testing.assert_frame_equal(ea, eb)


@pytest.mark.parametrize("name", TWIN_NAMES)
def test_an_interrupted_dataset_resumes_to_the_same_bytes(name, tmp_path):
    spec = spec_of(name, runs=2)
    out = tmp_path / "d"
    generate(spec, out, progress=False)
    whole = digest(out)
    interrupt_after_run_0(out)
    assert generate(spec, out, mode="resume", progress=False).runs_written == 1
    assert digest(out) == whole


@pytest.mark.parametrize("name", TWIN_NAMES)
def test_bad_parameters_are_refused_naming_the_field(name):
    cls = TWINS.get(name)
    bounded = [(f, m.le) for f, info in cls.Config.model_fields.items() for m in info.metadata
               if getattr(m, "le", None) is not None and info.annotation in (int, float)]
    assert bounded, f"the {name} twin's Config declares no bounded number"
    field, le = bounded[0]
    with pytest.raises(SpecError) as e:
        spec_of(name, **{name: {**CASES[name].get(name, {}), field: le * 2 + 1}})
    msg = str(e.value)
    assert len(msg.splitlines()) == 1 and msg.startswith(f"{name}.{field}:") and "allowed" in msg, msg
    with pytest.raises(SpecError, match=rf"^{name}\.no_such_setting: "):
        spec_of(name, **{name: {"no_such_setting": 1.0}})


@pytest.mark.parametrize("name", TWIN_NAMES)
def test_no_global_random_state_is_touched(name):
    np.random.seed(12345)
    random.seed(12345)
    before_np, before_py = np.random.get_state()[1].copy(), random.getstate()
    render(spec_of(name, events=[event_of("heat_wave", name, spec_of(name))]))
    np.testing.assert_array_equal(np.random.get_state()[1], before_np)
    assert random.getstate() == before_py


# -- event types ----------------------------------------------------------------------------


@pytest.mark.parametrize("event", EVENT_NAMES)
def test_every_event_type_declares_what_it_acts_through(event):
    cls = EVENTS.get(event)
    assert set(cls.needs) | set(cls.uses_if_exposed) <= set(TARGETS)
    lo, hi = cls.severity_range
    assert lo <= hi and cls.severity_unit and cls.category in ("weather", "grid", "machine", "sensor")
    assert receivers(cls), f"no registered twin exposes what {event!r} needs ({', '.join(cls.needs)})"


@pytest.mark.parametrize(("name", "event"), RECEIVED)
def test_labels_agree_with_the_events(name, event):
    spec = spec_of(name)
    spec = spec_of(name, events=[event_of(event, name, spec)])
    s, _, ev, _, _ = render(spec, chunk_samples=50)
    t = pd.DatetimeIndex(s["time"]).tz_localize("UTC")
    placed = pd.Timestamp(spec.events[0].start)
    mine = ev[ev.start == placed]
    assert len(mine), f"{event} left no event starting at {placed}"
    for row in mine.itertuples():  # the placed event labels exactly its window
        inside = (t >= row.start) & (t < row.end)
        assert inside.any()
        assert all(row.type in active for active in s["events_active"][inside])
    labelled = s["event_id"] >= 0  # every labelled sample points at an event that covers it
    rows = ev.set_index("event_id").loc[s["event_id"][labelled]]
    assert (rows.type.to_numpy() == s["event"][labelled]).all()
    assert ((rows.start.to_numpy() <= t[labelled]) & (t[labelled] < rows.end.to_numpy())).all()
    np.testing.assert_array_equal(rows.severity.to_numpy(), s["severity"][labelled])
    assert not any(len(a) for a in s["events_active"][~labelled])


@pytest.mark.parametrize(("name", "event"), REFUSED)
def test_an_event_the_twin_cannot_receive_is_refused_in_one_line(name, event):
    spec = spec_of(name)
    with pytest.raises(SpecError) as e:
        spec_of(name, events=[event_of(event, name, spec)])
    msg = str(e.value)
    missing = [t for t in EVENTS.get(event).needs if t not in TWINS.get(name).targets]
    assert len(msg.splitlines()) == 1, msg
    assert msg.startswith(f"events.0.type: '{event}' needs the {', '.join(missing)} target"), msg
    assert f"which the {name} twin does not expose" in msg


@pytest.mark.parametrize("name", TWIN_NAMES)
def test_the_calibratable_parameters_are_numeric_paths_of_the_twin(name):
    from twinforge.core.params import get_path
    from twinforge.fidelity.parameters import DEFAULT_SOURCE

    cls = TWINS.get(name)
    assert DEFAULT_SOURCE.bounds(name) is cls.calibratable  # calibration's list is the twin's own
    data = {**cls.Config().model_dump(), "diversity": cls.Diversity().model_dump()}
    checked = 0
    for path, bound in cls.calibratable.items():
        assert bound.low < bound.high
        section = data.get(path.split(".")[0])
        if "*" in path or section is None:  # a pattern over named classes, or an optional section off by default
            continue
        value = get_path(data, path)
        assert isinstance(value, (int, float)) and not isinstance(value, bool), path
        checked += 1
    assert checked > 0


def test_one_dotted_path_setter_serves_campaigns_and_calibration():
    from twinforge.core.params import get_path, set_path

    data = {"hvac": {"heat_setpoint_c": 20.0}, "ev": None}
    set_path(data, "hvac.heat_setpoint_c", 21.5)
    assert get_path(data, "hvac.heat_setpoint_c") == 21.5
    for bad in ("hvac.nope", "ev.capacity_kwh", "nope"):
        with pytest.raises(KeyError):
            get_path(data, bad)
    with pytest.raises(KeyError):
        set_path(data, "ev.capacity_kwh", 1.0)


@pytest.mark.parametrize("name", TWIN_NAMES)
def test_a_generated_dataset_verifies_clean(name, tmp_path):
    """`twinforge verify` finds nothing wrong in what the twin wrote, with an event in it
    (labels that may be NaN are declared: a machine's healthy snapshots have no fault SNR)."""
    from twinforge.campaign.verify import verify

    spec = spec_of(name, runs=2, events=[event_of("heat_wave", name, spec_of(name))])
    generate(spec, tmp_path / "d", progress=False)
    report = verify(tmp_path / "d", progress=False)
    assert report.problems == [], report.problems
