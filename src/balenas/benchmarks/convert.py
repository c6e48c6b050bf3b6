"""Convert the official NAS-Bench-201 / NATS-Bench files into the compact table, and recognise them.

Supported sources (each a :class:`SourceKind` in :data:`SOURCE_KINDS`):

``nats-tss-dir``
    A NATS-Bench topology archive directory (``NATS-tss-v1_0-3ffb9-simple/``: ``meta.pickle.pbz2`` plus one
    ``NNNNNN.pickle.pbz2`` per architecture), read with the official ``nats_bench`` package as
    ``nats_bench.create(path, "tss", fast_mode=True, verbose=False)``.
``nats-tss-file``
    The single-file NATS-Bench topology benchmark (``NATS-tss-v1_0-3ffb9.pickle.pbz2``), ``fast_mode=False``.
``nb201-pth``
    A NAS-Bench-201 file (``NAS-Bench-201-v1_0-e61699.pth`` or ``NAS-Bench-201-v1_1-096897.pth``), read with the
    official ``nas_201_api`` package (``pip install nas-bench-201``). The file is a pickled dict, so it is
    loaded with ``torch.load(..., weights_only=False)`` (the API's own ``torch.load`` call predates the
    ``weights_only`` default) and the dict handed to ``NASBench201API``; only point this at the official file.
    The v1_0 file holds 12-epoch results for ``cifar10-valid`` only: the other 12-epoch cells come out empty.
``compact-csv``
    An already converted table (validated by :func:`balenas.benchmarks.nb201.load_nb201_table`).

Every value is ``get_more_info(index, dataset, hp=..., is_random=False)[key]`` -- the mean over training
seeds after the last epoch -- for the (dataset, hp, key) of each column in
:data:`balenas.benchmarks.nb201.ACCURACY_COLUMNS`; params/FLOPs are ``get_cost_info(index, dataset, hp="200")``.
A (dataset, hp) the source does not hold becomes an empty cell and is counted in
:attr:`ConversionResult.missing` and logged: never a substitute value.

:func:`validate_benchmark_path` is the cheap up-front check the pipeline runs before any search starts.
"""

from __future__ import annotations

import bz2
import hashlib
import logging
import pickle
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

import numpy as np
import pandas as pd

from balenas.benchmarks.nb201 import (
    ACCURACY_COLUMNS,
    COLUMNS,
    COST_DATASETS,
    COST_KINDS,
    NB201_SIZE,
    BenchmarkError,
    BenchmarkFileError,
    NB201Table,
    cost_column,
    load_nb201_table,
    to_compact_csv_text,
)
from balenas.registry import Registry
from balenas.runtime import atomic_path, sha256_file, write_json
from balenas.spaces import get_space

log = logging.getLogger(__name__)

OFFICIAL_PTH_NAMES: tuple[str, ...] = ("NAS-Bench-201-v1_0-e61699.pth", "NAS-Bench-201-v1_1-096897.pth")
NATS_META = "meta.pickle.pbz2"
_NATS_ARCH_FILE = re.compile(r"^(\d+)\.pickle\.pbz2$")
_EXPECTED = (
    "expected a compact NAS-Bench-201 CSV (*.csv), a NATS-Bench topology archive directory holding "
    f"{NATS_META} (e.g. NATS-tss-v1_0-3ffb9-simple/), a NATS-Bench topology file (*.pickle.pbz2) or a "
    f"NAS-Bench-201 file ({' / '.join(OFFICIAL_PTH_NAMES)})"
)


class MissingDependencyError(BenchmarkError, ImportError):
    """The official package needed to read a source is not installed."""


class ArchNotAvailableError(BenchmarkError, LookupError):
    """A requested index has no results in the source."""


class BenchmarkAPI(Protocol):
    """The part of the official APIs (``nats_bench`` and ``nas_201_api``) the converter uses."""

    def arch(self, index: int) -> str: ...

    def get_more_info(
        self, index: int, dataset: str, iepoch: int | None = None, hp: str = "12", is_random: bool = True
    ) -> dict[str, Any]: ...

    def get_cost_info(self, index: int, dataset: str, hp: str = "12") -> dict[str, Any]: ...


# --- source kinds --------------------------------------------------------------------------------
@dataclass(frozen=True)
class BenchmarkSource:
    """A recognised benchmark path."""

    kind: str
    path: Path
    description: str


@dataclass(frozen=True)
class ApiReader:
    """How to open a source with its official package, list what it holds, and free memory per row."""

    package: str
    open_api: Callable[[Path], BenchmarkAPI]
    available: Callable[[BenchmarkAPI, Path], frozenset[int]]
    release: Callable[[BenchmarkAPI, int], None] = lambda api, index: None


