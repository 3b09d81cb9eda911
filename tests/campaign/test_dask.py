"""Campaigns on a real Dask cluster write the same bytes as a serial run."""


import pytest

from twinforge.campaign.campaign import CampaignSpec
from twinforge.campaign.executor import run_campaign

from _support import digest

distributed = pytest.importorskip("dask.distributed")

CAMPAIGN = {
    "twin": "home", "runs": 4, "days": 2, "period": "15min", "start": "2024-07-20", "seed": 7,
    "sampler": "importance", "events": {"heat_wave": {}, "cold_snap": {}},
    "proposal": {"heat_wave": {"rate_factor": 100.0}},
}


def test_dask_local_cluster_matches_serial(tmp_path):
    c = CampaignSpec.from_data(CAMPAIGN)
    run_campaign(c, tmp_path / "serial", progress=False)
    ref = digest(tmp_path / "serial")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        with distributed.Client(cluster) as client:
            s = run_campaign(c, tmp_path / "client", client=client, progress=False)
            assert s.runs_written == 4 and s.executor.startswith("dask")
        # the CLI path: a scheduler address, the client made (and closed) by the runner
        s = run_campaign(c, tmp_path / "address", scheduler=cluster.scheduler_address, progress=False)
        assert s.runs_written == 4
    assert digest(tmp_path / "client") == ref
    assert digest(tmp_path / "address") == ref
