"""The three selection stages end to end on tiny networks: samples.jsonl -> scores.csv -> selected.json."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch

from balenas.archdist import GaussianArch
from balenas.runtime import sha256_file, torch_save, write_json
from balenas.select import distinct
from balenas.spaces import get_space
from balenas.stages.select import (
    ZERO_COST,
    parse_run_dir,
    read_samples,
    sample_stage,
    score_proxies_stage,
    score_stage,
    select_stage,
)

SPACE = get_space("nb201")
DATA = {"name": "digits", "source": "digits", "input_size": 8, "max_examples": 64, "augment": False}
NETWORK = {"network": {"channels": 2, "cells_per_stage": 1}, "batch_size": 16}
REQUIRED = {"space", "dataset", "method", "order", "seed", "selector", "proxy", "k", "genotype", "score",
            "n_distinct", "environment", "config"}


def test_parse_run_dir_pairs_selectors_with_their_sources():
    job = parse_run_dir("nb201", "digits", "balenas/order-2/seed-3", "tf", "snip", 10)
    assert (job["method"], job["order"], job["seed"], job["k"]) == ("balenas", 2, 3, 10)
    zc = parse_run_dir("nb201", "digits", "zero_cost/seed-1", "uniform", "synflow", 5)
    assert (zc["method"], zc["order"], zc["seed"]) == (ZERO_COST, None, 1)
    with pytest.raises(ValueError, match="needs a search run"):
        parse_run_dir("nb201", "digits", "zero_cost/seed-1", "tf", "synflow", 5)
    with pytest.raises(ValueError, match="needs zero_cost"):
        parse_run_dir("nb201", "digits", "darts/order-1/seed-0", "uniform", "synflow", 5)


CONFIG_USED = {"network": NETWORK, "data": DATA, "device": "cpu"}


def _run(tmp_path, job, arch=None, genotype=None, ks=None):
    """Sample and score job['k'] draws, select for every k of ``ks`` (default: job['k'] only); returns the
    folder, the scores and the record of the largest k."""
    out = tmp_path / "sel"
    sample_stage(job, out / "samples.jsonl", arch=arch)
    scores = score_stage(job, out / "samples.jsonl", DATA, NETWORK, out / "scores.csv")
    ks = ks or [job["k"]]
    records = select_stage(job, out / "samples.jsonl", out / "scores.csv", CONFIG_USED,
                           {k: out / f"selected-k{k}.json" for k in ks}, arch=arch, search_genotype=genotype)
    return out, scores, records[max(ks)]


def test_zero_cost_selection_round_trip(tmp_path):
    job = parse_run_dir("nb201", "digits", "zero_cost/seed-0", "uniform", "synflow", 12)
    out, scores, record = _run(tmp_path, job)
    samples = read_samples(out / "samples.jsonl", "nb201")
    assert len(samples) == 12
    on_disk = json.loads((out / "selected-k12.json").read_text())
    assert REQUIRED <= set(on_disk)
    assert on_disk["method"] == "zero_cost" and on_disk["order"] is None and on_disk["selector"] == "uniform"
    assert on_disk["n_distinct"] == len(distinct(samples)) == len(pd.read_csv(out / "scores.csv"))
    best = scores.loc[scores["score"].idxmax()]
    assert on_disk["genotype"] == best["genotype"] and on_disk["score"] == pytest.approx(best["score"], rel=1e-15)
    assert SPACE.to_string(SPACE.parse(on_disk["genotype"])) == on_disk["genotype"]
    # same seed -> the same samples, scores and choice
    again = _run(tmp_path / "again", job)[2]
    assert (again["genotype"], again["score"]) == (record["genotype"], record["score"])
    assert (out / "samples.jsonl").read_text() == (tmp_path / "again/sel/samples.jsonl").read_text()


def test_tf_selection_samples_the_saved_distribution(tmp_path):
    dist = GaussianArch(SPACE.param_groups, dataset_size=100, prior_precision=1.0, init_precision=1.0)
    with torch.no_grad():
        dist.mu["cell"].copy_(torch.randn(SPACE.param_groups["cell"], generator=torch.Generator().manual_seed(0)))
        dist.s("cell").fill_(1e5)  # nearly deterministic: every sample is the argmax of mu
    run = tmp_path / "search"
    torch_save(
        {"space": "nb201", "method": "balenas", "order": 1, "groups": {"cell": [6, 5]},
         "method_settings": {"lr": 0.1, "betas": [0.5, 0.999], "prior_precision": 1.0, "init_precision": 1.0,
                             "init_std": 1e-3, "mc_samples": 1, "form": "sqrt", "dataset_size": None},
         "dataset_size": 100, "state_dict": dist.state_dict()},
        run / "arch.pt",
    )
    argmax = SPACE.to_string(SPACE.derive(dist.mean_alpha()))
    write_json(run / "genotype.json", {"genotype": argmax})
    job = parse_run_dir("nb201", "digits", "balenas/order-1/seed-0", "tf", "snip", 8)
    out, _, record = _run(tmp_path, job, arch=run / "arch.pt", genotype=run / "genotype.json")
    assert record["n_distinct"] == 1 and record["selected_count"] == 8
    assert record["genotype"] == record["argmax_genotype"] == argmax
    assert record["search_arch"]["sha256"] == sha256_file(run / "arch.pt")
    wrong = parse_run_dir("nb201", "digits", "darts/order-1/seed-0", "tf", "snip", 8)
    with pytest.raises(ValueError, match="balenas distribution"):
        sample_stage(wrong, tmp_path / "x.jsonl", arch=run / "arch.pt")


def _learned_arch(tmp_path, precision: float):
    """A saved BaLeNAS arch.pt whose distribution repeats some draws (precision sets sigma)."""
    dist = GaussianArch(SPACE.param_groups, dataset_size=1, prior_precision=1.0, init_precision=1.0)
    with torch.no_grad():
        dist.mu["cell"].copy_(torch.randn(SPACE.param_groups["cell"], generator=torch.Generator().manual_seed(1)))
        dist.s("cell").fill_(precision)
    path = tmp_path / "search" / "arch.pt"
    torch_save(
        {"space": "nb201", "method": "balenas", "order": 1, "groups": {"cell": [6, 5]},
         "method_settings": {"lr": 0.1, "betas": [0.5, 0.999], "prior_precision": 1.0, "init_precision": 1.0,
                             "init_std": 1e-3, "mc_samples": 1, "form": "sqrt", "dataset_size": None},
         "dataset_size": 1, "state_dict": dist.state_dict()},
        path,
    )
    return path


@pytest.mark.parametrize("run_dir, selector", [("zero_cost/seed-1", "uniform"), ("balenas/order-1/seed-1", "tf")])
def test_selection_from_the_k_max_draws_equals_a_direct_selection(tmp_path, run_dir, selector):
    """The workflow samples and scores K_max once and selects every K from the first K draws: each record
    must be the one a job that drew and scored exactly K candidates writes (same candidate, score, counts)."""
    arch = _learned_arch(tmp_path, precision=1.5) if selector == "tf" else None
    k_max, ks = 12, [1, 3, 5, 12]
    job = parse_run_dir("nb201", "digits", run_dir, selector, "synflow", k_max)
    _run(tmp_path / "kmax", job, arch=arch, ks=ks)
    derived = {k: json.loads((tmp_path / f"kmax/sel/selected-k{k}.json").read_text()) for k in ks}
    chosen = set()
    for k in ks:
        direct = _run(tmp_path / f"k{k}", {**job, "k": k}, arch=arch)[2]
        assert derived[k] == json.loads(json.dumps(direct)), k  # byte for byte the same record
        assert derived[k]["k"] == derived[k]["n_samples"] == k
        chosen.add((derived[k]["genotype"], derived[k]["selected_count"]))
    assert len(chosen) > 1  # the Ks really pick among different draws (a K_max pick for all would fail)
    if selector == "tf":  # repeats: counts are recounted over the first K draws
        assert derived[12]["n_distinct"] < 12


def test_mismatched_files_are_refused(tmp_path):
    job = parse_run_dir("nb201", "digits", "zero_cost/seed-0", "uniform", "synflow", 6)
    out, scores, _ = _run(tmp_path, job)
    scores.iloc[:-1].to_csv(out / "short.csv", index=False)
    with pytest.raises(ValueError, match="distinct samples"):
        select_stage(job, out / "samples.jsonl", out / "short.csv", {}, {6: out / "bad.json"})
    with pytest.raises(ValueError, match="outside 1..6"):
        select_stage(job, out / "samples.jsonl", out / "scores.csv", {}, {3: out / "k3.json", 7: out / "bad.json"})
    with pytest.raises(ValueError, match="the job samples K = 7"):
        select_stage({**job, "k": 7}, out / "samples.jsonl", out / "scores.csv", {}, {3: out / "bad.json"})
    lines = (out / "samples.jsonl").read_text().splitlines()
    (out / "swapped.jsonl").write_text("\n".join([lines[1], lines[0], *lines[2:]]) + "\n")
    with pytest.raises(ValueError, match="holds sample"):
        read_samples(out / "swapped.jsonl", "nb201")
    assert not (out / "bad.json").exists()


def test_one_job_scoring_every_proxy_writes_the_bytes_of_one_job_per_proxy(tmp_path):
    """The scoring rule scores all proxies of a run in one job (one network per candidate; SNIP from
    GraSP's gradient): each scores.csv must be the file a job scoring that proxy alone writes."""
    proxies = ["synflow", "snip", "grasp"]
    job = parse_run_dir("nb201", "digits", "zero_cost/seed-0", "uniform", None, 6)
    samples = tmp_path / "samples.jsonl"
    sample_stage(job, samples)
    together = {p: tmp_path / "all" / p / "scores.csv" for p in proxies}
    timings = {p: tmp_path / "all" / p / "score_timings.json" for p in proxies}
    tables = score_proxies_stage(job, samples, DATA, NETWORK, together, timings=timings)
    assert list(tables) == proxies
    for proxy in proxies:
        alone = tmp_path / "alone" / proxy / "scores.csv"
        score_stage({**job, "proxy": proxy}, samples, DATA, NETWORK, alone)
        assert together[proxy].read_bytes() == alone.read_bytes(), proxy
        assert set(pd.read_csv(together[proxy])["proxy"]) == {proxy}
        seconds = json.loads(timings[proxy].read_text())["candidates"]
        assert [r["candidate"] for r in seconds] == list(range(len(tables[proxy])))
        assert all(r["seconds"] > 0 for r in seconds)


def test_scoring_timings_must_name_the_scored_proxies(tmp_path):
    job = parse_run_dir("nb201", "digits", "zero_cost/seed-0", "uniform", None, 2)
    sample_stage(job, tmp_path / "samples.jsonl")
    with pytest.raises(ValueError, match=r"timings for \['snip'\], scores for \['grasp', 'snip'\]"):
        score_proxies_stage(job, tmp_path / "samples.jsonl", DATA, NETWORK,
                            {"snip": tmp_path / "a.csv", "grasp": tmp_path / "b.csv"},
                            timings={"snip": tmp_path / "a.json"})
    assert not list(tmp_path.glob("*.csv"))
