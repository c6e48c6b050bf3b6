"""``benchmarks:`` and ``report.table1:``: lookups on/off, absent vs corrupt files, which runs fill Table 1."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from balenas.benchmarks.nb201 import to_compact_csv_text
from balenas.benchmarks.settings import (
    CONVERTED_TABLE,
    BenchmarkConfigError,
    Table1Choice,
    check_table1_choice,
    report_paths,
    resolve_benchmarks,
    table1_choice_warnings,
)
from balenas.proxies import PROXIES

from .test_nb201_table import tiny_frame


@pytest.fixture
def tiny_csv(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.csv"
    path.write_text(to_compact_csv_text(tiny_frame().set_index("index")))
    return path


def test_null_and_absent_paths_turn_lookups_off(tmp_path: Path) -> None:
    off = resolve_benchmarks({"nb201": None})
    assert not off.enabled and off.table_path() is None and "null" in off.off_message()
    assert not resolve_benchmarks(None).enabled  # no block at all
    absent = tmp_path / "nb201.csv"
    skip = resolve_benchmarks({"nb201": str(absent), "if_missing": "skip"})
    assert not skip.enabled and skip.table_path() is None
    assert skip.off_message() == f"benchmark lookups are off: {absent} not found"
    with pytest.raises(
        BenchmarkConfigError, match=rf"benchmarks.nb201: {absent} not found.*if_missing: error"
    ):
        resolve_benchmarks({"nb201": str(absent), "if_missing": "error"})
    with pytest.raises(BenchmarkConfigError, match="benchmarks.if_missing"):
        resolve_benchmarks({"nb201": str(absent), "if_missing": "ignore"})


def test_compact_csv_is_read_as_is(tiny_csv: Path) -> None:
    on = resolve_benchmarks({"nb201": str(tiny_csv)})
    assert on.enabled and on.kind == "compact-csv" and not on.needs_conversion
    assert on.table_path() == str(tiny_csv) and on.off_message() == ""


def test_official_directory_needs_conversion(nats_fixture_dir: Path) -> None:
    on = resolve_benchmarks({"nb201": str(nats_fixture_dir), "allow_partial": True})
    assert on.enabled and on.kind == "nats-tss-dir" and on.needs_conversion and on.allow_partial
    assert on.table_path() == CONVERTED_TABLE


def _truncated(path: Path) -> Path:
    path.write_text(to_compact_csv_text(tiny_frame().set_index("index"))[:-40])  # cut mid-row
    return path


def _zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("x", "x")
    return path


@pytest.mark.parametrize(
    "make, problem",
    [
        (lambda t: _truncated(t / "nb201.csv"), "truncated"),
        (lambda t: _zip(t / "nb201.csv"), "zip archive"),
        (lambda t: t.joinpath("nb201.txt").write_text("x") and t / "nb201.txt", "unrecognised type"),
        (lambda t: t, "directory without meta.pickle.pbz2"),
    ],
    ids=["truncated csv", "zip named .csv", "text file", "directory"],
)
def test_present_but_bad_file_always_fails(tmp_path: Path, make, problem: str) -> None:  # type: ignore[no-untyped-def]
    path = make(tmp_path)
    for if_missing in ("skip", "error"):
        with pytest.raises(BenchmarkConfigError, match=problem) as err:
            resolve_benchmarks({"nb201": str(path), "if_missing": if_missing})
        assert str(err.value).startswith("benchmarks.nb201: ") and str(path) in str(err.value)
        assert "expected a compact NAS-Bench-201 CSV" in str(err.value)


CONFIG = {
    "experiments": [
        {"space": "nb201", "dataset": d, "method": m, "orders": [1], "seeds": [0]}
        for d in ("digits", "cifar10") for m in ("darts", "balenas")
    ],
    "selection": {"selectors": ["tf", "uniform"], "ks": [10], "proxies": ["synflow", "snip"]},
    "report": {
        "table1": {
            "search_dataset": None,
            "tf": {"proxy": "synflow", "k": 10},
            "zero_cost": {"proxy": "snip", "k": 10},
        }
    },
}


def test_table1_choice_defaults_and_checks() -> None:
    choice = check_table1_choice(CONFIG, PROXIES)
    assert choice == Table1Choice.from_config(CONFIG)
    assert choice.search_dataset == "digits"  # null: the first dataset
    assert (choice.tf.proxy, choice.tf.k, choice.tf.order) == ("synflow", 10, 1)
    assert (choice.zero_cost.proxy, choice.zero_cost.k) == ("snip", 10)
    assert table1_choice_warnings(CONFIG) == []
    bad = {**CONFIG, "report": {"table1": {**CONFIG["report"]["table1"], "search_dataset": "cifar100"}}}
    with pytest.raises(BenchmarkConfigError, match="report.table1.search_dataset: 'cifar100'"):
        check_table1_choice(bad, PROXIES)
    bad = {**CONFIG, "report": {"table1": {**CONFIG["report"]["table1"], "tf": {"proxy": "synflw", "k": 10}}}}
    with pytest.raises(BenchmarkConfigError, match="report.table1.tf.proxy: unknown proxy 'synflw'"):
        check_table1_choice(bad, PROXIES)


def test_choices_no_selection_produces_are_warned_about() -> None:
    table1 = {
        **CONFIG["report"]["table1"],
        "tf": {"proxy": "grasp", "k": 10, "order": 2},
        "zero_cost": {"proxy": "snip", "k": 100},
    }
    warnings = table1_choice_warnings({**CONFIG, "report": {"table1": table1}})
    assert len(warnings) == 3
    assert "report.table1.tf (proxy grasp, K=10, order 2)" in warnings[0]
    assert "report.table1.zero_cost (proxy snip, K=100)" in warnings[1]
    assert "tf.order 2 is not among the nb201 balenas orders [1]" in warnings[2]


def test_a_sheet_without_nb201_rows_needs_no_table1_choice() -> None:
    config = {**CONFIG, "experiments": [{"space": "nb1shot1-s1", "dataset": "digits", "method": "darts",
                                         "orders": [1], "seeds": [0]}]}
    assert check_table1_choice(config, PROXIES) is None
    assert table1_choice_warnings(config) == []


def test_report_paths() -> None:
    on = report_paths("results", ["digits"], True)
    assert on["table1_md"] == "results/tables/table1_nb201.md"
    assert on["curve_digits_png"] == "results/figures/benchmark_acc_per_epoch_nb201_digits.png"
    off = report_paths("results", ["digits"], False)
    assert set(off) == {f"table{i}_{e}" for i in (1, 2) for e in ("csv", "md", "tex")}
