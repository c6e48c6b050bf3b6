"""NAS-Bench-101 ground truth without TensorFlow: module hash, TFRecord framing, ModelMetrics, compact table.

The official files (``nasbench_only108.tfrecord``, ``nasbench_full.tfrecord``) are TFRecord files: each
record is framed as ``uint64 length | uint32 masked-crc32c(length) | data | uint32 masked-crc32c(data)``
(little endian). Each record's data is the UTF-8 JSON list
``[module_hash, epochs, adjacency "0/1" string (row-major), ops "a,b,c", base64 ModelMetrics]`` and holds
ONE training repeat of one model at one budget; a model trained for 108 epochs has three such records.

``ModelMetrics`` is the ``nasbench`` protobuf message (``nasbench/lib/model_metrics.proto``, proto2). Its
generated ``model_metrics_pb2.py`` does not load on current protobuf, so the message classes are built here
from a descriptor written in code. As in ``nasbench.api``, ``evaluation_data[2]`` is the final evaluation
(``evaluation_data[1]`` the halfway point).

:func:`convert_nb101` turns such a file into the compact table (one row per module hash: the 108-epoch
validation and test accuracy of each of the 3 repeats, trainable parameters, mean training time), written
as CSV with a ``#`` header line naming the format, the row count and the source's sha256.
:func:`load_nb101_table` validates such a file and returns an :class:`NB101Table`; any problem raises
:class:`~balenas.benchmarks.nb201.BenchmarkFileError` naming the file.

:func:`module_hash` is the benchmark's isomorphism-invariant graph hash (iterated neighbourhood hashing with
MD5, as ``nasbench.lib.graph_util.hash_module``), and :func:`prune` removes the vertices that are not on a
path from input to output, as ``nasbench.api.ModelSpec`` does before hashing.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import numpy as np
import pandas as pd

from balenas.benchmarks.nb201 import (
    ArchNotInTableError,
    BenchmarkFileError,
    Optimum,
    PopulationStats,
    UnsupportedMetricError,
)

from balenas.nb101_graph import (  # noqa: F401 - re-exported: the NB-101 graph API lives here too
    CONV1X1,
    CONV3X3,
    HASH_OPS,
    INPUT,
    MAX_EDGES,
    MAX_VERTICES,
    MAXPOOL3X3,
    OUTPUT,
    Matrix,
    bits_to_matrix,
    matrix_to_bits,
    module_hash,
    prune,
    spec_hash,
)

EPOCHS = 108
REPEATS = 3
FINAL_EVALUATION = 2  # index of the final evaluation in ModelMetrics.evaluation_data

# --- crc32c and TFRecord framing -----------------------------------------------------------------
def _crc32c_table() -> tuple[int, ...]:
    poly = 0x82F63B78  # Castagnoli, reflected
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_TABLE = _crc32c_table()


def _crc32c_python(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


try:  # the maintained C implementation when installed (pyproject lists it); same function
    from crc32c import crc32c as _crc32c_fast
except ImportError:  # pragma: no cover - exercised only without the package
    _crc32c_fast = None


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli) of ``data``."""
    return int(_crc32c_fast(data)) if _crc32c_fast is not None else _crc32c_python(data)


