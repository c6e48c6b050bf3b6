"""Score many genotypes with many proxies, and rank-correlate the scores with benchmark accuracy.

``score_genotypes`` returns a tidy table (one row per architecture and proxy); ``proxy_correlations``
turns it plus an accuracy array into Spearman's rho and Kendall's tau per proxy. Correlations are
computed on the *oriented* scores (``ranking.SIGNS``), so a positive value means the proxy, read the way
selection reads it, agrees with accuracy. Loading the batch and the ground truth is the caller's job.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from balenas.proxies import PROXIES, compute_proxies, ranking
from balenas.proxies._common import LossFn
from balenas.runtime import fault_point
from balenas.spaces import get_space
from balenas.supernets import NETWORKS

log = logging.getLogger(__name__)

SCORE_COLUMNS: tuple[str, ...] = ("arch_index", "arch", "proxy", "score", "seconds")
CORRELATION_COLUMNS: tuple[str, ...] = (
    "proxy",
    "n",
    "n_nan",
    "spearman",
    "spearman_p",
    "kendall",
    "kendall_p",
)


def build_network(
    genotype: Any,
    *,
    network: Mapping[str, Any] | None,
    num_classes: int,
    in_channels: int,
    init_seed: int,
    device: torch.device,
) -> torch.nn.Module:
    """The discrete network of ``genotype`` (its space's network built from the ``network`` block, i.e.
    ``space_settings.<space>.network``), initialised from ``init_seed`` (global RNG restored after)."""
    space = get_space(genotype.space)
    factory = NETWORKS.get(genotype.space)
    cfg = space.make_network_config(network)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(init_seed)
        net = factory(genotype, cfg, num_classes, in_channels)
    return net.to(device)


def score_genotypes(
    genotypes: Sequence[Any],
    inputs: torch.Tensor,
    targets: torch.Tensor,
    proxies: Sequence[str] | None = None,
    *,
    network: Mapping[str, Any] | None = None,
    num_classes: int = 10,
    init_seed: int = 0,
    loss_fn: LossFn = F.cross_entropy,
    device: torch.device | str = "cpu",
) -> pd.DataFrame:
    """Tidy table of raw scores: columns ``arch_index, arch, proxy, score, seconds``.

    ``arch_index`` is the position in ``genotypes``; ``arch`` the space's canonical string. Every
    architecture is built from the same ``init_seed``, so its scores do not depend on its position in
    the list; all proxies of one architecture score the same network, built once
    (:func:`~balenas.proxies.compute_proxies`: SNIP, grad_norm and GraSP share one loss gradient;
    ``seconds`` splits a shared pass's time evenly among its proxies).
    ``proxies`` defaults to every registered proxy; unknown names fail before any work.
    """
    names = list(PROXIES.keys() if proxies is None else proxies)
    for name in names:
        PROXIES.get(name)
    if not genotypes:
        raise ValueError("score_genotypes needs at least one genotype")
    dev = torch.device(device)
    x, y = inputs.to(dev), targets.to(dev)
    rows: list[dict[str, object]] = []
    for i, genotype in enumerate(genotypes):
        fault_point(f"score:candidate-{i}")  # issue 16: fault-injection tests
        arch = get_space(genotype.space).to_string(genotype)
        net = build_network(
            genotype,
            network=network,
            num_classes=num_classes,
            in_channels=int(inputs.shape[1]),
            init_seed=init_seed,
            device=dev,
        )
        seconds: dict[str, float] = {}
        scores = compute_proxies(names, net, x, y, loss_fn=loss_fn, seed=init_seed, timings=seconds)
        rows.extend(
            {"arch_index": i, "arch": arch, "proxy": name, "score": scores[name], "seconds": seconds[name]}
            for name in names
        )
        log.info("scored %d/%d %s", i + 1, len(genotypes), arch)
    return pd.DataFrame(rows, columns=list(SCORE_COLUMNS))


def _scores_by_arch(scores: pd.DataFrame, proxy: str, n_arch: int) -> np.ndarray:
    sub = scores[scores["proxy"] == proxy].set_index("arch_index")["score"]
    if sub.index.has_duplicates:
        raise ValueError(f"proxy {proxy!r} has several scores for one arch_index")
    return sub.reindex(range(n_arch)).to_numpy(dtype=np.float64)


def proxy_correlations(scores: pd.DataFrame, accuracy: Sequence[float] | np.ndarray) -> pd.DataFrame:
    """Spearman and Kendall (tau-b) correlation of each proxy's oriented score with ``accuracy``.

    ``accuracy[i]`` belongs to ``arch_index == i`` of ``scores`` (the output of :func:`score_genotypes`).
    Scores are first replaced by their ranks (:func:`ranking.tied_ranks`), so SynFlow's 1e60 or ``inf``
    values are harmless; architectures whose score or accuracy is NaN are left out and counted in
    ``n_nan``. Columns: ``proxy, n, n_nan, spearman, spearman_p, kendall, kendall_p``.
    """
    missing = [c for c in ("arch_index", "proxy", "score") if c not in scores.columns]
    if missing:
        raise ValueError(f"scores table lacks columns {missing}; expected those of score_genotypes")
    acc = np.asarray(accuracy, dtype=np.float64)
    n_arch = int(scores["arch_index"].max()) + 1 if len(scores) else 0
    if acc.ndim != 1 or acc.size != n_arch:
        raise ValueError(
            f"accuracy must have one value per arch_index (0..{n_arch - 1}), got shape {acc.shape}"
        )
    from scipy import stats  # here, not at import: the workflow imports this module (via select) to plan

    rows = []
    for proxy in sorted(scores["proxy"].unique()):
        r = ranking.tied_ranks(_scores_by_arch(scores, proxy, n_arch), proxy)
        ok = ~np.isnan(r) & ~np.isnan(acc)
        rho = stats.spearmanr(r[ok], acc[ok]) if ok.sum() >= 2 else None
        tau = stats.kendalltau(r[ok], acc[ok]) if ok.sum() >= 2 else None
        rows.append(
            {
                "proxy": proxy,
                "n": int(ok.sum()),
                "n_nan": int((~ok).sum()),
                "spearman": np.nan if rho is None else float(rho.statistic),
                "spearman_p": np.nan if rho is None else float(rho.pvalue),
                "kendall": np.nan if tau is None else float(tau.statistic),
                "kendall_p": np.nan if tau is None else float(tau.pvalue),
            }
        )
    return pd.DataFrame(rows, columns=list(CORRELATION_COLUMNS))
