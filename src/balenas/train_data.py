"""Batches for training a discrete network from scratch: in-memory image sets and a streamed ImageNet folder.

Both sources give the trainer the same thing (:class:`TrainData`): per-epoch training batches for this
process's rank, evaluation batches over this rank's share of the test set, the class count and a
description of the data for the checkpoint fingerprint. Every random draw of an epoch comes from streams
derived from ``(seed, epoch)``, so a run resumed at an epoch boundary sees the same batches.

- :class:`MemoryTrainData` holds an :class:`~balenas.data.ImageSet` (CIFAR-10/100, digits, image zips):
  random crop with padding + flip (``balenas.data.augment_batch``) then cutout.
- :class:`FolderTrainData` streams ``<root>/train/<wnid>/*.JPEG`` and ``<root>/val/<wnid>/*.JPEG`` through a
  DataLoader with workers: RandomResizedCrop + flip + ColorJitter for training, resize + center crop for
  evaluation. :func:`check_image_folder` rejects a wrong or incomplete folder before training starts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import torch

from balenas.data import DataConfig, ImageSet, augment_batch
from balenas.runtime import derived_generator

Batch = tuple[torch.Tensor, torch.Tensor]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: image file endings a class folder may hold (ImageNet's are ``.JPEG``)
IMAGE_SUFFIXES = (".jpeg", ".jpg", ".png")
#: the two splits an ImageNet-style folder must hold
FOLDER_SPLITS = ("train", "val")


class TrainData(Protocol):
    num_classes: int
    in_channels: int

    def train_batches(self, epoch: int) -> Iterator[Batch]: ...
    def steps_per_epoch(self) -> int: ...
    def eval_batches(self) -> Iterator[Batch]: ...
    def describe(self) -> dict[str, Any]: ...
    def input_shape(self) -> tuple[int, int, int]: ...


def cutout_box(h: int, w: int, cy: int, cx: int, length: int) -> tuple[int, int, int, int]:
    """The square ``length`` x ``length`` centred at ``(cy, cx)``, clipped to the image: (y0, y1, x0, x1)."""
    half = length // 2
    return max(0, cy - half), min(h, cy + half), max(0, cx - half), min(w, cx + half)


def cutout(x: torch.Tensor, length: int, generator: torch.Generator) -> torch.Tensor:
    """DARTS's cutout: per image, zero a ``length`` square (clipped at the border) at a uniform centre.

    Applied to normalised images, so the patch is the dataset mean. Centres are drawn on the CPU from
    ``generator``.
    """
    if length <= 0:
        return x
    n, _, h, w = x.shape
    cy = torch.randint(0, h, (n,), generator=generator).tolist()
    cx = torch.randint(0, w, (n,), generator=generator).tolist()
    mask = torch.ones(n, 1, h, w, dtype=x.dtype)
    for i in range(n):
        y0, y1, x0, x1 = cutout_box(h, w, cy[i], cx[i], length)
        mask[i, :, y0:y1, x0:x1] = 0.0
    return x * mask.to(x.device)


def rank_slice(index: torch.Tensor, rank: int, world: int) -> torch.Tensor:
    """This rank's share of a global batch (every ``world``-th example from ``rank``)."""
    return index[rank::world]


