"""The home's and the machine's draws ARE their declared laws (``draw_laws`` over ``HOME_LAWS`` /
``MACHINE_LAWS``): the same configs, bit for bit, as the hand-written draws they replaced, and a
change of a law changes the draw."""

import math
from typing import Any

import numpy as np
import pytest
from pydantic import BaseModel

from twinforge.core.params import Law
from twinforge.processes.degradation import FAULT_MODES
from twinforge.processes.ev import EVParams
from twinforge.processes.hvac import HVACParams
from twinforge.processes.vibration import VibrationParams
from twinforge.twins.base import field_max
from twinforge.twins.home import HOME_LAWS, KWP_PER_M2, HomeConfig, HomeDiversity, draw_home
from twinforge.twins.machine import (
    MACHINE_LAWS, MachineConfig, MachineDiversity, _merge, draw_machine, rig_names, rig_preset,
)

# --------------------------------------------------------------------------- frozen old draws
# draw_home and draw_machine as hand-written before they sampled their laws (main at 7af2cbe).

def _pick(probs: dict[str, float], order: list[str], u: float) -> str:
    """The name drawn by the uniform ``u`` from ``probs`` taken in the fixed ``order``."""
    names = [m for m in order if m in probs]
    cum = np.cumsum([probs[k] for k in names])
    return names[min(int(np.searchsorted(cum, u, side="right")), len(names) - 1)]



def _old_draw_home(base: HomeConfig, diversity: HomeDiversity | None, rng: np.random.Generator) -> HomeConfig:
    """One home's parameters: ``base`` varied by the laws of ``diversity`` (None: ``base``).

    The draws use only ``rng``, in a fixed order, so a run's home is reproducible from its
    seed. Values the base fixes explicitly stay the base's where no law applies.
    """
    if diversity is None:
        return base
    d = diversity
    n_occ = int(rng.choice(np.arange(1, len(d.household_size_probs) + 1), p=d.household_size_probs))
    area = float(np.clip(d.floor_area_median_m2 * rng.lognormal(0.0, d.floor_area_sigma), 25.0, 600.0))
    ua = float(np.clip(area * d.ua_per_m2_median * rng.lognormal(0.0, d.ua_sigma), 20.0, 4000.0))
    u_heat = rng.random()
    heating = "heat_pump" if u_heat < d.heat_pump_share else (
        "resistive" if u_heat < d.heat_pump_share + d.resistive_share else "gas"
    )
    cooling = bool(rng.random() < d.cooling_share)
    heat_sp = float(np.clip(rng.normal(base.hvac.heat_setpoint_c, d.heat_setpoint_sd_k), 17.0, 23.0))
    has_pv = bool(rng.random() < d.pv_share)
    kwp = float(rng.uniform(*d.pv_kwp_range))
    has_batt = bool(rng.random() < d.battery_share_of_pv)
    has_ev = bool(rng.random() < d.ev_share)
    setback = heat_sp - float(rng.uniform(*d.setback_depth_k)) if rng.random() < d.setback_share else heat_sp
    # Start inside the comfort band, not all homes cold at once (no start-up transient).
    temp_init = float(heat_sp + base.hvac.deadband_k * (rng.random() - 0.5))
    roof = max(base.roof_area_m2, area * 0.45)
    # Size the heat pump for a design outdoor temperature of -7 degC with 20 % margin; a very
    # large, leaky home (the tail of a wide floor-area law) gets the largest unit there is.
    capacity = min(float(np.ceil(1.2 * ua * (heat_sp + 7.0) / 500.0) * 500.0),
                   field_max(HVACParams, "heating_capacity_w"))
    hvac = base.hvac.model_copy(update={
        "heating": heating,
        "heating_capacity_w": capacity,
        "heat_setpoint_c": heat_sp,
        "heat_setback_c": max(setback, 5.0),
        "cooling": cooling,
        "cooling_capacity_w": min(float(np.ceil(ua * 15.0 / 500.0) * 500.0),
                                  field_max(HVACParams, "cooling_capacity_w")),
        "cool_setpoint_c": max(base.hvac.cool_setpoint_c, heat_sp + base.hvac.deadband_k + 1.0),
        "cool_setback_c": max(base.hvac.cool_setback_c, heat_sp + base.hvac.deadband_k + 1.0),
    })
    update: dict[str, Any] = {
        "roof_area_m2": roof,
        "occupancy": base.occupancy.model_copy(update={"n_occupants": n_occ}),
        "envelope": base.envelope.model_copy(
            update={"floor_area_m2": area, "ua_w_per_k": ua, "temp_init_c": temp_init}
        ),
        "hvac": hvac,
        "pv": base.pv.model_copy(update={"capacity_kwp": min(kwp, roof * KWP_PER_M2) if has_pv else 0.0}),
        "battery": base.battery.model_copy(update={
            "capacity_kwh": (base.battery.capacity_kwh or 10.0) if (has_pv and has_batt) else 0.0
        }),
        "ev": (base.ev or EVParams()) if has_ev else None,
    }
    return HomeConfig.model_validate({**base.model_dump(), **{k: (v.model_dump() if isinstance(v, BaseModel) else v) for k, v in update.items()}})


