"""Search spaces, by name."""

from __future__ import annotations

from balenas.registry import Registry
from balenas.spaces.base import Genotype, SearchSpace
from balenas.spaces.nb201 import NB201Space

SPACES: Registry[type[SearchSpace]] = Registry("space")
SPACES.add("nb201", NB201Space)


def get_space(name: str) -> SearchSpace:
    """An instance of the space registered as ``name``."""
    return SPACES.get(name)()


__all__ = ["SPACES", "Genotype", "SearchSpace", "get_space"]
