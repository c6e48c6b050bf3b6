"""Checkpoints with a checksum: a truncated, corrupted or pickled-code file is never resumed."""

import logging
import pickle

import pytest
import torch

from balenas.checkpoints import CorruptCheckpoint, decode_checkpoint, read_checkpoint, write_checkpoint
from balenas.data import DataConfig, load_dataset
from balenas.search import SearchConfig, run_search

STATE = {"epochs_done": 3, "t": torch.arange(6.0), "history": [{"a": 1.0, "g": "x"}], "none": None}


def test_round_trip_and_same_bytes_in_two_directories(tmp_path):
    a, b = tmp_path / "a" / "c.pt", tmp_path / "b" / "other.pt"
    write_checkpoint(STATE, a)
    write_checkpoint(STATE, b)
    assert a.read_bytes() == b.read_bytes()
    got = read_checkpoint(a)
    assert got["epochs_done"] == 3 and torch.equal(got["t"], STATE["t"]) and got["history"] == STATE["history"]


@pytest.mark.parametrize("damage", ["truncate", "flip", "header"])
def test_damaged_checkpoint_is_ignored_with_a_warning(tmp_path, caplog, damage):
    path = tmp_path / "c.pt"
    write_checkpoint(STATE, path)
    blob = bytearray(path.read_bytes())
    if damage == "truncate":
        blob = blob[: len(blob) * 2 // 3]
    elif damage == "flip":
        blob[-10] ^= 0xFF
    else:
        blob = blob[5:]
    path.write_bytes(bytes(blob))
    with caplog.at_level(logging.WARNING):
        assert read_checkpoint(path) is None
    assert "starting from scratch" in caplog.text and str(path) in caplog.text
    with pytest.raises(CorruptCheckpoint):
        decode_checkpoint(bytes(blob), str(path))


class _Evil:
    def __reduce__(self):
        return (print, ("code ran",))


def test_payload_that_needs_unpickling_code_is_refused(tmp_path):
    """A file with a valid checksum whose payload is a pickled callable does not load (weights_only)."""
    import hashlib

    from balenas.checkpoints import MAGIC

    payload = pickle.dumps({"x": _Evil()}, protocol=2)
    blob = MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload
    with pytest.raises(CorruptCheckpoint, match="weights_only"):
        decode_checkpoint(blob)


def test_search_with_a_corrupt_checkpoint_starts_afresh_and_equals_a_clean_run(tmp_path, caplog):
    dcfg = DataConfig("digits", "digits", input_size=8, max_examples=96, crop_padding=1, flip=False)
    data = load_dataset(dcfg)
    cfg = SearchConfig(space="nb201", dataset="digits", method="darts", seed=0, epochs=1, batch_size=32,
                       model={"channels": 4, "cells_per_stage": 1},
                       method_settings={"lr": 0.01, "betas": (0.5, 0.999), "weight_decay": 1e-3, "init_std": 1e-3})
    ckpt = tmp_path / "ckpt.pt"
    ref = run_search(cfg, data, dcfg, torch.device("cpu"), checkpoint=ckpt)
    ckpt.write_bytes(ckpt.read_bytes()[:-100])  # truncated after the final epoch
    with caplog.at_level(logging.WARNING):
        again = run_search(cfg, data, dcfg, torch.device("cpu"), checkpoint=ckpt)
    assert again.resumed_from_epoch == 0
    assert "checksum mismatch" in caplog.text
    assert torch.equal(again.dist.mean_alpha()["cell"], ref.dist.mean_alpha()["cell"])
