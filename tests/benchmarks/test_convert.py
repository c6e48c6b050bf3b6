"""Converting official NAS-Bench-201 / NATS-Bench files, and recognising a configured benchmark path.

Tolerance: the shared CSV stores 6 decimals, so a converted value may differ from it by at most half a unit
in the 6th decimal (5e-7) plus float round-off; the rows written back with 6 decimals are byte-identical.
"""

from __future__ import annotations

import bz2
import json
import pickle
import shutil
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from balenas.benchmarks import CIFAR10_TEST, COLUMNS, BenchmarkFileError, NB201Table, load_nb201_table
from balenas.benchmarks.convert import (
    ArchNotAvailableError,
    MissingDependencyError,
    convert_benchmark,
    sha256_tree,
    validate_benchmark_path,
    write_compact_table,
)
from balenas.benchmarks.nb201 import to_compact_csv_text

FIXTURE_INDICES = (0, 11, 284)  # the archs the shared NATS fixture can answer for
ATOL = 5e-7 + 1e-9
VALUE_COLUMNS = list(COLUMNS[2:])


def csv_lines(path: Path, indices: tuple[int, ...]) -> list[str]:
    """Header + the rows of ``indices`` of the shared CSV (row i + 1 holds index i)."""
    lines = path.read_text().splitlines()
    return [lines[0]] + [lines[i + 1] for i in indices]


def assert_matches_groundtruth(table: NB201Table, reference: NB201Table, groundtruth_csv: Path) -> None:
    ours = table.frame
    theirs = reference.frame.loc[list(FIXTURE_INDICES)]
    assert ours.index.tolist() == list(FIXTURE_INDICES)
    assert ours["arch"].tolist() == theirs["arch"].tolist()
    np.testing.assert_allclose(
        ours[VALUE_COLUMNS].to_numpy(), theirs[VALUE_COLUMNS].to_numpy(), rtol=0, atol=ATOL
    )
    assert to_compact_csv_text(ours).splitlines() == csv_lines(groundtruth_csv, FIXTURE_INDICES)


# --- NATS-Bench topology archive directory -------------------------------------------------------
def test_nats_fixture_reproduces_shared_csv(
    nats_fixture_dir: Path, nb201: NB201Table, groundtruth_csv: Path
) -> None:
    result = convert_benchmark(nats_fixture_dir, indices=list(FIXTURE_INDICES))
    assert_matches_groundtruth(result.table, nb201, groundtruth_csv)
    assert result.source.kind == "nats-tss-dir" and result.api.startswith("nats_bench")
    assert result.source_sha256 == sha256_tree(nats_fixture_dir) and not result.missing
    # the partial columns of the shared CSV are complete in the official source
    assert result.table.frame["cifar100_valid_acc_partial"].notna().all()


def test_converting_unavailable_indices_is_an_error(nats_fixture_dir: Path) -> None:
    with pytest.raises(ArchNotAvailableError, match="holds 3 architecture"):
        convert_benchmark(nats_fixture_dir)  # all 15,625 requested, 3 present
    with pytest.raises(ArchNotAvailableError, match=r"first: \[1\]"):
        convert_benchmark(nats_fixture_dir, indices=[0, 1])
    with pytest.raises(ValueError, match="0..15624"):
        convert_benchmark(nats_fixture_dir, indices=[15_625])


def test_allow_partial_converts_what_the_source_holds(
    nats_fixture_dir: Path, nb201: NB201Table, groundtruth_csv: Path
) -> None:
    result = convert_benchmark(nats_fixture_dir, allow_partial=True)
    assert result.indices == FIXTURE_INDICES and not result.table.is_complete
    assert result.provenance()["complete"] is False
    assert_matches_groundtruth(result.table, nb201, groundtruth_csv)
    with pytest.raises(ArchNotAvailableError):  # an explicit subset is still checked
        convert_benchmark(nats_fixture_dir, indices=[0, 1], allow_partial=True)


