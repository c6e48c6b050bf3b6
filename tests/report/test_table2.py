"""Table 2 builder (K x proxy) and the accuracy-per-epoch curves: aggregation, missing values, writers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgb

from balenas.report.benchmark_curves import CURVE_METRICS, curve_figure, curve_stats
from balenas.report.paper_numbers import load_paper_table
from balenas.report.table2 import (
    accuracy_grid,
    build_table2,
    paper_grid,
    row_label,
    selections_grid,
    to_csv_frame,
    to_latex,
    to_markdown,
    write_table2,
)


def selection(method: str, order: object, proxy: str, k: int, seed: int, c10: float, **more: float) -> dict:
    return dict(
        method=method,
        order=order,
        proxy=proxy,
        k=k,
        seed=seed,
        genotype=f"g-{method}-{proxy}-{k}-{seed}",
        score=float(seed),
        n_distinct=k,
        cifar10_test=c10,
        cifar100_test=more.get("c100", 60.0),
        imagenet16_test=more.get("in16", np.nan),
    )


@pytest.fixture
def sel() -> pd.DataFrame:
    rows = [
        selection("balenas", 1, "synflow", 10, 0, 93.0),
        selection("balenas", 1, "synflow", 10, 1, 94.0),
        selection("balenas", 1, "synflow", 100, 0, 94.2, in16=46.0),
        selection("zero_cost", None, "synflow", 10, 0, 90.0),
        selection("zero_cost", None, "synflow", 10, 1, np.nan),  # not tabulated
        selection("darts", 1, "snip", 10, 0, 80.0),
    ]
    return pd.DataFrame(rows)


def test_labels_keep_the_paper_rows_first() -> None:
    assert row_label("zero_cost", None) == "Zero-cost NAS"
    assert row_label("balenas", 1) == "BaLeNAS-TF (1st)" and row_label("balenas", 2.0) == "BaLeNAS-TF (2nd)"
    assert row_label("darts", 1) == "DARTS-TF (1st) [not in the paper]"


def test_grid_mean_std_over_seeds_with_not_run_and_missing(sel: pd.DataFrame) -> None:
    table = build_table2(sel)
    assert table.ks == (10, 100)
    g = accuracy_grid(table, "cifar10_test").set_index(["Method", "Proxy"])
    assert g.index.tolist() == [
        ("Zero-cost NAS", "synflow"),
        ("BaLeNAS-TF (1st)", "synflow"),
        ("DARTS-TF (1st) [not in the paper]", "snip"),
    ]
    assert g.at[("BaLeNAS-TF (1st)", "synflow"), "K=10"] == "93.50 ± 0.71"  # ddof=1 over 93, 94
    assert g.at[("BaLeNAS-TF (1st)", "synflow"), "K=100"] == "94.20 ± n/a"  # one seed: no std
    assert g.at[("Zero-cost NAS", "synflow"), "K=10"] == "90.00 ± n/a (1/2)"
    assert g.at[("Zero-cost NAS", "synflow"), "K=100"] == "not run"
    in16 = accuracy_grid(table, "imagenet16_test").set_index(["Method", "Proxy"])
    assert in16.at[("Zero-cost NAS", "synflow"), "K=10"] == "missing (0/2 tabulated)"
    assert build_table2(sel, ks=[10, 50, 100]).ks == (10, 50, 100)  # configured K's shown even if not run


def test_invalid_selections_raise(sel: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="duplicate"):
        build_table2(pd.concat([sel, sel.iloc[:1]]))
    with pytest.raises(ValueError, match="lack column"):
        build_table2(sel.drop(columns="score"))
    with pytest.raises(ValueError, match="lack benchmark column"):
        build_table2(sel.drop(columns="cifar10_test"))
    off = build_table2(
        sel.drop(columns=["cifar10_test", "cifar100_test", "imagenet16_test"]), lookups_off="x"
    )
    assert off.summary.empty and not off.lookups_on


def test_writers_with_and_without_lookups(sel: pd.DataFrame, tmp_path: Path) -> None:
    on = build_table2(sel)
    csv, md, tex = write_table2(on, tmp_path / "t.csv", tmp_path / "t.md", tmp_path / "t.tex")
    back = pd.read_csv(csv)
    assert set(back["block"]) == {"summary", "selection", "note"}
    assert len(back[back["block"] == "selection"]) == len(sel)
    text = md.read_text()
    assert text.count("## ") == 5 and "lookups are off" not in text and "nan" not in text.lower()
    latex = tex.read_text()
    assert latex.count(r"\begin{tabular}") == 3 and "±" not in latex and r"$\pm$" in latex
    off = build_table2(sel, lookups_off="/x/nb201.csv not found")
    assert "**benchmark lookups are off: /x/nb201.csv not found**" in to_markdown(off)
    assert "benchmark lookups are off: /x/nb201.csv not found" in to_latex(off)
    assert "CIFAR-10 test" not in selections_grid(off).columns
    assert "benchmark lookups are off: /x/nb201.csv not found" in to_csv_frame(off)["note"].tolist()
    empty = build_table2(sel.iloc[:0])
    assert "No selections were run" in to_markdown(empty)


PAPER_CSV = """method,sample_size,cifar10_test,cifar10_test_std,cifar100_test,cifar100_test_std,imagenet16_test,imagenet16_test_std
zero_cost_nas,10,92.12,1.25,68.1,2.49,40.07,1.86
zero_cost_nas,50,92.52,0.05,70.27,0.25,42.92,0.95
balenas_tf,10,94.08,0.13,72.55,0.42,45.82,0.30
"""


def test_paper_block_beside_the_reproduced_cells(sel: pd.DataFrame, tmp_path: Path) -> None:
    (tmp_path / "table2_nb201.csv").write_text(PAPER_CSV)
    table = build_table2(sel, paper=load_paper_table(tmp_path, "table2"))
    cells = table.paper.set_index(["Method", "Proxy", "K", "metric"])
    c = cells.loc[("BaLeNAS-TF (1st)", "synflow", 10, "cifar10_test")]
    assert (c["paper"], c["paper_std"], c["reproduced"]) == (94.08, 0.13, 93.5)
    assert c["difference"] == pytest.approx(93.5 - 94.08)
    assert cells.loc[("Zero-cost NAS", "synflow", 50, "cifar10_test"), "paper"] == 92.52  # not run here
    assert np.isnan(cells.loc[("BaLeNAS-TF (1st)", "synflow", 100, "cifar10_test"), "paper"])  # not in the CSV
    assert not any("DARTS" in m for m, *_ in cells.index)  # no paper counterpart: left out
    grid = paper_grid(table).set_index(["Method", "K"])
    assert grid.at[("Zero-cost NAS", "50"), "CIFAR-10 test: reproduced"] == "not run"
    assert grid.at[("BaLeNAS-TF (1st)", "10"), "CIFAR-10 test: reproduced - paper"] == "-0.58"
    md = to_markdown(table)
    assert "quoted from the paper" in md and "not retrieved" not in md
    back = to_csv_frame(table)
    assert (back["block"] == "quoted_from_paper").sum() == len(table.paper)
    missing = build_table2(sel, paper=load_paper_table(tmp_path / "absent", "table2"))
    assert f"paper numbers not available: {tmp_path / 'absent'} not found" in to_markdown(missing)


def test_curve_stats_and_figure() -> None:
    epochs = pd.DataFrame(
        {
            "method": ["darts"] * 4 + ["balenas"] * 2,
            "order": [1] * 6,
            "seed": [0, 0, 1, 1, 0, 0],
            "epoch": [1, 2, 1, 2, 1, 2],
            "cifar10_valid": [80.0, 82.0, 84.0, np.nan, 70.0, 71.0],
            "cifar10_test": [1.0] * 6,
            "cifar100_test": [1.0] * 6,
            "imagenet16_test": [np.nan] * 6,
        }
    )
    stats = curve_stats(epochs)
    darts = stats[(stats["label"] == "DARTS (1st)") & (stats["metric"] == "cifar10_valid")].set_index("epoch")
    assert darts.at[1, "mean"] == 82.0 and darts.at[1, "std"] == pytest.approx(np.sqrt(8.0))
    assert (darts.at[1, "min"], darts.at[1, "max"], darts.at[1, "n"]) == (80.0, 84.0, 2)
    assert (darts.at[2, "mean"], darts.at[2, "n"]) == (82.0, 1)  # a missing value is not a zero
    fig = curve_figure(epochs, "t", {"cifar10_valid": (83.69, 91.61)})
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert "DARTS (1st) (n=2 seeds)" in labels and "optimal" in labels
def test_curve_band_takes_its_line_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lines and fills draw from separate colour cycles; a line coloured otherwise (e.g. by a style) must
    still get a band of its own colour."""
    real_plot = Axes.plot

    def plot_with_other_colours(ax, *args, **kwargs):
        return real_plot(ax, *args, **{"color": f"C{len(ax.lines) + 5}", **kwargs})

    monkeypatch.setattr(Axes, "plot", plot_with_other_colours)
    epochs = pd.DataFrame(
        {
            "method": ["darts", "darts", "balenas", "balenas"],
            "order": [1] * 4,
            "seed": [0, 1, 0, 1],
            "epoch": [1, 1, 1, 1],
            **{m: [80.0, 84.0, 70.0, 71.0] for m in CURVE_METRICS},
        }
    )
    fig = curve_figure(epochs, "t")
    ax = fig.axes[0]
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == len(ax.lines) == 2
    for line, band in zip(ax.lines, bands):
        assert to_rgb(band.get_facecolor()[0]) == to_rgb(line.get_color())
    plt.close(fig)
