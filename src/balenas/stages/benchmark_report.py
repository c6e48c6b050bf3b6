"""The benchmark report stage: Table 1, Table 2 and the accuracy-per-search-epoch figure, built from the
lookups of :mod:`balenas.stages.benchmark` (or, with lookups off, from the search and selection records).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from balenas.archopt.gradients import GRADIENTS
from balenas.benchmarks import NB201Table, load_nb201_table
from balenas.benchmarks.settings import Table1Choice
from balenas.experiments import experiments_of
from balenas.methods import METHODS
from balenas.report.benchmark_curves import CURVE_METRICS, curve_figure, curve_stats
from balenas.report.io import save_figure, write_table
from balenas.report.labels import ORDER_NAMES, RUN_KEYS
from balenas.report.table1 import METRICS, ROW_OF_RUN, Table1, build_table1, reference_rows, write_table1
from balenas.report.table2 import build_table2, write_table2
from balenas.stages.benchmark import SELECTION_KEYS, benchmark_record

log = logging.getLogger(__name__)


# --- report: from files to frames ----------------------------------------------------------------
def _read_json(path: str | Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def search_runs(files: Sequence[str | Path]) -> pd.DataFrame:
    """One row per search run from ``lookup.json`` (values included) or search ``metrics.json`` (no values)."""
    rows = []
    for f in files:
        blob = _read_json(f)
        ident = (
            {k: blob[k] for k in RUN_KEYS} if "values" in blob else {k: blob["config"][k] for k in RUN_KEYS}
        )
        rows.append({**ident, "genotype": blob["genotype"], **blob.get("values", {})})
    return pd.DataFrame(rows, columns=[*RUN_KEYS, "genotype", *METRICS])


def selections(files: Sequence[str | Path]) -> pd.DataFrame:
    """One row per selected architecture from ``lookup.json`` or ``selected.json``."""
    rows = []
    for f in files:
        blob = _read_json(f)
        rows.append({**{k: blob.get(k) for k in SELECTION_KEYS}, **blob.get("values", {})})
    return pd.DataFrame(rows, columns=[*SELECTION_KEYS, *METRICS])


def epoch_frame(files: Sequence[str | Path], runs: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Concatenated ``epochs.csv`` files, each tagged with its run identity (``runs`` in the same order)."""
    frames = [pd.read_csv(f).assign(**{k: r[k] for k in RUN_KEYS}) for f, r in zip(files, runs, strict=True)]
    if not frames:
        return pd.DataFrame(columns=[*RUN_KEYS, "epoch", "genotype", *METRICS])
    return pd.concat(frames, ignore_index=True)


# --- report: Table 1 -----------------------------------------------------------------------------
def _is_order(value: Any, order: int) -> bool:
    try:
        return int(value) == order
    except (TypeError, ValueError):
        return False


def table1_lookups(runs: pd.DataFrame, sel: pd.DataFrame, choice: Table1Choice) -> pd.DataFrame:
    """The tidy lookup frame of :mod:`balenas.report.table1` for the runs that fill its rows."""
    searched = runs[(runs["space"] == "nb201") & (runs["dataset"] == choice.search_dataset)]
    searched = searched[searched["method"].isin(["darts", "balenas"]) & searched["order"].isin([1, 2])]
    frames = [searched.assign(order=[ORDER_NAMES[int(o)] for o in searched["order"]])]
    on_dataset = sel[(sel["space"] == "nb201") & (sel["dataset"] == choice.search_dataset)]
    tf = on_dataset[
        (on_dataset["method"] == "balenas")
        & (on_dataset["selector"] == "tf")
        & pd.Series(
            [_is_order(o, choice.tf.order or 1) for o in on_dataset["order"]],
            index=on_dataset.index,
            dtype=bool,
        )
        & (on_dataset["proxy"] == choice.tf.proxy)
        & (on_dataset["k"] == choice.tf.k)
    ]
    zc = on_dataset[
        (on_dataset["method"] == "zero_cost")
        & (on_dataset["proxy"] == choice.zero_cost.proxy)
        & (on_dataset["k"] == choice.zero_cost.k)
    ]
    frames += [tf.assign(method="balenas_tf", order=""), zc.assign(method="zero_cost", order="")]
    wide = pd.concat(
        [f[["method", "order", "seed", "genotype", *METRICS]] for f in frames], ignore_index=True
    )
    long = wide.melt(
        id_vars=["method", "order", "seed", "genotype"], value_vars=list(METRICS), var_name="metric"
    )
    return long.rename(columns={"genotype": "arch"})[["method", "order", "seed", "metric", "value", "arch"]]


def _run_rows(tidy: pd.DataFrame) -> dict[str, int]:
    """Number of runs behind each Table-1 row in ``tidy`` (:func:`table1_lookups`; with lookups on or off)."""
    counts = tidy.drop_duplicates(["method", "order", "seed"]).groupby(["method", "order"]).size()
    return {ROW_OF_RUN[k]: int(n) for k, n in counts.items()}


def row_status(configured: Mapping[str, Any], choice: Table1Choice) -> dict[str, str]:
    """Why a Table-1 method row has no runs: not implemented, or not configured."""
    rows = [e for e in experiments_of(configured) if e.space == "nb201" and e.dataset == choice.search_dataset]
    status: dict[str, str] = {}
    for method in ("darts", "balenas"):
        sheet = [e for e in rows if e.method == method]
        for order in (1, 2):
            key = f"{method}_{ORDER_NAMES[order]}"
            if method not in METHODS:
                status[key] = f"not implemented (method {method})"
            elif str(order) not in GRADIENTS:
                status[key] = "not implemented (second-order gradient)" if order == 2 else "not implemented"
            elif not sheet:
                status[key] = f"not run ({method} not in the experiment sheet)"
            elif order not in sheet[0].orders:
                status[key] = f"not run (order {order} not in the sheet's orders)"
            else:
                status[key] = "not run"
    status["balenas_tf"] = f"not run (no BaLeNAS-TF selection with {choice.tf.describe()})"
    status["zero_cost"] = f"not run (no zero-cost selection with {choice.zero_cost.describe()})"
    return status


