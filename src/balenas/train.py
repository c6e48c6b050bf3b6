"""Train a discrete DARTS-space network from scratch: one code path for CIFAR, digits, image zips and ImageNet.

The recipe follows the DARTS evaluation protocol: SGD with momentum and weight decay; a cosine schedule to
``lr_min`` (CIFAR) or StepLR x ``step_gamma`` per epoch (ImageNet); cross-entropy with optional label
smoothing; the auxiliary head's loss added with weight ``auxiliary_weight``; drop-path probability
``p_max * epoch / epochs`` at the start of each (0-based) epoch; cutout; gradient-norm clipping.

**Learning rate and batch size (linear scaling rule).** ``lr`` is the rate for ``lr_batch_size`` images
per step. With another ``batch_size`` (say more GPUs), the rate used is ``lr * batch_size / lr_batch_size``
(Goyal et al., 2017); e.g. ImageNet lr 0.1 at batch 128 becomes 0.4 at batch 512 (4 GPUs x 128).
``lr_batch_size: null`` uses ``lr`` as given. ``batch_size`` is always the global batch (all ranks).

**Multi-GPU.** Under ``torchrun --nproc_per_node N`` (``WORLD_SIZE`` > 1) each rank drives one GPU through
DistributedDataParallel (NCCL): the global batch is split over the ranks, gradients are averaged, losses
and accuracies are summed over ranks, rank 0 writes checkpoints. Without ``WORLD_SIZE`` > 1 it runs in
one process (always so on CPU).

**bf16 autocast** (``bf16: true``) runs forward passes in bfloat16 on GPUs that support it. It is off by
default: the published numbers were obtained in fp32, bf16 changes the results (so runs are not
comparable with fp32 ones or bit-reproducible across devices), and on CPU it is slower.

**Resume.** A checkpoint is written after every epoch (outside the rule's declared outputs); a rerun with
the same configuration, data and code resumes from it. All randomness of an epoch (batch order,
augmentation, drop-path masks) comes from streams derived from ``(seed, epoch)``, so on CPU a resumed run
ends with the same weights, bit for bit, as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from balenas.checkpoints import read_checkpoint, write_checkpoint
from balenas.registry import Registry
from balenas.runtime import derived_generator, environment_info, seed_everything, torch_save
from balenas.supernets.darts_network import DartsNetwork, EvalNetworkConfig, count_params_m
from balenas.train_data import TrainData

log = logging.getLogger(__name__)

SchedulerFactory = Callable[[torch.optim.Optimizer, "TrainConfig"], torch.optim.lr_scheduler.LRScheduler]
SCHEDULES: Registry[SchedulerFactory] = Registry("lr schedule")
SCHEDULES.add("cosine", lambda opt, cfg: torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.epochs, cfg.lr_min))
SCHEDULES.add("step", lambda opt, cfg: torch.optim.lr_scheduler.StepLR(opt, 1, cfg.step_gamma))


@dataclass(frozen=True)
class TrainConfig:
    """One retraining run (defaults: the DARTS CIFAR-10 recipe)."""

    run: str  # a name for logs and error messages (e.g. the output folder)
    seed: int = 0
    epochs: int = 600
    batch_size: int = 96
    lr: float = 0.025
    lr_batch_size: int | None = None  # the batch size ``lr`` is given for (linear scaling); None: as is
    momentum: float = 0.9
    weight_decay: float = 3e-4
    schedule: str = "cosine"  # cosine (to lr_min) | step (x step_gamma per epoch)
    lr_min: float = 0.0
    step_gamma: float = 0.97
    label_smoothing: float = 0.0
    auxiliary_weight: float = 0.4
    cutout: int = 16
    grad_clip: float = 5.0
    bf16: bool = False
    eval_batch_size: int = 256
    eval_every: int = 1  # evaluate on the test split every k epochs and after the last
    log_every: int = 50  # progress line every k steps inside an epoch
    network: EvalNetworkConfig = field(default_factory=EvalNetworkConfig)

    def __post_init__(self) -> None:
        SCHEDULES.get(self.schedule)
        for key in ("epochs", "batch_size", "eval_batch_size", "eval_every", "log_every"):
            if getattr(self, key) < 1:
                raise ValueError(f"train.{key} must be >= 1, got {getattr(self, key)}")
        if self.lr <= 0:
            raise ValueError(f"train.lr must be > 0, got {self.lr}")
        if self.lr_batch_size is not None and self.lr_batch_size < 1:
            raise ValueError(f"train.lr_batch_size must be >= 1 or null, got {self.lr_batch_size}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"train.label_smoothing must be in [0, 1), got {self.label_smoothing}")
        if self.auxiliary_weight < 0 or self.cutout < 0 or self.grad_clip <= 0:
            raise ValueError("train.auxiliary_weight and train.cutout must be >= 0 and train.grad_clip > 0")

    @property
    def effective_lr(self) -> float:
        return scaled_lr(self.lr, self.batch_size, self.lr_batch_size)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_mapping(run: str, cfg: Mapping[str, Any]) -> TrainConfig:
        known = set(TrainConfig.__dataclass_fields__) - {"run"}
        unknown = sorted(set(cfg) - known)
        if unknown:
            raise KeyError(f"train: unknown keys {unknown}; valid keys: {sorted(known)}")
        d = dict(cfg)
        d["network"] = EvalNetworkConfig.from_mapping(dict(d.get("network", {})))
        return TrainConfig(run=run, **d)


def scaled_lr(lr: float, batch_size: int, lr_batch_size: int | None) -> float:
    """The linear scaling rule: ``lr`` is for ``lr_batch_size``; scale it to ``batch_size``."""
    return lr if lr_batch_size is None else lr * batch_size / lr_batch_size


def drop_path_at(epoch: int, epochs: int, p_max: float) -> float:
    """Drop-path probability for 0-based ``epoch``: ``p_max * epoch / epochs`` (0 at the first epoch)."""
    return p_max * epoch / epochs


def training_loss(logits: torch.Tensor, aux: torch.Tensor | None, y: torch.Tensor, label_smoothing: float,
                  auxiliary_weight: float) -> torch.Tensor:
    """Cross-entropy (label-smoothed: target ``(1 - eps) onehot + eps / K``) plus the weighted auxiliary loss."""
    loss = F.cross_entropy(logits, y, label_smoothing=label_smoothing)
    if aux is not None:
        loss = loss + auxiliary_weight * F.cross_entropy(aux, y, label_smoothing=label_smoothing)
    return loss


def topk_correct(logits: torch.Tensor, y: torch.Tensor, ks: tuple[int, ...] = (1, 5)) -> list[int]:
    """How many labels are among the top-k logits, per k (k clipped to the number of classes)."""
    top = logits.topk(min(max(ks), logits.shape[1]), dim=1).indices
    hit = top == y.view(-1, 1)
    return [int(hit[:, : min(k, logits.shape[1])].any(dim=1).sum()) for k in ks]


class DivergenceError(FloatingPointError):
    """A non-finite training loss."""


# ---------------------------------------------------------------------------------------------------- DDP


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device_name: str = "auto") -> tuple[DistContext, torch.device]:
    """One process per GPU under torchrun (``WORLD_SIZE`` > 1, NCCL), else a single process on ``device_name``.

    Under torchrun with ``device_name="cpu"`` the ranks use the gloo backend on the CPU: that exists to test
    the data-parallel path without GPUs, not for speed.
    """
    from balenas.runtime import resolve_device

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext(), resolve_device(device_name)
    import torch.distributed as dist

    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device_name == "cpu":
        if not dist.is_initialized():
            dist.init_process_group("gloo")
        return DistContext(dist.get_rank(), world, local_rank), torch.device("cpu")
    if not torch.cuda.is_available():
        raise RuntimeError(f"WORLD_SIZE={world} asks for data-parallel training, but no CUDA device is visible")
    torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        dist.init_process_group("nccl")
    return DistContext(dist.get_rank(), world, local_rank), torch.device("cuda", local_rank)


def _all_sum(values: list[float], ctx: DistContext, device: torch.device) -> list[float]:
    if ctx.world == 1:
        return values
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


# ---------------------------------------------------------------------------------------------------- state


@dataclass
class _State:
    network: DartsNetwork
    model: nn.Module  # the network, or its DDP wrapper
    opt: torch.optim.SGD
    sched: torch.optim.lr_scheduler.LRScheduler
    history: list[dict[str, Any]]


def fingerprint(cfg: TrainConfig, genotype_text: str, data: Mapping[str, Any], world: int, code: str = "") -> str:
    """What a checkpoint must match to be resumed."""
    blob = json.dumps({"cfg": cfg.to_dict(), "genotype": genotype_text, "data": data, "world": world, "code": code},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def build_state(cfg: TrainConfig, genotype: Any, num_classes: int, in_channels: int, device: torch.device,
                ctx: DistContext) -> _State:
    seed_everything(cfg.seed)
    network = DartsNetwork(genotype, cfg.network, num_classes, in_channels).to(device)
    model: nn.Module = network
    if ctx.world > 1:
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(network, device_ids=[ctx.local_rank] if device.type == "cuda" else None)
    opt = torch.optim.SGD(network.parameters(), lr=cfg.effective_lr, momentum=cfg.momentum,
                          weight_decay=cfg.weight_decay)
    return _State(network, model, opt, SCHEDULES.get(cfg.schedule)(opt, cfg), [])


def _try_resume(state: _State, path: Path | None, fp: str) -> int:
    """Epochs already done by the checkpoint at ``path`` (loaded into ``state``); 0 when it is absent,
    damaged (checksum; :func:`balenas.checkpoints.read_checkpoint` warns) or of another configuration."""
    ckpt = read_checkpoint(path)
    if ckpt is None:
        return 0
    if ckpt.get("fingerprint") != fp:
        log.warning("checkpoint %s belongs to another configuration, data or code; starting afresh", path)
        return 0
    state.network.load_state_dict(ckpt["network"])
    state.opt.load_state_dict(ckpt["opt"])
    state.sched.load_state_dict(ckpt["sched"])
    state.history = list(ckpt["history"])
    log.info("resumed from %s after epoch %d", path, ckpt["epochs_done"])
    return int(ckpt["epochs_done"])


def _save(state: _State, path: Path, epochs_done: int, fp: str) -> None:
    write_checkpoint({"fingerprint": fp, "epochs_done": epochs_done, "network": state.network.state_dict(),
                      "opt": state.opt.state_dict(), "sched": state.sched.state_dict(), "history": state.history},
                     path)


# ---------------------------------------------------------------------------------------------------- loops

StepCallback = Callable[[int, int], None]  # (epoch 0-based, step 0-based), after each optimizer step


def _fmt_seconds(s: float) -> str:
    s = max(0, int(s))
    return f"{s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def train_epoch(cfg: TrainConfig, state: _State, data: TrainData, epoch: int, device: torch.device,
                ctx: DistContext, on_step: StepCallback | None = None) -> dict[str, float]:
    state.network.set_drop_path(drop_path_at(epoch, cfg.epochs, cfg.network.drop_path_prob),
                                derived_generator(cfg.seed, epoch, 3, ctx.rank))
    state.model.train()
    steps = data.steps_per_epoch()
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if cfg.bf16 else nullcontext()
    loss_sum, c1, c5, n = 0.0, 0, 0, 0
    t0 = time.time()
    for step, (x, y) in enumerate(data.train_batches(epoch)):
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        state.opt.zero_grad(set_to_none=True)
        with autocast:
            logits, aux = state.model(x, with_aux=True)
            loss = training_loss(logits.float(), None if aux is None else aux.float(), y, cfg.label_smoothing,
                                 cfg.auxiliary_weight)
        value = float(loss.detach())
        if not math.isfinite(value):
            raise DivergenceError(f"{cfg.run}: non-finite training loss {value} at epoch {epoch + 1}, step {step + 1}")
        loss.backward()
        nn.utils.clip_grad_norm_(state.network.parameters(), cfg.grad_clip)
        state.opt.step()
        k1, k5 = topk_correct(logits.detach(), y)
        loss_sum, c1, c5, n = loss_sum + value * len(y), c1 + k1, c5 + k5, n + len(y)
        if on_step is not None:
            on_step(epoch, step)
        if ctx.is_main and ((step + 1) % cfg.log_every == 0 or step + 1 == steps):
            elapsed = time.time() - t0
            rate = n * ctx.world / max(elapsed, 1e-9)
            left_epoch = elapsed / (step + 1) * (steps - step - 1)
            left_run = left_epoch + elapsed / (step + 1) * steps * (cfg.epochs - epoch - 1)
            log.info("%s epoch %d/%d step %d/%d loss %.4f top1 %.2f%% %.1f img/s ETA epoch %s run %s",
                     cfg.run, epoch + 1, cfg.epochs, step + 1, steps, loss_sum / n, 100.0 * c1 / n, rate,
                     _fmt_seconds(left_epoch), _fmt_seconds(left_run))
    loss_sum, c1, c5, n = _all_sum([loss_sum, c1, c5, n], ctx, device)
    return {"train_loss": loss_sum / n, "train_top1": 100.0 * c1 / n, "train_top5": 100.0 * c5 / n}


@torch.no_grad()
def evaluate(cfg: TrainConfig, network: nn.Module, data: TrainData, device: torch.device,
             ctx: DistContext) -> dict[str, float]:
    """Test loss (without label smoothing) and top-1/top-5 accuracy over every rank's share."""
    network.eval()
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if cfg.bf16 else nullcontext()
    loss_sum, c1, c5, n = 0.0, 0, 0, 0
    for x, y in data.eval_batches():
        x, y = x.to(device), y.to(device)
        with autocast:
            logits = network(x).float()
        loss_sum += float(F.cross_entropy(logits, y, reduction="sum"))
        k1, k5 = topk_correct(logits, y)
        c1, c5, n = c1 + k1, c5 + k5, n + len(y)
    loss_sum, c1, c5, n = _all_sum([loss_sum, c1, c5, n], ctx, device)
    return {"test_loss": loss_sum / n, "test_top1": 100.0 * c1 / n, "test_top5": 100.0 * c5 / n, "test_n": int(n)}


