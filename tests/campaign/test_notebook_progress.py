"""A campaign run inside a Jupyter kernel without ipywidgets prints no tqdm IProgress warning."""

from __future__ import annotations

import sys
import types
import warnings

from twinforge.campaign.campaign import CampaignSpec
from twinforge.campaign.executor import run_campaign


def test_run_campaign_in_a_kernel_without_ipywidgets_does_not_warn(tmp_path, monkeypatch):
    # what tqdm.autonotebook looks for: a Jupyter kernel's shell module and IPython's get_ipython
    fake = types.ModuleType("IPython")
    fake.get_ipython = lambda: types.SimpleNamespace()
    monkeypatch.setitem(sys.modules, "IPython", fake)
    monkeypatch.setitem(sys.modules, "ipykernel.zmqshell", types.ModuleType("ipykernel.zmqshell"))
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # not installed
    for name in ("tqdm.auto", "tqdm.autonotebook", "tqdm.notebook"):  # decided at their first import
        monkeypatch.delitem(sys.modules, name, raising=False)
    c = CampaignSpec.from_data({"twin": "home", "runs": 1, "days": 1, "period": "1h", "start": "2024-07-10",
                                "seed": 1, "diversity": False, "events": {"heat_wave": {}}})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_campaign(c, tmp_path / "ds", progress=False)
    assert not [w for w in caught if "IProgress" in str(w.message)]
