"""The project's NB201 supernet (plain and fast) against the NAS-Bench-201 reference, xautodl's TinyNetworkDarts.

The reference's weights are copied into ours. Its search-cell convs carry a bias (``bias=not affine``) that the
following batch-statistics BN cancels in exact arithmetic, so the bias is left out of the copy and set to zero
in the reference: with its (random) bias kept, the bias is cancelled only up to float rounding, which moves the
reference's weight gradients by ~1e-4 (1e-2 relative) against its own zero-bias twin. Then, on one random
batch: the max abs logit difference and the max abs gradient difference (weights and architecture
parameters), in float32 and in float64 (where any correct implementation agrees to ~1e-15), and each
implementation's float32 distance to the float64 reference (the rounding floor any reordering of sums meets), on
``--accuracy-batches`` random batches (it varies with the batch), and its maximum over them,
then forward+backward time (interleaved repeats: reference, plain, fast, ... rotating the
order; medians) and the number of aten operations per step (a TorchDispatchMode count of forward and
backward; and those among them that are not views, i.e. launch a kernel). Goals of issue 15: fast time <= 0.5x
the reference's, aten ops <= 0.3x.

    python3 -m pip install xautodl==1.0.0 --no-deps      # once; its numpy pin does not install on 3.11
    python3 bench/bench_supernet.py [--repeats 7] [--threads 1] [--channels 16] [--cells 5] [--batch 64] [--accuracy-batches 3] [--avg-pool] [--channels-last]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402

from balenas.spaces.nb201 import NB201_OPS  # noqa: E402
from balenas.spaces.nb201 import NB201Config
from balenas.supernets.nb201 import nb201_supernet  # noqa: E402
from balenas.supernets.nb201_fast import FastNB201Network, nb201_fast_supernet  # noqa: E402


class OpCounter(TorchDispatchMode):
    """Counts every aten operation dispatched while active (forward and backward), and separately the views
    among them (``OpOverload.is_view``: view, detach, transpose, expand, slice, split, ...), which only make a
    new tensor header over the same memory and launch no kernel."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter[str] = Counter()
        self.views = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.counts[str(func.overloadpacket)] += 1
        self.views += func.is_view
        return func(*args, **(kwargs or {}))

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def reference_network(channels: int, cells: int) -> nn.Module:
    try:
        from xautodl.models.cell_searchs.search_model_darts import TinyNetworkDarts
    except ImportError as e:
        raise SystemExit("bench_supernet needs xautodl: python3 -m pip install xautodl==1.0.0 --no-deps") from e
    return TinyNetworkDarts(channels, cells, 4, 10, list(NB201_OPS), False, False)


def copy_reference_weights(ref: nn.Module, ours: nn.Module) -> None:
    """Copy ``ref``'s parameters into ``ours`` in module order; the search convs' biases are zeroed instead."""
    src = []
    for k, v in ref.named_parameters():
        if _is_search_bias(k):
            with torch.no_grad():
                v.zero_()
        elif k != "arch_parameters":
            src.append((k, v))
    dst = list(ours.named_parameters())
    if len(src) != len(dst):
        raise RuntimeError(f"parameter count differs: reference {len(src)}, ours {len(dst)}")
    with torch.no_grad():
        for (ks, vs), (kd, vd) in zip(src, dst):
            if vs.shape != vd.shape:
                raise RuntimeError(f"shape differs: {ks} {tuple(vs.shape)} vs {kd} {tuple(vd.shape)}")
            vd.copy_(vs)


def weight_grads(net: nn.Module) -> list[torch.Tensor]:
    """The weight gradients in the plain supernet's parameter order (the fast one's fused kernels split)."""
    grads = {k: p.grad for k, p in net.named_parameters()}
    return list((net.to_plain(grads) if isinstance(net, FastNB201Network) else grads).values())


def _is_search_bias(name: str) -> bool:
    """The reference's search-conv biases, zeroed and left out of the copy (see the module docstring)."""
    return ".edges." in name and name.endswith(".op.1.bias")


def reference_weight_grads(ref: nn.Module) -> list[torch.Tensor]:
    """The reference's weight gradients in the order of ours: neither its arch_parameters nor its search biases."""
    return [p.grad for k, p in ref.named_parameters() if k != "arch_parameters" and not _is_search_bias(k)]


