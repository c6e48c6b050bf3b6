"""The retrain stage: a published cell on digits end to end; bad inputs fail before training."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from balenas.stages.retrain import check_data_spec, resolve_genotype, retrain_stage
from balenas.train import RETRAIN_OUTPUTS

TINY = {"epochs": 1, "batch_size": 32, "lr": 0.05, "cutout": 2, "log_every": 1,
        "network": {"C": 4, "layers": 3, "auxiliary": True, "drop_path_prob": 0.1}}
DIGITS = {"kind": "memory", "train": {"source": "digits", "max_examples": 96, "crop_padding": 1}, "holdout": 0.25}


def test_retrain_stage_writes_outputs_and_removes_checkpoint(tmp_path: Path) -> None:
    out, ckpt = tmp_path / "out", tmp_path / "ckpt" / "run.pt"
    retrain_stage(TINY, DIGITS, "published:DARTS_V2", out, ckpt, run="tiny/DARTS_V2/seed-0")
    assert sorted(p.name for p in out.iterdir()) == sorted(RETRAIN_OUTPUTS)
    assert not ckpt.exists()
    m = json.loads((out / "metrics.json").read_text())
    assert m["genotype_source"] == "published:DARTS_V2" and m["epochs_done"] == 1 and m["flops_m"] > 0
    assert m["environment"]["device"] == "cpu" and m["config"]["epochs"] == 1
    assert m["data"]["n_train"] == 72 and m["data"]["n_test"] == 24 and m["test_n"] == 24


def test_bad_inputs_fail_before_training(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="unknown published DARTS genotype 'NOPE'"):
        resolve_genotype("published:NOPE")
    with pytest.raises(FileNotFoundError, match="neither published"):
        resolve_genotype(str(tmp_path / "missing.json"))
    with pytest.raises(FileNotFoundError, match=r"ImageNet folder .*imagenet: does not exist"):
        retrain_stage(TINY, {"kind": "folder", "root": str(tmp_path / "imagenet")}, "published:DARTS_V2",
                      tmp_path / "o", tmp_path / "c.pt", run="x")
    with pytest.raises(KeyError, match="either 'test' or 'holdout'"):
        check_data_spec({"kind": "memory", "train": DIGITS["train"]})
    with pytest.raises(KeyError, match="unknown retrain data kind 'lmdb'"):
        check_data_spec({"kind": "lmdb"})
    with pytest.raises(KeyError, match=r"train: unknown keys \['epoch'\]"):
        retrain_stage({"epoch": 1}, DIGITS, "published:DARTS_V2", tmp_path / "o", tmp_path / "c.pt", run="x")
    assert not (tmp_path / "o").exists()