@dataclass
class TrainResult:
    network: DartsNetwork
    history: pd.DataFrame
    final: dict[str, float]
    resumed_from_epoch: int
    seconds: float


def train(cfg: TrainConfig, genotype: Any, genotype_text: str, data: TrainData, device: torch.device,
          checkpoint: Path | None = None, ctx: DistContext = DistContext(), code: str = "",
          on_step: StepCallback | None = None) -> TrainResult:
    """Train from scratch, or resume from ``checkpoint``; evaluate every ``eval_every`` epochs and at the end."""
    start = time.time()
    state = build_state(cfg, genotype, data.num_classes, data.in_channels, device, ctx)
    fp = fingerprint(cfg, genotype_text, data.describe(), ctx.world, code)
    done = _try_resume(state, checkpoint, fp)
    if ctx.is_main:
        log.info("%s: %d epochs, lr %.5g (batch %d), params %.3f M (without auxiliary head)", cfg.run, cfg.epochs,
                 cfg.effective_lr, cfg.batch_size, count_params_m(state.network))
    for epoch in range(done, cfg.epochs):
        t0 = time.time()
        row: dict[str, Any] = {"epoch": epoch + 1, "lr": state.sched.get_last_lr()[0],
                               "drop_path_prob": drop_path_at(epoch, cfg.epochs, cfg.network.drop_path_prob)}
        row.update(train_epoch(cfg, state, data, epoch, device, ctx, on_step))
        state.sched.step()
        if (epoch + 1) % cfg.eval_every == 0 or epoch + 1 == cfg.epochs:
            row.update(evaluate(cfg, state.network, data, device, ctx))
        row["epoch_seconds"] = time.time() - t0
        state.history.append(row)
        if ctx.is_main:
            log.info("%s epoch %d/%d done: train loss %.4f top1 %.2f%%; test top1 %s", cfg.run, epoch + 1,
                     cfg.epochs, row["train_loss"], row["train_top1"],
                     f"{row['test_top1']:.2f}%" if "test_top1" in row else "-")
            if checkpoint is not None:
                _save(state, checkpoint, epoch + 1, fp)
    final = {k: v for k, v in state.history[-1].items() if k.startswith("test_")} if state.history else {}
    if ctx.world > 1:
        import torch.distributed as dist

        dist.barrier()  # rank 0 has written the checkpoint before any rank returns
    return TrainResult(state.network, pd.DataFrame(state.history), final, done, time.time() - start)


