import copy
from pathlib import Path

import pytest
import yaml

from balenas.config import ConfigError, check_config, search_config

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def config():
    return yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def test_default_config_is_valid(config):
    check_config(config)
    cfg = search_config(config, "nb201", "digits", "balenas", 1, 0)
    assert cfg.method_settings["form"] == "sqrt" and cfg.channels == 8


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda c: c.update(methods=["darts", "gdas"]), r"methods: unknown entry 'gdas'; valid: balenas, darts"),
        (lambda c: c.update(spaces=["nb301"]), "spaces: unknown entry 'nb301'"),
        (lambda c: c.update(datasets=["cifar10"]), "datasets: 'cifar10' has no entry under data"),
        (lambda c: c["data"].update(c10={"source": "cifar10", "root": "/no/such/dir"}) or c.update(datasets=["c10"]),
         "data.c10.root"),
        (lambda c: c["method_settings"]["balenas"].pop("form"), r"method_settings.balenas: missing keys \['form'\]"),
        (lambda c: c["method_settings"].pop("darts"), "method_settings.darts: missing"),
        (lambda c: c.update(seeds=[]), "seeds: must be a non-empty list"),
    ],
)
def test_bad_config_is_rejected_with_the_key(config, edit, match):
    bad = copy.deepcopy(config)
    edit(bad)
    with pytest.raises(ConfigError, match=match):
        check_config(bad)


def test_paper_config_has_the_papers_hyperparameters():
    paper = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
    check_config({**paper, "data": {**paper["data"], "cifar10": {**paper["data"]["cifar10"], "download": True}}})
    s = paper["search"]
    assert (s["epochs"], s["batch_size"], s["channels"], s["cells_per_stage"]) == (50, 64, 16, 5)
    assert s["weights"] == {"lr": 0.025, "lr_min": 0.001, "momentum": 0.9, "nesterov": True,
                            "weight_decay": 0.0005, "grad_clip": 5.0}
    for method in ("darts", "balenas"):
        assert paper["method_settings"][method]["lr"] == 3e-4
        assert paper["method_settings"][method]["betas"] == [0.5, 0.999]
    assert paper["method_settings"]["darts"]["weight_decay"] == 1e-3
    assert len(paper["seeds"]) == 4 and paper["datasets"] == ["cifar10"]
