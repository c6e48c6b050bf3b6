"""The selection stages through Snakemake: sample K_max -> score with every proxy -> select every K per
proxy, for DARTS, BaLeNAS and zero-cost."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from .conftest import REPO, TINY, sheet, snakemake, tiny_nb201, write_config
from .test_workflow import job_counts
from .tiny_run import parse_dry_run

pytestmark = pytest.mark.workflow

SELECT = {
    "selectors": ["tf", "uniform"],
    "ks": [4, 2],
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
    # per run: one sampling job (K_max = 4), one scoring job (every proxy), one selection job (K = 2 and 4)
    # per proxy
    assert counts["sample_architectures"] == counts["score_proxies"] == counts["select_architecture"] == 3
    base = tmp_path / "results/select/nb201/digits"
    runs = {"darts": ("darts/order-1/seed-0", "tf"), "balenas": ("balenas/order-1/seed-0", "tf"),
            "zero_cost": ("zero_cost/seed-0", "uniform")}
    for method, (run_dir, selector) in runs.items():
        lines = (base / run_dir / f"{selector}-k4/samples.jsonl").read_text().splitlines()
        assert len(lines) == 4
        drawn = [json.loads(line)["genotype"] for line in lines]
        scores = pd.read_csv(base / run_dir / f"{selector}-synflow-k4/scores.csv")
        assert list(scores["genotype"]) == list(dict.fromkeys(drawn))  # one row per distinct draw, in order
        for k in (2, 4):
            sel = json.loads((base / run_dir / f"{selector}-synflow-k{k}/selected.json").read_text())
            assert sel["method"] == method and sel["k"] == sel["n_samples"] == k and sel["proxy"] == "synflow"
            first_k = scores[scores["genotype"].isin(drawn[:k])]  # the best of the first k draws only
            assert sel["n_distinct"] == len(set(drawn[:k])) == len(first_k)
            assert sel["genotype"] == first_k.loc[first_k["score"].idxmax(), "genotype"]
            assert sel["selected_count"] == drawn[:k].count(sel["genotype"])
            assert sel["config"]["network"] == {"network": {"channels": 2, "cells_per_stage": 1}, "batch_size": 16}
        assert not (base / run_dir / f"{selector}-synflow-k2/scores.csv").exists()  # K=2 is not scored again
        assert (tmp_path / f"logs/score_proxies/nb201/digits/{run_dir}/{selector}-k4.log").exists()
    assert json.loads((base / "zero_cost/seed-0/uniform-synflow-k4/selected.json").read_text())["order"] is None
    assert json.loads((base / "balenas/order-1/seed-0/tf-synflow-k2/selected.json").read_text())["selector"] == "tf"
    table = pd.read_csv(tmp_path / TABLE)
    assert sorted(table["method"]) == sorted(["balenas", "darts", "zero_cost"] * 2)
    assert sorted(table["k"].unique()) == [2, 4]
    assert "Zero-cost NAS" in (tmp_path / "results/tables/selection.md").read_text()
    again = snakemake(tmp_path, TABLE, "-n", "--configfile", str(cfg))
    assert "Nothing to be done" in again.stdout + again.stderr


def _merged_paper_config() -> dict:
    base = yaml.safe_load((REPO / "config/config.yaml").read_text())
    paper = yaml.safe_load((REPO / "config/paper.yaml").read_text())
    return {**base, **paper}


def test_paper_config_scores_each_run_once_for_every_proxy_in_one_group_per_run(tmp_path):
    """K = 10, 50, 100 share the K = 100 draws: per search run (or zero-cost seed) and selector one sampling
    job, per proxy one scoring job and one selection job writing every K's selected.json; on a cluster they
    are one group job (one submission) per run and selector."""
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
    sources = runs + sum(map(len, zc_seeds.values()))
    counts = job_counts(res.stdout)
    assert counts["sample_architectures"] == counts["score_proxies"] == sources
    assert counts["select_architecture"] == sources * len(sel["proxies"])
    jobs = parse_dry_run(res.stdout)
    score_jobs = [j for j in jobs if j.rule == "score_proxies"]
    scores = [dict(j.wildcards) for j in score_jobs]
    keys = [(w["space"], w["dataset"], w["run_dir"], w["selector"]) for w in scores]
    assert len(set(keys)) == len(keys)  # one scoring job per (run, selector) ...
    assert {w["k"] for w in scores} == {"100"}  # ... of the K_max draws, ...
    for job in score_jobs:  # ... writing every proxy's scores
        assert sorted(o.split("/")[-2] for o in job.outputs if o.endswith("scores.csv")) == sorted(
            f"{dict(job.wildcards)['selector']}-{p}-k100" for p in sel["proxies"])
    selected = {o for j in jobs if j.rule == "select_architecture" for o in j.outputs}
    assert len(selected) == sources * len(sel["proxies"]) * len(sel["ks"])
    assert "results/select/nb201/cifar10/zero_cost/seed-3/uniform-grasp-k10/selected.json" in selected
    assert "results/select/nb201/cifar10/balenas/order-1/seed-0/tf-synflow-k50/selected.json" in selected
    groups: dict[str, list] = {}
    for job in jobs:
        if job.rule in ("sample_architectures", "score_proxies", "select_architecture"):
            assert job.group is not None, job
            groups.setdefault(job.group, []).append(job)
    assert len(groups) == sources  # tens of submissions, not one per (run, K, proxy)
    for members in groups.values():
        assert sorted(j.rule for j in members) == sorted(
            ["sample_architectures", "score_proxies"] + ["select_architecture"] * len(sel["proxies"]))
        assert len({dict(j.wildcards)["run_dir"] for j in members}) == 1


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
