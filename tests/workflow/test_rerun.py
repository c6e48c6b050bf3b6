"""Rerun only what changed, on a tiny completed run of a private copy of the workflow.

Snakemake 9 reruns a job when its params, code, input set, input mtimes or software environment change
(default --rerun-triggers). Rules carry the config values that matter as ``params:`` and a hash of the
package code they depend on (``code=CODE[family]``, workflow/rules/common.smk), because Snakemake judges
scripts by mtime and does not see edits to an imported package. Plans are read from ``--dry-run``: in
Snakemake 9.27 ``--list-changes params`` also prints one output of every unchanged job, and ``--list-changes
code`` ignores script rules. A spurious rerun of anything would fail the equalities below.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from .conftest import sheet
from .tiny_run import Job, TinyRun, tiny_run

pytestmark = pytest.mark.workflow

FINAL_DIRS = ("results/tables/", "results/figures/")


@pytest.fixture(scope="session")
def run(tmp_path_factory) -> TinyRun:
    return tiny_run(tmp_path_factory.mktemp("tiny-run"))


@contextmanager
def edited(path: Path, line: str):
    """Append a comment to a copied source file for the duration of the block."""
    original = path.read_text()
    path.write_text(original + f"\n# {line}\n")
    try:
        yield
    finally:
        path.write_text(original)


def key(job: Job) -> tuple[str, tuple[str, ...]]:
    return job.rule, tuple(sorted(job.outputs))


def seeds_of(job: Job) -> set[int]:
    return {int(s) for out in job.outputs for s in re.findall(r"/seed-(\d+)/", out + "/")}


def methods_of(job: Job) -> set[str]:
    return {v for k, v in job.wildcards if k == "method"} | {
        m for out in job.outputs for m in re.findall(r"/(darts|balenas)/order-", out)
    }


def test_report_code_edit_reruns_only_the_table_and_figure_rules(run):
    with edited(run.tree / "src/balenas/report/search.py", "rerun test: an edit of report-only code"):
        plan = run.plan()
    rules = {job.rule for job in plan}
    assert "report" in rules, plan
    assert "search" not in rules
    for job in plan:
        assert all(out.startswith(FINAL_DIRS) for out in job.outputs), f"{job.rule} reran: {job.outputs}"
    report_job = next(job for job in plan if job.rule == "report")
    assert "Params have changed" in report_job.reason


def test_search_hyperparameter_of_one_method_reruns_its_searches_and_downstream_only(run):
    default = yaml.safe_load((run.tree / "config/config.yaml").read_text())
    darts = default["method_settings"]["darts"]
    change = run.work / "darts-lr.yaml"
    change.write_text(yaml.safe_dump({"method_settings": {"darts": {**darts, "lr": darts["lr"] * 2}}}))
    plan = run.plan(configfiles=(change,))
    searches = [job for job in plan if job.rule == "search"]
    assert sorted(seeds_of(job).pop() for job in searches) == [0, 1]
    assert all(methods_of(job) == {"darts"} for job in searches), searches
    assert all("Params have changed" in job.reason for job in searches)
    assert all(dict(job.resources)["gpu"] == "0" for job in searches), "device: cpu must not request a GPU"
    for job in plan:  # nothing of the other method alone reruns (jobs over all runs, like the tables, do)
        assert methods_of(job) != {"balenas"}, f"{job.rule} reran for balenas: {job.outputs}"
    # exactly what forcing the two DARTS searches would rerun: those searches and everything after them
    darts_outputs = [out for job in searches for out in job.outputs if out.endswith("metrics.json")]
    forced = run.plan("--forcerun", *darts_outputs)
    assert {key(j) for j in plan} == {key(j) for j in forced}
    assert len(plan) > len(searches)  # downstream jobs (at least the report) rerun too


def test_search_code_edit_reruns_every_search_and_downstream_only(run):
    with edited(run.tree / "src/balenas/search.py", "rerun test: an edit of the search loop"):
        plan = run.plan()
    forced = run.plan("--forcerun", "search")
    searches = [job for job in plan if job.rule == "search"]
    assert len(searches) == 4 and all("Params have changed" in job.reason for job in searches)
    assert {key(j) for j in plan} == {key(j) for j in forced}


def test_added_seed_runs_only_that_seed_and_the_aggregates(run):
    more = run.work / "three-seeds.yaml"
    more.write_text(yaml.safe_dump({"experiments": sheet(orders=(1,), seeds=(0, 1, 2))}))
    plan = run.plan(configfiles=(more,))
    searches = [job for job in plan if job.rule == "search"]
    assert {(methods_of(j).pop(), seeds_of(j).pop()) for j in searches} == {("darts", 2), ("balenas", 2)}
    for job in plan:  # no job of the old seeds alone (jobs over all runs, like the tables, do rerun)
        assert not seeds_of(job) or 2 in seeds_of(job), f"{job.rule} reran for an old seed: {job.outputs}"
