"""Snakemake script for rule ``proxy_correlation`` (see balenas.stages.proxy_correlation)."""

from balenas.logs import setup_logging
from balenas.stages.proxy_correlation import proxy_correlation_stage

setup_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake
out = snakemake.output  # noqa: F821
proxies = snakemake.params.study["proxies"]  # noqa: F821
pngs = [f for f in out.figures if f.endswith(".png")]
pdfs = [f for f in out.figures if f.endswith(".pdf")]
proxy_correlation_stage(
    snakemake.params.study,  # noqa: F821
    snakemake.params.data,  # noqa: F821
    snakemake.input.benchmark,  # noqa: F821
    {
        "scores": out.scores,
        "metrics": out.metrics,
        "table_csv": out.table_csv,
        "table_md": out.table_md,
        "figures": dict(zip(proxies, zip(pngs, pdfs, strict=True), strict=True)),
    },
    checkpoint=snakemake.params.checkpoint,  # noqa: F821
    threads=snakemake.threads,  # noqa: F821
    device=snakemake.params.device,  # noqa: F821
)
