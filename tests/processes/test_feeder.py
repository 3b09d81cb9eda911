"""Tests of twinforge.processes.feeder (radial LV feeder voltage)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from twinforge.processes.feeder import (
    EN50160_BAND_PU,
    FeederParams,
    voltage_linearised,
    voltage_power_flow,
    voltage_violation,
)

SMALL = FeederParams(n_nodes=10, length_m=300.0, voltage_setpoint_pu=1.0)


def test_linearised_agrees_with_exact_sweep_on_small_feeder():
    """10 homes x 3 kW on 300 m of 4x150 mm2 Al: within 0.005 pu (measured 1e-4)."""
    p = np.full((1, 10), 3e3)
    lin = voltage_linearised(p, params=SMALL)
    pf = voltage_power_flow(p, params=SMALL)
    np.testing.assert_allclose(lin["voltage_nodes_pu"], pf["voltage_nodes_pu"], atol=5e-3)
    np.testing.assert_allclose(lin["voltage_end_pu"], pf["voltage_end_pu"], atol=5e-4)
    drop = 1.0 - pf["voltage_end_pu"][0]
    assert 0.005 < drop < 0.02  # about 0.9 % end-to-end including the transformer


def test_linearised_agrees_with_exact_sweep_over_a_day_with_pv():
    rng = np.random.default_rng(2)
    params = FeederParams(n_nodes=30, length_m=400.0, voltage_setpoint_pu=1.03)
    hours = np.arange(96) / 4
    demand = rng.gamma(2.0, 500.0, size=(96, 30))
    pv = 5e3 * np.clip(np.sin(np.pi * (hours - 6) / 12), 0, None)[:, None] * np.ones(30)
    p = demand - pv
    lin = voltage_linearised(p, params=params)
    pf = voltage_power_flow(p, params=params)
    err = np.abs(lin["voltage_nodes_pu"] - pf["voltage_nodes_pu"])
    assert err.max() < 5e-3
    np.testing.assert_allclose(lin["voltage_secondary_pu"], pf["voltage_secondary_pu"], atol=1e-3)


def test_no_load_gives_set_point_everywhere():
    for fn in (voltage_linearised, voltage_power_flow):
        out = fn(np.zeros((5, 10)), params=SMALL)
        np.testing.assert_allclose(out["voltage_nodes_pu"], 1.0, atol=1e-12)
        np.testing.assert_allclose(out["voltage_end_pu"], 1.0, atol=1e-12)
        np.testing.assert_allclose(out["voltage_secondary_pu"], 1.0, atol=1e-12)
    out = voltage_power_flow(np.zeros(3), params=FeederParams(voltage_setpoint_pu=1.04))
    np.testing.assert_allclose(out["voltage_end_pu"], 1.04)


def test_load_lowers_voltage_monotonically_along_the_feeder():
    for fn in (voltage_linearised, voltage_power_flow):
        out = fn(np.full((1, 10), 3e3), params=SMALL)
        v = out["voltage_nodes_pu"][0]
        assert out["voltage_secondary_pu"][0] < 1.0
        assert np.all(np.diff(np.r_[out["voltage_secondary_pu"][0], v]) < 0)


def test_reverse_pv_flow_raises_end_voltage_above_secondary():
    p = np.full((1, 10), -4e3)  # every home exports 4 kW at unity power factor
    for fn in (voltage_linearised, voltage_power_flow):
        out = fn(p, params=SMALL)
        assert out["voltage_end_pu"][0] > out["voltage_secondary_pu"][0] > 1.0
        assert np.all(np.diff(out["voltage_nodes_pu"][0]) > 0)


def test_pv_over_voltage_shows_up_on_a_long_feeder():
    params = FeederParams(n_nodes=40, length_m=800.0, voltage_setpoint_pu=1.04)
    out = voltage_power_flow(np.full((1, 40), -6e3), params=params)
    assert out["voltage_end_pu"][0] > 1.10
    assert voltage_violation(out["voltage_end_pu"])[0] == 1


def test_voltage_drop_scales_about_linearly_with_load():
    base = np.full((1, 10), 2e3)
    for fn, rel in ((voltage_linearised, 1e-12), (voltage_power_flow, 0.03)):
        d1 = 1.0 - fn(base, params=SMALL)["voltage_end_pu"][0]
        d2 = 1.0 - fn(2 * base, params=SMALL)["voltage_end_pu"][0]
        d4 = 1.0 - fn(4 * base, params=SMALL)["voltage_end_pu"][0]
        assert d2 / d1 == pytest.approx(2.0, rel=rel)
        assert d4 / d1 == pytest.approx(4.0, rel=rel)
    # The exact drop grows faster than linearly (current rises as voltage falls).
    d1 = 1.0 - voltage_power_flow(base, params=SMALL)["voltage_end_pu"][0]
    d4 = 1.0 - voltage_power_flow(4 * base, params=SMALL)["voltage_end_pu"][0]
    assert d4 > 4 * d1


def test_linearised_matches_hand_calculation():
    """Uniform load: end drop = (r P + x Q) (n + 1) / (2 n) on the line plus the transformer."""
    params = SMALL
    p_total, n = 30e3, params.n_nodes
    q_total = p_total * np.tan(np.arccos(params.power_factor))
    v2 = params.voltage_nominal_v**2
    r_line = params.line_r_ohm_per_km * params.length_m / 1000
    x_line = params.line_x_ohm_per_km * params.length_m / 1000
    z_t = params.transformer_uk_percent / 100 * v2 / (params.transformer_rated_kva * 1e3)
    r_t = z_t / np.hypot(1, params.transformer_x_over_r)
    x_t = r_t * params.transformer_x_over_r
    drop_t = (r_t * p_total + x_t * q_total) / v2
    drop_line = (r_line * p_total + x_line * q_total) / v2 * (n + 1) / (2 * n)
    out = voltage_linearised(np.array([p_total]), params=params)  # total, spread evenly
    assert out["voltage_secondary_pu"][0] == pytest.approx(1.0 - drop_t, abs=1e-12)
    assert out["voltage_end_pu"][0] == pytest.approx(1.0 - drop_t - drop_line, abs=1e-12)
    assert out["p_transformer_w"][0] == pytest.approx(p_total)


def test_power_flow_conserves_power():
    """Source power = loads + I^2 R losses in the transformer and the line segments."""
    p = np.full((2, 10), 5e3)
    q = np.full((2, 10), 1e3)
    out = voltage_power_flow(p, q, params=SMALL)
    v = out["voltage_nodes_complex_pu"]
    s_load = (p + 1j * q) / SMALL.base_power_va
    i_load = np.conj(s_load / v)
    i_branch = np.cumsum(i_load[:, ::-1], axis=1)[:, ::-1]
    losses = SMALL.transformer_impedance_pu * np.abs(i_branch[:, 0]) ** 2 + (
        SMALL.segment_impedance_pu * (np.abs(i_branch) ** 2).sum(axis=1)
    )
    s_src = (out["p_transformer_w"] + 1j * out["q_transformer_var"]) / SMALL.base_power_va
    np.testing.assert_allclose(s_src, s_load.sum(axis=1) + losses, rtol=1e-9)
    assert out["n_iter"] < 10


def test_total_power_input_spreads_over_nodes():
    a = voltage_power_flow(np.array([30e3, 0.0]), params=SMALL)
    b = voltage_power_flow(np.array([[3e3] * 10, [0.0] * 10]), params=SMALL)
    np.testing.assert_allclose(a["voltage_nodes_pu"], b["voltage_nodes_pu"])


def test_reactive_power_default_and_explicit():
    p = np.full((1, 10), 3e3)
    tan_phi = np.tan(np.arccos(SMALL.power_factor))
    a = voltage_linearised(p, params=SMALL)
    b = voltage_linearised(p, p * tan_phi, params=SMALL)
    np.testing.assert_allclose(a["voltage_nodes_pu"], b["voltage_nodes_pu"])
    capacitive = voltage_linearised(p, -p, params=SMALL)
    assert capacitive["voltage_end_pu"][0] > a["voltage_end_pu"][0]


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_nodes=st.integers(1, 40),
    length_m=st.floats(50.0, 600.0),
)
def test_linearised_close_to_exact_for_moderate_loads(seed, n_nodes, length_m):
    """Loads up to 5 kW per node, exports up to 5 kW: the linearisation error stays below
    0.005 pu whenever the exact drop stays within the EN 50160 band."""
    params = FeederParams(n_nodes=n_nodes, length_m=length_m)
    rng = np.random.default_rng(seed)
    p = rng.uniform(-5e3, 5e3, size=(8, n_nodes))
    pf = voltage_power_flow(p, params=params)
    lin = voltage_linearised(p, params=params)
    ok = np.all((pf["voltage_nodes_pu"] > 0.9) & (pf["voltage_nodes_pu"] < 1.1), axis=1)
    err = np.abs(lin["voltage_nodes_pu"] - pf["voltage_nodes_pu"]).max(axis=1)
    assert np.all(err[ok] < 5e-3)


def test_voltage_violation_band():
    v = np.array([[0.85, 0.9, 1.0], [1.1, 1.1001, np.nan]])
    np.testing.assert_array_equal(voltage_violation(v), [[-1, 0, 0], [0, 1, 0]])
    assert voltage_violation(v).dtype == np.int8
    assert EN50160_BAND_PU == (0.90, 1.10)
    np.testing.assert_array_equal(voltage_violation(np.array([0.96]), band=(0.97, 1.03)), [-1])
    with pytest.raises(ValueError, match="band"):
        voltage_violation(v, band=(1.1, 0.9))


def test_power_flow_reports_non_convergence():
    with pytest.raises(RuntimeError, match="converge"):
        voltage_power_flow(np.full((1, 10), 2e6), params=SMALL)


def test_input_errors_and_params():
    with pytest.raises(ValueError, match="n_nodes"):
        voltage_linearised(np.ones((3, 4)), params=SMALL)
    with pytest.raises(ValueError, match="finite"):
        voltage_power_flow(np.array([1e3, np.nan]), params=SMALL)
    with pytest.raises(ValidationError):
        FeederParams(length_m=-1.0)
    with pytest.raises(ValidationError):
        FeederParams(cable="NAYY")
    with pytest.raises(ValidationError):
        FeederParams(node_spacing="random")
    params = FeederParams()
    np.testing.assert_allclose(params.node_distance_m, np.arange(30, 301, 30))
    z = params.transformer_impedance_pu
    assert abs(z) == pytest.approx(0.04) and z.imag / z.real == pytest.approx(3.0)