def test_directory_checksum_tracks_names_and_contents(nats_fixture_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / nats_fixture_dir.name
    shutil.copytree(nats_fixture_dir, copy)
    original = sha256_tree(copy)
    assert original == sha256_tree(nats_fixture_dir)
    (copy / "000011.pickle.pbz2").rename(copy / "000012.pickle.pbz2")
    renamed = sha256_tree(copy)
    assert renamed != original
    with (copy / "000012.pickle.pbz2").open("ab") as fh:
        fh.write(b"\0")
    assert sha256_tree(copy) not in {original, renamed}


def test_write_compact_table_round_trip(nats_fixture_dir: Path, tmp_path: Path) -> None:
    result = convert_benchmark(nats_fixture_dir, indices=[284, 0, 11])
    out = write_compact_table(result, tmp_path / "sub" / "nb201.csv")
    loaded = load_nb201_table(out)
    assert loaded.sha256 == result.table.sha256
    np.testing.assert_allclose(
        loaded.frame[VALUE_COLUMNS], result.table.frame[VALUE_COLUMNS], rtol=0, atol=ATOL
    )
    meta = json.loads((tmp_path / "sub" / "nb201.csv.provenance.json").read_text())
    assert meta["source_sha256"] == result.source_sha256 and meta["n_archs"] == 3
    assert meta["table_sha256"] == loaded.sha256 and meta["source_kind"] == "nats-tss-dir"
    assert not list((tmp_path / "sub").glob(".*tmp"))  # no temporary file left behind


# --- NAS-Bench-201 .pth (nas_201_api) ------------------------------------------------------------
def _nb201_dict(fixture: Path, drop_12ep: tuple[str, ...] = ()) -> dict[str, Any]:
    """The 3 real fixture archs repackaged in the NAS-Bench-201 .pth layout (``less`` = 12 epochs,
    ``full`` = 200 epochs; the per-arch results use the same ArchResults state dicts in both packages).
    ``drop_12ep`` removes 12-epoch datasets, as in the v1_0 file (which has only cifar10-valid)."""
    with bz2.open(fixture / "meta.pickle.pbz2", "rb") as fh:
        meta = pickle.load(fh)
    infos = {}
    for index in FIXTURE_INDICES:
        with bz2.open(fixture / f"{index:06d}.pickle.pbz2", "rb") as fh:
            per_hp = pickle.load(fh)
        less = per_hp["12"]
        for dataset in drop_12ep:
            less["dataset_seed"].pop(dataset)
            less["all_results"] = {k: v for k, v in less["all_results"].items() if k[0] != dataset}
        infos[index] = {"less": less, "full": per_hp["200"]}
    return {"meta_archs": meta["meta_archs"], "arch2infos": infos, "evaluated_indexes": sorted(infos)}


@pytest.fixture
def nas_201_api() -> Any:
    return pytest.importorskip("nas_201_api", reason="the official nas-bench-201 package is not installed")


def test_nb201_pth_reproduces_shared_csv(
    nas_201_api: Any, nats_fixture_dir: Path, nb201: NB201Table, groundtruth_csv: Path, tmp_path: Path
) -> None:
    torch = pytest.importorskip("torch")
    path = tmp_path / "NAS-Bench-201-v1_1-096897.pth"
    torch.save(_nb201_dict(nats_fixture_dir), path)
    result = convert_benchmark(path, indices=FIXTURE_INDICES)
    assert result.source.kind == "nb201-pth" and result.api.startswith("nas-bench-201")
    assert_matches_groundtruth(result.table, nb201, groundtruth_csv)


def test_nb201_pth_without_some_12_epoch_results_leaves_them_empty(
    nas_201_api: Any, nats_fixture_dir: Path, nb201: NB201Table, tmp_path: Path
) -> None:
    torch = pytest.importorskip("torch")
    path = tmp_path / "NAS-Bench-201-v1_0-e61699.pth"
    torch.save(_nb201_dict(nats_fixture_dir, drop_12ep=("cifar10", "cifar100", "ImageNet16-120")), path)
    result = convert_benchmark(path, indices=FIXTURE_INDICES)
    empty = [
        "cifar10_test_acc_12ep",
        "cifar100_valid_acc_12ep",
        "cifar100_test_acc_12ep",
        "imagenet16_valid_acc_12ep",
        "imagenet16_test_acc_12ep",
    ]
    assert dict(result.missing) == {c: 3 for c in empty}
    assert result.table.frame[empty].isna().all().all()
    kept = [c for c in VALUE_COLUMNS if c not in empty]
    reference = nb201.frame.loc[list(FIXTURE_INDICES), kept].to_numpy()
    np.testing.assert_allclose(result.table.frame[kept].to_numpy(), reference, rtol=0, atol=ATOL)


def test_pth_that_is_not_the_benchmark_dict(nas_201_api: Any, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    path = tmp_path / "NAS-Bench-201-v1_1-096897.pth"
    torch.save({"state_dict": {}}, path)
    with pytest.raises(BenchmarkFileError, match="does not hold the NAS-Bench-201 dict"):
        convert_benchmark(path, indices=[0])


def test_absent_pth_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkFileError, match="NAS-Bench-201-v1_0-e61699.pth: does not exist"):
        validate_benchmark_path(tmp_path / "NAS-Bench-201-v1_0-e61699.pth")


def test_missing_official_package_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    path = tmp_path / "NAS-Bench-201-v1_1-096897.pth"
    torch.save({"meta_archs": []}, path)
    monkeypatch.setitem(sys.modules, "nas_201_api", None)  # import now raises ImportError
    with pytest.raises(MissingDependencyError, match="pip install nas-bench-201"):
        convert_benchmark(path, indices=[0])


# --- up-front validation of a configured path ----------------------------------------------------
def test_validate_accepts_compact_csv_and_official_dir(groundtruth_csv: Path, nats_fixture_dir: Path) -> None:
    assert validate_benchmark_path(groundtruth_csv).kind == "compact-csv"
    assert validate_benchmark_path(nats_fixture_dir).kind == "nats-tss-dir"


def test_convert_subset_of_compact_csv(groundtruth_csv: Path) -> None:
    result = convert_benchmark(groundtruth_csv, indices=[1835, 0])
    assert result.table.frame.index.tolist() == [0, 1835]
    assert result.table.accuracy(1835, CIFAR10_TEST) == 54.296667


def _nats_dir_with_meta(tmp_path: Path, meta: Any) -> Path:
    root = tmp_path / "NATS-tss-v1_0-3ffb9-simple"
    root.mkdir()
    with bz2.open(root / "meta.pickle.pbz2", "wb") as fh:
        pickle.dump(meta, fh)
    (root / "000000.pickle.pbz2").write_bytes(b"")
    return root


def _zip(tmp_path: Path) -> Path:
    path = tmp_path / "NAS-Bench-201.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("x.txt", "x")
    return path


BAD_PATHS = {
    "absent": (lambda t: t / "missing.csv", "does not exist"),
    "zip": (_zip, "file of unrecognised type"),
    "text file": (lambda t: (t / "nb201.txt", (t / "nb201.txt").write_text("x"))[0], "unrecognised type"),
    "empty dir": (lambda t: t, "directory without meta.pickle.pbz2"),
    "zip named .csv": (lambda t: _zip(t).rename(t / "nb201.csv"), "zip archive"),
    "garbage .pth": (lambda t: (t / "a.pth", (t / "a.pth").write_text("hello"))[0], "neither a zip-format"),
    "corrupt meta": (
        lambda t: (t / "d", (t / "d").mkdir(), (t / "d" / "meta.pickle.pbz2").write_bytes(b"BZh9x"))[0],
        "bz2-compressed pickle",
    ),
    "size-space meta": (
        lambda t: _nats_dir_with_meta(t, {"meta_archs": ["8:8:8:8:8"] * 32768}),
        "not the topology search space",
    ),
    "not a .pickle.pbz2": (
        lambda t: (t / "NATS-tss.pickle.pbz2", (t / "NATS-tss.pickle.pbz2").write_text("x"))[0],
        "not bzip2",
    ),
}


@pytest.mark.parametrize("case", list(BAD_PATHS))
def test_validate_rejects_with_file_and_expectation(case: str, tmp_path: Path) -> None:
    make, message = BAD_PATHS[case]
    path = make(tmp_path)
    with pytest.raises(BenchmarkFileError, match=message) as err:
        validate_benchmark_path(path)
    assert "expected a compact NAS-Bench-201 CSV" in str(err.value)
