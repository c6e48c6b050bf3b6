"""The benchmark stages: conversion, lookups of searched / selected architectures, and the reports
(Table 1, Table 2, accuracy per search epoch) with lookups on and off."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from balenas.archopt.gradients import GRADIENTS
from balenas.benchmarks import load_nb201_table
from balenas.benchmarks.convert import sha256_tree
from balenas.benchmarks.nb201 import to_compact_csv_text
from balenas.benchmarks.settings import report_paths
from balenas.runtime import write_json
from balenas.spaces import get_space
from balenas.stages.benchmark import (
    convert_stage,
    lookup_genotype,
    lookup_search_stage,
    lookup_selection_stage,
    lookup_stage,
)
from balenas.methods import METHODS
from balenas.report.table1_runs import row_status
from balenas.stages.benchmark_report import benchmark_report_stage
from balenas.benchmarks.settings import Table1Choice

from ..conftest import shared_file

ALL_SKIP = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"
BEST_C10_VALID = 6111  # the best cifar10-valid x-valid architecture (shared data README)
SHARED = Path(__file__).resolve().parents[2].parent / "shared"
CONFIG = {
    "experiments": [
        {"space": "nb201", "dataset": "digits", "method": m, "orders": [1], "seeds": [0, 1]}
        for m in ("darts", "balenas")
    ],
    "selection": {"selectors": ["tf", "uniform"], "ks": [10], "proxies": ["synflow"]},
    "report": {
        "table1": {
            "search_dataset": None,
            "tf": {"order": 1, "proxy": "synflow", "k": 10},
            "zero_cost": {"proxy": "synflow", "k": 10},
        }
    },
}


def grid(md: str, header: str) -> pd.DataFrame:
    """The first Markdown table after the line ``header`` (or the first table when header is '')."""
    lines = md.splitlines()
    start = lines.index(header) if header else 0
    rows = []
    for line in lines[start:]:
        if line.startswith("|"):
            rows.append([c.strip() for c in line.strip("|").split(" | ")])
        elif rows:
            break
    return pd.DataFrame(rows[2:], columns=rows[0])


# --- lookups -------------------------------------------------------------------------------------
def test_known_architecture_looks_up_exactly(nb201_groundtruth: Path) -> None:
    found = lookup_genotype(load_nb201_table(nb201_groundtruth), ALL_SKIP)
    assert found["index"] == 1835
    assert round(found["values"]["cifar10_test"], 2) == 54.30
    assert round(found["values"]["cifar10_valid"], 2) == 39.77
    assert found["values"]["cifar100_valid"] is None  # partial column: explicit, not substituted
    assert found["missing"] == {"cifar100_valid": "not tabulated", "imagenet16_valid": "not tabulated"}


def _tiny_table(tmp_path: Path) -> tuple[Path, list[str]]:
    from tests.benchmarks.test_nb201_table import tiny_frame

    frame = tiny_frame()
    path = tmp_path / "tiny.csv"
    path.write_text(to_compact_csv_text(frame.set_index("index")))
    return path, frame["arch"].tolist()


def test_architecture_absent_from_a_partial_table_is_missing_everywhere(tmp_path: Path) -> None:
    path, archs = _tiny_table(tmp_path)
    table = load_nb201_table(path)
    absent = get_space("nb201").to_string(list(get_space("nb201").enumerate())[100])
    assert absent not in archs
    found = lookup_genotype(table, absent)
    assert found["index"] is None and set(found["values"].values()) == {None}
    assert set(found["missing"].values()) == {"arch not in table"}
    present = lookup_genotype(table, archs[1])
    assert present["values"]["cifar10_valid"] == 2.0 and present["values"]["cifar100_valid"] is None


def _search_run(root: Path, method: str, order: int, seed: int, epochs: list[str]) -> tuple[Path, Path]:
    run = root / "search" / f"{method}-{order}-{seed}"
    run.mkdir(parents=True)
    (run / "genotype.json").write_text(json.dumps({"space": "nb201", "genotype": epochs[-1]}))
    pd.DataFrame({"epoch": range(1, len(epochs) + 1), "genotype": epochs}).to_csv(
        run / "history.csv", index=False
    )
    return run / "genotype.json", run / "history.csv"


def test_search_lookup_records_run_epochs_and_checksum(nb201_groundtruth: Path, tmp_path: Path) -> None:
    table = load_nb201_table(nb201_groundtruth)
    best = table.arch(BEST_C10_VALID)
    genotype, history = _search_run(tmp_path, "darts", 1, 3, [best, ALL_SKIP, ALL_SKIP])
    out = {"lookup": tmp_path / "out" / "lookup.json", "epochs": tmp_path / "out" / "epochs.csv"}
    run = {"space": "nb201", "dataset": "digits", "method": "darts", "order": "1", "seed": "3"}
    lookup_search_stage(run, genotype, history, nb201_groundtruth, out)
    rec = json.loads(out["lookup"].read_text())
    assert (rec["method"], rec["order"], rec["seed"], rec["selector"]) == ("darts", 1, 3, "argmax")
    assert rec["genotype"] == ALL_SKIP and rec["index"] == 1835
    assert rec["benchmark"]["sha256"] == table.sha256 and rec["benchmark"]["complete"] is True
    assert rec["metrics"]["cifar10_test"] == "cifar10/ori-test/200"
    assert rec["values"]["imagenet16_valid"] is None and "imagenet16_valid" in rec["missing"]
    assert "torch" in rec["environment"]
    epochs = pd.read_csv(out["epochs"])
    assert epochs["epoch"].tolist() == [1, 2, 3] and epochs["index"].tolist() == [6111, 1835, 1835]
    assert (
        round(epochs.at[0, "cifar10_valid"], 2) == 91.61 and round(epochs.at[1, "cifar10_test"], 2) == 54.30
    )
    assert epochs["cifar100_valid"].isna().tolist() == [False, True, True]  # 6111 is in the partial column
    assert epochs.at[1, "missing"] == "cifar100_valid:not tabulated;imagenet16_valid:not tabulated"


def test_converted_table_is_looked_up_with_its_provenance(tmp_path: Path) -> None:
    fixture = shared_file("nb201/nats_tss_fixture/NATS-tss-v1_0-3ffb9-simple")
    reference = load_nb201_table(shared_file("nb201/nb201_groundtruth.csv"))
    table_file = convert_stage(fixture, tmp_path / "benchmark" / "nb201_table.csv", allow_partial=True)
    selected = tmp_path / "selected.json"
    record = {
        "space": "nb201",
        "dataset": "digits",
        "method": "zero_cost",
        "order": None,
        "seed": 0,
        "selector": "uniform",
        "proxy": "synflow",
        "k": 10,
        "genotype": reference.arch(284),
        "score": 1.5,
        "n_distinct": 9,
    }
    write_json(selected, record)
    lookup_selection_stage(selected, table_file, tmp_path / "lookup.json")
    rec = json.loads((tmp_path / "lookup.json").read_text())
    assert {k: rec[k] for k in record} == record  # the selection record is carried over
    assert rec["benchmark"]["converted_from"]["source_sha256"] == sha256_tree(fixture)
    assert rec["benchmark"]["rows"] == 3 and rec["benchmark"]["complete"] is False
    for name, value in rec["values"].items():  # the converted value is the shared table's, to 6 decimals
        expected = lookup_genotype(reference, reference.arch(284))["values"][name]
        assert value == pytest.approx(expected, abs=1e-6) if expected is not None else value is None


# --- the reports ---------------------------------------------------------------------------------
def _selected(root: Path, method: str, seed: int, genotype: str, order: int | None = 1) -> Path:
    selector = "uniform" if method == "zero_cost" else "tf"
    path = root / "select" / f"{method}-{seed}" / "selected.json"
    write_json(
        path,
        {
            "space": "nb201",
            "dataset": "digits",
            "method": method,
            "order": order,
            "seed": seed,
            "selector": selector,
            "proxy": "synflow",
            "k": 10,
            "genotype": genotype,
            "score": 10.0 + seed,
            "n_distinct": 10,
        },
    )
    return path


def test_lookup_stage_builds_the_record_meta_once(
    nb201_groundtruth: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import balenas.stages.benchmark as stage

    calls = []
    real = stage.environment_info
    monkeypatch.setattr(stage, "environment_info", lambda dev: calls.append(dev) or real(dev))
    best = load_nb201_table(nb201_groundtruth).arch(BEST_C10_VALID)
    runs, inputs, outputs = [], {"genotype": [], "history": []}, {"lookup": [], "epochs": []}
    for seed in (0, 1):
        g, h = _search_run(tmp_path, "darts", 1, seed, [best, ALL_SKIP])
        runs.append({"space": "nb201", "dataset": "digits", "method": "darts", "order": 1, "seed": seed})
        inputs["genotype"].append(g)
        inputs["history"].append(h)
        outputs["lookup"].append(tmp_path / f"out-{seed}" / "lookup.json")
        outputs["epochs"].append(tmp_path / f"out-{seed}" / "epochs.csv")
    selected = [_selected(tmp_path, "zero_cost", 0, best, None)]
    sel_out = [tmp_path / "out-sel" / "lookup.json"]
    lookup_stage(nb201_groundtruth, runs, inputs, outputs, selected, sel_out)
    assert len(calls) == 1  # three lookups, one environment probe
    records = [json.loads(f.read_text()) for f in [*outputs["lookup"], *sel_out]]
    for key in ("benchmark", "metrics", "environment"):
        assert all(r[key] == records[0][key] for r in records)
    assert records[0]["benchmark"]["sha256"] == load_nb201_table(nb201_groundtruth).sha256
    assert "torch" in records[0]["environment"]


def _runs(root: Path, table_file: Path) -> tuple[list[Path], list[Path], list[Path]]:
    """darts: all-skip at the end of both seeds; balenas: the best architecture; TF and zero-cost selections
    -- all looked up by one lookup_stage call, as the workflow's single lookup job does."""
    table = load_nb201_table(table_file)
    best, second = table.arch(BEST_C10_VALID), table.arch(11472)  # the ResNet cell
    runs, inputs, outputs, selected = [], {"genotype": [], "history": []}, {"lookup": [], "epochs": []}, []
    for method, final in (("darts", ALL_SKIP), ("balenas", best)):
        for seed in (0, 1):
            g, h = _search_run(root, method, 1, seed, [second, final])
            runs.append(
                {"space": "nb201", "dataset": "digits", "method": method, "order": "1", "seed": str(seed)}
            )
            inputs["genotype"].append(g)
            inputs["history"].append(h)
            outputs["lookup"].append(root / "lookups" / f"{method}-{seed}" / "lookup.json")
            outputs["epochs"].append(root / "lookups" / f"{method}-{seed}" / "epochs.csv")
    for method, genotype in (("balenas", best), ("zero_cost", second)):
        for seed in (0, 1):
            selected.append(_selected(root, method, seed, genotype, None if method == "zero_cost" else 1))
    sel = [s.with_name("lookup.json") for s in selected]
    lookup_stage(table_file, runs, inputs, outputs, selected, sel)
    with pytest.raises(ValueError, match="do not pair up"):
        lookup_stage(table_file, runs, inputs, outputs, selected, sel[:-1])
    return outputs["lookup"], sel, outputs["epochs"]


