"""Numbers quoted from the BaLeNAS paper, with where each one was read.

Paper: M. Zhang, J. Hu, S. Su, S. Pan, X. Chang, B. Yang, G. Haffari, "BaLeNAS: Differentiable Architecture
Search via the Bayesian Learning Rule", CVPR 2022, arXiv:2111.13204. (The author list on the arXiv/CVPR
record; some project notes list it differently.)

Only numbers that could be read from a public source are recorded; every other cell of the paper's Table 1 is
absent here and is shown as "not found" -- never filled in from memory or from other papers. At the time of
writing the paper's own Table 1 text could not be retrieved; the only cells available came from the Papers
with Code leaderboard entry of the paper, which lists single numbers (it does not say whether they are a mean
over seeds or a best run, and gives no std). A second search (public pages and documentation, four queries)
found the paper's abstract on several sites but not its Table 1; the leaderboard excerpt that holds the two
cells below is cut off right after "NAS-Bench-201, CIFAR-100 BaLeNAS-TF Accuracy (Test) 72", so the
CIFAR-100 value cannot be read and is not recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

PAPER_CITATION = "Zhang et al., BaLeNAS, CVPR 2022 (arXiv:2111.13204), Table 1"
PAPERS_WITH_CODE = "https://paperswithcode.com/paper/balenas-differentiable-architecture-search"


@dataclass(frozen=True)
class QuotedCell:
    """One number of the paper's Table 1: ``row`` and ``metric`` use the keys of :mod:`balenas.report.table1`."""

    row: str
    metric: str
    value: float
    std: float | None
    statistic: str
    source: str


PAPER_TABLE1: tuple[QuotedCell, ...] = (
    QuotedCell("balenas_tf", "cifar10_valid", 91.52, None, "unspecified (single number)", PAPERS_WITH_CODE),
    QuotedCell("balenas_tf", "cifar10_test", 94.33, None, "unspecified (single number)", PAPERS_WITH_CODE),
)
