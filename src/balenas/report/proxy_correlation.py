"""The proxy correlation study's table and figures: rank correlation of each proxy with benchmark accuracy.

Input is a tidy scores frame (``balenas.proxies.correlation.score_genotypes``: one row per architecture and
proxy) and one accuracy array per benchmark metric, aligned with ``arch_index``. Correlations are computed
on the oriented scores (higher is better for every proxy) by :func:`balenas.proxies.correlation
.proxy_correlations`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

import matplotlib.ticker as ticker
import numpy as np
import pandas as pd

from balenas.proxies import ranking
from balenas.proxies.correlation_config import PUBLISHED_METRIC  # the metric the published values refer to
from balenas.proxies.correlation import CORRELATION_COLUMNS, proxy_correlations
from balenas.report.io import pyplot, save_figure, write_table

plt = pyplot()  # Agg; imported here, not where the workflow plans

PUBLISHED_SOURCE = (
    "Abdelfattah et al., Zero-Cost Proxies for Lightweight NAS, ICLR 2021, Table 1 (NAS-Bench-201, CIFAR-10), "
    "as printed in github.com/SamsungLabs/zero-cost-nas notebooks/nasbench201_correlations.ipynb; naswot is "
    "compared with jacob_cov's value (the project's issue groups them; that table has no naswot column)"
)
#: Spearman's rho (as published: all positive) on all 15,625 NB201 architectures (CIFAR-10) that the study is
#: compared with; the study's rho is signed, so a proxy ranking the wrong way round is far from these.
PUBLISHED_SPEARMAN: Mapping[str, float] = MappingProxyType(
    {
        "grad_norm": 0.594,
        "snip": 0.596,
        "grasp": 0.514,
        "fisher": 0.36,
        "synflow": 0.737,
        "jacob_cov": 0.731,
        "naswot": 0.731,
    }
)
TOLERANCE = 0.05

#: The correlation table: which data and metric, the columns of ``proxy_correlations``, the comparison.
TABLE_COLUMNS: tuple[str, ...] = (
    "dataset",
    "metric",
    *CORRELATION_COLUMNS,
    "published_spearman",
    "abs_diff",
    "within_tolerance",
)


def correlation_table(
    scores: pd.DataFrame, accuracies: Mapping[str, Sequence[float] | np.ndarray], dataset: str
) -> pd.DataFrame:
    """One row per (metric, proxy) with Spearman, Kendall and, for the published metric, the comparison.

    ``abs_diff`` is ``|rho - published|`` on the signed rho: scores are oriented (higher is better), so a
    proxy that ranks the wrong way round has a negative rho and is far from the published value.
    ``within_tolerance`` says whether ``abs_diff`` is at most :data:`TOLERANCE` (empty where nothing was
    published).
    """
    frames = []
    for metric, acc in accuracies.items():
        corr = proxy_correlations(scores, acc)
        corr.insert(0, "metric", metric)
        corr.insert(0, "dataset", dataset)
        published = [
            PUBLISHED_SPEARMAN.get(p, np.nan) if metric == PUBLISHED_METRIC else np.nan for p in corr["proxy"]
        ]
        corr["published_spearman"] = published
        corr["abs_diff"] = (corr["spearman"] - corr["published_spearman"]).abs()
        corr["within_tolerance"] = [
            None if np.isnan(d) else bool(d <= TOLERANCE) for d in corr["abs_diff"].to_numpy(dtype=float)
        ]
        frames.append(corr)
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(TABLE_COLUMNS))
    return table[list(TABLE_COLUMNS)]


def _rounded(table: pd.DataFrame) -> pd.DataFrame:
    out = table.copy()
    for col in ("spearman", "kendall", "published_spearman", "abs_diff"):
        out[col] = out[col].map(lambda v: "" if pd.isna(v) else f"{v:.3f}")
    for col in ("spearman_p", "kendall_p"):
        out[col] = out[col].map(lambda v: "" if pd.isna(v) else f"{v:.1e}")
    return out


def scatter_figure(
    scores: pd.DataFrame, accuracy: Sequence[float] | np.ndarray, proxy: str, metric: str, row: pd.Series | None
) -> plt.Figure:
    """Benchmark accuracy against the oriented proxy score (symlog scale when the scores span > 3 decades)."""
    sub = scores[scores["proxy"] == proxy].sort_values("arch_index")
    acc = np.asarray(accuracy, dtype=float)[sub["arch_index"].to_numpy()]
    score = ranking.oriented(sub["score"].to_numpy(dtype=float), proxy)
    ok = np.isfinite(score) & np.isfinite(acc)
    fig, ax = plt.subplots(figsize=(4.5, 3.5))
    ax.scatter(score[ok], acc[ok], s=6, alpha=0.6)
    mag = np.abs(score[ok])
    mag = mag[mag > 0]
    if mag.size and mag.max() / mag.min() > 1e3:
        # symlog: SynFlow spans tens of decades and is exactly 0 for architectures without a path
        linthresh = float(mag.min())
        ax.set_xscale("symlog", linthresh=linthresh)
        decades = int(np.ceil(np.log10(mag.max() / mag.min())))
        step = max(1, int(np.ceil(decades / 5)))
        ax.xaxis.set_major_locator(ticker.SymmetricalLogLocator(base=10.0**step, linthresh=linthresh))
        ax.xaxis.set_minor_locator(ticker.NullLocator())
        ax.tick_params(axis="x", labelsize=7, labelrotation=30)
    ax.set_xlabel(f"{proxy} score (higher is better)")
    ax.set_ylabel(f"accuracy {metric} (%)")
    title = proxy
    if row is not None:
        title += f": Spearman {row['spearman']:.3f}, Kendall {row['kendall']:.3f} (n={int(row['n'])})"
    ax.set_title(title, fontsize=9)
    if (~ok).any():
        ax.text(0.01, 0.01, f"{int((~ok).sum())} non-finite not shown", transform=ax.transAxes, fontsize=7)
    fig.tight_layout()
    return fig


def write_correlation_report(
    scores: pd.DataFrame,
    accuracies: Mapping[str, Sequence[float] | np.ndarray],
    dataset: str,
    table_csv: str | Path,
    table_md: str | Path,
    figures: Mapping[str, tuple[str | Path, str | Path]],
    note: str = "",
) -> pd.DataFrame:
    """Write the correlation table (CSV, Markdown) and one scatter figure per proxy (PNG, PDF).

    ``figures`` maps a proxy to its (png, pdf) paths; the scatter uses the first metric of ``accuracies``.
    """
    table = correlation_table(scores, accuracies, dataset)
    n_arch = int(scores["arch_index"].nunique())
    md_note = (
        f"{n_arch} architectures. Correlations of the oriented score (higher is better) with the benchmark "
        f"accuracy; `published_spearman`: {PUBLISHED_SOURCE}; `within_tolerance`: |rho - published| <= "
        f"{TOLERANCE}."
    )
    if note:
        md_note += "\n\n" + note
    # the CSV keeps full precision, the Markdown shows rounded values
    write_table(
        table, table_csv, table_md, title="Proxy correlation study", note=md_note, display=_rounded(table)
    )
    metric = next(iter(accuracies))
    for proxy, (png, pdf) in figures.items():
        rows = table[(table["metric"] == metric) & (table["proxy"] == proxy)]
        fig = scatter_figure(scores, accuracies[metric], proxy, metric, rows.iloc[0] if len(rows) else None)
        save_figure(fig, png, pdf)
    return table
