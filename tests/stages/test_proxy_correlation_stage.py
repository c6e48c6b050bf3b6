"""The proxy correlation study: architecture sample, resumable scoring, table, figures."""

from __future__ import annotations

import dataclasses
import json
import logging

import numpy as np
import pandas as pd
import pytest
import torch

from balenas.report.proxy_correlation import PUBLISHED_METRIC
from balenas.runtime import sha256_file
from balenas.spaces import get_space
from balenas.stages.proxy_correlation import (
    CorrelationConfig,
    _save_checkpoint,
    proxy_correlation_stage,
    sample_distinct_genotypes,
    score_sample,
)

SPACE = get_space("nb201")
CFG = CorrelationConfig(n_archs=5, dataset="toy", channels=2, cells_per_stage=1, batch_size=8,
                        proxies=("synflow", "snip"), checkpoint_every=2)


def test_architecture_sample_is_distinct_and_seeded():
    a = sample_distinct_genotypes(SPACE, 300, seed=0)
    assert len(set(a)) == 300
    assert a == sample_distinct_genotypes(SPACE, 300, seed=0)
    assert a != sample_distinct_genotypes(SPACE, 300, seed=1)
    with pytest.raises(ValueError, match="n_archs"):
        sample_distinct_genotypes(SPACE, SPACE.size + 1, seed=0)


def test_config_checks_names():
    with pytest.raises(KeyError, match="synflow"):
        CorrelationConfig(n_archs=1, dataset="x", proxies=("synflo",))
    with pytest.raises(ValueError, match="metric key"):
        CorrelationConfig(n_archs=1, dataset="x", metrics=("cifar10",))
    with pytest.raises(ValueError, match="n_archs"):
        CorrelationConfig(n_archs=0, dataset="x")


def test_default_metrics_compare_with_the_published_values():
    metrics = CorrelationConfig(n_archs=1, dataset="x").metrics
    assert metrics[0] == PUBLISHED_METRIC  # compared with the published rho, and plotted
    assert "cifar10/ori-test/200" in metrics  # the paper tables' CIFAR-10 test accuracy


@pytest.fixture(scope="module")
def batch():
    gen = torch.Generator().manual_seed(0)
    return torch.randn(8, 1, 8, 8, generator=gen), torch.randint(0, 3, (8,), generator=gen)


def test_resumed_scoring_uses_the_checkpoint_and_matches(tmp_path, batch, caplog):
    x, y = batch
    genotypes = sample_distinct_genotypes(SPACE, CFG.n_archs, seed=0)
    full = score_sample(CFG, genotypes, x, y, 3, torch.device("cpu"))
    assert sorted(full["arch_index"].unique()) == list(range(5)) and len(full) == 10
    # the same scores in checkpointed chunks of 2
    ckpt = tmp_path / "ckpt.json"
    chunked = score_sample(CFG, genotypes, x, y, 3, torch.device("cpu"), checkpoint=ckpt)
    assert np.array_equal(chunked["score"].to_numpy(), full["score"].to_numpy())
    # a checkpoint holding the first two architectures is resumed, not recomputed
    key = {**CFG.scoring_key(), "archs": [SPACE.to_string(g) for g in genotypes]}
    partial = full[full["arch_index"] < 2].copy()
    partial.loc[partial.index[0], "score"] = 123.0
    _save_checkpoint(ckpt, key, partial)
    with caplog.at_level(logging.INFO):
        resumed = score_sample(CFG, genotypes, x, y, 3, torch.device("cpu"), checkpoint=ckpt)
    assert "resumed from the score cache" in caplog.text
    assert resumed["score"].iloc[0] == 123.0
    assert np.array_equal(resumed["score"].to_numpy()[1:], full["score"].to_numpy()[1:])
    # a checkpoint written under another configuration is ignored
    _save_checkpoint(ckpt, {**key, "seed": 99}, partial)
    fresh = score_sample(CFG, genotypes, x, y, 3, torch.device("cpu"), checkpoint=ckpt)
    assert np.array_equal(fresh["score"].to_numpy(), full["score"].to_numpy())


def test_scoring_builds_the_configured_network(batch):
    """channels / cells_per_stage reach the space's network config (a wider net scores differently)."""
    x, y = batch
    genotypes = sample_distinct_genotypes(SPACE, 2, seed=0)
    cfg = dataclasses.replace(CFG, n_archs=2, proxies=("synflow",))
    narrow = score_sample(cfg, genotypes, x, y, 3, torch.device("cpu"))
    wide = score_sample(dataclasses.replace(cfg, channels=4), genotypes, x, y, 3, torch.device("cpu"))
    assert not np.array_equal(narrow["score"].to_numpy(), wide["score"].to_numpy())
    again = score_sample(cfg, genotypes, x, y, 3, torch.device("cpu"))
    assert np.array_equal(narrow["score"].to_numpy(), again["score"].to_numpy())


def test_study_end_to_end_on_the_real_table(tmp_path, nb201_groundtruth):
    cfg = {"n_archs": 6, "dataset": "digits", "channels": 2, "cells_per_stage": 1, "batch_size": 16, "seed": 0,
           "proxies": ["synflow", "snip"], "metrics": ["cifar10/ori-test/200", "cifar10-valid/x-valid/200"]}
    data = {"name": "digits", "source": "digits", "input_size": 8, "max_examples": 64, "augment": False}
    outputs = {
        "scores": tmp_path / "scores.csv",
        "metrics": tmp_path / "metrics.json",
        "table_csv": tmp_path / "t.csv",
        "table_md": tmp_path / "t.md",
        "figures": {p: (tmp_path / f"{p}.png", tmp_path / f"{p}.pdf") for p in cfg["proxies"]},
    }
    ckpt = tmp_path / "ckpt" / "scores.json"
    table = proxy_correlation_stage(cfg, data, nb201_groundtruth, outputs, checkpoint=ckpt)
    assert set(table["proxy"]) == {"synflow", "snip"} and len(table) == 4
    assert (table["n"] == 6).all()
    scores = pd.read_csv(outputs["scores"])
    assert len(scores) == 12 and scores["acc:cifar10/ori-test/200"].between(0, 100).all()
    archs = scores["arch"].unique()
    assert len(archs) == 6
    meta = json.loads(outputs["metrics"].read_text())
    assert meta["benchmark"]["sha256"] == sha256_file(nb201_groundtruth)
    assert meta["seed"] == 0 and "torch" in meta["environment"]
    assert "synflow" in outputs["table_md"].read_text()
    assert outputs["figures"]["snip"][0].stat().st_size > 1000
    # the score cache is kept: another metric list is answered from it, without scoring again
    assert ckpt.exists()
    cached = json.loads(ckpt.read_text())
    cached["rows"][0]["score"] = 4.2e42
    ckpt.write_text(json.dumps(cached))
    other = proxy_correlation_stage({**cfg, "metrics": ["cifar10/ori-test/200"]}, data, nb201_groundtruth, outputs,
                                    checkpoint=ckpt)
    assert list(other["metric"].unique()) == ["cifar10/ori-test/200"]
    assert 4.2e42 in pd.read_csv(outputs["scores"])["score"].to_numpy()
