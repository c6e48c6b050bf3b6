"""Per-epoch curves over seeds: one line per method (mean), a min-max band, the seed count in the legend."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd

from balenas.report.io import pyplot

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def curve_figure(history: pd.DataFrame, column: str, ylabel: str, title: str, note: str | None = None,
                 empty_message: str | None = None,
                 style: Callable[[str], dict[str, Any]] | None = None) -> Figure:
    """Mean over seeds with a min-max band, one line per ``label``; seed count in the legend.

    Epochs where ``column`` is missing (e.g. the Hessian is tracked every k epochs) are left out rather
    than drawn as gaps; the seed count is that of runs with at least one value. Without any value the
    axes say ``empty_message`` (default: ``no data for <column>``) instead of being silently empty.
    ``note`` is written small under the plot (e.g. how often a quantity was measured); ``style(label)``
    gives extra ``plot`` keywords per line (e.g. a line style per gradient order).
    """
    fig, ax = pyplot().subplots(figsize=(5.0, 3.4))
    if column in history:
        for label, g in history.dropna(subset=[column]).groupby("label", sort=True):
            stats = g.groupby("epoch")[column].agg(["mean", "min", "max"])
            n = g["seed"].nunique()
            kw: dict[str, Any] = {"marker": "o", "ms": 3, **(style(str(label)) if style else {})}
            legend = f"{label} (n={n} seed{'' if n == 1 else 's'})"
            (line,) = ax.plot(stats.index, stats["mean"], label=legend, **kw)
            ax.fill_between(stats.index, stats["min"], stats["max"], alpha=0.2, color=line.get_color())
    ax.set_xlabel("search epoch")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend(fontsize=7)
        band = "line: mean over seeds; band: min-max over seeds"
        note = f"{band}; {note}" if note else band
    else:
        ax.text(0.5, 0.5, empty_message or f"no data for {column}", ha="center", va="center",
                transform=ax.transAxes, fontsize=9)
    if note:
        fig.text(0.01, -0.02, note, fontsize=6, ha="left", va="top")
    return fig
