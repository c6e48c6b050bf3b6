"""Writers shared by every table and figure."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from balenas.runtime import atomic_path

if TYPE_CHECKING:
    from types import ModuleType

    from matplotlib.figure import Figure


def pyplot() -> ModuleType:
    """``matplotlib.pyplot`` on the Agg backend (files only, no display), imported on first use: the workflow
    imports report modules to plan, and importing matplotlib alone cost ~60 ms of every ``snakemake`` call."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_table(df: pd.DataFrame, csv: str | Path, md: str | Path | None = None, tex: str | Path | None = None,
                title: str | None = None, note: str | None = None, display: pd.DataFrame | None = None) -> None:
    """CSV of ``df`` always; Markdown and LaTeX when paths are given (atomic writes).

    ``display`` is what Markdown and LaTeX show instead of ``df`` (e.g. rounded), so the CSV keeps full
    precision; by default they show ``df``.
    """
    with atomic_path(csv) as tmp:
        df.to_csv(tmp, index=False)
    shown = df if display is None else display
    if md is not None:
        text = ""
        if title:
            text += f"# {title}\n\n"
        text += markdown_table(shown) + "\n"
        if note:
            text += f"\n{note}\n"
        with atomic_path(md) as tmp:
            tmp.write_text(text)
    if tex is not None:
        body = shown.to_latex(index=False, escape=True, na_rep="--")
        with atomic_path(tex) as tmp:
            tmp.write_text(body)


def markdown_table(df: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table without the optional ``tabulate`` dependency."""
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "| " + " | ".join("---" for _ in cols) + " |"]
    for row in df.itertuples(index=False):
        cells = ["" if pd.isna(v) else str(v).replace("|", "\\|") for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


_TEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\^{}",
    "|": r"\textbar{}",
    "±": r"$\pm$",
}
TEX_PM = r" $\pm$ "
#: The ``±`` of a mean-and-spread cell per output style.
PM: Mapping[str, str] = MappingProxyType({"md": " ± ", "tex": TEX_PM})


def tex_escape(text: str) -> str:
    r"""Escape LaTeX specials; ``±`` becomes ``$\pm$``."""
    return "".join(_TEX_ESCAPES.get(ch, ch) for ch in text)


def latex_table(df: pd.DataFrame, caption: str | None = None) -> str:
    r"""A plain ``tabular`` (first column left, others centred) without pandas' jinja2 dependency.

    Cells are escaped, except cells that already hold ``$\pm$`` (formatted with :data:`TEX_PM`).
    """
    spec = "l" + "c" * (len(df.columns) - 1)
    lines = [f"% {caption}"] if caption else []
    lines += [
        rf"\begin{{tabular}}{{{spec}}}",
        r"\hline",
        " & ".join(tex_escape(str(c)) for c in df.columns) + r" \\",
        r"\hline",
    ]
    for row in df.itertuples(index=False):
        cells = ["" if _isna(v) else str(v) if r"$\pm$" in str(v) else tex_escape(str(v)) for v in row]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\hline", r"\end{tabular}"]
    return "\n".join(lines)


def _isna(value: object) -> bool:
    return not isinstance(value, str) and bool(pd.isna(value))


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


#: Figure metadata that would differ between runs or hosts (dates, the writing software), left out so
#: the same data gives the same bytes (issue 16).
FIXED_METADATA: Mapping[str, Mapping[str, None]] = MappingProxyType({
    "png": MappingProxyType({"Software": None}),
    "pdf": MappingProxyType({"CreationDate": None, "ModDate": None}),
})


def save_figure(fig: Figure, png: str | Path, pdf: str | Path | None = None) -> None:
    """PNG (150 dpi) and optionally PDF, atomically, with no dates or software in their metadata."""
    with atomic_path(png) as tmp:
        fig.savefig(tmp, format="png", dpi=150, bbox_inches="tight", metadata=dict(FIXED_METADATA["png"]))
    if pdf is not None:
        with atomic_path(pdf) as tmp:
            fig.savefig(tmp, format="pdf", bbox_inches="tight", metadata=dict(FIXED_METADATA["pdf"]))
    pyplot().close(fig)


def format_mean_std(mean: float, std: float, style: str = "md", digits: int = 2) -> str:
    """``mean ± std``; ``mean ± n/a`` where the std is NaN (one seed: no sample std)."""
    spread = "n/a" if np.isnan(std) else f"{std:.{digits}f}"
    return f"{mean:.{digits}f}{PM[style]}{spread}"


def mean_std(values: pd.Series, digits: int = 2) -> str:
    """``mean ± std`` over seeds (sample std, ddof=1); ``mean ± n/a`` for one seed, as Tables 1 and 2 print
    it; ``n/a`` when empty."""
    v = values.dropna()
    if v.empty:
        return "n/a"
    std = float(v.std(ddof=1)) if len(v) > 1 else float("nan")
    return format_mean_std(float(v.mean()), std, digits=digits)
