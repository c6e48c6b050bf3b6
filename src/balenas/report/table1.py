"""Table 1 of the BaLeNAS paper: searched architectures on NAS-Bench-201, from tidy benchmark lookups.

Input: the tidy lookup frame
-----------------------------
One row per (search run, metric)::

    method  str    "zero_cost" | "darts" | "balenas" | "balenas_tf"          (see ROWS)
    order   str    "1st" | "2nd" for darts/balenas; "" (or missing) for zero_cost/balenas_tf;
                   1 / 2 / "first" / "second" are accepted and normalised
    seed    int    the search seed; one run is (method, order, seed)
    metric  str    cifar10_valid | cifar10_test | cifar100_valid | cifar100_test | imagenet16_valid |
                   imagenet16_test  (or the Metric key, e.g. "cifar10-valid/x-valid/200")
    value   float  accuracy in percent; NaN when the benchmark does not hold it (never 0)
    arch    str    optional: the NAS-Bench-201 string of the run's architecture

:func:`balenas.report.table1_runs.table1_lookups` builds this frame from the lookup records of
:mod:`balenas.stages.benchmark`; a value the benchmark table does not hold comes out as NaN.

Output
------
:func:`build_table1` returns a :class:`Table1` with three long frames:

``summary``
    per row x metric: mean and std over seeds (``ddof=seed_ddof``, default 1), ``n`` seeds with a value and
    ``n_runs`` seeds run. A cell with some seeds missing shows ``(n/n_runs)``; with none, "missing".
    "Random baseline" is the mean +- std over all 15,625 architectures (ddof 1, see
    :mod:`balenas.benchmarks.nb201`); it is not computed for the partial valid columns of CIFAR-100 and
    ImageNet16-120. "optimal" is the best architecture per column; for those two partial columns it is the
    maximum over the tabulated rows, which contain the top 1 % by validation accuracy, and says so.
``best``
    per row: the single run with the highest CIFAR-10 valid accuracy (ties: lowest seed) -- the selection is
    by validation accuracy, never by a test number -- and its six values.
``paper``
    per row x metric: the paper's mean and std (``../shared/paper/table1_nb201.csv``, :mod:`balenas.report
    .paper_numbers`) beside the reproduced mean and std, and ``difference`` = reproduced minus paper mean;
    empty when the paper numbers are not available (then ``paper_missing`` says why).

Rows come from the registries (:func:`table1_rows`): the reference rows, one row per (method, order) of
every registered method, the selector rows (Zero-cost NAS, BaLeNAS-TF), and every other method row of the
paper's table (e.g. GDAS before it is registered: "not run: method gdas not registered"). Rows are never
dropped: a row with no runs shows its status ("not run" by default, or what ``status`` says,
e.g. ``{"zero_cost": "not implemented"}``). Writers: :func:`to_csv`, :func:`to_markdown`,
:func:`to_latex`, :func:`write_table1`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from balenas.benchmarks.nb201 import (
    TABLE1_METRICS,
    IncompleteColumnError,
    NB201Table,
)
from balenas.methods import METHODS
from balenas.report.io import format_mean_std, latex_table, markdown_table, write_table, write_text
from balenas.report.labels import method_orders, order_name, paper_key, run_label, selector_rows
from balenas.report.paper_numbers import (
    PAPER_CITATION,
    QUOTED_HEADING,
    PaperTable,
    quoted_cells,
    quoted_display,
    quoted_note,
)

log = logging.getLogger(__name__)

METRICS: tuple[str, ...] = tuple(TABLE1_METRICS)
METRIC_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "cifar10_valid": "CIFAR-10 valid",
        "cifar10_test": "CIFAR-10 test",
        "cifar100_valid": "CIFAR-100 valid",
        "cifar100_test": "CIFAR-100 test",
        "imagenet16_valid": "ImageNet16-120 valid",
        "imagenet16_test": "ImageNet16-120 test",
    }
)
SELECTION_METRIC = "cifar10_valid"
SELECTION_RULE = "highest CIFAR-10 valid (cifar10-valid/x-valid/200) accuracy; ties: lowest seed"
DEFAULT_SEED_DDOF = 1
LOOKUP_COLUMNS: tuple[str, ...] = ("method", "order", "seed", "metric", "value", "arch")


@dataclass(frozen=True)
class RowSpec:
    """One row of Table 1. ``kind``: ``population`` (random baseline), ``runs`` or ``optimum``.

    ``method``/``order`` are the run identity of the tidy lookups; ``paper_key`` the row's key in the
    paper's CSV; ``default_status`` what the row says when it has no runs.
    """

    key: str
    label: str
    kind: str
    method: str = ""
    order: str = ""
    paper_key: str = ""
    default_status: str = "not run"


REFERENCE_ROWS: tuple[RowSpec, RowSpec] = (
    RowSpec("random", "Random baseline", "population", paper_key="random_baseline"),
    RowSpec("optimal", "optimal", "optimum", paper_key="optimal"),
)


def _unregistered_row(key: str) -> RowSpec:
    name = next((key[: -len(s)] for s in ("_1st", "_2nd") if key.endswith(s)), key)
    return RowSpec(key, key, "runs", key, "", key, f"not run: method {name} not registered")


def table1_rows(paper_keys: Iterable[str] = ()) -> tuple[RowSpec, ...]:
    """Table 1's rows, from the registries: random baseline, one row per (method, order) of every method in
    :data:`balenas.methods.METHODS`, the selector rows, optimal; plus every other row of ``paper_keys`` (the
    paper CSV's ``method`` column), which also fixes the order (rows the paper lacks go before optimal)."""
    random, optimal = REFERENCE_ROWS
    methods = [
        RowSpec(paper_key(m, o), run_label(m, o), "runs", m, order_name(o), paper_key(m, o))
        for m in METHODS.keys()
        for o in method_orders(m)
    ]
    selectors = [RowSpec(r.key, r.label, "runs", r.key, "", r.paper_key) for r in selector_rows()]
    ours = [random, *methods, *selectors, optimal]
    paper = [k for k in dict.fromkeys(paper_keys) if k != optimal.paper_key]
    if not paper:
        return tuple(ours)
    by_paper = {r.paper_key: r for r in ours}
    rows = [by_paper.get(k) or _unregistered_row(k) for k in paper]
    extra = [r for r in ours if r.paper_key not in paper and r is not optimal]
    return (*rows, *extra, optimal)


#: The rows without the paper's table (registry rows only).
ROWS: tuple[RowSpec, ...] = table1_rows()
_ORDER_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "": "",
        "nan": "",
        "none": "",
        "1": "1st",
        "1st": "1st",
        "first": "1st",
        "2": "2nd",
        "2nd": "2nd",
        "second": "2nd",
    }
)
_METRIC_ALIASES: Mapping[str, str] = MappingProxyType(
    {**{name: name for name in METRICS}, **{m.key: name for name, m in TABLE1_METRICS.items()}}
)


