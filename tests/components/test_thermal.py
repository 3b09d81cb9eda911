"""The thermal-zone component: exact 1R1C switching, independent of the sample period."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from twinforge.components.appliances import CycleLog
from twinforge.components.thermal import Zones
from twinforge.processes.hvac import HVACParams
from twinforge.processes.thermal import EnvelopeParams, rc_temp_c

KNOT_S = 600.0


def run(hvac: HVACParams, env: EnvelopeParams, days: float, dt: float, tout, ghi=lambda t: 0.0 * t,
        active=1, homes=1, phase=None, block_s=86_400.0):
    """Plant power, temperature and mode at step starts (n_steps, homes), and the logged runs."""
    z = Zones([env] * homes, [hvac] * homes, KNOT_S, np.zeros(homes) if phase is None else phase)
    n = int(round(days * 86_400.0 / dt))
    per = int(round(block_s / dt))
    slot_t = np.array([0.0])
    nh = np.full((1, homes), active, dtype=np.int64)
    outs = []
    log = CycleLog(64)
    for i0 in range(0, n, per):
        i1 = min(n, i0 + per)
        k0, mids = z.knot_range(i0 * dt, i1 * dt)
        outs.append(z.render(i0, i1 - i0, dt, k0, tout(mids), ghi(mids), slot_t, nh, nh, None, log))
    hvac_w, temp, mode = (np.concatenate([o[k] for o in outs]) for k in range(3))
    row, a, b, e = log.take()
    return hvac_w, temp, mode, a, b, e


ENV = EnvelopeParams(ua_w_per_k=200.0, heat_capacity_j_per_k=2.0e7, solar_aperture_m2=0.0,
                     gain_per_occupant_w=0.0, base_internal_gain_w=0.0, temp_init_c=18.0)


def test_free_floating_zone_follows_the_closed_form():
    hvac = HVACParams(heating="none")
    _, temp, mode, a, *_ = run(hvac, ENV, 2, 60.0, tout=lambda t: np.full(t.shape, 5.0))
    t = np.arange(temp.shape[0]) * 60.0
    np.testing.assert_allclose(temp[:, 0], rc_temp_c(t, 18.0, 5.0, ENV.tau_s), atol=1e-9)
    assert not mode.any() and a.size == 0


def test_hysteresis_switches_where_the_ode_crosses_the_band():
    """Against scipy's ODE solver with events at the band edges (constant inputs)."""
    hvac = HVACParams(heating="resistive", heating_capacity_w=5000.0, control="hysteresis", deadband_k=1.0,
                      heat_setpoint_c=20.0, heat_setback_c=20.0)
    t_out = 0.0
    power, temp, _, a, b, e = run(hvac, ENV, 1, 60.0, tout=lambda t: np.full(t.shape, t_out))
    c, ua = ENV.capacity_j_per_k, ENV.ua_w_per_k
    # the reference: integrate the ODE, switching at the band edges
    t, T, on, switches = 0.0, 18.0, False, []
    while t < 86_400.0:
        q = 5000.0 if on or T <= 19.5 else 0.0
        on = q > 0
        edge = 20.5 if on else 19.5

        def hit(_, y, edge=edge):
            return y[0] - edge
        hit.terminal = True
        sol = solve_ivp(lambda _, y: [(ua * (t_out - y[0]) + q) / c], (t, 86_400.0), [T], events=hit,
                        rtol=1e-12, atol=1e-12, max_step=600.0)
        if sol.t_events[0].size:
            t, T = float(sol.t_events[0][0]), edge
            switches.append(t)
            on = not on
        else:
            t = 86_400.0
    starts = np.array([0.0] + switches[1::2])
    ends = np.array(switches[0::2])
    m = min(len(a), len(ends))
    np.testing.assert_allclose(a[:m], starts[:m], atol=1e-3)
    np.testing.assert_allclose(b[:m], ends[:m], atol=1e-3)
    np.testing.assert_allclose(e, (b - a) * 5000.0, rtol=1e-9)  # resistive: COP 1
    settled = temp[int(np.ceil(b[0] / 60.0)):, 0]  # after the first warm-up
    assert settled.min() > 19.5 - 1e-6 and settled.max() < 20.5 + 1e-6


@pytest.mark.parametrize("control", ["hysteresis", "tpi"])
def test_the_sample_period_changes_only_the_rendering(control):
    """The switching is exact: 1-min and 15-min steps render one trajectory."""
    hvac = HVACParams(heating="heat_pump", heating_capacity_w=6000.0, control=control)
    tout = lambda t: 3.0 + 5.0 * np.sin(2 * np.pi * t / 86_400.0)
    ghi = lambda t: 400.0 * np.clip(np.sin(2 * np.pi * (t - 21_600.0) / 86_400.0), 0.0, None)
    env = ENV.model_copy(update={"solar_aperture_m2": 2.0})
    fine = run(hvac, env, 3, 60.0, tout, ghi)
    coarse = run(hvac, env, 3, 900.0, tout, ghi, block_s=43_200.0)
    np.testing.assert_allclose(coarse[1][:, 0], fine[1][::15, 0], atol=1e-9)  # temperature at common times
    np.testing.assert_allclose(coarse[0][:, 0], fine[0][:, 0].reshape(-1, 15).mean(axis=1), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(coarse[3], fine[3], atol=1e-6)  # the same runs


def test_tpi_cycles_run_on_each_homes_lattice():
    hvac = HVACParams(heating="resistive", heating_capacity_w=8000.0, control="tpi", cycles_per_hour=3.0)
    phase = np.array([0.0, 0.25, 0.5, 0.75])
    power, temp, mode, a, b, e = run(hvac, ENV, 2, 60.0, tout=lambda t: np.full(t.shape, 0.0), homes=4,
                                     phase=phase)
    # after the warm-up, runs start on each home's lattice of 20-minute cycles
    late = power[1440:]
    assert (late.mean(axis=0) > 0).all()
    np.testing.assert_allclose(late.mean(axis=0), late.mean(), rtol=0.02)  # the same homes, the same energy
    # the homes are out of step: the feeder-like sum is smoother than one home
    total = late.sum(axis=1)
    assert total.std() / total.mean() < 0.6 * late[:, 0].std() / late[:, 0].mean()
