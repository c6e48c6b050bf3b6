"""Snakemake script for rule ``search``: one search run (see balenas.stages.search.search_stage)."""

from balenas.logs import setup_logging
from balenas.stages.search import search_stage

setup_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake
search_stage(
    snakemake.params.search,  # noqa: F821
    snakemake.params.data,  # noqa: F821
    dict(snakemake.output.items()),  # noqa: F821
    checkpoint=snakemake.params.checkpoint,  # noqa: F821
    threads=snakemake.threads,  # noqa: F821
    device=snakemake.params.device,  # noqa: F821
    code=snakemake.params.code,  # noqa: F821 - source hash: a checkpoint of other code is not resumed
)
