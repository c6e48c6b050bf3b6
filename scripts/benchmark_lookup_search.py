"""Snakemake script for rule ``lookup_search``: benchmark values of a search run's argmax genotypes."""

from balenas.logs import setup_logging
from balenas.stages.benchmark import lookup_search_stage

setup_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake
lookup_search_stage(
    snakemake.params.run,  # noqa: F821
    snakemake.input.genotype,  # noqa: F821
    snakemake.input.history,  # noqa: F821
    snakemake.input.table,  # noqa: F821
    dict(snakemake.output.items()),  # noqa: F821
)
