"""What the search-step benchmarks share: their command-line sizes, the paper's method settings (read from
config/paper.yaml, so the benchmarks time what the paper config runs) and random CIFAR-sized data."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

import torch  # noqa: E402
import yaml  # noqa: E402

from balenas.config import search_config  # noqa: E402
from balenas.data import DataConfig, ImageSet, search_split  # noqa: E402
from balenas.search import SearchConfig  # noqa: E402

PAPER_CONFIG = REPO / "config" / "paper.yaml"


def add_size_args(ap: argparse.ArgumentParser, steps: int) -> None:
    """Timing and supernet size; the defaults are the paper's (C=16, N=5, 32x32, batch 64)."""
    ap.add_argument("--steps", type=int, default=steps, help="search steps per timed epoch")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--channels", type=int, default=16)
    ap.add_argument("--cells", type=int, default=5)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--batch", type=int, default=64)


#: The supernet keys that ``--channels`` / ``--cells`` set, per space.
SIZE_KEYS: dict[str, tuple[str, str]] = {"nb201": ("channels", "cells_per_stage"), "darts": ("C", "layers")}


def paper_search_config(method: str, order: int, args: argparse.Namespace, space: str = "nb201") -> SearchConfig:
    """The paper config's search settings for ``method`` and ``order`` in ``space``, at the benchmark's
    sizes, without Hessian tracking (the benchmarks time search steps)."""
    paper = yaml.safe_load(PAPER_CONFIG.read_text())
    cfg = search_config(paper, space, "random", method, order, seed=0)
    width, depth = SIZE_KEYS[space]
    model = {**cfg.model, width: args.channels, depth: args.cells}
    return dataclasses.replace(cfg, batch_size=args.batch, model=model, hessian_every=0)


def random_halves(args: argparse.Namespace) -> tuple[ImageSet, ImageSet, DataConfig]:
    """Random CIFAR-sized images for ``args.steps`` steps, split into (weights, architecture) halves, and
    the paper's augmentation."""
    n = 2 * args.batch * args.steps
    gen = torch.Generator().manual_seed(0)
    data = ImageSet(torch.randn(n, 3, args.size, args.size, generator=gen),
                    torch.randint(10, (n,), generator=gen), 10)
    w_half, a_half = search_split(data, 0)
    return w_half, a_half, DataConfig("random", "digits", crop_padding=4, flip=True)
