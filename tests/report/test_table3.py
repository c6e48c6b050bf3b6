"""Table 3: reproduced block from retraining metrics, cost columns from the genotype, the quoted block."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from balenas.cost import search_cost
from balenas.report.table3 import (
    BLOCK_PAPER,
    BLOCK_REPRODUCED,
    Table3Row,
    build_table3,
    runs_from_metrics,
    write_table3,
)
from balenas.spaces.darts import PUBLISHED

SHARED_PAPER = Path(__file__).resolve().parents[2].parent / "shared" / "paper" / "table3_darts.csv"


def _metrics(path: Path, seed: int, top1: float, top5: float | None = None) -> Path:
    path.write_text(json.dumps({"seed": seed, "test_error": 100 - top1,
                                "test_top5_error": None if top5 is None else 100 - top5}))
    return path


def test_table3_blocks_cells_and_reasons(tmp_path: Path) -> None:
    bench = tmp_path / "bench.tsv"
    bench.write_text("s\th:m:s\tmax_rss\n8640.0\t2:24:00\t100\n")
    search_metrics = tmp_path / "search.json"
    search_metrics.write_text(json.dumps({"environment": {"device": "cpu"}}))
    runs = runs_from_metrics([
        ("published_DARTS_V2", "cifar10", _metrics(tmp_path / "a.json", 0, 97.0, 99.9)),
        ("published_DARTS_V2", "cifar10", _metrics(tmp_path / "b.json", 1, 97.5, 99.9)),
        ("published_DARTS_V2", "cifar100", _metrics(tmp_path / "c.json", 0, 80.0, 95.0)),
        ("darts_2nd", "cifar10", _metrics(tmp_path / "d.json", 0, 96.0)),
    ])
    rows = [
        Table3Row("published_DARTS_V2", "DARTS_V2 (published)", PUBLISHED.get("DARTS_V2").genotype,
                  missing={"imagenet": "imagenet.root is null (no ImageNet folder given)"}),
        Table3Row("darts_2nd", "DARTS (2nd)", None, search_cost([(bench, search_metrics)]),
                  missing={"cifar100": "transfer takes the best cell only"}),
    ]
    paper = SHARED_PAPER if SHARED_PAPER.is_file() else None
    table = build_table3(rows, runs, paper)
    f = table.frame
    v2 = f[f["key"] == "published_DARTS_V2"].iloc[0]
    assert v2["block"] == BLOCK_REPRODUCED
    assert v2["cifar10_test_error"] == pytest.approx(2.75) and v2["cifar10_test_error_n"] == 2
    assert v2["cifar10_test_error_std"] == pytest.approx(0.35355, abs=1e-4)  # sample std of 3.0, 2.5
    assert v2["cifar100_test_error"] == pytest.approx(20.0)
    assert pd.isna(v2["imagenet_top1_error"]) and "imagenet.root is null" in v2["note"]
    assert v2["params_m"] == pytest.approx(3.349342, abs=1e-6) and v2["flops_m"] == pytest.approx(529.91, abs=0.05)
    d2 = f[f["key"] == "darts_2nd"].iloc[0]
    assert d2["search_cost_gpu_days"] == pytest.approx(0.1) and d2["search_device"] == "cpu"
    assert "not a GPU" in d2["note"] and "transfer takes the best cell only" in d2["note"]
    assert "no genotype" in d2["note"]
    paths = write_table3(table, tmp_path / "t.csv", tmp_path / "t.md", tmp_path / "t.tex")
    md = paths[1].read_text()
    assert "2.75 ± 0.35 (n=2)" in md and "not run" in md and "imagenet.root is null" in md
    assert r"$\pm$" in paths[2].read_text()
    if paper is None:
        pytest.skip(f"needs {SHARED_PAPER} for the quoted block")
    quoted = f[f["block"] == BLOCK_PAPER].set_index("key")
    assert quoted.loc["darts_2nd", "cifar10_test_error"] == 2.76 and quoted.loc["balenas_tf", "flops_m"] == 597
    assert "Quoted from the paper" in md and "BaLeNAS-TF" in md


def test_search_cost_survives_deleted_benchmark_files(tmp_path: Path) -> None:
    """Benchmark files are side files of Snakemake (benchmarks/ may be deleted while results/ stays):
    the cost is the mean of the jobs that have one, and the note names the missing ones."""
    metrics = tmp_path / "search.json"
    metrics.write_text(json.dumps({"environment": {"device": "cpu"}}))
    kept, gone = tmp_path / "seed-0.tsv", tmp_path / "seed-1.tsv"
    kept.write_text("s\th:m:s\n4320.0\t1:12:00\n")
    partial = search_cost([(kept, metrics), (gone, metrics)])
    assert (partial.jobs, partial.missing, partial.devices) == (1, (str(gone),), ("cpu",))
    none_left = search_cost([(gone, metrics)])
    assert none_left.jobs == 0 and none_left.seconds == 0.0
    rows = [Table3Row("darts_1st", "DARTS (1st)", None, partial), Table3Row("darts_2nd", "DARTS (2nd)", None, none_left)]
    f = build_table3(rows, runs_from_metrics([]), None).frame.set_index("key")
    assert f.loc["darts_1st", "search_cost_gpu_days"] == pytest.approx(0.05)
    assert "mean of 1 of 2 search jobs" in f.loc["darts_1st", "note"] and str(gone) in f.loc["darts_1st", "note"]
    assert pd.isna(f.loc["darts_2nd", "search_cost_gpu_days"])
    assert "no benchmark file" in f.loc["darts_2nd", "note"]