def _old_draw_machine(
    base: MachineConfig, diversity: MachineDiversity | None, rng: np.random.Generator
) -> MachineConfig:
    """One machine's parameters: ``base`` varied by the laws of ``diversity`` (None: ``base``).

    The draws use only ``rng``, always in the same order (every law draws whether it is
    used or not; laws added later draw after the earlier ones), so a machine is
    reproducible from its seed and a law set to zero spread leaves the base value as it is.
    """
    if diversity is None:
        return base
    d = diversity
    z = rng.standard_normal(6)
    angle = float(rng.uniform(0.0, 2.0 * math.pi))
    u_mode = float(rng.random())
    z_tex = rng.standard_normal(2)  # drawn last: machines drawn before these laws existed are unchanged
    z_mod = float(rng.standard_normal())  # after them, for the same reason
    # domain-randomisation laws (after every earlier draw)
    u_rig = float(rng.random())
    z_or = float(rng.standard_normal())
    u_dr = rng.random(3)  # inner-race depth, ball impulsiveness, ball contact
    z_imp = float(rng.standard_normal())
    n_modes = 16  # per-mode draws, a fixed number so the stream does not depend on the rig
    z_damp, u_sign, z_share, z_harm = (rng.standard_normal(n_modes), rng.random(n_modes),
                                       rng.standard_normal(n_modes), rng.standard_normal(2 * n_modes))

    data = base.model_dump()
    if d.rig_probs:
        data = _merge(data, rig_preset(_pick(d.rig_probs, sorted(d.rig_probs), u_rig)))
        base = MachineConfig.model_validate(data)
        data = base.model_dump()
    load = base.radial_load_n * math.exp(d.radial_load_sigma * z[0])
    speed = base.shaft_speed_rpm * math.exp(d.shaft_speed_sigma * z[1])
    life = math.exp(d.life_scale_sigma * z[2])
    background = base.vibration.background_rms_g * math.exp(d.background_sigma * z[3])
    res_scale = math.exp(d.resonance_sigma * z[4])
    ambient = base.ambient_temp_c + d.ambient_sd_k * z[5]
    modes = base.fault_modes
    if d.fault_mode_probs:
        # A fixed order (not the dict's): the draw must not depend on how the file listed them,
        # nor on the key order of the scenario recorded in the manifest.
        modes = (_pick(d.fault_mode_probs, list(FAULT_MODES), u_mode),)
    deg = base.degradation
    vib = base.vibration
    data.update(
        radial_load_n=float(np.clip(load, 1e-3, 1e7)),
        shaft_speed_rpm=float(np.clip(speed, 1e-3, 30_000.0)),
        ambient_temp_c=float(np.clip(ambient, -50.0, 80.0)),
        fault_modes=modes,
    )
    data["degradation"] = {
        **deg.model_dump(),
        "onset_weibull_scale_s": deg.onset_weibull_scale_s * life,
        "growth_shape_rate_per_s": deg.growth_shape_rate_per_s / life,
    }
    resonances = tuple(
        (f * res_scale,
         float(np.clip(zeta * math.exp(d.resonance_damping_sigma * z_damp[i % n_modes]), 0.002, 0.5))
         if d.resonance_damping_sigma > 0.0 else zeta,
         -g if d.resonance_sign_flip and u_sign[i % n_modes] < 0.5 else g)
        for i, (f, zeta, g) in enumerate(vib.resonances)
    )
    # the entry path's support modes move with the structure and sit on the sensor with their own sign
    entry_modes = None if vib.entry_resonances is None else tuple(
        (f * res_scale, zeta,
         -g if d.resonance_sign_flip and u_sign[(len(vib.resonances) + i) % n_modes] < 0.5 else g)
        for i, (f, zeta, g) in enumerate(vib.entry_resonances)
    )
    background_modes = None if vib.background_resonances is None else tuple(
        (f * res_scale, zeta, share * math.exp(d.background_shape_sigma * z_share[i % n_modes]))
        for i, (f, zeta, share) in enumerate(vib.background_resonances)
    )
    harm = np.exp(d.harmonics_sigma * z_harm)
    or_angle = (vib.outer_race_defect_angle_deg + d.outer_race_angle_sd_deg * z_or + 180.0) % 360.0 - 180.0

    def uniform(rng_range: tuple[float, float] | None, u: float, keep: float | None) -> float | None:
        return keep if rng_range is None else rng_range[0] + u * (rng_range[1] - rng_range[0])

    imp = math.exp(d.impact_scale_sigma * z_imp)
    data["vibration"] = {
        **vib.model_dump(),
        "background_rms_g": background,
        "resonances": resonances,
        "background_resonances": background_modes,
        "entry_resonances": entry_modes,
        "shaft_harmonics_g": tuple(a * harm[i % n_modes] for i, a in enumerate(vib.shaft_harmonics_g)),
        "line_harmonics_g": tuple(a * harm[n_modes + i % n_modes] for i, a in enumerate(vib.line_harmonics_g)),
        "defect_angle_rad": angle if d.random_defect_angle else vib.defect_angle_rad,
        "outer_race_defect_angle_deg": float(np.clip(or_angle, -180.0, 180.0)),
        "inner_race_modulation_depth": uniform(d.inner_race_modulation_range, float(u_dr[0]),
                                               vib.inner_race_modulation_depth),
        "rolling_element_impulsiveness": uniform(d.rolling_element_impulsiveness_range, float(u_dr[1]),
                                                 vib.rolling_element_impulsiveness),
        "rolling_element_contact_fraction": uniform(d.rolling_element_contact_range, float(u_dr[2]),
                                                    vib.rolling_element_contact_fraction),
        **{k: getattr(vib, k) * imp for k in ("impact_outer_race_g", "impact_inner_race_g",
                                              "impact_rolling_element_g", "impact_cage_g")},
        "background_impact_rate_hz": float(min(
            vib.background_impact_rate_hz * math.exp(d.background_impact_rate_sigma * z_tex[0]),
            field_max(VibrationParams, "background_impact_rate_hz"))),
        "background_impact_g": vib.background_impact_g * math.exp(d.background_impact_g_sigma * z_tex[1]),
        "background_modulation_depth": float(min(
            vib.background_modulation_depth * math.exp(d.background_modulation_sigma * z_mod),
            field_max(VibrationParams, "background_modulation_depth"))),
    }
    return MachineConfig.model_validate(data)