def test_report_with_lookups_fills_tables_and_figure(
    nb201_groundtruth: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import balenas.report.table1_runs as rows
    import balenas.stages.benchmark_report as stage

    calls: dict[str, int] = {}

    def counted(module, name: str):  # type: ignore[no-untyped-def]
        real = getattr(module, name)

        def wrapper(*args):
            calls[name] = calls.get(name, 0) + 1
            return real(*args)

        return wrapper

    for module, name in ((stage, "reference_rows"), (rows, "table1_lookups")):
        monkeypatch.setattr(module, name, counted(module, name))
    search, sel, epochs = _runs(tmp_path, nb201_groundtruth)
    outputs = report_paths(str(tmp_path / "results"), ["digits"], True)
    config = {**CONFIG, "selection": {**CONFIG["selection"], "ks": [10, 50]}}  # K=50 configured, not run
    benchmark_report_stage(search, sel, epochs, nb201_groundtruth, "", config, outputs)
    assert calls == {"reference_rows": 1, "table1_lookups": 1}  # shared by Table 1 and the curves
    md = Path(outputs["table1_md"]).read_text()
    t1 = grid(md, "").set_index("Method")
    assert t1.at["Random baseline", "CIFAR-10 valid"] == "83.69 ± 12.80"
    assert t1.at["Random baseline", "CIFAR-10 test"] == "87.06 ± 12.94"
    assert t1.loc["optimal"].tolist()[:6] == ["91.61", "94.37", "73.49*", "73.51", "46.73*", "47.31"]
    assert t1.at["DARTS (1st)", "CIFAR-10 test"] == "54.30 ± 0.00"
    assert t1.at["DARTS (1st)", "CIFAR-10 valid"] == "39.77 ± 0.00"
    assert t1.at["BaLeNAS (1st)", "CIFAR-10 valid"] == "91.61 ± 0.00"
    assert t1.at["BaLeNAS-TF", "CIFAR-10 valid"] == "91.61 ± 0.00"
    assert t1.at["Zero-cost NAS", "CIFAR-10 test"] == "93.91 ± 0.00"  # ResNet cell (README: 93.91)
    assert t1.at["DARTS (1st)", "CIFAR-100 valid"] == "missing (0/2 tabulated)"  # 1835: not in the partial column
    assert t1.at["Random baseline", "CIFAR-100 valid"] == "n/a (partial column)"
    second = (
        "not run: order 2 not in the sheet's orders" if "2" in GRADIENTS else "not run: no order-2 gradient implemented"
    )
    assert t1.at["DARTS (2nd)", "CIFAR-10 test"] == second
    assert "benchmark lookups are off" not in md
    assert load_nb201_table(nb201_groundtruth).sha256 in md
    assert load_nb201_table(nb201_groundtruth).sha256 in Path(outputs["table1_tex"]).read_text()
    t2 = grid(Path(outputs["table2_md"]).read_text(), "## CIFAR-10 test accuracy (%)")
    assert t2.values.tolist() == [
        ["Zero-cost NAS", "synflow", "93.91 ± 0.00", "not run", "2"],
        ["BaLeNAS-TF (1st)", "synflow", "94.37 ± 0.00", "not run", "2"],
    ]
    curves = pd.read_csv(outputs["curve_digits_csv"])
    darts = curves[(curves["method"] == "darts") & (curves["metric"] == "cifar10_test")].set_index("epoch")
    assert round(darts.at[1, "mean"], 2) == 93.91 and round(darts.at[2, "mean"], 2) == 54.30
    assert (darts["n"] == 2).all()
    assert Path(outputs["curve_digits_png"]).stat().st_size > 10_000
    assert Path(outputs["curve_digits_pdf"]).read_bytes().startswith(b"%PDF")


def test_report_shows_the_paper_beside_the_reproduced_rows(nb201_groundtruth: Path, tmp_path: Path) -> None:
    paper = SHARED / "paper"
    if not (paper / "table1_nb201.csv").exists():
        pytest.skip(f"needs the paper's numbers at {paper} (../shared beside the checkout); not present here")
    search, sel, epochs = _runs(tmp_path, nb201_groundtruth)
    outputs = report_paths(str(tmp_path / "results"), ["digits"], True)
    benchmark_report_stage(search, sel, epochs, nb201_groundtruth, "", {**CONFIG, "paths": {"paper": str(paper)}},
                           outputs)
    md = Path(outputs["table1_md"]).read_text()
    t1 = grid(md, "").set_index("Method")
    keys = pd.read_csv(paper / "table1_nb201.csv")["method"].tolist()
    csv = pd.read_csv(outputs["table1_csv"])
    rows = csv.loc[csv["block"] == "reproduced", "row"].drop_duplicates().tolist()
    # every paper row, plus the registry rows the paper does not print (DrNAS' second order)
    from balenas.report.labels import paper_key

    registered = {paper_key(m, o) for m in METHODS.keys() for o in METHODS.get(m).orders}
    extra = registered - set(keys)
    assert extra == {"drnas_2nd"}
    assert len(rows) == len(keys) + len(extra)
    for key in (k for k in keys if k not in registered):
        if key not in ("random_baseline", "optimal", "zero_cost_nas", "balenas_tf"):
            assert t1.at[key, "CIFAR-10 test"] == f"not run: method {key} not registered"
    quoted = grid(md, "## Reproduced beside the values quoted from the paper (Zhang et al., BaLeNAS, CVPR 2022 "
                      "(arXiv:2111.13204), Table 1)").set_index("Method")
    assert quoted.at["DARTS (1st)", "CIFAR-10 test: paper"] == "54.30 ± 0.00"
    assert quoted.at["DARTS (1st)", "CIFAR-10 test: reproduced - paper"] == "+0.00"
    assert quoted.at["optimal", "CIFAR-100 valid: paper"] == "74.49"
    assert quoted.at["optimal", "CIFAR-100 valid: reproduced - paper"] == "-1.00"
    assert "CIFAR-100 valid (paper 74.49, benchmark 73.49)" in md
    assert "ImageNet16-120 valid (paper 46.77, benchmark 46.73)" in md
    t2 = Path(outputs["table2_md"]).read_text()
    assert "quoted from the paper" in t2 and "paper numbers not available" not in t2


def test_report_with_lookups_off_says_so_and_lists_selections(tmp_path: Path) -> None:
    search = []
    for method in ("darts", "balenas"):
        for seed in (0, 1):
            path = tmp_path / f"{method}-{seed}" / "metrics.json"
            write_json(
                path,
                {
                    "config": {
                        "space": "nb201",
                        "dataset": "digits",
                        "method": method,
                        "order": 1,
                        "seed": seed,
                    },
                    "genotype": ALL_SKIP,
                },
            )
            search.append(path)
    sel = [_selected(tmp_path, "balenas", s, ALL_SKIP) for s in (0, 1)]
    outputs = report_paths(str(tmp_path / "results"), ["digits"], False)
    reason = "../shared/data/nb201/nb201_groundtruth.csv not found"
    benchmark_report_stage(search, sel, [], None, reason, CONFIG, outputs)
    md = Path(outputs["table1_md"]).read_text()
    assert f"**benchmark lookups are off: {reason}**" in md
    t1 = grid(md, "").set_index("Method")
    assert t1.at["DARTS (1st)", "CIFAR-10 test"] == "benchmark lookups are off (2 runs)"
    assert t1.at["BaLeNAS-TF", "CIFAR-10 test"] == "benchmark lookups are off (2 runs)"
    assert (
        t1.at["Zero-cost NAS", "CIFAR-10 test"] == "not run: no Zero-cost NAS selection with proxy synflow, K=10"
    )
    assert t1.at["Random baseline", "CIFAR-10 test"] == "not computed (no benchmark table)"
    csv = pd.read_csv(outputs["table1_csv"])
    assert f"benchmark lookups are off: {reason}" in csv.loc[csv["block"] == "note", "note"].tolist()
    md2 = Path(outputs["table2_md"]).read_text()
    assert f"benchmark lookups are off: {reason}" in md2
    sel_grid = grid(md2, "## Selected architectures")
    assert sel_grid["Score"].tolist() == ["10", "11"] and set(sel_grid["Architecture"]) == {
        ALL_SKIP.replace("|", "\\|")
    }
    assert "CIFAR-10 test" not in sel_grid.columns
    assert not any("curve" in k for k in outputs)


def test_row_status_names_the_reason() -> None:
    choice = Table1Choice.from_config(CONFIG)
    status = row_status({**CONFIG, "experiments": CONFIG["experiments"][1:]}, choice)
    assert status["darts_1st"] == "not run: darts not in the experiment sheet"
    assert status["balenas_1st"] == "not run"
    assert status["balenas_tf"] == "not run: no BaLeNAS-TF selection with proxy synflow, K=10, order 1"
