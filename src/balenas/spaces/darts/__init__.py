"""The DARTS CNN search space: genotypes, their text form, published cells, derivation, the space."""

from __future__ import annotations

from balenas.spaces.darts.derive import derive_cell, edge_index, edge_offsets, num_edges
from balenas.spaces.darts.genotype import (
    CELL_TYPES,
    DARTS_OPS,
    GENOTYPE_OPS,
    STEPS,
    DartsGenotype,
    format_genotype,
    genotype_from_json,
    genotype_to_json,
    parse_genotype,
)
from balenas.spaces.darts.published import PUBLISHED, PublishedGenotype, published_genotype
from balenas.spaces.darts.space import DartsModelConfig, DartsNetworkConfig, DartsSpace

__all__ = [
    "CELL_TYPES",
    "DARTS_OPS",
    "GENOTYPE_OPS",
    "PUBLISHED",
    "STEPS",
    "DartsGenotype",
    "DartsModelConfig",
    "DartsNetworkConfig",
    "DartsSpace",
    "PublishedGenotype",
    "derive_cell",
    "edge_index",
    "edge_offsets",
    "format_genotype",
    "genotype_from_json",
    "genotype_to_json",
    "num_edges",
    "parse_genotype",
    "published_genotype",
]
