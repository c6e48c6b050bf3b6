import io
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from balenas.data import (
    SOURCES,
    DataConfig,
    augment_batch,
    check_data_config,
    list_zip_images,
    load_dataset,
    search_split,
)


def test_digits_is_real_and_resized():
    data = load_dataset(DataConfig("digits", "digits", input_size=16))
    assert len(data) == 1797 and data.num_classes == 10
    assert data.x.shape == (1797, 1, 16, 16)
    assert sorted(data.y.unique().tolist()) == list(range(10))


def test_subset_is_seeded():
    a = load_dataset(DataConfig("digits", "digits", max_examples=100), seed=0)
    b = load_dataset(DataConfig("digits", "digits", max_examples=100), seed=0)
    c = load_dataset(DataConfig("digits", "digits", max_examples=100), seed=1)
    assert torch.equal(a.x, b.x) and len(a) == 100
    assert not torch.equal(a.y, c.y)


def test_search_split_is_disjoint_halves_and_deterministic():
    data = load_dataset(DataConfig("digits", "digits"))
    tagged = data.subset(torch.arange(len(data)))
    tagged = type(data)(torch.arange(len(data)).float().view(-1, 1, 1, 1), data.y, 10)
    w1, a1 = search_split(tagged, seed=3)
    w2, a2 = search_split(tagged, seed=3)
    ids_w, ids_a = set(w1.x.flatten().tolist()), set(a1.x.flatten().tolist())
    assert not ids_w & ids_a and len(ids_w) == len(ids_a) == len(data) // 2
    assert torch.equal(w1.x, w2.x) and torch.equal(a1.x, a2.x)
    w3, _ = search_split(tagged, seed=4)
    assert not torch.equal(w1.x, w3.x)


def test_augmentation_crops_within_padding_and_is_reproducible():
    x = torch.arange(2 * 3 * 5 * 5, dtype=torch.float32).view(2, 3, 5, 5) + 1
    cfg = DataConfig("t", "digits", crop_padding=1, flip=False)
    a = augment_batch(x, cfg, torch.Generator().manual_seed(0))
    b = augment_batch(x, cfg, torch.Generator().manual_seed(0))
    assert torch.equal(a, b) and a.shape == x.shape
    # every output pixel is either padding (0) or a pixel of the same image and channel
    for i in range(2):
        for c in range(3):
            assert set(a[i, c].flatten().tolist()) <= set(x[i, c].flatten().tolist()) | {0.0}
    off = DataConfig("t", "digits", augment=False)
    assert torch.equal(augment_batch(x, off, torch.Generator()), x)


def _tiny_zip(path, split="train"):
    with zipfile.ZipFile(path, "w") as zf:
        for cls, colour in (("cat", 200), ("ship", 20)):
            for k in range(3):
                buf = io.BytesIO()
                Image.fromarray(np.full((4, 4, 3), colour, dtype=np.uint8)).save(buf, format="PNG")
                zf.writestr(f"imgs/{split}/{cls}/{k}.png", buf.getvalue())


def test_imagezip_reads_classes_from_folders(tmp_path):
    path = tmp_path / "tiny.zip"
    _tiny_zip(path)
    names, labels, classes = list_zip_images(path, "train")
    assert classes == ["cat", "ship"] and labels == [0, 0, 0, 1, 1, 1]
    data = load_dataset(DataConfig("tiny", "imagezip", root=str(path)))
    assert data.x.shape == (6, 3, 4, 4) and data.num_classes == 2
    assert data.x[0].mean() > data.x[5].mean()  # bright cats, dark ships
    with pytest.raises(ValueError, match="test"):
        list_zip_images(path, "test")


def test_real_cifar10_zip_subset(cifar10_test_zip):
    data = load_dataset(DataConfig("c10", "imagezip", root=str(cifar10_test_zip), split="test", max_examples=64))
    assert data.x.shape == (64, 3, 32, 32) and data.num_classes == 10
    assert abs(float(data.x.mean())) < 0.5  # normalised with CIFAR-10 statistics


@pytest.mark.parametrize(
    "cfg, err, match",
    [
        (DataConfig("c10", "cifar10", root="/nonexistent/cifar"), FileNotFoundError, "data.c10.root"),
        (DataConfig("c10", "cifar10"), ValueError, "data.c10.root"),
        (DataConfig("z", "imagezip", root="/nonexistent.zip"), FileNotFoundError, "data.z.root"),
        (DataConfig("x", "imagenet"), KeyError, "valid data sources"),
    ],
)
def test_bad_data_config_names_the_key(cfg, err, match):
    with pytest.raises(err, match=match):
        check_data_config(cfg)


@pytest.mark.parametrize(
    "cfg, allowed",
    [
        (DataConfig("c10", "cifar10", root="/tmp", split="tset"), "train, test"),
        (DataConfig("c100", "cifar100", root="/tmp", split="valid"), "train, test"),
        (DataConfig("d", "digits", split="test"), "train"),
    ],
)
def test_unknown_split_is_rejected_naming_key_and_allowed_values(cfg, allowed):
    """A typo in split used to load the CIFAR test set silently (train = split == "train")."""
    match = f"data.{cfg.name}.split: '{cfg.split}'.*allowed: {allowed}$"
    with pytest.raises(ValueError, match=match):
        check_data_config(cfg)
    with pytest.raises(ValueError, match=match):
        load_dataset(cfg)


def test_known_splits_pass_the_check(tmp_path):
    for split in ("train", "test"):
        check_data_config(DataConfig("c10", "cifar10", root=str(tmp_path), split=split))
    check_data_config(DataConfig("d", "digits"))


def test_augmentation_runs_on_the_device_of_its_input():
    """The flip mask is drawn on the CPU generator; it must follow x to x's device (CUDA crashed here)."""
    x = torch.zeros(4, 3, 8, 8, device="meta")
    out = augment_batch(x, DataConfig("t", "digits", crop_padding=2, flip=True), torch.Generator().manual_seed(0))
    assert out.device == x.device and out.shape == x.shape


def test_not_a_zip_is_rejected(tmp_path):
    bad = tmp_path / "fake.zip"
    bad.write_text("not a zip")
    with pytest.raises(ValueError, match="not a zip"):
        check_data_config(DataConfig("z", "imagezip", root=str(bad)))


def test_unknown_data_keys_are_rejected():
    with pytest.raises(KeyError, match="data.d: unknown keys"):
        DataConfig.from_mapping("d", {"source": "digits", "resize": 3})


def test_registered_sources():
    assert set(SOURCES.keys()) >= {"digits", "cifar10", "cifar100", "imagezip"}
