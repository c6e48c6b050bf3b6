"""The proxy correlation study: score a random sample of NB201 architectures with every proxy and
rank-correlate the scores with the benchmark's accuracies.

One job (rule ``proxy_correlation``): ``n_archs`` distinct architectures drawn uniformly from the space
(seeded), each built as the discrete network at initialisation (one initialisation seed for all, as in
selection), scored on one batch of the configured dataset with every proxy, looked up in the compact
NAS-Bench-201 table, correlated (Spearman, Kendall) and plotted.

Scoring takes minutes to hours on a CPU, so the job keeps its scores in a cache outside its declared
outputs (``checkpoint``), written every ``checkpoint_every`` architectures and kept after the job: a killed
job resumes from it, and a rerun that only changes what is computed from the scores (``metrics``, the
report) reuses them instead of scoring again. The cache is keyed by everything the scores depend on
(:meth:`CorrelationConfig.scoring_key` plus the architecture list); a cache under another key is ignored.
Every architecture is scored independently of its position, so a resumed run gives the same scores.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from balenas.benchmarks import Metric, NB201Table, load_nb201_table
from balenas.data import DataConfig, load_dataset
from balenas.proxies import PROXIES
from balenas.proxies.correlation import SCORE_COLUMNS, score_genotypes
from balenas.report.proxy_correlation import PUBLISHED_METRIC, write_correlation_report
from balenas.runtime import (
    atomic_path,
    code_hash,
    derived_generator,
    environment_info,
    resolve_device,
    set_threads,
    write_json,
)
from balenas.select import init_seed, scoring_batch
from balenas.spaces import get_space
from balenas.spaces.base import Genotype, SearchSpace

log = logging.getLogger(__name__)

#: Package code the scores depend on (part of the score cache's key: an edit invalidates the cache).
SCORING_CODE = ["proxies", "supernets", "ops.py", "spaces", "select.py", "data.py", "runtime.py"]

#: Stream id of the architecture sample (see :mod:`balenas.select` for the selection streams).
STREAM_ARCHS = 304

#: Metrics correlated with when the block names none: the one the published values refer to (so they are
#: compared, and it is the one plotted), then the paper tables' CIFAR-10 test accuracy.
DEFAULT_METRICS: tuple[str, ...] = (PUBLISHED_METRIC, "cifar10/ori-test/200")


@dataclass(frozen=True)
class CorrelationConfig:
    """The ``proxy_correlation:`` block (plus the space it samples from)."""

    n_archs: int
    dataset: str
    channels: int = 16
    cells_per_stage: int = 5
    batch_size: int = 64
    seed: int = 0
    space: str = "nb201"
    proxies: tuple[str, ...] = field(default_factory=lambda: tuple(PROXIES.keys()))
    metrics: tuple[str, ...] = DEFAULT_METRICS
    checkpoint_every: int = 10

    def __post_init__(self) -> None:
        object.__setattr__(self, "proxies", tuple(self.proxies))
        object.__setattr__(self, "metrics", tuple(self.metrics))
        for key in ("n_archs", "channels", "cells_per_stage", "batch_size", "checkpoint_every"):
            if int(getattr(self, key)) < 1:
                raise ValueError(f"proxy_correlation.{key} must be >= 1, got {getattr(self, key)}")
        for name in self.proxies:
            PROXIES.get(name)
        if not self.metrics:
            raise ValueError("proxy_correlation.metrics must name at least one benchmark metric")
        for key in self.metrics:
            Metric.parse(key)

    @classmethod
    def from_dict(cls, cfg: Mapping[str, Any]) -> CorrelationConfig:
        return cls(**dict(cfg))

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def scoring_key(self) -> dict[str, Any]:
        """What the scores depend on (a checkpoint written under another key is ignored)."""
        d = self.to_dict()
        d.pop("metrics")
        d.pop("checkpoint_every")
        return d


def sample_distinct_genotypes(space: SearchSpace, n: int, seed: int) -> list[Genotype]:
    """``n`` distinct genotypes drawn uniformly (without replacement) from the stream ``(seed, STREAM_ARCHS)``."""
    if not 1 <= n <= space.size:
        raise ValueError(f"n_archs must be between 1 and the {space.size} genotypes of {space.name}, got {n}")
    gen = derived_generator(seed, STREAM_ARCHS)
    seen: dict[Genotype, None] = {}
    while len(seen) < n:
        seen.setdefault(space.sample(gen), None)
    return list(seen)


def _load_checkpoint(path: Path, key: Mapping[str, Any]) -> pd.DataFrame:
    empty = pd.DataFrame(columns=list(SCORE_COLUMNS))
    if not path.exists():
        return empty
    try:
        blob = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        log.warning("ignoring unreadable checkpoint %s: %s", path, err)
        return empty
    if blob.get("key") != json.loads(json.dumps(dict(key))):
        log.warning("ignoring checkpoint %s written under another configuration", path)
        return empty
    return pd.DataFrame(blob["rows"], columns=list(SCORE_COLUMNS))


def _save_checkpoint(path: Path, key: Mapping[str, Any], scores: pd.DataFrame) -> None:
    write_json(path, {"key": dict(key), "rows": scores.to_dict("records")})


def score_sample(
    cfg: CorrelationConfig,
    genotypes: Sequence[Genotype],
    inputs: torch.Tensor,
    targets: torch.Tensor,
    num_classes: int,
    device: torch.device,
    checkpoint: Path | None = None,
    cache_key: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Scores of every genotype with every proxy (tidy, ``arch_index`` = position), resuming a checkpoint.

    ``cache_key`` adds to the checkpoint's key what else the scores depend on (data, device, code).
    """
    key = {**cfg.scoring_key(), **dict(cache_key or {}), "archs": [get_space(g.space).to_string(g) for g in genotypes]}
    done = _load_checkpoint(checkpoint, key) if checkpoint is not None else pd.DataFrame(columns=list(SCORE_COLUMNS))
    parts = [done] if len(done) else []
    start = int(done["arch_index"].max()) + 1 if len(done) else 0
    if start:
        log.info("resumed from the score cache %s: %d of %d architectures scored", checkpoint, start, len(genotypes))
    for lo in range(start, len(genotypes), cfg.checkpoint_every):
        hi = min(lo + cfg.checkpoint_every, len(genotypes))
        chunk = score_genotypes(
            list(genotypes[lo:hi]),
            inputs,
            targets,
            list(cfg.proxies),
            network={"channels": cfg.channels, "cells_per_stage": cfg.cells_per_stage},
            num_classes=num_classes,
            init_seed=init_seed(cfg.seed),
            device=device,
        )
        chunk["arch_index"] += lo
        parts.append(chunk)
        log.info("scored %d/%d architectures", hi, len(genotypes))
        if checkpoint is not None:
            _save_checkpoint(checkpoint, key, pd.concat(parts, ignore_index=True))
    return pd.concat(parts, ignore_index=True)[list(SCORE_COLUMNS)]


