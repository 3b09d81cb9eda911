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


def test_gated_derived_and_categorical_laws_draw_as_declared():
    rng, ref = np.random.default_rng(3), np.random.default_rng(3)
    laws = {
        "a": Law("uniform", {"range": (1.0, 2.0)}, gate=0.5, off=0.0),  # drawn only when the gate is on
        "b": Law("uniform", {"range": (1.0, 2.0)}, gate=0.5, off=0.0, draws_when_off=True),
        "c": Law("derived", of=("a", "setting"), fn=lambda a, c: a + c, rule="a + the setting"),
        "d": Law("categorical", {"x": "diversity.px", "y": 0.25}, choices=("x", "y", "z"), rule="else z"),
        "e": Law("normal", {"mean": 0.0, "sd": 1.0}, gate="diversity.on", variate="draw.z.1"),
    }
    for on in (True, False):
        values = {"c": 10.0, "e": -1.0, "diversity": {"px": 0.5, "on": on}}
        drawn = draw_laws(laws, values, rng, stream={"z": np.array([0.5, 2.0])})
        a = ref.uniform(1.0, 2.0) if ref.random() < 0.5 else 0.0
        b_on, b = ref.random() < 0.5, ref.uniform(1.0, 2.0)
        u = ref.random()
        assert drawn == {"a": a, "b": b if b_on else 0.0, "c": a + 10.0,
                         "d": "x" if u < 0.5 else "y" if u < 0.75 else "z", "e": 2.0 if on else -1.0}
    with pytest.raises(ValueError, match="a derived law needs fn"):
        Law("derived", of=("x",), rule="...").sample(np.random.default_rng(0), lambda p: 1.0)
