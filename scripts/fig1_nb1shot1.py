"""Snakemake script for rule ``fig1_nb1shot1``: NB-101 errors of the derived genotypes per epoch (Figure 1)."""

from balenas.logs import setup_logging
from balenas.stages.fig1_nb1shot1 import fig1_stage

setup_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake
fig1_stage(
    snakemake.input.history,  # noqa: F821
    snakemake.params.runs,  # noqa: F821
    snakemake.wildcards.space,  # noqa: F821
    snakemake.input.table[0] if snakemake.input.table else None,  # noqa: F821
    snakemake.params.off_reason,  # noqa: F821
    dict(snakemake.output.items()),  # noqa: F821
)