def ref_step(ref: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    _, logits = ref(x)
    nn.functional.cross_entropy(logits, y).backward()
    return logits


def our_step(net: nn.Module, alpha: torch.Tensor, x: torch.Tensor, y: torch.Tensor,
             channels_last: bool = False) -> torch.Tensor:
    if channels_last:  # as SpeedWrapper does
        x = x.contiguous(memory_format=torch.channels_last)
    logits = net(x, torch.softmax(alpha, dim=-1))
    nn.functional.cross_entropy(logits, y).backward()
    return logits


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--channels", type=int, default=16)
    ap.add_argument("--cells", type=int, default=5)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--accuracy-batches", type=int, default=3,
                    help="random batches on which float32 is compared with the float64 reference (default 3)")
    ap.add_argument("--avg-pool", action="store_true", help="fast supernet: avg_pool2d, not a depthwise conv")
    ap.add_argument("--channels-last", action="store_true",
                    help="fast supernet in NHWC (search.speed.channels_last): faster CPU convs, less exact CPU BN")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    ref = reference_network(args.channels, args.cells)
    plain = nb201_supernet(NB201Config(args.channels, args.cells), 10)
    fast = nb201_fast_supernet(args.channels, args.cells, 10, pool_as_conv=not args.avg_pool)
    copy_reference_weights(ref, plain)
    fast.load_state_dict(plain.state_dict())  # the fast supernet's fused kernels load from the plain layout
    if args.channels_last:
        fast.to(memory_format=torch.channels_last)
    alphas = {name: nn.Parameter(ref.arch_parameters.detach().clone()) for name in ("plain", "fast")}
    x = torch.randn(args.batch, 3, args.size, args.size)
    y = torch.randint(10, (args.batch,))

    steps = {
        "reference": lambda: ref_step(ref, x, y),
        "plain": lambda: our_step(plain, alphas["plain"], x, y),
        "fast": lambda: our_step(fast, alphas["fast"], x, y, args.channels_last),
    }
    nets = {"reference": ref, "plain": plain, "fast": fast}

    def zero() -> None:
        for net in nets.values():
            net.zero_grad(set_to_none=True)
        for a in alphas.values():
            a.grad = None

    # correctness: logits and gradients against the reference
    zero()
    logits = {name: step().detach() for name, step in steps.items()}
    ref_grads = reference_weight_grads(ref)
    print(f"NB201 supernet C={args.channels} N={args.cells} {args.size}x{args.size} batch {args.batch}, "
          f"{args.threads} thread(s), torch {torch.__version__}, "
          f"fast pooling {'avg_pool2d' if args.avg_pool else 'depthwise conv'}"
          f"{', fast in channels_last' if args.channels_last else ''}")
    grads = {name: weight_grads(nets[name]) for name in ("plain", "fast")}
    for name in ("plain", "fast"):
        dl = (logits[name] - logits["reference"]).abs().max().item()
        dw = max((p - g).abs().max().item() for p, g in zip(grads[name], ref_grads))
        da = (alphas[name].grad - ref.arch_parameters.grad).abs().max().item()
        print(f"{name:>9} vs reference: max |logit diff| {dl:.2e}  max |weight grad diff| {dw:.2e}  "
              f"max |arch grad diff| {da:.2e}  (goal <= 1e-4)")

    dl = (logits["fast"] - logits["plain"]).abs().max().item()
    dw = max((p - q).abs().max().item() for p, q in zip(grads["fast"], grads["plain"]))
    da = (alphas["fast"].grad - alphas["plain"].grad).abs().max().item()
    print(f"     fast vs plain    : max |logit diff| {dl:.2e}  max |weight grad diff| {dw:.2e}  "
          f"max |arch grad diff| {da:.2e}")

    # float64: the same three networks agree to ~1e-15 (identical computations); and how far float32 is from
    # float64 for each (the reference's own float32 rounding, which any reordering of sums also meets)
    ref64, plain64, fast64 = (copy.deepcopy(n).double() for n in (ref, plain, fast))
    for net in (ref64, plain64, fast64):
        net.zero_grad(set_to_none=True)
    a64 = {name: nn.Parameter(ref64.arch_parameters.detach().clone()) for name in ("plain", "fast")}
    x64 = x.double()
    l64 = {"reference": ref_step(ref64, x64, y).detach(), "plain": our_step(plain64, a64["plain"], x64, y).detach(),
           "fast": our_step(fast64, a64["fast"], x64, y, args.channels_last).detach()}
    g64 = {"reference": reference_weight_grads(ref64),
           "plain": weight_grads(plain64), "fast": weight_grads(fast64)}
    ga64 = {"reference": ref64.arch_parameters.grad, "plain": a64["plain"].grad, "fast": a64["fast"].grad}
    g32 = {"reference": ref_grads, **grads}
    ga32 = {"reference": ref.arch_parameters.grad, **{n: alphas[n].grad for n in ("plain", "fast")}}

    def distances(la, ga, aa, lb, gb, ab) -> list[float]:
        """Max abs differences of the logits, the weight gradients and the architecture gradients."""
        return [(la.double() - lb.double()).abs().max().item(),
                max((p.double() - q.double()).abs().max().item() for p, q in zip(ga, gb)),
                (aa.double() - ab.double()).abs().max().item()]

    def fmt(d: list[float]) -> str:
        return f"max |logit diff| {d[0]:.2e}  max |weight grad diff| {d[1]:.2e}  max |arch grad diff| {d[2]:.2e}"

    def diffs(la, ga, aa, lb, gb, ab) -> str:
        return fmt(distances(la, ga, aa, lb, gb, ab))

    for name in ("plain", "fast"):
        print(f"{name:>9} vs reference, both float64: "
              + diffs(l64[name], g64[name], ga64[name], l64["reference"], g64["reference"], ga64["reference"]))
    for name in ("reference", "plain", "fast"):
        print(f"{name:>9} float32 vs reference float64: "
              + diffs(logits[name], g32[name], ga32[name], l64["reference"], g64["reference"], ga64["reference"]))

    # the rounding floor is a random quantity of the batch: the same distances on further random batches
    # (reference in float64 against each implementation in float32), and their maximum over all batches
    worst = {name: [0.0, 0.0, 0.0] for name in ("reference", "plain", "fast")}

    for b in range(args.accuracy_batches):
        if b == 0:
            xb, yb, lb32, gb32, ab32 = x, y, logits, g32, ga32
            lb64, gb64, ab64 = l64["reference"], g64["reference"], ga64["reference"]
        else:
            gen = torch.Generator().manual_seed(b)
            xb, yb = torch.randn(x.shape, generator=gen), torch.randint(10, y.shape, generator=gen)
            zero()
            ref64.zero_grad(set_to_none=True)
            lb32 = {"reference": ref_step(ref, xb, yb).detach(), "plain": our_step(plain, alphas["plain"], xb, yb).detach(),
                    "fast": our_step(fast, alphas["fast"], xb, yb, args.channels_last).detach()}
            gb32 = {"reference": reference_weight_grads(ref),
                    "plain": weight_grads(plain), "fast": weight_grads(fast)}
            ab32 = {"reference": ref.arch_parameters.grad, **{n: alphas[n].grad for n in ("plain", "fast")}}
            lb64 = ref_step(ref64, xb.double(), yb).detach()
            gb64 = reference_weight_grads(ref64)
            ab64 = ref64.arch_parameters.grad
        for name in worst:
            d = distances(lb32[name], gb32[name], ab32[name], lb64, gb64, ab64)
            worst[name] = [max(u, v) for u, v in zip(worst[name], d)]
            if b > 0:
                print(f"{name:>9} float32 vs reference float64, batch {b}: " + fmt(d))
    if args.accuracy_batches > 1:
        for name, d in worst.items():
            print(f"{name:>9} float32 vs reference float64, max over {args.accuracy_batches} batches: " + fmt(d))
    del ref64, plain64, fast64

    # aten operations per forward+backward step
    ops, computing = {}, {}
    for name, step in steps.items():
        zero()
        with OpCounter() as counter:
            step()
        ops[name] = counter.total
        computing[name] = counter.total - counter.views

    # time: warm-up, then interleaved repeats rotating the order
    for step in steps.values():
        zero()
        step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    names = list(steps)
    for r in range(args.repeats):
        for name in names[r % 3:] + names[: r % 3]:
            zero()
            t0 = time.perf_counter()
            steps[name]()
            times[name].append(time.perf_counter() - t0)
    med = {name: statistics.median(t) for name, t in times.items()}
    for name in names:
        print(f"{name:>9}: forward+backward median {med[name]:.3f} s  "
              f"runs {['%.3f' % t for t in times[name]]}  aten ops/step {ops[name]} "
              f"(not views: {computing[name]})")
    print(f"ratio time fast/reference {med['fast'] / med['reference']:.3f} (goal <= 0.5); "
          f"plain/reference {med['plain'] / med['reference']:.3f}")
    print(f"ratio aten ops fast/reference {ops['fast'] / ops['reference']:.3f} (goal <= 0.3); "
          f"plain/reference {ops['plain'] / ops['reference']:.3f}")
    print(f"ratio aten ops that are not views fast/reference {computing['fast'] / computing['reference']:.3f} "
          f"(goal <= 0.3); plain/reference {computing['plain'] / computing['reference']:.3f}")


if __name__ == "__main__":
    main()