class MemoryTrainData:
    """Training from an in-memory image set; ``batch_size`` is the global batch (split over ranks)."""

    def __init__(self, train: ImageSet, test: ImageSet, augment: DataConfig, cutout_length: int, batch_size: int,
                 seed: int, eval_batch_size: int = 256, rank: int = 0, world: int = 1) -> None:
        if train.num_classes != test.num_classes or train.in_channels != test.in_channels:
            raise ValueError(
                f"train and test sets disagree: {train.num_classes} vs {test.num_classes} classes, "
                f"{train.in_channels} vs {test.in_channels} channels"
            )
        if batch_size < world:
            raise ValueError(f"batch_size {batch_size} is smaller than the number of processes {world}")
        self.train, self.test = train, test
        self.augment, self.cutout_length = augment, cutout_length
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.seed, self.rank, self.world = seed, rank, world
        self.num_classes, self.in_channels = train.num_classes, train.in_channels

    def _starts(self) -> range:
        # a final global batch smaller than the number of ranks is dropped (every rank needs a share,
        # or the ranks would take different numbers of steps)
        n = len(self.train)
        last = n if n % self.batch_size == 0 or n % self.batch_size >= self.world else n - n % self.batch_size
        return range(0, last, self.batch_size)

    def steps_per_epoch(self) -> int:
        return len(self._starts())

    def train_batches(self, epoch: int) -> Iterator[Batch]:
        perm = torch.randperm(len(self.train), generator=derived_generator(self.seed, epoch, 1))
        g_aug = derived_generator(self.seed, epoch, 2, self.rank)
        for start in self._starts():
            index = rank_slice(perm[start : start + self.batch_size], self.rank, self.world)
            x = augment_batch(self.train.x[index], self.augment, g_aug)
            yield cutout(x, self.cutout_length, g_aug), self.train.y[index]

    def eval_batches(self) -> Iterator[Batch]:
        index = rank_slice(torch.arange(len(self.test)), self.rank, self.world)
        for start in range(0, len(index), self.eval_batch_size):
            chunk = index[start : start + self.eval_batch_size]
            yield self.test.x[chunk], self.test.y[chunk]

    def input_shape(self) -> tuple[int, int, int]:
        return tuple(int(s) for s in self.test.x.shape[1:])  # type: ignore[return-value]

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "memory",
            "n_train": len(self.train),
            "n_test": len(self.test),
            "shape": list(self.train.x.shape[1:]),
            "augment": asdict(self.augment),
            "cutout": self.cutout_length,
            "train_meta": {k: v for k, v in self.train.meta.items() if k != "classes"},
        }


@dataclass(frozen=True)
class FolderConfig:
    """An ImageNet-style folder and its transforms (paper: crop 224, eval resize 256 / crop 224)."""

    root: str
    crop: int = 224
    eval_resize: int = 256
    jitter: tuple[float, float, float, float] = (0.4, 0.4, 0.4, 0.2)  # brightness, contrast, saturation, hue
    workers: int = 8

    def __post_init__(self) -> None:
        if self.crop < 1 or self.eval_resize < self.crop:
            raise ValueError(f"imagenet: need 1 <= crop <= eval_resize, got crop {self.crop}, resize {self.eval_resize}")
        if self.workers < 0:
            raise ValueError(f"imagenet.workers must be >= 0, got {self.workers}")


