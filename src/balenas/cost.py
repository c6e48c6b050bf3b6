"""Cost columns of Table 3: parameters, multiply-adds and search cost.

- Parameters (M): every parameter except the auxiliary head's (``count_params_m``), as DARTS-space papers
  print them.
- FLOPs (M multiply-adds): counted by torch's own ``torch.utils.flop_counter.FlopCounterMode`` on one
  evaluation-mode forward pass (no auxiliary head, no drop-path) of a single image. That counter records
  convolutions (``aten.convolution`` incl. depthwise/grouped: 2 x output elements x kernel MACs), matrix
  products (``mm``/``addmm``/``bmm``/``baddbmm``, i.e. the classifier) and attention; it does *not* count
  BatchNorm, ReLU, pooling, element-wise additions, concatenation or bias adds. It returns 2 FLOPs per
  multiply-add, so the printed number is its total / 2.
- Search cost (GPU days): the wall-clock seconds (``s`` column) of the search jobs' Snakemake benchmark
  files, summed and divided by 86,400, with the device that each job's metrics.json records (a CPU run
  is reported as such, not as GPU days).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

SECONDS_PER_DAY = 86_400.0


def count_macs_m(network: nn.Module, input_shape: tuple[int, int, int]) -> float:
    """Multiply-adds (millions) of one eval-mode forward pass of a single ``input_shape`` (c, h, w) image."""
    from torch.utils.flop_counter import FlopCounterMode

    was_training = network.training
    network.eval()
    device = next(network.parameters()).device
    x = torch.zeros(1, *input_shape, device=device)
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            network(x)
    finally:
        network.train(was_training)
    return counter.get_total_flops() / 2 / 1e6


@dataclass(frozen=True)
class SearchCost:
    seconds: float
    days: float
    jobs: int  # jobs whose benchmark file was read (``seconds`` sums theirs)
    devices: tuple[str, ...]  # distinct devices the jobs ran on ("cuda: NVIDIA A100", "cpu")
    missing: tuple[str, ...] = ()  # benchmark files that were absent (e.g. benchmarks/ deleted): not counted

    @property
    def on_gpu(self) -> bool:
        return bool(self.devices) and all(d.startswith("cuda") for d in self.devices)

    @property
    def label(self) -> str:
        """``0.61`` GPU days, or ``0.003 (cpu)`` when any job did not run on a GPU."""
        return f"{self.days:.3g}" if self.on_gpu else f"{self.days:.3g} ({', '.join(self.devices) or 'unknown'})"


def benchmark_seconds(path: str | Path) -> float:
    """The ``s`` column of a Snakemake benchmark file (tab-separated; repeats are summed)."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    if not rows or "s" not in rows[0]:
        raise ValueError(f"{path}: not a Snakemake benchmark file (no 's' column)")
    return sum(float(r["s"]) for r in rows)


def job_device(metrics_path: str | Path) -> str:
    """The device a search job recorded in its metrics.json (``environment.device`` and ``gpu``)."""
    blob = json.loads(Path(metrics_path).read_text())
    env = blob.get("environment", blob)
    device = str(env.get("device", "unknown"))
    return f"{device}: {env['gpu']}" if device.startswith("cuda") and env.get("gpu") else device


def search_cost(jobs: Iterable[tuple[str | Path, str | Path]]) -> SearchCost:
    """Cost of a set of search jobs given as (benchmark file, metrics.json) pairs.

    Benchmark files are Snakemake's side files, not declared outputs: one that is gone (``benchmarks/``
    deleted, a search copied in from elsewhere) is listed in ``missing`` and left out of the sum, not an error.
    """
    seconds, devices, n, missing = 0.0, set(), 0, []
    for bench, metrics in jobs:
        devices.add(job_device(metrics))
        if not Path(bench).is_file():
            missing.append(str(bench))
            continue
        seconds += benchmark_seconds(bench)
        n += 1
    return SearchCost(seconds, seconds / SECONDS_PER_DAY, n, tuple(sorted(devices)), tuple(missing))
