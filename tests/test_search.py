import warnings

import pytest
import torch

from balenas.checkpoints import read_checkpoint
from balenas.data import DataConfig, load_dataset
from balenas.search import SearchConfig, _try_resume, build_state, run_search
from balenas.spaces import get_space

DCFG = DataConfig("digits", "digits", input_size=8, max_examples=192, crop_padding=1, flip=False)
SETTINGS = {
    "darts": {"lr": 0.01, "betas": (0.5, 0.999), "weight_decay": 1e-3, "init_std": 1e-3},
    "balenas": {"lr": 0.01, "betas": (0.5, 0.999), "prior_precision": 1.0, "init_precision": 1.0,
                "init_std": 1e-3, "mc_samples": 2, "form": "sqrt", "dataset_size": None},
}


def cfg(method, seed=0, epochs=3):
    return SearchConfig(space="nb201", dataset="digits", method=method, seed=seed,
                        method_settings=SETTINGS[method], epochs=epochs, batch_size=32,
                        model={"channels": 4, "cells_per_stage": 1})


@pytest.fixture(scope="module")
def data():
    return load_dataset(DCFG, seed=0)


class Killed(Exception):
    pass


def _kill_after(epoch):
    def cb(done, row):
        if done == epoch:
            raise Killed

    return cb


@pytest.mark.parametrize("method", ["darts", "balenas"])
def test_resumed_run_equals_uninterrupted_run(tmp_path, data, method):
    ref = run_search(cfg(method), data, DCFG, torch.device("cpu"))
    ckpt = tmp_path / "ckpt.pt"
    with pytest.raises(Killed):
        run_search(cfg(method), data, DCFG, torch.device("cpu"), checkpoint=ckpt, on_epoch_end=_kill_after(1))
    assert ckpt.exists()
    resumed = run_search(cfg(method), data, DCFG, torch.device("cpu"), checkpoint=ckpt)
    assert resumed.resumed_from_epoch == 1
    assert resumed.genotype == ref.genotype
    assert set(ref.dist.state_dict()) == set(resumed.dist.state_dict())
    for key, value in ref.dist.state_dict().items():
        assert torch.equal(resumed.dist.state_dict()[key], value), key
    cols = ["train_loss", "valid_loss", "genotype"]
    assert resumed.history[cols].equals(ref.history[cols])


def test_checkpoint_of_another_config_is_not_resumed(tmp_path, data):
    ckpt = tmp_path / "ckpt.pt"
    with pytest.raises(Killed):
        run_search(cfg("darts"), data, DCFG, torch.device("cpu"), checkpoint=ckpt, on_epoch_end=_kill_after(1))
    other = run_search(cfg("darts", seed=5, epochs=1), data, DCFG, torch.device("cpu"), checkpoint=ckpt)
    assert other.resumed_from_epoch == 0


def _devices(state):
    tensors = [*state.network.state_dict().values(), *state.dist.state_dict().values()]
    tensors += [v for s in state.wopt.state.values() for v in s.values()]
    return {t.device.type for t in tensors}


@pytest.mark.parametrize("method", ["darts", "balenas"])
def test_search_state_lives_on_the_search_device(method):
    """Built on a device (meta stands in for CUDA), every tensor is there and an architecture step runs:
    the optimizer used to be built before the distribution moved, and crashed on the first GPU step."""
    space = get_space("nb201")
    state = build_state(cfg(method), space, 10, 1, 96, torch.device("meta"))
    state.aopt.step({"cell": torch.zeros(space.param_groups["cell"], device="meta")})
    assert _devices(state) == {"meta"}


@pytest.mark.parametrize("method", ["darts", "balenas"])
def test_checkpoint_resumes_on_another_device(tmp_path, data, method):
    """A checkpoint is loaded to the CPU and then into a state built on the search device."""
    ckpt = tmp_path / "ckpt.pt"
    run_search(cfg(method, epochs=1), data, DCFG, torch.device("cpu"), checkpoint=ckpt)
    fingerprint = read_checkpoint(ckpt)["fingerprint"]
    space = get_space("nb201")
    state = build_state(cfg(method, epochs=1), space, 10, 1, 96, torch.device("meta"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # loading into meta tensors is a no-op, and says so
        assert _try_resume(state, ckpt, fingerprint) == 1
    state.aopt.step({"cell": torch.zeros(space.param_groups["cell"], device="meta")})
    assert _devices(state) == {"meta"}


def test_same_seed_same_outputs_and_other_seed_differs(data):
    a = run_search(cfg("balenas", epochs=1), data, DCFG, torch.device("cpu"))
    b = run_search(cfg("balenas", epochs=1), data, DCFG, torch.device("cpu"))
    c = run_search(cfg("balenas", seed=1, epochs=1), data, DCFG, torch.device("cpu"))
    assert torch.equal(a.dist.mu["cell"], b.dist.mu["cell"]) and torch.equal(a.dist.s("cell"), b.dist.s("cell"))
    assert a.history["train_loss"].tolist() == b.history["train_loss"].tolist()
    assert not torch.equal(a.dist.mu["cell"], c.dist.mu["cell"])


def test_history_records_what_the_paper_tracks(data):
    h = run_search(cfg("balenas", epochs=2), data, DCFG, torch.device("cpu")).history
    for col in ("train_loss", "train_acc", "valid_loss", "valid_acc", "genotype", "skip_count", "sigma_mean",
                "sigma_std", "lr", "ops_cell_skip_connect", "ops_cell_none"):
        assert col in h, col
    assert list(h["epoch"]) == [1, 2]
    assert h["lr"].iloc[1] < h["lr"].iloc[0]  # cosine schedule
    assert ((h["valid_acc"] >= 0) & (h["valid_acc"] <= 100)).all()
    assert (h["skip_ratio"] == h["skip_count"] / 6).all()
    ops = [c for c in h.columns if c.startswith("ops_cell_")]
    assert (h[ops].sum(axis=1) == 6).all()  # every edge's op counted once
    assert (h["ops_cell_skip_connect"] == h["skip_count"]).all()


def test_architecture_moves_with_a_search(data):
    res = run_search(cfg("darts", epochs=2), data, DCFG, torch.device("cpu"))
    torch.manual_seed(0)
    assert res.dist.mean_alpha()["cell"].std() > 5e-3  # started at 1e-3 * randn


@pytest.mark.parametrize(
    "change, match",
    [({"epochs": 0}, "epochs"), ({"method": "unseen_nas"}, "valid methods"), ({"order": 3}, "valid orders"),
     ({"weight_step_alpha": "median"}, "weight_step_alpha")],
)
def test_bad_search_config_fails_early(change, match):
    base = dict(space="nb201", dataset="digits", method="darts", seed=0, method_settings=SETTINGS["darts"])
    with pytest.raises((KeyError, ValueError), match=match):
        SearchConfig(**{**base, **change})


def test_fingerprint_includes_the_code_hash_when_given():
    c, meta = cfg("darts"), {"n": 192}
    assert c.fingerprint(meta, "") == c.fingerprint(meta)
    assert len({c.fingerprint(meta), c.fingerprint(meta, "aaaa"), c.fingerprint(meta, "bbbb")}) == 3
