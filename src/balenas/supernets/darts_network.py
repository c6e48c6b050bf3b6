"""DARTS evaluation networks: a discrete DARTS-space genotype stacked into NetworkCIFAR / NetworkImageNet.

Macro structure as DARTS builds its evaluation networks (Liu et al., 2019):

- ``layers`` cells; the cells at ``layers // 3`` and ``2 * layers // 3`` are reduction cells (stride 2,
  channels doubled); every cell reads the outputs of the two cells before it (a 1x1 ReLU-Conv-BN
  preprocessing, or a factorized reduction when the cell before the previous one was a reduction).
- An auxiliary classifier reads the output of the cell at ``2 * layers // 3`` (training mode only).
- Drop-path: in training, the output of every op that is not the identity (``skip_connect`` at stride 1)
  is zeroed per example with probability ``p`` and scaled by ``1 / (1 - p)``; ``p`` is set from outside
  each epoch (:class:`DropPath`), ramped linearly by the trainer.
- Stems: CIFAR a 3x3 conv to ``3C`` channels + BN; ImageNet ``stem0`` (two stride-2 3x3 convs to ``C / 2``
  and ``C`` channels) and ``stem1`` (a stride-2 3x3 conv), so a 224 crop reaches the cells at 28x28.

``forward(x)`` returns logits (what proxies and FLOP counters see); ``forward(x, with_aux=True)`` returns
``(logits, aux_logits or None)`` for training (a keyword, so it passes through DistributedDataParallel).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from balenas.registry import Registry
from balenas.supernets.darts_ops import FactorizedReduce, ReLUConvBN, make_op

#: name of the op the drop-path leaves alone (at stride 1 it is the identity)
IDENTITY_OP = "skip_connect"
#: prefix of the auxiliary head's parameters (excluded from the parameter count, as DARTS prints it)
AUX_PREFIX = "auxiliary"


@dataclass(frozen=True)
class EvalNetworkConfig:
    """The retraining network (not the small one BaLeNAS-TF scores: ``spaces.darts.DartsNetworkConfig``).

    ``drop_path_prob`` is the maximum drop-path probability (the ramp ends just below it).
    """

    C: int = 36
    layers: int = 20
    auxiliary: bool = True
    drop_path_prob: float = 0.2
    stem: str = "cifar"  # a key of NETWORK_STEMS: "cifar" or "imagenet"

    def __post_init__(self) -> None:
        if self.C < 2 or self.C % 2:
            raise ValueError(f"network.C must be an even integer >= 2, got {self.C}")
        if self.layers < 3:
            raise ValueError(f"network.layers must be >= 3 (two reduction cells and a normal one), got {self.layers}")
        if not 0.0 <= self.drop_path_prob < 1.0:
            raise ValueError(f"network.drop_path_prob must be in [0, 1), got {self.drop_path_prob}")
        NETWORK_STEMS.get(self.stem)

    @staticmethod
    def from_mapping(cfg: dict[str, Any]) -> EvalNetworkConfig:
        known = set(EvalNetworkConfig.__dataclass_fields__)
        unknown = sorted(set(cfg) - known)
        if unknown:
            raise KeyError(f"network: unknown keys {unknown}; valid keys: {sorted(known)}")
        return EvalNetworkConfig(**cfg)


def drop_path(x: torch.Tensor, prob: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Zero whole examples with probability ``prob`` and scale the kept ones by ``1 / (1 - prob)``.

    The mask is drawn on the CPU from ``generator`` (the same draws on every device), then moved to ``x``.
    """
    if prob <= 0.0:
        return x
    keep = 1.0 - prob
    mask = torch.bernoulli(torch.full((x.shape[0], 1, 1, 1), keep), generator=generator)
    return x * mask.to(device=x.device, dtype=x.dtype) / keep


class DropPath:
    """The drop-path probability and random stream shared by all cells of one network (set per epoch)."""

    def __init__(self) -> None:
        self.prob: float = 0.0
        self.generator: torch.Generator | None = None


class EvalCell(nn.Module):
    """One cell of a discrete genotype: ``steps`` nodes, each the sum of two ops on earlier states."""

    def __init__(self, edges: list[tuple[str, int]], concat: tuple[int, ...], c_pp: int, c_p: int, c: int,
                 reduction: bool, reduction_prev: bool, drop: DropPath) -> None:
        super().__init__()
        if len(edges) % 2:
            raise ValueError(f"a DARTS cell needs two inputs per node, got {len(edges)} edges")
        self.preprocess0 = FactorizedReduce(c_pp, c) if reduction_prev else ReLUConvBN(c_pp, c, 1, 1, 0)
        self.preprocess1 = ReLUConvBN(c_p, c, 1, 1, 0)
        self.reduction = reduction
        self.inputs = [index for _, index in edges]
        self.concat = tuple(concat)
        self.multiplier = len(self.concat)
        self.ops = nn.ModuleList()
        self.droppable: list[bool] = []
        for name, index in edges:
            stride = 2 if reduction and index < 2 else 1
            self.ops.append(make_op(name, c, stride, True))
            self.droppable.append(not (name == IDENTITY_OP and stride == 1))
        self._drop = drop

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        prob = self._drop.prob if self.training else 0.0
        for i in range(len(self.ops) // 2):
            total = None
            for j in (2 * i, 2 * i + 1):
                h = self.ops[j](states[self.inputs[j]])
                if prob > 0.0 and self.droppable[j]:
                    h = drop_path(h, prob, self._drop.generator)
                total = h if total is None else total + h
            states.append(total)
        return torch.cat([states[i] for i in self.concat], dim=1)


class AuxiliaryHead(nn.Module):
    """DARTS's auxiliary classifier: ReLU, 5x5 avg-pool, 1x1 conv to 128, 2x2 conv to 768, linear.

    ``pool_stride`` is 3 on CIFAR (8x8 input) and 2 on ImageNet (7x7 input); both give 2x2 maps. For maps
    smaller than 5x5 (tiny CPU-scale inputs) the pool is adaptive to 2x2; a final adaptive pool to 1x1 is
    a no-op at the published sizes and lets the head take any input of at least 2x2.
    """

    def __init__(self, c: int, num_classes: int, pool_stride: int, bn_after_768: bool) -> None:
        super().__init__()
        self.pool = nn.AvgPool2d(5, stride=pool_stride, padding=0, count_include_pad=False)
        self.small_pool = nn.AdaptiveAvgPool2d(2)
        layers: list[nn.Module] = [
            nn.Conv2d(c, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(inplace=True),
            nn.Conv2d(128, 768, 2, bias=False),
        ]
        if bn_after_768:
            layers.append(nn.BatchNorm2d(768))
        layers.append(nn.ReLU(inplace=True))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(x)
        x = self.pool(x) if min(x.shape[-2:]) >= 5 else self.small_pool(x)
        x = nn.functional.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(x.flatten(1))


class _CifarStem(nn.Module):
    multiplier = 3  # the stem's output has 3C channels
    reduction_prev = False
    aux_pool_stride = 3
    aux_bn = True

    def __init__(self, in_channels: int, c: int) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, 3 * c, 3, padding=1, bias=False), nn.BatchNorm2d(3 * c))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.stem(x)
        return s, s


