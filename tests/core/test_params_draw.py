"""Laws of the parameter space drawn as data: the same draws as the twins' code, bit for bit."""

import numpy as np
import pytest
from scipy import stats

from twinforge.core.params import Law, draw_laws
from twinforge.twins.grid import FEEDER_LAWS, GridConfig, GridDiversity, draw_grid


def _old_draw_grid(base, diversity, rng):
    """draw_grid as written before it sampled FEEDER_LAWS (main at 1adc041)."""
    homes = base.homes.model_copy(update={
        "pv_share": float(rng.uniform(*diversity.pv_share_range)),
        "ev_share": float(rng.uniform(*diversity.ev_share_range)),
        "cooling_share": float(rng.uniform(*diversity.cooling_share_range)),
    })
    return base.model_copy(update={"homes": homes})


@pytest.mark.parametrize("diversity", [GridDiversity(), GridDiversity(pv_share_range=(0.3, 0.3), ev_share_range=(0.0, 1.0))])
def test_draw_grid_from_its_laws_gives_the_same_feeders_and_leaves_the_stream_where_it_was(diversity):
    base = GridConfig(n_homes=3)
    for seed in range(200):
        new_rng, old_rng = np.random.default_rng(seed), np.random.default_rng(seed)
        assert draw_grid(base, diversity, new_rng) == _old_draw_grid(base, diversity, old_rng)
        assert new_rng.random() == old_rng.random()  # the same number of draws


def test_feeder_laws_are_drawn_in_declared_order():
    values = {"diversity": GridDiversity().model_dump()}
    drawn = draw_laws(FEEDER_LAWS, values, np.random.default_rng(1))
    assert list(drawn) == ["homes.pv_share", "homes.ev_share", "homes.cooling_share"]
    rng = np.random.default_rng(1)
    assert list(drawn.values()) == [rng.uniform(0.05, 0.4), rng.uniform(0.05, 0.3), rng.uniform(0.1, 0.4)]


def test_law_samples_follow_their_distribution_and_clip():
    values = {"a_w": 200.0, "diversity": {"sigma": 0.3, "sd": 2.0, "p": 0.25}}
    laws = {
        "a_w": Law("lognormal", {"median": "setting", "sigma": "diversity.sigma"}, clip=(100.0, 400.0)),
        "t_c": Law("normal", {"mean": 20.0, "sd": "diversity.sd"}),
        "on": Law("bernoulli", {"p": "diversity.p"}),
    }
    rng = np.random.default_rng(7)
    draws = [draw_laws(laws, values, rng) for _ in range(4000)]
    a = np.array([d["a_w"] for d in draws])
    assert a.min() == 100.0 and a.max() == 400.0  # clipped, and the clip is reached
    inner = a[(a > 100.0) & (a < 400.0)]
    assert abs(np.median(a) - 200.0) < 5.0 and abs(np.log(inner).std() - 0.3) < 0.03
    t = np.array([d["t_c"] for d in draws])
    assert stats.kstest(t, stats.norm(20.0, 2.0).cdf).pvalue > 0.01
    on = np.array([d["on"] for d in draws])
    assert on.dtype == bool and abs(on.mean() - 0.25) < 0.03


def test_laws_still_drawn_by_code_say_so():
    with pytest.raises(ValueError, match="a derived law is drawn by the twin's code"):
        Law("derived", of=("x",), rule="...").sample(np.random.default_rng(0), lambda p: 1.0)
    with pytest.raises(ValueError, match="a uniform law with a gate is drawn by the twin's code"):
        Law("uniform", {"range": (0.0, 1.0)}, gate=0.5).sample(np.random.default_rng(0), lambda p: 1.0)


def _law_matches_draws(twin, diversity, n, seed):
    """Two-sample KS of each sampleable law of the twin's space against what its draw code gives."""
    from twinforge.core.params import get_path
    from twinforge.core.registry import TWINS

    cls = TWINS.get(twin)
    base = cls.Config()
    drawn = [cls.draw(base, diversity, np.random.default_rng([seed, i])).model_dump() for i in range(n)]
    values = {**base.model_dump(), "diversity": diversity.model_dump()}
    rng = np.random.default_rng(seed)
    space = cls.parameter_space()
    checked = {}
    for path, law in cls.laws.items():
        kind = space[path].kind
        if kind not in ("float", "int", "bool", "section"):
            continue
        try:
            law.sample(rng, lambda x, path=path: get_path(values, path if x == "setting" else x))
        except (ValueError, KeyError):
            continue  # categorical, gated, derived or per-m2 laws: drawn by the code only
        ours = [law.sample(rng, lambda x, path=path: get_path(values, path if x == "setting" else x)) for _ in range(n)]
        theirs = [get_path(d, path) is not None if kind == "section" else get_path(d, path) for d in drawn]
        if any(x is None for x in theirs):
            continue  # a setting left unset (None) by the base
        o, t = np.asarray(ours, float), np.asarray(theirs, float)
        if np.ptp(o) == 0.0 or np.ptp(t) == 0.0:  # a law at zero spread: the same constant
            checked[path] = float(np.array_equal(np.unique(o), np.unique(t)))
        else:
            checked[path] = stats.ks_2samp(o, t, method="asymp").pvalue
    return checked


def test_the_declared_laws_are_what_the_home_draw_does():
    from twinforge.twins.home import HomeDiversity

    p = _law_matches_draws("home", HomeDiversity(cooling_share=0.4, heat_setpoint_sd_k=1.5, floor_area_sigma=0.6), 300, 5)
    assert set(p) == {"envelope.floor_area_m2", "hvac.cooling", "hvac.heat_setpoint_c", "ev"}
    assert min(p.values()) > 0.001, p


def test_the_declared_laws_are_what_the_machine_draw_does():
    from twinforge.twins.machine import MachineDiversity

    div = MachineDiversity(radial_load_sigma=0.2, shaft_speed_sigma=0.1, background_impact_g_sigma=0.5,
                           impact_scale_sigma=0.4, outer_race_angle_sd_deg=10.0)
    p = _law_matches_draws("machine", div, 200, 6)
    assert {"radial_load_n", "shaft_speed_rpm", "ambient_temp_c", "vibration.background_rms_g",
            "vibration.impact_outer_race_g", "vibration.background_impact_g"} <= set(p)
    assert min(p.values()) > 0.001, p
