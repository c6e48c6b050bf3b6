import pytest
import torch

from balenas.data import DataConfig, load_dataset
from balenas.search import SearchConfig, run_search

DCFG = DataConfig("digits", "digits", input_size=8, max_examples=192, crop_padding=1, flip=False)
SETTINGS = {
    "darts": {"lr": 0.01, "betas": (0.5, 0.999), "weight_decay": 1e-3, "init_std": 1e-3},
    "balenas": {"lr": 0.01, "betas": (0.5, 0.999), "prior_precision": 1.0, "init_precision": 1.0,
                "init_std": 1e-3, "mc_samples": 2, "form": "sqrt", "dataset_size": None},
}


def cfg(method, seed=0, epochs=3):
    return SearchConfig(space="nb201", dataset="digits", method=method, seed=seed,
                        method_settings=SETTINGS[method], epochs=epochs, batch_size=32, channels=4,
                        cells_per_stage=1)


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


def test_same_seed_same_outputs_and_other_seed_differs(data):
    a = run_search(cfg("balenas", epochs=1), data, DCFG, torch.device("cpu"))
    b = run_search(cfg("balenas", epochs=1), data, DCFG, torch.device("cpu"))
    c = run_search(cfg("balenas", seed=1, epochs=1), data, DCFG, torch.device("cpu"))
    assert torch.equal(a.dist.mu, b.dist.mu) and torch.equal(a.dist.s, b.dist.s)
    assert a.history["train_loss"].tolist() == b.history["train_loss"].tolist()
    assert not torch.equal(a.dist.mu, c.dist.mu)


def test_history_records_what_the_paper_tracks(data):
    h = run_search(cfg("balenas", epochs=2), data, DCFG, torch.device("cpu")).history
    for col in ("train_loss", "train_acc", "valid_loss", "valid_acc", "genotype", "skip_count", "sigma_mean",
                "sigma_std", "lr"):
        assert col in h, col
    assert list(h["epoch"]) == [1, 2]
    assert h["lr"].iloc[1] < h["lr"].iloc[0]  # cosine schedule
    assert ((h["valid_acc"] >= 0) & (h["valid_acc"] <= 100)).all()


def test_architecture_moves_with_a_search(data):
    res = run_search(cfg("darts", epochs=2), data, DCFG, torch.device("cpu"))
    torch.manual_seed(0)
    assert res.dist.mean_alpha().std() > 5e-3  # started at 1e-3 * randn


@pytest.mark.parametrize(
    "change, match",
    [({"epochs": 0}, "epochs"), ({"method": "gdas"}, "valid methods"), ({"order": 3}, "valid orders"),
     ({"weight_step_alpha": "median"}, "weight_step_alpha")],
)
def test_bad_search_config_fails_early(change, match):
    base = dict(space="nb201", dataset="digits", method="darts", seed=0, method_settings=SETTINGS["darts"])
    with pytest.raises((KeyError, ValueError), match=match):
        SearchConfig(**{**base, **change})
