"""The BaLeNAS paper's own numbers, read from ``../shared/paper/`` (config ``paths.paper``), and the generic
"quoted from the paper" block that sets them beside the reproduced values with the difference.

Paper: M. Zhang et al., "BaLeNAS: Differentiable Architecture Search via the Bayesian Learning Rule", CVPR
2022, arXiv:2111.13204. The CSVs (see the folder's README) hold, per row, ``<metric>`` (the mean) and
``<metric>_std`` (empty when the paper prints none). They are data for the report, never a substitute for a
computed value. A missing folder or file is not an error (the tables say "paper numbers not available:
<path> not found"); a malformed file is, with a message naming the file.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

PAPER_CITATION = "Zhang et al., BaLeNAS, CVPR 2022 (arXiv:2111.13204)"
QUOTED_HEADING = "quoted from the paper"
NB201_METRICS: tuple[str, ...] = (
    "cifar10_valid", "cifar10_test", "cifar100_valid", "cifar100_test", "imagenet16_valid", "imagenet16_test",
)


@dataclass(frozen=True)
class PaperSpec:
    """One of the paper's tables: its file, key columns, numeric metrics (each with an optional ``_std``
    column listed in ``stds``) and free-text columns."""

    name: str
    file: str
    keys: tuple[str, ...]
    metrics: tuple[str, ...]
    stds: tuple[str, ...]
    text: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.keys, *[c for m in self.metrics for c in (m, f"{m}_std") if c in self.stds or c == m],
                *self.text)


PAPER_TABLES: Mapping[str, PaperSpec] = MappingProxyType(
    {
        "table1": PaperSpec("table1", "table1_nb201.csv", ("method",), NB201_METRICS,
                            tuple(f"{m}_std" for m in NB201_METRICS)),
        "table2": PaperSpec("table2", "table2_nb201.csv", ("method", "sample_size"),
                            ("cifar10_test", "cifar100_test", "imagenet16_test"),
                            ("cifar10_test_std", "cifar100_test_std", "imagenet16_test_std")),
        "table3": PaperSpec("table3", "table3_darts.csv", ("method",),
                            ("cifar10_test_error", "cifar100_test_error", "imagenet_top1_error",
                             "imagenet_top5_error", "params_m", "flops_m", "search_cost_gpu_days"),
                            ("cifar10_test_error_std",), ("optimization",)),
    }
)


class PaperNumbersError(ValueError):
    """A malformed paper CSV; the message names the file and what is wrong."""


@dataclass(frozen=True, eq=False)
class PaperTable:
    """One paper table: ``frame`` (wide, the file's columns, numbers as float) or, when the file is absent,
    ``None`` and ``missing`` = "paper numbers not available: <path> not found"."""

    spec: PaperSpec
    path: Path
    frame: pd.DataFrame | None
    missing: str = ""

    @property
    def available(self) -> bool:
        return self.frame is not None

    def keys(self) -> list[str]:
        """The first key column's values in file order (Table 1: the method rows)."""
        return [] if self.frame is None else self.frame[self.spec.keys[0]].astype(str).tolist()


def _parse(spec: PaperSpec, path: Path) -> pd.DataFrame:
    try:
        with path.open(newline="") as handle:
            records = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise PaperNumbersError(f"{path}: cannot read the paper's {spec.name} CSV: {err}") from err
    if not records:
        raise PaperNumbersError(f"{path}: empty file; expected the header {list(spec.columns)}")
    header, body = records[0], [r for r in records[1:] if r]
    got, want = list(header), list(spec.columns)
    if sorted(got) != sorted(want):
        raise PaperNumbersError(
            f"{path}: columns {got} do not match the paper's {spec.name}: missing "
            f"{sorted(set(want) - set(got))}, unknown {sorted(set(got) - set(want))}"
        )
    ragged = [i + 2 for i, r in enumerate(body) if len(r) != len(header)]
    if ragged:
        raise PaperNumbersError(f"{path}: line(s) {ragged} do not have the header's {len(header)} columns")
    raw = pd.DataFrame(body, columns=header, dtype=str)
    out = raw[want].copy()
    for key in spec.keys:
        if (out[key].str.strip() == "").any():
            raise PaperNumbersError(f"{path}: empty {key!r} cell(s) in rows {list(np.flatnonzero(out[key] == ''))}")
    for col in [c for c in want if c not in spec.keys and c not in spec.text]:
        text = out[col].str.strip()
        values = pd.to_numeric(text.replace("", np.nan), errors="coerce")
        bad = text.ne("") & values.isna()
        if bad.any():
            raise PaperNumbersError(f"{path}: column {col!r}: not a number: {text[bad].tolist()[:5]}")
        out[col] = values.astype(float)
    dups = out.duplicated(list(spec.keys))
    if dups.any():
        raise PaperNumbersError(f"{path}: duplicate {list(spec.keys)} rows: {out.loc[dups, list(spec.keys)].values.tolist()}")
    return out.reset_index(drop=True)


def load_paper_table(folder: str | Path | None, name: str) -> PaperTable:
    """The paper's table ``name`` (``table1``/``table2``/``table3``) from ``folder``; absent -> not available."""
    spec = PAPER_TABLES[name]
    if folder is None:
        return PaperTable(spec, Path(spec.file), None, "paper numbers not available: paths.paper not set")
    path = Path(folder) / spec.file
    if not path.exists():
        missing = path if Path(folder).is_dir() else Path(folder)
        return PaperTable(spec, path, None, f"paper numbers not available: {missing} not found")
    return PaperTable(spec, path, _parse(spec, path))


def paper_files(folder: str | Path | None) -> list[str]:
    """The paper CSVs present in ``folder`` (a rule's inputs, so an edited file reruns the report)."""
    if folder is None:
        return []
    return [str(Path(folder) / s.file) for s in PAPER_TABLES.values() if (Path(folder) / s.file).exists()]


def quoted_note(missing: str, table: str, source: str, what: str) -> str:
    """The note under a table's quoted block: ``missing`` when the paper numbers are not available, else
    where they were read, ``what`` they are, and what the difference column means."""
    if missing:
        return missing
    return (f"{QUOTED_HEADING.capitalize()} ({PAPER_CITATION}, {table}; read from {source}): {what}; "
            "'reproduced - paper' is the difference of the means; '-' where either is missing.")


# --- the quoted block ----------------------------------------------------------------------------
QUOTED_COLUMNS: tuple[str, ...] = ("metric", "paper", "paper_std", "reproduced", "reproduced_std", "difference")


def quoted_cells(
    paper: pd.DataFrame,
    reproduced: pd.DataFrame,
    key_columns: Sequence[str],
    metric_columns: Sequence[str],
) -> pd.DataFrame:
    """Long numeric frame, one row per (key, metric): paper mean/std, reproduced mean/std, and
    ``difference`` = reproduced mean minus paper mean (NaN where either is missing).

    Both inputs are wide: ``key_columns``, then per metric ``<metric>`` (mean) and optionally
    ``<metric>_std``. Rows keep the paper's order, then the reproduced rows the paper does not have.
    """
    keys = list(key_columns)
    for what, frame in (("paper", paper), ("reproduced", reproduced)):
        absent = [c for c in (*keys, *metric_columns) if c not in frame.columns]
        if absent:
            raise ValueError(f"quoted block: the {what} frame lacks column(s) {absent}")

    def long(frame: pd.DataFrame, prefix: str) -> pd.DataFrame:
        parts = []
        for m in metric_columns:
            std = frame[f"{m}_std"] if f"{m}_std" in frame else np.nan
            parts.append(frame[keys].assign(metric=m, **{prefix: frame[m].astype(float), f"{prefix}_std": std}))
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[*keys, "metric"])

    p, r = long(paper, "paper"), long(reproduced, "reproduced")
    key_order = list(dict.fromkeys([*map(tuple, paper[keys].values.tolist()),
                                    *map(tuple, reproduced[keys].values.tolist())]))
    merged = p.merge(r, on=[*keys, "metric"], how="outer")
    merged["_row"] = [key_order.index(tuple(v)) for v in merged[keys].values.tolist()]
    merged["_col"] = [list(metric_columns).index(m) for m in merged["metric"]]
    merged = merged.sort_values(["_row", "_col"]).drop(columns=["_row", "_col"]).reset_index(drop=True)
    for col in ("paper", "paper_std", "reproduced", "reproduced_std"):
        merged[col] = pd.to_numeric(merged[col], errors="coerce").astype(float)
    merged["difference"] = merged["reproduced"] - merged["paper"]
    return merged[[*keys, *QUOTED_COLUMNS]]


