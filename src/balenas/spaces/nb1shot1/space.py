"""NAS-Bench-1Shot1 search spaces 1-3 (Zela et al., ICLR 2020; automl/nasbench-1shot1).

A cell has ``n`` choice blocks (nodes ``1..n``) between the cell input (node 0) and the cell output
(node ``n+1``). Each block applies one of three ops (conv3x3-bn-relu, conv1x1-bn-relu, maxpool3x3) to the
sum of its inputs; each node takes a fixed number of parents among the lower-numbered nodes:

====== ============================ ============ ==========================
space  parents of nodes 1..n        output       groups
====== ============================ ============ ==========================
s1     1, 2 (fixed {0, 1}), 2, 2    2            ops (4, 3), in_3, in_4, out
s2     1, 1, 2, 2                   3            ops (4, 3), in_2..in_4, out
s3     1, 1, 1, 2, 2                2            ops (5, 3), in_2..in_5, out
====== ============================ ============ ==========================

Node 1 always reads the cell input, so it has no input group; ``in_<j>`` is ``(1, j)`` (one weight per
possible parent ``0..j-1``) and ``out`` is ``(1, n+1)`` (the cell input and every block). Op columns follow
the reference's PRIMITIVES order (maxpool3x3, conv3x3-bn-relu, conv1x1-bn-relu).

Discretisation (the reference's ``eval_one_shot_model``): argmax op per block, the top-k parents of each
input group and the top-k output edges (ties go to the lower index). The genotype is the NAS-Bench-101
adjacency matrix (7 vertices: spaces 1 and 2 get the reference's unused dummy vertex 5, labelled
conv1x1-bn-relu) and the NAS-Bench-101 op list; :meth:`NB1Shot1Space.nb101_hash` prunes vertices that are
not on an input->output path and computes the benchmark's module hash.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import torch

from balenas.spaces.base import SearchSpace, check_groups
from balenas.nb101_graph import (
    CONV1X1,
    CONV3X3,
    INPUT,
    MAXPOOL3X3,
    OUTPUT,
    matrix_to_bits,
    spec_hash,
)

OP_NAMES: tuple[str, ...] = (MAXPOOL3X3, CONV3X3, CONV1X1)  # reference PRIMITIVES order
NB101_VERTICES = 7
DUMMY_OP = CONV1X1

ArchParams = dict[str, torch.Tensor]


@dataclass(frozen=True)
class SpaceSpec:
    """Which parents each node takes: ``parents[j-1]`` = number of parents of node ``j`` (``j = 1..n+1``)."""

    number: int
    parents: tuple[int, ...]
    fixed: Mapping[int, tuple[int, ...]]  # nodes whose parents are not searched
    test_min_error: float
    valid_min_error: float

    @property
    def blocks(self) -> int:
        return len(self.parents) - 1

    @property
    def output(self) -> int:
        return self.blocks + 1

    @property
    def choice_nodes(self) -> tuple[int, ...]:
        """Intermediate nodes with an input group (node 1 and fixed nodes have none)."""
        return tuple(j for j in range(2, self.output) if j not in self.fixed)

    def n_parents(self, node: int) -> int:
        return self.parents[node - 1]

    @property
    def dummy(self) -> bool:
        return self.blocks + 2 < NB101_VERTICES


# The best test / validation errors of each space are the reference's constants (search_space_{1,2,3}.py).
SPECS: Mapping[str, SpaceSpec] = MappingProxyType(
    {
        "nb1shot1-s1": SpaceSpec(1, (1, 2, 2, 2, 2), {1: (0,), 2: (0, 1)}, 0.05448716878890991, 0.049278855323791504),
        "nb1shot1-s2": SpaceSpec(2, (1, 1, 2, 2, 3), {1: (0,)}, 0.057592153549194336, 0.051582515239715576),
        "nb1shot1-s3": SpaceSpec(3, (1, 1, 1, 2, 2, 2), {1: (0,)}, 0.05338543653488159, 0.04847759008407593),
    }
)


@dataclass(frozen=True)
class NB1Shot1ModelConfig:
    """The one-shot model: stem width, number of stacks (max-pool between them) and cells per stack."""

    channels: int = 16
    stacks: int = 3
    cells_per_stack: int = 3

    def __post_init__(self) -> None:
        for name in ("channels", "stacks", "cells_per_stack"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"NB1Shot1ModelConfig.{name} must be a positive int, got {value!r}")


@dataclass(frozen=True)
class NB1Shot1Genotype:
    """A NAS-Bench-101 cell: 7x7 adjacency matrix (with loose ends, before pruning) and its op labels."""

    space: str
    matrix: tuple[tuple[int, ...], ...]
    ops: tuple[str, ...]


class NB1Shot1Space(SearchSpace):
    """One of the NAS-Bench-1Shot1 spaces (named groups of architecture parameters, NB-101 genotypes)."""

    op_names: tuple[str, ...] = OP_NAMES
    skip_op: str = "skip_connect"  # the space has no skip op: Figure 2 counts are zero by construction
    skip_cell: str = "cell"
    model_config = NB1Shot1ModelConfig
    network_config = NB1Shot1ModelConfig

    def __init__(self, name: str) -> None:
        if name not in SPECS:
            raise ValueError(f"unknown NAS-Bench-1Shot1 space {name!r}; valid: {', '.join(SPECS)}")
        self.name = name
        self.spec = SPECS[name]

    # --- parameter groups --------------------------------------------------------------------
    @property
    def param_groups(self) -> Mapping[str, tuple[int, int]]:
        groups: dict[str, tuple[int, int]] = {"ops": (self.spec.blocks, len(OP_NAMES))}
        for node in self.spec.choice_nodes:
            groups[f"in_{node}"] = (1, node)
        groups["out"] = (1, self.spec.output)
        return MappingProxyType(groups)

    def cell_sizes(self) -> dict[str, int]:
        return {"cell": self.spec.blocks}

    # --- structure <-> NB-101 matrix ---------------------------------------------------------
    def _vertex(self, node: int) -> int:
        """NB-101 vertex of space node ``node`` (the output moves past the dummy vertex)."""
        return NB101_VERTICES - 1 if node == self.spec.output else node

    def _all_parents(self, chosen: Mapping[int, Sequence[int]]) -> dict[int, tuple[int, ...]]:
        parents = {node: tuple(p) for node, p in self.spec.fixed.items()}
        parents.update({node: tuple(sorted(p)) for node, p in chosen.items()})
        return parents

    def build(self, block_ops: Sequence[str], chosen: Mapping[int, Sequence[int]]) -> NB1Shot1Genotype:
        """Genotype from one op per block and the parents of each choice node and the output."""
        spec = self.spec
        if len(block_ops) != spec.blocks or any(o not in OP_NAMES for o in block_ops):
            raise ValueError(f"{self.name}: expected {spec.blocks} ops from {OP_NAMES}, got {list(block_ops)}")
        parents = self._all_parents(chosen)
        matrix = np.zeros((NB101_VERTICES, NB101_VERTICES), dtype=np.int64)
        for node in range(1, spec.output + 1):
            got = parents.get(node)
            if got is None or len(got) != spec.n_parents(node) or len(set(got)) != len(got):
                raise ValueError(f"{self.name}: node {node} needs {spec.n_parents(node)} distinct parents, got {got}")
            if node in spec.fixed and got != spec.fixed[node]:
                raise ValueError(f"{self.name}: node {node} has fixed parents {spec.fixed[node]}, got {got}")
            for p in got:
                if not 0 <= p < node:
                    raise ValueError(f"{self.name}: parent {p} of node {node} must be in 0..{node - 1}")
                matrix[self._vertex(p), self._vertex(node)] = 1
        ops = [INPUT, *block_ops]
        if spec.dummy:
            ops.append(DUMMY_OP)
        ops.append(OUTPUT)
        return NB1Shot1Genotype(self.name, tuple(tuple(int(x) for x in r) for r in matrix), tuple(ops))

    def block_ops(self, genotype: NB1Shot1Genotype) -> tuple[str, ...]:
        return genotype.ops[1 : 1 + self.spec.blocks]

    def parents(self, genotype: NB1Shot1Genotype) -> dict[int, tuple[int, ...]]:
        """Parents of every node ``1..n+1`` read back from the matrix."""
        arr = np.asarray(genotype.matrix)
        inverse = {self._vertex(n): n for n in range(self.spec.output + 1)}
        return {
            node: tuple(inverse[int(v)] for v in np.flatnonzero(arr[:, self._vertex(node)]))
            for node in range(1, self.spec.output + 1)
        }

    def nb101_hash(self, genotype: NB1Shot1Genotype) -> str | None:
        """The NAS-Bench-101 module hash of the pruned cell (``None`` if input and output are disconnected)."""
        return spec_hash(genotype.matrix, genotype.ops)

    # --- weights -> genotype -----------------------------------------------------------------
    def _check(self, params: Mapping[str, torch.Tensor]) -> None:
        check_groups(params, self.param_groups, f"{self.name} parameters")

    @staticmethod
    def _top_k(row: torch.Tensor, k: int) -> tuple[int, ...]:
        values = row.detach().to(torch.float64).reshape(-1).tolist()
        order = sorted(range(len(values)), key=lambda i: (-values[i], i))  # ties: lower index first
        return tuple(sorted(order[:k]))

    def derive(self, params: Mapping[str, torch.Tensor]) -> NB1Shot1Genotype:
        """Argmax op per block, top-k parents per input group, top-k output edges."""
        self._check(params)
        ops = [OP_NAMES[int(i)] for i in params["ops"].detach().argmax(dim=-1).tolist()]
        chosen = {node: self._top_k(params[f"in_{node}"], self.spec.n_parents(node)) for node in self.spec.choice_nodes}
        chosen[self.spec.output] = self._top_k(params["out"], self.spec.n_parents(self.spec.output))
        return self.build(ops, chosen)

    def discretise(self, params: Mapping[str, torch.Tensor]) -> NB1Shot1Genotype:
        return self.derive(params)

    def one_hot(self, genotype: NB1Shot1Genotype) -> ArchParams:
        """Mixing weights selecting exactly ``genotype``: one-hot ops, 1 on chosen parents / output edges."""
        self._check_genotype(genotype)
        groups = self.param_groups
        out = {name: torch.zeros(shape) for name, shape in groups.items()}
        for b, op in enumerate(self.block_ops(genotype)):
            out["ops"][b, OP_NAMES.index(op)] = 1.0
        parents = self.parents(genotype)
        for node in self.spec.choice_nodes:
            out[f"in_{node}"][0, list(parents[node])] = 1.0
        out["out"][0, list(parents[self.spec.output])] = 1.0
        return out

    # --- sampling and enumeration ------------------------------------------------------------
    def _choices(self) -> list[tuple[int, list[tuple[int, ...]]]]:
        nodes = [*self.spec.choice_nodes, self.spec.output]
        return [(n, list(itertools.combinations(range(n), self.spec.n_parents(n)))) for n in nodes]

    def sample(self, generator: torch.Generator) -> NB1Shot1Genotype:
        """Uniform over the configurations the one-shot model can discretise to."""
        op_idx = torch.randint(len(OP_NAMES), (self.spec.blocks,), generator=generator).tolist()
        chosen = {}
        for node, combos in self._choices():
            chosen[node] = combos[int(torch.randint(len(combos), (1,), generator=generator))]
        return self.build([OP_NAMES[i] for i in op_idx], chosen)

    def enumerate(self) -> Iterator[NB1Shot1Genotype]:
        """Every configuration (ops x parent choices), in a fixed order; distinct configurations may
        prune to the same NAS-Bench-101 graph (see :meth:`nb101_hash`)."""
        choices = self._choices()
        for ops in itertools.product(OP_NAMES, repeat=self.spec.blocks):
            for combo in itertools.product(*(c for _, c in choices)):
                yield self.build(ops, {node: p for (node, _), p in zip(choices, combo)})

    @property
    def size(self) -> int:
        return len(OP_NAMES) ** self.spec.blocks * math.prod(len(c) for _, c in self._choices())

    # --- counts and text ---------------------------------------------------------------------
    def op_counts(self, genotype: NB1Shot1Genotype) -> dict[str, dict[str, int]]:
        ops = self.block_ops(genotype)
        return {"cell": {op: sum(o == op for o in ops) for op in OP_NAMES}}

    def _check_genotype(self, genotype: NB1Shot1Genotype) -> None:
        if not isinstance(genotype, NB1Shot1Genotype) or genotype.space != self.name:
            raise ValueError(f"{self.name}: not a genotype of this space: {genotype!r}")
        rebuilt = self.build(self.block_ops(genotype), {n: p for n, p in self.parents(genotype).items() if n not in self.spec.fixed})
        if rebuilt != genotype:
            raise ValueError(f"{self.name}: matrix/ops are not a cell of this space: {genotype!r}")

    def to_string(self, genotype: NB1Shot1Genotype) -> str:
        """``<49 adjacency bits, row-major>|<ops, comma-separated>`` (the official record's notation)."""
        self._check_genotype(genotype)
        return f"{matrix_to_bits(genotype.matrix)}|{','.join(genotype.ops)}"

    def parse(self, text: str) -> NB1Shot1Genotype:
        bits, sep, ops = text.strip().partition("|")
        if not sep or len(bits) != NB101_VERTICES**2 or set(bits) - {"0", "1"}:
            raise ValueError(f"{self.name}: expected '<49 0/1 adjacency bits>|<ops>', got {text!r}")
        matrix = tuple(
            tuple(int(c) for c in bits[r * NB101_VERTICES : (r + 1) * NB101_VERTICES]) for r in range(NB101_VERTICES)
        )
        genotype = NB1Shot1Genotype(self.name, matrix, tuple(ops.split(",")))
        if len(genotype.ops) != NB101_VERTICES:
            raise ValueError(f"{self.name}: expected {NB101_VERTICES} ops, got {genotype.ops}")
        try:
            self._check_genotype(genotype)
        except (ValueError, KeyError) as exc:
            raise ValueError(f"{self.name}: {text!r} is not a cell of this space ({exc})") from None
        return genotype

    def to_json(self, genotype: NB1Shot1Genotype) -> dict:
        """Canonical text plus the NB-101 view (matrix, ops, module hash); :meth:`from_json` reads the text."""
        self._check_genotype(genotype)
        return {
            "space": self.name,
            "genotype": self.to_string(genotype),
            "matrix": [list(r) for r in genotype.matrix],
            "nb101_ops": list(genotype.ops),
            "nb101_hash": self.nb101_hash(genotype),
        }

    def from_json(self, blob: Mapping) -> NB1Shot1Genotype:
        if blob.get("space") != self.name:
            raise ValueError(f"{self.name}: JSON genotype is for space {blob.get('space')!r}")
        if "genotype" not in blob:
            raise ValueError(f"{self.name}: JSON genotype needs the key 'genotype' (canonical text)")
        return self.parse(str(blob["genotype"]))


def _factory(name: str) -> type:
    """A zero-argument class per space, so the space registry can instantiate it by name."""
    return type(f"NB1Shot1Space{name[-1]}", (NB1Shot1Space,), {"__init__": lambda self: NB1Shot1Space.__init__(self, name)})


SPACE_CLASSES: Mapping[str, type] = MappingProxyType({name: _factory(name) for name in SPECS})
