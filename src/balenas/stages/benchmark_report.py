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

from balenas.benchmarks import load_nb201_table
from balenas.benchmarks.settings import Table1Choice
from balenas.report.benchmark_curves import CURVE_METRICS, curve_figure, curve_stats
from balenas.report.io import save_figure, write_table
from balenas.report.labels import RUN_KEYS
from balenas.report.paper_numbers import load_paper_table
from balenas.report.table1 import METRICS, reference_rows, write_table1
from balenas.report.table1_runs import build_benchmark_table1
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
    paper_dir = (config.get("paths") or {}).get("paper")
    t1 = build_benchmark_table1(runs, sel, table, choice, config, off_message, ref,
                                provenance=benchmark_record(table) if table is not None else None,
                                paper=load_paper_table(paper_dir, "table1"))
    write_table1(t1, outputs["table1_csv"], outputs["table1_md"], outputs["table1_tex"])
    sel_t2 = sel[(sel["space"] == "nb201") & (sel["dataset"] == choice.search_dataset)]
    t2 = build_table2(
        sel_t2,
        lookups_off=off_reason if table is None else "",
        ks=(config.get("selection") or {}).get("ks") or None,  # the configured K's, run or not
        notes=[f"Selections from searches on '{choice.search_dataset}' (report.table1.search_dataset)."],
        paper=load_paper_table(paper_dir, "table2"),
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
