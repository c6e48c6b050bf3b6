"""The compact NAS-Bench-201 table: validation, explicit queries, missing values, population statistics."""

from __future__ import annotations

import gzip
import hashlib
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from balenas.benchmarks import (
    CIFAR10_TEST,
    CIFAR10_VALID,
    CIFAR100_TEST,
    CIFAR100_VALID,
    COLUMNS,
    IMAGENET16_TEST,
    IMAGENET16_VALID,
    TABLE1_METRICS,
    ArchNotInTableError,
    BenchmarkFileError,
    IncompleteColumnError,
    Metric,
    MissingValueError,
    NB201Table,
    UnsupportedMetricError,
    load_nb201_table,
)
from balenas.benchmarks.nb201 import to_compact_csv_text
from balenas.spaces import get_space

ALL_SKIP = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"


# --- tiny synthetic tables -----------------------------------------------------------------------
def tiny_frame(n: int = 3) -> pd.DataFrame:
    """``n`` real NB201 arch strings (indices made up) with simple, distinct values."""
    space = get_space("nb201")
    archs = [space.to_string(g) for _, g in zip(range(n), space.enumerate())]
    data: dict[str, object] = {"index": [10 * i + 5 for i in range(n)], "arch": archs}
    for j, col in enumerate(COLUMNS[2:]):
        data[col] = [float(1 + i + j) for i in range(n)]
    frame = pd.DataFrame(data)
    frame.loc[1:, "cifar100_valid_acc_partial"] = np.nan  # a partial column: only the first row filled
    return frame


