"""Shared report writers: mean ± std cells and the CSV / Markdown / LaTeX table writer."""

from __future__ import annotations

import numpy as np
import pandas as pd

from balenas.report.io import TEX_PM, format_mean_std, mean_std, write_table


def test_mean_std_uses_the_sample_std_and_says_n_a_for_one_value():
    assert mean_std(pd.Series([1.0, 2.0, np.nan])) == "1.50 ± 0.71"  # ddof=1, NaN left out
    assert mean_std(pd.Series([91.6123])) == "91.61 ± n/a"  # as Tables 1 and 2 print one seed
    assert mean_std(pd.Series([2.0, np.nan]), digits=3) == "2.000 ± n/a"
    assert mean_std(pd.Series([np.nan])) == "n/a"
    assert mean_std(pd.Series([], dtype=float)) == "n/a"


def test_format_mean_std_per_style():
    assert format_mean_std(93.5, 0.7071) == "93.50 ± 0.71"
    assert format_mean_std(93.5, np.nan, "tex") == f"93.50{TEX_PM}n/a"
    assert format_mean_std(0.1234, 0.01, digits=3) == "0.123 ± 0.010"


def test_write_table_keeps_full_precision_in_the_csv_and_shows_the_display_frame(tmp_path):
    df = pd.DataFrame({"proxy": ["snip"], "rho": [0.123456789]})
    shown = df.assign(rho=["0.123"])
    csv, md, tex = tmp_path / "t.csv", tmp_path / "t.md", tmp_path / "t.tex"
    write_table(df, csv, md, tex, title="T", note="a note", display=shown)
    assert pd.read_csv(csv)["rho"].iloc[0] == 0.123456789
    text = md.read_text()
    assert text.startswith("# T\n\n") and "| snip | 0.123 |" in text and "0.1234" not in text
    assert text.rstrip().endswith("a note")
    assert "0.123 " in tex.read_text() and "0.1234" not in tex.read_text()
    write_table(df, csv, md)  # without a display frame both show df
    assert "| snip | 0.123456789 |" in md.read_text()


def test_figures_have_the_same_bytes_when_drawn_twice(tmp_path):
    """No creation date or software version in the PNG and PDF metadata (issue 16)."""
    import time

    import matplotlib.pyplot as plt

    from balenas.report.io import save_figure

    def draw(d):
        fig, ax = plt.subplots()
        ax.plot([0, 1, 2], [1, 0, 2], label="a")
        ax.legend()
        save_figure(fig, d / "f.png", d / "f.pdf")

    draw(tmp_path / "a")
    time.sleep(1.1)  # a PDF CreationDate has one-second resolution
    draw(tmp_path / "b")
    for name in ("f.png", "f.pdf"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert b"CreationDate" not in (tmp_path / "a" / "f.pdf").read_bytes()
