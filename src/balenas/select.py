"""BaLeNAS-TF and the zero-cost baseline: draw K genotypes, score them with a proxy, keep the best.

Two selectors draw the K candidates (:data:`SELECTORS`):

* ``tf`` (BaLeNAS-TF, paper Sec. 2.3): K draws from the *learned* architecture distribution of a search
  run, ``space.discretise(dist.selection_params(gen))``. For BaLeNAS that samples ``alpha ~ q(alpha | mu,
  sigma^2)`` and the space discretises it (NB201: argmax per edge; DARTS: the top-2 rule); for DARTS (a
  point estimate) it draws one op per edge from the categorical ``softmax(alpha)``.
* ``uniform`` (the Zero-cost NAS baseline of Abdelfattah et al. 2021): K draws uniformly from the whole
  space (``space.sample(gen)``); no search run is needed.

Every candidate is scored by the selector's scorer: a training-free proxy at initialisation, as the
discrete network of its genotype (``space_settings.<space>.network``) on one batch of the search data
(augmented as the search's training batches are), or (:func:`supernet_scores`) the validation accuracy of the
trained supernet under the candidate's one-hot mixing weights on one validation batch each; the best by
:mod:`balenas.proxies.ranking` wins. Draws repeat (a confident distribution gives few distinct genotypes), so each *distinct* genotype is
scored once.

Randomness comes from :func:`balenas.runtime.derived_generator` with the run seed and a stream id per use
(:data:`STREAM_SAMPLE`, :data:`STREAM_BATCH`, :data:`STREAM_AUGMENT`, :data:`STREAM_INIT`). The candidate
stream does not depend on K or on the proxy, so the K=10 candidates are the first 10 of the K=100 candidates and every proxy ranks the
same candidates; the batch and the initialisation depend on the seed only, so the same genotype and seed
always get the same score, whatever list it appears in. The workflow relies on both: it draws and scores
only the largest K once and selects every smaller K from the first K draws (:func:`prefix_scores`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from balenas.archdist import ArchDistribution
from balenas.data import DataConfig, ImageSet, augment_batch
from balenas.proxies import PROXIES, ranking
from balenas.proxies.correlation import score_genotypes
from balenas.registry import Registry
from balenas.runtime import derived_generator
from balenas.spaces.base import SearchSpace

Genotype = Hashable

#: Stream ids of :func:`balenas.runtime.derived_generator` (distinct from the search's streams).
STREAM_SAMPLE = 301
STREAM_BATCH = 302
STREAM_INIT = 303
STREAM_AUGMENT = 305

Sampler = Callable[[SearchSpace, "ArchDistribution | None", torch.Generator], Genotype]


def _sample_learned(space: SearchSpace, dist: ArchDistribution | None, gen: torch.Generator) -> Genotype:
    if dist is None:
        raise ValueError("selector 'tf' samples from a learned distribution; none was given")
    groups = {k: tuple(v) for k, v in space.param_groups.items()}
    if dist.groups != groups:
        raise ValueError(f"distribution with groups {dist.groups} does not fit space {space.name} {groups}")
    return space.discretise(dist.selection_params(gen))


def _sample_uniform(space: SearchSpace, dist: ArchDistribution | None, gen: torch.Generator) -> Genotype:
    return space.sample(gen)


#: How each selector draws one candidate.
SELECTORS: Registry[Sampler] = Registry("selector")
SELECTORS.add("tf", _sample_learned)
SELECTORS.add("uniform", _sample_uniform)


def sample_genotypes(
    selector: str,
    space: SearchSpace,
    k: int,
    seed: int,
    dist: ArchDistribution | None = None,
) -> list[Genotype]:
    """K candidates drawn by ``selector`` from the stream ``(seed, STREAM_SAMPLE)``, in draw order."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    draw = SELECTORS.get(selector)
    gen = derived_generator(seed, STREAM_SAMPLE)
    return [draw(space, dist, gen) for _ in range(k)]


@dataclass(frozen=True)
class Distinct:
    """The distinct genotypes of a list of samples, in order of first appearance."""

    genotypes: tuple[Genotype, ...]
    counts: tuple[int, ...]  # how often each was drawn
    first: tuple[int, ...]  # index of its first draw

    def __len__(self) -> int:
        return len(self.genotypes)


