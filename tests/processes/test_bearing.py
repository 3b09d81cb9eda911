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
