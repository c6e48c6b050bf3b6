"""Table 3: DARTS CNN space, retrained cells (CIFAR-10, CIFAR-100 transfer, ImageNet mobile setting).

Two labelled blocks: **reproduced** (this run's retrained cells: searched rows such as DARTS 1st/2nd,
BaLeNAS, BaLeNAS-TF, and retrained published genotypes) and **quoted from the paper** (the paper's own
Table 3, ``../shared/paper/table3_darts.csv``, never mixed with computed numbers).

Reproduced cells:
- test errors: mean and sample std (ddof 1) over every retraining of the row (retrain seeds x search seeds),
  with the number of runs; top-1 error = 100 - top-1 accuracy on the test split (ImageNet: val);
- params (M): the CIFAR-10 network at the paper's size (20 cells, C=36) without the auxiliary head, and
  FLOPs (M multiply-adds): the ImageNet mobile network (14 cells, C=48, one 224x224 image) counted by
  ``torch.utils.flop_counter`` (see :mod:`balenas.cost`). Both are functions of the genotype, so they are
  given at the paper's sizes even when the retraining ran smaller;
- search cost: GPU days per search (mean over the row's search jobs) from their Snakemake benchmark files,
  with the device the jobs recorded; CPU runs say so.
A cell that did not run holds no number; the notes say why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from balenas.cost import SearchCost, count_macs_m

#: dataset -> the Table 3 columns its retraining fills
DATASET_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "cifar10": ("cifar10_test_error",),
    "cifar100": ("cifar100_test_error",),
    "imagenet": ("imagenet_top1_error", "imagenet_top5_error"),
}
COLUMNS: tuple[str, ...] = (
    "cifar10_test_error", "cifar100_test_error", "imagenet_top1_error", "imagenet_top5_error", "params_m",
    "flops_m", "search_cost_gpu_days",
)
HEADERS: Mapping[str, str] = {
    "method": "Method",
    "cifar10_test_error": "CIFAR-10 err (%)",
    "cifar100_test_error": "CIFAR-100 err (%)",
    "imagenet_top1_error": "ImageNet top-1 err (%)",
    "imagenet_top5_error": "ImageNet top-5 err (%)",
    "params_m": "Params (M)",
    "flops_m": "FLOPs (M)",
    "search_cost_gpu_days": "Search cost (GPU days)",
}
#: the paper's method keys (table3_darts.csv) -> printed names
PAPER_LABELS: Mapping[str, str] = {
    "random_nas": "Random search", "snas": "SNAS", "bayesnas": "BayesNAS", "mdenas": "MdeNAS", "gdas": "GDAS",
    "xnas": "XNAS", "pdarts": "P-DARTS", "pc_darts": "PC-DARTS", "drnas": "DrNAS", "darts_plus": "DARTS+",
    "darts_1st": "DARTS (1st)", "darts_2nd": "DARTS (2nd)", "balenas": "BaLeNAS", "balenas_tf": "BaLeNAS-TF",
}
BLOCK_REPRODUCED = "reproduced"
BLOCK_PAPER = "quoted from the paper"
PAPER_CITATION = "Zhang et al., BaLeNAS, CVPR 2022 (arXiv:2111.13204), Table 3"


@dataclass(frozen=True)
class Table3Row:
    """One reproduced row: its genotype (None when its search did not run) and why cells are missing."""

    key: str
    label: str
    genotype: Any = None
    search_cost: SearchCost | None = None
    missing: Mapping[str, str] = field(default_factory=dict)  # dataset -> why it did not run


@dataclass(frozen=True)
class Table3:
    frame: pd.DataFrame  # block, key, method, <metric>, <metric>_std, <metric>_n, search_device, note
    notes: tuple[str, ...]


@lru_cache(maxsize=32)
def _genotype_costs(genotype: Any) -> tuple[float, float]:
    """(params M of the CIFAR-10 paper network, MACs M of the ImageNet mobile network) of a genotype."""
    from balenas.supernets.darts_network import DartsNetwork, EvalNetworkConfig, count_params_m

    cifar = DartsNetwork(genotype, EvalNetworkConfig(C=36, layers=20), 10, 3)
    imagenet = DartsNetwork(genotype, EvalNetworkConfig(C=48, layers=14, stem="imagenet"), 1000, 3)
    return count_params_m(cifar), count_macs_m(imagenet, (3, 224, 224))


def _summary(values: pd.Series) -> tuple[float, float, int]:
    v = values.dropna().astype(float)
    if v.empty:
        return float("nan"), float("nan"), 0
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else float("nan"), len(v)


def reproduced_rows(rows: Sequence[Table3Row], runs: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """``runs``: one row per retraining with ``row``, ``dataset``, ``test_error`` and ``test_top5_error``."""
    out, notes = [], []
    for row in rows:
        rec: dict[str, Any] = {"block": BLOCK_REPRODUCED, "key": row.key, "method": row.label}
        mine = runs[runs["row"] == row.key] if len(runs) else runs
        why: list[str] = []
        for dataset, columns in DATASET_COLUMNS.items():
            got = mine[mine["dataset"] == dataset] if len(mine) else mine
            sources = ("test_error", "test_top5_error")
            for column, source in zip(columns, sources):
                mean, std, n = _summary(got[source]) if len(got) else (float("nan"), float("nan"), 0)
                rec[column], rec[f"{column}_std"], rec[f"{column}_n"] = mean, std, n
            if rec[columns[0] + "_n"] == 0:
                why.append(f"{dataset}: {row.missing.get(dataset, 'no retraining result')}")
        if row.genotype is not None:
            rec["params_m"], rec["flops_m"] = _genotype_costs(row.genotype)
        else:
            rec["params_m"] = rec["flops_m"] = float("nan")
            why.append("params/FLOPs: no genotype (its search did not run)")
        cost = row.search_cost
        rec["search_cost_gpu_days"] = cost.days / cost.jobs if cost and cost.jobs else float("nan")
        rec["search_device"] = ", ".join(cost.devices) if cost else ""
        if cost is None:
            why.append("search cost: " + row.missing.get("search", "no search job (a published cell)"))
        elif not cost.jobs:
            why.append(f"search cost: no benchmark file ({', '.join(cost.missing)} missing)")
        elif not cost.on_gpu:
            why.append(f"search cost: measured on {rec['search_device']}, not a GPU")
        if cost is not None and cost.jobs and cost.missing:
            why.append(f"search cost: mean of {cost.jobs} of {cost.jobs + len(cost.missing)} search jobs "
                       f"({', '.join(cost.missing)} missing)")
        rec["note"] = "; ".join(why)
        out.append(rec)
        if why:
            notes.append(f"{row.label}: " + "; ".join(why))
    return pd.DataFrame(out), notes


def paper_rows(path: str | Path) -> pd.DataFrame:
    """The paper's Table 3 as transcribed in ``../shared/paper/table3_darts.csv``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"paper table {path} does not exist (expected ../shared/paper/table3_darts.csv)")
    df = pd.read_csv(path)
    missing = sorted(set(COLUMNS) - set(df.columns) | ({"method"} - set(df.columns)))
    if missing:
        raise ValueError(f"{path}: missing columns {missing}")
    out = pd.DataFrame({"block": BLOCK_PAPER, "key": df["method"],
                        "method": [PAPER_LABELS.get(m, m) for m in df["method"]]})
    for column in COLUMNS:
        out[column] = df[column].astype(float)
    out["cifar10_test_error_std"] = df.get("cifar10_test_error_std", pd.Series(np.nan, index=df.index)).astype(float)
    out["note"] = PAPER_CITATION
    return out


