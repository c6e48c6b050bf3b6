"""NAS-Bench-201 networks: the weight-sharing supernet and the discrete network of one genotype.

Macro structure (the NAS-Bench-201 reference): 3x3 conv stem + BN, three stages of ``N`` cells with
``C``, ``2C`` and ``4C`` channels, a residual reduction block between stages, BN-ReLU, global average
pooling and a linear classifier. The supernet's cells hold every op on every edge and mix them with
weights passed in from outside: the network never knows which search method produces them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from balenas.ops import OPS, ResNetBasicBlock
from balenas.spaces.base import Genotype
from balenas.spaces.nb201 import NB201_EDGES, NB201_OPS, NB201Config, NB201Space


class NB201Cell(nn.Module):
    """A 4-node cell; edge ``e`` holds the ops ``edge_ops[e]`` (all of them in the supernet)."""

    def __init__(self, channels: int, edge_ops: Sequence[Sequence[str]], affine: bool, track: bool) -> None:
        super().__init__()
        if len(edge_ops) != len(NB201_EDGES):
            raise ValueError(f"NB201 cell needs ops for {len(NB201_EDGES)} edges, got {len(edge_ops)}")
        self.edge_op_names = [tuple(ops) for ops in edge_ops]
        self.edges = nn.ModuleList(
            nn.ModuleList(OPS[name](channels, channels, 1, affine, track) for name in ops) for ops in edge_ops
        )
        self._targets = [NB201Space.edge_nodes(e) for e in NB201_EDGES]

    def forward(self, x: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        nodes: list[torch.Tensor] = [x]
        for node in range(1, 4):
            total: torch.Tensor | None = None
            for e, (dst, src) in enumerate(self._targets):
                if dst != node:
                    continue
                out = self._edge(e, nodes[src], None if weights is None else weights[e])
                total = out if total is None else total + out
            assert total is not None
            nodes.append(total)
        return nodes[-1]

    def _edge(self, e: int, x: torch.Tensor, w: torch.Tensor | None) -> torch.Tensor:
        ops = self.edges[e]
        names = self.edge_op_names[e]
        if w is None:
            # The plain sum of the ops (a discrete network has one per edge): no zero tensor to start from,
            # whose addition cost a pass over the activations and changed nothing but the sign of a zero.
            total = ops[0](x)
            for op in ops[1:]:
                total = total + op(x)
            return total
        out: torch.Tensor | None = None
        for k, (name, op) in enumerate(zip(names, ops)):
            if name == "none":  # contributes w * 0; its gradient w.r.t. w is exactly 0 as well
                continue
            term = w[k] * op(x)
            out = term if out is None else out + term
        return out if out is not None else x.mul(0.0) * w.sum()


class NB201Network(nn.Module):
    """Shared macro skeleton; ``edge_ops`` decides supernet (all ops per edge) or discrete network."""

    def __init__(
        self,
        edge_ops: Sequence[Sequence[str]],
        channels: int = 16,
        cells_per_stage: int = 5,
        num_classes: int = 10,
        in_channels: int = 3,
        affine: bool = True,
        track_running_stats: bool = True,
    ) -> None:
        super().__init__()
        if channels < 1 or cells_per_stage < 1:
            raise ValueError(f"channels and cells_per_stage must be >= 1, got {channels}, {cells_per_stage}")
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels)
        )
        layers: list[nn.Module] = []
        c_prev = channels
        for stage in range(3):
            c = channels * 2**stage
            if stage > 0:
                layers.append(ResNetBasicBlock(c_prev, c, 2))
            layers.extend(NB201Cell(c, edge_ops, affine, track_running_stats) for _ in range(cells_per_stage))
            c_prev = c
        self.cells = nn.ModuleList(layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=False))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(
        self, x: torch.Tensor, weights: Mapping[str, torch.Tensor] | torch.Tensor | None = None
    ) -> torch.Tensor:
        """Logits; ``weights`` are the mixing weights ``{"cell": (6, 5)}`` (or that tensor), none for a
        discrete network."""
        if isinstance(weights, Mapping):
            weights = weights[NB201Space.group]
        x = self.stem(x)
        for layer in self.cells:
            x = layer(x, weights) if isinstance(layer, NB201Cell) else layer(x)
        x = self.pool(self.lastact(x)).flatten(1)
        return self.classifier(x)


def nb201_supernet(cfg: NB201Config, num_classes: int, in_channels: int = 3) -> NB201Network:
    """The search network: every op on every edge; BN without affine or running statistics."""
    return NB201Network(
        [NB201_OPS] * len(NB201_EDGES),
        cfg.channels,
        cfg.cells_per_stage,
        num_classes,
        in_channels,
        affine=False,
        track_running_stats=False,
    )


def nb201_network(
    genotype: Genotype, cfg: NB201Config = NB201Config(), num_classes: int = 10, in_channels: int = 3
) -> NB201Network:
    """The discrete network of one genotype, as the benchmark trains it (affine BN, running stats)."""
    if genotype.space != "nb201":
        raise ValueError(f"expected an nb201 genotype, got space {genotype.space!r}")
    return NB201Network(
        [[op] for op in genotype.ops], cfg.channels, cfg.cells_per_stage, num_classes, in_channels
    )
