"""The paper's own numbers: loading and validating its CSVs, and the generic quoted block."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from balenas.report.paper_numbers import (
    PAPER_TABLES,
    PaperNumbersError,
    load_paper_table,
    paper_files,
    quoted_block,
    quoted_cells,
)

SHARED_PAPER = Path(__file__).resolve().parents[2].parent / "shared" / "paper"
TABLE2 = """method,sample_size,cifar10_test,cifar10_test_std,cifar100_test,cifar100_test_std,imagenet16_test,imagenet16_test_std
zero_cost_nas,10,92.12,1.25,68.1,2.49,40.07,1.86
balenas_tf,10,94.08,,72.55,0.42,45.82,0.30
"""


def write(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "table2_nb201.csv").write_text(text)
    return folder


def test_loads_numbers_and_empty_std_cells(tmp_path: Path) -> None:
    table = load_paper_table(write(tmp_path, TABLE2), "table2")
    assert table.available and table.keys() == ["zero_cost_nas", "balenas_tf"]
    row = table.frame.set_index("method").loc["balenas_tf"]
    assert row["cifar10_test"] == 94.08 and np.isnan(row["cifar10_test_std"])  # the paper prints no std
    assert paper_files(tmp_path) == [str(tmp_path / "table2_nb201.csv")]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (TABLE2.replace(",imagenet16_test_std", ""), r"missing \['imagenet16_test_std'\]"),
        (TABLE2.replace("sample_size", "k"), r"unknown \['k'\]"),
        (TABLE2.replace("92.12", "92,1x"), "columns"),
        (TABLE2.replace("68.1", "n/a"), "column 'cifar100_test': not a number"),
        (TABLE2 + "balenas_tf,10,1,,1,,1,\n", "duplicate"),
        (TABLE2.replace("balenas_tf,", ",", 1), "empty 'method'"),
    ],
)
def test_a_malformed_file_fails_naming_the_file(tmp_path: Path, text: str, match: str) -> None:
    folder = write(tmp_path, text)
    with pytest.raises(PaperNumbersError, match=match) as err:
        load_paper_table(folder, "table2")
    assert str(folder / "table2_nb201.csv") in str(err.value)


def test_an_absent_folder_or_file_is_not_available(tmp_path: Path) -> None:
    absent = load_paper_table(tmp_path / "nope", "table1")
    assert not absent.available and absent.missing == f"paper numbers not available: {tmp_path / 'nope'} not found"
    no_file = load_paper_table(tmp_path, "table1")
    assert no_file.missing == f"paper numbers not available: {tmp_path / 'table1_nb201.csv'} not found"
    assert paper_files(tmp_path / "nope") == [] and paper_files(None) == []


def test_the_shared_files_load() -> None:
    if not SHARED_PAPER.exists():
        pytest.skip(f"needs the paper's numbers at {SHARED_PAPER} (../shared beside the checkout); not present")
    t1 = load_paper_table(SHARED_PAPER, "table1")
    assert t1.keys()[0] == "random_baseline" and t1.keys()[-1] == "optimal" and len(t1.keys()) == 13
    assert t1.frame.set_index("method").at["optimal", "cifar100_valid"] == 74.49
    assert len(load_paper_table(SHARED_PAPER, "table2").frame) == 6
    t3 = load_paper_table(SHARED_PAPER, "table3").frame.set_index("method")
    assert t3.at["balenas_tf", "cifar10_test_error"] == 2.43 and t3.at["balenas_tf", "optimization"] == "gradient"
    assert set(PAPER_TABLES) == {"table1", "table2", "table3"}


def test_quoted_block_is_generic_over_keys_and_metrics() -> None:
    paper = pd.DataFrame({"method": ["a", "b"], "err": [2.5, 3.0], "err_std": [0.1, np.nan], "params": [3.8, 4.0]})
    ours = pd.DataFrame({"method": ["b", "c"], "err": [2.75, 9.0], "err_std": [0.05, 0.0], "params": [4.5, 1.0]})
    cells = quoted_cells(paper, ours, ["method"], ["err", "params"])
    assert cells["method"].tolist() == ["a", "a", "b", "b", "c", "c"]  # paper order, then ours only
    b = cells[(cells["method"] == "b") & (cells["metric"] == "err")].iloc[0]
    assert (b["paper"], b["reproduced"], b["difference"]) == (3.0, 2.75, -0.25)
    block = quoted_block(paper, ours, ["method"], ["err", "params"], metric_labels={"err": "Error (%)"},
                         reproduced_text={("a",): "not run: x"}).set_index("method")
    assert block.at["b", "Error (%): paper"] == "3.00" and block.at["b", "Error (%): reproduced"] == "2.75 ± 0.05"
    assert block.at["b", "Error (%): reproduced - paper"] == "-0.25"
    assert block.at["a", "params: reproduced"] == "not run: x" and block.at["a", "Error (%): paper"] == "2.50 ± 0.10"
    assert block.at["c", "params: paper"] == "-" and block.at["c", "params: reproduced - paper"] == "-"
    with pytest.raises(ValueError, match="reproduced frame lacks"):
        quoted_cells(paper, ours.drop(columns="params"), ["method"], ["err", "params"])
