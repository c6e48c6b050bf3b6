"""Snakemake script for rule ``sample_architectures``: the K_max candidates of a run and selector (see
balenas.stages.select.sample_stage)."""

from balenas.logs import setup_logging
from balenas.stages.select import sample_stage

setup_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake
sample_stage(
    snakemake.params.job,  # noqa: F821
    snakemake.output.samples,  # noqa: F821
    arch=snakemake.input.get("arch"),  # noqa: F821
)
