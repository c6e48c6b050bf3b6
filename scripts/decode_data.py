"""Snakemake script for rule ``decode_data``: decode an image zip once (balenas.stages.data.decode_stage)."""

from balenas.logs import setup_logging
from balenas.stages.data import decode_stage

setup_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake
decode_stage(snakemake.params.data, snakemake.output.decoded, snakemake.output.record)  # noqa: F821