# --- the tidy lookups ----------------------------------------------------------------------------
def _normalise_order(value: object) -> str:
    text = (
        "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value).strip().lower()
    )
    text = text[:-2] if text.endswith(".0") else text
    if text not in _ORDER_ALIASES:
        raise ValueError(
            f"unknown order {value!r}; use '1st', '2nd' or '' (valid: {', '.join(map(repr, _ORDER_ALIASES))})"
        )
    return _ORDER_ALIASES[text]


def _normalise_metric(value: object) -> str:
    if value not in _METRIC_ALIASES:
        raise ValueError(f"unknown Table-1 metric {value!r}; valid: {', '.join(_METRIC_ALIASES)}")
    return _METRIC_ALIASES[value]  # type: ignore[index]


def normalise_lookups(lookups: pd.DataFrame, rows: Iterable[RowSpec] = ROWS) -> pd.DataFrame:
    """Check the tidy lookup frame and return it with canonical ``order``/``metric`` and a ``row`` column.

    Unknown methods/orders/metrics, non-numeric values and duplicate (run, metric) rows raise ``ValueError``.
    """
    required = ["method", "seed", "metric", "value"]
    missing = [c for c in required if c not in lookups.columns]
    if missing:
        raise ValueError(
            f"Table-1 lookups lack column(s) {missing}; expected {list(LOOKUP_COLUMNS)} (order, arch optional)"
        )
    out = pd.DataFrame(
        {
            "method": lookups["method"].astype(str),
            "order": [_normalise_order(v) for v in lookups.get("order", pd.Series([""] * len(lookups)))],
            "seed": pd.to_numeric(lookups["seed"], errors="raise").astype(np.int64),
            "metric": [_normalise_metric(v) for v in lookups["metric"]],
            "value": pd.to_numeric(lookups["value"], errors="coerce").astype(float),
            "arch": lookups["arch"].fillna("").astype(str) if "arch" in lookups else "",
        },
        index=lookups.index,
    )
    bad_values = lookups["value"].notna() & out["value"].isna()
    if bad_values.any():
        raise ValueError(
            f"non-numeric value(s) in Table-1 lookups: {lookups['value'][bad_values].tolist()[:5]}"
        )
    row_of_run = {(r.method, r.order): r.key for r in rows if r.kind == "runs"}
    runs = list(zip(out["method"], out["order"]))
    unknown = sorted({r for r in runs if r not in row_of_run})
    if unknown:
        raise ValueError(f"unknown (method, order) {unknown}; valid: {sorted(row_of_run)}")
    out["row"] = [row_of_run[r] for r in runs]
    dups = out.duplicated(["row", "seed", "metric"])
    if dups.any():
        raise ValueError(
            f"duplicate (method, order, seed, metric) rows: {out.loc[dups, ['row', 'seed', 'metric']].values.tolist()[:5]}"
        )
    return out.reset_index(drop=True)


