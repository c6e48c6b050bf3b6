"""Datasets behind one interface: every source yields an in-memory :class:`ImageSet`.

Sources (``data.<name>.source`` in config): ``digits`` (scikit-learn's bundled 8x8 digits, offline),
``cifar10`` / ``cifar100`` (torchvision: read from ``root``, or download there when ``download: true``),
and ``imagezip`` (a zip of ``<prefix>/<split>/<class>/<image>`` files, like the shared CIFAR-10 JPEGs).
The search split (two halves: weights / architecture) is a deterministic function of the seed.
"""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from balenas.registry import Registry
from balenas.runtime import derived_generator

log = logging.getLogger(__name__)

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
CIFAR100_MEAN = (0.5071, 0.4865, 0.4409)
CIFAR100_STD = (0.2673, 0.2564, 0.2762)


@dataclass(frozen=True)
class DataConfig:
    """One entry of ``data:`` in config."""

    name: str
    source: str
    split: str = "train"
    root: str | None = None  # torchvision folder or zip path
    download: bool = False
    input_size: int | None = None  # resize (square); None keeps the native size
    max_examples: int | None = None  # seeded subset before splitting (CPU-scale runs)
    augment: bool = True
    crop_padding: int = 4
    flip: bool = True
    decoded: str | None = None  # imagezip: the decoded split written by rule decode_data (set by the workflow)

    @staticmethod
    def from_mapping(name: str, cfg: Mapping[str, Any]) -> DataConfig:
        known = set(DataConfig.__dataclass_fields__) - {"name"}
        unknown = sorted(set(cfg) - known)
        if unknown:
            raise KeyError(f"data.{name}: unknown keys {unknown}; valid keys: {sorted(known)}")
        return DataConfig(name=name, **dict(cfg))


@dataclass(frozen=True)
class ImageSet:
    """Normalised images ``x`` (n, c, h, w) float32 and labels ``y`` (n,) int64."""

    x: torch.Tensor
    y: torch.Tensor
    num_classes: int
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.x.ndim != 4 or self.y.ndim != 1 or len(self.x) != len(self.y):
            raise ValueError(f"ImageSet needs x (n,c,h,w) and y (n,), got {tuple(self.x.shape)}, {tuple(self.y.shape)}")

    def __len__(self) -> int:
        return len(self.y)

    @property
    def in_channels(self) -> int:
        return int(self.x.shape[1])

    def subset(self, index: torch.Tensor) -> ImageSet:
        return ImageSet(self.x[index], self.y[index], self.num_classes, dict(self.meta))


Loader = Callable[[DataConfig, int], ImageSet]
SOURCES: Registry[Loader] = Registry("data source")


#: The ``split`` values each source can load. ``imagezip`` is absent: its split is the name of a folder
#: in the zip, checked when the zip is read. ``digits`` has one split (scikit-learn ships no test set).
SPLITS: dict[str, tuple[str, ...]] = {
    "digits": ("train",),
    "cifar10": ("train", "test"),
    "cifar100": ("train", "test"),
}


def check_split(cfg: DataConfig) -> None:
    """Reject a ``split`` the source cannot load (a typo would otherwise pick another split silently)."""
    allowed = SPLITS.get(cfg.source)
    if allowed is not None and cfg.split not in allowed:
        raise ValueError(
            f"data.{cfg.name}.split: {cfg.split!r} is not a split of source {cfg.source!r}; "
            f"allowed: {', '.join(allowed)}"
        )


def load_dataset(cfg: DataConfig, seed: int = 0) -> ImageSet:
    """Load, optionally subsample (seeded) and resize one dataset."""
    check_split(cfg)
    data = SOURCES.get(cfg.source)(cfg, seed)
    if cfg.input_size is not None and data.x.shape[-1] != cfg.input_size:
        x = F.interpolate(data.x, size=(cfg.input_size, cfg.input_size), mode="bilinear", align_corners=False)
        data = ImageSet(x.contiguous(), data.y, data.num_classes, data.meta)
    return data


