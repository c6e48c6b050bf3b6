"""The benchmark interface, keyed by space: tabular ground truth behind one protocol.

Every search space with a tabular benchmark registers a :class:`BenchmarkKind` in :data:`BENCHMARKS` under
the space's name (``nb201``: the NAS-Bench-201 table; NAS-Bench-1Shot1 spaces: the NAS-Bench-101 table). A
loaded :class:`Benchmark` answers lookups of a genotype under *named* metrics (each name stands for an
explicit dataset / split / budget, e.g. ``cifar10_valid`` = ``cifar10-valid/x-valid/200``), population
statistics, the optimum, and its provenance (source path, sha256). A value the table does not hold is
``None`` with a reason, never a substitute. Config: ``benchmarks.<space>: <path or null>``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from balenas.registry import Registry


@dataclass(frozen=True)
class Lookup:
    """One genotype looked up under every named metric of a benchmark."""

    key: Any  # the benchmark's own key of the architecture (NB201 index, NB-101 hash); None if absent
    values: Mapping[str, float | None]
    missing: Mapping[str, str] = field(default_factory=dict)  # metric -> why it has no value


@runtime_checkable
class Benchmark(Protocol):
    space: str
    source: str
    sha256: str

    @property
    def metric_names(self) -> tuple[str, ...]:
        """The named metrics of :meth:`lookup_genotype`, in table order."""

    def metric_key(self, name: str) -> str:
        """What a metric name stands for, in the benchmark's vocabulary (e.g. ``cifar10/ori-test/200``)."""

    def lookup_genotype(self, genotype: Hashable | str) -> Lookup: ...

    def population_stats(self, name: str, *, allow_partial: bool = False) -> Any: ...

    def optimum(self, name: str, *, allow_partial: bool = False) -> Any: ...

    def provenance(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class BenchmarkKind:
    """How a space's benchmark file is loaded (``load(path) -> Benchmark``) and described."""

    space: str
    description: str
    load: Callable[[str | Path], Benchmark]


BENCHMARKS: Registry[BenchmarkKind] = Registry("benchmark")


def load_benchmark(space: str, path: str | Path) -> Benchmark:
    """The benchmark of ``space`` read from ``path`` (errors name the file and what was expected)."""
    return BENCHMARKS.get(space).load(path)
