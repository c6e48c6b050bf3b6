"""The search stage: outputs, the code hash in the resume fingerprint, and reading arch.pt back."""

import logging

import pytest
import torch

from balenas.analysis.tracking import HESSIAN_KEYS
from balenas.search import SearchConfig
from balenas.stages.search import load_arch, search_stage

SEARCH = SearchConfig(
    space="nb201", dataset="digits", method="balenas", seed=0, epochs=2, batch_size=32,
    model={"channels": 4, "cells_per_stage": 1}, hessian_every=1,
    method_settings={"lr": 0.01, "betas": (0.5, 0.999), "prior_precision": 1.0, "init_precision": 1.0,
                     "init_std": 1e-3, "mc_samples": 1, "form": "sqrt", "dataset_size": None},
).to_dict()
DATA = {"name": "digits", "source": "digits", "input_size": 8, "max_examples": 96, "crop_padding": 1,
        "flip": False}


class Killed(Exception):
    pass


def _outputs(root):
    return {k: root / name for k, name in
            (("arch", "arch.pt"), ("genotype", "genotype.json"), ("history", "history.csv"),
             ("metrics", "metrics.json"), ("supernet", "supernet.pt"))}


def _kill_after_first_epoch(monkeypatch):
    """Make the stage's search die after epoch 1, leaving its checkpoint behind."""
    import balenas.stages.search as stage

    real = stage.run_search

    def dying(*args, **kwargs):
        def cb(done, row):
            if done == 1:
                raise Killed

        return real(*args, **kwargs, on_epoch_end=cb)

    monkeypatch.setattr(stage, "run_search", dying)


@pytest.mark.parametrize("code, resumed", [("aaaa", 1), ("bbbb", 0)])
def test_checkpoint_of_other_code_is_not_resumed(tmp_path, monkeypatch, caplog, code, resumed):
    ckpt = tmp_path / "ckpt" / "search.pt"
    with monkeypatch.context() as m:
        _kill_after_first_epoch(m)
        with pytest.raises(Killed):
            search_stage(SEARCH, DATA, _outputs(tmp_path), ckpt, code="aaaa")
    assert ckpt.exists()
    with caplog.at_level(logging.INFO, logger="balenas.search"):
        result = search_stage(SEARCH, DATA, _outputs(tmp_path), ckpt, code=code)
    assert result.resumed_from_epoch == resumed
    assert not ckpt.exists()
    if resumed:
        assert "resumed from" in caplog.text
    else:
        assert "written by other code (aaaa, now bbbb); starting afresh" in caplog.text


def test_stage_tracks_the_hessian_and_load_arch_leaves_the_global_rng_alone(tmp_path):
    """The stage imports the tracking hook directly (it used to drop it silently on an ImportError)."""
    out = _outputs(tmp_path)
    result = search_stage(SEARCH, DATA, out, tmp_path / "ckpt.pt")
    assert set(HESSIAN_KEYS) <= set(result.history.columns)
    assert result.history["hessian_max_eig"].notna().all()

    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    dist, blob = load_arch(out["arch"])
    assert torch.equal(torch.rand(3), expected)
    assert dist.mean_alpha().keys() == {"cell"}
    assert torch.equal(dist.mean_alpha()["cell"], result.dist.mean_alpha()["cell"])
    assert blob["method"] == "balenas" and blob["groups"] == {"cell": [6, 5]}


def test_stage_saves_the_trained_supernet_and_load_supernet_restores_it(tmp_path):
    from balenas.stages.search import load_supernet

    out = _outputs(tmp_path)
    result = search_stage(SEARCH, DATA, out, tmp_path / "ckpt.pt")
    net = load_supernet(out["supernet"], num_classes=10, in_channels=1)
    for key, value in result.network.state_dict().items():
        assert torch.equal(net.state_dict()[key], value.cpu()), key
