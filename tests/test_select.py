"""Sampling K candidates, scoring distinct ones once, and picking the best by rank."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch


from balenas.archdist import GaussianArch, SoftmaxArch
from balenas.data import DataConfig, ImageSet
from balenas.methods import METHODS
from balenas.select import (
    STREAM_SAMPLE,
    NetworkConfig,
    best_candidate,
    distinct,
    init_seed,
    prefix_scores,
    sample_genotypes,
    score_candidates,
    scoring_batch,
)
from balenas.spaces import SPACES, get_space
from tests.conftest import default_config

#: every registered method's settings in the default config (each method's distribution is built from them)
METHOD_SETTINGS = default_config()["method_settings"]

SPACE = get_space("nb201")
NET = NetworkConfig(batch_size=8, network={"channels": 2, "cells_per_stage": 1})


def _target_mu(scale: float) -> tuple[torch.Tensor, tuple[int, ...]]:
    """Architecture parameters whose argmax per edge is a known, non-trivial op index."""
    target = (3, 0, 4, 2, 1, 3)
    mu = torch.zeros(SPACE.param_groups["cell"])
    for e, k in enumerate(target):
        mu[e, k] = scale
    return mu, target


def test_near_deterministic_gaussian_samples_its_argmax():
    mu, target = _target_mu(1.0)
    dist = GaussianArch(SPACE.param_groups, dataset_size=1000, prior_precision=1.0, init_precision=1.0)
    with torch.no_grad():
        dist.mu["cell"].copy_(mu)
        dist.s("cell").fill_(1e6)  # sigma = 1/sqrt(N (s + delta/N)) ~ 3e-5: alpha ~ mu
    samples = sample_genotypes("tf", SPACE, 50, seed=0, dist=dist)
    assert {SPACE.to_indices(g) for g in samples} == {target}
    assert SPACE.derive(dist.mean_alpha()) == samples[0]


def test_near_deterministic_softmax_samples_its_argmax():
    mu, target = _target_mu(60.0)  # softmax puts ~e^-60 on the other ops
    dist = SoftmaxArch(SPACE.param_groups)
    with torch.no_grad():
        dist.alpha["cell"].copy_(mu)
    samples = sample_genotypes("tf", SPACE, 50, seed=3, dist=dist)
    assert {SPACE.to_indices(g) for g in samples} == {target}


def test_wide_gaussian_draws_differ_from_its_mean():
    """With sigma ~ 1 and mu ~ 0 the draws are spread out (the samples are really random draws)."""
    dist = GaussianArch(SPACE.param_groups, dataset_size=1, prior_precision=1.0, init_precision=1.0, init_std=1e-3)
    samples = sample_genotypes("tf", SPACE, 40, seed=0, dist=dist)
    assert len(distinct(samples)) >= 35


def test_softmax_sampling_follows_the_categorical_probabilities():
    probs = torch.tensor([0.5, 0.3, 0.2, 0.0, 0.0])
    dist = SoftmaxArch(SPACE.param_groups)
    with torch.no_grad():
        dist.alpha["cell"].copy_(probs.clamp_min(1e-30).log().expand(SPACE.param_groups["cell"]))
    samples = sample_genotypes("tf", SPACE, 2000, seed=1, dist=dist)
    counts = np.zeros(SPACE.num_ops)
    for g in samples:
        for k in SPACE.to_indices(g):
            counts[k] += 1
    freq = counts / counts.sum()
    assert np.allclose(freq, probs.numpy(), atol=0.02)
    assert counts[3] == counts[4] == 0


def test_uniform_sampling_covers_the_whole_space():
    gen_samples = sample_genotypes("uniform", SPACE, 250_000, seed=0)
    seen = {SPACE.to_indices(g) for g in gen_samples}
    # coupon collector: 250k draws miss one of 15,625 genotypes with probability ~2e-3
    assert len(seen) == SPACE.size
    counts = np.zeros(SPACE.param_groups["cell"])
    for g in gen_samples[:20_000]:
        for e, k in enumerate(SPACE.to_indices(g)):
            counts[e, k] += 1
    assert np.allclose(counts / 20_000, 1 / SPACE.num_ops, atol=0.015)


def test_same_seed_same_samples_and_k_prefix():
    dist = GaussianArch(SPACE.param_groups, dataset_size=10, prior_precision=1.0, init_precision=1.0, init_std=0.5)
    a = sample_genotypes("tf", SPACE, 30, seed=7, dist=dist)
    b = sample_genotypes("tf", SPACE, 30, seed=7, dist=dist)
    c = sample_genotypes("tf", SPACE, 10, seed=7, dist=dist)
    d = sample_genotypes("tf", SPACE, 30, seed=8, dist=dist)
    assert a == b
    assert c == a[:10]  # K=10 candidates are the first 10 of K=30
    assert a != d
    assert sample_genotypes("uniform", SPACE, 10, seed=7) == sample_genotypes("uniform", SPACE, 10, seed=7)
    assert STREAM_SAMPLE == 301  # a stream id change silently changes every published selection


@pytest.mark.parametrize("space_name", list(SPACES))
@pytest.mark.parametrize("method", [None, *METHODS])
def test_the_draws_of_k_are_the_first_k_draws_of_k_max(space_name, method):
    """The workflow draws only K_max and selects every smaller K from a prefix of those draws: that is the
    K = k selection only if the sampler's first k draws for K_max are its draws for K = k (selector tf from
    every registered method's distribution; method None: the uniform zero-cost selector)."""
    space = get_space(space_name)
    if method is None:
        selector, dist = "uniform", None
    else:
        torch.manual_seed(0)
        groups = {name: tuple(shape) for name, shape in space.param_groups.items()}
        selector, dist = "tf", METHODS.get(method).make_dist(groups, METHOD_SETTINGS[method], 100)
    k_max = sample_genotypes(selector, space, 25, seed=3, dist=dist)
    assert len(distinct(k_max)) > 5  # the draws differ: a wrong prefix would show
    for k in (1, 7, 24):
        assert sample_genotypes(selector, space, k, seed=3, dist=dist) == k_max[:k]