# --- reference rows ------------------------------------------------------------------------------
def reference_rows(table: NB201Table) -> pd.DataFrame:
    """Random-baseline (mean +- std over the population) and optimal rows from the benchmark table.

    Columns: ``row, metric, mean, std, n, note``. Partial columns give NaN for the random baseline and a
    labelled maximum over the tabulated rows for the optimum.
    """
    records = []
    for name, metric in TABLE1_METRICS.items():
        try:
            stats = table.population_stats(metric)
            records.append(
                dict(
                    row="random",
                    metric=name,
                    mean=stats.mean,
                    std=stats.std,
                    n=stats.n,
                    note=f"over {stats.n} architectures, ddof={stats.ddof}",
                )
            )
        except IncompleteColumnError:
            records.append(
                dict(
                    row="random",
                    metric=name,
                    mean=np.nan,
                    std=np.nan,
                    n=table.coverage(metric),
                    note=f"partial column: {table.coverage(metric)} of {len(table)} tabulated",
                )
            )
        best = table.optimum(metric, allow_partial=True)
        note = "" if best.complete else f"max over the {best.n} tabulated rows (they include the top 1%)"
        records.append(dict(row="optimal", metric=name, mean=best.value, std=np.nan, n=best.n, note=note))
    return pd.DataFrame(records, columns=["row", "metric", "mean", "std", "n", "note"])


# --- the table -----------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Table1:
    """``summary`` (row x metric), ``best`` (row x metric for the selected run), ``paper`` (quoted)."""

    summary: pd.DataFrame
    best: pd.DataFrame
    paper: pd.DataFrame
    seed_ddof: int
    benchmark_sha256: str
    notes: tuple[str, ...] = ()
    rows: tuple[RowSpec, ...] = ROWS
    paper_missing: str = ""  # "paper numbers not available: <path> not found" (then ``paper`` is empty)
    paper_source: str = ""  # the paper CSV read


def _std(values: np.ndarray, ddof: int) -> float:
    return float(values.std(ddof=ddof)) if len(values) > ddof else float("nan")


def _run_cells(row: RowSpec, runs: pd.DataFrame, status: str, ddof: int) -> list[dict[str, object]]:
    seeds = sorted(runs["seed"].unique().tolist())
    cells = []
    for metric in METRICS:
        values = runs.loc[runs["metric"] == metric, "value"].dropna().to_numpy(dtype=float)
        cells.append(
            dict(
                row=row.key,
                label=row.label,
                status=status,
                metric=metric,
                mean=float(values.mean()) if len(values) else np.nan,
                std=_std(values, ddof),
                n=len(values),
                n_runs=len(seeds),
                note="",
            )
        )
    return cells


def _reference_cells(row: RowSpec, reference: pd.DataFrame | None) -> list[dict[str, object]]:
    if reference is None:
        return _empty_cells(row, "not computed (no benchmark table)")
    ref = reference[reference["row"] == row.key].set_index("metric")
    return [
        dict(
            row=row.key,
            label=row.label,
            status="ok",
            metric=m,
            mean=float(ref.at[m, "mean"]),
            std=float(ref.at[m, "std"]),
            n=int(ref.at[m, "n"]),
            n_runs=0,
            note=str(ref.at[m, "note"]),
        )
        for m in METRICS
    ]


