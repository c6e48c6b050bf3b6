"""Snakemake script for rule ``benchmark_report``: Table 1, Table 2 and accuracy per search epoch."""

from balenas.logs import setup_logging
from balenas.stages.benchmark_report import benchmark_report_stage

setup_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake
benchmark_report_stage(
    snakemake.input.search,  # noqa: F821
    snakemake.input.selection,  # noqa: F821
    snakemake.input.epochs,  # noqa: F821
    snakemake.input.table[0] if snakemake.input.table else None,  # noqa: F821
    snakemake.params.off_reason,  # noqa: F821
    snakemake.params.config,  # noqa: F821
    dict(snakemake.output.items()),  # noqa: F821
)
