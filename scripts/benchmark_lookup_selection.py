"""Snakemake script for rule ``lookup_selection``: benchmark values of one selected architecture."""

from balenas.logs import setup_logging
from balenas.stages.benchmark import lookup_selection_stage

setup_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake
lookup_selection_stage(
    snakemake.input.selected,  # noqa: F821
    snakemake.input.table,  # noqa: F821
    snakemake.output[0],  # noqa: F821
)
