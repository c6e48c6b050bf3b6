"""Helpers to drive the real Snakefile in a temporary working directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SNAKEFILE = REPO / "workflow" / "Snakefile"
SNAKEMAKE = [sys.executable, "-m", "snakemake"]

def sheet(methods=("darts", "balenas"), orders=(1, 2), seeds=(0, 1), space="nb201", dataset="digits",
          **extra) -> list[dict]:
    """Experiment-sheet rows: one per method, each with these orders and seeds."""
    return [{"space": space, "dataset": dataset, "method": m, "orders": list(orders), "seeds": list(seeds),
             **extra} for m in methods]


def tiny_nb201(channels: int = 4) -> dict:
    return {"nb201": {"supernet": {"channels": channels, "cells_per_stage": 1},
                      "network": {"channels": channels, "cells_per_stage": 1}}}


# A tiny version of the default: 2 epochs on 128 digits at 8x8, a 4-channel supernet.
TINY = {
    "experiments": sheet(seeds=(0, 1)),
    "space_settings": tiny_nb201(4),
    "search": {"epochs": 2, "batch_size": 32},
    "data": {"digits": {"source": "digits", "input_size": 8, "max_examples": 128, "crop_padding": 1,
                        "flip": False}},
}


def write_config(workdir: Path, overrides: dict, name: str = "tiny.yaml") -> Path:
    path = workdir / name
    path.write_text(yaml.safe_dump(overrides))
    return path


def snakemake(workdir: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run(
        [*SNAKEMAKE, "-s", str(SNAKEFILE), "--directory", str(workdir), *args],
        capture_output=True, text=True, timeout=timeout, env=env, cwd=workdir,
    )


@pytest.fixture
def tiny_config(tmp_path: Path) -> Path:
    return write_config(tmp_path, TINY)
