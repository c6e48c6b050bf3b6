import json
import os
import re
import signal
import subprocess
import time

import pytest
import torch

from .conftest import REPO, SNAKEFILE, SNAKEMAKE, TINY, sheet, snakemake, write_config
from .tiny_run import parse_dry_run

pytestmark = pytest.mark.workflow


def job_counts(stdout: str) -> dict[str, int]:
    block = stdout.split("Job stats:")[1]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", block, re.M)}


def test_whole_dag_runs_on_a_tiny_config(tmp_path, tiny_config):
    res = snakemake(tmp_path, "--cores", "2", "--configfile", str(tiny_config))
    assert res.returncode == 0, res.stderr[-3000:]
    tables = tmp_path / "results" / "tables"
    summary = (tables / "search_summary.csv").read_text()
    assert "DARTS (1st)" in summary and "BaLeNAS (1st)" in summary
    assert (tmp_path / "results" / "figures" / "search_curves_nb201_digits_valid_acc.png").stat().st_size > 1000
    for fig in ("fig2_skip_connections_nb201_digits", "fig3_hessian_eigenvalue_nb201_digits"):
        for ext in ("png", "pdf"):
            assert (tmp_path / "results" / "figures" / f"{fig}.{ext}").stat().st_size > 1000
    run = tmp_path / "results/search/nb201/digits/balenas/order-1/seed-0"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["seed"] == 0 and metrics["config"]["epochs"] == 2
    assert {"torch", "python", "device", "balenas"} <= set(metrics["environment"])
    assert (tmp_path / "logs/search/nb201/digits/balenas/order-1/seed-0.log").read_text().count("epoch") >= 2
    assert not (tmp_path / "checkpoints/search/nb201/digits/balenas/order-1/seed-0/checkpoint.pt").exists()
    # nothing left to do afterwards
    again = snakemake(tmp_path, "-n", "--configfile", str(tiny_config))
    assert "Nothing to be done" in again.stdout + again.stderr


@pytest.mark.parametrize(
    "override, key",
    [
        ({"experiments": sheet(methods=("darts", "gdas2"))}, "experiments.1.method"),
        ({"search": {**TINY["search"], "epochs": -1}}, "epochs"),
        ({"experiments": sheet(dataset="c10"), "data": {"c10": {"source": "cifar10", "root": "/no/such/folder"}}},
         "data.c10.root"),
    ],
)
def test_bad_config_fails_before_any_job(tmp_path, override, key):
    cfg = write_config(tmp_path, {**TINY, **override}, "bad.yaml")
    res = snakemake(tmp_path, "--cores", "1", "--configfile", str(cfg))
    assert res.returncode != 0
    assert key in res.stderr + res.stdout
    assert not (tmp_path / "results").exists()
    assert not (tmp_path / "logs").exists()


def test_paper_config_plans_every_search_of_the_paper(tmp_path):
    """NB201: DARTS and BaLeNAS x 2 orders x 4 seeds plus the five Table-1 baselines x 4 seeds; the DARTS
    space: 2 methods x 2 orders x 4 seeds; NAS-Bench-1Shot1: 3 spaces x 2 methods x 2 orders x 4 seeds; and
    Figures 2 and 3 of every searched space among the final targets."""
    res = snakemake(tmp_path, "-n", "--configfile", str(REPO / "config" / "paper.yaml"))
    assert res.returncode == 0, res.stderr[-2000:]
    searches = [j for j in parse_dry_run(res.stdout) if j.rule == "search"]
    per_space: dict[str, int] = {}
    for job in searches:
        space = dict(job.wildcards)["space"]
        per_space[space] = per_space.get(space, 0) + 1
    assert per_space == {"nb201": 16 + 5 * 4, "darts": 16, "nb1shot1-s1": 16, "nb1shot1-s2": 16, "nb1shot1-s3": 16}
    for space in ("nb201", "darts"):
        for method in ("darts", "balenas"):
            for order in (1, 2):
                assert f"{space}/cifar10/{method}/order-{order}/seed-3" in res.stdout
    for method in ("gdas", "drnas", "randomnas", "setn", "enas"):
        assert f"nb201/cifar10/{method}/order-1/seed-3" in res.stdout
    for space in ("nb201", "darts"):
        assert f"results/figures/fig3_hessian_eigenvalue_{space}_cifar10.pdf" in res.stdout
        assert f"results/figures/fig2_skip_connections_{space}_cifar10.pdf" in res.stdout