def benchmark_accuracies(
    table: NB201Table, archs: Sequence[str], metrics: Sequence[str]
) -> tuple[dict[str, np.ndarray], list[int]]:
    """Accuracy arrays (NaN where the table holds no value) per metric key, and the official indices."""
    accuracies: dict[str, np.ndarray] = {}
    indices: list[int] = []
    for key in metrics:
        frame = table.lookup(archs, [Metric.parse(key)])
        accuracies[key] = frame["value"].to_numpy(dtype=float)
        indices = [int(i) for i in frame["index"]]
        missing = int(frame["missing"].sum())
        if missing:
            log.warning("%s: %d of %d sampled architectures have no value (left out)", key, missing, len(archs))
    return accuracies, indices


def proxy_correlation_stage(
    corr_cfg: Mapping[str, Any],
    data_cfg: Mapping[str, Any],
    benchmark: str | Path,
    outputs: Mapping[str, Any],
    checkpoint: str | Path | None = None,
    threads: int = 1,
    device: str = "cpu",
) -> pd.DataFrame:
    """Run the study and write ``scores``, ``metrics``, ``table_csv``, ``table_md`` and per-proxy figures.

    ``outputs["figures"]`` maps each proxy to its (png, pdf) paths. The benchmark table is read (and
    validated) before any scoring, so a bad file fails at once.
    """
    set_threads(threads)
    dev = resolve_device(device)
    cfg = CorrelationConfig.from_dict(corr_cfg)
    dcfg = DataConfig(**data_cfg)
    table = load_nb201_table(benchmark)
    space = get_space(cfg.space)
    genotypes = sample_distinct_genotypes(space, cfg.n_archs, cfg.seed)
    archs = [space.to_string(g) for g in genotypes]
    accuracies, indices = benchmark_accuracies(table, archs, cfg.metrics)
    data = load_dataset(dcfg, seed=cfg.seed)
    x, y = scoring_batch(data, cfg.batch_size, cfg.seed, augment=dcfg)
    log.info(
        "proxy correlation: %d %s architectures, proxies %s, C=%d N=%d, batch %s of %s on %s",
        len(genotypes), cfg.space, ",".join(cfg.proxies), cfg.channels, cfg.cells_per_stage,
        tuple(x.shape), dcfg.name, dev,
    )
    start = time.perf_counter()
    ckpt = Path(checkpoint) if checkpoint is not None else None
    # float32 reductions depend on the thread count (GraSP by up to ~1e-2 relative): part of the key too
    cache_key = {
        "data": dict(dcfg.__dict__),
        "device": str(dev),
        "threads": torch.get_num_threads(),
        "code": code_hash(SCORING_CODE),
    }
    scores = score_sample(cfg, genotypes, x, y, data.num_classes, dev, ckpt, cache_key)
    seconds = time.perf_counter() - start

    wide = scores.copy()
    wide["bench_index"] = [indices[i] for i in wide["arch_index"]]
    for key, acc in accuracies.items():
        wide[f"acc:{key}"] = acc[wide["arch_index"].to_numpy()]
    with atomic_path(outputs["scores"]) as tmp:
        wide.to_csv(tmp, index=False, float_format="%.17g")
    note = (
        f"Networks C={cfg.channels}, N={cfg.cells_per_stage} at initialisation (seed {cfg.seed}); one batch of "
        f"{cfg.batch_size} {dcfg.name} images; benchmark {table.source} (sha256 {table.sha256[:12]}...)."
    )
    result = write_correlation_report(
        scores,
        accuracies,
        dcfg.name,
        outputs["table_csv"],
        outputs["table_md"],
        {p: tuple(paths) for p, paths in outputs["figures"].items()},
        note=note,
    )
    per_proxy = scores.groupby("proxy")["seconds"].agg(["mean", "sum"]).reset_index().to_dict("records")
    write_json(
        outputs["metrics"],
        {
            "stage": "proxy_correlation",
            "seed": cfg.seed,
            "config": cfg.to_dict(),
            "data": {**dcfg.__dict__, "batch_classes": np.bincount(y.numpy(), minlength=data.num_classes).tolist()},
            "benchmark": {"path": str(benchmark), "sha256": table.sha256, "rows": len(table)},
            "environment": environment_info(dev),
            "seconds": seconds,
            "seconds_per_proxy": per_proxy,
            "correlations": result.to_dict("records"),
        },
    )
    return result
