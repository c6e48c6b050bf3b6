import copy
from pathlib import Path

import pytest
import yaml

from balenas.config import ConfigError, check_config, search_config
from tests.conftest import default_config

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def config():
    return default_config()


def test_default_config_is_valid(config):
    check_config(config)
    cfg = search_config(config, "nb201", "digits", "balenas", 1, 0)
    assert cfg.method_settings["form"] == "sqrt" and cfg.model == {"channels": 8, "cells_per_stage": 1}


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda c: c["experiments"][0].update(method="gdas2"),
         r"experiments\[0\].method: unknown method 'gdas2'; valid: "),
        (lambda c: c["experiments"][0].update(space="nb301"), r"experiments\[0\].space: unknown space 'nb301'"),
        (lambda c: c["experiments"][0].update(dataset="cifar10"),
         r"experiments\[0\].dataset: 'cifar10' has no entry under data"),
        (lambda c: c["data"].update(c10={"source": "cifar10", "root": "/no/such/dir"})
         or c["experiments"][0].update(dataset="c10"), "data.c10.root"),
        (lambda c: c["method_settings"]["balenas"].pop("form"), r"method_settings.balenas: missing keys \['form'\]"),
        (lambda c: c["method_settings"].pop("darts"), "method_settings.darts: missing"),
        (lambda c: c["experiments"][0].update(seeds=[]), r"experiments\[0\].seeds: expected a non-empty list"),
        (lambda c: c["experiments"][0].update(orders=[3]), r"experiments\[0\].orders: method darts defines orders"),
        (lambda c: c["experiments"][0].pop("orders"), r"experiments\[0\]: missing keys \['orders'\]"),
        (lambda c: c["experiments"].append(dict(c["experiments"][0])), r"appear in more than one row"),
        (lambda c: c["space_settings"]["nb201"]["supernet"].update(width=3),
         r"space_settings.nb201.supernet: unknown keys \['width'\]"),
        (lambda c: c["space_settings"]["nb201"]["network"].update(channels=0),
         r"space_settings.nb201.network: channels must be an integer >= 1"),
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
    assert (s["epochs"], s["batch_size"]) == (50, 64)
    assert paper["space_settings"]["nb201"]["supernet"] == {"channels": 16, "cells_per_stage": 5}
    assert s["weights"] == {"lr": 0.025, "lr_min": 0.001, "momentum": 0.9, "nesterov": True,
                            "weight_decay": 0.0005, "grad_clip": 5.0}
    for method in ("darts", "balenas"):
        assert paper["method_settings"][method]["lr"] == 3e-4
        assert paper["method_settings"][method]["betas"] == [0.5, 0.999]
    assert paper["method_settings"]["darts"]["weight_decay"] == 1e-3
    nb201 = [e for e in paper["experiments"] if e["space"] == "nb201"]
    assert {e["method"] for e in nb201} >= {"darts", "balenas"}
    assert all(e["seeds"] == [0, 1, 2, 3] and e["dataset"] == "cifar10" for e in nb201)


def test_schema_enums_come_from_the_registries():
    """The schema names no method, selector or order itself: x-registry entries are filled from the
    registries, so a registered method is valid in the schema without editing it."""
    from balenas.config import load_schema
    from balenas.methods import METHODS
    from balenas.select import ALL_SELECTORS, SELECTORS

    text = (REPO / "workflow" / "schemas" / "config.schema.yaml").read_text()
    assert "x-registry: methods" in text and "enum: [tf, uniform]" not in text
    schema = load_schema(REPO / "workflow" / "schemas" / "config.schema.yaml")
    row = schema["properties"]["experiments"]["oneOf"][1]["items"]["properties"]
    assert row["method"]["enum"] == METHODS.keys()
    assert row["selectors"]["items"]["enum"] == ALL_SELECTORS.keys()
    default = schema["properties"]["selection"]["properties"]["selectors"]["items"]["enum"]
    assert default == SELECTORS.keys()
    assert row["orders"]["items"]["enum"] == [1, 2]


def test_validate_config_names_the_key(config):
    from balenas.config import validate_config

    bad = copy.deepcopy(config)
    bad["experiments"][0]["method"] = "nope"
    with pytest.raises(ConfigError, match=r"experiments.0.method: 'nope' is not one of"):
        validate_config(bad, REPO / "workflow" / "schemas" / "config.schema.yaml")
    good = copy.deepcopy(config)
    del good["search"]["weight_step_alpha"]
    validate_config(good, REPO / "workflow" / "schemas" / "config.schema.yaml")
    assert good["search"]["weight_step_alpha"] == "sample"  # the schema's default is set
