"""The NAS-Bench-101 table seen from one NAS-Bench-1Shot1 space (the benchmark interface, keyed by space).

Lookups take the space's genotypes (pruned and hashed); population statistics and the optimum range over
the NAS-Bench-101 graphs the space's discretisation can produce (computed once per instance: seconds for
spaces 1-2, a few minutes for space 3).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from balenas.benchmarks.base import Lookup
from balenas.benchmarks.nb101 import METRICS, NB101Table, load_nb101_table
from balenas.benchmarks.nb201 import IncompleteColumnError, Optimum, PopulationStats
from balenas.spaces.nb1shot1 import SPACE_CLASSES, NB1Shot1Genotype, NB1Shot1Space, distinct_hashes


@dataclass
class NB1Shot1Benchmark:
    space: str
    table: NB101Table
    _hashes: frozenset[str] | None = field(default=None, repr=False)

    @property
    def metrics(self) -> Mapping[str, object]:
        return METRICS

    @property
    def _space(self) -> NB1Shot1Space:
        return SPACE_CLASSES[self.space]()

    def hashes(self) -> frozenset[str]:
        if self._hashes is None:
            self._hashes = distinct_hashes(self._space)
        return self._hashes

    def lookup(self, genotype: NB1Shot1Genotype, metric_name: str) -> float:
        """Mean over the 3 repeats (NaN when the table lacks the graph)."""
        key = self._space.nb101_hash(genotype)
        return self.table.lookup(key or "", metric_name)

    # --- the Benchmark protocol (balenas.benchmarks.base) -------------------------------------
    @property
    def source(self) -> str:
        return self.table.source

    @property
    def sha256(self) -> str:
        return self.table.sha256

    @property
    def metric_names(self) -> tuple[str, ...]:
        return tuple(METRICS)

    def metric_key(self, name: str) -> str:
        if name not in METRICS:
            raise ValueError(f"unknown NAS-Bench-101 metric {name!r}; valid: {', '.join(METRICS)}")
        return f"nasbench101/108-epochs/{name} (mean of 3 repeats)"

    def lookup_genotype(self, genotype: NB1Shot1Genotype | str) -> Lookup:
        space = self._space
        g = space.parse(genotype) if isinstance(genotype, str) else genotype
        key = space.nb101_hash(g)
        present = key is not None and key in self.table.frame.index
        values = {n: (self.table.query(key, n) if present else None) for n in METRICS}
        reason = "" if present else ("no input->output path" if key is None else "arch not in table")
        return Lookup(key, values, {} if present else {n: reason for n in METRICS})

    def _complete(self, what: str, name: str, allow_partial: bool) -> frozenset[str]:
        hashes = self.hashes()
        found = len(hashes & set(self.table.frame.index))
        if found < len(hashes) and not allow_partial:
            raise IncompleteColumnError(
                f"refusing the {what} of {name} over {self.space}: {self.source} holds {found} of the space's "
                f"{len(hashes)} NAS-Bench-101 graphs; pass allow_partial=True to use the ones it holds"
            )
        return hashes

    def population_stats(self, metric_name: str, *, allow_partial: bool = False) -> PopulationStats:
        return self.table.population_stats(metric_name, hashes=self._complete("mean/std", metric_name, allow_partial))

    def optimum(self, metric_name: str, *, allow_partial: bool = False) -> Optimum:
        return self.table.optimum(metric_name, hashes=self._complete("optimum", metric_name, allow_partial))

    def provenance(self) -> dict[str, object]:
        return {**self.table.provenance(), "space": self.space}


def nb1shot1_loader(space_name: str) -> Callable[[str | Path], NB1Shot1Benchmark]:
    """``loader(path)`` for ``BENCHMARKS.add(space_name, ...)``."""
    if space_name not in SPACE_CLASSES:
        raise ValueError(f"unknown NAS-Bench-1Shot1 space {space_name!r}; valid: {', '.join(SPACE_CLASSES)}")

    def load(path: str | Path) -> NB1Shot1Benchmark:
        return NB1Shot1Benchmark(space_name, load_nb101_table(path))

    return load
