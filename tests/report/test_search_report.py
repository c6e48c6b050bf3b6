"""Search report: summary table and Figures 2 (skip connections) and 3 (Hessian eigenvalue)."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from balenas.report.dynamics import hessian_figure, skip_figure
from balenas.report.search import load_runs, search_report_paths, summary_table, write_search_report

EPOCHS = 4


def fake_run(root: Path, method: str, order: int, seed: int, hessian_every: int) -> tuple[Path, Path]:
    """metrics.json and history.csv as the search stage writes them, with known numbers."""
    run = root / f"{method}/order-{order}/seed-{seed}"
    run.mkdir(parents=True)
    base = {"darts": 10.0, "balenas": 1.0}[method] * order
    rows = []
    for epoch in range(1, EPOCHS + 1):
        row = {"epoch": epoch, "train_acc": 50.0, "valid_acc": 40.0 + seed, "skip_count": epoch % 3 + seed,
               "genotype": f"g{seed}"}
        if hessian_every and (epoch % hessian_every == 0 or epoch == EPOCHS):
            row["hessian_max_eig"] = base * epoch + seed
        rows.append(row)
    hist = pd.DataFrame(rows)
    hist.to_csv(run / "history.csv", index=False)
    metrics = {
        "config": {"space": "nb201", "dataset": "digits", "method": method, "order": order, "seed": seed,
                   "epochs": EPOCHS, "hessian_every": hessian_every},
        "genotype": f"g{seed}",
        "final_epoch": {k: v for k, v in rows[-1].items()},
        "environment": {"device": "cpu"},
        "seconds": 60.0,
    }
    (run / "metrics.json").write_text(json.dumps(metrics))
    return run / "metrics.json", run / "history.csv"


def fake_runs(root: Path, hessian_every: int) -> tuple[list[Path], list[Path]]:
    pairs = [fake_run(root, m, o, s, hessian_every) for m in ("darts", "balenas") for o in (1, 2) for s in (0, 1)]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def lines_by_label(fig) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    ax = fig.axes[0]
    return {ln.get_label(): (np.asarray(ln.get_xdata()), np.asarray(ln.get_ydata())) for ln in ax.lines}


def test_hessian_figure_plots_mean_over_seeds_at_tracked_epochs_only(tmp_path):
    _, hist = load_runs(*fake_runs(tmp_path, hessian_every=2))
    fig = hessian_figure(hist, "nb201", "digits", every=[2])
    lines = lines_by_label(fig)
    assert set(lines) == {f"{m} ({o}) (n=2 seeds)" for m in ("DARTS", "BaLeNAS") for o in ("1st", "2nd")}
    x, y = lines["DARTS (2nd) (n=2 seeds)"]
    assert x.tolist() == [2, 4]  # untracked epochs are left out, not drawn as NaN gaps
    assert y.tolist() == pytest.approx([20.0 * 2 + 0.5, 20.0 * 4 + 0.5])  # mean of seeds 0 and 1
    assert len(fig.axes[0].collections) == 4  # one min-max band per line
    plt.close(fig)


def test_hessian_figure_says_tracking_was_off(tmp_path):
    _, hist = load_runs(*fake_runs(tmp_path, hessian_every=0))
    fig = hessian_figure(hist, "nb201", "digits")
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert not fig.axes[0].lines
    assert "Hessian tracking was off" in texts and "hessian_every" in texts
    plt.close(fig)


def test_skip_figure_has_every_method_and_order(tmp_path):
    _, hist = load_runs(*fake_runs(tmp_path, hessian_every=0))
    fig = skip_figure(hist, "nb201", "digits", num_edges=6)
    lines = lines_by_label(fig)
    x, y = lines["BaLeNAS (1st) (n=2 seeds)"]
    assert x.tolist() == [1, 2, 3, 4]
    assert y.tolist() == pytest.approx([e % 3 + 0.5 for e in range(1, 5)])
    assert "of 6" in fig.axes[0].get_ylabel()
    plt.close(fig)


@pytest.mark.parametrize("hessian_every", [0, 2])
def test_report_writes_figures_2_and_3_and_the_summary(tmp_path, hessian_every):
    metrics, history = fake_runs(tmp_path / "runs", hessian_every)
    out = write_search_report(metrics, history, tmp_path / "tables", tmp_path / "figures")
    for stem in ("fig2_skip_connections", "fig3_hessian_eigenvalue"):
        for ext in ("png", "pdf"):
            f = tmp_path / "figures" / f"{stem}_nb201_digits.{ext}"
            assert f.stat().st_size > 1000, f
        assert out[f"{stem}_nb201_digits"] == tmp_path / "figures" / f"{stem}_nb201_digits.png"
    # exactly the files the report rule declares (search_report_paths), nothing more or less
    written = sorted(p for d in ("tables", "figures") for p in (tmp_path / d).iterdir())
    declared = search_report_paths(tmp_path / "tables", tmp_path / "figures", [("nb201", "digits")])
    assert written == sorted(declared) and len(declared) == len(set(declared))
    assert declared[0].parent.name == "tables" and declared[-1].parent.name == "figures"
    summary = pd.read_csv(tmp_path / "tables" / "search_summary.csv")
    assert len(summary) == 4
    if hessian_every:
        row = summary.set_index("method").loc["DARTS (2nd)", "Hessian max eig (last tracked)"]
        assert row.startswith("80.500 ±")  # last tracked epoch 4: 20 * 4 + mean seed 0.5
    else:
        assert "Hessian max eig (last tracked)" not in summary


def test_summary_table_counts_seeds_per_method_and_order(tmp_path):
    runs, _ = load_runs(*fake_runs(tmp_path, hessian_every=1))
    table = summary_table(runs).set_index("method")
    assert table.loc["BaLeNAS (1st)", "seeds"] == 2
    assert table.loc["DARTS (1st)", "skip_connect edges"] == "1.50 ± 0.71"  # epoch 4: 4 % 3 + seed