def masked_crc32c(data: bytes) -> int:
    """TFRecord's masked CRC: rotate right by 15 bits and add a constant (mod 2**32)."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def write_tfrecord(path: str | Path, records: Iterable[bytes]) -> int:
    """Write ``records`` in TFRecord framing; returns how many were written."""
    count = 0
    with open(path, "wb") as fh:
        for data in records:
            length = struct.pack("<Q", len(data))
            fh.write(length)
            fh.write(struct.pack("<I", masked_crc32c(length)))
            fh.write(data)
            fh.write(struct.pack("<I", masked_crc32c(data)))
            count += 1
    return count


def read_tfrecord(path: str | Path) -> Iterator[bytes]:
    """Yield each record's data, checking both CRCs; a corrupt or truncated file raises naming it."""
    source = str(path)
    with open(path, "rb") as fh:
        index = 0
        while True:
            head = fh.read(12)
            if not head:
                return
            if len(head) < 12:
                raise BenchmarkFileError(f"{source}: truncated TFRecord header of record {index}")
            length_bytes, length_crc = head[:8], struct.unpack("<I", head[8:])[0]
            if masked_crc32c(length_bytes) != length_crc:
                raise BenchmarkFileError(
                    f"{source}: length CRC mismatch at record {index}; not a TFRecord file or corrupt"
                )
            (length,) = struct.unpack("<Q", length_bytes)
            data = fh.read(length)
            tail = fh.read(4)
            if len(data) < length or len(tail) < 4:
                raise BenchmarkFileError(f"{source}: truncated record {index} ({length} bytes announced)")
            if masked_crc32c(data) != struct.unpack("<I", tail)[0]:
                raise BenchmarkFileError(f"{source}: data CRC mismatch at record {index}; the file is corrupt")
            yield data
            index += 1


# --- ModelMetrics protobuf -----------------------------------------------------------------------
def _build_messages() -> tuple[type, type]:
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    fdp = descriptor_pb2.FileDescriptorProto(
        name="balenas/nasbench_model_metrics.proto", package="nasbench", syntax="proto2"
    )
    FD = descriptor_pb2.FieldDescriptorProto
    opt, rep = FD.LABEL_OPTIONAL, FD.LABEL_REPEATED
    evaluation = fdp.message_type.add(name="EvaluationData")
    for number, name, kind in (
        (1, "current_epoch", FD.TYPE_DOUBLE),
        (2, "training_time", FD.TYPE_DOUBLE),
        (3, "train_accuracy", FD.TYPE_DOUBLE),
        (4, "validation_accuracy", FD.TYPE_DOUBLE),
        (5, "test_accuracy", FD.TYPE_DOUBLE),
        (6, "checkpoint_path", FD.TYPE_STRING),
    ):
        evaluation.field.add(name=name, number=number, type=kind, label=opt)
    metrics = fdp.message_type.add(name="ModelMetrics")
    metrics.field.add(
        name="evaluation_data", number=1, type=FD.TYPE_MESSAGE, label=rep, type_name=".nasbench.EvaluationData"
    )
    metrics.field.add(name="trainable_parameters", number=2, type=FD.TYPE_INT32, label=opt)
    metrics.field.add(name="total_time", number=3, type=FD.TYPE_DOUBLE, label=opt)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    get = message_factory.GetMessageClass
    return get(pool.FindMessageTypeByName("nasbench.ModelMetrics")), get(
        pool.FindMessageTypeByName("nasbench.EvaluationData")
    )


_MESSAGES: tuple[type, type] | None = None


def messages() -> tuple[type, type]:
    """``(ModelMetrics, EvaluationData)`` message classes (built once)."""
    global _MESSAGES
    if _MESSAGES is None:
        _MESSAGES = _build_messages()
    return _MESSAGES


@dataclass(frozen=True)
class Evaluation:
    """One evaluation point of one repeat (fractions, seconds)."""

    current_epoch: float
    training_time: float
    train_accuracy: float
    validation_accuracy: float
    test_accuracy: float


@dataclass(frozen=True)
class NB101Record:
    """One decoded record of an official file: one repeat of one model at one budget."""

    module_hash: str
    epochs: int
    matrix: tuple[tuple[int, ...], ...]
    ops: tuple[str, ...]
    trainable_parameters: int
    total_time: float
    evaluations: tuple[Evaluation, ...]

    @property
    def final(self) -> Evaluation:
        return self.evaluations[FINAL_EVALUATION]


def encode_record(
    module_hash_: str,
    epochs: int,
    matrix: Any,
    ops: Sequence[str],
    trainable_parameters: int,
    evaluations: Sequence[Evaluation],
    total_time: float = 0.0,
) -> bytes:
    """The data of one official record (JSON list with base64 ModelMetrics); used by tests and fixtures."""
    model_metrics, _ = messages()
    msg = model_metrics(trainable_parameters=int(trainable_parameters), total_time=float(total_time))
    for ev in evaluations:
        msg.evaluation_data.add(
            current_epoch=ev.current_epoch,
            training_time=ev.training_time,
            train_accuracy=ev.train_accuracy,
            validation_accuracy=ev.validation_accuracy,
            test_accuracy=ev.test_accuracy,
        )
    blob = base64.b64encode(msg.SerializeToString()).decode("ascii")
    row = [module_hash_, int(epochs), matrix_to_bits(matrix), ",".join(ops), blob]
    return json.dumps(row).encode("utf-8")


