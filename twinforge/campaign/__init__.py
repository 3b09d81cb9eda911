"""Scenario specs and the runner that turns them into datasets."""

from twinforge.campaign.runner import generate, plan_runs
from twinforge.campaign.spec import GenerateSpec, load_spec

__all__ = ["GenerateSpec", "load_spec", "generate", "plan_runs"]
