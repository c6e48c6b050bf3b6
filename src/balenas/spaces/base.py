"""What every search space provides.

A space owns its **architecture parameters as named groups** (:data:`GroupShapes`): NAS-Bench-201 has one
``{"cell": (6, 5)}``, the DARTS space ``{"normal": (14, 8), "reduce": (14, 8)}``, NAS-Bench-1Shot1 groups of
different widths (ops per choice block, one input-edge vector per node, the output vector). Every method's
distribution and optimizer works group by group; only the space turns parameters (means or samples) into
a genotype (:meth:`SearchSpace.derive`, :meth:`SearchSpace.discretise`), counts ops per cell type, and
formats and parses its genotypes. Nothing outside a space knows what a group means.

:class:`EdgeSpace` is the common case of one op chosen per edge from one op list, with one group of shape
``(edges, ops)`` (NB201; a test's toy spaces).
"""

from __future__ import annotations

import abc
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import torch

#: group name -> tensor of that group's shape (parameters or mixing weights), in the space's group order.
ArchParams = dict[str, torch.Tensor]
#: group name -> (rows, cols).
GroupShapes = Mapping[str, tuple[int, int]]


@dataclass(frozen=True)
class Genotype:
    """A discrete architecture of an edge space: one op name per edge, in the space's edge order."""

    space: str
    ops: tuple[str, ...]


def check_groups(params: Mapping[str, torch.Tensor], groups: GroupShapes, what: str = "parameters") -> None:
    """``params`` has exactly ``groups``' names and shapes, or a ``ValueError`` says what differs."""
    if not isinstance(params, Mapping):
        raise ValueError(f"{what}: expected a mapping group name -> tensor with groups {list(groups)}, got "
                         f"{type(params).__name__}")
    if list(params) != list(groups):
        raise ValueError(f"{what}: groups {list(params)} do not match the space's {list(groups)} (names, in order)")
    for name, shape in groups.items():
        if tuple(params[name].shape) != tuple(shape):
            raise ValueError(f"{what}: group {name!r} has shape {tuple(params[name].shape)}, expected {tuple(shape)}")


class SearchSpace(abc.ABC):
    """Architecture-parameter groups, genotypes and their text forms, sampling and op statistics."""

    name: str
    op_names: tuple[str, ...]
    #: The op Figure 2 counts, and the cell type it is counted in.
    skip_op: str = "skip_connect"
    skip_cell: str = "cell"
    #: Frozen dataclasses: the search supernet's config and the discrete network's (selection scoring).
    model_config: type
    network_config: type

    @property
    @abc.abstractmethod
    def param_groups(self) -> GroupShapes:
        """The architecture-parameter groups, in order."""

    # --- from parameters to genotypes ------------------------------------------------------------
    @abc.abstractmethod
    def derive(self, params: Mapping[str, torch.Tensor]) -> Hashable:
        """The genotype of the mean (point-estimate) parameters or mixing weights."""

    def discretise(self, params: Mapping[str, torch.Tensor]) -> Hashable:
        """The genotype of one sample from a learned distribution (default: the same rule as derive)."""
        return self.derive(params)

    @abc.abstractmethod
    def sample(self, generator: torch.Generator) -> Hashable:
        """A genotype drawn uniformly from the whole space."""

    @abc.abstractmethod
    def one_hot(self, genotype: Hashable) -> ArchParams:
        """Mixing weights under which the supernet computes exactly ``genotype``."""

    # --- op statistics ---------------------------------------------------------------------------
    @abc.abstractmethod
    def op_counts(self, genotype: Hashable) -> dict[str, dict[str, int]]:
        """cell type -> op name -> how many ops of that name the genotype's cell holds."""

    @abc.abstractmethod
    def cell_sizes(self) -> dict[str, int]:
        """cell type -> number of ops a cell of that type holds (the denominator of op ratios)."""

    def skip_count(self, genotype: Hashable) -> int:
        """Skip connections (:attr:`skip_op`) in the :attr:`skip_cell` of ``genotype`` (Figure 2)."""
        return self.op_counts(genotype)[self.skip_cell].get(self.skip_op, 0)

    # --- text and JSON ---------------------------------------------------------------------------
    @abc.abstractmethod
    def to_string(self, genotype: Hashable) -> str:
        """Canonical string (the benchmark's own notation where there is one)."""

    @abc.abstractmethod
    def parse(self, text: str) -> Hashable:
        """Inverse of :meth:`to_string`; raises ``ValueError`` naming what is wrong."""

    def to_json(self, genotype: Hashable) -> dict[str, Any]:
        return {"space": self.name, "genotype": self.to_string(genotype)}

    def from_json(self, blob: Mapping[str, Any]) -> Hashable:
        if blob.get("space") != self.name:
            raise ValueError(f"genotype record of space {blob.get('space')!r} given to {self.name}")
        return self.parse(str(blob["genotype"]))

    def enumerate(self) -> Iterator[Hashable]:
        """Every genotype of the space (only for spaces small enough)."""
        raise NotImplementedError(f"space {self.name} is too large to enumerate")

    @property
    @abc.abstractmethod
    def size(self) -> int:
        """Number of distinct genotypes."""

    # --- model configs ---------------------------------------------------------------------------
    def make_model_config(self, block: Mapping[str, Any] | None) -> Any:
        return _build_config(self.model_config, block, f"space_settings.{self.name}.supernet")

    def make_network_config(self, block: Mapping[str, Any] | None) -> Any:
        return _build_config(self.network_config, block, f"space_settings.{self.name}.network")


def _build_config(cls: type, block: Mapping[str, Any] | None, key: str) -> Any:
    block = dict(block or {})
    known = set(cls.__dataclass_fields__)
    unknown = sorted(set(block) - known)
    if unknown:
        raise ValueError(f"{key}: unknown keys {unknown}; valid keys: {sorted(known)}")
    try:
        return cls(**block)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{key}: {err}") from None


class EdgeSpace(SearchSpace):
    """One op per edge from one op list: a single group ``{group: (edges, ops)}``."""

    edges: tuple[str, ...]
    group: str = "cell"

    @property
    def num_edges(self) -> int:
        return len(self.edges)

    @property
    def num_ops(self) -> int:
        return len(self.op_names)

    @property
    def param_groups(self) -> GroupShapes:
        return MappingProxyType({self.group: (self.num_edges, self.num_ops)})

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

    def derive(self, params: Mapping[str, torch.Tensor]) -> Genotype:
        """Argmax per edge (of parameters or mixing weights)."""
        check_groups(params, self.param_groups)
        return self.from_indices(params[self.group].argmax(dim=-1).tolist())

    def sample(self, generator: torch.Generator) -> Genotype:
        idx = torch.randint(self.num_ops, (self.num_edges,), generator=generator)
        return self.from_indices(idx.tolist())

    def one_hot(self, genotype: Genotype) -> ArchParams:
        idx = torch.tensor(self.to_indices(genotype))
        return {self.group: torch.nn.functional.one_hot(idx, self.num_ops).to(torch.float32)}

    def op_counts(self, genotype: Genotype) -> dict[str, dict[str, int]]:
        return {self.group: {op: sum(o == op for o in genotype.ops) for op in self.op_names}}

    def cell_sizes(self) -> dict[str, int]:
        return {self.group: self.num_edges}

    def to_json(self, genotype: Genotype) -> dict[str, Any]:
        return {**super().to_json(genotype), "ops": list(genotype.ops)}

    @property
    def size(self) -> int:
        return self.num_ops**self.num_edges
