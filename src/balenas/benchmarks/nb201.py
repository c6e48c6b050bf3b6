"""NAS-Bench-201 ground truth: a compact, validated, explicitly-queried table.

The compact table has one row per architecture and exactly the columns in :data:`COLUMNS` (the columns of
``shared/data/nb201/nb201_groundtruth.csv``). ``index`` is the official NAS-Bench-201 / NATS-Bench-tss index
and ``arch`` the official string. Accuracies are top-1 in percent, averaged over training seeds
(``is_random=False``) after the last epoch; ``params_m_*`` are millions of parameters, ``flops_m_*`` MFLOPs.

Every accuracy query names the dataset, the evaluation split and the training budget in the benchmark's own
vocabulary, through a :class:`Metric`::

    table = load_nb201_table("nb201_groundtruth.csv")
    table.accuracy("|skip_connect~0|+...", Metric(dataset="cifar10", split="ori-test", hp=200))
    table.query(1835, dataset="cifar10-valid", split="x-valid", hp=200)

The classic traps are therefore impossible to fall into silently: ``cifar10-valid`` (trained on the train
split) and ``cifar10`` (trained on train+valid) are different datasets, ``hp=12`` and ``hp=200`` are
different budgets, and an unsupported combination raises :class:`UnsupportedMetricError` listing the
supported ones. A value the table does not hold (a partial column, or an architecture absent from a partial
table) raises :class:`MissingValueError`; the batch API :meth:`NB201Table.lookup` returns ``NaN`` with
``missing=True`` and a ``reason`` instead. Nothing is ever substituted.

Population statistics (:meth:`NB201Table.population_stats`) default to ``ddof=1`` (the sample standard
deviation, pandas' default), which is what the shared data README's verification table used
(CIFAR-10 test 87.06 +- 12.94). Over the full space ``ddof=0`` would be the textbook population std; the two
differ by the factor sqrt(15625/15624) = 1.000032 (CIFAR-10 test: 12.9352 vs 12.9348, which happens to
straddle a rounding boundary). Pass ``ddof=0`` to get it; the result records the ``ddof`` used. Statistics
refuse partial columns and partial tables unless ``allow_partial=True`` is passed, in which case the result
says it is partial.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Union

import numpy as np
import pandas as pd

from balenas.benchmarks.base import Lookup
from balenas.spaces import Genotype, get_space

log = logging.getLogger(__name__)

NB201_SIZE = 15_625
DATASETS: tuple[str, ...] = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")
SPLITS: tuple[str, ...] = ("x-valid", "x-test", "ori-test")
HPS: tuple[int, ...] = (200, 12)
COST_KINDS: tuple[str, ...] = ("params", "flops")
POPULATION_DDOF = 1  # see the module docstring

ArchLike = Union[int, str, Genotype]


# --- errors --------------------------------------------------------------------------------------
class BenchmarkError(Exception):
    """Base class of every error raised by :mod:`balenas.benchmarks`."""


class BenchmarkFileError(BenchmarkError, ValueError):
    """A benchmark file or directory is missing, of the wrong format, or corrupt."""


class UnsupportedMetricError(BenchmarkError, ValueError):
    """A (dataset, split, hp) combination or cost query the compact table cannot answer."""


class MissingValueError(BenchmarkError, LookupError):
    """The table does not hold the requested value (partial column or partial table)."""


class ArchNotInTableError(MissingValueError):
    """The architecture is valid but absent from this (partial) table."""


class IncompleteColumnError(BenchmarkError, ValueError):
    """A population statistic was requested over a partial column or a partial table."""


# --- what can be asked ---------------------------------------------------------------------------
def _one_of(kind: str, value: object, valid: Sequence[object]) -> None:
    if value not in valid:
        raise UnsupportedMetricError(
            f"unknown NAS-Bench-201 {kind} {value!r}; valid {kind}s: {', '.join(map(str, valid))}"
        )


def _as_hp(hp: object) -> int:
    """``200``/``"200"`` -> 200; anything else that is not a known budget raises."""
    if isinstance(hp, bool) or not isinstance(hp, (int, str, np.integer)):
        raise UnsupportedMetricError(f"training budget hp must be one of {HPS}, got {hp!r}")
    try:
        value = int(hp)
    except ValueError:
        raise UnsupportedMetricError(f"training budget hp must be one of {HPS}, got {hp!r}") from None
    _one_of("training budget (hp)", value, HPS)
    return value


@dataclass(frozen=True, kw_only=True)
class Metric:
    """One benchmark quantity: the accuracy of models trained on ``dataset`` for ``hp`` epochs,
    evaluated on ``split``. Constructed with keywords only, so every query names all three."""

    dataset: str
    split: str
    hp: int

    def __post_init__(self) -> None:
        _one_of("dataset", self.dataset, DATASETS)
        _one_of("split", self.split, SPLITS)
        object.__setattr__(self, "hp", _as_hp(self.hp))

    @property
    def key(self) -> str:
        """Canonical text form ``dataset/split/hp``, e.g. ``cifar10-valid/x-valid/200``."""
        return f"{self.dataset}/{self.split}/{self.hp}"

    @classmethod
    def parse(cls, key: str) -> Metric:
        parts = key.split("/")
        if len(parts) != 3:
            raise UnsupportedMetricError(f"metric key must read 'dataset/split/hp', got {key!r}")
        return cls(dataset=parts[0], split=parts[1], hp=parts[2])  # type: ignore[arg-type]

    def __str__(self) -> str:
        return self.key


@dataclass(frozen=True)
class ColumnSpec:
    """Where a metric lives: its compact-table column and its key in the official
    ``get_more_info(index, dataset, hp=..., is_random=False)`` dictionary."""

    column: str
    metric: Metric
    api_key: str


def _spec(column: str, dataset: str, split: str, hp: int, api_key: str) -> ColumnSpec:
    return ColumnSpec(column, Metric(dataset=dataset, split=split, hp=hp), api_key)


ACCURACY_COLUMNS: tuple[ColumnSpec, ...] = (
    _spec("cifar10_valid_acc", "cifar10-valid", "x-valid", 200, "valid-accuracy"),
    _spec("cifar10_valid_oritest_acc", "cifar10-valid", "ori-test", 200, "test-accuracy"),
    _spec("cifar10_test_acc", "cifar10", "ori-test", 200, "test-accuracy"),
    _spec("cifar100_test_acc", "cifar100", "x-test", 200, "test-accuracy"),
    _spec("imagenet16_test_acc", "ImageNet16-120", "x-test", 200, "test-accuracy"),
    _spec("cifar100_valid_acc_partial", "cifar100", "x-valid", 200, "valid-accuracy"),
    _spec("imagenet16_valid_acc_partial", "ImageNet16-120", "x-valid", 200, "valid-accuracy"),
    _spec("cifar10_valid_acc_12ep", "cifar10-valid", "x-valid", 12, "valid-accuracy"),
    _spec("cifar10_test_acc_12ep", "cifar10", "ori-test", 12, "test-accuracy"),
    _spec("cifar100_valid_acc_12ep", "cifar100", "x-valid", 12, "valid-accuracy"),
    _spec("cifar100_test_acc_12ep", "cifar100", "x-test", 12, "test-accuracy"),
    _spec("imagenet16_valid_acc_12ep", "ImageNet16-120", "x-valid", 12, "valid-accuracy"),
    _spec("imagenet16_test_acc_12ep", "ImageNet16-120", "x-test", 12, "test-accuracy"),
)
_COLUMN_OF: Mapping[Metric, ColumnSpec] = MappingProxyType({s.metric: s for s in ACCURACY_COLUMNS})

# Cost columns: (dataset in the official vocabulary) -> column suffix.
COST_DATASETS: Mapping[str, str] = MappingProxyType(
    {"cifar10": "cifar10", "cifar100": "cifar100", "ImageNet16-120": "imagenet16"}
)


def cost_column(dataset: str, kind: str) -> str:
    """Column of ``kind`` (``params``/``flops``) for ``dataset``; unsupported ones raise, listing valid ones."""
    if dataset not in COST_DATASETS:
        raise UnsupportedMetricError(
            f"no cost column for dataset {dataset!r}; cost datasets: {', '.join(COST_DATASETS)}"
        )
    _one_of("cost kind", kind, COST_KINDS)
    return f"{kind}_m_{COST_DATASETS[dataset]}"


COST_COLUMNS: tuple[str, ...] = tuple(cost_column(ds, kind) for ds in COST_DATASETS for kind in COST_KINDS)
COLUMNS: tuple[str, ...] = ("index", "arch", *(s.column for s in ACCURACY_COLUMNS), *COST_COLUMNS)
VALUE_COLUMNS: tuple[str, ...] = COLUMNS[2:]


def supported_metrics() -> tuple[Metric, ...]:
    return tuple(_COLUMN_OF)


def column_for(metric: Metric) -> str:
    """The compact-table column of ``metric``; an unsupported combination raises listing the supported."""
    try:
        return _COLUMN_OF[metric].column
    except KeyError:
        valid = ", ".join(m.key for m in _COLUMN_OF)
        raise UnsupportedMetricError(
            f"the compact NAS-Bench-201 table has no column for {metric.key}; supported: {valid}"
        ) from None


# The paper's six Table-1 metrics (all 200-epoch, seed-averaged).
CIFAR10_VALID = Metric(dataset="cifar10-valid", split="x-valid", hp=200)
CIFAR10_TEST = Metric(dataset="cifar10", split="ori-test", hp=200)
CIFAR100_VALID = Metric(dataset="cifar100", split="x-valid", hp=200)
CIFAR100_TEST = Metric(dataset="cifar100", split="x-test", hp=200)
IMAGENET16_VALID = Metric(dataset="ImageNet16-120", split="x-valid", hp=200)
IMAGENET16_TEST = Metric(dataset="ImageNet16-120", split="x-test", hp=200)
TABLE1_METRICS: Mapping[str, Metric] = MappingProxyType(
    {
        "cifar10_valid": CIFAR10_VALID,
        "cifar10_test": CIFAR10_TEST,
        "cifar100_valid": CIFAR100_VALID,
        "cifar100_test": CIFAR100_TEST,
        "imagenet16_valid": IMAGENET16_VALID,
        "imagenet16_test": IMAGENET16_TEST,
    }
)


# --- results of queries --------------------------------------------------------------------------
@dataclass(frozen=True)
class PopulationStats:
    """Mean and standard deviation (with ``ddof``) of ``metric`` over ``n`` architectures."""

    metric: Metric
    mean: float
    std: float
    n: int
    ddof: int
    complete: bool


@dataclass(frozen=True)
class Optimum:
    """Best value of ``metric`` and every architecture attaining it (ties are kept)."""

    metric: Metric
    value: float
    indices: tuple[int, ...]
    archs: tuple[str, ...]
    n: int
    complete: bool


# --- validation of a compact table ---------------------------------------------------------------
_BINARY_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a zip archive (a torch .pth or a zipped folder?)"),
    (b"\x1f\x8b", "a gzip file"),
    (b"BZh", "a bzip2 file (a NATS-Bench .pickle.pbz2?)"),
    (b"\x89HDF", "an HDF5 file"),
    (b"\x80", "a Python pickle (a legacy torch .pth?)"),
)
_ACC_RANGE = (0.0, 100.0)


def _fail(source: str, problem: str) -> BenchmarkFileError:
    return BenchmarkFileError(
        f"{source}: {problem}; expected a compact NAS-Bench-201 CSV with columns {', '.join(COLUMNS)}"
    )


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_text(data: bytes, source: str) -> str:
    if not data:
        raise _fail(source, "file is empty")
    for magic, what in _BINARY_SIGNATURES:
        if data.startswith(magic):
            raise _fail(source, f"file is {what}, not a CSV")
    if b"\x00" in data[:65536]:
        raise _fail(source, "file contains NUL bytes (binary), not a CSV")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise _fail(source, f"file is not UTF-8 text ({err})") from None


def _check_line_structure(text: str, source: str) -> None:
    """Every line has as many fields as the header and the file ends with a newline.

    Arch strings contain no commas, so counting commas is exact here; this is what catches a file cut
    mid-row, which pandas would otherwise pad silently with NaN.
    """
    if not text.endswith("\n"):
        raise _fail(source, "file does not end with a newline (truncated?)")
    lines = text.splitlines()
    n_fields = lines[0].count(",") + 1
    bad = [i + 1 for i, line in enumerate(lines) if line.count(",") + 1 != n_fields]
    if bad:
        raise _fail(
            source,
            f"{len(bad)} line(s) do not have the header's {n_fields} fields (first: line {bad[0]}; "
            "truncated or corrupt?)",
        )


def _parse_csv(text: str, source: str) -> pd.DataFrame:
    try:
        return pd.read_csv(io.StringIO(text), dtype={"arch": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as err:
        raise _fail(source, f"not parseable as CSV ({err})") from None


def _check_columns(frame: pd.DataFrame, source: str) -> None:
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise _fail(source, f"missing column(s) {', '.join(missing)}")
    extra = [c for c in frame.columns if c not in COLUMNS]
    if extra:
        log.warning("%s: ignoring extra column(s) %s", source, ", ".join(map(str, extra)))


def _check_index(frame: pd.DataFrame, source: str) -> pd.Series:
    idx = pd.to_numeric(frame["index"], errors="coerce")
    if idx.isna().any() or not np.all(np.mod(idx.to_numpy(dtype=float), 1) == 0):
        raise _fail(source, "column 'index' must hold integers in every row")
    idx = idx.astype(np.int64)
    if idx.duplicated().any():
        dups = sorted(set(idx[idx.duplicated()].tolist()))
        raise _fail(source, f"duplicate index value(s) {dups[:10]}")
    out_of_range = idx[(idx < 0) | (idx >= NB201_SIZE)]
    if len(out_of_range):
        raise _fail(source, f"index value(s) outside 0..{NB201_SIZE - 1}: {out_of_range.tolist()[:10]}")
    return idx


def _canonical_pattern(space: Any) -> re.Pattern[str]:
    """The space's canonical strings ``|op~0|+|op~0|op~1|+|...|``: exactly those ``to_string(parse(s)) == s``."""
    op = "(?:" + "|".join(re.escape(name) for name in space.op_names) + ")"
    nodes = sorted({int(edge.split("<-")[0]) for edge in space.edges})
    return re.compile(r"\+".join(r"\|" + r"\|".join(f"{op}~{j}" for j in range(i)) + r"\|" for i in nodes))