def format_quoted(value: float, std: float, style: str = "md", missing: str = "-") -> str:
    """``91.52 ± 0.04`` (``\\pm`` in TeX); the std only when the paper prints one; ``missing`` when none."""
    from balenas.report.io import PM  # here: the workflow reads paper_files at parse time, without matplotlib

    if value is None or np.isnan(value):
        return missing
    return f"{value:.2f}" + (f"{PM[style]}{std:.2f}" if std is not None and not np.isnan(std) else "")


def format_difference(value: float) -> str:
    """``+0.42`` / ``-1.00``; a difference that rounds to zero is ``+0.00`` (never ``-0.00``); ``-`` if none."""
    return "-" if value is None or np.isnan(value) else f"{round(float(value), 2) + 0.0:+.2f}"


def quoted_block(
    paper: pd.DataFrame,
    reproduced: pd.DataFrame,
    key_columns: Sequence[str],
    metric_columns: Sequence[str],
    *,
    metric_labels: Mapping[str, str] | None = None,
    style: str = "md",
    reproduced_text: Mapping[tuple[object, ...], str] | None = None,
) -> pd.DataFrame:
    """Display frame: the key columns, then per metric ``<label>: paper``, ``<label>: reproduced`` and
    ``<label>: reproduced - paper`` (difference of the means). ``reproduced_text`` replaces the reproduced
    cells of a key (e.g. ``"not run: ..."``); a missing paper value shows ``-``."""
    cells = quoted_cells(paper, reproduced, key_columns, metric_columns)
    return quoted_display(cells, key_columns, metric_labels=metric_labels, style=style,
                          reproduced_text=reproduced_text)


def quoted_display(
    cells: pd.DataFrame,
    key_columns: Sequence[str],
    *,
    metric_labels: Mapping[str, str] | None = None,
    style: str = "md",
    reproduced_text: Mapping[tuple[object, ...], str] | None = None,
) -> pd.DataFrame:
    """:func:`quoted_block`'s display frame from :func:`quoted_cells`' long frame (rows in its order)."""
    labels = metric_labels or {}
    texts = reproduced_text or {}
    keys = list(key_columns)
    rows = []
    for key, g in cells.groupby(keys, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        row: dict[str, object] = dict(zip(keys, key))
        for c in g.itertuples(index=False):
            label = labels.get(c.metric, c.metric)
            row[f"{label}: paper"] = format_quoted(c.paper, c.paper_std, style)
            row[f"{label}: reproduced"] = texts.get(key) or format_quoted(c.reproduced, c.reproduced_std, style,
                                                                          missing="missing")
            row[f"{label}: reproduced - paper"] = format_difference(c.difference)
        rows.append(row)
    return pd.DataFrame(rows)
