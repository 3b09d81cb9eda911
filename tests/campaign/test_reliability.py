"""IEEE 1366 indices: by hand on constructed outages, and as campaign estimates of a real grid dataset."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from twinforge.campaign.campaign import CampaignSpec
from twinforge.campaign.estimators import weighted_mean
from twinforge.campaign.executor import run_campaign
from twinforge.campaign.reliability import campaign_reliability, reliability_indices, run_indices

T0 = pd.Timestamp("2024-01-10", tz="UTC")


def _outages(*rows: tuple[float, float, int, float]) -> pd.DataFrame:
    """Outage events ``(start_h, end_h, homes_affected, energy_not_served_kwh)``."""
    return pd.DataFrame({
        "type": ["outage"] * len(rows),
        "start": [T0 + pd.Timedelta(hours=a) for a, *_ in rows],
        "end": [T0 + pd.Timedelta(hours=b) for _, b, *_ in rows],
        "severity": [k / 10 for *_, k, _ in rows],
        "params": [json.dumps({"homes_affected": k, "energy_not_served_j": e * 3.6e6}) for *_, k, e in rows],
    })


def test_indices_by_hand():
    # 10 homes, one day: 4 homes cut 2 h; then the 2 last homes 30 min (one overlapping the first
    # outage: the union is 2 h 30 for them); one momentary 3-minute cut of all homes
    ev = _outages((1.0, 3.0, 4, 10.0), (2.5, 3.5, 2, 1.0), (10.0, 10.05, 10, 0.5))
    r = run_indices(ev, 10, T0, 1.0)
    # sustained: homes 6-9 once each (two of them for 150 min, two for 120 min)
    assert r["saifi"] == pytest.approx(4 / 10)
    assert r["saidi_min"] == pytest.approx((2 * 150 + 2 * 120) / 10)
    assert r["caidi_min"] == pytest.approx(r["saidi_min"] / r["saifi"])
    assert r["maifi"] == pytest.approx(1.0)  # every home once, 3 minutes
    assert r["asai"] == pytest.approx(1 - 54 / 1440)
    assert r["ens_kwh"] == pytest.approx(11.5)
    # an outage reaching beyond the window counts only inside it
    clipped = run_indices(_outages((23.0, 30.0, 10, 0.0)), 10, T0, 1.0)
    assert clipped["saidi_min"] == pytest.approx(60.0)
    quiet = run_indices(_outages(), 10, T0, 1.0)
    assert quiet["saifi"] == 0.0 and math.isnan(quiet["caidi_min"]) and quiet["asai"] == 1.0
    with pytest.raises(ValueError, match="n_homes must be >= 1"):
        run_indices(ev, 0, T0, 1.0)


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    out = tmp_path_factory.mktemp("grid") / "ds"
    c = CampaignSpec.from_data({
        "twin": "grid", "runs": 6, "days": 1, "period": "1h", "start": "2024-01-10", "seed": 2,
        "grid": {"n_homes": 4, "protection": {"fault_rate_per_year": 0.0}},
        "sampler": "importance", "events": {"feeder_fault": {"rate_per_year": 50.0}},
        "proposal": {"feeder_fault": {"rate_factor": 10.0}},
    })
    run_campaign(c, out, progress=False)
    return out


def test_campaign_estimates_weigh_the_per_run_indices(grid):
    table = reliability_indices(grid)
    assert len(table) == 6 and (table["saifi"] > 0).sum() >= 3
    assert set(table.columns) >= {"run_id", "weight", "saifi", "saidi_min", "caidi_min", "maifi", "asai", "ens_kwh"}
    est = campaign_reliability(grid)
    w = table["weight"].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert est["saifi"].value == pytest.approx(weighted_mean(table["saifi"], w).value)
        assert est["ens_kwh"].value == pytest.approx(weighted_mean(table["ens_kwh"], w).value)
    assert est["asai"].value == pytest.approx(1 - est["saidi_min"].value / 1440)
    ratio = np.sum(w * table["saidi_min"]) / np.sum(w * table["saifi"])
    assert est["caidi_min"].value == pytest.approx(ratio)  # a ratio of totals, not a mean of ratios
    assert any("effective sample size" in m for m in est["saifi"].warnings)  # 6 importance runs


def test_campaign_report_is_one_self_contained_page(grid, tmp_path):
    """The HTML report (on the grid dataset, so it holds the reliability indices too)."""
    import base64
    import re

    from twinforge.campaign.report import write_campaign_report
    from twinforge.cli import main

    path = write_campaign_report(grid, tmp_path / "r" / "report.html", column="transformer_hot_spot_c",
                                 above=25.0, event_type="feeder_fault")
    page = path.read_text()
    for heading in ("Estimates under the natural law", "Weights", "Reliability indices per window (IEEE Std 1366)",
                    "Event catalogue", "Figures", "The campaign"):
        assert f">{heading}<" in page
    assert "P(max transformer_hot_spot_c &gt; 25)" in page and "effective sample size" in page
    images = re.findall(r"base64,([A-Za-z0-9+/=]+)", page)
    assert len(images) >= 3 and all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    assert [p.name for p in path.parent.iterdir()] == ["report.html"]  # no temporary file left
    assert main(["campaign", "report", str(grid), "--column", "nope"]) == 2
    assert not (grid / "campaign_report.html").exists()
