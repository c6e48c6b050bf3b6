"""Search-stage reports: a per-run summary table and search curves (mean and band over seeds)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from balenas.methods import METHODS
from balenas.report.io import mean_std, save_figure, write_table

RUN_KEYS = ["space", "dataset", "method", "order", "seed"]


def run_label(method: str, order: int) -> str:
    """``DARTS (1st)``, ``BaLeNAS (2nd)``: the paper's row names."""
    suffix = {1: "1st", 2: "2nd"}.get(int(order), f"order {order}")
    label = METHODS.get(method).label if method in METHODS else method
    return f"{label} ({suffix})"


def load_runs(metrics_files: Sequence[str | Path], history_files: Sequence[str | Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per search run (from metrics.json) and the concatenated per-epoch histories."""
    runs, histories = [], []
    for mfile, hfile in zip(metrics_files, history_files, strict=True):
        m = json.loads(Path(mfile).read_text())
        c = m["config"]
        key = {"space": c["space"], "dataset": c["dataset"], "method": c["method"], "order": c["order"],
               "seed": c["seed"]}
        final = m.get("final_epoch", {})
        runs.append({**key, "genotype": m["genotype"], "skip_count": final.get("skip_count"),
                     "train_acc": final.get("train_acc"), "valid_acc": final.get("valid_acc"),
                     "epochs": c["epochs"], "seconds": m.get("seconds"), "device": m["environment"]["device"]})
        h = pd.read_csv(hfile)
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
    """Per (space, dataset, method, order): seeds, supernet accuracies and skip counts, genotypes."""
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
            "distinct genotypes": g["genotype"].nunique(),
            "search minutes / run": f"{g['seconds'].mean() / 60:.2f}",
        })
    return pd.DataFrame(rows)


def genotype_table(runs: pd.DataFrame) -> pd.DataFrame:
    cols = ["space", "dataset", "label", "seed", "genotype", "skip_count", "valid_acc"]
    return runs.sort_values(["space", "dataset", "label", "seed"])[cols].rename(columns={"label": "method"})


def curve_figure(history: pd.DataFrame, column: str, ylabel: str, title: str) -> plt.Figure:
    """Mean over seeds with a min-max band, one line per method; seed count in the legend."""
    fig, ax = plt.subplots(figsize=(5.0, 3.4))
    for label, g in history.groupby("label", sort=True):
        if column not in g or g[column].isna().all():
            continue
        stats = g.groupby("epoch")[column].agg(["mean", "min", "max", "count"])
        n = g["seed"].nunique()
        ax.plot(stats.index, stats["mean"], marker="o", ms=3, label=f"{label} (n={n} seeds)")
        ax.fill_between(stats.index, stats["min"], stats["max"], alpha=0.2)
    ax.set_xlabel("search epoch")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, f"no data for {column}", ha="center", va="center", transform=ax.transAxes)
    return fig


def write_search_report(metrics_files: Sequence[str | Path], history_files: Sequence[str | Path],
                        tables_dir: str | Path, figures_dir: str | Path) -> dict[str, Path]:
    """Summary and genotype tables plus accuracy/skip curves; returns what was written."""
    tables_dir, figures_dir = Path(tables_dir), Path(figures_dir)
    runs, hist = load_runs(metrics_files, history_files)
    out: dict[str, Path] = {}
    write_table(summary_table(runs), tables_dir / "search_summary.csv", tables_dir / "search_summary.md",
                tables_dir / "search_summary.tex", title="Search summary (supernet, final epoch)",
                note="mean ± std over seeds (sample std); accuracies are the supernet's on the search data.")
    write_table(genotype_table(runs), tables_dir / "search_genotypes.csv", tables_dir / "search_genotypes.md",
                title="Derived genotypes (argmax of the mean) per run")
    out["summary"] = tables_dir / "search_summary.csv"
    for (space, dataset), h in hist.groupby(["space", "dataset"]):
        stem = f"search_curves_{space}_{dataset}"
        for col, ylabel in (("valid_acc", "supernet valid acc (%)"), ("train_acc", "supernet train acc (%)")):
            f = curve_figure(h, col, ylabel, f"{space} / {dataset}: {ylabel}")
            save_figure(f, figures_dir / f"{stem}_{col}.png", figures_dir / f"{stem}_{col}.pdf")
            out[f"{stem}_{col}"] = figures_dir / f"{stem}_{col}.png"
    return out
