"""Bearing kinematics: published defect-frequency multiples and invariants."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twinforge.processes.bearing import BEARING_PRESETS, BearingGeometry, defect_frequencies

# Case Western Reserve University bearing data centre, drive-end SKF 6205-2RS JEM:
# multiples of the shaft speed as published with the data set (BSF quoted as 2 x spin).
CWRU_MULTIPLES = {"bpfo": 3.5848, "bpfi": 5.4152, "bsf": 4.7135 / 2.0, "ftf": 0.39828}


@pytest.mark.parametrize("key", sorted(CWRU_MULTIPLES))
def test_cwru_multiples_within_0p1_percent(key):
    f = defect_frequencies(BEARING_PRESETS["6205-2RS"], 1.0)
    assert float(f[key]) == pytest.approx(CWRU_MULTIPLES[key], rel=1e-3)


def test_cwru_bsf_is_spin_convention():
    f = defect_frequencies(BEARING_PRESETS["6205-2RS"], 1.0)
    assert float(f["bsf"]) == pytest.approx(2.357, rel=1e-3)
    assert 2.0 * float(f["bsf"]) == pytest.approx(4.7135, rel=1e-3)


def test_ims_rexnord_frequencies_at_2000_rpm():
    # Widely quoted for the IMS rig at 2000 rpm: BPFO 236.4 Hz, BPFI 296.9 Hz, FTF 14.8 Hz.
    f = defect_frequencies(BEARING_PRESETS["rexnord-za2115"], 2000.0 / 60.0)
    assert float(f["bpfo"]) == pytest.approx(236.4, rel=1e-3)
    assert float(f["bpfi"]) == pytest.approx(296.9, rel=1e-3)
    assert float(f["ftf"]) == pytest.approx(14.77, rel=2e-3)


def test_pronostia_frequencies_at_1800_rpm():
    f = defect_frequencies(BEARING_PRESETS["pronostia"], 30.0)
    assert float(f["bpfo"]) == pytest.approx(168.3, rel=1e-3)
    assert float(f["bpfi"]) == pytest.approx(221.7, rel=1e-3)


@pytest.mark.parametrize("name", sorted(BEARING_PRESETS))
def test_invariants(name):
    g = BEARING_PRESETS[name]
    shaft = np.linspace(0.0, 100.0, 201)
    f = defect_frequencies(g, shaft)
    for key in ("bpfo", "bpfi", "bsf", "ftf"):
        assert f[key].shape == shaft.shape
        assert np.all(np.diff(f[key]) > 0.0)  # strictly increasing with shaft speed
        assert f[key][0] == 0.0
    assert np.all(f["ftf"][1:] < shaft[1:])  # cage turns slower than the shaft
    assert np.all(f["bpfo"][1:] < f["bpfi"][1:])
    # identities: BPFO = n FTF, BPFO + BPFI = n * shaft
    np.testing.assert_allclose(f["bpfo"], g.n_elements * f["ftf"])
    np.testing.assert_allclose(f["bpfo"] + f["bpfi"], g.n_elements * shaft)


def test_scalar_and_array_inputs_agree():
    g = BEARING_PRESETS["pronostia"]
    arr = defect_frequencies(g, np.array([[25.0, 30.0]]))
    for key, val in arr.items():
        assert val.shape == (1, 2)
        assert float(defect_frequencies(g, 30.0)[key]) == pytest.approx(val[0, 1])


def test_contact_angle_lowers_ratio():
    flat = BearingGeometry(10, 0.01, 0.05, 0.0)
    angled = BearingGeometry(10, 0.01, 0.05, 40.0)
    assert float(defect_frequencies(angled, 1.0)["bpfo"]) > float(
        defect_frequencies(flat, 1.0)["bpfo"]
    )


@pytest.mark.parametrize(
    "args, match",
    [
        ((9, 0.05, 0.04, 0.0), "smaller than pitch"),
        ((0, 0.01, 0.04, 0.0), "positive"),
        ((9, -0.01, 0.04, 0.0), "positive"),
        ((9, 0.01, 0.04, 95.0), "contact_angle_deg"),
        ((9.5, 0.01, 0.04, 0.0), "integer"),
    ],
)
def test_geometry_validation(args, match):
    with pytest.raises(ValueError, match=match):
        BearingGeometry(*args)


def test_geometry_is_frozen():
    with pytest.raises(AttributeError):
        BEARING_PRESETS["pronostia"].n_elements = 3  # type: ignore[misc]


def test_negative_or_nan_shaft_speed_rejected():
    with pytest.raises(ValueError, match="shaft_hz"):
        defect_frequencies(BEARING_PRESETS["pronostia"], -1.0)
    with pytest.raises(ValueError, match="shaft_hz"):
        defect_frequencies(BEARING_PRESETS["pronostia"], np.nan)


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(1, 40),
    ball_mm=st.floats(0.5, 50.0),
    ratio=st.floats(0.01, 0.99),
    angle=st.floats(0.0, 89.0),
    shaft=st.floats(0.1, 500.0),
)
def test_kinematic_identities_hold_for_any_geometry(n, ball_mm, ratio, angle, shaft):
    g = BearingGeometry(n, ball_mm * 1e-3, ball_mm * 1e-3 / ratio, angle)
    f = {k: float(v) for k, v in defect_frequencies(g, shaft).items()}
    assert 0.0 < f["ftf"] < 0.5 * shaft
    assert 0.0 < f["bpfo"] < f["bpfi"]
    assert f["bpfo"] + f["bpfi"] == pytest.approx(n * shaft)
    assert f["bsf"] > 0.0


# -- load on the rolling elements (Stribeck, Harris) ------------------------------------------

from twinforge.processes.bearing import element_load, load_distribution, surface_speeds  # noqa: E402


def test_mfpt_frequencies_at_25_hz():
    # the MFPT data set's own figures (PROVENANCE): BPFO 81.1, BPFI 118.9, FTF 10.1, BSF 63.9 Hz
    f = defect_frequencies(BEARING_PRESETS["mfpt-nice"], 25.0)
    assert [round(float(f[k]), 1) for k in ("bpfo", "bpfi", "ftf", "bsf")] == [81.1, 118.9, 10.1, 63.9]


def test_zero_clearance_gives_stribecks_constant_and_a_half_load_zone():
    g = BEARING_PRESETS["6205-2RS"]
    ld = load_distribution(2000.0, g)
    assert ld.epsilon == 0.5 and ld.zone_half_angle_deg == pytest.approx(90.0)
    assert ld.q_max_n * g.n_elements / 2000.0 == pytest.approx(4.37, abs=0.01)
    roller = load_distribution(2000.0, BEARING_PRESETS["rexnord-za2115"])
    assert roller.exponent == pytest.approx(10 / 9)


@pytest.mark.parametrize("clearance_um", [0.0, 5.0, 20.0])
@pytest.mark.parametrize("load_n", [50.0, 1000.0, 8000.0])
def test_element_loads_balance_the_radial_load(clearance_um, load_n):
    # sum over elements spread evenly round the race (many positions): Z Q_max J_r = F_r
    g = BEARING_PRESETS["6205-2RS"]
    ld = load_distribution(load_n, g, clearance_m=clearance_um * 1e-6)
    psi = np.linspace(-np.pi, np.pi, 20001)
    carried = g.n_elements * np.trapezoid(element_load(psi, ld) * np.cos(psi), psi) / (2 * np.pi)
    assert carried == pytest.approx(load_n, rel=1e-3)


def test_clearance_narrows_the_load_zone_more_at_light_load():
    g = BEARING_PRESETS["6205-2RS"]
    eps = [load_distribution(f, g, clearance_m=12e-6).epsilon for f in (100.0, 1000.0, 10_000.0)]
    assert eps[0] < eps[1] < eps[2] < 0.5
    assert load_distribution(1000.0, g, clearance_m=12e-6).q_max_n > load_distribution(1000.0, g).q_max_n


def test_preload_loads_every_element_and_outside_the_zone_only_the_preload_acts():
    g = BEARING_PRESETS["6205-2RS"]
    ld = load_distribution(1000.0, g, preload_n=30.0)
    q = element_load(np.radians([0.0, 90.0, 180.0]), ld)
    assert q[0] == pytest.approx(ld.q_max_n + 30.0) and q[1] == pytest.approx(30.0) and q[2] == pytest.approx(30.0)
    fit = load_distribution(1000.0, g, clearance_m=-5e-6)
    assert fit.preload_n > 0.0


def test_load_distribution_rejects_impossible_inputs():
    g = BEARING_PRESETS["6205-2RS"]
    with pytest.raises(ValueError, match="radial_load_n"):
        load_distribution(-1.0, g)
    with pytest.raises(ValueError, match="clearance_m"):
        load_distribution(100.0, g, clearance_m=0.01)
    with pytest.raises(ValueError, match="preload_n"):
        load_distribution(100.0, g, preload_n=float("nan"))


@pytest.mark.parametrize("name", sorted(BEARING_PRESETS))
def test_surface_speeds_are_equal_under_pure_rolling(name):
    v = surface_speeds(BEARING_PRESETS[name], 25.0)
    assert v["outer_race"] == pytest.approx(v["inner_race"], rel=1e-9)
    assert v["outer_race"] == pytest.approx(v["rolling_element"], rel=1e-9)
