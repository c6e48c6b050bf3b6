"""The project's DARTS supernet against a plain one, side by side in one process.

The plain version below is written from the DARTS paper's description: every candidate op (``none``
included) is its own module on every edge and the edge output is ``sum_k w_k * op_k(x)``, the way the
DARTS reference's search model computes it; the factorized reduce slices without padding, as the
reference does. Both networks get the same weights (copied in registration order, shapes checked) and the
same mixing weights; the script reports the parameter counts, the max abs logit difference (goal
<= 1e-4) and forward+backward times (interleaved repeats, medians, ratio project / plain; goal <= 1), and the
same for the project's fast supernet (``search.speed.supernet: fast``, ReLU and BN(pool) shared by the
out-edges of a state; same weights).

    PYTHONPATH=src python bench/bench_darts_supernet.py [--C 16] [--layers 8] [--size 32] [--batch 64]
        [--repeats 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from balenas.spaces.darts import DARTS_OPS, DartsModelConfig  # noqa: E402
from balenas.supernets.darts import darts_supernet  # noqa: E402
from balenas.supernets.darts_fast import darts_fast_supernet  # noqa: E402

# ---------------------------------------------------------------- the plain version ----------------


def _rcb(ci: int, co: int, k: int, s: int, p: int) -> nn.Module:
    return nn.Sequential(nn.ReLU(), nn.Conv2d(ci, co, k, s, p, bias=False), nn.BatchNorm2d(co, affine=False))


def _dw_pw(c: int, k: int, s: int, p: int, d: int) -> list[nn.Module]:
    return [
        nn.ReLU(),
        nn.Conv2d(c, c, k, s, p, dilation=d, groups=c, bias=False),
        nn.Conv2d(c, c, 1, bias=False),
        nn.BatchNorm2d(c, affine=False),
    ]


class PlainSep(nn.Module):
    def __init__(self, c: int, k: int, s: int, p: int) -> None:
        super().__init__()
        self.a = nn.Sequential(*_dw_pw(c, k, s, p, 1))
        self.b = nn.Sequential(*_dw_pw(c, k, 1, p, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(self.a(x))


class PlainFR(nn.Module):
    def __init__(self, ci: int, co: int) -> None:
        super().__init__()
        self.relu = nn.ReLU()
        self.c1 = nn.Conv2d(ci, co // 2, 1, 2, bias=False)
        self.c2 = nn.Conv2d(ci, co // 2, 1, 2, bias=False)
        self.bn = nn.BatchNorm2d(co, affine=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        return self.bn(torch.cat([self.c1(x), self.c2(x[:, :, 1:, 1:])], 1))


class PlainZero(nn.Module):
    def __init__(self, s: int) -> None:
        super().__init__()
        self.s = s

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, :: self.s, :: self.s] * 0.0


def plain_op(name: str, c: int, s: int) -> nn.Module:
    bn = nn.BatchNorm2d(c, affine=False)
    table = {
        "none": lambda: PlainZero(s),
        "max_pool_3x3": lambda: nn.Sequential(nn.MaxPool2d(3, s, 1), bn),
        "avg_pool_3x3": lambda: nn.Sequential(nn.AvgPool2d(3, s, 1, count_include_pad=False), bn),
        "skip_connect": lambda: nn.Identity() if s == 1 else PlainFR(c, c),
        "sep_conv_3x3": lambda: PlainSep(c, 3, s, 1),
        "sep_conv_5x5": lambda: PlainSep(c, 5, s, 2),
        "dil_conv_3x3": lambda: nn.Sequential(*_dw_pw(c, 3, s, 2, 2)),
        "dil_conv_5x5": lambda: nn.Sequential(*_dw_pw(c, 5, s, 4, 2)),
    }
    return table[name]()


class PlainMixed(nn.Module):
    def __init__(self, c: int, s: int) -> None:
        super().__init__()
        self.ops = nn.ModuleList(plain_op(n, c, s) for n in DARTS_OPS)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return sum(wk * op(x) for wk, op in zip(w, self.ops))


class PlainCell(nn.Module):
    def __init__(self, cpp: int, cp: int, c: int, red: bool, red_prev: bool) -> None:
        super().__init__()
        self.red = red
        self.p0 = PlainFR(cpp, c) if red_prev else _rcb(cpp, c, 1, 1, 0)
        self.p1 = _rcb(cp, c, 1, 1, 0)
        self.mixed = nn.ModuleList(PlainMixed(c, 2 if red and j < 2 else 1) for i in range(4) for j in range(i + 2))

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        st = [self.p0(s0), self.p1(s1)]
        off = 0
        for _ in range(4):
            st.append(sum(self.mixed[off + j](h, w[off + j]) for j, h in enumerate(st)))
            off += len(st) - 1
        return torch.cat(st[-4:], 1)


class PlainNet(nn.Module):
    def __init__(self, c: int, layers: int, classes: int) -> None:
        super().__init__()
        cc = 3 * c
        self.stem = nn.Sequential(nn.Conv2d(3, cc, 3, padding=1, bias=False), nn.BatchNorm2d(cc))
        cpp, cp, cc = cc, cc, c
        self.cells = nn.ModuleList()
        rp = False
        for i in range(layers):
            red = i in (layers // 3, 2 * layers // 3)
            if red:
                cc *= 2
            self.cells.append(PlainCell(cpp, cp, cc, red, rp))
            rp = red
            cpp, cp = cp, 4 * cc
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cp, classes)

    def forward(self, x: torch.Tensor, wn: torch.Tensor, wr: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, wr if cell.red else wn)
        return self.fc(self.gap(s1).flatten(1))


# ---------------------------------------------------------------- comparison -----------------------


def copy_weights(src: nn.Module, dst: nn.Module) -> None:
    """Copy parameters and buffers in registration order; every shape must agree."""
    a, b = list(src.state_dict().values()), list(dst.state_dict().values())
    if len(a) != len(b):
        raise SystemExit(f"state dicts differ in length: {len(a)} vs {len(b)}")
    with torch.no_grad():
        for x, y in zip(a, b):
            if x.shape != y.shape:
                raise SystemExit(f"shape mismatch {tuple(x.shape)} vs {tuple(y.shape)}")
            y.copy_(x)


def fwd_bwd(fn, params: list[torch.Tensor]) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    loss = fn().logsumexp(1).mean()
    torch.autograd.grad(loss, params)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--C", type=int, default=16)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    ours = darts_supernet(DartsModelConfig(C=args.C, layers=args.layers), args.classes)
    plain = PlainNet(args.C, args.layers, args.classes)
    copy_weights(ours, plain)
    fast = darts_fast_supernet(DartsModelConfig(C=args.C, layers=args.layers), args.classes)
    fast.load_state_dict(ours.state_dict())
    n_ours = sum(p.numel() for p in ours.parameters())
    n_plain = sum(p.numel() for p in plain.parameters())
    x = torch.randn(args.batch, 3, args.size, args.size)
    alpha = {g: (1e-3 * torch.randn(14, len(DARTS_OPS))).requires_grad_() for g in ("normal", "reduce")}
    w = {g: torch.softmax(a, -1) for g, a in alpha.items()}
    with torch.no_grad():
        ref = plain(x, w["normal"], w["reduce"])
        diff = (ours(x, w) - ref).abs().max().item()
        diff_fast = (fast(x, w) - ref).abs().max().item()
    runs = {
        "project": (lambda: ours(x, {g: torch.softmax(a, -1) for g, a in alpha.items()}),
                    [*ours.parameters(), *alpha.values()]),
        "fast": (lambda: fast(x, {g: torch.softmax(a, -1) for g, a in alpha.items()}),
                 [*fast.parameters(), *alpha.values()]),
        "plain": (lambda: plain(x, torch.softmax(alpha["normal"], -1), torch.softmax(alpha["reduce"], -1)),
                  [*plain.parameters(), *alpha.values()]),
    }
    for fn, params in runs.values():
        fwd_bwd(fn, params)  # warm-up
    times: dict[str, list[float]] = {k: [] for k in runs}
    names = list(runs)
    for r in range(args.repeats):
        for k in names[r % 3:] + names[: r % 3]:  # rotating the order
            times[k].append(fwd_bwd(*runs[k]))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"DARTS supernet C={args.C} layers={args.layers} {args.size}x{args.size} batch {args.batch} "
          f"{args.classes} classes, {args.threads} threads, torch {torch.__version__}")
    print(f"parameters: project {n_ours} ({n_ours / 1e6:.6f} M), plain {n_plain} ({n_plain / 1e6:.6f} M)")
    print(f"max abs logit difference: {diff:.3e} (goal <= 1e-4); fast supernet: {diff_fast:.3e}")
    for k in runs:
        print(f"{k:8s} forward+backward: median {med[k]:.3f} s  runs {['%.3f' % t for t in times[k]]}")
    print(f"ratio project / plain: {med['project'] / med['plain']:.3f} (goal <= 1)")
    print(f"ratio fast / plain: {med['fast'] / med['plain']:.3f}; fast / project: {med['fast'] / med['project']:.3f}")


if __name__ == "__main__":
    main()
