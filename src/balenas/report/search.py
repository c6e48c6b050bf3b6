"""Search-stage reports: a per-run summary table, search curves (mean and band over seeds) and the
paper's Figures 2 and 3 (skip connections and Hessian dominant eigenvalue, :mod:`balenas.report.dynamics`)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from balenas.report.curves import curve_figure
from balenas.report.dynamics import figure_paths, write_dynamics_figures
from balenas.report.io import mean_std, save_figure, write_table
from balenas.report.labels import RUN_KEYS, run_label  # noqa: F401 (run_label: re-exported)
from balenas.spaces import SPACES, get_space


def load_runs(metrics_files: Sequence[str | Path], history_files: Sequence[str | Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per search run (from metrics.json) and the concatenated per-epoch histories."""
    runs, histories = [], []
    for mfile, hfile in zip(metrics_files, history_files, strict=True):
        m = json.loads(Path(mfile).read_text())
        c = m["config"]
        key = {k: c[k] for k in RUN_KEYS}
        final = m.get("final_epoch", {})
        h = pd.read_csv(hfile)
        tracked = h["hessian_max_eig"].dropna() if "hessian_max_eig" in h else pd.Series(dtype=float)
        runs.append({**key, "genotype": m["genotype"], "skip_count": final.get("skip_count"),
                     "train_acc": final.get("train_acc"), "valid_acc": final.get("valid_acc"),
                     "hessian_max_eig": float(tracked.iloc[-1]) if len(tracked) else None,
                     "hessian_every": c.get("hessian_every", 0),
                     "epochs": c["epochs"], "device": m["environment"]["device"]})
        for k, v in key.items():
            h[k] = v
        histories.append(h)
    runs_df = pd.DataFrame(runs)
    if not runs_df.empty:
        runs_df["label"] = [run_label(m, o) for m, o in zip(runs_df["method"], runs_df["order"])]
    hist_df = pd.concat(histories, ignore_index=True) if histories else pd.DataFrame()
    if not hist_df.empty:
        hist_df["label"] = [run_label(m, o) for m, o in zip(hist_df["method"], hist_df["order"])]
    return runs_df, hist_df


def summary_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (space, dataset, method, order): seeds, supernet accuracies, skip counts, the last tracked
    Hessian dominant eigenvalue (a column only when some run tracked it), genotypes. No timings: they
    live in each run's timings.json and Snakemake's benchmark files, so this table is deterministic."""
    rows = []
    for (space, dataset, label), g in runs.groupby(["space", "dataset", "label"], sort=True):
        g = g.sort_values("seed")
        rows.append({
            "space": space,
            "dataset": dataset,
            "method": label,
            "seeds": len(g),
            "supernet valid acc (%)": mean_std(g["valid_acc"]),
            "supernet train acc (%)": mean_std(g["train_acc"]),
            "skip_connect edges": mean_std(g["skip_count"].astype(float)),
            "Hessian max eig (last tracked)": mean_std(g["hessian_max_eig"].astype(float), digits=3),
            "distinct genotypes": g["genotype"].nunique(),
        })
    table = pd.DataFrame(rows)
    if "hessian_max_eig" not in runs or runs["hessian_max_eig"].isna().all():
        table = table.drop(columns="Hessian max eig (last tracked)", errors="ignore")
    return table


def genotype_table(runs: pd.DataFrame) -> pd.DataFrame:
    cols = ["space", "dataset", "label", "seed", "genotype", "skip_count", "valid_acc"]
    return runs.sort_values(["space", "dataset", "label", "seed"])[cols].rename(columns={"label": "method"})


CURVES: tuple[tuple[str, str], ...] = (
    ("valid_acc", "supernet valid acc (%)"),
    ("train_acc", "supernet train acc (%)"),
)
TABLES: dict[str, tuple[str, ...]] = {"search_summary": ("csv", "md", "tex"), "search_genotypes": ("csv", "md")}


def curve_paths(figures_dir: str | Path, space: str, dataset: str, column: str) -> tuple[Path, Path]:
    stem = Path(figures_dir) / f"search_curves_{space}_{dataset}_{column}"
    return stem.with_suffix(".png"), stem.with_suffix(".pdf")


def search_report_paths(tables_dir: str | Path, figures_dir: str | Path,
                        pairs: Iterable[tuple[str, str]]) -> list[Path]:
    """Every file :func:`write_search_report` writes for runs of these (space, dataset) pairs: tables
    first, figures last (the ``report`` rule's outputs)."""
    out = [Path(tables_dir) / f"{name}.{ext}" for name, exts in TABLES.items() for ext in exts]
    for space, dataset in pairs:
        out += [p for col, _ in CURVES for p in curve_paths(figures_dir, space, dataset, col)]
        out += [p for pair in figure_paths(figures_dir, space, dataset).values() for p in pair]
    return out


def write_search_report(metrics_files: Sequence[str | Path], history_files: Sequence[str | Path],
                        tables_dir: str | Path, figures_dir: str | Path) -> dict[str, Path]:
    """Summary and genotype tables, accuracy curves and Figures 2-3; returns what was written."""
    tables_dir, figures_dir = Path(tables_dir), Path(figures_dir)
    runs, hist = load_runs(metrics_files, history_files)
    out: dict[str, Path] = {}
    write_table(summary_table(runs), tables_dir / "search_summary.csv", tables_dir / "search_summary.md",
                tables_dir / "search_summary.tex", title="Search summary (supernet, final epoch)",
                note="mean ± std over seeds (sample std; n/a for one seed); accuracies are the supernet's on "
                     "the search data.")
    write_table(genotype_table(runs), tables_dir / "search_genotypes.csv", tables_dir / "search_genotypes.md",
                title="Derived genotypes (argmax of the mean) per run")
    out["summary"] = tables_dir / "search_summary.csv"
    sizes = {}
    for name in hist["space"].unique() if not hist.empty else []:
        if name in SPACES:
            space = get_space(name)
            sizes[name] = space.cell_sizes()[space.skip_cell]
    out.update(write_dynamics_figures(hist, runs, figures_dir, sizes))
    for (space, dataset), h in hist.groupby(["space", "dataset"]):
        for col, ylabel in CURVES:
            png, pdf = curve_paths(figures_dir, space, dataset, col)
            save_figure(curve_figure(h, col, ylabel, f"{space} / {dataset}: {ylabel}"), png, pdf)
            out[png.stem] = png
    return out