def build_table3(rows: Sequence[Table3Row], runs: pd.DataFrame, paper_csv: str | Path | None) -> Table3:
    reproduced, notes = reproduced_rows(rows, runs)
    frames = [reproduced]
    if paper_csv is not None and Path(paper_csv).is_file():
        frames.append(paper_rows(paper_csv))
    else:
        notes.append(f"paper block absent: {paper_csv} not found")
    return Table3(pd.concat(frames, ignore_index=True), tuple(notes))


def _cell(rec: pd.Series, column: str, style: str) -> str:
    value = rec.get(column)
    if value is None or pd.isna(value):
        return "--" if rec["block"] == BLOCK_PAPER else "not run"
    digits = 3 if column == "search_cost_gpu_days" else 0 if column == "flops_m" else 2
    text = f"{value:.{digits}f}"
    std, n = rec.get(f"{column}_std"), rec.get(f"{column}_n")
    pm = " $\\pm$ " if style == "tex" else " ± "
    if std is not None and not pd.isna(std):
        text += f"{pm}{std:.2f}"
    if n is not None and not pd.isna(n) and n > 0:
        text += f" (n={int(n)})"
    device = rec.get("search_device")
    if column == "search_cost_gpu_days" and isinstance(device, str) and device and "cuda" not in device:
        text += f" [{device}]"
    return text


def display_grid(table: Table3, block: str, style: str = "md") -> pd.DataFrame:
    rows = table.frame[table.frame["block"] == block]
    return pd.DataFrame([{HEADERS["method"]: r["method"], **{HEADERS[c]: _cell(r, c, style) for c in COLUMNS}}
                         for _, r in rows.iterrows()])


