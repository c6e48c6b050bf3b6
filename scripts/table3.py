"""Snakemake script for rule ``table3``: Table 3 (see balenas.report.table3.table3_stage)."""

from balenas.logs import setup_logging
from balenas.report.table3 import table3_stage

setup_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake
table3_stage(
    snakemake.config,  # noqa: F821
    list(snakemake.input.retrain),  # noqa: F821
    list(snakemake.input.transfer),  # noqa: F821
    snakemake.params.search_jobs,  # noqa: F821
    snakemake.params.paper,  # noqa: F821
    list(snakemake.output),  # noqa: F821
)