def _empty_cells(row: RowSpec, status: str) -> list[dict[str, object]]:
    return [
        dict(
            row=row.key,
            label=row.label,
            status=status,
            metric=m,
            mean=np.nan,
            std=np.nan,
            n=0,
            n_runs=0,
            note="",
        )
        for m in METRICS
    ]


def _best_run(row: RowSpec, runs: pd.DataFrame) -> list[dict[str, object]]:
    """The run with the highest CIFAR-10 valid (ties: lowest seed) and its six values."""
    wide = runs.pivot(index="seed", columns="metric", values="value").reindex(columns=list(METRICS))
    eligible = wide[SELECTION_METRIC].dropna()
    if eligible.empty:
        note = "no run has a CIFAR-10 valid value" if len(wide) else ""
        return [
            dict(row=row.key, label=row.label, metric=m, value=np.nan, seed=-1, arch="", note=note)
            for m in METRICS
        ]
    seed = int(eligible[eligible == eligible.max()].index.min())
    arch = runs.loc[runs["seed"] == seed, "arch"].iloc[0]
    return [
        dict(
            row=row.key,
            label=row.label,
            metric=m,
            value=float(wide.at[seed, m]),
            seed=seed,
            arch=arch,
            note="",
        )
        for m in METRICS
    ]


PAPER_COLUMNS: tuple[str, ...] = (
    "row", "label", "status", "metric", "paper", "paper_std", "reproduced", "reproduced_std", "difference",
)


def _paper_frame(rows: Iterable[RowSpec], summary: pd.DataFrame, paper: PaperTable | None) -> pd.DataFrame:
    """Per row x metric: the paper's mean/std beside the reproduced ones and the difference of the means."""
    if paper is None or not paper.available:
        return pd.DataFrame(columns=list(PAPER_COLUMNS))
    rows = list(rows)
    key_of_paper = {r.paper_key: r.key for r in rows}
    quoted = paper.frame.assign(row=[key_of_paper[k] for k in paper.frame["method"].astype(str)])
    ok = summary[summary["status"] == "ok"]
    wide = ok.pivot(index="row", columns="metric", values="mean").reindex(columns=list(METRICS))
    stds = ok.pivot(index="row", columns="metric", values="std").reindex(columns=list(METRICS))
    reproduced = pd.concat([wide, stds.add_suffix("_std")], axis=1).reindex([r.key for r in rows])
    reproduced = reproduced.rename_axis("row").reset_index()
    cells = quoted_cells(quoted, reproduced, ["row"], METRICS)
    info = {r.key: r.label for r in rows}
    status = summary.drop_duplicates("row").set_index("row")["status"]
    cells["label"] = cells["row"].map(info)
    cells["status"] = cells["row"].map(status)
    order = {r.key: i for i, r in enumerate(rows)}
    cells = cells.sort_values("row", key=lambda c: c.map(order), kind="stable").reset_index(drop=True)
    return cells[list(PAPER_COLUMNS)]


def build_table1(
    lookups: pd.DataFrame,
    *,
    reference: pd.DataFrame | None = None,
    status: Mapping[str, str] | None = None,
    paper: PaperTable | None = None,
    seed_ddof: int = DEFAULT_SEED_DDOF,
    benchmark_sha256: str = "",
    notes: Iterable[str] = (),
) -> Table1:
    """Assemble Table 1 from tidy ``lookups`` (module docstring) and ``reference`` (:func:`reference_rows`).

    ``status`` labels rows that have no runs (default "not run"); giving a status to a row that has runs
    raises, so a result is never hidden behind a label. ``notes`` are printed first under the table (e.g.
    "benchmark lookups are off: ..." and which configuration fills each row).
    """
    rows = table1_rows(paper.keys() if paper is not None else ())
    status = dict(status or {})
    unknown = sorted(set(status) - {r.key for r in rows})
    if unknown:
        raise ValueError(f"status for unknown row(s) {unknown}; rows: {[r.key for r in rows]}")
    tidy = normalise_lookups(lookups, rows)
    summary: list[dict[str, object]] = []
    best: list[dict[str, object]] = []
    for row in rows:
        runs = tidy[tidy["row"] == row.key]
        if row.kind != "runs":
            summary += _reference_cells(row, reference)
        elif runs.empty:
            summary += _empty_cells(row, status.get(row.key, row.default_status))
            best += _best_run(row, runs)
        elif row.key in status:
            raise ValueError(
                f"row {row.key!r} has {runs['seed'].nunique()} run(s) but status says {status[row.key]!r}"
            )
        else:
            summary += _run_cells(row, runs, "ok", seed_ddof)
            best += _best_run(row, runs)
    log.info("Table 1 built from %d lookups (%d runs)", len(tidy), len(tidy.drop_duplicates(["row", "seed"])))
    summary_frame = pd.DataFrame(summary)
    return Table1(
        summary_frame,
        pd.DataFrame(best),
        _paper_frame(rows, summary_frame, paper),
        seed_ddof,
        benchmark_sha256,
        tuple(notes),
        rows,
        paper.missing if paper is not None else "paper numbers not available: not given",
        str(paper.path) if paper is not None and paper.available else "",
    )


