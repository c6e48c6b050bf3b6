"""NAS-Bench-201: a 4-node cell, 6 edges, 5 candidate ops, 5^6 = 15,625 cells.

Edge order is the benchmark's: ``1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2``, which is also the order of the
official string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` and of the rows of the architecture parameters in
the NAS-Bench-201 reference search code.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from balenas.spaces.base import EdgeSpace, Genotype

NB201_OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
MAX_NODES = 4
NB201_EDGES: tuple[str, ...] = tuple(f"{i}<-{j}" for i in range(1, MAX_NODES) for j in range(i))


@dataclass(frozen=True)
class NB201Config:
    """An NB201 network: ``channels`` C of the first stage, ``cells_per_stage`` N (paper: C=16, N=5)."""

    channels: int = 16
    cells_per_stage: int = 5

    def __post_init__(self) -> None:
        for key in ("channels", "cells_per_stage"):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{key} must be an integer >= 1, got {value!r}")


class NB201Space(EdgeSpace):
    name = "nb201"
    op_names = NB201_OPS
    edges = NB201_EDGES
    group = "cell"
    skip_cell = "cell"
    model_config = NB201Config
    network_config = NB201Config

    @staticmethod
    def edge_nodes(edge: str) -> tuple[int, int]:
        """``"3<-1"`` -> (target 3, source 1)."""
        dst, src = edge.split("<-")
        return int(dst), int(src)

    def to_string(self, genotype: Genotype) -> str:
        if genotype.space != self.name:
            raise ValueError(f"genotype of space {genotype.space!r} given to {self.name}")
        nodes = []
        for i in range(1, MAX_NODES):
            parts = [f"{genotype.ops[self.edges.index(f'{i}<-{j}')]}~{j}" for j in range(i)]
            nodes.append("|" + "|".join(parts) + "|")
        return "+".join(nodes)

    def parse(self, text: str) -> Genotype:
        nodes = text.strip().split("+")
        if len(nodes) != MAX_NODES - 1:
            raise ValueError(f"NB201 string must have {MAX_NODES - 1} '+'-separated nodes: {text!r}")
        ops: dict[str, str] = {}
        for i, node in enumerate(nodes, start=1):
            if not (node.startswith("|") and node.endswith("|")):
                raise ValueError(f"NB201 node {i} must be enclosed in '|': {node!r} in {text!r}")
            items = node[1:-1].split("|")
            if len(items) != i:
                raise ValueError(f"NB201 node {i} must have {i} inputs, got {len(items)} in {text!r}")
            for j, item in enumerate(items):
                op, sep, src = item.partition("~")
                if not sep or src != str(j):
                    raise ValueError(f"NB201 edge {item!r} of node {i} must read 'op~{j}' in {text!r}")
                ops[f"{i}<-{j}"] = op
        return self.genotype([ops[e] for e in self.edges])

    def enumerate(self) -> Iterator[Genotype]:
        for combo in itertools.product(self.op_names, repeat=self.num_edges):
            yield Genotype(self.name, combo)
