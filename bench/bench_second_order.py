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
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from balenas.archopt.gradients import ArchStepContext, get_estimator  # noqa: E402
from balenas.archopt.unrolled import unrolled_hypergradient_exact  # noqa: E402
from balenas.data import DataConfig, ImageSet, search_split  # noqa: E402
from balenas.search import SearchConfig, build_state, run_epoch  # noqa: E402
from balenas.spaces import get_space  # noqa: E402

SETTINGS = {
    "darts": {"lr": 3e-4, "betas": (0.5, 0.999), "weight_decay": 1e-3, "init_std": 1e-3},
    "balenas": {"lr": 3e-4, "betas": (0.5, 0.999), "prior_precision": 1.0, "init_precision": 1.0,
                "init_std": 1e-3, "mc_samples": 1, "form": "sqrt", "dataset_size": None},
}


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
    ap.add_argument("--steps", type=int, default=1, help="search steps per timed epoch")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--channels", type=int, default=16)
    ap.add_argument("--cells", type=int, default=5)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--method", choices=sorted(SETTINGS), default="darts")
    ap.add_argument("--exact", action="store_true", help="also time the exact (autograd) hypergradient")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    n = 2 * args.batch * args.steps
    gen = torch.Generator().manual_seed(0)
    data = ImageSet(torch.randn(n, 3, args.size, args.size, generator=gen),
                    torch.randint(10, (n,), generator=gen), 10)
    dcfg = DataConfig("random", "digits", crop_padding=4, flip=True)
    w_half, a_half = search_split(data, 0)
    space = get_space("nb201")
    orders = (1, 2)
    states, cfgs = {}, {}
    for order in orders:
        cfgs[order] = SearchConfig(space="nb201", dataset="random", method=args.method, seed=0,
                                   method_settings=SETTINGS[args.method], order=order, epochs=10,
                                   batch_size=args.batch, channels=args.channels, cells_per_stage=args.cells)
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