@dataclass(frozen=True)
class SourceKind:
    """How to recognise and check one kind of benchmark source, and convert it."""

    name: str
    description: str
    matches: Callable[[Path], bool]
    validate: Callable[[Path], None]
    reader: ApiReader | None  # None: already a compact table


def _read_magic(path: Path, n: int = 8) -> bytes:
    with path.open("rb") as fh:
        return fh.read(n)


def _bad(path: Path, problem: str) -> BenchmarkFileError:
    return BenchmarkFileError(f"{path}: {problem}; {_EXPECTED}")


def _load_bz2_pickle(path: Path) -> Any:
    """Read a NATS-Bench ``.pickle.pbz2`` (the official format: a bz2-compressed pickle)."""
    try:
        with bz2.open(path, "rb") as fh:
            return pickle.load(fh)
    except (OSError, EOFError, pickle.UnpicklingError, ValueError) as err:
        raise _bad(path, f"cannot be read as a bz2-compressed pickle ({err})") from None


# nats-tss-dir ------------------------------------------------------------------------------------
def _nats_dir_indices(path: Path) -> frozenset[int]:
    found = (_NATS_ARCH_FILE.match(p.name) for p in path.iterdir())
    return frozenset(int(m.group(1)) for m in found if m)


def _validate_nats_meta(meta: Any, where: Path) -> None:
    archs = meta.get("meta_archs") if isinstance(meta, dict) else None
    if not isinstance(archs, list) or len(archs) != NB201_SIZE:
        raise _bad(where, f"has no list of {NB201_SIZE} 'meta_archs' (not the topology search space?)")
    space = get_space("nb201")
    try:
        space.parse(archs[0])
    except (ValueError, AttributeError) as err:
        raise _bad(where, f"its first architecture is not a NAS-Bench-201 string ({err})") from None


def _validate_nats_dir(path: Path) -> None:
    _validate_nats_meta(_load_bz2_pickle(path / NATS_META), path / NATS_META)
    if not _nats_dir_indices(path):
        raise _bad(path, "holds no per-architecture NNNNNN.pickle.pbz2 file")


def _open_nats(path: Path, fast_mode: bool) -> BenchmarkAPI:
    try:
        import nats_bench
    except ImportError as err:
        raise MissingDependencyError(
            f"reading {path} needs the official package: pip install nats_bench ({err})"
        ) from None
    return nats_bench.create(str(path), "tss", fast_mode=fast_mode, verbose=False)


def _release_nats_fast(api: Any, index: int) -> None:
    """Drop one architecture's results once its row is built (fast mode keeps every loaded arch otherwise)."""
    api.arch2infos_dict.pop(index, None)


# nats-tss-file -----------------------------------------------------------------------------------
def _validate_nats_file(path: Path) -> None:
    if not _read_magic(path).startswith(b"BZh"):
        raise _bad(path, "is not bzip2-compressed")


def _loaded_indices(api: Any, path: Path) -> frozenset[int]:
    return frozenset(int(i) for i in api.arch2infos_dict)


# nb201-pth ---------------------------------------------------------------------------------------
def _validate_pth(path: Path) -> None:
    magic = _read_magic(path)
    if not (magic.startswith(b"PK\x03\x04") or magic.startswith(b"\x80")):
        raise _bad(path, "is neither a zip-format nor a legacy torch file")
    if path.name not in OFFICIAL_PTH_NAMES:
        log.warning("%s: not one of the official NAS-Bench-201 file names %s", path, OFFICIAL_PTH_NAMES)


def _open_nb201_pth(path: Path) -> BenchmarkAPI:
    try:
        import torch
        from nas_201_api import NASBench201API
    except ImportError as err:
        raise MissingDependencyError(
            f"reading {path} needs the official package: pip install nas-bench-201 ({err})"
        ) from None
    try:
        data = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # torch raises many types for a corrupt file; all mean the same here
        raise _bad(path, f"torch.load failed ({type(err).__name__}: {err})") from None
    if not isinstance(data, dict) or not {"meta_archs", "arch2infos", "evaluated_indexes"} <= set(data):
        raise _bad(path, "does not hold the NAS-Bench-201 dict (meta_archs, arch2infos, evaluated_indexes)")
    return NASBench201API(data, verbose=False)


# compact-csv -------------------------------------------------------------------------------------
def _validate_csv(path: Path) -> None:
    load_nb201_table(path)


