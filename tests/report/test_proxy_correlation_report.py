"""The correlation table: signs, the published comparison and the tolerance flag."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from balenas.report.proxy_correlation import (
    PUBLISHED_METRIC,
    PUBLISHED_SPEARMAN,
    correlation_table,
    write_correlation_report,
)


def _scores(values: dict[str, list[float]]) -> pd.DataFrame:
    rows = [
        {"arch_index": i, "arch": f"a{i}", "proxy": p, "score": v, "seconds": 0.0}
        for p, vals in values.items()
        for i, v in enumerate(vals)
    ]
    return pd.DataFrame(rows)


def test_monotone_scores_give_perfect_correlations_and_tolerance_flags():
    acc = np.array([60.0, 70.0, 80.0, 90.0, 93.0])
    scores = _scores({
        "synflow": [1e30, 1e40, 1e50, 1e55, np.inf],  # huge and infinite scores rank fine
        "snip": [5.0, 4.0, 3.0, 2.0, 1.0],  # perfectly anti-correlated
    })
    table = correlation_table(scores, {PUBLISHED_METRIC: acc, "cifar10-valid/x-valid/200": acc[::-1]}, "c10")
    main = table[table["metric"] == PUBLISHED_METRIC].set_index("proxy")
    assert main.loc["synflow", "spearman"] == pytest.approx(1.0)
    assert main.loc["synflow", "kendall"] == pytest.approx(1.0)
    assert main.loc["snip", "spearman"] == pytest.approx(-1.0)
    assert main.loc["synflow", "published_spearman"] == PUBLISHED_SPEARMAN["synflow"]
    assert main.loc["snip", "abs_diff"] == pytest.approx(1.0 + PUBLISHED_SPEARMAN["snip"])  # signed: -1 vs +0.596
    flag = main.loc["snip", "within_tolerance"]
    assert flag is not None and not flag
    other = table[table["metric"] != PUBLISHED_METRIC].set_index("proxy")
    assert other.loc["synflow", "spearman"] == pytest.approx(-1.0)
    assert other["published_spearman"].isna().all()  # published values refer to one metric only
    assert other["within_tolerance"].isna().all()


def test_within_tolerance_when_close_to_published():
    rng = np.random.default_rng(0)
    acc = rng.normal(size=400)
    noisy = acc + rng.normal(scale=1.0, size=400)  # rho ~ 0.69
    table = correlation_table(_scores({"synflow": list(noisy)}), {PUBLISHED_METRIC: acc}, "c10")
    row = table.iloc[0]
    assert row["spearman"] > 0
    assert row["abs_diff"] == pytest.approx(abs(row["spearman"] - PUBLISHED_SPEARMAN["synflow"]))
    assert row["within_tolerance"] == (row["abs_diff"] <= 0.05)


def test_a_flipped_sign_is_far_from_the_published_value():
    """Two proxies with the same |rho| but opposite signs: only the one agreeing with accuracy is close."""
    rng = np.random.default_rng(1)
    acc = rng.normal(size=400)
    noisy = acc + rng.normal(scale=1.0, size=400)
    table = correlation_table(
        _scores({"synflow": list(noisy), "snip": list(-noisy)}),  # snip ranks the wrong way round
        {PUBLISHED_METRIC: acc},
        "c10",
    ).set_index("proxy")
    rho = table.loc["synflow", "spearman"]
    assert table.loc["snip", "spearman"] == pytest.approx(-rho)  # same ranking, read the wrong way round
    assert table.loc["synflow", "abs_diff"] == pytest.approx(abs(rho - PUBLISHED_SPEARMAN["synflow"]))
    assert table.loc["snip", "abs_diff"] == pytest.approx(rho + PUBLISHED_SPEARMAN["snip"])
    assert table.loc["snip", "abs_diff"] > 1.0
    flag = table.loc["snip", "within_tolerance"]
    assert flag is not None and not flag


def test_report_csv_keeps_full_precision_and_markdown_rounds(tmp_path):
    rng = np.random.default_rng(2)
    acc = rng.normal(size=50)
    scores = _scores({"synflow": list(acc + rng.normal(size=50))})
    csv, md = tmp_path / "t.csv", tmp_path / "t.md"
    table = write_correlation_report(scores, {PUBLISHED_METRIC: acc}, "c10", csv, md, {}, note="extra")
    written = pd.read_csv(csv)
    assert written["spearman"].iloc[0] == pytest.approx(table["spearman"].iloc[0], abs=1e-15)
    assert f"{table['spearman'].iloc[0]:.3f}" in md.read_text()
    assert f"{table['spearman'].iloc[0]:.6f}" not in md.read_text()
    assert md.read_text().rstrip().endswith("extra")
