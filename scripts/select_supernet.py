"""Snakemake script for rule ``select_supernet``: RandomNAS / SETN / ENAS selection with the trained supernet
(balenas.stages.select.supernet_select_stage)."""

from balenas.logs import setup_logging
from balenas.stages.select import supernet_select_stage

setup_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake
supernet_select_stage(
    snakemake.params.job,  # noqa: F821
    snakemake.input.arch,  # noqa: F821
    snakemake.input.supernet,  # noqa: F821
    snakemake.params.data,  # noqa: F821
    snakemake.params.batch_size,  # noqa: F821
    {k: snakemake.output[k] for k in ("samples", "scores", "selected")},  # noqa: F821
    threads=snakemake.threads,  # noqa: F821
    device=snakemake.params.device,  # noqa: F821
)