def write(tmp_path: Path, text: str | bytes, name: str = "table.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


@pytest.fixture
def tiny_csv(tmp_path: Path) -> Path:
    return write(tmp_path, to_compact_csv_text(tiny_frame().set_index("index")))


# --- metrics -------------------------------------------------------------------------------------
def test_metric_requires_keywords_and_official_vocabulary() -> None:
    with pytest.raises(TypeError):
        Metric("cifar10", "ori-test", 200)  # type: ignore[misc]
    with pytest.raises(UnsupportedMetricError, match="valid datasets: cifar10-valid, cifar10, cifar100"):
        Metric(dataset="CIFAR-10", split="ori-test", hp=200)
    with pytest.raises(UnsupportedMetricError, match="valid splits"):
        Metric(dataset="cifar10", split="test", hp=200)
    with pytest.raises(UnsupportedMetricError, match=r"hp"):
        Metric(dataset="cifar10", split="ori-test", hp=100)
    assert Metric(dataset="cifar10", split="ori-test", hp="200").hp == 200  # type: ignore[arg-type]
    assert Metric.parse("cifar10-valid/x-valid/200") == CIFAR10_VALID


def test_paper_metrics_are_the_documented_coordinates() -> None:
    assert (CIFAR10_VALID.dataset, CIFAR10_VALID.split, CIFAR10_VALID.hp) == ("cifar10-valid", "x-valid", 200)
    assert (CIFAR10_TEST.dataset, CIFAR10_TEST.split, CIFAR10_TEST.hp) == ("cifar10", "ori-test", 200)
    assert CIFAR100_VALID.key == "cifar100/x-valid/200" and CIFAR100_TEST.key == "cifar100/x-test/200"
    assert IMAGENET16_VALID.key == "ImageNet16-120/x-valid/200"
    assert IMAGENET16_TEST.key == "ImageNet16-120/x-test/200"
    assert list(TABLE1_METRICS.values()) == [
        CIFAR10_VALID,
        CIFAR10_TEST,
        CIFAR100_VALID,
        CIFAR100_TEST,
        IMAGENET16_VALID,
        IMAGENET16_TEST,
    ]


# --- real table ----------------------------------------------------------------------------------
def test_real_table_loads_with_its_checksum(nb201: NB201Table, groundtruth_csv: Path) -> None:
    assert len(nb201) == 15_625 and nb201.is_complete
    assert nb201.sha256 == hashlib.sha256(groundtruth_csv.read_bytes()).hexdigest()
    assert nb201.coverage(CIFAR100_VALID) == 292 and nb201.coverage(IMAGENET16_VALID) == 324


def test_all_skip_cell(nb201: NB201Table) -> None:
    assert nb201.index_of(ALL_SKIP) == 1835
    assert nb201.accuracy(1835, CIFAR10_TEST) == pytest.approx(54.2967, abs=5e-5)
    assert nb201.query(ALL_SKIP, dataset="cifar10-valid", split="x-valid", hp=200) == pytest.approx(
        39.77, abs=5e-3
    )
    genotype = get_space("nb201").parse(ALL_SKIP)
    assert nb201.accuracy(genotype, CIFAR100_TEST) == pytest.approx(15.61, abs=5e-3)


def test_classic_traps_give_different_numbers(nb201: NB201Table) -> None:
    # cifar10-valid (train split only) vs cifar10 (train+valid), and 12 vs 200 epochs
    oritest_valid = nb201.query(6111, dataset="cifar10-valid", split="ori-test", hp=200)
    oritest_full = nb201.query(6111, dataset="cifar10", split="ori-test", hp=200)
    short = nb201.query(6111, dataset="cifar10", split="ori-test", hp=12)
    assert oritest_full == pytest.approx(94.3733, abs=5e-5)
    assert oritest_valid != oritest_full and short < 90 < oritest_full


def test_unsupported_combination_lists_supported(nb201: NB201Table) -> None:
    with pytest.raises(UnsupportedMetricError, match=r"supported: .*cifar10-valid/x-valid/200"):
        nb201.query(0, dataset="cifar10", split="x-valid", hp=200)  # cifar10 has no validation split
    with pytest.raises(UnsupportedMetricError, match="no column for cifar10-valid/ori-test/12"):
        nb201.query(0, dataset="cifar10-valid", split="ori-test", hp=12)
    with pytest.raises(UnsupportedMetricError, match="cost datasets"):
        nb201.cost(0, dataset="cifar10-valid", kind="params")


def test_partial_column_value_is_an_explicit_error(nb201: NB201Table) -> None:
    with pytest.raises(MissingValueError, match="filled for 292 of 15625"):
        nb201.accuracy(1835, CIFAR100_VALID)
    assert nb201.accuracy(9930, CIFAR100_VALID) == pytest.approx(73.4933, abs=5e-5)


def test_population_stats_and_maxima(nb201: NB201Table) -> None:
    valid = nb201.population_stats(CIFAR10_VALID)
    test = nb201.population_stats(CIFAR10_TEST)
    assert (round(valid.mean, 2), round(valid.std, 2)) == (83.69, 12.80)
    assert (round(test.mean, 2), round(test.std, 2)) == (87.06, 12.94)
    column = nb201.frame["cifar10_test_acc"].to_numpy()
    assert test.ddof == 1 and test.std == pytest.approx(np.std(column, ddof=1), rel=1e-12)
    population = nb201.population_stats(CIFAR10_TEST, ddof=0)  # the textbook population std
    assert population.ddof == 0 and round(population.std, 4) == 12.9348
    assert valid.n == 15_625 and valid.complete
    maxima = {m: nb201.optimum(m) for m in (CIFAR10_VALID, CIFAR10_TEST, CIFAR100_TEST, IMAGENET16_TEST)}
    assert [round(o.value, 2) for o in maxima.values()] == [91.61, 94.37, 73.51, 47.31]
    assert maxima[CIFAR10_TEST].indices == (6111, 13714)  # ties are all reported
    assert maxima[IMAGENET16_TEST].indices == (857,)


def test_population_stats_refuse_partial_columns_unless_asked(nb201: NB201Table) -> None:
    with pytest.raises(IncompleteColumnError, match="allow_partial"):
        nb201.population_stats(CIFAR100_VALID)
    with pytest.raises(IncompleteColumnError):
        nb201.optimum(IMAGENET16_VALID)
    best = nb201.optimum(CIFAR100_VALID, allow_partial=True)
    assert (best.indices, best.n, best.complete) == ((9930,), 292, False)
    assert best.value == pytest.approx(73.4933, abs=5e-5)


def test_batch_lookup_marks_missing_values(nb201: NB201Table) -> None:
    out = nb201.lookup([1835, 9930], [CIFAR10_TEST, CIFAR100_VALID])
    assert len(out) == 4
    row = out[(out["index"] == 1835) & (out["metric"] == CIFAR100_VALID.key)].iloc[0]
    assert row["missing"] and np.isnan(row["value"]) and row["reason"] == "not tabulated"
    assert not out[out["index"] == 9930]["missing"].any()


# --- synthetic tables: partial table, missing values ---------------------------------------------
def test_partial_table(tiny_csv: Path) -> None:
    table = load_nb201_table(tiny_csv)
    assert len(table) == 3 and not table.is_complete
    absent = get_space("nb201").to_string(list(get_space("nb201").enumerate())[3])
    with pytest.raises(ArchNotInTableError, match="not in"):
        table.accuracy(absent, CIFAR10_VALID)
    with pytest.raises(ArchNotInTableError):
        table.accuracy(0, CIFAR10_VALID)  # a valid NB201 index the table has no row for
    with pytest.raises(ValueError):
        table.accuracy(15_625, CIFAR10_VALID)
    # even a fully-filled column is refused: the table does not cover the population
    with pytest.raises(IncompleteColumnError, match="3 of 15625"):
        table.population_stats(CIFAR10_VALID)
    stats = table.population_stats(CIFAR10_VALID, allow_partial=True)
    assert (stats.mean, stats.n, stats.complete) == (2.0, 3, False)
    assert stats.std == pytest.approx(1.0)  # ddof=1 over 1, 2, 3
    out = table.lookup([absent, 5, 15], [CIFAR100_VALID])
    assert out["missing"].tolist() == [True, False, True]
    assert out["reason"].tolist() == ["arch not in table", "", "not tabulated"]
    assert out["value"].iloc[1] == table.accuracy(5, CIFAR100_VALID)


def test_round_trip_is_exact(tiny_csv: Path, tmp_path: Path) -> None:
    table = load_nb201_table(tiny_csv)
    again = write(tmp_path, to_compact_csv_text(table.frame), "again.csv")
    assert again.read_bytes() == tiny_csv.read_bytes()
    assert NB201Table.from_frame(table.frame).sha256 == table.sha256


# --- bad files -----------------------------------------------------------------------------------
def _text(tmp_path: Path) -> str:
    return to_compact_csv_text(tiny_frame().set_index("index"))


def _zip(tmp_path: Path) -> Path:
    path = tmp_path / "table.csv"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("table.csv", _text(tmp_path))
    return path


BAD_FILES = {
    "zip": (_zip, "zip archive"),
    "gzip": (lambda t: write(t, gzip.compress(_text(t).encode())), "gzip"),
    "empty": (lambda t: write(t, ""), "empty"),
    "header only": (lambda t: write(t, _text(t).splitlines()[0] + "\n"), "no rows"),
    "cut mid-row": (lambda t: write(t, _text(t)[:-40]), "truncated"),
    "cut mid-row, newline kept": (lambda t: write(t, _text(t)[:-40] + "\n"), "fields"),
    "missing column": (
        lambda t: write(t, tiny_frame().drop(columns="flops_m_imagenet16").to_csv(index=False)),
        "missing column.*flops_m_imagenet16",
    ),
    "duplicate index": (lambda t: write(t, _text(t).replace("\n15,", "\n5,")), "duplicate index"),
    "bad arch": (lambda t: write(t, _text(t).replace("none~1", "conv~1", 1)), "not a NAS-Bench-201 string"),
    "non-number": (lambda t: write(t, _text(t).replace(",2.000000,", ",abc,", 1)), "non-number"),
    "not a percentage": (
        lambda t: write(t, _text(t).replace(",2.000000,", ",200.000000,", 1)),
        "percentages",
    ),
    "latin-1": (lambda t: write(t, _text(t).encode() + "é,\n".encode("latin-1")), "UTF-8"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_files_fail_loudly_naming_the_file(case: str, tmp_path: Path) -> None:
    make, message = BAD_FILES[case]
    path = make(tmp_path)
    with pytest.raises(BenchmarkFileError, match=message) as err:
        load_nb201_table(path)
    assert str(path) in str(err.value) and "expected a compact NAS-Bench-201 CSV" in str(err.value)


def test_absent_path_and_directory(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkFileError, match="does not exist"):
        load_nb201_table(tmp_path / "nope.csv")
    with pytest.raises(BenchmarkFileError, match="not a regular file"):
        load_nb201_table(tmp_path)


def test_the_canonical_fast_path_accepts_exactly_the_round_trip_strings():
    """Loading skips parse/to_string for strings the pattern accepts (the plan validates the table): it must
    accept every canonical string and nothing else a round trip would change or refuse."""
    from balenas.benchmarks.nb201 import _canonical_pattern
    from balenas.spaces import get_space

    space = get_space("nb201")
    pattern = _canonical_pattern(space)
    canonical = [space.to_string(g) for g in space.enumerate()]
    assert len(canonical) == 15625 and all(pattern.fullmatch(s) for s in canonical)
    text = canonical[1234]
    for variant in (f" {text}", f"{text} ", text.replace("~1", "~0"), text.replace("none", "zero"),
                    text.replace("+", "|+|", 1), text[:-1]):
        assert not pattern.fullmatch(variant), variant
