"""Snakemake script for rule ``select_architecture``: the best of the first K draws for every configured K,
from the K_max draws and their scores (balenas.stages.select.select_stage)."""

from balenas.logs import setup_logging
from balenas.stages.select import select_stage

setup_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake
select_stage(
    snakemake.params.job,  # noqa: F821
    snakemake.input.samples,  # noqa: F821
    snakemake.input.scores,  # noqa: F821
    snakemake.params.config_used,  # noqa: F821
    dict(zip(snakemake.params.ks, snakemake.output.selected, strict=True)),  # noqa: F821
    arch=snakemake.input.get("arch"),  # noqa: F821
    search_genotype=snakemake.input.get("genotype"),  # noqa: F821
)
