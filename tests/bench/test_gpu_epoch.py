import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_gpu_epoch_tiny_runs_and_fast_supernet_trains_like_plain(tmp_path):
    out = tmp_path / "epoch.json"
    cmd = [sys.executable, str(REPO / "bench" / "gpu_epoch.py"), "--tiny", "--methods", "darts",
           "--options", "plain", "fast", "fast_bf16", "--out", str(out)]
    subprocess.run(cmd, check=True, cwd=REPO, capture_output=True, timeout=300)
    rows = {r["option"]: r for r in json.loads(out.read_text())["rows"]}
    assert set(rows) == {"plain", "fast", "fast_bf16"}
    for r in rows.values():
        assert r["step_s"] > 0 and r["search_s"] == r["step_s"] * 390 * 50
    # same seeds and data: the fast supernet's search agrees with the plain one to float32 rounding
    assert abs(rows["plain"]["train_loss"] - rows["fast"]["train_loss"]) < 1e-4
