"""A tiny search in each NAS-Bench-1Shot1 space through the real search loop; a killed run resumes exactly."""

from __future__ import annotations

import pytest
import torch

from balenas.data import DataConfig, load_dataset
from balenas.search import SearchConfig, run_search
from balenas.spaces import get_space
from balenas.spaces.nb1shot1 import NB1Shot1Genotype

DCFG = DataConfig("digits", "digits", input_size=8, max_examples=64, crop_padding=1, flip=False)
SETTINGS = {
    "darts": {"lr": 0.05, "betas": (0.5, 0.999), "weight_decay": 1e-3, "init_std": 1e-3},
    "balenas": {"lr": 0.05, "betas": (0.5, 0.999), "prior_precision": 1.0, "init_precision": 1.0,
                "init_std": 1e-3, "mc_samples": 1, "form": "sqrt", "dataset_size": None},
}


class Killed(Exception):
    pass


def _kill_after(epoch):
    def cb(done, row):
        if done == epoch:
            raise Killed

    return cb


@pytest.fixture(scope="module")
def data():
    return load_dataset(DCFG, seed=0)


def _cfg(space: str, method: str, order: int) -> SearchConfig:
    return SearchConfig(space=space, dataset="digits", method=method, seed=0, order=order,
                        method_settings=SETTINGS[method], epochs=2, batch_size=16,
                        model={"channels": 2, "stacks": 3, "cells_per_stack": 1})


@pytest.mark.parametrize(
    "space,method,order",
    [("nb1shot1-s1", "darts", 1), ("nb1shot1-s2", "balenas", 2), ("nb1shot1-s3", "balenas", 1)],
)
def test_tiny_search_learns_every_group_and_resumes_exactly(tmp_path, data, space, method, order):
    cfg = _cfg(space, method, order)
    ref = run_search(cfg, data, DCFG, torch.device("cpu"))
    sp = get_space(space)
    mean = ref.dist.mean_alpha()
    assert {k: tuple(v.shape) for k, v in mean.items()} == dict(sp.param_groups)
    assert all(float(v.abs().max()) > 2e-3 for v in mean.values())  # every group moved from its 1e-3 init
    assert isinstance(ref.genotype, NB1Shot1Genotype) and ref.genotype == sp.derive(mean)
    assert all(sp.parse(g).space == space for g in ref.history["genotype"])  # per-epoch genotypes parse
    ckpt = tmp_path / "ckpt.pt"
    with pytest.raises(Killed):
        run_search(cfg, data, DCFG, torch.device("cpu"), checkpoint=ckpt, on_epoch_end=_kill_after(1))
    resumed = run_search(cfg, data, DCFG, torch.device("cpu"), checkpoint=ckpt)
    assert resumed.resumed_from_epoch == 1 and resumed.genotype == ref.genotype
    for key, value in ref.dist.state_dict().items():
        assert torch.equal(resumed.dist.state_dict()[key], value), key
    cols = ["train_loss", "valid_loss", "genotype"]
    assert resumed.history[cols].equals(ref.history[cols])