def to_markdown(table: Table3) -> str:
    from balenas.report.io import markdown_table

    parts = ["# Table 3: DARTS CNN space (test error %, params, FLOPs, search cost)", "",
             f"## {BLOCK_REPRODUCED.capitalize()} (this run)", "", markdown_table(display_grid(table, BLOCK_REPRODUCED)),
             "", f"## {BLOCK_PAPER.capitalize()} ({PAPER_CITATION})", ""]
    paper = display_grid(table, BLOCK_PAPER)
    parts += [markdown_table(paper) if len(paper) else "(paper table not available)", ""]
    parts += ["Params: CIFAR-10 network (20 cells, C=36) without the auxiliary head; FLOPs: ImageNet mobile "
              "network (14 cells, C=48, 224x224) in multiply-adds by torch.utils.flop_counter (convolutions and "
              "the classifier; no BN/ReLU/pooling/additions), both computed from the genotype.", ""]
    if table.notes:
        parts += ["Cells that did not run or need a caveat:", ""] + [f"- {n}" for n in table.notes] + [""]
    return "\n".join(parts)


def to_latex(table: Table3) -> str:
    from balenas.report.io import latex_table

    return "\n\n".join([
        latex_table(display_grid(table, BLOCK_REPRODUCED, "tex"), caption="Table 3, reproduced (this run)"),
        latex_table(display_grid(table, BLOCK_PAPER, "tex"), caption=f"Table 3, {BLOCK_PAPER} ({PAPER_CITATION})"),
    ]) + "\n"


def write_table3(table: Table3, csv: str | Path, md: str | Path, tex: str | Path) -> tuple[Path, Path, Path]:
    from balenas.report.io import write_text
    from balenas.runtime import atomic_path

    with atomic_path(csv) as tmp:
        table.frame.to_csv(tmp, index=False)
    write_text(md, to_markdown(table))
    write_text(tex, to_latex(table))
    return Path(csv), Path(md), Path(tex)


def runs_from_metrics(entries: Iterable[tuple[str, str, str | Path]]) -> pd.DataFrame:
    """(row key, dataset, metrics.json of a retraining) -> the ``runs`` frame of :func:`build_table3`."""
    import json

    out = []
    for row, dataset, path in entries:
        if dataset not in DATASET_COLUMNS:
            raise ValueError(f"{path}: dataset {dataset!r} is not a Table 3 column; valid: {sorted(DATASET_COLUMNS)}")
        blob = json.loads(Path(path).read_text())
        out.append({"row": row, "dataset": dataset, "seed": blob.get("seed"),
                    "test_error": blob.get("test_error"), "test_top5_error": blob.get("test_top5_error")})
    return pd.DataFrame(out, columns=["row", "dataset", "seed", "test_error", "test_top5_error"])


def table3_stage(config: Mapping[str, Any], retrain_metrics: Sequence[str], transfer_metrics: Sequence[str],
                 search_jobs: Mapping[str, Sequence[tuple[str, str]]], paper_csv: str | Path | None,
                 outputs: Sequence[str | Path]) -> Table3:
    """Build Table 3 from the rule's inputs. ``*_metrics`` paths follow the retrain/transfer layout
    ``.../<dataset>/<cell>/retrain-<seed>/metrics.json``; ``search_jobs`` maps a cell id to its search job's
    (benchmark file, metrics.json) pairs.
    """
    from balenas.cost import search_cost
    from balenas.retrain_plan import column_notes, retrain_cells, rows_for, table3_missing, table_dataset
    from balenas.stages.retrain import resolve_genotype

    cells = retrain_cells(config)
    by_id = {c.id: c for c in cells}
    entries = []
    for path in [*retrain_metrics, *transfer_metrics]:
        parts = Path(path).parts
        dataset, cell = parts[-4], parts[-3]
        entries.append((by_id[cell].row, table_dataset(config, dataset), path))
    runs = runs_from_metrics(entries)
    rows = []
    for key, label in rows_for(cells):
        members = [c for c in cells if c.row == key]
        jobs = [job for c in members for job in search_jobs.get(c.id, [])]
        genotype = None
        first = members[0]
        if first.search is None or Path(first.genotype).is_file():
            genotype = resolve_genotype(first.genotype)  # params/FLOPs: the row's first cell
        rows.append(Table3Row(key, label, genotype, search_cost(jobs) if jobs else None,
                              table3_missing(config, first)))
    table = build_table3(rows, runs, paper_csv)
    table = Table3(table.frame, (*table.notes, *column_notes(config)))
    write_table3(table, *outputs)
    return table
