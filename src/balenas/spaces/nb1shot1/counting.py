"""How many distinct NAS-Bench-101 graphs a NAS-Bench-1Shot1 space's discretisation can produce.

Only the ops of the blocks that survive pruning enter the hash, so the count loops over parent choices,
prunes once per structure, and hashes each op assignment of the surviving blocks once.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from balenas.nb101_graph import module_hash, prune
from balenas.spaces.nb1shot1.space import OP_NAMES, NB1Shot1Space


@dataclass(frozen=True)
class GraphCount:
    space: str
    configurations: int          # ops x parent choices (what the one-shot model can discretise to)
    labelled_graphs: int         # distinct pruned cells with vertices kept in place (no isomorphism merging)
    distinct_graphs: int         # distinct NAS-Bench-101 module hashes after pruning
    disconnected: int            # configurations whose output is unreachable (none in these spaces)


def count_distinct_graphs(space: NB1Shot1Space) -> GraphCount:
    """Configurations, labelled pruned cells and distinct NAS-Bench-101 hashes of ``space``."""
    count, _ = _count(space)
    return count


def distinct_hashes(space: NB1Shot1Space) -> frozenset[str]:
    """Every NAS-Bench-101 module hash the space's discretisation can produce."""
    return _count(space)[1]


def _count(space: NB1Shot1Space) -> tuple[GraphCount, frozenset[str]]:
    choices = space._choices()
    hashes: set[str] = set()
    seen: set[tuple] = set()
    labelled = 0
    structures: set[bytes] = set()
    disconnected = 0
    configurations = 0
    placeholder = (OP_NAMES[0],) * space.spec.blocks
    for combo in itertools.product(*(c for _, c in choices)):
        genotype = space.build(placeholder, {node: p for (node, _), p in zip(choices, combo)})
        pruned = prune(genotype.matrix, range(len(genotype.ops)))  # vertex ids as labels: which survive
        n_ops = len(OP_NAMES) ** space.spec.blocks
        configurations += n_ops
        if pruned is None:
            disconnected += n_ops
            continue
        matrix, kept = pruned
        live = [v for v in kept[1:-1]]
        in_place = genotype_matrix_restricted(genotype.matrix, kept)
        if in_place not in structures:
            structures.add(in_place)
            labelled += len(OP_NAMES) ** len(live)
        for ops in itertools.product(OP_NAMES, repeat=len(live)):
            key = (matrix.tobytes(), matrix.shape, ops)
            if key in seen:
                continue
            seen.add(key)
            hashes.add(module_hash(matrix, ("input", *ops, "output")))
    return GraphCount(space.name, configurations, labelled, len(hashes), disconnected), frozenset(hashes)


def genotype_matrix_restricted(matrix: tuple[tuple[int, ...], ...], kept: tuple[int, ...]) -> bytes:
    """The cell's matrix with the edges of pruned vertices removed, vertices left in place."""
    keep = set(kept)
    return bytes(
        int(x and r in keep and c in keep) for r, row in enumerate(matrix) for c, x in enumerate(row)
    )
