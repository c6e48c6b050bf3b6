"""Snakemake script for rule ``score_proxies``: score distinct candidates with every proxy
(balenas.stages.select.score_proxies_stage)."""

from balenas.logs import setup_logging
from balenas.stages.select import score_proxies_stage

setup_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake
proxies = snakemake.params.proxies  # noqa: F821
score_proxies_stage(
    snakemake.params.job,  # noqa: F821
    snakemake.input.samples,  # noqa: F821
    snakemake.params.data,  # noqa: F821
    snakemake.params.network,  # noqa: F821
    dict(zip(proxies, snakemake.output.scores, strict=True)),  # noqa: F821
    threads=snakemake.threads,  # noqa: F821
    device=snakemake.params.device,  # noqa: F821
    timings=dict(zip(proxies, snakemake.output.timings, strict=True)),  # noqa: F821
)
