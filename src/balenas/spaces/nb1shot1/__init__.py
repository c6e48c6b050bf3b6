"""NAS-Bench-1Shot1 search spaces 1-3 (genotypes are NAS-Bench-101 cells)."""

from balenas.spaces.nb1shot1.space import (
    OP_NAMES,
    SPACE_CLASSES,
    SPECS,
    NB1Shot1Genotype,
    NB1Shot1ModelConfig,
    NB1Shot1Space,
    SpaceSpec,
)
from balenas.spaces.nb1shot1.counting import GraphCount, count_distinct_graphs, distinct_hashes

__all__ = [
    "OP_NAMES",
    "SPACE_CLASSES",
    "SPECS",
    "NB1Shot1Genotype",
    "NB1Shot1ModelConfig",
    "NB1Shot1Space",
    "SpaceSpec",
    "GraphCount",
    "count_distinct_graphs",
    "distinct_hashes",
]