def check_data_config(cfg: DataConfig) -> None:
    """Fail before any work when a configured path cannot be read."""
    SOURCES.get(cfg.source)
    check_split(cfg)
    if cfg.source in {"cifar10", "cifar100"}:
        if cfg.root is None:
            raise ValueError(f"data.{cfg.name}.root: a folder is required for source {cfg.source!r}")
        if not cfg.download and not Path(cfg.root).is_dir():
            raise FileNotFoundError(
                f"data.{cfg.name}.root: folder {cfg.root!r} does not exist (set download: true to fetch it)"
            )
    if cfg.source == "imagezip":
        if cfg.root is None or not Path(cfg.root).is_file():
            raise FileNotFoundError(f"data.{cfg.name}.root: zip file {cfg.root!r} does not exist")
        if not zipfile.is_zipfile(cfg.root):
            raise ValueError(f"data.{cfg.name}.root: {cfg.root!r} is not a zip archive")
    if cfg.max_examples is not None and cfg.max_examples < 2:
        raise ValueError(f"data.{cfg.name}.max_examples must be >= 2, got {cfg.max_examples}")


def _normalise(x: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    m = torch.tensor(mean, dtype=x.dtype).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=x.dtype).view(1, -1, 1, 1)
    return (x - m) / s


def _subset_index(n: int, max_examples: int | None, seed: int) -> torch.Tensor:
    if max_examples is None or max_examples >= n:
        return torch.arange(n)
    return torch.randperm(n, generator=derived_generator(seed, 101))[:max_examples].sort().values


@SOURCES.register("digits")
def _load_digits(cfg: DataConfig, seed: int) -> ImageSet:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(bunch.target, dtype=torch.int64)
    index = _subset_index(len(y), cfg.max_examples, seed)
    x, y = x[index], y[index]
    x = (x - 0.3) / 0.4  # digits pixel mean/std (0..1 scale) are about 0.30 / 0.40
    return ImageSet(x, y, 10, {"source": "digits", "n_total": len(bunch.target)})


def _uint8_hwc_to_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div_(255.0)


def _load_torchvision(cfg: DataConfig, seed: int, cls_name: str, mean: tuple, std: tuple, classes: int) -> ImageSet:
    import torchvision

    cls = getattr(torchvision.datasets, cls_name)
    try:
        # load_dataset has checked that split is "train" or "test"
        ds = cls(root=cfg.root, train=cfg.split == "train", download=cfg.download)
    except RuntimeError as err:
        raise FileNotFoundError(f"data.{cfg.name}.root: cannot read {cls_name} in {cfg.root!r}: {err}") from err
    index = _subset_index(len(ds.targets), cfg.max_examples, seed)
    x = _normalise(_uint8_hwc_to_tensor(ds.data[index.numpy()]), mean, std)
    y = torch.tensor(ds.targets, dtype=torch.int64)[index]
    return ImageSet(x, y, classes, {"source": cls_name, "n_total": len(ds.targets)})


SOURCES.add("cifar10", lambda c, s: _load_torchvision(c, s, "CIFAR10", CIFAR10_MEAN, CIFAR10_STD, 10))
SOURCES.add("cifar100", lambda c, s: _load_torchvision(c, s, "CIFAR100", CIFAR100_MEAN, CIFAR100_STD, 100))


def list_zip_images(path: str | Path, split: str) -> tuple[list[str], list[int], list[str]]:
    """Entries ``.../<split>/<class>/<file>`` of an image-folder zip: (names, labels, class names)."""
    with zipfile.ZipFile(path) as zf:
        names = [n for n in zf.namelist() if not n.endswith("/")]
    entries = []
    for name in names:
        parts = name.split("/")
        if len(parts) >= 3 and parts[-3] == split:
            entries.append((parts[-2], name))
    if not entries:
        raise ValueError(f"{path}: no images under '<prefix>/{split}/<class>/' in the zip")
    classes = sorted({c for c, _ in entries})
    entries.sort(key=lambda e: (e[0], e[1]))
    return [n for _, n in entries], [classes.index(c) for c, _ in entries], classes


