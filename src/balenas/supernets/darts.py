"""The DARTS CNN search supernet (Liu et al. 2019), with mixing weights passed in from outside.

Macro structure as the reference builds it: a 3x3 conv stem with ``stem_multiplier * C`` channels and BN;
``layers`` cells, the ones at ``layers // 3`` and ``2 * layers // 3`` being reduction cells that double the
channels and halve the spatial size; every cell consumes the outputs of the previous two cells
``(s0, s1)``, preprocessed to ``C`` channels (a factorized reduce for ``s0`` when the previous cell reduced,
a 1x1 ReLU-conv-BN otherwise); each of its ``steps`` nodes sums a mixed op over every earlier node; the
cell's output concatenates the last ``multiplier`` nodes; global average pooling and a linear classifier.
All BN in cells is without affine parameters, pools are followed by BN(affine=False).

``forward(x, weights)`` takes ``{"normal": (14, 8), "reduce": (14, 8)}`` mixing weights. The ``none`` op
is not run: it contributes ``w * 0``, and its gradient with respect to ``w`` is 0 as well.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from balenas.spaces.darts.genotype import DARTS_OPS, DartsGenotype
from balenas.spaces.darts.space import DartsModelConfig, DartsNetworkConfig
from balenas.supernets.darts_network import DartsNetwork, EvalNetworkConfig
from balenas.supernets.darts_ops import FactorizedReduce, ReLUConvBN, search_op


class MixedOp(nn.Module):
    """Every candidate op on one edge; ``forward(x, w)`` returns ``sum_k w[k] * op_k(x)``."""

    def __init__(self, c: int, stride: int, op_names: Sequence[str] = DARTS_OPS) -> None:
        super().__init__()
        self.op_names = tuple(op_names)
        self._run = tuple(k for k, name in enumerate(self.op_names) if name != "none")
        self.ops = nn.ModuleList(search_op(name, c, stride) for name in self.op_names)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor | None = None
        for k in self._run:
            term = w[k] * self.ops[k](x)
            out = term if out is None else out + term
        if out is None:  # only `none` on this edge
            return self.ops[0](x) * w.sum()
        return out


class SearchCell(nn.Module):
    def __init__(
        self, steps: int, multiplier: int, c_pp: int, c_p: int, c: int, reduction: bool, reduction_prev: bool
    ) -> None:
        super().__init__()
        self.reduction = reduction
        self.steps = steps
        self.multiplier = multiplier
        self.preprocess0: nn.Module = (
            FactorizedReduce(c_pp, c, affine=False) if reduction_prev else ReLUConvBN(c_pp, c, 1, 1, 0, affine=False)
        )
        self.preprocess1 = ReLUConvBN(c_p, c, 1, 1, 0, affine=False)
        self.edges = nn.ModuleList(
            MixedOp(c, 2 if reduction and src < 2 else 1) for node in range(steps) for src in range(node + 2)
        )

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        e = 0
        for _ in range(self.steps):
            total: torch.Tensor | None = None
            for h in states:
                out = self.edges[e](h, weights[e])
                total = out if total is None else total + out
                e += 1
            assert total is not None
            states.append(total)
        return torch.cat(states[-self.multiplier :], dim=1)


class DartsSupernet(nn.Module):
    cell_type: type[SearchCell] = SearchCell  # the cells' class (the same modules; another forward)

    def __init__(self, cfg: DartsModelConfig, num_classes: int = 10, in_channels: int = 3) -> None:
        super().__init__()
        if num_classes < 1 or in_channels < 1:
            raise ValueError(
                f"darts supernet: num_classes and in_channels must be >= 1, got {num_classes}, {in_channels}"
            )
        self.cfg = cfg
        self.num_edges = sum(2 + i for i in range(cfg.steps))
        c_curr = cfg.stem_multiplier * cfg.C
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, c_curr, 3, padding=1, bias=False), nn.BatchNorm2d(c_curr)
        )
        c_pp, c_p, c_curr = c_curr, c_curr, cfg.C
        self.cells = nn.ModuleList()
        reduction_prev = False
        for i in range(cfg.layers):
            reduction = i in reduction_layers(cfg.layers)
            if reduction:
                c_curr *= 2
            self.cells.append(self.cell_type(cfg.steps, cfg.multiplier, c_pp, c_p, c_curr, reduction, reduction_prev))
            reduction_prev = reduction
            c_pp, c_p = c_p, cfg.multiplier * c_curr
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, num_classes)

    def _check(self, weights: Mapping[str, torch.Tensor]) -> None:
        shape = (self.num_edges, len(DARTS_OPS))
        for group in ("normal", "reduce"):
            if group not in weights:
                raise ValueError(f"darts supernet: mixing weights need group {group!r}, got {list(weights)}")
            if tuple(weights[group].shape) != shape:
                raise ValueError(
                    f"darts supernet: weights[{group!r}] must have shape {shape}, got {tuple(weights[group].shape)}"
                )

    def forward(self, x: torch.Tensor, weights: Mapping[str, torch.Tensor]) -> torch.Tensor:
        self._check(weights)
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, weights["reduce" if cell.reduction else "normal"])
        return self.classifier(self.global_pooling(s1).flatten(1))


def reduction_layers(layers: int) -> tuple[int, int]:
    """Indices of the reduction cells: 1/3 and 2/3 of the depth."""
    return (layers // 3, 2 * layers // 3)


def darts_supernet(cfg: DartsModelConfig, num_classes: int, in_channels: int = 3) -> DartsSupernet:
    """SUPERNETS factory for the ``darts`` space."""
    if not isinstance(cfg, DartsModelConfig):
        raise ValueError(f"darts supernet: expected a DartsModelConfig, got {type(cfg).__name__}")
    return DartsSupernet(cfg, num_classes, in_channels)


def darts_selection_network(
    genotype: DartsGenotype, cfg: DartsNetworkConfig, num_classes: int, in_channels: int = 3
) -> DartsNetwork:
    """NETWORKS factory for the ``darts`` space: the discrete network BaLeNAS-TF scores at initialisation.

    The evaluation network of ``supernets.darts_network`` (affine BN, CIFAR stem) at ``cfg``'s size,
    without auxiliary head or drop-path (neither exists at initialisation in the proxies' forward).
    """
    if not isinstance(genotype, DartsGenotype):
        raise ValueError(f"darts network: expected a DartsGenotype, got {type(genotype).__name__}")
    if not isinstance(cfg, DartsNetworkConfig):
        raise ValueError(f"darts network: expected a DartsNetworkConfig, got {type(cfg).__name__}")
    eval_cfg = EvalNetworkConfig(C=cfg.C, layers=cfg.layers, auxiliary=False, drop_path_prob=0.0, stem="cifar")
    return DartsNetwork(genotype, eval_cfg, num_classes, in_channels)


__all__ = [
    "DartsSupernet",
    "MixedOp",
    "SearchCell",
    "darts_selection_network",
    "darts_supernet",
    "reduction_layers",
]
