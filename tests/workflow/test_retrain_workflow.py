"""The paper config plans retrain and transfer jobs with their GPU requests (N GPUs for ImageNet)."""

from __future__ import annotations

import pytest

from .conftest import REPO, snakemake
from .tiny_run import parse_dry_run

pytestmark = pytest.mark.workflow


def test_paper_config_plans_retrain_and_transfer_with_gpu_requests(tmp_path):
    res = snakemake(tmp_path, "results/tables/table3_darts.md", "-n", "-p", "--configfile",
                    str(REPO / "config" / "paper.yaml"))
    assert res.returncode == 0, res.stderr[-3000:]
    jobs = parse_dry_run(res.stdout)
    retrain = [j for j in jobs if j.rule == "retrain"]
    transfer = {dict(j.wildcards)["rdataset"]: j for j in jobs if j.rule == "transfer"}
    # (DARTS_V2 + 16 DARTS-space searches + 8 BaLeNAS-TF picks) x retrain seeds 0, 1, 2
    assert len(retrain) == (1 + 16 + 8) * 3
    cells = {dict(j.wildcards)["cell"] for j in retrain}
    assert {"published-DARTS_V2", "balenas-order-2-seed-3", "balenas_tf-synflow-k100-order-1-seed-0"} <= cells
    assert all(dict(j.resources)["gpu"] == "1" for j in retrain)
    assert set(transfer) == {"cifar100", "imagenet"}
    assert dict(transfer["imagenet"].resources)["gpu"] == "4"
    assert dict(transfer["cifar100"].resources)["gpu"] == "1"
    assert "--nproc_per_node 4" in res.stdout  # ImageNet runs under torchrun, one process per GPU
