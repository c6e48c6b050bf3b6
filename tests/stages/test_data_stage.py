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
