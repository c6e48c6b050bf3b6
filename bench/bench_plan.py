"""How long the workflow takes to plan: ``snakemake -n`` (a dry run) of a config, wall-clock and CPU seconds,
and the planned jobs per rule. Several checkouts are timed interleaved (robust to a loaded machine):

    python3 bench/bench_plan.py                                   # this checkout, config/paper.yaml
    python3 bench/bench_plan.py --tree /tmp/old --tree . --repeats 5

Each checkout plans in a fresh empty working directory (nothing is done yet: the whole DAG is planned) and
imports its own ``src/``; ``../shared`` of the working directory is this checkout's (the config's relative data
and benchmark paths resolve as in the checkout). CPU seconds (user + system of the Snakemake process) are what a loaded machine
distorts least.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def job_counts(output: str) -> dict[str, int]:
    """Rule -> planned jobs, from the ``Job stats`` table of a dry run."""
    block = output.split("Job stats:")[1]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", block, re.M)}


def plan_once(tree: Path, config: Path, workdir: Path) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds, output) of one dry run of ``tree``'s Snakefile."""
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    cmd = [sys.executable, "-m", "snakemake", "-n", "-s", str(tree / "workflow" / "Snakefile"),
           "--directory", str(workdir), "--configfile", str(config)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=tree, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if res.returncode:
        raise SystemExit(f"{tree}: snakemake -n failed:\n{res.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, res.stdout + res.stderr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tree", type=Path, action="append", help="checkout to time (repeatable; default: this one)")
    ap.add_argument("--config", default="config/paper.yaml", help="config file, relative to each checkout")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    trees = [t.resolve() for t in (args.tree or [REPO])]
    times: dict[Path, list[tuple[float, float]]] = {t: [] for t in trees}
    counts: dict[Path, dict[str, int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if (REPO.parent / "shared").exists():
            (Path(tmp) / "shared").symlink_to(REPO.parent / "shared")
        for rep in range(args.repeats):
            for i, tree in enumerate(trees):
                work = Path(tmp) / f"{i}-{rep}"
                work.mkdir()
                wall, cpu, out = plan_once(tree, tree / args.config, work)
                times[tree].append((wall, cpu))
                counts[tree] = job_counts(out)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {args.repeats} dry runs each, interleaved")
    for tree in trees:
        walls, cpus = zip(*times[tree])
        print(f"{tree}: wall median {statistics.median(walls):.2f} s (min {min(walls):.2f}), "
              f"CPU median {statistics.median(cpus):.2f} s (min {min(cpus):.2f}), {counts[tree]['total']} jobs")
        print("  " + ", ".join(f"{rule} {n}" for rule, n in counts[tree].items() if rule != "total"))
    if len(trees) > 1:
        base = statistics.median(c for _, c in times[trees[0]])
        for tree in trees[1:]:
            print(f"CPU ratio {tree.name} / {trees[0].name}: {statistics.median(c for _, c in times[tree]) / base:.2f}")


if __name__ == "__main__":
    main()
