"""The search stage: one search run, its output files, and reading them back.

Outputs: ``arch.pt`` (the learned distribution, group by group), ``genotype.json`` (argmax of the mean, in
the space's text and JSON forms), ``history.csv`` (per epoch), ``metrics.json`` and ``supernet.pt`` (the
trained shared weights, for selectors that evaluate candidates with the supernet).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from balenas.analysis.tracking import hessian_record
from balenas.archdist import ArchDistribution
from balenas.data import DataConfig, load_dataset
from balenas.methods import METHODS
from balenas.runtime import atomic_path, environment_info, resolve_device, set_threads, torch_save, write_json
from balenas.search import SearchConfig, SearchResult, run_search
from balenas.spaces import get_space

log = logging.getLogger(__name__)

#: issue 16: history columns holding wall-clock times; written to timings.json, not history.csv, so that
#: every other search output depends only on config, seed and code (byte-identical across runs).
TIMING_COLUMNS: tuple[str, ...] = ("epoch_seconds", "hessian_seconds")


def search_stage(
    search_cfg: Mapping[str, Any],
    data_cfg: Mapping[str, Any],
    outputs: Mapping[str, str | Path],
    checkpoint: str | Path,
    threads: int = 1,
    device: str = "cpu",
    code: str = "",
) -> SearchResult:
    """Run one search job and write arch.pt, genotype.json, history.csv, metrics.json (and supernet.pt
    when declared) atomically.

    The checkpoint lives outside the declared outputs so that a killed job resumes from it; it is
    removed once every output is in place. ``code`` (the rule's source hash) is part of the checkpoint's
    fingerprint: a checkpoint written by other code is not resumed.
    """
    set_threads(threads)
    dev = resolve_device(device)
    cfg = SearchConfig.from_dict(search_cfg)
    dcfg = DataConfig(**data_cfg)
    data = load_dataset(dcfg, seed=cfg.seed)
    log.info("search %s/%s/%s order %d seed %d on %s: %d examples %s", cfg.space, cfg.dataset, cfg.method,
             cfg.order, cfg.seed, dev, len(data), tuple(data.x.shape[1:]))
    ckpt = Path(checkpoint)
    result = run_search(cfg, data, dcfg, dev, checkpoint=ckpt, hessian_fn=hessian_record, code=code)
    write_search_outputs(result, cfg, dcfg, data.meta, outputs, dev)
    ckpt.unlink(missing_ok=True)
    return result


def write_search_outputs(
    result: SearchResult,
    cfg: SearchConfig,
    dcfg: DataConfig,
    data_meta: Mapping[str, Any],
    outputs: Mapping[str, str | Path],
    device: torch.device,
) -> None:
    space = get_space(cfg.space)
    dist = result.dist
    torch_save(
        {
            "space": cfg.space,
            "method": cfg.method,
            "order": cfg.order,
            "groups": {name: list(shape) for name, shape in dist.groups.items()},
            "op_names": list(space.op_names),
            "method_settings": dict(cfg.method_settings),
            "dataset_size": getattr(dist, "dataset_size", None),
            "state_dict": {k: v.detach().cpu() for k, v in dist.state_dict().items()},
            "mean_alpha": {k: v.cpu() for k, v in dist.mean_alpha().items()},
            "mean_weights": {k: v.detach().cpu() for k, v in dist.mean_weights().items()},
        },
        outputs["arch"],
    )
    if "supernet" in outputs and result.network is not None:
        torch_save(
            {
                "space": cfg.space,
                "model": dict(cfg.model),
                "state_dict": {k: v.detach().cpu() for k, v in result.network.state_dict().items()},
            },
            outputs["supernet"],
        )
    write_json(
        outputs["genotype"],
        {
            **space.to_json(result.genotype),
            "genotype": result.genotype_str,
            "skip_count": space.skip_count(result.genotype),
        },
    )
    timed = [c for c in TIMING_COLUMNS if c in result.history.columns]  # issue 16: timings apart
    history = result.history.drop(columns=timed)
    with atomic_path(outputs["history"]) as tmp:
        history.to_csv(tmp, index=False)
    final = history.iloc[-1].to_dict() if len(history) else {}
    write_json(
        outputs["metrics"],
        {
            "stage": "search",
            "seed": cfg.seed,
            "config": cfg.to_dict(),
            "data": {**dcfg.__dict__, **{k: v for k, v in data_meta.items() if k != "classes"}},
            "environment": environment_info(device),
            "genotype": result.genotype_str,
            "final_epoch": final,
            "arch_stats": dist.stats(),
        },
    )
    if "timings" in outputs:  # issue 16: what differs between two runs of one config lives here
        write_json(outputs["timings"], timings_record(result, timed))


def timings_record(result: SearchResult, columns: list[str]) -> dict[str, Any]:
    """Wall-clock facts of one search run (they differ between runs; nothing else may)."""
    per_epoch = {c: [None if v != v else float(v) for v in result.history[c]] for c in columns}
    return {"stage": "search", "seconds": result.seconds, "resumed_from_epoch": result.resumed_from_epoch,
            **per_epoch}


def load_arch(path: str | Path) -> tuple[ArchDistribution, dict[str, Any]]:
    """Rebuild the learned architecture distribution saved by :func:`search_stage`.

    The global RNG is left as it was: the random initial values are overwritten by the saved state.
    """
    blob = torch.load(path, map_location="cpu", weights_only=True)  # issue 16: no unpickling of code
    method = METHODS.get(blob["method"])
    groups = {name: tuple(shape) for name, shape in blob["groups"].items()}
    with torch.random.fork_rng(devices=[]):
        dist = method.make_dist(groups, blob["method_settings"], blob["dataset_size"] or 1)
    dist.load_state_dict(blob["state_dict"])
    return dist, blob


def load_supernet(path: str | Path, num_classes: int, in_channels: int) -> torch.nn.Module:
    """Rebuild the trained supernet saved by :func:`search_stage` (global RNG left as it was)."""
    from balenas.supernets import SUPERNETS

    blob = torch.load(path, map_location="cpu", weights_only=True)
    space = get_space(blob["space"])
    with torch.random.fork_rng(devices=[]):
        net = SUPERNETS.get(blob["space"])(space.make_model_config(blob["model"]), num_classes, in_channels)
    net.load_state_dict(blob["state_dict"])
    return net
