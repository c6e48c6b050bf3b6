"""Snakemake script for rule ``proxy_correlation`` (see balenas.stages.proxy_correlation)."""

from balenas.logs import setup_logging
from balenas.stages.proxy_correlation import proxy_correlation_stage

setup_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake
out = snakemake.output  # noqa: F821
proxy_correlation_stage(
    snakemake.params.study,  # noqa: F821
    snakemake.params.data,  # noqa: F821
    snakemake.input.benchmark,  # noqa: F821
    {
        "scores": out.scores,
        "metrics": out.metrics,
        "table_csv": out.table_csv,
        "table_md": out.table_md,
        "figures": snakemake.params.figures,  # noqa: F821 - proxy -> (png, pdf), among the outputs
    },
    checkpoint=snakemake.params.checkpoint,  # noqa: F821
    threads=snakemake.threads,  # noqa: F821
    device=snakemake.params.device,  # noqa: F821
)
