"""Run identity and names shared by every table and figure."""

from __future__ import annotations

from balenas.report import labels, selection, table2
from balenas.report.search import run_label


def test_order_names_accept_ints_floats_and_strings():
    assert [labels.order_name(o) for o in (1, 2.0, "2")] == ["1st", "2nd", "2nd"]
    assert labels.order_name(3) == "order 3"


def test_method_labels_come_from_the_registry():
    assert labels.method_label("darts") == "DARTS" and labels.method_label("balenas") == "BaLeNAS"
    assert labels.method_label("gdas") == "gdas"  # not registered: shown as is
    assert run_label("balenas", 2) == "BaLeNAS (2nd)"


def test_table2_and_the_selection_report_name_rows_alike():
    for method in ("balenas", "darts"):
        for order in (1, 2):
            mine = table2.row_label(method, float(order))  # Table 2's order column is float (NaN rows)
            assert mine.startswith(selection.row_label(method, order, "tf"))
    assert table2.row_label("zero_cost", None) == selection.row_label("zero_cost", None, "uniform")
    assert table2.row_label("balenas", None) == "BaLeNAS-TF (?)"
