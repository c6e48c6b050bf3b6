"""Candidate operations of the DARTS CNN space, by name.

Each factory takes ``(C, stride, affine)`` and returns a module mapping ``C`` channels to ``C`` channels
(spatial size halved when ``stride == 2``), following the DARTS reference (Liu et al., ICLR 2019):

- convolutions are ReLU -> conv -> BN; a separable conv is (depthwise k x k, pointwise 1x1, BN) applied
  twice, the first one carrying the stride; a dilated conv is one depthwise k x k with dilation 2, a
  pointwise 1x1 and BN;
- ``skip_connect`` is the identity at stride 1 and a factorized reduce (two 1x1 stride-2 convs on grids
  offset by one pixel, concatenated, then BN) at stride 2;
- ``avg_pool_3x3`` does not count the zero padding; pools carry no BN here. The search supernet puts a
  ``BatchNorm2d(C, affine=False)`` after every pool (see :func:`search_op`), as the reference's MixedOp
  does; discrete networks use the bare pools.
- ``none`` is a zero tensor of the output's shape.

Spatial sizes must be even for stride-2 ops only through :class:`FactorizedReduce`, which pads so that odd
sizes also work (identical to the reference's output for even sizes).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from balenas.ops import ReLUConvBN  # ReLU -> k x k conv (no bias) -> BN, shared with NB201
from balenas.pooling import AvgPool3x3
from balenas.registry import Registry
from balenas.spaces.darts.genotype import DARTS_OPS

DartsOpFactory = Callable[[int, int, bool], nn.Module]
DARTS_OP_FACTORIES: Registry[DartsOpFactory] = Registry("darts op")



class DilConv(nn.Sequential):
    """ReLU -> depthwise k x k dilated conv -> pointwise 1x1 conv -> BN."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel: int,
        stride: int,
        padding: int,
        dilation: int,
        affine: bool = True,
        track: bool = True,
    ) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(
                c_in, c_in, kernel, stride=stride, padding=padding, dilation=dilation, groups=c_in, bias=False
            ),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out, affine=affine, track_running_stats=track),
        )

    def after_relu(self, r: torch.Tensor) -> torch.Tensor:
        """The output given ``r``, the ReLU of the input (the search supernet shares that ReLU)."""
        for m in list(self)[1:]:
            r = m(r)
        return r


class SepConv(nn.Sequential):
    """Two dilation-1 :class:`DilConv` blocks; only the first carries the stride, the first keeps ``c_in``."""

    def __init__(
        self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, affine: bool = True, track: bool = True
    ) -> None:
        super().__init__(
            DilConv(c_in, c_in, kernel, stride, padding, 1, affine, track),
            DilConv(c_in, c_out, kernel, 1, padding, 1, affine, track),
        )

    def after_relu(self, r: torch.Tensor) -> torch.Tensor:
        """The output given ``r``, the ReLU of the input."""
        first, second = self
        return second(first.after_relu(r))


class FactorizedReduce(nn.Module):
    """Halve the spatial size without losing half the pixels: two 1x1 stride-2 convs on offset grids."""

    def __init__(self, c_in: int, c_out: int, affine: bool = True, track: bool = True) -> None:
        super().__init__()
        if c_out % 2:
            raise ValueError(f"FactorizedReduce needs an even number of output channels, got {c_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=affine, track_running_stats=track)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.after_relu(self.relu(x))

    def after_relu(self, r: torch.Tensor) -> torch.Tensor:
        """The output given ``r``, the ReLU of the input."""
        # The second grid starts one pixel right and down; zero-pad so odd sizes give the same shape.
        shifted = nn.functional.pad(r, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.conv_1(r), self.conv_2(shifted)], dim=1))


#: The ops whose first step is a ReLU of their input; ``op.after_relu(relu(x))`` is ``op(x)``.
RELU_FIRST_OPS: tuple[type[nn.Module], ...] = (DilConv, SepConv, FactorizedReduce)


class Zero(nn.Module):
    """The ``none`` op: zeros of the output's shape (strided like the other ops)."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            return x.mul(0.0)
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)


def _check(c: int, stride: int) -> None:
    if c < 1 or stride not in (1, 2):
        raise ValueError(f"DARTS ops need C >= 1 and stride 1 or 2, got C={c}, stride={stride}")


def _register(name: str) -> Callable[[DartsOpFactory], DartsOpFactory]:
    def deco(factory: DartsOpFactory) -> DartsOpFactory:
        def checked(c: int, stride: int, affine: bool) -> nn.Module:
            _check(c, stride)
            return factory(c, stride, affine)

        checked.__doc__ = factory.__doc__
        DARTS_OP_FACTORIES.add(name, checked)
        return factory

    return deco


@_register("none")
def _none(c: int, stride: int, affine: bool) -> nn.Module:
    return Zero(stride)


@_register("max_pool_3x3")
def _max_pool(c: int, stride: int, affine: bool) -> nn.Module:
    return nn.MaxPool2d(3, stride=stride, padding=1)


@_register("avg_pool_3x3")
def _avg_pool(c: int, stride: int, affine: bool) -> nn.Module:
    return AvgPool3x3(stride)  # nn.AvgPool2d(3, stride, 1, count_include_pad=False), faster on CPU


@_register("skip_connect")
def _skip(c: int, stride: int, affine: bool) -> nn.Module:
    return nn.Identity() if stride == 1 else FactorizedReduce(c, c, affine)


@_register("sep_conv_3x3")
def _sep3(c: int, stride: int, affine: bool) -> nn.Module:
    return SepConv(c, c, 3, stride, 1, affine)


@_register("sep_conv_5x5")
def _sep5(c: int, stride: int, affine: bool) -> nn.Module:
    return SepConv(c, c, 5, stride, 2, affine)


@_register("dil_conv_3x3")
def _dil3(c: int, stride: int, affine: bool) -> nn.Module:
    return DilConv(c, c, 3, stride, 2, 2, affine)


@_register("dil_conv_5x5")
def _dil5(c: int, stride: int, affine: bool) -> nn.Module:
    return DilConv(c, c, 5, stride, 4, 2, affine)


def make_op(name: str, c: int, stride: int, affine: bool) -> nn.Module:
    """The op ``name`` on ``c`` channels (unknown names list the valid ones)."""
    return DARTS_OP_FACTORIES[name](c, stride, affine)


def search_op(name: str, c: int, stride: int) -> nn.Module:
    """The op as the search supernet holds it: BN without affine, and a BN(affine=False) after pools."""
    op = make_op(name, c, stride, affine=False)
    if "pool" in name:
        return nn.Sequential(op, nn.BatchNorm2d(c, affine=False))
    return op


assert tuple(DARTS_OP_FACTORIES.keys()) == tuple(sorted(DARTS_OPS)), "every DARTS op needs a factory"

__all__ = [
    "DARTS_OPS",
    "DARTS_OP_FACTORIES",
    "DilConv",
    "FactorizedReduce",
    "RELU_FIRST_OPS",
    "ReLUConvBN",
    "SepConv",
    "Zero",
    "make_op",
    "search_op",
]
