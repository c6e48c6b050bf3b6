"""The bilevel search loop, checkpointing every epoch and resuming bit-for-bit on CPU.

Each step takes an architecture step on a batch of the architecture half (alpha drawn from the method's
distribution, gradient from the configured ``order``), then a weight step on a batch of the weight half
(SGD, nesterov, cosine schedule, gradient clipping). All randomness inside an epoch comes from generators
derived from ``(seed, epoch)``, so a run resumed from an end-of-epoch checkpoint reproduces an
uninterrupted one exactly.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import nn

from balenas.archdist import ArchDistribution
from balenas.archopt.base import ArchOptimizer
from balenas.archopt.gradients import ArchStepContext, get_estimator
from balenas.checkpoints import read_checkpoint, write_checkpoint  # issue 16
from balenas.data import DataConfig, ImageSet, augment_batch, search_split
from balenas.guards import ON_DIVERGENCE, RunId, check_finite, guard_step  # issue 16
from balenas.methods import METHODS
from balenas.registry import Registry
from balenas.runtime import derived_generator, fault_point, seed_everything  # issue 16: fault_point
from balenas.spaces import Genotype, SearchSpace, get_space
from balenas.supernets import SUPERNETS

log = logging.getLogger(__name__)

WEIGHT_STEP_ALPHA: Registry[str] = Registry("weight_step_alpha")
WEIGHT_STEP_ALPHA.add("sample", "weights trained under an alpha sampled from the distribution")
WEIGHT_STEP_ALPHA.add("mean", "weights trained under the mean alpha")


@dataclass(frozen=True)
class WeightOptConfig:
    lr: float = 0.025
    lr_min: float = 0.001
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    grad_clip: float = 5.0


@dataclass(frozen=True)
class SearchConfig:
    space: str
    dataset: str
    method: str
    seed: int
    method_settings: Mapping[str, Any]
    order: int = 1
    epochs: int = 50
    batch_size: int = 64
    channels: int = 16
    cells_per_stage: int = 5
    weights: WeightOptConfig = field(default_factory=WeightOptConfig)
    weight_step_alpha: str = "sample"
    hessian_every: int = 0  # 0: never; k: every k epochs (and after the last)
    hessian_batches: int = 1
    on_divergence: str = "fail"  # issue 16: fail | skip_step (balenas.guards)

    def __post_init__(self) -> None:
        get_space(self.space)
        METHODS.get(self.method).check_settings(self.method_settings)
        get_estimator(self.order)
        WEIGHT_STEP_ALPHA.get(self.weight_step_alpha)
        ON_DIVERGENCE.get(self.on_divergence)  # issue 16
        for key in ("epochs", "batch_size", "channels", "cells_per_stage", "hessian_batches"):
            if getattr(self, key) < 1:
                raise ValueError(f"search.{key} must be >= 1, got {getattr(self, key)}")
        if self.hessian_every < 0:
            raise ValueError(f"search.hessian_every must be >= 0, got {self.hessian_every}")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["method_settings"] = dict(self.method_settings)
        return out

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> SearchConfig:
        d = dict(d)
        d["weights"] = WeightOptConfig(**d.get("weights", {}))
        return SearchConfig(**d)

    def fingerprint(self, data_meta: Mapping[str, Any], code: str = "") -> str:
        """What a checkpoint must match to be resumed: this config, the data and (if given) the code hash."""
        parts: dict[str, Any] = {"cfg": self.to_dict(), "data": data_meta}
        if code:  # without a code hash the fingerprint is what it always was
            parts["code"] = code
        blob = json.dumps(parts, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass
class SearchResult:
    genotype: Genotype
    genotype_str: str
    history: pd.DataFrame
    dist: ArchDistribution
    resumed_from_epoch: int
    seconds: float


@dataclass
class _State:
    network: nn.Module
    dist: ArchDistribution
    aopt: ArchOptimizer
    wopt: torch.optim.SGD
    sched: torch.optim.lr_scheduler.CosineAnnealingLR
    history: list[dict[str, Any]]


EpochCallback = Callable[[int, dict[str, Any]], None]


def build_state(cfg: SearchConfig, space: SearchSpace, num_classes: int, in_channels: int, n_arch: int,
                device: torch.device) -> _State:
    seed_everything(cfg.seed)
    network = SUPERNETS.get(cfg.space)(cfg.channels, cfg.cells_per_stage, num_classes, in_channels).to(device)
    dist, aopt = METHODS.get(cfg.method).build(space.shape, cfg.method_settings, n_arch, device)
    w = cfg.weights
    wopt = torch.optim.SGD(
        network.parameters(), lr=w.lr, momentum=w.momentum, nesterov=w.nesterov, weight_decay=w.weight_decay
    )
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(wopt, T_max=cfg.epochs, eta_min=w.lr_min)
    return _State(network, dist, aopt, wopt, sched, [])


def _checkpoint(state: _State, epoch: int, fingerprint: str, code: str = "") -> dict[str, Any]:
    return {
        "fingerprint": fingerprint,
        "code": code,
        "epochs_done": epoch,
        "network": state.network.state_dict(),
        "dist": state.dist.state_dict(),
        "aopt": state.aopt.state_dict(),
        "wopt": state.wopt.state_dict(),
        "sched": state.sched.state_dict(),
        "history": state.history,
    }


def _try_resume(state: _State, path: Path | None, fingerprint: str, code: str = "") -> int:
    """Load ``path`` into ``state`` if it matches ``fingerprint``; the number of epochs it holds (else 0).

    The checkpoint is read to the CPU and copied into ``state``'s tensors, so a run resumes on another
    device than the one that wrote it.
    """
    ckpt = read_checkpoint(path)  # issue 16: checksum + weights_only=True; corrupt -> None (warning)
    if ckpt is None:
        return 0
    if ckpt.get("fingerprint") != fingerprint:
        old_code = ckpt.get("code", "")
        if code and old_code != code:
            log.warning("checkpoint %s was written by other code (%s, now %s); starting afresh",
                        path, old_code or "unknown", code)
        else:
            log.warning("checkpoint %s belongs to another configuration; starting afresh", path)
        return 0
    state.network.load_state_dict(ckpt["network"])
    state.dist.load_state_dict(ckpt["dist"])
    state.aopt.load_state_dict(ckpt["aopt"])
    state.wopt.load_state_dict(ckpt["wopt"])
    state.sched.load_state_dict(ckpt["sched"])
    state.history = list(ckpt["history"])
    log.info("resumed from %s after epoch %d", path, ckpt["epochs_done"])
    return int(ckpt["epochs_done"])


def _batches(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    perm = torch.randperm(n, generator=generator)
    return [perm[i : i + batch_size] for i in range(0, n - batch_size + 1, batch_size)] or [perm]


def run_epoch(
    cfg: SearchConfig,
    state: _State,
    epoch: int,
    w_half: ImageSet,
    a_half: ImageSet,
    data_cfg: DataConfig,
) -> dict[str, float]:
    """One pass over the weight half, alternating architecture and weight steps."""
    estimator = get_estimator(cfg.order)
    mc = int(cfg.method_settings.get("mc_samples", 1))
    g_w, g_a = derived_generator(cfg.seed, epoch, 1), derived_generator(cfg.seed, epoch, 2)
    g_aug, g_alpha = derived_generator(cfg.seed, epoch, 3), derived_generator(cfg.seed, epoch, 4)
    w_batches = _batches(len(w_half), cfg.batch_size, g_w)
    a_batches = _batches(len(a_half), cfg.batch_size, g_a)
    criterion = nn.CrossEntropyLoss()
    net, dist = state.network, state.dist
    net.train()
    sums = {"train_loss": 0.0, "train_correct": 0, "train_n": 0, "valid_loss": 0.0, "valid_correct": 0, "valid_n": 0}
    # issue 16 (divergence guards): where/how a non-finite quantity stops or skips a step
    guard = {"policy": cfg.on_divergence, "epoch": epoch + 1,
             "run": RunId(cfg.space, cfg.dataset, cfg.method, cfg.order, cfg.seed)}
    skipped = 0
    for step, w_idx in enumerate(w_batches):
        fault_point(f"search:epoch-{epoch + 1}:step-{step + 1}")  # issue 16: fault-injection tests
        a_idx = a_batches[step % len(a_batches)]
        xv = augment_batch(a_half.x[a_idx], data_cfg, g_aug)
        yv = a_half.y[a_idx]
        xt = augment_batch(w_half.x[w_idx], data_cfg, g_aug)
        yt = w_half.y[w_idx]
        # architecture step
        ctx = ArchStepContext(net, dist.to_weights, (xv, yv), (xt, yt), state.wopt, criterion)
        grads = []
        valid_before = (sums["valid_loss"], sums["valid_correct"], sums["valid_n"])  # issue 16: skip_step undo
        for _ in range(mc):
            res = estimator(ctx, dist.sample_alpha(g_alpha))
            grads.append(res.grad)
            sums["valid_loss"] += res.loss * len(yv) / mc
            sums["valid_correct"] += res.correct / mc
        sums["valid_n"] += len(yv)
        arch_grad = torch.stack(grads).mean(0)
        if guard_step("architecture gradient", arch_grad, step=step + 1, **guard):  # issue 16
            state.aopt.step(arch_grad)
            check_finite("architecture parameters", state.dist.state_dict(), run=guard["run"],
                         epoch=epoch + 1, step=step + 1)  # issue 16
        else:  # issue 16: a skipped step counts in no average
            sums["valid_loss"], sums["valid_correct"], sums["valid_n"] = valid_before
            skipped += 1
        # weight step
        alpha_w = dist.sample_alpha(g_alpha) if cfg.weight_step_alpha == "sample" else dist.mean_alpha()
        state.wopt.zero_grad(set_to_none=True)
        logits = net(xt, dist.to_weights(alpha_w))
        loss = criterion(logits, yt)
        if not guard_step("weight-step loss", loss, step=step + 1, **guard):  # issue 16
            skipped += 1
            continue
        loss.backward()
        grad_norm = nn.utils.clip_grad_norm_(net.parameters(), cfg.weights.grad_clip)
        if not guard_step("weight gradient norm", grad_norm, step=step + 1, **guard):  # issue 16
            state.wopt.zero_grad(set_to_none=True)
            skipped += 1
            continue
        state.wopt.step()
        sums["train_loss"] += float(loss.detach()) * len(yt)
        sums["train_correct"] += int((logits.argmax(-1) == yt).sum())
        sums["train_n"] += len(yt)
    def mean(total: float, n: int) -> float:  # issue 16: NaN when skip_step skipped every step
        return total / n if n else float("nan")

    out = {
        "train_loss": mean(sums["train_loss"], sums["train_n"]),
        "train_acc": 100.0 * mean(sums["train_correct"], sums["train_n"]),
        "valid_loss": mean(sums["valid_loss"], sums["valid_n"]),
        "valid_acc": 100.0 * mean(sums["valid_correct"], sums["valid_n"]),
    }
    if cfg.on_divergence == "skip_step":  # issue 16: how many steps a non-finite value skipped
        out["skipped_steps"] = skipped
    return out


def run_search(
    cfg: SearchConfig,
    data: ImageSet,
    data_cfg: DataConfig,
    device: torch.device,
    checkpoint: Path | None = None,
    on_epoch_end: EpochCallback | None = None,
    hessian_fn: Callable[[SearchConfig, _State, ImageSet, DataConfig], dict[str, float]] | None = None,
    code: str = "",
) -> SearchResult:
    """Search from scratch or from ``checkpoint``; returns the final distribution and history.

    ``code`` (a hash of the package sources the search runs) enters the checkpoint's fingerprint, so a
    checkpoint left by a killed run is not resumed after the code changed.
    """
    start = time.time()
    space = get_space(cfg.space)
    w_half, a_half = search_split(data, cfg.seed)
    w_half = ImageSet(w_half.x.to(device), w_half.y.to(device), w_half.num_classes, w_half.meta)
    a_half = ImageSet(a_half.x.to(device), a_half.y.to(device), a_half.num_classes, a_half.meta)
    state = build_state(cfg, space, data.num_classes, data.in_channels, len(a_half), device)
    data_meta = {"n": len(data), "shape": list(data.x.shape), "data_cfg": asdict(data_cfg), **data.meta}
    fingerprint = cfg.fingerprint(data_meta, code)
    done = _try_resume(state, checkpoint, fingerprint, code)
    for epoch in range(done, cfg.epochs):
        t0 = time.time()
        lr = state.sched.get_last_lr()[0]
        row: dict[str, Any] = {"epoch": epoch + 1, "lr": lr}
        row.update(run_epoch(cfg, state, epoch, w_half, a_half, data_cfg))
        state.sched.step()
        genotype = space.derive(state.dist.mean_alpha().cpu())
        row["genotype"] = space.to_string(genotype)
        row["skip_count"] = space.count_op(genotype, "skip_connect")
        row["skip_ratio"] = row["skip_count"] / space.num_edges
        row.update(state.dist.stats())
        last = epoch + 1 == cfg.epochs
        if hessian_fn is not None and cfg.hessian_every and ((epoch + 1) % cfg.hessian_every == 0 or last):
            row.update(hessian_fn(cfg, state, a_half, data_cfg))
        row["epoch_seconds"] = time.time() - t0
        state.history.append(row)
        log.info(
            "epoch %d/%d train %.2f%% valid %.2f%% skip %d %s",
            epoch + 1, cfg.epochs, row["train_acc"], row["valid_acc"], row["skip_count"], row["genotype"],
        )
        if checkpoint is not None:
            write_checkpoint(_checkpoint(state, epoch + 1, fingerprint, code), checkpoint)  # issue 16
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1, row)
    genotype = space.derive(state.dist.mean_alpha().cpu())
    return SearchResult(
        genotype=genotype,
        genotype_str=space.to_string(genotype),
        history=pd.DataFrame(state.history),
        dist=state.dist,
        resumed_from_epoch=done,
        seconds=time.time() - start,
    )
