"""Time of one second-order search step over one first-order step, in one process.

Both orders run the real search loop (``balenas.search.run_epoch``: one architecture step plus one weight
step) on the same random CIFAR-sized data with the paper's supernet (C=16, N=5, 32x32, batch 64) unless
told otherwise, for one method (DARTS by default; ``--method balenas`` for BaLeNAS). Timed epochs are
interleaved (order 1, order 2, order 2, order 1, ...) so that drifts in machine load hit both alike.
Reports per-step medians and the ratio; DARTS (Liu et al. 2019) reports about 2-3x on a GPU. It also
times the architecture step alone (the estimator call), where the extra work lives, and optionally the
exact autograd variant of the hypergradient (``--exact``) as a reference.

    python bench/bench_second_order.py [--steps 1] [--repeats 3] [--threads 2] [--method darts] [--exact]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from _setup import add_size_args, paper_search_config, random_halves
from torch import nn

from balenas.archopt.gradients import ArchStepContext, get_estimator
from balenas.archopt.unrolled import unrolled_hypergradient_exact
from balenas.data import ImageSet
from balenas.search import build_state, run_epoch
from balenas.spaces import get_space


def time_arch_step(state, a_half: ImageSet, w_half: ImageSet, batch: int, order: int | str) -> float:
    """Seconds of one architecture-gradient call alone (``order`` 1, 2 or ``"exact"``)."""
    gen = torch.Generator().manual_seed(0)
    idx = torch.randperm(len(a_half), generator=gen)[:batch]
    ctx = ArchStepContext(state.network, state.dist.to_weights, (a_half.x[idx], a_half.y[idx]),
                          (w_half.x[idx], w_half.y[idx]), state.wopt, nn.CrossEntropyLoss())
    alpha = state.dist.sample_alpha(gen)
    t0 = time.perf_counter()
    if order == "exact":
        unrolled_hypergradient_exact(ctx.network, ctx.to_weights, alpha, ctx.train_batch, ctx.val_batch,
                                     ctx.w_optimizer, ctx.criterion)
    else:
        get_estimator(int(order))(ctx, alpha)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_size_args(ap, steps=1)
    ap.add_argument("--method", choices=["darts", "balenas"], default="darts")
    ap.add_argument("--exact", action="store_true", help="also time the exact (autograd) hypergradient")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    w_half, a_half, dcfg = random_halves(args)
    space = get_space("nb201")
    orders = (1, 2)
    states, cfgs = {}, {}
    for order in orders:
        cfgs[order] = paper_search_config(args.method, order, args)
        states[order] = build_state(cfgs[order], space, 10, 3, len(a_half), torch.device("cpu"))
        run_epoch(cfgs[order], states[order], 0, w_half, a_half, dcfg)  # warm-up (and momentum buffers)
    step: dict[int, list[float]] = {o: [] for o in orders}
    arch: dict[int | str, list[float]] = {o: [] for o in (*orders, *(("exact",) if args.exact else ()))}
    for r in range(args.repeats):
        for order in orders if r % 2 == 0 else orders[::-1]:
            t0 = time.perf_counter()
            run_epoch(cfgs[order], states[order], r + 1, w_half, a_half, dcfg)
            step[order].append((time.perf_counter() - t0) / args.steps)
        for key in arch if r % 2 == 0 else list(arch)[::-1]:
            arch[key].append(time_arch_step(states[2], a_half, w_half, args.batch, key))
    med = {o: statistics.median(v) for o, v in step.items()}
    amed = {k: statistics.median(v) for k, v in arch.items()}
    print(f"{args.method}: supernet C={args.channels} N={args.cells} {args.size}x{args.size} batch {args.batch}, "
          f"{args.threads} threads, {args.repeats} repeats x {args.steps} steps, torch {torch.__version__}")
    for o in orders:
        print(f"order {o} search step (arch + weight): median {med[o]:.3f} s  runs {['%.3f' % t for t in step[o]]}")
    for k, v in arch.items():
        print(f"architecture gradient alone, {k!s:>5}: median {amed[k]:.3f} s  runs {['%.3f' % t for t in v]}")
    print(f"ratio search step order 2 / order 1: {med[2] / med[1]:.2f} (DARTS reports ~2-3x on GPU)")
    print(f"ratio architecture gradient order 2 / order 1: {amed[2] / amed[1]:.2f}")
    if args.exact:
        print(f"ratio exact / finite-difference hypergradient: {amed['exact'] / amed[2]:.2f}")


if __name__ == "__main__":
    main()