# --- formatting ----------------------------------------------------------------------------------
def format_over_seeds(mean: float, std: float, n: int, n_runs: int, style: str = "md") -> str:
    """A cell over ``n_runs`` seeds of which ``n`` have a value: ``mean ± std``, ``(n/n_runs)`` when some
    seeds have none, ``missing (0/n_runs tabulated)`` when none has (Tables 1 and 2)."""
    if np.isnan(mean):
        return f"missing (0/{n_runs} tabulated)" if n_runs else "missing"
    text = format_mean_std(mean, std, style)
    return text + (f" ({n}/{n_runs})" if n < n_runs else "")


def _fmt_summary(cell: pd.Series, style: str) -> str:
    if cell["status"] != "ok":
        return str(cell["status"])
    if cell["row"] == "random" and np.isnan(cell["mean"]):
        return "n/a (partial column)"
    if cell["row"] == "optimal" and not np.isnan(cell["mean"]):
        return f"{cell['mean']:.2f}" + ("*" if cell["note"] else "")
    # the random baseline has n_runs = 0: no (n/n_runs) count
    return format_over_seeds(cell["mean"], cell["std"], int(cell["n"]), int(cell["n_runs"]), style)


def _fmt_value(value: float) -> str:
    return "missing" if np.isnan(value) else f"{value:.2f}"


def summary_grid(table: Table1, style: str = "md") -> pd.DataFrame:
    """Display grid: Method x six metrics (+ seeds run)."""
    rows = []
    for row in table.rows:
        cells = table.summary[table.summary["row"] == row.key].set_index("metric")
        runs = int(cells["n_runs"].max()) if row.kind == "runs" else 0
        rows.append(
            {
                "Method": row.label,
                **{METRIC_LABELS[m]: _fmt_summary(cells.loc[m], style) for m in METRICS},
                "Seeds": str(runs) if row.kind == "runs" else "",
            }
        )
    return pd.DataFrame(rows)


def best_grid(table: Table1) -> pd.DataFrame:
    """Display grid of the selected run per method row; rows without one say why."""
    rows = []
    for row in (r for r in table.rows if r.kind == "runs"):
        cells = table.best[table.best["row"] == row.key].set_index("metric")
        seed = int(cells["seed"].iloc[0])
        status = table.summary.loc[table.summary["row"] == row.key, "status"].iloc[0]
        why = str(cells["note"].iloc[0]) or str(status)
        values = {METRIC_LABELS[m]: (_fmt_value(cells.at[m, "value"]) if seed >= 0 else why) for m in METRICS}
        rows.append(
            {
                "Method": row.label,
                "Seed": str(seed) if seed >= 0 else "",
                **values,
                "Architecture": cells["arch"].iloc[0],
            }
        )
    return pd.DataFrame(rows)


def paper_grid(table: Table1, style: str = "md") -> pd.DataFrame:
    """Display grid of the quoted block: per metric the paper's value, the reproduced one and their
    difference; a row not computed here says its status in the reproduced cells."""
    cells = table.paper.rename(columns={"label": "Method"})
    texts = {(r.label,): st for r, st in zip(table.rows, _row_status(table)) if st != "ok"}
    return quoted_display(cells, ["Method"], metric_labels=METRIC_LABELS, style=style, reproduced_text=texts)


def _row_status(table: Table1) -> list[str]:
    first = table.summary.drop_duplicates("row").set_index("row")["status"]
    return [str(first.get(r.key, "not run")) for r in table.rows]


