"""``balenas.pooling.AvgPool3x3`` against ``avg_pool2d`` (the reference kernel), in one process on the CPU.

Two parts, each interleaved (the two take turns, repeat after repeat) with medians and the ratio:

1. the module alone, forward and backward, at the sizes NB201 searches pool (16x16 planes of the default
   config's 8 channels, and the paper's 16/32/64 channels at 32/16/8; the 8x8 planes are narrower than
   ``MIN_WIDTH`` and take ``avg_pool2d`` itself), checking that the values are the same bits;
2. whole search epochs of the default config's NB201 supernet (C=8, one cell per stage, 16x16, batch 64),
   DARTS first order unless ``--order 2``, once with ``AvgPool3x3`` and once under
   ``balenas.pooling.avg_pool2d_only()``, checking that the two epochs end with the same architecture
   parameters and loss, to the bit.

    PYTHONPATH=src python3 bench/bench_pooling.py --threads 1 --repeats 5
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from _setup import add_size_args, paper_search_config, random_halves

from balenas.pooling import AvgPool3x3, avg_pool2d_only
from balenas.search import build_state, run_epoch
from balenas.spaces import get_space

OP_SHAPES = [(64, 8, 16, 16), (64, 16, 32, 32), (64, 32, 16, 16), (64, 64, 8, 8)]


def _mean_ms(fn: Callable[[], object], inner: int) -> float:
    """Milliseconds per call of ``fn`` over ``inner`` calls in a row."""
    start = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - start) / inner * 1e3


def op_rows(repeats: int) -> None:
    pool = AvgPool3x3(1)
    print(f"{'shape':>20} {'fwd avg_pool2d':>15} {'fwd ours':>9} {'ratio':>6} {'bwd avg_pool2d':>15} {'bwd ours':>9} "
          f"{'ratio':>6}  same bits")
    for shape in OP_SHAPES:
        x = torch.randn(*shape, requires_grad=True)
        g = torch.randn(*shape)

        def fwd_ref() -> torch.Tensor:
            return F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)

        def bwd_ref() -> torch.Tensor:
            return torch.autograd.grad(fwd_ref(), x, g)[0]

        def bwd_ours() -> torch.Tensor:
            return torch.autograd.grad(pool(x), x, g)[0]

        same = torch.equal(pool(x), fwd_ref()) and torch.equal(bwd_ours(), bwd_ref())
        cells = {}
        for _ in range(repeats):  # interleaved
            for name, fn in (("fr", fwd_ref), ("fo", lambda: pool(x)), ("br", bwd_ref), ("bo", bwd_ours)):
                cells.setdefault(name, []).append(_mean_ms(fn, 20))
        m = {k: statistics.median(v) for k, v in cells.items()}
        print(f"{str(shape):>20} {m['fr']:12.3f} ms {m['fo']:6.3f} ms {m['fo'] / m['fr']:6.2f} {m['br']:12.3f} ms "
              f"{m['bo']:6.3f} ms {m['bo'] / m['br']:6.2f}  {same}")


def epoch_rows(args: argparse.Namespace) -> None:
    w_half, a_half, dcfg = random_halves(args)
    space = get_space("nb201")
    cfg = paper_search_config("darts", args.order, args)
    cfg = dataclasses.replace(cfg, speed=dataclasses.replace(cfg.speed, supernet="plain"))
    states = {}
    for name in ("avg_pool2d", "ours"):
        torch.manual_seed(0)
        states[name] = build_state(cfg, space, 10, 3, len(a_half), torch.device("cpu"))
    times: dict[str, list[float]] = {name: [] for name in states}
    results: dict[str, list] = {name: [] for name in states}
    for r in range(args.repeats + 1):  # round 0: warm-up
        for name in (("avg_pool2d", "ours") if r % 2 == 0 else ("ours", "avg_pool2d")):
            start = time.perf_counter()
            if name == "avg_pool2d":
                with avg_pool2d_only():
                    stats = run_epoch(cfg, states[name], r, w_half, a_half, dcfg)
            else:
                stats = run_epoch(cfg, states[name], r, w_half, a_half, dcfg)
            if r:
                times[name].append(time.perf_counter() - start)
            results[name].append((stats["train_loss"],
                                  {k: v.detach().clone() for k, v in states[name].dist.state_dict().items()}))
    same = all(
        a[0] == b[0] and all(torch.equal(a[1][k], b[1][k]) for k in a[1])
        for a, b in zip(results["avg_pool2d"], results["ours"])
    )
    ref, ours = statistics.median(times["avg_pool2d"]), statistics.median(times["ours"])
    print(f"NB201 DARTS order {args.order} search epoch, C={args.channels} N={args.cells} {args.size}x{args.size} "
          f"batch {args.batch}, {args.steps} steps: avg_pool2d {ref:.3f} s, ours {ours:.3f} s, ratio {ours / ref:.3f}; "
          f"same architecture parameters and losses after every epoch: {same}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_size_args(ap, steps=10)
    ap.set_defaults(threads=1, channels=8, cells=1, size=16, repeats=5)
    ap.add_argument("--order", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), {args.repeats} interleaved repeats")
    op_rows(args.repeats)
    epoch_rows(args)


if __name__ == "__main__":
    main()
