"""The selection report: every selected architecture (BaLeNAS-TF and the zero-cost baseline) in one table.

One row per ``selected.json``: the job's coordinates, the selected genotype, its raw proxy score, and how
many distinct architectures the K samples held. For TF rows the search's own argmax-of-the-mean genotype
is shown beside it. Benchmark accuracies of these genotypes are not looked up here (that is the
benchmark stage's Table 2).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from balenas.report.io import write_table
from balenas.report.labels import ZERO_COST_LABEL, order_name, tf_label

KEY_COLUMNS: tuple[str, ...] = ("space", "dataset", "method", "order", "selector", "proxy", "k", "seed")
COLUMNS: tuple[str, ...] = (
    "row",
    *KEY_COLUMNS,
    "genotype",
    "score",
    "n_distinct",
    "n_samples",
    "argmax_genotype",
    "same_as_argmax",
)


def row_label(method: str, order: int | None, selector: str) -> str:
    """``BaLeNAS-TF (1st)``, ``DARTS-TF (1st)``, ``Zero-cost NAS``: how the table names a row."""
    if selector == "uniform":
        return ZERO_COST_LABEL
    return f"{tf_label(method)} ({order_name(order)})" if order is not None else tf_label(method)


def load_selections(paths: Sequence[str | Path]) -> pd.DataFrame:
    """One row per selected.json (columns :data:`COLUMNS`), sorted by the job's coordinates."""
    rows = []
    for path in paths:
        rec = json.loads(Path(path).read_text())
        argmax = rec.get("argmax_genotype")
        rows.append(
            {
                "row": row_label(rec["method"], rec["order"], rec["selector"]),
                **{key: rec[key] for key in KEY_COLUMNS},
                "genotype": rec["genotype"],
                "score": rec["score"],
                "n_distinct": rec["n_distinct"],
                "n_samples": rec.get("n_samples", rec["k"]),
                "argmax_genotype": argmax,
                "same_as_argmax": None if argmax is None else argmax == rec["genotype"],
            }
        )
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    if frame.empty:
        return frame
    frame["_order"] = frame["order"].fillna(-1)
    frame = frame.sort_values(["space", "dataset", "method", "_order", "selector", "proxy", "k", "seed"])
    return frame.drop(columns="_order").reset_index(drop=True)


def write_selection_report(paths: Sequence[str | Path], csv: str | Path, md: str | Path) -> pd.DataFrame:
    """Write ``selection.csv`` (full precision) and ``selection.md`` (scores to 4 significant digits)."""
    frame = load_selections(paths)
    shown = frame.copy()
    shown["score"] = shown["score"].map(lambda v: f"{v:.4g}")
    shown["order"] = shown["order"].map(lambda v: "" if pd.isna(v) else str(int(v)))
    note = (
        "One row per selection job. `score`: the raw proxy score of the selected architecture (compare only "
        "within a proxy); `n_distinct`: distinct architectures among the K samples (each scored once); "
        "`argmax_genotype`: the search's argmax of the mean, for TF rows. Benchmark accuracies of the "
        "selected architectures are in the benchmark tables (Table 2), not here."
    )
    write_table(frame, csv, md, title="Selected architectures", note=note, display=shown)
    return frame