# --------------------------------------------------------------------------- the tests

HOME_DIVERSITIES = {
    "default": HomeDiversity(),
    "every gate on": HomeDiversity(pv_share=1.0, battery_share_of_pv=1.0, ev_share=1.0, setback_share=1.0,
                                   cooling_share=1.0, heat_pump_share=0.6, resistive_share=0.4, floor_area_sigma=1.2),
    "every gate off": HomeDiversity(pv_share=0.0, battery_share_of_pv=0.0, ev_share=0.0, setback_share=0.0,
                                    cooling_share=0.0, heat_pump_share=0.0, resistive_share=0.0,
                                    household_size_probs=(0.1, 0.2, 0.3, 0.4 - 5e-9)),
}
_ON = dict(fault_mode_probs={"outer_race": 0.3, "inner_race": 0.3, "rolling_element": 0.2, "cage": 0.2 - 5e-7},
           random_defect_angle=True, outer_race_angle_sd_deg=180.0, inner_race_modulation_range=(0.1, 0.9),
           rolling_element_impulsiveness_range=(0.0, 1.0), rolling_element_contact_range=(0.2, 0.4),
           resonance_damping_sigma=0.5, resonance_sign_flip=True, background_shape_sigma=0.5, harmonics_sigma=0.5,
           impact_scale_sigma=0.5, background_impact_rate_sigma=2.0, background_impact_g_sigma=0.5,
           background_modulation_sigma=1.5, rig_probs={r: 1.0 / len(rig_names()) for r in rig_names()})
