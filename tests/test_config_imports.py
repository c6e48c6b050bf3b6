"""What the workflow imports to plan (``workflow/rules/common.smk``) must stay free of plotting, report code and
SciPy (1-2 s of every ``snakemake`` call on a 2-core machine)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


PARSE_IMPORTS = "import balenas.config, balenas.benchmarks.settings, balenas.experiments, balenas.runtime"


def test_planning_imports_neither_matplotlib_nor_report_modules_nor_scipy() -> None:
    code = f"import json, sys; {PARSE_IMPORTS}; print(json.dumps(sorted(sys.modules)))"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    modules = json.loads(done.stdout.strip().splitlines()[-1])
    assert "balenas.config" in modules  # the import did happen from this checkout
    heavy = [m for m in modules if m.split(".")[0] in ("matplotlib", "scipy") or m.startswith("balenas.report")]
    assert heavy == [], f"{PARSE_IMPORTS} pulled in {heavy}"