def test_prefix_scores_are_the_scores_of_the_first_k_draws(data):
    """Scoring K_max draws once and keeping the rows of the first k gives what scoring those k draws gives
    (the same scores; count, first draw and rank among the k)."""
    g = sample_genotypes("uniform", SPACE, 4, seed=1)
    samples = [g[0], g[1], g[0], g[2], g[1], g[3], g[0]]
    x, y = scoring_batch(data, NET.batch_size, seed=0)
    full = score_candidates(distinct(samples), "snip", x, y, NET, data.num_classes, seed=0)
    for k in (1, 2, 3, 4, 6, 7):
        direct = score_candidates(distinct(samples[:k]), "snip", x, y, NET, data.num_classes, seed=0)
        derived = prefix_scores(samples, full, k, SPACE.to_string)
        cols = ["candidate", "genotype", "count", "first_sample", "proxy", "score", "rank"]
        pd.testing.assert_frame_equal(derived[cols].reset_index(drop=True), direct[cols], check_dtype=False)
        assert best_candidate(derived)["genotype"] == best_candidate(direct)["genotype"]
    assert list(prefix_scores(samples, full, 3, SPACE.to_string)["count"]) == [2, 1]  # recounted over 3 draws
    with pytest.raises(ValueError, match="first-draw order"):
        prefix_scores(samples, full.iloc[::-1].assign(candidate=range(len(full))), 4, SPACE.to_string)
    with pytest.raises(ValueError, match="k must be"):
        prefix_scores(samples, full, 8, SPACE.to_string)


def test_tf_needs_a_distribution_and_unknown_selector_lists_valid_ones():
    with pytest.raises(ValueError, match="learned distribution"):
        sample_genotypes("tf", SPACE, 3, seed=0)
    with pytest.raises(KeyError, match="tf, uniform"):
        sample_genotypes("random", SPACE, 3, seed=0)
    with pytest.raises(ValueError, match="k must be"):
        sample_genotypes("uniform", SPACE, 0, seed=0)


def test_distinct_counts_and_first_draws():
    g = [SPACE.from_indices([i] * 6) for i in range(3)]
    samples = [g[1], g[0], g[1], g[2], g[1], g[0]]
    d = distinct(samples)
    assert d.genotypes == (g[1], g[0], g[2])
    assert d.counts == (3, 2, 1)
    assert d.first == (0, 1, 3)
    assert len(d) == 3
    assert sum(d.counts) == len(samples)


def _scores(values, proxy="synflow"):
    n = len(values)
    return pd.DataFrame(
        {
            "candidate": range(n),
            "genotype": [f"g{i}" for i in range(n)],
            "count": 1,
            "first_sample": range(n),
            "proxy": proxy,
            "score": values,
            "rank": 0,
            "seconds": 0.0,
        }
    )


def test_best_candidate_by_rank_with_ties_inf_and_nan():
    assert best_candidate(_scores([1e40, 3e55, 2e50]))["genotype"] == "g1"
    # ties go to the candidate drawn first, whatever the row order of the table
    tied = _scores([5.0, 9.0, 9.0, 1.0]).iloc[::-1]
    assert best_candidate(tied)["genotype"] == "g1"
    # an overflowed SynFlow beats every finite score; NaN never wins
    assert best_candidate(_scores([float("nan"), 1e300, math.inf]))["genotype"] == "g2"
    assert best_candidate(_scores([float("nan"), -1.0, -2.0], proxy="grasp"))["genotype"] == "g1"
    with pytest.raises(ValueError, match="one proxy"):
        best_candidate(pd.concat([_scores([1.0]), _scores([2.0], proxy="snip")]))


