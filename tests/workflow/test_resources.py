"""GPU requests follow the config's device: the GPU rules ask for one GPU per job unless `device: cpu`
(see GPU in workflow/rules/common.smk); runtime and memory come from the workflow profile."""

from __future__ import annotations

import pytest
import yaml

from .conftest import REPO, TINY, sheet, snakemake, write_config
from .tiny_run import parse_dry_run

pytestmark = pytest.mark.workflow

GPU_RULES = {"search", "score_proxies", "proxy_correlation", "retrain", "transfer"}


def test_gpu_rules_request_a_gpu_when_the_device_is_not_cpu(tmp_path):
    cfg = write_config(tmp_path, {**TINY, "device": "auto", "experiments": sheet(orders=(1,), seeds=(0,))})
    res = snakemake(tmp_path, "-n", "--configfile", str(cfg))
    assert res.returncode == 0, res.stderr[-3000:]
    jobs = [j for j in parse_dry_run(res.stdout) if j.rule != "all"]
    profile = yaml.safe_load((REPO / "workflow/profiles/default/config.yaml").read_text())["set-resources"]
    assert {"search", "score_proxies"} <= {j.rule for j in jobs}
    for job in jobs:
        resources = dict(job.resources)
        if job.rule in GPU_RULES:
            assert resources.get("gpu") == "1", (job.rule, resources)
            for key, value in profile[job.rule].items():
                assert resources.get(key) == str(value), (job.rule, key, resources)
        else:
            assert resources.get("gpu", "0") == "0", (job.rule, resources)
    assert not any("gpu" in entry for entry in profile.values()), "a gpu entry in the profile ignores device"
