"""Time of one BaLeNAS search step (architecture + weight) over one DARTS step, in one process.

Both methods run the same code path (``balenas.search.run_epoch``) on the same random CIFAR-sized data
with the paper's supernet of the space (NB201: C=16, N=5; DARTS: C=16, 8 cells; 32x32, batch 64) unless
told otherwise; steps are interleaved (DARTS, BaLeNAS, DARTS, ...) so that drifts in machine load hit both
alike. Reports per-step medians and the ratio (goal: at most 1.05).

    python bench/bench_step.py [--space nb201|darts] [--steps 3] [--repeats 3] [--threads 2] [--channels 16] [--cells N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch
from _setup import SIZE_KEYS, add_size_args, paper_search_config, random_halves

from balenas.search import build_state, run_epoch
from balenas.spaces import get_space


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_size_args(ap, steps=2)
    ap.add_argument("--order", type=int, default=1)
    ap.add_argument("--space", choices=sorted(SIZE_KEYS), default="nb201")
    args = ap.parse_args()
    if args.space == "darts" and "--cells" not in sys.argv:
        args.cells = 8  # the DARTS search model's 8 cells (the NB201 default of 5 is N per stage)
    torch.set_num_threads(args.threads)
    w_half, a_half, dcfg = random_halves(args)
    space = get_space(args.space)
    states, cfgs = {}, {}
    for method in ("darts", "balenas"):
        cfgs[method] = paper_search_config(method, args.order, args, args.space)
        states[method] = build_state(cfgs[method], space, 10, 3, len(a_half), torch.device("cpu"))
        run_epoch(cfgs[method], states[method], 0, w_half, a_half, dcfg)  # warm-up
    times: dict[str, list[float]] = {"darts": [], "balenas": []}
    for r in range(args.repeats):
        for method in ("darts", "balenas") if r % 2 == 0 else ("balenas", "darts"):
            t0 = time.perf_counter()
            run_epoch(cfgs[method], states[method], r + 1, w_half, a_half, dcfg)
            times[method].append((time.perf_counter() - t0) / args.steps)
    d, b = statistics.median(times["darts"]), statistics.median(times["balenas"])
    print(f"{args.space} supernet C={args.channels} cells={args.cells} {args.size}x{args.size} batch {args.batch} order {args.order}, "
          f"{args.threads} threads, torch {torch.__version__}")
    print(f"DARTS   step (arch + weight): median {d:.3f} s  runs {['%.3f' % t for t in times['darts']]}")
    print(f"BaLeNAS step (arch + weight): median {b:.3f} s  runs {['%.3f' % t for t in times['balenas']]}")
    print(f"ratio BaLeNAS / DARTS: {b / d:.3f} (goal <= 1.05)")


if __name__ == "__main__":
    main()
