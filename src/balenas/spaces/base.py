"""What every search space provides.

A space is a set of edges, each choosing one operation from a fixed list. The learned architecture
parameters of every method are therefore one tensor of shape ``(num_edges, num_ops)``; a genotype is one
op index per edge. Spaces with richer structure (the DARTS cell picks two inputs per node) override
:meth:`SearchSpace.derive`.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Genotype:
    """A discrete architecture: one op name per edge, in the space's edge order."""

    space: str
    ops: tuple[str, ...]


class SearchSpace(abc.ABC):
    """Edge/op structure, canonical strings, sampling and enumeration of one space."""

    name: str
    op_names: tuple[str, ...]
    edges: tuple[str, ...]

    @property
    def num_edges(self) -> int:
        return len(self.edges)

    @property
    def num_ops(self) -> int:
        return len(self.op_names)

    @property
    def shape(self) -> tuple[int, int]:
        """Shape of the architecture-parameter tensor."""
        return (self.num_edges, self.num_ops)

    # --- genotypes ---------------------------------------------------------------------------
    def genotype(self, ops: Sequence[str]) -> Genotype:
        ops = tuple(ops)
        if len(ops) != self.num_edges:
            raise ValueError(f"{self.name}: expected {self.num_edges} ops, got {len(ops)}: {ops}")
        bad = [o for o in ops if o not in self.op_names]
        if bad:
            raise ValueError(f"{self.name}: unknown ops {bad}; valid ops: {', '.join(self.op_names)}")
        return Genotype(self.name, ops)

    def from_indices(self, indices: Sequence[int]) -> Genotype:
        return self.genotype([self.op_names[int(i)] for i in indices])

    def to_indices(self, genotype: Genotype) -> tuple[int, ...]:
        return tuple(self.op_names.index(o) for o in genotype.ops)

    def derive(self, logits: torch.Tensor) -> Genotype:
        """Discretise architecture logits (or mixing weights): argmax per edge."""
        if tuple(logits.shape) != self.shape:
            raise ValueError(f"{self.name}: expected logits of shape {self.shape}, got {tuple(logits.shape)}")
        return self.from_indices(logits.argmax(dim=-1).tolist())

    def sample(self, generator: torch.Generator) -> Genotype:
        """A genotype drawn uniformly from the whole space."""
        idx = torch.randint(self.num_ops, (self.num_edges,), generator=generator)
        return self.from_indices(idx.tolist())

    def count_op(self, genotype: Genotype, op: str) -> int:
        return sum(o == op for o in genotype.ops)

    @abc.abstractmethod
    def to_string(self, genotype: Genotype) -> str:
        """Canonical string (the benchmark's own notation where there is one)."""

    @abc.abstractmethod
    def parse(self, text: str) -> Genotype:
        """Inverse of :meth:`to_string`; raises ``ValueError`` naming what is wrong."""

    @abc.abstractmethod
    def enumerate(self) -> Iterator[Genotype]:
        """Every genotype of the space (only for spaces small enough)."""

    @property
    @abc.abstractmethod
    def size(self) -> int:
        """Number of distinct genotypes."""