def _run_until_checkpoint(tmp_path, cfg, ckpt):
    target = "results/search/nb201/digits/darts/order-1/seed-0/arch.pt"
    cmd = [*SNAKEMAKE, "-s", str(SNAKEFILE), "--directory", str(tmp_path), target, "--cores", "1",
           "--configfile", str(cfg)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while not ckpt.exists():
        assert proc.poll() is None, "search finished before a checkpoint appeared"
        assert time.time() < deadline
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole process group: snakemake and its job
    proc.wait()


def test_killed_search_job_resumes_to_the_same_result(tmp_path):
    over = {**TINY, "experiments": sheet(methods=("darts",), seeds=(0,)), "search": {**TINY["search"], "epochs": 4}}
    target = "results/search/nb201/digits/darts/order-1/seed-0/arch.pt"
    ref_dir, kill_dir = tmp_path / "ref", tmp_path / "kill"
    ref_dir.mkdir()
    kill_dir.mkdir()
    ref_cfg, kill_cfg = write_config(ref_dir, over), write_config(kill_dir, over)
    assert snakemake(ref_dir, target, "--cores", "1", "--configfile", str(ref_cfg)).returncode == 0
    ckpt = kill_dir / "checkpoints/search/nb201/digits/darts/order-1/seed-0/checkpoint.pt"
    _run_until_checkpoint(kill_dir, kill_cfg, ckpt)
    assert not (kill_dir / target).exists()
    # a SIGKILL leaves Snakemake's lock behind, as after a crash; the user unlocks, then reruns
    assert snakemake(kill_dir, "--unlock", "--configfile", str(kill_cfg)).returncode == 0
    res = snakemake(kill_dir, target, "--cores", "1", "--rerun-incomplete", "--configfile", str(kill_cfg))
    assert res.returncode == 0, res.stderr[-2000:]
    log = (kill_dir / "logs/search/nb201/digits/darts/order-1/seed-0.log").read_text()
    assert "resumed from" in log
    ref = torch.load(ref_dir / target, weights_only=True)
    got = torch.load(kill_dir / target, weights_only=True)
    assert all(torch.equal(ref["mean_alpha"][k], got["mean_alpha"][k]) for k in ref["mean_alpha"])
    ref_g = json.loads((ref_dir / target).with_name("genotype.json").read_text())
    got_g = json.loads((kill_dir / target).with_name("genotype.json").read_text())
    assert ref_g["genotype"] == got_g["genotype"]


def _documented_commands() -> list[tuple[str, list[str]]]:
    """(config file, snakemake arguments) of the run command each config/*.yaml documents in its header."""
    out = []
    for path in sorted((REPO / "config").glob("*.yaml")):
        for line in path.read_text().splitlines():
            m = re.match(r"#\s+(?:nice -n \d+ )?(?:python3 -m )?snakemake (.*)$", line)
            if m and "--configfile" in m.group(1):
                out.append((path.name, m.group(1).split()))
    return out


@pytest.mark.parametrize("name, args", _documented_commands(), ids=[n for n, _ in _documented_commands()])
def test_every_config_plans_with_the_command_its_header_documents(tmp_path, name, args):
    """The CPU-scale configs name ../shared data relative to the repository root: plan them from a work
    directory with ../shared beside it, as their headers say to run them."""
    if not (REPO.parent / "shared" / "data").is_dir():
        pytest.skip("needs ../shared beside the checkout (the configs read its CIFAR-10 JPEGs)")
    work = tmp_path / "repo"
    work.mkdir()
    (tmp_path / "shared").symlink_to(REPO.parent / "shared")
    args = [str(REPO / a) if a.startswith("config/") else a for a in args if a not in ("--cores", "2")]
    res = snakemake(work, "-n", *args)
    assert res.returncode == 0, f"{name}: {' '.join(args)}\n{res.stderr[-3000:]}"
    assert "Job stats:" in res.stdout, f"{name}: nothing to plan"
