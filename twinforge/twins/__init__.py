"""Twins: SimPy compositions of partial models. Importing registers them."""

from twinforge.twins.grid import GridConfig, GridDiversity, GridTwin
from twinforge.twins.home import HomeConfig, HomeDiversity, HomeTwin, draw_home

__all__ = ["HomeConfig", "HomeDiversity", "HomeTwin", "draw_home", "GridConfig", "GridDiversity", "GridTwin"]
