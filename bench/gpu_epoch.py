"""Time a paper-size NB201 search epoch (DARTS and BaLeNAS, first order) with each speed option, on the device,
and extrapolate to a 50-epoch search.

Random CIFAR-sized tensors live on the device for the whole run (no per-step host copies); every option runs
``balenas.search.run_epoch`` (the search loop itself) with ``search.speed`` set as named below. Options run
interleaved over ``--repeats`` (medians). A paper epoch is 25,000 weight-half images / batch 64 = 390 steps.

    python3 bench/gpu_epoch.py                       # on a GPU: C=16 N=5 32x32 batch 64, 20 steps per repeat
    python3 bench/gpu_epoch.py --tiny                # CPU smoke run in seconds (what the test runs)
    python3 bench/gpu_epoch.py --options fast fast_all --out epoch.json
    python3 bench/gpu_epoch.py --budget-s 420 --out $OUT/epoch.json   # a lent GPU: numbers within 7 minutes

Made to run once, unattended, on a machine lent for minutes: an option that fails (a compiler missing on that
machine, say) is reported with its error and the others still run; ``--budget-s`` stops starting warm-ups and
repeats once that many seconds have passed; ``--out`` is rewritten after every round, so a run cut short
still leaves the rounds it finished.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from pathlib import Path

import torch
from _setup import add_size_args, paper_search_config, random_halves

from balenas.data import ImageSet
from balenas.search import build_state, run_epoch
from balenas.spaces import get_space
from balenas.speed import SpeedConfig, apply_backend_flags

OPTIONS: dict[str, SpeedConfig] = {
    "plain": SpeedConfig(supernet="plain", vector_augment=False),
    "plain_vecaug": SpeedConfig(supernet="plain"),
    "fast": SpeedConfig(supernet="fast"),
    "fast_avgpool": SpeedConfig(supernet="fast_avgpool"),
    "fast_channels_last": SpeedConfig(supernet="fast", channels_last=True),
    "fast_bf16": SpeedConfig(supernet="fast", autocast_bf16=True),
    "fast_tf32": SpeedConfig(supernet="fast", tf32=True),
    "fast_autotune": SpeedConfig(supernet="fast", deterministic=False),
    "fast_all": SpeedConfig(supernet="fast", channels_last=True, autocast_bf16=True, tf32=True, deterministic=False),
    "fast_compile": SpeedConfig(supernet="fast", tf32=True, compile="default", deterministic=False),
    "fast_cudagraphs": SpeedConfig(supernet="fast", tf32=True, compile="reduce-overhead", deterministic=False),
}
COMPILED = {"fast_compile", "fast_cudagraphs"}
TINY = {"steps": 2, "repeats": 1, "threads": 1, "channels": 4, "cells": 1, "size": 8, "batch": 8}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _on(data: ImageSet, device: torch.device) -> ImageSet:
    return ImageSet(data.x.to(device), data.y.to(device), data.num_classes, data.meta)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_size_args(ap, steps=20)
    ap.add_argument("--tiny", action="store_true", help="tiny CPU sizes (seconds); compiled options skipped")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--methods", nargs="+", default=["darts", "balenas"])
    ap.add_argument("--options", nargs="+", default=list(OPTIONS), choices=list(OPTIONS))
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--steps-per-epoch", type=int, default=390)
    ap.add_argument("--out", type=Path, help="write the rows as JSON (after every round)")
    ap.add_argument("--budget-s", type=float, default=None,
                    help="start no warm-up or round after this many seconds (default: no limit)")
    args = ap.parse_args()
    start = time.perf_counter()

    def over_budget() -> bool:
        return args.budget_s is not None and time.perf_counter() - start > args.budget_s

    if args.tiny:
        for k, v in TINY.items():
            setattr(args, k, v)
        args.device = "cpu"
        args.options = [o for o in args.options if o not in COMPILED]
    device = torch.device(args.device)
    torch.set_num_threads(args.threads)
    w_half, a_half, dcfg = random_halves(args)
    w_half, a_half = _on(w_half, device), _on(a_half, device)
    space = get_space("nb201")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu, {args.threads} thread(s)"
    runs = {}
    errors: dict[tuple[str, str], str] = {}
    for method in args.methods:
        for option in args.options:
            if over_budget():
                errors[method, option] = f"not run: --budget-s {args.budget_s:g} spent before its warm-up"
                continue
            try:
                cfg = dataclasses.replace(paper_search_config(method, 1, args), speed=OPTIONS[option])
                state = build_state(cfg, space, 10, 3, len(a_half), device)
                apply_backend_flags(cfg.speed)
                run_epoch(cfg, state, 0, w_half, a_half, dcfg)  # warm-up (and compilation)
                _sync(device)
            except Exception as err:  # noqa: BLE001 - one failing option must not cost the others' numbers
                errors[method, option] = _error_line(err)
                print(f"{method} {option}: failed in its warm-up: {errors[method, option]}", flush=True)
                continue
            runs[method, option] = (cfg, state)
    times: dict[tuple[str, str], list[float]] = {key: [] for key in runs}
    losses: dict[tuple[str, str], float] = {}
    keys = list(runs)
    for r in range(args.repeats):
        if over_budget() and r > 0:
            print(f"--budget-s {args.budget_s:g} spent: {r} of {args.repeats} rounds", flush=True)
            break
        turn = r % len(keys) if keys else 0  # which option goes first rotates with the round
        for key in keys[turn:] + keys[:turn]:
            if key in errors:
                continue
            cfg, state = runs[key]
            try:
                apply_backend_flags(cfg.speed)  # process-wide (TF32): set for the option that runs now
                _sync(device)
                t0 = time.perf_counter()
                stats = run_epoch(cfg, state, r + 1, w_half, a_half, dcfg)
                _sync(device)
            except Exception as err:  # noqa: BLE001
                errors[key] = _error_line(err)
                continue
            times[key].append((time.perf_counter() - t0) / args.steps)
            losses[key] = stats["train_loss"]
        if args.out:
            args.out.write_text(json.dumps(_report(args, name, times, losses, errors), indent=2))
    print(f"NB201 search step C={args.channels} N={args.cells} {args.size}x{args.size} batch {args.batch}, "
          f"order 1, {name}, torch {torch.__version__}; {args.steps} steps x {args.repeats} repeats")
    report = _report(args, name, times, losses, errors)
    for row in report["rows"]:
        if "error" in row:
            print(f"{row['method']:>8} {row['option']:<20} {row['error']}")
            continue
        print(f"{row['method']:>8} {row['option']:<20} step {row['step_s'] * 1e3:8.1f} ms  "
              f"epoch {row['epoch_s']:8.1f} s  {args.epochs} epochs {row['search_s'] / 60:8.1f} min  "
              f"(last train loss {row['train_loss']:.4f}; {row['rounds']} rounds)")
    if args.out:  # every round wrote it already; this also covers a run with no round (--repeats 0)
        args.out.write_text(json.dumps(report, indent=2))


def _error_line(err: Exception) -> str:
    """An option's failure as one short line for its row."""
    return f"{type(err).__name__}: {err}".splitlines()[0][:300]


def _report(args: argparse.Namespace, device: str, times: dict[tuple[str, str], list[float]],
            losses: dict[tuple[str, str], float], errors: dict[tuple[str, str], str]) -> dict:
    """The rows so far: per (method, option) the median step and its extrapolation, or why it has none."""
    rows = []
    for method in args.methods:
        for option in args.options:
            key = (method, option)
            if key in errors or not times.get(key):
                rows.append({"method": method, "option": option, "error": errors.get(key, "no round finished")})
                continue
            step = statistics.median(times[key])
            rows.append({"method": method, "option": option, "step_s": step, "epoch_s": step * args.steps_per_epoch,
                         "search_s": step * args.steps_per_epoch * args.epochs, "train_loss": losses[key],
                         "rounds": len(times[key])})
    return {"device": device, "torch": torch.__version__,
            "args": {k: str(v) for k, v in vars(args).items()}, "rows": rows}


if __name__ == "__main__":
    main()
