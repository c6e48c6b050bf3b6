"""What the workflow imports to plan must stay light: the config side (what ``workflow/rules/common.smk`` imports
first) free of plotting, report code and SciPy, and every import of the Snakefile and rule files (at their top or in an
accessor) free of matplotlib and SciPy (SciPy alone was 1-2 s of every ``snakemake`` call on a 2-core
machine, matplotlib 60 ms)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


PARSE_IMPORTS = "import balenas.config, balenas.benchmarks.settings, balenas.experiments, balenas.runtime"
WORKFLOW = REPO / "workflow"


def _modules_after(imports: str) -> list[str]:
    code = f"import json, sys; {imports}; print(json.dumps(sorted(sys.modules)))"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _workflow_imports() -> list[str]:
    """The package modules the Snakefile and rule files import, at their top level or in the accessors that
    planning calls (every one runs at every parse)."""
    found: set[str] = set()
    for path in [WORKFLOW / "Snakefile", *sorted((WORKFLOW / "rules").glob("*.smk"))]:
        for m in re.finditer(r"^\s*from (balenas(?:\.\w+)*) import \(?\s*(\w+)", path.read_text(), re.MULTILINE):
            found.add(m.group(1) if m.group(1) != "balenas" else f"balenas.{m.group(2)}")
    return sorted(found)


def test_planning_imports_neither_matplotlib_nor_report_modules_nor_scipy() -> None:
    modules = _modules_after(PARSE_IMPORTS)
    assert "balenas.config" in modules  # the import did happen from this checkout
    heavy = [m for m in modules if m.split(".")[0] in ("matplotlib", "scipy") or m.startswith("balenas.report")]
    assert heavy == [], f"{PARSE_IMPORTS} pulled in {heavy}"


def test_every_workflow_import_leaves_out_scipy_and_matplotlib() -> None:
    wanted = _workflow_imports()
    assert {"balenas.config", "balenas.selection_paths", "balenas.retrain_plan",  # the scan works, at the top
            "balenas.report.search", "balenas.select"} <= set(wanted)  # and inside accessors
    modules = _modules_after("import " + ", ".join(wanted))
    heavy = [m for m in modules if m.split(".")[0] in ("matplotlib", "scipy")]
    assert heavy == [], f"the workflow's imports ({', '.join(wanted)}) pulled in {heavy}"
