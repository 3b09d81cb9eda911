"""Rare-event catalogue; importing it registers the built-in event types."""

from twinforge.events.base import EventType, ScheduledEvent
from twinforge.events.sensor import (
    ClockJitter,
    SensorDrift,
    SensorDropout,
    SensorNoiseBurst,
    SensorSpikes,
    SensorStuck,
)
from twinforge.events.storm import Storm
from twinforge.events.weather import ColdSnap, HeatWave

__all__ = [
    "EventType", "ScheduledEvent", "HeatWave", "ColdSnap", "Storm",
    "SensorDrift", "SensorStuck", "SensorDropout", "SensorSpikes", "SensorNoiseBurst", "ClockJitter",
]
