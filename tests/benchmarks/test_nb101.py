"""NAS-Bench-101 without TensorFlow: hash, pruning, TFRecord framing, ModelMetrics, compact table."""

from __future__ import annotations

import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from balenas.benchmarks import nb101
from balenas.benchmarks.nb201 import ArchNotInTableError, BenchmarkFileError, UnsupportedMetricError
from ..conftest import shared_file

SAMPLE = "nb101/nb101_sample30_nasbench_format.pkl"


@pytest.fixture(scope="module")
def records() -> dict:
    with open(shared_file(SAMPLE), "rb") as fh:
        return pickle.load(fh)


def _official_records(records: dict) -> list[bytes]:
    """Three official-format records (one per repeat) per model, as in nasbench_only108.tfrecord."""
    out = []
    for key, (fixed, computed) in records.items():
        for run in computed[108]:
            evaluations = (
                nb101.Evaluation(0.0, 0.0, 0.1, 0.1, 0.1),
                nb101.Evaluation(
                    54.0,
                    run["halfway_training_time"],
                    run["halfway_train_accuracy"],
                    run["halfway_validation_accuracy"],
                    run["halfway_test_accuracy"],
                ),
                nb101.Evaluation(
                    108.0,
                    run["final_training_time"],
                    run["final_train_accuracy"],
                    run["final_validation_accuracy"],
                    run["final_test_accuracy"],
                ),
            )
            out.append(
                nb101.encode_record(
                    key, 108, fixed["module_adjacency"], fixed["module_operations"],
                    fixed["trainable_parameters"], evaluations, total_time=1.0,
                )
            )
    return out


@pytest.fixture(scope="module")
def tfrecord(records: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("nb101") / "nasbench_sample.tfrecord"
    nb101.write_tfrecord(path, _official_records(records))
    return path


def test_every_shared_key_is_the_hash_of_its_graph(records: dict) -> None:
    for key, (fixed, _) in records.items():
        assert nb101.module_hash(fixed["module_adjacency"], fixed["module_operations"]) == key
        assert nb101.spec_hash(fixed["module_adjacency"], fixed["module_operations"]) == key


def test_hash_is_invariant_to_vertex_relabelling_but_not_to_ops(records: dict) -> None:
    fixed = next(iter(records.values()))[0]
    matrix, ops = np.asarray(fixed["module_adjacency"]), list(fixed["module_operations"])
    n = len(ops)
    # a topological-order-preserving permutation of two independent interior vertices
    for a in range(1, n - 1):
        for b in range(a + 1, n - 1):
            if not matrix[a, b]:
                perm = list(range(n))
                perm[a], perm[b] = b, a
                permuted = matrix[np.ix_(perm, perm)]
                if not np.tril(permuted).any():
                    assert nb101.module_hash(permuted, [ops[i] for i in perm]) == nb101.module_hash(matrix, ops)
    changed = list(ops)
    changed[1] = nb101.MAXPOOL3X3 if ops[1] != nb101.MAXPOOL3X3 else nb101.CONV1X1
    assert nb101.module_hash(matrix, changed) != nb101.module_hash(matrix, ops)


def test_prune_drops_dangling_vertices_and_rejects_disconnected_graphs() -> None:
    ops = ["input", nb101.CONV3X3, nb101.CONV1X1, "output"]
    # vertex 2 has no output edge -> dropped; vertex 1 is on the path
    matrix = [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]]
    pruned = nb101.prune(matrix, ops)
    assert pruned is not None
    assert pruned[1] == ("input", nb101.CONV3X3, "output")
    assert pruned[0].tolist() == [[0, 1, 0], [0, 0, 1], [0, 0, 0]]
    assert nb101.spec_hash(matrix, ops) == nb101.module_hash(*pruned)
    assert nb101.prune([[0, 1, 0], [0, 0, 0], [0, 0, 0]], ["input", nb101.CONV1X1, "output"]) is None


def test_crc32c_matches_the_standard_check_value() -> None:
    assert nb101.crc32c(b"123456789") == 0xE3069283
    assert nb101._crc32c_python(b"123456789") == 0xE3069283
    assert nb101._crc32c_python(b"some record bytes") == nb101.crc32c(b"some record bytes")


def test_tfrecord_round_trip_in_official_framing(records: dict, tfrecord: Path) -> None:
    written = _official_records(records)
    assert list(nb101.read_tfrecord(tfrecord)) == written
    raw = tfrecord.read_bytes()
    length = struct.unpack("<Q", raw[:8])[0]
    assert length == len(written[0])
    assert struct.unpack("<I", raw[8:12])[0] == nb101.masked_crc32c(raw[:8])
    decoded = nb101.decode_record(written[0])
    key, (fixed, computed) = next(iter(records.items()))
    assert decoded.module_hash == key and decoded.epochs == 108
    assert np.array_equal(np.array(decoded.matrix), fixed["module_adjacency"])
    assert decoded.final.validation_accuracy == computed[108][0]["final_validation_accuracy"]
    assert decoded.trainable_parameters == fixed["trainable_parameters"]


def test_corrupt_crc_fails_naming_the_file(tfrecord: Path, tmp_path: Path) -> None:
    raw = bytearray(tfrecord.read_bytes())
    raw[20] ^= 0xFF  # inside the first record's data
    bad = tmp_path / "corrupt.tfrecord"
    bad.write_bytes(bytes(raw))
    with pytest.raises(BenchmarkFileError, match="corrupt.tfrecord.*data CRC mismatch at record 0"):
        list(nb101.read_tfrecord(bad))