def table1_notes(choice: Table1Choice, table: NB201Table | None, off_message: str) -> list[str]:
    notes = [off_message] if off_message else []
    notes += [
        f"Method rows: NAS-Bench-201 lookups of the architectures found by searches on "
        f"'{choice.search_dataset}' (report.table1.search_dataset); the benchmark's accuracies are of "
        "networks trained on CIFAR-10 / CIFAR-100 / ImageNet16-120, whatever data the search used.",
        f"BaLeNAS-TF: best of K samples of the BaLeNAS distribution by a proxy ({choice.tf.describe()}, "
        f"report.table1.tf); Zero-cost NAS: best of K uniform samples ({choice.zero_cost.describe()}, "
        "report.table1.zero_cost).",
    ]
    if table is not None:
        prov = benchmark_record(table)
        source = prov.get("converted_from")
        notes.append(
            f"Benchmark table: {table.source} ({len(table)} of 15625 architectures)"
            + (f", converted from {source['source']} (sha256 {source['source_sha256']})" if source else "")
            + "."
        )
    return notes


def build_benchmark_table1(
    runs: pd.DataFrame,
    sel: pd.DataFrame,
    table: NB201Table | None,
    choice: Table1Choice,
    configured: Mapping[str, Any],
    off_message: str = "",
    reference: pd.DataFrame | None = None,
) -> Table1:
    """Table 1 from the search runs and selections; ``reference`` is :func:`reference_rows` of ``table``
    (computed here when not given; unused when lookups are off)."""
    status = row_status(configured, choice)
    lookups = table1_lookups(runs, sel, choice)
    counts = _run_rows(lookups)
    notes = table1_notes(choice, table, off_message)
    if table is None:
        for key, n in counts.items():
            status[key] = f"benchmark lookups are off ({n} run{'s' if n != 1 else ''})"
        empty = pd.DataFrame(columns=["method", "order", "seed", "metric", "value", "arch"])
        return build_table1(empty, status=status, notes=notes)
    status = {k: v for k, v in status.items() if k not in counts}
    return build_table1(
        lookups,
        reference=reference_rows(table) if reference is None else reference,
        status=status,
        benchmark_sha256=table.sha256,
        notes=notes,
    )


# --- report: the stage ---------------------------------------------------------------------------
def benchmark_report_stage(
    search_files: Sequence[str | Path],
    selection_files: Sequence[str | Path],
    epochs_files: Sequence[str | Path],
    table_file: str | Path | None,
    off_reason: str,
    config: Mapping[str, Any],
    outputs: Mapping[str, str | Path],
) -> None:
    """Table 1, Table 2 and (with lookups) the accuracy-per-epoch figure of every search dataset.

    ``table_file`` is the compact table (``None`` when lookups are off, and then ``off_reason`` says why);
    ``search_files`` are lookup.json files (or search metrics.json files when lookups are off),
    ``selection_files`` lookup.json (or selected.json) files.
    """
    choice = Table1Choice.from_config(config)
    table = load_nb201_table(table_file) if table_file else None
    if table is None and not off_reason:
        raise ValueError("no benchmark table and no reason why lookups are off")
    off_message = f"benchmark lookups are off: {off_reason}" if table is None else ""
    if off_message:
        log.warning(off_message)
    runs = search_runs(search_files)
    sel = selections(selection_files)
    ref = reference_rows(table) if table is not None else None
    t1 = build_benchmark_table1(runs, sel, table, choice, config, off_message, ref)
    write_table1(t1, outputs["table1_csv"], outputs["table1_md"], outputs["table1_tex"])
    sel_t2 = sel[(sel["space"] == "nb201") & (sel["dataset"] == choice.search_dataset)]
    t2 = build_table2(
        sel_t2,
        lookups_off=off_reason if table is None else "",
        ks=(config.get("selection") or {}).get("ks") or None,  # the configured K's, run or not
        notes=[f"Selections from searches on '{choice.search_dataset}' (report.table1.search_dataset)."],
    )
    write_table2(t2, outputs["table2_csv"], outputs["table2_md"], outputs["table2_tex"])
    if table is None:
        return
    epochs = epoch_frame(epochs_files, runs.to_dict("records"))
    # random-baseline and optimum lines only from a complete table (a partial one has neither)
    lines = {
        m: (
            float(ref[(ref["row"] == "random") & (ref["metric"] == m)]["mean"].iloc[0]),
            float(ref[(ref["row"] == "optimal") & (ref["metric"] == m)]["mean"].iloc[0]),
        )
        for m in CURVE_METRICS
        if table.is_complete
    }
    for dataset, e in epochs[epochs["space"] == "nb201"].groupby("dataset"):
        key = f"curve_{dataset}"
        if f"{key}_png" not in outputs:
            continue
        write_table(curve_stats(e), outputs[f"{key}_csv"])
        fig = curve_figure(
            e, f"NAS-Bench-201 accuracy of the argmax architecture per search epoch ({dataset})", lines
        )
        save_figure(fig, outputs[f"{key}_png"], outputs[f"{key}_pdf"])