SOURCE_KINDS: Registry[SourceKind] = Registry("benchmark source kind")
for _kind in (
    SourceKind(
        "compact-csv",
        "compact NAS-Bench-201 CSV",
        matches=lambda p: p.is_file() and p.suffix.lower() == ".csv",
        validate=_validate_csv,
        reader=None,
    ),
    SourceKind(
        "nats-tss-dir",
        "NATS-Bench topology archive directory",
        matches=lambda p: p.is_dir() and (p / NATS_META).is_file(),
        validate=_validate_nats_dir,
        reader=ApiReader(
            "nats_bench",
            lambda p: _open_nats(p, fast_mode=True),
            available=lambda api, p: _nats_dir_indices(p),
            release=_release_nats_fast,
        ),
    ),
    SourceKind(
        "nats-tss-file",
        "NATS-Bench topology single-file benchmark",
        matches=lambda p: p.is_file() and p.name.endswith(".pickle.pbz2"),
        validate=_validate_nats_file,
        reader=ApiReader("nats_bench", lambda p: _open_nats(p, fast_mode=False), available=_loaded_indices),
    ),
    SourceKind(
        "nb201-pth",
        "NAS-Bench-201 .pth file",
        matches=lambda p: p.is_file() and p.suffix == ".pth",
        validate=_validate_pth,
        reader=ApiReader("nas-bench-201", _open_nb201_pth, available=_loaded_indices),
    ),
):
    SOURCE_KINDS.add(_kind.name, _kind)


def detect_source(path: str | Path) -> BenchmarkSource:
    """Recognise ``path`` by its shape (no content checks); raises naming the path and what was expected."""
    path = Path(path)
    if not path.exists():
        raise _bad(path, "does not exist")
    kinds = [SOURCE_KINDS[name] for name in SOURCE_KINDS if SOURCE_KINDS[name].matches(path)]
    if not kinds:
        what = "directory without " + NATS_META if path.is_dir() else "file of unrecognised type"
        raise _bad(path, f"is a {what}")
    return BenchmarkSource(kinds[0].name, path, kinds[0].description)


def validate_benchmark_path(path: str | Path) -> BenchmarkSource:
    """Check a configured benchmark path before any work starts.

    Accepts a compact CSV (fully validated) or a recognisable official file/directory (format checks
    that do not load the whole benchmark). Anything else raises :class:`BenchmarkFileError` naming the
    path and listing what was expected.
    """
    source = detect_source(path)
    SOURCE_KINDS[source.kind].validate(source.path)
    log.info("benchmark %s recognised as %s", source.path, source.description)
    return source


# --- checksums -----------------------------------------------------------------------------------
def sha256_tree(root: Path) -> str:
    """Checksum of a directory: sha256 over ``relative/posix/path NUL sha256(content) LF`` for every
    regular file below ``root``, in sorted path order. Renaming, adding, removing or editing a file
    changes it; timestamps and permissions do not."""
    h = hashlib.sha256()
    files = sorted((p for p in root.rglob("*") if p.is_file()), key=lambda p: p.relative_to(root).as_posix())
    for p in files:
        h.update(p.relative_to(root).as_posix().encode("utf-8") + b"\0")
        h.update(sha256_file(p).encode("ascii") + b"\n")
    return h.hexdigest()


def source_checksum(path: Path) -> str:
    return sha256_tree(path) if path.is_dir() else sha256_file(path)


# --- conversion ----------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class ConversionResult:
    """A converted table with its provenance.

    ``missing`` counts, per column, the requested rows the source had no value for.
    """

    table: NB201Table
    source: BenchmarkSource
    source_sha256: str
    api: str
    indices: tuple[int, ...]
    missing: Mapping[str, int] = field(default_factory=dict)

    def provenance(self) -> dict[str, Any]:
        return {
            "source": str(self.source.path),
            "source_kind": self.source.kind,
            "source_sha256": self.source_sha256,
            "api": self.api,
            "n_archs": len(self.indices),
            "complete": self.table.is_complete,
            "missing_cells": dict(self.missing),
            "table_sha256": self.table.sha256,
        }


def _package_version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{dist} {version(dist)}"
    except PackageNotFoundError:
        return f"{dist} (version unknown)"


def _info(api: BenchmarkAPI, index: int, dataset: str, hp: str) -> dict[str, Any] | None:
    """``get_more_info(..., is_random=False)``, or ``None`` when the source has no such results."""
    try:
        return api.get_more_info(index, dataset, hp=hp, is_random=False)
    except (KeyError, ValueError, IndexError) as err:
        log.debug("no %s hp=%s results for index %d (%s)", dataset, hp, index, err)
        return None


def _finite(value: Any) -> float:
    out = float(value) if value is not None else np.nan
    return out if np.isfinite(out) else np.nan


