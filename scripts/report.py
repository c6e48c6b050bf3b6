"""Snakemake script for rule ``report``: search tables and curves from every run."""

from balenas.logs import setup_logging
from balenas.report.search import write_search_report

setup_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake
write_search_report(
    snakemake.input.metrics,  # noqa: F821
    snakemake.input.history,  # noqa: F821
    snakemake.params.tables,  # noqa: F821
    snakemake.params.figures,  # noqa: F821
)
