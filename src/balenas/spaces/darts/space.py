"""The DARTS CNN search space: a normal and a reduction cell, 14 edges x 8 ops each."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from balenas.spaces.base import SearchSpace
from balenas.spaces.darts.derive import derive_cell, edge_index, num_edges, row_softmax
from balenas.spaces.darts.genotype import (
    CELL_TYPES,
    DARTS_OPS,
    GENOTYPE_OPS,
    STEPS,
    Cell,
    DartsGenotype,
    format_genotype,
    genotype_from_json,
    genotype_to_json,
    parse_genotype,
)

ArchParams = dict[str, torch.Tensor]
NUM_EDGES = num_edges(STEPS)
CONCAT: tuple[int, ...] = tuple(range(2, STEPS + 2))


@dataclass(frozen=True)
class DartsModelConfig:
    """The search supernet (defaults: the DARTS paper's search model)."""

    C: int = 16
    layers: int = 8
    steps: int = STEPS
    multiplier: int = 4
    stem_multiplier: int = 3

    def __post_init__(self) -> None:
        if self.C < 1 or self.C % 2:
            raise ValueError(f"darts model config: C must be a positive even number, got {self.C}")
        if self.layers < 3:
            raise ValueError(f"darts model config: layers must be >= 3 (two reduction cells), got {self.layers}")
        if self.steps != STEPS:
            raise ValueError(f"darts model config: the space has {STEPS} intermediate nodes, got steps={self.steps}")
        if not 1 <= self.multiplier <= self.steps:
            raise ValueError(f"darts model config: multiplier must be in 1..{self.steps}, got {self.multiplier}")
        if self.stem_multiplier < 1:
            raise ValueError(f"darts model config: stem_multiplier must be >= 1, got {self.stem_multiplier}")


@dataclass(frozen=True)
class DartsNetworkConfig:
    """The discrete network scored at initialisation by BaLeNAS-TF (training-free selection).

    Default: the search model's size (C=16, 8 cells), so that scoring K=100 candidates stays cheap; the
    retraining network (C=36, 20 cells, auxiliary head: ``supernets.darts_network.EvalNetworkConfig``) is
    a separate concern. The scored network is that evaluation network without auxiliary head or drop-path.
    """

    C: int = 16
    layers: int = 8

    def __post_init__(self) -> None:
        if self.C < 2 or self.C % 2:
            raise ValueError(f"darts network config: C must be an even number >= 2, got {self.C}")
        if self.layers < 3:
            raise ValueError(f"darts network config: layers must be >= 3, got {self.layers}")


def _cell_size(n_inputs_per_node: range) -> int:
    """Distinct cells: per node, 2 distinct inputs out of n and an op on each (7 ops)."""
    return math.prod(math.comb(n, 2) * len(GENOTYPE_OPS) ** 2 for n in n_inputs_per_node)


class DartsSpace(SearchSpace):
    """DARTS CNN space (Liu et al. 2019): ops ``DARTS_OPS``, 4 intermediate nodes, top-2 inputs per node."""

    name = "darts"
    op_names = DARTS_OPS
    edges = tuple(f"{node + 2}<-{src}" for node in range(STEPS) for src in range(node + 2))
    skip_op = "skip_connect"
    skip_cell = "normal"
    model_config = DartsModelConfig
    network_config = DartsNetworkConfig

    @property
    def param_groups(self) -> Mapping[str, tuple[int, int]]:
        return {kind: (NUM_EDGES, len(DARTS_OPS)) for kind in CELL_TYPES}

    # --- derivation -----------------------------------------------------------------------------
    def _check_params(self, params: Mapping[str, torch.Tensor]) -> None:
        if not isinstance(params, Mapping):
            raise ValueError(f"darts: expected architecture parameters as {{group: tensor}}, got {type(params)}")
        missing = [g for g in self.param_groups if g not in params]
        extra = [g for g in params if g not in self.param_groups]
        if missing or extra:
            raise ValueError(f"darts: parameter groups must be {list(self.param_groups)}, got {list(params)}")
        for group, shape in self.param_groups.items():
            if tuple(params[group].shape) != shape:
                raise ValueError(f"darts: group {group!r} must have shape {shape}, got {tuple(params[group].shape)}")

    def derive_from_weights(self, weights: Mapping[str, torch.Tensor]) -> DartsGenotype:
        """Apply the rule to mixing weights directly (no softmax)."""
        self._check_params(weights)
        return DartsGenotype(
            normal=derive_cell(weights["normal"]),
            normal_concat=CONCAT,
            reduce=derive_cell(weights["reduce"]),
            reduce_concat=CONCAT,
        )

    def derive(self, params: Mapping[str, torch.Tensor]) -> DartsGenotype:  # type: ignore[override]
        """Architecture logits (mean alpha / mu) -> genotype: the DARTS rule on their row softmax."""
        self._check_params(params)
        return self.derive_from_weights({g: row_softmax(t) for g, t in params.items()})

    def discretise(self, params: Mapping[str, torch.Tensor]) -> DartsGenotype:
        """A sample from q (logits) -> genotype, by the same rule as :meth:`derive`."""
        return self.derive(params)

    # --- sampling and encodings ------------------------------------------------------------------
    def _sample_cell(self, generator: torch.Generator) -> Cell:
        pairs: list[tuple[str, int]] = []
        for node in range(STEPS):
            inputs = torch.randperm(node + 2, generator=generator)[:2].sort().values.tolist()
            ops = torch.randint(len(GENOTYPE_OPS), (2,), generator=generator).tolist()
            pairs.extend((GENOTYPE_OPS[o], j) for o, j in zip(ops, inputs))
        return tuple(pairs)

    def sample(self, generator: torch.Generator) -> DartsGenotype:  # type: ignore[override]
        """Uniform over cells: per node 2 distinct inputs (listed in ascending order), each op uniform."""
        normal = self._sample_cell(generator)
        reduce = self._sample_cell(generator)
        return DartsGenotype(normal=normal, normal_concat=CONCAT, reduce=reduce, reduce_concat=CONCAT)

    def _check_genotype(self, genotype: Any) -> DartsGenotype:
        if not isinstance(genotype, DartsGenotype):
            raise ValueError(f"darts: expected a DartsGenotype, got {type(genotype).__name__}")
        if genotype.steps != STEPS:
            raise ValueError(f"darts: the space has {STEPS} nodes per cell, the genotype {genotype.steps}")
        return genotype

    def one_hot(self, genotype: DartsGenotype) -> ArchParams:
        """Mixing weights that select exactly this genotype (1 on each chosen (edge, op), else 0)."""
        genotype = self._check_genotype(genotype)
        out: ArchParams = {}
        for kind in CELL_TYPES:
            w = torch.zeros(NUM_EDGES, len(DARTS_OPS))
            for k, (op, src) in enumerate(genotype.cell(kind)):
                w[edge_index(k // 2, src), DARTS_OPS.index(op)] += 1.0
            out[kind] = w
        return out

    def op_counts(self, genotype: DartsGenotype) -> dict[str, dict[str, int]]:
        genotype = self._check_genotype(genotype)
        return {
            kind: {op: sum(o == op for o, _ in genotype.cell(kind)) for op in DARTS_OPS} for kind in CELL_TYPES
        }

    def cell_sizes(self) -> dict[str, int]:
        return {kind: 2 * STEPS for kind in CELL_TYPES}

    def count_op(self, genotype: DartsGenotype, op: str) -> int:  # type: ignore[override]
        """Occurrences of ``op`` in the skip cell (the normal cell), what Figure 2 counts."""
        return self.op_counts(genotype)[self.skip_cell][op]

    # --- text and JSON ---------------------------------------------------------------------------
    def to_string(self, genotype: DartsGenotype) -> str:  # type: ignore[override]
        return format_genotype(self._check_genotype(genotype))

    def parse(self, text: str) -> DartsGenotype:
        return self._check_genotype(parse_genotype(text))

    def to_json(self, genotype: DartsGenotype) -> dict[str, Any]:
        return genotype_to_json(self._check_genotype(genotype))

    def from_json(self, blob: Mapping[str, Any]) -> DartsGenotype:
        return self._check_genotype(genotype_from_json(blob))

    # --- size ------------------------------------------------------------------------------------
    @property
    def size(self) -> int:
        """Distinct (normal, reduce) pairs up to the order of a node's two inputs (about 1.08e18)."""
        per_cell = _cell_size(range(2, STEPS + 2))
        return per_cell**2

    def enumerate(self) -> Iterator[DartsGenotype]:
        raise NotImplementedError(
            f"darts: the space holds {self.size:.3e} genotypes; it cannot be enumerated (sample it instead)"
        )


__all__ = ["DartsModelConfig", "DartsNetworkConfig", "DartsSpace"]