def _row(api: BenchmarkAPI, index: int) -> dict[str, Any]:
    """One compact-table row read through the official API."""
    row: dict[str, Any] = {"index": index, "arch": api.arch(index)}
    infos: dict[tuple[str, str], dict[str, Any] | None] = {}
    for spec in ACCURACY_COLUMNS:
        key = (spec.metric.dataset, str(spec.metric.hp))
        if key not in infos:
            infos[key] = _info(api, index, *key)
        info = infos[key]
        row[spec.column] = _finite(info.get(spec.api_key)) if info is not None else np.nan
    for dataset in COST_DATASETS:
        try:
            costs = api.get_cost_info(index, dataset, hp="200")
        except (KeyError, ValueError, IndexError):
            costs = {}
        for kind in COST_KINDS:
            row[cost_column(dataset, kind)] = _finite(costs.get(kind))
    return row


def _requested(
    indices: Iterable[int] | None, available: frozenset[int], path: Path, allow_partial: bool = False
) -> tuple[int, ...]:
    if indices is None and allow_partial:
        wanted = tuple(sorted(available))
        if len(wanted) < NB201_SIZE:
            log.warning(
                "%s holds %d of %d architectures: converting those only (allow_partial); every other "
                "architecture will be an explicit 'arch not in table' in lookups",
                path,
                len(wanted),
                NB201_SIZE,
            )
        return wanted
    wanted = tuple(range(NB201_SIZE)) if indices is None else tuple(sorted({int(i) for i in indices}))
    bad = [i for i in wanted if not 0 <= i < NB201_SIZE]
    if bad:
        raise ValueError(f"NB201 indices must be in 0..{NB201_SIZE - 1}, got {bad[:10]}")
    absent = [i for i in wanted if i not in available]
    if absent:
        raise ArchNotAvailableError(
            f"{path} has no results for {len(absent)} requested index(es) (first: {absent[:10]}); it holds "
            f"{len(available)} architecture(s): pass indices= (or allow_partial=True) to convert a subset"
        )
    return wanted


def _convert_csv(
    source: BenchmarkSource, indices: Iterable[int] | None, allow_partial: bool = False
) -> ConversionResult:
    table = load_nb201_table(source.path)
    wanted = _requested(indices, frozenset(table.frame.index.tolist()), source.path, allow_partial)
    if indices is not None:
        table = NB201Table.from_frame(table.frame.loc[list(wanted)], source=str(source.path))
    return ConversionResult(table, source, sha256_file(source.path), "balenas compact CSV", wanted)


def _convert_with_api(
    source: BenchmarkSource, reader: ApiReader, indices: Iterable[int] | None, allow_partial: bool = False
) -> ConversionResult:
    api = reader.open_api(source.path)
    wanted = _requested(indices, reader.available(api, source.path), source.path, allow_partial)
    rows = []
    for n, index in enumerate(wanted, start=1):
        rows.append(_row(api, index))
        reader.release(api, index)
        if n % 1000 == 0:
            log.info("converted %d / %d architectures from %s", n, len(wanted), source.path)
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    missing = {str(c): int(n) for c, n in frame[list(COLUMNS[2:])].isna().sum().items() if n}
    for column, count in missing.items():
        log.warning("%s: no value for %s in %d of %d converted rows", source.path, column, count, len(wanted))
    table = NB201Table.from_frame(frame, source=f"converted from {source.path}")
    return ConversionResult(
        table,
        source,
        source_checksum(source.path),
        _package_version(reader.package),
        wanted,
        MappingProxyType(missing),
    )


def convert_benchmark(
    path: str | Path, *, indices: Iterable[int] | None = None, allow_partial: bool = False
) -> ConversionResult:
    """Convert an official source (or a compact CSV) into a validated compact table.

    ``indices=None`` converts all 15,625 architectures and raises :class:`ArchNotAvailableError` if the
    source lacks any, unless ``allow_partial=True``: then it converts every architecture the source holds
    (and logs how many). Pass a subset otherwise (e.g. ``[0, 11, 284]`` for the shared NATS fixture).
    """
    source = validate_benchmark_path(path)
    reader = SOURCE_KINDS[source.kind].reader
    if reader is None:
        return _convert_csv(source, indices, allow_partial)
    return _convert_with_api(source, reader, indices, allow_partial)


def write_compact_table(result: ConversionResult, out: str | Path) -> Path:
    """Write the compact CSV atomically, plus ``<out>.provenance.json`` (source, checksums, API, gaps)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    text = to_compact_csv_text(result.table.frame)
    meta = result.provenance()
    with atomic_path(out) as tmp:
        tmp.write_text(text, encoding="utf-8")
    write_json(out.with_name(out.name + ".provenance.json"), meta)
    log.info("wrote %s (%d rows, sha256 %s)", out, len(result.table), meta["table_sha256"])
    return out

