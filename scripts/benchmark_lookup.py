"""Snakemake script for rule ``lookup``: benchmark values of every searched and selected architecture."""

from balenas.logs import setup_logging
from balenas.stages.benchmark import lookup_stage

setup_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake
lookup_stage(
    snakemake.input.table[0],  # noqa: F821 - a one-element list
    snakemake.params.runs,  # noqa: F821
    {"genotype": snakemake.input.genotype, "history": snakemake.input.history},  # noqa: F821
    {"lookup": snakemake.output.search, "epochs": snakemake.output.epochs},  # noqa: F821
    snakemake.input.selected,  # noqa: F821
    snakemake.output.selection,  # noqa: F821
)