def test_truncated_tfrecord_fails_naming_the_file(tfrecord: Path, tmp_path: Path) -> None:
    bad = tmp_path / "short.tfrecord"
    bad.write_bytes(tfrecord.read_bytes()[:-10])
    with pytest.raises(BenchmarkFileError, match="short.tfrecord.*truncated record 89"):
        nb101.convert_nb101(bad)


def test_converter_gives_the_recorded_accuracies(records: dict, tfrecord: Path) -> None:
    frame = nb101.convert_nb101(tfrecord)
    assert len(frame) == 30
    assert frame.attrs["source_sha256"] == nb101.sha256_file(tfrecord)
    for key, (fixed, computed) in records.items():
        row = frame.set_index("hash").loc[key]
        runs = computed[108]
        assert [row[c] for c in nb101.VALID_COLS] == [r["final_validation_accuracy"] for r in runs]
        assert [row[c] for c in nb101.TEST_COLS] == [r["final_test_accuracy"] for r in runs]
        assert row["params"] == fixed["trainable_parameters"]
        assert row["train_time"] == pytest.approx(np.mean([r["final_training_time"] for r in runs]))


def test_compact_table_round_trip_and_lookup(records: dict, tfrecord: Path, tmp_path: Path) -> None:
    path = tmp_path / "nb101.csv"
    nb101.write_nb101_table(nb101.convert_nb101(tfrecord), path)
    table = nb101.load_nb101_table(path, verify_hashes=True)
    key, (fixed, computed) = next(iter(records.items()))
    runs = computed[108]
    valid = float(np.mean([r["final_validation_accuracy"] for r in runs]))
    test = float(np.mean([r["final_test_accuracy"] for r in runs]))
    graph = (fixed["module_adjacency"], fixed["module_operations"])
    assert table.lookup(graph, "valid_accuracy") == pytest.approx(valid, abs=1e-9)
    assert table.lookup(key, "test_error") == pytest.approx(1 - test, abs=1e-9)
    assert np.isnan(table.lookup("0" * 32, "valid_error"))
    with pytest.raises(ArchNotInTableError):
        table.query("0" * 32, "valid_error")
    with pytest.raises(UnsupportedMetricError, match="valid_accuracy"):
        table.lookup(key, "cifar10_valid")
    means = {k: np.mean([r["final_validation_accuracy"] for r in c[108]]) for k, (_, c) in records.items()}
    best = table.optimum("valid_error")
    assert best.archs == (max(means, key=means.get),)
    assert best.value == pytest.approx(1 - max(means.values()), abs=1e-9)
    stats = table.population_stats("valid_accuracy")
    assert stats.n == 30 and stats.mean == pytest.approx(np.mean(list(means.values())), abs=1e-9)
    sub = table.population_stats("valid_accuracy", hashes=[key, "f" * 32])
    assert sub.n == 1 and not sub.complete
    prov = table.provenance()
    assert prov["rows"] == 30 and prov["source_sha256"] == nb101.sha256_file(tfrecord)
    frame = table.lookup_many([key, "0" * 32], ["valid_error"])
    assert frame["missing"].tolist() == [False, True] and frame["reason"].tolist()[1] == "arch not in table"


def test_loader_rejects_wrong_and_truncated_files(tfrecord: Path, tmp_path: Path) -> None:
    good = tmp_path / "nb101.csv"
    nb101.write_nb101_table(nb101.convert_nb101(tfrecord), good)
    lines = good.read_text().splitlines(keepends=True)
    short = tmp_path / "short.csv"
    short.write_text("".join(lines[:-3]))
    with pytest.raises(BenchmarkFileError, match="short.csv.*27 rows but the header says 30"):
        nb101.load_nb101_table(short)
    cut = tmp_path / "cut.csv"
    cut.write_text("".join(lines)[:-5])
    with pytest.raises(BenchmarkFileError, match="cut.csv"):
        nb101.load_nb101_table(cut)
    with pytest.raises(BenchmarkFileError, match="nasbench_sample.tfrecord.*convert it"):
        nb101.load_nb101_table(tfrecord)
    forged = tmp_path / "forged.csv"
    forged.write_text(lines[0] + lines[1] + lines[2].replace(lines[2][:5], "00000", 1) + "".join(lines[3:]))
    with pytest.raises(BenchmarkFileError, match="forged.csv.*not the hash"):
        nb101.load_nb101_table(forged, verify_hashes=True)
    with pytest.raises(BenchmarkFileError, match="missing.csv.*does not exist"):
        nb101.load_nb101_table(tmp_path / "missing.csv")


def test_up_front_validation_detects_kind_and_truncation(tfrecord: Path, tmp_path: Path) -> None:
    assert nb101.scan_tfrecord(tfrecord) == 90
    assert nb101.validate_nb101_source(tfrecord) == nb101.TFRECORD
    out = tmp_path / "nb101.csv"
    table = nb101.convert_nb101_file(tfrecord, out)
    assert len(table) == 30 and table.source_sha256 == nb101.sha256_file(tfrecord)
    assert nb101.validate_nb101_source(out) == nb101.COMPACT
    again = nb101.convert_nb101_file(out, tmp_path / "again.csv")  # a compact table passes through
    assert again.source_sha256 == table.source_sha256 and again.frame.equals(table.frame)
    cut = tmp_path / "cut.tfrecord"
    cut.write_bytes(tfrecord.read_bytes()[:-1])
    with pytest.raises(BenchmarkFileError, match="cut.tfrecord.*truncated record 89"):
        nb101.validate_nb101_source(cut)
    other = tmp_path / "table.csv"
    other.write_text("index,arch\n0,x\n")
    with pytest.raises(BenchmarkFileError, match="table.csv.*not a TFRecord"):
        nb101.validate_nb101_source(other)
