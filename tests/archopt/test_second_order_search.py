"""End to end: a search with order 2 and Hessian tracking runs, and a resumed run equals an uninterrupted one."""

from __future__ import annotations

import pytest
import torch

from balenas.analysis.tracking import hessian_record
from balenas.data import DataConfig, load_dataset
from balenas.search import SearchConfig, run_search

DCFG = DataConfig("digits", "digits", input_size=8, max_examples=160, crop_padding=1, flip=False)
SETTINGS = {
    "darts": {"lr": 0.01, "betas": (0.5, 0.999), "weight_decay": 1e-3, "init_std": 1e-3},
    "balenas": {"lr": 0.01, "betas": (0.5, 0.999), "prior_precision": 1.0, "init_precision": 1.0,
                "init_std": 1e-3, "mc_samples": 1, "form": "sqrt", "dataset_size": None},
}
CPU = torch.device("cpu")


def cfg(method: str, order: int = 2, epochs: int = 3) -> SearchConfig:
    return SearchConfig(space="nb201", dataset="digits", method=method, seed=0, method_settings=SETTINGS[method],
                        order=order, epochs=epochs, batch_size=32, model={"channels": 4, "cells_per_stage": 1},
                        hessian_every=2, hessian_batches=1)


@pytest.fixture(scope="module")
def data():
    return load_dataset(DCFG, seed=0)


class Killed(Exception):
    pass


def kill_after(epoch: int):
    def callback(done: int, row: dict) -> None:
        if done == epoch:
            raise Killed

    return callback


@pytest.mark.parametrize("method", ["darts", "balenas"])
def test_second_order_search_with_hessian_tracking_resumes_identically(tmp_path, data, method):
    ref = run_search(cfg(method), data, DCFG, CPU, hessian_fn=hessian_record)
    ckpt = tmp_path / "ckpt.pt"
    with pytest.raises(Killed):
        run_search(cfg(method), data, DCFG, CPU, checkpoint=ckpt, on_epoch_end=kill_after(2),
                   hessian_fn=hessian_record)
    resumed = run_search(cfg(method), data, DCFG, CPU, checkpoint=ckpt, hessian_fn=hessian_record)
    assert resumed.resumed_from_epoch == 2
    for key, value in ref.dist.state_dict().items():
        assert torch.equal(resumed.dist.state_dict()[key], value), key
    cols = ["train_loss", "valid_loss", "genotype", "skip_count", "hessian_max_eig", "hessian_min_eig"]
    assert resumed.history[cols].equals(ref.history[cols])
    # tracked at epochs 2 and 3 (every 2 epochs and after the last), not at epoch 1
    h = ref.history.set_index("epoch")["hessian_max_eig"]
    assert h.isna().tolist() == [True, False, False]
    assert (h.dropna() > 0).all()
    assert ref.history["skip_ratio"].between(0, 1).all()


def test_second_order_changes_the_search(data):
    """Order 2 is wired into the loop: its architecture trajectory differs from order 1's."""
    first = run_search(cfg("darts", order=1, epochs=1), data, DCFG, CPU)
    second = run_search(cfg("darts", order=2, epochs=1), data, DCFG, CPU)
    assert not torch.equal(first.dist.mean_alpha()["cell"], second.dist.mean_alpha()["cell"])
    # the weights see the same batches under nearly the same alpha: losses agree to a few percent
    assert second.history["train_loss"].iloc[0] == pytest.approx(first.history["train_loss"].iloc[0], rel=0.05)
