"""A tiny completed run of a private copy of the workflow, shared by the rerun and report tests.

The copy (src/, workflow/, config/, scripts/, envs/) lets a test edit package code without touching the
checkout: the workflow imports the package from ``Path(workflow.basedir).parent / "src"``, so the copied
Snakefile runs, and hashes, the copied package.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from .conftest import REPO, TINY, sheet, tiny_nb201

COPIED = ("src", "workflow", "config", "scripts", "envs")
GROUND_TRUTH = REPO.parent / "shared" / "data" / "nb201" / "nb201_groundtruth.csv"
_CACHE: dict[str, "TinyRun"] = {}


@dataclass(frozen=True)
class Job:
    rule: str
    outputs: tuple[str, ...]
    wildcards: tuple[tuple[str, str], ...]
    reason: str
    resources: tuple[tuple[str, str], ...] = ()
    group: str | None = None  # the group job it is printed in (a dry run plans groups as on a cluster)


@dataclass(frozen=True)
class TinyRun:
    tree: Path  # the copied checkout
    work: Path  # the working directory holding results/
    config: Path

    @property
    def snakefile(self) -> Path:
        return self.tree / "workflow" / "Snakefile"

    def snakemake(self, *args: str, configfiles: tuple[Path, ...] = (), timeout: int = 600):
        env = {**os.environ, "PYTHONPATH": str(self.tree / "src")}
        cmd = [sys.executable, "-m", "snakemake", "-s", str(self.snakefile), "--directory", str(self.work),
               *args, "--configfile", str(self.config), *map(str, configfiles)]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=self.work)

    def plan(self, *args: str, configfiles: tuple[Path, ...] = ()) -> list[Job]:
        """The jobs a dry run would execute (rule ``all`` left out)."""
        res = self.snakemake("-n", *args, configfiles=configfiles)
        assert res.returncode == 0, res.stderr[-3000:]
        return [job for job in parse_dry_run(res.stdout) if job.rule != "all"]


def shrunk_config() -> dict:
    """TINY of tests/workflow/conftest.py, one search order, a small selection stage (where configured), and
the NAS-Bench-201 ground truth beside the checkout when it is there."""
    default = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    cfg = {**TINY, "experiments": sheet(orders=(1,), seeds=(0, 1))}
    if "selection" in default:
        selection = dict(default["selection"])
        if selection.get("ks"):
            selection["ks"] = [min(4, min(selection["ks"]))]
        if selection.get("proxies"):
            selection["proxies"] = selection["proxies"][:1]
        if "zero_cost_seeds" in selection:
            selection["zero_cost_seeds"] = [0]
        cfg["space_settings"] = tiny_nb201(4)
        cfg["selection"] = selection
        table1 = (default.get("report") or {}).get("table1") or {}
        if selection.get("ks") and {"tf", "zero_cost"} <= set(table1):  # Table 1's TF rows from this K
            k = selection["ks"][0]
            cfg["report"] = {"table1": {**table1, "tf": {**table1["tf"], "k": k},
                                        "zero_cost": {**table1["zero_cost"], "k": k}}}
    if "benchmarks" in default and GROUND_TRUTH.exists():  # lookups on: Table 1/2 with values, Figure 1
        cfg["benchmarks"] = {**default["benchmarks"], "nb201": str(GROUND_TRUTH)}
    return cfg


def tiny_run(base: Path) -> TinyRun:
    """Copy the checkout's workflow under ``base`` and run it to completion (once per test session)."""
    if "run" in _CACHE:
        return _CACHE["run"]
    tree, work = base / "tree", base / "work"
    for name in COPIED:
        shutil.copytree(REPO / name, tree / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    work.mkdir(parents=True)
    config = work / "tiny.yaml"
    config.write_text(yaml.safe_dump(shrunk_config()))
    run = TinyRun(tree, work, config)
    res = run.snakemake("--cores", "2", timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    _CACHE["run"] = run
    return run


HEADER = re.compile(r"^(?:    )?(?:local)?(?:rule|checkpoint) (\w+):$")
FIELD = re.compile(r"^(?:    )?    (\w[\w ]*): (.*)$")
GROUP = re.compile(r"Group job (\S+) \(jobs in")


def parse_dry_run(stdout: str) -> list[Job]:
    """Every job of a dry run's output, those printed inside a group job (indented) too."""
    jobs, current, group, group_no = [], None, None, 0
    for line in stdout.splitlines():
        grouped = GROUP.search(line)
        if grouped:
            group_no += 1
            group, current = f"{grouped[1]}#{group_no}", None
            continue
        header = HEADER.match(line)
        if header:
            if not line.startswith(" "):
                group = None
            current = {"rule": header[1], "group": group if line.startswith(" ") else None}
            jobs.append(current)
            continue
        field = FIELD.match(line)
        if current is not None and field:
            current.setdefault(field[1], field[2])
        elif line.strip() and not line.startswith(" "):
            current = None
            group = None
    return [
        Job(
            rule=j["rule"],
            outputs=tuple(o.strip() for o in j.get("output", "").split(",") if o.strip()),
            wildcards=tuple(
                tuple(kv.strip().split("=", 1)) for kv in j.get("wildcards", "").split(",") if "=" in kv
            ),
            reason=j.get("reason", ""),
            resources=tuple(
                tuple(kv.strip().split("=", 1)) for kv in j.get("resources", "").split(",") if "=" in kv
            ),
            group=j["group"],
        )
        for j in jobs
    ]
