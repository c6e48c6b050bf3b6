"""Planning retrain / transfer jobs from the config's retrain block."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from balenas import retrain_plan as RP
from tests.conftest import default_config

REPO = Path(__file__).resolve().parents[1]


def _config(*names: str) -> dict:
    """config/config.yaml with the overlays ``names`` merged over it in order, as ``--configfile`` does."""
    cfg = default_config()
    for name in names:
        over = yaml.safe_load((REPO / "config" / name).read_text())
        for key, value in over.items():  # Snakemake's merge: dicts merge one level here, lists replace
            cfg[key] = {**cfg[key], **value} if isinstance(value, dict) and isinstance(cfg.get(key), dict) else value
    return cfg


def test_default_plans_a_tiny_published_retrain_and_transfer() -> None:
    cfg = _config()
    RP.check_retrain_config(cfg)
    cells = RP.retrain_cells(cfg)
    assert cells[0].id == "published-DARTS_V2" and cells[0].genotype == "published:DARTS_V2"
    # the default's tiny DARTS-space rows: their argmax cells and BaLeNAS-TF's selected cell
    assert [c.id for c in cells[1:]] == ["darts-order-1-seed-0", "balenas-order-1-seed-0",
                                         "balenas_tf-synflow-k10-order-1-seed-0"]
    tf = cells[-1]
    assert tf.row == "balenas_tf" and tf.label == "BaLeNAS-TF"
    assert tf.genotype == "results/select/darts/digits_tiny/balenas/order-1/seed-0/tf-synflow-k10/selected.json"
    assert tf.search["method"] == "balenas"  # its search cost is the BaLeNAS search's
    assert RP.transfer_datasets(cfg) == ["digits8"]
    spec = RP.job_spec(cfg, "digits", "published-DARTS_V2", 3, "out", "ck.pt", 1, "c0de")
    assert spec["train_cfg"]["seed"] == 3 and spec["train_cfg"]["network"]["C"] == 4
    assert spec["data"]["train"]["source"] == "digits" and spec["data"]["holdout"] == 0.3
    assert RP.gpus(cfg, "digits") == 0  # device: cpu never asks for a GPU
    missing = RP.table3_missing(cfg, cells[0])
    assert "imagenet" in missing and "search" in missing and "cifar100" not in missing


def test_paper_plans_imagenet_on_several_gpus_and_searched_cells() -> None:
    cfg = _config("paper.yaml")
    RP.check_retrain_config(cfg)
    assert RP.gpus(cfg, "imagenet") == 4 and RP.gpus(cfg, "cifar10") == 1
    assert RP.launcher(4).endswith("-m torch.distributed.run --standalone --nproc_per_node 4")
    assert RP.launcher(1) == "python"
    assert RP.transfer_datasets(cfg) == ["cifar100", "imagenet"]
    cells = RP.retrain_cells(cfg, "results/search")
    ids = [c.id for c in cells]
    # the published anchor, the 16 DARTS-space searches (2 methods x 2 orders x 4 seeds), and BaLeNAS-TF's
    # pick (SynFlow, K=100) of each of the 8 BaLeNAS runs
    assert ids[0] == "published-DARTS_V2" and len(ids) == 1 + 16 + 8
    assert "balenas-order-2-seed-3" in ids and "balenas_tf-synflow-k100-order-1-seed-3" in ids
    cell = cells[ids.index("balenas-order-2-seed-0")]
    assert cell.genotype == "results/search/darts/cifar10/balenas/order-2/seed-0/genotype.json"
    assert [label for _, label in RP.rows_for(cells)] == [
        "DARTS_V2 (published, retrained)", "DARTS (1st)", "DARTS (2nd)", "BaLeNAS (1st)", "BaLeNAS (2nd)",
        "BaLeNAS-TF", "BaLeNAS-TF (2nd)"]
    no_imagenet = copy.deepcopy(cfg)
    no_imagenet["retrain"]["recipes"]["imagenet"]["data"]["root"] = None
    assert RP.transfer_datasets(no_imagenet) == ["cifar100"]
    assert "root is null" in RP.table3_missing(no_imagenet, RP.retrain_cells(no_imagenet)[0])["imagenet"]


def test_searched_as_a_list_retrains_only_the_named_cells() -> None:
    cfg = _config("darts-cpu.yaml", "retrain-cpu.yaml")
    RP.check_retrain_config(cfg)
    cells = RP.retrain_cells(cfg)
    assert [c.id for c in cells] == ["published-DARTS_V2", "balenas-order-1-seed-0"]
    assert cells[1].genotype == "results/search/darts/cifar10_cpu16/balenas/order-1/seed-0/genotype.json"
    assert RP.transfer_datasets(cfg) == []
    everything = copy.deepcopy(cfg)
    everything["retrain"]["searched"] = True  # the 8 searches of darts-cpu and BaLeNAS-TF's 4 picks
    assert len(RP.retrain_cells(everything)) == 1 + 8 + 4
    everything["retrain"]["searched"] = False
    assert [c.id for c in RP.retrain_cells(everything)] == ["published-DARTS_V2"]
    bad = copy.deepcopy(cfg)
    bad["retrain"]["searched"] = ["balenas-order-1-seed-7"]
    with pytest.raises(KeyError, match=r"retrain.searched: \['balenas-order-1-seed-7'\] are not cells"):
        RP.check_retrain_config(bad)


def test_bad_retrain_blocks_fail_naming_the_key() -> None:
    cfg = _config()
    bad = copy.deepcopy(cfg)
    bad["retrain"]["dataset"] = "cifar10"
    with pytest.raises(KeyError, match="dataset 'cifar10' has no entry in retrain.recipes"):
        RP.check_retrain_config(bad)
    bad = copy.deepcopy(cfg)
    bad["retrain"]["published"] = ["DARTS_V3"]
    with pytest.raises(KeyError, match="unknown published DARTS genotype 'DARTS_V3'"):
        RP.check_retrain_config(bad)
    bad = copy.deepcopy(cfg)
    bad["retrain"]["transfer"]["cell"] = "best"
    with pytest.raises(KeyError, match="retrain.transfer.cell: 'best' is not a retrained cell"):
        RP.check_retrain_config(bad)
    bad = copy.deepcopy(cfg)
    bad["retrain"]["recipes"]["digits"]["data"]["train"] = "mnist"
    with pytest.raises(KeyError, match=r"retrain.recipes.digits.data.train: 'mnist' is not an entry of data:"):
        RP.check_retrain_config(bad)
