"""The selection report: one row per selected.json, full-precision CSV, rounded Markdown."""

from __future__ import annotations

import json

import pandas as pd

from balenas.report.selection import row_label, write_selection_report


def _record(method: str, order: int | None, selector: str, score: float, seed: int = 0) -> dict:
    return {
        "space": "nb201",
        "dataset": "digits",
        "method": method,
        "order": order,
        "selector": selector,
        "proxy": "synflow",
        "k": 10,
        "seed": seed,
        "genotype": f"g-{method}-{seed}",
        "score": score,
        "n_distinct": 9,
        "argmax_genotype": None if selector == "uniform" else f"g-{method}-{seed}",
    }


def test_labels():
    assert row_label("zero_cost", None, "uniform") == "Zero-cost NAS"
    assert row_label("balenas", 1, "tf") == "BaLeNAS-TF (1st)"
    assert row_label("darts", 2, "tf") == "DARTS-TF (2nd)"
    assert row_label("balenas", 3, "tf") == "BaLeNAS-TF (order 3)"
    assert row_label("balenas", None, "tf") == "BaLeNAS-TF"


def test_csv_keeps_full_precision_and_markdown_rounds(tmp_path):
    paths = []
    for i, rec in enumerate([_record("balenas", 1, "tf", 1.23456789e42), _record("zero_cost", None, "uniform", 0.5)]):
        path = tmp_path / f"s{i}" / "selected.json"
        path.parent.mkdir()
        path.write_text(json.dumps(rec))
        paths.append(path)
    csv, md = tmp_path / "selection.csv", tmp_path / "selection.md"
    frame = write_selection_report(paths, csv, md)
    assert frame["row"].tolist() == ["BaLeNAS-TF (1st)", "Zero-cost NAS"]
    written = pd.read_csv(csv)
    assert written["score"].tolist() == [1.23456789e42, 0.5]
    assert written["same_as_argmax"].iloc[0]
    text = md.read_text()
    assert text.startswith("# Selected architectures")
    assert "| 1.235e+42 |" in text and "1.23456789" not in text
    assert "| BaLeNAS-TF (1st) | nb201 | digits | balenas | 1 |" in text  # order shown as an integer
