"""The bilevel search loop, checkpointing every epoch and resuming bit-for-bit on CPU.

Each step takes an architecture step on a batch of the architecture half (``method.arch_step``: for
DARTS and BaLeNAS alpha drawn from the method's distribution and the gradient from the configured
``order``), then a weight step on a batch of the weight half (SGD, nesterov, cosine schedule, gradient
clipping) under the distribution's ``train_weights``. All randomness inside an epoch comes from generators
derived from ``(seed, epoch)``, so a run resumed from an end-of-epoch checkpoint reproduces an
uninterrupted one exactly.

The loop knows no space and no method by name: the space gives the parameter groups, the supernet's
config, the derivation and the op counts; the method gives the distribution (with its per-epoch hook),
the optimizer and the architecture step.
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

from balenas.analysis.hessian import DEFAULT_HESSIAN_MODE, HESSIAN_CHUNK, HESSIAN_MODES
from balenas.archdist import ArchDistribution
from balenas.archopt.base import ArchOptimizer
from balenas.archopt.gradients import get_estimator
from balenas.archopt.steps import ArchStepInputs
from balenas.checkpoints import read_checkpoint, write_checkpoint  # issue 16
from balenas.data import DataConfig, ImageSet, augment_batch, search_split
from balenas.guards import ON_DIVERGENCE, RunId, check_finite, guard_step  # issue 16
from balenas.methods import METHODS
from balenas.registry import Registry
from balenas.runtime import derived_generator, fault_point, seed_everything  # issue 16: fault_point
from balenas.spaces import SearchSpace, get_space
from balenas.speed import SpeedConfig, build_supernet
from balenas.augment import augment_batch_gather

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
    model: Mapping[str, Any] = field(default_factory=dict)  # the space's supernet block
    weights: WeightOptConfig = field(default_factory=WeightOptConfig)
    weight_step_alpha: str = "sample"
    hessian_every: int = 0  # 0: never; k: every k epochs (and after the last)
    hessian_batches: int = 1
    hessian_chunk: int = HESSIAN_CHUNK  # Hessian rows per batched pass (memory, not values)
    hessian_batch_size: int | None = None  # examples per Hessian batch; None: batch_size
    hessian_mode: str = DEFAULT_HESSIAN_MODE  # forward (forward-over-reverse) | reverse (double backward)
    speed: SpeedConfig = field(default_factory=SpeedConfig)
    on_divergence: str = "fail"  # issue 16: fail | skip_step (balenas.guards)

    def __post_init__(self) -> None:
        space = get_space(self.space)
        method = METHODS.get(self.method)
        method.check_settings(self.method_settings)
        get_estimator(self.order)
        if self.order not in method.orders:
            raise ValueError(f"method {self.method} defines orders {list(method.orders)}, not {self.order}")
        WEIGHT_STEP_ALPHA.get(self.weight_step_alpha)
        ON_DIVERGENCE.get(self.on_divergence)  # issue 16
        space.make_model_config(self.model)
        for key in ("epochs", "batch_size", "hessian_batches", "hessian_chunk"):
            if getattr(self, key) < 1:
                raise ValueError(f"search.{key} must be >= 1, got {getattr(self, key)}")
        if self.hessian_every < 0:
            raise ValueError(f"search.hessian_every must be >= 0, got {self.hessian_every}")
        if self.hessian_batch_size is not None and self.hessian_batch_size < 1:
            raise ValueError(f"search.hessian_batch_size must be >= 1 or null, got {self.hessian_batch_size}")
        if self.hessian_mode not in HESSIAN_MODES:
            raise ValueError(f"search.hessian_mode must be one of {HESSIAN_MODES.keys()}, got {self.hessian_mode!r}")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["method_settings"] = dict(self.method_settings)
        out["model"] = dict(self.model)
        return out

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> SearchConfig:
        d = dict(d)
        d["weights"] = WeightOptConfig(**d.get("weights", {}))
        d["speed"] = SpeedConfig.from_mapping(d.get("speed"))
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
    genotype: Any  # the space's genotype
    genotype_str: str
    history: pd.DataFrame
    dist: ArchDistribution
    resumed_from_epoch: int
    seconds: float
    network: nn.Module | None = None  # the trained supernet (its shared weights are a search output)


@dataclass
class _State:
    network: nn.Module
    dist: ArchDistribution
    aopt: ArchOptimizer | None
    wopt: torch.optim.SGD
    sched: torch.optim.lr_scheduler.CosineAnnealingLR
    history: list[dict[str, Any]]


EpochCallback = Callable[[int, dict[str, Any]], None]


def build_state(cfg: SearchConfig, space: SearchSpace, num_classes: int, in_channels: int, n_arch: int,
                device: torch.device) -> _State:
    seed_everything(cfg.seed)
    model_cfg = space.make_model_config(cfg.model)
    network = build_supernet(cfg.space, cfg.speed, model_cfg, num_classes, in_channels, device)
    dist, aopt = METHODS.get(cfg.method).build(space.param_groups, cfg.method_settings, n_arch, device)
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
        "aopt": state.aopt.state_dict() if state.aopt is not None else {},
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
    if state.aopt is not None:
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
    arch_step = METHODS.get(cfg.method).arch_step
    g_w, g_a = derived_generator(cfg.seed, epoch, 1), derived_generator(cfg.seed, epoch, 2)
    g_aug, g_alpha = derived_generator(cfg.seed, epoch, 3), derived_generator(cfg.seed, epoch, 4)
    w_batches = _batches(len(w_half), cfg.batch_size, g_w)
    a_batches = _batches(len(a_half), cfg.batch_size, g_a)
    augment = augment_batch_gather if cfg.speed.vector_augment else augment_batch
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
        xv = augment(a_half.x[a_idx], data_cfg, g_aug)
        yv = a_half.y[a_idx]
        xt = augment(w_half.x[w_idx], data_cfg, g_aug)
        yt = w_half.y[w_idx]
        # architecture step (the method's rule); a non-finite gradient stops the run or skips the step
        stats = arch_step(
            ArchStepInputs(net, dist, state.aopt, (xv, yv), (xt, yt), state.wopt, criterion, cfg.order, g_alpha,
                           guard=lambda quantity, value: guard_step(quantity, value, step=step + 1, **guard))
        )
        if stats.skipped:  # issue 16: a skipped step counts in no average
            skipped += 1
        else:
            sums["valid_loss"] += stats.loss * len(yv)
            sums["valid_correct"] += stats.correct
            sums["valid_n"] += len(yv)
            check_finite("architecture parameters", state.dist.state_dict(), run=guard["run"],
                         epoch=epoch + 1, step=step + 1)  # issue 16
        # weight step
        state.wopt.zero_grad(set_to_none=True)
        logits = net(xt, dist.train_weights(g_alpha, cfg.weight_step_alpha))
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

    def mean(total: float, n: int, scale: float = 1.0) -> float:  # NaN when skip_step skipped every step
        return scale * total / n if n else float("nan")  # scale * total / n: the rounding of earlier runs

    out = {
        "train_loss": mean(sums["train_loss"], sums["train_n"]),
        "train_acc": mean(sums["train_correct"], sums["train_n"], 100.0),
        "valid_loss": mean(sums["valid_loss"], sums["valid_n"]),
        "valid_acc": mean(sums["valid_correct"], sums["valid_n"], 100.0),
    }
    if cfg.on_divergence == "skip_step":  # issue 16: how many steps a non-finite value skipped
        out["skipped_steps"] = skipped
    return out


def genotype_record(space: SearchSpace, genotype: Any) -> dict[str, Any]:
    """The per-epoch history columns of a derived genotype: its text, the skip connections of the space's
    skip cell (count and ratio), and every op count per cell type (``ops_<cell>_<op>``)."""
    counts = space.op_counts(genotype)
    skip = space.skip_count(genotype)
    row: dict[str, Any] = {
        "genotype": space.to_string(genotype),
        "skip_count": skip,
        "skip_ratio": skip / space.cell_sizes()[space.skip_cell],
    }
    for cell, ops in counts.items():
        row.update({f"ops_{cell}_{op}": n for op, n in ops.items()})
    return row


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
        state.dist.on_epoch_start(epoch, cfg.epochs)
        lr = state.sched.get_last_lr()[0]
        row: dict[str, Any] = {"epoch": epoch + 1, "lr": lr}
        row.update(run_epoch(cfg, state, epoch, w_half, a_half, data_cfg))
        state.sched.step()
        genotype = space.derive(_cpu(state.dist.mean_alpha()))
        row.update(genotype_record(space, genotype))
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
    genotype = space.derive(_cpu(state.dist.mean_alpha()))
    return SearchResult(
        genotype=genotype,
        genotype_str=space.to_string(genotype),
        history=pd.DataFrame(state.history),
        dist=state.dist,
        resumed_from_epoch=done,
        seconds=time.time() - start,
        network=state.network,
    )


def _cpu(params: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {name: t.cpu() for name, t in params.items()}
