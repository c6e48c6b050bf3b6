"""Snakemake script for rule ``selection_report``: every selected architecture in one table."""

from balenas.logs import setup_logging
from balenas.report.selection import write_selection_report

setup_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake
write_selection_report(
    list(snakemake.input),  # noqa: F821
    snakemake.output.csv,  # noqa: F821
    snakemake.output.md,  # noqa: F821
)
