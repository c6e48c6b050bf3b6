"""Time the paper's proxies on NAS-Bench-201 networks of paper size (a benchmark, not a test).

Scores ``--count`` uniformly sampled NB201 architectures (C=16, N=5, 10 classes) on one random batch of
``--batch`` 32x32x3 inputs with SynFlow, SNIP and GraSP (or ``--proxies``) and prints seconds per
architecture for each proxy.

With ``--reference DIR`` (a checkout of github.com/SamsungLabs/zero-cost-nas; only its ``foresight``
package is imported, at run time, from that directory) the reference implementation scores the very same
networks in the same run, interleaved proxy by proxy (which of the two goes first alternates between
architectures) so both see the same machine load, and the script also prints the time ratio (reference /
ours: of the mean times, and the median of the per-architecture ratios, which a load spike on a shared
machine does not move) and the largest relative difference of the scores. The last line times
:func:`balenas.proxies.compute_proxies` scoring all the proxies of one architecture together (SNIP and
GraSP share one loss gradient) against the reference's time for all of them. Nothing of the reference is
copied into this project.

Example::

    .venv/bin/python bench/bench_proxies.py --count 10 --threads 2 --reference /tmp/zc
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from balenas.proxies import PAPER_PROXIES, PROXIES, compute_proxies, compute_proxy
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
    joint: list[float] = []
    load = os.getloadavg()[0]
    total = time.perf_counter()
    for i, genotype in enumerate(genotypes):
        torch.manual_seed(args.seed + i)
        net = nb201_network(genotype, NB201Config(args.channels, args.cells), 10, 3)
        for name in args.proxies:
            runs = [("ours", lambda: compute_proxy(name, net, x, y))]
            if reference is not None:
                runs.append(("ref", lambda: reference(name, net, x, y)))
            values: dict[str, float] = {}
            for who, fn in runs if i % 2 == 0 else runs[::-1]:
                values[who], dt = timed(fn)
                (ours if who == "ours" else refs)[name].append(dt)
            if reference is not None:
                theirs = values["ref"]
                rel[name] = max(rel[name], abs(values["ours"] - theirs) / max(abs(theirs), 1e-300))
        joint.append(timed(lambda: compute_proxies(args.proxies, net, x, y))[1])
        print(f"[{i + 1}/{args.count}] {space.to_string(genotype)}", flush=True)

    print(
        f"\n{args.count} NB201 archs, C={args.channels}, N={args.cells}, batch {args.batch}x3x32x32, "
        f"torch {torch.__version__}, {args.threads} thread(s), wall {time.perf_counter() - total:.1f}s, "
        f"load average {load:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    header = f"{'proxy':10s} {'s/arch':>8s} {'median':>8s}"
    if reference is not None:
        header += f" {'ref s/arch':>10s} {'ref/ours':>8s} {'median r/o':>10s} {'max rel diff':>12s}"
    print(header)
    for name in args.proxies:
        print(_row(name, ours[name], refs[name] if reference is not None else None, rel[name]))
    ref_all = [sum(t) for t in zip(*refs.values())] if reference is not None else None
    print(_row("together", joint, ref_all, None))


def _row(name: str, mine: list[float], theirs: list[float] | None, rel: float | None) -> str:
    line = f"{name:10s} {statistics.mean(mine):8.3f} {statistics.median(mine):8.3f}"
    if theirs is not None:
        per_arch = statistics.median(r / o for r, o in zip(theirs, mine))
        line += f" {statistics.mean(theirs):10.3f} {statistics.mean(theirs) / statistics.mean(mine):8.2f}"
        line += f" {per_arch:10.2f} {'' if rel is None else f'{rel:12.2e}'}"
    return line

if __name__ == "__main__":
    main()
