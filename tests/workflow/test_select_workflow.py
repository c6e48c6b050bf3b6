"""The selection stages through Snakemake: sample -> score -> select for DARTS, BaLeNAS and zero-cost."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from .conftest import REPO, TINY, sheet, snakemake, tiny_nb201, write_config
from .test_workflow import job_counts

pytestmark = pytest.mark.workflow

SELECT = {
    "selectors": ["tf", "uniform"],
    "ks": [4],
    "proxies": ["synflow"],
    "batch_size": 16,
    "zero_cost_seeds": None,
}
FAST = {
    **TINY,
    "experiments": sheet(orders=(1,), seeds=(0,)),
    "space_settings": tiny_nb201(2),
    "search": {**TINY["search"], "epochs": 1, "hessian_every": 0},
    "selection": SELECT,
}
TABLE = "results/tables/selection.csv"


def test_selection_dag_for_both_methods_and_the_zero_cost_baseline(tmp_path):
    cfg = write_config(tmp_path, FAST)
    res = snakemake(tmp_path, TABLE, "--cores", "2", "--configfile", str(cfg))
    assert res.returncode == 0, res.stderr[-3000:]
    counts = job_counts(res.stdout + res.stderr)
    assert counts["sample_architectures"] == counts["score_proxies"] == counts["select_architecture"] == 3
    base = tmp_path / "results/select/nb201/digits"
    jobs = {
        "darts": base / "darts/order-1/seed-0/tf-synflow-k4",
        "balenas": base / "balenas/order-1/seed-0/tf-synflow-k4",
        "zero_cost": base / "zero_cost/seed-0/uniform-synflow-k4",
    }
    for method, folder in jobs.items():
        lines = (folder / "samples.jsonl").read_text().splitlines()
        assert len(lines) == 4
        scores = pd.read_csv(folder / "scores.csv")
        sel = json.loads((folder / "selected.json").read_text())
        assert sel["method"] == method and sel["k"] == 4 and sel["proxy"] == "synflow"
        assert sel["n_distinct"] == len({json.loads(line)["genotype"] for line in lines}) == len(scores)
        assert sel["genotype"] == scores.loc[scores["score"].idxmax(), "genotype"]
        assert sel["config"]["network"] == {"network": {"channels": 2, "cells_per_stage": 1}, "batch_size": 16}
        assert (tmp_path / f"logs/score_proxies/nb201/digits/{folder.relative_to(base)}.log").exists()
    assert json.loads((jobs["zero_cost"] / "selected.json").read_text())["order"] is None
    assert json.loads((jobs["balenas"] / "selected.json").read_text())["selector"] == "tf"
    table = pd.read_csv(tmp_path / TABLE)
    assert sorted(table["method"]) == ["balenas", "darts", "zero_cost"]
    assert "Zero-cost NAS" in (tmp_path / "results/tables/selection.md").read_text()
    again = snakemake(tmp_path, TABLE, "-n", "--configfile", str(cfg))
    assert "Nothing to be done" in again.stdout + again.stderr


def _merged_paper_config() -> dict:
    base = yaml.safe_load((REPO / "config/config.yaml").read_text())
    paper = yaml.safe_load((REPO / "config/paper.yaml").read_text())
    return {**base, **paper}


def test_paper_config_plans_one_selection_job_per_run_k_and_proxy(tmp_path):
    res = snakemake(tmp_path, "-n", "--configfile", str(REPO / "config" / "paper.yaml"))
    assert res.returncode == 0, res.stderr[-2000:]
    cfg = _merged_paper_config()
    sel = cfg["selection"]
    assert sel["ks"] == [10, 50, 100] and sel["proxies"] == ["synflow", "snip", "grasp"]
    rows = cfg["experiments"]
    chosen = [e.get("selectors", sel["selectors"]) for e in rows]
    runs = sum(len(e["orders"]) * len(e["seeds"]) for e, c in zip(rows, chosen) if "tf" in c)
    zc_seeds = {}
    for e, c in zip(rows, chosen):
        if "uniform" in c:
            zc_seeds.setdefault((e["space"], e["dataset"]), set()).update(sel["zero_cost_seeds"] or e["seeds"])
    expected = (runs + sum(map(len, zc_seeds.values()))) * len(sel["ks"]) * len(sel["proxies"])
    counts = job_counts(res.stdout)
    assert counts["sample_architectures"] == counts["score_proxies"] == counts["select_architecture"] == expected
    assert "nb201/cifar10/zero_cost/seed-3/uniform-grasp-k100/selected.json" in res.stdout
    assert "nb201/cifar10/balenas/order-1/seed-0/tf-synflow-k50/selected.json" in res.stdout


def test_unknown_proxy_fails_before_any_job(tmp_path):
    cfg = write_config(tmp_path, {**FAST, "selection": {**SELECT, "proxies": ["synflo"]}}, "bad.yaml")
    res = snakemake(tmp_path, "--cores", "1", "--configfile", str(cfg))
    assert res.returncode != 0
    assert "selection.proxies" in res.stderr + res.stdout and "synflow" in res.stderr + res.stdout
    assert not (tmp_path / "results").exists()


def test_correlation_study_is_scheduled_only_with_a_benchmark(tmp_path, nb201_groundtruth: Path):
    study = {"n_archs": 3, "dataset": "digits", "network": {"channels": 2, "cells_per_stage": 1},
             "batch_size": 16, "proxies": ["synflow", "snip"]}
    on = write_config(tmp_path, {**FAST, "proxy_correlation": study,
                                 "benchmarks": {"nb201": str(nb201_groundtruth)}}, "on.yaml")
    off = write_config(tmp_path, {**FAST, "proxy_correlation": study, "benchmarks": {"nb201": None}}, "off.yaml")
    res_on = snakemake(tmp_path, "-n", "--configfile", str(on))
    res_off = snakemake(tmp_path, "-n", "--configfile", str(off))
    assert res_on.returncode == 0 and res_off.returncode == 0, (res_on.stderr + res_off.stderr)[-2000:]
    assert job_counts(res_on.stdout)["proxy_correlation"] == 1
    assert "results/figures/proxy_correlation_synflow.png" in res_on.stdout
    assert "proxy_correlation" not in job_counts(res_off.stdout)
    # and the rule runs: one figure pair per proxy, one table row per proxy
    run = snakemake(tmp_path, "--cores", "1", "results/tables/proxy_correlation.csv", "--configfile", str(on))
    assert run.returncode == 0, run.stderr[-3000:]
    for proxy in ("synflow", "snip"):
        for ext in ("png", "pdf"):
            assert (tmp_path / f"results/figures/proxy_correlation_{proxy}.{ext}").stat().st_size > 1000
    table = pd.read_csv(tmp_path / "results/tables/proxy_correlation.csv")
    assert sorted(table["proxy"]) == ["snip", "synflow"] and (table["n"] == 3).all()
