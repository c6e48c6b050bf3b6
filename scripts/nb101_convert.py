"""Snakemake script for rule ``convert_nb101``: official NAS-Bench-101 TFRecord -> compact table."""

from balenas.benchmarks.nb101 import convert_nb101_file
from balenas.logs import setup_logging

setup_logging(snakemake.log[0])  # noqa: F821 - injected by Snakemake
convert_nb101_file(snakemake.input.source, snakemake.output.table)  # noqa: F821
