"""The retrain / transfer stage: train one DARTS-space cell from scratch and write its three output files.

``genotype`` is a published name (``published:DARTS_V2``) or a ``genotype.json`` written by the search or
selection stage (its ``genotype`` key holds the canonical text). ``data`` names how batches are made:

- ``{kind: memory, train: <DataConfig mapping>, test: <DataConfig mapping>}``: CIFAR-10/100, image zips;
  ``{kind: memory, train: ..., holdout: 0.3}`` for a source without a test split (digits);
- ``{kind: folder, root: <ImageNet folder>, crop: 224, eval_resize: 256, workers: 8}``: streamed.

Under torchrun with several GPUs every rank runs this; rank 0 writes the outputs and the checkpoint.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from balenas.cost import count_macs_m
import torch

from balenas.data import DataConfig, ImageSet, check_data_config, load_dataset
from balenas.registry import Registry
from balenas.runtime import derived_generator, set_threads
from balenas.spaces.darts import DartsGenotype, format_genotype, parse_genotype, published_genotype
from balenas.train import DistContext, TrainConfig, TrainResult, init_distributed, train, train_metrics, write_outputs
from balenas.train_data import FolderConfig, FolderTrainData, MemoryTrainData, TrainData, check_image_folder

log = logging.getLogger(__name__)

PUBLISHED_PREFIX = "published:"

DataFactory = Callable[[Mapping[str, Any], TrainConfig, DistContext], TrainData]
TRAIN_DATA: Registry[DataFactory] = Registry("retrain data kind")


def holdout_split(data: ImageSet, fraction: float) -> tuple[ImageSet, ImageSet]:
    """(train, test) for a source without a test split (digits): a fixed, seed-independent holdout."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"retrain data: holdout must be in (0, 1), got {fraction}")
    perm = torch.randperm(len(data), generator=derived_generator(303))
    n_test = max(1, int(round(len(data) * fraction)))
    return data.subset(perm[n_test:].sort().values), data.subset(perm[:n_test].sort().values)


@TRAIN_DATA.register("memory")
def _memory(spec: Mapping[str, Any], cfg: TrainConfig, ctx: DistContext) -> TrainData:
    train_cfg = DataConfig.from_mapping("train", spec["train"])
    check_data_config(train_cfg)
    train_set = load_dataset(train_cfg, 0)  # the data (and any subset of it) does not depend on the retrain seed
    if "test" in spec:
        test_cfg = DataConfig.from_mapping("test", {**spec["test"], "augment": False})
        check_data_config(test_cfg)
        test_set = load_dataset(test_cfg, 0)
    else:
        train_set, test_set = holdout_split(train_set, float(spec["holdout"]))
    return MemoryTrainData(train_set, test_set, train_cfg, cfg.cutout, cfg.batch_size, cfg.seed,
                           cfg.eval_batch_size, ctx.rank, ctx.world)


@TRAIN_DATA.register("folder")
def _folder(spec: Mapping[str, Any], cfg: TrainConfig, ctx: DistContext) -> TrainData:
    fcfg = FolderConfig(**{k: (tuple(v) if k == "jitter" else v) for k, v in spec.items() if k != "kind"})
    return FolderTrainData(fcfg, cfg.batch_size, cfg.seed, cfg.eval_batch_size, ctx.rank, ctx.world)


def check_data_spec(spec: Mapping[str, Any]) -> None:
    """Fail before any work when the data cannot be read (an ImageNet folder is checked in full)."""
    kind = spec.get("kind")
    TRAIN_DATA.get(str(kind))
    if kind == "folder":
        if not spec.get("root"):
            raise ValueError("retrain data: kind 'folder' needs root (the ImageNet folder)")
        check_image_folder(spec["root"])
    else:
        if "train" not in spec or ("test" in spec) == ("holdout" in spec):
            raise KeyError("retrain data: kind 'memory' needs a 'train' data mapping and either 'test' or 'holdout'")
        for split in ("train", "test"):
            if split in spec:
                check_data_config(DataConfig.from_mapping(split, spec[split]))


def resolve_genotype(spec: str) -> DartsGenotype:
    """``published:<NAME>`` or the path of a genotype.json (key ``genotype``: the canonical text)."""
    if spec.startswith(PUBLISHED_PREFIX):
        return published_genotype(spec[len(PUBLISHED_PREFIX):])
    path = Path(spec)
    if not path.is_file():
        raise FileNotFoundError(f"genotype {spec!r}: neither {PUBLISHED_PREFIX}<name> nor an existing genotype.json")
    blob = json.loads(path.read_text())
    if "genotype" not in blob:
        raise KeyError(f"{path}: no 'genotype' key (expected the canonical DARTS genotype text)")
    return parse_genotype(blob["genotype"])


def retrain_stage(train_cfg: Mapping[str, Any], data: Mapping[str, Any], genotype: str, outputs: str | Path,
                  checkpoint: str | Path, run: str, threads: int = 1, device: str = "cpu", code: str = "",
                  count_flops: bool = True) -> TrainResult:
    """Train, then (rank 0) write metrics.json, history.csv and model.pt into ``outputs`` and drop the checkpoint."""
    set_threads(threads)
    check_data_spec(data)  # before anything is built
    g = resolve_genotype(genotype)
    text = format_genotype(g)
    ctx, dev = init_distributed(device)
    cfg = TrainConfig.from_mapping(run, train_cfg)
    batches = TRAIN_DATA.get(str(data["kind"]))(data, cfg, ctx)
    ckpt = Path(checkpoint)
    result = train(cfg, g, text, batches, dev, ckpt, ctx, code)  # every rank resumes; rank 0 writes
    if ctx.is_main:
        flops = count_macs_m(result.network, batches.input_shape()) if count_flops else None
        metrics = train_metrics(cfg, result, text, batches, dev, ctx, flops)
        metrics["genotype_source"] = genotype
        write_outputs(outputs, result, metrics)
        ckpt.unlink(missing_ok=True)
    return result