@pytest.fixture(scope="module")
def data() -> ImageSet:
    gen = torch.Generator().manual_seed(0)
    return ImageSet(torch.randn(40, 1, 8, 8, generator=gen), torch.randint(0, 3, (40,), generator=gen), 3)


def test_scoring_batch_is_seeded_and_checks_its_size(data):
    x1, y1 = scoring_batch(data, 8, seed=0)
    x2, y2 = scoring_batch(data, 8, seed=0)
    x3, _ = scoring_batch(data, 8, seed=1)
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert not torch.equal(x1, x3)
    assert x1.shape == (8, 1, 8, 8)
    with pytest.raises(ValueError, match="batch_size"):
        scoring_batch(data, 41, seed=0)


def test_scoring_batch_is_augmented_like_the_search_data(data):
    aug = DataConfig(name="toy", source="digits", augment=True, crop_padding=2, flip=True)
    plain, y = scoring_batch(data, 8, seed=0)
    a1, ya = scoring_batch(data, 8, seed=0, augment=aug)
    a2, _ = scoring_batch(data, 8, seed=0, augment=aug)
    assert torch.equal(a1, a2) and torch.equal(ya, y)  # same images and labels, seeded augmentation
    assert not torch.equal(a1, plain)
    off = DataConfig(name="toy", source="digits", augment=False)
    assert torch.equal(scoring_batch(data, 8, seed=0, augment=off)[0], plain)


def test_scores_depend_on_genotype_and_seed_only(data):
    gs = sample_genotypes("uniform", SPACE, 4, seed=5)
    x, y = scoring_batch(data, NET.batch_size, seed=0)
    a = score_candidates(distinct(gs), "snip", x, y, NET, data.num_classes, seed=0)
    b = score_candidates(distinct(gs[::-1]), "snip", x, y, NET, data.num_classes, seed=0)
    c = score_candidates(distinct(gs), "snip", x, y, NET, data.num_classes, seed=1)
    by_a = dict(zip(a["genotype"], a["score"]))
    by_b = dict(zip(b["genotype"], b["score"]))
    assert by_a == by_b  # same genotype, same seed -> same score, whatever its position
    assert not np.allclose(a["score"], c["score"])  # another seed initialises other networks
    assert len(set(a["score"])) == len(a)
    # the rank column agrees with the chosen best
    assert a.loc[a["rank"] == 0, "genotype"].item() == best_candidate(a)["genotype"]
    assert a.loc[a["rank"] == 0, "score"].item() == a["score"].max()
    assert sorted(a["rank"]) == list(range(len(a)))


def test_repeated_samples_are_scored_once(data):
    g = sample_genotypes("uniform", SPACE, 2, seed=0)
    samples = [g[0], g[1], g[0], g[0]]
    x, y = scoring_batch(data, NET.batch_size, seed=0)
    scores = score_candidates(distinct(samples), "synflow", x, y, NET, data.num_classes, seed=0)
    assert len(scores) == 2
    assert list(scores["count"]) == [3, 1]
    assert list(scores["first_sample"]) == [0, 1]


def test_init_seed_is_a_function_of_the_seed():
    assert init_seed(0) == init_seed(0)
    assert init_seed(0) != init_seed(1)
    assert 0 <= init_seed(3) < 2**62


def test_network_config_rejects_nonpositive_sizes():
    with pytest.raises(ValueError, match="batch_size"):
        NetworkConfig(batch_size=0)
    with pytest.raises(ValueError, match="channels"):
        NetworkConfig(batch_size=1, network={"channels": 0}).check(SPACE)


def test_supernet_scores_evaluate_each_candidate_under_its_one_hot_weights():
    """A toy supernet whose logits favour class k when edge 0 holds op k: the candidate whose op on edge 0
    matches the labels scores 100 %, the others 0 %, so the selector picks the right one."""
    from balenas.select import supernet_scores

    class Toy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x, weights):
            return weights["cell"][0].expand(len(x), -1) + 0 * self.w

    cands = distinct([SPACE.from_indices([k] + [0] * 5) for k in (1, 3, 2)])
    x, y = torch.zeros(4, 1, 2, 2), torch.full((4,), 3)
    scores = supernet_scores(cands, SPACE, Toy(), [(x, y)])
    assert scores.tolist() == [0.0, 100.0, 0.0]
