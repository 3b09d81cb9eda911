"""Tests of twinforge.processes.transformer (IEC 60076-7 thermal model and ageing)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from twinforge.processes.transformer import (
    TransformerParams,
    ageing_factor,
    steady_state,
    transformer_thermal,
)

DAY_S = 86_400.0
QUARTER_HOUR_S = 900.0

# IEC 60076-7 worked example (ONAF transformer, load steps). Inputs and tabulated
# temperatures as reproduced by Alliander's transformer-thermal-model test-suite
# (tests/model/test_model.py::test_if_rise_matches_iec, tests/conftest.py::iec_load_profile):
# R = 1000, Delta theta_or = 38.3 K, H g_r = 1.4 x 14.5 K, x = 0.8, y = 1.3, k11 = 0.5,
# k21 = k22 = 2, tau_o = 150 min, tau_w = 7 min, theta_a = 25.6 degC, top oil 38.3 degC at
# t = 0 with no hot-spot gradient, Dt = 0.5 min.
IEC_BREAKS_MIN = [0, 190, 365, 500, 705, 730, 745]
IEC_LOAD_PU = [1.0, 0.6, 1.5, 0.3, 2.1, 0.0]
IEC_TOP_OIL_C = [61.9, 44.4, 89.2, 35.0, 67.9, 60.3]
IEC_HOT_SPOT_C = [83.8, 54.0, 127.0, 37.54, 138.6, 75.3]


def iec_example_params() -> TransformerParams:
    return TransformerParams.from_iec(
        "ONAF",
        r=1000.0,
        delta_theta_or_k=38.3,
        delta_theta_hr_k=1.4 * 14.5,
        top_oil_init_c=38.3,
        hot_spot_init_c=38.3,
    )


def iec_example_load(dt_min: float) -> np.ndarray:
    return np.concatenate(
        [
            np.full(round((b1 - b0) / dt_min), k)
            for b0, b1, k in zip(IEC_BREAKS_MIN[:-1], IEC_BREAKS_MIN[1:], IEC_LOAD_PU)
        ]
    )


def at_breaks(series: np.ndarray, dt_min: float) -> np.ndarray:
    return series[[round(b / dt_min) - 1 for b in IEC_BREAKS_MIN[1:]]]


@pytest.mark.parametrize("method", ["difference", "exponential"])
def test_iec_worked_example(method):
    dt_min = 0.5
    out = transformer_thermal(
        iec_example_load(dt_min), 25.6, dt_min * 60, iec_example_params(), method=method,
        substep_s=dt_min * 60,
    )
    # Largest deviation seen: 0.7 K (top oil) and 1.1 K (hot spot), both at 500 min, the
    # end of the 1.5 pu period; the other points agree within 0.6 K (0.1 K for the
    # exponential solution). Tolerance as in Alliander's reproduction of the example.
    np.testing.assert_allclose(at_breaks(out["top_oil_c"], dt_min), IEC_TOP_OIL_C, atol=1.1)
    np.testing.assert_allclose(at_breaks(out["hot_spot_c"], dt_min), IEC_HOT_SPOT_C, atol=1.1)


def test_iec_example_hot_spot_overshoot_and_undershoot_with_k21_above_one():
    """With k21 = 2 (ONAF) the hot-spot gradient overshoots its ultimate value after a load
    increase and undershoots it after a decrease (IEC 60076-7, the k21/k22 terms)."""
    out = transformer_thermal(iec_example_load(0.5), 25.6, 30.0, iec_example_params())
    gradient = out["hot_spot_c"] - out["top_oil_c"]
    assert gradient[round(730 / 0.5) - 1] > 20.3 * 2.1**1.3  # 25 min into the 2.1 pu step
    low = slice(round(500 / 0.5), round(705 / 0.5))  # 0.3 pu after 1.5 pu
    assert gradient[low].min() < 20.3 * 0.3**1.3


def test_exponential_step_response_matches_closed_form():
    p = TransformerParams()
    n = 8 * 96
    t_min = np.arange(1, n + 1) * 15.0
    load = np.full(n, 0.9)
    state0 = transformer_thermal(np.zeros(1), 10.0, QUARTER_HOUR_S, p)["state"]  # cold, 0 load
    out = transformer_thermal(load, 10.0, QUARTER_HOUR_S, p, state0, method="exponential")
    top_inf, hot_inf = steady_state(0.9, 10.0, p)
    top0 = float(state0.top_oil_c)
    expected_top = top_inf + (top0 - top_inf) * np.exp(-t_min / (p.k11 * p.tau_o_min))
    g_inf = hot_inf - top_inf
    expected_gradient = g_inf * (1.0 - np.exp(-t_min / (p.k22 * p.tau_w_min)))
    np.testing.assert_allclose(out["top_oil_c"], expected_top, rtol=0, atol=1e-9)
    np.testing.assert_allclose(
        out["hot_spot_c"] - out["top_oil_c"], expected_gradient, rtol=0, atol=1e-9
    )


def test_difference_equations_substepped_track_closed_form_at_15_min():
    """The IEC Euler steps, sub-stepped inside 15-minute samples, stay near the exact
    solution; without sub-steps (Dt = 15 min > k22 tau_w = 8 min) the winding state
    overshoots and oscillates."""
    p = TransformerParams()
    rng = np.random.default_rng(3)
    t = np.arange(4 * 96)
    load = np.clip(0.7 + 0.4 * np.sin(2 * np.pi * t / 96) + rng.normal(0, 0.1, t.size), 0, None)
    exact = transformer_thermal(load, 15.0, QUARTER_HOUR_S, p, method="exponential")
    euler = transformer_thermal(load, 15.0, QUARTER_HOUR_S, p)  # Dt = 1.875 min
    # Measured: 0.07 K (top oil) and 0.58 K (hot spot), first-order Euler error.
    assert np.max(np.abs(euler["top_oil_c"] - exact["top_oil_c"])) < 0.1
    assert np.max(np.abs(euler["hot_spot_c"] - exact["hot_spot_c"])) < 0.7
    coarse = transformer_thermal(load, 15.0, QUARTER_HOUR_S, p, substep_s=QUARTER_HOUR_S)
    assert np.max(np.abs(coarse["hot_spot_c"] - exact["hot_spot_c"])) > 10.0  # measured 42 K


def test_exponential_is_exact_under_resampling_of_a_held_load():
    p = TransformerParams()
    rng = np.random.default_rng(4)
    load15 = rng.uniform(0.0, 1.5, size=96)
    fine = transformer_thermal(np.repeat(load15, 15), 12.0, 60.0, p, method="exponential")
    coarse = transformer_thermal(load15, 12.0, QUARTER_HOUR_S, p, method="exponential")
    np.testing.assert_allclose(fine["top_oil_c"][14::15], coarse["top_oil_c"], atol=1e-9)
    np.testing.assert_allclose(fine["hot_spot_c"][14::15], coarse["hot_spot_c"], atol=1e-9)


@pytest.mark.parametrize("method", ["difference", "exponential"])
@pytest.mark.parametrize("cooling", ["ONAN", "ONAF"])
def test_constant_load_reaches_steady_state(method, cooling):
    p = TransformerParams.from_iec(cooling)
    cold = transformer_thermal(np.zeros(1), 5.0, QUARTER_HOUR_S, p)["state"]
    out = transformer_thermal(np.full(20 * 96, 1.2), 25.0, QUARTER_HOUR_S, p, cold, method=method)
    top, hot = steady_state(1.2, 25.0, p)
    assert out["top_oil_c"][-1] == pytest.approx(float(top), abs=1e-6)
    assert out["hot_spot_c"][-1] == pytest.approx(float(hot), abs=1e-6)


def test_default_start_is_steady_state_of_first_sample():
    p = TransformerParams()
    out = transformer_thermal(np.array([0.7, 0.7]), 18.0, 60.0, p)
    top, hot = steady_state(0.7, 18.0, p)
    np.testing.assert_allclose(out["top_oil_c"], float(top))
    np.testing.assert_allclose(out["hot_spot_c"], float(hot))


def test_steady_state_rated_point_and_broadcasting():
    p = TransformerParams()
    top, hot = steady_state(1.0, 20.0, p)
    assert (float(top), float(hot)) == pytest.approx((75.0, 98.0))
    top, hot = steady_state(np.array([0.0, 1.0]), np.array([[0.0], [10.0]]), p)
    assert top.shape == hot.shape == (2, 2)
    assert top[0, 0] == pytest.approx(55.0 * (1 / 6) ** 0.8)
    assert hot[0, 0] == pytest.approx(top[0, 0])  # no current, no gradient


def test_ageing_factor_reference_and_doubling():
    np.testing.assert_allclose(ageing_factor(98.0), 1.0)
    np.testing.assert_allclose(ageing_factor(np.array([92.0, 104.0, 110.0])), [0.5, 2.0, 4.0])
    theta = np.linspace(60.0, 160.0, 51)
    np.testing.assert_allclose(ageing_factor(theta + 6.0) / ageing_factor(theta), 2.0)


def test_ageing_factor_thermally_upgraded_equals_ieee_faa():
    theta = np.linspace(60.0, 160.0, 51)
    faa = np.exp(15000.0 / 383.0 - 15000.0 / (theta + 273.0))  # IEEE C57.91-2011 eq. (2)
    np.testing.assert_allclose(ageing_factor(theta, "thermally_upgraded"), faa)
    assert float(ageing_factor(110.0, "thermally_upgraded")) == pytest.approx(1.0)
    # Upgraded paper ages slower than normal paper at the same hot spot above ~75 degC.
    assert float(ageing_factor(98.0, "thermally_upgraded")) < 1.0
    with pytest.raises(ValueError, match="insulation"):
        ageing_factor(98.0, "kraft")


def test_loss_of_life_24_h_per_day_at_98_c():
    p = TransformerParams()  # rated load at 20 degC ambient: hot spot 98 degC
    out = transformer_thermal(np.ones(3 * 96), 20.0, QUARTER_HOUR_S, p)
    np.testing.assert_allclose(out["hot_spot_c"], 98.0)
    np.testing.assert_allclose(out["ageing_factor"], 1.0)
    assert out["loss_of_life_h"][95] == pytest.approx(24.0)
    assert out["loss_of_life_h"][-1] == pytest.approx(72.0)
    hotter = transformer_thermal(np.ones(96), 26.0, QUARTER_HOUR_S, p)  # 104 degC: V = 2
    assert hotter["loss_of_life_h"][-1] == pytest.approx(48.0)


def test_chunked_evaluation_equals_one_pass():
    p = TransformerParams.from_iec("ONAF")  # k21 > 1: all three states carry over
    rng = np.random.default_rng(7)
    n = 2000
    load = rng.uniform(0.0, 1.6, size=(n, 3))
    ambient = 10.0 + 8.0 * np.sin(np.arange(n) * 2 * np.pi / 96)
    whole = transformer_thermal(load, ambient, QUARTER_HOUR_S, p)
    state, parts = None, []
    for sl in (slice(0, 1), slice(1, 700), slice(700, 1500), slice(1500, n)):
        out = transformer_thermal(load[sl], ambient[sl], QUARTER_HOUR_S, p, state)
        parts.append(out)
        state = out["state"]
    for key in ("top_oil_c", "hot_spot_c", "ageing_factor", "loss_of_life_h"):
        np.testing.assert_allclose(
            np.concatenate([o[key] for o in parts]), whole[key], rtol=1e-12, atol=1e-9
        )
    np.testing.assert_allclose(state.hot_spot_c, whole["hot_spot_c"][-1])
    np.testing.assert_allclose(state.loss_of_life_h, whole["loss_of_life_h"][-1])


def test_many_transformers_equal_one_at_a_time():
    p = TransformerParams()
    rng = np.random.default_rng(8)
    load = rng.uniform(0.0, 1.4, size=(500, 4))
    ambient = rng.normal(15.0, 5.0, size=500)
    many = transformer_thermal(load, ambient, QUARTER_HOUR_S, p)
    for j in range(4):
        one = transformer_thermal(load[:, j], ambient, QUARTER_HOUR_S, p)
        np.testing.assert_allclose(many["hot_spot_c"][:, j], one["hot_spot_c"], rtol=1e-13)
        np.testing.assert_allclose(many["loss_of_life_h"][:, j], one["loss_of_life_h"])
    assert many["state"].top_oil_c.shape == (4,)


def test_accepts_series_and_scalar_ambient():
    p = TransformerParams()
    load = pd.Series(np.linspace(0.2, 1.0, 48))
    a = transformer_thermal(load, 20.0, QUARTER_HOUR_S, p)
    b = transformer_thermal(load.to_numpy(), pd.Series(np.full(48, 20.0)), QUARTER_HOUR_S, p)
    np.testing.assert_allclose(a["hot_spot_c"], b["hot_spot_c"])
    assert a["hot_spot_c"].shape == (48,)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    extra_load=st.floats(0.0, 0.5),
    extra_ambient=st.floats(0.0, 15.0),
)
def test_more_load_or_higher_ambient_is_hotter(seed, extra_load, extra_ambient):
    """ONAN (k21 = 1): every state is a positive-gain lag of a load-increasing input."""
    p = TransformerParams()
    rng = np.random.default_rng(seed)
    load = rng.uniform(0.0, 1.5, size=200)
    ambient = rng.normal(15.0, 5.0, size=200)
    state0 = transformer_thermal(np.array([0.5]), 15.0, QUARTER_HOUR_S, p)["state"]
    base = transformer_thermal(load, ambient, QUARTER_HOUR_S, p, state0)
    more = transformer_thermal(load + extra_load, ambient, QUARTER_HOUR_S, p, state0)
    warmer = transformer_thermal(load, ambient + extra_ambient, QUARTER_HOUR_S, p, state0)
    for other in (more, warmer):
        assert np.all(other["top_oil_c"] >= base["top_oil_c"] - 1e-9)
        assert np.all(other["hot_spot_c"] >= base["hot_spot_c"] - 1e-9)
        assert np.all(np.diff(other["loss_of_life_h"] - base["loss_of_life_h"]) >= -1e-12)


def test_input_errors():
    p = TransformerParams()
    with pytest.raises(ValueError, match=">= 0"):
        transformer_thermal(np.array([0.5, -0.1]), 20.0, 60.0, p)
    with pytest.raises(ValueError, match="finite"):
        transformer_thermal(np.array([0.5, np.nan]), 20.0, 60.0, p)
    with pytest.raises(ValueError, match="finite"):
        transformer_thermal(np.array([0.5, 0.5]), np.array([20.0, np.nan]), 60.0, p)
    with pytest.raises(ValueError, match="dt_s"):
        transformer_thermal(np.array([0.5]), 20.0, 0.0, p)
    with pytest.raises(ValueError, match="does not fit"):
        transformer_thermal(np.ones((4, 2)), np.ones(3), 60.0, p)
    with pytest.raises(ValueError, match="shape"):
        transformer_thermal(np.ones((2, 2, 2)), 20.0, 60.0, p)
    with pytest.raises(ValueError, match="method"):
        transformer_thermal(np.ones(2), 20.0, 60.0, p, method="rk4")


def test_params_validation():
    with pytest.raises(ValidationError):
        TransformerParams(rated_kva=400.0, colour="grey")
    with pytest.raises(ValidationError):
        TransformerParams(tau_w_min=0.0)
    with pytest.raises(ValidationError, match="hot_spot_init_c"):
        TransformerParams(top_oil_init_c=60.0, hot_spot_init_c=50.0)
    p = TransformerParams()
    with pytest.raises(ValidationError):
        p.r = 7.0  # frozen
    onaf = TransformerParams.from_iec("ONAF", r=8.0)
    assert (onaf.k21, onaf.tau_o_min, onaf.r, onaf.cooling) == (2.0, 150.0, 8.0, "ONAF")
    assert p.max_substep_min == pytest.approx(2.0)  # half of tau_w = 4 min


def test_initial_temperatures_from_params():
    p = TransformerParams(top_oil_init_c=30.0, hot_spot_init_c=30.0)
    out = transformer_thermal(np.array([1.0]), 20.0, 1.0, p, method="exponential")
    assert out["top_oil_c"][0] == pytest.approx(30.0, abs=0.01)
    assert out["hot_spot_c"][0] == pytest.approx(30.0, abs=0.1)
