"""Search spaces, by name (one folder per space)."""

from __future__ import annotations

from balenas.registry import Registry
from balenas.spaces.base import ArchParams, EdgeSpace, Genotype, GroupShapes, SearchSpace, check_groups
from balenas.spaces.darts import DartsSpace
from balenas.spaces.nb201 import NB201Space
from balenas.spaces.nb1shot1 import SPACE_CLASSES as NB1SHOT1_SPACES

SPACES: Registry[type[SearchSpace]] = Registry("space")
SPACES.add("nb201", NB201Space)
for _name, _cls in NB1SHOT1_SPACES.items():
    SPACES.add(_name, _cls)
SPACES.add("darts", DartsSpace)


def get_space(name: str) -> SearchSpace:
    """An instance of the space registered as ``name``."""
    return SPACES.get(name)()


__all__ = ["SPACES", "ArchParams", "EdgeSpace", "Genotype", "GroupShapes", "SearchSpace", "check_groups", "get_space"]
