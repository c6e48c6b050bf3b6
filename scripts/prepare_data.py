"""Snakemake script for rule ``prepare_data``: download one dataset (balenas.stages.data.prepare_stage)."""

from balenas.logs import setup_logging
from balenas.stages.data import prepare_stage

setup_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake
prepare_stage(snakemake.params.data, snakemake.output.record)  # noqa: F821
