"""Search dynamics: the paper's Figure 2 (skip connections) and Figure 3 (Hessian dominant eigenvalue).

Both plot one curve per method and gradient order (``DARTS (1st)``, ``BaLeNAS (2nd)``, ...) against the
search epoch: the mean over seeds with a min-max band, the number of seeds in the legend. They read the
per-epoch search history (``skip_count`` of the argmax genotype of the mean, ``hessian_max_eig`` at the
mean alpha, see :mod:`balenas.analysis.tracking`). When no run tracked the Hessian
(``search.hessian_every: 0``) Figure 3 says so in the plot instead of being silently empty.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from balenas.report.io import save_figure
from balenas.report.curves import curve_figure
from balenas.report.labels import label_style

FIGURE_STEMS = {
    "skip": "fig2_skip_connections",
    "hessian": "fig3_hessian_eigenvalue",
}


def figure_paths(figures_dir: str | Path, space: str, dataset: str) -> dict[str, tuple[Path, Path]]:
    """``{"skip": (png, pdf), "hessian": (png, pdf)}`` for one space and dataset."""
    d = Path(figures_dir)
    return {key: (d / f"{stem}_{space}_{dataset}.png", d / f"{stem}_{space}_{dataset}.pdf")
            for key, stem in FIGURE_STEMS.items()}


def hessian_tracked(history: pd.DataFrame) -> bool:
    return "hessian_max_eig" in history and bool(history["hessian_max_eig"].notna().any())


def skip_figure(history: pd.DataFrame, space: str, dataset: str, num_edges: int | None = None):
    title = f"Fig. 2: skip connections in the derived cell ({space} / {dataset})"
    ylabel = "skip_connect edges" + (f" (of {num_edges})" if num_edges else "")
    return curve_figure(history, "skip_count", ylabel, title, style=label_style)


def hessian_figure(history: pd.DataFrame, space: str, dataset: str, every: Iterable[int] = ()):
    """Dominant (largest algebraic) eigenvalue of the validation-loss Hessian w.r.t. alpha at its mean."""
    title = f"Fig. 3: dominant eigenvalue of the arch. Hessian ({space} / {dataset})"
    ylabel = r"max eigenvalue of $\nabla^2_\alpha L_{val}$"
    if hessian_tracked(history):
        every = sorted(set(every))
        note = f"tracked every {', '.join(map(str, every))} epoch(s) and after the last" if every else None
        return curve_figure(history, "hessian_max_eig", ylabel, title, note=note, style=label_style)
    return curve_figure(
        history, "hessian_max_eig", ylabel, title,
        empty_message="Hessian tracking was off for every run\n(search.hessian_every: 0)",
    )


def write_dynamics_figures(history: pd.DataFrame, runs: pd.DataFrame, figures_dir: str | Path,
                           space_sizes: dict[str, int] | None = None) -> dict[str, Path]:
    """Figures 2 and 3 (PNG and PDF) per (space, dataset) of ``history``; returns the PNG paths."""
    out: dict[str, Path] = {}
    if history.empty:
        return out
    for (space, dataset), h in history.groupby(["space", "dataset"], sort=True):
        paths = figure_paths(figures_dir, space, dataset)
        every: list[int] = []
        if "hessian_every" in runs:
            r = runs[(runs["space"] == space) & (runs["dataset"] == dataset)]
            every = [int(v) for v in r["hessian_every"].dropna() if int(v) > 0]
        figs = {
            "skip": skip_figure(h, space, dataset, (space_sizes or {}).get(space)),
            "hessian": hessian_figure(h, space, dataset, every),
        }
        for key, fig in figs.items():
            png, pdf = paths[key]
            save_figure(fig, png, pdf)
            out[f"{FIGURE_STEMS[key]}_{space}_{dataset}"] = png
    return out


__all__ = ["FIGURE_STEMS", "figure_paths", "hessian_figure", "hessian_tracked", "skip_figure",
           "write_dynamics_figures"]