def decode_record(data: bytes, source: str = "<record>") -> NB101Record:
    """Decode one official record; a malformed one raises :class:`BenchmarkFileError` naming ``source``."""
    try:
        row = json.loads(data.decode("utf-8"))
        key, epochs, bits, raw_ops, raw_metrics = row
        matrix = bits_to_matrix(bits)
        ops = tuple(raw_ops.split(","))
        if len(ops) != matrix.shape[0]:
            raise ValueError(f"{len(ops)} ops for a {matrix.shape[0]}-vertex matrix")
        model_metrics, _ = messages()
        msg = model_metrics.FromString(base64.b64decode(raw_metrics, validate=True))
    except BenchmarkFileError:
        raise
    except Exception as exc:  # json, unpacking, base64, protobuf: all mean "not an official record"
        raise BenchmarkFileError(
            f"{source}: not a NAS-Bench-101 record ([hash, epochs, adjacency, ops, base64 ModelMetrics]): {exc}"
        ) from None
    evaluations = tuple(
        Evaluation(e.current_epoch, e.training_time, e.train_accuracy, e.validation_accuracy, e.test_accuracy)
        for e in msg.evaluation_data
    )
    return NB101Record(
        module_hash=str(key),
        epochs=int(epochs),
        matrix=tuple(tuple(int(x) for x in r) for r in matrix),
        ops=ops,
        trainable_parameters=int(msg.trainable_parameters),
        total_time=float(msg.total_time),
        evaluations=evaluations,
    )


# --- the compact table ---------------------------------------------------------------------------
FORMAT = "balenas-nb101-compact-v1"
VALID_COLS: tuple[str, ...] = tuple(f"valid_acc_{r}" for r in range(REPEATS))
TEST_COLS: tuple[str, ...] = tuple(f"test_acc_{r}" for r in range(REPEATS))
COLUMNS: tuple[str, ...] = ("hash", "adjacency", "ops", "params", *VALID_COLS, *TEST_COLS, "train_time")
METRICS: Mapping[str, tuple[tuple[str, ...], bool]] = {
    # name -> (columns averaged over repeats, is_error); accuracies are fractions in [0, 1]
    "valid_accuracy": (VALID_COLS, False),
    "test_accuracy": (TEST_COLS, False),
    "valid_error": (VALID_COLS, True),
    "test_error": (TEST_COLS, True),
}


def _fail(source: str, problem: str) -> BenchmarkFileError:
    return BenchmarkFileError(f"{source}: {problem}; expected a compact NAS-Bench-101 CSV ({FORMAT})")


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def convert_nb101(tfrecord_path: str | Path, epochs: int = EPOCHS) -> pd.DataFrame:
    """The compact table of an official TFRecord: one row per hash with its ``epochs`` repeats.

    ``frame.attrs`` holds ``source`` and ``source_sha256``. A model without exactly :data:`REPEATS`
    repeats at ``epochs``, or an empty file, raises naming the file.
    """
    source = str(tfrecord_path)
    if not Path(tfrecord_path).is_file():
        raise BenchmarkFileError(f"{source}: file does not exist; expected nasbench_only108.tfrecord or nasbench_full.tfrecord")
    repeats: dict[str, list[NB101Record]] = {}
    for i, data in enumerate(read_tfrecord(tfrecord_path)):
        rec = decode_record(data, f"{source} record {i}")
        if rec.epochs == epochs:
            repeats.setdefault(rec.module_hash, []).append(rec)
    if not repeats:
        raise BenchmarkFileError(f"{source}: no {epochs}-epoch NAS-Bench-101 records")
    rows = []
    for key, recs in repeats.items():
        if len(recs) != REPEATS:
            raise BenchmarkFileError(f"{source}: model {key} has {len(recs)} repeats at {epochs} epochs, expected {REPEATS}")
        if any(len(r.evaluations) <= FINAL_EVALUATION for r in recs):
            raise BenchmarkFileError(f"{source}: model {key} lacks the final evaluation")
        first = recs[0]
        row: dict[str, object] = dict(
            hash=key,
            adjacency=matrix_to_bits(first.matrix),
            ops=",".join(first.ops),
            params=first.trainable_parameters,
        )
        for r, rec in enumerate(recs):
            row[VALID_COLS[r]] = rec.final.validation_accuracy
            row[TEST_COLS[r]] = rec.final.test_accuracy
        row["train_time"] = float(np.mean([rec.final.training_time for rec in recs]))
        rows.append(row)
    frame = pd.DataFrame(rows, columns=list(COLUMNS)).sort_values("hash", kind="stable").reset_index(drop=True)
    frame.attrs.update(source=source, source_sha256=sha256_file(tfrecord_path))
    return frame