def train_metrics(cfg: TrainConfig, result: TrainResult, genotype_text: str, data: TrainData, device: torch.device,
                  ctx: DistContext, flops_m: float | None = None) -> dict[str, Any]:
    """The metrics file: seed, config, versions, device, epochs done, final test numbers, params/FLOPs."""
    final = result.final
    return {
        "run": cfg.run,
        "seed": cfg.seed,
        "config": cfg.to_dict(),
        "effective_lr": cfg.effective_lr,
        "genotype": genotype_text,
        "data": data.describe(),
        "epochs_done": len(result.history),
        "resumed_from_epoch": result.resumed_from_epoch,
        "world_size": ctx.world,
        "environment": environment_info(device),
        "params_m": count_params_m(result.network),
        "flops_m": flops_m,
        "test_n": final.get("test_n"),
        "test_top1": final.get("test_top1"),
        "test_top5": final.get("test_top5"),
        "test_error": None if "test_top1" not in final else 100.0 - final["test_top1"],
        "test_top5_error": None if "test_top5" not in final else 100.0 - final["test_top5"],
    }


def with_run(cfg: TrainConfig, run: str, seed: int) -> TrainConfig:
    return replace(cfg, run=run, seed=seed)


#: the files a retraining run declares, in one place for the rules and the writer; timings live apart in
#: timings.json so that every other output is byte-identical for the same config, seed and code
RETRAIN_OUTPUTS: tuple[str, ...] = ("metrics.json", "history.csv", "model.pt", "timings.json")
TIMING_COLUMNS: tuple[str, ...] = ("epoch_seconds",)


def write_outputs(out_dir: str | Path, result: TrainResult, metrics: Mapping[str, Any]) -> dict[str, Path]:
    """Write :data:`RETRAIN_OUTPUTS` atomically into ``out_dir``; returns their paths."""
    from balenas.runtime import atomic_path, write_json

    out = Path(out_dir)
    paths = {name: out / name for name in RETRAIN_OUTPUTS}
    torch_save(result.network.state_dict(), paths["model.pt"])
    timed = [c for c in TIMING_COLUMNS if c in result.history.columns]
    with atomic_path(paths["history.csv"]) as tmp:
        result.history.drop(columns=timed).to_csv(tmp, index=False)
    write_json(paths["metrics.json"], metrics)
    write_json(paths["timings.json"], {
        "stage": "retrain",
        "seconds": result.seconds,
        **{c: result.history[c].tolist() for c in timed},
    })
    return paths