MACHINE_DIVERSITIES = {
    "default": MachineDiversity(),
    "every gate on": MachineDiversity(**_ON),
    "every gate off": MachineDiversity(random_defect_angle=False, radial_load_sigma=0.0, life_scale_sigma=0.0,
                                       resonance_sigma=0.0),
}


@pytest.mark.parametrize("name", HOME_DIVERSITIES)
def test_draw_home_from_its_laws_is_the_hand_written_draw_bit_for_bit(name):
    base, diversity = HomeConfig(ev=EVParams(), roof_area_m2=5.0), HOME_DIVERSITIES[name]
    for seed in range(200):
        new_rng, old_rng = np.random.default_rng(seed), np.random.default_rng(seed)
        assert draw_home(base, diversity, new_rng).model_dump() == _old_draw_home(base, diversity, old_rng).model_dump()
        assert new_rng.random() == old_rng.random()  # the same number of draws


@pytest.mark.parametrize("name", MACHINE_DIVERSITIES)
def test_draw_machine_from_its_laws_is_the_hand_written_draw_bit_for_bit(name):
    base = MachineConfig.model_validate(_merge(MachineConfig().model_dump(), rig_preset("mfpt")))  # entry modes too
    diversity = MACHINE_DIVERSITIES[name]
    for seed in range(200):
        new_rng, old_rng = np.random.default_rng(seed), np.random.default_rng(seed)
        new, old = draw_machine(base, diversity, new_rng), _old_draw_machine(base, diversity, old_rng)
        assert new.model_dump() == old.model_dump()
        assert new_rng.random() == old_rng.random()


def test_a_changed_law_changes_the_draw(monkeypatch):
    """The declared law IS the draw: edit the law, and the homes and machines drawn follow it."""
    seeds = range(40)
    areas = [draw_home(HomeConfig(), HomeDiversity(), np.random.default_rng(s)).envelope.floor_area_m2 for s in seeds]
    assert max(areas) > 130.0
    monkeypatch.setitem(HOME_LAWS, "envelope.floor_area_m2", Law(
        "lognormal", {"median": "diversity.floor_area_median_m2", "sigma": "diversity.floor_area_sigma"}, clip=(25.0, 60.0)))
    clipped = [draw_home(HomeConfig(), HomeDiversity(), np.random.default_rng(s)).envelope.floor_area_m2 for s in seeds]
    assert clipped == [min(a, 60.0) for a in areas]
    monkeypatch.setitem(MACHINE_LAWS, "ambient_temp_c", Law("normal", {"mean": 40.0, "sd": 0.0}, variate="draw.z.5"))
    assert {draw_machine(MachineConfig(), MachineDiversity(), np.random.default_rng(s)).ambient_temp_c for s in seeds} == {40.0}
