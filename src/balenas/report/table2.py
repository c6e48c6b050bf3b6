"""Table 2 of the BaLeNAS paper: Zero-cost NAS and BaLeNAS-TF at several sample sizes K, per proxy.

Input: one row per selected architecture (one selection job)::

    method      "zero_cost" | "balenas" | "darts" (the search run the K samples came from)
    order       1 / 2 for searched methods; empty for zero_cost
    proxy, k    the proxy that ranked the K samples, and K
    seed        the seed of the search run (zero_cost: of the uniform sampling)
    genotype    the selected NAS-Bench-201 string; score its proxy score; n_distinct distinct samples
    cifar10_test, cifar100_test, imagenet16_test (and the other Table-1 metrics)
                benchmark accuracies of the selected architecture, NaN when not tabulated; absent when
                benchmark lookups are off

With lookups, the table shows mean +- std over seeds (ddof 1) of the test accuracies per (method, proxy) and
K; without them it lists the selected genotypes and scores and says that lookups are off. Rows other than
Zero-cost NAS and BaLeNAS-TF (DARTS with TF selection) are shown too and labelled as not in the paper.
The paper's own Table 2 (``../shared/paper/table2_nb201.csv``) is set beside the reproduced values, per
(row, proxy, K) and test metric, with reproduced minus paper (the difference of the means).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from balenas.report.io import latex_table, markdown_table, write_table, write_text
from balenas.report.labels import ZERO_COST_LABEL, order_name, selector_rows, tf_label
from balenas.report.paper_numbers import (
    PAPER_CITATION,
    QUOTED_HEADING,
    PaperTable,
    quoted_cells,
    quoted_display,
    quoted_note,
)
from balenas.report.table1 import METRIC_LABELS, METRICS, format_over_seeds

log = logging.getLogger(__name__)

TEST_METRICS: tuple[str, ...] = ("cifar10_test", "cifar100_test", "imagenet16_test")
SELECTION_COLUMNS: tuple[str, ...] = (
    "method",
    "order",
    "proxy",
    "k",
    "seed",
    "genotype",
    "score",
    "n_distinct",
)
IN_PAPER = ("zero_cost", "balenas")
DEFAULT_SEED_DDOF = 1


def row_label(method: str, order: object) -> str:
    """``Zero-cost NAS``, ``BaLeNAS-TF (1st)``, ``DARTS-TF (1st) [not in the paper]`` (the selection
    report's names, :mod:`balenas.report.selection`, marked where the paper has no such row)."""
    if method == "zero_cost":
        return ZERO_COST_LABEL
    suffix = order_name(order) if _has_order(order) else "?"
    return f"{tf_label(method)} ({suffix})" + ("" if method in IN_PAPER else " [not in the paper]")


def _has_order(order: object) -> bool:
    return order is not None and not (isinstance(order, float) and np.isnan(order)) and str(order) != ""


def _row_rank(method: str) -> int:
    return {"zero_cost": 0, "balenas": 1}.get(method, 2)


@dataclass(frozen=True, eq=False)
class Table2:
    """``summary``: per (row, proxy, K, metric) mean/std/n over seeds (empty when lookups are off);
    ``selections``: one row per selected architecture; ``ks``: the K columns."""

    summary: pd.DataFrame
    selections: pd.DataFrame
    ks: tuple[int, ...]
    lookups_off: str
    seed_ddof: int
    notes: tuple[str, ...]
    paper: pd.DataFrame = field(default_factory=pd.DataFrame)  # quoted_cells keyed by Method, Proxy, K
    paper_missing: str = ""
    paper_source: str = ""

    @property
    def lookups_on(self) -> bool:
        return not self.lookups_off


def normalise_selections(selections: pd.DataFrame, with_values: bool) -> pd.DataFrame:
    missing = [c for c in SELECTION_COLUMNS if c not in selections.columns]
    if missing:
        raise ValueError(f"Table-2 selections lack column(s) {missing}; expected {list(SELECTION_COLUMNS)}")
    if with_values:
        absent = [m for m in TEST_METRICS if m not in selections.columns]
        if absent:
            raise ValueError(f"Table-2 selections lack benchmark column(s) {absent} while lookups are on")
    out = selections.copy()
    out["k"] = pd.to_numeric(out["k"], errors="raise").astype(np.int64)
    out["seed"] = pd.to_numeric(out["seed"], errors="raise").astype(np.int64)
    out["label"] = [row_label(m, o) for m, o in zip(out["method"], out["order"])]
    out["rank"] = [_row_rank(m) for m in out["method"]]
    dups = out.duplicated(["label", "proxy", "k", "seed"])
    if dups.any():
        raise ValueError(
            f"duplicate selections (row, proxy, K, seed): "
            f"{out.loc[dups, ['label', 'proxy', 'k', 'seed']].values.tolist()[:5]}"
        )
    return out.sort_values(["rank", "label", "proxy", "k", "seed"]).reset_index(drop=True)


def _summary(sel: pd.DataFrame, ddof: int) -> pd.DataFrame:
    records = []
    for (rank, label, proxy, k), g in sel.groupby(["rank", "label", "proxy", "k"], sort=True):
        for metric in [m for m in METRICS if m in g.columns]:
            values = g[metric].dropna().to_numpy(dtype=float)
            records.append(
                dict(
                    label=label,
                    method=g["method"].iloc[0],
                    proxy=proxy,
                    k=int(k),
                    metric=metric,
                    mean=float(values.mean()) if len(values) else np.nan,
                    std=float(values.std(ddof=ddof)) if len(values) > ddof else np.nan,
                    n=len(values),
                    n_runs=len(g),
                )
            )
    cols = ["label", "method", "proxy", "k", "metric", "mean", "std", "n", "n_runs"]
    return pd.DataFrame(records, columns=cols)


PAPER_KEYS = ("Method", "Proxy", "K")


def _paper_key(method: str) -> str:
    """The paper CSV's key of a Table-2 row: the selector row whose method (or, for zero_cost, none) it is."""
    for row in selector_rows():
        if (row.method or row.key) == method:
            return row.paper_key
    return ""


def paper_cells(summary: pd.DataFrame, paper: PaperTable | None) -> pd.DataFrame:
    """The paper's Table 2 beside the reproduced mean/std per (row label, proxy, K) and test metric.

    Each paper row (method, sample size) is set beside every reproduced (label, proxy) of that method (e.g.
    both gradient orders of BaLeNAS-TF, each proxy); a paper method without reproduced rows keeps one row
    with its paper label and an empty proxy. Rows the paper has no counterpart for are left out."""
    if paper is None or not paper.available:
        return pd.DataFrame()
    ours = summary.assign(paper_key=[_paper_key(m) for m in summary["method"]])
    ours = ours[(ours["paper_key"] != "") & ours["metric"].isin(TEST_METRICS)]
    index = ["label", "proxy", "k", "paper_key"]
    means = ours.pivot(index=index, columns="metric", values="mean")
    stds = ours.pivot(index=index, columns="metric", values="std").add_suffix("_std")
    reproduced = pd.concat([means, stds], axis=1).reindex(
        columns=[c for m in TEST_METRICS for c in (m, f"{m}_std")]
    ).reset_index()
    reproduced = reproduced.rename(columns={"label": "Method", "proxy": "Proxy", "k": "K"})
    labels = {r.paper_key: (r.label if not r.method else f"{r.label} ({order_name(1)})") for r in selector_rows()}
    quoted = []
    for rec in paper.frame.to_dict("records"):
        combos = reproduced.loc[reproduced["paper_key"] == rec["method"], ["Method", "Proxy"]].drop_duplicates()
        if combos.empty:
            combos = pd.DataFrame({"Method": [labels.get(rec["method"], rec["method"])], "Proxy": [""]})
        for method, proxy in combos.itertuples(index=False):
            quoted.append({**rec, "Method": method, "Proxy": proxy, "K": int(rec["sample_size"])})
    quoted_frame = pd.DataFrame(quoted)
    reproduced["K"] = reproduced["K"].astype(int)
    return quoted_cells(quoted_frame, reproduced.drop(columns="paper_key"), PAPER_KEYS, TEST_METRICS)


def paper_grid(table: Table2, style: str = "md") -> pd.DataFrame:
    """Display grid of the quoted block (rows without reproduced values say why)."""
    cells = table.paper.astype({"K": str})
    why = "lookups off" if not table.lookups_on else "not run"
    texts = {k: why for k, g in cells.groupby(list(PAPER_KEYS), sort=False) if g["reproduced"].isna().all()}
    return quoted_display(cells, PAPER_KEYS, metric_labels=METRIC_LABELS, style=style, reproduced_text=texts)


def _paper_note(table: Table2) -> str:
    return quoted_note(table.paper_missing, "Table 2", table.paper_source,
                       "the paper's test accuracy per sample size K (its proxy: SynFlow)")


def build_table2(
    selections: pd.DataFrame,
    *,
    lookups_off: str = "",
    ks: Iterable[int] | None = None,
    seed_ddof: int = DEFAULT_SEED_DDOF,
    notes: Iterable[str] = (),
    paper: PaperTable | None = None,
) -> Table2:
    """Assemble Table 2 (module docstring). ``ks`` fixes the K columns (default: the K's selected)."""
    sel = normalise_selections(selections, with_values=not lookups_off)
    ks = tuple(sorted({int(k) for k in ks} if ks is not None else set(sel["k"].tolist())))
    summary = _summary(sel, seed_ddof) if not lookups_off else _summary(sel.iloc[:0], seed_ddof)
    log.info("Table 2 from %d selections, K in %s, lookups %s", len(sel), ks, "off" if lookups_off else "on")
    return Table2(summary, sel, ks, lookups_off, seed_ddof, tuple(notes), paper_cells(summary, paper),
                  paper.missing if paper is not None else "paper numbers not available: not given",
                  str(paper.path) if paper is not None and paper.available else "")


# --- formatting ----------------------------------------------------------------------------------
def _fmt(cell: pd.Series | None, style: str) -> str:
    if cell is None:
        return "not run"
    return format_over_seeds(cell["mean"], cell["std"], int(cell["n"]), int(cell["n_runs"]), style)


def accuracy_grid(table: Table2, metric: str, style: str = "md") -> pd.DataFrame:
    """Rows (method, proxy), columns ``K=..``: mean ± std over seeds of ``metric``."""
    s = table.summary[table.summary["metric"] == metric]
    keys = table.selections.drop_duplicates(["rank", "label", "proxy"])[["label", "proxy"]]
    rows = []
    for label, proxy in keys.itertuples(index=False):
        cells = s[(s["label"] == label) & (s["proxy"] == proxy)].set_index("k")
        seeds = table.selections[(table.selections["label"] == label) & (table.selections["proxy"] == proxy)]
        rows.append(
            {
                "Method": label,
                "Proxy": proxy,
                **{f"K={k}": _fmt(cells.loc[k] if k in cells.index else None, style) for k in table.ks},
                "Seeds": str(seeds["seed"].nunique()),
            }
        )
    return pd.DataFrame(rows, columns=["Method", "Proxy", *[f"K={k}" for k in table.ks], "Seeds"])


def selections_grid(table: Table2) -> pd.DataFrame:
    """One row per selected architecture: genotype, score, distinct samples (and accuracies if looked up)."""
    sel = table.selections
    out = pd.DataFrame(
        {
            "Method": sel["label"],
            "Proxy": sel["proxy"],
            "K": sel["k"].astype(str),
            "Seed": sel["seed"].astype(str),
            "Distinct samples": sel["n_distinct"].astype(str),
            "Score": [f"{v:.4g}" if pd.notna(v) else "missing" for v in sel["score"]],
        }
    )
    if table.lookups_on:
        for m in TEST_METRICS:
            out[METRIC_LABELS[m]] = [f"{v:.2f}" if pd.notna(v) else "missing" for v in sel[m]]
    out["Architecture"] = sel["genotype"]
    return out


def _notes(table: Table2) -> list[str]:
    notes = list(table.notes)
    if table.lookups_on:
        notes += [
            f"Mean ± std over seeds (std with ddof={table.seed_ddof}) of the NAS-Bench-201 test accuracy "
            "(200 epochs, mean over the benchmark's training seeds) of the selected architecture; "
            "(k/n): only k of n seeds have a tabulated value.",
        ]
    notes += [
        "K: architectures sampled per selection (from the learned distribution for -TF rows, uniformly for "
        "Zero-cost NAS); the proxy picks the best of them at initialisation.",
        _paper_note(table),
    ]
    return notes


def _header(table: Table2) -> list[str]:
    lines = ["# Table 2: sample size K and proxy on NAS-Bench-201 (reproduced)", ""]
    if not table.lookups_on:
        lines += [f"**benchmark lookups are off: {table.lookups_off}**", ""]
    if table.selections.empty:
        lines += ["No selections were run (the selection stage produced no selected architecture).", ""]
    return lines


def to_markdown(table: Table2) -> str:
    parts = _header(table)
    if table.lookups_on:
        for metric in TEST_METRICS:
            parts += [
                f"## {METRIC_LABELS[metric]} accuracy (%)",
                "",
                markdown_table(accuracy_grid(table, metric)),
                "",
            ]
    parts += ["## Selected architectures", "", markdown_table(selections_grid(table)), ""]
    parts += [f"## Reproduced beside the values {QUOTED_HEADING} ({PAPER_CITATION}, Table 2)", "",
              table.paper_missing or markdown_table(paper_grid(table)), ""]
    parts += ["Notes:", *[f"- {n}" for n in _notes(table)], ""]
    return "\n".join(parts)


def to_latex(table: Table2) -> str:
    parts = [f"% {line.strip('*# ')}" for line in _header(table) if line]
    if table.lookups_on:
        for metric in TEST_METRICS:
            parts += [
                latex_table(accuracy_grid(table, metric, "tex"), f"{METRIC_LABELS[metric]} accuracy (%)"),
                "",
            ]
    else:
        parts += [
            latex_table(selections_grid(table).drop(columns="Architecture"), "Selected architectures"),
            "",
        ]
    parts += [f"% {table.paper_missing}" if table.paper_missing else
              latex_table(paper_grid(table, "tex"), f"Reproduced beside the values {QUOTED_HEADING} (Table 2)"), ""]
    parts += [f"% {n.replace('±', '+-')}" for n in _notes(table)] + [""]
    return "\n".join(parts)


def to_csv_frame(table: Table2) -> pd.DataFrame:
    """``block`` = summary (mean/std per row, proxy, K, metric) / selection (one row per architecture) / note."""
    summary = table.summary.assign(block="summary", seed_ddof=table.seed_ddof)
    keep = [c for c in table.selections.columns if c not in ("rank",)]
    selections = table.selections[keep].assign(block="selection")
    notes = [
        *([f"benchmark lookups are off: {table.lookups_off}"] if table.lookups_off else []),
        *_notes(table),
    ]
    quoted = table.paper.rename(columns={"Method": "label", "Proxy": "proxy", "K": "k"}).assign(
        block="quoted_from_paper", source=table.paper_source
    )
    frame = pd.concat(
        [summary, selections, quoted, pd.DataFrame({"block": "note", "note": notes})], ignore_index=True
    )
    first = [
        "block",
        "label",
        "method",
        "order",
        "proxy",
        "k",
        "seed",
        "metric",
        "mean",
        "std",
        "n",
        "n_runs",
    ]
    return frame.reindex(columns=[*first, *[c for c in frame.columns if c not in first]])


def write_table2(table: Table2, csv: str | Path, md: str | Path, tex: str | Path) -> tuple[Path, Path, Path]:
    write_table(to_csv_frame(table), csv)
    return Path(csv), write_text(md, to_markdown(table)), write_text(tex, to_latex(table))
