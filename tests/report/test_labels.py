"""Run identity and names shared by every table and figure."""

from __future__ import annotations

from balenas.report import labels, selection, table2
from balenas.report.search import run_label


def test_order_names_accept_ints_floats_and_strings():
    assert [labels.order_name(o) for o in (1, 2.0, "2")] == ["1st", "2nd", "2nd"]
    assert labels.order_name(3) == "order 3"


def test_method_labels_come_from_the_registry():
    assert labels.method_label("darts") == "DARTS" and labels.method_label("balenas") == "BaLeNAS"
    assert labels.method_label("gdas") == "GDAS"
    assert labels.method_label("unseen_nas") == "unseen_nas"  # not registered: shown as is
    assert run_label("balenas", 2) == "BaLeNAS (2nd)"


def test_table2_and_the_selection_report_name_rows_alike():
    for method in ("balenas", "darts"):
        for order in (1, 2):
            mine = table2.row_label(method, float(order))  # Table 2's order column is float (NaN rows)
            assert mine.startswith(selection.row_label(method, order, "tf"))
    assert table2.row_label("zero_cost", None) == selection.row_label("zero_cost", None, "uniform")
    assert table2.row_label("balenas", None) == "BaLeNAS-TF (?)"


def test_paper_keys_labels_and_styles_come_from_the_registry():
    assert labels.paper_key("darts", 1) == "darts_1st" and labels.paper_key("balenas", 2) == "balenas_2nd"
    assert labels.run_style("darts", 1)["color"] == "tab:red"  # the figures' colours so far
    assert labels.run_style("balenas", 2)["color"] == "tab:blue"
    assert labels.run_style("balenas", 2)["linestyle"] == "--" != labels.run_style("balenas", 1)["linestyle"]
    assert labels.label_style("BaLeNAS (2nd)") == labels.run_style("balenas", 2)
    assert "color" not in labels.label_style("unknown")
    assert [r.paper_key for r in labels.selector_rows()] == ["zero_cost_nas", "balenas_tf"]


def test_a_new_method_gets_a_row_a_key_and_a_colour(monkeypatch):
    from dataclasses import replace

    from balenas.methods import METHODS
    from balenas.report.table1 import table1_rows

    darts = METHODS.get("darts")
    one_order = replace(darts, name="enas", label="ENAS", orders=(1,), paper_rows={})
    monkeypatch.setitem(METHODS._items, "enas", one_order)
    assert labels.paper_key("enas", 1) == "enas" and labels.run_label("enas", 1) == "ENAS"
    renamed = replace(darts, name="xnas", label="XNAS", paper_rows={1: "xnas_first", 2: "xnas_2nd"})
    monkeypatch.setitem(METHODS._items, "xnas", renamed)
    assert labels.paper_key("xnas", 1) == "xnas_first"  # Method.paper_rows wins over the convention
    colours = {labels.method_colour(m) for m in METHODS.keys()}
    assert len(colours) == len(METHODS.keys())  # a colour of its own, without editing the report
    rows = {r.key: r for r in table1_rows(["random_baseline", "enas", "unseen_nas", "darts_1st", "optimal"])}
    assert rows["enas"].label == "ENAS" and rows["enas"].default_status == "not run"
    assert rows["unseen_nas"].default_status == "not run: method unseen_nas not registered"
