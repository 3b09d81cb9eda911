"""Scenario specs, campaigns and the runners that turn them into datasets."""

from twinforge.campaign.analysis import estimate, paired_effects, read_runs
from twinforge.campaign.campaign import CampaignSpec, load_campaign, plan_campaign, plan_run
from twinforge.campaign.executor import CampaignSummary, run_campaign
from twinforge.campaign.runner import execute_run, generate, plan_runs
from twinforge.campaign.spec import GenerateSpec, load_spec

__all__ = [
    "GenerateSpec", "load_spec", "generate", "plan_runs",
    "CampaignSpec", "load_campaign", "plan_campaign", "plan_run", "run_campaign", "CampaignSummary",
    "execute_run", "estimate", "paired_effects", "read_runs",
]
