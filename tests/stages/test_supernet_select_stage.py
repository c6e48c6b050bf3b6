"""The supernet selection stage (RandomNAS, SETN, ENAS) on the files of a real tiny search."""

import json

import pandas as pd
import pytest

from balenas.search import SearchConfig
from balenas.stages.search import search_stage
from balenas.stages.select import parse_run_dir, supernet_select_stage

DATA = {"name": "digits", "source": "digits", "input_size": 8, "max_examples": 96, "crop_padding": 1,
        "flip": False}
ADAM = {"lr": 0.01, "betas": (0.5, 0.999), "weight_decay": 1e-3, "init_std": 1e-3}
CASES = {
    "randomnas": ("supernet", {}),
    "setn": ("topk", ADAM),
    "enas": ("controller", {"lr": 0.01, "betas": (0.0, 0.999), "grad_clip": 5.0, "entropy_weight": 1e-4,
                            "baseline_decay": 0.95, "hidden": 8, "layers": 1, "temperature": 5.0,
                            "tanh_constant": 1.5}),
}


@pytest.mark.parametrize("method", sorted(CASES))
def test_selects_the_best_scored_candidate_with_the_runs_shared_weights(tmp_path, method):
    selector, settings = CASES[method]
    cfg = SearchConfig(space="nb201", dataset="digits", method=method, seed=0, epochs=1, batch_size=16,
                       model={"channels": 4, "cells_per_stage": 1}, method_settings=settings).to_dict()
    run = tmp_path / "run"
    run.mkdir()
    outs = {k: run / n for k, n in (("arch", "arch.pt"), ("genotype", "genotype.json"), ("history", "history.csv"),
                                    ("metrics", "metrics.json"), ("supernet", "supernet.pt"))}
    search_stage(cfg, DATA, outs, tmp_path / "ckpt.pt")
    job = parse_run_dir("nb201", "digits", f"{method}/order-1/seed-0", selector, "valacc", 6)
    sel = {k: tmp_path / n for k, n in (("samples", "samples.jsonl"), ("scores", "scores.csv"),
                                        ("selected", "selected.json"))}
    record = supernet_select_stage(job, outs["arch"], outs["supernet"], DATA, 8, sel)
    scores = pd.read_csv(sel["scores"])
    assert len(sel["samples"].read_text().splitlines()) == 6
    assert record["score"] == scores["score"].max()
    assert record["genotype"] == scores.sort_values(["score", "candidate"], ascending=[False, True])["genotype"].iloc[0]
    assert json.loads(sel["selected"].read_text())["genotype"] == record["genotype"]
    assert record["method"] == method and record["selector"] == selector


def test_a_supernet_selector_needs_a_search_run():
    with pytest.raises(ValueError, match="search run"):
        parse_run_dir("nb201", "digits", "zero_cost/seed-0", "supernet", "valacc", 6)
