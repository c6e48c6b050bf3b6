"""The selection stages: sample K_max candidates -> score them with a proxy -> keep the best of every K.

Three rules (paths: :mod:`balenas.selection_paths`), K_max the largest configured K:

* :func:`sample_stage` writes ``{selector}-k{K_max}/samples.jsonl`` (one candidate per line, in draw order),
  once per run and selector: the draws of a smaller K are the first K of these;
* :func:`score_proxies_stage` writes ``{selector}-{proxy}-k{K_max}/scores.csv`` for every proxy (one row per
  *distinct* candidate, scored once), once per run and selector: one network per candidate serves every
  proxy (:func:`score_stage` scores one);
* :func:`select_stage` writes ``{selector}-{proxy}-k{k}/selected.json`` for every configured k (the best of the
  first k draws, plus provenance), from those two files: the same records a job that drew and scored k
  candidates would write.

``run_dir`` is ``{method}/order-{order}/seed-{seed}`` for ``tf`` (draws from that search run's learned
distribution) and ``zero_cost/seed-{seed}`` for ``uniform`` (the Zero-cost NAS baseline, no search).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from balenas.data import DataConfig, load_dataset
from balenas.runtime import (
    atomic_path,
    environment_info,
    resolve_device,
    set_threads,
    sha256_file,
    write_bytes,
    write_json,
)
from balenas.select import (
    SCORE_COLUMNS,
    STREAM_BATCH,
    STREAM_INIT,
    STREAM_SAMPLE,
    TIMING_COLUMNS,
    NetworkConfig,
    best_candidate,
    distinct,
    init_seed,
    prefix_scores,
    sample_genotypes,
    score_candidates_by_proxy,
    scoring_batch,
)
from balenas.spaces import get_space
from balenas.select import SUPERNET_PROXY, SUPERNET_SELECTORS, Genotype, supernet_select, validation_batches

log = logging.getLogger(__name__)

#: ``method`` of the zero-cost baseline (no search run; uniform candidates).
ZERO_COST = "zero_cost"
#: Which run directory each selector samples from.
SELECTOR_SOURCE = {"tf": "a search run ({method}/order-{order}/seed-{seed})", "uniform": "zero_cost/seed-{seed}"}

_SEARCH_RUN = re.compile(r"^(?P<method>[A-Za-z0-9_]+)/order-(?P<order>\d+)/seed-(?P<seed>\d+)$")
_ZERO_COST_RUN = re.compile(rf"^{ZERO_COST}/seed-(?P<seed>\d+)$")


def parse_run_dir(
    space: str, dataset: str, run_dir: str, selector: str, proxy: str | None, k: int
) -> dict[str, Any]:
    """The coordinates of one selection job; ``tf`` must name a search run, ``uniform`` ``zero_cost/seed-N``.

    ``proxy`` is None for the sampling job (its draws serve every proxy).
    """
    zc = _ZERO_COST_RUN.match(run_dir)
    sr = None if zc else _SEARCH_RUN.match(run_dir)
    if selector == "uniform" and zc:
        method, order, seed = ZERO_COST, None, int(zc["seed"])
    elif (selector == "tf" or selector in SUPERNET_SELECTORS) and sr:
        method, order, seed = sr["method"], int(sr["order"]), int(sr["seed"])
    else:
        want = SELECTOR_SOURCE.get(selector, "a search run" if selector in SUPERNET_SELECTORS else "a known selector")
        name = f"{selector}-k{k}" if proxy is None else f"{selector}-{proxy}-k{k}"
        raise ValueError(f"selection {run_dir}/{name}: selector {selector!r} needs {want}")
    return {
        "space": space,
        "dataset": dataset,
        "method": method,
        "order": order,
        "seed": seed,
        "selector": selector,
        "proxy": proxy,
        "k": int(k),
    }


def _genotype_record(space_name: str, index: int, genotype: Genotype) -> dict[str, Any]:
    space = get_space(space_name)
    blob = space.to_json(genotype)
    # the canonical text under "genotype" (what read_samples parses), then the space's JSON form
    return {"sample": index, **{k: v for k, v in blob.items() if k != "space"}, "genotype": space.to_string(genotype)}


def read_samples(path: str | Path, space_name: str) -> list[Genotype]:
    """Genotypes of a ``samples.jsonl`` in draw order (checks the ``sample`` numbering)."""
    space = get_space(space_name)
    genotypes = []
    for line_no, line in enumerate(Path(path).read_text().splitlines()):
        record = json.loads(line)
        if record["sample"] != line_no:
            raise ValueError(f"{path}: line {line_no + 1} holds sample {record['sample']}")
        genotypes.append(space.parse(record["genotype"]))
    return genotypes


def sample_stage(job: Mapping[str, Any], output: str | Path, arch: str | Path | None = None) -> list[Genotype]:
    """Draw the K candidates of ``job`` (from ``arch``, the search run's arch.pt, for ``tf``)."""
    from balenas.stages.search import load_arch

    space = get_space(job["space"])
    dist = None
    if job["selector"] == "tf":
        if arch is None:
            raise ValueError("selector 'tf' needs the search run's arch.pt")
        dist, blob = load_arch(arch)
        if blob["method"] != job["method"]:
            raise ValueError(f"{arch} holds a {blob['method']} distribution, the job says {job['method']}")
    samples = sample_genotypes(job["selector"], space, job["k"], job["seed"], dist)
    with atomic_path(output) as tmp:
        tmp.write_text(
            "".join(json.dumps(_genotype_record(job["space"], i, g)) + "\n" for i, g in enumerate(samples))
        )
    log.info("%s %s: %d samples, %d distinct", job["selector"], job["method"], len(samples), len(distinct(samples)))
    return samples


def score_stage(
    job: Mapping[str, Any],
    samples: str | Path,
    data_cfg: Mapping[str, Any],
    network: Mapping[str, Any],
    output: str | Path,
    threads: int = 1,
    device: str = "cpu",
    timings: str | Path | None = None,
) -> pd.DataFrame:
    """Score every distinct candidate of ``samples`` once with ``job['proxy']``; write ``scores.csv``
    (:func:`score_proxies_stage` with that one proxy)."""
    proxy = job["proxy"]
    return score_proxies_stage(job, samples, data_cfg, network, {proxy: output}, threads, device,
                               None if timings is None else {proxy: timings})[proxy]


def score_proxies_stage(
    job: Mapping[str, Any],
    samples: str | Path,
    data_cfg: Mapping[str, Any],
    network: Mapping[str, Any],
    outputs: Mapping[str, str | Path],
    threads: int = 1,
    device: str = "cpu",
    timings: Mapping[str, str | Path] | None = None,
) -> dict[str, pd.DataFrame]:
    """Score every distinct candidate of ``samples`` once with every proxy of ``outputs`` (proxy -> its
    ``scores.csv``), one network per candidate for all of them; write each proxy's file.

    Each file holds the bytes a job scoring that proxy alone writes. The per-candidate wall-clock
    ``seconds`` go to ``timings`` (proxy -> JSON) when given, never to ``scores.csv``, which depends only on
    the job, its data and the code. Nothing is written before every proxy has scored every candidate.
    """
    if timings is not None and set(timings) != set(outputs):
        raise ValueError(f"timings for {sorted(timings)}, scores for {sorted(outputs)}: expected the same proxies")
    set_threads(threads)
    dev = resolve_device(device)
    net = NetworkConfig(**network)
    candidates = distinct(read_samples(samples, job["space"]))
    dcfg = DataConfig(**data_cfg)
    data = load_dataset(dcfg, seed=job["seed"])
    x, y = scoring_batch(data, net.batch_size, job["seed"], augment=dcfg)
    tables = score_candidates_by_proxy(candidates, list(outputs), x, y, net, data.num_classes, job["seed"], dev)
    for proxy, scores in tables.items():
        scores["device"] = str(dev)
        table = scores.drop(columns=list(TIMING_COLUMNS)).to_csv(index=False, float_format="%.17g")
        write_bytes(outputs[proxy], table.encode())
        if timings is not None:
            write_json(timings[proxy],
                       {"stage": "score", "candidates": scores[["candidate", *TIMING_COLUMNS]].to_dict("records")})
    log.info("scored %d distinct candidates with %s on %s (batch %s)", len(candidates), ", ".join(outputs), dev,
             tuple(x.shape))
    return tables


def read_scores(path: str | Path) -> pd.DataFrame:
    scores = pd.read_csv(path)
    missing = sorted(set(SCORE_COLUMNS) - set(TIMING_COLUMNS) - set(scores.columns))
    if missing:
        raise ValueError(f"{path}: missing columns {missing}")
    return scores


def selection_record(job: Mapping[str, Any], best: pd.Series, n_distinct: int, n_samples: int) -> dict[str, Any]:
    """The fields every ``selected.json`` starts with: the job's coordinates and the winning candidate."""
    return {
        "stage": "select",
        **{key: job[key] for key in ("space", "dataset", "method", "order", "seed", "selector", "proxy", "k")},
        "genotype": str(best["genotype"]),
        "score": float(best["score"]),
        "n_distinct": n_distinct,
        "n_samples": n_samples,
        "selected_count": int(best["count"]),
        "selected_first_sample": int(best["first_sample"]),
    }


def select_stage(
    job: Mapping[str, Any],
    samples: str | Path,
    scores: str | Path,
    config_used: Mapping[str, Any],
    outputs: Mapping[int, str | Path],
    arch: str | Path | None = None,
    search_genotype: str | Path | None = None,
) -> dict[int, dict[str, Any]]:
    """For every ``k`` of ``outputs`` keep the best of the first k draws by rank (ties: drawn first) and
    write its ``selected.json`` to ``outputs[k]``.

    ``samples`` and ``scores`` are the job's K_max draws (``job['k']``) and their scores (one row per distinct
    draw); the record of each k is the one a job that drew and scored exactly k candidates writes
    (:func:`balenas.select.prefix_scores`). ``config_used`` is recorded as is (the scored network, data and
    device of the job); for ``tf``, ``arch`` (its sha256 is recorded) and ``search_genotype`` (the search's
    argmax-of-the-mean genotype, for comparison) are the search run's files.
    """
    space = get_space(job["space"])
    drawn = read_samples(samples, job["space"])
    table = read_scores(scores)
    cands = distinct(drawn)
    if len(drawn) != job["k"]:
        raise ValueError(f"{samples}: {len(drawn)} draws, the job samples K = {job['k']}")
    if len(table) != len(cands):
        raise ValueError(f"{scores}: {len(table)} rows for {len(cands)} distinct samples in {samples}")
    too_large = sorted(k for k in outputs if not 1 <= k <= len(drawn))
    if too_large:
        raise ValueError(f"{samples}: K {too_large} outside 1..{len(drawn)}, the number of draws")
    common: dict[str, Any] = {
        "streams": {
            "sample": [job["seed"], STREAM_SAMPLE],
            "batch": [job["seed"], STREAM_BATCH],
            "init": [job["seed"], STREAM_INIT],
            "init_seed": init_seed(job["seed"]),
        },
        "config": dict(config_used),
        "scoring_device": str(table["device"].iloc[0]) if "device" in table.columns else None,
        "environment": environment_info(torch.device("cpu")),
    }
    if arch is not None:
        common["search_arch"] = {"path": str(arch), "sha256": sha256_file(arch)}
    if search_genotype is not None:
        common["argmax_genotype"] = json.loads(Path(search_genotype).read_text())["genotype"]
    records: dict[int, dict[str, Any]] = {}
    for k, output in sorted(outputs.items()):
        rows = prefix_scores(drawn, table, k, space.to_string)
        best = best_candidate(rows)
        record = {**selection_record({**job, "k": k}, best, len(rows), k), **common}
        write_json(output, record)
        log.info("K=%d: selected %s (score %.6g, %d distinct of %d)", k, record["genotype"], record["score"],
                 len(rows), k)
        records[k] = record
    return records


def supernet_select_stage(
    job: Mapping[str, Any],
    arch: str | Path,
    supernet: str | Path,
    data_cfg: Mapping[str, Any],
    batch_size: int,
    outputs: Mapping[str, str | Path],
    threads: int = 1,
    device: str = "cpu",
) -> dict[str, Any]:
    """RandomNAS / SETN / ENAS selection: K candidates from ``job['selector']`` (uniform, the most probable
    under the learned distribution, or controller draws), each scored by the trained supernet's validation
    accuracy on one batch of the search run's architecture half (the validation data of the search);
    writes ``samples.jsonl``, ``scores.csv`` and ``selected.json`` (best accuracy, ties to the first)."""
    from balenas.data import search_split
    from balenas.stages.search import load_arch, load_supernet

    set_threads(threads)
    dev = resolve_device(device)
    space = get_space(job["space"])
    dist, blob = load_arch(arch)
    if blob["method"] != job["method"]:
        raise ValueError(f"{arch} holds a {blob['method']} distribution, the job says {job['method']}")
    if job["proxy"] != SUPERNET_PROXY:
        raise ValueError(f"supernet selector {job['selector']!r} scores {SUPERNET_PROXY!r}, not {job['proxy']!r}")
    drawn = SUPERNET_SELECTORS.get(job["selector"])(space, dist, job["k"], job["seed"])
    cands = distinct(drawn)
    data = load_dataset(DataConfig(**data_cfg), seed=job["seed"])
    _, a_half = search_split(data, job["seed"])
    batches = validation_batches(a_half, min(batch_size, len(a_half)), len(cands), job["seed"])
    network = load_supernet(supernet, data.num_classes, data.in_channels).to(dev)
    scores = supernet_select(cands, space, network, batches)
    with atomic_path(outputs["samples"]) as tmp:
        tmp.write_text("".join(json.dumps(_genotype_record(job["space"], i, g)) + "\n" for i, g in enumerate(drawn)))
    with atomic_path(outputs["scores"]) as tmp:
        scores.to_csv(tmp, index=False, float_format="%.17g")
    best = scores.loc[scores["rank"] == 0].iloc[0]
    record: dict[str, Any] = {
        **selection_record(job, best, len(cands), len(drawn)),
        "streams": {"sample": [job["seed"], STREAM_SAMPLE], "batch": [job["seed"], STREAM_BATCH]},
        "config": {"data": dict(data_cfg), "batch_size": int(batch_size), "n_batches": len(batches),
                   "device": str(dev), "threads": threads},
        "search_arch": {"path": str(arch), "sha256": sha256_file(arch)},
        "search_supernet": {"path": str(supernet), "sha256": sha256_file(supernet)},
        "environment": environment_info(dev),
    }
    write_json(outputs["selected"], record)
    log.info("%s %s: selected %s (valid acc %.2f%%, %d distinct of %d)", job["selector"], job["method"],
             record["genotype"], record["score"], len(cands), len(drawn))
    return record
