"""The NAS-Bench-1Shot1 one-shot model (automl/nasbench-1shot1, ``optimizers/darts/model_search.py``).

A stem conv3x3-bn-relu with ``channels`` outputs feeds ``stacks x cells_per_stack`` cells; before every
stack but the first a 2x2 max-pool (stride 2, padding 1, as the reference) halves the resolution and the
cell width doubles. Every cell reads only the previous cell's output ``s0``:

* choice block ``b`` (node ``b+1``) gets its own 1x1 conv-bn-relu projection of ``s0`` plus the outputs of
  the earlier blocks; with an input group ``in_<node>`` these are weighted by it, otherwise summed;
* the block applies the mixed op: ``sum_k ops[b, k] * op_k(x)`` over maxpool3x3, conv3x3-bn-relu,
  conv1x1-bn-relu (the space's op order);
* the cell output is ``out[0] * proj(s0) + concat_j(out[j] * block_j)`` where ``proj`` is a 1x1
  projection of ``s0`` to ``blocks * C`` channels.

A 1x1 ReLU-conv-BN post-process, global average pooling and a linear classifier follow. Batch norm has no
affine parameters (a search supernet). The weights are mixing weights given from outside per forward,
keyed by the space's groups; the network never normalises them.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from balenas.spaces.base import check_groups
from balenas.spaces.nb1shot1.space import OP_NAMES, SPECS, NB1Shot1ModelConfig, NB1Shot1Space


class ConvBnRelu(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel: int) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel, stride=1, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out, affine=False),
            nn.ReLU(inplace=False),
        )


def _op(name: str, c: int) -> nn.Module:
    builders = {
        "maxpool3x3": lambda: nn.MaxPool2d(3, stride=1, padding=1),
        "conv3x3-bn-relu": lambda: ConvBnRelu(c, c, 3),
        "conv1x1-bn-relu": lambda: ConvBnRelu(c, c, 1),
    }
    return builders[name]()


class MixedOp(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.ops = nn.ModuleList(_op(name, c) for name in OP_NAMES)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        return sum(w * op(x) for w, op in zip(weights, self.ops))


class Cell(nn.Module):
    def __init__(self, space: NB1Shot1Space, c_in: int, c: int) -> None:
        super().__init__()
        self.blocks = space.spec.blocks
        self.input_groups = {node: f"in_{node}" for node in space.spec.choice_nodes}
        self.projections = nn.ModuleList(ConvBnRelu(c_in, c, 1) for _ in range(self.blocks))
        self.output_projection = ConvBnRelu(c_in, c * self.blocks, 1)
        self.mixed = nn.ModuleList(MixedOp(c) for _ in range(self.blocks))

    def forward(self, s0: torch.Tensor, weights: Mapping[str, torch.Tensor]) -> torch.Tensor:
        states: list[torch.Tensor] = []
        for b in range(self.blocks):
            node = b + 1
            inputs = [self.projections[b](s0), *states]
            group = self.input_groups.get(node)
            if group is None:
                x = sum(inputs)
            else:
                x = sum(w * t for w, t in zip(weights[group][0], inputs))
            states.append(self.mixed[b](x, weights["ops"][b]))
        out = weights["out"][0]
        concat = torch.cat([w * t for w, t in zip(out[1:], states)], dim=1)
        return out[0] * self.output_projection(s0) + concat


class NB1Shot1Supernet(nn.Module):
    """``forward(x, weights)`` with ``weights`` the mixing weights of every group of the space."""

    def __init__(self, space: NB1Shot1Space, cfg: NB1Shot1ModelConfig, num_classes: int, in_channels: int) -> None:
        super().__init__()
        self.space = space
        self.groups = dict(space.param_groups)
        blocks = space.spec.blocks
        c = cfg.channels
        self.stem = ConvBnRelu(in_channels, c, 3)
        self.pool_before: set[int] = {k * cfg.cells_per_stack for k in range(1, cfg.stacks)}
        self.cells = nn.ModuleList()
        c_prev, c_in = c, c
        for i in range(cfg.stacks * cfg.cells_per_stack):
            if i in self.pool_before:
                c *= 2
            self.cells.append(Cell(space, c_in, c))
            c_prev, c_in = c, c * blocks
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2, padding=1)
        self.postprocess = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_prev * blocks, c_prev, 1, bias=False),
            nn.BatchNorm2d(c_prev, affine=False),
        )
        self.classifier = nn.Linear(c_prev, num_classes)

    def _check(self, weights: Mapping[str, torch.Tensor]) -> None:
        check_groups(weights, self.groups, f"{self.space.name} mixing weights")

    def forward(self, x: torch.Tensor, weights: Mapping[str, torch.Tensor]) -> torch.Tensor:
        self._check(weights)
        s = self.stem(x)
        for i, cell in enumerate(self.cells):
            if i in self.pool_before:
                s = self.pool(s)
            s = cell(s, weights)
        s = self.postprocess(s)
        return self.classifier(s.mean(dim=(2, 3)))


def nb1shot1_supernet_factory(space_name: str):
    """``factory(model_cfg, num_classes, in_channels)`` for the space registered as ``space_name``."""
    if space_name not in SPECS:
        raise ValueError(f"unknown NAS-Bench-1Shot1 space {space_name!r}; valid: {', '.join(SPECS)}")

    def factory(model_cfg: NB1Shot1ModelConfig, num_classes: int, in_channels: int) -> NB1Shot1Supernet:
        return NB1Shot1Supernet(NB1Shot1Space(space_name), model_cfg, num_classes, in_channels)

    factory.__name__ = f"nb1shot1_supernet_{space_name[-2:]}"
    return factory
