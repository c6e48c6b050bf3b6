"""3x3 average pooling (padding 1, ``count_include_pad=False``) with ``avg_pool2d``'s values, to the bit, faster
on the CPU.

Both search spaces pool this way (NB201's and DARTS' ``avg_pool_3x3``). The CPU kernel of ``avg_pool2d`` for a
contiguous (NCHW) tensor sums each output's window in row-major order starting from 0, divides the sum by the
number of in-bounds inputs, and in its backward adds each output's gradient divided by that count to every
input of its window, going over the outputs in row-major order. It does this one scalar at a time.
:class:`_BoxMean` does the same additions in the same order as nine shifted in-place adds over whole planes
(which vectorise), then the same division, and its
backward (:class:`_BoxMeanAdjoint`) the same divisions and then the nine shifted adds in the kernel's order
(for input ``i``, outputs ``i-1``, ``i``, ``i+1`` along each axis: window offsets 2, 1, 0). Forward,
backward, double backward (each is the other's adjoint) and forward-mode derivatives are bit-identical to
``avg_pool2d``'s (``tests/test_pooling.py``); forward and backward take 0.3-0.45x its time on planes of
16x16 and 32x32 (``bench/bench_pooling.py``).

:class:`AvgPool3x3` takes this path for contiguous float tensors on the CPU at stride 1, at least
:data:`MIN_WIDTH` wide, outside ``torch.func`` transforms, and calls ``avg_pool2d`` otherwise (stride 2,
narrow planes, CUDA, channels_last, the forward-mode Hessian's ``vmap``), so nothing changes there either.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

_COUNTS: dict[tuple[int, int, torch.dtype, torch.device], torch.Tensor] = {}
_KERNEL_ONLY = False  # set by avg_pool2d_only()
#: Narrowest planes taken by :class:`_BoxMean`: its shifted adds run along rows, and on rows of 8 or fewer
#: the scalar kernel is as fast or faster (``bench/bench_pooling.py``: 0.9x at 8x8, 2.1x at 4x4).
MIN_WIDTH = 16


def _counts(h: int, w: int, like: torch.Tensor) -> torch.Tensor:
    """(h, w) in-bounds inputs of each output's 3x3 window (padding 1, stride 1), as ``like``'s dtype."""
    key = (h, w, like.dtype, like.device)
    if key not in _COUNTS:
        rows = torch.full((h,), 3.0, dtype=like.dtype, device=like.device)
        cols = torch.full((w,), 3.0, dtype=like.dtype, device=like.device)
        for axis, n in ((rows, h), (cols, w)):
            if n == 1:
                axis.fill_(1.0)
            else:
                axis[0] -= 1.0
                axis[-1] -= 1.0
        _COUNTS[key] = rows[:, None] * cols[None, :]  # products of small integers: exact
    return _COUNTS[key]


def box_mean(x: torch.Tensor) -> torch.Tensor:
    """``avg_pool2d(x, 3, 1, 1, count_include_pad=False)`` by the CPU kernel's arithmetic (no autograd)."""
    h, w = x.shape[-2:]
    padded = F.pad(x, (1, 1, 1, 1))
    total = padded[..., 0:h, 0:w] + 0.0  # the kernel's sum starts at +0 (-0 + 0 = +0, like its 0 + x)
    for kh in range(3):
        for kw in range(3):
            if kh or kw:
                total += padded[..., kh : kh + h, kw : kw + w]
    return total.div_(_counts(h, w, x))


def box_mean_adjoint(g: torch.Tensor) -> torch.Tensor:
    """The backward of :func:`box_mean` (``avg_pool2d_backward``'s arithmetic): ``g / count`` added to each
    output's window, the outputs in row-major order."""
    h, w = g.shape[-2:]
    share = g / _counts(h, w, g)
    acc = g.new_zeros(*g.shape[:-2], h + 2, w + 2)
    for kh in (2, 1, 0):
        for kw in (2, 1, 0):
            acc[..., kh : kh + h, kw : kw + w] += share
    return acc[..., 1 : h + 1, 1 : w + 1].contiguous()


class _BoxMean(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        return box_mean(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        return _BoxMeanAdjoint.apply(grad.contiguous())

    @staticmethod
    def jvp(ctx: Any, tangent: torch.Tensor) -> torch.Tensor:
        return box_mean(tangent.contiguous())


class _BoxMeanAdjoint(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        return box_mean_adjoint(grad)

    @staticmethod
    def backward(ctx: Any, grad_grad: torch.Tensor) -> torch.Tensor:
        return _BoxMean.apply(grad_grad.contiguous())

    @staticmethod
    def jvp(ctx: Any, tangent: torch.Tensor) -> torch.Tensor:
        return box_mean_adjoint(tangent.contiguous())


@contextmanager
def avg_pool2d_only() -> Iterator[None]:
    """Inside, :class:`AvgPool3x3` calls ``avg_pool2d`` everywhere (to compare with it: ``bench/bench_pooling.py``)."""
    global _KERNEL_ONLY
    before, _KERNEL_ONLY = _KERNEL_ONLY, True
    try:
        yield
    finally:
        _KERNEL_ONLY = before


def exact_path(x: torch.Tensor) -> bool:
    """Whether :class:`AvgPool3x3` (stride 1) runs :class:`_BoxMean` on ``x`` instead of ``avg_pool2d``."""
    return (
        not _KERNEL_ONLY
        and x.device.type == "cpu"
        and x.dtype in (torch.float32, torch.float64)
        and x.dim() == 4
        and x.shape[-1] >= MIN_WIDTH
        and x.is_contiguous()
        and not torch._C._functorch.is_functorch_wrapped_tensor(x)
    )


class AvgPool3x3(nn.Module):
    """``nn.AvgPool2d(3, stride, padding=1, count_include_pad=False)``, the same values (module docstring)."""

    def __init__(self, stride: int = 1) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1 and exact_path(x):
            return _BoxMean.apply(x)
        return F.avg_pool2d(x, 3, stride=self.stride, padding=1, count_include_pad=False)

    def extra_repr(self) -> str:
        return f"stride={self.stride}"
