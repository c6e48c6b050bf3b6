"""Figure 1: NAS-Bench-101 validation / test error (and regret) of the derived architecture per search epoch
on the NAS-Bench-1Shot1 spaces; one line per method and order, mean and min-max band over seeds.

Input: the per-epoch histories of the search runs of one space (``method, order, seed, epoch, genotype``
with the space's canonical genotype text). :func:`epoch_errors` looks every genotype up in the compact
NAS-Bench-101 table (``table=None``: lookups are off, with the reason in every row's ``lookup`` column)
and gives the per-epoch CSV; :func:`fig1_figure` draws it and says on the figure when lookups are off.
Regret is the error minus the space's best error (the reference's constants, ``SpaceSpec``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from balenas.benchmarks.nb101 import NB101Table
from balenas.report.io import pyplot
from balenas.report.search import run_label
from balenas.spaces.nb1shot1 import SPACE_CLASSES

plt = pyplot()  # Agg; imported here, not where the workflow plans

FIG1_COLUMNS: tuple[str, ...] = (
    "method", "order", "seed", "epoch", "genotype", "nb101_hash",
    "valid_error", "test_error", "valid_regret", "test_regret", "lookup",
)
PANELS: tuple[tuple[str, str], ...] = (
    ("valid_error", "validation error"),
    ("test_error", "test error"),
    ("valid_regret", "validation regret"),
    ("test_regret", "test regret"),
)


def epoch_errors(histories: pd.DataFrame, space_name: str, table: NB101Table | None, off_reason: str = "") -> pd.DataFrame:
    """One row per (run, epoch): the genotype's NB-101 hash, errors and regrets (NaN + reason when absent)."""
    space = SPACE_CLASSES[space_name]()
    missing = [c for c in ("method", "order", "seed", "epoch", "genotype") if c not in histories.columns]
    if missing:
        raise ValueError(f"search histories lack columns {missing}")
    rows = []
    for rec in histories.itertuples(index=False):
        genotype = space.parse(rec.genotype)
        key = space.nb101_hash(genotype)
        row = dict(method=rec.method, order=int(rec.order), seed=int(rec.seed), epoch=int(rec.epoch),
                   genotype=rec.genotype, nb101_hash=key or "")
        if table is None:
            valid = test = float("nan")
            status = f"off: {off_reason or 'no NAS-Bench-101 table configured'}"
        else:
            valid, test = table.lookup(key or "", "valid_error"), table.lookup(key or "", "test_error")
            status = "ok" if np.isfinite(valid) else "arch not in table"
        row.update(
            valid_error=valid, test_error=test,
            valid_regret=valid - space.spec.valid_min_error, test_regret=test - space.spec.test_min_error,
            lookup=status,
        )
        rows.append(row)
    return pd.DataFrame(rows, columns=list(FIG1_COLUMNS))


def fig1_figure(errors: pd.DataFrame, space_name: str) -> plt.Figure:
    """2x2 panels (valid/test error, valid/test regret), one line per method and order."""
    fig, axes = plt.subplots(2, 2, figsize=(9.0, 6.4), sharex=True)
    off = errors["lookup"].str.startswith("off") if len(errors) else pd.Series(dtype=bool)
    labelled = errors.assign(label=[run_label(m, o) for m, o in zip(errors["method"], errors["order"])])
    for ax, (col, title) in zip(axes.flat, PANELS):
        for label, g in labelled.groupby("label", sort=True):
            s = g.groupby("epoch")[col].agg(["mean", "min", "max", "count"]).reset_index()
            if s["count"].sum() == 0:
                continue
            n = g["seed"].nunique()
            (line,) = ax.plot(s["epoch"], s["mean"], marker="o", ms=3, label=f"{label} (n={n} seeds)")
            ax.fill_between(s["epoch"], s["min"], s["max"], alpha=0.2, color=line.get_color())
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("search epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if len(errors) == 0 or off.all():
        reason = errors["lookup"].iloc[0] if len(errors) else "no search histories"
        fig.text(0.5, 0.5, f"NAS-Bench-101 lookups are {reason}", ha="center", va="center", fontsize=11, color="firebrick")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 4), fontsize=7)
    fig.suptitle(f"NAS-Bench-1Shot1 {space_name}: NAS-Bench-101 error of the derived architecture\n"
                 "line: mean over seeds, band: min-max over seeds", fontsize=10)
    fig.tight_layout(rect=(0, 0.08, 1, 0.95))
    return fig


def write_fig1(errors: pd.DataFrame, space_name: str, png: str | Path, pdf: str | Path, csv: str | Path) -> None:
    """The per-epoch CSV and the figure (PNG and PDF)."""
    errors.to_csv(csv, index=False, float_format="%.6f", lineterminator="\n")
    fig = fig1_figure(errors, space_name)
    fig.savefig(png, dpi=150)
    fig.savefig(pdf, metadata={"CreationDate": None, "ModDate": None})
    plt.close(fig)
