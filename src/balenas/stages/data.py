"""Stage ``prepare_data``: fetch a downloadable dataset once, before any job reads it.

Every job that reads ``data.<name>`` with ``download: true`` depends on the record this stage writes, so
one job (a local rule: cluster compute nodes are often offline) downloads into ``root`` and the parallel
search and scoring jobs only read what is there.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from balenas.data import DataConfig, ImageSet, decode_zip_images, list_zip_images, load_dataset
from balenas.runtime import environment_info, sha256_file, torch_save, write_json

log = logging.getLogger(__name__)

SPLITS: tuple[str, ...] = ("train", "test")


def split_summary(data: ImageSet) -> dict[str, Any]:
    return {"n_total": data.meta.get("n_total", len(data)), "shape": list(data.x.shape[1:]),
            "num_classes": data.num_classes}


def prepare_stage(data_cfg: Mapping[str, Any], output: str | Path) -> dict[str, Any]:
    """Download (if absent) and read both splits of one dataset; write what was found to ``output``."""
    cfg = DataConfig(**data_cfg)
    if not cfg.download:
        raise ValueError(f"data.{cfg.name}: prepare_data is for datasets with download: true")
    record: dict[str, Any] = {"dataset": cfg.name, "source": cfg.source, "root": cfg.root, "splits": {}}
    for split in SPLITS:
        # Two examples are enough to check the split reads; the loader still fetches the whole archive.
        probe = dataclasses.replace(cfg, split=split, max_examples=2, input_size=None)
        data = load_dataset(probe)
        record["splits"][split] = split_summary(data)
        log.info("data.%s split %s: %d examples in %s", cfg.name, split, record["splits"][split]["n_total"],
                 cfg.root)
    record["environment"] = environment_info(torch.device("cpu"))
    write_json(output, record)
    return record


def decode_stage(data_cfg: Mapping[str, Any], decoded: str | Path, record: str | Path) -> dict[str, Any]:
    """Decode the configured split of an image zip once: fail on the first unreadable member (naming the
    zip and the member), else write the uint8 images, labels and class names to ``decoded`` and its
    sha256 to ``record``. Every job then loads ``decoded`` instead of decoding the zip again."""
    cfg = DataConfig(**{**data_cfg, "decoded": None})
    if cfg.source != "imagezip" or cfg.root is None:
        raise ValueError(f"data.{cfg.name}: decode_data is for source imagezip with a root zip")
    names, labels, classes = list_zip_images(cfg.root, cfg.split)
    images = decode_zip_images(cfg.root, cfg.split, names)
    torch_save({"zip": str(cfg.root), "split": cfg.split, "classes": list(classes),
                "images": torch.from_numpy(images), "labels": torch.tensor(labels, dtype=torch.int64)}, decoded)
    out = {"dataset": cfg.name, "zip": str(cfg.root), "split": cfg.split, "n": len(names),
           "shape": list(images.shape[1:]), "classes": list(classes), "sha256": sha256_file(decoded)}
    write_json(record, out)
    log.info("data.%s: decoded %d images %s from %s (%s)", cfg.name, len(names), tuple(images.shape[1:]),
             cfg.root, cfg.split)
    return out
