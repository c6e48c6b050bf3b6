"""The NAS-Bench-201 space: ops, edges, the genotype string and the network config."""

from balenas.spaces.nb201.space import MAX_NODES, NB201_EDGES, NB201_OPS, NB201Config, NB201Space

__all__ = ["MAX_NODES", "NB201_EDGES", "NB201_OPS", "NB201Config", "NB201Space"]
