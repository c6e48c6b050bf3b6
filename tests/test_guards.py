"""Divergence guards: a non-finite loss/gradient/parameter stops the search, naming run, epoch, quantity."""

import math

import pytest
import torch

import balenas.search as search_mod
from balenas.checkpoints import read_checkpoint
from balenas.guards import DivergenceError, RunId, check_finite, guard_step, is_finite
from balenas.search import SearchConfig
from balenas.stages.search import search_stage

DARTS = {"lr": 0.01, "betas": (0.5, 0.999), "weight_decay": 1e-3, "init_std": 1e-3}
DATA = {"name": "digits", "source": "digits", "input_size": 8, "max_examples": 96, "crop_padding": 1,
        "flip": False}
RUN = RunId("nb201", "digits", "darts", 1, 0)


def _cfg(**kw):
    base = dict(space="nb201", dataset="digits", method="darts", seed=0, epochs=2, batch_size=32,
                model={"channels": 4, "cells_per_stage": 1}, method_settings=DARTS)
    base.update(kw)
    return SearchConfig(**base)


def _outputs(root):
    return {k: root / f for k, f in (("arch", "arch.pt"), ("genotype", "genotype.json"),
                                     ("history", "history.csv"), ("metrics", "metrics.json"))}


def test_is_finite_sees_nan_and_inf_in_every_container():
    assert is_finite(1.0) and is_finite(torch.ones(3)) and is_finite({"a": torch.zeros(2)})
    assert not is_finite(math.nan)
    assert not is_finite(torch.tensor([1.0, math.inf]))
    assert not is_finite({"a": torch.zeros(2), "b": torch.tensor([math.nan])})
    assert not is_finite([torch.zeros(2), torch.tensor(-math.inf)])


def test_check_finite_message_names_run_epoch_step_and_quantity():
    with pytest.raises(DivergenceError) as err:
        check_finite("weight-step loss", torch.tensor(math.nan), run=RUN, epoch=2, step=7)
    msg = str(err.value)
    for part in ("nb201/digits/darts/order-1/seed-0", "epoch 2", "step 7", "weight-step loss"):
        assert part in msg


def test_guard_step_skips_only_under_skip_step():
    assert guard_step("x", torch.tensor(math.nan), policy="skip_step", run=RUN, epoch=1, step=1) is False
    assert guard_step("x", torch.tensor(1.0), policy="fail", run=RUN, epoch=1, step=1) is True
    with pytest.raises(DivergenceError):
        guard_step("x", torch.tensor(math.nan), policy="fail", run=RUN, epoch=1, step=1)
    with pytest.raises(KeyError, match="on_divergence"):
        _cfg(on_divergence="ignore")


def test_issue_config_fails_and_writes_no_outputs(tmp_path):
    """The issue's diverging config (weights lr 1e8, darts lr 1e6) stops with a named DivergenceError."""
    cfg = _cfg(weights=search_mod.WeightOptConfig(lr=1e8), method_settings={**DARTS, "lr": 1e6}, batch_size=16)
    outputs = _outputs(tmp_path / "run")
    with pytest.raises(DivergenceError) as err:
        search_stage(cfg.to_dict(), {**DATA, "max_examples": 128}, outputs, tmp_path / "ckpt.pt")
    assert "nb201/digits/darts/order-1/seed-0" in str(err.value) and "epoch 1" in str(err.value)
    assert not any(p.exists() for p in outputs.values())
    assert not (tmp_path / "run").exists() or not any((tmp_path / "run").iterdir())


def _poison_weights_at(epoch_index, monkeypatch):
    """Fill the supernet's weights with NaN before epoch ``epoch_index`` (0-based) runs."""
    real = search_mod.run_epoch

    def poisoned(cfg, state, epoch, *args, **kwargs):
        if epoch == epoch_index:
            with torch.no_grad():
                for p in state.network.parameters():
                    p.fill_(math.nan)
        return real(cfg, state, epoch, *args, **kwargs)

    monkeypatch.setattr(search_mod, "run_epoch", poisoned)


def test_divergence_in_epoch_two_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    _poison_weights_at(1, monkeypatch)
    ckpt = tmp_path / "ckpt.pt"
    outputs = _outputs(tmp_path / "run")
    with pytest.raises(DivergenceError, match="epoch 2, step 1"):
        search_stage(_cfg().to_dict(), DATA, outputs, ckpt)
    assert not any(p.exists() for p in outputs.values())
    assert read_checkpoint(ckpt)["epochs_done"] == 1


def test_skip_step_skips_non_finite_steps_and_finishes(tmp_path, monkeypatch):
    _poison_weights_at(1, monkeypatch)
    outputs = _outputs(tmp_path / "run")
    result = search_stage(_cfg(on_divergence="skip_step").to_dict(), DATA, outputs, tmp_path / "ckpt.pt")
    skipped = result.history["skipped_steps"].tolist()
    assert skipped[0] == 0 and skipped[1] > 0
    assert outputs["genotype"].exists()