def _class_folders(split_dir: Path) -> dict[str, int]:
    """Class folder name -> number of image files in it."""
    return {
        d.name: sum(1 for f in d.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
        for d in sorted(split_dir.iterdir())
        if d.is_dir()
    }


def check_image_folder(root: str | Path) -> dict[str, Any]:
    """Fail, naming the folder and what is missing, unless ``root`` holds ``train/<wnid>/`` and ``val/<wnid>/``
    image folders with the same classes and at least one image in each; returns counts per split.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"ImageNet folder {root}: does not exist (expected train/<wnid>/*.JPEG and val/<wnid>/*.JPEG)")
    found: dict[str, dict[str, int]] = {}
    for split in FOLDER_SPLITS:
        split_dir = root / split
        if not split_dir.is_dir():
            raise FileNotFoundError(f"ImageNet folder {root}: missing the {split}/ folder (expected {split}/<wnid>/*.JPEG)")
        classes = _class_folders(split_dir)
        if not classes:
            loose = sum(1 for f in split_dir.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
            hint = f" ({loose} images lie directly in it: sort them into {split}/<wnid>/)" if loose else ""
            raise FileNotFoundError(f"ImageNet folder {root}: {split}/ has no class folders <wnid>/{hint}")
        empty = [c for c, n in classes.items() if n == 0]
        if empty:
            shown = ", ".join(empty[:5]) + (" ..." if len(empty) > 5 else "")
            raise FileNotFoundError(
                f"ImageNet folder {root}: {len(empty)} class folder(s) of {split}/ hold no images "
                f"({'/'.join(IMAGE_SUFFIXES)}): {shown}"
            )
        found[split] = classes
    missing = sorted(set(found["train"]) - set(found["val"]))
    extra = sorted(set(found["val"]) - set(found["train"]))
    if missing or extra:
        raise FileNotFoundError(
            f"ImageNet folder {root}: train/ and val/ classes differ; missing in val/: {missing[:5]}"
            f"{' ...' if len(missing) > 5 else ''}; missing in train/: {extra[:5]}{' ...' if len(extra) > 5 else ''}"
        )
    return {
        "classes": len(found["train"]),
        "n_train": sum(found["train"].values()),
        "n_val": sum(found["val"].values()),
    }


def folder_transforms(cfg: FolderConfig) -> tuple[Any, Any]:
    """(train, eval) torchvision transforms: RandomResizedCrop + flip + ColorJitter; resize + center crop."""
    from torchvision import transforms as T

    normalise = T.Normalize(IMAGENET_MEAN, IMAGENET_STD)
    train = T.Compose([
        T.RandomResizedCrop(cfg.crop), T.RandomHorizontalFlip(), T.ColorJitter(*cfg.jitter), T.ToTensor(), normalise,
    ])
    evaluate = T.Compose([T.Resize(cfg.eval_resize), T.CenterCrop(cfg.crop), T.ToTensor(), normalise])
    return train, evaluate


def _seed_worker(worker_id: int) -> None:
    # DataLoader seeds torch in each worker from its generator; numpy/python follow from torch's seed
    import random

    import numpy as np

    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


class FolderTrainData:
    """A streamed ImageNet-style folder; ``batch_size`` is the global batch (``batch_size / world`` per rank)."""

    def __init__(self, cfg: FolderConfig, batch_size: int, seed: int, eval_batch_size: int = 256, rank: int = 0,
                 world: int = 1) -> None:
        from torchvision.datasets import ImageFolder

        self.counts = check_image_folder(cfg.root)
        if batch_size % world:
            raise ValueError(f"batch_size {batch_size} is not divisible by the number of processes {world}")
        self.cfg, self.seed, self.rank, self.world = cfg, seed, rank, world
        self.per_rank = batch_size // world
        self.eval_batch_size = eval_batch_size
        train_tf, eval_tf = folder_transforms(cfg)
        self.train_set = ImageFolder(str(Path(cfg.root) / "train"), transform=train_tf)
        self.val_set = ImageFolder(str(Path(cfg.root) / "val"), transform=eval_tf)
        self.num_classes, self.in_channels = len(self.train_set.classes), 3

    def _loader(self, dataset: Any, batch_size: int, sampler: Any, generator: torch.Generator | None) -> Any:
        from torch.utils.data import DataLoader

        return DataLoader(
            dataset, batch_size=batch_size, sampler=sampler, num_workers=self.cfg.workers, generator=generator,
            worker_init_fn=_seed_worker, pin_memory=torch.cuda.is_available(),
            persistent_workers=False, drop_last=False,
        )

    def steps_per_epoch(self) -> int:
        n = len(self.train_set)
        return -(-(n // self.world if self.world > 1 else n) // self.per_rank)

    def train_batches(self, epoch: int) -> Iterator[Batch]:
        from torch.utils.data import DistributedSampler, RandomSampler

        generator = derived_generator(self.seed, epoch, 1, self.rank)
        if self.world > 1:
            sampler: Any = DistributedSampler(self.train_set, self.world, self.rank, shuffle=True, seed=self.seed,
                                              drop_last=True)
            sampler.set_epoch(epoch)
        else:
            sampler = RandomSampler(self.train_set, generator=derived_generator(self.seed, epoch, 2))
        # without workers the transforms draw from the global stream: seed it per (seed, epoch)
        torch.manual_seed(int(torch.randint(0, 2**62, (1,), generator=derived_generator(self.seed, epoch, 3, self.rank))))
        yield from self._loader(self.train_set, self.per_rank, sampler, generator)

    def eval_batches(self) -> Iterator[Batch]:
        from torch.utils.data import Subset

        share = Subset(self.val_set, list(range(self.rank, len(self.val_set), self.world)))
        yield from self._loader(share, self.eval_batch_size, None, None)

    def input_shape(self) -> tuple[int, int, int]:
        return (3, self.cfg.crop, self.cfg.crop)

    def describe(self) -> dict[str, Any]:
        return {"kind": "folder", **asdict(self.cfg), **self.counts}
