"""Snakemake script for rule ``score_proxies``: score distinct candidates (balenas.stages.select.score_stage)."""

from balenas.logs import setup_logging
from balenas.stages.select import score_stage

setup_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake
score_stage(
    snakemake.params.job,  # noqa: F821
    snakemake.input.samples,  # noqa: F821
    snakemake.params.data,  # noqa: F821
    snakemake.params.network,  # noqa: F821
    snakemake.output.scores,  # noqa: F821
    threads=snakemake.threads,  # noqa: F821
    device=snakemake.params.device,  # noqa: F821
    timings=snakemake.output.timings,  # noqa: F821
)
