"""Candidate operations, by name, as in the NAS-Bench-201 reference (conv = ReLU-Conv-BN)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from balenas.pooling import AvgPool3x3
from balenas.registry import Registry

OpFactory = Callable[[int, int, int, bool, bool], nn.Module]
OPS: Registry[OpFactory] = Registry("op")


class ReLUConvBN(nn.Sequential):
    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel: int,
        stride: int,
        padding: int,
        affine: bool = True,
        track_running_stats: bool = True,
    ) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(c_out, affine=affine, track_running_stats=track_running_stats),
        )


class Zero(nn.Module):
    """The ``none`` op: a zero tensor of the output's shape."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.c_out = c_out
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        if x.shape[1] == self.c_out:
            return x.mul(0.0)
        return x.new_zeros(x.shape[0], self.c_out, x.shape[2], x.shape[3])


class Pool(nn.Module):
    """3x3 average pooling (a 1x1 ReLU-Conv-BN first when the channel count changes)."""

    def __init__(self, c_in: int, c_out: int, stride: int, affine: bool, track: bool) -> None:
        super().__init__()
        self.pre = None if c_in == c_out else ReLUConvBN(c_in, c_out, 1, 1, 0, affine, track)
        self.pool = AvgPool3x3(stride)  # nn.AvgPool2d(3, stride, 1, count_include_pad=False), faster on CPU

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x if self.pre is None else self.pre(x))


class FactorizedReduce(nn.Module):
    """Skip connection that changes shape: two strided 1x1 convs on offset grids, concatenated."""

    def __init__(self, c_in: int, c_out: int, stride: int, affine: bool, track: bool) -> None:
        super().__init__()
        if stride != 2 or c_out % 2:
            raise ValueError(f"FactorizedReduce needs stride 2 and an even c_out, got {stride}, {c_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_a = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_b = nn.Conv2d(c_in, c_out - c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=affine, track_running_stats=track)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        y = nn.functional.pad(x, (0, 1, 0, 1))
        return self.bn(torch.cat([self.conv_a(x), self.conv_b(y[:, :, 1:, 1:])], dim=1))


def _skip(c_in: int, c_out: int, stride: int, affine: bool, track: bool) -> nn.Module:
    if stride == 1 and c_in == c_out:
        return nn.Identity()
    return FactorizedReduce(c_in, c_out, stride, affine, track)


OPS.add("none", lambda c_in, c_out, stride, affine, track: Zero(c_in, c_out, stride))
OPS.add("skip_connect", _skip)
OPS.add("nor_conv_1x1", lambda c_in, c_out, s, affine, track: ReLUConvBN(c_in, c_out, 1, s, 0, affine, track))
OPS.add("nor_conv_3x3", lambda c_in, c_out, s, affine, track: ReLUConvBN(c_in, c_out, 3, s, 1, affine, track))
OPS.add("avg_pool_3x3", lambda c_in, c_out, s, affine, track: Pool(c_in, c_out, s, affine, track))


class ResNetBasicBlock(nn.Module):
    """The fixed reduction block between NB201 stages: two 3x3 ReLU-Conv-BN, avg-pool+1x1 shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        if stride == 2:
            self.shortcut: nn.Module = nn.Sequential(
                nn.AvgPool2d(2, stride=2, padding=0), nn.Conv2d(c_in, c_out, 1, bias=False)
            )
        elif c_in != c_out:
            self.shortcut = ReLUConvBN(c_in, c_out, 1, 1, 0)
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.conv_b(self.conv_a(x))
