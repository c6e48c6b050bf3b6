"""Tabular ground truth keyed by space (NAS-Bench-201 first): compact tables, explicit queries, converters."""

from balenas.benchmarks.base import BENCHMARKS, Benchmark, BenchmarkKind, Lookup, load_benchmark

from balenas.benchmarks.nb201 import (
    ACCURACY_COLUMNS,
    CIFAR10_TEST,
    CIFAR10_VALID,
    CIFAR100_TEST,
    CIFAR100_VALID,
    COLUMNS,
    DATASETS,
    HPS,
    IMAGENET16_TEST,
    IMAGENET16_VALID,
    NB201_SIZE,
    SPLITS,
    TABLE1_METRICS,
    ArchNotInTableError,
    BenchmarkError,
    BenchmarkFileError,
    IncompleteColumnError,
    Metric,
    MissingValueError,
    NB201Table,
    Optimum,
    PopulationStats,
    UnsupportedMetricError,
    column_for,
    load_nb201_table,
)
from balenas.benchmarks.convert import (
    ArchNotAvailableError,
    BenchmarkSource,
    ConversionResult,
    MissingDependencyError,
    convert_benchmark,
    validate_benchmark_path,
    write_compact_table,
)

BENCHMARKS.add(
    "nb201",
    BenchmarkKind("nb201", "NAS-Bench-201 compact table (one row per architecture)", load_nb201_table),
)
from balenas.benchmarks.nb1shot1 import nb1shot1_loader  # noqa: E402 - after the base registry exists
from balenas.spaces.nb1shot1 import SPECS as _NB1SHOT1_SPECS  # noqa: E402

for _space in _NB1SHOT1_SPECS:
    BENCHMARKS.add(
        _space,
        BenchmarkKind(_space, "NAS-Bench-101 compact table (one row per module hash), seen from the space",
                      nb1shot1_loader(_space)),
    )

__all__ = [
    "BENCHMARKS",
    "Benchmark",
    "BenchmarkKind",
    "Lookup",
    "load_benchmark",
    "ArchNotAvailableError",
    "BenchmarkSource",
    "ConversionResult",
    "MissingDependencyError",
    "convert_benchmark",
    "validate_benchmark_path",
    "write_compact_table",
    "ACCURACY_COLUMNS",
    "CIFAR10_TEST",
    "CIFAR10_VALID",
    "CIFAR100_TEST",
    "CIFAR100_VALID",
    "COLUMNS",
    "DATASETS",
    "HPS",
    "IMAGENET16_TEST",
    "IMAGENET16_VALID",
    "NB201_SIZE",
    "SPLITS",
    "TABLE1_METRICS",
    "ArchNotInTableError",
    "BenchmarkError",
    "BenchmarkFileError",
    "IncompleteColumnError",
    "Metric",
    "MissingValueError",
    "NB201Table",
    "Optimum",
    "PopulationStats",
    "UnsupportedMetricError",
    "column_for",
    "load_nb201_table",
]
