"""The small kernel: RNG streams, time grid, step signals, schema, registries, engine."""

from twinforge.core.registry import EVENTS, PROCESSES, TWINS, Registry
from twinforge.core.rng import RngStreams
from twinforge.core.schema import LABEL_CHANNELS, ChannelSpec, config_hash
from twinforge.core.timegrid import TimeGrid, parse_period_s, parse_rate_hz
from twinforge.core.timeline import StepSignal

__all__ = [
    "EVENTS",
    "PROCESSES",
    "TWINS",
    "Registry",
    "RngStreams",
    "ChannelSpec",
    "LABEL_CHANNELS",
    "config_hash",
    "TimeGrid",
    "parse_period_s",
    "parse_rate_hz",
    "StepSignal",
]
