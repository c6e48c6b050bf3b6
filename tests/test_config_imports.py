"""``import balenas.config`` runs when the workflow is parsed: it must stay free of plotting and report code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_config_imports_neither_matplotlib_nor_report_modules() -> None:
    code = "import json, sys; import balenas.config; print(json.dumps(sorted(sys.modules)))"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    modules = json.loads(done.stdout.strip().splitlines()[-1])
    assert "balenas.config" in modules  # the import did happen from this checkout
    heavy = [m for m in modules if m.split(".")[0] == "matplotlib" or m.startswith("balenas.report")]
    assert heavy == [], f"import balenas.config pulled in {heavy}"