class _ImageNetStem(nn.Module):
    multiplier = 1
    reduction_prev = True  # stem0 -> stem1 halves the resolution, so cell 0 reduces its first input
    aux_pool_stride = 2
    aux_bn = False  # the DARTS ImageNet head has no BN after its 768-channel conv

    def __init__(self, in_channels: int, c: int) -> None:
        super().__init__()
        self.stem0 = nn.Sequential(
            nn.Conv2d(in_channels, c // 2, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c // 2),
            nn.ReLU(inplace=True),
            nn.Conv2d(c // 2, c, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c),
        )
        self.stem1 = nn.Sequential(
            nn.ReLU(inplace=True), nn.Conv2d(c, c, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c),
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s0 = self.stem0(x)
        return s0, self.stem1(s0)


NETWORK_STEMS: Registry[type[nn.Module]] = Registry("DARTS network stem")
NETWORK_STEMS.add("cifar", _CifarStem)
NETWORK_STEMS.add("imagenet", _ImageNetStem)


def reduction_layers(layers: int) -> tuple[int, int]:
    """Indices of the two reduction cells (at 1/3 and 2/3 of the depth); the aux head follows the second."""
    return layers // 3, 2 * layers // 3


class DartsNetwork(nn.Module):
    """NetworkCIFAR (``stem="cifar"``) or NetworkImageNet (``stem="imagenet"``) of one genotype."""

    def __init__(self, genotype: Any, cfg: EvalNetworkConfig, num_classes: int, in_channels: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.drop = DropPath()
        c = cfg.C
        self.stem = NETWORK_STEMS.get(cfg.stem)(in_channels, c)
        c_pp = c_p = self.stem.multiplier * c
        c_curr, reduction_prev = c, self.stem.reduction_prev
        reductions = reduction_layers(cfg.layers)
        self.aux_after = reductions[1]
        self.cells = nn.ModuleList()
        c_aux = c_p
        for i in range(cfg.layers):
            reduction = i in reductions
            if reduction:
                c_curr *= 2
            edges, concat = (genotype.reduce, genotype.reduce_concat) if reduction else (
                genotype.normal, genotype.normal_concat)
            cell = EvalCell(list(edges), tuple(concat), c_pp, c_p, c_curr, reduction, reduction_prev, self.drop)
            self.cells.append(cell)
            reduction_prev = reduction
            c_pp, c_p = c_p, cell.multiplier * c_curr
            if i == self.aux_after:
                c_aux = c_p
        self.auxiliary = (
            AuxiliaryHead(c_aux, num_classes, self.stem.aux_pool_stride, self.stem.aux_bn) if cfg.auxiliary else None
        )
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, num_classes)

    def set_drop_path(self, prob: float, generator: torch.Generator | None) -> None:
        self.drop.prob = float(prob)
        self.drop.generator = generator

    def forward_with_aux(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(logits, aux_logits)``; ``aux_logits`` is None in eval mode or without an auxiliary head."""
        s0, s1 = self.stem(x)
        aux = None
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1)
            if i == self.aux_after and self.auxiliary is not None and self.training:
                aux = self.auxiliary(s1)
        logits = self.classifier(self.global_pooling(s1).flatten(1))
        return logits, aux

    def forward(self, x: torch.Tensor, with_aux: bool = False) -> Any:
        """Logits; with ``with_aux`` the pair of :meth:`forward_with_aux` (a keyword DDP passes through)."""
        out = self.forward_with_aux(x)
        return out if with_aux else out[0]


def count_params_m(network: nn.Module, exclude_prefix: str = AUX_PREFIX) -> float:
    """Parameters in millions, without the auxiliary head (as DARTS-space papers print them)."""
    total = sum(p.numel() for name, p in network.named_parameters() if not name.startswith(exclude_prefix))
    return total / 1e6


def darts_network(genotype: Any, cfg: EvalNetworkConfig, num_classes: int, in_channels: int) -> DartsNetwork:
    """The ``NETWORKS`` factory for the DARTS space."""
    return DartsNetwork(genotype, cfg, num_classes, in_channels)
