"""prepare_data: reads both splits through the configured source with download on, records what it found."""

from __future__ import annotations

import json

import pytest
import torch

from balenas.data import SOURCES, DataConfig, ImageSet
from balenas.stages.data import prepare_stage

CALLS: list[DataConfig] = []


@pytest.fixture
def fake_source(monkeypatch):
    def load(cfg: DataConfig, seed: int) -> ImageSet:
        CALLS.append(cfg)
        n = {"train": 50, "test": 10}[cfg.split]
        return ImageSet(torch.zeros(2, 3, 4, 4), torch.zeros(2, dtype=torch.int64), 7, {"n_total": n})

    CALLS.clear()
    monkeypatch.setitem(SOURCES._items, "fake_download", load)


def test_prepare_reads_both_splits_with_download_and_records_them(tmp_path, fake_source):
    out = tmp_path / "results/data/c/prepared.json"
    cfg = {"name": "c", "source": "fake_download", "root": str(tmp_path / "c"), "download": True,
           "max_examples": 1000, "input_size": 16}
    prepare_stage(cfg, out)
    assert [c.split for c in CALLS] == ["train", "test"]
    assert all(c.download and c.max_examples == 2 and c.input_size is None for c in CALLS)
    record = json.loads(out.read_text())
    assert record["splits"]["train"] == {"n_total": 50, "shape": [3, 4, 4], "num_classes": 7}
    assert record["splits"]["test"]["n_total"] == 10
    assert record["dataset"] == "c" and "torch" in record["environment"]


def test_prepare_refuses_a_dataset_without_download(tmp_path):
    with pytest.raises(ValueError, match="download: true"):
        prepare_stage({"name": "d", "source": "digits"}, tmp_path / "x.json")
    assert not (tmp_path / "x.json").exists()


def _zip_with(path, corrupt: str | None = None):
    import io
    import zipfile

    import numpy as np
    from PIL import Image

    with zipfile.ZipFile(path, "w") as zf:
        for cls, colour in (("cat", 200), ("ship", 20)):
            for k in range(3):
                name = f"imgs/train/{cls}/{k}.png"
                buf = io.BytesIO()
                Image.fromarray(np.full((4, 4, 3), colour + k, dtype=np.uint8)).save(buf, format="PNG")
                zf.writestr(name, b"not an image" if name == corrupt else buf.getvalue())


def test_decode_fails_on_the_corrupt_member_naming_zip_and_member(tmp_path):
    from balenas.stages.data import decode_stage

    archive = tmp_path / "images.zip"
    _zip_with(archive, corrupt="imgs/train/ship/1.png")
    cfg = {"name": "z", "source": "imagezip", "root": str(archive)}
    with pytest.raises(ValueError, match=r"images\.zip: member 'imgs/train/ship/1\.png' is not a readable image"):
        decode_stage(cfg, tmp_path / "decoded.pt", tmp_path / "decoded.json")
    assert not (tmp_path / "decoded.pt").exists() and not (tmp_path / "decoded.json").exists()


def test_decoded_file_loads_the_same_images_as_the_zip_and_is_checksummed(tmp_path):
    from balenas.data import load_dataset
    from balenas.stages.data import decode_stage

    archive = tmp_path / "images.zip"
    _zip_with(archive)
    cfg = {"name": "z", "source": "imagezip", "root": str(archive), "max_examples": 4}
    record = decode_stage(cfg, tmp_path / "decoded.pt", tmp_path / "decoded.json")
    assert record["n"] == 6 and record["classes"] == ["cat", "ship"] and len(record["sha256"]) == 64
    direct = load_dataset(DataConfig(**cfg), seed=3)
    loaded = load_dataset(DataConfig(**cfg, decoded=str(tmp_path / "decoded.pt")), seed=3)
    assert torch.equal(direct.x, loaded.x) and torch.equal(direct.y, loaded.y)
    assert direct.meta == loaded.meta
    blob = bytearray((tmp_path / "decoded.pt").read_bytes())
    blob[-20] ^= 0xFF
    (tmp_path / "decoded.pt").write_bytes(bytes(blob))
    with pytest.raises(ValueError, match="sha256"):
        load_dataset(DataConfig(**cfg, decoded=str(tmp_path / "decoded.pt")), seed=3)
