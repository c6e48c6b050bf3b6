"""Where the proxy selection stage's files live, relative to the results folder (one place for the workflow,
the retrain plan and the tests).

Under ``<results>/select/{space}/{dataset}/{run_dir}/`` (``run_dir``: ``{method}/order-{order}/seed-{seed}`` for
the ``tf`` selector, ``zero_cost/seed-{seed}`` for ``uniform``), with K_max the largest configured K:

* ``{selector}-k{K_max}/samples.jsonl``: the K_max draws, once per run and selector (every proxy and every
  smaller K reads a prefix of them: the draws of K = k are the first k draws of K_max);
* ``{selector}-{proxy}-k{K_max}/scores.csv`` (and ``score_timings.json``): every distinct draw scored once per
  proxy;
* ``{selector}-{proxy}-k{k}/selected.json`` for every configured k: the best of the first k draws.

Every function takes and returns plain strings, so that Snakemake patterns (``"{space}"``, ...) pass through.
"""

from __future__ import annotations

from collections.abc import Iterable

#: The selection stage's folder under the results folder.
SELECT = "select"


def select_ks(ks: Iterable[int]) -> list[int]:
    """The configured Ks, distinct and ascending (the last one is K_max, whose draws are sampled and scored)."""
    out = sorted({int(k) for k in ks})
    if out and out[0] < 1:
        raise ValueError(f"selection.ks: every K must be >= 1, got {out[0]}")
    return out


def run_select_dir(results: str, run_dir: str) -> str:
    """``<results>/select/<run_dir>``; ``run_dir`` starts with ``{space}/{dataset}/``."""
    return f"{results}/{SELECT}/{run_dir}"


def samples_file(results: str, run_dir: str, selector: str, k: int | str) -> str:
    """The K draws of ``selector`` for one run (``k`` is K_max)."""
    return f"{run_select_dir(results, run_dir)}/{selector}-k{k}/samples.jsonl"


def selection_dir(results: str, run_dir: str, selector: str, proxy: str, k: int | str) -> str:
    """The folder of one (selector, proxy, K): ``selected.json``, and for K_max ``scores.csv``."""
    return f"{run_select_dir(results, run_dir)}/{selector}-{proxy}-k{k}"


def scores_file(results: str, run_dir: str, selector: str, proxy: str, k: int | str) -> str:
    """The proxy's scores of the distinct draws among the K draws (``k`` is K_max)."""
    return f"{selection_dir(results, run_dir, selector, proxy, k)}/scores.csv"


def score_timings_file(results: str, run_dir: str, selector: str, proxy: str, k: int | str) -> str:
    """The wall-clock seconds of the scores (kept out of ``scores.csv``, which is deterministic)."""
    return f"{selection_dir(results, run_dir, selector, proxy, k)}/score_timings.json"


def selected_file(results: str, run_dir: str, selector: str, proxy: str, k: int | str) -> str:
    """The architecture selected among the first ``k`` draws."""
    return f"{selection_dir(results, run_dir, selector, proxy, k)}/selected.json"