def optimal_note(table: Table1) -> str:
    """Where the paper's optimal row differs from this benchmark's optimum (both are shown)."""
    opt = table.paper[(table.paper["row"] == "optimal") & (table.paper["difference"].abs() >= 0.005)]
    if opt.empty:
        return ""
    cells = ", ".join(
        f"{METRIC_LABELS[c.metric]} (paper {c.paper:.2f}, benchmark {c.reproduced:.2f})" for c in opt.itertuples()
    )
    return (f"optimal: the paper's optimal row differs from the benchmark's best architecture in {cells}; "
            "both are shown (the reproduced value is the benchmark's).")


def _notes(table: Table1) -> list[str]:
    return [
        f"Mean ± std over search seeds (std with ddof={table.seed_ddof}); (k/n): only k of n seeds have a "
        "tabulated value; 'missing (0/n tabulated)': the benchmark table holds the value for none of them.",
        "Random baseline: mean ± std over all 15,625 NAS-Bench-201 architectures (ddof=1); n/a for the partial "
        "CIFAR-100 / ImageNet16-120 valid columns.",
        "optimal: best architecture per column; * = maximum over the tabulated rows of a partial column "
        "(which contain the top 1 % by validation accuracy).",
        f"Best single run: {SELECTION_RULE}.",
        f"Benchmark table sha256: {table.benchmark_sha256 or 'not recorded'}.",
        _paper_note(table),
        *([optimal_note(table)] if optimal_note(table) else []),
    ]


def _paper_note(table: Table1) -> str:
    return quoted_note(table.paper_missing, "Table 1", table.paper_source,
                       "mean ± std over the paper's 4 search seeds, '-' where the paper prints none")


def to_markdown(table: Table1) -> str:
    parts = [
        "# Table 1: NAS-Bench-201 (reproduced)",
        "",
        *[f"**{n}**\n" if n.startswith("benchmark lookups are off") else f"{n}\n" for n in table.notes],
        markdown_table(summary_grid(table, "md")),
        "",
        f"## Best single run ({SELECTION_RULE})",
        "",
        markdown_table(best_grid(table)),
        "",
        f"## Reproduced beside the values {QUOTED_HEADING} ({PAPER_CITATION}, Table 1)",
        "",
        table.paper_missing or markdown_table(paper_grid(table, "md")),
        "",
        "Notes:",
        *[f"- {n}" for n in _notes(table)],
        "",
    ]
    return "\n".join(parts)


def to_latex(table: Table1) -> str:
    best = best_grid(table).drop(columns="Architecture")
    parts = [
        *[f"% {n.replace('±', '+-')}" for n in table.notes],
        latex_table(summary_grid(table, "tex"), "Table 1: NAS-Bench-201 (reproduced)"),
        "",
        latex_table(best, f"Best single run ({SELECTION_RULE})"),
        "",
        (f"% {table.paper_missing}" if table.paper_missing else
         latex_table(paper_grid(table, "tex"), f"Reproduced beside the values {QUOTED_HEADING} ({PAPER_CITATION})")),
        "",
        *[f"% {n.replace('±', '+-')}" for n in _notes(table)],
        "",
    ]
    return "\n".join(parts)


def to_csv_frame(table: Table1) -> pd.DataFrame:
    """One long numeric frame: ``block`` = reproduced / best_run / quoted_from_paper (/ note: ``note`` text)."""
    ours = table.summary.assign(block="reproduced", seed_ddof=table.seed_ddof)
    best = table.best.rename(columns={"value": "mean"}).assign(block="best_run")
    paper = table.paper.rename(columns={"paper": "mean", "paper_std": "std"}).assign(
        block="quoted_from_paper", source=table.paper_source
    )
    notes = pd.DataFrame({"block": "note", "note": [*table.notes, *([table.paper_missing] if table.paper_missing else [])]})
    cols = [
        "block",
        "row",
        "label",
        "metric",
        "status",
        "mean",
        "std",
        "n",
        "n_runs",
        "seed_ddof",
        "seed",
        "arch",
        "reproduced",
        "reproduced_std",
        "difference",
        "source",
        "note",
    ]
    blocks = [ours, best, paper] + ([notes] if len(notes) else [])
    return pd.concat(blocks, ignore_index=True).reindex(columns=cols)


def to_csv(table: Table1, path: str | Path) -> Path:
    write_table(to_csv_frame(table), path)
    return Path(path)


def write_table1(table: Table1, csv: str | Path, md: str | Path, tex: str | Path) -> tuple[Path, Path, Path]:
    """Write the CSV, Markdown and LaTeX forms (each atomically)."""
    return to_csv(table, csv), write_text(md, to_markdown(table)), write_text(tex, to_latex(table))
