"""Time the paper's proxies on NAS-Bench-201 networks of paper size (a benchmark, not a test).

Scores ``--count`` uniformly sampled NB201 architectures (C=16, N=5, 10 classes) on one random batch of
``--batch`` 32x32x3 inputs with SynFlow, SNIP and GraSP (or ``--proxies``) and prints seconds per
architecture for each proxy.

With ``--reference DIR`` (a checkout of github.com/SamsungLabs/zero-cost-nas; only its ``foresight``
package is imported, at run time, from that directory) the reference implementation scores the very same
networks in the same run, interleaved architecture by architecture so both see the same machine load,
and the script also prints the time ratio (reference / ours) and the largest relative difference of the
scores. Nothing of the reference is copied into this project.

Example::

    .venv/bin/python bench/bench_proxies.py --count 10 --threads 2 --reference /tmp/zc
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from balenas.proxies import PAPER_PROXIES, PROXIES, compute_proxy
from balenas.spaces import get_space
from balenas.spaces.nb201 import NB201Config
from balenas.supernets import nb201_network


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--count", type=int, default=100, help="architectures to score (default 100)")
    p.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    p.add_argument("--batch", type=int, default=64, help="batch size (default 64, as in the paper)")
    p.add_argument("--channels", type=int, default=16)
    p.add_argument("--cells", type=int, default=5, help="cells per stage")
    p.add_argument("--proxies", nargs="+", default=list(PAPER_PROXIES), help=f"any of {', '.join(PROXIES)}")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--reference", type=Path, default=None, help="zero-cost-nas checkout to compare against")
    return p.parse_args(argv)


def load_reference(root: Path) -> Callable[[str, nn.Module, torch.Tensor, torch.Tensor], float]:
    """A scorer that runs zero-cost-nas' measure ``name`` on ``net`` and sums it as find_measures does."""
    if not (root / "foresight" / "pruners" / "measures").is_dir():
        raise SystemExit(
            f"--reference {root}: no foresight/pruners/measures inside (expected a zero-cost-nas checkout)"
        )
    sys.path.insert(0, str(root))
    from foresight.pruners import measures  # type: ignore[import-not-found]
    from foresight.pruners.predictive import copynet  # type: ignore[import-not-found]

    def score(name: str, net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
        net.get_prunable_copy = types.MethodType(copynet, net)
        arr = measures.calc_measure(
            name, net, torch.device("cpu"), x, y, loss_fn=F.cross_entropy, split_data=1
        )
        if name == "jacob_cov":
            return float(arr)
        return float(sum(t.detach().sum() for t in arr))

    return score


def timed(fn: Callable[[], float]) -> tuple[float, float]:
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    for name in args.proxies:
        PROXIES.get(name)
    torch.set_num_threads(args.threads)
    reference = load_reference(args.reference) if args.reference else None

    space = get_space("nb201")
    gen = torch.Generator().manual_seed(args.seed)
    genotypes = [space.sample(gen) for _ in range(args.count)]
    x = torch.randn(args.batch, 3, 32, 32, generator=gen)
    y = torch.randint(0, 10, (args.batch,), generator=gen)

    ours: dict[str, list[float]] = {n: [] for n in args.proxies}
    refs: dict[str, list[float]] = {n: [] for n in args.proxies}
    rel: dict[str, float] = {n: 0.0 for n in args.proxies}
    total = time.perf_counter()
    for i, genotype in enumerate(genotypes):
        torch.manual_seed(args.seed + i)
        net = nb201_network(genotype, NB201Config(args.channels, args.cells), 10, 3)
        for name in args.proxies:
            mine, dt = timed(lambda: compute_proxy(name, net, x, y))
            ours[name].append(dt)
            if reference is not None:
                theirs, dt_ref = timed(lambda: reference(name, net, x, y))
                refs[name].append(dt_ref)
                rel[name] = max(rel[name], abs(mine - theirs) / max(abs(theirs), 1e-300))
        print(f"[{i + 1}/{args.count}] {space.to_string(genotype)}", flush=True)

    print(
        f"\n{args.count} NB201 archs, C={args.channels}, N={args.cells}, batch {args.batch}x3x32x32, "
        f"torch {torch.__version__}, {args.threads} thread(s), wall {time.perf_counter() - total:.1f}s"
    )
    header = f"{'proxy':10s} {'s/arch':>8s} {'median':>8s}"
    if reference is not None:
        header += f" {'ref s/arch':>10s} {'ref/ours':>8s} {'max rel diff':>12s}"
    print(header)
    for name in args.proxies:
        line = f"{name:10s} {statistics.mean(ours[name]):8.3f} {statistics.median(ours[name]):8.3f}"
        if reference is not None:
            mean_ref = statistics.mean(refs[name])
            line += f" {mean_ref:10.3f} {mean_ref / statistics.mean(ours[name]):8.2f} {rel[name]:12.2e}"
        print(line)


if __name__ == "__main__":
    main()
