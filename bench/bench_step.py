"""Time of one BaLeNAS search step (architecture + weight) over one DARTS step, in one process.

Both methods run the same code path (``balenas.search.run_epoch``) on the same random CIFAR-sized data
with the paper's supernet (C=16, N=5, 32x32, batch 64) unless told otherwise; steps are interleaved
(DARTS, BaLeNAS, DARTS, ...) so that drifts in machine load hit both alike. Reports per-step medians and
the ratio (goal: at most 1.05).

    python bench/bench_step.py [--steps 3] [--repeats 3] [--threads 2] [--channels 16] [--cells 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import torch  # noqa: E402

from balenas.data import DataConfig, ImageSet, search_split  # noqa: E402
from balenas.search import SearchConfig, build_state, run_epoch  # noqa: E402
from balenas.spaces import get_space  # noqa: E402

SETTINGS = {
    "darts": {"lr": 3e-4, "betas": (0.5, 0.999), "weight_decay": 1e-3, "init_std": 1e-3},
    "balenas": {"lr": 3e-4, "betas": (0.5, 0.999), "prior_precision": 1.0, "init_precision": 1.0,
                "init_std": 1e-3, "mc_samples": 1, "form": "sqrt", "dataset_size": None},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=2, help="steps per timed epoch")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--channels", type=int, default=16)
    ap.add_argument("--cells", type=int, default=5)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--order", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    n = 2 * args.batch * args.steps
    gen = torch.Generator().manual_seed(0)
    data = ImageSet(torch.randn(n, 3, args.size, args.size, generator=gen), torch.randint(10, (n,), generator=gen), 10)
    dcfg = DataConfig("random", "digits", crop_padding=4, flip=True)
    w_half, a_half = search_split(data, 0)
    space = get_space("nb201")
    states, cfgs = {}, {}
    for method in ("darts", "balenas"):
        cfgs[method] = SearchConfig(space="nb201", dataset="random", method=method, seed=0,
                                    method_settings=SETTINGS[method], order=args.order, epochs=10,
                                    batch_size=args.batch, channels=args.channels, cells_per_stage=args.cells)
        states[method] = build_state(cfgs[method], space, 10, 3, len(a_half), torch.device("cpu"))
        run_epoch(cfgs[method], states[method], 0, w_half, a_half, dcfg)  # warm-up
    times: dict[str, list[float]] = {"darts": [], "balenas": []}
    for r in range(args.repeats):
        for method in ("darts", "balenas") if r % 2 == 0 else ("balenas", "darts"):
            t0 = time.perf_counter()
            run_epoch(cfgs[method], states[method], r + 1, w_half, a_half, dcfg)
            times[method].append((time.perf_counter() - t0) / args.steps)
    d, b = statistics.median(times["darts"]), statistics.median(times["balenas"])
    print(f"supernet C={args.channels} N={args.cells} {args.size}x{args.size} batch {args.batch} order {args.order}, "
          f"{args.threads} threads, torch {torch.__version__}")
    print(f"DARTS   step (arch + weight): median {d:.3f} s  runs {['%.3f' % t for t in times['darts']]}")
    print(f"BaLeNAS step (arch + weight): median {b:.3f} s  runs {['%.3f' % t for t in times['balenas']]}")
    print(f"ratio BaLeNAS / DARTS: {b / d:.3f} (goal <= 1.05)")


if __name__ == "__main__":
    main()
