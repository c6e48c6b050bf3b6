"""issue 16: the issue's diverging config (weights lr 1e8, darts lr 1e6) fails its search job with a message
naming the run, epoch and quantity, and leaves nothing for that run under results/."""

from __future__ import annotations

import pytest

from tests.conftest import default_config

from .conftest import TINY, sheet, snakemake, write_config

pytestmark = pytest.mark.workflow

RUN = "nb201/digits/darts/order-1/seed-0"


def test_diverging_search_fails_naming_run_epoch_quantity_and_writes_nothing(tmp_path):
    default = default_config()
    darts, weights = default["method_settings"]["darts"], default["search"]["weights"]
    cfg = write_config(tmp_path, {
        **TINY,
        "experiments": sheet(methods=("darts",), orders=(1,), seeds=(0,)),
        "search": {**TINY["search"], "batch_size": 16, "weights": {**weights, "lr": 1.0e8}},
        "method_settings": {"darts": {**darts, "lr": 1.0e6}},
    })
    target = f"results/search/{RUN}/genotype.json"
    res = snakemake(tmp_path, target, "--cores", "1", "--configfile", str(cfg))
    assert res.returncode != 0
    log = (tmp_path / f"logs/search/{RUN}.log").read_text()
    assert "DivergenceError" in log and f"search {RUN} diverged" in log and "epoch 1" in log
    assert "not finite" in log
    run_dir = tmp_path / "results/search" / RUN
    assert not run_dir.exists() or not any(run_dir.iterdir())
