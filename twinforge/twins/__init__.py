"""Twins: SimPy compositions of partial models. Importing registers them."""

from twinforge.twins.grid import GridConfig, GridDiversity, GridTwin
from twinforge.twins.home import HomeConfig, HomeDiversity, HomeTwin, draw_home
from twinforge.twins.machine import MachineConfig, MachineDiversity, MachineTwin, draw_machine

__all__ = [
    "HomeConfig", "HomeDiversity", "HomeTwin", "draw_home",
    "GridConfig", "GridDiversity", "GridTwin",
    "MachineConfig", "MachineDiversity", "MachineTwin", "draw_machine",
]
