"""Benchmark accuracy of the argmax architecture per search epoch: mean and band over seeds, per method.

Input: one row per (search run, epoch)::

    method, order, seed, epoch, genotype, <metric columns of balenas.report.table1.METRICS>

(the ``epochs.csv`` files of the lookup stage, concatenated; NaN where the benchmark holds no value). The
curves use the four columns the NAS-Bench-201 table fills for every architecture; the partial
CIFAR-100 / ImageNet16-120 valid columns would be averaged over a biased handful of epochs, so they are left
out.
"""

from __future__ import annotations

from collections.abc import Mapping

from matplotlib.ticker import MaxNLocator
import numpy as np
import pandas as pd

from balenas.report.io import pyplot
from balenas.report.search import run_label
from balenas.report.table1 import METRIC_LABELS

plt = pyplot()  # Agg; imported here, not where the workflow plans

CURVE_METRICS: tuple[str, ...] = ("cifar10_valid", "cifar10_test", "cifar100_test", "imagenet16_test")


def curve_stats(epochs: pd.DataFrame, metrics: tuple[str, ...] = CURVE_METRICS) -> pd.DataFrame:
    """Per (method, order, epoch, metric): mean, sample std, min, max over seeds and the seed count ``n``."""
    cols = ["label", "method", "order", "epoch", "metric", "mean", "std", "min", "max", "n"]
    if epochs.empty:
        return pd.DataFrame(columns=cols)
    long = epochs.melt(
        id_vars=["method", "order", "seed", "epoch"], value_vars=list(metrics), var_name="metric"
    )
    stats = (
        long.groupby(["method", "order", "epoch", "metric"], sort=True)["value"]
        .agg(mean="mean", std="std", min="min", max="max", n="count")
        .reset_index()
    )
    stats["label"] = [run_label(m, o) for m, o in zip(stats["method"], stats["order"])]
    return stats[cols]


def curve_figure(
    epochs: pd.DataFrame, title: str, reference: Mapping[str, tuple[float, float]] | None = None
) -> plt.Figure:
    """2x2 panels (one per curve metric): mean over seeds with a min-max band, one line per method/order.

    ``reference`` maps a metric to (random-baseline mean, optimum), drawn as dotted / dashed lines.
    """
    stats = curve_stats(epochs)
    labels = [run_label(m, o) for m, o in zip(epochs["method"], epochs["order"])]
    seeds = epochs.assign(label=labels).groupby("label")["seed"].nunique() if len(epochs) else pd.Series()
    fig, axes = plt.subplots(2, 2, figsize=(9.0, 6.4), sharex=True)
    for ax, metric in zip(axes.flat, CURVE_METRICS):
        s = stats[stats["metric"] == metric]
        for label, g in s.groupby("label", sort=True):
            if g["n"].sum() == 0:
                continue
            (line,) = ax.plot(g["epoch"], g["mean"], marker="o", ms=3, label=f"{label} (n={seeds[label]} seeds)")
            ax.fill_between(g["epoch"], g["min"], g["max"], alpha=0.2, color=line.get_color())
        if reference and metric in reference:
            mean, best = reference[metric]
            if np.isfinite(mean):
                ax.axhline(mean, color="grey", ls=":", lw=1, label="random (population mean)")
            if np.isfinite(best):
                ax.axhline(best, color="black", ls="--", lw=1, label="optimal")
        ax.set_title(f"{METRIC_LABELS[metric]} (%)", fontsize=9)
        ax.grid(alpha=0.3)
        if not s["n"].sum():
            ax.text(0.5, 0.5, "no tabulated value", ha="center", va="center", transform=ax.transAxes)
    for ax in axes[-1]:
        ax.set_xlabel("search epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 3), fontsize=7)
    fig.suptitle(f"{title}\nline: mean over seeds, band: min-max over seeds", fontsize=10)
    fig.tight_layout(rect=(0, 0.08, 1, 0.96))
    return fig
