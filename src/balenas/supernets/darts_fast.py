"""A faster DARTS search supernet that computes what :class:`balenas.supernets.darts.DartsSupernet` computes.

The same modules, parameters, buffers and state dict (it is a :class:`DartsSupernet` whose cells run another
forward), so checkpoints and optimizer states carry over either way. Per source state of a cell, the work
that every out-edge repeats in the reference is done once (in training mode, where batch-statistics BN makes
it identical on every edge):

* one ReLU for the separable and dilated convolutions (and the factorized reduce) of all out-edges, each of
  which starts with a ReLU of the same state;
* one 3x3 max pooling and one 3x3 average pooling, each followed by the first out-edge's
  ``BatchNorm2d(affine=False)``: without affine parameters and with batch statistics, every out-edge's
  BN(pool(x)) is the same tensor; the other edges' BN running statistics are set to the first one's after
  the forward, so buffers and state dict are exactly the reference's.

The forward values are bit-identical to the plain supernet's (the same ops on the same tensors); the
gradients of a state sum the shared ops' input gradients in another order, so float32 gradients differ by
rounding (in float64 they agree to ~1e-15). In eval mode every edge runs its own ops (BN then reads each
edge's running statistics), as in the plain supernet.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from balenas.spaces.darts.space import DartsModelConfig
from balenas.supernets.darts import DartsSupernet, MixedOp, SearchCell
from balenas.supernets.darts_ops import RELU_FIRST_OPS

_POOLS = ("max_pool_3x3", "avg_pool_3x3")


class _SharedState:
    """What the out-edges of one state share: its ReLU and its BN(pool) tensors, computed at first use."""

    def __init__(self, x: torch.Tensor) -> None:
        self.x = x
        self._relu: torch.Tensor | None = None
        self.pooled: dict[str, torch.Tensor] = {}
        self.pool_bns: dict[str, list[nn.BatchNorm2d]] = {name: [] for name in _POOLS}

    def relu(self) -> torch.Tensor:
        if self._relu is None:
            self._relu = F.relu(self.x)
        return self._relu

    def pool(self, name: str, op: nn.Sequential) -> torch.Tensor:
        pool, bn = op
        self.pool_bns[name].append(bn)
        if name not in self.pooled:
            self.pooled[name] = bn(pool(self.x))
        return self.pooled[name]

    @torch.no_grad()
    def sync_running_stats(self) -> None:
        """Every sharing BN's running statistics set to those of the one that ran."""
        for bns in self.pool_bns.values():
            for bn in bns[1:]:
                if bn.track_running_stats and bns[0].running_mean is not None:
                    bn.running_mean.copy_(bns[0].running_mean)
                    bn.running_var.copy_(bns[0].running_var)
                    bn.num_batches_tracked.copy_(bns[0].num_batches_tracked)


def _shared_edge(edge: MixedOp, state: _SharedState, w: torch.Tensor) -> torch.Tensor:
    out: torch.Tensor | None = None
    for k in edge._run:
        name, op = edge.op_names[k], edge.ops[k]
        if name in _POOLS:
            y = state.pool(name, op)
        elif isinstance(op, RELU_FIRST_OPS):
            y = op.after_relu(state.relu())
        else:  # skip at stride 1 (identity)
            y = op(state.x)
        term = w[k] * y
        out = term if out is None else out + term
    if out is None:  # only `none` on this edge
        return edge.ops[0](state.x) * w.sum()
    return out


class FastSearchCell(SearchCell):
    """:class:`SearchCell` whose out-edges of one state share its ReLU and BN(pool) in training mode."""

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return super().forward(s0, s1, weights)
        shared = [_SharedState(self.preprocess0(s0)), _SharedState(self.preprocess1(s1))]
        e = 0
        for _ in range(self.steps):
            total: torch.Tensor | None = None
            for state in shared:
                out = _shared_edge(self.edges[e], state, weights[e])
                total = out if total is None else total + out
                e += 1
            assert total is not None
            shared.append(_SharedState(total))
        for state in shared:
            state.sync_running_stats()
        return torch.cat([s.x for s in shared[-self.multiplier :]], dim=1)


class FastDartsSupernet(DartsSupernet):
    """:class:`DartsSupernet` with :class:`FastSearchCell` cells: the same modules and state dict."""

    cell_type = FastSearchCell


def darts_fast_supernet(cfg: DartsModelConfig, num_classes: int, in_channels: int = 3) -> FastDartsSupernet:
    """The search network of :func:`balenas.supernets.darts.darts_supernet`, with the shared forward."""
    if not isinstance(cfg, DartsModelConfig):
        raise ValueError(f"darts supernet: expected a DartsModelConfig, got {type(cfg).__name__}")
    return FastDartsSupernet(cfg, num_classes, in_channels)


__all__ = ["FastDartsSupernet", "FastSearchCell", "darts_fast_supernet"]
