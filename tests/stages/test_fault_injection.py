"""Fault injection (issue 16): SIGKILL a search / a proxy scoring at points inside an epoch and inside a
file write, rerun, and get exactly the bytes of an uninterrupted run; never resume from a damaged file.

The process kills itself at the point named by BALENAS_KILL_AT (balenas.runtime.fault_point).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from balenas.search import SearchConfig
from balenas.stages.search import search_stage
from balenas.stages.select import parse_run_dir, sample_stage, score_stage
from tests.conftest import damage_file

SRC = Path(__file__).resolve().parents[2] / "src"
SEARCH = SearchConfig(
    space="nb201", dataset="digits", method="darts", seed=0, epochs=3, batch_size=32,
    model={"channels": 4, "cells_per_stage": 1}, hessian_every=2,
    method_settings={"lr": 0.01, "betas": (0.5, 0.999), "weight_decay": 1e-3, "init_std": 1e-3},
).to_dict()
DATA = {"name": "digits", "source": "digits", "input_size": 8, "max_examples": 128, "crop_padding": 1,
        "flip": False}
FINAL = ("arch.pt", "genotype.json", "history.csv", "metrics.json")

#: (kill point, what the rerun must do): inside epochs (before and after the first checkpoint), inside
#: the checkpoint writes (half-written temporary file; complete file not yet renamed), inside final writes.
SEARCH_KILLS = [
    ("search:epoch-1:step-2", 0),
    ("search:epoch-3:step-1", 2),
    ("write:checkpoint.pt", 0),
    ("rename:checkpoint.pt@2", 1),
    ("rename:arch.pt", 3),
    ("write:metrics.json", 3),
]


def _search_outputs(root: Path) -> dict[str, Path]:
    return {k: root / f for k, f in zip(("arch", "genotype", "history", "metrics"), FINAL, strict=True)}


def _killed(code: str, point: str) -> None:
    env = {**os.environ, "BALENAS_KILL_AT": point, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, f"{point}: exit {proc.returncode}\n{proc.stderr[-2000:]}"


def _search_code(out: Path, ckpt: Path, search: dict = SEARCH, data: dict = DATA) -> str:
    outputs = {k: str(v) for k, v in _search_outputs(out).items()}
    return ("import json; from balenas.stages.search import search_stage; "
            f"search_stage(json.loads({json.dumps(json.dumps(search))}), json.loads({json.dumps(json.dumps(data))}), "
            f"{outputs!r}, {str(ckpt)!r})")


def _no_temps(*dirs: Path) -> bool:
    return not [p for d in dirs if d.exists() for p in d.iterdir() if p.name.endswith(".tmp")]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref")
    search_stage(SEARCH, DATA, _search_outputs(out), out / "ckpt" / "checkpoint.pt")
    return {name: (out / name).read_bytes() for name in FINAL}


@pytest.mark.parametrize("point, resumed", SEARCH_KILLS)
def test_killed_search_reruns_to_the_same_bytes(tmp_path, reference, point, resumed):
    out, ckpt = tmp_path / "run", tmp_path / "ckpt" / "checkpoint.pt"
    _killed(_search_code(out, ckpt), point)
    result = search_stage(SEARCH, DATA, _search_outputs(out), ckpt)
    assert result.resumed_from_epoch == resumed
    assert {name: (out / name).read_bytes() for name in FINAL} == reference
    assert not ckpt.exists() and _no_temps(out, ckpt.parent)


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_damaged_checkpoint_restarts_from_scratch_with_a_warning(tmp_path, reference, caplog, damage):
    out, ckpt = tmp_path / "run", tmp_path / "ckpt" / "checkpoint.pt"
    _killed(_search_code(out, ckpt), "search:epoch-3:step-1")
    damage_file(ckpt, damage)
    result = search_stage(SEARCH, DATA, _search_outputs(out), ckpt)
    assert result.resumed_from_epoch == 0
    assert "starting from scratch" in caplog.text
    assert {name: (out / name).read_bytes() for name in FINAL} == reference


#: Issues 11 and 13: a tiny search in every other space, killed mid-epoch after the first checkpoint, reruns
#: to the bytes of an uninterrupted run (each space with another method and order, so every combination of
#: group layout, distribution and estimator is killed somewhere).
BALENAS = {"lr": 0.05, "betas": (0.5, 0.999), "prior_precision": 1.0, "init_precision": 1.0, "init_std": 1e-3,
           "mc_samples": 1, "form": "sqrt", "dataset_size": None}
#: (space, method, order, supernet, Hessian every k epochs): the DARTS space's exact 224 x 224 Hessian is
#: left to tests/analysis (it would triple this test's time); the NB-1Shot1 spaces track it here.
SPACE_KILLS = [
    ("darts", "balenas", 2, {"C": 2, "layers": 3}, 0),
    ("nb1shot1-s1", "darts", 2, {"channels": 2, "stacks": 3, "cells_per_stack": 1}, 2),
    ("nb1shot1-s2", "balenas", 1, {"channels": 2, "stacks": 3, "cells_per_stack": 1}, 2),
    ("nb1shot1-s3", "darts", 1, {"channels": 2, "stacks": 3, "cells_per_stack": 1}, 2),
]


@pytest.mark.parametrize("space, method, order, model, hessian", SPACE_KILLS, ids=[k[0] for k in SPACE_KILLS])
def test_killed_search_in_every_space_reruns_to_the_same_bytes(tmp_path, space, method, order, model, hessian):
    settings = BALENAS if method == "balenas" else SEARCH["method_settings"]
    search = SearchConfig(space=space, dataset="digits", method=method, seed=0, order=order, epochs=2,
                          batch_size=16, model=model, hessian_every=hessian, method_settings=settings).to_dict()
    data = {**DATA, "max_examples": 64}
    ref = tmp_path / "ref"
    search_stage(search, data, _search_outputs(ref), tmp_path / "ref-ckpt" / "checkpoint.pt")
    out, ckpt = tmp_path / "run", tmp_path / "ckpt" / "checkpoint.pt"
    _killed(_search_code(out, ckpt, search, data), "search:epoch-2:step-1")
    assert ckpt.exists(), "the killed run left no checkpoint to resume from"
    result = search_stage(search, data, _search_outputs(out), ckpt)
    assert result.resumed_from_epoch == 1
    for name in FINAL:
        assert (out / name).read_bytes() == (ref / name).read_bytes(), f"{space}: {name} differs after resume"


SCORE_KILLS = ["score:candidate-2", "write:scores.csv", "rename:scores.csv"]
NETWORK = {"network": {"channels": 2, "cells_per_stage": 1}, "batch_size": 16}


@pytest.mark.parametrize("point", SCORE_KILLS)
def test_killed_proxy_scoring_reruns_to_the_same_bytes(tmp_path, point):
    job = parse_run_dir("nb201", "digits", "zero_cost/seed-0", "uniform", "synflow", 4)
    samples = tmp_path / "samples.jsonl"
    sample_stage(job, samples)
    data = {**DATA, "max_examples": 64}
    ref, out = tmp_path / "ref" / "scores.csv", tmp_path / "run" / "scores.csv"
    score_stage(job, samples, data, NETWORK, ref)
    code = ("from balenas.stages.select import score_stage; "
            f"score_stage({job!r}, {str(samples)!r}, {data!r}, {NETWORK!r}, {str(out)!r})")
    _killed(code, point)
    score_stage(job, samples, data, NETWORK, out)
    assert out.read_bytes() == ref.read_bytes()
    assert _no_temps(out.parent)
