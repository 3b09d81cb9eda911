"""Rare-event catalogue; importing it registers the built-in event types."""

from twinforge.events.base import EventType, ScheduledEvent
from twinforge.events.weather import ColdSnap, HeatWave

__all__ = ["EventType", "ScheduledEvent", "HeatWave", "ColdSnap"]