def distinct(samples: Sequence[Genotype]) -> Distinct:
    """Distinct genotypes of ``samples`` (first-appearance order), with counts and first indices."""
    position: dict[Genotype, int] = {}
    genotypes: list[Genotype] = []
    counts: list[int] = []
    first: list[int] = []
    for i, g in enumerate(samples):
        if g in position:
            counts[position[g]] += 1
        else:
            position[g] = len(genotypes)
            genotypes.append(g)
            counts.append(1)
            first.append(i)
    return Distinct(tuple(genotypes), tuple(counts), tuple(first))


def derived_seed(*keys: int) -> int:
    """A non-negative 62-bit integer seed derived from ``keys`` (for ``torch.manual_seed``)."""
    return int(torch.randint(0, 2**62, (1,), generator=derived_generator(*keys)))


def init_seed(seed: int) -> int:
    """Initialisation seed of every scored network of a run seed (same genotype + seed -> same net)."""
    return derived_seed(seed, STREAM_INIT)


def scoring_batch(
    data: ImageSet, batch_size: int, seed: int, augment: DataConfig | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch_size`` examples drawn without replacement from ``data`` by the stream ``(seed, STREAM_BATCH)``.

    With ``augment`` (the dataset's config) the batch is augmented as the training batches of a search are
    (random crop with zero padding, flips; :func:`balenas.data.augment_batch`, stream ``(seed,
    STREAM_AUGMENT)``), as the zero-cost-nas reference scores a batch of its augmented training loader.
    ``augment=None`` or ``augment.augment == False`` gives the normalised images as loaded.
    """
    if not 1 <= batch_size <= len(data):
        raise ValueError(f"batch_size must be between 1 and the {len(data)} examples of the data, got {batch_size}")
    index = torch.randperm(len(data), generator=derived_generator(seed, STREAM_BATCH))[:batch_size]
    x, y = data.x[index].contiguous(), data.y[index].contiguous()
    if augment is not None:
        x = augment_batch(x, augment, derived_generator(seed, STREAM_AUGMENT)).contiguous()
    return x, y


@dataclass(frozen=True)
class NetworkConfig:
    """The scored network: the space's discrete-network block (``space_settings.<space>.network``) and the
    scoring batch size."""

    batch_size: int
    network: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")

    def check(self, space: SearchSpace) -> None:
        space.make_network_config(self.network)

    def to_dict(self) -> dict[str, Any]:
        return {"batch_size": self.batch_size, "network": dict(self.network)}


SCORE_COLUMNS: tuple[str, ...] = ("candidate", "genotype", "count", "first_sample", "proxy", "score", "rank", "seconds")
#: Columns of :data:`SCORE_COLUMNS` with wall-clock times: kept out of scores.csv (issue 16: deterministic
#: outputs), written to the job's score_timings.json instead.
TIMING_COLUMNS: tuple[str, ...] = ("seconds",)


def score_candidates(
    candidates: Distinct,
    proxy: str,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    net: NetworkConfig,
    num_classes: int,
    seed: int,
    device: torch.device | str = "cpu",
) -> pd.DataFrame:
    """One row per distinct candidate: its raw ``score`` and its ``rank`` (0 = best) under ``proxy``.

    Columns :data:`SCORE_COLUMNS`; ``candidate`` is the position in ``candidates`` (first-draw order).
    """
    return score_candidates_by_proxy(candidates, [proxy], inputs, targets, net, num_classes, seed, device)[proxy]


def score_candidates_by_proxy(
    candidates: Distinct,
    proxies: Sequence[str],
    inputs: torch.Tensor,
    targets: torch.Tensor,
    net: NetworkConfig,
    num_classes: int,
    seed: int,
    device: torch.device | str = "cpu",
) -> dict[str, pd.DataFrame]:
    """:func:`score_candidates` for every proxy of ``proxies``, the same tables to the last bit, from one
    network per candidate: :func:`~balenas.proxies.compute_proxies` scores them all on it (SNIP and
    grad_norm from GraSP's loss gradient). A shared pass's ``seconds`` are split evenly among its proxies."""
    if not proxies or len(set(proxies)) != len(proxies):
        raise ValueError(f"proxies must be distinct names, at least one; got {list(proxies)}")
    for proxy in proxies:
        PROXIES.get(proxy)
    if not len(candidates):
        raise ValueError("no candidates to score")
    raw = score_genotypes(
        list(candidates.genotypes),
        inputs,
        targets,
        list(proxies),
        network=net.network,
        num_classes=num_classes,
        init_seed=init_seed(seed),
        device=device,
    )
    tables = {}
    for proxy in proxies:
        one = raw[raw["proxy"] == proxy].sort_values("arch_index").reset_index(drop=True)
        scores = one["score"].to_numpy(dtype=np.float64)
        tables[proxy] = pd.DataFrame(
            {
                "candidate": one["arch_index"].to_numpy(),
                "genotype": one["arch"].to_numpy(),
                "count": list(candidates.counts),
                "first_sample": list(candidates.first),
                "proxy": proxy,
                "score": scores,
                "rank": ranking.ranks(scores, proxy),
                "seconds": one["seconds"].to_numpy(),
            },
            columns=list(SCORE_COLUMNS),
        )
    return tables


def best_candidate(scores: pd.DataFrame) -> pd.Series:
    """The row of ``scores`` (from :func:`score_candidates`) that the proxy ranks best.

    Recomputed from the raw scores with :func:`ranking.best_index` on rows in candidate order, so ties go
    to the candidate drawn first and a NaN score never wins over a number.
    """
    if scores.empty:
        raise ValueError("no scores to select from")
    proxies = scores["proxy"].unique()
    if len(proxies) != 1:
        raise ValueError(f"scores of one proxy expected, got {sorted(proxies)}")
    rows = scores.sort_values("candidate").reset_index(drop=True)
    return rows.iloc[ranking.best_index(rows["score"].to_numpy(dtype=np.float64), str(proxies[0]))]


def prefix_scores(
    samples: Sequence[Genotype], scores: pd.DataFrame, k: int, to_string: Callable[[Genotype], str]
) -> pd.DataFrame:
    """The rows of ``scores`` for the first ``k`` of ``samples``, as :func:`score_candidates` would give
    for exactly those k draws.

    ``scores`` holds one row per distinct genotype of all ``samples`` in first-draw order; the distinct
    genotypes of a prefix of the draws are a prefix of those rows, and (the same genotype and seed always
    get the same score) their scores are the ones a K = k job computes. ``count`` and ``first_sample`` are
    recounted over the k draws and ``rank`` is taken among the prefix's rows. ``to_string`` is the space's
    canonical genotype text, checked against each row's ``genotype``.
    """
    if not 1 <= k <= len(samples):
        raise ValueError(f"k must be between 1 and the {len(samples)} draws, got {k}")
    head = distinct(samples[:k])
    rows = scores.sort_values("candidate").reset_index(drop=True)
    if len(rows) < len(head):
        raise ValueError(f"{len(rows)} score rows for the {len(head)} distinct genotypes of the first {k} draws")
    rows = rows.iloc[: len(head)].copy()
    want = [to_string(g) for g in head.genotypes]
    got = [str(g) for g in rows["genotype"]]
    if list(rows["candidate"]) != list(range(len(head))) or got != want:
        raise ValueError(f"the score rows do not follow the first {k} draws in first-draw order")
    proxies = rows["proxy"].unique()
    if len(proxies) != 1:
        raise ValueError(f"scores of one proxy expected, got {sorted(proxies)}")
    rows["count"] = list(head.counts)
    rows["first_sample"] = list(head.first)
    rows["rank"] = ranking.ranks(rows["score"].to_numpy(dtype=np.float64), str(proxies[0]))
    return rows


def supernet_scores(
    candidates: Distinct,
    space: SearchSpace,
    network: torch.nn.Module,
    batches: Sequence[tuple[torch.Tensor, torch.Tensor]],
) -> np.ndarray:
    """Validation accuracy (%) of each candidate: the trained ``network`` (a supernet) under the
    candidate's one-hot mixing weights, on ``batches[i % len(batches)]`` (one validation batch each, as
    RandomNAS and SETN evaluate candidates), in train mode (batch statistics, as during the search)."""
    if not batches:
        raise ValueError("supernet_scores needs at least one validation batch")
    device = next(network.parameters()).device
    was_training = network.training
    network.train()
    out = np.empty(len(candidates), dtype=np.float64)
    try:
        with torch.no_grad():
            for i, genotype in enumerate(candidates.genotypes):
                x, y = batches[i % len(batches)]
                weights = {k: v.to(device) for k, v in space.one_hot(genotype).items()}
                logits = network(x.to(device), weights)
                out[i] = 100.0 * float((logits.argmax(-1) == y.to(device)).float().mean())
    finally:
        network.train(was_training)
    return out


# --- selection with the trained supernet (RandomNAS, SETN, ENAS) -------------------------------------
#: (space, the search run's distribution, K, seed) -> K candidates, in order.
CandidateFn = Callable[[SearchSpace, "ArchDistribution | None", int, int], list[Genotype]]


def _uniform_candidates(space: SearchSpace, dist: ArchDistribution | None, k: int, seed: int) -> list[Genotype]:
    return sample_genotypes("uniform", space, k, seed)


def _learned_candidates(space: SearchSpace, dist: ArchDistribution | None, k: int, seed: int) -> list[Genotype]:
    return sample_genotypes("tf", space, k, seed, dist)


def log_probability(space: SearchSpace, weights: Mapping[str, torch.Tensor], genotype: Genotype) -> float:
    """log of the product over rows of the mixing weight of the genotype's op (its probability under the
    row-independent categorical ``weights``)."""
    total = 0.0
    for name, hot in space.one_hot(genotype).items():
        total += float((hot * weights[name].clamp_min(1e-30).log()).sum())
    return total


def _top_candidates(space: SearchSpace, dist: ArchDistribution | None, k: int, seed: int) -> list[Genotype]:
    """The K most probable genotypes under the distribution's mean weights (SETN's ``return_topK``);
    ties in enumeration order. Enumerates the space (NAS-Bench-201: 15625 cells)."""
    if dist is None:
        raise ValueError("selector 'topk' ranks by a learned distribution; none was given")
    weights = {n: w.detach().cpu() for n, w in dist.mean_weights().items()}
    scored = [(log_probability(space, weights, g), i, g) for i, g in enumerate(space.enumerate())]
    scored.sort(key=lambda t: (-t[0], t[1]))
    return [g for _, _, g in scored[:k]]


#: Selectors that score their candidates with the search run's trained supernet (:func:`supernet_scores`):
#: ``supernet`` K uniform candidates (RandomNAS), ``topk`` the K most probable (SETN), ``controller`` K
#: draws from the learned distribution (ENAS' controller).
SUPERNET_SELECTORS: Registry[CandidateFn] = Registry("supernet selector")
SUPERNET_SELECTORS.add("supernet", _uniform_candidates)
SUPERNET_SELECTORS.add("topk", _top_candidates)
SUPERNET_SELECTORS.add("controller", _learned_candidates)


def validation_batches(data: ImageSet, batch_size: int, n: int, seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``n`` batches (fewer when the data hold fewer) of a permutation from the stream ``(seed, STREAM_BATCH)``."""
    if not 1 <= batch_size <= len(data):
        raise ValueError(f"batch_size must be between 1 and the {len(data)} examples of the data, got {batch_size}")
    perm = torch.randperm(len(data), generator=derived_generator(seed, STREAM_BATCH))
    count = max(1, min(n, len(data) // batch_size))
    return [(data.x[perm[i * batch_size:(i + 1) * batch_size]], data.y[perm[i * batch_size:(i + 1) * batch_size]])
            for i in range(count)]


def supernet_select(
    candidates: Distinct,
    space: SearchSpace,
    network: torch.nn.Module,
    batches: Sequence[tuple[torch.Tensor, torch.Tensor]],
) -> pd.DataFrame:
    """One row per distinct candidate: validation accuracy with the shared weights (``score``) and ``rank``
    (0 = best; ties to the candidate drawn first)."""
    scores = supernet_scores(candidates, space, network, batches)
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    rank = np.empty(len(scores), dtype=np.int64)
    rank[order] = np.arange(len(scores))
    return pd.DataFrame(
        {
            "candidate": np.arange(len(candidates)),
            "genotype": [space.to_string(g) for g in candidates.genotypes],
            "count": list(candidates.counts),
            "first_sample": list(candidates.first),
            "proxy": "valacc",
            "score": scores,
            "rank": rank,
        }
    )


#: Every selector name a config may use, with its family: ``proxy`` (scored by a training-free proxy,
#: :data:`SELECTORS`) or ``supernet`` (scored by the search run's trained supernet, :data:`SUPERNET_SELECTORS`).
ALL_SELECTORS: Registry[str] = Registry("selector")
for _name in SELECTORS:
    ALL_SELECTORS.add(_name, "proxy")
for _name in SUPERNET_SELECTORS:
    ALL_SELECTORS.add(_name, "supernet")
#: The ``proxy`` part of a supernet selection's directory name (validation accuracy of the shared weights).
SUPERNET_PROXY = "valacc"