def decode_zip_images(path: str | Path, split: str, names: list[str] | None = None) -> np.ndarray:
    """Decode ``names`` (default: every image of ``split``, in :func:`list_zip_images` order) to one
    uint8 array (n, h, w, 3); fails on the first unreadable member, naming the zip and the member."""
    from PIL import Image, UnidentifiedImageError

    names = list_zip_images(path, split)[0] if names is None else names
    images, first_shape = [], None
    with zipfile.ZipFile(path) as zf:
        for name in names:
            try:
                with Image.open(io.BytesIO(zf.read(name))) as im:
                    image = np.asarray(im.convert("RGB"))
            except (UnidentifiedImageError, OSError, zipfile.BadZipFile, ValueError) as err:
                raise ValueError(f"{path}: member {name!r} is not a readable image "
                                 f"({type(err).__name__}: {err})") from None
            if first_shape is None:
                first_shape = (name, image.shape)
            elif image.shape != first_shape[1]:
                raise ValueError(f"{path}: member {name!r} is {image.shape}, {first_shape[0]!r} is "
                                 f"{first_shape[1]}: images of different sizes")
            images.append(image)
    return np.stack(images)


#: The decoded file's format (rule decode_data): torch.save of plain tensors and lists, read with
#: weights_only=True; its sha256 is recorded in decoded.json beside it and checked on every load.
DECODED_RECORD = "decoded.json"


def load_decoded(path: str | Path) -> dict[str, Any]:
    """The decoded split written by :func:`balenas.stages.data.decode_stage`, checksum-verified."""
    import json

    from balenas.runtime import sha256_file

    path = Path(path)
    record_path = path.with_name(DECODED_RECORD)
    record = json.loads(record_path.read_text())
    digest = sha256_file(path)
    if digest != record["sha256"]:
        raise ValueError(f"{path}: sha256 {digest} differs from {record['sha256']} in {record_path}; "
                         "delete both files to decode the zip again")
    return torch.load(path, map_location="cpu", weights_only=True)


@SOURCES.register("imagezip")
def _load_imagezip(cfg: DataConfig, seed: int) -> ImageSet:
    assert cfg.root is not None
    if cfg.decoded is not None:  # issue 16: decoded once by rule decode_data, loaded here
        blob = load_decoded(cfg.decoded)
        if blob["split"] != cfg.split or blob["zip"] != str(cfg.root):
            raise ValueError(f"{cfg.decoded}: holds {blob['zip']}:{blob['split']}, data.{cfg.name} wants "
                             f"{cfg.root}:{cfg.split}")
        classes, n = list(blob["classes"]), len(blob["labels"])
        index = _subset_index(n, cfg.max_examples, seed)
        images = blob["images"][index].numpy()
        y = blob["labels"][index]
    else:
        names, labels, classes = list_zip_images(cfg.root, cfg.split)
        n = len(names)
        index = _subset_index(n, cfg.max_examples, seed)
        images = decode_zip_images(cfg.root, cfg.split, [names[i] for i in index.tolist()])
        y = torch.tensor(labels, dtype=torch.int64)[index]
    x = _normalise(_uint8_hwc_to_tensor(images), CIFAR10_MEAN, CIFAR10_STD)
    return ImageSet(x, y, len(classes), {"source": "imagezip", "classes": classes, "n_total": n})


def search_split(data: ImageSet, seed: int) -> tuple[ImageSet, ImageSet]:
    """Two disjoint halves (weights, architecture), a deterministic function of the seed."""
    if len(data) < 2:
        raise ValueError(f"need at least 2 examples to split, got {len(data)}")
    perm = torch.randperm(len(data), generator=derived_generator(seed, 202))
    half = len(data) // 2
    return data.subset(perm[:half]), data.subset(perm[half : 2 * half])


def augment_batch(x: torch.Tensor, cfg: DataConfig, generator: torch.Generator) -> torch.Tensor:
    """Random crop with zero padding and (optionally) horizontal flips, drawn from ``generator``.

    ``generator`` is a CPU generator (the same draws on every device); ``x`` may live on any device.
    """
    if not cfg.augment:
        return x
    n, _, h, w = x.shape
    if cfg.crop_padding > 0:
        p = cfg.crop_padding
        padded = F.pad(x, (p, p, p, p))
        dy = torch.randint(0, 2 * p + 1, (n,), generator=generator).tolist()
        dx = torch.randint(0, 2 * p + 1, (n,), generator=generator).tolist()
        x = torch.stack([padded[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(n)])
    if cfg.flip:
        flip = (torch.rand(n, generator=generator) < 0.5).to(x.device)
        x = torch.where(flip.view(n, 1, 1, 1), x.flip(-1), x)
    return x
