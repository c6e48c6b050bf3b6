"""Same config, seed and code -> the same bytes: a tiny DAG run in two directories, every output compared.

Only files holding wall-clock times may differ (ALLOWED_TO_DIFFER); logs/ and benchmarks/ (Snakemake's
per-job benchmark files) are not outputs of the pipeline and are not compared.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from .conftest import REPO, SNAKEFILE, SNAKEMAKE, TINY, sheet, write_config

pytestmark = pytest.mark.workflow

GROUND_TRUTH = REPO.parent / "shared" / "data" / "nb201" / "nb201_groundtruth.csv"
#: File names whose content is a timing record (nothing else may differ between the two runs).
ALLOWED_TO_DIFFER = frozenset({"timings.json", "score_timings.json"})

CONFIG = {
    **TINY,
    "experiments": sheet(methods=("darts",), orders=(1,), seeds=(0,)),
    "search": {**TINY["search"], "hessian_every": 2},
    "selection": {"selectors": ["tf"], "ks": [3], "proxies": ["synflow"], "batch_size": 16},
    "report": {"table1": {"search_dataset": None, "tf": {"order": 1, "proxy": "synflow", "k": 3},
                          "zero_cost": {"proxy": "synflow", "k": 3}}},
    "benchmarks": {"nb201": str(GROUND_TRUTH) if GROUND_TRUTH.exists() else None,
                   "if_missing": "skip", "allow_partial": False},
}


def digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_two_runs_in_two_directories_give_the_same_bytes(tmp_path):
    procs = {}
    for name in ("a", "b"):
        work = tmp_path / name / "deeper" if name == "b" else tmp_path / name  # different path depths too
        work.mkdir(parents=True)
        cfg = write_config(work, CONFIG)
        procs[work] = subprocess.Popen(
            [*SNAKEMAKE, "-s", str(SNAKEFILE), "--directory", str(work), "--cores", "1", "--configfile", str(cfg)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=work,
            env={**os.environ, "PYTHONPATH": str(REPO / "src")},
        )
    for work, proc in procs.items():
        out, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, out[-3000:]
    (a, b) = (digests(w / "results") for w in procs)
    assert sorted(a) == sorted(b)
    assert any(k.endswith("arch.pt") for k in a) and any(k.endswith(".pdf") for k in a)
    differ = sorted(k for k in a if a[k] != b[k])
    assert all(Path(k).name in ALLOWED_TO_DIFFER for k in differ), [k for k in differ
                                                                     if Path(k).name not in ALLOWED_TO_DIFFER]
    assert any(Path(k).name in ALLOWED_TO_DIFFER for k in a)  # the timing files exist (and are the only ones)
