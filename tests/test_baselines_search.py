"""The Table-1 baselines (GDAS, DrNAS, RandomNAS, SETN, ENAS) through the real search loop: one
architecture step changes the state it should (and only that), and an interrupted run resumes
bit-identically."""

import copy

import pytest
import torch
from torch import nn

from balenas.archopt.steps import ArchStepInputs
from balenas.data import DataConfig, load_dataset
from balenas.methods import METHODS
from balenas.search import SearchConfig, build_state, run_search
from balenas.spaces import get_space

DCFG = DataConfig("digits", "digits", input_size=8, max_examples=96, crop_padding=1, flip=False)
ADAM = {"lr": 0.01, "betas": (0.5, 0.999), "weight_decay": 1e-3, "init_std": 1e-3}
SETTINGS = {
    "gdas": {**ADAM, "tau_max": 10.0, "tau_min": 0.1},
    "drnas": {**ADAM, "reg_type": "l2", "reg_scale": 1e-3},
    "randomnas": {},
    "setn": ADAM,
    "enas": {"lr": 0.01, "betas": (0.0, 0.999), "grad_clip": 5.0, "entropy_weight": 1e-4, "baseline_decay": 0.95,
             "hidden": 8, "layers": 2, "temperature": 5.0, "tanh_constant": 1.5},
}
RUNS = [("gdas", 1), ("drnas", 1), ("drnas", 2), ("randomnas", 1), ("setn", 1), ("enas", 1)]


class Killed(Exception):
    pass


@pytest.fixture(scope="module")
def data():
    return load_dataset(DCFG, seed=0)


def cfg(method, order=1, epochs=2):
    return SearchConfig(space="nb201", dataset="digits", method=method, seed=0, order=order,
                        method_settings=SETTINGS[method], epochs=epochs, batch_size=16,
                        model={"channels": 4, "cells_per_stage": 1})


def test_registered_with_their_table1_rows():
    expected = {"gdas": ("GDAS", {1: "gdas"}), "drnas": ("DrNAS", {1: "drnas"}),
                "randomnas": ("RandomNAS", {1: "random_nas"}), "setn": ("SETN", {1: "setn"}),
                "enas": ("ENAS", {1: "enas"})}
    for name, (label, rows) in expected.items():
        m = METHODS.get(name)
        assert (m.label, dict(m.paper_rows)) == (label, rows)
        assert set(m.paper_rows) <= set(m.orders)
    with pytest.raises(ValueError, match="orders"):
        cfg("gdas", order=2)


@pytest.mark.parametrize("method, order", RUNS)
def test_one_arch_step_changes_the_right_state(data, method, order):
    space = get_space("nb201")
    state = build_state(cfg(method, order), space, data.num_classes, data.in_channels, 48, torch.device("cpu"))
    state.dist.on_epoch_start(0, 2)
    dist0 = copy.deepcopy(state.dist.state_dict())
    net0 = {k: v.detach().clone() for k, v in state.network.named_parameters()}
    x, y = data.x[:16], data.y[:16]
    inp = ArchStepInputs(state.network, state.dist, state.aopt, (x, y), (data.x[16:32], data.y[16:32]),
                         state.wopt, nn.CrossEntropyLoss(), order, torch.Generator().manual_seed(0))
    stats = METHODS.get(method).arch_step(inp)
    if method == "enas":  # the first REINFORCE step has advantage 0 (the baseline starts at the reward)
        stats = METHODS.get(method).arch_step(inp)
    assert 0 <= stats.correct <= 16 and stats.loss > 0
    changed = {k for k, v in state.dist.state_dict().items() if not torch.equal(v, dist0[k])}
    params = {k for k, _ in state.dist.named_parameters()}
    if method == "randomnas":
        assert params == set() and changed == set()
    elif method == "enas":
        assert "baseline" in changed and changed & params
    else:
        assert changed == params == {"alpha.cell"}
    # the architecture step never moves the shared weights (order 2 restores them after its virtual step;
    # BN running statistics do move, as in every method's train-mode forward)
    for k, v in state.network.named_parameters():
        assert torch.equal(v, net0[k]), k


@pytest.mark.parametrize("method, order", RUNS)
def test_resumed_run_equals_uninterrupted_run(tmp_path, data, method, order):
    ref = run_search(cfg(method, order), data, DCFG, torch.device("cpu"))
    ckpt = tmp_path / "ckpt.pt"

    def kill(done, row):
        if done == 1:
            raise Killed

    with pytest.raises(Killed):
        run_search(cfg(method, order), data, DCFG, torch.device("cpu"), checkpoint=ckpt, on_epoch_end=kill)
    resumed = run_search(cfg(method, order), data, DCFG, torch.device("cpu"), checkpoint=ckpt)
    assert resumed.resumed_from_epoch == 1
    assert resumed.genotype == ref.genotype
    for key, value in ref.dist.state_dict().items():
        assert torch.equal(resumed.dist.state_dict()[key], value), key
    for key, value in ref.network.state_dict().items():
        assert torch.equal(resumed.network.state_dict()[key], value), key
    cols = ["train_loss", "valid_loss", "genotype"]
    assert resumed.history[cols].equals(ref.history[cols])


def test_gdas_history_records_the_annealed_temperature(data):
    hist = run_search(cfg("gdas", epochs=3), data, DCFG, torch.device("cpu")).history
    assert hist["tau"].tolist() == pytest.approx([10.0, 5.05, 0.1])