def _canonical_archs(archs: pd.Series, source: str) -> list[str]:
    space = get_space("nb201")
    canonical = _canonical_pattern(space)  # the table's strings are canonical: no parse needed (plan time)
    out: list[str] = []
    for row, text in enumerate(archs.tolist()):
        if not isinstance(text, str):
            raise _fail(source, f"empty arch string in data row {row + 1}")
        if canonical.fullmatch(text):
            out.append(text)
            continue
        try:
            out.append(space.to_string(space.parse(text)))
        except ValueError as err:
            raise _fail(source, f"data row {row + 1}: arch is not a NAS-Bench-201 string ({err})") from None
    if len(set(out)) != len(out):
        raise _fail(source, "the same arch string appears in more than one row")
    return out


def _check_values(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    values = {}
    for col in VALUE_COLUMNS:
        numeric = pd.to_numeric(frame[col], errors="coerce")
        bad = frame[col].notna() & numeric.isna()
        if bad.any():
            first = int(np.flatnonzero(bad.to_numpy())[0])
            raise _fail(
                source, f"column {col!r} holds a non-number {frame[col].iloc[first]!r} (data row {first + 1})"
            )
        values[col] = numeric.astype(float)
    out = pd.DataFrame(values, index=frame.index)
    acc_cols = [s.column for s in ACCURACY_COLUMNS]
    lo, hi = _ACC_RANGE
    accs = out[acc_cols]
    if ((accs < lo) | (accs > hi)).any().any():
        raise _fail(source, f"accuracies must be percentages in [{lo}, {hi}]")
    costs = out[list(COST_COLUMNS)]
    if (costs <= 0).any().any():
        raise _fail(source, "params/FLOPs must be positive")
    return out


def _validated_frame(raw: pd.DataFrame, source: str) -> pd.DataFrame:
    _check_columns(raw, source)
    if raw.empty:
        raise _fail(source, "table has a header but no rows")
    idx = _check_index(raw, source)
    archs = _canonical_archs(raw["arch"], source)
    values = _check_values(raw, source)
    frame = values.assign(arch=archs)[["arch", *VALUE_COLUMNS]]
    frame.index = pd.Index(idx.to_numpy(), name="index")
    return frame.sort_index()


# --- the table -----------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class NB201Table:
    """A validated compact NAS-Bench-201 table.

    ``frame`` is indexed by the official index and holds ``arch`` plus :data:`VALUE_COLUMNS`;
    ``sha256`` is the checksum of the file it was read from (or of its canonical CSV if built in memory).
    Use :func:`load_nb201_table` or :meth:`from_frame`, not the constructor.
    """

    frame: pd.DataFrame
    source: str
    sha256: str
    _arch_index: Mapping[str, int] = field(repr=False)
    space: str = "nb201"

    @classmethod
    def from_frame(cls, raw: pd.DataFrame, *, source: str = "<in-memory table>") -> NB201Table:
        """Validate a frame with :data:`COLUMNS` (``index`` as a column) and wrap it."""
        if "index" not in raw.columns and raw.index.name == "index":
            raw = raw.reset_index()
        frame = _validated_frame(raw.reset_index(drop=True), source)
        digest = sha256_bytes(to_compact_csv_text(frame).encode("utf-8"))
        return cls._make(frame, source, digest)

    @classmethod
    def _make(cls, frame: pd.DataFrame, source: str, digest: str) -> NB201Table:
        arch_index = MappingProxyType(dict(zip(frame["arch"].tolist(), frame.index.tolist())))
        table = cls(frame, source, digest, arch_index)
        log.info("NB201 table %s: %d of %d architectures, sha256 %s", source, len(frame), NB201_SIZE, digest)
        return table

    # -- shape ------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.frame)

    @property
    def is_complete(self) -> bool:
        """True when every one of the 15,625 architectures has a row."""
        return len(self.frame) == NB201_SIZE

    def coverage(self, metric: Metric) -> int:
        """Number of rows whose value of ``metric`` is filled."""
        return int(self.frame[column_for(metric)].notna().sum())

    def is_metric_complete(self, metric: Metric) -> bool:
        return self.is_complete and self.coverage(metric) == NB201_SIZE

    # -- keys -------------------------------------------------------------------------------------
    def index_of(self, arch: ArchLike) -> int:
        """Official index of ``arch`` (an index, an official string or a ``Genotype``) in this table.

        Raises ``ValueError`` for something that is not an NB201 architecture and
        :class:`ArchNotInTableError` for a valid architecture this table has no row for.
        """
        if isinstance(arch, (bool, np.bool_)):
            raise ValueError(f"not an NB201 architecture: {arch!r}")
        if isinstance(arch, (int, np.integer)):
            index = int(arch)
            if not 0 <= index < NB201_SIZE:
                raise ValueError(f"NB201 index must be in 0..{NB201_SIZE - 1}, got {index}")
            if index not in self.frame.index:
                raise ArchNotInTableError(f"index {index} is not in {self.source} ({len(self)} rows)")
            return index
        space = get_space("nb201")
        if isinstance(arch, Genotype):
            text = space.to_string(arch)
        elif isinstance(arch, str):
            text = space.to_string(space.parse(arch))
        else:
            raise ValueError(f"not an NB201 architecture (int, str or Genotype): {arch!r}")
        try:
            return self._arch_index[text]
        except KeyError:
            raise ArchNotInTableError(f"arch {text} is not in {self.source} ({len(self)} rows)") from None

    def arch(self, index: int) -> str:
        return str(self.frame.at[self.index_of(index), "arch"])

    # -- single lookups ---------------------------------------------------------------------------
    def accuracy(self, arch: ArchLike, metric: Metric) -> float:
        """Seed-averaged accuracy (%) of ``arch`` for ``metric``; raises if the table does not hold it."""
        column = column_for(metric)
        index = self.index_of(arch)
        value = self.frame.at[index, column]
        if pd.isna(value):
            raise MissingValueError(
                f"{self.source} holds no value of {metric.key} (column {column}) for index {index}; "
                f"that column is filled for {self.coverage(metric)} of {len(self)} rows"
            )
        return float(value)

    def query(self, arch: ArchLike, *, dataset: str, split: str, hp: int) -> float:
        """:meth:`accuracy` with the three coordinates spelled out."""
        return self.accuracy(arch, Metric(dataset=dataset, split=split, hp=hp))

    def cost(self, arch: ArchLike, *, dataset: str, kind: str) -> float:
        """``params`` (millions) or ``flops`` (M) of ``arch`` on ``dataset``."""
        column = cost_column(dataset, kind)
        index = self.index_of(arch)
        value = self.frame.at[index, column]
        if pd.isna(value):
            raise MissingValueError(f"{self.source} holds no {column} for index {index}")
        return float(value)

    # -- batch lookups ----------------------------------------------------------------------------
    def lookup(self, archs: Iterable[ArchLike], metrics: Iterable[Metric]) -> pd.DataFrame:
        """Tidy frame, one row per (arch, metric): ``query, index, arch, metric, value, missing, reason``.

        A value the table does not hold is ``NaN`` with ``missing=True`` and a ``reason``
        (``"arch not in table"`` or ``"not tabulated"``); it is never replaced by anything else.
        ``index``/``arch`` are ``-1``/``""`` when the architecture is absent from the table.
        """
        metrics = list(metrics)
        for metric in metrics:
            column_for(metric)  # unsupported metrics raise here, before any row is built
        rows = []
        for query in archs:
            try:
                index: int | None = self.index_of(query)
            except ArchNotInTableError:
                index = None
            for metric in metrics:
                rows.append(self._lookup_row(query, index, metric))
        return pd.DataFrame(rows, columns=["query", "index", "arch", "metric", "value", "missing", "reason"])

    def _lookup_row(self, query: ArchLike, index: int | None, metric: Metric) -> dict[str, object]:
        if index is None:
            return dict(
                query=query,
                index=-1,
                arch="",
                metric=metric.key,
                value=np.nan,
                missing=True,
                reason="arch not in table",
            )
        value = self.frame.at[index, column_for(metric)]
        missing = bool(pd.isna(value))
        return dict(
            query=query,
            index=index,
            arch=self.frame.at[index, "arch"],
            metric=metric.key,
            value=float(value),
            missing=missing,
            reason="not tabulated" if missing else "",
        )

    # -- population -------------------------------------------------------------------------------
    def _column_values(self, metric: Metric, allow_partial: bool, what: str) -> tuple[pd.Series, bool]:
        column = column_for(metric)
        values = self.frame[column].dropna()
        complete = self.is_metric_complete(metric)
        if not complete and not allow_partial:
            raise IncompleteColumnError(
                f"refusing the {what} of {metric.key}: {self.source} fills column {column} for "
                f"{len(values)} of {NB201_SIZE} architectures; pass allow_partial=True to compute it over "
                "the filled rows only"
            )
        if values.empty:
            raise MissingValueError(f"{self.source} has no value of {metric.key} at all")
        return values, complete

    def population_stats(
        self, metric: Metric | str, *, allow_partial: bool = False, ddof: int = POPULATION_DDOF
    ) -> PopulationStats:
        """Mean and std (``ddof``, default 1) of ``metric`` (a :class:`Metric` or a Table-1 name) over all
        architectures."""
        metric = _as_metric(metric)
        values, complete = self._column_values(metric, allow_partial, "mean/std")
        arr = values.to_numpy(dtype=float)
        return PopulationStats(metric, float(arr.mean()), float(arr.std(ddof=ddof)), len(arr), ddof, complete)

    def optimum(self, metric: Metric | str, *, allow_partial: bool = False) -> Optimum:
        """Maximum of ``metric`` (a :class:`Metric` or a Table-1 name) and every architecture attaining it."""
        metric = _as_metric(metric)
        values, complete = self._column_values(metric, allow_partial, "maximum")
        best = float(values.max())
        indices = tuple(int(i) for i in values.index[values == best])
        archs = tuple(str(self.frame.at[i, "arch"]) for i in indices)
        return Optimum(metric, best, indices, archs, len(values), complete)


    # -- the benchmark interface (balenas.benchmarks.base.Benchmark) --------------------------------
    @property
    def metric_names(self) -> tuple[str, ...]:
        return tuple(TABLE1_METRICS)

    def metric_key(self, name: str) -> str:
        return _as_metric(name).key

    def lookup_genotype(self, genotype: ArchLike) -> Lookup:
        """The six Table-1 metrics of ``genotype``; a value the table lacks is None with a reason."""
        found = self.lookup([genotype], TABLE1_METRICS.values())
        values = {n: (None if r.missing else float(r.value)) for n, r in zip(TABLE1_METRICS, found.itertuples())}
        missing = {n: r.reason for n, r in zip(TABLE1_METRICS, found.itertuples()) if r.missing}
        index = int(found["index"].iloc[0])
        return Lookup(index if index >= 0 else None, values, missing)

    def provenance(self) -> dict[str, object]:
        return {"table": self.source, "sha256": self.sha256, "rows": len(self), "complete": self.is_complete}


def _as_metric(metric: Metric | str) -> Metric:
    if isinstance(metric, Metric):
        return metric
    if metric in TABLE1_METRICS:
        return TABLE1_METRICS[metric]
    return Metric.parse(metric)


# --- reading and writing -------------------------------------------------------------------------
def to_compact_csv_text(frame: pd.DataFrame) -> str:
    """The canonical CSV text of a validated frame (index as first column, 6 decimals, ``\\n`` endings)."""
    out = frame.reset_index()[list(COLUMNS)]
    return out.to_csv(index=False, float_format="%.6f", lineterminator="\n")


def load_nb201_table(path: str | Path) -> NB201Table:
    """Read and validate a compact table; any problem raises :class:`BenchmarkFileError` naming the file."""
    path = Path(path)
    source = str(path)
    if not path.exists():
        raise _fail(source, "file does not exist")
    if not path.is_file():
        raise _fail(source, "is not a regular file")
    data = path.read_bytes()
    text = _check_text(data, source)
    _check_line_structure(text, source)
    frame = _validated_frame(_parse_csv(text, source), source)
    return NB201Table._make(frame, source, sha256_bytes(data))
