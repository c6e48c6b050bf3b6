"""Search spaces, by name (one folder per space)."""

from __future__ import annotations

from balenas.registry import Registry
from balenas.spaces.base import ArchParams, EdgeSpace, Genotype, GroupShapes, SearchSpace, check_groups
from balenas.spaces.nb201 import NB201Space

SPACES: Registry[type[SearchSpace]] = Registry("space")
SPACES.add("nb201", NB201Space)


def get_space(name: str) -> SearchSpace:
    """An instance of the space registered as ``name``."""
    return SPACES.get(name)()


__all__ = ["SPACES", "ArchParams", "EdgeSpace", "Genotype", "GroupShapes", "SearchSpace", "check_groups", "get_space"]