def write_nb101_table(frame: pd.DataFrame, path: str | Path) -> None:
    """Write the compact CSV: a header line (format, rows, source sha256), then the columns."""
    header = f"# {FORMAT} rows={len(frame)} source_sha256={frame.attrs.get('source_sha256', 'unknown')}\n"
    body = frame[list(COLUMNS)].to_csv(index=False, float_format="%.10g", lineterminator="\n")
    Path(path).write_text(header + body, encoding="utf-8")


def _parse_header(line: str, source: str) -> tuple[int, str]:
    parts = line.strip().split()
    if len(parts) != 4 or parts[0] != "#" or parts[1] != FORMAT:
        raise _fail(source, f"first line is {line.strip()[:80]!r}, not the format header")
    fields = dict(p.split("=", 1) for p in parts[2:] if "=" in p)
    try:
        return int(fields["rows"]), fields["source_sha256"]
    except (KeyError, ValueError):
        raise _fail(source, "header lacks rows=<n> / source_sha256=<hex>") from None


def load_nb101_table(path: str | Path, *, verify_hashes: bool = False) -> NB101Table:
    """Read and validate a compact table; ``verify_hashes`` also recomputes every key (slow on 423k rows)."""
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise _fail(source, "file does not exist")
    data = path.read_bytes()
    if not data.startswith(b"# " + FORMAT.encode()):
        hint = "" if data[:1] == b"#" else " (an official .tfrecord? convert it with convert_nb101 first)"
        raise _fail(source, f"does not start with the '# {FORMAT}' header{hint}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _fail(source, "is not UTF-8 text") from None
    header, _, body = text.partition("\n")
    rows, source_sha = _parse_header(header, source)
    if not text.endswith("\n"):
        raise _fail(source, "last line is incomplete (truncated file?)")
    try:
        frame = pd.read_csv(io.StringIO(body), dtype={"hash": str, "adjacency": str, "ops": str})
    except Exception as exc:
        raise _fail(source, f"unreadable CSV ({exc})") from None
    if tuple(frame.columns) != COLUMNS:
        raise _fail(source, f"columns are {list(frame.columns)}, expected {list(COLUMNS)}")
    if len(frame) != rows:
        raise _fail(source, f"{len(frame)} rows but the header says {rows} (truncated file?)")
    if frame.isna().any().any():
        col = frame.columns[frame.isna().any()][0]
        raise _fail(source, f"empty values in column {col}")
    if not frame["hash"].str.fullmatch(r"[0-9a-f]{32}").all() or frame["hash"].duplicated().any():
        raise _fail(source, "hash column must hold unique 32-hex-digit module hashes")
    accs = frame[list(VALID_COLS + TEST_COLS)].to_numpy(dtype=float)
    if ((accs < 0) | (accs > 1)).any():
        raise _fail(source, "accuracies must be fractions in [0, 1]")
    if verify_hashes:
        for row in frame.itertuples(index=False):
            if module_hash(bits_to_matrix(row.adjacency), row.ops.split(",")) != row.hash:
                raise _fail(source, f"row {row.hash}: key is not the hash of its adjacency and ops")
    return NB101Table(frame.set_index("hash", drop=False), source, source_sha, hashlib.sha256(data).hexdigest())


# --- the benchmark -------------------------------------------------------------------------------
GenotypeLike = Union[str, tuple, Any]


def hash_of(genotype: GenotypeLike) -> str | None:
    """Module hash of a hash string, a ``(matrix, ops)`` pair, or an object with ``matrix``/``ops`` (pruned first)."""
    if isinstance(genotype, str):
        return genotype
    if isinstance(genotype, tuple) and len(genotype) == 2:
        return spec_hash(*genotype)
    if hasattr(genotype, "matrix") and hasattr(genotype, "ops"):
        return spec_hash(genotype.matrix, genotype.ops)
    raise TypeError(f"cannot look up {genotype!r}: expected a module hash, (matrix, ops) or a genotype")


def _metric(name: str) -> tuple[tuple[str, ...], bool]:
    try:
        return METRICS[name]
    except KeyError:
        raise UnsupportedMetricError(f"unknown NAS-Bench-101 metric {name!r}; valid: {', '.join(METRICS)}") from None


@dataclass(frozen=True)
class NB101Table:
    """The compact NAS-Bench-101 table (108 epochs); values are means over the 3 repeats (fractions)."""

    frame: pd.DataFrame
    source: str
    source_sha256: str
    sha256: str
    space: str = "nb101"

    @property
    def metrics(self) -> Mapping[str, tuple[tuple[str, ...], bool]]:
        return METRICS

    def __len__(self) -> int:
        return len(self.frame)

    def _values(self, name: str) -> pd.Series:
        cols, is_error = _metric(name)
        mean = self.frame[list(cols)].mean(axis=1)
        return 1.0 - mean if is_error else mean

    def query(self, genotype: GenotypeLike, metric_name: str) -> float:
        """The metric of ``genotype``; raises :class:`ArchNotInTableError` when it is not tabulated."""
        cols, is_error = _metric(metric_name)
        key = hash_of(genotype)
        if key is None or key not in self.frame.index:
            raise ArchNotInTableError(f"{self.source}: {genotype!r} (hash {key}) is not in the table")
        mean = float(self.frame.loc[key, list(cols)].astype(float).mean())
        return 1.0 - mean if is_error else mean

    def lookup(self, genotype: GenotypeLike, metric_name: str) -> float:
        """Like :meth:`query` but NaN for an architecture the table lacks (see :meth:`lookup_reason`)."""
        try:
            return self.query(genotype, metric_name)
        except ArchNotInTableError:
            return float("nan")

    def lookup_many(self, genotypes: Iterable[GenotypeLike], metric_names: Iterable[str]) -> pd.DataFrame:
        """Tidy frame ``query, hash, metric, value, missing, reason`` (NaN + reason, never a substitute)."""
        names = list(metric_names)
        for name in names:
            _metric(name)
        rows = []
        for g in genotypes:
            key = hash_of(g)
            present = key is not None and key in self.frame.index
            reason = "" if present else ("graph has no input->output path" if key is None else "arch not in table")
            for name in names:
                value = self.query(key, name) if present else float("nan")
                rows.append(dict(query=g, hash=key or "", metric=name, value=value, missing=not present, reason=reason))
        return pd.DataFrame(rows, columns=["query", "hash", "metric", "value", "missing", "reason"])

    def _subset(self, hashes: Iterable[str] | None) -> tuple[pd.DataFrame, bool]:
        if hashes is None:
            return self.frame, True
        wanted = pd.Index(sorted(set(hashes)))
        present = wanted.intersection(self.frame.index)
        return self.frame.loc[present], len(present) == len(wanted)

    def population_stats(self, metric_name: str, hashes: Iterable[str] | None = None, ddof: int = 1) -> PopulationStats:
        """Mean/std of the metric over the table or over ``hashes`` (a space's graphs); ``complete`` says all were found."""
        cols, is_error = _metric(metric_name)
        frame, complete = self._subset(hashes)
        if frame.empty:
            raise ArchNotInTableError(f"{self.source}: none of the requested architectures is in the table")
        values = frame[list(cols)].mean(axis=1).to_numpy(dtype=float)
        values = 1.0 - values if is_error else values
        std = float(values.std(ddof=ddof)) if len(values) > ddof else float("nan")
        return PopulationStats(metric_name, float(values.mean()), std, len(values), ddof, complete)

    def optimum(self, metric_name: str, hashes: Iterable[str] | None = None) -> Optimum:
        """Best value (max accuracy / min error) and every hash attaining it."""
        cols, is_error = _metric(metric_name)
        frame, complete = self._subset(hashes)
        if frame.empty:
            raise ArchNotInTableError(f"{self.source}: none of the requested architectures is in the table")
        values = frame[list(cols)].mean(axis=1)
        values = 1.0 - values if is_error else values
        best = float(values.min() if is_error else values.max())
        winners = tuple(str(h) for h in values.index[values == best])
        positions = tuple(int(self.frame.index.get_loc(h)) for h in winners)
        return Optimum(metric_name, best, positions, winners, len(values), complete)

    def provenance(self) -> dict[str, object]:
        return dict(source=self.source, sha256=self.sha256, source_sha256=self.source_sha256, rows=len(self.frame))


# --- up-front checks for the pipeline ------------------------------------------------------------
TFRECORD = "nb101-tfrecord"
COMPACT = "nb101-compact-csv"


def scan_tfrecord(path: str | Path) -> int:
    """Walk the record framing without reading the data (length CRCs, sizes); returns the record count.

    Cheap enough to run on the 500 MB official file before any job starts; a truncated file or one that
    is not a TFRecord raises naming it. Data CRCs are checked by :func:`read_tfrecord` during conversion.
    """
    source = str(path)
    size = Path(path).stat().st_size
    count, offset = 0, 0
    with open(path, "rb") as fh:
        while offset < size:
            head = fh.read(12)
            if len(head) < 12:
                raise BenchmarkFileError(f"{source}: truncated TFRecord header of record {count}")
            if masked_crc32c(head[:8]) != struct.unpack("<I", head[8:])[0]:
                raise BenchmarkFileError(f"{source}: length CRC mismatch at record {count}; not a TFRecord file or corrupt")
            (length,) = struct.unpack("<Q", head[:8])
            offset += 12 + length + 4
            if offset > size:
                raise BenchmarkFileError(f"{source}: truncated record {count} ({length} bytes announced)")
            fh.seek(offset)
            count += 1
    if count == 0:
        raise BenchmarkFileError(f"{source}: empty file; expected NAS-Bench-101 TFRecord records")
    return count


def validate_nb101_source(path: str | Path) -> str:
    """Which kind of NAS-Bench-101 file ``path`` is (:data:`TFRECORD` or :data:`COMPACT`), after checking it."""
    path = Path(path)
    if not path.is_file():
        raise BenchmarkFileError(
            f"{path}: file does not exist; expected nasbench_only108.tfrecord, nasbench_full.tfrecord or a "
            f"compact NAS-Bench-101 CSV ({FORMAT})"
        )
    with open(path, "rb") as fh:
        start = fh.read(len(FORMAT) + 2)
    if start == b"# " + FORMAT.encode():
        load_nb101_table(path)
        return COMPACT
    scan_tfrecord(path)
    return TFRECORD


def convert_nb101_file(source: str | Path, out: str | Path) -> NB101Table:
    """Official TFRecord (or an already compact CSV) -> compact CSV at ``out``; returns the loaded table."""
    kind = validate_nb101_source(source)
    frame = load_nb101_table(source).frame.reset_index(drop=True) if kind == COMPACT else convert_nb101(source)
    if kind == COMPACT:
        frame.attrs.update(source_sha256=load_nb101_table(source).source_sha256)
    tmp = Path(f"{out}.tmp")
    write_nb101_table(frame, tmp)
    tmp.replace(out)
    return load_nb101_table(out)
