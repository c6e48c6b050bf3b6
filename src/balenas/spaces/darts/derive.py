"""From architecture parameters to a DARTS genotype: the reference's derivation rule.

Per cell type, the rows of the (14, 8) tensor are the edges in the order node 2 <- 0, 1; node 3 <- 0, 1, 2;
node 4 <- 0..3; node 5 <- 0..4 (the supernet's order), the columns the ops of ``DARTS_OPS``.

Rule (DARTS, applied to the row-softmax of the parameters): for each intermediate node, rank its incoming
edges by their strongest non-``none`` weight and keep the top 2; on each kept edge the op is the argmax
excluding ``none``. The pairs of a node are listed strongest edge first, as the reference prints them.

Ties are broken deterministically, as the reference's stable sort and strict ``>`` do: among edges of
equal strength the one from the lower-numbered input wins; among ops of equal weight the one earlier in
``DARTS_OPS`` wins.
"""

from __future__ import annotations

import torch

from balenas.spaces.darts.genotype import DARTS_OPS, STEPS, Cell

NONE_INDEX = DARTS_OPS.index("none")


def edge_offsets(steps: int = STEPS) -> tuple[int, ...]:
    """Index of the first incoming edge of each intermediate node (0, 2, 5, 9 for 4 steps)."""
    return tuple(sum(2 + k for k in range(i)) for i in range(steps))


def num_edges(steps: int = STEPS) -> int:
    return sum(2 + i for i in range(steps))


def edge_index(node: int, src: int, steps: int = STEPS) -> int:
    """Row of the edge ``src -> node`` (node counted from 0 among the intermediate nodes)."""
    if not 0 <= node < steps or not 0 <= src < node + 2:
        raise ValueError(f"no DARTS edge from input {src} to intermediate node {node} (of {steps})")
    return edge_offsets(steps)[node] + src


def derive_cell(weights: torch.Tensor, steps: int = STEPS) -> Cell:
    """The cell chosen by the rule above from mixing weights of shape ``(num_edges(steps), len(DARTS_OPS))``."""
    shape = (num_edges(steps), len(DARTS_OPS))
    if tuple(weights.shape) != shape:
        raise ValueError(f"DARTS derivation expects weights of shape {shape}, got {tuple(weights.shape)}")
    w = weights.detach().to(torch.float64).cpu()
    if not torch.isfinite(w).all():
        raise ValueError("DARTS derivation got non-finite architecture weights")
    keep = [k for k in range(len(DARTS_OPS)) if k != NONE_INDEX]
    pairs: list[tuple[str, int]] = []
    for node, start in enumerate(edge_offsets(steps)):
        rows = w[start : start + node + 2][:, keep].tolist()
        best_op = [max(range(len(keep)), key=lambda k, r=r: (r[k], -k)) for r in rows]  # first max wins
        strength = [r[k] for r, k in zip(rows, best_op)]
        ranked = sorted(range(node + 2), key=lambda j: (-strength[j], j))[:2]
        pairs.extend((DARTS_OPS[keep[best_op[j]]], j) for j in ranked)
    return tuple(pairs)


def row_softmax(params: torch.Tensor) -> torch.Tensor:
    return torch.softmax(params.detach().to(torch.float64), dim=-1)


__all__ = ["derive_cell", "edge_index", "edge_offsets", "num_edges", "row_softmax"]
