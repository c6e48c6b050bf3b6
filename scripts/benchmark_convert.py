"""Snakemake script for rule ``convert_benchmark``: official NAS-Bench-201 / NATS-Bench file -> compact table."""

from balenas.logs import setup_logging
from balenas.stages.benchmark import convert_stage

setup_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake
convert_stage(
    snakemake.input.source,  # noqa: F821
    snakemake.output.table,  # noqa: F821
    allow_partial=snakemake.params.allow_partial,  # noqa: F821
)
